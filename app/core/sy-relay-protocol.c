/* sy-relay-protocol.c
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "sy-relay"

#include "config.h"

#include <string.h>

#include "sy-connection.h"
#include "sy-json.h"
#include "sy-relay-protocol.h"

/*
 * switchyard.relay.v1: the relays, then every change to every client.
 *
 * A command goes to the bench, which broadcasts the relay as pending at
 * once and as confirmed when the (simulated) device answers; only then does
 * the commanding client get its ack, carrying the confirmed state. Every
 * command and refusal is in the audit log.
 */

struct _SyRelayProtocol
{
  SyJsonProtocol  parent_instance;

  /* Owned */
  SyBench        *bench;
  SyAudit        *audit;
};

G_DEFINE_FINAL_TYPE (SyRelayProtocol, sy_relay_protocol, SY_TYPE_JSON_PROTOCOL)

/* A command in flight: who to answer, and what they asked. */
typedef struct
{
  const SyRelayCaller *caller;
  gpointer             caller_data;
  JsonNode            *id;
  JsonObject          *command;
} Pending;

static Pending *
pending_new (const SyRelayCaller *caller,
             gpointer             caller_data,
             JsonNode            *id,
             JsonObject          *command)
{
  Pending *pending = g_new0 (Pending, 1);

  pending->caller = caller;
  pending->caller_data = caller->ref (caller_data);
  pending->id = json_node_copy (id);
  pending->command = json_object_ref (command);

  return pending;
}

static void
pending_free (Pending *pending)
{
  pending->caller->unref (pending->caller_data);
  json_node_unref (pending->id);
  json_object_unref (pending->command);
  g_free (pending);
}

/**
 * sy_relay_state_to_json:
 * @state: a relay
 *
 * Returns: (transfer full): the relay as the wire shows it
 */
JsonNode *
sy_relay_state_to_json (const SyRelayState *state)
{
  g_autoptr(JsonObject) object = json_object_new ();
  JsonNode *node = json_node_new (JSON_NODE_OBJECT);

  json_object_set_string_member (object, "id", state->id);
  json_object_set_string_member (object, "name", state->name);
  json_object_set_boolean_member (object, "on", state->on);
  json_object_set_boolean_member (object, "pending", state->pending);
  json_object_set_boolean_member (object, "target", state->pending ? state->target : state->on);
  json_object_set_boolean_member (object, "stuck", state->stuck);
  json_object_set_int_member (object, "max_on_ms", state->max_on_ms);
  json_object_set_int_member (object, "safe_default", state->safe_default);
  json_object_set_int_member (object, "changed", state->changed_ms);
  if (state->interlock != NULL)
    json_object_set_string_member (object, "interlock", state->interlock);
  else
    json_object_set_null_member (object, "interlock");
  json_object_set_boolean_member (object, "available", state->available);
  json_node_set_object (node, object);

  return node;
}

/**
 * sy_relay_state_from_json:
 * @object: a relay object as the wire shows it (see sy_relay_state_to_json())
 * @state: (out): the state; its strings are borrowed from @object
 *
 * Reads another instance's relay, for a mirror. Its `index` and `id` are
 * not set; a relay that does not say is available (a bench of its own).
 */
void
sy_relay_state_from_json (JsonObject   *object,
                          SyRelayState *state)
{
  g_return_if_fail (object != NULL && state != NULL);

  memset (state, 0, sizeof *state);
  state->name = sy_json_object_get_string (object, "name");
  state->on = sy_json_object_get_bool (object, "on", FALSE);
  state->pending = sy_json_object_get_bool (object, "pending", FALSE);
  state->target = sy_json_object_get_bool (object, "target", state->on);
  state->stuck = sy_json_object_get_bool (object, "stuck", FALSE);
  state->max_on_ms = (guint) CLAMP (sy_json_object_get_int (object, "max_on_ms", 0), 0, G_MAXUINT);
  state->safe_default = (int) CLAMP (sy_json_object_get_int (object, "safe_default", -1), -1, 1);
  state->changed_ms = sy_json_object_get_int (object, "changed", 0);
  state->interlock = sy_json_object_get_string (object, "interlock");
  state->available = sy_json_object_get_bool (object, "available", TRUE);
}

/**
 * sy_relay_error_from_code:
 * @code: (nullable): an error code of the wire
 *
 * The inverse of sy_relay_error_code(), for a mirror that hands another
 * instance's refusal on.
 *
 * Returns: the bench's error for @code; %SY_BENCH_ERROR_INVALID for any
 *   other code
 */
