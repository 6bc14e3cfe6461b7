/* sy-window.c
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "sy-window"

#include "config.h"

#include <glib/gi18n.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <qrencode.h>

#include "sy-application.h"
#include "sy-connections-panel.h"
#include "sy-hardware-panel.h"
#include "sy-log-panel.h"
#include "sy-source.h"
#include "sy-window.h"

/* The QR code's look: pixels per module and the quiet zone the standard
 * asks for around it. */
#define QR_SCALE 5
#define QR_QUIET 4

struct _SyWindow
{
  AdwApplicationWindow  parent_instance;

  /* Template widgets */
  AdwWindowTitle       *window_title;
  GtkLabel             *connections_label;
  GtkToggleButton      *running_button;
  GtkMenuButton        *qr_button;
  GtkPicture           *qr_picture;
  GtkLabel             *qr_label;
  AdwToastOverlay      *toast_overlay;
  AdwFlap              *flap;
  GtkStack             *stack;
  WebKitWebView        *web_view;
  AdwStatusPage        *stopped_page;
  AdwViewStack         *panels;

  /* Owned */
  SyServer             *server;
  GSettings            *settings;
  GSource              *reload_source;
  gint64                last_crash;

  /* Unowned */
  SyApplication        *application;
};

G_DEFINE_FINAL_TYPE (SyWindow, sy_window, ADW_TYPE_APPLICATION_WINDOW)

/* Toast titles and status page descriptions are markup: the text here
 * comes from errors that quote paths and addresses, so it is escaped. */
static void
toast (SyWindow   *self,
       const char *text)
{
  g_autofree char *escaped = g_markup_escape_text (text, -1);

  adw_toast_overlay_add_toast (self->toast_overlay, adw_toast_new (escaped));
}

static void
show_stopped_reason (SyWindow   *self,
                     const char *text)
{
  g_autofree char *escaped = g_markup_escape_text (text, -1);

  adw_status_page_set_description (self->stopped_page, escaped);
}

static void
update_connections (SyWindow *self)
{
  GListModel *connections = sy_server_get_connections (self->server);
  guint n = g_list_model_get_n_items (connections);
  g_autofree char *text = NULL;

  text = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u connection", "%u connections", n), n);
  gtk_label_set_label (self->connections_label, text);
}

static void
on_connections_changed (GListModel *model,
                        guint       position,
                        guint       removed,
                        guint       added,
                        SyWindow   *self)
{
  update_connections (self);
}

/* Whether the server listens beyond this machine, where phones can reach it. */
static gboolean
server_is_exposed (SyServer *server)
{
  g_autofree char *bind = NULL;

  g_object_get (server, "bind-address", &bind, NULL);

  return sy_application_is_exposed (bind);
}

/* The first address of an interface that is up and not loopback: what a
 * phone on the same network dials when the server listens on every
 * interface. IPv4 first, as phones on Wi-Fi are sure to have it. */
static char *
find_network_address (void)
{
  struct ifaddrs *list = NULL;
  char *found = NULL;

  if (getifaddrs (&list) != 0)
    return NULL;

  for (int family = 0; family < 2 && found == NULL; family++)
    {
      for (struct ifaddrs *ifa = list; ifa != NULL && found == NULL; ifa = ifa->ifa_next)
        {
          g_autoptr(GSocketAddress) socket_address = NULL;
          GInetAddress *address;
          gsize size;

          if (ifa->ifa_addr == NULL || (ifa->ifa_flags & IFF_UP) == 0 || (ifa->ifa_flags & IFF_LOOPBACK) != 0)
            continue;
          if (ifa->ifa_addr->sa_family != (family == 0 ? AF_INET : AF_INET6))
            continue;
          size = family == 0 ? sizeof (struct sockaddr_in) : sizeof (struct sockaddr_in6);
          socket_address = g_socket_address_new_from_native (ifa->ifa_addr, size);
          if (socket_address == NULL)
            continue;
          address = g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (socket_address));
          if (g_inet_address_get_is_link_local (address))
            continue;
          found = g_inet_address_to_string (address);
          if (family == 1)
            {
              char *bracketed = g_strdup_printf ("[%s]", found);

              g_free (found);
              found = bracketed;
            }
        }
    }
  freeifaddrs (list);

  return found;
}

