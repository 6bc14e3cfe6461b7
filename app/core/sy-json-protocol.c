/* sy-json-protocol.c
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "sy-protocol"

#include "config.h"

#include <string.h>

#include "sy-connection.h"
#include "sy-json-protocol.h"

/*
 * Every JSON subprotocol starts with the same hello, answers bad input with
 * the same error frames and applies the same limits:
 *
 *  - a token bucket per connection (SY_JSON_PROTOCOL_RATE commands per
 *    second, bursts of SY_JSON_PROTOCOL_BURST): a command over it is
 *    answered "rate-limited" and not executed;
 *  - a bad-input budget: SY_JSON_PROTOCOL_MAX_ERRORS errors that are the
 *    client's fault within SY_JSON_PROTOCOL_ERROR_WINDOW_S seconds close the
 *    connection with 1008. Refusals about the device (interlock, timeout,
 *    unavailable) are not the client's fault and do not count.
 */

typedef struct
{
  SyRateBucket    bucket;
  GQueue          error_times;
  gpointer        data;
  GDestroyNotify  destroy;
} ConnectionState;

typedef struct
{
  GPtrArray *connections;
  char      *session_prefix;
} SyJsonProtocolPrivate;

G_DEFINE_ABSTRACT_TYPE_WITH_PRIVATE (SyJsonProtocol, sy_json_protocol, SY_TYPE_SUBPROTOCOL)

static void
connection_state_free (gpointer data)
{
  ConnectionState *state = data;

  if (state->destroy != NULL && state->data != NULL)
    state->destroy (state->data);
  g_queue_clear (&state->error_times);
  g_free (state);
}

gboolean
sy_json_protocol_send_node (SyConnection *connection,
                            JsonNode     *node)
{
  g_autofree char *text = json_to_string (node, FALSE);

  return sy_connection_send_text (connection, text);
}

static gboolean
counts_against_client (const char *code)
{
  return g_strcmp0 (code, SY_ERROR_INTERLOCK) != 0 &&
         g_strcmp0 (code, SY_ERROR_TIMEOUT) != 0 &&
         g_strcmp0 (code, SY_ERROR_UNAVAILABLE) != 0;
}

/**
 * sy_json_protocol_send_error:
 * @self: the protocol
 * @connection: who gets it
 * @id: (nullable): the command's id, echoed back
 * @code: one of the SY_ERROR_ codes
 * @format: printf-style readable message
 *
 * Sends `{"type":"error","id":…,"code":…,"message":…}`. Errors that are the
 * client's fault count against its bad-input budget.
 */
void
sy_json_protocol_send_error (SyJsonProtocol *self,
                             SyConnection   *connection,
                             JsonNode       *id,
                             const char     *code,
                             const char     *format,
                             ...)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *message = NULL;
  ConnectionState *state;
  va_list args;

  g_return_if_fail (SY_IS_JSON_PROTOCOL (self));

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "type");
  json_builder_add_string_value (builder, "error");
  json_builder_set_member_name (builder, "id");
  if (id != NULL)
    json_builder_add_value (builder, json_node_copy (id));
  else
    json_builder_add_null_value (builder);
  json_builder_set_member_name (builder, "code");
  json_builder_add_string_value (builder, code);
  json_builder_set_member_name (builder, "message");
  json_builder_add_string_value (builder, message);
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  sy_json_protocol_send_node (connection, root);

  sy_connection_log (connection, G_LOG_LEVEL_INFO, "error %s: %s", code, message);

  state = sy_connection_get_protocol_data (connection);
  if (state != NULL && counts_against_client (code))
    {
      /* Times in ms of the monotonic clock, which fit a pointer. */
      gsize now = g_get_monotonic_time () / 1000;
      gsize window = SY_JSON_PROTOCOL_ERROR_WINDOW_S * 1000;

      g_queue_push_tail (&state->error_times, GSIZE_TO_POINTER (now));
      while (state->error_times.length > 0 &&
             GPOINTER_TO_SIZE (g_queue_peek_head (&state->error_times)) + window < now)
        g_queue_pop_head (&state->error_times);

      if (state->error_times.length >= SY_JSON_PROTOCOL_MAX_ERRORS)
        {
          g_autofree char *reason = g_strdup_printf ("too many bad messages (%u in %d s)",
                                                     state->error_times.length,
                                                     SY_JSON_PROTOCOL_ERROR_WINDOW_S);

          sy_connection_log (connection, G_LOG_LEVEL_MESSAGE, "closing with 1008: %s", reason);
          sy_connection_close (connection, SY_CLOSE_POLICY, reason);
        }
    }
}

