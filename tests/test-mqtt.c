/* test-mqtt.c
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "test-mqtt"

#include "config.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "sy-audit.h"
#include "sy-bench.h"
#include "sy-json-protocol.h"
#include "sy-mqtt.h"
#include "sy-relay-protocol.h"
#include "sy-test-utils.h"

/*
 * The MQTT bridge's configuration, and the relay command path it shares
 * with switchyard.relay.v1, without a broker. tests/wire/test_mqtt.py runs
 * the bridge on a real Mosquitto.
 */

/* A directory of the test's own, which GLib removes after it
 * (G_TEST_OPTION_ISOLATE_DIRS). */
static char *
state_dir (void)
{
  char *dir = g_build_filename (g_get_user_state_dir (), "switchyard", NULL);

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);

  return dir;
}

static void
test_parse_url (void)
{
  static const struct
  {
    const char *url;
    gboolean    secure;
    const char *host;
    int         port;
    const char *user;
    const char *password;
    const char *shown;
  } good[] = {
    { "mqtt://127.0.0.1", FALSE, "127.0.0.1", 1883, NULL, NULL, "mqtt://127.0.0.1:1883" },
    { "mqtts://broker.example:8884/", TRUE, "broker.example", 8884, NULL, NULL, "mqtts://broker.example:8884" },
    { "MQTTS://broker.example", TRUE, "broker.example", 8883, NULL, NULL, "mqtts://broker.example:8883" },
    { "mqtt://bench:s%40cret@[::1]:1884", FALSE, "::1", 1884, "bench", "s@cret", "mqtt://bench@[::1]:1884" },
    { "mqtt://bench@localhost", FALSE, "localhost", 1883, "bench", NULL, "mqtt://bench@localhost:1883" },
  };
  static const char * const bad[] = {
    "http://127.0.0.1", "ws://127.0.0.1/ws", "mqtt://", "mqtt:///", "mqtt://host/topic",
    "mqtt://host?x=1", "mqtt://host#f", "not a url", "",
  };

  for (guint i = 0; i < G_N_ELEMENTS (good); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *host = NULL;
      g_autofree char *user = NULL;
      g_autofree char *password = NULL;
      g_autofree char *shown = NULL;
      gboolean secure = !good[i].secure;
      int port = 0;

      g_test_message ("%s", good[i].url);
      g_assert_true (sy_mqtt_parse_url (good[i].url, &secure, &host, &port, &user, &password, &shown, &error));
      g_assert_no_error (error);
      g_assert_cmpint (secure, ==, good[i].secure);
      g_assert_cmpstr (host, ==, good[i].host);
      g_assert_cmpint (port, ==, good[i].port);
      g_assert_cmpstr (user, ==, good[i].user);
      g_assert_cmpstr (password, ==, good[i].password);
      g_assert_cmpstr (shown, ==, good[i].shown);
    }

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;

      g_test_message ("%s", bad[i]);
      g_assert_false (sy_mqtt_parse_url (bad[i], NULL, NULL, NULL, NULL, NULL, NULL, &error));
      g_assert_error (error, SY_MQTT_ERROR, SY_MQTT_ERROR_BAD_URL);
    }
}

