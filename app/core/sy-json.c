/* sy-json.c
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <math.h>

#include "sy-json.h"

/**
 * sy_json_node_get_number:
 * @node: (nullable): a JSON node
 * @value: (out): where the number goes
 *
 * Reads a finite JSON number, integer or not. Anything else (a string, a
 * boolean, null, an object, an array, no node) is not one, and @value is
 * left as it was.
 *
 * Returns: whether @node holds a finite number
 */
gboolean
sy_json_node_get_number (JsonNode *node,
                         double   *value)
{
  double number;

  g_return_val_if_fail (value != NULL, FALSE);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node))
    return FALSE;

  if (json_node_get_value_type (node) == G_TYPE_INT64)
    number = (double) json_node_get_int (node);
  else if (json_node_get_value_type (node) == G_TYPE_DOUBLE)
    number = json_node_get_double (node);
  else
    return FALSE;

  if (!isfinite (number))
    return FALSE;

  *value = number;
  return TRUE;
}

/**
 * sy_json_object_get_bool:
 * @object: a JSON object
 * @member: a member's name
 * @fallback: what a missing member, or one that is not a boolean, means
 *
 * Returns: the member's value, or @fallback
 */
gboolean
sy_json_object_get_bool (JsonObject *object,
                         const char *member,
                         gboolean    fallback)
{
  JsonNode *node = json_object_get_member (object, member);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_BOOLEAN)
    return fallback;

  return json_node_get_boolean (node);
}

/**
 * sy_json_object_get_int:
 * @object: a JSON object
 * @member: a member's name
 * @fallback: what a missing member, or one that is not a finite number,
 *   means
 *
 * Returns: the member's value, truncated to an integer, or @fallback
 */
gint64
sy_json_object_get_int (JsonObject *object,
                        const char *member,
                        gint64      fallback)
{
  double number;

  return sy_json_node_get_number (json_object_get_member (object, member), &number) ? (gint64) number : fallback;
}

/**
 * sy_json_object_get_string:
 * @object: a JSON object
 * @member: a member's name
 *
 * Returns: (nullable): the member's string, or %NULL for a missing member
 *   or one that is not a string
 */
const char *
sy_json_object_get_string (JsonObject *object,
                           const char *member)
{
  JsonNode *node = json_object_get_member (object, member);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;

  return json_node_get_string (node);
}