/* The view link a phone can open: the server's own address when it is
 * bound to one, this machine's network address when it listens on all. */
static char *
dup_phone_uri (SyWindow *self)
{
  g_autofree char *page = sy_server_dup_page_uri (self->server, SY_ROLE_VIEW);
  g_autofree char *bind = NULL;
  g_autofree char *host = NULL;
  g_autoptr(GInetAddress) address = NULL;
  g_autoptr(GUri) uri = NULL;

  if (page == NULL)
    return NULL;

  g_object_get (self->server, "bind-address", &bind, NULL);
  address = bind ? g_inet_address_new_from_string (bind) : NULL;
  if (address == NULL || !g_inet_address_get_is_any (address))
    return g_steal_pointer (&page);

  host = find_network_address ();
  uri = g_uri_parse (page, G_URI_FLAGS_ENCODED, NULL);
  if (host == NULL || uri == NULL)
    return g_steal_pointer (&page);

  return g_uri_join (G_URI_FLAGS_ENCODED, g_uri_get_scheme (uri), NULL, host, g_uri_get_port (uri),
                     g_uri_get_path (uri), g_uri_get_query (uri), NULL);
}

/**
 * sy_qr_texture_new:
 * @text: what to encode
 *
 * Draws @text as a QR code, black on white with the quiet zone.
 *
 * Returns: (transfer full) (nullable): the texture, or %NULL if @text is too
 *   long for a QR code
 */
GdkTexture *
sy_qr_texture_new (const char *text)
{
  QRcode *code;
  g_autoptr(GBytes) bytes = NULL;
  guint8 *pixels;
  gsize side;
  gsize stride;

  code = QRcode_encodeString (text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
  if (code == NULL)
    return NULL;

  side = (gsize) (code->width + 2 * QR_QUIET) * QR_SCALE;
  stride = side * 3;
  pixels = g_malloc (stride * side);
  memset (pixels, 0xff, stride * side);

  for (int y = 0; y < code->width; y++)
    for (int x = 0; x < code->width; x++)
      {
        if ((code->data[y * code->width + x] & 1) == 0)
          continue;
        for (int dy = 0; dy < QR_SCALE; dy++)
          memset (pixels + ((gsize) (y + QR_QUIET) * QR_SCALE + dy) * stride + (gsize) (x + QR_QUIET) * QR_SCALE * 3,
                  0, QR_SCALE * 3);
      }
  QRcode_free (code);

  bytes = g_bytes_new_take (pixels, stride * side);

  return gdk_memory_texture_new ((int) side, (int) side, GDK_MEMORY_R8G8B8, bytes, stride);
}

static void
update_qr (SyWindow *self)
{
  g_autofree char *uri = NULL;
  g_autoptr(GdkTexture) texture = NULL;
  gboolean show = sy_server_get_running (self->server) && server_is_exposed (self->server);

  gtk_widget_set_visible (GTK_WIDGET (self->qr_button), show);
  if (!show)
    return;

  uri = dup_phone_uri (self);
  texture = uri ? sy_qr_texture_new (uri) : NULL;
  gtk_picture_set_paintable (self->qr_picture, GDK_PAINTABLE (texture));
  gtk_label_set_label (self->qr_label, uri);
}

static void
update_running (SyWindow *self)
{
  g_autofree char *uri = sy_server_dup_uri (self->server);
  gboolean running = uri != NULL;
  GAction *action;

  if (running)
    {
      /* The built-in view is the operator's: it gets a control token. */
      g_autofree char *page = sy_server_dup_page_uri (self->server, SY_ROLE_CONTROL);

      adw_window_title_set_subtitle (self->window_title, uri);
      gtk_stack_set_visible_child_name (self->stack, "page");
      webkit_web_view_load_uri (self->web_view, page);
    }
  else
    {
      adw_window_title_set_subtitle (self->window_title, _("Stopped"));
      adw_status_page_set_description (self->stopped_page,
                                       _("Start the server to serve the control page."));
      gtk_stack_set_visible_child_name (self->stack, "stopped");
    }

  action = g_action_map_lookup_action (G_ACTION_MAP (self), "running");
  g_simple_action_set_state (G_SIMPLE_ACTION (action), g_variant_new_boolean (running));
  gtk_button_set_icon_name (GTK_BUTTON (self->running_button),
                            running ? "media-playback-stop-symbolic" : "media-playback-start-symbolic");
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->running_button),
                               running ? _("Stop the Server") : _("Start the Server"));

  for (guint i = 0; i < 3; i++)
    {
      static const char *needs_server[] = { "start-server", "copy-control-url", "open-in-browser" };

      action = g_action_map_lookup_action (G_ACTION_MAP (self), needs_server[i]);
      g_simple_action_set_enabled (G_SIMPLE_ACTION (action), i == 0 ? !running : running);
    }

  update_qr (self);
}

