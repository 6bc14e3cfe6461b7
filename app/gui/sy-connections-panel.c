/* sy-connections-panel.c
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "sy-connections-panel"

#include "config.h"

#include <glib/gi18n.h>

#include "sy-connection-info.h"
#include "sy-connections-panel.h"

/*
 * The live connections as a sortable table. The rows are the server's
 * SyConnectionInfo objects on this thread; their figures change in place
 * with property notifications (at most four times a second, from the
 * server's stats tick), and each visible cell follows its own property. The
 * GtkColumnView only makes widgets for the rows on screen, so hundreds of
 * connections cost a screenful of labels.
 *
 * Two things are not notifications: the durations ("connected for", and how
 * long a program-backed connection's process has run), and the
 * sort order of figures that moved. Both are looked at once a second while
 * the panel is mapped, and only the rows on screen are relabelled.
 */

#define TICK_SECONDS 1

typedef char *(*FormatFunc) (SyConnectionInfo *info);

typedef struct
{
  /* The column's id, its cells' widget name, and the property it shows
   * (NULL if none: the duration is computed). */
  const char *id;
  const char *title;
  const char *property;
  /* What the column sorts by: @property, or this. */
  const char *sort_property;
  FormatFunc  format;
  guint       numeric : 1;
  guint       descending : 1;
  /* Takes the room left over, and is shortened to fit. */
  guint       expand : 1;
} ColumnSpec;

struct _SyConnectionsPanel
{
  AdwBin              parent_instance;

  /* Template widgets */
  GtkStack           *stack;
  GtkColumnView      *column_view;
  GMenuModel         *row_menu;

  /* Owned */
  SyServer           *server;
  GtkSortListModel   *sorted;
  GtkSingleSelection *selection;
  GtkWidget          *row_popover;
  /* The bound list items of the "connected for" column. */
  GHashTable         *durations;
  guint               tick_id;

  /* Borrowed */
  GtkWidget          *dialog;
  guint64             dialog_id;
};

G_DEFINE_FINAL_TYPE (SyConnectionsPanel, sy_connections_panel, ADW_TYPE_BIN)

