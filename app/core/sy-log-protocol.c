/* sy-log-protocol.c
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "sy-log-protocol"

#include "config.h"

#include "sy-connection.h"
#include "sy-log-protocol.h"
#include "sy-log.h"

/*
 * switchyard.log.v1: the recent log, then every new entry, at or above each
 * client's minimum level. Entries reach the server thread through a log
 * listener, in batches, so logging from any thread never waits for a
 * client.
 */

struct _SyLogProtocol
{
  SyJsonProtocol  parent_instance;

  guint           listener;
};

G_DEFINE_FINAL_TYPE (SyLogProtocol, sy_log_protocol, SY_TYPE_JSON_PROTOCOL)

typedef struct
{
  GLogLevelFlags min;
} LogClient;

/* GLib's levels count down in severity: a smaller bit is more severe.
 *
 * libsoup's own debug lines describe the frames being written, including
 * the frames that carry log entries: forwarding them would make every entry
 * beget more, without end. They stay in the console and the window. */
static gboolean
passes (SyLogEntry *entry,
        LogClient  *client)
{
  if (sy_log_entry_get_level (entry) == G_LOG_LEVEL_DEBUG &&
      g_str_has_prefix (sy_log_entry_get_domain (entry), "libsoup"))
    return FALSE;

  return sy_log_entry_get_level (entry) <= client->min;
}

static char *
format_entry (SyLogEntry *entry)
{
  g_autoptr(JsonObject) object = json_object_new ();
  g_autoptr(JsonNode) root = json_node_new (JSON_NODE_OBJECT);

  json_object_set_string_member (object, "type", "log");
  json_object_set_int_member (object, "t", sy_log_entry_get_time (entry) / 1000);
  json_object_set_int_member (object, "t_us", sy_log_entry_get_time (entry));
  json_object_set_string_member (object, "level", sy_log_entry_get_level_name (entry));
  json_object_set_string_member (object, "domain", sy_log_entry_get_domain (entry));
  json_object_set_string_member (object, "message", sy_log_entry_get_message (entry));
  if (sy_log_entry_get_connection (entry) != 0)
    json_object_set_int_member (object, "connection", sy_log_entry_get_connection (entry));
  json_node_set_object (root, object);

  return json_to_string (root, FALSE);
}

static void
on_entries (SyLogEntry **entries,
            guint        n_entries,
            gpointer     user_data)
{
  SyLogProtocol *self = user_data;
  GPtrArray *connections = sy_json_protocol_get_connections (SY_JSON_PROTOCOL (self));
  g_autoptr(GPtrArray) snapshot = g_ptr_array_new_with_free_func (g_object_unref);

  /* Sending may close a connection and change the list. */
  for (guint i = 0; i < connections->len; i++)
    g_ptr_array_add (snapshot, g_object_ref (g_ptr_array_index (connections, i)));

  for (guint e = 0; e < n_entries; e++)
    {
      g_autofree char *text = NULL;

      for (guint i = 0; i < snapshot->len; i++)
        {
          SyConnection *connection = g_ptr_array_index (snapshot, i);
          LogClient *client = sy_json_protocol_get_data (connection);

          if (client == NULL || !passes (entries[e], client))
            continue;
          if (text == NULL)
            text = format_entry (entries[e]);
          sy_connection_send_text (connection, text);
        }
    }
}

static void
sy_log_protocol_welcome (SyJsonProtocol *protocol,
                         SyConnection   *connection)
{
  SyLogProtocol *self = SY_LOG_PROTOCOL (protocol);
  g_autoptr(GPtrArray) recent = sy_log_dup_recent ();
  LogClient *client = g_new0 (LogClient, 1);

  client->min = G_LOG_LEVEL_DEBUG;
  sy_json_protocol_set_data (connection, client, g_free);

  if (self->listener == 0)
    self->listener = sy_log_add_listener (NULL, on_entries, g_object_ref (self), g_object_unref);

  for (guint i = 0; i < recent->len; i++)
    {
      g_autofree char *text = NULL;

      if (!passes (g_ptr_array_index (recent, i), client))
        continue;
      text = format_entry (g_ptr_array_index (recent, i));
      sy_connection_send_text (connection, text);
    }
}

static void
sy_log_protocol_goodbye (SyJsonProtocol *protocol,
                         SyConnection   *connection)
{
  SyLogProtocol *self = SY_LOG_PROTOCOL (protocol);

  /* The list still holds the leaving connection. */
  if (sy_json_protocol_get_connections (protocol)->len <= 1 && self->listener != 0)
    {
      sy_log_remove_listener (self->listener);
      self->listener = 0;
    }
}

static void
sy_log_protocol_command (SyJsonProtocol *protocol,
                         SyConnection   *connection,
                         const char     *type,
                         JsonObject     *command,
                         JsonNode       *id)
{
  LogClient *client = sy_json_protocol_get_data (connection);
  JsonNode *min;
  int level;

  if (g_strcmp0 (type, "level") != 0)
    {
      sy_json_protocol_send_error (protocol, connection, id, SY_ERROR_UNKNOWN_TYPE,
                                   "Unknown type \"%s\": %s takes level", type, SY_LOG_PROTOCOL_NAME);
      return;
    }

  min = json_object_get_member (command, "min");
  level = (min != NULL && JSON_NODE_HOLDS_VALUE (min) && json_node_get_value_type (min) == G_TYPE_STRING)
          ? sy_log_level_from_string (json_node_get_string (min)) : -1;
  if (level < 0)
    {
      sy_json_protocol_send_error (protocol, connection, id, SY_ERROR_BAD_REQUEST,
                                   "\"min\" must be one of debug, info, message, warning, critical, error");
      return;
    }

  client->min = level;
  sy_json_protocol_send_ack (protocol, connection, id, "min", json_node_init_string (json_node_alloc (),
                                                                                     json_node_get_string (min)));
}

static void
sy_log_protocol_dispose (GObject *object)
{
  SyLogProtocol *self = (SyLogProtocol *)object;

  if (self->listener != 0)
    {
      sy_log_remove_listener (self->listener);
      self->listener = 0;
    }

  G_OBJECT_CLASS (sy_log_protocol_parent_class)->dispose (object);
}

static void
sy_log_protocol_class_init (SyLogProtocolClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  SyJsonProtocolClass *json_class = SY_JSON_PROTOCOL_CLASS (klass);

  object_class->dispose = sy_log_protocol_dispose;

  json_class->welcome = sy_log_protocol_welcome;
  json_class->goodbye = sy_log_protocol_goodbye;
  json_class->command = sy_log_protocol_command;
}

static void
sy_log_protocol_init (SyLogProtocol *self)
{
}

SySubprotocol *
sy_log_protocol_new (void)
{
  return g_object_new (SY_TYPE_LOG_PROTOCOL,
                       "name", SY_LOG_PROTOCOL_NAME,
                       "role", SY_ROLE_CONTROL,
                       NULL);
}