/**
 * sy_json_protocol_send_ack:
 * @self: the protocol
 * @connection: who gets it
 * @id: the command's id
 * @member: (nullable): an extra member of the ack, e.g. "relay"
 * @value: (nullable) (transfer full): its value
 *
 * Sends `{"type":"ack","id":…}` with the optional extra member.
 */
void
sy_json_protocol_send_ack (SyJsonProtocol *self,
                           SyConnection   *connection,
                           JsonNode       *id,
                           const char     *member,
                           JsonNode       *value)
{
  g_autoptr(JsonObject) object = json_object_new ();
  g_autoptr(JsonNode) root = json_node_new (JSON_NODE_OBJECT);

  g_return_if_fail (SY_IS_JSON_PROTOCOL (self));

  json_object_set_string_member (object, "type", "ack");
  json_object_set_member (object, "id", id ? json_node_copy (id) : json_node_new (JSON_NODE_NULL));
  if (member != NULL && value != NULL)
    json_object_set_member (object, member, value);
  json_node_set_object (root, object);

  sy_json_protocol_send_node (connection, root);
}

/**
 * sy_rate_bucket_init:
 * @bucket: a token bucket
 *
 * Fills @bucket: SY_JSON_PROTOCOL_BURST commands may come at once, then
 * SY_JSON_PROTOCOL_RATE per second. Every JSON subprotocol connection has
 * one, and so has every bridge that takes commands.
 */
void
sy_rate_bucket_init (SyRateBucket *bucket)
{
  g_return_if_fail (bucket != NULL);

  bucket->tokens = SY_JSON_PROTOCOL_BURST;
  bucket->refilled_at = g_get_monotonic_time ();
}

/**
 * sy_rate_bucket_take:
 * @bucket: a token bucket
 *
 * Returns: whether a command may go ahead now (and takes a token for it)
 */
gboolean
sy_rate_bucket_take (SyRateBucket *bucket)
{
  gint64 now = g_get_monotonic_time ();

  g_return_val_if_fail (bucket != NULL, FALSE);

  bucket->tokens = MIN (SY_JSON_PROTOCOL_BURST,
                        bucket->tokens + (now - bucket->refilled_at) * SY_JSON_PROTOCOL_RATE / G_USEC_PER_SEC);
  bucket->refilled_at = now;

  if (bucket->tokens < 1.0)
    return FALSE;

  bucket->tokens -= 1.0;

  return TRUE;
}

static void
sy_json_protocol_open (SySubprotocol *protocol,
                       SyConnection  *connection)
{
  SyJsonProtocol *self = SY_JSON_PROTOCOL (protocol);
  SyJsonProtocolPrivate *priv = sy_json_protocol_get_instance_private (self);
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) hello = NULL;
  g_autofree char *session = NULL;
  ConnectionState *state;

  state = g_new0 (ConnectionState, 1);
  sy_rate_bucket_init (&state->bucket);
  g_queue_init (&state->error_times);
  sy_connection_set_protocol_data (connection, state, connection_state_free);
  g_ptr_array_add (priv->connections, g_object_ref (connection));

  session = g_strdup_printf ("%s-%" G_GUINT64_FORMAT,
                             priv->session_prefix ? priv->session_prefix : "s",
                             sy_connection_get_id (connection));

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "type");
  json_builder_add_string_value (builder, "hello");
  json_builder_set_member_name (builder, "protocol");
  json_builder_add_string_value (builder, sy_subprotocol_get_name (protocol));
  json_builder_set_member_name (builder, "server");
  json_builder_add_string_value (builder, PACKAGE_NAME);
  json_builder_set_member_name (builder, "version");
  json_builder_add_string_value (builder, PACKAGE_VERSION);
  json_builder_set_member_name (builder, "role");
  json_builder_add_string_value (builder, sy_role_to_string (sy_connection_get_role (connection)));
  json_builder_set_member_name (builder, "session");
  json_builder_add_string_value (builder, session);
  json_builder_end_object (builder);
  hello = json_builder_get_root (builder);
  sy_json_protocol_send_node (connection, hello);

  if (SY_JSON_PROTOCOL_GET_CLASS (self)->welcome)
    SY_JSON_PROTOCOL_GET_CLASS (self)->welcome (self, connection);
}