static void
test_config_check (void)
{
  g_autoptr(SyMqttConfig) config = sy_mqtt_config_new ("mqtt://127.0.0.1");
  g_autoptr(SyMqttConfig) copy = NULL;
  g_autoptr(GError) read_error = NULL;
  g_autofree char *dir = state_dir ();
  static const char * const bad_levels[] = { "", "a+b", "#", "$SYS", "a//b", "/a", "a/" };

  /* The defaults: the "switchyard" prefix, the host name, view only. */
  g_assert_cmpstr (config->prefix, ==, SY_MQTT_DEFAULT_PREFIX);
  g_assert_nonnull (config->instance);
  g_assert_null (strpbrk (config->instance, "/+#"));
  g_assert_cmpint (config->role, ==, SY_ROLE_VIEW);
  g_assert_true (sy_mqtt_config_check (config, NULL) || !sy_mqtt_is_supported ());

  if (!sy_mqtt_is_supported ())
    {
      g_autoptr(GError) error = NULL;

      g_assert_false (sy_mqtt_config_check (config, &error));
      g_assert_error (error, SY_MQTT_ERROR, SY_MQTT_ERROR_UNSUPPORTED);
      g_test_skip ("built without MQTT");
      return;
    }

  /* A prefix may have levels; no level may be empty or a wildcard. */
  g_free (config->prefix);
  config->prefix = g_strdup ("site/lab");
  g_assert_true (sy_mqtt_config_check (config, NULL));
  for (guint i = 0; i < G_N_ELEMENTS (bad_levels); i++)
    {
      g_autoptr(GError) error = NULL;

      g_free (config->prefix);
      config->prefix = g_strdup (bad_levels[i]);
      g_assert_false (sy_mqtt_config_check (config, &error));
      g_assert_error (error, SY_MQTT_ERROR, SY_MQTT_ERROR_BAD_CONFIG);
    }
  g_free (config->prefix);
  config->prefix = g_strdup ("switchyard");

  /* An instance name is one level. */
  g_free (config->instance);
  config->instance = g_strdup ("a/b");
  g_assert_false (sy_mqtt_config_check (config, NULL));
  g_free (config->instance);
  config->instance = g_strdup ("bench-1");
  g_assert_true (sy_mqtt_config_check (config, NULL));

  /* No mirror of itself. */
  config->mirror = g_strdup ("bench-1");
  g_assert_false (sy_mqtt_config_check (config, NULL));
  g_free (config->mirror);
  config->mirror = g_strdup ("bench-2");
  g_assert_true (sy_mqtt_config_check (config, NULL));

  /* A password needs a user; certificates need mqtts and come in pairs. */
  config->password = g_strdup ("secret");
  g_assert_false (sy_mqtt_config_check (config, NULL));
  g_free (config->url);
  config->url = g_strdup ("mqtt://bench@127.0.0.1");
  g_assert_true (sy_mqtt_config_check (config, NULL));
  config->cert_file = g_build_filename (dir, "client.pem", NULL);
  config->key_file = g_build_filename (dir, "client.key", NULL);
  g_assert_true (g_file_set_contents (config->cert_file, "-", -1, NULL));
  g_assert_true (g_file_set_contents (config->key_file, "-", -1, NULL));
  g_assert_false (sy_mqtt_config_check (config, NULL));
  g_free (config->url);
  config->url = g_strdup ("mqtts://bench@127.0.0.1");
  g_assert_true (sy_mqtt_config_check (config, NULL));

  /* A file that cannot be read stops it at once, naming the file. */
  config->ca_file = g_build_filename (dir, "missing.pem", NULL);
  g_assert_false (sy_mqtt_config_check (config, &read_error));
  g_assert_error (read_error, SY_MQTT_ERROR, SY_MQTT_ERROR_BAD_CONFIG);
  g_assert_nonnull (strstr (read_error->message, "missing.pem"));
  g_clear_pointer (&config->ca_file, g_free);

  g_clear_pointer (&config->key_file, g_free);
  g_assert_false (sy_mqtt_config_check (config, NULL));

  copy = sy_mqtt_config_copy (config);
  g_assert_cmpstr (copy->url, ==, config->url);
  g_assert_cmpstr (copy->password, ==, "secret");
  g_assert_cmpstr (copy->mirror, ==, "bench-2");
  g_assert_cmpstr (copy->cert_file, ==, config->cert_file);
  g_assert_null (copy->key_file);
}

/* A caller of the shared relay command path that records everything. */
typedef struct
{
  guint   refs;
  guint   audits;
  guint   answers;
  char   *last_result;
  char   *last_code;
  gboolean last_on;
} Recorder;

static gpointer
recorder_ref (gpointer data)
{
  Recorder *recorder = data;

  recorder->refs++;
  return recorder;
}

static void
recorder_unref (gpointer data)
{
  Recorder *recorder = data;

  g_assert_cmpuint (recorder->refs, >, 0);
  recorder->refs--;
}

