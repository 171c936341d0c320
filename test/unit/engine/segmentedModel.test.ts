// The segmented backbone on the real onnxruntime-node: hidden states at every exit layer match a
// plain JavaScript forward pass, early exit plus batched catch-up gives the same last-layer
// logits as running every layer for every token, and padding does not change a row's result.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { generate } from '../../../engine/src/generate/generator';
import { rotaryFrequencies } from '../../../engine/src/model/positions';
import { readoutAllLayers, topTokens } from '../../../engine/src/model/readout';
import { CancelledError, SegmentedModel, segmentBounds } from '../../../engine/src/model/segmentedModel';
import { Session } from '../../../engine/src/runtime/ort';
import { referenceForward } from '../../support/referenceLlama';
import { tinyLlamaCheckpoint, TinyLlamaShape } from '../../support/memoryCheckpoint';
import { TEST_PROVIDER } from '../../support/testDevice';

const GQA: TinyLlamaShape = { layers: 6, hidden: 32, heads: 4, kvHeads: 2, intermediate: 48, vocab: 61, attentionBias: true, seed: 7 };
const PROMPT = [5, 17, 3, 42, 8, 29, 11];

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

async function withModel(shape: TinyLlamaShape, cuts: number[], fused: boolean, body: (m: SegmentedModel) => Promise<void>): Promise<void> {
  const model = await SegmentedModel.create(tinyLlamaCheckpoint(shape), { cuts, provider: TEST_PROVIDER, threads: 1, fused });
  try {
    await body(model);
  } finally {
    await model.release();
  }
}

for (const fused of [false, true]) {
  test(`hidden states at every exit layer match the JavaScript reference (${fused ? 'fused' : 'plain'} ops)`, async () => {
    const ckpt = tinyLlamaCheckpoint(GQA);
    const ref = referenceForward(ckpt, PROMPT);
    await withModel(GQA, [2, 4], fused, async (model) => {
      const state = model.newState();
      model.append(state, [PROMPT]);
      for (const layer of model.exitLayers) {
        const reached = await model.runTo(state, layer);
        assert.equal(reached.count, PROMPT.length);
        const expected = ref.hidden[layer]!.flatMap((row) => Array.from(row));
        assert.ok(maxDiff(reached.hidden, expected) < 1e-4, `layer ${layer}: ${maxDiff(reached.hidden, expected)}`);
      }
      const last = await model.logits(new Float32Array(0));
      assert.equal(last.length, 0);
    });
  });
}

test('rotary frequencies: llama3 keeps short wavelengths, divides long ones, blends the band between', () => {
  // head_dim 8, theta 10000: 1, 0.1, 0.01, 0.001 (wavelengths 6.3, 62.8, 628, 6283). An original
  // context of 64 with low/high frequency factors 1 and 4 keeps wavelengths under 16 and divides
  // those over 64 by the factor (8); 62.83 lies between: smooth = (64 / 62.832 − 1) / 3 = 0.0061972.
  const spec = { headDim: 8, ropeTheta: 10000 };
  const llama3 = rotaryFrequencies({ ...spec, ropeScaling: { type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 64 } });
  const expected = [1, 0.1 * ((1 - 0.0061972) / 8 + 0.0061972), 0.01 / 8, 0.001 / 8];
  llama3.forEach((f, i) => assert.ok(Math.abs(f - expected[i]!) <= 1e-6 * expected[i]!, `frequency ${i}: ${f} against ${expected[i]}`));
  assert.deepEqual([...rotaryFrequencies({ ...spec, ropeScaling: { type: 'linear', factor: 4 } })], [...rotaryFrequencies(spec)].map((f) => Math.fround(f / 4)));
});

