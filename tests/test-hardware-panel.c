/* test-hardware-panel.c
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "test-hardware-panel"

#include "config.h"

#include <adwaita.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "sy-audit.h"
#include "sy-bench.h"
#include "sy-hardware-panel.h"
#include "sy-hardware.h"
#include "sy-gui-test-utils.h"
#include "sy-test-utils.h"

/* The hardware panel on a real server with a bench, in a real window under
 * Xvfb. What the panel commands is checked from the outside, with a
 * WebSocket client on switchyard.relay.v1, never through the panel. The
 * panel's widgets are found by their names (gtk_widget_get_name()), which
 * are stable hooks: "relay-switch-<id>", "sensor-value-<id>", … */

typedef struct
{
  SyServer        *server;
  SyBench         *bench;
  SyAudit         *audit;
  SoupSession     *session;
  SyHardware      *hardware;
  GtkWindow       *window;
  AdwToastOverlay *overlay;
  SyHardwarePanel *panel;
} Fixture;

/* A WebSocket client */


/* The next broadcast about relay @id; others are skipped. */
static JsonObject *
client_next_about (SyTestClient     *client,
                   const char *id)
{
  for (;;)
    {
      JsonObject *message = sy_test_client_next (client, "relay");
      JsonObject *relay = json_object_get_object_member (message, "relay");

      if (g_strcmp0 (json_object_get_string_member (relay, "id"), id) == 0)
        return message;
    }
}

static JsonObject *
relay_in (JsonObject *message)
{
  return json_object_get_object_member (message, "relay");
}

/* Widget tree */

static GtkWidget *
find_type (GtkWidget  *root,
           const char *type_name)
{
  if (g_strcmp0 (G_OBJECT_TYPE_NAME (root), type_name) == 0)
    return root;

  for (GtkWidget *child = gtk_widget_get_first_child (root); child; child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = find_type (child, type_name);

      if (found != NULL)
        return found;
    }

  return NULL;
}

static GtkWidget *
widget (Fixture    *f,
        const char *prefix,
        const char *id)
{
  g_autofree char *name = g_strconcat (prefix, id, NULL);
  GtkWidget *found = sy_test_find_named (GTK_WIDGET (f->panel), name);

  if (found == NULL)
    g_error ("the panel has no widget named %s", name);

  return found;
}

static GtkSwitch *
relay_switch (Fixture    *f,
              const char *id)
{
  return GTK_SWITCH (widget (f, "relay-switch-", id));
}

static gboolean
spinner_shown (Fixture    *f,
               const char *id)
{
  GtkWidget *spinner = widget (f, "relay-spinner-", id);

  return gtk_widget_get_visible (spinner) && gtk_spinner_get_spinning (GTK_SPINNER (spinner));
}

static const char *
relay_subtitle (Fixture    *f,
                const char *id)
{
  return adw_expander_row_get_subtitle (ADW_EXPANDER_ROW (widget (f, "relay-", id)));
}

static gboolean
contains (const char *haystack,
          const char *needle)
{
  return haystack != NULL && strstr (haystack, needle) != NULL;
}

/* What a user does to reach a relay's name, pulse and fault. */
static void
expand (Fixture    *f,
        const char *id)
{
  AdwExpanderRow *row = ADW_EXPANDER_ROW (widget (f, "relay-", id));

  adw_expander_row_set_expanded (row, TRUE);
  WAIT_UNTIL (gtk_widget_get_mapped (widget (f, "relay-pulse-", id)), 5000);
}

/* What a user does: activate the switch (keyboard or click), then let it
 * animate to its new position. */
static void
flip (GtkSwitch *sw)
{
  gboolean was = gtk_switch_get_active (sw);

  g_assert_true (gtk_widget_is_sensitive (GTK_WIDGET (sw)));
  gtk_widget_activate (GTK_WIDGET (sw));
  WAIT_UNTIL (gtk_switch_get_active (sw) != was, 5000);
}

