/* sy-server.c
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "sy-server"

#include "config.h"

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <string.h>

#include "sy-connection-info-private.h"
#include "sy-connection-private.h"
#include "sy-display-protocol.h"
#include "sy-json-protocol.h"
#include "sy-log-protocol.h"
#include "sy-program-protocol.h"
#include "sy-relay-protocol.h"
#include "sy-sensor-protocol.h"
#include "sy-server.h"
#include "sy-token.h"
#include "sy-mqtt.h"
#include "sy-uplink.h"
#include "sy-wire-guard.h"

/*
 * SyServer runs libsoup on a thread of its own, with its own GMainContext,
 * so that a busy window never adds latency to the network and a flood of
 * clients never freezes the window.
 *
 * Everything that lives on the server thread (the SoupServer, the
 * SyConnections, the subprotocols once started) is only touched there. The
 * thread that called sy_server_start() (the "owner", normally the GUI
 * thread) only sees copies: a queue of events that an idle source in the
 * owner's context drains in batches into a GListStore of SyConnectionInfo.
 * Commands from the owner (stop, close a connection) travel the other way
 * with g_main_context_invoke().
 */

#define WEB_RESOURCE_PREFIX "/io/github/switchyard/Switchyard/web"
/* libsoup 3.2 has no name for it. */
#define SY_STATUS_UPGRADE_REQUIRED  426
#define SY_STATUS_TOO_MANY_REQUESTS 429

#define STATS_INTERVAL_MS   250
#define SHUTDOWN_CLOSE_MS   800
#define SY_SERVER_LISTEN_BACKLOG 1024

/* Connection ids are keys of direct hash tables. */
#define ID_KEY(id) GSIZE_TO_POINTER ((gsize) (id))

typedef enum
{
  EVENT_ADD,
  EVENT_UPDATE,
  EVENT_REMOVE,
} EventKind;

typedef struct
{
  EventKind          kind;
  guint64            id;
  SyConnectionInfo  *info;
  SyConnectionStats  stats;
} Event;

struct _SyServer
{
  GObject        parent_instance;

  /* Configuration: set before start, read-only while running. */
  char          *bind_address;
  guint          port;
  guint          max_connections;
  guint64        max_message_size;
  guint          ping_interval;
  SyRole         default_role;
  GPtrArray     *protocols;
  SyBench       *bench;
  SyTokenKeeper *tokens;
  GStrv          allowed_origins;
  GTlsCertificate *tls_certificate;
  guint          request_timeout;
  guint          pong_timeout;
  guint          peer_rate;
  char          *uplink_url;
  char          *uplink_token;
  GTlsDatabase  *uplink_tls_database;
  SyMqttConfig  *mqtt_config;
  SyAudit       *audit;

  /* Owner thread */
  GMainContext  *owner_context;
  GListStore    *connections_model;
  GHashTable    *infos;
  GThread       *thread;
  gboolean       running;

  /* Shared, under lock */
  GMutex         lock;
  GCond          cond;
  GPtrArray     *events;
  GError        *start_error;
  char          *uri;
  guint          bound_port;
  gboolean       started;
  gboolean       drain_scheduled;

  /* Shared, atomic */
  guint          n_open;

  /* Server thread */
  GMainContext  *context;
  GMainLoop     *loop;
  SoupServer    *soup;
  GHashTable    *open;
  guint64        next_id;
  guint          n_upgrading;
  gint64         started_at;
  GSource       *stats_source;
  GSource       *shutdown_source;
  GHashTable    *peers;
  GHashTable    *idle;
  SyUplink      *uplink;
  SyMqtt        *mqtt;
  char          *session;
  guint          ticks;
  guint          rate_refusals;
  gint64         rate_logged_at;
  gboolean       stopping;
};

/* New WebSocket connections a peer address may open: a token bucket. */
typedef struct
{
  double tokens;
  gint64 at;
} PeerRate;

G_DEFINE_FINAL_TYPE (SyServer, sy_server, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_BIND_ADDRESS,
  PROP_PORT,
  PROP_MAX_CONNECTIONS,
  PROP_MAX_MESSAGE_SIZE,
  PROP_PING_INTERVAL,
  PROP_DEFAULT_ROLE,
  PROP_TOKEN_KEEPER,
  PROP_ALLOWED_ORIGINS,
  PROP_TLS_CERTIFICATE,
  PROP_REQUEST_TIMEOUT,
  PROP_PONG_TIMEOUT,
  PROP_PEER_RATE,
  PROP_RUNNING,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
event_free (gpointer data)
{
  Event *event = data;

  g_clear_object (&event->info);
  g_free (event);
}

/* Owner thread: the hand-off */

static void
sy_server_drain_events (SyServer *self)
{
  g_autoptr(GPtrArray) events = NULL;
  g_autoptr(GPtrArray) added = g_ptr_array_new ();

  g_mutex_lock (&self->lock);
  events = g_steal_pointer (&self->events);
  self->events = g_ptr_array_new_with_free_func (event_free);
  self->drain_scheduled = FALSE;
  g_mutex_unlock (&self->lock);

  for (guint i = 0; i < events->len; i++)
    {
      Event *event = g_ptr_array_index (events, i);

      /* Consecutive additions become one splice, so that 500 clients
       * connecting at once cost one items-changed. */
      if (event->kind != EVENT_ADD && added->len > 0)
        {
          g_list_store_splice (self->connections_model,
                               g_list_model_get_n_items (G_LIST_MODEL (self->connections_model)),
                               0, added->pdata, added->len);
          g_ptr_array_set_size (added, 0);
        }

      switch (event->kind)
        {
        case EVENT_ADD:
          g_hash_table_insert (self->infos, ID_KEY (event->id), g_object_ref (event->info));
          g_ptr_array_add (added, event->info);
          break;

        case EVENT_UPDATE:
        case EVENT_REMOVE:
          {
            SyConnectionInfo *info = g_hash_table_lookup (self->infos, ID_KEY (event->id));
            guint position;

            if (info == NULL)
              break;

            _sy_connection_info_update (info, &event->stats);

            if (event->kind == EVENT_REMOVE &&
                g_list_store_find (self->connections_model, info, &position))
              {
                g_list_store_remove (self->connections_model, position);
                g_hash_table_remove (self->infos, ID_KEY (event->id));
              }
          }
          break;

        default:
          g_assert_not_reached ();
        }
    }

  if (added->len > 0)
    g_list_store_splice (self->connections_model,
                         g_list_model_get_n_items (G_LIST_MODEL (self->connections_model)),
                         0, added->pdata, added->len);
}

static gboolean
drain_events_cb (gpointer data)
{
  sy_server_drain_events (SY_SERVER (data));
  return G_SOURCE_REMOVE;
}

/* Any thread: queues an event for the owner. Takes @event. */
static void
sy_server_post (SyServer *self,
                Event    *event)
{
  g_mutex_lock (&self->lock);
  g_ptr_array_add (self->events, event);
  if (!self->drain_scheduled)
    {
      g_autoptr(GSource) source = g_idle_source_new ();

      self->drain_scheduled = TRUE;
      g_source_set_priority (source, G_PRIORITY_DEFAULT);
      g_source_set_callback (source, drain_events_cb, g_object_ref (self), g_object_unref);
      g_source_set_static_name (source, "[sy-server] hand-off");
      g_source_attach (source, self->owner_context);
    }
  g_mutex_unlock (&self->lock);
}

/* Server thread: connections */

static void
post_stats (SyServer     *self,
            SyConnection *connection,
            EventKind     kind)
{
  Event *event = g_new0 (Event, 1);

  event->kind = kind;
  event->id = sy_connection_get_id (connection);
  sy_connection_poll_stats (connection, &event->stats);
  sy_server_post (self, event);
}

static gboolean prune_peer (gpointer key,
                            gpointer value,
                            gpointer user_data);

/* Connections whose token was revoked or has expired since they came in
 * are closed with 4002; peers that stopped answering pings are dropped. */
static void
police_connections (SyServer *self)
{
  g_autoptr(GPtrArray) dead = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GPtrArray) revoked = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GPtrArray) reasons = g_ptr_array_new_with_free_func (g_free);
  gint64 now = g_get_monotonic_time ();
  gboolean check_tokens = self->tokens != NULL && self->ticks % 4 == 0;
  guint generation = check_tokens ? sy_token_keeper_get_generation (self->tokens) : 0;
  gint64 token_now = check_tokens ? sy_token_keeper_get_now (self->tokens) : 0;
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, self->open);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      SyConnection *connection = value;
      gint64 ping = sy_connection_get_unanswered_ping (connection);

      if (sy_connection_get_state (connection) != SOUP_WEBSOCKET_STATE_OPEN)
        continue;

      if (self->pong_timeout > 0 && ping > 0 && now - ping > (gint64) self->pong_timeout * G_USEC_PER_SEC)
        {
          g_ptr_array_add (dead, g_object_ref (connection));
          continue;
        }

      if (check_tokens)
        {
          guint token_generation;
          gint64 expires = sy_connection_get_token_validity (connection, &token_generation);

          if (expires != 0 && token_generation != generation)
            {
              g_ptr_array_add (revoked, g_object_ref (connection));
              g_ptr_array_add (reasons, g_strdup ("The token was revoked"));
            }
          else if (expires != 0 && expires <= token_now)
            {
              g_ptr_array_add (revoked, g_object_ref (connection));
              g_ptr_array_add (reasons, g_strdup ("The token has expired"));
            }
        }
    }

  for (guint i = 0; i < dead->len; i++)
    {
      SyConnection *connection = g_ptr_array_index (dead, i);

      sy_connection_log (connection, G_LOG_LEVEL_MESSAGE, "no pong within %u s: dropping a dead peer",
                         self->pong_timeout);
      sy_connection_abort (connection);
    }

  for (guint i = 0; i < revoked->len; i++)
    {
      SyConnection *connection = g_ptr_array_index (revoked, i);

      sy_connection_log (connection, G_LOG_LEVEL_MESSAGE, "closing with 4002: %s",
                         (char *) g_ptr_array_index (reasons, i));
      sy_connection_close (connection, SY_CLOSE_TOKEN_REVOKED, g_ptr_array_index (reasons, i));
    }

  if (self->ticks % 4 == 0)
    g_hash_table_foreach_remove (self->peers, prune_peer, &now);
}

