/* sy-token.c
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "sy-token"

#include "config.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "sy-token.h"

/*
 * Role tokens are bearer strings that a client puts in the query string of
 * the WebSocket URI. They are not stored anywhere: the keeper signs what a
 * token claims and checks that signature again when the token comes back.
 *
 *   v1.c.1764079387.3.9f86d081884c7d65.Lq2cK7…(43 characters)
 *   |  | |          | |                |
 *   |  | |          | |                base64url (RFC 4648 §5, unpadded) of
 *   |  | |          | |                HMAC-SHA256 (secret, everything before
 *   |  | |          | |                the last dot)
 *   |  | |          | nonce: 8 random bytes in lower-case hex, so two tokens
 *   |  | |          |        issued in the same second still differ
 *   |  | |          generation of the secret when issued (see rotation)
 *   |  | expiry, seconds since the Unix epoch
 *   |  role: 'v' view, 'c' control
 *   format version
 *
 * Every character is unreserved in the sense of RFC 3986, so a token needs
 * no escaping in a URI.
 *
 * The secret is 32 random bytes that never leave the process except into
 * the secret file. Revoking every token at once does not need a new secret:
 * the generation counter is signed into each token, and rotation bumps it,
 * so tokens of an older generation keep a valid signature but are refused.
 *
 * The secret file is a small JSON object,
 *
 *   {"version":1,"secret":"<32 bytes in standard base64>","generation":N}
 *
 * replaced atomically on every change. A file that exists but cannot be
 * understood is an error, never silently overwritten: replacing it would
 * revoke every token handed out so far and hide whatever damaged it.
 *
 * The secret never changes after construction, so only the generation and
 * the test clock need the lock.
 */

#define SECRET_LENGTH         32
#define SECRET_FILE_VERSION   1
#define TOKEN_VERSION         "v1"
/* 8 random bytes in hex. */
#define NONCE_LENGTH          16
/* 32 bytes in unpadded base64: ceil (32 * 4 / 3). */
#define SIGNATURE_LENGTH      43
#define N_FIELDS              6

struct _SyTokenKeeper
{
  GObject  parent_instance;

  /* Owned, immutable after construction */
  char    *secret_path;
  guint8   secret[SECRET_LENGTH];

  /* Protected by mutex */
  GMutex   mutex;
  guint    generation;
  gint64   clock;
};

G_DEFINE_FINAL_TYPE (SyTokenKeeper, sy_token_keeper, G_TYPE_OBJECT)

G_DEFINE_QUARK (sy-token-error-quark, sy_token_error)

/* Copies of the secret we made ourselves are zeroed before they go back to
 * the allocator, so they do not linger in reused heap or in a core dump.
 * Best effort: libraries we hand the text to keep their own copies. A plain
 * memset() before free() may be optimised away as a dead store; writing
 * through a volatile pointer may not. */
static void
wipe (gpointer data,
      gsize    len)
{
  volatile guint8 *p = data;

  while (len-- > 0)
    *p++ = 0;
}

static void
wipe_string (char *str)
{
  if (str != NULL)
    {
      wipe (str, strlen (str));
      g_free (str);
    }
}

static void
sy_token_keeper_finalize (GObject *object)
{
  SyTokenKeeper *self = (SyTokenKeeper *)object;

  wipe (self->secret, sizeof self->secret);
  g_clear_pointer (&self->secret_path, g_free);
  g_mutex_clear (&self->mutex);

  G_OBJECT_CLASS (sy_token_keeper_parent_class)->finalize (object);
}

static void
sy_token_keeper_class_init (SyTokenKeeperClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = sy_token_keeper_finalize;
}

static void
sy_token_keeper_init (SyTokenKeeper *self)
{
  g_mutex_init (&self->mutex);
}

/* The kernel's CSPRNG through /dev/urandom, read with GIO. GLib's own
 * g_random_*() is a Mersenne Twister: predictable once enough output has
 * been seen, so it is only a last resort for systems without /dev/urandom
 * (a chroot without /dev, say), and we say so loudly. */
static void
fill_random (guint8 *buffer,
             gsize   len)
{
  g_autoptr(GFile) file = g_file_new_for_path ("/dev/urandom");
  g_autoptr(GFileInputStream) stream = NULL;
  g_autoptr(GError) error = NULL;
  gsize n_read = 0;

  stream = g_file_read (file, NULL, &error);
  if (stream != NULL &&
      g_input_stream_read_all (G_INPUT_STREAM (stream), buffer, len, &n_read, NULL, &error) &&
      n_read == len)
    return;

  g_warning ("Cannot read /dev/urandom (%s): the token secret falls back to "
             "GLib's non-cryptographic random generator",
             error != NULL ? error->message : "short read");

  for (gsize i = 0; i < len; i++)
    buffer[i] = (guint8) g_random_int_range (0, 256);
}

