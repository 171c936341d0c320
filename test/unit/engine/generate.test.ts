// Generation on the segmented model: greedy output equals the JavaScript reference's, sampling
// is reproducible by seed, stops and streaming behave, cancellation returns what was made, and
// a padded batch gives each row what it would get alone.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { generate, TokenEvent } from '../../../engine/src/generate/generator';
import { rankByProbability, softmax, topK, topP } from '../../../engine/src/generate/logitsProcessors';
import { argmax, Sampler } from '../../../engine/src/generate/sampler';
import { SegmentedModel } from '../../../engine/src/model/segmentedModel';
import { referenceForward } from '../../support/referenceLlama';
import { tinyLlamaCheckpoint, TinyLlamaShape } from '../../support/memoryCheckpoint';

const SHAPE: TinyLlamaShape = { layers: 4, hidden: 32, heads: 4, kvHeads: 1, intermediate: 40, vocab: 53, seed: 11 };
const PROMPT = [4, 8, 15, 16, 23, 42];
// A toy decoder for text-level features: token t is the letter at t mod 26.
const decode = (ids: number[]): string => ids.map((t) => String.fromCharCode(97 + (t % 26))).join('');

let shared: Promise<SegmentedModel> | undefined;
function model(): Promise<SegmentedModel> {
  shared ??= SegmentedModel.create(tinyLlamaCheckpoint(SHAPE), { cuts: [2], provider: 'cpu', threads: 1, fused: true });
  return shared;
}

test.after(async () => {
  await (await model()).release();
});

test('greedy generation gives the reference greedy tokens', async () => {
  const ckpt = tinyLlamaCheckpoint(SHAPE);
  const ids = [...PROMPT];
  const expected: number[] = [];
  for (let i = 0; i < 12; i++) {
    const { logits } = referenceForward(ckpt, ids);
    const next = argmax(Float32Array.from(logits.at(-1)!));
    expected.push(next);
    ids.push(next);
  }
  const result = await generate(await model(), { prompts: [PROMPT], config: { maxNewTokens: 12, ignoreEos: true } });
  assert.deepEqual(result.rows[0]!.tokens, expected);
  assert.equal(result.rows[0]!.stop, 'maxTokens');
});

test('the same seed samples the same tokens, another seed others', async () => {
  const m = await model();
  const run = async (seed: number): Promise<number[]> =>
    (await generate(m, { prompts: [PROMPT], config: { maxNewTokens: 16, temperature: 1.5, seed, ignoreEos: true } })).rows[0]!.tokens;
  const a = await run(1);
  assert.deepEqual(await run(1), a);
  assert.notDeepEqual(await run(2), a);
});

test('top-k 1 and a tiny top-p sample the argmax', async () => {
  const m = await model();
  const greedy = (await generate(m, { prompts: [PROMPT], config: { maxNewTokens: 8, ignoreEos: true } })).rows[0]!.tokens;
  const k1 = (await generate(m, { prompts: [PROMPT], config: { maxNewTokens: 8, temperature: 2, topK: 1, seed: 5, ignoreEos: true } })).rows[0]!.tokens;
  const p0 = (await generate(m, { prompts: [PROMPT], config: { maxNewTokens: 8, temperature: 2, topP: 1e-9, seed: 5, ignoreEos: true } })).rows[0]!.tokens;
  assert.deepEqual(k1, greedy);
  assert.deepEqual(p0, greedy);
});

test('stop tokens, stop strings and the budget end a row, and every token is streamed', async () => {
  const m = await model();
  const free = (await generate(m, { prompts: [PROMPT], config: { maxNewTokens: 10, ignoreEos: true }, decode })).rows[0]!;
  const stopAt = free.tokens[3]!;
  const firstIndex = free.tokens.indexOf(stopAt);
  const byToken = (await generate(m, { prompts: [PROMPT], config: { maxNewTokens: 10, stopTokenIds: [stopAt], ignoreEos: true } })).rows[0]!;
  assert.equal(byToken.stop, 'stopToken');
  assert.deepEqual(byToken.tokens, free.tokens.slice(0, firstIndex + 1));

  const stopString = free.text!.slice(4, 6);
  const events: TokenEvent[] = [];
  const byString = (await generate(m, { prompts: [PROMPT], config: { maxNewTokens: 10, stopStrings: [stopString], ignoreEos: true }, decode, onToken: (e) => events.push(e) })).rows[0]!;
  assert.equal(byString.stop, 'stopString');
  assert.equal(byString.text, free.text!.slice(0, free.text!.indexOf(stopString)));
  assert.equal(events.length, byString.tokens.length);
  assert.equal(events.map((e) => e.text).join(''), decode(byString.tokens));
  assert.ok(events.every((e) => e.layer === 4 && e.row === 0));
});

