// End-to-end tests of the control page in headless Chromium, against the real
// `switchyard --headless` binary. The page is read only through the stable
// hooks of its DOM contract (data-* attributes, ids, window.switchyard); what
// the server holds is checked with a separate WebSocket client, never through
// the page.
//
//   node --test tests/browser/test-page.mjs
//
// Environment: SWITCHYARD_BIN (the binary), SWITCHYARD_SANITIZED=1 (stretch
// deadlines), SWITCHYARD_ARTIFACTS_DIR or G_TEST_BUILDDIR (screenshots).

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';

import {
  JsonClient, PROTOCOLS, RELAY_IDS, SENSOR_IDS, Server, artifactsDir, attr, launchBrowser,
  missingPrerequisites, ms, readTrace, relaySnapshot, sleep, text, traceAttributes, waitFor,
  waitForAttr, waitForText, waitForUplink,
} from './harness.mjs';

const missing = missingPrerequisites();
if (missing)
  process.stderr.write(`# browser tests skipped: ${missing}\n`);

let browser = null;

before(async () => {
  if (!missing)
    browser = await launchBrowser({ locale: 'en-US' });
});

after(async () => {
  if (browser)
    await browser.close();
});

/**
 * A test with its own server(s), pages and clients, all torn down at the end.
 * On failure the error carries the pages' console and uncaught errors and the
 * server's stderr tail, and a screenshot of each open page is saved.
 */
function scenario(name, body, { timeout = ms(60000) } = {}) {
  test(name, { skip: missing || false, timeout }, async () => {
    const s = new Scenario(name);
    let failure = null;
    try {
      await body(s);
    } catch (error) {
      failure = error;
      try {
        await s.report(error);
      } catch (reportError) {
        error.message += `\n(while reporting: ${reportError.message})`;
      }
    } finally {
      await s.dispose(failure);
    }
    if (failure)
      throw failure;
  });
}

class Scenario {
  constructor(name) {
    this.name = name;
    this.servers = [];
    this.pages = [];
    this.clients = [];
    this.browsers = [];
  }

  /** A started server on a fresh state directory. */
  async server(options = {}) {
    const server = new Server(options);
    this.servers.push(server);
    await server.start();
    return server;
  }

  /** A page of the shared browser (or of `on`) at `url`. */
  async page(url, { on = browser } = {}) {
    const page = await on.newPage();
    this.pages.push({ page, browser: on });
    await page.goto(url, { waitUntil: 'domcontentloaded' });
    return page;
  }

  /** A page opened at `url` and waited for until its link is connected. */
  async connectedPage(url, options = {}) {
    const page = await this.page(url, options);
    await waitForAttr(page, '#link', 'data-state', 'connected', { timeout: ms(10000) });
    return page;
  }

  /** Another browser (a context with its own options: locale, colorScheme). */
  async browser(options) {
    const other = await launchBrowser(options);
    this.browsers.push(other);
    return other;
  }

  /** A direct JSON client on `protocol` with the token of `role` ("control", "view" or null). */
  async client(server, protocol, role = 'view') {
    const client = await JsonClient.connect(server.wsUrl(role), protocol);
    this.clients.push(client);
    return client;
  }

  async report(error) {
    const parts = [`--- diagnostics for "${this.name}" ---`];
    const seen = new Set();
    for (const { browser: b } of this.pages) {
      if (seen.has(b))
        continue;
      seen.add(b);
      parts.push(b.diagnostics(this.pages.filter((p) => p.browser === b).map((p) => p.page)));
    }
    for (const server of this.servers)
      parts.push(server.stderrTail(25));
    const dir = artifactsDir();
    let n = 0;
    for (const { page } of this.pages) {
      n += 1;
      const file = path.join(dir, `failure-${slug(this.name)}-${n}.png`);
      try {
        await page.screenshot({ path: file, fullPage: true, timeout: ms(5000) });
        parts.push(`screenshot: ${file}`);
      } catch { /* the page may be gone */ }
    }
    error.message += `\n${parts.join('\n')}`;
  }

  async dispose(failure) {
    for (const client of this.clients)
      await client.close().catch(() => {});
    for (const { page } of this.pages)
      await page.close().catch(() => {});
    for (const b of this.browsers)
      await b.close().catch(() => {});
    for (const server of this.servers) {
      try {
        await server.dispose();
      } catch (error) {
        if (!failure)
          throw error;
      }
    }
  }

