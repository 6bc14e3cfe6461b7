/* test-client.c
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "test-client"

#include "config.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "sy-audit.h"
#include "sy-bench.h"
#include "sy-client.h"
#include "sy-connection-info.h"
#include "sy-server.h"
#include "sy-test-utils.h"
#include "sy-tls.h"

/* -- Synchronous helpers over the async API ------------------------------ */

typedef struct
{
  gboolean               done;
  gboolean               ok;
  GBytes                *data;
  SoupWebsocketDataType  type;
  GError                *error;
} Result;

static void
connect_cb (GObject      *object,
            GAsyncResult *result,
            gpointer      user_data)
{
  Result *r = user_data;

  r->ok = sy_client_connect_finish (SY_CLIENT (object), result, &r->error);
  r->done = TRUE;
}

static gboolean
client_connect (SyClient  *client,
                GError   **error)
{
  Result r = { 0 };

  sy_client_connect_async (client, NULL, connect_cb, &r);
  WAIT_UNTIL (r.done, 15000);
  if (r.error != NULL)
    g_propagate_error (error, r.error);

  return r.ok;
}

static void
read_cb (GObject      *object,
         GAsyncResult *result,
         gpointer      user_data)
{
  Result *r = user_data;

  r->data = sy_client_read_finish (SY_CLIENT (object), result, &r->type, &r->error);
  r->done = TRUE;
}

static GBytes *
client_read (SyClient               *client,
             guint                   timeout_ms,
             SoupWebsocketDataType  *type,
             GError                **error)
{
  Result r = { 0 };

  sy_client_read_async (client, timeout_ms, NULL, read_cb, &r);
  WAIT_UNTIL (r.done, 15000);
  if (r.error != NULL)
    g_propagate_error (error, r.error);
  if (type != NULL)
    *type = r.type;

  return r.data;
}

static JsonObject *
client_read_json (SyClient *client)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) data = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  SoupWebsocketDataType type;

  data = client_read (client, 5000, &type, &error);
  g_assert_no_error (error);
  g_assert_cmpint (type, ==, SOUP_WEBSOCKET_DATA_TEXT);
  json_parser_load_from_data (parser, g_bytes_get_data (data, NULL), g_bytes_get_size (data), &error);
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)));

  return json_object_ref (json_node_get_object (json_parser_get_root (parser)));
}

static void
close_cb (GObject      *object,
          GAsyncResult *result,
          gpointer      user_data)
{
  Result *r = user_data;

  r->ok = sy_client_close_finish (SY_CLIENT (object), result, &r->error);
  r->done = TRUE;
}

static gboolean
client_close (SyClient    *client,
              gushort      code,
              const char  *reason,
              guint        deadline_ms,
              GError     **error)
{
  Result r = { 0 };

  sy_client_close_async (client, code, reason, deadline_ms, NULL, close_cb, &r);
  WAIT_UNTIL (r.done, 15000);
  if (r.error != NULL)
    g_propagate_error (error, r.error);

  return r.ok;
}

static SyClient *
client_new_for (SyServer   *server,
                const char *protocol)
{
  g_autofree char *url = sy_test_ws_uri (server);
  g_autoptr(GError) error = NULL;
  SyClient *client = sy_client_new (url, protocol, &error);

  g_assert_no_error (error);
  g_assert_nonnull (client);

  return client;
}

/* -- A raw peer that completes the handshake and then misbehaves --------- */

typedef enum
{
  RAW_SILENT,   /* reads everything, answers nothing (no pong, no close) */
  RAW_DROP,     /* closes the TCP stream right after the handshake */
} RawMode;

typedef struct
{
  GThreadedSocketService *service;
  RawMode                 mode;
  guint                   port;
} RawPeer;

