/* sy-application.c
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "sy-application"

#include "config.h"

#include <glib/gi18n.h>
#include <glib-unix.h>

#include "sy-application.h"
#include "sy-log.h"
#include "sy-mqtt.h"
#include "sy-preferences-window.h"
#include "sy-tls.h"
#include "sy-uplink.h"
#include "sy-window.h"

struct _SyApplication
{
  AdwApplication  parent_instance;

  /* Owned */
  SyServer       *server;
  GSettings      *settings;
  char          **pinned;
  SyHardware     *hardware;
  char           *last_error;
  guint           restart_id;
  guint           sigint_id;
  guint           sigterm_id;
  GLogLevelFlags  log_level;
  gboolean        start_failed;

  /* Borrowed */
  GtkWindow      *preferences;
};

G_DEFINE_FINAL_TYPE (SyApplication, sy_application, ADW_TYPE_APPLICATION)

enum {
  PROP_0,
  PROP_SERVER,
  PROP_SETTINGS,
  PROP_PINNED_KEYS,
  PROP_LAST_ERROR,
  PROP_LOG_LEVEL,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum {
  TOKENS_ROTATED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* The keys whose change takes a restart of the server. */
static const char * const restart_keys[] = {
  "port",
  "bind-address",
  "max-connections",
  "max-message-size",
  "ping-interval",
  "tls-certificate",
  "tls-key",
  "tick-hz",
  "uplink-url",
  "uplink-token",
  "mqtt-url",
  "mqtt-password",
  "mqtt-prefix",
  "mqtt-instance",
  "mqtt-role",
  "mqtt-mirror",
  "mqtt-ca-file",
  "mqtt-certificate",
  "mqtt-key",
};

/**
 * sy_application_is_exposed:
 * @bind_address: (nullable): a numeric IP address, or %NULL for loopback
 *
 * Returns: whether a server bound to @bind_address is reachable beyond this
 *   computer (anything but a loopback address, an unparsable one included)
 */
gboolean
sy_application_is_exposed (const char *bind_address)
{
  g_autoptr(GInetAddress) address = NULL;

  if (bind_address == NULL)
    return FALSE;

  address = g_inet_address_new_from_string (bind_address);

  return address == NULL || !g_inet_address_get_is_loopback (address);
}

/**
 * sy_application_configure_bind:
 * @server: a stopped #SyServer
 * @bind_address: (nullable): a numeric IP address, or %NULL for loopback
 *
 * Sets where @server listens and who may use it without a token: on
 * loopback anyone on this machine may watch; beyond it every role needs a
 * token (the default role is %SY_ROLE_NONE). Control always needs one.
 * Both the window and the headless server go through here.
 */
void
sy_application_configure_bind (SyServer   *server,
                               const char *bind_address)
{
  gboolean exposed;

  g_return_if_fail (SY_IS_SERVER (server));
  g_return_if_fail (!sy_server_get_running (server));

  if (bind_address == NULL)
    bind_address = SY_SERVER_DEFAULT_BIND_ADDRESS;

  exposed = sy_application_is_exposed (bind_address);
  if (exposed)
    g_warning ("Listening on %s, beyond loopback: every client needs a token from the "
               "view-url or control-url", bind_address);

  g_object_set (server,
                "bind-address", bind_address,
                "default-role", exposed ? SY_ROLE_NONE : SY_ROLE_VIEW,
                NULL);
}

static void
set_last_error (SyApplication *self,
                const char    *message)
{
  if (message == NULL && self->last_error == NULL)
    return;

  g_free (self->last_error);
  self->last_error = g_strdup (message);
  /* Notified even when the text repeats: the same failure twice is news. */
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LAST_ERROR]);
}

static void
report_error (SyApplication *self,
              const GError  *error)
{
  g_autofree char *message = NULL;

  g_warning ("The server did not start: %s", error->message);

  message = g_strdup_printf (_("The server could not start: %s"), error->message);
  set_last_error (self, message);
}

