#!/usr/bin/python3
"""The MQTT bridge: `switchyard --headless --mqtt URL` on a real Mosquitto.

Each test class starts Debian's `mosquitto` on a free loopback port with a
temporary configuration, real `switchyard --headless` servers (each with its
own state directory) and talks to them with `mosquitto_sub`/`mosquitto_pub`
and python3-websockets clients, as an outside system would. Everything waits
for conditions; nothing sleeps for a fixed time to let something happen.
"""

import asyncio
import json
import os
import queue
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse
import urllib.request
import uuid

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import wsraw  # noqa: E402
from wsraw import free_port, wait_for  # noqa: E402
from jsonwire import (DISPLAY, RELAY, RELAY_IDS, SENSOR, SENSOR_IDS, Client, make_state_dir,  # noqa: E402
                      relays_by_id, run, start_bench_server)

HAVE_TOOLS = all(shutil.which(tool) for tool in ("mosquitto", "mosquitto_sub", "mosquitto_pub",
                                                  "mosquitto_passwd", "stdbuf"))


def built_with_mqtt():
    """A build without libmosquitto (-Dmqtt=disabled) refuses --mqtt."""
    done = subprocess.run([wsraw.binary_path(), "--mqtt", "mqtt://127.0.0.1:1", "--version"],
                          capture_output=True, text=True, timeout=10)
    return done.returncode == 0


WITH_MQTT = built_with_mqtt()
HAVE_TOOLS = HAVE_TOOLS and WITH_MQTT


def api_status(server):
    query = urllib.parse.urlsplit(server.control_url).query
    with urllib.request.urlopen("http://%s:%d/api/status?%s" % (server.host, server.port, query),
                                timeout=5) as answer:
        return json.load(answer)


def mqtt_state(server):
    return api_status(server).get("mqtt", {}).get("state")


def audit_lines(server):
    path = os.path.join(server.state_dir, "audit.log")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def mqtt_audit(server, command_id=None):
    return [line for line in audit_lines(server)
            if line["protocol"] == "mqtt" and
            (command_id is None or (line["command"] or {}).get("id") == command_id)]


def new_id():
    return "t-" + uuid.uuid4().hex[:12]


class Broker:
    """A mosquitto on 127.0.0.1:PORT with a temporary configuration; it can be
    killed and started again on the same port."""

    def __init__(self, users=None, tls=None):
        self.dir = tempfile.mkdtemp(prefix="sy-mqtt-broker-")
        self.port = free_port()
        self.proc = None
        lines = ["listener %d 127.0.0.1" % self.port, "persistence false"]
        if tls:
            # Clients must present a certificate of the test CA; its CN is
            # their user name.
            lines += ["cafile " + tls.ca, "certfile " + tls.server_cert, "keyfile " + tls.server_key,
                      "require_certificate true", "use_identity_as_username true"]
        if os.geteuid() == 0:
            # As root, mosquitto would drop to the mosquitto user, which
            # cannot read this directory.
            lines.append("user root")
        if tls:
            pass
        elif users:
            passwords = os.path.join(self.dir, "passwords")
            for user, password in users.items():
                subprocess.run(["mosquitto_passwd", "-b"] + (["-c"] if not os.path.exists(passwords) else [])
                               + [passwords, user, password], check=True, capture_output=True)
            os.chmod(passwords, 0o600)
            lines += ["allow_anonymous false", "password_file " + passwords]
        else:
            lines.append("allow_anonymous true")
        if tls:
            lines.append("allow_anonymous false")
        self.config = os.path.join(self.dir, "mosquitto.conf")
        with open(self.config, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.url = "mqtt://127.0.0.1:%d" % self.port

    def start(self):
        self.log = open(os.path.join(self.dir, "mosquitto.log"), "ab")
        self.proc = subprocess.Popen(["mosquitto", "-c", self.config], stdin=subprocess.DEVNULL,
                                     stdout=self.log, stderr=self.log)

        def listening():
            if self.proc.poll() is not None:
                raise AssertionError("mosquitto exited: %s" % self.log_text())
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return True
            except OSError:
                return False
        wait_for(listening, 10, "mosquitto listens")
        return self

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=5)
        if getattr(self, "log", None):
            self.log.close()
            self.log = None

    def cleanup(self):
        self.kill()
        shutil.rmtree(self.dir, True)

    def log_text(self):
        try:
            with open(os.path.join(self.dir, "mosquitto.log"), "rb") as f:
                return f.read().decode("utf-8", "replace")[-3000:]
        except OSError:
            return ""

    def publish(self, topic, message, qos=1, retain=False, user=None, password=None):
        args = ["mosquitto_pub", "-h", "127.0.0.1", "-p", str(self.port), "-q", str(qos), "-t", topic]
        if user:
            args += ["-u", user, "-P", password]
        if retain:
            args.append("-r")
        args += ["-n"] if message is None else ["-m", message if isinstance(message, str) else json.dumps(message)]
        subprocess.run(args, check=True, timeout=10, capture_output=True)

    def subscribe(self, testcase, *topics):
        sub = Subscriber(self, topics)
        testcase.addCleanup(sub.close)
        return sub


