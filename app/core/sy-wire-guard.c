/* sy-wire-guard.c
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "sy-wire-guard"

#include "config.h"

#include <string.h>

#include "sy-source.h"
#include "sy-wire-guard.h"

/*
 * SyWireGuard sits between a stolen HTTP connection and libsoup's
 * SoupWebsocketConnection. It reads the RFC 6455 frame headers as the bytes
 * pass and enforces what libsoup 3.2 leaves open:
 *
 *  - a message (single frame or the sum of its fragments) larger than the
 *    cap is never handed to libsoup. libsoup 3.2 would buffer fragments
 *    without a total limit, and on an oversized frame drops the TCP stream
 *    without a close frame. Instead the guard discards the frame, emits
 *    ::violation so the owner closes with 1009, and from then on passes
 *    only the peer's close frame, so the closing handshake stays clean.
 *    Control frames over 125 bytes or fragmented, and lengths with the top
 *    bit set, get the same treatment with 1002.
 *  - it counts wire bytes in both directions, the data frames written (so
 *    the owner knows its queue depth) and when the last ping went out (for
 *    round-trip times from libsoup's ::pong).
 *
 * Frames are only ever passed or dropped whole: a header is held back until
 * it is complete, then the decision covers its payload.
 *
 * On the way out the guard can also hold bytes back while its owner writes
 * several messages in a row (sy_wire_guard_cork()), and hand them to the
 * socket in one write when it is done (sy_wire_guard_uncork()): on loopback
 * and on a LAN, a send() costs about the same for 50 bytes as for 500, so
 * a burst of small messages costs one system call instead of one each.
 * Bytes count as written, for the queue depth and the byte counters, when
 * the socket takes them.
 */

/* Bytes read from the socket at a time, into a buffer on the stack: every
 * connection is read on the one server thread, so none needs its own. */
#define SCRATCH_SIZE (16 * 1024)

/* How long one connection may be read in one turn of the main loop (see
 * sy_guard_input_read_nonblocking()), in µs. */
#define TURN_BUDGET_US 500

/* The most a corked guard holds back; past it, writes go out as they come. */
#define HOLD_MAX (64 * 1024)

typedef struct
{
  guint8   header[14];
  guint    header_len;
  guint    header_need;
  guint8   opcode;
  gboolean in_payload;
  gboolean pass;
  guint64  remaining;
  guint64  message_size;
} FrameScanner;

struct _SyWireGuard
{
  GIOStream     parent_instance;

  /* Owned */
  GIOStream    *base;
  GInputStream *input;
  GOutputStream *output;
  GMainContext *context;
  GByteArray   *ready;
  GByteArray   *held;
  GSource      *flush_source;

  gsize         ready_pos;
  guint64       max_message_size;
  guint64       bytes_in;
  guint64       bytes_out;
  guint64       data_frames_written;
  guint64       data_bytes_written;
  gint64        last_ping_written;
  gint64        oldest_unanswered_ping;
  FrameScanner  in_scan;
  FrameScanner  out_scan;
  gint64        turn_started;
  guint         violated : 1;
  guint         corked : 1;
};

G_DEFINE_FINAL_TYPE (SyWireGuard, sy_wire_guard, G_TYPE_IO_STREAM)

enum {
  VIOLATION,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
frame_scanner_reset (FrameScanner *scan)
{
  scan->header_len = 0;
  scan->header_need = 2;
  scan->in_payload = FALSE;
  scan->remaining = 0;
}

static guint64
frame_scanner_payload_length (const FrameScanner *scan)
{
  guint8 len7 = scan->header[1] & 0x7f;
  guint64 len = 0;

  if (len7 < 126)
    return len7;

  if (len7 == 126)
    return ((guint64) scan->header[2] << 8) | scan->header[3];

  for (guint i = 0; i < 8; i++)
    len = (len << 8) | scan->header[2 + i];

  return len;
}

/* Collects header bytes; says whether the header is now complete. */
static gboolean
frame_scanner_take_header (FrameScanner  *scan,
                           const guint8 **data,
                           gsize         *len)
{
  guint take = MIN (*len, scan->header_need - scan->header_len);

  memcpy (scan->header + scan->header_len, *data, take);
  scan->header_len += take;
  *data += take;
  *len -= take;

  if (scan->header_len == 2)
    {
      guint8 len7 = scan->header[1] & 0x7f;

      scan->header_need = 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) +
                          ((scan->header[1] & 0x80) ? 4 : 0);
    }

