/* test-extending.c
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "test-extending"

#include "config.h"

#include <string.h>

#include "sy-program-protocol.h"
#include "sy-server.h"
#include "sy-tally-protocol.h"
#include "sy-test-utils.h"

/*
 * The two ways to add a subprotocol, in process: the C module of
 * examples/c-module (sy-tally-protocol.c) and a program behind a name
 * (SyProgramProtocol), each on a real loopback server with a real client.
 */

static char *
echo_text (SoupWebsocketConnection *ws,
           const char              *text)
{
  g_autoptr(GBytes) payload = g_bytes_new (text, strlen (text));
  g_autoptr(GBytes) answer = NULL;
  SoupWebsocketDataType type;

  answer = sy_test_echo (ws, SOUP_WEBSOCKET_DATA_TEXT, payload, &type);
  g_assert_nonnull (answer);
  g_assert_cmpint (type, ==, SOUP_WEBSOCKET_DATA_TEXT);

  return g_strndup (g_bytes_get_data (answer, NULL), g_bytes_get_size (answer));
}

static void
test_c_module (void)
{
  g_autoptr(SyServer) server = sy_test_server_new ();
  g_autoptr(SySubprotocol) tally = sy_tally_protocol_new ();
  g_autoptr(SoupSession) session = sy_test_session_new ();
  g_autoptr(SoupWebsocketConnection) first = NULL;
  g_autoptr(SoupWebsocketConnection) second = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) names = NULL;
  g_autofree char *answer = NULL;

  sy_server_add_subprotocol (server, tally);
  names = sy_server_list_subprotocols (server);
  g_assert_true (g_strv_contains ((const char * const *) names, SY_TALLY_PROTOCOL_NAME));
  sy_test_server_start (server);

  first = sy_test_connect (session, server, SY_TALLY_PROTOCOL_NAME, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (soup_websocket_connection_get_protocol (first), ==, SY_TALLY_PROTOCOL_NAME);
  second = sy_test_connect (session, server, SY_TALLY_PROTOCOL_NAME, &error);
  g_assert_no_error (error);

  answer = echo_text (first, "hello");
  g_assert_cmpstr (answer, ==, "1 HELLO");
  g_clear_pointer (&answer, g_free);
  answer = echo_text (first, "gr\303\274\303\237e");
  g_assert_cmpstr (answer, ==, "2 GR\303\234SSE");
  g_clear_pointer (&answer, g_free);
  /* Each connection counts for itself. */
  answer = echo_text (second, "again");
  g_assert_cmpstr (answer, ==, "1 AGAIN");

  sy_test_close_and_wait (first);
  sy_test_close_and_wait (second);
  sy_server_stop (server);
  g_assert_cmpuint (sy_tally_protocol_get_total (SY_TALLY_PROTOCOL (tally)), ==, 3);
}

static void
test_program_in_process (void)
{
  g_autoptr(SyServer) server = sy_test_server_new ();
  const char * const argv[] = { "cat", NULL };
  g_autoptr(SySubprotocol) cat = sy_program_protocol_new ("cat.v1", argv, SY_PROGRAM_MODE_PER_CONNECTION,
                                                          SY_ROLE_VIEW, FALSE);
  g_autoptr(SoupSession) session = sy_test_session_new ();
  g_autoptr(SoupWebsocketConnection) ws = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *answer = NULL;

  sy_server_add_subprotocol (server, cat);
  sy_test_server_start (server);

  ws = sy_test_connect (session, server, "cat.v1", &error);
  g_assert_no_error (error);
  answer = echo_text (ws, "through cat");
  g_assert_cmpstr (answer, ==, "through cat");

  /* The server stops with the connection open: the client hears 1001, and
   * the process is reaped before sy_server_stop() returns. */
  sy_server_stop (server);
  WAIT_UNTIL (soup_websocket_connection_get_state (ws) == SOUP_WEBSOCKET_STATE_CLOSED, 5000);
  g_assert_cmpuint (soup_websocket_connection_get_close_code (ws), ==, 1001);
  g_assert_cmpuint (sy_program_protocol_get_n_processes (SY_PROGRAM_PROTOCOL (cat)), ==, 0);
}

static void
test_program_spec (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SySubprotocol) protocol = NULL;
  g_autofree char *command = NULL;
  g_autofree char *how = NULL;

  protocol = sy_program_protocol_parse ("chat.v1 ; shared ; view = python3 '/my dir/chat.py' -v", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (sy_subprotocol_get_name (protocol), ==, "chat.v1");
  g_assert_cmpint (sy_subprotocol_get_role (protocol), ==, SY_ROLE_VIEW);
  g_assert_cmpint (sy_program_protocol_get_mode (SY_PROGRAM_PROTOCOL (protocol)), ==, SY_PROGRAM_MODE_SHARED);
  g_assert_false (sy_program_protocol_get_binary (SY_PROGRAM_PROTOCOL (protocol)));
  g_assert_cmpstrv (sy_program_protocol_get_argv (SY_PROGRAM_PROTOCOL (protocol)),
                    ((const char * const[]) { "python3", "/my dir/chat.py", "-v", NULL }));
  command = sy_program_protocol_dup_command_line (SY_PROGRAM_PROTOCOL (protocol));
  g_assert_cmpstr (command, ==, "python3 '/my dir/chat.py' -v");
  how = sy_program_protocol_describe (SY_PROGRAM_PROTOCOL (protocol));
  g_assert_cmpstr (how, ==, "shared, view role, text lines");
  g_clear_object (&protocol);

  /* Control and per-connection are the defaults. */
  protocol = sy_program_protocol_parse ("frames.v1;binary=./frames --fast", &error);
  g_assert_no_error (error);
  g_assert_cmpint (sy_subprotocol_get_role (protocol), ==, SY_ROLE_CONTROL);
  g_assert_cmpint (sy_program_protocol_get_mode (SY_PROGRAM_PROTOCOL (protocol)), ==,
                   SY_PROGRAM_MODE_PER_CONNECTION);
  g_assert_true (sy_program_protocol_get_binary (SY_PROGRAM_PROTOCOL (protocol)));
  g_clear_object (&protocol);

  protocol = sy_program_protocol_parse ("switchyard.chat=cat", &error);
  g_assert_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE);
  g_assert_null (protocol);
  g_clear_error (&error);

  g_assert_false (sy_program_protocol_check_name ("a,b", &error));
  g_assert_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE);
  g_clear_error (&error);
  g_assert_true (sy_program_protocol_check_name ("my-app.sensor_2.v1", NULL));
}

int
main (int   argc,
      char *argv[])
{
  sy_test_init (&argc, &argv);

  g_test_add_func ("/extending/c-module", test_c_module);
  g_test_add_func ("/extending/program/in-process", test_program_in_process);
  g_test_add_func ("/extending/program/spec", test_program_spec);

  return g_test_run ();
}
