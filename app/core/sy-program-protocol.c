/* sy-program-protocol.c
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "sy-program"

#include "config.h"

#include <errno.h>
#include <json-glib/json-glib.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sy-connection.h"
#include "sy-program-protocol.h"
#include "sy-source.h"

/*
 * A subprotocol served by a program of the operator's, in any language, the
 * way websocketd does it, but behind Switchyard's gatekeeping, logging and
 * connection list (docs/protocol.md, "Program-backed subprotocols").
 *
 * Per connection: the handshake spawns the program (no shell) before it is
 * accepted, so a program that cannot start is a refusal, not a crash. Each
 * text message goes to its stdin as one line, each line of its stdout comes
 * back as a text message; with `binary`, both directions are frames of a
 * type byte (1 text, 2 binary), a 32-bit big-endian length and the payload.
 *
 * Shared: one long-running process for every connection of the name,
 * spoken to in JSON lines that carry the connection id.
 *
 * All I/O is asynchronous on the server thread's context. Nothing grows
 * without bound: stdin has a bounded queue, stdout lines are at most the
 * largest message, and stdout is not read while the client is behind.
 */

#define READ_CHUNK        16384
#define STDERR_LINE_MAX   4096
#define RESUME_DELAY_MS   20
#define STOP_TERM_WAIT_MS 500
#define STOP_KILL_WAIT_MS 2000
#define DEFAULT_MAX_MESSAGE_SIZE (1024 * 1024)
#define CHILD_KEY "sy-program-child"

#define FRAME_TEXT   1
#define FRAME_BINARY 2
#define FRAME_HEADER 5

struct _SyProgramProtocol
{
  SySubprotocol   parent_instance;

  /* Configuration: fixed at construction, read from any thread. */
  GStrv           argv;
  SyProgramMode   mode;
  gboolean        binary;

  /* Set before the server starts. */
  char           *instance;
  guint64         max_message_size;

  /* Server thread */
  GPtrArray      *children;
  struct _SyProgramChild *shared;
};

G_DEFINE_FINAL_TYPE (SyProgramProtocol, sy_program_protocol, SY_TYPE_SUBPROTOCOL)

/* One process */

typedef struct
{
  GInputStream *stream;
  GByteArray   *buffer;
  gsize         limit;
  gboolean      split;
  gboolean      discarding;
  gboolean      done;
} Reader;

#define SY_TYPE_PROGRAM_CHILD (sy_program_child_get_type ())
G_DECLARE_FINAL_TYPE (SyProgramChild, sy_program_child, SY, PROGRAM_CHILD, GObject)

struct _SyProgramChild
{
  GObject            parent_instance;

  /* Borrowed: the protocol reaps every child before it goes (see stop). */
  SyProgramProtocol *protocol;
  /* Weak: the connection a per-connection process serves. */
  SyConnection      *connection;
  /* Shared mode: connection id → SyConnection, borrowed until its close. */
  GHashTable        *connections;

  /* Owned */
  GSubprocess       *process;
  GCancellable      *cancellable;
  GQueue             pending;
  Reader             out;
  Reader             err;
  GSource           *kill_source;
  GSource           *resume_source;
  char              *label;

  gsize              pending_bytes;
  int                pid;
  gint64             started_at;
  int                wait_status;
  guint              shared : 1;
  guint              writing : 1;
  guint              stdin_broken : 1;
  guint              exited : 1;
  guint              terminating : 1;
  guint              finished : 1;
};

G_DEFINE_FINAL_TYPE (SyProgramChild, sy_program_child, G_TYPE_OBJECT)

static void
reader_clear (Reader *reader)
{
  g_clear_object (&reader->stream);
  g_clear_pointer (&reader->buffer, g_byte_array_unref);
}

static void
sy_program_child_dispose (GObject *object)
{
  SyProgramChild *self = (SyProgramChild *)object;

  if (self->connection != NULL)
    g_object_remove_weak_pointer (G_OBJECT (self->connection), (gpointer *) &self->connection);
  self->connection = NULL;

  sy_clear_source (&self->kill_source);
  sy_clear_source (&self->resume_source);
  g_queue_clear_full (&self->pending, (GDestroyNotify) g_bytes_unref);
  self->pending_bytes = 0;

  G_OBJECT_CLASS (sy_program_child_parent_class)->dispose (object);
}

static void
sy_program_child_finalize (GObject *object)
{
  SyProgramChild *self = (SyProgramChild *)object;

  reader_clear (&self->out);
  reader_clear (&self->err);
  g_clear_pointer (&self->connections, g_hash_table_unref);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->process);
  g_clear_pointer (&self->label, g_free);

  G_OBJECT_CLASS (sy_program_child_parent_class)->finalize (object);
}

static void
sy_program_child_class_init (SyProgramChildClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = sy_program_child_dispose;
  object_class->finalize = sy_program_child_finalize;
}

static void
sy_program_child_init (SyProgramChild *self)
{
  g_queue_init (&self->pending);
  self->cancellable = g_cancellable_new ();
  self->connections = g_hash_table_new (NULL, NULL);
}

static void
child_log (SyProgramChild *child,
           const char     *format,
           ...) G_GNUC_PRINTF (2, 3);

/* A line about a process: under its connection's identity while it has one. */
static void
child_log (SyProgramChild *child,
           const char     *format,
           ...)
{
  g_autofree char *text = NULL;
  va_list args;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);

  if (child->connection != NULL)
    sy_connection_log (child->connection, G_LOG_LEVEL_MESSAGE, "process %d: %s", child->pid, text);
  else
    g_message ("%s: %s", child->label, text);
}

/* Signals the process group the child leads (it called setpgid()). */
static void
child_signal (SyProgramChild *child,
              int             signum)
{
  if (child->exited || child->pid <= 0)
    return;

  if (kill (-child->pid, signum) != 0 && errno == ESRCH)
    kill (child->pid, signum);
}

static gboolean
kill_cb (gpointer data)
{
  SyProgramChild *child = data;

  g_clear_pointer (&child->kill_source, g_source_unref);
  if (!child->exited)
    {
      child_log (child, "still running %u ms after SIGTERM: sending SIGKILL", SY_PROGRAM_KILL_DELAY_MS);
      child_signal (child, SIGKILL);
    }

  return G_SOURCE_REMOVE;
}

/* Ends a process: its pipes are abandoned, SIGTERM now, SIGKILL after
 * SY_PROGRAM_KILL_DELAY_MS. It is reaped when it exits (wait_cb). */