  return scan->header_len == scan->header_need;
}

typedef struct
{
  SyWireGuard *guard;
  guint        code;
  char        *reason;
} Violation;

static void
violation_free (gpointer data)
{
  Violation *v = data;

  g_object_unref (v->guard);
  g_free (v->reason);
  g_free (v);
}

static gboolean
emit_violation_cb (gpointer data)
{
  Violation *v = data;

  g_signal_emit (v->guard, signals[VIOLATION], 0, v->code, v->reason);

  return G_SOURCE_REMOVE;
}

static void
sy_wire_guard_violate (SyWireGuard *self,
                       guint        code,
                       char        *reason)
{
  g_autoptr(GSource) source = NULL;
  Violation *v;

  if (self->violated)
    {
      g_free (reason);
      return;
    }

  self->violated = TRUE;

  /* Emitted from an idle so that the owner's reaction (a close) never runs
   * inside libsoup's read loop. */
  v = g_new0 (Violation, 1);
  v->guard = g_object_ref (self);
  v->code = code;
  v->reason = reason;

  source = g_idle_source_new ();
  g_source_set_priority (source, G_PRIORITY_HIGH);
  g_source_set_callback (source, emit_violation_cb, v, violation_free);
  g_source_set_static_name (source, "[sy-wire-guard] violation");
  g_source_attach (source, self->context);
}

/* Decides about an incoming frame whose header is complete. */
static gboolean
decide_incoming (SyWireGuard  *self,
                 FrameScanner *scan,
                 guint64       length)
{
  guint8 opcode = scan->header[0] & 0x0f;

  scan->opcode = opcode;

  /* After a violation only the peer's close frame may reach libsoup. */
  if (self->violated)
    return opcode == 0x8;

  /* RFC 6455 §5.2: a 64-bit length has its top bit clear. */
  if (length > G_MAXINT64)
    {
      sy_wire_guard_violate (self, 1002, g_strdup ("Protocol error: invalid frame length"));
      return FALSE;
    }

  /* §5.5: control frames carry at most 125 bytes and are never fragmented.
   * libsoup 3.2 drops the stream without a close frame when such a frame
   * claims more than its payload limit, so the guard answers it. */
  if (opcode & 0x8)
    {
      if (length > 125 || !(scan->header[0] & 0x80))
        {
          sy_wire_guard_violate (self, 1002,
                                 g_strdup ("Protocol error: control frames are at most 125 bytes "
                                           "and never fragmented"));
          return FALSE;
        }
      return TRUE;
    }

  if (opcode != 0x0)
    scan->message_size = 0;

  if (length > self->max_message_size ||
      scan->message_size > self->max_message_size - length)
    {
      sy_wire_guard_violate (self, 1009,
                             g_strdup_printf ("Message too big: over the limit of %" G_GUINT64_FORMAT " bytes",
                                              self->max_message_size));
      return FALSE;
    }

  scan->message_size += length;

  return TRUE;
}

static void
scan_incoming (SyWireGuard  *self,
               const guint8 *data,
               gsize         len,
               GByteArray   *out)
{
  FrameScanner *scan = &self->in_scan;

  while (len > 0)
    {
      if (!scan->in_payload)
        {
          if (frame_scanner_take_header (scan, &data, &len))
            {
              guint64 length = frame_scanner_payload_length (scan);

              scan->pass = decide_incoming (self, scan, length);
              if (scan->pass)
                g_byte_array_append (out, scan->header, scan->header_len);

              scan->in_payload = TRUE;
              scan->remaining = length;
              if (length == 0)
                frame_scanner_reset (scan);
            }
        }
      else
        {
          gsize take = (gsize) MIN ((guint64) len, scan->remaining);

          if (scan->pass)
            g_byte_array_append (out, data, take);

          data += take;
          len -= take;
          scan->remaining -= take;
          if (scan->remaining == 0)
            frame_scanner_reset (scan);
        }
    }
}

static void
outgoing_frame_done (SyWireGuard  *self,
                     FrameScanner *scan)
{
  if (scan->opcode < 0x8)
    self->data_frames_written++;
  frame_scanner_reset (scan);
}

