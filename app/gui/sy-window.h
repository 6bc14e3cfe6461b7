/* sy-window.h
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <adwaita.h>
#include <webkit/webkit.h>

#include "sy-application.h"

G_BEGIN_DECLS

#define SY_TYPE_WINDOW (sy_window_get_type ())

G_DECLARE_FINAL_TYPE (SyWindow, sy_window, SY, WINDOW, AdwApplicationWindow)

SyWindow      *sy_window_new          (SyApplication *application);
WebKitWebView *sy_window_get_web_view (SyWindow      *self);
void           sy_window_show_panel   (SyWindow      *self,
                                       const char    *name);
GtkWidget     *sy_window_get_panel    (SyWindow      *self,
                                       const char    *name);

GdkTexture    *sy_qr_texture_new      (const char    *text);

G_END_DECLS
