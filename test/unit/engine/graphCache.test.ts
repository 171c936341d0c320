// Converted graphs are reused from disk, their weights apart from their structure; a damaged
// entry (either file) is detected and rebuilt, and what runs from the cache is what runs from
// the built bytes. A file is hashed again only when its stamp says it may have changed.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { CacheEvent, GraphCache, GRAPH_FORMAT_VERSION } from '../../../engine/src/model/graphCache';
import { SegmentedModel } from '../../../engine/src/model/segmentedModel';
import { tinyLlamaCheckpoint, type TinyLlamaShape } from '../../support/memoryCheckpoint';

const SHAPE = { layers: 4, hidden: 16, heads: 2, kvHeads: 1, intermediate: 24, vocab: 31, seed: 2 };
/** Wide enough that the MLP's matrices (128 × 256 floats, 128 KiB) go to weights.bin. */
const WIDE = { layers: 2, hidden: 128, heads: 4, kvHeads: 2, intermediate: 256, vocab: 300, seed: 3 };

async function loadAndRun(cache: GraphCache, shape: TinyLlamaShape = SHAPE): Promise<Float32Array> {
  const model = await SegmentedModel.create(tinyLlamaCheckpoint(shape), { cuts: [shape.layers / 2], provider: 'cpu', threads: 1, fused: false, cache });
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

test(
  'a second load reads every graph from the cache; a corrupted entry is rebuilt',
  withCacheDir(async (dir) => {
    const events: CacheEvent[] = [];
    const cache = new GraphCache(dir, (e) => events.push(e));
    const first = await loadAndRun(cache);
    assert.deepEqual(events.map((e) => e.kind), ['miss', 'miss', 'miss'], 'two segments and the head are built');
    events.length = 0;
    const second = await loadAndRun(cache);
    assert.deepEqual(events.map((e) => e.kind), ['hit', 'hit', 'hit']);
    assert.deepEqual(second, first);

    // Flip one byte in the middle of one stored graph.
    const entry = readdirSync(dir)[0]!;
    const graph = join(dir, entry, 'graph.onnx');
    const bytes = readFileSync(graph);
    bytes[bytes.length >> 1] ^= 0xff;
    writeFileSync(graph, bytes);
    events.length = 0;
    const third = await loadAndRun(cache);
    assert.equal(events.filter((e) => e.kind === 'corrupt').length, 1);
    assert.match(events.find((e) => e.kind === 'corrupt')!.detail!, /graph\.onnx: checksum differs/);
    assert.deepEqual(third, first);
    events.length = 0;
    await loadAndRun(cache);
    assert.deepEqual(events.map((e) => e.kind), ['hit', 'hit', 'hit'], 'the rebuilt entry is trusted again');
  }),
);

test(
  'large weights are stored apart, aligned, and run as the built bytes do; a damaged weights file is rebuilt',
  withCacheDir(async (dir) => {
    const events: CacheEvent[] = [];
    const cache = new GraphCache(dir, (e) => events.push(e));
    const built = await loadAndRun(new GraphCache(undefined), WIDE);
    assert.deepEqual(await loadAndRun(cache, WIDE), built, 'stored, then opened by path');
    assert.deepEqual(await loadAndRun(cache, WIDE), built, 'read back from the cache');
    const segment = readdirSync(dir).find((e) => /segment 0-1 plain$/.test(String(JSON.parse(readFileSync(join(dir, e, 'manifest.json'), 'utf8')).recipe)))!;
    const weights = join(dir, segment, 'weights.bin');
    // Two layers' MLP matrices of 128 KiB each would fit in 3 × 128 KiB unaligned; aligned, each starts on a 64 KiB boundary.
    assert.ok(statSync(weights).size >= 3 * 128 * 1024, `weights.bin holds the matrices: ${statSync(weights).size} bytes`);
    assert.ok(statSync(join(dir, segment, 'graph.onnx')).size < statSync(weights).size / 4, 'the structure keeps only the small tensors');

    const bytes = readFileSync(weights);
    bytes[bytes.length - 5] ^= 0x40;
    writeFileSync(weights, bytes);
    events.length = 0;
    assert.deepEqual(await loadAndRun(cache, WIDE), built);
    assert.deepEqual(events.filter((e) => e.kind === 'corrupt').map((e) => e.detail), ['weights.bin: checksum differs']);
    truncateSync(weights, 4096);
    events.length = 0;
    assert.deepEqual(await loadAndRun(cache, WIDE), built);
    assert.match(events.find((e) => e.kind === 'corrupt')?.detail ?? '', /weights\.bin: size 4096 ≠ \d+/);
  }),
);

test(
  'a stored entry is not hashed again until a file may have changed; a byte changed with its modification time set back is still found',
  withCacheDir(async (dir) => {
    const events: CacheEvent[] = [];
    const cache = new GraphCache(dir, (e) => events.push(e));
    const built = await loadAndRun(cache, WIDE);
    events.length = 0;
    await loadAndRun(cache, WIDE);
    assert.deepEqual(events.map((e) => `${e.kind}${e.detail ? ` ${e.detail}` : ''}`), ['hit', 'hit', 'hit'], 'hashed as written: read on the stamps alone');

    // Without the record of stamps, each entry is hashed once, then trusted on its stamps again.
    for (const entry of readdirSync(dir)) rmSync(join(dir, entry, 'stamps.json'));
    events.length = 0;
    await loadAndRun(cache, WIDE);
    assert.deepEqual(events.map((e) => `${e.kind} ${e.detail ?? ''}`.trim()), ['hit hashed', 'hit hashed', 'hit hashed']);
    events.length = 0;
    await loadAndRun(cache, WIDE);
    assert.deepEqual(events.map((e) => e.detail), [undefined, undefined, undefined]);

    // The same size and modification time, other bytes: the change time still tells.
    const entry = readdirSync(dir).find((e) => statSync(join(dir, e, 'weights.bin')).size > 0)!;
    const weights = join(dir, entry, 'weights.bin');
    // A whole second can be set back exactly; the entry is read once at it (hashed, stamped).
    utimesSync(weights, 1_700_000_000, 1_700_000_000);
    await loadAndRun(cache, WIDE);
    const bytes = readFileSync(weights);
    bytes[bytes.length >> 1] ^= 0x10;
    writeFileSync(weights, bytes);
    utimesSync(weights, 1_700_000_000, 1_700_000_000);
    assert.equal(statSync(weights, { bigint: true }).mtimeNs, 1_700_000_000_000_000_000n);
    events.length = 0;
    assert.deepEqual(await loadAndRun(cache, WIDE), built);
    assert.deepEqual(events.filter((e) => e.kind === 'corrupt').map((e) => e.detail), ['weights.bin: checksum differs']);
  }),
);

test(
  'entries an older format wrote are removed when a graph is next stored; other files are left',
  withCacheDir(async (dir) => {
    mkdirSync(join(dir, 'old'));
    writeFileSync(join(dir, 'old', 'manifest.json'), JSON.stringify({ version: GRAPH_FORMAT_VERSION - 1, recipe: 'segment 0-2 plain' }));
    writeFileSync(join(dir, 'old', 'graph.onnx'), 'x');
    mkdirSync(join(dir, 'not-an-entry'));
    await loadAndRun(new GraphCache(dir));
    const left = readdirSync(dir);
    assert.ok(!left.includes('old'), left.join(', '));
    assert.ok(left.includes('not-an-entry'));
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
  'beyond its budget the cache removes the least recently used entries, never the model being loaded',
  withCacheDir(async (dir) => {
    const sizeOf = (entry: string): number => readdirSync(join(dir, entry)).reduce((a, f) => a + statSync(join(dir, entry, f)).size, 0);
    await loadAndRun(new GraphCache(dir), WIDE);
    const wide = readdirSync(dir);
    const wideBytes = wide.reduce((a, e) => a + sizeOf(e), 0);
    // Room for the wide model's entries and a little more: the next model's entries push them out.
    const events: CacheEvent[] = [];
    const small = new GraphCache(dir, (e) => events.push(e), wideBytes + 1024);
    const logits = await loadAndRun(small);
    const left = readdirSync(dir);
    const fresh = left.filter((e) => !wide.includes(e));
    assert.equal(fresh.length, 3, 'the model just loaded keeps all its graphs');
    assert.ok(events.some((e) => e.kind === 'evicted' && /removed to stay within/.test(e.detail ?? '')), JSON.stringify(events));
    assert.ok(left.reduce((a, e) => a + sizeOf(e), 0) <= wideBytes + 1024, 'within the budget');
    assert.deepEqual(await loadAndRun(new GraphCache(dir)), logits, 'and it still loads from them');
  }),
);

test(
  'a graph larger than the budget is not stored, and serves from its bytes',
  withCacheDir(async (dir) => {
    const events: CacheEvent[] = [];
    await loadAndRun(new GraphCache(dir, (e) => events.push(e), 1024), WIDE);
    assert.ok(events.some((e) => /not stored: .* is over the cache's budget of 0\.0 MiB/.test(e.detail ?? '')), JSON.stringify(events));
    assert.equal(readdirSync(dir).length, 0);
  }),
);
