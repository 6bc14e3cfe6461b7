/* sy-subprotocol.h
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <libsoup/soup.h>

#include "sy-types.h"

G_BEGIN_DECLS

#define SY_TYPE_SUBPROTOCOL (sy_subprotocol_get_type ())

G_DECLARE_DERIVABLE_TYPE (SySubprotocol, sy_subprotocol, SY, SUBPROTOCOL, GObject)

/**
 * SySubprotocolClass:
 * @open: a connection negotiated this subprotocol and is open
 * @message: a complete message arrived; @payload is borrowed
 * @close: the connection closed; drop what was kept for it
 *
 * One subprotocol, one concern. Instances are registered with the server
 * before it starts and from then on are only used on the server thread.
 */
struct _SySubprotocolClass
{
  GObjectClass parent_class;

  void (*open)    (SySubprotocol          *self,
                   SyConnection           *connection);
  void (*message) (SySubprotocol          *self,
                   SyConnection           *connection,
                   SoupWebsocketDataType   type,
                   GBytes                 *payload);
  void (*close)   (SySubprotocol          *self,
                   SyConnection           *connection);

  /*< private >*/
  gpointer _reserved[8];
};

const char *sy_subprotocol_get_name    (SySubprotocol         *self);
SyRole      sy_subprotocol_get_role    (SySubprotocol         *self);
void        sy_subprotocol_open        (SySubprotocol         *self,
                                        SyConnection          *connection);
void        sy_subprotocol_message     (SySubprotocol         *self,
                                        SyConnection          *connection,
                                        SoupWebsocketDataType  type,
                                        GBytes                *payload);
void        sy_subprotocol_close       (SySubprotocol         *self,
                                        SyConnection          *connection);

G_END_DECLS
