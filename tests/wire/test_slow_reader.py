#!/usr/bin/python3
"""One sensor client that stops reading must cost the others nothing and the
server only a bounded amount: readings due to it are skipped (never queued),
and when it reads again it gets a bounded backlog and then the latest
reading with "skipped": N.

Twenty python3-websockets clients subscribe at 20 Hz and measure their
delivery delay (arrival time minus the reading's source time `t`, both from
this machine's clock); fifty made this Python process itself the bottleneck
on a two-core machine, a second behind on its own. The stalled client is a
raw socket that completes the handshake, subscribes, asks for some history
and then never calls recv().

Making the stall bite: on loopback the kernel would otherwise swallow minutes
of readings (the server socket's send buffer autotunes to ~4 MB), so the
stalled socket
  - has a small receive buffer (SO_RCVBUF) and a small MSS (TCP_MAXSEG, so
    the server side's send buffer stays a few hundred kB), both set before
    connect, and
  - asks for the hour of history of each sensor a few times over (a state
    directory with an hour of history is prepared), about 3 MB of answers:
    more than the kernel buffers hold, so from then on the server has
    unwritten messages for it and must skip its readings.
"""

import asyncio
import json
import os
import random
import socket
import sys
import time
import unittest

from websockets.exceptions import ConnectionClosed

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import wsraw  # noqa: E402
from jsonwire import SENSOR, SENSOR_IDS, Client, make_state_dir, run, start_bench_server, vm_rss_kb  # noqa: E402

N_FAST = 20
FAST_RATE_HZ = 20
STALL_S = 5.0
N_HISTORY_REQUESTS = 24
SLOW_RCVBUF = 4096
SLOW_MSS = 536
RESUME_RCVBUF = 1 << 20

# A bound that only a slow reader holding up the others would break (its
# backlog of seconds). Latency figures are the benchmark command's business:
# alone, p99 is about 11 ms here; under load this Python client's own pace
# has pushed it near a second.
MAX_BOUND_MS = 3000.0
RSS_BOUND_KB = 20 * 1024

RANGES = {"temperature": (-10, 50), "humidity": (0, 100), "pressure": (950, 1050),
          "light": (0, 2000), "voltage": (10, 14), "current": (0, 10)}


def write_hour_of_history(state_dir):
    """history.json with one point a second for the last hour (minus a
    margin for the start-up), as the server itself would save it."""
    rnd = random.Random(7)
    now_s = int(time.time())
    times = [(now_s - k) * 1000 for k in range(3590, 0, -1)]
    sensors = {}
    for sid in SENSOR_IDS:
        lo, hi = RANGES[sid]
        mid, span = (lo + hi) / 2, (hi - lo) / 20
        sensors[sid] = {"t": times, "v": [mid + rnd.uniform(-span, span) for _ in times]}
    with open(os.path.join(state_dir, "history.json"), "w") as f:
        json.dump({"version": 1, "sensors": sensors}, f)


def percentile(sorted_values, p):
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, max(0, int(round(p / 100.0 * (len(sorted_values) - 1)))))
    return sorted_values[k]