static void
on_running_changed (SyServer   *server,
                    GParamSpec *pspec,
                    SyWindow   *self)
{
  update_running (self);
}

static gboolean
on_load_failed (WebKitWebView   *web_view,
                WebKitLoadEvent  load_event,
                const char      *failing_uri,
                GError          *error,
                SyWindow        *self)
{
  /* A load that a newer one replaced (a reload, a rotation, a restart) is
   * not a failure. */
  if (g_error_matches (error, WEBKIT_NETWORK_ERROR, WEBKIT_NETWORK_ERROR_CANCELLED) ||
      g_error_matches (error, WEBKIT_POLICY_ERROR, WEBKIT_POLICY_ERROR_FRAME_LOAD_INTERRUPTED_BY_POLICY_CHANGE))
    return FALSE;

  /* Show a status page, not a broken page. */
  show_stopped_reason (self, error->message);
  gtk_stack_set_visible_child_name (self->stack, "stopped");

  return TRUE;
}

/* A crash that follows another this soon waits before the reload, so a
 * page that keeps crashing the web process does not keep the CPU busy. */
#define CRASH_AGAIN_US   (10 * G_USEC_PER_SEC)
#define CRASH_BACKOFF_MS 5000

static gboolean
reload_after_crash_cb (gpointer data)
{
  SyWindow *self = data;

  sy_clear_source (&self->reload_source);
  if (sy_server_get_running (self->server))
    update_running (self);

  return G_SOURCE_REMOVE;
}

/* The page runs in a web process of its own. If that process dies, the
 * view would stay blank (or frozen) with the page's connections gone: load
 * the page again, and say so. */
static void
on_web_process_terminated (WebKitWebView                     *web_view,
                           WebKitWebProcessTerminationReason  reason,
                           SyWindow                          *self)
{
  gint64 now = g_get_monotonic_time ();
  gboolean again = self->last_crash != 0 && now - self->last_crash < CRASH_AGAIN_US;
  const char *what;

  if (reason == WEBKIT_WEB_PROCESS_TERMINATED_BY_API)
    return;

  what = reason == WEBKIT_WEB_PROCESS_EXCEEDED_MEMORY_LIMIT ? "exceeded its memory limit" : "crashed";
  g_message ("the control page's web process %s; reloading the page%s",
             what, again ? " in 5 s" : "");
  self->last_crash = now;
  toast (self, _("The control page stopped unexpectedly and was reloaded"));

  sy_clear_source (&self->reload_source);
  if (again)
    self->reload_source = sy_timeout_source_attach (NULL, CRASH_BACKOFF_MS, reload_after_crash_cb,
                                                    self, "[switchyard] reload after crash");
  else
    reload_after_crash_cb (self);
}

/* With TLS the server usually has a certificate of its own making, which
 * WebKit does not trust. The view trusts exactly that certificate, for
 * exactly the server's host, and nothing else. */
