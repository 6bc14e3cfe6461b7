#!/bin/bash
# Switchyard's two set-up commands.
#
#   build-aux/dev.sh run [SWITCHYARD OPTIONS…]   install what is missing, build, run
#   build-aux/dev.sh test                        install what is missing, build, run every suite
#
# Works on a fresh Debian 12 machine as root or through sudo.

set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)

# Build and run.
RUN_PACKAGES=(
  build-essential meson ninja-build pkg-config gettext
  libgtk-4-dev libsoup-3.0-dev libwebkitgtk-6.0-dev libjson-glib-dev libadwaita-1-dev
  desktop-file-utils appstream libqrencode-dev
  librsvg2-common
  # The MQTT bridge (--mqtt).
  libmosquitto-dev
)
# The test suites: a display server, a session bus, real clients.
TEST_PACKAGES=(
  xvfb xauth dbus-daemon at-spi2-core libgl1-mesa-dri fonts-dejavu-core
  python3 python3-websockets openssl
  # The MQTT tests run a real broker and its command-line clients.
  mosquitto mosquitto-clients
  clang libclang-rt-14-dev
  chromium
  # The install suite reads the Flatpak manifests with flatpak-builder --show-manifest.
  flatpak-builder
)

log() {
  printf '\033[1m==> %s\033[0m\n' "$*" >&2
}

install_missing() {
  local missing=() pkg
  for pkg in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$pkg")
    fi
  done
  if [ ${#missing[@]} -eq 0 ]; then
    return
  fi
  log "installing ${missing[*]}"
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    sudo=(sudo)
  fi
  "${sudo[@]}" apt-get update -q
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# build DIR [MESON OPTIONS…]
build() {
  local dir=$1
  shift
  if [ ! -f "$dir/build.ninja" ]; then
    log "configuring $dir"
    meson setup "$dir" "$@"
  fi
  log "building $dir"
  meson compile -C "$dir"
}

# count DIR…: prints "passed failed" over the given build dirs' test logs.
count() {
  /usr/bin/python3 - "$@" <<'PY'
import json, sys
passed = failed = 0
for d in sys.argv[1:]:
    try:
        lines = open(f"{d}/meson-logs/testlog.json").read().splitlines()
    except FileNotFoundError:
        failed += 1
        continue
    for line in lines:
        if not line.strip():
            continue
        result = json.loads(line)["result"]
        if result in ("OK", "EXPECTEDFAIL", "SKIP"):
            passed += result != "SKIP"
        else:
            failed += 1
print(passed, failed)
PY
}

# The browser tests' Node packages (playwright-core drives Debian's chromium;
# no browser is ever downloaded). Node and npm come from Debian unless the
# machine already has them: NodeSource's nodejs bundles npm and conflicts with
# Debian's npm package.
install_node_modules() {
  local pkgs=()
  command -v node >/dev/null 2>&1 || pkgs+=(nodejs)
  command -v npm >/dev/null 2>&1 || pkgs+=(npm)
  if [ ${#pkgs[@]} -gt 0 ]; then
    install_missing "${pkgs[@]}"
  fi
  local dir="$ROOT/tests/browser"
  if [ ! -d "$dir/node_modules" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules" ]; then
    log "installing the browser tests' node modules"
    (cd "$dir" && npm ci --no-audit --no-fund)
    touch "$dir/node_modules"
  fi
}

cmd_run() {
  install_missing "${RUN_PACKAGES[@]}"
  build build
  if [ -n "${DISPLAY:-}" ] || [ -n "${WAYLAND_DISPLAY:-}" ]; then
    # The uninstalled settings schema, for the window's preferences.
    # The uninstalled catalogs, for the window in the desktop's language.
    GSETTINGS_SCHEMA_DIR="$ROOT/build/data${GSETTINGS_SCHEMA_DIR:+:$GSETTINGS_SCHEMA_DIR}" \
    SWITCHYARD_LOCALEDIR="${SWITCHYARD_LOCALEDIR:-$ROOT/build/po}" \
      exec ./build/app/switchyard "$@"
  fi
  log "no display: running the headless server (Ctrl+C stops it)"
  SWITCHYARD_LOCALEDIR="${SWITCHYARD_LOCALEDIR:-$ROOT/build/po}" exec ./build/app/switchyard --headless "$@"
}

cmd_test() {
  install_missing "${RUN_PACKAGES[@]}" "${TEST_PACKAGES[@]}"
  install_node_modules

  build build
  log "testing build (all suites)"
  meson test -C build --print-errorlogs --num-processes 2 || true

  # The same suites under AddressSanitizer and UndefinedBehaviorSanitizer.
  build build-asan -Db_sanitize=address,undefined -Db_lundef=false
  log "testing build-asan (all suites)"
  meson test -C build-asan --print-errorlogs --num-processes 2 || true

  local passed failed
  read -r passed failed < <(count build build-asan)
  echo
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ]
}

case "${1:-}" in
  run)
    shift
    cmd_run "$@"
    ;;
  test)
    shift
    cmd_test "$@"
    ;;
  *)
    echo "usage: $0 run [OPTIONS…] | test" >&2
    exit 2
    ;;
esac
