/* sy-hardware-panel.c
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "sy-hardware-panel"

#include "config.h"

#include <glib/gi18n.h>
#include <math.h>

#include "sy-hardware-panel.h"

/*
 * The hardware panel: every sensor with its live value and a sparkline of
 * the last minute, every relay with a switch, and the fault injections.
 *
 * It only talks to SyHardware, the GUI thread's mirror of the bench, and
 * only touches a widget when what it shows changed: readings arrive up to
 * 20 times a second, and a label set to the text it already has still
 * costs a relayout.
 *
 * A relay switch never fights the user. Its position (GtkSwitch:active) is
 * where the relay is heading, its trough (GtkSwitch:state) the state the
 * device confirmed. Flipping it sends the command and leaves the trough
 * alone (::state-set returns TRUE); while that command is on its way the
 * panel does not move the switch, and afterwards both follow the bench.
 * A refused command puts the switch back and shows a toast.
 *
 * On a relay server the bench mirrors an upstream Switchyard: a relay is
 * unavailable (its switch insensitive, its subtitle saying why) while the
 * upstream is not connected, and the fault injections and the names, which
 * belong to the upstream, are insensitive with the reason next to them.
 *
 * Widgets carry stable names ("relay-switch-heater", "sensor-value-light",
 * …) that tests use to find them.
 */

#define TREND_SECONDS   60
#define TREND_POINT_MS  250
#define TREND_POINTS    (TREND_SECONDS * 1000 / TREND_POINT_MS + 8)
#define PULSE_MS        1000

/* SySparkline: a small line chart of a sensor's last minute */

#define SY_TYPE_SPARKLINE (sy_sparkline_get_type ())

G_DECLARE_FINAL_TYPE (SySparkline, sy_sparkline, SY, SPARKLINE, GtkWidget)

struct _SySparkline
{
  GtkWidget  parent_instance;

  /* The smallest vertical span drawn, so noise stays noise. */
  double     min_span;
  /* A ring of points in bench time; NAN values are gaps. */
  gint64     t[TREND_POINTS];
  double     v[TREND_POINTS];
  guint      head;
  guint      len;
};

G_DEFINE_FINAL_TYPE (SySparkline, sy_sparkline, GTK_TYPE_WIDGET)

static guint
sy_sparkline_slot (SySparkline *self,
                   guint        k)
{
  return (self->head + TREND_POINTS - self->len + k) % TREND_POINTS;
}

/* Adds a point if it is at least TREND_POINT_MS after the last one, or a
 * gap when the sensor went stale. Redraws only when something was added. */
static void
sy_sparkline_push (SySparkline *self,
                   gint64       t_ms,
                   double       value,
                   gboolean     stale)
{
  if (self->len > 0)
    {
      guint last = sy_sparkline_slot (self, self->len - 1);

      if (stale && isnan (self->v[last]))
        return;
      if (!stale && !isnan (self->v[last]) && t_ms - self->t[last] < TREND_POINT_MS)
        return;
      /* The bench clock went back (a restart with another clock): start over. */
      if (t_ms < self->t[last])
        self->len = 0;
    }

  self->t[self->head] = t_ms;
  self->v[self->head] = stale ? NAN : value;
  self->head = (self->head + 1) % TREND_POINTS;
  self->len = MIN (self->len + 1, TREND_POINTS);

  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
sy_sparkline_snapshot (GtkWidget   *widget,
                       GtkSnapshot *snapshot)
{
  SySparkline *self = SY_SPARKLINE (widget);
  int width = gtk_widget_get_width (widget);
  int height = gtk_widget_get_height (widget);
  const double pad = 2.0;
  gint64 newest;
  gint64 oldest;
  double lo = INFINITY;
  double hi = -INFINITY;
  double span;
  gboolean drawing = FALSE;
  GdkRGBA color;
  cairo_t *cr;

  if (self->len < 2 || width <= 0 || height <= 0)
    return;

  newest = self->t[sy_sparkline_slot (self, self->len - 1)];
  oldest = newest - TREND_SECONDS * 1000;

  for (guint k = 0; k < self->len; k++)
    {
      guint slot = sy_sparkline_slot (self, k);

      if (self->t[slot] < oldest || isnan (self->v[slot]))
        continue;
      lo = MIN (lo, self->v[slot]);
      hi = MAX (hi, self->v[slot]);
    }

  if (lo > hi)
    return;

  span = MAX (hi - lo, self->min_span);
  lo = (lo + hi - span) / 2.0;

  gtk_style_context_get_color (gtk_widget_get_style_context (widget), &color);

  cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (0, 0, width, height));
  gdk_cairo_set_source_rgba (cr, &color);
  cairo_set_line_width (cr, 1.5);
  cairo_set_line_join (cr, CAIRO_LINE_JOIN_ROUND);
  cairo_set_line_cap (cr, CAIRO_LINE_CAP_ROUND);

  for (guint k = 0; k < self->len; k++)
    {
      guint slot = sy_sparkline_slot (self, k);
      double x;
      double y;

      if (self->t[slot] < oldest || isnan (self->v[slot]))
        {
          drawing = FALSE;
          continue;
        }

      x = width - (double) (newest - self->t[slot]) / (TREND_SECONDS * 1000.0) * width;
      y = pad + (1.0 - (self->v[slot] - lo) / span) * (height - 2 * pad);

      if (drawing)
        cairo_line_to (cr, x, y);
      else
        cairo_move_to (cr, x, y);
      drawing = TRUE;
    }

  cairo_stroke (cr);
  cairo_destroy (cr);
}

