/* sy-bench.c
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "sy-bench"

#include "config.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>
#include <time.h>

#include "sy-bench.h"
#include "sy-json.h"
#include "sy-source.h"

/*
 * SyBench is the simulated test bench: six sensors and eight relays.
 *
 * Two clocks drive it, on purpose:
 *
 *  - The sensors live on the bench clock (milliseconds since the epoch),
 *    which only moves in sy_bench_step(). The tick source of
 *    sy_bench_start() steps it by the real elapsed time, so in the app it
 *    follows the wall clock; tests step it by hours in a few milliseconds.
 *    Everything the sensors do depends only on the seed, the clock, the
 *    sequence of steps and the confirmed relay states, so two benches fed
 *    the same way read bit-identical values.
 *
 *  - The relays live on real time: the actuation delay, the command
 *    timeout, the end of a pulse and the maximum on-time are GSources on
 *    the bench's main context, whether or not the bench is started. A
 *    protection limit has to hold even when nobody steps the sensors, and a
 *    heater left on for thirty simulated minutes by a test is not a heater
 *    left on for thirty real ones.
 *
 * The bench belongs to one main context: the thread-default context of the
 * thread that created it, or that of the thread that last started it. Its
 * sources attach there, its signals and done callbacks are emitted there,
 * and it must only be used from that thread.
 *
 * The sensor model, per internal step of at most 100 ms:
 *
 *  - Room temperature relaxes (exactly, by exponential decay) toward an
 *    equilibrium: the ambient temperature of the time of day, plus 12 K
 *    with the heater, minus 10 K with the cooler. The fan triples the heat
 *    exchange with the surroundings, which pulls the room toward ambient
 *    faster and shrinks what the heater and cooler can do.
 *  - Relative humidity follows a daily cycle, drops by 2 % per kelvin the
 *    room is above ambient, and by 15 % more with the fan, which also makes
 *    it settle faster.
 *  - Pressure follows the semi-diurnal atmospheric tide plus weather.
 *  - Light is daylight (none at night) under drifting clouds, plus the
 *    lamp's 800 lx, reached within a second.
 *  - Load current is the sum of the confirmed loads; the supply sags by
 *    0.15 V per ampere from 12.8 V, and the running pump adds a further sag
 *    and ripple.
 *
 * Slow random influences are Ornstein-Uhlenbeck walks (mean-reverting, and
 * advanced exactly, so any step length is stable); each published value
 * adds gaussian measurement noise. Steps far enough in the past that they
 * can no longer reach the history are taken coarsely, so stepping a bench
 * by days stays cheap.
 */

#define FINE_STEP_MS       ((gint64) 100)
#define COARSE_STEP_MS     ((gint64) 10000)
#define COARSE_HORIZON_MS  ((gint64) (SY_BENCH_HISTORY_SECONDS + 2) * 1000)
#define MS_PER_DAY         ((gint64) 24 * 3600 * 1000)
#define SECONDS_PER_DAY    (24.0 * 3600.0)
#define AUTOSAVE_SECONDS   10
#define STATE_VERSION      1
#define RESTORE_WINDOW_MS  ((gint64) 3600 * 1000)
#define RESUME_WINDOW_MS   ((gint64) 5 * 60 * 1000)

/* Room air: heat exchange with the surroundings, per second. */
#define ROOM_RATE          (1.0 / 900.0)
#define ROOM_RATE_FAN      (3.0 / 900.0)
#define HEATER_RISE_K      12.0
#define COOLER_DROP_K      10.0

#define HUMIDITY_RATE      (1.0 / 900.0)
#define HUMIDITY_RATE_FAN  (1.0 / 300.0)
#define RH_PER_KELVIN      2.0
#define FAN_DRYING_PCT     15.0

#define LAMP_LX            800.0
#define LAMP_TAU_S         0.4
#define DAYLIGHT_LX        400.0

#define SUPPLY_V           12.8
#define SAG_V_PER_A        0.15
#define PUMP_SAG_V         0.25
#define PUMP_TAU_S         1.5
#define PUMP_RIPPLE_V      0.06
#define PUMP_RIPPLE_A      0.06
#define STANDBY_A          0.05
#define CURRENT_TAU_S      0.3

enum {
  WALK_TEMPERATURE,
  WALK_HUMIDITY,
  WALK_PRESSURE,
  WALK_CLOUDS,
  WALK_VOLTAGE,
  N_WALKS
};

static const struct
{
  double tau_s;
  double sigma;
} walk_params[N_WALKS] = {
  [WALK_TEMPERATURE] = {  1200.0, 0.4 },
  [WALK_HUMIDITY]    = {   900.0, 2.0 },
  [WALK_PRESSURE]    = { 10800.0, 3.0 },
  [WALK_CLOUDS]      = {   900.0, 0.2 },
  [WALK_VOLTAGE]     = {   120.0, 0.03 },
};

/* One draw per sensor, plus one for the pump's ripple. */
#define NOISE_RIPPLE SY_BENCH_N_SENSORS
#define N_NOISE      (SY_BENCH_N_SENSORS + 1)

static const double measurement_noise[SY_BENCH_N_SENSORS] = {
  [SY_SENSOR_TEMPERATURE] = 0.05,
  [SY_SENSOR_HUMIDITY]    = 0.4,
  [SY_SENSOR_PRESSURE]    = 0.08,
  [SY_SENSOR_LIGHT]       = 2.0,
  [SY_SENSOR_VOLTAGE]     = 0.01,
  [SY_SENSOR_CURRENT]     = 0.01,
};

static const SySensorSpec sensor_specs[SY_BENCH_N_SENSORS] = {
  [SY_SENSOR_TEMPERATURE] = { "temperature", "Room temperature",  "°C",  -10.0,   50.0 },
  [SY_SENSOR_HUMIDITY]    = { "humidity",    "Relative humidity", "%",     0.0,  100.0 },
  [SY_SENSOR_PRESSURE]    = { "pressure",    "Air pressure",      "hPa", 950.0, 1050.0 },
  [SY_SENSOR_LIGHT]       = { "light",       "Light level",       "lx",    0.0, 2000.0 },
  [SY_SENSOR_VOLTAGE]     = { "voltage",     "Supply voltage",    "V",    10.0,   14.0 },
  [SY_SENSOR_CURRENT]     = { "current",     "Load current",      "A",     0.0,   10.0 },
};

static const struct
{
  const char *id;
  const char *name;
  guint       max_on_ms;
  int         interlock;
  double      draw_a;
} relay_defaults[SY_BENCH_N_RELAYS] = {
  [SY_RELAY_HEATER] = { "heater", "Heater",          600000, SY_RELAY_COOLER, 4.0 },
  [SY_RELAY_FAN]    = { "fan",    "Circulation fan",      0, -1,              0.6 },
  [SY_RELAY_LAMP]   = { "lamp",   "Lamp",                 0, -1,              0.5 },
  [SY_RELAY_PUMP]   = { "pump",   "Water pump",      120000, -1,              2.5 },
  [SY_RELAY_COOLER] = { "cooler", "Cooler",          600000, SY_RELAY_HEATER, 3.0 },
  [SY_RELAY_VALVE]  = { "valve",  "Valve",                0, -1,              0.3 },
  [SY_RELAY_SIREN]  = { "siren",  "Siren",            30000, -1,              0.2 },
  [SY_RELAY_AUX]    = { "aux",    "Auxiliary",            0, -1,              0.1 },
};

typedef struct
{
  SyRelayDone done;
  gpointer    user_data;
} Waiter;

typedef struct
{
  /* Borrowed */
  SyBench      *bench;

  /* Owned */
  char         *name;
  GArray       *waiters;
  GSource      *actuation;
  GSource      *timeout;
  GSource      *pulse_end;
  GSource      *max_on;

  /* The public view; its name points at @name. */
  SyRelayState  state;
  /* A pulse waiting for its ON confirmation, in ms. */
  guint         pulse_ms;
  /* Monotonic µs of the last OFF→ON confirmation. */
  gint64        on_since;
  /* Monotonic µs at which a running pulse ends, or 0. */
  gint64        pulse_end_at;
} Relay;

typedef struct
{
  gint64 t[SY_BENCH_HISTORY_SECONDS];
  double v[SY_BENCH_HISTORY_SECONDS];
  guint  head;
  guint  len;
} History;

typedef struct
{
  double room_c;
  double humidity;
  double lamp_lx;
  double pump_level;
  double current_a;
  double walk[N_WALKS];
} Model;

/* What a bench that starts mirroring keeps of its own, to have it back
 * when it stops. */
typedef struct
{
  SyRelayState  states[SY_BENCH_N_RELAYS];
  char         *names[SY_BENCH_N_RELAYS];
  History       history[SY_BENCH_N_SENSORS];
  SyReading     reading;
  gint64        clock_ms;
} LocalState;

struct _SyBench
{
  GObject       parent_instance;

  /* Owned */
  char         *state_dir;
  GRand        *rand;
  GMainContext *context;
  GSource      *tick;
  GSource      *autosave;
  History      *history;

  Relay         relays[SY_BENCH_N_RELAYS];
  Model         model;
  SyReading     reading;
  gint64        fresh_ms[SY_BENCH_N_SENSORS];
  gboolean      dropout[SY_BENCH_N_SENSORS];
  gint64        clock_ms;
  gint64        utc_offset_ms;
  gint64        last_tick_us;
  double        spare_gauss;
  guint         tick_hz;
  guint         actuation_ms;
  guint         timeout_ms;
  /* Mirror mode: see sy_bench_set_mirror() */
  SyBenchForward forward;
  gpointer      forward_data;
  LocalState   *local;
  GStrv         chain;

  guint         has_spare_gauss : 1;
  guint         link_up : 1;
  guint         running : 1;
  guint         stopped : 1;
  guint         disposed : 1;
  guint         save_failed : 1;
};

G_DEFINE_FINAL_TYPE (SyBench, sy_bench, G_TYPE_OBJECT)

/**
 * sy_bench_error_quark:
 *
 * Returns: the error domain of the bench, `SyBenchError`
 */
G_DEFINE_QUARK (sy-bench-error-quark, sy_bench_error)

