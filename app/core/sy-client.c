/* sy-client.c
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "sy-client"

#include "config.h"

#include "sy-client.h"

/*
 * A WebSocket client that never aborts: every failure comes back as a
 * GError in SY_CLIENT_ERROR that says what happened (a bad URL, a refused
 * connection, a refused handshake with the server's status and body, a
 * close by the peer with its code and reason, a timeout, a lost stream).
 *
 * Received messages are queued; sy_client_read_async() takes the oldest,
 * waiting up to a timeout. libsoup 3.2 sends keepalive pings but has no
 * pong deadline (that came in 3.6): the client watches the time of the
 * last frame it received (a pong or a message) and drops a peer that has
 * been silent for a ping interval (plus a second of timer slack) and the
 * pong deadline.
 */

#define SY_CLIENT_CONNECT_TIMEOUT_S 10
#define SY_CLIENT_BODY_MAX          4096

typedef struct
{
  SoupWebsocketDataType  type;
  GBytes                *data;
} Message;

struct _SyClient
{
  GObject                  parent_instance;

  /* Owned */
  char                    *url;
  char                    *protocol;
  char                    *token;
  char                    *origin;
  GTlsDatabase            *tls_database;
  SoupSession             *session;
  SoupWebsocketConnection *ws;
  GQueue                   messages;
  GError                  *terminal_error;
  char                    *close_reason;
  char                    *handshake_body;
  GTask                   *connect_task;
  GTask                   *read_task;
  GTask                   *close_task;

  guint                    read_timeout_id;
  gulong                   read_cancel_id;
  guint                    close_timeout_id;
  guint                    retry_id;
  guint                    pong_check_id;

  guint                    keepalive_s;
  guint                    pong_timeout_ms;
  gint64                   last_activity;

  guint                    max_attempts;
  guint                    backoff_initial_ms;
  guint                    backoff_max_ms;
  guint                    attempts;

  guint                    handshake_status;
  gushort                  close_code;
  guint                    closed : 1;
  guint                    close_requested : 1;
};

G_DEFINE_FINAL_TYPE (SyClient, sy_client, G_TYPE_OBJECT)

G_DEFINE_QUARK (sy-client-error-quark, sy_client_error)

static void
message_free (Message *message)
{
  g_bytes_unref (message->data);
  g_free (message);
}

static void
sy_client_disconnect_ws (SyClient *self)
{
  if (self->ws != NULL)
    g_signal_handlers_disconnect_by_data (self->ws, self);
  g_clear_handle_id (&self->pong_check_id, g_source_remove);
}

