/* test-protocols.c
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "test-protocols"

#include "config.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "sy-audit.h"
#include "sy-bench.h"
#include "sy-json-protocol.h"
#include "sy-log.h"
#include "sy-server.h"
#include "sy-test-utils.h"

typedef struct
{
  SyServer    *server;
  SyBench     *bench;
  SyAudit     *audit;
  SoupSession *session;
  char        *state_dir;
} Fixture;


static const char *
type_of (JsonObject *message)
{
  return json_object_get_string_member_with_default (message, "type", "");
}

/* Waits for the next message of @type, skipping (and consuming) others. */
static void
client_send (SyTestClient     *client,
             const char *text)
{
  soup_websocket_connection_send_text (client->ws, text);
}

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  data)
{
  g_autofree char *audit_path = NULL;
  g_autoptr(GError) error = NULL;

  fixture->state_dir = g_dir_make_tmp ("switchyard-test-XXXXXX", &error);
  g_assert_no_error (error);
  fixture->bench = sy_bench_new (42, fixture->state_dir);
  sy_bench_set_tick_hz (fixture->bench, 50);
  sy_bench_set_actuation_delay (fixture->bench, 20);
  sy_bench_set_command_timeout (fixture->bench, 300);
  audit_path = g_build_filename (fixture->state_dir, "audit.log", NULL);
  fixture->audit = sy_audit_new (audit_path);
  fixture->server = sy_test_server_new ();
  sy_server_install_bench (fixture->server, fixture->bench, fixture->audit);
  fixture->session = sy_test_session_new ();
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  data)
{
  sy_server_stop (fixture->server);
  g_clear_object (&fixture->session);
  g_clear_object (&fixture->server);
  g_clear_object (&fixture->audit);
  g_clear_object (&fixture->bench);
  g_free (fixture->state_dir);
}

static void
test_sensor_hello_and_stream (Fixture       *fixture,
                              gconstpointer  data)
{
  g_autoptr(SyTestClient) client = NULL;
  JsonObject *hello;
  JsonObject *sensors;
  JsonObject *reading;
  JsonArray *list;
  guint64 seq;

  sy_test_server_start (fixture->server);
  client = sy_test_client_new (fixture->session, fixture->server, "switchyard.sensor.v1");

  hello = sy_test_client_next (client, "hello");
  g_assert_cmpuint (client->read, ==, 1);
  g_assert_cmpstr (json_object_get_string_member (hello, "protocol"), ==, "switchyard.sensor.v1");
  g_assert_cmpstr (json_object_get_string_member (hello, "server"), ==, "Switchyard");
  g_assert_cmpstr (json_object_get_string_member (hello, "version"), ==, PACKAGE_VERSION);
  g_assert_cmpstr (json_object_get_string_member (hello, "role"), ==, "control");
  g_assert_cmpuint (strlen (json_object_get_string_member (hello, "session")), >, 0);

  sensors = sy_test_client_next (client, "sensors");
  g_assert_cmpuint (client->read, ==, 2);
  list = json_object_get_array_member (sensors, "sensors");
  g_assert_cmpuint (json_array_get_length (list), ==, SY_BENCH_N_SENSORS);
  for (guint i = 0; i < SY_BENCH_N_SENSORS; i++)
    {
      JsonObject *sensor = json_array_get_object_element (list, i);

      g_assert_cmpstr (json_object_get_string_member (sensor, "id"), ==, sy_bench_get_sensor_spec (i)->id);
      g_assert_cmpstr (json_object_get_string_member (sensor, "unit"), ==, sy_bench_get_sensor_spec (i)->unit);
      g_assert_cmpfloat (json_object_get_double_member (sensor, "min"), <, json_object_get_double_member (sensor, "max"));
    }

  /* A full snapshot follows at once, then the stream. */
  reading = sy_test_client_next (client, "reading");
  g_assert_cmpuint (client->read, ==, 3);
  g_assert_cmpuint (json_object_get_size (json_object_get_object_member (reading, "values")), ==, SY_BENCH_N_SENSORS);
  seq = json_object_get_int_member (reading, "seq");
  reading = sy_test_client_next (client, "reading");
  g_assert_cmpint (json_object_get_int_member (reading, "seq"), >, seq);
  g_assert_cmpint (json_object_get_int_member (reading, "t"), >, 1700000000000);
  g_assert_true (json_object_has_member (reading, "stale"));
}

static void
test_sensor_subscribe_rate (Fixture       *fixture,
                            gconstpointer  data)
{
  g_autoptr(SyTestClient) client = NULL;
  JsonObject *ack;
  guint start;
  guint count = 0;
  gint64 until;

  sy_test_server_start (fixture->server);
  client = sy_test_client_new (fixture->session, fixture->server, "switchyard.sensor.v1");
  sy_test_client_next (client, "sensors");

  client_send (client, "{\"type\":\"subscribe\",\"id\":\"s1\",\"sensors\":[\"temperature\",\"light\"],\"rate_hz\":5}");
  ack = sy_test_client_next (client, "ack");
  g_assert_cmpstr (json_object_get_string_member (ack, "id"), ==, "s1");
  g_assert_cmpfloat (json_object_get_double_member (ack, "rate_hz"), ==, 5.0);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (ack, "sensors")), ==, 2);

  /* Count the frames in a two-second window. */
  start = client->messages->len;
  until = g_get_monotonic_time () + 2 * G_USEC_PER_SEC;
  WAIT_UNTIL (g_get_monotonic_time () >= until, 3000);
  for (guint i = start; i < client->messages->len; i++)
    {
      JsonObject *message = g_ptr_array_index (client->messages, i);
      JsonObject *values;

      if (g_strcmp0 (type_of (message), "reading") != 0)
        continue;
      values = json_object_get_object_member (message, "values");
      g_assert_cmpuint (json_object_get_size (values), ==, 2);
      g_assert_true (json_object_has_member (values, "temperature"));
      g_assert_true (json_object_has_member (values, "light"));
      count++;
    }
  g_assert_cmpuint (count, >=, 7);
  g_assert_cmpuint (count, <=, 13);
}

