#!/usr/bin/python3
"""Switchyard's benchmark against peer servers (bench/README.md).

    /usr/bin/python3 bench/run.py [--quick] [--only rtt,throughput,…]
                                  [--servers switchyard,node-ws,…] [--no-pin]
                                  [--build-dir DIR] [--no-setup]

Installs what is missing (Debian packages, the Node packages of bench/ and
tests/browser/), builds with meson if needed, then starts each server on
loopback, drives it with the same load client (build/bench/switchyard-load)
and writes bench/results/<UTC date-time>/: results.json, results.md and SVG
plots. Scenarios (issue 8):

  rtt         1. round trips, one connection, 32-byte text; raw TCP baseline
  throughput  2. N connections × 16 in flight, for several N (50 is the headline)
  fanout      3. Switchyard's sensor stream to 100 and 1,000 clients
  memory      4. resident memory per idle connection, 1,000 and 5,000 connections
  browser     5. round trips from headless Chromium through a page's WebSocket
  large       6. binary echo of 1 KB to 1 MB messages

Nothing here talks to anything but 127.0.0.1, except apt-get and npm ci in
the set-up step (skipped with --no-setup, or when nothing is missing).
"""

import argparse
import datetime
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))
import plot  # noqa: E402  (bench/plot.py, next to this file)

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
PYTHON = "/usr/bin/python3"

SCENARIOS = ["rtt", "throughput", "fanout", "memory", "browser", "large"]
SERVERS = ["switchyard", "libsoup", "libwebsockets", "node-ws", "python-websockets"]
ECHO_PROTOCOL = "switchyard.echo.v1"
SENSOR_PROTOCOL = "switchyard.sensor.v1"

# What the app's build needs (build-aux/dev.sh's RUN_PACKAGES), then what the
# peer servers and the browser scenario need.
APT_PACKAGES = [
    "build-essential", "meson", "ninja-build", "pkg-config", "gettext",
    "libgtk-4-dev", "libsoup-3.0-dev", "libwebkitgtk-6.0-dev", "libjson-glib-dev",
    "libadwaita-1-dev", "desktop-file-utils", "appstream", "libqrencode-dev",
    "librsvg2-common",
    "libwebsockets-dev", "python3", "python3-websockets", "chromium", "util-linux",
]

# The durations and counts of a full run and of a smoke run (--quick).
FULL = {
    "rtt_count": 10000, "rtt_warmup": 1000, "rtt_size": 32,
    "throughput_connections": [1, 10, 50, 200], "throughput_headline": 50,
    "throughput_inflight": 16, "throughput_size": 32, "throughput_duration": 5,
    "fanout_tick_hz": 1000, "fanout_runs": [[100, 1000], [200, 1000], [1000, 10], [1000, 100]],
    "fanout_duration": 10,
    "memory_connections": [1000, 5000], "memory_settle_s": 2,
    "browser_count": 10000, "browser_warmup": 1000, "browser_size": 32,
    "large_sizes": [1024, 16384, 131072, 1048576], "large_count": 200,
}
QUICK = dict(FULL, **{
    "rtt_count": 2000, "rtt_warmup": 200,
    "throughput_connections": [10, 50], "throughput_duration": 1,
    "fanout_duration": 2,
    "memory_settle_s": 1,
    "browser_count": 1000, "browser_warmup": 100,
    "large_count": 10,
})

SERVER_NOTES = {
    "switchyard": "build/app/switchyard --headless, switchyard.echo.v1 (and switchyard.sensor.v1 for fan-out)",
    "libsoup": "bench/peers/soup-echo.c: stock libsoup 3 soup_server_add_websocket_handler echo",
    "libwebsockets": "bench/peers/lws-echo.c: libwebsockets echo, one service loop",
    "node-ws": "bench/peers/ws-echo.mjs: Node ws WebSocketServer echo",
    "python-websockets": "bench/peers/py-echo.py: Debian python3-websockets asyncio echo",
}


class BenchError(Exception):
    pass


def log(text):
    print(f"==> {text}", flush=True)


def run_quiet(command, **kwargs):
    return subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, **kwargs)


def output_of(command):
    try:
        result = run_quiet(command, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout.strip() if result.returncode == 0 else None


# Set-up: packages, node modules, build

def install_missing(packages):
    missing = []
    for package in packages:
        status = output_of(["dpkg-query", "-W", "-f=${Status}", package]) or ""
        if "install ok installed" not in status:
            missing.append(package)
    if not missing:
        return
    log(f"installing {' '.join(missing)}")
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    subprocess.run(sudo + ["apt-get", "update", "-q"], check=True)
    subprocess.run(sudo + ["env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install",
                           "-y", "-q", "--no-install-recommends"] + missing, check=True)


def install_node_modules(directory):
    modules = directory / "node_modules"
    lock = directory / "package-lock.json"
    if modules.is_dir() and modules.stat().st_mtime >= lock.stat().st_mtime:
        return
    log(f"installing the node modules of {directory.relative_to(ROOT)}")
    subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=directory, check=True)
    modules.touch()


def set_up(args):
    packages = list(APT_PACKAGES)
    # Node and npm from Debian unless the machine has them (as build-aux/dev.sh).
    if shutil.which("node") is None:
        packages.append("nodejs")
    if shutil.which("npm") is None:
        packages.append("npm")
    install_missing(packages)
    install_node_modules(BENCH)
    install_node_modules(ROOT / "tests" / "browser")


