#!/usr/bin/python3
"""The four JSON subprotocols end to end, with python3-websockets as an
independent client: hello and snapshot, sensor streaming and history, relay
commands with pending/confirmed broadcasts and acks, interlocks, notes on
every display, log level filtering, the /api/history export, and what bad
input does (and does not do)."""

import asyncio
import csv
import datetime
import io
import json
import os
import re
import sys
import time
import unittest
import urllib.parse

from websockets.exceptions import ConnectionClosed

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import wsraw  # noqa: E402
from jsonwire import (SENSOR, RELAY, DISPLAY, LOG, JSON_PROTOCOLS, SENSOR_IDS, RELAY_IDS,  # noqa: E402
                      RELAY_FIELDS, ERROR_CODES, Client, now_ms, relay_snapshot, relays_by_id,
                      run, start_bench_server)


def is_int(x):
    return isinstance(x, int) and not isinstance(x, bool)


def is_num(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool)


class Case(unittest.TestCase):

    def start(self, *args, **kw):
        return start_bench_server(self, *args, **kw)

    def assertError(self, msg, code, id_, context=""):
        """msg is {"type":"error","id":id_,"code":code,"message":non-empty}."""
        self.assertEqual(msg.get("type"), "error", "%s: expected an error, got %r" % (context, msg))
        self.assertIn(msg.get("code"), ERROR_CODES, context)
        self.assertEqual(msg.get("code"), code, "%s: %r" % (context, msg))
        self.assertIn("id", msg, "%s: the error has no id member: %r" % (context, msg))
        self.assertEqual(msg["id"], id_, "%s: id not echoed: %r" % (context, msg))
        self.assertIs(type(msg["id"]), type(id_), "%s: id type changed: %r" % (context, msg))
        self.assertIsInstance(msg.get("message"), str, context)
        self.assertTrue(msg["message"], "%s: empty message" % context)

    def assertAck(self, msg, id_, context=""):
        self.assertEqual(msg.get("type"), "ack", "%s: expected an ack, got %r" % (context, msg))
        self.assertEqual(msg.get("id"), id_, context)
        self.assertIs(type(msg["id"]), type(id_), context)


# --------------------------------------------------------------------------
# Hello and snapshots
# --------------------------------------------------------------------------

