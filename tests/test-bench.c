/* test-bench.c
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "test-bench"

#include "config.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>
#include <time.h>
#include <utime.h>

#include "sy-bench.h"
#include "sy-test-utils.h"

#define FAST_ACTUATION_MS 10
#define FAST_TIMEOUT_MS   1000
#define MINUTE_MS         ((gint64) 60 * 1000)

/* Everything a test wants to know about one ::relay-changed emission. */
typedef struct
{
  guint    relay;
  char     reason[32];
  gboolean on;
  gboolean pending;
  gboolean target;
  gint64   when;
} Event;

typedef struct
{
  guint n_events;
  Event events[64];
} Recorder;

/* One done callback's record. */
typedef struct
{
  guint    calls;
  GError  *error;
  gboolean on;
  gboolean pending;
  gint64   when;
} Done;

static void
on_relay_changed (SyBench    *bench,
                  guint       relay,
                  const char *reason,
                  Recorder   *recorder)
{
  const SyRelayState *state = sy_bench_get_relay (bench, relay);
  Event *event;

  g_assert_cmpuint (recorder->n_events, <, G_N_ELEMENTS (recorder->events));

  event = &recorder->events[recorder->n_events++];
  event->relay = relay;
  g_strlcpy (event->reason, reason, sizeof event->reason);
  event->on = state->on;
  event->pending = state->pending;
  event->target = state->target;
  event->when = g_get_monotonic_time ();
}

static void
record_relays (SyBench  *bench,
               Recorder *recorder)
{
  memset (recorder, 0, sizeof *recorder);
  g_signal_connect (bench, "relay-changed", G_CALLBACK (on_relay_changed), recorder);
}

static const Event *
find_event (const Recorder *recorder,
            guint           relay,
            const char     *reason)
{
  for (guint i = 0; i < recorder->n_events; i++)
    {
      if (recorder->events[i].relay == relay && g_str_equal (recorder->events[i].reason, reason))
        return &recorder->events[i];
    }

  return NULL;
}

static void
done_cb (SyBench      *bench,
         guint         relay,
         const GError *error,
         gpointer      user_data)
{
  Done *done = user_data;
  const SyRelayState *state = sy_bench_get_relay (bench, relay);

  done->calls++;
  g_clear_error (&done->error);
  if (error != NULL)
    done->error = g_error_copy (error);
  done->on = state->on;
  done->pending = state->pending;
  done->when = g_get_monotonic_time ();
}

static void
done_clear (Done *done)
{
  g_clear_error (&done->error);
}

/* Spins the default main context for @ms, for "nothing else happens". */
static void
spin (guint ms)
{
  gint64 until = g_get_monotonic_time () + (gint64) ms * 1000;

  WAIT_UNTIL (g_get_monotonic_time () >= until, ms + 5000);
}

/* 02:00 local time: no daylight, whatever the test machine's zone. */
static gint64
night_clock (void)
{
  g_autoptr(GDateTime) dt = g_date_time_new_local (2026, 1, 15, 2, 0, 0);

  return g_date_time_to_unix (dt) * 1000;
}

static SyBench *
bench_new_at (guint64     seed,
              const char *state_dir,
              gint64      clock_ms)
{
  SyBench *bench = sy_bench_new (seed, state_dir);

  sy_bench_set_clock (bench, clock_ms);
  sy_bench_set_actuation_delay (bench, FAST_ACTUATION_MS);
  sy_bench_set_command_timeout (bench, FAST_TIMEOUT_MS);

  return bench;
}

static SyBench *
bench_new (guint64 seed)
{
  return bench_new_at (seed, NULL, night_clock ());
}

static void
switch_relay (SyBench  *bench,
              guint     relay,
              gboolean  on)
{
  g_autoptr(GError) error = NULL;
  Done done = { 0 };

  g_assert_true (sy_bench_relay_set (bench, relay, on, done_cb, &done, &error));
  g_assert_no_error (error);
  WAIT_UNTIL (done.calls == 1, 5000);
  g_assert_no_error (done.error);
  g_assert_cmpint (sy_bench_get_relay (bench, relay)->on, ==, on);
  g_assert_false (sy_bench_get_relay (bench, relay)->pending);
}

static void
step_for (SyBench *bench,
          gint64   total_ms,
          gint64   step_ms)
{
  for (gint64 t = 0; t < total_ms; t += step_ms)
    sy_bench_step (bench, MIN (step_ms, total_ms - t));
}

static double
value_of (SyBench  *bench,
          SySensor  sensor)
{
  return sy_bench_get_reading (bench)->values[sensor];
}

static guint
history_length (SyBench *bench,
                guint    sensor)
{
  g_autoptr(GArray) t = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GArray) v = g_array_new (FALSE, FALSE, sizeof (double));

  sy_bench_get_history (bench, sensor, SY_BENCH_HISTORY_SECONDS, t, v);
  g_assert_cmpuint (t->len, ==, v->len);

  return t->len;
}

static void
assert_in_range (SyBench *bench)
{
  const SyReading *reading = sy_bench_get_reading (bench);

  for (guint i = 0; i < SY_BENCH_N_SENSORS; i++)
    {
      const SySensorSpec *spec = sy_bench_get_sensor_spec (i);

      g_assert_true (isfinite (reading->values[i]));
      g_assert_cmpfloat (reading->values[i], >=, spec->min);
      g_assert_cmpfloat (reading->values[i], <=, spec->max);
    }
}

static void
test_specs (void)
{
  g_autoptr(SyBench) bench = bench_new (1);
  static const char * const relay_ids[] = {
    "heater", "fan", "lamp", "pump", "cooler", "valve", "siren", "aux",
  };
  static const guint max_on[] = { 600000, 0, 0, 120000, 600000, 0, 30000, 0 };

  for (guint i = 0; i < SY_BENCH_N_SENSORS; i++)
    {
      const SySensorSpec *spec = sy_bench_get_sensor_spec (i);

      g_assert_cmpint (sy_bench_find_sensor (spec->id), ==, i);
      g_assert_nonnull (spec->name);
      g_assert_cmpstr (spec->unit, !=, "");
      g_assert_cmpfloat (spec->min, <, spec->max);
    }
  g_assert_cmpint (sy_bench_find_sensor ("temperature"), ==, SY_SENSOR_TEMPERATURE);
  g_assert_cmpint (sy_bench_find_sensor ("current"), ==, SY_SENSOR_CURRENT);
  g_assert_cmpint (sy_bench_find_sensor ("nope"), ==, -1);
  g_assert_cmpstr (sy_bench_get_sensor_spec (SY_SENSOR_TEMPERATURE)->name, ==, "Room temperature");
  g_assert_cmpstr (sy_bench_get_sensor_spec (SY_SENSOR_VOLTAGE)->name, ==, "Supply voltage");
  g_assert_cmpfloat (sy_bench_get_sensor_spec (SY_SENSOR_PRESSURE)->min, ==, 950.0);
  g_assert_cmpfloat (sy_bench_get_sensor_spec (SY_SENSOR_LIGHT)->max, ==, 2000.0);

  for (guint i = 0; i < SY_BENCH_N_RELAYS; i++)
    {
      const SyRelayState *state = sy_bench_get_relay (bench, i);

      g_assert_cmpuint (state->index, ==, i);
      g_assert_cmpstr (state->id, ==, relay_ids[i]);
      g_assert_cmpint (sy_bench_find_relay (bench, relay_ids[i]), ==, i);
      g_assert_false (state->on);
      g_assert_false (state->pending);
      g_assert_false (state->stuck);
      g_assert_cmpint (state->safe_default, ==, -1);
      g_assert_cmpuint (state->max_on_ms, ==, max_on[i]);
    }
  g_assert_cmpint (sy_bench_find_relay (bench, "nope"), ==, -1);
  g_assert_cmpstr (sy_bench_get_relay (bench, SY_RELAY_FAN)->name, ==, "Circulation fan");
  g_assert_cmpstr (sy_bench_get_relay (bench, SY_RELAY_PUMP)->name, ==, "Water pump");
  g_assert_cmpstr (sy_bench_get_relay (bench, SY_RELAY_HEATER)->interlock, ==, "cooler");
  g_assert_cmpstr (sy_bench_get_relay (bench, SY_RELAY_COOLER)->interlock, ==, "heater");
  g_assert_null (sy_bench_get_relay (bench, SY_RELAY_LAMP)->interlock);

  g_assert_cmpuint (sy_bench_get_tick_hz (bench), ==, SY_BENCH_DEFAULT_TICK_HZ);
  g_assert_cmpuint (sy_bench_get_reading (bench)->seq, ==, 0);
  g_assert_cmpint (sy_bench_get_reading (bench)->t_ms, ==, night_clock ());
  assert_in_range (bench);

  g_assert_finalize_object (g_steal_pointer (&bench));
}

static void
test_deterministic (void)
{
  g_autoptr(SyBench) a = bench_new (42);
  g_autoptr(SyBench) b = NULL;
  g_autoptr(SyBench) c = NULL;
  gboolean c_differs = FALSE;

  /* Created later, so only the clock can make it start like a. */
  spin (20);
  b = bench_new (42);
  c = bench_new (43);

  g_assert_cmpmem (sy_bench_get_reading (a), sizeof (SyReading),
                   sy_bench_get_reading (b), sizeof (SyReading));

  for (guint k = 0; k < 300; k++)
    {
      gint64 dt = 37 + (k * 53) % 400;
      const SyReading *ra;
      const SyReading *rb;
      const SyReading *rc;

      if (k == 100)
        {
          switch_relay (a, SY_RELAY_FAN, TRUE);
          switch_relay (b, SY_RELAY_FAN, TRUE);
          switch_relay (c, SY_RELAY_FAN, TRUE);
        }
      if (k == 200)
        {
          switch_relay (a, SY_RELAY_PUMP, TRUE);
          switch_relay (b, SY_RELAY_PUMP, TRUE);
          switch_relay (c, SY_RELAY_PUMP, TRUE);
        }

      sy_bench_step (a, dt);
      sy_bench_step (b, dt);
      sy_bench_step (c, dt);

      ra = sy_bench_get_reading (a);
      rb = sy_bench_get_reading (b);
      rc = sy_bench_get_reading (c);

      g_assert_cmpuint (ra->seq, ==, k + 1);
      g_assert_cmpint (ra->t_ms, ==, rc->t_ms);
      g_assert_cmpmem (ra, sizeof (SyReading), rb, sizeof (SyReading));
      if (memcmp (ra->values, rc->values, sizeof ra->values) != 0)
        c_differs = TRUE;
    }

  g_assert_true (c_differs);
}

