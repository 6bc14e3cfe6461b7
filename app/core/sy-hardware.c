/* sy-hardware.c
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "sy-hardware"

#include "config.h"

#include <glib/gi18n.h>

#include "sy-hardware.h"

/*
 * SyHardware is the owner thread's mirror of the bench (normally the GUI's).
 *
 * The bench lives on the server thread while the server runs: its signals
 * are emitted there and only that thread may call it. SyHardware never
 * touches it from its own thread then. Instead:
 *
 *  - Its handlers on the bench's "reading" and "relay-changed" copy what
 *    they get into a Shared block under a mutex, and attach a source to the
 *    owner's main context (the thread-default one when the SyHardware was
 *    made) that hands the copies to the SyHardware. Readings are coalesced
 *    (the latest wins, at most one every READING_INTERVAL_US); relay
 *    changes and failures are queued and delivered in order, in batches.
 *
 *  - Commands travel the other way with sy_server_invoke(). Refusals (the
 *    bench's GError, or its SyRelayDone with a timeout) come back through
 *    the same queue as "command-failed".
 *
 * Whether the bench mirrors an upstream Switchyard (a relay server's) is
 * read there too, with every "link-changed" of the bench: the bench says
 * so when the server thread makes it a mirror (every relay "unavailable"
 * until the upstream answers) and when it is its own again. The latter
 * happens as the server thread ends, so the "notify::running" handler for
 * the stop delivers it at once: sy_hardware_is_mirror() is right as soon
 * as sy_server_stop() returns.
 *
 * While the server is stopped the bench is idle and belongs to no thread:
 * SyHardware then reads it, and applies settings (names, faults, safe
 * defaults, dropouts) to it, directly. Relay commands need the running
 * bench (its actuation timers live on the server's context), so they fail
 * with "The server is stopped".
 *
 * Shared is reference counted and outlives the SyHardware as long as a
 * signal handler, a queued command or a pending delivery holds it: the
 * bench's handlers hold a reference each (released when they are
 * disconnected, on the server thread), and a delivery that finds the
 * SyHardware gone drops what it carried.
 */

/* 20 readings a second are plenty for eyes and cheap for a GUI. */
#define READING_INTERVAL_US (G_USEC_PER_SEC / 20)
/* How long a SyHardware waits for the server thread's snapshot. */
#define SNAPSHOT_TIMEOUT_US (5 * G_USEC_PER_SEC)

typedef struct _Shared Shared;

typedef enum
{
  EVENT_RELAY,
  EVENT_FAILED,
  EVENT_LINK,
} EventKind;

typedef struct
{
  EventKind     kind;
  guint         relay;
  /* EVENT_RELAY: the state after the change; its name points at @name. */
  SyRelayState  state;
  char         *name;
  /* The reason of a change, or the message of a failure. */
  char         *text;
  /* EVENT_LINK: whether the bench mirrors an upstream one. */
  gboolean      mirror;
} Event;

/* The bench as the server thread saw it at one moment, with the events it
 * posted before that moment and the owner had not had yet. */
typedef struct
{
  gboolean      mirror;
  SyRelayState  relays[SY_BENCH_N_RELAYS];
  char         *names[SY_BENCH_N_RELAYS];
  GPtrArray    *events;
} Snapshot;

/* A request for a snapshot, answered on the bench's thread. */
typedef struct
{
  Shared   *shared;
  guint     serial;
} SnapshotRequest;

struct _Shared
{
  gatomicrefcount  ref_count;
  GMutex           lock;
  GCond            cond;

  /* Immutable */
  GMainContext    *owner_context;
  /* Borrowed: the SyHardware and the server keep it alive. Only used on
   * the bench's thread (or while the bench is idle). */
  SyBench         *bench;

  /* Owner thread only */
  SyHardware      *owner;

  /* Under lock */
  GPtrArray       *events;
  gboolean         events_scheduled;
  SyReading        reading;
  gboolean         reading_scheduled;
  gint64           reading_delivered_at;
  /* The snapshot the owner waits for, and whether it gave up waiting. */
  guint            snapshot_serial;
  gboolean         snapshot_abandoned;
  Snapshot        *snapshot;
};

struct _SyHardware
{
  GObject       parent_instance;

  /* Owned */
  SyServer     *server;
  SyBench      *bench;
  Shared       *shared;

  /* The owner thread's copies */
  SyReading     reading;
  SyRelayState  relays[SY_BENCH_N_RELAYS];
  char         *names[SY_BENCH_N_RELAYS];
  gboolean      dropout[SY_BENCH_N_SENSORS];
  gboolean      mirror;
};

