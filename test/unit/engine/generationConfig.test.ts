// How a generation's settings are resolved: what the caller asked for, over the checkpoint's
// generation_config.json read as transformers reads it, over the engine's defaults.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UNSET_GENERATION } from '../../../engine/src/checkpoint/checkpoint';
import type { GenerationDefaults } from '../../../engine/src/checkpoint/types';
import { DEFAULTS, resolveGenerationConfig } from '../../../engine/src/generate/config';

const NONE: GenerationDefaults = { eosTokenIds: [2], bosTokenId: 1, padTokenId: 0, ...UNSET_GENERATION };
// What Qwen2.5-0.5B-Instruct's generation_config.json says.
const QWEN: GenerationDefaults = { ...NONE, doSample: true, temperature: 0.7, topP: 0.8, topK: 20, repetitionPenalty: 1.1 };

test('without a generation_config.json the engine defaults hold: greedy, 64 tokens, no penalty', () => {
  const r = resolveGenerationConfig(NONE, {});
  assert.deepEqual(r.config, DEFAULTS);
  assert.deepEqual(r.sources, {});
  assert.deepEqual(r.notes, []);
});

test('a sampling checkpoint samples with its own settings until the caller says otherwise', () => {
  const r = resolveGenerationConfig(QWEN, {});
  assert.deepEqual([r.config.temperature, r.config.topK, r.config.topP, r.config.repetitionPenalty], [0.7, 20, 0.8, 1.1]);
  assert.equal(r.sources.temperature, 'generation_config.json');
  // Greedy on request; the file's repetition penalty still applies, as in transformers.
  const greedy = resolveGenerationConfig(QWEN, { temperature: 0, maxNewTokens: 8, topK: undefined });
  assert.deepEqual([greedy.config.temperature, greedy.config.repetitionPenalty, greedy.config.maxNewTokens], [0, 1.1, 8]);
  assert.deepEqual([greedy.sources.temperature, greedy.sources.repetitionPenalty, greedy.sources.topK], ['asked', 'generation_config.json', 'generation_config.json']);
  const own = resolveGenerationConfig(QWEN, { repetitionPenalty: 1, topP: 0.5 });
  assert.deepEqual([own.config.repetitionPenalty, own.config.topP, own.config.temperature], [1, 0.5, 0.7]);
});

test('do_sample true leaves out nothing: absent fields take transformers defaults', () => {
  const r = resolveGenerationConfig({ ...NONE, doSample: true }, {});
  assert.deepEqual([r.config.temperature, r.config.topK, r.config.topP], [1, 50, 1]);
});

test('without do_sample the file decodes greedily and says what it ignored', () => {
  const r = resolveGenerationConfig({ ...NONE, temperature: 0.6, topP: 0.9, maxNewTokens: 100, noRepeatNgramSize: 3 }, {});
  assert.deepEqual([r.config.temperature, r.config.topP, r.config.maxNewTokens, r.config.noRepeatNgramSize], [0, 1, 100, 3]);
  assert.deepEqual(r.notes, ['generation_config.json: temperature, top_p ignored without "do_sample": true (greedy, as transformers decodes)']);
  const off = resolveGenerationConfig({ ...NONE, doSample: false }, {});
  assert.equal(off.sources.temperature, 'generation_config.json');
  assert.deepEqual(off.notes, []);
});

test('beam search in the file and sampling flags under greedy are reported, not silently dropped', () => {
  const beams = resolveGenerationConfig({ ...NONE, numBeams: 4 }, {});
  assert.match(beams.notes.join('\n'), /"num_beams": 4 not followed/);
  assert.deepEqual(resolveGenerationConfig({ ...NONE, numBeams: 1 }, {}).notes, []);
  const flags = resolveGenerationConfig(NONE, { topK: 5, topP: 0.5 });
  assert.deepEqual(flags.notes, ['topK and topP ignored: decoding is greedy (temperature 0)']);
  assert.deepEqual(resolveGenerationConfig(NONE, { topK: 5, temperature: 1 }).notes, []);
});

test("max_length bounds prompt and output together unless max_new_tokens is set, in the file or asked", () => {
  const long = resolveGenerationConfig({ ...NONE, maxLength: 4096 }, {});
  assert.deepEqual([long.config.maxLength, long.config.maxNewTokens, long.sources.maxLength], [4096, 4096, 'generation_config.json']);
  const both = resolveGenerationConfig({ ...NONE, maxLength: 4096, maxNewTokens: 100 }, {});
  assert.deepEqual([both.config.maxLength, both.config.maxNewTokens], [0, 100]);
  const asked = resolveGenerationConfig({ ...NONE, maxLength: 4096 }, { maxNewTokens: 8 });
  assert.deepEqual([asked.config.maxLength, asked.config.maxNewTokens, asked.sources.maxLength], [0, 8, undefined]);
});

test('a bad request names its field', () => {
  assert.throws(() => resolveGenerationConfig(NONE, { repetitionPenalty: -1 }), /generation: repetitionPenalty must be a finite number > 0, got -1/);
  assert.throws(() => resolveGenerationConfig(QWEN, { topP: 2 }), /generation: topP must be in \(0, 1\], got 2/);
});