static gint64
get_now_locked (SyTokenKeeper *self)
{
  if (self->clock != 0)
    return self->clock;

  return g_get_real_time () / G_USEC_PER_SEC;
}

/* RFC 4648 §5: '-' and '_' in place of '+' and '/', no '=' padding. */
static char *
base64url_encode (const guint8 *data,
                  gsize         len)
{
  char *text = g_base64_encode (data, len);
  char *out = text;

  for (const char *in = text; *in != '\0'; in++)
    {
      if (*in == '=')
        continue;
      *out++ = *in == '+' ? '-' : *in == '/' ? '_' : *in;
    }
  *out = '\0';

  return text;
}

static char *
sign (SyTokenKeeper *self,
      const char    *text,
      gsize          len)
{
  g_autoptr(GHmac) hmac = g_hmac_new (G_CHECKSUM_SHA256, self->secret, sizeof self->secret);
  guint8 digest[32];
  gsize digest_len = sizeof digest;

  g_hmac_update (hmac, (const guchar *) text, len);
  g_hmac_get_digest (hmac, digest, &digest_len);
  g_assert (digest_len == sizeof digest);

  return base64url_encode (digest, digest_len);
}

/* Compares two strings of the same length without an early exit, so the
 * time taken says nothing about how many leading characters of a forged
 * signature were right. */
static gboolean
equal_in_constant_time (const char *a,
                        const char *b,
                        gsize       len)
{
  guint8 diff = 0;

  for (gsize i = 0; i < len; i++)
    diff |= (guint8) a[i] ^ (guint8) b[i];

  return diff == 0;
}

/* Decimal digits only: no sign, no spaces, no leading zeros, no overflow.
 * The signature already covers the exact text, but a strict reader keeps
 * one claim from having many spellings. */
static gboolean
parse_decimal (const char *text,
               guint64     max,
               guint64    *out)
{
  guint64 value = 0;

  if (text[0] == '\0' || (text[0] == '0' && text[1] != '\0'))
    return FALSE;

  for (const char *p = text; *p != '\0'; p++)
    {
      guint digit;

      if (!g_ascii_isdigit (*p))
        return FALSE;

      digit = (guint) (*p - '0');
      if (value > (max - digit) / 10)
        return FALSE;
      value = value * 10 + digit;
    }

  *out = value;

  return TRUE;
}

static gboolean
is_lower_hex (const char *text,
              gsize       len)
{
  if (strlen (text) != len)
    return FALSE;

  for (gsize i = 0; i < len; i++)
    {
      if (!g_ascii_isdigit (text[i]) && !(text[i] >= 'a' && text[i] <= 'f'))
        return FALSE;
    }

  return TRUE;
}

static gboolean
is_base64url (const char *text,
              gsize       len)
{
  if (strlen (text) != len)
    return FALSE;

  for (gsize i = 0; i < len; i++)
    {
      if (!g_ascii_isalnum (text[i]) && text[i] != '-' && text[i] != '_')
        return FALSE;
    }

  return TRUE;
}

static gboolean
save_secret (const char    *path,
             const guint8  *secret,
             guint          generation,
             GError       **error)
{
  g_autofree char *dir = NULL;
  char *encoded;
  char *contents;
  gboolean ret;

  g_assert (path != NULL);

  dir = g_path_get_dirname (path);

  /* Only the owner has any business near the secret. */
  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved_errno),
                   "Cannot create the directory %s for the token secret: %s",
                   dir, g_strerror (saved_errno));
      return FALSE;
    }

  /* CONSISTENT writes a temporary file, syncs it and renames it over the
   * old one, so a crash leaves either the old secret or the new one. */
  encoded = g_base64_encode (secret, SECRET_LENGTH);
  contents = g_strdup_printf ("{\"version\":%d,\"secret\":\"%s\",\"generation\":%u}\n",
                              SECRET_FILE_VERSION, encoded, generation);
  ret = g_file_set_contents_full (path, contents, -1,
                                  G_FILE_SET_CONTENTS_CONSISTENT, 0600, error);
  wipe_string (contents);
  wipe_string (encoded);

  return ret;
}