enum {
  PROP_0,
  PROP_SERVER,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static GQuark spec_quark;

/* Cell texts */

static char *
format_peer (SyConnectionInfo *info)
{
  return g_strdup (sy_connection_info_get_peer (info));
}

static char *
format_subprotocol (SyConnectionInfo *info)
{
  return g_strdup (sy_connection_info_get_subprotocol (info));
}

static char *
format_origin (SyConnectionInfo *info)
{
  const char *origin = sy_connection_info_get_origin (info);

  /* Clients that are not browsers send no Origin. */
  return g_strdup (origin != NULL && *origin != '\0' ? origin : "—");
}

static char *
format_role (SyConnectionInfo *info)
{
  switch (sy_connection_info_get_role (info))
    {
    case SY_ROLE_CONTROL:
      return g_strdup (C_("role", "Control"));
    case SY_ROLE_VIEW:
      return g_strdup (C_("role", "View"));
    case SY_ROLE_NONE:
    default:
      return g_strdup (C_("role", "None"));
    }
}

static char *
format_span (gint64 since)
{
  guint64 seconds = (guint64) MAX (0, g_get_real_time () - since) / G_USEC_PER_SEC;

  if (seconds < 60)
    /* Translators: how long a connection has been open, in seconds. */
    return g_strdup_printf (_("%u s"), (guint) seconds);
  if (seconds < 60 * 60)
    /* Translators: how long a connection has been open: minutes and seconds. */
    return g_strdup_printf (_("%u min %u s"), (guint) (seconds / 60), (guint) (seconds % 60));
  if (seconds < 24 * 60 * 60)
    /* Translators: how long a connection has been open: hours and minutes. */
    return g_strdup_printf (_("%u h %u min"),
                            (guint) (seconds / 3600), (guint) (seconds % 3600 / 60));

  /* Translators: how long a connection has been open: days and hours. */
  return g_strdup_printf (_("%u d %u h"),
                          (guint) (seconds / 86400), (guint) (seconds % 86400 / 3600));
}

static char *
format_duration (SyConnectionInfo *info)
{
  return format_span (sy_connection_info_get_connected_since (info));
}

static char *
format_messages_in (SyConnectionInfo *info)
{
  return g_strdup_printf ("%" G_GUINT64_FORMAT, sy_connection_info_get_messages_in (info));
}

static char *
format_messages_out (SyConnectionInfo *info)
{
  return g_strdup_printf ("%" G_GUINT64_FORMAT, sy_connection_info_get_messages_out (info));
}

static char *
format_bytes_in (SyConnectionInfo *info)
{
  return g_format_size (sy_connection_info_get_bytes_in (info));
}

static char *
format_bytes_out (SyConnectionInfo *info)
{
  return g_format_size (sy_connection_info_get_bytes_out (info));
}

static char *
format_rtt (SyConnectionInfo *info)
{
  gint64 rtt = sy_connection_info_get_rtt (info);

  /* No pong yet. */
  if (rtt < 0)
    return g_strdup ("—");
  if (rtt < 1000)
    /* Translators: a round-trip time in microseconds. */
    return g_strdup_printf (_("%u µs"), (guint) rtt);
  if (rtt < 10 * 1000)
    /* Translators: a round-trip time in milliseconds, with one decimal. */
    return g_strdup_printf (_("%.1f ms"), rtt / 1000.0);

  /* Translators: a round-trip time in whole milliseconds. */
  return g_strdup_printf (_("%.0f ms"), rtt / 1000.0);
}

static char *
format_queued (SyConnectionInfo *info)
{
  return g_strdup_printf ("%u", sy_connection_info_get_queued (info));
}

static char *
format_process (SyConnectionInfo *info)
{
  int pid = sy_connection_info_get_process_id (info);

  /* Only program-backed subprotocols have one. */
  return pid > 0 ? g_strdup_printf ("%d", pid) : g_strdup ("—");
}

static char *
format_process_running (SyConnectionInfo *info)
{
  gint64 started = sy_connection_info_get_process_started (info);

  if (sy_connection_info_get_process_id (info) <= 0 || started <= 0)
    return g_strdup ("—");

  return format_span (started);
}

static const ColumnSpec columns[] = {
  { "peer", N_("Peer"), "peer", NULL, format_peer, FALSE, FALSE, FALSE },
  { "subprotocol", N_("Subprotocol"), "subprotocol", NULL, format_subprotocol, FALSE, FALSE, FALSE },
  { "role", N_("Role"), "role", NULL, format_role, FALSE, FALSE, FALSE },
  { "origin", N_("Origin"), "origin", NULL, format_origin, FALSE, FALSE, TRUE },
  /* Longest open first when descending: the earliest start. */
  { "connected-for", N_("Connected For"), NULL, "connected-since", format_duration, TRUE, TRUE, FALSE },
  { "messages-in", N_("Messages In"), "messages-in", NULL, format_messages_in, TRUE, FALSE, FALSE },
  { "messages-out", N_("Messages Out"), "messages-out", NULL, format_messages_out, TRUE, FALSE, FALSE },
  { "bytes-in", N_("Bytes In"), "bytes-in", NULL, format_bytes_in, TRUE, FALSE, FALSE },
  { "bytes-out", N_("Bytes Out"), "bytes-out", NULL, format_bytes_out, TRUE, FALSE, FALSE },
  { "rtt", N_("Round Trip"), "rtt", NULL, format_rtt, TRUE, FALSE, FALSE },
  { "queued", N_("Queued"), "queued", NULL, format_queued, TRUE, FALSE, FALSE },
  /* Program-backed subprotocols: the process and how long it has run. */
  { "process", N_("Process"), "process-id", NULL, format_process, TRUE, FALSE, FALSE },
  { "process-running", N_("Process Running"), NULL, "process-started", format_process_running,
    TRUE, TRUE, FALSE },
};

/* Closing */

static void
close_action (GtkWidget  *widget,
              const char *action_name,
              GVariant   *parameter)
{
  SyConnectionsPanel *self = SY_CONNECTIONS_PANEL (widget);
  const char *reason;
  guint64 id;

  g_variant_get (parameter, "(t&s)", &id, &reason);
  g_message ("closing connection #%" G_GUINT64_FORMAT " by the operator: %s", id, reason);
  sy_server_close_connection (self->server, id, SY_CLOSE_BY_OPERATOR,
                              *reason != '\0' ? reason : NULL);
}

typedef struct
{
  GWeakRef panel;
  guint64  id;
} CloseRequest;

static void
close_request_free (gpointer  data,
                    GClosure *closure)
{
  CloseRequest *request = data;

  g_weak_ref_clear (&request->panel);
  g_free (request);
}

static void
on_dialog_response (AdwMessageDialog *dialog,
                    const char       *response,
                    CloseRequest     *request)
{
  g_autoptr(SyConnectionsPanel) self = g_weak_ref_get (&request->panel);
  GtkEditable *entry = GTK_EDITABLE (adw_message_dialog_get_extra_child (dialog));

  if (self == NULL || g_strcmp0 (response, "close") != 0)
    return;

  gtk_widget_activate_action (GTK_WIDGET (self), "connections.close", "(ts)",
                              request->id, gtk_editable_get_text (entry));
}

static void
clear_dialog (SyConnectionsPanel *self)
{
  GtkWidget *dialog = self->dialog;

  if (dialog == NULL)
    return;

  g_object_remove_weak_pointer (G_OBJECT (dialog), (gpointer *) &self->dialog);
  self->dialog = NULL;
  gtk_window_destroy (GTK_WINDOW (dialog));
}

static void
ask_close (SyConnectionsPanel *self,
           SyConnectionInfo   *info)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
  g_autofree char *body = NULL;
  CloseRequest *request;
  GtkWidget *entry;
  GtkWidget *dialog;