def start_broker(testcase, users=None, tls=None):
    broker = Broker(users, tls)
    adder = testcase.addClassCleanup if isinstance(testcase, type) else testcase.addCleanup
    adder(broker.cleanup)
    return broker.start()


class TestPki:
    """A CA, a server certificate for 127.0.0.1 and a client certificate,
    made with openssl in a temporary directory."""

    def __init__(self, testcase):
        self.dir = tempfile.mkdtemp(prefix="sy-mqtt-pki-")
        testcase.addCleanup(shutil.rmtree, self.dir, True)

        def path(name):
            return os.path.join(self.dir, name)

        def openssl(*args):
            subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)

        self.ca, ca_key = path("ca.pem"), path("ca.key")
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=Switchyard test CA",
                "-keyout", ca_key, "-out", self.ca)
        with open(path("server.ext"), "w") as f:
            f.write("subjectAltName=IP:127.0.0.1\n")
        for name, cn, ext in (("server", "127.0.0.1", path("server.ext")), ("client", "bench", None)):
            key, csr, cert = path(name + ".key"), path(name + ".csr"), path(name + ".pem")
            openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=" + cn, "-keyout", key, "-out", csr)
            openssl("x509", "-req", "-in", csr, "-CA", self.ca, "-CAkey", ca_key, "-CAcreateserial",
                    "-days", "2", "-out", cert, *(["-extfile", ext] if ext else []))
            setattr(self, name + "_key", key)
            setattr(self, name + "_cert", cert)


class Subscriber:
    """`mosquitto_sub` on some topics; every message lands in .messages as
    (retained, topic, payload). Ready once the broker acknowledged the
    subscription."""

    def __init__(self, broker, topics):
        # Line-buffered: mosquitto_sub flushes its messages but not the
        # debug line that says it subscribed.
        args = ["stdbuf", "-oL", "mosquitto_sub", "-d", "-h", "127.0.0.1", "-p", str(broker.port), "-q", "1",
                "-F", "MSG %r %t %p"]
        for topic in topics:
            args += ["-t", topic]
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL)
        self.lines = queue.Queue()
        self.messages = []
        self.subscribed = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()
        if not self.subscribed.wait(10):
            raise AssertionError("mosquitto_sub did not subscribe to %r" % (topics,))

    def _read(self):
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            if line.startswith("Subscribed (mid:"):
                self.subscribed.set()
            elif line.startswith("MSG "):
                _, retained, topic, payload = (line.split(" ", 3) + [""])[:4]
                self.lines.put((retained == "1", topic, payload))

    def _drain(self, timeout):
        try:
            self.messages.append(self.lines.get(timeout=timeout))
            while True:
                self.messages.append(self.lines.get_nowait())
        except queue.Empty:
            pass

    def wait(self, predicate, timeout=10, what="a matching message"):
        """The first message (retained, topic, payload) seen so far or later
        for which predicate is true."""
        deadline = time.monotonic() + timeout
        checked = 0
        while True:
            for message in self.messages[checked:]:
                if predicate(*message):
                    return message
            checked = len(self.messages)
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("no %s within %.1f s; last: %r" % (what, timeout, self.messages[-5:]))
            self._drain(min(left, 0.2))

    def wait_json(self, topic, predicate=lambda obj: True, timeout=10, what=None):
        def match(retained, t, payload):
            if t != topic:
                return False
            try:
                return predicate(json.loads(payload))
            except ValueError:
                return False
        return json.loads(self.wait(match, timeout, what or "a message on " + topic)[2])

    def reply(self, topic, command_id, timeout=10):
        return self.wait_json(topic, lambda obj: obj.get("id") == command_id, timeout,
                              "the reply to %r on %s" % (command_id, topic))

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=5)
        self.proc.stdout.close()


def start_bridged(testcase, broker, instance, *args, state_dir=None, role="control"):
    extra = ["--mqtt", broker.url, "--mqtt-instance", instance]
    if role is not None:
        extra += ["--mqtt-role", role]
    server = start_bench_server(testcase, *extra, *args, state_dir=state_dir)
    wait_for(lambda: mqtt_state(server) == "connected", 10, "the bridge connects")
    return server


