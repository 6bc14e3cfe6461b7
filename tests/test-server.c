/* test-server.c
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <json-glib/json-glib.h>
#include <string.h>

#include "sy-connection-info.h"
#include "sy-server.h"
#include "sy-test-utils.h"

static GThread *main_thread;

static void
test_start_stop (void)
{
  g_autoptr(SyServer) server = sy_test_server_new ();
  g_autofree char *uri = NULL;
  g_autofree char *expected = NULL;
  guint first_port;

  g_assert_false (sy_server_get_running (server));
  g_assert_null (sy_server_dup_uri (server));

  sy_test_server_start (server);
  first_port = sy_server_get_port (server);
  uri = sy_server_dup_uri (server);
  expected = g_strdup_printf ("http://127.0.0.1:%u/", first_port);
  g_assert_cmpstr (uri, ==, expected);

  sy_server_stop (server);
  g_assert_false (sy_server_get_running (server));
  g_assert_cmpuint (sy_server_get_port (server), ==, 0);

  /* A stopped server starts again. */
  sy_test_server_start (server);
  g_assert_true (sy_server_get_running (server));
  sy_server_stop (server);

  g_assert_finalize_object (g_steal_pointer (&server));
}

static void
test_port_in_use (void)
{
  g_autoptr(SyServer) first = sy_test_server_new ();
  g_autoptr(SyServer) second = sy_test_server_new ();
  g_autoptr(GError) error = NULL;

  sy_test_server_start (first);
  g_object_set (second, "port", sy_server_get_port (first), NULL);

  g_assert_false (sy_server_start (second, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE);
  g_assert_nonnull (strstr (error->message, "Could not listen on 127.0.0.1"));
  g_assert_false (sy_server_get_running (second));

  sy_server_stop (first);
}

static void
test_bad_bind_address (void)
{
  g_autoptr(SyServer) server = sy_test_server_new ();
  g_autoptr(GError) error = NULL;

  g_object_set (server, "bind-address", "not-an-address", NULL);
  g_assert_false (sy_server_start (server, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "not-an-address"));
}

static void
assert_get (SoupSession *session,
            SyServer    *server,
            const char  *method,
            const char  *path,
            guint        expected_status,
            const char  *expected_type,
            const char  *expected_text)
{
  g_autofree char *uri = g_strdup_printf ("http://127.0.0.1:%u%s", sy_server_get_port (server), path);
  g_autofree char *content_type = NULL;
  g_autoptr(GBytes) body = NULL;
  g_autofree char *text = NULL;
  guint status = 0;

  body = sy_test_http (session, method, uri, &status, &content_type);
  g_assert_cmpuint (status, ==, expected_status);
  if (expected_type != NULL)
    g_assert_cmpstr (content_type, ==, expected_type);
  if (expected_text != NULL)
    {
      text = g_strndup (g_bytes_get_data (body, NULL), g_bytes_get_size (body));
      g_assert_nonnull (strstr (text, expected_text));
    }
}

static void
test_static_routes (void)
{
  g_autoptr(SyServer) server = sy_test_server_new ();
  g_autoptr(SoupSession) session = sy_test_session_new ();

  sy_test_server_start (server);

  assert_get (session, server, "GET", "/", 200, "text/html", "<title>Switchyard</title>");
  assert_get (session, server, "GET", "/index.html", 200, "text/html", "page.js");
  assert_get (session, server, "GET", "/style.css", 200, "text/css", "prefers-color-scheme");
  assert_get (session, server, "GET", "/page.js", 200, "text/javascript", "switchyard.echo.v1");
  assert_get (session, server, "GET", "/model.js", 200, "text/javascript", "class Trend");
  assert_get (session, server, "GET", "/i18n.js", 200, "text/javascript", "Verbunden");
  assert_get (session, server, "GET", "/favicon.svg", 200, "image/svg+xml", "<svg");
  assert_get (session, server, "GET", "/no-such-file.html", 404, "text/plain", "Not found");
  assert_get (session, server, "GET", "/web/index.html", 404, NULL, NULL);
  assert_get (session, server, "GET", "/%2e%2e/%2e%2e/etc/passwd", 404, NULL, NULL);
  assert_get (session, server, "POST", "/", 405, "text/plain", "Only GET and HEAD");
  assert_get (session, server, "DELETE", "/api/status", 405, NULL, NULL);

  sy_server_stop (server);
}

static JsonObject *
get_status (SoupSession *session,
            SyServer    *server)
{
  g_autofree char *uri = g_strdup_printf ("http://127.0.0.1:%u/api/status", sy_server_get_port (server));
  g_autofree char *content_type = NULL;
  g_autoptr(GBytes) body = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  guint status = 0;

  body = sy_test_http (session, "GET", uri, &status, &content_type);
  g_assert_cmpuint (status, ==, 200);
  g_assert_cmpstr (content_type, ==, "application/json");
  json_parser_load_from_data (parser, g_bytes_get_data (body, NULL), g_bytes_get_size (body), &error);
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)));

  return json_object_ref (json_node_get_object (json_parser_get_root (parser)));
}

