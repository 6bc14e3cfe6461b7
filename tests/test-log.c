/* test-log.c
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "test-log"

#include "config.h"

#include <string.h>

#include "sy-log.h"
#include "sy-test-utils.h"

static GThread *main_thread;

static SyLogEntry *
last_entry (void)
{
  GListModel *model = G_LIST_MODEL (sy_log_get_model ());
  guint n = g_list_model_get_n_items (model);

  g_assert_cmpuint (n, >, 0);

  return g_list_model_get_item (model, n - 1);
}

static void
test_entry_fields (void)
{
  g_autoptr(SyLogEntry) entry = NULL;
  g_autofree char *line = NULL;
  g_autoptr(GRegex) regex = NULL;
  gint64 before = g_get_real_time ();

  g_message ("hello %d", 42);
  sy_log_flush ();

  entry = last_entry ();
  g_assert_cmpstr (sy_log_entry_get_message (entry), ==, "hello 42");
  g_assert_cmpstr (sy_log_entry_get_domain (entry), ==, "test-log");
  g_assert_cmpint (sy_log_entry_get_level (entry), ==, G_LOG_LEVEL_MESSAGE);
  g_assert_cmpstr (sy_log_entry_get_level_name (entry), ==, "message");
  g_assert_cmpint (sy_log_entry_get_time (entry), >=, before);
  g_assert_cmpint (sy_log_entry_get_time (entry), <=, g_get_real_time ());
  g_assert_cmpuint (sy_log_entry_get_connection (entry), ==, 0);

  /* Microsecond precision in the readable format. */
  line = sy_log_entry_format (entry);
  regex = g_regex_new ("^[0-2][0-9]:[0-5][0-9]:[0-6][0-9]\\.[0-9]{6} message +test-log: hello 42$", 0, 0, NULL);
  g_assert_true (g_regex_match (regex, line, 0, NULL));
}

static void
test_connection_field (void)
{
  g_autoptr(SyLogEntry) entry = NULL;

  g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE,
                    SY_LOG_FIELD_CONNECTION, "4242",
                    "MESSAGE", "about connection %s", "4242");
  sy_log_flush ();

  entry = last_entry ();
  g_assert_cmpuint (sy_log_entry_get_connection (entry), ==, 4242);
  g_assert_cmpstr (sy_log_entry_get_message (entry), ==, "about connection 4242");
}

static void
test_sequence_and_batching (void)
{
  SyLogModel *model = sy_log_get_model ();
  guint n_before;
  guint64 last_sequence = 0;

  sy_log_flush ();
  n_before = g_list_model_get_n_items (G_LIST_MODEL (model));

  for (guint i = 0; i < 50; i++)
    g_message ("batch %u", i);

  /* Nothing reaches the model until the owner's context runs. */
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (model)), ==, n_before);
  WAIT_UNTIL (g_list_model_get_n_items (G_LIST_MODEL (model)) == n_before + 50, 5000);

  for (guint i = 0; i < 50; i++)
    {
      g_autoptr(SyLogEntry) entry = g_list_model_get_item (G_LIST_MODEL (model), n_before + i);
      g_autofree char *expected = g_strdup_printf ("batch %u", i);

      g_assert_cmpstr (sy_log_entry_get_message (entry), ==, expected);
      g_assert_cmpuint (sy_log_entry_get_sequence (entry), >, last_sequence);
      last_sequence = sy_log_entry_get_sequence (entry);
    }
}

typedef struct
{
  guint n_items;
} Mirror;

static void
on_items_changed (GListModel *model,
                  guint       position,
                  guint       removed,
                  guint       added,
                  Mirror     *mirror)
{
  g_assert_true (g_thread_self () == main_thread);
  g_assert_cmpuint (position + removed, <=, mirror->n_items);
  mirror->n_items = mirror->n_items - removed + added;
  g_assert_cmpuint (mirror->n_items, ==, g_list_model_get_n_items (model));
}

