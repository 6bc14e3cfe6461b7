/* test-gate.c
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "test-gate"

#include "config.h"

#include <glib/gstdio.h>
#include <string.h>

#include "sy-server.h"
#include "sy-test-utils.h"
#include "sy-token.h"

typedef struct
{
  SyServer      *server;
  SyTokenKeeper *tokens;
  SoupSession   *session;
  SyBench       *bench;
  SyAudit       *audit;
} Fixture;

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  fixture->tokens = sy_token_keeper_new (NULL, &error);
  g_assert_no_error (error);
  fixture->bench = sy_bench_new (1, NULL);
  fixture->audit = sy_audit_new (NULL);
  fixture->server = sy_test_server_new ();
  sy_server_install_bench (fixture->server, fixture->bench, fixture->audit);
  g_object_set (fixture->server,
                "token-keeper", fixture->tokens,
                "default-role", SY_ROLE_VIEW,
                NULL);
  fixture->session = sy_test_session_new ();
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  data)
{
  sy_server_stop (fixture->server);
  g_clear_object (&fixture->session);
  g_clear_object (&fixture->server);
  g_clear_object (&fixture->tokens);
  g_clear_object (&fixture->bench);
  g_clear_object (&fixture->audit);
}

typedef struct
{
  gboolean                 done;
  SoupWebsocketConnection *ws;
  GError                  *error;
  guint                    status;
  char                    *body;
} Attempt;

static void
attempt_clear (Attempt *attempt)
{
  g_clear_object (&attempt->ws);
  g_clear_error (&attempt->error);
  g_clear_pointer (&attempt->body, g_free);
}

static void
attempt_cb (GObject      *object,
            GAsyncResult *result,
            gpointer      user_data)
{
  Attempt *attempt = user_data;

  attempt->ws = soup_session_websocket_connect_finish (SOUP_SESSION (object), result, &attempt->error);
  attempt->done = TRUE;
}

/* Tries a handshake and keeps the HTTP status when it is refused. */
static void
try_connect (Fixture    *fixture,
             const char *protocol,
             const char *token,
             const char *origin,
             Attempt    *attempt)
{
  g_autofree char *uri = NULL;
  g_autoptr(SoupMessage) msg = NULL;
  const char *protocols[] = { protocol, NULL };

  attempt_clear (attempt);
  attempt->done = FALSE;

  uri = token ? g_strdup_printf ("ws://127.0.0.1:%u/ws?token=%s", sy_server_get_port (fixture->server), token)
              : g_strdup_printf ("ws://127.0.0.1:%u/ws", sy_server_get_port (fixture->server));
  msg = soup_message_new ("GET", uri);
  soup_session_websocket_connect_async (fixture->session, msg, origin, (char **) protocols,
                                        G_PRIORITY_DEFAULT, NULL, attempt_cb, attempt);
  WAIT_UNTIL (attempt->done, 10000);
  attempt->status = soup_message_get_status (msg);
}

static guint
api_status (Fixture    *fixture,
            const char *path,
            char      **body_out)
{
  g_autofree char *uri = g_strdup_printf ("http://127.0.0.1:%u%s", sy_server_get_port (fixture->server), path);
  g_autoptr(GBytes) body = NULL;
  guint status;

  body = sy_test_http (fixture->session, "GET", uri, &status, NULL);
  if (body_out != NULL)
    *body_out = g_strndup (g_bytes_get_data (body, NULL), g_bytes_get_size (body));

  return status;
}

