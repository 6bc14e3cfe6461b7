/* test-preferences.c
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The preferences window drives the real server through GSettings (the
 * memory backend of the test environment): a change of port restarts it
 * (old clients get 1001), changes in one turn make one restart, a taken
 * port is reported and leaves it stopped, all interfaces need tokens,
 * rotating tokens closes token connections with 4002, relay names and
 * start-up states reach the bench's clients, and an upstream address makes
 * the server a relay server of a second, real server in the same process.
 */

#include "config.h"

#include <adwaita.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "sy-application.h"
#include "sy-audit.h"
#include "sy-bench.h"
#include "sy-echo-protocol.h"
#include "sy-hardware.h"
#include "sy-preferences-window.h"
#include "sy-program-protocol.h"
#include "sy-relay-protocol.h"
#include "sy-gui-test-utils.h"
#include "sy-test-utils.h"
#include "sy-token.h"

typedef struct
{
  SyServer            *server;
  SyBench             *bench;
  SyAudit             *audit;
  SyTokenKeeper       *tokens;
  GSettings           *settings;
  SyApplication       *app;
  SoupSession         *session;
  SyPreferencesWindow *window;
  guint                starts;
  guint                stops;
  guint                rotations;
} Fixture;

/* The application's own warnings (a server that did not start, a bind
 * beyond loopback) are expected here: kept for the tests to check, not
 * fatal. Every other warning still fails the test. */
static GPtrArray *app_warnings;

static gboolean
keep_app_warnings (const char     *domain,
                   GLogLevelFlags  level,
                   const char     *message,
                   gpointer        data)
{
  /* The MQTT bridge warns when no broker answers (none does here). */
  if ((g_strcmp0 (domain, "sy-application") == 0 || g_strcmp0 (domain, "sy-mqtt") == 0) &&
      (level & G_LOG_LEVEL_WARNING) != 0)
    {
      g_ptr_array_add (app_warnings, g_strdup (message));
      return FALSE;
    }

  return TRUE;
}

static guint
count_warnings (const char *pattern)
{
  guint n = 0;

  for (guint i = 0; i < app_warnings->len; i++)
    if (g_pattern_match_simple (pattern, g_ptr_array_index (app_warnings, i)))
      n++;

  return n;
}

static void
on_running (SyServer   *server,
            GParamSpec *pspec,
            Fixture    *fixture)
{
  if (sy_server_get_running (server))
    fixture->starts++;
  else
    fixture->stops++;
}

static void
on_tokens_rotated (SyApplication *app,
                   Fixture       *fixture)
{
  fixture->rotations++;
}

static void
reset_settings (GSettings *settings)
{
  g_autoptr(GSettingsSchema) schema = NULL;
  g_auto(GStrv) keys = NULL;

  g_object_get (settings, "settings-schema", &schema, NULL);
  keys = g_settings_schema_list_keys (schema);
  for (guint i = 0; keys[i] != NULL; i++)
    g_settings_reset (settings, keys[i]);
}

/* The server as switchyard builds it: bench, tokens, settings applied on
 * start-up (port 0 here, so tests never collide), pinned keys given. */
static void
fixture_start (Fixture            *fixture,
               const char * const *pinned,
               gboolean            no_settings,
               gboolean            programs)
{
  g_autoptr(GError) error = NULL;

  fixture->server = sy_test_server_new ();
  fixture->tokens = sy_token_keeper_new (NULL, &error);
  g_assert_no_error (error);
  fixture->bench = sy_bench_new (7, NULL);
  fixture->audit = sy_audit_new (NULL);
  sy_server_install_bench (fixture->server, fixture->bench, fixture->audit);
  if (programs)
    {
      /* As --subprotocol would add them (they start only when used). */
      g_autoptr(SySubprotocol) count = NULL;
      g_autoptr(SySubprotocol) chat = NULL;

      count = sy_program_protocol_parse ("count.v1=python3 /srv/count.py", &error);
      g_assert_no_error (error);
      chat = sy_program_protocol_parse ("chat.v1;shared;view=python3 '/srv/my chat.py'", &error);
      g_assert_no_error (error);
      sy_server_add_subprotocol (fixture->server, count);
      sy_server_add_subprotocol (fixture->server, chat);
    }
  g_object_set (fixture->server, "token-keeper", fixture->tokens, NULL);
  sy_application_configure_bind (fixture->server, NULL);

  fixture->settings = g_settings_new (SY_SETTINGS_SCHEMA_ID);
  reset_settings (fixture->settings);
  g_settings_set_int (fixture->settings, "port", 0);

  if (no_settings)
    {
      /* Settings that say otherwise, which the application must not apply. */
      g_settings_set_int (fixture->settings, "port", 1);
      g_object_set (fixture->server, "port", sy_test_free_port (), NULL);
      fixture->app = sy_application_new (fixture->server);
    }
  else
    {
      fixture->app = sy_application_new_with_settings (fixture->server, fixture->settings, pinned);
    }
  g_signal_connect (fixture->server, "notify::running", G_CALLBACK (on_running), fixture);
  g_signal_connect (fixture->app, "tokens-rotated", G_CALLBACK (on_tokens_rotated), fixture);
  g_application_register (G_APPLICATION (fixture->app), NULL, &error);
  g_assert_no_error (error);
  g_assert_false (g_application_get_is_remote (G_APPLICATION (fixture->app)));
  g_assert_true (sy_server_get_running (fixture->server));
  g_assert_cmpuint (fixture->starts, ==, 1);
  g_assert_null (sy_application_get_last_error (fixture->app));

  fixture->session = sy_test_session_new ();
}


/* Opens the window the way the menu does. */
static void
fixture_open_window (Fixture *fixture)
{
  GtkWindow *window = NULL;

  g_assert_true (g_action_group_get_action_enabled (G_ACTION_GROUP (fixture->app), "preferences"));
  g_action_group_activate_action (G_ACTION_GROUP (fixture->app), "preferences", NULL);

  for (GList *l = gtk_application_get_windows (GTK_APPLICATION (fixture->app)); l; l = l->next)
    if (SY_IS_PREFERENCES_WINDOW (l->data))
      window = l->data;
  g_assert_nonnull (window);
  fixture->window = SY_PREFERENCES_WINDOW (window);
  WAIT_UNTIL (gtk_widget_get_mapped (GTK_WIDGET (window)), 5000);
}

