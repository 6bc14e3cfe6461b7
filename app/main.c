/* main.c
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "switchyard"

#include "config.h"

#include <glib/gi18n.h>
#include <glib-unix.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>

#include "sy-application.h"
#include "sy-audit.h"
#include "sy-bench.h"
#include "sy-echo-protocol.h"
#include "sy-log.h"
#include "sy-program-protocol.h"
#include "sy-server.h"
#include "sy-tls.h"
#include "sy-token.h"
#include "sy-mqtt.h"
#include "sy-uplink.h"

typedef struct
{
  gboolean  headless;
  gboolean  version;
  int       port;
  char     *bind_address;
  char     *state_dir;
  char     *seed;
  int       max_connections;
  gint64    max_message_size;
  int       ping_interval;
  int       tick_hz;
  char    **allow_origins;
  char     *tls_cert;
  char     *tls_key;
  int       request_timeout;
  int       pong_timeout;
  int       peer_rate;
  char     *uplink;
  char     *uplink_token;
  char     *uplink_ca;
  char    **subprotocols;
  char     *mqtt;
  char     *mqtt_prefix;
  char     *mqtt_instance;
  char     *mqtt_role;
  char     *mqtt_mirror;
  char     *mqtt_ca;
  char     *mqtt_cert;
  char     *mqtt_key;
} Options;

static gboolean
on_quit_signal (gpointer data)
{
  GMainLoop *loop = data;

  g_message ("signal received, shutting down");
  g_main_loop_quit (loop);

  return G_SOURCE_CONTINUE;
}

/* SIGUSR1 revokes every token handed out so far and prints new links. */
static gboolean
on_rotate_signal (gpointer data)
{
  SyServer *server = data;
  g_autoptr(GError) error = NULL;
  g_autofree char *view = NULL;
  g_autofree char *control = NULL;

  if (!sy_server_rotate_tokens (server, &error))
    {
      g_message ("cannot rotate the tokens: %s", error->message);
      return G_SOURCE_CONTINUE;
    }

  view = sy_server_dup_page_uri (server, SY_ROLE_VIEW);
  control = sy_server_dup_page_uri (server, SY_ROLE_CONTROL);
  g_message ("tokens rotated: the old links no longer work");
  g_print ("view-url: %s\ncontrol-url: %s\n", view, control);
  fflush (stdout);

  return G_SOURCE_CONTINUE;
}

static int
run_headless (SyServer *server)
{
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr(GError) error = NULL;
  g_autofree char *view = NULL;
  g_autofree char *control = NULL;
  guint sigint_id;
  guint sigterm_id;
  guint sigusr1_id;

  /* Handlers first: whoever reads the printed links may signal at once. */
  sigint_id = g_unix_signal_add (SIGINT, on_quit_signal, loop);
  sigterm_id = g_unix_signal_add (SIGTERM, on_quit_signal, loop);
  sigusr1_id = g_unix_signal_add (SIGUSR1, on_rotate_signal, server);

  if (!sy_server_start (server, &error))
    {
      g_printerr ("switchyard: %s\n", error->message);
      g_source_remove (sigint_id);
      g_source_remove (sigterm_id);
      g_source_remove (sigusr1_id);
      return EXIT_FAILURE;
    }

  view = sy_server_dup_page_uri (server, SY_ROLE_VIEW);
  control = sy_server_dup_page_uri (server, SY_ROLE_CONTROL);
  g_print ("view-url: %s\n", view);
  g_print ("control-url: %s\n", control);
  fflush (stdout);

  g_main_loop_run (loop);

  g_source_remove (sigint_id);
  g_source_remove (sigterm_id);
  g_source_remove (sigusr1_id);
  sy_server_stop (server);

  return EXIT_SUCCESS;
}

