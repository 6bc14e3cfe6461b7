/* sy-log.c
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "sy-log"

#include "config.h"

#include <stdlib.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sy-log.h"

/*
 * Every log call of the process, from any thread, goes through one GLib
 * structured log writer. It stamps the entry with the wall-clock time in
 * microseconds, prints it to stderr (honouring G_MESSAGES_DEBUG for debug
 * and info) and queues it for the log model. The model lives on the thread
 * that called sy_log_init() (the GUI thread): an idle source there drains
 * the queue in batches, so a burst of thousands of lines costs one
 * items-changed emission, and the model is only ever touched on its own
 * thread.
 */

struct _SyLogEntry
{
  GObject         parent_instance;

  gint64          time;
  guint64         sequence;
  guint64         connection;
  GLogLevelFlags  level;
  char           *domain;
  char           *message;
};

G_DEFINE_FINAL_TYPE (SyLogEntry, sy_log_entry, G_TYPE_OBJECT)

static void
sy_log_entry_finalize (GObject *object)
{
  SyLogEntry *self = (SyLogEntry *)object;

  g_clear_pointer (&self->domain, g_free);
  g_clear_pointer (&self->message, g_free);

  G_OBJECT_CLASS (sy_log_entry_parent_class)->finalize (object);
}

static void
sy_log_entry_class_init (SyLogEntryClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = sy_log_entry_finalize;
}

static void
sy_log_entry_init (SyLogEntry *self)
{
}

/**
 * sy_log_entry_get_time:
 * @self: a #SyLogEntry
 *
 * Returns: when the entry was written, in microseconds since the epoch
 */
gint64
sy_log_entry_get_time (SyLogEntry *self)
{
  g_return_val_if_fail (SY_IS_LOG_ENTRY (self), 0);
  return self->time;
}

guint64
sy_log_entry_get_sequence (SyLogEntry *self)
{
  g_return_val_if_fail (SY_IS_LOG_ENTRY (self), 0);
  return self->sequence;
}

GLogLevelFlags
sy_log_entry_get_level (SyLogEntry *self)
{
  g_return_val_if_fail (SY_IS_LOG_ENTRY (self), 0);
  return self->level;
}

const char *
sy_log_level_to_string (GLogLevelFlags level)
{
  switch (level & G_LOG_LEVEL_MASK)
    {
    case G_LOG_LEVEL_ERROR:    return "error";
    case G_LOG_LEVEL_CRITICAL: return "critical";
    case G_LOG_LEVEL_WARNING:  return "warning";
    case G_LOG_LEVEL_MESSAGE:  return "message";
    case G_LOG_LEVEL_INFO:     return "info";
    case G_LOG_LEVEL_DEBUG:    return "debug";
    default:                   return "log";
    }
}

const char *
sy_log_entry_get_level_name (SyLogEntry *self)
{
  g_return_val_if_fail (SY_IS_LOG_ENTRY (self), NULL);
  return sy_log_level_to_string (self->level);
}

const char *
sy_log_entry_get_domain (SyLogEntry *self)
{
  g_return_val_if_fail (SY_IS_LOG_ENTRY (self), NULL);
  return self->domain;
}

const char *
sy_log_entry_get_message (SyLogEntry *self)
{
  g_return_val_if_fail (SY_IS_LOG_ENTRY (self), NULL);
  return self->message;
}

/**
 * sy_log_entry_get_connection:
 * @self: a #SyLogEntry
 *
 * Returns: the id of the connection the entry is about, or 0
 */
guint64
sy_log_entry_get_connection (SyLogEntry *self)
{
  g_return_val_if_fail (SY_IS_LOG_ENTRY (self), 0);
  return self->connection;
}

static char *
format_line (gint64          time,
             GLogLevelFlags  level,
             const char     *domain,
             const char     *message,
             gboolean        color)
{
  g_autoptr(GDateTime) dt = g_date_time_new_from_unix_local (time / G_USEC_PER_SEC);
  const char *start = "";
  const char *end = "";

  if (color)
    {
      end = "\033[0m";
      if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL))
        start = "\033[1;31m";
      else if (level & G_LOG_LEVEL_WARNING)
        start = "\033[1;33m";
      else if (level & G_LOG_LEVEL_MESSAGE)
        start = "\033[1;32m";
      else
        start = "\033[1;34m";
    }

  return g_strdup_printf ("%02d:%02d:%02d.%06d %s%-8s%s %s: %s",
                          g_date_time_get_hour (dt),
                          g_date_time_get_minute (dt),
                          g_date_time_get_second (dt),
                          (int) (time % G_USEC_PER_SEC),
                          start, sy_log_level_to_string (level), end,
                          domain ? domain : "switchyard",
                          message);
}

