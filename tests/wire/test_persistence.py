#!/usr/bin/python3
"""Relay states, names and sensor history survive a restart; the audit log
records every control action; SIGKILL at any moment leaves complete state
files and a server that comes back consistent; corrupt state files are
reported and ignored."""

import asyncio
import datetime
import glob
import json
import os
import random
import re
import signal
import sys
import time
import unittest

from websockets.exceptions import ConnectionClosed

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from jsonwire import (RELAY, SENSOR, RELAY_IDS, Client, make_state_dir, relay_snapshot,  # noqa: E402
                      relays_by_id, run, start_bench_server)

DEFAULT_NAMES = {"heater": "Heater", "fan": "Circulation fan", "lamp": "Lamp", "pump": "Water pump",
                 "cooler": "Cooler", "valve": "Valve", "siren": "Siren", "aux": "Auxiliary"}
AUDIT_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


def read_json(path):
    with open(path, "rb") as f:
        data = f.read()
    return json.loads(data.decode("utf-8"))


class Base(unittest.TestCase):

    def start(self, state_dir, *args):
        return start_bench_server(self, *args, state_dir=state_dir)

    def check_relays_file(self, doc):
        """relays.json as the server writes it; returns {id: entry}."""
        self.assertEqual(doc.get("version"), 1, doc)
        self.assertEqual([r["id"] for r in doc["relays"]], RELAY_IDS)
        for r in doc["relays"]:
            self.assertIsInstance(r["name"], str)
            self.assertIsInstance(r["on"], bool)
            self.assertIn(r["safe_default"], (-1, 0, 1))
            self.assertIsInstance(r["max_on_ms"], int)
        by_id = {r["id"]: r for r in doc["relays"]}
        self.assertFalse(by_id["heater"]["on"] and by_id["cooler"]["on"], "both sides of an interlock on")
        return by_id

    def check_history_file(self, doc):
        self.assertEqual(doc.get("version"), 1)
        self.assertIsInstance(doc["sensors"], dict)
        for sid, series in doc["sensors"].items():
            self.assertEqual(len(series["t"]), len(series["v"]), sid)

    def assertSnapshotMatchesFile(self, snapshot, saved, context):
        """The relays a restarted server shows are the ones in relays.json."""
        snap = relays_by_id(snapshot)
        for rid in RELAY_IDS:
            s, f = snap[rid], saved[rid]
            self.assertEqual((s["on"], s["name"], s["safe_default"], s["max_on_ms"]),
                             (f["on"], f["name"], f["safe_default"], f["max_on_ms"]),
                             "%s: %s in the snapshot vs relays.json" % (context, rid))
            self.assertFalse(s["pending"], "%s: %s pending after a restart" % (context, rid))
            self.assertEqual(s["target"], s["on"], context)


