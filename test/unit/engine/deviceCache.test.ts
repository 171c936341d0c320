// Keys and values kept in device memory between runs (SegmentedModelOptions.deviceCache): the
// same results as caches copied back to the host, shared correctly between forks, freed as soon as
// no state holds them, and all freed before the model's sessions go. On the CPU nothing stays on
// a device, so the counts are 0 there; `npm test` runs this file again on WebGPU, where they are not.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DecodeState } from '../../../engine/src/model/decodeState';
import { SegmentedModel } from '../../../engine/src/model/segmentedModel';
import { keepsOutputsOnDevice } from '../../../engine/src/runtime/ort';
import { probeResidency } from '../../../engine/src/runtime/probe';
import { tinyLlamaCheckpoint, TinyLlamaShape } from '../../support/memoryCheckpoint';
import { TEST_PROVIDER } from '../../support/testDevice';

const SHAPE: TinyLlamaShape = { layers: 6, hidden: 32, heads: 4, kvHeads: 2, intermediate: 48, vocab: 61, attentionBias: true, seed: 11 };
const PROMPT = [5, 17, 3, 42, 8, 29, 11];
const LAYERS = SHAPE.layers;
/** Key and value tensors one state holds: two per layer, in every segment. */
const PER_STATE = 2 * LAYERS;
const ON_DEVICE = keepsOutputsOnDevice(TEST_PROVIDER);

/** What the model's count should read when `n` tensors are held on a device (0 on the host). */
function held(n: number): number {
  return ON_DEVICE ? n : 0;
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);
}

async function withModel(deviceCache: boolean, fused: boolean, body: (m: SegmentedModel) => Promise<void>, cuts = [2, 4]): Promise<void> {
  const model = await SegmentedModel.create(tinyLlamaCheckpoint(SHAPE), { cuts, provider: TEST_PROVIDER, threads: 1, fused, deviceCache });
  try {
    await body(model);
  } finally {
    await model.release();
  }
}

/** The last-layer logits of the newest position after `tokens`, run one token at a time on `state`. */
async function continueWith(model: SegmentedModel, state: DecodeState, tokens: readonly number[]): Promise<Float32Array> {
  let newest: Float32Array | undefined;
  for (const t of tokens) {
    model.append(state, [[t]]);
    newest = await model.runToNewest(state, LAYERS);
  }
  return model.logits(newest!);
}

/** The same logits from a fresh state that runs prompt and tokens in one pass. */
async function freshLogits(model: SegmentedModel, tokens: readonly number[]): Promise<Float32Array> {
  const state = model.newState();
  model.append(state, [[...PROMPT, ...tokens]]);
  const logits = await model.logits((await model.runToNewest(state, LAYERS))!);
  state.release();
  return logits;
}

test('the residency probe chains a device output into another session and gets x + 2 back', async () => {
  const result = await probeResidency(TEST_PROVIDER, 1);
  assert.equal(result.location, ON_DEVICE ? 'gpu-buffer' : 'cpu');
  assert.ok(result.maxError < 1e-6, `max error ${result.maxError}`);
});

for (const fused of [false, true]) {
  test(`caches kept on the device give the host caches' logits through early exit and catch-up (${fused ? 'fused' : 'plain'} ops)`, async () => {
    const run = async (deviceCache: boolean): Promise<{ logits: Float32Array; location: string | undefined }> => {
      let result: { logits: Float32Array; location: string | undefined } | undefined;
      await withModel(deviceCache, fused, async (model) => {
        const state = model.newState();
        model.append(state, [PROMPT]);
        await model.runToNewest(state, LAYERS);
        for (const t of [13, 21, 34]) {
          model.append(state, [[t]]);
          await model.runTo(state, 2); // an early-exit span: pending at segment 2
        }
        const logits = await continueWith(model, state, [7, 9]);
        result = { logits, location: state.segments[2]!.keys[0]!.location };
        state.release();
      });
      return result!;
    };
    const device = await run(true);
    const host = await run(false);
    await withModel(true, fused, async (model) => assert.equal(model.deviceCache, ON_DEVICE));
    await withModel(false, fused, async (model) => assert.equal(model.deviceCache, false));
    assert.equal(device.location, ON_DEVICE ? 'gpu-buffer' : 'cpu');
    assert.equal(host.location, 'cpu');
    assert.ok(maxDiff(device.logits, host.logits) < 1e-5, `logits differ by ${maxDiff(device.logits, host.logits)}`);
  });
}

test('forks share device caches: each goes on correctly and a cache is freed when no state holds it', async () => {
  await withModel(true, true, async (model) => {
    const a = model.newState();
    model.append(a, [PROMPT]);
    await model.runToNewest(a, LAYERS);
    assert.equal(model.deviceTensors.size, held(PER_STATE));
    const b = a.fork();
    const c = a.fork();
    assert.equal(model.deviceTensors.size, held(PER_STATE), 'forks share the tensors');

    const fromA = await continueWith(model, a, [13]);
    assert.equal(model.deviceTensors.size, held(2 * PER_STATE), "a's new caches; the old ones are still b's and c's");
    a.release();
    assert.equal(model.deviceTensors.size, held(PER_STATE));
    const fromB = await continueWith(model, b, [21, 34]);
    const fromC = await continueWith(model, c, [55]);
    assert.equal(model.deviceTensors.size, held(2 * PER_STATE), 'the prompt caches went with the last fork that held them');

    for (const [logits, tokens] of [[fromA, [13]], [fromB, [21, 34]], [fromC, [55]]] as const) {
      const diff = maxDiff(logits, await freshLogits(model, tokens));
      assert.ok(diff < 1e-4, `after ${tokens.join(', ')}: logits differ by ${diff}`);
    }
    b.release();
    c.release();
    c.release(); // twice is harmless
    assert.equal(model.deviceTensors.size, 0);
    assert.throws(() => model.append(c, [[1]]), /this state was released/);
  });
});