  /** Asserts that no page of this scenario threw an uncaught exception. */
  assertNoPageErrors() {
    for (const { page, browser: b } of this.pages) {
      const { errors } = b.log(page);
      assert.deepEqual(errors, [], `uncaught errors in ${page.url()}`);
    }
  }
}

function slug(name) {
  return name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 60);
}

function relaySwitch(id) {
  return `button.relay-switch[data-relay="${id}"]`;
}

/** Every relay switch's `disabled` state: {id: true|false|undefined (no such switch)}. */
function switchesDisabled(page) {
  return page.evaluate((ids) => {
    const out = {};
    for (const id of ids) {
      const button = document.querySelector(`button.relay-switch[data-relay="${id}"]`);
      out[id] = button ? button.disabled : undefined;
    }
    return out;
  }, RELAY_IDS);
}

/**
 * Every relay card as the page shows it: {id: {available, disabled, pulseDisabled,
 * on, unavailable}} (`unavailable`: the explanation's text when it is shown, else null).
 */
function relayCards(page) {
  return page.evaluate((ids) => {
    const out = {};
    for (const id of ids) {
      const card = document.querySelector(`[data-relay-card="${id}"]`);
      const button = document.querySelector(`button.relay-switch[data-relay="${id}"]`);
      const pulse = document.querySelector(`[data-pulse="${id}"]`);
      const why = document.querySelector(`[data-relay-unavailable="${id}"]`);
      out[id] = card && button && pulse && why ? {
        available: card.getAttribute('data-available'),
        buttonAvailable: button.getAttribute('data-available'),
        disabled: button.disabled,
        pulseDisabled: pulse.disabled,
        on: button.getAttribute('data-on'),
        unavailable: why.hidden ? null : why.textContent.trim(),
      } : null;
    }
    return out;
  }, RELAY_IDS);
}

/** Waits until every relay card satisfies `check(card)`; returns the cards. */
function waitForCards(page, check, what, { timeout = ms(5000) } = {}) {
  let last;
  return waitFor(async () => {
    last = await relayCards(page);
    return RELAY_IDS.every((id) => last[id] && check(last[id])) ? last : null;
  }, { timeout, what: () => `${what} (cards: ${JSON.stringify(last)})` });
}

/** The relay broadcasts for `id` a watcher has seen since `since`. */
function relayUpdates(client, id, since = 0) {
  return client.filter((m) => m.type === 'relay' && m.relay && m.relay.id === id, since).map((m) => m.relay);
}

/**
 * Brings the page to the front (a person clicks in the tab they look at;
 * Chromium draws a background tab about once a second, and the page renders
 * per animation frame) and clicks `selector` once it is enabled.
 */
async function clickWhenEnabled(page, selector) {
  await page.bringToFront();
  await waitFor(async () => (await page.evaluate((s) => {
    const e = document.querySelector(s);
    return e && !e.disabled;
  }, selector)), { timeout: ms(5000), what: `${selector} to be enabled` });
  await page.click(selector, { timeout: ms(5000) });
}

// ---------------------------------------------------------------------------

scenario('the server serves the page: title Switchyard, connected as control', async (s) => {
  const server = await s.server();
  const page = await s.page(server.pageUrl('control'));
  assert.equal(await page.title(), 'Switchyard');
  await waitForAttr(page, '#link', 'data-state', 'connected', { timeout: ms(10000) });
  await waitForAttr(page, 'body', 'data-role', 'control');
  const status = await server.status();
  await waitForText(page, '#server', `${status.name} ${status.version}`);
  assert.equal(await attr(page, '#access', 'hidden'), '', '#access is hidden for a control page');
  assert.equal(await attr(page, '#announce', 'aria-live'), 'polite');
  assert.equal(await attr(page, 'html', 'lang'), 'en');
  assert.equal(await text(page, '#link'), 'Connected');
  for (const id of RELAY_IDS) {
    assert.equal(await attr(page, relaySwitch(id), 'role'), 'switch', `${id} has role=switch`);
    assert.notEqual(await attr(page, `[data-relay-card="${id}"]`, 'data-relay-card'), undefined,
      `a card for ${id}`);
  }
  await waitFor(async () => Object.values(await switchesDisabled(page)).every((d) => d === false),
    { what: 'every relay switch enabled on a connected control page' });
  // A server with its own hardware: every relay available, no mirror note.
  await waitForCards(page, (c) => c.available === 'true' && c.unavailable === null,
    'every relay card available with no explanation');
  assert.equal(await attr(page, '#mirror', 'hidden'), '', '#mirror is hidden on a server with its own hardware');
  assert.equal((await page.evaluate(() => window.switchyard.state())).mirrored, false);
  s.assertNoPageErrors();
});