/**
 * sy_log_entry_format:
 * @self: a #SyLogEntry
 *
 * Formats the entry the way the console shows it:
 * `HH:MM:SS.uuuuuu level domain: message`, in local time.
 *
 * Returns: (transfer full): the line, without a newline
 */
char *
sy_log_entry_format (SyLogEntry *self)
{
  g_return_val_if_fail (SY_IS_LOG_ENTRY (self), NULL);
  return format_line (self->time, self->level, self->domain, self->message, FALSE);
}

/* The model */

struct _SyLogModel
{
  GObject       parent_instance;

  /* A ring: entries[(head + i) % capacity] is item i. */
  SyLogEntry  **entries;
  guint         capacity;
  guint         head;
  guint         n_items;
  guint64       dropped;
};

static void sy_log_model_list_model_iface_init (GListModelInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (SyLogModel, sy_log_model, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_LIST_MODEL,
                                                      sy_log_model_list_model_iface_init))

static GType
sy_log_model_get_item_type (GListModel *model)
{
  return SY_TYPE_LOG_ENTRY;
}

static guint
sy_log_model_get_n_items (GListModel *model)
{
  return SY_LOG_MODEL (model)->n_items;
}

static gpointer
sy_log_model_get_item (GListModel *model,
                       guint       position)
{
  SyLogModel *self = SY_LOG_MODEL (model);

  if (position >= self->n_items)
    return NULL;

  return g_object_ref (self->entries[(self->head + position) % self->capacity]);
}

static void
sy_log_model_list_model_iface_init (GListModelInterface *iface)
{
  iface->get_item_type = sy_log_model_get_item_type;
  iface->get_n_items = sy_log_model_get_n_items;
  iface->get_item = sy_log_model_get_item;
}

static void
sy_log_model_drop_all (SyLogModel *self)
{
  for (guint i = 0; i < self->n_items; i++)
    g_object_unref (self->entries[(self->head + i) % self->capacity]);
  self->head = 0;
  self->n_items = 0;
}

static void
sy_log_model_finalize (GObject *object)
{
  SyLogModel *self = (SyLogModel *)object;

  sy_log_model_drop_all (self);
  g_clear_pointer (&self->entries, g_free);

  G_OBJECT_CLASS (sy_log_model_parent_class)->finalize (object);
}

static void
sy_log_model_class_init (SyLogModelClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = sy_log_model_finalize;
}

static void
sy_log_model_init (SyLogModel *self)
{
  self->capacity = SY_LOG_DEFAULT_CAPACITY;
  self->entries = g_new0 (SyLogEntry *, self->capacity);
}

/* Appends a batch, dropping the oldest entries past the capacity. Views
 * hear two changes at most: the oldest rows leave, then the new ones come,
 * each reported against the list as it is at that moment. */
static void
sy_log_model_append (SyLogModel  *self,
                     SyLogEntry **batch,
                     guint        n_batch)
{
  guint first = 0;
  guint removed;
  guint position;

  if (n_batch == 0)
    return;

  /* Entries that would be dropped in the same batch never enter. */
  if (n_batch > self->capacity)
    {
      first = n_batch - self->capacity;
      self->dropped += first;
      n_batch = self->capacity;
    }

  removed = self->n_items + n_batch > self->capacity ? self->n_items + n_batch - self->capacity : 0;
  for (guint i = 0; i < removed; i++)
    {
      g_object_unref (self->entries[self->head]);
      self->entries[self->head] = NULL;
      self->head = (self->head + 1) % self->capacity;
    }
  self->n_items -= removed;
  self->dropped += removed;
  if (removed > 0)
    g_list_model_items_changed (G_LIST_MODEL (self), 0, removed, 0);

  position = self->n_items;
  for (guint i = 0; i < n_batch; i++)
    self->entries[(self->head + self->n_items + i) % self->capacity] = g_object_ref (batch[first + i]);
  self->n_items += n_batch;
  g_list_model_items_changed (G_LIST_MODEL (self), position, 0, n_batch);
}

guint
sy_log_model_get_capacity (SyLogModel *self)
{
  g_return_val_if_fail (SY_IS_LOG_MODEL (self), 0);
  return self->capacity;
}

/**
 * sy_log_model_set_capacity:
 * @self: a #SyLogModel
 * @capacity: how many entries to keep, at least 1
 *
 * Keeps the newest @capacity entries.
 */