typedef struct
{
  GMutex  lock;
  GArray *seqs;      /* of guint64: every reading the bench made */
  GArray *batched;   /* of guint64: those that said more follow */
  guint   stalls;
} Stalls;

/* On the server thread: stalls it for 70 ms (three and a half ticks) after
 * every tenth reading, six times, so that the bench catches up in bursts. */
static void
stall_on_reading (SyBench         *bench,
                  const SyReading *reading,
                  Stalls          *stalls)
{
  gboolean stall;

  g_mutex_lock (&stalls->lock);
  g_array_append_val (stalls->seqs, reading->seq);
  if (reading->more)
    g_array_append_val (stalls->batched, reading->seq);
  stall = !reading->more && stalls->seqs->len % 10 == 0 && stalls->stalls < 6;
  if (stall)
    stalls->stalls++;
  g_mutex_unlock (&stalls->lock);

  if (stall)
    g_usleep (70 * 1000);
}

static gboolean
has_seq (GArray  *seqs,
         guint64  seq)
{
  for (guint i = 0; i < seqs->len; i++)
    if (g_array_index (seqs, guint64, i) == seq)
      return TRUE;

  return FALSE;
}

static guint
stalls_done (Stalls *stalls,
             guint  *readings)
{
  guint done;

  g_mutex_lock (&stalls->lock);
  done = stalls->stalls;
  *readings = stalls->seqs->len;
  g_mutex_unlock (&stalls->lock);

  return done;
}

/* When the bench catches up on late ticks, a client that asked for its rate
 * gets every reading of the burst, in order and without a gap; a client that
 * asked for fewer gets the newest of a burst, never one that more followed. */
static void
test_sensor_catch_up (Fixture       *fixture,
                      gconstpointer  data)
{
  g_autoptr(SyTestClient) every = NULL;
  g_autoptr(SyTestClient) slow = NULL;
  g_autoptr(GArray) got = g_array_new (FALSE, FALSE, sizeof (guint64));
  g_autoptr(GArray) slow_got = g_array_new (FALSE, FALSE, sizeof (guint64));
  Stalls stalls = { 0 };
  guint64 last_seq;
  guint made = 0;
  guint made_by_last_stall;

  g_mutex_init (&stalls.lock);
  stalls.seqs = g_array_new (FALSE, FALSE, sizeof (guint64));
  stalls.batched = g_array_new (FALSE, FALSE, sizeof (guint64));

  sy_test_server_start (fixture->server);
  every = sy_test_client_new (fixture->session, fixture->server, "switchyard.sensor.v1");
  slow = sy_test_client_new (fixture->session, fixture->server, "switchyard.sensor.v1");
  sy_test_client_next (every, "sensors");
  sy_test_client_next (slow, "sensors");
  client_send (every, "{\"type\":\"subscribe\",\"id\":1,\"rate_hz\":50}");
  client_send (slow, "{\"type\":\"subscribe\",\"id\":1,\"rate_hz\":5}");
  sy_test_client_next (every, "ack");
  sy_test_client_next (slow, "ack");

  /* The fixture's bench ticks at 50 Hz. */
  g_signal_connect (fixture->bench, "reading", G_CALLBACK (stall_on_reading), &stalls);
  WAIT_UNTIL (stalls_done (&stalls, &made_by_last_stall) == 6, 20000);
  /* …and the burst after it. */
  WAIT_UNTIL (stalls_done (&stalls, &made) == 6 && made >= made_by_last_stall + 5, 20000);
  g_mutex_lock (&stalls.lock);
  last_seq = g_array_index (stalls.seqs, guint64, stalls.seqs->len - 1);
  g_mutex_unlock (&stalls.lock);

  /* Everything up to the last stall's burst has arrived. */
  while (got->len == 0 || g_array_index (got, guint64, got->len - 1) < last_seq)
    {
      JsonObject *reading = sy_test_client_next (every, "reading");
      guint64 seq = (guint64) json_object_get_int_member (reading, "seq");

      g_assert_false (json_object_has_member (reading, "skipped"));
      g_array_append_val (got, seq);
    }
  g_signal_handlers_disconnect_by_data (fixture->bench, &stalls);

  g_mutex_lock (&stalls.lock);
  g_assert_cmpuint (stalls.batched->len, >=, 6 * 2);
  for (guint i = 0; i < stalls.batched->len; i++)
    {
      guint64 seq = g_array_index (stalls.batched, guint64, i);

      /* Every burst went to the first client whole. */
      if (seq > g_array_index (got, guint64, 0))
        g_assert_true (has_seq (got, seq));
    }
  g_mutex_unlock (&stalls.lock);
  for (guint i = 1; i < got->len; i++)
    g_assert_cmpuint (g_array_index (got, guint64, i), ==, g_array_index (got, guint64, i - 1) + 1);

  /* The slow one: readings at 5 Hz, none from the middle of a burst. */
  for (guint i = 0; i < slow->messages->len; i++)
    {
      JsonObject *message = g_ptr_array_index (slow->messages, i);

      if (g_strcmp0 (type_of (message), "reading") == 0)
        {
          guint64 seq = (guint64) json_object_get_int_member (message, "seq");

          g_array_append_val (slow_got, seq);
        }
    }
  g_assert_cmpuint (slow_got->len, >=, 2);
  g_mutex_lock (&stalls.lock);
  for (guint i = 0; i < slow_got->len; i++)
    g_assert_false (has_seq (stalls.batched, g_array_index (slow_got, guint64, i)));
  g_mutex_unlock (&stalls.lock);

  g_array_unref (stalls.seqs);
  g_array_unref (stalls.batched);
  g_mutex_clear (&stalls.lock);
}

