// Harness for Switchyard's browser end-to-end tests.
//
// The real server binary (`switchyard --headless`) on a loopback port, Debian's
// Chromium driven by playwright-core, and a small `ws` client that talks to the
// server directly so tests can check what the server holds, not what the page
// says. Nothing here touches the network beyond 127.0.0.1.
//
// Works on Node 18 (Debian 12's nodejs) and Node 20.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const HERE = path.dirname(fileURLToPath(import.meta.url));
export const SOURCE_ROOT = path.resolve(HERE, '..', '..');
export const CHROMIUM = process.env.SWITCHYARD_CHROMIUM || '/usr/bin/chromium';
export const SWITCHYARD_BIN = process.env.SWITCHYARD_BIN ||
  path.join(SOURCE_ROOT, 'build', 'app', 'switchyard');

export const PROTOCOLS = {
  sensor: 'switchyard.sensor.v1',
  relay: 'switchyard.relay.v1',
  display: 'switchyard.display.v1',
  log: 'switchyard.log.v1',
  echo: 'switchyard.echo.v1',
};
export const SENSOR_IDS = ['temperature', 'humidity', 'pressure', 'light', 'voltage', 'current'];
export const RELAY_IDS = ['heater', 'fan', 'lamp', 'pump', 'cooler', 'valve', 'siren', 'aux'];

// Under AddressSanitizer/UBSan the server is 3-4 times slower: every deadline
// stretches by this factor.
export const SCALE = process.env.SWITCHYARD_SANITIZED === '1' ? 4 : 1;

/** A deadline of `msec` milliseconds in the normal build, stretched under sanitizers. */
export function ms(msec) {
  return msec * SCALE;
}

export function sleep(msec) {
  return new Promise((resolve) => setTimeout(resolve, msec));
}

/**
 * Why the browser tests cannot run here, or null when they can. The official
 * test command (build-aux/dev.sh test) installs all of it.
 */
export function missingPrerequisites() {
  const missing = [];
  for (const mod of ['playwright-core', 'ws']) {
    if (!fs.existsSync(path.join(HERE, 'node_modules', mod, 'package.json')))
      missing.push(`tests/browser/node_modules/${mod} (run "npm ci" in tests/browser, or build-aux/dev.sh test)`);
  }
  if (!isExecutable(CHROMIUM))
    missing.push(`${CHROMIUM} (apt-get install chromium)`);
  if (!isExecutable(SWITCHYARD_BIN))
    missing.push(`${SWITCHYARD_BIN} (meson compile -C build)`);
  return missing.length ? `missing ${missing.join('; ')}` : null;
}