enum {
  READING,
  RELAY_CHANGED,
  LINK_CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static gint64
floor_div (gint64 a,
           gint64 b)
{
  gint64 q = a / b;

  if ((a % b != 0) && ((a < 0) != (b < 0)))
    q--;

  return q;
}

static gint64
floor_mod (gint64 a,
           gint64 b)
{
  return a - floor_div (a, b) * b;
}

/* Exact first-order relaxation of @value toward @target after @rate_dt
 * time constants: stable for any step length. */
static double
relax (double value,
       double target,
       double rate_dt)
{
  return target + (value - target) * exp (-rate_dt);
}

static GSource *
bench_add_timeout (SyBench     *self,
                   guint        ms,
                   GSourceFunc  func,
                   gpointer     data,
                   const char  *name)
{
  return sy_timeout_source_attach (self->context, ms, func, data, name);
}

static guint
ms_until (gint64 deadline_us,
          gint64 now_us)
{
  gint64 ms;

  if (deadline_us <= now_us)
    return 0;

  ms = (deadline_us - now_us + 999) / 1000;

  return (guint) MIN (ms, (gint64) G_MAXUINT);
}

/* Box-Muller on the bench's own GRand, keeping the second value. */
static double
bench_gauss (SyBench *self)
{
  double u1;
  double u2;
  double r;

  if (self->has_spare_gauss)
    {
      self->has_spare_gauss = FALSE;
      return self->spare_gauss;
    }

  /* g_rand_double() may return 0; 1 - u keeps the logarithm finite. */
  u1 = 1.0 - g_rand_double (self->rand);
  u2 = g_rand_double (self->rand);
  r = sqrt (-2.0 * log (u1));

  self->spare_gauss = r * sin (2.0 * G_PI * u2);
  self->has_spare_gauss = TRUE;

  return r * cos (2.0 * G_PI * u2);
}

static gint64
local_offset_ms (gint64 epoch_ms)
{
  g_autoptr(GDateTime) dt = g_date_time_new_from_unix_local (floor_div (epoch_ms, 1000));

  /* Outside GDateTime's years the day simply follows UTC. */
  if (dt == NULL)
    return 0;

  return g_date_time_get_utc_offset (dt) / 1000;
}

/* Seconds since local midnight on the bench clock. The UTC offset is looked
 * up once per step: a step that crosses a DST change is off by an hour for
 * its remainder, which the weather hides. */
static double
bench_time_of_day (SyBench *self)
{
  return (double) floor_mod (self->clock_ms + self->utc_offset_ms, MS_PER_DAY) / 1000.0;
}

static double
daily_cosine (double tod,
              double peak_hour)
{
  return cos (2.0 * G_PI * (tod - peak_hour * 3600.0) / SECONDS_PER_DAY);
}

static double
ambient_temperature (double tod)
{
  return 20.0 + 3.0 * daily_cosine (tod, 15.0);
}

static double
ambient_humidity (double tod)
{
  return 50.0 + 10.0 * daily_cosine (tod, 5.0);
}

/* The semi-diurnal atmospheric tide peaks around 10:00 and 22:00. */
static double
base_pressure (double tod)
{
  return 1013.0 + 0.8 * cos (4.0 * G_PI * (tod - 10.0 * 3600.0) / SECONDS_PER_DAY);
}

static double
daylight_lx (double tod)
{
  double sun = sin (G_PI * (tod - 6.0 * 3600.0) / (12.0 * 3600.0));

  return sun > 0.0 ? DAYLIGHT_LX * sun : 0.0;
}

static gboolean
relay_is_on (SyBench *self,
             SyRelay  relay)
{
  return self->relays[relay].state.on;
}

static double
load_current (SyBench *self)
{
  double sum = STANDBY_A;

  for (guint i = 0; i < SY_BENCH_N_RELAYS; i++)
    {
      if (self->relays[i].state.on)
        sum += relay_defaults[i].draw_a;
    }

  return sum;
}

/* Advances the physical state by @h seconds, coupled to the confirmed
 * relay states. Always draws the same number of random values, so benches
 * whose relays differ still share their weather. */
static void
model_advance (SyBench *self,
               double   h)
{
  Model *m = &self->model;
  double tod = bench_time_of_day (self);
  double ambient = ambient_temperature (tod);
  gboolean fan = relay_is_on (self, SY_RELAY_FAN);
  double room_rate = fan ? ROOM_RATE_FAN : ROOM_RATE;
  double drive = 0.0;
  double room_eq;
  double humidity_eq;

  if (relay_is_on (self, SY_RELAY_HEATER))
    drive += HEATER_RISE_K;
  if (relay_is_on (self, SY_RELAY_COOLER))
    drive -= COOLER_DROP_K;

  /* The heater and cooler put in fixed power; better exchange with the
   * surroundings (the fan) lowers the offset that power can hold. */
  room_eq = ambient + drive * ROOM_RATE / room_rate;
  m->room_c = relax (m->room_c, room_eq, room_rate * h);

  humidity_eq = ambient_humidity (tod) - RH_PER_KELVIN * (m->room_c - ambient);
  if (fan)
    humidity_eq -= FAN_DRYING_PCT;
  humidity_eq = CLAMP (humidity_eq, 0.0, 100.0);
  m->humidity = relax (m->humidity, humidity_eq, (fan ? HUMIDITY_RATE_FAN : HUMIDITY_RATE) * h);

  m->lamp_lx = relax (m->lamp_lx, relay_is_on (self, SY_RELAY_LAMP) ? LAMP_LX : 0.0,
                      h / LAMP_TAU_S);
  m->pump_level = relax (m->pump_level, relay_is_on (self, SY_RELAY_PUMP) ? 1.0 : 0.0,
                         h / PUMP_TAU_S);
  m->current_a = relax (m->current_a, load_current (self), h / CURRENT_TAU_S);

  /* Exact Ornstein-Uhlenbeck update: the stationary spread is sigma
   * whatever the step. */
  for (guint i = 0; i < N_WALKS; i++)
    {
      double decay = exp (-h / walk_params[i].tau_s);

      m->walk[i] = m->walk[i] * decay
                   + walk_params[i].sigma * sqrt (1.0 - decay * decay) * bench_gauss (self);
    }
}

static void
model_measure (SyBench      *self,
               const double  noise[N_NOISE],
               double        values[SY_BENCH_N_SENSORS])
{
  const Model *m = &self->model;
  double tod = bench_time_of_day (self);
  double clouds = CLAMP (1.0 + m->walk[WALK_CLOUDS], 0.1, 1.6);
  double ripple = m->pump_level * noise[NOISE_RIPPLE];

  values[SY_SENSOR_TEMPERATURE] = m->room_c + m->walk[WALK_TEMPERATURE];
  values[SY_SENSOR_HUMIDITY] = m->humidity + m->walk[WALK_HUMIDITY];
  values[SY_SENSOR_PRESSURE] = base_pressure (tod) + m->walk[WALK_PRESSURE];
  values[SY_SENSOR_LIGHT] = daylight_lx (tod) * clouds + m->lamp_lx;
  values[SY_SENSOR_VOLTAGE] = SUPPLY_V + m->walk[WALK_VOLTAGE]
                              - SAG_V_PER_A * m->current_a
                              - PUMP_SAG_V * m->pump_level
                              - PUMP_RIPPLE_V * ripple;
  values[SY_SENSOR_CURRENT] = m->current_a + PUMP_RIPPLE_A * ripple;

  for (guint i = 0; i < SY_BENCH_N_SENSORS; i++)
    {
      double v = values[i] + measurement_noise[i] * noise[i];

      values[i] = CLAMP (v, sensor_specs[i].min, sensor_specs[i].max);
    }
}

static gint64
history_newest (const History *history)
{
  g_assert (history->len > 0);

  return history->t[(history->head + SY_BENCH_HISTORY_SECONDS - 1) % SY_BENCH_HISTORY_SECONDS];
}

static void
history_push (History *history,
              gint64   t_ms,
              double   value)
{
  /* The ring stays ordered: a point never lands behind a newer one. */
  if (history->len > 0 && history_newest (history) >= t_ms)
    return;

  history->t[history->head] = t_ms;
  history->v[history->head] = value;
  history->head = (history->head + 1) % SY_BENCH_HISTORY_SECONDS;
  if (history->len < SY_BENCH_HISTORY_SECONDS)
    history->len++;
}

static void
history_drop_after (History *history,
                    gint64   t_ms)
{
  while (history->len > 0 && history_newest (history) > t_ms)
    {
      history->head = (history->head + SY_BENCH_HISTORY_SECONDS - 1) % SY_BENCH_HISTORY_SECONDS;
      history->len--;
    }
}

static guint
history_slot (const History *history,
              guint          k)
{
  return (history->head + SY_BENCH_HISTORY_SECONDS - history->len + k) % SY_BENCH_HISTORY_SECONDS;
}

/* Measures every sensor now. A sensor in dropout keeps its last value and
 * records nothing: there is no fresh measurement to keep. */
static void
bench_publish (SyBench  *self,
               gboolean  record)
{
  double noise[N_NOISE];
  double values[SY_BENCH_N_SENSORS];

  for (guint i = 0; i < N_NOISE; i++)
    noise[i] = bench_gauss (self);

  model_measure (self, noise, values);

  for (guint i = 0; i < SY_BENCH_N_SENSORS; i++)
    {
      if (self->dropout[i])
        {
          self->reading.stale[i] = self->clock_ms - self->fresh_ms[i] >= SY_BENCH_STALE_AFTER_MS;
          continue;
        }

      self->reading.values[i] = values[i];
      self->reading.stale[i] = FALSE;
      self->fresh_ms[i] = self->clock_ms;

      if (record)
        history_push (&self->history[i], self->clock_ms, values[i]);
    }
}

/* The reading without noise, for a bench that has not stepped yet. */
static void
bench_publish_quiet (SyBench *self)
{
  static const double no_noise[N_NOISE] = { 0 };

  model_measure (self, no_noise, self->reading.values);

  for (guint i = 0; i < SY_BENCH_N_SENSORS; i++)
    {
      self->reading.stale[i] = FALSE;
      self->fresh_ms[i] = self->clock_ms;
    }

  self->reading.t_ms = self->clock_ms;
}

/* Starts the model in the steady state of the time of day. It draws no
 * random numbers, so where a bench was created does not matter, only the
 * clock it is set to. */
static void
bench_prime (SyBench *self)
{
  Model *m = &self->model;
  double tod;

  self->utc_offset_ms = local_offset_ms (self->clock_ms);
  tod = bench_time_of_day (self);

  memset (m, 0, sizeof *m);
  m->room_c = ambient_temperature (tod);
  m->humidity = ambient_humidity (tod);
  m->lamp_lx = relay_is_on (self, SY_RELAY_LAMP) ? LAMP_LX : 0.0;
  m->pump_level = relay_is_on (self, SY_RELAY_PUMP) ? 1.0 : 0.0;
  m->current_a = load_current (self);

  bench_publish_quiet (self);
}

static gboolean
check_relay_index (guint    relay,
                   GError **error)
{
  if (relay < SY_BENCH_N_RELAYS)
    return TRUE;

  g_set_error (error, SY_BENCH_ERROR, SY_BENCH_ERROR_NOT_FOUND,
               "There is no relay number %u", relay);

  return FALSE;
}

/* Returns the name without surrounding whitespace, or %NULL with
 * %SY_BENCH_ERROR_INVALID when it cannot be shown as a relay's label. */
static char *
clean_name (const char  *name,
            GError     **error)
{
  const char *start;
  const char *end;

  if (name == NULL || !g_utf8_validate (name, -1, NULL))
    {
      g_set_error_literal (error, SY_BENCH_ERROR, SY_BENCH_ERROR_INVALID,
                           "A relay name must be valid UTF-8 text");
      return NULL;
    }

  /* g_strstrip() only knows ASCII; names may be padded with any space. */
  start = name;
  while (*start != '\0' && g_unichar_isspace (g_utf8_get_char (start)))
    start = g_utf8_next_char (start);

  end = start + strlen (start);
  while (end > start)
    {
      const char *prev = g_utf8_prev_char (end);

      if (!g_unichar_isspace (g_utf8_get_char (prev)))
        break;

      end = prev;
    }

  if (start == end)
    {
      g_set_error_literal (error, SY_BENCH_ERROR, SY_BENCH_ERROR_INVALID,
                           "A relay name cannot be empty");
      return NULL;
    }

  for (const char *p = start; p < end; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);
      GUnicodeType type = g_unichar_type (c);

      if (g_unichar_iscntrl (c) ||
          type == G_UNICODE_LINE_SEPARATOR ||
          type == G_UNICODE_PARAGRAPH_SEPARATOR)
        {
          g_set_error_literal (error, SY_BENCH_ERROR, SY_BENCH_ERROR_INVALID,
                               "A relay name cannot contain control characters or line breaks");
          return NULL;
        }
    }