G_DEFINE_FINAL_TYPE (SyHardware, sy_hardware, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_MIRROR,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum {
  READING,
  RELAY_CHANGED,
  COMMAND_FAILED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* Events */

static void
event_free (gpointer data)
{
  Event *event = data;

  g_free (event->name);
  g_free (event->text);
  g_free (event);
}

static Event *
relay_event_new (const SyRelayState *state,
                 const char         *reason)
{
  Event *event = g_new0 (Event, 1);

  event->kind = EVENT_RELAY;
  event->relay = state->index;
  event->state = *state;
  event->name = g_strdup (state->name);
  event->state.name = event->name;
  event->text = g_strdup (reason);

  return event;
}

static Event *
failed_event_new (guint       relay,
                  const char *message)
{
  Event *event = g_new0 (Event, 1);

  event->kind = EVENT_FAILED;
  event->relay = relay;
  event->text = g_strdup (message);

  return event;
}

static Event *
link_event_new (gboolean mirror)
{
  Event *event = g_new0 (Event, 1);

  event->kind = EVENT_LINK;
  event->mirror = !!mirror;

  return event;
}

/* Snapshots */

static void
snapshot_free (Snapshot *snapshot)
{
  for (guint i = 0; i < SY_BENCH_N_RELAYS; i++)
    g_free (snapshot->names[i]);
  g_clear_pointer (&snapshot->events, g_ptr_array_unref);
  g_free (snapshot);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Snapshot, snapshot_free)

/* The bench's thread (or an idle bench). */
static Snapshot *
snapshot_take (SyBench *bench)
{
  Snapshot *snapshot = g_new0 (Snapshot, 1);

  snapshot->mirror = sy_bench_is_mirror (bench);
  for (guint i = 0; i < SY_BENCH_N_RELAYS; i++)
    {
      const SyRelayState *state = sy_bench_get_relay (bench, i);

      snapshot->relays[i] = *state;
      snapshot->names[i] = g_strdup (state->name);
      snapshot->relays[i].name = snapshot->names[i];
    }

  return snapshot;
}

/* Shared */

static Shared *
shared_ref (Shared *shared)
{
  g_atomic_ref_count_inc (&shared->ref_count);
  return shared;
}

static void
shared_unref (gpointer data)
{
  Shared *shared = data;

  if (!g_atomic_ref_count_dec (&shared->ref_count))
    return;

  g_assert (shared->owner == NULL);

  g_clear_pointer (&shared->snapshot, snapshot_free);
  g_ptr_array_unref (shared->events);
  g_main_context_unref (shared->owner_context);
  g_mutex_clear (&shared->lock);
  g_cond_clear (&shared->cond);
  g_free (shared);
}

static void
shared_closure_unref (gpointer  data,
                      GClosure *closure)
{
  shared_unref (data);
}

/* Any thread, with the lock held: runs @func in the owner's context. */
static void
shared_schedule (Shared      *shared,
                 guint        delay_ms,
                 GSourceFunc  func,
                 const char  *name)
{
  GSource *source = delay_ms > 0 ? g_timeout_source_new (delay_ms) : g_idle_source_new ();

  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_callback (source, func, shared_ref (shared), shared_unref);
  g_source_set_static_name (source, name);
  g_source_attach (source, shared->owner_context);
  g_source_unref (source);
}

static gboolean deliver_events_cb (gpointer data);

/* Any thread: queues @event for the owner. Takes it. */
static void
shared_post (Shared *shared,
             Event  *event)
{
  g_mutex_lock (&shared->lock);
  g_ptr_array_add (shared->events, event);
  if (!shared->events_scheduled)
    {
      shared->events_scheduled = TRUE;
      shared_schedule (shared, 0, deliver_events_cb, "[sy-hardware] events");
    }
  g_mutex_unlock (&shared->lock);
}

/* Owner thread: deliveries */

static void
sy_hardware_apply_relay (SyHardware         *self,
                         const SyRelayState *state)
{
  guint i = state->index;

  g_assert (i < SY_BENCH_N_RELAYS);

  if (g_strcmp0 (self->names[i], state->name) != 0)
    {
      g_free (self->names[i]);
      self->names[i] = g_strdup (state->name);
    }

  self->relays[i] = *state;
  self->relays[i].name = self->names[i];
}

static void
sy_hardware_set_mirror (SyHardware *self,
                        gboolean    mirror)
{
  mirror = !!mirror;
  if (self->mirror == mirror)
    return;

  self->mirror = mirror;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MIRROR]);
}

