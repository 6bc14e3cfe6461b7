/* sy-sensor-protocol.h
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include "sy-bench.h"
#include "sy-json-protocol.h"

G_BEGIN_DECLS

#define SY_SENSOR_PROTOCOL_NAME "switchyard.sensor.v1"

#define SY_SENSOR_DEFAULT_RATE_HZ 10.0
#define SY_SENSOR_MIN_RATE_HZ     0.1
#define SY_SENSOR_MAX_RATE_HZ     1000.0
/* A reader with this many messages not yet written gets no more: its
 * readings are coalesced to the latest until it catches up. */
#define SY_SENSOR_MAX_QUEUED      4

#define SY_TYPE_SENSOR_PROTOCOL (sy_sensor_protocol_get_type ())

G_DECLARE_FINAL_TYPE (SySensorProtocol, sy_sensor_protocol, SY, SENSOR_PROTOCOL, SyJsonProtocol)

SySubprotocol *sy_sensor_protocol_new   (SyBench         *bench);
void           sy_sensor_add_catalogue  (JsonBuilder     *builder);
gboolean       sy_sensor_parse_reading  (JsonObject      *message,
                                         SyReading       *reading);
char          *sy_sensor_format_reading (const SyReading *reading,
                                         guint            mask,
                                         guint64          skipped);

G_END_DECLS
