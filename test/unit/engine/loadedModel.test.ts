// A model folder on disk, loaded the way users load one: through the engine, with its tokenizer.
// Checks the whole path (safetensors → graphs → sessions) against the JavaScript reference, and
// drives the `hdlm` command line on it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { Engine } from '../../../engine/src/index';
import { LoadedModel } from '../../../engine/src/loadedModel';
import { referenceForward } from '../../support/referenceLlama';
import { writeTinyCheckpoint } from '../../support/tinyCheckpoint';

const root = resolve(__dirname, '..', '..', '..', '..');
let dir: string;
let cacheDir: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'hdlm-model-'));
  cacheDir = mkdtempSync(join(tmpdir(), 'hdlm-cache-'));
  writeTinyCheckpoint(dir, { family: 'llama', modelType: 'qwen2', layers: 4, hidden: 32, heads: 4, kvHeads: 2, intermediate: 48, tied: true, dtype: 'BF16', std: 0.3, seed: 9, tokenizer: true });
});

after(() => {
  rmSync(dir, { recursive: true, force: true });
  rmSync(cacheDir, { recursive: true, force: true });
});

test('a bf16 qwen2 folder loads through the engine and matches the reference', async () => {
  const engine = await Engine.create({ providers: ['cpu'], threads: 1 });
  const loaded = await engine.loadModel(dir, { cuts: [2], cacheDir });
  try {
    const tokenizer = loaded.requireTokenizer();
    const ids = tokenizer.encode('hello layers');
    assert.ok(ids.length > 2);
    const ref = referenceForward(loaded.checkpoint, ids);
    const state = loaded.model.newState();
    loaded.model.append(state, [ids]);
    const out = await loaded.model.runTo(state, 4);
    const expected = ref.hidden[4]!.flatMap((r) => Array.from(r));
    const diff = out.hidden.reduce((m, v, i) => Math.max(m, Math.abs(v - expected[i]!)), 0);
    assert.ok(diff < 1e-4, `hidden differs by ${diff}`);
    assert.equal(loaded.model.exitLayers.join(','), '2,4');
  } finally {
    await loaded.release();
  }
});