static void
test_sensor_history (Fixture       *fixture,
                     gconstpointer  data)
{
  g_autoptr(SyTestClient) client = NULL;
  JsonObject *history;
  JsonArray *t;
  JsonArray *v;
  gint64 until;

  sy_test_server_start (fixture->server);
  client = sy_test_client_new (fixture->session, fixture->server, "switchyard.sensor.v1");
  sy_test_client_next (client, "sensors");

  /* History points come at 1 Hz: give it time for three. */
  until = g_get_monotonic_time () + 3 * G_USEC_PER_SEC;
  WAIT_UNTIL (g_get_monotonic_time () >= until, 4000);
  client_send (client, "{\"type\":\"history\",\"id\":1,\"sensor\":\"humidity\",\"seconds\":60}");
  history = sy_test_client_next (client, "history");
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (history, "t")), >=, 2);

  g_assert_cmpint (json_object_get_int_member (history, "id"), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (history, "sensor"), ==, "humidity");
  t = json_object_get_array_member (history, "t");
  v = json_object_get_array_member (history, "v");
  g_assert_cmpuint (json_array_get_length (t), ==, json_array_get_length (v));
  for (guint i = 1; i < json_array_get_length (t); i++)
    g_assert_cmpint (json_array_get_int_element (t, i), >, json_array_get_int_element (t, i - 1));
  for (guint i = 0; i < json_array_get_length (v); i++)
    {
      g_assert_cmpfloat (json_array_get_double_element (v, i), >=, 0.0);
      g_assert_cmpfloat (json_array_get_double_element (v, i), <=, 100.0);
    }
}

static JsonObject *
relay_in (JsonObject *message)
{
  return json_object_get_object_member (message, "relay");
}

static JsonObject *
find_relay (SyTestClient     *client,
            const char *id)
{
  JsonObject *relays = sy_test_client_next (client, "relays");
  JsonArray *list = json_object_get_array_member (relays, "relays");

  for (guint i = 0; i < json_array_get_length (list); i++)
    if (g_strcmp0 (json_object_get_string_member (json_array_get_object_element (list, i), "id"), id) == 0)
      return json_array_get_object_element (list, i);

  g_assert_not_reached ();
}

static void
test_relay_pending_confirmed (Fixture       *fixture,
                              gconstpointer  data)
{
  g_autoptr(SyTestClient) a = NULL;
  g_autoptr(SyTestClient) b = NULL;
  JsonObject *message;
  JsonObject *heater;

  sy_test_server_start (fixture->server);
  a = sy_test_client_new (fixture->session, fixture->server, "switchyard.relay.v1");
  b = sy_test_client_new (fixture->session, fixture->server, "switchyard.relay.v1");

  heater = find_relay (a, "heater");
  g_assert_false (json_object_get_boolean_member (heater, "on"));
  g_assert_false (json_object_get_boolean_member (heater, "pending"));
  g_assert_cmpstr (json_object_get_string_member (heater, "interlock"), ==, "cooler");
  find_relay (b, "heater");

  client_send (a, "{\"type\":\"set\",\"id\":7,\"relay\":\"heater\",\"on\":true}");

  /* Both see pending, then confirmed; only the commander gets the ack,
   * after the confirmation, carrying the confirmed state. */
  for (guint i = 0; i < 2; i++)
    {
      SyTestClient *client = i == 0 ? a : b;

      message = sy_test_client_next (client, "relay");
      g_assert_cmpstr (json_object_get_string_member (relay_in (message), "id"), ==, "heater");
      g_assert_true (json_object_get_boolean_member (relay_in (message), "pending"));
      g_assert_false (json_object_get_boolean_member (relay_in (message), "on"));
      g_assert_true (json_object_get_boolean_member (relay_in (message), "target"));

      message = sy_test_client_next (client, "relay");
      g_assert_false (json_object_get_boolean_member (relay_in (message), "pending"));
      g_assert_true (json_object_get_boolean_member (relay_in (message), "on"));
    }

  message = sy_test_client_next (a, "ack");
  g_assert_cmpint (json_object_get_int_member (message, "id"), ==, 7);
  g_assert_true (json_object_get_boolean_member (relay_in (message), "on"));
  g_assert_false (json_object_get_boolean_member (relay_in (message), "pending"));
  g_assert_true (sy_bench_get_relay (fixture->bench, SY_RELAY_HEATER)->on);
}