for (const fused of [false, true]) {
  test(`a llama3-scaled rotary gives the reference hidden states, which differ from plain RoPE's (${fused ? 'fused' : 'plain'} ops)`, async () => {
    // Wavelengths 6.3 / 62.8 / 628 / 6283 against an original context of 128 (kept under 32,
    // divided by 4 over 128): one kept, one blended, two divided, so the positions turn differently.
    const scaled: TinyLlamaShape = { ...GQA, ropeScaling: { type: 'llama3', factor: 4, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 128 } };
    const prompt = Array.from({ length: 40 }, (_, i) => (i * 7 + 3) % GQA.vocab);
    const ref = referenceForward(tinyLlamaCheckpoint(scaled), prompt);
    const plain = referenceForward(tinyLlamaCheckpoint(GQA), prompt);
    const last = (r: typeof ref): number[] => r.hidden[GQA.layers]!.flatMap((row) => Array.from(row));
    assert.ok(maxDiff(last(ref), last(plain)) > 1e-2, 'the scaling changes the result');
    await withModel(scaled, [3], fused, async (model) => {
      const state = model.newState();
      model.append(state, [prompt]);
      const out = await model.runTo(state, GQA.layers);
      const diff = maxDiff(out.hidden, last(ref));
      assert.ok(diff <= 1e-4, `max abs difference ${diff}`);
    });
  });
}

for (const fused of [false, true]) {
  test(`qwen3's per-head query/key norms give the reference hidden states and greedy tokens (${fused ? 'fused' : 'plain'} ops)`, async () => {
    const qwen3: TinyLlamaShape = { ...GQA, attentionBias: false, qkNorm: true, seed: 13 };
    const ckpt = tinyLlamaCheckpoint(qwen3);
    const ref = referenceForward(ckpt, PROMPT);
    const withoutNorms = referenceForward({ ...ckpt, config: { ...ckpt.config, qkNorm: false } }, PROMPT);
    const last = (r: typeof ref): number[] => r.hidden[GQA.layers]!.flatMap((row) => Array.from(row));
    assert.ok(maxDiff(last(ref), last(withoutNorms)) > 1e-2, 'the norms change the result');
    await withModel(qwen3, [2, 4], fused, async (model) => {
      const state = model.newState();
      model.append(state, [PROMPT]);
      for (const layer of model.exitLayers) {
        const out = await model.runTo(state, layer);
        const diff = maxDiff(out.hidden, ref.hidden[layer]!.flatMap((row) => Array.from(row)));
        assert.ok(diff <= 1e-4, `layer ${layer}: max abs difference ${diff}`);
      }
      // Generation reads only the newest position at the last layer (a rows run): the same tokens as the reference.
      const ids = [...PROMPT];
      const expected: number[] = [];
      for (let i = 0; i < 6; i++) {
        const logits = referenceForward(ckpt, ids).logits.at(-1)!;
        const next = logits.indexOf(Math.max(...logits));
        expected.push(next);
        ids.push(next);
      }
      const out = await generate(model, { prompts: [PROMPT], config: { maxNewTokens: 6, ignoreEos: true } });
      assert.deepEqual(out.rows[0]!.tokens, expected);
    });
  });
}

test('the model head gives the reference logits', async () => {
  const shape = { ...GQA, tied: true };
  const ref = referenceForward(tinyLlamaCheckpoint(shape), PROMPT);
  await withModel(shape, [3], false, async (model) => {
    const state = model.newState();
    model.append(state, [PROMPT]);
    const { hidden } = await model.runTo(state, 6);
    const logits = await model.logits(hidden);
    const expected = ref.logits.flatMap((row) => Array.from(row));
    assert.ok(maxDiff(logits, expected) < 1e-4, `logits differ by ${maxDiff(logits, expected)}`);
  });
});