def open_stalled_socket(server):
    """A raw WebSocket on a socket with a tiny receive buffer and MSS."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SLOW_RCVBUF)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, SLOW_MSS)
    sock.settimeout(5)
    sock.connect(server.address)
    conn = wsraw.Conn(None, sock=sock)
    key = wsraw.new_key()
    conn.send(wsraw.build_request("GET", "/ws", "%s:%d" % server.address,
                                  wsraw.handshake_headers([SENSOR], key)))
    resp = wsraw.read_response(conn)
    if resp.status != 101 or resp.headers.get("sec-websocket-accept") != wsraw.accept_for(key):
        conn.close()
        raise AssertionError("stalled client's handshake refused: %r" % resp)
    return wsraw.RawWebSocket(conn, resp)


class SlowReaderTest(unittest.TestCase):

    @unittest.skipIf(wsraw.SANITIZED, "a fan-out pace scenario: the ASan -O0 build cannot write 1,000 "
                     "messages a second, so the stall and resume timings mean nothing there "
                     "(memory safety of the same paths: test-protocols and test_subprotocols)")
    def test_stalled_reader_costs_the_others_nothing(self):
        state_dir = make_state_dir(self)
        write_hour_of_history(state_dir)
        # --peer-rate 0: twenty connections from one address at once.
        server = start_bench_server(self, "--peer-rate", "0", state_dir=state_dir)
        pid = server.proc.pid
        figures = run(self.scenario(server, pid), timeout=60)
        code, elapsed = server.stop_checked(self)

        print("\n  --- slow reader figures ---", file=sys.stderr)
        for line in figures:
            print("  " + line, file=sys.stderr)

    async def scenario(self, server, pid):
        figures = []
        fast = await asyncio.gather(*[Client.connect(server, SENSOR, role="view") for _ in range(N_FAST)])
        tick_hz = fast[0].snapshot.get("tick_hz", 20)
        rate = min(FAST_RATE_HZ, tick_hz)
        records = [[] for _ in fast]          # per client: (arrival ms, seq, t, skipped?)
        latest = {"seq": -1}
        values_by_seq = {}
        stop = asyncio.Event()
        slow = None
        readers = []

        async def fast_reader(i, c):
            while not stop.is_set():
                try:
                    msg = await asyncio.wait_for(c.ws.recv(), 0.5)
                except asyncio.TimeoutError:
                    continue
                except ConnectionClosed:
                    return
                arrival = time.time() * 1000.0
                m = json.loads(msg)
                if m.get("type") != "reading":
                    continue
                records[i].append((arrival, m["seq"], m["t"], "skipped" in m))
                if m["seq"] > latest["seq"]:
                    latest["seq"] = m["seq"]
                if i == 0:
                    values_by_seq[m["seq"]] = m["values"]

        try:
            for i, c in enumerate(fast):
                await c.send({"type": "subscribe", "id": i, "rate_hz": FAST_RATE_HZ})
            for i, c in enumerate(fast):
                ack = await c.answer(i)
                self.assertEqual(ack["type"], "ack", ack)
            readers[:] = [asyncio.create_task(fast_reader(i, c)) for i, c in enumerate(fast)]

            rss_before = vm_rss_kb(pid)

            # The stalled client: subscribe at a high rate, ask for plenty of
            # history, then never read.
            slow = await asyncio.to_thread(open_stalled_socket, server)
            slow.send_text(json.dumps({"type": "subscribe", "id": "slow", "rate_hz": 100}))
            for k in range(N_HISTORY_REQUESTS):
                slow.send_text(json.dumps({"type": "history", "id": "h%d" % k,
                                           "sensor": SENSOR_IDS[k % len(SENSOR_IDS)], "seconds": 3600}))

            # The stall: measure the others and the server's memory.
            w0 = time.time() * 1000.0
            rss_samples = []
            t_end = time.monotonic() + STALL_S
            while time.monotonic() < t_end:
                rss_samples.append((time.monotonic(), vm_rss_kb(pid)))
                await asyncio.sleep(0.1)
            w1 = time.time() * 1000.0
            rss_after = vm_rss_kb(pid)

            # -- the fast clients during the stall
            delays = []
            counts = []
            skipped_fast = 0
            for rec in records:
                window = [r for r in rec if w0 <= r[0] < w1]
                counts.append(len(window))
                delays.extend(a - t for a, _, t, _ in window)
                skipped_fast += sum(1 for r in rec if r[3])
            delays.sort()
            expected = (w1 - w0) / 1000.0 * rate
            p50, p99, worst = percentile(delays, 50), percentile(delays, 99), delays[-1] if delays else float("nan")
            rss_max = max(kb for _, kb in rss_samples + [(0, rss_after)])
            late = [kb for ts, kb in rss_samples if ts >= rss_samples[0][0] + 1.0]
            figures.append("fast clients: %d at %d Hz (tick %d Hz), window %.2f s, expected ~%.0f readings each"
                           % (N_FAST, rate, tick_hz, (w1 - w0) / 1000, expected))
            figures.append("readings per client: min %d, max %d, total %d"
                           % (min(counts), max(counts), sum(counts)))
            figures.append("delivery delay (arrival - t): min %.1f ms, p50 %.1f ms, p99 %.1f ms, max %.1f ms "
                           "over %d readings" % (delays[0], p50, p99, worst, len(delays)))
            figures.append("server VmRSS: %d kB before the stalled client, max %d kB during the stall "
                           "(+%d kB), %d kB at its end; growth after its first second: %+d kB"
                           % (rss_before, rss_max, rss_max - rss_before, rss_after,
                              (max(late) - late[0]) if late else 0))

            # Under ASan (and -O0) the server itself may not write 400
            # messages a second to 20 clients, so it coalesces for everyone:
            # there, only a floor on what each fast client gets is asserted.
            if not wsraw.SANITIZED:
                self.assertEqual(skipped_fast, 0, "a reader that keeps up must never be skipped")
            low = 0.2 if wsraw.SANITIZED else 0.6
            for i, n in enumerate(counts):
                self.assertTrue(low * expected <= n <= 1.1 * expected + 1,
                                "client %d got %d readings in the window, expected ~%.0f" % (i, n, expected))
            # p99 is printed, not asserted: a clean CI run measured 922 ms here
            # against 11 ms alone, all of it this Python client's own pace.
            self.assertLess(worst, MAX_BOUND_MS * wsraw.TIME_SCALE, "worst delivery delay")
            self.assertGreater(p50, -50.0, "arrival before the source time: clocks differ?")
            if not wsraw.SANITIZED:
                self.assertLess(rss_max - rss_before, RSS_BOUND_KB, "server memory grew during the stall")

            # -- the stalled client reads again, as a reader that keeps up:
            # with its 4 kB window the 3 MB backlog alone took 10 to 30 s
            # through loopback TCP (a delayed ACK per window), which measured
            # the kernel, not the server.
            slow.conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RESUME_RCVBUF)
            t_resume = time.monotonic()
            seq_at_resume = latest["seq"]
            drained = await asyncio.to_thread(self.drain_until_skipped, slow, latest)
            t_skip = drained["t_skip"]
            frames, skip_msg, latest_at_skip, after = (drained["frames"], drained["skip"],
                                                       drained["latest"], drained["after"])
            readings_before = [f for f in frames if f[0] == "reading"]
            history_answers = [f for f in frames if f[0] == "history"]
            backlog_bytes = sum(f[1] for f in frames)
            figures.append("stalled client: backlog of %d frames (%d bytes: %d history answers, %d readings) "
                           "drained in %.0f ms" % (len(frames), backlog_bytes, len(history_answers),
                                                   len(readings_before), (t_skip - t_resume) * 1000))
            figures.append("then a reading with skipped=%d, seq %d (fast clients' latest %d), %.0f ms old"
                           % (skip_msg["skipped"], skip_msg["seq"], latest_at_skip,
                              drained["arrival_ms"] - skip_msg["t"]))

            self.assertEqual(len(history_answers), N_HISTORY_REQUESTS, "every history answer arrives")
            for f in history_answers:
                self.assertGreaterEqual(f[2], 3000, "an hour of history: %d points" % f[2])
            self.assertLessEqual(len(readings_before), 10,
                                 "readings queued behind a stalled reader must be bounded (4 unwritten)")
            stall_readings = STALL_S * min(100, tick_hz)
            self.assertGreaterEqual(skip_msg["skipped"], 0.5 * stall_readings,
                                    "the stall skipped only %d readings" % skip_msg["skipped"])
            # Fresh values: no older than what the others had when it
            # resumed. (How close it is to their latest when it arrives
            # depends on how fast this Python client reads 20 streams.)
            self.assertGreaterEqual(skip_msg["seq"], seq_at_resume - 2,
                                    "the reading after the skip carries fresh values")
            self.assertLess(drained["arrival_ms"] - skip_msg["t"], 1000.0)
            self.assertEqual(set(skip_msg["values"]), set(SENSOR_IDS))
            if skip_msg["seq"] in values_by_seq:
                self.assertEqual(skip_msg["values"], values_by_seq[skip_msg["seq"]],
                                 "same seq, same values as the fast clients saw")
            for m, arrival in after:
                self.assertNotIn("skipped", m, "after catching up, nothing is skipped")
                self.assertLess(arrival - m["t"], 1000.0)
            self.assertTrue(all(b["seq"] > a["seq"] for (a, _), (b, _) in zip(after, after[1:])))
            return figures
        finally:
            stop.set()
            if slow is not None:
                slow.conn.close()
            await asyncio.gather(*readers, return_exceptions=True)
            await asyncio.gather(*[c.close() for c in fast])

    @staticmethod
    def drain_until_skipped(slow, latest):
        """Reads the stalled client's backlog until the first reading with
        "skipped", then five more readings. Runs in a thread."""
        frames = []
        deadline = time.monotonic() + 20
        while True:
            if time.monotonic() > deadline:
                raise AssertionError("no reading with 'skipped' within 20 s; %d frames: %r"
                                     % (len(frames), frames[-10:]))
            op, payload = slow.recv_message(timeout=5)
            arrival = time.time() * 1000.0
            if op != wsraw.OP_TEXT:
                raise AssertionError("binary frame from the sensor protocol")
            m = json.loads(payload)
            if m.get("type") == "reading" and m.get("skipped", 0) > 0:
                result = {"frames": frames, "skip": m, "latest": latest["seq"], "arrival_ms": arrival,
                          "t_skip": time.monotonic()}
                break
            frames.append((m.get("type"), len(payload), len(m.get("t", [])) if m.get("type") == "history" else 0))
        after = []
        while len(after) < 5:
            op, payload = slow.recv_message(timeout=5)
            m = json.loads(payload)
            if m.get("type") == "reading":
                after.append((m, time.time() * 1000.0))
        result["after"] = after
        return result


if __name__ == "__main__":
    unittest.main(verbosity=2)