void
sy_log_model_set_capacity (SyLogModel *self,
                           guint       capacity)
{
  SyLogEntry **entries;
  guint keep;
  guint removed;

  g_return_if_fail (SY_IS_LOG_MODEL (self));
  g_return_if_fail (capacity > 0);

  if (capacity == self->capacity)
    return;

  keep = MIN (self->n_items, capacity);
  removed = self->n_items - keep;
  entries = g_new0 (SyLogEntry *, capacity);

  for (guint i = 0; i < self->n_items; i++)
    {
      SyLogEntry *entry = self->entries[(self->head + i) % self->capacity];

      if (i < removed)
        g_object_unref (entry);
      else
        entries[i - removed] = entry;
    }

  g_free (self->entries);
  self->entries = entries;
  self->capacity = capacity;
  self->head = 0;
  self->n_items = keep;
  self->dropped += removed;

  if (removed > 0)
    g_list_model_items_changed (G_LIST_MODEL (self), 0, removed, 0);
}

void
sy_log_model_clear (SyLogModel *self)
{
  guint n;

  g_return_if_fail (SY_IS_LOG_MODEL (self));

  n = self->n_items;
  sy_log_model_drop_all (self);
  if (n > 0)
    g_list_model_items_changed (G_LIST_MODEL (self), 0, n, 0);
}

/**
 * sy_log_model_get_dropped:
 * @self: a #SyLogModel
 *
 * Returns: how many entries fell out of the ring so far
 */
guint64
sy_log_model_get_dropped (SyLogModel *self)
{
  g_return_val_if_fail (SY_IS_LOG_MODEL (self), 0);
  return self->dropped;
}

/* Listeners: other threads that want the entries too (the server thread
 * for switchyard.log.v1). Each gets its own batches in its own context. */

typedef struct
{
  gatomicrefcount  ref;
  guint            id;
  GMainContext    *context;
  SyLogListener    func;
  gpointer         user_data;
  GDestroyNotify   destroy;
  GPtrArray       *pending;
  gboolean         scheduled;
  gboolean         removed;
} Listener;

static Listener *
listener_ref (Listener *listener)
{
  g_atomic_ref_count_inc (&listener->ref);
  return listener;
}

static void
listener_unref (gpointer data)
{
  Listener *listener = data;

  if (g_atomic_ref_count_dec (&listener->ref))
    {
      if (listener->destroy != NULL)
        listener->destroy (listener->user_data);
      g_main_context_unref (listener->context);
      g_ptr_array_unref (listener->pending);
      g_free (listener);
    }
}

/* The writer */

typedef struct
{
  GMutex        lock;
  GPtrArray    *listeners;
  GQueue        recent;
  guint         next_listener_id;
  GPtrArray    *pending;
  GMainContext *context;
  GThread      *owner;
  SyLogModel   *model;
  guint64       sequence;
  gboolean      drain_scheduled;
  gboolean      console;
  gboolean      color;
  gint          fatal_mask;
} SyLogState;

static SyLogState state;

static gboolean
drain_cb (gpointer data)
{
  sy_log_flush ();
  return G_SOURCE_REMOVE;
}

/**
 * sy_log_flush:
 *
 * Moves the queued entries into the model now. Call it from the thread that
 * called sy_log_init() only.
 */
void
sy_log_flush (void)
{
  g_autoptr(GPtrArray) batch = NULL;

  g_return_if_fail (state.model != NULL);
  g_return_if_fail (g_thread_self () == state.owner);

  g_mutex_lock (&state.lock);
  batch = g_steal_pointer (&state.pending);
  state.pending = g_ptr_array_new_with_free_func (g_object_unref);
  state.drain_scheduled = FALSE;
  g_mutex_unlock (&state.lock);

  sy_log_model_append (state.model, (SyLogEntry **) batch->pdata, batch->len);
}

static gboolean
listener_dispatch_cb (gpointer data)
{
  Listener *listener = data;
  g_autoptr(GPtrArray) batch = NULL;
  gboolean removed;

  g_mutex_lock (&state.lock);
  batch = g_steal_pointer (&listener->pending);
  listener->pending = g_ptr_array_new_with_free_func (g_object_unref);
  listener->scheduled = FALSE;
  removed = listener->removed;
  g_mutex_unlock (&state.lock);

  if (!removed && batch->len > 0)
    listener->func ((SyLogEntry **) batch->pdata, batch->len, listener->user_data);

  return G_SOURCE_REMOVE;
}