  clear_dialog (self);

  /* Translators: the first %s is a peer address, the second a subprotocol. */
  body = g_strdup_printf (_("The client at %s (%s) will be disconnected with code 4001 "
                            "and this reason."),
                          sy_connection_info_get_peer (info),
                          sy_connection_info_get_subprotocol (info));
  dialog = adw_message_dialog_new (GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                   _("Close Connection?"), body);
  gtk_window_set_destroy_with_parent (GTK_WINDOW (dialog), TRUE);

  entry = gtk_entry_new ();
  gtk_editable_set_text (GTK_EDITABLE (entry), _("Closed by the operator"));
  /* A close frame carries at most 123 bytes of reason; the server clips
   * longer ones at a character boundary. */
  gtk_entry_set_max_length (GTK_ENTRY (entry), 123);
  gtk_entry_set_activates_default (GTK_ENTRY (entry), TRUE);
  gtk_accessible_update_property (GTK_ACCESSIBLE (entry),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, _("Reason"),
                                  -1);
  adw_message_dialog_set_extra_child (ADW_MESSAGE_DIALOG (dialog), entry);

  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog),
                                    "cancel", _("_Cancel"),
                                    "close", _("_Close Connection"),
                                    NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "close",
                                              ADW_RESPONSE_DESTRUCTIVE);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "close");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "cancel");

  request = g_new0 (CloseRequest, 1);
  g_weak_ref_init (&request->panel, self);
  request->id = sy_connection_info_get_id (info);
  g_signal_connect_data (dialog, "response", G_CALLBACK (on_dialog_response), request,
                         close_request_free, G_CONNECT_DEFAULT);

  self->dialog = dialog;
  self->dialog_id = request->id;
  g_object_add_weak_pointer (G_OBJECT (dialog), (gpointer *) &self->dialog);
  gtk_window_present (GTK_WINDOW (dialog));
  gtk_widget_grab_focus (entry);
}

