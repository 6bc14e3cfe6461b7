/* test-hardware.c
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "test-hardware"

#include "config.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "sy-audit.h"
#include "sy-bench.h"
#include "sy-hardware.h"
#include "sy-server.h"
#include "sy-test-utils.h"

/* SyHardware is the owner thread's mirror of the bench that lives on the
 * server thread. These tests drive a real server on loopback, watch the
 * mirror from the test thread (the owner), and check what it did on the
 * wire with a real WebSocket client. */

typedef struct
{
  guint     relay;
  char     *reason;
  char     *name;
  gboolean  on;
  gboolean  pending;
  gboolean  target;
  gboolean  stuck;
} Change;

typedef struct
{
  guint  relay;
  char  *message;
} Failure;

typedef struct
{
  SyServer    *server;
  SyBench     *bench;
  SyAudit     *audit;
  SoupSession *session;
  char        *state_dir;

  /* What the watched SyHardware emitted, on this thread. */
  GThread     *thread;
  GPtrArray   *changes;
  GPtrArray   *failures;
  guint        n_readings;
  guint64      first_seq;
  guint64      last_seq;
  SyReading    last;
} Fixture;

static void
change_free (gpointer data)
{
  Change *change = data;

  g_free (change->reason);
  g_free (change->name);
  g_free (change);
}

static void
failure_free (gpointer data)
{
  Failure *failure = data;

  g_free (failure->message);
  g_free (failure);
}

/* Watching */

static void
on_reading (SyHardware      *hardware,
            const SyReading *reading,
            Fixture         *fixture)
{
  g_assert_true (g_thread_self () == fixture->thread);
  g_assert_true (reading == sy_hardware_get_reading (hardware));

  if (fixture->n_readings == 0)
    fixture->first_seq = reading->seq;
  else
    g_assert_cmpuint (reading->seq, >, fixture->last_seq);

  fixture->n_readings++;
  fixture->last_seq = reading->seq;
  fixture->last = *reading;
}

static void
on_relay_changed (SyHardware *hardware,
                  guint       relay,
                  const char *reason,
                  Fixture    *fixture)
{
  const SyRelayState *state = sy_hardware_get_relay (hardware, relay);
  Change *change = g_new0 (Change, 1);

  g_assert_true (g_thread_self () == fixture->thread);
  g_assert_cmpuint (state->index, ==, relay);

  change->relay = relay;
  change->reason = g_strdup (reason);
  change->name = g_strdup (state->name);
  change->on = state->on;
  change->pending = state->pending;
  change->target = state->target;
  change->stuck = state->stuck;
  g_ptr_array_add (fixture->changes, change);

  if (g_getenv ("SY_TEST_TRACE"))
    g_printerr ("relay %u %s: on=%d pending=%d target=%d\n", relay, reason,
                state->on, state->pending, state->target);
}

static void
on_command_failed (SyHardware *hardware,
                   guint       relay,
                   const char *message,
                   Fixture    *fixture)
{
  Failure *failure = g_new0 (Failure, 1);

  g_assert_true (g_thread_self () == fixture->thread);

  failure->relay = relay;
  failure->message = g_strdup (message);
  g_ptr_array_add (fixture->failures, failure);
}

static SyHardware *
watch_new (Fixture *fixture)
{
  SyHardware *hardware = sy_hardware_new (fixture->server);

  g_assert_true (sy_hardware_get_server (hardware) == fixture->server);
  g_signal_connect (hardware, "reading", G_CALLBACK (on_reading), fixture);
  g_signal_connect (hardware, "relay-changed", G_CALLBACK (on_relay_changed), fixture);
  g_signal_connect (hardware, "command-failed", G_CALLBACK (on_command_failed), fixture);

  return hardware;
}

/* The changes of one relay, in order. */
static GPtrArray *
changes_of (Fixture *fixture,
            guint    relay)
{
  GPtrArray *changes = g_ptr_array_new ();

  for (guint i = 0; i < fixture->changes->len; i++)
    {
      Change *change = g_ptr_array_index (fixture->changes, i);

      if (change->relay == relay)
        g_ptr_array_add (changes, change);
    }

  return changes;
}

static gboolean
has_change (Fixture    *fixture,
            guint       relay,
            const char *reason)
{
  for (guint i = 0; i < fixture->changes->len; i++)
    {
      Change *change = g_ptr_array_index (fixture->changes, i);

      if (change->relay == relay && g_strcmp0 (change->reason, reason) == 0)
        return TRUE;
    }

  return FALSE;
}

static void
spin (guint ms)
{
  gint64 until = g_get_monotonic_time () + (gint64) ms * 1000;

  WAIT_UNTIL (g_get_monotonic_time () >= until, ms + 5000);
}

