#!/usr/bin/python3
"""The Flatpak manifests, checked without a Flatpak runtime and without the network.

Usage: test_manifest.py SOURCE_ROOT BUILD_ROOT MESON

For flatpak/io.github.switchyard.Switchyard.json and its .Devel variant:
- the runtime and SDK are GNOME's, new enough for WebKitGTK 6.0 and libadwaita;
- the finish-args are exactly the reviewed set below;
- every local path the manifest names exists, and every remote source is
  pinned (a sha256 and a version in its URL; a commit for git);
- the app module is built with meson and runs its tests after installing, in
  a sandbox with the app's own permissions, and only the suites that can run
  there (the `flatpak` test setup of the root meson.build);
- the .Devel manifest differs from the release one only in its id and in
  -Ddevelopment=true.
"""

import copy
import difflib
import json
import os
import re
import subprocess
import sys

# tap.py sits beside this script; keep its bytecode out of the source tree.
sys.dont_write_bytecode = True
from tap import Tap  # noqa: E402

APP_ID = 'io.github.switchyard.Switchyard'
MANIFEST = f'flatpak/{APP_ID}.json'
DEVEL_MANIFEST = f'flatpak/{APP_ID}.Devel.json'

# The reviewed sandbox permissions: nothing else, and in particular no
# --filesystem (files are opened and saved through the file chooser portal)
# and no --talk-name (the portals are reachable without one).
FINISH_ARGS = [
    # The app is a WebSocket server (and a relay server's uplink client):
    # it listens on a port and connects out.
    '--share=network',
    # X11's shared memory (MIT-SHM) needs the host's IPC namespace; without it
    # the X11 fallback is slow.
    '--share=ipc',
    # The window, on Wayland.
    '--socket=wayland',
    # The window on X11, only where there is no Wayland.
    '--socket=fallback-x11',
    # GPU rendering for GTK and for WebKit's compositing.
    '--device=dri',
]

# WebKitGTK's GTK 4 API (webkitgtk-6.0) first shipped in the GNOME 44
# runtime; libadwaita 1.2, the oldest this tree builds against, in 43.
MIN_RUNTIME_VERSION = 44

# The suites `meson test --setup flatpak` runs in flatpak-builder's sandbox:
# the core, against the runtime's libraries. The SDK has no display server,
# no python3-websockets, no Node or Chromium, no libFuzzer and no
# flatpak-builder; the data suite's validators are checked on the host.
SANDBOX_SUITES = {'core'}

# The build directories build-aux/dev.sh makes inside the tree, and the git
# directory: the app module's `dir` source must not copy them into the build.
MUST_SKIP = {'.git', 'build', 'build-asan'}

SHA256 = re.compile(r'^[0-9a-f]{64}$')
GIT_COMMIT = re.compile(r'^[0-9a-f]{40}$')
VERSIONED_NAME = re.compile(r'\d+\.\d+')


def load(tap, path):
    try:
        with open(path, encoding='utf-8') as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        tap.check(False, f'{os.path.basename(path)} is JSON', e)
        return None


def walk_modules(tap, label, base_dir, modules):
    """Yield (label, base_dir, module) for every module, nested ones and those
    in separate files included."""
    for module in modules:
        if isinstance(module, str):
            path = os.path.join(base_dir, module)
            if not tap.check(os.path.isfile(path), f'{label}: module file {module} exists'):
                continue
            module = load(tap, path)
            if module is None:
                continue
            sub_base = os.path.dirname(path)
        else:
            sub_base = base_dir
        yield label, sub_base, module
        yield from walk_modules(tap, label, sub_base, module.get('modules', []))


def check_sources(tap, label, base_dir, module):
    name = module.get('name', '?')
    for i, source in enumerate(module.get('sources', [])):
        if isinstance(source, str):
            tap.check(os.path.isfile(os.path.join(base_dir, source)),
                      f'{label}: {name}: source file {source} exists')
            continue
        kind = source.get('type', '?')
        what = f'{label}: {name}: source {i} ({kind})'
        for path in [source['path']] if 'path' in source else source.get('paths', []):
            tap.check(os.path.exists(os.path.join(base_dir, path)),
                      f'{what}: local path {path} exists')
        if 'url' in source or 'mirror-urls' in source:
            url = source.get('url', '')
            if kind == 'git':
                tap.check(GIT_COMMIT.match(source.get('commit', '')),
                          f'{what}: {url} is pinned to a commit', source)
            else:
                tap.check(SHA256.match(source.get('sha256', '')),
                          f'{what}: {url} has a sha256', source)
                tap.check(VERSIONED_NAME.search(url.rsplit('/', 1)[-1]),
                          f'{what}: {url} names a version')


