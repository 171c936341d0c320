// The files of a model folder read as users write them: a JSON syntax error in any of them is
// named by file, line and column (before, JSON.parse's "at position 119"); a folder where a file
// belongs is named (before, "EISDIR: illegal operation on a directory, read" with no path, or a
// doubled tokenizer.json/tokenizer.json); a config claiming a context of 1e9 positions loads
// (before, "Invalid typed array length"); and the command line shows load warnings always.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { loadCheckpoint } from '../../../engine/src/checkpoint/checkpoint';
import { readModelConfig, ROTARY_POSITION_LIMIT } from '../../../engine/src/checkpoint/config';
import { writeSafetensors, type TensorToWrite } from '../../../engine/src/checkpoint/safetensors';
import { Engine } from '../../../engine/src/engine';
import { readTextFile } from '../../../engine/src/textFile';
import { Tokenizer } from '../../../engine/src/tokenizer';
import { runHdlm } from '../../support/hdlmCli';
import { writeTinyCheckpoint, writeTinyModel, type TinyCheckpoint } from '../../support/tinyCheckpoint';

const repo = resolve(__dirname, '..', '..', '..', '..');
const root = mkdtempSync(join(tmpdir(), 'hdlm-folder-files-'));
after(() => rmSync(root, { recursive: true, force: true }));
const freshDir = (): string => mkdtempSync(join(root, 'case-'));
const cacheDir = freshDir();

/** Rewrites a file of `dir` by a function of its text. */
function edit(dir: string, file: string, change: (text: string) => string): string {
  const path = join(dir, file);
  writeFileSync(path, change(readFileSync(path, 'utf8')));
  return path;
}

test('a JSON syntax error in any model file is named by file, line and column', async () => {
  const tiny = writeTinyCheckpoint(freshDir(), { family: 'llama', shards: 2, tokenizer: true, generationConfig: { max_new_tokens: 8 } });
  const pretty = (text: string): string => JSON.stringify(JSON.parse(text), null, 2);
  // The review's case: a stray comma before a closing brace.
  const config = edit(tiny.dir, 'config.json', (t) => pretty(t).replace(/\n}$/, ',\n}'));
  const configLines = readFileSync(config, 'utf8').split('\n').length;
  assert.throws(() => readModelConfig(config), new RegExp(`^Error: ${config.replace(/[.\\/]/g, '\\$&')}: line ${configLines}, column 1: not valid JSON: property name expected$`));
  edit(tiny.dir, 'config.json', (t) => t.replace(/,\n}$/, '\n}'));

  edit(tiny.dir, 'generation_config.json', (t) => pretty(t).replace('8', '8 9'));
  await assert.rejects(loadCheckpoint(tiny.dir, { cacheDir }), /generation_config\.json: line 2, column 23: not valid JSON: comma expected/);
  edit(tiny.dir, 'generation_config.json', () => '{}');

  edit(tiny.dir, 'model.safetensors.index.json', (t) => `${pretty(t).slice(0, 40)}\n`);
  await assert.rejects(loadCheckpoint(tiny.dir, { cacheDir }), /model\.safetensors\.index\.json: line \d+, column \d+: not valid JSON: /);

  edit(tiny.dir, 'tokenizer.json', (t) => `{\n  "version": "1.0"\n  "model": ${t}}`);
  await assert.rejects(Tokenizer.load(tiny.dir), /tokenizer\.json: line 3, column 3: not valid JSON: comma expected/);
});

test('a folder where a file belongs is named, not an EISDIR without a path', async () => {
  const dir = freshDir();
  assert.throws(() => readTextFile(dir), (err: Error) => err.message === `${dir}: is a folder, not a file`);

  const weights = writeTinyCheckpoint(freshDir(), { family: 'llama', layers: 1 });
  rmSync(join(weights.dir, 'model.safetensors'));
  mkdirSync(join(weights.dir, 'model.safetensors'));
  await assert.rejects(loadCheckpoint(weights.dir, { cacheDir }), (err: Error) => err.message === `${join(weights.dir, 'model.safetensors')}: is a folder, not a weights file`);

  const config = writeTinyCheckpoint(freshDir(), { family: 'llama', layers: 1 });
  rmSync(join(config.dir, 'config.json'));
  mkdirSync(join(config.dir, 'config.json'));
  await assert.rejects(loadCheckpoint(config.dir, { cacheDir }), (err: Error) => err.message === `${join(config.dir, 'config.json')}: cannot read: is a folder, not a file`);

  const tokenizer = writeTinyCheckpoint(freshDir(), { family: 'llama', layers: 1 });
  mkdirSync(join(tokenizer.dir, 'tokenizer.json'));
  const engine = await Engine.create({ providers: ['cpu'], threads: 1 });
  await assert.rejects(engine.loadModel(tokenizer.dir, { cacheDir }), (err: Error) => err.message === `${join(tokenizer.dir, 'tokenizer.json')}: cannot read: is a folder, not a file`);
});

test('a config with max_position_embeddings 1e9 loads and runs; an input past the cap names it', async () => {
  const tiny = writeTinyCheckpoint(freshDir(), { family: 'llama', layers: 1, hidden: 16, heads: 2, configOverrides: { max_position_embeddings: 1_000_000_000 } });
  const engine = await Engine.create({ providers: ['cpu'], threads: 1 });
  const loaded = await engine.loadModel(tiny.dir, { cacheDir });
  try {
    assert.equal(loaded.checkpoint.config.maxPositions, ROTARY_POSITION_LIMIT);
    const state = loaded.model.newState();
    loaded.model.append(state, [[1, 2, 3]]);
    const out = await loaded.model.runTo(state, 1);
    assert.ok(out.hidden.every(Number.isFinite));
    const tooLong = Array.from({ length: ROTARY_POSITION_LIMIT }, (_, i) => i % 64);
    assert.throws(
      () => loaded.model.append(state, [tooLong]),
      new RegExp(`needs ${ROTARY_POSITION_LIMIT + 3} positions but the model's context is ${ROTARY_POSITION_LIMIT} \\(the engine's limit of ${ROTARY_POSITION_LIMIT} rotary positions; max_position_embeddings is 1000000000\\)`),
    );
  } finally {
    await loaded.release();
  }
});

/** `tiny`'s weights with one more tensor that no graph uses. */
function addUnusedTensor(tiny: TinyCheckpoint): void {
  const tensors: Record<string, TensorToWrite> = { 'model.vision_tower.weight': { dtype: 'F32', shape: [2], data: Float32Array.of(1, 2) } };
  for (const [name, data] of Object.entries(tiny.tensors)) tensors[name] = { dtype: 'F32', shape: tiny.shapes[name]!, data };
  writeSafetensors(join(tiny.dir, 'model.safetensors'), tensors);
}

test('the command line prints a load warning without HDLM_VERBOSE', () => {
  const tiny = writeTinyModel(freshDir(), repo, { layers: 2 });
  addUnusedTensor(tiny);
  delete process.env['HDLM_VERBOSE']; // the child inherits this process's environment
  const run = runHdlm(repo, ['generate', '--model', tiny.dir, '--ids', '1,2', '--max-tokens', '1'], { cacheDir: freshDir() });
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stderr, /^hdlm: warning: .*[\\/]model\.safetensors: 1 tensor\(s\) are not used by the model: model\.vision_tower\.weight$/m);
});
