/* switchyard-client.c
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "switchyard-client"

#include "config.h"

#include <gio/gunixinputstream.h>
#include <glib-unix.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <stdlib.h>

#include "sy-client.h"

/*
 * A command-line WebSocket client for Switchyard and any RFC 6455 server.
 * Its output is for scripts and people alike, so it stays in English (no
 * gettext) and its exit status says what happened (see docs/client.md).
 */

enum
{
  EXIT_OK = 0,
  EXIT_CONNECT = 1,
  EXIT_USAGE = 2,
  EXIT_TIMEOUT = 3,
  EXIT_PEER_ERROR = 4,
};

#define HEX_PREFIX       16
#define CLOSE_DEADLINE   2000
#define LINGER_QUIET_MS  300
#define LINGER_MAX_MS    2000

typedef struct
{
  GMainLoop        *loop;
  SyClient         *client;
  GCancellable     *cancellable;
  GDataInputStream *input;
  char            **sends;
  gboolean          json;
  int               expect;
  guint             timeout_ms;
  guint             connect_timeout_id;
  guint             linger_id;
  gint64            last_message;
  gint64            linger_until;
  int               received;
  int               status;
  gboolean          closing;
} Run;

static const char summary[] =
  "Connects to a WebSocket server, prints every message it receives (one per\n"
  "line; binary as \"<binary N bytes: hex...>\"), and sends every line read from\n"
  "standard input as a text message. Without --expect, the end of standard\n"
  "input closes the connection (code 1000) once the peer has been quiet for\n"
  "0.3 s (at most 2 s later), so that the answers to the last lines arrive.\n"
  "\n"
  "Exit status:\n"
  "  0  a clean close by either side (peer code 1000), or --expect messages received\n"
  "  1  the connection or the handshake failed (refused, HTTP error, TLS, an\n"
  "     untrusted certificate, lost)\n"
  "  2  bad usage (unknown option, missing --protocol, bad URL, unusable --ca-file)\n"
  "  3  timeout (--timeout passed without a message, or while connecting)\n"
  "  4  closed by the peer with a code other than 1000";

/* Loads the certificates of --ca-file. GTlsFileDatabase accepts a file that
 * holds no certificate at all (and would then trust nothing, which shows up
 * later as an untrusted server): reading the list first turns that into a
 * usage error that names the file. It also takes absolute paths only (a
 * relative one fails with a warning), so the path is made absolute first. */
static GTlsDatabase *
load_ca_file (const char  *path,
              GError     **error)
{
  g_autolist(GTlsCertificate) certificates = NULL;
  g_autofree char *display = NULL;
  g_autofree char *absolute = NULL;
  g_autoptr(GError) local_error = NULL;
  GTlsDatabase *database;

  g_assert (path != NULL);

  display = g_filename_display_name (path);
  absolute = g_canonicalize_filename (path, NULL);
  certificates = g_tls_certificate_list_new_from_file (path, &local_error);
  if (local_error != NULL)
    {
      g_set_error (error, local_error->domain, local_error->code,
                   "--ca-file: cannot read certificates from %s: %s",
                   display, local_error->message);
      return NULL;
    }
  if (certificates == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "--ca-file: %s holds no certificate (expected PEM: -----BEGIN CERTIFICATE-----)",
                   display);
      return NULL;
    }

  database = g_tls_file_database_new (absolute, &local_error);
  if (database == NULL)
    {
      g_set_error (error, local_error->domain, local_error->code,
                   "--ca-file: cannot load %s: %s", display, local_error->message);
      return NULL;
    }

  return database;
}

static void
print_line (const char *line)
{
  fputs (line, stdout);
  fputc ('\n', stdout);
  fflush (stdout);
}

static char *
hex_prefix (GBytes *data)
{
  gsize size;
  const guint8 *bytes = g_bytes_get_data (data, &size);
  GString *hex = g_string_new (NULL);

  for (gsize i = 0; i < MIN (size, HEX_PREFIX); i++)
    g_string_append_printf (hex, "%02x", bytes[i]);

  return g_string_free (hex, FALSE);
}

static void
print_json (JsonBuilder *builder)
{
  g_autoptr(JsonNode) root = json_builder_get_root (builder);
  g_autofree char *text = json_to_string (root, FALSE);

  print_line (text);
}