/* Hands @events to the observers, in the bench's order. */
static void
sy_hardware_deliver (SyHardware *self,
                     GPtrArray  *events)
{
  g_autoptr(SyHardware) hold = g_object_ref (self);

  for (guint i = 0; i < events->len; i++)
    {
      Event *event = g_ptr_array_index (events, i);

      /* A handler may have dropped the last other reference. */
      if (self->shared == NULL)
        break;

      switch (event->kind)
        {
        case EVENT_RELAY:
          sy_hardware_apply_relay (self, &event->state);
          g_signal_emit (self, signals[RELAY_CHANGED], 0, event->relay, event->text);
          break;

        case EVENT_FAILED:
          g_signal_emit (self, signals[COMMAND_FAILED], 0, event->relay, event->text);
          break;

        case EVENT_LINK:
          sy_hardware_set_mirror (self, event->mirror);
          break;

        default:
          g_assert_not_reached ();
        }
    }
}

/* Takes in @snapshot, after the events the bench posted before it: the
 * copies of a new SyHardware that nobody watches yet. */
static void
sy_hardware_apply_snapshot (SyHardware *self,
                            Snapshot   *snapshot)
{
  if (snapshot->events != NULL)
    sy_hardware_deliver (self, snapshot->events);

  self->mirror = snapshot->mirror;
  for (guint i = 0; i < SY_BENCH_N_RELAYS; i++)
    sy_hardware_apply_relay (self, &snapshot->relays[i]);
}

/* Delivers what the bench posted so far, now. */
static void
sy_hardware_flush (SyHardware *self)
{
  Shared *shared = self->shared;
  g_autoptr(GPtrArray) events = NULL;

  g_mutex_lock (&shared->lock);
  events = g_steal_pointer (&shared->events);
  shared->events = g_ptr_array_new_with_free_func (event_free);
  g_mutex_unlock (&shared->lock);

  sy_hardware_deliver (self, events);
}

static gboolean
deliver_events_cb (gpointer data)
{
  Shared *shared = data;
  g_autoptr(GPtrArray) events = NULL;

  g_mutex_lock (&shared->lock);
  events = g_steal_pointer (&shared->events);
  shared->events = g_ptr_array_new_with_free_func (event_free);
  shared->events_scheduled = FALSE;
  g_mutex_unlock (&shared->lock);

  if (shared->owner != NULL)
    sy_hardware_deliver (shared->owner, events);

  return G_SOURCE_REMOVE;
}

static gboolean
deliver_reading_cb (gpointer data)
{
  Shared *shared = data;
  SyReading reading;

  g_mutex_lock (&shared->lock);
  reading = shared->reading;
  shared->reading_scheduled = FALSE;
  shared->reading_delivered_at = g_get_monotonic_time ();
  g_mutex_unlock (&shared->lock);

  if (shared->owner != NULL)
    {
      g_autoptr(SyHardware) self = g_object_ref (shared->owner);

      self->reading = reading;
      g_signal_emit (self, signals[READING], 0, &self->reading);
    }

  return G_SOURCE_REMOVE;
}

/* The bench's thread: its signals */

static void
on_bench_reading (SyBench         *bench,
                  const SyReading *reading,
                  Shared          *shared)
{
  g_mutex_lock (&shared->lock);
  shared->reading = *reading;
  if (!shared->reading_scheduled)
    {
      gint64 due = shared->reading_delivered_at + READING_INTERVAL_US;
      gint64 now = g_get_monotonic_time ();
      guint delay_ms = due > now ? (guint) ((due - now + 999) / 1000) : 0;

      shared->reading_scheduled = TRUE;
      shared_schedule (shared, delay_ms, deliver_reading_cb, "[sy-hardware] reading");
    }
  g_mutex_unlock (&shared->lock);
}

static void
on_bench_relay_changed (SyBench    *bench,
                        guint       relay,
                        const char *reason,
                        Shared     *shared)
{
  shared_post (shared, relay_event_new (sy_bench_get_relay (bench, relay), reason));
}

static void
on_bench_link_changed (SyBench *bench,
                       Shared  *shared)
{
  shared_post (shared, link_event_new (sy_bench_is_mirror (bench)));
}

/* The bench's thread (or an idle bench): answers the SnapshotRequest of a
 * new SyHardware, connecting the handlers and taking the snapshot in one
 * go, so that no change falls between the two. */