/**
 * sy_log_add_listener:
 * @context: (nullable): the main context to deliver in; %NULL for the
 *   caller's thread-default one
 * @func: receives batches of new entries
 * @user_data: closure data
 * @destroy: (nullable): frees @user_data when the listener goes
 *
 * Returns: an id for sy_log_remove_listener()
 */
guint
sy_log_add_listener (GMainContext   *context,
                     SyLogListener   func,
                     gpointer        user_data,
                     GDestroyNotify  destroy)
{
  Listener *listener;
  guint id;

  g_return_val_if_fail (func != NULL, 0);
  g_return_val_if_fail (state.model != NULL, 0);

  listener = g_new0 (Listener, 1);
  g_atomic_ref_count_init (&listener->ref);
  listener->context = context ? g_main_context_ref (context) : g_main_context_ref_thread_default ();
  listener->func = func;
  listener->user_data = user_data;
  listener->destroy = destroy;
  listener->pending = g_ptr_array_new_with_free_func (g_object_unref);

  g_mutex_lock (&state.lock);
  id = listener->id = ++state.next_listener_id;
  g_ptr_array_add (state.listeners, listener);
  g_mutex_unlock (&state.lock);

  return id;
}

/**
 * sy_log_remove_listener:
 * @id: what sy_log_add_listener() returned
 *
 * No batch is delivered after this returns, if called from the listener's
 * own context.
 */
void
sy_log_remove_listener (guint id)
{
  Listener *found = NULL;

  g_mutex_lock (&state.lock);
  for (guint i = 0; i < state.listeners->len; i++)
    {
      Listener *listener = g_ptr_array_index (state.listeners, i);

      if (listener->id == id)
        {
          listener->removed = TRUE;
          found = g_ptr_array_steal_index (state.listeners, i);
          break;
        }
    }
  g_mutex_unlock (&state.lock);

  if (found != NULL)
    listener_unref (found);
}

/**
 * sy_log_dup_recent:
 *
 * The newest entries (up to %SY_LOG_RECENT_CAPACITY), from any thread.
 *
 * Returns: (transfer full) (element-type SyLogEntry): oldest first
 */
GPtrArray *
sy_log_dup_recent (void)
{
  GPtrArray *recent = g_ptr_array_new_with_free_func (g_object_unref);

  g_mutex_lock (&state.lock);
  for (GList *l = state.recent.head; l != NULL; l = l->next)
    g_ptr_array_add (recent, g_object_ref (l->data));
  g_mutex_unlock (&state.lock);

  return recent;
}

/**
 * sy_log_level_from_string:
 * @name: "debug", "info", "message", "warning", "critical" or "error"
 *
 * Returns: the #GLogLevelFlags, or -1 if @name is none of them
 */
int
sy_log_level_from_string (const char *name)
{
  static const struct {
    const char     *name;
    GLogLevelFlags  level;
  } levels[] = {
    { "debug", G_LOG_LEVEL_DEBUG },
    { "info", G_LOG_LEVEL_INFO },
    { "message", G_LOG_LEVEL_MESSAGE },
    { "warning", G_LOG_LEVEL_WARNING },
    { "critical", G_LOG_LEVEL_CRITICAL },
    { "error", G_LOG_LEVEL_ERROR },
  };

  for (guint i = 0; i < G_N_ELEMENTS (levels); i++)
    if (g_strcmp0 (name, levels[i].name) == 0)
      return levels[i].level;

  return -1;
}

