/* sy-window.c
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "sy-window"

#include "config.h"

#include <glib/gi18n.h>

#include "sy-window.h"

struct _SyWindow
{
  AdwApplicationWindow  parent_instance;

  /* Template widgets */
  AdwWindowTitle       *window_title;
  GtkLabel             *connections_label;
  GtkStack             *stack;
  WebKitWebView        *web_view;
  AdwStatusPage        *stopped_page;

  /* Owned */
  SyServer             *server;
};

G_DEFINE_FINAL_TYPE (SyWindow, sy_window, ADW_TYPE_APPLICATION_WINDOW)

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

static void
update_running (SyWindow *self)
{
  g_autofree char *uri = sy_server_dup_uri (self->server);

  if (uri != NULL)
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

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.start-server",
                                 !sy_server_get_running (self->server));
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
  /* Show a status page, not a broken page. */
  adw_status_page_set_description (self->stopped_page, error->message);
  gtk_stack_set_visible_child_name (self->stack, "stopped");

  return TRUE;
}

static void
start_server_action (GtkWidget  *widget,
                     const char *action_name,
                     GVariant   *parameter)
{
  SyWindow *self = SY_WINDOW (widget);
  g_autoptr(GError) error = NULL;

  if (!sy_server_start (self->server, &error))
    adw_status_page_set_description (self->stopped_page, error->message);
}

static void
sy_window_dispose (GObject *object)
{
  SyWindow *self = (SyWindow *)object;

  if (self->server != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->server, self);
      g_signal_handlers_disconnect_by_data (sy_server_get_connections (self->server), self);
    }
  g_clear_object (&self->server);

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
  gtk_widget_class_bind_template_child (widget_class, SyWindow, stack);
  gtk_widget_class_bind_template_child (widget_class, SyWindow, web_view);
  gtk_widget_class_bind_template_child (widget_class, SyWindow, stopped_page);

  gtk_widget_class_install_action (widget_class, "win.start-server", NULL, start_server_action);
}

static void
sy_window_init (SyWindow *self)
{
  WebKitNetworkSession *session;

  gtk_widget_init_template (GTK_WIDGET (self));

  /* The view only ever shows this app's own server: never ask a proxy. */
  session = webkit_web_view_get_network_session (self->web_view);
  webkit_network_session_set_proxy_settings (session, WEBKIT_NETWORK_PROXY_MODE_NO_PROXY, NULL);
  g_signal_connect (self->web_view, "load-failed", G_CALLBACK (on_load_failed), self);

#if DEVELOPMENT_BUILD
  gtk_widget_add_css_class (GTK_WIDGET (self), "devel");
#endif
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

  g_signal_connect (self->server, "notify::running", G_CALLBACK (on_running_changed), self);
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