static void
child_terminate (SyProgramChild *child)
{
  if (child->terminating)
    return;

  child->terminating = TRUE;
  g_cancellable_cancel (child->cancellable);
  sy_clear_source (&child->resume_source);

  if (child->exited)
    return;

  child_signal (child, SIGTERM);
  child->kill_source = g_timeout_source_new (SY_PROGRAM_KILL_DELAY_MS);
  g_source_set_callback (child->kill_source, kill_cb, child, NULL);
  g_source_set_static_name (child->kill_source, "[sy-program] kill");
  g_source_attach (child->kill_source, g_main_context_get_thread_default ());
}

/* Drops a reference to a child held for a connection. A per-connection
 * process that no connection holds any more is ended. */
static void
child_release (gpointer data)
{
  SyProgramChild *child = data;

  if (!child->shared)
    child_terminate (child);
  g_object_unref (child);
}

static char *
describe_exit (SyProgramChild *child)
{
  if (WIFEXITED (child->wait_status))
    return g_strdup_printf ("exited with status %d", WEXITSTATUS (child->wait_status));
  if (WIFSIGNALED (child->wait_status))
    return g_strdup_printf ("was killed by signal %d", WTERMSIG (child->wait_status));
  return g_strdup ("ended");
}

static void
close_for_exit (SyProgramChild *child,
                SyConnection   *connection)
{
  g_autofree char *how = describe_exit (child);
  g_autofree char *reason = g_strdup_printf ("the program %s", how);
  gboolean clean = WIFEXITED (child->wait_status) && WEXITSTATUS (child->wait_status) == 0;

  sy_connection_set_process (connection, 0, 0);
  sy_connection_close (connection, clean ? SY_CLOSE_NORMAL : SY_CLOSE_INTERNAL_ERROR, reason);
}

/* Once the process exited and all it wrote was read, its connections end. */
static void
child_maybe_finish (SyProgramChild *child)
{
  if (child->finished || !child->exited || !child->out.done)
    return;

  if (child->shared)
    {
      g_autoptr(GList) connections = NULL;

      /* Connections that arrive after it exited start a new process. */
      child->finished = TRUE;
      connections = g_hash_table_get_values (child->connections);
      for (GList *l = connections; l != NULL; l = l->next)
        close_for_exit (child, l->data);
      return;
    }

  if (child->connection == NULL)
    return;

  child->finished = TRUE;
  close_for_exit (child, child->connection);
}

static void
wait_cb (GObject      *object,
         GAsyncResult *result,
         gpointer      data)
{
  g_autoptr(SyProgramChild) child = data;
  g_autofree char *how = NULL;
  SyProgramProtocol *self = child->protocol;

  g_subprocess_wait_finish (G_SUBPROCESS (object), result, NULL);
  child->exited = TRUE;
  child->wait_status = g_subprocess_get_status (G_SUBPROCESS (object));
  sy_clear_source (&child->kill_source);

  how = describe_exit (child);
  child_log (child, "%s", how);

  if (self != NULL)
    {
      if (self->shared == child)
        self->shared = NULL;
      g_ptr_array_remove (self->children, child);
    }

  child_maybe_finish (child);
}

/* stdin */

static void write_next (SyProgramChild *child);

static void
write_cb (GObject      *object,
          GAsyncResult *result,
          gpointer      data)
{
  g_autoptr(SyProgramChild) child = data;
  g_autoptr(GError) error = NULL;
  GBytes *done;

  child->writing = FALSE;
  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (object), result, NULL, &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) && !child->stdin_broken)
        child_log (child, "does not take input any more: %s", error->message);
      child->stdin_broken = TRUE;
      g_queue_clear_full (&child->pending, (GDestroyNotify) g_bytes_unref);
      child->pending_bytes = 0;
      return;
    }

  done = g_queue_pop_head (&child->pending);
  if (done != NULL)
    {
      child->pending_bytes -= g_bytes_get_size (done);
      g_bytes_unref (done);
    }

  write_next (child);
}

static void
write_next (SyProgramChild *child)
{
  GBytes *next;
  gsize len;
  gconstpointer data;

  if (child->writing || child->stdin_broken || child->terminating)
    return;

  next = g_queue_peek_head (&child->pending);
  if (next == NULL)
    return;

  /* The bytes stay at the head of the queue until they are written. */
  child->writing = TRUE;
  data = g_bytes_get_data (next, &len);
  g_output_stream_write_all_async (g_subprocess_get_stdin_pipe (child->process),
                                   data, len, G_PRIORITY_DEFAULT, child->cancellable,
                                   write_cb, g_object_ref (child));
}

/* Queues @bytes for the process's stdin. Returns FALSE, taking nothing, when
 * the process is that far behind. */
static gboolean
child_enqueue (SyProgramChild *child,
               GBytes         *bytes)
{
  gsize len = g_bytes_get_size (bytes);
  guint64 bound = MAX (SY_CONNECTION_MAX_QUEUED_BYTES, 2 * child->protocol->max_message_size);

  if (child->stdin_broken || child->terminating || child->exited)
    return TRUE;

  if (g_queue_get_length (&child->pending) >= SY_PROGRAM_MAX_QUEUED ||
      child->pending_bytes + len > bound)
    return FALSE;

  g_queue_push_tail (&child->pending, g_bytes_ref (bytes));
  child->pending_bytes += len;
  write_next (child);

  return TRUE;
}

static gboolean
child_enqueue_node (SyProgramChild *child,
                    JsonNode       *node)
{
  g_autofree char *json = json_to_string (node, FALSE);
  g_autoptr(GString) line = g_string_new (json);
  g_autoptr(GBytes) bytes = NULL;

  g_string_append_c (line, '\n');
  bytes = g_string_free_to_bytes (g_steal_pointer (&line));

  return child_enqueue (child, bytes);
}

/* stdout and stderr */

typedef void (*EmitFunc) (SyProgramChild        *child,
                          SoupWebsocketDataType  type,
                          const guint8          *data,
                          gsize                  len);

static void
close_connection (SyProgramChild *child,
                  gushort         code,
                  const char     *reason)
{
  SyConnection *connection = child->connection;

  if (connection == NULL)
    return;

  sy_connection_log (connection, G_LOG_LEVEL_MESSAGE, "closing with %u: %s", code, reason);
  sy_connection_close (connection, code, reason);
  child_terminate (child);
}

/* An over-long message from a program: a per-connection one loses its
 * connection (1011), a shared one loses the line. Returns whether reading
 * goes on. */
static gboolean
stdout_overflow (SyProgramChild *child)
{
  if (child->shared)
    {
      child_log (child, "ignoring a line over %" G_GUINT64_FORMAT " bytes",
                 child->protocol->max_message_size);
      return TRUE;
    }

  close_connection (child, SY_CLOSE_INTERNAL_ERROR,
                    "the program wrote a message over the size limit");
  return FALSE;
}

