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

/**
 * SyRelayCaller:
 * @audit: records @command with @result ("ok" or an error code)
 * @answer: answers the command @id: an ack carrying @relay when @code is
 *   %NULL, else an error with @code and @message (@relay borrowed)
 * @ref: takes a reference on the caller's data while a command is pending
 * @unref: drops it
 *
 * Who sent a relay command, for sy_relay_command_run(): a WebSocket
 * connection or a bridge such as MQTT.
 */
typedef struct
{
  void     (*audit)  (gpointer    data,
                      JsonObject *command,
                      const char *result);
  void     (*answer) (gpointer    data,
                      JsonNode   *id,
                      const char *code,
                      const char *message,
                      JsonNode   *relay);
  gpointer (*ref)    (gpointer    data);
  void     (*unref)  (gpointer    data);
} SyRelayCaller;

SySubprotocol *sy_relay_protocol_new  (SyBench             *bench,
                                       SyAudit             *audit);
JsonNode      *sy_relay_state_to_json (const SyRelayState  *state);
const char    *sy_relay_error_code    (const GError        *error);
SyBenchError   sy_relay_error_from_code (const char        *code);
void           sy_relay_state_from_json (JsonObject        *object,
                                         SyRelayState      *state);
JsonNode      *sy_relay_command_to_json (SyBench            *bench,
                                         const SyRelayCommand *command,
                                         JsonNode           *id);
void           sy_relay_command_run   (SyBench             *bench,
                                       SyRole               role,
                                       const SyRelayCaller *caller,
                                       gpointer             caller_data,
                                       const char          *type,
                                       JsonObject          *command,
                                       JsonNode            *id);

G_END_DECLS
