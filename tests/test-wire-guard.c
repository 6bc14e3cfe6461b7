/* test-wire-guard.c
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The wire guard's output side, over a real socket pair: what a corked
 * guard holds back, what it counts, and that nothing is lost or reordered
 * when the socket is full or the stream closes.
 */

#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sy-test-utils.h"
#include "sy-wire-guard.h"

typedef struct
{
  SyWireGuard *guard;
  GIOStream   *base;
  int          peer;
} Pair;

static void
pair_open (Pair *pair,
           int   send_buffer)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocket) socket = NULL;
  int fds[2];

  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM, 0, fds), ==, 0);
  if (send_buffer > 0)
    {
      g_assert_cmpint (setsockopt (fds[0], SOL_SOCKET, SO_SNDBUF, &send_buffer, sizeof send_buffer), ==, 0);
      g_assert_cmpint (setsockopt (fds[1], SOL_SOCKET, SO_RCVBUF, &send_buffer, sizeof send_buffer), ==, 0);
    }
  socket = g_socket_new_from_fd (fds[0], &error);
  g_assert_no_error (error);
  g_socket_set_blocking (socket, FALSE);
  pair->base = G_IO_STREAM (g_socket_connection_factory_create_connection (socket));
  pair->guard = sy_wire_guard_new (pair->base, 1024 * 1024);
  pair->peer = fds[1];
}

static void
pair_close (Pair *pair)
{
  g_clear_object (&pair->guard);
  g_clear_object (&pair->base);
  if (pair->peer >= 0)
    close (pair->peer);
}

/* An unmasked server text frame with @len bytes of @fill. */
static GByteArray *
text_frame (char  fill,
            gsize len)
{
  GByteArray *frame = g_byte_array_new ();
  guint8 header[4] = { 0x81, 0, 0, 0 };

  g_assert_cmpuint (len, <, 65536);
  if (len < 126)
    {
      header[1] = (guint8) len;
      g_byte_array_append (frame, header, 2);
    }
  else
    {
      header[1] = 126;
      header[2] = (guint8) (len >> 8);
      header[3] = (guint8) len;
      g_byte_array_append (frame, header, 4);
    }
  for (gsize i = 0; i < len; i++)
    g_byte_array_append (frame, (const guint8 *) &fill, 1);

  return frame;
}

/* Writes all of @frame through the guard, as libsoup does. */
static gssize
guard_write (Pair       *pair,
             GByteArray *frame,
             GError    **error)
{
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (pair->guard));

  return g_pollable_output_stream_write_nonblocking (G_POLLABLE_OUTPUT_STREAM (out), frame->data, frame->len,
                                                     NULL, error);
}

/* Everything the peer can read now. */
static GByteArray *
peer_drain (Pair *pair)
{
  GByteArray *got = g_byte_array_new ();
  guint8 buffer[65536];
  ssize_t r;

  while ((r = recv (pair->peer, buffer, sizeof buffer, MSG_DONTWAIT)) > 0)
    g_byte_array_append (got, buffer, (guint) r);
  g_assert_true (r == 0 || errno == EAGAIN || errno == EWOULDBLOCK);

  return got;
}

static void
append (GByteArray       *to,
        const GByteArray *bytes)
{
  g_byte_array_append (to, bytes->data, bytes->len);
}

/* Adds what the peer can read now to @got; returns its length. */
static guint
drain_into (Pair       *pair,
            GByteArray *got)
{
  g_autoptr(GByteArray) some = peer_drain (pair);

  append (got, some);

  return got->len;
}

static void
assert_same (const GByteArray *a,
             const GByteArray *b)
{
  g_assert_cmpuint (a->len, ==, b->len);
  g_assert_cmpmem (a->data, a->len, b->data, b->len);
}

/* Corked, writes are taken at once but held: nothing reaches the socket or
 * counts as written until the uncork, which sends them in order. */
