/* sy-application.c
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "sy-application"

#include "config.h"

#include <glib/gi18n.h>

#include "sy-application.h"
#include "sy-window.h"

struct _SyApplication
{
  AdwApplication  parent_instance;

  /* Owned */
  SyServer       *server;
};

G_DEFINE_FINAL_TYPE (SyApplication, sy_application, ADW_TYPE_APPLICATION)

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
  g_autoptr(GError) error = NULL;

  G_APPLICATION_CLASS (sy_application_parent_class)->startup (app);

  if (!sy_server_start (self->server, &error))
    g_warning ("The server did not start: %s", error->message);
}

static void
sy_application_shutdown (GApplication *app)
{
  SyApplication *self = SY_APPLICATION (app);

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
                         "developers", developers,
                         "license-type", GTK_LICENSE_GPL_3_0,
                         "comments", _("Watch sensors and switch relays from any browser, "
                                       "over a WebSocket server with very low latency."),
                         NULL);
}

static const GActionEntry app_actions[] = {
  { "quit", sy_application_quit_action },
  { "about", sy_application_about_action },
};

static void
sy_application_dispose (GObject *object)
{
  SyApplication *self = (SyApplication *)object;

  g_clear_object (&self->server);

  G_OBJECT_CLASS (sy_application_parent_class)->dispose (object);
}

static void
sy_application_class_init (SyApplicationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  object_class->dispose = sy_application_dispose;

  app_class->activate = sy_application_activate;
  app_class->startup = sy_application_startup;
  app_class->shutdown = sy_application_shutdown;
}

static void
sy_application_init (SyApplication *self)
{
  static const char *quit_accels[] = { "<primary>q", NULL };

  g_action_map_add_action_entries (G_ACTION_MAP (self), app_actions,
                                   G_N_ELEMENTS (app_actions), self);
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "app.quit", quit_accels);
}

/**
 * sy_application_new:
 * @server: the configured (stopped) server the application will run
 *
 * Returns: (transfer full): a new #SyApplication
 */
SyApplication *
sy_application_new (SyServer *server)
{
  SyApplication *self;

  g_return_val_if_fail (SY_IS_SERVER (server), NULL);

  self = g_object_new (SY_TYPE_APPLICATION,
                       "application-id", APPLICATION_ID,
                       "flags", G_APPLICATION_NON_UNIQUE,
                       "resource-base-path", "/io/github/switchyard/Switchyard",
                       NULL);
  self->server = g_object_ref (server);

  return self;
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
