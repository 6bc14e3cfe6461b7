/* sy-preferences-window.c
 *
 * Copyright 2026 The Switchyard developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "sy-preferences-window"

#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "sy-preferences-window.h"
#include "sy-program-protocol.h"
#include "sy-mqtt.h"
#include "sy-uplink.h"

/* The bind address choices, in the order of the row's model; a third,
 * "other", item shows an address set outside these preferences. */
static const char * const bind_addresses[] = { "127.0.0.1", "0.0.0.0" };

/* The log-level choices, in the order of the row's model. */
static const char * const log_levels[] = { "debug", "info", "message", "warning", "critical" };

struct _SyPreferencesWindow
{
  AdwPreferencesWindow  parent_instance;

  /* Template widgets */
  AdwActionRow         *port_row;
  GtkSpinButton        *port_spin;
  AdwComboRow          *bind_row;
  GtkStringList        *bind_model;
  AdwActionRow         *exposed_row;
  GtkButton            *rotate_button;
  GtkButton            *tls_clear_button;
  AdwActionRow         *certificate_row;
  GtkButton            *certificate_button;
  AdwActionRow         *key_row;
  GtkButton            *key_button;
  AdwActionRow         *max_connections_row;
  GtkSpinButton        *max_connections_spin;
  AdwActionRow         *max_message_size_row;
  GtkSpinButton        *max_message_size_spin;
  AdwActionRow         *ping_interval_row;
  GtkSpinButton        *ping_interval_spin;
  AdwActionRow         *tick_hz_row;
  GtkSpinButton        *tick_hz_spin;
  AdwEntryRow          *uplink_url_row;
  AdwActionRow         *uplink_message_row;
  GtkImage             *uplink_message_icon;
  AdwEntryRow          *uplink_token_row;
  GtkButton            *mqtt_tls_clear_button;
  AdwEntryRow          *mqtt_url_row;
  AdwActionRow         *mqtt_message_row;
  GtkImage             *mqtt_message_icon;
  AdwEntryRow          *mqtt_password_row;
  AdwEntryRow          *mqtt_prefix_row;
  AdwEntryRow          *mqtt_instance_row;
  AdwComboRow          *mqtt_role_row;
  AdwEntryRow          *mqtt_mirror_row;
  AdwActionRow         *mqtt_ca_row;
  AdwActionRow         *mqtt_certificate_row;
  AdwActionRow         *mqtt_key_row;
  AdwPreferencesGroup  *names_group;
  AdwPreferencesGroup  *safe_group;
  AdwPreferencesGroup  *no_bench_group;
  AdwPreferencesGroup  *programs_group;
  AdwComboRow          *log_level_row;

  /* Owned */
  SyApplication        *application;
  GSettings            *settings;
  SyHardware           *hardware;
  GtkFileChooserNative *chooser;
  char                 *chooser_key;
  char                 *other_bind_address;

  /* Borrowed: the rows of each relay, children of the groups */
  AdwEntryRow          *name_rows[SY_BENCH_N_RELAYS];
  AdwComboRow          *safe_rows[SY_BENCH_N_RELAYS];

  gboolean              syncing;
  gboolean              uplink_invalid;
  gboolean              mqtt_invalid;
};

G_DEFINE_FINAL_TYPE (SyPreferencesWindow, sy_preferences_window, ADW_TYPE_PREFERENCES_WINDOW)

static void
toast (SyPreferencesWindow *self,
       const char          *text)
{
  /* Toast titles are markup; the text quotes paths and errors. */
  g_autofree char *escaped = g_markup_escape_text (text, -1);
  AdwToast *toast = adw_toast_new (escaped);

  adw_toast_set_timeout (toast, 5);
  adw_preferences_window_add_toast (ADW_PREFERENCES_WINDOW (self), toast);
}

static gboolean
text_is_focused (GtkWidget *widget)
{
  return (gtk_widget_get_state_flags (widget) & GTK_STATE_FLAG_FOCUS_WITHIN) != 0;
}

/* Server page */

static gboolean
bind_get_mapping (GValue   *value,
                  GVariant *variant,
                  gpointer  user_data)
{
  SyPreferencesWindow *self = user_data;
  const char *address = g_variant_get_string (variant, NULL);
  guint n_items = g_list_model_get_n_items (G_LIST_MODEL (self->bind_model));
  g_autofree char *label = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (bind_addresses); i++)
    if (g_strcmp0 (address, bind_addresses[i]) == 0)
      {
        g_value_set_uint (value, i);
        return TRUE;
      }

  /* An address set elsewhere (dconf, an older version) stays choosable. */
  g_free (self->other_bind_address);
  self->other_bind_address = g_strdup (address);
  /* Translators: a bind address other than loopback or all interfaces. */
  label = g_strdup_printf (_("This address (%s)"), address);
  gtk_string_list_splice (self->bind_model, G_N_ELEMENTS (bind_addresses),
                          n_items - G_N_ELEMENTS (bind_addresses),
                          (const char * const[]) { label, NULL });
  g_value_set_uint (value, G_N_ELEMENTS (bind_addresses));

  return TRUE;
}

static GVariant *
bind_set_mapping (const GValue       *value,
                  const GVariantType *expected_type,
                  gpointer            user_data)
{
  SyPreferencesWindow *self = user_data;
  guint selected = g_value_get_uint (value);

  if (selected < G_N_ELEMENTS (bind_addresses))
    return g_variant_new_string (bind_addresses[selected]);
  if (self->other_bind_address != NULL)
    return g_variant_new_string (self->other_bind_address);

  return NULL;
}

static void
update_exposed (SyPreferencesWindow *self)
{
  g_autofree char *address = NULL;

  /* What the server uses this run: the command line's address, or the
   * setting's. */
  if (sy_application_is_pinned (self->application, "bind-address"))
    g_object_get (sy_application_get_server (self->application), "bind-address", &address, NULL);
  else
    address = g_settings_get_string (self->settings, "bind-address");

  gtk_widget_set_visible (GTK_WIDGET (self->exposed_row), sy_application_is_exposed (address));
}