static GLogWriterOutput
sy_log_writer (GLogLevelFlags   log_level,
               const GLogField *fields,
               gsize            n_fields,
               gpointer         user_data)
{
  const char *domain = NULL;
  const char *message = NULL;
  guint64 connection = 0;
  gint64 now = g_get_real_time ();
  gboolean old_api = FALSE;
  gboolean fatal;
  SyLogEntry *entry;
  gboolean dropped_by_debug;

  for (gsize i = 0; i < n_fields; i++)
    {
      const GLogField *f = &fields[i];

      if (g_strcmp0 (f->key, "GLIB_DOMAIN") == 0)
        domain = f->value;
      else if (g_strcmp0 (f->key, "MESSAGE") == 0)
        message = f->value;
      else if (g_strcmp0 (f->key, SY_LOG_FIELD_CONNECTION) == 0)
        connection = g_ascii_strtoull (f->value, NULL, 10);
      else if (g_strcmp0 (f->key, "GLIB_OLD_LOG_API") == 0)
        old_api = TRUE;
    }

  if (message == NULL)
    message = "";

  /* GLib's own writer makes a structured message fatal when its level is in
   * g_log_set_always_fatal() (G_DEBUG=fatal-criticals, g_test_init()); g_log()
   * has done that already for messages of the old API. Do the same, so that
   * a critical from GTK aborts a test here as it would anywhere. */
  fatal = !old_api && (log_level & (GLogLevelFlags) g_atomic_int_get (&state.fatal_mask)) != 0;

  /* Debug and info go nowhere unless G_MESSAGES_DEBUG asks for them, as
   * with GLib's own writer. */
  dropped_by_debug = g_log_writer_default_would_drop (log_level, domain);

  if ((state.console && !dropped_by_debug) || fatal)
    {
      g_autofree char *line = format_line (now, log_level, domain, message, state.color);
      fprintf (stderr, "%s\n", line);
      fflush (stderr);
    }

  if (fatal)
    abort ();

  if (dropped_by_debug || state.model == NULL)
    return G_LOG_WRITER_HANDLED;

  /* Listeners run their own batches; a listener that logs from its
   * callback only adds to its next batch. */

  entry = g_object_new (SY_TYPE_LOG_ENTRY, NULL);
  entry->time = now;
  entry->level = log_level & G_LOG_LEVEL_MASK;
  entry->domain = g_strdup (domain ? domain : "switchyard");
  entry->message = g_strdup (message);
  entry->connection = connection;

  g_mutex_lock (&state.lock);
  entry->sequence = ++state.sequence;
  g_queue_push_tail (&state.recent, g_object_ref (entry));
  if (state.recent.length > SY_LOG_RECENT_CAPACITY)
    g_object_unref (g_queue_pop_head (&state.recent));
  for (guint i = 0; i < state.listeners->len; i++)
    {
      Listener *listener = g_ptr_array_index (state.listeners, i);

      g_ptr_array_add (listener->pending, g_object_ref (entry));
      if (!listener->scheduled)
        {
          g_autoptr(GSource) source = g_idle_source_new ();

          listener->scheduled = TRUE;
          g_source_set_callback (source, listener_dispatch_cb, listener_ref (listener), listener_unref);
          g_source_set_static_name (source, "[sy-log] listener");
          g_source_attach (source, listener->context);
        }
    }
  g_ptr_array_add (state.pending, entry);
  if (!state.drain_scheduled)
    {
      g_autoptr(GSource) source = g_idle_source_new ();

      state.drain_scheduled = TRUE;
      g_source_set_priority (source, G_PRIORITY_DEFAULT_IDLE);
      g_source_set_callback (source, drain_cb, NULL, NULL);
      g_source_set_static_name (source, "[sy-log] drain");
      g_source_attach (source, state.context);
    }
  g_mutex_unlock (&state.lock);

  return G_LOG_WRITER_HANDLED;
}

/**
 * sy_log_init:
 *
 * Routes the process's logging through Switchyard's writer. The log model
 * belongs to the calling thread's thread-default main context. Call once,
 * early, from the main thread; later calls do nothing.
 */
void
sy_log_init (void)
{
  if (state.model != NULL)
    return;

  g_mutex_init (&state.lock);
  state.pending = g_ptr_array_new_with_free_func (g_object_unref);
  state.listeners = g_ptr_array_new ();
  g_queue_init (&state.recent);
  state.context = g_main_context_ref_thread_default ();
  state.owner = g_thread_self ();
  state.model = g_object_new (SY_TYPE_LOG_MODEL, NULL);
  state.console = TRUE;
  state.color = g_log_writer_supports_color (fileno (stderr));
  /* Read the always-fatal mask without changing it. */
  state.fatal_mask = g_log_set_always_fatal (G_LOG_FATAL_MASK);
  g_log_set_always_fatal (state.fatal_mask);

  g_log_set_writer_func (sy_log_writer, NULL, NULL);
}

/**
 * sy_log_get_model:
 *
 * Returns: (transfer none): the log ring, a #GListModel of #SyLogEntry
 */
SyLogModel *
sy_log_get_model (void)
{
  return state.model;
}

/**
 * sy_log_set_fatal_mask:
 * @mask: the levels that abort
 *
 * Which levels of structured messages abort the program. It starts as
 * g_log_set_always_fatal() had it when sy_log_init() ran, the way GLib's own
 * writer treats structured messages; a test that logs warnings on purpose
 * may lower it.
 */
void
sy_log_set_fatal_mask (GLogLevelFlags mask)
{
  g_atomic_int_set (&state.fatal_mask, (gint) (mask & G_LOG_LEVEL_MASK));
}

/**
 * sy_log_set_console:
 * @enabled: whether to print entries on stderr
 */
void
sy_log_set_console (gboolean enabled)
{
  state.console = !!enabled;
}
