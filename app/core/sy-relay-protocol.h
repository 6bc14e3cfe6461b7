/* sy-relay-protocol.h
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include "sy-audit.h"
#include "sy-bench.h"
#include "sy-json-protocol.h"

G_BEGIN_DECLS

#define SY_RELAY_PROTOCOL_NAME "switchyard.relay.v1"

#define SY_TYPE_RELAY_PROTOCOL (sy_relay_protocol_get_type ())

G_DECLARE_FINAL_TYPE (SyRelayProtocol, sy_relay_protocol, SY, RELAY_PROTOCOL, SyJsonProtocol)

SySubprotocol *sy_relay_protocol_new  (SyBench      *bench,
                                       SyAudit      *audit);
JsonNode      *sy_relay_state_to_json (const SyRelayState *state);

G_END_DECLS