/* The MQTT bridge's configuration from the command line. */
static SyMqttConfig *
mqtt_config (const Options  *options,
             GError        **error)
{
  g_autoptr(SyMqttConfig) config = sy_mqtt_config_new (options->mqtt);

  if (options->mqtt_prefix != NULL)
    {
      g_free (config->prefix);
      config->prefix = g_strdup (options->mqtt_prefix);
    }
  if (options->mqtt_instance != NULL)
    {
      g_free (config->instance);
      config->instance = g_strdup (options->mqtt_instance);
    }
  if (options->mqtt_mirror != NULL)
    config->mirror = g_strdup (options->mqtt_mirror);
  config->ca_file = g_strdup (options->mqtt_ca);
  config->cert_file = g_strdup (options->mqtt_cert);
  config->key_file = g_strdup (options->mqtt_key);

  if (options->mqtt_role == NULL || g_str_equal (options->mqtt_role, "view"))
    config->role = SY_ROLE_VIEW;
  else if (g_str_equal (options->mqtt_role, "control"))
    config->role = SY_ROLE_CONTROL;
  else
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "--mqtt-role must be view or control, not “%s”", options->mqtt_role);
      return NULL;
    }

  return g_steal_pointer (&config);
}

static gboolean
check_options (const Options  *options,
               GError        **error)
{
  if (options->port < 0 || options->port > 65535)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "--port must be between 0 and 65535 (0 picks a free port), not %d",
                   options->port);
      return FALSE;
    }

  if (options->max_connections < 1)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "--max-connections must be at least 1");
      return FALSE;
    }

  if (options->max_message_size < 1 || options->max_message_size > G_MAXUINT32)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "--max-message-size must be between 1 and %u bytes", G_MAXUINT32);
      return FALSE;
    }

  if (options->ping_interval < 0 || options->ping_interval > 3600)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "--ping-interval must be between 0 (off) and 3600 seconds");
      return FALSE;
    }

  if ((options->tls_cert == NULL) != (options->tls_key == NULL))
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "--tls-cert and --tls-key go together");
      return FALSE;
    }

  if (options->request_timeout < 1 || options->request_timeout > 3600 ||
      options->pong_timeout < 0 || options->pong_timeout > 3600 ||
      options->peer_rate < 0)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "--request-timeout must be 1 to 3600, --pong-timeout 0 to 3600 and "
                   "--peer-rate 0 or more");
      return FALSE;
    }

  for (guint i = 0; options->allow_origins && options->allow_origins[i]; i++)
    {
      g_autoptr(GUri) uri = g_uri_parse (options->allow_origins[i], G_URI_FLAGS_NONE, NULL);

      if (uri == NULL || g_uri_get_host (uri) == NULL ||
          (g_strcmp0 (g_uri_get_scheme (uri), "http") != 0 && g_strcmp0 (g_uri_get_scheme (uri), "https") != 0) ||
          (*g_uri_get_path (uri) != '\0' && g_strcmp0 (g_uri_get_path (uri), "/") != 0))
        {
          g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                       "--allow-origin takes an origin like https://panel.example:8443, not “%s”",
                       options->allow_origins[i]);
          return FALSE;
        }
    }

  if (options->tick_hz < SY_BENCH_MIN_TICK_HZ || options->tick_hz > SY_BENCH_MAX_TICK_HZ)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "--tick-hz must be between %d and %d, not %d",
                   SY_BENCH_MIN_TICK_HZ, SY_BENCH_MAX_TICK_HZ, options->tick_hz);
      return FALSE;
    }

  if (options->seed != NULL &&
      !g_ascii_string_to_unsigned (options->seed, 10, 0, G_MAXUINT64, NULL, NULL))
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "--seed must be a whole number from 0 to %" G_GUINT64_FORMAT ", not “%s”",
                   G_MAXUINT64, options->seed);
      return FALSE;
    }

  if ((options->uplink_token != NULL || options->uplink_ca != NULL) && options->uplink == NULL)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "--uplink-token and --uplink-ca go with --uplink");
      return FALSE;
    }

  if (options->uplink != NULL)
    {
      g_autofree char *ws_url = NULL;
      g_autofree char *token = NULL;

      if (!sy_uplink_parse_url (options->uplink, &ws_url, &token, error))
        return FALSE;
    }

  if ((options->mqtt_prefix != NULL || options->mqtt_instance != NULL || options->mqtt_role != NULL ||
       options->mqtt_mirror != NULL || options->mqtt_ca != NULL || options->mqtt_cert != NULL ||
       options->mqtt_key != NULL) && options->mqtt == NULL)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "--mqtt-prefix, --mqtt-instance, --mqtt-role, --mqtt-mirror, --mqtt-ca, "
                   "--mqtt-cert and --mqtt-key go with --mqtt");
      return FALSE;
    }

  if (options->mqtt != NULL)
    {
      g_autoptr(SyMqttConfig) config = mqtt_config (options, error);

      if (config == NULL || !sy_mqtt_config_check (config, error))
        return FALSE;

      if (config->mirror != NULL && options->uplink != NULL)
        {
          g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                       "--mqtt-mirror and --uplink cannot go together: an instance mirrors one other");
          return FALSE;
        }
    }

  if (options->bind_address != NULL && !g_hostname_is_ip_address (options->bind_address))
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "--bind needs a numeric IPv4 or IPv6 address, not “%s”",
                   options->bind_address);
      return FALSE;
    }

  return TRUE;
}