static void
sy_client_dispose (GObject *object)
{
  SyClient *self = SY_CLIENT (object);

  g_clear_handle_id (&self->retry_id, g_source_remove);
  g_clear_handle_id (&self->read_timeout_id, g_source_remove);
  g_clear_handle_id (&self->close_timeout_id, g_source_remove);
  if (self->ws != NULL
      && soup_websocket_connection_get_state (self->ws) == SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_close (self->ws, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, NULL);
  sy_client_disconnect_ws (self);
  g_clear_object (&self->ws);
  g_clear_object (&self->session);
  g_clear_object (&self->tls_database);
  g_queue_clear_full (&self->messages, (GDestroyNotify) message_free);

  G_OBJECT_CLASS (sy_client_parent_class)->dispose (object);
}

static void
sy_client_finalize (GObject *object)
{
  SyClient *self = SY_CLIENT (object);

  g_free (self->url);
  g_free (self->protocol);
  g_free (self->token);
  g_free (self->origin);
  g_free (self->close_reason);
  g_free (self->handshake_body);
  g_clear_error (&self->terminal_error);

  G_OBJECT_CLASS (sy_client_parent_class)->finalize (object);
}

static void
sy_client_class_init (SyClientClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = sy_client_dispose;
  object_class->finalize = sy_client_finalize;
}

static void
sy_client_init (SyClient *self)
{
  g_queue_init (&self->messages);
  self->max_attempts = 1;
  self->backoff_initial_ms = 250;
  self->backoff_max_ms = 30000;
}

/**
 * sy_client_new:
 * @url: a `ws://` or `wss://` URL with a host and no fragment
 * @protocol: the subprotocol to offer
 * @error: a place for a %SY_CLIENT_ERROR_BAD_URL error
 *
 * Returns: (transfer full) (nullable): a client that is not connected yet
 */
SyClient *
sy_client_new (const char  *url,
               const char  *protocol,
               GError     **error)
{
  g_autoptr(GUri) uri = NULL;
  g_autoptr(GError) local_error = NULL;
  SyClient *self;
  const char *scheme;

  g_return_val_if_fail (url != NULL, NULL);
  g_return_val_if_fail (protocol != NULL && *protocol != '\0', NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  uri = g_uri_parse (url, G_URI_FLAGS_ENCODED, &local_error);
  if (uri == NULL)
    {
      g_set_error (error, SY_CLIENT_ERROR, SY_CLIENT_ERROR_BAD_URL,
                   "Invalid URL '%s': %s", url, local_error->message);
      return NULL;
    }

  scheme = g_uri_get_scheme (uri);
  if (g_ascii_strcasecmp (scheme, "ws") != 0 && g_ascii_strcasecmp (scheme, "wss") != 0)
    {
      g_set_error (error, SY_CLIENT_ERROR, SY_CLIENT_ERROR_BAD_URL,
                   "Invalid URL '%s': the scheme must be ws or wss, not %s", url, scheme);
      return NULL;
    }
  if (g_uri_get_host (uri) == NULL || *g_uri_get_host (uri) == '\0')
    {
      g_set_error (error, SY_CLIENT_ERROR, SY_CLIENT_ERROR_BAD_URL,
                   "Invalid URL '%s': no host", url);
      return NULL;
    }
  if (g_uri_get_fragment (uri) != NULL)
    {
      g_set_error (error, SY_CLIENT_ERROR, SY_CLIENT_ERROR_BAD_URL,
                   "Invalid URL '%s': a WebSocket URL cannot have a fragment (#...)", url);
      return NULL;
    }

  self = g_object_new (SY_TYPE_CLIENT, NULL);
  self->url = g_strdup (url);
  self->protocol = g_strdup (protocol);

  return self;
}

void
sy_client_set_token (SyClient   *self,
                     const char *token)
{
  g_return_if_fail (SY_IS_CLIENT (self));

  g_free (self->token);
  self->token = (token != NULL && *token != '\0') ? g_strdup (token) : NULL;
}

void
sy_client_set_origin (SyClient   *self,
                      const char *origin)
{
  g_return_if_fail (SY_IS_CLIENT (self));

  g_free (self->origin);
  self->origin = (origin != NULL && *origin != '\0') ? g_strdup (origin) : NULL;
}

/**
 * sy_client_set_tls_database:
 * @self: a client
 * @database: (nullable): the certificates to trust for wss://, or %NULL for the system's
 */
void
sy_client_set_tls_database (SyClient     *self,
                            GTlsDatabase *database)
{
  g_return_if_fail (SY_IS_CLIENT (self));

  g_set_object (&self->tls_database, database);
}

/**
 * sy_client_set_keepalive:
 * @self: a client
 * @interval_s: seconds between pings, 0 for none
 * @pong_timeout_ms: how long after a ping was due the peer may stay silent
 *
 * Takes effect at the next connect.
 */
void
sy_client_set_keepalive (SyClient *self,
                         guint     interval_s,
                         guint     pong_timeout_ms)
{
  g_return_if_fail (SY_IS_CLIENT (self));

  self->keepalive_s = interval_s;
  self->pong_timeout_ms = pong_timeout_ms;
}

/**
 * sy_client_set_reconnect:
 * @self: a client
 * @max_attempts: connection attempts in one connect, at least 1
 * @initial_ms: the first delay between attempts
 * @max_ms: the longest delay between attempts
 *
 * Refused connections, lost streams and 429/503 refusals are retried with
 * exponential backoff and jitter (see sy_client_backoff_delay()); other
 * refusals (400, 401, 403, …) are final.
 */
void
sy_client_set_reconnect (SyClient *self,
                         guint     max_attempts,
                         guint     initial_ms,
                         guint     max_ms)
{
  g_return_if_fail (SY_IS_CLIENT (self));
  g_return_if_fail (initial_ms <= max_ms);

  self->max_attempts = MAX (max_attempts, 1);
  self->backoff_initial_ms = initial_ms;
  self->backoff_max_ms = max_ms;
}

/**
 * sy_client_backoff_delay:
 * @attempt: 0 for the delay after the first failure
 * @initial_ms: the first delay
 * @max_ms: the cap
 * @jitter: a random number in [0, 1)
 *
 * "Equal jitter": half of the capped exponential delay is fixed, the other
 * half random, so clients that lost the same server spread out but never
 * come back sooner than half the nominal delay.
 *
 * Returns: the delay in milliseconds
 */
guint
sy_client_backoff_delay (guint  attempt,
                         guint  initial_ms,
                         guint  max_ms,
                         double jitter)
{
  guint64 delay = initial_ms;

  g_return_val_if_fail (jitter >= 0 && jitter < 1, initial_ms);

  for (guint i = 0; i < attempt && delay < max_ms; i++)
    delay *= 2;
  delay = MIN (delay, max_ms);

  return (guint) (delay / 2 + (guint64) (jitter * (delay - delay / 2)));
}

const char *
sy_client_get_url (SyClient *self)
{
  g_return_val_if_fail (SY_IS_CLIENT (self), NULL);

  return self->url;
}

const char *
sy_client_get_protocol (SyClient *self)
{
  g_return_val_if_fail (SY_IS_CLIENT (self), NULL);

  return self->protocol;
}

/* The number of connection attempts the last connect made. */
guint
sy_client_get_attempts (SyClient *self)
{
  g_return_val_if_fail (SY_IS_CLIENT (self), 0);

  return self->attempts;
}

/* The HTTP status of a refused handshake, 0 if there was none. */
guint
sy_client_get_handshake_status (SyClient *self)
{
  g_return_val_if_fail (SY_IS_CLIENT (self), 0);

  return self->handshake_status;
}

/* The body of a refused handshake (at most 4 KiB), or %NULL. */
const char *
sy_client_get_handshake_body (SyClient *self)
{
  g_return_val_if_fail (SY_IS_CLIENT (self), NULL);

  return self->handshake_body;
}

gboolean
sy_client_is_open (SyClient *self)
{
  g_return_val_if_fail (SY_IS_CLIENT (self), FALSE);

  return self->ws != NULL && !self->closed
         && soup_websocket_connection_get_state (self->ws) == SOUP_WEBSOCKET_STATE_OPEN;
}

/* The code of the peer's close frame, 0 if none arrived (yet). */
gushort
sy_client_get_close_code (SyClient *self)
{
  g_return_val_if_fail (SY_IS_CLIENT (self), 0);

  return self->close_code;
}

const char *
sy_client_get_close_reason (SyClient *self)
{
  g_return_val_if_fail (SY_IS_CLIENT (self), NULL);

  return self->close_reason;
}

/* -- Reading ------------------------------------------------------------ */

static void
sy_client_finish_read (SyClient *self,
                       GError   *error)
{
  g_autoptr(GTask) task = g_steal_pointer (&self->read_task);
  GCancellable *cancellable;

  g_assert (task != NULL);

  g_clear_handle_id (&self->read_timeout_id, g_source_remove);
  cancellable = g_task_get_cancellable (task);
  if (self->read_cancel_id != 0)
    {
      g_signal_handler_disconnect (cancellable, self->read_cancel_id);
      self->read_cancel_id = 0;
    }

  if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, g_queue_pop_head (&self->messages), (GDestroyNotify) message_free);
}

static void
sy_client_set_terminal_error (SyClient *self,
                              GError   *error)
{
  if (self->terminal_error == NULL)
    self->terminal_error = error;
  else
    g_error_free (error);
}

static GError *
sy_client_dup_not_open_error (SyClient *self)
{
  if (self->terminal_error != NULL)
    return g_error_copy (self->terminal_error);
  if (self->ws == NULL)
    return g_error_new (SY_CLIENT_ERROR, SY_CLIENT_ERROR_NOT_OPEN, "Not connected");
  return g_error_new (SY_CLIENT_ERROR, SY_CLIENT_ERROR_NOT_OPEN, "The connection is closing");
}

static void
on_ws_message (SoupWebsocketConnection *ws,
               gint                     type,
               GBytes                  *data,
               SyClient                *self)
{
  Message *message = g_new0 (Message, 1);

  message->type = type;
  message->data = g_bytes_ref (data);
  g_queue_push_tail (&self->messages, message);
  self->last_activity = g_get_monotonic_time ();

  if (self->read_task != NULL)
    sy_client_finish_read (self, NULL);
}

static void
on_ws_pong (SoupWebsocketConnection *ws,
            GBytes                  *data,
            SyClient                *self)
{
  self->last_activity = g_get_monotonic_time ();
}

static void
on_ws_error (SoupWebsocketConnection *ws,
             GError                  *error,
             SyClient                *self)
{
  if (!self->close_requested)
    sy_client_set_terminal_error (self, g_error_new (SY_CLIENT_ERROR, SY_CLIENT_ERROR_NETWORK,
                                                     "Connection failed: %s", error->message));
}

static void
on_ws_closed (SoupWebsocketConnection *ws,
              SyClient                *self)
{
  self->closed = TRUE;
  self->close_code = soup_websocket_connection_get_close_code (ws);
  g_free (self->close_reason);
  self->close_reason = g_strdup (soup_websocket_connection_get_close_data (ws));
  g_clear_handle_id (&self->pong_check_id, g_source_remove);

  if (self->close_requested)
    sy_client_set_terminal_error (self, g_error_new (SY_CLIENT_ERROR, SY_CLIENT_ERROR_NOT_OPEN,
                                                     "The connection was closed"));
  else if (self->close_code != 0)
    sy_client_set_terminal_error (self, g_error_new (SY_CLIENT_ERROR, SY_CLIENT_ERROR_CLOSED,
                                                     "Closed by peer with code %u: %s",
                                                     self->close_code,
                                                     (self->close_reason && *self->close_reason)
                                                       ? self->close_reason : "(no reason)"));
  else
    sy_client_set_terminal_error (self, g_error_new (SY_CLIENT_ERROR, SY_CLIENT_ERROR_NETWORK,
                                                     "Connection lost without a close frame"));

  if (self->read_task != NULL && g_queue_is_empty (&self->messages))
    sy_client_finish_read (self, g_error_copy (self->terminal_error));

  if (self->close_task != NULL)
    {
      g_autoptr(GTask) task = g_steal_pointer (&self->close_task);

      g_clear_handle_id (&self->close_timeout_id, g_source_remove);
      if (self->close_code != 0)
        g_task_return_boolean (task, TRUE);
      else
        g_task_return_new_error (task, SY_CLIENT_ERROR, SY_CLIENT_ERROR_NETWORK,
                                 "The peer closed the stream without a close frame");
    }
}

static gboolean
on_read_timeout (gpointer user_data)
{
  SyClient *self = user_data;
  guint timeout_ms = GPOINTER_TO_UINT (g_task_get_task_data (self->read_task));

  self->read_timeout_id = 0;
  sy_client_finish_read (self, g_error_new (SY_CLIENT_ERROR, SY_CLIENT_ERROR_TIMEOUT,
                                            "No message within %u ms", timeout_ms));

  return G_SOURCE_REMOVE;
}

static void
on_read_cancelled (GCancellable *cancellable,
                   SyClient     *self)
{
  if (self->read_task != NULL)
    sy_client_finish_read (self, g_error_new (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                              "The read was cancelled"));
}

/**
 * sy_client_read_async:
 * @self: a client
 * @timeout_ms: how long to wait for a message, 0 for ever
 * @cancellable: (nullable): a cancellable
 * @callback: called with the oldest queued message or an error
 * @user_data: data for @callback
 *
 * Messages queued before the connection closed are still read; after them
 * the read fails with the reason of the close. One read at a time.
 */
void
sy_client_read_async (SyClient            *self,
                      guint                timeout_ms,
                      GCancellable        *cancellable,
                      GAsyncReadyCallback  callback,
                      gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (SY_IS_CLIENT (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, sy_client_read_async);
  g_task_set_task_data (task, GUINT_TO_POINTER (timeout_ms), NULL);

  if (self->read_task != NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_PENDING, "A read is already pending");
      return;
    }
  if (g_task_return_error_if_cancelled (task))
    return;
  if (!g_queue_is_empty (&self->messages))
    {
      g_task_return_pointer (task, g_queue_pop_head (&self->messages), (GDestroyNotify) message_free);
      return;
    }
  /* While closing, what the peer sent before its close frame still comes. */
  if (self->ws == NULL || self->closed)
    {
      g_task_return_error (task, sy_client_dup_not_open_error (self));
      return;
    }

  self->read_task = g_steal_pointer (&task);
  if (timeout_ms > 0)
    self->read_timeout_id = g_timeout_add (timeout_ms, on_read_timeout, self);
  if (cancellable != NULL)
    self->read_cancel_id = g_signal_connect (cancellable, "cancelled",
                                             G_CALLBACK (on_read_cancelled), self);
}

/**
 * sy_client_read_finish:
 * @self: a client
 * @result: the result
 * @type: (out) (optional): text or binary
 * @error: the reason no message came
 *
 * Returns: (transfer full) (nullable): the message's payload
 */
GBytes *
sy_client_read_finish (SyClient               *self,
                       GAsyncResult           *result,
                       SoupWebsocketDataType  *type,
                       GError                **error)
{
  Message *message;
  GBytes *data;

  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == sy_client_read_async, NULL);

  message = g_task_propagate_pointer (G_TASK (result), error);
  if (message == NULL)
    return NULL;

  if (type != NULL)
    *type = message->type;
  data = g_steal_pointer (&message->data);
  g_free (message);

  return data;
}

