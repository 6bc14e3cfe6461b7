/* sy-audit.c
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "sy-audit"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "sy-audit.h"
#include "sy-connection.h"

/*
 * The audit log: one JSON object per line, appended, never rewritten:
 *
 *   {"t":"2026-11-25T14:03:07.123456Z","connection":3,"peer":"127.0.0.1:51234",
 *    "role":"control","protocol":"switchyard.relay.v1",
 *    "command":{"type":"set","id":7,"relay":"heater","on":true},"result":"ok"}
 *
 * Each line goes out in a single write(2) on an O_APPEND descriptor, so a
 * crash leaves at worst a missing last line, never a torn one in the middle.
 */

struct _SyAudit
{
  GObject  parent_instance;

  char    *path;
  int      fd;
};

G_DEFINE_FINAL_TYPE (SyAudit, sy_audit, G_TYPE_OBJECT)

static void
sy_audit_finalize (GObject *object)
{
  SyAudit *self = (SyAudit *)object;

  if (self->fd >= 0)
    close (self->fd);
  g_clear_pointer (&self->path, g_free);

  G_OBJECT_CLASS (sy_audit_parent_class)->finalize (object);
}

static void
sy_audit_class_init (SyAuditClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = sy_audit_finalize;
}

static void
sy_audit_init (SyAudit *self)
{
  self->fd = -1;
}

/**
 * sy_audit_new:
 * @path: (nullable): the log file; %NULL keeps no audit log
 *
 * Returns: (transfer full): a new #SyAudit
 */
SyAudit *
sy_audit_new (const char *path)
{
  SyAudit *self = g_object_new (SY_TYPE_AUDIT, NULL);

  if (path != NULL)
    {
      g_autofree char *dir = g_path_get_dirname (path);

      self->path = g_strdup (path);
      g_mkdir_with_parents (dir, 0700);
      self->fd = g_open (path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
      if (self->fd < 0)
        g_message ("Cannot open the audit log %s: %s", path, g_strerror (errno));
    }

  return self;
}

const char *
sy_audit_get_path (SyAudit *self)
{
  g_return_val_if_fail (SY_IS_AUDIT (self), NULL);
  return self->path;
}

/* One line: who (a connection's id, or %NULL for a bridge), from where,
 * with which role and protocol, what they sent and how it ended. */
static char *
audit_line (JsonNode   *connection_id,
            const char *peer,
            SyRole      role,
            const char *protocol,
            JsonObject *command,
            const char *result)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *time = NULL;
  char *text;

  time = g_date_time_format (now, "%Y-%m-%dT%H:%M:%S.%fZ");

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "t");
  json_builder_add_string_value (builder, time);
  json_builder_set_member_name (builder, "connection");
  json_builder_add_value (builder, connection_id);
  json_builder_set_member_name (builder, "peer");
  json_builder_add_string_value (builder, peer);
  json_builder_set_member_name (builder, "role");
  json_builder_add_string_value (builder, sy_role_to_string (role));
  json_builder_set_member_name (builder, "protocol");
  json_builder_add_string_value (builder, protocol);
  json_builder_set_member_name (builder, "command");
  if (command != NULL)
    {
      JsonNode *node = json_node_new (JSON_NODE_OBJECT);

      json_node_set_object (node, command);
      json_builder_add_value (builder, node);
    }
  else
    {
      json_builder_add_null_value (builder);
    }
  json_builder_set_member_name (builder, "result");
  json_builder_add_string_value (builder, result);
  json_builder_end_object (builder);

  root = json_builder_get_root (builder);
  text = json_to_string (root, FALSE);

  /* json-glib 1.6 writes some doubles (1e20 as "1e+20.0") as text that is
   * not JSON. The audit log must stay machine-readable: such a command is
   * recorded without its body. */
  {
    g_autoptr(JsonParser) check = json_parser_new ();

    if (!json_parser_load_from_data (check, text, -1, NULL))
      {
        JsonObject *object = json_node_get_object (root);

        json_object_set_null_member (object, "command");
        json_object_set_string_member (object, "note", "the command held numbers that cannot be written back");
        g_free (text);
        text = json_to_string (root, FALSE);
      }
  }

  return text;
}

static void
audit_append (SyAudit    *self,
              const char *text)
{
  g_autofree char *line = g_strconcat (text, "\n", NULL);

  if (self->fd >= 0)
    {
      gsize len = strlen (line);
      gssize written = write (self->fd, line, len);

      if (written != (gssize) len)
        g_message ("Cannot append to the audit log %s: %s", self->path,
                   written < 0 ? g_strerror (errno) : "short write");
    }
}

/**
 * sy_audit_record:
 * @self: a #SyAudit
 * @connection: who
 * @command: (nullable): what they sent
 * @result: "ok" or an error code
 *
 * Appends one line.
 */
void
sy_audit_record (SyAudit      *self,
                 SyConnection *connection,
                 JsonObject   *command,
                 const char   *result)
{
  g_autofree char *text = NULL;
  JsonNode *id;

  g_return_if_fail (SY_IS_AUDIT (self));
  g_return_if_fail (SY_IS_CONNECTION (connection));

  id = json_node_new (JSON_NODE_VALUE);
  json_node_set_int (id, (gint64) sy_connection_get_id (connection));
  text = audit_line (id, sy_connection_get_peer (connection), sy_connection_get_role (connection),
                     sy_connection_get_subprotocol (connection), command, result);

  sy_connection_log (connection, G_LOG_LEVEL_INFO, "audit: %s", text);
  audit_append (self, text);
}

/**
 * sy_audit_record_bridge:
 * @self: a #SyAudit
 * @peer: where the command came from, e.g. the broker's address (never
 *   with a password)
 * @role: the role the bridge grants
 * @protocol: the bridge, e.g. "mqtt"
 * @command: (nullable): what arrived
 * @result: "ok" or an error code
 *
 * Appends one line for a command that came through a bridge rather than a
 * WebSocket connection: its "connection" is null.
 */
void
sy_audit_record_bridge (SyAudit    *self,
                        const char *peer,
                        SyRole      role,
                        const char *protocol,
                        JsonObject *command,
                        const char *result)
{
  g_autofree char *text = NULL;

  g_return_if_fail (SY_IS_AUDIT (self));
  g_return_if_fail (peer != NULL && protocol != NULL && result != NULL);

  text = audit_line (json_node_new (JSON_NODE_NULL), peer, role, protocol, command, result);

  g_info ("audit: %s", text);
  audit_append (self, text);
}