async def relay_now(server, rid):
    c = await Client.connect(server, RELAY)
    try:
        return relays_by_id(c.snapshot["relays"])[rid]
    finally:
        await c.close()


@unittest.skipUnless(HAVE_TOOLS, "needs mosquitto and mosquitto-clients")
class Bridge(unittest.TestCase):
    """One broker and one instance "a" that takes commands (role control)."""

    @classmethod
    def setUpClass(cls):
        cls.broker = start_broker(cls)
        cls.a = start_bridged(cls, cls.broker, "a", "--seed", "3")

    def test_status_shows_the_bridge_without_secrets(self):
        status = api_status(self.a)["mqtt"]
        self.assertEqual(status["state"], "connected")
        self.assertIsNone(status["problem"])
        self.assertEqual(status["url"], self.broker.url)
        self.assertEqual(status["topic"], "switchyard/a")
        self.assertEqual(status["role"], "control")
        self.assertIsNone(status["mirror"])

    def test_readings_arrive_at_a_subscriber(self):
        sub = self.broker.subscribe(self, "switchyard/a/reading", "switchyard/a/sensor/+")
        reading = sub.wait_json("switchyard/a/reading", lambda r: r.get("type") == "reading")
        self.assertEqual(sorted(reading["values"]), sorted(SENSOR_IDS))
        self.assertIsInstance(reading["seq"], int)
        self.assertGreater(reading["t"], 1.6e12)
        later = sub.wait_json("switchyard/a/reading", lambda r: r["seq"] > reading["seq"])
        self.assertGreater(later["t"], reading["t"] - 1)
        # Every sensor on a topic of its own, as a plain number, not retained.
        for sid in SENSOR_IDS:
            retained, _, value = sub.wait(lambda r, t, p, sid=sid: t == "switchyard/a/sensor/" + sid)
            float(value)
            self.assertFalse(retained)

    def test_status_info_and_relays_are_retained(self):
        sub = self.broker.subscribe(self, "switchyard/a/status", "switchyard/a/info", "switchyard/a/relay/+")
        self.assertEqual(sub.wait(lambda r, t, p: t == "switchyard/a/status")[:3:2], (True, "online"))
        info = json.loads(sub.wait(lambda r, t, p: t == "switchyard/a/info" and r)[2])
        self.assertEqual(info["instance"], api_status(self.a)["instance"])
        self.assertEqual(info["relays"], RELAY_IDS)
        self.assertEqual([s["id"] for s in info["sensors"]], SENSOR_IDS)
        for rid in RELAY_IDS:
            retained, _, payload = sub.wait(lambda r, t, p, rid=rid: t == "switchyard/a/relay/" + rid)
            self.assertTrue(retained, rid)
            relay = json.loads(payload)
            self.assertEqual(relay["id"], rid)
            self.assertFalse(relay["pending"])

    def test_a_published_command_switches_a_relay_and_websocket_clients_see_it(self):
        sub = self.broker.subscribe(self, "switchyard/a/reply", "switchyard/a/relay/fan")

        async def go():
            watcher = await Client.connect(self.a, RELAY, role="view")
            try:
                before = relays_by_id(watcher.snapshot["relays"])["fan"]["on"]
                cid = new_id()
                self.broker.publish("switchyard/a/command", {"type": "set", "id": cid, "relay": "fan",
                                                             "on": not before})
                change = await watcher.recv_until(
                    lambda m: m.get("type") == "relay" and m["relay"]["id"] == "fan" and
                    not m["relay"]["pending"] and m["relay"]["on"] == (not before),
                    what="the confirmed fan on the WebSocket")
                return before, cid, change
            finally:
                await watcher.close()
        before, cid, change = run(go())
        self.assertEqual(change["relay"]["on"], not before)
        answer = sub.reply("switchyard/a/reply", cid)
        self.assertEqual(answer["type"], "ack", answer)
        self.assertEqual(answer["relay"]["on"], not before)
        self.assertFalse(answer["relay"]["pending"])
        retained = sub.wait_json("switchyard/a/relay/fan", lambda r: r["on"] == (not before))
        self.assertFalse(retained["pending"])
        lines = mqtt_audit(self.a, cid)
        self.assertEqual([(line["result"], line["role"], line["connection"]) for line in lines],
                         [("ok", "control", None)])
        self.assertEqual(lines[0]["peer"], self.broker.url)

    def refused(self, command, code, relay=None, raw=None):
        """Publishes a command that must be refused with code; checks the
        reply, the audit and that no relay changed."""
        sub = self.broker.subscribe(self, "switchyard/a/reply")
        before = run(_relays(self.a))
        cid = command.get("id") if isinstance(command, dict) else None
        self.broker.publish("switchyard/a/command", raw if raw is not None else command)
        if cid is not None:
            answer = sub.reply("switchyard/a/reply", cid)
        else:
            answer = sub.wait_json("switchyard/a/reply", lambda obj: obj.get("code") == code)
        self.assertEqual((answer["type"], answer["code"]), ("error", code), answer)
        self.assertTrue(answer["message"])
        wait_for(lambda: any(line["result"] == code and
                             (cid is None or (line["command"] or {}).get("id") == cid)
                             for line in mqtt_audit(self.a)), 5, "the refusal is audited")
        after = run(_relays(self.a))
        for rid in RELAY_IDS:
            self.assertEqual((after[rid]["on"], after[rid]["pending"]), (before[rid]["on"], False), rid)
        return answer

    def test_malformed_json_is_refused_and_audited(self):
        self.refused(None, "bad-json", raw="{not json")
        line = [line for line in mqtt_audit(self.a) if line["result"] == "bad-json"][-1]
        self.assertIsNone(line["command"])

    def test_malformed_commands_are_refused_and_audited(self):
        self.refused({"type": "set", "id": new_id(), "relay": "lamp"}, "bad-request")
        self.refused({"type": "set", "id": new_id(), "relay": "lamp", "on": "yes"}, "bad-request")
        self.refused({"type": "pulse", "id": new_id(), "relay": "lamp", "ms": 1}, "bad-request")
        self.refused({"type": "set", "relay": "lamp", "on": True}, "bad-request")

    def test_an_unknown_relay_is_refused_and_audited(self):
        self.refused({"type": "set", "id": new_id(), "relay": "teleporter", "on": True}, "unknown-relay")

    def test_an_interlocked_command_is_refused_and_audited(self):
        relays = run(_relays(self.a))
        first, partner = next((rid, r["interlock"]) for rid, r in relays.items() if r["interlock"])
        sub = self.broker.subscribe(self, "switchyard/a/reply")
        on_id = new_id()
        self.broker.publish("switchyard/a/command", {"type": "set", "id": on_id, "relay": first, "on": True})
        self.assertEqual(sub.reply("switchyard/a/reply", on_id)["type"], "ack")
        try:
            answer = self.refused({"type": "set", "id": new_id(), "relay": partner, "on": True}, "interlock")
            self.assertIn("interlock", answer["message"])
        finally:
            off_id = new_id()
            self.broker.publish("switchyard/a/command", {"type": "set", "id": off_id, "relay": first, "on": False})
            self.assertEqual(sub.reply("switchyard/a/reply", off_id)["type"], "ack")

    def test_display_notes_go_both_ways(self):
        sub = self.broker.subscribe(self, "switchyard/a/notes", "switchyard/a/reply")

        async def go():
            display = await Client.connect(self.a, DISPLAY)
            try:
                ack = await display.request({"type": "post", "id": "n1", "text": "from the page"})
                self.assertEqual(ack["type"], "ack")
                cid = new_id()
                self.broker.publish("switchyard/a/command", {"type": "post", "id": cid, "text": "from MQTT"})
                note = await display.recv_until(lambda m: m.get("type") == "note" and
                                                m["note"]["text"] == "from MQTT")
                self.assertEqual(note["note"]["from"], "MQTT")
                return cid
            finally:
                await display.close()
        cid = run(go())
        page = sub.wait_json("switchyard/a/notes", lambda n: n.get("text") == "from the page")
        self.assertIn("from", page)
        self.assertIsInstance(page["t"], int)
        sub.wait_json("switchyard/a/notes", lambda n: n.get("text") == "from MQTT")
        self.assertEqual(sub.reply("switchyard/a/reply", cid)["type"], "ack")
        too_long = self.refused({"type": "post", "id": new_id(), "text": "x" * 501}, "too-long")
        self.assertIn("500", too_long["message"])

    def test_a_command_flood_is_rate_limited(self):
        sub = self.broker.subscribe(self, "switchyard/a/reply")
        prefix = new_id()
        lines = "".join(json.dumps({"type": "set", "id": "%s-%d" % (prefix, i), "relay": "aux", "on": False}) + "\n"
                        for i in range(80))
        subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(self.broker.port), "-q", "1",
                        "-t", "switchyard/a/command", "-l"], input=lines, text=True, check=True, timeout=20)
        answers = [sub.reply("switchyard/a/reply", "%s-%d" % (prefix, i)) for i in range(80)]
        codes = [a.get("code", a["type"]) for a in answers]
        self.assertIn("rate-limited", codes)
        self.assertGreaterEqual(codes.count("ack"), 40)
        self.assertEqual(set(codes), {"ack", "rate-limited"})
        limited = [line for line in mqtt_audit(self.a) if (line["command"] or {}).get("id", "").startswith(prefix)
                   and line["result"] == "rate-limited"]
        self.assertEqual(len(limited), codes.count("rate-limited"))

    def test_the_same_command_id_twice_is_applied_once(self):
        sub = self.broker.subscribe(self, "switchyard/a/reply")
        before = run(relay_now(self.a, "valve"))["on"]
        cid = new_id()
        command = {"type": "toggle", "id": cid, "relay": "valve"}
        self.broker.publish("switchyard/a/command", command)
        first = sub.reply("switchyard/a/reply", cid)
        self.assertEqual(first["type"], "ack")
        self.broker.publish("switchyard/a/command", command)
        second = sub.wait_json("switchyard/a/reply",
                               lambda obj: obj.get("id") == cid and obj.get("code") == "duplicate",
                               what="the duplicate answer")
        self.assertEqual(second["type"], "error")
        self.assertEqual(second["first"], first)
        self.assertEqual(run(relay_now(self.a, "valve"))["on"], not before)
        self.assertEqual(sorted(line["result"] for line in mqtt_audit(self.a, cid)), ["duplicate", "ok"])
        self.assertGreaterEqual(api_status(self.a)["mqtt"]["duplicates"], 1)