static void
test_ring_bounded (void)
{
  SyLogModel *model = sy_log_get_model ();
  g_autoptr(SyLogEntry) first = NULL;
  g_autoptr(SyLogEntry) last = NULL;
  Mirror mirror = { 0 };
  guint64 dropped_before;

  sy_log_flush ();
  sy_log_model_clear (model);
  sy_log_model_set_capacity (model, 100);
  dropped_before = sy_log_model_get_dropped (model);
  g_signal_connect (model, "items-changed", G_CALLBACK (on_items_changed), &mirror);

  for (guint i = 0; i < 250; i++)
    {
      g_message ("ring %u", i);
      /* Flush in uneven batches so removals and additions interleave. */
      if (i % 37 == 0)
        sy_log_flush ();
    }
  sy_log_flush ();

  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (model)), ==, 100);
  g_assert_cmpuint (mirror.n_items, ==, 100);
  g_assert_cmpuint (sy_log_model_get_dropped (model) - dropped_before, ==, 150);

  first = g_list_model_get_item (G_LIST_MODEL (model), 0);
  last = g_list_model_get_item (G_LIST_MODEL (model), 99);
  g_assert_cmpstr (sy_log_entry_get_message (first), ==, "ring 150");
  g_assert_cmpstr (sy_log_entry_get_message (last), ==, "ring 249");
  g_assert_null (g_list_model_get_item (G_LIST_MODEL (model), 100));

  /* Shrinking keeps the newest. */
  sy_log_model_set_capacity (model, 10);
  g_assert_cmpuint (mirror.n_items, ==, 10);
  g_clear_object (&first);
  first = g_list_model_get_item (G_LIST_MODEL (model), 0);
  g_assert_cmpstr (sy_log_entry_get_message (first), ==, "ring 240");

  g_signal_handlers_disconnect_by_data (model, &mirror);
  sy_log_model_set_capacity (model, SY_LOG_DEFAULT_CAPACITY);
}

static gpointer
log_from_thread (gpointer data)
{
  guint index = GPOINTER_TO_UINT (data);

  for (guint i = 0; i < 1000; i++)
    g_info ("thread %u line %u", index, i);

  return NULL;
}

static void
test_threads (void)
{
  SyLogModel *model = sy_log_get_model ();
  GThread *threads[4];
  Mirror mirror = { 0 };

  g_setenv ("G_MESSAGES_DEBUG", "test-log", TRUE);
  sy_log_set_console (FALSE);
  sy_log_flush ();
  sy_log_model_clear (model);
  g_signal_connect (model, "items-changed", G_CALLBACK (on_items_changed), &mirror);

  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    threads[i] = g_thread_new ("logger", log_from_thread, GUINT_TO_POINTER (i));
  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    g_thread_join (threads[i]);

  /* The model hears about them on the main thread only. */
  WAIT_UNTIL (g_list_model_get_n_items (G_LIST_MODEL (model)) == 4000, 10000);
  g_assert_cmpuint (mirror.n_items, ==, 4000);

  g_signal_handlers_disconnect_by_data (model, &mirror);
  sy_log_set_console (TRUE);
  g_unsetenv ("G_MESSAGES_DEBUG");
}

static void
test_debug_filter (void)
{
  SyLogModel *model = sy_log_get_model ();
  guint n;

  g_unsetenv ("G_MESSAGES_DEBUG");
  sy_log_flush ();
  n = g_list_model_get_n_items (G_LIST_MODEL (model));
  g_debug ("hidden debug line");
  g_info ("hidden info line");
  sy_log_flush ();
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (model)), ==, n);

  g_setenv ("G_MESSAGES_DEBUG", "test-log", TRUE);
  g_debug ("shown debug line");
  sy_log_flush ();
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (model)), ==, n + 1);
  g_unsetenv ("G_MESSAGES_DEBUG");
}

/* A structured critical (GTK and libsoup log that way) aborts a test run as
 * GLib's own writer would make it, and a lowered mask lets one through. */
static void
test_structured_fatal (void)
{
  if (g_test_subprocess ())
    {
      sy_log_set_fatal_mask (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL);
      g_log_structured ("sy-test", G_LOG_LEVEL_WARNING, "MESSAGE", "a warning on purpose");
      g_log_structured ("sy-test", G_LOG_LEVEL_CRITICAL, "MESSAGE", "a critical on purpose");
      g_printerr ("not reached\n");
      return;
    }

  g_test_trap_subprocess (NULL, 10 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*a warning on purpose*a critical on purpose*");
  g_test_trap_assert_stderr_unmatched ("*not reached*");
}

int
main (int   argc,
      char *argv[])
{
  sy_test_init (&argc, &argv);
  main_thread = g_thread_self ();

  g_test_add_func ("/core/log/entry-fields", test_entry_fields);
  g_test_add_func ("/core/log/connection-field", test_connection_field);
  g_test_add_func ("/core/log/sequence-and-batching", test_sequence_and_batching);
  g_test_add_func ("/core/log/ring-bounded", test_ring_bounded);
  g_test_add_func ("/core/log/threads", test_threads);
  g_test_add_func ("/core/log/debug-filter", test_debug_filter);
  g_test_add_func ("/core/log/structured-fatal", test_structured_fatal);

  return g_test_run ();
}
