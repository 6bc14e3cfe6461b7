/* sy-tls.h
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

GTlsCertificate *sy_tls_load_certificate (const char  *cert_file,
                                          const char  *key_file,
                                          GError     **error);

G_END_DECLS