static gboolean
on_raw_run (GThreadedSocketService *service,
            GSocketConnection      *connection,
            GObject                *source,
            RawPeer                *peer)
{
  GInputStream *in = g_io_stream_get_input_stream (G_IO_STREAM (connection));
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (connection));
  g_autoptr(GString) request = g_string_new (NULL);
  g_autofree char *key = NULL;
  g_autofree char *accept = NULL;
  g_autofree char *response = NULL;
  g_autoptr(GChecksum) sha1 = g_checksum_new (G_CHECKSUM_SHA1);
  guint8 digest[20];
  gsize digest_len = sizeof digest;
  const char *line;
  char buffer[4096];

  while (strstr (request->str, "\r\n\r\n") == NULL)
    {
      gssize n = g_input_stream_read (in, buffer, sizeof buffer, NULL, NULL);

      if (n <= 0)
        return TRUE;
      g_string_append_len (request, buffer, n);
    }

  line = strstr (request->str, "Sec-WebSocket-Key: ");
  g_assert_nonnull (line);
  key = g_strndup (line + strlen ("Sec-WebSocket-Key: "), strcspn (line + strlen ("Sec-WebSocket-Key: "), "\r"));
  g_checksum_update (sha1, (const guchar *) key, -1);
  g_checksum_update (sha1, (const guchar *) "258EAFA5-E914-47DA-95CA-C5AB0DC85B11", -1);
  g_checksum_get_digest (sha1, digest, &digest_len);
  accept = g_base64_encode (digest, digest_len);
  response = g_strdup_printf ("HTTP/1.1 101 Switching Protocols\r\n"
                              "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                              "Sec-WebSocket-Accept: %s\r\n"
                              "Sec-WebSocket-Protocol: raw.v1\r\n\r\n", accept);
  g_output_stream_write_all (out, response, strlen (response), NULL, NULL, NULL);

  if (peer->mode == RAW_SILENT)
    while (g_input_stream_read (in, buffer, sizeof buffer, NULL, NULL) > 0)
      ;

  g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);

  return TRUE;
}

static RawPeer *
raw_peer_new (RawMode mode)
{
  RawPeer *peer = g_new0 (RawPeer, 1);
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(GError) error = NULL;

  peer->mode = mode;
  peer->service = G_THREADED_SOCKET_SERVICE (g_threaded_socket_service_new (4));
  g_socket_listener_add_address (G_SOCKET_LISTENER (peer->service), address,
                                 G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP,
                                 NULL, &bound, &error);
  g_assert_no_error (error);
  peer->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  g_signal_connect (peer->service, "run", G_CALLBACK (on_raw_run), peer);
  g_socket_service_start (G_SOCKET_SERVICE (peer->service));

  return peer;
}

static void
raw_peer_free (RawPeer *peer)
{
  g_socket_service_stop (G_SOCKET_SERVICE (peer->service));
  g_socket_listener_close (G_SOCKET_LISTENER (peer->service));
  g_object_unref (peer->service);
  g_free (peer);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RawPeer, raw_peer_free)

static SyClient *
raw_client_new (RawPeer *peer)
{
  g_autofree char *url = g_strdup_printf ("ws://127.0.0.1:%u/raw", peer->port);
  g_autoptr(GError) error = NULL;
  SyClient *client = sy_client_new (url, "raw.v1", &error);

  g_assert_no_error (error);

  return client;
}

/* -- Tests --------------------------------------------------------------- */