static gboolean
stats_tick_cb (gpointer data)
{
  SyServer *self = data;
  GHashTableIter iter;
  gpointer value;

  self->ticks++;
  police_connections (self);

  g_hash_table_iter_init (&iter, self->open);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      SyConnection *connection = value;
      SyConnectionStats stats = { 0 };

      if (sy_connection_poll_stats (connection, &stats))
        {
          Event *event = g_new0 (Event, 1);

          event->kind = EVENT_UPDATE;
          event->id = sy_connection_get_id (connection);
          event->stats = stats;
          sy_server_post (self, event);
        }
    }

  return G_SOURCE_CONTINUE;
}

static void
maybe_finish_shutdown (SyServer *self)
{
  if (self->stopping && g_hash_table_size (self->open) == 0)
    g_main_loop_quit (self->loop);
}

static gboolean
release_cb (gpointer data)
{
  g_object_unref (data);
  return G_SOURCE_REMOVE;
}

static void
on_connection_closed (SyConnection *connection,
                      SyServer     *self)
{
  guint64 id = sy_connection_get_id (connection);

  post_stats (self, connection, EVENT_REMOVE);
  g_signal_handlers_disconnect_by_data (connection, self);

  /* Unreffed from an idle: we are inside the connection's own signal. */
  g_hash_table_steal (self->open, ID_KEY (id));
  g_atomic_int_add (&self->n_open, -1);
  {
    g_autoptr(GSource) source = g_idle_source_new ();

    g_source_set_callback (source, release_cb, connection, NULL);
    g_source_set_static_name (source, "[sy-server] release connection");
    g_source_attach (source, self->context);
  }

  maybe_finish_shutdown (self);
}

/* Server thread: HTTP */

static void
set_text_response (SoupServerMessage *msg,
                   guint              status,
                   const char        *text)
{
  g_autofree char *body = g_strconcat (text, "\n", NULL);
  gsize len = strlen (body);

  soup_server_message_set_status (msg, status,
                                  status == SY_STATUS_UPGRADE_REQUIRED ? "Upgrade Required" :
                                  status == SY_STATUS_TOO_MANY_REQUESTS ? "Too Many Requests" : NULL);
  soup_server_message_set_response (msg, "text/plain; charset=utf-8", SOUP_MEMORY_TAKE,
                                    g_steal_pointer (&body), len);
}

static char *
describe_peer (SoupServerMessage *msg)
{
  const char *host = soup_server_message_get_remote_host (msg);
  GSocketAddress *address = soup_server_message_get_remote_address (msg);
  guint port = 0;

  if (G_IS_INET_SOCKET_ADDRESS (address))
    port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (address));

  if (host != NULL && strchr (host, ':') != NULL)
    return g_strdup_printf ("[%s]:%u", host, port);

  return g_strdup_printf ("%s:%u", host ? host : "unknown", port);
}

static const char *
mime_type_for_path (const char *path)
{
  static const struct {
    const char *suffix;
    const char *mime_type;
  } types[] = {
    { ".html", "text/html; charset=utf-8" },
    { ".css",  "text/css; charset=utf-8" },
    { ".js",   "text/javascript; charset=utf-8" },
    { ".mjs",  "text/javascript; charset=utf-8" },
    { ".json", "application/json" },
    { ".svg",  "image/svg+xml" },
    { ".png",  "image/png" },
    { ".ico",  "image/vnd.microsoft.icon" },
    { ".webmanifest", "application/manifest+json" },
    { ".txt",  "text/plain; charset=utf-8" },
    { ".woff2", "font/woff2" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (types); i++)
    if (g_str_has_suffix (path, types[i].suffix))
      return types[i].mime_type;

  return "application/octet-stream";
}

/* libsoup hands a handler every path under its own ("/ws" gets "/wsx" and
 * "/ws/x" too): routes here are exact. Answers 404 otherwise. */
static gboolean
exact_route (SoupServerMessage *msg,
             const char        *path,
             const char        *route)
{
  g_autofree char *text = NULL;

  if (g_strcmp0 (path, route) == 0)
    return TRUE;

  text = g_strdup_printf ("Not found: %s", path);
  set_text_response (msg, SOUP_STATUS_NOT_FOUND, text);

  return FALSE;
}

static void
static_handler (SoupServer        *server,
                SoupServerMessage *msg,
                const char        *path,
                GHashTable        *query,
                gpointer           user_data)
{
  const char *method = soup_server_message_get_method (msg);
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);
  g_autofree char *resource = NULL;
  g_autoptr(GBytes) bytes = NULL;

  if (method != SOUP_METHOD_GET && method != SOUP_METHOD_HEAD)
    {
      soup_message_headers_replace (headers, "Allow", "GET, HEAD");
      set_text_response (msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "Only GET and HEAD are allowed here.");
      return;
    }

  if (g_strcmp0 (path, "/") == 0)
    path = "/index.html";

  /* Resource paths are not file system paths, but refuse anything that
   * tries to climb anyway. */
  if (path[0] != '/' || strstr (path, "/..") != NULL || strstr (path, "//") != NULL)
    {
      set_text_response (msg, SOUP_STATUS_NOT_FOUND, "Not found.");
      return;
    }

  resource = g_strconcat (WEB_RESOURCE_PREFIX, path, NULL);
  bytes = g_resources_lookup_data (resource, G_RESOURCE_LOOKUP_FLAGS_NONE, NULL);
  if (bytes == NULL)
    {
      g_autofree char *text = g_strdup_printf ("Not found: %s", path);
      set_text_response (msg, SOUP_STATUS_NOT_FOUND, text);
      return;
    }

  soup_message_headers_replace (headers, "Cache-Control", "no-cache");
  soup_message_headers_replace (headers, "X-Content-Type-Options", "nosniff");
  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (msg, mime_type_for_path (path), SOUP_MEMORY_COPY,
                                    g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
}

static gboolean admit (SyServer *, SoupServerMessage *, GHashTable *, const char *, SyRole,
                       const char *, SyRole *, guint *, gint64 *);

/* The HTTP API needs the view role, like the sensors. */
static gboolean
api_admit (SyServer          *self,
           SoupServerMessage *msg,
           GHashTable        *query)
{
  g_autofree char *peer = describe_peer (msg);
  guint generation;
  gint64 expires;
  SyRole role;

  return admit (self, msg, query, peer, SY_ROLE_VIEW, "The API", &role, &generation, &expires);
}

static void
status_handler (SoupServer        *server,
                SoupServerMessage *msg,
                const char        *path,
                GHashTable        *query,
                gpointer           user_data)
{
  SyServer *self = user_data;
  const char *method = soup_server_message_get_method (msg);
  g_autoptr(JsonBuilder) builder = NULL;
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *json = NULL;
  gsize len;

  if (!exact_route (msg, path, "/api/status"))
    return;

  if (!api_admit (self, msg, query))
    return;

  if (method != SOUP_METHOD_GET && method != SOUP_METHOD_HEAD)
    {
      soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                           "Allow", "GET, HEAD");
      set_text_response (msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "Only GET and HEAD are allowed here.");
      return;
    }

  builder = json_builder_new ();
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "name");
  json_builder_add_string_value (builder, PACKAGE_NAME);
  json_builder_set_member_name (builder, "version");
  json_builder_add_string_value (builder, PACKAGE_VERSION);
  json_builder_set_member_name (builder, "uptime");
  json_builder_add_double_value (builder, (double) ((g_get_monotonic_time () - self->started_at) / 1000) / 1000.0);
  json_builder_set_member_name (builder, "connections");
  json_builder_add_int_value (builder, g_hash_table_size (self->open));
  json_builder_set_member_name (builder, "max_connections");
  json_builder_add_int_value (builder, self->max_connections);
  json_builder_set_member_name (builder, "max_message_size");
  json_builder_add_int_value (builder, self->max_message_size);
  json_builder_set_member_name (builder, "subprotocols");
  json_builder_begin_array (builder);
  for (guint i = 0; i < self->protocols->len; i++)
    json_builder_add_string_value (builder, sy_subprotocol_get_name (g_ptr_array_index (self->protocols, i)));
  json_builder_end_array (builder);
  json_builder_set_member_name (builder, "instance");
  json_builder_add_string_value (builder, self->session);
  if (self->uplink != NULL)
    {
      json_builder_set_member_name (builder, "uplink");
      json_builder_add_value (builder, sy_uplink_to_json (self->uplink));
    }
  if (self->mqtt != NULL)
    {
      json_builder_set_member_name (builder, "mqtt");
      json_builder_add_value (builder, sy_mqtt_to_json (self->mqtt));
    }
  json_builder_end_object (builder);

  root = json_builder_get_root (builder);
  json = json_to_string (root, FALSE);

  soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                       "Cache-Control", "no-store");
  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  len = strlen (json);
  soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_TAKE,
                                    g_steal_pointer (&json), len);
}

