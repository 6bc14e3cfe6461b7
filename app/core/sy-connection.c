/* sy-connection.c
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "sy-connection"

#include "config.h"

#include <string.h>

#include "sy-connection-private.h"

/*
 * One SyConnection per open WebSocket. It lives on the server thread only:
 * the GUI sees copies of its figures (SyConnectionStats) through the
 * server's hand-off, never the object itself.
 */

struct _SyConnection
{
  GObject                  parent_instance;

  /* Owned */
  SoupWebsocketConnection *websocket;
  SyWireGuard             *guard;
  GSocket                 *socket;
  SySubprotocol           *protocol;
  char                    *label;
  char                    *peer;
  char                    *origin;
  gpointer                 protocol_data;
  GDestroyNotify           protocol_data_destroy;
  GSource                  *close_timeout;

  guint64                  id;
  SyRole                   role;
  gint64                   connected_since;
  guint64                  messages_in;
  guint64                  messages_out;
  guint64                  frames_submitted;
  guint64                  bytes_submitted;
  gint64                   rtt;
  gint64                   last_pong;
  guint                    token_generation;
  gint64                   token_expires;
  gushort                  close_code;
  int                      process_id;
  gint64                   process_started;
  SyConnectionStats        published;
  guint                    started : 1;
  guint                    closed : 1;
};

G_DEFINE_FINAL_TYPE (SyConnection, sy_connection, G_TYPE_OBJECT)