/* The MQTT bridge's configuration from the settings, for the broker @url. */
static SyMqttConfig *
mqtt_config_from_settings (SyApplication *self,
                           const char    *url)
{
  g_autoptr(SyMqttConfig) config = sy_mqtt_config_new (url);
  g_autofree char *password = g_settings_get_string (self->settings, "mqtt-password");
  g_autofree char *prefix = g_strstrip (g_settings_get_string (self->settings, "mqtt-prefix"));
  g_autofree char *instance = g_strstrip (g_settings_get_string (self->settings, "mqtt-instance"));
  g_autofree char *role = g_settings_get_string (self->settings, "mqtt-role");
  g_autofree char *mirror = g_strstrip (g_settings_get_string (self->settings, "mqtt-mirror"));
  g_autofree char *ca = g_settings_get_string (self->settings, "mqtt-ca-file");
  g_autofree char *cert = g_settings_get_string (self->settings, "mqtt-certificate");
  g_autofree char *key = g_settings_get_string (self->settings, "mqtt-key");

  if (*password != '\0')
    config->password = g_steal_pointer (&password);
  g_free (config->prefix);
  config->prefix = g_steal_pointer (&prefix);
  if (*instance != '\0')
    {
      g_free (config->instance);
      config->instance = g_steal_pointer (&instance);
    }
  config->role = g_str_equal (role, "control") ? SY_ROLE_CONTROL : SY_ROLE_VIEW;
  if (*mirror != '\0')
    config->mirror = g_steal_pointer (&mirror);
  if (*ca != '\0')
    config->ca_file = g_steal_pointer (&ca);
  if (*cert != '\0')
    config->cert_file = g_steal_pointer (&cert);
  if (*key != '\0')
    config->key_file = g_steal_pointer (&key);

  return g_steal_pointer (&config);
}

/* Settings to server, for every key the command line did not give. The
 * server must be stopped. Checks everything before it changes anything. */
