/* sy-hardware-panel.h
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <adwaita.h>

#include "sy-hardware.h"

G_BEGIN_DECLS

#define SY_TYPE_HARDWARE_PANEL (sy_hardware_panel_get_type ())

G_DECLARE_FINAL_TYPE (SyHardwarePanel, sy_hardware_panel, SY, HARDWARE_PANEL, AdwBin)

GtkWidget  *sy_hardware_panel_new              (SyHardware      *hardware);
SyHardware *sy_hardware_panel_get_hardware     (SyHardwarePanel *self);
const char *sy_hardware_panel_get_last_refusal (SyHardwarePanel *self);

G_END_DECLS
