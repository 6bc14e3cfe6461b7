#!/usr/bin/python3
"""Relay servers: `switchyard --headless --uplink URL` instances chained into
a network, as outside clients see them.

A ← B ← C: A simulates the hardware, B mirrors A, C mirrors B. Clients of
C see A's readings (A's seq, values and source time), A's relays, and
command them through B; acks and refusals come back to the client that
asked. A view-only uplink cannot command. When an upstream goes away the
relays downstream become unavailable and the sensors stale; when it comes
back everything resyncs. Loops are refused. Every instance is a real
process on loopback and every client is python3-websockets.
"""

import asyncio
import json
import os
import signal
import sys
import time
import unittest
import urllib.parse
import urllib.request

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import wsraw  # noqa: E402
from wsraw import free_port, wait_for  # noqa: E402
from jsonwire import (RELAY, RELAY_IDS, SENSOR, SENSOR_IDS, Client, make_state_dir,  # noqa: E402
                      relays_by_id, run, start_bench_server)


def api(server, path, role="control"):
    """GET an API path with the token of `role`; returns the parsed JSON."""
    url = server.control_url if role == "control" else server.view_url
    query = urllib.parse.urlsplit(url).query
    with urllib.request.urlopen("http://%s:%d%s%s%s" % (server.host, server.port, path,
                                                        "&" if "?" in path else "?", query),
                                timeout=5) as answer:
        return json.load(answer)


def uplink_state(server):
    return api(server, "/api/status").get("uplink", {}).get("state")


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100.0 * (len(values) - 1))))]