static void
ask_close_action (GtkWidget  *widget,
                  const char *action_name,
                  GVariant   *parameter)
{
  SyConnectionsPanel *self = SY_CONNECTIONS_PANEL (widget);
  GListModel *connections = sy_server_get_connections (self->server);
  guint64 id = g_variant_get_uint64 (parameter);

  for (guint i = 0; i < g_list_model_get_n_items (connections); i++)
    {
      g_autoptr(SyConnectionInfo) info = g_list_model_get_item (connections, i);

      if (sy_connection_info_get_id (info) == id)
        {
          ask_close (self, info);
          return;
        }
    }
}

static void
ask_close_selected_action (GtkWidget  *widget,
                           const char *action_name,
                           GVariant   *parameter)
{
  SyConnectionsPanel *self = SY_CONNECTIONS_PANEL (widget);
  SyConnectionInfo *info = gtk_single_selection_get_selected_item (self->selection);

  if (info != NULL)
    ask_close (self, info);
}

/* Cells */

static void
on_info_notify (SyConnectionInfo *info,
                GParamSpec       *pspec,
                GtkLabel         *label)
{
  const ColumnSpec *spec = g_object_get_qdata (G_OBJECT (label), spec_quark);
  g_autofree char *text = spec->format (info);

  gtk_label_set_label (label, text);
}

typedef struct
{
  SyConnectionsPanel *self;
  const ColumnSpec   *spec;
} Column;

static void
column_free (gpointer  data,
             GClosure *closure)
{
  g_free (data);
}

static void
on_cell_pressed (GtkGestureClick *gesture,
                 int              n_press,
                 double           x,
                 double           y,
                 GtkListItem     *list_item)
{
  GtkWidget *cell = gtk_event_controller_get_widget (GTK_EVENT_CONTROLLER (gesture));
  GtkWidget *panel = gtk_widget_get_ancestor (cell, SY_TYPE_CONNECTIONS_PANEL);
  guint position = gtk_list_item_get_position (list_item);
  SyConnectionsPanel *self;
  graphene_point_t point;

  if (panel == NULL || position == GTK_INVALID_LIST_POSITION)
    return;

  self = SY_CONNECTIONS_PANEL (panel);
  gtk_gesture_set_state (GTK_GESTURE (gesture), GTK_EVENT_SEQUENCE_CLAIMED);
  gtk_selection_model_select_item (GTK_SELECTION_MODEL (self->selection), position, TRUE);

  if (!gtk_widget_compute_point (cell, panel, &GRAPHENE_POINT_INIT (x, y), &point))
    return;
  gtk_popover_set_pointing_to (GTK_POPOVER (self->row_popover),
                               &(GdkRectangle) { (int) point.x, (int) point.y, 1, 1 });
  gtk_popover_popup (GTK_POPOVER (self->row_popover));
}

static void
setup_cell (GtkSignalListItemFactory *factory,
            GtkListItem              *list_item,
            Column                   *column)
{
  const ColumnSpec *spec = column->spec;
  GtkWidget *label = gtk_label_new (NULL);
  GtkGesture *gesture;

  /* The name says which column a cell is in (tests look for it). */
  gtk_widget_set_name (label, spec->id);
  g_object_set_qdata (G_OBJECT (label), spec_quark, (gpointer) spec);
  if (spec->numeric)
    {
      gtk_label_set_xalign (GTK_LABEL (label), 1.0);
      gtk_widget_add_css_class (label, "numeric");
    }
  else
    {
      gtk_label_set_xalign (GTK_LABEL (label), 0.0);
    }

  /* Only the origin (a whole URL, sent by the client) may be long enough
   * to shorten; a peer's address is never cut. */
  if (spec->expand)
    {
      gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_END);
      gtk_label_set_width_chars (GTK_LABEL (label), 10);
    }

  /* A context menu on the row, whichever cell is clicked. */
  gesture = gtk_gesture_click_new ();
  gtk_gesture_single_set_button (GTK_GESTURE_SINGLE (gesture), GDK_BUTTON_SECONDARY);
  g_signal_connect (gesture, "pressed", G_CALLBACK (on_cell_pressed), list_item);
  gtk_widget_add_controller (label, GTK_EVENT_CONTROLLER (gesture));

  gtk_list_item_set_child (list_item, label);
}

