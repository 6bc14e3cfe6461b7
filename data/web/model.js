// The control page's pure logic: no DOM, no sockets, no clock of its own.
// Everything here takes its inputs as arguments, so it runs unchanged under
// `node --test` (tests/browser/test-model.mjs) and in the page.

// Reconnect delays: exponential, capped, with "equal jitter" (half of the
// delay is fixed, half is random) so a server restart is not met by every
// page at the same instant, yet no page waits much longer than the curve.
export class Backoff {
  constructor ({ base = 500, factor = 2, max = 15000, random = Math.random } = {}) {
    this.base = base;
    this.factor = factor;
    this.max = max;
    this.random = random;
    this.attempt = 0;
  }

  next () {
    const ceiling = Math.min(this.max, this.base * Math.pow(this.factor, this.attempt));
    this.attempt++;
    return Math.round(ceiling / 2 + this.random() * ceiling / 2);
  }

  reset () {
    this.attempt = 0;
  }
}

// A sensor's trend line over the last `spanMs`, one point per `stepMs` bucket:
// a reading in the same bucket as the newest point replaces it, so a 100 Hz
// stream and a 1 Hz history cost the same. Never more than
// spanMs / stepMs + 2 points.
export class Trend {
  constructor ({ spanMs = 5 * 60 * 1000, stepMs = 500 } = {}) {
    this.spanMs = spanMs;
    this.stepMs = stepMs;
    this.t = [];
    this.v = [];
  }

  get length () {
    return this.t.length;
  }

  get maxPoints () {
    return Math.floor(this.spanMs / this.stepMs) + 2;
  }

  get newest () {
    return this.t.length ? this.t[this.t.length - 1] : null;
  }

  push (t, v) {
    if (!Number.isFinite(t) || !Number.isFinite(v))
      return;
    const n = this.t.length;
    if (n > 0) {
      const last = this.t[n - 1];
      if (t < last)
        return; // out of order: a late duplicate, never rewrite the past
      if (Math.floor(t / this.stepMs) === Math.floor(last / this.stepMs)) {
        this.t[n - 1] = t;
        this.v[n - 1] = v;
        return;
      }
    }
    this.t.push(t);
    this.v.push(v);
    this.prune();
  }

  // History (oldest first) arrives after the first readings: keep the points
  // older than what is already there, then what is there.
  seed (times, values) {
    const first = this.t.length ? this.t[0] : Infinity;
    const t = [];
    const v = [];
    const n = Math.min(times.length, values.length);
    for (let i = 0; i < n; i++) {
      if (times[i] < first && Number.isFinite(times[i]) && Number.isFinite(values[i]) &&
          (t.length === 0 || times[i] > t[t.length - 1])) {
        t.push(times[i]);
        v.push(values[i]);
      }
    }
    this.t = t.concat(this.t);
    this.v = v.concat(this.v);
    this.prune();
  }

  prune () {
    if (this.t.length === 0)
      return;
    const horizon = this.newest - this.spanMs;
    let drop = 0;
    while (drop < this.t.length && this.t[drop] < horizon)
      drop++;
    const excess = this.t.length - drop - this.maxPoints;
    if (excess > 0)
      drop += excess;
    if (drop > 0) {
      this.t.splice(0, drop);
      this.v.splice(0, drop);
    }
  }

  clear () {
    this.t = [];
    this.v = [];
  }

  // The window the line shows: what there is, from half a minute (a fresh
  // server has little history) up to the whole span, newest at the right.
  windowMs (minWindowMs = 30000) {
    if (this.t.length === 0)
      return minWindowMs;
    const covered = this.newest - this.t[0];
    return Math.min(this.spanMs, Math.max(minWindowMs, covered));
  }

  // The values' own range with a margin, never narrower than 1 % of the
  // sensor's scale: a flat line stays flat instead of magnifying noise.
  valueRange (scaleMin, scaleMax) {
    if (this.v.length === 0)
      return [scaleMin, scaleMax];
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of this.v) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    const floor = Math.abs(scaleMax - scaleMin) * 0.01 || 1;
    const pad = Math.max((hi - lo) * 0.1, floor / 2);
    return [lo - pad, hi + pad];
  }

  // SVG polyline points in a width × height box: time on x over windowMs(),
  // valueRange() on y.
  toPoints (width, height, scaleMin, scaleMax) {
    const n = this.t.length;
    if (n === 0)
      return '';
    const window = this.windowMs();
    const start = this.newest - window;
    const [lo, hi] = this.valueRange(scaleMin, scaleMax);
    const range = hi - lo;
    const parts = new Array(n);
    for (let i = 0; i < n; i++) {
      const x = Math.max(0, (this.t[i] - start) / window * width);
      const y = height - (this.v[i] - lo) / range * height;
      parts[i] = `${x.toFixed(1)},${y.toFixed(1)}`;
    }
    return parts.join(' ');
  }
}