static void
test_bad_urls (void)
{
  const struct { const char *url; const char *says; } cases[] = {
    { "http://127.0.0.1:1/ws", "scheme must be ws or wss" },
    { "ftp://example.org/", "scheme must be ws or wss" },
    { "ws://127.0.0.1:1/ws#part", "fragment" },
    { "ws:///ws", "no host" },
    { "not a url", "Invalid URL" },
    { "", "Invalid URL" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(SyClient) client = sy_client_new (cases[i].url, "switchyard.echo.v1", &error);

      g_assert_null (client);
      g_assert_error (error, SY_CLIENT_ERROR, SY_CLIENT_ERROR_BAD_URL);
      g_assert_nonnull (strstr (error->message, cases[i].says));
    }
}

static void
test_refused (void)
{
  guint port = sy_test_free_port ();
  g_autofree char *url = g_strdup_printf ("ws://127.0.0.1:%u/ws", port);
  g_autofree char *where = g_strdup_printf ("127.0.0.1:%u", port);
  g_autoptr(SyClient) client = sy_client_new (url, "switchyard.echo.v1", NULL);
  g_autoptr(GError) error = NULL;

  g_assert_false (client_connect (client, &error));
  g_assert_error (error, SY_CLIENT_ERROR, SY_CLIENT_ERROR_REFUSED);
  g_assert_nonnull (strstr (error->message, where));
  g_assert_cmpuint (sy_client_get_attempts (client), ==, 1);
  g_assert_cmpuint (sy_client_get_handshake_status (client), ==, 0);
  g_assert_false (sy_client_is_open (client));
  g_assert_finalize_object (g_steal_pointer (&client));
}

static void
test_backoff (void)
{
  /* Half fixed, half jitter, doubling up to the cap. */
  g_assert_cmpuint (sy_client_backoff_delay (0, 100, 1000, 0.0), ==, 50);
  g_assert_cmpuint (sy_client_backoff_delay (0, 100, 1000, 0.999), ==, 99);
  g_assert_cmpuint (sy_client_backoff_delay (1, 100, 1000, 0.0), ==, 100);
  g_assert_cmpuint (sy_client_backoff_delay (3, 100, 1000, 0.0), ==, 400);
  g_assert_cmpuint (sy_client_backoff_delay (4, 100, 1000, 0.0), ==, 500);
  g_assert_cmpuint (sy_client_backoff_delay (40, 100, 1000, 0.5), ==, 750);
  g_assert_cmpuint (sy_client_backoff_delay (40, 100, 1000, 0.999), <=, 1000);
}

static void
test_reconnect_attempts (void)
{
  g_autofree char *url = g_strdup_printf ("ws://127.0.0.1:%u/ws", sy_test_free_port ());
  g_autoptr(SyClient) client = sy_client_new (url, "switchyard.echo.v1", NULL);
  g_autoptr(GError) error = NULL;
  gint64 start = g_get_monotonic_time ();

  sy_client_set_reconnect (client, 4, 40, 80);
  g_assert_false (client_connect (client, &error));
  g_assert_error (error, SY_CLIENT_ERROR, SY_CLIENT_ERROR_REFUSED);
  g_assert_cmpuint (sy_client_get_attempts (client), ==, 4);
  /* Three waits of at least 20, 40 and 40 ms. */
  g_assert_cmpint (g_get_monotonic_time () - start, >=, 100 * 1000);
}

static void
test_reconnect_until_up (void)
{
  g_autoptr(SyServer) server = sy_test_server_new ();
  g_autoptr(SyClient) client = NULL;
  g_autoptr(GError) error = NULL;
  Result r = { 0 };
  guint port;

  sy_test_server_start (server);
  client = client_new_for (server, "switchyard.echo.v1");
  port = sy_server_get_port (server);
  sy_server_stop (server);
  g_object_set (server, "port", port, NULL);

  /* The server comes back on the same port while the client backs off. */
  sy_client_set_reconnect (client, 50, 20, 100);
  sy_client_connect_async (client, NULL, connect_cb, &r);
  WAIT_UNTIL (sy_client_get_attempts (client) >= 2, 5000);
  sy_test_server_start (server);
  WAIT_UNTIL (r.done, 10000);
  g_assert_no_error (r.error);
  g_assert_true (r.ok);
  g_assert_cmpuint (sy_client_get_attempts (client), >=, 2);
  g_assert_true (sy_client_is_open (client));
  g_assert_true (client_close (client, 1000, NULL, 2000, &error));
  g_assert_no_error (error);
  sy_server_stop (server);
}

static void
test_echo_text_and_binary (void)
{
  g_autoptr(SyServer) server = sy_test_server_new ();
  g_autoptr(SyClient) client = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) data = NULL;
  g_autoptr(GBytes) binary = g_bytes_new_static ("\x00\x01\xff", 3);
  SoupWebsocketDataType type;

  sy_test_server_start (server);
  client = client_new_for (server, "switchyard.echo.v1");
  g_assert_true (client_connect (client, &error));
  g_assert_no_error (error);
  g_assert_true (sy_client_is_open (client));

  g_assert_true (sy_client_send_text (client, "héllo", &error));
  g_assert_no_error (error);
  g_assert_true (sy_client_send_binary (client, binary, &error));
  g_assert_no_error (error);

  data = client_read (client, 5000, &type, &error);
  g_assert_no_error (error);
  g_assert_cmpint (type, ==, SOUP_WEBSOCKET_DATA_TEXT);
  g_assert_cmpmem (g_bytes_get_data (data, NULL), g_bytes_get_size (data), "héllo", strlen ("héllo"));
  g_clear_pointer (&data, g_bytes_unref);

  data = client_read (client, 5000, &type, &error);
  g_assert_no_error (error);
  g_assert_cmpint (type, ==, SOUP_WEBSOCKET_DATA_BINARY);
  g_assert_true (g_bytes_equal (data, binary));

  /* Invalid UTF-8 is refused locally, and the connection stays up. */
  g_assert_false (sy_client_send_text (client, "\xff\xfe", &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  g_clear_error (&error);
  g_assert_true (sy_client_is_open (client));

  g_assert_true (client_close (client, 1000, "done", 2000, &error));
  g_assert_no_error (error);
  sy_server_stop (server);
  g_assert_finalize_object (g_steal_pointer (&client));
}

typedef struct
{
  SyServer *server;
  SyBench  *bench;
  SyAudit  *audit;
  char     *state_dir;
} Fixture;

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  data)
{
  g_autofree char *audit_path = NULL;
  g_autoptr(GError) error = NULL;

  fixture->state_dir = g_dir_make_tmp ("switchyard-test-XXXXXX", &error);
  g_assert_no_error (error);
  fixture->bench = sy_bench_new (42, fixture->state_dir);
  sy_bench_set_tick_hz (fixture->bench, 50);
  sy_bench_set_actuation_delay (fixture->bench, 20);
  audit_path = g_build_filename (fixture->state_dir, "audit.log", NULL);
  fixture->audit = sy_audit_new (audit_path);
  fixture->server = sy_test_server_new ();
  sy_server_install_bench (fixture->server, fixture->bench, fixture->audit);
  sy_test_server_start (fixture->server);
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  data)
{
  sy_server_stop (fixture->server);
  g_clear_object (&fixture->server);
  g_clear_object (&fixture->audit);
  g_clear_object (&fixture->bench);
  g_free (fixture->state_dir);
}

/* Each JSON subprotocol: the hello names it, the snapshot follows at once. */
static void
test_hello_and_snapshot (Fixture       *fixture,
                         gconstpointer  data)
{
  const struct { const char *protocol; const char *snapshot; } cases[] = {
    { "switchyard.sensor.v1", "sensors" },
    { "switchyard.relay.v1", "relays" },
    { "switchyard.display.v1", "notes" },
    { "switchyard.log.v1", "log" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(SyClient) client = client_new_for (fixture->server, cases[i].protocol);
      g_autoptr(GError) error = NULL;
      g_autoptr(JsonObject) hello = NULL;
      g_autoptr(JsonObject) snapshot = NULL;

      g_assert_true (client_connect (client, &error));
      g_assert_no_error (error);
      hello = client_read_json (client);
      g_assert_cmpstr (json_object_get_string_member (hello, "type"), ==, "hello");
      g_assert_cmpstr (json_object_get_string_member (hello, "protocol"), ==, cases[i].protocol);
      g_assert_cmpstr (json_object_get_string_member (hello, "server"), ==, "Switchyard");
      snapshot = client_read_json (client);
      g_assert_cmpstr (json_object_get_string_member (snapshot, "type"), ==, cases[i].snapshot);

      g_assert_true (client_close (client, 1000, NULL, 2000, &error));
      g_assert_no_error (error);
    }
}

/* A command goes up and its ack comes back through the guarded calls. */
static void
test_relay_command (Fixture       *fixture,
                    gconstpointer  data)
{
  g_autoptr(SyClient) client = client_new_for (fixture->server, "switchyard.relay.v1");
  g_autoptr(GError) error = NULL;

  g_assert_true (client_connect (client, &error));
  g_assert_no_error (error);
  g_assert_true (sy_client_send_text (client, "{\"type\":\"set\",\"id\":7,\"relay\":\"lamp\",\"on\":true}", &error));
  g_assert_no_error (error);

  for (;;)
    {
      g_autoptr(JsonObject) message = client_read_json (client);

      if (g_strcmp0 (json_object_get_string_member (message, "type"), "ack") == 0)
        {
          JsonObject *relay = json_object_get_object_member (message, "relay");

          g_assert_cmpint (json_object_get_int_member (message, "id"), ==, 7);
          g_assert_true (json_object_get_boolean_member (relay, "on"));
          break;
        }
    }

  g_assert_true (client_close (client, 1000, NULL, 2000, &error));
}

static void
test_handshake_refused (void)
{
  g_autoptr(SyServer) server = sy_test_server_new ();
  g_autoptr(SyClient) client = NULL;
  g_autoptr(SyClient) browser = NULL;
  g_autoptr(GError) error = NULL;

  sy_test_server_start (server);

  /* 400: the body lists what the server speaks. */
  client = client_new_for (server, "nope.v1");
  sy_client_set_reconnect (client, 5, 10, 20);
  g_assert_false (client_connect (client, &error));
  g_assert_error (error, SY_CLIENT_ERROR, SY_CLIENT_ERROR_HANDSHAKE);
  g_assert_cmpuint (sy_client_get_handshake_status (client), ==, 400);
  g_assert_nonnull (strstr (error->message, "HTTP 400"));
  g_assert_nonnull (sy_client_get_handshake_body (client));
  g_assert_nonnull (strstr (sy_client_get_handshake_body (client), "switchyard.echo.v1"));
  g_assert_nonnull (strstr (error->message, "switchyard.echo.v1"));
  /* A refusal that depends on the request is never retried. */
  g_assert_cmpuint (sy_client_get_attempts (client), ==, 1);
  g_clear_error (&error);

  /* 403: a browser Origin that is not the server's own. */
  browser = client_new_for (server, "switchyard.echo.v1");
  sy_client_set_origin (browser, "http://evil.example");
  g_assert_false (client_connect (browser, &error));
  g_assert_error (error, SY_CLIENT_ERROR, SY_CLIENT_ERROR_HANDSHAKE);
  g_assert_cmpuint (sy_client_get_handshake_status (browser), ==, 403);
  g_assert_nonnull (strstr (error->message, "HTTP 403"));
  g_assert_nonnull (sy_client_get_handshake_body (browser));
  g_assert_cmpuint (strlen (sy_client_get_handshake_body (browser)), >, 0);

  sy_server_stop (server);
}

static void
test_peer_close_code (void)
{
  g_autoptr(SyServer) server = sy_test_server_new ();
  g_autoptr(SyClient) client = NULL;
  g_autoptr(SyConnectionInfo) info = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) data = NULL;
  GListModel *model = sy_server_get_connections (server);

  sy_test_server_start (server);
  client = client_new_for (server, "switchyard.echo.v1");
  g_assert_true (client_connect (client, &error));
  g_assert_no_error (error);
  WAIT_UNTIL (g_list_model_get_n_items (model) == 1, 5000);
  info = g_list_model_get_item (model, 0);

  /* A message that came before the close is still read, then the close. */
  g_assert_true (sy_client_send_text (client, "before", &error));
  data = client_read (client, 5000, NULL, &error);
  g_assert_no_error (error);
  g_clear_pointer (&data, g_bytes_unref);

  sy_server_close_connection (server, sy_connection_info_get_id (info), 4001, "maintenance window");
  data = client_read (client, 5000, NULL, &error);
  g_assert_null (data);
  g_assert_error (error, SY_CLIENT_ERROR, SY_CLIENT_ERROR_CLOSED);
  g_assert_nonnull (strstr (error->message, "4001"));
  g_assert_nonnull (strstr (error->message, "maintenance window"));
  g_assert_cmpuint (sy_client_get_close_code (client), ==, 4001);
  g_assert_cmpstr (sy_client_get_close_reason (client), ==, "maintenance window");
  g_assert_false (sy_client_is_open (client));
  g_clear_error (&error);

  /* Writing after the close reports the same reason instead of aborting. */
  g_assert_false (sy_client_send_text (client, "after", &error));
  g_assert_error (error, SY_CLIENT_ERROR, SY_CLIENT_ERROR_CLOSED);
  g_clear_error (&error);
  g_assert_false (client_close (client, 1000, NULL, 1000, &error));
  g_assert_error (error, SY_CLIENT_ERROR, SY_CLIENT_ERROR_CLOSED);

  sy_server_stop (server);
}

static void
test_read_timeout (void)
{
  g_autoptr(SyServer) server = sy_test_server_new ();
  g_autoptr(SyClient) client = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) data = NULL;
  gint64 start;
  gint64 elapsed;

  sy_test_server_start (server);
  client = client_new_for (server, "switchyard.echo.v1");
  g_assert_true (client_connect (client, &error));
  g_assert_no_error (error);

  start = g_get_monotonic_time ();
  data = client_read (client, 150, NULL, &error);
  elapsed = g_get_monotonic_time () - start;
  g_assert_null (data);
  g_assert_error (error, SY_CLIENT_ERROR, SY_CLIENT_ERROR_TIMEOUT);
  g_assert_cmpint (elapsed, >=, 140 * 1000);
  g_assert_cmpint (elapsed, <, 3000 * 1000);
  g_clear_error (&error);

  /* A timeout leaves the connection usable. */
  g_assert_true (sy_client_is_open (client));
  g_assert_true (sy_client_send_text (client, "still here", &error));
  data = client_read (client, 5000, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (g_bytes_get_data (data, NULL), g_bytes_get_size (data), "still here", 10);

  g_assert_true (client_close (client, 1000, NULL, 2000, &error));
  sy_server_stop (server);
}

static void
test_clean_close (void)
{
  g_autoptr(SyServer) server = sy_test_server_new ();
  g_autoptr(SyClient) client = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) data = NULL;

  sy_test_server_start (server);
  client = client_new_for (server, "switchyard.echo.v1");
  g_assert_true (client_connect (client, &error));
  g_assert_no_error (error);

  g_assert_true (client_close (client, 1000, "bye", 2000, &error));
  g_assert_no_error (error);
  /* The peer's answer echoes our code. */
  g_assert_cmpuint (sy_client_get_close_code (client), ==, 1000);
  g_assert_false (sy_client_is_open (client));

  g_assert_false (sy_client_send_text (client, "late", &error));
  g_assert_error (error, SY_CLIENT_ERROR, SY_CLIENT_ERROR_NOT_OPEN);
  g_clear_error (&error);
  data = client_read (client, 100, NULL, &error);
  g_assert_null (data);
  g_assert_error (error, SY_CLIENT_ERROR, SY_CLIENT_ERROR_NOT_OPEN);

  WAIT_UNTIL (sy_server_get_n_connections (server) == 0, 5000);
  sy_server_stop (server);
  g_assert_finalize_object (g_steal_pointer (&client));
}

