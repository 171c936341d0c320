// The runtime layer on the real onnxruntime-node: a graph built in TypeScript runs and matches
// JavaScript, device choice falls back to the CPU with a reason, and feeds are checked.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DType, GraphBuilder } from '../../../engine/src/onnx/graph';
import { chooseDevice } from '../../../engine/src/runtime/devices';
import { float32Tensor, listBackends, Session } from '../../../engine/src/runtime/ort';
import { buildProbeGraph, probeReference, probeResidency, runProbe } from '../../../engine/src/runtime/probe';

test('the probe graph built in TypeScript runs on the CPU and matches JavaScript', async () => {
  const session = await Session.create(buildProbeGraph(), { provider: 'cpu', threads: 1 });
  try {
    const ms = await runProbe(session);
    assert.ok(ms >= 0);
    const reference = probeReference();
    // Each row of a softmax sums to one: a check on the reference itself.
    for (let r = 0; r < 4; r++) {
      const sum = reference.slice(r * 3, r * 3 + 3).reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(sum - 1) < 1e-6);
    }
  } finally {
    await session.release();
  }
});

test('the CPU backend is always listed and bundled', () => {
  const cpu = listBackends().find((b) => b.name === 'cpu');
  assert.deepEqual(cpu, { name: 'cpu', bundled: true });
});

test('device choice falls back to the CPU and says why', async () => {
  // This machine has no GPU adapter and no CUDA binaries, so both must be skipped with reasons.
  const choice = await chooseDevice(['cuda', 'cpu'], 1);
  assert.equal(choice.provider, 'cpu');
  assert.equal(choice.fallbacks.length, 1);
  assert.equal(choice.fallbacks[0]!.provider, 'cuda');
  assert.ok(choice.fallbacks[0]!.reason.length > 0);
});

test('the CPU is appended when the configured order lacks it', async () => {
  const choice = await chooseDevice(['cuda'], 1);
  assert.equal(choice.provider, 'cpu');
});

test('a feed that does not match the graph names the missing and unexpected inputs', async () => {
  const session = await Session.create(buildProbeGraph(), { provider: 'cpu', threads: 1 });
  try {
    await assert.rejects(
      session.run({ y: float32Tensor(new Float32Array(8), [1, 8]) }),
      /missing \[x\], unexpected \[y\]; given y\[1,8\]/,
    );
  } finally {
    await session.release();
  }
});

test('float attributes that happen to be integral stay floats', async () => {
  // LeakyRelu's alpha is a FLOAT attribute; an INT there makes session creation fail.
  const g = new GraphBuilder('alpha');
  const x = g.input({ name: 'x', type: DType.float32, dims: [2] });
  g.op('LeakyRelu', [x], { alpha: { float: 2 } }, { outputs: ['y'] });
  g.output({ name: 'y', type: DType.float32, dims: [2] });
  const session = await Session.create(g.build(), { provider: 'cpu', threads: 1 });
  try {
    const out = await session.run({ x: float32Tensor(Float32Array.from([-1, 3]), [2]) });
    assert.deepEqual(Array.from(out['y']!.data as Float32Array), [-2, 3]);
  } finally {
    await session.release();
  }
});

test('an initializer whose data does not fit its shape is refused with both sizes', () => {
  const g = new GraphBuilder('bad');
  assert.throws(() => g.initializer('w', new Float32Array(5), [2, 3]), /w: 5 values for shape \[2,3\] \(6 expected\)/);
});

test('a deferred initializer is computed only when the model is asked for, and checked against its shape like any other', async () => {
  const g = new GraphBuilder('deferred');
  let produced = 0;
  const x = g.input({ name: 'x', type: DType.float32, dims: [1, 2] });
  const w = g.deferredInitializer('w', 'test weight', [2, 2], () => (produced++, Float32Array.from([1, 2, 3, 4])));
  g.op('MatMul', [x, w], {}, { outputs: ['y'] });
  g.output({ name: 'y', type: DType.float32, dims: [1, 2] });
  const built = g.built();
  assert.equal(produced, 0, 'building the graph computes no deferred weight');
  assert.deepEqual([...(built.deferred?.keys() ?? [])], ['w']);
  const session = await Session.create(g.build(), { provider: 'cpu', threads: 1 });
  try {
    assert.equal(produced, 1);
    const out = await session.run({ x: float32Tensor(Float32Array.from([1, 1]), [1, 2]) });
    assert.deepEqual(Array.from(out['y']!.data as Float32Array), [4, 6]);
  } finally {
    await session.release();
  }
  const bad = new GraphBuilder('bad');
  bad.deferredInitializer('v', 'test weight', [2, 3], () => new Float32Array(5));
  assert.throws(() => bad.model(), /initializer v: 5 values for shape \[2,3\] \(6 expected\)/);
});

test('the residency probe chains two runs and gets x + 2 back (the CPU keeps outputs in its own memory)', async () => {
  const result = await probeResidency('cpu', 1);
  assert.equal(result.location, 'cpu');
  assert.ok(result.maxError < 1e-6, `max error ${result.maxError}`);
});
