// Converted graphs are reused from disk: one folder per checkpoint, each graph's structure apart
// from its large weights, which its graphs share. A damaged file (a structure, a weight) is
// detected and rebuilt, and what runs from the cache is what runs from the built bytes. A file is
// hashed again only when its stamp says it may have changed, and a graph of other cuts converts
// no weight the folder holds already.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Checkpoint } from '../../../engine/src/checkpoint/types';
import { cacheBytes } from '../../../engine/src/diskBudget';
import { CacheEvent, GraphCache, GRAPH_FORMAT_VERSION } from '../../../engine/src/model/graphCache';
import { SegmentedModel } from '../../../engine/src/model/segmentedModel';
import { tinyLlamaCheckpoint, type TinyLlamaShape } from '../../support/memoryCheckpoint';

const SHAPE = { layers: 4, hidden: 16, heads: 2, kvHeads: 1, intermediate: 24, vocab: 31, seed: 2 };
/** Wide enough that the MLP's matrices (128 × 256 floats, 128 KiB) get files of their own. */
const WIDE = { layers: 2, hidden: 128, heads: 4, kvHeads: 2, intermediate: 256, vocab: 300, seed: 3 };

async function loadAndRun(cache: GraphCache, shape: TinyLlamaShape = SHAPE, cuts = [shape.layers / 2], checkpoint: Checkpoint = tinyLlamaCheckpoint(shape)): Promise<Float32Array> {
  const model = await SegmentedModel.create(checkpoint, { cuts, provider: 'cpu', threads: 1, fused: false, cache });
  try {
    const state = model.newState();
    model.append(state, [[1, 2, 3]]);
    return await model.logits((await model.runTo(state, shape.layers)).hidden);
  } finally {
    await model.release();
  }
}