/* Fixture */

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  f->bench = sy_bench_new (7, NULL);
  sy_bench_set_tick_hz (f->bench, 20);
  /* Long enough for the pending state to be seen in the panel. */
  sy_bench_set_actuation_delay (f->bench, 400);
  sy_bench_set_command_timeout (f->bench, 2000);
  f->audit = sy_audit_new (NULL);
  f->server = sy_test_server_new ();
  sy_server_install_bench (f->server, f->bench, f->audit);
  sy_test_server_start (f->server);
  f->session = sy_test_session_new ();
  f->hardware = sy_hardware_new (f->server);

  f->window = GTK_WINDOW (gtk_window_new ());
  gtk_window_set_default_size (f->window, 480, 900);
  f->overlay = ADW_TOAST_OVERLAY (adw_toast_overlay_new ());
  gtk_window_set_child (f->window, GTK_WIDGET (f->overlay));
  f->panel = SY_HARDWARE_PANEL (sy_hardware_panel_new (f->hardware));
  g_object_add_weak_pointer (G_OBJECT (f->panel), (gpointer *) &f->panel);
  adw_toast_overlay_set_child (f->overlay, GTK_WIDGET (f->panel));
  gtk_window_present (f->window);

  WAIT_UNTIL (gtk_widget_get_mapped (GTK_WIDGET (f->panel)), 10000);
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  gtk_window_destroy (f->window);
  /* Nothing (a timer, a closure) keeps the panel alive. */
  WAIT_UNTIL (f->panel == NULL, 5000);
  g_assert_finalize_object (f->hardware);

  sy_server_stop (f->server);
  /* The server's last hand-off to this thread holds a reference. */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert_finalize_object (f->session);
  g_assert_finalize_object (f->server);
  g_clear_object (&f->audit);
  g_assert_finalize_object (f->bench);
}

/* Tests */

static void
test_relay_switch (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(SyTestClient) client = sy_test_client_new (f->session, f->server, "switchyard.relay.v1");
  GtkSwitch *lamp = relay_switch (f, "lamp");
  GtkSwitch *fan = relay_switch (f, "fan");
  JsonObject *message;

  sy_test_client_next (client, "relays");
  g_assert_false (gtk_switch_get_active (lamp));
  g_assert_false (gtk_switch_get_state (lamp));
  g_assert_false (spinner_shown (f, "lamp"));
  g_assert_true (contains (relay_subtitle (f, "lamp"), "Off"));

  /* The user flips the lamp on: the switch stays where they put it, the
   * trough (the state) waits for the device, a spinner says so. */
  flip (lamp);
  g_assert_true (spinner_shown (f, "lamp"));
  g_assert_false (gtk_switch_get_state (lamp));
  g_assert_true (contains (relay_subtitle (f, "lamp"), "Switching on"));

  /* The bench got it: every client sees pending, then confirmed. */
  message = client_next_about (client, "lamp");
  g_assert_true (json_object_get_boolean_member (relay_in (message), "pending"));
  g_assert_true (json_object_get_boolean_member (relay_in (message), "target"));

  /* The panel shows the bench's pending state until it is confirmed. */
  WAIT_UNTIL (sy_hardware_get_relay (f->hardware, SY_RELAY_LAMP)->pending, 5000);
  g_assert_true (spinner_shown (f, "lamp"));
  g_assert_true (gtk_switch_get_active (lamp));
  g_assert_false (gtk_switch_get_state (lamp));

  message = client_next_about (client, "lamp");
  g_assert_false (json_object_get_boolean_member (relay_in (message), "pending"));
  g_assert_true (json_object_get_boolean_member (relay_in (message), "on"));

  WAIT_UNTIL (gtk_switch_get_state (lamp), 5000);
  g_assert_true (gtk_switch_get_active (lamp));
  g_assert_false (spinner_shown (f, "lamp"));
  g_assert_true (contains (relay_subtitle (f, "lamp"), "On"));

  /* Another client switches the fan: the panel follows, pending first. */
  soup_websocket_connection_send_text (client->ws, "{\"type\":\"set\",\"id\":1,\"relay\":\"fan\",\"on\":true}");
  WAIT_UNTIL (gtk_switch_get_active (fan), 5000);
  g_assert_false (gtk_switch_get_state (fan));
  g_assert_true (spinner_shown (f, "fan"));
  WAIT_UNTIL (gtk_switch_get_state (fan), 5000);
  g_assert_false (spinner_shown (f, "fan"));

  /* And off again from the panel. */
  flip (lamp);
  message = client_next_about (client, "lamp");
  g_assert_true (json_object_get_boolean_member (relay_in (message), "pending"));
  g_assert_false (json_object_get_boolean_member (relay_in (message), "target"));
  WAIT_UNTIL (!gtk_switch_get_state (lamp) && !spinner_shown (f, "lamp"), 5000);
  g_assert_false (gtk_switch_get_active (lamp));
  g_assert_false (sy_hardware_get_relay (f->hardware, SY_RELAY_LAMP)->on);
}

