/* switchyard-load.c
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The benchmarks' load client: RFC 6455 client framing (masked) on raw
 * sockets, blocking for the sequential scenarios and epoll for the
 * concurrent ones, so that the client is never what is measured. It writes
 * one JSON object with the figures of one scenario. See bench/README.md.
 */

#define _GNU_SOURCE

#include "config.h"

#include <errno.h>
#include <glib-unix.h>
#include <math.h>
#include <glib.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_SERIES   2000
#define WARMUP_S     1.0

typedef struct
{
  /* Options */
  char    *url;
  char    *scenario;
  char    *protocol;
  char    *output;
  char    *sizes;
  int      cpu;
  int      count;
  int      size;
  int      connections;
  int      inflight;
  double   duration;
  double   rate_hz;
  double   hold;
  int      warmup;
  int      tcp_echo;

  /* From the URL */
  char    *host;
  int      port;
  char    *path;
} Options;

typedef struct
{
  int      fd;
  GString *in;          /* bytes received, not yet parsed */
  GString *out;         /* bytes to send, from out_pos */
  gsize    out_pos;
  GArray  *sent_ns;     /* send times of the messages in flight, oldest first */
  guint    sent_head;
  guint64  received;
  gint64   last_receipt_ns;
  gint64   worst_gap_ns;
} Conn;

/* One message taken off a connection. */
typedef struct
{
  int          opcode;
  const char  *payload;
  gsize        len;
} Frame;

static gint64
now_ns (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (gint64) ts.tv_sec * G_GINT64_CONSTANT (1000000000) + ts.tv_nsec;
}

static double
now_epoch_ms (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_REALTIME, &ts);
  return (double) ts.tv_sec * 1000.0 + (double) ts.tv_nsec / 1e6;
}

G_GNUC_NORETURN G_GNUC_PRINTF (1, 2) static void
die (const char *format,
     ...)
{
  va_list args;

  va_start (args, format);
  fputs ("switchyard-load: ", stderr);
  vfprintf (stderr, format, args);
  fputc ('\n', stderr);
  va_end (args);
  exit (1);
}

static void
pin_to_cpu (int cpu)
{
  cpu_set_t set;

  if (cpu < 0)
    return;

  CPU_ZERO (&set);
  CPU_SET (cpu, &set);
  if (sched_setaffinity (0, sizeof set, &set) != 0)
    die ("cannot pin to CPU %d: %s", cpu, g_strerror (errno));
}