  if (g_utf8_strlen (start, end - start) > SY_BENCH_NAME_MAX_CHARS)
    {
      g_set_error (error, SY_BENCH_ERROR, SY_BENCH_ERROR_INVALID,
                   "A relay name can have at most %d characters", SY_BENCH_NAME_MAX_CHARS);
      return NULL;
    }

  return g_strndup (start, end - start);
}

static gboolean
bench_write_file (SyBench     *self,
                  const char  *basename,
                  const char  *contents,
                  gsize        length,
                  GError     **error)
{
  g_autofree char *path = NULL;

  if (g_mkdir_with_parents (self->state_dir, 0700) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved_errno),
                   "Could not create %s: %s", self->state_dir, g_strerror (saved_errno));
      return FALSE;
    }

  path = g_build_filename (self->state_dir, basename, NULL);

  return g_file_set_contents_full (path, contents, length,
                                   G_FILE_SET_CONTENTS_CONSISTENT, 0600, error);
}

static gboolean
bench_write_json (SyBench      *self,
                  const char   *basename,
                  JsonBuilder  *builder,
                  gboolean      pretty,
                  GError      **error)
{
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = json_builder_get_root (builder);
  g_autofree char *text = NULL;
  gsize length;

  json_generator_set_pretty (generator, pretty);
  json_generator_set_root (generator, root);
  text = json_generator_to_data (generator, &length);

  return bench_write_file (self, basename, text, length, error);
}

static gboolean
bench_save_relays (SyBench  *self,
                   GError  **error)
{
  g_autoptr(JsonBuilder) builder = NULL;

  if (self->state_dir == NULL)
    return TRUE;

  builder = json_builder_new ();
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "version");
  json_builder_add_int_value (builder, STATE_VERSION);
  json_builder_set_member_name (builder, "relays");
  json_builder_begin_array (builder);
  for (guint i = 0; i < SY_BENCH_N_RELAYS; i++)
    {
      const SyRelayState *state = &self->relays[i].state;

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "id");
      json_builder_add_string_value (builder, state->id);
      json_builder_set_member_name (builder, "name");
      json_builder_add_string_value (builder, state->name);
      json_builder_set_member_name (builder, "on");
      /* A pulse is on for a moment only: if the process ends in the middle
       * of one, the relay must not come back on for good. */
      json_builder_add_boolean_value (builder, state->on && self->relays[i].pulse_end_at == 0);
      json_builder_set_member_name (builder, "safe_default");
      json_builder_add_int_value (builder, state->safe_default);
      json_builder_set_member_name (builder, "max_on_ms");
      json_builder_add_int_value (builder, state->max_on_ms);
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
  json_builder_end_object (builder);

  return bench_write_json (self, "relays.json", builder, TRUE, error);
}

static gboolean
bench_save_history (SyBench  *self,
                    GError  **error)
{
  g_autoptr(JsonBuilder) builder = NULL;

  if (self->state_dir == NULL)
    return TRUE;

  builder = json_builder_new ();
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "version");
  json_builder_add_int_value (builder, STATE_VERSION);
  json_builder_set_member_name (builder, "sensors");
  json_builder_begin_object (builder);
  for (guint i = 0; i < SY_BENCH_N_SENSORS; i++)
    {
      const History *history = &self->history[i];

      json_builder_set_member_name (builder, sensor_specs[i].id);
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "t");
      json_builder_begin_array (builder);
      for (guint k = 0; k < history->len; k++)
        json_builder_add_int_value (builder, history->t[history_slot (history, k)]);
      json_builder_end_array (builder);
      json_builder_set_member_name (builder, "v");
      json_builder_begin_array (builder);
      for (guint k = 0; k < history->len; k++)
        json_builder_add_double_value (builder, history->v[history_slot (history, k)]);
      json_builder_end_array (builder);
      json_builder_end_object (builder);
    }
  json_builder_end_object (builder);
  json_builder_end_object (builder);

  /* An hour of samples: compact. */
  return bench_write_json (self, "history.json", builder, FALSE, error);
}

/* Saving from a timer or a confirmation has nobody to report to: log the
 * first failure of a streak, not one line every ten seconds. */
static void
bench_report_save (SyBench      *self,
                   gboolean      ok,
                   const GError *error)
{
  if (ok)
    self->save_failed = FALSE;
  else if (!self->save_failed)
    {
      self->save_failed = TRUE;
      g_warning ("Could not save the bench state in %s: %s", self->state_dir, error->message);
    }
}

static void
bench_save_relays_quietly (SyBench *self)
{
  g_autoptr(GError) error = NULL;
  gboolean ok;

  ok = bench_save_relays (self, &error);
  bench_report_save (self, ok, error);
}

static void
relay_emit (SyBench    *self,
            Relay      *r,
            const char *reason)
{
  g_signal_emit (self, signals[RELAY_CHANGED], 0, r->state.index, reason);
}

/* Emits the change, then answers every waiting command with @error. The
 * waiters are taken first: a callback may well send the next command. */
static void
relay_answer (SyBench      *self,
              Relay        *r,
              const GError *error,
              const char   *reason)
{
  g_autoptr(GArray) waiters = g_steal_pointer (&r->waiters);

  r->waiters = g_array_new (FALSE, FALSE, sizeof (Waiter));

  g_object_ref (self);

  relay_emit (self, r, reason);

  for (guint i = 0; i < waiters->len; i++)
    {
      const Waiter *waiter = &g_array_index (waiters, Waiter, i);

      waiter->done (self, r->state.index, error, waiter->user_data);
    }

  g_object_unref (self);
}

/* The device switches the relay off by itself (end of a pulse, maximum
 * on-time): no actuation delay, no command to answer. A command still in
 * flight is retargeted to OFF, so its waiters learn the final state. */
static void
relay_switch_off_now (SyBench    *self,
                      Relay      *r,
                      const char *reason)
{
  sy_clear_source (&r->pulse_end);
  sy_clear_source (&r->max_on);
  r->pulse_end_at = 0;
  r->pulse_ms = 0;
  r->state.on = FALSE;
  r->state.target = FALSE;
  r->state.changed_ms = self->clock_ms;

  bench_save_relays_quietly (self);
  relay_emit (self, r, reason);
}

static gboolean
relay_pulse_end_cb (gpointer data)
{
  Relay *r = data;

  sy_clear_source (&r->pulse_end);
  relay_switch_off_now (r->bench, r, "pulse end");

  return G_SOURCE_REMOVE;
}

static gboolean
relay_max_on_cb (gpointer data)
{
  Relay *r = data;

  sy_clear_source (&r->max_on);
  g_message ("%s (%s) reached its maximum on-time of %u ms; switching it off",
             r->state.name, r->state.id, r->state.max_on_ms);
  relay_switch_off_now (r->bench, r, "max on-time");

  return G_SOURCE_REMOVE;
}

static void
relay_clear_timers (Relay *r)
{
  sy_clear_source (&r->pulse_end);
  sy_clear_source (&r->max_on);
}

/* (Re)arms the pulse end and the maximum on-time of a relay that is on,
 * from deadlines kept in monotonic time, so a bench that is stopped and
 * started again keeps its limits. A stopped bench keeps only the
 * deadlines. */
static void
relay_arm_timers (SyBench *self,
                  Relay   *r)
{
  gint64 now = g_get_monotonic_time ();

  relay_clear_timers (r);

  if (self->stopped || !r->state.on)
    return;

  if (r->pulse_end_at > 0)
    r->pulse_end = bench_add_timeout (self, ms_until (r->pulse_end_at, now),
                                      relay_pulse_end_cb, r, "[sy-bench] pulse end");

  if (r->state.max_on_ms > 0)
    r->max_on = bench_add_timeout (self,
                                   ms_until (r->on_since + (gint64) r->state.max_on_ms * 1000, now),
                                   relay_max_on_cb, r, "[sy-bench] max on-time");
}

static gboolean
relay_actuation_cb (gpointer data)
{
  Relay *r = data;
  SyBench *self = r->bench;
  gint64 now = g_get_monotonic_time ();
  gboolean was_on = r->state.on;

  sy_clear_source (&r->actuation);

  /* A stuck relay never answers; the command timeout settles it. */
  if (r->state.stuck)
    return G_SOURCE_REMOVE;

  sy_clear_source (&r->timeout);
  r->state.on = r->state.target;
  r->state.pending = FALSE;
  r->state.changed_ms = self->clock_ms;

  if (r->state.on)
    {
      if (!was_on)
        r->on_since = now;

      if (r->pulse_ms > 0)
        {
          r->pulse_end_at = now + (gint64) r->pulse_ms * 1000;
          r->pulse_ms = 0;
        }
    }
  else
    {
      r->pulse_ms = 0;
      r->pulse_end_at = 0;
    }

  relay_arm_timers (self, r);
  bench_save_relays_quietly (self);
  relay_answer (self, r, NULL, "confirmed");

  return G_SOURCE_REMOVE;
}

static gboolean
relay_timeout_cb (gpointer data)
{
  Relay *r = data;
  SyBench *self = r->bench;
  g_autoptr(GError) error = NULL;

  sy_clear_source (&r->timeout);
  sy_clear_source (&r->actuation);
  r->state.pending = FALSE;
  r->state.target = r->state.on;
  r->pulse_ms = 0;

  error = g_error_new (SY_BENCH_ERROR, SY_BENCH_ERROR_TIMEOUT,
                       "%s did not confirm the command within %u ms",
                       r->state.name, self->timeout_ms);
  relay_answer (self, r, error, "timeout");

  return G_SOURCE_REMOVE;
}

static gboolean
relay_check_interlock (SyBench  *self,
                       Relay    *r,
                       GError  **error)
{
  int partner = relay_defaults[r->state.index].interlock;
  const SyRelayState *other;

  if (partner < 0)
    return TRUE;

  other = &self->relays[partner].state;
  if (!other->on && !(other->pending && other->target))
    return TRUE;

  g_set_error (error, SY_BENCH_ERROR, SY_BENCH_ERROR_INTERLOCK,
               "%s cannot be switched on while %s is %s (interlock)",
               r->state.name, other->name, other->on ? "on" : "switching on");

  return FALSE;
}

/* Accepts or refuses a command. An accepted command makes the relay
 * pending; a relay that already is pending is retargeted, and the device
 * reports the newest target when its actuation delay ends, answering every
 * waiter at once. */