/* The configured program-backed subprotocols, or NULL with @error set. */
static GPtrArray *
load_programs (const char   *state_dir,
               char        **specs,
               GError      **error)
{
  g_autofree char *path = g_build_filename (state_dir, SY_PROGRAM_PROTOCOL_FILE, NULL);
  g_autoptr(GPtrArray) programs = sy_program_protocol_load_file (path, error);

  if (programs == NULL)
    return NULL;

  for (guint i = 0; specs && specs[i]; i++)
    {
      SySubprotocol *program = sy_program_protocol_parse (specs[i], error);
      const char *name;

      if (program == NULL)
        return NULL;

      name = sy_subprotocol_get_name (program);
      for (guint j = 0; j < programs->len; j++)
        {
          SySubprotocol *other = g_ptr_array_index (programs, j);

          if (g_strcmp0 (sy_subprotocol_get_name (other), name) != 0)
            continue;

          /* Twice on the command line is a mistake; over the file, a choice. */
          if (g_object_get_data (G_OBJECT (other), "sy-from-flag") != NULL)
            {
              g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                           "--subprotocol %s is given twice", name);
              g_object_unref (program);
              return NULL;
            }
          g_ptr_array_remove_index (programs, j);
          break;
        }

      g_object_set_data (G_OBJECT (program), "sy-from-flag", GINT_TO_POINTER (1));
      g_ptr_array_add (programs, program);
    }

  return g_steal_pointer (&programs);
}

/* Marks an option the command line did not give. */
#define NOT_GIVEN G_MININT

/* The settings keys the command line gave: the window's server keeps
 * their command-line value for the whole run, whatever the preferences
 * say (see sy_application_new_with_settings()). */
