/* sy-mqtt.c
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "sy-mqtt"

#include "config.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

#include "sy-client.h"
#include "sy-display-protocol.h"
#include "sy-json.h"
#include "sy-json-protocol.h"
#include "sy-mqtt.h"
#include "sy-relay-protocol.h"
#include "sy-sensor-protocol.h"
#include "sy-source.h"

#if HAVE_MQTT
# include <mosquitto.h>
# include <poll.h>
#endif

/*
 * The MQTT bridge: this instance on a broker (Mosquitto or any MQTT 3.1.1
 * broker), under `PREFIX/INSTANCE/`:
 *
 *   status          "online" / "offline", retained, QoS 1; "offline" is
 *                   also the Last Will, so a crash shows too
 *   info            the catalogue, retained, QoS 1
 *   reading         every reading, as switchyard.sensor.v1 sends it, QoS 0
 *   sensor/ID       each fresh sensor's value as plain text, QoS 0
 *   relay/ID        each relay's confirmed state, retained, QoS 1
 *   command         in, QoS 1: relay commands, as switchyard.relay.v1 takes
 *   reply           out, QoS 1: their ack or error, with the command's id
 *   notes           out, QoS 1: the notes posted on the displays
 *
 * and the command topic also takes `post` (a note for the displays), as
 * switchyard.display.v1 does.
 *
 * Commands go through sy_relay_command_run(), the very code the WebSocket
 * relay protocol runs: the same validation, roles (the bridge's configured
 * role), interlocks and audit, and a token bucket like each connection's.
 * A command id is executed at most once: QoS 1 may deliver a command again
 * (and a publisher may retry it after an outage), so the last
 * SY_MQTT_MAX_SEEN_IDS ids are remembered and a repeated one is answered
 * "duplicate" with the first answer, never applied again.
 *
 * A mirror (config->mirror) shows another instance's hardware instead of
 * its own, the way SyUplink does over WebSocket: it subscribes to that
 * instance's topics, makes the bench a mirror and publishes its clients'
 * commands on that instance's command topic, under ids of its own, and
 * hands the replies back.
 *
 * libmosquitto runs without its thread: its socket is watched on the
 * thread-default main context of the caller of sy_mqtt_start() (the
 * server's thread), connects are asynchronous, and reconnects back off
 * from 0.5 s to 15 s with jitter (a refusal waits the longest). The broker
 * going away disturbs no WebSocket client.
 */

#define BACKOFF_INITIAL_MS    500
#define BACKOFF_MAX_MS        15000
#define KEEPALIVE_S           10
#define MISC_INTERVAL_MS      500
#define STALE_AFTER_MS        1000
#define MIRROR_TIMEOUT_US     (10 * G_USEC_PER_SEC)
#define STOP_DEADLINE_MS      1000

G_DEFINE_QUARK (sy-mqtt-error-quark, sy_mqtt_error)

struct _SyMqtt
{
  GObject            parent_instance;

  /* Owned */
  SyBench           *bench;
  SyAudit           *audit;
  SyDisplayProtocol *display;
  SyMqttConfig      *config;
  char              *session;
  char              *host;
  char              *user;
  char              *password;
  char              *public_url;
  char              *base;
  char              *mirror_base;
  char              *problem;
  GHashTable        *seen;
  GQueue             seen_order;
  GHashTable        *outstanding;
  JsonNode          *remote_relays[SY_BENCH_N_RELAYS];
  char              *remote_instance;
#if HAVE_MQTT
  struct mosquitto  *mosq;
#endif
  GSource           *watch;
  gpointer           watch_tag;
  GSource           *misc;
  GSource           *retry;

  SyMqttState        state;
  SyRateBucket       bucket;
  int                port;
  int                watch_fd;
  guint              failures;
  guint              next_id;
  guint64            received;
  guint64            duplicates;
  guint64            readings_dropped;
  gint64             last_reading;
  gulong             reading_id;
  gulong             relay_id;
  gulong             note_id;
  guint              secure : 1;
  guint              running : 1;
  guint              connected : 1;
  guint              mirroring : 1;
  guint              remote_online : 1;
  guint              connect_called : 1;
};

G_DEFINE_FINAL_TYPE (SyMqtt, sy_mqtt, G_TYPE_OBJECT)

/* Configuration */

/**
 * sy_mqtt_is_supported:
 *
 * Returns: whether this build has the MQTT bridge
 */
gboolean
sy_mqtt_is_supported (void)
{
  return HAVE_MQTT;
}

/**
 * sy_mqtt_parse_url:
 * @url: `mqtt://[USER[:PASSWORD]@]HOST[:PORT][/]` or `mqtts://…`
 * @secure: (out) (optional): whether it is mqtts
 * @host: (out) (optional): the host
 * @port: (out) (optional): the port (1883 or 8883 unless given)
 * @user: (out) (optional) (nullable): the user name
 * @password: (out) (optional) (nullable): the password
 * @public_url: (out) (optional): @url without the password, to show
 * @error: a %SY_MQTT_ERROR_BAD_URL error
 *
 * Returns: whether @url names a broker
 */
gboolean
sy_mqtt_parse_url (const char  *url,
                   gboolean    *secure,
                   char       **host,
                   int         *port,
                   char       **user,
                   char       **password,
                   char       **public_url,
                   GError     **error)
{
  g_autoptr(GUri) uri = NULL;
  g_autoptr(GError) local_error = NULL;
  const char *scheme;
  const char *name;
  gboolean is_secure;
  int number;

  g_return_val_if_fail (url != NULL, FALSE);

  uri = g_uri_parse (url, G_URI_FLAGS_HAS_PASSWORD, &local_error);
  if (uri == NULL)
    {
      g_set_error (error, SY_MQTT_ERROR, SY_MQTT_ERROR_BAD_URL,
                   "Invalid MQTT broker URL: %s", local_error->message);
      return FALSE;
    }

  scheme = g_uri_get_scheme (uri);
  if (g_ascii_strcasecmp (scheme, "mqtt") == 0)
    is_secure = FALSE;
  else if (g_ascii_strcasecmp (scheme, "mqtts") == 0)
    is_secure = TRUE;
  else
    {
      g_set_error (error, SY_MQTT_ERROR, SY_MQTT_ERROR_BAD_URL,
                   "Invalid MQTT broker URL: the scheme must be mqtt or mqtts, not %s", scheme);
      return FALSE;
    }

  name = g_uri_get_host (uri);
  if (name == NULL || *name == '\0')
    {
      g_set_error_literal (error, SY_MQTT_ERROR, SY_MQTT_ERROR_BAD_URL,
                           "Invalid MQTT broker URL: no host");
      return FALSE;
    }

  if ((*g_uri_get_path (uri) != '\0' && !g_str_equal (g_uri_get_path (uri), "/")) ||
      g_uri_get_query (uri) != NULL || g_uri_get_fragment (uri) != NULL)
    {
      g_set_error_literal (error, SY_MQTT_ERROR, SY_MQTT_ERROR_BAD_URL,
                           "Invalid MQTT broker URL: it names a broker only (no path, query or fragment); "
                           "topics are set with the prefix and the instance name");
      return FALSE;
    }

  number = g_uri_get_port (uri);
  if (number <= 0)
    number = is_secure ? 8883 : 1883;

  if (secure != NULL)
    *secure = is_secure;
  if (host != NULL)
    *host = g_strdup (name);
  if (port != NULL)
    *port = number;
  if (user != NULL)
    *user = g_strdup (g_uri_get_user (uri));
  if (password != NULL)
    *password = g_strdup (g_uri_get_password (uri));
  if (public_url != NULL)
    {
      g_autoptr(GUri) shown = g_uri_build_with_user (G_URI_FLAGS_NONE, is_secure ? "mqtts" : "mqtt",
                                                     g_uri_get_user (uri), NULL, NULL, name, number,
                                                     "", NULL, NULL);

      *public_url = g_uri_to_string (shown);
    }

  return TRUE;
}

