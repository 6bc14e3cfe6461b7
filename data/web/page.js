// The control page: four WebSockets to /ws (sensor, relay, display, echo),
// one state, and a renderer that writes the DOM at most once per animation
// frame. The stable hooks tests rely on are listed in docs/control-page.md.

import {
  Backoff, RelayBoard, Trend, clickTarget, decimalsFor, downState, formatValue, fraction, median,
  relayView,
} from './model.js';
import { pickLanguage, translator } from './i18n.js';

const PROTOCOLS = {
  sensor: 'switchyard.sensor.v1',
  relay: 'switchyard.relay.v1',
  display: 'switchyard.display.v1',
  echo: 'switchyard.echo.v1',
};
// The link is up when these three have sent their snapshots; the echo socket
// only measures latency.
const ESSENTIAL = ['sensor', 'relay', 'display'];

const HEARTBEAT_MS = 1000;     // an echo every second…
const DEAD_AFTER_MS = 4000;    // …and a link silent this long is dead
const TREND_SPAN_MS = 5 * 60 * 1000;
const TREND_REDRAW_MS = 250;   // trend lines move at most four times a second
const MAX_RATE_HZ = 100;
const PULSE_MS = 1000;
const MAX_NOTES = 50;
const RTT_SAMPLES = 5;

const SVG_NS = 'http://www.w3.org/2000/svg';

const lang = pickLanguage(navigator.languages && navigator.languages.length
  ? navigator.languages : [navigator.language]);
const tr = translator(lang);
const token = new URLSearchParams(location.search).get('token');

const state = {
  link: 'connecting',
  reason: '',
  role: 'unknown',
  session: null,
  server: '',
  downSince: null,
  retryAt: null,
  sensors: new Map(),   // id → { info, value, stale, t, trend, decimals }
  sensorIds: [],
  tickHz: 0,
  board: new RelayBoard(), // the relays, the chain they come from, refusals
  inflight: new Map(),  // relay id → command id of this page's command
  notes: [],
  rttSamples: [],
  rttMs: null,
};

// ---------------------------------------------------------------------------
// DOM helpers
// ---------------------------------------------------------------------------

const $ = id => document.getElementById(id);

function el (tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes))
    node.setAttribute(name, value);
  node.append(...children);
  return node;
}

function svg (tag, attributes = {}, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attributes))
    node.setAttribute(name, value);
  node.append(...children);
  return node;
}

// Writes only what changed: a 100 Hz stream must not cost a style
// recalculation for values that stayed the same.
function setText (node, text) {
  if (node.textContent !== text)
    node.textContent = text;
}

function setAttr (node, name, value) {
  if (value === null) {
    if (node.hasAttribute(name))
      node.removeAttribute(name);
  } else if (node.getAttribute(name) !== value) {
    node.setAttribute(name, value);
  }
}

let lastAnnouncement = '';
function announce (text) {
  const region = $('announce');
  // The same words twice in a row are still news (a second refusal).
  region.textContent = text === lastAnnouncement ? `${text}\u00a0` : text;
  lastAnnouncement = region.textContent;
}

function formatDuration (ms) {
  if (ms % 3600000 === 0)
    return tr('duration.h', { n: ms / 3600000 });
  if (ms % 60000 === 0)
    return tr('duration.min', { n: ms / 60000 });
  return tr('duration.s', { n: Math.round(ms / 1000) });
}

function localize () {
  document.documentElement.lang = lang;
  document.title = tr('page.title');
  for (const node of document.querySelectorAll('[data-i18n]'))
    node.textContent = tr(node.dataset.i18n);
  for (const node of document.querySelectorAll('[data-i18n-placeholder]'))
    node.placeholder = tr(node.dataset.i18nPlaceholder);
  for (const node of document.querySelectorAll('[data-i18n-title]'))
    node.title = tr(node.dataset.i18nTitle);
}

// ---------------------------------------------------------------------------
// Rendering, batched per animation frame
// ---------------------------------------------------------------------------

const dirty = { link: false, sensors: false, sensorSet: false, relays: false, relaySet: false,
                notes: false, rtt: false };
let frameRequested = false;
let lastTrendDraw = 0;

function invalidate (what) {
  dirty[what] = true;
  if (!frameRequested) {
    frameRequested = true;
    requestAnimationFrame(render);
  }
}

