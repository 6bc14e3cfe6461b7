/* test-log-panel.c
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "test-log-panel"

#include "config.h"

#include <adwaita.h>
#include <glib/gstdio.h>
#include <string.h>

#include "sy-log.h"
#include "sy-log-panel.h"
#include "sy-test-utils.h"

/*
 * The log panel in a real window over the process's own log ring, fed by
 * real log calls. Warnings and criticals are fatal in a test, through
 * g_log() and SyLog's structured writer alike (so a GTK warning about the
 * panel fails the test); the test logs its own with g_log_structured()
 * and lowers SyLog's fatal mask for those lines only.
 */

typedef struct
{
  GtkWindow          *window;
  SyLogPanel         *panel;
  GtkListView        *list_view;
  GListModel         *shown;
  GtkDropDown        *level_dropdown;
  GtkEditable        *search_entry;
  GtkToggleButton    *follow_button;
  GtkButton          *waiting_button;
  GtkStack           *stack;
  GtkScrolledWindow  *scrolled_window;
} Fixture;

static GListModel *
ring (void)
{
  return G_LIST_MODEL (sy_log_get_model ());
}

static gpointer
child (Fixture    *fixture,
       const char *name)
{
  GObject *object;

  object = gtk_widget_get_template_child (GTK_WIDGET (fixture->panel), SY_TYPE_LOG_PANEL, name);

  g_assert_nonnull (object);

  return object;
}

