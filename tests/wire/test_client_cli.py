#!/usr/bin/python3
"""switchyard-client from the shell: outputs and every exit status, against
`switchyard --headless` and against a python3-websockets server."""

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse

import websockets

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import wsraw  # noqa: E402
from wsraw import ECHO  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
CLIENT = os.environ.get("SWITCHYARD_CLIENT_BIN",
                        os.path.join(HERE, "..", "..", "build", "app", "switchyard-client"))
SANITIZED = os.environ.get("SWITCHYARD_SANITIZED") == "1"
RUN_TIMEOUT = 30 if SANITIZED else 15
RAW = "test.raw.v1"
OPENSSL = "/usr/bin/openssl"


def run_client(*args, stdin_text="", timeout=RUN_TIMEOUT, cwd=None):
    """Runs the client to its end; returns (status, stdout, stderr)."""
    # Arguments may be bytes: they reach the client as they are.
    proc = subprocess.run([CLIENT] + list(args), input=stdin_text.encode("utf-8"),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout, cwd=cwd)
    return proc.returncode, proc.stdout.decode("utf-8"), proc.stderr.decode("utf-8", "replace")


class PyServer:
    """A python3-websockets server on loopback in a thread of its own. It
    echoes, except for a few command words."""

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.server = None
        self.port = None

    async def handler(self, ws, path=None):
        try:
            async for msg in ws:
                if msg == "close-4001":
                    await ws.close(4001, "go away")
                    return
                if msg == "close-1000":
                    await ws.close(1000, "done")
                    return
                if msg == "drop":
                    ws.transport.abort()
                    return
                if msg == "bin":
                    await ws.send(bytes(range(20)))
                    continue
                if msg == "bin-short":
                    await ws.send(b"\x00\xab\xff")
                    continue
                await ws.send(msg)
        except websockets.ConnectionClosed:
            pass

    def _run(self):
        asyncio.set_event_loop(self.loop)
        self.server = self.loop.run_until_complete(
            websockets.serve(self.handler, "127.0.0.1", 0, subprotocols=[RAW],
                             compression=None, ping_interval=None))
        self.port = self.server.sockets[0].getsockname()[1]
        self.ready.set()
        self.loop.run_forever()

    def start(self):
        self.thread.start()
        self.ready.wait(5)
        return self

    def stop(self):
        async def shut():
            self.server.close()
            await self.server.wait_closed()
        asyncio.run_coroutine_threadsafe(shut(), self.loop).result(5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)

    @property
    def url(self):
        return "ws://127.0.0.1:%d/" % self.port


def switchyard_ws(url):
    """The ws:// endpoint of a printed page URL, with its query."""
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(("ws", parts.netloc, "/ws", parts.query, ""))


def token_of(url):
    return urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)["token"][0]