static void
test_relay_concurrent (Fixture       *fixture,
                       gconstpointer  data)
{
  g_autoptr(SyTestClient) a = NULL;
  g_autoptr(SyTestClient) b = NULL;
  JsonObject *ack_a;
  JsonObject *ack_b;
  gboolean final;

  sy_test_server_start (fixture->server);
  a = sy_test_client_new (fixture->session, fixture->server, "switchyard.relay.v1");
  b = sy_test_client_new (fixture->session, fixture->server, "switchyard.relay.v1");
  sy_test_client_next (a, "relays");
  sy_test_client_next (b, "relays");

  client_send (a, "{\"type\":\"set\",\"id\":\"a\",\"relay\":\"lamp\",\"on\":true}");
  client_send (b, "{\"type\":\"set\",\"id\":\"b\",\"relay\":\"lamp\",\"on\":false}");

  ack_a = sy_test_client_next (a, "ack");
  ack_b = sy_test_client_next (b, "ack");
  final = sy_bench_get_relay (fixture->bench, SY_RELAY_LAMP)->on;

  /* One state, the same in both acks and in the device. */
  g_assert_cmpint (json_object_get_boolean_member (relay_in (ack_a), "on"), ==, final);
  g_assert_cmpint (json_object_get_boolean_member (relay_in (ack_b), "on"), ==, final);
}

static void
test_relay_interlock (Fixture       *fixture,
                      gconstpointer  data)
{
  g_autoptr(SyTestClient) client = NULL;
  JsonObject *message;

  sy_test_server_start (fixture->server);
  client = sy_test_client_new (fixture->session, fixture->server, "switchyard.relay.v1");
  sy_test_client_next (client, "relays");

  client_send (client, "{\"type\":\"set\",\"id\":1,\"relay\":\"heater\",\"on\":true}");
  sy_test_client_next (client, "ack");
  client_send (client, "{\"type\":\"set\",\"id\":2,\"relay\":\"cooler\",\"on\":true}");
  message = sy_test_client_next (client, "error");
  g_assert_cmpint (json_object_get_int_member (message, "id"), ==, 2);
  g_assert_cmpstr (json_object_get_string_member (message, "code"), ==, "interlock");
  g_assert_nonnull (strstr (json_object_get_string_member (message, "message"), "Heater"));
  g_assert_false (sy_bench_get_relay (fixture->bench, SY_RELAY_COOLER)->on);
  g_assert_false (sy_bench_get_relay (fixture->bench, SY_RELAY_COOLER)->pending);
  g_assert_true (sy_bench_get_relay (fixture->bench, SY_RELAY_HEATER)->on);
}

static void
test_relay_stuck_timeout (Fixture       *fixture,
                          gconstpointer  data)
{
  g_autoptr(SyTestClient) client = NULL;
  JsonObject *message;

  /* Injected before the bench's thread owns it. */
  sy_bench_relay_set_stuck (fixture->bench, SY_RELAY_PUMP, TRUE);
  sy_test_server_start (fixture->server);
  client = sy_test_client_new (fixture->session, fixture->server, "switchyard.relay.v1");
  sy_test_client_next (client, "relays");
  client_send (client, "{\"type\":\"set\",\"id\":3,\"relay\":\"pump\",\"on\":true}");
  message = sy_test_client_next (client, "error");
  g_assert_cmpint (json_object_get_int_member (message, "id"), ==, 3);
  g_assert_cmpstr (json_object_get_string_member (message, "code"), ==, "timeout");
  g_assert_false (sy_bench_get_relay (fixture->bench, SY_RELAY_PUMP)->on);
  g_assert_false (sy_bench_get_relay (fixture->bench, SY_RELAY_PUMP)->pending);
}

typedef struct
{
  const char *text;
  const char *code;
  const char *id;
} BadInput;

static gboolean
relays_equal (SyBench             *bench,
              const SyRelayState  *before)
{
  for (guint i = 0; i < SY_BENCH_N_RELAYS; i++)
    {
      const SyRelayState *now = sy_bench_get_relay (bench, i);

      if (now->on != before[i].on || now->pending != before[i].pending ||
          g_strcmp0 (now->name, before[i].name) != 0)
        return FALSE;
    }

  return TRUE;
}

