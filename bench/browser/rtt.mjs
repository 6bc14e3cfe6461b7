// Browser round trips: headless Chromium (Debian's /usr/bin/chromium, driven
// by playwright-core from tests/browser/node_modules) runs rtt.html, which
// sends sequential text messages through the page's WebSocket and times each
// echo. Prints one JSON object shaped like switchyard-load's (latency_us,
// series, histogram), so bench/run.py reports and plots it the same way.
//
//   node bench/browser/rtt.mjs --url ws://127.0.0.1:PORT/ws [--protocol P]
//        [--count 10000] [--warmup 1000] [--size 32] [--page-port 0] [--output FILE]
//
// The page is served from 127.0.0.1:--page-port (0 picks one) with the
// headers that make it cross-origin isolated, so that performance.now() has
// 5 µs resolution rather than 100 µs. A server that checks Origin must
// accept http://127.0.0.1:PAGE-PORT (Switchyard: --allow-origin). Nothing
// leaves loopback: the browser's background services are off.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const require = createRequire(join(root, 'tests', 'browser', 'package.json'));
const { chromium } = require('playwright-core');

function option (name, fallback) {
  const index = process.argv.indexOf(`--${name}`);
  return index > 0 ? process.argv[index + 1] : fallback;
}

const url = option('url');
const protocol = option('protocol', '');
const count = Number(option('count', '10000'));
const warmup = Number(option('warmup', '1000'));
const size = Number(option('size', '32'));
const pagePort = Number(option('page-port', '0'));
const output = option('output');

if (!url) {
  process.stderr.write('rtt.mjs: give --url ws://HOST:PORT/PATH\n');
  process.exit(2);
}

const MAX_SERIES = 2000;

function percentile (sorted, p) {
  if (sorted.length === 0)
    return 0;
  const k = Math.floor(p / 100 * (sorted.length - 1) + 0.5);
  return sorted[Math.min(k, sorted.length - 1)];
}

// The same figures as switchyard-load's print_samples (): nearest-rank
// percentiles, a series thinned to at most 2000 points and a log histogram
// of 20 buckets per decade from 1 µs.
function summarize (latency, at) {
  const sorted = Float64Array.from(latency).sort();
  const round = (x) => Math.round(x * 100) / 100;
  const sum = sorted.reduce((a, b) => a + b, 0);
  const step = Math.max(1, Math.floor(latency.length / MAX_SERIES));
  const series = [];
  for (let i = 0; i < latency.length; i += step)
    series.push([Math.round(at[i] * 1000) / 1000, round(latency[i])]);
  const counts = new Map();
  for (const us of sorted) {
    const bucket = Math.min(199, Math.max(0, Math.floor(Math.log10(Math.max(1, us)) * 20)));
    counts.set(bucket, (counts.get(bucket) || 0) + 1);
  }
  const histogram = [...counts.entries()].sort((a, b) => a[0] - b[0])
    .map(([b, n]) => [round(10 ** ((b + 1) / 20)), n]);
  return {
    latency_us: {
      p50: round(percentile(sorted, 50)), p90: round(percentile(sorted, 90)),
      p99: round(percentile(sorted, 99)), p999: round(percentile(sorted, 99.9)),
      max: round(percentile(sorted, 100)), min: round(percentile(sorted, 0)),
      mean: round(sorted.length ? sum / sorted.length : 0),
    },
    series,
    histogram,
  };
}

const page = readFileSync(join(here, 'rtt.html'));
const server = createServer((request, response) => {
  if (request.url.split('?')[0] !== '/') {
    response.writeHead(404).end();
    return;
  }
  response.writeHead(200, {
    'Content-Type': 'text/html; charset=utf-8',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Embedder-Policy': 'require-corp',
    'Cache-Control': 'no-store',
  });
  response.end(page);
});
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(pagePort, '127.0.0.1', resolve);
});
const origin = `http://127.0.0.1:${server.address().port}`;

const profile = mkdtempSync(join(tmpdir(), 'switchyard-bench-chromium-'));
let context;
let status = 0;
try {
  context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const tab = context.pages()[0] || await context.newPage();
  await tab.goto(`${origin}/`);
  const result = await tab.evaluate((args) => window.runRoundTrips(args),
    { url, protocol, count, warmup, size });
  const duration = result.at_ms.length ? result.at_ms[result.at_ms.length - 1] / 1000 : 0;
  const summary = summarize(result.latency_us, result.at_ms);
  const json = {
    scenario: 'browser',
    url,
    page: `${origin}/`,
    browser: result.userAgent,
    cross_origin_isolated: result.crossOriginIsolated,
    timer_resolution_us: result.crossOriginIsolated ? 5 : 100,
    protocol: result.protocol,
    extensions: result.extensions,
    connections: 1,
    messages: count,
    size,
    duration_s: Math.round(duration * 10000) / 10000,
    msgs_per_s: duration > 0 ? Math.round(count / duration * 10) / 10 : 0,
    ...summary,
    errors: 0,
  };
  const text = JSON.stringify(json) + '\n';
  if (output)
    writeFileSync(output, text);
  else
    process.stdout.write(text);
} catch (error) {
  process.stderr.write(`rtt.mjs: ${error.message}\n`);
  status = 1;
} finally {
  if (context)
    await context.close();
  server.close();
  rmSync(profile, { recursive: true, force: true });
}
process.exit(status);
