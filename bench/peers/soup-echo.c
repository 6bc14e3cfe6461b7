/* soup-echo.c
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A peer server for the benchmarks: a stock libsoup 3 WebSocket echo
 * server, written the way libsoup's documentation shows it
 * (soup_server_add_websocket_handler, one main loop). It answers every
 * message with the same message (text stays text, binary stays binary),
 * on any path, and accepts the subprotocol switchyard.echo.v1 when a
 * client offers it.
 *
 *   soup-echo [--port N]      prints "listening PORT" once it listens
 *
 * Two settings differ from libsoup's defaults, both so that the servers
 * compared do the same work: permessage-deflate is off (Switchyard never
 * negotiates it; only the browser offers it), and the incoming payload
 * limit is raised from 128 KiB so that the 1 MiB messages of the large
 * scenario can be echoed.
 */

#define G_LOG_DOMAIN "soup-echo"

#include "config.h"

#include <glib-unix.h>
#include <libsoup/soup.h>
#include <stdio.h>
#include <stdlib.h>

#define MAX_PAYLOAD (64 * 1024 * 1024)

static void
on_message (SoupWebsocketConnection *connection,
            SoupWebsocketDataType    type,
            GBytes                  *message,
            gpointer                 user_data)
{
  /* Sending on a connection that is closing emits a critical. */
  if (soup_websocket_connection_get_state (connection) == SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_send_message (connection, type, message);
}

static void
on_closed (SoupWebsocketConnection *connection,
           gpointer                 user_data)
{
  /* Drops the reference taken in on_websocket (). */
  g_object_unref (connection);
}

static void
on_websocket (SoupServer              *server,
              SoupServerMessage       *message,
              const char              *path,
              SoupWebsocketConnection *connection,
              gpointer                 user_data)
{
  /* libsoup drops its reference when this callback returns. */
  g_object_ref (connection);
  soup_websocket_connection_set_max_incoming_payload_size (connection, MAX_PAYLOAD);
  g_signal_connect (connection, "message", G_CALLBACK (on_message), NULL);
  g_signal_connect (connection, "closed", G_CALLBACK (on_closed), NULL);
}

static gboolean
on_quit_signal (gpointer data)
{
  g_main_loop_quit (data);
  return G_SOURCE_REMOVE;
}

int
main (int   argc,
      char *argv[])
{
  const char *protocols[] = { "switchyard.echo.v1", NULL };
  int port = 0;
  const GOptionEntry entries[] = {
    { "port", 'p', 0, G_OPTION_ARG_INT, &port, "Port to listen on (0 picks a free one)", "PORT" },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new (NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr(SoupServer) server = NULL;
  GSList *uris;

  g_option_context_set_summary (context, "A stock libsoup WebSocket echo server (bench/README.md).");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      fprintf (stderr, "soup-echo: %s\n", error->message);
      return 2;
    }

  server = soup_server_new (NULL, NULL);
  soup_server_remove_websocket_extension (server, SOUP_TYPE_WEBSOCKET_EXTENSION_DEFLATE);
  soup_server_add_websocket_handler (server, NULL, NULL, (char **) protocols,
                                     on_websocket, NULL, NULL);
  if (!soup_server_listen_local (server, (guint) port, SOUP_SERVER_LISTEN_IPV4_ONLY, &error))
    {
      fprintf (stderr, "soup-echo: cannot listen: %s\n", error->message);
      return 1;
    }

  uris = soup_server_get_uris (server);
  printf ("listening %d\n", g_uri_get_port (uris->data));
  fflush (stdout);
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);

  g_unix_signal_add (SIGTERM, on_quit_signal, loop);
  g_unix_signal_add (SIGINT, on_quit_signal, loop);
  g_main_loop_run (loop);

  return EXIT_SUCCESS;
}
