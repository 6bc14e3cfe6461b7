/* sy-log-panel.c
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "sy-log-panel"

#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "sy-log-panel.h"

/*
 * The log panel shows the process's log ring (SyLogModel, fed in batches
 * on this thread) through a short chain of models:
 *
 *   ring → SyLogView → GtkFilterListModel → GtkMultiSelection → GtkListView
 *
 * SyLogView is a copy of the ring that the panel brings up to date once
 * per frame while following (from a tick callback, however many batches
 * the ring got in between), and leaves alone while paused, so that the
 * paused view neither moves nor loses the lines the ring drops meanwhile.
 * Each update reports only the difference (old rows leave at the top, new
 * ones come at the bottom), so the filter only ever looks at new rows. The
 * filter is one GtkCustomFilter (level and search) whose changes say
 * whether they are stricter or looser, so that GTK re-checks only the rows
 * that can change. Scrolling to the newest line, the empty state and the
 * counters are updated in the same tick.
 */

/* Messages longer than this are cut in the row (the tooltip and copies
 * have more): laying out a huge label costs more than a frame. */
#define ROW_TEXT_MAX     512
#define TOOLTIP_TEXT_MAX 4096

/* How often a panel outside any shown window catches up. */
#define UNREALIZED_UPDATE_MS 250

/* The drop-down's levels, in its order. */
static const GLogLevelFlags levels[] = {
  G_LOG_LEVEL_DEBUG,
  G_LOG_LEVEL_INFO,
  G_LOG_LEVEL_MESSAGE,
  G_LOG_LEVEL_WARNING,
  G_LOG_LEVEL_CRITICAL,
};

#define DEFAULT_LEVEL_INDEX 1

/* 0 is the most severe: error, critical, warning, message, info, debug
 * (and levels of the program's own, which count as debug). */
static guint
level_rank (GLogLevelFlags level)
{
  if (level & G_LOG_LEVEL_ERROR)
    return 0;
  if (level & G_LOG_LEVEL_CRITICAL)
    return 1;
  if (level & G_LOG_LEVEL_WARNING)
    return 2;
  if (level & G_LOG_LEVEL_MESSAGE)
    return 3;
  if (level & G_LOG_LEVEL_INFO)
    return 4;
  return 5;
}

static const char *
level_label (guint rank)
{
  switch (rank)
    {
    case 0:  return C_("log level", "Error");
    case 1:  return C_("log level", "Critical");
    case 2:  return C_("log level", "Warning");
    case 3:  return C_("log level", "Message");
    case 4:  return C_("log level", "Info");
    default: return C_("log level", "Debug");
    }
}

/* SyLogView: a copy of the ring, brought up to date only when the panel
 * says so. GTK 4.8's GtkListView spends about a millisecond on every
 * items-changed over a full ring, whatever its size, so it must not hear
 * every batch the ring gets: the panel syncs this copy at most once per
 * frame while following, and not at all while paused. */

#define SY_TYPE_LOG_VIEW (sy_log_view_get_type ())

G_DECLARE_FINAL_TYPE (SyLogView, sy_log_view, SY, LOG_VIEW, GObject)

struct _SyLogView
{
  GObject     parent_instance;

  GListModel *source;
  GPtrArray  *items;    /* SyLogEntry, oldest first */
};

static void sy_log_view_list_model_iface_init (GListModelInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (SyLogView, sy_log_view, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_LIST_MODEL,
                                                      sy_log_view_list_model_iface_init))

static GType
sy_log_view_get_item_type (GListModel *model)
{
  return SY_TYPE_LOG_ENTRY;
}

static guint
sy_log_view_get_n_items (GListModel *model)
{
  return SY_LOG_VIEW (model)->items->len;
}

static gpointer
sy_log_view_get_item (GListModel *model,
                      guint       position)
{
  SyLogView *self = SY_LOG_VIEW (model);

  if (position >= self->items->len)
    return NULL;

  return g_object_ref (g_ptr_array_index (self->items, position));
}

static void
sy_log_view_list_model_iface_init (GListModelInterface *iface)
{
  iface->get_item_type = sy_log_view_get_item_type;
  iface->get_n_items = sy_log_view_get_n_items;
  iface->get_item = sy_log_view_get_item;
}

static void
sy_log_view_finalize (GObject *object)
{
  SyLogView *self = SY_LOG_VIEW (object);

  g_clear_object (&self->source);
  g_clear_pointer (&self->items, g_ptr_array_unref);

  G_OBJECT_CLASS (sy_log_view_parent_class)->finalize (object);
}

static void
sy_log_view_class_init (SyLogViewClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = sy_log_view_finalize;
}

static void
sy_log_view_init (SyLogView *self)
{
  self->items = g_ptr_array_new_with_free_func (g_object_unref);
}

static SyLogView *
sy_log_view_new (GListModel *source)
{
  SyLogView *self = g_object_new (SY_TYPE_LOG_VIEW, NULL);

  self->source = g_object_ref (source);

  return self;
}

static guint64
entry_sequence (gpointer entry)
{
  return sy_log_entry_get_sequence (SY_LOG_ENTRY (entry));
}

/* The newest entry shown, or 0. */
static guint64
sy_log_view_get_newest_sequence (SyLogView *self)
{
  if (self->items->len == 0)
    return 0;

  return entry_sequence (g_ptr_array_index (self->items, self->items->len - 1));
}

/* Empties the copy, as when the ring is cleared. */
static void
sy_log_view_clear (SyLogView *self)
{
  guint n = self->items->len;

  if (n == 0)
    return;

  g_ptr_array_set_size (self->items, 0);
  g_list_model_items_changed (G_LIST_MODEL (self), 0, n, 0);
}

/* Makes the copy the ring again, reporting only the difference: the ring
 * only ever drops from its head and adds at its tail, so the copy is
 * older entries, then the ring's head. That is two changes at most, the
 * oldest rows leaving and the new ones coming. Anything else (the ring was
 * cleared meanwhile) is reported as one whole change. */
static void
sy_log_view_sync (SyLogView *self)
{
  g_autoptr(SyLogEntry) first = NULL;
  guint n_source = g_list_model_get_n_items (self->source);
  guint n_items = self->items->len;
  guint kept = 0;

  if (n_source > 0)
    first = g_list_model_get_item (self->source, 0);

  if (first != NULL && n_items > 0)
    {
      guint64 sequence = sy_log_entry_get_sequence (first);
      guint lo = 0;
      guint hi = n_items;

      while (lo < hi)
        {
          guint mid = lo + (hi - lo) / 2;

          if (entry_sequence (g_ptr_array_index (self->items, mid)) < sequence)
            lo = mid + 1;
          else
            hi = mid;
        }

      if (lo < n_items &&
          g_ptr_array_index (self->items, lo) == (gpointer) first &&
          n_items - lo <= n_source)
        {
          g_autoptr(SyLogEntry) last = g_list_model_get_item (self->source, n_items - lo - 1);

          if (g_ptr_array_index (self->items, n_items - 1) == (gpointer) last)
            kept = n_items - lo;
        }
    }

  if (kept == 0 && n_items > 0)
    {
      g_ptr_array_set_size (self->items, 0);
      g_list_model_items_changed (G_LIST_MODEL (self), 0, n_items, 0);
    }
  else if (kept < n_items)
    {
      g_ptr_array_remove_range (self->items, 0, n_items - kept);
      g_list_model_items_changed (G_LIST_MODEL (self), 0, n_items - kept, 0);
    }

  if (n_source > kept)
    {
      for (guint i = kept; i < n_source; i++)
        g_ptr_array_add (self->items, g_list_model_get_item (self->source, i));
      g_list_model_items_changed (G_LIST_MODEL (self), kept, 0, n_source - kept);
    }
}