static void
test_heater (void)
{
  g_autoptr(SyBench) hot = bench_new (7);
  g_autoptr(SyBench) ref = bench_new (7);
  double peak;

  switch_relay (hot, SY_RELAY_HEATER, TRUE);
  step_for (hot, 30 * MINUTE_MS, 10000);
  step_for (ref, 30 * MINUTE_MS, 10000);

  peak = value_of (hot, SY_SENSOR_TEMPERATURE);
  g_assert_cmpfloat (peak, >, value_of (ref, SY_SENSOR_TEMPERATURE) + 5.0);
  /* The heater draws about 4 A. */
  g_assert_cmpfloat (value_of (hot, SY_SENSOR_CURRENT), >, value_of (ref, SY_SENSOR_CURRENT) + 3.5);

  switch_relay (hot, SY_RELAY_HEATER, FALSE);
  step_for (hot, 30 * MINUTE_MS, 10000);
  step_for (ref, 30 * MINUTE_MS, 10000);

  g_assert_cmpfloat (value_of (hot, SY_SENSOR_TEMPERATURE), <, peak - 4.0);
  g_assert_cmpfloat (fabs (value_of (hot, SY_SENSOR_TEMPERATURE) -
                           value_of (ref, SY_SENSOR_TEMPERATURE)), <, 2.5);
}

static void
test_cooler (void)
{
  g_autoptr(SyBench) cold = bench_new (8);
  g_autoptr(SyBench) ref = bench_new (8);

  switch_relay (cold, SY_RELAY_COOLER, TRUE);
  step_for (cold, 30 * MINUTE_MS, 10000);
  step_for (ref, 30 * MINUTE_MS, 10000);

  g_assert_cmpfloat (value_of (cold, SY_SENSOR_TEMPERATURE), <,
                     value_of (ref, SY_SENSOR_TEMPERATURE) - 5.0);
}

static void
test_fan (void)
{
  g_autoptr(SyBench) dry = bench_new (9);
  g_autoptr(SyBench) ref = bench_new (9);
  g_autoptr(SyBench) heated = bench_new (9);
  g_autoptr(SyBench) heated_fan = bench_new (9);

  switch_relay (dry, SY_RELAY_FAN, TRUE);
  switch_relay (heated, SY_RELAY_HEATER, TRUE);
  switch_relay (heated_fan, SY_RELAY_HEATER, TRUE);
  switch_relay (heated_fan, SY_RELAY_FAN, TRUE);

  step_for (dry, 30 * MINUTE_MS, 10000);
  step_for (ref, 30 * MINUTE_MS, 10000);
  step_for (heated, 30 * MINUTE_MS, 10000);
  step_for (heated_fan, 30 * MINUTE_MS, 10000);

  /* The fan dries the room... */
  g_assert_cmpfloat (value_of (dry, SY_SENSOR_HUMIDITY), <,
                     value_of (ref, SY_SENSOR_HUMIDITY) - 8.0);
  /* ...and holds it nearer ambient against the heater. */
  g_assert_cmpfloat (value_of (heated_fan, SY_SENSOR_TEMPERATURE), <,
                     value_of (heated, SY_SENSOR_TEMPERATURE) - 3.0);
  g_assert_cmpfloat (value_of (heated_fan, SY_SENSOR_TEMPERATURE), >,
                     value_of (ref, SY_SENSOR_TEMPERATURE) + 1.0);
}

static void
test_lamp (void)
{
  g_autoptr(SyBench) lit = bench_new (10);
  g_autoptr(SyBench) ref = bench_new (10);
  double gain;

  switch_relay (lit, SY_RELAY_LAMP, TRUE);
  step_for (lit, 5000, 100);
  step_for (ref, 5000, 100);

  gain = value_of (lit, SY_SENSOR_LIGHT) - value_of (ref, SY_SENSOR_LIGHT);
  g_assert_cmpfloat (gain, >, 700.0);
  g_assert_cmpfloat (gain, <, 900.0);
}

static void
test_pump (void)
{
  g_autoptr(SyBench) pumping = bench_new (11);
  g_autoptr(SyBench) ref = bench_new (11);

  switch_relay (pumping, SY_RELAY_PUMP, TRUE);
  step_for (pumping, 10000, 100);
  step_for (ref, 10000, 100);

  g_assert_cmpfloat (value_of (pumping, SY_SENSOR_CURRENT), >,
                     value_of (ref, SY_SENSOR_CURRENT) + 2.0);
  g_assert_cmpfloat (value_of (pumping, SY_SENSOR_VOLTAGE), <,
                     value_of (ref, SY_SENSOR_VOLTAGE) - 0.4);
}

static void
test_large_step (void)
{
  g_autoptr(SyBench) bench = bench_new (12);
  gint64 start = sy_bench_get_clock (bench);
  gint64 t0 = g_get_monotonic_time ();

  for (guint i = 0; i < SY_BENCH_N_RELAYS; i++)
    {
      if (i != SY_RELAY_COOLER)
        switch_relay (bench, i, TRUE);
    }

  /* Three days at once: stable, in range, and not three days of work. */
  sy_bench_step (bench, 3 * 24 * 60 * MINUTE_MS + 250);
  g_assert_cmpint (sy_bench_get_clock (bench), ==, start + 3 * 24 * 60 * MINUTE_MS + 250);
  g_assert_cmpuint (sy_bench_get_reading (bench)->seq, ==, 1);
  assert_in_range (bench);
  g_assert_cmpfloat (value_of (bench, SY_SENSOR_LIGHT), >, 600.0);
  /* Long settled: 02:00 ambient (about 17 °C) plus the 4 K a heater holds
   * against the fan. */
  g_assert_cmpfloat (value_of (bench, SY_SENSOR_TEMPERATURE), >, 18.0);
  g_assert_cmpfloat (value_of (bench, SY_SENSOR_TEMPERATURE), <, 24.0);
  g_assert_cmpuint (history_length (bench, SY_SENSOR_TEMPERATURE), ==, SY_BENCH_HISTORY_SECONDS);
  g_assert_cmpint (g_get_monotonic_time () - t0, <, 10 * G_USEC_PER_SEC);

  for (guint k = 0; k < 1000; k++)
    {
      sy_bench_step (bench, (k * 7919) % 5000);
      assert_in_range (bench);
    }
}

static void
test_history (void)
{
  gint64 base = night_clock ();
  g_autoptr(SyBench) bench = bench_new_at (13, NULL, base + 500);
  g_autoptr(GArray) t = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GArray) v = g_array_new (FALSE, FALSE, sizeof (double));

  g_assert_cmpint (base % 1000, ==, 0);
  g_assert_cmpuint (history_length (bench, SY_SENSOR_TEMPERATURE), ==, 0);

  /* 20.5 s in steps of 100 ms: a point on each of the 20 whole seconds. */
  step_for (bench, 20000, 100);
  g_assert_cmpint (sy_bench_get_clock (bench), ==, base + 20500);

  for (guint i = 0; i < SY_BENCH_N_SENSORS; i++)
    g_assert_cmpuint (history_length (bench, i), ==, 20);

  sy_bench_get_history (bench, SY_SENSOR_PRESSURE, 10, t, v);
  g_assert_cmpuint (t->len, ==, 10);
  g_assert_cmpuint (v->len, ==, 10);
  for (guint k = 0; k < t->len; k++)
    {
      g_assert_cmpint (g_array_index (t, gint64, k), ==, base + 11000 + (gint64) k * 1000);
      g_assert_cmpfloat (g_array_index (v, double, k), >=, 950.0);
      g_assert_cmpfloat (g_array_index (v, double, k), <=, 1050.0);
    }

  /* Appends, and 0 s is nothing. */
  sy_bench_get_history (bench, SY_SENSOR_PRESSURE, 0, t, v);
  g_assert_cmpuint (t->len, ==, 10);
  sy_bench_get_history (bench, SY_SENSOR_PRESSURE, 3, t, v);
  g_assert_cmpuint (t->len, ==, 13);
  g_assert_cmpint (g_array_index (t, gint64, 10), ==, base + 18000);

  /* One big step records every second it covers, and a step ending on a
   * whole second reads what the history recorded. */
  sy_bench_step (bench, 99500);
  g_assert_cmpint (sy_bench_get_clock (bench), ==, base + 120000);
  g_array_set_size (t, 0);
  g_array_set_size (v, 0);
  sy_bench_get_history (bench, SY_SENSOR_TEMPERATURE, SY_BENCH_HISTORY_SECONDS, t, v);
  g_assert_cmpuint (t->len, ==, 120);
  for (guint k = 0; k < t->len; k++)
    g_assert_cmpint (g_array_index (t, gint64, k), ==, base + 1000 + (gint64) k * 1000);
  g_assert_cmpfloat (g_array_index (v, double, v->len - 1), ==,
                     value_of (bench, SY_SENSOR_TEMPERATURE));

  /* On a whole second, the last 10 s are 10 points, not 11. */
  g_array_set_size (t, 0);
  g_array_set_size (v, 0);
  sy_bench_get_history (bench, SY_SENSOR_TEMPERATURE, 10, t, v);
  g_assert_cmpuint (t->len, ==, 10);
  g_assert_cmpint (g_array_index (t, gint64, 0), ==, base + 111000);

  /* The ring holds the last hour. */
  step_for (bench, 2 * 60 * MINUTE_MS, 7 * MINUTE_MS);
  g_array_set_size (t, 0);
  g_array_set_size (v, 0);
  sy_bench_get_history (bench, SY_SENSOR_LIGHT, SY_BENCH_HISTORY_SECONDS, t, v);
  g_assert_cmpuint (t->len, ==, SY_BENCH_HISTORY_SECONDS);
  g_assert_cmpint (g_array_index (t, gint64, t->len - 1), ==, sy_bench_get_clock (bench));
  for (guint k = 1; k < t->len; k++)
    g_assert_cmpint (g_array_index (t, gint64, k) - g_array_index (t, gint64, k - 1), ==, 1000);

  /* Setting the clock back drops what would now be the future. */
  sy_bench_set_clock (bench, sy_bench_get_clock (bench) - 10500);
  g_assert_cmpuint (history_length (bench, SY_SENSOR_LIGHT), ==, SY_BENCH_HISTORY_SECONDS - 11);
}