static void
fixture_teardown (Fixture *fixture)
{
  if (fixture->window != NULL)
    gtk_window_destroy (GTK_WINDOW (fixture->window));
  /* Registered but never run: the test plays shutdown's part. */
  sy_server_stop (fixture->server);
  g_signal_handlers_disconnect_by_data (fixture->server, fixture);
  g_clear_object (&fixture->session);
  g_clear_object (&fixture->app);
  g_clear_object (&fixture->settings);
  g_clear_object (&fixture->server);
  g_clear_object (&fixture->bench);
  g_clear_object (&fixture->audit);
  g_clear_object (&fixture->tokens);

  /* Let the windows and the clients finish going away. */
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

static gpointer
child (Fixture    *fixture,
       const char *name)
{
  GObject *object = gtk_widget_get_template_child (GTK_WIDGET (fixture->window),
                                                   SY_TYPE_PREFERENCES_WINDOW, name);

  g_assert_nonnull (object);

  return object;
}

static void
set_spin (Fixture    *fixture,
          const char *name,
          double      value)
{
  GtkSpinButton *spin = child (fixture, name);

  g_assert_true (gtk_widget_is_sensitive (GTK_WIDGET (spin)));
  gtk_spin_button_set_value (spin, value);
  g_assert_cmpfloat (gtk_spin_button_get_value (spin), ==, value);
}

static SoupWebsocketConnection *
connect_echo (Fixture *fixture)
{
  g_autoptr(GError) error = NULL;
  SoupWebsocketConnection *ws;

  ws = sy_test_connect (fixture->session, fixture->server, SY_ECHO_PROTOCOL_NAME, &error);
  g_assert_no_error (error);

  return ws;
}

static void
assert_echoes (SoupWebsocketConnection *ws)
{
  g_autoptr(GBytes) payload = g_bytes_new_static ("ping", 4);
  g_autoptr(GBytes) reply = sy_test_echo (ws, SOUP_WEBSOCKET_DATA_TEXT, payload, NULL);

  g_assert_true (g_bytes_equal (payload, reply));
}

static void
wait_closed (SoupWebsocketConnection *ws)
{
  WAIT_UNTIL (soup_websocket_connection_get_state (ws) == SOUP_WEBSOCKET_STATE_CLOSED, 10000);
}

static guint
status_of (Fixture    *fixture,
           const char *path)
{
  g_autofree char *uri = g_strdup_printf ("http://127.0.0.1:%u%s", sy_server_get_port (fixture->server), path);
  g_autoptr(GBytes) body = NULL;
  guint status = 0;

  body = sy_test_http (fixture->session, "GET", uri, &status, NULL);

  return status;
}

static void
test_port_restarts_server (Fixture *fixture)
{
  g_autoptr(SoupWebsocketConnection) old = NULL;
  g_autoptr(SoupWebsocketConnection) fresh = NULL;
  guint port = sy_test_free_port ();
  guint first = sy_server_get_port (fixture->server);

  fixture_open_window (fixture);
  old = connect_echo (fixture);
  assert_echoes (old);

  /* The spin button writes the setting; the server follows in an idle. */
  set_spin (fixture, "port_spin", port);
  g_assert_cmpint (g_settings_get_int (fixture->settings, "port"), ==, (int) port);
  WAIT_UNTIL (sy_server_get_port (fixture->server) == port, 10000);
  g_assert_cmpuint (first, !=, port);
  g_assert_cmpuint (fixture->stops, ==, 1);
  g_assert_cmpuint (fixture->starts, ==, 2);

  /* The old client was told the server is going away. */
  wait_closed (old);
  g_assert_cmpint (soup_websocket_connection_get_close_code (old), ==, SOUP_WEBSOCKET_CLOSE_GOING_AWAY);

  /* A new one reaches it on the new port. */
  fresh = connect_echo (fixture);
  assert_echoes (fresh);
  sy_test_close_and_wait (fresh);
  g_assert_null (sy_application_get_last_error (fixture->app));
}

static void
test_changes_coalesce (Fixture *fixture)
{
  guint port = sy_test_free_port ();
  guint max_connections = 0;
  guint ping_interval = 0;
  guint64 max_message_size = 0;

  fixture_open_window (fixture);

  /* Five keys in one turn of the main loop: one restart. */
  set_spin (fixture, "port_spin", port);
  set_spin (fixture, "max_connections_spin", 17);
  set_spin (fixture, "max_message_size_spin", 4096);
  set_spin (fixture, "ping_interval_spin", 3);
  set_spin (fixture, "tick_hz_spin", 50);
  g_assert_cmpuint (fixture->stops, ==, 0);

  WAIT_UNTIL (fixture->starts == 2, 10000);
  /* …and nothing more after it. */
  for (guint i = 0; i < 20; i++)
    g_main_context_iteration (NULL, FALSE);
  g_assert_cmpuint (fixture->stops, ==, 1);
  g_assert_cmpuint (fixture->starts, ==, 2);

  g_object_get (fixture->server,
                "max-connections", &max_connections,
                "max-message-size", &max_message_size,
                "ping-interval", &ping_interval,
                NULL);
  g_assert_cmpuint (sy_server_get_port (fixture->server), ==, port);
  g_assert_cmpuint (max_connections, ==, 17);
  g_assert_cmpuint (max_message_size, ==, 4096);
  g_assert_cmpuint (ping_interval, ==, 3);
  g_assert_cmpuint (sy_bench_get_tick_hz (fixture->bench), ==, 50);
  g_assert_true (sy_server_get_running (fixture->server));
}

static void
count_notify (GObject    *object,
              GParamSpec *pspec,
              guint      *count)
{
  (*count)++;
}

static void
test_taken_port_reports (Fixture *fixture)
{
  g_autoptr(GSocketListener) squatter = g_socket_listener_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *port_text = NULL;
  guint notified = 0;
  guint port;

  fixture_open_window (fixture);
  g_signal_connect (fixture->app, "notify::last-error", G_CALLBACK (count_notify), &notified);

  /* Someone else holds the port. */
  port = g_socket_listener_add_any_inet_port (squatter, NULL, &error);
  g_assert_no_error (error);
  port_text = g_strdup_printf ("%u", port);

  set_spin (fixture, "port_spin", port);
  WAIT_UNTIL (sy_application_get_last_error (fixture->app) != NULL, 10000);
  g_assert_cmpuint (count_warnings ("*The server did not start*"), ==, 1);

  /* A clear error, naming the port; the server stays stopped, no crash. */
  g_test_message ("last error: %s", sy_application_get_last_error (fixture->app));
  g_assert_nonnull (strstr (sy_application_get_last_error (fixture->app), port_text));
  g_assert_false (sy_server_get_running (fixture->server));
  g_assert_cmpuint (notified, ==, 1);

  /* A free port brings it back, and the error goes. */
  port = sy_test_free_port ();
  set_spin (fixture, "port_spin", port);
  WAIT_UNTIL (sy_server_get_running (fixture->server), 10000);
  g_assert_cmpuint (sy_server_get_port (fixture->server), ==, port);
  g_assert_null (sy_application_get_last_error (fixture->app));
  g_assert_cmpuint (notified, ==, 2);
  g_signal_handlers_disconnect_by_func (fixture->app, count_notify, &notified);
}

static void
test_bind_all_interfaces (Fixture *fixture)
{
  AdwComboRow *bind_row;
  GtkWidget *warning;
  guint starts;

  fixture_open_window (fixture);
  bind_row = child (fixture, "bind_row");
  warning = child (fixture, "exposed_row");

  /* Loopback: anyone on this machine may watch without a token. */
  g_assert_cmpuint (adw_combo_row_get_selected (bind_row), ==, 0);
  g_assert_false (gtk_widget_get_visible (warning));
  g_assert_cmpuint (status_of (fixture, "/api/status"), ==, 200);

  /* All interfaces: the warning shows and every client needs a token. */
  starts = fixture->starts;
  adw_combo_row_set_selected (bind_row, 1);
  g_assert_cmpstr (g_settings_get_string (fixture->settings, "bind-address"), ==, "0.0.0.0");
  g_assert_true (gtk_widget_get_visible (warning));
  WAIT_UNTIL (fixture->starts == starts + 1, 10000);
  g_assert_cmpuint (count_warnings ("*0.0.0.0, beyond loopback*"), ==, 1);
  g_assert_cmpuint (status_of (fixture, "/api/status"), ==, 401);
  {
    g_autofree char *view = sy_server_dup_page_uri (fixture->server, SY_ROLE_VIEW);
    const char *token = strstr (view, "?token=");
    g_autofree char *path = NULL;

    g_assert_nonnull (token);
    path = g_strconcat ("/api/status", token, NULL);
    g_assert_cmpuint (status_of (fixture, path), ==, 200);
  }

  /* Back to loopback. */
  starts = fixture->starts;
  adw_combo_row_set_selected (bind_row, 0);
  g_assert_false (gtk_widget_get_visible (warning));
  WAIT_UNTIL (fixture->starts == starts + 1, 10000);
  g_assert_cmpuint (status_of (fixture, "/api/status"), ==, 200);
  g_assert_cmpuint (app_warnings->len, ==, 1);
}

typedef struct
{
  gboolean                 done;
  SoupWebsocketConnection *ws;
  GError                  *error;
} Connect;

static void
connect_cb (GObject      *object,
            GAsyncResult *result,
            gpointer      user_data)
{
  Connect *connect = user_data;

  connect->ws = soup_session_websocket_connect_finish (SOUP_SESSION (object), result, &connect->error);
  connect->done = TRUE;
}

/* Connects with the token of @role's page link. */
static SoupWebsocketConnection *
connect_with_token (Fixture    *fixture,
                    SyRole      role,
                    const char *protocol)
{
  g_autofree char *page = sy_server_dup_page_uri (fixture->server, role);
  const char *query = strstr (page, "?token=");
  g_autofree char *uri = NULL;
  g_autoptr(SoupMessage) msg = NULL;
  const char *protocols[] = { protocol, NULL };
  Connect connect = { 0 };

  g_assert_nonnull (query);
  uri = g_strdup_printf ("ws://127.0.0.1:%u/ws%s", sy_server_get_port (fixture->server), query);
  msg = soup_message_new ("GET", uri);
  soup_session_websocket_connect_async (fixture->session, msg, NULL, (char **) protocols,
                                        G_PRIORITY_DEFAULT, NULL, connect_cb, &connect);
  WAIT_UNTIL (connect.done, 10000);
  g_assert_no_error (connect.error);

  return connect.ws;
}

static void
test_rotate_tokens (Fixture *fixture)
{
  g_autoptr(SoupWebsocketConnection) ws = NULL;
  g_autoptr(SoupWebsocketConnection) fresh = NULL;
  GtkButton *rotate;

  fixture_open_window (fixture);
  rotate = child (fixture, "rotate_button");

  /* A connection made with an earlier control token… */
  ws = connect_with_token (fixture, SY_ROLE_CONTROL, SY_ECHO_PROTOCOL_NAME);
  assert_echoes (ws);

  /* …is closed with 4002 once the operator rotates the tokens. */
  g_signal_emit_by_name (rotate, "clicked");
  g_assert_cmpuint (fixture->rotations, ==, 1);
  wait_closed (ws);
  g_assert_cmpint (soup_websocket_connection_get_close_code (ws), ==, 4002);

  /* New links work, and the server did not restart for it. */
  fresh = connect_with_token (fixture, SY_ROLE_CONTROL, SY_ECHO_PROTOCOL_NAME);
  assert_echoes (fresh);
  sy_test_close_and_wait (fresh);
  g_assert_cmpuint (fixture->starts, ==, 1);
}

/* A relay client that keeps every message */

typedef struct
{
  SoupWebsocketConnection *ws;
  GPtrArray               *messages;
} Client;

static void
on_client_message (SoupWebsocketConnection *ws,
                   gint                     type,
                   GBytes                  *message,
                   Client                  *client)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;

  json_parser_load_from_data (parser, g_bytes_get_data (message, NULL), g_bytes_get_size (message), &error);
  g_assert_no_error (error);
  g_ptr_array_add (client->messages, json_object_ref (json_node_get_object (json_parser_get_root (parser))));
}