/* The panel */

struct _SyLogPanel
{
  AdwBin                parent_instance;

  /* Template widgets */
  AdwToastOverlay      *toast_overlay;
  GtkSearchEntry       *search_entry;
  GtkDropDown          *level_dropdown;
  GtkStack             *stack;
  GtkScrolledWindow    *scrolled_window;
  GtkEventController   *scroll_controller;
  GtkListView          *list_view;
  AdwStatusPage        *empty_page;
  GtkButton            *waiting_button;
  GtkToggleButton      *follow_button;
  GtkLabel             *status_label;

  /* Owned */
  SyLogModel           *model;
  SyLogView            *view;
  GtkCustomFilter      *filter;
  GtkFilterListModel   *filtered;
  GtkMultiSelection    *selection;
  GCancellable         *cancellable;
  GtkFileChooserNative *chooser;
  char                 *search;         /* casefolded; NULL when empty */
  GTimeZone            *time_zone;

  /* State */
  guint64               held_sequence;  /* the newest entry when paused */
  gint64                time_zone_checked;
  gsize                 search_len;
  guint                 min_rank;
  guint                 n_waiting;
  guint                 tick_id;
  guint                 timeout_id;
  gboolean              search_ascii;
  gboolean              following;
  gboolean              auto_paused;
  gboolean              scroll_pending;
  gboolean              updating;

  /* Borrowed */
  GdkFrameClock        *frame_clock;
};

G_DEFINE_FINAL_TYPE (SyLogPanel, sy_log_panel, ADW_TYPE_BIN)

enum {
  PROP_0,
  PROP_MODEL,
  PROP_FOLLOWING,
  PROP_MIN_LEVEL,
  PROP_N_WAITING,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* Whether @haystack contains the casefolded @needle, ignoring case. ASCII
 * text, by far the most common, is compared in place without copying. */
static gboolean
contains_folded (const char *haystack,
                 const char *needle,
                 gsize       needle_len,
                 gboolean    needle_ascii)
{
  g_autofree char *folded = NULL;

  if (needle_ascii)
    {
      const char *p;

      for (p = haystack; *p != '\0'; p++)
        {
          if ((guchar) *p >= 0x80)
            break;
          if (g_ascii_tolower (*p) == needle[0] && g_ascii_strncasecmp (p, needle, needle_len) == 0)
            return TRUE;
        }
      if (*p == '\0')
        return FALSE;
    }

  folded = g_utf8_casefold (haystack, -1);

  return strstr (folded, needle) != NULL;
}

static gboolean
entry_matches (SyLogPanel *self,
               SyLogEntry *entry)
{
  if (level_rank (sy_log_entry_get_level (entry)) > self->min_rank)
    return FALSE;

  if (self->search == NULL)
    return TRUE;

  return contains_folded (sy_log_entry_get_message (entry),
                          self->search, self->search_len, self->search_ascii) ||
         contains_folded (sy_log_entry_get_domain (entry),
                          self->search, self->search_len, self->search_ascii);
}

static gboolean
filter_func (gpointer item,
             gpointer user_data)
{
  return entry_matches (user_data, item);
}

/* How many ring entries came after @sequence: they are the ring's tail. */
static guint
count_newer (GListModel *ring,
             guint64     sequence)
{
  guint n = g_list_model_get_n_items (ring);
  guint lo = 0;
  guint hi = n;

  while (lo < hi)
    {
      guint mid = lo + (hi - lo) / 2;
      g_autoptr(SyLogEntry) entry = g_list_model_get_item (ring, mid);

      if (sy_log_entry_get_sequence (entry) <= sequence)
        lo = mid + 1;
      else
        hi = mid;
    }

  return n - lo;
}

static guint64
newest_sequence (GListModel *ring)
{
  guint n = g_list_model_get_n_items (ring);
  g_autoptr(SyLogEntry) entry = NULL;

  if (n == 0)
    return 0;

  entry = g_list_model_get_item (ring, n - 1);

  return sy_log_entry_get_sequence (entry);
}

static gboolean update_tick_cb (GtkWidget     *widget,
                                GdkFrameClock *clock,
                                gpointer       user_data);

static gboolean update_timeout_cb (gpointer user_data);

static gboolean
at_bottom (SyLogPanel *self)
{
  GtkAdjustment *adjustment = gtk_scrolled_window_get_vadjustment (self->scrolled_window);

  return gtk_adjustment_get_value (adjustment) >=
         gtk_adjustment_get_upper (adjustment) - gtk_adjustment_get_page_size (adjustment) - 1;
}

/* Following keeps the newest line in view by moving the adjustment (GTK
 * 4.8's list.scroll-to-item does not reach rows that were never shown).
 * It is done after the frame's layout, when the adjustment counts every
 * row the list has: moved earlier, with rows gone since the last layout,
 * it may point past the end. The list then lays out again in the next
 * frame. */
static void
on_after_paint (GdkFrameClock *clock,
                SyLogPanel    *self)
{
  GtkAdjustment *adjustment;
  double bottom;

  if (!self->scroll_pending)
    return;

  self->scroll_pending = FALSE;
  if (!self->following || at_bottom (self))
    return;

  adjustment = gtk_scrolled_window_get_vadjustment (self->scrolled_window);
  bottom = gtk_adjustment_get_upper (adjustment) - gtk_adjustment_get_page_size (adjustment);
  gtk_adjustment_set_value (adjustment, bottom);
}

static void
request_scroll_to_bottom (SyLogPanel *self)
{
  self->scroll_pending = TRUE;
  if (self->frame_clock != NULL)
    gdk_frame_clock_request_phase (self->frame_clock, GDK_FRAME_CLOCK_PHASE_AFTER_PAINT);
}

/* Once per frame; a panel that is not in a shown window yet has no frames,
 * and is updated a few times a second instead. */
static void
schedule_update (SyLogPanel *self)
{
  /* An update in progress does not ask for another one. */
  if (self->tick_id != 0 || self->timeout_id != 0 || self->updating)
    return;

  if (gtk_widget_get_realized (GTK_WIDGET (self)))
    self->tick_id = gtk_widget_add_tick_callback (GTK_WIDGET (self), update_tick_cb, NULL, NULL);
  else
    self->timeout_id = g_timeout_add_full (G_PRIORITY_LOW, UNREALIZED_UPDATE_MS,
                                           update_timeout_cb, self, NULL);
}

static void
set_n_waiting (SyLogPanel *self,
               guint       n_waiting)
{
  if (self->n_waiting == n_waiting)
    return;

  self->n_waiting = n_waiting;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_WAITING]);
  schedule_update (self);
}

