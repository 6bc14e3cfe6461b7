#!/usr/bin/python3
"""The headless binary: URLs on stdout, clean shutdown on signals, options."""

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import unittest
import urllib.parse

import websockets
from websockets.exceptions import ConnectionClosed

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import wsraw  # noqa: E402
from wsraw import ECHO  # noqa: E402


def connect(server):
    return websockets.connect(server.ws_uri(), subprotocols=[ECHO], compression=None,
                              ping_interval=None, open_timeout=5, close_timeout=3)


class ShutdownTest(unittest.IsolatedAsyncioTestCase):

    async def asyncSetUp(self):
        # The test loop runs in debug mode; the short blocking calls to the
        # raw helpers (starting a server, polling /api/status) are expected.
        asyncio.get_running_loop().slow_callback_duration = 5.0

    def start(self, *args):
        return wsraw.start_server(self, *args)

    async def signal_and_collect(self, server, clients, signum):
        """Sends signum; returns (close codes and reasons seen by the clients,
        exit status, seconds from the signal to the exit)."""
        async def wait_close(ws):
            try:
                msg = await asyncio.wait_for(ws.recv(), 5)
                return ("message", msg)
            except ConnectionClosed as e:
                return (e.rcvd.code, e.rcvd.reason) if e.rcvd else (None, None)

        waiters = [asyncio.create_task(wait_close(ws)) for ws in clients]
        t0 = time.monotonic()
        server.send_signal(signum)
        exit_task = asyncio.create_task(asyncio.to_thread(server.proc.wait, 5))
        closes = await asyncio.gather(*waiters)
        try:
            status = await exit_task
        except subprocess.TimeoutExpired:
            status = None
        elapsed = time.monotonic() - t0
        for ws in clients:
            await ws.close()
        return closes, status, elapsed

    async def check_signal(self, signum):
        server = self.start()
        self.assertTrue(server.view_url.startswith("http://"), server.view_url)
        self.assertIsNotNone(server.control_url)
        parsed = urllib.parse.urlsplit(server.view_url)
        self.assertEqual(parsed.hostname, "127.0.0.1")
        self.assertGreater(server.port, 0)
        uri = "ws://%s:%d/ws" % (server.host, server.port) + ("?" + server.query if server.query else "")
        ws = await websockets.connect(uri, subprotocols=[ECHO], compression=None,
                                      ping_interval=None, open_timeout=5, close_timeout=3)
        self.assertEqual(ws.subprotocol, ECHO)
        await ws.send("echo once")
        self.assertEqual(await asyncio.wait_for(ws.recv(), 5), "echo once")
        closes, status, elapsed = await self.signal_and_collect(server, [ws], signum)
        self.assertEqual(closes, [(1001, "server shutting down")])
        self.assertEqual(status, 0, server.stderr_text()[-2000:])
        self.assertLess(elapsed, 2.0)

    async def test_sigterm_closes_with_1001_and_exits_0(self):
        await self.check_signal(signal.SIGTERM)

    async def test_sigint_closes_with_1001_and_exits_0(self):
        await self.check_signal(signal.SIGINT)

    async def test_twenty_clients_all_get_1001(self):
        server = self.start()
        clients = await asyncio.gather(*[connect(server) for _ in range(20)])
        for i, ws in enumerate(clients):
            await ws.send("client %d" % i)
        for i, ws in enumerate(clients):
            self.assertEqual(await asyncio.wait_for(ws.recv(), 5), "client %d" % i)
        self.assertEqual(server.wait_connections(20), 20)
        closes, status, elapsed = await self.signal_and_collect(server, clients, signal.SIGTERM)
        self.assertEqual(closes, [(1001, "server shutting down")] * 20)
        self.assertEqual(status, 0, server.stderr_text()[-2000:])
        self.assertLess(elapsed, 2.0)

    async def test_unresponsive_client_does_not_delay_exit_past_2s(self):
        # A raw client that never answers the close frame.
        server = self.start()
        raw = wsraw.ws_connect(server.address, path=server.ws_path())
        self.addCleanup(raw.conn.close)
        self.assertEqual(server.wait_connections(1), 1)
        t0 = time.monotonic()
        server.send_signal(signal.SIGTERM)
        status = await asyncio.to_thread(server.proc.wait, 5)
        elapsed = time.monotonic() - t0
        self.assertEqual(status, 0)
        self.assertLess(elapsed, 2.0)
        code, reason = raw.read_until_close()
        self.assertEqual(code, 1001)

    async def test_signal_while_idle(self):
        server = self.start()
        code, elapsed = server.stop(signal.SIGTERM)
        self.assertEqual(code, 0)
        self.assertLess(elapsed, 2.0)


