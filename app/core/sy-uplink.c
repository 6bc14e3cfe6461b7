/* sy-uplink.c
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "sy-uplink"

#include "config.h"

#include "sy-client.h"
#include "sy-json.h"
#include "sy-relay-protocol.h"
#include "sy-sensor-protocol.h"
#include "sy-source.h"
#include "sy-uplink.h"

/*
 * A relay server's link to its upstream Switchyard.
 *
 * The uplink makes the bench a mirror (sy_bench_set_mirror()) and keeps two
 * client connections to the upstream, switchyard.sensor.v1 and
 * switchyard.relay.v1, as one link: both open, or the link is down and
 * both are dropped and opened again. Down the link come the catalogue's
 * tick rate, every reading, an hour of history per sensor and every relay
 * state, which the bench passes on to its own clients as if they were its
 * own; up it go the commands of those clients, each under an id of the
 * uplink's, whose ack or error is handed back to the command's done
 * callback and so to the client that asked.
 *
 * While the link is down every relay is unavailable (commands are refused
 * with "unavailable", outstanding ones fail so) and every sensor stale, in a
 * reading a second. Reconnects back off from 0.5 s to 15 s with jitter; a
 * refused handshake or a loop waits the longest.
 *
 * Loops: every server run has an instance id (the prefix of its hello's
 * `session`), and a relay server's `relays` snapshot carries the chain of
 * instances its relays come from. A link whose upstream is this instance,
 * or whose chain holds it, is a loop: it is dropped and reported. Chains
 * travel down with every change of link (a new snapshot), so two instances
 * that link to each other at the same moment still find out.
 *
 * Everything runs on the thread-default main context of the caller of
 * sy_uplink_start(), the server's thread.
 */

#define BACKOFF_INITIAL_MS    500
#define BACKOFF_MAX_MS        15000
#define KEEPALIVE_INTERVAL_S  1
#define PONG_TIMEOUT_MS       2000
#define STALE_INTERVAL_MS     1000
#define STOP_DEADLINE_MS      1000
#define HISTORY_SECONDS       3600
/* The mirror records a history point from the first reading of each
 * second; the upstream's own point is the value at the whole second. Every
 * few seconds the last seconds are fetched again to put the upstream's in. */
#define HISTORY_REFRESH_S     5
#define HISTORY_REFRESH_SPAN  (3 * HISTORY_REFRESH_S)

struct _SyUplink
{
  GObject        parent_instance;

  /* Owned */
  SyBench       *bench;
  char          *url;
  char          *token;
  char          *instance;
  GTlsDatabase  *tls_database;
  SyClient      *sensor;
  SyClient      *relay;
  GHashTable    *outstanding;
  GSource       *retry;
  GSource       *stale;
  GSource       *refresh;
  char          *upstream_instance;
  GStrv          chain;
  char          *problem;

  SyUplinkState  state;
  SyRole         upstream_role;
  guint          next_id;
  guint          failures;
  guint          running : 1;
  guint          mirroring : 1;
};

G_DEFINE_FINAL_TYPE (SyUplink, sy_uplink, G_TYPE_OBJECT)

typedef struct
{
  guint        relay;
  SyRelayDone  done;
  gpointer     done_data;
} Outstanding;

static void sy_uplink_connect (SyUplink *self);

static GSource *
add_timeout (guint        ms,
             GSourceFunc  func,
             gpointer     data,
             const char  *name)
{
  return sy_timeout_source_attach (g_main_context_get_thread_default (), ms, func, data, name);
}

/**
 * sy_uplink_parse_url:
 * @url: the upstream: its WebSocket endpoint (`ws://HOST:PORT/ws`), or
 *   the page link it prints (`http://HOST:PORT/?token=…`)
 * @ws_url: (out): the WebSocket endpoint, without a query
 * @token: (out) (nullable): the token in @url's query, or %NULL
 * @error: a %SY_CLIENT_ERROR_BAD_URL error
 *
 * Returns: whether @url names an upstream
 */
