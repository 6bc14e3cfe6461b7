/* sy-wire-guard.h
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "sy-types.h"

G_BEGIN_DECLS

#define SY_TYPE_WIRE_GUARD (sy_wire_guard_get_type ())

G_DECLARE_FINAL_TYPE (SyWireGuard, sy_wire_guard, SY, WIRE_GUARD, GIOStream)

SyWireGuard *sy_wire_guard_new                       (GIOStream   *base,
                                                      guint64      max_message_size);
GIOStream   *sy_wire_guard_get_base_stream           (SyWireGuard *self);
guint64      sy_wire_guard_get_max_message_size      (SyWireGuard *self);
guint64      sy_wire_guard_get_bytes_in              (SyWireGuard *self);
guint64      sy_wire_guard_get_bytes_out             (SyWireGuard *self);
guint64      sy_wire_guard_get_data_frames_written   (SyWireGuard *self);
guint64      sy_wire_guard_get_data_bytes_written    (SyWireGuard *self);
gint64       sy_wire_guard_get_last_ping_written     (SyWireGuard *self);
gboolean     sy_wire_guard_get_violated              (SyWireGuard *self);
gint64       sy_wire_guard_get_oldest_unanswered_ping (SyWireGuard *self);
void         sy_wire_guard_pong_received             (SyWireGuard *self);
void         sy_wire_guard_cork                      (SyWireGuard *self);
void         sy_wire_guard_uncork                    (SyWireGuard *self);

G_END_DECLS