test('exiting early for a span, then continuing at the last layer, equals running every layer for every token', async () => {
  const span = [13, 21, 34, 55];
  const tail = [7, 9];
  await withModel(GQA, [2, 4], false, async (model) => {
    // Every layer for every token.
    const full = model.newState();
    model.append(full, [PROMPT]);
    await model.runTo(full, 6);
    for (const t of [...span, ...tail]) {
      model.append(full, [[t]]);
      await model.runTo(full, 6);
    }
    const fullLast = await model.logits((await model.runTo(full, 6)).hidden);
    assert.equal(fullLast.length, 0, 'nothing is left to run');

    // The span stops at layer 2; the tail then needs layer 6, which catches the span up in one pass.
    const early = model.newState();
    model.append(early, [PROMPT]);
    await model.runTo(early, 6);
    for (const t of span) {
      model.append(early, [[t]]);
      const r = await model.runTo(early, 2);
      assert.equal(r.count, 1);
    }
    assert.equal(early.segments[1]!.pendingCount, span.length, 'the span waits at segment 2');
    const catchUp = [];
    for (const t of tail) {
      model.append(early, [[t]]);
      catchUp.push(await model.runTo(early, 6));
    }
    assert.equal(catchUp[0]!.count, span.length + 1, 'the span and the first tail token go through the deep segments together');
    assert.equal(catchUp[1]!.count, 1);

    // Compare the last-layer logits of the tail tokens with a fresh every-layer run.
    const reference = model.newState();
    model.append(reference, [[...PROMPT, ...span, ...tail]]);
    const all = await model.runTo(reference, 6);
    const H = model.config.hiddenSize;
    const tailRef = all.hidden.subarray((PROMPT.length + span.length) * H);
    const tailEarly = new Float32Array([...catchUp[0]!.hidden.subarray(span.length * H), ...catchUp[1]!.hidden]);
    const diff = maxDiff(await model.logits(tailEarly), await model.logits(tailRef));
    assert.ok(diff < 1e-4, `logits differ by ${diff}`);
    assert.equal(early.segments[2]!.cached, PROMPT.length + span.length + tail.length);
  });
});

test('a left-padded row in a batch gets the same hidden states as alone', async () => {
  const short = [9, 4, 33];
  await withModel(GQA, [3], false, async (model) => {
    const alone = model.newState();
    model.append(alone, [short]);
    const a = await model.runTo(alone, 6);
    model.append(alone, [[12]]);
    const a2 = await model.runTo(alone, 6);

    const batch = model.newState(2);
    model.append(batch, [PROMPT, short]);
    const b = await model.runTo(batch, 6);
    model.append(batch, [[12], [12]]);
    const b2 = await model.runTo(batch, 6);
    const H = model.config.hiddenSize;
    const width = PROMPT.length;
    const row1 = b.hidden.subarray((width + width - short.length) * H, 2 * width * H);
    assert.ok(maxDiff(row1, a.hidden) < 1e-4);
    assert.ok(maxDiff(b2.hidden.subarray(H, 2 * H), a2.hidden) < 1e-4);
  });
});

for (const fused of [false, true]) {
  test(`a rows run computes the last layer for the asked positions only, equal to a full run's (${fused ? 'fused' : 'plain'} ops)`, async () => {
    const short = [9, 4, 33];
    await withModel(GQA, [2, 4], fused, async (model) => {
      const H = model.config.hiddenSize;
      const full = model.newState(2);
      model.append(full, [PROMPT.slice(0, 2), PROMPT.slice(0, 2)]);
      await model.runTo(full, 6);
      const ended = full.fork();
      model.append(full, [PROMPT.slice(2), short]);
      const expected = await model.runTo(full, 6, { collectLayers: [2, 6] });

      const width = PROMPT.length - 2; // the short row is left-padded by 2 in this chunk
      const rows = [[4, 0, 2], [width - 1]]; // any order; the second row repeats its only index
      model.append(ended, [PROMPT.slice(2), short]);
      const before = model.compute.layerPositions;
      const got = await model.runTo(ended, 6, { collectLayers: [2, 6], rows });
      assert.equal(got.count, 3);
      assert.equal(model.compute.layerPositions - before, 2 * width * 6 - 2 * (width - 3), 'the last layer ran 3 rows per batch row');
      assert.ok(maxDiff(got.layers!.get(2)!, expected.layers!.get(2)!) < 1e-6, 'layers below the last run every position');
      const want = (b: number, i: number): Float32Array => expected.hidden.subarray((b * width + i) * H, (b * width + i + 1) * H);
      const picked = [want(0, 4), want(0, 0), want(0, 2), want(1, width - 1), want(1, width - 1), want(1, width - 1)];
      assert.ok(maxDiff(got.hidden, new Float32Array(picked.flatMap((r) => Array.from(r)))) < 1e-5, `rows differ by ${maxDiff(got.hidden, new Float32Array(picked.flatMap((r) => Array.from(r))))}`);
      assert.deepEqual(got.layers!.get(6), got.hidden);

      // The state kept no cache on the way, so nothing more can be done with it.
      assert.throws(() => model.append(ended, [[1], [1]]), /ended by a run with rows/);
      await assert.rejects(model.runTo(ended, 6), /ended by a run with rows/);
      assert.throws(() => ended.fork(), /ended by a run with rows/);
      const bad = model.newState();
      model.append(bad, [PROMPT]);
      await assert.rejects(model.runTo(bad, 4, { rows: [[PROMPT.length]] }), /row 0 asks for position 7 of the 7/);
    });
  });
}