class HelloTest(Case):

    def test_every_protocol_starts_with_hello_then_snapshot(self):
        server = self.start()
        status = server.status()
        self.assertTrue(set(JSON_PROTOCOLS) <= set(status["subprotocols"]), status)

        async def go():
            clients = {}
            try:
                for p in JSON_PROTOCOLS:
                    clients[p] = await Client.connect(server, p)
                sessions = []
                for p, c in clients.items():
                    h = c.hello
                    with self.subTest(protocol=p):
                        self.assertEqual(h.get("type"), "hello", h)
                        self.assertEqual(h.get("protocol"), p)
                        self.assertEqual(h.get("server"), "Switchyard")
                        self.assertEqual(h.get("version"), status["version"])
                        self.assertEqual(h.get("role"), "control")
                        self.assertIsInstance(h.get("session"), str)
                        self.assertTrue(h["session"])
                        sessions.append(h["session"])
                self.assertEqual(len(set(sessions)), 4, "sessions must differ per connection: %r" % sessions)
                prefixes = {s.rsplit("-", 1)[0] for s in sessions}
                self.assertEqual(len(prefixes), 1, "one session prefix per server run: %r" % sessions)

                # sensor: catalogue, then a reading at once
                snap = clients[SENSOR].snapshot
                self.assertEqual(snap.get("type"), "sensors", snap)
                self.assertEqual([s["id"] for s in snap["sensors"]], SENSOR_IDS)
                ranges = {}
                for s in snap["sensors"]:
                    self.assertIsInstance(s.get("name"), str)
                    self.assertTrue(s["name"])
                    self.assertIsInstance(s.get("unit"), str)
                    self.assertTrue(is_num(s.get("min")) and is_num(s.get("max")), s)
                    self.assertLess(s["min"], s["max"])
                    ranges[s["id"]] = (s["min"], s["max"])
                self.assertEqual(snap.get("rate_hz"), 10, "default rate")
                r = clients[SENSOR].first_reading
                self.assertEqual(r.get("type"), "reading", r)
                self.assertTrue(is_int(r.get("seq")), r)
                self.assertTrue(is_int(r.get("t")), r)
                self.assertLess(abs(r["t"] - now_ms()), 5000, "reading time is epoch ms")
                self.assertEqual(set(r["values"]), set(SENSOR_IDS))
                for k, v in r["values"].items():
                    self.assertTrue(ranges[k][0] <= v <= ranges[k][1], (k, v))
                self.assertIsInstance(r.get("stale"), list)
                self.assertNotIn("skipped", r)

                # relay: the eight relays, all off on a fresh state directory
                snap = clients[RELAY].snapshot
                self.assertEqual(snap.get("type"), "relays", snap)
                self.assertEqual([x["id"] for x in snap["relays"]], RELAY_IDS)
                for x in snap["relays"]:
                    self.assertTrue(RELAY_FIELDS <= set(x), x)
                    self.assertIs(x["on"], False)
                    self.assertIs(x["pending"], False)
                    self.assertIs(x["target"], False)
                    self.assertIs(x["stuck"], False)
                    self.assertTrue(x["name"])
                    self.assertTrue(is_int(x["max_on_ms"]) and is_int(x["changed"]), x)
                by_id = relays_by_id(snap["relays"])
                self.assertEqual(by_id["heater"]["interlock"], "cooler")
                self.assertEqual(by_id["cooler"]["interlock"], "heater")
                for rid in RELAY_IDS:
                    if rid not in ("heater", "cooler"):
                        self.assertIsNone(by_id[rid]["interlock"], rid)

                # display: no notes yet
                self.assertEqual(clients[DISPLAY].snapshot, {"type": "notes", "notes": []})

                # log: recent entries, well formed
                entry = clients[LOG].snapshot
                self.assertEqual(entry.get("type"), "log", entry)
                for key in ("t", "t_us", "level", "domain", "message"):
                    self.assertIn(key, entry)
                self.assertEqual(entry["t"], entry["t_us"] // 1000)
                self.assertLess(abs(entry["t"] - now_ms()), 10000)
                await clients[LOG].recv_until(lambda m: "listening on" in m.get("message", ""),
                                              what="the 'listening on' log line")
            finally:
                for c in clients.values():
                    await c.close()

        run(go())
        server.stop_checked(self)


class RoleTest(Case):

    def test_view_role_watches_but_cannot_command(self):
        server = self.start()

        async def go():
            before = await relay_snapshot(server)
            for role in ("view", None):
                with self.subTest(token=role):
                    r = await Client.connect(server, RELAY, role=role)
                    d = await Client.connect(server, DISPLAY, role=role)
                    try:
                        self.assertEqual(r.hello["role"], "view")
                        self.assertEqual(r.snapshot["relays"], before)
                        m = await r.request({"type": "set", "id": "v1", "relay": "lamp", "on": True})
                        self.assertError(m, "forbidden", "v1")
                        m = await r.request({"type": "rename", "id": 2, "relay": "lamp", "name": "Mine"})
                        self.assertError(m, "forbidden", 2)
                        self.assertEqual(d.hello["role"], "view")
                        m = await d.request({"type": "post", "id": "p", "text": "hello"})
                        self.assertError(m, "forbidden", "p")
                    finally:
                        await r.close()
                        await d.close()
            self.assertEqual(await relay_snapshot(server), before)
            late = await Client.connect(server, DISPLAY, role="view")
            await late.close()
            self.assertEqual(late.snapshot["notes"], [])
            # The log needs control: refused at the handshake (a raw
            # handshake: the client library would wait for the server to
            # drop the kept-alive connection).
            view_query = urllib.parse.urlsplit(server.view_url).query
            for path, status in (("/ws?" + view_query, 403), ("/ws", 401)):
                conn, resp = wsraw.ws_handshake_raw(server.address, path, protocols=[LOG])
                conn.close()
                self.assertEqual(resp.status, status, (path, resp))

        run(go())
        server.stop_checked(self)


# --------------------------------------------------------------------------
# Sensors
# --------------------------------------------------------------------------

class SensorTest(Case):

    async def count_readings(self, c, seconds):
        """Readings that arrive within the next `seconds`; each checked for
        increasing seq and t."""
        readings = []
        start = time.monotonic()
        end = start + seconds
        while True:
            left = end - time.monotonic()
            if left <= 0:
                break
            try:
                m = await c.recv(left)
            except asyncio.TimeoutError:
                break
            if m.get("type") == "reading":
                readings.append(m)
            else:
                self.fail("unexpected message while streaming: %r" % m)
        for a, b in zip(readings, readings[1:]):
            self.assertGreater(b["seq"], a["seq"])
            self.assertGreaterEqual(b["t"], a["t"])
        for r in readings:
            self.assertNotIn("skipped", r, "a reader that keeps up never misses readings")
        return readings

    def test_subscribe_subset_and_rates(self):
        server = self.start()

        async def go():
            c = await Client.connect(server, SENSOR)
            tick_hz = c.snapshot.get("tick_hz", 20)
            try:
                ack = await c.request({"type": "subscribe", "id": "sub-1",
                                       "sensors": ["light", "temperature"], "rate_hz": 5})
                self.assertAck(ack, "sub-1")
                self.assertEqual(ack["sensors"], ["temperature", "light"], "catalogue order")
                self.assertEqual(ack["rate_hz"], 5)

                readings = await self.count_readings(c, 2.0)
                print("\n  5 Hz subscription: %d readings in 2 s" % len(readings), file=sys.stderr)
                self.assertTrue(7 <= len(readings) <= 13, "5 Hz for 2 s: got %d" % len(readings))
                for r in readings:
                    self.assertEqual(set(r["values"]), {"temperature", "light"}, r)
                    self.assertTrue(set(r["stale"]) <= {"temperature", "light"}, r)

                # Only the rate: the subset stays.
                ack = await c.request({"type": "subscribe", "id": 2, "rate_hz": 10})
                self.assertAck(ack, 2)
                self.assertEqual(ack["sensors"], ["temperature", "light"])
                self.assertEqual(ack["rate_hz"], 10)
                readings = await self.count_readings(c, 2.0)
                print("  10 Hz subscription: %d readings in 2 s" % len(readings), file=sys.stderr)
                self.assertTrue(15 <= len(readings) <= 24, "10 Hz for 2 s: got %d" % len(readings))
                for r in readings:
                    self.assertEqual(set(r["values"]), {"temperature", "light"}, r)
                gaps = [b - a for a, b in zip(c.arrivals[-len(readings):], c.arrivals[-len(readings) + 1:])]
                self.assertLess(abs(sum(gaps) / len(gaps) - 0.1), 0.03, "mean gap at 10 Hz: %r" % gaps)

                # Another subset, and a rate above the bench's tick: at most one per tick.
                ack = await c.request({"type": "subscribe", "id": "sub-3", "sensors": ["voltage"],
                                       "rate_hz": 100})
                self.assertAck(ack, "sub-3")
                self.assertEqual(ack["sensors"], ["voltage"])
                self.assertEqual(ack["rate_hz"], 100)
                readings = await self.count_readings(c, 1.0)
                print("  100 Hz subscription, tick %s Hz: %d readings in 1 s" % (tick_hz, len(readings)),
                      file=sys.stderr)
                self.assertTrue(0.7 * tick_hz <= len(readings) <= 1.1 * tick_hz + 1,
                                "rate above the tick: %d in 1 s" % len(readings))
                for r in readings:
                    self.assertEqual(list(r["values"]), ["voltage"])
                    self.assertTrue(10.0 <= r["values"]["voltage"] <= 14.0)
            finally:
                await c.close()

        run(go())
        server.stop_checked(self)

    def test_bad_subscriptions_are_refused_and_change_nothing(self):
        server = self.start()

        async def go():
            c = await Client.connect(server, SENSOR)
            try:
                ack = await c.request({"type": "subscribe", "id": "ok", "sensors": ["humidity"], "rate_hz": 10})
                self.assertAck(ack, "ok")
                bad = [
                    ({"type": "subscribe", "id": "b1", "rate_hz": 0.05}, "bad-request"),
                    ({"type": "subscribe", "id": "b2", "rate_hz": 1000.5}, "bad-request"),
                    ({"type": "subscribe", "id": "b3", "rate_hz": "fast"}, "bad-request"),
                    ({"type": "subscribe", "id": "b4", "sensors": ["humidity", "nope"]}, "bad-request"),
                    ({"type": "subscribe", "id": "b5", "sensors": "humidity"}, "bad-request"),
                    ({"type": "subscribe", "id": "b6", "sensors": [3]}, "bad-request"),
                    ({"type": "unsubscribe", "id": "b7"}, "unknown-type"),
                ]
                for cmd, code in bad:
                    self.assertError(await c.request(cmd), code, cmd["id"], json.dumps(cmd))
                readings = await self.count_readings(c, 1.0)
                self.assertTrue(7 <= len(readings) <= 13, "still 10 Hz: %d" % len(readings))
                for r in readings:
                    self.assertEqual(list(r["values"]), ["humidity"])
                # The bounds themselves are accepted.
                for i, rate in enumerate((0.1, 1000)):
                    ack = await c.request({"type": "subscribe", "id": i, "rate_hz": rate})
                    self.assertAck(ack, i)
                    self.assertEqual(ack["rate_hz"], rate)
            finally:
                await c.close()

        run(go())
        server.stop_checked(self)


# --------------------------------------------------------------------------
# History: the sensor command and the HTTP export
# --------------------------------------------------------------------------

ISO_UTC = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d{3})?Z$")


