/* test-window.c
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <adwaita.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <webkit/webkit.h>

#include "sy-application.h"
#include "sy-audit.h"
#include "sy-bench.h"
#include "sy-tls.h"
#include "sy-token.h"
#include "sy-connection-info.h"
#include "sy-echo-protocol.h"
#include "sy-log.h"
#include "sy-gui-test-utils.h"
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

/* Every caller polls until the page reaches a state, and an evaluation that
 * lands while the page is between documents fails ("Unsupported result
 * type"): such a failure is one more poll, and its text says what happened if
 * the state never comes. */
static char *
eval_js (WebKitWebView *view,
         const char    *script)
{
  Eval eval = { 0 };
  char *failed;

  webkit_web_view_evaluate_javascript (view, script, -1, NULL, NULL, NULL, eval_cb, &eval);
  WAIT_UNTIL (eval.done, 10000);
  if (eval.error == NULL)
    return eval.text;

  failed = g_strdup_printf ("(evaluation failed: %s)", eval.error->message);
  g_test_message ("%s", failed);
  g_clear_error (&eval.error);
  g_free (eval.text);

  return failed;
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

/* The app's window on @server, which serves @bench with role tokens the
 * way the app does: watching needs none, the window's own view gets a
 * control token. */
static SyWindow *
open_window (SyServer       *server,
             SyBench        *bench,
             SyAudit        *audit,
             SyTokenKeeper **tokens,
             SyApplication **app)
{
  g_autoptr(GError) error = NULL;

  *tokens = sy_token_keeper_new (NULL, &error);
  g_assert_no_error (error);
  sy_server_install_bench (server, bench, audit);
  g_object_set (server, "token-keeper", *tokens, "default-role", SY_ROLE_VIEW, NULL);

  *app = sy_application_new (server);
  g_application_register (G_APPLICATION (*app), NULL, &error);
  g_assert_no_error (error);
  g_application_activate (G_APPLICATION (*app));

  return SY_WINDOW (gtk_application_get_active_window (GTK_APPLICATION (*app)));
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
  WAIT_UNTIL (g_strcmp0 (webkit_web_view_get_title (view), "Switchyard") == 0, 10000);

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

typedef struct
{
  gboolean  done;
  char     *text;
} ClipboardRead;

static void
clipboard_read_cb (GObject      *object,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  ClipboardRead *read = user_data;

  read->text = gdk_clipboard_read_text_finish (GDK_CLIPBOARD (object), result, NULL);
  read->done = TRUE;
}

/* The header bar's actions: copy the control link, stop and start, rotate
 * the tokens (the view follows with a fresh one). */
static void
test_window_header_actions (void)
{
  g_autoptr(SyServer) server = sy_test_server_new ();
  g_autoptr(SyTokenKeeper) tokens = NULL;
  g_autoptr(SyBench) bench = sy_bench_new (1, NULL);
  g_autoptr(SyAudit) audit = sy_audit_new (NULL);
  g_autoptr(SyApplication) app = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *first_uri = NULL;
  ClipboardRead read = { 0 };
  SyWindow *window;
  WebKitWebView *view;

  window = open_window (server, bench, audit, &tokens, &app);
  view = sy_window_get_web_view (window);
  WAIT_UNTIL (!webkit_web_view_is_loading (view) &&
              strstr (webkit_web_view_get_uri (view), "?token=v1.c.") != NULL, 20000);
  first_uri = g_strdup (webkit_web_view_get_uri (view));

  /* Copy: a control link that the server accepts. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.copy-control-url", NULL));
  gdk_clipboard_read_text_async (gtk_widget_get_clipboard (GTK_WIDGET (window)), NULL,
                                 clipboard_read_cb, &read);
  WAIT_UNTIL (read.done, 5000);
  g_assert_nonnull (read.text);
  g_assert_nonnull (strstr (read.text, "?token=v1.c."));
  {
    g_autofree char *uri = sy_server_dup_uri (server);
    g_autofree char *token = g_strdup (strstr (read.text, "?token=") + strlen ("?token="));
    g_autoptr(GError) verify_error = NULL;

    g_assert_true (g_str_has_prefix (read.text, uri));
    g_assert_cmpint (sy_token_keeper_verify (tokens, token, NULL, &verify_error), ==, SY_ROLE_CONTROL);
    g_assert_no_error (verify_error);
  }
  g_free (read.text);

  /* Stop and start through the header bar's toggle. */
  g_action_group_change_action_state (G_ACTION_GROUP (window), "running", g_variant_new_boolean (FALSE));
  g_assert_false (sy_server_get_running (server));
  g_assert_cmpstr (visible_page (window), ==, "stopped");
  g_assert_false (g_action_group_get_action_enabled (G_ACTION_GROUP (window), "copy-control-url"));
  /* The button activates the action without a value: a toggle. */
  g_action_group_activate_action (G_ACTION_GROUP (window), "running", NULL);
  g_assert_true (sy_server_get_running (server));
  g_assert_cmpstr (visible_page (window), ==, "page");
  WAIT_UNTIL (!webkit_web_view_is_loading (view), 20000);

  /* Rotation revokes the view's own token: the view reloads with a new one
   * and its page connects again. */
  g_free (first_uri);
  first_uri = g_strdup (webkit_web_view_get_uri (view));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.rotate-tokens", NULL));
  WAIT_UNTIL (!webkit_web_view_is_loading (view) &&
              g_strcmp0 (webkit_web_view_get_uri (view), first_uri) != 0, 20000);
  {
    g_autofree char *state = NULL;
    gint64 deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;

    /* Said on failure: where the page was (link state, role, next retry). */
    while (TRUE)
      {
        g_free (state);
        state = eval_js (view, "document.getElementById('link').dataset.state + ' ' + "
                               "document.body.dataset.role + ' ' + "
                               "(document.getElementById('link').textContent || '').trim()");
        if (g_str_has_prefix (state, "connected control "))
          break;
        if (g_get_monotonic_time () > deadline)
          g_error ("the page did not connect again after the rotation: '%s' at %s",
                   state, webkit_web_view_get_uri (view));
      }
  }

  gtk_window_destroy (GTK_WINDOW (window));
  sy_server_stop (server);
}

/* The side pane: three panels, shown by name, hidden and shown again. */
static void
test_window_panels (void)
{
  g_autoptr(SyServer) server = sy_test_server_new ();
  g_autoptr(SyBench) bench = sy_bench_new (1, NULL);
  g_autoptr(SyAudit) audit = sy_audit_new (NULL);
  g_autoptr(SyApplication) app = NULL;
  g_autoptr(GError) error = NULL;
  SyWindow *window;
  AdwFlap *flap;
  AdwViewStack *panels;

  sy_server_install_bench (server, bench, audit);
  app = sy_application_new (server);
  g_application_register (G_APPLICATION (app), NULL, &error);
  g_assert_no_error (error);
  g_application_activate (G_APPLICATION (app));
  window = SY_WINDOW (gtk_application_get_active_window (GTK_APPLICATION (app)));
  flap = ADW_FLAP (gtk_widget_get_template_child (GTK_WIDGET (window), SY_TYPE_WINDOW, "flap"));
  panels = ADW_VIEW_STACK (gtk_widget_get_template_child (GTK_WIDGET (window), SY_TYPE_WINDOW, "panels"));

  g_assert_nonnull (sy_window_get_panel (window, "connections"));
  g_assert_nonnull (sy_window_get_panel (window, "log"));
  g_assert_nonnull (sy_window_get_panel (window, "hardware"));
  g_assert_null (sy_window_get_panel (window, "nonsense"));

  sy_window_show_panel (window, "log");
  g_assert_true (adw_flap_get_reveal_flap (flap));
  g_assert_cmpstr (adw_view_stack_get_visible_child_name (panels), ==, "log");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.show-panel", "s", "hardware"));
  g_assert_cmpstr (adw_view_stack_get_visible_child_name (panels), ==, "hardware");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.toggle-panels", NULL));
  g_assert_false (adw_flap_get_reveal_flap (flap));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.toggle-panels", NULL));
  g_assert_true (adw_flap_get_reveal_flap (flap));

  /* On loopback there is nothing for a phone to scan. */
  g_assert_false (gtk_widget_get_visible (GTK_WIDGET (gtk_widget_get_template_child (GTK_WIDGET (window),
                                                                                     SY_TYPE_WINDOW,
                                                                                     "qr_button"))));

  gtk_window_destroy (GTK_WINDOW (window));
  sy_server_stop (server);
}

static gboolean
dark_at (const guint8 *pixels,
         gsize         stride,
         int           x,
         int           y)
{
  return pixels[y * stride + x * 4] < 128;
}

/* The QR code: black modules on white with a quiet zone of four modules,
 * the three finder patterns where a reader looks for them. */
static void
test_window_qr (void)
{
  const char *text = "http://192.0.2.7:8080/?token=v1.v.1795704827.1.bf0b859d05b12489.abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ";
  g_autoptr(GdkTexture) texture = sy_qr_texture_new (text);
  g_autofree guint8 *pixels = NULL;
  g_autofree char *too_long = NULL;
  int side, modules, module;
  gsize stride;

  g_assert_nonnull (texture);
  side = gdk_texture_get_width (texture);
  g_assert_cmpint (side, ==, gdk_texture_get_height (texture));
  module = 5;
  g_assert_cmpint (side % module, ==, 0);
  modules = side / module - 8;
  /* Versions are 17 + 4 v modules wide. */
  g_assert_cmpint ((modules - 17) % 4, ==, 0);
  g_assert_cmpint (modules, >=, 21);

  stride = (gsize) side * 4;
  pixels = g_malloc (stride * side);
  gdk_texture_download (texture, pixels, stride);

  /* Quiet zone: white all round. */
  for (int i = 0; i < side; i++)
    for (int q = 0; q < 4 * module; q++)
      {
        g_assert_false (dark_at (pixels, stride, i, q));
        g_assert_false (dark_at (pixels, stride, q, i));
        g_assert_false (dark_at (pixels, stride, i, side - 1 - q));
        g_assert_false (dark_at (pixels, stride, side - 1 - q, i));
      }

  /* Finder patterns at three corners: a dark 7×7 ring, a light ring, a dark
   * 3×3 centre. */
  for (int corner = 0; corner < 3; corner++)
    {
      int ox = 4 + (corner == 1 ? modules - 7 : 0);
      int oy = 4 + (corner == 2 ? modules - 7 : 0);

      for (int y = 0; y < 7; y++)
        for (int x = 0; x < 7; x++)
          {
            gboolean ring = x == 0 || y == 0 || x == 6 || y == 6;
            gboolean centre = x >= 2 && x <= 4 && y >= 2 && y <= 4;
            int px = (ox + x) * module + module / 2;
            int py = (oy + y) * module + module / 2;

            g_assert_cmpint (dark_at (pixels, stride, px, py), ==, ring || centre);
          }
    }

  /* More than a QR code holds: no texture, no crash. */
  too_long = g_strnfill (8000, 'x');
  g_assert_null (sy_qr_texture_new (too_long));
}

static GskRenderNode *
snapshot_node (GdkPaintable *paintable,
               int           width,
               int           height)
{
  GtkSnapshot *snapshot = gtk_snapshot_new ();

  gdk_paintable_snapshot (paintable, GDK_SNAPSHOT (snapshot), width, height);

  return gtk_snapshot_free_to_node (snapshot);
}

/* Renders @widget as it is on screen into a PNG among the test artifacts
 * (build/tests/artifacts), for a person to look at. */
static char *
save_screenshot (GtkWidget  *widget,
                 const char *name)
{
  g_autoptr(GdkPaintable) paintable = gtk_widget_paintable_new (widget);
  g_autoptr(GskRenderNode) node = NULL;
  g_autoptr(GdkTexture) texture = NULL;
  g_autofree char *dir = g_build_filename (g_getenv ("G_TEST_BUILDDIR") ? g_getenv ("G_TEST_BUILDDIR") : ".",
                                           "artifacts", NULL);
  char *path = g_build_filename (dir, name, NULL);
  int width = gtk_widget_get_width (widget);
  int height = gtk_widget_get_height (widget);

  g_assert_cmpint (width, >, 0);
  g_assert_cmpint (height, >, 0);
  /* A window that has not drawn its latest frame yet snapshots as nothing:
   * let it draw. */
  WAIT_UNTIL ((node = snapshot_node (paintable, width, height)) != NULL, 10000);
  texture = gsk_renderer_render_texture (gtk_native_get_renderer (gtk_widget_get_native (widget)), node,
                                         &GRAPHENE_RECT_INIT (0, 0, width, height));
  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  g_assert_true (gdk_texture_save_to_png (texture, path));
  g_test_message ("screenshot: %s", path);

  return path;
}

/* Whether a PNG shows something: many distinct colours, not one flat fill. */
static guint
count_colours (const char *path)
{
  g_autoptr(GdkTexture) texture = NULL;
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GError) error = NULL;
  g_autoptr(GHashTable) colours = g_hash_table_new (NULL, NULL);
  g_autofree guint32 *pixels = NULL;
  int width, height;

  texture = gdk_texture_new_from_file (file, &error);
  g_assert_no_error (error);
  width = gdk_texture_get_width (texture);
  height = gdk_texture_get_height (texture);
  pixels = g_new (guint32, (gsize) width * height);
  gdk_texture_download (texture, (guint8 *) pixels, (gsize) width * 4);
  for (gsize i = 0; i < (gsize) width * height; i += 7)
    g_hash_table_add (colours, GUINT_TO_POINTER (pixels[i]));

  return g_hash_table_size (colours);
}

/* The whole window with every panel populated: the page connected in the
 * view, a client of the test's own in the connections, log lines, the
 * bench's sensors and relays. */
static void
test_window_screenshot (void)
{
  g_autoptr(SyServer) server = sy_test_server_new ();
  g_autoptr(SyTokenKeeper) tokens = NULL;
  g_autoptr(SyBench) bench = sy_bench_new (7, NULL);
  g_autoptr(SyAudit) audit = sy_audit_new (NULL);
  g_autoptr(SyApplication) app = NULL;
  g_autoptr(SoupSession) session = sy_test_session_new ();
  g_autoptr(SoupWebsocketConnection) client = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *state = NULL;
  static const char *panels[] = { "connections", "log", "hardware" };
  SyWindow *window;
  WebKitWebView *view;

  window = open_window (server, bench, audit, &tokens, &app);
  gtk_window_set_default_size (GTK_WINDOW (window), 1400, 860);
  view = sy_window_get_web_view (window);

  WAIT_UNTIL ((g_free (state),
               state = eval_js (view, "document.getElementById('rtt') ? "
                                      "document.getElementById('link').dataset.state + ' ' + "
                                      "(document.getElementById('rtt').dataset.rttMs ? 'rtt' : '') : 'loading'"),
               g_strcmp0 (state, "connected rtt") == 0), 20000);

  client = sy_test_connect (session, server, "switchyard.echo.v1", &error);
  g_assert_no_error (error);
  g_message ("a client of the test's own connected");
  WAIT_UNTIL (g_list_model_get_n_items (sy_server_get_connections (server)) == 5, 10000);

  for (guint i = 0; i < G_N_ELEMENTS (panels); i++)
    {
      g_autofree char *name = g_strdup_printf ("window-%s.png", panels[i]);
      g_autofree char *path = NULL;
      gint64 settle = g_get_monotonic_time () + G_USEC_PER_SEC;

      sy_window_show_panel (window, panels[i]);
      /* Let the pane lay out and the panels draw a few frames. */
      WAIT_UNTIL (g_get_monotonic_time () > settle, 5000);
      path = save_screenshot (GTK_WIDGET (window), name);
      g_assert_cmpuint (count_colours (path), >, 200);
    }

  sy_test_close_and_wait (client);
  gtk_window_destroy (GTK_WINDOW (window));
  sy_server_stop (server);
}

static void
collect_text (SoupWebsocketConnection *ws,
              SoupWebsocketDataType    type,
              GBytes                  *message,
              GPtrArray               *texts)
{
  g_ptr_array_add (texts, g_strndup (g_bytes_get_data (message, NULL), g_bytes_get_size (message)));
}

static gboolean
saw_text (GPtrArray  *texts,
          const char *first,
          const char *second,
          const char *third)
{
  for (guint i = 0; i < texts->len; i++)
    if (strstr (texts->pdata[i], first) != NULL && strstr (texts->pdata[i], second) != NULL &&
        strstr (texts->pdata[i], third) != NULL)
      return TRUE;

  return FALSE;
}

/* A relay switched in the hardware panel: the bench switches it (a
 * WebSocket client of the test's own sees the broadcast), and the page in
 * the window's view shows it too. */
static void
test_window_hardware_switch (void)
{
  g_autoptr(SyServer) server = sy_test_server_new ();
  g_autoptr(SyTokenKeeper) tokens = NULL;
  g_autoptr(SyBench) bench = sy_bench_new (3, NULL);
  g_autoptr(SyAudit) audit = sy_audit_new (NULL);
  g_autoptr(SyApplication) app = NULL;
  g_autoptr(SoupSession) session = sy_test_session_new ();
  g_autoptr(SoupWebsocketConnection) client = NULL;
  g_autoptr(GPtrArray) texts = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;
  g_autofree char *state = NULL;
  GtkWidget *lamp;
  SyWindow *window;
  WebKitWebView *view;
  int index;

  window = open_window (server, bench, audit, &tokens, &app);
  view = sy_window_get_web_view (window);
  WAIT_UNTIL ((g_free (state),
               state = eval_js (view, "document.getElementById('link') ? "
                                      "document.getElementById('link').dataset.state : 'loading'"),
               g_strcmp0 (state, "connected") == 0), 20000);

  client = sy_test_connect (session, server, "switchyard.relay.v1", &error);
  g_assert_no_error (error);
  g_signal_connect (client, "message", G_CALLBACK (collect_text), texts);

  sy_window_show_panel (window, "hardware");
  lamp = sy_test_find_named (sy_window_get_panel (window, "hardware"), "relay-switch-lamp");
  g_assert_nonnull (lamp);
  g_assert_true (GTK_IS_SWITCH (lamp));
  g_assert_false (gtk_switch_get_active (GTK_SWITCH (lamp)));
  WAIT_UNTIL (gtk_widget_is_sensitive (lamp), 5000);

  /* As a person would: activate the switch. */
  gtk_widget_activate (lamp);

  WAIT_UNTIL (saw_text (texts, "\"reason\":\"confirmed\"", "\"id\":\"lamp\"", "\"on\":true"), 5000);
  index = sy_bench_find_relay (bench, "lamp");
  g_assert_cmpint (index, >=, 0);
  WAIT_UNTIL ((g_free (state),
               state = eval_js (view, "document.querySelector('[data-relay=\"lamp\"]').dataset.on + ' ' + "
                                      "document.querySelector('[data-relay=\"lamp\"]').dataset.pending"),
               g_strcmp0 (state, "true false") == 0), 5000);
  WAIT_UNTIL (gtk_switch_get_state (GTK_SWITCH (lamp)), 5000);

  g_signal_handlers_disconnect_by_data (client, texts);
  sy_test_close_and_wait (client);
  gtk_window_destroy (GTK_WINDOW (window));
  sy_server_stop (server);
  /* Off the server thread now: the bench is idle and may be read. */
  g_assert_true (sy_bench_get_relay (bench, (guint) index)->on);
}

/* A new port in the preferences restarts the server there, and the view
 * follows: it loads the page from the new port and the page connects. */
static void
test_window_port_change (void)
{
  g_autoptr(SyServer) server = sy_test_server_new ();
  g_autoptr(SyTokenKeeper) tokens = NULL;
  g_autoptr(SyBench) bench = sy_bench_new (5, NULL);
  g_autoptr(SyAudit) audit = sy_audit_new (NULL);
  g_autoptr(GSettings) settings = g_settings_new (SY_SETTINGS_SCHEMA_ID);
  g_autoptr(SyApplication) app = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *state = NULL;
  g_autofree char *prefix = NULL;
  SyWindow *window;
  WebKitWebView *view;
  guint port;

  tokens = sy_token_keeper_new (NULL, &error);
  g_assert_no_error (error);
  sy_server_install_bench (server, bench, audit);
  g_object_set (server, "token-keeper", tokens, NULL);
  sy_application_configure_bind (server, NULL);
  g_settings_set_int (settings, "port", 0);

  app = sy_application_new_with_settings (server, settings, NULL);
  g_application_register (G_APPLICATION (app), NULL, &error);
  g_assert_no_error (error);
  g_application_activate (G_APPLICATION (app));
  window = SY_WINDOW (gtk_application_get_active_window (GTK_APPLICATION (app)));
  view = sy_window_get_web_view (window);
  WAIT_UNTIL ((g_free (state),
               state = eval_js (view, "document.getElementById('link') ? "
                                      "document.getElementById('link').dataset.state : 'loading'"),
               g_strcmp0 (state, "connected") == 0), 20000);

  port = sy_test_free_port ();
  g_assert_cmpuint (port, !=, sy_server_get_port (server));
  g_settings_set_int (settings, "port", (int) port);

  WAIT_UNTIL (sy_server_get_running (server) && sy_server_get_port (server) == port, 10000);
  prefix = g_strdup_printf ("http://127.0.0.1:%u/?token=v1.c.", port);
  WAIT_UNTIL (!webkit_web_view_is_loading (view) &&
              g_str_has_prefix (webkit_web_view_get_uri (view), prefix), 20000);
  g_assert_cmpstr (subtitle (window), ==, (g_free (state), state = sy_server_dup_uri (server)));
  WAIT_UNTIL ((g_free (state),
               state = eval_js (view, "document.getElementById('link') ? "
                                      "document.getElementById('link').dataset.state + ' ' + location.port : 'loading'"),
               g_str_has_prefix (state, "connected ") && (guint) atoi (state + strlen ("connected ")) == port),
              20000);

  gtk_window_destroy (GTK_WINDOW (window));
  sy_server_stop (server);
}

/* The window in German, from the build's own catalog, as under LANGUAGE=de. */
static void
test_window_german (void)
{
  g_autoptr(SyServer) server = sy_test_server_new ();
  g_autoptr(SyBench) bench = sy_bench_new (1, NULL);
  g_autoptr(SyAudit) audit = sy_audit_new (NULL);
  g_autoptr(SyApplication) app = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *localedir = g_build_filename (g_getenv ("G_TEST_BUILDDIR"), "..", "po", NULL);
  g_autofree char *catalog = g_build_filename (localedir, "de", "LC_MESSAGES", GETTEXT_PACKAGE ".mo", NULL);
  GtkLabel *label;
  SyWindow *window;

  if (!g_file_test (catalog, G_FILE_TEST_EXISTS))
    {
      g_test_skip ("no German catalog in the build");
      return;
    }

  /* This runs in a process of its own, before anything was translated. */
  g_setenv ("LANGUAGE", "de", TRUE);
  g_setenv ("LC_ALL", "C.UTF-8", TRUE);
  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, localedir);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  sy_server_install_bench (server, bench, audit);
  app = sy_application_new (server);
  g_application_register (G_APPLICATION (app), NULL, &error);
  g_assert_no_error (error);
  g_application_activate (G_APPLICATION (app));
  window = SY_WINDOW (gtk_application_get_active_window (GTK_APPLICATION (app)));

  label = GTK_LABEL (gtk_widget_get_template_child (GTK_WIDGET (window), SY_TYPE_WINDOW, "connections_label"));
  WAIT_UNTIL (g_str_has_suffix (gtk_label_get_label (label), " Verbindungen") ||
              g_str_has_suffix (gtk_label_get_label (label), " Verbindung"), 10000);

  sy_server_stop (server);
  g_assert_cmpstr (subtitle (window), ==, "Angehalten");
  g_assert_cmpstr (adw_view_stack_page_get_title (adw_view_stack_get_page (
                     ADW_VIEW_STACK (gtk_widget_get_template_child (GTK_WIDGET (window), SY_TYPE_WINDOW, "panels")),
                     sy_window_get_panel (window, "connections"))), ==, "Verbindungen");

  gtk_window_destroy (GTK_WINDOW (window));
}

