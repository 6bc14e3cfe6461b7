/* sy-display-protocol.c
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "sy-display"

#include "config.h"

#include "sy-connection.h"
#include "sy-display-protocol.h"

/*
 * switchyard.display.v1: text notes shown on every display. A new display
 * gets the last SY_DISPLAY_MAX_NOTES; a post from the control role goes to
 * every display, the poster included, and is acked.
 */

struct _SyDisplayProtocol
{
  SyJsonProtocol  parent_instance;

  /* Owned */
  SyAudit        *audit;
  GQueue          notes;
};

G_DEFINE_FINAL_TYPE (SyDisplayProtocol, sy_display_protocol, SY_TYPE_JSON_PROTOCOL)

static void
sy_display_protocol_welcome (SyJsonProtocol *protocol,
                             SyConnection   *connection)
{
  SyDisplayProtocol *self = SY_DISPLAY_PROTOCOL (protocol);
  g_autoptr(JsonObject) object = json_object_new ();
  g_autoptr(JsonNode) root = json_node_new (JSON_NODE_OBJECT);
  JsonArray *notes = json_array_new ();

  for (GList *l = self->notes.head; l != NULL; l = l->next)
    json_array_add_element (notes, json_node_copy (l->data));

  json_object_set_string_member (object, "type", "notes");
  json_object_set_array_member (object, "notes", notes);
  json_node_set_object (root, object);
  sy_json_protocol_send_node (connection, root);
}

static gboolean
is_blank (const char *text)
{
  for (const char *p = text; *p; p = g_utf8_next_char (p))
    if (!g_unichar_isspace (g_utf8_get_char (p)))
      return FALSE;

  return TRUE;
}

static void
sy_display_protocol_command (SyJsonProtocol *protocol,
                             SyConnection   *connection,
                             const char     *type,
                             JsonObject     *command,
                             JsonNode       *id)
{
  SyDisplayProtocol *self = SY_DISPLAY_PROTOCOL (protocol);
  GPtrArray *connections = sy_json_protocol_get_connections (protocol);
  g_autoptr(JsonObject) note = NULL;
  g_autoptr(JsonObject) message = NULL;
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *text_out = NULL;
  JsonNode *text_node;
  const char *text;
  JsonNode *note_node;

  if (g_strcmp0 (type, "post") != 0)
    {
      sy_json_protocol_send_error (protocol, connection, id, SY_ERROR_UNKNOWN_TYPE,
                                   "Unknown type \"%s\": %s takes post", type, SY_DISPLAY_PROTOCOL_NAME);
      return;
    }

  if (sy_connection_get_role (connection) < SY_ROLE_CONTROL)
    {
      sy_audit_record (self->audit, connection, command, SY_ERROR_FORBIDDEN);
      sy_json_protocol_send_error (protocol, connection, id, SY_ERROR_FORBIDDEN,
                                   "Posting notes needs the control role; this connection has the view role");
      return;
    }

  text_node = json_object_get_member (command, "text");
  if (text_node == NULL || !JSON_NODE_HOLDS_VALUE (text_node) ||
      json_node_get_value_type (text_node) != G_TYPE_STRING)
    {
      sy_json_protocol_send_error (protocol, connection, id, SY_ERROR_BAD_REQUEST,
                                   "\"text\" must be a string");
      return;
    }

  text = json_node_get_string (text_node);
  if (is_blank (text))
    {
      sy_json_protocol_send_error (protocol, connection, id, SY_ERROR_BAD_REQUEST,
                                   "\"text\" is empty");
      return;
    }

  if (g_utf8_strlen (text, -1) > SY_DISPLAY_MAX_CHARS)
    {
      sy_audit_record (self->audit, connection, command, SY_ERROR_TOO_LONG);
      sy_json_protocol_send_error (protocol, connection, id, SY_ERROR_TOO_LONG,
                                   "A note is at most %d characters; this one has %ld",
                                   SY_DISPLAY_MAX_CHARS, g_utf8_strlen (text, -1));
      return;
    }

  note = json_object_new ();
  json_object_set_string_member (note, "from", sy_connection_get_label (connection));
  json_object_set_string_member (note, "text", text);
  json_object_set_int_member (note, "t", g_get_real_time () / 1000);
  note_node = json_node_new (JSON_NODE_OBJECT);
  json_node_set_object (note_node, note);

  g_queue_push_tail (&self->notes, json_node_copy (note_node));
  while (self->notes.length > SY_DISPLAY_MAX_NOTES)
    json_node_unref (g_queue_pop_head (&self->notes));

  sy_audit_record (self->audit, connection, command, "ok");
  sy_json_protocol_send_ack (protocol, connection, id, NULL, NULL);

  message = json_object_new ();
  json_object_set_string_member (message, "type", "note");
  json_object_set_member (message, "note", note_node);
  root = json_node_new (JSON_NODE_OBJECT);
  json_node_set_object (root, message);
  text_out = json_to_string (root, FALSE);

  for (guint i = 0; i < connections->len; i++)
    sy_connection_send_text (g_ptr_array_index (connections, i), text_out);
}

static void
sy_display_protocol_finalize (GObject *object)
{
  SyDisplayProtocol *self = (SyDisplayProtocol *)object;

  g_queue_clear_full (&self->notes, (GDestroyNotify) json_node_unref);
  g_clear_object (&self->audit);

  G_OBJECT_CLASS (sy_display_protocol_parent_class)->finalize (object);
}

static void
sy_display_protocol_class_init (SyDisplayProtocolClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  SyJsonProtocolClass *json_class = SY_JSON_PROTOCOL_CLASS (klass);

  object_class->finalize = sy_display_protocol_finalize;

  json_class->welcome = sy_display_protocol_welcome;
  json_class->command = sy_display_protocol_command;
}

static void
sy_display_protocol_init (SyDisplayProtocol *self)
{
  g_queue_init (&self->notes);
}

SySubprotocol *
sy_display_protocol_new (SyAudit *audit)
{
  SyDisplayProtocol *self;

  g_return_val_if_fail (SY_IS_AUDIT (audit), NULL);

  self = g_object_new (SY_TYPE_DISPLAY_PROTOCOL,
                       "name", SY_DISPLAY_PROTOCOL_NAME,
                       "role", SY_ROLE_VIEW,
                       NULL);
  self->audit = g_object_ref (audit);

  return SY_SUBPROTOCOL (self);
}