static void
client_open (Client  *client,
             Fixture *fixture)
{
  g_autoptr(GError) error = NULL;

  client->messages = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  client->ws = sy_test_connect (fixture->session, fixture->server, SY_RELAY_PROTOCOL_NAME, &error);
  g_assert_no_error (error);
  g_signal_connect (client->ws, "message", G_CALLBACK (on_client_message), client);
}

static void
client_close (Client *client)
{
  g_signal_handlers_disconnect_by_data (client->ws, client);
  sy_test_close_and_wait (client->ws);
  g_clear_object (&client->ws);
  g_clear_pointer (&client->messages, g_ptr_array_unref);
}

/* The last "relay" broadcast about @id, or NULL. */
static JsonObject *
last_relay_update (Client     *client,
                   const char *id)
{
  for (guint i = client->messages->len; i > 0; i--)
    {
      JsonObject *message = g_ptr_array_index (client->messages, i - 1);
      JsonObject *relay;

      if (g_strcmp0 (json_object_get_string_member_with_default (message, "type", ""), "relay") != 0)
        continue;
      relay = json_object_get_object_member (message, "relay");
      if (relay != NULL && g_strcmp0 (json_object_get_string_member_with_default (relay, "id", ""), id) == 0)
        return relay;
    }

  return NULL;
}

static gboolean
client_saw_name (Client     *client,
                 const char *id,
                 const char *name)
{
  JsonObject *relay = last_relay_update (client, id);

  return relay != NULL && g_strcmp0 (json_object_get_string_member_with_default (relay, "name", ""), name) == 0;
}

static gboolean
client_saw_safe_default (Client     *client,
                         const char *id,
                         gint64      safe_default)
{
  JsonObject *relay = last_relay_update (client, id);

  return relay != NULL && json_object_get_int_member_with_default (relay, "safe_default", -2) == safe_default;
}

/* What Enter in the row's text does. */
static void
press_enter (AdwEntryRow *row)
{
  GtkEditable *text = gtk_editable_get_delegate (GTK_EDITABLE (row));

  g_assert_true (GTK_IS_TEXT (text));
  g_signal_emit_by_name (text, "activate");
}

static void
test_relay_names (Fixture *fixture)
{
  SyHardware *hardware = sy_application_get_hardware (fixture->app);
  const SyRelayState *lamp;
  g_autofree char *lamp_id = NULL;
  g_autofree char *name_hook = NULL;
  g_autofree char *safe_hook = NULL;
  AdwEntryRow *name_row;
  AdwComboRow *safe_row;
  Client client = { 0 };

  g_assert_nonnull (hardware);
  g_assert_true (sy_application_get_hardware (fixture->app) == hardware);
  lamp = sy_hardware_get_relay (hardware, SY_RELAY_LAMP);
  g_assert_nonnull (lamp);
  lamp_id = g_strdup (lamp->id);

  fixture_open_window (fixture);
  name_hook = g_strdup_printf ("relay-name-%s", lamp_id);
  safe_hook = g_strdup_printf ("relay-safe-%s", lamp_id);
  name_row = ADW_ENTRY_ROW (sy_test_find_named (GTK_WIDGET (fixture->window), name_hook));
  safe_row = ADW_COMBO_ROW (sy_test_find_named (GTK_WIDGET (fixture->window), safe_hook));
  g_assert_nonnull (name_row);
  g_assert_nonnull (safe_row);
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (name_row)), ==, lamp->name);
  g_assert_cmpstr (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (safe_row)), ==, lamp->name);
  g_assert_cmpuint (adw_combo_row_get_selected (safe_row), ==, lamp->safe_default + 1);

  client_open (&client, fixture);
  WAIT_UNTIL (client.messages->len >= 2, 10000);

  /* A name typed and entered reaches every client of the bench. */
  gtk_editable_set_text (GTK_EDITABLE (name_row), "  Grow light ");
  press_enter (name_row);
  WAIT_UNTIL (client_saw_name (&client, lamp_id, "Grow light"), 10000);
  WAIT_UNTIL (g_strcmp0 (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (safe_row)), "Grow light") == 0, 5000);
  g_assert_cmpstr (sy_hardware_get_relay (hardware, SY_RELAY_LAMP)->name, ==, "Grow light");

  /* A name the bench refuses changes nothing, and the row shows the name
   * the relay still has. */
  gtk_editable_set_text (GTK_EDITABLE (name_row), "   ");
  press_enter (name_row);
  WAIT_UNTIL (g_strcmp0 (gtk_editable_get_text (GTK_EDITABLE (name_row)), "Grow light") == 0, 5000);
  g_assert_cmpstr (sy_hardware_get_relay (hardware, SY_RELAY_LAMP)->name, ==, "Grow light");

  /* A rename from elsewhere shows in the row. */
  sy_hardware_relay_rename (hardware, SY_RELAY_LAMP, "Sun");
  WAIT_UNTIL (g_strcmp0 (gtk_editable_get_text (GTK_EDITABLE (name_row)), "Sun") == 0, 5000);
  WAIT_UNTIL (client_saw_name (&client, lamp_id, "Sun"), 10000);

  /* The start-up state: On, then Off, then as before. */
  adw_combo_row_set_selected (safe_row, 2);
  WAIT_UNTIL (client_saw_safe_default (&client, lamp_id, 1), 10000);
  adw_combo_row_set_selected (safe_row, 1);
  WAIT_UNTIL (client_saw_safe_default (&client, lamp_id, 0), 10000);
  adw_combo_row_set_selected (safe_row, 0);
  WAIT_UNTIL (client_saw_safe_default (&client, lamp_id, -1), 10000);
  WAIT_UNTIL (sy_hardware_get_relay (hardware, SY_RELAY_LAMP)->safe_default == -1, 5000);

  client_close (&client);
  g_assert_cmpuint (app_warnings->len, ==, 0);
}