class Chain(unittest.TestCase):
    """A ← B ← C, started once for the class."""

    @classmethod
    def setUpClass(cls):
        cls.a = start_bench_server(cls, "--seed", "7")
        cls.b = start_bench_server(cls, "--uplink", cls.a.control_url)
        cls.c = start_bench_server(cls, "--uplink", cls.b.control_url)
        for server in (cls.b, cls.c):
            wait_for(lambda: uplink_state(server) == "connected", 10, "the uplink connects")

    def test_status_shows_the_chain(self):
        a, b, c = (api(s, "/api/status") for s in (self.a, self.b, self.c))
        self.assertNotIn("uplink", a)
        self.assertEqual(b["uplink"]["state"], "connected")
        self.assertEqual(b["uplink"]["chain"], [a["instance"]])
        self.assertEqual(b["uplink"]["role"], "control")
        self.assertIsNone(b["uplink"]["problem"])
        self.assertEqual(c["uplink"]["chain"], [b["instance"], a["instance"]])
        self.assertEqual(c["uplink"]["url"], "ws://127.0.0.1:%d/ws" % self.b.port)
        # The token stays a secret of the command line.
        self.assertNotIn("token", json.dumps(c["uplink"]))

    def test_snapshot_is_the_upstream_relays_with_the_chain(self):
        async def go():
            ca = await Client.connect(self.a, RELAY)
            cc = await Client.connect(self.c, RELAY)
            try:
                self.assertEqual(ca.snapshot["chain"], [])
                b_instance = api(self.b, "/api/status")["instance"]
                a_instance = api(self.a, "/api/status")["instance"]
                self.assertEqual(cc.snapshot["chain"], [b_instance, a_instance])
                mirrored = relays_by_id(cc.snapshot["relays"])
                own = relays_by_id(ca.snapshot["relays"])
                self.assertEqual(sorted(mirrored), sorted(RELAY_IDS))
                for rid in RELAY_IDS:
                    self.assertTrue(mirrored[rid]["available"], mirrored[rid])
                    self.assertTrue(own[rid]["available"], own[rid])
                    for field in ("name", "on", "max_on_ms", "interlock", "safe_default"):
                        self.assertEqual(mirrored[rid][field], own[rid][field], (rid, field))
            finally:
                await ca.close()
                await cc.close()
        run(go())

    def test_readings_flow_down_with_the_source_seq_time_and_values(self):
        async def go():
            ca = await Client.connect(self.a, SENSOR)
            cc = await Client.connect(self.c, SENSOR)
            try:
                self.assertEqual([s["id"] for s in cc.snapshot["sensors"]], SENSOR_IDS)
                for client in (ca, cc):
                    ack = await client.request({"type": "subscribe", "id": 1, "rate_hz": 20})
                    self.assertEqual(ack["type"], "ack", ack)
                seen = {"a": {}, "c": {}}

                async def collect(name, client):
                    end = time.monotonic() + 3.0
                    while time.monotonic() < end:
                        m = await client.recv(5)
                        if m["type"] == "reading":
                            seen[name][m["seq"]] = (m, client.arrivals[-1] * 1000.0)
                await asyncio.gather(collect("a", ca), collect("c", cc))
                return seen
            finally:
                await ca.close()
                await cc.close()
        seen = run(go())
        common = sorted(set(seen["a"]) & set(seen["c"]))
        self.assertGreater(len(common), 20, "readings seen at both ends: A %d, C %d, both %d"
                           % (len(seen["a"]), len(seen["c"]), len(common)))
        for seq in common:
            ma, mc = seen["a"][seq][0], seen["c"][seq][0]
            self.assertEqual(mc["t"], ma["t"], "the source time passes through")
            self.assertEqual(mc["values"], ma["values"])
            self.assertEqual(mc["stale"], [])
        hop = [seen["c"][s][1] - seen["a"][s][1] for s in common]
        total = [seen["c"][s][1] - seen["c"][s][0]["t"] for s in common]
        print("A ← B ← C, %d readings: C's arrival minus A's arrival p50 %.2f ms, p99 %.2f ms, "
              "max %.2f ms; source time to C p50 %.2f ms, p99 %.2f ms"
              % (len(common), percentile(hop, 50), percentile(hop, 99), max(hop),
                 percentile(total, 50), percentile(total, 99)), file=sys.stderr)
        # Not a speed target (bench/ has those): the readings are live.
        self.assertLess(percentile(total, 50), 1000.0)

    def test_history_comes_down_the_chain(self):
        # C records a point from the first reading of each second and puts
        # A's own in when it fetches the last seconds again (every 5 s):
        # within a refresh, A's and C's points are the same.
        def same_points():
            mirrored = api(self.c, "/api/history?sensor=temperature&seconds=30")
            mine = api(self.a, "/api/history?sensor=temperature&seconds=30")
            old = [t for t in mine["t"] if t < mine["t"][-1] - 6000] if mine["t"] else []
            if len(old) < 2:
                return None
            return all(t in mirrored["t"] and mirrored["v"][mirrored["t"].index(t)] == mine["v"][mine["t"].index(t)]
                       for t in old)
        wait_for(same_points, 20, "A's history points at C", interval=0.5)

    def test_a_command_at_c_switches_a_and_the_ack_comes_back(self):
        async def go():
            ca = await Client.connect(self.a, RELAY)
            cb = await Client.connect(self.b, RELAY)
            cc = await Client.connect(self.c, RELAY)
            try:
                target = not relays_by_id(cc.snapshot["relays"])["valve"]["on"]
                t0 = time.monotonic()
                answer = await cc.request({"type": "set", "id": "from-c", "relay": "valve", "on": target})
                elapsed = (time.monotonic() - t0) * 1000.0
                self.assertEqual(answer["type"], "ack", answer)
                self.assertEqual(answer["relay"]["on"], target)
                self.assertFalse(answer["relay"]["pending"])
                for client in (ca, cb):
                    m = await client.recv_until(lambda m: m.get("type") == "relay"
                                                and m["relay"]["id"] == "valve"
                                                and m.get("reason") == "confirmed", 5, "A's confirmation")
                    self.assertEqual(m["relay"]["on"], target)
                # C saw its own relay go pending, then confirmed, before the ack.
                reasons = [m.get("reason") for m in cc.seen
                           if m.get("type") == "relay" and m["relay"]["id"] == "valve"]
                self.assertEqual(reasons, ["command", "confirmed"], cc.seen[-6:])
                print("set through A ← B ← C: ack after %.1f ms (A's actuation delay is 80 ms)"
                      % elapsed, file=sys.stderr)
                # A's audit knows the command came through B's uplink.
                with open(os.path.join(self.a.state_dir, "audit.log")) as f:
                    entries = [json.loads(line) for line in f]
                self.assertEqual(entries[-1]["result"], "ok")
                self.assertEqual(entries[-1]["command"]["relay"], "valve")
                self.assertEqual(entries[-1]["role"], "control")
                # …and C's audit knows who asked there.
                with open(os.path.join(self.c.state_dir, "audit.log")) as f:
                    mine = [json.loads(line) for line in f]
                self.assertEqual(mine[-1]["command"]["id"], "from-c")
                self.assertEqual(mine[-1]["result"], "ok")
            finally:
                for client in (ca, cb, cc):
                    await client.close()
        run(go())

    def test_refusals_come_back_with_the_upstream_code_and_message(self):
        async def go():
            cc = await Client.connect(self.c, RELAY)
            ca = await Client.connect(self.a, RELAY)
            try:
                ok = await cc.request({"type": "set", "id": 1, "relay": "heater", "on": True})
                self.assertEqual(ok["type"], "ack", ok)
                refused = await cc.request({"type": "set", "id": 2, "relay": "cooler", "on": True})
                self.assertEqual(refused["type"], "error", refused)
                self.assertEqual(refused["code"], "interlock")
                self.assertEqual(refused["message"], "Cooler cannot be switched on while Heater is on (interlock)")
                # Bad input is refused at C, before it goes anywhere.
                bad = await cc.request({"type": "pulse", "id": 3, "relay": "siren", "ms": 5})
                self.assertEqual((bad["type"], bad["code"]), ("error", "bad-request"), bad)
                unknown = await cc.request({"type": "set", "id": 4, "relay": "nope", "on": True})
                self.assertEqual(unknown["code"], "unknown-relay", unknown)
                off = await cc.request({"type": "set", "id": 5, "relay": "heater", "on": False})
                self.assertEqual(off["type"], "ack", off)
            finally:
                await cc.close()
                await ca.close()
            relays = relays_by_id((await _snapshot(self.a))["relays"])
            self.assertFalse(relays["cooler"]["on"])
            self.assertFalse(relays["heater"]["on"])
        run(go())

    def test_rename_goes_upstream(self):
        async def go():
            cc = await Client.connect(self.c, RELAY)
            try:
                answer = await cc.request({"type": "rename", "id": "r", "relay": "aux", "name": "Kettle"})
                self.assertEqual(answer["type"], "ack", answer)
                self.assertEqual(answer["relay"]["name"], "Kettle")
            finally:
                await cc.close()
            self.assertEqual(relays_by_id((await _snapshot(self.a))["relays"])["aux"]["name"], "Kettle")
            self.assertEqual(relays_by_id((await _snapshot(self.c))["relays"])["aux"]["name"], "Kettle")
        run(go())