function render (now) {
  frameRequested = false;
  if (dirty.sensorSet)
    buildSensors();
  if (dirty.relaySet)
    buildRelays();
  if (dirty.link)
    renderLink();
  if (dirty.sensors)
    renderSensors(now);
  if (dirty.relays || dirty.link)
    renderRelays();
  if (dirty.notes || dirty.link)
    renderNotes();
  if (dirty.rtt)
    renderRtt();
  for (const key of Object.keys(dirty))
    dirty[key] = false;
}

function controlsEnabled () {
  return state.link === 'connected' && state.role === 'control';
}

function renderLink () {
  const link = $('link');
  setAttr(link, 'data-state', state.link);
  setAttr(link, 'data-retry-at', state.retryAt === null ? null : String(state.retryAt));
  let text;
  if (state.link === 'connected') {
    text = tr('link.connected');
  } else if (state.link === 'connecting') {
    text = tr('link.connecting');
  } else {
    const seconds = state.retryAt === null ? 0 : Math.ceil((state.retryAt - Date.now()) / 1000);
    const base = state.link === 'offline' ? 'link.offline' : 'link.reconnecting';
    text = seconds > 0 ? tr(base, { s: seconds }) : tr(`${base}-now`);
  }
  setText($('link-text'), text);
  $('link-retry').hidden = state.retryAt === null;
  setText($('server'), state.server);

  const reason = $('link-reason');
  const showReason = state.link !== 'connected' && state.reason !== '';
  reason.hidden = !showReason;
  setText(reason, showReason ? state.reason : '');

  document.body.dataset.role = state.role;
  const access = $('access');
  if (state.role === 'view') {
    access.hidden = false;
    setText(access, tr('access.view'));
  } else {
    access.hidden = true;
  }
}

function buildSensors () {
  const list = $('sensors');
  list.replaceChildren();
  for (const id of state.sensorIds) {
    const sensor = state.sensors.get(id);
    const { info } = sensor;
    const name = tr(`sensor.${id}`) === `sensor.${id}` ? info.name : tr(`sensor.${id}`);
    const titleId = `sensor-${id}-name`;

    const arc = 'M 10 60 A 50 50 0 0 1 110 60';
    const gauge = svg('svg', { class: 'gauge', viewBox: '0 0 120 66', 'aria-hidden': 'true' },
      svg('path', { class: 'gauge-track', d: arc, pathLength: '100' }),
      svg('path', { class: 'gauge-fill', d: arc, pathLength: '100', 'stroke-dasharray': '0 100' }));
    const trend = svg('polyline', { class: 'trend', points: '', 'data-points': '0',
                                    'vector-effect': 'non-scaling-stroke' });
    const range = `${tr('sensor.range', { min: formatValue(info.min, 0, lang),
                                          max: formatValue(info.max, 0, lang) })} ${info.unit}`;
    const trendBox = svg('svg', {
      class: 'trend-box', viewBox: '0 0 300 60', preserveAspectRatio: 'none', role: 'img',
      'aria-label': tr('sensor.trend', { minutes: TREND_SPAN_MS / 60000, name }),
    }, trend);

    const card = el('li', {
      class: 'card sensor', 'data-sensor': id, 'data-value': '', 'data-stale': 'false',
      'aria-labelledby': titleId,
    },
    el('h3', { id: titleId }, name),
    el('div', { class: 'gauge-wrap' },
      gauge,
      el('p', { class: 'reading' },
        el('span', { class: 'sensor-value' }, '–'),
        ' ',
        el('span', { class: 'sensor-unit' }, info.unit))),
    el('p', { class: 'badge stale-badge', hidden: '' }, tr('sensor.stale')),
    trendBox,
    el('p', { class: 'range dim' }, range));

    sensor.nodes = {
      card,
      value: card.querySelector('.sensor-value'),
      fill: gauge.querySelector('.gauge-fill'),
      trend,
      badge: card.querySelector('.stale-badge'),
      name,
      drawnValue: null,
      drawnText: null,
    };
    list.append(card);
  }
  dirty.sensors = true;
  lastTrendDraw = 0;
}