static void
test_log_level (Fixture *fixture)
{
  AdwComboRow *row;

  fixture_open_window (fixture);
  row = child (fixture, "log_level_row");

  g_assert_cmpuint (adw_combo_row_get_selected (row), ==, 2);
  g_assert_cmpint (sy_application_get_log_level (fixture->app), ==, G_LOG_LEVEL_MESSAGE);
  g_assert_false (g_log_get_debug_enabled ());

  adw_combo_row_set_selected (row, 0);
  g_assert_cmpstr (g_settings_get_string (fixture->settings, "log-level"), ==, "debug");
  g_assert_cmpint (sy_application_get_log_level (fixture->app), ==, G_LOG_LEVEL_DEBUG);
  g_assert_true (g_log_get_debug_enabled ());

  adw_combo_row_set_selected (row, 3);
  g_assert_cmpstr (g_settings_get_string (fixture->settings, "log-level"), ==, "warning");
  g_assert_cmpint (sy_application_get_log_level (fixture->app), ==, G_LOG_LEVEL_WARNING);
  g_assert_false (g_log_get_debug_enabled ());

  /* The setting drives the row too. */
  g_settings_set_string (fixture->settings, "log-level", "info");
  g_assert_cmpuint (adw_combo_row_get_selected (row), ==, 1);

  /* Nothing here restarts the server. */
  for (guint i = 0; i < 20; i++)
    g_main_context_iteration (NULL, FALSE);
  g_assert_cmpuint (fixture->starts, ==, 1);
}

static const char * const pinned_port[] = { "port", "tick-hz", NULL };

static void
test_pinned_keys (Fixture *fixture)
{
  GtkWidget *port_row;
  guint port = sy_server_get_port (fixture->server);
  guint configured = 1;

  g_assert_true (sy_application_is_pinned (fixture->app, "port"));
  g_assert_false (sy_application_is_pinned (fixture->app, "ping-interval"));

  fixture_open_window (fixture);
  port_row = child (fixture, "port_row");
  g_assert_false (gtk_widget_is_sensitive (port_row));
  g_assert_false (gtk_widget_is_sensitive (child (fixture, "tick_hz_row")));
  g_assert_true (gtk_widget_is_sensitive (child (fixture, "ping_interval_row")));
  g_assert_cmpstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (port_row)), ==,
                   "Given on the command line for this run");

  /* A pinned key's setting changes nothing this run… */
  g_settings_set_int (fixture->settings, "port", (int) sy_test_free_port ());
  g_settings_set_uint (fixture->settings, "tick-hz", 5);
  for (guint i = 0; i < 20; i++)
    g_main_context_iteration (NULL, FALSE);
  g_assert_cmpuint (fixture->starts, ==, 1);
  g_assert_cmpuint (sy_server_get_port (fixture->server), ==, port);

  /* …not even when another key restarts the server. */
  set_spin (fixture, "ping_interval_spin", 4);
  WAIT_UNTIL (fixture->starts == 2, 10000);
  g_object_get (fixture->server, "port", &configured, NULL);
  g_assert_cmpuint (configured, ==, 0);
  g_assert_cmpuint (sy_bench_get_tick_hz (fixture->bench), ==, SY_BENCH_DEFAULT_TICK_HZ);
  g_assert_cmpuint (app_warnings->len, ==, 0);
}

typedef struct
{
  gboolean  done;
  GBytes   *body;
  GError   *error;
} Send;

static void
send_cb (GObject      *object,
         GAsyncResult *result,
         gpointer      user_data)
{
  Send *send = user_data;

  send->body = soup_session_send_and_read_finish (SOUP_SESSION (object), result, &send->error);
  send->done = TRUE;
}

static gboolean
accept_any_certificate (SoupMessage          *msg,
                        GTlsCertificate      *certificate,
                        GTlsCertificateFlags  errors,
                        gpointer              data)
{
  return TRUE;
}

static void
test_tls_files (Fixture *fixture)
{
  g_autofree char *dir = g_build_filename (g_get_user_cache_dir (), "tls", NULL);
  g_autofree char *cert = g_build_filename (dir, "cert.pem", NULL);
  g_autofree char *key = g_build_filename (dir, "key.pem", NULL);
  g_autofree char *uri = NULL;
  GtkWidget *clear;
  guint starts;

  fixture_open_window (fixture);
  clear = child (fixture, "tls_clear_button");
  g_assert_false (gtk_widget_get_visible (clear));

  /* One file of the pair: the server waits for the other. */
  g_settings_set_string (fixture->settings, "tls-certificate", "/nonexistent/cert.pem");
  g_assert_true (gtk_widget_get_visible (clear));
  g_assert_cmpstr (adw_action_row_get_subtitle (child (fixture, "key_row")), ==, "Needed with the certificate");
  for (guint i = 0; i < 20; i++)
    g_main_context_iteration (NULL, FALSE);
  g_assert_cmpuint (fixture->stops, ==, 0);

  /* Both, but unusable: reported, and the server stays stopped. */
  g_settings_set_string (fixture->settings, "tls-key", "/nonexistent/key.pem");
  WAIT_UNTIL (sy_application_get_last_error (fixture->app) != NULL, 10000);
  g_test_message ("last error: %s", sy_application_get_last_error (fixture->app));
  g_assert_nonnull (strstr (sy_application_get_last_error (fixture->app), "/nonexistent/cert.pem"));
  g_assert_false (sy_server_get_running (fixture->server));
  g_assert_cmpuint (count_warnings ("*The server did not start*cert.pem*"), ==, 1);

  /* Clear serves plain http again, in one restart. */
  starts = fixture->starts;
  g_signal_emit_by_name (clear, "clicked");
  WAIT_UNTIL (sy_server_get_running (fixture->server), 10000);
  g_assert_cmpuint (fixture->starts, ==, starts + 1);
  g_assert_false (gtk_widget_get_visible (clear));
  g_assert_null (sy_application_get_last_error (fixture->app));
  uri = sy_server_dup_uri (fixture->server);
  g_assert_true (g_str_has_prefix (uri, "http://"));
  g_clear_pointer (&uri, g_free);

  /* A real pair turns https on. */
  if (!g_file_test ("/usr/bin/openssl", G_FILE_TEST_IS_EXECUTABLE))
    {
      g_test_message ("no openssl(1): the https part is left out");
      return;
    }
  {
    g_autoptr(GError) error = NULL;
    g_autofree char *uri_https = NULL;
    g_autoptr(SoupMessage) msg = NULL;
    Send send = { 0 };

    g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
    sy_test_make_certificate (cert, key);

    starts = fixture->starts;
    g_settings_set_string (fixture->settings, "tls-certificate", cert);
    g_settings_set_string (fixture->settings, "tls-key", key);
    WAIT_UNTIL (fixture->starts == starts + 1, 10000);
    g_assert_null (sy_application_get_last_error (fixture->app));
    g_assert_cmpstr (adw_action_row_get_subtitle (child (fixture, "certificate_row")), ==, cert);
    uri = sy_server_dup_uri (fixture->server);
    g_assert_true (g_str_has_prefix (uri, "https://"));

    uri_https = g_strdup_printf ("%sapi/status", uri);
    msg = soup_message_new ("GET", uri_https);
    g_signal_connect (msg, "accept-certificate", G_CALLBACK (accept_any_certificate), NULL);
    soup_session_send_and_read_async (fixture->session, msg, G_PRIORITY_DEFAULT, NULL, send_cb, &send);
    WAIT_UNTIL (send.done, 10000);
    g_assert_no_error (send.error);
    g_assert_cmpuint (soup_message_get_status (msg), ==, 200);
    g_clear_pointer (&send.body, g_bytes_unref);
  }
  g_assert_cmpuint (app_warnings->len, ==, 1);
}

/* Relay server: a second server with a bench of its own, in this process,
 * is the upstream. */

typedef struct
{
  SyServer      *server;
  SyBench       *bench;
  SyAudit       *audit;
  SyTokenKeeper *tokens;
  SoupSession   *session;
} Upstream;

static void
upstream_start (Upstream *upstream)
{
  g_autoptr(GError) error = NULL;

  /* On loopback like the app's: control needs the token of its link. */
  upstream->server = sy_test_server_new ();
  upstream->tokens = sy_token_keeper_new (NULL, &error);
  g_assert_no_error (error);
  upstream->bench = sy_bench_new (11, NULL);
  upstream->audit = sy_audit_new (NULL);
  sy_server_install_bench (upstream->server, upstream->bench, upstream->audit);
  g_object_set (upstream->server,
                "token-keeper", upstream->tokens,
                "port", sy_test_free_port (),
                NULL);
  sy_application_configure_bind (upstream->server, NULL);
  sy_test_server_start (upstream->server);
  upstream->session = sy_test_session_new ();
}