SyBenchError
sy_relay_error_from_code (const char *code)
{
  static const struct { const char *code; SyBenchError error; } codes[] = {
    { SY_ERROR_INTERLOCK, SY_BENCH_ERROR_INTERLOCK },
    { SY_ERROR_UNKNOWN_RELAY, SY_BENCH_ERROR_NOT_FOUND },
    { SY_ERROR_TIMEOUT, SY_BENCH_ERROR_TIMEOUT },
    { SY_ERROR_FORBIDDEN, SY_BENCH_ERROR_FORBIDDEN },
    { SY_ERROR_RATE_LIMITED, SY_BENCH_ERROR_RATE_LIMITED },
    { SY_ERROR_UNAVAILABLE, SY_BENCH_ERROR_UNAVAILABLE },
  };

  for (guint i = 0; i < G_N_ELEMENTS (codes); i++)
    if (g_strcmp0 (code, codes[i].code) == 0)
      return codes[i].error;

  return SY_BENCH_ERROR_INVALID;
}

static const char *
command_type_name (SyRelayCommandType type)
{
  switch (type)
    {
    case SY_RELAY_COMMAND_SET:
      return "set";
    case SY_RELAY_COMMAND_TOGGLE:
      return "toggle";
    case SY_RELAY_COMMAND_PULSE:
      return "pulse";
    case SY_RELAY_COMMAND_RENAME:
    default:
      return "rename";
    }
}

/**
 * sy_relay_command_to_json:
 * @bench: the mirroring bench
 * @command: a command for one of its relays
 * @id: (transfer full): the command's id
 *
 * Returns: (transfer full): @command as switchyard.relay.v1 takes it, for
 *   the instance a mirror forwards it to
 */
JsonNode *
sy_relay_command_to_json (SyBench              *bench,
                          const SyRelayCommand *command,
                          JsonNode             *id)
{
  g_autoptr(JsonObject) object = json_object_new ();
  JsonNode *root = json_node_new (JSON_NODE_OBJECT);

  g_return_val_if_fail (SY_IS_BENCH (bench), NULL);
  g_return_val_if_fail (command != NULL && id != NULL, NULL);

  json_object_set_string_member (object, "type", command_type_name (command->type));
  json_object_set_member (object, "id", id);
  json_object_set_string_member (object, "relay", sy_bench_get_relay (bench, command->relay)->id);
  switch (command->type)
    {
    case SY_RELAY_COMMAND_SET:
      json_object_set_boolean_member (object, "on", command->on);
      break;
    case SY_RELAY_COMMAND_PULSE:
      json_object_set_int_member (object, "ms", command->ms);
      break;
    case SY_RELAY_COMMAND_RENAME:
      json_object_set_string_member (object, "name", command->name ? command->name : "");
      break;
    case SY_RELAY_COMMAND_TOGGLE:
    default:
      break;
    }
  json_node_set_object (root, object);

  return root;
}

static void
on_relay_changed (SyBench         *bench,
                  guint            index,
                  const char      *reason,
                  SyRelayProtocol *self)
{
  GPtrArray *connections = sy_json_protocol_get_connections (SY_JSON_PROTOCOL (self));
  g_autoptr(JsonObject) object = json_object_new ();
  g_autoptr(JsonNode) root = json_node_new (JSON_NODE_OBJECT);
  g_autofree char *text = NULL;

  json_object_set_string_member (object, "type", "relay");
  json_object_set_member (object, "relay", sy_relay_state_to_json (sy_bench_get_relay (bench, index)));
  json_object_set_string_member (object, "reason", reason ? reason : "");
  json_node_set_object (root, object);
  text = json_to_string (root, FALSE);

  for (guint i = 0; i < connections->len; i++)
    sy_connection_send_text (g_ptr_array_index (connections, i), text);
}

/* The snapshot: every relay, and the chain of instances they come from
 * (empty for the bench's own), which relay servers use to refuse loops. */
static JsonNode *
relays_snapshot (SyRelayProtocol *self)
{
  JsonObject *object = json_object_new ();
  JsonNode *root = json_node_new (JSON_NODE_OBJECT);
  JsonArray *relays = json_array_new ();
  JsonArray *chain = json_array_new ();
  const char * const *ids = sy_bench_get_chain (self->bench);

  for (guint i = 0; i < SY_BENCH_N_RELAYS; i++)
    json_array_add_element (relays, sy_relay_state_to_json (sy_bench_get_relay (self->bench, i)));
  for (guint i = 0; ids[i] != NULL; i++)
    json_array_add_string_element (chain, ids[i]);

  json_object_set_string_member (object, "type", "relays");
  json_object_set_array_member (object, "relays", relays);
  json_object_set_array_member (object, "chain", chain);
  json_node_take_object (root, object);

  return root;
}