static void
update_tls (SyPreferencesWindow *self)
{
  g_autofree char *cert = g_settings_get_string (self->settings, "tls-certificate");
  g_autofree char *key = g_settings_get_string (self->settings, "tls-key");

  if (sy_application_is_pinned (self->application, "tls-certificate"))
    return;

  adw_action_row_set_subtitle (self->certificate_row,
                               *cert ? cert
                                     : *key ? _("Needed with the private key")
                                            : _("None: plain http"));
  adw_action_row_set_subtitle (self->key_row,
                               *key ? key
                                    : *cert ? _("Needed with the certificate")
                                            : _("None"));
  gtk_widget_set_visible (GTK_WIDGET (self->tls_clear_button), *cert != '\0' || *key != '\0');
}

/* The row under the upstream address: why an address was refused, or
 * that the command line gave it; hidden for a @title of %NULL. */
static void
show_uplink_message (SyPreferencesWindow *self,
                     const char          *title,
                     const char          *subtitle,
                     gboolean             invalid)
{
  GtkWidget *url_row = GTK_WIDGET (self->uplink_url_row);
  GtkWidget *message_row = GTK_WIDGET (self->uplink_message_row);

  self->uplink_invalid = invalid;
  gtk_accessible_update_state (GTK_ACCESSIBLE (url_row),
                               GTK_ACCESSIBLE_STATE_INVALID,
                               invalid ? GTK_ACCESSIBLE_INVALID_TRUE : GTK_ACCESSIBLE_INVALID_FALSE,
                               -1);
  if (invalid)
    {
      gtk_widget_add_css_class (url_row, "error");
      gtk_widget_add_css_class (message_row, "error");
      gtk_image_set_from_icon_name (self->uplink_message_icon, "dialog-error-symbolic");
    }
  else
    {
      gtk_widget_remove_css_class (url_row, "error");
      gtk_widget_remove_css_class (message_row, "error");
      gtk_image_set_from_icon_name (self->uplink_message_icon, "dialog-information-symbolic");
    }

  if (title != NULL)
    {
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->uplink_message_row), title);
      adw_action_row_set_subtitle (self->uplink_message_row, subtitle);
    }
  gtk_widget_set_visible (message_row, title != NULL);
}

/* The rows follow the settings, except while the operator types in them. */
static void
sync_uplink (SyPreferencesWindow *self)
{
  g_autofree char *url = NULL;
  g_autofree char *token = NULL;

  if (sy_application_is_pinned (self->application, "uplink-url"))
    return;

  url = g_settings_get_string (self->settings, "uplink-url");
  token = g_settings_get_string (self->settings, "uplink-token");

  if (!text_is_focused (GTK_WIDGET (self->uplink_url_row)) &&
      g_strcmp0 (gtk_editable_get_text (GTK_EDITABLE (self->uplink_url_row)), url) != 0)
    gtk_editable_set_text (GTK_EDITABLE (self->uplink_url_row), url);
  if (!text_is_focused (GTK_WIDGET (self->uplink_token_row)) &&
      g_strcmp0 (gtk_editable_get_text (GTK_EDITABLE (self->uplink_token_row)), token) != 0)
    gtk_editable_set_text (GTK_EDITABLE (self->uplink_token_row), token);
}

/* Enter or the apply button: an address is checked before it is stored,
 * as storing it restarts the server. */
static void
on_uplink_url_apply (SyPreferencesWindow *self)
{
  GtkEditable *row = GTK_EDITABLE (self->uplink_url_row);
  g_autofree char *url = g_strstrip (g_strdup (gtk_editable_get_text (row)));
  g_autofree char *stored = g_settings_get_string (self->settings, "uplink-url");
  g_autofree char *ws_url = NULL;
  g_autofree char *link_token = NULL;

  if (*url != '\0')
    {
      g_autoptr(GError) error = NULL;

      if (!sy_uplink_parse_url (url, &ws_url, &link_token, &error))
        {
          show_uplink_message (self, _("This address cannot be used"), error->message, TRUE);
          return;
        }
    }

  show_uplink_message (self, NULL, NULL, FALSE);

  if (g_strcmp0 (url, stored) != 0)
    g_settings_set_string (self->settings, "uplink-url", url);

  /* A page link brings its own token, and a stored one would take
   * precedence over it: the link's is the one just given. */
  if (link_token != NULL)
    {
      g_autofree char *token = g_settings_get_string (self->settings, "uplink-token");

      if (*token != '\0')
        g_settings_set_string (self->settings, "uplink-token", "");
    }
}

static void
on_uplink_url_changed (SyPreferencesWindow *self)
{
  /* The refusal was about the text before this edit. */
  if (self->uplink_invalid)
    show_uplink_message (self, NULL, NULL, FALSE);
}

static void
on_uplink_token_apply (SyPreferencesWindow *self)
{
  GtkEditable *row = GTK_EDITABLE (self->uplink_token_row);
  g_autofree char *token = g_strstrip (g_strdup (gtk_editable_get_text (row)));
  g_autofree char *stored = g_settings_get_string (self->settings, "uplink-token");

  if (g_strcmp0 (token, stored) != 0)
    g_settings_set_string (self->settings, "uplink-token", token);
}

static void
setup_uplink (SyPreferencesWindow *self)
{
  SyServer *server = sy_application_get_server (self->application);
  const char *url;

  if (!sy_application_is_pinned (self->application, "uplink-url"))
    {
      sync_uplink (self);
      return;
    }

  /* The command line's upstream, without its token (which stays out of
   * sight), for this run. */
  url = sy_server_get_uplink_url (server);
  gtk_editable_set_text (GTK_EDITABLE (self->uplink_url_row), url ? url : "");
  gtk_widget_set_sensitive (GTK_WIDGET (self->uplink_url_row), FALSE);
  gtk_widget_set_sensitive (GTK_WIDGET (self->uplink_token_row), FALSE);
  show_uplink_message (self, _("Given on the command line for this run"), NULL, FALSE);
}

