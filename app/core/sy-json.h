/* sy-json.h
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

gboolean sy_json_node_get_number (JsonNode *node,
                                  double   *value);

G_END_DECLS