/* Counts the waiting entries that pass the filter, exactly: after the
 * filter changed while paused. */
static void
recount_waiting (SyLogPanel *self)
{
  GListModel *ring = G_LIST_MODEL (self->model);
  guint n = g_list_model_get_n_items (ring);
  guint n_new;
  guint n_waiting = 0;

  if (self->following)
    return;

  n_new = count_newer (ring, self->held_sequence);
  for (guint i = n - n_new; i < n; i++)
    {
      g_autoptr(SyLogEntry) entry = g_list_model_get_item (ring, i);

      if (entry_matches (self, entry))
        n_waiting++;
    }

  set_n_waiting (self, n_waiting);
}

static void
update_actions (SyLogPanel *self)
{
  GtkSelectionModel *selection = GTK_SELECTION_MODEL (self->selection);
  g_autoptr(GtkBitset) selected = gtk_selection_model_get_selection (selection);

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "log.copy", !gtk_bitset_is_empty (selected));
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "log.save",
                                 g_list_model_get_n_items (G_LIST_MODEL (self->selection)) > 0);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "log.clear",
                                 g_list_model_get_n_items (G_LIST_MODEL (self->model)) > 0 ||
                                 g_list_model_get_n_items (G_LIST_MODEL (self->view)) > 0);
}

static void
on_selection_changed (GtkSelectionModel *selection,
                      guint              position,
                      guint              n_items,
                      SyLogPanel        *self)
{
  update_actions (self);
}

static void
on_ring_items_changed (GListModel *ring,
                       guint       position,
                       guint       removed,
                       guint       added,
                       SyLogPanel *self)
{
  if (!self->following)
    {
      guint n_waiting = self->n_waiting;

      for (guint i = position; i < position + added; i++)
        {
          g_autoptr(SyLogEntry) entry = g_list_model_get_item (ring, i);

          if (entry_matches (self, entry))
            n_waiting++;
        }

      /* Waiting entries the ring dropped before they were shown: the
       * count cannot be more than the new entries it still has. */
      if (removed > 0)
        n_waiting = MIN (n_waiting, count_newer (ring, self->held_sequence));

      set_n_waiting (self, n_waiting);
    }

  /* At once, not at the next frame: an action must not run on counts a
   * frame old. */
  update_actions (self);
  schedule_update (self);
}

static void
on_shown_items_changed (GListModel *shown,
                        guint       position,
                        guint       removed,
                        guint       added,
                        SyLogPanel *self)
{
  if (self->following && added > 0)
    request_scroll_to_bottom (self);
  update_actions (self);
  schedule_update (self);
}

/* The list grew, shifted or changed size: while following, back to the
 * bottom. */
static void
on_vadjustment_changed (GtkAdjustment *adjustment,
                        SyLogPanel    *self)
{
  if (self->following && !at_bottom (self))
    request_scroll_to_bottom (self);
}

/* Everything but the rows, once per frame. */
static void
update_now (SyLogPanel *self)
{
  guint64 dropped = sy_log_model_get_dropped (self->model);
  g_autofree char *status = NULL;
  g_autofree char *dropped_text = NULL;
  g_autofree char *tooltip = NULL;
  guint n_shown;
  guint n_base;

  self->updating = TRUE;
  if (self->following)
    sy_log_view_sync (self->view);
  self->updating = FALSE;

  n_shown = g_list_model_get_n_items (G_LIST_MODEL (self->selection));
  n_base = g_list_model_get_n_items (G_LIST_MODEL (self->view));

  if (n_shown > 0)
    {
      gtk_stack_set_visible_child_name (self->stack, "list");
    }
  else
    {
      if (n_base == 0)
        {
          adw_status_page_set_title (self->empty_page, _("No Log Lines"));
          adw_status_page_set_description (self->empty_page,
                                           self->following
                                             ? _("Lines appear here as the server works.")
                                             : _("Following is paused."));
        }
      else
        {
          adw_status_page_set_title (self->empty_page, _("No Matching Lines"));
          adw_status_page_set_description (self->empty_page,
                                           _("Change the search or lower the level."));
        }
      gtk_stack_set_visible_child_name (self->stack, "empty");
    }

  if (!self->following && self->n_waiting > 0)
    {
      g_autofree char *label = NULL;

      label = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u new line", "%u new lines",
                                            self->n_waiting),
                               self->n_waiting);

      gtk_button_set_label (self->waiting_button, label);
      gtk_widget_set_visible (GTK_WIDGET (self->waiting_button), TRUE);
    }
  else
    {
      gtk_widget_set_visible (GTK_WIDGET (self->waiting_button), FALSE);
    }

  if (n_shown == n_base)
    status = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u line", "%u lines", n_shown),
                              n_shown);
  else
    status = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                           "%u of %u line", "%u of %u lines", n_base),
                              n_shown, n_base);
  gtk_label_set_label (self->status_label, status);

  /* The count of dropped lines is a string: gettext cannot see through
   * G_GUINT64_FORMAT. */
  dropped_text = g_strdup_printf ("%" G_GUINT64_FORMAT, dropped);
  tooltip = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                          "The log keeps the newest %u line; older lines dropped so far: %s",
                                          "The log keeps the newest %u lines; older lines dropped so far: %s",
                                          sy_log_model_get_capacity (self->model)),
                             sy_log_model_get_capacity (self->model), dropped_text);
  /* Setting a tooltip queries the pointer: only when it changes. */
  if (g_strcmp0 (gtk_widget_get_tooltip_text (GTK_WIDGET (self->status_label)), tooltip) != 0)
    gtk_widget_set_tooltip_text (GTK_WIDGET (self->status_label), tooltip);

  update_actions (self);
}

static gboolean
update_tick_cb (GtkWidget     *widget,
                GdkFrameClock *clock,
                gpointer       user_data)
{
  SyLogPanel *self = SY_LOG_PANEL (widget);

  self->tick_id = 0;
  update_now (self);

  return G_SOURCE_REMOVE;
}

static gboolean
update_timeout_cb (gpointer user_data)
{
  SyLogPanel *self = user_data;

  self->timeout_id = 0;
  update_now (self);

  return G_SOURCE_REMOVE;
}

/* Rows */

/* At most @max bytes of @text, cut at a character boundary, with an
 * ellipsis when cut. */
static char *
dup_clipped (const char *text,
             gsize       max)
{
  gsize len = strlen (text);
  const char *end;

  if (len <= max)
    return g_strdup (text);

  end = g_utf8_find_prev_char (text, text + max + 1);
  if (end == NULL)
    end = text;

  return g_strdup_printf ("%.*s…", (int) (end - text), text);
}