def parse_iso_utc(text):
    m = ISO_UTC.match(text)
    if not m:
        raise AssertionError("not an ISO 8601 UTC time: %r" % text)
    dt = datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S").replace(tzinfo=datetime.timezone.utc)
    ms = int(m.group(2)[1:]) if m.group(2) else 0
    return int(dt.timestamp()) * 1000 + ms


class HistoryTest(Case):

    @classmethod
    def setUpClass(cls):
        cls.server = start_bench_server(cls)
        # The bench records one point a second: wait (polling) for a few.
        deadline = time.monotonic() + 10
        while True:
            doc = cls.http_json("/api/history?sensor=temperature&seconds=60")
            if len(doc["t"]) >= 3:
                break
            if time.monotonic() > deadline:
                raise AssertionError("no history after 10 s: %r" % doc)
            time.sleep(0.2)

    @classmethod
    def http_json(cls, path):
        resp = wsraw.http_request(cls.server.address, "GET", path)
        if resp.status != 200:
            raise AssertionError("%s: %d %r" % (path, resp.status, resp.body))
        return json.loads(resp.body.decode("utf-8"))

    def test_history_command(self):
        async def go():
            c = await Client.connect(self.server, SENSOR)
            try:
                t_asked = now_ms()
                h = await c.request({"type": "history", "id": "h1", "sensor": "temperature", "seconds": 10})
                self.assertEqual(h.get("type"), "history", h)
                self.assertEqual(h["id"], "h1")
                self.assertEqual(h["sensor"], "temperature")
                self.assertEqual(len(h["t"]), len(h["v"]))
                self.assertGreaterEqual(len(h["t"]), 3)
                self.assertLessEqual(len(h["t"]), 11)
                for a, b in zip(h["t"], h["t"][1:]):
                    self.assertEqual(b - a, 1000, "1 Hz points: %r" % h["t"])
                for t in h["t"]:
                    self.assertTrue(is_int(t) and t % 1000 == 0, t)
                    self.assertTrue(t_asked - 11000 <= t <= t_asked + 1000, (t, t_asked))
                for v in h["v"]:
                    self.assertTrue(-10 <= v <= 50, v)

                h2 = await c.request({"type": "history", "id": 77, "sensor": "light", "seconds": 3600})
                self.assertEqual((h2["type"], h2["id"], h2["sensor"]), ("history", 77, "light"))
                self.assertEqual(len(h2["t"]), len(h2["v"]))

                bad = [
                    {"type": "history", "id": "x1", "sensor": "temperature", "seconds": 0},
                    {"type": "history", "id": "x2", "sensor": "temperature", "seconds": 3601},
                    {"type": "history", "id": "x3", "sensor": "temperature", "seconds": 1.5},
                    {"type": "history", "id": "x4", "sensor": "nope", "seconds": 10},
                    {"type": "history", "id": "x5", "seconds": 10},
                    {"type": "history", "id": "x6", "sensor": "temperature"},
                ]
                for cmd in bad:
                    self.assertError(await c.request(cmd), "bad-request", cmd["id"], json.dumps(cmd))
            finally:
                await c.close()

        run(go())

    def test_http_history_csv_and_json(self):
        addr = self.server.address
        t_asked = now_ms()
        csv_resp = wsraw.http_request(addr, "GET", "/api/history?sensor=temperature&seconds=30&format=csv")
        json_resp = wsraw.http_request(addr, "GET", "/api/history?sensor=temperature&seconds=30&format=json")
        self.assertEqual(csv_resp.status, 200, csv_resp)
        self.assertTrue(csv_resp.headers.get("content-type", "").startswith("text/csv"), csv_resp.headers)
        self.assertEqual(json_resp.status, 200, json_resp)
        self.assertTrue(json_resp.headers.get("content-type", "").startswith("application/json"))

        rows = list(csv.reader(io.StringIO(csv_resp.body.decode("utf-8"), newline="")))
        self.assertEqual(rows[0], ["time", "temperature"], "CSV header row")
        data = rows[1:]
        self.assertGreaterEqual(len(data), 3, rows)
        csv_points = []
        for row in data:
            self.assertEqual(len(row), 2, row)
            t = parse_iso_utc(row[0])
            v = float(row[1])
            self.assertTrue(t_asked - 31000 <= t <= t_asked + 1000, (row, t_asked))
            self.assertTrue(-10 <= v <= 50, row)
            csv_points.append((t, v))
        times = [t for t, _ in csv_points]
        self.assertEqual(times, sorted(set(times)), "CSV rows oldest first, no repeats")

        doc = json.loads(json_resp.body.decode("utf-8"))
        self.assertEqual(doc["sensor"], "temperature")
        self.assertEqual(doc.get("unit"), "\u00b0C")
        self.assertEqual(len(doc["t"]), len(doc["v"]))
        self.assertGreaterEqual(len(doc["t"]), 3)
        json_points = dict(zip(doc["t"], doc["v"]))
        # The two answers were made a moment apart: the points they share agree.
        common = [t for t in times if t in json_points]
        self.assertGreaterEqual(len(common), len(times) - 1, (times, doc["t"]))
        for t, v in csv_points:
            if t in json_points:
                self.assertAlmostEqual(v, json_points[t], places=4)

        # Default format is JSON; bad parameters are 400s with a reason.
        resp = wsraw.http_request(addr, "GET", "/api/history?sensor=humidity&seconds=5")
        self.assertEqual(resp.status, 200)
        self.assertEqual(json.loads(resp.body)["sensor"], "humidity")
        for query in ("sensor=nope&seconds=5", "seconds=5", "sensor=light&seconds=0",
                      "sensor=light&seconds=3601", "sensor=light&seconds=ten",
                      "sensor=light&format=xml"):
            with self.subTest(query=query):
                resp = wsraw.http_request(addr, "GET", "/api/history?" + query)
                self.assertEqual(resp.status, 400, resp)
                self.assertTrue(resp.body, "a 400 says why")