function withCacheDir(run: (dir: string) => Promise<void>): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hdlm-cache-'));
    try {
      await run(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

/** The one checkpoint folder of a cache that has seen one model. */
function onlyFolder(dir: string): string {
  const folders = readdirSync(dir);
  assert.equal(folders.length, 1, folders.join(', '));
  return join(dir, folders[0]!);
}

/** The structure file of the graph whose manifest names `recipe`. */
function structureOf(folder: string, recipe: RegExp): string {
  const manifest = readdirSync(folder).find((f) => f.endsWith('.json') && f !== 'checkpoint.json' && recipe.test(String(JSON.parse(readFileSync(join(folder, f), 'utf8')).recipe)))!;
  return join(folder, manifest.replace(/\.json$/, '.onnx'));
}

const weightFiles = (folder: string): string[] => readdirSync(join(folder, 'weights')).filter((f) => f.endsWith('.bin'));
const kinds = (events: CacheEvent[]): string[] => events.map((e) => e.kind);

test(
  'a second load reads every graph from the cache; a corrupted structure is rebuilt',
  withCacheDir(async (dir) => {
    const events: CacheEvent[] = [];
    const cache = new GraphCache(dir, (e) => events.push(e));
    const first = await loadAndRun(cache);
    assert.deepEqual(kinds(events), ['miss', 'miss', 'miss'], 'two segments and the head are built');
    events.length = 0;
    const second = await loadAndRun(cache);
    assert.deepEqual(kinds(events), ['hit', 'hit', 'hit']);
    assert.deepEqual(second, first);

    // Flip one byte in the middle of one stored structure.
    const graph = structureOf(onlyFolder(dir), /segment 0-2/);
    const bytes = readFileSync(graph);
    bytes[bytes.length >> 1] ^= 0xff;
    writeFileSync(graph, bytes);
    events.length = 0;
    const third = await loadAndRun(cache);
    assert.deepEqual(kinds(events), ['corrupt', 'miss', 'hit', 'hit']);
    assert.match(events[0]!.detail!, /the structure: checksum differs/);
    assert.deepEqual(third, first);
    events.length = 0;
    await loadAndRun(cache);
    assert.deepEqual(kinds(events), ['hit', 'hit', 'hit'], 'the rebuilt graph is trusted again');
  }),
);

test(
  'large weights are stored apart, one file each, and run as the built bytes do; a damaged weight is rebuilt',
  withCacheDir(async (dir) => {
    const events: CacheEvent[] = [];
    const cache = new GraphCache(dir, (e) => events.push(e));
    const built = await loadAndRun(new GraphCache(undefined), WIDE);
    assert.deepEqual(await loadAndRun(cache, WIDE), built, 'stored, then opened by path');
    assert.deepEqual(await loadAndRun(cache, WIDE), built, 'read back from the cache');
    const folder = onlyFolder(dir);
    // Per layer: q, o (128 × 128 floats, 64 KiB) and gate, up, down (128 KiB each); the head (300 × 128, 150 KiB).
    const files = weightFiles(folder);
    assert.equal(files.length, 2 * 5 + 1, files.join(', '));
    const structure = structureOf(folder, /segment 0-1 plain$/);
    // k and v (64 × 128 floats, 32 KiB each) are below the size that gets a file, and stay in it.
    assert.ok(statSync(structure).size < 96 * 1024, `the structure keeps only the small tensors: ${statSync(structure).size} bytes`);

    const largest = files.map((f) => join(folder, 'weights', f)).sort((a, b) => statSync(b).size - statSync(a).size)[0]!;
    const bytes = readFileSync(largest);
    bytes[bytes.length - 5] ^= 0x40;
    writeFileSync(largest, bytes);
    events.length = 0;
    assert.deepEqual(await loadAndRun(cache, WIDE), built);
    assert.deepEqual(events.filter((e) => e.kind === 'corrupt').map((e) => e.detail), ['weight unembed: checksum differs']);
    const layerWeight = join(folder, 'weights', weightFiles(folder).find((f) => statSync(join(folder, 'weights', f)).size === 128 * 256 * 4)!);
    truncateSync(layerWeight, 4096);
    events.length = 0;
    assert.deepEqual(await loadAndRun(cache, WIDE), built);
    assert.match(events.find((e) => e.kind === 'corrupt')?.detail ?? '', /^weight model\.layers\.\d\.mlp\.\w+_proj\.weight: size 4096 ≠ 131072$/);
  }),
);

test(
  'a graph of other cuts converts no weight the folder holds: only its structure is new',
  withCacheDir(async (dir) => {
    const checkpoint = tinyLlamaCheckpoint(WIDE);
    const converted: string[] = [];
    const { weights } = checkpoint;
    const counting: Checkpoint = {
      ...checkpoint,
      weights: { ...weights, names: () => weights.names(), has: (n) => weights.has(n), shape: (n) => weights.shape(n), dtype: (n) => weights.dtype(n), get: (n, s) => (converted.push(n), weights.get(n, s)) },
    };
    const events: CacheEvent[] = [];
    const cache = new GraphCache(dir, (e) => events.push(e));
    const cut = await loadAndRun(cache, WIDE, [1], counting);
    const folder = onlyFolder(dir);
    const stored = weightFiles(folder);
    const bytes = cacheBytes(dir);
    assert.ok(converted.some((n) => n.endsWith('mlp.up_proj.weight')), 'the first load converts the layers');

    converted.length = 0;
    events.length = 0;
    const whole = await loadAndRun(cache, WIDE, [], counting);
    assert.deepEqual(whole, cut, 'the same model, cut elsewhere');
    // k and v (32 KiB each) stay in the structure, and are converted with it.
    assert.deepEqual(converted.filter((n) => /(q|o|gate|up|down)_proj\.weight$/.test(n)), [], 'no large layer weight was converted again');
    assert.deepEqual(events.map((e) => `${e.kind} ${e.detail ?? ''}`.trim()), ['miss 10 of its 10 large weights were stored already', 'hit']);
    assert.deepEqual(weightFiles(folder), stored, 'no weight file was added');
    assert.ok(cacheBytes(dir) - bytes < bytes / 4, `the new graph took ${cacheBytes(dir) - bytes} bytes of ${bytes}`);
  }),
);

test(
  'a stored file is not hashed again until it may have changed; a byte changed with its modification time set back is still found',
  withCacheDir(async (dir) => {
    const events: CacheEvent[] = [];
    const cache = new GraphCache(dir, (e) => events.push(e));
    const built = await loadAndRun(cache, WIDE);
    events.length = 0;
    await loadAndRun(cache, WIDE);
    assert.deepEqual(events.map((e) => `${e.kind}${e.detail ? ` ${e.detail}` : ''}`), ['hit', 'hit', 'hit'], 'hashed as written: read on the stamps alone');

    // Without the recorded stamps, each file is hashed once, then trusted on its stamp again.
    const folder = onlyFolder(dir);
    const records = [...readdirSync(folder).filter((f) => f.endsWith('.json') && f !== 'checkpoint.json').map((f) => join(folder, f)), ...readdirSync(join(folder, 'weights')).filter((f) => f.endsWith('.json')).map((f) => join(folder, 'weights', f))];
    for (const record of records) {
      const { stamp, ...rest } = JSON.parse(readFileSync(record, 'utf8')) as { stamp?: string };
      assert.equal(typeof stamp, 'string', record);
      writeFileSync(record, JSON.stringify(rest));
    }
    events.length = 0;
    await loadAndRun(cache, WIDE);
    assert.deepEqual(events.map((e) => `${e.kind} ${e.detail ?? ''}`.trim()), ['hit hashed', 'hit hashed', 'hit hashed']);
    events.length = 0;
    await loadAndRun(cache, WIDE);
    assert.deepEqual(events.map((e) => e.detail), [undefined, undefined, undefined]);

    // The same size and modification time, other bytes: the change time still tells.
    const weight = join(folder, 'weights', weightFiles(folder)[0]!);
    // A whole second can be set back exactly; the file is read once at it (hashed, stamped).
    utimesSync(weight, 1_700_000_000, 1_700_000_000);
    await loadAndRun(cache, WIDE);
    const bytes = readFileSync(weight);
    bytes[bytes.length >> 1] ^= 0x10;
    writeFileSync(weight, bytes);
    utimesSync(weight, 1_700_000_000, 1_700_000_000);
    assert.equal(statSync(weight, { bigint: true }).mtimeNs, 1_700_000_000_000_000_000n);
    events.length = 0;
    assert.deepEqual(await loadAndRun(cache, WIDE), built);
    assert.match(events.find((e) => e.kind === 'corrupt')?.detail ?? '', /^weight .*: checksum differs$/);
  }),
);

test(
  'folders an older format wrote are removed when a graph is next stored; other files are left',
  withCacheDir(async (dir) => {
    mkdirSync(join(dir, 'old'));
    writeFileSync(join(dir, 'old', 'manifest.json'), JSON.stringify({ version: 4, recipe: 'segment 0-2 plain' }));
    writeFileSync(join(dir, 'old', 'graph.onnx'), 'x');
    mkdirSync(join(dir, 'older-checkpoint'));
    writeFileSync(join(dir, 'older-checkpoint', 'checkpoint.json'), JSON.stringify({ version: GRAPH_FORMAT_VERSION - 1, fingerprint: 'x' }));
    mkdirSync(join(dir, 'not-a-folder-of-the-cache'));
    await loadAndRun(new GraphCache(dir));
    const left = readdirSync(dir);
    assert.ok(!left.includes('old') && !left.includes('older-checkpoint'), left.join(', '));
    assert.ok(left.includes('not-a-folder-of-the-cache'));
  }),
);

test(
  'a cache that cannot be written serves the built graphs and says so',
  withCacheDir(async (dir) => {
    writeFileSync(join(dir, 'a-file'), '');
    const events: CacheEvent[] = [];
    const logits = await loadAndRun(new GraphCache(join(dir, 'a-file', 'graphs'), (e) => events.push(e)), WIDE);
    assert.deepEqual(logits, await loadAndRun(new GraphCache(undefined), WIDE));
    assert.equal(events.filter((e) => /^not stored: .*ENOTDIR/.test(e.detail ?? '')).length, 3, JSON.stringify(events));
  }),
);

test(
  'a write that fails (a folder where a graph belongs) leaves no temporary file behind, and the built graphs serve',
  withCacheDir(async (dir) => {
    await loadAndRun(new GraphCache(dir), WIDE);
    const folder = onlyFolder(dir);
    // Every graph unlisted, and a folder in its structure's place: each rename into it fails.
    for (const f of readdirSync(folder).filter((n) => n.endsWith('.onnx'))) {
      rmSync(join(folder, f.replace(/\.onnx$/, '.json')));
      rmSync(join(folder, f));
      mkdirSync(join(folder, f, 'inside'), { recursive: true });
    }
    const events: CacheEvent[] = [];
    const logits = await loadAndRun(new GraphCache(dir, (e) => events.push(e)), WIDE);
    assert.deepEqual(logits, await loadAndRun(new GraphCache(undefined), WIDE));
    assert.ok(events.some((e) => /^not stored/.test(e.detail ?? '')), JSON.stringify(events));
    const temps = [folder, join(folder, 'weights')].flatMap((sub) => readdirSync(sub).filter((n) => n.endsWith('.tmp')));
    assert.deepEqual(temps, []);
  }),
);

test(
  'beyond its budget the cache removes the least recently used checkpoints, never the model being loaded',
  withCacheDir(async (dir) => {
    await loadAndRun(new GraphCache(dir), WIDE);
    const wide = readdirSync(dir);
    const wideBytes = cacheBytes(dir);
    // Room for the wide model's graphs and a little more: the next model's push them out.
    const events: CacheEvent[] = [];
    const small = new GraphCache(dir, (e) => events.push(e), wideBytes + 1024);
    const logits = await loadAndRun(small);
    const left = readdirSync(dir);
    assert.equal(left.filter((e) => !wide.includes(e)).length, 1, 'the model just loaded keeps its folder');
    assert.ok(left.every((e) => !wide.includes(e)), 'the older one went');
    assert.ok(events.some((e) => e.kind === 'evicted' && /removed to stay within/.test(e.detail ?? '')), JSON.stringify(events));
    assert.ok(cacheBytes(dir) <= wideBytes + 1024, 'within the budget');
    assert.deepEqual(await loadAndRun(new GraphCache(dir)), logits, 'and it still loads from them');
  }),
);

test(
  'a graph larger than the budget is not stored, and serves from its bytes',
  withCacheDir(async (dir) => {
    const events: CacheEvent[] = [];
    await loadAndRun(new GraphCache(dir, (e) => events.push(e), 1024), WIDE);
    assert.ok(events.some((e) => /not stored: .* is over the cache's budget of 0\.0 MiB/.test(e.detail ?? '')), JSON.stringify(events));
    assert.deepEqual(weightFiles(onlyFolder(dir)), [], 'no weight was written');
  }),
);
