#!/usr/bin/env bash
# Build the libFuzzer targets in tests/fuzz/ with clang and run each of them.
#
# Usage: build-aux/fuzz.sh [SECONDS]
#
#   SECONDS   how long each target runs (default 30)
#
# The targets are built apart from the meson build (which uses gcc), with
# AddressSanitizer, LeakSanitizer and UndefinedBehaviorSanitizer, into
# build-fuzz/ at the top of the source tree. Each run starts from a copy of
# the seed corpus tests/fuzz/corpus/ in a temporary directory of its own, so
# two runs at once do not collide; inputs that fail are kept in
# build-fuzz/artifacts/ and can be replayed with
#
#   build-fuzz/fuzz-command build-fuzz/artifacts/fuzz-command-crash-…
#
# Exits non-zero when a target crashes, leaks, hits undefined behaviour, logs
# a warning or a critical, or times out on an input.
#
# Needs clang, the libFuzzer runtime and the development files of the core's
# libraries; on Debian 12:
#
#   apt-get install clang libclang-rt-14-dev libglib2.0-dev libsoup-3.0-dev libjson-glib-dev

set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)

SECONDS_PER_TARGET=${1:-30}
if ! [[ "$SECONDS_PER_TARGET" =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: build-aux/fuzz.sh [SECONDS]" >&2
  exit 2
fi

CC=${CLANG:-clang}
OUT="$ROOT/build-fuzz"
CORE="$ROOT/app/core"
FUZZ="$ROOT/tests/fuzz"
MODULES=(glib-2.0 gio-2.0 gio-unix-2.0 libsoup-3.0 json-glib-1.0)

# The core sources the targets link against: the command check and what its
# file refers to (connections, subprotocols, the wire guard), plus the bench,
# the relay's wire form and the audit log for the relay target. Nothing needs
# the web page resources or GTK.
CORE_SOURCES=(
  sy-audit.c
  sy-bench.c
  sy-connection.c
  sy-json.c
  sy-json-protocol.c
  sy-relay-protocol.c
  sy-source.c
  sy-subprotocol.c
  sy-wire-guard.c
)
TARGETS=(
  fuzz-command
  fuzz-relay-command
)

log() {
  printf '\033[1m==> %s\033[0m\n' "$*" >&2
}

missing() {
  echo "fuzz.sh: $1" >&2
  echo "fuzz.sh: on Debian 12: apt-get install $2" >&2
  exit 1
}

# Requirements: say what to install, install nothing.
command -v "$CC" >/dev/null 2>&1 || missing "clang is not installed" "clang"
RUNTIME="$("$CC" -print-resource-dir)/lib/linux/libclang_rt.fuzzer-$(uname -m).a"
[[ -f "$RUNTIME" ]] || missing "the libFuzzer runtime $RUNTIME is missing" "libclang-rt-14-dev"
command -v pkg-config >/dev/null 2>&1 || missing "pkg-config is not installed" "pkg-config"
for module in "${MODULES[@]}"; do
  pkg-config --exists "$module" ||
    missing "pkg-config does not know $module" "libglib2.0-dev libsoup-3.0-dev libjson-glib-dev"
done

VERSION=$(sed -n "s/^[[:space:]]*version:[[:space:]]*'\([^']*\)'.*/\1/p" meson.build | head -n 1)
[[ -n "$VERSION" ]] || { echo "fuzz.sh: no project version in meson.build" >&2; exit 1; }

mkdir -p "$OUT/artifacts"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/switchyard-fuzz.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# What meson's config.h holds, for a release build.
cat > "$WORK/config.h" <<EOF
#pragma once
#define PACKAGE_NAME "Switchyard"
#define PACKAGE_VERSION "$VERSION"
#define APPLICATION_ID "io.github.switchyard.Switchyard"
#define GETTEXT_PACKAGE "switchyard"
#define LOCALEDIR "/usr/local/share/locale"
#define DEVELOPMENT_BUILD 0
EOF

read -r -a PKG_CFLAGS <<< "$(pkg-config --cflags "${MODULES[@]}")"
read -r -a PKG_LIBS <<< "$(pkg-config --libs "${MODULES[@]}")"
# UB aborts instead of being reported and carried on from.
SANITIZE=(-fsanitize=address,undefined -fno-sanitize-recover=all)
CFLAGS=(-g -O1 -fno-omit-frame-pointer "${SANITIZE[@]}" -I"$WORK" -I"$CORE" "${PKG_CFLAGS[@]}")

log "compiling the core with $($CC --version | head -n 1)"
objects=()
for source in "${CORE_SOURCES[@]}"; do
  "$CC" "${CFLAGS[@]}" -fsanitize=fuzzer-no-link -c "$CORE/$source" -o "$WORK/${source%.c}.o"
  objects+=("$WORK/${source%.c}.o")
done

for target in "${TARGETS[@]}"; do
  log "building $target"
  "$CC" "${CFLAGS[@]}" -fsanitize=fuzzer -Wall -Wextra -Werror -Wno-unused-parameter \
    "$FUZZ/$target.c" "${objects[@]}" "${PKG_LIBS[@]}" -lm -o "$WORK/$target"
  # Published for replaying artifacts; a rename, so a run in another build
  # directory never sees half a binary.
  cp "$WORK/$target" "$OUT/.$target.$$"
  mv -f "$OUT/.$target.$$" "$OUT/$target"
done

# GLib's own warnings and criticals are fatal too (the targets also turn
# them into aborts themselves).
export G_DEBUG=fatal-warnings
export G_SLICE=always-malloc
# No leak suppressions: what GLib's type system keeps stays reachable, so
# whatever LeakSanitizer reports is lost for good.
export ASAN_OPTIONS=detect_leaks=1:strict_string_checks=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1

status=0
for target in "${TARGETS[@]}"; do
  mkdir "$WORK/corpus-$target" "$WORK/artifacts-$target"
  cp "$FUZZ"/corpus/* "$WORK/corpus-$target/"
  log "running $target for $SECONDS_PER_TARGET s"
  if "$WORK/$target" \
      -max_total_time="$SECONDS_PER_TARGET" \
      -max_len=4096 \
      -timeout=5 \
      -print_final_stats=1 \
      -artifact_prefix="$WORK/artifacts-$target/" \
      "$WORK/corpus-$target" 2>&1; then
    continue
  fi

  status=1
  # The system's GLib and json-glib have no frame pointers, so the fast
  # unwinder used while fuzzing stops at g_malloc(): replay each finding
  # with the slow one to show where the memory came from.
  for artifact in "$WORK/artifacts-$target"/*; do
    [ -f "$artifact" ] || continue
    kept="$OUT/artifacts/$target-$(basename "$artifact")"
    cp "$artifact" "$kept"
    log "replaying $kept with full stacks"
    ASAN_OPTIONS="$ASAN_OPTIONS:fast_unwind_on_malloc=0" \
      "$WORK/$target" -runs=2 -timeout=5 "$artifact" 2>&1 || true
    echo "fuzz.sh: $target failed on $kept; replay it with: $OUT/$target $kept" >&2
  done
done

if [ "$status" -eq 0 ]; then
  log "no findings"
fi
exit "$status"
