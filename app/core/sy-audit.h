/* sy-audit.h
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <json-glib/json-glib.h>

#include "sy-types.h"

G_BEGIN_DECLS

#define SY_TYPE_AUDIT (sy_audit_get_type ())

G_DECLARE_FINAL_TYPE (SyAudit, sy_audit, SY, AUDIT, GObject)

SyAudit    *sy_audit_new           (const char    *path);
const char *sy_audit_get_path      (SyAudit       *self);
void        sy_audit_record        (SyAudit       *self,
                                    SyConnection  *connection,
                                    JsonObject    *command,
                                    const char    *result);
void        sy_audit_record_bridge (SyAudit       *self,
                                    const char    *peer,
                                    SyRole         role,
                                    const char    *protocol,
                                    JsonObject    *command,
                                    const char    *result);

G_END_DECLS
