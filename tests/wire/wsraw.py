#!/usr/bin/python3
"""Small helpers for black-box wire tests of Switchyard.

- Server: runs `switchyard --headless` on a free port, parses `view-url:`
  from stdout with a deadline, and stops it (SIGTERM, wait, exit status).
- Raw HTTP: one request on a fresh socket, response parsed into
  (status, reason, lowercase headers dict, body).
- Raw WebSocket: handshake, masked (or not) client frames of any opcode,
  FIN bit and length form, reading server frames and close frames.

Only the Python standard library is used here.
"""

import base64
import hashlib
import json
import os
import selectors
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time
import urllib.parse

DEFAULT_BIN = "/work/main/build/app/switchyard"

# Under AddressSanitizer the server is a few times slower, and its RSS says
# nothing about live memory (freed blocks sit in ASan's quarantine): time
# bounds stretch, memory bounds are checked in the normal build only.
SANITIZED = os.environ.get("SWITCHYARD_SANITIZED") == "1"
TIME_SCALE = 4.0 if SANITIZED else 1.0
ECHO = "switchyard.echo.v1"
WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

OP_CONT = 0x0
OP_TEXT = 0x1
OP_BINARY = 0x2
OP_CLOSE = 0x8
OP_PING = 0x9
OP_PONG = 0xA


def binary_path():
    return os.environ.get("SWITCHYARD_BIN", DEFAULT_BIN)


# --------------------------------------------------------------------------
# The server process
# --------------------------------------------------------------------------

class ServerError(Exception):
    pass


