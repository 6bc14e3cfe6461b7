/* test-connections-panel.c
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <adwaita.h>
#include <string.h>

#include "sy-connection-info.h"
#include "sy-connections-panel.h"
#include "sy-gui-test-utils.h"
#include "sy-program-protocol.h"
#include "sy-test-utils.h"

#define ECHO "switchyard.echo.v1"
#define CAT  "cat.v1"

typedef struct
{
  SyServer           *server;
  SoupSession        *session;
  GtkWindow          *window;
  SyConnectionsPanel *panel;
  GtkColumnView      *view;
  GListModel         *shown;
  GListModel         *connections;
} Fixture;

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  f->server = sy_test_server_new ();
  /* With data, a program-backed subprotocol too: `cat` behind cat.v1. */
  if (data != NULL)
    {
      const char * const argv[] = { "cat", NULL };
      g_autoptr(SySubprotocol) cat = sy_program_protocol_new (CAT, argv, SY_PROGRAM_MODE_PER_CONNECTION,
                                                              SY_ROLE_VIEW, FALSE);

      sy_server_add_subprotocol (f->server, cat);
    }
  sy_test_server_start (f->server);
  f->session = sy_test_session_new ();
  f->connections = sy_server_get_connections (f->server);

  f->window = GTK_WINDOW (gtk_window_new ());
  gtk_window_set_default_size (f->window, 1200, 600);
  f->panel = SY_CONNECTIONS_PANEL (sy_connections_panel_new (f->server));
  g_object_add_weak_pointer (G_OBJECT (f->panel), (gpointer *) &f->panel);
  gtk_window_set_child (f->window, GTK_WIDGET (f->panel));
  gtk_window_present (f->window);

  f->view = GTK_COLUMN_VIEW (gtk_widget_get_template_child (GTK_WIDGET (f->panel),
                                                            SY_TYPE_CONNECTIONS_PANEL,
                                                            "column_view"));
  g_assert_nonnull (f->view);
  /* What the view shows, in its order: the sorted model behind the selection. */
  f->shown = G_LIST_MODEL (gtk_column_view_get_model (f->view));
  g_assert_nonnull (f->shown);

  WAIT_UNTIL (gtk_widget_get_mapped (GTK_WIDGET (f->panel)), 10000);
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  gtk_window_destroy (f->window);
  /* Nothing (a dialog, a timer, a closure) keeps the panel alive. */
  WAIT_UNTIL (f->panel == NULL, 5000);

  sy_server_stop (f->server);
  g_assert_finalize_object (f->session);
  g_assert_finalize_object (f->server);
}

/* Widget tree */

static GtkWidget *
find_label (GtkWidget  *root,
            const char *text)
{
  if (GTK_IS_LABEL (root) && gtk_widget_get_mapped (root) &&
      g_strcmp0 (gtk_label_get_label (GTK_LABEL (root)), text) == 0)
    return root;

  for (GtkWidget *child = gtk_widget_get_first_child (root); child; child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = find_label (child, text);

      if (found != NULL)
        return found;
    }

  return NULL;
}

/* The row widget showing @info, found by its peer cell, or NULL. */
static GtkWidget *
row_of (Fixture          *f,
        SyConnectionInfo *info)
{
  GtkWidget *widget = find_label (GTK_WIDGET (f->view), sy_connection_info_get_peer (info));

  while (widget != NULL && g_strcmp0 (gtk_widget_get_css_name (widget), "row") != 0)
    widget = gtk_widget_get_parent (widget);

  return widget;
}

/* The text the view shows in @info's row for the column @column (the cells'
 * widget names are the columns' ids), or NULL while that row is not shown. */
static const char *
cell_text (Fixture          *f,
           SyConnectionInfo *info,
           const char       *column)
{
  GtkWidget *row = row_of (f, info);
  GtkWidget *cell;

  if (row == NULL)
    return NULL;

  cell = sy_test_find_named (row, column);
  g_assert_nonnull (cell);
  g_assert_true (GTK_IS_LABEL (cell));

  return gtk_label_get_label (GTK_LABEL (cell));
}

static gboolean
cell_is (Fixture          *f,
         SyConnectionInfo *info,
         const char       *column,
         const char       *expected)
{
  return g_strcmp0 (cell_text (f, info, column), expected) == 0;
}