/* MQTT broker */

static void choose_file (SyPreferencesWindow *self,
                         const char          *key,
                         const char          *title);

/* The row under the broker address: why a value was refused, or that the
 * command line gave the broker; hidden for a @title of %NULL. */
static void
show_mqtt_message (SyPreferencesWindow *self,
                   GtkWidget           *row,
                   const char          *title,
                   const char          *subtitle,
                   gboolean             invalid)
{
  GtkWidget *message_row = GTK_WIDGET (self->mqtt_message_row);
  GtkWidget *rows[] = {
    GTK_WIDGET (self->mqtt_url_row), GTK_WIDGET (self->mqtt_prefix_row),
    GTK_WIDGET (self->mqtt_instance_row), GTK_WIDGET (self->mqtt_mirror_row),
  };

  self->mqtt_invalid = invalid;
  for (guint i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      gboolean bad = invalid && rows[i] == row;

      gtk_accessible_update_state (GTK_ACCESSIBLE (rows[i]), GTK_ACCESSIBLE_STATE_INVALID,
                                   bad ? GTK_ACCESSIBLE_INVALID_TRUE : GTK_ACCESSIBLE_INVALID_FALSE,
                                   -1);
      if (bad)
        gtk_widget_add_css_class (rows[i], "error");
      else
        gtk_widget_remove_css_class (rows[i], "error");
    }

  if (invalid)
    gtk_widget_add_css_class (message_row, "error");
  else
    gtk_widget_remove_css_class (message_row, "error");
  gtk_image_set_from_icon_name (self->mqtt_message_icon,
                                invalid ? "dialog-error-symbolic" : "dialog-information-symbolic");

  if (title != NULL)
    {
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->mqtt_message_row), title);
      adw_action_row_set_subtitle (self->mqtt_message_row, subtitle);
    }
  gtk_widget_set_visible (message_row, title != NULL);
}

static void
update_mqtt_tls (SyPreferencesWindow *self)
{
  g_autofree char *ca = g_settings_get_string (self->settings, "mqtt-ca-file");
  g_autofree char *cert = g_settings_get_string (self->settings, "mqtt-certificate");
  g_autofree char *key = g_settings_get_string (self->settings, "mqtt-key");

  adw_action_row_set_subtitle (self->mqtt_ca_row, *ca ? ca : _("The system’s, for mqtts://"));
  adw_action_row_set_subtitle (self->mqtt_certificate_row,
                               *cert ? cert : *key ? _("Needed with the client key") : _("None"));
  adw_action_row_set_subtitle (self->mqtt_key_row,
                               *key ? key : *cert ? _("Needed with the client certificate") : _("None"));
  if (!sy_application_is_pinned (self->application, "mqtt-url"))
    gtk_widget_set_visible (GTK_WIDGET (self->mqtt_tls_clear_button), *ca != '\0' || *cert != '\0' || *key != '\0');
}

static void
set_string (char       **target,
                  const char  *value)
{
  g_free (*target);
  *target = g_strdup (value);
}

/* The settings key of an entry row: its name without "-row". */
static char *
row_key (GtkWidget *row)
{
  const char *name = gtk_widget_get_name (row);

  return g_strndup (name, strlen (name) - strlen ("-row"));
}

static void
sync_mqtt (SyPreferencesWindow *self)
{
  AdwEntryRow *rows[] = {
    self->mqtt_url_row, self->mqtt_password_row, self->mqtt_prefix_row,
    self->mqtt_instance_row, self->mqtt_mirror_row,
  };

  update_mqtt_tls (self);
  if (sy_application_is_pinned (self->application, "mqtt-url"))
    return;

  for (guint i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      g_autofree char *key = row_key (GTK_WIDGET (rows[i]));
      g_autofree char *value = g_settings_get_string (self->settings, key);

      if (!text_is_focused (GTK_WIDGET (rows[i])) &&
          g_strcmp0 (gtk_editable_get_text (GTK_EDITABLE (rows[i])), value) != 0)
        gtk_editable_set_text (GTK_EDITABLE (rows[i]), value);
    }
}

/* Enter or the apply button: what would keep the bridge from starting is
 * refused beside the rows and not stored, as storing restarts the server. */
static void
on_mqtt_entry_apply (SyPreferencesWindow *self,
                     AdwEntryRow         *row)
{
  g_autofree char *key = row_key (GTK_WIDGET (row));
  g_autofree char *value = g_strdup (gtk_editable_get_text (GTK_EDITABLE (row)));
  g_autofree char *stored = g_settings_get_string (self->settings, key);
  g_autofree char *url = g_strstrip (g_settings_get_string (self->settings, "mqtt-url"));
  g_autofree char *prefix = g_strstrip (g_settings_get_string (self->settings, "mqtt-prefix"));
  g_autofree char *instance = g_strstrip (g_settings_get_string (self->settings, "mqtt-instance"));
  g_autofree char *mirror = g_strstrip (g_settings_get_string (self->settings, "mqtt-mirror"));
  g_autoptr(SyMqttConfig) config = NULL;
  g_autoptr(GError) error = NULL;
  const char *title = _("This value cannot be used");

  if (!g_str_equal (key, "mqtt-password"))
    g_strstrip (value);

  /* The value, in the configuration the other settings make (a broker
   * stands in while there is none). */
  if (g_str_equal (key, "mqtt-url"))
    {
      g_free (url);
      url = g_strdup (value);
      title = _("This address cannot be used");
    }
  else if (g_str_equal (key, "mqtt-prefix"))
    set_string (&prefix, value);
  else if (g_str_equal (key, "mqtt-instance"))
    set_string (&instance, value);
  else if (g_str_equal (key, "mqtt-mirror"))
    set_string (&mirror, value);

  config = sy_mqtt_config_new (*url != '\0' ? url : "mqtt://localhost");
  g_free (config->prefix);
  config->prefix = g_strdup (prefix);
  if (*instance != '\0')
    {
      g_free (config->instance);
      config->instance = g_strdup (instance);
    }
  if (*mirror != '\0')
    config->mirror = g_strdup (mirror);

  if (!sy_mqtt_config_check (config, &error) &&
      !g_error_matches (error, SY_MQTT_ERROR, SY_MQTT_ERROR_UNSUPPORTED))
    {
      show_mqtt_message (self, GTK_WIDGET (row), title, error->message, TRUE);
      return;
    }

  show_mqtt_message (self, NULL, NULL, NULL, FALSE);
  if (g_strcmp0 (value, stored) != 0)
    g_settings_set_string (self->settings, key, value);
}

