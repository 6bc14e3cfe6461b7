/* sy-connections-panel.h
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <adwaita.h>

#include "sy-server.h"

G_BEGIN_DECLS

#define SY_TYPE_CONNECTIONS_PANEL (sy_connections_panel_get_type ())

G_DECLARE_FINAL_TYPE (SyConnectionsPanel, sy_connections_panel, SY, CONNECTIONS_PANEL, AdwBin)

GtkWidget *sy_connections_panel_new (SyServer *server);

G_END_DECLS