gboolean
sy_uplink_parse_url (const char  *url,
                     char       **ws_url,
                     char       **token,
                     GError     **error)
{
  g_autoptr(GUri) uri = NULL;
  g_autoptr(GUri) endpoint = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autofree char *found = NULL;
  const char *scheme;
  const char *path;
  gboolean secure;

  g_return_val_if_fail (url != NULL, FALSE);
  g_return_val_if_fail (ws_url != NULL && token != NULL, FALSE);

  uri = g_uri_parse (url, G_URI_FLAGS_ENCODED, &local_error);
  if (uri == NULL)
    {
      g_set_error (error, SY_CLIENT_ERROR, SY_CLIENT_ERROR_BAD_URL,
                   "Invalid uplink URL '%s': %s", url, local_error->message);
      return FALSE;
    }

  scheme = g_uri_get_scheme (uri);
  if (g_ascii_strcasecmp (scheme, "ws") == 0 || g_ascii_strcasecmp (scheme, "http") == 0)
    secure = FALSE;
  else if (g_ascii_strcasecmp (scheme, "wss") == 0 || g_ascii_strcasecmp (scheme, "https") == 0)
    secure = TRUE;
  else
    {
      g_set_error (error, SY_CLIENT_ERROR, SY_CLIENT_ERROR_BAD_URL,
                   "Invalid uplink URL '%s': the scheme must be ws, wss, http or https, not %s",
                   url, scheme);
      return FALSE;
    }

  if (g_uri_get_host (uri) == NULL || *g_uri_get_host (uri) == '\0')
    {
      g_set_error (error, SY_CLIENT_ERROR, SY_CLIENT_ERROR_BAD_URL,
                   "Invalid uplink URL '%s': no host", url);
      return FALSE;
    }

  if (g_uri_get_fragment (uri) != NULL)
    {
      g_set_error (error, SY_CLIENT_ERROR, SY_CLIENT_ERROR_BAD_URL,
                   "Invalid uplink URL '%s': it cannot have a fragment (#...)", url);
      return FALSE;
    }

  /* A page link (http, or a path that is not the endpoint) means the
   * server's endpoint on the same origin. */
  path = g_uri_get_path (uri);
  if (g_ascii_strncasecmp (scheme, "http", 4) == 0 || *path == '\0' || g_str_equal (path, "/"))
    path = "/ws";

  if (g_uri_get_query (uri) != NULL)
    {
      g_autoptr(GHashTable) params = g_uri_parse_params (g_uri_get_query (uri), -1, "&",
                                                         G_URI_PARAMS_NONE, NULL);

      if (params != NULL && g_hash_table_lookup (params, "token") != NULL)
        found = g_strdup (g_hash_table_lookup (params, "token"));
    }

  endpoint = g_uri_build (G_URI_FLAGS_ENCODED, secure ? "wss" : "ws", NULL,
                          g_uri_get_host (uri), g_uri_get_port (uri), path, NULL, NULL);
  *ws_url = g_uri_to_string (endpoint);
  *token = g_steal_pointer (&found);

  return TRUE;
}

static void
sy_uplink_set_problem (SyUplink      *self,
                       SyUplinkState  state,
                       const char    *problem)
{
  self->state = state;
  g_free (self->problem);
  self->problem = g_strdup (problem);
}

/* Every command still waiting for the upstream gets @error. */
static void
fail_outstanding (SyUplink     *self,
                  const GError *error)
{
  g_autoptr(GHashTable) outstanding = g_steal_pointer (&self->outstanding);
  GHashTableIter iter;
  gpointer value;

  self->outstanding = g_hash_table_new_full (NULL, NULL, NULL, g_free);

  g_hash_table_iter_init (&iter, outstanding);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      Outstanding *o = value;

      if (o->done != NULL)
        o->done (self->bench, o->relay, error, o->done_data);
    }
}

static gboolean
stale_cb (gpointer data)
{
  SyUplink *self = data;
  SyReading reading = *sy_bench_get_reading (self->bench);

  for (guint i = 0; i < SY_BENCH_N_SENSORS; i++)
    reading.stale[i] = TRUE;
  sy_bench_mirror_reading (self->bench, &reading);

  return G_SOURCE_CONTINUE;
}

static void
start_stale_readings (SyUplink *self)
{
  if (self->stale == NULL)
    self->stale = add_timeout (STALE_INTERVAL_MS, stale_cb, self, "[sy-uplink] stale readings");
}