/* A peer that never answers the close frame: the deadline is ours. */
static void
test_unclean_close (void)
{
  g_autoptr(RawPeer) peer = raw_peer_new (RAW_SILENT);
  g_autoptr(SyClient) client = raw_client_new (peer);
  g_autoptr(GError) error = NULL;
  gint64 start;

  g_assert_true (client_connect (client, &error));
  g_assert_no_error (error);

  start = g_get_monotonic_time ();
  g_assert_false (client_close (client, 1000, "bye", 200, &error));
  g_assert_error (error, SY_CLIENT_ERROR, SY_CLIENT_ERROR_TIMEOUT);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 2000 * 1000);
  g_assert_cmpuint (sy_client_get_close_code (client), ==, 0);
  WAIT_UNTIL (!sy_client_is_open (client), 5000);
}

/* A peer that drops the stream without a close frame. */
static void
test_dropped (void)
{
  g_autoptr(RawPeer) peer = raw_peer_new (RAW_DROP);
  g_autoptr(SyClient) client = raw_client_new (peer);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) data = NULL;

  g_assert_true (client_connect (client, &error));
  g_assert_no_error (error);
  data = client_read (client, 5000, NULL, &error);
  g_assert_null (data);
  g_assert_error (error, SY_CLIENT_ERROR, SY_CLIENT_ERROR_NETWORK);
  g_assert_cmpuint (sy_client_get_close_code (client), ==, 0);
}

