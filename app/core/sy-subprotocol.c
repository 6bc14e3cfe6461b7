/* sy-subprotocol.c
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "sy-subprotocol"

#include "config.h"

#include "sy-connection.h"
#include "sy-subprotocol.h"

typedef struct
{
  char   *name;
  SyRole  role;
} SySubprotocolPrivate;

G_DEFINE_ABSTRACT_TYPE_WITH_PRIVATE (SySubprotocol, sy_subprotocol, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_NAME,
  PROP_ROLE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

const char *
sy_role_to_string (SyRole role)
{
  switch (role)
    {
    case SY_ROLE_VIEW:    return "view";
    case SY_ROLE_CONTROL: return "control";
    case SY_ROLE_NONE:
    default:              return "none";
    }
}

static void
sy_subprotocol_finalize (GObject *object)
{
  SySubprotocol *self = (SySubprotocol *)object;
  SySubprotocolPrivate *priv = sy_subprotocol_get_instance_private (self);

  g_clear_pointer (&priv->name, g_free);

  G_OBJECT_CLASS (sy_subprotocol_parent_class)->finalize (object);
}

static void
sy_subprotocol_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  SySubprotocol *self = SY_SUBPROTOCOL (object);
  SySubprotocolPrivate *priv = sy_subprotocol_get_instance_private (self);

  switch (prop_id)
    {
    case PROP_NAME:
      g_value_set_string (value, priv->name);
      break;

    case PROP_ROLE:
      g_value_set_int (value, priv->role);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sy_subprotocol_set_property (GObject      *object,
                             guint         prop_id,
                             const GValue *value,
                             GParamSpec   *pspec)
{
  SySubprotocol *self = SY_SUBPROTOCOL (object);
  SySubprotocolPrivate *priv = sy_subprotocol_get_instance_private (self);

  switch (prop_id)
    {
    case PROP_NAME:
      priv->name = g_value_dup_string (value);
      break;

    case PROP_ROLE:
      priv->role = g_value_get_int (value);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sy_subprotocol_class_init (SySubprotocolClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = sy_subprotocol_finalize;
  object_class->get_property = sy_subprotocol_get_property;
  object_class->set_property = sy_subprotocol_set_property;

  /**
   * SySubprotocol:name:
   *
   * The exact `Sec-WebSocket-Protocol` name.
   */
  properties[PROP_NAME] =
    g_param_spec_string ("name", NULL, NULL,
                         NULL,
                         (G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS));

  /**
   * SySubprotocol:role:
   *
   * The least role (a #SyRole) a connection needs to open it.
   */
  properties[PROP_ROLE] =
    g_param_spec_int ("role", NULL, NULL,
                      SY_ROLE_NONE, SY_ROLE_CONTROL, SY_ROLE_VIEW,
                      (G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
sy_subprotocol_init (SySubprotocol *self)
{
}

const char *
sy_subprotocol_get_name (SySubprotocol *self)
{
  SySubprotocolPrivate *priv = sy_subprotocol_get_instance_private (self);

  g_return_val_if_fail (SY_IS_SUBPROTOCOL (self), NULL);

  return priv->name;
}

SyRole
sy_subprotocol_get_role (SySubprotocol *self)
{
  SySubprotocolPrivate *priv = sy_subprotocol_get_instance_private (self);

  g_return_val_if_fail (SY_IS_SUBPROTOCOL (self), SY_ROLE_NONE);

  return priv->role;
}

void
sy_subprotocol_open (SySubprotocol *self,
                     SyConnection  *connection)
{
  g_return_if_fail (SY_IS_SUBPROTOCOL (self));
  g_return_if_fail (SY_IS_CONNECTION (connection));

  if (SY_SUBPROTOCOL_GET_CLASS (self)->open)
    SY_SUBPROTOCOL_GET_CLASS (self)->open (self, connection);
}

void
sy_subprotocol_message (SySubprotocol         *self,
                        SyConnection          *connection,
                        SoupWebsocketDataType  type,
                        GBytes                *payload)
{
  g_return_if_fail (SY_IS_SUBPROTOCOL (self));
  g_return_if_fail (SY_IS_CONNECTION (connection));
  g_return_if_fail (payload != NULL);

  if (SY_SUBPROTOCOL_GET_CLASS (self)->message)
    SY_SUBPROTOCOL_GET_CLASS (self)->message (self, connection, type, payload);
}

void
sy_subprotocol_close (SySubprotocol *self,
                      SyConnection  *connection)
{
  g_return_if_fail (SY_IS_SUBPROTOCOL (self));
  g_return_if_fail (SY_IS_CONNECTION (connection));

  if (SY_SUBPROTOCOL_GET_CLASS (self)->close)
    SY_SUBPROTOCOL_GET_CLASS (self)->close (self, connection);
}

/**
 * sy_subprotocol_prepare:
 * @self: a #SySubprotocol
 * @request: the handshake about to be accepted
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (nullable): what the connection's protocol data
 *   starts as, or %NULL; %NULL with @error set refuses the handshake
 */
GObject *
sy_subprotocol_prepare (SySubprotocol              *self,
                        const SySubprotocolRequest *request,
                        GError                    **error)
{
  g_return_val_if_fail (SY_IS_SUBPROTOCOL (self), NULL);
  g_return_val_if_fail (request != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (SY_SUBPROTOCOL_GET_CLASS (self)->prepare)
    return SY_SUBPROTOCOL_GET_CLASS (self)->prepare (self, request, error);

  return NULL;
}

/**
 * sy_subprotocol_stop:
 * @self: a #SySubprotocol
 *
 * Tells @self the server stops. Called on the server thread.
 */
void
sy_subprotocol_stop (SySubprotocol *self)
{
  g_return_if_fail (SY_IS_SUBPROTOCOL (self));

  if (SY_SUBPROTOCOL_GET_CLASS (self)->stop)
    SY_SUBPROTOCOL_GET_CLASS (self)->stop (self);
}
