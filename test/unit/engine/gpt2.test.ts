// GPT-2 graphs against a plain JavaScript forward pass: every exit layer, the tied head, and
// learned positions staying right across early exit and padding.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { generate } from '../../../engine/src/generate/generator';
import { SegmentedModel } from '../../../engine/src/model/segmentedModel';
import { tinyGpt2Checkpoint } from '../../support/memoryCheckpoint';
import { referenceGpt2 } from '../../support/referenceGpt2';

const SHAPE = { layers: 4, hidden: 24, heads: 3, vocab: 47, positions: 32, seed: 5 };
const PROMPT = [3, 14, 15, 9, 26, 5];

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

test('GPT-2 hidden states and logits match the reference at every exit layer', async () => {
  const ckpt = tinyGpt2Checkpoint(SHAPE);
  const ref = referenceGpt2(ckpt, PROMPT);
  const model = await SegmentedModel.create(ckpt, { cuts: [1, 3], provider: 'cpu', threads: 1, fused: false });
  try {
    const state = model.newState();
    model.append(state, [PROMPT]);
    for (const layer of model.exitLayers) {
      const r = await model.runTo(state, layer);
      const diff = maxDiff(r.hidden, ref.hidden[layer]!.flatMap((row) => Array.from(row)));
      assert.ok(diff < 1e-4, `layer ${layer}: ${diff}`);
      if (layer === 4) {
        const logitsDiff = maxDiff(await model.logits(r.hidden), ref.logits.flatMap((row) => Array.from(row)));
        assert.ok(logitsDiff < 1e-4, `logits: ${logitsDiff}`);
      }
    }
    // A rows run: the last block for two positions only, the same as the full run's.
    const rowsState = model.newState();
    model.append(rowsState, [PROMPT]);
    const rows = await model.runTo(rowsState, 4, { rows: [[5, 1]] });
    const want = [5, 1].flatMap((i) => Array.from(ref.hidden[4]![i]!));
    assert.ok(maxDiff(rows.hidden, want) < 1e-4, `rows: ${maxDiff(rows.hidden, want)}`);

    // Padded batch: the short row must see its own positions 0.. despite the padding before it.
    const batch = await generate(model, { prompts: [PROMPT, [7, 8]], config: { maxNewTokens: 4, ignoreEos: true } });
    const alone = await generate(model, { prompts: [[7, 8]], config: { maxNewTokens: 4, ignoreEos: true } });
    assert.deepEqual(batch.rows[1]!.tokens, alone.rows[0]!.tokens);

    // The context (32 learned positions) is a hard limit: a longer prompt is refused, and
    // generation that reaches it stops with a reason instead of reading past the table.
    const long = Array.from({ length: 33 }, (_, i) => i % 40);
    assert.throws(() => model.append(model.newState(), [long]), /needs 33 positions but the model's context is 32/);
    const full = await generate(model, { prompts: [PROMPT], config: { maxNewTokens: 100, ignoreEos: true } });
    assert.equal(full.rows[0]!.stop, 'contextFull');
    assert.equal(full.rows[0]!.tokens.length, 32 - PROMPT.length + 1);
  } finally {
    await model.release();
  }
});
