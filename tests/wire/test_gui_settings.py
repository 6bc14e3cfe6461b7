#!/usr/bin/python3
"""The window's server follows its GSettings preferences (port, bind address),
and the command line wins over them. Runs the real binary in GUI mode on the
display the test wrapper provides (Xvfb)."""

import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import wsraw  # noqa: E402

LISTENING = re.compile(r"listening on (https?)://([^/]+)/")


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class GuiSettingsTest(unittest.TestCase):

    def setUp(self):
        if not os.environ.get("DISPLAY"):
            self.skipTest("no display")
        self.home = tempfile.TemporaryDirectory(prefix="sy-gui-settings-")
        self.addCleanup(self.home.cleanup)

    def launch(self, settings, *args):
        config = os.path.join(self.home.name, "config")
        os.makedirs(os.path.join(config, "glib-2.0", "settings"), exist_ok=True)
        with open(os.path.join(config, "glib-2.0", "settings", "keyfile"), "w") as f:
            f.write("[io/github/switchyard/Switchyard]\n")
            for key, value in settings.items():
                f.write("%s=%s\n" % (key, value))
        env = dict(os.environ)
        env.update({
            "GSETTINGS_BACKEND": "keyfile",
            "XDG_CONFIG_HOME": config,
            "XDG_STATE_HOME": os.path.join(self.home.name, "state"),
            "XDG_DATA_HOME": os.path.join(self.home.name, "data"),
            "XDG_CACHE_HOME": os.path.join(self.home.name, "cache"),
        })
        proc = subprocess.Popen([wsraw.binary_path(), *args], env=env,
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)
        self.addCleanup(self.stop, proc)
        lines = []
        deadline = time.monotonic() + 20
        os.set_blocking(proc.stderr.fileno(), False)
        buffer = ""
        while time.monotonic() < deadline and proc.poll() is None:
            chunk = proc.stderr.read() or b""
            buffer += chunk.decode("utf-8", "replace")
            match = LISTENING.search(buffer)
            if match:
                return proc, match, buffer
            time.sleep(0.05)
        self.fail("the window's server never said where it listens: %r" % buffer)

    def stop(self, proc):
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def test_port_and_bind_from_settings(self):
        port = free_port()
        proc, match, log = self.launch({"port": port, "bind-address": "'0.0.0.0'"})
        self.assertEqual(match.group(2), "127.0.0.1:%d" % port)
        # Beyond loopback: every role needs a token, and the log says so.
        self.assertIn("beyond loopback", log)
        resp = wsraw.http_request(("127.0.0.1", port), "GET", "/api/status")
        self.assertEqual(resp.status, 401)

    def test_command_line_wins(self):
        port = free_port()
        other = free_port()
        proc, match, log = self.launch({"port": port}, "--port", str(other))
        self.assertEqual(match.group(2), "127.0.0.1:%d" % other)
        self.assertNotIn("beyond loopback", log)
        resp = wsraw.http_request(("127.0.0.1", other), "GET", "/api/status")
        self.assertEqual(resp.status, 200)


if __name__ == "__main__":
    unittest.main(verbosity=2)