async def _relays(server):
    c = await Client.connect(server, RELAY)
    try:
        return relays_by_id(c.snapshot["relays"])
    finally:
        await c.close()


@unittest.skipUnless(HAVE_TOOLS, "needs mosquitto and mosquitto-clients")
class ViewOnly(unittest.TestCase):

    def test_a_view_only_bridge_publishes_but_refuses_commands(self):
        broker = start_broker(self)
        server = start_bridged(self, broker, "watch", role=None)
        self.assertEqual(api_status(server)["mqtt"]["role"], "view")
        sub = broker.subscribe(self, "switchyard/watch/reply", "switchyard/watch/reading")
        sub.wait_json("switchyard/watch/reading")
        before = run(_relays(server))
        cid = new_id()
        broker.publish("switchyard/watch/command", {"type": "set", "id": cid, "relay": "lamp",
                                                    "on": not before["lamp"]["on"]})
        answer = sub.reply("switchyard/watch/reply", cid)
        self.assertEqual((answer["type"], answer["code"]), ("error", "forbidden"), answer)
        self.assertEqual([(line["result"], line["role"]) for line in mqtt_audit(server, cid)],
                         [("forbidden", "view")])
        self.assertEqual(run(_relays(server))["lamp"]["on"], before["lamp"]["on"])
        post = new_id()
        broker.publish("switchyard/watch/command", {"type": "post", "id": post, "text": "hello"})
        self.assertEqual(sub.reply("switchyard/watch/reply", post)["code"], "forbidden")