for (const fused of [false, true]) {
  test(`every node of every graph, rows graphs included, runs on the test's provider (${fused ? 'fused' : 'plain'} ops)`, async () => {
    // strictDevice (disable_cpu_ep_fallback) makes a session fail to load when any node would land
    // on the CPU: trivially true there, the check that matters when npm test runs this on WebGPU.
    const model = await SegmentedModel.create(tinyLlamaCheckpoint(GQA), { cuts: [2, 4], provider: TEST_PROVIDER, threads: 1, fused, strictDevice: true });
    try {
      const state = model.newState();
      model.append(state, [PROMPT]);
      // A rows run at each segment's end opens that segment's rows graph (the last one's is its only graph).
      for (const layer of model.exitLayers) {
        const got = await model.runTo(state.fork(), layer, { rows: [[0, PROMPT.length - 1]] });
        assert.equal(got.count, 2, `layer ${layer}`);
      }
    } finally {
      await model.release();
    }
  });
}

for (const fused of [false, true]) {
  test(`reading only each row's newest position at the last layer keeps the state going, equal to full runs (${fused ? 'fused' : 'plain'} ops)`, async () => {
    const short = [9, 4, 33];
    await withModel(GQA, [2, 4], fused, async (model) => {
      const H = model.config.hiddenSize;
      const newestOf = (hidden: Float32Array, count: number): Float32Array =>
        new Float32Array([0, 1].flatMap((b) => Array.from(hidden.subarray(((b + 1) * count - 1) * H, (b + 1) * count * H))));
      // Every position through every layer.
      const full = model.newState(2);
      model.append(full, [PROMPT, short]);
      const first = await model.runTo(full, 6);
      const steps: Float32Array[] = [];
      for (const next of [[[12], [13]], [[14], [15]]]) {
        model.append(full, next);
        await model.runTo(full, 2); // the step stops early, then catches up below
        model.append(full, [[16], [17]]);
        const r = await model.runTo(full, 6);
        steps.push(newestOf(r.hidden, r.count));
      }

      const state = model.newState(2);
      model.append(state, [PROMPT, short]);
      const before = model.compute.layerPositions;
      const got = await model.runToNewest(state, 6);
      assert.equal(model.compute.layerPositions - before, 2 * PROMPT.length * 6 - 2 * (PROMPT.length - 1), 'the last layer ran one position per row');
      assert.ok(maxDiff(got!, newestOf(first.hidden, first.count)) < 1e-5);
      for (const [i, next] of [[[12], [13]], [[14], [15]]].entries()) {
        model.append(state, next);
        await model.runTo(state, 2);
        model.append(state, [[16], [17]]);
        const step = await model.runToNewest(state, 6);
        assert.ok(maxDiff(step!, steps[i]!) < 1e-5, `step ${i} differs by ${maxDiff(step!, steps[i]!)}: the caches were kept`);
      }
      assert.equal(await model.runToNewest(state, 6), undefined, 'nothing was pending');
      // Below the last layer every position is needed deeper, so only the last layer may keep a rows run's caches.
      model.append(state, [[1], [1]]);
      await assert.rejects(model.runTo(state, 4, { rows: 'newest', keep: true }), /keep goes with rows at the last layer \(6\), not at layer 4/);
      await assert.rejects(model.runTo(state, 6, { keep: true }), /keep goes with rows at the last layer \(6\), not without rows/);
    });
  });
}

