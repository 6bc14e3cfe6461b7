/* sy-application.h
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <adwaita.h>

#include "sy-hardware.h"
#include "sy-server.h"

G_BEGIN_DECLS

#define SY_TYPE_APPLICATION (sy_application_get_type ())

/* The schema id is the same for the .Devel variant. */
#define SY_SETTINGS_SCHEMA_ID "io.github.switchyard.Switchyard"

G_DECLARE_FINAL_TYPE (SyApplication, sy_application, SY, APPLICATION, AdwApplication)

SyApplication  *sy_application_new                (SyServer            *server);
SyApplication  *sy_application_new_with_settings  (SyServer            *server,
                                                   GSettings           *settings,
                                                   const char * const  *pinned_keys);
SyServer       *sy_application_get_server         (SyApplication       *self);
GSettings      *sy_application_get_settings       (SyApplication       *self);
gboolean        sy_application_is_pinned          (SyApplication       *self,
                                                   const char          *key);
SyHardware     *sy_application_get_hardware       (SyApplication       *self);
gboolean        sy_application_start_server       (SyApplication       *self,
                                                   GError             **error);
gboolean        sy_application_rotate_tokens      (SyApplication       *self,
                                                   GError             **error);
const char     *sy_application_get_last_error     (SyApplication       *self);
GLogLevelFlags  sy_application_get_log_level      (SyApplication       *self);

gboolean        sy_application_is_exposed         (const char          *bind_address);
void            sy_application_configure_bind     (SyServer            *server,
                                                   const char          *bind_address);

G_END_DECLS