/* Lets the main loop run for @ms, for things that must NOT happen. */
static void
spin (guint ms)
{
  gint64 end = g_get_monotonic_time () + ms * 1000;
  guint tick = g_timeout_add (5, sy_test_tick, NULL);

  while (g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (tick);
}

static void
fixture_setup (Fixture       *fixture,
               gconstpointer  data)
{
  /* Each test starts from an empty ring, default capacity. */
  sy_log_set_console (FALSE);
  sy_log_flush ();
  sy_log_model_set_capacity (sy_log_get_model (), SY_LOG_DEFAULT_CAPACITY);
  sy_log_model_clear (sy_log_get_model ());

  fixture->window = GTK_WINDOW (gtk_window_new ());
  gtk_window_set_default_size (fixture->window, 480, 600);
  fixture->panel = SY_LOG_PANEL (sy_log_panel_new (sy_log_get_model ()));
  g_object_add_weak_pointer (G_OBJECT (fixture->panel), (gpointer *) &fixture->panel);
  gtk_window_set_child (fixture->window, GTK_WIDGET (fixture->panel));
  gtk_window_present (fixture->window);

  fixture->list_view = child (fixture, "list_view");
  fixture->shown = G_LIST_MODEL (gtk_list_view_get_model (fixture->list_view));
  fixture->level_dropdown = child (fixture, "level_dropdown");
  fixture->search_entry = child (fixture, "search_entry");
  fixture->follow_button = child (fixture, "follow_button");
  fixture->waiting_button = child (fixture, "waiting_button");
  fixture->stack = child (fixture, "stack");
  fixture->scrolled_window = child (fixture, "scrolled_window");

  g_assert_true (sy_log_panel_get_model (fixture->panel) == sy_log_get_model ());
  g_assert_true (sy_log_panel_get_shown (fixture->panel) == fixture->shown);
  WAIT_UNTIL (gtk_widget_get_mapped (GTK_WIDGET (fixture->list_view)) ||
              gtk_widget_get_mapped (GTK_WIDGET (fixture->stack)), 5000);
}

static void
fixture_teardown (Fixture       *fixture,
                  gconstpointer  data)
{
  gtk_window_destroy (fixture->window);

  /* The panel lets go of everything (ring handlers, tick callbacks). */
  WAIT_UNTIL (fixture->panel == NULL, 5000);
  g_unsetenv ("G_MESSAGES_DEBUG");
  sy_log_set_console (TRUE);
}

/* Logs a line, a warning or a critical on purpose among them. */
static void
log_line_about (const char     *domain,
                GLogLevelFlags  level,
                const char     *connection,
                const char     *message)
{
  GLogLevelFlags fatal = g_log_set_always_fatal (G_LOG_FATAL_MASK);

  g_log_set_always_fatal (fatal);
  sy_log_set_fatal_mask (fatal & ~(G_LOG_LEVEL_WARNING | G_LOG_LEVEL_CRITICAL));
  if (connection != NULL)
    g_log_structured (domain, level, SY_LOG_FIELD_CONNECTION, connection, "MESSAGE", "%s", message);
  else
    g_log_structured (domain, level, "MESSAGE", "%s", message);
  sy_log_set_fatal_mask (fatal);
}

static void
log_line (const char     *domain,
          GLogLevelFlags  level,
          const char     *message)
{
  log_line_about (domain, level, NULL, message);
}

static char *
shown_message (Fixture *fixture,
               guint    position)
{
  g_autoptr(SyLogEntry) entry = g_list_model_get_item (fixture->shown, position);

  g_assert_nonnull (entry);

  return g_strdup (sy_log_entry_get_message (entry));
}

static guint
n_shown (Fixture *fixture)
{
  return g_list_model_get_n_items (fixture->shown);
}

static guint
n_ring (void)
{
  return g_list_model_get_n_items (ring ());
}

static GtkWidget *
find_label (GtkWidget  *widget,
            const char *text)
{
  if (GTK_IS_LABEL (widget) && gtk_widget_get_visible (widget) &&
      g_strcmp0 (gtk_label_get_label (GTK_LABEL (widget)), text) == 0)
    return widget;

  for (GtkWidget *child = gtk_widget_get_first_child (widget);
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = find_label (child, text);

      if (found != NULL)
        return found;
    }

  return NULL;
}

static void
test_entries_appear (Fixture       *fixture,
                     gconstpointer  data)
{
  g_autofree char *first = NULL;
  g_autofree char *last = NULL;

  g_assert_cmpuint (n_shown (fixture), ==, 0);
  g_assert_cmpstr (gtk_stack_get_visible_child_name (fixture->stack), ==, "empty");

  g_message ("first line");
  g_message ("second line");
  g_message ("third line");

  WAIT_UNTIL (n_shown (fixture) == 3, 5000);
  first = shown_message (fixture, 0);
  last = shown_message (fixture, 2);
  g_assert_cmpstr (first, ==, "first line");
  g_assert_cmpstr (last, ==, "third line");
  WAIT_UNTIL (g_strcmp0 (gtk_stack_get_visible_child_name (fixture->stack), "list") == 0, 5000);
}

static void
test_rows (Fixture       *fixture,
           gconstpointer  data)
{
  g_autoptr(GRegex) time_regex = NULL;
  g_autofree char *long_message = NULL;
  GtkWidget *id_label = NULL;
  GtkWidget *row;
  GtkWidget *label;
  gboolean saw_time = FALSE;
  gboolean saw_level = FALSE;
  gboolean saw_message = FALSE;

  time_regex = g_regex_new ("^[0-2][0-9]:[0-5][0-9]:[0-6][0-9]\\.[0-9]{3}$", 0, 0, NULL);
  long_message = g_strnfill (300, 'x');
  log_line_about (G_LOG_DOMAIN, G_LOG_LEVEL_WARNING, "7", long_message);
  g_message ("no connection here");

  /* The row about connection 7 says "#7"; the other one has no id shown. */
  WAIT_UNTIL ((id_label = find_label (GTK_WIDGET (fixture->list_view), "#7")) != NULL, 5000);
  g_assert_null (find_label (GTK_WIDGET (fixture->list_view), "#0"));

  row = gtk_widget_get_parent (id_label);
  for (label = gtk_widget_get_first_child (row);
       label != NULL;
       label = gtk_widget_get_next_sibling (label))
    {
      const char *text = gtk_label_get_label (GTK_LABEL (label));

      if (g_regex_match (time_regex, text, 0, NULL))
        {
          saw_time = TRUE;
          g_assert_true (gtk_widget_has_css_class (label, "numeric"));
        }
      else if (gtk_widget_has_css_class (label, "warning"))
        {
          saw_level = TRUE;
        }
      else if (g_strcmp0 (text, long_message) == 0)
        {
          saw_message = TRUE;
          /* One line, ellipsized. */
          g_assert_cmpint (gtk_label_get_ellipsize (GTK_LABEL (label)), ==, PANGO_ELLIPSIZE_END);
          g_assert_true (gtk_label_get_single_line_mode (GTK_LABEL (label)));
        }
    }
  g_assert_true (saw_time);
  g_assert_true (saw_level);
  g_assert_true (saw_message);

  /* The whole text is in the row's tooltip, computed when asked for. */
  g_assert_true (gtk_widget_get_has_tooltip (row));
  {
    g_autoptr(GtkTooltip) tooltip = g_object_new (GTK_TYPE_TOOLTIP, NULL);
    gboolean shown = FALSE;

    g_signal_emit_by_name (row, "query-tooltip", 0, 0, TRUE, tooltip, &shown);
    g_assert_true (shown);
  }
}

static void
test_level_filter (Fixture       *fixture,
                   gconstpointer  data)
{
  /* Debug lines reach the ring only when G_MESSAGES_DEBUG asks for them. */
  g_setenv ("G_MESSAGES_DEBUG", G_LOG_DOMAIN, TRUE);

  g_debug ("debug one");
  g_info ("info one");
  g_message ("message one");
  log_line (G_LOG_DOMAIN, G_LOG_LEVEL_WARNING, "warning one");
  log_line (G_LOG_DOMAIN, G_LOG_LEVEL_CRITICAL, "critical one");
  g_debug ("debug two");
  WAIT_UNTIL (n_ring () == 6, 5000);

  /* The default hides debug only. */
  g_assert_cmpuint (sy_log_panel_get_min_level (fixture->panel), ==, G_LOG_LEVEL_INFO);
  WAIT_UNTIL (n_shown (fixture) == 4, 5000);
  for (guint i = 0; i < n_shown (fixture); i++)
    {
      g_autoptr(SyLogEntry) entry = g_list_model_get_item (fixture->shown, i);

      g_assert_cmpint (sy_log_entry_get_level (entry), !=, G_LOG_LEVEL_DEBUG);
    }

  /* Lowered to debug, through the drop-down as a person would. */
  gtk_drop_down_set_selected (fixture->level_dropdown, 0);
  g_assert_cmpuint (sy_log_panel_get_min_level (fixture->panel), ==, G_LOG_LEVEL_DEBUG);
  WAIT_UNTIL (n_shown (fixture) == 6, 5000);

  gtk_drop_down_set_selected (fixture->level_dropdown, 3);
  WAIT_UNTIL (n_shown (fixture) == 2, 5000);

  gtk_drop_down_set_selected (fixture->level_dropdown, 4);
  WAIT_UNTIL (n_shown (fixture) == 1, 5000);
  {
    g_autofree char *message = shown_message (fixture, 0);

    g_assert_cmpstr (message, ==, "critical one");
  }

  /* New entries go through the same filter. */
  g_message ("message two");
  log_line (G_LOG_DOMAIN, G_LOG_LEVEL_CRITICAL, "critical two");
  WAIT_UNTIL (n_ring () == 8, 5000);
  WAIT_UNTIL (n_shown (fixture) == 2, 5000);

  sy_log_panel_set_min_level (fixture->panel, G_LOG_LEVEL_MESSAGE);
  g_assert_cmpuint (gtk_drop_down_get_selected (fixture->level_dropdown), ==, 2);
  WAIT_UNTIL (n_shown (fixture) == 5, 5000);
}

static void
test_search (Fixture       *fixture,
             gconstpointer  data)
{
  g_message ("alpha one");
  g_message ("beta two");
  g_message ("ALPHA three");
  log_line ("other-domain", G_LOG_LEVEL_MESSAGE, "gamma");
  log_line (G_LOG_DOMAIN, G_LOG_LEVEL_WARNING, "alpha warning");
  WAIT_UNTIL (n_shown (fixture) == 5, 5000);

  /* Case-insensitive, on the message. */
  gtk_editable_set_text (fixture->search_entry, "alpha");
  WAIT_UNTIL (n_shown (fixture) == 3, 5000);
  for (guint i = 0; i < n_shown (fixture); i++)
    {
      g_autofree char *message = shown_message (fixture, i);
      g_autofree char *lower = g_ascii_strdown (message, -1);

      g_assert_nonnull (strstr (lower, "alpha"));
    }

  /* Narrower still, then on the domain. */
  gtk_editable_set_text (fixture->search_entry, "alpha t");
  WAIT_UNTIL (n_shown (fixture) == 1, 5000);
  gtk_editable_set_text (fixture->search_entry, "OTHER-dom");
  WAIT_UNTIL (n_shown (fixture) == 1, 5000);
  {
    g_autofree char *message = shown_message (fixture, 0);

    g_assert_cmpstr (message, ==, "gamma");
  }

  /* Combined with the level filter. */
  gtk_editable_set_text (fixture->search_entry, "alpha");
  WAIT_UNTIL (n_shown (fixture) == 3, 5000);
  sy_log_panel_set_min_level (fixture->panel, G_LOG_LEVEL_WARNING);
  WAIT_UNTIL (n_shown (fixture) == 1, 5000);

  /* Nothing matches: the empty state says so. */
  gtk_editable_set_text (fixture->search_entry, "no such line");
  WAIT_UNTIL (n_shown (fixture) == 0, 5000);
  WAIT_UNTIL (g_strcmp0 (gtk_stack_get_visible_child_name (fixture->stack), "empty") == 0, 5000);

  gtk_editable_set_text (fixture->search_entry, "");
  sy_log_panel_set_min_level (fixture->panel, G_LOG_LEVEL_INFO);
  WAIT_UNTIL (n_shown (fixture) == 5, 5000);
}

static gboolean
ring_last_is (const char *message)
{
  g_autoptr(SyLogEntry) last = NULL;

  if (n_ring () == 0)
    return FALSE;

  last = g_list_model_get_item (ring (), n_ring () - 1);

  return g_strcmp0 (sy_log_entry_get_message (last), message) == 0;
}

static void
test_pause (Fixture       *fixture,
            gconstpointer  data)
{
  guint held;

  for (guint i = 0; i < 10; i++)
    g_message ("before %u", i);
  WAIT_UNTIL (n_shown (fixture) == 10, 5000);
  g_assert_true (sy_log_panel_get_following (fixture->panel));
  g_assert_true (gtk_toggle_button_get_active (fixture->follow_button));

  /* Pause with the toggle: what is shown holds while the ring moves on. */
  gtk_toggle_button_set_active (fixture->follow_button, FALSE);
  g_assert_false (sy_log_panel_get_following (fixture->panel));
  held = n_shown (fixture);

  for (guint i = 0; i < 20; i++)
    g_message ("while paused %u", i);
  WAIT_UNTIL (n_ring () == 30, 5000);
  spin (100);
  g_assert_cmpuint (n_shown (fixture), ==, held);
  g_assert_cmpuint (sy_log_panel_get_n_waiting (fixture->panel), ==, 20);
  WAIT_UNTIL (gtk_widget_get_visible (GTK_WIDGET (fixture->waiting_button)), 5000);
  g_assert_nonnull (strstr (gtk_button_get_label (fixture->waiting_button), "20"));

  /* Resuming (the "20 new lines" button) catches up at once. */
  g_signal_emit_by_name (fixture->waiting_button, "clicked");
  g_assert_true (sy_log_panel_get_following (fixture->panel));
  g_assert_true (gtk_toggle_button_get_active (fixture->follow_button));
  g_assert_cmpuint (n_shown (fixture), ==, 30);
  g_assert_cmpuint (sy_log_panel_get_n_waiting (fixture->panel), ==, 0);
  WAIT_UNTIL (!gtk_widget_get_visible (GTK_WIDGET (fixture->waiting_button)), 5000);

  /* Paused while the ring drops its oldest entries: the paused view keeps
   * them, and resuming shows exactly the ring. */
  sy_log_panel_set_following (fixture->panel, FALSE);
  sy_log_model_set_capacity (sy_log_get_model (), 25);
  for (guint i = 0; i < 40; i++)
    g_message ("overflow %u", i);
  WAIT_UNTIL (n_ring () == 25 && ring_last_is ("overflow 39"), 5000);
  spin (50);
  g_assert_cmpuint (n_shown (fixture), ==, 30);
  {
    g_autofree char *message = shown_message (fixture, 0);

    g_assert_cmpstr (message, ==, "before 0");
  }
  g_assert_cmpuint (sy_log_panel_get_n_waiting (fixture->panel), <=, 25);
  g_assert_cmpuint (sy_log_panel_get_n_waiting (fixture->panel), >, 0);

  sy_log_panel_set_following (fixture->panel, TRUE);
  g_assert_cmpuint (n_shown (fixture), ==, 25);
  for (guint i = 0; i < 25; i++)
    {
      g_autoptr(SyLogEntry) shown = g_list_model_get_item (fixture->shown, i);
      g_autoptr(SyLogEntry) kept = g_list_model_get_item (ring (), i);
      g_autofree char *expected = g_strdup_printf ("overflow %u", 15 + i);

      g_assert_true (shown == kept);
      g_assert_cmpstr (sy_log_entry_get_message (shown), ==, expected);
    }
}

static gboolean
at_bottom (GtkScrolledWindow *scrolled_window)
{
  GtkAdjustment *adjustment = gtk_scrolled_window_get_vadjustment (scrolled_window);

  return gtk_adjustment_get_upper (adjustment) > gtk_adjustment_get_page_size (adjustment) &&
         gtk_adjustment_get_value (adjustment) >=
           gtk_adjustment_get_upper (adjustment) - gtk_adjustment_get_page_size (adjustment) - 1;
}

static void
test_follow_and_scroll_pauses (Fixture       *fixture,
                               gconstpointer  data)
{
  GtkEventController *scroll = child (fixture, "scroll_controller");
  GtkAdjustment *adjustment = gtk_scrolled_window_get_vadjustment (fixture->scrolled_window);
  gboolean handled = FALSE;
  double value;

  for (guint i = 0; i < 300; i++)
    g_message ("scroll line %u", i);
  WAIT_UNTIL (n_shown (fixture) == 300, 5000);

  /* Following keeps the newest line in view. */
  WAIT_UNTIL (at_bottom (fixture->scrolled_window), 5000);

  /* A wheel turn upwards pauses following... */
  g_signal_emit_by_name (scroll, "scroll", 0.0, -3.0, &handled);
  g_assert_false (sy_log_panel_get_following (fixture->panel));
  gtk_adjustment_set_value (adjustment, 0);
  value = gtk_adjustment_get_value (adjustment);

  /* ... and the view stays where it was while lines arrive. */
  for (guint i = 0; i < 50; i++)
    g_message ("more %u", i);
  WAIT_UNTIL (n_ring () == 350, 5000);
  spin (100);
  g_assert_cmpfloat (gtk_adjustment_get_value (adjustment), ==, value);
  g_assert_cmpuint (n_shown (fixture), ==, 300);

  /* Following again jumps to the newest. */
  gtk_toggle_button_set_active (fixture->follow_button, TRUE);
  g_assert_cmpuint (n_shown (fixture), ==, 350);
  WAIT_UNTIL (at_bottom (fixture->scrolled_window), 5000);
}

static void
clipboard_cb (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  char **text = user_data;
  g_autoptr(GError) error = NULL;

  *text = gdk_clipboard_read_text_finish (GDK_CLIPBOARD (object), result, &error);
  g_assert_no_error (error);
  g_assert_nonnull (*text);
}

static void
test_copy (Fixture       *fixture,
           gconstpointer  data)
{
  GtkSelectionModel *selection = gtk_list_view_get_model (fixture->list_view);
  GdkClipboard *clipboard = gtk_widget_get_clipboard (GTK_WIDGET (fixture->panel));
  g_autoptr(SyLogEntry) first = NULL;
  g_autoptr(SyLogEntry) third = NULL;
  g_autofree char *expected = NULL;
  g_autofree char *line_first = NULL;
  g_autofree char *line_third = NULL;
  char *text = NULL;

  g_message ("copy one");
  g_message ("copy two");
  g_message ("copy three");
  WAIT_UNTIL (n_shown (fixture) == 3, 5000);

  /* Nothing selected: the clipboard keeps what it had. */
  gdk_clipboard_set_text (clipboard, "sentinel");
  gtk_widget_activate_action (GTK_WIDGET (fixture->panel), "log.copy", NULL);
  gdk_clipboard_read_text_async (clipboard, NULL, clipboard_cb, &text);
  WAIT_UNTIL (text != NULL, 5000);
  g_assert_cmpstr (text, ==, "sentinel");
  g_clear_pointer (&text, g_free);

  gtk_selection_model_select_item (selection, 0, TRUE);
  gtk_selection_model_select_item (selection, 2, FALSE);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (fixture->panel), "log.copy", NULL));

  first = g_list_model_get_item (fixture->shown, 0);
  third = g_list_model_get_item (fixture->shown, 2);
  line_first = sy_log_entry_format (first);
  line_third = sy_log_entry_format (third);
  expected = g_strdup_printf ("%s\n%s", line_first, line_third);

  gdk_clipboard_read_text_async (clipboard, NULL, clipboard_cb, &text);
  WAIT_UNTIL (text != NULL, 5000);
  g_assert_cmpstr (text, ==, expected);
  g_free (text);
}