# --------------------------------------------------------------------------
# Relays
# --------------------------------------------------------------------------

def relay_msg(relay_id, **fields):
    def match(m):
        if m.get("type") != "relay" or m["relay"].get("id") != relay_id:
            return False
        return all(m["relay"].get(k) == v if k != "reason" else m.get("reason") == v
                   for k, v in fields.items())
    return match


class RelayTest(Case):

    def test_pending_then_confirmed_broadcast_and_acks(self):
        server = self.start()

        async def go():
            commander = await Client.connect(server, RELAY)
            watcher = await Client.connect(server, RELAY)
            try:
                await commander.send({"type": "set", "id": "c1", "relay": "lamp", "on": True})
                pending = await watcher.recv_until(lambda m: m.get("type") == "relay", what="pending broadcast")
                t_pending = watcher.arrivals[-1]
                self.assertEqual(pending["reason"], "command")
                self.assertTrue(RELAY_FIELDS <= set(pending["relay"]), pending)
                self.assertEqual({k: pending["relay"][k] for k in ("id", "on", "pending", "target")},
                                 {"id": "lamp", "on": False, "pending": True, "target": True}, pending)
                confirmed = await watcher.recv_until(lambda m: m.get("type") == "relay", what="confirmed broadcast")
                t_confirmed = watcher.arrivals[-1]
                self.assertEqual(confirmed["reason"], "confirmed")
                self.assertEqual({k: confirmed["relay"][k] for k in ("id", "on", "pending", "target")},
                                 {"id": "lamp", "on": True, "pending": False, "target": True}, confirmed)
                delay = t_confirmed - t_pending
                print("\n  pending -> confirmed: %.0f ms" % (delay * 1000), file=sys.stderr)
                self.assertTrue(0.04 <= delay < 1.0 * wsraw.TIME_SCALE, "actuation delay %.3f s" % delay)

                # The commander sees both broadcasts too, then the ack with the confirmed state.
                kinds = []
                while True:
                    m = await commander.recv()
                    kinds.append(m["type"] if m["type"] != "relay" else "relay:" + m["reason"])
                    if m["type"] == "ack":
                        break
                self.assertEqual(kinds, ["relay:command", "relay:confirmed", "ack"])
                self.assertAck(m, "c1")
                self.assertEqual(m["relay"], confirmed["relay"], "the ack carries the confirmed state")

                # toggle: the ack says off.
                ack = await commander.request({"type": "toggle", "id": 2, "relay": "lamp"})
                self.assertAck(ack, 2)
                self.assertEqual((ack["relay"]["on"], ack["relay"]["pending"]), (False, False))

                # pulse: confirmed on, acked on, then off by itself.
                t0 = time.monotonic()
                ack = await commander.request({"type": "pulse", "id": "p1", "relay": "valve", "ms": 300})
                self.assertAck(ack, "p1")
                self.assertEqual((ack["relay"]["id"], ack["relay"]["on"], ack["relay"]["pending"]),
                                 ("valve", True, False))
                await watcher.recv_until(relay_msg("valve", reason="pulse", pending=True), what="pulse pending")
                await watcher.recv_until(relay_msg("valve", reason="confirmed", on=True), what="pulse on")
                t_on = watcher.arrivals[-1]
                await watcher.recv_until(relay_msg("valve", reason="pulse end", on=False), timeout=5,
                                         what="pulse end")
                t_off = watcher.arrivals[-1]
                print("  pulse of 300 ms: on for %.0f ms" % ((t_off - t_on) * 1000), file=sys.stderr)
                self.assertTrue(0.25 <= t_off - t_on < 1.5, "pulse length %.3f" % (t_off - t_on))
                self.assertLess(time.monotonic() - t0, 3)

                # rename: trimmed, broadcast, acked, in the next snapshot.
                ack = await commander.request({"type": "rename", "id": "r1", "relay": "fan",
                                               "name": "  Exhaust fan \u00e9 "})
                self.assertAck(ack, "r1")
                self.assertEqual(ack["relay"]["name"], "Exhaust fan \u00e9")
                await watcher.recv_until(relay_msg("fan", reason="rename", name="Exhaust fan \u00e9"),
                                         what="rename broadcast")
                snap = relays_by_id(await relay_snapshot(server))
                self.assertEqual(snap["fan"]["name"], "Exhaust fan \u00e9")
                self.assertFalse(snap["lamp"]["on"])
                self.assertFalse(snap["valve"]["on"])
                self.assertTrue(all(not r["pending"] for r in snap.values()))
            finally:
                await commander.close()
                await watcher.close()

        run(go())
        server.stop_checked(self)

    def test_interlock_refusals_leave_state_unchanged(self):
        server = self.start()

        async def go():
            c = await Client.connect(server, RELAY)
            watcher = await Client.connect(server, RELAY)
            try:
                ack = await c.request({"type": "set", "id": "h-on", "relay": "heater", "on": True})
                self.assertAck(ack, "h-on")
                self.assertTrue(ack["relay"]["on"])
                await watcher.recv_until(relay_msg("heater", reason="confirmed", on=True))
                before = await relay_snapshot(server)

                refused = [
                    {"type": "set", "id": "i1", "relay": "cooler", "on": True},
                    {"type": "toggle", "id": "i2", "relay": "cooler"},
                    {"type": "pulse", "id": 3, "relay": "cooler", "ms": 100},
                ]
                for cmd in refused:
                    m = await c.request(cmd)
                    self.assertError(m, "interlock", cmd["id"], json.dumps(cmd))
                    self.assertIn("interlock", m["message"])
                # A marker: nothing about the cooler may come before it.
                ack = await c.request({"type": "rename", "id": "mark", "relay": "aux", "name": "Auxiliary"})
                self.assertAck(ack, "mark")
                await watcher.recv_until(relay_msg("aux", reason="rename"), what="marker")
                cooler_news = [m for m in watcher.seen if m.get("type") == "relay" and m["relay"]["id"] == "cooler"]
                self.assertEqual(cooler_news, [], "a refused command is not broadcast")
                after = await relay_snapshot(server)
                self.assertEqual(after, before, "a refused command changes nothing")
                # Switching off is never refused.
                ack = await c.request({"type": "set", "id": "c-off", "relay": "cooler", "on": False})
                self.assertAck(ack, "c-off")
                self.assertFalse(ack["relay"]["on"])

                # The interlock also holds against a partner that is only switching on.
                ack = await c.request({"type": "set", "id": "h-off", "relay": "heater", "on": False})
                self.assertAck(ack, "h-off")
                await c.send({"type": "set", "id": "c-on", "relay": "cooler", "on": True})
                await c.send({"type": "set", "id": "h-on2", "relay": "heater", "on": True})
                m = await c.answer("h-on2")
                self.assertError(m, "interlock", "h-on2")
                m = await c.answer("c-on")
                self.assertAck(m, "c-on")
                self.assertTrue(m["relay"]["on"])
                snap = relays_by_id(await relay_snapshot(server))
                self.assertTrue(snap["cooler"]["on"])
                self.assertFalse(snap["heater"]["on"])
                self.assertFalse(snap["heater"]["pending"])
            finally:
                await c.close()
                await watcher.close()

        run(go())
        server.stop_checked(self)

    def test_interlock_refusals_do_not_count_as_bad_input(self):
        # Refusals about the device are not the client's fault: 25 of them
        # (more than the bad-input budget of 20) keep the connection.
        server = self.start()

        async def go():
            c = await Client.connect(server, RELAY)
            try:
                ack = await c.request({"type": "set", "id": "on", "relay": "cooler", "on": True})
                self.assertAck(ack, "on")
                for i in range(25):
                    await c.send({"type": "set", "id": i, "relay": "heater", "on": True})
                for i in range(25):
                    self.assertError(await c.answer(i), "interlock", i)
                ack = await c.request({"type": "rename", "id": "alive", "relay": "aux", "name": "Auxiliary"})
                self.assertAck(ack, "alive")
            finally:
                await c.close()

        run(go())
        server.stop_checked(self)

    # -- bad input ---------------------------------------------------------

    FRAMING_BATTERY = [
        # (what is sent, expected code, expected id)
        ("this is not json", "bad-json", None),
        ("", "bad-json", None),
        ('{"type":"set","id":"cut","relay":"heater","on":tr', "bad-json", None),
        ("[1,2,3]", "bad-request", None),
        ('"just a string"', "bad-request", None),
        ('{"type":"set","relay":"heater","on":true}', "bad-request", None),          # no id
        ('{"type":"set","id":1.5,"relay":"heater","on":true}', "bad-request", None),  # id not str/int
        ('{"type":"set","id":{"n":1},"relay":"heater","on":true}', "bad-request", None),
        ('{"id":"no-type"}', "bad-request", "no-type"),
        ('{"type":42,"id":"num-type"}', "bad-request", "num-type"),
        (b'{"type":"toggle","id":"bin","relay":"lamp"}', "bad-request", None),     # binary frame
        ('{"type":"explode","id":9007199254740993}', "unknown-type", 9007199254740993),
    ]

    FIELD_BATTERY = [
        ({"type": "set", "id": "f1", "relay": "heater"}, "bad-request"),
        ({"type": "set", "id": "f2", "relay": "heater", "on": "yes"}, "bad-request"),
        ({"type": "set", "id": "f3", "relay": "heater", "on": 1}, "bad-request"),
        ({"type": "set", "id": "f4", "relay": ["heater"], "on": True}, "bad-request"),
        ({"type": "toggle", "id": "f5"}, "bad-request"),
        ({"type": "set", "id": -7, "relay": "toaster", "on": True}, "unknown-relay"),
        ({"type": "toggle", "id": "f7", "relay": "Heater"}, "unknown-relay"),
        ({"type": "pulse", "id": "f8", "relay": "lamp", "ms": 9}, "bad-request"),
        ({"type": "pulse", "id": "f9", "relay": "lamp", "ms": 60001}, "bad-request"),
        ({"type": "pulse", "id": "f10", "relay": "lamp", "ms": "100"}, "bad-request"),
        ({"type": "pulse", "id": "f11", "relay": "lamp", "ms": 100.5}, "bad-request"),
        ({"type": "pulse", "id": "f12", "relay": "lamp"}, "bad-request"),
        ({"type": "rename", "id": "f13", "relay": "lamp", "name": "   "}, "bad-request"),
        ({"type": "rename", "id": "f14", "relay": "lamp", "name": "x" * 65}, "bad-request"),
        ({"type": "rename", "id": "f15", "relay": "lamp", "name": "two\nlines"}, "bad-request"),
        ({"type": "rename", "id": "f16", "relay": "lamp"}, "bad-request"),
    ]

    async def run_battery(self, server, battery):
        """Sends each bad message on one connection and checks its answer;
        then the same connection still works and a fresh snapshot is
        unchanged. Returns nothing; fails on the first surprise."""
        before = await relay_snapshot(server)
        c = await Client.connect(server, RELAY)
        try:
            for sent, code, id_ in battery:
                await c.send(sent)
                m = await c.recv()
                self.assertError(m, code, id_, "sent %r" % (sent,))
            self.assertFalse(c.ws.closed, "the connection is kept after %d bad messages" % len(battery))
            ack = await c.request({"type": "rename", "id": "still-here", "relay": "aux", "name": "Auxiliary"})
            self.assertAck(ack, "still-here")
            # Nothing else was said to this client (no relay changes either).
            others = [m for m in c.seen[2:] if m.get("type") not in ("error", "ack")
                      and not (m.get("type") == "relay" and m.get("reason") == "rename")]
            self.assertEqual(others, [])
        finally:
            await c.close()
        after = await relay_snapshot(server)
        self.assertEqual(after, before, "bad input changed the relays")

    def test_bad_framing_and_envelopes(self):
        server = self.start()
        run(self.run_battery(server, self.FRAMING_BATTERY))
        self.assertEqual(server.wait_connections(0), 0)
        server.stop_checked(self)

    def test_bad_fields(self):
        server = self.start()
        battery = [(json.dumps(cmd), code, cmd["id"]) for cmd, code in self.FIELD_BATTERY]
        run(self.run_battery(server, battery))
        server.stop_checked(self)

    def test_rate_limit_flood(self):
        server = self.start()
        n = 50

        def flood():
            # All fifty frames in one write: they arrive together however
            # slow this machine is (sent one by one, a loaded machine let
            # the bucket refill and nothing was limited).
            query = urllib.parse.urlsplit(server.control_url).query
            ws = wsraw.ws_connect(server.address, "/ws?" + query, protocols=(RELAY,))
            try:
                # Switching the heater off while it is off is a real command
                # (it goes through the device) that changes nothing. Not a
                # rename: each rename saves the relays at once, and on a
                # machine busy with disk writes fifty saves took longer than
                # the bucket needs to refill.
                frames = [json.dumps({"type": "set", "id": i, "relay": "heater", "on": False})
                          for i in range(n)]
                t0 = time.monotonic()
                ws.send_raw(b"".join(wsraw.build_frame(wsraw.OP_TEXT, f.encode()) for f in frames))
                answers = {}
                while len(answers) < n:
                    _, payload = ws.recv_message(timeout=5)
                    m = json.loads(payload)
                    if m.get("type") in ("ack", "error"):
                        self.assertNotIn(m["id"], answers, "one answer per command")
                        answers[m["id"]] = m
                elapsed = time.monotonic() - t0
                self.assertEqual(set(answers), set(range(n)))
                limited = sorted(i for i, m in answers.items() if m["type"] == "error")
                acked = sorted(i for i, m in answers.items() if m["type"] == "ack")
                print("\n  flood of %d in %.0f ms: %d acked, %d rate-limited"
                      % (n, elapsed * 1000, len(acked), len(limited)), file=sys.stderr)
                for i in limited:
                    self.assertError(answers[i], "rate-limited", i)
                self.assertTrue(limited, "50 commands at once must exceed the burst of 40")
                self.assertEqual(acked[:40], list(range(40)), "the burst of 40 is honoured")
                self.assertLessEqual(len(acked), 40 + 20 * elapsed + 1, "at most 20/s past the burst")
                # The connection is kept: once a token is back, commands work again.
                deadline = time.monotonic() + 3
                k = 0
                while True:
                    k += 1
                    ws.send_text(json.dumps({"type": "set", "id": "again-%d" % k, "relay": "heater",
                                             "on": False}))
                    while True:
                        m = json.loads(ws.recv_message(timeout=5)[1])
                        if m.get("id") == "again-%d" % k:
                            break
                    if m["type"] == "ack":
                        break
                    self.assertError(m, "rate-limited", "again-%d" % k)
                    self.assertLess(time.monotonic(), deadline, "no token came back within 3 s")
                    time.sleep(0.06)  # one token per 50 ms
            finally:
                ws.conn.close()

        def unchanged(relays):
            return [{k: v for k, v in r.items() if k != "changed"} for r in relays]

        async def go():
            before = await relay_snapshot(server)
            await asyncio.to_thread(flood)
            self.assertEqual(unchanged(await relay_snapshot(server)), unchanged(before))

        run(go())
        server.stop_checked(self)

    def test_twenty_bad_messages_close_1008_bystanders_unaffected(self):
        server = self.start()

        async def go():
            bystander = await Client.connect(server, RELAY)
            reader = await Client.connect(server, SENSOR)
            abuser = await Client.connect(server, RELAY)
            try:
                self.assertEqual(server.wait_connections(3), 3)
                for i in range(19):
                    await abuser.send("garbage %d" % i)
                    self.assertError(await abuser.recv(), "bad-json", None, "bad message %d" % (i + 1))
                # 19 within the window: still served.
                ack = await abuser.request({"type": "rename", "id": "ok", "relay": "aux", "name": "Auxiliary"})
                self.assertAck(ack, "ok")
                await abuser.send({"type": "set", "id": "twentieth", "relay": "nope", "on": True})
                self.assertError(await abuser.answer("twentieth"), "unknown-relay", "twentieth")
                try:
                    extra = await abuser.recv()
                    self.fail("expected a close after 20 bad messages, got %r" % extra)
                except ConnectionClosed as e:
                    self.assertIsNotNone(e.rcvd, "the server must send a close frame")
                    self.assertEqual(e.rcvd.code, 1008, e)
                    print("\n  close after 20 bad messages: %d %r" % (e.rcvd.code, e.rcvd.reason),
                          file=sys.stderr)
                # The bystanders are unaffected.
                self.assertEqual(server.wait_connections(2), 2)
                ack = await bystander.request({"type": "toggle", "id": "b1", "relay": "lamp"})
                self.assertAck(ack, "b1")
                self.assertTrue(ack["relay"]["on"])
                n_before = len(reader.seen)
                await reader.recv_until(lambda m: m.get("type") == "reading", what="a reading after the close")
                self.assertGreater(len(reader.seen), n_before)
            finally:
                for c in (bystander, reader, abuser):
                    await c.close()

        run(go())
        server.stop_checked(self)