static void
sy_sparkline_class_init (SySparklineClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  widget_class->snapshot = sy_sparkline_snapshot;

  gtk_widget_class_set_css_name (widget_class, "sparkline");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
sy_sparkline_init (SySparkline *self)
{
  gtk_widget_set_size_request (GTK_WIDGET (self), 72, 28);
  gtk_widget_set_valign (GTK_WIDGET (self), GTK_ALIGN_CENTER);
}

/* The panel */

typedef struct
{
  /* Borrowed */
  SyHardwarePanel *panel;
  guint            index;
  AdwActionRow    *row;
  GtkLabel        *value;
  SySparkline     *trend;
  GtkToggleButton *dropout;

  /* What is shown */
  char            *value_text;
  char            *subtitle;
  int              dimmed;
} SensorRow;

typedef struct
{
  /* Borrowed */
  SyHardwarePanel *panel;
  guint            index;
  AdwExpanderRow  *row;
  GtkSwitch       *sw;
  GtkSpinner      *spinner;
  AdwEntryRow     *name_row;
  GtkButton       *pulse;
  AdwActionRow    *stuck_row;
  GtkSwitch       *stuck;

  /* Commands of this panel not yet seen taking effect. */
  guint            awaiting;
  guint            stuck_awaiting;

  /* What is shown */
  char            *title;
  char            *subtitle;
  int              available;
} RelayRow;

struct _SyHardwarePanel
{
  AdwBin               parent_instance;

  /* Template widgets */
  AdwPreferencesGroup *sensors_group;
  AdwPreferencesGroup *relays_group;

  /* Owned */
  SyHardware          *hardware;
  char                *last_refusal;

  SensorRow            sensors[SY_BENCH_N_SENSORS];
  RelayRow             relays[SY_BENCH_N_RELAYS];
  gboolean             running;
  gboolean             mirror;
  /* Set while the panel moves its own switches. */
  gboolean             syncing;
};

G_DEFINE_FINAL_TYPE (SyHardwarePanel, sy_hardware_panel, ADW_TYPE_BIN)

enum {
  PROP_0,
  PROP_HARDWARE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* The bench's names are English data; the panel shows translated ones. */
static const char * const sensor_names[SY_BENCH_N_SENSORS] = {
  [SY_SENSOR_TEMPERATURE] = N_("Room temperature"),
  [SY_SENSOR_HUMIDITY]    = N_("Relative humidity"),
  [SY_SENSOR_PRESSURE]    = N_("Air pressure"),
  [SY_SENSOR_LIGHT]       = N_("Light level"),
  [SY_SENSOR_VOLTAGE]     = N_("Supply voltage"),
  [SY_SENSOR_CURRENT]     = N_("Load current"),
};

/* Why a relay server's panel does not offer what its upstream owns. */
#define UNAVAILABLE_NOTE \
  N_("Unavailable: the Switchyard it mirrors is not connected")
#define MIRROR_RELAYS_NOTE \
  N_("Mirrored from an upstream Switchyard: faults and names are set there")
#define MIRROR_SENSORS_NOTE \
  N_("Mirrored from an upstream Switchyard: dropouts are simulated there")
#define STUCK_FAULT_NOTE \
  N_("Accepts commands but never confirms them")

/* Enough digits to see the noise, no more. */
static const int sensor_digits[SY_BENCH_N_SENSORS] = {
  [SY_SENSOR_TEMPERATURE] = 1,
  [SY_SENSOR_HUMIDITY]    = 1,
  [SY_SENSOR_PRESSURE]    = 1,
  [SY_SENSOR_LIGHT]       = 0,
  [SY_SENSOR_VOLTAGE]     = 2,
  [SY_SENSOR_CURRENT]     = 2,
};

/* Helpers */

/* Sets *@shown to @text and returns TRUE if it differs. Takes @text. */
static gboolean
take_if_changed (char **shown,
                 char  *text)
{
  if (g_strcmp0 (*shown, text) == 0)
    {
      g_free (text);
      return FALSE;
    }

  g_free (*shown);
  *shown = text;

  return TRUE;
}

static void
set_dimmed (GtkWidget *widget,
            gboolean   dimmed)
{
  if (dimmed)
    gtk_widget_add_css_class (widget, "dim-label");
  else
    gtk_widget_remove_css_class (widget, "dim-label");
}

static void
set_label (GtkWidget  *widget,
           const char *label)
{
  gtk_accessible_update_property (GTK_ACCESSIBLE (widget), GTK_ACCESSIBLE_PROPERTY_LABEL, label, -1);
}

static char *
format_duration (guint ms)
{
  if (ms % 60000 == 0)
    return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u minute", "%u minutes", ms / 60000),
                            ms / 60000);
  if (ms % 1000 == 0)
    return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u second", "%u seconds", ms / 1000),
                            ms / 1000);

  return g_strdup_printf (_("%u ms"), ms);
}

