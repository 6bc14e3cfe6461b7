/* sy-server.h
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "sy-audit.h"
#include "sy-bench.h"
#include "sy-mqtt.h"
#include "sy-subprotocol.h"
#include "sy-types.h"

G_BEGIN_DECLS

#define SY_TYPE_SERVER (sy_server_get_type ())

G_DECLARE_FINAL_TYPE (SyServer, sy_server, SY, SERVER, GObject)

#define SY_SERVER_DEFAULT_BIND_ADDRESS     "127.0.0.1"
#define SY_SERVER_DEFAULT_MAX_CONNECTIONS  1000
#define SY_SERVER_DEFAULT_MAX_MESSAGE_SIZE (1024 * 1024)
#define SY_SERVER_DEFAULT_PING_INTERVAL    10
#define SY_SERVER_DEFAULT_PONG_TIMEOUT     10
#define SY_SERVER_DEFAULT_REQUEST_TIMEOUT  10
#define SY_SERVER_DEFAULT_PEER_RATE        20

SyServer   *sy_server_new                   (void);
void        sy_server_add_subprotocol       (SyServer       *self,
                                             SySubprotocol  *protocol);
char      **sy_server_list_subprotocols     (SyServer       *self);
GPtrArray  *sy_server_dup_subprotocols      (SyServer       *self);
gboolean    sy_server_start                 (SyServer       *self,
                                             GError        **error);
void        sy_server_stop                  (SyServer       *self);
gboolean    sy_server_get_running           (SyServer       *self);
guint       sy_server_get_port              (SyServer       *self);
char       *sy_server_dup_uri               (SyServer       *self);
GListModel *sy_server_get_connections       (SyServer       *self);
guint       sy_server_get_n_connections     (SyServer       *self);
void        sy_server_set_bench             (SyServer       *self,
                                             SyBench        *bench);
SyBench    *sy_server_get_bench             (SyServer       *self);
gboolean    sy_server_set_uplink            (SyServer       *self,
                                             const char     *url,
                                             const char     *token,
                                             GTlsDatabase   *tls_database,
                                             GError        **error);
const char *sy_server_get_uplink_url        (SyServer       *self);
gboolean    sy_server_set_mqtt              (SyServer       *self,
                                             const SyMqttConfig *config,
                                             GError        **error);
const SyMqttConfig *
            sy_server_get_mqtt_config       (SyServer       *self);
void        sy_server_install_bench         (SyServer       *self,
                                             SyBench        *bench,
                                             SyAudit        *audit);
char       *sy_server_dup_page_uri          (SyServer       *self,
                                             SyRole          role);
gboolean    sy_server_rotate_tokens         (SyServer       *self,
                                             GError        **error);
void        sy_server_close_connection      (SyServer       *self,
                                             guint64         id,
                                             gushort         code,
                                             const char     *reason);
gboolean    sy_server_invoke                (SyServer       *self,
                                             GSourceFunc     function,
                                             gpointer        data,
                                             GDestroyNotify  notify);

G_END_DECLS
