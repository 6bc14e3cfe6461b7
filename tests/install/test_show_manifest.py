#!/usr/bin/python3
"""flatpak-builder reads both Flatpak manifests as they are written.

Usage: test_show_manifest.py SOURCE_ROOT

`flatpak-builder --show-manifest` parses a manifest into flatpak-builder's
own objects and prints them back; it needs no runtime and no network. A
manifest passes when it parses without a warning (a misspelt or unknown
property is only warned about, then ignored) and prints back unchanged (so
every value has the type flatpak-builder expects).

Exits 77 (skipped) when flatpak-builder is not installed; build-aux/dev.sh
test installs it.
"""

import json
import os
import shutil
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


def main():
    src = sys.argv[1]
    flatpak_builder = shutil.which('flatpak-builder')
    if flatpak_builder is None:
        print('1..0 # SKIP flatpak-builder is not installed')
        sys.exit(77)

    tap = Tap()
    # flatpak-builder makes its state directory (.flatpak-builder) in the
    # working directory: keep it out of the tree.
    with tempfile.TemporaryDirectory(prefix='switchyard-show-manifest-') as cwd:
        env = dict(os.environ, HOME=cwd)
        for relpath in MANIFESTS:
            name = os.path.basename(relpath)
            path = os.path.join(src, relpath)
            result = subprocess.run([flatpak_builder, '--show-manifest', path],
                                    cwd=cwd, env=env, capture_output=True, text=True, timeout=60)
            if not tap.check(result.returncode == 0, f'{name}: flatpak-builder --show-manifest',
                             result.stderr):
                continue
            tap.check(result.stderr.strip() == '', f'{name}: no warnings', result.stderr)
            with open(path, encoding='utf-8') as f:
                written = json.load(f)
            try:
                shown = json.loads(result.stdout)
            except ValueError as e:
                tap.check(False, f'{name}: flatpak-builder prints JSON', e)
                continue
            tap.check(shown == written, f'{name}: flatpak-builder reads every property as written',
                      result.stdout)
    tap.done()


if __name__ == '__main__':
    main()