/**
 * sy_mqtt_default_instance:
 *
 * Returns: (transfer full): the default instance name: this machine's host
 *   name, with what a topic level cannot hold replaced by "-"
 */
char *
sy_mqtt_default_instance (void)
{
  char *name = g_strdup (g_get_host_name ());

  g_strcanon (name, G_CSET_a_2_z G_CSET_A_2_Z G_CSET_DIGITS "-_.", '-');

  return name;
}

/**
 * sy_mqtt_config_new:
 * @url: the broker
 *
 * Returns: (transfer full): a configuration with the defaults
 */
SyMqttConfig *
sy_mqtt_config_new (const char *url)
{
  SyMqttConfig *config = g_new0 (SyMqttConfig, 1);

  g_return_val_if_fail (url != NULL, NULL);

  config->url = g_strdup (url);
  config->prefix = g_strdup (SY_MQTT_DEFAULT_PREFIX);
  config->instance = sy_mqtt_default_instance ();
  config->role = SY_ROLE_VIEW;

  return config;
}

SyMqttConfig *
sy_mqtt_config_copy (const SyMqttConfig *config)
{
  SyMqttConfig *copy;

  g_return_val_if_fail (config != NULL, NULL);

  copy = g_new0 (SyMqttConfig, 1);
  copy->url = g_strdup (config->url);
  copy->password = g_strdup (config->password);
  copy->prefix = g_strdup (config->prefix);
  copy->instance = g_strdup (config->instance);
  copy->mirror = g_strdup (config->mirror);
  copy->role = config->role;
  copy->ca_file = g_strdup (config->ca_file);
  copy->cert_file = g_strdup (config->cert_file);
  copy->key_file = g_strdup (config->key_file);

  return copy;
}

void
sy_mqtt_config_free (SyMqttConfig *config)
{
  if (config == NULL)
    return;

  g_free (config->url);
  g_free (config->password);
  g_free (config->prefix);
  g_free (config->instance);
  g_free (config->mirror);
  g_free (config->ca_file);
  g_free (config->cert_file);
  g_free (config->key_file);
  g_free (config);
}

/* A topic level or levels of ours: no wildcards, no empty level, no
 * leading "$" (the broker's own topics). */
static gboolean
check_topic_part (const char  *what,
                  const char  *value,
                  gboolean     levels,
                  GError     **error)
{
  g_auto(GStrv) parts = NULL;

  if (value == NULL || *value == '\0' || !g_utf8_validate (value, -1, NULL) ||
      strpbrk (value, "+#") != NULL || value[0] == '$' || strlen (value) > 200)
    goto bad;

  if (!levels && strchr (value, '/') != NULL)
    goto bad;

  parts = g_strsplit (value, "/", -1);
  for (guint i = 0; parts[i] != NULL; i++)
    if (*parts[i] == '\0')
      goto bad;

  return TRUE;

bad:
  g_set_error (error, SY_MQTT_ERROR, SY_MQTT_ERROR_BAD_CONFIG,
               "Invalid MQTT %s “%s”: it must be non-empty, without “+”, “#”, a leading “$”%s",
               what, value ? value : "", levels ? " or empty levels" : " or “/”");
  return FALSE;
}

/**
 * sy_mqtt_config_check:
 * @config: a configuration
 * @error: a %SY_MQTT_ERROR error
 *
 * Returns: whether @config can be used (and this build has MQTT)
 */
gboolean
sy_mqtt_config_check (const SyMqttConfig  *config,
                      GError             **error)
{
  g_autofree char *user = NULL;
  gboolean secure = FALSE;

  g_return_val_if_fail (config != NULL, FALSE);

  if (!sy_mqtt_parse_url (config->url, &secure, NULL, NULL, &user, NULL, NULL, error))
    return FALSE;

  if (config->password != NULL && *config->password != '\0' && user == NULL)
    {
      g_set_error_literal (error, SY_MQTT_ERROR, SY_MQTT_ERROR_BAD_CONFIG,
                           "An MQTT password needs a user name in the broker's address (mqtt://USER@HOST)");
      return FALSE;
    }

  if (!check_topic_part ("prefix", config->prefix, TRUE, error) ||
      !check_topic_part ("instance name", config->instance, FALSE, error))
    return FALSE;

  if (config->mirror != NULL)
    {
      if (!check_topic_part ("instance name to mirror", config->mirror, FALSE, error))
        return FALSE;
      if (g_str_equal (config->mirror, config->instance))
        {
          g_set_error (error, SY_MQTT_ERROR, SY_MQTT_ERROR_BAD_CONFIG,
                       "An instance cannot mirror itself (“%s”)", config->mirror);
          return FALSE;
        }
    }

  if (config->role != SY_ROLE_VIEW && config->role != SY_ROLE_CONTROL)
    {
      g_set_error_literal (error, SY_MQTT_ERROR, SY_MQTT_ERROR_BAD_CONFIG,
                           "The MQTT role must be view or control");
      return FALSE;
    }

  if (!secure && (config->ca_file != NULL || config->cert_file != NULL || config->key_file != NULL))
    {
      g_set_error_literal (error, SY_MQTT_ERROR, SY_MQTT_ERROR_BAD_CONFIG,
                           "Certificates for MQTT go with an mqtts:// broker");
      return FALSE;
    }

  if ((config->cert_file != NULL) != (config->key_file != NULL))
    {
      g_set_error_literal (error, SY_MQTT_ERROR, SY_MQTT_ERROR_BAD_CONFIG,
                           "An MQTT client certificate needs its key, and a key its certificate");
      return FALSE;
    }

  {
    const char * const files[] = { config->ca_file, config->cert_file, config->key_file };

    for (guint i = 0; i < G_N_ELEMENTS (files); i++)
      if (files[i] != NULL && g_access (files[i], R_OK) != 0)
        {
          int saved = errno;

          g_set_error (error, SY_MQTT_ERROR, SY_MQTT_ERROR_BAD_CONFIG,
                       "Cannot read the MQTT certificate file %s: %s", files[i], g_strerror (saved));
          return FALSE;
        }
  }

  if (!HAVE_MQTT)
    {
      g_set_error_literal (error, SY_MQTT_ERROR, SY_MQTT_ERROR_UNSUPPORTED,
                           "This Switchyard was built without MQTT (libmosquitto)");
      return FALSE;
    }

  return TRUE;
}

/* The object */