static void
test_relay_bad_input (Fixture       *fixture,
                      gconstpointer  data)
{
  static const BadInput cases[] = {
    { "this is not json", "bad-json", NULL },
    { "{\"type\":\"set\",", "bad-json", NULL },
    { "[1,2,3]", "bad-request", NULL },
    { "42", "bad-request", NULL },
    { "{\"id\":5}", "bad-request", "5" },
    { "{\"type\":7,\"id\":6}", "bad-request", "6" },
    { "{\"type\":\"set\",\"relay\":\"heater\",\"on\":true}", "bad-request", NULL },
    { "{\"type\":\"set\",\"id\":{\"x\":1},\"relay\":\"heater\",\"on\":true}", "bad-request", NULL },
    { "{\"type\":\"explode\",\"id\":8}", "unknown-type", "8" },
    { "{\"type\":\"set\",\"id\":9,\"relay\":\"warp-drive\",\"on\":true}", "unknown-relay", "9" },
    { "{\"type\":\"set\",\"id\":10,\"relay\":\"heater\"}", "bad-request", "10" },
    { "{\"type\":\"set\",\"id\":11,\"relay\":\"heater\",\"on\":\"yes\"}", "bad-request", "11" },
    { "{\"type\":\"set\",\"id\":12,\"relay\":3,\"on\":true}", "bad-request", "12" },
    { "{\"type\":\"pulse\",\"id\":13,\"relay\":\"lamp\",\"ms\":5}", "bad-request", "13" },
    { "{\"type\":\"pulse\",\"id\":14,\"relay\":\"lamp\",\"ms\":600000}", "bad-request", "14" },
    { "{\"type\":\"pulse\",\"id\":15,\"relay\":\"lamp\",\"ms\":\"long\"}", "bad-request", "15" },
    { "{\"type\":\"rename\",\"id\":16,\"relay\":\"lamp\",\"name\":\"   \"}", "bad-request", "16" },
    { "{\"type\":\"toggle\",\"id\":\"t\",\"relay\":\"nope\"}", "unknown-relay", "\"t\"" },
  };
  g_autoptr(SyTestClient) client = NULL;
  SyRelayState before[SY_BENCH_N_RELAYS];
  g_autofree char *names[SY_BENCH_N_RELAYS] = { NULL };

  sy_test_server_start (fixture->server);
  client = sy_test_client_new (fixture->session, fixture->server, "switchyard.relay.v1");
  sy_test_client_next (client, "relays");

  for (guint i = 0; i < SY_BENCH_N_RELAYS; i++)
    {
      before[i] = *sy_bench_get_relay (fixture->bench, i);
      names[i] = g_strdup (before[i].name);
      before[i].name = names[i];
    }

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      JsonObject *error;
      g_autofree char *id = NULL;

      client_send (client, cases[i].text);
      error = sy_test_client_next (client, "error");
      g_assert_cmpstr (json_object_get_string_member (error, "code"), ==, cases[i].code);
      g_assert_cmpuint (strlen (json_object_get_string_member (error, "message")), >, 0);
      id = json_to_string (json_object_get_member (error, "id"), FALSE);
      g_assert_cmpstr (id, ==, cases[i].id ? cases[i].id : "null");
    }

  /* Binary frames are refused too. */
  {
    g_autoptr(GBytes) bytes = g_bytes_new_static ("\x01\x02", 2);
    JsonObject *error;

    soup_websocket_connection_send_binary (client->ws, g_bytes_get_data (bytes, NULL), 2);
    error = sy_test_client_next (client, "error");
    g_assert_cmpstr (json_object_get_string_member (error, "code"), ==, "bad-request");
  }

  g_assert_true (relays_equal (fixture->bench, before));
  g_assert_cmpint (soup_websocket_connection_get_state (client->ws), ==, SOUP_WEBSOCKET_STATE_OPEN);

  /* Still served: a good command works. */
  client_send (client, "{\"type\":\"toggle\",\"id\":99,\"relay\":\"fan\"}");
  g_assert_true (json_object_get_boolean_member (relay_in (sy_test_client_next (client, "ack")), "on"));
}

static void
test_bad_input_budget (Fixture       *fixture,
                       gconstpointer  data)
{
  g_autoptr(SyTestClient) client = NULL;
  g_autoptr(SyTestClient) bystander = NULL;

  sy_test_server_start (fixture->server);
  client = sy_test_client_new (fixture->session, fixture->server, "switchyard.relay.v1");
  bystander = sy_test_client_new (fixture->session, fixture->server, "switchyard.relay.v1");
  sy_test_client_next (client, "relays");

  for (guint i = 0; i < SY_JSON_PROTOCOL_MAX_ERRORS; i++)
    client_send (client, "garbage");

  WAIT_UNTIL (soup_websocket_connection_get_state (client->ws) == SOUP_WEBSOCKET_STATE_CLOSED, 5000);
  g_assert_cmpuint (soup_websocket_connection_get_close_code (client->ws), ==, SY_CLOSE_POLICY);
  g_assert_nonnull (strstr (soup_websocket_connection_get_close_data (client->ws), "too many bad messages"));
  g_assert_cmpint (soup_websocket_connection_get_state (bystander->ws), ==, SOUP_WEBSOCKET_STATE_OPEN);
}

static void
test_rate_limit (Fixture       *fixture,
                 gconstpointer  data)
{
  g_autoptr(SyTestClient) client = NULL;
  guint limited = 0;
  guint answered = 0;

  sy_test_server_start (fixture->server);
  client = sy_test_client_new (fixture->session, fixture->server, "switchyard.sensor.v1");
  sy_test_client_next (client, "sensors");

  /* A burst well past the bucket: the excess is refused, not executed. */
  for (guint i = 0; i < 60; i++)
    {
      g_autofree char *text = g_strdup_printf ("{\"type\":\"subscribe\",\"id\":%u,\"rate_hz\":1}", i);
      client_send (client, text);
    }

  while (answered < 60)
    {
      JsonObject *message;

      WAIT_UNTIL (client->read < client->messages->len, 5000);
      message = g_ptr_array_index (client->messages, client->read++);
      if (g_strcmp0 (type_of (message), "ack") == 0)
        answered++;
      else if (g_strcmp0 (type_of (message), "error") == 0)
        {
          g_assert_cmpstr (json_object_get_string_member (message, "code"), ==, "rate-limited");
          limited++;
          answered++;
        }
    }

  g_assert_cmpuint (limited, >=, 60 - SY_JSON_PROTOCOL_BURST - 5);
  g_assert_cmpuint (limited, <=, 60 - SY_JSON_PROTOCOL_BURST + 1);
}