static void
history_handler (SoupServer        *server,
                 SoupServerMessage *msg,
                 const char        *path,
                 GHashTable        *query,
                 gpointer           user_data)
{
  SyServer *self = user_data;
  const char *method = soup_server_message_get_method (msg);
  const char *sensor_id = query ? g_hash_table_lookup (query, "sensor") : NULL;
  const char *seconds_text = query ? g_hash_table_lookup (query, "seconds") : NULL;
  const char *format = query ? g_hash_table_lookup (query, "format") : NULL;
  g_autoptr(GArray) times = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GArray) values = g_array_new (FALSE, FALSE, sizeof (double));
  const SySensorSpec *spec;
  guint64 seconds = 60;
  GString *out;
  gsize len;
  int sensor;

  if (!exact_route (msg, path, "/api/history"))
    return;

  if (!api_admit (self, msg, query))
    return;

  if (method != SOUP_METHOD_GET && method != SOUP_METHOD_HEAD)
    {
      soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Allow", "GET, HEAD");
      set_text_response (msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "Only GET and HEAD are allowed here.");
      return;
    }

  if (self->bench == NULL)
    {
      set_text_response (msg, SOUP_STATUS_NOT_FOUND, "This server has no sensors.");
      return;
    }

  sensor = sensor_id ? sy_bench_find_sensor (sensor_id) : -1;
  if (sensor < 0)
    {
      GString *text = g_string_new (sensor_id ? "Unknown sensor. " : "Missing ?sensor=ID. ");

      g_string_append (text, "Sensors:");
      for (guint i = 0; i < SY_BENCH_N_SENSORS; i++)
        g_string_append_printf (text, " %s", sy_bench_get_sensor_spec (i)->id);
      set_text_response (msg, SOUP_STATUS_BAD_REQUEST, text->str);
      g_string_free (text, TRUE);
      return;
    }

  if (seconds_text != NULL &&
      (!g_ascii_string_to_unsigned (seconds_text, 10, 1, SY_BENCH_HISTORY_SECONDS, &seconds, NULL)))
    {
      g_autofree char *text = g_strdup_printf ("seconds must be a whole number from 1 to %d.",
                                               SY_BENCH_HISTORY_SECONDS);
      set_text_response (msg, SOUP_STATUS_BAD_REQUEST, text);
      return;
    }

  if (format == NULL)
    format = "json";
  if (g_strcmp0 (format, "json") != 0 && g_strcmp0 (format, "csv") != 0)
    {
      set_text_response (msg, SOUP_STATUS_BAD_REQUEST, "format must be csv or json.");
      return;
    }

  spec = sy_bench_get_sensor_spec (sensor);
  sy_bench_get_history (self->bench, sensor, (guint) seconds, times, values);

  out = g_string_sized_new (64 + times->len * 40);
  if (g_strcmp0 (format, "csv") == 0)
    {
      g_string_append_printf (out, "time,%s\r\n", spec->id);
      for (guint i = 0; i < times->len; i++)
        {
          gint64 t = g_array_index (times, gint64, i);
          g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc (t / 1000);
          g_autofree char *stamp = g_date_time_format (dt, "%Y-%m-%dT%H:%M:%S");
          char number[G_ASCII_DTOSTR_BUF_SIZE];

          g_string_append_printf (out, "%s.%03dZ,%s\r\n", stamp, (int) (t % 1000),
                                  g_ascii_formatd (number, sizeof number, "%.6g",
                                                   g_array_index (values, double, i)));
        }
      soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                    "Content-Disposition", "attachment; filename=\"history.csv\"");
    }
  else
    {
      g_string_append_printf (out, "{\"sensor\":\"%s\",\"unit\":", spec->id);
      {
        g_autoptr(JsonNode) unit = json_node_init_string (json_node_alloc (), spec->unit);
        g_autofree char *unit_text = json_to_string (unit, FALSE);
        g_string_append (out, unit_text);
      }
      g_string_append (out, ",\"t\":[");
      for (guint i = 0; i < times->len; i++)
        g_string_append_printf (out, "%s%" G_GINT64_FORMAT, i ? "," : "", g_array_index (times, gint64, i));
      g_string_append (out, "],\"v\":[");
      for (guint i = 0; i < values->len; i++)
        {
          char number[G_ASCII_DTOSTR_BUF_SIZE];

          g_string_append_printf (out, "%s%s", i ? "," : "",
                                  g_ascii_formatd (number, sizeof number, "%.6g",
                                                   g_array_index (values, double, i)));
        }
      g_string_append (out, "]}");
    }

  len = out->len;
  soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Cache-Control", "no-store");
  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (msg,
                                    g_strcmp0 (format, "csv") == 0 ? "text/csv; charset=utf-8" : "application/json",
                                    SOUP_MEMORY_TAKE, g_string_free (out, FALSE), len);
}

/* Server thread: gatekeeping */

static void
refuse (SoupServerMessage *msg,
        const char        *peer,
        guint              status,
        const char        *text)
{
  g_message ("%s: refused with %u: %s", peer, status, text);
  set_text_response (msg, status, text);
}

static char *
host_name_of (const char *host)
{
  const char *colon;

  if (host[0] == '[')
    {
      const char *end = strchr (host, ']');

      return end ? g_strndup (host + 1, end - host - 1) : g_strdup (host);
    }

  colon = strrchr (host, ':');

  return colon ? g_strndup (host, colon - host) : g_strdup (host);
}

static gboolean
host_is_literal (SoupServerMessage *msg)
{
  const char *host = soup_message_headers_get_one (soup_server_message_get_request_headers (msg), "Host");
  g_autofree char *name = NULL;

  if (host == NULL)
    return FALSE;

  name = host_name_of (host);

  return g_hostname_is_ip_address (name) || g_ascii_strcasecmp (name, "localhost") == 0;
}

/* Decides the role of a request from its ?token=. Without a token keeper
 * everyone gets the default role; with one, a request without a token gets
 * the default role (view on loopback, none beyond it) and a token brings
 * its own. Returns FALSE after answering 401 or 403. */
static gboolean
admit (SyServer           *self,
       SoupServerMessage  *msg,
       GHashTable         *query,
       const char         *peer,
       SyRole              needed,
       const char         *what,
       SyRole             *role_out,
       guint              *generation_out,
       gint64             *expires_out)
{
  const char *token = query ? g_hash_table_lookup (query, "token") : NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  SyRole role;

  *generation_out = 0;
  *expires_out = 0;

  if (self->tokens == NULL || token == NULL || *token == '\0')
    {
      *role_out = self->default_role;

      /* A page on a rebound DNS name reaches us as "the same origin" and
       * sends no Origin on a GET: what it cannot fake is the Host. Without a
       * token, only the server's literal addresses and localhost count. */
      if (self->tokens != NULL && !host_is_literal (msg))
        {
          refuse (msg, peer, SOUP_STATUS_FORBIDDEN,
                  "Without a token this server only answers to its address or localhost, "
                  "not to other host names.");
          return FALSE;
        }

      if (self->default_role >= needed)
        return TRUE;

      text = g_strdup_printf ("%s needs a %s token: open the view-url or control-url the server "
                              "printed, or add ?token=… to this address.",
                              what, sy_role_to_string (needed));
      refuse (msg, peer, SOUP_STATUS_UNAUTHORIZED, text);
      return FALSE;
    }

  /* Read before verifying: a rotation in between then shows as revoked. */
  *generation_out = sy_token_keeper_get_generation (self->tokens);
  role = sy_token_keeper_verify (self->tokens, token, expires_out, &error);
  if (role == SY_ROLE_NONE)
    {
      text = g_strdup_printf ("%s. Ask the operator for a new link.", error->message);
      refuse (msg, peer, SOUP_STATUS_UNAUTHORIZED, text);
      return FALSE;
    }

  if (role < needed)
    {
      text = g_strdup_printf ("%s needs the %s role; this token grants %s.",
                              what, sy_role_to_string (needed), sy_role_to_string (role));
      refuse (msg, peer, SOUP_STATUS_FORBIDDEN, text);
      return FALSE;
    }

  *role_out = role;

  return TRUE;
}

/* A browser's Origin must be the server's own or on the allow-list: this is
 * what stops a page from anywhere driving the relays through a browser
 * that happens to run next to the server. Clients without an Origin are not
 * browsers and are judged by their token alone. */
static gboolean
origin_allowed (SyServer          *self,
                SoupServerMessage *msg,
                const char        *origin)
{
  SoupMessageHeaders *request = soup_server_message_get_request_headers (msg);
  const char *host = soup_message_headers_get_one (request, "Host");
  g_autofree char *own = NULL;

  if (origin == NULL)
    return TRUE;

  for (guint i = 0; self->allowed_origins && self->allowed_origins[i]; i++)
    if (g_ascii_strcasecmp (origin, self->allowed_origins[i]) == 0)
      return TRUE;

  if (host == NULL)
    return FALSE;

  own = g_strdup_printf ("%s://%s", self->tls_certificate ? "https" : "http", host);
  if (g_ascii_strcasecmp (origin, own) != 0)
    return FALSE;

  /* DNS rebinding: a page on evil.example whose name now resolves to
   * 127.0.0.1 sends a matching Origin and Host. Only literal addresses and
   * localhost count as the server's own names. */
  return host_is_literal (msg);
}

static gboolean
peer_rate_allows (SyServer          *self,
                  SoupServerMessage *msg)
{
  const char *host = soup_server_message_get_remote_host (msg);
  gint64 now = g_get_monotonic_time ();
  PeerRate *rate;

  if (self->peer_rate == 0 || host == NULL)
    return TRUE;

  rate = g_hash_table_lookup (self->peers, host);
  if (rate == NULL)
    {
      rate = g_new0 (PeerRate, 1);
      rate->tokens = 2.0 * self->peer_rate;
      rate->at = now;
      g_hash_table_insert (self->peers, g_strdup (host), rate);
    }

  rate->tokens = MIN (2.0 * self->peer_rate,
                      rate->tokens + (now - rate->at) * (double) self->peer_rate / G_USEC_PER_SEC);
  rate->at = now;

  if (rate->tokens < 1.0)
    return FALSE;

  rate->tokens -= 1.0;

  return TRUE;
}

static gboolean
prune_peer (gpointer key,
            gpointer value,
            gpointer user_data)
{
  PeerRate *rate = value;
  gint64 now = *(gint64 *) user_data;

  /* A bucket that would be full again says nothing any more. */
  return now - rate->at > 2 * G_USEC_PER_SEC;
}

/* Every request must arrive whole within the timeout, and a kept-alive
 * connection may not idle longer than that before its next request. */
static gboolean
request_deadline_cb (gpointer data)
{
  SoupServerMessage *msg = data;
  GSocket *socket = soup_server_message_get_socket (msg);
  g_autofree char *peer = describe_peer (msg);

  g_message ("%s: no complete request in time; dropping the connection", peer);
  if (socket != NULL)
    g_socket_shutdown (socket, TRUE, TRUE, NULL);

  return G_SOURCE_REMOVE;
}

static void
destroy_source (gpointer data)
{
  g_source_destroy (data);
  g_source_unref (data);
}

static void
on_request_started (SoupServer        *soup,
                    SoupServerMessage *msg,
                    SyServer          *self)
{
  GSource *source = g_timeout_source_new_seconds (self->request_timeout);
  GSocket *socket = soup_server_message_get_socket (msg);

  /* The next request on a kept-alive connection ends its idle wait. */
  if (socket != NULL)
    g_hash_table_remove (self->idle, socket);

  /* The source goes with the message, so the borrowed pointer is safe. */
  g_source_set_callback (source, request_deadline_cb, msg, NULL);
  g_source_set_static_name (source, "[sy-server] request deadline");
  g_source_attach (source, self->context);
  g_object_set_data_full (G_OBJECT (msg), "sy-deadline", source, destroy_source);
}

static void
on_request_read (SoupServer        *soup,
                 SoupServerMessage *msg,
                 SyServer          *self)
{
  g_object_set_data (G_OBJECT (msg), "sy-deadline", NULL);
}