static gboolean
apply_settings (SyApplication  *self,
                GError        **error)
{
  g_autofree char *bind_address = NULL;
  g_autofree char *uplink_url = NULL;
  g_autofree char *uplink_token = NULL;
  g_autoptr(GTlsCertificate) certificate = NULL;
  gboolean set_tls = FALSE;
  g_autoptr(SyMqttConfig) mqtt = NULL;
  gboolean set_uplink = FALSE;
  gboolean set_mqtt = FALSE;

  g_assert (!sy_server_get_running (self->server));

  if (self->settings == NULL)
    return TRUE;

  if (!sy_application_is_pinned (self, "bind-address"))
    {
      bind_address = g_settings_get_string (self->settings, "bind-address");
      if (!g_hostname_is_ip_address (bind_address))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                       _("The bind address “%s” is not a numeric IP address"), bind_address);
          return FALSE;
        }
    }

  if (!sy_application_is_pinned (self, "tls-certificate") &&
      !sy_application_is_pinned (self, "tls-key"))
    {
      g_autofree char *cert = g_settings_get_string (self->settings, "tls-certificate");
      g_autofree char *key = g_settings_get_string (self->settings, "tls-key");

      set_tls = TRUE;
      if (*cert != '\0' || *key != '\0')
        {
          g_autoptr(GError) local_error = NULL;

          if (*cert == '\0' || *key == '\0')
            {
              g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                                   _("A TLS certificate needs its private key, and a key its certificate"));
              return FALSE;
            }

          certificate = sy_tls_load_certificate (cert, key, &local_error);
          if (certificate == NULL)
            {
              g_set_error (error, local_error->domain, local_error->code,
                           _("Cannot use the TLS certificate %s with the key %s: %s"),
                           cert, key, local_error->message);
              return FALSE;
            }
        }
    }

  /* Like a TLS file that cannot be used, an upstream address that cannot
   * be used keeps the server stopped: serving the simulated bench instead
   * would let clients command a pretend device they take for the real one. */
  if (!sy_application_is_pinned (self, "uplink-url"))
    {
      uplink_url = g_strstrip (g_settings_get_string (self->settings, "uplink-url"));
      uplink_token = g_strstrip (g_settings_get_string (self->settings, "uplink-token"));
      set_uplink = TRUE;
      if (*uplink_url != '\0')
        {
          g_autoptr(GError) local_error = NULL;
          g_autofree char *ws_url = NULL;
          g_autofree char *url_token = NULL;

          if (!sy_uplink_parse_url (uplink_url, &ws_url, &url_token, &local_error))
            {
              g_set_error (error, local_error->domain, local_error->code,
                           _("The upstream Switchyard cannot be used: %s"), local_error->message);
              return FALSE;
            }
        }
    }

  /* Likewise a broker that cannot be used: the bridge is not silently
   * left out. The command line's --mqtt stands for every mqtt- key. */
  if (!sy_application_is_pinned (self, "mqtt-url"))
    {
      g_autofree char *url = g_strstrip (g_settings_get_string (self->settings, "mqtt-url"));

      set_mqtt = TRUE;
      if (*url != '\0')
        {
          g_autoptr(GError) local_error = NULL;
          gboolean uplink = set_uplink ? *uplink_url != '\0' : sy_server_get_uplink_url (self->server) != NULL;

          mqtt = mqtt_config_from_settings (self, url);
          if (!sy_mqtt_config_check (mqtt, &local_error))
            {
              g_set_error (error, local_error->domain, local_error->code,
                           _("The MQTT broker cannot be used: %s"), local_error->message);
              return FALSE;
            }
          if (mqtt->mirror != NULL && uplink)
            {
              g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                                   _("The MQTT broker cannot be used: this instance already mirrors "
                                     "an upstream Switchyard, and it mirrors one other at most"));
              return FALSE;
            }
        }
    }

  /* Checked: now change. The schema's ranges match the server's. */
  if (!sy_application_is_pinned (self, "port"))
    g_object_set (self->server, "port", (guint) g_settings_get_int (self->settings, "port"), NULL);
  if (!sy_application_is_pinned (self, "max-connections"))
    {
      guint max_connections = g_settings_get_uint (self->settings, "max-connections");

      g_object_set (self->server, "max-connections", CLAMP (max_connections, 1, G_MAXINT), NULL);
    }
  if (!sy_application_is_pinned (self, "max-message-size"))
    {
      guint max_message_size = g_settings_get_uint (self->settings, "max-message-size");

      g_object_set (self->server, "max-message-size", (guint64) MAX (1, max_message_size), NULL);
    }
  if (!sy_application_is_pinned (self, "ping-interval"))
    g_object_set (self->server,
                  "ping-interval", MIN (g_settings_get_uint (self->settings, "ping-interval"), 3600),
                  NULL);
  if (set_tls)
    g_object_set (self->server, "tls-certificate", certificate, NULL);
  if (bind_address != NULL)
    sy_application_configure_bind (self->server, bind_address);
  if (set_uplink)
    {
      /* Empty: the server simulates its own hardware again. Checked above;
       * the system's certificates are trusted for a wss:// upstream. */
      if (!sy_server_set_uplink (self->server, *uplink_url != '\0' ? uplink_url : NULL,
                                 uplink_token, NULL, NULL))
        g_assert_not_reached ();
    }
  if (set_mqtt && !sy_server_set_mqtt (self->server, mqtt, NULL))
    g_assert_not_reached ();

  /* The bench runs on the server thread: only touched while it is stopped. */
  if (!sy_application_is_pinned (self, "tick-hz") && sy_server_get_bench (self->server) != NULL)
    sy_bench_set_tick_hz (sy_server_get_bench (self->server),
                          CLAMP (g_settings_get_uint (self->settings, "tick-hz"),
                                 SY_BENCH_MIN_TICK_HZ, SY_BENCH_MAX_TICK_HZ));

  return TRUE;
}

/**
 * sy_application_start_server:
 * @self: a #SyApplication
 * @error: return location for a #GError
 *
 * Applies the settings (but not the keys the command line gave) to the
 * stopped server and starts it. A failure is also logged and kept in
 * #SyApplication:last-error; the server then stays stopped.
 *
 * Returns: whether the server runs
 */