typedef struct
{
  GtkWidget *time;
  GtkWidget *level;
  GtkWidget *domain;
  GtkWidget *connection;
  GtkWidget *message;
} RowWidgets;

static void
get_row_widgets (GtkWidget  *box,
                 RowWidgets *row)
{
  row->time = gtk_widget_get_first_child (box);
  row->level = gtk_widget_get_next_sibling (row->time);
  row->domain = gtk_widget_get_next_sibling (row->level);
  row->connection = gtk_widget_get_next_sibling (row->domain);
  row->message = gtk_widget_get_next_sibling (row->connection);
}

/* Tooltips are computed when asked for, not set at bind time: setting a
 * tooltip makes GTK 4.8 query the pointer, a round trip to the X server,
 * and while following every visible row is bound again each frame. */
static gboolean
on_row_query_tooltip (GtkWidget   *box,
                      int          x,
                      int          y,
                      gboolean     keyboard_mode,
                      GtkTooltip  *tooltip,
                      GtkListItem *item)
{
  SyLogEntry *entry = gtk_list_item_get_item (item);
  GtkWidget *picked = NULL;
  g_autofree char *text = NULL;
  RowWidgets row;

  if (entry == NULL)
    return FALSE;

  get_row_widgets (box, &row);
  if (!keyboard_mode)
    picked = gtk_widget_pick (box, x, y, GTK_PICK_DEFAULT);

  if (picked != NULL && picked == row.domain)
    {
      text = g_strdup (sy_log_entry_get_domain (entry));
    }
  else if (picked != NULL && picked == row.connection)
    {
      g_autofree char *number = NULL;

      number = g_strdup_printf ("%" G_GUINT64_FORMAT, sy_log_entry_get_connection (entry));

      text = g_strdup_printf (_("About connection %s"), number);
    }
  else
    {
      text = dup_clipped (sy_log_entry_get_message (entry), TOOLTIP_TEXT_MAX);
    }

  gtk_tooltip_set_text (tooltip, text);

  return TRUE;
}

static void
on_setup_row (GtkSignalListItemFactory *factory,
              GtkListItem              *item,
              SyLogPanel               *self)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  GtkWidget *time = gtk_label_new (NULL);
  GtkWidget *level = gtk_label_new (NULL);
  GtkWidget *domain = gtk_label_new (NULL);
  GtkWidget *connection = gtk_label_new (NULL);
  GtkWidget *message = gtk_label_new (NULL);

  gtk_widget_set_margin_start (box, 6);
  gtk_widget_set_margin_end (box, 6);
  gtk_widget_set_has_tooltip (box, TRUE);
  g_signal_connect (box, "query-tooltip", G_CALLBACK (on_row_query_tooltip), item);

  /* Fixed widths keep the columns straight from row to row; the small
   * print of time, level and domain leaves the message the most room in a
   * side pane. All on one baseline. */
  gtk_label_set_xalign (GTK_LABEL (time), 0);
  gtk_widget_add_css_class (time, "caption");
  gtk_widget_add_css_class (time, "monospace");
  gtk_widget_add_css_class (time, "numeric");
  gtk_widget_add_css_class (time, "dim-label");

  gtk_label_set_xalign (GTK_LABEL (level), 0);
  gtk_label_set_width_chars (GTK_LABEL (level), 8);
  gtk_label_set_max_width_chars (GTK_LABEL (level), 8);
  gtk_label_set_ellipsize (GTK_LABEL (level), PANGO_ELLIPSIZE_END);

  gtk_label_set_xalign (GTK_LABEL (domain), 0);
  gtk_label_set_width_chars (GTK_LABEL (domain), 12);
  gtk_label_set_max_width_chars (GTK_LABEL (domain), 12);
  gtk_label_set_ellipsize (GTK_LABEL (domain), PANGO_ELLIPSIZE_MIDDLE);
  gtk_widget_add_css_class (domain, "caption");
  gtk_widget_add_css_class (domain, "dim-label");

  gtk_widget_add_css_class (connection, "caption");
  gtk_widget_add_css_class (connection, "monospace");
  gtk_widget_add_css_class (connection, "numeric");
  gtk_widget_set_visible (connection, FALSE);

  gtk_widget_set_valign (time, GTK_ALIGN_BASELINE);
  gtk_widget_set_valign (level, GTK_ALIGN_BASELINE);
  gtk_widget_set_valign (domain, GTK_ALIGN_BASELINE);
  gtk_widget_set_valign (connection, GTK_ALIGN_BASELINE);
  gtk_widget_set_valign (message, GTK_ALIGN_BASELINE);

  gtk_label_set_xalign (GTK_LABEL (message), 0);
  gtk_label_set_ellipsize (GTK_LABEL (message), PANGO_ELLIPSIZE_END);
  gtk_label_set_single_line_mode (GTK_LABEL (message), TRUE);
  gtk_widget_set_hexpand (message, TRUE);

  gtk_box_append (GTK_BOX (box), time);
  gtk_box_append (GTK_BOX (box), level);
  gtk_box_append (GTK_BOX (box), domain);
  gtk_box_append (GTK_BOX (box), connection);
  gtk_box_append (GTK_BOX (box), message);

  gtk_list_item_set_child (item, box);
}

static GQuark rank_quark;

/* HH:MM:SS.mmm in local time. The time zone is looked up once a minute,
 * not for every row: GLib checks the system's zone files each time it is
 * asked for the local one. */
static void
format_time (SyLogPanel *self,
             gint64      usec,
             char       *buffer,
             gsize       size)
{
  gint64 now = g_get_monotonic_time ();
  gint64 seconds = usec / G_USEC_PER_SEC;
  gint64 local;
  int interval;
  int of_day;

  if (self->time_zone == NULL || now - self->time_zone_checked > 60 * G_USEC_PER_SEC)
    {
      g_clear_pointer (&self->time_zone, g_time_zone_unref);
      self->time_zone = g_time_zone_new_local ();
      self->time_zone_checked = now;
    }

  interval = g_time_zone_find_interval (self->time_zone, G_TIME_TYPE_UNIVERSAL, seconds);
  local = seconds + (interval >= 0 ? g_time_zone_get_offset (self->time_zone, interval) : 0);
  of_day = (int) (((local % 86400) + 86400) % 86400);

  g_snprintf (buffer, size, "%02d:%02d:%02d.%03d",
              of_day / 3600, of_day / 60 % 60, of_day % 60,
              (int) ((usec % G_USEC_PER_SEC) / 1000));
}