typedef struct
{
  SyServer *server;
  GSocket  *socket;
} IdleWait;

static gboolean
idle_deadline_cb (gpointer data)
{
  IdleWait *wait = data;

  g_message ("a kept-alive connection idled for %u s; dropping it", wait->server->request_timeout);
  g_socket_shutdown (wait->socket, TRUE, TRUE, NULL);
  g_hash_table_remove (wait->server->idle, wait->socket);

  return G_SOURCE_REMOVE;
}

/* After a response on a kept-alive connection libsoup waits for the next
 * request without a new message (so without "request-started"): the idle
 * deadline starts here, keyed by the socket, and the next request on the
 * same socket ends it. */
static void
on_request_finished (SoupServer        *soup,
                     SoupServerMessage *msg,
                     SyServer          *self)
{
  GSocket *socket = soup_server_message_get_socket (msg);
  GSource *source;
  IdleWait *wait;

  /* An upgraded connection belongs to its WebSocket now. */
  if (socket == NULL || g_object_get_data (G_OBJECT (msg), "sy-upgrade") != NULL ||
      g_socket_is_closed (socket))
    return;

  wait = g_new0 (IdleWait, 1);
  wait->server = self;
  wait->socket = socket;
  source = g_timeout_source_new_seconds (self->request_timeout);
  g_source_set_callback (source, idle_deadline_cb, wait, g_free);
  g_source_set_static_name (source, "[sy-server] idle deadline");
  g_source_attach (source, self->context);
  /* The table owns a reference to the socket and the source. */
  g_hash_table_replace (self->idle, g_object_ref (socket), source);
}

/* Server thread: the WebSocket endpoint */

typedef struct
{
  SyServer      *server;
  SySubprotocol *protocol;
  GSocket       *socket;
  char          *peer;
  char          *origin;
  GObject       *prepared;
  guint64        id;
  guint          token_generation;
  gint64         token_expires;
  SyRole         role;
  gboolean       completed;
} Upgrade;

static void
upgrade_free (gpointer data)
{
  Upgrade *upgrade = data;

  /* A client that vanished between our 101 and its completion still
   * counted against the cap until now. */
  if (!upgrade->completed)
    upgrade->server->n_upgrading--;

  /* What the subprotocol prepared for a connection that never opened
   * (e.g. its process) is released here. */
  g_clear_object (&upgrade->prepared);
  g_clear_object (&upgrade->protocol);
  g_clear_object (&upgrade->socket);
  g_clear_pointer (&upgrade->peer, g_free);
  g_clear_pointer (&upgrade->origin, g_free);
  g_free (upgrade);
}

static char *
supported_list (SyServer *self)
{
  g_autoptr(GString) list = g_string_new (NULL);

  for (guint i = 0; i < self->protocols->len; i++)
    {
      if (i > 0)
        g_string_append (list, ", ");
      g_string_append (list, sy_subprotocol_get_name (g_ptr_array_index (self->protocols, i)));
    }

  return g_string_free (g_steal_pointer (&list), FALSE);
}

static SySubprotocol *
find_protocol (SyServer   *self,
               const char *name)
{
  for (guint i = 0; i < self->protocols->len; i++)
    {
      SySubprotocol *protocol = g_ptr_array_index (self->protocols, i);

      if (g_strcmp0 (sy_subprotocol_get_name (protocol), name) == 0)
        return protocol;
    }

  return NULL;
}

static void
complete_upgrade (SoupServerMessage *msg,
                  gpointer           user_data)
{
  /* Stealing the connection drops libsoup's reference to @msg, and @msg
   * owns the Upgrade: hold it until we are done. */
  g_autoptr(SoupServerMessage) keep = g_object_ref (msg);
  Upgrade *upgrade = g_object_get_data (G_OBJECT (msg), "sy-upgrade");
  SyServer *self = upgrade->server;
  g_autoptr(GIOStream) stream = NULL;
  g_autoptr(SyWireGuard) guard = NULL;
  g_autoptr(SoupWebsocketConnection) websocket = NULL;
  SyConnection *connection;
  Event *event;
  guint64 id;

  upgrade->completed = TRUE;
  self->n_upgrading--;

  stream = soup_server_message_steal_connection (msg);
  if (stream == NULL)
    return;

  guard = sy_wire_guard_new (stream, self->max_message_size);

  /* No extensions: permessage-deflate in libsoup 3.2 inflates without a
   * bound, so it stays off. */
  websocket = soup_websocket_connection_new (G_IO_STREAM (guard),
                                             soup_server_message_get_uri (msg),
                                             SOUP_WEBSOCKET_CONNECTION_SERVER,
                                             upgrade->origin,
                                             sy_subprotocol_get_name (upgrade->protocol),
                                             NULL);
  /* The guard refuses larger messages before libsoup sees them; libsoup's
   * own limit is a second fence and must never be 0 (unlimited). */
  soup_websocket_connection_set_max_incoming_payload_size (websocket, self->max_message_size);
  soup_websocket_connection_set_keepalive_interval (websocket, self->ping_interval);

  id = upgrade->id;
  connection = sy_connection_new (id, websocket, guard, upgrade->socket,
                                  upgrade->protocol, upgrade->role,
                                  upgrade->peer, upgrade->origin);
  sy_connection_set_token_validity (connection, upgrade->token_generation, upgrade->token_expires);
  g_hash_table_insert (self->open, ID_KEY (id), connection);
  g_atomic_int_inc (&self->n_open);
  g_signal_connect (connection, "closed", G_CALLBACK (on_connection_closed), self);

  event = g_new0 (Event, 1);
  event->kind = EVENT_ADD;
  event->id = id;
  event->info = _sy_connection_info_new (id, upgrade->peer, upgrade->origin,
                                         sy_subprotocol_get_name (upgrade->protocol),
                                         upgrade->role,
                                         sy_connection_get_connected_since (connection));
  sy_server_post (self, event);

  if (upgrade->prepared != NULL)
    sy_connection_set_protocol_data (connection, g_steal_pointer (&upgrade->prepared), g_object_unref);
  sy_connection_start (connection);
}

static void
websocket_handler (SoupServer        *server,
                   SoupServerMessage *msg,
                   const char        *path,
                   GHashTable        *query,
                   gpointer           user_data)
{
  SyServer *self = user_data;
  SoupMessageHeaders *request = soup_server_message_get_request_headers (msg);
  SoupMessageHeaders *response = soup_server_message_get_response_headers (msg);
  const char *method = soup_server_message_get_method (msg);
  const char *version;
  const char *offered_header;
  g_autofree char *peer = describe_peer (msg);
  g_autofree char *supported = supported_list (self);
  g_auto(GStrv) offered = NULL;
  g_autoptr(GError) error = NULL;
  SySubprotocol *protocol = NULL;
  const char *chosen[2] = { NULL, NULL };
  const char *origin;
  guint token_generation = 0;
  gint64 token_expires = 0;
  SyRole role = SY_ROLE_NONE;
  SySubprotocolRequest details;
  g_autoptr(GObject) prepared = NULL;
  Upgrade *upgrade;

  if (!exact_route (msg, path, "/ws"))
    return;

  if (self->stopping)
    {
      refuse (msg, peer, SOUP_STATUS_SERVICE_UNAVAILABLE, "The server is shutting down.");
      return;
    }

  if (method != SOUP_METHOD_GET)
    {
      soup_message_headers_replace (response, "Allow", "GET");
      refuse (msg, peer, SOUP_STATUS_METHOD_NOT_ALLOWED,
              "The WebSocket endpoint only answers GET with an upgrade to websocket.");
      return;
    }

  if (!soup_message_headers_header_contains (request, "Upgrade", "websocket") ||
      !soup_message_headers_header_contains (request, "Connection", "upgrade"))
    {
      g_autofree char *text = NULL;

      text = g_strdup_printf ("This is Switchyard's WebSocket endpoint: connect with a WebSocket "
                              "client (Upgrade: websocket) offering one of these subprotocols: %s",
                              supported);
      soup_message_headers_replace (response, "Upgrade", "websocket");
      soup_message_headers_replace (response, "Connection", "Upgrade");
      soup_message_headers_replace (response, "Sec-WebSocket-Version", "13");
      refuse (msg, peer, SY_STATUS_UPGRADE_REQUIRED, text);
      return;
    }

  version = soup_message_headers_get_one (request, "Sec-WebSocket-Version");
  if (g_strcmp0 (version, "13") != 0)
    {
      g_autofree char *text = NULL;

      text = g_strdup_printf ("Unsupported WebSocket version %s: this server speaks version 13 (RFC 6455).",
                              version ? version : "(none)");
      soup_message_headers_replace (response, "Sec-WebSocket-Version", "13");
      refuse (msg, peer, SY_STATUS_UPGRADE_REQUIRED, text);
      return;
    }

  /* Subprotocols, in the client's order of preference. */
  offered_header = soup_message_headers_get_list (request, "Sec-WebSocket-Protocol");
  if (offered_header != NULL)
    {
      offered = g_strsplit (offered_header, ",", -1);
      for (guint i = 0; offered[i] != NULL; i++)
        g_strstrip (offered[i]);
    }

  if (offered == NULL || offered[0] == NULL || *offered[0] == '\0')
    {
      g_autofree char *text = g_strdup_printf ("No subprotocol offered. Offer one of the supported "
                                               "subprotocols in Sec-WebSocket-Protocol: %s",
                                               supported);
      refuse (msg, peer, SOUP_STATUS_BAD_REQUEST, text);
      return;
    }

  for (guint i = 0; offered[i] != NULL && protocol == NULL; i++)
    protocol = find_protocol (self, offered[i]);

  if (protocol == NULL)
    {
      g_autofree char *wanted = g_strjoinv (", ", offered);
      g_autofree char *text = g_strdup_printf ("None of the offered subprotocols (%s) is supported. "
                                               "Supported subprotocols: %s",
                                               wanted, supported);
      refuse (msg, peer, SOUP_STATUS_BAD_REQUEST, text);
      return;
    }

  /* Who may come in is decided before the cap: a client that may not
   * connect at all hears 401/403, not 503. */
  origin = soup_message_headers_get_one (request, "Origin");
  if (!origin_allowed (self, msg, origin))
    {
      g_autofree char *text = g_strdup_printf ("Origin %s may not open WebSockets here: only the "
                                               "server's own page and the allowed origins may.",
                                               origin);
      refuse (msg, peer, SOUP_STATUS_FORBIDDEN, text);
      return;
    }

  if (!admit (self, msg, query, peer, sy_subprotocol_get_role (protocol),
              sy_subprotocol_get_name (protocol), &role, &token_generation, &token_expires))
    return;

  if (!peer_rate_allows (self, msg))
    {
      g_autofree char *text = g_strdup_printf ("Too many new connections from this address: at most %u "
                                               "per second. Try again shortly.", self->peer_rate);
      gint64 now = g_get_monotonic_time ();

      /* A burst is one story, not thousands of lines: one line a second. */
      self->rate_refusals++;
      if (now - self->rate_logged_at >= G_USEC_PER_SEC)
        {
          g_message ("%s: refused with 429 (%u refusals in the last second): %s",
                     peer, self->rate_refusals, text);
          self->rate_refusals = 0;
          self->rate_logged_at = now;
        }
      soup_message_headers_replace (response, "Retry-After", "1");
      set_text_response (msg, SY_STATUS_TOO_MANY_REQUESTS, text);
      return;
    }

  if (g_hash_table_size (self->open) + self->n_upgrading >= self->max_connections)
    {
      g_autofree char *text = g_strdup_printf ("Too many connections: the limit is %u. Try again later.",
                                               self->max_connections);
      soup_message_headers_replace (response, "Retry-After", "5");
      refuse (msg, peer, SOUP_STATUS_SERVICE_UNAVAILABLE, text);
      return;
    }

  chosen[0] = sy_subprotocol_get_name (protocol);
  if (!soup_websocket_server_check_handshake (msg, NULL, (char **) chosen, NULL, &error))
    {
      g_autofree char *text = g_strdup_printf ("Invalid WebSocket handshake: %s", error->message);
      refuse (msg, peer, SOUP_STATUS_BAD_REQUEST, text);
      return;
    }

  /* The subprotocol may need to get ready (a program-backed one starts its
   * process here): what cannot be made ready is refused before the 101. */
  details.id = self->next_id + 1;
  details.peer = peer;
  details.origin = origin;
  details.role = role;
  prepared = sy_subprotocol_prepare (protocol, &details, &error);
  if (error != NULL)
    {
      refuse (msg, peer, SOUP_STATUS_INTERNAL_SERVER_ERROR, error->message);
      return;
    }

  if (!soup_websocket_server_process_handshake (msg, NULL, (char **) chosen, NULL, NULL))
    {
      refuse (msg, peer, SOUP_STATUS_BAD_REQUEST, "Invalid WebSocket handshake.");
      return;
    }

  upgrade = g_new0 (Upgrade, 1);
  upgrade->id = ++self->next_id;
  upgrade->prepared = g_steal_pointer (&prepared);
  upgrade->server = self;
  upgrade->protocol = g_object_ref (protocol);
  upgrade->socket = g_object_ref (soup_server_message_get_socket (msg));
  upgrade->peer = g_steal_pointer (&peer);
  upgrade->origin = g_strdup (origin);
  upgrade->token_generation = token_generation;
  upgrade->token_expires = token_expires;
  upgrade->role = role;
  self->n_upgrading++;
  g_object_set_data_full (G_OBJECT (msg), "sy-upgrade", upgrade, upgrade_free);
  g_signal_connect (msg, "wrote-informational", G_CALLBACK (complete_upgrade), NULL);
}

