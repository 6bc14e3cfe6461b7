/* sy-log-panel.h
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <adwaita.h>

#include "sy-log.h"

G_BEGIN_DECLS

#define SY_TYPE_LOG_PANEL (sy_log_panel_get_type ())

G_DECLARE_FINAL_TYPE (SyLogPanel, sy_log_panel, SY, LOG_PANEL, AdwBin)

GtkWidget *sy_log_panel_new (SyLogModel *model);

G_END_DECLS