gboolean
sy_application_start_server (SyApplication  *self,
                             GError        **error)
{
  g_autoptr(GError) local_error = NULL;

  g_return_val_if_fail (SY_IS_APPLICATION (self), FALSE);

  if (sy_server_get_running (self->server))
    return TRUE;

  /* Whatever a pending restart would apply, this applies now. */
  g_clear_handle_id (&self->restart_id, g_source_remove);

  if (!apply_settings (self, &local_error) || !sy_server_start (self->server, &local_error))
    {
      self->start_failed = TRUE;
      report_error (self, local_error);
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }

  self->start_failed = FALSE;
  set_last_error (self, NULL);

  return TRUE;
}

static gboolean
restart_cb (gpointer data)
{
  SyApplication *self = data;

  self->restart_id = 0;

  if (sy_server_get_running (self->server))
    {
      /* Clients get 1001 and reconnect to the new address. */
      g_message ("the preferences changed: restarting the server");
      sy_server_stop (self->server);
      sy_application_start_server (self, NULL);
    }
  else if (self->start_failed)
    {
      /* The last start failed: perhaps this change fixes it. */
      sy_application_start_server (self, NULL);
    }
  else
    {
      g_autoptr(GError) error = NULL;

      /* Stopped on purpose: the next start takes the new settings. */
      if (!apply_settings (self, &error))
        {
          g_autofree char *message = NULL;

          g_warning ("The preferences cannot be used: %s", error->message);
          message = g_strdup_printf (_("The preferences cannot be used: %s"), error->message);
          set_last_error (self, message);
        }
    }

  return G_SOURCE_REMOVE;
}

static void
update_log_level (SyApplication *self)
{
  g_autofree char *name = g_settings_get_string (self->settings, "log-level");
  int level = sy_log_level_from_string (name);

  if (level < 0)
    level = G_LOG_LEVEL_MESSAGE;

  /* Debug and info entries are only produced when asked for; the log
   * panel filters the rest by this level. */
  g_log_set_debug_enabled (level >= G_LOG_LEVEL_INFO);

  if (self->log_level != (GLogLevelFlags) level)
    {
      self->log_level = level;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LOG_LEVEL]);
    }
}

/* One of the two TLS files chosen and not yet the other. */
static gboolean
tls_pair_incomplete (SyApplication *self)
{
  g_autofree char *cert = g_settings_get_string (self->settings, "tls-certificate");
  g_autofree char *key = g_settings_get_string (self->settings, "tls-key");

  return (*cert == '\0') != (*key == '\0');
}

static gboolean
mqtt_tls_pair_incomplete (SyApplication *self)
{
  g_autofree char *cert = g_settings_get_string (self->settings, "mqtt-certificate");
  g_autofree char *key = g_settings_get_string (self->settings, "mqtt-key");

  return (*cert == '\0') != (*key == '\0');
}

static gboolean
setting_is_blank (SyApplication *self,
                  const char    *key)
{
  g_autofree char *value = g_settings_get_string (self->settings, key);

  return *g_strstrip (value) == '\0';
}

static gboolean
uplink_url_is_empty (SyApplication *self)
{
  g_autofree char *url = g_settings_get_string (self->settings, "uplink-url");

  return *g_strstrip (url) == '\0';
}