static void
snapshot_request_answer (gpointer data)
{
  SnapshotRequest *request = data;
  Shared *shared = request->shared;
  g_autoptr(Snapshot) snapshot = NULL;

  g_signal_connect_data (shared->bench, "reading", G_CALLBACK (on_bench_reading),
                         shared_ref (shared), shared_closure_unref, G_CONNECT_DEFAULT);
  g_signal_connect_data (shared->bench, "relay-changed", G_CALLBACK (on_bench_relay_changed),
                         shared_ref (shared), shared_closure_unref, G_CONNECT_DEFAULT);
  g_signal_connect_data (shared->bench, "link-changed", G_CALLBACK (on_bench_link_changed),
                         shared_ref (shared), shared_closure_unref, G_CONNECT_DEFAULT);

  snapshot = snapshot_take (shared->bench);

  g_mutex_lock (&shared->lock);
  shared->reading = *sy_bench_get_reading (shared->bench);

  if (request->serial == shared->snapshot_serial && !shared->snapshot_abandoned)
    {
      /* The owner waits for it: hand it over with what the owner has not
       * had yet, which it takes in first. */
      snapshot->events = g_steal_pointer (&shared->events);
      shared->events = g_ptr_array_new_with_free_func (event_free);
      g_clear_pointer (&shared->snapshot, snapshot_free);
      shared->snapshot = g_steal_pointer (&snapshot);
      g_cond_signal (&shared->cond);
      g_mutex_unlock (&shared->lock);
    }
  else
    {
      /* The owner gave up waiting: tell it like any change. */
      g_mutex_unlock (&shared->lock);
      for (guint i = 0; i < SY_BENCH_N_RELAYS; i++)
        shared_post (shared, relay_event_new (&snapshot->relays[i], "snapshot"));
      shared_post (shared, link_event_new (snapshot->mirror));
    }

  shared_unref (shared);
  g_free (request);
}

/* The bench's thread (or an idle bench). */
static void
detach_now (gpointer data)
{
  Shared *shared = data;

  g_signal_handlers_disconnect_by_data (shared->bench, shared);
  shared_unref (shared);
}

/* Runs nothing: the work of snapshots and detach is in their notify, which
 * sy_server_invoke() calls exactly once, on the server thread, whether or
 * not the server was already shutting down. */
static gboolean
nothing_cb (gpointer data)
{
  return G_SOURCE_REMOVE;
}

/* Commands */

typedef enum
{
  COMMAND_SET,
  COMMAND_TOGGLE,
  COMMAND_PULSE,
  COMMAND_RENAME,
  COMMAND_STUCK,
  COMMAND_SAFE_DEFAULT,
  COMMAND_DROPOUT,
} CommandKind;

typedef struct
{
  Shared      *shared;
  CommandKind  kind;
  guint        index;
  int          value;
  char        *name;
  gboolean     ran;
} Command;

/* Relay commands move the relay, with timers on the running bench's
 * context; settings only change its state. */
static gboolean
command_moves_relay (CommandKind kind)
{
  return kind == COMMAND_SET || kind == COMMAND_TOGGLE || kind == COMMAND_PULSE;
}

/* What a refusal says to the person at the window, in their language (the
 * bench's own messages are the wire's, in English). The bench's thread. */
static char *
describe_refusal (SyBench      *bench,
                  guint         relay,
                  const GError *error)
{
  const SyRelayState *state = sy_bench_get_relay (bench, relay);

  if (state == NULL || error->domain != SY_BENCH_ERROR)
    return g_strdup (error->message);

  switch ((SyBenchError) error->code)
    {
    case SY_BENCH_ERROR_INTERLOCK:
      {
        int partner = state->interlock ? sy_bench_find_relay (bench, state->interlock) : -1;

        /* Translators: the names of two relays that may never be on together. */
        return g_strdup_printf (_("%s cannot be switched on while %s is on (interlock)"), state->name,
                                partner >= 0 ? sy_bench_get_relay (bench, (guint) partner)->name
                                             : state->interlock);
      }

    case SY_BENCH_ERROR_TIMEOUT:
      /* Translators: a relay's name. */
      return g_strdup_printf (_("%s did not confirm in time and is unchanged"), state->name);

    case SY_BENCH_ERROR_UNAVAILABLE:
      /* Translators: a relay's name. */
      return g_strdup_printf (_("%s is unavailable: the Switchyard it is mirrored from is not connected"),
                              state->name);

    case SY_BENCH_ERROR_FORBIDDEN:
    case SY_BENCH_ERROR_RATE_LIMITED:
    case SY_BENCH_ERROR_NOT_FOUND:
    case SY_BENCH_ERROR_INVALID:
    default:
      return g_strdup (error->message);
    }
}

static void
command_done (SyBench      *bench,
              guint         relay,
              const GError *error,
              gpointer      user_data)
{
  Shared *shared = user_data;

  /* A cancellation is the server stopping: the relay-changed "cancelled"
   * says all there is to say. */
  if (error != NULL && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_autofree char *text = describe_refusal (bench, relay, error);

      shared_post (shared, failed_event_new (relay, text));
    }

  shared_unref (shared);
}