/* Keepalive: a silent peer (no pongs) is dropped after the pong deadline;
 * a live one is not. */
static void
test_pong_deadline (void)
{
  g_autoptr(RawPeer) peer = raw_peer_new (RAW_SILENT);
  g_autoptr(SyClient) client = raw_client_new (peer);
  g_autoptr(SyServer) server = sy_test_server_new ();
  g_autoptr(SyClient) live = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) data = NULL;

  sy_client_set_keepalive (client, 1, 300);
  g_assert_true (client_connect (client, &error));
  g_assert_no_error (error);
  data = client_read (client, 10000, NULL, &error);
  g_assert_null (data);
  g_assert_error (error, SY_CLIENT_ERROR, SY_CLIENT_ERROR_TIMEOUT);
  g_assert_nonnull (strstr (error->message, "pong"));
  g_clear_error (&error);

  sy_test_server_start (server);
  live = client_new_for (server, "switchyard.echo.v1");
  /* Silence alone would drop it after 2.7 s; its pongs keep it. */
  sy_client_set_keepalive (live, 1, 700);
  g_assert_true (client_connect (live, &error));
  g_assert_no_error (error);
  data = client_read (live, 3500, NULL, &error);
  g_assert_error (error, SY_CLIENT_ERROR, SY_CLIENT_ERROR_TIMEOUT);
  g_assert_null (strstr (error->message, "pong"));
  g_assert_true (sy_client_is_open (live));
  g_clear_error (&error);
  g_assert_true (client_close (live, 1000, NULL, 2000, &error));
  sy_server_stop (server);
}

