// The feature cache on real files: what is stored reads back bit for bit, a damaged entry is
// removed and reported instead of trusted, the least recently used entries go first when the
// budget is exceeded, and every input the backbone sees is part of the key.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { FeatureCache, type FeatureCacheEvent } from '../../../engine/src/hdlm/featureCache';
import type { LayerFeatures } from '../../../engine/src/hdlm/layerFeatures';

const H = 4;
let dir: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'hdlm-features-'));
});

after(() => rmSync(dir, { recursive: true, force: true }));

function features(rows: number, seed: number): LayerFeatures[] {
  const read = (level: number, layer: number): LayerFeatures => ({
    level,
    layer,
    hidden: Float32Array.from({ length: rows * H }, (_, i) => Math.sin(seed * 31 + i * 0.7 + level)),
    targets: Int32Array.from({ length: rows }, (_, i) => (i * 7 + seed) % 50),
    example: Int32Array.from({ length: rows }, (_, i) => i >> 1),
  });
  return [read(1, 2), read(2, 4)];
}

const parts = { fingerprint: 'f0', provider: 'cpu', prefix: [1, 2], sequences: [{ ids: [5, 6, 7], spans: [[1], [2]] }], reads: [{ level: 1, layer: 2 }] };

test('stored features read back exactly, and a second read is a hit', () => {
  const events: FeatureCacheEvent[] = [];
  const cache = new FeatureCache(join(dir, 'roundtrip'), 1 << 20, (e) => events.push(e));
  const key = FeatureCache.key(parts);
  assert.equal(cache.load(key, H), undefined);
  const stored = features(10, 1);
  cache.store(key, H, stored);
  const loaded = cache.load(key, H)!;
  assert.deepEqual(loaded, stored);
  assert.deepEqual(events.map((e) => e.kind), ['miss', 'stored', 'hit']);
  assert.equal(cache.load(key, H + 1), undefined, 'features of another hidden size are not trusted');
});

test('a damaged entry is reported, removed and not returned', () => {
  const events: FeatureCacheEvent[] = [];
  const cache = new FeatureCache(join(dir, 'damaged'), 1 << 20, (e) => events.push(e));
  const key = FeatureCache.key(parts);
  cache.store(key, H, features(10, 2));
  const file = join(dir, 'damaged', key, 'read1.hidden.f32');
  const bytes = readFileSync(file);
  bytes[5] = bytes[5]! ^ 0xff;
  writeFileSync(file, bytes);
  assert.equal(cache.load(key, H), undefined);
  assert.equal(events.at(-1)!.kind, 'corrupt');
  assert.match(events.at(-1)!.detail!, /read1\.hidden\.f32: checksum differs/);
  assert.ok(!existsSync(join(dir, 'damaged', key)), 'the damaged entry is gone');
  // Truncated, as a crash mid-copy would leave it.
  cache.store(key, H, features(10, 2));
  writeFileSync(join(dir, 'damaged', key, 'read0.targets.i32'), Buffer.alloc(3));
  assert.equal(cache.load(key, H), undefined);
  assert.match(events.at(-1)!.detail!, /read0\.targets\.i32: 3 bytes, the manifest says 40/);
});

test('beyond its budget the cache drops the least recently used entries, never the new one', async () => {
  const events: FeatureCacheEvent[] = [];
  // One entry is 10 rows × (4 floats + 2 ints) × 2 reads = 480 bytes and its manifest (under
  // 1 KB): the budget holds two.
  const cache = new FeatureCache(join(dir, 'budget'), 3000, (e) => events.push(e));
  const keys = ['a', 'b', 'c'].map((fingerprint) => FeatureCache.key({ ...parts, fingerprint }));
  cache.store(keys[0]!, H, features(10, 3));
  await new Promise((r) => setTimeout(r, 20));
  cache.store(keys[1]!, H, features(10, 4));
  await new Promise((r) => setTimeout(r, 20));
  assert.ok(cache.load(keys[0]!, H), 'entry a is used again, so b is now the oldest');
  await new Promise((r) => setTimeout(r, 20));
  cache.store(keys[2]!, H, features(10, 5));
  assert.deepEqual(readdirSync(join(dir, 'budget')).sort(), [keys[0], keys[2]].sort());
  assert.equal(events.filter((e) => e.kind === 'evicted').length, 1);
  // An entry larger than the whole budget is not stored, and says why.
  cache.store(FeatureCache.key({ ...parts, fingerprint: 'd' }), H, features(100, 6));
  assert.equal(events.at(-1)!.kind, 'not stored');
  assert.match(events.at(-1)!.detail!, /over the cache's budget/);
});

test('the key changes with every input the backbone sees', () => {
  const base = FeatureCache.key(parts);
  const variants = [
    { ...parts, fingerprint: 'f1' },
    { ...parts, provider: 'webgpu' },
    { ...parts, prefix: [1, 3] },
    { ...parts, sequences: [{ ids: [5, 6, 8], spans: [[1], [2]] }] },
    { ...parts, sequences: [{ ids: [5, 6, 7], spans: [[1, 2], []] }] },
    { ...parts, reads: [{ level: 1, layer: 3 }] },
  ];
  const keys = new Set(variants.map((v) => FeatureCache.key(v)));
  assert.equal(keys.size, variants.length);
  assert.ok(!keys.has(base));
  assert.equal(FeatureCache.key({ ...parts }), base, 'equal inputs, equal keys');
});