static void
recorder_audit (gpointer    data,
                JsonObject *command,
                const char *result)
{
  Recorder *recorder = data;

  recorder->audits++;
  g_free (recorder->last_result);
  recorder->last_result = g_strdup (result);
}

static void
recorder_answer (gpointer    data,
                 JsonNode   *id,
                 const char *code,
                 const char *message,
                 JsonNode   *relay)
{
  Recorder *recorder = data;

  recorder->answers++;
  g_free (recorder->last_code);
  recorder->last_code = g_strdup (code);
  if (relay != NULL)
    recorder->last_on = json_object_get_boolean_member (json_node_get_object (relay), "on");
  else
    g_assert_nonnull (code);
}

static const SyRelayCaller recorder_caller = {
  recorder_audit,
  recorder_answer,
  recorder_ref,
  recorder_unref,
};

static void
run_command (SyBench    *bench,
             SyRole      role,
             Recorder   *recorder,
             const char *text)
{
  g_autoptr(JsonObject) command = NULL;
  g_autoptr(JsonNode) id = NULL;
  g_autoptr(GError) error = NULL;
  const char *code = NULL;

  command = sy_json_command_parse (text, strlen (text), &id, &code, &error);
  g_assert_no_error (error);
  g_assert_nonnull (command);
  sy_relay_command_run (bench, role, &recorder_caller, recorder,
                        json_object_get_string_member (command, "type"), command, id);
}

static void
test_relay_command_run (void)
{
  g_autofree char *dir = state_dir ();
  g_autoptr(SyBench) bench = sy_bench_new (1, dir);
  Recorder recorder = { 0 };
  guint answers;

  sy_bench_set_actuation_delay (bench, 10);
  sy_bench_start (bench);

  /* A view role is refused, and audited. */
  run_command (bench, SY_ROLE_VIEW, &recorder, "{\"type\":\"set\",\"id\":1,\"relay\":\"lamp\",\"on\":true}");
  g_assert_cmpuint (recorder.answers, ==, 1);
  g_assert_cmpstr (recorder.last_code, ==, SY_ERROR_FORBIDDEN);
  g_assert_cmpstr (recorder.last_result, ==, SY_ERROR_FORBIDDEN);
  g_assert_false (sy_bench_get_relay (bench, SY_RELAY_LAMP)->on);

  /* An unknown type is answered, not audited (as on the WebSocket). */
  run_command (bench, SY_ROLE_CONTROL, &recorder, "{\"type\":\"explode\",\"id\":2}");
  g_assert_cmpstr (recorder.last_code, ==, SY_ERROR_UNKNOWN_TYPE);
  g_assert_cmpuint (recorder.audits, ==, 1);

  run_command (bench, SY_ROLE_CONTROL, &recorder, "{\"type\":\"set\",\"id\":3,\"relay\":\"nope\",\"on\":true}");
  g_assert_cmpstr (recorder.last_code, ==, SY_ERROR_UNKNOWN_RELAY);
  run_command (bench, SY_ROLE_CONTROL, &recorder, "{\"type\":\"set\",\"id\":4,\"relay\":\"lamp\"}");
  g_assert_cmpstr (recorder.last_code, ==, SY_ERROR_BAD_REQUEST);
  g_assert_cmpuint (recorder.audits, ==, 3);

  /* Accepted: answered once, after the device confirmed; the caller is
   * held until then. */
  answers = recorder.answers;
  run_command (bench, SY_ROLE_CONTROL, &recorder, "{\"type\":\"set\",\"id\":5,\"relay\":\"lamp\",\"on\":true}");
  g_assert_cmpuint (recorder.answers, ==, answers);
  g_assert_cmpuint (recorder.refs, ==, 1);
  WAIT_UNTIL (recorder.answers == answers + 1, 5000);
  g_assert_null (recorder.last_code);
  g_assert_true (recorder.last_on);
  g_assert_cmpstr (recorder.last_result, ==, "ok");
  g_assert_cmpuint (recorder.refs, ==, 0);
  g_assert_true (sy_bench_get_relay (bench, SY_RELAY_LAMP)->on);

  sy_bench_stop (bench);
  g_free (recorder.last_result);
  g_free (recorder.last_code);
}

