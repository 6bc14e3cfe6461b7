#!/usr/bin/python3
"""Handshake matrix and plain HTTP routes, on raw sockets."""

import base64
import json
import os
import subprocess
import sys
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import wsraw  # noqa: E402
from wsraw import ECHO, OP_TEXT  # noqa: E402

MAX_MESSAGE_SIZE = 123456


class HandshakeTest(unittest.TestCase):
    """One server for the whole matrix; every refusal is followed by a check
    that a fresh connection still echoes."""

    @classmethod
    def setUpClass(cls):
        cls.server = wsraw.start_server(cls, "--max-message-size", str(MAX_MESSAGE_SIZE))
        cls.addr = cls.server.address

    @classmethod
    def tearDownClass(cls):
        code, elapsed = cls.server.stop()
        assert code == 0, "server exit status %r; stderr:\n%s" % (code, cls.server.stderr_text()[-3000:])

    def handshake(self, **kw):
        conn, resp = wsraw.ws_handshake_raw(self.addr, path=self.server.ws_path(), **kw)
        conn.close()
        return resp

    def assertStillEchoes(self):
        wsraw.assert_echoes(self, self.server, tag=self.id())

    def assertTextBody(self, resp):
        self.assertTrue(resp.headers.get("content-type", "").startswith("text/plain"), resp)
        self.assertEqual(int(resp.headers["content-length"]), len(resp.body))

    # -- accepted --------------------------------------------------------

    def test_valid_upgrade_gives_101_with_echo_protocol(self):
        conn, resp = wsraw.ws_handshake_raw(self.addr, path=self.server.ws_path())
        try:
            self.assertEqual(resp.status, 101, resp)
            self.assertEqual(resp.headers.get("upgrade", "").lower(), "websocket")
            self.assertIn("upgrade", resp.headers.get("connection", "").lower())
            self.assertEqual(resp.headers.get("sec-websocket-accept"), wsraw.accept_for(resp.key))
            self.assertEqual(resp.headers.get("sec-websocket-protocol"), ECHO)
            self.assertNotIn("sec-websocket-extensions", resp.headers)
            ws = wsraw.RawWebSocket(conn, resp)
            self.assertEqual(ws.echo(OP_TEXT, b"first"), (OP_TEXT, b"first"))
            ws.send_close(1000)
            self.assertEqual(ws.read_until_close()[0], 1000)
        finally:
            conn.close()

    def test_first_supported_offered_protocol_wins(self):
        for offer in (["nope.v1", ECHO],
                      ["switchyard.nothing.v9", ECHO, "other.v2"],
                      [ECHO, "switchyard.sensor.v1"],
                      "%s,%s" % ("x.y", ECHO)):   # no space after the comma
            with self.subTest(offer=offer):
                resp = self.handshake(protocols=offer)
                self.assertEqual(resp.status, 101, resp)
                self.assertEqual(resp.headers.get("sec-websocket-protocol"), ECHO)

    def test_protocol_offered_in_two_header_lines(self):
        resp = self.handshake(protocols="nope.v1",
                              extra=[("Sec-WebSocket-Protocol", ECHO)])
        self.assertEqual(resp.status, 101, resp)
        self.assertEqual(resp.headers.get("sec-websocket-protocol"), ECHO)

    def test_header_case_and_token_lists_are_accepted(self):
        # Firefox sends "Connection: keep-alive, Upgrade"; header values are
        # case-insensitive tokens.
        key = wsraw.new_key()
        conn = wsraw.Conn(self.addr)
        try:
            conn.send(wsraw.build_request("GET", self.server.ws_path(), "%s:%d" % self.addr, [
                ("upgrade", "WebSocket"), ("connection", "keep-alive, Upgrade"),
                ("sec-websocket-key", key), ("sec-websocket-version", "13"),
                ("sec-websocket-protocol", ECHO)]))
            resp = wsraw.read_response(conn)
            self.assertEqual(resp.status, 101, resp)
            self.assertEqual(resp.headers.get("sec-websocket-accept"), wsraw.accept_for(key))
        finally:
            conn.close()

    def test_permessage_deflate_is_not_negotiated(self):
        resp = self.handshake(extra=[("Sec-WebSocket-Extensions",
                                      "permessage-deflate; client_max_window_bits")])
        self.assertEqual(resp.status, 101, resp)
        self.assertNotIn("sec-websocket-extensions", resp.headers)
        self.assertEqual(resp.headers.get("sec-websocket-protocol"), ECHO)

    # -- refused ---------------------------------------------------------

    def test_no_subprotocol_is_400_listing_supported(self):
        for protocols in (None, ""):
            with self.subTest(protocols=protocols):
                resp = self.handshake(protocols=protocols)
                self.assertEqual(resp.status, 400, resp)
                self.assertTextBody(resp)
                self.assertIn(ECHO, resp.text)
                self.assertNotIn("sec-websocket-accept", resp.headers)
                self.assertNotIn("sec-websocket-protocol", resp.headers)
        self.assertStillEchoes()

    def test_only_unknown_subprotocols_is_400_listing_supported(self):
        resp = self.handshake(protocols=["chat.example", "switchyard.echo.v2", "SWITCHYARD.ECHO.V1"])
        self.assertEqual(resp.status, 400, resp)
        self.assertTextBody(resp)
        self.assertIn(ECHO, resp.text)
        self.assertNotIn("sec-websocket-accept", resp.headers)
        self.assertNotIn("sec-websocket-protocol", resp.headers)
        self.assertStillEchoes()

    def test_version_8_is_426_with_version_13_header(self):
        resp = self.handshake(version="8")
        self.assertEqual(resp.status, 426, resp)
        self.assertEqual(resp.headers.get("sec-websocket-version"), "13")
        self.assertTextBody(resp)
        self.assertIn("13", resp.text)
        self.assertNotIn("sec-websocket-accept", resp.headers)
        self.assertStillEchoes()

    def test_missing_version_is_refused_with_version_13_header(self):
        resp = self.handshake(version=None)
        self.assertEqual(resp.status, 426, resp)
        self.assertEqual(resp.headers.get("sec-websocket-version"), "13")
        self.assertStillEchoes()

    def test_plain_get_is_426_with_explanation(self):
        resp = wsraw.http_request(self.addr, "GET", self.server.ws_path())
        self.assertEqual(resp.status, 426, resp)
        self.assertTextBody(resp)
        self.assertIn("websocket", resp.text.lower())
        self.assertIn(ECHO, resp.text)
        # RFC 9110 15.5.22: a 426 MUST carry an Upgrade header.
        self.assertIn("websocket", resp.headers.get("upgrade", "").lower())
        self.assertStillEchoes()

    def test_upgrade_without_connection_upgrade_is_426(self):
        key = wsraw.new_key()
        conn = wsraw.Conn(self.addr)
        try:
            conn.send(wsraw.build_request("GET", self.server.ws_path(), "%s:%d" % self.addr, [
                ("Upgrade", "websocket"), ("Sec-WebSocket-Key", key),
                ("Sec-WebSocket-Version", "13"), ("Sec-WebSocket-Protocol", ECHO),
                ("Connection", "close")]))
            resp = wsraw.read_response(conn)
        finally:
            conn.close()
        self.assertEqual(resp.status, 426, resp)
        self.assertNotIn("sec-websocket-accept", resp.headers)
        self.assertStillEchoes()

    def test_post_is_405(self):
        resp = self.handshake(method="POST")
        self.assertEqual(resp.status, 405, resp)
        self.assertIn("GET", resp.headers.get("allow", ""))
        self.assertTextBody(resp)
        self.assertNotIn("sec-websocket-accept", resp.headers)
        resp = wsraw.http_request(self.addr, "POST", self.server.ws_path(), body=b"hello")
        self.assertEqual(resp.status, 405, resp)
        self.assertIn("GET", resp.headers.get("allow", ""))
        self.assertStillEchoes()

    def test_missing_key_is_400(self):
        resp = self.handshake(key=None)
        self.assertEqual(resp.status, 400, resp)
        self.assertTextBody(resp)
        self.assertIn("key", resp.text.lower())
        self.assertNotIn("sec-websocket-accept", resp.headers)
        self.assertStillEchoes()

    def test_invalid_key_is_400(self):
        bad_keys = {
            "short": "abc",
            "15 bytes": base64.b64encode(b"x" * 15).decode(),
            "17 bytes": base64.b64encode(b"x" * 17).decode(),
            "not base64": "!!!!!!!!!!!!!!!!!!!!!!==",
            "empty": "",
        }
        for name, key in bad_keys.items():
            with self.subTest(key=name):
                resp = self.handshake(key=key)
                self.assertEqual(resp.status, 400, resp)
                self.assertTextBody(resp)
                self.assertIn("key", resp.text.lower())
                self.assertNotIn("sec-websocket-accept", resp.headers)
        self.assertStillEchoes()

    # -- plain HTTP ------------------------------------------------------

    def test_unknown_path_is_404(self):
        for path in ("/nothing-here", "/api/nothing", "/index.htm", "/page.js.map"):
            with self.subTest(path=path):
                resp = wsraw.http_request(self.addr, "GET", path)
                self.assertEqual(resp.status, 404, resp)
                self.assertTextBody(resp)
        self.assertStillEchoes()

    def test_route_lookalikes_are_404(self):
        # Routes are exact: /ws and /api/status, not every path that starts
        # with those strings. A WebSocket upgrade to a look-alike is refused too.
        for path in ("/wsx", "/ws/extra", "/api/statusx", "/api/status/extra"):
            with self.subTest(path=path, upgrade=False):
                resp = wsraw.http_request(self.addr, "GET", path)
                self.assertEqual(resp.status, 404, "GET %s -> %r" % (path, resp))
            with self.subTest(path=path, upgrade=True):
                conn, resp = wsraw.ws_handshake_raw(self.addr, path=path)
                conn.close()
                self.assertEqual(resp.status, 404, "upgrade GET %s -> %r" % (path, resp))
        self.assertStillEchoes()

    def test_dot_segments_stay_inside_the_web_root(self):
        # Dot segments are resolved as RFC 3986 says (libsoup does it before
        # any handler runs), so they can only ever name a file of the page
        # itself: never anything outside it.
        for path in ("/../../../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd",
                     "/static/../../etc/hostname", "/../meson.build"):
            with self.subTest(path=path):
                resp = wsraw.http_request(self.addr, "GET", path)
                self.assertEqual(resp.status, 404, "GET %s -> %r" % (path, resp))
        style = wsraw.http_request(self.addr, "GET", "/style.css")
        for path in ("/../style.css", "/static/../style.css", "/%2e%2e/style.css"):
            with self.subTest(path=path):
                resp = wsraw.http_request(self.addr, "GET", path)
                self.assertEqual(resp.status, 200, "GET %s -> %r" % (path, resp))
                self.assertEqual(resp.body, style.body)
        self.assertStillEchoes()

    def test_static_mime_types(self):
        expected = {"/": "text/html", "/style.css": "text/css", "/page.js": "text/javascript",
                    "/model.js": "text/javascript", "/i18n.js": "text/javascript"}
        for path, mime in expected.items():
            with self.subTest(path=path):
                resp = wsraw.http_request(self.addr, "GET", path)
                self.assertEqual(resp.status, 200, resp)
                self.assertEqual(resp.headers.get("content-type", "").split(";")[0].strip(), mime)
                self.assertGreater(len(resp.body), 0)
                self.assertEqual(int(resp.headers["content-length"]), len(resp.body))
        page = wsraw.http_request(self.addr, "GET", "/").text.lower()
        self.assertIn("<html", page)

    def test_head_root(self):
        get = wsraw.http_request(self.addr, "GET", "/")
        conn = wsraw.Conn(self.addr)
        try:
            conn.send(wsraw.build_request("HEAD", "/", "%s:%d" % self.addr, [("Connection", "close")]))
            head = wsraw.read_response(conn, head=True)
            rest = conn.recv_to_eof()
        finally:
            conn.close()
        self.assertEqual(head.status, 200, head)
        self.assertEqual(head.headers.get("content-type"), get.headers.get("content-type"))
        self.assertEqual(int(head.headers["content-length"]), len(get.body))
        self.assertEqual(rest, b"", "HEAD must not send a body")

    def test_api_status(self):
        # Connections from other tests may still be closing.
        self.assertEqual(self.server.wait_connections(0), 0)
        resp = wsraw.http_request(self.addr, "GET", "/api/status")
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(resp.headers.get("content-type", "").split(";")[0].strip(), "application/json")
        status = json.loads(resp.body)
        self.assertIs(type(status), dict)
        self.assertEqual(status["name"], "Switchyard")
        self.assertIs(type(status["version"]), str)
        self.assertRegex(status["version"], r"^\d+\.\d+(\.\d+)?")
        version = subprocess.run([wsraw.binary_path(), "--version"], capture_output=True,
                                 text=True, timeout=10).stdout.strip()
        self.assertEqual(version, "Switchyard " + status["version"])
        self.assertIn(type(status["uptime"]), (int, float))
        self.assertGreaterEqual(status["uptime"], 0)
        self.assertLess(status["uptime"], 120)
        self.assertIs(type(status["connections"]), int)
        self.assertEqual(status["connections"], 0)
        self.assertIs(type(status["max_connections"]), int)
        self.assertEqual(status["max_connections"], 1000)
        self.assertIs(type(status["max_message_size"]), int)
        self.assertEqual(status["max_message_size"], MAX_MESSAGE_SIZE)
        self.assertIs(type(status["subprotocols"]), list)
        self.assertTrue(all(type(p) is str for p in status["subprotocols"]))
        self.assertIn(ECHO, status["subprotocols"])
        # uptime moves forward
        deadline = time.monotonic() + 3
        later = status["uptime"]
        while later <= status["uptime"] and time.monotonic() < deadline:
            time.sleep(0.02)
            later = self.server.status()["uptime"]
        self.assertGreater(later, status["uptime"])

    def test_api_status_counts_open_websocket(self):
        ws = wsraw.ws_connect(self.addr, path=self.server.ws_path())
        try:
            self.assertEqual(self.server.wait_connections(1), 1)
        finally:
            ws.close()
        self.assertEqual(self.server.wait_connections(0), 0)


