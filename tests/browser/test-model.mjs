// Unit tests of the control page's pure logic (data/web/model.js) and its
// string table (data/web/i18n.js), the very files the server serves.
//
//   node --test tests/browser/test-model.mjs

import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  Backoff, RelayBoard, Trend, clickTarget, decimalsFor, downState, formatValue, fraction, median,
  relayView,
} from '../../data/web/model.js';
import { LANGUAGES, missingKeys, pickLanguage, translator } from '../../data/web/i18n.js';

test('backoff doubles up to its cap, with half of each delay random', () => {
  let r = 0;
  const backoff = new Backoff({ base: 500, max: 15000, random: () => r });
  const floors = [];
  for (let i = 0; i < 8; i++)
    floors.push(backoff.next());
  assert.deepEqual(floors, [250, 500, 1000, 2000, 4000, 7500, 7500, 7500]);

  r = 0.999999;
  backoff.reset();
  const ceilings = [];
  for (let i = 0; i < 7; i++)
    ceilings.push(backoff.next());
  assert.deepEqual(ceilings, [500, 1000, 2000, 4000, 8000, 15000, 15000]);

  // Random draws stay inside [ceiling / 2, ceiling].
  const real = new Backoff({ base: 500, max: 15000 });
  for (let i = 0; i < 200; i++) {
    const ceiling = Math.min(15000, 500 * 2 ** Math.min(i, 30));
    const delay = real.next();
    assert.ok(delay >= ceiling / 2 && delay <= ceiling, `attempt ${i}: ${delay}`);
  }
});

test('a trend keeps one point per bucket and never more than its bound', () => {
  const trend = new Trend({ spanMs: 60000, stepMs: 500 });
  // 100 Hz for two minutes: 12000 readings.
  for (let i = 0; i < 12000; i++)
    trend.push(1_000_000 + i * 10, Math.sin(i / 100));
  assert.ok(trend.length <= trend.maxPoints, `${trend.length} > ${trend.maxPoints}`);
  assert.ok(trend.length >= 120, `${trend.length}`);
  assert.equal(trend.newest, 1_000_000 + 11999 * 10);
  // Nothing older than the span is kept.
  assert.ok(trend.t[0] >= trend.newest - 60000);
  // The newest bucket holds the newest value.
  assert.equal(trend.v[trend.length - 1], Math.sin(11999 / 100));
});

test('a trend ignores readings from the past and values that are not numbers', () => {
  const trend = new Trend({ spanMs: 60000, stepMs: 500 });
  trend.push(10_000, 1);
  trend.push(11_000, 2);
  trend.push(9_000, 99);
  trend.push(12_000, NaN);
  trend.push(NaN, 3);
  trend.push(12_000, Infinity);
  assert.deepEqual(trend.t, [10_000, 11_000]);
  assert.deepEqual(trend.v, [1, 2]);
});

test('history seeds the trend before the live points, oldest first, once', () => {
  const trend = new Trend({ spanMs: 300000, stepMs: 500 });
  trend.push(100_000, 5);
  trend.push(100_600, 6);
  // History overlaps the first live point and has a duplicate and a NaN.
  trend.seed([97_000, 98_000, 98_000, 99_000, 100_000, 101_000], [1, 2, 2, NaN, 9, 9]);
  assert.deepEqual(trend.t, [97_000, 98_000, 100_000, 100_600]);
  assert.deepEqual(trend.v, [1, 2, 5, 6]);
});

test('trend points fit the box: newest at the right edge, values inside', () => {
  const trend = new Trend({ spanMs: 300000, stepMs: 500 });
  for (let i = 0; i < 120; i++)
    trend.push(i * 1000, 20 + (i % 10));
  const points = trend.toPoints(300, 60, -10, 50).split(' ').map(p => p.split(',').map(Number));
  assert.equal(points.length, 120);
  for (const [x, y] of points) {
    assert.ok(x >= 0 && x <= 300, `x ${x}`);
    assert.ok(y >= 0 && y <= 60, `y ${y}`);
  }
  assert.equal(points[points.length - 1][0], 300);
  // Two minutes of data in a box that shows at least half a minute and at
  // most five: the oldest point sits at the left edge.
  assert.equal(points[0][0], 0);
  assert.equal(new Trend().toPoints(300, 60, 0, 1), '');
});

test('a flat trend is drawn flat, not as magnified noise', () => {
  const trend = new Trend();
  for (let i = 0; i < 50; i++)
    trend.push(i * 1000, 12.5);
  const [lo, hi] = trend.valueRange(10, 14);
  assert.ok(hi - lo >= 0.04 - 1e-9, `${lo}..${hi}`);
  const ys = new Set(trend.toPoints(300, 60, 10, 14).split(' ').map(p => p.split(',')[1]));
  assert.equal(ys.size, 1);
});

