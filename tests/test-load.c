/* test-load.c
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <json-glib/json-glib.h>
#include <sys/resource.h>

#include "sy-log.h"
#include "sy-test-utils.h"

#define N_CLIENTS 500

typedef struct
{
  SoupWebsocketConnection *ws;
  GError                  *error;
  gboolean                 connected;
  gboolean                 echoed;
  char                    *expected;
} Client;

static void
on_client_message (SoupWebsocketConnection *ws,
                   gint                     type,
                   GBytes                  *message,
                   Client                  *client)
{
  gsize len;
  const char *data = g_bytes_get_data (message, &len);

  g_assert_cmpint (type, ==, SOUP_WEBSOCKET_DATA_TEXT);
  g_assert_cmpmem (data, len, client->expected, strlen (client->expected));
  client->echoed = TRUE;
}

static void
client_connected (GObject      *object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  Client *client = user_data;

  client->ws = soup_session_websocket_connect_finish (SOUP_SESSION (object), result, &client->error);
  client->connected = TRUE;
}

static guint
count_where (Client   *clients,
             gsize     offset)
{
  guint n = 0;

  for (guint i = 0; i < N_CLIENTS; i++)
    if (G_STRUCT_MEMBER (gboolean, &clients[i], offset))
      n++;

  return n;
}

static gint64
status_connections (SoupSession *session,
                    SyServer    *server)
{
  g_autofree char *uri = g_strdup_printf ("http://127.0.0.1:%u/api/status", sy_server_get_port (server));
  g_autoptr(GBytes) body = sy_test_http (session, "GET", uri, NULL, NULL);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;

  json_parser_load_from_data (parser, g_bytes_get_data (body, NULL), g_bytes_get_size (body), &error);
  g_assert_no_error (error);

  return json_object_get_int_member (json_node_get_object (json_parser_get_root (parser)), "connections");
}

static void
test_many_clients (void)
{
  g_autoptr(SyServer) server = sy_test_server_new ();
  g_autoptr(SoupSession) session = sy_test_session_new ();
  g_autoptr(SoupSession) status_session = sy_test_session_new ();
  g_autofree char *uri = NULL;
  Client *clients = g_new0 (Client, N_CLIENTS);
  GListModel *model = sy_server_get_connections (server);
  const char *protocols[] = { "switchyard.echo.v1", NULL };

  /* Each client is two sockets in this process. */
  sy_log_set_console (FALSE);
  /* One address opening 500 at once: no per-peer rate limit here. */
  g_object_set (server, "max-connections", 1000, "peer-rate", 0, NULL);
  sy_test_server_start (server);
  uri = sy_test_ws_uri (server);

  for (guint i = 0; i < N_CLIENTS; i++)
    {
      g_autoptr(SoupMessage) msg = soup_message_new ("GET", uri);

      soup_session_websocket_connect_async (session, msg, NULL, (char **) protocols,
                                            G_PRIORITY_DEFAULT, NULL, client_connected, &clients[i]);
    }

  WAIT_UNTIL (count_where (clients, G_STRUCT_OFFSET (Client, connected)) == N_CLIENTS, 60000);
  for (guint i = 0; i < N_CLIENTS; i++)
    {
      g_assert_no_error (clients[i].error);
      g_assert_nonnull (clients[i].ws);
    }

  WAIT_UNTIL (g_list_model_get_n_items (model) == N_CLIENTS, 10000);
  g_assert_cmpint (status_connections (status_session, server), ==, N_CLIENTS);
  g_assert_cmpuint (sy_server_get_n_connections (server), ==, N_CLIENTS);

  for (guint i = 0; i < N_CLIENTS; i++)
    {
      clients[i].expected = g_strdup_printf ("client %u says hello", i);
      g_signal_connect (clients[i].ws, "message", G_CALLBACK (on_client_message), &clients[i]);
      soup_websocket_connection_send_text (clients[i].ws, clients[i].expected);
    }
  WAIT_UNTIL (count_where (clients, G_STRUCT_OFFSET (Client, echoed)) == N_CLIENTS, 30000);

  for (guint i = 0; i < N_CLIENTS; i++)
    soup_websocket_connection_close (clients[i].ws, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);

  WAIT_UNTIL (g_list_model_get_n_items (model) == 0, 30000);
  WAIT_UNTIL (sy_server_get_n_connections (server) == 0, 5000);
  g_assert_cmpint (status_connections (status_session, server), ==, 0);

  for (guint i = 0; i < N_CLIENTS; i++)
    {
      WAIT_UNTIL (soup_websocket_connection_get_state (clients[i].ws) == SOUP_WEBSOCKET_STATE_CLOSED, 10000);
      g_assert_cmpuint (soup_websocket_connection_get_close_code (clients[i].ws), ==, SOUP_WEBSOCKET_CLOSE_NORMAL);
      g_clear_object (&clients[i].ws);
      g_free (clients[i].expected);
    }
  g_free (clients);

  sy_server_stop (server);
  sy_log_set_console (TRUE);
}

int
main (int   argc,
      char *argv[])
{
  struct rlimit limit;

  /* 500 clients and 500 server ends live in this one process. */
  if (getrlimit (RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < 4096)
    {
      limit.rlim_cur = MIN (limit.rlim_max, 4096);
      setrlimit (RLIMIT_NOFILE, &limit);
    }

  sy_test_init (&argc, &argv);

  g_test_add_func ("/core/load/500-clients", test_many_clients);

  return g_test_run ();
}
