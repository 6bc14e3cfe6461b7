/* test-window.c
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <adwaita.h>
#include <webkit/webkit.h>

#include "sy-application.h"
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
  g_autoptr(GError) error = NULL;
  g_autofree char *uri = NULL;
  g_autofree char *echo = NULL;
  g_autofree char *server_text = NULL;
  GListModel *connections = sy_server_get_connections (server);
  SyWindow *window;
  WebKitWebView *view;
  GtkLabel *label;
  guint arrived = 0;
  gint64 deadline;

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
  WAIT_UNTIL (!webkit_web_view_is_loading (view) &&
              g_strcmp0 (webkit_web_view_get_uri (view), uri) == 0, 20000);
  g_assert_cmpstr (webkit_web_view_get_title (view), ==, "Switchyard");

  /* The page's script measures an echo round trip over its own WebSocket,
   * which the connections model sees come and go. */
  deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;
  while (TRUE)
    {
      g_free (echo);
      echo = eval_js (view, "document.getElementById('echo').textContent");
      if (g_str_has_suffix (echo, " ms"))
        break;
      g_assert_cmpstr (echo, !=, "failed");
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
    }
  WAIT_UNTIL (g_list_model_get_n_items (connections) == 0, 10000);
  g_assert_cmpuint (arrived, >=, 1);

  WAIT_UNTIL ((g_free (server_text),
               server_text = eval_js (view, "document.getElementById('server').textContent"),
               g_str_has_prefix (server_text, "Switchyard " PACKAGE_VERSION)), 10000);

  label = GTK_LABEL (gtk_widget_get_template_child (GTK_WIDGET (window), SY_TYPE_WINDOW, "connections_label"));
  g_assert_cmpstr (gtk_label_get_label (label), ==, "0 connections");

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
