/* sy-hardware.h
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib-object.h>

#include "sy-bench.h"
#include "sy-server.h"

G_BEGIN_DECLS

#define SY_TYPE_HARDWARE (sy_hardware_get_type ())

G_DECLARE_FINAL_TYPE (SyHardware, sy_hardware, SY, HARDWARE, GObject)

SyHardware         *sy_hardware_new                    (SyServer    *server);
SyServer           *sy_hardware_get_server             (SyHardware  *self);
gboolean            sy_hardware_is_mirror              (SyHardware  *self);
const SyReading    *sy_hardware_get_reading            (SyHardware  *self);
gboolean            sy_hardware_get_sensor_dropout     (SyHardware  *self,
                                                        guint        sensor);
void                sy_hardware_set_sensor_dropout     (SyHardware  *self,
                                                        guint        sensor,
                                                        gboolean     dropout);
const SyRelayState *sy_hardware_get_relay              (SyHardware  *self,
                                                        guint        relay);
gboolean            sy_hardware_get_relay_available    (SyHardware  *self,
                                                        guint        relay);
void                sy_hardware_relay_set              (SyHardware  *self,
                                                        guint        relay,
                                                        gboolean     on);
void                sy_hardware_relay_toggle           (SyHardware  *self,
                                                        guint        relay);
void                sy_hardware_relay_pulse            (SyHardware  *self,
                                                        guint        relay,
                                                        guint        ms);
void                sy_hardware_relay_rename           (SyHardware  *self,
                                                        guint        relay,
                                                        const char  *name);
void                sy_hardware_relay_set_stuck        (SyHardware  *self,
                                                        guint        relay,
                                                        gboolean     stuck);
void                sy_hardware_relay_set_safe_default (SyHardware  *self,
                                                        guint        relay,
                                                        int          safe_default);

G_END_DECLS