@unittest.skipUnless(HAVE_TOOLS, "needs mosquitto and mosquitto-clients")
class Outages(unittest.TestCase):

    def test_retained_state_is_right_after_a_switchyard_restart(self):
        broker = start_broker(self)
        state_dir = make_state_dir(self)
        server = start_bridged(self, broker, "r", state_dir=state_dir)
        sub = broker.subscribe(self, "switchyard/r/reply", "switchyard/r/status")
        cid = new_id()
        broker.publish("switchyard/r/command", {"type": "set", "id": cid, "relay": "lamp", "on": True})
        self.assertEqual(sub.reply("switchyard/r/reply", cid)["type"], "ack")
        server.stop_checked(self)
        sub.wait(lambda r, t, p: t == "switchyard/r/status" and p == "offline")
        # While it is away the broker loses the retained lamp (as a broker
        # without persistence would in a restart).
        broker.publish("switchyard/r/relay/lamp", None, retain=True)
        start_bridged(self, broker, "r", state_dir=state_dir)
        after = broker.subscribe(self, "switchyard/r/status", "switchyard/r/relay/+")
        self.assertEqual(after.wait(lambda r, t, p: t == "switchyard/r/status" and p == "online")[0], True)
        lamp = after.wait_json("switchyard/r/relay/lamp", lambda r: r["on"])
        self.assertEqual(after.wait(lambda r, t, p: t == "switchyard/r/relay/lamp")[0], True)
        self.assertFalse(lamp["pending"])
        for rid in RELAY_IDS:
            after.wait(lambda r, t, p, rid=rid: t == "switchyard/r/relay/" + rid and r)

    def test_a_retained_command_is_never_run_when_the_bridge_connects(self):
        broker = start_broker(self)
        cid = new_id()
        # Left on the broker before the instance comes: it would otherwise
        # run again on every connect.
        broker.publish("switchyard/late/command", {"type": "set", "id": cid, "relay": "lamp", "on": True},
                       retain=True)
        sub = broker.subscribe(self, "switchyard/late/reply")
        server = start_bridged(self, broker, "late")
        answer = sub.reply("switchyard/late/reply", cid)
        self.assertEqual((answer["type"], answer["code"]), ("error", "bad-request"), answer)
        self.assertIn("retained", answer["message"])
        self.assertFalse(run(relay_now(server, "lamp"))["on"])
        self.assertEqual([line["result"] for line in mqtt_audit(server, cid)], ["bad-request"])

    def test_a_crash_leaves_offline_through_the_last_will(self):
        broker = start_broker(self)
        server = start_bridged(self, broker, "crash")
        sub = broker.subscribe(self, "switchyard/crash/status")
        sub.wait(lambda r, t, p: p == "online")
        server.proc.kill()
        server.proc.wait(timeout=5)
        sub.wait(lambda r, t, p: p == "offline", timeout=30)
        late = broker.subscribe(self, "switchyard/crash/status")
        self.assertEqual(late.wait(lambda r, t, p: True)[::2], (True, "offline"))

    def test_killing_and_restarting_the_broker_recovers_and_applies_nothing_twice(self):
        broker = start_broker(self)
        server = start_bridged(self, broker, "k")
        sub = broker.subscribe(self, "switchyard/k/reply")
        before = run(relay_now(server, "aux"))["on"]
        cid = new_id()
        command = {"type": "toggle", "id": cid, "relay": "aux"}
        broker.publish("switchyard/k/command", command)
        self.assertEqual(sub.reply("switchyard/k/reply", cid)["type"], "ack")
        sub.close()

        async def outage():
            # A WebSocket client streams readings all through the outage.
            sensors = await Client.connect(server, SENSOR)
            relays = await Client.connect(server, RELAY)
            try:
                broker.kill()
                await asyncio.get_running_loop().run_in_executor(
                    None, wait_for, lambda: mqtt_state(server) == "connecting", 10, "the bridge notices")
                seq = (await sensors.recv_until(lambda m: m.get("type") == "reading"))["seq"]
                for _ in range(5):
                    reading = await sensors.recv_until(lambda m: m.get("type") == "reading")
                    self.assertGreater(reading["seq"], seq)
                    self.assertEqual(reading["stale"], [])
                    seq = reading["seq"]
                broker.start()
                await asyncio.get_running_loop().run_in_executor(
                    None, wait_for, lambda: mqtt_state(server) == "connected", 20, "the bridge reconnects")
                await sensors.recv_until(lambda m: m.get("type") == "reading" and m["seq"] > seq)
                answer = await relays.request({"type": "set", "id": 1, "relay": "siren", "on": False})
                self.assertEqual(answer["type"], "ack", answer)
            finally:
                await sensors.close()
                await relays.close()
        run(outage())

        # The restarted broker had nothing: the bridge published it again.
        again = broker.subscribe(self, "switchyard/k/status", "switchyard/k/relay/+", "switchyard/k/reply")
        self.assertEqual(again.wait(lambda r, t, p: t == "switchyard/k/status")[::2], (True, "online"))
        for rid in RELAY_IDS:
            again.wait(lambda r, t, p, rid=rid: t == "switchyard/k/relay/" + rid and r)
        # A publisher that retries its command after the outage is told it
        # was a duplicate; the relay toggled once.
        broker.publish("switchyard/k/command", command)
        answer = again.wait_json("switchyard/k/reply",
                                 lambda obj: obj.get("id") == cid and obj.get("code") == "duplicate")
        self.assertEqual(answer["first"]["type"], "ack")
        self.assertEqual(run(relay_now(server, "aux"))["on"], not before)
        self.assertEqual([line["result"] for line in mqtt_audit(server, cid)], ["ok", "duplicate"])