static double
row_y (Fixture          *f,
       SyConnectionInfo *info)
{
  GtkWidget *row = row_of (f, info);
  graphene_point_t point;

  g_assert_nonnull (row);
  g_assert_true (gtk_widget_compute_point (row, GTK_WIDGET (f->view), &GRAPHENE_POINT_INIT (0, 0), &point));

  return point.y;
}

static const char *
visible_page (Fixture *f)
{
  GtkStack *stack = GTK_STACK (gtk_widget_get_template_child (GTK_WIDGET (f->panel), SY_TYPE_CONNECTIONS_PANEL,
                                                              "stack"));

  return gtk_stack_get_visible_child_name (stack);
}

static GtkColumnViewColumn *
column_titled (Fixture    *f,
               const char *title)
{
  GListModel *columns = gtk_column_view_get_columns (f->view);

  for (guint i = 0; i < g_list_model_get_n_items (columns); i++)
    {
      g_autoptr(GtkColumnViewColumn) column = g_list_model_get_item (columns, i);

      if (g_strcmp0 (gtk_column_view_column_get_title (column), title) == 0)
        return column;
    }

  g_error ("no column titled %s", title);
}

static SyConnectionInfo *
shown_item (Fixture *f,
            guint    position)
{
  g_autoptr(SyConnectionInfo) info = g_list_model_get_item (f->shown, position);

  /* The server's model keeps it alive. */
  return info;
}

/* Clients */

typedef struct
{
  SoupWebsocketConnection *ws;
  SyConnectionInfo        *info;
  guint                    received;
} Client;

static void
on_client_message (SoupWebsocketConnection *ws,
                   gint                     type,
                   GBytes                  *message,
                   Client                  *client)
{
  client->received++;
}

/* Connects an echo client and waits for its row in the server's model. */
static void
client_connect (Fixture *f,
                Client  *client)
{
  g_autoptr(GError) error = NULL;
  guint before = g_list_model_get_n_items (f->connections);

  client->ws = sy_test_connect (f->session, f->server, ECHO, &error);
  g_assert_no_error (error);
  g_signal_connect (client->ws, "message", G_CALLBACK (on_client_message), client);

  WAIT_UNTIL (g_list_model_get_n_items (f->connections) == before + 1, 10000);
  client->info = g_list_model_get_item (f->connections, before);
  g_assert_cmpstr (sy_connection_info_get_subprotocol (client->info), ==, ECHO);
}

/* Sends @n messages and waits for their echoes and for the panel's figures. */
static void
client_send (Client *client,
             guint   n)
{
  guint expected = client->received + n;
  guint64 in = sy_connection_info_get_messages_in (client->info) + n;

  for (guint i = 0; i < n; i++)
    soup_websocket_connection_send_text (client->ws, "hello");

  WAIT_UNTIL (client->received == expected, 10000);
  WAIT_UNTIL (sy_connection_info_get_messages_in (client->info) == in, 10000);
}

static void
client_clear (Client *client)
{
  if (client->ws != NULL)
    {
      g_signal_handlers_disconnect_by_data (client->ws, client);
      sy_test_close_and_wait (client->ws);
    }
  g_clear_object (&client->ws);
  g_clear_object (&client->info);
}

static gboolean
is_seconds (const char *text)
{
  return text != NULL && g_regex_match_simple ("^[0-9]+ s$", text, 0, 0);
}

static AdwMessageDialog *
find_dialog (void)
{
  g_autoptr(GList) toplevels = gtk_window_list_toplevels ();

  for (GList *l = toplevels; l != NULL; l = l->next)
    if (ADW_IS_MESSAGE_DIALOG (l->data) && gtk_widget_get_visible (l->data))
      return l->data;

  return NULL;
}

static GtkWidget *
find_button (GtkWidget  *root,
             const char *label)
{
  if (GTK_IS_BUTTON (root) && g_strcmp0 (gtk_button_get_label (GTK_BUTTON (root)), label) == 0)
    return root;

  for (GtkWidget *child = gtk_widget_get_first_child (root); child; child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = find_button (child, label);

      if (found != NULL)
        return found;
    }

  return NULL;
}

/* Answers as a person does, with the dialog's own button. */
static void
respond (AdwMessageDialog *dialog,
         const char       *label)
{
  GtkWidget *button = find_button (GTK_WIDGET (dialog), label);

  g_assert_nonnull (button);
  g_assert_true (gtk_widget_activate (button));
}

