/* sy-connections-panel.c
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "sy-connections-panel"

#include "config.h"

#include <glib/gi18n.h>

#include "sy-connections-panel.h"

struct _SyConnectionsPanel
{
  AdwBin  parent_instance;
};

G_DEFINE_FINAL_TYPE (SyConnectionsPanel, sy_connections_panel, ADW_TYPE_BIN)

static void
sy_connections_panel_class_init (SyConnectionsPanelClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/switchyard/Switchyard/sy-connections-panel.ui");
}

static void
sy_connections_panel_init (SyConnectionsPanel *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

GtkWidget *
sy_connections_panel_new (SyServer *server)
{
  g_return_val_if_fail (SY_IS_SERVER (server), NULL);

  return g_object_new (SY_TYPE_CONNECTIONS_PANEL, NULL);
}
