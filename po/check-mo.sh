#!/usr/bin/env bash
# Check that the German catalog the build made translates at run time.
#
# Usage: check-mo.sh LOCALE_DIR DOMAIN
#
# LOCALE_DIR is the build's po/ directory: the i18n module writes
# LOCALE_DIR/de/LC_MESSAGES/DOMAIN.mo there, the layout bindtextdomain()
# expects.  The uninstalled app binds to the installed LOCALEDIR, so this
# asks gettext(1) and ngettext(1), with LANGUAGE=de, for strings the app
# shows: two of the --help option descriptions (app/main.c, translated by
# GOption in DOMAIN), a menu label and the connection count's plural forms.

set -u

if (($# != 2)); then
  echo "usage: $0 LOCALE_DIR DOMAIN" >&2
  exit 2
fi

# LANGUAGE is ignored in the "C" locale; C.UTF-8 is built into glibc.
export TEXTDOMAINDIR="$1"
export TEXTDOMAIN="$2"
export LC_ALL=C.UTF-8
export LANGUAGE=de

mo="$TEXTDOMAINDIR/de/LC_MESSAGES/$TEXTDOMAIN.mo"
status=0

fail() {
  echo "check-mo: $*" >&2
  status=1
}

for tool in gettext ngettext; do
  if ! command -v "$tool" >/dev/null; then
    echo "check-mo: $tool not found" >&2
    exit 1
  fi
done

if [[ ! -f "$mo" ]]; then
  echo "check-mo: the build made no German catalog at $mo" >&2
  exit 1
fi

expect() {
  local got="$1" want="$2" what="$3"

  if [[ "$got" != "$want" ]]; then
    fail "$what: expected “$want”, got “$got”"
  else
    echo "ok: $what → $got"
  fi
}

expect "$(gettext "Print the version and exit")" "Die Version ausgeben und beenden" \
  "--version description"
expect "$(gettext "Run the server without a window")" "Den Server ohne Fenster ausführen" \
  "--headless description"
expect "$(gettext "_About Switchyard")" "_Info zu Switchyard" "menu label"
expect "$(ngettext "%u connection" "%u connections" 1)" "%u Verbindung" "plural, n = 1"
expect "$(ngettext "%u connection" "%u connections" 5)" "%u Verbindungen" "plural, n = 5"

# The lookup is not vacuous: another domain gives the untranslated string.
expect "$(TEXTDOMAIN="$TEXTDOMAIN-none" gettext "Print the version and exit")" \
  "Print the version and exit" "unknown domain stays English"

exit $status
