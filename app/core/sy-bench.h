/* sy-bench.h
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "sy-types.h"

G_BEGIN_DECLS

#define SY_TYPE_BENCH (sy_bench_get_type ())

G_DECLARE_FINAL_TYPE (SyBench, sy_bench, SY, BENCH, GObject)

#define SY_BENCH_N_SENSORS          6
#define SY_BENCH_N_RELAYS           8
#define SY_BENCH_MIN_TICK_HZ        1
#define SY_BENCH_MAX_TICK_HZ        1000
#define SY_BENCH_DEFAULT_TICK_HZ    20
#define SY_BENCH_PULSE_MIN_MS       10
#define SY_BENCH_PULSE_MAX_MS       60000
#define SY_BENCH_NAME_MAX_CHARS     64
#define SY_BENCH_HISTORY_SECONDS    3600
#define SY_BENCH_STALE_AFTER_MS     2000
#define SY_BENCH_DEFAULT_ACTUATION_MS 80
#define SY_BENCH_DEFAULT_TIMEOUT_MS 2000

#define SY_BENCH_ERROR (sy_bench_error_quark ())

typedef enum
{
  SY_BENCH_ERROR_NOT_FOUND,
  SY_BENCH_ERROR_INVALID,
  SY_BENCH_ERROR_INTERLOCK,
  SY_BENCH_ERROR_TIMEOUT,
  SY_BENCH_ERROR_FORBIDDEN,
  SY_BENCH_ERROR_RATE_LIMITED,
  SY_BENCH_ERROR_UNAVAILABLE,
} SyBenchError;

/* Sensor and relay indices; ids are in the specs. */
typedef enum
{
  SY_SENSOR_TEMPERATURE,
  SY_SENSOR_HUMIDITY,
  SY_SENSOR_PRESSURE,
  SY_SENSOR_LIGHT,
  SY_SENSOR_VOLTAGE,
  SY_SENSOR_CURRENT,
} SySensor;

typedef enum
{
  SY_RELAY_HEATER,
  SY_RELAY_FAN,
  SY_RELAY_LAMP,
  SY_RELAY_PUMP,
  SY_RELAY_COOLER,
  SY_RELAY_VALVE,
  SY_RELAY_SIREN,
  SY_RELAY_AUX,
} SyRelay;

typedef struct
{
  const char *id;
  const char *name;
  const char *unit;
  double      min;
  double      max;
} SySensorSpec;

typedef struct
{
  guint64  seq;
  gint64   t_ms;
  double   values[SY_BENCH_N_SENSORS];
  gboolean stale[SY_BENCH_N_SENSORS];
  /* Another reading follows in the same turn of the main loop: the bench
   * is catching up on late ticks. */
  gboolean more;
} SyReading;

typedef struct
{
  guint       index;
  const char *id;
  const char *name;
  gboolean    on;
  gboolean    pending;
  gboolean    target;
  gboolean    stuck;
  guint       max_on_ms;
  int         safe_default;
  gint64      changed_ms;
  const char *interlock;
  gboolean    available;
} SyRelayState;

/**
 * SyRelayDone:
 * @bench: the bench
 * @relay: the relay's index
 * @error: (nullable): why the command failed (%SY_BENCH_ERROR_TIMEOUT), or %NULL
 * @user_data: closure data
 *
 * Called exactly once per accepted command, never from inside the call that
 * accepted it: when the device confirmed (sy_bench_get_relay() then holds
 * the confirmed state) or when it did not answer in time.
 */
typedef void (*SyRelayDone) (SyBench      *bench,
                             guint         relay,
                             const GError *error,
                             gpointer      user_data);

typedef enum
{
  SY_RELAY_COMMAND_SET,
  SY_RELAY_COMMAND_TOGGLE,
  SY_RELAY_COMMAND_PULSE,
  SY_RELAY_COMMAND_RENAME,
} SyRelayCommandType;

/**
 * SyRelayCommand:
 * @type: what to do
 * @relay: the relay's index
 * @on: the state, for %SY_RELAY_COMMAND_SET
 * @ms: the pulse length, for %SY_RELAY_COMMAND_PULSE
 * @name: the new name, for %SY_RELAY_COMMAND_RENAME
 *
 * A command for a mirrored relay, as handed to a `SyBenchForward`.
 */
typedef struct
{
  SyRelayCommandType  type;
  guint               relay;
  gboolean            on;
  guint               ms;
  const char         *name;
} SyRelayCommand;