/* Server thread: life cycle */

/* Our own socket, for a listen backlog that takes a burst of clients
 * (GSocketListener's default is 10). */
static gboolean
listen_socket (SyServer        *self,
               GSocketAddress  *address,
               GError         **error)
{
  g_autoptr(GSocket) socket = NULL;

  socket = g_socket_new (g_socket_address_get_family (address), G_SOCKET_TYPE_STREAM,
                         G_SOCKET_PROTOCOL_TCP, error);
  if (socket == NULL)
    return FALSE;

  g_socket_set_listen_backlog (socket, SY_SERVER_LISTEN_BACKLOG);
  if (!g_socket_bind (socket, address, TRUE, error) ||
      !g_socket_listen (socket, error))
    return FALSE;

  return soup_server_listen_socket (self->soup, socket,
                                    self->tls_certificate ? SOUP_SERVER_LISTEN_HTTPS : 0,
                                    error);
}

static gboolean
listen_on (SyServer  *self,
           GError   **error)
{
  g_autoptr(GInetAddress) address = NULL;
  g_autoptr(GSocketAddress) socket_address = NULL;
  g_autoptr(GError) local_error = NULL;
  GSList *listeners;
  guint port = 0;
  g_autofree char *host = NULL;

  address = g_inet_address_new_from_string (self->bind_address);
  if (address == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "Invalid bind address “%s”: give a numeric IPv4 or IPv6 address",
                   self->bind_address);
      return FALSE;
    }

  socket_address = g_inet_socket_address_new (address, self->port);
  if (!listen_socket (self, socket_address, &local_error))
    {
      g_set_error (error, local_error->domain, local_error->code,
                   "Could not listen on %s port %u: %s",
                   self->bind_address, self->port, local_error->message);
      return FALSE;
    }

  listeners = soup_server_get_listeners (self->soup);
  if (listeners != NULL)
    {
      g_autoptr(GSocketAddress) local = g_socket_get_local_address (listeners->data, NULL);

      if (G_IS_INET_SOCKET_ADDRESS (local))
        port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (local));
    }
  g_slist_free (listeners);

  /* A wildcard address is reached locally through loopback. */
  if (g_inet_address_get_is_any (address))
    host = g_strdup (g_inet_address_get_family (address) == G_SOCKET_FAMILY_IPV6 ? "[::1]" : "127.0.0.1");
  else if (g_inet_address_get_family (address) == G_SOCKET_FAMILY_IPV6)
    host = g_strdup_printf ("[%s]", self->bind_address);
  else
    host = g_strdup (self->bind_address);

  g_mutex_lock (&self->lock);
  self->bound_port = port;
  g_free (self->uri);
  self->uri = g_strdup_printf ("%s://%s:%u/", self->tls_certificate ? "https" : "http", host, port);
  g_mutex_unlock (&self->lock);

  return TRUE;
}

static gpointer
server_thread (gpointer data)
{
  SyServer *self = data;
  g_autoptr(GError) error = NULL;

  g_main_context_push_thread_default (self->context);

  self->soup = g_object_new (SOUP_TYPE_SERVER,
                             "server-header", PACKAGE_NAME "/" PACKAGE_VERSION " ",
                             "tls-certificate", self->tls_certificate,
                             NULL);
  self->peers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->idle = g_hash_table_new_full (NULL, NULL, g_object_unref, destroy_source);
  g_signal_connect (self->soup, "request-started", G_CALLBACK (on_request_started), self);
  g_signal_connect (self->soup, "request-read", G_CALLBACK (on_request_read), self);
  g_signal_connect (self->soup, "request-finished", G_CALLBACK (on_request_finished), self);
  self->open = g_hash_table_new_full (NULL, NULL, NULL, g_object_unref);
  self->started_at = g_get_monotonic_time ();
  soup_server_add_handler (self->soup, NULL, static_handler, self, NULL);
  soup_server_add_handler (self->soup, "/api/status", status_handler, self, NULL);
  soup_server_add_handler (self->soup, "/api/history", history_handler, self, NULL);
  soup_server_add_handler (self->soup, "/ws", websocket_handler, self, NULL);

  for (guint i = 0; i < self->protocols->len; i++)
    g_object_ref (g_ptr_array_index (self->protocols, i));

  if (listen_on (self, &error))
    {
      g_autofree char *uri = sy_server_dup_uri (self);

      g_message ("listening on %s", uri);

      /* A relay server's bench mirrors its upstream: the uplink makes it
       * so before it starts. */
      if (self->bench != NULL && self->uplink_url != NULL)
        {
          self->uplink = sy_uplink_new (self->bench, self->uplink_url, self->uplink_token, self->session);
          sy_uplink_set_tls_database (self->uplink, self->uplink_tls_database);
          sy_uplink_start (self->uplink);
        }

      /* The MQTT bridge publishes the bench, or (a mirror) makes it show
       * another instance's; either way before the bench starts. */
      if (self->bench != NULL && self->audit != NULL && self->mqtt_config != NULL &&
          self->mqtt_config->mirror != NULL && self->uplink != NULL)
        {
          g_warning ("MQTT: not mirroring %s: this instance already mirrors its uplink",
                     self->mqtt_config->mirror);
        }
      else if (self->bench != NULL && self->audit != NULL && self->mqtt_config != NULL)
        {
          self->mqtt = sy_mqtt_new (self->bench, self->audit, self->mqtt_config, self->session);
          for (guint i = 0; i < self->protocols->len; i++)
            if (SY_IS_DISPLAY_PROTOCOL (g_ptr_array_index (self->protocols, i)))
              sy_mqtt_set_display (self->mqtt, g_ptr_array_index (self->protocols, i));
          sy_mqtt_start (self->mqtt);
        }

      if (self->bench != NULL)
        sy_bench_start (self->bench);

      self->stats_source = g_timeout_source_new (STATS_INTERVAL_MS);
      g_source_set_callback (self->stats_source, stats_tick_cb, self, NULL);
      g_source_set_static_name (self->stats_source, "[sy-server] stats");
      g_source_attach (self->stats_source, self->context);
    }

  g_mutex_lock (&self->lock);
  self->start_error = g_steal_pointer (&error);
  self->started = TRUE;
  g_cond_signal (&self->cond);
  g_mutex_unlock (&self->lock);

  if (self->start_error == NULL)
    g_main_loop_run (self->loop);

  /* Shut down: nothing of ours may outlive the thread. */
  if (self->stats_source != NULL)
    {
      g_source_destroy (self->stats_source);
      g_clear_pointer (&self->stats_source, g_source_unref);
    }
  if (self->shutdown_source != NULL)
    {
      g_source_destroy (self->shutdown_source);
      g_clear_pointer (&self->shutdown_source, g_source_unref);
    }

  if (self->bench != NULL && self->start_error == NULL)
    sy_bench_stop (self->bench);

  if (self->mqtt != NULL)
    {
      sy_mqtt_stop (self->mqtt);
      g_clear_object (&self->mqtt);
    }

  if (self->uplink != NULL)
    {
      sy_uplink_stop (self->uplink);
      g_clear_object (&self->uplink);
    }

  soup_server_disconnect (self->soup);
  g_signal_handlers_disconnect_by_data (self->soup, self);
  g_clear_pointer (&self->open, g_hash_table_unref);
  g_clear_object (&self->soup);
  g_clear_pointer (&self->peers, g_hash_table_unref);
  g_clear_pointer (&self->idle, g_hash_table_unref);

  /* Let pending closes and releases run. */
  while (g_main_context_iteration (self->context, FALSE))
    ;

  /* Then what the subprotocols still hold (processes) is released. */
  for (guint i = 0; i < self->protocols->len; i++)
    sy_subprotocol_stop (g_ptr_array_index (self->protocols, i));
  while (g_main_context_iteration (self->context, FALSE))
    ;

  for (guint i = 0; i < self->protocols->len; i++)
    g_object_unref (g_ptr_array_index (self->protocols, i));

  g_main_context_pop_thread_default (self->context);

  return NULL;
}