def build(build_dir):
    if not (build_dir / "build.ninja").exists():
        log(f"configuring {build_dir}")
        subprocess.run(["meson", "setup", str(build_dir)], cwd=ROOT, check=True)
    ninja_file = (build_dir / "build.ninja").read_text()
    have_lws = output_of(["pkg-config", "--exists", "libwebsockets"]) is not None
    if have_lws and "bench/lws-echo" not in ninja_file:
        log(f"reconfiguring {build_dir} for libwebsockets")
        subprocess.run(["meson", "setup", "--reconfigure", str(build_dir)], cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL)
        ninja_file = (build_dir / "build.ninja").read_text()
    targets = ["app/switchyard", "bench/switchyard-load", "bench/soup-echo"]
    if "bench/lws-echo" in ninja_file:
        targets.append("bench/lws-echo")
    log(f"building {' '.join(targets)} in {build_dir}")
    subprocess.run(["ninja", "-C", str(build_dir)] + targets, check=True)
    return set(targets)


# The machine

def machine_description():
    model = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_kb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_kb = int(line.split()[1])
    except OSError:
        pass
    os_name = None
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                os_name = line.split("=", 1)[1].strip('"')
    except OSError:
        pass
    return {
        "cpu_model": model or platform.processor() or "unknown",
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)),
        "kernel": platform.release(),
        "os": os_name,
        "memory_mb": round(memory_kb / 1024) if memory_kb else None,
        "hostname": platform.node(),
    }