static void
raise_fd_limit (void)
{
  struct rlimit limit;

  if (getrlimit (RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max)
    {
      limit.rlim_cur = limit.rlim_max;
      setrlimit (RLIMIT_NOFILE, &limit);
    }
}

static void
parse_url (Options *options)
{
  g_autoptr(GUri) uri = NULL;
  g_autoptr(GError) error = NULL;
  const char *scheme;

  uri = g_uri_parse (options->url, G_URI_FLAGS_ENCODED, &error);
  if (uri == NULL)
    die ("bad URL %s: %s", options->url, error->message);

  scheme = g_uri_get_scheme (uri);
  if (g_strcmp0 (scheme, "ws") != 0 && g_strcmp0 (scheme, "tcp") != 0)
    die ("the URL must be ws:// (or tcp:// for tcp-rtt), not %s", scheme);

  options->host = g_strdup (g_uri_get_host (uri));
  options->port = g_uri_get_port (uri) > 0 ? g_uri_get_port (uri) : 80;
  options->path = g_strdup_printf ("%s%s%s", *g_uri_get_path (uri) ? g_uri_get_path (uri) : "/",
                                   g_uri_get_query (uri) ? "?" : "",
                                   g_uri_get_query (uri) ? g_uri_get_query (uri) : "");
}

static int
tcp_connect (const Options *options)
{
  struct addrinfo hints = { 0 }, *found = NULL;
  g_autofree char *service = g_strdup_printf ("%d", options->port);
  int fd, one = 1, status;

  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  status = getaddrinfo (options->host, service, &hints, &found);
  if (status != 0)
    die ("cannot resolve %s: %s", options->host, gai_strerror (status));

  fd = socket (found->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect (fd, found->ai_addr, found->ai_addrlen) != 0)
    die ("cannot connect to %s:%d: %s", options->host, options->port, g_strerror (errno));
  freeaddrinfo (found);
  setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

  return fd;
}

static void
write_all (int          fd,
           const char  *data,
           gsize        len)
{
  while (len > 0)
    {
      ssize_t n = write (fd, data, len);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        die ("write failed: %s", g_strerror (errno));
      data += n;
      len -= (gsize) n;
    }
}

/* Appends a masked client frame. */
static void
append_frame (GString     *out,
              int          opcode,
              const char  *payload,
              gsize        len)
{
  guint8 header[14];
  gsize header_len = 2;
  guint32 key = g_random_int ();
  guint8 mask[4];
  gsize start;

  memcpy (mask, &key, 4);
  header[0] = 0x80 | (opcode & 0x0f);
  if (len < 126)
    header[1] = 0x80 | (guint8) len;
  else if (len <= 0xffff)
    {
      header[1] = 0x80 | 126;
      header[2] = (guint8) (len >> 8);
      header[3] = (guint8) len;
      header_len = 4;
    }
  else
    {
      header[1] = 0x80 | 127;
      for (int i = 0; i < 8; i++)
        header[2 + i] = (guint8) ((guint64) len >> (56 - 8 * i));
      header_len = 10;
    }
  memcpy (header + header_len, mask, 4);
  header_len += 4;

  g_string_append_len (out, (const char *) header, (gssize) header_len);
  start = out->len;
  g_string_append_len (out, payload, (gssize) len);
  for (gsize i = 0; i < len; i++)
    out->str[start + i] ^= (char) mask[i & 3];
}

/* Takes one complete frame off the front of @in, if there is one. Pings
 * are answered into @out; the returned frame's payload points into @in
 * and is valid until the next call. */
static gboolean
take_frame (GString *in,
            gsize   *consumed,
            Frame   *frame)
{
  const guint8 *p = (const guint8 *) in->str + *consumed;
  gsize avail = in->len - *consumed;
  guint64 len;
  gsize header_len = 2;

  if (avail < 2)
    return FALSE;

  len = p[1] & 0x7f;
  if (len == 126)
    {
      if (avail < 4)
        return FALSE;
      len = ((guint64) p[2] << 8) | p[3];
      header_len = 4;
    }
  else if (len == 127)
    {
      if (avail < 10)
        return FALSE;
      len = 0;
      for (int i = 0; i < 8; i++)
        len = (len << 8) | p[2 + i];
      header_len = 10;
    }
  if (p[1] & 0x80)
    die ("the server sent a masked frame");
  if (avail < header_len + len)
    return FALSE;

  frame->opcode = p[0] & 0x0f;
  frame->payload = (const char *) p + header_len;
  frame->len = (gsize) len;
  *consumed += header_len + (gsize) len;

  return TRUE;
}

static void
compact (GString *in,
         gsize    consumed)
{
  if (consumed > 0)
    g_string_erase (in, 0, (gssize) consumed);
}

/* A blocking WebSocket handshake; the bytes after the 101 stay in @in. */
static int
ws_connect (const Options *options,
            GString       *in)
{
  g_autoptr(GString) request = g_string_new (NULL);
  g_autofree char *key = NULL;
  g_autofree char *expected = NULL;
  guint8 nonce[16];
  char buf[4096];
  char *end;
  int fd = tcp_connect (options);

  for (guint i = 0; i < sizeof nonce; i++)
    nonce[i] = (guint8) g_random_int_range (0, 256);
  key = g_base64_encode (nonce, sizeof nonce);

  {
    g_autoptr(GChecksum) sha1 = g_checksum_new (G_CHECKSUM_SHA1);
    guint8 digest[20];
    gsize digest_len = sizeof digest;

    g_checksum_update (sha1, (const guchar *) key, -1);
    g_checksum_update (sha1, (const guchar *) "258EAFA5-E914-47DA-95CA-C5AB0DC85B11", -1);
    g_checksum_get_digest (sha1, digest, &digest_len);
    expected = g_base64_encode (digest, digest_len);
  }

  g_string_printf (request,
                   "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n",
                   options->path, options->host, options->port, key);
  if (options->protocol != NULL)
    g_string_append_printf (request, "Sec-WebSocket-Protocol: %s\r\n", options->protocol);
  g_string_append (request, "\r\n");
  write_all (fd, request->str, request->len);

  g_string_truncate (in, 0);
  while ((end = strstr (in->str, "\r\n\r\n")) == NULL)
    {
      ssize_t n = read (fd, buf, sizeof buf);

      if (n <= 0)
        die ("the server closed during the handshake");
      g_string_append_len (in, buf, n);
    }

  if (!g_str_has_prefix (in->str, "HTTP/1.1 101"))
    {
      *strchr (in->str, '\r') = '\0';
      die ("handshake refused: %s", in->str);
    }
  *end = '\0';
  if (strstr (in->str, expected) == NULL)
    die ("the server's Sec-WebSocket-Accept is wrong");

  g_string_erase (in, 0, end + 4 - in->str);

  return fd;
}

/* Blocking: reads until a data frame arrives; answers pings. */
static void
read_message (int      fd,
              GString *in,
              Frame   *frame,
              gsize   *consumed)
{
  char buf[65536];

  for (;;)
    {
      if (take_frame (in, consumed, frame))
        {
          if (frame->opcode == 0x9)
            {
              g_autoptr(GString) pong = g_string_new (NULL);

              append_frame (pong, 0xA, frame->payload, frame->len);
              write_all (fd, pong->str, pong->len);
              continue;
            }
          if (frame->opcode == 0x8)
            die ("the server closed the connection");
          if (frame->opcode == 0xA)
            continue;
          return;
        }

      compact (in, *consumed);
      *consumed = 0;
      {
        ssize_t n = read (fd, buf, sizeof buf);

        if (n <= 0)
          die ("the connection was lost");
        g_string_append_len (in, buf, n);
      }
    }
}

/* Statistics */

typedef struct
{
  GArray  *latency_ns;  /* gint64 */
  GArray  *at_ns;       /* gint64, when each was measured */
} Samples;

static void
samples_init (Samples *samples)
{
  samples->latency_ns = g_array_new (FALSE, FALSE, sizeof (gint64));
  samples->at_ns = g_array_new (FALSE, FALSE, sizeof (gint64));
}

static void
samples_add (Samples *samples,
             gint64   at,
             gint64   latency)
{
  g_array_append_val (samples->latency_ns, latency);
  g_array_append_val (samples->at_ns, at);
}

static int
compare_gint64 (gconstpointer a,
                gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;

  return x < y ? -1 : x > y;
}

static double
percentile_us (GArray *sorted,
               double  p)
{
  gsize k;

  if (sorted->len == 0)
    return 0.0;
  k = (gsize) (p / 100.0 * (double) (sorted->len - 1) + 0.5);
  return (double) g_array_index (sorted, gint64, MIN (k, sorted->len - 1)) / 1000.0;
}

/* "latency_us", "series" and "histogram" members, with a trailing comma. */
static void
print_samples (GString *json,
               Samples *samples,
               gint64   t0)
{
  g_autoptr(GArray) sorted = g_array_copy (samples->latency_ns);
  double sum = 0;
  guint step;

  g_array_sort (sorted, compare_gint64);
  for (guint i = 0; i < sorted->len; i++)
    sum += (double) g_array_index (sorted, gint64, i);

  g_string_append_printf (json,
                          "\"latency_us\":{\"p50\":%.2f,\"p90\":%.2f,\"p99\":%.2f,\"p999\":%.2f,"
                          "\"max\":%.2f,\"min\":%.2f,\"mean\":%.2f},",
                          percentile_us (sorted, 50), percentile_us (sorted, 90), percentile_us (sorted, 99),
                          percentile_us (sorted, 99.9), percentile_us (sorted, 100), percentile_us (sorted, 0),
                          sorted->len ? sum / sorted->len / 1000.0 : 0.0);

  /* The series over time, evenly thinned, for the plots. */
  g_string_append (json, "\"series\":[");
  step = MAX (1, samples->latency_ns->len / MAX_SERIES);
  for (guint i = 0; i < samples->latency_ns->len; i += step)
    g_string_append_printf (json, "%s[%.3f,%.2f]", i ? "," : "",
                            (double) (g_array_index (samples->at_ns, gint64, i) - t0) / 1e6,
                            (double) g_array_index (samples->latency_ns, gint64, i) / 1000.0);
  g_string_append (json, "],");

  /* A log histogram: 20 buckets per decade from 1 µs. */
  g_string_append (json, "\"histogram\":[");
  {
    guint counts[200] = { 0 };
    gboolean first = TRUE;

    for (guint i = 0; i < sorted->len; i++)
      {
        double us = MAX (1.0, (double) g_array_index (sorted, gint64, i) / 1000.0);
        int bucket = (int) (log10 (us) * 20.0);

        counts[CLAMP (bucket, 0, 199)]++;
      }
    for (int b = 0; b < 200; b++)
      {
        if (counts[b] == 0)
          continue;
        g_string_append_printf (json, "%s[%.2f,%u]", first ? "" : ",", pow (10.0, (b + 1) / 20.0), counts[b]);
        first = FALSE;
      }
  }
  g_string_append (json, "],");
}

static void
emit (const Options *options,
      GString       *json)
{
  g_string_append (json, "}\n");

  if (options->output != NULL)
    {
      g_autoptr(GError) error = NULL;

      if (!g_file_set_contents (options->output, json->str, (gssize) json->len, &error))
        die ("%s", error->message);
    }
  else
    {
      fputs (json->str, stdout);
    }
}

static GString *
json_begin (const Options *options)
{
  GString *json = g_string_new ("{");
  g_autofree char *escaped = g_strescape (options->url, NULL);

  g_string_append_printf (json, "\"scenario\":\"%s\",\"url\":\"%s\",\"cpu\":%d,",
                          options->scenario, escaped, options->cpu);
  return json;
}

/* Scenario: sequential round trips on one connection (ws or tcp). */
static void
run_rtt (const Options *options,
         gboolean       tcp)
{
  g_autoptr(GString) in = g_string_new (NULL);
  g_autoptr(GString) out = g_string_new (NULL);
  g_autoptr(GString) json = json_begin (options);
  g_autofree char *payload = g_malloc (options->size);
  Samples samples;
  gsize consumed = 0;
  gint64 t0, t_end;
  int fd;

  memset (payload, 'x', options->size);
  samples_init (&samples);
  fd = tcp ? tcp_connect (options) : ws_connect (options, in);

  for (int i = -options->warmup; i < options->count; i++)
    {
      gint64 start = now_ns ();

      if (tcp)
        {
          gsize got = 0;

          write_all (fd, payload, options->size);
          while (got < (gsize) options->size)
            {
              char buf[65536];
              ssize_t n = read (fd, buf, MIN (sizeof buf, (gsize) options->size - got));

              if (n <= 0)
                die ("the echo server closed");
              got += (gsize) n;
            }
        }
      else
        {
          Frame frame;

          g_string_truncate (out, 0);
          append_frame (out, 0x1, payload, options->size);
          write_all (fd, out->str, out->len);
          read_message (fd, in, &frame, &consumed);
          if (frame.len != (gsize) options->size)
            die ("an echo of %zu bytes for %d", frame.len, options->size);
        }

      if (i >= 0)
        samples_add (&samples, now_ns (), now_ns () - start);
    }
  close (fd);

  t0 = g_array_index (samples.at_ns, gint64, 0) - g_array_index (samples.latency_ns, gint64, 0);
  t_end = g_array_index (samples.at_ns, gint64, samples.at_ns->len - 1);
  g_string_append_printf (json, "\"connections\":1,\"messages\":%d,\"size\":%d,\"duration_s\":%.4f,"
                          "\"msgs_per_s\":%.1f,",
                          options->count, options->size, (double) (t_end - t0) / 1e9,
                          options->count / ((double) (t_end - t0) / 1e9));
  print_samples (json, &samples, t0);
  g_string_append (json, "\"errors\":0");
  emit (options, json);
}

/* Scenario: binary echo of large messages, per size. */
static void
run_large (const Options *options)
{
  g_autoptr(GString) in = g_string_new (NULL);
  g_autoptr(GString) out = g_string_new (NULL);
  g_autoptr(GString) json = json_begin (options);
  g_auto(GStrv) sizes = g_strsplit (options->sizes, ",", -1);
  gsize consumed = 0;
  int fd = ws_connect (options, in);

  g_string_append (json, "\"per_size\":[");
  for (guint s = 0; sizes[s] != NULL; s++)
    {
      gsize size = (gsize) g_ascii_strtoull (sizes[s], NULL, 10);
      g_autofree char *payload = g_malloc (size);
      g_autoptr(GArray) latencies = g_array_new (FALSE, FALSE, sizeof (gint64));
      gint64 start_all;
      double seconds;

      for (gsize i = 0; i < size; i++)
        payload[i] = (char) (i * 31);

      start_all = now_ns ();
      for (int i = 0; i < options->count; i++)
        {
          gint64 start = now_ns ();
          gint64 latency;
          Frame frame;

          g_string_truncate (out, 0);
          append_frame (out, 0x2, payload, size);
          write_all (fd, out->str, out->len);
          read_message (fd, in, &frame, &consumed);
          if (frame.len != size || memcmp (frame.payload, payload, size) != 0)
            die ("a wrong echo of a %zu-byte message", size);
          latency = now_ns () - start;
          g_array_append_val (latencies, latency);
        }
      seconds = (double) (now_ns () - start_all) / 1e9;
      g_array_sort (latencies, compare_gint64);
      g_string_append_printf (json, "%s{\"size\":%zu,\"messages\":%d,\"mb_per_s\":%.2f,\"p50_us\":%.1f,\"p99_us\":%.1f}",
                              s ? "," : "", size, options->count,
                              (double) size * options->count / seconds / 1e6,
                              percentile_us (latencies, 50), percentile_us (latencies, 99));
    }
  g_string_append (json, "],\"errors\":0");
  close (fd);
  emit (options, json);
}

/* Concurrent scenarios: epoll over many connections. */

static Conn *
conn_new (const Options *options)
{
  Conn *conn = g_new0 (Conn, 1);

  conn->in = g_string_new (NULL);
  conn->out = g_string_new (NULL);
  conn->sent_ns = g_array_new (FALSE, FALSE, sizeof (gint64));
  conn->fd = ws_connect (options, conn->in);

  return conn;
}

static void
conn_flush (Conn *conn,
            int   epoll_fd)
{
  while (conn->out_pos < conn->out->len)
    {
      ssize_t n = write (conn->fd, conn->out->str + conn->out_pos, conn->out->len - conn->out_pos);

      if (n < 0 && errno == EAGAIN)
        break;
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        die ("write failed: %s", g_strerror (errno));
      conn->out_pos += (gsize) n;
    }

  if (conn->out_pos == conn->out->len)
    {
      g_string_truncate (conn->out, 0);
      conn->out_pos = 0;
    }
  else
    {
      struct epoll_event event = { EPOLLIN | EPOLLOUT, { .ptr = conn } };

      epoll_ctl (epoll_fd, EPOLL_CTL_MOD, conn->fd, &event);
    }
}

static void
set_nonblocking (int fd)
{
  struct timeval none = { 0 };

  setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &none, sizeof none);
  g_unix_set_fd_nonblocking (fd, TRUE, NULL);
}

