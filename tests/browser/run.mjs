// Runs the browser tests with node's test runner, or skips them when what
// they need is not installed (build-aux/dev.sh test installs it all).
//
//   node tests/browser/run.mjs [--tap] [TEST FILE…]
//
// Skipping exits with 77 (the exit code test harnesses take for "skipped").
// With --tap, as meson runs it, the output is TAP throughout and a skip is
// the TAP plan "1..0 # SKIP <why>" with status 0: meson's TAP protocol reads
// that as skipped, and any non-zero status as an error.

import { spawn } from 'node:child_process';
import path from 'node:path';

import { HERE, missingPrerequisites } from './harness.mjs';

const args = process.argv.slice(2);
const tap = args.includes('--tap');
let files = args.filter((a) => a !== '--tap');
if (files.length === 0)
  files = ['test-page.mjs'];
files = files.map((f) => path.resolve(HERE, f));

const missing = missingPrerequisites();
if (missing) {
  process.stderr.write(`browser tests skipped: ${missing}\n`);
  if (tap) {
    process.stdout.write(`1..0 # SKIP ${missing.replace(/\n/g, ' ')}\n`);
    process.exit(0);
  }
  process.exit(77);
}

// TAP is the test runner's default reporter on Node 18 and, when the output
// is not a terminal, on Node 20; name it anyway (both know the option).
const nodeArgs = ['--test', ...(tap ? ['--test-reporter=tap'] : []), ...files];
const child = spawn(process.execPath, nodeArgs, { cwd: HERE, stdio: 'inherit' });
const forward = (signal) => child.kill(signal);
process.on('SIGTERM', forward);
process.on('SIGINT', forward);
child.on('exit', (code, signal) => {
  if (signal)
    process.kill(process.pid, signal);
  process.exit(code === null ? 1 : code);
});