test('a cancelled run stops between segments and the state stays usable', async () => {
  await withModel(GQA, [2, 4], false, async (model) => {
    const state = model.newState();
    model.append(state, [PROMPT]);
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(model.runTo(state, 6, controller.signal), CancelledError);
    const r = await model.runTo(state, 6);
    assert.equal(r.count, PROMPT.length);
  });
});

test('segment cuts are validated and an unknown exit layer is refused', async () => {
  assert.deepEqual(segmentBounds(6, [4, 2]), [
    [0, 2],
    [2, 4],
    [4, 6],
  ]);
  assert.throws(() => segmentBounds(6, [6]), /cut 6 must be a layer in 1\.\.5/);
  await withModel(GQA, [2], false, async (model) => {
    const state = model.newState();
    model.append(state, [PROMPT]);
    await assert.rejects(model.runTo(state, 3), /layer 3 is not an exit layer \(exits: 2, 6\)/);
    assert.throws(() => model.append(state, [[999]]), /token id 999 is outside the vocabulary/);
  });
});

test('readout at every layer gives the own head of each layer\'s hidden state', async () => {
  const ckpt = tinyLlamaCheckpoint(GQA);
  const ref = referenceForward(ckpt, PROMPT);
  await withModel(GQA, [2, 4], false, async (model) => {
    const readouts = await readoutAllLayers(model, PROMPT, { topK: 3 });
    assert.deepEqual(readouts.map((r) => r.layer), [0, 1, 2, 3, 4, 5, 6]);
    for (const r of readouts) {
      const hidden = Float32Array.from(ref.hidden[r.layer]!.at(-1)!);
      const expected = topTokens(await model.logits(hidden), 3);
      assert.deepEqual(r.top.map((t) => t.id), expected.map((t) => t.id), `layer ${r.layer}`);
      assert.ok(Math.abs(r.top[0]!.probability - expected[0]!.probability) < 1e-4);
      assert.ok(r.top[0]!.probability >= r.top[1]!.probability);
    }
    // The last layer's readout is the model's own next-token distribution.
    const lastLogits = Float32Array.from(ref.logits.at(-1)!);
    assert.equal(readouts[6]!.top[0]!.id, topTokens(lastLogits, 1)[0]!.id);
  });
});

test('a model cut elsewhere takes over the head and tables of the same checkpoint, only where they fit, and the head outlives its first model', async () => {
  const shape: TinyLlamaShape = { layers: 4, hidden: 16, heads: 2, kvHeads: 1, intermediate: 24, vocab: 31, seed: 4 };
  const open = (cuts: number[], extra: { shared?: ReturnType<SegmentedModel['shareParts']>; headPrecision?: 'int8'; seed?: number } = {}): Promise<SegmentedModel> =>
    SegmentedModel.create(tinyLlamaCheckpoint({ ...shape, seed: extra.seed ?? shape.seed }), { cuts, provider: TEST_PROVIDER, threads: 1, fused: true, shared: extra.shared, headPrecision: extra.headPrecision });
  const logitsOf = async (model: SegmentedModel): Promise<Float32Array> => {
    const state = model.newState();
    model.append(state, [[3, 1, 4, 1, 5]]);
    return model.logits((await model.runTo(state, shape.layers)).hidden);
  };
  const first = await open([2]);
  const expected = await logitsOf(first);
  const parts = first.shareParts();
  const moved = await open([1, 3], { shared: parts });
  const int8 = await open([1], { shared: parts, headPrecision: 'int8' });
  const other = await open([1], { shared: parts, seed: 9 });
  await parts.head.release();
  try {
    assert.equal(moved.ownHead, first.ownHead, 'the same checkpoint, device and head: taken over');
    assert.notEqual(int8.ownHead, first.ownHead, 'another head precision: its own head');
    assert.notEqual(other.ownHead, first.ownHead, 'another checkpoint: its own head');
    await first.release();
    assert.equal(first.ownHead['holders'], 1, 'the model that took it over still holds it');
    const got = await logitsOf(moved);
    assert.ok(got.every((v, i) => Math.abs(v - expected[i]!) < 1e-5), 'and it computes what the first model did');
  } finally {
    await Promise.all([first.release(), moved.release(), int8.release(), other.release()]);
  }
  assert.equal(first.ownHead['holders'], 0, 'freed with its last holder');
});