static void
scan_outgoing (SyWireGuard  *self,
               const guint8 *data,
               gsize         len)
{
  FrameScanner *scan = &self->out_scan;

  while (len > 0)
    {
      if (!scan->in_payload)
        {
          if (frame_scanner_take_header (scan, &data, &len))
            {
              scan->opcode = scan->header[0] & 0x0f;
              if (scan->opcode == 0x9)
                {
                  self->last_ping_written = g_get_monotonic_time ();
                  if (self->oldest_unanswered_ping == 0)
                    self->oldest_unanswered_ping = self->last_ping_written;
                }
              scan->in_payload = TRUE;
              scan->remaining = frame_scanner_payload_length (scan);
              if (scan->remaining == 0)
                outgoing_frame_done (self, scan);
            }
        }
      else
        {
          gsize take = (gsize) MIN ((guint64) len, scan->remaining);

          if (scan->opcode < 0x8)
            self->data_bytes_written += take;
          data += take;
          len -= take;
          scan->remaining -= take;
          if (scan->remaining == 0)
            outgoing_frame_done (self, scan);
        }
    }
}

static gssize
take_ready (SyWireGuard *self,
            void        *buffer,
            gsize        count)
{
  gsize n = MIN (count, self->ready->len - self->ready_pos);

  memcpy (buffer, self->ready->data + self->ready_pos, n);
  self->ready_pos += n;
  if (self->ready_pos == self->ready->len)
    {
      g_byte_array_set_size (self->ready, 0);
      self->ready_pos = 0;
    }

  return n;
}

static gboolean
has_ready (SyWireGuard *self)
{
  return self->ready_pos < self->ready->len;
}

/* The input side */

#define SY_TYPE_GUARD_INPUT (sy_guard_input_get_type ())
G_DECLARE_FINAL_TYPE (SyGuardInput, sy_guard_input, SY, GUARD_INPUT, GInputStream)

struct _SyGuardInput
{
  GInputStream  parent_instance;
  /* Borrowed: the guard owns this stream. */
  SyWireGuard  *guard;
};

static void sy_guard_input_pollable_iface_init (GPollableInputStreamInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (SyGuardInput, sy_guard_input, G_TYPE_INPUT_STREAM,
                               G_IMPLEMENT_INTERFACE (G_TYPE_POLLABLE_INPUT_STREAM,
                                                      sy_guard_input_pollable_iface_init))

static gssize
sy_guard_input_read (GInputStream  *stream,
                     void          *buffer,
                     gsize          count,
                     GCancellable  *cancellable,
                     GError       **error)
{
  SyWireGuard *guard = SY_GUARD_INPUT (stream)->guard;
  GInputStream *base = g_io_stream_get_input_stream (guard->base);
  guint8 scratch[SCRATCH_SIZE];

  if (count == 0)
    return 0;

  for (;;)
    {
      gssize r;

      if (has_ready (guard))
        return take_ready (guard, buffer, count);

      r = g_input_stream_read (base, scratch, SCRATCH_SIZE, cancellable, error);
      if (r <= 0)
        return r;

      guard->bytes_in += r;
      scan_incoming (guard, scratch, r, guard->ready);
    }
}

static gboolean
sy_guard_input_close (GInputStream  *stream,
                      GCancellable  *cancellable,
                      GError       **error)
{
  /* The base stream is closed with the guard's GIOStream. */
  return TRUE;
}

static gssize
sy_guard_input_read_nonblocking (GPollableInputStream  *stream,
                                 void                  *buffer,
                                 gsize                  count,
                                 GError               **error)
{
  SyWireGuard *guard = SY_GUARD_INPUT (stream)->guard;
  GPollableInputStream *base = G_POLLABLE_INPUT_STREAM (g_io_stream_get_input_stream (guard->base));
  guint8 scratch[SCRATCH_SIZE];

  if (count == 0)
    return 0;

  /* Loop while frames are discarded whole, so that a read that produced
   * nothing to pass on does not look like the end of the stream. */
  for (;;)
    {
      gssize r;

      if (has_ready (guard))
        return take_ready (guard, buffer, count);

      /* A turn of the main loop reads a connection for at most
       * TURN_BUDGET_US: libsoup reads and answers until a read would block,
       * and a peer that answers at once never lets it, so one connection
       * could keep the server thread to itself while the others wait for
       * seconds. Within the budget a fast peer is still served without a
       * round through the main loop (that round costs more than a round
       * trip on loopback). The turn ends when libsoup asks for a new
       * source. */
      if (guard->turn_started == 0)
        guard->turn_started = g_get_monotonic_time ();
      else if (g_get_monotonic_time () - guard->turn_started > TURN_BUDGET_US)
        {
          g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK,
                               "Read again in the next turn of the main loop");
          return -1;
        }

      r = g_pollable_input_stream_read_nonblocking (base, scratch, SCRATCH_SIZE,
                                                    NULL, error);
      if (r <= 0)
        return r;

      guard->bytes_in += r;
      scan_incoming (guard, scratch, r, guard->ready);
    }
}

