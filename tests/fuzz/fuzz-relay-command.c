/* fuzz-relay-command.c
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "fuzz-relay-command"

#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sy-bench.h"
#include "sy-json-protocol.h"
#include "sy-relay-protocol.h"

/*
 * libFuzzer target for what a switchyard.relay.v1 command does after
 * sy_json_command_parse(), without a connection.
 *
 * Each line of the input is one message, so one input is a conversation
 * with a fresh bench: commands can meet the interlock and retarget a relay
 * that is still pending. The relay protocol's field checks ("relay" a
 * string, "on" a boolean, "ms" an integer from SY_BENCH_PULSE_MIN_MS to
 * SY_BENCH_PULSE_MAX_MS, "name" a string) live in its command handler,
 * which needs a connection; they are restated here in a few lines, and
 * everything past them is the project's own code: sy_bench_find_relay(),
 * sy_bench_relay_set/toggle/pulse/rename() and sy_relay_state_to_json(),
 * also on every SyBench::relay-changed as the broadcast does.
 *
 * It checks that a refusal is an interlock or an invalid value, that an
 * accepted command leaves the relay pending towards the commanded state,
 * that a rename leaves a clean name, and that every accepted command is
 * answered exactly once, never from inside the call, at the latest when the
 * bench goes away. Build and run it with build-aux/fuzz.sh.
 */

int LLVMFuzzerInitialize (int    *argc,
                          char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data,
                            size_t         size);

typedef struct
{
  guint    accepted;
  guint    answered;
  gboolean inside;
} Answers;

/* A warning or a critical for some input is a bug, and so is a failed check
 * here (g_error). GLib stops on those with SIGTRAP, which libFuzzer does not
 * catch; abort() instead, so it reports the crash and keeps the input. */
static GLogWriterOutput
abort_on_warnings (GLogLevelFlags   log_level,
                   const GLogField *fields,
                   gsize            n_fields,
                   gpointer         user_data)
{
  if (log_level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING))
    {
      g_log_writer_standard_streams (log_level, fields, n_fields, user_data);
      abort ();
    }

  return g_log_writer_default (log_level, fields, n_fields, user_data);
}

int
LLVMFuzzerInitialize (int    *argc,
                      char ***argv)
{
  g_log_set_writer_func (abort_on_warnings, NULL, NULL);

  return 0;
}

/* As the relay protocol checks a member. */
static gboolean
member_is (JsonObject *object,
           const char *member,
           GType       type)
{
  JsonNode *node = json_object_get_member (object, member);

  return node != NULL && JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == type;
}

static void
on_done (SyBench      *bench,
         guint         relay,
         const GError *error,
         gpointer      user_data)
{
  Answers *answers = user_data;

  if (answers->inside)
    g_error ("A command was answered from inside the call that accepted it");

  answers->answered++;
}

/* The broadcast serialises the relay on every change; so does this. */
static void
on_relay_changed (SyBench    *bench,
                  guint       index,
                  const char *reason,
                  gpointer    user_data)
{
  g_autoptr(JsonNode) node = sy_relay_state_to_json (sy_bench_get_relay (bench, index));
  g_autofree char *text = json_to_string (node, FALSE);
  g_autoptr(JsonNode) again = json_from_string (text, NULL);

  if (again == NULL || !json_node_equal (node, again))
    g_error ("Relay %u does not survive the broadcast: %s", index, text);
}

static void
check_name (const SyRelayState *state)
{
  const char *name = state->name;
  glong chars;

  if (name == NULL || !g_utf8_validate (name, -1, NULL))
    g_error ("A renamed relay's name is not UTF-8");

  chars = g_utf8_strlen (name, -1);
  if (chars < 1 || chars > SY_BENCH_NAME_MAX_CHARS)
    g_error ("A renamed relay's name has %ld characters", chars);

  if (g_unichar_isspace (g_utf8_get_char (name)) ||
      g_unichar_isspace (g_utf8_get_char (g_utf8_prev_char (name + strlen (name)))))
    g_error ("A renamed relay's name is not stripped: \"%s\"", name);

  for (const char *p = name; *p != '\0'; p = g_utf8_next_char (p))
    if (g_unichar_iscntrl (g_utf8_get_char (p)))
      g_error ("A renamed relay's name has a control character");
}