static void
test_dropout (void)
{
  g_autoptr(SyBench) bench = bench_new (14);
  const SyReading *reading = sy_bench_get_reading (bench);
  double held;
  double humidity;
  guint n_temperature;
  guint n_humidity;

  sy_bench_step (bench, 100);
  held = reading->values[SY_SENSOR_TEMPERATURE];
  humidity = reading->values[SY_SENSOR_HUMIDITY];

  sy_bench_set_sensor_dropout (bench, SY_SENSOR_TEMPERATURE, TRUE);
  sy_bench_step (bench, 1000);
  g_assert_cmpfloat (reading->values[SY_SENSOR_TEMPERATURE], ==, held);
  g_assert_false (reading->stale[SY_SENSOR_TEMPERATURE]);
  g_assert_cmpfloat (reading->values[SY_SENSOR_HUMIDITY], !=, humidity);
  n_temperature = history_length (bench, SY_SENSOR_TEMPERATURE);
  n_humidity = history_length (bench, SY_SENSOR_HUMIDITY);

  /* SY_BENCH_STALE_AFTER_MS after the last fresh value. */
  sy_bench_step (bench, SY_BENCH_STALE_AFTER_MS - 1100);
  g_assert_false (reading->stale[SY_SENSOR_TEMPERATURE]);
  sy_bench_step (bench, 100);
  g_assert_true (reading->stale[SY_SENSOR_TEMPERATURE]);
  g_assert_cmpfloat (reading->values[SY_SENSOR_TEMPERATURE], ==, held);

  sy_bench_step (bench, 5000);
  g_assert_true (reading->stale[SY_SENSOR_TEMPERATURE]);
  g_assert_cmpfloat (reading->values[SY_SENSOR_TEMPERATURE], ==, held);
  for (guint i = 0; i < SY_BENCH_N_SENSORS; i++)
    {
      if (i != SY_SENSOR_TEMPERATURE)
        g_assert_false (reading->stale[i]);
    }

  /* No stale points in the history; the others kept recording. */
  g_assert_cmpuint (history_length (bench, SY_SENSOR_TEMPERATURE), ==, n_temperature);
  g_assert_cmpuint (history_length (bench, SY_SENSOR_HUMIDITY), >=, n_humidity + 5);

  sy_bench_set_sensor_dropout (bench, SY_SENSOR_TEMPERATURE, FALSE);
  sy_bench_step (bench, 100);
  g_assert_false (reading->stale[SY_SENSOR_TEMPERATURE]);
  g_assert_cmpfloat (reading->values[SY_SENSOR_TEMPERATURE], !=, held);
  sy_bench_step (bench, 1000);
  g_assert_cmpuint (history_length (bench, SY_SENSOR_TEMPERATURE), ==, n_temperature + 1);
}

static void
test_relay_sequence (void)
{
  g_autoptr(SyBench) bench = bench_new (20);
  g_autoptr(GError) error = NULL;
  const SyRelayState *state = sy_bench_get_relay (bench, SY_RELAY_LAMP);
  Recorder recorder;
  Done done = { 0 };
  Done again = { 0 };
  gint64 sent;

  record_relays (bench, &recorder);
  sy_bench_step (bench, 1234);

  sent = g_get_monotonic_time ();
  g_assert_true (sy_bench_relay_set (bench, SY_RELAY_LAMP, TRUE, done_cb, &done, &error));
  g_assert_no_error (error);

  g_assert_cmpuint (recorder.n_events, ==, 1);
  g_assert_cmpuint (recorder.events[0].relay, ==, SY_RELAY_LAMP);
  g_assert_cmpstr (recorder.events[0].reason, ==, "command");
  g_assert_false (recorder.events[0].on);
  g_assert_true (recorder.events[0].pending);
  g_assert_true (recorder.events[0].target);
  g_assert_true (state->pending);
  g_assert_false (state->on);
  g_assert_cmpuint (done.calls, ==, 0);

  WAIT_UNTIL (done.calls == 1, 5000);
  g_assert_no_error (done.error);
  g_assert_true (done.on);
  g_assert_false (done.pending);
  g_assert_cmpint (done.when - sent, >=, FAST_ACTUATION_MS / 2 * 1000);

  g_assert_cmpuint (recorder.n_events, ==, 2);
  g_assert_cmpstr (recorder.events[1].reason, ==, "confirmed");
  g_assert_true (recorder.events[1].on);
  g_assert_false (recorder.events[1].pending);
  g_assert_cmpint (recorder.events[1].when, <=, done.when);
  g_assert_true (state->on);
  g_assert_cmpint (state->changed_ms, ==, sy_bench_get_clock (bench));

  /* Commanding the state it has still goes through the device. */
  g_assert_true (sy_bench_relay_set (bench, SY_RELAY_LAMP, TRUE, done_cb, &again, &error));
  g_assert_no_error (error);
  g_assert_true (state->pending);
  g_assert_true (state->on);
  g_assert_cmpuint (again.calls, ==, 0);
  WAIT_UNTIL (again.calls == 1, 5000);
  g_assert_no_error (again.error);
  g_assert_cmpuint (recorder.n_events, ==, 4);
  g_assert_cmpstr (recorder.events[2].reason, ==, "command");
  g_assert_cmpstr (recorder.events[3].reason, ==, "confirmed");
  g_assert_true (state->on);

  spin (50);
  g_assert_cmpuint (done.calls, ==, 1);
  g_assert_cmpuint (again.calls, ==, 1);
  g_assert_cmpuint (recorder.n_events, ==, 4);

  done_clear (&done);
  done_clear (&again);
}

static void
test_relay_interlock (void)
{
  g_autoptr(SyBench) bench = bench_new (21);
  g_autoptr(GError) error = NULL;
  const SyRelayState *cooler = sy_bench_get_relay (bench, SY_RELAY_COOLER);
  const SyRelayState *heater = sy_bench_get_relay (bench, SY_RELAY_HEATER);
  Recorder recorder;
  Done done = { 0 };

  switch_relay (bench, SY_RELAY_HEATER, TRUE);
  record_relays (bench, &recorder);

  g_assert_false (sy_bench_relay_set (bench, SY_RELAY_COOLER, TRUE, done_cb, &done, &error));
  g_assert_error (error, SY_BENCH_ERROR, SY_BENCH_ERROR_INTERLOCK);
  g_assert_nonnull (strstr (error->message, "Heater"));
  g_assert_nonnull (strstr (error->message, "Cooler"));
  g_clear_error (&error);

  g_assert_false (sy_bench_relay_toggle (bench, SY_RELAY_COOLER, done_cb, &done, &error));
  g_assert_error (error, SY_BENCH_ERROR, SY_BENCH_ERROR_INTERLOCK);
  g_clear_error (&error);

  g_assert_false (sy_bench_relay_pulse (bench, SY_RELAY_COOLER, 100, done_cb, &done, &error));
  g_assert_error (error, SY_BENCH_ERROR, SY_BENCH_ERROR_INTERLOCK);
  g_clear_error (&error);

  spin (50);
  g_assert_cmpuint (done.calls, ==, 0);
  g_assert_cmpuint (recorder.n_events, ==, 0);
  g_assert_false (cooler->on);
  g_assert_false (cooler->pending);
  g_assert_true (heater->on);

  /* Off never violates an interlock. */
  switch_relay (bench, SY_RELAY_COOLER, FALSE);
  switch_relay (bench, SY_RELAY_HEATER, FALSE);

  /* A partner that is only switching on counts too. */
  g_assert_true (sy_bench_relay_set (bench, SY_RELAY_COOLER, TRUE, done_cb, &done, &error));
  g_assert_no_error (error);
  g_assert_false (sy_bench_relay_set (bench, SY_RELAY_HEATER, TRUE, NULL, NULL, &error));
  g_assert_error (error, SY_BENCH_ERROR, SY_BENCH_ERROR_INTERLOCK);
  g_clear_error (&error);

  WAIT_UNTIL (done.calls == 1, 5000);
  g_assert_no_error (done.error);
  g_assert_true (cooler->on);
  g_assert_false (heater->on);
  g_assert_false (heater->pending);

  done_clear (&done);
}

static void
test_relay_concurrent (void)
{
  g_autoptr(SyBench) bench = bench_new (22);
  g_autoptr(GError) error = NULL;
  const SyRelayState *pump = sy_bench_get_relay (bench, SY_RELAY_PUMP);
  Recorder recorder;
  Done a = { 0 };
  Done b = { 0 };
  Done c = { 0 };
  Done d = { 0 };

  record_relays (bench, &recorder);

  /* Two clients at once: one on, one off. The last word wins, and both
   * learn the same confirmed state. */
  g_assert_true (sy_bench_relay_set (bench, SY_RELAY_PUMP, TRUE, done_cb, &a, &error));
  g_assert_no_error (error);
  g_assert_true (sy_bench_relay_set (bench, SY_RELAY_PUMP, FALSE, done_cb, &b, &error));
  g_assert_no_error (error);
  g_assert_true (pump->pending);
  g_assert_false (pump->target);

  WAIT_UNTIL (a.calls == 1 && b.calls == 1, 5000);
  spin (50);
  g_assert_cmpuint (a.calls, ==, 1);
  g_assert_cmpuint (b.calls, ==, 1);
  g_assert_no_error (a.error);
  g_assert_no_error (b.error);
  g_assert_false (a.on);
  g_assert_false (b.on);
  g_assert_false (pump->on);
  g_assert_false (pump->pending);

  /* One confirmation for both. */
  g_assert_cmpuint (recorder.n_events, ==, 3);
  g_assert_cmpstr (recorder.events[0].reason, ==, "command");
  g_assert_cmpstr (recorder.events[1].reason, ==, "command");
  g_assert_cmpstr (recorder.events[2].reason, ==, "confirmed");

  /* And the other way round. */
  g_assert_true (sy_bench_relay_set (bench, SY_RELAY_PUMP, FALSE, done_cb, &c, &error));
  g_assert_true (sy_bench_relay_set (bench, SY_RELAY_PUMP, TRUE, done_cb, &d, &error));
  g_assert_no_error (error);
  WAIT_UNTIL (c.calls == 1 && d.calls == 1, 5000);
  g_assert_true (c.on);
  g_assert_true (d.on);
  g_assert_true (pump->on);

  done_clear (&a);
  done_clear (&b);
  done_clear (&c);
  done_clear (&d);
}

static void
test_relay_toggle (void)
{
  g_autoptr(SyBench) bench = bench_new (23);
  g_autoptr(GError) error = NULL;
  const SyRelayState *lamp = sy_bench_get_relay (bench, SY_RELAY_LAMP);
  Done a = { 0 };
  Done b = { 0 };
  Done c = { 0 };

  g_assert_true (sy_bench_relay_toggle (bench, SY_RELAY_LAMP, done_cb, &a, &error));
  g_assert_no_error (error);
  g_assert_true (lamp->target);

  /* While pending, a toggle flips the target, not the state. */
  g_assert_true (sy_bench_relay_toggle (bench, SY_RELAY_LAMP, done_cb, &b, &error));
  g_assert_no_error (error);
  g_assert_false (lamp->target);

  WAIT_UNTIL (a.calls == 1 && b.calls == 1, 5000);
  g_assert_false (lamp->on);

  g_assert_true (sy_bench_relay_toggle (bench, SY_RELAY_LAMP, done_cb, &c, &error));
  WAIT_UNTIL (c.calls == 1, 5000);
  g_assert_no_error (c.error);
  g_assert_true (lamp->on);

  done_clear (&a);
  done_clear (&b);
  done_clear (&c);
}