static const char *
relay_name_of_id (SyHardwarePanel *self,
                  const char      *id)
{
  for (guint i = 0; i < SY_BENCH_N_RELAYS; i++)
    {
      const SyRelayState *state = sy_hardware_get_relay (self->hardware, i);

      if (g_strcmp0 (state->id, id) == 0)
        return state->name;
    }

  return id;
}

static void
sy_hardware_panel_refuse (SyHardwarePanel *self,
                          const char      *message)
{
  GtkWidget *overlay;

  g_free (self->last_refusal);
  self->last_refusal = g_strdup (message);

  overlay = gtk_widget_get_ancestor (GTK_WIDGET (self), ADW_TYPE_TOAST_OVERLAY);
  if (overlay != NULL)
    {
      g_autofree char *title = g_markup_escape_text (message, -1);

      adw_toast_overlay_add_toast (ADW_TOAST_OVERLAY (overlay), adw_toast_new (title));
    }
}

/* Sensors */

static void
sensor_row_update (SensorRow       *sr,
                   const SyReading *reading)
{
  SyHardwarePanel *self = sr->panel;
  const SySensorSpec *spec = sy_bench_get_sensor_spec (sr->index);
  gboolean stale = reading->stale[sr->index];
  gboolean dimmed = stale || !self->running;
  const char *subtitle;

  /* A no-break space keeps the unit with its number. */
  if (take_if_changed (&sr->value_text, g_strdup_printf ("%.*f\u00a0%s", sensor_digits[sr->index],
                                                         reading->values[sr->index], spec->unit)))
    gtk_label_set_label (sr->value, sr->value_text);

  if (dimmed != sr->dimmed)
    {
      sr->dimmed = dimmed;
      set_dimmed (GTK_WIDGET (sr->value), dimmed);
      set_dimmed (GTK_WIDGET (sr->trend), dimmed);
    }

  /* A mirror's own dropouts are not in effect: its readings are the
   * upstream's. */
  if (stale)
    subtitle = _("No signal");
  else if (sy_hardware_get_sensor_dropout (self->hardware, sr->index) && !self->mirror)
    subtitle = _("Dropout simulated");
  else
    subtitle = "";

  if (take_if_changed (&sr->subtitle, g_strdup (subtitle)))
    adw_action_row_set_subtitle (sr->row, sr->subtitle);

  if (self->running)
    sy_sparkline_push (sr->trend, reading->t_ms, reading->values[sr->index], stale);
}

static void
on_dropout_toggled (GtkToggleButton *button,
                    SensorRow       *sr)
{
  SyHardwarePanel *self = sr->panel;

  if (self->syncing)
    return;

  sy_hardware_set_sensor_dropout (self->hardware, sr->index, gtk_toggle_button_get_active (button));
  sensor_row_update (sr, sy_hardware_get_reading (self->hardware));
}

