/* sy-source.h
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

GSource *sy_timeout_source_attach (GMainContext *context,
                                   guint         ms,
                                   GSourceFunc   func,
                                   gpointer      data,
                                   const char   *static_name);
void     sy_clear_source          (GSource     **source);

G_END_DECLS
