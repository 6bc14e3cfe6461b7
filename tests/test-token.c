/* test-token.c
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "test-token"

#include "config.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>
#include <sys/stat.h>

#include "sy-test-utils.h"
#include "sy-token.h"

#define LIFETIME_S 3600

static SyTokenKeeper *
new_memory_keeper (void)
{
  g_autoptr(GError) error = NULL;
  SyTokenKeeper *keeper = sy_token_keeper_new (NULL, &error);

  g_assert_no_error (error);
  g_assert_nonnull (keeper);

  return keeper;
}

/* Each test runs with its own XDG directories (G_TEST_OPTION_ISOLATE_DIRS),
 * so this path is fresh every time. The extra levels check that missing
 * parents are created. */
static char *
secret_path (void)
{
  return g_build_filename (g_get_user_state_dir (), "switchyard", "keys", "token-secret.json",
                           NULL);
}

static void
assert_refused (SyTokenKeeper *keeper,
                const char    *token,
                SyTokenError   code)
{
  g_autoptr(GError) error = NULL;
  gint64 expires_at = -1;
  SyRole role;

  role = sy_token_keeper_verify (keeper, token, &expires_at, &error);
  if (!g_error_matches (error, SY_TOKEN_ERROR, code))
    g_error ("Token \"%.80s\": expected error %d, got %s",
             token, code, error != NULL ? error->message : "success");
  g_assert_cmpint (role, ==, SY_ROLE_NONE);
  g_assert_cmpint (expires_at, ==, 0);
  g_assert_nonnull (error->message);
  g_assert_cmpstr (error->message, !=, "");
}

