/* sy-display-protocol.h
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include "sy-audit.h"
#include "sy-json-protocol.h"

G_BEGIN_DECLS

#define SY_DISPLAY_PROTOCOL_NAME "switchyard.display.v1"
#define SY_DISPLAY_MAX_NOTES     50
#define SY_DISPLAY_MAX_CHARS     500

#define SY_TYPE_DISPLAY_PROTOCOL (sy_display_protocol_get_type ())

G_DECLARE_FINAL_TYPE (SyDisplayProtocol, sy_display_protocol, SY, DISPLAY_PROTOCOL, SyJsonProtocol)

SySubprotocol *sy_display_protocol_new  (SyAudit            *audit);
const char    *sy_display_note_check    (JsonObject         *command,
                                         char              **message);
void           sy_display_protocol_show (SyDisplayProtocol  *self,
                                         const char         *from,
                                         JsonObject         *command);

G_END_DECLS
