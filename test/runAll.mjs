// `npm test`: every tier, in order, on a freshly built tree.
//   build → type-check → lint → unit + Neovim smoke (node:test) → the engine's device tests on
//   WebGPU → VS Code host setup → integration
//   → .vsix packaging (checks that only the linux-x64 onnxruntime binaries go in) → the .vsix
//   installed into code-server activates and classifies
// Every step runs even when an earlier one failed, so one run shows everything that is wrong.
// The last line is the plain 'tests: N passed, N failed' summary that CI reads.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const results = join(root, 'test-results');
mkdirSync(results, { recursive: true });

const steps = [];
/** Names of failed tests (with their first error line), repeated at the end of the log. */
const failedTests = [];
let passed = 0;
let failed = 0;

function run(name, command, args, { env } = {}) {
  console.log(`\n=== ${name}: ${command} ${args.join(' ')}`);
  const started = Date.now();
  const r = spawnSync(command, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
  const ok = r.status === 0;
  steps.push({ name, ok, seconds: (Date.now() - started) / 1000 });
  return ok;
}

/** A check that is not a test runner (build, tsc, eslint) counts as one test. */
function check(name, command, args) {
  if (run(name, command, args)) passed++;
  else failed++;
}

/**
 * Adds a tier's counts to the totals. A runner that failed without a failed test counts one
 * failure; so does a tier that ran no test at all, whatever its exit code: node --test given a
 * folder with no test files exits 0 with "# tests 0", and a suite whose results went missing
 * reads as 0 and 0. Passing nothing is not passing.
 */
function tally(tier, counts, ok) {
  passed += counts.pass;
  const none = counts.pass + counts.fail === 0;
  if (none) {
    failedTests.push(`${tier}: no test ran`);
    steps.at(-1).ok = false;
  }
  failed += counts.fail + (none || (!ok && counts.fail === 0) ? 1 : 0);
}

function countsFromTap(file, tier = 'node') {
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const count = (key) => Number(new RegExp(`^# ${key} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
  // A failed test's line is `not ok N - title` (nested tests are indented).
  for (const m of text.matchAll(/^\s*not ok \d+ - (.+)$/gm)) failedTests.push(`${tier}: ${m[1]}`);
  return { pass: count('pass'), fail: count('fail') + count('cancelled') };
}

const bin = (name) => join(root, 'node_modules', '.bin', name);

check('build', process.execPath, ['esbuild.mjs']);
check('typecheck', bin('tsc'), ['-b']);
check('lint', bin('eslint'), ['.']);

/** Runs node:test files as one step, counting their tests from a TAP copy of the output. */
function nodeTests(name, tier, paths, env) {
  const tap = join(results, `${tier}-tests.tap`);
  rmSync(tap, { force: true });
  const ok = run(name, process.execPath, [
    '--test',
    '--test-reporter=spec', '--test-reporter-destination=stdout',
    '--test-reporter=tap', `--test-reporter-destination=${tap}`,
    ...paths,
  ], { env });
  tally(tier, countsFromTap(tap, tier), ok);
}

nodeTests('unit and Neovim tests', 'node', ['out/test/unit', 'out/test/nvim']);
// The engine's device-sensitive tests again on WebGPU (test/support/testDevice.ts): on a machine
// without a GPU that is Dawn over Mesa's software Vulkan (tools/setup.sh), slow but the same
// WebGPU kernels, so parity, early exit, caches kept in device memory and the head-training graph
// are checked there in every run.
nodeTests('engine on WebGPU', 'webgpu', [
  'out/test/unit/engine/parity.test.js',
  'out/test/unit/engine/segmentedModel.test.js',
  'out/test/unit/engine/deviceCache.test.js',
  'out/test/unit/engine/trainHead.test.js',
  'out/test/unit/engine/trainHeadTrainer.test.js',
], { HDLM_TEST_PROVIDER: 'webgpu' });

if (run('VS Code host setup', process.execPath, ['out/test/integration/setupHost.js'])) {
  const integrationFile = join(results, 'integration.json');
  const ok = run('integration tests (real VS Code)', process.execPath, ['out/test/integration/runIntegration.js']);
  const counts = existsSync(integrationFile) ? JSON.parse(readFileSync(integrationFile, 'utf8')) : { passes: 0, failures: 0 };
  for (const f of counts.failed ?? []) failedTests.push(`integration: ${f}`);
  tally('integration', { pass: counts.passes, fail: counts.failures }, ok);
} else {
  failed++;
}

// Every target is packed and its contents checked; the linux-x64 one is also installed and run.
if (run('package (.vsix, every target)', process.execPath, ['tools/packageVsix.mjs', '--all'])) {
  passed++;
  // The packaged extension, installed into code-server, activates and classifies.
  const vsixFile = join(results, 'vsix', 'vsix.json');
  const ok = run('installed .vsix (real VS Code)', process.execPath, ['out/test/integration/runVsixCheck.js']);
  const counts = existsSync(vsixFile) ? JSON.parse(readFileSync(vsixFile, 'utf8')) : { passes: 0, failures: 0 };
  tally('vsix', { pass: counts.passes, fail: counts.failures }, ok);
} else {
  failed++;
}

console.log('\n=== summary');
for (const s of steps) console.log(`${s.ok ? 'ok  ' : 'FAIL'}  ${s.name} (${s.seconds.toFixed(1)} s)`);
for (const f of failedTests) console.log(`failed: ${f}`);
console.log(`tests: ${passed} passed, ${failed} failed`);
process.exitCode = failed === 0 && steps.every((s) => s.ok) ? 0 : 1;
