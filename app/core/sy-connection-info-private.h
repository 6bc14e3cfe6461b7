/* sy-connection-info-private.h
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include "sy-connection-info.h"
#include "sy-connection-private.h"

G_BEGIN_DECLS

SyConnectionInfo *_sy_connection_info_new    (guint64                  id,
                                              const char              *peer,
                                              const char              *origin,
                                              const char              *subprotocol,
                                              SyRole                   role,
                                              gint64                   connected_since);
void              _sy_connection_info_update (SyConnectionInfo        *self,
                                              const SyConnectionStats *stats);

G_END_DECLS