static void
upstream_stop (Upstream *upstream)
{
  sy_server_stop (upstream->server);
  g_clear_object (&upstream->session);
  g_clear_object (&upstream->server);
  g_clear_object (&upstream->bench);
  g_clear_object (&upstream->audit);
  g_clear_object (&upstream->tokens);
}

/* The instance id a server's /api/status gives for this run. */
static char *
dup_instance (SoupSession *session,
              SyServer    *server)
{
  g_autofree char *uri = g_strdup_printf ("http://127.0.0.1:%u/api/status",
                                          sy_server_get_port (server));
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GError) error = NULL;
  guint status = 0;

  body = sy_test_http (session, "GET", uri, &status, NULL);
  g_assert_cmpuint (status, ==, 200);
  json_parser_load_from_data (parser, g_bytes_get_data (body, NULL), g_bytes_get_size (body), &error);
  g_assert_no_error (error);

  return g_strdup (json_object_get_string_member (json_node_get_object (json_parser_get_root (parser)),
                                                  "instance"));
}

/* The next `relays` snapshot whose chain is @mirrored or not, skipping the
 * others (a relay server sends one before its upstream answers). */
static JsonObject *
next_relays (SyTestClient *client,
             gboolean      mirrored)
{
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  for (;;)
    {
      JsonObject *relays = sy_test_client_next (client, "relays");
      JsonArray *chain = json_object_get_array_member (relays, "chain");

      g_assert_nonnull (chain);
      if ((json_array_get_length (chain) > 0) == mirrored)
        return relays;
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
    }
}

static JsonObject *
find_in_relays (JsonObject *relays,
                const char *id)
{
  JsonArray *array = json_object_get_array_member (relays, "relays");

  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonObject *relay = json_array_get_object_element (array, i);

      if (g_strcmp0 (json_object_get_string_member (relay, "id"), id) == 0)
        return relay;
    }

  g_assert_not_reached ();
}

static void
assert_all_available (JsonObject *relays)
{
  JsonArray *array = json_object_get_array_member (relays, "relays");

  g_assert_cmpuint (json_array_get_length (array), ==, SY_BENCH_N_RELAYS);
  for (guint i = 0; i < json_array_get_length (array); i++)
    g_assert_true (json_object_get_boolean_member (json_array_get_object_element (array, i), "available"));
}

static void
on_control_message (SoupWebsocketConnection *ws,
                    gint                     type,
                    GBytes                  *message,
                    SyTestClient            *client)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;

  json_parser_load_from_data (parser, g_bytes_get_data (message, NULL), g_bytes_get_size (message), &error);
  g_assert_no_error (error);
  g_ptr_array_add (client->messages, json_object_ref (json_node_get_object (json_parser_get_root (parser))));
}

/* A relay client of the app's server with the token of its control link. */
static SyTestClient *
control_client_new (Fixture *fixture)
{
  SyTestClient *client = g_new0 (SyTestClient, 1);

  client->messages = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  client->ws = connect_with_token (fixture, SY_ROLE_CONTROL, SY_RELAY_PROTOCOL_NAME);
  g_signal_connect (client->ws, "message", G_CALLBACK (on_control_message), client);

  return client;
}

/* The answer (an ack or an error) to the command with @id, or NULL. */
static JsonObject *
find_answer (SyTestClient *client,
             gint64        id)
{
  for (guint i = 0; i < client->messages->len; i++)
    {
      JsonObject *message = g_ptr_array_index (client->messages, i);

      if (json_object_get_int_member_with_default (message, "id", -1) == id)
        return message;
    }

  return NULL;
}

static void
test_relay_server (Fixture *fixture)
{
  Upstream upstream = { 0 };
  g_autofree char *link = NULL;
  g_autofree char *endpoint = NULL;
  g_autofree char *instance = NULL;
  g_autofree char *command = NULL;
  g_autoptr(SyTestClient) client = NULL;
  g_autoptr(SyTestClient) control = NULL;
  g_autoptr(SyTestClient) watcher = NULL;
  AdwEntryRow *url_row;
  AdwEntryRow *token_row;
  JsonObject *relays;
  JsonObject *answer;
  JsonObject *acked;
  JsonArray *chain;
  gboolean lamp_on;

  upstream_start (&upstream);
  link = sy_server_dup_page_uri (upstream.server, SY_ROLE_CONTROL);
  g_assert_nonnull (strstr (link, "?token="));
  endpoint = g_strdup_printf ("ws://127.0.0.1:%u/ws", sy_server_get_port (upstream.server));
  instance = dup_instance (upstream.session, upstream.server);

  fixture_open_window (fixture);
  url_row = ADW_ENTRY_ROW (sy_test_find_named (GTK_WIDGET (fixture->window), "uplink-url-row"));
  token_row = ADW_ENTRY_ROW (sy_test_find_named (GTK_WIDGET (fixture->window), "uplink-token-row"));
  g_assert_nonnull (url_row);
  g_assert_true (ADW_IS_PASSWORD_ENTRY_ROW (token_row));
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (url_row)), ==, "");
  g_assert_null (sy_server_get_uplink_url (fixture->server));

  /* A token without an address is kept, and restarts nothing. */
  gtk_editable_set_text (GTK_EDITABLE (token_row), "v1.c.stale");
  press_enter (token_row);
  g_assert_cmpstr (g_settings_get_string (fixture->settings, "uplink-token"), ==, "v1.c.stale");

  /* Typing is not applying: no restart per keystroke. */
  gtk_editable_set_text (GTK_EDITABLE (url_row), link);
  for (guint i = 0; i < 20; i++)
    g_main_context_iteration (NULL, FALSE);
  g_assert_cmpstr (g_settings_get_string (fixture->settings, "uplink-url"), ==, "");
  g_assert_cmpuint (fixture->starts, ==, 1);

  /* Enter stores it, and the link's own token replaces the stale one
   * (which the upstream would refuse): one restart, as a relay server. */
  press_enter (url_row);
  g_assert_cmpstr (g_settings_get_string (fixture->settings, "uplink-url"), ==, link);
  g_assert_cmpstr (g_settings_get_string (fixture->settings, "uplink-token"), ==, "");
  g_assert_false (gtk_widget_get_visible (child (fixture, "uplink_message_row")));
  WAIT_UNTIL (fixture->starts == 2, 10000);
  g_assert_cmpuint (fixture->stops, ==, 1);
  g_assert_cmpstr (sy_server_get_uplink_url (fixture->server), ==, endpoint);
  g_assert_null (sy_application_get_last_error (fixture->app));

  /* Its clients see the upstream's relays, available, from the upstream. */
  client = sy_test_client_new (fixture->session, fixture->server, SY_RELAY_PROTOCOL_NAME);
  relays = next_relays (client, TRUE);
  assert_all_available (relays);
  chain = json_object_get_array_member (relays, "chain");
  g_assert_cmpstr (json_array_get_string_element (chain, 0), ==, instance);

  /* A command through the app's server switches the upstream's relay. */
  watcher = sy_test_client_new (upstream.session, upstream.server, SY_RELAY_PROTOCOL_NAME);
  relays = sy_test_client_next (watcher, "relays");
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (relays, "chain")), ==, 0);
  lamp_on = json_object_get_boolean_member (find_in_relays (relays, "lamp"), "on");

  control = control_client_new (fixture);
  command = g_strdup_printf ("{\"type\":\"set\",\"id\":41,\"relay\":\"lamp\",\"on\":%s}",
                             lamp_on ? "false" : "true");
  soup_websocket_connection_send_text (control->ws, command);
  WAIT_UNTIL ((answer = find_answer (control, 41)) != NULL, 10000);
  g_assert_cmpstr (json_object_get_string_member (answer, "type"), ==, "ack");
  acked = json_object_get_object_member (answer, "relay");
  g_assert_cmpint (json_object_get_boolean_member (acked, "on"), ==, !lamp_on);

  for (;;)
    {
      JsonObject *update = sy_test_client_next (watcher, "relay");
      JsonObject *relay = json_object_get_object_member (update, "relay");

      if (g_strcmp0 (json_object_get_string_member (relay, "id"), "lamp") == 0 &&
          !json_object_get_boolean_member (relay, "pending"))
        {
          g_assert_cmpint (json_object_get_boolean_member (relay, "on"), ==, !lamp_on);
          break;
        }
    }

  g_clear_pointer (&control, sy_test_client_free);
  g_clear_pointer (&client, sy_test_client_free);
  g_clear_pointer (&watcher, sy_test_client_free);
  /* The app's server lets go of the upstream before the upstream goes. */
  sy_server_stop (fixture->server);
  upstream_stop (&upstream);
  g_assert_cmpuint (app_warnings->len, ==, 0);
}