static void
on_settings_changed (GSettings     *settings,
                     const char    *key,
                     SyApplication *self)
{
  if (g_strcmp0 (key, "log-level") == 0)
    {
      update_log_level (self);
      return;
    }

  /* The command line's values stay in force until the next launch. */
  if (!g_strv_contains (restart_keys, key) || sy_application_is_pinned (self, key))
    return;

  /* The preferences set the certificate and the key one after the other:
   * restart once both are there (or both are gone). */
  if (g_str_has_prefix (key, "tls-") && tls_pair_incomplete (self))
    {
      g_message ("waiting for the other TLS file before restarting");
      return;
    }

  /* A token without an upstream is kept for later and changes nothing. */
  if (g_str_equal (key, "uplink-token") && uplink_url_is_empty (self))
    return;

  /* So are the MQTT bridge's details without a broker; and the MQTT
   * client certificate waits for its key, as the server's does. */
  if (g_str_has_prefix (key, "mqtt-") && !g_str_equal (key, "mqtt-url") && setting_is_blank (self, "mqtt-url"))
    return;
  if ((g_str_equal (key, "mqtt-certificate") || g_str_equal (key, "mqtt-key")) && mqtt_tls_pair_incomplete (self))
    return;

  /* Several changes in one turn of the main loop make one restart. */
  if (self->restart_id == 0)
    {
      /* At default priority: an idle at idle priority starves while a busy
       * view redraws every frame (seen under ASan). Every change made in this
       * turn of the loop is in before it runs. */
      self->restart_id = g_idle_add_full (G_PRIORITY_DEFAULT, restart_cb, self, NULL);
      g_source_set_static_name (g_main_context_find_source_by_id (NULL, self->restart_id),
                                "[sy-application] restart");
    }
}

static gboolean
on_quit_signal (gpointer data)
{
  g_message ("signal received, shutting down");
  g_application_quit (G_APPLICATION (data));

  return G_SOURCE_CONTINUE;
}

static void
sy_application_activate (GApplication *app)
{
  SyApplication *self = SY_APPLICATION (app);
  GtkWindow *window;

  window = gtk_application_get_active_window (GTK_APPLICATION (app));
  if (window == NULL)
    window = GTK_WINDOW (sy_window_new (self));

  gtk_window_present (window);
}

static void
sy_application_startup (GApplication *app)
{
  SyApplication *self = SY_APPLICATION (app);

  G_APPLICATION_CLASS (sy_application_parent_class)->startup (app);

  /* Quitting stops the server gracefully: clients get 1001. */
  self->sigint_id = g_unix_signal_add (SIGINT, on_quit_signal, self);
  self->sigterm_id = g_unix_signal_add (SIGTERM, on_quit_signal, self);

  if (self->settings != NULL)
    {
      g_signal_connect (self->settings, "changed", G_CALLBACK (on_settings_changed), self);
      update_log_level (self);
    }

  /* The hardware mirror reads the relays from the bench while it is still
   * idle, instead of waiting for the server thread later. */
  sy_application_get_hardware (self);

  sy_application_start_server (self, NULL);
}

static void
sy_application_shutdown (GApplication *app)
{
  SyApplication *self = SY_APPLICATION (app);

  if (self->settings != NULL)
    g_signal_handlers_disconnect_by_func (self->settings, on_settings_changed, self);
  g_clear_handle_id (&self->restart_id, g_source_remove);
  g_clear_handle_id (&self->sigint_id, g_source_remove);
  g_clear_handle_id (&self->sigterm_id, g_source_remove);

  sy_server_stop (self->server);

  G_APPLICATION_CLASS (sy_application_parent_class)->shutdown (app);
}

static void
sy_application_quit_action (GSimpleAction *action,
                            GVariant      *parameter,
                            gpointer       user_data)
{
  g_application_quit (G_APPLICATION (user_data));
}

static void
sy_application_preferences_action (GSimpleAction *action,
                                   GVariant      *parameter,
                                   gpointer       user_data)
{
  SyApplication *self = user_data;
  GtkWindow *parent = gtk_application_get_active_window (GTK_APPLICATION (self));

  if (self->preferences == NULL)
    {
      self->preferences = sy_preferences_window_new (self);
      g_object_add_weak_pointer (G_OBJECT (self->preferences), (gpointer *) &self->preferences);
      /* It goes with the main window, which quits the application. */
      if (parent != NULL)
        g_object_set (self->preferences,
                      "transient-for", parent,
                      "modal", TRUE,
                      "destroy-with-parent", TRUE,
                      NULL);
    }

  gtk_window_present (self->preferences);
}