enum {
  CLOSED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
sy_connection_clear_protocol_data (SyConnection *self)
{
  gpointer data = g_steal_pointer (&self->protocol_data);
  GDestroyNotify destroy = g_steal_pointer (&self->protocol_data_destroy);

  if (destroy != NULL && data != NULL)
    destroy (data);
}

static void
sy_connection_dispose (GObject *object)
{
  SyConnection *self = (SyConnection *)object;

  if (self->close_timeout != NULL)
    {
      g_source_destroy (self->close_timeout);
      g_clear_pointer (&self->close_timeout, g_source_unref);
    }

  if (self->websocket != NULL)
    g_signal_handlers_disconnect_by_data (self->websocket, self);
  if (self->guard != NULL)
    g_signal_handlers_disconnect_by_data (self->guard, self);

  sy_connection_clear_protocol_data (self);
  g_clear_object (&self->websocket);
  g_clear_object (&self->guard);
  g_clear_object (&self->socket);
  g_clear_object (&self->protocol);

  G_OBJECT_CLASS (sy_connection_parent_class)->dispose (object);
}

static void
sy_connection_finalize (GObject *object)
{
  SyConnection *self = (SyConnection *)object;

  g_clear_pointer (&self->label, g_free);
  g_clear_pointer (&self->peer, g_free);
  g_clear_pointer (&self->origin, g_free);

  G_OBJECT_CLASS (sy_connection_parent_class)->finalize (object);
}

static void
sy_connection_class_init (SyConnectionClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = sy_connection_dispose;
  object_class->finalize = sy_connection_finalize;

  /**
   * SyConnection::closed:
   * @self: the connection
   *
   * The WebSocket is closed and the subprotocol has been told.
   */
  signals[CLOSED] =
    g_signal_new ("closed",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 0);
}

static void
sy_connection_init (SyConnection *self)
{
  self->rtt = -1;
}

static void
on_message (SoupWebsocketConnection *websocket,
            gint                     type,
            GBytes                  *message,
            SyConnection            *self)
{
  self->messages_in++;

  /* The protocol may close us: keep ourselves alive through the call. */
  g_object_ref (self);
  sy_subprotocol_message (self->protocol, self, type, message);
  g_object_unref (self);
}

static void
on_pong (SoupWebsocketConnection *websocket,
         GBytes                  *message,
         SyConnection            *self)
{
  gint64 sent = sy_wire_guard_get_last_ping_written (self->guard);

  self->last_pong = g_get_monotonic_time ();
  sy_wire_guard_pong_received (self->guard);
  if (sent > 0)
    {
      self->rtt = self->last_pong - sent;
        }
}

static void
on_error (SoupWebsocketConnection *websocket,
          GError                  *error,
          SyConnection            *self)
{
  sy_connection_log (self, G_LOG_LEVEL_INFO, "error: %s", error->message);
}

static const char *
close_code_name (gushort code)
{
  switch (code)
    {
    case 1000: return "normal";
    case 1001: return "going away";
    case 1002: return "protocol error";
    case 1003: return "unsupported data";
    case 1005: return "no status";
    case 1006: return "abnormal";
    case 1007: return "invalid data";
    case 1008: return "policy";
    case 1009: return "too big";
    case 1011: return "internal error";
    case 4001: return "closed by the operator";
    case 4002: return "token revoked or expired";
    default:   return "other";
    }
}

static void
on_closed (SoupWebsocketConnection *websocket,
           SyConnection            *self)
{
  const char *reason;

  if (self->closed)
    return;

  self->closed = TRUE;
  self->close_code = soup_websocket_connection_get_close_code (websocket);
  reason = soup_websocket_connection_get_close_data (websocket);

  if (self->close_timeout != NULL)
    {
      g_source_destroy (self->close_timeout);
      g_clear_pointer (&self->close_timeout, g_source_unref);
    }

  g_object_ref (self);

  sy_connection_log (self, G_LOG_LEVEL_MESSAGE,
                     "closed: %u (%s)%s%s%s, %" G_GUINT64_FORMAT " messages in, %"
                     G_GUINT64_FORMAT " out",
                     self->close_code, close_code_name (self->close_code),
                     reason && *reason ? " \"" : "", reason ? reason : "",
                     reason && *reason ? "\"" : "",
                     self->messages_in, self->messages_out);

  if (self->started)
    sy_subprotocol_close (self->protocol, self);
  sy_connection_clear_protocol_data (self);

  g_signal_emit (self, signals[CLOSED], 0);

  g_object_unref (self);
}

static void
on_violation (SyWireGuard  *guard,
              guint         code,
              const char   *reason,
              SyConnection *self)
{
  sy_connection_log (self, G_LOG_LEVEL_MESSAGE, "closing with %u: %s", code, reason);
  sy_connection_close (self, code, reason);
}

SyConnection *
sy_connection_new (guint64                  id,
                   SoupWebsocketConnection *websocket,
                   SyWireGuard             *guard,
                   GSocket                 *socket,
                   SySubprotocol           *protocol,
                   SyRole                   role,
                   const char              *peer,
                   const char              *origin)
{
  SyConnection *self;

  g_return_val_if_fail (SOUP_IS_WEBSOCKET_CONNECTION (websocket), NULL);
  g_return_val_if_fail (SY_IS_WIRE_GUARD (guard), NULL);
  g_return_val_if_fail (SY_IS_SUBPROTOCOL (protocol), NULL);

  self = g_object_new (SY_TYPE_CONNECTION, NULL);
  self->id = id;
  self->websocket = g_object_ref (websocket);
  self->guard = g_object_ref (guard);
  self->socket = socket ? g_object_ref (socket) : NULL;
  self->protocol = g_object_ref (protocol);
  self->role = role;
  self->peer = g_strdup (peer ? peer : "unknown");
  self->origin = g_strdup (origin);
  self->label = g_strdup_printf ("#%" G_GUINT64_FORMAT " %s", id, self->peer);
  self->connected_since = g_get_real_time ();

  g_signal_connect (websocket, "message", G_CALLBACK (on_message), self);
  g_signal_connect (websocket, "pong", G_CALLBACK (on_pong), self);
  g_signal_connect (websocket, "error", G_CALLBACK (on_error), self);
  g_signal_connect (websocket, "closed", G_CALLBACK (on_closed), self);
  g_signal_connect (guard, "violation", G_CALLBACK (on_violation), self);

  return self;
}

/* Hands the open connection to its subprotocol. */
void
sy_connection_start (SyConnection *self)
{
  g_return_if_fail (SY_IS_CONNECTION (self));
  g_return_if_fail (!self->started);

  self->started = TRUE;
  sy_connection_log (self, G_LOG_LEVEL_MESSAGE, "open (origin %s, role %s)",
                     self->origin ? self->origin : "none",
                     sy_role_to_string (self->role));
  sy_subprotocol_open (self->protocol, self);
}

guint64
sy_connection_get_id (SyConnection *self)
{
  g_return_val_if_fail (SY_IS_CONNECTION (self), 0);
  return self->id;
}

/**
 * sy_connection_get_label:
 * @self: a #SyConnection
 *
 * Returns: the identity used in log lines: `#ID peer-address:port`
 */
const char *
sy_connection_get_label (SyConnection *self)
{
  g_return_val_if_fail (SY_IS_CONNECTION (self), NULL);
  return self->label;
}

const char *
sy_connection_get_peer (SyConnection *self)
{
  g_return_val_if_fail (SY_IS_CONNECTION (self), NULL);
  return self->peer;
}

const char *
sy_connection_get_origin (SyConnection *self)
{
  g_return_val_if_fail (SY_IS_CONNECTION (self), NULL);
  return self->origin;
}

const char *
sy_connection_get_subprotocol (SyConnection *self)
{
  g_return_val_if_fail (SY_IS_CONNECTION (self), NULL);
  return sy_subprotocol_get_name (self->protocol);
}

SyRole
sy_connection_get_role (SyConnection *self)
{
  g_return_val_if_fail (SY_IS_CONNECTION (self), SY_ROLE_NONE);
  return self->role;
}

gint64
sy_connection_get_connected_since (SyConnection *self)
{
  g_return_val_if_fail (SY_IS_CONNECTION (self), 0);
  return self->connected_since;
}

SoupWebsocketState
sy_connection_get_state (SyConnection *self)
{
  g_return_val_if_fail (SY_IS_CONNECTION (self), SOUP_WEBSOCKET_STATE_CLOSED);

  if (self->closed || self->websocket == NULL)
    return SOUP_WEBSOCKET_STATE_CLOSED;

  return soup_websocket_connection_get_state (self->websocket);
}

guint64
sy_connection_get_messages_in (SyConnection *self)
{
  g_return_val_if_fail (SY_IS_CONNECTION (self), 0);
  return self->messages_in;
}

guint64
sy_connection_get_messages_out (SyConnection *self)
{
  g_return_val_if_fail (SY_IS_CONNECTION (self), 0);
  return self->messages_out;
}

/**
 * sy_connection_get_bytes_in:
 * @self: a #SyConnection
 *
 * Returns: bytes read from the socket since the upgrade, frame headers included
 */
guint64
sy_connection_get_bytes_in (SyConnection *self)
{
  g_return_val_if_fail (SY_IS_CONNECTION (self), 0);
  return self->guard ? sy_wire_guard_get_bytes_in (self->guard) : 0;
}

/**
 * sy_connection_get_bytes_out:
 * @self: a #SyConnection
 *
 * Returns: bytes written to the socket since the upgrade, frame headers included
 */
guint64
sy_connection_get_bytes_out (SyConnection *self)
{
  g_return_val_if_fail (SY_IS_CONNECTION (self), 0);
  return self->guard ? sy_wire_guard_get_bytes_out (self->guard) : 0;
}

/**
 * sy_connection_get_rtt:
 * @self: a #SyConnection
 *
 * Returns: the last ping-to-pong round trip in microseconds, or -1
 */
gint64
sy_connection_get_rtt (SyConnection *self)
{
  g_return_val_if_fail (SY_IS_CONNECTION (self), -1);
  return self->rtt;
}

/**
 * sy_connection_get_queued:
 * @self: a #SyConnection
 *
 * Returns: messages sent but not yet completely written to the socket
 */
guint
sy_connection_get_queued (SyConnection *self)
{
  guint64 written;

  g_return_val_if_fail (SY_IS_CONNECTION (self), 0);

  if (self->guard == NULL)
    return 0;

  written = sy_wire_guard_get_data_frames_written (self->guard);

  return written >= self->frames_submitted ? 0 : (guint) (self->frames_submitted - written);
}

gushort
sy_connection_get_close_code (SyConnection *self)
{
  g_return_val_if_fail (SY_IS_CONNECTION (self), 0);
  return self->close_code;
}

/* Payload bytes sent but not yet written to the socket. */
static guint64
queued_bytes (SyConnection *self)
{
  guint64 written = self->guard ? sy_wire_guard_get_data_bytes_written (self->guard) : 0;

  return written >= self->bytes_submitted ? 0 : self->bytes_submitted - written;
}

/* Like libsoup's own check: UTF-8, where NUL is a valid character. */
static gboolean
text_is_valid (const char *data,
               gsize       len)
{
  const char *end = data + len;

  while (data < end)
    {
      const char *nul = memchr (data, '\0', end - data);
      const char *stop = nul ? nul : end;

      if (!g_utf8_validate (data, stop - data, NULL))
        return FALSE;

      data = nul ? nul + 1 : end;
    }

  return TRUE;
}

/**
 * sy_connection_send:
 * @self: a #SyConnection
 * @type: %SOUP_WEBSOCKET_DATA_TEXT or %SOUP_WEBSOCKET_DATA_BINARY
 * @payload: the message
 *
 * Queues a message. Never complains about the connection's state: a send on
 * a connection that is closing or closed, or of text that is not UTF-8, is
 * simply not done.
 *
 * Returns: whether the message was queued
 */
gboolean
sy_connection_send (SyConnection          *self,
                    SoupWebsocketDataType  type,
                    GBytes                *payload)
{
  gconstpointer data;
  gsize len;

  g_return_val_if_fail (SY_IS_CONNECTION (self), FALSE);
  g_return_val_if_fail (payload != NULL, FALSE);
  g_return_val_if_fail (type == SOUP_WEBSOCKET_DATA_TEXT ||
                        type == SOUP_WEBSOCKET_DATA_BINARY, FALSE);

  if (sy_connection_get_state (self) != SOUP_WEBSOCKET_STATE_OPEN)
    return FALSE;

  /* A peer that does not read may not make the server hold its messages
   * without end: past the bound it is closed (and dropped, if it does not
   * read the close either). */
  if (sy_connection_get_queued (self) >= SY_CONNECTION_MAX_QUEUED ||
      queued_bytes (self) > MAX (SY_CONNECTION_MAX_QUEUED_BYTES,
                                 2 * sy_wire_guard_get_max_message_size (self->guard)))
    {
      sy_connection_log (self, G_LOG_LEVEL_MESSAGE, "closing with 1008: %u messages (%" G_GUINT64_FORMAT
                         " bytes) wait for a peer that does not read",
                         sy_connection_get_queued (self), queued_bytes (self));
      sy_connection_close (self, SY_CLOSE_POLICY, "too far behind: the client does not read");
      return FALSE;
    }

  data = g_bytes_get_data (payload, &len);
  if (type == SOUP_WEBSOCKET_DATA_TEXT && !text_is_valid (data, len))
    {
      sy_connection_log (self, G_LOG_LEVEL_WARNING, "refusing to send invalid UTF-8 as text");
      return FALSE;
    }

  soup_websocket_connection_send_message (self->websocket, type, payload);
  self->messages_out++;
  self->frames_submitted++;
  self->bytes_submitted += len;

  return TRUE;
}

/**
 * sy_connection_cork:
 * @self: a #SyConnection
 *
 * Holds back what is sent from now on, until sy_connection_uncork() in the
 * same turn of the main loop writes it to the socket at once. For a burst
 * of small messages to many peers, where one system call per message and
 * peer is most of the cost.
 */
void
sy_connection_cork (SyConnection *self)
{
  g_return_if_fail (SY_IS_CONNECTION (self));

  if (self->guard != NULL)
    sy_wire_guard_cork (self->guard);
}

/**
 * sy_connection_uncork:
 * @self: a #SyConnection
 *
 * Writes what was held back since sy_connection_cork().
 */
void
sy_connection_uncork (SyConnection *self)
{
  g_return_if_fail (SY_IS_CONNECTION (self));

  if (self->guard != NULL)
    sy_wire_guard_uncork (self->guard);
}

/**
 * sy_connection_send_text:
 * @self: a #SyConnection
 * @text: a NUL-terminated UTF-8 string
 *
 * Returns: whether the message was queued
 */
gboolean
sy_connection_send_text (SyConnection *self,
                         const char   *text)
{
  g_autoptr(GBytes) bytes = NULL;

  g_return_val_if_fail (SY_IS_CONNECTION (self), FALSE);
  g_return_val_if_fail (text != NULL, FALSE);

  bytes = g_bytes_new (text, strlen (text));

  return sy_connection_send (self, SOUP_WEBSOCKET_DATA_TEXT, bytes);
}

/**
 * sy_connection_abort:
 * @self: a #SyConnection
 *
 * Drops the TCP connection without a closing handshake.
 */
void
sy_connection_abort (SyConnection *self)
{
  g_return_if_fail (SY_IS_CONNECTION (self));

  if (self->closed)
    return;

  /* Shutting the socket down makes libsoup read the end of the stream and
   * finish the connection through its usual path, which emits ::closed. */
  if (self->socket != NULL)
    g_socket_shutdown (self->socket, TRUE, TRUE, NULL);
  else if (self->guard != NULL)
    g_io_stream_close (sy_wire_guard_get_base_stream (self->guard), NULL, NULL);
}

static gboolean
close_timeout_cb (gpointer data)
{
  SyConnection *self = data;

  g_clear_pointer (&self->close_timeout, g_source_unref);
  if (!self->closed)
    {
      sy_connection_log (self, G_LOG_LEVEL_INFO, "peer did not answer the close in time; dropping it");
      sy_connection_abort (self);
    }

  return G_SOURCE_REMOVE;
}

/**
 * sy_connection_close_with_timeout:
 * @self: a #SyConnection
 * @code: the close code
 * @reason: (nullable): the close reason, at most 123 bytes of UTF-8
 * @timeout_ms: how long to wait for the peer's close frame
 *
 * Starts the closing handshake. If the peer does not answer within
 * @timeout_ms the TCP connection is dropped. Does nothing if the
 * connection is already closing or closed.
 */
void
sy_connection_close_with_timeout (SyConnection *self,
                                  gushort       code,
                                  const char   *reason,
                                  guint         timeout_ms)
{
  g_autofree char *clipped = NULL;

  g_return_if_fail (SY_IS_CONNECTION (self));

  if (sy_connection_get_state (self) != SOUP_WEBSOCKET_STATE_OPEN)
    return;

  /* A close frame's payload is at most 125 bytes, two of them the code. */
  if (reason != NULL && strlen (reason) > 123)
    {
      const char *end = reason + 123;

      g_utf8_validate (reason, 123, &end);
      clipped = g_strndup (reason, end - reason);
      reason = clipped;
    }

  soup_websocket_connection_close (self->websocket, code, reason);

  if (self->close_timeout == NULL)
    {
      self->close_timeout = g_timeout_source_new (timeout_ms);
      g_source_set_callback (self->close_timeout, close_timeout_cb, self, NULL);
      g_source_set_static_name (self->close_timeout, "[sy-connection] close timeout");
      g_source_attach (self->close_timeout, g_main_context_get_thread_default ());
    }
}

/**
 * sy_connection_close:
 * @self: a #SyConnection
 * @code: the close code
 * @reason: (nullable): the close reason
 *
 * Like sy_connection_close_with_timeout() with
 * %SY_CONNECTION_CLOSE_TIMEOUT_MS.
 */
void
sy_connection_close (SyConnection *self,
                     gushort       code,
                     const char   *reason)
{
  sy_connection_close_with_timeout (self, code, reason, SY_CONNECTION_CLOSE_TIMEOUT_MS);
}

/**
 * sy_connection_set_process:
 * @self: a #SyConnection
 * @pid: the process that serves the connection, or 0 for none
 * @started: when it started, in µs of g_get_real_time()
 *
 * Tells the connections list which process serves the connection (a
 * program-backed subprotocol's).
 */
void
sy_connection_set_process (SyConnection *self,
                           int           pid,
                           gint64        started)
{
  g_return_if_fail (SY_IS_CONNECTION (self));

  self->process_id = pid;
  self->process_started = pid > 0 ? started : 0;
}

/**
 * sy_connection_get_process:
 * @self: a #SyConnection
 * @started: (out) (optional): when the process started, or 0
 *
 * Returns: the process that serves the connection, or 0
 */
int
sy_connection_get_process (SyConnection *self,
                           gint64       *started)
{
  g_return_val_if_fail (SY_IS_CONNECTION (self), 0);

  if (started != NULL)
    *started = self->process_started;

  return self->process_id;
}

gpointer
sy_connection_get_protocol_data (SyConnection *self)
{
  g_return_val_if_fail (SY_IS_CONNECTION (self), NULL);
  return self->protocol_data;
}

/**
 * sy_connection_set_protocol_data:
 * @self: a #SyConnection
 * @data: (nullable): the subprotocol's state for this connection
 * @destroy: (nullable): frees @data when replaced or when the connection closes
 */
void
sy_connection_set_protocol_data (SyConnection   *self,
                                 gpointer        data,
                                 GDestroyNotify  destroy)
{
  g_return_if_fail (SY_IS_CONNECTION (self));

  sy_connection_clear_protocol_data (self);
  self->protocol_data = data;
  self->protocol_data_destroy = destroy;
}

void
sy_connection_get_stats (SyConnection      *self,
                         SyConnectionStats *stats)
{
  g_return_if_fail (SY_IS_CONNECTION (self));
  g_return_if_fail (stats != NULL);

  stats->messages_in = self->messages_in;
  stats->messages_out = self->messages_out;
  stats->bytes_in = sy_connection_get_bytes_in (self);
  stats->bytes_out = sy_connection_get_bytes_out (self);
  stats->rtt = self->rtt;
  stats->queued = sy_connection_get_queued (self);
  stats->state = sy_connection_get_state (self);
  stats->close_code = self->close_code;
  stats->process_id = self->process_id;
  stats->process_started = self->process_started;
}

/* Fills @stats and says whether they differ from the last call's. */
gboolean
sy_connection_poll_stats (SyConnection      *self,
                          SyConnectionStats *stats)
{
  g_return_val_if_fail (SY_IS_CONNECTION (self), FALSE);

  sy_connection_get_stats (self, stats);
  if (memcmp (stats, &self->published, sizeof *stats) == 0)
    return FALSE;

  self->published = *stats;

  return TRUE;
}

/* What the connection's token was worth when it came in: its generation
 * and expiry are all that later checks need, so no token is verified
 * twice. An expiry of 0 means the connection came in without one. */
void
sy_connection_set_token_validity (SyConnection *self,
                                  guint         generation,
                                  gint64        expires_at)
{
  g_return_if_fail (SY_IS_CONNECTION (self));

  self->token_generation = generation;
  self->token_expires = expires_at;
}

gint64
sy_connection_get_token_validity (SyConnection *self,
                                  guint        *generation)
{
  g_return_val_if_fail (SY_IS_CONNECTION (self), 0);

  if (generation != NULL)
    *generation = self->token_generation;

  return self->token_expires;
}

/**
 * sy_connection_get_unanswered_ping:
 * @self: a #SyConnection
 *
 * Returns: the monotonic time the oldest ping not answered yet went out,
 *   or 0
 */
gint64
sy_connection_get_unanswered_ping (SyConnection *self)
{
  g_return_val_if_fail (SY_IS_CONNECTION (self), 0);

  /* The oldest one: with pings every second, the newest is always young. */
  return self->guard ? sy_wire_guard_get_oldest_unanswered_ping (self->guard) : 0;
}
