// The bandwidth floor's probe reads its matrix the way the model reads its weights: as an
// initializer that stays where the provider keeps weights, with only a small vector fed per run.
// Fed as an input, the matrix crossed the host-to-device link on every run of a GPU bench.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bandwidthGraph, measureBandwidth, probeMebibytes } from '../../../engine/src/bench/bandwidth';

test('the matrix is an initializer and the only input is the small vector', () => {
  const { graph, rows, cols } = bandwidthGraph(4);
  const model = graph.built().model.graph;
  assert.deepEqual(model?.input?.map((i) => i.name), ['v']);
  const dims = model?.input?.[0]?.type?.tensorType?.shape?.dim?.map((d) => Number(d.dimValue));
  assert.deepEqual(dims, [1, rows]);
  const weight = model?.initializer?.find((t) => t.name === 'w');
  assert.deepEqual(weight?.dims?.map(Number), [rows, cols]);
  assert.equal(weight?.rawData?.byteLength, 4 * 1048576);
});

test('measures a positive bandwidth on the CPU', async () => {
  const bytesPerSecond = await measureBandwidth('cpu', 1, 4, 2);
  assert.ok(Number.isFinite(bytesPerSecond) && bytesPerSecond > 0, String(bytesPerSecond));
});

test('the probe is sized to the model: twice its weights, 64 MiB at least, 512 MiB at most (a 0.5B model\'s)', () => {
  assert.equal(probeMebibytes(1e6), 64); // a tiny model's megabyte
  assert.equal(probeMebibytes(100 * 1048576), 200);
  assert.equal(probeMebibytes(100 * 1048576 + 1), 201); // whole MiB, rounded up
  assert.equal(probeMebibytes(4 * 494e6), 512); // Qwen2.5-0.5B in fp32
  assert.equal(bandwidthGraph(probeMebibytes(1e6)).rows * 4096 * 4, 64 * 1048576);
});