typedef struct
{
  gboolean  done;
  gboolean  ok;
  GError   *error;
} SaveData;

static void
save_cb (GObject      *object,
         GAsyncResult *result,
         gpointer      user_data)
{
  SaveData *save = user_data;

  save->ok = sy_log_panel_save_to_file_finish (SY_LOG_PANEL (object), result, &save->error);
  save->done = TRUE;
}

static void
test_save (Fixture       *fixture,
           gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("test-log-panel-XXXXXX", &error);
  g_autofree char *path = NULL;
  g_autofree char *contents = NULL;
  g_autoptr(GFile) file = NULL;
  g_autoptr(GFile) missing = NULL;
  g_autoptr(GString) expected = g_string_new (NULL);
  SaveData save = { 0 };
  SaveData failed = { 0 };

  g_assert_no_error (error);
  g_setenv ("G_MESSAGES_DEBUG", G_LOG_DOMAIN, TRUE);
  for (guint i = 0; i < 100; i++)
    {
      if (i % 10 == 0)
        g_debug ("hidden debug %u", i);
      else
        g_message ("saved %u with ünïcödé", i);
    }
  WAIT_UNTIL (n_ring () == 100, 5000);
  WAIT_UNTIL (n_shown (fixture) == 90, 5000);

  for (guint i = 0; i < n_shown (fixture); i++)
    {
      g_autoptr(SyLogEntry) entry = g_list_model_get_item (fixture->shown, i);
      g_autofree char *line = sy_log_entry_format (entry);

      g_string_append_printf (expected, "%s\n", line);
    }

  path = g_build_filename (dir, "saved.log", NULL);
  file = g_file_new_for_path (path);
  sy_log_panel_save_to_file_async (fixture->panel, file, NULL, save_cb, &save);
  /* What is saved is what was shown when asked, not what comes after. */
  g_message ("after the save began");
  WAIT_UNTIL (save.done, 10000);
  g_assert_no_error (save.error);
  g_assert_true (save.ok);

  g_file_get_contents (path, &contents, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (contents, ==, expected->str);
  g_assert_null (strstr (contents, "hidden debug"));
  g_assert_null (strstr (contents, "after the save began"));

  /* An error comes back as a GError, nothing is written. */
  missing = g_file_new_build_filename (dir, "no-such-dir", "saved.log", NULL);
  sy_log_panel_save_to_file_async (fixture->panel, missing, NULL, save_cb, &failed);
  WAIT_UNTIL (failed.done, 10000);
  g_assert_false (failed.ok);
  g_assert_error (failed.error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  g_clear_error (&failed.error);

  g_unlink (path);
  g_rmdir (dir);
}

static void
test_clear (Fixture       *fixture,
            gconstpointer  data)
{
  for (guint i = 0; i < 10; i++)
    g_message ("to be cleared %u", i);
  WAIT_UNTIL (n_shown (fixture) == 10, 5000);
  WAIT_UNTIL (g_strcmp0 (gtk_stack_get_visible_child_name (fixture->stack), "list") == 0, 5000);

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (fixture->panel), "log.clear", NULL));
  g_assert_cmpuint (n_ring (), ==, 0);
  g_assert_cmpuint (n_shown (fixture), ==, 0);
  WAIT_UNTIL (g_strcmp0 (gtk_stack_get_visible_child_name (fixture->stack), "empty") == 0, 5000);

  /* Clearing while paused empties the paused view too. */
  g_message ("kept");
  WAIT_UNTIL (n_shown (fixture) == 1, 5000);
  sy_log_panel_set_following (fixture->panel, FALSE);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (fixture->panel), "log.clear", NULL));
  g_assert_cmpuint (n_shown (fixture), ==, 0);
  g_message ("after clear");
  WAIT_UNTIL (sy_log_panel_get_n_waiting (fixture->panel) == 1, 5000);
  g_assert_cmpuint (n_shown (fixture), ==, 0);
  sy_log_panel_set_following (fixture->panel, TRUE);
  g_assert_cmpuint (n_shown (fixture), ==, 1);
}