/* A WebSocket client */


/* The next "relay" broadcast, whichever relay it is about. */
static JsonObject *
client_next_relay (SyTestClient *client,
                   const char **id)
{
  JsonObject *message = sy_test_client_next (client, "relay");
  JsonObject *relay = json_object_get_object_member (message, "relay");

  *id = json_object_get_string_member (relay, "id");

  return message;
}

static JsonObject *
relay_in (JsonObject *message)
{
  return json_object_get_object_member (message, "relay");
}

static JsonObject *
find_in_snapshot (JsonObject *relays,
                  const char *id)
{
  JsonArray *list = json_object_get_array_member (relays, "relays");

  for (guint i = 0; i < json_array_get_length (list); i++)
    {
      JsonObject *relay = json_array_get_object_element (list, i);

      if (g_strcmp0 (json_object_get_string_member (relay, "id"), id) == 0)
        return relay;
    }

  g_assert_not_reached ();
}

/* Fixture */

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  data)
{
  g_autofree char *audit_path = NULL;
  g_autoptr(GError) error = NULL;

  fixture->thread = g_thread_self ();
  fixture->changes = g_ptr_array_new_with_free_func (change_free);
  fixture->failures = g_ptr_array_new_with_free_func (failure_free);
  fixture->state_dir = g_dir_make_tmp ("switchyard-test-XXXXXX", &error);
  g_assert_no_error (error);
  fixture->bench = sy_bench_new (42, fixture->state_dir);
  /* Faster than the mirror's 20 per second, to show the coalescing. */
  sy_bench_set_tick_hz (fixture->bench, 50);
  /* Long enough that the pending state is there to see. */
  sy_bench_set_actuation_delay (fixture->bench, 60);
  sy_bench_set_command_timeout (fixture->bench, 300);
  audit_path = g_build_filename (fixture->state_dir, "audit.log", NULL);
  fixture->audit = sy_audit_new (audit_path);
  fixture->server = sy_test_server_new ();
  sy_server_install_bench (fixture->server, fixture->bench, fixture->audit);
  fixture->session = sy_test_session_new ();
}

static void
remove_tree (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      g_remove (child);
    }
  g_rmdir (path);
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  data)
{
  sy_server_stop (fixture->server);
  g_clear_object (&fixture->session);
  /* The server's last hand-off to this thread holds a reference. */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert_finalize_object (g_steal_pointer (&fixture->server));
  g_clear_object (&fixture->audit);
  g_assert_finalize_object (g_steal_pointer (&fixture->bench));
  remove_tree (fixture->state_dir);
  g_free (fixture->state_dir);
  g_ptr_array_unref (fixture->changes);
  g_ptr_array_unref (fixture->failures);
}

/* Tests */

typedef struct
{
  GThread  *thread;
  gboolean  ran;
  gboolean  freed;
} Invoked;

static gboolean
invoked_cb (gpointer data)
{
  Invoked *invoked = data;

  invoked->thread = g_thread_self ();
  invoked->ran = TRUE;

  return G_SOURCE_REMOVE;
}

static void
invoked_free (gpointer data)
{
  Invoked *invoked = data;

  g_assert_false (invoked->freed);
  invoked->freed = TRUE;
}

static void
test_invoke (Fixture       *fixture,
             gconstpointer  data)
{
  Invoked stopped = { 0 };
  Invoked running = { 0 };

  /* Stopped: not run, and the data is released at once. */
  g_assert_false (sy_server_invoke (fixture->server, invoked_cb, &stopped, invoked_free));
  g_assert_false (stopped.ran);
  g_assert_true (stopped.freed);

  /* Running: on the server's own thread. */
  sy_test_server_start (fixture->server);
  g_assert_true (sy_server_invoke (fixture->server, invoked_cb, &running, invoked_free));
  WAIT_UNTIL (running.freed, 5000);
  g_assert_true (running.ran);
  g_assert_nonnull (running.thread);
  g_assert_true (running.thread != g_thread_self ());
}

