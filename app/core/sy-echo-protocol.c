/* sy-echo-protocol.c
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "sy-echo"

#include "config.h"

#include "sy-connection.h"
#include "sy-echo-protocol.h"

/*
 * switchyard.echo.v1: every message comes back unchanged, text as text and
 * binary as binary, with no hello. For diagnostics and benchmarks.
 */

struct _SyEchoProtocol
{
  SySubprotocol parent_instance;
};

G_DEFINE_FINAL_TYPE (SyEchoProtocol, sy_echo_protocol, SY_TYPE_SUBPROTOCOL)

static void
sy_echo_protocol_message (SySubprotocol         *protocol,
                          SyConnection          *connection,
                          SoupWebsocketDataType  type,
                          GBytes                *payload)
{
  sy_connection_send (connection, type, payload);
}

static void
sy_echo_protocol_class_init (SyEchoProtocolClass *klass)
{
  SySubprotocolClass *protocol_class = SY_SUBPROTOCOL_CLASS (klass);

  protocol_class->message = sy_echo_protocol_message;
}

static void
sy_echo_protocol_init (SyEchoProtocol *self)
{
}

SySubprotocol *
sy_echo_protocol_new (void)
{
  return g_object_new (SY_TYPE_ECHO_PROTOCOL,
                       "name", SY_ECHO_PROTOCOL_NAME,
                       "role", SY_ROLE_VIEW,
                       NULL);
}