/* Splits what a reader holds into lines. Returns FALSE to stop reading. */
static gboolean
reader_take_lines (SyProgramChild *child,
                   Reader         *reader,
                   EmitFunc        emit)
{
  gsize start = 0;
  gboolean go_on = TRUE;

  while (go_on && !child->terminating)
    {
      guint8 *base = reader->buffer->data + start;
      gsize avail = reader->buffer->len - start;
      guint8 *newline = memchr (base, '\n', avail);
      gsize len;

      if (newline == NULL)
        break;

      len = newline - base;
      start += len + 1;

      if (reader->discarding)
        {
          reader->discarding = FALSE;
          continue;
        }

      if (len > reader->limit && !reader->split)
        {
          go_on = stdout_overflow (child);
          continue;
        }

      len = MIN (len, reader->limit);
      if (len > 0 && base[len - 1] == '\r')
        len--;
      emit (child, SOUP_WEBSOCKET_DATA_TEXT, base, len);
    }

  if (!go_on || child->terminating)
    {
      g_byte_array_set_size (reader->buffer, 0);
      return FALSE;
    }

  g_byte_array_remove_range (reader->buffer, 0, start);

  /* A line that is already longer than allowed is not kept whole. */
  if (reader->buffer->len > reader->limit && !reader->discarding)
    {
      if (reader->split)
        emit (child, SOUP_WEBSOCKET_DATA_TEXT, reader->buffer->data, reader->limit);
      else if (!stdout_overflow (child))
        return FALSE;
      reader->discarding = TRUE;
    }

  if (reader->discarding)
    g_byte_array_set_size (reader->buffer, 0);

  return TRUE;
}

/* Splits what a reader holds into frames (binary mode). */
static gboolean
reader_take_frames (SyProgramChild *child,
                    Reader         *reader,
                    EmitFunc        emit)
{
  gsize start = 0;

  while (!child->terminating && reader->buffer->len - start >= FRAME_HEADER)
    {
      guint8 *base = reader->buffer->data + start;
      guint32 len;

      memcpy (&len, base + 1, sizeof len);
      len = GUINT32_FROM_BE (len);

      if (base[0] != FRAME_TEXT && base[0] != FRAME_BINARY)
        {
          close_connection (child, SY_CLOSE_INTERNAL_ERROR,
                            "the program wrote a frame of an unknown type");
          return FALSE;
        }

      if (len > reader->limit)
        return stdout_overflow (child);

      if (reader->buffer->len - start < FRAME_HEADER + (gsize) len)
        break;

      emit (child, base[0] == FRAME_TEXT ? SOUP_WEBSOCKET_DATA_TEXT : SOUP_WEBSOCKET_DATA_BINARY,
            base + FRAME_HEADER, len);
      start += FRAME_HEADER + len;
    }

  if (child->terminating)
    return FALSE;

  g_byte_array_remove_range (reader->buffer, 0, start);

  return TRUE;
}

static SyConnection *
lookup_connection (SyProgramChild *child,
                   JsonNode       *node)
{
  guint64 id = 0;

  if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING)
    {
      if (!g_ascii_string_to_unsigned (json_node_get_string (node), 10, 1, G_MAXUINT64, &id, NULL))
        return NULL;
    }
  else if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_INT64)
    {
      gint64 value = json_node_get_int (node);

      if (value <= 0)
        return NULL;
      id = (guint64) value;
    }

  return id ? g_hash_table_lookup (child->connections, GSIZE_TO_POINTER ((gsize) id)) : NULL;
}

/* One line of a shared process's stdout:
 * {"connection":"<id>"|"*", "text":"…"} and/or "close":CODE, "reason":"…". */
static void
emit_envelope (SyProgramChild *child,
               const guint8   *data,
               gsize           len)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *shown = NULL;
  JsonObject *object;
  JsonNode *target;
  JsonNode *text;
  JsonNode *close_code;
  const char *problem = NULL;
  GPtrArray *targets;

  if (len == 0)
    return;

  if (!json_parser_load_from_data (parser, (const char *) data, len, &error))
    problem = error->message;
  else if (!JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    problem = "not a JSON object";

  object = problem ? NULL : json_node_get_object (json_parser_get_root (parser));
  target = object ? json_object_get_member (object, "connection") : NULL;
  text = object ? json_object_get_member (object, "text") : NULL;
  close_code = object ? json_object_get_member (object, "close") : NULL;

  if (problem == NULL && target == NULL)
    problem = "no \"connection\"";
  else if (problem == NULL && text != NULL &&
           !(JSON_NODE_HOLDS_VALUE (text) && json_node_get_value_type (text) == G_TYPE_STRING))
    problem = "\"text\" is not a string";
  else if (problem == NULL && close_code != NULL &&
           !(JSON_NODE_HOLDS_VALUE (close_code) && json_node_get_value_type (close_code) == G_TYPE_INT64 &&
             (json_node_get_int (close_code) == 1000 ||
              (json_node_get_int (close_code) >= 4000 && json_node_get_int (close_code) <= 4999))))
    problem = "\"close\" is not 1000 or 4000 to 4999";
  else if (problem == NULL && text == NULL && close_code == NULL)
    problem = "neither \"text\" nor \"close\"";

  if (problem != NULL)
    {
      shown = g_utf8_make_valid ((const char *) data, MIN (len, 200));
      child_log (child, "ignoring a line that is not an envelope (%s): %s", problem, shown);
      return;
    }

  targets = g_ptr_array_new ();
  if (JSON_NODE_HOLDS_VALUE (target) && json_node_get_value_type (target) == G_TYPE_STRING &&
      g_strcmp0 (json_node_get_string (target), "*") == 0)
    {
      GHashTableIter iter;
      gpointer value;

      g_hash_table_iter_init (&iter, child->connections);
      while (g_hash_table_iter_next (&iter, NULL, &value))
        g_ptr_array_add (targets, value);
    }
  else
    {
      SyConnection *connection = lookup_connection (child, target);

      if (connection != NULL)
        g_ptr_array_add (targets, connection);
      else
        g_debug ("%s: a line for a connection that is not open here", child->label);
    }

  for (guint i = 0; i < targets->len; i++)
    {
      SyConnection *connection = g_ptr_array_index (targets, i);

      if (text != NULL)
        sy_connection_send_text (connection, json_node_get_string (text));
      if (close_code != NULL)
        {
          JsonNode *reason = json_object_get_member (object, "reason");

          sy_connection_close (connection, json_node_get_int (close_code),
                               reason && JSON_NODE_HOLDS_VALUE (reason) &&
                               json_node_get_value_type (reason) == G_TYPE_STRING
                                 ? json_node_get_string (reason) : NULL);
        }
    }
  g_ptr_array_unref (targets);
}

