#!/usr/bin/python3
"""Abusive and broken clients must not hurt the server or its other clients.

Every test runs against a fresh server with one long-lived, well-behaved
client connected before the abuse; afterwards /api/status must answer, its
`connections` must come back to 1 (that client) within 5 s, and that client
must still echo correctly.
"""

import os
import socket
import sys
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import wsraw  # noqa: E402
from wsraw import OP_BINARY, OP_PING, OP_TEXT  # noqa: E402


class RobustnessTest(unittest.TestCase):

    def setUp(self):
        # Bursts from one address here are about abuse of the stream, not
        # the per-address connection rate (tested in test-gate): no limit.
        self.server = wsraw.start_server(self, "--peer-rate", "0")
        self.addr = self.server.address
        self.keeper = wsraw.ws_connect(self.addr, path=self.server.ws_path())
        self.addCleanup(self.keeper.conn.close)
        self.assertEqual(self.keeper.echo(OP_TEXT, b"hello before"), (OP_TEXT, b"hello before"))
        self.assertEqual(self.server.wait_connections(1), 1)
        self.round = 0

    def tearDown(self):
        # A clean goodbye from the keeper, so that stopping is quick.
        self.assertEqual(self.keeper.close(), (1000, ""))
        self.server.stop_checked(self)

    def assertServerHealthy(self, expected_connections=1):
        """/api/status answers, the count settles, the keeper still echoes,
        and a newcomer is served."""
        self.assertEqual(self.server.wait_connections(expected_connections, timeout=5.0),
                         expected_connections,
                         "connections did not return to %d" % expected_connections)
        self.round += 1
        text = ("keeper round %d \u2713" % self.round).encode("utf-8")
        self.assertEqual(self.keeper.echo(OP_TEXT, text), (OP_TEXT, text))
        data = os.urandom(70000)
        self.assertEqual(self.keeper.echo(OP_BINARY, data), (OP_BINARY, data))
        wsraw.assert_echoes(self, self.server, tag="newcomer")
        self.assertEqual(self.server.wait_connections(expected_connections), expected_connections)

    def upgrade_request(self):
        return wsraw.build_request("GET", self.server.ws_path(), "%s:%d" % self.addr,
                                   wsraw.handshake_headers(key=wsraw.new_key()))

    # ------------------------------------------------------------------

    def test_drop_mid_handshake(self):
        request = self.upgrade_request()
        for cut in (1, len(request) // 2, len(request) - 2):
            for abort in (False, True):
                with self.subTest(cut=cut, abort=abort):
                    conn = wsraw.Conn(self.addr)
                    conn.send(request[:cut])
                    conn.abort() if abort else conn.close()
                    self.assertServerHealthy()

    def test_stall_mid_handshake_does_not_block_others(self):
        conn = wsraw.Conn(self.addr)
        self.addCleanup(conn.close)
        request = self.upgrade_request()
        conn.send(request[:len(request) // 2])
        # While that request hangs half-sent, everyone else is served.
        self.assertServerHealthy()
        conn.close()
        self.assertServerHealthy()

    def test_drop_mid_frame(self):
        for opcode, abort in ((OP_BINARY, False), (OP_TEXT, True), (OP_BINARY, True)):
            with self.subTest(opcode=opcode, abort=abort):
                ws = wsraw.ws_connect(self.addr, path=self.server.ws_path())
                self.assertEqual(self.server.wait_connections(2), 2)
                full = wsraw.build_frame(opcode, b"0123456789" * 100)   # says 1000 bytes
                header_len = 2 + 2 + 4
                ws.send_raw(full[:header_len + 10])                    # sends 10 of them
                ws.abort() if abort else ws.conn.close()
                self.assertServerHealthy()

    def test_drop_mid_header(self):
        ws = wsraw.ws_connect(self.addr, path=self.server.ws_path())
        self.assertEqual(self.server.wait_connections(2), 2)
        ws.send_raw(wsraw.frame_header(OP_BINARY, 70000, mask_key=b"abcd")[:5])
        ws.conn.close()
        self.assertServerHealthy()

    def test_frame_claiming_2_63_minus_1_bytes(self):
        for mask_key in (b"\x01\x02\x03\x04", None):
            with self.subTest(masked=mask_key is not None):
                ws = wsraw.ws_connect(self.addr, path=self.server.ws_path())
                ws.send_raw(wsraw.frame_header(OP_BINARY, 2 ** 63 - 1, mask_key=mask_key) + b"tail")
                code, reason = ws.read_until_close()
                self.assertEqual(code, 1009, reason)
                if mask_key is not None:
                    # Our close frame is lost inside the announced payload:
                    # the server must still end the stream by itself.
                    ws.send_close(1000)
                    self.assertTrue(ws.conn.wait_eof(3), "the server kept the stream open")
                ws.conn.close()
                self.assertServerHealthy()

    def test_frame_claiming_2_63_minus_1_bytes_then_vanishing(self):
        ws = wsraw.ws_connect(self.addr, path=self.server.ws_path())
        ws.send_raw(wsraw.frame_header(OP_TEXT, 2 ** 63 - 1, mask_key=b"abcd") + os.urandom(5000))
        ws.abort()
        self.assertServerHealthy()

    def test_control_frame_claiming_2_63_minus_1_bytes_is_1002(self):
        # A control frame over 125 bytes is a protocol error (RFC 6455 5.5),
        # whatever length it claims: a 126-byte ping gets 1002, so must this.
        ws = wsraw.ws_connect(self.addr, path=self.server.ws_path())
        self.addCleanup(ws.conn.close)
        ws.send_raw(wsraw.frame_header(OP_PING, 2 ** 63 - 1, mask_key=b"abcd"))
        code, reason = ws.read_until_close()
        self.assertEqual(code, 1002, reason)
        ws.conn.close()
        self.assertServerHealthy()

    def test_garbage_instead_of_http(self):
        cases = {
            "random bytes": os.urandom(300).replace(b"\r\n\r\n", b"") + b"\r\n\r\n",
            "binary zeros": b"\x00" * 64 + b"\r\n\r\n",
            "tls client hello": bytes.fromhex("16030100a5010000a10303") + os.urandom(160) + b"\r\n\r\n",
            "bad request line": b"HELLO THERE\r\n\r\n",
        }
        for name, garbage in cases.items():
            with self.subTest(case=name):
                conn = wsraw.Conn(self.addr)
                try:
                    conn.send(garbage)
                    resp = wsraw.read_response(conn)
                    self.assertEqual(resp.status, 400, resp)
                    self.assertTrue(conn.wait_eof(3), "the server kept a garbage connection open")
                finally:
                    conn.close()
                self.assertServerHealthy()

    def test_garbage_without_end_then_drop(self):
        conn = wsraw.Conn(self.addr)
        conn.send(os.urandom(2000).replace(b"\n", b"x"))
        conn.abort()
        self.assertServerHealthy()

    def test_garbage_after_handshake(self):
        ws = wsraw.ws_connect(self.addr, path=self.server.ws_path())
        self.addCleanup(ws.conn.close)
        # FIN, RSV1-3 set, reserved opcode 0xF, masked, empty; then noise
        ws.send_raw(b"\xff\x80" + os.urandom(4) + os.urandom(40))
        code, _ = ws.read_until_close()
        self.assertEqual(code, 1002)
        ws.conn.close()
        self.assertServerHealthy()

    def test_fifty_connections_dropped_abruptly(self):
        clients = []
        self.addCleanup(lambda: [c.conn.close() for c in clients])
        for i in range(50):
            clients.append(wsraw.ws_connect(self.addr, path=self.server.ws_path()))
        self.assertEqual(self.server.wait_connections(51), 51)
        # Half of them mid-message, half idle; half with FIN, half with RST.
        for i, c in enumerate(clients):
            if i % 2:
                c.send_raw(wsraw.build_frame(OP_BINARY, os.urandom(5000))[:100])
            c.abort() if i % 4 < 2 else c.conn.close()
        self.assertServerHealthy()

    def test_ten_half_handshakes_dropped(self):
        # Ten, not fifty: the listen backlog is small and a burst of bare
        # connects would only measure SYN retransmits.
        conns = []
        self.addCleanup(lambda: [c.close() for c in conns])
        request = self.upgrade_request()
        for i in range(10):
            c = wsraw.Conn(self.addr)
            c.send(request[: (i * 7) % (len(request) - 1) + 1])
            conns.append(c)
        self.assertServerHealthy()
        for i, c in enumerate(conns):
            c.abort() if i % 2 else c.close()
        self.assertServerHealthy()

    def test_slow_reader_does_not_stall_others(self):
        # A client that sends a lot and never reads its echoes.
        ws = wsraw.ws_connect(self.addr, path=self.server.ws_path())
        self.addCleanup(ws.conn.close)
        ws.conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        ws.conn.sock.settimeout(0.5)
        chunk = wsraw.build_frame(OP_BINARY, os.urandom(60000))
        sent = 0
        try:
            for _ in range(100):
                ws.conn.sock.sendall(chunk)
                sent += 1
        except (socket.timeout, OSError):
            pass
        self.assertGreater(sent, 0)
        self.assertServerHealthy(expected_connections=2)
        ws.abort()
        self.assertServerHealthy()

class NonReaderTest(unittest.TestCase):
    """A client that sends echo requests and never reads the answers may not
    make the server hold them without end: once 256 messages wait for it,
    it is closed (1008, or dropped if it does not read the close either)."""

    def rss_kb(self, pid):
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def test_echo_client_that_never_reads_is_cut_off(self):
        server = wsraw.start_server(self, "--max-message-size", "65536")
        addr = server.address
        bystander = wsraw.ws_connect(addr, path=server.ws_path())
        self.addCleanup(bystander.conn.close)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(addr)
        conn = wsraw.Conn(addr, sock=sock)
        self.addCleanup(conn.close)
        conn.send(wsraw.build_request("GET", server.ws_path(), "%s:%d" % addr,
                                      wsraw.handshake_headers(key=wsraw.new_key())))
        self.assertEqual(wsraw.read_response(conn).status, 101)
        self.assertEqual(server.wait_connections(2), 2)
        before = self.rss_kb(server.proc.pid)

        # 1,000 messages of 60 KB (60 MB) as fast as the server takes them,
        # never reading: bounded in time.
        frame = wsraw.build_frame(OP_BINARY, os.urandom(60 * 1024))
        sock.settimeout(0.5)
        deadline = time.monotonic() + 10
        sent = 0
        while sent < 1000 and time.monotonic() < deadline:
            try:
                sock.sendall(frame)
                sent += 1
            except (socket.timeout, BrokenPipeError, ConnectionResetError):
                break
        peak = self.rss_kb(server.proc.pid)

        # It is gone from the server's list; the server held far less than
        # what was sent, and still serves others.
        self.assertEqual(server.wait_connections(1, timeout=10), 1)
        if not wsraw.SANITIZED:
            self.assertLess(peak - before, 40 * 1024,
                            "RSS grew by %d kB for %d messages sent" % (peak - before, sent))
        bystander.send_text("still here")
        self.assertEqual(bystander.recv_message(), (OP_TEXT, b"still here"))
        print("\n  non-reader: sent %d x 60 KB, server RSS +%d kB, cut off" % (sent, peak - before))


if __name__ == "__main__":
    unittest.main()