static void
print_message (Run                   *run,
               SoupWebsocketDataType  type,
               GBytes                *data)
{
  gsize size;
  const char *bytes = g_bytes_get_data (data, &size);

  if (type == SOUP_WEBSOCKET_DATA_TEXT && !run->json)
    {
      /* Text may hold NUL characters: write all of it. */
      fwrite (bytes, 1, size, stdout);
      fputc ('\n', stdout);
      fflush (stdout);
    }
  else if (type == SOUP_WEBSOCKET_DATA_TEXT)
    {
      g_autoptr(JsonBuilder) builder = json_builder_new ();
      g_autofree char *text = g_strndup (bytes, size);

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "type");
      json_builder_add_string_value (builder, "text");
      json_builder_set_member_name (builder, "data");
      json_builder_add_string_value (builder, text);
      json_builder_end_object (builder);
      print_json (builder);
    }
  else if (!run->json)
    {
      g_autofree char *hex = hex_prefix (data);
      g_autofree char *line = g_strdup_printf ("<binary %" G_GSIZE_FORMAT " bytes: %s%s>",
                                               size, hex, size > HEX_PREFIX ? "…" : "");

      print_line (line);
    }
  else
    {
      g_autoptr(JsonBuilder) builder = json_builder_new ();
      g_autofree char *hex = NULL;
      GString *all = g_string_new (NULL);

      for (gsize i = 0; i < size; i++)
        g_string_append_printf (all, "%02x", (guint8) bytes[i]);
      hex = g_string_free (all, FALSE);

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "type");
      json_builder_add_string_value (builder, "binary");
      json_builder_set_member_name (builder, "length");
      json_builder_add_int_value (builder, (gint64) size);
      json_builder_set_member_name (builder, "hex");
      json_builder_add_string_value (builder, hex);
      json_builder_end_object (builder);
      print_json (builder);
    }
}

static void
print_close (Run *run)
{
  gushort code = sy_client_get_close_code (run->client);
  const char *reason = sy_client_get_close_reason (run->client);

  g_printerr ("closed by peer: code %u%s%s\n", code,
              reason && *reason ? ", reason: " : "", reason && *reason ? reason : "");

  if (run->json)
    {
      g_autoptr(JsonBuilder) builder = json_builder_new ();

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "type");
      json_builder_add_string_value (builder, "close");
      json_builder_set_member_name (builder, "code");
      json_builder_add_int_value (builder, code);
      json_builder_set_member_name (builder, "reason");
      json_builder_add_string_value (builder, reason ? reason : "");
      json_builder_end_object (builder);
      print_json (builder);
    }
}

static void
finish (Run *run,
        int  status)
{
  run->status = status;
  g_cancellable_cancel (run->cancellable);
  g_main_loop_quit (run->loop);
}

static void
on_closed (GObject      *object,
           GAsyncResult *result,
           gpointer      user_data)
{
  Run *run = user_data;
  g_autoptr(GError) error = NULL;

  if (!sy_client_close_finish (SY_CLIENT (object), result, &error))
    g_printerr ("close: %s\n", error->message);
  else
    g_printerr ("closed: clean, the peer answered with code %u\n",
                sy_client_get_close_code (run->client));

  /* The outcome was decided before closing; an unclean close only adds a note. */
  finish (run, run->status);
}

static void
close_with (Run        *run,
            int         status,
            gushort     code,
            const char *reason)
{
  if (run->closing)
    return;

  run->closing = TRUE;
  run->status = status;
  if (sy_client_is_open (run->client))
    sy_client_close_async (run->client, code, reason, CLOSE_DEADLINE, NULL, on_closed, run);
  else
    finish (run, status);
}

static void read_next (Run *run);

static void
on_read (GObject      *object,
         GAsyncResult *result,
         gpointer      user_data)
{
  Run *run = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) data = NULL;
  SoupWebsocketDataType type = SOUP_WEBSOCKET_DATA_TEXT;

  data = sy_client_read_finish (SY_CLIENT (object), result, &type, &error);
  if (data != NULL)
    {
      /* After --expect is met, nothing more is printed; after the end of
       * the input, what the peer sent before its close still is. */
      if (run->expect > 0 && run->received >= run->expect)
        return;
      print_message (run, type, data);
      run->received++;
      run->last_message = g_get_monotonic_time ();
      if (run->expect > 0 && run->received >= run->expect)
        close_with (run, EXIT_OK, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
      read_next (run);
      return;
    }

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) || run->closing)
    return;

  if (g_error_matches (error, SY_CLIENT_ERROR, SY_CLIENT_ERROR_CLOSED))
    {
      print_close (run);
      finish (run, sy_client_get_close_code (run->client) == SOUP_WEBSOCKET_CLOSE_NORMAL
                   ? EXIT_OK : EXIT_PEER_ERROR);
    }
  else if (g_error_matches (error, SY_CLIENT_ERROR, SY_CLIENT_ERROR_TIMEOUT))
    {
      g_printerr ("timeout: %s\n", error->message);
      close_with (run, EXIT_TIMEOUT, SOUP_WEBSOCKET_CLOSE_NORMAL, "timeout");
    }
  else
    {
      g_printerr ("error: %s\n", error->message);
      finish (run, EXIT_CONNECT);
    }
}

