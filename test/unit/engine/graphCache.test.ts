// Converted graphs are reused from disk, and a damaged entry is detected and rebuilt.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { CacheEvent, GraphCache } from '../../../engine/src/model/graphCache';
import { SegmentedModel } from '../../../engine/src/model/segmentedModel';
import { tinyLlamaCheckpoint } from '../../support/memoryCheckpoint';

const SHAPE = { layers: 4, hidden: 16, heads: 2, kvHeads: 1, intermediate: 24, vocab: 31, seed: 2 };

async function loadAndRun(cache: GraphCache): Promise<Float32Array> {
  const model = await SegmentedModel.create(tinyLlamaCheckpoint(SHAPE), { cuts: [2], provider: 'cpu', threads: 1, fused: false, cache });
  try {
    const state = model.newState();
    model.append(state, [[1, 2, 3]]);
    return await model.logits((await model.runTo(state, 4)).hidden);
  } finally {
    await model.release();
  }
}

test('a second load reads every graph from the cache; a corrupted entry is rebuilt', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hdlm-cache-'));
  try {
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
    assert.match(events.find((e) => e.kind === 'corrupt')!.detail!, /checksum differs/);
    assert.deepEqual(third, first);
    events.length = 0;
    await loadAndRun(cache);
    assert.deepEqual(events.map((e) => e.kind), ['hit', 'hit', 'hit'], 'the rebuilt entry is trusted again');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
