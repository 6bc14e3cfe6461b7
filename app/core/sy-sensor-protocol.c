/* sy-sensor-protocol.c
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "sy-sensor"

#include "config.h"

#include <math.h>

#include "sy-connection.h"
#include "sy-json.h"
#include "sy-sensor-protocol.h"
#include "sy-source.h"

/*
 * switchyard.sensor.v1: the catalogue, then readings at each client's rate.
 *
 * Readings are never queued behind a slow reader: when a connection still
 * has SY_SENSOR_MAX_QUEUED messages unwritten, the reading due for it is
 * skipped and counted; the next one it can take carries the latest values
 * and "skipped": how many it missed. One slow client costs the others
 * nothing and the server at most a few messages of memory for it.
 */

struct _SySensorProtocol
{
  SyJsonProtocol  parent_instance;

  /* Owned */
  SyBench        *bench;
  GSource        *uncork;
};

G_DEFINE_FINAL_TYPE (SySensorProtocol, sy_sensor_protocol, SY_TYPE_JSON_PROTOCOL)

typedef struct
{
  guint   mask;
  double  rate_hz;
  gint64  next_due;
  guint64 skipped;
} SensorClient;

#define ALL_SENSORS ((1u << SY_BENCH_N_SENSORS) - 1)

static void
append_number (GString *out,
               double   value)
{
  char buffer[G_ASCII_DTOSTR_BUF_SIZE];

  if (!isfinite (value))
    {
      g_string_append (out, "null");
      return;
    }

  g_string_append (out, g_ascii_formatd (buffer, sizeof buffer, "%.6g", value));
}

/**
 * sy_sensor_parse_reading:
 * @message: a `reading` message of another instance
 * @reading: (inout): the reading to update: its `seq`, `t_ms`, values and
 *   staleness
 *
 * A sensor the message does not give as a number is stale, holding the
 * value @reading had; so is every sensor in its `stale` list.
 *
 * Returns: whether @message has `values` (else @reading is unchanged)
 */
gboolean
sy_sensor_parse_reading (JsonObject *message,
                         SyReading  *reading)
{
  JsonNode *values;
  JsonNode *stale;

  g_return_val_if_fail (message != NULL && reading != NULL, FALSE);

  values = json_object_get_member (message, "values");
  stale = json_object_get_member (message, "stale");
  if (values == NULL || !JSON_NODE_HOLDS_OBJECT (values))
    return FALSE;

  reading->seq = (guint64) MAX (0, sy_json_object_get_int (message, "seq", 0));
  reading->t_ms = sy_json_object_get_int (message, "t", g_get_real_time () / 1000);

  for (guint i = 0; i < SY_BENCH_N_SENSORS; i++)
    {
      JsonNode *value = json_object_get_member (json_node_get_object (values), sy_bench_get_sensor_spec (i)->id);

      reading->stale[i] = !sy_json_node_get_number (value, &reading->values[i]);
    }

  if (stale != NULL && JSON_NODE_HOLDS_ARRAY (stale))
    {
      JsonArray *array = json_node_get_array (stale);

      for (guint k = 0; k < json_array_get_length (array); k++)
        {
          JsonNode *element = json_array_get_element (array, k);
          int sensor;

          if (!JSON_NODE_HOLDS_VALUE (element) || json_node_get_value_type (element) != G_TYPE_STRING)
            continue;
          sensor = sy_bench_find_sensor (json_node_get_string (element));
          if (sensor >= 0)
            reading->stale[sensor] = TRUE;
        }
    }

  return TRUE;
}

/**
 * sy_sensor_format_reading:
 * @reading: a reading
 * @mask: the sensors to put in, a bit per `SySensor`
 * @skipped: readings a slow client missed since the last one, or 0
 *
 * Returns: (transfer full): the `reading` message, as the wire and the
 *   MQTT bridge send it
 */
