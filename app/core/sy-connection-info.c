/* sy-connection-info.c
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "sy-connection-info"

#include "config.h"

#include "sy-connection-info-private.h"

/*
 * The GUI thread's picture of one connection: the items of
 * sy_server_get_connections(). Identity is fixed at creation; the figures
 * are refreshed by the server's hand-off with property notifications, so
 * views can bind to them.
 */

struct _SyConnectionInfo
{
  GObject            parent_instance;

  char              *peer;
  char              *origin;
  char              *subprotocol;
  guint64            id;
  SyRole             role;
  gint64             connected_since;
  SyConnectionStats  stats;
};

G_DEFINE_FINAL_TYPE (SyConnectionInfo, sy_connection_info, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_ID,
  PROP_PEER,
  PROP_ORIGIN,
  PROP_SUBPROTOCOL,
  PROP_ROLE,
  PROP_CONNECTED_SINCE,
  PROP_MESSAGES_IN,
  PROP_MESSAGES_OUT,
  PROP_BYTES_IN,
  PROP_BYTES_OUT,
  PROP_RTT,
  PROP_QUEUED,
  PROP_STATE,
  PROP_CLOSE_CODE,
  PROP_PROCESS_ID,
  PROP_PROCESS_STARTED,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
sy_connection_info_finalize (GObject *object)
{
  SyConnectionInfo *self = (SyConnectionInfo *)object;

  g_clear_pointer (&self->peer, g_free);
  g_clear_pointer (&self->origin, g_free);
  g_clear_pointer (&self->subprotocol, g_free);

  G_OBJECT_CLASS (sy_connection_info_parent_class)->finalize (object);
}

static void
sy_connection_info_get_property (GObject    *object,
                                 guint       prop_id,
                                 GValue     *value,
                                 GParamSpec *pspec)
{
  SyConnectionInfo *self = SY_CONNECTION_INFO (object);

  switch (prop_id)
    {
    case PROP_ID:              g_value_set_uint64 (value, self->id); break;
    case PROP_PEER:            g_value_set_string (value, self->peer); break;
    case PROP_ORIGIN:          g_value_set_string (value, self->origin); break;
    case PROP_SUBPROTOCOL:     g_value_set_string (value, self->subprotocol); break;
    case PROP_ROLE:            g_value_set_int (value, self->role); break;
    case PROP_CONNECTED_SINCE: g_value_set_int64 (value, self->connected_since); break;
    case PROP_MESSAGES_IN:     g_value_set_uint64 (value, self->stats.messages_in); break;
    case PROP_MESSAGES_OUT:    g_value_set_uint64 (value, self->stats.messages_out); break;
    case PROP_BYTES_IN:        g_value_set_uint64 (value, self->stats.bytes_in); break;
    case PROP_BYTES_OUT:       g_value_set_uint64 (value, self->stats.bytes_out); break;
    case PROP_RTT:             g_value_set_int64 (value, self->stats.rtt); break;
    case PROP_QUEUED:          g_value_set_uint (value, self->stats.queued); break;
    case PROP_STATE:           g_value_set_enum (value, self->stats.state); break;
    case PROP_CLOSE_CODE:      g_value_set_uint (value, self->stats.close_code); break;
    case PROP_PROCESS_ID:      g_value_set_int (value, self->stats.process_id); break;
    case PROP_PROCESS_STARTED: g_value_set_int64 (value, self->stats.process_started); break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sy_connection_info_class_init (SyConnectionInfoClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags flags = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY;

  object_class->finalize = sy_connection_info_finalize;
  object_class->get_property = sy_connection_info_get_property;

  properties[PROP_ID] = g_param_spec_uint64 ("id", NULL, NULL, 0, G_MAXUINT64, 0, flags);
  properties[PROP_PEER] = g_param_spec_string ("peer", NULL, NULL, NULL, flags);
  properties[PROP_ORIGIN] = g_param_spec_string ("origin", NULL, NULL, NULL, flags);
  properties[PROP_SUBPROTOCOL] = g_param_spec_string ("subprotocol", NULL, NULL, NULL, flags);
  properties[PROP_ROLE] = g_param_spec_int ("role", NULL, NULL, SY_ROLE_NONE, SY_ROLE_CONTROL, SY_ROLE_NONE, flags);
  properties[PROP_CONNECTED_SINCE] = g_param_spec_int64 ("connected-since", NULL, NULL, 0, G_MAXINT64, 0, flags);
  properties[PROP_MESSAGES_IN] = g_param_spec_uint64 ("messages-in", NULL, NULL, 0, G_MAXUINT64, 0, flags);
  properties[PROP_MESSAGES_OUT] = g_param_spec_uint64 ("messages-out", NULL, NULL, 0, G_MAXUINT64, 0, flags);
  properties[PROP_BYTES_IN] = g_param_spec_uint64 ("bytes-in", NULL, NULL, 0, G_MAXUINT64, 0, flags);
  properties[PROP_BYTES_OUT] = g_param_spec_uint64 ("bytes-out", NULL, NULL, 0, G_MAXUINT64, 0, flags);
  properties[PROP_RTT] = g_param_spec_int64 ("rtt", NULL, NULL, -1, G_MAXINT64, -1, flags);
  properties[PROP_QUEUED] = g_param_spec_uint ("queued", NULL, NULL, 0, G_MAXUINT, 0, flags);
  properties[PROP_STATE] = g_param_spec_enum ("state", NULL, NULL, SOUP_TYPE_WEBSOCKET_STATE,
                                              SOUP_WEBSOCKET_STATE_OPEN, flags);
  properties[PROP_CLOSE_CODE] = g_param_spec_uint ("close-code", NULL, NULL, 0, G_MAXUINT16, 0, flags);
  /**
   * SyConnectionInfo:process-id:
   *
   * The process that serves the connection (a program-backed
   * subprotocol's), or 0.
   */
  properties[PROP_PROCESS_ID] = g_param_spec_int ("process-id", NULL, NULL, 0, G_MAXINT, 0, flags);
  /**
   * SyConnectionInfo:process-started:
   *
   * When that process started, in µs since the epoch, or 0.
   */
  properties[PROP_PROCESS_STARTED] = g_param_spec_int64 ("process-started", NULL, NULL, 0, G_MAXINT64, 0, flags);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
sy_connection_info_init (SyConnectionInfo *self)
{
  self->stats.rtt = -1;
  self->stats.state = SOUP_WEBSOCKET_STATE_OPEN;
}

/* Built on the server thread and handed over whole: no one else has it yet. */
SyConnectionInfo *
_sy_connection_info_new (guint64     id,
                         const char *peer,
                         const char *origin,
                         const char *subprotocol,
                         SyRole      role,
                         gint64      connected_since)
{
  SyConnectionInfo *self = g_object_new (SY_TYPE_CONNECTION_INFO, NULL);

  self->id = id;
  self->peer = g_strdup (peer);
  self->origin = g_strdup (origin);
  self->subprotocol = g_strdup (subprotocol);
  self->role = role;
  self->connected_since = connected_since;

  return self;
}

/* On the GUI thread: applies new figures, notifying what changed. */
void
_sy_connection_info_update (SyConnectionInfo        *self,
                            const SyConnectionStats *stats)
{
  SyConnectionStats old = self->stats;

  self->stats = *stats;

  g_object_freeze_notify (G_OBJECT (self));
#define NOTIFY_IF(field, prop) \
  if (old.field != stats->field) g_object_notify_by_pspec (G_OBJECT (self), properties[prop])
  NOTIFY_IF (messages_in, PROP_MESSAGES_IN);
  NOTIFY_IF (messages_out, PROP_MESSAGES_OUT);
  NOTIFY_IF (bytes_in, PROP_BYTES_IN);
  NOTIFY_IF (bytes_out, PROP_BYTES_OUT);
  NOTIFY_IF (rtt, PROP_RTT);
  NOTIFY_IF (queued, PROP_QUEUED);
  NOTIFY_IF (state, PROP_STATE);
  NOTIFY_IF (close_code, PROP_CLOSE_CODE);
  NOTIFY_IF (process_id, PROP_PROCESS_ID);
  NOTIFY_IF (process_started, PROP_PROCESS_STARTED);
#undef NOTIFY_IF
  g_object_thaw_notify (G_OBJECT (self));
}

guint64
sy_connection_info_get_id (SyConnectionInfo *self)
{
  g_return_val_if_fail (SY_IS_CONNECTION_INFO (self), 0);
  return self->id;
}

const char *
sy_connection_info_get_peer (SyConnectionInfo *self)
{
  g_return_val_if_fail (SY_IS_CONNECTION_INFO (self), NULL);
  return self->peer;
}

const char *
sy_connection_info_get_origin (SyConnectionInfo *self)
{
  g_return_val_if_fail (SY_IS_CONNECTION_INFO (self), NULL);
  return self->origin;
}

const char *
sy_connection_info_get_subprotocol (SyConnectionInfo *self)
{
  g_return_val_if_fail (SY_IS_CONNECTION_INFO (self), NULL);
  return self->subprotocol;
}

SyRole
sy_connection_info_get_role (SyConnectionInfo *self)
{
  g_return_val_if_fail (SY_IS_CONNECTION_INFO (self), SY_ROLE_NONE);
  return self->role;
}

gint64
sy_connection_info_get_connected_since (SyConnectionInfo *self)
{
  g_return_val_if_fail (SY_IS_CONNECTION_INFO (self), 0);
  return self->connected_since;
}

guint64
sy_connection_info_get_messages_in (SyConnectionInfo *self)
{
  g_return_val_if_fail (SY_IS_CONNECTION_INFO (self), 0);
  return self->stats.messages_in;
}

guint64
sy_connection_info_get_messages_out (SyConnectionInfo *self)
{
  g_return_val_if_fail (SY_IS_CONNECTION_INFO (self), 0);
  return self->stats.messages_out;
}

guint64
sy_connection_info_get_bytes_in (SyConnectionInfo *self)
{
  g_return_val_if_fail (SY_IS_CONNECTION_INFO (self), 0);
  return self->stats.bytes_in;
}

guint64
sy_connection_info_get_bytes_out (SyConnectionInfo *self)
{
  g_return_val_if_fail (SY_IS_CONNECTION_INFO (self), 0);
  return self->stats.bytes_out;
}

gint64
sy_connection_info_get_rtt (SyConnectionInfo *self)
{
  g_return_val_if_fail (SY_IS_CONNECTION_INFO (self), -1);
  return self->stats.rtt;
}

guint
sy_connection_info_get_queued (SyConnectionInfo *self)
{
  g_return_val_if_fail (SY_IS_CONNECTION_INFO (self), 0);
  return self->stats.queued;
}

SoupWebsocketState
sy_connection_info_get_state (SyConnectionInfo *self)
{
  g_return_val_if_fail (SY_IS_CONNECTION_INFO (self), SOUP_WEBSOCKET_STATE_CLOSED);
  return self->stats.state;
}

guint
sy_connection_info_get_close_code (SyConnectionInfo *self)
{
  g_return_val_if_fail (SY_IS_CONNECTION_INFO (self), 0);
  return self->stats.close_code;
}

/**
 * sy_connection_info_get_process_id:
 * @self: a #SyConnectionInfo
 *
 * Returns: the process serving the connection, or 0
 */
int
sy_connection_info_get_process_id (SyConnectionInfo *self)
{
  g_return_val_if_fail (SY_IS_CONNECTION_INFO (self), 0);
  return self->stats.process_id;
}

/**
 * sy_connection_info_get_process_started:
 * @self: a #SyConnectionInfo
 *
 * Returns: when the process started (µs of g_get_real_time()), or 0
 */
gint64
sy_connection_info_get_process_started (SyConnectionInfo *self)
{
  g_return_val_if_fail (SY_IS_CONNECTION_INFO (self), 0);
  return self->stats.process_started;
}