static gboolean
on_load_failed_with_tls_errors (WebKitWebView        *web_view,
                                const char           *failing_uri,
                                GTlsCertificate      *certificate,
                                GTlsCertificateFlags  errors,
                                SyWindow             *self)
{
  g_autoptr(GTlsCertificate) own = NULL;
  g_autoptr(GUri) uri = NULL;
  g_autofree char *server_uri = sy_server_dup_uri (self->server);
  g_autoptr(GUri) served = NULL;

  g_object_get (self->server, "tls-certificate", &own, NULL);
  uri = g_uri_parse (failing_uri, G_URI_FLAGS_NONE, NULL);
  served = server_uri ? g_uri_parse (server_uri, G_URI_FLAGS_NONE, NULL) : NULL;

  if (own == NULL || uri == NULL || served == NULL ||
      g_strcmp0 (g_uri_get_host (uri), g_uri_get_host (served)) != 0 ||
      g_uri_get_port (uri) != g_uri_get_port (served) ||
      !g_tls_certificate_is_same (certificate, own))
    return FALSE;

  webkit_network_session_allow_tls_certificate_for_host (webkit_web_view_get_network_session (web_view),
                                                         certificate, g_uri_get_host (uri));
  update_running (self);

  return TRUE;
}

static void
start_server (SyWindow *self)
{
  g_autoptr(GError) error = NULL;

  /* Through the application: it applies the preferences first and keeps
   * last-error, which is shown below. */
  if (!sy_application_start_server (self->application, &error))
    show_stopped_reason (self, error->message);
}

static void
on_last_error_changed (SyApplication *application,
                       GParamSpec    *pspec,
                       SyWindow      *self)
{
  const char *message = sy_application_get_last_error (application);

  if (message != NULL && *message != '\0')
    {
      show_stopped_reason (self, message);
      toast (self, message);
    }
}

static void
on_tokens_rotated (SyApplication *application,
                   SyWindow      *self)
{
  toast (self, _("Every earlier link is now invalid"));
  /* The view's own token was one of them. */
  if (sy_server_get_running (self->server))
    update_running (self);
}

static void
start_server_action (GSimpleAction *action,
                     GVariant      *parameter,
                     gpointer       user_data)
{
  start_server (SY_WINDOW (user_data));
}

static void
change_running_state (GSimpleAction *action,
                      GVariant      *value,
                      gpointer       user_data)
{
  SyWindow *self = SY_WINDOW (user_data);

  if (g_variant_get_boolean (value) == sy_server_get_running (self->server))
    return;

  if (g_variant_get_boolean (value))
    start_server (self);
  else
    sy_server_stop (self->server);
}

static void
copy_control_url_action (GSimpleAction *action,
                         GVariant      *parameter,
                         gpointer       user_data)
{
  SyWindow *self = SY_WINDOW (user_data);
  g_autofree char *uri = sy_server_dup_page_uri (self->server, SY_ROLE_CONTROL);

  if (uri == NULL)
    return;

  gdk_clipboard_set_text (gtk_widget_get_clipboard (GTK_WIDGET (self)), uri);
  toast (self, _("Control link copied"));
}

static void
open_in_browser_action (GSimpleAction *action,
                        GVariant      *parameter,
                        gpointer       user_data)
{
  SyWindow *self = SY_WINDOW (user_data);
  g_autofree char *uri = sy_server_dup_page_uri (self->server, SY_ROLE_CONTROL);

  if (uri != NULL)
    gtk_show_uri (GTK_WINDOW (self), uri, GDK_CURRENT_TIME);
}

static void
rotate_tokens_action (GSimpleAction *action,
                      GVariant      *parameter,
                      gpointer       user_data)
{
  SyWindow *self = SY_WINDOW (user_data);
  g_autoptr(GError) error = NULL;

  /* Success is announced by SyApplication::tokens-rotated, wherever the
   * rotation came from. */
  if (!sy_application_rotate_tokens (self->application, &error))
    toast (self, error->message);
}

static void
toggle_panels_action (GSimpleAction *action,
                      GVariant      *parameter,
                      gpointer       user_data)
{
  SyWindow *self = SY_WINDOW (user_data);

  adw_flap_set_reveal_flap (self->flap, !adw_flap_get_reveal_flap (self->flap));
}

static void
show_panel_action (GSimpleAction *action,
                   GVariant      *parameter,
                   gpointer       user_data)
{
  SyWindow *self = SY_WINDOW (user_data);

  sy_window_show_panel (self, g_variant_get_string (parameter, NULL));
}

static void
reload_action (GSimpleAction *action,
               GVariant      *parameter,
               gpointer       user_data)
{
  SyWindow *self = SY_WINDOW (user_data);

  if (sy_server_get_running (self->server))
    update_running (self);
}