static void
test_forbidden_for_view (Fixture       *fixture,
                         gconstpointer  data)
{
  g_autoptr(SyTestClient) client = NULL;
  g_autoptr(SoupWebsocketConnection) log = NULL;
  g_autoptr(GError) error = NULL;
  JsonObject *message;

  g_object_set (fixture->server, "default-role", SY_ROLE_VIEW, NULL);
  sy_test_server_start (fixture->server);

  client = sy_test_client_new (fixture->session, fixture->server, "switchyard.relay.v1");
  g_assert_cmpstr (json_object_get_string_member (sy_test_client_next (client, "hello"), "role"), ==, "view");
  sy_test_client_next (client, "relays");
  client_send (client, "{\"type\":\"set\",\"id\":1,\"relay\":\"lamp\",\"on\":true}");
  message = sy_test_client_next (client, "error");
  g_assert_cmpstr (json_object_get_string_member (message, "code"), ==, "forbidden");
  g_assert_false (sy_bench_get_relay (fixture->bench, SY_RELAY_LAMP)->pending);
  g_assert_false (sy_bench_get_relay (fixture->bench, SY_RELAY_LAMP)->on);

  /* The log needs the control role at the handshake. */
  log = sy_test_connect (fixture->session, fixture->server, "switchyard.log.v1", &error);
  g_assert_null (log);
  g_assert_error (error, SOUP_WEBSOCKET_ERROR, SOUP_WEBSOCKET_ERROR_NOT_WEBSOCKET);
}

static void
test_display_fan_out (Fixture       *fixture,
                      gconstpointer  data)
{
  g_autoptr(SyTestClient) a = NULL;
  g_autoptr(SyTestClient) b = NULL;
  g_autoptr(SyTestClient) late = NULL;
  g_autoptr(GString) long_text = g_string_new (NULL);
  g_autofree char *too_long = NULL;
  JsonObject *message;
  JsonArray *notes;

  sy_test_server_start (fixture->server);
  a = sy_test_client_new (fixture->session, fixture->server, "switchyard.display.v1");
  b = sy_test_client_new (fixture->session, fixture->server, "switchyard.display.v1");
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (sy_test_client_next (a, "notes"), "notes")), ==, 0);
  sy_test_client_next (b, "notes");

  client_send (a, "{\"type\":\"post\",\"id\":1,\"text\":\"Kettle on — back in 5\"}");
  g_assert_cmpint (json_object_get_int_member (sy_test_client_next (a, "ack"), "id"), ==, 1);
  for (guint i = 0; i < 2; i++)
    {
      message = sy_test_client_next (i == 0 ? a : b, "note");
      g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (message, "note"), "text"), ==,
                       "Kettle on — back in 5");
      g_assert_true (g_str_has_prefix (json_object_get_string_member (json_object_get_object_member (message, "note"),
                                                                      "from"), "#"));
    }

  /* 501 characters (multi-byte ones) is one too many. */
  for (guint i = 0; i < 501; i++)
    g_string_append (long_text, "é");
  too_long = g_strdup_printf ("{\"type\":\"post\",\"id\":2,\"text\":\"%s\"}", long_text->str);
  client_send (b, too_long);
  message = sy_test_client_next (b, "error");
  g_assert_cmpstr (json_object_get_string_member (message, "code"), ==, "too-long");
  g_string_truncate (long_text, 500 * 2);
  g_clear_pointer (&too_long, g_free);
  too_long = g_strdup_printf ("{\"type\":\"post\",\"id\":3,\"text\":\"%s\"}", long_text->str);
  client_send (b, too_long);
  g_assert_cmpint (json_object_get_int_member (sy_test_client_next (b, "ack"), "id"), ==, 3);

  late = sy_test_client_new (fixture->session, fixture->server, "switchyard.display.v1");
  notes = json_object_get_array_member (sy_test_client_next (late, "notes"), "notes");
  g_assert_cmpuint (json_array_get_length (notes), ==, 2);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (notes, 0), "text"), ==,
                   "Kettle on — back in 5");
}

