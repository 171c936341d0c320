// The engine bench's command line: bad options are refused before any model is loaded, with a
// message naming the option and the usage line, no stack trace (a stack means our bug), and exit
// status 2 (misuse, as `hdlm` gives).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { test } from 'node:test';

const root = resolve(__dirname, '..', '..', '..', '..');
const bench = join(root, 'out', 'tools', 'bench', 'engineBench.js');

function run(...args: string[]): { status: number | null; stderr: string; stdout: string } {
  return spawnSync(process.execPath, [bench, ...args], { encoding: 'utf8', timeout: 60_000 });
}

for (const [args, message] of [
  [['--task-head-rows', 'x'], /--task-head-rows must be a whole number ≥ 1, got x/],
  [['--threads=-1'], /--threads must be a whole number ≥ 0, got -1/],
  [['--only', 'big'], /--only must be tiny or qwen, got big/],
  [['--device', 'tpu'], /--device: unknown device tpu/],
  [['--frobnicate'], /Unknown option '--frobnicate'/],
] as const) {
  test(`bench ${args.join(' ')} is refused with a clear message`, () => {
    const r = run(...args);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, message);
    assert.match(r.stderr, /usage: node out\/tools\/bench\/engineBench\.js/);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace for a usage error');
    assert.equal(r.stdout, '', 'nothing was benchmarked');
  });
}

test('bench --help prints the usage and runs nothing', () => {
  const r = run('--help');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^usage: node out\/tools\/bench\/engineBench\.js/);
  assert.doesNotMatch(r.stdout, /bench:/);
});