static void
on_bind_row (GtkSignalListItemFactory *factory,
             GtkListItem              *item,
             SyLogPanel               *self)
{
  SyLogEntry *entry = gtk_list_item_get_item (item);
  gint64 t = sy_log_entry_get_time (entry);
  guint64 id = sy_log_entry_get_connection (entry);
  guint rank = level_rank (sy_log_entry_get_level (entry));
  g_autofree char *row_text = NULL;
  const char *message;
  char time_text[32];
  RowWidgets row;

  get_row_widgets (gtk_list_item_get_child (item), &row);

  format_time (self, t, time_text, sizeof time_text);
  gtk_label_set_label (GTK_LABEL (row.time), time_text);

  /* Error and critical in the error colour, warning in the warning
   * colour, the chatty levels dimmed. Styles are recomputed only when the
   * level changes: rows are bound again and again while following. */
  if (GPOINTER_TO_UINT (g_object_get_qdata (G_OBJECT (row.level), rank_quark)) != rank + 1)
    {
      const char *classes[] = { "caption", NULL, NULL };

      switch (rank)
        {
        case 0:
        case 1:
          classes[0] = "caption-heading";
          classes[1] = "error";
          break;
        case 2:
          classes[0] = "caption-heading";
          classes[1] = "warning";
          break;
        case 3:
          break;
        default:
          classes[1] = "dim-label";
          break;
        }
      gtk_label_set_label (GTK_LABEL (row.level), level_label (rank));
      gtk_widget_set_css_classes (row.level, classes);
      g_object_set_qdata (G_OBJECT (row.level), rank_quark, GUINT_TO_POINTER (rank + 1));
    }

  gtk_label_set_label (GTK_LABEL (row.domain), sy_log_entry_get_domain (entry));

  message = sy_log_entry_get_message (entry);
  if (id != 0)
    {
      char id_text[32];
      gsize length;

      length = (gsize) g_snprintf (id_text, sizeof id_text, "#%" G_GUINT64_FORMAT, id);
      gtk_label_set_label (GTK_LABEL (row.connection), id_text);
      /* Lines about a connection start with its label ("#5 127.0.0.1:…"):
       * the chip says "#5" already. */
      if (g_str_has_prefix (message, id_text) && message[length] == ' ')
        message += length + 1;
    }
  gtk_widget_set_visible (row.connection, id != 0);

  row_text = dup_clipped (message, ROW_TEXT_MAX);
  gtk_label_set_label (GTK_LABEL (row.message), row_text);
}

/* Filtering */

static void
on_search_changed (GtkSearchEntry *entry,
                   SyLogPanel     *self)
{
  const char *text = gtk_editable_get_text (GTK_EDITABLE (entry));
  g_autofree char *old = g_steal_pointer (&self->search);
  GtkFilterChange change;

  self->search = text[0] != '\0' ? g_utf8_casefold (text, -1) : NULL;
  self->search_len = self->search ? strlen (self->search) : 0;
  self->search_ascii = self->search ? g_str_is_ascii (self->search) : TRUE;

  if (g_strcmp0 (old, self->search) == 0)
    return;
  if (old == NULL)
    change = GTK_FILTER_CHANGE_MORE_STRICT;
  else if (self->search == NULL)
    change = GTK_FILTER_CHANGE_LESS_STRICT;
  else if (strstr (self->search, old) != NULL)
    change = GTK_FILTER_CHANGE_MORE_STRICT;
  else if (strstr (old, self->search) != NULL)
    change = GTK_FILTER_CHANGE_LESS_STRICT;
  else
    change = GTK_FILTER_CHANGE_DIFFERENT;

  if (self->filter != NULL)
    gtk_filter_changed (GTK_FILTER (self->filter), change);
  recount_waiting (self);
  schedule_update (self);
}

static void
on_level_selected (GtkDropDown *dropdown,
                   GParamSpec  *pspec,
                   SyLogPanel  *self)
{
  guint selected = gtk_drop_down_get_selected (dropdown);
  GtkFilterChange change;
  guint rank;

  if (selected >= G_N_ELEMENTS (levels))
    return;

  rank = level_rank (levels[selected]);
  if (rank == self->min_rank)
    return;

  /* A lower rank shows fewer levels. */
  change = rank < self->min_rank ? GTK_FILTER_CHANGE_MORE_STRICT : GTK_FILTER_CHANGE_LESS_STRICT;
  self->min_rank = rank;
  if (self->filter != NULL)
    gtk_filter_changed (GTK_FILTER (self->filter), change);
  recount_waiting (self);
  schedule_update (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MIN_LEVEL]);
}

/* Following */

static void
pause_automatically (SyLogPanel *self)
{
  if (!self->following)
    return;

  sy_log_panel_set_following (self, FALSE);
  self->auto_paused = TRUE;
}

/* Scrolling up by hand pauses; scrolling on down past the bottom of what
 * an automatic pause held resumes. */
static gboolean
on_scroll (GtkEventControllerScroll *controller,
           double                    dx,
           double                    dy,
           SyLogPanel               *self)
{
  GtkAdjustment *adjustment = gtk_scrolled_window_get_vadjustment (self->scrolled_window);
  gboolean scrollable = gtk_adjustment_get_upper (adjustment) > gtk_adjustment_get_page_size (adjustment);

  if (dy < 0 && scrollable)
    pause_automatically (self);
  else if (dy > 0 && !self->following && self->auto_paused && at_bottom (self))
    sy_log_panel_set_following (self, TRUE);

  return FALSE;
}

static gboolean
on_list_key_pressed (GtkEventControllerKey *controller,
                     guint                  keyval,
                     guint                  keycode,
                     GdkModifierType        state,
                     SyLogPanel            *self)
{
  switch (keyval)
    {
    case GDK_KEY_Up:
    case GDK_KEY_KP_Up:
    case GDK_KEY_Page_Up:
    case GDK_KEY_KP_Page_Up:
    case GDK_KEY_Home:
    case GDK_KEY_KP_Home:
      pause_automatically (self);
      break;

    default:
      break;
    }

  return FALSE;
}

static void
on_scrollbar_pressed (GtkGestureClick *gesture,
                      int              n_press,
                      double           x,
                      double           y,
                      SyLogPanel      *self)
{
  pause_automatically (self);
}

static void
on_touch_drag_update (GtkGestureDrag *gesture,
                      double          offset_x,
                      double          offset_y,
                      SyLogPanel     *self)
{
  if (offset_y > 0)
    pause_automatically (self);
}

static void
on_waiting_clicked (GtkButton  *button,
                    SyLogPanel *self)
{
  sy_log_panel_set_following (self, TRUE);
}

/* Actions */

static void
toast (SyLogPanel *self,
       const char *text)
{
  /* Toast titles are markup; a failed save quotes a path. */
  g_autofree char *escaped = g_markup_escape_text (text, -1);
  AdwToast *toast = adw_toast_new (escaped);

  adw_toast_set_timeout (toast, 3);
  adw_toast_overlay_add_toast (self->toast_overlay, toast);
}

static void
copy_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  SyLogPanel *self = SY_LOG_PANEL (widget);
  GListModel *shown = G_LIST_MODEL (self->selection);
  g_autoptr(GtkBitset) selected = gtk_selection_model_get_selection (GTK_SELECTION_MODEL (shown));
  g_autoptr(GString) text = g_string_new (NULL);
  g_autofree char *done = NULL;
  GtkBitsetIter iter;
  guint position;
  guint n = 0;

  for (gboolean more = gtk_bitset_iter_init_first (&iter, selected, &position);
       more;
       more = gtk_bitset_iter_next (&iter, &position))
    {
      g_autoptr(SyLogEntry) entry = g_list_model_get_item (shown, position);
      g_autofree char *line = NULL;

      if (entry == NULL)
        continue;

      line = sy_log_entry_format (entry);
      if (n++ > 0)
        g_string_append_c (text, '\n');
      g_string_append (text, line);
    }

  if (n == 0)
    return;

  gdk_clipboard_set_text (gtk_widget_get_clipboard (widget), text->str);
  done = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u line copied", "%u lines copied", n), n);
  toast (self, done);
}