// Decimals that suit a sensor's range: a 2000 lx scale needs none, a 10 A
// one two.
export function decimalsFor (min, max) {
  const range = Math.abs(max - min);
  if (range >= 1000)
    return 0;
  if (range >= 100)
    return 1;
  return 2;
}

// toLocaleString() with options builds a formatter per call; at sixty
// frames a second for every sensor that shows, so keep one per locale and
// number of decimals.
const formatters = new Map();

export function formatValue (value, decimals, locale) {
  if (!Number.isFinite(value))
    return '–';
  const key = `${locale}/${decimals}`;
  let format = formatters.get(key);
  if (format === undefined) {
    format = new Intl.NumberFormat(locale, {
      minimumFractionDigits: decimals,
      maximumFractionDigits: decimals,
    });
    formatters.set(key, format);
  }
  return format.format(value);
}

// Where a value sits on its sensor's scale, from 0 to 1.
export function fraction (value, min, max) {
  if (!Number.isFinite(value) || !(max > min))
    return 0;
  return Math.min(1, Math.max(0, (value - min) / (max - min)));
}

// The median of a few round-trip samples: one slow garbage-collection pause
// must not make the readout jump.
export function median (samples) {
  if (samples.length === 0)
    return null;
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

// Which state the connection indicator shows while the link is down: after a
// while (or when the browser itself says it is offline) "reconnecting"
// becomes "offline"; retries go on either way.
export function downState (downForMs, browserOnline, offlineAfterMs = 30000) {
  if (!browserOnline || downForMs >= offlineAfterMs)
    return 'offline';
  return 'reconnecting';
}

// The relay a page shows: the device's confirmed state, whether anything
// (this page's own command or the device) is still in flight, and whether it
// can be commanded at all. A relay without `available` (a server from before
// relay servers) is available: only a mirror's relays ever say false.
export function relayView (relay, inflight) {
  return {
    on: !!relay.on,
    pending: !!relay.pending || !!inflight,
    target: relay.pending ? !!relay.target : !!relay.on,
    stuck: !!relay.stuck,
    available: relay.available !== false,
  };
}

// The relays as the server last described them. Every `relays` snapshot is a
// full resync (a relay server sends one whenever its upstream comes or
// goes): relays it does not list are gone, and so are their refusals. A
// refusal for being unavailable lasts only while the relay is.
export class RelayBoard {
  constructor () {
    this.relays = new Map();   // id → relay object as the server sent it
    this.ids = [];             // in the server's order
    this.chain = [];           // the instances the relays are mirrored from
    this.refusals = new Map(); // id → { code, message } of the last refusal
  }

  // Takes a `relays` snapshot. True when the set or order of relays changed,
  // so the cards must be rebuilt rather than updated.
  snapshot (message) {
    const list = Array.isArray(message.relays)
      ? message.relays.filter(r => r && typeof r.id === 'string') : [];
    const ids = list.map(r => r.id);
    const changed = ids.length !== this.ids.length || ids.some((id, i) => id !== this.ids[i]);
    this.relays = new Map(list.map(r => [r.id, r]));
    this.ids = ids;
    this.chain = Array.isArray(message.chain) ? message.chain.filter(c => typeof c === 'string') : [];
    for (const id of [...this.refusals.keys()])
      this.settle(id);
    return changed;
  }

  // Takes one relay's new state (a broadcast or an ack). True when the relay
  // is new, so its card must be built.
  update (relay) {
    if (!relay || typeof relay.id !== 'string')
      return false;
    const added = !this.relays.has(relay.id);
    if (added)
      this.ids.push(relay.id);
    this.relays.set(relay.id, relay);
    this.settle(relay.id);
    return added;
  }

  get (id) {
    return this.relays.get(id);
  }

  has (id) {
    return this.relays.has(id);
  }

  available (id) {
    const relay = this.relays.get(id);
    return !!relay && relay.available !== false;
  }

  // These relays are another Switchyard's: the snapshot names the instances
  // they come from, or (while the link to them is down and the chain is not
  // known) some relay is unavailable, which only a mirror's relay can be.
  get mirrored () {
    if (this.chain.length > 0)
      return true;
    for (const relay of this.relays.values()) {
      if (relay.available === false)
        return true;
    }
    return false;
  }

  refuse (id, code, message) {
    this.refusals.set(id, { code, message });
  }

  forget (id) {
    this.refusals.delete(id);
  }

  refusal (id) {
    const entry = this.refusals.get(id);
    return entry ? entry.message : '';
  }

  // Drops a refusal that no longer holds: its relay is gone, or it was
  // refused for being unavailable and is available again.
  settle (id) {
    const entry = this.refusals.get(id);
    if (!entry)
      return;
    if (!this.relays.has(id) || (entry.code === 'unavailable' && this.available(id)))
      this.refusals.delete(id);
  }
}

// The state a click on a relay's switch asks for: the opposite of where the
// relay is heading (a second click on a pending switch turns it back).
export function clickTarget (relay) {
  return !(relay.pending ? relay.target : relay.on);
}
