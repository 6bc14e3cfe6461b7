/* sy-types.h
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _SyConnection     SyConnection;
typedef struct _SyConnectionInfo SyConnectionInfo;
typedef struct _SyLogEntry       SyLogEntry;
typedef struct _SyLogModel       SyLogModel;
typedef struct _SyServer         SyServer;
typedef struct _SySubprotocol    SySubprotocol;
typedef struct _SyWireGuard      SyWireGuard;

/**
 * SyRole:
 * @SY_ROLE_NONE: no access
 * @SY_ROLE_VIEW: may watch
 * @SY_ROLE_CONTROL: may watch and command
 *
 * What a connection may do. Roles are ordered: control includes view.
 */
typedef enum
{
  SY_ROLE_NONE,
  SY_ROLE_VIEW,
  SY_ROLE_CONTROL,
} SyRole;

const char *sy_role_to_string (SyRole role);

/* Close codes of the wire contract (docs/protocol.md). */
#define SY_CLOSE_NORMAL          1000
#define SY_CLOSE_GOING_AWAY      1001
#define SY_CLOSE_PROTOCOL_ERROR  1002
#define SY_CLOSE_BAD_DATA        1007
#define SY_CLOSE_POLICY          1008
#define SY_CLOSE_TOO_BIG         1009
#define SY_CLOSE_INTERNAL_ERROR  1011
#define SY_CLOSE_BY_OPERATOR     4001
#define SY_CLOSE_TOKEN_REVOKED   4002

G_END_DECLS