/* A mirror's link or chain changed: everyone resyncs from a new snapshot. */
static void
on_link_changed (SyBench         *bench,
                 SyRelayProtocol *self)
{
  GPtrArray *connections = sy_json_protocol_get_connections (SY_JSON_PROTOCOL (self));
  g_autoptr(JsonNode) root = relays_snapshot (self);
  g_autofree char *text = json_to_string (root, FALSE);

  for (guint i = 0; i < connections->len; i++)
    sy_connection_send_text (g_ptr_array_index (connections, i), text);
}

static void
sy_relay_protocol_welcome (SyJsonProtocol *protocol,
                           SyConnection   *connection)
{
  g_autoptr(JsonNode) root = relays_snapshot (SY_RELAY_PROTOCOL (protocol));

  sy_json_protocol_send_node (connection, root);
}

/**
 * sy_relay_error_code:
 * @error: why a relay command failed
 *
 * Returns: the wire's error code for @error
 */
const char *
sy_relay_error_code (const GError *error)
{
  g_return_val_if_fail (error != NULL, SY_ERROR_BAD_REQUEST);

  if (error->domain != SY_BENCH_ERROR)
    return SY_ERROR_BAD_REQUEST;

  switch ((SyBenchError) error->code)
    {
    case SY_BENCH_ERROR_INTERLOCK:
      return SY_ERROR_INTERLOCK;
    case SY_BENCH_ERROR_NOT_FOUND:
      return SY_ERROR_UNKNOWN_RELAY;
    case SY_BENCH_ERROR_TIMEOUT:
      return SY_ERROR_TIMEOUT;
    case SY_BENCH_ERROR_FORBIDDEN:
      return SY_ERROR_FORBIDDEN;
    case SY_BENCH_ERROR_RATE_LIMITED:
      return SY_ERROR_RATE_LIMITED;
    case SY_BENCH_ERROR_UNAVAILABLE:
      return SY_ERROR_UNAVAILABLE;
    case SY_BENCH_ERROR_INVALID:
    default:
      return SY_ERROR_BAD_REQUEST;
    }
}

static void
command_done (SyBench      *bench,
              guint         relay,
              const GError *error,
              gpointer      user_data)
{
  Pending *pending = user_data;
  const SyRelayCaller *caller = pending->caller;

  if (error == NULL)
    {
      g_autoptr(JsonNode) state = sy_relay_state_to_json (sy_bench_get_relay (bench, relay));

      caller->audit (pending->caller_data, pending->command, "ok");
      caller->answer (pending->caller_data, pending->id, NULL, NULL, state);
    }
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      caller->audit (pending->caller_data, pending->command, "cancelled");
    }
  else
    {
      /* The device's timeout, or a mirror's upstream answering a refusal. */
      const char *code = sy_relay_error_code (error);

      caller->audit (pending->caller_data, pending->command, code);
      caller->answer (pending->caller_data, pending->id, code, error->message, NULL);
    }

  pending_free (pending);
}


static gboolean
member_is (JsonObject *object,
           const char *member,
           GType       type)
{
  JsonNode *node = json_object_get_member (object, member);

  return node != NULL && JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == type;
}

static void
refuse (const SyRelayCaller *caller,
        gpointer             caller_data,
        JsonObject          *command,
        JsonNode            *id,
        const char          *code,
        const char          *message)
{
  caller->audit (caller_data, command, code);
  caller->answer (caller_data, id, code, message, NULL);
}

/**
 * sy_relay_command_run:
 * @bench: the bench
 * @role: the caller's role
 * @caller: how to audit and answer the caller
 * @caller_data: the caller, referenced while the command is pending
 * @type: the command's type
 * @command: a command with a string "type" and a valid "id" (see
 *   sy_json_command_parse())
 * @id: its id
 *
 * Checks and executes one relay command: `set`, `toggle`, `pulse` or
 * `rename`, for switchyard.relay.v1 and for every bridge alike, so that
 * validation, roles, interlocks and the audit are the same whichever way a
 * command came. Every command and refusal but an unknown type is audited;
 * the caller is answered exactly once, later when the device must confirm.
 */
