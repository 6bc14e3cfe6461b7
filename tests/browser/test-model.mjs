// Unit tests of the control page's pure logic (data/web/model.js) and its
// string table (data/web/i18n.js), the very files the server serves.
//
//   node --test tests/browser/test-model.mjs

import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  Backoff, Trend, clickTarget, decimalsFor, downState, formatValue, fraction, median, relayView,
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
                   { on: false, pending: false, target: false, stuck: false });
  assert.deepEqual(relayView({ on: false, pending: true, target: true }, false),
                   { on: false, pending: true, target: true, stuck: false });
  assert.deepEqual(relayView({ on: true, pending: false, target: true, stuck: true }, true),
                   { on: true, pending: true, target: true, stuck: true });
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