class CommandLineTest(unittest.TestCase):

    def run_bin(self, *args, timeout=5):
        return subprocess.run([wsraw.binary_path()] + list(args), capture_output=True,
                              text=True, timeout=timeout, stdin=subprocess.DEVNULL)

    def test_port_zero_twice_gives_two_ports(self):
        a = wsraw.start_server(self)
        b = wsraw.start_server(self)
        self.assertNotEqual(a.port, b.port)
        for s in (a, b):
            self.assertEqual(s.status()["name"], "Switchyard")
        for s in (a, b):
            s.stop_checked(self)

    def test_explicit_port_is_used(self):
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        probe.close()
        s = wsraw.Server()
        s.args[s.args.index("--port") + 1] = str(port)
        self.addCleanup(s.kill)
        s.start()
        self.assertEqual(s.port, port)
        # The links carry role tokens; the address is exactly the one asked for.
        view = urllib.parse.urlsplit(s.view_url)
        self.assertEqual((view.scheme, view.netloc, view.path), ("http", "127.0.0.1:%d" % port, "/"))
        self.assertEqual(list(urllib.parse.parse_qs(view.query)), ["token"])
        s.stop_checked(self)

    def test_version(self):
        r = self.run_bin("--version")
        self.assertEqual(r.returncode, 0)
        self.assertRegex(r.stdout, r"^Switchyard \d+\.\d+(\.\d+)?\n$")
        s = wsraw.start_server(self)
        self.assertEqual(r.stdout.strip(), "Switchyard " + s.status()["version"])
        s.stop_checked(self)

    def test_bad_options_exit_2(self):
        cases = [
            (["--port", "70000"], "--port"),
            (["--port", "-1"], "--port"),
            (["--port", "eighty"], "port"),
            (["--bind", "nothost"], "--bind"),
            (["--bind", "localhost"], "--bind"),
            (["--max-connections", "0"], "--max-connections"),
            (["--max-message-size", "0"], "--max-message-size"),
            (["--max-message-size", str(2 ** 32)], "--max-message-size"),
            (["--ping-interval", "-1"], "--ping-interval"),
            (["--tick-hz", "0"], "--tick-hz"),
            (["--seed", "minus-one"], "--seed"),
            (["--allow-origin", "evil.example"], "--allow-origin"),
            (["--allow-origin", "ftp://panel.example"], "--allow-origin"),
            (["--tls-cert", "/nonexistent.pem"], "--tls-cert"),
            (["--peer-rate", "-5"], "--peer-rate"),
            (["--no-such-option"], "no-such-option"),
        ]
        for args, mention in cases:
            with self.subTest(args=args):
                try:
                    r = self.run_bin("--headless", *args)
                except subprocess.TimeoutExpired:
                    self.fail("switchyard %s kept running instead of refusing" % " ".join(args))
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertIn(mention, r.stderr)
                self.assertTrue(r.stderr.startswith("switchyard:"), r.stderr)
                self.assertNotIn("view-url", r.stdout)

    def test_port_in_use_fails_clearly(self):
        blocker = socket.socket()
        self.addCleanup(blocker.close)
        blocker.bind(("127.0.0.1", 0))
        blocker.listen(1)
        port = blocker.getsockname()[1]
        try:
            r = self.run_bin("--headless", "--port", str(port))
        except subprocess.TimeoutExpired:
            self.fail("switchyard kept running on a port that is in use")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("Could not listen", r.stderr)
        self.assertIn(str(port), r.stderr)
        self.assertNotIn("view-url", r.stdout)

    def test_port_in_use_by_another_switchyard(self):
        first = wsraw.start_server(self)
        try:
            r = self.run_bin("--headless", "--port", str(first.port))
        except subprocess.TimeoutExpired:
            self.fail("a second switchyard kept running on the first one's port")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("Could not listen", r.stderr)
        # the first one is unharmed
        wsraw.assert_echoes(self, first)
        first.stop_checked(self)


if __name__ == "__main__":
    unittest.main()