static void
sy_mqtt_set_problem (SyMqtt      *self,
                     SyMqttState  state,
                     const char  *problem)
{
  self->state = state;
  g_free (self->problem);
  self->problem = g_strdup (problem);
}

static void
sy_mqtt_dispose (GObject *object)
{
  SyMqtt *self = (SyMqtt *)object;

  sy_mqtt_stop (self);

  G_OBJECT_CLASS (sy_mqtt_parent_class)->dispose (object);
}

static void
sy_mqtt_finalize (GObject *object)
{
  SyMqtt *self = (SyMqtt *)object;

#if HAVE_MQTT
  g_clear_pointer (&self->mosq, mosquitto_destroy);
#endif
  g_clear_object (&self->bench);
  g_clear_object (&self->audit);
  g_clear_object (&self->display);
  g_clear_pointer (&self->config, sy_mqtt_config_free);
  g_clear_pointer (&self->session, g_free);
  g_clear_pointer (&self->host, g_free);
  g_clear_pointer (&self->user, g_free);
  g_clear_pointer (&self->password, g_free);
  g_clear_pointer (&self->public_url, g_free);
  g_clear_pointer (&self->base, g_free);
  g_clear_pointer (&self->mirror_base, g_free);
  g_clear_pointer (&self->problem, g_free);
  g_clear_pointer (&self->seen, g_hash_table_unref);
  g_queue_clear_full (&self->seen_order, g_free);
  g_clear_pointer (&self->outstanding, g_hash_table_unref);
  g_clear_pointer (&self->remote_instance, g_free);
  for (guint i = 0; i < SY_BENCH_N_RELAYS; i++)
    g_clear_pointer (&self->remote_relays[i], json_node_unref);

  G_OBJECT_CLASS (sy_mqtt_parent_class)->finalize (object);
}

static void
sy_mqtt_class_init (SyMqttClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = sy_mqtt_dispose;
  object_class->finalize = sy_mqtt_finalize;
}

typedef struct
{
  guint        relay;
  gint64       deadline;
  SyRelayDone  done;
  gpointer     done_data;
} Outstanding;

static void
sy_mqtt_init (SyMqtt *self)
{
  self->seen = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);
  g_queue_init (&self->seen_order);
  self->outstanding = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->watch_fd = -1;
  sy_rate_bucket_init (&self->bucket);
}

/**
 * sy_mqtt_new:
 * @bench: the bench to publish (or to make a mirror of config->mirror)
 * @audit: where commands from the broker are recorded
 * @config: a configuration that passed sy_mqtt_config_check()
 * @session: this server run's instance id
 *
 * Returns: (transfer full): a bridge that is not started
 */
SyMqtt *
sy_mqtt_new (SyBench            *bench,
             SyAudit            *audit,
             const SyMqttConfig *config,
             const char         *session)
{
  SyMqtt *self;
  gboolean secure = FALSE;

  g_return_val_if_fail (SY_IS_BENCH (bench), NULL);
  g_return_val_if_fail (SY_IS_AUDIT (audit), NULL);
  g_return_val_if_fail (config != NULL, NULL);
  g_return_val_if_fail (session != NULL, NULL);

  self = g_object_new (SY_TYPE_MQTT, NULL);
  self->bench = g_object_ref (bench);
  self->audit = g_object_ref (audit);
  self->config = sy_mqtt_config_copy (config);
  self->session = g_strdup (session);
  if (!sy_mqtt_parse_url (config->url, &secure, &self->host, &self->port, &self->user,
                          &self->password, &self->public_url, NULL))
    g_critical ("sy_mqtt_new: the configuration was not checked");
  self->secure = secure;
  if (self->password == NULL && config->password != NULL && *config->password != '\0')
    self->password = g_strdup (config->password);
  self->base = g_strdup_printf ("%s/%s", config->prefix, config->instance);
  if (config->mirror != NULL)
    self->mirror_base = g_strdup_printf ("%s/%s", config->prefix, config->mirror);
  sy_mqtt_set_problem (self, SY_MQTT_CONNECTING, "not started");

  return self;
}

/**
 * sy_mqtt_set_display:
 * @self: a `SyMqtt` that is not started
 * @display: (nullable): the displays' protocol: its notes are published,
 *   and `post` commands from the broker go to it
 */
void
sy_mqtt_set_display (SyMqtt            *self,
                     SyDisplayProtocol *display)
{
  g_return_if_fail (SY_IS_MQTT (self));
  g_return_if_fail (display == NULL || SY_IS_DISPLAY_PROTOCOL (display));
  g_return_if_fail (!self->running);

  g_set_object (&self->display, display);
}

/**
 * sy_mqtt_get_state:
 * @self: a `SyMqtt`
 *
 * Returns: how the link to the broker is
 */
SyMqttState
sy_mqtt_get_state (SyMqtt *self)
{
  g_return_val_if_fail (SY_IS_MQTT (self), SY_MQTT_CONNECTING);

  return self->state;
}

/**
 * sy_mqtt_get_problem:
 * @self: a `SyMqtt`
 *
 * Returns: (nullable): why the bridge is not connected, or %NULL
 */
const char *
sy_mqtt_get_problem (SyMqtt *self)
{
  g_return_val_if_fail (SY_IS_MQTT (self), NULL);

  return self->problem;
}

/**
 * sy_mqtt_to_json:
 * @self: a `SyMqtt`
 *
 * Returns: (transfer full): `{"url","state","problem","topic","role",
 *   "mirror","mirror_online","received","duplicates","readings_dropped"}`
 *   for `/api/status`;
 *   never the password
 */
JsonNode *
sy_mqtt_to_json (SyMqtt *self)
{
  static const char * const states[] = { "connecting", "connected", "refused" };
  g_autoptr(JsonBuilder) builder = json_builder_new_immutable ();

  g_return_val_if_fail (SY_IS_MQTT (self), NULL);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "url");
  json_builder_add_string_value (builder, self->public_url);
  json_builder_set_member_name (builder, "state");
  json_builder_add_string_value (builder, states[self->state]);
  json_builder_set_member_name (builder, "problem");
  if (self->problem != NULL)
    json_builder_add_string_value (builder, self->problem);
  else
    json_builder_add_null_value (builder);
  json_builder_set_member_name (builder, "topic");
  json_builder_add_string_value (builder, self->base);
  json_builder_set_member_name (builder, "role");
  json_builder_add_string_value (builder, sy_role_to_string (self->config->role));
  json_builder_set_member_name (builder, "mirror");
  if (self->mirror_base != NULL)
    json_builder_add_string_value (builder, self->mirror_base);
  else
    json_builder_add_null_value (builder);
  json_builder_set_member_name (builder, "mirror_online");
  json_builder_add_boolean_value (builder, self->mirror_base != NULL && self->connected && self->remote_online);
  json_builder_set_member_name (builder, "received");
  json_builder_add_int_value (builder, (gint64) self->received);
  json_builder_set_member_name (builder, "duplicates");
  json_builder_add_int_value (builder, (gint64) self->duplicates);
  json_builder_set_member_name (builder, "readings_dropped");
  json_builder_add_int_value (builder, (gint64) self->readings_dropped);
  json_builder_end_object (builder);

  return json_builder_get_root (builder);
}