static gboolean
sy_guard_input_is_readable (GPollableInputStream *stream)
{
  SyWireGuard *guard = SY_GUARD_INPUT (stream)->guard;

  return has_ready (guard) ||
         g_pollable_input_stream_is_readable (G_POLLABLE_INPUT_STREAM (g_io_stream_get_input_stream (guard->base)));
}

static gboolean
sy_guard_input_can_poll (GPollableInputStream *stream)
{
  SyWireGuard *guard = SY_GUARD_INPUT (stream)->guard;

  return g_pollable_input_stream_can_poll (G_POLLABLE_INPUT_STREAM (g_io_stream_get_input_stream (guard->base)));
}

static GSource *
sy_guard_input_create_source (GPollableInputStream *stream,
                              GCancellable         *cancellable)
{
  SyWireGuard *guard = SY_GUARD_INPUT (stream)->guard;
  g_autoptr(GSource) child = NULL;

  guard->turn_started = 0;

  if (has_ready (guard))
    child = g_timeout_source_new (0);
  else
    child = g_pollable_input_stream_create_source (G_POLLABLE_INPUT_STREAM (g_io_stream_get_input_stream (guard->base)),
                                                   cancellable);

  return g_pollable_source_new_full (stream, child, cancellable);
}

static void
sy_guard_input_pollable_iface_init (GPollableInputStreamInterface *iface)
{
  iface->can_poll = sy_guard_input_can_poll;
  iface->is_readable = sy_guard_input_is_readable;
  iface->create_source = sy_guard_input_create_source;
  iface->read_nonblocking = sy_guard_input_read_nonblocking;
}

static void
sy_guard_input_class_init (SyGuardInputClass *klass)
{
  GInputStreamClass *stream_class = G_INPUT_STREAM_CLASS (klass);

  stream_class->read_fn = sy_guard_input_read;
  stream_class->close_fn = sy_guard_input_close;
}

static void
sy_guard_input_init (SyGuardInput *self)
{
}

/* The output side */

#define SY_TYPE_GUARD_OUTPUT (sy_guard_output_get_type ())
G_DECLARE_FINAL_TYPE (SyGuardOutput, sy_guard_output, SY, GUARD_OUTPUT, GOutputStream)

struct _SyGuardOutput
{
  GOutputStream  parent_instance;
  /* Borrowed: the guard owns this stream. */
  SyWireGuard   *guard;
};