function isExecutable(file) {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** The artifacts directory (screenshots), created on demand. */
export function artifactsDir() {
  let dir = process.env.SWITCHYARD_ARTIFACTS_DIR;
  if (!dir && process.env.G_TEST_BUILDDIR)
    dir = path.join(process.env.G_TEST_BUILDDIR, 'artifacts');
  if (!dir)
    dir = path.join(HERE, 'artifacts');
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

export function makeTempDir(prefix) {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function removeDir(dir) {
  if (dir)
    fs.rmSync(dir, { recursive: true, force: true });
}

// ---------------------------------------------------------------------------
// Waiting

/**
 * Polls `probe` (sync or async) until it returns a truthy value, which is
 * returned. On the deadline it throws, naming `what` (a string, or a function
 * giving one then) and the last value seen (or the last exception the probe threw).
 */
export async function waitFor(probe, { timeout = ms(5000), interval = 25, what = 'a condition' } = {}) {
  const start = Date.now();
  let last;
  let lastError;
  for (;;) {
    try {
      last = await probe();
      lastError = undefined;
      if (last)
        return last;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() - start >= timeout) {
      const seen = lastError ? `the probe threw ${lastError.message}` : `last value ${repr(last)}`;
      const label = typeof what === 'function' ? what() : what;
      throw new Error(`timed out after ${timeout} ms waiting for ${label} (${seen})`);
    }
    await sleep(interval);
  }
}

/** Runs `promise` against a deadline; rejects naming `what` if it is not met. */
export function withDeadline(promise, timeout, what) {
  let timer;
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeout} ms waiting for ${what}`)), timeout);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

export function repr(value) {
  if (value === undefined)
    return 'undefined';
  try {
    const text = JSON.stringify(value);
    return text.length > 400 ? `${text.slice(0, 400)}…` : text;
  } catch {
    return String(value);
  }
}

// ---------------------------------------------------------------------------
// The server

/** A port that was free a moment ago on 127.0.0.1 (bound to 0, then released). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.unref();
    probe.on('error', reject);
    probe.listen({ port: 0, host: '127.0.0.1', exclusive: true }, () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/**
 * One `switchyard --headless` process on a fixed port and state directory;
 * stop() and start() again keep both, so the printed tokens stay valid (the
 * signing secret lives in the state directory).
 *
 * With `uplink` (another Server, or an upstream's control-url) it is a relay
 * server: `--uplink` mirrors the upstream's hardware. It prints its links
 * before the uplink is up; waitForUplink() waits for that.
 */
export class Server {
  constructor({ bin = SWITCHYARD_BIN, args = [], stateDir = null, port = null, uplink = null } = {}) {
    this.bin = bin;
    this.args = args;
    this.uplink = uplink;
    this.ownStateDir = !stateDir;
    this.stateDir = stateDir || makeTempDir('sy-browser-state-');
    this.port = port;
    this.proc = null;
    this.stderrLines = [];
    this.runs = 0;
    this.viewUrl = null;
    this.controlUrl = null;
  }

  /** Starts the server and waits for its two links. */
  async start({ timeout = ms(10000) } = {}) {
    if (this.proc)
      throw new Error('server already running');
    const fixedPort = this.port !== null;
    const attempts = fixedPort ? Math.max(1, Math.round(timeout / 250)) : 5;
    let lastError;
    const start = Date.now();
    for (let attempt = 0; attempt < attempts; attempt++) {
      if (!fixedPort || this.port === null)
        this.port = await freePort();
      try {
        await this._spawn(Math.max(1000, timeout - (Date.now() - start)));
        return this;
      } catch (error) {
        lastError = error;
        // Exit status 1 is "the port cannot be bound": someone took the
        // free port in between, or the old socket lingers after a restart.
        if (error.exitCode !== 1 || Date.now() - start > timeout)
          break;
        if (!fixedPort)
          this.port = null;
        await sleep(fixedPort ? 250 : 0);
      }
    }
    throw lastError;
  }

  _spawn(timeout) {
    const args = ['--headless', '--port', String(this.port), '--state-dir', this.stateDir, ...this.args];
    if (this.uplink) {
      const url = typeof this.uplink === 'string' ? this.uplink : this.uplink.controlUrl;
      if (!url)
        throw new Error('the uplink server has printed no control-url: start it first');
      args.push('--uplink', url);
    }
    const proc = spawn(this.bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.runs += 1;
    const run = this.runs;
    this.proc = proc;
    this.exited = new Promise((resolve) => {
      proc.on('exit', (code, signal) => resolve({ code, signal }));
      proc.on('error', (error) => resolve({ code: null, signal: null, error }));
    });
    this.exited.then(() => {
      if (this.proc === proc)
        this.proc = null;
    });

    const pushStderr = (line) => {
      this.stderrLines.push(`[run ${run}] ${line}`);
      if (this.stderrLines.length > 400)
        this.stderrLines.splice(0, this.stderrLines.length - 400);
    };
    lines(proc.stderr, pushStderr);

    return new Promise((resolve, reject) => {
      let view = null;
      let control = null;
      let done = false;
      const finish = (error) => {
        if (done)
          return;
        done = true;
        clearTimeout(timer);
        if (error) {
          if (this.proc === proc)
            proc.kill('SIGKILL');
          reject(error);
        } else {
          this.viewUrl = view;
          this.controlUrl = control;
          resolve();
        }
      };
      const timer = setTimeout(() => finish(new Error(
        `switchyard did not print its links within ${timeout} ms\n${this.stderrTail()}`)), timeout);
      lines(proc.stdout, (line) => {
        let m = /^view-url: (\S+)$/.exec(line);
        if (m)
          view = m[1];
        m = /^control-url: (\S+)$/.exec(line);
        if (m)
          control = m[1];
        if (view && control)
          finish();
      });
      this.exited.then(({ code, signal, error }) => {
        const why = error ? error.message : `exited with status ${code}${signal ? ` (signal ${signal})` : ''}`;
        const failure = new Error(`switchyard ${why} before printing its links\n${this.stderrTail()}`);
        failure.exitCode = code;
        finish(failure);
      });
    });
  }

  get running() {
    return this.proc !== null;
  }

  get origin() {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The page URL: role "control" or "view" (the printed links) or null (no token). */
  pageUrl(role = 'control') {
    if (role === null)
      return `${this.origin}/`;
    return role === 'view' ? this.viewUrl : this.controlUrl;
  }

  /** The WebSocket URL with the token of `role` ("control", "view" or null for none). */
  wsUrl(role = 'control') {
    const url = new URL('/ws', this.origin);
    if (role !== null) {
      const token = new URL(this.pageUrl(role)).searchParams.get('token');
      if (token)
        url.searchParams.set('token', token);
    }
    return url.toString();
  }

  /** SIGTERM, then waits for the exit (SIGKILL past the deadline). Returns the exit status. */
  async stop({ timeout = ms(5000) } = {}) {
    const proc = this.proc;
    if (!proc)
      return null;
    proc.kill('SIGTERM');
    let result;
    try {
      result = await withDeadline(this.exited, timeout, 'switchyard to exit after SIGTERM');
    } catch (error) {
      proc.kill('SIGKILL');
      await this.exited;
      throw error;
    }
    return result;
  }

  /** Stops (if running) and removes the state directory it made itself. */
  async dispose() {
    try {
      await this.stop();
    } finally {
      if (this.ownStateDir)
        removeDir(this.stateDir);
    }
  }

  stderrTail(count = 40) {
    const tail = this.stderrLines.slice(-count);
    return tail.length ? `server stderr (last ${tail.length} lines):\n${tail.join('\n')}` : 'server stderr: (empty)';
  }

  /** GET /api/status as an object. */
  status() {
    return httpGetJson(`${this.origin}/api/status`);
  }
}

/** GET a JSON document over plain http (node:http: no experimental fetch on Node 18). */
export function httpGetJson(url, { timeout = ms(5000) } = {}) {
  return withDeadline(new Promise((resolve, reject) => {
    http.get(url, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk) => { body += chunk; });
      response.on('end', () => {
        if (response.statusCode !== 200) {
          reject(new Error(`${url} answered ${response.statusCode}: ${body.slice(0, 200)}`));
          return;
        }
        try {
          resolve(JSON.parse(body));
        } catch (error) {
          reject(new Error(`${url} sent no JSON: ${error.message}`));
        }
      });
    }).on('error', reject);
  }), timeout, `GET ${url}`);
}

function lines(stream, onLine) {
  let buffer = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk) => {
    buffer += chunk;
    let nl;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      onLine(buffer.slice(0, nl).replace(/\r$/, ''));
      buffer = buffer.slice(nl + 1);
    }
  });
  stream.on('end', () => {
    if (buffer)
      onLine(buffer);
    buffer = '';
  });
}

// ---------------------------------------------------------------------------
// The browser

export const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

let playwright = null;

async function loadPlaywright() {
  if (!playwright)
    playwright = await import('playwright-core');
  return playwright;
}

/**
 * Debian's Chromium in a persistent context on a fresh profile directory.
 * Options: locale ("de-DE"), colorScheme ("light" | "dark"), viewport.
 * Returns a Browser wrapper whose pages record their console and errors.
 */
export async function launchBrowser({ locale, colorScheme, viewport = { width: 1280, height: 900 } } = {}) {
  const { chromium } = await loadPlaywright();
  const profile = makeTempDir('sy-browser-profile-');
  const options = {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport,
    timeout: ms(30000),
  };
  if (locale)
    options.locale = locale;
  if (colorScheme)
    options.colorScheme = colorScheme;
  let context;
  try {
    context = await chromium.launchPersistentContext(profile, options);
  } catch (error) {
    removeDir(profile);
    throw error;
  }
  return new Browser(context, profile);
}

export class Browser {
  constructor(context, profile) {
    this.context = context;
    this.profile = profile;
    this.logs = new Map();
    this.context.setDefaultTimeout(ms(10000));
    this.context.setDefaultNavigationTimeout(ms(15000));
    // The persistent context opens with one blank page: reuse it first.
    this.spare = context.pages().slice();
  }

  /** A page that records console messages and uncaught errors (see log()). */
  async newPage() {
    const page = this.spare.length ? this.spare.shift() : await this.context.newPage();
    const log = { console: [], errors: [] };
    this.logs.set(page, log);
    page.on('console', (message) => {
      log.console.push(`[${message.type()}] ${message.text()}`);
      if (log.console.length > 200)
        log.console.shift();
    });
    page.on('pageerror', (error) => log.errors.push(String(error && error.stack || error)));
    page.on('close', () => this.logs.delete(page));
    return page;
  }

  log(page) {
    return this.logs.get(page) || { console: [], errors: [] };
  }

  /** Console messages and uncaught errors of `pages` (default: all), for a failure report. */
  diagnostics(pages = [...this.logs.keys()]) {
    const parts = [];
    let n = 0;
    for (const page of pages) {
      const log = this.log(page);
      n += 1;
      let url = '(closed)';
      try {
        url = page.url();
      } catch { /* closed */ }
      parts.push(`page ${n} ${url}`);
      for (const e of log.errors)
        parts.push(`  uncaught: ${e}`);
      for (const c of log.console.slice(-30))
        parts.push(`  console ${c}`);
    }
    return parts.join('\n');
  }

  async closePages() {
    for (const page of this.context.pages())
      await page.close().catch(() => {});
    this.logs.clear();
  }

  async close() {
    try {
      await withDeadline(this.context.close(), ms(10000), 'Chromium to close');
    } finally {
      removeDir(this.profile);
    }
  }
}

// Reading the page: no auto-waiting (a missing element is undefined, not a wait).

/** The attribute `attr` of the first element matching `selector` (null if absent, undefined if no element). */
export function attr(page, selector, name) {
  return page.evaluate(([s, n]) => {
    const e = document.querySelector(s);
    return e ? e.getAttribute(n) : undefined;
  }, [selector, name]);
}

/**
 * The trimmed text a reader gets from the first element matching `selector`
 * (innerText: hidden children do not count; undefined if there is no element).
 */
export function text(page, selector) {
  return page.evaluate((s) => {
    const e = document.querySelector(s);
    if (!e)
      return undefined;
    const t = typeof e.innerText === 'string' ? e.innerText : e.textContent;
    return t.replace(/\s+/g, ' ').trim();
  }, selector);
}

/** Waits until the attribute satisfies `expected` (a value, or a predicate on the value). */
export async function waitForAttr(page, selector, name, expected, { timeout = ms(5000) } = {}) {
  const ok = typeof expected === 'function' ? expected : (v) => v === expected;
  const label = typeof expected === 'function' ? 'a value that passes the check' : JSON.stringify(expected);
  let last;
  await waitFor(async () => {
    last = await attr(page, selector, name);
    return ok(last);
  }, { timeout, what: () => `${selector} [${name}] to be ${label}, it is ${repr(last)}` });
  return last;
}

/** Waits until the text satisfies `expected` (a string, RegExp or predicate). */
export async function waitForText(page, selector, expected, { timeout = ms(5000) } = {}) {
  const ok = typeof expected === 'function' ? expected
    : expected instanceof RegExp ? (v) => v !== undefined && expected.test(v)
      : (v) => v === expected;
  let last;
  await waitFor(async () => {
    last = await text(page, selector);
    return ok(last);
  }, { timeout, what: () => `text of ${selector} to be ${String(expected)}, it is ${repr(last)}` });
  return last;
}

/**
 * Records every change of the given attributes on the element matching
 * `selector` (a MutationObserver in the page), so short-lived states such as
 * a pending relay are seen whatever the polling rate, and the times of the
 * given events on it (clicks). Returns the name of the trace; readTrace() gives
 * the [{attr, value, t}] and [{event, t}] seen so far (t: the page's
 * performance.now()), starting with the values at install time.
 */
export async function traceAttributes(page, selector, names, { events = ['click'] } = {}) {
  const key = `trace-${Math.random().toString(36).slice(2)}`;
  await page.evaluate(([s, n, k, ev]) => {
    const element = document.querySelector(s);
    if (!element)
      throw new Error(`no element ${s} to trace`);
    const trace = [];
    window.__syTraces = window.__syTraces || {};
    window.__syTraces[k] = trace;
    for (const a of n)
      trace.push({ attr: a, value: element.getAttribute(a), t: performance.now() });
    new MutationObserver((records) => {
      for (const r of records)
        trace.push({ attr: r.attributeName, value: element.getAttribute(r.attributeName), t: performance.now() });
    }).observe(element, { attributes: true, attributeFilter: n });
    for (const type of ev)
      element.addEventListener(type, () => trace.push({ event: type, t: performance.now() }), { capture: true });
  }, [selector, names, key, events]);
  return key;
}

export function readTrace(page, key) {
  return page.evaluate((k) => (window.__syTraces && window.__syTraces[k]) || null, key);
}

// ---------------------------------------------------------------------------
// A direct WebSocket client (the `ws` package), for the server's own view

let wsModule = null;

async function loadWs() {
  if (!wsModule)
    wsModule = (await import('ws')).default;
  return wsModule;
}

/**
 * One WebSocket on a JSON subprotocol. Every message is parsed and kept in
 * .messages; waitFor() finds one by predicate, command() sends with an id and
 * awaits the ack or error. Sends no Origin (not a browser: judged by token).
 */
export class JsonClient {
  static async connect(url, protocol, { timeout = ms(5000), welcome = true } = {}) {
    const WebSocket = await loadWs();
    const ws = new WebSocket(url, [protocol], { perMessageDeflate: false, handshakeTimeout: timeout });
    const client = new JsonClient(ws, protocol);
    await withDeadline(new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
      ws.once('unexpected-response', (req, res) => {
        reject(new Error(`${protocol}: handshake refused with ${res.statusCode}`));
        req.destroy();
      });
    }), timeout, `${protocol} to open at ${url}`);
    if (ws.protocol !== protocol) {
      ws.terminate();
      throw new Error(`asked for ${protocol}, the server chose ${JSON.stringify(ws.protocol)}`);
    }
    if (welcome && protocol !== PROTOCOLS.echo) {
      client.hello = await client.waitFor((m) => m.type === 'hello', { timeout, what: 'the hello' });
    }
    return client;
  }

  constructor(ws, protocol) {
    this.ws = ws;
    this.protocol = protocol;
    this.messages = [];
    this.waiters = new Set();
    this.nextId = 1;
    this.closeInfo = null;
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        this.closeInfo = { code, reason: reason.toString() };
        resolve(this.closeInfo);
        this._wake();
      });
    });
    ws.on('error', () => {}); // reported through close
    ws.on('message', (data, isBinary) => {
      let message;
      try {
        message = isBinary ? { binary: data } : JSON.parse(data.toString());
      } catch {
        message = { unparsable: data.toString() };
      }
      this.messages.push(message);
      this._wake();
    });
  }

  _wake() {
    for (const waiter of this.waiters)
      waiter();
  }

  /** The index of the next message: pass as `since` to look only at later ones. */
  mark() {
    return this.messages.length;
  }

  /** The first message (from index `since`) for which `predicate` holds. */
  waitFor(predicate, { since = 0, timeout = ms(5000), what = 'a matching message' } = {}) {
    const find = () => {
      for (let i = since; i < this.messages.length; i++) {
        if (predicate(this.messages[i]))
          return this.messages[i];
      }
      return undefined;
    };
    const found = find();
    if (found)
      return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      let timer;
      const waiter = () => {
        const hit = find();
        if (hit) {
          cleanup();
          resolve(hit);
        } else if (this.closeInfo) {
          cleanup();
          reject(new Error(`${this.protocol} closed (${repr(this.closeInfo)}) before ${what}`));
        }
      };
      const cleanup = () => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
      };
      timer = setTimeout(() => {
        cleanup();
        reject(new Error(`no ${what} within ${timeout} ms on ${this.protocol}; last messages: ` +
          repr(this.messages.slice(-5))));
      }, timeout);
      this.waiters.add(waiter);
      waiter();
    });
  }

  /** Messages from index `since` for which `predicate` holds. */
  filter(predicate, since = 0) {
    return this.messages.slice(since).filter(predicate);
  }

  send(message) {
    this.ws.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  /** Sends `message` with an id (given or made) and resolves with its ack or error. */
  async command(message, { timeout = ms(5000) } = {}) {
    const id = message.id !== undefined ? message.id : `t${this.nextId++}`;
    const since = this.mark();
    this.send({ ...message, id });
    return this.waitFor((m) => (m.type === 'ack' || m.type === 'error') && m.id === id,
      { since, timeout, what: `the answer to ${repr({ ...message, id })}` });
  }

  async close({ timeout = ms(3000) } = {}) {
    if (this.closeInfo)
      return this.closeInfo;
    try {
      this.ws.close(1000, 'done');
      return await withDeadline(this.closed, timeout, `${this.protocol} to close`);
    } catch {
      this.ws.terminate();
      return this.closed;
    }
  }
}

/** The relay states a fresh relay.v1 client gets in its snapshot: {id: relay}. */
export async function relaySnapshot(server) {
  const client = await JsonClient.connect(server.wsUrl('view'), PROTOCOLS.relay);
  try {
    const snapshot = await client.waitFor((m) => m.type === 'relays', { what: 'the relay snapshot' });
    return Object.fromEntries(snapshot.relays.map((r) => [r.id, r]));
  } finally {
    await client.close();
  }
}

/**
 * A fresh relay.v1 client's snapshot as {relays: {id: relay}, chain: [ids]}:
 * `chain` is empty for a server with its own hardware, and names the
 * instances a relay server's relays come from.
 */
export async function relayBoard(server) {
  const client = await JsonClient.connect(server.wsUrl('view'), PROTOCOLS.relay);
  try {
    const snapshot = await client.waitFor((m) => m.type === 'relays', { what: 'the relay snapshot' });
    return {
      relays: Object.fromEntries(snapshot.relays.map((r) => [r.id, r])),
      chain: snapshot.chain,
    };
  } finally {
    await client.close();
  }
}

/**
 * Waits until every relay of the relay server `server` has `available` as
 * given: true once its uplink to the upstream is up, false once it is lost.
 * Returns the last relayBoard().
 */
export function waitForUplink(server, { available = true, timeout = ms(10000) } = {}) {
  let last;
  return waitFor(async () => {
    last = await relayBoard(server);
    const relays = Object.values(last.relays);
    return relays.length > 0 && relays.every((r) => r.available === available) ? last : null;
  }, { timeout, interval: 100,
       what: () => `every relay of ${server.origin} to have available ${available} (${repr(last)})` });
}