#if HAVE_MQTT

static void     sy_mqtt_connect (SyMqtt   *self);
static gboolean socket_cb       (gpointer  data);

static GSource *
add_timeout (guint        ms,
             GSourceFunc  func,
             gpointer     data,
             const char  *name)
{
  return sy_timeout_source_attach (g_main_context_get_thread_default (), ms, func, data, name);
}

/* The socket */

static gboolean
watch_dispatch (GSource     *source,
                GSourceFunc  callback,
                gpointer     user_data)
{
  return callback (user_data);
}

static GSourceFuncs watch_funcs = {
  NULL,
  NULL,
  watch_dispatch,
  NULL,
  NULL,
  NULL,
};

static void
update_watch (SyMqtt *self)
{
  int fd;
  GIOCondition condition = G_IO_IN | G_IO_HUP | G_IO_ERR;

  if (self->mosq == NULL)
    return;

  fd = mosquitto_socket (self->mosq);
  if (fd != self->watch_fd)
    {
      sy_clear_source (&self->watch);
      self->watch_tag = NULL;
      self->watch_fd = -1;
    }
  if (fd < 0)
    return;

  if (mosquitto_want_write (self->mosq))
    condition |= G_IO_OUT;

  if (self->watch == NULL)
    {
      self->watch = g_source_new (&watch_funcs, sizeof (GSource));
      g_source_set_static_name (self->watch, "[sy-mqtt] socket");
      g_source_set_callback (self->watch, socket_cb, self, NULL);
      self->watch_tag = g_source_add_unix_fd (self->watch, fd, condition);
      self->watch_fd = fd;
      g_source_attach (self->watch, g_main_context_get_thread_default ());
    }
  else
    {
      g_source_modify_unix_fd (self->watch, self->watch_tag, condition);
    }
}

static gboolean
retry_cb (gpointer data)
{
  SyMqtt *self = data;

  sy_clear_source (&self->retry);
  sy_mqtt_connect (self);

  return G_SOURCE_REMOVE;
}

static void fail_outstanding   (SyMqtt       *self,
                                const GError *error);
static void mirror_update_link (SyMqtt *self);

/* The link to the broker is down (or was refused): stop watching, and try
 * again later. */
static void
link_down (SyMqtt      *self,
           SyMqttState  state,
           const char  *problem)
{
  guint delay;

  sy_clear_source (&self->watch);
  self->watch_tag = NULL;
  self->watch_fd = -1;
  self->connected = FALSE;

  if (!self->running)
    return;

  if (state == SY_MQTT_CONNECTING)
    delay = sy_client_backoff_delay (self->failures, BACKOFF_INITIAL_MS, BACKOFF_MAX_MS, g_random_double ());
  else
    delay = BACKOFF_MAX_MS;
  self->failures++;
  /* A mirrored instance's status is heard again after the reconnect. */
  self->remote_online = FALSE;

  if (problem != self->problem &&
      (self->state == SY_MQTT_CONNECTED || self->state != state || g_strcmp0 (self->problem, problem) != 0))
    g_warning ("MQTT broker %s: %s; trying again in %.1f s", self->public_url, problem, delay / 1000.0);
  else
    g_debug ("MQTT broker %s: %s; trying again in %.1f s", self->public_url, problem, delay / 1000.0);

  if (problem != self->problem)
    sy_mqtt_set_problem (self, state, problem);
  else
    self->state = state;

  if (self->mirror_base != NULL)
    {
      g_autoptr(GError) error = g_error_new_literal (SY_BENCH_ERROR, SY_BENCH_ERROR_UNAVAILABLE,
                                                     "The link to the MQTT broker was lost before "
                                                     "the mirrored instance answered");

      fail_outstanding (self, error);
      mirror_update_link (self);
    }

  sy_clear_source (&self->retry);
  self->retry = add_timeout (delay, retry_cb, self, "[sy-mqtt] retry");
}

static void
check_rc (SyMqtt     *self,
          int         rc,
          const char *what)
{
  g_autofree char *problem = NULL;

  if (rc == MOSQ_ERR_SUCCESS && mosquitto_socket (self->mosq) >= 0)
    {
      update_watch (self);
      return;
    }

  if (rc == MOSQ_ERR_CONN_REFUSED && self->state == SY_MQTT_REFUSED && self->problem != NULL)
    {
      /* The CONNACK refused: on_connect said why. */
      link_down (self, SY_MQTT_REFUSED, self->problem);
      return;
    }

  if (rc == MOSQ_ERR_ERRNO)
    problem = g_strdup_printf ("%s: %s", what, g_strerror (errno));
  else if (rc == MOSQ_ERR_SUCCESS || rc == MOSQ_ERR_NO_CONN || rc == MOSQ_ERR_CONN_LOST)
    problem = g_strdup_printf ("%s: the connection was lost", what);
  else
    problem = g_strdup_printf ("%s: %s", what, mosquitto_strerror (rc));

  link_down (self, SY_MQTT_CONNECTING, problem);
}

static gboolean
socket_cb (gpointer data)
{
  SyMqtt *self = data;
  GIOCondition condition = g_source_query_unix_fd (self->watch, self->watch_tag);
  int rc = MOSQ_ERR_SUCCESS;

  g_object_ref (self);

  if (condition & (G_IO_IN | G_IO_HUP | G_IO_ERR))
    rc = mosquitto_loop_read (self->mosq, 1);
  if (rc == MOSQ_ERR_SUCCESS && mosquitto_socket (self->mosq) >= 0 && (condition & G_IO_OUT))
    rc = mosquitto_loop_write (self->mosq, 1);

  if (self->running)
    check_rc (self, rc, "the connection to the broker");

  g_object_unref (self);

  return G_SOURCE_CONTINUE;
}

static gboolean
misc_cb (gpointer data)
{
  SyMqtt *self = data;
  gint64 now = g_get_monotonic_time ();

  if (self->mosq != NULL && mosquitto_socket (self->mosq) >= 0)
    {
      int rc = mosquitto_loop_misc (self->mosq);

      check_rc (self, rc, "the broker did not answer a keepalive");
    }

  /* A mirror's sensors go stale when the readings stop. */
  if (self->mirroring && (self->last_reading == 0 || now - self->last_reading > STALE_AFTER_MS * 1000))
    {
      SyReading reading = *sy_bench_get_reading (self->bench);

      for (guint i = 0; i < SY_BENCH_N_SENSORS; i++)
        reading.stale[i] = TRUE;
      sy_bench_mirror_reading (self->bench, &reading);
    }

  /* A mirrored command whose answer never came. */
  if (self->mirroring && g_hash_table_size (self->outstanding) > 0)
    {
      GHashTableIter iter;
      gpointer value;
      g_autoptr(GPtrArray) late = g_ptr_array_new_with_free_func (g_free);

      g_hash_table_iter_init (&iter, self->outstanding);
      while (g_hash_table_iter_next (&iter, NULL, &value))
        {
          Outstanding *o = value;

          if (o->deadline < now)
            {
              g_ptr_array_add (late, o);
              g_hash_table_iter_steal (&iter);
            }
        }

      for (guint i = 0; i < late->len; i++)
        {
          Outstanding *o = g_ptr_array_index (late, i);
          g_autoptr(GError) error = g_error_new_literal (SY_BENCH_ERROR, SY_BENCH_ERROR_TIMEOUT,
                                                         "The mirrored instance did not answer in time");

          if (o->done != NULL)
            o->done (self->bench, o->relay, error, o->done_data);
        }
    }

  return G_SOURCE_CONTINUE;
}