class Server:
    """A `switchyard --headless` subprocess.

    After start(): .view_url, .control_url (full strings, query kept),
    .host, .port, .query (the view URL's query string, '' if none).
    """

    def __init__(self, *extra_args, start_timeout=5.0, env=None):
        self.args = [binary_path(), "--headless", "--port", "0"] + list(extra_args)
        self.start_timeout = start_timeout
        self.env = env
        self.proc = None
        self.view_url = None
        self.control_url = None
        self.host = None
        self.port = None
        self.query = ""
        self.returncode = None
        self._stderr_file = None
        self._stderr_cache = ""
        self._stdout_lines = []
        self._stdout_thread = None

    # -- life cycle --------------------------------------------------------

    def start(self):
        self._stderr_file = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(self.args, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE,
                                     stderr=self._stderr_file,
                                     env=self.env)
        try:
            urls = self._read_urls(self.start_timeout)
        except Exception:
            self.kill()
            raise
        self.view_url = urls["view-url"]
        self.control_url = urls.get("control-url")
        parsed = urllib.parse.urlsplit(self.view_url)
        self.host = parsed.hostname
        self.port = parsed.port
        self.query = parsed.query
        # Keep draining stdout so the child never blocks on a full pipe.
        self._stdout_thread = threading.Thread(target=self._drain_stdout, daemon=True)
        self._stdout_thread.start()
        return self

    def _read_urls(self, timeout):
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        buf = b""
        urls = {}
        sel = selectors.DefaultSelector()
        sel.register(fd, selectors.EVENT_READ)
        try:
            while "view-url" not in urls or "control-url" not in urls:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise ServerError("no view-url/control-url on stdout within %.1fs; got %r; stderr: %s"
                                      % (timeout, buf, self.stderr_text()))
                if not sel.select(left):
                    continue
                chunk = os.read(fd, 4096)
                if not chunk:
                    self.proc.wait(timeout=2)
                    raise ServerError("server exited (%r) before printing its URLs; stdout %r; stderr: %s"
                                      % (self.proc.returncode, buf, self.stderr_text()))
                buf += chunk
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    text = line.decode("utf-8", "replace").strip()
                    self._stdout_lines.append(text)
                    for key in ("view-url", "control-url"):
                        if text.startswith(key + ":"):
                            urls[key] = text[len(key) + 1:].strip()
        finally:
            sel.close()
        return urls

    def _drain_stdout(self):
        try:
            for line in self.proc.stdout:
                self._stdout_lines.append(line.decode("utf-8", "replace").rstrip("\n"))
        except (ValueError, OSError):
            pass

    def stderr_text(self):
        if self._stderr_file is None:
            return self._stderr_cache
        try:
            self._stderr_file.flush()
            pos = self._stderr_file.tell()
            self._stderr_file.seek(0)
            data = self._stderr_file.read()
            self._stderr_file.seek(pos)
            return data.decode("utf-8", "replace")
        except (ValueError, OSError):
            return ""

    def send_signal(self, signum):
        self.proc.send_signal(signum)

    def wait(self, timeout):
        """Waits for exit; returns the exit status or raises TimeoutExpired."""
        self.returncode = self.proc.wait(timeout=timeout)
        return self.returncode

    def stop(self, signum=signal.SIGTERM, timeout=5.0):
        """Signals the server and waits. Returns (exit status, seconds from the
        signal to the exit). Raises ServerError if it did not exit in time."""
        if self.proc is None:
            return None, 0.0
        if self.proc.poll() is not None:
            self.returncode = self.proc.returncode
            return self.returncode, 0.0
        t0 = time.monotonic()
        self.proc.send_signal(signum)
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise ServerError("server did not exit within %.1fs of signal %d" % (timeout, signum))
        elapsed = time.monotonic() - t0
        self.returncode = code
        self._close_pipes()
        return code, elapsed

    def stop_checked(self, testcase, signum=signal.SIGTERM):
        """stop() and assert a clean exit (status 0, within 2 s)."""
        code, elapsed = self.stop(signum)
        testcase.assertEqual(code, 0, "server exit status; stderr:\n" + self.stderr_text()[-3000:])
        testcase.assertLess(elapsed, 2.0, "server took too long to exit")
        return code, elapsed

    def kill(self):
        """Last-resort cleanup: never leaves a process behind."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        self._close_pipes()

    def _close_pipes(self):
        if self.proc is not None and self.proc.stdout is not None:
            try:
                self.proc.stdout.close()
            except OSError:
                pass
        if self._stderr_file is not None:
            # Keep the contents readable for messages: read once, then close.
            self._stderr_cache = self.stderr_text()
            try:
                self._stderr_file.close()
            except OSError:
                pass
            self._stderr_file = None

    # -- conveniences ------------------------------------------------------

    @property
    def address(self):
        return (self.host, self.port)

    def ws_uri(self, path="/ws"):
        uri = "ws://%s:%d%s" % (self.host, self.port, path)
        if self.query:
            uri += ("&" if "?" in path else "?") + self.query
        return uri

    def ws_path(self, path="/ws"):
        if self.query:
            return path + ("&" if "?" in path else "?") + self.query
        return path

    def status(self, timeout=5.0):
        resp = http_request(self.address, "GET", "/api/status", timeout=timeout)
        if resp.status != 200:
            raise ServerError("/api/status answered %d: %r" % (resp.status, resp.body))
        return json.loads(resp.body.decode("utf-8"))

    def wait_connections(self, expected, timeout=5.0):
        """Polls /api/status until `connections` == expected; returns the last
        value seen (the caller asserts it)."""
        deadline = time.monotonic() + timeout
        value = None
        while True:
            value = self.status()["connections"]
            if value == expected or time.monotonic() >= deadline:
                return value
            time.sleep(0.05)


def start_server(testcase, *args):
    """Starts a server whose cleanup is registered on `testcase` (an instance
    or, from setUpClass, the class) before anything can fail. Without a
    --state-dir it gets a fresh one of its own: tests run in parallel, and
    servers sharing the default one would share their state files."""
    adder = testcase.addClassCleanup if isinstance(testcase, type) else testcase.addCleanup
    if "--state-dir" not in args:
        state_dir = tempfile.mkdtemp(prefix="sy-wire-state-")
        adder(shutil.rmtree, state_dir, True)
        args = ("--state-dir", state_dir) + tuple(args)
    server = Server(*args)
    adder(server.kill)
    server.start()
    return server


# --------------------------------------------------------------------------
# Buffered socket
# --------------------------------------------------------------------------

class Closed(Exception):
    """The peer closed the TCP stream."""


class Conn:
    """A TCP socket with a read buffer and deadlines."""

    def __init__(self, address, timeout=5.0, sock=None):
        self.sock = sock or socket.create_connection(address, timeout=timeout)
        self.sock.settimeout(timeout)
        self.timeout = timeout
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout("read deadline passed")
        self.sock.settimeout(left)
        chunk = self.sock.recv(65536)
        if not chunk:
            raise Closed("peer closed the connection")
        self.buf += chunk

    def recv_exact(self, n, timeout=None):
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while len(self.buf) < n:
            self._fill(deadline)
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def recv_until(self, marker, timeout=None, limit=1 << 20):
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while marker not in self.buf:
            if len(self.buf) > limit:
                raise ValueError("no %r within %d bytes" % (marker, limit))
            self._fill(deadline)
        idx = self.buf.index(marker) + len(marker)
        data, self.buf = self.buf[:idx], self.buf[idx:]
        return data

    def recv_to_eof(self, timeout=None):
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        try:
            while True:
                self._fill(deadline)
        except Closed:
            pass
        data, self.buf = self.buf, b""
        return data

    def wait_eof(self, timeout=5.0):
        """True if the peer closes (EOF or reset) within timeout, discarding data."""
        deadline = time.monotonic() + timeout
        try:
            while True:
                self._fill(deadline)
                self.buf = b""
        except (Closed, ConnectionResetError):
            return True
        except socket.timeout:
            return False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def abort(self):
        """Closes with a TCP reset (SO_LINGER 0)."""
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        self.close()


# --------------------------------------------------------------------------
# HTTP
# --------------------------------------------------------------------------

class Response:
    def __init__(self, status, reason, headers, body, raw_headers):
        self.status = status
        self.reason = reason
        self.headers = headers          # lowercase name -> value (repeats joined by ", ")
        self.body = body
        self.raw_headers = raw_headers  # list of (name, value) as sent

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def __repr__(self):
        return "<Response %d %s %r %r>" % (self.status, self.reason, self.headers, self.body[:200])


def build_request(method, path, host, headers=None, body=b""):
    lines = ["%s %s HTTP/1.1" % (method, path), "Host: %s" % host]
    names = set()
    for name, value in (headers or []):
        lines.append("%s: %s" % (name, value))
        names.add(name.lower())
    if body and "content-length" not in names:
        lines.append("Content-Length: %d" % len(body))
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def read_response(conn, head=False, timeout=None):
    """Reads one HTTP/1.1 response from conn. The body is read by
    Content-Length, chunked encoding, or to EOF; not at all for HEAD, 1xx,
    204 and 304."""
    raw = conn.recv_until(b"\r\n\r\n", timeout=timeout).decode("latin-1")
    lines = raw.split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/"):
        raise ValueError("not an HTTP status line: %r" % lines[0])
    status = int(parts[1])
    reason = parts[2] if len(parts) > 2 else ""
    headers = {}
    raw_headers = []
    for line in lines[1:]:
        if not line:
            continue
        name, _, value = line.partition(":")
        name = name.strip()
        value = value.strip()
        raw_headers.append((name, value))
        key = name.lower()
        headers[key] = headers[key] + ", " + value if key in headers else value
    body = b""
    if head or status < 200 or status in (204, 304):
        pass
    elif "content-length" in headers:
        body = conn.recv_exact(int(headers["content-length"]), timeout=timeout)
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        while True:
            size = int(conn.recv_until(b"\r\n", timeout=timeout).split(b";")[0], 16)
            if size == 0:
                conn.recv_until(b"\r\n", timeout=timeout)
                break
            body += conn.recv_exact(size, timeout=timeout)
            conn.recv_exact(2, timeout=timeout)
    else:
        body = conn.recv_to_eof(timeout=timeout)
    return Response(status, reason, headers, body, raw_headers)


def http_request(address, method, path, headers=None, body=b"", timeout=5.0):
    """One request on a fresh connection (Connection: close)."""
    conn = Conn(address, timeout=timeout)
    try:
        hdrs = list(headers or [])
        if not any(n.lower() == "connection" for n, _ in hdrs):
            hdrs.append(("Connection", "close"))
        conn.send(build_request(method, path, "%s:%d" % address, hdrs, body))
        return read_response(conn, head=(method == "HEAD"), timeout=timeout)
    finally:
        conn.close()


# --------------------------------------------------------------------------
# WebSocket handshake
# --------------------------------------------------------------------------

def run_options(*args, timeout=10):
    """Runs the headless binary with `args` and waits for it to exit, as
    for options it must refuse: a CompletedProcess with text output."""
    return subprocess.run([binary_path(), "--headless", "--port", "0", *args],
                          capture_output=True, text=True, timeout=timeout)


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on at the moment."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(predicate, timeout, what, interval=0.05):
    """Polls predicate() until it returns something true, and returns that;
    fails with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("%s: not within %.1f s" % (what, timeout))
        time.sleep(interval)


