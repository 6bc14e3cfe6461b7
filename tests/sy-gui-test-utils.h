/* sy-gui-test-utils.h
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

GtkWidget *sy_test_find_named (GtkWidget  *root,
                               const char *name);

G_END_DECLS