static gboolean
shutdown_deadline_cb (gpointer data)
{
  SyServer *self = data;
  g_autoptr(GPtrArray) remaining = g_ptr_array_new_with_free_func (g_object_unref);
  GHashTableIter iter;
  gpointer value;

  g_clear_pointer (&self->shutdown_source, g_source_unref);

  g_hash_table_iter_init (&iter, self->open);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    g_ptr_array_add (remaining, g_object_ref (value));

  if (remaining->len > 0)
    g_message ("dropping %u connections that did not finish closing", remaining->len);

  for (guint i = 0; i < remaining->len; i++)
    sy_connection_abort (g_ptr_array_index (remaining, i));

  /* Aborted connections report closed once libsoup sees the end of the
   * stream; if any still linger, stop regardless. */
  if (g_hash_table_size (self->open) > 0)
    {
      self->shutdown_source = g_timeout_source_new (200);
      g_source_set_callback (self->shutdown_source, (GSourceFunc) (void (*) (void)) g_main_loop_quit,
                             self->loop, NULL);
      g_source_attach (self->shutdown_source, self->context);
    }

  return G_SOURCE_REMOVE;
}

static gboolean
begin_shutdown_cb (gpointer data)
{
  SyServer *self = data;
  g_autoptr(GPtrArray) open = g_ptr_array_new_with_free_func (g_object_unref);
  GHashTableIter iter;
  gpointer value;

  self->stopping = TRUE;

  /* Stop listening first, so no one new arrives while we close. */
  soup_server_disconnect (self->soup);

  g_hash_table_iter_init (&iter, self->open);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    g_ptr_array_add (open, g_object_ref (value));

  g_message ("shutting down: closing %u connections", open->len);

  for (guint i = 0; i < open->len; i++)
    sy_connection_close_with_timeout (g_ptr_array_index (open, i),
                                      SY_CLOSE_GOING_AWAY, "server shutting down",
                                      SHUTDOWN_CLOSE_MS);

  self->shutdown_source = g_timeout_source_new (SHUTDOWN_CLOSE_MS + 100);
  g_source_set_callback (self->shutdown_source, shutdown_deadline_cb, self, NULL);
  g_source_attach (self->shutdown_source, self->context);

  maybe_finish_shutdown (self);

  return G_SOURCE_REMOVE;
}

typedef struct
{
  SyServer *server;
  guint64   id;
  gushort   code;
  char     *reason;
} CloseRequest;

static void
close_request_free (gpointer data)
{
  CloseRequest *request = data;

  g_object_unref (request->server);
  g_free (request->reason);
  g_free (request);
}

static gboolean
close_connection_cb (gpointer data)
{
  CloseRequest *request = data;
  SyConnection *connection = g_hash_table_lookup (request->server->open, ID_KEY (request->id));

  if (connection != NULL)
    sy_connection_close (connection, request->code, request->reason);

  return G_SOURCE_REMOVE;
}

/* Public API, owner thread */

/**
 * sy_server_close_connection:
 * @self: a #SyServer
 * @id: the connection's id
 * @code: the close code, e.g. %SY_CLOSE_BY_OPERATOR
 * @reason: (nullable): the reason sent to the peer
 *
 * Asks the server thread to close a connection. Does nothing if it is gone.
 */
void
sy_server_close_connection (SyServer   *self,
                            guint64     id,
                            gushort     code,
                            const char *reason)
{
  CloseRequest *request;

  g_return_if_fail (SY_IS_SERVER (self));

  if (!self->running)
    return;

  request = g_new0 (CloseRequest, 1);
  request->server = g_object_ref (self);
  request->id = id;
  request->code = code;
  request->reason = g_strdup (reason);
  g_main_context_invoke_full (self->context, G_PRIORITY_DEFAULT,
                              close_connection_cb, request, close_request_free);
}

typedef struct
{
  SyServer       *server;
  GSourceFunc     function;
  gpointer        data;
  GDestroyNotify  notify;
} Invocation;

static void
invocation_free (gpointer data)
{
  Invocation *invocation = data;

  if (invocation->notify != NULL)
    invocation->notify (invocation->data);
  g_free (invocation);
}

static gboolean
invocation_cb (gpointer data)
{
  Invocation *invocation = data;

  /* Once the shutdown began, the bench is about to stop: nothing new may
   * start on it (its sources would outlive the thread). */
  if (invocation->server->stopping)
    return G_SOURCE_REMOVE;

  return invocation->function (invocation->data);
}

/**
 * sy_server_invoke:
 * @self: a #SyServer
 * @function: what to run on the server thread
 * @data: (closure): data for @function and @notify
 * @notify: (nullable): frees @data
 *
 * Runs @function on the server thread, like g_main_context_invoke_full()
 * on its context, so that the owner thread can use what lives there (the
 * bench). Call it from the thread that started the server.
 *
 * @function is not called when the server is not running, or once its
 * shutdown began; @notify is called in every case, exactly once: at once
 * on the calling thread when this returns %FALSE, else on the server thread
 * before sy_server_stop() returns. A @notify that finds @function did not
 * run knows the server stopped.
 *
 * Returns: %TRUE if the server is running and @function was queued
 */
gboolean
sy_server_invoke (SyServer       *self,
                  GSourceFunc     function,
                  gpointer        data,
                  GDestroyNotify  notify)
{
  Invocation *invocation;

  g_return_val_if_fail (SY_IS_SERVER (self), FALSE);
  g_return_val_if_fail (function != NULL, FALSE);

  if (!self->running)
    {
      if (notify != NULL)
        notify (data);
      return FALSE;
    }

  invocation = g_new0 (Invocation, 1);
  invocation->server = self;
  invocation->function = function;
  invocation->data = data;
  invocation->notify = notify;
  g_main_context_invoke_full (self->context, G_PRIORITY_DEFAULT,
                              invocation_cb, invocation, invocation_free);

  return TRUE;
}

/**
 * sy_server_start:
 * @self: a #SyServer
 * @error: return location for a #GError
 *
 * Starts the server thread and waits until it listens (or failed to).
 *
 * Returns: whether the server is listening
 */
gboolean
sy_server_start (SyServer  *self,
                 GError   **error)
{
  g_return_val_if_fail (SY_IS_SERVER (self), FALSE);
  g_return_val_if_fail (!self->running, FALSE);
  g_return_val_if_fail (self->thread == NULL, FALSE);

  g_clear_pointer (&self->owner_context, g_main_context_unref);
  self->owner_context = g_main_context_ref_thread_default ();
  self->context = g_main_context_new ();
  self->loop = g_main_loop_new (self->context, FALSE);
  self->stopping = FALSE;
  self->started = FALSE;
  self->n_upgrading = 0;

  /* One session prefix per run: hellos tell a restart from a reconnect,
   * and relay servers tell instances apart by it. */
  g_free (self->session);
  self->session = g_strdup_printf ("%08x%08x", g_random_int (), g_random_int ());
  for (guint i = 0; i < self->protocols->len; i++)
    if (SY_IS_JSON_PROTOCOL (g_ptr_array_index (self->protocols, i)))
      sy_json_protocol_set_session (g_ptr_array_index (self->protocols, i), self->session);
    else if (SY_IS_PROGRAM_PROTOCOL (g_ptr_array_index (self->protocols, i)))
      sy_program_protocol_configure (g_ptr_array_index (self->protocols, i), self->session,
                                     self->max_message_size);

  self->thread = g_thread_new ("sy-server", server_thread, self);

  g_mutex_lock (&self->lock);
  while (!self->started)
    g_cond_wait (&self->cond, &self->lock);
  g_mutex_unlock (&self->lock);

  if (self->start_error != NULL)
    {
      g_thread_join (g_steal_pointer (&self->thread));
      g_clear_pointer (&self->loop, g_main_loop_unref);
      g_clear_pointer (&self->context, g_main_context_unref);
      g_propagate_error (error, g_steal_pointer (&self->start_error));
      return FALSE;
    }

  self->running = TRUE;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RUNNING]);

  return TRUE;
}

/**
 * sy_server_stop:
 * @self: a #SyServer
 *
 * Closes every WebSocket with 1001, waits briefly for the peers' close
 * frames, drops the stragglers, stops listening and joins the thread. The
 * connections model is empty when this returns.
 */
void
sy_server_stop (SyServer *self)
{
  g_return_if_fail (SY_IS_SERVER (self));

  if (!self->running)
    return;

  g_main_context_invoke_full (self->context, G_PRIORITY_HIGH, begin_shutdown_cb, self, NULL);
  g_thread_join (g_steal_pointer (&self->thread));

  g_clear_pointer (&self->loop, g_main_loop_unref);
  g_clear_pointer (&self->context, g_main_context_unref);

  /* What the thread said last, the model hears now. */
  sy_server_drain_events (self);

  g_mutex_lock (&self->lock);
  self->bound_port = 0;
  g_clear_pointer (&self->uri, g_free);
  g_mutex_unlock (&self->lock);
  g_atomic_int_set (&self->n_open, 0);

  self->running = FALSE;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RUNNING]);

  g_message ("stopped");
}

gboolean
sy_server_get_running (SyServer *self)
{
  g_return_val_if_fail (SY_IS_SERVER (self), FALSE);
  return self->running;
}

/**
 * sy_server_get_port:
 * @self: a #SyServer
 *
 * Returns: the port the server listens on, or 0 when stopped
 */
guint
sy_server_get_port (SyServer *self)
{
  guint port;

  g_return_val_if_fail (SY_IS_SERVER (self), 0);

  g_mutex_lock (&self->lock);
  port = self->bound_port;
  g_mutex_unlock (&self->lock);

  return port;
}