static void
test_relay_server_invalid (Fixture *fixture)
{
  AdwEntryRow *url_row;
  AdwActionRow *message_row;

  fixture_open_window (fixture);
  url_row = ADW_ENTRY_ROW (sy_test_find_named (GTK_WIDGET (fixture->window), "uplink-url-row"));
  message_row = child (fixture, "uplink_message_row");
  g_assert_false (gtk_widget_get_visible (GTK_WIDGET (message_row)));

  /* Refused beside the row, with the parser's reason; nothing stored. */
  gtk_editable_set_text (GTK_EDITABLE (url_row), "ftp://x");
  press_enter (url_row);
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (message_row)));
  g_assert_true (gtk_widget_has_css_class (GTK_WIDGET (url_row), "error"));
  g_test_message ("refusal: %s", adw_action_row_get_subtitle (message_row));
  g_assert_nonnull (strstr (adw_action_row_get_subtitle (message_row), "scheme"));
  g_assert_nonnull (strstr (adw_action_row_get_subtitle (message_row), "ftp"));
  g_assert_cmpstr (g_settings_get_string (fixture->settings, "uplink-url"), ==, "");

  /* …and nothing restarted. */
  for (guint i = 0; i < 20; i++)
    g_main_context_iteration (NULL, FALSE);
  g_assert_cmpuint (fixture->starts, ==, 1);
  g_assert_cmpuint (fixture->stops, ==, 0);
  g_assert_null (sy_server_get_uplink_url (fixture->server));
  g_assert_null (sy_application_get_last_error (fixture->app));

  /* A host is needed too. */
  gtk_editable_set_text (GTK_EDITABLE (url_row), "ws://");
  g_assert_false (gtk_widget_get_visible (GTK_WIDGET (message_row)));
  g_assert_false (gtk_widget_has_css_class (GTK_WIDGET (url_row), "error"));
  press_enter (url_row);
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (message_row)));
  g_assert_cmpstr (g_settings_get_string (fixture->settings, "uplink-url"), ==, "");

  /* Editing clears the refusal. */
  gtk_editable_set_text (GTK_EDITABLE (url_row), "ws://127.0.0.1");
  g_assert_false (gtk_widget_get_visible (GTK_WIDGET (message_row)));
  g_assert_cmpuint (fixture->starts, ==, 1);
  g_assert_cmpuint (app_warnings->len, ==, 0);
}

/* An address that is not one, set behind the window's back (gsettings),
 * is handled like an unusable TLS file: reported, server stopped. */
static void
test_relay_server_bad_setting (Fixture *fixture)
{
  AdwEntryRow *url_row;

  fixture_open_window (fixture);
  url_row = ADW_ENTRY_ROW (sy_test_find_named (GTK_WIDGET (fixture->window), "uplink-url-row"));

  g_settings_set_string (fixture->settings, "uplink-url", "ftp://x");
  WAIT_UNTIL (sy_application_get_last_error (fixture->app) != NULL, 10000);
  g_test_message ("last error: %s", sy_application_get_last_error (fixture->app));
  g_assert_nonnull (strstr (sy_application_get_last_error (fixture->app), "ftp://x"));
  g_assert_false (sy_server_get_running (fixture->server));
  g_assert_cmpuint (count_warnings ("*The server did not start*ftp://x*"), ==, 1);
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (url_row)), ==, "ftp://x");

  /* Clearing the address in the window serves the own bench again. */
  gtk_editable_set_text (GTK_EDITABLE (url_row), "");
  press_enter (url_row);
  WAIT_UNTIL (sy_server_get_running (fixture->server), 10000);
  g_assert_null (sy_application_get_last_error (fixture->app));
  g_assert_null (sy_server_get_uplink_url (fixture->server));
  g_assert_cmpuint (app_warnings->len, ==, 1);
}

static void
test_relay_server_cleared (Fixture *fixture)
{
  Upstream upstream = { 0 };
  g_autofree char *link = NULL;
  g_autoptr(SyTestClient) client = NULL;
  AdwEntryRow *url_row;
  JsonObject *relays;

  upstream_start (&upstream);
  link = sy_server_dup_page_uri (upstream.server, SY_ROLE_CONTROL);
  fixture_open_window (fixture);
  url_row = ADW_ENTRY_ROW (sy_test_find_named (GTK_WIDGET (fixture->window), "uplink-url-row"));

  /* Set elsewhere: the row shows it, the server relays. */
  g_settings_set_string (fixture->settings, "uplink-url", link);
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (url_row)), ==, link);
  WAIT_UNTIL (fixture->starts == 2, 10000);
  client = sy_test_client_new (fixture->session, fixture->server, SY_RELAY_PROTOCOL_NAME);
  next_relays (client, TRUE);
  g_clear_pointer (&client, sy_test_client_free);

  /* An empty address and Enter: the server's own bench again. */
  gtk_editable_set_text (GTK_EDITABLE (url_row), "");
  press_enter (url_row);
  g_assert_cmpstr (g_settings_get_string (fixture->settings, "uplink-url"), ==, "");
  WAIT_UNTIL (fixture->starts == 3, 10000);
  g_assert_null (sy_server_get_uplink_url (fixture->server));

  client = sy_test_client_new (fixture->session, fixture->server, SY_RELAY_PROTOCOL_NAME);
  relays = sy_test_client_next (client, "relays");
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (relays, "chain")), ==, 0);
  assert_all_available (relays);
  g_clear_pointer (&client, sy_test_client_free);

  upstream_stop (&upstream);
  g_assert_cmpuint (app_warnings->len, ==, 0);
}

static const char * const pinned_uplink[] = { "uplink-url", "uplink-token", NULL };

static void
test_relay_server_pinned (Fixture *fixture)
{
  GtkWidget *url_row;
  AdwActionRow *message_row;

  fixture_open_window (fixture);
  url_row = sy_test_find_named (GTK_WIDGET (fixture->window), "uplink-url-row");
  message_row = child (fixture, "uplink_message_row");
  g_assert_false (gtk_widget_is_sensitive (url_row));
  g_assert_false (gtk_widget_is_sensitive (sy_test_find_named (GTK_WIDGET (fixture->window),
                                                                "uplink-token-row")));
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (message_row)));
  g_assert_cmpstr (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (message_row)), ==,
                   "Given on the command line for this run");

  /* The settings change nothing this run. */
  g_settings_set_string (fixture->settings, "uplink-url", "ws://127.0.0.1:1/ws");
  g_settings_set_string (fixture->settings, "uplink-token", "t");
  for (guint i = 0; i < 20; i++)
    g_main_context_iteration (NULL, FALSE);
  g_assert_cmpuint (fixture->starts, ==, 1);
  g_assert_null (sy_server_get_uplink_url (fixture->server));
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (url_row)), ==, "");
}

static AdwEntryRow *
mqtt_row (Fixture    *fixture,
          const char *name)
{
  GtkWidget *row = sy_test_find_named (GTK_WIDGET (fixture->window), name);

  g_assert_true (ADW_IS_ENTRY_ROW (row));

  return ADW_ENTRY_ROW (row);
}

/* The MQTT Broker group: each value is checked on Enter and refused beside
 * the rows, or stored; a stored broker (or a change to it) restarts the
 * server with the bridge configured so. No broker listens here: the test
 * pins the configuration, test_mqtt.py the bridge on a real Mosquitto. */
