/* sy-connection.h
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <libsoup/soup.h>

#include "sy-types.h"

G_BEGIN_DECLS

#define SY_TYPE_CONNECTION (sy_connection_get_type ())

G_DECLARE_FINAL_TYPE (SyConnection, sy_connection, SY, CONNECTION, GObject)

/* How long a close waits for the peer's close frame by default, in ms. */
#define SY_CONNECTION_CLOSE_TIMEOUT_MS 2000

/* Messages a connection may have waiting to be written before it is closed
 * as a peer that does not read. */
#define SY_CONNECTION_MAX_QUEUED 256
/* …or this many payload bytes, or twice the largest message, if more. */
#define SY_CONNECTION_MAX_QUEUED_BYTES (4 * 1024 * 1024)

guint64             sy_connection_get_id                (SyConnection          *self);
const char         *sy_connection_get_label             (SyConnection          *self);
const char         *sy_connection_get_peer              (SyConnection          *self);
const char         *sy_connection_get_origin            (SyConnection          *self);
const char         *sy_connection_get_subprotocol       (SyConnection          *self);
SyRole              sy_connection_get_role              (SyConnection          *self);
gint64              sy_connection_get_connected_since   (SyConnection          *self);
SoupWebsocketState  sy_connection_get_state             (SyConnection          *self);
guint64             sy_connection_get_messages_in       (SyConnection          *self);
guint64             sy_connection_get_messages_out      (SyConnection          *self);
guint64             sy_connection_get_bytes_in          (SyConnection          *self);
guint64             sy_connection_get_bytes_out         (SyConnection          *self);
gint64              sy_connection_get_rtt               (SyConnection          *self);
guint               sy_connection_get_queued            (SyConnection          *self);
gushort             sy_connection_get_close_code        (SyConnection          *self);
gboolean            sy_connection_send                  (SyConnection          *self,
                                                         SoupWebsocketDataType  type,
                                                         GBytes                *payload);
void                sy_connection_cork                  (SyConnection          *self);
void                sy_connection_uncork                (SyConnection          *self);
gboolean            sy_connection_send_text             (SyConnection          *self,
                                                         const char            *text);
void                sy_connection_close                 (SyConnection          *self,
                                                         gushort                code,
                                                         const char            *reason);
void                sy_connection_close_with_timeout    (SyConnection          *self,
                                                         gushort                code,
                                                         const char            *reason,
                                                         guint                  timeout_ms);
void                sy_connection_set_process           (SyConnection          *self,
                                                         int                    pid,
                                                         gint64                 started);
int                 sy_connection_get_process           (SyConnection          *self,
                                                         gint64                *started);
gpointer            sy_connection_get_protocol_data     (SyConnection          *self);
void                sy_connection_set_protocol_data     (SyConnection          *self,
                                                         gpointer               data,
                                                         GDestroyNotify         destroy);

/**
 * sy_connection_log:
 * @connection: a #SyConnection
 * @level: a #GLogLevelFlags
 * @...: printf-style format and arguments
 *
 * Logs a line that starts with the connection's identity and carries its
 * id as a structured field, so the log panel can link it to the row.
 */
#define sy_connection_log(connection, level, ...)                              \
  G_STMT_START {                                                               \
    g_autofree char *_sy_msg = g_strdup_printf (__VA_ARGS__);                  \
    char _sy_id[24];                                                           \
    g_snprintf (_sy_id, sizeof _sy_id, "%" G_GUINT64_FORMAT,                   \
                sy_connection_get_id (connection));                            \
    /* Only MESSAGE, which comes last, is a format: other values are plain. */ \
    g_log_structured (G_LOG_DOMAIN, level,                                     \
                      "SY_CONNECTION", _sy_id,                                 \
                      "MESSAGE", "%s %s: %s",                                  \
                      sy_connection_get_label (connection),                    \
                      sy_connection_get_subprotocol (connection),              \
                      _sy_msg);                                                \
  } G_STMT_END

G_END_DECLS