static void
bind_cell (GtkSignalListItemFactory *factory,
           GtkListItem              *list_item,
           Column                   *column)
{
  const ColumnSpec *spec = column->spec;
  SyConnectionInfo *info = gtk_list_item_get_item (list_item);
  GtkWidget *label = gtk_list_item_get_child (list_item);
  g_autofree char *text = spec->format (info);

  gtk_label_set_label (GTK_LABEL (label), text);

  if (spec->property != NULL)
    {
      g_autofree char *signal = g_strconcat ("notify::", spec->property, NULL);

      /* Tied to the label as well: should a label go without an unbind,
       * its handler goes with it. */
      g_signal_connect_object (info, signal, G_CALLBACK (on_info_notify), label, G_CONNECT_DEFAULT);
    }
  else
    {
      /* Computed from the clock: relabelled by the tick. */
      g_hash_table_insert (column->self->durations, list_item, (gpointer) spec);
    }
}

static void
unbind_cell (GtkSignalListItemFactory *factory,
             GtkListItem              *list_item,
             Column                   *column)
{
  SyConnectionInfo *info = gtk_list_item_get_item (list_item);
  GtkWidget *label = gtk_list_item_get_child (list_item);

  if (column->spec->property != NULL)
    {
      if (info != NULL)
        g_signal_handlers_disconnect_by_func (info, on_info_notify, label);
    }
  else if (column->self->durations != NULL)
    {
      g_hash_table_remove (column->self->durations, list_item);
    }
}

static void
setup_close (GtkSignalListItemFactory *factory,
             GtkListItem              *list_item,
             gpointer                  user_data)
{
  GtkWidget *button = gtk_button_new_from_icon_name ("window-close-symbolic");

  gtk_widget_set_name (button, "close");
  gtk_widget_set_tooltip_text (button, _("Close Connection…"));
  gtk_widget_set_halign (button, GTK_ALIGN_CENTER);
  gtk_widget_set_valign (button, GTK_ALIGN_CENTER);
  gtk_widget_add_css_class (button, "flat");
  gtk_widget_add_css_class (button, "circular");
  /* The row is selected by the keyboard, the button by a pointer. */
  gtk_widget_set_focus_on_click (button, FALSE);
  gtk_list_item_set_child (list_item, button);
}

static void
bind_close (GtkSignalListItemFactory *factory,
            GtkListItem              *list_item,
            gpointer                  user_data)
{
  SyConnectionInfo *info = gtk_list_item_get_item (list_item);
  GtkWidget *button = gtk_list_item_get_child (list_item);
  g_autofree char *label = NULL;

  /* The target first: the action takes one. */
  gtk_actionable_set_action_target_value (GTK_ACTIONABLE (button),
                                          g_variant_new_uint64 (sy_connection_info_get_id (info)));
  gtk_actionable_set_action_name (GTK_ACTIONABLE (button), "connections.ask-close");
  /* Translators: an accessible name; %s is a peer address. */
  label = g_strdup_printf (_("Close the connection from %s"), sy_connection_info_get_peer (info));
  gtk_accessible_update_property (GTK_ACCESSIBLE (button),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, label,
                                  -1);
}