static GStrv
pinned_keys (const Options *options)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();

  if (options->port != NOT_GIVEN)
    g_strv_builder_add (builder, "port");
  if (options->bind_address != NULL)
    g_strv_builder_add (builder, "bind-address");
  if (options->max_connections != NOT_GIVEN)
    g_strv_builder_add (builder, "max-connections");
  if (options->max_message_size != NOT_GIVEN)
    g_strv_builder_add (builder, "max-message-size");
  if (options->ping_interval != NOT_GIVEN)
    g_strv_builder_add (builder, "ping-interval");
  if (options->tick_hz != NOT_GIVEN)
    g_strv_builder_add (builder, "tick-hz");
  if (options->tls_cert != NULL || options->tls_key != NULL)
    {
      g_strv_builder_add (builder, "tls-certificate");
      g_strv_builder_add (builder, "tls-key");
    }
  /* The token goes with its upstream: a setting's token never reaches the
   * command line's upstream. */
  if (options->uplink != NULL)
    {
      g_strv_builder_add (builder, "uplink-url");
      g_strv_builder_add (builder, "uplink-token");
    }
  /* --mqtt and its options stand for every mqtt- key. */
  if (options->mqtt != NULL)
    {
      static const char * const mqtt_keys[] = {
        "mqtt-url", "mqtt-password", "mqtt-prefix", "mqtt-instance", "mqtt-role", "mqtt-mirror",
        "mqtt-ca-file", "mqtt-certificate", "mqtt-key",
      };

      for (guint i = 0; i < G_N_ELEMENTS (mqtt_keys); i++)
        g_strv_builder_add (builder, mqtt_keys[i]);
    }

  return g_strv_builder_end (builder);
}

/* The window's preferences, when their schema is installed. */
static GSettings *
new_settings (void)
{
  GSettingsSchemaSource *source = g_settings_schema_source_get_default ();
  g_autoptr(GSettingsSchema) schema = NULL;

  schema = source ? g_settings_schema_source_lookup (source, SY_SETTINGS_SCHEMA_ID, TRUE) : NULL;
  if (schema == NULL)
    return NULL;

  return g_settings_new (SY_SETTINGS_SCHEMA_ID);
}