class ConnectionCapTest(unittest.TestCase):

    def setUp(self):
        self.server = wsraw.start_server(self, "--max-connections", "2")
        self.addr = self.server.address

    def tearDown(self):
        self.server.stop_checked(self)

    def test_third_connection_gets_503_then_slot_frees(self):
        status = self.server.status()
        self.assertEqual(status["max_connections"], 2)
        a = wsraw.ws_connect(self.addr, path=self.server.ws_path())
        self.addCleanup(a.conn.close)
        b = wsraw.ws_connect(self.addr, path=self.server.ws_path())
        self.addCleanup(b.conn.close)
        self.assertEqual(self.server.wait_connections(2), 2)

        conn, resp = wsraw.ws_handshake_raw(self.addr, path=self.server.ws_path())
        conn.close()
        self.assertEqual(resp.status, 503, resp)
        self.assertRegex(resp.headers.get("retry-after", ""), r"^[1-9][0-9]*$")
        self.assertTrue(resp.headers.get("content-type", "").startswith("text/plain"))
        self.assertIn("2", resp.text)
        self.assertNotIn("sec-websocket-accept", resp.headers)

        # The two open ones are unaffected.
        self.assertEqual(a.echo(OP_TEXT, b"a"), (OP_TEXT, b"a"))
        self.assertEqual(b.echo(OP_TEXT, b"b"), (OP_TEXT, b"b"))

        # A refused client may be refused again; still nothing leaks.
        for _ in range(5):
            conn, resp = wsraw.ws_handshake_raw(self.addr, path=self.server.ws_path())
            conn.close()
            self.assertEqual(resp.status, 503, resp)
        self.assertEqual(self.server.status()["connections"], 2)

        self.assertEqual(a.close(), (1000, ""))
        self.assertEqual(self.server.wait_connections(1), 1)
        wsraw.assert_echoes(self, self.server, tag="after-cap")
        self.assertEqual(b.echo(OP_TEXT, b"b2"), (OP_TEXT, b"b2"))
        self.assertEqual(b.close(), (1000, ""))
        self.assertEqual(self.server.wait_connections(0), 0)

    def test_aborted_connection_frees_its_slot(self):
        a = wsraw.ws_connect(self.addr, path=self.server.ws_path())
        b = wsraw.ws_connect(self.addr, path=self.server.ws_path())
        self.addCleanup(b.conn.close)
        self.assertEqual(self.server.wait_connections(2), 2)
        a.abort()
        self.assertEqual(self.server.wait_connections(1), 1)
        wsraw.assert_echoes(self, self.server, tag="after-abort")
        self.assertEqual(b.close(), (1000, ""))
        self.assertEqual(self.server.wait_connections(0), 0)


if __name__ == "__main__":
    unittest.main()
