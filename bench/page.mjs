// How the control page keeps up with a fast sensor stream, in Debian's
// headless Chromium: frames, DOM writes and main-thread time per second.
//
//   node bench/page.mjs [--tick-hz 100] [--seconds 10] [--throttle 1,4]
//
// Starts `switchyard --headless --tick-hz N` on a free loopback port, opens the
// page at a phone's viewport and, for each CPU throttling factor (Chromium's
// own emulation: 4 is a mid-range phone next to this machine's core),
// measures over the given seconds:
//   - readings received per second (WebSocket frames on the sensor socket),
//   - animation frames per second and frames longer than 50 ms ("long"),
//   - writes of sensor values to the DOM per second (a MutationObserver),
//   - main-thread busy time (Performance.getMetrics TaskDuration) as % of wall,
//   - script and layout/style time per second, and the JS heap.
// Needs tests/browser/node_modules (build-aux/dev.sh test installs it).

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'tests', 'browser', 'package.json'));
const { chromium } = require('playwright-core');

function option (name, fallback) {
  const index = process.argv.indexOf(`--${name}`);
  return index > 0 ? process.argv[index + 1] : fallback;
}

const tickHz = Number(option('tick-hz', '100'));
const seconds = Number(option('seconds', '10'));
const throttles = option('throttle', '1,4').split(',').map(Number);
const binary = option('binary', process.env.SWITCHYARD_BIN || join(root, 'build', 'app', 'switchyard'));

function freePort () {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

async function startServer (stateDir) {
  const port = await freePort();
  const child = spawn(binary, ['--headless', '--port', String(port), '--state-dir', stateDir,
                               '--tick-hz', String(tickHz)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stderr.resume();
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the server did not print its URLs')), 10000);
    child.stdout.on('data', chunk => {
      out += chunk;
      const match = out.match(/^control-url: (\S+)$/m);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.on('exit', code => reject(new Error(`the server exited with ${code}`)));
  });
  return { child, url };
}

const PROBE = `(() => {
  const probe = { frames: 0, long: 0, writes: 0, last: performance.now() };
  function frame (now) {
    probe.frames++;
    if (now - probe.last > 50)
      probe.long++;
    probe.last = now;
    requestAnimationFrame(frame);
  }
  requestAnimationFrame(frame);
  new MutationObserver(records => { probe.writes += records.length; })
    .observe(document.getElementById('sensors'),
             { subtree: true, attributes: true, attributeFilter: ['data-value'] });
  window.__probe = probe;
})()`;

async function measure (context, url, throttle) {
  const page = await context.newPage();
  await page.setViewportSize({ width: 390, height: 844 });
  const cdp = await context.newCDPSession(page);
  await cdp.send('Performance.enable');
  await cdp.send('Network.enable');
  await cdp.send('Emulation.setCPUThrottlingRate', { rate: throttle });

  let sensorSocket = null;
  let readings = 0;
  cdp.on('Network.webSocketCreated', event => {
    if (sensorSocket === null && event.url.includes('/ws'))
      sensorSocket = event.requestId; // the page opens the sensor socket first
  });
  cdp.on('Network.webSocketFrameReceived', event => {
    if (event.requestId === sensorSocket && event.response.payloadData.startsWith('{"type":"reading"'))
      readings++;
  });

  await page.goto(url);
  await page.waitForFunction(() => document.getElementById('link').dataset.state === 'connected',
                             null, { timeout: 20000 });
  await page.waitForTimeout(1000); // history and the first trend drawing
  await page.evaluate(PROBE);

  const metric = async () => Object.fromEntries(
    (await cdp.send('Performance.getMetrics')).metrics.map(m => [m.name, m.value]));
  const before = await metric();
  const readingsBefore = readings;
  const started = Date.now();
  await page.waitForTimeout(seconds * 1000);
  const elapsed = (Date.now() - started) / 1000;
  const after = await metric();
  const probe = await page.evaluate(() => window.__probe);
  const state = await page.evaluate(() => window.switchyard.state());
  await page.close();

  const per = key => (after[key] - before[key]) / elapsed;
  return {
    throttle,
    readingsPerS: (readings - readingsBefore) / elapsed,
    framesPerS: probe.frames / elapsed,
    longFrames: probe.long,
    domWritesPerS: probe.writes / elapsed / 6,
    busyPct: per('TaskDuration') * 100,
    scriptMsPerS: per('ScriptDuration') * 1000,
    layoutMsPerS: (per('LayoutDuration') + per('RecalcStyleDuration')) * 1000,
    heapMB: after.JSHeapUsedSize / 1048576,
    trendPoints: Math.max(...Object.values(state.sensors).map(s => s.points)),
  };
}

const stateDir = mkdtempSync(join(tmpdir(), 'switchyard-bench-page-'));
const profile = mkdtempSync(join(tmpdir(), 'switchyard-bench-chromium-'));
const { child, url } = await startServer(stateDir);
const context = await chromium.launchPersistentContext(profile, {
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});

try {
  console.log(`control page at ${tickHz} Hz sensor ticks, ${seconds} s per run, 390×844 viewport`);
  console.log('throttle  readings/s  frames/s  long frames  value writes/s/sensor  main thread busy  script ms/s  style+layout ms/s  heap MB  trend points');
  for (const throttle of throttles) {
    const r = await measure(context, url, throttle);
    console.log(`${String(r.throttle).padStart(6)}×  ${r.readingsPerS.toFixed(1).padStart(10)}  ` +
                `${r.framesPerS.toFixed(1).padStart(8)}  ${String(r.longFrames).padStart(11)}  ` +
                `${r.domWritesPerS.toFixed(1).padStart(21)}  ${r.busyPct.toFixed(1).padStart(15)}%  ` +
                `${r.scriptMsPerS.toFixed(1).padStart(11)}  ${r.layoutMsPerS.toFixed(1).padStart(17)}  ` +
                `${r.heapMB.toFixed(1).padStart(7)}  ${String(r.trendPoints).padStart(12)}`);
  }
} finally {
  await context.close();
  child.kill('SIGTERM');
  rmSync(profile, { recursive: true, force: true });
  rmSync(stateDir, { recursive: true, force: true });
}