scenario('sensor values appear and change; trend lines grow', async (s) => {
  const server = await s.server();
  const sensors = await s.client(server, PROTOCOLS.sensor);
  const catalogue = await sensors.waitFor((m) => m.type === 'sensors', { what: 'the catalogue' });
  // Every bench sample, so that whatever the page shows is among what this client saw.
  const subscribed = await sensors.command({ type: 'subscribe', rate_hz: catalogue.tick_hz || 20 });
  assert.equal(subscribed.type, 'ack', `subscribe: ${JSON.stringify(subscribed)}`);
  const page = await s.connectedPage(server.pageUrl('control'));

  const read = () => page.evaluate((ids) => Object.fromEntries(ids.map((id) => {
    const card = document.querySelector(`[data-sensor="${id}"]`);
    if (!card)
      return [id, null];
    const trend = card.querySelector('polyline.trend');
    const value = card.querySelector('.sensor-value');
    const unit = card.querySelector('.sensor-unit');
    return [id, {
      value: card.getAttribute('data-value'),
      stale: card.getAttribute('data-stale'),
      text: value ? value.textContent.trim() : null,
      unit: unit ? unit.textContent.trim() : null,
      points: trend ? trend.getAttribute('data-points') : null,
    }];
  })), SENSOR_IDS);

  const isNumber = (v) => typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v));
  const first = await waitFor(async () => {
    const now = await read();
    return SENSOR_IDS.every((id) => now[id] && isNumber(now[id].value)) ? now : null;
  }, { timeout: ms(5000), what: 'a numeric data-value on every sensor card' });

  for (const info of catalogue.sensors) {
    const card = first[info.id];
    assert.ok(card, `a card for ${info.id}`);
    assert.equal(card.stale, 'false', `${info.id} is not stale`);
    assert.ok(card.text && card.text !== '', `${info.id} shows a formatted value`);
    assert.equal(card.unit, info.unit, `${info.id} shows its unit`);
    const value = Number(card.value);
    const span = info.max - info.min;
    assert.ok(value >= info.min - span && value <= info.max + span,
      `${info.id} = ${value} is near its range ${info.min}..${info.max}`);
    assert.ok(isNumber(card.points), `${info.id} trend has a data-points count`);
  }

  // The page shows what the server sends: its temperature is one the server
  // sent recently (to the precision the attribute keeps).
  const temperature = Number(first.temperature.value);
  await sensors.waitFor((m) => m.type === 'reading' && Math.abs(m.values.temperature - temperature) < 0.01,
    { timeout: ms(2000), what: `a reading with the page's temperature ${temperature}` });

  // Within about a second the values move (noise on every model)...
  const changed = await waitFor(async () => {
    const now = await read();
    const moved = SENSOR_IDS.filter((id) => now[id].value !== first[id].value);
    return moved.length >= 3 && moved.includes('temperature') ? moved : null;
  }, { timeout: ms(2500), what: 'data-value to change on the sensor cards' });
  assert.ok(changed.length >= 3);

  // ...and the trend lines gain points.
  const before = Number(first.temperature.points);
  await waitFor(async () => Number((await read()).temperature.points) > before,
    { timeout: ms(3000), what: `the temperature trend to grow beyond ${before} points` });
  s.assertNoPageErrors();
});