/* What a secondary-button press on @widget sets off. */
static void
right_click (GtkWidget *widget)
{
  g_autoptr(GListModel) controllers = gtk_widget_observe_controllers (widget);

  g_assert_nonnull (widget);
  for (guint i = 0; i < g_list_model_get_n_items (controllers); i++)
    {
      g_autoptr(GtkEventController) controller = g_list_model_get_item (controllers, i);

      if (GTK_IS_GESTURE_CLICK (controller) &&
          gtk_gesture_single_get_button (GTK_GESTURE_SINGLE (controller)) == GDK_BUTTON_SECONDARY)
        {
          g_signal_emit_by_name (controller, "pressed", 1, 4.0, 4.0);
          return;
        }
    }

  g_error ("no secondary-button gesture on %s", gtk_widget_get_name (widget));
}

/* Tests */

static void
test_rows_and_close (Fixture       *f,
                     gconstpointer  data)
{
  Client a = { 0 }, b = { 0 };
  g_autofree char *bytes = NULL;
  g_autofree char *first = NULL;
  const char *role;

  /* Nothing yet: a status page, not an empty table. */
  g_assert_cmpstr (visible_page (f), ==, "empty");
  g_assert_cmpuint (g_list_model_get_n_items (f->shown), ==, 0);

  /* A real client: its row, with its peer and subprotocol. */
  client_connect (f, &a);
  g_assert_true (g_str_has_prefix (sy_connection_info_get_peer (a.info), "127.0.0.1:"));
  WAIT_UNTIL (g_list_model_get_n_items (f->shown) == 1, 5000);
  g_assert_true (shown_item (f, 0) == a.info);
  g_assert_cmpstr (visible_page (f), ==, "connections");
  WAIT_UNTIL (cell_is (f, a.info, "subprotocol", ECHO), 5000);
  g_assert_cmpstr (cell_text (f, a.info, "peer"), ==, sy_connection_info_get_peer (a.info));
  role = sy_connection_info_get_role (a.info) == SY_ROLE_CONTROL ? "Control" : "View";
  g_assert_cmpstr (cell_text (f, a.info, "role"), ==, role);
  g_assert_cmpstr (cell_text (f, a.info, "messages-in"), ==, "0");
  g_assert_cmpstr (cell_text (f, a.info, "rtt"), ==, "—");
  g_assert_cmpstr (cell_text (f, a.info, "queued"), ==, "0");

  /* Numbers are right-aligned in tabular figures. */
  g_assert_true (gtk_widget_has_css_class (sy_test_find_named (row_of (f, a.info), "messages-in"), "numeric"));
  g_assert_cmpfloat (gtk_label_get_xalign (GTK_LABEL (sy_test_find_named (row_of (f, a.info), "bytes-out"))), ==, 1.0);

  /* The duration counts on by itself, with no traffic. */
  first = g_strdup (cell_text (f, a.info, "connected-for"));
  g_assert_true (is_seconds (first));
  WAIT_UNTIL (g_strcmp0 (cell_text (f, a.info, "connected-for"), first) != 0, 3000);
  g_assert_true (is_seconds (cell_text (f, a.info, "connected-for")));

  /* Traffic shows in the row as the server reports it. */
  client_send (&a, 5);
  WAIT_UNTIL (cell_is (f, a.info, "messages-in", "5"), 5000);
  WAIT_UNTIL (cell_is (f, a.info, "messages-out", "5"), 5000);
  g_assert_cmpuint (sy_connection_info_get_bytes_in (a.info), >=, 25);
  bytes = g_format_size (sy_connection_info_get_bytes_in (a.info));
  g_assert_cmpstr (cell_text (f, a.info, "bytes-in"), ==, bytes);

  /* A second client, which must not be touched by closing the first. */
  client_connect (f, &b);
  WAIT_UNTIL (g_list_model_get_n_items (f->shown) == 2, 5000);
  WAIT_UNTIL (cell_is (f, b.info, "subprotocol", ECHO), 5000);

  /* The operator closes the first one from the panel, with a reason. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->panel), "connections.close", "(ts)",
                                             sy_connection_info_get_id (a.info), "Maintenance window"));
  WAIT_UNTIL (soup_websocket_connection_get_state (a.ws) == SOUP_WEBSOCKET_STATE_CLOSED, 10000);
  g_assert_cmpuint (soup_websocket_connection_get_close_code (a.ws), ==, 4001);
  g_assert_cmpstr (soup_websocket_connection_get_close_data (a.ws), ==, "Maintenance window");

  /* Its row goes; the other stays, open and working. */
  WAIT_UNTIL (g_list_model_get_n_items (f->shown) == 1, 5000);
  g_assert_true (shown_item (f, 0) == b.info);
  WAIT_UNTIL (row_of (f, a.info) == NULL, 5000);
  g_assert_cmpint (soup_websocket_connection_get_state (b.ws), ==, SOUP_WEBSOCKET_STATE_OPEN);
  client_send (&b, 3);
  WAIT_UNTIL (cell_is (f, b.info, "messages-in", "3"), 5000);
  g_assert_cmpint (soup_websocket_connection_get_state (b.ws), ==, SOUP_WEBSOCKET_STATE_OPEN);

  /* An unknown id is not an error, and closes nothing. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->panel), "connections.close", "(ts)",
                                             G_GUINT64_CONSTANT (999999), "Nobody"));
  client_send (&b, 1);
  WAIT_UNTIL (cell_is (f, b.info, "messages-in", "4"), 5000);
  g_assert_cmpint (soup_websocket_connection_get_state (b.ws), ==, SOUP_WEBSOCKET_STATE_OPEN);

  /* The last one leaves: the status page is back. */
  client_clear (&b);
  WAIT_UNTIL (g_list_model_get_n_items (f->shown) == 0, 10000);
  WAIT_UNTIL (g_strcmp0 (visible_page (f), "empty") == 0, 5000);

  client_clear (&a);
}