/**
 * sy_server_dup_uri:
 * @self: a #SyServer
 *
 * Returns: (transfer full) (nullable): the base URI, e.g.
 *   `http://127.0.0.1:8080/`, or %NULL when stopped
 */
char *
sy_server_dup_uri (SyServer *self)
{
  char *uri;

  g_return_val_if_fail (SY_IS_SERVER (self), NULL);

  g_mutex_lock (&self->lock);
  uri = g_strdup (self->uri);
  g_mutex_unlock (&self->lock);

  return uri;
}

/**
 * sy_server_get_connections:
 * @self: a #SyServer
 *
 * The live connections as seen from the thread that started the server. It
 * changes only in that thread's main context.
 *
 * Returns: (transfer none): a #GListModel of #SyConnectionInfo
 */
GListModel *
sy_server_get_connections (SyServer *self)
{
  g_return_val_if_fail (SY_IS_SERVER (self), NULL);
  return G_LIST_MODEL (self->connections_model);
}

/**
 * sy_server_get_n_connections:
 * @self: a #SyServer
 *
 * Returns: the number of open WebSockets right now, from any thread
 */
guint
sy_server_get_n_connections (SyServer *self)
{
  g_return_val_if_fail (SY_IS_SERVER (self), 0);
  return g_atomic_int_get (&self->n_open);
}

/**
 * sy_server_add_subprotocol:
 * @self: a #SyServer
 * @protocol: a #SySubprotocol
 *
 * Registers a subprotocol. Only while the server is stopped.
 */
void
sy_server_add_subprotocol (SyServer      *self,
                           SySubprotocol *protocol)
{
  g_return_if_fail (SY_IS_SERVER (self));
  g_return_if_fail (SY_IS_SUBPROTOCOL (protocol));
  g_return_if_fail (!self->running);
  g_return_if_fail (find_protocol (self, sy_subprotocol_get_name (protocol)) == NULL);

  g_ptr_array_add (self->protocols, g_object_ref (protocol));
}

/**
 * sy_server_list_subprotocols:
 * @self: a #SyServer
 *
 * Returns: (transfer full): the registered subprotocol names, in order
 */
char **
sy_server_list_subprotocols (SyServer *self)
{
  GStrvBuilder *builder;
  char **names;

  g_return_val_if_fail (SY_IS_SERVER (self), NULL);

  builder = g_strv_builder_new ();
  for (guint i = 0; i < self->protocols->len; i++)
    g_strv_builder_add (builder, sy_subprotocol_get_name (g_ptr_array_index (self->protocols, i)));
  names = g_strv_builder_end (builder);
  g_strv_builder_unref (builder);

  return names;
}

/**
 * sy_server_dup_subprotocols:
 * @self: a #SyServer
 *
 * The registered subprotocols, for showing their configuration. Their
 * connections are the server thread's business: call nothing on them but
 * the getters of what they were built with.
 *
 * Returns: (transfer container) (element-type SySubprotocol): the
 *   subprotocols, in order, each with a reference
 */
GPtrArray *
sy_server_dup_subprotocols (SyServer *self)
{
  GPtrArray *protocols;

  g_return_val_if_fail (SY_IS_SERVER (self), NULL);

  protocols = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; i < self->protocols->len; i++)
    g_ptr_array_add (protocols, g_object_ref (g_ptr_array_index (self->protocols, i)));

  return protocols;
}

static void
sy_server_dispose (GObject *object)
{
  SyServer *self = (SyServer *)object;

  sy_server_stop (self);

  G_OBJECT_CLASS (sy_server_parent_class)->dispose (object);
}

static void
sy_server_finalize (GObject *object)
{
  SyServer *self = (SyServer *)object;

  g_clear_pointer (&self->bind_address, g_free);
  g_clear_pointer (&self->protocols, g_ptr_array_unref);
  g_clear_object (&self->bench);
  g_clear_object (&self->tokens);
  g_clear_object (&self->tls_certificate);
  g_clear_pointer (&self->allowed_origins, g_strfreev);
  g_clear_pointer (&self->owner_context, g_main_context_unref);
  g_clear_object (&self->connections_model);
  g_clear_pointer (&self->infos, g_hash_table_unref);
  g_clear_pointer (&self->events, g_ptr_array_unref);
  g_clear_pointer (&self->uri, g_free);
  g_clear_pointer (&self->session, g_free);
  g_clear_pointer (&self->uplink_url, g_free);
  g_clear_pointer (&self->uplink_token, g_free);
  g_clear_object (&self->uplink_tls_database);
  g_clear_pointer (&self->mqtt_config, sy_mqtt_config_free);
  g_clear_object (&self->audit);
  g_clear_error (&self->start_error);
  g_mutex_clear (&self->lock);
  g_cond_clear (&self->cond);

  G_OBJECT_CLASS (sy_server_parent_class)->finalize (object);
}