static void
test_roles (Fixture       *fixture,
            gconstpointer  data)
{
  g_autofree char *view = sy_token_keeper_issue (fixture->tokens, SY_ROLE_VIEW, 60);
  g_autofree char *control = sy_token_keeper_issue (fixture->tokens, SY_ROLE_CONTROL, 60);
  Attempt attempt = { 0 };

  sy_test_server_start (fixture->server);

  /* On loopback, watching needs no token. */
  try_connect (fixture, "switchyard.sensor.v1", NULL, NULL, &attempt);
  g_assert_no_error (attempt.error);

  /* The log needs control: 401 without a token, 403 with a view token. */
  try_connect (fixture, "switchyard.log.v1", NULL, NULL, &attempt);
  g_assert_nonnull (attempt.error);
  g_assert_cmpuint (attempt.status, ==, 401);
  try_connect (fixture, "switchyard.log.v1", view, NULL, &attempt);
  g_assert_nonnull (attempt.error);
  g_assert_cmpuint (attempt.status, ==, 403);
  try_connect (fixture, "switchyard.log.v1", control, NULL, &attempt);
  g_assert_no_error (attempt.error);

  /* A broken token is refused even where none is needed. */
  try_connect (fixture, "switchyard.sensor.v1", "v1.c.99999999999.0.0000000000000000.forged", NULL, &attempt);
  g_assert_cmpuint (attempt.status, ==, 401);
  try_connect (fixture, "switchyard.sensor.v1", "nonsense", NULL, &attempt);
  g_assert_cmpuint (attempt.status, ==, 401);

  attempt_clear (&attempt);
}

static void
test_api_tokens (Fixture       *fixture,
                 gconstpointer  data)
{
  g_autofree char *view = sy_token_keeper_issue (fixture->tokens, SY_ROLE_VIEW, 60);
  g_autofree char *path = g_strdup_printf ("/api/status?token=%s", view);
  g_autofree char *body = NULL;

  /* Beyond loopback nothing is anonymous. */
  g_object_set (fixture->server, "default-role", SY_ROLE_NONE, NULL);
  sy_test_server_start (fixture->server);

  g_assert_cmpuint (api_status (fixture, "/api/status", &body), ==, 401);
  g_assert_nonnull (strstr (body, "token"));
  g_assert_cmpuint (api_status (fixture, "/api/history?sensor=light", NULL), ==, 401);
  g_assert_cmpuint (api_status (fixture, path, NULL), ==, 200);
  g_assert_cmpuint (api_status (fixture, "/api/status?token=garbage", NULL), ==, 401);

  /* The page itself is public: it is what carries the token along. */
  g_assert_cmpuint (api_status (fixture, "/", NULL), ==, 200);
}

static void
test_expired_and_revoked (Fixture       *fixture,
                          gconstpointer  data)
{
  g_autofree char *control = sy_token_keeper_issue (fixture->tokens, SY_ROLE_CONTROL, 60);
  g_autofree char *fresh = NULL;
  g_autofree char *body = NULL;
  g_autofree char *path = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(SoupWebsocketConnection) watcher = NULL;
  Attempt attempt = { 0 };

  sy_test_server_start (fixture->server);

  try_connect (fixture, "switchyard.relay.v1", control, NULL, &attempt);
  g_assert_no_error (attempt.error);
  watcher = sy_test_connect (fixture->session, fixture->server, "switchyard.sensor.v1", &error);
  g_assert_no_error (error);

  /* Rotation revokes: the connection that came in with the old token is
   * closed with 4002; the anonymous watcher stays. */
  g_assert_true (sy_server_rotate_tokens (fixture->server, &error));
  g_assert_no_error (error);
  WAIT_UNTIL (soup_websocket_connection_get_state (attempt.ws) == SOUP_WEBSOCKET_STATE_CLOSED, 5000);
  g_assert_cmpuint (soup_websocket_connection_get_close_code (attempt.ws), ==, SY_CLOSE_TOKEN_REVOKED);
  g_assert_nonnull (strstr (soup_websocket_connection_get_close_data (attempt.ws), "revoked"));
  g_assert_cmpint (soup_websocket_connection_get_state (watcher), ==, SOUP_WEBSOCKET_STATE_OPEN);

  path = g_strdup_printf ("/api/status?token=%s", control);
  g_assert_cmpuint (api_status (fixture, path, &body), ==, 401);
  g_assert_nonnull (strstr (body, "revoked"));

  fresh = sy_token_keeper_issue (fixture->tokens, SY_ROLE_CONTROL, 60);
  try_connect (fixture, "switchyard.relay.v1", fresh, NULL, &attempt);
  g_assert_no_error (attempt.error);

  /* Expiry: a token that runs out while connected closes with 4002 too. */
  sy_token_keeper_set_clock (fixture->tokens, g_get_real_time () / G_USEC_PER_SEC + 3600);
  WAIT_UNTIL (soup_websocket_connection_get_state (attempt.ws) == SOUP_WEBSOCKET_STATE_CLOSED, 5000);
  g_assert_cmpuint (soup_websocket_connection_get_close_code (attempt.ws), ==, SY_CLOSE_TOKEN_REVOKED);
  g_assert_nonnull (strstr (soup_websocket_connection_get_close_data (attempt.ws), "expired"));

  try_connect (fixture, "switchyard.relay.v1", fresh, NULL, &attempt);
  g_assert_cmpuint (attempt.status, ==, 401);

  sy_test_close_and_wait (watcher);
  attempt_clear (&attempt);
}