static void
clear_action (GtkWidget  *widget,
              const char *action_name,
              GVariant   *parameter)
{
  SyLogPanel *self = SY_LOG_PANEL (widget);

  /* While paused, only entries that arrive from now on count as new. */
  if (!self->following)
    self->held_sequence = MAX (self->held_sequence, newest_sequence (G_LIST_MODEL (self->model)));

  sy_log_model_clear (self->model);
  sy_log_view_clear (self->view);
  set_n_waiting (self, 0);
  schedule_update (self);
}

static void
on_saved (GObject      *object,
          GAsyncResult *result,
          gpointer      user_data)
{
  SyLogPanel *self = SY_LOG_PANEL (object);
  g_autoptr(GError) error = NULL;

  if (!sy_log_panel_save_to_file_finish (self, result, &error))
    {
      g_autofree char *message = NULL;

      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;

      message = g_strdup_printf (_("Could not save the log: %s"), error->message);
      toast (self, message);
      return;
    }

  toast (self, _("Log saved"));
}

static void
on_chooser_response (GtkNativeDialog *chooser,
                     int              response,
                     SyLogPanel      *self)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));

      if (file != NULL)
        sy_log_panel_save_to_file_async (self, file, self->cancellable, on_saved, NULL);
    }

  gtk_native_dialog_destroy (chooser);
  g_clear_object (&self->chooser);
}

static void
save_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  SyLogPanel *self = SY_LOG_PANEL (widget);
  GtkRoot *root = gtk_widget_get_root (widget);
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *name = g_date_time_format (now, "switchyard-%Y%m%d-%H%M%S.log");

  if (self->chooser == NULL)
    {
      self->chooser = gtk_file_chooser_native_new (_("Save Log"),
                                                   GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                                   GTK_FILE_CHOOSER_ACTION_SAVE,
                                                   _("_Save"),
                                                   _("_Cancel"));
      gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (self->chooser), TRUE);
      gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (self->chooser), name);
      g_signal_connect (self->chooser, "response", G_CALLBACK (on_chooser_response), self);
    }

  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

static void
focus_search_action (GtkWidget  *widget,
                     const char *action_name,
                     GVariant   *parameter)
{
  SyLogPanel *self = SY_LOG_PANEL (widget);

  gtk_widget_grab_focus (GTK_WIDGET (self->search_entry));
}

/* Saving */

typedef struct
{
  GPtrArray *entries;
  GFile     *file;
} SaveJob;

static void
save_job_free (gpointer data)
{
  SaveJob *job = data;

  g_ptr_array_unref (job->entries);
  g_object_unref (job->file);
  g_free (job);
}

/* Formatting thousands of lines takes longer than a frame: it happens in a
 * worker thread, on entries that never change once written. */
static void
save_thread (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  SaveJob *job = task_data;
  g_autoptr(GString) text = g_string_sized_new (job->entries->len * 96 + 1);
  GError *error = NULL;

  for (guint i = 0; i < job->entries->len; i++)
    {
      g_autofree char *line = sy_log_entry_format (g_ptr_array_index (job->entries, i));

      g_string_append (text, line);
      g_string_append_c (text, '\n');

      if (i % 1024 == 1023 && g_task_return_error_if_cancelled (task))
        return;
    }

  if (!g_file_replace_contents (job->file, text->str, text->len, NULL, FALSE,
                                G_FILE_CREATE_NONE, NULL, cancellable, &error))
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

/**
 * sy_log_panel_save_to_file_async:
 * @self: a #SyLogPanel
 * @file: where to write
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when the file is written
 * @user_data: closure data
 *
 * Writes the lines the panel shows now (after the level filter and the
 * search, as sy_log_entry_format() formats them, one per line) to @file,
 * replacing it. Lines that arrive meanwhile are not included.
 */
void
sy_log_panel_save_to_file_async (SyLogPanel          *self,
                                 GFile               *file,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  GListModel *shown;
  SaveJob *job;
  guint n;

  g_return_if_fail (SY_IS_LOG_PANEL (self));
  g_return_if_fail (G_IS_FILE (file));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  shown = G_LIST_MODEL (self->selection);
  n = g_list_model_get_n_items (shown);
  job = g_new0 (SaveJob, 1);
  job->entries = g_ptr_array_new_full (n, g_object_unref);
  job->file = g_object_ref (file);
  for (guint i = 0; i < n; i++)
    g_ptr_array_add (job->entries, g_list_model_get_item (shown, i));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, sy_log_panel_save_to_file_async);
  g_task_set_task_data (task, job, save_job_free);
  g_task_run_in_thread (task, save_thread);
}

/**
 * sy_log_panel_save_to_file_finish:
 * @self: a #SyLogPanel
 * @result: the result given to the callback
 * @error: return location for a #GError
 *
 * Returns: %TRUE if the file was written
 */