function renderSensors (now) {
  const drawTrends = now - lastTrendDraw >= TREND_REDRAW_MS;
  if (drawTrends)
    lastTrendDraw = now;
  let pending = false;

  for (const id of state.sensorIds) {
    const sensor = state.sensors.get(id);
    const nodes = sensor.nodes;
    if (!nodes)
      continue;
    if (sensor.value !== nodes.drawnValue) {
      nodes.drawnValue = sensor.value;
      // Only what a person can see changes the DOM: the value as shown (to
      // the sensor's decimals) and the arc to a tenth of a percent.
      const text = formatValue(sensor.value, sensor.decimals, lang);
      if (text !== nodes.drawnText) {
        nodes.drawnText = text;
        setText(nodes.value, text);
        setAttr(nodes.card, 'data-value',
                Number.isFinite(sensor.value) ? sensor.value.toFixed(sensor.decimals) : '');
      }
      const pct = (fraction(sensor.value, sensor.info.min, sensor.info.max) * 100).toFixed(1);
      setAttr(nodes.fill, 'stroke-dasharray', `${pct} 100`);
    }
    const stale = sensor.stale ? 'true' : 'false';
    if (nodes.card.dataset.stale !== stale) {
      nodes.card.dataset.stale = stale;
      nodes.badge.hidden = !sensor.stale;
      if (sensor.stale)
        announce(tr('sensor.stale-long', { name: nodes.name }));
    }
    if (sensor.trendDirty) {
      if (drawTrends) {
        sensor.trendDirty = false;
        setAttr(nodes.trend, 'points', sensor.trend.toPoints(300, 60, sensor.info.min, sensor.info.max));
        setAttr(nodes.trend, 'data-points', String(sensor.trend.length));
      } else {
        pending = true;
      }
    }
  }
  // A trend change held back by the redraw limit is drawn by a later frame.
  if (pending)
    invalidate('sensors');
}

function relayName (id) {
  const relay = state.board.get(id);
  return relay && relay.name ? relay.name : id;
}

// Each card's nodes, found once when it is built rather than on every frame.
let relayNodes = new Map();
// Whether every relay was available at the last frame (null before any).
let drawnAllAvailable = null;

function buildRelays () {
  const list = $('relays');
  list.replaceChildren();
  relayNodes = new Map();
  for (const id of state.board.ids) {
    const nameId = `relay-${id}-name`;
    const detailId = `relay-${id}-detail`;
    const unavailableId = `relay-${id}-unavailable`;
    const messageId = `relay-${id}-message`;
    const knob = svg('svg', { class: 'switch-art', viewBox: '0 0 52 30', 'aria-hidden': 'true' },
      svg('rect', { class: 'switch-track', x: '1', y: '1', width: '50', height: '28', rx: '14' }),
      svg('circle', { class: 'switch-knob', cx: '15', cy: '15', r: '11' }));
    const button = el('button', {
      type: 'button', class: 'relay-switch', role: 'switch', 'data-relay': id,
      'aria-checked': 'false', 'data-on': 'false', 'data-pending': 'false',
      'data-available': 'true', 'aria-labelledby': nameId,
      'aria-describedby': `${detailId} ${unavailableId} ${messageId}`, disabled: '',
    }, knob);
    button.addEventListener('click', () => commandRelay(id));

    const pulse = el('button', { type: 'button', class: 'pulse flat', 'data-pulse': id, disabled: '' },
      tr('relay.pulse'));
    pulse.addEventListener('click', () => pulseRelay(id));

    const card = el('li', { class: 'card relay', 'data-relay-card': id, 'data-available': 'true' },
      el('div', { class: 'relay-head' },
        el('h3', { id: nameId, class: 'relay-name' }, relayName(id)),
        button),
      el('p', { id: detailId, class: 'relay-state' }),
      el('p', { class: 'relay-notes dim' }),
      el('p', { id: unavailableId, class: 'relay-unavailable', 'data-relay-unavailable': id, hidden: '' }),
      el('p', { id: messageId, class: 'error', 'data-relay-message': id }),
      el('div', { class: 'relay-foot' }, pulse));
    relayNodes.set(id, {
      card,
      button,
      pulse,
      name: card.querySelector('.relay-name'),
      detail: card.querySelector('.relay-state'),
      notes: card.querySelector('.relay-notes'),
      unavailable: card.querySelector('.relay-unavailable'),
      message: card.querySelector('.error'),
    });
    list.append(card);
  }
  dirty.relays = true;
}

