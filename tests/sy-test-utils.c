/* sy-test-utils.c
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "sy-echo-protocol.h"
#include "sy-log.h"
#include "sy-test-utils.h"

gboolean
sy_test_tick (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

void
sy_test_init (int    *argc,
              char ***argv)
{
  /* Each test gets empty directories of its own, except display tests
   * (tests/gui-wrapper.sh): they need the system's icon themes and MIME
   * database, and their home directories are the build's already. */
  if (g_getenv ("SY_TEST_DISPLAY") != NULL)
    g_test_init (argc, argv, NULL);
  else
    g_test_init (argc, argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  sy_log_init ();
}

/* A stopped server on a free loopback port with the echo subprotocol. */
SyServer *
sy_test_server_new (void)
{
  SyServer *server = sy_server_new ();
  g_autoptr(SySubprotocol) echo = sy_echo_protocol_new ();

  sy_server_add_subprotocol (server, echo);

  return server;
}

void
sy_test_server_start (SyServer *server)
{
  g_autoptr(GError) error = NULL;

  sy_server_start (server, &error);
  g_assert_no_error (error);
  g_assert_true (sy_server_get_running (server));
  g_assert_cmpuint (sy_server_get_port (server), >, 0);
}

SoupSession *
sy_test_session_new (void)
{
  return g_object_new (SOUP_TYPE_SESSION,
                       "max-conns", 4096,
                       "max-conns-per-host", 4096,
                       "timeout", 10,
                       /* Loopback only: no proxy look-up (and no GSettings). */
                       "proxy-resolver", NULL,
                       NULL);
}

char *
sy_test_ws_uri (SyServer *server)
{
  return g_strdup_printf ("ws://127.0.0.1:%u/ws", sy_server_get_port (server));
}

typedef struct
{
  gboolean                 done;
  SoupWebsocketConnection *ws;
  GError                  *error;
} ConnectData;

static void
connect_cb (GObject      *object,
            GAsyncResult *result,
            gpointer      user_data)
{
  ConnectData *data = user_data;

  data->ws = soup_session_websocket_connect_finish (SOUP_SESSION (object), result, &data->error);
  data->done = TRUE;
}

/* Connects asynchronously (a sync call would deadlock nothing here, as the
 * server has its own thread, but the async path is what clients use). */
SoupWebsocketConnection *
sy_test_connect (SoupSession  *session,
                 SyServer     *server,
                 const char   *protocol,
                 GError      **error)
{
  g_autofree char *uri = sy_test_ws_uri (server);
  g_autoptr(SoupMessage) msg = soup_message_new ("GET", uri);
  const char *protocols[] = { protocol, NULL };
  ConnectData data = { 0 };

  soup_session_websocket_connect_async (session, msg, NULL,
                                        protocol ? (char **) protocols : NULL,
                                        G_PRIORITY_DEFAULT, NULL, connect_cb, &data);
  WAIT_UNTIL (data.done, 10000);

  if (data.error != NULL)
    g_propagate_error (error, data.error);

  return data.ws;
}

typedef struct
{
  gboolean  done;
  GBytes   *body;
  GError   *error;
} HttpData;

static void
http_cb (GObject      *object,
         GAsyncResult *result,
         gpointer      user_data)
{
  HttpData *data = user_data;

  data->body = soup_session_send_and_read_finish (SOUP_SESSION (object), result, &data->error);
  data->done = TRUE;
}

GBytes *
sy_test_http (SoupSession  *session,
              const char   *method,
              const char   *uri,
              guint        *status,
              char        **content_type)
{
  g_autoptr(SoupMessage) msg = soup_message_new (method, uri);
  HttpData data = { 0 };

  soup_session_send_and_read_async (session, msg, G_PRIORITY_DEFAULT, NULL, http_cb, &data);
  WAIT_UNTIL (data.done, 10000);
  g_assert_no_error (data.error);

  if (status != NULL)
    *status = soup_message_get_status (msg);
  if (content_type != NULL)
    *content_type = g_strdup (soup_message_headers_get_content_type (soup_message_get_response_headers (msg), NULL));

  return data.body;
}

typedef struct
{
  GBytes                *bytes;
  SoupWebsocketDataType  type;
} EchoData;

static void
on_echo_message (SoupWebsocketConnection *ws,
                 gint                     type,
                 GBytes                  *message,
                 EchoData                *data)
{
  g_assert_null (data->bytes);
  data->bytes = g_bytes_ref (message);
  data->type = type;
}

/* Sends one message and waits for the next message back. */
GBytes *
sy_test_echo (SoupWebsocketConnection *ws,
              SoupWebsocketDataType    type,
              GBytes                  *payload,
              SoupWebsocketDataType   *type_out)
{
  EchoData data = { 0 };
  gulong id;

  id = g_signal_connect (ws, "message", G_CALLBACK (on_echo_message), &data);
  soup_websocket_connection_send_message (ws, type, payload);
  WAIT_UNTIL (data.bytes != NULL, 10000);
  g_signal_handler_disconnect (ws, id);

  if (type_out != NULL)
    *type_out = data.type;

  return data.bytes;
}