static gboolean
allow_bridge_warnings (const char     *domain,
                       GLogLevelFlags  level,
                       const char     *message,
                       gpointer        data)
{
  guint *warnings = data;

  if (g_strcmp0 (domain, "sy-mqtt") == 0 && (level & G_LOG_LEVEL_WARNING) != 0)
    {
      g_assert_null (strstr (message, "pa55word"));
      (*warnings)++;
      return FALSE;
    }

  return TRUE;
}

/* With no broker, the bridge keeps trying, says why, shows no password,
 * and stops and goes away cleanly. In a subprocess: its warnings are
 * expected, and the TAP stream must not see them. */
static void
no_broker (void)
{
  g_autofree char *dir = state_dir ();
  g_autofree char *audit_path = g_build_filename (dir, "audit.log", NULL);
  g_autoptr(SyBench) bench = sy_bench_new (1, dir);
  g_autoptr(SyAudit) audit = sy_audit_new (audit_path);
  g_autoptr(SyMqttConfig) config = NULL;
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GSocketAddress) address = NULL;
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(JsonNode) status = NULL;
  g_autofree char *text = NULL;
  g_autofree char *url = NULL;
  SyMqtt *mqtt;
  guint warnings = 0;
  guint port;

  if (!sy_mqtt_is_supported ())
    {
      g_test_skip ("built without MQTT");
      return;
    }

  /* A port that was free a moment ago: nothing listens there. */
  socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL);
  address = g_inet_socket_address_new (loopback, 0);
  g_assert_true (g_socket_bind (socket, address, FALSE, NULL));
  g_clear_object (&address);
  address = g_socket_get_local_address (socket, NULL);
  port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (address));
  g_socket_close (socket, NULL);

  g_test_log_set_fatal_handler (allow_bridge_warnings, &warnings);

  url = g_strdup_printf ("mqtt://bench:pa55word@127.0.0.1:%u", port);
  config = sy_mqtt_config_new (url);
  config->role = SY_ROLE_CONTROL;
  mqtt = sy_mqtt_new (bench, audit, config, "0123456789abcdef");
  sy_mqtt_start (mqtt);
  sy_bench_start (bench);

  WAIT_UNTIL (warnings > 0, 5000);
  g_assert_cmpint (sy_mqtt_get_state (mqtt), ==, SY_MQTT_CONNECTING);
  g_assert_nonnull (sy_mqtt_get_problem (mqtt));

  status = sy_mqtt_to_json (mqtt);
  text = json_to_string (status, FALSE);
  g_test_message ("%s", text);
  g_assert_null (strstr (text, "pa55word"));
  g_assert_nonnull (strstr (text, "\"state\":\"connecting\""));
  g_assert_nonnull (strstr (text, "\"topic\":\"switchyard/"));

  sy_bench_stop (bench);
  sy_mqtt_stop (mqtt);
  g_assert_cmpstr (sy_mqtt_get_problem (mqtt), ==, "stopped");
  g_assert_finalize_object (mqtt);
}

static void
test_no_broker (void)
{
  if (g_test_subprocess ())
    {
      no_broker ();
      return;
    }

  g_test_trap_subprocess (NULL, 30 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  g_test_trap_assert_stderr ("*MQTT broker mqtt://bench@127.0.0.1:*");
  g_test_trap_assert_stderr_unmatched ("*pa55word*");
}

int
main (int   argc,
      char *argv[])
{
  sy_test_init (&argc, &argv);

  g_test_add_func ("/mqtt/parse-url", test_parse_url);
  g_test_add_func ("/mqtt/config-check", test_config_check);
  g_test_add_func ("/mqtt/relay-command-run", test_relay_command_run);
  g_test_add_func ("/mqtt/no-broker", test_no_broker);

  return g_test_run ();
}