static void
emit_stdout (SyProgramChild        *child,
             SoupWebsocketDataType  type,
             const guint8          *data,
             gsize                  len)
{
  g_autoptr(GBytes) bytes = NULL;

  if (child->shared)
    {
      emit_envelope (child, data, len);
      return;
    }

  if (child->connection == NULL)
    return;

  bytes = g_bytes_new (data, len);
  sy_connection_send (child->connection, type, bytes);
}

static void
emit_stderr (SyProgramChild        *child,
             SoupWebsocketDataType  type,
             const guint8          *data,
             gsize                  len)
{
  g_autofree char *line = g_utf8_make_valid ((const char *) data, len);

  child_log (child, "stderr: %s", line);
}

static void read_stdout (SyProgramChild *child);

static gboolean
resume_cb (gpointer data)
{
  SyProgramChild *child = data;

  g_clear_pointer (&child->resume_source, g_source_unref);
  read_stdout (child);

  return G_SOURCE_REMOVE;
}

/* The client is behind: the program waits (on a full pipe) rather than the
 * server holding its output. */
static gboolean
client_is_behind (SyProgramChild *child)
{
  return !child->shared && child->connection != NULL &&
         sy_connection_get_queued (child->connection) >= SY_CONNECTION_MAX_QUEUED / 2;
}

static void
stdout_cb (GObject      *object,
           GAsyncResult *result,
           gpointer      data)
{
  g_autoptr(SyProgramChild) child = data;
  g_autoptr(GBytes) bytes = NULL;
  gboolean go_on;

  bytes = g_input_stream_read_bytes_finish (G_INPUT_STREAM (object), result, NULL);
  if (bytes == NULL || g_bytes_get_size (bytes) == 0 || child->terminating)
    {
      /* A last line without its newline still counts. */
      if (bytes != NULL && !child->terminating && !child->protocol->binary &&
          child->out.buffer->len > 0 && !child->out.discarding)
        emit_stdout (child, SOUP_WEBSOCKET_DATA_TEXT, child->out.buffer->data, child->out.buffer->len);
      child->out.done = TRUE;
      child_maybe_finish (child);
      return;
    }

  g_byte_array_append (child->out.buffer, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  if (child->protocol->binary)
    go_on = reader_take_frames (child, &child->out, emit_stdout);
  else
    go_on = reader_take_lines (child, &child->out, emit_stdout);

  if (!go_on)
    {
      child->out.done = TRUE;
      return;
    }

  read_stdout (child);
}

static void
read_stdout (SyProgramChild *child)
{
  if (child->terminating || child->out.done)
    return;

  if (client_is_behind (child))
    {
      child->resume_source = sy_timeout_source_attach (g_main_context_get_thread_default (), RESUME_DELAY_MS,
                                                       resume_cb, child, "[sy-program] resume");
      return;
    }

  g_input_stream_read_bytes_async (child->out.stream, READ_CHUNK, G_PRIORITY_DEFAULT,
                                   child->cancellable, stdout_cb, g_object_ref (child));
}

static void
stderr_cb (GObject      *object,
           GAsyncResult *result,
           gpointer      data)
{
  g_autoptr(SyProgramChild) child = data;
  g_autoptr(GBytes) bytes = NULL;

  bytes = g_input_stream_read_bytes_finish (G_INPUT_STREAM (object), result, NULL);
  if (bytes == NULL || g_bytes_get_size (bytes) == 0 || child->terminating)
    {
      if (bytes != NULL && !child->terminating && child->err.buffer->len > 0 && !child->err.discarding)
        emit_stderr (child, SOUP_WEBSOCKET_DATA_TEXT, child->err.buffer->data, child->err.buffer->len);
      child->err.done = TRUE;
      return;
    }

  g_byte_array_append (child->err.buffer, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  if (!reader_take_lines (child, &child->err, emit_stderr))
    return;

  g_input_stream_read_bytes_async (child->err.stream, READ_CHUNK, G_PRIORITY_DEFAULT,
                                   child->cancellable, stderr_cb, g_object_ref (child));
}

/* Spawning */

static void
child_setup (gpointer data)
{
  /* Its own process group, so that ending it ends what it started. */
  setpgid (0, 0);
}

static char **
build_environment (SyProgramProtocol          *self,
                   const SySubprotocolRequest *request)
{
  static const char * const kept[] = {
    "PATH", "HOME", "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "LC_MESSAGES",
    "TZ", "TMPDIR", "USER", "LOGNAME",
  };
  const char *name = sy_subprotocol_get_name (SY_SUBPROTOCOL (self));
  char number[32];
  char **env = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (kept); i++)
    if (g_getenv (kept[i]) != NULL)
      env = g_environ_setenv (env, kept[i], g_getenv (kept[i]), TRUE);

  if (g_environ_getenv (env, "PATH") == NULL)
    env = g_environ_setenv (env, "PATH", "/usr/local/bin:/usr/bin:/bin", TRUE);

  /* Python buffers a pipe's output: lines would not come out one by one. */
  env = g_environ_setenv (env, "PYTHONUNBUFFERED", "1", TRUE);

  env = g_environ_setenv (env, "SWITCHYARD_SUBPROTOCOL", name, TRUE);
  env = g_environ_setenv (env, "SWITCHYARD_INSTANCE", self->instance ? self->instance : "", TRUE);
  env = g_environ_setenv (env, "SWITCHYARD_MODE",
                          self->mode == SY_PROGRAM_MODE_SHARED ? "shared" : "per-connection", TRUE);
  g_snprintf (number, sizeof number, "%" G_GUINT64_FORMAT, self->max_message_size);
  env = g_environ_setenv (env, "SWITCHYARD_MAX_MESSAGE_SIZE", number, TRUE);

  if (request != NULL)
    {
      g_autofree char *session = g_strdup_printf ("%s-%" G_GUINT64_FORMAT,
                                                  self->instance ? self->instance : "s", request->id);

      g_snprintf (number, sizeof number, "%" G_GUINT64_FORMAT, request->id);
      env = g_environ_setenv (env, "SWITCHYARD_CONNECTION_ID", number, TRUE);
      env = g_environ_setenv (env, "SWITCHYARD_PEER", request->peer ? request->peer : "", TRUE);
      env = g_environ_setenv (env, "SWITCHYARD_ROLE", sy_role_to_string (request->role), TRUE);
      env = g_environ_setenv (env, "SWITCHYARD_SESSION", session, TRUE);
      env = g_environ_setenv (env, "SWITCHYARD_ORIGIN", request->origin ? request->origin : "", TRUE);
    }

  return env;
}

static SyProgramChild *
spawn_child (SyProgramProtocol          *self,
             const SySubprotocolRequest *request,
             GError                    **error)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GSubprocess) process = NULL;
  g_auto(GStrv) env = build_environment (self, request);
  const char *name = sy_subprotocol_get_name (SY_SUBPROTOCOL (self));
  SyProgramChild *child;

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDIN_PIPE |
                                        G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                        G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_subprocess_launcher_set_environ (launcher, env);
  g_subprocess_launcher_set_child_setup (launcher, child_setup, NULL, NULL);

  process = g_subprocess_launcher_spawnv (launcher, (const char * const *) self->argv, error);
  if (process == NULL)
    {
      g_prefix_error (error, "The program behind %s cannot be started: ", name);
      return NULL;
    }

  child = g_object_new (SY_TYPE_PROGRAM_CHILD, NULL);
  child->protocol = self;
  child->shared = self->mode == SY_PROGRAM_MODE_SHARED;
  child->process = g_steal_pointer (&process);
  child->pid = atoi (g_subprocess_get_identifier (child->process));
  child->started_at = g_get_real_time ();
  child->out.stream = g_object_ref (g_subprocess_get_stdout_pipe (child->process));
  child->out.buffer = g_byte_array_new ();
  child->out.limit = self->max_message_size;
  child->err.stream = g_object_ref (g_subprocess_get_stderr_pipe (child->process));
  child->err.buffer = g_byte_array_new ();
  child->err.limit = STDERR_LINE_MAX;
  child->err.split = TRUE;
  if (child->shared)
    child->label = g_strdup_printf ("%s shared process %d", name, child->pid);
  else
    child->label = g_strdup_printf ("#%" G_GUINT64_FORMAT " %s %s process %d",
                                    request->id, request->peer, name, child->pid);

  g_ptr_array_add (self->children, g_object_ref (child));

  g_subprocess_wait_async (child->process, NULL, wait_cb, g_object_ref (child));
  g_input_stream_read_bytes_async (child->err.stream, READ_CHUNK, G_PRIORITY_DEFAULT,
                                   child->cancellable, stderr_cb, g_object_ref (child));

  return child;
}