static void
sensor_row_build (SyHardwarePanel *self,
                  guint            index)
{
  SensorRow *sr = &self->sensors[index];
  const SySensorSpec *spec = sy_bench_get_sensor_spec (index);
  const char *name = _(sensor_names[index]);
  g_autofree char *widget_name = NULL;
  g_autofree char *label = NULL;

  sr->panel = self;
  sr->index = index;
  sr->dimmed = FALSE;

  sr->row = ADW_ACTION_ROW (adw_action_row_new ());
  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (sr->row), FALSE);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (sr->row), name);
  widget_name = g_strdup_printf ("sensor-%s", spec->id);
  gtk_widget_set_name (GTK_WIDGET (sr->row), widget_name);

  sr->trend = g_object_new (SY_TYPE_SPARKLINE, NULL);
  sr->trend->min_span = (spec->max - spec->min) / 100.0;
  g_free (widget_name);
  widget_name = g_strdup_printf ("sensor-trend-%s", spec->id);
  gtk_widget_set_name (GTK_WIDGET (sr->trend), widget_name);
  label = g_strdup_printf (_("%s over the last minute"), name);
  set_label (GTK_WIDGET (sr->trend), label);
  adw_action_row_add_suffix (sr->row, GTK_WIDGET (sr->trend));

  sr->value = GTK_LABEL (gtk_label_new (NULL));
  gtk_label_set_xalign (sr->value, 1.0);
  gtk_label_set_width_chars (sr->value, 9);
  gtk_widget_add_css_class (GTK_WIDGET (sr->value), "numeric");
  g_free (widget_name);
  widget_name = g_strdup_printf ("sensor-value-%s", spec->id);
  gtk_widget_set_name (GTK_WIDGET (sr->value), widget_name);
  adw_action_row_add_suffix (sr->row, GTK_WIDGET (sr->value));

  sr->dropout = GTK_TOGGLE_BUTTON (gtk_toggle_button_new ());
  gtk_button_set_icon_name (GTK_BUTTON (sr->dropout), "network-offline-symbolic");
  gtk_widget_set_valign (GTK_WIDGET (sr->dropout), GTK_ALIGN_CENTER);
  gtk_widget_add_css_class (GTK_WIDGET (sr->dropout), "flat");
  gtk_widget_set_tooltip_text (GTK_WIDGET (sr->dropout), _("Simulate Dropout"));
  gtk_toggle_button_set_active (sr->dropout, sy_hardware_get_sensor_dropout (self->hardware, index));
  g_free (widget_name);
  widget_name = g_strdup_printf ("sensor-dropout-%s", spec->id);
  gtk_widget_set_name (GTK_WIDGET (sr->dropout), widget_name);
  g_free (label);
  label = g_strdup_printf (_("Simulate dropout of %s"), name);
  set_label (GTK_WIDGET (sr->dropout), label);
  g_signal_connect (sr->dropout, "toggled", G_CALLBACK (on_dropout_toggled), sr);
  adw_action_row_add_suffix (sr->row, GTK_WIDGET (sr->dropout));

  adw_preferences_group_add (self->sensors_group, GTK_WIDGET (sr->row));
}

/* Relays */

static char *
relay_subtitle (RelayRow           *rr,
                const SyRelayState *state)
{
  SyHardwarePanel *self = rr->panel;
  g_autoptr(GPtrArray) parts = g_ptr_array_new_with_free_func (g_free);
  gboolean heading;

  if (rr->awaiting > 0)
    heading = gtk_switch_get_active (rr->sw);
  else
    heading = state->pending ? state->target : state->on;

  if (!state->available)
    g_ptr_array_add (parts, g_strdup (_(UNAVAILABLE_NOTE)));
  else if (rr->awaiting > 0 || state->pending)
    g_ptr_array_add (parts, g_strdup (heading ? _("Switching on…") : _("Switching off…")));
  else
    g_ptr_array_add (parts, g_strdup (state->on ? _("On") : _("Off")));

  if (state->stuck)
    g_ptr_array_add (parts, g_strdup (_("Stuck: does not confirm")));

  if (state->interlock != NULL)
    g_ptr_array_add (parts, g_strdup_printf (_("Interlocked with %s"),
                                             relay_name_of_id (self, state->interlock)));

  if (state->max_on_ms > 0)
    {
      g_autofree char *duration = format_duration (state->max_on_ms);

      g_ptr_array_add (parts, g_strdup_printf (_("At most %s on"), duration));
    }

  g_ptr_array_add (parts, NULL);

  return g_strjoinv (" · ", (char **) parts->pdata);
}