void
sy_test_close_and_wait (SoupWebsocketConnection *ws)
{
  if (soup_websocket_connection_get_state (ws) == SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_close (ws, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
  WAIT_UNTIL (soup_websocket_connection_get_state (ws) == SOUP_WEBSOCKET_STATE_CLOSED, 10000);
}

/* Writes a self-signed EC certificate for "localhost" and its key as PEM
 * (with /usr/bin/openssl: callers skip when it is missing). */
void
sy_test_make_certificate (const char *cert,
                          const char *key)
{
  const char *argv[] = {
    "/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
    "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=localhost", NULL
  };
  g_autoptr(GError) error = NULL;
  int status = -1;

  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL,
                NULL, NULL, NULL, NULL, &status, &error);
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
}

/* A loopback port nobody listens on right now. */
guint
sy_test_free_port (void)
{
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(GError) error = NULL;

  socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
  g_assert_no_error (error);
  g_socket_bind (socket, address, FALSE, &error);
  g_assert_no_error (error);
  bound = g_socket_get_local_address (socket, &error);
  g_assert_no_error (error);

  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
}

static void
on_client_message (SoupWebsocketConnection *ws,
                   gint                     type,
                   GBytes                  *message,
                   SyTestClient            *client)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (type, ==, SOUP_WEBSOCKET_DATA_TEXT);
  json_parser_load_from_data (parser, g_bytes_get_data (message, NULL), g_bytes_get_size (message), &error);
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)));
  g_ptr_array_add (client->messages, json_object_ref (json_node_get_object (json_parser_get_root (parser))));
}

/* A WebSocket client of @server on @protocol that keeps what it receives. */
SyTestClient *
sy_test_client_new (SoupSession *session,
                    SyServer    *server,
                    const char  *protocol)
{
  SyTestClient *client = g_new0 (SyTestClient, 1);
  g_autoptr(GError) error = NULL;

  client->messages = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  client->ws = sy_test_connect (session, server, protocol, &error);
  g_assert_no_error (error);
  g_signal_connect (client->ws, "message", G_CALLBACK (on_client_message), client);

  return client;
}

void
sy_test_client_free (SyTestClient *client)
{
  g_signal_handlers_disconnect_by_data (client->ws, client);
  sy_test_close_and_wait (client->ws);
  g_object_unref (client->ws);
  g_ptr_array_unref (client->messages);
  g_free (client);
}

/* The next message of @type after what was read, skipping others; waits
 * up to five seconds for it. SY_TEST_TRACE=1 prints what is skipped. */
JsonObject *
sy_test_client_next (SyTestClient *client,
                     const char   *type)
{
  for (;;)
    {
      JsonObject *message;
      const char *seen;

      WAIT_UNTIL (client->read < client->messages->len, 5000);
      message = g_ptr_array_index (client->messages, client->read++);
      seen = json_object_get_string_member_with_default (message, "type", "");
      if (g_strcmp0 (seen, type) == 0)
        return message;
      if (g_getenv ("SY_TEST_TRACE") && g_strcmp0 (seen, "reading") != 0)
        {
          g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (), message);
          g_autofree char *text = json_to_string (node, FALSE);

          g_printerr ("skipped: %s\n", text);
        }
    }
}

/* The domain whose warnings are tolerated, see sy_test_tolerate_warnings(). */
static char *tolerated_domain;

static gboolean
warning_not_fatal (const char     *log_domain,
                   GLogLevelFlags  log_level,
                   const char     *message,
                   gpointer        user_data)
{
  return !(g_strcmp0 (log_domain, tolerated_domain) == 0 && (log_level & G_LOG_LEVEL_WARNING) != 0);
}

static void
log_tolerated_warning (const char     *log_domain,
                       GLogLevelFlags  log_level,
                       const char     *message,
                       gpointer        user_data)
{
  /* Without the fatal flag, a TAP run does not read it as a bail-out. */
  g_log_default_handler (log_domain, log_level & ~G_LOG_FLAG_FATAL, message, user_data);
}

/**
 * sy_test_tolerate_warnings:
 * @domain: a log domain
 *
 * Lets warnings of @domain be logged without aborting the test, for a test
 * that provokes them on purpose (a relay server losing its upstream warns).
 * Every other warning still aborts.
 *
 * Returns: what to give sy_test_end_tolerating_warnings()
 */
guint
sy_test_tolerate_warnings (const char *domain)
{
  g_free (tolerated_domain);
  tolerated_domain = g_strdup (domain);
  g_test_log_set_fatal_handler (warning_not_fatal, NULL);

  return g_log_set_handler (domain, G_LOG_LEVEL_WARNING | G_LOG_FLAG_FATAL, log_tolerated_warning, NULL);
}

void
sy_test_end_tolerating_warnings (guint handler)
{
  g_log_remove_handler (tolerated_domain, handler);
  g_test_log_set_fatal_handler (NULL, NULL);
  g_clear_pointer (&tolerated_domain, g_free);
}