static void sy_guard_output_pollable_iface_init (GPollableOutputStreamInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (SyGuardOutput, sy_guard_output, G_TYPE_OUTPUT_STREAM,
                               G_IMPLEMENT_INTERFACE (G_TYPE_POLLABLE_OUTPUT_STREAM,
                                                      sy_guard_output_pollable_iface_init))

static GOutputStream *
guard_base_output (SyWireGuard *guard)
{
  return g_io_stream_get_output_stream (guard->base);
}

static gssize
sy_guard_output_write (GOutputStream  *stream,
                       const void     *buffer,
                       gsize           count,
                       GCancellable   *cancellable,
                       GError        **error)
{
  SyWireGuard *guard = SY_GUARD_OUTPUT (stream)->guard;
  gssize r;

  r = g_output_stream_write (guard_base_output (guard), buffer, count, cancellable, error);
  if (r > 0)
    {
      guard->bytes_out += r;
      scan_outgoing (guard, buffer, r);
    }

  return r;
}

static gboolean
sy_guard_output_flush (GOutputStream  *stream,
                       GCancellable   *cancellable,
                       GError        **error)
{
  SyWireGuard *guard = SY_GUARD_OUTPUT (stream)->guard;

  return g_output_stream_flush (guard_base_output (guard), cancellable, error);
}

static gboolean
sy_guard_output_close (GOutputStream  *stream,
                       GCancellable   *cancellable,
                       GError        **error)
{
  return TRUE;
}

static gssize
write_base_nonblocking (SyWireGuard  *guard,
                        const void   *buffer,
                        gsize         count,
                        GError      **error)
{
  gssize r;

  r = g_pollable_output_stream_write_nonblocking (G_POLLABLE_OUTPUT_STREAM (guard_base_output (guard)),
                                                  buffer, count, NULL, error);
  if (r > 0)
    {
      guard->bytes_out += r;
      scan_outgoing (guard, buffer, r);
    }

  return r;
}

/* Writes what is held back, as far as the socket takes it. Returns whether
 * nothing is held any more; FALSE without @error set means the socket is
 * full. A broken socket drops what is held: libsoup learns of the break on
 * its own next read or write. */
static gboolean
flush_held (SyWireGuard  *guard,
            GError      **error)
{
  while (guard->held->len > 0)
    {
      g_autoptr(GError) local_error = NULL;
      gssize r;

      r = write_base_nonblocking (guard, guard->held->data, guard->held->len, &local_error);
      if (r < 0)
        {
          if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
            return FALSE;
          g_byte_array_set_size (guard->held, 0);
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
      g_byte_array_remove_range (guard->held, 0, (guint) r);
    }

  return TRUE;
}

static gssize
sy_guard_output_write_nonblocking (GPollableOutputStream  *stream,
                                   const void             *buffer,
                                   gsize                   count,
                                   GError                **error)
{
  SyWireGuard *guard = SY_GUARD_OUTPUT (stream)->guard;

  if (guard->corked && guard->held->len + count <= HOLD_MAX)
    {
      g_byte_array_append (guard->held, buffer, (guint) count);
      return (gssize) count;
    }

  /* What was held goes first; until it has, nothing else does. */
  if (!flush_held (guard, error))
    {
      if (error == NULL || *error == NULL)
        g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK, "The socket is full");
      return -1;
    }

  return write_base_nonblocking (guard, buffer, count, error);
}

static gboolean
sy_guard_output_is_writable (GPollableOutputStream *stream)
{
  SyWireGuard *guard = SY_GUARD_OUTPUT (stream)->guard;

  return g_pollable_output_stream_is_writable (G_POLLABLE_OUTPUT_STREAM (guard_base_output (guard)));
}

static gboolean
sy_guard_output_can_poll (GPollableOutputStream *stream)
{
  SyWireGuard *guard = SY_GUARD_OUTPUT (stream)->guard;

  return g_pollable_output_stream_can_poll (G_POLLABLE_OUTPUT_STREAM (guard_base_output (guard)));
}

static GSource *
sy_guard_output_create_source (GPollableOutputStream *stream,
                               GCancellable          *cancellable)
{
  SyWireGuard *guard = SY_GUARD_OUTPUT (stream)->guard;
  g_autoptr(GSource) child = NULL;

  child = g_pollable_output_stream_create_source (G_POLLABLE_OUTPUT_STREAM (guard_base_output (guard)),
                                                  cancellable);

  return g_pollable_source_new_full (stream, child, cancellable);
}

static void
sy_guard_output_pollable_iface_init (GPollableOutputStreamInterface *iface)
{
  iface->can_poll = sy_guard_output_can_poll;
  iface->is_writable = sy_guard_output_is_writable;
  iface->create_source = sy_guard_output_create_source;
  iface->write_nonblocking = sy_guard_output_write_nonblocking;
}

static void
sy_guard_output_class_init (SyGuardOutputClass *klass)
{
  GOutputStreamClass *stream_class = G_OUTPUT_STREAM_CLASS (klass);

  stream_class->write_fn = sy_guard_output_write;
  stream_class->flush = sy_guard_output_flush;
  stream_class->close_fn = sy_guard_output_close;
}

static void
sy_guard_output_init (SyGuardOutput *self)
{
}

/* The GIOStream */

static GInputStream *
sy_wire_guard_get_input_stream (GIOStream *stream)
{
  return SY_WIRE_GUARD (stream)->input;
}

static GOutputStream *
sy_wire_guard_get_output_stream (GIOStream *stream)
{
  return SY_WIRE_GUARD (stream)->output;
}

/* Closing hands the socket what is held back, if it takes it: libsoup
 * closes after its close frame, which may be among the held bytes. */
static void
flush_before_close (SyWireGuard *self)
{
  self->corked = FALSE;
  sy_clear_source (&self->flush_source);
  flush_held (self, NULL);
  g_byte_array_set_size (self->held, 0);
}

static gboolean
sy_wire_guard_close_fn (GIOStream     *stream,
                        GCancellable  *cancellable,
                        GError       **error)
{
  SyWireGuard *self = SY_WIRE_GUARD (stream);

  flush_before_close (self);

  return g_io_stream_close (self->base, cancellable, error);
}

static void
base_close_cb (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;

  if (!g_io_stream_close_finish (G_IO_STREAM (object), result, &error))
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_boolean (task, TRUE);
}

static void
sy_wire_guard_close_async (GIOStream           *stream,
                           int                  io_priority,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  SyWireGuard *self = SY_WIRE_GUARD (stream);
  GTask *task;

  flush_before_close (self);
  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, sy_wire_guard_close_async);
  g_io_stream_close_async (self->base, io_priority, cancellable, base_close_cb, task);
}