static void
read_next (Run *run)
{
  if (!(run->expect > 0 && run->received >= run->expect))
    sy_client_read_async (run->client, run->timeout_ms, run->cancellable, on_read, run);
}

static gboolean
on_linger (gpointer user_data)
{
  Run *run = user_data;
  gint64 now = g_get_monotonic_time ();

  if (now - run->last_message < LINGER_QUIET_MS * 1000 && now < run->linger_until)
    return G_SOURCE_CONTINUE;

  run->linger_id = 0;
  close_with (run, EXIT_OK, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);

  return G_SOURCE_REMOVE;
}

static void
on_line (GObject      *object,
         GAsyncResult *result,
         gpointer      user_data)
{
  Run *run = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *line = NULL;

  line = g_data_input_stream_read_line_finish_utf8 (G_DATA_INPUT_STREAM (object), result, NULL, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) || run->closing)
    return;

  if (line == NULL)
    {
      if (error != NULL)
        g_printerr ("stdin: %s\n", error->message);
      /* With --expect the messages, not the input, end the run. */
      if (run->expect == 0 && run->linger_id == 0)
        {
          run->last_message = MAX (run->last_message, g_get_monotonic_time ());
          run->linger_until = g_get_monotonic_time () + LINGER_MAX_MS * 1000;
          run->linger_id = g_timeout_add (50, on_linger, run);
        }
      return;
    }

  if (!sy_client_send_text (run->client, line, &error))
    {
      g_printerr ("send: %s\n", error->message);
      return;
    }

  g_data_input_stream_read_line_async (run->input, G_PRIORITY_DEFAULT, run->cancellable, on_line, run);
}

static void
on_connected (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  Run *run = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GInputStream) stdin_stream = NULL;

  g_clear_handle_id (&run->connect_timeout_id, g_source_remove);

  if (!sy_client_connect_finish (run->client, result, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      g_printerr ("%s\n", error->message);
      finish (run, g_error_matches (error, SY_CLIENT_ERROR, SY_CLIENT_ERROR_BAD_URL)
                   ? EXIT_USAGE : EXIT_CONNECT);
      return;
    }

  g_printerr ("connected: %s (%s)\n", sy_client_get_url (run->client),
              sy_client_get_protocol (run->client));

  for (guint i = 0; run->sends != NULL && run->sends[i] != NULL; i++)
    {
      if (!sy_client_send_text (run->client, run->sends[i], &error))
        {
          g_printerr ("send: %s\n", error->message);
          finish (run, EXIT_CONNECT);
          return;
        }
    }

  stdin_stream = g_unix_input_stream_new (STDIN_FILENO, FALSE);
  run->input = g_data_input_stream_new (stdin_stream);
  g_data_input_stream_read_line_async (run->input, G_PRIORITY_DEFAULT, run->cancellable, on_line, run);

  read_next (run);
}

static gboolean
on_connect_timeout (gpointer user_data)
{
  Run *run = user_data;

  run->connect_timeout_id = 0;
  g_printerr ("timeout: not connected within %u ms\n", run->timeout_ms);
  finish (run, EXIT_TIMEOUT);

  return G_SOURCE_REMOVE;
}