static void
test_readings (Fixture       *fixture,
               gconstpointer  data)
{
  g_autoptr(SyHardware) hardware = NULL;
  gint64 start;
  guint n0;
  guint n;

  sy_test_server_start (fixture->server);
  hardware = watch_new (fixture);

  /* A reading is there from the start. */
  g_assert_nonnull (sy_hardware_get_reading (hardware));

  WAIT_UNTIL (fixture->n_readings >= 2, 5000);

  n0 = fixture->n_readings;
  start = g_get_monotonic_time ();
  spin (1000);
  n = fixture->n_readings - n0;

  g_test_message ("%u readings in %.2f s; bench steps %" G_GUINT64_FORMAT " to %" G_GUINT64_FORMAT,
                  n, (g_get_monotonic_time () - start) / 1e6, fixture->first_seq, fixture->last_seq);

  /* At most about 20 a second, but a steady stream. */
  g_assert_cmpuint (n, <=, 22);
  g_assert_cmpuint (n, >=, 5);
  /* The bench stepped 50 times a second: readings were coalesced, not
   * queued (seq only grows, checked in on_reading). */
  g_assert_cmpuint (fixture->last_seq - fixture->first_seq, >, fixture->n_readings);
  for (guint i = 0; i < SY_BENCH_N_SENSORS; i++)
    {
      const SySensorSpec *spec = sy_bench_get_sensor_spec (i);

      g_assert_false (fixture->last.stale[i]);
      g_assert_cmpfloat (fixture->last.values[i], >=, spec->min - (spec->max - spec->min));
      g_assert_cmpfloat (fixture->last.values[i], <=, spec->max + (spec->max - spec->min));
    }

  /* Once the bench is idle, the mirror holds exactly its latest reading. */
  sy_server_stop (fixture->server);
  WAIT_UNTIL (sy_hardware_get_reading (hardware)->seq == sy_bench_get_reading (fixture->bench)->seq, 2000);
  g_assert_cmpmem (sy_hardware_get_reading (hardware)->values, sizeof (double) * SY_BENCH_N_SENSORS,
                   sy_bench_get_reading (fixture->bench)->values, sizeof (double) * SY_BENCH_N_SENSORS);
}

static void
test_relay_set (Fixture       *fixture,
                gconstpointer  data)
{
  g_autoptr(SyHardware) hardware = NULL;
  g_autoptr(GPtrArray) lamp = NULL;
  g_autoptr(GPtrArray) fan = NULL;
  g_autoptr(SyTestClient) client = NULL;
  JsonObject *relays;
  JsonObject *message;
  const char *id;
  Change *change;

  sy_test_server_start (fixture->server);
  client = sy_test_client_new (fixture->session, fixture->server, "switchyard.relay.v1");
  relays = sy_test_client_next (client, "relays");
  g_assert_false (json_object_get_boolean_member (find_in_snapshot (relays, "lamp"), "on"));

  hardware = watch_new (fixture);
  g_assert_cmpstr (sy_hardware_get_relay (hardware, SY_RELAY_LAMP)->id, ==, "lamp");
  g_assert_cmpstr (sy_hardware_get_relay (hardware, SY_RELAY_LAMP)->name, ==, "Lamp");
  g_assert_cmpstr (sy_hardware_get_relay (hardware, SY_RELAY_HEATER)->interlock, ==, "cooler");
  g_assert_false (sy_hardware_get_relay (hardware, SY_RELAY_LAMP)->on);

  /* The operator's command: pending, then confirmed, in order. */
  sy_hardware_relay_set (hardware, SY_RELAY_LAMP, TRUE);
  /* Nothing changes before the server thread answers. */
  g_assert_false (sy_hardware_get_relay (hardware, SY_RELAY_LAMP)->pending);
  WAIT_UNTIL (has_change (fixture, SY_RELAY_LAMP, "confirmed"), 5000);

  lamp = changes_of (fixture, SY_RELAY_LAMP);
  g_assert_cmpuint (lamp->len, ==, 2);
  change = g_ptr_array_index (lamp, 0);
  g_assert_cmpstr (change->reason, ==, "command");
  g_assert_true (change->pending);
  g_assert_true (change->target);
  g_assert_false (change->on);
  change = g_ptr_array_index (lamp, 1);
  g_assert_cmpstr (change->reason, ==, "confirmed");
  g_assert_false (change->pending);
  g_assert_true (change->on);
  g_assert_true (sy_hardware_get_relay (hardware, SY_RELAY_LAMP)->on);
  g_assert_false (sy_hardware_get_relay (hardware, SY_RELAY_LAMP)->pending);
  g_assert_cmpuint (fixture->failures->len, ==, 0);

  /* Every client saw it as any command: pending, then confirmed. */
  message = client_next_relay (client, &id);
  g_assert_cmpstr (id, ==, "lamp");
  g_assert_cmpstr (json_object_get_string_member (message, "reason"), ==, "command");
  g_assert_true (json_object_get_boolean_member (relay_in (message), "pending"));
  message = client_next_relay (client, &id);
  g_assert_cmpstr (id, ==, "lamp");
  g_assert_cmpstr (json_object_get_string_member (message, "reason"), ==, "confirmed");
  g_assert_true (json_object_get_boolean_member (relay_in (message), "on"));

  /* The other way: a client's command shows in the mirror. */
  soup_websocket_connection_send_text (client->ws, "{\"type\":\"set\",\"id\":1,\"relay\":\"fan\",\"on\":true}");
  WAIT_UNTIL (has_change (fixture, SY_RELAY_FAN, "confirmed"), 5000);
  fan = changes_of (fixture, SY_RELAY_FAN);
  g_assert_cmpuint (fan->len, ==, 2);
  g_assert_true (((Change *) g_ptr_array_index (fan, 0))->pending);
  g_assert_true (((Change *) g_ptr_array_index (fan, 1))->on);
  g_assert_true (sy_hardware_get_relay (hardware, SY_RELAY_FAN)->on);

  /* Toggle and pulse go the same way. */
  sy_hardware_relay_toggle (hardware, SY_RELAY_FAN);
  WAIT_UNTIL (!sy_hardware_get_relay (hardware, SY_RELAY_FAN)->on, 5000);
  sy_hardware_relay_pulse (hardware, SY_RELAY_AUX, 100);
  WAIT_UNTIL (has_change (fixture, SY_RELAY_AUX, "pulse end"), 5000);
  g_assert_true (has_change (fixture, SY_RELAY_AUX, "pulse"));
  g_assert_true (has_change (fixture, SY_RELAY_AUX, "confirmed"));
  g_assert_false (sy_hardware_get_relay (hardware, SY_RELAY_AUX)->on);

  /* A bad pulse length is the bench's to refuse. */
  sy_hardware_relay_pulse (hardware, SY_RELAY_AUX, 1);
  WAIT_UNTIL (fixture->failures->len == 1, 5000);
  g_assert_cmpuint (((Failure *) g_ptr_array_index (fixture->failures, 0))->relay, ==, SY_RELAY_AUX);
  g_assert_nonnull (strstr (((Failure *) g_ptr_array_index (fixture->failures, 0))->message, "pulse"));
}

