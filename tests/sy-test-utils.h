/* sy-test-utils.h
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include "sy-server.h"

G_BEGIN_DECLS

/* Spins the thread-default main context until @condition holds, failing
 * the test after @timeout_ms. Never sleeps blindly. */
#define WAIT_UNTIL(condition, timeout_ms)                                      \
  G_STMT_START {                                                               \
    gint64 _sy_deadline = g_get_monotonic_time () + (gint64) (timeout_ms) * 1000; \
    guint _sy_tick = g_timeout_add (5, sy_test_tick, NULL);                    \
    while (!(condition))                                                       \
      {                                                                        \
        if (g_get_monotonic_time () > _sy_deadline)                            \
          g_error ("%s:%d: timed out after %d ms waiting for: %s",              \
                   __FILE__, __LINE__, (int) (timeout_ms), #condition);        \
        g_main_context_iteration (NULL, TRUE);                                 \
      }                                                                        \
    g_source_remove (_sy_tick);                                                \
  } G_STMT_END

gboolean                 sy_test_tick               (gpointer      data);
void                     sy_test_init               (int          *argc,
                                                     char       ***argv);
SyServer                *sy_test_server_new         (void);
void                     sy_test_server_start       (SyServer     *server);
SoupSession             *sy_test_session_new        (void);
char                    *sy_test_ws_uri             (SyServer     *server);
SoupWebsocketConnection *sy_test_connect            (SoupSession  *session,
                                                     SyServer     *server,
                                                     const char   *protocol,
                                                     GError      **error);
GBytes                  *sy_test_http               (SoupSession  *session,
                                                     const char   *method,
                                                     const char   *uri,
                                                     guint        *status,
                                                     char        **content_type);
GBytes                  *sy_test_echo               (SoupWebsocketConnection *ws,
                                                     SoupWebsocketDataType    type,
                                                     GBytes                  *payload,
                                                     SoupWebsocketDataType   *type_out);
void                     sy_test_close_and_wait     (SoupWebsocketConnection *ws);
guint                    sy_test_free_port          (void);
guint                    sy_test_tolerate_warnings  (const char   *domain);
void                     sy_test_end_tolerating_warnings (guint   handler);
void                     sy_test_make_certificate   (const char   *cert,
                                                     const char   *key);

/* A client that keeps every JSON message it receives, in order; `read` is
 * how far sy_test_client_next() has got. */
typedef struct
{
  SoupWebsocketConnection *ws;
  GPtrArray               *messages;
  guint                    read;
} SyTestClient;

SyTestClient            *sy_test_client_new         (SoupSession  *session,
                                                     SyServer     *server,
                                                     const char   *protocol);
void                     sy_test_client_free        (SyTestClient *client);
JsonObject              *sy_test_client_next        (SyTestClient *client,
                                                     const char   *type);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SyTestClient, sy_test_client_free)

G_END_DECLS
