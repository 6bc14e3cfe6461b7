/* sy-connection-info.h
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <libsoup/soup.h>

#include "sy-types.h"

G_BEGIN_DECLS

#define SY_TYPE_CONNECTION_INFO (sy_connection_info_get_type ())

G_DECLARE_FINAL_TYPE (SyConnectionInfo, sy_connection_info, SY, CONNECTION_INFO, GObject)

guint64             sy_connection_info_get_id               (SyConnectionInfo *self);
const char         *sy_connection_info_get_peer             (SyConnectionInfo *self);
const char         *sy_connection_info_get_origin           (SyConnectionInfo *self);
const char         *sy_connection_info_get_subprotocol      (SyConnectionInfo *self);
SyRole              sy_connection_info_get_role             (SyConnectionInfo *self);
gint64              sy_connection_info_get_connected_since  (SyConnectionInfo *self);
guint64             sy_connection_info_get_messages_in      (SyConnectionInfo *self);
guint64             sy_connection_info_get_messages_out     (SyConnectionInfo *self);
guint64             sy_connection_info_get_bytes_in         (SyConnectionInfo *self);
guint64             sy_connection_info_get_bytes_out        (SyConnectionInfo *self);
gint64              sy_connection_info_get_rtt              (SyConnectionInfo *self);
guint               sy_connection_info_get_queued           (SyConnectionInfo *self);
SoupWebsocketState  sy_connection_info_get_state            (SyConnectionInfo *self);
guint               sy_connection_info_get_close_code       (SyConnectionInfo *self);
int                 sy_connection_info_get_process_id       (SyConnectionInfo *self);
gint64              sy_connection_info_get_process_started  (SyConnectionInfo *self);

G_END_DECLS
