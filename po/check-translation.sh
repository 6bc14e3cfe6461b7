#!/usr/bin/env bash
# Check that a translation is complete for the current sources and valid.
#
# Usage: check-translation.sh SOURCE_ROOT DOMAIN LANG [XGETTEXT_ARG...]
#
# Extracts a fresh template from po/POTFILES.in into a temporary directory
# (the source tree is not touched) with the given xgettext arguments, which
# po/meson.build keeps equal to the ones the i18n module's pot target uses.
# Then merges po/LANG.po with it and fails (exit 1), naming the strings, when
#  - a string in the sources has no translation,
#  - a translation is fuzzy (msgmerge matched it to a changed or similar
#    string, or it was marked fuzzy by hand),
#  - or msgfmt --check (formats, header, plural forms) or the mnemonic check
#    finds an error, in po/LANG.po as written or merged with the sources.
# Translations of strings the sources no longer have are reported, not
# failed: they are harmless and the next update-po marks them obsolete.

set -u
export LC_ALL=C.UTF-8

if (($# < 3)); then
  echo "usage: $0 SOURCE_ROOT DOMAIN LANG [XGETTEXT_ARG...]" >&2
  exit 2
fi

root="$1"
domain="$2"
lang="$3"
shift 3

po="$root/po/$lang.po"
status=0

fail() {
  echo "check-translation: $*" >&2
  status=1
}

for tool in xgettext msgmerge msgattrib msgfmt; do
  if ! command -v "$tool" >/dev/null; then
    echo "check-translation: $tool not found" >&2
    exit 1
  fi
done

if [[ ! -f "$po" ]]; then
  fail "po/LINGUAS lists $lang, but po/$lang.po does not exist"
  exit 1
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# The same call as meson's "gettext pot" helper, written elsewhere.
if ! xgettext --package-name="$domain" -f "$root/po/POTFILES.in" -D "$root" -k_ \
       -o "$tmp/$domain.pot" "$@"; then
  echo "check-translation: xgettext could not extract the strings from po/POTFILES.in" >&2
  exit 1
fi

if ! msgmerge --quiet --previous -o "$tmp/$lang.po" "$po" "$tmp/$domain.pot"; then
  echo "check-translation: msgmerge could not merge po/$lang.po with the sources" >&2
  exit 1
fi

# Number of entries in a PO file, the header entry not counted; msgattrib
# writes no file when it selects nothing.
count_entries() {
  local n

  [[ -f "$1" ]] || { echo 0; return; }
  n="$(grep -c '^msgid ' "$1")"
  echo $((n > 0 ? n - 1 : 0))
}

select_entries() {
  if ! msgattrib "$@"; then
    echo "check-translation: msgattrib $* failed" >&2
    exit 1
  fi
}

# The entries of a PO file without its header, indented, on stderr.
print_entries() {
  awk 'seen { print "  " $0 } /^$/ { seen = 1 }' "$1" >&2
}

select_entries --untranslated --no-obsolete -o "$tmp/untranslated.po" "$tmp/$lang.po"
n="$(count_entries "$tmp/untranslated.po")"
if ((n > 0)); then
  fail "po/$lang.po has no translation for $n string(s) in the sources:"
  print_entries "$tmp/untranslated.po"
fi

select_entries --only-fuzzy --no-obsolete -o "$tmp/fuzzy.po" "$tmp/$lang.po"
n="$(count_entries "$tmp/fuzzy.po")"
if ((n > 0)); then
  fail "po/$lang.po has $n fuzzy translation(s) to review (a #| line shows the string it was made for):"
  print_entries "$tmp/fuzzy.po"
fi

select_entries --only-obsolete -o "$tmp/obsolete.po" "$tmp/$lang.po"
n="$(count_entries "$tmp/obsolete.po")"
if ((n > 0)); then
  echo "check-translation: note: po/$lang.po translates $n string(s) the sources no longer have"
fi

# Formats, header, plural forms and one '_' mnemonic per translated label;
# on the merged file too, which carries the sources' current c-format flags.
if ! msgfmt --check --check-accelerators=_ -o /dev/null "$po"; then
  fail "msgfmt --check rejects po/$lang.po"
elif ! msgfmt --check --check-accelerators=_ -o /dev/null "$tmp/$lang.po"; then
  fail "msgfmt --check rejects po/$lang.po merged with the current sources"
fi

if ((status == 0)); then
  echo "check-translation: po/$lang.po translates all strings in the sources:"
  msgfmt --statistics -o /dev/null "$tmp/$lang.po" 2>&1
fi
exit $status