/* With TLS, the view trusts the server's own certificate (and only for the
 * server's host): the page loads over https and its sockets over wss. */
static void
test_window_tls (void)
{
  g_autoptr(SyServer) server = sy_test_server_new ();
  g_autoptr(SyTokenKeeper) tokens = NULL;
  g_autoptr(SyBench) bench = sy_bench_new (2, NULL);
  g_autoptr(SyAudit) audit = sy_audit_new (NULL);
  g_autoptr(SyApplication) app = NULL;
  g_autoptr(GTlsCertificate) certificate = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *cert = NULL;
  g_autofree char *key = NULL;
  g_autofree char *state = NULL;
  SyWindow *window;
  WebKitWebView *view;

  if (!g_file_test ("/usr/bin/openssl", G_FILE_TEST_IS_EXECUTABLE))
    {
      g_test_skip ("no openssl(1) to make a certificate");
      return;
    }

  dir = g_dir_make_tmp ("switchyard-tls-XXXXXX", &error);
  g_assert_no_error (error);
  cert = g_build_filename (dir, "cert.pem", NULL);
  key = g_build_filename (dir, "key.pem", NULL);
  sy_test_make_certificate (cert, key);
  certificate = sy_tls_load_certificate (cert, key, &error);
  g_assert_no_error (error);

  tokens = sy_token_keeper_new (NULL, &error);
  g_assert_no_error (error);
  sy_server_install_bench (server, bench, audit);
  g_object_set (server, "token-keeper", tokens, "default-role", SY_ROLE_VIEW,
                "tls-certificate", certificate, NULL);

  app = sy_application_new (server);
  g_application_register (G_APPLICATION (app), NULL, &error);
  g_assert_no_error (error);
  g_application_activate (G_APPLICATION (app));
  window = SY_WINDOW (gtk_application_get_active_window (GTK_APPLICATION (app)));
  view = sy_window_get_web_view (window);

  WAIT_UNTIL ((g_free (state),
               state = eval_js (view, "document.getElementById('link') ? "
                                      "document.getElementById('link').dataset.state + ' ' + location.protocol : 'loading'"),
               g_strcmp0 (state, "connected https:") == 0), 20000);
  g_assert_cmpstr (visible_page (window), ==, "page");
  WAIT_UNTIL (g_list_model_get_n_items (sy_server_get_connections (server)) == 4, 10000);

  gtk_window_destroy (GTK_WINDOW (window));
  sy_server_stop (server);
  g_unlink (cert);
  g_unlink (key);
  g_rmdir (dir);
}