/* -- Writing ------------------------------------------------------------ */

gboolean
sy_client_send_text (SyClient    *self,
                     const char  *text,
                     GError     **error)
{
  g_return_val_if_fail (SY_IS_CLIENT (self), FALSE);
  g_return_val_if_fail (text != NULL, FALSE);

  if (!sy_client_is_open (self))
    {
      g_propagate_error (error, sy_client_dup_not_open_error (self));
      return FALSE;
    }
  if (!g_utf8_validate (text, -1, NULL))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                           "A text message must be valid UTF-8");
      return FALSE;
    }

  soup_websocket_connection_send_text (self->ws, text);

  return TRUE;
}

gboolean
sy_client_send_binary (SyClient  *self,
                       GBytes    *data,
                       GError   **error)
{
  gsize size;
  gconstpointer bytes;

  g_return_val_if_fail (SY_IS_CLIENT (self), FALSE);
  g_return_val_if_fail (data != NULL, FALSE);

  if (!sy_client_is_open (self))
    {
      g_propagate_error (error, sy_client_dup_not_open_error (self));
      return FALSE;
    }

  bytes = g_bytes_get_data (data, &size);
  soup_websocket_connection_send_binary (self->ws, bytes, size);

  return TRUE;
}

/* -- Closing ------------------------------------------------------------ */

