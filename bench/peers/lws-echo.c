/* lws-echo.c
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A peer server for the benchmarks: a libwebsockets echo server, shaped
 * like libwebsockets' minimal-ws-server examples (one protocol, one
 * service loop, writes only from the WRITEABLE callback). Every message
 * comes back whole (text stays text, binary stays binary), on any path;
 * the one protocol is switchyard.echo.v1, which libwebsockets also uses for
 * clients that offer no subprotocol.
 *
 *   lws-echo [--port N]      prints "listening PORT" once it listens
 *
 * libwebsockets hands a message over in pieces of its receive buffer;
 * they are joined here because the load client reads whole frames. A
 * connection whose echoes pile up stops being read until they drain.
 */

#define G_LOG_DOMAIN "lws-echo"

#include "config.h"

#include <glib.h>
#include <libwebsockets.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAUSE_AT  64  /* queued echoes at which reading stops */
#define RESUME_AT 16

typedef struct
{
  guint8   *data;       /* LWS_PRE bytes of headroom, then the payload */
  gsize     len;
  gboolean  binary;
} Message;

typedef struct
{
  GQueue     *out;      /* Message *, oldest first */
  GByteArray *in;       /* the message being received, after LWS_PRE bytes */
  gboolean    in_binary;
  gboolean    paused;
} Session;

static volatile sig_atomic_t quit;

static GByteArray *
message_buffer_new (void)
{
  GByteArray *buffer = g_byte_array_new ();

  g_byte_array_set_size (buffer, LWS_PRE);
  return buffer;
}

static void
message_free (gpointer data)
{
  Message *message = data;

  g_free (message->data);
  g_free (message);
}

static int
on_echo (struct lws                *wsi,
         enum lws_callback_reasons  reason,
         void                      *user,
         void                      *in,
         size_t                     len)
{
  Session *session = user;

  switch ((int) reason)
    {
    case LWS_CALLBACK_ESTABLISHED:
      session->out = g_queue_new ();
      session->in = message_buffer_new ();
      session->paused = FALSE;
      return 0;

    case LWS_CALLBACK_RECEIVE:
      if (session->in->len == LWS_PRE)
        session->in_binary = lws_frame_is_binary (wsi) != 0;
      g_byte_array_append (session->in, in, (guint) len);
      if (lws_is_final_fragment (wsi) && lws_remaining_packet_payload (wsi) == 0)
        {
          Message *message = g_new0 (Message, 1);

          message->len = session->in->len - LWS_PRE;
          message->binary = session->in_binary;
          message->data = g_byte_array_free (session->in, FALSE);
          session->in = message_buffer_new ();
          g_queue_push_tail (session->out, message);
          lws_callback_on_writable (wsi);
          if (!session->paused && g_queue_get_length (session->out) >= PAUSE_AT)
            {
              session->paused = TRUE;
              lws_rx_flow_control (wsi, 0);
            }
        }
      return 0;

    case LWS_CALLBACK_SERVER_WRITEABLE:
      {
        Message *message = g_queue_pop_head (session->out);
        int written;

        if (message == NULL)
          return 0;
        /* Whatever the socket does not take now, libwebsockets keeps and
         * sends before the next WRITEABLE. */
        written = lws_write (wsi, message->data + LWS_PRE, message->len,
                             message->binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT);
        message_free (message);
        if (written < 0)
          return -1;
        if (!g_queue_is_empty (session->out))
          lws_callback_on_writable (wsi);
        if (session->paused && g_queue_get_length (session->out) <= RESUME_AT)
          {
            session->paused = FALSE;
            lws_rx_flow_control (wsi, 1);
          }
        return 0;
      }

    case LWS_CALLBACK_CLOSED:
      if (session->out != NULL)
        g_queue_free_full (g_steal_pointer (&session->out), message_free);
      if (session->in != NULL)
        g_byte_array_unref (g_steal_pointer (&session->in));
      return 0;

    default:
      return lws_callback_http_dummy (wsi, reason, user, in, len);
    }
}

static void
on_quit_signal (int signum)
{
  quit = 1;
}

int
main (int   argc,
      char *argv[])
{
  static const struct lws_protocols protocols[] = {
    { .name = "switchyard.echo.v1", .callback = on_echo, .per_session_data_size = sizeof (Session) },
    { .name = NULL },
  };
  int port = 0;
  const GOptionEntry entries[] = {
    { "port", 'p', 0, G_OPTION_ARG_INT, &port, "Port to listen on (0 picks a free one)", "PORT" },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new (NULL);
  g_autoptr(GError) error = NULL;
  struct lws_context_creation_info info;
  struct lws_context *lws;
  struct lws_vhost *vhost;

  g_option_context_set_summary (context, "A libwebsockets echo server (bench/README.md).");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      fprintf (stderr, "lws-echo: %s\n", error->message);
      return 2;
    }

  lws_set_log_level (LLL_ERR, NULL);
  memset (&info, 0, sizeof info);
  info.port = port;
  info.iface = "127.0.0.1";
  info.protocols = protocols;
  info.options = LWS_SERVER_OPTION_DISABLE_IPV6;

  lws = lws_create_context (&info);
  if (lws == NULL)
    {
      fprintf (stderr, "lws-echo: cannot create the context on 127.0.0.1:%d\n", port);
      return 1;
    }
  vhost = lws_get_vhost_by_name (lws, "default");
  printf ("listening %d\n", vhost != NULL ? lws_get_vhost_listen_port (vhost) : port);
  fflush (stdout);

  signal (SIGTERM, on_quit_signal);
  signal (SIGINT, on_quit_signal);
  while (!quit && lws_service (lws, 0) >= 0)
    ;

  lws_context_destroy (lws);

  return EXIT_SUCCESS;
}