static void
drop_client (SyClient **client)
{
  if (*client == NULL)
    return;

  /* The close runs on; its task keeps the client until it is over. */
  if (sy_client_is_open (*client))
    sy_client_close_async (*client, SY_CLOSE_GOING_AWAY, "relay server reconnecting",
                           STOP_DEADLINE_MS, NULL, NULL, NULL);
  g_clear_object (client);
}

static gboolean
retry_cb (gpointer data)
{
  SyUplink *self = data;

  sy_clear_source (&self->retry);
  sy_uplink_connect (self);

  return G_SOURCE_REMOVE;
}

/* The link is down (or refused): drop it, make everything unavailable and
 * stale, and try again later. */
static void
link_down (SyUplink      *self,
           SyUplinkState  state,
           const char    *problem)
{
  g_autoptr(GError) error = NULL;
  guint delay;

  if (self->sensor == NULL && self->relay == NULL)
    return;

  drop_client (&self->sensor);
  drop_client (&self->relay);
  sy_clear_source (&self->refresh);

  if (state == SY_UPLINK_CONNECTING)
    delay = sy_client_backoff_delay (self->failures, BACKOFF_INITIAL_MS, BACKOFF_MAX_MS,
                                     g_random_double ());
  else
    delay = BACKOFF_MAX_MS;
  self->failures++;

  if (self->state == SY_UPLINK_CONNECTED || self->state != state ||
      g_strcmp0 (self->problem, problem) != 0)
    g_warning ("Uplink to %s: %s; trying again in %.1f s", self->url, problem, delay / 1000.0);
  else
    g_debug ("Uplink to %s: %s; trying again in %.1f s", self->url, problem, delay / 1000.0);

  sy_uplink_set_problem (self, state, problem);
  g_clear_pointer (&self->upstream_instance, g_free);
  g_clear_pointer (&self->chain, g_strfreev);
  self->upstream_role = SY_ROLE_NONE;

  error = g_error_new (SY_BENCH_ERROR, SY_BENCH_ERROR_UNAVAILABLE,
                       "The link to the upstream Switchyard was lost before it answered");
  fail_outstanding (self, error);
  sy_bench_mirror_set_link (self->bench, FALSE, NULL);
  start_stale_readings (self);

  sy_clear_source (&self->retry);
  self->retry = add_timeout (delay, retry_cb, self, "[sy-uplink] retry");
}

static gboolean
is_current (SyUplink *self,
            SyClient *client)
{
  return self->running && client != NULL && (client == self->sensor || client == self->relay);
}

/* Relays */

/* An upstream relay object onto the bench's relay of the same id. */
static void
mirror_relay (SyUplink   *self,
              JsonNode   *node,
              const char *reason)
{
  JsonObject *object;
  SyRelayState state = { 0 };
  const char *id;
  int index;

  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    return;

  object = json_node_get_object (node);
  id = sy_json_object_get_string (object, "id");
  index = id != NULL ? sy_bench_find_relay (self->bench, id) : -1;
  if (index < 0)
    return;

  /* An upstream that does not say is a bench of its own: available. */
  sy_relay_state_from_json (object, &state);

  sy_bench_mirror_relay (self->bench, (guint) index, &state, reason);
}

static gboolean
chain_holds (const char * const *chain,
             const char         *instance)
{
  return chain != NULL && g_strv_contains (chain, instance);
}