async def _snapshot(server, role="control"):
    c = await Client.connect(server, RELAY, role=role)
    try:
        return c.snapshot
    finally:
        await c.close()


class ViewOnlyUplink(unittest.TestCase):

    def test_a_view_uplink_watches_but_cannot_command(self):
        a = start_bench_server(self)
        d = start_bench_server(self, "--uplink", a.view_url)
        wait_for(lambda: uplink_state(d) == "connected", 10, "the view uplink connects")
        self.assertEqual(api(d, "/api/status")["uplink"]["role"], "view")

        async def go():
            cd = await Client.connect(d, RELAY)
            try:
                self.assertTrue(all(r["available"] for r in cd.snapshot["relays"]))
                answer = await cd.request({"type": "set", "id": 1, "relay": "lamp", "on": True})
                self.assertEqual(answer["type"], "error", answer)
                self.assertEqual(answer["code"], "forbidden")
                self.assertIn("view role upstream", answer["message"])
            finally:
                await cd.close()
            self.assertFalse(relays_by_id((await _snapshot(a))["relays"])["lamp"]["on"])
        run(go())

    def test_a_refused_token_is_reported(self):
        a = start_bench_server(self)
        d = start_bench_server(self, "--uplink", "ws://127.0.0.1:%d/ws" % a.port,
                               "--uplink-token", "v1.c.1.1.0000000000000000.forged")
        status = wait_for(lambda: (lambda s: s if s.get("state") == "refused" else None)(
            api(d, "/api/status")["uplink"]), 10, "the refusal")
        self.assertIn("401", status["problem"])
        self.assertIn("Uplink to ws://127.0.0.1:%d/ws" % a.port, d.stderr_text())