class RestartTest(Base):

    def test_states_names_history_and_audit_survive_sigterm(self):
        state_dir = make_state_dir(self)
        t_begin = datetime.datetime.now(datetime.timezone.utc)
        first = self.start(state_dir, "--seed", "7")

        async def before_restart():
            c = await Client.connect(first, RELAY)
            v = await Client.connect(first, RELAY, role="view")
            s = await Client.connect(first, SENSOR)
            try:
                port = c.ws.local_address[1]
                view_port = v.ws.local_address[1]
                for cmd in ({"type": "set", "id": "a1", "relay": "heater", "on": True},
                            {"type": "set", "id": "a2", "relay": "lamp", "on": True},
                            {"type": "rename", "id": 3, "relay": "fan", "name": "Ceiling fan"}):
                    ack = await c.request(cmd)
                    self.assertEqual(ack["type"], "ack", ack)
                m = await c.request({"type": "set", "id": "a4", "relay": "cooler", "on": True})
                self.assertEqual((m["type"], m["code"]), ("error", "interlock"))
                m = await v.request({"type": "toggle", "id": "v1", "relay": "aux"})
                self.assertEqual((m["type"], m["code"]), ("error", "forbidden"))
                # Some history to carry over (one point a second).
                deadline = time.monotonic() + 10
                while True:
                    h = await s.request({"type": "history", "id": "h", "sensor": "temperature", "seconds": 3600})
                    if len(h["t"]) >= 3:
                        break
                    self.assertLess(time.monotonic(), deadline, "no history after 10 s")
                    await asyncio.sleep(0.25)
                return c.hello["session"], port, view_port, dict(zip(h["t"], h["v"]))
            finally:
                for x in (c, v, s):
                    await x.close()

        session1, port, view_port, history1 = run(before_restart())
        first.stop_checked(self)
        t_stopped_ms = time.time() * 1000

        saved = self.check_relays_file(read_json(os.path.join(state_dir, "relays.json")))
        self.assertTrue(saved["heater"]["on"] and saved["lamp"]["on"])
        self.assertEqual(saved["fan"]["name"], "Ceiling fan")
        self.check_history_file(read_json(os.path.join(state_dir, "history.json")))

        second = self.start(state_dir, "--seed", "7")

        async def after_restart():
            c = await Client.connect(second, RELAY)
            s = await Client.connect(second, SENSOR)
            try:
                self.assertNotEqual(c.hello["session"].rsplit("-", 1)[0], session1.rsplit("-", 1)[0],
                                    "the session prefix changes with every run")
                h = await s.request({"type": "history", "id": 1, "sensor": "temperature", "seconds": 3600})
                return c.snapshot["relays"], dict(zip(h["t"], h["v"]))
            finally:
                await c.close()
                await s.close()

        relays, history2 = run(after_restart())
        snap = relays_by_id(relays)
        for rid in RELAY_IDS:
            self.assertEqual(snap[rid]["on"], rid in ("heater", "lamp"), rid)
            self.assertFalse(snap[rid]["pending"], rid)
            self.assertEqual(snap[rid]["name"], "Ceiling fan" if rid == "fan" else DEFAULT_NAMES[rid])
        self.assertSnapshotMatchesFile(relays, saved, "after SIGTERM")

        before = [t for t in history2 if t < t_stopped_ms]
        self.assertTrue(before, "the history after the restart has no point from before it")
        missing = [t for t in history1 if t not in history2]
        self.assertEqual(missing, [], "points from before the restart are gone")
        for t, v in history1.items():
            self.assertEqual(history2[t], v, "history point %d changed over the restart" % t)
        print("\n  history: %d points before the restart, %d after it (%d from before)"
              % (len(history1), len(history2), len(before)), file=sys.stderr)
        second.stop_checked(self)

        # The audit log: one JSON object per line, one per command or refusal.
        with open(os.path.join(state_dir, "audit.log"), encoding="utf-8") as f:
            lines = [line for line in f.read().split("\n") if line]
        records = [json.loads(line) for line in lines]
        t_end = datetime.datetime.now(datetime.timezone.utc)
        for r in records:
            self.assertEqual(set(r) >= {"t", "connection", "peer", "role", "protocol", "command", "result"}, True, r)
            self.assertRegex(r["t"], AUDIT_TIME)
            t = datetime.datetime.strptime(r["t"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
            self.assertTrue(t_begin - datetime.timedelta(seconds=1) <= t <= t_end, r)
            self.assertIsInstance(r["connection"], int)
            self.assertEqual(r["protocol"], RELAY)
        ours = [(r["command"].get("id"), r["result"], r["role"], r["peer"]) for r in records]
        self.assertEqual(ours, [("a1", "ok", "control", "127.0.0.1:%d" % port),
                                ("a2", "ok", "control", "127.0.0.1:%d" % port),
                                (3, "ok", "control", "127.0.0.1:%d" % port),
                                ("a4", "interlock", "control", "127.0.0.1:%d" % port),
                                ("v1", "forbidden", "view", "127.0.0.1:%d" % view_port)])
        self.assertEqual(records[2]["command"], {"type": "rename", "id": 3, "relay": "fan", "name": "Ceiling fan"},
                         "the command as sent")
        self.assertEqual(len({r["connection"] for r in records[:4]}), 1)
        self.assertNotEqual(records[4]["connection"], records[0]["connection"])


class PulseRestartTest(Base):

    def test_pulse_interrupted_by_a_restart_still_ends(self):
        # "pulse": on for ms, then off by itself. A restart in the middle
        # must not turn it into "on for good".
        state_dir = make_state_dir(self)
        first = self.start(state_dir)

        async def pulse():
            c = await Client.connect(first, RELAY)
            try:
                ack = await c.request({"type": "pulse", "id": 1, "relay": "aux", "ms": 1000})
                self.assertEqual((ack["type"], ack["relay"]["on"]), ("ack", True), ack)
            finally:
                await c.close()

        run(pulse())
        t_pulse = time.monotonic()
        first.stop_checked(self)
        second = self.start(state_dir)

        async def watch():
            c = await Client.connect(second, RELAY)
            try:
                if not relays_by_id(c.snapshot["relays"])["aux"]["on"]:
                    return "off at once"
                left = max(0.0, 1.0 - (time.monotonic() - t_pulse))
                try:
                    await c.recv_until(lambda m: m.get("type") == "relay" and m["relay"]["id"] == "aux"
                                       and not m["relay"]["on"], timeout=left + 2.0)
                except AssertionError:
                    return None
                return "off after %.2f s" % (time.monotonic() - t_pulse)
            finally:
                await c.close()

        outcome = run(watch())
        second.stop_checked(self)
        print("\n  1 s pulse interrupted by a restart: %s" % (outcome or "still on 3 s after it began"),
              file=sys.stderr)
        self.assertIsNotNone(outcome, "a 1000 ms pulse of aux, interrupted by SIGTERM and a restart, "
                                      "came back on and stayed on")


class CrashTest(Base):

    ROUNDS = 15

    def test_sigkill_at_random_moments(self):
        seed = int(os.environ.get("SY_CRASH_SEED", str(int(time.time()))))
        rnd = random.Random(seed)
        state_dir = make_state_dir(self)
        print("\n  crash test seed %d (SY_CRASH_SEED to replay)" % seed, file=sys.stderr)

        # A clean run first, so both files exist from the start.
        server = self.start(state_dir)
        server.stop_checked(self)
        relays_path = os.path.join(state_dir, "relays.json")
        history_path = os.path.join(state_dir, "history.json")
        saved = self.check_relays_file(read_json(relays_path))
        self.check_history_file(read_json(history_path))

        total_acks = 0
        for round_no in range(self.ROUNDS):
            server = self.start(state_dir)
            delay = rnd.uniform(0.0, 0.3)
            acks, snapshot = run(self.storm(server, rnd, round_no, delay))
            total_acks += acks
            self.assertSnapshotMatchesFile(snapshot, saved, "round %d, on restart" % round_no)
            self.assertEqual(server.proc.returncode, -signal.SIGKILL)

            # After the kill: both files are complete JSON of the right shape.
            try:
                saved = self.check_relays_file(read_json(relays_path))
            except ValueError as e:
                self.fail("round %d: relays.json is not complete JSON after SIGKILL: %s" % (round_no, e))
            if os.path.exists(history_path):
                try:
                    self.check_history_file(read_json(history_path))
                except ValueError as e:
                    self.fail("round %d: history.json is not complete JSON after SIGKILL: %s" % (round_no, e))

        # The last restart: listening, consistent, and it stops cleanly.
        server = self.start(state_dir)
        self.assertSnapshotMatchesFile(run(relay_snapshot(server)), saved, "final restart")
        self.assertEqual(server.status()["name"], "Switchyard")
        server.stop_checked(self)
        leftovers = [os.path.basename(p) for p in glob.glob(os.path.join(state_dir, "*.json.*"))]
        print("  %d rounds, %d commands acked before the kills; temporary files left behind: %d %s"
              % (self.ROUNDS, total_acks, len(leftovers), leftovers[:5]), file=sys.stderr)

    async def storm(self, server, rnd, round_no, delay):
        """Connects, checks the snapshot, then commands as fast as the rate
        limit allows until SIGKILL lands after `delay` seconds. Returns
        (acks seen, the snapshot at connect)."""
        c = await Client.connect(server, RELAY)
        snapshot = c.snapshot["relays"]
        acks = 0

        async def commands():
            i = 0
            while True:
                i += 1
                if rnd.random() < 0.3:
                    rid = rnd.choice(RELAY_IDS)
                    cmd = {"type": "rename", "id": i, "relay": rid,
                           "name": "%s r%d.%d \u2713" % (DEFAULT_NAMES[rid], round_no, i)}
                else:
                    cmd = {"type": "toggle", "id": i,
                           "relay": rnd.choice(["heater", "cooler", "fan", "lamp", "valve", "aux"])}
                await c.send(cmd)
                await asyncio.sleep(0.008)  # ~37 commands in 0.3 s: under the burst of 40

        async def answers():
            nonlocal acks
            while True:
                m = await c.recv(10)
                if m.get("type") == "ack":
                    acks += 1
                elif m.get("type") == "error":
                    self.assertIn(m["code"], ("interlock",), "round %d: %r" % (round_no, m))

        tasks = [asyncio.create_task(commands()), asyncio.create_task(answers())]
        try:
            await asyncio.sleep(delay)  # the random moment of the crash
            server.proc.send_signal(signal.SIGKILL)
            await asyncio.to_thread(server.proc.wait, 5)
        finally:
            for t in tasks:
                t.cancel()
            for t in tasks:
                try:
                    await t
                except (asyncio.CancelledError, ConnectionClosed, OSError):
                    pass
            await c.close()
        return acks, snapshot


class CorruptStateTest(Base):

    CASES = [
        ("garbage", "relays.json", b"\x00\xff this is not { json"),
        ("truncated", "relays.json", b'{"version":1,"relays":[{"id":"heater","name":"Heater","on":tr'),
        ("not an object", "relays.json", b"[1,2,3]"),
        ("other version", "relays.json", json.dumps({"version": 99, "relays": []}).encode()),
        ("garbage history", "history.json", b"{{{{"),
        ("ragged history", "history.json",
         json.dumps({"version": 1, "sensors": {"temperature": {"t": [1, 2], "v": [20.0]}}}).encode()),
    ]

    def test_corrupt_state_files_are_reported_and_ignored(self):
        for name, filename, content in self.CASES:
            with self.subTest(case=name):
                state_dir = make_state_dir(self)
                with open(os.path.join(state_dir, filename), "wb") as f:
                    f.write(content)
                server = self.start(state_dir)
                self.assertIn("Ignoring the saved %s" % filename.split(".")[0], server.stderr_text())
                self.assertIn(filename, server.stderr_text())

                async def go():
                    c = await Client.connect(server, RELAY)
                    try:
                        snap = relays_by_id(c.snapshot["relays"])
                        for rid in RELAY_IDS:
                            self.assertFalse(snap[rid]["on"], rid)
                            self.assertEqual(snap[rid]["name"], DEFAULT_NAMES[rid])
                        ack = await c.request({"type": "rename", "id": 1, "relay": "aux", "name": "Recovered"})
                        self.assertEqual(ack["type"], "ack", ack)
                    finally:
                        await c.close()

                run(go())
                # The next save replaces the corrupt file with a good one.
                saved = self.check_relays_file(read_json(os.path.join(state_dir, "relays.json")))
                self.assertEqual(saved["aux"]["name"], "Recovered")
                server.stop_checked(self)
                self.check_history_file(read_json(os.path.join(state_dir, "history.json")))


if __name__ == "__main__":
    unittest.main(verbosity=2)