static void
on_mqtt_entry_changed (SyPreferencesWindow *self,
                       AdwEntryRow         *row)
{
  /* The refusal was about the text before this edit. */
  if (self->mqtt_invalid)
    show_mqtt_message (self, NULL, NULL, NULL, FALSE);
}

static void
on_choose_mqtt_ca (SyPreferencesWindow *self)
{
  choose_file (self, "mqtt-ca-file", _("Choose the CA Certificates for the Broker"));
}

static void
on_choose_mqtt_certificate (SyPreferencesWindow *self)
{
  choose_file (self, "mqtt-certificate", _("Choose the Client Certificate for the Broker"));
}

static void
on_choose_mqtt_key (SyPreferencesWindow *self)
{
  choose_file (self, "mqtt-key", _("Choose the Client Key for the Broker"));
}

static void
on_clear_mqtt_tls (SyPreferencesWindow *self)
{
  g_settings_set_string (self->settings, "mqtt-ca-file", "");
  g_settings_set_string (self->settings, "mqtt-certificate", "");
  g_settings_set_string (self->settings, "mqtt-key", "");
}

static gboolean
role_get_mapping (GValue   *value,
                  GVariant *variant,
                  gpointer  user_data)
{
  g_value_set_uint (value, g_str_equal (g_variant_get_string (variant, NULL), "control") ? 1 : 0);

  return TRUE;
}

static GVariant *
role_set_mapping (const GValue       *value,
                  const GVariantType *expected_type,
                  gpointer            user_data)
{
  return g_variant_new_string (g_value_get_uint (value) == 1 ? "control" : "view");
}

static void
setup_mqtt (SyPreferencesWindow *self)
{
  SyServer *server = sy_application_get_server (self->application);
  const SyMqttConfig *config = sy_server_get_mqtt_config (server);
  g_autofree char *shown = NULL;
  GtkWidget *rows[] = {
    GTK_WIDGET (self->mqtt_url_row), GTK_WIDGET (self->mqtt_password_row),
    GTK_WIDGET (self->mqtt_prefix_row), GTK_WIDGET (self->mqtt_instance_row),
    GTK_WIDGET (self->mqtt_role_row), GTK_WIDGET (self->mqtt_mirror_row),
    GTK_WIDGET (self->mqtt_ca_row), GTK_WIDGET (self->mqtt_certificate_row),
    GTK_WIDGET (self->mqtt_key_row),
  };

  if (!sy_application_is_pinned (self->application, "mqtt-url"))
    {
      g_settings_bind_with_mapping (self->settings, "mqtt-role", self->mqtt_role_row, "selected",
                                    G_SETTINGS_BIND_DEFAULT, role_get_mapping, role_set_mapping, NULL, NULL);
      sync_mqtt (self);
      return;
    }

  /* The command line's broker, without its password, for this run. */
  if (config != NULL)
    {
      sy_mqtt_parse_url (config->url, NULL, NULL, NULL, NULL, NULL, &shown, NULL);
      gtk_editable_set_text (GTK_EDITABLE (self->mqtt_url_row), shown ? shown : "");
      gtk_editable_set_text (GTK_EDITABLE (self->mqtt_prefix_row), config->prefix);
      gtk_editable_set_text (GTK_EDITABLE (self->mqtt_instance_row), config->instance);
      gtk_editable_set_text (GTK_EDITABLE (self->mqtt_mirror_row), config->mirror ? config->mirror : "");
      adw_combo_row_set_selected (self->mqtt_role_row, config->role >= SY_ROLE_CONTROL ? 1 : 0);
    }
  for (guint i = 0; i < G_N_ELEMENTS (rows); i++)
    gtk_widget_set_sensitive (rows[i], FALSE);
  gtk_widget_set_visible (GTK_WIDGET (self->mqtt_tls_clear_button), FALSE);
  show_mqtt_message (self, NULL, _("Given on the command line for this run"), NULL, FALSE);
}

static void
on_settings_changed (GSettings           *settings,
                     const char          *key,
                     SyPreferencesWindow *self)
{
  if (g_strcmp0 (key, "bind-address") == 0)
    update_exposed (self);
  else if (g_str_has_prefix (key, "tls-"))
    update_tls (self);
  else if (g_str_has_prefix (key, "uplink-"))
    sync_uplink (self);
  else if (g_str_has_prefix (key, "mqtt-"))
    sync_mqtt (self);
}

static void
on_chooser_response (GtkNativeDialog     *chooser,
                     int                  response,
                     SyPreferencesWindow *self)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));
      g_autofree char *path = file ? g_file_get_path (file) : NULL;

      if (path != NULL)
        g_settings_set_string (self->settings, self->chooser_key, path);
    }

  gtk_native_dialog_destroy (chooser);
  g_clear_object (&self->chooser);
  g_clear_pointer (&self->chooser_key, g_free);
}