class Outage(unittest.TestCase):
    """The upstream goes away and comes back on the same port."""

    def test_killing_the_root_makes_b_and_c_unavailable_until_it_is_back(self):
        """A ← B ← C; A is killed (SIGKILL: no close frames) and started
        again on the same port and state; B and C keep running."""
        port = free_port()
        state_a = make_state_dir(self)
        a = start_bench_server(self, "--port", str(port), state_dir=state_a)
        b = start_bench_server(self, "--uplink", a.control_url)
        c = start_bench_server(self, "--uplink", b.control_url)
        for server in (b, c):
            wait_for(lambda: uplink_state(server) == "connected", 10, "the uplink connects")
        pids = (b.proc.pid, c.proc.pid)

        async def go():
            rb = await Client.connect(b, RELAY)
            rc = await Client.connect(c, RELAY)
            sc = await Client.connect(c, SENSOR)
            try:
                ok = await rc.request({"type": "set", "id": "on", "relay": "lamp", "on": True})
                self.assertEqual(ok["type"], "ack", ok)

                t_kill = time.monotonic()
                a.proc.kill()
                a.proc.wait(5)
                t_gone = {}
                for name, client in (("B", rb), ("C", rc)):
                    gone = set()
                    while gone != set(RELAY_IDS):
                        m = await client.recv_until(lambda m: m.get("type") == "relay"
                                                    and m["relay"]["available"] is False, 5,
                                                    "unavailable relays at " + name)
                        self.assertEqual(m["reason"], "unavailable")
                        gone.add(m["relay"]["id"])
                    t_gone[name] = time.monotonic() - t_kill
                    # The relay keeps the last state the device confirmed.
                    self.assertTrue([m for m in client.seen if m.get("type") == "relay"
                                     and m["relay"]["id"] == "lamp"][-1]["relay"]["on"])
                snap = await rb.recv_until(lambda m: m.get("type") == "relays", 5, "B's resync snapshot")
                self.assertFalse(any(r["available"] for r in snap["relays"]))
                self.assertEqual(snap["chain"], [], "B has no upstream now")
                snap = await rc.recv_until(lambda m: m.get("type") == "relays"
                                           and not any(r["available"] for r in m["relays"]),
                                           5, "C's snapshot")
                self.assertEqual(len(snap["chain"]), 1, "C is still linked to B")
                stale = await sc.recv_until(lambda m: m.get("type") == "reading"
                                            and sorted(m["stale"]) == sorted(SENSOR_IDS), 5, "stale readings at C")
                self.assertEqual(set(stale["values"]), set(SENSOR_IDS))
                refused = await rc.request({"type": "set", "id": "while-gone", "relay": "fan", "on": True})
                self.assertEqual((refused["type"], refused["code"]), ("error", "unavailable"), refused)
                self.assertIn("not connected", refused["message"])
                self.assertEqual(uplink_state(b), "connecting")
                self.assertTrue(api(b, "/api/status")["uplink"]["problem"])
                self.assertEqual(uplink_state(c), "connected")

                # Back on the same port and state: everything resyncs.
                a2 = start_bench_server(self, "--port", str(port), state_dir=state_a)
                t_back = time.monotonic()
                t_resync = {}
                for name, client in (("B", rb), ("C", rc)):
                    snap = await client.recv_until(lambda m: m.get("type") == "relays"
                                                   and all(r["available"] for r in m["relays"]),
                                                   20, "the resync at " + name)
                    t_resync[name] = time.monotonic() - t_back
                    self.assertTrue(relays_by_id(snap["relays"])["lamp"]["on"], "A kept the lamp on")
                    self.assertFalse(relays_by_id(snap["relays"])["fan"]["on"],
                                     "the refused command did nothing")
                self.assertEqual(len(snap["chain"]), 2)
                fresh = await sc.recv_until(lambda m: m.get("type") == "reading" and not m["stale"],
                                            10, "fresh readings at C")
                self.assertLess(abs(fresh["t"] - time.time() * 1000.0), 2000.0)
                again = await rc.request({"type": "set", "id": "after", "relay": "lamp", "on": False})
                self.assertEqual(again["type"], "ack", again)
                print("A killed: relays unavailable at B after %.0f ms, at C after %.0f ms; "
                      "A back: resynced at B after %.0f ms, at C after %.0f ms"
                      % (t_gone["B"] * 1000, t_gone["C"] * 1000, t_resync["B"] * 1000,
                         t_resync["C"] * 1000), file=sys.stderr)
                return a2
            finally:
                for client in (rb, rc, sc):
                    await client.close()
        a2 = run(go(), timeout=90)
        self.assertFalse(relays_by_id(run(_snapshot(a2))["relays"])["lamp"]["on"])
        # B and C were never restarted.
        self.assertEqual((b.proc.pid, c.proc.pid), pids)
        self.assertIsNone(b.proc.poll())
        self.assertIsNone(c.proc.poll())

    def test_a_frozen_upstream_is_noticed_by_the_keepalive(self):
        """SIGSTOP: the upstream's sockets stay open but nothing answers, as
        on a dead network path. The uplink's pong deadline notices."""
        a = start_bench_server(self)
        b = start_bench_server(self, "--uplink", a.control_url)
        wait_for(lambda: uplink_state(b) == "connected", 10, "the uplink connects")

        async def go():
            cr = await Client.connect(b, RELAY)
            try:
                t_freeze = time.monotonic()
                a.send_signal(signal.SIGSTOP)
                try:
                    m = await cr.recv_until(lambda m: m.get("type") == "relay"
                                            and m["relay"]["available"] is False, 10, "unavailable relays")
                    t_gone = time.monotonic()
                    self.assertEqual(m["reason"], "unavailable")
                finally:
                    a.send_signal(signal.SIGCONT)
                t_thaw = time.monotonic()
                await cr.recv_until(lambda m: m.get("type") == "relays"
                                    and all(r["available"] for r in m["relays"]), 20, "the resync")
                print("frozen upstream: relays unavailable after %.1f s (1 s pings, 2 s pong deadline); "
                      "thawed: resynced after %.1f s"
                      % (t_gone - t_freeze, time.monotonic() - t_thaw), file=sys.stderr)
            finally:
                await cr.close()
        run(go(), timeout=60)