#define BURST 5000

static gpointer
burst_thread (gpointer data)
{
  /* Structured, as the core logs, and so that g_test does not echo five
   * thousand lines into the TAP output. */
  for (guint i = 0; i < BURST; i++)
    g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, "MESSAGE", "burst line %u", i);

  return NULL;
}

typedef struct
{
  gint64 last;
  gint64 max_gap;
} Stall;

static gboolean
stall_cb (gpointer data)
{
  Stall *stall = data;
  gint64 now = g_get_monotonic_time ();

  if (stall->last != 0)
    stall->max_gap = MAX (stall->max_gap, now - stall->last);
  stall->last = now;

  return G_SOURCE_CONTINUE;
}

static void
test_burst (Fixture       *fixture,
            gconstpointer  data)
{
  g_autoptr(SyLogEntry) last = NULL;
  Stall stall = { 0 };
  GThread *thread;
  gint64 start;
  gint64 caught_up;
  gint64 scrolled;
  guint stall_id;

  /* A first screenful, so that the view has somewhere to scroll. */
  for (guint i = 0; i < 100; i++)
    g_message ("warm-up %u", i);
  WAIT_UNTIL (n_shown (fixture) == 100, 5000);
  sy_log_model_clear (sy_log_get_model ());

  stall_id = g_timeout_add (1, stall_cb, &stall);
  start = g_get_monotonic_time ();
  thread = g_thread_new ("burst", burst_thread, NULL);

  /* A deadline generous enough for a sanitized build: this checks that the
   * panel catches up, the time is printed for people to compare. */
  WAIT_UNTIL (n_ring () == BURST && n_shown (fixture) == n_ring (), 30000);
  caught_up = g_get_monotonic_time ();
  WAIT_UNTIL (at_bottom (fixture->scrolled_window), 30000);
  scrolled = g_get_monotonic_time ();
  g_thread_join (thread);
  g_source_remove (stall_id);

  last = g_list_model_get_item (fixture->shown, n_shown (fixture) - 1);
  g_assert_cmpstr (sy_log_entry_get_message (last), ==, "burst line 4999");
  g_assert_true (sy_log_panel_get_following (fixture->panel));

  g_test_message ("burst of %u lines: shown after %.1f ms, newest in view after %.1f ms, "
                  "longest main-loop stall %.1f ms",
                  BURST, (caught_up - start) / 1000.0, (scrolled - start) / 1000.0,
                  stall.max_gap / 1000.0);
}