def new_key():
    return base64.b64encode(os.urandom(16)).decode("ascii")


def accept_for(key):
    return base64.b64encode(hashlib.sha1((key + WS_GUID).encode("ascii")).digest()).decode("ascii")


def handshake_headers(protocols=(ECHO,), key=None, version="13", extra=None,
                      upgrade="websocket", connection="Upgrade"):
    """Headers for an upgrade request. Pass None for a value to omit it;
    protocols may be a list (joined with ', ') or a raw string."""
    hdrs = []
    if upgrade is not None:
        hdrs.append(("Upgrade", upgrade))
    if connection is not None:
        hdrs.append(("Connection", connection))
    if key is not None:
        hdrs.append(("Sec-WebSocket-Key", key))
    if version is not None:
        hdrs.append(("Sec-WebSocket-Version", version))
    if protocols is not None:
        value = protocols if isinstance(protocols, str) else ", ".join(protocols)
        hdrs.append(("Sec-WebSocket-Protocol", value))
    hdrs.extend(extra or [])
    return hdrs


class HandshakeRefused(Exception):
    def __init__(self, response):
        super().__init__("handshake refused: %r" % (response,))
        self.response = response


def ws_handshake_raw(address, path="/ws", protocols=(ECHO,), key="auto", version="13",
                     extra=None, method="GET", timeout=5.0):
    """Sends an upgrade request; returns (conn, response). The conn is open
    whatever the status, positioned right after the response head (and
    body, if not 101)."""
    if key == "auto":
        key = new_key()
    conn = Conn(address, timeout=timeout)
    try:
        conn.send(build_request(method, path, "%s:%d" % address,
                                handshake_headers(protocols, key, version, extra)))
        resp = read_response(conn, timeout=timeout)
    except Exception:
        conn.close()
        raise
    resp.key = key
    return conn, resp


