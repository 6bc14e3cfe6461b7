#!/usr/bin/python3
"""The window's server follows its GSettings preferences (port, bind address,
TLS files), the command line winning for the keys it gives; a change of a
preference restarts the server (clients get 1001); a second launch leaves the
first instance alone; SIGTERM quits gracefully. Runs the real binary in GUI
mode on the display the test wrapper provides (Xvfb), with the keyfile
settings backend, which notices when the file changes."""

import os
import re
import subprocess
import sys
import tempfile
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import wsraw  # noqa: E402
from wsraw import free_port  # noqa: E402

LISTENING = re.compile(r"listening on (https?)://([^/]+)/")


class Instance:
    """One `switchyard` process in GUI mode and what it logged so far."""

    def __init__(self, proc):
        self.proc = proc
        self.log = ""
        os.set_blocking(proc.stderr.fileno(), False)

    def read(self):
        chunk = self.proc.stderr.read() or b""
        self.log += chunk.decode("utf-8", "replace")
        return self.log

    def wait_for(self, pattern, start=0, timeout=20):
        """The first match of `pattern` in the log after offset `start`."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            match = regex.search(self.read(), start)
            if match:
                return match
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError("never logged %r; the log: %r" % (pattern, self.read()))


class GuiSettingsTest(unittest.TestCase):

    def setUp(self):
        if not os.environ.get("DISPLAY"):
            self.skipTest("no display")
        self.home = tempfile.TemporaryDirectory(prefix="sy-gui-settings-")
        self.addCleanup(self.home.cleanup)
        self.config = os.path.join(self.home.name, "config")
        self.env = dict(os.environ)
        self.env.update({
            "GSETTINGS_BACKEND": "keyfile",
            "XDG_CONFIG_HOME": self.config,
            "XDG_STATE_HOME": os.path.join(self.home.name, "state"),
            "XDG_DATA_HOME": os.path.join(self.home.name, "data"),
            "XDG_CACHE_HOME": os.path.join(self.home.name, "cache"),
        })

    def write_settings(self, settings):
        """Replaces the keyfile at once, as an editor would."""
        directory = os.path.join(self.config, "glib-2.0", "settings")
        os.makedirs(directory, exist_ok=True)
        path = os.path.join(directory, "keyfile")
        with open(path + ".new", "w") as f:
            f.write("[io/github/switchyard/Switchyard]\n")
            for key, value in settings.items():
                f.write("%s=%s\n" % (key, value))
        os.replace(path + ".new", path)

    def start(self, *args):
        proc = subprocess.Popen([wsraw.binary_path(), *args], env=self.env,
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)
        self.addCleanup(self.stop, proc)
        return Instance(proc)

    def launch(self, settings, *args):
        self.write_settings(settings)
        instance = self.start(*args)
        match = instance.wait_for(LISTENING.pattern)
        return instance, match, instance.log

    def stop(self, proc):
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        proc.stderr.close()

    def test_port_and_bind_from_settings(self):
        port = free_port()
        _, match, log = self.launch({"port": port, "bind-address": "'0.0.0.0'"})
        self.assertEqual(match.group(2), "127.0.0.1:%d" % port)
        # Beyond loopback: every role needs a token, and the log says so.
        self.assertIn("beyond loopback", log)
        resp = wsraw.http_request(("127.0.0.1", port), "GET", "/api/status")
        self.assertEqual(resp.status, 401)

    def test_command_line_wins(self):
        port = free_port()
        other = free_port()
        instance, match, log = self.launch({"port": port}, "--port", str(other))
        self.assertEqual(match.group(2), "127.0.0.1:%d" % other)
        self.assertNotIn("beyond loopback", log)
        resp = wsraw.http_request(("127.0.0.1", other), "GET", "/api/status")
        self.assertEqual(resp.status, 200)

        # A restart for another key keeps the command line's port.
        mark = len(instance.read())
        self.write_settings({"port": free_port(), "ping-interval": 3})
        instance.wait_for(r"restarting the server", mark)
        match = instance.wait_for(LISTENING.pattern, mark)
        self.assertEqual(match.group(2), "127.0.0.1:%d" % other)

    def test_change_restarts_server(self):
        port = free_port()
        instance, _, _ = self.launch({"port": port})
        ws = wsraw.ws_connect(("127.0.0.1", port))
        self.addCleanup(ws.conn.close)
        self.assertEqual(ws.echo(wsraw.OP_TEXT, b"before"), (wsraw.OP_TEXT, b"before"))

        # The preference changes while it runs: the old client hears 1001,
        # and the server listens on the new port.
        new_port = free_port()
        mark = len(instance.read())
        self.write_settings({"port": new_port})
        code, _ = ws.read_until_close(timeout=10)
        self.assertEqual(code, 1001)
        match = instance.wait_for(LISTENING.pattern, mark)
        self.assertEqual(match.group(2), "127.0.0.1:%d" % new_port)
        resp = wsraw.http_request(("127.0.0.1", new_port), "GET", "/api/status")
        self.assertEqual(resp.status, 200)
        self.assertIsNone(instance.proc.poll())

    def test_bad_tls_files_keep_the_window(self):
        port = free_port()
        self.write_settings({"port": port,
                             "tls-certificate": "'/nonexistent/cert.pem'",
                             "tls-key": "'/nonexistent/key.pem'"})
        instance = self.start()
        instance.wait_for(r"The server did not start: .*cert\.pem")
        # The window stays up with the server stopped…
        time.sleep(0.5)
        self.assertIsNone(instance.proc.poll())
        self.assertNotIn("listening on", instance.read())

        # …and serves once the preferences are fixed.
        mark = len(instance.read())
        self.write_settings({"port": port})
        match = instance.wait_for(LISTENING.pattern, mark)
        self.assertEqual(match.group(1), "http")
        self.assertEqual(match.group(2), "127.0.0.1:%d" % port)

    def test_second_launch_presents_the_first(self):
        port = free_port()
        first, _, _ = self.launch({"port": port})

        # Single instance: the second launch hands over to the first and
        # exits without a server of its own.
        second = self.start("--port", str(free_port()))
        try:
            second.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.fail("the second launch kept running: %r" % second.read())
        self.assertEqual(second.proc.returncode, 0, second.read())
        self.assertNotIn("listening on", second.read())

        self.assertIsNone(first.proc.poll())
        resp = wsraw.http_request(("127.0.0.1", port), "GET", "/api/status")
        self.assertEqual(resp.status, 200)

    def test_sigterm_stops_gracefully(self):
        port = free_port()
        instance, _, _ = self.launch({"port": port})
        ws = wsraw.ws_connect(("127.0.0.1", port))
        self.addCleanup(ws.conn.close)
        self.assertEqual(ws.echo(wsraw.OP_TEXT, b"hello"), (wsraw.OP_TEXT, b"hello"))

        instance.proc.terminate()
        code, _ = ws.read_until_close(timeout=10)
        self.assertEqual(code, 1001)
        ws.send_close(1001)
        self.assertEqual(instance.proc.wait(timeout=10), 0)
        self.assertIn("stopped", instance.read())


if __name__ == "__main__":
    unittest.main(verbosity=2)