static void
choose_file (SyPreferencesWindow *self,
             const char          *key,
             const char          *title)
{
  g_autoptr(GtkFileFilter) pem = gtk_file_filter_new ();
  g_autoptr(GtkFileFilter) all = gtk_file_filter_new ();
  g_autofree char *current = g_settings_get_string (self->settings, key);

  if (self->chooser != NULL)
    {
      gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->chooser));
      g_clear_object (&self->chooser);
    }

  self->chooser = gtk_file_chooser_native_new (title, GTK_WINDOW (self),
                                               GTK_FILE_CHOOSER_ACTION_OPEN,
                                               _("_Select"), _("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (self->chooser), TRUE);
  g_free (self->chooser_key);
  self->chooser_key = g_strdup (key);

  gtk_file_filter_set_name (pem, _("PEM Files"));
  gtk_file_filter_add_pattern (pem, "*.pem");
  gtk_file_filter_add_pattern (pem, "*.crt");
  gtk_file_filter_add_pattern (pem, "*.key");
  gtk_file_filter_add_mime_type (pem, "application/x-pem-file");
  gtk_file_filter_set_name (all, _("All Files"));
  gtk_file_filter_add_pattern (all, "*");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (self->chooser), pem);
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (self->chooser), all);

  if (*current != '\0')
    {
      g_autoptr(GFile) file = g_file_new_for_path (current);

      gtk_file_chooser_set_file (GTK_FILE_CHOOSER (self->chooser), file, NULL);
    }

  g_signal_connect (self->chooser, "response", G_CALLBACK (on_chooser_response), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

static void
on_choose_certificate (SyPreferencesWindow *self)
{
  choose_file (self, "tls-certificate", _("Choose the TLS Certificate"));
}

static void
on_choose_key (SyPreferencesWindow *self)
{
  choose_file (self, "tls-key", _("Choose the TLS Private Key"));
}

static void
on_clear_tls (SyPreferencesWindow *self)
{
  /* Both in one turn: one restart, back to plain http. */
  g_settings_set_string (self->settings, "tls-certificate", "");
  g_settings_set_string (self->settings, "tls-key", "");
}

static void
on_rotate_tokens (SyPreferencesWindow *self)
{
  g_autoptr(GError) error = NULL;

  if (sy_application_rotate_tokens (self->application, &error))
    {
      toast (self, _("Every earlier link is now invalid"));
    }
  else
    {
      g_autofree char *message = g_strdup_printf (_("The tokens could not be rotated: %s"), error->message);

      toast (self, message);
    }
}

static void
on_last_error (SyApplication       *application,
               GParamSpec          *pspec,
               SyPreferencesWindow *self)
{
  const char *error = sy_application_get_last_error (application);

  if (error != NULL)
    toast (self, error);
}

/* Pins a row to the command line's value: it cannot change this run. */
static void
pin_row (AdwActionRow *row)
{
  gtk_widget_set_sensitive (GTK_WIDGET (row), FALSE);
  adw_action_row_set_subtitle (row, _("Given on the command line for this run"));
}

static void
bind_spin (SyPreferencesWindow *self,
           const char          *key,
           AdwActionRow        *row,
           GtkSpinButton       *spin,
           guint                pinned_value)
{
  if (sy_application_is_pinned (self->application, key))
    {
      gtk_spin_button_set_value (spin, pinned_value);
      pin_row (row);
      return;
    }

  g_settings_bind (self->settings, key, spin, "value", G_SETTINGS_BIND_DEFAULT);
}

static void
setup_server_page (SyPreferencesWindow *self)
{
  SyServer *server = sy_application_get_server (self->application);
  SyBench *bench = sy_server_get_bench (server);
  guint port, max_connections, ping_interval;
  guint64 max_message_size;

  g_object_get (server,
                "port", &port,
                "max-connections", &max_connections,
                "max-message-size", &max_message_size,
                "ping-interval", &ping_interval,
                NULL);

  bind_spin (self, "port", self->port_row, self->port_spin, port);
  bind_spin (self, "max-connections", self->max_connections_row, self->max_connections_spin, max_connections);
  bind_spin (self, "max-message-size", self->max_message_size_row, self->max_message_size_spin,
             (guint) MIN (max_message_size, G_MAXUINT));
  bind_spin (self, "ping-interval", self->ping_interval_row, self->ping_interval_spin, ping_interval);
  bind_spin (self, "tick-hz", self->tick_hz_row, self->tick_hz_spin,
             bench ? sy_bench_get_tick_hz (bench) : SY_BENCH_DEFAULT_TICK_HZ);
  if (bench == NULL)
    gtk_widget_set_sensitive (GTK_WIDGET (self->tick_hz_row), FALSE);

  if (sy_application_is_pinned (self->application, "bind-address"))
    {
      g_autofree char *address = NULL;
      g_autoptr(GVariant) variant = NULL;
      GValue value = G_VALUE_INIT;

      g_object_get (server, "bind-address", &address, NULL);
      variant = g_variant_ref_sink (g_variant_new_string (address));
      g_value_init (&value, G_TYPE_UINT);
      bind_get_mapping (&value, variant, self);
      adw_combo_row_set_selected (self->bind_row, g_value_get_uint (&value));
      pin_row (ADW_ACTION_ROW (self->bind_row));
    }
  else
    {
      g_settings_bind_with_mapping (self->settings, "bind-address", self->bind_row, "selected",
                                    G_SETTINGS_BIND_DEFAULT,
                                    bind_get_mapping, bind_set_mapping, self, NULL);
    }

  if (sy_application_is_pinned (self->application, "tls-certificate"))
    {
      pin_row (self->certificate_row);
      pin_row (self->key_row);
      gtk_widget_set_visible (GTK_WIDGET (self->tls_clear_button), FALSE);
    }

  update_exposed (self);
  update_tls (self);
  setup_uplink (self);
  setup_mqtt (self);
}

/* Hardware page */

static void
sync_relay (SyPreferencesWindow *self,
            guint                relay)
{
  const SyRelayState *state = sy_hardware_get_relay (self->hardware, relay);

  if (state == NULL)
    return;

  self->syncing = TRUE;

  /* Never overwrite what the operator is typing. */
  if (!text_is_focused (GTK_WIDGET (self->name_rows[relay])) &&
      g_strcmp0 (gtk_editable_get_text (GTK_EDITABLE (self->name_rows[relay])), state->name) != 0)
    gtk_editable_set_text (GTK_EDITABLE (self->name_rows[relay]), state->name);

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->safe_rows[relay]), state->name);
  adw_combo_row_set_selected (self->safe_rows[relay], (guint) (CLAMP (state->safe_default, -1, 1) + 1));

  self->syncing = FALSE;
}