function renderRelays () {
  const enabled = controlsEnabled();
  const board = state.board;
  let allAvailable = true;
  for (const id of board.ids) {
    const relay = board.get(id);
    const nodes = relayNodes.get(id);
    if (!relay || !nodes)
      continue;
    const { card, button, pulse } = nodes;
    const view = relayView(relay, state.inflight.has(id));
    allAvailable = allAvailable && view.available;
    setAttr(button, 'data-on', String(view.on));
    setAttr(button, 'aria-checked', String(view.on));
    setAttr(button, 'data-pending', String(view.pending));
    setAttr(button, 'data-target', String(view.target));
    setAttr(button, 'aria-busy', view.pending ? 'true' : null);
    setAttr(button, 'data-available', String(view.available));
    setAttr(card, 'data-available', String(view.available));
    // An unavailable relay belongs to a Switchyard this one cannot reach:
    // nothing sent to it would arrive.
    button.disabled = !enabled || !view.available;
    pulse.disabled = !enabled || !view.available;
    setAttr(pulse, 'aria-label', tr('relay.pulse-label', { name: relayName(id) }));
    setAttr(card, 'data-stuck', String(view.stuck));
    if (nodes.unavailable.hidden !== view.available)
      nodes.unavailable.hidden = view.available;
    setText(nodes.unavailable, view.available ? '' : tr('relay.unavailable'));

    setText(nodes.name, relayName(id));
    let detail;
    if (view.stuck)
      detail = tr('relay.stuck');
    else if (view.pending)
      detail = tr(view.target ? 'relay.switching-on' : 'relay.switching-off');
    else
      detail = tr(view.on ? 'relay.on' : 'relay.off');
    setText(nodes.detail, detail);

    const notes = [];
    if (relay.interlock)
      notes.push(tr('relay.interlock', { name: relayName(relay.interlock) }));
    if (relay.max_on_ms > 0)
      notes.push(tr('relay.max-on', { duration: formatDuration(relay.max_on_ms) }));
    setText(nodes.notes, notes.join(' · '));
    setText(nodes.message, board.refusal(id));
  }

  const mirror = $('mirror');
  const mirrored = board.mirrored;
  if (mirror.hidden === mirrored)
    mirror.hidden = !mirrored;
  setAttr(mirror, 'data-chain', mirrored ? board.chain.join(' ') : null);

  // Said once when the relays go, and once when they are back.
  if (board.ids.length > 0 && allAvailable !== drawnAllAvailable) {
    if (!allAvailable)
      announce(tr('announce.unavailable'));
    else if (drawnAllAvailable === false)
      announce(tr('announce.available'));
    drawnAllAvailable = allAvailable;
  }
}

function renderNotes () {
  const enabled = controlsEnabled();
  $('note-input').disabled = !enabled;
  $('note-post').disabled = !enabled;
  if (!dirty.notes)
    return;
  const list = $('notes-list');
  const items = state.notes.slice().reverse().map(note => {
    const when = new Date(note.t);
    return el('li', {},
      el('p', { class: 'note-text' }, note.text),
      el('p', { class: 'note-from dim' },
        tr('notes.from', { from: note.from }), ' · ',
        el('time', { datetime: when.toISOString() }, when.toLocaleTimeString(lang))));
  });
  list.replaceChildren(...items);
  $('notes-empty').hidden = state.notes.length > 0;
}

function renderRtt () {
  const output = $('rtt-value');
  const rtt = $('rtt');
  if (state.rttMs === null) {
    setText(output, '–');
    setAttr(rtt, 'data-rtt-ms', null);
    return;
  }
  const digits = state.rttMs < 10 ? 1 : 0;
  setText(output, `${formatValue(state.rttMs, digits, lang)} ms`);
  setAttr(rtt, 'data-rtt-ms', state.rttMs.toFixed(2));
}

// ---------------------------------------------------------------------------
// The link: four sockets that come and go together
// ---------------------------------------------------------------------------

const backoff = new Backoff();
let generation = 0;
let sockets = {};
let ready = new Set();
let lastHeard = 0;
let heartbeatTimer = null;
let retryTimer = null;
let countdownTimer = null;
let nextCommandId = 1;
const waiting = new Map(); // command id → { resolve, protocol }
let echoSeq = 0;
const echoSent = new Map(); // seq → performance.now() at sending