/** Writes a tiny folder, loads it through the engine, and compares the last layer with the reference on 24 tokens. */
async function loadsLikeTheReference(options: Parameters<typeof writeTinyCheckpoint>[1], check: (loaded: LoadedModel) => void): Promise<void> {
  const folder = mkdtempSync(join(tmpdir(), 'hdlm-folder-'));
  const engine = await Engine.create({ providers: ['cpu'], threads: 1 });
  try {
    writeTinyCheckpoint(folder, options);
    const loaded = await engine.loadModel(folder, { cacheDir });
    try {
      check(loaded);
      const ids = Array.from({ length: 24 }, (_, i) => (i * 5 + 1) % 64);
      const L = loaded.checkpoint.config.numLayers;
      const ref = referenceForward(loaded.checkpoint, ids);
      const state = loaded.model.newState();
      loaded.model.append(state, [ids]);
      const out = await loaded.model.runTo(state, L);
      const expected = ref.hidden[L]!.flatMap((r) => Array.from(r));
      const diff = out.hidden.reduce((m, v, i) => Math.max(m, Math.abs(v - expected[i]!)), 0);
      assert.ok(diff < 1e-4, `hidden differs by ${diff}`);
    } finally {
      await loaded.release();
    }
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

test("a folder with Llama 3.1+'s rope_scaling loads with the scaled frequencies and matches the reference", async () => {
  const rope_scaling = { rope_type: 'llama3', factor: 8.0, low_freq_factor: 1.0, high_freq_factor: 4.0, original_max_position_embeddings: 16 };
  await loadsLikeTheReference({ family: 'llama', layers: 2, hidden: 32, heads: 4, kvHeads: 2, intermediate: 48, tied: true, std: 0.3, seed: 5, ropeTheta: 500000, configOverrides: { rope_scaling } }, (loaded) => {
    assert.deepEqual(loaded.checkpoint.config.ropeScaling, { type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 16 });
  });
});

test('a qwen3 folder (per-head q/k norms, head_dim apart from hidden / heads) loads and matches the reference', async () => {
  await loadsLikeTheReference({ family: 'llama', modelType: 'qwen3', layers: 2, hidden: 32, heads: 4, kvHeads: 2, headDim: 16, intermediate: 48, tied: true, std: 0.3, seed: 6 }, (loaded) => {
    assert.deepEqual([loaded.checkpoint.config.qkNorm, loaded.checkpoint.config.headDim], [true, 16]);
  });
});

test('a model the device cannot hold runs on the CPU, saying why', async () => {
  // WebGPU has no adapter on a machine without a GPU, so its sessions fail to be created: the
  // same path a model too large for GPU memory takes. Where WebGPU works, the model stays there.
  const notes: string[] = [];
  const loaded = await LoadedModel.load(dir, 'webgpu', 1, { cuts: [2], cacheDir, onNote: (m) => notes.push(m) });
  try {
    if (loaded.deviceFallback) {
      assert.equal(loaded.model.provider, 'cpu');
      assert.equal(loaded.deviceFallback.provider, 'webgpu');
      assert.ok(loaded.deviceFallback.reason.length > 0);
      assert.ok(notes.some((n) => /^webgpu could not hold .* running it on the CPU$/.test(n)), notes.join(' | '));
    } else {
      assert.equal(loaded.model.provider, 'webgpu');
    }
    const state = loaded.model.newState();
    loaded.model.append(state, [[1, 2, 3]]);
    assert.equal((await loaded.model.runTo(state, 4)).count, 3, 'and it runs');
  } finally {
    await loaded.release();
  }
});

function hdlm(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(root, 'dist', 'hdlm.js'), ...args], { encoding: 'utf8', env: { ...process.env, XDG_CACHE_HOME: cacheDir } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('hdlm generate streams tokens from the last layer and from an early exit', () => {
  const full = hdlm(['generate', '--model', dir, '--max-tokens', '6', '--json', 'hello']);
  assert.equal(full.status, 0, full.stderr);
  const parsed = JSON.parse(full.stdout) as { tokens: number[]; stop: string };
  assert.ok(parsed.tokens.length >= 1 && parsed.tokens.length <= 6);
  const last = hdlm(['generate', '--model', dir, '--layer', '4', '--max-tokens', '2', 'hello']);
  assert.equal(last.status, 0, last.stderr);
  assert.match(last.stderr, /from layer 4 on cpu/);
  assert.equal(hdlm(['generate', '--model', dir, '--layer', '5', 'hello']).status, 2);
  const early = hdlm(['generate', '--model', dir, '--layer', '2', '--max-tokens', '3', 'hello']);
  assert.equal(early.status, 0, early.stderr);
  assert.match(early.stderr, /from layer 2 on cpu/);
});

test("hdlm generate follows the model's generation_config.json unless a flag says otherwise", () => {
  const withConfig = mkdtempSync(join(tmpdir(), 'hdlm-genconfig-'));
  try {
    // The file says: greedy (no do_sample, so its temperature is ignored), no bigram twice, beam search.
    writeTinyCheckpoint(withConfig, { family: 'llama', layers: 2, hidden: 32, heads: 4, kvHeads: 2, intermediate: 48, std: 0.3, seed: 4, generationConfig: { no_repeat_ngram_size: 2, temperature: 0.9, num_beams: 3 } });
    const prompt = [5, 6, 7, 5];
    const run = (...flags: string[]): { tokens: number[]; decoding: { mode: string; settings: { name: string; value: number; source: string }[] }; stderr: string } => {
      const r = hdlm(['generate', '--model', withConfig, '--ids', prompt.join(','), '--max-tokens', '24', '--json', ...flags]);
      assert.equal(r.status, 0, r.stderr);
      return { ...(JSON.parse(r.stdout) as { tokens: number[]; decoding: { mode: string; settings: { name: string; value: number; source: string }[] } }), stderr: r.stderr };
    };
    const filed = run();
    assert.equal(filed.decoding.mode, 'greedy');
    assert.deepEqual(filed.decoding.settings.find((s) => s.name === 'noRepeatNgramSize'), { name: 'noRepeatNgramSize', value: 2, source: 'generation_config.json' });
    const ids = [...prompt, ...filed.tokens];
    const bigrams = ids.slice(1).map((t, i) => `${ids[i]},${t}`);
    assert.equal(new Set(bigrams).size, bigrams.length, `a bigram repeats in ${ids.join(' ')}`);
    assert.match(filed.stderr, /temperature ignored without "do_sample": true/);
    assert.match(filed.stderr, /"num_beams": 3 not followed/);
    const flagged = run('--no-repeat-ngram', '0');
    assert.deepEqual(flagged.decoding.settings.find((s) => s.name === 'noRepeatNgramSize'), { name: 'noRepeatNgramSize', value: 0, source: 'asked' });
    assert.notDeepEqual(flagged.tokens, filed.tokens, 'this tiny model repeats itself without the ban');
    const bad = hdlm(['generate', '--model', withConfig, '--repetition-penalty', '0', 'x']);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--repetition-penalty must be a finite number > 0, got 0/);
  } finally {
    rmSync(withConfig, { recursive: true, force: true });
  }
});

test("generation stops at generation_config.json's eos_token_id (a turn's end), not only config.json's; --ignore-eos stops only where asked", () => {
  const dir = mkdtempSync(join(tmpdir(), 'hdlm-eos-'));
  try {
    writeTinyCheckpoint(dir, { family: 'llama', layers: 2, hidden: 32, heads: 4, kvHeads: 2, intermediate: 48, std: 0.3, seed: 4 });
    const run = (...flags: string[]): { tokens: number[]; stop: string } => {
      const r = hdlm(['generate', '--model', dir, '--ids', '5,6,7,5', '--max-tokens', '12', '--json', ...flags]);
      assert.equal(r.status, 0, r.stderr);
      return JSON.parse(r.stdout) as { tokens: number[]; stop: string };
    };
    const free = run('--ignore-eos');
    assert.deepEqual([free.tokens.length, free.stop], [12, 'maxTokens']);
    // The fourth token the model says becomes its end of turn, as a chat model's generation_config.json names one.
    const end = free.tokens[3]!;
    const at = free.tokens.indexOf(end);
    // Listed second, after an id this run never says: every id of the list stops, not only the first.
    const unused = [...Array(64).keys()].find((id) => !free.tokens.includes(id))!;
    writeFileSync(join(dir, 'generation_config.json'), JSON.stringify({ eos_token_id: [unused, end] }));
    const stopped = run();
    assert.equal(stopped.stop, 'stopToken');
    assert.deepEqual(stopped.tokens.filter((t) => t !== end), free.tokens.slice(0, at), 'the same tokens up to the end token, then none');
    assert.deepEqual(run('--ignore-eos').tokens, free.tokens, '--ignore-eos: the end token of the file does not stop it');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("hdlm generate reads the file's max_length as prompt and output together, and --max-tokens wins", () => {
  const dir = mkdtempSync(join(tmpdir(), 'hdlm-maxlength-'));
  try {
    writeTinyCheckpoint(dir, { family: 'llama', layers: 2, hidden: 32, heads: 4, kvHeads: 2, intermediate: 48, std: 0.3, seed: 4, generationConfig: { max_length: 10 } });
    const run = (...flags: string[]): { tokens: number[]; stop: string; decoding: { settings: { name: string; value: number; source: string }[] } } => {
      const r = hdlm(['generate', '--model', dir, '--ids', '5,6,7,5', '--json', ...flags]);
      assert.equal(r.status, 0, r.stderr);
      return JSON.parse(r.stdout) as { tokens: number[]; stop: string; decoding: { settings: { name: string; value: number; source: string }[] } };
    };
    // 4 prompt tokens leave 6 of the 10 (the engine's own default would be 64).
    const filed = run();
    assert.deepEqual([filed.tokens.length, filed.stop], [6, 'maxTokens']);
    assert.deepEqual(filed.decoding.settings.find((s) => s.name === 'maxLength'), { name: 'maxLength', value: 10, source: 'generation_config.json' });
    const flagged = run('--max-tokens', '12');
    assert.deepEqual([flagged.tokens.length, flagged.stop], [12, 'maxTokens']);
    assert.equal(flagged.decoding.settings.find((s) => s.name === 'maxLength'), undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('hdlm layers prints one row per layer, and bad options are named', () => {
  const layers = hdlm(['layers', '--model', dir, '--top', '2', '--json', 'hello']);
  assert.equal(layers.status, 0, layers.stderr);
  const rows = JSON.parse(layers.stdout) as { layer: number; top: { id: number; probability: number }[] }[];
  assert.deepEqual(rows.map((r) => r.layer), [0, 1, 2, 3, 4]);
  assert.ok(rows.every((r) => r.top.length === 2 && r.top[0]!.probability >= r.top[1]!.probability));
  const bad = hdlm(['generate', '--model', dir, '--temperature', 'hot', 'x']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--temperature must be a number, got hot/);
  const missing = hdlm(['layers', '--model', join(dir, 'nope'), 'x']);
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /nope: no such folder/);
  // Through the int8 head: every layer still read out, each row a distribution.
  const int8 = hdlm(['layers', '--model', dir, '--top', '2', '--json', '--head-precision', 'int8', 'hello']);
  assert.equal(int8.status, 0, int8.stderr);
  const int8Rows = JSON.parse(int8.stdout) as typeof rows;
  assert.deepEqual(int8Rows.map((r) => r.layer), [0, 1, 2, 3, 4]);
  assert.ok(int8Rows.every((r) => r.top[0]!.probability > 0 && r.top[0]!.probability <= 1));
  const precision = hdlm(['layers', '--model', dir, '--head-precision', 'int4', 'x']);
  assert.equal(precision.status, 2);
  assert.match(precision.stderr, /--head-precision: use fp32 or int8, got "int4"/);
});

test('hdlm bench refuses lengths the model\'s context cannot hold, before it builds a session', () => {
  const context = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as { max_position_embeddings: number };
  const n = context.max_position_embeddings;
  const out = hdlm(['bench', '--model', dir, '--exits', '2', '--prompt-tokens', String(n - 6), '--thought-tokens', '8', '--steps', '2']);
  assert.equal(out.status, 2, out.stderr);
  assert.match(out.stderr, new RegExp(`--prompt-tokens ${n - 6} with --thought-tokens 8 and --steps 2 needs ${n + 3} positions .* the model's context is ${n} \\(max_position_embeddings\\)`));
  assert.doesNotMatch(out.stdout + out.stderr, /sessions ready/);
});

test('hdlm bench prints the engine figures as JSON', () => {
  const out = hdlm(['bench', '--model', dir, '--exits', '2', '--prompt-tokens', '16', '--thought-tokens', '4', '--steps', '2', '--json']);
  assert.equal(out.status, 0, out.stderr);
  const r = JSON.parse(out.stdout) as {
    decodeMsFull: number;
    floorMs: number;
    int8Head: { decodeMsFull: number; floorMs: number };
    exits: { layer: number; ratio: number; int8Head: { ratio: number; floorMs: number } }[];
    continuation: { ratio: number };
  };
  assert.ok(r.decodeMsFull > 0 && r.floorMs > 0);
  assert.deepEqual(r.exits.map((e) => e.layer), [2]);
  // The int8 head's floor reads fewer bytes than the fp32 one, at full depth and at the exit.
  assert.ok(r.int8Head.decodeMsFull > 0 && r.int8Head.floorMs < r.floorMs);
  assert.ok(r.exits[0]!.int8Head.ratio > 0 && r.exits[0]!.int8Head.floorMs < r.int8Head.floorMs);
  assert.ok(r.continuation.ratio > 0);
});
