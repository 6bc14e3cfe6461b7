#!/usr/bin/python3
"""Program-backed subprotocols (--subprotocol, subprotocols.ini) end to end:
real `switchyard --headless`, real programs (cat, sleep, Python and shell
scripts in tests/wire/programs), raw WebSocket clients.

Processes are checked through /proc: the server's children, and whether a
pid still runs. Nothing sleeps for a fixed time: every wait is for a
condition, with a deadline.
"""

import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import wsraw  # noqa: E402
from wsraw import OP_BINARY, OP_TEXT, TIME_SCALE  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
PROGRAMS = os.path.join(HERE, "programs")
PY = "/usr/bin/python3"
MAX_MESSAGE_SIZE = 8192


def program(*argv):
    return " ".join(shlex.quote(a) for a in argv)


def children_of(pid):
    """The pids whose parent is `pid`, over all its threads."""
    found = set()
    try:
        tasks = os.listdir("/proc/%d/task" % pid)
    except FileNotFoundError:
        return found
    for tid in tasks:
        try:
            with open("/proc/%d/task/%s/children" % (pid, tid)) as f:
                found.update(int(p) for p in f.read().split())
        except FileNotFoundError:
            pass
    return found


def alive(pid):
    """Whether `pid` runs (a zombie does not)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def comm(pid):
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip()
    except FileNotFoundError:
        return None


def wait_until(condition, timeout=5.0):
    """Polls `condition` until it holds or the deadline passes; returns its
    last value."""
    deadline = time.monotonic() + timeout * TIME_SCALE
    while True:
        value = condition()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(0.02)


def control_path(server):
    return "/ws?" + server.control_url.split("?", 1)[1]


def connect(server, protocol, path=None, extra=None):
    return wsraw.ws_connect(server.address, path=path or control_path(server),
                            protocols=[protocol], extra=extra)


def recv_text(ws, timeout=5.0):
    opcode, payload = ws.recv_message(timeout * TIME_SCALE)
    assert opcode == OP_TEXT, "expected text, got opcode %d" % opcode
    return payload.decode("utf-8")


def start(testcase, *args, env=None, state_dir=None):
    """A headless server with its own state directory, killed by cleanups."""
    adder = testcase.addClassCleanup if isinstance(testcase, type) else testcase.addCleanup
    if state_dir is None:
        state_dir = tempfile.mkdtemp(prefix="sy-wire-programs-")
        adder(shutil.rmtree, state_dir, True)
    server = wsraw.Server("--state-dir", state_dir, *args, env=env)
    adder(server.kill)
    server.start()
    server.state_dir = state_dir
    return server


class PerConnectionTest(unittest.TestCase):
    """One server with several programs; every test leaves no process behind."""

    @classmethod
    def setUpClass(cls):
        env = dict(os.environ)
        # What the server has in its environment must not reach programs.
        env["SY_TEST_PRIVATE"] = "do-not-pass-this-on"
        cls.server = start(
            cls,
            "--max-message-size", str(MAX_MESSAGE_SIZE),
            "--subprotocol", "cat.v1=cat",
            "--subprotocol", "viewcat.v1;view=cat",
            "--subprotocol", "probe.v1=" + program(PY, os.path.join(PROGRAMS, "probe.py")),
            "--subprotocol", "sleep.v1=sleep 600",
            "--subprotocol", "stubborn.v1=" + program(PY, os.path.join(PROGRAMS, "stubborn.py")),
            "--subprotocol", "frames.v1;binary=" + program(PY, os.path.join(PROGRAMS, "frames.py")),
            "--subprotocol", "missing.v1=/nonexistent/switchyard-program --flag",
            env=env)
        cls.pid = cls.server.proc.pid

    @classmethod
    def tearDownClass(cls):
        code, _ = cls.server.stop()
        assert code == 0, "server exit status %r; stderr:\n%s" % (code, cls.server.stderr_text()[-3000:])

    def setUp(self):
        self.assertEqual(wait_until(lambda: not children_of(self.pid)), True,
                         "a previous test left processes: %r" % children_of(self.pid))

    def assertNoChildren(self, timeout=5.0):
        self.assertTrue(wait_until(lambda: not children_of(self.pid), timeout),
                        "the server still has children: %r" % children_of(self.pid))

    def new_child(self, before=frozenset()):
        """The one process the server started since `before`."""
        new = wait_until(lambda: children_of(self.pid) - set(before))
        self.assertEqual(len(new), 1, new)
        return new.pop()

    def log_has(self, *parts, timeout=5.0):
        def found():
            return any(all(p in line for p in parts) for line in self.server.stderr_text().splitlines())
        return wait_until(found, timeout)

    def test_cat_echoes_each_message_and_is_reaped_on_close(self):
        ws = connect(self.server, "cat.v1")
        self.assertEqual(ws.protocol, "cat.v1")
        pid = self.new_child()
        self.assertEqual(comm(pid), "cat")
        for text in ["hello", "", "h\u00e9llo \u20ac \U0001f600", "x" * 5000]:
            ws.send_text(text)
            self.assertEqual(recv_text(ws), text)
        code, _ = ws.close()
        self.assertEqual(code, 1000)
        self.assertTrue(wait_until(lambda: not alive(pid)), "cat still runs after its connection closed")
        self.assertNoChildren()

    def test_program_gets_the_connection_in_its_environment_and_nothing_else(self):
        ws = connect(self.server, "probe.v1")
        hello = json.loads(recv_text(ws))
        env = hello["env"]
        status = self.server.status()
        local = ws.conn.sock.getsockname()
        self.assertEqual(env["SWITCHYARD_SUBPROTOCOL"], "probe.v1")
        self.assertEqual(env["SWITCHYARD_ROLE"], "control")
        self.assertEqual(env["SWITCHYARD_PEER"], "%s:%d" % local)
        self.assertEqual(env["SWITCHYARD_MODE"], "per-connection")
        self.assertEqual(env["SWITCHYARD_ORIGIN"], "")
        self.assertEqual(env["SWITCHYARD_INSTANCE"], status["instance"])
        self.assertEqual(env["SWITCHYARD_SESSION"],
                         status["instance"] + "-" + env["SWITCHYARD_CONNECTION_ID"])
        self.assertEqual(env["SWITCHYARD_MAX_MESSAGE_SIZE"], str(MAX_MESSAGE_SIZE))
        self.assertEqual(env["PYTHONUNBUFFERED"], "1")
        self.assertNotIn("SY_TEST_PRIVATE", env)
        allowed = {"PATH", "HOME", "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "LC_MESSAGES", "TZ",
                   "TMPDIR", "USER", "LOGNAME", "PYTHONUNBUFFERED", "PWD", "SHLVL", "_"}
        self.assertEqual({k for k in env if not k.startswith("SWITCHYARD_")} - allowed, set())
        token = self.server.control_url.split("token=", 1)[1]
        for key, value in env.items():
            self.assertNotIn(token, value, key)
            self.assertNotIn("secret", value.lower(), key)
        # The connections list and the log know the process.
        self.assertTrue(self.log_has("#%s " % env["SWITCHYARD_CONNECTION_ID"], "probe.v1",
                                     "served by process %d" % hello["pid"]))
        ws.close()
        self.assertNoChildren()

    def test_exit_status_picks_the_close_code(self):
        ws = connect(self.server, "probe.v1")
        recv_text(ws)
        ws.send_text("crash")
        with self.assertRaises(wsraw.ClosedByServer) as caught:
            recv_text(ws)
        self.assertEqual((caught.exception.code, caught.exception.reason),
                         (1011, "the program exited with status 3"))
        ws.conn.close()

        ws = connect(self.server, "probe.v1")
        recv_text(ws)
        ws.send_text("exit")
        self.assertEqual(recv_text(ws), "bye")
        with self.assertRaises(wsraw.ClosedByServer) as caught:
            recv_text(ws)
        self.assertEqual((caught.exception.code, caught.exception.reason),
                         (1000, "the program exited with status 0"))
        ws.conn.close()
        self.assertNoChildren()

    def test_stderr_lines_go_to_the_log_with_the_connection(self):
        ws = connect(self.server, "probe.v1")
        env = json.loads(recv_text(ws))["env"]
        ws.send_text("stderr a line for the log 4711")
        self.assertEqual(recv_text(ws), "ok")
        self.assertTrue(self.log_has("#%s %s probe.v1" % (env["SWITCHYARD_CONNECTION_ID"], env["SWITCHYARD_PEER"]),
                                     "stderr: a line for the log 4711"),
                        self.server.stderr_text()[-2000:])
        ws.close()
        self.assertNoChildren()

    def test_binary_message_is_refused_with_1003(self):
        ws = connect(self.server, "cat.v1")
        ws.send_binary(b"\x00\x01")
        self.assertEqual(ws.read_until_close(), (1003, "this subprotocol takes text messages only"))
        ws.conn.close()
        self.assertNoChildren()

    def test_line_break_in_a_message_is_refused_with_1007(self):
        ws = connect(self.server, "cat.v1")
        ws.send_text("one\ntwo")
        code, reason = ws.read_until_close()
        self.assertEqual(code, 1007)
        self.assertIn("line break", reason)
        ws.conn.close()
        self.assertNoChildren()

    def test_stdout_line_over_the_message_limit_closes_with_1011(self):
        ws = connect(self.server, "probe.v1")
        recv_text(ws)
        ws.send_text("big %d" % (MAX_MESSAGE_SIZE - 1))
        self.assertEqual(len(recv_text(ws)), MAX_MESSAGE_SIZE - 1)
        ws.send_text("big %d" % (MAX_MESSAGE_SIZE * 3))
        self.assertEqual(ws.read_until_close(), (1011, "the program wrote a message over the size limit"))
        ws.conn.close()
        self.assertNoChildren()

    def test_program_output_is_paced_by_the_client_not_lost(self):
        ws = connect(self.server, "probe.v1")
        recv_text(ws)
        ws.send_text("flood")
        for i in range(20000):
            line = recv_text(ws, timeout=30)
            self.assertTrue(line.startswith("line %d " % i), line[:40])
        ws.close()
        self.assertNoChildren()

    def test_program_that_never_reads_gets_its_connection_closed_with_1008(self):
        ws = connect(self.server, "sleep.v1")
        pid = self.new_child()
        message = wsraw.build_frame(OP_TEXT, b"z" * 1000)
        # The pipe takes about 64 kB; the queue 256 messages. 600 is past both
        # and still fits the socket buffers, so the close frame gets through.
        ws.send_raw(message * 600)
        code, reason = ws.read_until_close(timeout=10 * TIME_SCALE)
        self.assertEqual((code, reason), (1008, "the program is not reading its input"))
        ws.conn.close()
        self.assertTrue(wait_until(lambda: not alive(pid)))
        self.assertNoChildren()
        wsraw.assert_echoes(self, self.server, "after a program that never reads")

    def test_grandchildren_end_with_their_connection(self):
        ws = connect(self.server, "probe.v1")
        recv_text(ws)
        ws.send_text("spawn")
        grandchild = int(recv_text(ws))
        self.assertTrue(alive(grandchild))
        ws.close()
        self.assertTrue(wait_until(lambda: not alive(grandchild)), "the program's own child survived")
        self.assertNoChildren()

    def test_program_that_ignores_sigterm_is_killed(self):
        ws = connect(self.server, "stubborn.v1")
        pid = int(recv_text(ws))
        ws.close()
        self.assertTrue(wait_until(lambda: not alive(pid), timeout=10), "SIGKILL did not follow")
        self.assertTrue(self.log_has("process %d" % pid, "sending SIGKILL"))
        self.assertNoChildren()

    def test_client_that_vanishes_ends_its_process(self):
        ws = connect(self.server, "cat.v1")
        pid = self.new_child()
        ws.abort()
        self.assertTrue(wait_until(lambda: not alive(pid)))
        self.assertNoChildren()

    def test_length_prefixed_binary_mode(self):
        ws = connect(self.server, "frames.v1")
        # Frames carry line breaks too.
        self.assertEqual(ws.echo(OP_TEXT, b"abc\ndef"), (OP_TEXT, b"fed\ncba"))
        self.assertEqual(ws.echo(OP_BINARY, b"\x00\x01\x02\xff"), (OP_BINARY, b"\xff\x02\x01\x00"))
        self.assertEqual(ws.echo(OP_TEXT, b"binary"), (OP_BINARY, bytes(range(256))))
        ws.close()
        self.assertNoChildren()

    def test_program_that_cannot_start_is_a_500_refusal_and_a_log_line(self):
        conn, resp = wsraw.ws_handshake_raw(self.server.address, path=control_path(self.server),
                                            protocols=["missing.v1"])
        conn.close()
        self.assertEqual(resp.status, 500)
        self.assertIn("The program behind missing.v1 cannot be started", resp.text)
        self.assertIn("/nonexistent/switchyard-program", resp.text)
        self.assertTrue(self.log_has("refused with 500", "missing.v1"))
        self.assertNoChildren()
        wsraw.assert_echoes(self, self.server, "after a program that cannot start")

    def test_role_is_enforced_before_any_process_starts(self):
        # Control is the default: no token is 401, a view token 403.
        conn, resp = wsraw.ws_handshake_raw(self.server.address, path="/ws", protocols=["cat.v1"])
        conn.close()
        self.assertEqual(resp.status, 401, resp.text)
        conn, resp = wsraw.ws_handshake_raw(self.server.address, path=self.server.ws_path(),
                                            protocols=["cat.v1"])
        conn.close()
        self.assertEqual(resp.status, 403, resp.text)
        self.assertIn("cat.v1 needs the control role", resp.text)
        self.assertEqual(children_of(self.pid), set())
        # ;view lets loopback watchers in without a token.
        ws = connect(self.server, "viewcat.v1", path="/ws")
        ws.send_text("seen")
        self.assertEqual(recv_text(ws), "seen")
        ws.close()
        self.assertNoChildren()

    def test_foreign_origin_is_refused_before_any_process_starts(self):
        conn, resp = wsraw.ws_handshake_raw(self.server.address, path=control_path(self.server),
                                            protocols=["cat.v1"],
                                            extra=[("Origin", "http://evil.example")])
        conn.close()
        self.assertEqual(resp.status, 403, resp.text)
        self.assertEqual(children_of(self.pid), set())
        own = "http://%s:%d" % self.server.address
        ws = connect(self.server, "cat.v1", extra=[("Origin", own)])
        ws.send_text("same origin")
        self.assertEqual(recv_text(ws), "same origin")
        ws.close()
        self.assertNoChildren()

    def test_status_lists_the_programs(self):
        names = self.server.status()["subprotocols"]
        for name in ["cat.v1", "viewcat.v1", "probe.v1", "frames.v1", "missing.v1"]:
            self.assertIn(name, names)
        self.assertIn("switchyard.echo.v1", names)


class SharedTest(unittest.TestCase):

    def setUp(self):
        self.server = start(self, "--subprotocol",
                            "chat.v1;shared;view=" + program(PY, os.path.join(PROGRAMS, "shared.py")))
        self.pid = self.server.proc.pid

    def join(self):
        ws = connect(self.server, "chat.v1", path=self.server.ws_path())
        # Broadcasts about others ("left …") may come before the welcome.
        text = recv_text(ws)
        while text.startswith("left "):
            text = recv_text(ws)
        return ws, json.loads(text)

    def test_one_process_serves_every_connection_through_the_envelope(self):
        a, welcome_a = self.join()
        b, welcome_b = self.join()
        self.assertEqual(welcome_a["pid"], welcome_b["pid"])
        self.assertNotEqual(welcome_a["welcome"], welcome_b["welcome"])
        self.assertEqual(welcome_a["role"], "view")
        self.assertEqual(welcome_b["peer"], "%s:%d" % b.conn.sock.getsockname())
        self.assertEqual(welcome_b["session"], self.server.status()["instance"] + "-" + welcome_b["welcome"])
        self.assertEqual(children_of(self.pid), {welcome_a["pid"]})

        a.send_text("hi")
        self.assertEqual(recv_text(a), "echo hi")
        a.send_text("all to everyone")
        self.assertEqual(recv_text(a), "to everyone")
        self.assertEqual(recv_text(b), "to everyone")

        # Lines that are not envelopes are logged and ignored.
        log = self.server.stderr_text()
        self.assertIn("ignoring a line that is not an envelope", log)
        self.assertIn("this is not JSON", log)

        b.send_text("bye")
        self.assertEqual(recv_text(b), "closing you")
        self.assertEqual(b.read_until_close(), (4000, "asked to"))
        b.conn.close()
        self.assertTrue(recv_text(a).startswith("left %s " % welcome_b["welcome"]))

        # The process outlives its connections...
        a.close()
        self.assertTrue(alive(welcome_a["pid"]))
        c, welcome_c = self.join()
        self.assertEqual(welcome_c["pid"], welcome_a["pid"])
        # ...and is reaped at shutdown, after its clients heard 1001.
        self.server.send_signal(signal.SIGTERM)
        self.assertEqual(c.read_until_close(), (1001, "server shutting down"))
        c.conn.close()
        self.assertEqual(self.server.wait(5 * TIME_SCALE), 0)
        self.assertFalse(alive(welcome_a["pid"]))

    def test_when_the_process_exits_its_connections_close_and_the_next_starts_a_new_one(self):
        a, welcome_a = self.join()
        b, _ = self.join()
        a.send_text("die")
        for ws in (a, b):
            self.assertEqual(ws.read_until_close(), (1011, "the program exited with status 5"))
            ws.conn.close()
        self.assertTrue(wait_until(lambda: not alive(welcome_a["pid"])))
        c, welcome_c = self.join()
        self.assertNotEqual(welcome_c["pid"], welcome_a["pid"])
        c.close()


class ShutdownTest(unittest.TestCase):

    def test_sigterm_closes_with_1001_and_reaps_every_process(self):
        server = start(self,
                       "--subprotocol", "cat.v1=cat",
                       "--subprotocol", "stubborn.v1=" + program(PY, os.path.join(PROGRAMS, "stubborn.py")),
                       "--subprotocol", "probe.v1=" + program(PY, os.path.join(PROGRAMS, "probe.py")))
        cat = connect(server, "cat.v1")
        cat.send_text("up")
        self.assertEqual(recv_text(cat), "up")
        stubborn = connect(server, "stubborn.v1")
        pids = [int(recv_text(stubborn))]
        probe = connect(server, "probe.v1")
        pids.append(json.loads(recv_text(probe))["pid"])
        probe.send_text("spawn")
        pids.append(int(recv_text(probe)))
        pids.extend(children_of(server.proc.pid))
        self.assertEqual(len(set(pids)), 4, pids)

        t0 = time.monotonic()
        server.send_signal(signal.SIGTERM)
        for ws in (cat, stubborn, probe):
            self.assertEqual(ws.read_until_close(), (1001, "server shutting down"))
            ws.conn.close()
        self.assertEqual(server.wait(5 * TIME_SCALE), 0, server.stderr_text()[-2000:])
        self.assertLess(time.monotonic() - t0, 2.0 * TIME_SCALE)
        for pid in pids:
            self.assertFalse(alive(pid), "process %d (%s) outlived the server" % (pid, comm(pid)))


class ConfigurationTest(unittest.TestCase):

    def run_server(self, *args, state_dir=None):
        if state_dir is None:
            state_dir = tempfile.mkdtemp(prefix="sy-wire-programs-")
            self.addCleanup(shutil.rmtree, state_dir, True)
        return subprocess.run([wsraw.binary_path(), "--headless", "--port", "0", "--state-dir", state_dir]
                              + list(args), stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=10 * TIME_SCALE)

    def test_bad_specs_exit_2_with_a_message(self):
        cases = [
            ("no-equals-sign", "NAME[;OPTION…]=PROGRAM"),
            ("bad name=cat", "not a valid subprotocol name"),
            ("switchyard.echo.v1=cat", "belong to Switchyard's own subprotocols"),
            ("Switchyard.mine=cat", "belong to Switchyard's own subprotocols"),
            ("x.v1;sometimes=cat", "unknown option “sometimes”"),
            ("x.v1=", "no program to run"),
            ("x.v1='unclosed", "no program to run"),
            ("x.v1;shared;binary=cat", "per-connection programs only"),
        ]
        for spec, message in cases:
            with self.subTest(spec=spec):
                result = self.run_server("--subprotocol", spec)
                self.assertEqual(result.returncode, 2, result.stderr)
                self.assertIn(message, result.stderr)

    def test_same_name_twice_on_the_command_line_exits_2(self):
        result = self.run_server("--subprotocol", "x.v1=cat", "--subprotocol", "x.v1=cat -u")
        self.assertEqual(result.returncode, 2)
        self.assertIn("--subprotocol x.v1 is given twice", result.stderr)

    def test_subprotocols_ini_in_the_state_directory(self):
        state_dir = tempfile.mkdtemp(prefix="sy-wire-programs-")
        self.addCleanup(shutil.rmtree, state_dir, True)
        with open(os.path.join(state_dir, "subprotocols.ini"), "w") as f:
            f.write("# Programs behind subprotocols\n"
                    "[file.v1]\ncommand=cat\nrole=view\n\n"
                    "[upper.v1]\ncommand=sed -u y/abc/ABC/\nmode=per-connection\nbinary=refuse\n\n"
                    "[both.v1]\ncommand=cat\n")
        server = start(self, "--subprotocol", "both.v1;view=sed -u y/aflgnsiw/AFLGNSIW/", state_dir=state_dir)
        names = server.status()["subprotocols"]
        for name in ("file.v1", "upper.v1", "both.v1"):
            self.assertIn(name, names)
        ws = connect(server, "file.v1", path="/ws")
        ws.send_text("from the file")
        self.assertEqual(recv_text(ws), "from the file")
        ws.close()
        # The command line's both.v1 replaced the file's (and its role).
        ws = connect(server, "both.v1", path="/ws")
        ws.send_text("flag wins")
        self.assertEqual(recv_text(ws), "FLAG WINS")
        ws.close()
        server.stop_checked(self)

    def test_bad_subprotocols_ini_exits_2_naming_the_file(self):
        cases = [
            ("[x.v1]\ncommand=cat\nmode=sometimes\n", "mode must be per-connection or shared"),
            ("[x.v1]\nmode=shared\n", "no program to run"),
            ("[x.v1]\ncommand=cat\ncolour=blue\n", "unknown key “colour”"),
            ("[switchyard.log.v1]\ncommand=cat\n", "belong to Switchyard's own subprotocols"),
            ("not a key file\n", "subprotocols.ini"),
        ]
        for text, message in cases:
            with self.subTest(text=text):
                state_dir = tempfile.mkdtemp(prefix="sy-wire-programs-")
                self.addCleanup(shutil.rmtree, state_dir, True)
                path = os.path.join(state_dir, "subprotocols.ini")
                with open(path, "w") as f:
                    f.write(text)
                result = self.run_server(state_dir=state_dir)
                self.assertEqual(result.returncode, 2, result.stderr)
                self.assertIn(message, result.stderr)
                self.assertIn(path, result.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