static void
on_relay_changed (SyHardware          *hardware,
                  guint                relay,
                  const char          *reason,
                  SyPreferencesWindow *self)
{
  if (relay < SY_BENCH_N_RELAYS)
    sync_relay (self, relay);
}

static void
on_command_failed (SyHardware          *hardware,
                   guint                relay,
                   const char          *message,
                   SyPreferencesWindow *self)
{
  /* The window is modal: what failed is a rename or a start-up state it
   * asked for. */
  if (relay < SY_BENCH_N_RELAYS && gtk_widget_get_mapped (GTK_WIDGET (self)))
    {
      sync_relay (self, relay);
      toast (self, message);
    }
}

static void
on_name_apply (AdwEntryRow         *row,
               SyPreferencesWindow *self)
{
  guint relay = GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (row), "sy-relay"));
  const SyRelayState *state = sy_hardware_get_relay (self->hardware, relay);
  g_autofree char *name = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (row))));

  if (state != NULL && g_strcmp0 (state->name, name) == 0)
    return;

  sy_hardware_relay_rename (self->hardware, relay, name);
}

static void
on_safe_selected (AdwComboRow         *row,
                  GParamSpec          *pspec,
                  SyPreferencesWindow *self)
{
  guint relay = GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (row), "sy-relay"));
  guint selected = adw_combo_row_get_selected (row);

  if (self->syncing || selected == GTK_INVALID_LIST_POSITION)
    return;

  sy_hardware_relay_set_safe_default (self->hardware, relay, (int) selected - 1);
}

static void
setup_hardware_page (SyPreferencesWindow *self)
{
  self->hardware = sy_application_get_hardware (self->application);
  if (self->hardware == NULL)
    {
      gtk_widget_set_visible (GTK_WIDGET (self->names_group), FALSE);
      gtk_widget_set_visible (GTK_WIDGET (self->safe_group), FALSE);
      gtk_widget_set_visible (GTK_WIDGET (self->no_bench_group), TRUE);
      return;
    }
  g_object_ref (self->hardware);

  for (guint i = 0; i < SY_BENCH_N_RELAYS; i++)
    {
      g_autoptr(GtkStringList) choices = NULL;
      g_autofree char *title = NULL;
      g_autofree char *name_label = NULL;
      g_autofree char *safe_label = NULL;
      g_autofree char *name_id = NULL;
      g_autofree char *safe_id = NULL;
      const SyRelayState *state = sy_hardware_get_relay (self->hardware, i);
      AdwEntryRow *name_row;
      AdwComboRow *safe_row;

      /* Translators: the title of a relay's name entry; %u is its number. */
      title = g_strdup_printf (_("Relay %u"), i + 1);
      name_label = g_strdup_printf (_("Name of relay %u"), i + 1);
      safe_label = g_strdup_printf (_("State of relay %u at start-up"), i + 1);
      /* Stable hooks for tests and inspectors: "relay-name-heater", … */
      name_id = g_strdup_printf ("relay-name-%s", state ? state->id : "");
      safe_id = g_strdup_printf ("relay-safe-%s", state ? state->id : "");

      name_row = ADW_ENTRY_ROW (adw_entry_row_new ());
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (name_row), title);
      adw_entry_row_set_show_apply_button (name_row, TRUE);
      gtk_widget_set_name (GTK_WIDGET (name_row), name_id);
      g_object_set_data (G_OBJECT (name_row), "sy-relay", GUINT_TO_POINTER (i));
      gtk_accessible_update_property (GTK_ACCESSIBLE (name_row),
                                      GTK_ACCESSIBLE_PROPERTY_LABEL, name_label,
                                      -1);
      g_signal_connect (name_row, "apply", G_CALLBACK (on_name_apply), self);
      g_signal_connect (name_row, "entry-activated", G_CALLBACK (on_name_apply), self);
      adw_preferences_group_add (self->names_group, GTK_WIDGET (name_row));
      self->name_rows[i] = name_row;

      choices = gtk_string_list_new ((const char * const[]) {
        /* Translators: a relay's state at start-up: the state it had when the server stopped. */
        C_("start-up state", "As Before"),
        C_("start-up state", "Off"),
        C_("start-up state", "On"),
        NULL });
      safe_row = ADW_COMBO_ROW (adw_combo_row_new ());
      /* Its title is the relay's name, which is anything but markup. */
      adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (safe_row), FALSE);
      adw_combo_row_set_model (safe_row, G_LIST_MODEL (choices));
      gtk_widget_set_name (GTK_WIDGET (safe_row), safe_id);
      g_object_set_data (G_OBJECT (safe_row), "sy-relay", GUINT_TO_POINTER (i));
      gtk_accessible_update_property (GTK_ACCESSIBLE (safe_row),
                                      GTK_ACCESSIBLE_PROPERTY_LABEL, safe_label,
                                      -1);
      adw_preferences_group_add (self->safe_group, GTK_WIDGET (safe_row));
      self->safe_rows[i] = safe_row;

      sync_relay (self, i);
      g_signal_connect (safe_row, "notify::selected", G_CALLBACK (on_safe_selected), self);
    }

  g_signal_connect_object (self->hardware, "relay-changed", G_CALLBACK (on_relay_changed), self, 0);
  g_signal_connect_object (self->hardware, "command-failed", G_CALLBACK (on_command_failed), self, 0);
}

