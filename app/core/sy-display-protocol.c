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

enum {
  NOTE,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

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

/**
 * sy_display_note_check:
 * @command: a `post` command (its "text" is the note)
 * @message: (out) (optional): on refusal, why, for the poster
 *
 * Returns: (nullable): %NULL if the note may be shown, else the wire's
 *   error code
 */
const char *
sy_display_note_check (JsonObject  *command,
                       char       **message)
{
  JsonNode *text_node;
  const char *text;

  g_return_val_if_fail (command != NULL, SY_ERROR_BAD_REQUEST);

  text_node = json_object_get_member (command, "text");
  if (text_node == NULL || !JSON_NODE_HOLDS_VALUE (text_node) ||
      json_node_get_value_type (text_node) != G_TYPE_STRING)
    {
      if (message != NULL)
        *message = g_strdup ("\"text\" must be a string");
      return SY_ERROR_BAD_REQUEST;
    }

  text = json_node_get_string (text_node);
  if (is_blank (text))
    {
      if (message != NULL)
        *message = g_strdup ("\"text\" is empty");
      return SY_ERROR_BAD_REQUEST;
    }

  if (g_utf8_strlen (text, -1) > SY_DISPLAY_MAX_CHARS)
    {
      if (message != NULL)
        *message = g_strdup_printf ("A note is at most %d characters; this one has %ld",
                                    SY_DISPLAY_MAX_CHARS, g_utf8_strlen (text, -1));
      return SY_ERROR_TOO_LONG;
    }

  return NULL;
}

/**
 * sy_display_protocol_show:
 * @self: the display protocol
 * @from: who posts, shown with the note
 * @command: a `post` command that passed sy_display_note_check()
 *
 * Shows the note on every display and emits `SyDisplayProtocol::note`.
 * The caller checked the role and audits.
 */
void
sy_display_protocol_show (SyDisplayProtocol *self,
                          const char        *from,
                          JsonObject        *command)
{
  GPtrArray *connections;
  g_autoptr(JsonObject) note = NULL;
  g_autoptr(JsonObject) broadcast = NULL;
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *text_out = NULL;
  JsonNode *note_node;

  g_return_if_fail (SY_IS_DISPLAY_PROTOCOL (self));
  g_return_if_fail (from != NULL && command != NULL);

  note = json_object_new ();
  json_object_set_string_member (note, "from", from);
  json_object_set_string_member (note, "text", json_object_get_string_member (command, "text"));
  json_object_set_int_member (note, "t", g_get_real_time () / 1000);
  note_node = json_node_new (JSON_NODE_OBJECT);
  json_node_set_object (note_node, note);

  g_queue_push_tail (&self->notes, json_node_copy (note_node));
  while (self->notes.length > SY_DISPLAY_MAX_NOTES)
    json_node_unref (g_queue_pop_head (&self->notes));

  broadcast = json_object_new ();
  json_object_set_string_member (broadcast, "type", "note");
  json_object_set_member (broadcast, "note", note_node);
  root = json_node_new (JSON_NODE_OBJECT);
  json_node_set_object (root, broadcast);
  text_out = json_to_string (root, FALSE);

  connections = sy_json_protocol_get_connections (SY_JSON_PROTOCOL (self));
  for (guint i = 0; i < connections->len; i++)
    sy_connection_send_text (g_ptr_array_index (connections, i), text_out);

  g_signal_emit (self, signals[NOTE], 0, note_node);
}

static void
sy_display_protocol_command (SyJsonProtocol *protocol,
                             SyConnection   *connection,
                             const char     *type,
                             JsonObject     *command,
                             JsonNode       *id)
{
  SyDisplayProtocol *self = SY_DISPLAY_PROTOCOL (protocol);
  g_autofree char *message = NULL;
  const char *code;

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

  code = sy_display_note_check (command, &message);
  if (code != NULL)
    {
      if (g_strcmp0 (code, SY_ERROR_TOO_LONG) == 0)
        sy_audit_record (self->audit, connection, command, code);
      sy_json_protocol_send_error (protocol, connection, id, code, "%s", message);
      return;
    }

  /* The poster gets its ack before its own note. */
  sy_audit_record (self->audit, connection, command, "ok");
  sy_json_protocol_send_ack (protocol, connection, id, NULL, NULL);
  sy_display_protocol_show (self, sy_connection_get_label (connection), command);
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

  /**
   * SyDisplayProtocol::note:
   * @self: the display protocol
   * @note: the note posted, `{"from","text","t"}`
   *
   * Emitted after a note was shown on every display.
   */
  signals[NOTE] =
    g_signal_new ("note",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, JSON_TYPE_NODE | G_SIGNAL_TYPE_STATIC_SCOPE);

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
