/* sy-tally-protocol.c
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "sy-tally"

#include "config.h"

#include "sy-connection.h"
#include "sy-tally-protocol.h"

/*
 * example.tally.v1: an example of a subprotocol module in C (see
 * docs/user-guide.md, "A subprotocol in C"). Each text message comes back in
 * capitals, numbered per connection: "hello" → "1 HELLO". Binary messages
 * are refused with 1003. The protocol keeps a total over all connections.
 *
 * A module subclasses SySubprotocol and overrides what it needs: open,
 * message and close run on the server thread, one connection at a time, so
 * no locking is needed. Per-connection state goes in the connection's
 * protocol data, which the connection frees when it closes.
 */

struct _SyTallyProtocol
{
  SySubprotocol parent_instance;

  guint         total;
};

G_DEFINE_FINAL_TYPE (SyTallyProtocol, sy_tally_protocol, SY_TYPE_SUBPROTOCOL)

typedef struct
{
  guint count;
} Tally;

static void
sy_tally_protocol_open (SySubprotocol *protocol,
                        SyConnection  *connection)
{
  sy_connection_set_protocol_data (connection, g_new0 (Tally, 1), g_free);
}

static void
sy_tally_protocol_message (SySubprotocol         *protocol,
                           SyConnection          *connection,
                           SoupWebsocketDataType  type,
                           GBytes                *payload)
{
  SyTallyProtocol *self = SY_TALLY_PROTOCOL (protocol);
  Tally *tally = sy_connection_get_protocol_data (connection);
  g_autofree char *text = NULL;
  g_autofree char *upper = NULL;
  g_autofree char *answer = NULL;
  gsize len;
  const char *data;

  if (type != SOUP_WEBSOCKET_DATA_TEXT)
    {
      sy_connection_close (connection, 1003, "text only");
      return;
    }

  /* Text payloads are valid UTF-8 (libsoup checks) but may hold NUL. */
  data = g_bytes_get_data (payload, &len);
  text = g_strndup (data, len);
  upper = g_utf8_strup (text, -1);

  tally->count++;
  self->total++;
  answer = g_strdup_printf ("%u %s", tally->count, upper);
  sy_connection_send_text (connection, answer);
}

static void
sy_tally_protocol_close (SySubprotocol *protocol,
                         SyConnection  *connection)
{
  Tally *tally = sy_connection_get_protocol_data (connection);

  sy_connection_log (connection, G_LOG_LEVEL_INFO, "counted %u messages", tally ? tally->count : 0);
}

static void
sy_tally_protocol_class_init (SyTallyProtocolClass *klass)
{
  SySubprotocolClass *protocol_class = SY_SUBPROTOCOL_CLASS (klass);

  protocol_class->open = sy_tally_protocol_open;
  protocol_class->message = sy_tally_protocol_message;
  protocol_class->close = sy_tally_protocol_close;
}

static void
sy_tally_protocol_init (SyTallyProtocol *self)
{
}

/**
 * sy_tally_protocol_new:
 *
 * Returns: (transfer full): the example.tally.v1 subprotocol, open to the
 *   view role
 */
SySubprotocol *
sy_tally_protocol_new (void)
{
  return g_object_new (SY_TYPE_TALLY_PROTOCOL,
                       "name", SY_TALLY_PROTOCOL_NAME,
                       "role", SY_ROLE_VIEW,
                       NULL);
}

/* Read on the server thread only. */
guint
sy_tally_protocol_get_total (SyTallyProtocol *self)
{
  g_return_val_if_fail (SY_IS_TALLY_PROTOCOL (self), 0);
  return self->total;
}