/* The subprotocol */

static GObject *
sy_program_protocol_prepare (SySubprotocol              *protocol,
                             const SySubprotocolRequest *request,
                             GError                    **error)
{
  SyProgramProtocol *self = SY_PROGRAM_PROTOCOL (protocol);
  g_autofree char *command = sy_program_protocol_dup_command_line (self);
  SyProgramChild *child;
  GObject *ticket;

  if (self->mode == SY_PROGRAM_MODE_SHARED)
    {
      if (self->shared == NULL)
        {
          self->shared = spawn_child (self, NULL, error);
          if (self->shared == NULL)
            return NULL;
          g_message ("%s: started %s", self->shared->label, command);
          read_stdout (self->shared);
        }
      else
        g_object_ref (self->shared);
      child = self->shared;
    }
  else
    {
      child = spawn_child (self, request, error);
      if (child == NULL)
        return NULL;
      g_message ("%s: started %s", child->label, command);
    }

  /* Until the connection opens, the ticket holds the process; a client
   * that vanishes before that ends it (child_release). */
  ticket = g_object_new (G_TYPE_OBJECT, NULL);
  g_object_set_data_full (ticket, CHILD_KEY, child, child_release);

  return ticket;
}

static void
sy_program_protocol_open (SySubprotocol *protocol,
                          SyConnection  *connection)
{
  SyProgramProtocol *self = SY_PROGRAM_PROTOCOL (protocol);
  GObject *ticket = sy_connection_get_protocol_data (connection);
  SyProgramChild *child = G_IS_OBJECT (ticket) ? g_object_steal_data (ticket, CHILD_KEY) : NULL;
  guint64 id = sy_connection_get_id (connection);

  if (child == NULL)
    {
      sy_connection_close (connection, SY_CLOSE_INTERNAL_ERROR, "no program was started for this connection");
      return;
    }

  /* The connection holds the process from now on. */
  sy_connection_set_protocol_data (connection, child, child_release);
  sy_connection_set_process (connection, child->pid, child->started_at);

  if (child->shared)
    {
      g_autoptr(JsonBuilder) builder = json_builder_new ();
      g_autoptr(JsonNode) node = NULL;
      g_autofree char *id_text = g_strdup_printf ("%" G_GUINT64_FORMAT, id);
      g_autofree char *session = g_strdup_printf ("%s-%s", self->instance ? self->instance : "s", id_text);
      const char *origin = sy_connection_get_origin (connection);

      g_hash_table_insert (child->connections, GSIZE_TO_POINTER ((gsize) id), connection);

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "connection");
      json_builder_add_string_value (builder, id_text);
      json_builder_set_member_name (builder, "event");
      json_builder_add_string_value (builder, "open");
      json_builder_set_member_name (builder, "peer");
      json_builder_add_string_value (builder, sy_connection_get_peer (connection));
      json_builder_set_member_name (builder, "origin");
      if (origin != NULL)
        json_builder_add_string_value (builder, origin);
      else
        json_builder_add_null_value (builder);
      json_builder_set_member_name (builder, "role");
      json_builder_add_string_value (builder, sy_role_to_string (sy_connection_get_role (connection)));
      json_builder_set_member_name (builder, "session");
      json_builder_add_string_value (builder, session);
      json_builder_end_object (builder);
      node = json_builder_get_root (builder);

      sy_connection_log (connection, G_LOG_LEVEL_MESSAGE, "served by shared process %d", child->pid);
      if (!child_enqueue_node (child, node))
        sy_connection_close (connection, SY_CLOSE_POLICY, "the program is not reading its input");

      /* It may have ended between the handshake and now. */
      if (child->exited && child->out.done)
        close_for_exit (child, connection);
      return;
    }

  child->connection = connection;
  g_object_add_weak_pointer (G_OBJECT (connection), (gpointer *) &child->connection);
  sy_connection_log (connection, G_LOG_LEVEL_MESSAGE, "served by process %d", child->pid);
  read_stdout (child);
}