static void
sy_application_about_action (GSimpleAction *action,
                             GVariant      *parameter,
                             gpointer       user_data)
{
  SyApplication *self = user_data;
  static const char *developers[] = { "The Switchyard developers", NULL };

  adw_show_about_window (gtk_application_get_active_window (GTK_APPLICATION (self)),
                         "application-name", _("Switchyard"),
                         "application-icon", APPLICATION_ID,
                         "developer-name", _("The Switchyard developers"),
                         "version", PACKAGE_VERSION,
                         "website", "https://github.com/switchyard/switchyard",
                         "issue-url", "https://github.com/switchyard/switchyard/issues",
                         "copyright", _("© 2026 The Switchyard developers"),
                         "developers", developers,
                         /* Translators: your names, one per line, as credits in About. */
                         "translator-credits", _("translator-credits"),
                         "license-type", GTK_LICENSE_GPL_3_0,
                         "comments", _("Watch sensors and switch relays from any browser, "
                                       "over a WebSocket server with very low latency."),
                         NULL);
}

static const GActionEntry app_actions[] = {
  { "quit", sy_application_quit_action },
  { "preferences", sy_application_preferences_action },
  { "about", sy_application_about_action },
};

static void
sy_application_constructed (GObject *object)
{
  SyApplication *self = (SyApplication *)object;
  GAction *preferences;

  G_OBJECT_CLASS (sy_application_parent_class)->constructed (object);

  g_assert (SY_IS_SERVER (self->server));

  /* Without a settings schema there is nothing to edit. */
  preferences = g_action_map_lookup_action (G_ACTION_MAP (self), "preferences");
  g_simple_action_set_enabled (G_SIMPLE_ACTION (preferences), self->settings != NULL);
}

static void
sy_application_dispose (GObject *object)
{
  SyApplication *self = (SyApplication *)object;

  if (self->preferences != NULL)
    {
      g_object_remove_weak_pointer (G_OBJECT (self->preferences), (gpointer *) &self->preferences);
      self->preferences = NULL;
    }
  if (self->settings != NULL)
    g_signal_handlers_disconnect_by_func (self->settings, on_settings_changed, self);
  g_clear_handle_id (&self->restart_id, g_source_remove);
  g_clear_handle_id (&self->sigint_id, g_source_remove);
  g_clear_handle_id (&self->sigterm_id, g_source_remove);
  g_clear_object (&self->hardware);
  g_clear_object (&self->settings);
  g_clear_object (&self->server);

  G_OBJECT_CLASS (sy_application_parent_class)->dispose (object);
}

static void
sy_application_finalize (GObject *object)
{
  SyApplication *self = (SyApplication *)object;

  g_clear_pointer (&self->pinned, g_strfreev);
  g_clear_pointer (&self->last_error, g_free);

  G_OBJECT_CLASS (sy_application_parent_class)->finalize (object);
}

