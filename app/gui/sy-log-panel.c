/* sy-log-panel.c
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "sy-log-panel"

#include "config.h"

#include <glib/gi18n.h>

#include "sy-log-panel.h"

struct _SyLogPanel
{
  AdwBin  parent_instance;
};

G_DEFINE_FINAL_TYPE (SyLogPanel, sy_log_panel, ADW_TYPE_BIN)

static void
sy_log_panel_class_init (SyLogPanelClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/switchyard/Switchyard/sy-log-panel.ui");
}

static void
sy_log_panel_init (SyLogPanel *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

GtkWidget *
sy_log_panel_new (SyLogModel *model)
{
  g_return_val_if_fail (SY_IS_LOG_MODEL (model), NULL);

  return g_object_new (SY_TYPE_LOG_PANEL, NULL);
}
