#!/usr/bin/python3
"""Helpers for black-box tests of Switchyard's JSON subprotocols.

The client side is python3-websockets (Debian's 10.4), an implementation
independent of the server's libsoup; the server is started with wsraw.Server,
always with its own temporary --state-dir (the default one is in the user's
home and shared by everything else that runs the binary).
"""

import asyncio
import json
import shutil
import tempfile
import time
import urllib.parse

import websockets
from websockets.exceptions import ConnectionClosed

import wsraw

SENSOR = "switchyard.sensor.v1"
RELAY = "switchyard.relay.v1"
DISPLAY = "switchyard.display.v1"
LOG = "switchyard.log.v1"
JSON_PROTOCOLS = (SENSOR, RELAY, DISPLAY, LOG)

SENSOR_IDS = ["temperature", "humidity", "pressure", "light", "voltage", "current"]
RELAY_IDS = ["heater", "fan", "lamp", "pump", "cooler", "valve", "siren", "aux"]
RELAY_FIELDS = {"id", "name", "on", "pending", "target", "stuck", "max_on_ms",
                "safe_default", "changed", "interlock", "available"}
ERROR_CODES = {"bad-json", "bad-request", "unknown-type", "unknown-relay", "forbidden",
               "interlock", "rate-limited", "too-long", "timeout", "unavailable"}


def now_ms():
    return time.time() * 1000.0


def make_state_dir(testcase):
    """A fresh state directory, removed by the test's cleanups."""
    path = tempfile.mkdtemp(prefix="sy-wire-state-")
    adder = testcase.addClassCleanup if isinstance(testcase, type) else testcase.addCleanup
    adder(shutil.rmtree, path, True)
    return path


def start_bench_server(testcase, *args, state_dir=None, env=None, start_timeout=10.0):
    """Starts `switchyard --headless --port 0 --state-dir DIR ARGS`; the kill
    is registered as a cleanup before anything can fail. Returns the
    wsraw.Server with .state_dir set."""
    if state_dir is None:
        state_dir = make_state_dir(testcase)
    server = wsraw.Server("--state-dir", state_dir, *args, start_timeout=start_timeout, env=env)
    adder = testcase.addClassCleanup if isinstance(testcase, type) else testcase.addCleanup
    adder(server.kill)
    server.start()
    server.state_dir = state_dir
    return server


def ws_uri(server, role="control"):
    """The WebSocket URI with the token of the printed control-url (role
    "control"), view-url ("view"), or no token at all (None)."""
    base = "ws://%s:%d/ws" % (server.host, server.port)
    if role is None:
        return base
    url = {"control": server.control_url, "view": server.view_url}[role]
    query = urllib.parse.urlsplit(url).query
    return base + ("?" + query if query else "")


def vm_rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for pid %d" % pid)


class Client:
    """One websockets connection speaking a JSON subprotocol.

    Every text message is parsed into a dict and appended to .seen, with its
    arrival time (time.time()) in .arrivals at the same index."""

    def __init__(self, ws, protocol):
        self.ws = ws
        self.protocol = protocol
        self.seen = []
        self.arrivals = []
        self.hello = None
        self.snapshot = None

    @classmethod
    async def connect(cls, server, protocol, welcome=True, role="control", **kw):
        """Connects with the token of `role` (see ws_uri); with welcome, reads the hello and the first snapshot
        message (for the sensor protocol also the immediate reading) into
        .hello and .snapshot (and .first_reading)."""
        options = dict(subprotocols=[protocol], compression=None, ping_interval=None,
                       open_timeout=10, close_timeout=3, max_size=16 * 1024 * 1024)
        options.update(kw)
        ws = await websockets.connect(ws_uri(server, role), **options)
        self = cls(ws, protocol)
        if ws.subprotocol != protocol:
            await ws.close()
            raise AssertionError("asked for %s, the server chose %r" % (protocol, ws.subprotocol))
        if welcome:
            self.hello = await self.recv()
            self.snapshot = await self.recv()
            if protocol == SENSOR:
                self.first_reading = await self.recv()
        return self

    async def recv(self, timeout=5.0):
        """The next message as a dict. Binary frames are an assertion error."""
        msg = await asyncio.wait_for(self.ws.recv(), timeout)
        arrival = time.time()
        if not isinstance(msg, str):
            raise AssertionError("%s sent a binary frame: %r" % (self.protocol, msg[:80]))
        obj = json.loads(msg)
        if not isinstance(obj, dict):
            raise AssertionError("%s sent a non-object: %r" % (self.protocol, msg[:200]))
        self.seen.append(obj)
        self.arrivals.append(arrival)
        return obj

    async def recv_until(self, predicate, timeout=5.0, what="a matching message"):
        """Reads until predicate(msg) is true; returns that message. The
        ones skipped on the way are still in .seen."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("no %s within %.1fs on %s; last messages: %r"
                                     % (what, timeout, self.protocol, self.seen[-5:]))
            try:
                msg = await self.recv(left)
            except asyncio.TimeoutError:
                continue
            if predicate(msg):
                return msg

    async def send(self, obj):
        await self.ws.send(obj if isinstance(obj, (str, bytes)) else json.dumps(obj))

    async def answer(self, id_, timeout=5.0):
        """The answer (ack, error, or e.g. history) whose id is id_ (same
        type too: 1 is not "1")."""
        def match(m):
            return "id" in m and m["id"] == id_ and type(m["id"]) is type(id_)
        return await self.recv_until(match, timeout, "answer to id %r" % (id_,))

    async def request(self, obj, timeout=5.0):
        """Sends a command and returns its ack or error."""
        await self.send(obj)
        return await self.answer(obj["id"], timeout)

    async def close(self):
        try:
            await asyncio.wait_for(self.ws.close(), 5)
        except (asyncio.TimeoutError, ConnectionClosed, OSError):
            pass


async def relay_snapshot(server):
    """The relays as a fresh connection's snapshot shows them."""
    c = await Client.connect(server, RELAY)
    try:
        if c.snapshot.get("type") != "relays":
            raise AssertionError("relay snapshot is not 'relays': %r" % (c.snapshot,))
        return c.snapshot["relays"]
    finally:
        await c.close()


def relays_by_id(relays):
    return {r["id"]: r for r in relays}


def run(coro, timeout=60.0):
    """Runs a coroutine on a fresh event loop (not in asyncio debug mode,
    which would distort timings), with an overall deadline."""
    return asyncio.run(asyncio.wait_for(coro, timeout))