static void
sy_program_protocol_message (SySubprotocol         *protocol,
                             SyConnection          *connection,
                             SoupWebsocketDataType  type,
                             GBytes                *payload)
{
  SyProgramProtocol *self = SY_PROGRAM_PROTOCOL (protocol);
  SyProgramChild *child = sy_connection_get_protocol_data (connection);
  g_autoptr(GBytes) bytes = NULL;
  gsize len;
  const guint8 *data = g_bytes_get_data (payload, &len);

  if (!SY_IS_PROGRAM_CHILD (child))
    return;

  if (type == SOUP_WEBSOCKET_DATA_BINARY && !self->binary)
    {
      sy_connection_log (connection, G_LOG_LEVEL_MESSAGE, "closing with 1003: a binary message");
      sy_connection_close (connection, 1003, "this subprotocol takes text messages only");
      return;
    }

  if (child->shared)
    {
      g_autoptr(JsonBuilder) builder = json_builder_new ();
      g_autoptr(JsonNode) node = NULL;
      g_autofree char *id_text = g_strdup_printf ("%" G_GUINT64_FORMAT, sy_connection_get_id (connection));
      g_autofree char *text = g_strndup ((const char *) data, len);

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "connection");
      json_builder_add_string_value (builder, id_text);
      json_builder_set_member_name (builder, "event");
      json_builder_add_string_value (builder, "message");
      json_builder_set_member_name (builder, "text");
      json_builder_add_string_value (builder, text);
      json_builder_end_object (builder);
      node = json_builder_get_root (builder);

      if (!child_enqueue_node (child, node))
        {
          sy_connection_log (connection, G_LOG_LEVEL_MESSAGE,
                             "closing with 1008: the shared process %d does not read its input", child->pid);
          sy_connection_close (connection, SY_CLOSE_POLICY, "the program is not reading its input");
        }
      return;
    }

  if (self->binary)
    {
      guint8 header[FRAME_HEADER];
      guint32 be = GUINT32_TO_BE ((guint32) len);
      GByteArray *frame = g_byte_array_sized_new (FRAME_HEADER + len);

      header[0] = type == SOUP_WEBSOCKET_DATA_TEXT ? FRAME_TEXT : FRAME_BINARY;
      memcpy (header + 1, &be, sizeof be);
      g_byte_array_append (frame, header, FRAME_HEADER);
      g_byte_array_append (frame, data, len);
      bytes = g_byte_array_free_to_bytes (frame);
    }
  else
    {
      GByteArray *line;

      if (memchr (data, '\n', len) != NULL)
        {
          sy_connection_log (connection, G_LOG_LEVEL_MESSAGE, "closing with 1007: a message with a line break");
          sy_connection_close (connection, SY_CLOSE_BAD_DATA,
                               "a message may not contain a line break: the program reads one per line");
          return;
        }

      line = g_byte_array_sized_new (len + 1);
      g_byte_array_append (line, data, len);
      g_byte_array_append (line, (const guint8 *) "\n", 1);
      bytes = g_byte_array_free_to_bytes (line);
    }

  if (!child_enqueue (child, bytes))
    {
      sy_connection_log (connection, G_LOG_LEVEL_MESSAGE,
                         "closing with 1008: %u messages (%" G_GSIZE_FORMAT " bytes) wait for "
                         "process %d to read them",
                         g_queue_get_length (&child->pending), child->pending_bytes, child->pid);
      close_connection (child, SY_CLOSE_POLICY, "the program is not reading its input");
    }
}

static void
sy_program_protocol_close (SySubprotocol *protocol,
                           SyConnection  *connection)
{
  SyProgramChild *child = sy_connection_get_protocol_data (connection);

  if (!SY_IS_PROGRAM_CHILD (child))
    return;

  if (child->shared)
    {
      g_autoptr(JsonBuilder) builder = json_builder_new ();
      g_autoptr(JsonNode) node = NULL;
      g_autofree char *id_text = g_strdup_printf ("%" G_GUINT64_FORMAT, sy_connection_get_id (connection));

      if (!g_hash_table_remove (child->connections, GSIZE_TO_POINTER ((gsize) sy_connection_get_id (connection))))
        return;

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "connection");
      json_builder_add_string_value (builder, id_text);
      json_builder_set_member_name (builder, "event");
      json_builder_add_string_value (builder, "close");
      json_builder_set_member_name (builder, "code");
      json_builder_add_int_value (builder, sy_connection_get_close_code (connection));
      json_builder_end_object (builder);
      node = json_builder_get_root (builder);
      child_enqueue_node (child, node);
      return;
    }

  if (child->connection == connection)
    {
      g_object_remove_weak_pointer (G_OBJECT (connection), (gpointer *) &child->connection);
      child->connection = NULL;
    }
  child_terminate (child);
}

static gboolean
wake_cb (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

/* Spins the thread-default context until every process is reaped or the
 * deadline passes. */
static void
wait_for_children (SyProgramProtocol *self,
                   guint              timeout_ms)
{
  GMainContext *context = g_main_context_get_thread_default ();
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  GSource *wake = g_timeout_source_new (20);

  g_source_set_callback (wake, wake_cb, NULL, NULL);
  g_source_set_static_name (wake, "[sy-program] wait for processes");
  g_source_attach (wake, context);

  while (self->children->len > 0 && g_get_monotonic_time () < deadline)
    g_main_context_iteration (context, TRUE);

  g_source_destroy (wake);
  g_source_unref (wake);
}

static void
sy_program_protocol_stop (SySubprotocol *protocol)
{
  SyProgramProtocol *self = SY_PROGRAM_PROTOCOL (protocol);
  g_autoptr(GPtrArray) children = NULL;

  if (self->children->len == 0)
    return;

  g_message ("%s: ending %u processes", sy_subprotocol_get_name (protocol), self->children->len);

  children = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; i < self->children->len; i++)
    g_ptr_array_add (children, g_object_ref (g_ptr_array_index (self->children, i)));
  for (guint i = 0; i < children->len; i++)
    child_terminate (g_ptr_array_index (children, i));
  wait_for_children (self, STOP_TERM_WAIT_MS);

  for (guint i = 0; i < self->children->len; i++)
    {
      SyProgramChild *child = g_ptr_array_index (self->children, i);

      child_log (child, "still running after SIGTERM: sending SIGKILL");
      child_signal (child, SIGKILL);
    }
  wait_for_children (self, STOP_KILL_WAIT_MS);

  /* Whatever is left (it cannot be, short of a process stuck in the
   * kernel) no longer points back here. */
  for (guint i = 0; i < self->children->len; i++)
    {
      SyProgramChild *child = g_ptr_array_index (self->children, i);

      g_warning ("%s: not reaped", child->label);
      child->protocol = NULL;
    }
  g_ptr_array_set_size (self->children, 0);
  self->shared = NULL;
}

static void
sy_program_protocol_finalize (GObject *object)
{
  SyProgramProtocol *self = (SyProgramProtocol *)object;

  g_clear_pointer (&self->argv, g_strfreev);
  g_clear_pointer (&self->instance, g_free);
  g_clear_pointer (&self->children, g_ptr_array_unref);

  G_OBJECT_CLASS (sy_program_protocol_parent_class)->finalize (object);
}