def versions():
    def npm_version(directory, package):
        try:
            data = json.loads((directory / "node_modules" / package / "package.json").read_text())
            return data.get("version")
        except (OSError, ValueError):
            return None

    commit = output_of(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"])
    if commit and output_of(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"]):
        commit += " (with uncommitted changes)"
    chromium = output_of(["/usr/bin/chromium", "--version"])
    return {
        "switchyard_commit": commit,
        "libsoup": output_of(["pkg-config", "--modversion", "libsoup-3.0"]),
        "glib": output_of(["pkg-config", "--modversion", "glib-2.0"]),
        "libwebsockets": (output_of(["pkg-config", "--modversion", "libwebsockets"]) or "").rstrip("-") or None,
        "node": output_of(["node", "--version"]),
        "ws": npm_version(BENCH, "ws"),
        "python": platform.python_version(),
        "python_websockets": output_of([PYTHON, "-c", "import websockets; print(websockets.__version__)"]),
        "chromium": next((line for line in (chromium or "").splitlines()
                          if line.startswith("Chromium")), None),
        "playwright_core": npm_version(ROOT / "tests" / "browser", "playwright-core"),
        "gcc": (output_of(["cc", "--version"]) or "").split("\n")[0] or None,
    }


def loadavg():
    try:
        return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]
    except OSError:
        return None


def raise_fd_limit(needed):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < needed:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (needed, needed))
            return needed
        except (ValueError, OSError):
            pass
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def vm_rss_kb(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise BenchError(f"no VmRSS for process {pid}")


# Processes

def wait_for_line(path, pattern, process, timeout, what):
    """Polls a log file until a line matches; returns the match."""
    regex = re.compile(pattern, re.MULTILINE)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            match = regex.search(path.read_text(errors="replace"))
        except OSError:
            match = None
        if match:
            return match
        if process.poll() is not None:
            raise BenchError(f"{what} exited with status {process.returncode} before it was ready "
                             f"(log: {path})")
        time.sleep(0.02)
    raise BenchError(f"{what} was not ready within {timeout} s (log: {path})")


class Run:
    """One benchmark run: options, pinning, paths and everything measured."""

    def __init__(self, args, built):
        self.args = args
        self.config = QUICK if args.quick else FULL
        self.build_dir = args.build_dir
        self.load = self.build_dir / "bench" / "switchyard-load"
        self.work = Path(tempfile.mkdtemp(prefix="switchyard-bench-"))
        self.failed = False
        cpus = sorted(os.sched_getaffinity(0))
        self.pin = args.pin
        self.server_cpu = cpus[0]
        self.other_cpu = cpus[1] if len(cpus) > 1 else cpus[0]
        self.servers = [s for s in args.servers
                        if s != "libwebsockets" or "bench/lws-echo" in built]
        self.skipped_servers = [s for s in args.servers if s not in self.servers]
        self.results = {
            "scenarios": {},
            "errors": [],
        }
        self.sequence = 0

    # Pinning

    def pinning(self):
        if not self.pin:
            return {"enabled": False, "description": "not pinned (--no-pin): the scheduler places "
                                                     "servers and clients"}
        return {
            "enabled": True,
            "server_cpu": self.server_cpu,
            "latency_client_cpu": self.server_cpu,
            "other_client_cpu": self.other_cpu,
            "description": (
                f"servers on CPU {self.server_cpu} (taskset); the load client on CPU {self.server_cpu} "
                f"too for round trips (scenario 1 and its raw-TCP baseline: on these machines a "
                f"same-core loopback round trip is about 4 times faster and much steadier than one "
                f"across cores), on CPU {self.other_cpu} for every other "
                f"scenario; the browser (node + Chromium) on CPU {self.other_cpu}"),
        }

    def taskset(self, cpu):
        return ["taskset", "-c", str(cpu)] if self.pin else []

    def client_cpu(self, latency):
        if not self.pin:
            return []
        return ["--cpu", str(self.server_cpu if latency else self.other_cpu)]

    # Servers

    def start_server(self, name, scenario, extra=()):
        self.sequence += 1
        log_path = self.work / f"{self.sequence:03d}-{scenario}-{name}.log"
        if name == "switchyard":
            state = self.work / f"{self.sequence:03d}-state"
            state.mkdir()
            command = [str(self.build_dir / "app" / "switchyard"), "--headless", "--port", "0",
                       "--state-dir", str(state), "--max-connections", "6000", "--peer-rate", "0"]
            pattern = r"^view-url: https?://127\.0\.0\.1:(\d+)/"
        elif name == "libsoup":
            command = [str(self.build_dir / "bench" / "soup-echo"), "--port", "0"]
            pattern = r"^listening (\d+)$"
        elif name == "libwebsockets":
            command = [str(self.build_dir / "bench" / "lws-echo"), "--port", "0"]
            pattern = r"^listening (\d+)$"
        elif name == "node-ws":
            command = ["node", str(BENCH / "peers" / "ws-echo.mjs"), "--port", "0"]
            pattern = r"^listening (\d+)$"
        elif name == "python-websockets":
            command = [PYTHON, str(BENCH / "peers" / "py-echo.py"), "--port", "0"]
            pattern = r"^listening (\d+)$"
        else:
            raise BenchError(f"unknown server {name}")
        command += list(extra)
        with open(log_path, "w") as out:
            process = subprocess.Popen(self.taskset(self.server_cpu) + command, stdin=subprocess.DEVNULL,
                                       stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
        try:
            port = int(wait_for_line(log_path, pattern, process, 30, name).group(1))
        except BenchError:
            self.stop(process, name)
            raise
        return process, f"ws://127.0.0.1:{port}/ws"

    def stop(self, process, name):
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                self.note_error("stop", name, "did not exit within 15 s of SIGTERM: killed")
                return
        if process.returncode not in (0, -signal.SIGTERM):
            self.note_error("stop", name, f"exited with status {process.returncode} on SIGTERM")

    def note_error(self, scenario, server, message):
        self.failed = True
        self.results["errors"].append({"scenario": scenario, "server": server, "message": message})
        print(f"    ERROR {scenario} {server}: {message}", flush=True)

    # The load client

    def load_client(self, url, scenario, options, latency=False, timeout=300):
        self.sequence += 1
        output = self.work / f"{self.sequence:03d}-{scenario}.json"
        command = [str(self.load), url, "--scenario", scenario, "--output", str(output)]
        command += self.client_cpu(latency) + [str(o) for o in options]
        result = run_quiet(command, timeout=timeout)
        if result.returncode != 0:
            raise BenchError(f"switchyard-load {scenario}: {result.stdout.strip() or result.returncode}")
        return json.loads(output.read_text())

    def with_server(self, name, scenario, body, extra=()):
        """Starts a fresh server, runs body(url, process), stops the server."""
        process = None
        try:
            process, url = self.start_server(name, scenario, extra)
            return body(url, process)
        except BenchError as error:
            self.note_error(scenario, name, str(error))
            return None
        except Exception as error:  # noqa: BLE001  (one failed run must not end the others)
            self.note_error(scenario, name, f"{type(error).__name__}: {error}")
            return None
        finally:
            if process is not None:
                self.stop(process, name)

    # Scenario 1

    def scenario_rtt(self):
        c = self.config
        options = ["--count", c["rtt_count"], "--warmup", c["rtt_warmup"], "--size", c["rtt_size"]]
        section = {"count": c["rtt_count"], "warmup": c["rtt_warmup"], "size": c["rtt_size"],
                   "tcp": None, "servers": {}}

        # The raw TCP baseline: switchyard-load's own blocking echo server.
        port = free_port()
        self.sequence += 1
        log_path = self.work / f"{self.sequence:03d}-rtt-tcp.log"
        with open(log_path, "w") as out:
            echo = subprocess.Popen(self.taskset(self.server_cpu) + [str(self.load), "--tcp-echo", str(port)],
                                    stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
        try:
            wait_for_line(log_path, rf"^listening {port}$", echo, 10, "tcp echo")
            section["tcp"] = self.load_client(f"tcp://127.0.0.1:{port}", "tcp-rtt", options, latency=True)
            self.report("rtt", "raw TCP", section["tcp"])
        except (BenchError, subprocess.TimeoutExpired, ValueError) as error:
            self.note_error("rtt", "raw TCP", str(error))
        finally:
            echo.send_signal(signal.SIGTERM)
            echo.wait()

        for name in self.servers:
            result = self.with_server(name, "rtt", lambda url, _: self.load_client(
                url, "rtt", options + ["-p", ECHO_PROTOCOL], latency=True))
            if result:
                section["servers"][name] = result
                self.report("rtt", name, result)
        return section

    # Scenario 2

    def scenario_throughput(self):
        c = self.config
        section = {"inflight": c["throughput_inflight"], "size": c["throughput_size"],
                   "duration_s": c["throughput_duration"], "headline_connections": c["throughput_headline"],
                   "connections": c["throughput_connections"], "servers": {}}

        def sweep(url, _):
            points = []
            for n in c["throughput_connections"]:
                result = self.load_client(url, "throughput", [
                    "-p", ECHO_PROTOCOL, "--connections", n, "--inflight", c["throughput_inflight"],
                    "--size", c["throughput_size"], "--duration", c["throughput_duration"]])
                points.append(result)
                self.report(f"throughput {n}", name, result)
            return points

        for name in self.servers:
            points = self.with_server(name, "throughput", sweep)
            if points:
                section["servers"][name] = points
        return section

    # Scenario 3

    def scenario_fanout(self):
        c = self.config
        section = {"tick_hz": c["fanout_tick_hz"], "duration_s": c["fanout_duration"],
                   "rate_cap_hz": 1000, "runs": []}
        if "switchyard" not in self.servers:
            section["skipped"] = "switchyard is not among --servers"
            return section
        for clients, rate in c["fanout_runs"]:
            result = self.with_server("switchyard", "fanout", lambda url, _: self.load_client(
                url, "fanout", ["-p", SENSOR_PROTOCOL, "--connections", clients, "--rate-hz", rate,
                                "--duration", c["fanout_duration"]],
                timeout=120 + c["fanout_duration"]),
                extra=["--tick-hz", str(c["fanout_tick_hz"])])
            if result:
                result["tick_hz"] = c["fanout_tick_hz"]
                result["expected_per_s"] = clients * min(rate, c["fanout_tick_hz"])
                section["runs"].append(result)
                self.report(f"fanout {clients}×{rate:g} Hz", "switchyard", result)
        return section

    # Scenario 4

    def scenario_memory(self):
        c = self.config
        section = {"connections": c["memory_connections"], "settle_s": c["memory_settle_s"],
                   "servers": {}}

        def measure(n):
            def body(url, process):
                # One connection first, so that what the first connection
                # initialises (code paths, caches, JIT) is not counted per connection.
                self.load_client(url, "rtt", ["-p", ECHO_PROTOCOL, "--count", 100, "--warmup", 0],
                                 latency=True)
                time.sleep(0.5)
                before = vm_rss_kb(process.pid)
                self.sequence += 1
                log_path = self.work / f"{self.sequence:03d}-idle.log"
                output = self.work / f"{self.sequence:03d}-idle.json"
                hold = c["memory_settle_s"] + 2
                with open(log_path, "w") as out:
                    client = subprocess.Popen(
                        [str(self.load), url, "--scenario", "idle", "-p", ECHO_PROTOCOL,
                         "--connections", str(n), "--hold", str(hold), "--output", str(output)]
                        + self.client_cpu(False), stdout=out, stderr=subprocess.STDOUT)
                try:
                    wait_for_line(log_path, rf"^ready {n}$", client, 300, f"the idle client ({n})")
                    time.sleep(c["memory_settle_s"])
                    after = vm_rss_kb(process.pid)
                    client.wait(timeout=hold + 60)
                finally:
                    if client.poll() is None:
                        client.kill()
                        client.wait()
                if client.returncode != 0:
                    raise BenchError(f"the idle client failed: {log_path.read_text().strip()}")
                idle = json.loads(output.read_text())
                return {
                    "connections": n,
                    "rss_before_kb": before,
                    "rss_after_kb": after,
                    # /proc's kB are KiB; per connection in KB of 1,000 bytes.
                    "per_connection_kb": round((after - before) * 1024 / n / 1000, 2),
                    "open_s": idle.get("open_s"),
                }
            return body

        for name in self.servers:
            points = []
            for n in c["memory_connections"]:
                point = self.with_server(name, "memory", measure(n))
                if point:
                    points.append(point)
                    print(f"    memory {n:>5} {name:<18} {point['per_connection_kb']:8.2f} KB per connection "
                          f"(VmRSS {point['rss_before_kb']} → {point['rss_after_kb']} kB, "
                          f"opened in {point['open_s']} s)", flush=True)
            if points:
                section["servers"][name] = points
        return section

    # Scenario 5

    def scenario_browser(self):
        c = self.config
        section = {"count": c["browser_count"], "warmup": c["browser_warmup"], "size": c["browser_size"],
                   "servers": {}}

        for name in self.servers:
            page_port = free_port()
            extra = ["--allow-origin", f"http://127.0.0.1:{page_port}"] if name == "switchyard" else []

            def body(url, _):
                self.sequence += 1
                output = self.work / f"{self.sequence:03d}-browser.json"
                command = self.taskset(self.other_cpu) + [
                    "node", str(BENCH / "browser" / "rtt.mjs"), "--url", url, "--protocol", ECHO_PROTOCOL,
                    "--count", str(c["browser_count"]), "--warmup", str(c["browser_warmup"]),
                    "--size", str(c["browser_size"]), "--page-port", str(page_port),
                    "--output", str(output)]
                result = run_quiet(command, timeout=120 + c["browser_count"] // 100, cwd=ROOT)
                if result.returncode != 0:
                    raise BenchError(f"rtt.mjs: {result.stdout.strip()}")
                return json.loads(output.read_text())

            result = self.with_server(name, "browser", body, extra=extra)
            if result:
                section["servers"][name] = result
                self.report("browser", name, result)
        return section

    # Scenario 6

    def scenario_large(self):
        c = self.config
        section = {"sizes": c["large_sizes"], "count": c["large_count"], "servers": {}}
        sizes = ",".join(str(s) for s in c["large_sizes"])
        for name in self.servers:
            result = self.with_server(name, "large", lambda url, _: self.load_client(
                url, "large", ["-p", ECHO_PROTOCOL, "--sizes", sizes, "--count", c["large_count"]]))
            if result:
                section["servers"][name] = result
                figures = ", ".join(f"{s['size'] // 1024} KiB {s['mb_per_s']:.0f} MB/s"
                                    for s in result.get("per_size", []))
                print(f"    large      {name:<18} {figures}", flush=True)
        return section

    def report(self, what, name, result):
        latency = result.get("latency_us", {})
        extra = ""
        if "worst_gap_ms" in result:
            extra = f", worst gap {result['worst_gap_ms']:.1f} ms"
        if "deliveries_per_s" in result:
            extra = f", {result['deliveries_per_s']:.0f} deliveries/s"
        print(f"    {what:<10} {name:<18} p50 {latency.get('p50', 0):9.1f} µs  p99 {latency.get('p99', 0):9.1f} µs  "
              f"max {latency.get('max', 0):10.1f} µs  {result.get('msgs_per_s', 0):10.0f} msgs/s{extra}",
              flush=True)


# Targets (issue 8), judged on the figures of this run

def judge(results):
    """Returns [{scenario, target, figure, met}]; met is True, False or None (not measured)."""
    scenarios = results["scenarios"]
    targets = []

    def add(scenario, target, figure, met, **extra):
        targets.append(dict({"scenario": scenario, "target": target, "figure": figure, "met": met},
                            **extra))

    rtt = scenarios.get("rtt")
    if rtt is not None:
        ours = rtt["servers"].get("switchyard")
        tcp = rtt.get("tcp")
        ws = rtt["servers"].get("node-ws")
        p50 = ours["latency_us"]["p50"] if ours else None
        if ours and tcp:
            limit = tcp["latency_us"]["p50"] + 5
            add("1", f"p50 within 5 µs of raw TCP (≤ {limit:.1f} µs)", f"{p50:.1f} µs", p50 <= limit)
        else:
            add("1", "p50 within 5 µs of raw TCP", "not measured", None)
        if ours and ws:
            limit = ws["latency_us"]["p50"]
            add("1", f"p50 not slower than Node ws (≤ {limit:.1f} µs)", f"{p50:.1f} µs", p50 <= limit)
        else:
            add("1", "p50 not slower than Node ws", "not measured", None)

    throughput = scenarios.get("throughput")
    if throughput is not None:
        headline = throughput["headline_connections"]

        def at_headline(name):
            return next((p for p in throughput["servers"].get(name, [])
                         if p.get("connections") == headline), None)

        ours, ws = at_headline("switchyard"), at_headline("node-ws")
        if ours and ws:
            add("2", f"throughput at {headline} connections ≥ Node ws's ({ws['msgs_per_s']:,.0f}/s)",
                f"{ours['msgs_per_s']:,.0f}/s", ours["msgs_per_s"] >= ws["msgs_per_s"])
        else:
            add("2", f"throughput at {headline} connections ≥ Node ws's", "not measured", None)
        if ours:
            worst = worst_delay_ms(ours)
            add("2", "worst single delay < 50 ms", f"{worst:.1f} ms", worst < 50)
        else:
            add("2", "worst single delay < 50 ms", "not measured", None)

    fanout = scenarios.get("fanout")
    if fanout is not None:
        runs = fanout.get("runs", [])
        hundred = max((r for r in runs if r["connections"] == 100),
                      key=lambda r: r["deliveries_per_s"], default=None)
        cap = fanout.get("rate_cap_hz", 1000)
        if hundred:
            # 100 clients at the protocol's cap take at most 100 × cap a second, 100,000
            # at the cap of 1,000: a run that delivers all of it (to 1 %, the window's
            # edges) with nothing skipped meets the target; a run with more clients
            # shows whether there is room above it.
            offered = 100 * min(cap, hundred["rate_hz"])
            met = (offered >= 100000 and hundred["deliveries_per_s"] >= 0.99 * offered
                   and hundred.get("with_skipped", 0) == 0)
            add("3", f"≥ 100,000 deliveries/s to 100 clients (a client gets at most {cap:,} readings/s, "
                     f"so all of the {offered:,} offered, to 1 %, with none skipped)",
                f"{hundred['deliveries_per_s']:,.0f}/s, {hundred.get('with_skipped', 0)} skipped", met,
                run=(100, hundred["rate_hz"]))
            above = max((r for r in runs if r["connections"] > 100 and r["rate_hz"] >= 1000),
                        key=lambda r: r["deliveries_per_s"], default=None)
            if above:
                add("3", f"room above it: {above['connections']} clients × {above['rate_hz']:g} Hz",
                    f"{above['deliveries_per_s']:,.0f}/s", above["deliveries_per_s"] > 100000,
                    run=(above["connections"], above["rate_hz"]))
        else:
            add("3", "≥ 100,000 deliveries/s to 100 clients", "not measured", None)
        thousand = next((r for r in runs if r["connections"] == 1000 and r["rate_hz"] == 10), None)
        if thousand:
            p99 = thousand["latency_us"]["p99"] / 1000
            add("3", "p99 delay < 10 ms at 1,000 clients at 10 Hz", f"{p99:.2f} ms", p99 < 10, run=(1000, 10))
        else:
            add("3", "p99 delay < 10 ms at 1,000 clients at 10 Hz", "not measured", None)

    memory = scenarios.get("memory")
    if memory is not None:
        points = memory["servers"].get("switchyard", [])
        for n in memory["connections"]:
            point = next((p for p in points if p["connections"] == n), None)
            if point:
                add("4", f"< 10 KB per idle connection at {n:,}", f"{point['per_connection_kb']:.2f} KB",
                    point["per_connection_kb"] < 10, connections=n)
            else:
                add("4", f"< 10 KB per idle connection at {n:,}", "not measured", None, connections=n)
    return targets


def worst_delay_ms(point):
    """The worst single delay under load: the slowest round trip or the longest
    silence on one connection, whichever is longer."""
    return max(point["latency_us"]["max"] / 1000, point.get("worst_gap_ms", 0))


# results.md

def met_text(met):
    return {True: "**yes**", False: "**no**", None: "not measured"}[met]


def md_table(header, rows, align=None):
    """align: one letter per column, l or r (default: the first left, the rest right)."""
    align = align or "l" + "r" * (len(header) - 1)
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join("---:" if a == "r" else "---" for a in align) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def us(value):
    return f"{value:,.1f}" if value < 1000 else f"{value:,.0f}"


def write_markdown(results, path, plots):
    s = results["scenarios"]
    targets = results["targets"]
    m, v = results["machine"], results["versions"]

    def targets_for(scenario):
        return [t for t in targets if t["scenario"] == scenario]

    def target_cells(scenario):
        found = targets_for(scenario)
        return ("<br>".join(t["target"] for t in found), "<br>".join(met_text(t["met"]) for t in found))

    out = [f"# Switchyard benchmark, {results['started']}", ""]
    if results["quick"]:
        out += ["**Smoke run (`--quick`): short durations on a machine that may be busy. "
                "These figures check that the benchmark works; do not compare them.**", ""]
    load = results["loadavg_start"]
    out += [
        f"Machine: {m['cpu_model']}, {m['cores']} cores, {m['memory_mb']} MB, {m['os']}, "
        f"Linux {m['kernel']}. Load average at the start: "
        f"{', '.join(str(x) for x in load) if load else 'unknown'}"
        + (" (not a quiet machine)." if load and load[0] > 0.5 else "."),
        "",
        f"Versions: Switchyard {v['switchyard_commit']}, libsoup {v['libsoup']}, GLib {v['glib']}, "
        f"libwebsockets {v['libwebsockets']}, Node {v['node']} with ws {v['ws']}, Python {v['python']} "
        f"with websockets {v['python_websockets']}, {v['chromium']} with playwright-core "
        f"{v['playwright_core']}.",
        "",
        f"Pinning: {results['pinning']['description']}.",
        "",
        f"Run took {results['duration_s']:.0f} s. Every server is a fresh process per scenario "
        "(per connection count for memory), on 127.0.0.1, driven by the same load client "
        "(`switchyard-load`).",
        "",
    ]
    if results.get("skipped_servers"):
        out += [f"Not run: {', '.join(results['skipped_servers'])} (not built).", ""]

    out += ["## Targets", "", md_table(["scenario", "target", "Switchyard", "met"],
                                       [[t["scenario"], t["target"], t["figure"], met_text(t["met"])]
                                        for t in targets], "llrl"), ""]

    if "rtt" in s:
        r = s["rtt"]
        rows = []
        if r.get("tcp"):
            lat = r["tcp"]["latency_us"]
            rows.append(["raw TCP (baseline)", us(lat["p50"]), us(lat["p99"]), us(lat["max"]),
                         us(lat["mean"]), "", ""])
        target, met = target_cells("1")
        for name, result in r["servers"].items():
            lat = result["latency_us"]
            rows.append([name, us(lat["p50"]), us(lat["p99"]), us(lat["max"]), us(lat["mean"]),
                         target if name == "switchyard" else "", met if name == "switchyard" else ""])
        out += [f"## 1. Round-trip latency",
                "",
                f"One connection, {r['size']}-byte text, {r['count']:,} sequential round trips after "
                f"{r['warmup']:,} unmeasured ones. Microseconds.",
                "",
                md_table(["server", "p50 µs", "p99 µs", "max µs", "mean µs", "target", "met"], rows,
                         "lrrrrll"), ""]

    if "throughput" in s:
        r = s["throughput"]
        headline = r["headline_connections"]
        target, met = target_cells("2")
        rows = []
        for name, points in r["servers"].items():
            p = next((p for p in points if p["connections"] == headline), None)
            if not p:
                continue
            lat = p["latency_us"]
            rows.append([name, f"{p['msgs_per_s']:,.0f}", us(lat["p50"]), us(lat["p99"]),
                         f"{lat['max'] / 1000:,.1f}", f"{p['worst_gap_ms']:,.1f}",
                         f"{p['per_connection_min']:,} / {p['per_connection_max']:,}",
                         target if name == "switchyard" else "", met if name == "switchyard" else ""])
        out += [f"## 2. Throughput and fairness",
                "",
                f"{headline} connections, each keeping {r['inflight']} messages of {r['size']} bytes in "
                f"flight, {r['duration_s']} s measured after 1 s of warm-up. The worst single delay "
                "is the larger of the slowest round trip (max) and the longest time one connection "
                "went without an echo (worst gap).",
                "",
                md_table(["server", "msgs/s", "p50 µs", "p99 µs", "max ms", "worst gap ms",
                          "per connection min / max", "target", "met"], rows, "lrrrrrrll"), ""]
        sweep_rows = []
        for name, points in r["servers"].items():
            by_n = {p["connections"]: p for p in points}
            sweep_rows.append([name] + [f"{by_n[n]['msgs_per_s']:,.0f}" if n in by_n else "—"
                                        for n in r["connections"]])
        out += ["Throughput against the number of connections (messages/s):", "",
                md_table(["server"] + [f"{n} conn." for n in r["connections"]], sweep_rows), ""]

    if "fanout" in s:
        r = s["fanout"]
        rows = []
        for run in r["runs"]:
            lat = run["latency_us"]
            target, met = "", ""
            t = next((t for t in targets_for("3")
                      if tuple(t.get("run", ())) == (run["connections"], run["rate_hz"])), None)
            if t:
                target, met = t["target"], met_text(t["met"])
            rows.append([f"{run['connections']:,}", f"{run['rate_hz']:g}", f"{run['expected_per_s']:,}",
                         f"{run['deliveries_per_s']:,.0f}", f"{lat['p50'] / 1000:.2f}",
                         f"{lat['p99'] / 1000:.2f}", f"{lat['max'] / 1000:.2f}",
                         f"{run['with_skipped']:,}", target, met])
        out += ["## 3. Fan-out (Switchyard's sensor stream)",
                ""]
        if r.get("skipped"):
            out += [f"Not run: {r['skipped']}.", ""]
        out += [
                f"`switchyard --tick-hz {r['tick_hz']}`; each client subscribes to every sensor at the "
                f"given rate, {r['duration_s']} s measured after 1 s. Delay is the receipt time minus the "
                "reading's source timestamp `t`, which has millisecond resolution: delays read up to "
                f"1 ms long. A client gets at most one reading per tick (`rate_hz` 0.1 to "
                f"{r['rate_cap_hz']:,}), so 100 clients can receive at most {100 * r['rate_cap_hz']:,} "
                "deliveries/s; the 1,000-client run at 100 Hz shows the server's aggregate rate.",
                ""]
        if rows:
            out += [md_table(["clients", "Hz each", "expected/s", "deliveries/s", "p50 ms", "p99 ms",
                              "max ms", "with skipped", "target", "met"], rows, "rrrrrrrrll"), ""]

    if "memory" in s:
        r = s["memory"]
        rows = []
        for name, points in r["servers"].items():
            for p in points:
                t = next((t for t in targets_for("4") if t.get("connections") == p["connections"]), None)
                ours = name == "switchyard" and t
                rows.append([name, f"{p['connections']:,}", f"{p['rss_before_kb'] / 1024:.1f}",
                             f"{p['rss_after_kb'] / 1024:.1f}", f"{p['per_connection_kb']:.2f}",
                             f"{p['open_s']:.2f}" if p.get("open_s") is not None else "",
                             "< 10 KB" if ours else "", met_text(t["met"]) if ours else ""])
        out += ["## 4. Memory per idle connection",
                "",
                "The server's VmRSS (/proc/PID/status) after one warm-up connection, then after the "
                f"load client opened N idle WebSockets and {r['settle_s']} s passed; per connection = "
                "growth / N, in KB of 1,000 bytes. Kernel socket buffers are not in VmRSS.",
                "",
                md_table(["server", "connections", "RSS before MiB", "RSS after MiB", "KB per connection",
                          "open s", "target", "met"], rows, "lrrrrrll"), ""]

    if "browser" in s:
        r = s["browser"]
        c_rtt = s.get("rtt", {}).get("servers", {})
        rows = []
        for name, result in r["servers"].items():
            lat = result["latency_us"]
            c_p50 = c_rtt.get(name, {}).get("latency_us", {}).get("p50")
            rows.append([name, us(lat["p50"]), us(lat["p99"]), us(lat["max"]),
                         us(c_p50) if c_p50 is not None else "—",
                         us(lat["p50"] - c_p50) if c_p50 is not None else "—"])
        any_result = next(iter(r["servers"].values()), {})
        out += ["## 5. Browser round trip",
                "",
                f"Headless Chromium ({v['chromium']}) on a page served from 127.0.0.1 "
                f"(bench/browser/rtt.html), {r['count']:,} sequential {r['size']}-byte round trips "
                f"through the page's WebSocket after {r['warmup']:,} unmeasured ones, timed with "
                f"performance.now() (cross-origin isolated: "
                f"{'yes, 5 µs' if any_result.get('cross_origin_isolated') else 'no, 100 µs'} resolution). "
                "Beside it, the C load client's p50 from scenario 1 (pinned to the server's core, "
                "where the browser is not).",
                "",
                md_table(["server", "browser p50 µs", "browser p99 µs", "browser max µs",
                          "C client p50 µs", "browser − C p50 µs"], rows), ""]

    if "large" in s:
        r = s["large"]
        sizes = r["sizes"]
        rows = []
        for name, result in r["servers"].items():
            by_size = {p["size"]: p for p in result.get("per_size", [])}
            rows.append([name] + [f"{by_size[z]['mb_per_s']:,.1f} (p50 {by_size[z]['p50_us'] / 1000:.2f} ms)"
                                  if z in by_size else "—" for z in sizes])
        out += ["## 6. Large messages",
                "",
                f"Binary echo on one connection, {r['count']} messages per size, one at a time: MB/s of "
                "payload echoed (and the p50 round trip).",
                "",
                md_table(["server"] + [size_label(z) for z in sizes], rows), ""]

    if results["errors"]:
        out += ["## Errors", ""]
        out += [f"- {e['scenario']} / {e['server']}: {e['message']}" for e in results["errors"]]
        out += [""]

    if plots:
        out += ["## Plots", ""]
        for name, caption in plots:
            out += [f"### {caption}", "", f"![{caption}]({name})", ""]

    path.write_text("\n".join(out), encoding="utf-8")


def size_label(size):
    if size >= 1048576:
        return f"{size // 1048576} MiB"
    if size >= 1024:
        return f"{size // 1024} KiB"
    return f"{size} B"


def to_json(value, level=0):
    """Indented JSON, except that lists of numbers (series, histograms) stay on one line."""
    pad, inner = " " * level, " " * (level + 1)
    if isinstance(value, dict) and value:
        items = [f"{inner}{json.dumps(k)}: {to_json(v, level + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(value, list) and value and any(isinstance(v, dict) for v in value):
        return "[\n" + ",\n".join(inner + to_json(v, level + 1) for v in value) + "\n" + pad + "]"
    return json.dumps(value, ensure_ascii=False, separators=(",", ":") if isinstance(value, list) else None)


def names(text, allowed, what):
    chosen = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in chosen if n not in allowed]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown {what}: {', '.join(unknown)} "
                                         f"(choose from {', '.join(allowed)})")
    return chosen


def main():
    parser = argparse.ArgumentParser(
        description="Benchmark Switchyard against peer WebSocket servers (bench/README.md).")
    parser.add_argument("--quick", action="store_true", help="short durations, for a smoke run")
    parser.add_argument("--only", type=lambda t: names(t, SCENARIOS, "scenario"), default=SCENARIOS,
                        help=f"scenarios to run, comma-separated: {','.join(SCENARIOS)}")
    parser.add_argument("--servers", type=lambda t: names(t, SERVERS, "server"), default=SERVERS,
                        help=f"servers to run, comma-separated: {','.join(SERVERS)}")
    parser.add_argument("--pin", action=argparse.BooleanOptionalAction, default=True,
                        help="pin servers and client to CPUs with taskset (default: on)")
    parser.add_argument("--build-dir", type=Path, default=ROOT / "build",
                        help="meson build directory (default: build/; configured if missing)")
    parser.add_argument("--results-dir", type=Path, default=BENCH / "results",
                        help="where the run's folder goes (default: bench/results/)")
    parser.add_argument("--no-setup", dest="setup", action="store_false",
                        help="do not install Debian or Node packages")
    args = parser.parse_args()
    args.build_dir = args.build_dir.resolve()

    if args.setup:
        set_up(args)
    built = build(args.build_dir)
    fd_limit = raise_fd_limit(16384)

    started = datetime.datetime.now(datetime.timezone.utc)
    out_dir = args.results_dir.resolve() / started.strftime("%Y-%m-%dT%H%M%SZ")
    out_dir.mkdir(parents=True)

    run = Run(args, built)
    results = run.results
    results.update({
        "started": started.strftime("%Y-%m-%d %H:%M:%S UTC"),
        "quick": args.quick,
        "machine": machine_description(),
        "versions": versions(),
        "pinning": run.pinning(),
        "loadavg_start": loadavg(),
        "fd_limit": fd_limit,
        "settings": run.config,
        "servers": {name: SERVER_NOTES[name] for name in run.servers},
        "skipped_servers": run.skipped_servers,
    })
    log(f"results in {out_dir}")
    log(f"pinning: {results['pinning']['description']}")
    if run.skipped_servers:
        log(f"not run (not built): {', '.join(run.skipped_servers)}")

    t0 = time.monotonic()
    for scenario in SCENARIOS:
        if scenario not in args.only:
            continue
        log(f"scenario {SCENARIOS.index(scenario) + 1}: {scenario}")
        started_scenario = time.monotonic()
        results["scenarios"][scenario] = getattr(run, f"scenario_{scenario}")()
        results["scenarios"][scenario]["took_s"] = round(time.monotonic() - started_scenario, 1)

    results["duration_s"] = round(time.monotonic() - t0, 1)
    results["finished"] = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    results["loadavg_end"] = loadavg()
    results["targets"] = judge(results)

    # The description of the run first, the figures after it.
    ordered = {key: results[key] for key in results if key not in ("targets", "scenarios", "errors")}
    ordered.update(targets=results["targets"], errors=results["errors"], scenarios=results["scenarios"])
    (out_dir / "results.json").write_text(to_json(ordered) + "\n", encoding="utf-8")
    plots = plot.write_plots(results, out_dir)
    write_markdown(results, out_dir / "results.md", plots)

    log(f"targets (took {results['duration_s']:.0f} s)")
    for t in results["targets"]:
        verdict = f" — {met_text(t['met']).strip('*')}" if t["met"] is not None else ""
        print(f"    {t['scenario']}. {t['target']}: {t['figure']}{verdict}")
    if run.failed:
        log(f"errors: {len(results['errors'])}; the servers' logs are kept in {run.work}")
    else:
        shutil.rmtree(run.work, ignore_errors=True)
    log(f"wrote {out_dir / 'results.md'}")
    return 1 if run.failed else 0


if __name__ == "__main__":
    sys.exit(main())