test('a load that fails part way releases every session it had opened, then rethrows', async () => {
  const create = Session.create.bind(Session);
  const open = new Set<Session>();
  let calls = 0;
  const counted = async (...args: Parameters<typeof Session.create>): Promise<Session> => {
    // The third session fails, as a device out of memory on a later segment does.
    if (++calls === 3) throw new Error('simulated: out of device memory');
    const session = await create(...args);
    open.add(session);
    const release = session.release.bind(session);
    session.release = () => {
      open.delete(session);
      return release();
    };
    return session;
  };
  Session.create = counted;
  try {
    await assert.rejects(SegmentedModel.create(tinyLlamaCheckpoint(GQA), { cuts: [2, 4], provider: TEST_PROVIDER, threads: 1, fused: true }), /simulated: out of device memory/);
  } finally {
    Session.create = create;
  }
  assert.equal(calls, 3);
  assert.equal(open.size, 0, `${open.size} sessions left open`);
});

test('a rows session that fails to open is tried again by the next run, and release() frees the rest', async () => {
  const model = await SegmentedModel.create(tinyLlamaCheckpoint(GQA), { cuts: [2, 4], provider: TEST_PROVIDER, threads: 1, fused: true });
  const create = Session.create.bind(Session);
  const exitRun = async (): Promise<void> => {
    const state = model.newState(1);
    model.append(state, [PROMPT]);
    // An exit at layer 2 with rows: segment 0-2's rows graph, opened the first time it is asked for.
    await model.runTo(state, 2, { rows: [[0, 1]] });
  };
  Session.create = () => Promise.reject(new Error('simulated: out of device memory'));
  try {
    await assert.rejects(exitRun(), /simulated: out of device memory/);
  } finally {
    Session.create = create;
  }
  await exitRun();
  await model.release();
});

test('a release during a generation\'s head call waits for it; the generation then fails with the engine\'s message', async () => {
  const model = await SegmentedModel.create(tinyLlamaCheckpoint(GQA), { cuts: [2], provider: TEST_PROVIDER, threads: 1, fused: true });
  const head = model.ownHead;
  const logits = head.logits.bind(head);
  let released: Promise<void> | undefined;
  let calls = 0;
  head.logits = (hidden) => {
    const running = logits(hidden);
    // While this call runs, as the server releases a model on a settings change (here at once,
    // the hardest case: before the call could have been counted after it started).
    if (++calls === 3) released = model.release();
    return running;
  };
  await assert.rejects(generate(model, { prompts: [PROMPT], config: { maxNewTokens: 20, ignoreEos: true } }), /this model was released \(closed, or replaced after a settings change\); load it again/);
  await released;
  assert.equal(calls, 3);
});

test('an append refused for an id outside the vocabulary leaves the state as it was', async () => {
  await withModel(GQA, [2], true, async (model) => {
    const state = model.newState();
    model.append(state, [PROMPT.slice(0, 2)]);
    assert.throws(() => model.append(state, [[1, GQA.vocab + 5]]), /token id 66 is outside the vocabulary \(0\.\.60\)/);
    assert.throws(() => model.appendTree(state, [3, -1], [-1, 0]), /token id -1 is outside the vocabulary/);
    assert.equal(state.length, 2);
    state.release();
    await Promise.resolve();
  });
});