static void
sy_json_protocol_close (SySubprotocol *protocol,
                        SyConnection  *connection)
{
  SyJsonProtocol *self = SY_JSON_PROTOCOL (protocol);
  SyJsonProtocolPrivate *priv = sy_json_protocol_get_instance_private (self);

  if (SY_JSON_PROTOCOL_GET_CLASS (self)->goodbye)
    SY_JSON_PROTOCOL_GET_CLASS (self)->goodbye (self, connection);

  g_ptr_array_remove_fast (priv->connections, connection);
}

/* json-glib before 1.10 turns a \u escape of an unpaired surrogate into
 * bytes that are not UTF-8, and leaks when a high surrogate is followed by
 * another \u escape that is not its low half. Such text is not valid JSON
 * anyway (RFC 8259 §8.2 allows it, but it cannot become UTF-8). */
static gboolean
escapes_are_valid (const char *data,
                   gsize       len)
{
  gboolean want_low = FALSE;

  for (gsize i = 0; i < len; i++)
    {
      guint unit = 0;

      if (data[i] != '\\' || i + 1 >= len || data[i + 1] != 'u')
        {
          if (want_low)
            return FALSE;
          /* Only RFC 8259's escapes: json-glib 1.6 lets others such as
           * "\2" through and makes text that is not UTF-8 of them. */
          if (data[i] == '\\')
            {
              if (i + 1 >= len || strchr ("\"\\/bfnrt", data[i + 1]) == NULL)
                return FALSE;
              i++;
            }
          continue;
        }

      if (i + 6 > len)
        return FALSE;
      for (gsize j = i + 2; j < i + 6; j++)
        {
          if (!g_ascii_isxdigit (data[j]))
            return FALSE;
          unit = unit * 16 + g_ascii_xdigit_value (data[j]);
        }
      i += 5;

      if (unit >= 0xdc00 && unit <= 0xdfff)
        {
          if (!want_low)
            return FALSE;
          want_low = FALSE;
        }
      else if (want_low)
        return FALSE;
      else if (unit >= 0xd800 && unit <= 0xdbff)
        want_low = TRUE;
    }

  return !want_low;
}

/* json-glib before 1.10 accepts several top-level values, keeps the last
 * and leaks the others: count them, and drop each earlier one. */
typedef struct
{
  guint    depth;
  gboolean several;
} RootCount;

static void
on_container_start (JsonParser *parser,
                    RootCount  *count)
{
  if (count->depth++ == 0 && json_parser_get_root (parser) != NULL)
    {
      count->several = TRUE;
      json_node_unref (json_parser_steal_root (parser));
    }
}

static void
on_object_end (JsonParser *parser,
               JsonObject *object,
               RootCount  *count)
{
  count->depth--;
}

static void
on_array_end (JsonParser *parser,
              JsonArray  *array,
              RootCount  *count)
{
  count->depth--;
}

/**
 * sy_json_command_parse:
 * @data: (array length=len): the text of a message
 * @len: its length in bytes
 * @id_out: (out) (transfer full) (nullable): the command's id, when one
 *   could be read, even if the command is otherwise bad
 * @error_code: (out) (transfer none): on failure, the wire error code
 * @error: return location for a #GError with the readable message
 *
 * Checks the shape every command shares: a JSON object with a string
 * "type" and an "id" that is a string or an integer. Pure: no connection,
 * no state, so it can be fuzzed on its own.
 *
 * Returns: (transfer full) (nullable): the command object, or %NULL
 */
