/* sy-hardware.c
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "sy-hardware"

#include "config.h"

#include "sy-hardware.h"

struct _SyHardware
{
  GObject  parent_instance;
};

G_DEFINE_FINAL_TYPE (SyHardware, sy_hardware, G_TYPE_OBJECT)

static void
sy_hardware_class_init (SyHardwareClass *klass)
{
}

static void
sy_hardware_init (SyHardware *self)
{
}

SyHardware *
sy_hardware_new (SyServer *server)
{
  g_return_val_if_fail (SY_IS_SERVER (server), NULL);

  return g_object_new (SY_TYPE_HARDWARE, NULL);
}