char *
sy_sensor_format_reading (const SyReading *reading,
                          guint            mask,
                          guint64          skipped)
{
  GString *out = g_string_sized_new (256);
  gboolean first = TRUE;

  g_string_append_printf (out, "{\"type\":\"reading\",\"seq\":%" G_GUINT64_FORMAT
                          ",\"t\":%" G_GINT64_FORMAT ",\"values\":{",
                          reading->seq, reading->t_ms);
  for (guint i = 0; i < SY_BENCH_N_SENSORS; i++)
    {
      if (!(mask & (1u << i)))
        continue;
      g_string_append_printf (out, "%s\"%s\":", first ? "" : ",", sy_bench_get_sensor_spec (i)->id);
      append_number (out, reading->values[i]);
      first = FALSE;
    }
  g_string_append (out, "},\"stale\":[");
  first = TRUE;
  for (guint i = 0; i < SY_BENCH_N_SENSORS; i++)
    {
      if (!(mask & (1u << i)) || !reading->stale[i])
        continue;
      g_string_append_printf (out, "%s\"%s\"", first ? "" : ",", sy_bench_get_sensor_spec (i)->id);
      first = FALSE;
    }
  g_string_append (out, "]");
  if (skipped > 0)
    g_string_append_printf (out, ",\"skipped\":%" G_GUINT64_FORMAT, skipped);
  g_string_append (out, "}");

  return g_string_free (out, FALSE);
}

static void
uncork_all (SySensorProtocol *self)
{
  GPtrArray *connections = sy_json_protocol_get_connections (SY_JSON_PROTOCOL (self));

  sy_clear_source (&self->uncork);
  for (guint i = 0; i < connections->len; i++)
    sy_connection_uncork (g_ptr_array_index (connections, i));
}

static gboolean
uncork_cb (gpointer data)
{
  uncork_all (data);

  return G_SOURCE_REMOVE;
}

/* Readings that come in one turn of the main loop (a bench catching up on
 * late ticks) go to each client in one write, after the last of them. The
 * idle is only a backstop, for a turn whose last reading never came. */
static void
cork (SySensorProtocol *self,
      SyConnection     *connection)
{
  sy_connection_cork (connection);
  if (self->uncork != NULL)
    return;

  self->uncork = g_idle_source_new ();
  g_source_set_priority (self->uncork, G_PRIORITY_HIGH);
  g_source_set_callback (self->uncork, uncork_cb, self, NULL);
  g_source_set_static_name (self->uncork, "[sy-sensor-protocol] uncork");
  g_source_attach (self->uncork, g_main_context_get_thread_default ());
}

static void
on_reading (SyBench         *bench,
            const SyReading *reading,
            SySensorProtocol *self)
{
  GPtrArray *connections = sy_json_protocol_get_connections (SY_JSON_PROTOCOL (self));
  gint64 now = g_get_monotonic_time ();
  gint64 tick_period = G_USEC_PER_SEC / sy_bench_get_tick_hz (bench);
  /* Clients with the same subscription share one serialisation. */
  g_autofree char *all = NULL;

  for (guint i = 0; i < connections->len; i++)
    {
      SyConnection *connection = g_ptr_array_index (connections, i);
      SensorClient *client = sy_json_protocol_get_data (connection);
      g_autofree char *own = NULL;
      const char *text;
      gint64 period;
      gboolean every;

      if (client == NULL || client->mask == 0)
        continue;

      /* A client that asks for the bench's rate or more gets every reading,
       * each of those that come together too. One that asks for fewer gets
       * them on its own schedule, and of readings that come together, the
       * newest it is due for. */
      period = (gint64) (G_USEC_PER_SEC / client->rate_hz);
      every = period <= tick_period;
      if (!every && (now < client->next_due || (reading->more && client->next_due + period > now)))
        continue;

      if (sy_connection_get_queued (connection) >= SY_SENSOR_MAX_QUEUED)
        {
          client->skipped++;
          continue;
        }

      if (client->mask == ALL_SENSORS && client->skipped == 0)
        {
          if (all == NULL)
            all = sy_sensor_format_reading (reading, ALL_SENSORS, 0);
          text = all;
        }
      else
        {
          text = own = sy_sensor_format_reading (reading, client->mask, client->skipped);
        }

      if (reading->more)
        cork (self, connection);
      if (sy_connection_send_text (connection, text))
        client->skipped = 0;

      if (!every)
        {
          client->next_due += period;
          if (client->next_due < now - period)
            client->next_due = now;
        }
    }

  if (!reading->more && self->uncork != NULL)
    uncork_all (self);
}