def ws_connect(address, path="/ws", protocols=(ECHO,), extra=None, timeout=5.0):
    """A completed raw WebSocket handshake: returns a RawWebSocket.
    Raises HandshakeRefused unless the server answered 101 with a correct
    Sec-WebSocket-Accept."""
    conn, resp = ws_handshake_raw(address, path, protocols, extra=extra, timeout=timeout)
    if resp.status != 101 or resp.headers.get("sec-websocket-accept") != accept_for(resp.key):
        conn.close()
        raise HandshakeRefused(resp)
    return RawWebSocket(conn, resp)


# --------------------------------------------------------------------------
# Frames
# --------------------------------------------------------------------------

def mask_bytes(payload, key):
    if not payload:
        return b""
    n = len(payload)
    full = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(full, "big")).to_bytes(n, "big")


def frame_header(opcode, length, fin=True, mask_key=b"\x00\x00\x00\x00", rsv=0, length_form=None):
    """The header of a frame. length_form: None (shortest), 7, 16 or 64 to
    force an encoding. mask_key None means unmasked."""
    b0 = (0x80 if fin else 0) | ((rsv & 0x7) << 4) | (opcode & 0xF)
    mbit = 0x80 if mask_key is not None else 0
    if length_form is None:
        length_form = 7 if length < 126 else 16 if length < 65536 else 64
    if length_form == 7:
        head = struct.pack("!BB", b0, mbit | length)
    elif length_form == 16:
        head = struct.pack("!BBH", b0, mbit | 126, length)
    elif length_form == 64:
        head = struct.pack("!BBQ", b0, mbit | 127, length)
    else:
        raise ValueError("length_form must be 7, 16 or 64")
    if mask_key is not None:
        head += mask_key
    return head