static void
test_status (void)
{
  g_autoptr(SyServer) server = sy_test_server_new ();
  g_autoptr(SoupSession) session = sy_test_session_new ();
  g_autoptr(JsonObject) status = NULL;
  g_autoptr(JsonObject) later = NULL;
  g_autoptr(SoupWebsocketConnection) a = NULL;
  g_autoptr(SoupWebsocketConnection) b = NULL;
  g_autoptr(GError) error = NULL;
  JsonArray *protocols;

  sy_test_server_start (server);

  status = get_status (session, server);
  g_assert_cmpstr (json_object_get_string_member (status, "name"), ==, "Switchyard");
  g_assert_cmpstr (json_object_get_string_member (status, "version"), ==, PACKAGE_VERSION);
  g_assert_cmpint (json_object_get_int_member (status, "connections"), ==, 0);
  g_assert_cmpfloat (json_object_get_double_member (status, "uptime"), >=, 0.0);
  protocols = json_object_get_array_member (status, "subprotocols");
  g_assert_cmpuint (json_array_get_length (protocols), ==, 1);
  g_assert_cmpstr (json_array_get_string_element (protocols, 0), ==, "switchyard.echo.v1");

  a = sy_test_connect (session, server, "switchyard.echo.v1", &error);
  g_assert_no_error (error);
  b = sy_test_connect (session, server, "switchyard.echo.v1", &error);
  g_assert_no_error (error);

  later = get_status (session, server);
  g_assert_cmpint (json_object_get_int_member (later, "connections"), ==, 2);
  g_assert_cmpfloat (json_object_get_double_member (later, "uptime"), >=,
                     json_object_get_double_member (status, "uptime"));

  sy_test_close_and_wait (a);
  sy_test_close_and_wait (b);
  WAIT_UNTIL (sy_server_get_n_connections (server) == 0, 5000);

  sy_server_stop (server);
}