/* Publishing */

static void
publish (SyMqtt     *self,
         const char *suffix,
         const char *payload,
         int         qos,
         gboolean    retain)
{
  g_autofree char *topic = NULL;
  int rc;

  if (!self->connected)
    return;

  topic = g_strdup_printf ("%s/%s", self->base, suffix);
  rc = mosquitto_publish (self->mosq, NULL, topic, (int) strlen (payload), payload, qos, retain);
  if (rc != MOSQ_ERR_SUCCESS)
    g_debug ("MQTT: cannot publish on %s: %s", topic, mosquitto_strerror (rc));
}

static char *
node_to_string (JsonNode *node)
{
  return json_to_string (node, FALSE);
}

static void
publish_relay (SyMqtt *self,
               guint   relay)
{
  const SyRelayState *state = sy_bench_get_relay (self->bench, relay);
  g_autoptr(JsonNode) node = sy_relay_state_to_json (state);
  g_autofree char *text = node_to_string (node);
  g_autofree char *suffix = g_strdup_printf ("relay/%s", state->id);

  publish (self, suffix, text, 1, TRUE);
}

static void
publish_info (SyMqtt *self)
{
  g_autoptr(JsonBuilder) builder = json_builder_new_immutable ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *text = NULL;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "server");
  json_builder_add_string_value (builder, PACKAGE_NAME);
  json_builder_set_member_name (builder, "version");
  json_builder_add_string_value (builder, PACKAGE_VERSION);
  json_builder_set_member_name (builder, "name");
  json_builder_add_string_value (builder, self->config->instance);
  json_builder_set_member_name (builder, "instance");
  json_builder_add_string_value (builder, self->session);
  json_builder_set_member_name (builder, "role");
  json_builder_add_string_value (builder, sy_role_to_string (self->config->role));
  json_builder_set_member_name (builder, "mirror");
  if (self->config->mirror != NULL)
    json_builder_add_string_value (builder, self->config->mirror);
  else
    json_builder_add_null_value (builder);
  json_builder_set_member_name (builder, "tick_hz");
  json_builder_add_int_value (builder, sy_bench_get_tick_hz (self->bench));
  sy_sensor_add_catalogue (builder);
  json_builder_set_member_name (builder, "relays");
  json_builder_begin_array (builder);
  for (guint i = 0; i < SY_BENCH_N_RELAYS; i++)
    json_builder_add_string_value (builder, sy_bench_get_relay (self->bench, i)->id);
  json_builder_end_array (builder);
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  text = node_to_string (root);

  publish (self, "info", text, 1, TRUE);
}

static void
on_reading (SyBench         *bench,
            const SyReading *reading,
            SyMqtt          *self)
{
  g_autofree char *text = NULL;

  if (!self->connected || self->mirroring)
    return;

  /* A broker that does not keep up loses readings, not memory: while the
   * last ones are still going out, new ones are dropped (QoS 0 may be). */
  if (mosquitto_want_write (self->mosq))
    {
      self->readings_dropped++;
      return;
    }

  text = sy_sensor_format_reading (reading, (1u << SY_BENCH_N_SENSORS) - 1, 0);
  publish (self, "reading", text, 0, FALSE);

  for (guint i = 0; i < SY_BENCH_N_SENSORS; i++)
    {
      char buffer[G_ASCII_DTOSTR_BUF_SIZE];
      g_autofree char *suffix = NULL;

      if (reading->stale[i] || !isfinite (reading->values[i]))
        continue;
      suffix = g_strdup_printf ("sensor/%s", sy_bench_get_sensor_spec (i)->id);
      publish (self, suffix, g_ascii_formatd (buffer, sizeof buffer, "%.6g", reading->values[i]), 0, FALSE);
    }

  update_watch (self);
}

static void
on_note (SyDisplayProtocol *display,
         JsonNode          *note,
         SyMqtt            *self)
{
  g_autofree char *text = node_to_string (note);

  publish (self, "notes", text, 1, FALSE);
  update_watch (self);
}

static void
on_relay_changed (SyBench    *bench,
                  guint       relay,
                  const char *reason,
                  SyMqtt     *self)
{
  /* Only confirmed states are retained: a pending one is not the relay's. */
  if (!self->connected || self->mirroring || sy_bench_get_relay (bench, relay)->pending)
    return;

  publish_relay (self, relay);
  update_watch (self);
}

/* Commands from the broker */

typedef struct
{
  SyMqtt *self;
  char   *key;
} Caller;

static void
caller_clear (gpointer data)
{
  Caller *caller = data;

  g_clear_object (&caller->self);
  g_clear_pointer (&caller->key, g_free);
}

static gpointer
caller_ref (gpointer data)
{
  return g_rc_box_acquire (data);
}

static void
caller_unref (gpointer data)
{
  g_rc_box_release_full (data, caller_clear);
}

static void
caller_audit (gpointer    data,
              JsonObject *command,
              const char *result)
{
  Caller *caller = data;
  SyMqtt *self = caller->self;

  sy_audit_record_bridge (self->audit, self->public_url, self->config->role, "mqtt", command, result);
}

static char *
answer_text (JsonNode   *id,
             const char *type,
             const char *code,
             const char *message,
             JsonNode   *relay,
             const char *first)
{
  g_autoptr(JsonObject) object = json_object_new ();
  g_autoptr(JsonNode) root = json_node_new (JSON_NODE_OBJECT);

  json_object_set_string_member (object, "type", type);
  json_object_set_member (object, "id", id ? json_node_copy (id) : json_node_new (JSON_NODE_NULL));
  if (code != NULL)
    {
      json_object_set_string_member (object, "code", code);
      json_object_set_string_member (object, "message", message);
    }
  if (relay != NULL)
    json_object_set_member (object, "relay", json_node_copy (relay));
  if (first != NULL)
    {
      g_autoptr(JsonParser) parser = json_parser_new_immutable ();

      if (json_parser_load_from_data (parser, first, -1, NULL))
        json_object_set_member (object, "first", json_node_copy (json_parser_get_root (parser)));
    }
  json_node_set_object (root, object);

  return json_to_string (root, FALSE);
}

static void
reply (SyMqtt     *self,
       const char *text)
{
  publish (self, "reply", text, 1, FALSE);
  update_watch (self);
}

/* The answer to a command id, for a repeat of it, while the id is
 * remembered (the table keeps its own key). */
static void
remember (SyMqtt     *self,
          const char *key,
          const char *text)
{
  if (key != NULL && g_hash_table_contains (self->seen, key))
    g_hash_table_insert (self->seen, (gpointer) key, g_strdup (text));
}

static void
caller_answer (gpointer    data,
               JsonNode   *id,
               const char *code,
               const char *message,
               JsonNode   *relay)
{
  Caller *caller = data;
  SyMqtt *self = caller->self;
  g_autofree char *text = answer_text (id, code ? "error" : "ack", code, message, relay, NULL);

  remember (self, caller->key, text);
  reply (self, text);
}