scenario('a relay switch commands the server; pending, then confirmed; a second page follows', async (s) => {
  const server = await s.server();
  const watcher = await s.client(server, PROTOCOLS.relay);
  const snapshot = await watcher.waitFor((m) => m.type === 'relays', { what: 'the relay snapshot' });
  assert.equal(snapshot.relays.find((r) => r.id === 'lamp').on, false, 'lamp starts off');

  const pageA = await s.connectedPage(server.pageUrl('control'));
  const pageB = await s.connectedPage(server.pageUrl('control'));
  await waitForAttr(pageA, relaySwitch('lamp'), 'data-on', 'false');
  await waitForAttr(pageB, relaySwitch('lamp'), 'data-on', 'false');

  const trace = await traceAttributes(pageA, relaySwitch('lamp'), ['data-pending', 'data-on', 'aria-checked']);
  const mark = watcher.mark();
  await clickWhenEnabled(pageA, relaySwitch('lamp'));

  // The server's own account, through the separate client: pending, then confirmed.
  const pending = await watcher.waitFor((m) => m.type === 'relay' && m.relay.id === 'lamp' && m.relay.pending,
    { since: mark, what: 'lamp pending broadcast' });
  assert.equal(pending.relay.target, true);
  await watcher.waitFor((m) => m.type === 'relay' && m.relay.id === 'lamp' && m.relay.on && !m.relay.pending,
    { since: mark, what: 'lamp confirmed on broadcast' });
  const after = await relaySnapshot(server);
  assert.equal(after.lamp.on, true, 'a fresh client sees lamp on');
  assert.equal(after.lamp.pending, false);

  // The page: pending="true" first, then confirmed on with pending "false".
  await waitForAttr(pageA, relaySwitch('lamp'), 'data-on', 'true');
  await waitForAttr(pageA, relaySwitch('lamp'), 'data-pending', 'false');
  assert.equal(await attr(pageA, relaySwitch('lamp'), 'aria-checked'), 'true');
  const changes = await readTrace(pageA, trace);
  const click = changes.find((c) => c.event === 'click');
  const timeline = JSON.stringify(changes.map((c) => ({ ...c, t: Math.round(c.t - (click ? click.t : 0)) })));
  assert.ok(click, `the click reached the switch: ${timeline}`);
  const pendingAt = changes.findIndex((c) => c.attr === 'data-pending' && c.value === 'true');
  const onAt = changes.findIndex((c) => c.attr === 'data-on' && c.value === 'true');
  const checkedAt = changes.findIndex((c) => c.attr === 'aria-checked' && c.value === 'true');
  assert.ok(pendingAt >= 0, `data-pending="true" was shown (times in ms from the click): ${timeline}`);
  assert.ok(onAt > pendingAt, `data-on="true" came after pending (ms from the click): ${timeline}`);
  assert.ok(checkedAt >= 0 && changes[checkedAt].t >= changes[onAt].t,
    `aria-checked follows the confirmed state, not the target (ms from the click): ${timeline}`);

  // The other page follows without doing anything.
  await pageB.bringToFront();
  await waitForAttr(pageB, relaySwitch('lamp'), 'data-on', 'true');
  await waitForAttr(pageB, relaySwitch('lamp'), 'data-pending', 'false');
  assert.equal(await attr(pageB, relaySwitch('lamp'), 'aria-checked'), 'true');

  // And back off from the second page.
  const mark2 = watcher.mark();
  await clickWhenEnabled(pageB, relaySwitch('lamp'));
  await watcher.waitFor((m) => m.type === 'relay' && m.relay.id === 'lamp' && !m.relay.on && !m.relay.pending,
    { since: mark2, what: 'lamp confirmed off broadcast' });
  await waitForAttr(pageA, relaySwitch('lamp'), 'data-on', 'false');
  assert.equal((await relaySnapshot(server)).lamp.on, false);
  s.assertNoPageErrors();
});