static GtkSorter *
column_sorter (const ColumnSpec *spec)
{
  const char *property = spec->sort_property != NULL ? spec->sort_property : spec->property;
  GtkExpression *expression = gtk_property_expression_new (SY_TYPE_CONNECTION_INFO, NULL, property);
  GParamSpec *pspec = gtk_property_expression_get_pspec (expression);
  GtkSorter *sorter;

  g_assert (pspec != NULL);

  if (pspec->value_type == G_TYPE_STRING)
    return GTK_SORTER (gtk_string_sorter_new (expression));

  sorter = GTK_SORTER (gtk_numeric_sorter_new (expression));
  if (spec->descending)
    gtk_numeric_sorter_set_sort_order (GTK_NUMERIC_SORTER (sorter), GTK_SORT_DESCENDING);

  return sorter;
}

static void
add_columns (SyConnectionsPanel *self)
{
  GtkListItemFactory *factory;
  GtkColumnViewColumn *column;

  for (guint i = 0; i < G_N_ELEMENTS (columns); i++)
    {
      Column *data = g_new0 (Column, 1);

      data->self = self;
      data->spec = &columns[i];

      factory = gtk_signal_list_item_factory_new ();
      g_signal_connect (factory, "setup", G_CALLBACK (setup_cell), data);
      g_signal_connect (factory, "bind", G_CALLBACK (bind_cell), data);
      g_signal_connect_data (factory, "unbind", G_CALLBACK (unbind_cell), data,
                             column_free, G_CONNECT_DEFAULT);

      column = gtk_column_view_column_new (_(columns[i].title), factory);
      gtk_column_view_column_set_sorter (column, column_sorter (&columns[i]));
      gtk_column_view_column_set_resizable (column, TRUE);
      gtk_column_view_column_set_expand (column, columns[i].expand);
      gtk_column_view_append_column (self->column_view, column);
      g_object_unref (column);
    }

  factory = gtk_signal_list_item_factory_new ();
  g_signal_connect (factory, "setup", G_CALLBACK (setup_close), NULL);
  g_signal_connect (factory, "bind", G_CALLBACK (bind_close), NULL);
  column = gtk_column_view_column_new (NULL, factory);
  gtk_column_view_append_column (self->column_view, column);
  g_object_unref (column);
}

/* Live updates */

static void
update_durations (SyConnectionsPanel *self)
{
  GHashTableIter iter;
  gpointer key;
  gpointer value;

  g_hash_table_iter_init (&iter, self->durations);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      GtkListItem *list_item = key;
      const ColumnSpec *spec = value;
      SyConnectionInfo *info = gtk_list_item_get_item (list_item);
      g_autofree char *text = NULL;

      if (info == NULL)
        continue;

      text = spec->format (info);
      gtk_label_set_label (GTK_LABEL (gtk_list_item_get_child (list_item)), text);
    }
}

/* GtkSortListModel sorts when rows come and go or the sorter changes, not
 * when a figure it sorted by moves. One pass over neighbours tells whether
 * the order still holds; only if not is everything sorted again. */
static void
resort_if_stale (SyConnectionsPanel *self)
{
  GtkSorter *sorter = gtk_column_view_get_sorter (self->column_view);
  GListModel *model = G_LIST_MODEL (self->sorted);
  g_autoptr(GObject) previous = NULL;
  guint n;

  if (sorter == NULL || gtk_sorter_get_order (sorter) == GTK_SORTER_ORDER_NONE)
    return;

  n = g_list_model_get_n_items (model);
  if (n < 2)
    return;

  previous = g_list_model_get_item (model, 0);
  for (guint i = 1; i < n; i++)
    {
      g_autoptr(GObject) item = g_list_model_get_item (model, i);

      if (gtk_sorter_compare (sorter, previous, item) == GTK_ORDERING_LARGER)
        {
          gtk_sorter_changed (sorter, GTK_SORTER_CHANGE_DIFFERENT);
          return;
        }
      g_set_object (&previous, item);
    }
}