static const SyRelayCaller mqtt_caller = {
  caller_audit,
  caller_answer,
  caller_ref,
  caller_unref,
};

static char *
id_key (JsonNode *id)
{
  if (json_node_get_value_type (id) == G_TYPE_STRING)
    return g_strconcat ("s:", json_node_get_string (id), NULL);

  return g_strdup_printf ("i:%" G_GINT64_FORMAT, json_node_get_int (id));
}

static void
refuse (SyMqtt     *self,
        JsonObject *command,
        JsonNode   *id,
        const char *code,
        const char *message,
        const char *first)
{
  g_autofree char *text = answer_text (id, "error", code, message, NULL, first);

  sy_audit_record_bridge (self->audit, self->public_url, self->config->role, "mqtt", command, code);
  reply (self, text);
}

static void
on_command (SyMqtt     *self,
            const char *payload,
            gsize       len)
{
  g_autoptr(JsonObject) command = NULL;
  g_autoptr(JsonNode) id = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *key = NULL;
  const char *code = NULL;
  const char *first;
  Caller *caller;

  self->received++;

  command = sy_json_command_parse (payload, len, &id, &code, &error);
  if (command == NULL)
    {
      refuse (self, NULL, id, code, error->message, NULL);
      return;
    }

  key = id_key (id);
  if (g_hash_table_lookup_extended (self->seen, key, NULL, (gpointer *) &first))
    {
      g_autofree char *message = g_strdup_printf ("A command with this id was already received; "
                                                  "it is not applied again%s",
                                                  first ? " (its answer is in \"first\")" : "");

      self->duplicates++;
      refuse (self, command, id, "duplicate", message, first);
      return;
    }

  if (!sy_rate_bucket_take (&self->bucket))
    {
      g_autofree char *message = g_strdup_printf ("Too many commands: at most %.0f per second",
                                                  SY_JSON_PROTOCOL_RATE);

      refuse (self, command, id, SY_ERROR_RATE_LIMITED, message, NULL);
      return;
    }

  /* Remembered before it runs: a repeat, even while this one is pending,
   * is a duplicate. */
  if (g_queue_get_length (&self->seen_order) >= SY_MQTT_MAX_SEEN_IDS)
    {
      g_autofree char *oldest = g_queue_pop_head (&self->seen_order);

      g_hash_table_remove (self->seen, oldest);
    }
  g_queue_push_tail (&self->seen_order, g_strdup (key));
  g_hash_table_insert (self->seen, g_queue_peek_tail (&self->seen_order), NULL);

  if (g_str_equal (json_object_get_string_member (command, "type"), "post") && self->display != NULL)
    {
      g_autofree char *message = NULL;
      g_autofree char *text = NULL;

      if (self->config->role < SY_ROLE_CONTROL)
        {
          code = SY_ERROR_FORBIDDEN;
          message = g_strdup ("Posting notes needs the control role; this bridge has the view role");
        }
      else
        {
          code = sy_display_note_check (command, &message);
        }

      text = answer_text (id, code ? "error" : "ack", code, message, NULL, NULL);
      sy_audit_record_bridge (self->audit, self->public_url, self->config->role, "mqtt", command,
                              code ? code : "ok");
      remember (self, key, text);
      reply (self, text);
      if (code == NULL)
        sy_display_protocol_show (self->display, "MQTT", command);
      return;
    }

  caller = g_rc_box_new0 (Caller);
  caller->self = g_object_ref (self);
  caller->key = g_steal_pointer (&key);
  sy_relay_command_run (self->bench, self->config->role, &mqtt_caller, caller,
                        json_object_get_string_member (command, "type"), command, id);
  caller_unref (caller);
}

/* Mirror */

static JsonNode *
parse_object (const char *payload,
              gsize       len)
{
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  JsonNode *root;

  if (len == 0 || !g_utf8_validate (payload, (gssize) len, NULL) ||
      !json_parser_load_from_data (parser, payload, (gssize) len, NULL))
    return NULL;

  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return NULL;

  return json_node_ref (root);
}

static void
mirror_apply_relay (SyMqtt *self,
                    guint   index,
                    const char *reason)
{
  JsonObject *object;
  SyRelayState state = { 0 };

  if (self->remote_relays[index] == NULL)
    return;

  object = json_node_get_object (self->remote_relays[index]);
  sy_relay_state_from_json (object, &state);
  /* Retained states are confirmed ones. */
  state.pending = FALSE;
  state.target = state.on;
  state.available = state.available && self->connected && self->remote_online;

  sy_bench_mirror_relay (self->bench, index, &state, reason);
}

/* The mirrored instance is there when the broker is and it says "online". */
static void
mirror_update_link (SyMqtt *self)
{
  gboolean up = self->connected && self->remote_online;

  if (!self->mirroring)
    return;

  if (up)
    {
      const char *chain[] = { self->remote_instance ? self->remote_instance : self->config->mirror, NULL };

      sy_bench_mirror_set_link (self->bench, TRUE, chain);
      for (guint i = 0; i < SY_BENCH_N_RELAYS; i++)
        mirror_apply_relay (self, i, "resync");
    }
  else
    {
      sy_bench_mirror_set_link (self->bench, FALSE, NULL);
    }
}

static void
fail_outstanding (SyMqtt       *self,
                  const GError *error)
{
  g_autoptr(GHashTable) outstanding = g_steal_pointer (&self->outstanding);
  GHashTableIter iter;
  gpointer value;

  self->outstanding = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);

  g_hash_table_iter_init (&iter, outstanding);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      Outstanding *o = value;

      if (o->done != NULL)
        o->done (self->bench, o->relay, error, o->done_data);
    }
}

static void
mirror_on_reading (SyMqtt     *self,
                   JsonObject *message)
{
  SyReading reading = *sy_bench_get_reading (self->bench);

  if (!sy_sensor_parse_reading (message, &reading))
    return;

  if (!self->remote_online)
    for (guint i = 0; i < SY_BENCH_N_SENSORS; i++)
      reading.stale[i] = TRUE;

  self->last_reading = g_get_monotonic_time ();
  sy_bench_mirror_reading (self->bench, &reading);
}

static void
mirror_on_reply (SyMqtt     *self,
                 JsonObject *message)
{
  const char *id = sy_json_object_get_string (message, "id");
  const char *type = sy_json_object_get_string (message, "type");
  Outstanding *o;

  if (id == NULL || !g_hash_table_steal_extended (self->outstanding, id, NULL, (gpointer *) &o))
    return;

  if (g_strcmp0 (type, "ack") == 0)
    {
      if (o->done != NULL)
        o->done (self->bench, o->relay, NULL, o->done_data);
    }
  else
    {
      const char *text = sy_json_object_get_string (message, "message");
      g_autoptr(GError) error = NULL;

      error = g_error_new (SY_BENCH_ERROR, sy_relay_error_from_code (sy_json_object_get_string (message, "code")),
                           "%s", text ? text : "The mirrored instance refused the command");
      if (o->done != NULL)
        o->done (self->bench, o->relay, error, o->done_data);
    }

  g_free (o);
  /* The key went with the steal. */
}