static gboolean
on_signal (gpointer user_data)
{
  Run *run = user_data;

  if (sy_client_is_open (run->client))
    close_with (run, EXIT_OK, SOUP_WEBSOCKET_CLOSE_NORMAL, "interrupted");
  else
    finish (run, EXIT_CONNECT);

  return G_SOURCE_CONTINUE;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(SyClient) client = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  g_autoptr(GCancellable) cancellable = NULL;
  g_autofree char *protocol = NULL;
  g_autofree char *token = NULL;
  g_autofree char *origin = NULL;
  g_autofree char *ca_file = NULL;
  g_autoptr(GTlsDatabase) ca_database = NULL;
  g_auto(GStrv) sends = NULL;
  gboolean json = FALSE;
  int expect = 0;
  double timeout = 0;
  guint sigint_id;
  guint sigterm_id;
  Run run = { 0 };
  const GOptionEntry entries[] = {
    { "protocol", 'p', 0, G_OPTION_ARG_STRING, &protocol, "Subprotocol to offer (required)", "NAME" },
    { "token", 't', 0, G_OPTION_ARG_STRING, &token, "Access token, sent as ?token=T", "T" },
    { "origin", 'o', 0, G_OPTION_ARG_STRING, &origin, "Origin header to send", "ORIGIN" },
    { "ca-file", 0, 0, G_OPTION_ARG_FILENAME, &ca_file,
      "Trust the PEM certificates in FILE for wss://, not the system's", "FILE" },
    { "send", 's', 0, G_OPTION_ARG_FILENAME_ARRAY, &sends, "Send MSG once connected (repeatable, in order)", "MSG" },
    { "expect", 'n', 0, G_OPTION_ARG_INT, &expect, "Close cleanly and exit 0 after N messages", "N" },
    { "timeout", 'w', 0, G_OPTION_ARG_DOUBLE, &timeout, "Exit 3 after S seconds without a message (or not connected)", "S" },
    { "json", 'j', 0, G_OPTION_ARG_NONE, &json, "One JSON object per received message and for the peer's close", NULL },
    { NULL }
  };

  /* --send takes its bytes as given (G_OPTION_ARG_FILENAME_ARRAY): a
   * string argument would go through the locale's charset, and in the C
   * locale of a script any non-ASCII text would be refused. Text messages
   * are checked for UTF-8 when sent. */
  context = g_option_context_new ("URL");
  g_option_context_set_summary (context, summary);
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("%s\n", error->message);
      return EXIT_USAGE;
    }
  if (argc != 2)
    {
      g_printerr ("Expected exactly one URL (see --help)\n");
      return EXIT_USAGE;
    }
  if (protocol == NULL || *protocol == '\0')
    {
      g_printerr ("--protocol is required (see --help)\n");
      return EXIT_USAGE;
    }
  if (expect < 0 || timeout < 0 || timeout > G_MAXUINT / 1000)
    {
      g_printerr ("--expect and --timeout cannot be negative (see --help)\n");
      return EXIT_USAGE;
    }

  for (guint i = 0; sends != NULL && sends[i] != NULL; i++)
    {
      if (!g_utf8_validate (sends[i], -1, NULL))
        {
          g_printerr ("--send: message %u is not valid UTF-8\n", i + 1);
          return EXIT_USAGE;
        }
    }

  if (ca_file != NULL)
    {
      ca_database = load_ca_file (ca_file, &error);
      if (ca_database == NULL)
        {
          g_printerr ("%s\n", error->message);
          return EXIT_USAGE;
        }
    }

  client = sy_client_new (argv[1], protocol, &error);
  if (client == NULL)
    {
      g_printerr ("%s\n", error->message);
      return EXIT_USAGE;
    }
  sy_client_set_token (client, token);
  sy_client_set_origin (client, origin);
  sy_client_set_tls_database (client, ca_database);

  loop = g_main_loop_new (NULL, FALSE);
  cancellable = g_cancellable_new ();
  run.loop = loop;
  run.client = client;
  run.cancellable = cancellable;
  run.sends = sends;
  run.json = json;
  run.expect = expect;
  run.timeout_ms = (guint) (timeout * 1000);
  run.status = EXIT_CONNECT;

  if (run.timeout_ms > 0)
    run.connect_timeout_id = g_timeout_add (run.timeout_ms, on_connect_timeout, &run);
  sigint_id = g_unix_signal_add (SIGINT, on_signal, &run);
  sigterm_id = g_unix_signal_add (SIGTERM, on_signal, &run);

  sy_client_connect_async (client, cancellable, on_connected, &run);
  g_main_loop_run (loop);

  g_source_remove (sigint_id);
  g_source_remove (sigterm_id);
  g_clear_handle_id (&run.connect_timeout_id, g_source_remove);
  g_clear_handle_id (&run.linger_id, g_source_remove);
  g_clear_object (&run.input);

  /* Let cancelled operations report back before the client goes. */
  while (g_main_context_iteration (NULL, FALSE))
    ;

  return run.status;
}