static void
sy_program_protocol_class_init (SyProgramProtocolClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  SySubprotocolClass *protocol_class = SY_SUBPROTOCOL_CLASS (klass);

  object_class->finalize = sy_program_protocol_finalize;

  protocol_class->prepare = sy_program_protocol_prepare;
  protocol_class->open = sy_program_protocol_open;
  protocol_class->message = sy_program_protocol_message;
  protocol_class->close = sy_program_protocol_close;
  protocol_class->stop = sy_program_protocol_stop;

  /* A program that exits while we write to it must cost a write error,
   * not the whole server. */
  signal (SIGPIPE, SIG_IGN);
}

static void
sy_program_protocol_init (SyProgramProtocol *self)
{
  self->children = g_ptr_array_new_with_free_func (g_object_unref);
  self->max_message_size = DEFAULT_MAX_MESSAGE_SIZE;
}

/* Configuration */

/**
 * sy_program_protocol_check_name:
 * @name: a subprotocol name
 * @error: return location for a %G_OPTION_ERROR_BAD_VALUE
 *
 * A name must be an HTTP token (RFC 7230: letters, digits and
 * `!#$%&'*+-.^_`|~`) and must not start with `switchyard.`, which names
 * Switchyard's own subprotocols.
 *
 * Returns: whether @name may name a program-backed subprotocol
 */
gboolean
sy_program_protocol_check_name (const char  *name,
                                GError     **error)
{
  static const char token_chars[] = "!#$%&'*+-.^_`|~";

  if (name == NULL || *name == '\0')
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "A subprotocol needs a name");
      return FALSE;
    }

  for (const char *p = name; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && strchr (token_chars, *p) == NULL)
      {
        g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                     "“%s” is not a valid subprotocol name: use letters, digits and "
                     "!#$%%&'*+-.^_`|~ only", name);
        return FALSE;
      }

  if (g_ascii_strncasecmp (name, "switchyard.", strlen ("switchyard.")) == 0)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "“%s”: names starting with switchyard. belong to Switchyard's own subprotocols", name);
      return FALSE;
    }

  return TRUE;
}

static SySubprotocol *
new_checked (const char     *name,
             const char     *command,
             SyProgramMode   mode,
             SyRole          role,
             gboolean        binary,
             GError        **error)
{
  g_auto(GStrv) argv = NULL;
  g_autoptr(GError) local_error = NULL;

  if (!sy_program_protocol_check_name (name, error))
    return NULL;

  if (command == NULL || !g_shell_parse_argv (command, NULL, &argv, &local_error))
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "%s: no program to run%s%s", name,
                   local_error ? ": " : "", local_error ? local_error->message : "");
      return NULL;
    }

  if (binary && mode == SY_PROGRAM_MODE_SHARED)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "%s: binary messages are for per-connection programs only", name);
      return NULL;
    }

  return sy_program_protocol_new (name, (const char * const *) argv, mode, role, binary);
}

/**
 * sy_program_protocol_parse:
 * @spec: `NAME[;OPTION…]=PROGRAM [ARGS…]`, as given to `--subprotocol`
 * @error: return location for a %G_OPTION_ERROR_BAD_VALUE
 *
 * The options are `per-connection` (the default) or `shared`, `control`
 * (the default) or `view`, and `text` (the default: binary messages are
 * refused) or `binary` (length-prefixed frames). The command is split like
 * a shell would (g_shell_parse_argv()), but no shell runs it.
 *
 * Returns: (transfer full) (nullable): the subprotocol
 */
SySubprotocol *
sy_program_protocol_parse (const char  *spec,
                           GError     **error)
{
  const char *equals;
  g_autofree char *head = NULL;
  g_auto(GStrv) parts = NULL;
  SyProgramMode mode = SY_PROGRAM_MODE_PER_CONNECTION;
  SyRole role = SY_ROLE_CONTROL;
  gboolean binary = FALSE;

  g_return_val_if_fail (spec != NULL, NULL);

  equals = strchr (spec, '=');
  if (equals == NULL)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "--subprotocol takes NAME[;OPTION…]=PROGRAM [ARGS…], e.g. "
                   "'chat.v1=python3 /path/chat.py', not “%s”", spec);
      return NULL;
    }

  head = g_strndup (spec, equals - spec);
  parts = g_strsplit (head, ";", -1);
  for (guint i = 0; parts[i] != NULL; i++)
    g_strstrip (parts[i]);

  for (guint i = 1; parts[i] != NULL; i++)
    {
      const char *option = parts[i];

      if (g_str_equal (option, "shared"))
        mode = SY_PROGRAM_MODE_SHARED;
      else if (g_str_equal (option, "per-connection"))
        mode = SY_PROGRAM_MODE_PER_CONNECTION;
      else if (g_str_equal (option, "view"))
        role = SY_ROLE_VIEW;
      else if (g_str_equal (option, "control"))
        role = SY_ROLE_CONTROL;
      else if (g_str_equal (option, "binary"))
        binary = TRUE;
      else if (g_str_equal (option, "text"))
        binary = FALSE;
      else
        {
          g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                       "%s: unknown option “%s”: use per-connection or shared, control or view, "
                       "text or binary", parts[0], option);
          return NULL;
        }
    }

  return new_checked (parts[0], equals + 1, mode, role, binary, error);
}

static gboolean
pick (GKeyFile    *file,
      const char  *group,
      const char  *key,
      const char  *first,
      const char  *second,
      gboolean    *is_second,
      GError     **error)
{
  g_autofree char *value = g_key_file_get_string (file, group, key, NULL);

  *is_second = FALSE;
  if (value == NULL)
    return TRUE;

  g_strstrip (value);
  if (g_str_equal (value, first))
    return TRUE;
  if (g_str_equal (value, second))
    {
      *is_second = TRUE;
      return TRUE;
    }

  g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
               "[%s] %s must be %s or %s, not “%s”", group, key, first, second, value);
  return FALSE;
}

/**
 * sy_program_protocol_load_file:
 * @path: a key file such as `subprotocols.ini`
 * @error: return location for a #GError
 *
 * Reads one subprotocol per group: `[NAME]` with `command=PROGRAM [ARGS…]`
 * and optionally `mode=per-connection|shared`, `role=control|view` and
 * `binary=refuse|length-prefixed`. A missing file is no subprotocols.
 *
 * Returns: (transfer full) (nullable): the subprotocols, or %NULL on error
 */