gboolean
sy_log_panel_save_to_file_finish (SyLogPanel    *self,
                                  GAsyncResult  *result,
                                  GError       **error)
{
  g_return_val_if_fail (SY_IS_LOG_PANEL (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == sy_log_panel_save_to_file_async,
                        FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/* GtkWidget */

static void
sy_log_panel_realize (GtkWidget *widget)
{
  SyLogPanel *self = SY_LOG_PANEL (widget);

  GTK_WIDGET_CLASS (sy_log_panel_parent_class)->realize (widget);

  self->frame_clock = gtk_widget_get_frame_clock (widget);
  g_signal_connect (self->frame_clock, "after-paint", G_CALLBACK (on_after_paint), self);
  if (self->scroll_pending)
    request_scroll_to_bottom (self);

  /* From now on there are frames: move a pending slow update to the next
   * one. */
  if (self->timeout_id != 0)
    {
      g_clear_handle_id (&self->timeout_id, g_source_remove);
      schedule_update (self);
    }
}

static void
sy_log_panel_unrealize (GtkWidget *widget)
{
  SyLogPanel *self = SY_LOG_PANEL (widget);

  if (self->frame_clock != NULL)
    g_signal_handlers_disconnect_by_func (self->frame_clock, on_after_paint, self);
  self->frame_clock = NULL;

  GTK_WIDGET_CLASS (sy_log_panel_parent_class)->unrealize (widget);
}

/* GObject */

static void
sy_log_panel_constructed (GObject *object)
{
  SyLogPanel *self = SY_LOG_PANEL (object);
  GtkAdjustment *adjustment;
  GtkWidget *scrollbar;
  GtkGesture *press;
  GtkGesture *drag;

  G_OBJECT_CLASS (sy_log_panel_parent_class)->constructed (object);

  /* Built from a .ui file without a model: an empty ring of its own. */
  if (self->model == NULL)
    self->model = g_object_new (SY_TYPE_LOG_MODEL, NULL);

  self->view = sy_log_view_new (G_LIST_MODEL (self->model));
  self->filter = gtk_custom_filter_new (filter_func, self, NULL);
  self->filtered = gtk_filter_list_model_new (g_object_ref (G_LIST_MODEL (self->view)),
                                              g_object_ref (GTK_FILTER (self->filter)));
  self->selection = gtk_multi_selection_new (g_object_ref (G_LIST_MODEL (self->filtered)));
  gtk_list_view_set_model (self->list_view, GTK_SELECTION_MODEL (self->selection));

  g_signal_connect (self->model, "items-changed", G_CALLBACK (on_ring_items_changed), self);
  g_signal_connect (self->selection, "items-changed", G_CALLBACK (on_shown_items_changed), self);
  g_signal_connect (self->selection, "selection-changed", G_CALLBACK (on_selection_changed), self);

  /* "changed" when rows come or the view is resized, "value-changed" when
   * the rows above the view leave (the ring is full) and the list keeps
   * its rows in place. */
  adjustment = gtk_scrolled_window_get_vadjustment (self->scrolled_window);
  g_signal_connect_object (adjustment, "changed", G_CALLBACK (on_vadjustment_changed), self, 0);
  g_signal_connect_object (adjustment, "value-changed",
                           G_CALLBACK (on_vadjustment_changed), self, 0);

  /* Grabbing the scrollbar is scrolling by hand too. */
  scrollbar = gtk_scrolled_window_get_vscrollbar (self->scrolled_window);
  press = gtk_gesture_click_new ();
  gtk_event_controller_set_propagation_phase (GTK_EVENT_CONTROLLER (press), GTK_PHASE_CAPTURE);
  g_signal_connect (press, "pressed", G_CALLBACK (on_scrollbar_pressed), self);
  gtk_widget_add_controller (scrollbar, GTK_EVENT_CONTROLLER (press));

  /* So is a finger pulling the lines down on a touchscreen. It only
   * watches: the scrolled window's own gesture does the scrolling. */
  drag = gtk_gesture_drag_new ();
  gtk_gesture_single_set_touch_only (GTK_GESTURE_SINGLE (drag), TRUE);
  gtk_event_controller_set_propagation_phase (GTK_EVENT_CONTROLLER (drag), GTK_PHASE_CAPTURE);
  g_signal_connect (drag, "drag-update", G_CALLBACK (on_touch_drag_update), self);
  gtk_widget_add_controller (GTK_WIDGET (self->scrolled_window), GTK_EVENT_CONTROLLER (drag));

  g_object_bind_property (self, "following", self->follow_button, "active",
                          G_BINDING_BIDIRECTIONAL | G_BINDING_SYNC_CREATE);

  self->scroll_pending = TRUE;
  update_now (self);
}

static void
sy_log_panel_dispose (GObject *object)
{
  SyLogPanel *self = SY_LOG_PANEL (object);

  g_cancellable_cancel (self->cancellable);
  if (self->chooser != NULL)
    {
      gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->chooser));
      g_clear_object (&self->chooser);
    }
  if (self->tick_id != 0)
    {
      gtk_widget_remove_tick_callback (GTK_WIDGET (self), self->tick_id);
      self->tick_id = 0;
    }
  g_clear_handle_id (&self->timeout_id, g_source_remove);
  if (self->model != NULL)
    g_signal_handlers_disconnect_by_data (self->model, self);
  if (self->selection != NULL)
    g_signal_handlers_disconnect_by_data (self->selection, self);
  if (self->list_view != NULL)
    gtk_list_view_set_model (self->list_view, NULL);
  if (self->filter != NULL)
    gtk_custom_filter_set_filter_func (self->filter, NULL, NULL, NULL);

  /* The template's root is AdwBin's child: let AdwBin drop it first, or
   * both would unparent it. */
  adw_bin_set_child (ADW_BIN (self), NULL);
  gtk_widget_dispose_template (GTK_WIDGET (self), SY_TYPE_LOG_PANEL);

  g_clear_object (&self->selection);
  g_clear_object (&self->filtered);
  g_clear_object (&self->filter);
  g_clear_object (&self->view);
  g_clear_object (&self->model);

  G_OBJECT_CLASS (sy_log_panel_parent_class)->dispose (object);
}

static void
sy_log_panel_finalize (GObject *object)
{
  SyLogPanel *self = SY_LOG_PANEL (object);

  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->search, g_free);
  g_clear_pointer (&self->time_zone, g_time_zone_unref);

  G_OBJECT_CLASS (sy_log_panel_parent_class)->finalize (object);
}