# --------------------------------------------------------------------------
# Displays
# --------------------------------------------------------------------------

class DisplayTest(Case):

    def test_notes_fan_out_and_late_joiner(self):
        server = self.start()

        async def go():
            displays = [await Client.connect(server, DISPLAY) for _ in range(3)]
            late = None
            try:
                poster = displays[0]
                port = poster.ws.local_address[1]
                texts = ["first note", "zweite Notiz \u00fc\u00df \u2603", "third, with \"quotes\" and \\"]
                t0 = now_ms()
                for i, text in enumerate(texts):
                    ack = await poster.request({"type": "post", "id": "n%d" % i, "text": text})
                    self.assertAck(ack, "n%d" % i)
                for d in displays:
                    def notes_so_far():
                        return [m["note"] for m in d.seen if m.get("type") == "note"]
                    while len(notes_so_far()) < len(texts):
                        await d.recv_until(lambda m: m.get("type") == "note", what="note")
                    notes = notes_so_far()
                    self.assertEqual([n["text"] for n in notes], texts)
                    for n in notes:
                        self.assertEqual(set(n), {"from", "text", "t"}, n)
                        self.assertTrue(n["from"].endswith(":%d" % port), "from names the poster: %r" % n)
                        self.assertTrue(t0 - 1000 <= n["t"] <= now_ms() + 1000, n)
                # The poster gets the ack before its own note.
                kinds = [m["type"] for m in poster.seen if m["type"] in ("ack", "note")]
                self.assertEqual(kinds, ["ack", "note"] * 3)

                late = await Client.connect(server, DISPLAY)
                self.assertEqual(late.snapshot["type"], "notes")
                self.assertEqual([n["text"] for n in late.snapshot["notes"]], texts)
                self.assertEqual(late.snapshot["notes"],
                                 [m["note"] for m in displays[1].seen if m["type"] == "note"])
            finally:
                for d in displays + ([late] if late else []):
                    await d.close()

        run(go())
        server.stop_checked(self)

    def test_note_length_and_content(self):
        server = self.start()

        async def go():
            d = await Client.connect(server, DISPLAY)
            try:
                ack = await d.request({"type": "post", "id": 1, "text": "\u00e9" * 500})  # 500 chars, 1000 bytes
                self.assertAck(ack, 1)
                m = await d.request({"type": "post", "id": 2, "text": "a" * 501})
                self.assertError(m, "too-long", 2)
                m = await d.request({"type": "post", "id": 3, "text": "\u00e9" * 501})
                self.assertError(m, "too-long", 3)
                for i, bad in enumerate([{"text": "   \n\t"}, {"text": 5}, {}]):
                    cmd = dict({"type": "post", "id": "b%d" % i}, **bad)
                    self.assertError(await d.request(cmd), "bad-request", "b%d" % i, json.dumps(cmd))
                self.assertError(await d.request({"type": "shout", "id": "u"}), "unknown-type", "u")
                late = await Client.connect(server, DISPLAY)
                await late.close()
                self.assertEqual([n["text"] for n in late.snapshot["notes"]], ["\u00e9" * 500])
            finally:
                await d.close()

        run(go())
        server.stop_checked(self)

    def test_late_joiner_gets_the_last_50(self):
        server = self.start()

        async def go():
            # Two posters, so neither goes past its burst of 40 commands.
            a = await Client.connect(server, DISPLAY)
            b = await Client.connect(server, DISPLAY)
            try:
                texts = ["note %02d" % i for i in range(56)]
                for i, text in enumerate(texts):
                    poster = a if i % 2 == 0 else b
                    ack = await poster.request({"type": "post", "id": i, "text": text})
                    self.assertAck(ack, i)
                late = await Client.connect(server, DISPLAY)
                await late.close()
                self.assertEqual([n["text"] for n in late.snapshot["notes"]], texts[-50:])
            finally:
                await a.close()
                await b.close()

        run(go())
        server.stop_checked(self)


