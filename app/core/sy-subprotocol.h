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
 * SySubprotocolRequest:
 * @id: the id the connection will have
 * @peer: the peer's address and port
 * @origin: (nullable): the browser's Origin, if any
 * @role: the role the connection was granted
 *
 * A handshake that passed every check and is about to be accepted.
 */
typedef struct
{
  guint64     id;
  const char *peer;
  const char *origin;
  SyRole      role;
} SySubprotocolRequest;

/**
 * SySubprotocolClass:
 * @open: a connection negotiated this subprotocol and is open
 * @message: a complete message arrived; @payload is borrowed
 * @close: the connection closed; drop what was kept for it
 * @prepare: a handshake is about to be accepted: get ready for it, or
 *   refuse it with an error (the client hears 500 with the error's message).
 *   What it returns becomes the connection's protocol data before @open
 *   (see sy_connection_get_protocol_data()); if the upgrade does not
 *   complete, it is unreffed instead.
 * @stop: the server is stopping: release every resource now (called on the
 *   server thread after the connections closed; it may iterate the
 *   thread-default main context)
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
  GObject *
       (*prepare) (SySubprotocol              *self,
                   const SySubprotocolRequest *request,
                   GError                    **error);
  void (*stop)    (SySubprotocol          *self);

  /*< private >*/
  gpointer _reserved[6];
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
GObject    *sy_subprotocol_prepare     (SySubprotocol              *self,
                                        const SySubprotocolRequest *request,
                                        GError                    **error);
void        sy_subprotocol_stop        (SySubprotocol         *self);

G_END_DECLS