static int
epoll_add_all (Conn **conns,
               int    n)
{
  int epoll_fd = epoll_create1 (EPOLL_CLOEXEC);

  for (int i = 0; i < n; i++)
    {
      struct epoll_event event = { EPOLLIN, { .ptr = conns[i] } };

      set_nonblocking (conns[i]->fd);
      epoll_ctl (epoll_fd, EPOLL_CTL_ADD, conns[i]->fd, &event);
    }

  return epoll_fd;
}

/* Reads what is there; returns FALSE at EOF. */
static gboolean
conn_read (Conn *conn)
{
  char buf[65536];

  for (;;)
    {
      ssize_t n = read (conn->fd, buf, sizeof buf);

      if (n > 0)
        {
          g_string_append_len (conn->in, buf, n);
          if ((gsize) n < sizeof buf)
            return TRUE;
          continue;
        }
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && errno == EAGAIN)
        return TRUE;
      return FALSE;
    }
}

/* Runs the connections until @t_end, handing every data frame to
 * @on_frame with its receipt time; pings are answered. */
typedef void (*FrameFunc) (Conn        *conn,
                           const Frame *frame,
                           gint64       now,
                           gpointer     data);

static void
event_loop (Conn      **conns,
            int         n_conns,
            int         epoll_fd,
            gint64      t_end,
            FrameFunc   on_frame,
            gpointer    data)
{
  struct epoll_event events[256];

  while (now_ns () < t_end)
    {
      int n = epoll_wait (epoll_fd, events, G_N_ELEMENTS (events), 100);

      for (int e = 0; e < n; e++)
        {
          Conn *conn = events[e].data.ptr;
          gsize consumed = 0;
          Frame frame;

          if (events[e].events & EPOLLOUT)
            {
              struct epoll_event event = { EPOLLIN, { .ptr = conn } };

              epoll_ctl (epoll_fd, EPOLL_CTL_MOD, conn->fd, &event);
            }
          if ((events[e].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !conn_read (conn))
            die ("a connection was closed");

          while (take_frame (conn->in, &consumed, &frame))
            {
              if (frame.opcode == 0x9)
                append_frame (conn->out, 0xA, frame.payload, frame.len);
              else if (frame.opcode == 0x8)
                die ("the server closed a connection");
              else if (frame.opcode == 0x1 || frame.opcode == 0x2)
                on_frame (conn, &frame, now_ns (), data);
            }
          compact (conn->in, consumed);
          conn_flush (conn, epoll_fd);
        }
    }

  for (int i = 0; i < n_conns; i++)
    close (conns[i]->fd);
}

typedef struct
{
  const char *payload;
  gsize       size;
  gint64      t_measure;
  gint64      t_end;
  Samples     samples;
  guint64     measured;
  gint64      worst_gap;
} Throughput;

static void
throughput_send (Conn       *conn,
                 const char *payload,
                 gsize       size)
{
  gint64 now = now_ns ();

  append_frame (conn->out, 0x1, payload, size);
  g_array_append_val (conn->sent_ns, now);
}

/* An echo came back: measure it and send the next one. */
static void
throughput_frame (Conn        *conn,
                  const Frame *frame,
                  gint64       now,
                  gpointer     data)
{
  Throughput *run = data;
  gint64 sent = g_array_index (conn->sent_ns, gint64, conn->sent_head++);

  if (now >= run->t_measure && sent >= run->t_measure)
    {
      samples_add (&run->samples, now, now - sent);
      conn->received++;
      run->measured++;
      run->worst_gap = MAX (run->worst_gap, now - conn->last_receipt_ns);
    }
  conn->last_receipt_ns = MAX (conn->last_receipt_ns, now);
  if (now < run->t_end)
    throughput_send (conn, run->payload, run->size);

  if (conn->sent_head > 4096)
    {
      g_array_remove_range (conn->sent_ns, 0, conn->sent_head);
      conn->sent_head = 0;
    }
}

static void
run_throughput (const Options *options)
{
  g_autoptr(GString) json = json_begin (options);
  g_autofree char *payload = g_malloc (options->size);
  g_autofree Conn **conns = g_new0 (Conn *, options->connections);
  Throughput run = { 0 };
  guint64 min_per_conn = G_MAXUINT64, max_per_conn = 0;
  int epoll_fd;

  memset (payload, 'x', options->size);
  run.payload = payload;
  run.size = (gsize) options->size;
  samples_init (&run.samples);
  for (int i = 0; i < options->connections; i++)
    conns[i] = conn_new (options);
  epoll_fd = epoll_add_all (conns, options->connections);

  run.t_measure = now_ns () + (gint64) (WARMUP_S * 1e9);
  run.t_end = run.t_measure + (gint64) (options->duration * 1e9);

  for (int i = 0; i < options->connections; i++)
    {
      for (int k = 0; k < options->inflight; k++)
        throughput_send (conns[i], payload, options->size);
      conns[i]->last_receipt_ns = run.t_measure;
      conn_flush (conns[i], epoll_fd);
    }

  event_loop (conns, options->connections, epoll_fd, run.t_end, throughput_frame, &run);

  for (int i = 0; i < options->connections; i++)
    {
      min_per_conn = MIN (min_per_conn, conns[i]->received);
      max_per_conn = MAX (max_per_conn, conns[i]->received);
    }

  g_string_append_printf (json, "\"connections\":%d,\"inflight\":%d,\"size\":%d,\"duration_s\":%.3f,"
                          "\"messages\":%" G_GUINT64_FORMAT ",\"msgs_per_s\":%.1f,"
                          "\"per_connection_min\":%" G_GUINT64_FORMAT ",\"per_connection_max\":%" G_GUINT64_FORMAT ","
                          "\"worst_gap_ms\":%.2f,",
                          options->connections, options->inflight, options->size, options->duration,
                          run.measured, run.measured / options->duration, min_per_conn, max_per_conn,
                          (double) run.worst_gap / 1e6);
  print_samples (json, &run.samples, run.t_measure);
  g_string_append (json, "\"errors\":0");
  emit (options, json);
}

typedef struct
{
  gint64   t_measure;
  Samples  samples;
  guint64  deliveries;
  guint64  skipped;
} Fanout;

/* A sensor message: a reading's delay from its source time. */
static void
fanout_frame (Conn        *conn,
              const Frame *frame,
              gint64       now,
              gpointer     data)
{
  Fanout *run = data;
  g_autofree char *text = NULL;
  const char *t;

  if (frame->opcode != 0x1 || now < run->t_measure)
    return;

  text = g_strndup (frame->payload, frame->len);
  if (strstr (text, "\"type\":\"reading\"") == NULL || (t = strstr (text, "\"t\":")) == NULL)
    return;
  if (strstr (text, "\"skipped\":") != NULL)
    run->skipped++;
  run->deliveries++;
  samples_add (&run->samples, now, (gint64) ((now_epoch_ms () - g_ascii_strtod (t + 4, NULL)) * 1e6));
}

/* Scenario: the sensor stream to many clients; the delay is the receipt
 * time minus the reading's source time "t" (ms since the epoch). */
static void
run_fanout (const Options *options)
{
  g_autoptr(GString) json = json_begin (options);
  g_autofree Conn **conns = g_new0 (Conn *, options->connections);
  g_autofree char *subscribe = NULL;
  Fanout run = { 0 };
  int epoll_fd;

  samples_init (&run.samples);
  subscribe = g_strdup_printf ("{\"type\":\"subscribe\",\"id\":1,\"rate_hz\":%g}", options->rate_hz);
  for (int i = 0; i < options->connections; i++)
    {
      conns[i] = conn_new (options);
      append_frame (conns[i]->out, 0x1, subscribe, strlen (subscribe));
      write_all (conns[i]->fd, conns[i]->out->str, conns[i]->out->len);
      g_string_truncate (conns[i]->out, 0);
    }
  epoll_fd = epoll_add_all (conns, options->connections);

  run.t_measure = now_ns () + (gint64) (WARMUP_S * 1e9);
  event_loop (conns, options->connections, epoll_fd,
              run.t_measure + (gint64) (options->duration * 1e9), fanout_frame, &run);

  g_string_append_printf (json, "\"connections\":%d,\"rate_hz\":%g,\"duration_s\":%.3f,"
                          "\"deliveries\":%" G_GUINT64_FORMAT ",\"deliveries_per_s\":%.1f,"
                          "\"with_skipped\":%" G_GUINT64_FORMAT ",",
                          options->connections, options->rate_hz, options->duration,
                          run.deliveries, run.deliveries / options->duration, run.skipped);
  print_samples (json, &run.samples, run.t_measure);
  g_string_append (json, "\"errors\":0");
  emit (options, json);
}

/* Scenario: idle connections, held open for the server's memory to be
 * measured; "ready N" on stderr once all are open. */
static void
run_idle (const Options *options)
{
  g_autoptr(GString) json = json_begin (options);
  g_autofree Conn **conns = g_new0 (Conn *, options->connections);
  gint64 start = now_ns ();
  double open_s;

  for (int i = 0; i < options->connections; i++)
    conns[i] = conn_new (options);
  open_s = (double) (now_ns () - start) / 1e9;
  fprintf (stderr, "ready %d\n", options->connections);
  fflush (stderr);

  g_usleep ((gulong) (options->hold * G_USEC_PER_SEC));

  for (int i = 0; i < options->connections; i++)
    close (conns[i]->fd);

  g_string_append_printf (json, "\"connections\":%d,\"open_s\":%.3f,\"held_s\":%.1f,\"errors\":0",
                          options->connections, open_s, options->hold);
  emit (options, json);
}

/* The baseline's peer: a plain TCP echo, one client at a time. */
static void
run_tcp_echo (const Options *options)
{
  struct sockaddr_in address = { 0 };
  int listener = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;

  address.sin_family = AF_INET;
  address.sin_port = htons ((uint16_t) options->tcp_echo);
  address.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  setsockopt (listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind (listener, (struct sockaddr *) &address, sizeof address) != 0 || listen (listener, 16) != 0)
    die ("cannot listen on 127.0.0.1:%d: %s", options->tcp_echo, g_strerror (errno));
  fprintf (stderr, "listening %d\n", options->tcp_echo);
  fflush (stderr);

  for (;;)
    {
      int fd = accept (listener, NULL, NULL);
      char buf[65536];
      ssize_t n;

      if (fd < 0)
        continue;
      setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      while ((n = read (fd, buf, sizeof buf)) > 0)
        write_all (fd, buf, (gsize) n);
      close (fd);
    }
}

int
main (int   argc,
      char *argv[])
{
  Options options = {
    .cpu = -1, .count = 10000, .size = 32, .connections = 50, .inflight = 16,
    .duration = 5.0, .rate_hz = 10.0, .hold = 10.0, .warmup = 1000,
  };
  const GOptionEntry entries[] = {
    { "scenario", 0, 0, G_OPTION_ARG_STRING, &options.scenario,
      "rtt, tcp-rtt, throughput, fanout, idle or large", "NAME" },
    { "protocol", 'p', 0, G_OPTION_ARG_STRING, &options.protocol, "Subprotocol to offer", "NAME" },
    { "cpu", 0, 0, G_OPTION_ARG_INT, &options.cpu, "Pin to this CPU", "N" },
    { "count", 0, 0, G_OPTION_ARG_INT, &options.count, "Round trips (rtt; large: per size)", "N" },
    { "warmup", 0, 0, G_OPTION_ARG_INT, &options.warmup, "Round trips before measuring (rtt)", "N" },
    { "size", 0, 0, G_OPTION_ARG_INT, &options.size, "Message size in bytes", "BYTES" },
    { "sizes", 0, 0, G_OPTION_ARG_STRING, &options.sizes, "Message sizes (large)", "LIST" },
    { "connections", 0, 0, G_OPTION_ARG_INT, &options.connections, "Connections", "N" },
    { "inflight", 0, 0, G_OPTION_ARG_INT, &options.inflight, "Messages in flight per connection", "N" },
    { "duration", 0, 0, G_OPTION_ARG_DOUBLE, &options.duration, "Seconds measured, after 1 s of warm-up", "S" },
    { "rate-hz", 0, 0, G_OPTION_ARG_DOUBLE, &options.rate_hz, "Sensor rate per client (fanout)", "HZ" },
    { "hold", 0, 0, G_OPTION_ARG_DOUBLE, &options.hold, "Seconds to hold idle connections", "S" },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &options.output, "Write the JSON result here", "FILE" },
    { "tcp-echo", 0, 0, G_OPTION_ARG_INT, &options.tcp_echo, "Run a TCP echo server on this port", "PORT" },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("URL");
  g_autoptr(GError) error = NULL;

  g_option_context_set_summary (context, "The benchmarks' WebSocket load client (see bench/README.md).");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      fprintf (stderr, "switchyard-load: %s\n", error->message);
      return 2;
    }

  signal (SIGPIPE, SIG_IGN);
  raise_fd_limit ();
  pin_to_cpu (options.cpu);

  if (options.tcp_echo > 0)
    run_tcp_echo (&options);

  if (argc != 2 || options.scenario == NULL)
    {
      fprintf (stderr, "switchyard-load: give a URL and --scenario (see --help)\n");
      return 2;
    }
  options.url = argv[1];
  parse_url (&options);
  if (options.sizes == NULL)
    options.sizes = g_strdup ("1024,16384,131072,1048576");

  if (g_str_equal (options.scenario, "rtt"))
    run_rtt (&options, FALSE);
  else if (g_str_equal (options.scenario, "tcp-rtt"))
    run_rtt (&options, TRUE);
  else if (g_str_equal (options.scenario, "throughput"))
    run_throughput (&options);
  else if (g_str_equal (options.scenario, "fanout"))
    run_fanout (&options);
  else if (g_str_equal (options.scenario, "idle"))
    run_idle (&options);
  else if (g_str_equal (options.scenario, "large"))
    run_large (&options);
  else
    {
      fprintf (stderr, "switchyard-load: unknown scenario %s\n", options.scenario);
      return 2;
    }

  return 0;
}