/**
 * sy_sensor_add_catalogue:
 * @builder: a #JsonBuilder inside an object
 *
 * Adds the bench's sensors as `"sensors":[{id,name,unit,min,max}…]`, as
 * the sensor protocol's catalogue and the MQTT bridge's `info` give them.
 */
void
sy_sensor_add_catalogue (JsonBuilder *builder)
{
  json_builder_set_member_name (builder, "sensors");
  json_builder_begin_array (builder);
  for (guint i = 0; i < SY_BENCH_N_SENSORS; i++)
    {
      const SySensorSpec *spec = sy_bench_get_sensor_spec (i);

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "id");
      json_builder_add_string_value (builder, spec->id);
      json_builder_set_member_name (builder, "name");
      json_builder_add_string_value (builder, spec->name);
      json_builder_set_member_name (builder, "unit");
      json_builder_add_string_value (builder, spec->unit);
      json_builder_set_member_name (builder, "min");
      json_builder_add_double_value (builder, spec->min);
      json_builder_set_member_name (builder, "max");
      json_builder_add_double_value (builder, spec->max);
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
}

static JsonNode *
catalogue (SySensorProtocol *self)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "type");
  json_builder_add_string_value (builder, "sensors");
  sy_sensor_add_catalogue (builder);
  json_builder_set_member_name (builder, "rate_hz");
  json_builder_add_double_value (builder, SY_SENSOR_DEFAULT_RATE_HZ);
  json_builder_set_member_name (builder, "tick_hz");
  json_builder_add_int_value (builder, sy_bench_get_tick_hz (self->bench));
  json_builder_end_object (builder);

  return json_builder_get_root (builder);
}

static void
sy_sensor_protocol_welcome (SyJsonProtocol *protocol,
                            SyConnection   *connection)
{
  SySensorProtocol *self = SY_SENSOR_PROTOCOL (protocol);
  g_autoptr(JsonNode) sensors = catalogue (self);
  g_autofree char *now = NULL;
  SensorClient *client;

  client = g_new0 (SensorClient, 1);
  client->mask = ALL_SENSORS;
  client->rate_hz = SY_SENSOR_DEFAULT_RATE_HZ;
  client->next_due = g_get_monotonic_time () + (gint64) (G_USEC_PER_SEC / client->rate_hz);
  sy_json_protocol_set_data (connection, client, g_free);

  sy_json_protocol_send_node (connection, sensors);

  /* The latest values at once, so a reconnecting client has a full picture
   * before the first tick. */
  now = sy_sensor_format_reading (sy_bench_get_reading (self->bench), ALL_SENSORS, 0);
  sy_connection_send_text (connection, now);
}

static gboolean
get_number (JsonObject *object,
            const char *member,
            double     *value)
{
  return sy_json_node_get_number (json_object_get_member (object, member), value);
}

