/* sy-connection-private.h
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include "sy-connection.h"
#include "sy-subprotocol.h"
#include "sy-wire-guard.h"

G_BEGIN_DECLS

/* What the GUI thread is told about a connection: plain values, copied. */
/* Compared with memcmp(): always zero-fill before filling in. */
typedef struct
{
  guint64            messages_in;
  guint64            messages_out;
  guint64            bytes_in;
  guint64            bytes_out;
  gint64             rtt;
  guint              queued;
  SoupWebsocketState state;
  gushort            close_code;
  int                process_id;
  gint64             process_started;
} SyConnectionStats;

SyConnection *sy_connection_new           (guint64                  id,
                                           SoupWebsocketConnection *websocket,
                                           SyWireGuard             *guard,
                                           GSocket                 *socket,
                                           SySubprotocol           *protocol,
                                           SyRole                   role,
                                           const char              *peer,
                                           const char              *origin);
void          sy_connection_start         (SyConnection            *self);
void          sy_connection_abort         (SyConnection            *self);
void          sy_connection_get_stats     (SyConnection            *self,
                                           SyConnectionStats       *stats);
void          sy_connection_set_token_validity (SyConnection       *self,
                                                guint               generation,
                                                gint64              expires_at);
gint64        sy_connection_get_token_validity (SyConnection       *self,
                                                guint              *generation);
gint64        sy_connection_get_unanswered_ping (SyConnection      *self);
gboolean      sy_connection_poll_stats    (SyConnection            *self,
                                           SyConnectionStats       *stats);

G_END_DECLS