static void
on_relays (SyUplink   *self,
           JsonObject *message)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_auto(GStrv) chain = NULL;
  JsonNode *chain_node = json_object_get_member (message, "chain");
  JsonNode *relays = json_object_get_member (message, "relays");
  g_autofree char *joined = NULL;

  if (self->upstream_instance == NULL)
    {
      link_down (self, SY_UPLINK_CONNECTING, "the upstream sent relays before its hello");
      return;
    }

  g_strv_builder_add (builder, self->upstream_instance);
  if (chain_node != NULL && JSON_NODE_HOLDS_ARRAY (chain_node))
    {
      JsonArray *array = json_node_get_array (chain_node);

      for (guint i = 0; i < json_array_get_length (array); i++)
        {
          JsonNode *element = json_array_get_element (array, i);

          if (JSON_NODE_HOLDS_VALUE (element) && json_node_get_value_type (element) == G_TYPE_STRING)
            g_strv_builder_add (builder, json_node_get_string (element));
        }
    }
  chain = g_strv_builder_end (builder);
  joined = g_strjoinv (" ← ", chain);

  if (chain_holds ((const char * const *) chain, self->instance))
    {
      g_autofree char *problem = g_strdup_printf ("refused: the upstream leads back to this instance "
                                                  "(%s ← %s), a loop", self->instance, joined);

      link_down (self, SY_UPLINK_LOOP, problem);
      return;
    }

  if (relays != NULL && JSON_NODE_HOLDS_ARRAY (relays))
    {
      JsonArray *array = json_node_get_array (relays);

      for (guint i = 0; i < json_array_get_length (array); i++)
        mirror_relay (self, json_array_get_element (array, i), "resync");
    }

  if (self->state != SY_UPLINK_CONNECTED)
    g_message ("Uplink to %s: mirroring its hardware (role %s there; chain %s)",
               self->url, sy_role_to_string (self->upstream_role), joined);

  g_clear_pointer (&self->chain, g_strfreev);
  self->chain = g_steal_pointer (&chain);
  self->failures = 0;
  sy_uplink_set_problem (self, SY_UPLINK_CONNECTED, NULL);
  sy_bench_mirror_set_link (self->bench, TRUE, (const char * const *) self->chain);
}

static void
on_answer (SyUplink   *self,
           JsonObject *message,
           gboolean    is_error)
{
  JsonNode *id = json_object_get_member (message, "id");
  Outstanding *o;

  if (id == NULL || !JSON_NODE_HOLDS_VALUE (id) || json_node_get_value_type (id) != G_TYPE_INT64 ||
      !g_hash_table_steal_extended (self->outstanding, GUINT_TO_POINTER ((guint) json_node_get_int (id)),
                                    NULL, (gpointer *) &o))
    {
      if (is_error)
        g_warning ("Uplink to %s: the upstream answered an error to no command: %s",
                   self->url, sy_json_object_get_string (message, "message"));
      return;
    }

  if (!is_error)
    {
      if (o->done != NULL)
        o->done (self->bench, o->relay, NULL, o->done_data);
    }
  else
    {
      const char *text = sy_json_object_get_string (message, "message");
      g_autoptr(GError) error = NULL;

      error = g_error_new (SY_BENCH_ERROR, sy_relay_error_from_code (sy_json_object_get_string (message, "code")),
                           "%s", text ? text : "The upstream refused the command");
      if (o->done != NULL)
        o->done (self->bench, o->relay, error, o->done_data);
    }

  g_free (o);
}

static void
on_relay_message (SyUplink   *self,
                  const char *type,
                  JsonObject *message)
{
  if (g_strcmp0 (type, "hello") == 0)
    {
      const char *role = sy_json_object_get_string (message, "role");
      const char *session = sy_json_object_get_string (message, "session");
      const char *dash = session ? strrchr (session, '-') : NULL;

      self->upstream_role = g_strcmp0 (role, "control") == 0 ? SY_ROLE_CONTROL :
                            g_strcmp0 (role, "view") == 0 ? SY_ROLE_VIEW : SY_ROLE_NONE;
      g_free (self->upstream_instance);
      self->upstream_instance = session ? g_strndup (session, dash ? (gsize) (dash - session) : strlen (session))
                                        : g_strdup ("?");
      if (g_strcmp0 (self->upstream_instance, self->instance) == 0)
        link_down (self, SY_UPLINK_LOOP, "refused: the upstream is this very instance, a loop");
    }
  else if (g_strcmp0 (type, "relays") == 0)
    on_relays (self, message);
  else if (g_strcmp0 (type, "relay") == 0)
    {
      const char *reason = sy_json_object_get_string (message, "reason");

      mirror_relay (self, json_object_get_member (message, "relay"), reason ? reason : "");
    }
  else if (g_strcmp0 (type, "ack") == 0)
    on_answer (self, message, FALSE);
  else if (g_strcmp0 (type, "error") == 0)
    on_answer (self, message, TRUE);
}

/* Sensors */

static void
request_history (SyUplink *self,
                 guint     seconds)
{
  for (guint i = 0; i < SY_BENCH_N_SENSORS; i++)
    {
      g_autofree char *history = NULL;

      history = g_strdup_printf ("{\"type\":\"history\",\"id\":\"uplink-%s\",\"sensor\":\"%s\",\"seconds\":%u}",
                                 sy_bench_get_sensor_spec (i)->id, sy_bench_get_sensor_spec (i)->id,
                                 seconds);
      if (!sy_client_send_text (self->sensor, history, NULL))
        return;
    }
}

