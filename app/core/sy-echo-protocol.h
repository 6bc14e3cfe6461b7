/* sy-echo-protocol.h
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include "sy-subprotocol.h"

G_BEGIN_DECLS

#define SY_ECHO_PROTOCOL_NAME "switchyard.echo.v1"

#define SY_TYPE_ECHO_PROTOCOL (sy_echo_protocol_get_type ())

G_DECLARE_FINAL_TYPE (SyEchoProtocol, sy_echo_protocol, SY, ECHO_PROTOCOL, SySubprotocol)

SySubprotocol *sy_echo_protocol_new (void);

G_END_DECLS