static void
assert_accepted (SyTokenKeeper *keeper,
                 const char    *token,
                 SyRole         expected_role)
{
  g_autoptr(GError) error = NULL;
  SyRole role;

  role = sy_token_keeper_verify (keeper, token, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (role, ==, expected_role);
}

/* The token with its field @index replaced by @value. */
static char *
with_field (const char *token,
            guint       index,
            const char *value)
{
  g_auto(GStrv) fields = g_strsplit (token, ".", -1);

  g_assert_cmpuint (index, <, g_strv_length (fields));
  g_free (fields[index]);
  fields[index] = g_strdup (value);

  return g_strjoinv (".", fields);
}

static void
test_round_trip (void)
{
  g_autoptr(SyTokenKeeper) keeper = new_memory_keeper ();
  const SyRole roles[] = { SY_ROLE_VIEW, SY_ROLE_CONTROL };

  for (guint i = 0; i < G_N_ELEMENTS (roles); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *token = NULL;
      g_autofree char *again = NULL;
      g_autofree char *escaped = NULL;
      gint64 before = g_get_real_time () / G_USEC_PER_SEC;
      gint64 after;
      gint64 expires_at = 0;
      SyRole role;

      token = sy_token_keeper_issue (keeper, roles[i], LIFETIME_S);
      after = g_get_real_time () / G_USEC_PER_SEC;
      g_assert_nonnull (token);
      g_assert_true (g_str_has_prefix (token, "v1."));
      g_assert_cmpuint (strlen (token), <=, SY_TOKEN_MAX_LENGTH);

      /* Goes into a query string as it is. */
      escaped = g_uri_escape_string (token, NULL, FALSE);
      g_assert_cmpstr (escaped, ==, token);
      g_assert_null (strchr (token, '='));

      role = sy_token_keeper_verify (keeper, token, &expires_at, &error);
      g_assert_no_error (error);
      g_assert_cmpint (role, ==, roles[i]);
      g_assert_cmpint (expires_at, >=, before + LIFETIME_S);
      g_assert_cmpint (expires_at, <=, after + LIFETIME_S);

      /* Verifying does not use the token up. */
      assert_accepted (keeper, token, roles[i]);

      /* Two tokens for the same role in the same second still differ. */
      again = sy_token_keeper_issue (keeper, roles[i], LIFETIME_S);
      g_assert_cmpstr (again, !=, token);
      assert_accepted (keeper, again, roles[i]);
    }

  g_assert_finalize_object (g_steal_pointer (&keeper));
}

static void
test_missing (void)
{
  g_autoptr(SyTokenKeeper) keeper = new_memory_keeper ();

  assert_refused (keeper, NULL, SY_TOKEN_ERROR_MISSING);
  assert_refused (keeper, "", SY_TOKEN_ERROR_MISSING);
}

static void
test_malformed (void)
{
  g_autoptr(SyTokenKeeper) keeper = new_memory_keeper ();
  g_autofree char *token = sy_token_keeper_issue (keeper, SY_ROLE_CONTROL, LIFETIME_S);
  g_autofree char *huge = NULL;
  g_autofree char *too_long = NULL;
  g_autofree char *huge_field = NULL;
  gsize len = strlen (token);
  const struct
  {
    guint       field;
    const char *value;
  } bad_fields[] = {
    /* Version */
    { 0, "v2" }, { 0, "V1" }, { 0, "v" }, { 0, "" }, { 0, "v01" },
    /* Role */
    { 1, "x" }, { 1, "C" }, { 1, "cv" }, { 1, "" }, { 1, "n" },
    /* Expiry */
    { 2, "abc" }, { 2, "-5" }, { 2, "+5" }, { 2, "1e9" }, { 2, "" }, { 2, " 5" },
    { 2, "0123" }, { 2, "99999999999999999999" }, { 2, "9223372036854775808" },
    /* Generation */
    { 3, "one" }, { 3, "" }, { 3, "-1" }, { 3, "4294967296" }, { 3, "01" },
    /* Nonce */
    { 4, "0123456789abcdeg" }, { 4, "0123456789ABCDEF" }, { 4, "0123" }, { 4, "" },
    /* Signature: wrong alphabet, padding, wrong length */
    { 5, "Lq2cK7+/Lq2cK7Lq2cK7Lq2cK7Lq2cK7Lq2cK7Lq2cK" },
    { 5, "Lq2cK7==Lq2cK7Lq2cK7Lq2cK7Lq2cK7Lq2cK7Lq2cK" },
    { 5, "Lq2cK7Lq2cK7Lq2cK7Lq2cK7Lq2cK7Lq2cK7Lq2cK7L=" },
    { 5, "Lq2cK7Lq2cK7Lq2cK7Lq2cK7Lq2cK7Lq2cK7Lq2cK" },
    { 5, "Lq2cK7Lq2cK7Lq2cK7Lq2cK7Lq2cK7Lq2cK7Lq2cK7LqA" },
    { 5, "Lq2cK7Lq2cK7Lq2cK7Lq2cK7Lq2cK7Lq2cK7Lq2c K7" },
    { 5, "" },
  };
  const char *shapes[] = {
    ".", "......", "v1", "v1.c", "v1.c.1.1.0123456789abcdef", "garbage", "%00",
  };

  /* The valid token, so that every variant below differs in one thing. */
  assert_accepted (keeper, token, SY_ROLE_CONTROL);

  /* Truncated anywhere. */
  for (gsize i = 1; i < len; i++)
    {
      g_autofree char *prefix = g_strndup (token, i);

      assert_refused (keeper, prefix, SY_TOKEN_ERROR_MALFORMED);
    }

  /* Extra dots and fields. */
  {
    g_autofree char *trailing = g_strconcat (token, ".", NULL);
    g_autofree char *leading = g_strconcat (".", token, NULL);
    g_autofree char *extra = g_strconcat (token, ".AAAA", NULL);
    g_autofree char *doubled = with_field (token, 2, "");

    assert_refused (keeper, trailing, SY_TOKEN_ERROR_MALFORMED);
    assert_refused (keeper, leading, SY_TOKEN_ERROR_MALFORMED);
    assert_refused (keeper, extra, SY_TOKEN_ERROR_MALFORMED);
    assert_refused (keeper, doubled, SY_TOKEN_ERROR_MALFORMED);
  }

  for (guint i = 0; i < G_N_ELEMENTS (bad_fields); i++)
    {
      g_autofree char *variant = with_field (token, bad_fields[i].field, bad_fields[i].value);

      assert_refused (keeper, variant, SY_TOKEN_ERROR_MALFORMED);
    }

  for (guint i = 0; i < G_N_ELEMENTS (shapes); i++)
    assert_refused (keeper, shapes[i], SY_TOKEN_ERROR_MALFORMED);

  /* A megabyte of junk, and a well-shaped token just over the limit. */
  huge = g_strnfill (1024 * 1024, 'a');
  assert_refused (keeper, huge, SY_TOKEN_ERROR_MALFORMED);

  huge_field = g_strnfill (SY_TOKEN_MAX_LENGTH, '1');
  too_long = with_field (token, 2, huge_field);
  assert_refused (keeper, too_long, SY_TOKEN_ERROR_MALFORMED);
}

static void
test_other_secret (void)
{
  g_autoptr(SyTokenKeeper) keeper = new_memory_keeper ();
  g_autoptr(SyTokenKeeper) other = new_memory_keeper ();
  g_autoptr(GError) error = NULL;
  g_autofree char *token = sy_token_keeper_issue (other, SY_ROLE_CONTROL, LIFETIME_S);

  /* Same generation, same shape: only the secret differs. */
  g_assert_cmpuint (sy_token_keeper_get_generation (keeper), ==,
                    sy_token_keeper_get_generation (other));
  assert_accepted (other, token, SY_ROLE_CONTROL);
  assert_refused (keeper, token, SY_TOKEN_ERROR_BAD_SIGNATURE);

  sy_token_keeper_verify (keeper, token, NULL, &error);
  g_assert_cmpstr (error->message, ==, "The token is not valid");
}

/* Whatever a client changes, by one character, the token stops working:
 * a view token never turns into a control one, an expiry never moves. */
static void
test_tamper (void)
{
  g_autoptr(SyTokenKeeper) keeper = new_memory_keeper ();
  g_autofree char *token = sy_token_keeper_issue (keeper, SY_ROLE_VIEW, LIFETIME_S);
  gsize len = strlen (token);
  guint n_tried = 0;

  assert_accepted (keeper, token, SY_ROLE_VIEW);

  for (gsize i = 0; i < len; i++)
    {
      g_autofree char *deleted = g_strdup (token);
      g_autofree char *inserted = NULL;

      /* Replaced by every other byte but NUL (which would truncate). */
      for (guint c = 1; c < 256; c++)
        {
          g_autofree char *changed = NULL;
          g_autoptr(GError) error = NULL;

          if (c == (guchar) token[i])
            continue;

          changed = g_strdup (token);
          changed[i] = (char) c;

          if (sy_token_keeper_verify (keeper, changed, NULL, &error) != SY_ROLE_NONE)
            g_error ("Changing position %" G_GSIZE_FORMAT " to 0x%02x was accepted: %s",
                     i, c, changed);
          g_assert_nonnull (error);
          g_assert_true (error->domain == SY_TOKEN_ERROR);
          g_assert_true (error->code == SY_TOKEN_ERROR_MALFORMED ||
                         error->code == SY_TOKEN_ERROR_BAD_SIGNATURE);
          n_tried++;
        }

      memmove (deleted + i, deleted + i + 1, len - i);
      g_assert_cmpint (sy_token_keeper_verify (keeper, deleted, NULL, NULL), ==, SY_ROLE_NONE);

      inserted = g_strdup_printf ("%.*sA%s", (int) i, token, token + i);
      g_assert_cmpint (sy_token_keeper_verify (keeper, inserted, NULL, NULL), ==, SY_ROLE_NONE);
    }

  g_assert_cmpuint (n_tried, ==, len * 254);

  /* And the original is still fine. */
  assert_accepted (keeper, token, SY_ROLE_VIEW);
}

static void
test_expiry (void)
{
  g_autoptr(SyTokenKeeper) keeper = new_memory_keeper ();
  g_autoptr(GError) error = NULL;
  g_autofree char *token = NULL;
  g_autofree char *real_time_token = NULL;
  const gint64 start = 1000000000;
  gint64 expires_at = 0;

  sy_token_keeper_set_clock (keeper, start);
  token = sy_token_keeper_issue (keeper, SY_ROLE_VIEW, 60);

  g_assert_cmpint (sy_token_keeper_verify (keeper, token, &expires_at, &error), ==, SY_ROLE_VIEW);
  g_assert_no_error (error);
  g_assert_cmpint (expires_at, ==, start + 60);

  sy_token_keeper_set_clock (keeper, start + 59);
  assert_accepted (keeper, token, SY_ROLE_VIEW);

  sy_token_keeper_set_clock (keeper, start + 60);
  assert_refused (keeper, token, SY_TOKEN_ERROR_EXPIRED);
  sy_token_keeper_verify (keeper, token, NULL, &error);
  g_assert_cmpstr (error->message, ==, "The token has expired");
  g_clear_error (&error);

  sy_token_keeper_set_clock (keeper, start + 61);
  assert_refused (keeper, token, SY_TOKEN_ERROR_EXPIRED);

  /* Back to the real clock, long after 2001. */
  sy_token_keeper_set_clock (keeper, 0);
  assert_refused (keeper, token, SY_TOKEN_ERROR_EXPIRED);

  real_time_token = sy_token_keeper_issue (keeper, SY_ROLE_CONTROL, 60);
  assert_accepted (keeper, real_time_token, SY_ROLE_CONTROL);
  sy_token_keeper_set_clock (keeper, start);
  assert_accepted (keeper, real_time_token, SY_ROLE_CONTROL);

  /* A lifetime of "forever" saturates instead of wrapping into the past. */
  {
    g_autofree char *forever = sy_token_keeper_issue (keeper, SY_ROLE_VIEW, G_MAXINT64);

    sy_token_keeper_set_clock (keeper, G_MAXINT64 - 1);
    assert_accepted (keeper, forever, SY_ROLE_VIEW);
  }
}

static void
test_rotate (void)
{
  g_autoptr(SyTokenKeeper) keeper = new_memory_keeper ();
  g_autoptr(GError) error = NULL;
  g_autofree char *view = sy_token_keeper_issue (keeper, SY_ROLE_VIEW, LIFETIME_S);
  g_autofree char *control = sy_token_keeper_issue (keeper, SY_ROLE_CONTROL, LIFETIME_S);
  g_autofree char *fresh = NULL;
  guint generation = sy_token_keeper_get_generation (keeper);

  assert_accepted (keeper, view, SY_ROLE_VIEW);
  assert_accepted (keeper, control, SY_ROLE_CONTROL);

  g_assert_true (sy_token_keeper_rotate (keeper, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (sy_token_keeper_get_generation (keeper), ==, generation + 1);

  assert_refused (keeper, view, SY_TOKEN_ERROR_REVOKED);
  assert_refused (keeper, control, SY_TOKEN_ERROR_REVOKED);
  sy_token_keeper_verify (keeper, control, NULL, &error);
  g_assert_cmpstr (error->message, ==, "The token was revoked");
  g_clear_error (&error);

  fresh = sy_token_keeper_issue (keeper, SY_ROLE_CONTROL, LIFETIME_S);
  assert_accepted (keeper, fresh, SY_ROLE_CONTROL);

  g_assert_true (sy_token_keeper_rotate (keeper, &error));
  g_assert_no_error (error);
  assert_refused (keeper, fresh, SY_TOKEN_ERROR_REVOKED);
  assert_refused (keeper, view, SY_TOKEN_ERROR_REVOKED);
}

static char *
read_file (const char *path)
{
  g_autoptr(GError) error = NULL;
  char *contents = NULL;

  g_file_get_contents (path, &contents, NULL, &error);
  g_assert_no_error (error);

  return contents;
}

static void
test_persistence (void)
{
  g_autofree char *path = secret_path ();
  g_autoptr(SyTokenKeeper) first = NULL;
  g_autoptr(SyTokenKeeper) second = NULL;
  g_autoptr(SyTokenKeeper) third = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autofree char *old_token = NULL;
  g_autofree char *new_token = NULL;
  g_autofree char *contents = NULL;
  g_autofree char *contents_after_load = NULL;
  JsonObject *object;
  guint generation;

  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));

  first = sy_token_keeper_new (path, &error);
  g_assert_no_error (error);
  g_assert_true (g_file_test (path, G_FILE_TEST_IS_REGULAR));
  generation = sy_token_keeper_get_generation (first);
  old_token = sy_token_keeper_issue (first, SY_ROLE_CONTROL, LIFETIME_S);

  /* The documented format. */
  contents = read_file (path);
  json_parser_load_from_data (parser, contents, -1, &error);
  g_assert_no_error (error);
  object = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpint (json_object_get_int_member (object, "version"), ==, 1);
  g_assert_cmpint (json_object_get_int_member (object, "generation"), ==, generation);
  g_assert_cmpuint (strlen (json_object_get_string_member (object, "secret")), ==, 44);

  /* Another keeper on the same file: same secret, same generation, and
   * loading does not rewrite the file. */
  second = sy_token_keeper_new (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (sy_token_keeper_get_generation (second), ==, generation);
  assert_accepted (second, old_token, SY_ROLE_CONTROL);
  contents_after_load = read_file (path);
  g_assert_cmpstr (contents_after_load, ==, contents);

  /* A rotation survives a restart. */
  g_assert_true (sy_token_keeper_rotate (first, &error));
  g_assert_no_error (error);
  new_token = sy_token_keeper_issue (first, SY_ROLE_VIEW, LIFETIME_S);

  third = sy_token_keeper_new (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (sy_token_keeper_get_generation (third), ==, generation + 1);
  assert_refused (third, old_token, SY_TOKEN_ERROR_REVOKED);
  assert_accepted (third, new_token, SY_ROLE_VIEW);
}

/* A secret file restored from a backup taken before a rotation: the tokens
 * issued after that rotation carry a generation the keeper never reached,
 * and are refused rather than trusted. */
static void
test_rolled_back (void)
{
  g_autofree char *path = secret_path ();
  g_autoptr(SyTokenKeeper) keeper = NULL;
  g_autoptr(SyTokenKeeper) restored = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *backup = NULL;
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;

  keeper = sy_token_keeper_new (path, &error);
  g_assert_no_error (error);
  before = sy_token_keeper_issue (keeper, SY_ROLE_VIEW, LIFETIME_S);
  backup = read_file (path);

  g_assert_true (sy_token_keeper_rotate (keeper, &error));
  g_assert_no_error (error);
  after = sy_token_keeper_issue (keeper, SY_ROLE_CONTROL, LIFETIME_S);

  g_file_set_contents (path, backup, -1, &error);
  g_assert_no_error (error);
  restored = sy_token_keeper_new (path, &error);
  g_assert_no_error (error);

  assert_accepted (restored, before, SY_ROLE_VIEW);
  assert_refused (restored, after, SY_TOKEN_ERROR_REVOKED);
}

static void
assert_mode (const char *path,
             guint       mode)
{
  GStatBuf buf;

  g_assert_cmpint (g_stat (path, &buf), ==, 0);
  g_assert_cmpint (buf.st_mode & 0777, ==, mode);
}

static void
test_file_mode (void)
{
  g_autofree char *path = secret_path ();
  g_autofree char *dir = g_path_get_dirname (path);
  g_autoptr(SyTokenKeeper) keeper = NULL;
  g_autoptr(GError) error = NULL;

  keeper = sy_token_keeper_new (path, &error);
  g_assert_no_error (error);
  assert_mode (path, 0600);
  assert_mode (dir, 0700);

  /* Still private after being replaced. */
  g_assert_true (sy_token_keeper_rotate (keeper, &error));
  g_assert_no_error (error);
  assert_mode (path, 0600);
}

static void
test_corrupt_file (void)
{
  g_autofree char *path = secret_path ();
  g_autofree char *dir = g_path_get_dirname (path);
  const char *damaged[] = {
    "",
    "garbage",
    "[]",
    "{}",
    "{\"version\":1,\"generation\":1}",
    "{\"version\":1,\"secret\":\"AAAAAAAAAAAAAAAAAAAAAA==\",\"generation\":1}",
    "{\"version\":1,\"secret\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\","
      "\"generation\":1}",
    "{\"version\":1,\"secret\":\"!AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\",\"generation\":1}",
    /* Junk that g_base64_decode() would skip, leaving exactly 32 bytes. */
    "{\"version\":1,\"secret\":\"AAAAAAAAAAAAAAAAAAAAA!AAAAAAAAAAAAAAAAAAAAAA=\",\"generation\":1}",
    "{\"version\":1,\"secret\":\"AAAAAAAAAAAAAAAAAAAAAA\\nAAAAAAAAAAAAAAAAAAAAA=\",\"generation\":1}",
    /* 32 bytes, but not their canonical spelling (stray low bits). */
    "{\"version\":1,\"secret\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=\",\"generation\":1}",
    "{\"version\":1,\"secret\":12,\"generation\":1}",
    "{\"version\":2,\"secret\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\",\"generation\":1}",
    "{\"secret\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\",\"generation\":1}",
    "{\"version\":1,\"secret\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\",\"generation\":-1}",
    "{\"version\":1,\"secret\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\",\"generation\":\"1\"}",
    "{\"version\":1,\"secret\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\",\"generation\":1.5}",
    "{\"version\":1,\"secret\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\",\"generation\":4294967296}",
  };

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);

  /* The well-formed twin of the entries above loads, so each of them fails
   * for the one thing it breaks. */
  {
    g_autoptr(SyTokenKeeper) keeper = NULL;
    g_autoptr(GError) error = NULL;

    g_file_set_contents (path,
                         "{\"version\":1,\"secret\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\","
                         "\"generation\":7}", -1, &error);
    g_assert_no_error (error);
    keeper = sy_token_keeper_new (path, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (sy_token_keeper_get_generation (keeper), ==, 7);
  }

  for (guint i = 0; i < G_N_ELEMENTS (damaged); i++)
    {
      g_autoptr(SyTokenKeeper) keeper = NULL;
      g_autoptr(GError) error = NULL;
      g_autofree char *after = NULL;

      g_file_set_contents (path, damaged[i], -1, &error);
      g_assert_no_error (error);

      keeper = sy_token_keeper_new (path, &error);
      if (keeper != NULL)
        g_error ("A damaged secret file was accepted: %s", damaged[i]);
      g_assert_error (error, SY_TOKEN_ERROR, SY_TOKEN_ERROR_MALFORMED);
      g_assert_nonnull (strstr (error->message, path));

      /* Left for the operator to look at, not replaced. */
      after = read_file (path);
      g_assert_cmpstr (after, ==, damaged[i]);
    }

  /* Not readable as a file at all: an I/O error, and nothing is created. */
  {
    g_autoptr(SyTokenKeeper) keeper = NULL;
    g_autoptr(GError) error = NULL;

    g_assert_cmpint (g_unlink (path), ==, 0);
    g_assert_cmpint (g_mkdir (path, 0700), ==, 0);
    keeper = sy_token_keeper_new (path, &error);
    g_assert_null (keeper);
    g_assert_nonnull (error);
    g_assert_true (g_file_test (path, G_FILE_TEST_IS_DIR));
  }
}

static void
test_rotate_cannot_save (void)
{
  g_autofree char *path = secret_path ();
  g_autofree char *blocker = NULL;
  g_autoptr(SyTokenKeeper) keeper = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *token = NULL;
  guint generation;

  keeper = sy_token_keeper_new (path, &error);
  g_assert_no_error (error);
  generation = sy_token_keeper_get_generation (keeper);
  token = sy_token_keeper_issue (keeper, SY_ROLE_VIEW, LIFETIME_S);

  /* A non-empty directory where the file was: the final rename fails even
   * for root, which a read-only directory would not stop. */
  g_assert_cmpint (g_unlink (path), ==, 0);
  g_assert_cmpint (g_mkdir (path, 0700), ==, 0);
  blocker = g_build_filename (path, "blocker", NULL);
  g_file_set_contents (blocker, "", -1, &error);
  g_assert_no_error (error);

  g_assert_false (sy_token_keeper_rotate (keeper, &error));
  g_assert_nonnull (error);
  g_clear_error (&error);

  /* Nothing was revoked that a restart would bring back. */
  g_assert_cmpuint (sy_token_keeper_get_generation (keeper), ==, generation);
  assert_accepted (keeper, token, SY_ROLE_VIEW);

  /* Once the path is writable again, rotation works. */
  g_assert_cmpint (g_unlink (blocker), ==, 0);
  g_assert_cmpint (g_rmdir (path), ==, 0);
  g_assert_true (sy_token_keeper_rotate (keeper, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (sy_token_keeper_get_generation (keeper), ==, generation + 1);
  assert_refused (keeper, token, SY_TOKEN_ERROR_REVOKED);
}

static void
test_bad_arguments (void)
{
  g_autoptr(SyTokenKeeper) keeper = new_memory_keeper ();
  char *token;

  g_test_expect_message ("sy-token", G_LOG_LEVEL_CRITICAL, "*lifetime_s > 0*");
  token = sy_token_keeper_issue (keeper, SY_ROLE_VIEW, 0);
  g_test_assert_expected_messages ();
  g_assert_null (token);

  g_test_expect_message ("sy-token", G_LOG_LEVEL_CRITICAL, "*lifetime_s > 0*");
  token = sy_token_keeper_issue (keeper, SY_ROLE_CONTROL, -1);
  g_test_assert_expected_messages ();
  g_assert_null (token);

  g_test_expect_message ("sy-token", G_LOG_LEVEL_CRITICAL, "*role*");
  token = sy_token_keeper_issue (keeper, SY_ROLE_NONE, LIFETIME_S);
  g_test_assert_expected_messages ();
  g_assert_null (token);
}

typedef struct
{
  SyTokenKeeper *keeper;

  /* The token the main thread issued last, and what it claims. */
  GMutex         mutex;
  char          *token;
  guint          token_generation;
  SyRole         token_role;

  /* A token of the very first generation, revoked early on. */
  char          *first_token;
  guint          first_generation;

  gint           stop;
  gint           n_verified;
  gint           n_revoked;
} Shared;

static gpointer
verify_thread (gpointer data)
{
  Shared *shared = data;

  while (!g_atomic_int_get (&shared->stop))
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *token = NULL;
      guint token_generation;
      SyRole token_role;
      guint before;
      guint after;
      gint64 expires_at = 0;
      SyRole role;

      g_mutex_lock (&shared->mutex);
      token = g_strdup (shared->token);
      token_generation = shared->token_generation;
      token_role = shared->token_role;
      g_mutex_unlock (&shared->mutex);

      before = sy_token_keeper_get_generation (shared->keeper);
      role = sy_token_keeper_verify (shared->keeper, token, &expires_at, &error);
      after = sy_token_keeper_get_generation (shared->keeper);

      /* Generations only grow, so an accepted token's generation was
       * current somewhere between the two readings, and a refused one can
       * only have been revoked by a rotation the second reading saw. */
      g_assert_cmpuint (before, <=, after);
      if (role != SY_ROLE_NONE)
        {
          g_assert_no_error (error);
          g_assert_cmpint (role, ==, token_role);
          g_assert_cmpint (expires_at, >, 0);
          g_assert_cmpuint (before, <=, token_generation);
          g_assert_cmpuint (token_generation, <=, after);
        }
      else
        {
          g_assert_error (error, SY_TOKEN_ERROR, SY_TOKEN_ERROR_REVOKED);
          g_assert_cmpuint (token_generation, <, after);
          g_atomic_int_inc (&shared->n_revoked);
        }
      g_clear_error (&error);

      before = sy_token_keeper_get_generation (shared->keeper);
      role = sy_token_keeper_verify (shared->keeper, shared->first_token, NULL, &error);
      if (role == SY_ROLE_NONE)
        g_assert_error (error, SY_TOKEN_ERROR, SY_TOKEN_ERROR_REVOKED);
      if (before > shared->first_generation)
        g_assert_cmpint (role, ==, SY_ROLE_NONE);

      g_atomic_int_inc (&shared->n_verified);
    }

  return NULL;
}

static void
test_threads (void)
{
  g_autoptr(SyTokenKeeper) keeper = new_memory_keeper ();
  GThread *threads[4];
  Shared shared = { 0 };
  gint64 deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;
  guint n_issued = 0;

  shared.keeper = keeper;
  g_mutex_init (&shared.mutex);
  shared.token = sy_token_keeper_issue (keeper, SY_ROLE_VIEW, LIFETIME_S);
  shared.token_generation = sy_token_keeper_get_generation (keeper);
  shared.token_role = SY_ROLE_VIEW;
  shared.first_token = g_strdup (shared.token);
  shared.first_generation = shared.token_generation;

  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    threads[i] = g_thread_new ("verify", verify_thread, &shared);

  /* Keep going until the verifiers have seen plenty of both outcomes. */
  while (n_issued < 2000 ||
         g_atomic_int_get (&shared.n_verified) < 8000 ||
         g_atomic_int_get (&shared.n_revoked) < 10)
    {
      SyRole role = n_issued % 2 ? SY_ROLE_CONTROL : SY_ROLE_VIEW;
      char *token = sy_token_keeper_issue (keeper, role, LIFETIME_S);
      char *old;

      g_assert_cmpint (g_get_monotonic_time (), <, deadline);

      /* Published before the rotation below, so verifiers also race the
       * revocation of the token they just picked up. */
      g_mutex_lock (&shared.mutex);
      old = g_steal_pointer (&shared.token);
      shared.token = token;
      shared.token_generation = sy_token_keeper_get_generation (keeper);
      shared.token_role = role;
      g_mutex_unlock (&shared.mutex);
      g_free (old);

      if (n_issued % 10 == 9)
        {
          g_autoptr(GError) error = NULL;

          g_assert_true (sy_token_keeper_rotate (keeper, &error));
          g_assert_no_error (error);
        }

      n_issued++;
    }

  g_atomic_int_set (&shared.stop, TRUE);
  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    g_thread_join (threads[i]);

  g_test_message ("%u tokens issued, %d verified, %d of them revoked meanwhile",
                  n_issued, shared.n_verified, shared.n_revoked);

  g_assert_cmpuint (sy_token_keeper_get_generation (keeper), ==,
                    shared.first_generation + n_issued / 10);
  assert_refused (keeper, shared.first_token, SY_TOKEN_ERROR_REVOKED);

  g_free (shared.token);
  g_free (shared.first_token);
  g_mutex_clear (&shared.mutex);
}

int
main (int   argc,
      char *argv[])
{
  sy_test_init (&argc, &argv);

  g_test_add_func ("/core/token/round-trip", test_round_trip);
  g_test_add_func ("/core/token/missing", test_missing);
  g_test_add_func ("/core/token/malformed", test_malformed);
  g_test_add_func ("/core/token/other-secret", test_other_secret);
  g_test_add_func ("/core/token/tamper", test_tamper);
  g_test_add_func ("/core/token/expiry", test_expiry);
  g_test_add_func ("/core/token/rotate", test_rotate);
  g_test_add_func ("/core/token/persistence", test_persistence);
  g_test_add_func ("/core/token/rolled-back", test_rolled_back);
  g_test_add_func ("/core/token/file-mode", test_file_mode);
  g_test_add_func ("/core/token/corrupt-file", test_corrupt_file);
  g_test_add_func ("/core/token/rotate-cannot-save", test_rotate_cannot_save);
  g_test_add_func ("/core/token/bad-arguments", test_bad_arguments);
  g_test_add_func ("/core/token/threads", test_threads);

  return g_test_run ();
}
