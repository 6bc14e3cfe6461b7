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
#include "sy-server.h"

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
} Options;

static gboolean
on_quit_signal (gpointer data)
{
  GMainLoop *loop = data;

  g_message ("signal received, shutting down");
  g_main_loop_quit (loop);

  return G_SOURCE_CONTINUE;
}

static int
run_headless (SyServer *server)
{
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr(GError) error = NULL;
  g_autofree char *uri = NULL;
  guint sigint_id;
  guint sigterm_id;

  if (!sy_server_start (server, &error))
    {
      g_printerr ("switchyard: %s\n", error->message);
      return EXIT_FAILURE;
    }

  /* Tokens arrive with the gatekeeping work; until then both roles share
   * the plain URL. */
  uri = sy_server_dup_uri (server);
  g_print ("view-url: %s\n", uri);
  g_print ("control-url: %s\n", uri);
  fflush (stdout);

  sigint_id = g_unix_signal_add (SIGINT, on_quit_signal, loop);
  sigterm_id = g_unix_signal_add (SIGTERM, on_quit_signal, loop);

  g_main_loop_run (loop);

  g_source_remove (sigint_id);
  g_source_remove (sigterm_id);
  sy_server_stop (server);

  return EXIT_SUCCESS;
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

  if (options->bind_address != NULL && !g_hostname_is_ip_address (options->bind_address))
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "--bind needs a numeric IPv4 or IPv6 address, not “%s”",
                   options->bind_address);
      return FALSE;
    }

  return TRUE;
}

int
main (int   argc,
      char *argv[])
{
  Options options = {
    .port = 0,
    .max_connections = SY_SERVER_DEFAULT_MAX_CONNECTIONS,
    .max_message_size = SY_SERVER_DEFAULT_MAX_MESSAGE_SIZE,
    .ping_interval = SY_SERVER_DEFAULT_PING_INTERVAL,
    .tick_hz = SY_BENCH_DEFAULT_TICK_HZ,
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
  g_autofree char *state_dir = NULL;
  g_autofree char *audit_path = NULL;
  guint64 seed;
  int status;

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  context = g_option_context_new (NULL);
  g_option_context_set_summary (context,
                                _("Switchyard serves a control page and WebSocket subprotocols for "
                                  "sensors and relays."));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!g_option_context_parse (context, &argc, &argv, &error) ||
      !check_options (&options, &error))
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

  sy_log_init ();

  server = g_object_new (SY_TYPE_SERVER,
                         "port", (guint) options.port,
                         "bind-address", options.bind_address,
                         "max-connections", (guint) options.max_connections,
                         "max-message-size", (guint64) options.max_message_size,
                         "ping-interval", (guint) options.ping_interval,
                         NULL);
  echo = sy_echo_protocol_new ();
  sy_server_add_subprotocol (server, echo);

  /* The simulated bench: deterministic with --seed, persistent in the
   * state directory. */
  state_dir = options.state_dir ? g_strdup (options.state_dir)
                                : g_build_filename (g_get_user_state_dir (), "switchyard", NULL);
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
  audit_path = g_build_filename (state_dir, "audit.log", NULL);
  audit = sy_audit_new (audit_path);
  sy_server_install_bench (server, bench, audit);
  g_message ("state directory %s, seed %" G_GUINT64_FORMAT, state_dir, seed);

  if (options.headless)
    {
      status = run_headless (server);
    }
  else
    {
      g_autoptr(SyApplication) app = NULL;

      if (!gtk_init_check ())
        {
          g_printerr ("switchyard: no display to open a window on; use --headless to run "
                      "the server alone\n");
          return EXIT_FAILURE;
        }

      app = sy_application_new (server);
      status = g_application_run (G_APPLICATION (app), 1, argv);
    }

  g_free (options.bind_address);
  g_free (options.state_dir);
  g_free (options.seed);

  return status;
}