static gboolean
relay_command (SyBench      *self,
               guint         relay,
               gboolean      on,
               guint         pulse_ms,
               SyRelayDone   done,
               gpointer      user_data,
               const char   *reason,
               GError      **error)
{
  Relay *r;

  if (!check_relay_index (relay, error))
    return FALSE;

  /* A done callback answering the cancellations of dispose must not leave
   * a new source behind. */
  if (self->disposed)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                           "The bench is shutting down");
      return FALSE;
    }

  r = &self->relays[relay];

  if (on && !relay_check_interlock (self, r, error))
    return FALSE;

  /* A new command replaces a running pulse: its author decides now. */
  sy_clear_source (&r->pulse_end);
  r->pulse_end_at = 0;
  r->pulse_ms = pulse_ms;

  if (done != NULL)
    {
      Waiter waiter = { done, user_data };

      g_array_append_val (r->waiters, waiter);
    }

  r->state.target = !!on;

  if (!r->state.pending)
    {
      r->state.pending = TRUE;
      r->actuation = bench_add_timeout (self, self->actuation_ms, relay_actuation_cb, r,
                                        "[sy-bench] actuation");
      r->timeout = bench_add_timeout (self, self->timeout_ms, relay_timeout_cb, r,
                                      "[sy-bench] command timeout");
    }

  relay_emit (self, r, reason);

  return TRUE;
}

static void
bench_step (SyBench  *self,
            gint64    dt_ms,
            gboolean  more)
{
  gint64 end;
  gboolean published = FALSE;

  end = self->clock_ms + dt_ms;
  self->utc_offset_ms = local_offset_ms (self->clock_ms);

  while (self->clock_ms < end)
    {
      gboolean coarse = end - self->clock_ms > COARSE_HORIZON_MS;
      gint64 grid = coarse ? COARSE_STEP_MS : FINE_STEP_MS;
      gint64 next = MIN ((floor_div (self->clock_ms, grid) + 1) * grid, end);

      model_advance (self, (double) (next - self->clock_ms) / 1000.0);
      self->clock_ms = next;

      /* The fine grid lands on every whole second. */
      published = !coarse && floor_mod (next, 1000) == 0;
      if (published)
        bench_publish (self, TRUE);
    }

  if (!published)
    bench_publish (self, FALSE);

  self->reading.seq++;
  self->reading.t_ms = self->clock_ms;
  self->reading.more = more;

  g_signal_emit (self, signals[READING], 0, &self->reading);
}

/* A tick that comes late, on a main loop busy sending, takes the steps it
 * missed, each with its reading, up to this many: a 1 kHz sensor still gives
 * 1,000 readings a second, and the readings of one turn of the loop reach
 * each client in one write (see the sensor protocol). Later than that, the
 * bench jumps, and the readings in between are not made. */
#define MAX_CATCH_UP 4

static gboolean
tick_cb (gpointer data)
{
  g_autoptr(SyBench) self = g_object_ref (data);
  gint64 now = g_get_monotonic_time ();
  gint64 dt_ms = (now - self->last_tick_us) / 1000;
  gint64 period_ms = MAX (1, 1000 / self->tick_hz);
  gint64 steps = CLAMP (dt_ms / period_ms, 1, MAX_CATCH_UP);

  /* Carry the sub-millisecond rest, so bench time does not fall behind
   * real time by a fraction of a millisecond per tick. */
  self->last_tick_us += dt_ms * 1000;
  /* A reading's handler may stop the bench. */
  for (gint64 i = 0; i < steps && self->tick != NULL; i++)
    bench_step (self, dt_ms * (i + 1) / steps - dt_ms * i / steps, i + 1 < steps);

  return G_SOURCE_CONTINUE;
}

static void
bench_add_tick (SyBench *self)
{
  self->tick = bench_add_timeout (self, MAX (1, 1000 / self->tick_hz), tick_cb, self,
                                  "[sy-bench] tick");
}

static gboolean
autosave_cb (gpointer data)
{
  SyBench *self = data;
  g_autoptr(GError) error = NULL;
  gboolean ok;

  ok = sy_bench_save (self, &error);
  bench_report_save (self, ok, error);

  return G_SOURCE_CONTINUE;
}

static void
sy_bench_dispose (GObject *object)
{
  SyBench *self = (SyBench *)object;

  self->disposed = TRUE;
  self->stopped = TRUE;

  if (self->running)
    sy_bench_stop (self);
  else
    {
      sy_bench_cancel_pending (self);
      for (guint i = 0; i < SY_BENCH_N_RELAYS; i++)
        relay_clear_timers (&self->relays[i]);
    }

  G_OBJECT_CLASS (sy_bench_parent_class)->dispose (object);
}

static void
sy_bench_finalize (GObject *object)
{
  SyBench *self = (SyBench *)object;

  for (guint i = 0; i < SY_BENCH_N_RELAYS; i++)
    {
      Relay *r = &self->relays[i];

      g_assert (r->actuation == NULL && r->timeout == NULL);
      g_assert (r->pulse_end == NULL && r->max_on == NULL);

      g_clear_pointer (&r->name, g_free);
      g_clear_pointer (&r->waiters, g_array_unref);
    }

  if (self->local != NULL)
    {
      for (guint i = 0; i < SY_BENCH_N_RELAYS; i++)
        g_free (self->local->names[i]);
      g_clear_pointer (&self->local, g_free);
    }
  g_clear_pointer (&self->chain, g_strfreev);
  g_clear_pointer (&self->history, g_free);
  g_clear_pointer (&self->rand, g_rand_free);
  g_clear_pointer (&self->state_dir, g_free);
  g_clear_pointer (&self->context, g_main_context_unref);

  G_OBJECT_CLASS (sy_bench_parent_class)->finalize (object);
}

static void
sy_bench_class_init (SyBenchClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = sy_bench_dispose;
  object_class->finalize = sy_bench_finalize;

  /**
   * SyBench::reading:
   * @self: the bench
   * @reading: (type gpointer): the new `SyReading`, owned by the bench and
   *   valid until the next step
   *
   * Emitted after every step, on the bench's main context.
   */
  signals[READING] =
    g_signal_new ("reading",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_POINTER);

  /**
   * SyBench::relay-changed:
   * @self: the bench
   * @relay: the relay's index
   * @reason: what happened: "command" or "pulse" (a command made it
   *   pending), "confirmed" (the device answered), "timeout" (it did not),
   *   "cancelled", "pulse end", "max on-time", "rename", "settings"
   *   (maximum on-time or safe default), "fault" (stuck or freed) or "load"
   *
   * Emitted on the bench's main context whenever anything in the relay's
   * `SyRelayState` changed; sy_bench_get_relay() already holds the new
   * state. A confirmation is emitted before the commands' done callbacks
   * run.
   */
  signals[RELAY_CHANGED] =
    g_signal_new ("relay-changed",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2, G_TYPE_UINT, G_TYPE_STRING | G_SIGNAL_TYPE_STATIC_SCOPE);

  /**
   * SyBench::link-changed:
   * @self: the bench
   *
   * Emitted when a mirroring bench's link to its upstream came or went, or
   * its chain of upstream instances changed (sy_bench_get_chain()).
   */
  signals[LINK_CHANGED] =
    g_signal_new ("link-changed",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 0);
}

static void
sy_bench_init (SyBench *self)
{
  self->context = g_main_context_ref_thread_default ();
  self->rand = g_rand_new_with_seed (0);
  self->history = g_new0 (History, SY_BENCH_N_SENSORS);
  self->tick_hz = SY_BENCH_DEFAULT_TICK_HZ;
  self->actuation_ms = SY_BENCH_DEFAULT_ACTUATION_MS;
  self->timeout_ms = SY_BENCH_DEFAULT_TIMEOUT_MS;
  self->clock_ms = g_get_real_time () / 1000;

  for (guint i = 0; i < SY_BENCH_N_RELAYS; i++)
    {
      Relay *r = &self->relays[i];
      int partner = relay_defaults[i].interlock;

      r->bench = self;
      r->name = g_strdup (relay_defaults[i].name);
      r->waiters = g_array_new (FALSE, FALSE, sizeof (Waiter));
      r->state.index = i;
      r->state.id = relay_defaults[i].id;
      r->state.name = r->name;
      r->state.max_on_ms = relay_defaults[i].max_on_ms;
      r->state.safe_default = -1;
      r->state.changed_ms = self->clock_ms;
      r->state.interlock = partner >= 0 ? relay_defaults[partner].id : NULL;
      r->state.available = TRUE;
    }
}

/**
 * sy_bench_get_sensor_spec:
 * @sensor: a `SySensor`
 *
 * Returns: (transfer none): the sensor's id, name, unit and range
 */
const SySensorSpec *
sy_bench_get_sensor_spec (guint sensor)
{
  g_return_val_if_fail (sensor < SY_BENCH_N_SENSORS, NULL);

  return &sensor_specs[sensor];
}

/**
 * sy_bench_find_sensor:
 * @id: a sensor id such as "temperature"
 *
 * Returns: the sensor's index, or -1 if there is none with that id
 */
int
sy_bench_find_sensor (const char *id)
{
  g_return_val_if_fail (id != NULL, -1);

  for (guint i = 0; i < SY_BENCH_N_SENSORS; i++)
    {
      if (g_str_equal (id, sensor_specs[i].id))
        return (int) i;
    }

  return -1;
}

/**
 * sy_bench_new:
 * @seed: the seed of the sensors' randomness
 * @state_dir: (nullable): where relay states and history persist, or %NULL
 *   for a bench that forgets
 *
 * Creates a stopped bench with default relays, all off, its clock at the
 * current wall-clock time. It belongs to the thread-default main context of
 * the calling thread until sy_bench_start() is called elsewhere.
 *
 * Returns: (transfer full): a new bench
 */
SyBench *
sy_bench_new (guint64     seed,
              const char *state_dir)
{
  SyBench *self = g_object_new (SY_TYPE_BENCH, NULL);
  guint32 seed_halves[2] = { (guint32) (seed & 0xffffffff), (guint32) (seed >> 32) };

  g_rand_free (self->rand);
  self->rand = g_rand_new_with_seed_array (seed_halves, G_N_ELEMENTS (seed_halves));
  self->state_dir = g_strdup (state_dir);

  bench_prime (self);

  return self;
}

static gboolean
read_state_file (SyBench     *self,
                 const char  *basename,
                 char       **contents,
                 gsize       *length,
                 GError     **error)
{
  g_autofree char *path = g_build_filename (self->state_dir, basename, NULL);
  g_autoptr(GError) local_error = NULL;

  *contents = NULL;
  *length = 0;

  if (g_file_get_contents (path, contents, length, &local_error))
    return TRUE;

  if (g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
    return TRUE;

  g_propagate_error (error, g_steal_pointer (&local_error));

  return FALSE;
}

static JsonNode *
get_member (JsonObject *object,
            const char *name,
            GType       value_type)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != value_type)
    return NULL;

  return node;
}

/* The root object of a state file of our version, or %NULL. */
static JsonObject *
parse_state (JsonParser  *parser,
             const char  *contents,
             gsize        length,
             GError     **error)
{
  JsonNode *root;
  JsonObject *object;
  JsonNode *version;

  if (!json_parser_load_from_data (parser, contents, length, error))
    return NULL;

  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "not a JSON object");
      return NULL;
    }

  object = json_node_get_object (root);
  version = get_member (object, "version", G_TYPE_INT64);
  if (version == NULL || json_node_get_int (version) != STATE_VERSION)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "not version 1");
      return NULL;
    }

  return object;
}