static void
test_close_dialog (Fixture       *f,
                   gconstpointer  data)
{
  Client a = { 0 }, b = { 0 }, c = { 0 };
  AdwMessageDialog *dialog;
  GtkPopover *popover;
  GtkWidget *button;
  GtkEditable *entry;
  GtkSelectionModel *selection = gtk_column_view_get_model (f->view);

  client_connect (f, &a);
  client_connect (f, &b);
  WAIT_UNTIL (cell_is (f, a.info, "subprotocol", ECHO) && cell_is (f, b.info, "subprotocol", ECHO), 5000);

  /* The close button of a's row asks first, with a default reason. */
  button = sy_test_find_named (row_of (f, a.info), "close");
  g_assert_nonnull (button);
  g_assert_true (GTK_IS_BUTTON (button));
  g_assert_true (gtk_widget_activate (button));
  WAIT_UNTIL ((dialog = find_dialog ()) != NULL, 5000);
  entry = GTK_EDITABLE (adw_message_dialog_get_extra_child (dialog));
  g_assert_cmpstr (gtk_editable_get_text (entry), ==, "Closed by the operator");
  g_assert_cmpint (adw_message_dialog_get_response_appearance (dialog, "close"), ==,
                   ADW_RESPONSE_DESTRUCTIVE);

  /* Cancel closes nothing. */
  respond (dialog, "_Cancel");
  WAIT_UNTIL (find_dialog () == NULL, 5000);

  /* Asked again, the operator writes a reason and confirms. Requests reach
   * the server in order: had Cancel closed it, the reason would differ. */
  g_assert_true (gtk_widget_activate (button));
  WAIT_UNTIL ((dialog = find_dialog ()) != NULL, 5000);
  entry = GTK_EDITABLE (adw_message_dialog_get_extra_child (dialog));
  gtk_editable_set_text (entry, "Rebooting the rack");
  respond (dialog, "_Close Connection");
  WAIT_UNTIL (soup_websocket_connection_get_state (a.ws) == SOUP_WEBSOCKET_STATE_CLOSED, 10000);
  g_assert_cmpuint (soup_websocket_connection_get_close_code (a.ws), ==, 4001);
  g_assert_cmpstr (soup_websocket_connection_get_close_data (a.ws), ==, "Rebooting the rack");
  WAIT_UNTIL (g_list_model_get_n_items (f->shown) == 1, 5000);
  g_assert_cmpint (soup_websocket_connection_get_state (b.ws), ==, SOUP_WEBSOCKET_STATE_OPEN);

  /* A connection that goes while the dialog is open takes the dialog along. */
  client_connect (f, &c);
  WAIT_UNTIL (cell_is (f, c.info, "subprotocol", ECHO), 5000);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->panel), "connections.ask-close", "t",
                                             sy_connection_info_get_id (c.info)));
  WAIT_UNTIL (find_dialog () != NULL, 5000);
  client_clear (&c);
  WAIT_UNTIL (find_dialog () == NULL, 5000);
  g_assert_cmpuint (g_list_model_get_n_items (f->shown), ==, 1);

  /* A right click on b's row selects it and offers the menu. */
  popover = GTK_POPOVER (gtk_widget_get_last_child (GTK_WIDGET (f->panel)));
  g_assert_true (GTK_IS_POPOVER_MENU (popover));
  g_assert_false (gtk_widget_get_visible (GTK_WIDGET (popover)));
  right_click (sy_test_find_named (row_of (f, b.info), "queued"));
  g_assert_true (gtk_single_selection_get_selected_item (GTK_SINGLE_SELECTION (selection)) == b.info);
  WAIT_UNTIL (gtk_widget_get_mapped (GTK_WIDGET (popover)), 5000);
  gtk_popover_popdown (popover);

  /* Its item (and Delete) asks about the selected row; the default reason. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->panel), "connections.ask-close-selected", NULL));
  WAIT_UNTIL ((dialog = find_dialog ()) != NULL, 5000);
  respond (dialog, "_Close Connection");
  WAIT_UNTIL (soup_websocket_connection_get_state (b.ws) == SOUP_WEBSOCKET_STATE_CLOSED, 10000);
  g_assert_cmpuint (soup_websocket_connection_get_close_code (b.ws), ==, 4001);
  g_assert_cmpstr (soup_websocket_connection_get_close_data (b.ws), ==, "Closed by the operator");
  WAIT_UNTIL (g_list_model_get_n_items (f->shown) == 0, 5000);

  client_clear (&a);
  client_clear (&b);
  client_clear (&c);
}

static void
test_sort (Fixture       *f,
           gconstpointer  data)
{
  Client a = { 0 }, b = { 0 };
  GtkColumnViewColumn *messages_in = column_titled (f, "Messages In");
  GtkColumnViewColumn *peer = column_titled (f, "Peer");
  GtkColumnViewColumn *connected_for = column_titled (f, "Connected For");
  SyConnectionInfo *low_port, *high_port;

  /* Every column but the close buttons sorts. */
  for (guint i = 0; i < g_list_model_get_n_items (gtk_column_view_get_columns (f->view)); i++)
    {
      g_autoptr(GtkColumnViewColumn) column = g_list_model_get_item (gtk_column_view_get_columns (f->view), i);
      const char *title = gtk_column_view_column_get_title (column);

      if (title != NULL && *title != '\0')
        g_assert_nonnull (gtk_column_view_column_get_sorter (column));
    }

  /* a is busier than b. */
  client_connect (f, &a);
  client_connect (f, &b);
  client_send (&a, 3);
  client_send (&b, 1);
  WAIT_UNTIL (cell_is (f, a.info, "messages-in", "3") && cell_is (f, b.info, "messages-in", "1"), 5000);

  gtk_column_view_sort_by_column (f->view, messages_in, GTK_SORT_DESCENDING);
  WAIT_UNTIL (shown_item (f, 0) == a.info, 5000);
  g_assert_true (shown_item (f, 1) == b.info);
  WAIT_UNTIL (row_of (f, a.info) && row_of (f, b.info) && row_y (f, a.info) < row_y (f, b.info), 5000);

  gtk_column_view_sort_by_column (f->view, messages_in, GTK_SORT_ASCENDING);
  WAIT_UNTIL (shown_item (f, 0) == b.info, 5000);
  g_assert_true (shown_item (f, 1) == a.info);
  WAIT_UNTIL (row_of (f, a.info) && row_of (f, b.info) && row_y (f, b.info) < row_y (f, a.info), 5000);

  /* Live figures keep the order true: b overtakes a, and moves up. */
  gtk_column_view_sort_by_column (f->view, messages_in, GTK_SORT_DESCENDING);
  WAIT_UNTIL (shown_item (f, 0) == a.info, 5000);
  client_send (&b, 5);
  WAIT_UNTIL (shown_item (f, 0) == b.info, 5000);
  g_assert_true (shown_item (f, 1) == a.info);

  /* Connected for: the newest connection is the shortest. */
  gtk_column_view_sort_by_column (f->view, connected_for, GTK_SORT_ASCENDING);
  WAIT_UNTIL (shown_item (f, 0) == b.info, 5000);
  gtk_column_view_sort_by_column (f->view, connected_for, GTK_SORT_DESCENDING);
  WAIT_UNTIL (shown_item (f, 0) == a.info, 5000);

  /* Text columns sort as text. */
  if (g_strcmp0 (sy_connection_info_get_peer (a.info), sy_connection_info_get_peer (b.info)) < 0)
    low_port = a.info, high_port = b.info;
  else
    low_port = b.info, high_port = a.info;
  gtk_column_view_sort_by_column (f->view, peer, GTK_SORT_ASCENDING);
  WAIT_UNTIL (shown_item (f, 0) == low_port, 5000);
  gtk_column_view_sort_by_column (f->view, peer, GTK_SORT_DESCENDING);
  WAIT_UNTIL (shown_item (f, 0) == high_port, 5000);

  client_clear (&a);
  client_clear (&b);
  WAIT_UNTIL (g_list_model_get_n_items (f->shown) == 0, 10000);
}