@unittest.skipUnless(HAVE_TOOLS, "needs mosquitto and mosquitto-clients")
class Mirror(unittest.TestCase):
    """Instance b shows instance a's hardware through the broker."""

    def test_two_instances_mirror_through_the_broker(self):
        broker = start_broker(self)
        a = start_bridged(self, broker, "a", "--seed", "11")
        b = start_bridged(self, broker, "b", "--mqtt-mirror", "a")
        wait_for(lambda: api_status(b)["mqtt"]["mirror_online"], 10, "b sees a online")
        self.assertEqual(api_status(b)["mqtt"]["mirror"], "switchyard/a")

        async def go():
            ca = await Client.connect(a, RELAY)
            cb = await Client.connect(b, RELAY)
            sb = await Client.connect(b, SENSOR)
            try:
                self.assertEqual(cb.snapshot["chain"], [api_status(a)["instance"]])
                own = relays_by_id(ca.snapshot["relays"])
                mirrored = relays_by_id(cb.snapshot["relays"])
                for rid in RELAY_IDS:
                    self.assertTrue(mirrored[rid]["available"], mirrored[rid])
                    for field in ("name", "on", "interlock", "max_on_ms"):
                        self.assertEqual(mirrored[rid][field], own[rid][field], (rid, field))

                # A's readings, with A's sequence numbers, at B's clients.
                fresh = await sb.recv_until(lambda m: m.get("type") == "reading" and not m["stale"],
                                            what="a fresh mirrored reading")
                self.assertEqual(sorted(fresh["values"]), sorted(SENSOR_IDS))

                # A command at B switches A; both see it; the ack comes back.
                target = not own["heater"]["on"]
                answer = await cb.request({"type": "set", "id": "m1", "relay": "heater", "on": target},
                                          timeout=10)
                self.assertEqual(answer["type"], "ack", answer)
                self.assertEqual(answer["relay"]["on"], target)
                await ca.recv_until(lambda m: m.get("type") == "relay" and m["relay"]["id"] == "heater" and
                                    m["relay"]["on"] == target and not m["relay"]["pending"])
                self.assertTrue(any(m.get("type") == "relay" and m["relay"]["id"] == "heater" and
                                    m["relay"]["on"] == target for m in cb.seen), cb.seen[-3:])
                # B refuses what it can tell itself; A's refusals come back
                # with A's code.
                refusal = await cb.request({"type": "set", "id": "m2", "relay": "teleporter", "on": True})
                self.assertEqual(refusal["code"], "unknown-relay")
                self.assertTrue(target, "the heater starts off with seed 11")
                refusal = await cb.request({"type": "set", "id": "m3", "relay": own["heater"]["interlock"],
                                            "on": True}, timeout=10)
                self.assertEqual(refusal["code"], "interlock", refusal)

                # A goes away: B's relays become unavailable, its sensors stale.
                a.stop_checked(self)
                await cb.recv_until(lambda m: m.get("type") == "relay" and not m["relay"]["available"],
                                    timeout=10)
                await sb.recv_until(lambda m: m.get("type") == "reading" and
                                    sorted(m["stale"]) == sorted(SENSOR_IDS), timeout=10)
                answer = await cb.request({"type": "toggle", "id": "m4", "relay": "lamp"})
                self.assertEqual(answer["code"], "unavailable", answer)
            finally:
                for c in (ca, cb, sb):
                    await c.close()
        run(go(), timeout=90)
        # A's audit has B's commands, through the broker.
        results = [(line["command"]["id"].startswith("mirror-b-"), line["result"]) for line in mqtt_audit(a)]
        self.assertEqual(sorted(results), [(True, "interlock"), (True, "ok")])


