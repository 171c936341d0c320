// Parity with Hugging Face transformers: every fixture folder under test/fixtures/parity was
// written by tools/parity/makeFixtures.py. The engine must reproduce transformers' hidden state
// after every layer and its last-layer logits (max abs difference ≤ 1e-4 in fp32) and its 32
// greedy tokens exactly.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { SafetensorsFile } from '../../../engine/src/checkpoint/safetensors';
import { Engine } from '../../../engine/src/index';
import { generate } from '../../../engine/src/generate/generator';
import { TEST_PROVIDER } from '../../support/testDevice';

// HDLM_PARITY_FIXTURES points at another set (made with another transformers version) to compare first.
const shippedDir = resolve(__dirname, '..', '..', '..', '..', 'test', 'fixtures', 'parity');
const fixturesDir = process.env['HDLM_PARITY_FIXTURES'] ?? shippedDir;
const fixtures = existsSync(fixturesDir) ? readdirSync(fixturesDir).filter((d) => existsSync(join(fixturesDir, d, 'reference.json'))) : [];
/** The committed fixtures, as README.md and test/fixtures/parity/README.md list them. */
const SHIPPED = ['gpt2', 'llama', 'llama-bf16-sharded', 'llama-gqa-fp16', 'mistral', 'qwen2'];

interface Reference {
  prompts: number[][];
  greedy: number[][];
  /** Greedy under transformers' repetition penalty and n-gram ban (fixtures made since 2026-12-05). */
  greedy_controlled?: { repetition_penalty: number; no_repeat_ngram_size: number; ids: number[][] };
  transformers: string;
}

// A missing or emptied folder fails here rather than leaving nothing to compare: the fixtures are
// committed, and the README's parity claim rests on all six of them.
test('the six parity fixtures the README names are present', () => {
  assert.ok(fixtures.length > 0, `no parity fixtures in ${fixturesDir} (the committed ones are made by tools/parity/makeFixtures.py)`);
  if (fixturesDir === shippedDir) assert.deepEqual([...fixtures].sort(), SHIPPED);
  else for (const name of SHIPPED) assert.ok(fixtures.includes(name), `${fixturesDir} lacks ${name}: it has ${fixtures.join(', ')}`);
});

for (const name of fixtures) {
  test(`${name}: every layer, the logits and the greedy tokens match transformers`, async (t) => {
    const dir = join(fixturesDir, name);
    const reference = JSON.parse(readFileSync(join(dir, 'reference.json'), 'utf8')) as Reference;
    const tensors = SafetensorsFile.open(join(dir, 'reference.safetensors'));
    const cacheDir = mkdtempSync(join(tmpdir(), 'hdlm-parity-'));
    const engine = await Engine.create({ providers: [TEST_PROVIDER], threads: 1 });
    const loaded = await engine.loadModel(dir, { cacheDir });
    // On another provider the test must run there, not on the CPU fallback.
    assert.equal(loaded.model.provider, TEST_PROVIDER, JSON.stringify({ fallbacks: engine.info().fallbacks, model: loaded.deviceFallback }));
    try {
      const { numLayers: L, hiddenSize: H } = loaded.checkpoint.config;
      const cuts = Array.from({ length: L - 1 }, (_, i) => i + 1);
      let worst = 0;
      let worstLogits = 0;
      const everyLayer = await engine.loadModel(dir, { cacheDir, cuts });
      try {
        for (const [p, ids] of reference.prompts.entries()) {
          const expected = tensors.read(`prompt${p}.hidden`); // [L+1, S, H]
          const state = everyLayer.model.newState();
          everyLayer.model.append(state, [ids]);
          const { layers } = await everyLayer.model.runTo(state, L, { collectLayers: true });
          for (let k = 0; k <= L; k++) {
            const ours = layers!.get(k)!;
            const theirs = expected.subarray(k * ids.length * H, (k + 1) * ids.length * H);
            const diff = ours.reduce((m, v, i) => Math.max(m, Math.abs(v - theirs[i]!)), 0);
            assert.ok(diff <= 1e-4, `prompt ${p}, layer ${k}: max abs difference ${diff}`);
            worst = Math.max(worst, diff);
          }
          // The model's own head (final norm + unembedding) on the last layer: transformers' logits.
          const logits = await everyLayer.model.ownHead.logits(layers!.get(L)!);
          const expectedLogits = tensors.read(`prompt${p}.logits`); // [S, V]
          const logitDiff = logits.reduce((m, v, i) => Math.max(m, Math.abs(v - expectedLogits[i]!)), 0);
          assert.equal(logits.length, expectedLogits.length);
          assert.ok(logitDiff <= 1e-4, `prompt ${p}, logits: max abs difference ${logitDiff}`);
          worstLogits = Math.max(worstLogits, logitDiff);
        }
        t.diagnostic(`largest difference over all layers and prompts: ${worst.toExponential(2)}; logits ${worstLogits.toExponential(2)}`);
      } finally {
        await everyLayer.release();
      }
      for (const [p, ids] of reference.prompts.entries()) {
        const out = await generate(loaded.model, { prompts: [ids], config: { maxNewTokens: reference.greedy[p]!.length, ignoreEos: true } });
        assert.deepEqual(out.rows[0]!.tokens, reference.greedy[p], `prompt ${p} greedy tokens (transformers ${reference.transformers})`);
      }
      const controlled = reference.greedy_controlled;
      if (controlled) {
        const config = { repetitionPenalty: controlled.repetition_penalty, noRepeatNgramSize: controlled.no_repeat_ngram_size, ignoreEos: true };
        for (const [p, ids] of reference.prompts.entries()) {
          const out = await generate(loaded.model, { prompts: [ids], config: { ...config, maxNewTokens: controlled.ids[p]!.length } });
          assert.deepEqual(out.rows[0]!.tokens, controlled.ids[p], `prompt ${p} greedy tokens under the repetition controls (transformers ${reference.transformers})`);
        }
      }
    } finally {
      await loaded.release();
      rmSync(cacheDir, { recursive: true, force: true });
    }
  });
}
