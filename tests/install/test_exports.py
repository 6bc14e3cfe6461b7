#!/usr/bin/python3
"""Each Flatpak manifest's build installs what Flatpak exports, named after its id.

Usage: test_exports.py SOURCE_ROOT MESON

For each manifest this configures the tree the way flatpak-builder does
(`meson setup --prefix=/app` plus the app module's config-opts) in a scratch
directory, and checks with `meson introspect --installed` and the configured
files, without building:
- the manifest's command is installed in /app/bin;
- the desktop entry, the metainfo and the icons are named after the
  manifest's id (flatpak-builder exports nothing else from share/);
- the desktop entry's icon and the metainfo's id and launchable are that id;
- the application id compiled in (config.h) is that id, since the sandbox only
  lets the app own D-Bus names under it.
"""

import concurrent.futures
import json
import os
import re
import subprocess
import sys
import tempfile

# tap.py sits beside this script; keep its bytecode out of the source tree.
sys.dont_write_bytecode = True
from tap import Tap  # noqa: E402

MANIFESTS = [
    'flatpak/io.github.switchyard.Switchyard.json',
    'flatpak/io.github.switchyard.Switchyard.Devel.json',
]
PREFIX = '/app'


def configure(src, meson, manifest, scratch):
    app = manifest['modules'][-1]
    builddir = os.path.join(scratch, manifest['id'])
    result = subprocess.run([meson, 'setup', builddir, src, f'--prefix={PREFIX}', '--libdir=lib']
                            + app.get('config-opts', []),
                            capture_output=True, text=True, timeout=300)
    return builddir, result


def read(path):
    try:
        with open(path, encoding='utf-8') as f:
            return f.read()
    except OSError:
        return ''


def check(tap, meson, manifest, builddir, result):
    app_id = manifest['id']
    label = app_id
    if not tap.check(result.returncode == 0, f'{label}: meson setup with the manifest\'s config-opts',
                     result.stdout[-3000:] + result.stderr):
        return
    introspect = subprocess.run([meson, 'introspect', '--installed', builddir],
                                capture_output=True, text=True)
    if not tap.check(introspect.returncode == 0, f'{label}: meson introspect --installed', introspect.stderr):
        return
    installed = set(json.loads(introspect.stdout).values())

    command = manifest.get('command')
    tap.check(f'{PREFIX}/bin/{command}' in installed, f'{label}: the command {command} is installed',
              sorted(installed))

    exported = {
        f'{PREFIX}/share/applications/{app_id}.desktop',
        f'{PREFIX}/share/metainfo/{app_id}.metainfo.xml',
        f'{PREFIX}/share/icons/hicolor/scalable/apps/{app_id}.svg',
        f'{PREFIX}/share/icons/hicolor/symbolic/apps/{app_id}-symbolic.svg',
    }
    shared = {p for p in installed
              if p.startswith((f'{PREFIX}/share/applications/', f'{PREFIX}/share/metainfo/',
                               f'{PREFIX}/share/icons/'))}
    tap.equal(shared, exported, f'{label}: desktop entry, metainfo and icons are named after the id')

    desktop_in = read(os.path.join(builddir, 'data', f'{app_id}.desktop.in'))
    tap.check(re.search(rf'^Icon={re.escape(app_id)}$', desktop_in, re.M),
              f'{label}: the desktop entry\'s icon is the id', desktop_in)
    metainfo_in = read(os.path.join(builddir, 'data', f'{app_id}.metainfo.xml.in'))
    tap.check(f'<id>{app_id}</id>' in metainfo_in, f'{label}: the metainfo\'s id is the id')
    tap.check(f'<launchable type="desktop-id">{app_id}.desktop</launchable>' in metainfo_in,
              f'{label}: the metainfo launches the desktop entry')

    config_h = read(os.path.join(builddir, 'config.h'))
    tap.check(f'#define APPLICATION_ID "{app_id}"' in config_h,
              f'{label}: the application id compiled in is the id',
              '\n'.join(line for line in config_h.splitlines() if 'APPLICATION_ID' in line))


def main():
    src, meson = sys.argv[1:3]
    tap = Tap()
    manifests = []
    for relpath in MANIFESTS:
        with open(os.path.join(src, relpath), encoding='utf-8') as f:
            manifests.append(json.load(f))

    with tempfile.TemporaryDirectory(prefix='switchyard-exports-') as scratch:
        # Two configurations at once: meson setup mostly waits on the compiler.
        with concurrent.futures.ThreadPoolExecutor(max_workers=len(manifests)) as pool:
            futures = [pool.submit(configure, src, meson, m, scratch) for m in manifests]
            for manifest, future in zip(manifests, futures):
                builddir, result = future.result()
                check(tap, meson, manifest, builddir, result)
    tap.done()


if __name__ == '__main__':
    main()