static void
test_log_level_filter (Fixture       *fixture,
                       gconstpointer  data)
{
  g_autoptr(SyTestClient) client = NULL;
  JsonObject *message;
  guint start;

  sy_test_server_start (fixture->server);
  g_message ("before the log client: marker-before");
  client = sy_test_client_new (fixture->session, fixture->server, "switchyard.log.v1");
  sy_test_client_next (client, "hello");

  /* The recent entries come first, including the one above. */
  WAIT_UNTIL ((message = sy_test_client_next (client, "log"),
               strstr (json_object_get_string_member (message, "message"), "marker-before") != NULL), 5000);
  g_assert_cmpstr (json_object_get_string_member (message, "level"), ==, "message");
  g_assert_cmpstr (json_object_get_string_member (message, "domain"), ==, "test-protocols");

  client_send (client, "{\"type\":\"level\",\"id\":1,\"min\":\"message\"}");
  g_assert_cmpstr (json_object_get_string_member (sy_test_client_next (client, "ack"), "min"), ==, "message");
  client_send (client, "{\"type\":\"level\",\"id\":2,\"min\":\"loud\"}");
  g_assert_cmpstr (json_object_get_string_member (sy_test_client_next (client, "error"), "code"), ==, "bad-request");

  g_setenv ("G_MESSAGES_DEBUG", "test-protocols", TRUE);
  start = client->messages->len;
  g_info ("filtered out: marker-info");
  g_message ("let through: marker-message");
  WAIT_UNTIL ((message = sy_test_client_next (client, "log"),
               strstr (json_object_get_string_member (message, "message"), "marker-message") != NULL), 5000);
  for (guint i = start; i < client->messages->len; i++)
    {
      JsonObject *seen = g_ptr_array_index (client->messages, i);

      if (json_object_has_member (seen, "message"))
        g_assert_null (strstr (json_object_get_string_member (seen, "message"), "marker-info"));
    }
  g_unsetenv ("G_MESSAGES_DEBUG");
}

static gsize
body_size (SoupSession *session,
           const char  *uri)
{
  g_autoptr(GBytes) body = sy_test_http (session, "GET", uri, NULL, NULL);

  return g_bytes_get_size (body);
}

static void
test_history_endpoint (Fixture       *fixture,
                       gconstpointer  data)
{
  g_autofree char *base = NULL;
  g_autofree char *uri = NULL;
  g_autofree char *type = NULL;
  g_autofree char *text = NULL;
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GRegex) row = NULL;
  g_auto(GStrv) lines = NULL;
  guint status;

  sy_test_server_start (fixture->server);
  base = sy_server_dup_uri (fixture->server);

  /* Two history points need two seconds of bench time. */
  uri = g_strdup_printf ("%sapi/history?sensor=temperature&seconds=60&format=csv", base);
  WAIT_UNTIL (body_size (fixture->session, uri) > 80, 5000);
  body = sy_test_http (fixture->session, "GET", uri, &status, &type);
  g_assert_cmpuint (status, ==, 200);
  g_assert_cmpstr (type, ==, "text/csv");
  text = g_strndup (g_bytes_get_data (body, NULL), g_bytes_get_size (body));
  lines = g_strsplit (text, "\r\n", -1);
  g_assert_cmpstr (lines[0], ==, "time,temperature");
  row = g_regex_new ("^20[0-9]{2}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9]\\.[0-9]{3}Z,-?[0-9.e+-]+$",
                     0, 0, NULL);
  g_assert_true (g_regex_match (row, lines[1], 0, NULL));
  g_assert_true (g_regex_match (row, lines[2], 0, NULL));

  g_clear_pointer (&uri, g_free);
  g_clear_pointer (&body, g_bytes_unref);
  g_clear_pointer (&type, g_free);
  uri = g_strdup_printf ("%sapi/history?sensor=light&seconds=10", base);
  body = sy_test_http (fixture->session, "GET", uri, &status, &type);
  g_assert_cmpuint (status, ==, 200);
  g_assert_cmpstr (type, ==, "application/json");
  {
    g_autoptr(JsonParser) parser = json_parser_new ();
    g_autoptr(GError) error = NULL;
    JsonObject *object;

    json_parser_load_from_data (parser, g_bytes_get_data (body, NULL), g_bytes_get_size (body), &error);
    g_assert_no_error (error);
    object = json_node_get_object (json_parser_get_root (parser));
    g_assert_cmpstr (json_object_get_string_member (object, "sensor"), ==, "light");
    g_assert_cmpstr (json_object_get_string_member (object, "unit"), ==, "lx");
    g_assert_cmpuint (json_array_get_length (json_object_get_array_member (object, "t")), ==,
                      json_array_get_length (json_object_get_array_member (object, "v")));
    g_assert_cmpuint (json_array_get_length (json_object_get_array_member (object, "t")), >=, 1);
  }

  /* Bad queries get a 400 that says why. */
  {
    static const char *bad[] = {
      "api/history", "api/history?sensor=flux", "api/history?sensor=light&seconds=0",
      "api/history?sensor=light&seconds=3601", "api/history?sensor=light&seconds=ten",
      "api/history?sensor=light&format=xml",
    };

    for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
      {
        g_autofree char *bad_uri = g_strconcat (base, bad[i], NULL);
        g_autoptr(GBytes) bad_body = sy_test_http (fixture->session, "GET", bad_uri, &status, NULL);

        g_assert_cmpuint (status, ==, 400);
        g_assert_cmpuint (g_bytes_get_size (bad_body), >, 10);
      }
  }
}