/* WebKit's web process and the application's bus name live as long as the
 * process, and each test has directories of its own: every test runs in a
 * process of its own. */
/* Whether @pid descends from this test process. */
static gboolean
is_descendant (pid_t pid)
{
  pid_t self = getpid ();

  while (pid > 1)
    {
      g_autofree char *path = g_strdup_printf ("/proc/%d/stat", pid);
      g_autofree char *stat = NULL;
      const char *after_name;
      int parent;

      if (!g_file_get_contents (path, &stat, NULL, NULL))
        return FALSE;
      /* "pid (comm) state ppid …": the name may hold spaces and parentheses. */
      after_name = strrchr (stat, ')');
      if (after_name == NULL || sscanf (after_name, ") %*c %d", &parent) != 1)
        return FALSE;
      if (parent == self)
        return TRUE;
      pid = parent;
    }

  return FALSE;
}

/* Kills the web processes this test started, the way a crash would. */
static guint
kill_web_processes (void)
{
  g_autoptr(GDir) dir = g_dir_open ("/proc", 0, NULL);
  const char *name;
  guint killed = 0;

  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *comm_path = g_build_filename ("/proc", name, "comm", NULL);
      g_autofree char *comm = NULL;
      pid_t pid = (pid_t) g_ascii_strtoll (name, NULL, 10);

      if (pid <= 0 || !g_file_get_contents (comm_path, &comm, NULL, NULL))
        continue;
      /* The kernel keeps 15 characters of the name. */
      if (!g_str_has_prefix (comm, "WebKitWebProces") || !is_descendant (pid))
        continue;
      g_test_message ("killing web process %d", pid);
      if (kill (pid, SIGKILL) == 0)
        killed++;
    }

  return killed;
}