function socketUrl () {
  const url = new URL('/ws', location.href);
  url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  url.search = '';
  url.hash = '';
  if (token)
    url.searchParams.set('token', token);
  return url.href;
}

function connect () {
  clearTimeout(retryTimer);
  retryTimer = null;
  state.retryAt = null;
  const gen = ++generation;
  ready = new Set();
  sockets = {};
  lastHeard = performance.now();
  if (state.link !== 'connecting')
    invalidate('link');

  const url = socketUrl();
  for (const [key, protocol] of Object.entries(PROTOCOLS)) {
    let socket;
    try {
      socket = new WebSocket(url, protocol);
    } catch (error) {
      linkLost(gen, tr('reason.refused', { message: error.message }));
      return;
    }
    socket.addEventListener('message', event => {
      if (gen === generation)
        receive(key, event.data);
    });
    socket.addEventListener('close', event => {
      if (gen === generation)
        socketClosed(key, event);
    });
    sockets[key] = socket;
  }
  clearInterval(heartbeatTimer);
  heartbeatTimer = setInterval(() => heartbeat(gen), HEARTBEAT_MS);
}

function heartbeat (gen) {
  if (gen !== generation)
    return;
  if (performance.now() - lastHeard > DEAD_AFTER_MS) {
    linkLost(gen, tr('reason.unreachable'));
    return;
  }
  const echo = sockets.echo;
  if (echo && echo.readyState === WebSocket.OPEN) {
    const seq = ++echoSeq;
    echoSent.set(seq, performance.now());
    echo.send(`{"ping":${seq}}`);
    // Forget echoes that will never come back.
    for (const old of echoSent.keys()) {
      if (old < seq - 10)
        echoSent.delete(old);
    }
  }
}

function socketClosed (key, event) {
  let reason;
  if (event.code === 4002)
    reason = tr('reason.revoked');
  else if (event.code === 1001)
    reason = tr('reason.shutdown');
  else if (event.code !== 1006 && event.code !== 1000 && event.reason)
    reason = tr('reason.closed', { message: event.reason });
  else
    reason = '';
  const openedOnce = ready.has(key);
  linkLost(generation, reason);
  // A socket that never opened was refused at the handshake, where a browser
  // sees no status: ask the API the same question to say why.
  if (!openedOnce && reason === '')
    explainRefusal(generation);
}

async function explainRefusal (gen) {
  try {
    const url = new URL('/api/status', location.href);
    if (token)
      url.searchParams.set('token', token);
    const response = await fetch(url, { cache: 'no-store' });
    if (gen !== generation || state.link === 'connected')
      return;
    if (response.status === 401 || response.status === 403)
      state.reason = tr('reason.refused', { message: (await response.text()).trim() });
    else if (!response.ok)
      state.reason = tr('reason.refused', { message: `${response.status}` });
    else
      state.reason = '';
  } catch (error) {
    if (gen !== generation || state.link === 'connected')
      return;
    state.reason = tr('reason.unreachable');
  }
  invalidate('link');
}

function linkLost (gen, reason) {
  if (gen !== generation)
    return;
  generation++; // every handler of the old sockets is now inert
  clearInterval(heartbeatTimer);
  heartbeatTimer = null;
  for (const socket of Object.values(sockets)) {
    // Closing a socket that is still connecting makes the browser log an
    // error: let it open first, then close it.
    if (socket.readyState === WebSocket.CONNECTING)
      socket.addEventListener('open', () => socket.close(1000));
    else if (socket.readyState === WebSocket.OPEN)
      socket.close(1000);
  }
  sockets = {};
  echoSent.clear();
  for (const [id, entry] of waiting) {
    entry.resolve({ type: 'error', id, code: 'disconnected', message: tr('error.disconnected') });
    waiting.delete(id);
  }
  state.inflight.clear();

  const wasConnected = state.link === 'connected';
  if (state.downSince === null)
    state.downSince = Date.now();
  if (reason)
    state.reason = reason;
  if (wasConnected)
    announce(tr('announce.lost'));
  scheduleRetry();
}

function scheduleRetry () {
  const delay = backoff.next();
  state.retryAt = Date.now() + delay;
  state.link = downState(Date.now() - state.downSince, navigator.onLine !== false);
  clearTimeout(retryTimer);
  retryTimer = setTimeout(connect, delay);
  clearInterval(countdownTimer);
  countdownTimer = setInterval(() => {
    if (state.retryAt === null) {
      clearInterval(countdownTimer);
      return;
    }
    state.link = downState(Date.now() - state.downSince, navigator.onLine !== false);
    invalidate('link');
  }, 1000);
  invalidate('link');
  invalidate('relays');
}