static void
test_interlock_toast (Fixture       *f,
                      gconstpointer  data)
{
  g_autoptr(SyTestClient) client = sy_test_client_new (f->session, f->server, "switchyard.relay.v1");
  GtkSwitch *cooler = relay_switch (f, "cooler");

  sy_test_client_next (client, "relays");
  g_assert_null (sy_hardware_panel_get_last_refusal (f->panel));
  g_assert_null (find_type (GTK_WIDGET (f->overlay), "AdwToastWidget"));

  soup_websocket_connection_send_text (client->ws, "{\"type\":\"set\",\"id\":1,\"relay\":\"heater\",\"on\":true}");
  WAIT_UNTIL (gtk_switch_get_state (relay_switch (f, "heater")), 5000);
  g_assert_true (contains (relay_subtitle (f, "cooler"), "Heater"));

  /* The panel asks, the bench refuses: a toast, and the switch goes back. */
  flip (cooler);
  WAIT_UNTIL (sy_hardware_panel_get_last_refusal (f->panel) != NULL, 5000);
  g_assert_true (contains (sy_hardware_panel_get_last_refusal (f->panel), "interlock"));
  WAIT_UNTIL (find_type (GTK_WIDGET (f->overlay), "AdwToastWidget") != NULL, 5000);
  WAIT_UNTIL (!gtk_switch_get_active (cooler), 5000);
  g_assert_false (gtk_switch_get_state (cooler));
  g_assert_false (spinner_shown (f, "cooler"));
  g_assert_false (sy_hardware_get_relay (f->hardware, SY_RELAY_COOLER)->on);
  g_assert_false (sy_hardware_get_relay (f->hardware, SY_RELAY_COOLER)->pending);

  /* Nothing about the cooler went out before a later marker command. */
  soup_websocket_connection_send_text (client->ws, "{\"type\":\"toggle\",\"id\":2,\"relay\":\"aux\"}");
  for (;;)
    {
      JsonObject *message = sy_test_client_next (client, "relay");
      const char *id = json_object_get_string_member (relay_in (message), "id");

      g_assert_cmpstr (id, !=, "cooler");
      if (g_strcmp0 (id, "aux") == 0)
        break;
    }
}

static void
test_rename_pulse_stuck (Fixture       *f,
                         gconstpointer  data)
{
  g_autoptr(SyTestClient) client = sy_test_client_new (f->session, f->server, "switchyard.relay.v1");
  GtkEditable *name = GTK_EDITABLE (widget (f, "relay-name-", "lamp"));
  AdwPreferencesRow *row = ADW_PREFERENCES_ROW (widget (f, "relay-", "lamp"));
  GtkSwitch *stuck = GTK_SWITCH (widget (f, "relay-stuck-", "siren"));
  JsonObject *message;

  sy_test_client_next (client, "relays");
  g_assert_cmpstr (gtk_editable_get_text (name), ==, "Lamp");
  g_assert_cmpstr (adw_preferences_row_get_title (row), ==, "Lamp");
  g_assert_false (adw_preferences_row_get_use_markup (row));

  /* Edited in place, applied on Enter. */
  gtk_editable_set_text (name, "Desk <lamp> & co");
  g_signal_emit_by_name (name, "apply");
  message = client_next_about (client, "lamp");
  g_assert_cmpstr (json_object_get_string_member (relay_in (message), "name"), ==, "Desk <lamp> & co");
  WAIT_UNTIL (g_strcmp0 (adw_preferences_row_get_title (row), "Desk <lamp> & co") == 0, 5000);
  gtk_test_accessible_assert_property (relay_switch (f, "lamp"), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                       "Desk <lamp> & co");

  /* A name the bench refuses: a toast, and the entry shows the real name. */
  gtk_editable_set_text (name, "   ");
  g_signal_emit_by_name (name, "apply");
  WAIT_UNTIL (sy_hardware_panel_get_last_refusal (f->panel) != NULL, 5000);
  WAIT_UNTIL (g_strcmp0 (gtk_editable_get_text (name), "Desk <lamp> & co") == 0, 5000);

  /* Pulse: on, then off by itself. The button is in the expanded row. */
  expand (f, "aux");
  gtk_widget_activate (widget (f, "relay-pulse-", "aux"));
  message = client_next_about (client, "aux");
  g_assert_cmpstr (json_object_get_string_member (message, "reason"), ==, "pulse");
  message = client_next_about (client, "aux");
  g_assert_true (json_object_get_boolean_member (relay_in (message), "on"));
  message = client_next_about (client, "aux");
  g_assert_cmpstr (json_object_get_string_member (message, "reason"), ==, "pulse end");
  WAIT_UNTIL (!gtk_switch_get_state (relay_switch (f, "aux")) && !gtk_switch_get_active (relay_switch (f, "aux")),
              5000);

  /* Stuck fault, shown in the relay's subtitle. */
  expand (f, "siren");
  g_assert_false (gtk_switch_get_active (stuck));
  flip (stuck);
  message = client_next_about (client, "siren");
  g_assert_true (json_object_get_boolean_member (relay_in (message), "stuck"));
  WAIT_UNTIL (gtk_switch_get_state (stuck), 5000);
  WAIT_UNTIL (contains (relay_subtitle (f, "siren"), "Stuck"), 5000);
}

