#!/usr/bin/python3
"""`meson install` into a DESTDIR installs exactly what a user needs, and it runs.

Usage: test_install.py BUILD_ROOT SOURCE_ROOT MESON PREFIX BINDIR DATADIR LOCALEDIR APP_ID VERSION

Installs the build this test runs in (`meson install --destdir TMP
--no-rebuild`), compares the installed files with the list below, then runs
the installed programs from the DESTDIR: `switchyard --headless` must print
its two links, answer GET /api/status on loopback and exit 0 on SIGTERM;
`switchyard-client --help` must run; the installed settings schema must
compile and the installed German catalog must translate `switchyard --help`.
"""

import http.client
import json
import os
import queue
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time

# tap.py sits beside this script; keep its bytecode out of the source tree.
sys.dont_write_bytecode = True
from tap import Tap  # noqa: E402

SCHEMA_ID = 'io.github.switchyard.Switchyard'
GETTEXT_PACKAGE = 'switchyard'


def expected_files(bindir, datadir, localedir, app_id, linguas):
    """The complete install, relative to the prefix: nothing more, nothing less."""
    files = {
        # The application (window and headless server) and the command-line client.
        f'{bindir}/switchyard',
        f'{bindir}/switchyard-client',
        # Desktop integration, named after the application id.
        f'{datadir}/applications/{app_id}.desktop',
        f'{datadir}/metainfo/{app_id}.metainfo.xml',
        f'{datadir}/icons/hicolor/scalable/apps/{app_id}.svg',
        f'{datadir}/icons/hicolor/symbolic/apps/{app_id}-symbolic.svg',
        # The preferences; the schema id is the same for the .Devel variant.
        f'{datadir}/glib-2.0/schemas/{SCHEMA_ID}.gschema.xml',
    }
    # One catalog per language in po/LINGUAS.
    files |= {f'{localedir}/{lang}/LC_MESSAGES/{GETTEXT_PACKAGE}.mo' for lang in linguas}
    return files


def read_linguas(src):
    langs = []
    with open(os.path.join(src, 'po', 'LINGUAS'), encoding='utf-8') as f:
        for line in f:
            line = line.split('#', 1)[0]
            langs += line.split()
    return langs


def installed_files(root):
    found = set()
    for dirpath, dirnames, filenames in os.walk(root):
        for name in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            found.add(os.path.relpath(os.path.join(dirpath, name), root))
    return found


def line_reader(stream, lines):
    for line in stream:
        lines.put(line.rstrip('\n'))
    lines.put(None)


