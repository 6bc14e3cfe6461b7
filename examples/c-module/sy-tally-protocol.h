/* sy-tally-protocol.h
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include "sy-subprotocol.h"

G_BEGIN_DECLS

#define SY_TALLY_PROTOCOL_NAME "example.tally.v1"

#define SY_TYPE_TALLY_PROTOCOL (sy_tally_protocol_get_type ())

G_DECLARE_FINAL_TYPE (SyTallyProtocol, sy_tally_protocol, SY, TALLY_PROTOCOL, SySubprotocol)

SySubprotocol *sy_tally_protocol_new       (void);
guint          sy_tally_protocol_get_total (SyTallyProtocol *self);

G_END_DECLS
