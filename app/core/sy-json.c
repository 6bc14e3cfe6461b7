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
