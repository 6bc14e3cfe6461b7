#!/usr/bin/env bash
# Check po/POTFILES.in against the source tree.
#
# Usage: check-potfiles.sh [SOURCE_ROOT]
#
# Fails (exit 1) and names the offending files when
#  - a file under app/ uses a gettext macro (_(), N_(), C_(), NC_()),
#  - or a ui/*.ui file has translatable="yes",
# but is not listed in po/POTFILES.in; or when POTFILES.in is not sorted
# (byte order, LC_ALL=C), lists a file twice, or lists a missing file.
# Blank lines and lines starting with '#' in POTFILES.in are ignored.

set -u
export LC_ALL=C

root="${1:-$(dirname "$0")/..}"
potfiles="$root/po/POTFILES.in"
status=0

fail() {
  echo "check-potfiles: $*" >&2
  status=1
}

if [[ ! -f "$potfiles" ]]; then
  fail "$potfiles does not exist"
  exit 1
fi

listed=()
while IFS= read -r line || [[ -n "$line" ]]; do
  line="${line%$'\r'}"
  [[ -z "${line//[[:space:]]/}" || "$line" == \#* ]] && continue
  listed+=("$line")
done < "$potfiles"

# Sorted, no duplicates.
if ((${#listed[@]} > 0)); then
  mapfile -t sorted < <(printf '%s\n' "${listed[@]}" | sort)
  if [[ "${sorted[*]}" != "${listed[*]}" ]]; then
    fail "po/POTFILES.in is not sorted (LC_ALL=C); expected order:"
    printf '  %s\n' "${sorted[@]}" >&2
  fi
  mapfile -t dups < <(printf '%s\n' "${listed[@]}" | sort | uniq -d)
  if ((${#dups[@]} > 0)); then
    fail "po/POTFILES.in lists these files more than once:"
    printf '  %s\n' "${dups[@]}" >&2
  fi
fi

# Listed files exist.
for f in "${listed[@]}"; do
  if [[ ! -f "$root/$f" ]]; then
    fail "po/POTFILES.in lists a missing file: $f"
  fi
done

is_listed() {
  local f
  for f in "${listed[@]}"; do
    [[ "$f" == "$1" ]] && return 0
  done
  return 1
}

# Files with translatable strings are listed.
candidates=()
if [[ -d "$root/app" ]]; then
  while IFS= read -r f; do
    candidates+=("$f")
  done < <(cd "$root" && grep -rlIE '(^|[^A-Za-z0-9_])(N|C|NC)?_[[:space:]]*\(' app | sort)
fi
if [[ -d "$root/ui" ]]; then
  while IFS= read -r f; do
    candidates+=("$f")
  done < <(cd "$root" && find ui -maxdepth 1 -type f -name '*.ui' \
             -exec grep -lF 'translatable="yes"' {} + | sort)
fi

for f in "${candidates[@]}"; do
  if ! is_listed "$f"; then
    fail "$f has translatable strings but is not listed in po/POTFILES.in"
  fi
done

if ((status == 0)); then
  echo "check-potfiles: po/POTFILES.in is complete (${#listed[@]} files)"
fi
exit $status