test('a cancel returns the tokens made so far and leaves the model usable', async () => {
  const m = await model();
  const controller = new AbortController();
  let count = 0;
  const result = await generate(m, {
    prompts: [PROMPT],
    config: { maxNewTokens: 50, ignoreEos: true },
    signal: controller.signal,
    onToken: () => {
      if (++count === 3) controller.abort();
    },
  });
  assert.equal(result.rows[0]!.stop, 'cancelled');
  assert.equal(result.rows[0]!.tokens.length, 3);
  const after = await generate(m, { prompts: [PROMPT], config: { maxNewTokens: 2, ignoreEos: true } });
  assert.equal(after.rows[0]!.tokens.length, 2);
});

test('each row of a padded batch generates what it generates alone', async () => {
  const m = await model();
  const prompts = [PROMPT, [9, 3], [30, 31, 32, 33]];
  const batch = await generate(m, { prompts, config: { maxNewTokens: 6, ignoreEos: true } });
  for (const [i, p] of prompts.entries()) {
    const alone = await generate(m, { prompts: [p], config: { maxNewTokens: 6, ignoreEos: true } });
    assert.deepEqual(batch.rows[i]!.tokens, alone.rows[0]!.tokens, `row ${i}`);
  }
});

test('decoding from an early exit layer, then continuing the same state at the last layer', async () => {
  const m = await model();
  const thought = await generate(m, { prompts: [PROMPT], layer: 2, config: { maxNewTokens: 5, ignoreEos: true } });
  assert.equal(thought.rows[0]!.tokens.length, 5);
  // The prompt and the first four thought tokens ran only to layer 2 and wait at the deep
  // segment; the fifth was sampled last, so it is appended but has not run at all.
  assert.equal(thought.state.segments[1]!.pendingCount, PROMPT.length + 4);
  assert.equal(thought.state.segments[0]!.pendingCount, 1);
  const answer = await generate(m, { prompts: [[]], state: thought.state, config: { maxNewTokens: 3, ignoreEos: true } });
  assert.equal(answer.rows[0]!.tokens.length, 3);
  // The same tokens run at full depth from scratch give the same answer.
  const replay = await generate(m, { prompts: [[...PROMPT, ...thought.rows[0]!.tokens]], config: { maxNewTokens: 3, ignoreEos: true } });
  assert.deepEqual(answer.rows[0]!.tokens, replay.rows[0]!.tokens);
});

test('bad generation settings name the field', async () => {
  const m = await model();
  await assert.rejects(generate(m, { prompts: [PROMPT], config: { topP: 0 } }), /topP must be in \(0, 1\], got 0/);
  await assert.rejects(generate(m, { prompts: [PROMPT], config: { temperature: -1 } }), /temperature must be a finite number ≥ 0/);
  await assert.rejects(generate(m, { prompts: [[]] }), /a prompt is empty/);
});

test('logits processors keep the right tokens with the right mass', () => {
  const probs = softmax(Float32Array.from([2, 1, 0, 3]));
  const ranked = rankByProbability(probs);
  assert.deepEqual(Array.from(ranked), [3, 0, 1, 2]);
  const k2 = topK(probs, 2, ranked);
  assert.ok(Math.abs(k2[3]! + k2[0]! - 1) < 1e-12 && k2[1] === 0 && k2[2] === 0);
  const p = topP(probs, 0.7, ranked); // p(3) ≈ 0.644 < 0.7, so token 0 joins
  assert.ok(p[3]! > 0 && p[0]! > 0 && p[1] === 0 && p[2] === 0);
  assert.equal(new Sampler({ temperature: 0, topK: 0, topP: 1, seed: 0 }).next(Float32Array.from([0, 5, 5])), 1);
});
