/* sy-uplink.h
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "sy-bench.h"

G_BEGIN_DECLS

/**
 * SyUplinkState:
 * @SY_UPLINK_CONNECTING: not (yet, or no longer) mirroring; trying
 * @SY_UPLINK_CONNECTED: mirroring the upstream's hardware
 * @SY_UPLINK_REFUSED: the upstream refused the handshake (401, 403, …); retrying slowly
 * @SY_UPLINK_LOOP: the upstream leads back to this instance; retrying slowly
 */
typedef enum
{
  SY_UPLINK_CONNECTING,
  SY_UPLINK_CONNECTED,
  SY_UPLINK_REFUSED,
  SY_UPLINK_LOOP,
} SyUplinkState;

#define SY_TYPE_UPLINK (sy_uplink_get_type ())

G_DECLARE_FINAL_TYPE (SyUplink, sy_uplink, SY, UPLINK, GObject)

gboolean       sy_uplink_parse_url        (const char    *url,
                                           char         **ws_url,
                                           char         **token,
                                           GError       **error);
SyUplink      *sy_uplink_new              (SyBench       *bench,
                                           const char    *url,
                                           const char    *token,
                                           const char    *instance);
void           sy_uplink_set_tls_database (SyUplink      *self,
                                           GTlsDatabase  *database);
void           sy_uplink_start            (SyUplink      *self);
void           sy_uplink_stop             (SyUplink      *self);
SyUplinkState  sy_uplink_get_state        (SyUplink      *self);
const char    *sy_uplink_get_url          (SyUplink      *self);
const char    *sy_uplink_get_problem      (SyUplink      *self);
JsonNode      *sy_uplink_to_json          (SyUplink      *self);

G_END_DECLS