static void
on_mirror_message (SyMqtt     *self,
                   const char *suffix,
                   const char *payload,
                   gsize       len)
{
  g_autoptr(JsonNode) root = NULL;

  if (g_str_equal (suffix, "status"))
    {
      gboolean online = len == 6 && memcmp (payload, "online", 6) == 0;

      if (online != self->remote_online)
        g_message ("MQTT: the mirrored instance %s is %s", self->mirror_base, online ? "online" : "offline");
      self->remote_online = online;
      if (!online)
        {
          g_autoptr(GError) error = g_error_new_literal (SY_BENCH_ERROR, SY_BENCH_ERROR_UNAVAILABLE,
                                                         "The mirrored instance went offline before it answered");

          fail_outstanding (self, error);
        }
      mirror_update_link (self);
      return;
    }

  root = parse_object (payload, len);
  if (root == NULL)
    return;

  if (g_str_equal (suffix, "reading"))
    {
      mirror_on_reading (self, json_node_get_object (root));
    }
  else if (g_str_equal (suffix, "reply"))
    {
      mirror_on_reply (self, json_node_get_object (root));
    }
  else if (g_str_equal (suffix, "info"))
    {
      JsonObject *object = json_node_get_object (root);
      const char *instance = sy_json_object_get_string (object, "instance");
      gint64 tick_hz = sy_json_object_get_int (object, "tick_hz", SY_BENCH_DEFAULT_TICK_HZ);

      sy_bench_set_tick_hz (self->bench, (guint) CLAMP (tick_hz, SY_BENCH_MIN_TICK_HZ, SY_BENCH_MAX_TICK_HZ));
      if (instance != NULL && g_strcmp0 (instance, self->remote_instance) != 0)
        {
          g_free (self->remote_instance);
          self->remote_instance = g_strdup (instance);
          mirror_update_link (self);
        }
    }
  else if (g_str_has_prefix (suffix, "relay/"))
    {
      int index = sy_bench_find_relay (self->bench, suffix + strlen ("relay/"));

      if (index < 0)
        return;
      g_clear_pointer (&self->remote_relays[index], json_node_unref);
      self->remote_relays[index] = g_steal_pointer (&root);
      mirror_apply_relay (self, (guint) index, "confirmed");
    }
}

static gboolean
forward_cb (SyBench              *bench,
            const SyRelayCommand *command,
            SyRelayDone           done,
            gpointer              done_data,
            gpointer              user_data,
            GError              **error)
{
  SyMqtt *self = user_data;
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *text = NULL;
  g_autofree char *topic = NULL;
  g_autofree char *id = NULL;
  Outstanding *o;
  int rc;

  if (!self->connected || !self->remote_online)
    {
      g_set_error (error, SY_BENCH_ERROR, SY_BENCH_ERROR_UNAVAILABLE,
                   "%s is unavailable: the instance it is mirrored from is not online on the broker",
                   sy_bench_get_relay (bench, command->relay)->name);
      return FALSE;
    }

  id = g_strdup_printf ("mirror-%s-%s-%u", self->config->instance, self->session, ++self->next_id);
  root = sy_relay_command_to_json (bench, command, json_node_init_string (json_node_alloc (), id));
  text = json_to_string (root, FALSE);

  topic = g_strdup_printf ("%s/command", self->mirror_base);
  rc = mosquitto_publish (self->mosq, NULL, topic, (int) strlen (text), text, 1, FALSE);
  if (rc != MOSQ_ERR_SUCCESS)
    {
      g_set_error (error, SY_BENCH_ERROR, SY_BENCH_ERROR_UNAVAILABLE, "%s is unavailable: %s",
                   sy_bench_get_relay (bench, command->relay)->name, mosquitto_strerror (rc));
      return FALSE;
    }
  update_watch (self);

  o = g_new0 (Outstanding, 1);
  o->relay = command->relay;
  o->deadline = g_get_monotonic_time () + MIRROR_TIMEOUT_US;
  o->done = done;
  o->done_data = done_data;
  g_hash_table_insert (self->outstanding, g_steal_pointer (&id), o);

  return TRUE;
}

/* libmosquitto's callbacks: inside mosquitto_loop_read(), on our thread. */

static void
subscribe (SyMqtt     *self,
           const char *base,
           const char *suffix,
           int         qos)
{
  g_autofree char *topic = g_strdup_printf ("%s/%s", base, suffix);
  int rc = mosquitto_subscribe (self->mosq, NULL, topic, qos);

  if (rc != MOSQ_ERR_SUCCESS)
    g_warning ("MQTT: cannot subscribe to %s: %s", topic, mosquitto_strerror (rc));
}

static void
on_connect (struct mosquitto *mosq,
            void             *data,
            int               rc)
{
  SyMqtt *self = data;

  if (rc != 0)
    {
      g_autofree char *problem = g_strdup_printf ("refused: %s", mosquitto_connack_string (rc));

      if (self->state != SY_MQTT_REFUSED || g_strcmp0 (self->problem, problem) != 0)
        g_warning ("MQTT broker %s: %s; trying again in %.1f s", self->public_url, problem,
                   BACKOFF_MAX_MS / 1000.0);
      sy_mqtt_set_problem (self, SY_MQTT_REFUSED, problem);
      return;
    }

  self->connected = TRUE;
  self->failures = 0;
  g_message ("MQTT broker %s: connected as %s (commands %s)", self->public_url, self->base,
             self->mirror_base != NULL ? "go to the mirrored instance" :
             self->config->role >= SY_ROLE_CONTROL ? "accepted" : "refused: view role");
  sy_mqtt_set_problem (self, SY_MQTT_CONNECTED, NULL);

  publish (self, "status", "online", 1, TRUE);
  publish_info (self);

  if (self->mirror_base != NULL)
    {
      subscribe (self, self->mirror_base, "status", 1);
      subscribe (self, self->mirror_base, "info", 1);
      subscribe (self, self->mirror_base, "relay/+", 1);
      subscribe (self, self->mirror_base, "reply", 1);
      subscribe (self, self->mirror_base, "reading", 0);
      mirror_update_link (self);
    }
  else
    {
      subscribe (self, self->base, "command", 1);
      /* Retained state again: the broker may have lost it, or a relay
       * changed while the link was down. */
      for (guint i = 0; i < SY_BENCH_N_RELAYS; i++)
        publish_relay (self, i);
    }
}

static void
on_message (struct mosquitto                *mosq,
            void                            *data,
            const struct mosquitto_message  *message)
{
  SyMqtt *self = data;
  const char *payload = message->payload ? message->payload : "";
  gsize len = (gsize) MAX (0, message->payloadlen);
  gsize base_len = strlen (self->base);

  if (self->mirror_base != NULL)
    {
      gsize mirror_len = strlen (self->mirror_base);

      if (strncmp (message->topic, self->mirror_base, mirror_len) == 0 && message->topic[mirror_len] == '/')
        on_mirror_message (self, message->topic + mirror_len + 1, payload, len);
      return;
    }

  if (strncmp (message->topic, self->base, base_len) == 0 && g_str_equal (message->topic + base_len, "/command"))
    {
      /* A retained command would run again on every reconnect: never. */
      if (message->retain)
        {
          g_autoptr(JsonObject) command = NULL;
          g_autoptr(JsonNode) id = NULL;
          const char *code = NULL;

          command = sy_json_command_parse (payload, len, &id, &code, NULL);
          refuse (self, command, id, SY_ERROR_BAD_REQUEST,
                  "A retained command is refused: publish commands without the retain flag", NULL);
          return;
        }
      on_command (self, payload, len);
    }
}