static gboolean G_GNUC_PRINTF (3, 4)
malformed_file (GError     **error,
                const char  *path,
                const char  *format,
                ...)
{
  g_autofree char *reason = NULL;
  va_list args;

  va_start (args, format);
  reason = g_strdup_vprintf (format, args);
  va_end (args);

  g_set_error (error, SY_TOKEN_ERROR, SY_TOKEN_ERROR_MALFORMED,
               "The token secret file %s is damaged (%s); move it away to start "
               "over with a new secret, which revokes every token issued so far",
               path, reason);

  return FALSE;
}

static gboolean
get_int_member (JsonObject *object,
                const char *name,
                gint64     *out)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL ||
      !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_INT64)
    return FALSE;

  *out = json_node_get_int (node);

  return TRUE;
}

static gboolean
load_secret (SyTokenKeeper  *self,
             const char     *contents,
             gsize           length,
             GError        **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) local_error = NULL;
  JsonObject *object;
  JsonNode *root;
  JsonNode *node;
  const char *encoded;
  guint8 *decoded;
  char *canonical;
  gsize decoded_len = 0;
  gint64 version;
  gint64 generation;
  gboolean canonical_ok;

  if (!json_parser_load_from_data (parser, contents, length, &local_error))
    return malformed_file (error, self->secret_path, "%s", local_error->message);

  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return malformed_file (error, self->secret_path, "not a JSON object");
  object = json_node_get_object (root);

  if (!get_int_member (object, "version", &version))
    return malformed_file (error, self->secret_path, "no version");
  if (version != SECRET_FILE_VERSION)
    return malformed_file (error, self->secret_path,
                           "version %" G_GINT64_FORMAT " is not supported", version);

  if (!get_int_member (object, "generation", &generation) ||
      generation < 0 || generation > G_MAXUINT)
    return malformed_file (error, self->secret_path, "no valid generation");

  node = json_object_get_member (object, "secret");
  if (node == NULL ||
      !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_STRING)
    return malformed_file (error, self->secret_path, "no secret");
  encoded = json_node_get_string (node);

  /* g_base64_decode() skips characters it does not know, so a mangled
   * secret could decode to something of the right size: accept only the
   * exact canonical encoding of 32 bytes. */
  decoded = g_base64_decode (encoded, &decoded_len);
  canonical = g_base64_encode (decoded, decoded_len);
  canonical_ok = decoded_len == SECRET_LENGTH && strcmp (canonical, encoded) == 0;
  if (canonical_ok)
    memcpy (self->secret, decoded, SECRET_LENGTH);
  wipe (decoded, decoded_len);
  g_free (decoded);
  wipe_string (canonical);

  if (!canonical_ok)
    return malformed_file (error, self->secret_path,
                           "the secret is not %d bytes of base64", SECRET_LENGTH);

  self->generation = (guint) generation;

  return TRUE;
}

/**
 * sy_token_keeper_new:
 * @secret_path: (nullable) (type filename): where the secret lives; %NULL
 *   keeps a fresh random secret in memory only
 * @error: return location for a #GError
 *
 * Loads the secret from @secret_path, or creates it there (mode 0600, in a
 * directory of mode 0700) if the file does not exist yet. A file that
 * exists but is damaged is reported as %SY_TOKEN_ERROR_MALFORMED and left
 * as it is.
 *
 * Returns: (transfer full): a new #SyTokenKeeper, or %NULL with @error set
 */
SyTokenKeeper *
sy_token_keeper_new (const char  *secret_path,
                     GError     **error)
{
  g_autoptr(SyTokenKeeper) self = NULL;
  g_autoptr(GError) local_error = NULL;
  char *contents = NULL;
  gsize length = 0;
  gboolean loaded;

  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  self = g_object_new (SY_TYPE_TOKEN_KEEPER, NULL);
  self->generation = 1;

  if (secret_path == NULL)
    {
      fill_random (self->secret, sizeof self->secret);
      return g_steal_pointer (&self);
    }

  self->secret_path = g_strdup (secret_path);

  if (!g_file_get_contents (secret_path, &contents, &length, &local_error))
    {
      if (!g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return NULL;
        }

      fill_random (self->secret, sizeof self->secret);
      if (!save_secret (secret_path, self->secret, self->generation, error))
        return NULL;

      g_debug ("Created a new token secret in %s", secret_path);

      return g_steal_pointer (&self);
    }

  loaded = load_secret (self, contents, length, error);
  wipe (contents, length);
  g_free (contents);

  if (!loaded)
    return NULL;

  return g_steal_pointer (&self);
}