# --------------------------------------------------------------------------
# Log
# --------------------------------------------------------------------------

SEVERITY = {"error": 0, "critical": 1, "warning": 2, "message": 3, "info": 4, "debug": 5}


class LogTest(Case):

    def test_level_filtering(self):
        # Info entries only exist when G_MESSAGES_DEBUG asks for them. Not
        # "all": see test_debug_logging_with_a_log_client_stays_responsive.
        server = self.start(env=dict(os.environ, G_MESSAGES_DEBUG="sy-protocol sy-audit"))

        async def go():
            every = await Client.connect(server, LOG)
            message = await Client.connect(server, LOG)
            warning = await Client.connect(server, LOG)
            relay = None
            try:
                ack = await message.request({"type": "level", "id": "lv", "min": "message"})
                self.assertAck(ack, "lv")
                self.assertEqual(ack.get("min"), "message")
                ack = await warning.request({"type": "level", "id": 5, "min": "warning"})
                self.assertAck(ack, 5)
                m = await warning.request({"type": "level", "id": "bad", "min": "loud"})
                self.assertError(m, "bad-request", "bad")
                m = await warning.request({"type": "level", "id": "bad2"})
                self.assertError(m, "bad-request", "bad2")
                m = await warning.request({"type": "tail", "id": "bad3"})
                self.assertError(m, "unknown-type", "bad3")
                marks = {c: len(c.seen) for c in (every, message, warning)}

                # info: an error answered to a relay client; message: its open line;
                # warning: the bench cannot save (relays.json is a directory).
                relay = await Client.connect(server, RELAY)
                await relay.send("not json")
                self.assertError(await relay.recv(), "bad-json", None)
                path = os.path.join(server.state_dir, "relays.json")
                if os.path.isfile(path):
                    os.unlink(path)
                os.mkdir(path)
                ack = await relay.request({"type": "toggle", "id": "t", "relay": "aux"})
                self.assertAck(ack, "t")

                def is_save_warning(m):
                    return m.get("type") == "log" and "Could not save" in m.get("message", "")
                for c in (every, message, warning):
                    await c.recv_until(is_save_warning, what="the save warning")

                def after(c):
                    return [m for m in c.seen[marks[c]:] if m.get("type") == "log"]
                levels = {name: sorted({m["level"] for m in after(c)}, key=SEVERITY.get)
                          for name, c in (("debug", every), ("message", message), ("warning", warning))}
                print("\n  levels seen per minimum: %r" % levels, file=sys.stderr)
                self.assertTrue(any(m["level"] == "info" and "bad-json" in m["message"] for m in after(every)),
                                "the default minimum (debug) shows info entries")
                self.assertTrue(any(m["level"] == "message" and "open" in m["message"] for m in after(every)))
                for name, c in (("message", message), ("warning", warning)):
                    for m in after(c):
                        self.assertLessEqual(SEVERITY[m["level"]], SEVERITY[name],
                                             "min %s let through %r" % (name, m))
                self.assertTrue(any(m["level"] == "message" and "open" in m["message"] for m in after(message)))
                self.assertEqual([m["level"] for m in after(warning)], ["warning"])
                w = after(warning)[0]
                self.assertEqual(w["t"], w["t_us"] // 1000)
                self.assertIsInstance(w["domain"], str)
            finally:
                for c in (every, message, warning, relay):
                    if c is not None:
                        await c.close()

        run(go())
        server.stop_checked(self)


    def test_debug_logging_with_a_log_client_stays_responsive(self):
        # With every debug domain on (G_MESSAGES_DEBUG=all), a log client at
        # the default minimum (debug) that keeps reading must not starve the
        # server: after 2 s of that, a relay command is still confirmed
        # within a second and SIGTERM still ends the server within 2 s.
        server = self.start(env=dict(os.environ, G_MESSAGES_DEBUG="all"))
        counts = []

        async def go():
            log = await Client.connect(server, LOG, close_timeout=0.5)
            relay = await Client.connect(server, RELAY, close_timeout=0.5)
            stop = asyncio.Event()

            async def drain():
                while not stop.is_set():
                    try:
                        await asyncio.wait_for(log.ws.recv(), 0.2)
                        counts.append(time.monotonic())
                    except asyncio.TimeoutError:
                        pass
                    except ConnectionClosed:
                        return
            reader = asyncio.create_task(drain())
            try:
                await asyncio.sleep(2.0)  # the scenario: 2 s of debug logging to a client
                n3 = len(counts)
                t0 = time.monotonic()
                try:
                    ack = await relay.request({"type": "toggle", "id": "t", "relay": "aux"}, timeout=5)
                except AssertionError:
                    ack = None
                elapsed = time.monotonic() - t0
                print("\n  debug log client: %d entries in the first 2 s; toggle answered after %.2f s"
                      % (n3, elapsed), file=sys.stderr)
                self.assertIsNotNone(ack, "no answer to a toggle within 5 s (%d log entries in 2 s)" % n3)
                self.assertAck(ack, "t")
                self.assertLess(elapsed, 1.0 * wsraw.TIME_SCALE, "a toggle took %.2f s with a debug log client" % elapsed)
            finally:
                t_close = time.monotonic()
                stop.set()
                await relay.close()
                await log.close()
                await reader
                print("  closing both clients took %.2f s" % (time.monotonic() - t_close), file=sys.stderr)

        try:
            run(go(), timeout=40)
        finally:
            code, elapsed = server.stop_checked(self)
            print("  SIGTERM to exit: %.2f s" % elapsed, file=sys.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