static gboolean
on_close_timeout (gpointer user_data)
{
  SyClient *self = user_data;
  g_autoptr(GTask) task = g_steal_pointer (&self->close_task);
  guint deadline_ms = GPOINTER_TO_UINT (g_task_get_task_data (task));
  GIOStream *stream = soup_websocket_connection_get_io_stream (self->ws);

  self->close_timeout_id = 0;
  /* libsoup itself would wait five seconds more; the deadline is ours. */
  g_io_stream_close_async (stream, G_PRIORITY_DEFAULT, NULL, NULL, NULL);
  g_task_return_new_error (task, SY_CLIENT_ERROR, SY_CLIENT_ERROR_TIMEOUT,
                           "The peer did not answer the close within %u ms", deadline_ms);

  return G_SOURCE_REMOVE;
}

/**
 * sy_client_close_async:
 * @self: a client
 * @code: the close code to send
 * @reason: (nullable): the reason to send
 * @deadline_ms: how long to wait for the peer's close frame
 * @cancellable: (nullable): a cancellable (unused for now, kept for symmetry)
 * @callback: called when the close is over
 * @user_data: data for @callback
 *
 * sy_client_close_finish() returns %TRUE for a clean close (the peer
 * answered with a close frame in time) and an error otherwise.
 */
void
sy_client_close_async (SyClient            *self,
                       gushort              code,
                       const char          *reason,
                       guint                deadline_ms,
                       GCancellable        *cancellable,
                       GAsyncReadyCallback  callback,
                       gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (SY_IS_CLIENT (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, sy_client_close_async);
  g_task_set_task_data (task, GUINT_TO_POINTER (deadline_ms), NULL);

  if (self->close_task != NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_PENDING, "A close is already pending");
      return;
    }
  if (!sy_client_is_open (self))
    {
      g_task_return_error (task, sy_client_dup_not_open_error (self));
      return;
    }

  self->close_requested = TRUE;
  self->close_task = g_steal_pointer (&task);
  self->close_timeout_id = g_timeout_add (MAX (deadline_ms, 1), on_close_timeout, self);
  soup_websocket_connection_close (self->ws, code, reason);
}

