/* sy-gui-test-utils.c
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "sy-gui-test-utils.h"

/**
 * sy_test_find_named:
 * @root: where to start
 * @name: a widget name, as gtk_widget_set_name() gave it
 *
 * Finds the first widget called @name in @root's tree, @root included, depth
 * first. Panels name the widgets tests reach for ("relay-switch-lamp").
 *
 * Returns: (transfer none) (nullable): the widget
 */
GtkWidget *
sy_test_find_named (GtkWidget  *root,
                    const char *name)
{
  if (g_strcmp0 (gtk_widget_get_name (root), name) == 0)
    return root;

  for (GtkWidget *child = gtk_widget_get_first_child (root); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = sy_test_find_named (child, name);

      if (found != NULL)
        return found;
    }

  return NULL;
}