GPtrArray *
sy_program_protocol_load_file (const char  *path,
                               GError     **error)
{
  g_autoptr(GKeyFile) file = g_key_file_new ();
  g_autoptr(GPtrArray) protocols = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GError) local_error = NULL;
  g_auto(GStrv) groups = NULL;

  g_return_val_if_fail (path != NULL, NULL);

  if (!g_key_file_load_from_file (file, path, G_KEY_FILE_NONE, &local_error))
    {
      if (g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        return g_steal_pointer (&protocols);
      g_propagate_prefixed_error (error, g_steal_pointer (&local_error), "%s: ", path);
      return NULL;
    }

  groups = g_key_file_get_groups (file, NULL);
  for (guint i = 0; groups[i] != NULL; i++)
    {
      static const char * const known[] = { "command", "mode", "role", "binary", NULL };
      g_auto(GStrv) keys = g_key_file_get_keys (file, groups[i], NULL, NULL);
      g_autofree char *command = g_key_file_get_string (file, groups[i], "command", NULL);
      gboolean shared, view, binary;
      SySubprotocol *protocol;

      for (guint k = 0; keys && keys[k] != NULL; k++)
        if (!g_strv_contains (known, keys[k]))
          {
            g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                         "%s: [%s] has an unknown key “%s” (known: command, mode, role, binary)",
                         path, groups[i], keys[k]);
            return NULL;
          }

      if (!pick (file, groups[i], "mode", "per-connection", "shared", &shared, &local_error) ||
          !pick (file, groups[i], "role", "control", "view", &view, &local_error) ||
          !pick (file, groups[i], "binary", "refuse", "length-prefixed", &binary, &local_error))
        {
          g_propagate_prefixed_error (error, g_steal_pointer (&local_error), "%s: ", path);
          return NULL;
        }

      protocol = new_checked (groups[i], command,
                              shared ? SY_PROGRAM_MODE_SHARED : SY_PROGRAM_MODE_PER_CONNECTION,
                              view ? SY_ROLE_VIEW : SY_ROLE_CONTROL, binary, &local_error);
      if (protocol == NULL)
        {
          g_propagate_prefixed_error (error, g_steal_pointer (&local_error), "%s: ", path);
          return NULL;
        }
      g_ptr_array_add (protocols, protocol);
    }

  return g_steal_pointer (&protocols);
}

/**
 * sy_program_protocol_new:
 * @name: the subprotocol name (see sy_program_protocol_check_name())
 * @argv: the program and its arguments
 * @mode: a process per connection, or one shared
 * @role: the least role a connection needs
 * @binary: whether messages travel as length-prefixed frames, binary ones
 *   included, instead of text lines
 *
 * Returns: (transfer full): the subprotocol
 */
SySubprotocol *
sy_program_protocol_new (const char         *name,
                         const char * const *argv,
                         SyProgramMode       mode,
                         SyRole              role,
                         gboolean            binary)
{
  SyProgramProtocol *self;

  g_return_val_if_fail (name != NULL, NULL);
  g_return_val_if_fail (argv != NULL && argv[0] != NULL, NULL);
  g_return_val_if_fail (role == SY_ROLE_VIEW || role == SY_ROLE_CONTROL, NULL);

  self = g_object_new (SY_TYPE_PROGRAM_PROTOCOL,
                       "name", name,
                       "role", role,
                       NULL);
  self->argv = g_strdupv ((char **) argv);
  self->mode = mode;
  self->binary = binary;

  return SY_SUBPROTOCOL (self);
}

const char * const *
sy_program_protocol_get_argv (SyProgramProtocol *self)
{
  g_return_val_if_fail (SY_IS_PROGRAM_PROTOCOL (self), NULL);
  return (const char * const *) self->argv;
}

SyProgramMode
sy_program_protocol_get_mode (SyProgramProtocol *self)
{
  g_return_val_if_fail (SY_IS_PROGRAM_PROTOCOL (self), SY_PROGRAM_MODE_PER_CONNECTION);
  return self->mode;
}

gboolean
sy_program_protocol_get_binary (SyProgramProtocol *self)
{
  g_return_val_if_fail (SY_IS_PROGRAM_PROTOCOL (self), FALSE);
  return self->binary;
}

/**
 * sy_program_protocol_dup_command_line:
 * @self: a #SyProgramProtocol
 *
 * Returns: (transfer full): the command, quoted for a shell
 */
char *
sy_program_protocol_dup_command_line (SyProgramProtocol *self)
{
  g_autoptr(GString) line = g_string_new (NULL);

  g_return_val_if_fail (SY_IS_PROGRAM_PROTOCOL (self), NULL);

  for (guint i = 0; self->argv[i] != NULL; i++)
    {
      g_autofree char *quoted = NULL;
      const char *arg = self->argv[i];
      gboolean plain = *arg != '\0';

      for (const char *p = arg; *p != '\0' && plain; p++)
        plain = g_ascii_isalnum (*p) || strchr ("-_./=:,+@%", *p) != NULL;

      if (i > 0)
        g_string_append_c (line, ' ');
      quoted = plain ? g_strdup (arg) : g_shell_quote (arg);
      g_string_append (line, quoted);
    }

  return g_string_free (g_steal_pointer (&line), FALSE);
}

/**
 * sy_program_protocol_describe:
 * @self: a #SyProgramProtocol
 *
 * Returns: (transfer full): its settings in words, e.g.
 *   `per-connection, control role, text lines`
 */
char *
sy_program_protocol_describe (SyProgramProtocol *self)
{
  g_return_val_if_fail (SY_IS_PROGRAM_PROTOCOL (self), NULL);

  return g_strdup_printf ("%s, %s role, %s",
                          self->mode == SY_PROGRAM_MODE_SHARED ? "shared" : "per-connection",
                          sy_role_to_string (sy_subprotocol_get_role (SY_SUBPROTOCOL (self))),
                          self->binary ? "length-prefixed frames" : "text lines");
}

/**
 * sy_program_protocol_configure:
 * @self: a #SyProgramProtocol
 * @instance: the server run's instance id (the prefix of session ids)
 * @max_message_size: the longest message, and so the longest line, in bytes
 *
 * Called by the server before it starts.
 */
void
sy_program_protocol_configure (SyProgramProtocol *self,
                               const char        *instance,
                               guint64            max_message_size)
{
  g_return_if_fail (SY_IS_PROGRAM_PROTOCOL (self));
  g_return_if_fail (max_message_size > 0);

  g_free (self->instance);
  self->instance = g_strdup (instance);
  self->max_message_size = max_message_size;
}

/**
 * sy_program_protocol_get_n_processes:
 * @self: a #SyProgramProtocol
 *
 * Returns: processes started and not reaped yet (server thread only)
 */
guint
sy_program_protocol_get_n_processes (SyProgramProtocol *self)
{
  g_return_val_if_fail (SY_IS_PROGRAM_PROTOCOL (self), 0);
  return self->children->len;
}