/* A program-backed connection shows its process and how long it has run;
 * others show a dash. */
static void
test_process_columns (Fixture       *f,
                      gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SoupWebsocketConnection) ws = NULL;
  g_autoptr(SyConnectionInfo) info = NULL;
  g_autofree char *pid_text = NULL;
  g_autofree char *comm_path = NULL;
  g_autofree char *comm = NULL;
  Client echo = { 0 };
  const char *running;
  int pid;

  client_connect (f, &echo);

  ws = sy_test_connect (f->session, f->server, CAT, &error);
  g_assert_no_error (error);
  WAIT_UNTIL (g_list_model_get_n_items (f->connections) == 2, 10000);
  info = g_list_model_get_item (f->connections, 1);
  g_assert_cmpstr (sy_connection_info_get_subprotocol (info), ==, CAT);

  /* The pid arrives with the server's next figures. */
  WAIT_UNTIL (sy_connection_info_get_process_id (info) > 0, 10000);
  pid = sy_connection_info_get_process_id (info);
  g_assert_cmpint (sy_connection_info_get_process_started (info), >, 0);
  g_assert_cmpint (sy_connection_info_get_process_started (info), <=, g_get_real_time ());
  comm_path = g_strdup_printf ("/proc/%d/comm", pid);
  g_assert_true (g_file_get_contents (comm_path, &comm, NULL, NULL));
  g_assert_cmpstr (g_strstrip (comm), ==, "cat");

  pid_text = g_strdup_printf ("%d", pid);
  WAIT_UNTIL (cell_is (f, info, "process", pid_text), 10000);
  WAIT_UNTIL ((running = cell_text (f, info, "process-running")) != NULL &&
              g_str_has_suffix (running, " s"), 10000);
  WAIT_UNTIL (cell_is (f, echo.info, "process", "—"), 10000);
  g_assert_true (cell_is (f, echo.info, "process-running", "—"));

  sy_test_close_and_wait (ws);
  WAIT_UNTIL (g_list_model_get_n_items (f->connections) == 1, 10000);
  client_clear (&echo);
}

int
main (int   argc,
      char *argv[])
{
  sy_test_init (&argc, &argv);
  g_set_prgname ("test-connections-panel");

  if (!gtk_init_check ())
    {
      g_test_skip ("no display");
      return 77;
    }
  adw_init ();

  g_test_add ("/gui/connections-panel/rows-and-close", Fixture, NULL,
              fixture_set_up, test_rows_and_close, fixture_tear_down);
  g_test_add ("/gui/connections-panel/close-dialog", Fixture, NULL,
              fixture_set_up, test_close_dialog, fixture_tear_down);
  g_test_add ("/gui/connections-panel/sort", Fixture, NULL,
              fixture_set_up, test_sort, fixture_tear_down);
  g_test_add ("/gui/connections-panel/process", Fixture, CAT,
              fixture_set_up, test_process_columns, fixture_tear_down);

  return g_test_run ();
}
