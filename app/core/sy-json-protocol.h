/* sy-json-protocol.h
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <json-glib/json-glib.h>

#include "sy-subprotocol.h"

G_BEGIN_DECLS

#define SY_TYPE_JSON_PROTOCOL (sy_json_protocol_get_type ())

G_DECLARE_DERIVABLE_TYPE (SyJsonProtocol, sy_json_protocol, SY, JSON_PROTOCOL, SySubprotocol)

/* The error codes of the wire contract. */
#define SY_ERROR_BAD_JSON      "bad-json"
#define SY_ERROR_BAD_REQUEST   "bad-request"
#define SY_ERROR_UNKNOWN_TYPE  "unknown-type"
#define SY_ERROR_UNKNOWN_RELAY "unknown-relay"
#define SY_ERROR_FORBIDDEN     "forbidden"
#define SY_ERROR_INTERLOCK     "interlock"
#define SY_ERROR_RATE_LIMITED  "rate-limited"
#define SY_ERROR_TOO_LONG      "too-long"
#define SY_ERROR_TIMEOUT       "timeout"
#define SY_ERROR_UNAVAILABLE   "unavailable"

/* Per connection: commands per second sustained, and the burst allowed. */
#define SY_JSON_PROTOCOL_RATE        20.0
#define SY_JSON_PROTOCOL_BURST       40.0
/* Bad messages tolerated in the window before the connection is closed. */
#define SY_JSON_PROTOCOL_MAX_ERRORS  20
#define SY_JSON_PROTOCOL_ERROR_WINDOW_S 10

/**
 * SyRateBucket:
 * @tokens: commands that may come now
 * @refilled_at: when @tokens was last topped up (monotonic µs)
 *
 * A token bucket: see sy_rate_bucket_init().
 */
typedef struct
{
  double tokens;
  gint64 refilled_at;
} SyRateBucket;

/**
 * SyJsonProtocolClass:
 * @welcome: after the hello: send the snapshot
 * @command: a well-formed command object with a string "type" and a valid
 *   "id"; answer with sy_json_protocol_send_ack() or _send_error()
 * @goodbye: the connection closed
 *
 * The shared part of every JSON subprotocol: the hello, parsing, the error
 * frames, the per-connection rate limit and the bad-input budget.
 */
struct _SyJsonProtocolClass
{
  SySubprotocolClass parent_class;

  void (*welcome) (SyJsonProtocol *self,
                   SyConnection   *connection);
  void (*command) (SyJsonProtocol *self,
                   SyConnection   *connection,
                   const char     *type,
                   JsonObject     *command,
                   JsonNode       *id);
  void (*goodbye) (SyJsonProtocol *self,
                   SyConnection   *connection);

  /*< private >*/
  gpointer _reserved[8];
};

void        sy_rate_bucket_init            (SyRateBucket   *bucket);
gboolean    sy_rate_bucket_take            (SyRateBucket   *bucket);
JsonObject *sy_json_command_parse          (const char     *data,
                                            gsize           len,
                                            JsonNode      **id_out,
                                            const char    **error_code,
                                            GError        **error);
void      sy_json_protocol_send_error      (SyJsonProtocol *self,
                                            SyConnection   *connection,
                                            JsonNode       *id,
                                            const char     *code,
                                            const char     *format,
                                            ...) G_GNUC_PRINTF (5, 6);
void      sy_json_protocol_send_ack        (SyJsonProtocol *self,
                                            SyConnection   *connection,
                                            JsonNode       *id,
                                            const char     *member,
                                            JsonNode       *value);
gboolean  sy_json_protocol_send_node       (SyConnection   *connection,
                                            JsonNode       *node);
GPtrArray *sy_json_protocol_get_connections (SyJsonProtocol *self);
gpointer  sy_json_protocol_get_data        (SyConnection   *connection);
void      sy_json_protocol_set_data        (SyConnection   *connection,
                                            gpointer        data,
                                            GDestroyNotify  destroy);
void      sy_json_protocol_set_session     (SyJsonProtocol *self,
                                            const char     *session_prefix);

G_END_DECLS