class HostileUpstream(unittest.TestCase):
    """An upstream that speaks the subprotocols badly: the relay server
    ignores what it cannot use, keeps serving its clients and takes what is
    good."""

    def test_malformed_upstream_messages_are_ignored(self):
        import websockets
        port = free_port()
        bad_relay = ["not json", "[1, 2]", '{"no": "type"}', '{"type": 7}',
                     '{"type": "relay", "relay": "lamp"}',
                     '{"type": "relay", "relay": {"id": "nope", "on": true}}',
                     '{"type": "relay", "relay": {"id": "lamp", "on": "yes", "changed": "x"}}',
                     '{"type": "ack", "id": 999}', '{"type": "ack", "id": "x"}',
                     '{"type": "error", "id": 5, "code": "interlock"}',
                     '{"type": "relays", "relays": 3, "chain": "x"}']
        bad_sensor = ["{", '{"type": "sensors", "tick_hz": "fast"}',
                      '{"type": "reading", "values": 3}',
                      '{"type": "reading", "seq": "x", "t": "y", "values": {"temperature": "hot"}, "stale": 4}',
                      '{"type": "history", "sensor": "temperature", "t": [1, "a"], "v": [2]}',
                      '{"type": "history", "sensor": "nope", "t": [], "v": []}']
        good_relays = {"type": "relays", "chain": [], "relays": [
            {"id": rid, "name": rid.title(), "on": rid == "lamp", "pending": False, "target": rid == "lamp",
             "stuck": False, "max_on_ms": 0, "safe_default": -1, "changed": 1, "interlock": None,
             "available": True} for rid in RELAY_IDS]}

        async def serve(ws, path=None):
            protocol = ws.subprotocol
            await ws.send(json.dumps({"type": "hello", "protocol": protocol, "server": "Switchyard",
                                      "version": "0", "role": "control", "session": "0badc0de0badc0de-1"}))
            for text in (bad_relay if protocol == RELAY else bad_sensor):
                await ws.send(text)
            if protocol == RELAY:
                await ws.send(json.dumps(good_relays))
            else:
                # Good but for one value that is not a number.
                values = {s: 1.5 for s in SENSOR_IDS}
                values["temperature"] = "hot"
                await ws.send(json.dumps({"type": "reading", "seq": 9, "t": int(time.time() * 1000),
                                          "values": values, "stale": []}))
            await ws.wait_closed()

        async def go():
            async with websockets.serve(serve, "127.0.0.1", port, subprotocols=[RELAY, SENSOR]):
                b = await asyncio.to_thread(start_bench_server, self, "--uplink",
                                            "ws://127.0.0.1:%d/ws" % port)
                await asyncio.to_thread(wait_for, lambda: uplink_state(b) == "connected", 10,
                                        "the uplink takes the good snapshot")
                relays = relays_by_id((await _snapshot(b))["relays"])
                self.assertTrue(all(r["available"] for r in relays.values()))
                self.assertTrue(relays["lamp"]["on"])
                self.assertFalse(relays["fan"]["on"])
                # The sensor link comes on its own: wait until the relay
                # server has the upstream's last reading (a new client's
                # snapshot), where the value that is not a number makes its
                # sensor stale rather than 0.
                deadline = time.monotonic() + 10
                while True:
                    c = await Client.connect(b, SENSOR)
                    if c.first_reading.get("seq") == 9 or time.monotonic() > deadline:
                        break
                    await c.close()
                    await asyncio.sleep(0.1)
                try:
                    m = c.first_reading
                    self.assertEqual((m["type"], m["seq"]), ("reading", 9), m)
                    self.assertEqual(m["stale"], ["temperature"])
                    for sensor in SENSOR_IDS[1:]:
                        self.assertEqual(m["values"][sensor], 1.5)
                    self.assertNotEqual(m["values"]["temperature"], 0)
                finally:
                    await c.close()
                self.assertIn("not a JSON object with a type", b.stderr_text())
                self.assertIn("answered an error to no command", b.stderr_text())
                self.assertIsNone(b.proc.poll(), "the relay server died")
                code, _ = await asyncio.to_thread(b.stop)
                self.assertEqual(code, 0)
        run(go(), timeout=60)