static void
subscribe (SySensorProtocol *self,
           SyConnection     *connection,
           JsonObject       *command,
           JsonNode         *id)
{
  SensorClient *client = sy_json_protocol_get_data (connection);
  guint mask = client->mask;
  double rate = client->rate_hz;
  g_autoptr(JsonBuilder) builder = NULL;

  if (json_object_has_member (command, "sensors"))
    {
      JsonNode *node = json_object_get_member (command, "sensors");
      JsonArray *array;

      if (!JSON_NODE_HOLDS_ARRAY (node))
        {
          sy_json_protocol_send_error (SY_JSON_PROTOCOL (self), connection, id, SY_ERROR_BAD_REQUEST,
                                       "\"sensors\" must be an array of sensor ids");
          return;
        }

      array = json_node_get_array (node);
      mask = 0;
      for (guint i = 0; i < json_array_get_length (array); i++)
        {
          JsonNode *element = json_array_get_element (array, i);
          int sensor;

          if (!JSON_NODE_HOLDS_VALUE (element) || json_node_get_value_type (element) != G_TYPE_STRING)
            {
              sy_json_protocol_send_error (SY_JSON_PROTOCOL (self), connection, id, SY_ERROR_BAD_REQUEST,
                                           "\"sensors\" must be an array of sensor ids");
              return;
            }

          sensor = sy_bench_find_sensor (json_node_get_string (element));
          if (sensor < 0)
            {
              sy_json_protocol_send_error (SY_JSON_PROTOCOL (self), connection, id, SY_ERROR_BAD_REQUEST,
                                           "Unknown sensor \"%s\"", json_node_get_string (element));
              return;
            }
          mask |= 1u << sensor;
        }
    }

  if (json_object_has_member (command, "rate_hz"))
    {
      if (!get_number (command, "rate_hz", &rate))
        {
          sy_json_protocol_send_error (SY_JSON_PROTOCOL (self), connection, id, SY_ERROR_BAD_REQUEST,
                                       "\"rate_hz\" must be a number");
          return;
        }
      if (rate < SY_SENSOR_MIN_RATE_HZ || rate > SY_SENSOR_MAX_RATE_HZ)
        {
          sy_json_protocol_send_error (SY_JSON_PROTOCOL (self), connection, id, SY_ERROR_BAD_REQUEST,
                                       "\"rate_hz\" must be between %g and %g",
                                       SY_SENSOR_MIN_RATE_HZ, SY_SENSOR_MAX_RATE_HZ);
          return;
        }
    }

  client->mask = mask;
  client->rate_hz = rate;
  client->next_due = g_get_monotonic_time ();

  builder = json_builder_new ();
  json_builder_begin_array (builder);
  for (guint i = 0; i < SY_BENCH_N_SENSORS; i++)
    if (mask & (1u << i))
      json_builder_add_string_value (builder, sy_bench_get_sensor_spec (i)->id);
  json_builder_end_array (builder);

  {
    g_autoptr(JsonObject) object = json_object_new ();
    g_autoptr(JsonNode) root = json_node_new (JSON_NODE_OBJECT);

    json_object_set_string_member (object, "type", "ack");
    json_object_set_member (object, "id", json_node_copy (id));
    json_object_set_member (object, "sensors", json_builder_get_root (builder));
    json_object_set_double_member (object, "rate_hz", rate);
    json_node_set_object (root, object);
    sy_json_protocol_send_node (connection, root);
  }
}

