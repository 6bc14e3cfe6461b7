/* sy-hardware.h
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib-object.h>

#include "sy-server.h"

G_BEGIN_DECLS

#define SY_TYPE_HARDWARE (sy_hardware_get_type ())

G_DECLARE_FINAL_TYPE (SyHardware, sy_hardware, SY, HARDWARE, GObject)

SyHardware *sy_hardware_new (SyServer *server);

G_END_DECLS