gboolean
sy_client_close_finish (SyClient      *self,
                        GAsyncResult  *result,
                        GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == sy_client_close_async, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/* -- Connecting --------------------------------------------------------- */

static gboolean
on_pong_check (gpointer user_data)
{
  SyClient *self = user_data;
  gint64 silent_ms = (g_get_monotonic_time () - self->last_activity) / 1000;

  /* libsoup times its pings with a seconds source, which may fire up to a
   * second late: that second is part of the allowance. */
  if (self->closed || silent_ms <= (gint64) (self->keepalive_s + 1) * 1000 + self->pong_timeout_ms)
    return G_SOURCE_CONTINUE;

  self->pong_check_id = 0;
  sy_client_set_terminal_error (self, g_error_new (SY_CLIENT_ERROR, SY_CLIENT_ERROR_TIMEOUT,
                                                   "No pong within %u ms of a ping: the peer is gone",
                                                   self->pong_timeout_ms));
  g_io_stream_close_async (soup_websocket_connection_get_io_stream (self->ws),
                           G_PRIORITY_DEFAULT, NULL, NULL, NULL);

  return G_SOURCE_REMOVE;
}

static char *
sy_client_dup_effective_url (SyClient *self)
{
  g_autofree char *escaped = NULL;

  if (self->token == NULL)
    return g_strdup (self->url);

  escaped = g_uri_escape_string (self->token, NULL, FALSE);

  return g_strdup_printf ("%s%stoken=%s", self->url, strchr (self->url, '?') ? "&" : "?", escaped);
}

static void sy_client_attempt (SyClient *self);

static gboolean
is_retryable (SyClient     *self,
              const GError *error)
{
  if (g_error_matches (error, SY_CLIENT_ERROR, SY_CLIENT_ERROR_REFUSED)
      || g_error_matches (error, SY_CLIENT_ERROR, SY_CLIENT_ERROR_NETWORK))
    return TRUE;
  if (g_error_matches (error, SY_CLIENT_ERROR, SY_CLIENT_ERROR_HANDSHAKE))
    return self->handshake_status == 429 || self->handshake_status == 503;
  return FALSE;
}

static gboolean
on_retry (gpointer user_data)
{
  SyClient *self = user_data;

  self->retry_id = 0;
  sy_client_attempt (self);

  return G_SOURCE_REMOVE;
}

static void
sy_client_fail_attempt (SyClient *self,
                        GError   *error)
{
  GCancellable *cancellable = g_task_get_cancellable (self->connect_task);
  g_autoptr(GTask) task = NULL;

  if (self->attempts < self->max_attempts && is_retryable (self, error)
      && !g_cancellable_is_cancelled (cancellable))
    {
      guint delay = sy_client_backoff_delay (self->attempts - 1, self->backoff_initial_ms,
                                             self->backoff_max_ms, g_random_double ());

      g_debug ("attempt %u failed (%s); next in %u ms", self->attempts, error->message, delay);
      g_error_free (error);
      self->retry_id = g_timeout_add (delay, on_retry, self);
      return;
    }

  task = g_steal_pointer (&self->connect_task);
  g_task_return_error (task, error);
}

typedef struct
{
  SyClient    *self;
  SoupMessage *msg;
} BodyData;

static void
on_refusal_body (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  BodyData *data = user_data;
  SyClient *self = data->self;
  g_autoptr(GBytes) body = soup_session_send_and_read_finish (SOUP_SESSION (object), result, NULL);
  g_autoptr(GString) message = g_string_new (NULL);
  guint status = self->handshake_status;

  if (body != NULL && g_bytes_get_size (body) > 0)
    {
      gsize size = MIN (g_bytes_get_size (body), SY_CLIENT_BODY_MAX);

      g_free (self->handshake_body);
      self->handshake_body = g_utf8_make_valid (g_bytes_get_data (body, NULL), size);
      g_strchomp (self->handshake_body);
    }

  g_string_printf (message, "The server refused the WebSocket handshake: HTTP %u %s",
                   status, soup_status_get_phrase (status));
  if (self->handshake_body != NULL && *self->handshake_body != '\0')
    g_string_append_printf (message, ": %s", self->handshake_body);

  sy_client_fail_attempt (self, g_error_new_literal (SY_CLIENT_ERROR, SY_CLIENT_ERROR_HANDSHAKE,
                                                     message->str));
  g_object_unref (data->msg);
  g_object_unref (data->self);
  g_free (data);
}

static void
copy_header (const char *name,
             const char *value,
             gpointer    user_data)
{
  soup_message_headers_append (user_data, name, value);
}

/* libsoup 3.2 does not read the body of a refused upgrade. The refusals
 * come before any upgrade and depend on the request alone, so the same
 * request is sent once more as plain HTTP to read why. */
static void
sy_client_read_refusal (SyClient    *self,
                        SoupMessage *refused)
{
  BodyData *data = g_new0 (BodyData, 1);
  SoupMessageHeaders *headers;

  data->self = g_object_ref (self);
  data->msg = soup_message_new_from_uri ("GET", soup_message_get_uri (refused));
  headers = soup_message_get_request_headers (data->msg);
  soup_message_headers_foreach (soup_message_get_request_headers (refused), copy_header, headers);
  soup_session_send_and_read_async (self->session, data->msg, G_PRIORITY_DEFAULT,
                                    g_task_get_cancellable (self->connect_task),
                                    on_refusal_body, data);
}

/* Why a peer certificate was refused, in words. */
static char *
describe_certificate_errors (GTlsCertificateFlags flags)
{
  static const struct { GTlsCertificateFlags flag; const char *words; } reasons[] = {
    { G_TLS_CERTIFICATE_UNKNOWN_CA, "issued by an authority that is not trusted" },
    { G_TLS_CERTIFICATE_BAD_IDENTITY, "made out for another host" },
    { G_TLS_CERTIFICATE_NOT_ACTIVATED, "not valid yet" },
    { G_TLS_CERTIFICATE_EXPIRED, "expired" },
    { G_TLS_CERTIFICATE_REVOKED, "revoked" },
    { G_TLS_CERTIFICATE_INSECURE, "using an insecure algorithm" },
  };
  g_autoptr(GString) words = g_string_new (NULL);

  for (guint i = 0; i < G_N_ELEMENTS (reasons); i++)
    if (flags & reasons[i].flag)
      g_string_append_printf (words, "%s%s", words->len ? ", " : "", reasons[i].words);

  if (words->len == 0)
    g_string_append (words, "it failed validation");

  return g_string_free (g_steal_pointer (&words), FALSE);
}

static void
on_connected (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(SyClient) self = user_data;
  g_autoptr(SoupMessage) msg = g_object_steal_data (G_OBJECT (self), "sy-client-msg");
  g_autoptr(GError) error = NULL;
  g_autoptr(GTask) task = NULL;
  SoupWebsocketConnection *ws;

  ws = soup_session_websocket_connect_finish (SOUP_SESSION (object), result, &error);
  if (ws == NULL)
    {
      guint status = soup_message_get_status (msg);
      g_autoptr(GUri) uri = g_uri_parse (self->url, G_URI_FLAGS_ENCODED, NULL);
      int port = g_uri_get_port (uri);

      if (port < 0)
        port = g_ascii_strcasecmp (g_uri_get_scheme (uri), "wss") == 0 ? 443 : 80;

      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          task = g_steal_pointer (&self->connect_task);
          g_task_return_error (task, g_steal_pointer (&error));
        }
      else if (error->domain == SOUP_WEBSOCKET_ERROR && status >= 200 && status != 101)
        {
          self->handshake_status = status;
          sy_client_read_refusal (self, msg);
        }
      else if (error->domain == SOUP_WEBSOCKET_ERROR)
        {
          self->handshake_status = status;
          sy_client_fail_attempt (self, g_error_new (SY_CLIENT_ERROR, SY_CLIENT_ERROR_HANDSHAKE,
                                                     "Bad WebSocket handshake from %s:%d: %s",
                                                     g_uri_get_host (uri), port, error->message));
        }
      else if (g_error_matches (error, G_TLS_ERROR, G_TLS_ERROR_BAD_CERTIFICATE))
        {
          g_autofree char *why = describe_certificate_errors (soup_message_get_tls_peer_certificate_errors (msg));

          sy_client_fail_attempt (self, g_error_new (SY_CLIENT_ERROR, SY_CLIENT_ERROR_NETWORK,
                                                     "TLS failure with %s:%d: the server's certificate "
                                                     "is not trusted (%s)",
                                                     g_uri_get_host (uri), port, why));
        }
      else if (error->domain == G_TLS_ERROR)
        {
          sy_client_fail_attempt (self, g_error_new (SY_CLIENT_ERROR, SY_CLIENT_ERROR_NETWORK,
                                                     "TLS failure with %s:%d: %s",
                                                     g_uri_get_host (uri), port, error->message));
        }
      else if (status == 0)
        {
          sy_client_fail_attempt (self, g_error_new (SY_CLIENT_ERROR, SY_CLIENT_ERROR_REFUSED,
                                                     "Could not connect to %s:%d: %s",
                                                     g_uri_get_host (uri), port, error->message));
        }
      else
        {
          sy_client_fail_attempt (self, g_error_new (SY_CLIENT_ERROR, SY_CLIENT_ERROR_NETWORK,
                                                     "Connection to %s:%d failed: %s",
                                                     g_uri_get_host (uri), port, error->message));
        }
      return;
    }

  self->ws = ws;
  self->last_activity = g_get_monotonic_time ();
  g_signal_connect (ws, "message", G_CALLBACK (on_ws_message), self);
  g_signal_connect (ws, "pong", G_CALLBACK (on_ws_pong), self);
  g_signal_connect (ws, "error", G_CALLBACK (on_ws_error), self);
  g_signal_connect (ws, "closed", G_CALLBACK (on_ws_closed), self);
  if (self->keepalive_s > 0)
    {
      soup_websocket_connection_set_keepalive_interval (ws, self->keepalive_s);
      if (self->pong_timeout_ms > 0)
        self->pong_check_id = g_timeout_add (MIN (self->pong_timeout_ms, 1000) / 2 + 1,
                                             on_pong_check, self);
    }

  task = g_steal_pointer (&self->connect_task);
  g_task_return_boolean (task, TRUE);
}

