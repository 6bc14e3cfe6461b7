/* sy-json.h
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

gboolean    sy_json_node_get_number   (JsonNode   *node,
                                       double     *value);
gboolean    sy_json_object_get_bool   (JsonObject *object,
                                       const char *member,
                                       gboolean    fallback);
gint64      sy_json_object_get_int    (JsonObject *object,
                                       const char *member,
                                       gint64      fallback);
const char *sy_json_object_get_string (JsonObject *object,
                                       const char *member);

G_END_DECLS