scenario('interlock: cooler refused while heater is on, with the server\'s message', async (s) => {
  const server = await s.server();
  const watcher = await s.client(server, PROTOCOLS.relay);
  await watcher.waitFor((m) => m.type === 'relays', { what: 'the relay snapshot' });
  const page = await s.connectedPage(server.pageUrl('control'));

  await clickWhenEnabled(page, relaySwitch('heater'));
  await watcher.waitFor((m) => m.type === 'relay' && m.relay.id === 'heater' && m.relay.on && !m.relay.pending,
    { what: 'heater confirmed on' });
  await waitForAttr(page, relaySwitch('heater'), 'data-on', 'true');
  await waitForAttr(page, relaySwitch('heater'), 'data-pending', 'false');

  const announcedBefore = await text(page, '#announce');
  const mark = watcher.mark();
  await clickWhenEnabled(page, relaySwitch('cooler'));

  // The message the server gives for this refusal, asked by a control client.
  const control = await s.client(server, PROTOCOLS.relay, 'control');
  const refusal = await control.command({ type: 'set', relay: 'cooler', on: true });
  assert.equal(refusal.type, 'error');
  assert.equal(refusal.code, 'interlock');
  assert.ok(refusal.message, 'the refusal has a message');

  await waitForText(page, '[data-relay-message="cooler"]', refusal.message);
  await waitForAttr(page, relaySwitch('cooler'), 'data-pending', 'false');
  assert.equal(await attr(page, relaySwitch('cooler'), 'data-on'), 'false');
  assert.equal(await attr(page, relaySwitch('cooler'), 'aria-checked'), 'false');
  const announced = await text(page, '#announce');
  assert.ok(announced && announced !== announcedBefore,
    `the refusal is announced (#announce was ${JSON.stringify(announcedBefore)}, now ${JSON.stringify(announced)})`);

  // The server never moved the cooler.
  await sleep(ms(200));
  const state = await relaySnapshot(server);
  assert.equal(state.cooler.on, false);
  assert.equal(state.cooler.target, false);
  assert.equal(state.heater.on, true);
  assert.deepEqual(relayUpdates(watcher, 'cooler', mark), [], 'no cooler broadcast at all');
  s.assertNoPageErrors();
});

scenario('a note posted on one page shows on another', async (s) => {
  const server = await s.server();
  const display = await s.client(server, PROTOCOLS.display);
  await display.waitFor((m) => m.type === 'notes', { what: 'the notes snapshot' });
  const pageA = await s.connectedPage(server.pageUrl('control'));
  const pageB = await s.connectedPage(server.pageUrl('control'));

  const words = `Kettle on ${Math.random().toString(36).slice(2, 8)}`;
  await waitFor(async () => pageA.evaluate(() => !document.querySelector('#note-input').disabled),
    { what: '#note-input enabled' });
  await pageA.bringToFront();
  await pageA.fill('#note-input', words);
  await clickWhenEnabled(pageA, '#note-post');

  const note = await display.waitFor((m) => m.type === 'note' && m.note.text === words,
    { what: 'the note broadcast' });
  assert.ok(note.note.from, 'the server says who posted it');

  const noteTexts = (page) => page.evaluate(() =>
    Array.from(document.querySelectorAll('#notes-list li .note-text'), (e) => e.textContent.trim()));
  await pageB.bringToFront();
  await waitFor(async () => (await noteTexts(pageB)).includes(words),
    { what: `"${words}" in the second page's #notes-list` });
  await waitFor(async () => (await noteTexts(pageA)).includes(words),
    { what: `"${words}" in the first page's #notes-list` });
  const from = await pageB.evaluate((w) => {
    for (const li of document.querySelectorAll('#notes-list li')) {
      const t = li.querySelector('.note-text');
      if (t && t.textContent.trim() === w) {
        const f = li.querySelector('.note-from');
        return f ? f.textContent.trim() : null;
      }
    }
    return undefined;
  }, words);
  assert.ok(from, 'the note shows who posted it (.note-from)');
  s.assertNoPageErrors();
});

scenario('the server goes away and comes back: the page reconnects and commands again', async (s) => {
  const server = await s.server();
  const page = await s.connectedPage(server.pageUrl('control'));
  const firstSession = await page.evaluate(() => window.switchyard.state().session);
  await waitFor(async () => (await switchesDisabled(page)).lamp === false, { what: 'lamp switch enabled' });

  const stopped = await server.stop();
  assert.equal(stopped.code, 0, 'SIGTERM: the server exits 0');

  const down = await waitForAttr(page, '#link', 'data-state', (v) => v === 'reconnecting' || v === 'offline',
    { timeout: ms(5000) });
  if (down === 'reconnecting') {
    const retryAt = Number(await attr(page, '#link', 'data-retry-at'));
    assert.ok(Number.isFinite(retryAt) && retryAt > Date.now() - ms(5000) && retryAt < Date.now() + 120000,
      `data-retry-at is a time soon (${retryAt}, now ${Date.now()})`);
  }
  await waitFor(async () => Object.values(await switchesDisabled(page)).every((d) => d === true),
    { what: 'every relay switch disabled while the link is down' });

  await server.start(); // same port, same state directory: the page's token is still good
  await waitForAttr(page, '#link', 'data-state', 'connected', { timeout: ms(20000) });
  const secondSession = await page.evaluate(() => window.switchyard.state().session);
  assert.notEqual(secondSession, firstSession, 'the page took the new run\'s hello');

  const watcher = await s.client(server, PROTOCOLS.relay);
  await watcher.waitFor((m) => m.type === 'relays', { what: 'the relay snapshot' });
  await clickWhenEnabled(page, relaySwitch('lamp'));
  await watcher.waitFor((m) => m.type === 'relay' && m.relay.id === 'lamp' && m.relay.on && !m.relay.pending,
    { what: 'lamp confirmed on after the restart' });
  await waitForAttr(page, relaySwitch('lamp'), 'data-on', 'true');
  await waitForAttr(page, relaySwitch('lamp'), 'data-pending', 'false');
  s.assertNoPageErrors();
}, { timeout: ms(90000) });