static void
test_relay_never_synchronous (void)
{
  g_autoptr(SyBench) bench = bench_new (24);
  g_autoptr(GError) error = NULL;
  Done set = { 0 };
  Done toggle = { 0 };
  Done pulse = { 0 };
  Done stuck = { 0 };

  /* Even a device that answers at once answers later. */
  sy_bench_set_actuation_delay (bench, 0);

  g_assert_true (sy_bench_relay_set (bench, SY_RELAY_LAMP, TRUE, done_cb, &set, &error));
  g_assert_cmpuint (set.calls, ==, 0);
  g_assert_true (sy_bench_relay_toggle (bench, SY_RELAY_FAN, done_cb, &toggle, &error));
  g_assert_cmpuint (toggle.calls, ==, 0);
  g_assert_true (sy_bench_relay_pulse (bench, SY_RELAY_AUX, 50, done_cb, &pulse, &error));
  g_assert_cmpuint (pulse.calls, ==, 0);

  sy_bench_relay_set_stuck (bench, SY_RELAY_VALVE, TRUE);
  sy_bench_set_command_timeout (bench, 1);
  g_assert_true (sy_bench_relay_set (bench, SY_RELAY_VALVE, TRUE, done_cb, &stuck, &error));
  g_assert_cmpuint (stuck.calls, ==, 0);
  g_assert_no_error (error);

  WAIT_UNTIL (set.calls == 1 && toggle.calls == 1 && pulse.calls == 1 && stuck.calls == 1, 5000);
  g_assert_no_error (set.error);
  g_assert_error (stuck.error, SY_BENCH_ERROR, SY_BENCH_ERROR_TIMEOUT);

  done_clear (&set);
  done_clear (&toggle);
  done_clear (&pulse);
  done_clear (&stuck);
}

static void
test_relay_max_on (void)
{
  g_autoptr(SyBench) bench = bench_new (25);
  const SyRelayState *fan = sy_bench_get_relay (bench, SY_RELAY_FAN);
  Recorder recorder;
  const Event *off;
  const Event *on;

  sy_bench_relay_set_max_on (bench, SY_RELAY_FAN, 100);
  g_assert_cmpuint (fan->max_on_ms, ==, 100);
  record_relays (bench, &recorder);

  g_test_expect_message ("sy-bench", G_LOG_LEVEL_MESSAGE, "*Circulation fan*100 ms*");
  switch_relay (bench, SY_RELAY_LAMP, TRUE);
  switch_relay (bench, SY_RELAY_FAN, TRUE);
  WAIT_UNTIL (!fan->on, 5000);
  g_test_assert_expected_messages ();

  on = find_event (&recorder, SY_RELAY_FAN, "confirmed");
  off = find_event (&recorder, SY_RELAY_FAN, "max on-time");
  g_assert_nonnull (on);
  g_assert_nonnull (off);
  g_assert_false (off->on);
  g_assert_false (off->pending);
  g_assert_cmpint (off->when - on->when, >=, 95 * 1000);
  g_assert_cmpint (off->when - on->when, <, 2 * G_USEC_PER_SEC);

  /* No limit, no switch-off. */
  spin (200);
  g_assert_true (sy_bench_get_relay (bench, SY_RELAY_LAMP)->on);
  g_assert_false (fan->on);

  /* A new limit applies at once to a relay that is already on. */
  g_test_expect_message ("sy-bench", G_LOG_LEVEL_MESSAGE, "*Lamp*50 ms*");
  sy_bench_relay_set_max_on (bench, SY_RELAY_LAMP, 50);
  WAIT_UNTIL (!sy_bench_get_relay (bench, SY_RELAY_LAMP)->on, 5000);
  g_test_assert_expected_messages ();
}

