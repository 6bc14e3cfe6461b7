/* sy-log-protocol.h
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include "sy-json-protocol.h"

G_BEGIN_DECLS

#define SY_LOG_PROTOCOL_NAME "switchyard.log.v1"

#define SY_TYPE_LOG_PROTOCOL (sy_log_protocol_get_type ())

G_DECLARE_FINAL_TYPE (SyLogProtocol, sy_log_protocol, SY, LOG_PROTOCOL, SyJsonProtocol)

SySubprotocol *sy_log_protocol_new (void);

G_END_DECLS