def check_manifest(tap, src, relpath):
    path = os.path.join(src, relpath)
    label = os.path.basename(relpath)
    manifest = load(tap, path)
    if manifest is None:
        return None
    base_dir = os.path.dirname(path)

    tap.equal(manifest.get('runtime'), 'org.gnome.Platform', f'{label}: runtime')
    tap.equal(manifest.get('sdk'), 'org.gnome.Sdk', f'{label}: sdk')
    version = str(manifest.get('runtime-version', ''))
    tap.check(version.isdigit() and int(version) >= MIN_RUNTIME_VERSION,
              f'{label}: runtime-version {version} has WebKitGTK 6.0 and libadwaita',
              f'a released GNOME runtime >= {MIN_RUNTIME_VERSION} is needed')
    tap.equal(manifest.get('command'), 'switchyard', f'{label}: command')

    finish_args = manifest.get('finish-args', [])
    tap.check(sorted(finish_args) == sorted(FINISH_ARGS) and len(set(finish_args)) == len(finish_args),
              f'{label}: finish-args are the reviewed set',
              f'reviewed: {FINISH_ARGS}\n   found: {finish_args}')

    modules = list(walk_modules(tap, label, base_dir, manifest.get('modules', [])))
    for mod_label, mod_base, module in modules:
        check_sources(tap, mod_label, mod_base, module)

    top = manifest.get('modules', [])
    app = top[-1] if top and isinstance(top[-1], dict) else {}
    tap.equal(app.get('name'), 'switchyard', f'{label}: the last module is the app')
    tap.equal(app.get('buildsystem'), 'meson', f'{label}: the app is built with meson')
    tap.check(app.get('run-tests') is True, f'{label}: the app runs its tests after installing')
    tap.check('-Dtests=false' not in app.get('config-opts', []),
              f'{label}: the app module builds its tests', app.get('config-opts'))
    test_args = app.get('build-options', {}).get('test-args')
    tap.check(test_args == finish_args,
              f'{label}: the tests run with the finish-args as their sandbox (test-args)',
              f'finish-args: {finish_args}\n  test-args: {test_args}')
    # flatpak-builder runs `ninja test` (all suites) unless test-rule is empty.
    commands = app.get('test-commands', [])
    tap.check(app.get('test-rule') == '' and commands
              and all('meson test' in c and '--setup flatpak' in c for c in commands),
              f'{label}: the tests run as `meson test --setup flatpak`',
              f'test-rule: {app.get("test-rule")!r}, test-commands: {commands}')

    dirs = [s for s in app.get('sources', []) if isinstance(s, dict) and s.get('type') == 'dir']
    tap.check(len(dirs) == 1 and os.path.samefile(os.path.join(base_dir, dirs[0].get('path', '')), src),
              f'{label}: the app is built from this source tree', app.get('sources'))
    if dirs:
        skip = set(dirs[0].get('skip', []))
        tap.check(MUST_SKIP <= skip, f'{label}: the source copy skips {sorted(MUST_SKIP)}',
                  f'skip: {sorted(skip)}')
    return manifest


def check_sandbox_suites(tap, build, meson):
    # The suites the `flatpak` setup selects, as `meson test --list` names
    # them ("project:suite+suite / test").
    result = subprocess.run([meson, 'test', '-C', build, '--no-rebuild', '--setup', 'flatpak', '--list'],
                            capture_output=True, text=True)
    if not tap.check(result.returncode == 0, 'meson test --setup flatpak --list', result.stderr):
        return
    suites = set()
    for line in result.stdout.splitlines():
        head = line.split(' / ', 1)[0]
        if ':' in head:
            suites.update(head.split(':', 1)[1].split('+'))
    tap.equal(suites, SANDBOX_SUITES, 'the flatpak test setup runs exactly the sandbox suites')


def main():
    src, build, meson = sys.argv[1:4]
    tap = Tap()

    release = check_manifest(tap, src, MANIFEST)
    devel = check_manifest(tap, src, DEVEL_MANIFEST)
    check_sandbox_suites(tap, build, meson)

    if release is not None and devel is not None:
        tap.equal(devel.get('id'), APP_ID + '.Devel', 'Devel: the id is the .Devel one')
        tap.equal(release.get('id'), APP_ID, 'release: the id')
        # Everything else is the release manifest's, plus -Ddevelopment=true.
        expected = copy.deepcopy(release)
        expected['id'] = APP_ID + '.Devel'
        app = expected['modules'][-1]
        app['config-opts'] = app.get('config-opts', []) + ['-Ddevelopment=true']
        diff = difflib.unified_diff(json.dumps(expected, indent=2).splitlines(),
                                    json.dumps(devel, indent=2).splitlines(),
                                    'release + id + -Ddevelopment=true', DEVEL_MANIFEST, lineterm='')
        tap.check(devel == expected, 'Devel: differs from the release manifest only in id and -Ddevelopment=true',
                  '\n'.join(diff))

    tap.done()


if __name__ == '__main__':
    main()