static void
test_audit_log (Fixture       *fixture,
                gconstpointer  data)
{
  g_autoptr(SyTestClient) client = NULL;
  g_autofree char *contents = NULL;
  g_auto(GStrv) lines = NULL;
  g_autoptr(GError) error = NULL;

  sy_test_server_start (fixture->server);
  client = sy_test_client_new (fixture->session, fixture->server, "switchyard.relay.v1");
  sy_test_client_next (client, "relays");
  client_send (client, "{\"type\":\"set\",\"id\":1,\"relay\":\"heater\",\"on\":true}");
  sy_test_client_next (client, "ack");
  client_send (client, "{\"type\":\"set\",\"id\":2,\"relay\":\"cooler\",\"on\":true}");
  sy_test_client_next (client, "error");
  /* A number json-glib cannot write back must not break the log. */
  client_send (client, "{\"type\":\"pulse\",\"id\":3,\"relay\":\"lamp\",\"ms\":1e20}");
  g_assert_cmpstr (json_object_get_string_member (sy_test_client_next (client, "error"), "code"), ==, "bad-request");

  g_file_get_contents (sy_audit_get_path (fixture->audit), &contents, NULL, &error);
  g_assert_no_error (error);
  lines = g_strsplit (g_strstrip (contents), "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 3);
  {
    g_autoptr(JsonParser) parser = json_parser_new ();

    json_parser_load_from_data (parser, lines[2], -1, &error);
    g_assert_no_error (error);
    g_assert_cmpstr (json_object_get_string_member (json_node_get_object (json_parser_get_root (parser)), "result"),
                     ==, "bad-request");
  }
  for (guint i = 0; i < 2; i++)
    {
      g_autoptr(JsonParser) parser = json_parser_new ();
      JsonObject *entry;

      json_parser_load_from_data (parser, lines[i], -1, &error);
      g_assert_no_error (error);
      entry = json_node_get_object (json_parser_get_root (parser));
      g_assert_true (g_str_has_prefix (json_object_get_string_member (entry, "peer"), "127.0.0.1:"));
      g_assert_cmpstr (json_object_get_string_member (entry, "role"), ==, "control");
      g_assert_cmpstr (json_object_get_string_member (entry, "result"), ==, i == 0 ? "ok" : "interlock");
      g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (entry, "command"), "relay"), ==,
                       i == 0 ? "heater" : "cooler");
      g_assert_cmpint (json_object_get_int_member (entry, "connection"), >, 0);
    }
}

static void
test_command_parse (void)
{
  static const struct {
    const char *text;
    const char *code;
  } cases[] = {
    { "{\"type\":\"set\",\"id\":1}", NULL },
    { "{\"type\":\"set\",\"id\":\"\\ud83d\\ude00\"}", NULL },
    { "  ", "bad-json" },
    { "{\"type\":\"post\",\"id\":\"\\ud83d!\"}", "bad-json" },
    { "{\"type\":\"post\",\"id\":1,\"text\":\"lone \\udc00\"}", "bad-json" },
    { "{\"type\":\"level\",\"id\":1} {\"type\":\"set\",\"id\":2}", "bad-json" },
    { "[{\"type\":\"set\",\"id\":1}]", "bad-request" },
    { "{\"type\":\"rename\",\"id\":1,\"name\":\"h\\2028\"}", "bad-json" },
    { "{\"type\":\"rename\",\"id\":1,\"name\":\"tab\\there \\\"q\\\" \\\\ \\/\"}", NULL },
    { "{\"type\":\"set\",\"id\":1.5}", "bad-request" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(JsonObject) object = NULL;
      g_autoptr(JsonNode) id = NULL;
      g_autoptr(GError) error = NULL;
      const char *code = NULL;

      object = sy_json_command_parse (cases[i].text, strlen (cases[i].text), &id, &code, &error);
      g_assert_cmpstr (code, ==, cases[i].code);
      if (cases[i].code == NULL)
        {
          g_assert_no_error (error);
          g_assert_nonnull (object);
        }
      else
        {
          g_assert_nonnull (error);
          g_assert_null (object);
        }
    }
}

int
main (int   argc,
      char *argv[])
{
  sy_test_init (&argc, &argv);

  g_test_add_func ("/protocols/command-parse", test_command_parse);

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)

  ADD ("/protocols/sensor/hello-and-stream", test_sensor_hello_and_stream);
  ADD ("/protocols/sensor/subscribe-rate", test_sensor_subscribe_rate);
  ADD ("/protocols/sensor/catch-up", test_sensor_catch_up);
  ADD ("/protocols/sensor/history", test_sensor_history);
  ADD ("/protocols/relay/pending-confirmed", test_relay_pending_confirmed);
  ADD ("/protocols/relay/concurrent", test_relay_concurrent);
  ADD ("/protocols/relay/interlock", test_relay_interlock);
  ADD ("/protocols/relay/stuck-timeout", test_relay_stuck_timeout);
  ADD ("/protocols/relay/bad-input", test_relay_bad_input);
  ADD ("/protocols/bad-input-budget", test_bad_input_budget);
  ADD ("/protocols/rate-limit", test_rate_limit);
  ADD ("/protocols/forbidden-for-view", test_forbidden_for_view);
  ADD ("/protocols/display/fan-out", test_display_fan_out);
  ADD ("/protocols/log/level-filter", test_log_level_filter);
  ADD ("/protocols/history-endpoint", test_history_endpoint);
  ADD ("/protocols/audit-log", test_audit_log);

#undef ADD

  return g_test_run ();
}