/**
 * sy_token_keeper_issue:
 * @self: a #SyTokenKeeper
 * @role: %SY_ROLE_VIEW or %SY_ROLE_CONTROL
 * @lifetime_s: seconds from now until the token expires, more than 0
 *
 * Signs a new token for @role. The token uses only characters that need no
 * escaping in a URI and is at most %SY_TOKEN_MAX_LENGTH long.
 *
 * Returns: (transfer full): the token
 */
char *
sy_token_keeper_issue (SyTokenKeeper *self,
                       SyRole         role,
                       gint64         lifetime_s)
{
  g_autofree char *payload = NULL;
  g_autofree char *signature = NULL;
  gint64 now;
  gint64 expiry;
  guint generation;

  g_return_val_if_fail (SY_IS_TOKEN_KEEPER (self), NULL);
  g_return_val_if_fail (role == SY_ROLE_VIEW || role == SY_ROLE_CONTROL, NULL);
  g_return_val_if_fail (lifetime_s > 0, NULL);

  g_mutex_lock (&self->mutex);
  now = get_now_locked (self);
  generation = self->generation;
  g_mutex_unlock (&self->mutex);

  /* A lifetime of "forever" (G_MAXINT64) must not wrap into the past. */
  expiry = now > G_MAXINT64 - lifetime_s ? G_MAXINT64 : now + lifetime_s;

  /* The nonce only has to make tokens distinct, not unpredictable: the
   * signature is what keeps them unforgeable, so GLib's generator will do. */
  payload = g_strdup_printf (TOKEN_VERSION ".%c.%" G_GINT64_FORMAT ".%u.%08x%08x",
                             role == SY_ROLE_CONTROL ? 'c' : 'v',
                             expiry, generation, g_random_int (), g_random_int ());
  signature = sign (self, payload, strlen (payload));

  return g_strconcat (payload, ".", signature, NULL);
}

/**
 * sy_token_keeper_verify:
 * @self: a #SyTokenKeeper
 * @token: (nullable): the token a client presented
 * @expires_at: (out) (optional): the token's expiry, in seconds since the
 *   Unix epoch; 0 if the token is refused
 * @error: return location for a #GError in the %SY_TOKEN_ERROR domain,
 *   whose message is fit to show to the client
 *
 * Checks that @token was issued by this keeper's secret, has not been
 * revoked by sy_token_keeper_rotate() and has not expired. Safe to call
 * from any thread.
 *
 * Returns: the role the token grants, or %SY_ROLE_NONE with @error set
 */
SyRole
sy_token_keeper_verify (SyTokenKeeper  *self,
                        const char     *token,
                        gint64         *expires_at,
                        GError        **error)
{
  g_auto(GStrv) fields = NULL;
  g_autofree char *expected = NULL;
  const char *last_dot;
  guint64 expiry;
  guint64 generation;
  guint current_generation;
  gint64 now;
  SyRole role;

  g_return_val_if_fail (SY_IS_TOKEN_KEEPER (self), SY_ROLE_NONE);
  g_return_val_if_fail (error == NULL || *error == NULL, SY_ROLE_NONE);

  if (expires_at != NULL)
    *expires_at = 0;

  if (token == NULL || token[0] == '\0')
    {
      g_set_error_literal (error, SY_TOKEN_ERROR, SY_TOKEN_ERROR_MISSING,
                           "A token is required");
      return SY_ROLE_NONE;
    }

  /* Bounded, so a client sending a megabyte of junk costs nothing more
   * than this one scan. */
  if (strnlen (token, SY_TOKEN_MAX_LENGTH + 1) > SY_TOKEN_MAX_LENGTH)
    goto malformed;

  fields = g_strsplit (token, ".", -1);
  if (g_strv_length (fields) != N_FIELDS ||
      strcmp (fields[0], TOKEN_VERSION) != 0 ||
      !parse_decimal (fields[2], G_MAXINT64, &expiry) ||
      !parse_decimal (fields[3], G_MAXUINT, &generation) ||
      !is_lower_hex (fields[4], NONCE_LENGTH) ||
      !is_base64url (fields[5], SIGNATURE_LENGTH))
    goto malformed;

  if (strcmp (fields[1], "v") == 0)
    role = SY_ROLE_VIEW;
  else if (strcmp (fields[1], "c") == 0)
    role = SY_ROLE_CONTROL;
  else
    goto malformed;

  /* The shape check guarantees both signatures are SIGNATURE_LENGTH long.
   * Comparing the encoded text rather than decoded bytes also refuses the
   * other spellings of the last character that a lenient decoder accepts. */
  last_dot = strrchr (token, '.');
  expected = sign (self, token, (gsize) (last_dot - token));
  if (!equal_in_constant_time (expected, last_dot + 1, SIGNATURE_LENGTH))
    {
      g_set_error_literal (error, SY_TOKEN_ERROR, SY_TOKEN_ERROR_BAD_SIGNATURE,
                           "The token is not valid");
      return SY_ROLE_NONE;
    }

  g_mutex_lock (&self->mutex);
  current_generation = self->generation;
  now = get_now_locked (self);
  g_mutex_unlock (&self->mutex);

  /* A correctly signed generation newer than ours means the secret file
   * was rolled back (restored from a backup, say) after a rotation that had
   * revoked everything: refuse it as well rather than trust it. */
  if (generation != current_generation)
    {
      g_set_error_literal (error, SY_TOKEN_ERROR, SY_TOKEN_ERROR_REVOKED,
                           "The token was revoked");
      return SY_ROLE_NONE;
    }

  if ((gint64) expiry <= now)
    {
      g_set_error_literal (error, SY_TOKEN_ERROR, SY_TOKEN_ERROR_EXPIRED,
                           "The token has expired");
      return SY_ROLE_NONE;
    }

  if (expires_at != NULL)
    *expires_at = (gint64) expiry;

  return role;

malformed:
  g_set_error_literal (error, SY_TOKEN_ERROR, SY_TOKEN_ERROR_MALFORMED,
                       "The token is malformed");
  return SY_ROLE_NONE;
}