static void
relay_row_update (RelayRow *rr)
{
  SyHardwarePanel *self = rr->panel;
  const SyRelayState *state = sy_hardware_get_relay (self->hardware, rr->index);
  gboolean heading = state->pending ? state->target : state->on;
  gboolean busy = rr->awaiting > 0 || state->pending;

  if (take_if_changed (&rr->title, g_strdup (state->name)))
    {
      g_autofree char *pulse = g_strdup_printf (_("Pulse %s for one second"), state->name);
      g_autofree char *stuck = g_strdup_printf (_("Simulate %s stuck"), state->name);
      g_autofree char *name = g_strdup_printf (_("Name of %s"), state->name);

      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (rr->row), state->name);
      set_label (GTK_WIDGET (rr->sw), state->name);
      set_label (GTK_WIDGET (rr->pulse), pulse);
      set_label (GTK_WIDGET (rr->stuck), stuck);
      set_label (GTK_WIDGET (rr->name_row), name);
    }

  /* The name being edited is the user's until they apply it. */
  if (!(gtk_widget_get_state_flags (GTK_WIDGET (rr->name_row)) & GTK_STATE_FLAG_FOCUS_WITHIN) &&
      g_strcmp0 (gtk_editable_get_text (GTK_EDITABLE (rr->name_row)), state->name) != 0)
    gtk_editable_set_text (GTK_EDITABLE (rr->name_row), state->name);

  self->syncing = TRUE;
  gtk_switch_set_state (rr->sw, state->on);
  if (rr->awaiting == 0)
    gtk_switch_set_active (rr->sw, heading);
  gtk_switch_set_state (rr->stuck, state->stuck);
  if (rr->stuck_awaiting == 0)
    gtk_switch_set_active (rr->stuck, state->stuck);
  self->syncing = FALSE;

  if (gtk_widget_get_visible (GTK_WIDGET (rr->spinner)) != busy)
    {
      gtk_widget_set_visible (GTK_WIDGET (rr->spinner), busy);
      gtk_spinner_set_spinning (rr->spinner, busy);
    }

  if (take_if_changed (&rr->subtitle, relay_subtitle (rr, state)))
    adw_expander_row_set_subtitle (rr->row, rr->subtitle);

  if (rr->available != (int) state->available)
    {
      rr->available = state->available;
      gtk_widget_set_tooltip_text (GTK_WIDGET (rr->sw),
                                   state->available ? NULL : _(UNAVAILABLE_NOTE));
    }

  /* A relay moves only on a running bench, and a mirrored one only while
   * its upstream is there to move it. */
  if (gtk_widget_get_sensitive (GTK_WIDGET (rr->sw)) != (self->running && state->available))
    {
      gtk_widget_set_sensitive (GTK_WIDGET (rr->sw), self->running && state->available);
      gtk_widget_set_sensitive (GTK_WIDGET (rr->pulse), self->running && state->available);
    }
}

/* What a mirror does not offer: its faults and names are the upstream's. */
static void
relay_row_update_mirror (RelayRow *rr)
{
  gboolean mirror = rr->panel->mirror;

  gtk_widget_set_sensitive (GTK_WIDGET (rr->name_row), !mirror);
  gtk_widget_set_tooltip_text (GTK_WIDGET (rr->name_row), mirror ? _(MIRROR_RELAYS_NOTE) : NULL);
  gtk_widget_set_sensitive (GTK_WIDGET (rr->stuck_row), !mirror);
  adw_action_row_set_subtitle (rr->stuck_row,
                               mirror ? _(MIRROR_RELAYS_NOTE) : _(STUCK_FAULT_NOTE));
}

static gboolean
on_relay_state_set (GtkSwitch *sw,
                    gboolean   state,
                    RelayRow  *rr)
{
  SyHardwarePanel *self = rr->panel;

  /* Ours: the state is set from the model, not by the default handler. */
  if (self->syncing)
    return TRUE;

  rr->awaiting++;
  sy_hardware_relay_set (self->hardware, rr->index, state);
  relay_row_update (rr);

  /* The trough waits for the device. */
  return TRUE;
}

static gboolean
on_stuck_state_set (GtkSwitch *sw,
                    gboolean   state,
                    RelayRow  *rr)
{
  SyHardwarePanel *self = rr->panel;

  if (self->syncing)
    return TRUE;

  rr->stuck_awaiting++;
  sy_hardware_relay_set_stuck (self->hardware, rr->index, state);

  return TRUE;
}

static void
on_pulse_clicked (GtkButton *button,
                  RelayRow  *rr)
{
  sy_hardware_relay_pulse (rr->panel->hardware, rr->index, PULSE_MS);
}

