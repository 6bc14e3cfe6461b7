#!/usr/bin/python3
"""The examples in examples/ keep working: each runs here, as its comments
say to run it, against a real `switchyard --headless`."""

import asyncio
import csv
import io
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import unittest

import websockets
from websockets.exceptions import ConnectionClosed

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import wsraw  # noqa: E402
from wsraw import TIME_SCALE  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLES = os.path.normpath(os.path.join(HERE, "..", "..", "examples"))
PY = "/usr/bin/python3"
SENSOR_IDS = ["temperature", "humidity", "pressure", "light", "voltage", "current"]


def example(*parts):
    return os.path.join(EXAMPLES, *parts)


def node_with_websocket():
    node = shutil.which("node")
    if node is None:
        return None
    probe = subprocess.run([node, "--experimental-websocket", "-e",
                            "process.exit(typeof WebSocket === 'function' ? 0 : 1)"],
                           capture_output=True)
    return node if probe.returncode == 0 else None


class ExamplesTest(unittest.IsolatedAsyncioTestCase):

    @classmethod
    def setUpClass(cls):
        cls.server = wsraw.start_server(
            cls,
            "--subprotocol", "count.v1=%s %s" % (PY, shlex.quote(example("programs", "count.py"))),
            "--subprotocol", "chat.v1;shared;view=%s %s" % (PY, shlex.quote(example("programs", "chat.py"))),
            "--subprotocol", "shout.v1;view=sh %s" % shlex.quote(example("programs", "shout.sh")))
        cls.ws = "ws://%s:%d/ws" % cls.server.address
        cls.control = cls.server.control_url.split("token=", 1)[1]

    @classmethod
    def tearDownClass(cls):
        code, _ = cls.server.stop()
        assert code == 0, cls.server.stderr_text()[-3000:]

    async def asyncSetUp(self):
        asyncio.get_running_loop().slow_callback_duration = 5.0

    def connect(self, protocol, token=None):
        uri = self.ws + ("?token=" + token if token else "")
        return websockets.connect(uri, subprotocols=[protocol], compression=None,
                                  ping_interval=None, open_timeout=10, close_timeout=3)

    async def recv(self, ws):
        return await asyncio.wait_for(ws.recv(), 10 * TIME_SCALE)

    def run_example(self, *argv, env=None, timeout=60):
        return subprocess.run(list(argv), capture_output=True, text=True, env=env,
                              stdin=subprocess.DEVNULL, timeout=timeout * TIME_SCALE)

    def test_sensor_csv_logs_readings(self):
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "readings.csv")
            result = self.run_example(PY, example("sensor-csv.py"), self.server.view_url,
                                      "--readings", "5", "--rate", "20", "-o", out)
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertIn("5 readings written", result.stderr)
            with open(out, newline="") as f:
                rows = list(csv.reader(f))
        self.assertEqual(rows[0], ["time"] + SENSOR_IDS)
        self.assertEqual(len(rows), 6)
        for row in rows[1:]:
            self.assertRegex(row[0], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
            for value in row[1:]:
                float(value)

    def test_relay_switch_snippet(self):
        node = node_with_websocket()
        if node is None:
            self.skipTest("no node with a WebSocket")
        runner = os.path.join(HERE, "run_relay_switch.mjs")
        result = self.run_example(node, "--no-warnings", "--experimental-websocket", runner,
                                  self.server.control_url, "fan", "on")
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        relay = json.loads(result.stdout)
        self.assertEqual((relay["id"], relay["on"], relay["pending"]), ("fan", True, False))
        # A view link may watch but not command.
        result = self.run_example(node, "--no-warnings", "--experimental-websocket", runner,
                                  self.server.view_url, "fan", "off")
        self.assertEqual(result.returncode, 1)
        self.assertIn("refused: forbidden", result.stdout)

    def test_client_pipelines(self):
        env = dict(os.environ, SWITCHYARD_CLIENT=os.environ.get("SWITCHYARD_CLIENT_BIN", "switchyard-client"))
        result = self.run_example("sh", example("client-pipelines.sh"), self.server.control_url, env=env)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        lines = result.stdout.splitlines()
        self.assertEqual(len([l for l in lines if l.startswith("temperature ")]), 3, result.stdout)
        self.assertIn("lamp on: true", lines)
        self.assertIn("notes seen: 1", lines)
        self.assertIn("ten! bye", lines)
        self.assertEqual(lines[-1], "== done")

    async def test_count_program(self):
        async with self.connect("count.v1", self.control) as ws:
            self.assertTrue((await self.recv(ws)).startswith("hello 127.0.0.1:"))
            await ws.send("2")
            self.assertEqual(await self.recv(ws), "error: say 1, not 2")
            for n in (1, 3, 5, 7):
                await ws.send(str(n))
                self.assertEqual(await self.recv(ws), str(n + 1))
            await ws.send("9")
            self.assertEqual(await self.recv(ws), "10")
            self.assertEqual(await self.recv(ws), "ten! bye")
            with self.assertRaises(ConnectionClosed) as caught:
                await self.recv(ws)
            self.assertEqual(caught.exception.rcvd.code, 1000)

    async def test_chat_program(self):
        async with self.connect("chat.v1") as a:
            welcome_a = await self.recv(a)
            self.assertTrue(welcome_a.startswith("welcome guest-"))
            name_a = welcome_a.split()[1].rstrip(";")
            self.assertEqual(await self.recv(a), "* %s joined" % name_a)
            async with self.connect("chat.v1") as b:
                welcome_b = await self.recv(b)
                name_b = welcome_b.split()[1].rstrip(";")
                self.assertEqual(await self.recv(b), "* %s joined" % name_b)
                self.assertEqual(await self.recv(a), "* %s joined" % name_b)
                await a.send("/nick ada")
                for ws in (a, b):
                    self.assertEqual(await self.recv(ws), "* %s is now ada" % name_a)
                await a.send("hello all")
                for ws in (a, b):
                    self.assertEqual(await self.recv(ws), "<ada> hello all")
                await b.send("/quit")
                self.assertEqual(await self.recv(b), "bye")
                with self.assertRaises(ConnectionClosed) as caught:
                    await self.recv(b)
                self.assertEqual((caught.exception.rcvd.code, caught.exception.rcvd.reason),
                                 (1000, "left the chat"))
            self.assertEqual(await self.recv(a), "* %s left" % name_b)

    async def test_shout_program(self):
        async with self.connect("shout.v1") as ws:
            greeting = await self.recv(ws)
            self.assertRegex(greeting, r"^hello 127\.0\.0\.1:\d+, your role is view on shout\.v1$")
            await ws.send("quiet please \u00e9")
            self.assertEqual(await self.recv(ws), "QUIET PLEASE \u00e9")


if __name__ == "__main__":
    unittest.main(verbosity=2)