static void
test_sensors (Fixture       *f,
              gconstpointer  data)
{
  GtkLabel *voltage = GTK_LABEL (widget (f, "sensor-value-", "voltage"));
  GtkLabel *temperature = GTK_LABEL (widget (f, "sensor-value-", "temperature"));
  AdwActionRow *row = ADW_ACTION_ROW (widget (f, "sensor-", "temperature"));
  GtkWidget *dropout = widget (f, "sensor-dropout-", "temperature");
  GtkWidget *trend = widget (f, "sensor-trend-", "temperature");
  g_autofree char *first = NULL;

  /* Live values with their unit, changing. */
  WAIT_UNTIL (g_str_has_suffix (gtk_label_get_label (voltage), "V"), 5000);
  first = g_strdup (gtk_label_get_label (voltage));
  WAIT_UNTIL (g_strcmp0 (gtk_label_get_label (voltage), first) != 0, 10000);
  g_assert_true (g_str_has_suffix (gtk_label_get_label (temperature), "°C"));
  g_assert_true (gtk_widget_has_css_class (GTK_WIDGET (voltage), "numeric"));
  g_assert_false (gtk_widget_has_css_class (GTK_WIDGET (temperature), "dim-label"));

  /* Every control is named for assistive technologies. */
  gtk_test_accessible_assert_property (dropout, GTK_ACCESSIBLE_PROPERTY_LABEL,
                                       "Simulate dropout of Room temperature");
  gtk_test_accessible_assert_property (trend, GTK_ACCESSIBLE_PROPERTY_LABEL,
                                       "Room temperature over the last minute");
  gtk_test_accessible_assert_property (relay_switch (f, "heater"), GTK_ACCESSIBLE_PROPERTY_LABEL, "Heater");
  gtk_test_accessible_assert_property (widget (f, "relay-pulse-", "heater"), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                       "Pulse Heater for one second");
  gtk_test_accessible_assert_property (widget (f, "relay-stuck-", "heater"), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                       "Simulate Heater stuck");

  /* Dropout: after a while without fresh values, no signal. */
  g_assert_false (sy_hardware_get_sensor_dropout (f->hardware, SY_SENSOR_TEMPERATURE));
  gtk_widget_activate (dropout);
  WAIT_UNTIL (gtk_toggle_button_get_active (GTK_TOGGLE_BUTTON (dropout)), 5000);
  g_assert_true (sy_hardware_get_sensor_dropout (f->hardware, SY_SENSOR_TEMPERATURE));
  WAIT_UNTIL (gtk_widget_has_css_class (GTK_WIDGET (temperature), "dim-label"), SY_BENCH_STALE_AFTER_MS + 5000);
  g_assert_cmpstr (adw_action_row_get_subtitle (row), ==, "No signal");
  g_assert_true (gtk_widget_has_css_class (trend, "dim-label"));
  g_assert_false (gtk_widget_has_css_class (GTK_WIDGET (voltage), "dim-label"));

  /* And back. */
  gtk_widget_activate (dropout);
  WAIT_UNTIL (!gtk_toggle_button_get_active (GTK_TOGGLE_BUTTON (dropout)), 5000);
  g_assert_false (sy_hardware_get_sensor_dropout (f->hardware, SY_SENSOR_TEMPERATURE));
  WAIT_UNTIL (!gtk_widget_has_css_class (GTK_WIDGET (temperature), "dim-label"), 5000);
  g_assert_cmpstr (adw_action_row_get_subtitle (row), !=, "No signal");
}