static void
test_mqtt_broker (Fixture *fixture)
{
  AdwEntryRow *url_row;
  AdwEntryRow *password_row;
  AdwEntryRow *instance_row;
  AdwEntryRow *mirror_row;
  AdwActionRow *message_row;
  AdwComboRow *role_row;
  const SyMqttConfig *config;

  fixture_open_window (fixture);
  url_row = mqtt_row (fixture, "mqtt-url-row");
  password_row = mqtt_row (fixture, "mqtt-password-row");
  instance_row = mqtt_row (fixture, "mqtt-instance-row");
  mirror_row = mqtt_row (fixture, "mqtt-mirror-row");
  role_row = ADW_COMBO_ROW (sy_test_find_named (GTK_WIDGET (fixture->window), "mqtt-role-row"));
  message_row = child (fixture, "mqtt_message_row");
  g_assert_true (ADW_IS_PASSWORD_ENTRY_ROW (password_row));
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (url_row)), ==, "");
  g_assert_cmpuint (adw_combo_row_get_selected (role_row), ==, 0);
  g_assert_null (sy_server_get_mqtt_config (fixture->server));
  g_assert_false (gtk_widget_get_visible (GTK_WIDGET (message_row)));

  /* A password without a broker is kept, and restarts nothing. */
  gtk_editable_set_text (GTK_EDITABLE (password_row), "pass word");
  press_enter (password_row);
  g_assert_cmpstr (g_settings_get_string (fixture->settings, "mqtt-password"), ==, "pass word");

  /* Not a broker: refused beside the row, nothing stored or restarted. */
  gtk_editable_set_text (GTK_EDITABLE (url_row), "http://127.0.0.1:1883");
  press_enter (url_row);
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (message_row)));
  g_assert_true (gtk_widget_has_css_class (GTK_WIDGET (url_row), "error"));
  g_test_message ("refusal: %s", adw_action_row_get_subtitle (message_row));
  g_assert_nonnull (strstr (adw_action_row_get_subtitle (message_row), "mqtt or mqtts"));
  g_assert_cmpstr (g_settings_get_string (fixture->settings, "mqtt-url"), ==, "");

  /* Editing clears the refusal; an instance name that is not a topic
   * level is refused too. */
  gtk_editable_set_text (GTK_EDITABLE (url_row), "mqtt://bench@127.0.0.1:1");
  g_assert_false (gtk_widget_get_visible (GTK_WIDGET (message_row)));
  gtk_editable_set_text (GTK_EDITABLE (instance_row), "lab/one");
  press_enter (instance_row);
  g_assert_true (gtk_widget_has_css_class (GTK_WIDGET (instance_row), "error"));
  g_assert_nonnull (strstr (adw_action_row_get_subtitle (message_row), "instance name"));
  g_assert_cmpstr (g_settings_get_string (fixture->settings, "mqtt-instance"), ==, "");
  for (guint i = 0; i < 20; i++)
    g_main_context_iteration (NULL, FALSE);
  g_assert_cmpuint (fixture->starts, ==, 1);
  g_assert_cmpuint (fixture->stops, ==, 0);

  /* A broker: one restart, with the bridge. */
  press_enter (url_row);
  g_assert_cmpstr (g_settings_get_string (fixture->settings, "mqtt-url"), ==, "mqtt://bench@127.0.0.1:1");
  WAIT_UNTIL (fixture->starts == 2, 10000);
  config = sy_server_get_mqtt_config (fixture->server);
  g_assert_nonnull (config);
  g_assert_cmpstr (config->url, ==, "mqtt://bench@127.0.0.1:1");
  g_assert_cmpstr (config->password, ==, "pass word");
  g_assert_cmpstr (config->prefix, ==, "switchyard");
  g_assert_cmpint (config->role, ==, SY_ROLE_VIEW);
  g_assert_null (config->mirror);
  g_assert_null (sy_application_get_last_error (fixture->app));

  /* Commands from the broker accepted: a restart with the control role. */
  adw_combo_row_set_selected (role_row, 1);
  g_assert_cmpstr (g_settings_get_string (fixture->settings, "mqtt-role"), ==, "control");
  WAIT_UNTIL (fixture->starts == 3, 10000);
  g_assert_cmpint (sy_server_get_mqtt_config (fixture->server)->role, ==, SY_ROLE_CONTROL);

  gtk_editable_set_text (GTK_EDITABLE (instance_row), "lab-one");
  press_enter (instance_row);
  WAIT_UNTIL (fixture->starts == 4, 10000);
  g_assert_cmpstr (sy_server_get_mqtt_config (fixture->server)->instance, ==, "lab-one");

  /* An instance does not mirror itself. */
  gtk_editable_set_text (GTK_EDITABLE (mirror_row), "lab-one");
  press_enter (mirror_row);
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (message_row)));
  g_assert_nonnull (strstr (adw_action_row_get_subtitle (message_row), "mirror itself"));
  g_assert_cmpstr (g_settings_get_string (fixture->settings, "mqtt-mirror"), ==, "");

  /* An empty address and Enter: no bridge again. */
  gtk_editable_set_text (GTK_EDITABLE (url_row), "");
  press_enter (url_row);
  WAIT_UNTIL (fixture->starts == 5, 10000);
  g_assert_null (sy_server_get_mqtt_config (fixture->server));
  g_assert_true (sy_server_get_running (fixture->server));

  /* The only warnings: the bridge finding no broker, never the password. */
  g_assert_cmpuint (count_warnings ("*MQTT broker mqtt://bench@127.0.0.1:1*"), ==, app_warnings->len);
  for (guint i = 0; i < app_warnings->len; i++)
    g_assert_null (strstr (g_ptr_array_index (app_warnings, i), "pass word"));
}

static const char * const pinned_mqtt[] = {
  "mqtt-url", "mqtt-password", "mqtt-prefix", "mqtt-instance", "mqtt-role", "mqtt-mirror",
  "mqtt-ca-file", "mqtt-certificate", "mqtt-key", NULL
};

static void
test_mqtt_pinned (Fixture *fixture)
{
  AdwActionRow *message_row;

  fixture_open_window (fixture);
  message_row = child (fixture, "mqtt_message_row");
  g_assert_false (gtk_widget_is_sensitive (GTK_WIDGET (mqtt_row (fixture, "mqtt-url-row"))));
  g_assert_false (gtk_widget_is_sensitive (GTK_WIDGET (mqtt_row (fixture, "mqtt-password-row"))));
  g_assert_false (gtk_widget_is_sensitive (sy_test_find_named (GTK_WIDGET (fixture->window), "mqtt-role-row")));
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (message_row)));
  g_assert_cmpstr (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (message_row)), ==,
                   "Given on the command line for this run");

  /* The settings change nothing this run. */
  g_settings_set_string (fixture->settings, "mqtt-url", "mqtt://127.0.0.1:1");
  g_settings_set_string (fixture->settings, "mqtt-role", "control");
  for (guint i = 0; i < 20; i++)
    g_main_context_iteration (NULL, FALSE);
  g_assert_cmpuint (fixture->starts, ==, 1);
  g_assert_null (sy_server_get_mqtt_config (fixture->server));
}

/* Closing the window quits: the server stops and its clients get 1001,
 * with the preferences open on top of it too. */

typedef struct
{
  Fixture                 *fixture;
  SoupWebsocketConnection *ws;
  GtkWindow               *main_window;
  GtkWindow               *preferences;
} CloseRun;

static gboolean
close_window_cb (gpointer data)
{
  CloseRun *run = data;
  Fixture *fixture = run->fixture;

  run->main_window = gtk_application_get_active_window (GTK_APPLICATION (fixture->app));
  g_assert_nonnull (run->main_window);
  g_object_add_weak_pointer (G_OBJECT (run->main_window), (gpointer *) &run->main_window);

  run->ws = connect_echo (fixture);
  assert_echoes (run->ws);

  /* The menu's Preferences item; Ctrl+comma does the same. */
  g_action_group_activate_action (G_ACTION_GROUP (fixture->app), "preferences", NULL);
  run->preferences = gtk_application_get_active_window (GTK_APPLICATION (fixture->app));
  g_assert_true (SY_IS_PREFERENCES_WINDOW (run->preferences));
  g_object_add_weak_pointer (G_OBJECT (run->preferences), (gpointer *) &run->preferences);
  g_assert_true (gtk_window_get_transient_for (run->preferences) == run->main_window);
  g_assert_true (gtk_window_get_modal (run->preferences));

  gtk_window_close (run->main_window);

  return G_SOURCE_REMOVE;
}

static void
on_activated (GApplication *app,
              CloseRun     *run)
{
  g_idle_add (close_window_cb, run);
}