static gboolean
sy_wire_guard_close_finish (GIOStream     *stream,
                            GAsyncResult  *result,
                            GError       **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
sy_wire_guard_finalize (GObject *object)
{
  SyWireGuard *self = (SyWireGuard *)object;

  g_clear_object (&self->input);
  g_clear_object (&self->output);
  g_clear_object (&self->base);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_clear_pointer (&self->ready, g_byte_array_unref);
  g_clear_pointer (&self->held, g_byte_array_unref);

  G_OBJECT_CLASS (sy_wire_guard_parent_class)->finalize (object);
}

static void
sy_wire_guard_class_init (SyWireGuardClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GIOStreamClass *stream_class = G_IO_STREAM_CLASS (klass);

  object_class->finalize = sy_wire_guard_finalize;

  stream_class->get_input_stream = sy_wire_guard_get_input_stream;
  stream_class->get_output_stream = sy_wire_guard_get_output_stream;
  stream_class->close_fn = sy_wire_guard_close_fn;
  stream_class->close_async = sy_wire_guard_close_async;
  stream_class->close_finish = sy_wire_guard_close_finish;

  /**
   * SyWireGuard::violation:
   * @self: the guard
   * @code: the close code the peer deserves (1009 for a message over the cap)
   * @reason: a readable reason for the close frame and the log
   *
   * Emitted once, from an idle in the guard's main context, when the peer
   * broke a limit. The offending frame never reached libsoup.
   */
  signals[VIOLATION] =
    g_signal_new ("violation",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2, G_TYPE_UINT, G_TYPE_STRING);
}

static void
sy_wire_guard_init (SyWireGuard *self)
{
  self->ready = g_byte_array_new ();
  self->held = g_byte_array_new ();
  frame_scanner_reset (&self->in_scan);
  frame_scanner_reset (&self->out_scan);
}

/**
 * sy_wire_guard_new:
 * @base: the stolen connection stream
 * @max_message_size: the largest message, in bytes, the peer may send
 *
 * Wraps @base. Signals are emitted in the thread-default main context of
 * the caller.
 *
 * Returns: (transfer full): a new #SyWireGuard
 */
SyWireGuard *
sy_wire_guard_new (GIOStream *base,
                   guint64    max_message_size)
{
  SyWireGuard *self;
  SyGuardInput *input;
  SyGuardOutput *output;

  g_return_val_if_fail (G_IS_IO_STREAM (base), NULL);
  g_return_val_if_fail (max_message_size > 0, NULL);

  self = g_object_new (SY_TYPE_WIRE_GUARD, NULL);
  self->base = g_object_ref (base);
  self->context = g_main_context_ref_thread_default ();
  self->max_message_size = max_message_size;

  input = g_object_new (SY_TYPE_GUARD_INPUT, NULL);
  input->guard = self;
  self->input = G_INPUT_STREAM (input);

  output = g_object_new (SY_TYPE_GUARD_OUTPUT, NULL);
  output->guard = self;
  self->output = G_OUTPUT_STREAM (output);

  return self;
}

GIOStream *
sy_wire_guard_get_base_stream (SyWireGuard *self)
{
  g_return_val_if_fail (SY_IS_WIRE_GUARD (self), NULL);
  return self->base;
}

guint64
sy_wire_guard_get_max_message_size (SyWireGuard *self)
{
  g_return_val_if_fail (SY_IS_WIRE_GUARD (self), 0);
  return self->max_message_size;
}

guint64
sy_wire_guard_get_bytes_in (SyWireGuard *self)
{
  g_return_val_if_fail (SY_IS_WIRE_GUARD (self), 0);
  return self->bytes_in;
}

guint64
sy_wire_guard_get_bytes_out (SyWireGuard *self)
{
  g_return_val_if_fail (SY_IS_WIRE_GUARD (self), 0);
  return self->bytes_out;
}

/**
 * sy_wire_guard_get_data_frames_written:
 * @self: a #SyWireGuard
 *
 * Returns: how many data frames have been written completely to the socket
 */
guint64
sy_wire_guard_get_data_frames_written (SyWireGuard *self)
{
  g_return_val_if_fail (SY_IS_WIRE_GUARD (self), 0);
  return self->data_frames_written;
}

/**
 * sy_wire_guard_get_last_ping_written:
 * @self: a #SyWireGuard
 *
 * Returns: the monotonic time at which the last ping frame started to be
 *   written, or 0 if none was
 */
gint64
sy_wire_guard_get_last_ping_written (SyWireGuard *self)
{
  g_return_val_if_fail (SY_IS_WIRE_GUARD (self), 0);
  return self->last_ping_written;
}

gboolean
sy_wire_guard_get_violated (SyWireGuard *self)
{
  g_return_val_if_fail (SY_IS_WIRE_GUARD (self), FALSE);
  return self->violated;
}

/**
 * sy_wire_guard_get_oldest_unanswered_ping:
 * @self: a #SyWireGuard
 *
 * Returns: when the oldest ping not answered yet went out (monotonic), or 0
 */
gint64
sy_wire_guard_get_oldest_unanswered_ping (SyWireGuard *self)
{
  g_return_val_if_fail (SY_IS_WIRE_GUARD (self), 0);
  return self->oldest_unanswered_ping;
}

/**
 * sy_wire_guard_pong_received:
 * @self: a #SyWireGuard
 *
 * The peer answered: every ping so far counts as answered.
 */
void
sy_wire_guard_pong_received (SyWireGuard *self)
{
  g_return_if_fail (SY_IS_WIRE_GUARD (self));
  self->oldest_unanswered_ping = 0;
}

/**
 * sy_wire_guard_get_data_bytes_written:
 * @self: a #SyWireGuard
 *
 * Returns: payload bytes of data frames written to the socket so far
 */
guint64
sy_wire_guard_get_data_bytes_written (SyWireGuard *self)
{
  g_return_val_if_fail (SY_IS_WIRE_GUARD (self), 0);
  return self->data_bytes_written;
}

static gboolean
flush_cb (GObject *stream,
          gpointer data)
{
  SyWireGuard *self = data;
  g_autoptr(GError) error = NULL;

  if (!flush_held (self, &error) && error == NULL)
    return G_SOURCE_CONTINUE;

  if (error != NULL)
    g_debug ("dropping %s", error->message);
  g_clear_pointer (&self->flush_source, g_source_unref);

  return G_SOURCE_REMOVE;
}

/**
 * sy_wire_guard_cork:
 * @self: a #SyWireGuard
 *
 * Holds back what is written from now on, up to 64 kB, until
 * sy_wire_guard_uncork(). Call both in the same turn of the main loop.
 */
void
sy_wire_guard_cork (SyWireGuard *self)
{
  g_return_if_fail (SY_IS_WIRE_GUARD (self));

  self->corked = TRUE;
}

/**
 * sy_wire_guard_uncork:
 * @self: a #SyWireGuard
 *
 * Writes what sy_wire_guard_cork() held back, in one write if the socket
 * takes it all; the rest goes as soon as the socket has room, before
 * anything written later.
 */
void
sy_wire_guard_uncork (SyWireGuard *self)
{
  g_autoptr(GError) error = NULL;
  GSource *source;

  g_return_if_fail (SY_IS_WIRE_GUARD (self));

  if (!self->corked)
    return;
  self->corked = FALSE;

  if (self->flush_source != NULL || flush_held (self, &error))
    return;
  if (error != NULL)
    {
      g_debug ("dropping %s", error->message);
      return;
    }

  source = g_pollable_output_stream_create_source (G_POLLABLE_OUTPUT_STREAM (guard_base_output (self)), NULL);
  g_source_set_callback (source, G_SOURCE_FUNC (flush_cb), g_object_ref (self), g_object_unref);
  g_source_set_static_name (source, "[sy-wire-guard] flush");
  g_source_attach (source, self->context);
  self->flush_source = source;
}