static void
test_handshake_refusals (void)
{
  g_autoptr(SyServer) server = sy_test_server_new ();
  g_autoptr(SoupSession) session = sy_test_session_new ();
  g_autoptr(SoupWebsocketConnection) ws = NULL;
  g_autoptr(GError) error = NULL;

  sy_test_server_start (server);

  /* A libsoup client that offers nothing, or something unknown, is refused
   * before the upgrade. */
  ws = sy_test_connect (session, server, NULL, &error);
  g_assert_null (ws);
  g_assert_error (error, SOUP_WEBSOCKET_ERROR, SOUP_WEBSOCKET_ERROR_NOT_WEBSOCKET);
  g_clear_error (&error);

  ws = sy_test_connect (session, server, "chat.v9", &error);
  g_assert_null (ws);
  g_assert_error (error, SOUP_WEBSOCKET_ERROR, SOUP_WEBSOCKET_ERROR_NOT_WEBSOCKET);
  g_clear_error (&error);

  /* The bodies name the supported subprotocols. */
  assert_get (session, server, "GET", "/ws", 426, "text/plain", "switchyard.echo.v1");

  ws = sy_test_connect (session, server, "switchyard.echo.v1", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (soup_websocket_connection_get_protocol (ws), ==, "switchyard.echo.v1");
  g_assert_null (soup_websocket_connection_get_extensions (ws));
  sy_test_close_and_wait (ws);

  sy_server_stop (server);
}

static void
test_connection_cap (void)
{
  g_autoptr(SyServer) server = sy_test_server_new ();
  g_autoptr(SoupSession) session = sy_test_session_new ();
  g_autoptr(SoupWebsocketConnection) a = NULL;
  g_autoptr(SoupWebsocketConnection) b = NULL;
  g_autoptr(SoupWebsocketConnection) c = NULL;
  g_autoptr(GError) error = NULL;

  g_object_set (server, "max-connections", 1, NULL);
  sy_test_server_start (server);

  a = sy_test_connect (session, server, "switchyard.echo.v1", &error);
  g_assert_no_error (error);

  b = sy_test_connect (session, server, "switchyard.echo.v1", &error);
  g_assert_null (b);
  g_assert_error (error, SOUP_WEBSOCKET_ERROR, SOUP_WEBSOCKET_ERROR_NOT_WEBSOCKET);
  g_clear_error (&error);

  sy_test_close_and_wait (a);
  WAIT_UNTIL (sy_server_get_n_connections (server) == 0, 5000);

  c = sy_test_connect (session, server, "switchyard.echo.v1", &error);
  g_assert_no_error (error);
  sy_test_close_and_wait (c);

  sy_server_stop (server);
}

static GBytes *
make_payload (gsize    len,
              gboolean text)
{
  guint8 *data = g_malloc (len + 1);

  for (gsize i = 0; i < len; i++)
    data[i] = text ? 'a' + (i % 26) : (guint8) (i * 7 + 3);

  return g_bytes_new_take (data, len);
}

static void
test_echo_lengths (void)
{
  const gsize cap = 128 * 1024;
  const gsize lengths[] = { 0, 1, 125, 126, 127, 65535, 65536, cap };
  g_autoptr(SyServer) server = sy_test_server_new ();
  g_autoptr(SoupSession) session = sy_test_session_new ();
  g_autoptr(SoupWebsocketConnection) ws = NULL;
  g_autoptr(GError) error = NULL;

  g_object_set (server, "max-message-size", (guint64) cap, NULL);
  sy_test_server_start (server);

  ws = sy_test_connect (session, server, "switchyard.echo.v1", &error);
  g_assert_no_error (error);
  soup_websocket_connection_set_max_incoming_payload_size (ws, cap * 2);

  for (guint i = 0; i < G_N_ELEMENTS (lengths); i++)
    {
      for (guint binary = 0; binary < 2; binary++)
        {
          SoupWebsocketDataType type = binary ? SOUP_WEBSOCKET_DATA_BINARY : SOUP_WEBSOCKET_DATA_TEXT;
          SoupWebsocketDataType type_back = 0;
          g_autoptr(GBytes) payload = make_payload (lengths[i], !binary);
          g_autoptr(GBytes) back = sy_test_echo (ws, type, payload, &type_back);

          g_assert_cmpint (type_back, ==, type);
          g_assert_true (g_bytes_equal (payload, back));
        }
    }

  /* Text may carry NUL characters: the length counts, not strlen. */
  {
    static const char with_nul[] = { 'a', '\0', 'b', '\0' };
    g_autoptr(GBytes) payload = g_bytes_new_static (with_nul, sizeof with_nul);
    g_autoptr(GBytes) back = sy_test_echo (ws, SOUP_WEBSOCKET_DATA_TEXT, payload, NULL);

    g_assert_cmpuint (g_bytes_get_size (back), ==, 4);
    g_assert_true (g_bytes_equal (payload, back));
  }

  sy_test_close_and_wait (ws);
  sy_server_stop (server);
}

static void
test_echo_over_cap (void)
{
  const gsize cap = 4096;
  g_autoptr(SyServer) server = sy_test_server_new ();
  g_autoptr(SoupSession) session = sy_test_session_new ();
  g_autoptr(SoupWebsocketConnection) victim = NULL;
  g_autoptr(SoupWebsocketConnection) other = NULL;
  g_autoptr(GBytes) big = make_payload (cap + 1, FALSE);
  g_autoptr(GBytes) small = make_payload (10, TRUE);
  g_autoptr(GError) error = NULL;

  g_object_set (server, "max-message-size", (guint64) cap, NULL);
  sy_test_server_start (server);

  other = sy_test_connect (session, server, "switchyard.echo.v1", &error);
  g_assert_no_error (error);
  victim = sy_test_connect (session, server, "switchyard.echo.v1", &error);
  g_assert_no_error (error);

  soup_websocket_connection_send_message (victim, SOUP_WEBSOCKET_DATA_BINARY, big);
  WAIT_UNTIL (soup_websocket_connection_get_state (victim) == SOUP_WEBSOCKET_STATE_CLOSED, 5000);
  g_assert_cmpuint (soup_websocket_connection_get_close_code (victim), ==, SOUP_WEBSOCKET_CLOSE_TOO_BIG);
  g_assert_nonnull (strstr (soup_websocket_connection_get_close_data (victim), "too big"));

  /* The other client never noticed. */
  {
    g_autoptr(GBytes) back = sy_test_echo (other, SOUP_WEBSOCKET_DATA_TEXT, small, NULL);
    g_assert_true (g_bytes_equal (back, small));
  }
  WAIT_UNTIL (sy_server_get_n_connections (server) == 1, 5000);

  sy_test_close_and_wait (other);
  sy_server_stop (server);
}

static void
on_model_changed (GListModel *model,
                  guint       position,
                  guint       removed,
                  guint       added,
                  guint      *n_changes)
{
  /* The model belongs to the thread that started the server. */
  g_assert_true (g_thread_self () == main_thread);
  (*n_changes)++;
}

static void
on_info_notify (GObject    *object,
                GParamSpec *pspec,
                guint      *n_notifies)
{
  g_assert_true (g_thread_self () == main_thread);
  (*n_notifies)++;
}

static void
test_connection_model (void)
{
  g_autoptr(SyServer) server = sy_test_server_new ();
  g_autoptr(SoupSession) session = sy_test_session_new ();
  g_autoptr(SoupWebsocketConnection) ws = NULL;
  g_autoptr(SyConnectionInfo) info = NULL;
  g_autoptr(GBytes) payload = make_payload (100, TRUE);
  g_autoptr(GError) error = NULL;
  GListModel *model;
  g_autoptr(GRegex) regex = NULL;
  guint n_changes = 0;
  guint n_notifies = 0;
  gint64 before = g_get_real_time ();

  g_object_set (server, "ping-interval", 1, NULL);
  model = sy_server_get_connections (server);
  g_signal_connect (model, "items-changed", G_CALLBACK (on_model_changed), &n_changes);
  sy_test_server_start (server);
  g_assert_cmpuint (g_list_model_get_n_items (model), ==, 0);

  ws = sy_test_connect (session, server, "switchyard.echo.v1", &error);
  g_assert_no_error (error);
  WAIT_UNTIL (g_list_model_get_n_items (model) == 1, 5000);
  g_assert_cmpuint (n_changes, >=, 1);

  info = g_list_model_get_item (model, 0);
  g_signal_connect (info, "notify", G_CALLBACK (on_info_notify), &n_notifies);
  g_assert_cmpuint (sy_connection_info_get_id (info), >, 0);
  g_assert_cmpstr (sy_connection_info_get_subprotocol (info), ==, "switchyard.echo.v1");
  /* The role the server grants, until tokens say otherwise. */
  g_assert_cmpint (sy_connection_info_get_role (info), ==, SY_ROLE_CONTROL);
  g_assert_null (sy_connection_info_get_origin (info));
  g_assert_cmpint (sy_connection_info_get_connected_since (info), >=, before);
  g_assert_cmpint (sy_connection_info_get_connected_since (info), <=, g_get_real_time ());

  /* The peer is the client's loopback address and its port. */
  regex = g_regex_new ("^127\\.0\\.0\\.1:[1-9][0-9]{0,4}$", 0, 0, NULL);
  g_assert_true (g_regex_match (regex, sy_connection_info_get_peer (info), 0, NULL));

  for (guint i = 0; i < 3; i++)
    {
      g_autoptr(GBytes) back = sy_test_echo (ws, SOUP_WEBSOCKET_DATA_TEXT, payload, NULL);
      g_assert_true (g_bytes_equal (back, payload));
    }

  /* Figures arrive on the GUI thread with notifications. */
  WAIT_UNTIL (sy_connection_info_get_messages_in (info) == 3 &&
              sy_connection_info_get_messages_out (info) == 3, 5000);
  /* Three masked frames of 100 bytes: 2 + 4 + 100 each at least. */
  g_assert_cmpuint (sy_connection_info_get_bytes_in (info), >=, 3 * 106);
  g_assert_cmpuint (sy_connection_info_get_bytes_out (info), >=, 3 * 102);
  g_assert_cmpuint (n_notifies, >, 0);

  /* A keepalive ping goes out every second; its pong gives the RTT. */
  WAIT_UNTIL (sy_connection_info_get_rtt (info) >= 0, 5000);
  g_assert_cmpint (sy_connection_info_get_rtt (info), <, G_USEC_PER_SEC);
  WAIT_UNTIL (sy_connection_info_get_queued (info) == 0, 5000);

  sy_test_close_and_wait (ws);
  WAIT_UNTIL (g_list_model_get_n_items (model) == 0, 5000);
  g_assert_cmpint (sy_connection_info_get_state (info), ==, SOUP_WEBSOCKET_STATE_CLOSED);
  g_assert_cmpuint (sy_connection_info_get_close_code (info), ==, SOUP_WEBSOCKET_CLOSE_NORMAL);

  sy_server_stop (server);
  g_signal_handlers_disconnect_by_data (model, &n_changes);
}

static void
test_operator_close (void)
{
  g_autoptr(SyServer) server = sy_test_server_new ();
  g_autoptr(SoupSession) session = sy_test_session_new ();
  g_autoptr(SoupWebsocketConnection) ws = NULL;
  g_autoptr(SoupWebsocketConnection) bystander = NULL;
  g_autoptr(SyConnectionInfo) info = NULL;
  g_autoptr(GError) error = NULL;
  GListModel *model = sy_server_get_connections (server);

  sy_test_server_start (server);
  ws = sy_test_connect (session, server, "switchyard.echo.v1", &error);
  g_assert_no_error (error);
  WAIT_UNTIL (g_list_model_get_n_items (model) == 1, 5000);
  info = g_list_model_get_item (model, 0);

  bystander = sy_test_connect (session, server, "switchyard.echo.v1", &error);
  g_assert_no_error (error);
  WAIT_UNTIL (g_list_model_get_n_items (model) == 2, 5000);

  sy_server_close_connection (server, sy_connection_info_get_id (info),
                              SY_CLOSE_BY_OPERATOR, "maintenance window");
  WAIT_UNTIL (soup_websocket_connection_get_state (ws) == SOUP_WEBSOCKET_STATE_CLOSED, 5000);
  g_assert_cmpuint (soup_websocket_connection_get_close_code (ws), ==, 4001);
  g_assert_cmpstr (soup_websocket_connection_get_close_data (ws), ==, "maintenance window");
  WAIT_UNTIL (g_list_model_get_n_items (model) == 1, 5000);

  /* Closing an id that is gone is harmless. */
  sy_server_close_connection (server, sy_connection_info_get_id (info), SY_CLOSE_BY_OPERATOR, NULL);
  g_assert_cmpint (soup_websocket_connection_get_state (bystander), ==, SOUP_WEBSOCKET_STATE_OPEN);

  sy_test_close_and_wait (bystander);
  sy_server_stop (server);
}

static void
test_stop_closes_with_1001 (void)
{
  g_autoptr(SyServer) server = sy_test_server_new ();
  g_autoptr(SoupSession) session = sy_test_session_new ();
  g_autoptr(SoupWebsocketConnection) ws = NULL;
  g_autoptr(GError) error = NULL;
  GListModel *model = sy_server_get_connections (server);
  gint64 start;

  sy_test_server_start (server);
  ws = sy_test_connect (session, server, "switchyard.echo.v1", &error);
  g_assert_no_error (error);
  WAIT_UNTIL (g_list_model_get_n_items (model) == 1, 5000);

  /* The client shares this thread, so it cannot answer while stop()
   * waits: the server must give up on it within its deadline. */
  start = g_get_monotonic_time ();
  sy_server_stop (server);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 2 * G_USEC_PER_SEC);
  g_assert_cmpuint (g_list_model_get_n_items (model), ==, 0);

  WAIT_UNTIL (soup_websocket_connection_get_state (ws) == SOUP_WEBSOCKET_STATE_CLOSED, 10000);
  g_assert_cmpuint (soup_websocket_connection_get_close_code (ws), ==, SOUP_WEBSOCKET_CLOSE_GOING_AWAY);
  g_assert_cmpstr (soup_websocket_connection_get_close_data (ws), ==, "server shutting down");
}

int
main (int   argc,
      char *argv[])
{
  sy_test_init (&argc, &argv);
  main_thread = g_thread_self ();

  g_test_add_func ("/core/server/start-stop", test_start_stop);
  g_test_add_func ("/core/server/port-in-use", test_port_in_use);
  g_test_add_func ("/core/server/bad-bind-address", test_bad_bind_address);
  g_test_add_func ("/core/server/static-routes", test_static_routes);
  g_test_add_func ("/core/server/status", test_status);
  g_test_add_func ("/core/server/handshake-refusals", test_handshake_refusals);
  g_test_add_func ("/core/server/connection-cap", test_connection_cap);
  g_test_add_func ("/core/server/stop-closes-with-1001", test_stop_closes_with_1001);
  g_test_add_func ("/core/echo/lengths", test_echo_lengths);
  g_test_add_func ("/core/echo/over-cap", test_echo_over_cap);
  g_test_add_func ("/core/connection/model", test_connection_model);
  g_test_add_func ("/core/connection/operator-close", test_operator_close);

  return g_test_run ();
}