static void
test_interlock (Fixture       *fixture,
                gconstpointer  data)
{
  g_autoptr(SyHardware) hardware = NULL;
  g_autoptr(SyTestClient) client = NULL;
  Failure *failure;

  sy_test_server_start (fixture->server);
  client = sy_test_client_new (fixture->session, fixture->server, "switchyard.relay.v1");
  sy_test_client_next (client, "relays");
  hardware = watch_new (fixture);

  sy_hardware_relay_set (hardware, SY_RELAY_HEATER, TRUE);
  WAIT_UNTIL (sy_hardware_get_relay (hardware, SY_RELAY_HEATER)->on, 5000);

  sy_hardware_relay_set (hardware, SY_RELAY_COOLER, TRUE);
  WAIT_UNTIL (fixture->failures->len > 0, 5000);

  failure = g_ptr_array_index (fixture->failures, 0);
  g_assert_cmpuint (failure->relay, ==, SY_RELAY_COOLER);
  g_assert_nonnull (strstr (failure->message, "interlock"));
  g_assert_nonnull (strstr (failure->message, "Heater"));

  /* A marker command, then nothing about the cooler came before it. */
  sy_hardware_relay_toggle (hardware, SY_RELAY_AUX);
  WAIT_UNTIL (has_change (fixture, SY_RELAY_AUX, "confirmed"), 5000);
  g_assert_false (has_change (fixture, SY_RELAY_COOLER, "command"));
  g_assert_false (sy_hardware_get_relay (hardware, SY_RELAY_COOLER)->on);
  g_assert_false (sy_hardware_get_relay (hardware, SY_RELAY_COOLER)->pending);
  g_assert_true (sy_hardware_get_relay (hardware, SY_RELAY_HEATER)->on);
  g_assert_cmpuint (fixture->failures->len, ==, 1);

  for (;;)
    {
      const char *id;
      JsonObject *message = client_next_relay (client, &id);

      g_assert_cmpstr (id, !=, "cooler");
      if (g_strcmp0 (id, "aux") == 0 &&
          g_strcmp0 (json_object_get_string_member (message, "reason"), "confirmed") == 0)
        break;
    }
}