@unittest.skipUnless(HAVE_TOOLS, "needs mosquitto and mosquitto-clients")
class Credentials(unittest.TestCase):

    def test_a_wrong_password_is_refused_visibly_and_websockets_carry_on(self):
        broker = start_broker(self, users={"bench": "s3cret-pass"})
        wrong = "mqtt://bench:wr0ng-pass@127.0.0.1:%d" % broker.port
        server = start_bench_server(self, "--mqtt", wrong, "--mqtt-instance", "auth")
        status = wait_for(lambda: (lambda s: s if s["state"] == "refused" else None)(api_status(server)["mqtt"]),
                          10, "the refusal shows in /api/status")
        self.assertIn("refused", status["problem"])
        self.assertIn("authori", status["problem"])
        self.assertEqual(status["url"], "mqtt://bench@127.0.0.1:%d" % broker.port)
        text = json.dumps(api_status(server)) + server.stderr_text()
        self.assertNotIn("wr0ng-pass", text)

        async def ws():
            c = await Client.connect(server, SENSOR)
            try:
                await c.recv_until(lambda m: m.get("type") == "reading")
            finally:
                await c.close()
        run(ws())

        good = start_bench_server(self, "--mqtt", "mqtt://bench:s3cret-pass@127.0.0.1:%d" % broker.port,
                                  "--mqtt-instance", "auth2")
        wait_for(lambda: mqtt_state(good) == "connected", 10, "the right password connects")
        sub_args = ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(broker.port), "-u", "bench",
                    "-P", "s3cret-pass", "-t", "switchyard/auth2/status", "-C", "1"]
        self.assertEqual(subprocess.run(sub_args, capture_output=True, text=True, timeout=10).stdout.strip(),
                         "online")
        self.assertNotIn("s3cret-pass", json.dumps(api_status(good)) + good.stderr_text())


