/* sy-preferences-window.c
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "sy-preferences-window"

#include "config.h"

#include <glib/gi18n.h>

#include "sy-preferences-window.h"

struct _SyPreferencesWindow
{
  AdwPreferencesWindow  parent_instance;
};

G_DEFINE_FINAL_TYPE (SyPreferencesWindow, sy_preferences_window, ADW_TYPE_PREFERENCES_WINDOW)

static void
sy_preferences_window_class_init (SyPreferencesWindowClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/switchyard/Switchyard/sy-preferences-window.ui");
}

static void
sy_preferences_window_init (SyPreferencesWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

GtkWindow *
sy_preferences_window_new (SyApplication *application)
{
  g_return_val_if_fail (SY_IS_APPLICATION (application), NULL);

  return g_object_new (SY_TYPE_PREFERENCES_WINDOW, "application", application, NULL);
}
