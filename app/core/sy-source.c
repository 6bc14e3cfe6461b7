/* sy-source.c
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "sy-source.h"

/**
 * sy_timeout_source_attach:
 * @context: (nullable): where it runs, %NULL for the global default
 * @ms: the interval
 * @func: the callback
 * @data: its data
 * @static_name: a name that lives as long as the program, for profilers
 *
 * Returns: (transfer full): the attached timeout, to keep and give to
 *   sy_clear_source()
 */
GSource *
sy_timeout_source_attach (GMainContext *context,
                          guint         ms,
                          GSourceFunc   func,
                          gpointer      data,
                          const char   *static_name)
{
  GSource *source = g_timeout_source_new (ms);

  g_source_set_callback (source, func, data, NULL);
  g_source_set_static_name (source, static_name);
  g_source_attach (source, context);

  return source;
}

/**
 * sy_clear_source:
 * @source: a kept source, or a pointer to %NULL
 *
 * Destroys and drops a source kept with its reference, if there is one.
 */
void
sy_clear_source (GSource **source)
{
  if (*source != NULL)
    {
      g_source_destroy (*source);
      g_clear_pointer (source, g_source_unref);
    }
}