function retryNow () {
  if (state.link === 'connected')
    return;
  backoff.reset();
  connect();
}

function markReady (key) {
  ready.add(key);
  if (state.link === 'connected' || !ESSENTIAL.every(k => ready.has(k)))
    return;
  state.link = 'connected';
  state.reason = '';
  state.downSince = null;
  state.retryAt = null;
  clearInterval(countdownTimer);
  backoff.reset();
  announce(tr('announce.connected', { server: state.server }));
  invalidate('link');
  invalidate('relays');
  invalidate('notes');
}

function send (key, message) {
  const socket = sockets[key];
  if (!socket || socket.readyState !== WebSocket.OPEN)
    return false;
  socket.send(JSON.stringify(message));
  return true;
}

// Sends a command and resolves with the server's ack or error for it.
function command (key, message) {
  const id = message.id ?? `p${nextCommandId++}`;
  const full = { ...message, id };
  return new Promise(resolve => {
    if (!send(key, full)) {
      resolve({ type: 'error', id, code: 'disconnected', message: tr('error.disconnected') });
      return;
    }
    waiting.set(id, { resolve, protocol: key });
  });
}

function receive (key, data) {
  lastHeard = performance.now();
  if (key === 'echo') {
    receiveEcho(data);
    return;
  }
  let message;
  try {
    message = JSON.parse(data);
  } catch (error) {
    console.warn('Switchyard: not JSON on', key, error);
    return;
  }
  if (message.type === 'hello') {
    if (state.session !== null && state.session.split('-')[0] !== message.session.split('-')[0])
      console.info('Switchyard: the server restarted');
    state.session = message.session;
    state.role = message.role;
    state.server = `${message.server} ${message.version}`;
    invalidate('link');
    return;
  }
  if ((message.type === 'ack' || message.type === 'error') && waiting.has(message.id)) {
    const entry = waiting.get(message.id);
    waiting.delete(message.id);
    entry.resolve(message);
  }
  switch (key) {
  case 'sensor':
    receiveSensor(message);
    break;
  case 'relay':
    receiveRelay(message);
    break;
  case 'display':
    receiveDisplay(message);
    break;
  }
}

function receiveEcho (data) {
  let seq;
  try {
    seq = JSON.parse(data).ping;
  } catch (error) {
    return;
  }
  const sent = echoSent.get(seq);
  if (sent === undefined)
    return;
  echoSent.delete(seq);
  state.rttSamples.push(performance.now() - sent);
  if (state.rttSamples.length > RTT_SAMPLES)
    state.rttSamples.shift();
  state.rttMs = median(state.rttSamples);
  invalidate('rtt');
}

function receiveSensor (message) {
  switch (message.type) {
  case 'sensors': {
    const ids = message.sensors.map(s => s.id);
    const same = ids.join() === state.sensorIds.join();
    const previous = state.sensors;
    state.sensors = new Map();
    for (const info of message.sensors) {
      const old = same ? previous.get(info.id) : null;
      state.sensors.set(info.id, {
        info,
        value: old ? old.value : NaN,
        stale: false,
        trend: new Trend({ spanMs: TREND_SPAN_MS }),
        trendDirty: true,
        decimals: decimalsFor(info.min, info.max),
        nodes: old ? old.nodes : null,
      });
    }
    state.sensorIds = ids;
    state.tickHz = message.tick_hz;
    if (!same)
      invalidate('sensorSet');
    invalidate('sensors');
    const rate = Math.min(MAX_RATE_HZ, message.tick_hz || 10);
    send('sensor', { type: 'subscribe', id: `p${nextCommandId++}`, rate_hz: rate });
    for (const id of ids) {
      command('sensor', { type: 'history', sensor: id, seconds: TREND_SPAN_MS / 1000 })
        .then(answer => {
          const sensor = state.sensors.get(id);
          if (answer.type === 'history' && sensor) {
            sensor.trend.seed(answer.t, answer.v);
            sensor.trendDirty = true;
            invalidate('sensors');
          }
        });
    }
    markReady('sensor');
    break;
  }
  case 'reading': {
    const stale = new Set(message.stale || []);
    for (const [id, value] of Object.entries(message.values)) {
      const sensor = state.sensors.get(id);
      if (!sensor)
        continue;
      sensor.value = value;
      sensor.stale = stale.has(id);
      sensor.trend.push(message.t, value);
      sensor.trendDirty = true;
    }
    invalidate('sensors');
    break;
  }
  case 'history': {
    const entry = waiting.get(message.id);
    if (entry) {
      waiting.delete(message.id);
      entry.resolve(message);
    }
    break;
  }
  }
}