static void
on_name_apply (AdwEntryRow *entry,
               RelayRow    *rr)
{
  const char *name = gtk_editable_get_text (GTK_EDITABLE (entry));

  sy_hardware_relay_rename (rr->panel->hardware, rr->index, name);
}

static AdwActionRow *
suffix_row (const char *title,
            const char *subtitle,
            GtkWidget  *suffix)
{
  AdwActionRow *row = ADW_ACTION_ROW (adw_action_row_new ());

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  adw_action_row_set_subtitle (row, subtitle);
  gtk_widget_set_valign (suffix, GTK_ALIGN_CENTER);
  adw_action_row_add_suffix (row, suffix);
  adw_action_row_set_activatable_widget (row, suffix);

  return row;
}

static void
set_name (GtkWidget  *widget,
          const char *prefix,
          const char *id)
{
  g_autofree char *name = g_strconcat (prefix, id, NULL);

  gtk_widget_set_name (widget, name);
}

static void
relay_row_build (SyHardwarePanel *self,
                 guint            index)
{
  RelayRow *rr = &self->relays[index];
  const SyRelayState *state = sy_hardware_get_relay (self->hardware, index);
  const char *id = state->id;
  AdwActionRow *pulse_row;

  rr->panel = self;
  rr->index = index;
  rr->available = -1;

  rr->row = ADW_EXPANDER_ROW (adw_expander_row_new ());
  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (rr->row), FALSE);
  set_name (GTK_WIDGET (rr->row), "relay-", id);

  /* Actions are prepended: the spinner ends up before the switch. */
  rr->sw = GTK_SWITCH (gtk_switch_new ());
  gtk_widget_set_valign (GTK_WIDGET (rr->sw), GTK_ALIGN_CENTER);
  set_name (GTK_WIDGET (rr->sw), "relay-switch-", id);
  g_signal_connect (rr->sw, "state-set", G_CALLBACK (on_relay_state_set), rr);
  adw_expander_row_add_action (rr->row, GTK_WIDGET (rr->sw));

  rr->spinner = GTK_SPINNER (gtk_spinner_new ());
  gtk_widget_set_visible (GTK_WIDGET (rr->spinner), FALSE);
  gtk_widget_set_valign (GTK_WIDGET (rr->spinner), GTK_ALIGN_CENTER);
  set_label (GTK_WIDGET (rr->spinner), _("Waiting for the device"));
  set_name (GTK_WIDGET (rr->spinner), "relay-spinner-", id);
  adw_expander_row_add_action (rr->row, GTK_WIDGET (rr->spinner));

  rr->name_row = ADW_ENTRY_ROW (adw_entry_row_new ());
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (rr->name_row), _("Name"));
  adw_entry_row_set_show_apply_button (rr->name_row, TRUE);
  set_name (GTK_WIDGET (rr->name_row), "relay-name-", id);
  g_signal_connect (rr->name_row, "apply", G_CALLBACK (on_name_apply), rr);
  adw_expander_row_add_row (rr->row, GTK_WIDGET (rr->name_row));

  rr->pulse = GTK_BUTTON (gtk_button_new_with_mnemonic (_("_Pulse")));
  set_name (GTK_WIDGET (rr->pulse), "relay-pulse-", id);
  g_signal_connect (rr->pulse, "clicked", G_CALLBACK (on_pulse_clicked), rr);
  pulse_row = suffix_row (_("Pulse"), _("On for one second, then off by itself"),
                          GTK_WIDGET (rr->pulse));
  adw_expander_row_add_row (rr->row, GTK_WIDGET (pulse_row));

  rr->stuck = GTK_SWITCH (gtk_switch_new ());
  set_name (GTK_WIDGET (rr->stuck), "relay-stuck-", id);
  g_signal_connect (rr->stuck, "state-set", G_CALLBACK (on_stuck_state_set), rr);
  rr->stuck_row = suffix_row (_("Stuck Fault"), _(STUCK_FAULT_NOTE), GTK_WIDGET (rr->stuck));
  set_name (GTK_WIDGET (rr->stuck_row), "relay-stuck-row-", id);
  adw_expander_row_add_row (rr->row, GTK_WIDGET (rr->stuck_row));

  adw_preferences_group_add (self->relays_group, GTK_WIDGET (rr->row));
}

/* SyHardware */

static void
on_reading (SyHardware      *hardware,
            const SyReading *reading,
            SyHardwarePanel *self)
{
  for (guint i = 0; i < SY_BENCH_N_SENSORS; i++)
    sensor_row_update (&self->sensors[i], reading);
}

