/* test-window.c
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <adwaita.h>
#include <string.h>
#include <webkit/webkit.h>

#include "sy-application.h"
#include "sy-audit.h"
#include "sy-bench.h"
#include "sy-token.h"
#include "sy-connection-info.h"
#include "sy-echo-protocol.h"
#include "sy-log.h"
#include "sy-test-utils.h"
#include "sy-window.h"

typedef struct
{
  gboolean  done;
  char     *text;
  GError   *error;
} Eval;

static void
eval_cb (GObject      *object,
         GAsyncResult *result,
         gpointer      user_data)
{
  Eval *eval = user_data;
  g_autoptr(JSCValue) value = NULL;

  value = webkit_web_view_evaluate_javascript_finish (WEBKIT_WEB_VIEW (object), result, &eval->error);
  if (value != NULL)
    eval->text = jsc_value_to_string (value);
  eval->done = TRUE;
}

static char *
eval_js (WebKitWebView *view,
         const char    *script)
{
  Eval eval = { 0 };

  webkit_web_view_evaluate_javascript (view, script, -1, NULL, NULL, NULL, eval_cb, &eval);
  WAIT_UNTIL (eval.done, 10000);
  g_assert_no_error (eval.error);

  return eval.text;
}

static void
count_arrivals (GListModel *model,
                guint       position,
                guint       removed,
                guint       added,
                guint      *arrived)
{
  *arrived += added;
}

static char *
join_list (GList *strings)
{
  GString *joined = g_string_new (NULL);

  for (GList *l = strings; l != NULL; l = l->next)
    g_string_append_printf (joined, "%s%s", joined->len ? " " : "", (const char *) l->data);

  return g_string_free (joined, FALSE);
}

static const char *
visible_page (SyWindow *window)
{
  GtkStack *stack = GTK_STACK (gtk_widget_get_template_child (GTK_WIDGET (window), SY_TYPE_WINDOW, "stack"));

  return gtk_stack_get_visible_child_name (stack);
}

static const char *
subtitle (SyWindow *window)
{
  AdwWindowTitle *title = ADW_WINDOW_TITLE (gtk_widget_get_template_child (GTK_WIDGET (window), SY_TYPE_WINDOW,
                                                                           "window_title"));

  return adw_window_title_get_subtitle (title);
}

static void
test_window_shows_page (void)
{
  g_autoptr(SyServer) server = sy_test_server_new ();
  g_autoptr(SyApplication) app = NULL;
  g_autoptr(SyTokenKeeper) tokens = NULL;
  g_autoptr(SyBench) bench = NULL;
  g_autoptr(SyAudit) audit = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *uri = NULL;
  g_autofree char *link = NULL;
  g_autofree char *joined = NULL;
  GList *seen = NULL;
  g_autofree char *server_text = NULL;
  GListModel *connections = sy_server_get_connections (server);
  SyWindow *window;
  WebKitWebView *view;
  GtkLabel *label;
  guint arrived = 0;
  gint64 deadline;

  /* The page needs the bench's subprotocols, and a control token to command. */
  tokens = sy_token_keeper_new (NULL, &error);
  g_assert_no_error (error);
  bench = sy_bench_new (1, NULL);
  audit = sy_audit_new (NULL);
  sy_server_install_bench (server, bench, audit);
  g_object_set (server, "token-keeper", tokens, "default-role", SY_ROLE_VIEW, NULL);

  app = sy_application_new (server);
  g_application_register (G_APPLICATION (app), NULL, &error);
  g_assert_no_error (error);
  g_assert_true (sy_server_get_running (server));

  g_signal_connect (connections, "items-changed", G_CALLBACK (count_arrivals), &arrived);
  g_application_activate (G_APPLICATION (app));
  window = SY_WINDOW (gtk_application_get_active_window (GTK_APPLICATION (app)));
  g_assert_nonnull (window);
  view = sy_window_get_web_view (window);

  /* The window shows what external browsers get, from the real server. */
  uri = sy_server_dup_uri (server);
  g_assert_cmpstr (subtitle (window), ==, uri);
  g_assert_cmpstr (visible_page (window), ==, "page");
  /* …with the window's own control token. */
  WAIT_UNTIL (!webkit_web_view_is_loading (view) &&
              g_str_has_prefix (webkit_web_view_get_uri (view), uri) &&
              strstr (webkit_web_view_get_uri (view), "?token=v1.c.") != NULL, 20000);
  g_assert_cmpstr (webkit_web_view_get_title (view), ==, "Switchyard");

  /* The page connects its four sockets with the window's control token and
   * says so; its echo socket measures the round trip. */
  deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;
  while (TRUE)
    {
      g_free (link);
      link = eval_js (view, "document.getElementById('link').dataset.state + ' ' + "
                            "document.body.dataset.role + ' ' + "
                            "(document.getElementById('rtt').dataset.rttMs || '')");
      if (g_str_has_prefix (link, "connected control ") && !g_str_has_suffix (link, " "))
        break;
      if (g_get_monotonic_time () > deadline)
        g_error ("the page did not connect: link, role, rtt = '%s'", link);
    }
  WAIT_UNTIL (g_list_model_get_n_items (connections) == 4, 10000);
  g_assert_cmpuint (arrived, ==, 4);
  for (guint i = 0; i < 4; i++)
    {
      g_autoptr(SyConnectionInfo) info = g_list_model_get_item (connections, i);
      const char *subprotocol = sy_connection_info_get_subprotocol (info);

      g_assert_cmpint (sy_connection_info_get_role (info), ==, SY_ROLE_CONTROL);
      seen = g_list_prepend (seen, g_strdup (subprotocol));
    }
  seen = g_list_sort (seen, (GCompareFunc) g_strcmp0);
  joined = join_list (seen);
  g_list_free_full (seen, g_free);
  g_assert_cmpstr (joined, ==, "switchyard.display.v1 switchyard.echo.v1 switchyard.relay.v1 switchyard.sensor.v1");

  WAIT_UNTIL ((g_free (server_text),
               server_text = eval_js (view, "document.getElementById('server').textContent"),
               g_str_has_prefix (server_text, "Switchyard " PACKAGE_VERSION)), 10000);

  label = GTK_LABEL (gtk_widget_get_template_child (GTK_WIDGET (window), SY_TYPE_WINDOW, "connections_label"));
  WAIT_UNTIL (g_strcmp0 (gtk_label_get_label (label), "4 connections") == 0, 5000);

  /* Stopped: a status page, not a broken page; the action starts it again. */
  sy_server_stop (server);
  g_assert_cmpstr (visible_page (window), ==, "stopped");
  g_assert_cmpstr (subtitle (window), ==, "Stopped");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.start-server", NULL));
  g_assert_true (sy_server_get_running (server));
  g_assert_cmpstr (visible_page (window), ==, "page");
  WAIT_UNTIL (!webkit_web_view_is_loading (view), 20000);

  g_signal_handlers_disconnect_by_data (connections, &arrived);
  gtk_window_destroy (GTK_WINDOW (window));
  sy_server_stop (server);
}

int
main (int   argc,
      char *argv[])
{
  sy_test_init (&argc, &argv);
  /* WebKit derives its data directory from the program name. */
  g_set_prgname ("test-window");

  if (!gtk_init_check ())
    {
      g_test_skip ("no display");
      return 77;
    }
  adw_init ();

  g_test_add_func ("/gui/window/shows-page", test_window_shows_page);

  return g_test_run ();
}