static void
history (SySensorProtocol *self,
         SyConnection     *connection,
         JsonObject       *command,
         JsonNode         *id)
{
  JsonNode *sensor_node = json_object_get_member (command, "sensor");
  g_autoptr(GArray) times = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GArray) values = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(JsonObject) object = json_object_new ();
  g_autoptr(JsonNode) root = json_node_new (JSON_NODE_OBJECT);
  JsonArray *t_array;
  JsonArray *v_array;
  double seconds;
  int sensor;

  if (sensor_node == NULL || !JSON_NODE_HOLDS_VALUE (sensor_node) ||
      json_node_get_value_type (sensor_node) != G_TYPE_STRING)
    {
      sy_json_protocol_send_error (SY_JSON_PROTOCOL (self), connection, id, SY_ERROR_BAD_REQUEST,
                                   "\"sensor\" must be a sensor id");
      return;
    }

  sensor = sy_bench_find_sensor (json_node_get_string (sensor_node));
  if (sensor < 0)
    {
      sy_json_protocol_send_error (SY_JSON_PROTOCOL (self), connection, id, SY_ERROR_BAD_REQUEST,
                                   "Unknown sensor \"%s\"", json_node_get_string (sensor_node));
      return;
    }

  if (!get_number (command, "seconds", &seconds) || seconds != floor (seconds) ||
      seconds < 1 || seconds > SY_BENCH_HISTORY_SECONDS)
    {
      sy_json_protocol_send_error (SY_JSON_PROTOCOL (self), connection, id, SY_ERROR_BAD_REQUEST,
                                   "\"seconds\" must be a whole number from 1 to %d",
                                   SY_BENCH_HISTORY_SECONDS);
      return;
    }

  sy_bench_get_history (self->bench, sensor, (guint) seconds, times, values);

  t_array = json_array_sized_new (times->len);
  v_array = json_array_sized_new (values->len);
  for (guint i = 0; i < times->len; i++)
    {
      json_array_add_int_element (t_array, g_array_index (times, gint64, i));
      json_array_add_double_element (v_array, g_array_index (values, double, i));
    }

  json_object_set_string_member (object, "type", "history");
  json_object_set_member (object, "id", json_node_copy (id));
  json_object_set_string_member (object, "sensor", sy_bench_get_sensor_spec (sensor)->id);
  json_object_set_array_member (object, "t", t_array);
  json_object_set_array_member (object, "v", v_array);
  json_node_set_object (root, object);
  sy_json_protocol_send_node (connection, root);
}

static void
sy_sensor_protocol_command (SyJsonProtocol *protocol,
                            SyConnection   *connection,
                            const char     *type,
                            JsonObject     *command,
                            JsonNode       *id)
{
  SySensorProtocol *self = SY_SENSOR_PROTOCOL (protocol);

  if (g_strcmp0 (type, "subscribe") == 0)
    subscribe (self, connection, command, id);
  else if (g_strcmp0 (type, "history") == 0)
    history (self, connection, command, id);
  else
    sy_json_protocol_send_error (protocol, connection, id, SY_ERROR_UNKNOWN_TYPE,
                                 "Unknown type \"%s\": %s takes subscribe and history",
                                 type, SY_SENSOR_PROTOCOL_NAME);
}

static void
sy_sensor_protocol_dispose (GObject *object)
{
  SySensorProtocol *self = (SySensorProtocol *)object;

  if (self->uncork != NULL)
    uncork_all (self);
  if (self->bench != NULL)
    g_signal_handlers_disconnect_by_data (self->bench, self);
  g_clear_object (&self->bench);

  G_OBJECT_CLASS (sy_sensor_protocol_parent_class)->dispose (object);
}

static void
sy_sensor_protocol_class_init (SySensorProtocolClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  SyJsonProtocolClass *json_class = SY_JSON_PROTOCOL_CLASS (klass);

  object_class->dispose = sy_sensor_protocol_dispose;

  json_class->welcome = sy_sensor_protocol_welcome;
  json_class->command = sy_sensor_protocol_command;
}

static void
sy_sensor_protocol_init (SySensorProtocol *self)
{
}

/**
 * sy_sensor_protocol_new:
 * @bench: the bench whose readings to stream
 *
 * Returns: (transfer full): switchyard.sensor.v1
 */
SySubprotocol *
sy_sensor_protocol_new (SyBench *bench)
{
  SySensorProtocol *self;

  g_return_val_if_fail (SY_IS_BENCH (bench), NULL);

  self = g_object_new (SY_TYPE_SENSOR_PROTOCOL,
                       "name", SY_SENSOR_PROTOCOL_NAME,
                       "role", SY_ROLE_VIEW,
                       NULL);
  self->bench = g_object_ref (bench);
  g_signal_connect (bench, "reading", G_CALLBACK (on_reading), self);

  return SY_SUBPROTOCOL (self);
}