static void
test_server_stopped (Fixture       *f,
                     gconstpointer  data)
{
  GtkSwitch *lamp = relay_switch (f, "lamp");

  g_assert_true (gtk_widget_is_sensitive (GTK_WIDGET (lamp)));

  /* Stopped: relays cannot move; the panel says so instead of failing. */
  sy_server_stop (f->server);
  g_assert_false (gtk_widget_is_sensitive (GTK_WIDGET (lamp)));
  g_assert_false (gtk_widget_is_sensitive (widget (f, "relay-pulse-", "lamp")));

  sy_test_server_start (f->server);
  g_assert_true (gtk_widget_is_sensitive (GTK_WIDGET (lamp)));
  flip (lamp);
  WAIT_UNTIL (gtk_switch_get_state (lamp), 5000);
}

/* Relay servers */

static const char * const relay_ids[] = {
  "heater", "fan", "lamp", "pump", "cooler", "valve", "siren", "aux",
};

/* What a group says under its title; "" when nothing. */
static const char *
group_description (Fixture    *f,
                   const char *name)
{
  GtkWidget *group = widget (f, name, "-group");
  const char *description = adw_preferences_group_get_description (ADW_PREFERENCES_GROUP (group));

  return description != NULL ? description : "";
}

static guint
n_relays_sensitive (Fixture *f)
{
  guint n = 0;

  for (guint i = 0; i < G_N_ELEMENTS (relay_ids); i++)
    if (gtk_widget_is_sensitive (GTK_WIDGET (relay_switch (f, relay_ids[i]))))
      n++;

  return n;
}

/* What belongs to the upstream of a relay server (faults, names) is offered
 * only on a bench of its own. */
static void
assert_own_controls (Fixture  *f,
                     gboolean  offered)
{
  for (guint i = 0; i < G_N_ELEMENTS (relay_ids); i++)
    {
      g_assert_cmpint (gtk_widget_is_sensitive (widget (f, "relay-stuck-", relay_ids[i])), ==, offered);
      g_assert_cmpint (gtk_widget_is_sensitive (widget (f, "relay-name-", relay_ids[i])), ==, offered);
    }
  for (guint i = 0; i < SY_BENCH_N_SENSORS; i++)
    {
      GtkWidget *dropout = widget (f, "sensor-dropout-", sy_bench_get_sensor_spec (i)->id);

      g_assert_cmpint (gtk_widget_is_sensitive (dropout), ==, offered);
    }
}