static void
on_relay_changed (SyHardware      *hardware,
                  guint            relay,
                  const char      *reason,
                  SyHardwarePanel *self)
{
  RelayRow *rr;

  g_return_if_fail (relay < SY_BENCH_N_RELAYS);

  rr = &self->relays[relay];

  /* A command reached the bench: the switch follows the bench again. */
  if (g_strcmp0 (reason, "command") == 0 && rr->awaiting > 0)
    rr->awaiting--;
  if (g_strcmp0 (reason, "fault") == 0 && rr->stuck_awaiting > 0)
    rr->stuck_awaiting--;

  relay_row_update (rr);

  /* Other rows name this one in their interlock note. */
  if (g_strcmp0 (reason, "rename") == 0)
    for (guint i = 0; i < SY_BENCH_N_RELAYS; i++)
      if (i != relay)
        relay_row_update (&self->relays[i]);
}

static void
on_command_failed (SyHardware      *hardware,
                   guint            relay,
                   const char      *message,
                   SyHardwarePanel *self)
{
  if (relay < SY_BENCH_N_RELAYS)
    {
      RelayRow *rr = &self->relays[relay];

      /* The refused command will not show: put the switch back. */
      if (rr->awaiting > 0)
        rr->awaiting--;
      relay_row_update (rr);

      /* A refused name: show the real one again. */
      if (g_strcmp0 (gtk_editable_get_text (GTK_EDITABLE (rr->name_row)), rr->title) != 0)
        gtk_editable_set_text (GTK_EDITABLE (rr->name_row), rr->title);
    }

  sy_hardware_panel_refuse (self, message);
}

/* The server's running and the bench's mirror mode: what the groups say,
 * what can be used, and every row. */
static void
sy_hardware_panel_update_mode (SyHardwarePanel *self)
{
  SyServer *server = sy_hardware_get_server (self->hardware);
  gboolean running = sy_server_get_running (server);
  gboolean mirror = sy_hardware_is_mirror (self->hardware);
  const char *sensors_note = NULL;
  const char *relays_note = NULL;

  self->running = running;

  if (!running)
    {
      sensors_note = _("The server is stopped: no new readings.");
      relays_note = _("The server is stopped: relays keep their state and cannot switch.");
    }
  else if (mirror)
    {
      sensors_note = _(MIRROR_SENSORS_NOTE);
      relays_note = _(MIRROR_RELAYS_NOTE);
    }

  adw_preferences_group_set_description (self->sensors_group, sensors_note);
  adw_preferences_group_set_description (self->relays_group, relays_note);

  if (self->mirror != mirror)
    {
      self->mirror = mirror;

      for (guint i = 0; i < SY_BENCH_N_SENSORS; i++)
        {
          GtkWidget *dropout = GTK_WIDGET (self->sensors[i].dropout);

          gtk_widget_set_sensitive (dropout, !mirror);
          gtk_widget_set_tooltip_text (dropout,
                                       mirror ? _(MIRROR_SENSORS_NOTE) : _("Simulate Dropout"));
        }
      for (guint i = 0; i < SY_BENCH_N_RELAYS; i++)
        relay_row_update_mirror (&self->relays[i]);
    }

  for (guint i = 0; i < SY_BENCH_N_SENSORS; i++)
    sensor_row_update (&self->sensors[i], sy_hardware_get_reading (self->hardware));
  for (guint i = 0; i < SY_BENCH_N_RELAYS; i++)
    relay_row_update (&self->relays[i]);
}

static void
on_mode_changed (GObject         *object,
                 GParamSpec      *pspec,
                 SyHardwarePanel *self)
{
  sy_hardware_panel_update_mode (self);
}

/* GObject */

static void
sy_hardware_panel_constructed (GObject *object)
{
  SyHardwarePanel *self = (SyHardwarePanel *)object;

  G_OBJECT_CLASS (sy_hardware_panel_parent_class)->constructed (object);

  g_assert (SY_IS_HARDWARE (self->hardware));

  for (guint i = 0; i < SY_BENCH_N_SENSORS; i++)
    sensor_row_build (self, i);
  for (guint i = 0; i < SY_BENCH_N_RELAYS; i++)
    relay_row_build (self, i);

  g_signal_connect (self->hardware, "reading", G_CALLBACK (on_reading), self);
  g_signal_connect (self->hardware, "relay-changed", G_CALLBACK (on_relay_changed), self);
  g_signal_connect (self->hardware, "command-failed", G_CALLBACK (on_command_failed), self);
  g_signal_connect (self->hardware, "notify::mirror", G_CALLBACK (on_mode_changed), self);
  g_signal_connect (sy_hardware_get_server (self->hardware), "notify::running",
                    G_CALLBACK (on_mode_changed), self);

  sy_hardware_panel_update_mode (self);
}