int
main (int   argc,
      char *argv[])
{
  Options options = {
    /* NOT_GIVEN: not on the command line (settings or defaults decide);
     * any value given, -1 included, is checked as given. */
    .port = NOT_GIVEN,
    .max_connections = NOT_GIVEN,
    .max_message_size = NOT_GIVEN,
    .ping_interval = NOT_GIVEN,
    .tick_hz = NOT_GIVEN,
    .request_timeout = SY_SERVER_DEFAULT_REQUEST_TIMEOUT,
    .pong_timeout = SY_SERVER_DEFAULT_PONG_TIMEOUT,
    .peer_rate = SY_SERVER_DEFAULT_PEER_RATE,
  };
  const GOptionEntry entries[] = {
    { "headless", 0, 0, G_OPTION_ARG_NONE, &options.headless,
      N_("Run the server without a window"), NULL },
    { "port", 'p', 0, G_OPTION_ARG_INT, &options.port,
      N_("Port to listen on (0 picks a free port)"), N_("PORT") },
    { "bind", 'b', 0, G_OPTION_ARG_STRING, &options.bind_address,
      N_("Address to listen on (default 127.0.0.1)"), N_("ADDRESS") },
    { "state-dir", 0, 0, G_OPTION_ARG_FILENAME, &options.state_dir,
      N_("Where to keep relay states and sensor history"), N_("DIR") },
    { "seed", 0, 0, G_OPTION_ARG_STRING, &options.seed,
      N_("Seed for the simulated hardware"), N_("N") },
    { "max-connections", 0, 0, G_OPTION_ARG_INT, &options.max_connections,
      N_("Most WebSocket connections at once"), N_("N") },
    { "max-message-size", 0, 0, G_OPTION_ARG_INT64, &options.max_message_size,
      N_("Largest message a client may send, in bytes"), N_("BYTES") },
    { "ping-interval", 0, 0, G_OPTION_ARG_INT, &options.ping_interval,
      N_("Seconds between pings to each client (0 = off)"), N_("SECONDS") },
    { "tick-hz", 0, 0, G_OPTION_ARG_INT, &options.tick_hz,
      N_("Simulated sensor sample rate, 1 to 1000 per second"), N_("HZ") },
    { "allow-origin", 0, 0, G_OPTION_ARG_STRING_ARRAY, &options.allow_origins,
      N_("Also accept browser pages from this origin (repeatable)"), N_("ORIGIN") },
    { "tls-cert", 0, 0, G_OPTION_ARG_FILENAME, &options.tls_cert,
      N_("Serve https and wss with this PEM certificate"), N_("FILE") },
    { "tls-key", 0, 0, G_OPTION_ARG_FILENAME, &options.tls_key,
      N_("The PEM private key of --tls-cert"), N_("FILE") },
    { "request-timeout", 0, 0, G_OPTION_ARG_INT, &options.request_timeout,
      N_("Seconds a client has to send a request, or may idle between requests"), N_("SECONDS") },
    { "pong-timeout", 0, 0, G_OPTION_ARG_INT, &options.pong_timeout,
      N_("Seconds a client has to answer a ping before it is dropped (0 = never)"), N_("SECONDS") },
    { "peer-rate", 0, 0, G_OPTION_ARG_INT, &options.peer_rate,
      N_("New WebSocket connections per second from one address (0 = no limit)"), N_("N") },
    { "uplink", 0, 0, G_OPTION_ARG_STRING, &options.uplink,
      N_("Be a relay server: mirror the hardware of the Switchyard at this address "
         "(ws://HOST:PORT/ws, or the page link it prints)"), N_("URL") },
    { "uplink-token", 0, 0, G_OPTION_ARG_STRING, &options.uplink_token,
      N_("The token to present upstream (a control token lets this instance's clients command)"),
      N_("TOKEN") },
    { "uplink-ca", 0, 0, G_OPTION_ARG_FILENAME, &options.uplink_ca,
      N_("Trust the certificates in this PEM file for a wss:// uplink"), N_("FILE") },
    { "subprotocol", 0, 0, G_OPTION_ARG_STRING_ARRAY, &options.subprotocols,
      N_("Serve subprotocol NAME with a program: 'NAME[;shared][;view][;binary]=PROGRAM [ARGS…]' "
         "(repeatable; see docs/protocol.md)"), N_("SPEC") },
    { "mqtt", 0, 0, G_OPTION_ARG_STRING, &options.mqtt,
      N_("Bridge to the MQTT broker at this address (mqtt://[USER[:PASSWORD]@]HOST[:PORT] or mqtts://…)"),
      N_("URL") },
    { "mqtt-prefix", 0, 0, G_OPTION_ARG_STRING, &options.mqtt_prefix,
      N_("The first topic levels (default “switchyard”)"), N_("PREFIX") },
    { "mqtt-instance", 0, 0, G_OPTION_ARG_STRING, &options.mqtt_instance,
      N_("This instance's topic level under the prefix (default: the host name)"), N_("NAME") },
    { "mqtt-role", 0, 0, G_OPTION_ARG_STRING, &options.mqtt_role,
      N_("What relay commands from the broker may do: view (refused, the default) or control"),
      N_("ROLE") },
    { "mqtt-mirror", 0, 0, G_OPTION_ARG_STRING, &options.mqtt_mirror,
      N_("Show the hardware of this other instance on the broker instead of this bench"), N_("NAME") },
    { "mqtt-ca", 0, 0, G_OPTION_ARG_FILENAME, &options.mqtt_ca,
      N_("Trust the certificates in this PEM file for an mqtts:// broker"), N_("FILE") },
    { "mqtt-cert", 0, 0, G_OPTION_ARG_FILENAME, &options.mqtt_cert,
      N_("Present this PEM client certificate to an mqtts:// broker"), N_("FILE") },
    { "mqtt-key", 0, 0, G_OPTION_ARG_FILENAME, &options.mqtt_key,
      N_("The PEM private key of --mqtt-cert"), N_("FILE") },
    { "version", 0, 0, G_OPTION_ARG_NONE, &options.version,
      N_("Print the version and exit"), NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(SyServer) server = NULL;
  g_autoptr(SySubprotocol) echo = NULL;
  g_autoptr(SyBench) bench = NULL;
  g_autoptr(SyAudit) audit = NULL;
  g_autoptr(SyTokenKeeper) tokens = NULL;
  g_autoptr(GTlsCertificate) certificate = NULL;
  g_autofree char *secret_path = NULL;
  g_auto(GStrv) pinned = NULL;
  g_autofree char *state_dir = NULL;
  g_autofree char *audit_path = NULL;
  g_autoptr(GPtrArray) programs = NULL;
  guint64 seed;
  int status;

  setlocale (LC_ALL, "");
  /* SWITCHYARD_LOCALEDIR lets a build that is not installed find its own
   * catalogs (build-aux/dev.sh run points it at build/po). */
  bindtextdomain (GETTEXT_PACKAGE, g_getenv ("SWITCHYARD_LOCALEDIR") ? g_getenv ("SWITCHYARD_LOCALEDIR") : LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  context = g_option_context_new (NULL);
  g_option_context_set_summary (context,
                                _("Switchyard serves a control page and WebSocket subprotocols for "
                                  "sensors and relays."));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("switchyard: %s\n", error->message);
      g_printerr ("Run “switchyard --help” for the options.\n");
      return 2;
    }

  /* The window's preferences live in GSettings and SyApplication applies
   * them, except for what the command line gave. The headless server takes
   * only its command line. */
  pinned = pinned_keys (&options);
  if (options.port == NOT_GIVEN)
    options.port = 0;
  if (options.max_connections == NOT_GIVEN)
    options.max_connections = SY_SERVER_DEFAULT_MAX_CONNECTIONS;
  if (options.max_message_size == NOT_GIVEN)
    options.max_message_size = SY_SERVER_DEFAULT_MAX_MESSAGE_SIZE;
  if (options.ping_interval == NOT_GIVEN)
    options.ping_interval = SY_SERVER_DEFAULT_PING_INTERVAL;
  if (options.tick_hz == NOT_GIVEN)
    options.tick_hz = SY_BENCH_DEFAULT_TICK_HZ;

  if (!check_options (&options, &error))
    {
      g_printerr ("switchyard: %s\n", error->message);
      g_printerr ("Run “switchyard --help” for the options.\n");
      return 2;
    }

  if (options.version)
    {
      g_print ("%s %s\n", PACKAGE_NAME, PACKAGE_VERSION);
      return EXIT_SUCCESS;
    }

  /* Program-backed subprotocols: the state directory's subprotocols.ini,
   * then the command line's, which replace the file's of the same name. */
  state_dir = options.state_dir ? g_strdup (options.state_dir)
                                : g_build_filename (g_get_user_state_dir (), "switchyard", NULL);
  programs = load_programs (state_dir, options.subprotocols, &error);
  if (programs == NULL)
    {
      g_printerr ("switchyard: %s\n", error->message);
      return 2;
    }

  sy_log_init ();

  server = g_object_new (SY_TYPE_SERVER,
                         "port", (guint) options.port,
                         "max-connections", (guint) options.max_connections,
                         "max-message-size", (guint64) options.max_message_size,
                         "ping-interval", (guint) options.ping_interval,
                         NULL);
  echo = sy_echo_protocol_new ();
  sy_server_add_subprotocol (server, echo);

  /* The simulated bench: deterministic with --seed, persistent in the
   * state directory. */
  if (options.seed != NULL)
    g_ascii_string_to_unsigned (options.seed, 10, 0, G_MAXUINT64, &seed, NULL);
  else
    seed = ((guint64) g_random_int () << 32) | g_random_int ();

  bench = sy_bench_new (seed, state_dir);
  sy_bench_set_tick_hz (bench, options.tick_hz);
  if (!sy_bench_load (bench, &error))
    {
      g_printerr ("switchyard: cannot use the state directory %s: %s\n", state_dir, error->message);
      return EXIT_FAILURE;
    }
  /* Tokens signed with this installation's secret. */
  secret_path = g_build_filename (state_dir, "secret.json", NULL);
  tokens = sy_token_keeper_new (secret_path, &error);
  if (tokens == NULL)
    {
      g_printerr ("switchyard: %s\n", error->message);
      return EXIT_FAILURE;
    }

  if (options.tls_cert != NULL)
    {
      certificate = sy_tls_load_certificate (options.tls_cert, options.tls_key, &error);
      if (certificate == NULL)
        {
          g_printerr ("switchyard: cannot use the TLS certificate %s with the key %s: %s\n",
                      options.tls_cert, options.tls_key, error->message);
          return EXIT_FAILURE;
        }
    }

  /* On loopback anyone on this machine may watch without a token; beyond
   * it every role needs one. Control always does. */
  sy_application_configure_bind (server, options.bind_address);
  g_object_set (server,
                "token-keeper", tokens,
                "allowed-origins", options.allow_origins,
                "tls-certificate", certificate,
                "request-timeout", (guint) options.request_timeout,
                "pong-timeout", (guint) options.pong_timeout,
                "peer-rate", (guint) options.peer_rate,
                NULL);

  if (options.uplink != NULL)
    {
      g_autoptr(GTlsDatabase) trusted = NULL;

      if (options.uplink_ca != NULL)
        {
          trusted = g_tls_file_database_new (options.uplink_ca, &error);
          if (trusted == NULL)
            {
              g_printerr ("switchyard: cannot use the certificates in %s: %s\n",
                          options.uplink_ca, error->message);
              return EXIT_FAILURE;
            }
        }
      if (!sy_server_set_uplink (server, options.uplink, options.uplink_token, trusted, &error))
        {
          g_printerr ("switchyard: %s\n", error->message);
          return 2;
        }
    }

  audit_path = g_build_filename (state_dir, "audit.log", NULL);
  audit = sy_audit_new (audit_path);
  sy_server_install_bench (server, bench, audit);
  for (guint i = 0; i < programs->len; i++)
    {
      SyProgramProtocol *program = g_ptr_array_index (programs, i);
      g_autofree char *command = sy_program_protocol_dup_command_line (program);
      g_autofree char *how = sy_program_protocol_describe (program);

      sy_server_add_subprotocol (server, SY_SUBPROTOCOL (program));
      g_message ("subprotocol %s runs %s (%s)",
                 sy_subprotocol_get_name (SY_SUBPROTOCOL (program)), command, how);
    }

  if (options.mqtt != NULL)
    {
      g_autoptr(SyMqttConfig) config = mqtt_config (&options, &error);

      if (config == NULL || !sy_server_set_mqtt (server, config, &error))
        {
          g_printerr ("switchyard: %s\n", error->message);
          return 2;
        }
    }
  g_message ("state directory %s, seed %" G_GUINT64_FORMAT, state_dir, seed);

  if (options.headless)
    {
      status = run_headless (server);
    }
  else
    {
      g_autoptr(SyApplication) app = NULL;
      g_autoptr(GSettings) settings = NULL;

      if (!gtk_init_check ())
        {
          g_printerr ("switchyard: no display to open a window on; use --headless to run "
                      "the server alone\n");
          return EXIT_FAILURE;
        }

      /* A second launch presents the first one's window and exits. */
      settings = new_settings ();
      app = sy_application_new_with_settings (server, settings, (const char * const *) pinned);
      status = g_application_run (G_APPLICATION (app), 1, argv);
    }

  g_free (options.bind_address);
  g_free (options.state_dir);
  g_free (options.seed);
  g_strfreev (options.allow_origins);
  g_free (options.tls_cert);
  g_free (options.tls_key);
  g_free (options.uplink);
  g_free (options.uplink_token);
  g_free (options.uplink_ca);
  g_strfreev (options.subprotocols);
  g_free (options.mqtt);
  g_free (options.mqtt_prefix);
  g_free (options.mqtt_instance);
  g_free (options.mqtt_role);
  g_free (options.mqtt_mirror);
  g_free (options.mqtt_ca);
  g_free (options.mqtt_cert);
  g_free (options.mqtt_key);

  return status;
}