static void
test_stuck_timeout (Fixture       *fixture,
                    gconstpointer  data)
{
  g_autoptr(SyHardware) hardware = NULL;
  g_autoptr(GPtrArray) pump = NULL;
  Failure *failure;

  sy_test_server_start (fixture->server);
  hardware = watch_new (fixture);

  sy_hardware_relay_set_stuck (hardware, SY_RELAY_PUMP, TRUE);
  WAIT_UNTIL (sy_hardware_get_relay (hardware, SY_RELAY_PUMP)->stuck, 5000);
  sy_hardware_relay_set (hardware, SY_RELAY_PUMP, TRUE);
  WAIT_UNTIL (fixture->failures->len > 0, 5000);

  failure = g_ptr_array_index (fixture->failures, 0);
  g_assert_cmpuint (failure->relay, ==, SY_RELAY_PUMP);
  g_assert_nonnull (strstr (failure->message, "did not confirm"));

  /* fault, command (pending), timeout: in that order, before the failure. */
  pump = changes_of (fixture, SY_RELAY_PUMP);
  g_assert_cmpuint (pump->len, ==, 3);
  g_assert_cmpstr (((Change *) g_ptr_array_index (pump, 0))->reason, ==, "fault");
  g_assert_cmpstr (((Change *) g_ptr_array_index (pump, 1))->reason, ==, "command");
  g_assert_true (((Change *) g_ptr_array_index (pump, 1))->pending);
  g_assert_cmpstr (((Change *) g_ptr_array_index (pump, 2))->reason, ==, "timeout");
  g_assert_false (sy_hardware_get_relay (hardware, SY_RELAY_PUMP)->on);
  g_assert_false (sy_hardware_get_relay (hardware, SY_RELAY_PUMP)->pending);

  sy_hardware_relay_set_stuck (hardware, SY_RELAY_PUMP, FALSE);
  WAIT_UNTIL (!sy_hardware_get_relay (hardware, SY_RELAY_PUMP)->stuck, 5000);
  sy_hardware_relay_set_safe_default (hardware, SY_RELAY_PUMP, 0);
  WAIT_UNTIL (sy_hardware_get_relay (hardware, SY_RELAY_PUMP)->safe_default == 0, 5000);
  g_assert_true (has_change (fixture, SY_RELAY_PUMP, "settings"));
}

static void
test_rename (Fixture       *fixture,
             gconstpointer  data)
{
  g_autoptr(SyHardware) hardware = NULL;
  g_autoptr(SyTestClient) client = NULL;
  JsonObject *message;
  const char *id;
  Failure *failure;

  sy_test_server_start (fixture->server);
  client = sy_test_client_new (fixture->session, fixture->server, "switchyard.relay.v1");
  sy_test_client_next (client, "relays");
  hardware = watch_new (fixture);

  sy_hardware_relay_rename (hardware, SY_RELAY_LAMP, "  Desk <lamp> & co  ");
  WAIT_UNTIL (has_change (fixture, SY_RELAY_LAMP, "rename"), 5000);
  g_assert_cmpstr (sy_hardware_get_relay (hardware, SY_RELAY_LAMP)->name, ==, "Desk <lamp> & co");
  message = client_next_relay (client, &id);
  g_assert_cmpstr (id, ==, "lamp");
  g_assert_cmpstr (json_object_get_string_member (relay_in (message), "name"), ==, "Desk <lamp> & co");

  /* An invalid name is refused with the bench's message; nothing changes. */
  sy_hardware_relay_rename (hardware, SY_RELAY_LAMP, "   ");
  WAIT_UNTIL (fixture->failures->len > 0, 5000);
  failure = g_ptr_array_index (fixture->failures, 0);
  g_assert_cmpuint (failure->relay, ==, SY_RELAY_LAMP);
  g_assert_cmpuint (strlen (failure->message), >, 0);
  g_assert_cmpstr (sy_hardware_get_relay (hardware, SY_RELAY_LAMP)->name, ==, "Desk <lamp> & co");
}