test('formatting: decimals by scale, locale separators, no number', () => {
  assert.equal(decimalsFor(0, 2000), 0);
  assert.equal(decimalsFor(950, 1050), 1);
  assert.equal(decimalsFor(0, 10), 2);
  assert.equal(formatValue(1012.345, 1, 'en'), '1,012.3');
  assert.equal(formatValue(1012.345, 1, 'de'), '1.012,3');
  assert.equal(formatValue(NaN, 2, 'en'), '–');
  assert.equal(fraction(15, 10, 20), 0.5);
  assert.equal(fraction(99, 10, 20), 1);
  assert.equal(fraction(-5, 10, 20), 0);
  assert.equal(fraction(5, 10, 10), 0);
});

test('the round trip is the median of the last samples', () => {
  assert.equal(median([]), null);
  assert.equal(median([3]), 3);
  assert.equal(median([1, 100, 2]), 2);
  assert.equal(median([1, 2, 3, 4]), 2.5);
});

test('a lost link reads reconnecting, then offline', () => {
  assert.equal(downState(0, true), 'reconnecting');
  assert.equal(downState(29_999, true), 'reconnecting');
  assert.equal(downState(30_000, true), 'offline');
  assert.equal(downState(0, false), 'offline');
});

test('a relay shows the device state, pending while anything is in flight', () => {
  assert.deepEqual(relayView({ on: false, pending: false, target: false }, false),
                   { on: false, pending: false, target: false, stuck: false, available: true });
  assert.deepEqual(relayView({ on: false, pending: true, target: true }, false),
                   { on: false, pending: true, target: true, stuck: false, available: true });
  assert.deepEqual(relayView({ on: true, pending: false, target: true, stuck: true }, true),
                   { on: true, pending: true, target: true, stuck: true, available: true });
  // A click turns a relay towards the opposite of where it is heading.
  assert.equal(clickTarget({ on: false, pending: false, target: false }), true);
  assert.equal(clickTarget({ on: true, pending: false, target: true }), false);
  assert.equal(clickTarget({ on: false, pending: true, target: true }), false);
});

test('languages: English and German, chosen from the browser list', () => {
  assert.deepEqual(LANGUAGES, ['en', 'de']);
  assert.equal(pickLanguage(['de-AT', 'en']), 'de');
  assert.equal(pickLanguage(['fr-FR', 'DE']), 'de');
  assert.equal(pickLanguage(['fr', 'it']), 'en');
  assert.equal(pickLanguage([]), 'en');
  assert.equal(pickLanguage(undefined), 'en');
});

test('every language has every string, and placeholders survive', () => {
  for (const lang of LANGUAGES)
    assert.deepEqual(missingKeys(lang), [], lang);
  const de = translator('de');
  assert.equal(de('link.connected'), 'Verbunden');
  assert.equal(de('link.reconnecting', { s: 3 }), 'Neuer Versuch in 3 s');
  assert.equal(translator('en')('link.reconnecting', {}), 'Reconnecting in {s} s');
  assert.equal(translator('xx')('link.connected'), 'Connected');
  assert.equal(de('no.such.key'), 'no.such.key');
  // Same placeholders in every language.
  const names = text => [...text.matchAll(/\{(\w+)\}/g)].map(m => m[1]).sort().join();
  const en = translator('en');
  for (const lang of LANGUAGES) {
    const tr = translator(lang);
    for (const key of ['link.reconnecting', 'link.offline', 'announce.connected', 'announce.refused',
                       'reason.refused', 'reason.closed', 'sensor.stale-long', 'sensor.trend',
                       'sensor.range', 'relay.interlock', 'relay.max-on', 'relay.pulse-label',
                       'notes.from', 'duration.s', 'duration.min', 'duration.h'])
      assert.equal(names(tr(key)), names(en(key)), `${lang} ${key}`);
  }
});

// Relays as a server with its own hardware or a relay server sends them.
function relay (id, fields = {}) {
  return { id, name: id[0].toUpperCase() + id.slice(1), on: false, pending: false, target: false,
           stuck: false, max_on_ms: 0, safe_default: -1, changed: 0, interlock: null,
           available: true, ...fields };
}

test('a relay is available unless the server says it is not', () => {
  assert.equal(relayView(relay('lamp'), false).available, true);
  assert.equal(relayView(relay('lamp', { available: false }), false).available, false);
  // A server from before relay servers sends no such field.
  const { available, ...old } = relay('lamp');
  assert.equal(available, true);
  assert.equal(relayView(old, false).available, true);
  // Unavailable keeps the last known state.
  assert.deepEqual(relayView(relay('lamp', { on: true, target: true, available: false }), false),
                   { on: true, pending: false, target: true, stuck: false, available: false });
});