typedef struct
{
  gboolean  seen;
  char     *name;
  gboolean  on;
  int       safe_default;
  guint     max_on_ms;
} SavedRelay;

static gboolean
parse_saved_relays (JsonObject  *root,
                    SavedRelay   saved[SY_BENCH_N_RELAYS],
                    GError     **error)
{
  JsonNode *relays = json_object_get_member (root, "relays");
  JsonArray *array;

  if (relays == NULL || !JSON_NODE_HOLDS_ARRAY (relays))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "no relays array");
      return FALSE;
    }

  array = json_node_get_array (relays);
  for (guint k = 0; k < json_array_get_length (array); k++)
    {
      JsonNode *element = json_array_get_element (array, k);
      JsonObject *object;
      JsonNode *id, *name, *on, *safe_default, *max_on_ms;
      SavedRelay *entry;
      char *clean;
      gint64 sd;
      gint64 max_on;
      int index = -1;

      if (!JSON_NODE_HOLDS_OBJECT (element))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "relay %u is not an object", k);
          return FALSE;
        }

      object = json_node_get_object (element);
      id = get_member (object, "id", G_TYPE_STRING);
      name = get_member (object, "name", G_TYPE_STRING);
      on = get_member (object, "on", G_TYPE_BOOLEAN);
      safe_default = get_member (object, "safe_default", G_TYPE_INT64);
      max_on_ms = get_member (object, "max_on_ms", G_TYPE_INT64);

      if (id == NULL || name == NULL || on == NULL || safe_default == NULL || max_on_ms == NULL)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                       "relay %u lacks a member or has one of the wrong type", k);
          return FALSE;
        }

      sd = json_node_get_int (safe_default);
      max_on = json_node_get_int (max_on_ms);
      if (sd < -1 || sd > 1 || max_on < 0 || max_on > G_MAXUINT)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "relay %u is out of range", k);
          return FALSE;
        }

      for (guint i = 0; i < SY_BENCH_N_RELAYS; i++)
        {
          if (g_str_equal (json_node_get_string (id), relay_defaults[i].id))
            index = (int) i;
        }

      /* A relay this version does not have is not a reason to lose the others. */
      if (index < 0)
        {
          g_debug ("Skipping unknown relay “%s” in the saved states", json_node_get_string (id));
          continue;
        }

      clean = clean_name (json_node_get_string (name), error);
      if (clean == NULL)
        return FALSE;

      entry = &saved[index];
      g_free (entry->name);
      entry->seen = TRUE;
      entry->name = clean;
      entry->on = json_node_get_boolean (on);
      entry->safe_default = (int) sd;
      entry->max_on_ms = (guint) max_on;
    }

  return TRUE;
}

/* Applies a saved relays.json. Nothing changes unless the whole file makes
 * sense: half a restore is harder to reason about than none. */
static void
bench_load_relays (SyBench    *self,
                   const char *contents,
                   gsize       length)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  SavedRelay saved[SY_BENCH_N_RELAYS] = { { 0 } };
  gboolean want_on[SY_BENCH_N_RELAYS];
  JsonObject *root;
  gint64 now = g_get_monotonic_time ();

  root = parse_state (parser, contents, length, &error);
  if (root == NULL || !parse_saved_relays (root, saved, &error))
    {
      g_message ("Ignoring the saved relays in %s/relays.json: %s",
                 self->state_dir, error->message);
      goto out;
    }

  /* Commands in flight were about the state being replaced. */
  sy_bench_cancel_pending (self);

  for (guint i = 0; i < SY_BENCH_N_RELAYS; i++)
    {
      want_on[i] = self->relays[i].state.on;

      if (!saved[i].seen)
        continue;

      if (saved[i].safe_default == 0)
        want_on[i] = FALSE;
      else if (saved[i].safe_default == 1)
        want_on[i] = TRUE;
      else
        want_on[i] = saved[i].on;
    }

  /* A hand-edited file must not bring up both sides of an interlock. */
  for (guint i = 0; i < SY_BENCH_N_RELAYS; i++)
    {
      int partner = relay_defaults[i].interlock;

      if (want_on[i] && partner >= 0 && (guint) partner < i && want_on[partner])
        {
          g_message ("Not restoring %s as on: %s is on too (interlock)",
                     relay_defaults[i].id, relay_defaults[partner].id);
          want_on[i] = FALSE;
        }
    }

  for (guint i = 0; i < SY_BENCH_N_RELAYS; i++)
    {
      Relay *r = &self->relays[i];

      if (!saved[i].seen && want_on[i] == r->state.on)
        continue;

      if (saved[i].seen)
        {
          g_free (r->name);
          r->name = g_steal_pointer (&saved[i].name);
          r->state.name = r->name;
          r->state.safe_default = saved[i].safe_default;
          r->state.max_on_ms = saved[i].max_on_ms;
        }

      if (want_on[i] && !r->state.on)
        r->on_since = now;

      r->state.on = want_on[i];
      r->state.target = want_on[i];
      r->state.changed_ms = self->clock_ms;
      r->pulse_end_at = 0;

      /* Before sy_bench_start() the bench may still be handed to another
       * thread; the limits are armed when it starts. */
      if (self->running)
        relay_arm_timers (self, r);
      else
        relay_clear_timers (r);

      relay_emit (self, r, "load");
    }

out:
  for (guint i = 0; i < SY_BENCH_N_RELAYS; i++)
    g_free (saved[i].name);
}

static gboolean
parse_saved_history (JsonObject *root,
                     GArray     *times[SY_BENCH_N_SENSORS],
                     GArray     *values[SY_BENCH_N_SENSORS],
                     GError    **error)
{
  JsonNode *sensors = json_object_get_member (root, "sensors");
  JsonObject *object;

  if (sensors == NULL || !JSON_NODE_HOLDS_OBJECT (sensors))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "no sensors object");
      return FALSE;
    }

  object = json_node_get_object (sensors);
  for (guint i = 0; i < SY_BENCH_N_SENSORS; i++)
    {
      JsonNode *node = json_object_get_member (object, sensor_specs[i].id);
      JsonNode *t_node;
      JsonNode *v_node;
      JsonArray *t_array;
      JsonArray *v_array;

      if (node == NULL)
        continue;

      if (!JSON_NODE_HOLDS_OBJECT (node) ||
          (t_node = json_object_get_member (json_node_get_object (node), "t")) == NULL ||
          (v_node = json_object_get_member (json_node_get_object (node), "v")) == NULL ||
          !JSON_NODE_HOLDS_ARRAY (t_node) ||
          !JSON_NODE_HOLDS_ARRAY (v_node) ||
          json_array_get_length (json_node_get_array (t_node)) !=
          json_array_get_length (json_node_get_array (v_node)))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                       "%s is not a pair of arrays of equal length", sensor_specs[i].id);
          return FALSE;
        }

      t_array = json_node_get_array (t_node);
      v_array = json_node_get_array (v_node);
      for (guint k = 0; k < json_array_get_length (t_array); k++)
        {
          JsonNode *t = json_array_get_element (t_array, k);
          double v;
          gint64 t_ms;

          if (!JSON_NODE_HOLDS_VALUE (t) || json_node_get_value_type (t) != G_TYPE_INT64 ||
              !sy_json_node_get_number (json_array_get_element (v_array, k), &v))
            {
              g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                           "point %u of %s is not a number", k, sensor_specs[i].id);
              return FALSE;
            }

          t_ms = json_node_get_int (t);
          g_array_append_val (times[i], t_ms);
          g_array_append_val (values[i], v);
        }
    }

  return TRUE;
}

/* A restarted bench continues the room where its history left off rather
 * than jumping back to the ambient steady state. */
static void
bench_resume_from_history (SyBench *self)
{
  Model *m = &self->model;
  double tod = bench_time_of_day (self);
  gboolean resumed = FALSE;

  for (guint i = 0; i < SY_BENCH_N_SENSORS; i++)
    {
      const History *history = &self->history[i];
      double last;

      if (history->len == 0 || self->clock_ms - history_newest (history) > RESUME_WINDOW_MS)
        continue;

      last = history->v[history_slot (history, history->len - 1)];

      if (i == SY_SENSOR_TEMPERATURE)
        m->room_c = last - m->walk[WALK_TEMPERATURE];
      else if (i == SY_SENSOR_HUMIDITY)
        m->humidity = last - m->walk[WALK_HUMIDITY];
      else if (i == SY_SENSOR_PRESSURE)
        m->walk[WALK_PRESSURE] = last - base_pressure (tod);
      else
        continue;

      resumed = TRUE;
    }

  if (resumed)
    bench_publish_quiet (self);
}

static void
bench_load_history (SyBench    *self,
                    const char *contents,
                    gsize       length)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  GArray *times[SY_BENCH_N_SENSORS];
  GArray *values[SY_BENCH_N_SENSORS];
  JsonObject *root;

  for (guint i = 0; i < SY_BENCH_N_SENSORS; i++)
    {
      times[i] = g_array_new (FALSE, FALSE, sizeof (gint64));
      values[i] = g_array_new (FALSE, FALSE, sizeof (double));
    }

  root = parse_state (parser, contents, length, &error);
  if (root == NULL || !parse_saved_history (root, times, values, &error))
    {
      g_message ("Ignoring the saved history in %s/history.json: %s",
                 self->state_dir, error->message);
      goto out;
    }

  for (guint i = 0; i < SY_BENCH_N_SENSORS; i++)
    {
      History *history = &self->history[i];

      history->head = 0;
      history->len = 0;

      for (guint k = 0; k < times[i]->len; k++)
        {
          gint64 t_ms = g_array_index (times[i], gint64, k);
          double v = g_array_index (values[i], double, k);

          /* Only the last hour, nothing from the bench's future, and only
           * what a sensor could have read. */
          if (t_ms <= self->clock_ms - RESTORE_WINDOW_MS || t_ms > self->clock_ms)
            continue;
          if (!isfinite (v) || v < sensor_specs[i].min || v > sensor_specs[i].max)
            continue;

          history_push (history, t_ms, v);
        }
    }

  if (self->reading.seq == 0)
    bench_resume_from_history (self);

out:
  for (guint i = 0; i < SY_BENCH_N_SENSORS; i++)
    {
      g_array_unref (times[i]);
      g_array_unref (values[i]);
    }
}

/**
 * sy_bench_load:
 * @self: a `SyBench`
 * @error: return location for a #GError
 *
 * Restores relays and sensor history from the state directory. Relays come
 * back confirmed in their saved state, unless their safe default says
 * always off (0) or always on (1); their names and limits come back too.
 * History from the last hour before the bench clock is restored, so set the
 * clock first.
 *
 * Missing files are fine (the defaults stay), and so are corrupt ones or
 * ones of another version: they are logged and ignored. Commands still
 * pending are cancelled.
 *
 * Returns: %FALSE if the state directory cannot be read
 */
/* g_file_set_contents() writes "name.XXXXXX" and renames it: a process
 * killed in between leaves the temporary behind. */
#define STALE_TEMPORARY_S 60