async function checkViewOnly(s, server, page) {
  await waitForAttr(page, 'body', 'data-role', 'view');
  await waitFor(async () => page.evaluate(() => {
    const access = document.querySelector('#access');
    return access && !access.hidden && access.getClientRects().length > 0 && access.textContent.trim() !== '';
  }), { what: '#access visible with an explanation' });
  const disabled = await switchesDisabled(page);
  assert.deepEqual(disabled, Object.fromEntries(RELAY_IDS.map((id) => [id, true])),
    'every relay switch is disabled in view role');
  assert.equal(await page.evaluate(() => document.querySelector('#note-input').disabled), true);
  assert.equal(await page.evaluate(() => document.querySelector('#note-post').disabled), true);

  const watcher = await s.client(server, PROTOCOLS.relay);
  await watcher.waitFor((m) => m.type === 'relays', { what: 'the relay snapshot' });
  const mark = watcher.mark();
  const answer = await page.evaluate(() =>
    window.switchyard.command('relay', { type: 'set', relay: 'lamp', on: true }));
  assert.equal(answer.type, 'error', `the answer: ${JSON.stringify(answer)}`);
  assert.equal(answer.code, 'forbidden', `the answer: ${JSON.stringify(answer)}`);
  assert.equal(typeof answer.id, 'string', 'the page gave the command a string id');

  await sleep(ms(300));
  assert.deepEqual(relayUpdates(watcher, 'lamp', mark), [], 'no lamp broadcast after a forbidden command');
  const state = await relaySnapshot(server);
  assert.equal(state.lamp.on, false);
  assert.equal(state.lamp.target, false);
  assert.equal(await attr(page, relaySwitch('lamp'), 'data-on'), 'false');
}

scenario('view-only page (the view-url): read-only, commands forbidden', async (s) => {
  const server = await s.server();
  const page = await s.connectedPage(server.pageUrl('view'));
  await checkViewOnly(s, server, page);
  s.assertNoPageErrors();
});

scenario('view-only page (/ without a token, on loopback)', async (s) => {
  const server = await s.server();
  const page = await s.connectedPage(server.pageUrl(null));
  await checkViewOnly(s, server, page);
  // Sensors still stream to a viewer.
  await waitForAttr(page, '[data-sensor="temperature"]', 'data-value',
    (v) => typeof v === 'string' && v !== '' && Number.isFinite(Number(v)));
  s.assertNoPageErrors();
});

scenario('German: a de-DE browser gets the page in German', async (s) => {
  const server = await s.server();
  const german = await s.browser({ locale: 'de-DE' });
  const page = await s.connectedPage(server.pageUrl('control'), { on: german });
  assert.equal(await attr(page, 'html', 'lang'), 'de');
  await waitForText(page, '#link', 'Verbunden');
  s.assertNoPageErrors();
});

scenario('round-trip time readout', async (s) => {
  const server = await s.server();
  const page = await s.connectedPage(server.pageUrl('control'));
  const rtt = await waitForAttr(page, '#rtt', 'data-rtt-ms',
    (v) => typeof v === 'string' && Number.isFinite(Number(v)) && Number(v) > 0, { timeout: ms(5000) });
  assert.ok(Number(rtt) < 1000, `a loopback round trip under a second (${rtt} ms)`);
  assert.match(await text(page, '#rtt'), /\d.*ms/, '#rtt shows the time in ms');
  s.assertNoPageErrors();
});