static void
check_refusal (const GError *error,
               const char   *type)
{
  if (error == NULL)
    g_error ("A refused %s has no error", type);

  if (g_error_matches (error, SY_BENCH_ERROR, SY_BENCH_ERROR_INTERLOCK) &&
      g_strcmp0 (type, "rename") != 0)
    return;

  if (g_error_matches (error, SY_BENCH_ERROR, SY_BENCH_ERROR_INVALID) &&
      (g_strcmp0 (type, "rename") == 0 || g_strcmp0 (type, "pulse") == 0))
    return;

  g_error ("A %s was refused with %s %d: %s", type,
           g_quark_to_string (error->domain), error->code, error->message);
}

/* One message, as sy_relay_protocol_command() handles it after the role
 * check. */
static void
relay_command (SyBench    *bench,
               JsonObject *command,
               Answers    *answers)
{
  const char *type = json_object_get_string_member (command, "type");
  g_autoptr(GError) error = NULL;
  const SyRelayState *state;
  gboolean accepted;
  gboolean heading;
  int relay;

  if (g_strcmp0 (type, "set") != 0 && g_strcmp0 (type, "toggle") != 0 &&
      g_strcmp0 (type, "pulse") != 0 && g_strcmp0 (type, "rename") != 0)
    return;

  if (!member_is (command, "relay", G_TYPE_STRING))
    return;

  relay = sy_bench_find_relay (bench, json_object_get_string_member (command, "relay"));
  if (relay < 0)
    return;

  state = sy_bench_get_relay (bench, relay);
  heading = state->pending ? state->target : state->on;

  if (g_strcmp0 (type, "rename") == 0)
    {
      if (!member_is (command, "name", G_TYPE_STRING))
        return;

      if (sy_bench_relay_rename (bench, relay, json_object_get_string_member (command, "name"), &error))
        check_name (sy_bench_get_relay (bench, relay));
      else
        check_refusal (error, type);

      return;
    }

  answers->inside = TRUE;

  if (g_strcmp0 (type, "set") == 0)
    {
      if (!member_is (command, "on", G_TYPE_BOOLEAN))
        {
          answers->inside = FALSE;
          return;
        }
      heading = json_object_get_boolean_member (command, "on");
      accepted = sy_bench_relay_set (bench, relay, heading, on_done, answers, &error);
    }
  else if (g_strcmp0 (type, "toggle") == 0)
    {
      heading = !heading;
      accepted = sy_bench_relay_toggle (bench, relay, on_done, answers, &error);
    }
  else
    {
      gint64 ms;

      if (!member_is (command, "ms", G_TYPE_INT64))
        {
          answers->inside = FALSE;
          return;
        }

      /* The handler refuses what a guint cannot hold before the bench sees it. */
      ms = json_object_get_int_member (command, "ms");
      if (ms < SY_BENCH_PULSE_MIN_MS || ms > SY_BENCH_PULSE_MAX_MS)
        {
          answers->inside = FALSE;
          return;
        }
      heading = TRUE;
      accepted = sy_bench_relay_pulse (bench, relay, (guint) ms, on_done, answers, &error);
    }

  answers->inside = FALSE;

  if (!accepted)
    {
      check_refusal (error, type);
      return;
    }

  answers->accepted++;

  state = sy_bench_get_relay (bench, relay);
  if (!state->pending || state->target != heading)
    g_error ("An accepted %s left %s %s, heading %s instead of %s", type, state->id,
             state->pending ? "pending" : "settled", state->target ? "on" : "off",
             heading ? "on" : "off");
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  SyBench *bench = sy_bench_new (0, NULL);
  Answers answers = { 0, };
  const char *text = (const char *) data;
  const char *end = text + size;

  g_signal_connect (bench, "relay-changed", G_CALLBACK (on_relay_changed), NULL);

  while (text < end)
    {
      const char *newline = memchr (text, '\n', end - text);
      gsize len = (newline ? newline : end) - text;
      /* A copy of its own size, so a read past one message is caught too. */
      g_autofree char *message = g_memdup2 (text, len);
      g_autoptr(JsonObject) command = NULL;
      g_autoptr(JsonNode) id = NULL;
      const char *error_code = NULL;

      command = sy_json_command_parse (message, len, &id, &error_code, NULL);
      if (command != NULL)
        relay_command (bench, command, &answers);

      text += len + (newline != NULL);
    }

  /* Going away cancels what is pending: every waiter hears about it. */
  g_assert_finalize_object (bench);

  if (answers.answered != answers.accepted)
    g_error ("%u commands were accepted and %u answered", answers.accepted, answers.answered);

  return 0;
}