/* The bench's thread (or an idle bench). */
static void
command_run (Command *command)
{
  Shared *shared = command->shared;
  SyBench *bench = shared->bench;
  g_autoptr(GError) error = NULL;
  gboolean ok = TRUE;

  command->ran = TRUE;

  switch (command->kind)
    {
    case COMMAND_SET:
      ok = sy_bench_relay_set (bench, command->index, command->value,
                               command_done, shared_ref (shared), &error);
      break;

    case COMMAND_TOGGLE:
      ok = sy_bench_relay_toggle (bench, command->index, command_done, shared_ref (shared), &error);
      break;

    case COMMAND_PULSE:
      ok = sy_bench_relay_pulse (bench, command->index, (guint) command->value,
                                 command_done, shared_ref (shared), &error);
      break;

    case COMMAND_RENAME:
      ok = sy_bench_relay_rename (bench, command->index, command->name, &error);
      break;

    case COMMAND_STUCK:
      sy_bench_relay_set_stuck (bench, command->index, command->value);
      break;

    case COMMAND_SAFE_DEFAULT:
      sy_bench_relay_set_safe_default (bench, command->index, command->value);
      break;

    case COMMAND_DROPOUT:
      sy_bench_set_sensor_dropout (bench, command->index, command->value);
      break;

    default:
      g_assert_not_reached ();
    }

  if (!ok)
    {
      g_autofree char *text = NULL;

      /* Refused at once: done will not be called. */
      if (command_moves_relay (command->kind))
        shared_unref (shared);
      text = describe_refusal (bench, command->index, error);
      shared_post (shared, failed_event_new (command->index, text));
    }
}

static gboolean
command_cb (gpointer data)
{
  command_run (data);

  return G_SOURCE_REMOVE;
}

/* Called exactly once: on the server thread, or at once when the server
 * was not running. */
static void
command_free (gpointer data)
{
  Command *command = data;

  if (!command->ran)
    {
      /* The server stopped before the command reached the bench, which
       * is idle now: settings still apply, motion cannot. */
      if (command_moves_relay (command->kind))
        shared_post (command->shared, failed_event_new (command->index, _("The server is stopped")));
      else
        command_run (command);
    }

  shared_unref (command->shared);
  g_free (command->name);
  g_free (command);
}

static void
sy_hardware_send (SyHardware  *self,
                  CommandKind  kind,
                  guint        index,
                  int          value,
                  const char  *name)
{
  Command *command;

  g_assert (self->shared != NULL);

  command = g_new0 (Command, 1);
  command->shared = shared_ref (self->shared);
  command->kind = kind;
  command->index = index;
  command->value = value;
  command->name = g_strdup (name);

  /* Stopped, sy_server_invoke() frees the command at once, which applies
   * a setting to the idle bench or refuses a relay command; the failure
   * still arrives later, from the owner's main loop. */
  sy_server_invoke (self->server, command_cb, command, command_free);
}

/* Owner thread, for a new SyHardware: asks the bench's thread to connect
 * the handlers and take a snapshot, and waits for it, briefly (only when
 * the server runs: stopped, the answer comes at once, on this thread).
 * Returns NULL if it did not come in time: it comes as events then. */
static Snapshot *
sy_hardware_request_snapshot (SyHardware *self)
{
  Shared *shared = self->shared;
  SnapshotRequest *request = g_new0 (SnapshotRequest, 1);
  Snapshot *snapshot;
  gint64 deadline;

  g_mutex_lock (&shared->lock);
  request->serial = ++shared->snapshot_serial;
  shared->snapshot_abandoned = FALSE;
  g_clear_pointer (&shared->snapshot, snapshot_free);
  g_mutex_unlock (&shared->lock);

  request->shared = shared_ref (shared);

  /* Stopped, this answers at once, on this thread. */
  sy_server_invoke (self->server, nothing_cb, request, snapshot_request_answer);

  deadline = g_get_monotonic_time () + SNAPSHOT_TIMEOUT_US;
  g_mutex_lock (&shared->lock);
  while (shared->snapshot == NULL)
    {
      if (!g_cond_wait_until (&shared->cond, &shared->lock, deadline))
        break;
    }

  snapshot = g_steal_pointer (&shared->snapshot);
  if (snapshot == NULL)
    shared->snapshot_abandoned = TRUE;
  g_mutex_unlock (&shared->lock);

  return snapshot;
}

/* The server stopped: the bench is its own again, and said so before the
 * thread ended. (A start needs nothing: what the thread does to the bench
 * comes as events.) */
static void
on_server_running (SyServer   *server,
                   GParamSpec *pspec,
                   SyHardware *self)
{
  g_autoptr(SyHardware) hold = g_object_ref (self);

  if (self->shared == NULL || sy_server_get_running (server))
    return;

  sy_hardware_flush (self);
}