static const GActionEntry win_actions[] = {
  { "running", NULL, NULL, "false", change_running_state },
  { "start-server", start_server_action },
  { "copy-control-url", copy_control_url_action },
  { "open-in-browser", open_in_browser_action },
  { "rotate-tokens", rotate_tokens_action },
  { "toggle-panels", toggle_panels_action },
  { "show-panel", show_panel_action, "s" },
  { "reload", reload_action },
};

static void
sy_window_dispose (GObject *object)
{
  SyWindow *self = (SyWindow *)object;

  sy_clear_source (&self->reload_source);
  if (self->server != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->server, self);
      g_signal_handlers_disconnect_by_data (sy_server_get_connections (self->server), self);
    }
  if (self->application != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->application, self);
      g_object_remove_weak_pointer (G_OBJECT (self->application), (gpointer *) &self->application);
      self->application = NULL;
    }
  g_clear_object (&self->server);
  g_clear_object (&self->settings);

  gtk_widget_dispose_template (GTK_WIDGET (self), SY_TYPE_WINDOW);

  G_OBJECT_CLASS (sy_window_parent_class)->dispose (object);
}

static void
sy_window_class_init (SyWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = sy_window_dispose;

  g_type_ensure (WEBKIT_TYPE_WEB_VIEW);

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/switchyard/Switchyard/sy-window.ui");
  gtk_widget_class_bind_template_child (widget_class, SyWindow, window_title);
  gtk_widget_class_bind_template_child (widget_class, SyWindow, connections_label);
  gtk_widget_class_bind_template_child (widget_class, SyWindow, running_button);
  gtk_widget_class_bind_template_child (widget_class, SyWindow, qr_button);
  gtk_widget_class_bind_template_child (widget_class, SyWindow, qr_picture);
  gtk_widget_class_bind_template_child (widget_class, SyWindow, qr_label);
  gtk_widget_class_bind_template_child (widget_class, SyWindow, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, SyWindow, flap);
  gtk_widget_class_bind_template_child (widget_class, SyWindow, stack);
  gtk_widget_class_bind_template_child (widget_class, SyWindow, web_view);
  gtk_widget_class_bind_template_child (widget_class, SyWindow, stopped_page);
  gtk_widget_class_bind_template_child (widget_class, SyWindow, panels);
}

static void
sy_window_init (SyWindow *self)
{
  WebKitNetworkSession *session;

  gtk_widget_init_template (GTK_WIDGET (self));
  g_action_map_add_action_entries (G_ACTION_MAP (self), win_actions, G_N_ELEMENTS (win_actions), self);

  /* The view only ever shows this app's own server: never ask a proxy. */
  session = webkit_web_view_get_network_session (self->web_view);
  webkit_network_session_set_proxy_settings (session, WEBKIT_NETWORK_PROXY_MODE_NO_PROXY, NULL);
  g_signal_connect (self->web_view, "load-failed", G_CALLBACK (on_load_failed), self);
  g_signal_connect (self->web_view, "load-failed-with-tls-errors", G_CALLBACK (on_load_failed_with_tls_errors), self);
  g_signal_connect (self->web_view, "web-process-terminated", G_CALLBACK (on_web_process_terminated), self);

#if DEVELOPMENT_BUILD
  gtk_widget_add_css_class (GTK_WIDGET (self), "devel");
#endif
}

static void
add_panel (SyWindow   *self,
           GtkWidget  *panel,
           const char *name,
           const char *title,
           const char *icon_name)
{
  AdwViewStackPage *page = adw_view_stack_add_titled (self->panels, panel, name, title);

  adw_view_stack_page_set_icon_name (page, icon_name);
}

static void
set_accels (GtkApplication *application)
{
  static const struct {
    const char *action;
    const char *accels[3];
  } accels[] = {
    { "win.toggle-panels", { "F9", NULL } },
    { "win.show-panel::connections", { "<Alt>1", NULL } },
    { "win.show-panel::log", { "<Alt>2", NULL } },
    { "win.show-panel::hardware", { "<Alt>3", NULL } },
    { "win.copy-control-url", { "<Primary><Shift>c", NULL } },
    { "win.open-in-browser", { "<Primary><Shift>o", NULL } },
    { "win.reload", { "<Primary>r", "F5", NULL } },
    { "win.running", { "<Primary>space", NULL } },
    { "window.close", { "<Primary>w", NULL } },
  };

  for (guint i = 0; i < G_N_ELEMENTS (accels); i++)
    gtk_application_set_accels_for_action (application, accels[i].action, accels[i].accels);
}