JsonObject *
sy_json_command_parse (const char  *data,
                       gsize        len,
                       JsonNode   **id_out,
                       const char **error_code,
                       GError     **error)
{
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  g_autoptr(GError) local_error = NULL;
  RootCount roots = { 0, FALSE };
  JsonObject *object;
  JsonNode *id;
  JsonNode *type;

  g_return_val_if_fail (data != NULL || len == 0, NULL);
  g_return_val_if_fail (id_out != NULL, NULL);
  g_return_val_if_fail (error_code != NULL, NULL);

  *id_out = NULL;
  *error_code = NULL;

  g_signal_connect (parser, "object-start", G_CALLBACK (on_container_start), &roots);
  g_signal_connect (parser, "array-start", G_CALLBACK (on_container_start), &roots);
  g_signal_connect (parser, "object-end", G_CALLBACK (on_object_end), &roots);
  g_signal_connect (parser, "array-end", G_CALLBACK (on_array_end), &roots);

  if (len == 0 || memchr (data, '\0', len) != NULL ||
      !g_utf8_validate (data, len, NULL) ||
      !escapes_are_valid (data, len) ||
      !json_parser_load_from_data (parser, data, len, &local_error) ||
      roots.several ||
      /* Only white space: json-glib before 1.10 loads it, without a root. */
      json_parser_get_root (parser) == NULL)
    {
      *error_code = SY_ERROR_BAD_JSON;
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "The message is not valid JSON%s%s",
                   local_error ? ": " : "", local_error ? local_error->message : "");
      return NULL;
    }

  if (!JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      *error_code = SY_ERROR_BAD_REQUEST;
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "A message must be a JSON object");
      return NULL;
    }

  object = json_node_get_object (json_parser_get_root (parser));
  id = json_object_get_member (object, "id");

  /* An id is a string or an integer, so the answer can carry it back. */
  if (id != NULL &&
      !(JSON_NODE_HOLDS_VALUE (id) &&
        (json_node_get_value_type (id) == G_TYPE_STRING ||
         json_node_get_value_type (id) == G_TYPE_INT64)))
    {
      *error_code = SY_ERROR_BAD_REQUEST;
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                           "\"id\" must be a string or an integer");
      return NULL;
    }

  if (id != NULL)
    *id_out = json_node_copy (id);

  type = json_object_get_member (object, "type");
  if (type == NULL || !JSON_NODE_HOLDS_VALUE (type) || json_node_get_value_type (type) != G_TYPE_STRING)
    {
      *error_code = SY_ERROR_BAD_REQUEST;
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "A message needs a \"type\" string");
      return NULL;
    }

  if (id == NULL)
    {
      *error_code = SY_ERROR_BAD_REQUEST;
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                           "A command needs an \"id\" (a string or an integer) to answer to");
      return NULL;
    }

  return json_object_ref (object);
}

static void
sy_json_protocol_message (SySubprotocol         *protocol,
                          SyConnection          *connection,
                          SoupWebsocketDataType  type,
                          GBytes                *payload)
{
  SyJsonProtocol *self = SY_JSON_PROTOCOL (protocol);
  ConnectionState *state = sy_connection_get_protocol_data (connection);
  g_autoptr(JsonObject) object = NULL;
  g_autoptr(JsonNode) id = NULL;
  g_autoptr(GError) error = NULL;
  const char *error_code = NULL;
  gsize len;
  const char *data;

  if (type != SOUP_WEBSOCKET_DATA_TEXT)
    {
      sy_json_protocol_send_error (self, connection, NULL, SY_ERROR_BAD_REQUEST,
                                   "%s takes JSON text messages, not binary frames",
                                   sy_subprotocol_get_name (protocol));
      return;
    }

  data = g_bytes_get_data (payload, &len);
  object = sy_json_command_parse (data, len, &id, &error_code, &error);
  if (object == NULL)
    {
      /* Without a valid type, the id is not trusted to be answered to
       * unless the parser could read it. */
      sy_json_protocol_send_error (self, connection, id, error_code, "%s", error->message);
      return;
    }

  if (state != NULL && !sy_rate_bucket_take (&state->bucket))
    {
      sy_json_protocol_send_error (self, connection, id, SY_ERROR_RATE_LIMITED,
                                   "Too many commands: at most %.0f per second",
                                   SY_JSON_PROTOCOL_RATE);
      return;
    }

  if (SY_JSON_PROTOCOL_GET_CLASS (self)->command)
    SY_JSON_PROTOCOL_GET_CLASS (self)->command (self, connection,
                                                json_object_get_string_member (object, "type"),
                                                object, id);
  else
    sy_json_protocol_send_error (self, connection, id, SY_ERROR_UNKNOWN_TYPE,
                                 "Unknown type \"%s\"", json_object_get_string_member (object, "type"));
}