static void
test_cork_holds_and_uncork_sends (void)
{
  Pair pair;
  g_autoptr(GByteArray) expected = g_byte_array_new ();
  g_autoptr(GByteArray) got = NULL;
  g_autoptr(GError) error = NULL;

  pair_open (&pair, 0);
  sy_wire_guard_cork (pair.guard);
  for (guint i = 0; i < 3; i++)
    {
      g_autoptr(GByteArray) frame = text_frame ('a' + i, 40 + i);

      g_assert_cmpint (guard_write (&pair, frame, &error), ==, frame->len);
      g_assert_no_error (error);
      append (expected, frame);
    }
  g_assert_cmpuint (sy_wire_guard_get_bytes_out (pair.guard), ==, 0);
  g_assert_cmpuint (sy_wire_guard_get_data_frames_written (pair.guard), ==, 0);
  got = peer_drain (&pair);
  g_assert_cmpuint (got->len, ==, 0);
  g_clear_pointer (&got, g_byte_array_unref);

  sy_wire_guard_uncork (pair.guard);
  g_assert_cmpuint (sy_wire_guard_get_bytes_out (pair.guard), ==, expected->len);
  g_assert_cmpuint (sy_wire_guard_get_data_frames_written (pair.guard), ==, 3);
  got = peer_drain (&pair);
  assert_same (got, expected);
  g_clear_pointer (&got, g_byte_array_unref);

  /* Uncorked, a write goes straight through. */
  {
    g_autoptr(GByteArray) frame = text_frame ('z', 10);

    g_assert_cmpint (guard_write (&pair, frame, &error), ==, frame->len);
    g_assert_cmpuint (sy_wire_guard_get_data_frames_written (pair.guard), ==, 4);
    got = peer_drain (&pair);
    assert_same (got, frame);
  }

  pair_close (&pair);
}

/* The socket is full when the guard is uncorked: what it held goes as soon
 * as there is room, by itself (nothing else need be written), and a write in
 * the meantime waits its turn instead of overtaking. */
static void
test_uncork_into_full_socket (void)
{
  Pair pair;
  g_autoptr(GByteArray) expected = g_byte_array_new ();
  g_autoptr(GByteArray) got = g_byte_array_new ();
  g_autoptr(GByteArray) held = text_frame ('h', 2000);
  g_autoptr(GByteArray) later = text_frame ('l', 300);
  g_autoptr(GError) error = NULL;
  guint64 filler_frames = 0;

  pair_open (&pair, 4096);

  /* Fill the socket. */
  while (TRUE)
    {
      g_autoptr(GByteArray) frame = text_frame ('f', 1000);
      gssize r = guard_write (&pair, frame, &error);

      if (r < 0)
        {
          g_assert_error (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK);
          g_clear_error (&error);
          break;
        }
      /* A partial write leaves the rest of the frame to send first. */
      g_byte_array_append (expected, frame->data, (guint) r);
      if ((guint) r < frame->len)
        {
          g_byte_array_remove_range (frame, 0, (guint) r);
          while (guard_write (&pair, frame, &error) < 0)
            {
              g_assert_error (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK);
              g_clear_error (&error);
              drain_into (&pair, got);
            }
          append (expected, frame);
        }
      filler_frames++;
    }
  g_assert_cmpuint (filler_frames, >, 0);

  sy_wire_guard_cork (pair.guard);
  g_assert_cmpint (guard_write (&pair, held, &error), ==, held->len);
  g_assert_no_error (error);
  append (expected, held);
  sy_wire_guard_uncork (pair.guard);
  g_assert_cmpuint (sy_wire_guard_get_data_frames_written (pair.guard), ==, filler_frames);

  /* Held bytes go first: a new write must wait. */
  g_assert_cmpint (guard_write (&pair, later, &error), ==, -1);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK);
  g_clear_error (&error);

  /* The peer reads; the held frame follows without another write. */
  WAIT_UNTIL ((drain_into (&pair, got),
               sy_wire_guard_get_data_frames_written (pair.guard) == filler_frames + 1), 5000);

  g_assert_cmpint (guard_write (&pair, later, &error), ==, later->len);
  g_assert_no_error (error);
  append (expected, later);
  WAIT_UNTIL (drain_into (&pair, got) >= expected->len, 5000);
  assert_same (got, expected);
  g_assert_cmpuint (sy_wire_guard_get_data_frames_written (pair.guard), ==, filler_frames + 2);
  g_assert_cmpuint (sy_wire_guard_get_bytes_out (pair.guard), ==, expected->len);

  pair_close (&pair);
}