static void
test_origins (Fixture       *fixture,
              gconstpointer  data)
{
  const char *allowed[] = { "https://panel.example:8443", NULL };
  g_autofree char *own = NULL;
  Attempt attempt = { 0 };

  g_object_set (fixture->server, "allowed-origins", allowed, NULL);
  sy_test_server_start (fixture->server);
  own = g_strdup_printf ("http://127.0.0.1:%u", sy_server_get_port (fixture->server));

  try_connect (fixture, "switchyard.sensor.v1", NULL, "http://evil.example", &attempt);
  g_assert_cmpuint (attempt.status, ==, 403);
  try_connect (fixture, "switchyard.sensor.v1", NULL, "null", &attempt);
  g_assert_cmpuint (attempt.status, ==, 403);
  try_connect (fixture, "switchyard.sensor.v1", NULL, "http://127.0.0.1:1", &attempt);
  g_assert_cmpuint (attempt.status, ==, 403);

  try_connect (fixture, "switchyard.sensor.v1", NULL, own, &attempt);
  g_assert_no_error (attempt.error);
  try_connect (fixture, "switchyard.sensor.v1", NULL, "https://panel.example:8443", &attempt);
  g_assert_no_error (attempt.error);

  attempt_clear (&attempt);
}

static void
test_peer_rate (Fixture       *fixture,
                gconstpointer  data)
{
  GPtrArray *open = g_ptr_array_new_with_free_func (g_object_unref);
  Attempt attempt = { 0 };
  guint refused = 0;

  g_object_set (fixture->server, "peer-rate", 5, NULL);
  sy_test_server_start (fixture->server);

  /* A burst of 10 is allowed, then the address must slow down. */
  for (guint i = 0; i < 14; i++)
    {
      try_connect (fixture, "switchyard.echo.v1", NULL, NULL, &attempt);
      if (attempt.error != NULL)
        {
          g_assert_cmpuint (attempt.status, ==, 429);
          refused++;
        }
      else
        {
          g_ptr_array_add (open, g_steal_pointer (&attempt.ws));
        }
    }
  g_assert_cmpuint (refused, >=, 3);
  g_assert_cmpuint (open->len, >=, 10);

  for (guint i = 0; i < open->len; i++)
    sy_test_close_and_wait (g_ptr_array_index (open, i));
  g_ptr_array_unref (open);
  attempt_clear (&attempt);
}

int
main (int   argc,
      char *argv[])
{
  sy_test_init (&argc, &argv);

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)

  ADD ("/gate/roles", test_roles);
  ADD ("/gate/api-tokens", test_api_tokens);
  ADD ("/gate/expired-and-revoked", test_expired_and_revoked);
  ADD ("/gate/origins", test_origins);
  ADD ("/gate/peer-rate", test_peer_rate);

#undef ADD

  return g_test_run ();
}