static void
sy_client_attempt (SyClient *self)
{
  g_autofree char *url = sy_client_dup_effective_url (self);
  SoupMessage *msg = soup_message_new ("GET", url);
  char *protocols[] = { self->protocol, NULL };

  self->attempts++;
  self->handshake_status = 0;
  g_clear_pointer (&self->handshake_body, g_free);

  if (msg == NULL)
    {
      sy_client_fail_attempt (self, g_error_new (SY_CLIENT_ERROR, SY_CLIENT_ERROR_BAD_URL,
                                                 "Invalid URL '%s'", url));
      return;
    }

  g_object_set_data_full (G_OBJECT (self), "sy-client-msg", msg, g_object_unref);
  soup_session_websocket_connect_async (self->session, msg, self->origin, protocols,
                                        G_PRIORITY_DEFAULT,
                                        g_task_get_cancellable (self->connect_task),
                                        on_connected, g_object_ref (self));
}

/**
 * sy_client_connect_async:
 * @self: a client that is not connected
 * @cancellable: (nullable): a cancellable
 * @callback: called once connected, or once every attempt failed
 * @user_data: data for @callback
 */
void
sy_client_connect_async (SyClient            *self,
                         GCancellable        *cancellable,
                         GAsyncReadyCallback  callback,
                         gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (SY_IS_CLIENT (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, sy_client_connect_async);

  if (self->connect_task != NULL || self->close_task != NULL || sy_client_is_open (self))
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_PENDING,
                               "Already connected, connecting or closing");
      return;
    }

  /* A fresh start: a reconnect forgets the previous connection. */
  sy_client_disconnect_ws (self);
  g_clear_object (&self->ws);
  g_clear_error (&self->terminal_error);
  g_clear_pointer (&self->close_reason, g_free);
  g_queue_clear_full (&self->messages, (GDestroyNotify) message_free);
  self->close_code = 0;
  self->closed = FALSE;
  self->close_requested = FALSE;
  self->attempts = 0;

  if (self->session == NULL)
    {
      self->session = g_object_new (SOUP_TYPE_SESSION,
                                    "timeout", SY_CLIENT_CONNECT_TIMEOUT_S,
                                    /* No proxy look-up (and no GSettings). */
                                    "proxy-resolver", NULL,
                                    NULL);
      if (self->tls_database != NULL)
        soup_session_set_tls_database (self->session, self->tls_database);
    }

  self->connect_task = g_steal_pointer (&task);
  sy_client_attempt (self);
}

gboolean
sy_client_connect_finish (SyClient      *self,
                          GAsyncResult  *result,
                          GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == sy_client_connect_async, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}