static void
test_mirror (Fixture       *f,
             gconstpointer  data)
{
  g_autoptr(SyBench) upstream_bench = sy_bench_new (11, NULL);
  g_autoptr(SyAudit) upstream_audit = sy_audit_new (NULL);
  g_autoptr(SyTestClient) client = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *link = NULL;
  SyServer *upstream = sy_test_server_new ();
  GtkSwitch *lamp = relay_switch (f, "lamp");
  GtkWidget *stuck_row = widget (f, "relay-stuck-row-", "lamp");
  GtkWidget *dropout = widget (f, "sensor-dropout-", "temperature");
  guint port = sy_test_free_port ();
  guint tolerating = sy_test_tolerate_warnings ("sy-uplink");
  JsonObject *message;
  gint64 gone;

  /* The upstream: a Switchyard with hardware of its own. */
  sy_server_install_bench (upstream, upstream_bench, upstream_audit);
  g_object_set (upstream, "port", port, NULL);
  sy_test_server_start (upstream);
  link = sy_server_dup_page_uri (upstream, SY_ROLE_CONTROL);

  /* Here, a bench of its own: everything is offered. */
  assert_own_controls (f, TRUE);
  g_assert_cmpstr (group_description (f, "relays"), ==, "");

  /* The operator makes this Switchyard a relay server of the upstream (as
   * the preferences do: stop, set the uplink, start). */
  sy_server_stop (f->server);
  g_assert_true (sy_server_set_uplink (f->server, link, NULL, NULL, &error));
  g_assert_no_error (error);
  sy_test_server_start (f->server);

  /* From the start, what belongs upstream is not offered, and the panel
   * says why, where it is missing. */
  WAIT_UNTIL (sy_hardware_is_mirror (f->hardware), 5000);
  assert_own_controls (f, FALSE);
  g_assert_cmpstr (group_description (f, "relays"), ==,
                   "Mirrored from an upstream Switchyard: faults and names are set there");
  g_assert_true (contains (group_description (f, "sensors"), "Mirrored from an upstream Switchyard"));
  g_assert_cmpstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (stuck_row)), ==,
                   "Mirrored from an upstream Switchyard: faults and names are set there");
  g_assert_true (contains (gtk_widget_get_tooltip_text (dropout), "upstream"));

  /* The lamp is the upstream's, usable once its state came down. */
  WAIT_UNTIL (n_relays_sensitive (f) == G_N_ELEMENTS (relay_ids), 10000);
  g_assert_null (gtk_widget_get_tooltip_text (GTK_WIDGET (lamp)));
  g_assert_true (gtk_widget_is_sensitive (widget (f, "relay-pulse-", "lamp")));
  g_assert_true (contains (relay_subtitle (f, "lamp"), "Off"));

  /* Flipped here, switched there: the upstream's clients see it. */
  client = sy_test_client_new (f->session, upstream, "switchyard.relay.v1");
  sy_test_client_next (client, "relays");
  flip (lamp);
  message = client_next_about (client, "lamp");
  g_assert_true (json_object_get_boolean_member (relay_in (message), "pending"));
  g_assert_true (json_object_get_boolean_member (relay_in (message), "target"));
  message = client_next_about (client, "lamp");
  g_assert_false (json_object_get_boolean_member (relay_in (message), "pending"));
  g_assert_true (json_object_get_boolean_member (relay_in (message), "on"));
  WAIT_UNTIL (gtk_switch_get_state (lamp) && !spinner_shown (f, "lamp"), 5000);
  g_clear_pointer (&client, sy_test_client_free);

  /* The upstream stops (closing with 1001): no relay can be switched, and
   * each says why. */
  gone = g_get_monotonic_time ();
  sy_server_stop (upstream);
  WAIT_UNTIL (n_relays_sensitive (f) == 0, 3000);
  g_test_message ("relays insensitive %.0f ms after the upstream stopped",
                  (g_get_monotonic_time () - gone) / 1000.0);
  g_assert_cmpstr (gtk_widget_get_tooltip_text (GTK_WIDGET (lamp)), ==,
                   "Unavailable: the Switchyard it mirrors is not connected");
  g_assert_true (contains (relay_subtitle (f, "lamp"), "Unavailable: the Switchyard it mirrors is not connected"));
  g_assert_false (gtk_widget_is_sensitive (widget (f, "relay-pulse-", "lamp")));
  g_assert_true (sy_hardware_is_mirror (f->hardware));
  assert_own_controls (f, FALSE);

  /* The upstream is back on its port: so are the relays, as it has them. */
  g_object_set (upstream, "port", port, NULL);
  sy_test_server_start (upstream);
  WAIT_UNTIL (n_relays_sensitive (f) == G_N_ELEMENTS (relay_ids), 20000);
  g_assert_null (gtk_widget_get_tooltip_text (GTK_WIDGET (lamp)));
  g_assert_true (gtk_switch_get_state (lamp));
  g_assert_true (contains (relay_subtitle (f, "lamp"), "On"));

  /* A bench of its own again: everything is offered again. */
  sy_server_stop (f->server);
  g_assert_true (sy_server_set_uplink (f->server, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  sy_test_server_start (f->server);
  g_assert_false (sy_hardware_is_mirror (f->hardware));
  assert_own_controls (f, TRUE);
  g_assert_cmpstr (group_description (f, "relays"), ==, "");
  g_assert_cmpstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (stuck_row)), ==,
                   "Accepts commands but never confirms them");
  g_assert_cmpuint (n_relays_sensitive (f), ==, G_N_ELEMENTS (relay_ids));
  g_assert_false (gtk_switch_get_state (lamp));

  sy_server_stop (upstream);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert_finalize_object (upstream);
  sy_test_end_tolerating_warnings (tolerating);
}

int
main (int   argc,
      char *argv[])
{
  /* Display tests keep the system's MIME database (sy_test_init): the
   * expander arrow is an SVG icon. */
  sy_test_init (&argc, &argv);
  g_set_prgname ("test-hardware-panel");

  if (!gtk_init_check ())
    {
      g_test_skip ("no display");
      return 77;
    }
  adw_init ();

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)

  ADD ("/gui/hardware-panel/relay-switch", test_relay_switch);
  ADD ("/gui/hardware-panel/interlock-toast", test_interlock_toast);
  ADD ("/gui/hardware-panel/rename-pulse-stuck", test_rename_pulse_stuck);
  ADD ("/gui/hardware-panel/sensors", test_sensors);
  ADD ("/gui/hardware-panel/server-stopped", test_server_stopped);
  ADD ("/gui/hardware-panel/mirror", test_mirror);

#undef ADD

  return g_test_run ();
}
