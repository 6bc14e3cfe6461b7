/* sy-mqtt.h
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "sy-audit.h"
#include "sy-bench.h"
#include "sy-display-protocol.h"

G_BEGIN_DECLS

#define SY_MQTT_DEFAULT_PREFIX "switchyard"
/* Command ids remembered to answer a repeated one as a duplicate. */
#define SY_MQTT_MAX_SEEN_IDS   1024

#define SY_MQTT_ERROR (sy_mqtt_error_quark ())

typedef enum
{
  SY_MQTT_ERROR_BAD_URL,
  SY_MQTT_ERROR_BAD_CONFIG,
  SY_MQTT_ERROR_UNSUPPORTED,
} SyMqttError;

/**
 * SyMqttState:
 * @SY_MQTT_CONNECTING: not (yet, or no longer) connected to the broker; trying
 * @SY_MQTT_CONNECTED: connected to the broker
 * @SY_MQTT_REFUSED: the broker refused the connection (bad credentials,
 *   not authorised, …); retrying slowly
 */
typedef enum
{
  SY_MQTT_CONNECTING,
  SY_MQTT_CONNECTED,
  SY_MQTT_REFUSED,
} SyMqttState;

/**
 * SyMqttConfig:
 * @url: the broker: `mqtt://[USER[:PASSWORD]@]HOST[:PORT]` or `mqtts://…`
 * @password: (nullable): the password for the user in @url, if @url has
 *   none (so it need not be in the address)
 * @prefix: the first topic levels (default "switchyard")
 * @instance: this instance's name under @prefix (default: the host name)
 * @mirror: (nullable): another instance's name, to show its hardware
 *   through the broker instead of this bench's own
 * @role: what commands from the broker may do: %SY_ROLE_VIEW (refused, the
 *   default) or %SY_ROLE_CONTROL
 * @ca_file: (nullable): PEM certificates to trust for mqtts://
 * @cert_file: (nullable): a PEM client certificate for mqtts://
 * @key_file: (nullable): its PEM private key
 */
typedef struct
{
  char   *url;
  char   *password;
  char   *prefix;
  char   *instance;
  char   *mirror;
  SyRole  role;
  char   *ca_file;
  char   *cert_file;
  char   *key_file;
} SyMqttConfig;

#define SY_TYPE_MQTT (sy_mqtt_get_type ())

G_DECLARE_FINAL_TYPE (SyMqtt, sy_mqtt, SY, MQTT, GObject)

GQuark         sy_mqtt_error_quark      (void);
gboolean       sy_mqtt_is_supported     (void);
gboolean       sy_mqtt_parse_url        (const char          *url,
                                         gboolean            *secure,
                                         char               **host,
                                         int                 *port,
                                         char               **user,
                                         char               **password,
                                         char               **public_url,
                                         GError             **error);
char          *sy_mqtt_default_instance (void);

SyMqttConfig  *sy_mqtt_config_new       (const char          *url);
SyMqttConfig  *sy_mqtt_config_copy      (const SyMqttConfig  *config);
void           sy_mqtt_config_free      (SyMqttConfig        *config);
gboolean       sy_mqtt_config_check     (const SyMqttConfig  *config,
                                         GError             **error);

SyMqtt        *sy_mqtt_new              (SyBench             *bench,
                                         SyAudit             *audit,
                                         const SyMqttConfig  *config,
                                         const char          *session);
void           sy_mqtt_set_display      (SyMqtt              *self,
                                         SyDisplayProtocol   *display);
void           sy_mqtt_start            (SyMqtt              *self);
void           sy_mqtt_stop             (SyMqtt              *self);
SyMqttState    sy_mqtt_get_state        (SyMqtt              *self);
const char    *sy_mqtt_get_problem      (SyMqtt              *self);
JsonNode      *sy_mqtt_to_json          (SyMqtt              *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SyMqttConfig, sy_mqtt_config_free)

G_END_DECLS