static void
test_relay_pulse (void)
{
  g_autoptr(SyBench) bench = bench_new (26);
  g_autoptr(GError) error = NULL;
  const SyRelayState *lamp = sy_bench_get_relay (bench, SY_RELAY_LAMP);
  Recorder recorder;
  Done done = { 0 };
  const Event *on;
  const Event *off;
  gint64 length;

  sy_bench_set_actuation_delay (bench, 20);
  record_relays (bench, &recorder);

  g_assert_true (sy_bench_relay_pulse (bench, SY_RELAY_LAMP, 200, done_cb, &done, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (recorder.events[0].reason, ==, "pulse");
  g_assert_true (lamp->pending);

  WAIT_UNTIL (done.calls == 1, 5000);
  g_assert_no_error (done.error);
  g_assert_true (done.on);
  g_assert_true (lamp->on);

  WAIT_UNTIL (!lamp->on, 5000);
  on = find_event (&recorder, SY_RELAY_LAMP, "confirmed");
  off = find_event (&recorder, SY_RELAY_LAMP, "pulse end");
  g_assert_nonnull (on);
  g_assert_nonnull (off);
  g_assert_true (on->on);
  g_assert_false (off->on);
  g_assert_false (off->pending);

  length = off->when - on->when;
  g_assert_cmpint (length, >=, 195 * 1000);
  g_assert_cmpint (length, <, 1500 * 1000);

  spin (50);
  g_assert_cmpuint (done.calls, ==, 1);
  g_assert_cmpuint (recorder.n_events, ==, 3);

  /* A command during the pulse replaces it. */
  g_assert_true (sy_bench_relay_pulse (bench, SY_RELAY_LAMP, 100, NULL, NULL, &error));
  WAIT_UNTIL (lamp->on, 5000);
  switch_relay (bench, SY_RELAY_LAMP, TRUE);
  spin (250);
  g_assert_true (lamp->on);

  done_clear (&done);
}

static void
test_relay_pulse_invalid (void)
{
  g_autoptr(SyBench) bench = bench_new (27);
  g_autoptr(GError) error = NULL;
  Recorder recorder;
  Done done = { 0 };

  record_relays (bench, &recorder);

  g_assert_false (sy_bench_relay_pulse (bench, SY_RELAY_LAMP, SY_BENCH_PULSE_MIN_MS - 1,
                                        done_cb, &done, &error));
  g_assert_error (error, SY_BENCH_ERROR, SY_BENCH_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (sy_bench_relay_pulse (bench, SY_RELAY_LAMP, SY_BENCH_PULSE_MAX_MS + 1,
                                        done_cb, &done, &error));
  g_assert_error (error, SY_BENCH_ERROR, SY_BENCH_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (sy_bench_relay_pulse (bench, SY_BENCH_N_RELAYS, 100, done_cb, &done, &error));
  g_assert_error (error, SY_BENCH_ERROR, SY_BENCH_ERROR_NOT_FOUND);
  g_clear_error (&error);

  spin (50);
  g_assert_cmpuint (recorder.n_events, ==, 0);
  g_assert_cmpuint (done.calls, ==, 0);
  g_assert_false (sy_bench_get_relay (bench, SY_RELAY_LAMP)->pending);

  /* Both limits themselves are fine. */
  g_assert_true (sy_bench_relay_pulse (bench, SY_RELAY_LAMP, SY_BENCH_PULSE_MIN_MS,
                                       done_cb, &done, &error));
  g_assert_no_error (error);
  WAIT_UNTIL (done.calls == 1, 5000);
  g_assert_true (sy_bench_relay_pulse (bench, SY_RELAY_FAN, SY_BENCH_PULSE_MAX_MS,
                                       NULL, NULL, &error));
  g_assert_no_error (error);

  done_clear (&done);
}

static void
test_relay_stuck (void)
{
  g_autoptr(SyBench) bench = bench_new (28);
  g_autoptr(GError) error = NULL;
  const SyRelayState *valve = sy_bench_get_relay (bench, SY_RELAY_VALVE);
  Recorder recorder;
  Done a = { 0 };
  Done b = { 0 };
  gint64 sent;

  sy_bench_relay_set_stuck (bench, SY_RELAY_VALVE, TRUE);
  g_assert_true (valve->stuck);
  sy_bench_set_command_timeout (bench, 150);
  record_relays (bench, &recorder);

  sent = g_get_monotonic_time ();
  g_assert_true (sy_bench_relay_set (bench, SY_RELAY_VALVE, TRUE, done_cb, &a, &error));
  g_assert_true (sy_bench_relay_toggle (bench, SY_RELAY_VALVE, done_cb, &b, &error));
  g_assert_no_error (error);
  g_assert_true (valve->pending);

  WAIT_UNTIL (a.calls == 1 && b.calls == 1, 5000);
  g_assert_error (a.error, SY_BENCH_ERROR, SY_BENCH_ERROR_TIMEOUT);
  g_assert_error (b.error, SY_BENCH_ERROR, SY_BENCH_ERROR_TIMEOUT);
  g_assert_cmpint (a.when - sent, >=, 145 * 1000);
  g_assert_false (valve->on);
  g_assert_false (valve->pending);
  g_assert_false (valve->target);

  g_assert_cmpuint (recorder.n_events, ==, 3);
  g_assert_cmpstr (recorder.events[2].reason, ==, "timeout");
  g_assert_false (recorder.events[2].pending);

  spin (50);
  g_assert_cmpuint (a.calls, ==, 1);
  g_assert_cmpuint (b.calls, ==, 1);

  sy_bench_relay_set_stuck (bench, SY_RELAY_VALVE, FALSE);
  switch_relay (bench, SY_RELAY_VALVE, TRUE);

  done_clear (&a);
  done_clear (&b);
}

static void
test_relay_rename (void)
{
  g_autoptr(SyBench) bench = bench_new (29);
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) long_name = g_string_new (NULL);
  const SyRelayState *lamp = sy_bench_get_relay (bench, SY_RELAY_LAMP);
  static const char * const invalid[] = {
    "",
    "   ",
    "\t\n ",
    "\xc2\xa0\xe3\x80\x80",  /* only Unicode spaces */
    "Grow\nlight",
    "Grow\x01light",
    "Grow\x7flight",
    "Grow\xe2\x80\xa8light",  /* U+2028 LINE SEPARATOR */
    "\xff\xfe",
    "Gr\xc3",
  };
  Recorder recorder;

  record_relays (bench, &recorder);

  g_assert_true (sy_bench_relay_rename (bench, SY_RELAY_LAMP, "  Grow light\t", &error));
  g_assert_no_error (error);
  g_assert_cmpstr (lamp->name, ==, "Grow light");
  g_assert_cmpuint (recorder.n_events, ==, 1);
  g_assert_cmpstr (recorder.events[0].reason, ==, "rename");

  for (guint i = 0; i < G_N_ELEMENTS (invalid); i++)
    {
      g_assert_false (sy_bench_relay_rename (bench, SY_RELAY_LAMP, invalid[i], &error));
      g_assert_error (error, SY_BENCH_ERROR, SY_BENCH_ERROR_INVALID);
      g_clear_error (&error);
      g_assert_cmpstr (lamp->name, ==, "Grow light");
    }
  g_assert_false (sy_bench_relay_rename (bench, SY_RELAY_LAMP, NULL, &error));
  g_assert_error (error, SY_BENCH_ERROR, SY_BENCH_ERROR_INVALID);
  g_clear_error (&error);

  /* The limit counts characters, not bytes. */
  for (guint i = 0; i < SY_BENCH_NAME_MAX_CHARS; i++)
    g_string_append (long_name, "é");
  g_assert_true (sy_bench_relay_rename (bench, SY_RELAY_LAMP, long_name->str, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (lamp->name, ==, long_name->str);
  g_string_append (long_name, "é");
  g_assert_false (sy_bench_relay_rename (bench, SY_RELAY_LAMP, long_name->str, &error));
  g_assert_error (error, SY_BENCH_ERROR, SY_BENCH_ERROR_INVALID);
  g_clear_error (&error);

  g_assert_true (sy_bench_relay_rename (bench, SY_RELAY_LAMP, "Lampe № 2 — 🌱", &error));
  g_assert_no_error (error);
  g_assert_cmpstr (lamp->name, ==, "Lampe № 2 — 🌱");

  g_assert_false (sy_bench_relay_rename (bench, SY_BENCH_N_RELAYS, "x", &error));
  g_assert_error (error, SY_BENCH_ERROR, SY_BENCH_ERROR_NOT_FOUND);
  g_clear_error (&error);

  g_assert_cmpuint (recorder.n_events, ==, 3);
}

static void
test_relay_not_found (void)
{
  g_autoptr(SyBench) bench = bench_new (30);
  g_autoptr(GError) error = NULL;
  Done done = { 0 };

  g_assert_false (sy_bench_relay_set (bench, SY_BENCH_N_RELAYS, TRUE, done_cb, &done, &error));
  g_assert_error (error, SY_BENCH_ERROR, SY_BENCH_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_false (sy_bench_relay_toggle (bench, G_MAXUINT, done_cb, &done, &error));
  g_assert_error (error, SY_BENCH_ERROR, SY_BENCH_ERROR_NOT_FOUND);
  g_clear_error (&error);

  spin (30);
  g_assert_cmpuint (done.calls, ==, 0);
}

static void
test_run_tick (void)
{
  g_autoptr(SyBench) bench = bench_new (40);
  const SyReading *reading = sy_bench_get_reading (bench);
  gint64 clock0;
  gint64 real0;
  gint64 bench_elapsed;
  gint64 real_elapsed;
  gint64 clock1;
  guint64 seq;

  sy_bench_set_tick_hz (bench, 100);
  g_assert_cmpuint (sy_bench_get_tick_hz (bench), ==, 100);

  clock0 = sy_bench_get_clock (bench);
  real0 = g_get_monotonic_time ();
  sy_bench_start (bench);
  WAIT_UNTIL (reading->seq >= 30, 10000);

  /* Bench time follows real time. */
  bench_elapsed = sy_bench_get_clock (bench) - clock0;
  real_elapsed = (g_get_monotonic_time () - real0) / 1000;
  g_assert_cmpint (bench_elapsed, <=, real_elapsed);
  g_assert_cmpint (bench_elapsed, >=, real_elapsed - 100);
  g_assert_cmpint (reading->t_ms, ==, sy_bench_get_clock (bench));
  /* About 10 ms of bench time per step (not the default 50). */
  g_assert_cmpint (bench_elapsed / (gint64) reading->seq, <, 30);

  /* A new rate applies at once. */
  sy_bench_set_tick_hz (bench, 1000);
  seq = reading->seq;
  clock1 = sy_bench_get_clock (bench);
  WAIT_UNTIL (reading->seq >= seq + 50, 10000);
  g_assert_cmpint ((sy_bench_get_clock (bench) - clock1) / (gint64) (reading->seq - seq), <, 10);

  sy_bench_stop (bench);
  seq = reading->seq;
  spin (100);
  g_assert_cmpuint (reading->seq, ==, seq);
}

static void
record_reading (SyBench         *bench,
                const SyReading *reading,
                GArray          *readings)
{
  g_array_append_val (readings, *reading);
}

/* A tick that comes late takes the steps it missed, each with a reading of
 * its own, in one turn of the main loop; all but the last say that more
 * follow. Past four, the bench jumps. */
static void
test_run_catch_up (void)
{
  g_autoptr(SyBench) bench = bench_new (44);
  g_autoptr(GArray) readings = g_array_new (FALSE, TRUE, sizeof (SyReading));
  const SyReading *first;
  SyReading before;
  gint64 blocked;

  sy_bench_set_tick_hz (bench, 100);
  g_signal_connect (bench, "reading", G_CALLBACK (record_reading), readings);
  sy_bench_start (bench);
  WAIT_UNTIL (readings->len >= 2, 10000);
  before = g_array_index (readings, SyReading, readings->len - 1);
  g_assert_false (before.more);

  /* The main loop is busy for 60 ms: six ticks late. */
  g_array_set_size (readings, 0);
  blocked = g_get_monotonic_time ();
  g_usleep (60 * 1000);
  while (readings->len == 0)
    g_main_context_iteration (NULL, TRUE);
  blocked = (g_get_monotonic_time () - blocked) / 1000;

  /* One turn, four readings. */
  g_assert_cmpuint (readings->len, ==, 4);
  first = &g_array_index (readings, SyReading, 0);
  for (guint i = 0; i < readings->len; i++)
    {
      const SyReading *r = &g_array_index (readings, SyReading, i);

      g_assert_cmpuint (r->seq, ==, before.seq + 1 + i);
      g_assert_cmpint (r->more, ==, i + 1 < readings->len);
      if (i > 0)
        g_assert_cmpint (r->t_ms, >, (r - 1)->t_ms);
    }
  /* They share the time that passed, evenly. */
  g_assert_cmpint (g_array_index (readings, SyReading, 3).t_ms - before.t_ms, >=, 60);
  g_assert_cmpint (g_array_index (readings, SyReading, 3).t_ms - before.t_ms, <=, blocked + 20);
  g_assert_cmpint (first->t_ms - before.t_ms, >=, 15);

  /* Back on time, one reading a tick. */
  g_array_set_size (readings, 0);
  WAIT_UNTIL (readings->len >= 5, 10000);
  g_assert_false (g_array_index (readings, SyReading, readings->len - 1).more);

  sy_bench_stop (bench);
  g_signal_handlers_disconnect_by_data (bench, readings);
}

static void
test_run_stop_cancels (void)
{
  g_autofree char *dir = g_build_filename (g_get_user_state_dir (), "bench", NULL);
  g_autofree char *history_path = g_build_filename (dir, "history.json", NULL);
  g_autoptr(SyBench) bench = bench_new_at (41, dir, night_clock ());
  g_autoptr(GError) error = NULL;
  const SyRelayState *heater = sy_bench_get_relay (bench, SY_RELAY_HEATER);
  Recorder recorder;
  Done done = { 0 };

  sy_bench_start (bench);
  sy_bench_set_actuation_delay (bench, 5000);
  sy_bench_set_command_timeout (bench, 10000);
  record_relays (bench, &recorder);

  g_assert_true (sy_bench_relay_set (bench, SY_RELAY_HEATER, TRUE, done_cb, &done, &error));
  g_assert_no_error (error);
  spin (20);
  g_assert_cmpuint (done.calls, ==, 0);

  /* Stopping answers, from inside the call, and saves. */
  g_assert_false (g_file_test (history_path, G_FILE_TEST_EXISTS));
  sy_bench_stop (bench);
  g_assert_cmpuint (done.calls, ==, 1);
  g_assert_true (g_file_test (history_path, G_FILE_TEST_IS_REGULAR));
  g_assert_error (done.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_false (heater->on);
  g_assert_false (heater->pending);
  g_assert_cmpstr (recorder.events[recorder.n_events - 1].reason, ==, "cancelled");

  spin (50);
  g_assert_cmpuint (done.calls, ==, 1);

  done_clear (&done);
}

#define ITERATE_UNTIL(context, condition)                                     \
  G_STMT_START {                                                              \
    gint64 _deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;          \
    while (!(condition))                                                      \
      {                                                                       \
        g_assert_cmpint (g_get_monotonic_time (), <, _deadline);             \
        g_main_context_iteration ((context), TRUE);                           \
      }                                                                       \
  } G_STMT_END

static gboolean
never_cb (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

/* A bench on its own context, started with every kind of source in use,
 * then dropped: nothing of it may stay attached. */
static void
test_run_no_sources_left (void)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(GSource) first = g_timeout_source_new (60000);
  g_autoptr(GSource) last = g_timeout_source_new (60000);
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_build_filename (g_get_user_state_dir (), "bench", NULL);
  SyBench *bench;
  Done lamp = { 0 };
  Done fan = { 0 };
  Done pump = { 0 };
  guint first_id;
  guint last_id;

  g_main_context_push_thread_default (context);

  g_source_set_callback (first, never_cb, NULL, NULL);
  first_id = g_source_attach (first, context);

  bench = bench_new_at (50, dir, night_clock ());
  sy_bench_start (bench);
  sy_bench_set_actuation_delay (bench, 5);

  /* A maximum on-time running... */
  sy_bench_relay_set_max_on (bench, SY_RELAY_LAMP, 60000);
  g_assert_true (sy_bench_relay_set (bench, SY_RELAY_LAMP, TRUE, done_cb, &lamp, &error));
  /* ...a pulse running... */
  g_assert_true (sy_bench_relay_pulse (bench, SY_RELAY_FAN, 60000, done_cb, &fan, &error));
  g_assert_no_error (error);
  ITERATE_UNTIL (context,
                 lamp.calls == 1 && fan.calls == 1 && sy_bench_get_reading (bench)->seq > 2);

  /* ...and a command in flight. */
  sy_bench_set_actuation_delay (bench, 60000);
  g_assert_true (sy_bench_relay_set (bench, SY_RELAY_PUMP, TRUE, done_cb, &pump, &error));
  g_assert_no_error (error);

  g_assert_finalize_object (bench);
  g_assert_cmpuint (pump.calls, ==, 1);
  g_assert_error (pump.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);

  g_source_set_callback (last, never_cb, NULL, NULL);
  last_id = g_source_attach (last, context);
  g_assert_cmpuint (last_id, >, first_id);

  for (guint id = first_id + 1; id < last_id; id++)
    g_assert_null (g_main_context_find_source_by_id (context, id));

  g_source_destroy (first);
  g_source_destroy (last);
  g_main_context_pop_thread_default (context);

  done_clear (&lamp);
  done_clear (&fan);
  done_clear (&pump);
}

static void
history_copy (SyBench *bench,
              guint    sensor,
              GArray **t,
              GArray **v)
{
  *t = g_array_new (FALSE, FALSE, sizeof (gint64));
  *v = g_array_new (FALSE, FALSE, sizeof (double));
  sy_bench_get_history (bench, sensor, SY_BENCH_HISTORY_SECONDS, *t, *v);
}

static JsonObject *
saved_relay (const char *dir,
             const char *id,
             JsonParser *parser)
{
  g_autofree char *path = g_build_filename (dir, "relays.json", NULL);
  g_autoptr(GError) error = NULL;
  JsonObject *root;
  JsonArray *relays;

  json_parser_load_from_file (parser, path, &error);
  g_assert_no_error (error);
  root = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpint (json_object_get_int_member (root, "version"), ==, 1);
  relays = json_object_get_array_member (root, "relays");
  g_assert_cmpuint (json_array_get_length (relays), ==, SY_BENCH_N_RELAYS);

  for (guint i = 0; i < json_array_get_length (relays); i++)
    {
      JsonObject *relay = json_array_get_object_element (relays, i);

      if (g_str_equal (json_object_get_string_member (relay, "id"), id))
        return relay;
    }

  g_assert_not_reached ();
}

static void
test_persist_round_trip (void)
{
  g_autofree char *dir = g_build_filename (g_get_user_state_dir (), "switchyard", "bench", NULL);
  g_autofree char *relays_path = g_build_filename (dir, "relays.json", NULL);
  g_autofree char *history_path = g_build_filename (dir, "history.json", NULL);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  gint64 base = night_clock ();
  GArray *saved_t[SY_BENCH_N_SENSORS];
  GArray *saved_v[SY_BENCH_N_SENSORS];
  double last_temperature;
  SyBench *a;
  SyBench *b;
  SyBench *c;
  GStatBuf st;

  g_assert_false (g_file_test (dir, G_FILE_TEST_EXISTS));

  a = bench_new_at (1, dir, base);
  switch_relay (a, SY_RELAY_LAMP, TRUE);

  /* Saved on every confirmed change, in a private directory. */
  g_assert_true (g_file_test (relays_path, G_FILE_TEST_IS_REGULAR));
  g_assert_true (json_object_get_boolean_member (saved_relay (dir, "lamp", parser), "on"));
  g_assert_cmpint (g_stat (dir, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0700);
  g_assert_cmpint (g_stat (relays_path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);

  g_assert_true (sy_bench_relay_rename (a, SY_RELAY_HEATER, "Bench heater", &error));
  g_assert_no_error (error);
  g_assert_cmpstr (json_object_get_string_member (saved_relay (dir, "heater", parser), "name"),
                   ==, "Bench heater");
  switch_relay (a, SY_RELAY_FAN, TRUE);
  switch_relay (a, SY_RELAY_VALVE, TRUE);
  sy_bench_relay_set_safe_default (a, SY_RELAY_FAN, 0);
  sy_bench_relay_set_safe_default (a, SY_RELAY_PUMP, 1);
  sy_bench_relay_set_max_on (a, SY_RELAY_SIREN, 5000);

  step_for (a, 120000, 1000);
  last_temperature = value_of (a, SY_SENSOR_TEMPERATURE);
  for (guint i = 0; i < SY_BENCH_N_SENSORS; i++)
    {
      history_copy (a, i, &saved_t[i], &saved_v[i]);
      g_assert_cmpuint (saved_t[i]->len, ==, 120);
    }

  g_assert_true (sy_bench_save (a, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_stat (history_path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  g_assert_finalize_object (a);

  /* Another seed, half a minute later. */
  b = bench_new_at (2, dir, base + 150000);
  g_assert_true (sy_bench_load (b, &error));
  g_assert_no_error (error);

  g_assert_cmpstr (sy_bench_get_relay (b, SY_RELAY_HEATER)->name, ==, "Bench heater");
  g_assert_cmpstr (sy_bench_get_relay (b, SY_RELAY_FAN)->name, ==, "Circulation fan");
  g_assert_true (sy_bench_get_relay (b, SY_RELAY_LAMP)->on);
  g_assert_false (sy_bench_get_relay (b, SY_RELAY_LAMP)->pending);
  g_assert_true (sy_bench_get_relay (b, SY_RELAY_VALVE)->on);
  g_assert_false (sy_bench_get_relay (b, SY_RELAY_HEATER)->on);
  /* Safe defaults win over the saved state. */
  g_assert_false (sy_bench_get_relay (b, SY_RELAY_FAN)->on);
  g_assert_true (sy_bench_get_relay (b, SY_RELAY_PUMP)->on);
  g_assert_cmpint (sy_bench_get_relay (b, SY_RELAY_FAN)->safe_default, ==, 0);
  g_assert_cmpint (sy_bench_get_relay (b, SY_RELAY_PUMP)->safe_default, ==, 1);
  g_assert_cmpint (sy_bench_get_relay (b, SY_RELAY_LAMP)->safe_default, ==, -1);
  g_assert_cmpuint (sy_bench_get_relay (b, SY_RELAY_SIREN)->max_on_ms, ==, 5000);
  g_assert_cmpuint (sy_bench_get_relay (b, SY_RELAY_HEATER)->max_on_ms, ==, 600000);

  for (guint i = 0; i < SY_BENCH_N_SENSORS; i++)
    {
      g_autoptr(GArray) t = NULL;
      g_autoptr(GArray) v = NULL;

      history_copy (b, i, &t, &v);
      g_assert_cmpmem (t->data, t->len * sizeof (gint64),
                       saved_t[i]->data, saved_t[i]->len * sizeof (gint64));
      g_assert_cmpmem (v->data, v->len * sizeof (double),
                       saved_v[i]->data, saved_v[i]->len * sizeof (double));
    }

  /* The room carries on where it was. */
  g_assert_cmpfloat (value_of (b, SY_SENSOR_TEMPERATURE), ==, last_temperature);
  g_assert_finalize_object (b);

  /* Only the last hour before the clock comes back. */
  c = bench_new_at (3, dir, base + 3600000 + 60000);
  g_assert_true (sy_bench_load (c, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (history_length (c, SY_SENSOR_HUMIDITY), ==, 60);
  {
    g_autoptr(GArray) t = g_array_new (FALSE, FALSE, sizeof (gint64));
    g_autoptr(GArray) v = g_array_new (FALSE, FALSE, sizeof (double));

    /* Not merely hidden: gone. */
    sy_bench_get_history (c, SY_SENSOR_HUMIDITY, 3 * SY_BENCH_HISTORY_SECONDS, t, v);
    g_assert_cmpuint (t->len, ==, 60);
    g_assert_cmpint (g_array_index (t, gint64, 0), ==, base + 61000);
  }
  g_assert_finalize_object (c);

  for (guint i = 0; i < SY_BENCH_N_SENSORS; i++)
    {
      g_array_unref (saved_t[i]);
      g_array_unref (saved_v[i]);
    }
}

static void
write_state (const char *dir,
             const char *basename,
             const char *contents)
{
  g_autofree char *path = g_build_filename (dir, basename, NULL);
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_file_set_contents (path, contents, -1, &error);
  g_assert_no_error (error);
}

static void
assert_default_relays (SyBench *bench)
{
  for (guint i = 0; i < SY_BENCH_N_RELAYS; i++)
    {
      g_assert_false (sy_bench_get_relay (bench, i)->on);
      g_assert_cmpint (sy_bench_get_relay (bench, i)->safe_default, ==, -1);
    }
  g_assert_cmpstr (sy_bench_get_relay (bench, SY_RELAY_HEATER)->name, ==, "Heater");
  g_assert_cmpuint (sy_bench_get_relay (bench, SY_RELAY_HEATER)->max_on_ms, ==, 600000);
}

static void
test_persist_corrupt (void)
{
  g_autofree char *dir = g_build_filename (g_get_user_state_dir (), "bench", NULL);
  g_autoptr(GError) error = NULL;
  static const char * const bad_relays[] = {
    "{ this is not json",
    "[1, 2, 3]",
    "{\"version\": 2, \"relays\": []}",
    "{\"version\": 1, \"relays\": \"heater\"}",
    "{\"version\": 1, \"relays\": [{\"id\": \"heater\", \"name\": 42, \"on\": true,"
    " \"safe_default\": -1, \"max_on_ms\": 0}]}",
    "{\"version\": 1, \"relays\": [{\"id\": \"heater\", \"name\": \"\", \"on\": true,"
    " \"safe_default\": -1, \"max_on_ms\": 0}]}",
    "{\"version\": 1, \"relays\": [{\"id\": \"heater\", \"name\": \"H\", \"on\": true,"
    " \"safe_default\": 7, \"max_on_ms\": 0}]}",
    /* A good entry does not make a bad file half good. */
    "{\"version\": 1, \"relays\": [{\"id\": \"lamp\", \"name\": \"L\", \"on\": true,"
    " \"safe_default\": -1, \"max_on_ms\": 0}, {\"id\": \"fan\"}]}",
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad_relays); i++)
    {
      g_autoptr(SyBench) bench = NULL;

      write_state (dir, "relays.json", bad_relays[i]);
      write_state (dir, "history.json",
                   i % 2 ? "\x01\x02"
                         : "{\"version\": 1, \"sensors\": {\"light\": {\"t\": [1], \"v\": []}}}");

      bench = bench_new_at (60, dir, night_clock ());
      g_test_expect_message ("sy-bench", G_LOG_LEVEL_MESSAGE, "*relays.json*");
      g_test_expect_message ("sy-bench", G_LOG_LEVEL_MESSAGE, "*history.json*");
      g_assert_true (sy_bench_load (bench, &error));
      g_assert_no_error (error);
      g_test_assert_expected_messages ();

      assert_default_relays (bench);
      g_assert_cmpuint (history_length (bench, SY_SENSOR_LIGHT), ==, 0);
    }
}

static void
test_persist_interlock (void)
{
  g_autofree char *dir = g_build_filename (g_get_user_state_dir (), "bench", NULL);
  g_autoptr(SyBench) bench = NULL;
  g_autoptr(GError) error = NULL;

  /* Hand-edited: both sides of the interlock on, and a relay we do not have. */
  write_state (dir, "relays.json",
               "{\"version\": 1, \"relays\": ["
               "{\"id\": \"heater\", \"name\": \"Heater\", \"on\": true,"
               " \"safe_default\": -1, \"max_on_ms\": 0},"
               "{\"id\": \"cooler\", \"name\": \"Cooler\", \"on\": true,"
               " \"safe_default\": -1, \"max_on_ms\": 0},"
               "{\"id\": \"laser\", \"name\": \"Laser\", \"on\": true,"
               " \"safe_default\": -1, \"max_on_ms\": 0}]}");

  bench = bench_new_at (61, dir, night_clock ());
  g_test_expect_message ("sy-bench", G_LOG_LEVEL_MESSAGE, "*cooler*heater*");
  g_assert_true (sy_bench_load (bench, &error));
  g_assert_no_error (error);
  g_test_assert_expected_messages ();

  g_assert_true (sy_bench_get_relay (bench, SY_RELAY_HEATER)->on);
  g_assert_false (sy_bench_get_relay (bench, SY_RELAY_COOLER)->on);
  g_assert_cmpuint (sy_bench_get_relay (bench, SY_RELAY_HEATER)->max_on_ms, ==, 0);
}

static void
test_persist_missing_and_unreadable (void)
{
  g_autofree char *missing = g_build_filename (g_get_user_state_dir (), "nothing", "here", NULL);
  g_autofree char *file = g_build_filename (g_get_user_state_dir (), "not-a-dir", NULL);
  g_autoptr(GError) error = NULL;
  SyBench *bench;

  /* A first start: defaults, no error, nothing written by loading. */
  bench = bench_new_at (62, missing, night_clock ());
  g_assert_true (sy_bench_load (bench, &error));
  g_assert_no_error (error);
  assert_default_relays (bench);
  g_assert_false (g_file_test (missing, G_FILE_TEST_EXISTS));
  g_assert_finalize_object (bench);

  /* A state directory that cannot be read is an error. */
  write_state (g_get_user_state_dir (), "not-a-dir", "x");
  bench = bench_new_at (63, file, night_clock ());
  g_assert_false (sy_bench_load (bench, &error));
  g_assert_nonnull (error);
  g_assert_finalize_object (bench);
}

/* Loading removes the temporaries of an interrupted save, but not one so
 * fresh that another instance on the same directory may be saving. */
static void
test_persist_stale_temporaries (void)
{
  g_autofree char *dir = g_build_filename (g_get_user_state_dir (), "stale-temporaries", NULL);
  g_autofree char *old = g_build_filename (dir, "relays.json.A1B2C3", NULL);
  g_autofree char *fresh = g_build_filename (dir, "secret.json.D4E5F6", NULL);
  g_autofree char *other = g_build_filename (dir, "notes.txt.G7H8I9", NULL);
  g_autoptr(SyBench) bench = NULL;
  g_autoptr(GError) error = NULL;
  struct utimbuf long_ago = { time (NULL) - 3600, time (NULL) - 3600 };

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_assert_true (g_file_set_contents (old, "{", -1, NULL));
  g_assert_true (g_file_set_contents (fresh, "{", -1, NULL));
  g_assert_true (g_file_set_contents (other, "x", -1, NULL));
  g_assert_cmpint (g_utime (old, &long_ago), ==, 0);
  g_assert_cmpint (g_utime (other, &long_ago), ==, 0);

  bench = bench_new_at (75, dir, night_clock ());
  g_assert_true (sy_bench_load (bench, &error));
  g_assert_no_error (error);
  g_assert_false (g_file_test (old, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_test (fresh, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_test (other, G_FILE_TEST_EXISTS));
}

/* Mirror mode: the test stands where the uplink would (the real uplink is
 * tested end to end in tests/wire/test_uplink.py). */
typedef struct
{
  guint          calls;
  SyRelayCommand last;
  char           name[64];
  SyRelayDone    done;
  gpointer       done_data;
  gboolean       refuse;
} Upstream;

static gboolean
upstream_forward (SyBench              *bench,
                  const SyRelayCommand *command,
                  SyRelayDone           done,
                  gpointer              done_data,
                  gpointer              user_data,
                  GError              **error)
{
  Upstream *upstream = user_data;

  upstream->calls++;
  upstream->last = *command;
  g_strlcpy (upstream->name, command->name ? command->name : "", sizeof upstream->name);
  upstream->last.name = upstream->name;
  upstream->done = done;
  upstream->done_data = done_data;

  if (upstream->refuse)
    {
      g_set_error_literal (error, SY_BENCH_ERROR, SY_BENCH_ERROR_FORBIDDEN, "view only");
      return FALSE;
    }

  return TRUE;
}

static void
count_links (SyBench *bench,
             guint   *count)
{
  (*count)++;
}

static void
count_readings (SyBench         *bench,
                const SyReading *reading,
                guint           *count)
{
  (*count)++;
}

static SyRelayState
remote_state (const char *name,
              gboolean    on)
{
  SyRelayState state = { 0 };

  state.name = name;
  state.on = on;
  state.target = on;
  state.safe_default = -1;
  state.changed_ms = 1234;
  state.available = TRUE;

  return state;
}

/* The bench's own state is kept aside while it mirrors and comes back. */
static void
test_mirror_enter_leave (void)
{
  g_autofree char *dir = g_build_filename (g_get_user_state_dir (), "mirror-enter-leave", NULL);
  g_autoptr(SyBench) bench = bench_new_at (71, dir, night_clock ());
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) t = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GArray) v = g_array_new (FALSE, FALSE, sizeof (double));
  Upstream upstream = { 0 };
  SyRelayState remote = remote_state ("Remote lamp", FALSE);
  Recorder recorder;
  guint links = 0;
  Done done = { 0 };
  double own_temperature;
  guint own_points;

  sy_bench_set_actuation_delay (bench, FAST_ACTUATION_MS);
  sy_bench_start (bench);
  g_assert_true (sy_bench_relay_set (bench, SY_RELAY_LAMP, TRUE, done_cb, &done, &error));
  g_assert_no_error (error);
  WAIT_UNTIL (done.calls == 1, 5000);
  g_assert_true (sy_bench_relay_rename (bench, SY_RELAY_LAMP, "Desk lamp", &error));
  sy_bench_step (bench, 5000);
  sy_bench_stop (bench);
  own_temperature = sy_bench_get_reading (bench)->values[SY_SENSOR_TEMPERATURE];
  sy_bench_get_history (bench, SY_SENSOR_TEMPERATURE, 3600, t, v);
  own_points = t->len;
  g_assert_cmpuint (own_points, >, 0);
  g_assert_true (sy_bench_get_relay (bench, SY_RELAY_LAMP)->available);
  g_assert_false (sy_bench_is_mirror (bench));

  record_relays (bench, &recorder);
  g_signal_connect (bench, "link-changed", G_CALLBACK (count_links), &links);

  /* Mirroring: nothing is available or fresh until the upstream says so,
   * and the observers are told. */
  sy_bench_set_mirror (bench, upstream_forward, &upstream);
  g_assert_true (sy_bench_is_mirror (bench));
  g_assert_cmpuint (links, ==, 1);
  g_assert_cmpuint (recorder.n_events, ==, SY_BENCH_N_RELAYS);
  for (guint i = 0; i < SY_BENCH_N_RELAYS; i++)
    {
      g_assert_false (sy_bench_get_relay (bench, i)->available);
      g_assert_nonnull (find_event (&recorder, i, "unavailable"));
    }
  for (guint i = 0; i < SY_BENCH_N_SENSORS; i++)
    g_assert_true (sy_bench_get_reading (bench)->stale[i]);

  sy_bench_mirror_relay (bench, SY_RELAY_LAMP, &remote, "resync");
  g_assert_cmpstr (sy_bench_get_relay (bench, SY_RELAY_LAMP)->name, ==, "Remote lamp");
  g_assert_false (sy_bench_get_relay (bench, SY_RELAY_LAMP)->on);
  g_assert_true (sy_bench_get_relay (bench, SY_RELAY_LAMP)->available);
  g_assert_nonnull (find_event (&recorder, SY_RELAY_LAMP, "resync"));

  /* A mirror saves nothing: the state files keep the bench's own. */
  sy_bench_start (bench);
  spin (100);
  sy_bench_stop (bench);

  /* Back: the bench's own relays, names, readings and history. */
  sy_bench_set_mirror (bench, NULL, NULL);
  g_assert_false (sy_bench_is_mirror (bench));
  g_assert_cmpstr (sy_bench_get_relay (bench, SY_RELAY_LAMP)->name, ==, "Desk lamp");
  g_assert_true (sy_bench_get_relay (bench, SY_RELAY_LAMP)->on);
  g_assert_true (sy_bench_get_relay (bench, SY_RELAY_LAMP)->available);
  g_assert_cmpfloat (sy_bench_get_reading (bench)->values[SY_SENSOR_TEMPERATURE], ==, own_temperature);
  g_array_set_size (t, 0);
  g_array_set_size (v, 0);
  sy_bench_get_history (bench, SY_SENSOR_TEMPERATURE, 3600, t, v);
  g_assert_cmpuint (t->len, ==, own_points);
  g_assert_nonnull (find_event (&recorder, SY_RELAY_LAMP, "load"));
  g_assert_cmpuint (links, ==, 2);

  {
    g_autoptr(SyBench) reloaded = bench_new_at (71, dir, night_clock ());

    g_assert_true (sy_bench_load (reloaded, &error));
    g_assert_no_error (error);
    g_assert_cmpstr (sy_bench_get_relay (reloaded, SY_RELAY_LAMP)->name, ==, "Desk lamp");
    g_assert_true (sy_bench_get_relay (reloaded, SY_RELAY_LAMP)->on);
  }

  done_clear (&done);
}

/* Commands go to the forward function, as they were given; refusals that
 * need no upstream come at once. */
static void
test_mirror_commands (void)
{
  g_autoptr(SyBench) bench = bench_new_at (72, NULL, night_clock ());
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) answer = NULL;
  Upstream upstream = { 0 };
  SyRelayState remote = remote_state ("Siren", FALSE);
  Done done = { 0 };

  /* Not a mirror: there is nowhere to forward to. */
  {
    SyRelayCommand set = { SY_RELAY_COMMAND_SET, SY_RELAY_SIREN, TRUE, 0, NULL };

    g_assert_false (sy_bench_mirror_forward (bench, &set, done_cb, &done, &error));
    g_assert_error (error, SY_BENCH_ERROR, SY_BENCH_ERROR_INVALID);
    g_clear_error (&error);
  }

  sy_bench_set_mirror (bench, upstream_forward, &upstream);
  sy_bench_start (bench);

  /* Unavailable: refused without asking upstream. */
  g_assert_false (sy_bench_relay_set (bench, SY_RELAY_SIREN, TRUE, done_cb, &done, &error));
  g_assert_error (error, SY_BENCH_ERROR, SY_BENCH_ERROR_UNAVAILABLE);
  g_assert_nonnull (strstr (error->message, "not connected"));
  g_clear_error (&error);
  g_assert_cmpuint (upstream.calls, ==, 0);

  sy_bench_mirror_relay (bench, SY_RELAY_SIREN, &remote, "resync");

  g_assert_true (sy_bench_relay_set (bench, SY_RELAY_SIREN, TRUE, done_cb, &done, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (upstream.calls, ==, 1);
  g_assert_cmpint (upstream.last.type, ==, SY_RELAY_COMMAND_SET);
  g_assert_cmpuint (upstream.last.relay, ==, SY_RELAY_SIREN);
  g_assert_true (upstream.last.on);
  /* The mirror does not switch anything itself: it waits for the upstream. */
  g_assert_false (sy_bench_get_relay (bench, SY_RELAY_SIREN)->pending);
  g_assert_cmpuint (done.calls, ==, 0);
  answer = g_error_new_literal (SY_BENCH_ERROR, SY_BENCH_ERROR_INTERLOCK, "upstream says no");
  upstream.done (bench, SY_RELAY_SIREN, answer, upstream.done_data);
  g_assert_cmpuint (done.calls, ==, 1);
  g_assert_error (done.error, SY_BENCH_ERROR, SY_BENCH_ERROR_INTERLOCK);

  g_assert_true (sy_bench_relay_toggle (bench, SY_RELAY_SIREN, NULL, NULL, &error));
  g_assert_cmpint (upstream.last.type, ==, SY_RELAY_COMMAND_TOGGLE);
  g_assert_true (sy_bench_relay_pulse (bench, SY_RELAY_SIREN, 250, NULL, NULL, &error));
  g_assert_cmpint (upstream.last.type, ==, SY_RELAY_COMMAND_PULSE);
  g_assert_cmpuint (upstream.last.ms, ==, 250);
  /* A bad pulse is refused here, before it goes anywhere. */
  g_assert_false (sy_bench_relay_pulse (bench, SY_RELAY_SIREN, 1, NULL, NULL, &error));
  g_assert_error (error, SY_BENCH_ERROR, SY_BENCH_ERROR_INVALID);
  g_clear_error (&error);
  {
    SyRelayCommand rename = { SY_RELAY_COMMAND_RENAME, SY_RELAY_SIREN, FALSE, 0, "Horn" };

    g_assert_true (sy_bench_mirror_forward (bench, &rename, NULL, NULL, &error));
    g_assert_cmpint (upstream.last.type, ==, SY_RELAY_COMMAND_RENAME);
    g_assert_cmpstr (upstream.last.name, ==, "Horn");
  }
  g_assert_cmpuint (upstream.calls, ==, 4);

  /* The forward function's own refusal comes back as it is. */
  upstream.refuse = TRUE;
  g_assert_false (sy_bench_relay_set (bench, SY_RELAY_SIREN, FALSE, NULL, NULL, &error));
  g_assert_error (error, SY_BENCH_ERROR, SY_BENCH_ERROR_FORBIDDEN);
  g_clear_error (&error);

  /* Renaming in place and faults belong upstream. */
  g_assert_false (sy_bench_relay_rename (bench, SY_RELAY_SIREN, "Horn", &error));
  g_assert_error (error, SY_BENCH_ERROR, SY_BENCH_ERROR_FORBIDDEN);
  g_clear_error (&error);
  sy_bench_relay_set_stuck (bench, SY_RELAY_SIREN, TRUE);
  g_assert_false (sy_bench_get_relay (bench, SY_RELAY_SIREN)->stuck);
  sy_bench_relay_set_max_on (bench, SY_RELAY_SIREN, 5);
  g_assert_cmpuint (sy_bench_get_relay (bench, SY_RELAY_SIREN)->max_on_ms, ==, 0);

  sy_bench_stop (bench);
  sy_bench_set_mirror (bench, NULL, NULL);
  done_clear (&done);
}

/* A lost link makes the available relays unavailable, once each; the
 * link-changed signal comes with every change of link or chain only. */
static void
test_mirror_link (void)
{
  g_autoptr(SyBench) bench = bench_new_at (73, NULL, night_clock ());
  const char * const chain[] = { "b", "a", NULL };
  Upstream upstream = { 0 };
  SyRelayState remote = remote_state ("Fan", TRUE);
  Recorder recorder;
  guint links = 0;
  guint unavailable = 0;

  sy_bench_set_mirror (bench, upstream_forward, &upstream);
  record_relays (bench, &recorder);
  g_signal_connect (bench, "link-changed", G_CALLBACK (count_links), &links);

  sy_bench_mirror_relay (bench, SY_RELAY_FAN, &remote, "resync");
  sy_bench_mirror_set_link (bench, TRUE, chain);
  g_assert_cmpuint (links, ==, 1);
  g_assert_cmpstrv (sy_bench_get_chain (bench), chain);
  sy_bench_mirror_set_link (bench, TRUE, chain);
  g_assert_cmpuint (links, ==, 1);

  recorder.n_events = 0;
  sy_bench_mirror_set_link (bench, FALSE, NULL);
  g_assert_cmpuint (links, ==, 2);
  g_assert_cmpuint (g_strv_length ((char **) sy_bench_get_chain (bench)), ==, 0);
  for (guint i = 0; i < recorder.n_events; i++)
    if (g_str_equal (recorder.events[i].reason, "unavailable"))
      unavailable++;
  /* Only the fan was available. */
  g_assert_cmpuint (unavailable, ==, 1);
  g_assert_false (sy_bench_get_relay (bench, SY_RELAY_FAN)->available);
  /* It keeps the last state the upstream confirmed. */
  g_assert_true (sy_bench_get_relay (bench, SY_RELAY_FAN)->on);
  for (guint i = 0; i < SY_BENCH_N_SENSORS; i++)
    g_assert_true (sy_bench_get_reading (bench)->stale[i]);

  sy_bench_set_mirror (bench, NULL, NULL);
}

/* Readings are taken as they come, with a history point per second; the
 * upstream's history replaces the mirror's own points where it has some. */
static void
test_mirror_readings_and_history (void)
{
  g_autoptr(SyBench) bench = bench_new_at (74, NULL, night_clock ());
  g_autoptr(GArray) t = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GArray) v = g_array_new (FALSE, FALSE, sizeof (double));
  const gint64 base = night_clock ();
  const gint64 upstream_t[] = { base - 2000, base - 1000, base };
  const double upstream_v[] = { 1.0, 2.0, 3.0 };
  Upstream upstream = { 0 };
  SyReading reading = { 0 };
  guint readings = 0;

  sy_bench_set_mirror (bench, upstream_forward, &upstream);
  g_signal_connect (bench, "reading", G_CALLBACK (count_readings), &readings);

  /* Four readings over two seconds: one point per second. */
  for (guint k = 0; k < 4; k++)
    {
      reading.seq = 100 + k;
      reading.t_ms = base + 1000 + 500 * k;
      for (guint i = 0; i < SY_BENCH_N_SENSORS; i++)
        reading.values[i] = 10.0 + k;
      reading.stale[SY_SENSOR_LIGHT] = TRUE;
      sy_bench_mirror_reading (bench, &reading);
    }
  g_assert_cmpuint (readings, ==, 4);
  g_assert_cmpuint (sy_bench_get_reading (bench)->seq, ==, 103);
  g_assert_cmpint (sy_bench_get_reading (bench)->t_ms, ==, base + 2500);
  sy_bench_get_history (bench, SY_SENSOR_TEMPERATURE, 3600, t, v);
  g_assert_cmpuint (t->len, ==, 2);
  g_assert_cmpint (g_array_index (t, gint64, 0), ==, base + 1000);
  g_assert_cmpfloat (g_array_index (v, double, 0), ==, 10.0);
  g_assert_cmpint (g_array_index (t, gint64, 1), ==, base + 2000);
  g_assert_cmpfloat (g_array_index (v, double, 1), ==, 12.0);
  /* A stale sensor records nothing. */
  g_array_set_size (t, 0);
  g_array_set_size (v, 0);
  sy_bench_get_history (bench, SY_SENSOR_LIGHT, 3600, t, v);
  g_assert_cmpuint (t->len, ==, 0);

  /* The upstream's points up to `base`; the mirror's newer ones stay. */
  sy_bench_mirror_history (bench, SY_SENSOR_TEMPERATURE, upstream_t, upstream_v, 3);
  g_array_set_size (t, 0);
  g_array_set_size (v, 0);
  sy_bench_get_history (bench, SY_SENSOR_TEMPERATURE, 3600, t, v);
  g_assert_cmpuint (t->len, ==, 5);
  for (guint k = 0; k < 3; k++)
    {
      g_assert_cmpint (g_array_index (t, gint64, k), ==, upstream_t[k]);
      g_assert_cmpfloat (g_array_index (v, double, k), ==, upstream_v[k]);
    }
  g_assert_cmpint (g_array_index (t, gint64, 3), ==, base + 1000);

  /* A later answer replaces the overlap. */
  {
    const gint64 later_t[] = { base + 1000 };
    const double later_v[] = { 42.0 };

    sy_bench_mirror_history (bench, SY_SENSOR_TEMPERATURE, later_t, later_v, 1);
    g_array_set_size (t, 0);
    g_array_set_size (v, 0);
    sy_bench_get_history (bench, SY_SENSOR_TEMPERATURE, 3600, t, v);
    g_assert_cmpuint (t->len, ==, 5);
    g_assert_cmpfloat (g_array_index (v, double, 3), ==, 42.0);
    g_assert_cmpfloat (g_array_index (v, double, 4), ==, 12.0);
  }

  sy_bench_set_mirror (bench, NULL, NULL);
}

int
main (int   argc,
      char *argv[])
{
  sy_test_init (&argc, &argv);

  g_test_add_func ("/core/bench/sensors/specs", test_specs);
  g_test_add_func ("/core/bench/sensors/deterministic", test_deterministic);
  g_test_add_func ("/core/bench/sensors/heater", test_heater);
  g_test_add_func ("/core/bench/sensors/cooler", test_cooler);
  g_test_add_func ("/core/bench/sensors/fan", test_fan);
  g_test_add_func ("/core/bench/sensors/lamp", test_lamp);
  g_test_add_func ("/core/bench/sensors/pump", test_pump);
  g_test_add_func ("/core/bench/sensors/large-step", test_large_step);
  g_test_add_func ("/core/bench/sensors/history", test_history);
  g_test_add_func ("/core/bench/sensors/dropout", test_dropout);
  g_test_add_func ("/core/bench/relay/sequence", test_relay_sequence);
  g_test_add_func ("/core/bench/relay/interlock", test_relay_interlock);
  g_test_add_func ("/core/bench/relay/concurrent", test_relay_concurrent);
  g_test_add_func ("/core/bench/relay/toggle", test_relay_toggle);
  g_test_add_func ("/core/bench/relay/never-synchronous", test_relay_never_synchronous);
  g_test_add_func ("/core/bench/relay/max-on", test_relay_max_on);
  g_test_add_func ("/core/bench/relay/pulse", test_relay_pulse);
  g_test_add_func ("/core/bench/relay/pulse-invalid", test_relay_pulse_invalid);
  g_test_add_func ("/core/bench/relay/stuck", test_relay_stuck);
  g_test_add_func ("/core/bench/relay/rename", test_relay_rename);
  g_test_add_func ("/core/bench/relay/not-found", test_relay_not_found);
  g_test_add_func ("/core/bench/run/tick", test_run_tick);
  g_test_add_func ("/core/bench/run/catch-up", test_run_catch_up);
  g_test_add_func ("/core/bench/run/stop-cancels", test_run_stop_cancels);
  g_test_add_func ("/core/bench/run/no-sources-left", test_run_no_sources_left);
  g_test_add_func ("/core/bench/persist/round-trip", test_persist_round_trip);
  g_test_add_func ("/core/bench/persist/corrupt", test_persist_corrupt);
  g_test_add_func ("/core/bench/persist/interlock", test_persist_interlock);
  g_test_add_func ("/core/bench/persist/missing-and-unreadable",
                   test_persist_missing_and_unreadable);
  g_test_add_func ("/core/bench/persist/stale-temporaries", test_persist_stale_temporaries);
  g_test_add_func ("/core/bench/mirror/enter-leave", test_mirror_enter_leave);
  g_test_add_func ("/core/bench/mirror/commands", test_mirror_commands);
  g_test_add_func ("/core/bench/mirror/link", test_mirror_link);
  g_test_add_func ("/core/bench/mirror/readings-and-history", test_mirror_readings_and_history);

  return g_test_run ();
}
