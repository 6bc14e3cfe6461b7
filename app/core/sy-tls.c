/* sy-tls.c
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "sy-tls"

#include "config.h"

#include <errno.h>
#include <sys/socket.h>

#include "sy-tls.h"

/*
 * GIO loads a certificate and a key from two files without checking that
 * they belong together; a mismatched pair would only show up as every
 * client's handshake failing. So the pair proves itself at start-up: a TLS
 * handshake over a local socket pair, the key signing for the certificate.
 */

static gboolean
accept_any (GTlsConnection       *connection,
            GTlsCertificate      *peer_certificate,
            GTlsCertificateFlags  errors,
            gpointer              user_data)
{
  /* Only the pairing is under test here, not the trust. */
  return TRUE;
}

static gpointer
server_handshake (gpointer data)
{
  GTlsConnection *server = data;
  GError *error = NULL;

  g_tls_connection_handshake (server, NULL, &error);

  return error;
}

static GIOStream *
stream_for_fd (int       fd,
               GError  **error)
{
  g_autoptr(GSocket) socket = g_socket_new_from_fd (fd, error);

  if (socket == NULL)
    return NULL;

  g_socket_set_timeout (socket, 3);

  return G_IO_STREAM (g_socket_connection_factory_create_connection (socket));
}

/**
 * sy_tls_load_certificate:
 * @cert_file: a PEM certificate (chain)
 * @key_file: its PEM private key
 * @error: return location for a #GError
 *
 * Loads the pair and checks that the key goes with the certificate.
 *
 * Returns: (transfer full) (nullable): the certificate, or %NULL
 */
GTlsCertificate *
sy_tls_load_certificate (const char  *cert_file,
                         const char  *key_file,
                         GError     **error)
{
  g_autoptr(GTlsCertificate) certificate = NULL;
  g_autoptr(GIOStream) server_base = NULL;
  g_autoptr(GIOStream) client_base = NULL;
  g_autoptr(GIOStream) server = NULL;
  g_autoptr(GIOStream) client = NULL;
  g_autoptr(GError) client_error = NULL;
  GError *server_error;
  GThread *thread;
  int fds[2];

  g_return_val_if_fail (cert_file != NULL, NULL);
  g_return_val_if_fail (key_file != NULL, NULL);

  certificate = g_tls_certificate_new_from_files (cert_file, key_file, error);
  if (certificate == NULL)
    return NULL;

  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
    {
      g_set_error_literal (error, G_IO_ERROR, g_io_error_from_errno (errno), g_strerror (errno));
      return NULL;
    }

  server_base = stream_for_fd (fds[0], error);
  client_base = server_base ? stream_for_fd (fds[1], error) : NULL;
  if (client_base == NULL)
    return NULL;

  server = g_tls_server_connection_new (server_base, certificate, error);
  client = server ? g_tls_client_connection_new (client_base, NULL, error) : NULL;
  if (client == NULL)
    return NULL;
  g_signal_connect (client, "accept-certificate", G_CALLBACK (accept_any), NULL);

  thread = g_thread_new ("sy-tls-check", server_handshake, server);
  g_tls_connection_handshake (G_TLS_CONNECTION (client), NULL, &client_error);
  /* A failed client leaves the server waiting for more: end its wait. */
  if (client_error != NULL)
    g_socket_shutdown (g_socket_connection_get_socket (G_SOCKET_CONNECTION (client_base)), TRUE, TRUE, NULL);
  server_error = g_thread_join (thread);

  if (server_error != NULL || client_error != NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "the key does not go with the certificate (a test handshake failed: %s)",
                   server_error ? server_error->message : client_error->message);
      g_clear_error (&server_error);
      return NULL;
    }

  return g_steal_pointer (&certificate);
}
