/* sy-token.h
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "sy-types.h"

G_BEGIN_DECLS

#define SY_TYPE_TOKEN_KEEPER (sy_token_keeper_get_type ())

G_DECLARE_FINAL_TYPE (SyTokenKeeper, sy_token_keeper, SY, TOKEN_KEEPER, GObject)

#define SY_TOKEN_ERROR (sy_token_error_quark ())

typedef enum
{
  SY_TOKEN_ERROR_MISSING,
  SY_TOKEN_ERROR_MALFORMED,
  SY_TOKEN_ERROR_BAD_SIGNATURE,
  SY_TOKEN_ERROR_EXPIRED,
  SY_TOKEN_ERROR_REVOKED,
} SyTokenError;

/* A day, unless the operator asks otherwise. */
#define SY_TOKEN_DEFAULT_LIFETIME_S (24 * 60 * 60)
#define SY_TOKEN_MAX_LENGTH         256

GQuark         sy_token_error_quark            (void);
SyTokenKeeper *sy_token_keeper_new             (const char     *secret_path,
                                                GError        **error);
char          *sy_token_keeper_issue           (SyTokenKeeper  *self,
                                                SyRole          role,
                                                gint64          lifetime_s);
SyRole         sy_token_keeper_verify          (SyTokenKeeper  *self,
                                                const char     *token,
                                                gint64         *expires_at,
                                                GError        **error);
guint          sy_token_keeper_get_generation  (SyTokenKeeper  *self);
gint64         sy_token_keeper_get_now         (SyTokenKeeper  *self);
gboolean       sy_token_keeper_rotate          (SyTokenKeeper  *self,
                                                GError        **error);
void           sy_token_keeper_set_clock       (SyTokenKeeper  *self,
                                                gint64          unix_seconds);

G_END_DECLS