/* Closing a corked guard sends what it held (libsoup's close frame may be
 * among it) before the end of the stream. */
static void
test_close_sends_held (void)
{
  Pair pair;
  g_autoptr(GByteArray) frame = text_frame ('c', 64);
  g_autoptr(GByteArray) got = g_byte_array_new ();
  g_autoptr(GError) error = NULL;
  guint8 buffer[256];
  ssize_t r;

  pair_open (&pair, 0);
  sy_wire_guard_cork (pair.guard);
  g_assert_cmpint (guard_write (&pair, frame, &error), ==, frame->len);
  g_assert_true (g_io_stream_close (G_IO_STREAM (pair.guard), NULL, &error));
  g_assert_no_error (error);

  while ((r = recv (pair.peer, buffer, sizeof buffer, 0)) > 0)
    g_byte_array_append (got, buffer, (guint) r);
  g_assert_cmpint (r, ==, 0);
  assert_same (got, frame);

  pair_close (&pair);
}

/* A corked guard holds at most 64 kB: past that, writes go out as they
 * come, after what is held, and nothing is reordered. */
static void
test_cork_bound (void)
{
  Pair pair;
  g_autoptr(GByteArray) expected = g_byte_array_new ();
  g_autoptr(GByteArray) got = g_byte_array_new ();
  g_autoptr(GError) error = NULL;
  guint i;

  pair_open (&pair, 0);
  sy_wire_guard_cork (pair.guard);
  for (i = 0; i < 20; i++)
    {
      g_autoptr(GByteArray) frame = text_frame ('A' + i, 5000);

      g_assert_cmpint (guard_write (&pair, frame, &error), ==, frame->len);
      g_assert_no_error (error);
      append (expected, frame);
      /* Nothing left the guard until the bound was reached. */
      if (expected->len <= 64 * 1024)
        g_assert_cmpuint (sy_wire_guard_get_bytes_out (pair.guard), ==, 0);
    }
  g_assert_cmpuint (sy_wire_guard_get_bytes_out (pair.guard), >, 0);
  drain_into (&pair, got);
  sy_wire_guard_uncork (pair.guard);
  WAIT_UNTIL (drain_into (&pair, got) >= expected->len, 5000);
  assert_same (got, expected);
  g_assert_cmpuint (sy_wire_guard_get_data_frames_written (pair.guard), ==, i);

  pair_close (&pair);
}

/* The peer is gone when the guard is uncorked: what it held is dropped, the
 * server carries on, and the next write reports the broken socket. */
static void
test_uncork_into_closed_socket (void)
{
  Pair pair;
  g_autoptr(GByteArray) frame = text_frame ('x', 100);
  g_autoptr(GError) error = NULL;

  pair_open (&pair, 0);
  sy_wire_guard_cork (pair.guard);
  g_assert_cmpint (guard_write (&pair, frame, &error), ==, frame->len);
  shutdown (pair.peer, SHUT_RDWR);
  close (pair.peer);
  pair.peer = -1;

  sy_wire_guard_uncork (pair.guard);
  g_assert_cmpuint (sy_wire_guard_get_bytes_out (pair.guard), ==, 0);
  g_assert_cmpuint (sy_wire_guard_get_data_frames_written (pair.guard), ==, 0);

  g_assert_cmpint (guard_write (&pair, frame, &error), ==, -1);
  g_assert_nonnull (error);
  g_assert_false (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK));

  pair_close (&pair);
}

int
main (int   argc,
      char *argv[])
{
  sy_test_init (&argc, &argv);

  g_test_add_func ("/core/wire-guard/cork/holds-and-sends", test_cork_holds_and_uncork_sends);
  g_test_add_func ("/core/wire-guard/cork/full-socket", test_uncork_into_full_socket);
  g_test_add_func ("/core/wire-guard/cork/close", test_close_sends_held);
  g_test_add_func ("/core/wire-guard/cork/bound", test_cork_bound);
  g_test_add_func ("/core/wire-guard/cork/closed-socket", test_uncork_into_closed_socket);

  return g_test_run ();
}