static gboolean
refresh_cb (gpointer data)
{
  SyUplink *self = data;

  if (self->sensor != NULL && sy_client_is_open (self->sensor))
    request_history (self, HISTORY_REFRESH_SPAN);

  return G_SOURCE_CONTINUE;
}

static void
on_sensors (SyUplink   *self,
            JsonObject *message)
{
  gint64 tick_hz = sy_json_object_get_int (message, "tick_hz", SY_BENCH_DEFAULT_TICK_HZ);
  g_autofree char *subscribe = NULL;

  sy_bench_set_tick_hz (self->bench, (guint) CLAMP (tick_hz, SY_BENCH_MIN_TICK_HZ, SY_BENCH_MAX_TICK_HZ));

  /* Every reading the upstream makes, and the hour of history behind them. */
  subscribe = g_strdup_printf ("{\"type\":\"subscribe\",\"id\":\"uplink\",\"rate_hz\":%g}", SY_SENSOR_MAX_RATE_HZ);
  if (!sy_client_send_text (self->sensor, subscribe, NULL))
    return;

  request_history (self, HISTORY_SECONDS);
  sy_clear_source (&self->refresh);
  self->refresh = add_timeout (HISTORY_REFRESH_S * 1000, refresh_cb, self, "[sy-uplink] history refresh");
}

static void
on_reading (SyUplink   *self,
            JsonObject *message)
{
  SyReading reading = *sy_bench_get_reading (self->bench);

  /* A sensor the upstream does not report (as a number) is stale here,
   * holding its last value. */
  if (!sy_sensor_parse_reading (message, &reading))
    return;

  sy_clear_source (&self->stale);
  sy_bench_mirror_reading (self->bench, &reading);
}

static void
on_history (SyUplink   *self,
            JsonObject *message)
{
  const char *id = sy_json_object_get_string (message, "sensor");
  JsonNode *t = json_object_get_member (message, "t");
  JsonNode *v = json_object_get_member (message, "v");
  g_autoptr(GArray) times = NULL;
  g_autoptr(GArray) values = NULL;
  JsonArray *ta, *va;
  int sensor;

  sensor = id != NULL ? sy_bench_find_sensor (id) : -1;
  if (sensor < 0 || t == NULL || v == NULL || !JSON_NODE_HOLDS_ARRAY (t) || !JSON_NODE_HOLDS_ARRAY (v))
    return;

  ta = json_node_get_array (t);
  va = json_node_get_array (v);
  times = g_array_new (FALSE, FALSE, sizeof (gint64));
  values = g_array_new (FALSE, FALSE, sizeof (double));

  for (guint k = 0; k < MIN (json_array_get_length (ta), json_array_get_length (va)); k++)
    {
      gint64 time_ms;
      double when, value;

      if (!sy_json_node_get_number (json_array_get_element (ta, k), &when) ||
          !sy_json_node_get_number (json_array_get_element (va, k), &value))
        continue;
      time_ms = (gint64) when;
      g_array_append_val (times, time_ms);
      g_array_append_val (values, value);
    }

  sy_bench_mirror_history (self->bench, (guint) sensor,
                           (const gint64 *) (gpointer) times->data,
                           (const double *) (gpointer) values->data, times->len);
}

static void
on_sensor_message (SyUplink   *self,
                   const char *type,
                   JsonObject *message)
{
  if (g_strcmp0 (type, "reading") == 0)
    on_reading (self, message);
  else if (g_strcmp0 (type, "sensors") == 0)
    on_sensors (self, message);
  else if (g_strcmp0 (type, "history") == 0)
    on_history (self, message);
  else if (g_strcmp0 (type, "error") == 0)
    g_warning ("Uplink to %s: the upstream's sensor protocol answered: %s",
               self->url, sy_json_object_get_string (message, "message"));
}

/* The link */

static void read_next (SyUplink *self,
                       SyClient *client);