static void
sy_hardware_panel_dispose (GObject *object)
{
  SyHardwarePanel *self = (SyHardwarePanel *)object;

  if (self->hardware != NULL)
    {
      g_signal_handlers_disconnect_by_data (sy_hardware_get_server (self->hardware), self);
      g_signal_handlers_disconnect_by_data (self->hardware, self);
      g_clear_object (&self->hardware);
    }

  gtk_widget_dispose_template (GTK_WIDGET (self), SY_TYPE_HARDWARE_PANEL);

  G_OBJECT_CLASS (sy_hardware_panel_parent_class)->dispose (object);
}

static void
sy_hardware_panel_finalize (GObject *object)
{
  SyHardwarePanel *self = (SyHardwarePanel *)object;

  for (guint i = 0; i < SY_BENCH_N_SENSORS; i++)
    {
      g_clear_pointer (&self->sensors[i].value_text, g_free);
      g_clear_pointer (&self->sensors[i].subtitle, g_free);
    }
  for (guint i = 0; i < SY_BENCH_N_RELAYS; i++)
    {
      g_clear_pointer (&self->relays[i].title, g_free);
      g_clear_pointer (&self->relays[i].subtitle, g_free);
    }
  g_clear_pointer (&self->last_refusal, g_free);

  G_OBJECT_CLASS (sy_hardware_panel_parent_class)->finalize (object);
}

static void
sy_hardware_panel_get_property (GObject    *object,
                                guint       prop_id,
                                GValue     *value,
                                GParamSpec *pspec)
{
  SyHardwarePanel *self = SY_HARDWARE_PANEL (object);

  switch (prop_id)
    {
    case PROP_HARDWARE:
      g_value_set_object (value, self->hardware);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sy_hardware_panel_set_property (GObject      *object,
                                guint         prop_id,
                                const GValue *value,
                                GParamSpec   *pspec)
{
  SyHardwarePanel *self = SY_HARDWARE_PANEL (object);

  switch (prop_id)
    {
    case PROP_HARDWARE:
      self->hardware = g_value_dup_object (value);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sy_hardware_panel_class_init (SyHardwarePanelClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->constructed = sy_hardware_panel_constructed;
  object_class->dispose = sy_hardware_panel_dispose;
  object_class->finalize = sy_hardware_panel_finalize;
  object_class->get_property = sy_hardware_panel_get_property;
  object_class->set_property = sy_hardware_panel_set_property;

  properties[PROP_HARDWARE] =
    g_param_spec_object ("hardware", NULL, NULL,
                         SY_TYPE_HARDWARE,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/switchyard/Switchyard/sy-hardware-panel.ui");
  gtk_widget_class_bind_template_child (widget_class, SyHardwarePanel, sensors_group);
  gtk_widget_class_bind_template_child (widget_class, SyHardwarePanel, relays_group);
}

static void
sy_hardware_panel_init (SyHardwarePanel *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

/**
 * sy_hardware_panel_new:
 * @hardware: the GUI thread's mirror of the bench
 *
 * Refused commands are shown as toasts in the nearest #AdwToastOverlay
 * around the panel, if there is one.
 *
 * Returns: (transfer floating): a new #SyHardwarePanel
 */
GtkWidget *
sy_hardware_panel_new (SyHardware *hardware)
{
  g_return_val_if_fail (SY_IS_HARDWARE (hardware), NULL);

  return g_object_new (SY_TYPE_HARDWARE_PANEL, "hardware", hardware, NULL);
}

/**
 * sy_hardware_panel_get_hardware:
 * @self: a #SyHardwarePanel
 *
 * Returns: (transfer none): the mirror the panel shows and drives
 */
SyHardware *
sy_hardware_panel_get_hardware (SyHardwarePanel *self)
{
  g_return_val_if_fail (SY_IS_HARDWARE_PANEL (self), NULL);

  return self->hardware;
}

/**
 * sy_hardware_panel_get_last_refusal:
 * @self: a #SyHardwarePanel
 *
 * Returns: (nullable): the message of the last refused command, as shown
 *   in its toast
 */
const char *
sy_hardware_panel_get_last_refusal (SyHardwarePanel *self)
{
  g_return_val_if_fail (SY_IS_HARDWARE_PANEL (self), NULL);

  return self->last_refusal;
}