function assertPng(file) {
  assert.ok(fs.existsSync(file), `${file} exists`);
  const data = fs.readFileSync(file);
  assert.ok(data.length > 8000, `${file} is a real picture (${data.length} bytes)`);
  assert.deepEqual([...data.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a],
    `${file} is a PNG`);
  return data;
}

/** Mean luminance (0-255) of a PNG, decoded by Chromium on a blank page (no CSP there). */
function meanLuminance(page, png) {
  return page.evaluate(async (b64) => {
    const image = new Image();
    image.src = `data:image/png;base64,${b64}`;
    await image.decode();
    const bitmap = await createImageBitmap(image);
    const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
    const g = canvas.getContext('2d');
    g.drawImage(bitmap, 0, 0);
    const { data } = g.getImageData(0, 0, bitmap.width, bitmap.height);
    let sum = 0;
    for (let i = 0; i < data.length; i += 4)
      sum += 0.2126 * data[i] + 0.7152 * data[i + 1] + 0.0722 * data[i + 2];
    return sum / (data.length / 4);
  }, png.toString('base64')).catch(() => null);
}

scenario('screenshots of the control page, light and dark', async (s) => {
  const server = await s.server();
  const page = await s.connectedPage(server.pageUrl('control'));
  // Something worth looking at: values, a trend, a relay on, a note.
  await waitForAttr(page, '[data-sensor="temperature"] polyline.trend', 'data-points', (v) => Number(v) >= 5,
    { timeout: ms(5000) });
  await clickWhenEnabled(page, relaySwitch('lamp'));
  await waitForAttr(page, relaySwitch('lamp'), 'data-on', 'true');
  await page.fill('#note-input', 'Screenshot taken by the browser tests');
  await clickWhenEnabled(page, '#note-post');
  await waitFor(async () => page.evaluate(() => document.querySelectorAll('#notes-list li').length > 0),
    { what: 'the note in the list' });
  await waitForAttr(page, '#rtt', 'data-rtt-ms', (v) => v !== null && v !== undefined);

  const dir = artifactsDir();
  const light = path.join(dir, 'control-page.png');
  const dark = path.join(dir, 'control-page-dark.png');
  fs.rmSync(light, { force: true });
  fs.rmSync(dark, { force: true });

  await page.emulateMedia({ colorScheme: 'light' });
  await page.screenshot({ path: light, fullPage: true });
  const lightPng = assertPng(light);

  await page.emulateMedia({ colorScheme: 'dark' });
  await sleep(100);
  await page.screenshot({ path: dark, fullPage: true });
  const darkPng = assertPng(dark);
  assert.notDeepEqual(lightPng, darkPng, 'the dark screenshot differs from the light one');

  const scratch = await s.page('about:blank');
  const l = await meanLuminance(scratch, lightPng);
  const d = await meanLuminance(scratch, darkPng);
  process.stdout.write(`screenshots in ${dir}: mean luminance light ${l && l.toFixed(1)}, dark ${d && d.toFixed(1)}\n`);
  s.assertNoPageErrors();
});

