// tools/gpu/pack.sh in a git worktree (where .git is a file, as in this project's sessions), and
// its failures: it must stop before the long compression when something is missing, and never
// leave a half-made .gl. Runs the script in a throw-away repository and worktree, with apt-get
// and xz replaced by fakes on PATH (a log says whether xz ran at all).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, test } from 'node:test';

const root = resolve(__dirname, '..', '..', '..', '..');
const scratch = mkdtempSync(join(tmpdir(), 'hdlm-pack-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

const BUILT = [
  'dist/hdlm.js', 'out/tools/gpu/webgpuCheck.js', 'out/tools/bench/engineBench.js', 'out/test/unit/engine/parity.test.js',
  'out/test/unit/engine/segmentedModel.test.js', 'out/test/unit/engine/deviceCache.test.js', 'out/test/unit/engine/generate.test.js',
  'out/data/wordnet/train.jsonl', 'node_modules/onnxruntime-node/package.json', 'node_modules/onnxruntime-node/dist/index.js',
  'node_modules/onnxruntime-node/bin/napi-v6/linux/x64/onnxruntime_binding.node', 'node_modules/onnxruntime-common/package.json',
];

function git(cwd: string, ...args: string[]): void {
  const r = spawnSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
}

/** A repository holding pack.sh and a worktree of it with the built files; returns the worktree. */
function worktree(name: string): string {
  const repo = join(scratch, `${name}-repo`);
  mkdirSync(join(repo, 'tools', 'gpu'), { recursive: true });
  copyFileSync(join(root, 'tools', 'gpu', 'pack.sh'), join(repo, 'tools', 'gpu', 'pack.sh'));
  writeFileSync(join(repo, '.gitignore'), '/dist/\n/out/\n/node_modules/\n/.carry/\n');
  git(repo, 'init', '-q');
  git(repo, 'add', '.');
  git(repo, 'commit', '-qm', 'pack.sh');
  const tree = join(scratch, `${name}-tree`);
  git(repo, 'worktree', 'add', '-q', tree);
  for (const file of BUILT) {
    mkdirSync(dirname(join(tree, file)), { recursive: true });
    writeFileSync(join(tree, file), 'x');
  }
  return tree;
}

/** Fake apt-get (`download` makes one .deb per package, unless told to fail) and xz (logs, copies). */
function fakeBin(name: string, aptFails: boolean): { bin: string; xzLog: string } {
  const bin = join(scratch, `${name}-bin`);
  const xzLog = join(scratch, `${name}-xz.log`);
  mkdirSync(bin, { recursive: true });
  const apt = aptFails
    ? '#!/bin/sh\necho "E: Failed to fetch" >&2\nexit 100\n'
    : '#!/bin/sh\nfor a in "$@"; do case $a in -o*|update|download) ;; *) : > "${a}_1_amd64.deb" ;; esac; done\n';
  writeFileSync(join(bin, 'apt-get'), apt);
  writeFileSync(join(bin, 'xz'), `#!/bin/sh\necho xz >> '${xzLog}'\ncat\n`);
  for (const f of ['apt-get', 'xz']) chmodSync(join(bin, f), 0o755);
  return { bin, xzLog };
}

function pack(tree: string, bin: string): { status: number | null; stdout: string; stderr: string } {
  const path = `${bin}:${dirname(process.execPath)}:/usr/bin:/bin`;
  return spawnSync('sh', ['tools/gpu/pack.sh', 'engine'], { cwd: tree, encoding: 'utf8', env: { ...process.env, PATH: path }, timeout: 60_000 });
}

test('packs in a git worktree, and the exclude goes where git keeps it', () => {
  const tree = worktree('ok');
  const { bin } = fakeBin('ok', false);
  const r = pack(tree, bin);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(readdirSync(join(tree, '.gl')).sort(), ['libegl1_1_amd64.deb', 'libgl1_1_amd64.deb', 'libgles2_1_amd64.deb', 'libglvnd0_1_amd64.deb', 'libglx0_1_amd64.deb', 'libopengl0_1_amd64.deb', 'libvulkan1_1_amd64.deb']);
  assert.deepEqual(readdirSync(join(tree, '.carry', 'gpu-engine')).sort(), ['build.tar.xz', 'modules.tar.xz', 'node.xz']);
  const exclude = spawnSync('git', ['rev-parse', '--git-path', 'info/exclude'], { cwd: tree, encoding: 'utf8' }).stdout.trim();
  assert.match(readFileSync(resolve(tree, exclude), 'utf8'), /^\/\.gl\/$/m);
});

test('a failed download stops before any compression and leaves no .gl', () => {
  const tree = worktree('noapt');
  const { bin, xzLog } = fakeBin('noapt', true);
  const r = pack(tree, bin);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /pack\.sh: apt-get update of the amd64 lists failed/);
  assert.ok(!existsSync(join(tree, '.gl')), '.gl was left behind');
  assert.ok(!existsSync(join(tree, '.carry')), 'a pack was started');
  assert.ok(!existsSync(xzLog), 'xz ran');
});

test('a missing built file stops it before anything is fetched or compressed', () => {
  const tree = worktree('nobuild');
  rmSync(join(tree, 'out', 'test', 'unit', 'engine', 'generate.test.js'));
  const { bin, xzLog } = fakeBin('nobuild', false);
  const r = pack(tree, bin);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /out\/test\/unit\/engine\/generate\.test\.js is missing/);
  assert.ok(!existsSync(join(tree, '.gl')) && !existsSync(xzLog));
});