def make_certificate(directory, name):
    """A self-signed certificate for 127.0.0.1 (CN and SAN); returns (cert, key)."""
    cert = os.path.join(directory, name + "-cert.pem")
    key = os.path.join(directory, name + "-key.pem")
    subprocess.run([OPENSSL, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=60)
    return cert, key


class AgainstSwitchyard(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.server = wsraw.start_server(cls)
        cls.view = switchyard_ws(cls.server.view_url)
        cls.bare = "ws://%s:%d/ws" % (cls.server.host, cls.server.port)

    @classmethod
    def tearDownClass(cls):
        code, _ = cls.server.stop()
        assert code == 0, cls.server.stderr_text()[-3000:]

    def test_send_and_expect(self):
        status, out, err = run_client(self.view, "--protocol", ECHO,
                                      "--send", "first", "--send", "second", "--expect", "2")
        self.assertEqual(status, 0, err)
        self.assertEqual(out, "first\nsecond\n")
        self.assertIn("connected", err)
        self.assertIn("closed: clean", err)

    def test_json_hello_and_snapshot(self):
        status, out, err = run_client(self.view, "-p", "switchyard.relay.v1", "--json", "--expect", "2")
        self.assertEqual(status, 0, err)
        lines = [json.loads(line) for line in out.splitlines()]
        self.assertEqual(len(lines), 2)
        self.assertEqual([line["type"] for line in lines], ["text", "text"])
        hello = json.loads(lines[0]["data"])
        self.assertEqual(hello["type"], "hello")
        self.assertEqual(hello["protocol"], "switchyard.relay.v1")
        self.assertEqual(hello["role"], "view")
        self.assertEqual(json.loads(lines[1]["data"])["type"], "relays")

    def test_token_option(self):
        # The log needs the control role: the view token is refused (403,
        # with the server's reason), the control token given with --token is not.
        status, out, err = run_client(self.view, "-p", "switchyard.log.v1", "--expect", "1")
        self.assertEqual(status, 1, err)
        self.assertIn("HTTP 403", err)
        self.assertIn("control", err)
        status, out, err = run_client(self.bare, "-p", "switchyard.log.v1", "--expect", "1",
                                      "--token", token_of(self.server.control_url), "--json")
        self.assertEqual(status, 0, err)
        self.assertEqual(json.loads(json.loads(out.splitlines()[0])["data"])["type"], "hello")

    def test_refused_handshake_shows_status_and_body(self):
        status, out, err = run_client(self.view, "-p", "nope.v1", "--expect", "1")
        self.assertEqual(status, 1, err)
        self.assertEqual(out, "")
        self.assertIn("HTTP 400", err)
        self.assertIn(ECHO, err)        # the body lists the supported ones

    def test_foreign_origin(self):
        status, out, err = run_client(self.view, "-p", ECHO, "--origin", "http://evil.example",
                                      "--expect", "1")
        self.assertEqual(status, 1, err)
        self.assertIn("HTTP 403", err)

    def test_timeout(self):
        t0 = time.monotonic()
        status, out, err = run_client(self.view, "-p", ECHO, "--expect", "1", "--timeout", "0.4")
        self.assertEqual(status, 3, err)
        self.assertIn("timeout", err)
        self.assertLess(time.monotonic() - t0, 10)

    def test_stdin_lines(self):
        status, out, err = run_client(self.view, "-p", ECHO, stdin_text="one\ntwo\n")
        self.assertEqual(status, 0, err)
        self.assertEqual(out, "one\ntwo\n", err)


class ServerShutdown(unittest.TestCase):

    def test_going_away_is_an_error_code(self):
        server = wsraw.start_server(self)
        proc = subprocess.Popen([CLIENT, switchyard_ws(server.view_url), "-p", ECHO,
                                 "--json", "--send", "hi"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        self.assertEqual(proc.stdout.readline().decode(), '{"type":"text","data":"hi"}\n')
        server.stop_checked(self)
        out, err = proc.communicate(timeout=RUN_TIMEOUT)
        proc.stdin.close()
        self.assertEqual(proc.returncode, 4, err)
        self.assertEqual(json.loads(out.decode().splitlines()[-1]),
                         {"type": "close", "code": 1001, "reason": "server shutting down"})
        self.assertIn("code 1001", err.decode())


@unittest.skipUnless(os.access(OPENSSL, os.X_OK), "wss cases need %s to make a certificate" % OPENSSL)
class OverTls(unittest.TestCase):
    """wss:// to `switchyard --headless --tls-cert --tls-key` with a
    self-signed certificate: trusted only through --ca-file."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="sy-client-tls-")
        cls.addClassCleanup(shutil.rmtree, cls.dir, True)
        cls.cert, key = make_certificate(cls.dir, "server")
        cls.other_cert, _ = make_certificate(cls.dir, "other")
        cls.server = wsraw.start_server(cls, "--tls-cert", cls.cert, "--tls-key", key)
        parts = urllib.parse.urlsplit(cls.server.view_url)
        assert parts.scheme == "https", cls.server.view_url
        cls.wss = urllib.parse.urlunsplit(("wss", parts.netloc, "/ws", parts.query, ""))

    @classmethod
    def tearDownClass(cls):
        code, _ = cls.server.stop()
        assert code == 0, cls.server.stderr_text()[-3000:]

    def test_ca_file_trusts_the_server(self):
        # A relative path, as typed at a shell: GTlsFileDatabase itself takes
        # absolute paths only.
        status, out, err = run_client(self.wss, "-p", ECHO, "--ca-file", os.path.basename(self.cert),
                                      "--send", "over tls \u2713", "--expect", "1", cwd=self.dir)
        self.assertEqual(status, 0, err)
        self.assertEqual(out, "over tls \u2713\n")
        self.assertIn("connected: wss://127.0.0.1:%d/ws" % self.server.port, err)
        self.assertIn("closed: clean", err)

    def test_untrusted_without_ca_file(self):
        status, out, err = run_client(self.wss, "-p", ECHO, "--send", "x", "--expect", "1")
        self.assertEqual(status, 1, err)
        self.assertEqual(out, "")
        self.assertIn("127.0.0.1:%d" % self.server.port, err)
        self.assertIn("certificate", err)

    def test_ca_file_replaces_the_system_store(self):
        # Another self-signed certificate is no reason to trust this server.
        status, out, err = run_client(self.wss, "-p", ECHO, "--ca-file", self.other_cert,
                                      "--send", "x", "--expect", "1")
        self.assertEqual(status, 1, err)
        self.assertEqual(out, "")
        self.assertIn("127.0.0.1:%d" % self.server.port, err)
        self.assertIn("certificate", err)

    def test_untrusted_message_says_why(self):
        status, out, err = run_client(self.wss, "-p", ECHO, "--send", "x", "--expect", "1")
        self.assertEqual(status, 1, err)
        self.assertIn("the server's certificate is not trusted "
                      "(issued by an authority that is not trusted)", err)


class AgainstPythonWebsockets(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.server = PyServer().start()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def test_echo(self):
        status, out, err = run_client(self.server.url, "-p", RAW, "--send", "héllo wörld", "--expect", "1")
        self.assertEqual(status, 0, err)
        self.assertEqual(out, "héllo wörld\n")

    def test_binary_summary(self):
        status, out, err = run_client(self.server.url, "-p", RAW, "--send", "bin",
                                      "--send", "bin-short", "--expect", "2")
        self.assertEqual(status, 0, err)
        self.assertEqual(out, "<binary 20 bytes: 000102030405060708090a0b0c0d0e0f…>\n"
                              "<binary 3 bytes: 00abff>\n")

    def test_binary_json(self):
        status, out, err = run_client(self.server.url, "-p", RAW, "--send", "bin", "--json", "--expect", "1")
        self.assertEqual(status, 0, err)
        self.assertEqual(json.loads(out), {"type": "binary", "length": 20, "hex": bytes(range(20)).hex()})

    def test_json_text_escaping(self):
        text = 'quote " backslash \\ tab \t é'
        status, out, err = run_client(self.server.url, "-p", RAW, "--send", text, "--json", "--expect", "1")
        self.assertEqual(status, 0, err)
        self.assertEqual(json.loads(out), {"type": "text", "data": text})

    def test_peer_close_with_error_code(self):
        # --expect keeps the end of stdin from closing first.
        status, out, err = run_client(self.server.url, "-p", RAW, "--send", "close-4001", "--json",
                                      "--expect", "5")
        self.assertEqual(status, 4, err)
        self.assertEqual(json.loads(out.splitlines()[-1]), {"type": "close", "code": 4001, "reason": "go away"})
        self.assertIn("code 4001", err)
        self.assertIn("go away", err)

    def test_peer_close_normal(self):
        status, out, err = run_client(self.server.url, "-p", RAW, "--send", "x", "--send", "close-1000",
                                      "--expect", "5")
        self.assertEqual(status, 0, err)
        self.assertEqual(out, "x\n")
        self.assertIn("code 1000", err)

    def test_connection_lost(self):
        status, out, err = run_client(self.server.url, "-p", RAW, "--send", "drop", "--expect", "1")
        self.assertEqual(status, 1, err)
        self.assertEqual(out, "")

    def test_timeout(self):
        status, out, err = run_client(self.server.url, "-p", RAW, "--timeout", "0.3", "--expect", "1")
        self.assertEqual(status, 3, err)


class Usage(unittest.TestCase):

    def test_help_documents_exit_statuses(self):
        status, out, err = run_client("--help")
        self.assertEqual(status, 0)
        for line in ("0  ", "1  ", "2  ", "3  ", "4  ", "--protocol", "--send", "--expect",
                     "--timeout", "--json", "--token", "--origin", "--ca-file"):
            self.assertIn(line, out)

    def test_bad_usage(self):
        cases = [
            (["ws://127.0.0.1:1/ws"], "--protocol"),
            (["-p", ECHO], "URL"),
            (["ws://127.0.0.1:1/ws", "ws://127.0.0.1:2/ws", "-p", ECHO], "URL"),
            (["ws://127.0.0.1:1/ws", "-p", ECHO, "--bogus"], "bogus"),
            (["http://127.0.0.1:1/ws", "-p", ECHO], "scheme"),
            (["ws://127.0.0.1:1/ws#frag", "-p", ECHO], "fragment"),
            (["ws:///ws", "-p", ECHO], "no host"),
            (["ws://127.0.0.1:1/ws", "-p", ECHO, "--expect", "-1"], "negative"),
            (["ws://127.0.0.1:1/ws", "-p", ECHO, "--send", b"\xff\xfe"], "UTF-8"),
        ]
        for args, says in cases:
            with self.subTest(args=args):
                status, out, err = run_client(*args)
                self.assertEqual(status, 2, err)
                self.assertIn(says, err)
                self.assertEqual(out, "")

    def test_unusable_ca_file(self):
        with tempfile.TemporaryDirectory(prefix="sy-client-ca-") as directory:
            missing = os.path.join(directory, "missing.pem")
            no_certificate = os.path.join(directory, "notes.pem")
            with open(no_certificate, "w") as f:
                f.write("not a certificate\n")
            cases = [
                (missing, "cannot read certificates from"),
                (no_certificate, "holds no certificate"),
            ]
            for path, says in cases:
                with self.subTest(path=path):
                    status, out, err = run_client("wss://127.0.0.1:1/ws", "-p", ECHO, "--ca-file", path)
                    self.assertEqual(status, 2, err)
                    self.assertIn("--ca-file", err)
                    self.assertIn(path, err)
                    self.assertIn(says, err)
                    self.assertEqual(out, "")

    def test_connection_refused(self):
        port = wsraw.free_port() if hasattr(wsraw, "free_port") else None
        if port is None:
            import socket
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
        status, out, err = run_client("ws://127.0.0.1:%d/ws" % port, "-p", ECHO)
        self.assertEqual(status, 1, err)
        self.assertIn("Could not connect", err)


if __name__ == "__main__":
    unittest.main(verbosity=2)
