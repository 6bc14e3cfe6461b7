#!/usr/bin/python3
"""The echo subprotocol on the wire: python3-websockets clients and raw frames."""

import asyncio
import os
import random
import sys
import unittest

import websockets
from websockets.exceptions import ConnectionClosed

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import wsraw  # noqa: E402
from wsraw import ECHO, OP_BINARY, OP_CONT, OP_PING, OP_PONG, OP_TEXT  # noqa: E402

CAP = 100000
LENGTHS = [0, 1, 125, 126, 127, 65535, 65536, CAP]


def ascii_text(n, seed):
    rng = random.Random(seed)
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,;:-_{}[]\"'"
    return "".join(rng.choice(alphabet) for _ in range(n))


def minimal_form(n):
    return 7 if n < 126 else 16 if n < 65536 else 64


def start_shared_server(cls):
    cls.server = wsraw.start_server(cls, "--max-message-size", str(CAP))
    cls.addr = cls.server.address


def stop_shared_server(cls):
    code, elapsed = cls.server.stop()
    assert code == 0, "server exit status %r; stderr:\n%s" % (code, cls.server.stderr_text()[-3000:])


class EchoLibraryTest(unittest.IsolatedAsyncioTestCase):
    """Echo through python3-websockets, the way a real client talks."""

    async def asyncSetUp(self):
        # The test loop runs in debug mode; the short blocking calls to the
        # raw helpers (starting a server, polling /api/status) are expected.
        asyncio.get_running_loop().slow_callback_duration = 5.0

    @classmethod
    def setUpClass(cls):
        start_shared_server(cls)

    @classmethod
    def tearDownClass(cls):
        stop_shared_server(cls)

    def connect(self, **kw):
        opts = dict(subprotocols=[ECHO], max_size=None, compression=None,
                    ping_interval=None, open_timeout=5, close_timeout=2)
        opts.update(kw)
        return websockets.connect(self.server.ws_uri(), **opts)

    async def test_subprotocol_and_no_extension(self):
        # websockets offers permessage-deflate by default: it must be declined.
        async with self.connect(compression="deflate") as ws:
            self.assertEqual(ws.subprotocol, ECHO)
            self.assertNotIn("Sec-WebSocket-Extensions", ws.response_headers)
            self.assertEqual(ws.extensions, [])
            text = ascii_text(5000, 1)
            await ws.send(text)
            self.assertEqual(await asyncio.wait_for(ws.recv(), 5), text)

    async def test_text_lengths(self):
        async with self.connect() as ws:
            for n in LENGTHS:
                with self.subTest(length=n):
                    text = ascii_text(n, n)
                    await ws.send(text)
                    got = await asyncio.wait_for(ws.recv(), 5)
                    self.assertIsInstance(got, str)
                    self.assertEqual(len(got), n)
                    self.assertEqual(got, text)

    async def test_binary_lengths(self):
        async with self.connect() as ws:
            for n in LENGTHS:
                with self.subTest(length=n):
                    data = os.urandom(n)
                    await ws.send(data)
                    got = await asyncio.wait_for(ws.recv(), 5)
                    self.assertIsInstance(got, bytes)
                    self.assertEqual(got, data)

    async def test_multibyte_text_exactly_at_cap(self):
        text = "\u20ac" * (CAP // 3) + "a" * (CAP % 3)
        self.assertEqual(len(text.encode("utf-8")), CAP)
        async with self.connect() as ws:
            await ws.send(text)
            self.assertEqual(await asyncio.wait_for(ws.recv(), 5), text)
            mixed = "h\u00e9llo w\u00f6rld \U0001F600 \u4e2d\u6587 " * 50
            await ws.send(mixed)
            self.assertEqual(await asyncio.wait_for(ws.recv(), 5), mixed)

    async def test_type_preserved_in_a_pipelined_mix(self):
        msgs = []
        for i in range(200):
            msgs.append("t%d" % i if i % 2 == 0 else b"b%d\x00\xff" % i)
        async with self.connect() as ws:
            for m in msgs:
                await ws.send(m)
            got = [await asyncio.wait_for(ws.recv(), 5) for _ in msgs]
        self.assertEqual(got, msgs)
        self.assertEqual([type(g) for g in got], [type(m) for m in msgs])

    async def _assert_over_cap_closed(self, payload):
        async with self.connect() as bystander:
            await bystander.send("before")
            self.assertEqual(await asyncio.wait_for(bystander.recv(), 5), "before")
            ws = await self.connect()
            try:
                await ws.send(payload)
                with self.assertRaises(ConnectionClosed) as cm:
                    await asyncio.wait_for(ws.recv(), 5)
                self.assertIsNotNone(cm.exception.rcvd, "the server sent no close frame")
                self.assertEqual(cm.exception.rcvd.code, 1009)
            finally:
                await ws.close()
            # The bystander and newcomers are still served.
            await bystander.send(b"after")
            self.assertEqual(await asyncio.wait_for(bystander.recv(), 5), b"after")
        async with self.connect() as fresh:
            await fresh.send("fresh")
            self.assertEqual(await asyncio.wait_for(fresh.recv(), 5), "fresh")

    async def test_text_cap_plus_one_is_1009(self):
        await self._assert_over_cap_closed(ascii_text(CAP + 1, 7))

    async def test_binary_cap_plus_one_is_1009(self):
        await self._assert_over_cap_closed(os.urandom(CAP + 1))

    async def test_many_clients_interleaved_each_gets_only_its_own(self):
        n_clients, n_msgs = 12, 25

        async def client(i, ready, go):
            async with self.connect() as ws:
                ready.release()
                await go.wait()
                sent = []
                for j in range(n_msgs):
                    m = "client %d message %d" % (i, j) if j % 3 else b"%d:%d:" % (i, j) + os.urandom(j)
                    sent.append(m)
                    await ws.send(m)
                    if j % 5 == 4:
                        await asyncio.sleep(0)   # let the others interleave
                marker = "end of client %d" % i
                await ws.send(marker)
                got = []
                while True:
                    m = await asyncio.wait_for(ws.recv(), 5)
                    if m == marker:
                        break
                    got.append(m)
                return sent, got

        ready = asyncio.Semaphore(0)
        go = asyncio.Event()
        tasks = [asyncio.create_task(client(i, ready, go)) for i in range(n_clients)]
        for _ in range(n_clients):
            await asyncio.wait_for(ready.acquire(), 10)
        go.set()
        results = await asyncio.wait_for(asyncio.gather(*tasks), 20)
        for i, (sent, got) in enumerate(results):
            self.assertEqual(got, sent, "client %d" % i)


class EchoRawTest(unittest.TestCase):
    """Echo through hand-built frames, for what libraries will not send."""

    @classmethod
    def setUpClass(cls):
        start_shared_server(cls)

    @classmethod
    def tearDownClass(cls):
        stop_shared_server(cls)

    def open(self):
        ws = wsraw.ws_connect(self.addr, path=self.server.ws_path())
        self.addCleanup(ws.conn.close)
        return ws

    def read_server_message(self, ws):
        """Reads one message, checking every frame is unmasked and uses the
        minimal length encoding (RFC 6455 5.1, 5.2)."""
        frames = []
        while True:
            f = ws.read_frame()
            if f.opcode in (OP_PING, OP_PONG):
                continue
            self.assertFalse(f.masked, "server frames must not be masked")
            self.assertEqual(f.rsv, 0)
            self.assertEqual(f.length_form, minimal_form(len(f.payload)))
            frames.append(f)
            if f.fin:
                break
        self.assertNotEqual(frames[0].opcode, OP_CONT)
        for f in frames[1:]:
            self.assertEqual(f.opcode, OP_CONT)
        return frames[0].opcode, b"".join(f.payload for f in frames)

    def assertClosedWith(self, ws, code):
        got, reason = ws.read_until_close()
        self.assertEqual(got, code, "close reason %r" % reason)
        # Finish the closing handshake; the server then ends the TCP stream.
        try:
            ws.send_close(1000)
        except OSError:
            pass
        self.assertTrue(ws.conn.wait_eof(3), "the server kept the TCP stream open after closing")

    def test_lengths_with_all_length_encodings(self):
        ws = self.open()
        for opcode in (OP_TEXT, OP_BINARY):
            for n in LENGTHS:
                with self.subTest(opcode=opcode, length=n):
                    payload = ascii_text(n, n).encode() if opcode == OP_TEXT else os.urandom(n)
                    frame = wsraw.build_frame(opcode, payload)
                    # the client side also used the 7/16/64-bit forms
                    self.assertEqual(frame[1] & 0x7F, n if n < 126 else 126 if n < 65536 else 127)
                    ws.send_raw(frame)
                    self.assertEqual(self.read_server_message(ws), (opcode, payload))
        ws.send_close(1000)
        self.assertEqual(ws.read_until_close()[0], 1000)

    def test_single_frame_cap_plus_one_is_1009(self):
        for opcode in (OP_TEXT, OP_BINARY):
            with self.subTest(opcode=opcode):
                ws = self.open()
                ws.send_frame(opcode, b"z" * (CAP + 1))
                self.assertClosedWith(ws, 1009)
        wsraw.assert_echoes(self, self.server)

    def test_three_fragments_echo_as_one_message(self):
        ws = self.open()
        cases = [
            (OP_TEXT, [b"hello, ", b"fragmented ", b"world"]),
            (OP_BINARY, [os.urandom(10), os.urandom(0), os.urandom(70000)]),
            # a multibyte character split across fragment boundaries
            (OP_TEXT, ["a\u20ac".encode()[:2], "a\u20ac".encode()[2:] + "\U0001F600".encode()[:1],
                       "\U0001F600".encode()[1:] + b"!"]),
        ]
        for opcode, parts in cases:
            with self.subTest(opcode=opcode, sizes=[len(p) for p in parts]):
                ws.send_frame(opcode, parts[0], fin=False)
                ws.send_frame(OP_CONT, parts[1], fin=False)
                ws.send_frame(OP_CONT, parts[2], fin=True)
                self.assertEqual(self.read_server_message(ws), (opcode, b"".join(parts)))
        ws.send_close(1000)
        self.assertEqual(ws.read_until_close()[0], 1000)

    def test_ping_between_fragments(self):
        ws = self.open()
        ws.send_frame(OP_TEXT, b"one ", fin=False)
        ws.send_frame(OP_PING, b"mid")
        ws.send_frame(OP_CONT, b"two ", fin=False)
        ws.send_frame(OP_CONT, b"three", fin=True)
        f = ws.read_frame()
        self.assertEqual((f.opcode, f.payload), (OP_PONG, b"mid"))
        self.assertEqual(self.read_server_message(ws), (OP_TEXT, b"one two three"))

    def test_fragments_totalling_exactly_cap_are_echoed(self):
        ws = self.open()
        parts = [os.urandom(40000), os.urandom(40000), os.urandom(CAP - 80000)]
        ws.send_frame(OP_BINARY, parts[0], fin=False)
        ws.send_frame(OP_CONT, parts[1], fin=False)
        ws.send_frame(OP_CONT, parts[2], fin=True)
        self.assertEqual(self.read_server_message(ws), (OP_BINARY, b"".join(parts)))

    def test_fragments_over_cap_is_1009_while_others_keep_echoing(self):
        other = self.open()
        self.assertEqual(other.echo(OP_TEXT, b"before"), (OP_TEXT, b"before"))
        for opcode in (OP_BINARY, OP_TEXT):
            with self.subTest(opcode=opcode):
                big = self.open()
                big.send_frame(opcode, b"a" * 40000, fin=False)
                big.send_frame(OP_CONT, b"b" * 40000, fin=False)
                # 80000 so far, under the cap: the other client is served meanwhile
                self.assertEqual(other.echo(OP_BINARY, b"during"), (OP_BINARY, b"during"))
                big.send_frame(OP_CONT, b"c" * 40000, fin=True)   # 120000 > CAP
                self.assertClosedWith(big, 1009)
                self.assertEqual(other.echo(OP_TEXT, b"after"), (OP_TEXT, b"after"))
        # many small fragments adding up past the cap
        big = self.open()
        big.send_frame(OP_BINARY, b"x" * 1000, fin=False)
        for _ in range(99):
            big.send_frame(OP_CONT, b"x" * 1000, fin=False)    # exactly CAP so far
        big.send_frame(OP_CONT, b"x", fin=True)
        self.assertClosedWith(big, 1009)
        self.assertEqual(other.echo(OP_TEXT, b"still"), (OP_TEXT, b"still"))
        wsraw.assert_echoes(self, self.server)

    def test_ping_payload_comes_back_in_pong(self):
        ws = self.open()
        for payload in (b"", b"p", b"ping-data-\x00\xff", os.urandom(125)):
            with self.subTest(length=len(payload)):
                ws.send_frame(OP_PING, payload)
                f = ws.read_frame()
                self.assertEqual(f.opcode, OP_PONG)
                self.assertTrue(f.fin)
                self.assertFalse(f.masked)
                self.assertEqual(f.payload, payload)
        self.assertEqual(ws.echo(OP_TEXT, b"after pings"), (OP_TEXT, b"after pings"))

    def test_invalid_utf8_text_is_1007(self):
        bad = {
            "lone 0xff": b"\xff",
            "bad continuation": b"\xc3\x28",
            "overlong slash": b"\xc0\xaf",
            "surrogate": b"\xed\xa0\x80",
            "truncated at end": b"abc\xe2\x82",
            "above U+10FFFF": b"\xf4\x90\x80\x80",
        }
        for name, payload in bad.items():
            with self.subTest(case=name):
                ws = self.open()
                ws.send_frame(OP_TEXT, payload)
                self.assertClosedWith(ws, 1007)
        with self.subTest(case="invalid in the last fragment"):
            ws = self.open()
            ws.send_frame(OP_TEXT, b"fine so far", fin=False)
            ws.send_frame(OP_CONT, b"\xff\xfe", fin=True)
            self.assertClosedWith(ws, 1007)
        wsraw.assert_echoes(self, self.server)

    def test_invalid_utf8_in_binary_is_fine(self):
        ws = self.open()
        self.assertEqual(ws.echo(OP_BINARY, b"\xff\xfe\xc0\xaf"), (OP_BINARY, b"\xff\xfe\xc0\xaf"))

    def test_unmasked_client_frame_is_1002(self):
        ws = self.open()
        ws.send_frame(OP_TEXT, b"no mask", mask=False)
        self.assertClosedWith(ws, 1002)
        wsraw.assert_echoes(self, self.server)

    def test_protocol_errors_are_1002(self):
        cases = {
            "ping over 125 bytes": [wsraw.build_frame(OP_PING, b"x" * 126)],
            "fragmented ping": [wsraw.build_frame(OP_PING, b"x", fin=False)],
            "rsv1 without extension": [wsraw.build_frame(OP_TEXT, b"x", rsv=4)],
            "reserved data opcode 3": [wsraw.build_frame(3, b"x")],
            "reserved control opcode 0xB": [wsraw.build_frame(0xB, b"x")],
            "continuation first": [wsraw.build_frame(OP_CONT, b"x")],
            "new message inside a fragmented one": [wsraw.build_frame(OP_TEXT, b"x", fin=False),
                                                    wsraw.build_frame(OP_TEXT, b"y")],
            "close with 1-byte payload": [wsraw.build_frame(wsraw.OP_CLOSE, b"\x03")],
        }
        for name, frames in cases.items():
            with self.subTest(case=name):
                ws = self.open()
                for f in frames:
                    ws.send_raw(f)
                self.assertClosedWith(ws, 1002)
        wsraw.assert_echoes(self, self.server)

    def test_client_close_is_answered(self):
        ws = self.open()
        ws.send_close(1000, "bye")
        code, _ = ws.read_until_close()
        self.assertEqual(code, 1000)
        self.assertTrue(ws.conn.wait_eof(3))


if __name__ == "__main__":
    unittest.main()