static void
count_departures (GListModel *model,
                  guint       position,
                  guint       removed,
                  guint       added,
                  guint      *departed)
{
  *departed += removed;
}

static void
wait_for_page (WebKitWebView *view,
               GListModel    *connections)
{
  g_autofree char *state = NULL;

  WAIT_UNTIL ((g_free (state),
               state = eval_js (view, "document.getElementById('link') ? "
                                      "document.getElementById('link').dataset.state : 'loading'"),
               g_strcmp0 (state, "connected") == 0), 20000);
  WAIT_UNTIL (g_list_model_get_n_items (connections) == 4, 10000);
}

/* The page's web process dies: the window loads the page again, and the
 * page connects again. A second death soon after waits before reloading. */
static void
test_window_web_process_crash (void)
{
  g_autoptr(SyServer) server = sy_test_server_new ();
  g_autoptr(SyTokenKeeper) tokens = NULL;
  g_autoptr(SyBench) bench = sy_bench_new (3, NULL);
  g_autoptr(SyAudit) audit = sy_audit_new (NULL);
  g_autoptr(SyApplication) app = NULL;
  GListModel *connections = sy_server_get_connections (server);
  SyWindow *window;
  WebKitWebView *view;
  guint departed = 0;
  gint64 second_crash;

  window = open_window (server, bench, audit, &tokens, &app);
  view = sy_window_get_web_view (window);
  wait_for_page (view, connections);

  g_signal_connect (connections, "items-changed", G_CALLBACK (count_departures), &departed);
  g_assert_cmpuint (kill_web_processes (), >=, 1);
  /* The dead page's four sockets go, and the reloaded page's four come. */
  WAIT_UNTIL (departed >= 4, 10000);
  wait_for_page (view, connections);
  g_assert_cmpstr (visible_page (window), ==, "page");

  /* Again at once: the reload waits (5 s) instead of racing a crash loop. */
  departed = 0;
  g_assert_cmpuint (kill_web_processes (), >=, 1);
  WAIT_UNTIL (departed >= 4, 10000);
  second_crash = g_get_monotonic_time ();
  WAIT_UNTIL (g_get_monotonic_time () - second_crash > G_USEC_PER_SEC, 5000);
  g_assert_cmpuint (g_list_model_get_n_items (connections), ==, 0);
  wait_for_page (view, connections);

  g_signal_handlers_disconnect_by_data (connections, &departed);
  gtk_window_destroy (GTK_WINDOW (window));
  sy_server_stop (server);
}

static void
run_in_subprocess (gconstpointer data)
{
  GTestFunc func = (GTestFunc) data;

  if (g_test_subprocess ())
    {
      func ();
      return;
    }

  g_test_trap_subprocess (NULL, 120 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
}

static void
add_test (const char *path,
          GTestFunc   func)
{
  g_test_add_data_func (path, (gconstpointer) func, run_in_subprocess);
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

  add_test ("/gui/window/shows-page", test_window_shows_page);
  add_test ("/gui/window/header-actions", test_window_header_actions);
  add_test ("/gui/window/panels", test_window_panels);
  add_test ("/gui/window/qr", test_window_qr);
  add_test ("/gui/window/hardware-switch", test_window_hardware_switch);
  add_test ("/gui/window/port-change", test_window_port_change);
  add_test ("/gui/window/tls", test_window_tls);
  add_test ("/gui/window/german", test_window_german);
  add_test ("/gui/window/screenshot", test_window_screenshot);
  add_test ("/gui/window/web-process-crash", test_window_web_process_crash);

  return g_test_run ();
}