function receiveRelay (message) {
  switch (message.type) {
  case 'relays':
    // A full resync, whether the first or one of a relay server's when its
    // upstream comes or goes.
    if (state.board.snapshot(message))
      invalidate('relaySet');
    invalidate('relays');
    markReady('relay');
    break;
  case 'relay':
  case 'ack':
    if (message.relay && state.board.update(message.relay))
      invalidate('relaySet');
    invalidate('relays');
    break;
  }
}

function receiveDisplay (message) {
  switch (message.type) {
  case 'notes':
    state.notes = message.notes.slice(-MAX_NOTES);
    invalidate('notes');
    markReady('display');
    break;
  case 'note':
    state.notes.push(message.note);
    if (state.notes.length > MAX_NOTES)
      state.notes.shift();
    invalidate('notes');
    break;
  }
}

// ---------------------------------------------------------------------------
// What a person does
// ---------------------------------------------------------------------------

async function runRelayCommand (id, message) {
  if (!controlsEnabled() || !state.board.available(id) || state.inflight.has(id))
    return;
  const commandId = `p${nextCommandId++}`;
  state.inflight.set(id, commandId);
  state.board.forget(id);
  invalidate('relays');
  const answer = await command('relay', { ...message, id: commandId, relay: id });
  if (state.inflight.get(id) === commandId)
    state.inflight.delete(id);
  if (answer.type === 'error' && answer.code !== 'disconnected') {
    // Every refusal shows the server's own words, "unavailable" included.
    state.board.refuse(id, answer.code, answer.message);
    announce(tr('announce.refused', { relay: relayName(id), message: answer.message }));
  }
  invalidate('relays');
}

function commandRelay (id) {
  const relay = state.board.get(id);
  if (relay)
    runRelayCommand(id, { type: 'set', on: clickTarget(relay) });
}

function pulseRelay (id) {
  runRelayCommand(id, { type: 'pulse', ms: PULSE_MS });
}

async function postNote (event) {
  event.preventDefault();
  const input = $('note-input');
  const text = input.value.trim();
  const error = $('note-error');
  if (!controlsEnabled() || text === '')
    return;
  $('note-post').disabled = true;
  const answer = await command('display', { type: 'post', text });
  $('note-post').disabled = !controlsEnabled();
  if (answer.type === 'ack') {
    input.value = '';
    setText(error, '');
  } else {
    setText(error, answer.message);
  }
}

// ---------------------------------------------------------------------------
// Start
// ---------------------------------------------------------------------------

// For diagnostics and tests: read the page's state, or send a message on one
// of its own sockets exactly as the page would.
window.switchyard = Object.freeze({
  state () {
    const relays = {};
    for (const [id, relay] of state.board.relays) {
      relays[id] = { on: !!relay.on, pending: !!relay.pending, target: !!relay.target,
                     available: relay.available !== false };
    }
    const sensors = {};
    for (const [id, sensor] of state.sensors)
      sensors[id] = { value: sensor.value, stale: sensor.stale, points: sensor.trend.length };
    return { link: state.link, role: state.role, session: state.session, relays,
             mirrored: state.board.mirrored, chain: state.board.chain.slice(), sensors,
             rttMs: state.rttMs, language: lang };
  },
  command (protocol, message) {
    if (!(protocol in PROTOCOLS) || protocol === 'echo')
      return Promise.reject(new Error(`no such protocol: ${protocol}`));
    return command(protocol, message);
  },
});

localize();
$('link-retry').addEventListener('click', retryNow);
$('note-form').addEventListener('submit', postNote);
window.addEventListener('online', retryNow);
window.addEventListener('offline', () => {
  if (state.link !== 'connected') {
    state.link = 'offline';
    invalidate('link');
  }
});
invalidate('link');
connect();