def build_frame(opcode, payload=b"", fin=True, mask=True, mask_key=None, rsv=0,
                length=None, length_form=None):
    """A client frame. `length` overrides the length in the header (to lie
    about it); payload is masked with a random (or given) key unless
    mask=False."""
    if isinstance(payload, str):
        payload = payload.encode("utf-8")
    key = None
    if mask:
        key = mask_key if mask_key is not None else os.urandom(4)
    head = frame_header(opcode, len(payload) if length is None else length,
                        fin=fin, mask_key=key, rsv=rsv, length_form=length_form)
    return head + (mask_bytes(payload, key) if mask else payload)


def close_payload(code=1000, reason=""):
    if code is None:
        return b""
    return struct.pack("!H", code) + reason.encode("utf-8")


class Frame:
    def __init__(self, fin, rsv, opcode, masked, payload, length_form):
        self.fin = fin
        self.rsv = rsv
        self.opcode = opcode
        self.masked = masked
        self.payload = payload
        self.length_form = length_form

    def close_code(self):
        if len(self.payload) >= 2:
            return struct.unpack("!H", self.payload[:2])[0]
        return None

    def close_reason(self):
        return self.payload[2:].decode("utf-8", "replace")

    def __repr__(self):
        return "<Frame fin=%s op=%#x len=%d %r>" % (self.fin, self.opcode, len(self.payload),
                                                    self.payload[:40])


def read_frame(conn, timeout=5.0):
    """Reads one server frame (any opcode). Raises Closed on EOF."""
    b0, b1 = conn.recv_exact(2, timeout=timeout)
    length = b1 & 0x7F
    form = 7
    if length == 126:
        length = struct.unpack("!H", conn.recv_exact(2, timeout=timeout))[0]
        form = 16
    elif length == 127:
        length = struct.unpack("!Q", conn.recv_exact(8, timeout=timeout))[0]
        form = 64
    masked = bool(b1 & 0x80)
    key = conn.recv_exact(4, timeout=timeout) if masked else None
    payload = conn.recv_exact(length, timeout=timeout) if length else b""
    if masked:
        payload = mask_bytes(payload, key)
    return Frame(bool(b0 & 0x80), (b0 >> 4) & 0x7, b0 & 0xF, masked, payload, form)


class NoCloseFrame(AssertionError):
    pass