void
sy_relay_command_run (SyBench             *bench,
                      SyRole               role,
                      const SyRelayCaller *caller,
                      gpointer             caller_data,
                      const char          *type,
                      JsonObject          *command,
                      JsonNode            *id)
{
  g_autoptr(GError) error = NULL;
  const char *relay_id;
  Pending *pending;
  gboolean accepted;
  int relay;

  g_return_if_fail (SY_IS_BENCH (bench));
  g_return_if_fail (caller != NULL);
  g_return_if_fail (type != NULL && command != NULL && id != NULL);

  if (g_strcmp0 (type, "set") != 0 && g_strcmp0 (type, "toggle") != 0 &&
      g_strcmp0 (type, "pulse") != 0 && g_strcmp0 (type, "rename") != 0)
    {
      g_autofree char *message = g_strdup_printf ("Unknown type \"%s\": %s takes set, toggle, pulse and rename",
                                                  type, SY_RELAY_PROTOCOL_NAME);

      caller->answer (caller_data, id, SY_ERROR_UNKNOWN_TYPE, message, NULL);
      return;
    }

  if (role < SY_ROLE_CONTROL)
    {
      refuse (caller, caller_data, command, id, SY_ERROR_FORBIDDEN,
              "Commanding relays needs the control role; this connection has the view role");
      return;
    }

  if (!member_is (command, "relay", G_TYPE_STRING))
    {
      refuse (caller, caller_data, command, id, SY_ERROR_BAD_REQUEST, "\"relay\" must be a relay id");
      return;
    }

  relay_id = json_object_get_string_member (command, "relay");
  relay = sy_bench_find_relay (bench, relay_id);
  if (relay < 0)
    {
      g_autofree char *message = g_strdup_printf ("Unknown relay \"%s\"", relay_id);
      refuse (caller, caller_data, command, id, SY_ERROR_UNKNOWN_RELAY, message);
      return;
    }

  if (g_strcmp0 (type, "set") == 0 && !member_is (command, "on", G_TYPE_BOOLEAN))
    {
      refuse (caller, caller_data, command, id, SY_ERROR_BAD_REQUEST, "\"on\" must be true or false");
      return;
    }

  if (g_strcmp0 (type, "pulse") == 0 && !member_is (command, "ms", G_TYPE_INT64))
    {
      g_autofree char *message = g_strdup_printf ("\"ms\" must be a whole number of milliseconds "
                                                  "from %d to %d",
                                                  SY_BENCH_PULSE_MIN_MS, SY_BENCH_PULSE_MAX_MS);
      refuse (caller, caller_data, command, id, SY_ERROR_BAD_REQUEST, message);
      return;
    }

  if (g_strcmp0 (type, "rename") == 0)
    {
      g_autoptr(JsonNode) state = NULL;

      if (!member_is (command, "name", G_TYPE_STRING))
        {
          refuse (caller, caller_data, command, id, SY_ERROR_BAD_REQUEST, "\"name\" must be a string");
          return;
        }
      if (sy_bench_is_mirror (bench))
        {
          SyRelayCommand rename = { SY_RELAY_COMMAND_RENAME, (guint) relay, FALSE, 0,
                                    json_object_get_string_member (command, "name") };

          pending = pending_new (caller, caller_data, id, command);
          if (!sy_bench_mirror_forward (bench, &rename, command_done, pending, &error))
            {
              refuse (caller, caller_data, command, id, sy_relay_error_code (error), error->message);
              pending_free (pending);
            }
          return;
        }
      if (!sy_bench_relay_rename (bench, relay, json_object_get_string_member (command, "name"), &error))
        {
          refuse (caller, caller_data, command, id, sy_relay_error_code (error), error->message);
          return;
        }
      caller->audit (caller_data, command, "ok");
      state = sy_relay_state_to_json (sy_bench_get_relay (bench, relay));
      caller->answer (caller_data, id, NULL, NULL, state);
      return;
    }

  pending = pending_new (caller, caller_data, id, command);

  if (g_strcmp0 (type, "set") == 0)
    {
      accepted = sy_bench_relay_set (bench, relay, json_object_get_boolean_member (command, "on"),
                                     command_done, pending, &error);
    }
  else if (g_strcmp0 (type, "toggle") == 0)
    {
      accepted = sy_bench_relay_toggle (bench, relay, command_done, pending, &error);
    }
  else
    {
      gint64 ms = json_object_get_int_member (command, "ms");

      if (ms < SY_BENCH_PULSE_MIN_MS || ms > SY_BENCH_PULSE_MAX_MS)
        {
          accepted = FALSE;
          g_set_error (&error, SY_BENCH_ERROR, SY_BENCH_ERROR_INVALID,
                       "\"ms\" must be from %d to %d, not %" G_GINT64_FORMAT,
                       SY_BENCH_PULSE_MIN_MS, SY_BENCH_PULSE_MAX_MS, ms);
        }
      else
        {
          accepted = sy_bench_relay_pulse (bench, relay, (guint) ms, command_done, pending, &error);
        }
    }

  if (!accepted)
    {
      refuse (caller, caller_data, command, id, sy_relay_error_code (error), error->message);
      pending_free (pending);
    }
}