/* GObject */

static void
sy_hardware_dispose (GObject *object)
{
  SyHardware *self = (SyHardware *)object;

  if (self->server != NULL)
    g_signal_handlers_disconnect_by_data (self->server, self);

  if (self->shared != NULL)
    {
      Shared *shared = g_steal_pointer (&self->shared);

      shared->owner = NULL;
      sy_server_invoke (self->server, nothing_cb, shared_ref (shared), detach_now);
      shared_unref (shared);
    }

  g_clear_object (&self->bench);
  g_clear_object (&self->server);

  G_OBJECT_CLASS (sy_hardware_parent_class)->dispose (object);
}

static void
sy_hardware_finalize (GObject *object)
{
  SyHardware *self = (SyHardware *)object;

  for (guint i = 0; i < SY_BENCH_N_RELAYS; i++)
    g_clear_pointer (&self->names[i], g_free);

  G_OBJECT_CLASS (sy_hardware_parent_class)->finalize (object);
}

static void
sy_hardware_get_property (GObject    *object,
                          guint       prop_id,
                          GValue     *value,
                          GParamSpec *pspec)
{
  SyHardware *self = SY_HARDWARE (object);

  switch (prop_id)
    {
    case PROP_MIRROR:
      g_value_set_boolean (value, self->mirror);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sy_hardware_class_init (SyHardwareClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = sy_hardware_dispose;
  object_class->finalize = sy_hardware_finalize;
  object_class->get_property = sy_hardware_get_property;

  /**
   * SyHardware:mirror:
   *
   * Whether the bench mirrors an upstream Switchyard (the server is a relay
   * server, see sy_server_set_uplink()): its relays are the upstream's,
   * commands go there, and faults, names and settings are set there, not
   * here. It is so while such a server runs, from the moment its "running"
   * is notified, link up or down.
   */
  properties[PROP_MIRROR] =
    g_param_spec_boolean ("mirror", NULL, NULL,
                          FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * SyHardware::reading:
   * @self: the mirror
   * @reading: (type gpointer): the latest `SyReading`, the same as
   *   sy_hardware_get_reading()
   *
   * A new reading, coalesced: at most about 20 a second, always the
   * latest the bench published. Emitted on the thread that made @self.
   */
  signals[READING] =
    g_signal_new ("reading",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_POINTER);

  /**
   * SyHardware::relay-changed:
   * @self: the mirror
   * @relay: the relay's index
   * @reason: the bench's reason ("command", "confirmed", "timeout",
   *   "rename", "unavailable", "resync", … see `SyBench::relay-changed`),
   *   or "snapshot" when a fresh read of the bench (the server started)
   *   found the relay other than this thread's copy: a relay server's
   *   relays turn unavailable that way
   *
   * Every change of every relay, in the bench's order, whoever caused it;
   * sy_hardware_get_relay() already holds the state after it. Emitted on
   * the thread that made @self.
   */
  signals[RELAY_CHANGED] =
    g_signal_new ("relay-changed",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2, G_TYPE_UINT, G_TYPE_STRING | G_SIGNAL_TYPE_STATIC_SCOPE);

  /**
   * SyHardware::command-failed:
   * @self: the mirror
   * @relay: the relay's index (or the sensor's, for a dropout)
   * @message: why, for people: the bench's message (interlock, command
   *   timeout, invalid name or pulse, a mirror's relay unavailable or
   *   renamed upstream only), or that the server is stopped
   *
   * A command of this mirror was refused or did not complete. The relay's
   * state did not change because of it. Always emitted later, from the
   * main loop of the thread that made @self, never from inside the call.
   */
  signals[COMMAND_FAILED] =
    g_signal_new ("command-failed",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2, G_TYPE_UINT, G_TYPE_STRING | G_SIGNAL_TYPE_STATIC_SCOPE);
}

static void
sy_hardware_init (SyHardware *self)
{
}

/**
 * sy_hardware_new:
 * @server: a #SyServer with a bench (sy_server_install_bench())
 *
 * Makes a mirror of @server's bench for the calling thread, which must be
 * the one that starts and stops @server. Its signals are emitted in the
 * calling thread's thread-default main context.
 *
 * If @server runs, this waits (briefly) for the server thread to read the
 * relays, so sy_hardware_get_relay() is right from the start.
 *
 * Returns: (transfer full): a new #SyHardware
 */
SyHardware *
sy_hardware_new (SyServer *server)
{
  SyHardware *self;
  Shared *shared;
  g_autoptr(Snapshot) snapshot = NULL;

  g_return_val_if_fail (SY_IS_SERVER (server), NULL);
  g_return_val_if_fail (SY_IS_BENCH (sy_server_get_bench (server)), NULL);

  self = g_object_new (SY_TYPE_HARDWARE, NULL);
  self->server = g_object_ref (server);
  self->bench = g_object_ref (sy_server_get_bench (server));

  shared = g_new0 (Shared, 1);
  g_atomic_ref_count_init (&shared->ref_count);
  g_mutex_init (&shared->lock);
  g_cond_init (&shared->cond);
  shared->owner_context = g_main_context_ref_thread_default ();
  shared->bench = self->bench;
  shared->owner = self;
  shared->events = g_ptr_array_new_with_free_func (event_free);
  self->shared = shared;

  g_signal_connect (server, "notify::running", G_CALLBACK (on_server_running), self);

  snapshot = sy_hardware_request_snapshot (self);
  if (snapshot != NULL)
    {
      sy_hardware_apply_snapshot (self, snapshot);
      g_mutex_lock (&shared->lock);
      self->reading = shared->reading;
      g_mutex_unlock (&shared->lock);
    }
  else
    {
      /* The relays will arrive as "snapshot" changes. */
      for (guint i = 0; i < SY_BENCH_N_RELAYS; i++)
        self->relays[i].index = i;
      g_message ("The server thread did not answer in time; the relays will show when it does");
    }

  return self;
}

/**
 * sy_hardware_get_server:
 * @self: a #SyHardware
 *
 * Returns: (transfer none): the server
 */
SyServer *
sy_hardware_get_server (SyHardware *self)
{
  g_return_val_if_fail (SY_IS_HARDWARE (self), NULL);

  return self->server;
}

/**
 * sy_hardware_is_mirror:
 * @self: a #SyHardware
 *
 * Whether the bench mirrors an upstream Switchyard, as the server thread
 * last told this thread (see #SyHardware:mirror). A mirror's faults, names
 * and safe defaults are the upstream's: sy_hardware_relay_set_stuck(),
 * sy_hardware_set_sensor_dropout() and sy_hardware_relay_set_safe_default()
 * do nothing to it, and sy_hardware_relay_rename() is refused.
 *
 * Returns: whether the bench is a mirror
 */
gboolean
sy_hardware_is_mirror (SyHardware *self)
{
  g_return_val_if_fail (SY_IS_HARDWARE (self), FALSE);

  return self->mirror;
}

/**
 * sy_hardware_get_reading:
 * @self: a #SyHardware
 *
 * Returns: (transfer none): the latest reading delivered to this thread
 */
const SyReading *
sy_hardware_get_reading (SyHardware *self)
{
  g_return_val_if_fail (SY_IS_HARDWARE (self), NULL);

  return &self->reading;
}

/**
 * sy_hardware_get_sensor_dropout:
 * @self: a #SyHardware
 * @sensor: a `SySensor`
 *
 * Returns: whether this mirror asked for a dropout of @sensor
 */
gboolean
sy_hardware_get_sensor_dropout (SyHardware *self,
                                guint       sensor)
{
  g_return_val_if_fail (SY_IS_HARDWARE (self), FALSE);
  g_return_val_if_fail (sensor < SY_BENCH_N_SENSORS, FALSE);

  return self->dropout[sensor];
}

/**
 * sy_hardware_set_sensor_dropout:
 * @self: a #SyHardware
 * @sensor: a `SySensor`
 * @dropout: whether the sensor stops answering
 *
 * Injects (or ends) a sensor dropout, see sy_bench_set_sensor_dropout().
 * The readings show it: the sensor turns stale.
 */
void
sy_hardware_set_sensor_dropout (SyHardware *self,
                                guint       sensor,
                                gboolean    dropout)
{
  g_return_if_fail (SY_IS_HARDWARE (self));
  g_return_if_fail (sensor < SY_BENCH_N_SENSORS);

  self->dropout[sensor] = !!dropout;
  sy_hardware_send (self, COMMAND_DROPOUT, sensor, !!dropout, NULL);
}

/**
 * sy_hardware_get_relay:
 * @self: a #SyHardware
 * @relay: a `SyRelay`
 *
 * Returns: (transfer none): this thread's copy of the relay, valid until
 *   the next `SyHardware::relay-changed`
 */
const SyRelayState *
sy_hardware_get_relay (SyHardware *self,
                       guint       relay)
{
  g_return_val_if_fail (SY_IS_HARDWARE (self), NULL);
  g_return_val_if_fail (relay < SY_BENCH_N_RELAYS, NULL);

  return &self->relays[relay];
}

/**
 * sy_hardware_get_relay_available:
 * @self: a #SyHardware
 * @relay: a `SyRelay`
 *
 * A mirror's relay is unavailable while the upstream Switchyard is not
 * connected (or has lost its own upstream): commands to it are refused.
 * A bench of its own has every relay available. Changes come with
 * `SyHardware::relay-changed`.
 *
 * Returns: whether the relay can be commanded, as far as this thread knows
 */
gboolean
sy_hardware_get_relay_available (SyHardware *self,
                                 guint       relay)
{
  g_return_val_if_fail (SY_IS_HARDWARE (self), FALSE);
  g_return_val_if_fail (relay < SY_BENCH_N_RELAYS, FALSE);

  return self->relays[relay].available;
}

/**
 * sy_hardware_relay_set:
 * @self: a #SyHardware
 * @relay: a `SyRelay`
 * @on: the state to command
 *
 * Commands the relay, like a client's `set`: it turns pending, then the
 * device confirms, each shown by `SyHardware::relay-changed` and broadcast
 * to every client. A refusal (interlock, the command timing out, the server
 * being stopped) comes as `SyHardware::command-failed`.
 */
void
sy_hardware_relay_set (SyHardware *self,
                       guint       relay,
                       gboolean    on)
{
  g_return_if_fail (SY_IS_HARDWARE (self));
  g_return_if_fail (relay < SY_BENCH_N_RELAYS);

  sy_hardware_send (self, COMMAND_SET, relay, !!on, NULL);
}

/**
 * sy_hardware_relay_toggle:
 * @self: a #SyHardware
 * @relay: a `SyRelay`
 *
 * Like sy_hardware_relay_set() with the opposite of where the bench's
 * relay is heading.
 */
void
sy_hardware_relay_toggle (SyHardware *self,
                          guint       relay)
{
  g_return_if_fail (SY_IS_HARDWARE (self));
  g_return_if_fail (relay < SY_BENCH_N_RELAYS);

  sy_hardware_send (self, COMMAND_TOGGLE, relay, 0, NULL);
}

/**
 * sy_hardware_relay_pulse:
 * @self: a #SyHardware
 * @relay: a `SyRelay`
 * @ms: how long to stay on, %SY_BENCH_PULSE_MIN_MS to %SY_BENCH_PULSE_MAX_MS
 *
 * Switches the relay on for @ms, see sy_bench_relay_pulse(). A bad @ms is
 * refused by the bench (`SyHardware::command-failed`).
 */
void
sy_hardware_relay_pulse (SyHardware *self,
                         guint       relay,
                         guint       ms)
{
  g_return_if_fail (SY_IS_HARDWARE (self));
  g_return_if_fail (relay < SY_BENCH_N_RELAYS);

  sy_hardware_send (self, COMMAND_PULSE, relay, (int) MIN (ms, (guint) G_MAXINT), NULL);
}

/**
 * sy_hardware_relay_rename:
 * @self: a #SyHardware
 * @relay: a `SyRelay`
 * @name: the new name
 *
 * Renames the relay (also while the server is stopped). A name the bench
 * refuses (empty, too long, control characters) comes back as
 * `SyHardware::command-failed`.
 */
void
sy_hardware_relay_rename (SyHardware *self,
                          guint       relay,
                          const char *name)
{
  g_return_if_fail (SY_IS_HARDWARE (self));
  g_return_if_fail (relay < SY_BENCH_N_RELAYS);

  sy_hardware_send (self, COMMAND_RENAME, relay, 0, name);
}

/**
 * sy_hardware_relay_set_stuck:
 * @self: a #SyHardware
 * @relay: a `SyRelay`
 * @stuck: whether the relay stops answering commands
 *
 * Injects (or clears) a stuck-relay fault, see sy_bench_relay_set_stuck().
 */
void
sy_hardware_relay_set_stuck (SyHardware *self,
                             guint       relay,
                             gboolean    stuck)
{
  g_return_if_fail (SY_IS_HARDWARE (self));
  g_return_if_fail (relay < SY_BENCH_N_RELAYS);

  sy_hardware_send (self, COMMAND_STUCK, relay, !!stuck, NULL);
}

/**
 * sy_hardware_relay_set_safe_default:
 * @self: a #SyHardware
 * @relay: a `SyRelay`
 * @safe_default: how the relay comes up after a restart: -1 as saved,
 *   0 off, 1 on
 */
void
sy_hardware_relay_set_safe_default (SyHardware *self,
                                    guint       relay,
                                    int         safe_default)
{
  g_return_if_fail (SY_IS_HARDWARE (self));
  g_return_if_fail (relay < SY_BENCH_N_RELAYS);
  g_return_if_fail (safe_default >= -1 && safe_default <= 1);

  sy_hardware_send (self, COMMAND_SAFE_DEFAULT, relay, safe_default, NULL);
}