def read_until_close(conn, timeout=5.0, collect=None):
    """Reads frames until a close frame; returns (code, reason). Data
    frames seen on the way are appended to `collect` if given. Raises
    NoCloseFrame if the stream ends (or the deadline passes) first."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        try:
            if left <= 0:
                raise socket.timeout()
            frame = read_frame(conn, timeout=left)
        except (Closed, ConnectionResetError) as e:
            raise NoCloseFrame("the stream ended without a close frame (%s)" % e)
        except socket.timeout:
            raise NoCloseFrame("no close frame within %.1fs" % timeout)
        if frame.opcode == OP_CLOSE:
            return frame.close_code(), frame.close_reason()
        if collect is not None:
            collect.append(frame)


class RawWebSocket:
    """A client-side WebSocket on a raw socket, for frames the libraries
    will not send."""

    def __init__(self, conn, response):
        self.conn = conn
        self.response = response

    @property
    def protocol(self):
        return self.response.headers.get("sec-websocket-protocol")

    def send_raw(self, data):
        self.conn.send(data)

    def send_frame(self, opcode, payload=b"", **kw):
        self.conn.send(build_frame(opcode, payload, **kw))

    def send_text(self, text):
        self.send_frame(OP_TEXT, text.encode("utf-8") if isinstance(text, str) else text)

    def send_binary(self, data):
        self.send_frame(OP_BINARY, data)

    def send_close(self, code=1000, reason=""):
        self.send_frame(OP_CLOSE, close_payload(code, reason))

    def read_frame(self, timeout=5.0):
        return read_frame(self.conn, timeout)

    def recv_message(self, timeout=5.0, pongs=None):
        """Returns (opcode, payload) of the next data message, reassembling
        fragments, answering pings and skipping pongs (appended to `pongs`
        if given). A close frame from the server raises ClosedByServer."""
        deadline = time.monotonic() + timeout
        opcode = None
        parts = []
        while True:
            frame = read_frame(self.conn, max(0.001, deadline - time.monotonic()))
            if frame.opcode == OP_PING:
                self.send_frame(OP_PONG, frame.payload)
                continue
            if frame.opcode == OP_PONG:
                if pongs is not None:
                    pongs.append(frame.payload)
                continue
            if frame.opcode == OP_CLOSE:
                raise ClosedByServer(frame.close_code(), frame.close_reason())
            if opcode is None:
                if frame.opcode == OP_CONT:
                    raise AssertionError("continuation frame without a message")
                opcode = frame.opcode
            elif frame.opcode != OP_CONT:
                raise AssertionError("new data frame %#x inside a fragmented message" % frame.opcode)
            parts.append(frame.payload)
            if frame.fin:
                return opcode, b"".join(parts)

    def echo(self, opcode, payload, timeout=5.0):
        """Sends one message and returns what comes back."""
        self.send_frame(opcode, payload)
        return self.recv_message(timeout)

    def read_until_close(self, timeout=5.0, collect=None):
        return read_until_close(self.conn, timeout, collect)

    def close(self, code=1000, timeout=2.0):
        """Clean close: sends close, waits for the server's, then drops TCP."""
        try:
            self.send_close(code)
            return self.read_until_close(timeout)
        except (OSError, NoCloseFrame):
            return None
        finally:
            self.conn.close()

    def abort(self):
        self.conn.abort()


class ClosedByServer(Exception):
    def __init__(self, code, reason):
        super().__init__("server closed with %r %r" % (code, reason))
        self.code = code
        self.reason = reason


# --------------------------------------------------------------------------
# Assertions shared by the test files
# --------------------------------------------------------------------------

def assert_echoes(testcase, server, tag="alive"):
    """A fresh raw WebSocket echoes a text and a binary message and closes
    cleanly with 1000."""
    ws = ws_connect(server.address, path=server.ws_path())
    try:
        text = "%s \u00e9\u20ac %s" % (tag, os.urandom(4).hex())
        testcase.assertEqual(ws.echo(OP_TEXT, text.encode("utf-8")), (OP_TEXT, text.encode("utf-8")))
        data = os.urandom(300)
        testcase.assertEqual(ws.echo(OP_BINARY, data), (OP_BINARY, data))
        ws.send_close(1000)
        code, _ = ws.read_until_close()
        testcase.assertEqual(code, 1000, "the server should answer a 1000 close with 1000")
    finally:
        ws.conn.close()