static void
read_cb (GObject      *object,
         GAsyncResult *result,
         gpointer      user_data)
{
  g_autoptr(SyUplink) self = user_data;
  SyClient *client = SY_CLIENT (object);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(JsonParser) parser = NULL;
  SoupWebsocketDataType data_type;
  JsonNode *root;
  const char *type;
  const char *text;
  gsize len;

  bytes = sy_client_read_finish (client, result, &data_type, &error);
  if (!is_current (self, client))
    return;

  if (bytes == NULL)
    {
      link_down (self, SY_UPLINK_CONNECTING, error->message);
      return;
    }

  text = g_bytes_get_data (bytes, &len);
  parser = json_parser_new_immutable ();
  if (data_type != SOUP_WEBSOCKET_DATA_TEXT || !json_parser_load_from_data (parser, text, (gssize) len, NULL) ||
      (root = json_parser_get_root (parser)) == NULL || !JSON_NODE_HOLDS_OBJECT (root) ||
      (type = sy_json_object_get_string (json_node_get_object (root), "type")) == NULL)
    {
      g_warning ("Uplink to %s: ignoring a message that is not a JSON object with a type", self->url);
    }
  else if (client == self->relay)
    on_relay_message (self, type, json_node_get_object (root));
  else
    on_sensor_message (self, type, json_node_get_object (root));

  if (is_current (self, client))
    read_next (self, client);
}

static void
read_next (SyUplink *self,
           SyClient *client)
{
  sy_client_read_async (client, 0, NULL, read_cb, g_object_ref (self));
}

static void
connect_cb (GObject      *object,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(SyUplink) self = user_data;
  SyClient *client = SY_CLIENT (object);
  g_autoptr(GError) error = NULL;

  if (!sy_client_connect_finish (client, result, &error))
    {
      if (is_current (self, client))
        link_down (self, g_error_matches (error, SY_CLIENT_ERROR, SY_CLIENT_ERROR_HANDSHAKE)
                           ? SY_UPLINK_REFUSED : SY_UPLINK_CONNECTING,
                   error->message);
      return;
    }

  if (is_current (self, client))
    read_next (self, client);
}

static SyClient *
client_new (SyUplink   *self,
            const char *protocol)
{
  g_autoptr(GError) error = NULL;
  SyClient *client;

  client = sy_client_new (self->url, protocol, &error);
  g_assert_no_error (error);

  if (self->token != NULL)
    sy_client_set_token (client, self->token);
  if (self->tls_database != NULL)
    sy_client_set_tls_database (client, self->tls_database);
  sy_client_set_keepalive (client, KEEPALIVE_INTERVAL_S, PONG_TIMEOUT_MS);
  sy_client_set_reconnect (client, 1, BACKOFF_INITIAL_MS, BACKOFF_MAX_MS);

  return client;
}

static void
sy_uplink_connect (SyUplink *self)
{
  g_assert (self->sensor == NULL && self->relay == NULL);

  self->sensor = client_new (self, SY_SENSOR_PROTOCOL_NAME);
  self->relay = client_new (self, SY_RELAY_PROTOCOL_NAME);
  sy_client_connect_async (self->relay, NULL, connect_cb, g_object_ref (self));
  sy_client_connect_async (self->sensor, NULL, connect_cb, g_object_ref (self));
}

/* Commands */

static gboolean
forward_cb (SyBench              *bench,
            const SyRelayCommand *command,
            SyRelayDone           done,
            gpointer              done_data,
            gpointer              user_data,
            GError              **error)
{
  SyUplink *self = user_data;
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *text = NULL;
  g_autoptr(GError) send_error = NULL;
  Outstanding *o;
  JsonNode *id_node;
  guint id;

  if (self->state != SY_UPLINK_CONNECTED || self->relay == NULL)
    {
      g_set_error (error, SY_BENCH_ERROR, SY_BENCH_ERROR_UNAVAILABLE,
                   "%s is unavailable: the Switchyard it is mirrored from is not connected",
                   sy_bench_get_relay (bench, command->relay)->name);
      return FALSE;
    }

  if (self->upstream_role < SY_ROLE_CONTROL)
    {
      g_set_error (error, SY_BENCH_ERROR, SY_BENCH_ERROR_FORBIDDEN,
                   "This relay server's uplink has the view role upstream: "
                   "commanding relays needs an uplink token with the control role");
      return FALSE;
    }

  id = ++self->next_id;
  id_node = json_node_new (JSON_NODE_VALUE);
  json_node_set_int (id_node, id);
  root = sy_relay_command_to_json (bench, command, id_node);
  text = json_to_string (root, FALSE);

  if (!sy_client_send_text (self->relay, text, &send_error))
    {
      g_set_error (error, SY_BENCH_ERROR, SY_BENCH_ERROR_UNAVAILABLE,
                   "%s is unavailable: %s", sy_bench_get_relay (bench, command->relay)->name,
                   send_error->message);
      return FALSE;
    }

  o = g_new0 (Outstanding, 1);
  o->relay = command->relay;
  o->done = done;
  o->done_data = done_data;
  g_hash_table_insert (self->outstanding, GUINT_TO_POINTER (id), o);

  return TRUE;
}