/* Log page */

static gboolean
log_level_get_mapping (GValue   *value,
                       GVariant *variant,
                       gpointer  user_data)
{
  const char *level = g_variant_get_string (variant, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (log_levels); i++)
    if (g_strcmp0 (level, log_levels[i]) == 0)
      {
        g_value_set_uint (value, i);
        return TRUE;
      }

  return FALSE;
}

static GVariant *
log_level_set_mapping (const GValue       *value,
                       const GVariantType *expected_type,
                       gpointer            user_data)
{
  guint selected = g_value_get_uint (value);

  if (selected >= G_N_ELEMENTS (log_levels))
    return NULL;

  return g_variant_new_string (log_levels[selected]);
}

/* The program-backed subprotocols, as configured: a read-only list (they
 * are the operator's, set on the command line or in subprotocols.ini). */
static void
setup_subprotocols_page (SyPreferencesWindow *self)
{
  g_autoptr(GPtrArray) protocols = sy_server_dup_subprotocols (sy_application_get_server (self->application));
  guint shown = 0;

  for (guint i = 0; i < protocols->len; i++)
    {
      SySubprotocol *protocol = g_ptr_array_index (protocols, i);
      g_autofree char *command = NULL;
      g_autofree char *how = NULL;
      g_autofree char *subtitle = NULL;
      GtkWidget *row;

      if (!SY_IS_PROGRAM_PROTOCOL (protocol))
        continue;

      command = sy_program_protocol_dup_command_line (SY_PROGRAM_PROTOCOL (protocol));
      how = sy_program_protocol_describe (SY_PROGRAM_PROTOCOL (protocol));
      subtitle = g_strdup_printf ("%s\n%s", command, how);

      row = adw_action_row_new ();
      gtk_widget_set_name (row, sy_subprotocol_get_name (protocol));
      adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), sy_subprotocol_get_name (protocol));
      adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
      adw_preferences_group_add (self->programs_group, row);
      shown++;
    }

  if (shown == 0)
    {
      GtkWidget *row = adw_action_row_new ();

      gtk_widget_set_name (row, "no-programs");
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), _("No Programs"));
      adw_action_row_set_subtitle (ADW_ACTION_ROW (row),
                                   _("For example: switchyard --subprotocol 'count.v1=python3 /path/count.py'"));
      adw_preferences_group_add (self->programs_group, row);
    }
}

/* The window needs its application before it can bind anything; GtkWindow
 * sets "application" only after construction, so the constructor calls this. */
static void
sy_preferences_window_setup (SyPreferencesWindow *self,
                             SyApplication       *application)
{
  self->application = g_object_ref (application);
  self->settings = g_object_ref (sy_application_get_settings (application));

  setup_server_page (self);
  setup_hardware_page (self);
  setup_subprotocols_page (self);
  g_settings_bind_with_mapping (self->settings, "log-level", self->log_level_row, "selected",
                                G_SETTINGS_BIND_DEFAULT,
                                log_level_get_mapping, log_level_set_mapping, NULL, NULL);

  g_signal_connect_object (self->settings, "changed", G_CALLBACK (on_settings_changed), self, 0);
  g_signal_connect_object (self->application, "notify::last-error", G_CALLBACK (on_last_error), self, 0);
}

static void
sy_preferences_window_dispose (GObject *object)
{
  SyPreferencesWindow *self = (SyPreferencesWindow *)object;

  if (self->chooser != NULL)
    {
      gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->chooser));
      g_clear_object (&self->chooser);
    }
  /* The bindings hold the widgets, not us: drop them with the settings. */
  if (self->settings != NULL)
    {
      g_settings_unbind (self->port_spin, "value");
      g_settings_unbind (self->max_connections_spin, "value");
      g_settings_unbind (self->max_message_size_spin, "value");
      g_settings_unbind (self->ping_interval_spin, "value");
      g_settings_unbind (self->tick_hz_spin, "value");
      g_settings_unbind (self->bind_row, "selected");
      g_settings_unbind (self->log_level_row, "selected");
    }
  memset (self->name_rows, 0, sizeof self->name_rows);
  memset (self->safe_rows, 0, sizeof self->safe_rows);

  gtk_widget_dispose_template (GTK_WIDGET (self), SY_TYPE_PREFERENCES_WINDOW);

  g_clear_object (&self->hardware);
  g_clear_object (&self->settings);
  g_clear_object (&self->application);

  G_OBJECT_CLASS (sy_preferences_window_parent_class)->dispose (object);
}

static void
sy_preferences_window_finalize (GObject *object)
{
  SyPreferencesWindow *self = (SyPreferencesWindow *)object;

  g_free (self->chooser_key);
  g_free (self->other_bind_address);

  G_OBJECT_CLASS (sy_preferences_window_parent_class)->finalize (object);
}

