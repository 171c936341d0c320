// Clear Engine Cache: every converted graph and cached feature goes but the graphs of the models in
// use and entries still being written; the fingerprint memo and the jobs' journal stay, and a
// model whose graphs went loads again (rebuilding them) to the same logits.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { clearEngineCache } from '../../../engine/src/cacheClear';
import { cacheBytes } from '../../../engine/src/diskBudget';
import { CacheEvent, GraphCache, graphFolderName } from '../../../engine/src/model/graphCache';
import { SegmentedModel } from '../../../engine/src/model/segmentedModel';
import { tinyLlamaCheckpoint } from '../../support/memoryCheckpoint';

const shape = (seed: number): Parameters<typeof tinyLlamaCheckpoint>[0] => ({ layers: 2, hidden: 128, heads: 4, kvHeads: 2, intermediate: 256, vocab: 300, seed });

async function logits(cache: GraphCache, seed: number): Promise<Float32Array> {
  const model = await SegmentedModel.create(tinyLlamaCheckpoint(shape(seed)), { cuts: [1], provider: 'cpu', threads: 1, fused: false, cache });
  try {
    const state = model.newState();
    model.append(state, [[5, 6, 7]]);
    return await model.logits((await model.runTo(state, 2)).hidden);
  } finally {
    await model.release();
  }
}

test('clearing the cache keeps the models in use, entries being written, the memo and the journal', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hdlm-clear-'));
  try {
    const graphs = join(dir, 'graphs');
    const loaded = await logits(new GraphCache(graphs), 1);
    const other = await logits(new GraphCache(graphs), 2);
    const inUse = tinyLlamaCheckpoint(shape(1)).fingerprint;
    const features = join(dir, 'features');
    mkdirSync(join(features, 'done'), { recursive: true });
    writeFileSync(join(features, 'done', 'level1.bin'), Buffer.alloc(50_000));
    writeFileSync(join(features, 'done', 'manifest.json'), '{}');
    mkdirSync(join(features, 'being-written'));
    writeFileSync(join(features, 'being-written', 'level1.bin'), Buffer.alloc(30_000));
    writeFileSync(join(dir, 'fingerprints.json'), '{}');
    mkdirSync(join(dir, 'jobs'));
    writeFileSync(join(dir, 'jobs', 'journal.json'), '[]');
    const otherBytes = cacheBytes(join(graphs, graphFolderName(tinyLlamaCheckpoint(shape(2)).fingerprint)));
    assert.ok(otherBytes > 1_000_000, `the other model's graphs: ${otherBytes} bytes`);

    const { removedBytes, bytesLeft } = clearEngineCache(dir, [inUse]);
    assert.deepEqual(readdirSync(graphs), [graphFolderName(inUse)], 'only the graphs of the model in use stay');
    assert.deepEqual(readdirSync(features), ['being-written']);
    assert.ok(existsSync(join(dir, 'fingerprints.json')) && existsSync(join(dir, 'jobs', 'journal.json')));
    assert.equal(removedBytes, otherBytes + 50_002);
    assert.equal(bytesLeft, cacheBytes(dir));

    // The model in use reads its graphs as before; the other builds its own again, to the same logits.
    const events: CacheEvent[] = [];
    assert.deepEqual(await logits(new GraphCache(graphs, (e) => events.push(e)), 1), loaded);
    assert.deepEqual(await logits(new GraphCache(graphs, (e) => events.push(e)), 2), other);
    assert.deepEqual(events.map((e) => e.kind), ['hit', 'hit', 'hit', 'miss', 'miss', 'miss']);
    assert.equal(clearEngineCache(join(dir, 'nothing-here'), []).removedBytes, 0, 'a cache folder not made yet: nothing to do');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