static void
sy_json_protocol_finalize (GObject *object)
{
  SyJsonProtocol *self = (SyJsonProtocol *)object;
  SyJsonProtocolPrivate *priv = sy_json_protocol_get_instance_private (self);

  g_clear_pointer (&priv->connections, g_ptr_array_unref);
  g_clear_pointer (&priv->session_prefix, g_free);

  G_OBJECT_CLASS (sy_json_protocol_parent_class)->finalize (object);
}

static void
sy_json_protocol_class_init (SyJsonProtocolClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  SySubprotocolClass *protocol_class = SY_SUBPROTOCOL_CLASS (klass);

  object_class->finalize = sy_json_protocol_finalize;

  protocol_class->open = sy_json_protocol_open;
  protocol_class->message = sy_json_protocol_message;
  protocol_class->close = sy_json_protocol_close;
}

static void
sy_json_protocol_init (SyJsonProtocol *self)
{
  SyJsonProtocolPrivate *priv = sy_json_protocol_get_instance_private (self);
  guint32 random[2] = { g_random_int (), g_random_int () };

  priv->connections = g_ptr_array_new_with_free_func (g_object_unref);
  priv->session_prefix = g_strdup_printf ("%08x%08x", random[0], random[1]);
}

/**
 * sy_json_protocol_get_connections:
 * @self: the protocol
 *
 * Returns: (transfer none) (element-type SyConnection): the open connections
 */
GPtrArray *
sy_json_protocol_get_connections (SyJsonProtocol *self)
{
  SyJsonProtocolPrivate *priv = sy_json_protocol_get_instance_private (self);

  g_return_val_if_fail (SY_IS_JSON_PROTOCOL (self), NULL);

  return priv->connections;
}

/**
 * sy_json_protocol_get_data:
 * @connection: a connection of a JSON protocol
 *
 * Returns: (transfer none) (nullable): the subclass's state for @connection
 */
gpointer
sy_json_protocol_get_data (SyConnection *connection)
{
  ConnectionState *state = sy_connection_get_protocol_data (connection);

  return state ? state->data : NULL;
}

void
sy_json_protocol_set_data (SyConnection   *connection,
                           gpointer        data,
                           GDestroyNotify  destroy)
{
  ConnectionState *state = sy_connection_get_protocol_data (connection);

  g_return_if_fail (state != NULL);

  if (state->destroy != NULL && state->data != NULL)
    state->destroy (state->data);
  state->data = data;
  state->destroy = destroy;
}

/**
 * sy_json_protocol_set_session:
 * @self: the protocol
 * @session_prefix: what the session ids in hellos start with
 *
 * The server gives every protocol the same prefix, unique per run, so a
 * client can tell a restart from a reconnect.
 */
void
sy_json_protocol_set_session (SyJsonProtocol *self,
                              const char     *session_prefix)
{
  SyJsonProtocolPrivate *priv = sy_json_protocol_get_instance_private (self);

  g_return_if_fail (SY_IS_JSON_PROTOCOL (self));

  g_free (priv->session_prefix);
  priv->session_prefix = g_strdup (session_prefix);
}