static void
test_stopped (Fixture       *fixture,
              gconstpointer  data)
{
  g_autoptr(SyHardware) hardware = NULL;
  g_autoptr(SyTestClient) client = NULL;
  JsonObject *relays;
  Failure *failure;

  /* Made while the server is stopped: read straight from the idle bench. */
  hardware = watch_new (fixture);
  g_assert_cmpstr (sy_hardware_get_relay (hardware, SY_RELAY_HEATER)->name, ==, "Heater");
  g_assert_nonnull (sy_hardware_get_reading (hardware));

  /* Commands fail cleanly, asynchronously, through command-failed. */
  sy_hardware_relay_set (hardware, SY_RELAY_LAMP, TRUE);
  sy_hardware_relay_pulse (hardware, SY_RELAY_AUX, 200);
  sy_hardware_relay_toggle (hardware, SY_RELAY_FAN);
  g_assert_cmpuint (fixture->failures->len, ==, 0);
  WAIT_UNTIL (fixture->failures->len == 3, 5000);
  failure = g_ptr_array_index (fixture->failures, 0);
  g_assert_cmpuint (failure->relay, ==, SY_RELAY_LAMP);
  g_assert_cmpstr (failure->message, ==, "The server is stopped");
  g_assert_cmpuint (((Failure *) g_ptr_array_index (fixture->failures, 1))->relay, ==, SY_RELAY_AUX);
  g_assert_cmpuint (((Failure *) g_ptr_array_index (fixture->failures, 2))->relay, ==, SY_RELAY_FAN);
  g_assert_false (sy_hardware_get_relay (hardware, SY_RELAY_LAMP)->pending);
  g_assert_cmpuint (fixture->changes->len, ==, 0);

  /* Settings still apply to the idle bench, and the server serves them. */
  sy_hardware_relay_rename (hardware, SY_RELAY_LAMP, "Bench lamp");
  WAIT_UNTIL (has_change (fixture, SY_RELAY_LAMP, "rename"), 5000);
  g_assert_cmpstr (sy_hardware_get_relay (hardware, SY_RELAY_LAMP)->name, ==, "Bench lamp");

  sy_test_server_start (fixture->server);
  client = sy_test_client_new (fixture->session, fixture->server, "switchyard.relay.v1");
  relays = sy_test_client_next (client, "relays");
  g_assert_cmpstr (json_object_get_string_member (find_in_snapshot (relays, "lamp"), "name"), ==, "Bench lamp");
  g_clear_pointer (&client, sy_test_client_free);

  /* Now it works, and readings flow. */
  sy_hardware_relay_set (hardware, SY_RELAY_LAMP, TRUE);
  WAIT_UNTIL (sy_hardware_get_relay (hardware, SY_RELAY_LAMP)->on, 5000);
  WAIT_UNTIL (fixture->n_readings > 0, 5000);

  /* A command caught by the stop is settled one way or the other: the
   * bench cancels it, or it never reached the bench. */
  sy_hardware_relay_set (hardware, SY_RELAY_FAN, TRUE);
  sy_server_stop (fixture->server);
  WAIT_UNTIL (fixture->failures->len == 4 || has_change (fixture, SY_RELAY_FAN, "cancelled"), 5000);
  spin (100);
  g_assert_false (sy_hardware_get_relay (hardware, SY_RELAY_FAN)->pending);
  g_assert_false (sy_hardware_get_relay (hardware, SY_RELAY_FAN)->on);

  /* And stopped again, refused again. */
  sy_hardware_relay_set (hardware, SY_RELAY_LAMP, FALSE);
  WAIT_UNTIL (g_strcmp0 (((Failure *) g_ptr_array_index (fixture->failures, fixture->failures->len - 1))->message,
                         "The server is stopped") == 0 &&
              ((Failure *) g_ptr_array_index (fixture->failures, fixture->failures->len - 1))->relay == SY_RELAY_LAMP,
              5000);
  g_assert_true (sy_hardware_get_relay (hardware, SY_RELAY_LAMP)->on);
}

static void
test_dropout (Fixture       *fixture,
              gconstpointer  data)
{
  g_autoptr(SyHardware) hardware = NULL;
  double held;
  guint n;

  sy_test_server_start (fixture->server);
  hardware = watch_new (fixture);
  WAIT_UNTIL (fixture->n_readings > 0, 5000);
  g_assert_false (fixture->last.stale[SY_SENSOR_TEMPERATURE]);
  g_assert_false (sy_hardware_get_sensor_dropout (hardware, SY_SENSOR_TEMPERATURE));

  sy_hardware_set_sensor_dropout (hardware, SY_SENSOR_TEMPERATURE, TRUE);
  g_assert_true (sy_hardware_get_sensor_dropout (hardware, SY_SENSOR_TEMPERATURE));
  WAIT_UNTIL (fixture->last.stale[SY_SENSOR_TEMPERATURE], SY_BENCH_STALE_AFTER_MS + 5000);

  /* The value holds, the others stay fresh. */
  held = fixture->last.values[SY_SENSOR_TEMPERATURE];
  n = fixture->n_readings;
  WAIT_UNTIL (fixture->n_readings >= n + 3, 5000);
  g_assert_true (fixture->last.stale[SY_SENSOR_TEMPERATURE]);
  g_assert_cmpfloat (fixture->last.values[SY_SENSOR_TEMPERATURE], ==, held);
  for (guint i = 0; i < SY_BENCH_N_SENSORS; i++)
    if (i != SY_SENSOR_TEMPERATURE)
      g_assert_false (fixture->last.stale[i]);

  sy_hardware_set_sensor_dropout (hardware, SY_SENSOR_TEMPERATURE, FALSE);
  g_assert_false (sy_hardware_get_sensor_dropout (hardware, SY_SENSOR_TEMPERATURE));
  WAIT_UNTIL (!fixture->last.stale[SY_SENSOR_TEMPERATURE], 5000);
}