static void
test_close_window_stops_server (Fixture *fixture)
{
  CloseRun run = { fixture };
  g_auto(GStrv) accels = NULL;
  int status;

  accels = gtk_application_get_accels_for_action (GTK_APPLICATION (fixture->app), "app.preferences");
  g_assert_cmpstr (accels[0], ==, "<Control>comma");

  g_signal_connect_after (fixture->app, "activate", G_CALLBACK (on_activated), &run);
  status = g_application_run (G_APPLICATION (fixture->app), 0, NULL);
  g_assert_cmpint (status, ==, 0);

  /* Both windows are gone, the server stopped, the client heard 1001. */
  g_assert_null (run.main_window);
  g_assert_null (run.preferences);
  g_assert_false (sy_server_get_running (fixture->server));
  g_assert_cmpuint (fixture->stops, ==, 1);
  wait_closed (run.ws);
  g_assert_cmpint (soup_websocket_connection_get_close_code (run.ws), ==, SOUP_WEBSOCKET_CLOSE_GOING_AWAY);
  g_clear_object (&run.ws);
}

static void
test_without_settings (Fixture *fixture)
{
  guint configured = 0;

  /* The server runs exactly as configured; there is nothing to edit. */
  g_object_get (fixture->server, "port", &configured, NULL);
  g_assert_cmpuint (configured, !=, 1);
  g_assert_cmpuint (sy_server_get_port (fixture->server), ==, configured);
  g_assert_null (sy_application_get_settings (fixture->app));
  g_assert_false (g_action_group_get_action_enabled (G_ACTION_GROUP (fixture->app), "preferences"));
  g_assert_true (g_action_group_get_action_enabled (G_ACTION_GROUP (fixture->app), "about"));
  g_assert_true (g_action_group_get_action_enabled (G_ACTION_GROUP (fixture->app), "quit"));

  /* Settings changes do not reach it. */
  g_settings_set_int (fixture->settings, "port", 2);
  for (guint i = 0; i < 20; i++)
    g_main_context_iteration (NULL, FALSE);
  g_assert_cmpuint (fixture->starts, ==, 1);
}

static void
test_about (Fixture *fixture)
{
  GListModel *toplevels = gtk_window_get_toplevels ();
  AdwAboutWindow *about = NULL;

  g_action_group_activate_action (G_ACTION_GROUP (fixture->app), "about", NULL);
  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr(GObject) window = g_list_model_get_item (toplevels, i);

      if (ADW_IS_ABOUT_WINDOW (window))
        about = ADW_ABOUT_WINDOW (window);
    }
  g_assert_nonnull (about);

  g_assert_cmpstr (adw_about_window_get_version (about), ==, PACKAGE_VERSION);
  g_assert_cmpint (adw_about_window_get_license_type (about), ==, GTK_LICENSE_GPL_3_0);
  g_assert_cmpstr (adw_about_window_get_application_icon (about), ==, APPLICATION_ID);
  g_assert_nonnull (adw_about_window_get_developers (about));
  g_assert_true (g_str_has_prefix (adw_about_window_get_website (about), "https://"));
  g_assert_true (g_str_has_prefix (adw_about_window_get_issue_url (about), "https://"));
  /* Untranslated here: the msgid itself, for translators to replace. */
  g_assert_cmpstr (adw_about_window_get_translator_credits (about), ==, "translator-credits");

  gtk_window_destroy (GTK_WINDOW (about));
}

typedef void (*FixtureFunc) (Fixture *fixture);

/* The Subprotocols page lists the program-backed subprotocols, read-only. */
static void
test_subprotocols_none (Fixture *fixture)
{
  GtkWidget *row;

  fixture_open_window (fixture);
  row = sy_test_find_named (GTK_WIDGET (child (fixture, "programs_group")), "no-programs");
  g_assert_nonnull (row);
  g_assert_cmpstr (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (row)), ==, "No Programs");
}

static void
test_subprotocols_programs (Fixture *fixture)
{
  GtkWidget *group;
  GtkWidget *row;

  fixture_open_window (fixture);
  group = GTK_WIDGET (child (fixture, "programs_group"));
  g_assert_null (sy_test_find_named (group, "no-programs"));

  row = sy_test_find_named (group, "count.v1");
  g_assert_nonnull (row);
  g_assert_cmpstr (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (row)), ==, "count.v1");
  g_assert_cmpstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (row)), ==,
                   "python3 /srv/count.py\nper-connection, control role, text lines");

  row = sy_test_find_named (group, "chat.v1");
  g_assert_nonnull (row);
  g_assert_cmpstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (row)), ==,
                   "python3 '/srv/my chat.py'\nshared, view role, text lines");

  /* Built-in subprotocols are not programs. */
  g_assert_null (sy_test_find_named (group, "switchyard.echo.v1"));
}

typedef struct
{
  FixtureFunc         func;
  const char * const *pinned;
  gboolean            no_settings;
  gboolean            programs;
} TestCase;

/* Each test in its own process, as the application registers its name on
 * the session bus and GApplication cannot unregister short of running. */
static void
run_in_subprocess (gconstpointer data)
{
  const TestCase *test = data;

  if (g_test_subprocess ())
    {
      Fixture fixture = { 0 };

      app_warnings = g_ptr_array_new_with_free_func (g_free);
      g_test_log_set_fatal_handler (keep_app_warnings, NULL);
      fixture_start (&fixture, test->pinned, test->no_settings, test->programs);
      test->func (&fixture);
      fixture_teardown (&fixture);
      g_clear_pointer (&app_warnings, g_ptr_array_unref);
      return;
    }

  g_test_trap_subprocess (NULL, 100 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
}

static void
add_test_full (const char         *path,
               FixtureFunc         func,
               const char * const *pinned,
               gboolean            no_settings)
{
  TestCase *test = g_new0 (TestCase, 1);

  test->func = func;
  test->pinned = pinned;
  test->no_settings = no_settings;
  g_test_add_data_func_full (path, test, run_in_subprocess, g_free);
}

static void
add_programs_test (const char  *path,
                   FixtureFunc  func)
{
  TestCase *test = g_new0 (TestCase, 1);

  test->func = func;
  test->programs = TRUE;
  g_test_add_data_func_full (path, test, run_in_subprocess, g_free);
}

static void
add_test (const char         *path,
          FixtureFunc         func,
          const char * const *pinned)
{
  add_test_full (path, func, pinned, FALSE);
}

int
main (int   argc,
      char *argv[])
{
  sy_test_init (&argc, &argv);
  g_set_prgname ("test-preferences");
  /* Nothing here is about drawing: spare the software GL its shaders. */
  g_setenv ("GSK_RENDERER", "cairo", FALSE);

  if (!gtk_init_check ())
    {
      g_test_skip ("no display");
      return 77;
    }
  adw_init ();

  add_test ("/preferences/port-restarts-server", test_port_restarts_server, NULL);
  add_test ("/preferences/changes-coalesce", test_changes_coalesce, NULL);
  add_test ("/preferences/taken-port-reports", test_taken_port_reports, NULL);
  add_test ("/preferences/bind-all-interfaces", test_bind_all_interfaces, NULL);
  add_test ("/preferences/rotate-tokens", test_rotate_tokens, NULL);
  add_test ("/preferences/tls-files", test_tls_files, NULL);
  add_test ("/preferences/relay-names", test_relay_names, NULL);
  add_test ("/preferences/log-level", test_log_level, NULL);
  add_test ("/preferences/pinned-keys", test_pinned_keys, pinned_port);
  add_test ("/preferences/relay-server", test_relay_server, NULL);
  add_test ("/preferences/relay-server-invalid", test_relay_server_invalid, NULL);
  add_test ("/preferences/relay-server-bad-setting", test_relay_server_bad_setting, NULL);
  add_test ("/preferences/relay-server-cleared", test_relay_server_cleared, NULL);
  add_test ("/preferences/relay-server-pinned", test_relay_server_pinned, pinned_uplink);
  add_test ("/preferences/mqtt-broker", test_mqtt_broker, NULL);
  add_test ("/preferences/mqtt-pinned", test_mqtt_pinned, pinned_mqtt);
  add_test ("/preferences/close-window-stops-server", test_close_window_stops_server, NULL);
  add_test ("/preferences/about", test_about, NULL);
  add_test_full ("/preferences/without-settings", test_without_settings, NULL, TRUE);
  add_test ("/preferences/subprotocols/none", test_subprotocols_none, NULL);
  add_programs_test ("/preferences/subprotocols/programs", test_subprotocols_programs);

  return g_test_run ();
}