static void
sy_log_panel_get_property (GObject    *object,
                           guint       prop_id,
                           GValue     *value,
                           GParamSpec *pspec)
{
  SyLogPanel *self = SY_LOG_PANEL (object);

  switch (prop_id)
    {
    case PROP_MODEL:
      g_value_set_object (value, self->model);
      break;

    case PROP_FOLLOWING:
      g_value_set_boolean (value, self->following);
      break;

    case PROP_MIN_LEVEL:
      g_value_set_uint (value, sy_log_panel_get_min_level (self));
      break;

    case PROP_N_WAITING:
      g_value_set_uint (value, self->n_waiting);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sy_log_panel_set_property (GObject      *object,
                           guint         prop_id,
                           const GValue *value,
                           GParamSpec   *pspec)
{
  SyLogPanel *self = SY_LOG_PANEL (object);

  switch (prop_id)
    {
    case PROP_MODEL:
      self->model = g_value_dup_object (value);
      break;

    case PROP_FOLLOWING:
      sy_log_panel_set_following (self, g_value_get_boolean (value));
      break;

    case PROP_MIN_LEVEL:
      sy_log_panel_set_min_level (self, g_value_get_uint (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sy_log_panel_class_init (SyLogPanelClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->constructed = sy_log_panel_constructed;
  object_class->dispose = sy_log_panel_dispose;
  object_class->finalize = sy_log_panel_finalize;
  object_class->get_property = sy_log_panel_get_property;
  object_class->set_property = sy_log_panel_set_property;

  widget_class->realize = sy_log_panel_realize;
  widget_class->unrealize = sy_log_panel_unrealize;

  /**
   * SyLogPanel:model:
   *
   * The log ring shown.
   */
  properties[PROP_MODEL] =
    g_param_spec_object ("model", NULL, NULL,
                         SY_TYPE_LOG_MODEL,
                         (G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS));

  /**
   * SyLogPanel:following:
   *
   * Whether new lines show as they arrive, keeping the newest in view.
   * When %FALSE, the lines shown hold still and new ones wait.
   */
  properties[PROP_FOLLOWING] =
    g_param_spec_boolean ("following", NULL, NULL,
                          TRUE,
                          (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  /**
   * SyLogPanel:min-level:
   *
   * The least severe #GLogLevelFlags shown.
   */
  properties[PROP_MIN_LEVEL] =
    g_param_spec_uint ("min-level", NULL, NULL,
                       0, G_MAXUINT, G_LOG_LEVEL_INFO,
                       (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  /**
   * SyLogPanel:n-waiting:
   *
   * While paused, how many new lines that pass the filter wait to be
   * shown.
   */
  properties[PROP_N_WAITING] =
    g_param_spec_uint ("n-waiting", NULL, NULL,
                       0, G_MAXUINT, 0,
                       (G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);

  rank_quark = g_quark_from_static_string ("sy-log-panel-rank");

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/switchyard/Switchyard/sy-log-panel.ui");
  gtk_widget_class_bind_template_child (widget_class, SyLogPanel, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, SyLogPanel, search_entry);
  gtk_widget_class_bind_template_child (widget_class, SyLogPanel, level_dropdown);
  gtk_widget_class_bind_template_child (widget_class, SyLogPanel, stack);
  gtk_widget_class_bind_template_child (widget_class, SyLogPanel, scrolled_window);
  gtk_widget_class_bind_template_child (widget_class, SyLogPanel, scroll_controller);
  gtk_widget_class_bind_template_child (widget_class, SyLogPanel, list_view);
  gtk_widget_class_bind_template_child (widget_class, SyLogPanel, empty_page);
  gtk_widget_class_bind_template_child (widget_class, SyLogPanel, waiting_button);
  gtk_widget_class_bind_template_child (widget_class, SyLogPanel, follow_button);
  gtk_widget_class_bind_template_child (widget_class, SyLogPanel, status_label);
  gtk_widget_class_bind_template_callback (widget_class, on_search_changed);
  gtk_widget_class_bind_template_callback (widget_class, on_level_selected);
  gtk_widget_class_bind_template_callback (widget_class, on_scroll);
  gtk_widget_class_bind_template_callback (widget_class, on_setup_row);
  gtk_widget_class_bind_template_callback (widget_class, on_bind_row);
  gtk_widget_class_bind_template_callback (widget_class, on_list_key_pressed);
  gtk_widget_class_bind_template_callback (widget_class, on_waiting_clicked);

  gtk_widget_class_install_action (widget_class, "log.copy", NULL, copy_action);
  gtk_widget_class_install_action (widget_class, "log.save", NULL, save_action);
  gtk_widget_class_install_action (widget_class, "log.clear", NULL, clear_action);
  gtk_widget_class_install_action (widget_class, "log.focus-search", NULL, focus_search_action);

  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_c, GDK_CONTROL_MASK, "log.copy", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_f, GDK_CONTROL_MASK,
                                       "log.focus-search", NULL);
}

static void
sy_log_panel_init (SyLogPanel *self)
{
  self->following = TRUE;
  self->cancellable = g_cancellable_new ();
  /* The template selects the same level. */
  self->min_rank = level_rank (levels[DEFAULT_LEVEL_INDEX]);

  gtk_widget_init_template (GTK_WIDGET (self));
}

/**
 * sy_log_panel_new:
 * @model: the log ring to show, usually sy_log_get_model()
 *
 * Returns: (transfer floating): a new #SyLogPanel
 */
GtkWidget *
sy_log_panel_new (SyLogModel *model)
{
  g_return_val_if_fail (SY_IS_LOG_MODEL (model), NULL);

  return g_object_new (SY_TYPE_LOG_PANEL, "model", model, NULL);
}

/**
 * sy_log_panel_get_model:
 * @self: a #SyLogPanel
 *
 * Returns: (transfer none): the log ring shown
 */
SyLogModel *
sy_log_panel_get_model (SyLogPanel *self)
{
  g_return_val_if_fail (SY_IS_LOG_PANEL (self), NULL);
  return self->model;
}

/**
 * sy_log_panel_get_shown:
 * @self: a #SyLogPanel
 *
 * The entries the list shows, in order: the ring (or, while paused, what
 * it held), filtered by level and search.
 *
 * Returns: (transfer none): a #GListModel of #SyLogEntry
 */
GListModel *
sy_log_panel_get_shown (SyLogPanel *self)
{
  g_return_val_if_fail (SY_IS_LOG_PANEL (self), NULL);
  return G_LIST_MODEL (self->selection);
}

/**
 * sy_log_panel_get_min_level:
 * @self: a #SyLogPanel
 *
 * Returns: the least severe level shown
 */
GLogLevelFlags
sy_log_panel_get_min_level (SyLogPanel *self)
{
  guint selected;

  g_return_val_if_fail (SY_IS_LOG_PANEL (self), 0);

  selected = gtk_drop_down_get_selected (self->level_dropdown);

  return levels[selected < G_N_ELEMENTS (levels) ? selected : DEFAULT_LEVEL_INDEX];
}

/**
 * sy_log_panel_set_min_level:
 * @self: a #SyLogPanel
 * @level: the least severe level to show; error counts as critical
 */
void
sy_log_panel_set_min_level (SyLogPanel     *self,
                            GLogLevelFlags  level)
{
  guint rank;
  guint index = 0;

  g_return_if_fail (SY_IS_LOG_PANEL (self));

  rank = MAX (level_rank (level), level_rank (G_LOG_LEVEL_CRITICAL));
  for (guint i = 0; i < G_N_ELEMENTS (levels); i++)
    if (level_rank (levels[i]) == rank)
      index = i;

  gtk_drop_down_set_selected (self->level_dropdown, index);
}

gboolean
sy_log_panel_get_following (SyLogPanel *self)
{
  g_return_val_if_fail (SY_IS_LOG_PANEL (self), FALSE);
  return self->following;
}

/**
 * sy_log_panel_set_following:
 * @self: a #SyLogPanel
 * @following: whether to follow new lines
 *
 * Pausing holds the lines shown as they are; following again shows every
 * line that arrived meanwhile and scrolls to the newest.
 */
void
sy_log_panel_set_following (SyLogPanel *self,
                            gboolean    following)
{
  g_return_if_fail (SY_IS_LOG_PANEL (self));

  following = !!following;
  if (self->following == following)
    return;

  self->following = following;
  self->auto_paused = FALSE;

  if (self->view != NULL)
    {
      if (following)
        {
          /* Catch up at once. */
          sy_log_view_sync (self->view);
          request_scroll_to_bottom (self);
          set_n_waiting (self, 0);
        }
      else
        {
          /* What is shown stays; what the ring got since the last frame
           * already waits. */
          self->held_sequence = sy_log_view_get_newest_sequence (self->view);
          recount_waiting (self);
        }
    }

  schedule_update (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FOLLOWING]);
}

/**
 * sy_log_panel_get_n_waiting:
 * @self: a #SyLogPanel
 *
 * Returns: while paused, how many new lines that pass the filter wait
 */
guint
sy_log_panel_get_n_waiting (SyLogPanel *self)
{
  g_return_val_if_fail (SY_IS_LOG_PANEL (self), 0);
  return self->n_waiting;
}