/* wss://: the server's certificate is refused until the client trusts it. */
static void
test_wss (void)
{
  g_autoptr(SyServer) server = sy_test_server_new ();
  g_autoptr(GTlsCertificate) certificate = NULL;
  g_autoptr(GTlsDatabase) database = NULL;
  g_autoptr(SyClient) untrusting = NULL;
  g_autoptr(SyClient) client = NULL;
  g_autoptr(GBytes) data = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *cert = NULL;
  g_autofree char *key = NULL;
  g_autofree char *url = NULL;

  if (!g_file_test ("/usr/bin/openssl", G_FILE_TEST_IS_EXECUTABLE))
    {
      g_test_skip ("no openssl(1) to make a certificate");
      return;
    }

  dir = g_dir_make_tmp ("switchyard-tls-XXXXXX", &error);
  g_assert_no_error (error);
  cert = g_build_filename (dir, "cert.pem", NULL);
  key = g_build_filename (dir, "key.pem", NULL);
  sy_test_make_certificate (cert, key);
  certificate = sy_tls_load_certificate (cert, key, &error);
  g_assert_no_error (error);
  g_object_set (server, "tls-certificate", certificate, NULL);
  sy_test_server_start (server);
  url = g_strdup_printf ("wss://localhost:%u/ws", sy_server_get_port (server));

  untrusting = sy_client_new (url, "switchyard.echo.v1", &error);
  g_assert_no_error (error);
  g_assert_false (client_connect (untrusting, &error));
  g_assert_error (error, SY_CLIENT_ERROR, SY_CLIENT_ERROR_NETWORK);
  g_assert_nonnull (strstr (error->message, "TLS"));
  g_clear_error (&error);

  database = g_tls_file_database_new (cert, &error);
  g_assert_no_error (error);
  client = sy_client_new (url, "switchyard.echo.v1", &error);
  sy_client_set_tls_database (client, database);
  g_assert_true (client_connect (client, &error));
  g_assert_no_error (error);
  g_assert_true (sy_client_send_text (client, "over tls", &error));
  data = client_read (client, 5000, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (g_bytes_get_data (data, NULL), g_bytes_get_size (data), "over tls", 8);
  g_assert_true (client_close (client, 1000, NULL, 2000, &error));
  g_assert_no_error (error);

  sy_server_stop (server);
  g_unlink (cert);
  g_unlink (key);
  g_rmdir (dir);
}

int
main (int   argc,
      char *argv[])
{
  sy_test_init (&argc, &argv);

  g_test_add_func ("/core/client/bad-urls", test_bad_urls);
  g_test_add_func ("/core/client/refused", test_refused);
  g_test_add_func ("/core/client/backoff", test_backoff);
  g_test_add_func ("/core/client/reconnect-attempts", test_reconnect_attempts);
  g_test_add_func ("/core/client/reconnect-until-up", test_reconnect_until_up);
  g_test_add_func ("/core/client/echo", test_echo_text_and_binary);
  g_test_add ("/core/client/hello-and-snapshot", Fixture, NULL,
              fixture_set_up, test_hello_and_snapshot, fixture_tear_down);
  g_test_add ("/core/client/relay-command", Fixture, NULL,
              fixture_set_up, test_relay_command, fixture_tear_down);
  g_test_add_func ("/core/client/handshake-refused", test_handshake_refused);
  g_test_add_func ("/core/client/peer-close-code", test_peer_close_code);
  g_test_add_func ("/core/client/read-timeout", test_read_timeout);
  g_test_add_func ("/core/client/clean-close", test_clean_close);
  g_test_add_func ("/core/client/unclean-close", test_unclean_close);
  g_test_add_func ("/core/client/dropped", test_dropped);
  g_test_add_func ("/core/client/pong-deadline", test_pong_deadline);
  g_test_add_func ("/core/client/wss", test_wss);

  return g_test_run ();
}
