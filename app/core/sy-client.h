/* sy-client.h
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <libsoup/soup.h>

G_BEGIN_DECLS

#define SY_CLIENT_ERROR (sy_client_error_quark ())

/**
 * SyClientError:
 * @SY_CLIENT_ERROR_BAD_URL: the URL is not a usable ws:// or wss:// URL
 * @SY_CLIENT_ERROR_REFUSED: no TCP connection (refused, unreachable, name unknown)
 * @SY_CLIENT_ERROR_HANDSHAKE: the server answered the upgrade with another HTTP status
 * @SY_CLIENT_ERROR_CLOSED: the peer closed the connection (code and reason in the message)
 * @SY_CLIENT_ERROR_TIMEOUT: a read, a connect or a pong deadline passed
 * @SY_CLIENT_ERROR_NETWORK: the stream failed without a close handshake
 * @SY_CLIENT_ERROR_NOT_OPEN: the connection is not open (never opened, or closing)
 */
typedef enum
{
  SY_CLIENT_ERROR_BAD_URL,
  SY_CLIENT_ERROR_REFUSED,
  SY_CLIENT_ERROR_HANDSHAKE,
  SY_CLIENT_ERROR_CLOSED,
  SY_CLIENT_ERROR_TIMEOUT,
  SY_CLIENT_ERROR_NETWORK,
  SY_CLIENT_ERROR_NOT_OPEN,
} SyClientError;

#define SY_TYPE_CLIENT (sy_client_get_type ())

G_DECLARE_FINAL_TYPE (SyClient, sy_client, SY, CLIENT, GObject)

GQuark                sy_client_error_quark          (void);
SyClient             *sy_client_new                  (const char           *url,
                                                      const char           *protocol,
                                                      GError              **error);
void                  sy_client_set_token            (SyClient             *self,
                                                      const char           *token);
void                  sy_client_set_origin           (SyClient             *self,
                                                      const char           *origin);
void                  sy_client_set_tls_database     (SyClient             *self,
                                                      GTlsDatabase         *database);
void                  sy_client_set_keepalive        (SyClient             *self,
                                                      guint                 interval_s,
                                                      guint                 pong_timeout_ms);
void                  sy_client_set_reconnect        (SyClient             *self,
                                                      guint                 max_attempts,
                                                      guint                 initial_ms,
                                                      guint                 max_ms);
guint                 sy_client_backoff_delay        (guint                 attempt,
                                                      guint                 initial_ms,
                                                      guint                 max_ms,
                                                      double                jitter);
const char           *sy_client_get_url              (SyClient             *self);
const char           *sy_client_get_protocol         (SyClient             *self);
guint                 sy_client_get_attempts         (SyClient             *self);
guint                 sy_client_get_handshake_status (SyClient             *self);
const char           *sy_client_get_handshake_body   (SyClient             *self);
gboolean              sy_client_is_open              (SyClient             *self);
gushort               sy_client_get_close_code       (SyClient             *self);
const char           *sy_client_get_close_reason     (SyClient             *self);
void                  sy_client_connect_async        (SyClient             *self,
                                                      GCancellable         *cancellable,
                                                      GAsyncReadyCallback   callback,
                                                      gpointer              user_data);
gboolean              sy_client_connect_finish       (SyClient             *self,
                                                      GAsyncResult         *result,
                                                      GError              **error);
gboolean              sy_client_send_text            (SyClient             *self,
                                                      const char           *text,
                                                      GError              **error);
gboolean              sy_client_send_binary          (SyClient             *self,
                                                      GBytes               *data,
                                                      GError              **error);
void                  sy_client_read_async           (SyClient             *self,
                                                      guint                 timeout_ms,
                                                      GCancellable         *cancellable,
                                                      GAsyncReadyCallback   callback,
                                                      gpointer              user_data);
GBytes               *sy_client_read_finish          (SyClient             *self,
                                                      GAsyncResult         *result,
                                                      SoupWebsocketDataType *type,
                                                      GError              **error);
void                  sy_client_close_async          (SyClient             *self,
                                                      gushort               code,
                                                      const char           *reason,
                                                      guint                 deadline_ms,
                                                      GCancellable         *cancellable,
                                                      GAsyncReadyCallback   callback,
                                                      gpointer              user_data);
gboolean              sy_client_close_finish         (SyClient             *self,
                                                      GAsyncResult         *result,
                                                      GError              **error);

G_END_DECLS