/**
 * SyBenchForward:
 * @bench: the mirroring bench
 * @command: the command, valid during the call
 * @done: to call exactly once, later (never from inside this call), when
 *   the upstream answered or gave up
 * @done_data: closure data for @done
 * @user_data: what was given to sy_bench_set_mirror()
 * @error: where a refusal at once goes
 *
 * Where a mirroring bench sends the commands for its relays.
 *
 * Returns: %TRUE if the command went on its way
 */
typedef gboolean (*SyBenchForward) (SyBench              *bench,
                                    const SyRelayCommand *command,
                                    SyRelayDone           done,
                                    gpointer              done_data,
                                    gpointer              user_data,
                                    GError              **error);

GQuark               sy_bench_error_quark          (void);
const SySensorSpec  *sy_bench_get_sensor_spec      (guint          sensor);
int                  sy_bench_find_sensor          (const char    *id);

SyBench             *sy_bench_new                  (guint64        seed,
                                                    const char    *state_dir);
gboolean             sy_bench_load                 (SyBench       *self,
                                                    GError       **error);
gboolean             sy_bench_save                 (SyBench       *self,
                                                    GError       **error);
void                 sy_bench_set_clock            (SyBench       *self,
                                                    gint64         epoch_ms);
gint64               sy_bench_get_clock            (SyBench       *self);
void                 sy_bench_start                (SyBench       *self);
void                 sy_bench_stop                 (SyBench       *self);
void                 sy_bench_step                 (SyBench       *self,
                                                    gint64         dt_ms);
guint                sy_bench_get_tick_hz          (SyBench       *self);
void                 sy_bench_set_tick_hz          (SyBench       *self,
                                                    guint          tick_hz);
const SyReading     *sy_bench_get_reading          (SyBench       *self);
void                 sy_bench_set_sensor_dropout   (SyBench       *self,
                                                    guint          sensor,
                                                    gboolean       dropout);
void                 sy_bench_get_history          (SyBench       *self,
                                                    guint          sensor,
                                                    guint          seconds,
                                                    GArray        *t_ms,
                                                    GArray        *values);

int                  sy_bench_find_relay           (SyBench       *self,
                                                    const char    *id);
const SyRelayState  *sy_bench_get_relay            (SyBench       *self,
                                                    guint          relay);
gboolean             sy_bench_relay_set            (SyBench       *self,
                                                    guint          relay,
                                                    gboolean       on,
                                                    SyRelayDone    done,
                                                    gpointer       user_data,
                                                    GError       **error);
gboolean             sy_bench_relay_toggle         (SyBench       *self,
                                                    guint          relay,
                                                    SyRelayDone    done,
                                                    gpointer       user_data,
                                                    GError       **error);
gboolean             sy_bench_relay_pulse          (SyBench       *self,
                                                    guint          relay,
                                                    guint          ms,
                                                    SyRelayDone    done,
                                                    gpointer       user_data,
                                                    GError       **error);
gboolean             sy_bench_relay_rename         (SyBench       *self,
                                                    guint          relay,
                                                    const char    *name,
                                                    GError       **error);
void                 sy_bench_relay_set_stuck      (SyBench       *self,
                                                    guint          relay,
                                                    gboolean       stuck);
void                 sy_bench_relay_set_safe_default (SyBench     *self,
                                                    guint          relay,
                                                    int            safe_default);
void                 sy_bench_relay_set_max_on     (SyBench       *self,
                                                    guint          relay,
                                                    guint          max_on_ms);
void                 sy_bench_set_actuation_delay  (SyBench       *self,
                                                    guint          ms);
void                 sy_bench_set_command_timeout  (SyBench       *self,
                                                    guint          ms);
void                 sy_bench_cancel_pending       (SyBench       *self);

void                 sy_bench_set_mirror           (SyBench       *self,
                                                    SyBenchForward forward,
                                                    gpointer       user_data);
gboolean             sy_bench_is_mirror            (SyBench       *self);
gboolean             sy_bench_mirror_forward       (SyBench       *self,
                                                    const SyRelayCommand *command,
                                                    SyRelayDone    done,
                                                    gpointer       user_data,
                                                    GError       **error);
void                 sy_bench_mirror_reading       (SyBench       *self,
                                                    const SyReading *reading);
void                 sy_bench_mirror_history       (SyBench       *self,
                                                    guint          sensor,
                                                    const gint64  *t_ms,
                                                    const double  *values,
                                                    guint          n);
void                 sy_bench_mirror_relay         (SyBench       *self,
                                                    guint          relay,
                                                    const SyRelayState *state,
                                                    const char    *reason);
void                 sy_bench_mirror_set_link      (SyBench       *self,
                                                    gboolean       connected,
                                                    const char * const *chain);
const char * const  *sy_bench_get_chain            (SyBench       *self);

G_END_DECLS
