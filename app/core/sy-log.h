/* sy-log.h
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "sy-types.h"

G_BEGIN_DECLS

#define SY_TYPE_LOG_ENTRY (sy_log_entry_get_type ())
#define SY_TYPE_LOG_MODEL (sy_log_model_get_type ())

G_DECLARE_FINAL_TYPE (SyLogEntry, sy_log_entry, SY, LOG_ENTRY, GObject)
G_DECLARE_FINAL_TYPE (SyLogModel, sy_log_model, SY, LOG_MODEL, GObject)

/* The structured field carrying a connection's id, see sy_connection_log(). */
#define SY_LOG_FIELD_CONNECTION "SY_CONNECTION"

#define SY_LOG_DEFAULT_CAPACITY 10000

gint64          sy_log_entry_get_time        (SyLogEntry     *self);
guint64         sy_log_entry_get_sequence    (SyLogEntry     *self);
GLogLevelFlags  sy_log_entry_get_level       (SyLogEntry     *self);
const char     *sy_log_entry_get_level_name  (SyLogEntry     *self);
const char     *sy_log_entry_get_domain      (SyLogEntry     *self);
const char     *sy_log_entry_get_message     (SyLogEntry     *self);
guint64         sy_log_entry_get_connection  (SyLogEntry     *self);
char           *sy_log_entry_format          (SyLogEntry     *self);

guint           sy_log_model_get_capacity    (SyLogModel     *self);
void            sy_log_model_set_capacity    (SyLogModel     *self,
                                              guint           capacity);
void            sy_log_model_clear           (SyLogModel     *self);
guint64         sy_log_model_get_dropped     (SyLogModel     *self);

/**
 * SyLogListener:
 * @entries: (array length=n_entries): new entries, oldest first
 * @n_entries: how many
 * @user_data: closure data
 *
 * Receives batches of entries in the main context the listener was added
 * for.
 */
typedef void (*SyLogListener) (SyLogEntry **entries,
                               guint        n_entries,
                               gpointer     user_data);

#define SY_LOG_RECENT_CAPACITY 200

void            sy_log_init                  (void);
guint           sy_log_add_listener          (GMainContext   *context,
                                              SyLogListener   func,
                                              gpointer        user_data,
                                              GDestroyNotify  destroy);
void            sy_log_remove_listener       (guint           id);
GPtrArray      *sy_log_dup_recent            (void);
int             sy_log_level_from_string     (const char     *name);
SyLogModel     *sy_log_get_model             (void);
void            sy_log_set_console           (gboolean        enabled);
void            sy_log_set_fatal_mask        (GLogLevelFlags  mask);
void            sy_log_flush                 (void);
const char     *sy_log_level_to_string       (GLogLevelFlags  level);

G_END_DECLS