/* The object */

static void
sy_uplink_dispose (GObject *object)
{
  SyUplink *self = (SyUplink *)object;

  sy_uplink_stop (self);

  G_OBJECT_CLASS (sy_uplink_parent_class)->dispose (object);
}

static void
sy_uplink_finalize (GObject *object)
{
  SyUplink *self = (SyUplink *)object;

  g_clear_object (&self->bench);
  g_clear_object (&self->tls_database);
  g_clear_pointer (&self->outstanding, g_hash_table_unref);
  g_clear_pointer (&self->url, g_free);
  g_clear_pointer (&self->token, g_free);
  g_clear_pointer (&self->instance, g_free);
  g_clear_pointer (&self->upstream_instance, g_free);
  g_clear_pointer (&self->chain, g_strfreev);
  g_clear_pointer (&self->problem, g_free);

  G_OBJECT_CLASS (sy_uplink_parent_class)->finalize (object);
}

static void
sy_uplink_class_init (SyUplinkClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = sy_uplink_dispose;
  object_class->finalize = sy_uplink_finalize;
}

static void
sy_uplink_init (SyUplink *self)
{
  self->outstanding = g_hash_table_new_full (NULL, NULL, NULL, g_free);
}

/**
 * sy_uplink_new:
 * @bench: the bench to make a mirror while the uplink runs
 * @url: the upstream's WebSocket endpoint (see sy_uplink_parse_url())
 * @token: (nullable): the token to present upstream
 * @instance: this server run's instance id (its session prefix)
 *
 * Returns: (transfer full): an uplink that is not started
 */
SyUplink *
sy_uplink_new (SyBench    *bench,
               const char *url,
               const char *token,
               const char *instance)
{
  SyUplink *self;

  g_return_val_if_fail (SY_IS_BENCH (bench), NULL);
  g_return_val_if_fail (url != NULL, NULL);
  g_return_val_if_fail (instance != NULL, NULL);

  self = g_object_new (SY_TYPE_UPLINK, NULL);
  self->bench = g_object_ref (bench);
  self->url = g_strdup (url);
  self->token = g_strdup (token);
  self->instance = g_strdup (instance);

  return self;
}

/**
 * sy_uplink_set_tls_database:
 * @self: a `SyUplink`
 * @database: (nullable): the certificates to trust for a wss:// upstream,
 *   or %NULL for the system's
 */
void
sy_uplink_set_tls_database (SyUplink     *self,
                            GTlsDatabase *database)
{
  g_return_if_fail (SY_IS_UPLINK (self));

  g_set_object (&self->tls_database, database);
}

/**
 * sy_uplink_start:
 * @self: a `SyUplink`
 *
 * Makes the bench a mirror and connects. Call before the bench starts, on
 * the context the bench runs on.
 */
void
sy_uplink_start (SyUplink *self)
{
  g_return_if_fail (SY_IS_UPLINK (self));

  if (self->running)
    return;

  self->running = TRUE;
  self->failures = 0;
  sy_uplink_set_problem (self, SY_UPLINK_CONNECTING, "connecting");
  sy_bench_set_mirror (self->bench, forward_cb, self);
  self->mirroring = TRUE;
  start_stale_readings (self);
  g_message ("Uplink to %s: this instance (%s) mirrors that Switchyard's hardware", self->url, self->instance);
  sy_uplink_connect (self);
}

static void
close_done_cb (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  guint *closing = user_data;

  sy_client_close_finish (SY_CLIENT (object), result, NULL);
  (*closing)--;
}