static void
test_dispose (Fixture       *fixture,
              gconstpointer  data)
{
  SyHardware *hardware;

  /* Dropped while the bench is busy answering it. */
  sy_test_server_start (fixture->server);
  hardware = watch_new (fixture);
  WAIT_UNTIL (fixture->n_readings > 0, 5000);
  sy_hardware_relay_set (hardware, SY_RELAY_LAMP, TRUE);
  sy_hardware_relay_set (hardware, SY_RELAY_COOLER, TRUE);
  sy_hardware_set_sensor_dropout (hardware, SY_SENSOR_LIGHT, TRUE);
  sy_hardware_relay_rename (hardware, SY_RELAY_AUX, "");
  g_assert_finalize_object (hardware);

  fixture->n_readings = 0;
  g_ptr_array_set_size (fixture->changes, 0);
  g_ptr_array_set_size (fixture->failures, 0);
  spin (300);
  g_assert_cmpuint (fixture->n_readings, ==, 0);
  g_assert_cmpuint (fixture->changes->len, ==, 0);
  g_assert_cmpuint (fixture->failures->len, ==, 0);

  /* The bench did get the command; it just had no one to tell. */
  sy_server_stop (fixture->server);
  g_assert_true (sy_bench_get_relay (fixture->bench, SY_RELAY_LAMP)->on);

  /* Made and dropped while stopped, across a start. */
  hardware = watch_new (fixture);
  sy_test_server_start (fixture->server);
  WAIT_UNTIL (fixture->n_readings > 0, 5000);
  sy_hardware_relay_set (hardware, SY_RELAY_LAMP, FALSE);
  g_assert_finalize_object (hardware);
  fixture->n_readings = 0;
  spin (200);
  g_assert_cmpuint (fixture->n_readings, ==, 0);
  sy_server_stop (fixture->server);
  g_assert_false (sy_bench_get_relay (fixture->bench, SY_RELAY_LAMP)->on);

  /* Made while running, dropped after the stop. */
  sy_test_server_start (fixture->server);
  hardware = watch_new (fixture);
  sy_server_stop (fixture->server);
  g_assert_finalize_object (hardware);
  spin (100);
}

/* Relay servers */

static void
count_notify (GObject    *object,
              GParamSpec *pspec,
              guint      *count)
{
  (*count)++;
}

static guint
n_available (SyHardware *hardware)
{
  guint n = 0;

  for (guint i = 0; i < SY_BENCH_N_RELAYS; i++)
    if (sy_hardware_get_relay_available (hardware, i))
      n++;

  return n;
}

/* The next confirmed state of relay @id that other clients see. */
static gboolean
client_next_confirmed (SyTestClient *client,
                       const char   *id)
{
  for (;;)
    {
      const char *seen;
      JsonObject *message = client_next_relay (client, &seen);

      if (g_strcmp0 (seen, id) == 0 &&
          !json_object_get_boolean_member (relay_in (message), "pending"))
        return json_object_get_boolean_member (relay_in (message), "on");
    }
}

