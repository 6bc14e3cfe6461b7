/* sy-hardware-panel.c
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "sy-hardware-panel"

#include "config.h"

#include <glib/gi18n.h>

#include "sy-hardware-panel.h"

struct _SyHardwarePanel
{
  AdwBin  parent_instance;
};

G_DEFINE_FINAL_TYPE (SyHardwarePanel, sy_hardware_panel, ADW_TYPE_BIN)

static void
sy_hardware_panel_class_init (SyHardwarePanelClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/switchyard/Switchyard/sy-hardware-panel.ui");
}

static void
sy_hardware_panel_init (SyHardwarePanel *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

GtkWidget *
sy_hardware_panel_new (SyHardware *hardware)
{
  g_return_val_if_fail (SY_IS_HARDWARE (hardware), NULL);

  return g_object_new (SY_TYPE_HARDWARE_PANEL, NULL);
}