test('a long decode holds one cache per layer, and a rows run that ends its state frees it at once', async () => {
  await withModel(true, true, async (model) => {
    const state = model.newState();
    model.append(state, [PROMPT]);
    await continueWith(model, state, Array.from({ length: 24 }, (_, i) => (i * 7) % SHAPE.vocab));
    assert.equal(model.deviceTensors.size, held(PER_STATE), 'each step freed the caches it replaced');

    const reader = state.fork();
    model.append(reader, [[3, 4, 5]]);
    const reached = await model.runTo(reader, LAYERS, { rows: [[0, 2]] });
    assert.equal(reached.count, 2);
    assert.equal(model.deviceTensors.size, held(PER_STATE), "the ended fork's caches were freed; the state's remain");
    state.release();
    assert.equal(model.deviceTensors.size, 0);
  });
});

test('releasing the model frees the caches states still hold; releasing those states later is harmless', async () => {
  const model = await SegmentedModel.create(tinyLlamaCheckpoint(SHAPE), { cuts: [3], provider: TEST_PROVIDER, threads: 1, fused: true });
  const state = model.newState();
  model.append(state, [PROMPT]);
  await model.runToNewest(state, LAYERS);
  const fork = state.fork();
  assert.equal(model.deviceTensors.size, held(PER_STATE));
  await model.release();
  assert.equal(model.deviceTensors.size, 0);
  // On WebGPU freeing a tensor after its session crashed the process: this must not free again.
  state.release();
  fork.release();
});

test('a segment hands its output to the next one in device memory; only an early exit or a layer read brings it to the host', async () => {
  await withModel(true, true, async (model) => {
    const state = model.newState();
    model.append(state, [PROMPT]);
    await model.runToNewest(state, LAYERS); // through three segments
    assert.equal(model.hostCopies, 0, 'the last segment returns to the host itself');
    model.append(state, [[13]]);
    await model.runTo(state, 2); // an early exit: its output is read, and waits for segment 2
    assert.equal(model.hostCopies, held(1));
    model.append(state, [[21]]);
    // The new token joins the one waiting at segment 2 on the host, and layer 4 is read: two copies.
    await model.runTo(state, LAYERS, { collectLayers: [4] });
    assert.equal(model.hostCopies, held(3));
    model.append(state, [[34]]);
    await model.runToNewest(state, LAYERS);
    assert.equal(model.hostCopies, held(3), 'nothing waits and nothing is read: device all the way');
    state.release();
  });
});

test('a run cancelled after a device handoff leaves those positions waiting, and goes on as if uninterrupted', async () => {
  await withModel(true, true, async (model) => {
    const expected = await freshLogits(model, [13, 21]);
    const state = model.newState();
    model.append(state, [PROMPT]);
    await model.runToNewest(state, LAYERS);
    model.append(state, [[13, 21]]);
    const controller = new AbortController();
    // Cancelled once the first segment has run: its output was on its way to the second.
    const stopped = model.runTo(state, LAYERS, { signal: controller.signal, onSegment: () => controller.abort() });
    await assert.rejects(stopped, /cancelled/);
    assert.equal(state.segments[1]!.pendingCount, 2);
    assert.equal(state.segments[1]!.pending.length, 1, 'the carried output waits on the host');
    const newest = await model.runToNewest(state, LAYERS);
    const diff = maxDiff(await model.logits(newest!), expected);
    assert.ok(diff < 1e-4, `logits differ by ${diff}`);
    state.release();
  });
});

for (const cuts of [[], [2, 4]]) {
  test(`every layer read from device memory equals the host run's (${cuts.length + 1} segment${cuts.length > 0 ? 's' : ''})`, async () => {
    const read = async (deviceCache: boolean): Promise<Map<number, Float32Array>> => {
      let layers: Map<number, Float32Array> | undefined;
      await withModel(deviceCache, true, async (model) => {
        const state = model.newState();
        model.append(state, [PROMPT]);
        layers = (await model.runTo(state, LAYERS, { collectLayers: true })).layers;
        state.release();
      }, cuts);
      return layers!;
    };
    const device = await read(true);
    const host = await read(false);
    assert.deepEqual([...device.keys()].sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6]);
    for (const [layer, hidden] of host) assert.ok(maxDiff(device.get(layer)!, hidden) < 1e-5, `layer ${layer}: ${maxDiff(device.get(layer)!, hidden)}`);
  });
}

test('releasing the model while a run is under way waits for it; a run asked for afterwards fails with a message', async () => {
  const model = await SegmentedModel.create(tinyLlamaCheckpoint(SHAPE), { cuts: [2, 4], provider: TEST_PROVIDER, threads: 1, fused: true });
  const state = model.newState();
  model.append(state, [Array.from({ length: 48 }, (_, i) => (i * 7) % SHAPE.vocab)]);
  const running = model.runTo(state, LAYERS);
  // On WebGPU, freeing the caches this run reads crashed the process (the language server releases
  // a model when settings change, maybe mid-request).
  const released = model.release();
  const reached = await running;
  assert.equal(reached.count, 48);
  await released;
  await model.release(); // twice is harmless
  const next = model.newState();
  model.append(next, [[1]]);
  await assert.rejects(model.runTo(next, LAYERS), /this model was released/);
  await assert.rejects(model.logits(new Float32Array(SHAPE.hidden)), /this model was released/);
});