static void
test_mirror (Fixture       *fixture,
             gconstpointer  data)
{
  g_autoptr(SyHardware) hardware = NULL;
  g_autoptr(SyBench) upstream_bench = sy_bench_new (7, NULL);
  g_autoptr(SyAudit) upstream_audit = sy_audit_new (NULL);
  g_autoptr(SyTestClient) client = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *link = NULL;
  SyServer *upstream = sy_test_server_new ();
  guint port = sy_test_free_port ();
  guint n_notify = 0;
  guint n_failures;
  guint tolerating;
  Failure *failure;

  tolerating = sy_test_tolerate_warnings ("sy-uplink");

  /* The upstream: a Switchyard with hardware of its own. */
  sy_server_install_bench (upstream, upstream_bench, upstream_audit);
  g_object_set (upstream, "port", port, NULL);
  sy_test_server_start (upstream);
  link = sy_server_dup_page_uri (upstream, SY_ROLE_CONTROL);

  /* This one's bench is its own while stopped. */
  hardware = watch_new (fixture);
  g_signal_connect (hardware, "notify::mirror", G_CALLBACK (count_notify), &n_notify);
  g_assert_false (sy_hardware_is_mirror (hardware));
  g_assert_cmpuint (n_available (hardware), ==, SY_BENCH_N_RELAYS);

  /* A relay server's bench turns mirror as it starts, before the upstream
   * answered, and says so: every relay unavailable, then the mode. Its
   * relays come available with the upstream's snapshot. */
  g_assert_true (sy_server_set_uplink (fixture->server, link, NULL, NULL, &error));
  g_assert_no_error (error);
  /* Readings are numbered by the bench they come from. */
  fixture->n_readings = 0;
  sy_test_server_start (fixture->server);
  WAIT_UNTIL (sy_hardware_is_mirror (hardware), 5000);
  g_assert_cmpuint (n_notify, ==, 1);
  g_assert_true (has_change (fixture, SY_RELAY_LAMP, "unavailable"));
  WAIT_UNTIL (n_available (hardware) == SY_BENCH_N_RELAYS, 10000);
  g_assert_false (sy_hardware_get_relay (hardware, SY_RELAY_LAMP)->on);

  /* A command goes upstream: its clients see the upstream's lamp switch. */
  client = sy_test_client_new (fixture->session, upstream, "switchyard.relay.v1");
  sy_test_client_next (client, "relays");
  sy_hardware_relay_set (hardware, SY_RELAY_LAMP, TRUE);
  g_assert_true (client_next_confirmed (client, "lamp"));
  WAIT_UNTIL (sy_hardware_get_relay (hardware, SY_RELAY_LAMP)->on, 5000);

  /* Names and faults are the upstream's: a rename is refused, saying so. */
  sy_hardware_relay_rename (hardware, SY_RELAY_LAMP, "Not here");
  WAIT_UNTIL (fixture->failures->len == 1, 5000);
  failure = g_ptr_array_index (fixture->failures, 0);
  g_assert_cmpuint (failure->relay, ==, SY_RELAY_LAMP);
  g_assert_nonnull (strstr (failure->message, "upstream"));
  g_assert_cmpstr (sy_hardware_get_relay (hardware, SY_RELAY_LAMP)->name, ==, "Lamp");
  g_clear_pointer (&client, sy_test_client_free);

  /* The upstream stops: it closes with 1001, and every relay is
   * unavailable at once, not after the keepalive gives up. */
  sy_server_stop (upstream);
  WAIT_UNTIL (n_available (hardware) == 0, 3000);
  g_assert_true (has_change (fixture, SY_RELAY_LAMP, "unavailable"));
  g_assert_true (sy_hardware_is_mirror (hardware));
  g_assert_cmpuint (n_notify, ==, 1);

  /* Commands are refused meanwhile, and say why. */
  n_failures = fixture->failures->len;
  sy_hardware_relay_set (hardware, SY_RELAY_LAMP, FALSE);
  WAIT_UNTIL (fixture->failures->len == n_failures + 1, 5000);
  failure = g_ptr_array_index (fixture->failures, n_failures);
  g_assert_cmpuint (failure->relay, ==, SY_RELAY_LAMP);
  g_assert_nonnull (strstr (failure->message, "unavailable"));

  /* The upstream is back on its port: the relays too, as it has them. */
  g_object_set (upstream, "port", port, NULL);
  sy_test_server_start (upstream);
  WAIT_UNTIL (n_available (hardware) == SY_BENCH_N_RELAYS, 20000);
  g_assert_true (sy_hardware_get_relay (hardware, SY_RELAY_LAMP)->on);

  /* The relay server stops: its bench is its own again, at once. */
  sy_server_stop (fixture->server);
  g_assert_false (sy_hardware_is_mirror (hardware));
  g_assert_cmpuint (n_notify, ==, 2);
  g_assert_cmpuint (n_available (hardware), ==, SY_BENCH_N_RELAYS);
  g_assert_false (sy_hardware_get_relay (hardware, SY_RELAY_LAMP)->on);

  /* And a bench of its own once more when it starts without an uplink. */
  g_assert_true (sy_server_set_uplink (fixture->server, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  fixture->n_readings = 0;
  sy_test_server_start (fixture->server);
  g_assert_false (sy_hardware_is_mirror (hardware));
  g_assert_cmpuint (n_notify, ==, 2);
  sy_hardware_relay_rename (hardware, SY_RELAY_LAMP, "Own lamp");
  WAIT_UNTIL (g_strcmp0 (sy_hardware_get_relay (hardware, SY_RELAY_LAMP)->name, "Own lamp") == 0,
              5000);

  sy_server_stop (upstream);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert_finalize_object (upstream);
  sy_test_end_tolerating_warnings (tolerating);
}

int
main (int   argc,
      char *argv[])
{
  sy_test_init (&argc, &argv);

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)

  ADD ("/core/hardware/invoke", test_invoke);
  ADD ("/core/hardware/readings", test_readings);
  ADD ("/core/hardware/relay-set", test_relay_set);
  ADD ("/core/hardware/interlock", test_interlock);
  ADD ("/core/hardware/stuck-timeout", test_stuck_timeout);
  ADD ("/core/hardware/rename", test_rename);
  ADD ("/core/hardware/stopped", test_stopped);
  ADD ("/core/hardware/dropout", test_dropout);
  ADD ("/core/hardware/dispose", test_dispose);
  ADD ("/core/hardware/mirror", test_mirror);

#undef ADD

  return g_test_run ();
}