static void
sy_application_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  SyApplication *self = SY_APPLICATION (object);

  switch (prop_id)
    {
    case PROP_SERVER:
      g_value_set_object (value, self->server);
      break;

    case PROP_SETTINGS:
      g_value_set_object (value, self->settings);
      break;

    case PROP_PINNED_KEYS:
      g_value_set_boxed (value, self->pinned);
      break;

    case PROP_LAST_ERROR:
      g_value_set_string (value, self->last_error);
      break;

    case PROP_LOG_LEVEL:
      g_value_set_int (value, self->log_level);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sy_application_set_property (GObject      *object,
                             guint         prop_id,
                             const GValue *value,
                             GParamSpec   *pspec)
{
  SyApplication *self = SY_APPLICATION (object);

  switch (prop_id)
    {
    case PROP_SERVER:
      self->server = g_value_dup_object (value);
      break;

    case PROP_SETTINGS:
      self->settings = g_value_dup_object (value);
      break;

    case PROP_PINNED_KEYS:
      self->pinned = g_value_dup_boxed (value);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sy_application_class_init (SyApplicationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  object_class->constructed = sy_application_constructed;
  object_class->dispose = sy_application_dispose;
  object_class->finalize = sy_application_finalize;
  object_class->get_property = sy_application_get_property;
  object_class->set_property = sy_application_set_property;

  app_class->activate = sy_application_activate;
  app_class->startup = sy_application_startup;
  app_class->shutdown = sy_application_shutdown;

  /**
   * SyApplication:server:
   *
   * The server the application runs, started on start-up and stopped on
   * shutdown.
   */
  properties[PROP_SERVER] =
    g_param_spec_object ("server", NULL, NULL,
                         SY_TYPE_SERVER,
                         (G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS));

  /**
   * SyApplication:settings:
   *
   * The preferences (schema %SY_SETTINGS_SCHEMA_ID) the server follows, or
   * %NULL to run the server exactly as it was configured.
   */
  properties[PROP_SETTINGS] =
    g_param_spec_object ("settings", NULL, NULL,
                         G_TYPE_SETTINGS,
                         (G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS));

  /**
   * SyApplication:pinned-keys:
   *
   * Settings keys the command line gave for this run: the server keeps
   * its configured value for them and ignores their settings.
   */
  properties[PROP_PINNED_KEYS] =
    g_param_spec_boxed ("pinned-keys", NULL, NULL,
                        G_TYPE_STRV,
                        (G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS));

  /**
   * SyApplication:last-error:
   *
   * Why the server could not start with the current settings (a
   * translated sentence), or %NULL once it started. Notified on every
   * failure, even a repeated one.
   */
  properties[PROP_LAST_ERROR] =
    g_param_spec_string ("last-error", NULL, NULL,
                         NULL,
                         (G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  /**
   * SyApplication:log-level:
   *
   * The least severe #GLogLevelFlags the log shows, from the `log-level`
   * setting (%G_LOG_LEVEL_MESSAGE without settings).
   */
  properties[PROP_LOG_LEVEL] =
    g_param_spec_int ("log-level", NULL, NULL,
                      G_LOG_LEVEL_ERROR, G_LOG_LEVEL_DEBUG, G_LOG_LEVEL_MESSAGE,
                      (G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * SyApplication::tokens-rotated:
   *
   * Every token handed out so far was revoked (see
   * sy_application_rotate_tokens()): pages opened with one must be opened
   * again with a new link.
   */
  signals[TOKENS_ROTATED] =
    g_signal_new ("tokens-rotated",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 0);
}

static void
sy_application_init (SyApplication *self)
{
  static const char *quit_accels[] = { "<primary>q", NULL };
  static const char *preferences_accels[] = { "<primary>comma", NULL };

  self->log_level = G_LOG_LEVEL_MESSAGE;

  g_action_map_add_action_entries (G_ACTION_MAP (self), app_actions,
                                   G_N_ELEMENTS (app_actions), self);
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "app.quit", quit_accels);
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "app.preferences", preferences_accels);
}

/**
 * sy_application_new:
 * @server: the configured (stopped) server the application will run
 *
 * The application runs @server as it is and follows no settings.
 *
 * Returns: (transfer full): a new #SyApplication
 */
SyApplication *
sy_application_new (SyServer *server)
{
  return sy_application_new_with_settings (server, NULL, NULL);
}

/**
 * sy_application_new_with_settings:
 * @server: the configured (stopped) server the application will run
 * @settings: (nullable): the %SY_SETTINGS_SCHEMA_ID settings the server follows
 * @pinned_keys: (nullable) (array zero-terminated=1): keys the command line gave
 *
 * On start-up the application applies @settings to @server (except the
 * @pinned_keys, whose command-line value stays in force for the whole run)
 * and starts it. Later changes of the port, bind address, limits, TLS files,
 * sensor rate, upstream (`uplink-url`, `uplink-token`: a relay server) or
 * MQTT bridge (the `mqtt-` keys) restart the server; several changes in one main-loop turn make one
 * restart. A setting that cannot be used (an unreadable TLS file, an
 * upstream address that is not one) keeps the server stopped and says why
 * in #SyApplication:last-error.
 *
 * The application is single-instance: a second launch presents the first
 * one's window (the session bus decides; without a bus every launch is its
 * own instance).
 *
 * Returns: (transfer full): a new #SyApplication
 */
SyApplication *
sy_application_new_with_settings (SyServer           *server,
                                  GSettings          *settings,
                                  const char * const *pinned_keys)
{
  g_return_val_if_fail (SY_IS_SERVER (server), NULL);
  g_return_val_if_fail (settings == NULL || G_IS_SETTINGS (settings), NULL);

  return g_object_new (SY_TYPE_APPLICATION,
                       "application-id", APPLICATION_ID,
                       "flags", G_APPLICATION_DEFAULT_FLAGS,
                       "resource-base-path", "/io/github/switchyard/Switchyard",
                       "server", server,
                       "settings", settings,
                       "pinned-keys", pinned_keys,
                       NULL);
}

/**
 * sy_application_get_server:
 * @self: a #SyApplication
 *
 * Returns: (transfer none): the server
 */
SyServer *
sy_application_get_server (SyApplication *self)
{
  g_return_val_if_fail (SY_IS_APPLICATION (self), NULL);
  return self->server;
}

/**
 * sy_application_get_settings:
 * @self: a #SyApplication
 *
 * Returns: (transfer none) (nullable): the settings the server follows
 */
GSettings *
sy_application_get_settings (SyApplication *self)
{
  g_return_val_if_fail (SY_IS_APPLICATION (self), NULL);
  return self->settings;
}

/**
 * sy_application_is_pinned:
 * @self: a #SyApplication
 * @key: a settings key
 *
 * Returns: whether the command line gave @key for this run, so that
 *   changing the setting has no effect until the next launch
 */
gboolean
sy_application_is_pinned (SyApplication *self,
                          const char    *key)
{
  g_return_val_if_fail (SY_IS_APPLICATION (self), FALSE);
  g_return_val_if_fail (key != NULL, FALSE);

  return self->pinned != NULL && g_strv_contains ((const char * const *) self->pinned, key);
}

/**
 * sy_application_get_hardware:
 * @self: a #SyApplication
 *
 * The window's mirror of the simulated bench, created on first use.
 *
 * Returns: (transfer none) (nullable): the hardware, or %NULL when the
 *   server has no bench
 */
SyHardware *
sy_application_get_hardware (SyApplication *self)
{
  g_return_val_if_fail (SY_IS_APPLICATION (self), NULL);

  if (self->hardware == NULL && sy_server_get_bench (self->server) != NULL)
    self->hardware = sy_hardware_new (self->server);

  return self->hardware;
}

/**
 * sy_application_rotate_tokens:
 * @self: a #SyApplication
 * @error: return location for a #GError
 *
 * Revokes every token handed out so far (connections made with one are
 * closed with 4002) and emits #SyApplication::tokens-rotated.
 *
 * Returns: whether the tokens were rotated
 */
gboolean
sy_application_rotate_tokens (SyApplication  *self,
                              GError        **error)
{
  g_return_val_if_fail (SY_IS_APPLICATION (self), FALSE);

  if (!sy_server_rotate_tokens (self->server, error))
    return FALSE;

  g_message ("tokens rotated: the old links no longer work");
  g_signal_emit (self, signals[TOKENS_ROTATED], 0);

  return TRUE;
}

/**
 * sy_application_get_last_error:
 * @self: a #SyApplication
 *
 * Returns: (nullable): why the server could not start, or %NULL
 */
const char *
sy_application_get_last_error (SyApplication *self)
{
  g_return_val_if_fail (SY_IS_APPLICATION (self), NULL);
  return self->last_error;
}

/**
 * sy_application_get_log_level:
 * @self: a #SyApplication
 *
 * Returns: the least severe level the log shows
 */
GLogLevelFlags
sy_application_get_log_level (SyApplication *self)
{
  g_return_val_if_fail (SY_IS_APPLICATION (self), G_LOG_LEVEL_MESSAGE);
  return self->log_level;
}