def run_headless(tap, prefix_dir, bindir, tmp, env, version):
    state_dir = os.path.join(tmp, 'state')
    stderr_path = os.path.join(tmp, 'headless.stderr')
    binary = os.path.join(prefix_dir, bindir, 'switchyard')
    with open(stderr_path, 'w') as stderr:
        proc = subprocess.Popen([binary, '--headless', '--port', '0', '--state-dir', state_dir],
                                stdout=subprocess.PIPE, stderr=stderr, text=True, env=env)

    def stderr_tail():
        with open(stderr_path, errors='replace') as f:
            return f.read()[-4000:]

    try:
        lines = queue.Queue()
        threading.Thread(target=line_reader, args=(proc.stdout, lines), daemon=True).start()
        urls = {}
        deadline = time.monotonic() + 60  # generous: the sanitized build starts slowly
        while len(urls) < 2 and time.monotonic() < deadline:
            try:
                line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                break
            if line is None:
                break
            match = re.match(r'^(view-url|control-url): (http://127\.0\.0\.1:(\d+)/\S*)$', line)
            if match:
                urls[match.group(1)] = (match.group(2), int(match.group(3)))
        if not tap.check(set(urls) == {'view-url', 'control-url'},
                         'the installed switchyard --headless prints view-url and control-url',
                         f'got {urls}; stderr:\n{stderr_tail()}'):
            return
        port = urls['view-url'][1]
        tap.equal(urls['control-url'][1], port, 'both links name the same port')

        # Straight to loopback: no proxy from the environment.
        conn = http.client.HTTPConnection('127.0.0.1', port, timeout=30)
        try:
            conn.request('GET', '/api/status')
            response = conn.getresponse()
            body = response.read()
        finally:
            conn.close()
        if tap.equal(response.status, 200, 'GET /api/status answers 200'):
            try:
                status = json.loads(body)
            except ValueError:
                status = {}
            tap.equal((status.get('name'), status.get('version')), ('Switchyard', version),
                      '/api/status names this build')

        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            code = 'still running 30 s after SIGTERM'
        tap.check(code == 0, 'SIGTERM: the headless server exits 0',
                  f'exit: {code}; stderr:\n{stderr_tail()}')
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def main():
    build, src, meson, prefix, bindir, datadir, localedir, app_id, version = sys.argv[1:10]
    # meson keeps these relative to the prefix unless they lie outside it.
    bindir, datadir, localedir = (os.path.relpath(d, prefix) if os.path.isabs(d) else d
                                  for d in (bindir, datadir, localedir))
    tap = Tap()
    tmp = tempfile.mkdtemp(prefix='switchyard-install-')
    try:
        destdir = os.path.join(tmp, 'destdir')
        result = subprocess.run([meson, 'install', '-C', build, '--destdir', destdir, '--no-rebuild'],
                                capture_output=True, text=True, timeout=300)
        if not tap.check(result.returncode == 0, 'meson install --destdir', result.stdout + result.stderr):
            tap.bail_out('nothing installed')

        # Everything is checked relative to the prefix; a file outside it
        # shows up with a leading ../.
        prefix_dir = os.path.join(destdir, prefix.lstrip('/'))
        found = {os.path.relpath(os.path.join(destdir, p), prefix_dir) for p in installed_files(destdir)}
        want = {os.path.normpath(p) for p in expected_files(bindir, datadir, localedir, app_id,
                                                            read_linguas(src))}
        tap.check(found == want, 'the installed files are exactly the expected ones',
                  f'prefix {prefix}\nmissing: {sorted(want - found)}\nextra: {sorted(found - want)}')
        tap.diag('installed under ' + prefix + ':\n  ' + '\n  '.join(sorted(found)))

        for path in sorted(found & want):
            mode = os.stat(os.path.join(prefix_dir, path)).st_mode
            executable = bool(mode & stat.S_IXUSR)
            tap.check(executable == path.startswith(f'{bindir}/'),
                      f'{path} is {"" if executable else "not "}executable',
                      f'mode {stat.filemode(mode)}')

        # The installed schema compiles (the post-install script, skipped
        # with a DESTDIR, would do the same), and the binary uses it.
        schemas = os.path.join(tmp, 'schemas')
        os.mkdir(schemas)
        result = subprocess.run(['glib-compile-schemas', '--strict', '--targetdir', schemas,
                                 os.path.join(prefix_dir, datadir, 'glib-2.0', 'schemas')],
                                capture_output=True, text=True)
        tap.check(result.returncode == 0, 'the installed schema compiles', result.stderr)

        env = dict(os.environ, GSETTINGS_SCHEMA_DIR=schemas, GSETTINGS_BACKEND='memory')
        env.pop('SWITCHYARD_LOCALEDIR', None)
        run_headless(tap, prefix_dir, bindir, tmp, env, version)

        client = os.path.join(prefix_dir, bindir, 'switchyard-client')
        result = subprocess.run([client, '--help'], capture_output=True, text=True, env=env, timeout=60)
        tap.check(result.returncode == 0 and 'switchyard-client' in result.stdout,
                  'the installed switchyard-client --help runs', result.stdout + result.stderr)

        # The installed catalog, found where the binary's LOCALEDIR would be
        # (SWITCHYARD_LOCALEDIR stands in for the prefix the DESTDIR hides).
        if 'de' in read_linguas(src):
            de_env = dict(env, LC_ALL='C.UTF-8', LANGUAGE='de',
                          SWITCHYARD_LOCALEDIR=os.path.join(prefix_dir, localedir))
            result = subprocess.run([os.path.join(prefix_dir, bindir, 'switchyard'), '--help'],
                                    capture_output=True, text=True, env=de_env, timeout=60)
            tap.check(result.returncode == 0 and 'Den Server ohne Fenster ausführen' in result.stdout,
                      'the installed German catalog translates switchyard --help',
                      result.stdout + result.stderr)
        else:
            tap.skip('the installed German catalog translates switchyard --help', 'no de in po/LINGUAS')
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    tap.done()


if __name__ == '__main__':
    main()