class Loops(unittest.TestCase):

    def test_an_uplink_to_itself_is_refused(self):
        port = free_port()
        x = start_bench_server(self, "--port", str(port), "--uplink", "ws://127.0.0.1:%d/ws" % port)
        status = wait_for(lambda: (lambda s: s if s["state"] == "loop" else None)(
            api(x, "/api/status")["uplink"]), 10, "the loop refusal")
        self.assertIn("loop", status["problem"])
        self.assertIn("loop", x.stderr_text())
        snap = run(_snapshot(x))
        self.assertFalse(any(r["available"] for r in snap["relays"]))

    def test_two_instances_linked_to_each_other_do_not_both_mirror(self):
        px, py = free_port(), free_port()
        x = start_bench_server(self, "--port", str(px), "--uplink", "ws://127.0.0.1:%d/ws" % py)
        y = start_bench_server(self, "--port", str(py), "--uplink", "ws://127.0.0.1:%d/ws" % px)

        def settled():
            states = sorted([uplink_state(x), uplink_state(y)])
            return states if "loop" in states else None
        states = wait_for(settled, 20, "a loop refusal on one side")
        time.sleep(2.0)
        later = sorted([uplink_state(x), uplink_state(y)])
        self.assertIn("loop", later, "the loop stays refused (first %r)" % (states,))
        # Nothing real is behind a loop: no relay anywhere is available, and
        # a command is refused, not sent around in circles.
        for server in (x, y):
            snap = run(_snapshot(server))
            self.assertFalse(any(r["available"] for r in snap["relays"]), snap)

        async def command():
            c = await Client.connect(x, RELAY)
            try:
                return await c.request({"type": "set", "id": 1, "relay": "lamp", "on": True})
            finally:
                await c.close()
        answer = run(command())
        self.assertEqual((answer["type"], answer["code"]), ("error", "unavailable"), answer)


class Options(unittest.TestCase):

    def test_bad_uplink_options_exit_2(self):
        for args, words in ((["--uplink", "ftp://127.0.0.1/ws"], "scheme must be ws, wss, http or https"),
                            (["--uplink", "ws:///ws"], "no host"),
                            (["--uplink", "ws://127.0.0.1:1/ws#x"], "fragment"),
                            (["--uplink-token", "abc"], "go with --uplink")):
            done = wsraw.run_options(*args)
            self.assertEqual(done.returncode, 2, (args, done.stderr))
            self.assertIn(words, done.stderr, args)
            self.assertEqual(done.stdout, "", args)


if __name__ == "__main__":
    unittest.main(verbosity=2)