/* A WebSocket connection as a relay command's caller. */
typedef struct
{
  SyRelayProtocol *protocol;
  SyConnection    *connection;
} WebSocketCaller;

static void
websocket_caller_clear (gpointer data)
{
  WebSocketCaller *caller = data;

  g_clear_object (&caller->protocol);
  g_clear_object (&caller->connection);
}

static gpointer
websocket_caller_ref (gpointer data)
{
  return g_rc_box_acquire (data);
}

static void
websocket_caller_unref (gpointer data)
{
  g_rc_box_release_full (data, websocket_caller_clear);
}

static void
websocket_caller_audit (gpointer    data,
                        JsonObject *command,
                        const char *result)
{
  WebSocketCaller *caller = data;

  sy_audit_record (caller->protocol->audit, caller->connection, command, result);
}

static void
websocket_caller_answer (gpointer    data,
                         JsonNode   *id,
                         const char *code,
                         const char *message,
                         JsonNode   *relay)
{
  WebSocketCaller *caller = data;
  SyJsonProtocol *protocol = SY_JSON_PROTOCOL (caller->protocol);

  if (code == NULL)
    sy_json_protocol_send_ack (protocol, caller->connection, id, "relay", json_node_copy (relay));
  else
    sy_json_protocol_send_error (protocol, caller->connection, id, code, "%s", message);
}

static const SyRelayCaller websocket_caller = {
  websocket_caller_audit,
  websocket_caller_answer,
  websocket_caller_ref,
  websocket_caller_unref,
};

static void
sy_relay_protocol_command (SyJsonProtocol *protocol,
                           SyConnection   *connection,
                           const char     *type,
                           JsonObject     *command,
                           JsonNode       *id)
{
  SyRelayProtocol *self = SY_RELAY_PROTOCOL (protocol);
  WebSocketCaller *caller = g_rc_box_new0 (WebSocketCaller);

  caller->protocol = g_object_ref (self);
  caller->connection = g_object_ref (connection);
  sy_relay_command_run (self->bench, sy_connection_get_role (connection), &websocket_caller, caller,
                        type, command, id);
  websocket_caller_unref (caller);
}

static void
sy_relay_protocol_dispose (GObject *object)
{
  SyRelayProtocol *self = (SyRelayProtocol *)object;

  if (self->bench != NULL)
    g_signal_handlers_disconnect_by_data (self->bench, self);
  g_clear_object (&self->bench);
  g_clear_object (&self->audit);

  G_OBJECT_CLASS (sy_relay_protocol_parent_class)->dispose (object);
}

static void
sy_relay_protocol_class_init (SyRelayProtocolClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  SyJsonProtocolClass *json_class = SY_JSON_PROTOCOL_CLASS (klass);

  object_class->dispose = sy_relay_protocol_dispose;

  json_class->welcome = sy_relay_protocol_welcome;
  json_class->command = sy_relay_protocol_command;
}

static void
sy_relay_protocol_init (SyRelayProtocol *self)
{
}

/**
 * sy_relay_protocol_new:
 * @bench: the bench whose relays to drive
 * @audit: where control actions are recorded
 *
 * Returns: (transfer full): switchyard.relay.v1
 */
SySubprotocol *
sy_relay_protocol_new (SyBench *bench,
                       SyAudit *audit)
{
  SyRelayProtocol *self;

  g_return_val_if_fail (SY_IS_BENCH (bench), NULL);
  g_return_val_if_fail (SY_IS_AUDIT (audit), NULL);

  self = g_object_new (SY_TYPE_RELAY_PROTOCOL,
                       "name", SY_RELAY_PROTOCOL_NAME,
                       "role", SY_ROLE_VIEW,
                       NULL);
  self->bench = g_object_ref (bench);
  self->audit = g_object_ref (audit);
  g_signal_connect (bench, "relay-changed", G_CALLBACK (on_relay_changed), self);
  g_signal_connect (bench, "link-changed", G_CALLBACK (on_link_changed), self);

  return SY_SUBPROTOCOL (self);
}