scenario('a relay server\'s page: the upstream\'s relays, commanded through it, unavailable while it is gone', async (s) => {
  const EN = 'Unavailable — the Switchyard this one mirrors is not connected';
  const DE = 'Nicht verfügbar – die gespiegelte Switchyard-Instanz ist nicht verbunden';
  const upstream = await s.server();
  const mirror = await s.server({ uplink: upstream });
  const board = await waitForUplink(mirror);
  assert.ok(board.chain.length > 0, `the relay server names the instance it mirrors: ${JSON.stringify(board.chain)}`);
  const upWatcher = await s.client(upstream, PROTOCOLS.relay);
  await upWatcher.waitFor((m) => m.type === 'relays', { what: 'the upstream\'s relay snapshot' });

  const page = await s.connectedPage(mirror.pageUrl('control'));
  const german = await s.browser({ locale: 'de-DE' });
  const pageDe = await s.connectedPage(mirror.pageUrl('control'), { on: german });

  // Mirrored relays are the upstream's, available and commandable.
  await waitForCards(page, (c) => c.available === 'true' && c.buttonAvailable === 'true' && !c.disabled &&
    !c.pulseDisabled && c.unavailable === null, 'every relay available and enabled');
  await waitForText(page, '#mirror', 'Mirrored from another Switchyard');
  await waitForText(pageDe, '#mirror', 'Gespiegelt von einer anderen Switchyard-Instanz');
  assert.equal(await attr(page, '#mirror', 'data-chain'), board.chain.join(' '));
  const mirrored = await page.evaluate(() => window.switchyard.state());
  assert.equal(mirrored.mirrored, true);
  assert.deepEqual(mirrored.chain, board.chain);
  assert.equal(mirrored.relays.lamp.available, true);

  // A click on the relay server's page switches the upstream's lamp.
  const mark = upWatcher.mark();
  await clickWhenEnabled(page, relaySwitch('lamp'));
  await upWatcher.waitFor((m) => m.type === 'relay' && m.relay.id === 'lamp' && m.relay.on && !m.relay.pending,
    { since: mark, what: 'the upstream\'s lamp confirmed on' });
  assert.equal((await relaySnapshot(upstream)).lamp.on, true, 'a fresh client of the upstream sees lamp on');
  await waitForAttr(page, relaySwitch('lamp'), 'data-on', 'true');
  await waitForAttr(page, relaySwitch('lamp'), 'data-pending', 'false');
  await waitForAttr(pageDe, relaySwitch('lamp'), 'data-on', 'true');

  // The upstream goes: within a few seconds every relay is unavailable and
  // disabled, keeps its last state, and says why, while the page's own link
  // to the relay server stays up.
  const stopped = await upstream.stop();
  assert.equal(stopped.code, 0, 'SIGTERM: the upstream exits 0');
  const gone = Date.now();
  const cards = await waitForCards(page, (c) => c.available === 'false' && c.buttonAvailable === 'false' &&
    c.disabled && c.pulseDisabled && c.unavailable === EN,
  'every relay unavailable, disabled and explained', { timeout: ms(5000) });
  process.stdout.write(`relays unavailable on the page ${Date.now() - gone} ms after the upstream stopped\n`);
  assert.equal(cards.lamp.on, 'true', 'an unavailable relay still shows its last known state');
  await waitForCards(pageDe, (c) => c.available === 'false' && c.disabled && c.unavailable === DE,
    'every relay unavailable in German', { timeout: ms(5000) });
  assert.equal(await attr(page, '#link', 'data-state'), 'connected', 'the page\'s own link is still up');
  assert.equal(await attr(page, '#mirror', 'hidden'), null, '#mirror still shows while the upstream is gone');
  await waitForAttr(page, '[data-sensor="temperature"]', 'data-stale', 'true');
  const state = await page.evaluate(() => window.switchyard.state());
  assert.equal(state.relays.lamp.available, false);
  assert.equal(state.relays.lamp.on, true);

  // A command that gets through anyway is refused by the relay server.
  const answer = await page.evaluate(() =>
    window.switchyard.command('relay', { type: 'set', relay: 'lamp', on: false }));
  assert.equal(answer.type, 'error', JSON.stringify(answer));
  assert.equal(answer.code, 'unavailable', JSON.stringify(answer));
  assert.match(answer.message, /^Lamp is unavailable/);

  // The upstream comes back (same port, same secret): the relays do too.
  await upstream.start();
  await waitForCards(page, (c) => c.available === 'true' && !c.disabled && !c.pulseDisabled && c.unavailable === null,
    'every relay available and enabled again', { timeout: ms(25000) });
  await waitForCards(pageDe, (c) => c.available === 'true' && !c.disabled && c.unavailable === null,
    'every relay available again in German', { timeout: ms(5000) });
  await waitForAttr(page, relaySwitch('lamp'), 'data-on', 'true');
  const upWatcher2 = await s.client(upstream, PROTOCOLS.relay);
  await upWatcher2.waitFor((m) => m.type === 'relays', { what: 'the restarted upstream\'s relay snapshot' });
  await clickWhenEnabled(page, relaySwitch('lamp'));
  await upWatcher2.waitFor((m) => m.type === 'relay' && m.relay.id === 'lamp' && !m.relay.on && !m.relay.pending,
    { what: 'the restarted upstream\'s lamp confirmed off' });
  await waitForAttr(page, relaySwitch('lamp'), 'data-on', 'false');
  s.assertNoPageErrors();
}, { timeout: ms(120000) });