static gboolean
tick_cb (gpointer data)
{
  SyConnectionsPanel *self = data;

  update_durations (self);
  resort_if_stale (self);

  return G_SOURCE_CONTINUE;
}

static void
on_connections_changed (SyConnectionsPanel *self,
                        guint               position,
                        guint               removed,
                        guint               added,
                        GListModel         *connections)
{
  guint n = g_list_model_get_n_items (connections);

  gtk_stack_set_visible_child_name (self->stack, n == 0 ? "empty" : "connections");

  /* Do not ask about a connection that has gone meanwhile. */
  if (self->dialog != NULL && removed > 0)
    {
      for (guint i = 0; i < n; i++)
        {
          g_autoptr(SyConnectionInfo) info = g_list_model_get_item (connections, i);

          if (sy_connection_info_get_id (info) == self->dialog_id)
            return;
        }
      clear_dialog (self);
    }
}

/* GtkWidget */

static void
sy_connections_panel_map (GtkWidget *widget)
{
  SyConnectionsPanel *self = SY_CONNECTIONS_PANEL (widget);

  GTK_WIDGET_CLASS (sy_connections_panel_parent_class)->map (widget);

  /* Hidden, nothing ticks; shown again, nothing is a second stale. */
  update_durations (self);
  resort_if_stale (self);
  g_clear_handle_id (&self->tick_id, g_source_remove);
  self->tick_id = g_timeout_add_seconds (TICK_SECONDS, tick_cb, self);
  g_source_set_static_name (g_main_context_find_source_by_id (NULL, self->tick_id),
                            "[sy-connections-panel] tick");
}

static void
sy_connections_panel_unmap (GtkWidget *widget)
{
  SyConnectionsPanel *self = SY_CONNECTIONS_PANEL (widget);

  g_clear_handle_id (&self->tick_id, g_source_remove);

  GTK_WIDGET_CLASS (sy_connections_panel_parent_class)->unmap (widget);
}

/* GObject */

static void
sy_connections_panel_constructed (GObject *object)
{
  SyConnectionsPanel *self = (SyConnectionsPanel *)object;
  GListModel *connections;
  GtkSorter *sorter;

  G_OBJECT_CLASS (sy_connections_panel_parent_class)->constructed (object);

  g_assert (SY_IS_SERVER (self->server));

  connections = sy_server_get_connections (self->server);
  sorter = gtk_column_view_get_sorter (self->column_view);
  self->sorted = gtk_sort_list_model_new (g_object_ref (connections), g_object_ref (sorter));
  self->selection = gtk_single_selection_new (g_object_ref (G_LIST_MODEL (self->sorted)));
  gtk_single_selection_set_autoselect (self->selection, FALSE);
  gtk_single_selection_set_can_unselect (self->selection, TRUE);
  gtk_column_view_set_model (self->column_view, GTK_SELECTION_MODEL (self->selection));

  g_signal_connect_object (connections, "items-changed", G_CALLBACK (on_connections_changed), self,
                           G_CONNECT_SWAPPED);
  on_connections_changed (self, 0, 0, 0, connections);
}

static void
sy_connections_panel_dispose (GObject *object)
{
  SyConnectionsPanel *self = (SyConnectionsPanel *)object;

  g_clear_handle_id (&self->tick_id, g_source_remove);
  clear_dialog (self);
  g_clear_pointer (&self->row_popover, gtk_widget_unparent);

  if (self->column_view != NULL)
    gtk_column_view_set_model (self->column_view, NULL);
  /* AdwBin unparents its child in its own dispose: let go of it first, so
   * that the template's disposal does not leave AdwBin a dead pointer. */
  adw_bin_set_child (ADW_BIN (self), NULL);
  gtk_widget_dispose_template (GTK_WIDGET (self), SY_TYPE_CONNECTIONS_PANEL);

  g_clear_pointer (&self->durations, g_hash_table_unref);
  g_clear_object (&self->selection);
  g_clear_object (&self->sorted);
  g_clear_object (&self->server);

  G_OBJECT_CLASS (sy_connections_panel_parent_class)->dispose (object);
}