/* Steady traffic through a full ring: about 5000 lines a second for two
 * seconds, in small batches the way a busy server logs. */
#define SUSTAINED_CAPACITY 2000
#define SUSTAINED_MS       2000
#define SUSTAINED_PER_MS   5

static gpointer
sustained_thread (gpointer data)
{
  gint64 start = g_get_monotonic_time ();
  guint *written = data;
  guint n = 0;

  while (g_get_monotonic_time () - start < SUSTAINED_MS * 1000)
    {
      for (guint i = 0; i < SUSTAINED_PER_MS; i++)
        g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, "MESSAGE", "steady line %u", n++);
      g_usleep (1000);
    }
  g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, "MESSAGE", "steady end");
  g_atomic_int_set (written, n + 1);

  return NULL;
}

static void
count_frame (GdkFrameClock *clock,
             guint         *frames)
{
  (*frames)++;
}

static gboolean
shown_last_is (Fixture    *fixture,
               const char *message)
{
  g_autoptr(SyLogEntry) last = NULL;

  if (n_shown (fixture) == 0)
    return FALSE;

  last = g_list_model_get_item (fixture->shown, n_shown (fixture) - 1);

  return g_strcmp0 (sy_log_entry_get_message (last), message) == 0;
}

static void
test_sustained (Fixture       *fixture,
                gconstpointer  data)
{
  GdkFrameClock *clock = gtk_widget_get_frame_clock (GTK_WIDGET (fixture->panel));
  guint64 dropped_before;
  Stall stall = { 0 };
  guint written = 0;
  guint frames = 0;
  GThread *thread;
  gint64 start;
  gint64 end;
  gint64 caught_up;
  guint stall_id;

  g_assert_nonnull (clock);
  sy_log_model_set_capacity (sy_log_get_model (), SUSTAINED_CAPACITY);
  for (guint i = 0; i < SUSTAINED_CAPACITY; i++)
    log_line (G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, "filler");
  WAIT_UNTIL (n_shown (fixture) == SUSTAINED_CAPACITY, 10000);
  WAIT_UNTIL (at_bottom (fixture->scrolled_window), 10000);
  dropped_before = sy_log_model_get_dropped (sy_log_get_model ());

  g_signal_connect (clock, "after-paint", G_CALLBACK (count_frame), &frames);
  stall_id = g_timeout_add (1, stall_cb, &stall);
  start = g_get_monotonic_time ();
  thread = g_thread_new ("steady", sustained_thread, &written);

  WAIT_UNTIL (g_atomic_int_get (&written) > 0, 30000);
  end = g_get_monotonic_time ();
  WAIT_UNTIL (shown_last_is (fixture, "steady end") && at_bottom (fixture->scrolled_window), 30000);
  caught_up = g_get_monotonic_time ();
  g_thread_join (thread);
  g_source_remove (stall_id);
  g_signal_handlers_disconnect_by_func (clock, count_frame, &frames);

  /* The ring stayed full, the view shows all of it and follows. */
  g_assert_cmpuint (n_ring (), ==, SUSTAINED_CAPACITY);
  g_assert_cmpuint (n_shown (fixture), ==, SUSTAINED_CAPACITY);
  g_assert_cmpuint (sy_log_model_get_dropped (sy_log_get_model ()) - dropped_before, ==, written);
  g_assert_true (sy_log_panel_get_following (fixture->panel));
  /* Frames kept coming while the lines did (a frame a second would mean
   * the panel starved the main loop). */
  g_assert_cmpuint (frames, >, 5);

  g_test_message ("steady %u lines in %.0f ms (%.0f lines/s) through a ring of %u: "
                  "%u frames drawn, longest main-loop stall %.1f ms, "
                  "caught up %.1f ms after the last line",
                  written, (end - start) / 1000.0, written * 1e6 / (end - start),
                  SUSTAINED_CAPACITY, frames, stall.max_gap / 1000.0, (caught_up - end) / 1000.0);
}

static void
add_test (const char *path,
          void      (*func) (Fixture *, gconstpointer))
{
  g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown);
}

int
main (int   argc,
      char *argv[])
{
  /* Display tests keep the system's MIME database (sy_test_init): symbolic
   * icons are SVG, which gdk-pixbuf recognises through it. */
  sy_test_init (&argc, &argv);
  g_set_prgname ("test-log-panel");

  if (!gtk_init_check ())
    {
      g_test_skip ("no display");
      return 77;
    }
  adw_init ();

  add_test ("/gui/log-panel/entries-appear", test_entries_appear);
  add_test ("/gui/log-panel/rows", test_rows);
  add_test ("/gui/log-panel/level-filter", test_level_filter);
  add_test ("/gui/log-panel/search", test_search);
  add_test ("/gui/log-panel/pause", test_pause);
  add_test ("/gui/log-panel/follow-and-scroll-pauses", test_follow_and_scroll_pauses);
  add_test ("/gui/log-panel/copy", test_copy);
  add_test ("/gui/log-panel/save", test_save);
  add_test ("/gui/log-panel/clear", test_clear);
  add_test ("/gui/log-panel/burst", test_burst);
  add_test ("/gui/log-panel/sustained", test_sustained);

  return g_test_run ();
}