/**
 * sy_uplink_stop:
 * @self: a `SyUplink`
 *
 * Closes the link (1001), fails the commands still upstream as cancelled,
 * and gives the bench its own state back. Call after the bench stopped. It
 * waits up to a second for the upstream's close frames.
 */
void
sy_uplink_stop (SyUplink *self)
{
  g_autoptr(GError) error = NULL;
  SyClient *clients[2];
  guint closing = 0;

  g_return_if_fail (SY_IS_UPLINK (self));

  if (!self->running)
    return;

  self->running = FALSE;
  sy_clear_source (&self->retry);
  sy_clear_source (&self->stale);
  sy_clear_source (&self->refresh);

  clients[0] = g_steal_pointer (&self->sensor);
  clients[1] = g_steal_pointer (&self->relay);
  for (guint i = 0; i < G_N_ELEMENTS (clients); i++)
    {
      if (clients[i] != NULL && sy_client_is_open (clients[i]))
        {
          closing++;
          sy_client_close_async (clients[i], SY_CLOSE_GOING_AWAY, "relay server shutting down",
                                 STOP_DEADLINE_MS, NULL, close_done_cb, &closing);
        }
    }

  /* Each close ends by its own deadline, clean or not. */
  while (closing > 0)
    g_main_context_iteration (g_main_context_get_thread_default (), TRUE);

  for (guint i = 0; i < G_N_ELEMENTS (clients); i++)
    g_clear_object (&clients[i]);

  error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED, "The relay server is shutting down");
  fail_outstanding (self, error);

  if (self->mirroring)
    {
      sy_bench_set_mirror (self->bench, NULL, NULL);
      self->mirroring = FALSE;
    }

  sy_uplink_set_problem (self, SY_UPLINK_CONNECTING, "stopped");
}

/**
 * sy_uplink_get_state:
 * @self: a `SyUplink`
 *
 * Returns: how the link is
 */
SyUplinkState
sy_uplink_get_state (SyUplink *self)
{
  g_return_val_if_fail (SY_IS_UPLINK (self), SY_UPLINK_CONNECTING);

  return self->state;
}

/**
 * sy_uplink_get_url:
 * @self: a `SyUplink`
 *
 * Returns: the upstream's endpoint, without a token
 */
const char *
sy_uplink_get_url (SyUplink *self)
{
  g_return_val_if_fail (SY_IS_UPLINK (self), NULL);

  return self->url;
}

/**
 * sy_uplink_get_problem:
 * @self: a `SyUplink`
 *
 * Returns: (nullable): why the link is not up, or %NULL while it is
 */
const char *
sy_uplink_get_problem (SyUplink *self)
{
  g_return_val_if_fail (SY_IS_UPLINK (self), NULL);

  return self->problem;
}

/**
 * sy_uplink_to_json:
 * @self: a `SyUplink`
 *
 * Returns: (transfer full): `{"url","state","role","chain","problem"}` for
 *   `/api/status`; never the token
 */
JsonNode *
sy_uplink_to_json (SyUplink *self)
{
  static const char * const states[] = { "connecting", "connected", "refused", "loop" };
  g_autoptr(JsonBuilder) builder = json_builder_new_immutable ();

  g_return_val_if_fail (SY_IS_UPLINK (self), NULL);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "url");
  json_builder_add_string_value (builder, self->url);
  json_builder_set_member_name (builder, "state");
  json_builder_add_string_value (builder, states[self->state]);
  json_builder_set_member_name (builder, "role");
  if (self->state == SY_UPLINK_CONNECTED)
    json_builder_add_string_value (builder, sy_role_to_string (self->upstream_role));
  else
    json_builder_add_null_value (builder);
  json_builder_set_member_name (builder, "chain");
  json_builder_begin_array (builder);
  for (guint i = 0; self->chain != NULL && self->chain[i] != NULL; i++)
    json_builder_add_string_value (builder, self->chain[i]);
  json_builder_end_array (builder);
  json_builder_set_member_name (builder, "problem");
  if (self->problem != NULL)
    json_builder_add_string_value (builder, self->problem);
  else
    json_builder_add_null_value (builder);
  json_builder_end_object (builder);

  return json_builder_get_root (builder);
}