static void
sy_connections_panel_get_property (GObject    *object,
                                   guint       prop_id,
                                   GValue     *value,
                                   GParamSpec *pspec)
{
  SyConnectionsPanel *self = SY_CONNECTIONS_PANEL (object);

  switch (prop_id)
    {
    case PROP_SERVER:
      g_value_set_object (value, self->server);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sy_connections_panel_set_property (GObject      *object,
                                   guint         prop_id,
                                   const GValue *value,
                                   GParamSpec   *pspec)
{
  SyConnectionsPanel *self = SY_CONNECTIONS_PANEL (object);

  switch (prop_id)
    {
    case PROP_SERVER:
      self->server = g_value_dup_object (value);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sy_connections_panel_class_init (SyConnectionsPanelClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->constructed = sy_connections_panel_constructed;
  object_class->dispose = sy_connections_panel_dispose;
  object_class->get_property = sy_connections_panel_get_property;
  object_class->set_property = sy_connections_panel_set_property;

  widget_class->map = sy_connections_panel_map;
  widget_class->unmap = sy_connections_panel_unmap;

  /**
   * SyConnectionsPanel:server:
   *
   * The server whose connections are shown.
   */
  properties[PROP_SERVER] =
    g_param_spec_object ("server", NULL, NULL,
                         SY_TYPE_SERVER,
                         (G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);

  spec_quark = g_quark_from_static_string ("sy-connections-panel-column");

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/switchyard/Switchyard/sy-connections-panel.ui");
  gtk_widget_class_bind_template_child (widget_class, SyConnectionsPanel, stack);
  gtk_widget_class_bind_template_child (widget_class, SyConnectionsPanel, column_view);
  gtk_widget_class_bind_template_child (widget_class, SyConnectionsPanel, row_menu);

  /**
   * SyConnectionsPanel|connections.close:
   * @parameter: `(ts)`: the connection's id and the reason
   *
   * Closes a connection with code 4001 (closed by the operator), at once.
   */
  gtk_widget_class_install_action (widget_class, "connections.close", "(ts)", close_action);
  /* Asks for a reason first. */
  gtk_widget_class_install_action (widget_class, "connections.ask-close", "t", ask_close_action);
  gtk_widget_class_install_action (widget_class, "connections.ask-close-selected", NULL,
                                   ask_close_selected_action);

  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Delete, 0,
                                       "connections.ask-close-selected", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_KP_Delete, 0,
                                       "connections.ask-close-selected", NULL);
}

static void
sy_connections_panel_init (SyConnectionsPanel *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  self->durations = g_hash_table_new (NULL, NULL);
  add_columns (self);

  self->row_popover = gtk_popover_menu_new_from_model (self->row_menu);
  gtk_popover_set_has_arrow (GTK_POPOVER (self->row_popover), FALSE);
  gtk_widget_set_halign (self->row_popover, GTK_ALIGN_START);
  gtk_widget_set_parent (self->row_popover, GTK_WIDGET (self));
}

/**
 * sy_connections_panel_new:
 * @server: the server whose connections to show
 *
 * A table of @server's live connections, sortable by every column, with a
 * way to close each one (code 4001 and the operator's reason). Its actions:
 * `connections.close` `(ts)` closes at once, `connections.ask-close` `t`
 * asks for a reason first, `connections.ask-close-selected` (Delete) asks
 * about the selected row.
 *
 * Returns: (transfer floating): a new #SyConnectionsPanel
 */
GtkWidget *
sy_connections_panel_new (SyServer *server)
{
  g_return_val_if_fail (SY_IS_SERVER (server), NULL);

  return g_object_new (SY_TYPE_CONNECTIONS_PANEL, "server", server, NULL);
}