static void
on_disconnect (struct mosquitto *mosq,
               void             *data,
               int               rc)
{
  SyMqtt *self = data;

  /* The caller of the loop function sees the error and takes the link
   * down; here only the state that must not wait. */
  self->connected = FALSE;
}

static int
no_key_password (char *buf,
                 int   size,
                 int   rwflag,
                 void *userdata)
{
  /* A key that needs a password cannot be used: never prompt on a
   * terminal from the server's thread. */
  return 0;
}

static gboolean
setup_client (SyMqtt *self)
{
  static gsize initialised = 0;
  g_autofree char *client_id = NULL;
  g_autofree char *status = NULL;
  int rc;

  if (g_once_init_enter (&initialised))
    {
      mosquitto_lib_init ();
      g_once_init_leave (&initialised, 1);
    }

  client_id = g_strdup_printf ("switchyard-%s-%s", self->config->instance, self->session);
  self->mosq = mosquitto_new (client_id, TRUE, self);
  if (self->mosq == NULL)
    {
      sy_mqtt_set_problem (self, SY_MQTT_REFUSED, "cannot create an MQTT client");
      return FALSE;
    }

  mosquitto_connect_callback_set (self->mosq, on_connect);
  mosquitto_disconnect_callback_set (self->mosq, on_disconnect);
  mosquitto_message_callback_set (self->mosq, on_message);

  status = g_strdup_printf ("%s/status", self->base);
  rc = mosquitto_will_set (self->mosq, status, (int) strlen ("offline"), "offline", 1, TRUE);
  if (rc == MOSQ_ERR_SUCCESS && self->user != NULL)
    rc = mosquitto_username_pw_set (self->mosq, self->user, self->password);
  if (rc == MOSQ_ERR_SUCCESS && self->secure)
    {
      if (self->config->ca_file == NULL)
        mosquitto_int_option (self->mosq, MOSQ_OPT_TLS_USE_OS_CERTS, 1);
      rc = mosquitto_tls_set (self->mosq, self->config->ca_file,
                              self->config->ca_file == NULL ? "/etc/ssl/certs" : NULL,
                              self->config->cert_file, self->config->key_file, no_key_password);
    }

  if (rc != MOSQ_ERR_SUCCESS)
    {
      g_autofree char *problem = g_strdup_printf ("cannot set up the MQTT client: %s", mosquitto_strerror (rc));

      sy_mqtt_set_problem (self, SY_MQTT_REFUSED, problem);
      g_warning ("MQTT broker %s: %s", self->public_url, problem);
      return FALSE;
    }

  return TRUE;
}

static void
sy_mqtt_connect (SyMqtt *self)
{
  int rc;

  if (!self->connect_called)
    rc = mosquitto_connect_async (self->mosq, self->host, self->port, KEEPALIVE_S);
  else
    rc = mosquitto_reconnect_async (self->mosq);
  self->connect_called = TRUE;

  /* The state stays as it was (refused, say) until the broker answers. */
  check_rc (self, rc, "cannot connect");
}

#endif /* HAVE_MQTT */

/**
 * sy_mqtt_start:
 * @self: a `SyMqtt`
 *
 * Connects, on the thread-default main context. A mirror makes the bench
 * a mirror: call before the bench starts.
 */
void
sy_mqtt_start (SyMqtt *self)
{
  g_return_if_fail (SY_IS_MQTT (self));

  if (self->running)
    return;

#if HAVE_MQTT
  if (self->mosq == NULL && !setup_client (self))
    return;

  self->running = TRUE;
  self->failures = 0;
  sy_mqtt_set_problem (self, SY_MQTT_CONNECTING, "connecting");

  if (self->mirror_base != NULL)
    {
      sy_bench_set_mirror (self->bench, forward_cb, self);
      self->mirroring = TRUE;
      g_message ("MQTT: this instance mirrors %s through %s", self->mirror_base, self->public_url);
    }
  else
    {
      self->reading_id = g_signal_connect (self->bench, "reading", G_CALLBACK (on_reading), self);
      self->relay_id = g_signal_connect (self->bench, "relay-changed", G_CALLBACK (on_relay_changed), self);
      if (self->display != NULL)
        self->note_id = g_signal_connect (self->display, "note", G_CALLBACK (on_note), self);
    }

  self->misc = add_timeout (MISC_INTERVAL_MS, misc_cb, self, "[sy-mqtt] keepalive");
  sy_mqtt_connect (self);
#else
  sy_mqtt_set_problem (self, SY_MQTT_REFUSED, "this Switchyard was built without MQTT");
#endif
}

/**
 * sy_mqtt_stop:
 * @self: a `SyMqtt`
 *
 * Says "offline", disconnects (waiting up to a second for that to go out)
 * and gives a mirror's bench its own state back. Call after the bench
 * stopped.
 */
void
sy_mqtt_stop (SyMqtt *self)
{
  g_return_if_fail (SY_IS_MQTT (self));

  if (!self->running)
    return;

  self->running = FALSE;

#if HAVE_MQTT
  sy_clear_source (&self->retry);
  sy_clear_source (&self->misc);
  sy_clear_source (&self->watch);
  self->watch_tag = NULL;
  self->watch_fd = -1;
  g_clear_signal_handler (&self->reading_id, self->bench);
  g_clear_signal_handler (&self->relay_id, self->bench);
  if (self->display != NULL)
    g_clear_signal_handler (&self->note_id, self->display);

  if (self->connected)
    {
      gint64 deadline = g_get_monotonic_time () + STOP_DEADLINE_MS * 1000;

      publish (self, "status", "offline", 1, TRUE);
      mosquitto_disconnect (self->mosq);

      /* What is left of the two goes out now, or not at all. */
      while (mosquitto_socket (self->mosq) >= 0 && mosquitto_want_write (self->mosq))
        {
          struct pollfd pfd = { mosquitto_socket (self->mosq), POLLOUT, 0 };
          gint64 left = (deadline - g_get_monotonic_time ()) / 1000;

          if (left <= 0 || poll (&pfd, 1, (int) left) <= 0)
            break;
          if (mosquitto_loop_write (self->mosq, 1) != MOSQ_ERR_SUCCESS)
            break;
        }
      self->connected = FALSE;
    }
  g_clear_pointer (&self->mosq, mosquitto_destroy);

  if (self->mirroring)
    {
      g_autoptr(GError) error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                                     "The MQTT bridge is shutting down");

      fail_outstanding (self, error);
      sy_bench_set_mirror (self->bench, NULL, NULL);
      self->mirroring = FALSE;
    }
#endif

  sy_mqtt_set_problem (self, SY_MQTT_CONNECTING, "stopped");
}
