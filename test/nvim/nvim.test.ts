// A second editor: Debian's Neovim 0.7 drives the stdio language server (test/nvim/smoke.lua)
// and must get a status notification, an answer to hdlm/engineInfo, a classification, and the
// standard references and rename of a dataset label.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { writeTinyModel } from '../support/tinyCheckpoint';

const root = resolve(__dirname, '..', '..', '..');

function runNvim(dir: string, env: Record<string, string>): { status: number | null; stderr: string; result: NvimResult } {
  const out = join(dir, 'result.json');
  const run = spawnSync('nvim', ['--headless', '-u', 'NONE', '-i', 'NONE', '-c', `luafile ${join(root, 'test', 'nvim', 'smoke.lua')}`], {
    cwd: dir,
    env: { ...process.env, HDLM_SERVER: join(root, 'dist', 'server.js'), HDLM_NVIM_OUT: out, XDG_CACHE_HOME: join(dir, '.cache'), ...env },
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { status: run.status, stderr: run.stderr, result: JSON.parse(readFileSync(out, 'utf8')) as NvimResult };
}

interface NvimResult {
  error?: string;
  references?: { uri: string; range: { start: { line: number } } }[];
  rename?: { changes?: Record<string, { newText: string }[]> };
  renameErr?: unknown;
  statuses: { health: string; busy: boolean; device: string }[];
  engineInfo?: { device: string; runtimeVersion: string; pid: number };
  classify?: { task: string; path: { label: string; layer: number }[] };
  classifyErr?: unknown;
}

test('Neovim classifies a line of a buffer through the stdio server', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hdlm-nvim-cls-'));
  try {
    writeTinyModel(join(dir, 'model'), root, { std: 0.15, seed: 2 });
    writeFileSync(join(dir, 'animals.jsonl'), ['{"text":"barks","labels":["animal","dog"]}', '{"text":"oak","labels":["plant","tree"]}'].join('\n'));
    writeFileSync(join(dir, 'animals.hdlm.json'), JSON.stringify({ name: 'animals', model: 'model', dataset: 'animals.jsonl', levels: [{ layer: 2 }, { layer: 'last' }] }));
    const { status, stderr, result } = runNvim(dir, { HDLM_TASK: join(dir, 'animals.hdlm.json') });
    assert.equal(result.error, undefined, `smoke.lua: ${result.error}; ${JSON.stringify(result.classifyErr)}; stderr: ${stderr}`);
    assert.equal(status, 0, JSON.stringify(result));
    assert.equal(result.classify?.task, 'animals');
    assert.deepEqual(result.classify?.path.map((d) => d.layer), [2, 4]);
    const [coarse, fine] = result.classify!.path.map((d) => d.label);
    assert.ok((coarse === 'animal' && fine === 'dog') || (coarse === 'plant' && fine === 'tree'), `${coarse} › ${fine}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('Neovim finds and renames a dataset label across its split files through the same server', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hdlm-nvim-rename-'));
  try {
    writeFileSync(join(dir, 'pets.train.jsonl'), ['{"text":"barks","labels":["animal","dog"]}', '{"text":"purrs","labels":["animal","cat"]}'].join('\n'));
    writeFileSync(join(dir, 'pets.dev.jsonl'), '{"text":"howls","labels":["animal","dog"]}\n');
    const { status, stderr, result } = runNvim(dir, { HDLM_DATASET: join(dir, 'pets.train.jsonl') });
    assert.equal(result.error, undefined, `smoke.lua: ${result.error}; stderr: ${stderr}`);
    assert.equal(status, 0, JSON.stringify(result));
    assert.deepEqual(result.references?.map((r) => `${r.uri.split('/').pop()}:${r.range.start.line}`).sort(), ['pets.dev.jsonl:0', 'pets.train.jsonl:0']);
    const changes = result.rename?.changes ?? {};
    assert.deepEqual(Object.keys(changes).map((u) => u.split('/').pop()).sort(), ['pets.dev.jsonl', 'pets.train.jsonl'], JSON.stringify(result.rename ?? result.renameErr));
    assert.ok(Object.values(changes).flat().every((e) => e.newText === '"hound"'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('Neovim attaches to the stdio server and gets engine info', () => {
  const nvim = spawnSync('nvim', ['--version'], { encoding: 'utf8' });
  assert.equal(nvim.status, 0, 'Neovim is installed (Debian package neovim; tools/setup.sh installs it)');
  const dir = mkdtempSync(join(tmpdir(), 'hdlm-nvim-'));
  try {
    const out = join(dir, 'result.json');
    const run = spawnSync('nvim', ['--headless', '-u', 'NONE', '-i', 'NONE', '-c', `luafile ${join(root, 'test', 'nvim', 'smoke.lua')}`], {
      cwd: dir,
      env: { ...process.env, HDLM_SERVER: join(root, 'dist', 'server.js'), HDLM_NVIM_OUT: out },
      encoding: 'utf8',
      timeout: 90_000,
    });
    const result = JSON.parse(readFileSync(out, 'utf8')) as {
      error?: string;
      statuses: { health: string; busy: boolean; device: string }[];
      engineInfo?: { device: string; runtimeVersion: string; pid: number };
    };
    assert.equal(result.error, undefined, `smoke.lua: ${result.error}; stderr: ${run.stderr}`);
    assert.equal(run.status, 0);
    assert.ok(result.statuses.some((s) => s.busy), 'a busy status came first');
    assert.deepEqual(result.statuses.at(-1), { health: 'ok', busy: false, message: 'ready', device: 'cpu' });
    assert.equal(result.engineInfo?.device, 'cpu');
    assert.match(result.engineInfo?.runtimeVersion ?? '', /^1\.\d+\.\d+$/);
    assert.notEqual(result.engineInfo?.pid, process.pid);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