static void
remove_stale_temporaries (const char *state_dir)
{
  g_autoptr(GDir) dir = g_dir_open (state_dir, 0, NULL);
  const char *name;

  if (dir == NULL)
    return;

  while ((name = g_dir_read_name (dir)) != NULL)
    {
      static const char *prefixes[] = { "relays.json.", "history.json.", "secret.json." };

      for (guint i = 0; i < G_N_ELEMENTS (prefixes); i++)
        {
          if (g_str_has_prefix (name, prefixes[i]) && strlen (name) == strlen (prefixes[i]) + 6)
            {
              g_autofree char *path = g_build_filename (state_dir, name, NULL);
              GStatBuf st;

              /* A fresh one may be another instance's save in progress
               * (two servers on one state directory): only old ones are
               * left by an interrupted save. */
              if (g_stat (path, &st) != 0 || time (NULL) - st.st_mtime < STALE_TEMPORARY_S)
                continue;

              g_message ("removing %s, left by an interrupted save", path);
              g_unlink (path);
            }
        }
    }
}

gboolean
sy_bench_load (SyBench  *self,
               GError  **error)
{
  g_autofree char *relays = NULL;
  g_autofree char *history = NULL;
  gsize relays_length;
  gsize history_length;

  g_return_val_if_fail (SY_IS_BENCH (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (self->state_dir == NULL)
    return TRUE;

  remove_stale_temporaries (self->state_dir);

  if (!read_state_file (self, "relays.json", &relays, &relays_length, error) ||
      !read_state_file (self, "history.json", &history, &history_length, error))
    return FALSE;

  if (relays != NULL)
    bench_load_relays (self, relays, relays_length);

  if (history != NULL)
    bench_load_history (self, history, history_length);

  return TRUE;
}

/**
 * sy_bench_save:
 * @self: a `SyBench`
 * @error: return location for a #GError
 *
 * Writes `relays.json` and `history.json` to the state directory,
 * creating it if needed. Each file is replaced atomically. Relay states are
 * also saved after every confirmed change, and everything every ten seconds
 * while the bench runs.
 *
 * Returns: %TRUE on success, or if the bench has no state directory
 */
gboolean
sy_bench_save (SyBench  *self,
               GError  **error)
{
  g_return_val_if_fail (SY_IS_BENCH (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  /* A mirror's state is its upstream's: the files keep the bench's own. */
  if (self->forward != NULL)
    return TRUE;

  return bench_save_relays (self, error) && bench_save_history (self, error);
}

/**
 * sy_bench_set_clock:
 * @self: a `SyBench`
 * @epoch_ms: the bench time, in milliseconds since the epoch
 *
 * Sets the bench clock, whose local time of day drives the daily cycles.
 * Before the first step, the sensors also start over in the steady state of
 * that time. History newer than the new clock is dropped.
 */
void
sy_bench_set_clock (SyBench *self,
                    gint64   epoch_ms)
{
  g_return_if_fail (SY_IS_BENCH (self));

  self->clock_ms = epoch_ms;

  for (guint i = 0; i < SY_BENCH_N_SENSORS; i++)
    history_drop_after (&self->history[i], epoch_ms);

  if (self->reading.seq == 0)
    bench_prime (self);
}

/**
 * sy_bench_get_clock:
 * @self: a `SyBench`
 *
 * Returns: the bench time, in milliseconds since the epoch
 */
gint64
sy_bench_get_clock (SyBench *self)
{
  g_return_val_if_fail (SY_IS_BENCH (self), 0);

  return self->clock_ms;
}

/**
 * sy_bench_start:
 * @self: a `SyBench`
 *
 * Runs the bench on the thread-default main context of the caller: the
 * sensors are stepped `tick_hz` times a second by the real time elapsed, and
 * the state is saved every ten seconds if there is a state directory.
 * From now on the bench belongs to this context.
 */
void
sy_bench_start (SyBench *self)
{
  g_return_if_fail (SY_IS_BENCH (self));

  if (self->running)
    return;

  self->running = TRUE;
  self->stopped = FALSE;
  g_clear_pointer (&self->context, g_main_context_unref);
  self->context = g_main_context_ref_thread_default ();

  /* A mirror steps with its upstream and keeps no state of its own. */
  if (self->forward != NULL)
    return;

  /* Readings are stamped with the bench clock: catch up with the time that
   * passed between creating (and loading) the bench and starting it, so
   * source timestamps are true. A clock set far away (by tests) stays. */
  {
    gint64 lag = g_get_real_time () / 1000 - self->clock_ms;

    if (lag > 0 && lag < 60 * 1000)
      sy_bench_step (self, lag);
  }

  self->last_tick_us = g_get_monotonic_time ();
  bench_add_tick (self);

  if (self->state_dir != NULL)
    {
      self->autosave = g_timeout_source_new_seconds (AUTOSAVE_SECONDS);
      g_source_set_callback (self->autosave, autosave_cb, self, NULL);
      g_source_set_static_name (self->autosave, "[sy-bench] autosave");
      g_source_attach (self->autosave, self->context);
    }

  for (guint i = 0; i < SY_BENCH_N_RELAYS; i++)
    relay_arm_timers (self, &self->relays[i]);
}

/**
 * sy_bench_stop:
 * @self: a `SyBench`
 *
 * Stops stepping, cancels pending commands (see sy_bench_cancel_pending()),
 * suspends the pulse and maximum on-time timers until the next start, and
 * saves the state. When this returns, the bench has no source left on any
 * main context. Stopping a stopped bench only cancels and saves.
 */
void
sy_bench_stop (SyBench *self)
{
  g_autoptr(GError) error = NULL;

  g_return_if_fail (SY_IS_BENCH (self));

  self->running = FALSE;
  self->stopped = TRUE;
  sy_clear_source (&self->tick);
  sy_clear_source (&self->autosave);

  sy_bench_cancel_pending (self);

  for (guint i = 0; i < SY_BENCH_N_RELAYS; i++)
    relay_clear_timers (&self->relays[i]);

  if (!sy_bench_save (self, &error))
    g_warning ("Could not save the bench state in %s: %s", self->state_dir, error->message);
}

/**
 * sy_bench_step:
 * @self: a `SyBench`
 * @dt_ms: how far to advance the bench clock, in milliseconds
 *
 * Advances the sensors by @dt_ms of bench time, in internal steps of at
 * most 100 ms, recording history on every whole second, then publishes a
 * new reading and emits `SyBench::reading`. Any @dt_ms is stable; a step of
 * days takes coarse internal steps where nothing can reach the history.
 */
void
sy_bench_step (SyBench *self,
               gint64   dt_ms)
{
  g_return_if_fail (SY_IS_BENCH (self));
  g_return_if_fail (dt_ms >= 0 && dt_ms <= G_MAXINT64 / 4);

  bench_step (self, dt_ms, FALSE);
}



/**
 * sy_bench_get_tick_hz:
 * @self: a `SyBench`
 *
 * Returns: how many times a second the running bench steps
 */
guint
sy_bench_get_tick_hz (SyBench *self)
{
  g_return_val_if_fail (SY_IS_BENCH (self), 0);

  return self->tick_hz;
}

/**
 * sy_bench_set_tick_hz:
 * @self: a `SyBench`
 * @tick_hz: steps per second, %SY_BENCH_MIN_TICK_HZ to %SY_BENCH_MAX_TICK_HZ
 *
 * Sets the tick rate, at once if the bench is running.
 */
void
sy_bench_set_tick_hz (SyBench *self,
                      guint    tick_hz)
{
  g_return_if_fail (SY_IS_BENCH (self));
  g_return_if_fail (tick_hz >= SY_BENCH_MIN_TICK_HZ && tick_hz <= SY_BENCH_MAX_TICK_HZ);

  self->tick_hz = tick_hz;

  if (self->tick != NULL)
    {
      sy_clear_source (&self->tick);
      bench_add_tick (self);
    }
}

/**
 * sy_bench_get_reading:
 * @self: a `SyBench`
 *
 * Returns: (transfer none): the latest reading, valid until the next step
 */
const SyReading *
sy_bench_get_reading (SyBench *self)
{
  g_return_val_if_fail (SY_IS_BENCH (self), NULL);

  return &self->reading;
}

/**
 * sy_bench_set_sensor_dropout:
 * @self: a `SyBench`
 * @sensor: a `SySensor`
 * @dropout: whether the sensor stops answering
 *
 * Injects a dropout: from the next step the sensor's value holds and it
 * records no history; once %SY_BENCH_STALE_AFTER_MS of bench time passed
 * since its last fresh value its reading is marked stale. Clearing the
 * dropout makes it fresh again at the next step.
 */
void
sy_bench_set_sensor_dropout (SyBench  *self,
                             guint     sensor,
                             gboolean  dropout)
{
  g_return_if_fail (SY_IS_BENCH (self));
  g_return_if_fail (sensor < SY_BENCH_N_SENSORS);

  /* A mirror's sensors drop out upstream. */
  if (self->forward != NULL)
    return;

  self->dropout[sensor] = !!dropout;
}

/**
 * sy_bench_get_history:
 * @self: a `SyBench`
 * @sensor: a `SySensor`
 * @seconds: how far back, in seconds of bench time
 * @t_ms: (element-type gint64): where the times go, in ms since the epoch
 * @values: (element-type double): where the values go
 *
 * Appends the 1 Hz history points of the last @seconds (those newer than
 * the bench clock minus @seconds), oldest first. Seconds in which the
 * sensor was dropped out have no point.
 */
void
sy_bench_get_history (SyBench *self,
                      guint    sensor,
                      guint    seconds,
                      GArray  *t_ms,
                      GArray  *values)
{
  const History *history;
  gint64 after;

  g_return_if_fail (SY_IS_BENCH (self));
  g_return_if_fail (sensor < SY_BENCH_N_SENSORS);
  g_return_if_fail (t_ms != NULL && g_array_get_element_size (t_ms) == sizeof (gint64));
  g_return_if_fail (values != NULL && g_array_get_element_size (values) == sizeof (double));

  history = &self->history[sensor];
  after = self->clock_ms - (gint64) seconds * 1000;

  for (guint k = 0; k < history->len; k++)
    {
      guint slot = history_slot (history, k);

      if (history->t[slot] <= after)
        continue;

      g_array_append_val (t_ms, history->t[slot]);
      g_array_append_val (values, history->v[slot]);
    }
}

/**
 * sy_bench_find_relay:
 * @self: a `SyBench`
 * @id: a relay id such as "heater"
 *
 * Returns: the relay's index, or -1 if there is none with that id
 */
int
sy_bench_find_relay (SyBench    *self,
                     const char *id)
{
  g_return_val_if_fail (SY_IS_BENCH (self), -1);
  g_return_val_if_fail (id != NULL, -1);

  for (guint i = 0; i < SY_BENCH_N_RELAYS; i++)
    {
      if (g_str_equal (id, relay_defaults[i].id))
        return (int) i;
    }

  return -1;
}

/**
 * sy_bench_get_relay:
 * @self: a `SyBench`
 * @relay: a `SyRelay`
 *
 * Returns: (transfer none): the bench's own state of the relay, valid until
 *   its next change
 */
const SyRelayState *
sy_bench_get_relay (SyBench *self,
                    guint    relay)
{
  g_return_val_if_fail (SY_IS_BENCH (self), NULL);
  g_return_val_if_fail (relay < SY_BENCH_N_RELAYS, NULL);

  return &self->relays[relay].state;
}

/**
 * sy_bench_relay_set:
 * @self: a `SyBench`
 * @relay: a `SyRelay`
 * @on: the state to command
 * @done: (nullable) (scope async): called once when the command is settled
 * @user_data: closure data for @done
 * @error: return location for a #GError
 *
 * Commands a relay. A refused command returns %FALSE at once, with
 * %SY_BENCH_ERROR_NOT_FOUND or %SY_BENCH_ERROR_INTERLOCK (switching on while
 * the partner relay is on or switching on), and @done is not called.
 *
 * An accepted command makes the relay pending and emits
 * `SyBench::relay-changed` ("command"). After the actuation delay the
 * device confirms ("confirmed") and @done gets %NULL, or, for a stuck relay,
 * after the command timeout @done gets %SY_BENCH_ERROR_TIMEOUT. Commanding
 * the state the relay already has still goes through the device. A command
 * to a relay that is already pending retargets it: the device reports the
 * newest target when the first command's delay ends, and all waiting
 * commands are answered together. sy_bench_stop() and
 * sy_bench_cancel_pending() answer with %G_IO_ERROR_CANCELLED.
 *
 * @done is never called from inside this function.
 *
 * Returns: %TRUE if the command was accepted
 */
gboolean
sy_bench_relay_set (SyBench      *self,
                    guint         relay,
                    gboolean      on,
                    SyRelayDone   done,
                    gpointer      user_data,
                    GError      **error)
{
  g_return_val_if_fail (SY_IS_BENCH (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (self->forward != NULL)
    {
      SyRelayCommand command = { SY_RELAY_COMMAND_SET, relay, !!on, 0, NULL };

      return sy_bench_mirror_forward (self, &command, done, user_data, error);
    }

  return relay_command (self, relay, on, 0, done, user_data, "command", error);
}

/**
 * sy_bench_relay_toggle:
 * @self: a `SyBench`
 * @relay: a `SyRelay`
 * @done: (nullable) (scope async): called once when the command is settled
 * @user_data: closure data for @done
 * @error: return location for a #GError
 *
 * Like sy_bench_relay_set() with the opposite of the state the relay is
 * heading for: its target while pending, else its state.
 *
 * Returns: %TRUE if the command was accepted
 */
gboolean
sy_bench_relay_toggle (SyBench      *self,
                       guint         relay,
                       SyRelayDone   done,
                       gpointer      user_data,
                       GError      **error)
{
  const SyRelayState *state;

  g_return_val_if_fail (SY_IS_BENCH (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_relay_index (relay, error))
    return FALSE;

  if (self->forward != NULL)
    {
      SyRelayCommand command = { SY_RELAY_COMMAND_TOGGLE, relay, FALSE, 0, NULL };

      return sy_bench_mirror_forward (self, &command, done, user_data, error);
    }

  state = &self->relays[relay].state;

  return relay_command (self, relay, !(state->pending ? state->target : state->on),
                        0, done, user_data, "command", error);
}

/**
 * sy_bench_relay_pulse:
 * @self: a `SyBench`
 * @relay: a `SyRelay`
 * @ms: how long to stay on, %SY_BENCH_PULSE_MIN_MS to %SY_BENCH_PULSE_MAX_MS
 * @done: (nullable) (scope async): called once when ON is settled
 * @user_data: closure data for @done
 * @error: return location for a #GError
 *
 * Switches a relay on like sy_bench_relay_set() (emitting "pulse"); @ms
 * after the device confirmed ON, the device switches it off by itself
 * ("pulse end"). Any later command on the relay replaces the pulse. A bad
 * @ms is refused with %SY_BENCH_ERROR_INVALID.
 *
 * Returns: %TRUE if the command was accepted
 */
gboolean
sy_bench_relay_pulse (SyBench      *self,
                      guint         relay,
                      guint         ms,
                      SyRelayDone   done,
                      gpointer      user_data,
                      GError      **error)
{
  g_return_val_if_fail (SY_IS_BENCH (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_relay_index (relay, error))
    return FALSE;

  if (ms < SY_BENCH_PULSE_MIN_MS || ms > SY_BENCH_PULSE_MAX_MS)
    {
      g_set_error (error, SY_BENCH_ERROR, SY_BENCH_ERROR_INVALID,
                   "A pulse lasts %d to %d ms, not %u",
                   SY_BENCH_PULSE_MIN_MS, SY_BENCH_PULSE_MAX_MS, ms);
      return FALSE;
    }

  if (self->forward != NULL)
    {
      SyRelayCommand command = { SY_RELAY_COMMAND_PULSE, relay, TRUE, ms, NULL };

      return sy_bench_mirror_forward (self, &command, done, user_data, error);
    }

  return relay_command (self, relay, TRUE, ms, done, user_data, "pulse", error);
}

/**
 * sy_bench_relay_rename:
 * @self: a `SyBench`
 * @relay: a `SyRelay`
 * @name: (nullable): the new name
 * @error: return location for a #GError
 *
 * Renames a relay. Surrounding whitespace is stripped; what remains must
 * be 1 to %SY_BENCH_NAME_MAX_CHARS characters of valid UTF-8 without
 * control characters or line breaks, else %SY_BENCH_ERROR_INVALID.
 *
 * Returns: %TRUE if the relay was renamed
 */
gboolean
sy_bench_relay_rename (SyBench     *self,
                       guint        relay,
                       const char  *name,
                       GError     **error)
{
  g_autofree char *clean = NULL;
  Relay *r;

  g_return_val_if_fail (SY_IS_BENCH (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_relay_index (relay, error))
    return FALSE;

  clean = clean_name (name, error);
  if (clean == NULL)
    return FALSE;

  if (self->forward != NULL)
    {
      g_set_error (error, SY_BENCH_ERROR, SY_BENCH_ERROR_FORBIDDEN,
                   "%s is mirrored from an upstream Switchyard and is renamed there",
                   self->relays[relay].state.name);
      return FALSE;
    }

  r = &self->relays[relay];
  g_free (r->name);
  r->name = g_steal_pointer (&clean);
  r->state.name = r->name;

  bench_save_relays_quietly (self);
  relay_emit (self, r, "rename");

  return TRUE;
}

/**
 * sy_bench_relay_set_stuck:
 * @self: a `SyBench`
 * @relay: a `SyRelay`
 * @stuck: whether the relay stops answering commands
 *
 * Injects a stuck relay: commands are accepted but never confirmed, and
 * time out. A command already pending when the relay is freed still times
 * out. The device's own switch-offs (pulse end, maximum on-time) still
 * happen.
 *
 * A mirroring bench ignores this: its faults and settings are upstream.
 */
void
sy_bench_relay_set_stuck (SyBench  *self,
                          guint     relay,
                          gboolean  stuck)
{
  Relay *r;

  g_return_if_fail (SY_IS_BENCH (self));
  g_return_if_fail (relay < SY_BENCH_N_RELAYS);

  r = &self->relays[relay];
  if (self->forward != NULL || r->state.stuck == !!stuck)
    return;

  r->state.stuck = !!stuck;
  relay_emit (self, r, "fault");
}

/**
 * sy_bench_relay_set_safe_default:
 * @self: a `SyBench`
 * @relay: a `SyRelay`
 * @safe_default: how the relay comes up after a restart: -1 as saved,
 *   0 off, 1 on
 *
 * A mirroring bench ignores this: its faults and settings are upstream.
 */
void
sy_bench_relay_set_safe_default (SyBench *self,
                                 guint    relay,
                                 int      safe_default)
{
  Relay *r;

  g_return_if_fail (SY_IS_BENCH (self));
  g_return_if_fail (relay < SY_BENCH_N_RELAYS);
  g_return_if_fail (safe_default >= -1 && safe_default <= 1);

  if (self->forward != NULL)
    return;

  r = &self->relays[relay];
  r->state.safe_default = safe_default;

  bench_save_relays_quietly (self);
  relay_emit (self, r, "settings");
}

/**
 * sy_bench_relay_set_max_on:
 * @self: a `SyBench`
 * @relay: a `SyRelay`
 * @max_on_ms: the longest the relay may stay on, in ms of real time, or 0
 *   for no limit
 *
 * When a relay has been confirmed on for @max_on_ms without a break, the
 * device switches it off by itself (`SyBench::relay-changed` with
 * "max on-time") and a message is logged. The limit is real time, counted
 * from the OFF→ON confirmation, and applies at once to a relay that is on.
 */
void
sy_bench_relay_set_max_on (SyBench *self,
                           guint    relay,
                           guint    max_on_ms)
{
  Relay *r;

  g_return_if_fail (SY_IS_BENCH (self));
  g_return_if_fail (relay < SY_BENCH_N_RELAYS);

  if (self->forward != NULL)
    return;

  r = &self->relays[relay];
  r->state.max_on_ms = max_on_ms;

  if (r->state.on)
    relay_arm_timers (self, r);

  bench_save_relays_quietly (self);
  relay_emit (self, r, "settings");
}

/**
 * sy_bench_set_actuation_delay:
 * @self: a `SyBench`
 * @ms: how long the device takes to confirm a command, in ms
 *
 * Applies to commands that make a relay pending from now on.
 */
void
sy_bench_set_actuation_delay (SyBench *self,
                              guint    ms)
{
  g_return_if_fail (SY_IS_BENCH (self));

  self->actuation_ms = ms;
}

/**
 * sy_bench_set_command_timeout:
 * @self: a `SyBench`
 * @ms: how long to wait for the device before failing a command, in ms
 *
 * Applies to commands that make a relay pending from now on.
 */
void
sy_bench_set_command_timeout (SyBench *self,
                              guint    ms)
{
  g_return_if_fail (SY_IS_BENCH (self));
  g_return_if_fail (ms > 0);

  self->timeout_ms = ms;
}

/**
 * sy_bench_cancel_pending:
 * @self: a `SyBench`
 *
 * Gives up every pending command: the relays stay as the device has them,
 * `SyBench::relay-changed` is emitted with "cancelled", and every waiting
 * done callback is called, from inside this function, with
 * %G_IO_ERROR_CANCELLED.
 */
void
sy_bench_cancel_pending (SyBench *self)
{
  g_autoptr(GError) error = NULL;

  g_return_if_fail (SY_IS_BENCH (self));

  error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED, "The command was cancelled");

  for (guint i = 0; i < SY_BENCH_N_RELAYS; i++)
    {
      Relay *r = &self->relays[i];

      if (!r->state.pending)
        continue;

      sy_clear_source (&r->actuation);
      sy_clear_source (&r->timeout);
      r->state.pending = FALSE;
      r->state.target = r->state.on;
      r->pulse_ms = 0;

      relay_answer (self, r, error, "cancelled");
    }
}

/* Mirror mode */

/**
 * sy_bench_set_mirror:
 * @self: a `SyBench` that is not running
 * @forward: (nullable): where commands go, or %NULL to stop mirroring
 * @user_data: closure data for @forward
 *
 * Makes the bench a mirror of an upstream one: it no longer simulates or
 * saves anything; its readings, history and relays are what the owner of
 * @forward reports with sy_bench_mirror_reading(),
 * sy_bench_mirror_history() and sy_bench_mirror_relay(), and every relay
 * command goes to @forward. Until the first report every relay is
 * unavailable and every sensor stale, which the observers are told
 * (`SyBench::relay-changed` with "unavailable", `SyBench::link-changed`).
 *
 * The bench keeps its own state aside meanwhile: with %NULL it has it
 * back, as it was, and tells its observers (`SyBench::relay-changed` with
 * "load", `SyBench::link-changed`).
 */
void
sy_bench_set_mirror (SyBench        *self,
                     SyBenchForward  forward,
                     gpointer        user_data)
{
  g_return_if_fail (SY_IS_BENCH (self));
  g_return_if_fail (!self->running);

  if ((forward != NULL) == (self->forward != NULL))
    {
      self->forward = forward;
      self->forward_data = user_data;
      return;
    }

  if (forward != NULL)
    {
      LocalState *local = g_new0 (LocalState, 1);

      for (guint i = 0; i < SY_BENCH_N_RELAYS; i++)
        {
          Relay *r = &self->relays[i];

          g_assert (r->waiters->len == 0);
          local->states[i] = r->state;
          local->names[i] = g_strdup (r->name);
        }
      memcpy (local->history, self->history, sizeof local->history);
      local->reading = self->reading;
      local->clock_ms = self->clock_ms;
      self->local = local;

      self->forward = forward;
      self->forward_data = user_data;
      /* Unavailable and stale until the upstream reports, and said so. */
      self->link_up = TRUE;
      sy_bench_mirror_set_link (self, FALSE, NULL);
      return;
    }

  self->forward = NULL;
  self->forward_data = NULL;
  self->link_up = FALSE;
  g_clear_pointer (&self->chain, g_strfreev);

  for (guint i = 0; i < SY_BENCH_N_RELAYS; i++)
    {
      Relay *r = &self->relays[i];

      g_free (r->name);
      r->name = g_steal_pointer (&self->local->names[i]);
      r->state = self->local->states[i];
      r->state.name = r->name;
    }
  memcpy (self->history, self->local->history, sizeof self->local->history);
  self->reading = self->local->reading;
  self->clock_ms = self->local->clock_ms;
  g_clear_pointer (&self->local, g_free);

  for (guint i = 0; i < SY_BENCH_N_RELAYS; i++)
    relay_emit (self, &self->relays[i], "load");
  g_signal_emit (self, signals[LINK_CHANGED], 0);
}

/**
 * sy_bench_is_mirror:
 * @self: a `SyBench`
 *
 * Returns: whether the bench mirrors an upstream one
 */
gboolean
sy_bench_is_mirror (SyBench *self)
{
  g_return_val_if_fail (SY_IS_BENCH (self), FALSE);

  return self->forward != NULL;
}

/**
 * sy_bench_mirror_forward:
 * @self: a mirroring `SyBench`
 * @command: the command
 * @done: (nullable) (scope async): called once when the upstream answered
 * @user_data: closure data for @done
 * @error: return location for a #GError
 *
 * Sends a command for a mirrored relay upstream. A relay that is not
 * available (the upstream is not connected, or it has lost its own
 * upstream) refuses at once with %SY_BENCH_ERROR_UNAVAILABLE; the rest is
 * up to the forward function and the upstream. sy_bench_relay_set(),
 * sy_bench_relay_toggle() and sy_bench_relay_pulse() of a mirror come here.
 *
 * Returns: %TRUE if the command went upstream
 */
gboolean
sy_bench_mirror_forward (SyBench              *self,
                         const SyRelayCommand *command,
                         SyRelayDone           done,
                         gpointer              user_data,
                         GError              **error)
{
  const SyRelayState *state;

  g_return_val_if_fail (SY_IS_BENCH (self), FALSE);
  g_return_val_if_fail (command != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_relay_index (command->relay, error))
    return FALSE;

  if (self->forward == NULL)
    {
      g_set_error_literal (error, SY_BENCH_ERROR, SY_BENCH_ERROR_INVALID,
                           "The bench does not mirror an upstream one");
      return FALSE;
    }

  if (self->disposed)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                           "The bench is shutting down");
      return FALSE;
    }

  state = &self->relays[command->relay].state;
  if (!state->available)
    {
      g_set_error (error, SY_BENCH_ERROR, SY_BENCH_ERROR_UNAVAILABLE,
                   "%s is unavailable: the Switchyard it is mirrored from is not connected",
                   state->name);
      return FALSE;
    }

  return self->forward (self, command, done, user_data, self->forward_data, error);
}

/**
 * sy_bench_mirror_reading:
 * @self: a mirroring `SyBench`
 * @reading: the upstream's reading
 *
 * Takes the reading as the bench's own (its `seq` and `t_ms` too: they are
 * the source's), records a history point per sensor and second for fresh
 * sensors, and emits `SyBench::reading`.
 */
void
sy_bench_mirror_reading (SyBench         *self,
                         const SyReading *reading)
{
  g_return_if_fail (SY_IS_BENCH (self));
  g_return_if_fail (self->forward != NULL);
  g_return_if_fail (reading != NULL);

  self->reading = *reading;
  self->reading.more = FALSE;
  self->clock_ms = MAX (self->clock_ms, reading->t_ms);

  for (guint i = 0; i < SY_BENCH_N_SENSORS; i++)
    {
      History *history = &self->history[i];
      gint64 second = floor_div (reading->t_ms, 1000) * 1000;

      if (reading->stale[i])
        continue;
      if (history->len == 0 || history_newest (history) < second)
        history_push (history, second, reading->values[i]);
    }

  g_signal_emit (self, signals[READING], 0, &self->reading);
}

/**
 * sy_bench_mirror_history:
 * @self: a mirroring `SyBench`
 * @sensor: a `SySensor`
 * @t_ms: (array length=n): the times, oldest first
 * @values: (array length=n): the values
 * @n: how many points
 *
 * Takes the upstream's history of a sensor: the points from the first
 * given one on are replaced by the given ones, and the mirror's own newer
 * points (recorded from readings since) are kept. Points out of order are
 * dropped.
 */
void
sy_bench_mirror_history (SyBench      *self,
                         guint         sensor,
                         const gint64 *t_ms,
                         const double *values,
                         guint         n)
{
  History *history;

  g_return_if_fail (SY_IS_BENCH (self));
  g_return_if_fail (self->forward != NULL);
  g_return_if_fail (sensor < SY_BENCH_N_SENSORS);
  g_return_if_fail (n == 0 || (t_ms != NULL && values != NULL));

  history = &self->history[sensor];
  if (n == 0)
    return;

  {
    g_autoptr(GArray) newer_t = g_array_new (FALSE, FALSE, sizeof (gint64));
    g_autoptr(GArray) newer_v = g_array_new (FALSE, FALSE, sizeof (double));

    for (guint k = 0; k < history->len; k++)
      {
        guint slot = history_slot (history, k);

        if (history->t[slot] > t_ms[n - 1])
          {
            g_array_append_val (newer_t, history->t[slot]);
            g_array_append_val (newer_v, history->v[slot]);
          }
      }

    history_drop_after (history, t_ms[0] - 1);
    for (guint k = 0; k < n; k++)
      history_push (history, t_ms[k], values[k]);
    for (guint k = 0; k < newer_t->len; k++)
      history_push (history, g_array_index (newer_t, gint64, k), g_array_index (newer_v, double, k));
  }
}

/**
 * sy_bench_mirror_relay:
 * @self: a mirroring `SyBench`
 * @relay: a `SyRelay`
 * @state: the upstream's state of the relay (its `index` and `id` are
 *   ignored; `interlock` may be any relay id or %NULL)
 * @reason: why it changed, passed on in `SyBench::relay-changed`
 */
void
sy_bench_mirror_relay (SyBench            *self,
                       guint               relay,
                       const SyRelayState *state,
                       const char         *reason)
{
  Relay *r;
  int partner;

  g_return_if_fail (SY_IS_BENCH (self));
  g_return_if_fail (self->forward != NULL);
  g_return_if_fail (relay < SY_BENCH_N_RELAYS);
  g_return_if_fail (state != NULL);

  r = &self->relays[relay];

  if (state->name != NULL && g_strcmp0 (state->name, r->name) != 0)
    {
      g_free (r->name);
      r->name = g_strdup (state->name);
      r->state.name = r->name;
    }

  partner = state->interlock != NULL ? sy_bench_find_relay (self, state->interlock) : -1;

  r->state.on = state->on;
  r->state.pending = state->pending;
  r->state.target = state->target;
  r->state.stuck = state->stuck;
  r->state.max_on_ms = state->max_on_ms;
  r->state.safe_default = state->safe_default;
  r->state.changed_ms = state->changed_ms;
  r->state.interlock = partner >= 0 ? relay_defaults[partner].id : NULL;
  r->state.available = state->available;

  relay_emit (self, r, reason);
}

/**
 * sy_bench_mirror_set_link:
 * @self: a mirroring `SyBench`
 * @connected: whether the upstream is connected
 * @chain: (nullable) (array zero-terminated=1): the instances the relays
 *   come from, nearest first
 *
 * A lost link makes every relay unavailable at once (`SyBench::relay-changed`
 * with "unavailable") and every sensor stale from the next reading. A
 * change of link or chain emits `SyBench::link-changed`. A link that comes
 * back makes nothing available by itself: the upstream's snapshot does,
 * relay by relay.
 */
void
sy_bench_mirror_set_link (SyBench            *self,
                          gboolean            connected,
                          const char * const *chain)
{
  static const char * const none[] = { NULL };
  gboolean changed;

  g_return_if_fail (SY_IS_BENCH (self));
  g_return_if_fail (self->forward != NULL);

  chain = chain != NULL ? chain : none;
  changed = self->link_up != !!connected ||
            !g_strv_equal ((const char * const *) (self->chain ? self->chain : (GStrv) none), chain);

  self->link_up = !!connected;
  g_clear_pointer (&self->chain, g_strfreev);
  self->chain = g_strdupv ((char **) chain);

  if (!connected)
    {
      for (guint i = 0; i < SY_BENCH_N_SENSORS; i++)
        self->reading.stale[i] = TRUE;

      for (guint i = 0; i < SY_BENCH_N_RELAYS; i++)
        {
          Relay *r = &self->relays[i];

          if (!r->state.available)
            continue;

          r->state.available = FALSE;
          r->state.pending = FALSE;
          r->state.target = r->state.on;
          relay_emit (self, r, "unavailable");
        }
    }

  if (changed)
    g_signal_emit (self, signals[LINK_CHANGED], 0);
}

/**
 * sy_bench_get_chain:
 * @self: a `SyBench`
 *
 * Returns: (transfer none) (array zero-terminated=1): the instances a
 *   mirror's relays come from, nearest first; empty for a bench of its own
 */
const char * const *
sy_bench_get_chain (SyBench *self)
{
  static const char * const none[] = { NULL };

  g_return_val_if_fail (SY_IS_BENCH (self), none);

  return self->chain != NULL ? (const char * const *) self->chain : none;
}
