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

GtkWidget      *sy_log_panel_new                 (SyLogModel           *model);
SyLogModel     *sy_log_panel_get_model           (SyLogPanel           *self);
GListModel     *sy_log_panel_get_shown           (SyLogPanel           *self);
GLogLevelFlags  sy_log_panel_get_min_level       (SyLogPanel           *self);
void            sy_log_panel_set_min_level       (SyLogPanel           *self,
                                                  GLogLevelFlags        level);
gboolean        sy_log_panel_get_following       (SyLogPanel           *self);
void            sy_log_panel_set_following       (SyLogPanel           *self,
                                                  gboolean              following);
guint           sy_log_panel_get_n_waiting       (SyLogPanel           *self);
void            sy_log_panel_save_to_file_async  (SyLogPanel           *self,
                                                  GFile                *file,
                                                  GCancellable         *cancellable,
                                                  GAsyncReadyCallback   callback,
                                                  gpointer              user_data);
gboolean        sy_log_panel_save_to_file_finish (SyLogPanel           *self,
                                                  GAsyncResult         *result,
                                                  GError              **error);

G_END_DECLS