@unittest.skipUnless(HAVE_TOOLS and shutil.which("openssl"), "needs mosquitto, its clients and openssl")
class Tls(unittest.TestCase):

    def test_mqtts_with_a_client_certificate(self):
        pki = TestPki(self)
        broker = start_broker(self, tls=pki)
        url = "mqtts://127.0.0.1:%d" % broker.port
        server = start_bench_server(self, "--mqtt", url, "--mqtt-instance", "tls", "--mqtt-role", "control",
                                    "--mqtt-ca", pki.ca, "--mqtt-cert", pki.client_cert, "--mqtt-key", pki.client_key)
        wait_for(lambda: mqtt_state(server) == "connected", 20, "the bridge connects over TLS")
        self.assertEqual(api_status(server)["mqtt"]["url"], url)
        sub_args = ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(broker.port), "--cafile", pki.ca,
                    "--cert", pki.client_cert, "--key", pki.client_key, "-t", "switchyard/tls/reading", "-C", "1"]
        reading = json.loads(subprocess.run(sub_args, capture_output=True, text=True, timeout=20).stdout)
        self.assertEqual(sorted(reading["values"]), sorted(SENSOR_IDS))

        # Without the client certificate the broker will not have it.
        refused = start_bench_server(self, "--mqtt", url, "--mqtt-instance", "tls2", "--mqtt-ca", pki.ca)
        status = wait_for(lambda: (lambda s: s if s["problem"] not in (None, "connecting") else None)(
            api_status(refused)["mqtt"]), 20, "the failed handshake shows in /api/status")
        self.assertNotEqual(status["state"], "connected", status)

        # Nor does the bridge trust a broker whose certificate it cannot check.
        untrusted = start_bench_server(self, "--mqtt", url, "--mqtt-instance", "tls3",
                                       "--mqtt-cert", pki.client_cert, "--mqtt-key", pki.client_key)
        wait_for(lambda: api_status(untrusted)["mqtt"]["problem"] not in (None, "connecting"), 20,
                 "the untrusted broker shows in /api/status")
        self.assertNotEqual(mqtt_state(untrusted), "connected")


class Options(unittest.TestCase):

    def test_bad_mqtt_options_exit_2_with_a_clear_message(self):
        for args, words in ((["--mqtt", "http://127.0.0.1:1883"], "scheme must be mqtt or mqtts"),
                            (["--mqtt", "mqtt://"], "no host"),
                            (["--mqtt", "mqtt://127.0.0.1/some/topic"], "names a broker only"),
                            (["--mqtt", "not a url"], "Invalid MQTT broker URL"),
                            (["--mqtt", "mqtt://127.0.0.1", "--mqtt-instance", "a/b"], "instance name"),
                            (["--mqtt", "mqtt://127.0.0.1", "--mqtt-prefix", "x/#"], "prefix"),
                            (["--mqtt", "mqtt://127.0.0.1", "--mqtt-role", "admin"], "view or control"),
                            (["--mqtt", "mqtt://127.0.0.1", "--mqtt-instance", "a", "--mqtt-mirror", "a"],
                             "cannot mirror itself"),
                            (["--mqtt", "mqtt://127.0.0.1", "--mqtt-ca", "/x.pem"], "mqtts://"),
                            (["--mqtt", "mqtts://127.0.0.1", "--mqtt-ca", "/nonexistent/ca.pem"],
                             "Cannot read the MQTT certificate file /nonexistent/ca.pem"),
                            (["--mqtt-role", "control"], "go with --mqtt"),
                            (["--mqtt", "mqtt://127.0.0.1", "--mqtt-mirror", "x", "--uplink",
                              "ws://127.0.0.1:1/ws"],
                             "cannot go together" if WITH_MQTT else "built without MQTT")):
            done = wsraw.run_options(*args)
            self.assertEqual(done.returncode, 2, (args, done.stderr))
            self.assertIn(words, done.stderr, args)
            self.assertEqual(done.stdout, "", args)


if __name__ == "__main__":
    unittest.main(verbosity=2)