static void
sy_server_get_property (GObject    *object,
                        guint       prop_id,
                        GValue     *value,
                        GParamSpec *pspec)
{
  SyServer *self = SY_SERVER (object);

  switch (prop_id)
    {
    case PROP_BIND_ADDRESS:
      g_value_set_string (value, self->bind_address);
      break;

    case PROP_PORT:
      g_value_set_uint (value, self->port);
      break;

    case PROP_MAX_CONNECTIONS:
      g_value_set_uint (value, self->max_connections);
      break;

    case PROP_MAX_MESSAGE_SIZE:
      g_value_set_uint64 (value, self->max_message_size);
      break;

    case PROP_PING_INTERVAL:
      g_value_set_uint (value, self->ping_interval);
      break;

    case PROP_DEFAULT_ROLE:
      g_value_set_int (value, self->default_role);
      break;

    case PROP_TOKEN_KEEPER:
      g_value_set_object (value, self->tokens);
      break;

    case PROP_ALLOWED_ORIGINS:
      g_value_set_boxed (value, self->allowed_origins);
      break;

    case PROP_TLS_CERTIFICATE:
      g_value_set_object (value, self->tls_certificate);
      break;

    case PROP_REQUEST_TIMEOUT:
      g_value_set_uint (value, self->request_timeout);
      break;

    case PROP_PONG_TIMEOUT:
      g_value_set_uint (value, self->pong_timeout);
      break;

    case PROP_PEER_RATE:
      g_value_set_uint (value, self->peer_rate);
      break;

    case PROP_RUNNING:
      g_value_set_boolean (value, self->running);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sy_server_set_property (GObject      *object,
                        guint         prop_id,
                        const GValue *value,
                        GParamSpec   *pspec)
{
  SyServer *self = SY_SERVER (object);

  if (self->running)
    {
      g_warning ("Cannot change %s while the server runs", pspec->name);
      return;
    }

  switch (prop_id)
    {
    case PROP_BIND_ADDRESS:
      g_free (self->bind_address);
      self->bind_address = g_value_dup_string (value);
      if (self->bind_address == NULL)
        self->bind_address = g_strdup (SY_SERVER_DEFAULT_BIND_ADDRESS);
      break;

    case PROP_PORT:
      self->port = g_value_get_uint (value);
      break;

    case PROP_MAX_CONNECTIONS:
      self->max_connections = g_value_get_uint (value);
      break;

    case PROP_MAX_MESSAGE_SIZE:
      self->max_message_size = g_value_get_uint64 (value);
      break;

    case PROP_PING_INTERVAL:
      self->ping_interval = g_value_get_uint (value);
      break;

    case PROP_DEFAULT_ROLE:
      self->default_role = g_value_get_int (value);
      break;

    case PROP_TOKEN_KEEPER:
      g_set_object (&self->tokens, g_value_get_object (value));
      break;

    case PROP_ALLOWED_ORIGINS:
      g_strfreev (self->allowed_origins);
      self->allowed_origins = g_value_dup_boxed (value);
      break;

    case PROP_TLS_CERTIFICATE:
      g_set_object (&self->tls_certificate, g_value_get_object (value));
      break;

    case PROP_REQUEST_TIMEOUT:
      self->request_timeout = g_value_get_uint (value);
      break;

    case PROP_PONG_TIMEOUT:
      self->pong_timeout = g_value_get_uint (value);
      break;

    case PROP_PEER_RATE:
      self->peer_rate = g_value_get_uint (value);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sy_server_class_init (SyServerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = sy_server_dispose;
  object_class->finalize = sy_server_finalize;
  object_class->get_property = sy_server_get_property;
  object_class->set_property = sy_server_set_property;

  properties[PROP_BIND_ADDRESS] =
    g_param_spec_string ("bind-address", NULL, NULL,
                         SY_SERVER_DEFAULT_BIND_ADDRESS,
                         (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  properties[PROP_PORT] =
    g_param_spec_uint ("port", NULL, NULL,
                       0, 65535, 0,
                       (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  properties[PROP_MAX_CONNECTIONS] =
    g_param_spec_uint ("max-connections", NULL, NULL,
                       1, G_MAXINT, SY_SERVER_DEFAULT_MAX_CONNECTIONS,
                       (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  properties[PROP_MAX_MESSAGE_SIZE] =
    g_param_spec_uint64 ("max-message-size", NULL, NULL,
                         1, G_MAXUINT32, SY_SERVER_DEFAULT_MAX_MESSAGE_SIZE,
                         (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  properties[PROP_PING_INTERVAL] =
    g_param_spec_uint ("ping-interval", NULL, NULL,
                       0, 3600, SY_SERVER_DEFAULT_PING_INTERVAL,
                       (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  /**
   * SyServer:default-role:
   *
   * The role (a #SyRole) of a request without a token. With no
   * #SyServer:token-keeper it is every connection's role. `switchyard`
   * uses view on loopback and none beyond it.
   */
  properties[PROP_DEFAULT_ROLE] =
    g_param_spec_int ("default-role", NULL, NULL,
                      SY_ROLE_NONE, SY_ROLE_CONTROL, SY_ROLE_CONTROL,
                      (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  /**
   * SyServer:token-keeper:
   *
   * Issues and checks role tokens. Without one, every connection gets
   * #SyServer:default-role.
   */
  properties[PROP_TOKEN_KEEPER] =
    g_param_spec_object ("token-keeper", NULL, NULL,
                         SY_TYPE_TOKEN_KEEPER,
                         (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  /**
   * SyServer:allowed-origins:
   *
   * Browser origins (e.g. `https://panel.example:8443`) allowed besides the
   * server's own.
   */
  properties[PROP_ALLOWED_ORIGINS] =
    g_param_spec_boxed ("allowed-origins", NULL, NULL,
                        G_TYPE_STRV,
                        (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  /**
   * SyServer:tls-certificate:
   *
   * When set, the server speaks only https and wss.
   */
  properties[PROP_TLS_CERTIFICATE] =
    g_param_spec_object ("tls-certificate", NULL, NULL,
                         G_TYPE_TLS_CERTIFICATE,
                         (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  /**
   * SyServer:request-timeout:
   *
   * Seconds a connection may take to send a complete request, and may stay
   * idle between requests. Stops slow-loris clients.
   */
  properties[PROP_REQUEST_TIMEOUT] =
    g_param_spec_uint ("request-timeout", NULL, NULL,
                       1, 3600, SY_SERVER_DEFAULT_REQUEST_TIMEOUT,
                       (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  /**
   * SyServer:pong-timeout:
   *
   * Seconds a peer has to answer a ping before it is taken for dead and
   * dropped (0: never).
   */
  properties[PROP_PONG_TIMEOUT] =
    g_param_spec_uint ("pong-timeout", NULL, NULL,
                       0, 3600, SY_SERVER_DEFAULT_PONG_TIMEOUT,
                       (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  /**
   * SyServer:peer-rate:
   *
   * New WebSocket connections per second one address may open, in bursts
   * of twice that (0: no limit).
   */
  properties[PROP_PEER_RATE] =
    g_param_spec_uint ("peer-rate", NULL, NULL,
                       0, G_MAXINT, SY_SERVER_DEFAULT_PEER_RATE,
                       (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  properties[PROP_RUNNING] =
    g_param_spec_boolean ("running", NULL, NULL,
                          FALSE,
                          (G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
sy_server_init (SyServer *self)
{
  g_mutex_init (&self->lock);
  g_cond_init (&self->cond);
  self->bind_address = g_strdup (SY_SERVER_DEFAULT_BIND_ADDRESS);
  self->max_connections = SY_SERVER_DEFAULT_MAX_CONNECTIONS;
  self->max_message_size = SY_SERVER_DEFAULT_MAX_MESSAGE_SIZE;
  self->ping_interval = SY_SERVER_DEFAULT_PING_INTERVAL;
  self->default_role = SY_ROLE_CONTROL;
  self->request_timeout = SY_SERVER_DEFAULT_REQUEST_TIMEOUT;
  self->pong_timeout = SY_SERVER_DEFAULT_PONG_TIMEOUT;
  self->peer_rate = SY_SERVER_DEFAULT_PEER_RATE;
  self->protocols = g_ptr_array_new_with_free_func (g_object_unref);
  self->connections_model = g_list_store_new (SY_TYPE_CONNECTION_INFO);
  self->infos = g_hash_table_new_full (NULL, NULL, NULL, g_object_unref);
  self->events = g_ptr_array_new_with_free_func (event_free);
}

/**
 * sy_server_new:
 *
 * Returns: (transfer full): a stopped server with no subprotocols
 */
SyServer *
sy_server_new (void)
{
  return g_object_new (SY_TYPE_SERVER, NULL);
}

/**
 * sy_server_set_bench:
 * @self: a #SyServer
 * @bench: (nullable): the simulated bench
 *
 * The server starts and stops the bench on its own thread and serves its
 * history at `/api/history`. Only while stopped.
 */
void
sy_server_set_bench (SyServer *self,
                     SyBench  *bench)
{
  g_return_if_fail (SY_IS_SERVER (self));
  g_return_if_fail (!bench || SY_IS_BENCH (bench));
  g_return_if_fail (!self->running);

  g_set_object (&self->bench, bench);
}

/**
 * sy_server_get_bench:
 * @self: a #SyServer
 *
 * Returns: (transfer none) (nullable): the bench
 */
SyBench *
sy_server_get_bench (SyServer *self)
{
  g_return_val_if_fail (SY_IS_SERVER (self), NULL);
  return self->bench;
}

/**
 * sy_server_set_uplink:
 * @self: a #SyServer
 * @url: (nullable): the upstream Switchyard (see sy_uplink_parse_url()), or
 *   %NULL for a bench of the server's own
 * @token: (nullable): the token to present upstream; %NULL takes the one
 *   in @url, if any
 * @tls_database: (nullable): the certificates to trust for a wss://
 *   upstream, or %NULL for the system's
 * @error: a %SY_CLIENT_ERROR_BAD_URL error
 *
 * Makes the server a relay server: while it runs, its bench mirrors the
 * upstream's hardware (see `SyUplink`). Only while stopped.
 *
 * Returns: whether @url names an upstream
 */
gboolean
sy_server_set_uplink (SyServer      *self,
                      const char    *url,
                      const char    *token,
                      GTlsDatabase  *tls_database,
                      GError       **error)
{
  g_autofree char *ws_url = NULL;
  g_autofree char *url_token = NULL;

  g_return_val_if_fail (SY_IS_SERVER (self), FALSE);
  g_return_val_if_fail (!self->running, FALSE);
  g_return_val_if_fail (tls_database == NULL || G_IS_TLS_DATABASE (tls_database), FALSE);

  if (url != NULL && !sy_uplink_parse_url (url, &ws_url, &url_token, error))
    return FALSE;

  g_free (self->uplink_url);
  self->uplink_url = g_steal_pointer (&ws_url);
  g_free (self->uplink_token);
  self->uplink_token = token != NULL && *token != '\0' ? g_strdup (token) : g_steal_pointer (&url_token);
  g_set_object (&self->uplink_tls_database, tls_database);

  return TRUE;
}

/**
 * sy_server_get_uplink_url:
 * @self: a #SyServer
 *
 * Returns: (nullable): the upstream's endpoint, without a token, or %NULL
 */
const char *
sy_server_get_uplink_url (SyServer *self)
{
  g_return_val_if_fail (SY_IS_SERVER (self), NULL);

  return self->uplink_url;
}

/**
 * sy_server_set_mqtt:
 * @self: a #SyServer
 * @config: (nullable): the MQTT bridge's configuration, or %NULL for none
 * @error: a %SY_MQTT_ERROR error
 *
 * While the server runs, a bridge publishes its bench on an MQTT broker
 * and takes commands from it, or (with a mirror) shows another instance's
 * bench through the broker (see `SyMqtt`). Needs sy_server_install_bench();
 * a mirror does not go with an uplink. Only while stopped.
 *
 * Returns: whether @config can be used
 */
gboolean
sy_server_set_mqtt (SyServer            *self,
                    const SyMqttConfig  *config,
                    GError             **error)
{
  g_return_val_if_fail (SY_IS_SERVER (self), FALSE);
  g_return_val_if_fail (!self->running, FALSE);

  if (config != NULL && !sy_mqtt_config_check (config, error))
    return FALSE;

  if (config != NULL && config->mirror != NULL && self->uplink_url != NULL)
    {
      g_set_error_literal (error, SY_MQTT_ERROR, SY_MQTT_ERROR_BAD_CONFIG,
                           "An instance mirrors one other: an MQTT mirror does not go with an uplink");
      return FALSE;
    }

  g_clear_pointer (&self->mqtt_config, sy_mqtt_config_free);
  if (config != NULL)
    self->mqtt_config = sy_mqtt_config_copy (config);

  return TRUE;
}

/**
 * sy_server_get_mqtt_config:
 * @self: a #SyServer
 *
 * Returns: (nullable) (transfer none): the MQTT bridge's configuration
 */
const SyMqttConfig *
sy_server_get_mqtt_config (SyServer *self)
{
  g_return_val_if_fail (SY_IS_SERVER (self), NULL);

  return self->mqtt_config;
}

/**
 * sy_server_install_bench:
 * @self: a #SyServer
 * @bench: the simulated bench
 * @audit: where control actions are recorded
 *
 * Sets the bench and registers the sensor, relay, display and log
 * subprotocols that serve it.
 */
void
sy_server_install_bench (SyServer *self,
                         SyBench  *bench,
                         SyAudit  *audit)
{
  SySubprotocol *protocols[4];

  g_return_if_fail (SY_IS_SERVER (self));
  g_return_if_fail (SY_IS_BENCH (bench));
  g_return_if_fail (SY_IS_AUDIT (audit));

  sy_server_set_bench (self, bench);
  g_set_object (&self->audit, audit);

  protocols[0] = sy_sensor_protocol_new (bench);
  protocols[1] = sy_relay_protocol_new (bench, audit);
  protocols[2] = sy_display_protocol_new (audit);
  protocols[3] = sy_log_protocol_new ();

  for (guint i = 0; i < G_N_ELEMENTS (protocols); i++)
    {
      sy_server_add_subprotocol (self, protocols[i]);
      g_object_unref (protocols[i]);
    }
}

/**
 * sy_server_dup_page_uri:
 * @self: a #SyServer
 * @role: the role the link should grant
 *
 * The control page's address with a fresh token for @role (when the server
 * has a token keeper), as printed in `view-url:` and `control-url:`.
 *
 * Returns: (transfer full) (nullable): the address, or %NULL when stopped
 */
char *
sy_server_dup_page_uri (SyServer *self,
                        SyRole    role)
{
  g_autofree char *uri = NULL;
  g_autofree char *token = NULL;

  g_return_val_if_fail (SY_IS_SERVER (self), NULL);
  g_return_val_if_fail (role == SY_ROLE_VIEW || role == SY_ROLE_CONTROL, NULL);

  uri = sy_server_dup_uri (self);
  if (uri == NULL || self->tokens == NULL)
    return g_steal_pointer (&uri);

  token = sy_token_keeper_issue (self->tokens, role, SY_TOKEN_DEFAULT_LIFETIME_S);

  return g_strdup_printf ("%s?token=%s", uri, token);
}

/**
 * sy_server_rotate_tokens:
 * @self: a #SyServer
 * @error: return location for a #GError
 *
 * Revokes every token issued so far. Connections that came in with one are
 * closed with 4002 within a second.
 *
 * Returns: whether the rotation took (and was saved)
 */
gboolean
sy_server_rotate_tokens (SyServer  *self,
                         GError   **error)
{
  g_return_val_if_fail (SY_IS_SERVER (self), FALSE);

  if (self->tokens == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, "This server does not use tokens");
      return FALSE;
    }

  return sy_token_keeper_rotate (self->tokens, error);
}