static GSettings *
window_settings (void)
{
  GSettingsSchemaSource *source = g_settings_schema_source_get_default ();
  g_autoptr(GSettingsSchema) schema = NULL;

  /* Uninstalled runs without the compiled schema still get a window. The
   * schema id is the same for the .Devel variant (see data/meson.build). */
  if (source != NULL)
    schema = g_settings_schema_source_lookup (source, SY_SETTINGS_SCHEMA_ID, TRUE);

  return schema ? g_settings_new (SY_SETTINGS_SCHEMA_ID) : NULL;
}

/**
 * sy_window_new:
 * @application: the application
 *
 * Returns: (transfer full): a new window showing @application's server
 */
SyWindow *
sy_window_new (SyApplication *application)
{
  SyWindow *self;

  g_return_val_if_fail (SY_IS_APPLICATION (application), NULL);

  self = g_object_new (SY_TYPE_WINDOW, "application", application, NULL);
  self->server = g_object_ref (sy_application_get_server (application));
  self->application = application;
  g_object_add_weak_pointer (G_OBJECT (application), (gpointer *) &self->application);

  self->settings = window_settings ();
  if (self->settings != NULL)
    {
      g_settings_bind (self->settings, "window-width", self, "default-width", G_SETTINGS_BIND_DEFAULT);
      g_settings_bind (self->settings, "window-height", self, "default-height", G_SETTINGS_BIND_DEFAULT);
      g_settings_bind (self->settings, "window-maximized", self, "maximized", G_SETTINGS_BIND_DEFAULT);
    }

  add_panel (self, sy_connections_panel_new (self->server), "connections", _("Connections"),
             "network-transmit-receive-symbolic");
  add_panel (self, sy_log_panel_new (sy_log_get_model ()), "log", _("Log"),
             "text-x-generic-symbolic");
  if (sy_application_get_hardware (application) != NULL)
    add_panel (self, sy_hardware_panel_new (sy_application_get_hardware (application)), "hardware",
               _("Hardware"), "applications-engineering-symbolic");
  set_accels (GTK_APPLICATION (application));

  g_signal_connect (self->server, "notify::running", G_CALLBACK (on_running_changed), self);
  g_signal_connect (application, "notify::last-error", G_CALLBACK (on_last_error_changed), self);
  g_signal_connect (application, "tokens-rotated", G_CALLBACK (on_tokens_rotated), self);
  g_signal_connect (sy_server_get_connections (self->server), "items-changed",
                    G_CALLBACK (on_connections_changed), self);
  update_connections (self);
  update_running (self);

  return self;
}

/**
 * sy_window_get_web_view:
 * @self: a #SyWindow
 *
 * Returns: (transfer none): the view of the control page
 */
WebKitWebView *
sy_window_get_web_view (SyWindow *self)
{
  g_return_val_if_fail (SY_IS_WINDOW (self), NULL);
  return self->web_view;
}

/**
 * sy_window_show_panel:
 * @self: a #SyWindow
 * @name: `connections`, `log` or `hardware`
 *
 * Reveals the side pane on the named panel.
 */
void
sy_window_show_panel (SyWindow   *self,
                      const char *name)
{
  g_return_if_fail (SY_IS_WINDOW (self));

  if (adw_view_stack_get_child_by_name (self->panels, name) == NULL)
    return;

  adw_view_stack_set_visible_child_name (self->panels, name);
  adw_flap_set_reveal_flap (self->flap, TRUE);
}

/**
 * sy_window_get_panel:
 * @self: a #SyWindow
 * @name: `connections`, `log` or `hardware`
 *
 * Returns: (transfer none) (nullable): the panel
 */
GtkWidget *
sy_window_get_panel (SyWindow   *self,
                     const char *name)
{
  g_return_val_if_fail (SY_IS_WINDOW (self), NULL);
  return adw_view_stack_get_child_by_name (self->panels, name);
}