/**
 * sy_token_keeper_get_generation:
 * @self: a #SyTokenKeeper
 *
 * Returns: the current generation; tokens of any other are refused
 */
guint
sy_token_keeper_get_generation (SyTokenKeeper *self)
{
  guint generation;

  g_return_val_if_fail (SY_IS_TOKEN_KEEPER (self), 0);

  g_mutex_lock (&self->mutex);
  generation = self->generation;
  g_mutex_unlock (&self->mutex);

  return generation;
}

/**
 * sy_token_keeper_get_now:
 * @self: a #SyTokenKeeper
 *
 * Returns: the keeper's idea of now, in seconds since the epoch (the test
 *   clock when one is set), against which expiries are judged
 */
gint64
sy_token_keeper_get_now (SyTokenKeeper *self)
{
  gint64 now;

  g_return_val_if_fail (SY_IS_TOKEN_KEEPER (self), 0);

  g_mutex_lock (&self->mutex);
  now = get_now_locked (self);
  g_mutex_unlock (&self->mutex);

  return now;
}

/**
 * sy_token_keeper_rotate:
 * @self: a #SyTokenKeeper
 * @error: return location for a #GError
 *
 * Starts a new generation, which revokes every token issued so far. The
 * new generation is saved to the secret file first; if that fails nothing
 * changes.
 *
 * Returns: %TRUE if the tokens were revoked
 */
gboolean
sy_token_keeper_rotate (SyTokenKeeper  *self,
                        GError        **error)
{
  g_autoptr(GMutexLocker) locker = NULL;
  guint next;

  g_return_val_if_fail (SY_IS_TOKEN_KEEPER (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  /* The lock is held across the write: rotation is rare, and two rotations
   * racing must not both save the same next generation and count as one. */
  locker = g_mutex_locker_new (&self->mutex);

  if (self->generation == G_MAXUINT)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "The token generation cannot go beyond %u", G_MAXUINT);
      return FALSE;
    }
  next = self->generation + 1;

  if (self->secret_path != NULL &&
      !save_secret (self->secret_path, self->secret, next, error))
    return FALSE;

  self->generation = next;
  g_debug ("Token generation is now %u: older tokens are revoked", next);

  return TRUE;
}

/**
 * sy_token_keeper_set_clock:
 * @self: a #SyTokenKeeper
 * @unix_seconds: the time to use as "now", or 0 for the real time
 *
 * For tests: makes issuing and verifying use a fixed time.
 */
void
sy_token_keeper_set_clock (SyTokenKeeper *self,
                           gint64         unix_seconds)
{
  g_return_if_fail (SY_IS_TOKEN_KEEPER (self));

  g_mutex_lock (&self->mutex);
  self->clock = unix_seconds;
  g_mutex_unlock (&self->mutex);
}