static void
sy_preferences_window_class_init (SyPreferencesWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = sy_preferences_window_dispose;
  object_class->finalize = sy_preferences_window_finalize;

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/switchyard/Switchyard/sy-preferences-window.ui");
  gtk_widget_class_bind_template_child (widget_class, SyPreferencesWindow, port_row);
  gtk_widget_class_bind_template_child (widget_class, SyPreferencesWindow, port_spin);
  gtk_widget_class_bind_template_child (widget_class, SyPreferencesWindow, bind_row);
  gtk_widget_class_bind_template_child (widget_class, SyPreferencesWindow, bind_model);
  gtk_widget_class_bind_template_child (widget_class, SyPreferencesWindow, exposed_row);
  gtk_widget_class_bind_template_child (widget_class, SyPreferencesWindow, rotate_button);
  gtk_widget_class_bind_template_child (widget_class, SyPreferencesWindow, tls_clear_button);
  gtk_widget_class_bind_template_child (widget_class, SyPreferencesWindow, certificate_row);
  gtk_widget_class_bind_template_child (widget_class, SyPreferencesWindow, certificate_button);
  gtk_widget_class_bind_template_child (widget_class, SyPreferencesWindow, key_row);
  gtk_widget_class_bind_template_child (widget_class, SyPreferencesWindow, key_button);
  gtk_widget_class_bind_template_child (widget_class, SyPreferencesWindow, max_connections_row);
  gtk_widget_class_bind_template_child (widget_class, SyPreferencesWindow, max_connections_spin);
  gtk_widget_class_bind_template_child (widget_class, SyPreferencesWindow, max_message_size_row);
  gtk_widget_class_bind_template_child (widget_class, SyPreferencesWindow, max_message_size_spin);
  gtk_widget_class_bind_template_child (widget_class, SyPreferencesWindow, ping_interval_row);
  gtk_widget_class_bind_template_child (widget_class, SyPreferencesWindow, ping_interval_spin);
  gtk_widget_class_bind_template_child (widget_class, SyPreferencesWindow, tick_hz_row);
  gtk_widget_class_bind_template_child (widget_class, SyPreferencesWindow, tick_hz_spin);
  gtk_widget_class_bind_template_child (widget_class, SyPreferencesWindow, uplink_url_row);
  gtk_widget_class_bind_template_child (widget_class, SyPreferencesWindow, uplink_message_row);
  gtk_widget_class_bind_template_child (widget_class, SyPreferencesWindow, uplink_message_icon);
  gtk_widget_class_bind_template_child (widget_class, SyPreferencesWindow, uplink_token_row);
  gtk_widget_class_bind_template_child (widget_class, SyPreferencesWindow, mqtt_tls_clear_button);
  gtk_widget_class_bind_template_child (widget_class, SyPreferencesWindow, mqtt_url_row);
  gtk_widget_class_bind_template_child (widget_class, SyPreferencesWindow, mqtt_message_row);
  gtk_widget_class_bind_template_child (widget_class, SyPreferencesWindow, mqtt_message_icon);
  gtk_widget_class_bind_template_child (widget_class, SyPreferencesWindow, mqtt_password_row);
  gtk_widget_class_bind_template_child (widget_class, SyPreferencesWindow, mqtt_prefix_row);
  gtk_widget_class_bind_template_child (widget_class, SyPreferencesWindow, mqtt_instance_row);
  gtk_widget_class_bind_template_child (widget_class, SyPreferencesWindow, mqtt_role_row);
  gtk_widget_class_bind_template_child (widget_class, SyPreferencesWindow, mqtt_mirror_row);
  gtk_widget_class_bind_template_child (widget_class, SyPreferencesWindow, mqtt_ca_row);
  gtk_widget_class_bind_template_child (widget_class, SyPreferencesWindow, mqtt_certificate_row);
  gtk_widget_class_bind_template_child (widget_class, SyPreferencesWindow, mqtt_key_row);
  gtk_widget_class_bind_template_child (widget_class, SyPreferencesWindow, names_group);
  gtk_widget_class_bind_template_child (widget_class, SyPreferencesWindow, safe_group);
  gtk_widget_class_bind_template_child (widget_class, SyPreferencesWindow, no_bench_group);
  gtk_widget_class_bind_template_child (widget_class, SyPreferencesWindow, programs_group);
  gtk_widget_class_bind_template_child (widget_class, SyPreferencesWindow, log_level_row);
  gtk_widget_class_bind_template_callback (widget_class, on_choose_certificate);
  gtk_widget_class_bind_template_callback (widget_class, on_choose_key);
  gtk_widget_class_bind_template_callback (widget_class, on_clear_tls);
  gtk_widget_class_bind_template_callback (widget_class, on_rotate_tokens);
  gtk_widget_class_bind_template_callback (widget_class, on_uplink_url_apply);
  gtk_widget_class_bind_template_callback (widget_class, on_uplink_url_changed);
  gtk_widget_class_bind_template_callback (widget_class, on_uplink_token_apply);
  gtk_widget_class_bind_template_callback (widget_class, on_mqtt_entry_apply);
  gtk_widget_class_bind_template_callback (widget_class, on_mqtt_entry_changed);
  gtk_widget_class_bind_template_callback (widget_class, on_choose_mqtt_ca);
  gtk_widget_class_bind_template_callback (widget_class, on_choose_mqtt_certificate);
  gtk_widget_class_bind_template_callback (widget_class, on_choose_mqtt_key);
  gtk_widget_class_bind_template_callback (widget_class, on_clear_mqtt_tls);
}

static void
sy_preferences_window_init (SyPreferencesWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  /* File paths as subtitles: plain text. */
  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (self->certificate_row), FALSE);
  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (self->key_row), FALSE);
  /* It quotes the address as typed. */
  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (self->uplink_message_row), FALSE);
  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (self->mqtt_message_row), FALSE);
  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (self->mqtt_ca_row), FALSE);
  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (self->mqtt_certificate_row), FALSE);
  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (self->mqtt_key_row), FALSE);
}

/**
 * sy_preferences_window_new:
 * @application: a #SyApplication with settings
 *
 * The preferences of @application's server, hardware and log, stored in
 * its settings. Changes apply at once, except the upstream address and
 * token of a relay server, which apply on Enter (an address that is not one
 * is refused beside its row and not stored); those that need it restart
 * the server (see sy_application_new_with_settings()).
 *
 * Returns: (transfer none): a new preferences window, owned by GTK like
 *   every toplevel; gtk_window_destroy() it
 */
GtkWindow *
sy_preferences_window_new (SyApplication *application)
{
  SyPreferencesWindow *self;

  g_return_val_if_fail (SY_IS_APPLICATION (application), NULL);
  g_return_val_if_fail (sy_application_get_settings (application) != NULL, NULL);

  self = g_object_new (SY_TYPE_PREFERENCES_WINDOW, "application", application, NULL);
  sy_preferences_window_setup (self, application);

  return GTK_WINDOW (self);
}
