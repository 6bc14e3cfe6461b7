/* sy-program-protocol.h
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include "sy-subprotocol.h"

G_BEGIN_DECLS

/* The operator's configuration file in the state directory. */
#define SY_PROGRAM_PROTOCOL_FILE "subprotocols.ini"

/* After SIGTERM, a program has this long before SIGKILL. */
#define SY_PROGRAM_KILL_DELAY_MS 2000

/* Messages (or bytes, see SY_CONNECTION_MAX_QUEUED_BYTES) that may wait for
 * a program to read its stdin before the connection is closed with 1008. */
#define SY_PROGRAM_MAX_QUEUED 256

/**
 * SyProgramMode:
 * @SY_PROGRAM_MODE_PER_CONNECTION: one process per connection
 * @SY_PROGRAM_MODE_SHARED: one long-running process for every connection,
 *   spoken to in JSON lines that carry the connection id
 */
typedef enum
{
  SY_PROGRAM_MODE_PER_CONNECTION,
  SY_PROGRAM_MODE_SHARED,
} SyProgramMode;

#define SY_TYPE_PROGRAM_PROTOCOL (sy_program_protocol_get_type ())

G_DECLARE_FINAL_TYPE (SyProgramProtocol, sy_program_protocol, SY, PROGRAM_PROTOCOL, SySubprotocol)

SySubprotocol       *sy_program_protocol_new               (const char          *name,
                                                            const char * const  *argv,
                                                            SyProgramMode        mode,
                                                            SyRole               role,
                                                            gboolean             binary);
SySubprotocol       *sy_program_protocol_parse             (const char          *spec,
                                                            GError             **error);
GPtrArray           *sy_program_protocol_load_file         (const char          *path,
                                                            GError             **error);
gboolean             sy_program_protocol_check_name        (const char          *name,
                                                            GError             **error);
const char * const  *sy_program_protocol_get_argv          (SyProgramProtocol   *self);
SyProgramMode        sy_program_protocol_get_mode          (SyProgramProtocol   *self);
gboolean             sy_program_protocol_get_binary        (SyProgramProtocol   *self);
char                *sy_program_protocol_dup_command_line  (SyProgramProtocol   *self);
char                *sy_program_protocol_describe          (SyProgramProtocol   *self);
void                 sy_program_protocol_configure         (SyProgramProtocol   *self,
                                                            const char          *instance,
                                                            guint64              max_message_size);
guint                sy_program_protocol_get_n_processes   (SyProgramProtocol   *self);

G_END_DECLS
