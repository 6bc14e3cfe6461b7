/* fuzz-command.c
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "fuzz-command"

#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sy-json-protocol.h"

/*
 * libFuzzer target for sy_json_command_parse(): every WebSocket text message
 * of the sensor, relay, display and log subprotocols goes through it first.
 *
 * Besides crashes, leaks and undefined behaviour (the sanitizers), it checks
 * the function's contract for every input:
 *
 *  - it succeeds exactly when it sets neither an error code nor a GError;
 *  - on failure the code is "bad-json" or "bad-request";
 *  - on success the command is an object whose "type" is a string and whose
 *    id is a string or an integer, and the id is handed out;
 *  - every string in an accepted command is UTF-8, as the message was: the
 *    handlers quote them in answers, broadcasts, the log and the audit log,
 *    and a text frame that is not UTF-8 cannot be sent;
 *  - an id that is handed out survives the trip through json-glib's
 *    generator and parser, because the answer echoes it to the client;
 *  - nothing logs a warning or a critical.
 *
 * Build and run it with build-aux/fuzz.sh.
 */

int LLVMFuzzerInitialize (int    *argc,
                          char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data,
                            size_t         size);

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

static gboolean
id_is_valid (JsonNode *id)
{
  return JSON_NODE_HOLDS_VALUE (id) &&
         (json_node_get_value_type (id) == G_TYPE_STRING ||
          json_node_get_value_type (id) == G_TYPE_INT64);
}

static void
check_command_text (JsonObject *command)
{
  g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (), command);
  g_autofree char *text = json_to_string (node, FALSE);

  if (!g_utf8_validate (text, -1, NULL))
    g_error ("An accepted command holds text that is not UTF-8");
}

static void
check_id_round_trip (JsonNode *id)
{
  g_autofree char *text = json_to_string (id, FALSE);
  g_autoptr(JsonNode) again = json_from_string (text, NULL);

  if (again == NULL || !json_node_equal (id, again))
    g_error ("The id %s does not survive being sent back", text);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(JsonObject) command = NULL;
  g_autoptr(JsonNode) id = NULL;
  g_autoptr(GError) error = NULL;
  const char *error_code = NULL;

  command = sy_json_command_parse ((const char *) data, size, &id, &error_code, &error);

  if (command == NULL)
    {
      if (error == NULL || error->message == NULL || error->message[0] == '\0')
        g_error ("A refused command has no readable message");
      if (g_strcmp0 (error_code, SY_ERROR_BAD_JSON) != 0 &&
          g_strcmp0 (error_code, SY_ERROR_BAD_REQUEST) != 0)
        g_error ("A refused command has the error code \"%s\"", error_code ? error_code : "(null)");
    }
  else
    {
      JsonNode *type = json_object_get_member (command, "type");

      if (error != NULL || error_code != NULL)
        g_error ("An accepted command comes with an error");
      if (id == NULL)
        g_error ("An accepted command has no id");
      if (type == NULL || !JSON_NODE_HOLDS_VALUE (type) ||
          json_node_get_value_type (type) != G_TYPE_STRING)
        g_error ("An accepted command has no \"type\" string");
      if (!json_node_equal (id, json_object_get_member (command, "id")))
        g_error ("The id handed out is not the command's id");
      check_command_text (command);
    }

  /* Whenever an id is handed out, even with a refusal, the error frame
   * carries it back. */
  if (id != NULL)
    {
      if (!id_is_valid (id))
        g_error ("The id handed out is neither a string nor an integer");
      check_id_round_trip (id);
    }

  return 0;
}