test('every relays snapshot replaces the board: nothing stale is left', () => {
  const board = new RelayBoard();
  assert.equal(board.snapshot({ type: 'relays', relays: [relay('heater'), relay('lamp'), relay('fan')],
                                chain: [] }), true, 'the first snapshot builds the cards');
  assert.deepEqual(board.ids, ['heater', 'lamp', 'fan']);
  assert.equal(board.mirrored, false);

  // A broadcast for a relay the board has not seen adds it; one it has updates it.
  assert.equal(board.update(relay('aux')), true);
  assert.equal(board.update(relay('lamp', { on: true, target: true })), false);
  assert.deepEqual(board.ids, ['heater', 'lamp', 'fan', 'aux']);
  assert.equal(board.get('lamp').on, true);
  board.refuse('aux', 'timeout', 'Aux did not confirm');
  board.refuse('heater', 'interlock', 'Heater cannot be switched on while Cooler is on (interlock)');

  // The next snapshot is the whole truth: aux is gone with its refusal, the
  // lamp's state is the snapshot's, not the broadcast's.
  assert.equal(board.snapshot({ type: 'relays', relays: [relay('heater'), relay('lamp'), relay('fan')],
                                chain: ['74e2bab9ab1b74cc'] }), true, 'a relay went: rebuild');
  assert.deepEqual(board.ids, ['heater', 'lamp', 'fan']);
  assert.equal(board.has('aux'), false);
  assert.equal(board.get('aux'), undefined);
  assert.equal(board.refusal('aux'), '');
  assert.equal(board.get('lamp').on, false);
  assert.deepEqual(board.chain, ['74e2bab9ab1b74cc']);
  // A refusal about a relay that is still there stays until the next command.
  assert.equal(board.refusal('heater'), 'Heater cannot be switched on while Cooler is on (interlock)');
  board.forget('heater');
  assert.equal(board.refusal('heater'), '');

  // Same relays in the same order: update the cards, do not rebuild them.
  assert.equal(board.snapshot({ type: 'relays', relays: [relay('heater'), relay('lamp'), relay('fan')],
                                chain: [] }), false);
  // Same relays in another order: rebuild.
  assert.equal(board.snapshot({ type: 'relays', relays: [relay('lamp'), relay('heater'), relay('fan')],
                                chain: [] }), true);
  assert.deepEqual(board.ids, ['lamp', 'heater', 'fan']);
  // A snapshot without relays or chain (malformed) leaves an empty board, not the old one.
  assert.equal(board.snapshot({ type: 'relays' }), true);
  assert.deepEqual(board.ids, []);
  assert.deepEqual(board.chain, []);
  assert.equal(board.relays.size, 0);
});

test('a mirror: chain or unavailable relays; unavailable refusals last while the relay is', () => {
  const board = new RelayBoard();
  board.snapshot({ type: 'relays', relays: [relay('heater'), relay('lamp')], chain: ['aa'] });
  assert.equal(board.mirrored, true, 'a chain says mirrored');
  assert.equal(board.available('lamp'), true);
  assert.equal(board.available('nothing'), false);

  // The upstream goes: one broadcast per relay ("unavailable"), then a
  // snapshot whose chain is empty (the relay server no longer knows it).
  board.update(relay('heater', { available: false }));
  board.update(relay('lamp', { available: false, on: true, target: true }));
  board.refuse('lamp', 'unavailable', 'Lamp is unavailable: the Switchyard it is mirrored from is not connected');
  board.refuse('heater', 'interlock', 'Heater: interlock');
  assert.equal(board.snapshot({
    type: 'relays', chain: [],
    relays: [relay('heater', { available: false }), relay('lamp', { available: false, on: true })],
  }), false);
  assert.equal(board.available('lamp'), false);
  assert.equal(board.mirrored, true, 'unavailable relays say mirrored even without a chain');
  assert.equal(board.refusal('lamp'),
               'Lamp is unavailable: the Switchyard it is mirrored from is not connected');

  // Back: the refusal for being unavailable goes, the interlock one stays.
  board.update(relay('lamp', { on: true, target: true }));
  assert.equal(board.available('lamp'), true);
  assert.equal(board.refusal('lamp'), '');
  assert.equal(board.refusal('heater'), 'Heater: interlock');
  board.refuse('heater', 'unavailable', 'Heater is unavailable');
  board.snapshot({ type: 'relays', relays: [relay('heater'), relay('lamp')], chain: ['aa'] });
  assert.equal(board.refusal('heater'), '', 'a resync that makes it available clears it too');
  assert.equal(board.mirrored, true);

  // A server with its own hardware: available always, empty chain.
  board.snapshot({ type: 'relays', relays: [relay('heater'), relay('lamp')], chain: [] });
  assert.equal(board.mirrored, false);
});

test('the unavailable and mirror strings, in English and German', () => {
  const en = translator('en');
  const de = translator('de');
  assert.equal(en('relay.unavailable'), 'Unavailable — the Switchyard this one mirrors is not connected');
  assert.equal(de('relay.unavailable'),
               'Nicht verfügbar – die gespiegelte Switchyard-Instanz ist nicht verbunden');
  assert.equal(en('mirror.note'), 'Mirrored from another Switchyard');
  assert.equal(de('mirror.note'), 'Gespiegelt von einer anderen Switchyard-Instanz');
  for (const key of ['announce.unavailable', 'announce.available'])
    assert.notEqual(de(key), en(key), key);
});
