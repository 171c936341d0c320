// Checkpoint import: config.json of each supported model_type (real field names and values of
// published models), loading tiny random-weight folders of every family and dtype, one error
// listing every missing or mis-shaped tensor, NaN/inf detection, generation_config.json, the
// memoised fingerprint, the tokenizer wrapper and the tiny-checkpoint test helper itself.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { CheckpointError, loadCheckpoint, type LoadOptions } from '../../../engine/src/checkpoint/checkpoint';
import { parseModelConfig, readModelConfig, ROTARY_POSITION_LIMIT } from '../../../engine/src/checkpoint/config';
import { expectedTensors } from '../../../engine/src/checkpoint/expectedTensors';
import { writeSafetensors, type TensorToWrite } from '../../../engine/src/checkpoint/safetensors';
import type { DTypeName } from '../../../engine/src/checkpoint/types';
import { Tokenizer } from '../../../engine/src/tokenizer';
import { TINY_TOKENIZER_SIZE, tinyTokenizerJson, writeTinyCheckpoint, type TinyCheckpoint } from '../../support/tinyCheckpoint';

const root = mkdtempSync(join(tmpdir(), 'hdlm-checkpoint-'));
after(() => rmSync(root, { recursive: true, force: true }));
const freshDir = (): string => mkdtempSync(join(root, 'case-'));

/** Options that keep the fingerprint memo inside this test's folder. */
function isolated(extra: LoadOptions = {}): LoadOptions {
  return { cacheDir: freshDir(), ...extra };
}

const CONFIG_PATH = '/models/x/config.json';
const parse = (text: string) => parseModelConfig(JSON.parse(text) as Record<string, unknown>, CONFIG_PATH);

// ---- config.json ------------------------------------------------------------------------------

// TinyLlama-1.1B-Chat-v1.0: GQA (32 query heads, 4 key/value heads), untied.
const TINYLLAMA = `{
  "architectures": ["LlamaForCausalLM"], "attention_bias": false, "bos_token_id": 1, "eos_token_id": 2,
  "hidden_act": "silu", "hidden_size": 2048, "initializer_range": 0.02, "intermediate_size": 5632,
  "max_position_embeddings": 2048, "model_type": "llama", "num_attention_heads": 32, "num_hidden_layers": 22,
  "num_key_value_heads": 4, "pretraining_tp": 1, "rms_norm_eps": 1e-05, "rope_scaling": null, "rope_theta": 10000.0,
  "tie_word_embeddings": false, "torch_dtype": "bfloat16", "transformers_version": "4.35.0", "use_cache": true,
  "vocab_size": 32000
}`;

// Qwen2.5-0.5B-Instruct: GQA (14/2), q/k/v biases, tied embeddings, a large rope_theta.
const QWEN25 = `{
  "architectures": ["Qwen2ForCausalLM"], "attention_dropout": 0.0, "bos_token_id": 151643, "eos_token_id": 151645,
  "hidden_act": "silu", "hidden_size": 896, "initializer_range": 0.02, "intermediate_size": 4864,
  "max_position_embeddings": 32768, "max_window_layers": 21, "model_type": "qwen2", "num_attention_heads": 14,
  "num_hidden_layers": 24, "num_key_value_heads": 2, "rms_norm_eps": 1e-06, "rope_theta": 1000000.0,
  "sliding_window": 32768, "tie_word_embeddings": true, "torch_dtype": "bfloat16", "transformers_version": "4.43.1",
  "use_cache": true, "use_sliding_window": false, "vocab_size": 151936
}`;

// Qwen3-0.6B: per-head q/k RMS norms, head_dim 128 (not hidden_size / heads = 64), tied, no biases.
const QWEN3 = `{
  "architectures": ["Qwen3ForCausalLM"], "attention_bias": false, "attention_dropout": 0.0, "bos_token_id": 151643,
  "eos_token_id": 151645, "head_dim": 128, "hidden_act": "silu", "hidden_size": 1024, "initializer_range": 0.02,
  "intermediate_size": 3072, "max_position_embeddings": 40960, "max_window_layers": 28, "model_type": "qwen3",
  "num_attention_heads": 16, "num_hidden_layers": 28, "num_key_value_heads": 8, "rms_norm_eps": 1e-06,
  "rope_scaling": null, "rope_theta": 1000000, "sliding_window": null, "tie_word_embeddings": true,
  "torch_dtype": "bfloat16", "transformers_version": "4.51.0", "use_cache": true, "use_sliding_window": false,
  "vocab_size": 151936
}`;

// Mistral-7B-v0.1: a 4096-token sliding window in a 32768-position model.
const MISTRAL = `{
  "architectures": ["MistralForCausalLM"], "bos_token_id": 1, "eos_token_id": 2, "hidden_act": "silu",
  "hidden_size": 4096, "initializer_range": 0.02, "intermediate_size": 14336, "max_position_embeddings": 32768,
  "model_type": "mistral", "num_attention_heads": 32, "num_hidden_layers": 32, "num_key_value_heads": 8,
  "rms_norm_eps": 1e-05, "rope_theta": 10000.0, "sliding_window": 4096, "tie_word_embeddings": false,
  "torch_dtype": "bfloat16", "transformers_version": "4.34.0.dev0", "use_cache": true, "vocab_size": 32000
}`;

// openai-community/gpt2.
const GPT2 = `{
  "activation_function": "gelu_new", "architectures": ["GPT2LMHeadModel"], "attn_pdrop": 0.1, "bos_token_id": 50256,
  "embd_pdrop": 0.1, "eos_token_id": 50256, "initializer_range": 0.02, "layer_norm_epsilon": 1e-05,
  "model_type": "gpt2", "n_ctx": 1024, "n_embd": 768, "n_head": 12, "n_layer": 12, "n_positions": 1024,
  "resid_pdrop": 0.1, "summary_activation": null, "summary_first_dropout": 0.1, "summary_proj_to_labels": true,
  "summary_type": "cls_index", "summary_use_proj": true,
  "task_specific_params": { "text-generation": { "do_sample": true, "max_length": 50 } }, "vocab_size": 50257
}`;

/** A published config with some fields replaced (undefined deletes one). */
function variant(text: string, changes: Record<string, unknown>): string {
  const json = JSON.parse(text) as Record<string, unknown>;
  for (const [key, value] of Object.entries(changes)) {
    if (value === undefined) delete json[key];
    else json[key] = value;
  }
  return JSON.stringify(json);
}

test('a Llama config (TinyLlama) is read with grouped-query attention', () => {
  assert.deepEqual(parse(TINYLLAMA), {
    modelType: 'llama',
    family: 'llama',
    vocabSize: 32000,
    hiddenSize: 2048,
    numLayers: 22,
    numHeads: 32,
    numKvHeads: 4,
    headDim: 64,
    intermediateSize: 5632,
    normEps: 1e-5,
    ropeTheta: 10000,
    maxPositions: 2048,
    maxPositionsFrom: 'max_position_embeddings',
    attentionBias: false,
    tieWordEmbeddings: false,
    activation: 'silu',
    bosTokenId: 1,
    eosTokenIds: [2],
    padTokenId: undefined,
  });
});

test('a Qwen3 config (Qwen3-0.6B) has per-head q/k norms, its own head_dim and no biases', () => {
  const c = parse(QWEN3);
  assert.deepEqual([c.modelType, c.family, c.qkNorm, c.attentionBias, c.headDim, c.numHeads, c.numKvHeads], ['qwen3', 'llama', true, false, 128, 16, 8]);
  assert.deepEqual([c.tieWordEmbeddings, c.maxPositions, c.ropeTheta, c.normEps], [true, 40960, 1e6, 1e-6]);
  const names = expectedTensors(c).filter((t) => t.name.startsWith('model.layers.0.self_attn.')).map((t) => `${t.name} [${t.shape.join(',')}]`);
  assert.ok(names.includes('model.layers.0.self_attn.q_norm.weight [128]') && names.includes('model.layers.0.self_attn.k_norm.weight [128]'), names.join('; '));
  assert.ok(names.includes('model.layers.0.self_attn.q_proj.weight [2048,1024]'), 'queries are heads × head_dim wide');
  assert.equal(parse(QWEN25).qkNorm, undefined);
  assert.throws(() => parse(variant(QWEN3, { attention_bias: true })), /field "attention_bias" true \(biases on q\/k\/v and o_proj\) is not supported for qwen3/);
  assert.equal(parse(variant(QWEN3, { use_sliding_window: true, sliding_window: 4096 })).maxPositions, 4096);
});

test('a Qwen2 config (Qwen2.5-0.5B) has q/k/v biases, GQA and tied embeddings', () => {
  const c = parse(QWEN25);
  assert.equal(c.family, 'llama');
  assert.equal(c.attentionBias, true);
  assert.equal(c.tieWordEmbeddings, true);
  assert.equal(c.numHeads, 14);
  assert.equal(c.numKvHeads, 2);
  assert.equal(c.headDim, 64);
  assert.equal(c.ropeTheta, 1e6);
  assert.equal(c.normEps, 1e-6);
  assert.equal(c.maxPositions, 32768); // use_sliding_window is false: the window does not apply
  assert.deepEqual(c.eosTokenIds, [151645]);
  // Qwen2Config's default is untied; only the checkpoint's own field ties it.
  assert.equal(parse(variant(QWEN25, { tie_word_embeddings: undefined })).tieWordEmbeddings, false);
  // With the window in use, the context is capped at it so attention is never computed differently.
  assert.equal(parse(variant(QWEN25, { use_sliding_window: true, sliding_window: 4096 })).maxPositions, 4096);
});

test('a Mistral config caps the context at its sliding window; a null window leaves it whole', () => {
  const v01 = parse(MISTRAL);
  assert.equal(v01.modelType, 'mistral');
  assert.equal(v01.family, 'llama');
  assert.equal(v01.attentionBias, false);
  assert.equal(v01.numKvHeads, 8);
  assert.equal(v01.headDim, 128);
  assert.equal(v01.maxPositions, 4096);
  assert.equal(parse(variant(MISTRAL, { sliding_window: null, rope_theta: 1e6 })).maxPositions, 32768);
  // MistralConfig defaults the window to 4096 when the field is absent.
  assert.equal(parse(variant(MISTRAL, { sliding_window: undefined })).maxPositions, 4096);
});

test('a GPT-2 config maps n_* fields, defaults n_inner to 4·n_embd and is always tied', () => {
  assert.deepEqual(parse(GPT2), {
    modelType: 'gpt2',
    family: 'gpt2',
    vocabSize: 50257,
    hiddenSize: 768,
    numLayers: 12,
    numHeads: 12,
    numKvHeads: 12,
    headDim: 64,
    intermediateSize: 3072,
    normEps: 1e-5,
    ropeTheta: 0,
    maxPositions: 1024,
    maxPositionsFrom: 'n_positions',
    attentionBias: true,
    tieWordEmbeddings: true,
    activation: 'gelu_new',
    bosTokenId: 50256,
    eosTokenIds: [50256],
    padTokenId: undefined,
  });
  assert.equal(parse(variant(GPT2, { n_inner: 1000 })).intermediateSize, 1000);
});

test('optional llama-family fields take transformers defaults; explicit head_dim and eos lists are read', () => {
  const minimal = parse(
    variant(TINYLLAMA, { num_key_value_heads: undefined, rope_theta: undefined, rms_norm_eps: undefined, tie_word_embeddings: undefined, max_position_embeddings: undefined }),
  );
  assert.equal(minimal.numKvHeads, 32);
  assert.equal(minimal.ropeTheta, 10000);
  assert.equal(minimal.normEps, 1e-6);
  assert.equal(minimal.tieWordEmbeddings, false);
  assert.equal(minimal.maxPositions, 2048);
  const explicit = parse(variant(TINYLLAMA, { head_dim: 128, vocab_size: 128256, eos_token_id: [128001, 128008, 128009], pad_token_id: -1 }));
  assert.equal(explicit.headDim, 128);
  assert.deepEqual(explicit.eosTokenIds, [128001, 128008, 128009]);
  assert.equal(explicit.padTokenId, undefined); // -1 means "none" in some exports
  // transformers v5 writes rope_parameters instead of rope_theta.
  assert.equal(parse(variant(TINYLLAMA, { rope_theta: undefined, rope_parameters: { rope_type: 'default', rope_theta: 500000 } })).ropeTheta, 500000);
});

test('config errors name the file and the field', () => {
  assert.throws(
    () => parse(variant(TINYLLAMA, { model_type: 'bert' })),
    /^Error: \/models\/x\/config\.json: model_type "bert" is not supported \(supported: llama, qwen2, qwen3, mistral, gpt2\)$/,
  );
  assert.throws(() => parse(variant(TINYLLAMA, { model_type: undefined })), /config\.json: field "model_type" is missing/);
  assert.throws(() => parse(variant(TINYLLAMA, { hidden_size: undefined })), /^Error: \/models\/x\/config\.json: field "hidden_size" is missing$/);
  assert.throws(() => parse(variant(GPT2, { n_head: undefined })), /config\.json: field "n_head" is missing/);
  assert.throws(() => parse(variant(TINYLLAMA, { num_hidden_layers: '22' })), /field "num_hidden_layers" must be a positive integer, found "22"/);
  assert.throws(() => parse(variant(TINYLLAMA, { rms_norm_eps: -1 })), /field "rms_norm_eps" must be a positive number, found -1/);
  assert.throws(() => parse(variant(TINYLLAMA, { tie_word_embeddings: 'yes' })), /field "tie_word_embeddings" must be true or false/);
  assert.throws(() => parse(variant(TINYLLAMA, { eos_token_id: [2, 'x'] })), /field "eos_token_id" must be a token id or a list of token ids/);
  assert.throws(() => parse(variant(TINYLLAMA, { num_key_value_heads: 5 })), /field "num_key_value_heads" 5 does not divide num_attention_heads=32/);
  assert.throws(() => parse(variant(TINYLLAMA, { hidden_size: 2050 })), /field "hidden_size" 2050 is not divisible by num_attention_heads=32/);
  assert.throws(() => readModelConfig(join(freshDir(), 'config.json')), /config\.json: cannot read/);
  const bad = join(freshDir(), 'config.json');
  writeFileSync(bad, '{"model_type": "llama",');
  assert.throws(() => readModelConfig(bad), /config\.json: line 1, column 24: not valid JSON: property name expected$/);
});

test('linear and llama3 rotary scalings are read, from rope_scaling or rope_parameters, and checked', () => {
  // Llama 3.2's scaled RoPE, as its config.json writes it.
  const llama3Scaling = { factor: 32.0, high_freq_factor: 4.0, low_freq_factor: 1.0, original_max_position_embeddings: 8192, rope_type: 'llama3' };
  const llama3 = { type: 'llama3', factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 8192 };
  assert.deepEqual(parse(variant(TINYLLAMA, { rope_scaling: llama3Scaling, rope_theta: 500000 })).ropeScaling, llama3);
  assert.deepEqual(parse(variant(TINYLLAMA, { rope_theta: undefined, rope_parameters: { ...llama3Scaling, rope_theta: 500000 } })).ropeScaling, llama3);
  assert.deepEqual(parse(variant(TINYLLAMA, { rope_scaling: { type: 'linear', factor: 2 } })).ropeScaling, { type: 'linear', factor: 2 });
  assert.equal(parse(variant(TINYLLAMA, {})).ropeScaling, undefined);
  assert.throws(() => parse(variant(TINYLLAMA, { rope_scaling: { ...llama3Scaling, low_freq_factor: undefined } })), /field "rope_scaling" needs low_freq_factor as a number ≥ 0 for rope type "llama3", found undefined/);
  assert.throws(() => parse(variant(TINYLLAMA, { rope_scaling: { ...llama3Scaling, high_freq_factor: 1 } })), /field "rope_scaling" needs high_freq_factor > low_freq_factor, found 1 and 1/);
  assert.throws(() => parse(variant(TINYLLAMA, { rope_scaling: { type: 'linear', factor: 0.5 } })), /needs factor as a number ≥ 1 for rope type "linear", found 0.5/);
});

test('features the graphs do not implement are refused by name, not ignored', () => {
  assert.throws(() => parse(variant(QWEN25, { rope_scaling: { type: 'yarn', factor: 4 } })), /field "rope_scaling" has rope type "yarn", which is not supported \(plain RoPE, linear and llama3 scaling are\)/);
  assert.throws(() => parse(variant(TINYLLAMA, { rope_scaling: { type: 'dynamic', factor: 2 } })), /field "rope_scaling" has rope type "dynamic"/);
  assert.throws(() => parse(variant(TINYLLAMA, { rope_parameters: { rope_type: 'longrope', rope_theta: 10000 } })), /field "rope_parameters" has rope type "longrope"/);
  assert.doesNotThrow(() => parse(variant(TINYLLAMA, { rope_scaling: { rope_type: 'default' } })));
  assert.throws(() => parse(variant(TINYLLAMA, { hidden_act: 'gelu' })), /field "hidden_act" "gelu" is not supported/);
  assert.throws(() => parse(variant(TINYLLAMA, { attention_bias: true })), /field "attention_bias" true \(biases on q\/k\/v and o_proj\) is not supported for llama/);
  assert.throws(() => parse(variant(TINYLLAMA, { mlp_bias: true })), /field "mlp_bias"/);
  assert.throws(() => parse(variant(TINYLLAMA, { quantization_config: { quant_method: 'gptq' } })), /field "quantization_config" quantized checkpoints are not supported/);
  assert.throws(() => parse(variant(GPT2, { activation_function: 'relu' })), /field "activation_function" "relu" is not supported/);
  assert.equal(parse(variant(GPT2, { activation_function: 'gelu_pytorch_tanh' })).activation, 'gelu_new');
  assert.throws(() => parse(variant(GPT2, { tie_word_embeddings: false })), /field "tie_word_embeddings" false is not supported for gpt2/);
  assert.throws(() => parse(variant(GPT2, { scale_attn_by_inverse_layer_idx: true })), /scale_attn_by_inverse_layer_idx/);
});

test('special token ids outside the vocabulary are refused naming the field; -1 means none', () => {
  assert.throws(() => parse(variant(TINYLLAMA, { eos_token_id: 32000 })), /^Error: \/models\/x\/config\.json: field "eos_token_id" has 32000, which is not a token of the model's vocabulary \(ids 0 to 31999, vocab_size 32000; -1 means none\)$/);
  assert.throws(() => parse(variant(TINYLLAMA, { eos_token_id: [2, 99999] })), /field "eos_token_id" has 99999/);
  assert.throws(() => parse(variant(TINYLLAMA, { bos_token_id: 40000 })), /field "bos_token_id" has 40000/);
  assert.throws(() => parse(variant(GPT2, { pad_token_id: 50257 })), /field "pad_token_id" has 50257, .*vocab_size 50257/);
  assert.throws(() => parse(variant(TINYLLAMA, { bos_token_id: -2 })), /field "bos_token_id" has -2/);
  const none = parse(variant(TINYLLAMA, { bos_token_id: -1, eos_token_id: [2, -1], pad_token_id: 31999 }));
  assert.deepEqual([none.bosTokenId, none.eosTokenIds, none.padTokenId], [undefined, [2], 31999]);
});

test('generation_config.json token ids outside the vocabulary are refused, not used as EOS', async () => {
  // Before, an EOS of 99999 in a 64-token vocabulary replaced config.json's, and generation never stopped at EOS.
  const eos = writeTinyCheckpoint(freshDir(), { family: 'llama', generationConfig: { eos_token_id: 99999 } });
  await assert.rejects(loadCheckpoint(eos.dir, isolated()), /generation_config\.json: field "eos_token_id" has 99999, which is not a token of the model's vocabulary \(ids 0 to 63, vocab_size 64/);
  const pad = writeTinyCheckpoint(freshDir(), { family: 'llama', generationConfig: { pad_token_id: -3 } });
  await assert.rejects(loadCheckpoint(pad.dir, isolated()), /generation_config\.json: field "pad_token_id" has -3/);
});

test('max_position_embeddings beyond the rotary limit is capped at it, and the cap is named', () => {
  // Before, 1e9 asked for a 64e9-element rotary table when the graph was built.
  const huge = parse(variant(TINYLLAMA, { max_position_embeddings: 1_000_000_000 }));
  assert.equal(huge.maxPositions, ROTARY_POSITION_LIMIT);
  assert.equal(huge.maxPositionsFrom, `the engine's limit of ${ROTARY_POSITION_LIMIT} rotary positions; max_position_embeddings is 1000000000`);
  // Llama 3.1's 131072 is the limit itself: unchanged.
  assert.deepEqual([parse(variant(TINYLLAMA, { max_position_embeddings: 131072 })).maxPositions, ROTARY_POSITION_LIMIT], [131072, 131072]);
  assert.equal(parse(MISTRAL).maxPositionsFrom, 'sliding_window 4096');
});

// ---- Expected tensors -------------------------------------------------------------------------

test('the expected tensor list follows the config: GQA shapes, qwen2 biases, tied head, GPT-2 Conv1D layout', () => {
  const qwen = expectedTensors(parse(QWEN25));
  const byName = new Map(qwen.map((t) => [t.name, t]));
  assert.equal(qwen.length, 1 + 24 * 12 + 1); // embedding, 12 per layer (9 + 3 biases), final norm; tied: no lm_head
  assert.deepEqual(byName.get('model.layers.0.self_attn.k_proj.weight')!.shape, [128, 896]);
  assert.deepEqual(byName.get('model.layers.0.self_attn.k_proj.weight')!.dims, ['num_key_value_heads=2 × head_dim=64', 'hidden_size=896']);
  assert.deepEqual(byName.get('model.layers.23.self_attn.q_proj.bias')!.shape, [896]);
  assert.deepEqual(byName.get('model.layers.5.mlp.down_proj.weight')!.shape, [896, 4864]);
  assert.equal(byName.has('lm_head.weight'), false);
  const llama = expectedTensors(parse(TINYLLAMA));
  assert.deepEqual(llama.at(-1), { name: 'lm_head.weight', shape: [32000, 2048], dims: ['vocab_size=32000', 'hidden_size=2048'] });
  assert.equal(llama.some((t) => t.name.endsWith('.bias')), false);
  const gpt2 = new Map(expectedTensors(parse(GPT2)).map((t) => [t.name, t.shape]));
  assert.equal(gpt2.size, 2 + 12 * 12 + 2);
  assert.deepEqual(gpt2.get('wpe.weight'), [1024, 768]);
  assert.deepEqual(gpt2.get('h.0.attn.c_attn.weight'), [768, 2304]);
  assert.deepEqual(gpt2.get('h.11.mlp.c_fc.weight'), [768, 3072]);
  assert.deepEqual(gpt2.get('h.11.mlp.c_proj.weight'), [3072, 768]);
});

// ---- Loading folders --------------------------------------------------------------------------

/** Checks every tensor the helper wrote reads back exactly through the store. */
function assertWeightsEqual(tiny: TinyCheckpoint, weights: Awaited<ReturnType<typeof loadCheckpoint>>['weights']): void {
  for (const [name, values] of Object.entries(tiny.tensors)) {
    assert.deepEqual(weights.get(name, tiny.shapes[name]!), values, name);
  }
}

for (const dtype of ['F32', 'F16', 'BF16'] as DTypeName[]) {
  test(`a tiny llama checkpoint in ${dtype} loads with every weight intact`, async () => {
    const tiny = writeTinyCheckpoint(freshDir(), { family: 'llama', dtype, layers: 2, hidden: 32, heads: 4, kvHeads: 2, seed: 7 });
    const ckpt = await loadCheckpoint(tiny.dir, isolated());
    assert.equal(ckpt.dir, tiny.dir);
    assert.equal(ckpt.config.numKvHeads, 2);
    assert.equal(ckpt.weights.dtype('model.embed_tokens.weight'), dtype);
    assert.match(ckpt.fingerprint, /^[0-9a-f]{64}$/);
    assert.equal(ckpt.tokenizerPath, undefined);
    assert.deepEqual(ckpt.generation.eosTokenIds, [2]);
    assertWeightsEqual(tiny, ckpt.weights);
  });
}

test('a qwen2 checkpoint with GQA, biases and tied embeddings loads; a stray lm_head is allowed', async () => {
  const tiny = writeTinyCheckpoint(freshDir(), { family: 'llama', modelType: 'qwen2', dtype: 'BF16', heads: 4, kvHeads: 1, tied: true });
  const ckpt = await loadCheckpoint(tiny.dir, isolated());
  assert.equal(ckpt.config.attentionBias, true);
  assert.equal(ckpt.config.tieWordEmbeddings, true);
  assert.equal(ckpt.weights.has('lm_head.weight'), false);
  assertWeightsEqual(tiny, ckpt.weights);

  // Some tied exports still save the head; it is ignored without a warning.
  const withHead = writeTinyCheckpoint(freshDir(), { family: 'llama', modelType: 'qwen2', tied: true });
  rewriteWeights(withHead, { 'lm_head.weight': { dtype: 'F32', shape: [64, 32], data: withHead.tensors['model.embed_tokens.weight']! } });
  const warnings: string[] = [];
  await loadCheckpoint(withHead.dir, isolated({ onWarning: (m) => warnings.push(m) }));
  assert.deepEqual(warnings, []);
});

test('a mistral checkpoint loads as the llama family', async () => {
  const tiny = writeTinyCheckpoint(freshDir(), { family: 'llama', modelType: 'mistral', dtype: 'F16', kvHeads: 2 });
  const ckpt = await loadCheckpoint(tiny.dir, isolated());
  assert.equal(ckpt.config.modelType, 'mistral');
  assertWeightsEqual(tiny, ckpt.weights);
});

test('a gpt2 checkpoint loads with or without the transformer. prefix', async () => {
  for (const namePrefix of ['', 'transformer.']) {
    const tiny = writeTinyCheckpoint(freshDir(), { family: 'gpt2', dtype: 'F16', namePrefix });
    const ckpt = await loadCheckpoint(tiny.dir, isolated());
    assert.equal(ckpt.config.family, 'gpt2');
    assert.ok(ckpt.weights.names().includes('h.1.attn.c_attn.weight'));
    assertWeightsEqual(tiny, ckpt.weights);
    assert.deepEqual(ckpt.weights.get('transformer.ln_f.bias', [32]), tiny.tensors['ln_f.bias']);
  }
});

test('a sharded checkpoint loads through its index, and a missing shard is named', async () => {
  const tiny = writeTinyCheckpoint(freshDir(), { family: 'llama', shards: 3, layers: 3 });
  assert.deepEqual(tiny.files, ['model-00001-of-00003.safetensors', 'model-00002-of-00003.safetensors', 'model-00003-of-00003.safetensors']);
  const ckpt = await loadCheckpoint(tiny.dir, isolated());
  assertWeightsEqual(tiny, ckpt.weights);
  rmSync(join(tiny.dir, 'model-00002-of-00003.safetensors'));
  await assert.rejects(loadCheckpoint(tiny.dir, isolated()), /model\.safetensors\.index\.json: lists model-00002-of-00003\.safetensors, which does not exist/);
});

/** Rewrites model.safetensors from the helper's tensors, with some replaced, added or (undefined) removed. */
function rewriteWeights(tiny: TinyCheckpoint, changes: Record<string, TensorToWrite | undefined>): void {
  const tensors: Record<string, TensorToWrite> = {};
  for (const [name, data] of Object.entries(tiny.tensors)) tensors[name] = { dtype: 'F32', shape: tiny.shapes[name]!, data };
  for (const [name, tensor] of Object.entries(changes)) {
    if (tensor) tensors[name] = tensor;
    else delete tensors[name];
  }
  writeSafetensors(join(tiny.dir, 'model.safetensors'), tensors);
}

test('every mis-shaped tensor is reported in one error with the config fields that imply its shape', async () => {
  // Weights with 2 key/value heads under a config that says 1.
  const tiny = writeTinyCheckpoint(freshDir(), { family: 'llama', layers: 2, hidden: 32, heads: 4, kvHeads: 2, configOverrides: { num_key_value_heads: 1 } });
  const error = await loadCheckpoint(tiny.dir, isolated()).then(
    () => assert.fail('expected a CheckpointError'),
    (err: unknown) => err,
  );
  assert.ok(error instanceof CheckpointError);
  assert.equal(error.problems.length, 4); // k_proj and v_proj of both layers
  assert.equal(
    error.problems[0],
    `${join(tiny.dir, 'model.safetensors')}: model.layers.0.self_attn.k_proj.weight has shape [16,32], expected [8,32] (num_key_value_heads=1 × head_dim=8, hidden_size=32)`,
  );
  assert.match(error.message, /the weights do not match config\.json \(model_type llama, 2 layers\): 4 problem\(s\)/);
  assert.match(error.message, /model\.layers\.1\.self_attn\.v_proj\.weight has shape \[16,32\], expected \[8,32\]/);
});

test('missing tensors and unreadable dtypes are listed together', async () => {
  const tiny = writeTinyCheckpoint(freshDir(), { family: 'llama', layers: 1 });
  rewriteWeights(tiny, { 'model.norm.weight': undefined, 'lm_head.weight': undefined });
  const error = await loadCheckpoint(tiny.dir, isolated()).catch((err: unknown) => err);
  assert.ok(error instanceof CheckpointError);
  assert.deepEqual(error.problems, [
    `${join(tiny.dir, 'model.safetensors')}: missing model.norm.weight, expected shape [32] (hidden_size=32)`,
    `${join(tiny.dir, 'model.safetensors')}: missing lm_head.weight, expected shape [64,32] (vocab_size=64, hidden_size=32)`,
  ]);
});

test('weights of more layers than config.json counts are refused, naming the field and both counts', async () => {
  // Before, 2 of 3 layers ran and only an easily hidden warning said so.
  const tiny = writeTinyCheckpoint(freshDir(), { family: 'llama', layers: 3, configOverrides: { num_hidden_layers: 2 } });
  await assert.rejects(
    loadCheckpoint(tiny.dir, isolated()),
    /config\.json: field "num_hidden_layers" is 2, but model\.safetensors holds 3 layers \(up to model\.layers\.2\); the model would run without its last 1\. Set "num_hidden_layers" to 3/,
  );
  const gpt2 = writeTinyCheckpoint(freshDir(), { family: 'gpt2', layers: 2, shards: 2, namePrefix: 'transformer.', configOverrides: { n_layer: 1 } });
  await assert.rejects(loadCheckpoint(gpt2.dir, isolated()), /field "n_layer" is 1, but model\.safetensors\.index\.json holds 2 layers \(up to h\.1\)/);
});

test('a tensor no graph uses still loads, with a warning naming it', async () => {
  const tiny = writeTinyCheckpoint(freshDir(), { family: 'llama', layers: 1 });
  rewriteWeights(tiny, { 'model.vision_tower.weight': { dtype: 'F32', shape: [2], data: Float32Array.of(1, 2) } });
  const warnings: string[] = [];
  await loadCheckpoint(tiny.dir, isolated({ onWarning: (m) => warnings.push(m) }));
  assert.deepEqual(warnings, [`${join(tiny.dir, 'model.safetensors')}: 1 tensor(s) are not used by the model: model.vision_tower.weight`]);
});

test('a NaN or infinity in a weight fails the load naming the file and tensor, unless the scan is off', async () => {
  const tiny = writeTinyCheckpoint(freshDir(), { family: 'llama', layers: 2 });
  const poisoned = Float32Array.from(tiny.tensors['model.layers.1.mlp.up_proj.weight']!);
  poisoned[37] = NaN;
  rewriteWeights(tiny, { 'model.layers.1.mlp.up_proj.weight': { dtype: 'BF16', shape: [64, 32], data: poisoned } });
  await assert.rejects(
    loadCheckpoint(tiny.dir, isolated()),
    /^Error: .*[\\/]model\.safetensors: model\.layers\.1\.mlp\.up_proj\.weight \[64,32\] contains NaN at flat index 37;/,
  );
  const loaded = await loadCheckpoint(tiny.dir, isolated({ checkFinite: false }));
  assert.ok(Number.isNaN(loaded.weights.get('model.layers.1.mlp.up_proj.weight', [64, 32])[37]));

  const gpt2 = writeTinyCheckpoint(freshDir(), { family: 'gpt2', layers: 1, shards: 2 });
  const big = Float32Array.from(gpt2.tensors['ln_f.weight']!);
  big[3] = 1e5; // beyond F16's range: stored as infinity
  const lastShard = gpt2.files.at(-1)!;
  const shardTensors: Record<string, TensorToWrite> = {};
  for (const [name, file] of Object.entries(indexOf(gpt2))) {
    if (file === lastShard) shardTensors[name] = { dtype: 'F16', shape: gpt2.shapes[name]!, data: name === 'ln_f.weight' ? big : gpt2.tensors[name]! };
  }
  writeSafetensors(join(gpt2.dir, lastShard), shardTensors);
  await assert.rejects(loadCheckpoint(gpt2.dir, isolated()), /^Error: .*[\\/]model-00002-of-00002\.safetensors: ln_f\.weight \[32\] contains Infinity at flat index 3/);
});

function indexOf(tiny: TinyCheckpoint): Record<string, string> {
  const index = JSON.parse(readFileSync(join(tiny.dir, 'model.safetensors.index.json'), 'utf8')) as { weight_map: Record<string, string> };
  return index.weight_map;
}

test('folder-level problems are named: no folder, no config.json, no weights', async () => {
  await assert.rejects(loadCheckpoint(join(root, 'absent')), /absent: not a model folder/);
  const empty = freshDir();
  await assert.rejects(loadCheckpoint(empty, isolated()), /no config\.json; a Hugging Face model folder has one/);
  writeFileSync(join(empty, 'config.json'), TINYLLAMA);
  await assert.rejects(loadCheckpoint(empty, isolated()), /no model\.safetensors or model\.safetensors\.index\.json/);
  writeFileSync(join(empty, 'config.json'), variant(TINYLLAMA, { model_type: 'falcon' }));
  await assert.rejects(loadCheckpoint(empty, isolated()), /config\.json: model_type "falcon" is not supported/);
});

/** A Hugging Face cache repo folder (models--acme--tiny, blobs/, snapshots/abc123/ of links, refs/main) of `tiny`'s files; returns the snapshot. */
function hubLayout(tiny: TinyCheckpoint, repo: string): string {
  const snapshot = join(repo, 'snapshots', 'abc123');
  mkdirSync(join(repo, 'blobs'), { recursive: true });
  mkdirSync(snapshot, { recursive: true });
  mkdirSync(join(repo, 'refs'));
  writeFileSync(join(repo, 'refs', 'main'), 'abc123');
  for (const f of readdirSync(tiny.dir)) {
    renameSync(join(tiny.dir, f), join(repo, 'blobs', `blob-${f}`));
    symlinkSync(join('..', '..', 'blobs', `blob-${f}`), join(snapshot, f));
  }
  return snapshot;
}

test('an unfinished Hugging Face download is named: a link whose blob is missing, the repo folder for its snapshot', async () => {
  const repo = join(freshDir(), 'models--acme--tiny');
  const snapshot = hubLayout(writeTinyCheckpoint(freshDir(), { family: 'llama' }), repo);
  await loadCheckpoint(snapshot, isolated()); // whole: it loads through the links
  await assert.rejects(loadCheckpoint(repo, isolated()), (err: Error) => err.message.includes(`this is a Hugging Face cache folder; the model is its snapshot: --model ${snapshot} (the revision refs/main names)`));
  rmSync(join(repo, 'blobs', 'blob-model.safetensors'));
  await assert.rejects(loadCheckpoint(snapshot, isolated()), (err: Error) => {
    assert.equal(err.message, `${join(snapshot, 'model.safetensors')} is a link to ${join('..', '..', 'blobs', 'blob-model.safetensors')}, which does not exist (an unfinished download?)`);
    return true;
  });
  rmSync(join(repo, 'blobs', 'blob-config.json'));
  await assert.rejects(loadCheckpoint(snapshot, isolated()), /config\.json is a link to .*blob-config\.json, which does not exist \(an unfinished download\?\)/);
});

test('an unfinished download of a tokenizer or generation settings is named, not run without them', async () => {
  for (const file of ['tokenizer.json', 'generation_config.json']) {
    const repo = join(freshDir(), 'models--acme--tiny');
    const snapshot = hubLayout(writeTinyCheckpoint(freshDir(), { family: 'llama', tokenizer: true, generationConfig: { max_new_tokens: 8 } }), repo);
    assert.ok(existsSync(join(snapshot, file)), `the tiny checkpoint writes ${file}`);
    rmSync(join(repo, 'blobs', `blob-${file}`));
    await assert.rejects(loadCheckpoint(snapshot, isolated()), (err: Error) => {
      assert.equal(err.message, `${join(snapshot, file)} is a link to ${join('..', '..', 'blobs', `blob-${file}`)}, which does not exist (an unfinished download?)`);
      return true;
    });
  }
});

test('shards without their index are named, and the index said to be missing', async () => {
  const tiny = writeTinyCheckpoint(freshDir(), { family: 'llama', shards: 2 });
  rmSync(join(tiny.dir, 'model.safetensors.index.json'));
  await assert.rejects(
    loadCheckpoint(tiny.dir, isolated()),
    /: model\.safetensors\.index\.json is missing, which says which tensor each shard holds \(copy it from where the shards came from\); found the shards model-00001-of-00002\.safetensors, model-00002-of-00002\.safetensors$/,
  );
});

// ---- generation_config.json and tokenizer.json ------------------------------------------------

test('generation_config.json overrides config.json token ids and supplies sampling defaults', async () => {
  // Qwen2.5-0.5B-Instruct's generation_config.json, its token ids (151643, 151645) moved into the tiny vocabulary.
  const generationConfig = {
    bos_token_id: 61, pad_token_id: 61, do_sample: true, eos_token_id: [63, 61],
    repetition_penalty: 1.1, temperature: 0.7, top_p: 0.8, top_k: 20, transformers_version: '4.37.0',
  };
  const tiny = writeTinyCheckpoint(freshDir(), { family: 'llama', modelType: 'qwen2', generationConfig });
  const ckpt = await loadCheckpoint(tiny.dir, isolated());
  assert.deepEqual(ckpt.generation, {
    bosTokenId: 61, eosTokenIds: [63, 61], padTokenId: 61,
    maxNewTokens: undefined, maxLength: undefined, temperature: 0.7, topK: 20, topP: 0.8, doSample: true,
    repetitionPenalty: 1.1, noRepeatNgramSize: undefined, numBeams: undefined,
  });
  assert.deepEqual(ckpt.config.eosTokenIds, [2]); // config.json's own value is kept as written

  const partial = writeTinyCheckpoint(freshDir(), { family: 'llama', generationConfig: { max_new_tokens: 64 } });
  const merged = (await loadCheckpoint(partial.dir, isolated())).generation;
  assert.deepEqual([merged.bosTokenId, merged.eosTokenIds, merged.maxNewTokens], [1, [2], 64]);

  const bad = writeTinyCheckpoint(freshDir(), { family: 'llama', generationConfig: { top_p: 1.5 } });
  await assert.rejects(loadCheckpoint(bad.dir, isolated()), /generation_config\.json: field "top_p" must lie in \(0, 1\], found 1\.5/);
  const ngram = writeTinyCheckpoint(freshDir(), { family: 'llama', generationConfig: { no_repeat_ngram_size: 2.5 } });
  await assert.rejects(loadCheckpoint(ngram.dir, isolated()), /generation_config\.json: field "no_repeat_ngram_size" must be a non-negative integer, found 2\.5/);
  const penalty = writeTinyCheckpoint(freshDir(), { family: 'llama', generationConfig: { repetition_penalty: 0 } });
  await assert.rejects(loadCheckpoint(penalty.dir, isolated()), /generation_config\.json: field "repetition_penalty" must be greater than 0, found 0/);
});

test('the tokenizer wrapper encodes, decodes and looks up tokens of a byte-level BPE', async () => {
  const dir = freshDir();
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(tinyTokenizerJson()));
  const tok = await Tokenizer.load(dir);
  assert.equal(tok.path, join(dir, 'tokenizer.json'));
  assert.equal(tok.vocabSize, TINY_TOKENIZER_SIZE);
  // "hello" → he·llo, " the" → Ġthe, " world" → Ġw·o·r·l·d; the post-processor prepends <|endoftext|>.
  assert.deepEqual(tok.encode('hello the world'), [262, 256, 260, 259, 261, 111, 114, 108, 100]);
  assert.deepEqual(tok.encode('hello the world', { addSpecialTokens: false }), [256, 260, 259, 261, 111, 114, 108, 100]);
  assert.equal(tok.decode([262, 256, 260, 259]), '<|endoftext|>hello the');
  assert.equal(tok.decode([262, 256, 260, 259], { skipSpecialTokens: true }), 'hello the');
  assert.equal(tok.tokenId('Ġthe'), 259);
  assert.equal(tok.tokenId('<|endoftext|>'), 262);
  assert.equal(tok.tokenId('nope'), undefined);
  assert.equal(tok.token(256), 'he');
  // Any text survives a round trip through the byte tokens.
  const text = 'Grüße, 世界! ✓\n\ttabs';
  assert.equal(tok.decode(tok.encode(text, { addSpecialTokens: false })), text);
});

test('tokenizer errors name the file', async () => {
  const dir = freshDir();
  await assert.rejects(Tokenizer.load(dir), /tokenizer\.json: cannot read/);
  writeFileSync(join(dir, 'tokenizer.json'), '{"model": ');
  await assert.rejects(Tokenizer.load(join(dir, 'tokenizer.json')), /tokenizer\.json: line 1, column 11: not valid JSON: value expected/);
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(tinyTokenizerJson()));
  writeFileSync(join(dir, 'tokenizer_config.json'), '[]');
  await assert.rejects(Tokenizer.load(dir), /tokenizer_config\.json: not a JSON object/);
});

test('a tiny checkpoint with a tokenizer: loadCheckpoint finds it and its special token is BOS and EOS', async () => {
  const tiny = writeTinyCheckpoint(freshDir(), { family: 'gpt2', tokenizer: true });
  const ckpt = await loadCheckpoint(tiny.dir, isolated());
  assert.equal(ckpt.config.vocabSize, 264);
  assert.equal(ckpt.tokenizerPath, join(tiny.dir, 'tokenizer.json'));
  const tok = await Tokenizer.load(ckpt.tokenizerPath!);
  assert.deepEqual(ckpt.generation.eosTokenIds, [tok.tokenId('<|endoftext|>')]);
  assert.ok(tok.vocabSize <= ckpt.config.vocabSize);
});

// ---- Fingerprint ------------------------------------------------------------------------------

test('the fingerprint is memoised by path, size and mtime: a second load hashes nothing', async () => {
  const tiny = writeTinyCheckpoint(freshDir(), { family: 'llama', shards: 2 });
  const cacheDir = freshDir();
  const hashed: string[] = [];
  const options = { cacheDir, onHashFile: (path: string) => hashed.push(path) };

  const first = await loadCheckpoint(tiny.dir, options);
  assert.equal(hashed.length, 2);
  const memo = JSON.parse(readFileSync(join(cacheDir, 'fingerprints.json'), 'utf8')) as { files: Record<string, unknown>; finite: Record<string, number> };
  assert.deepEqual(Object.keys(memo.files).sort(), tiny.files.map((f) => join(tiny.dir, f)));
  assert.ok(memo.finite[first.fingerprint] !== undefined);

  const second = await loadCheckpoint(tiny.dir, options);
  assert.equal(hashed.length, 2, 'the second load must not hash again');
  assert.equal(second.fingerprint, first.fingerprint);

  // A new mtime alone makes that one file be hashed again; equal bytes give the same fingerprint.
  const shard = join(tiny.dir, tiny.files[1]!);
  const { mtime } = statSync(shard);
  utimesSync(shard, mtime, new Date(mtime.getTime() + 5000));
  const third = await loadCheckpoint(tiny.dir, options);
  assert.deepEqual(hashed.slice(2), [shard]);
  assert.equal(third.fingerprint, first.fingerprint);

  // config.json is always hashed (it is small): a changed config changes the fingerprint, with no weight rehash.
  writeFileSync(join(tiny.dir, 'config.json'), JSON.stringify({ ...tiny.config, rope_theta: 20000 }));
  const fourth = await loadCheckpoint(tiny.dir, options);
  assert.equal(hashed.length, 3);
  assert.notEqual(fourth.fingerprint, first.fingerprint);
});

test('changed weights change the fingerprint; a corrupt memo is rebuilt; an unwritable one only warns', async () => {
  const tiny = writeTinyCheckpoint(freshDir(), { family: 'gpt2', layers: 1, seed: 3 });
  const cacheDir = freshDir();
  const hashed: string[] = [];
  const before = await loadCheckpoint(tiny.dir, { cacheDir, onHashFile: (p) => hashed.push(p) });
  const other = writeTinyCheckpoint(freshDir(), { family: 'gpt2', layers: 1, seed: 4 });
  writeFileSync(join(tiny.dir, 'model.safetensors'), readFileSync(join(other.dir, 'model.safetensors')));
  const after = await loadCheckpoint(tiny.dir, { cacheDir, onHashFile: (p) => hashed.push(p) });
  assert.notEqual(after.fingerprint, before.fingerprint);
  assert.equal(hashed.length, 2);

  writeFileSync(join(cacheDir, 'fingerprints.json'), '{ not json');
  const rebuilt = await loadCheckpoint(tiny.dir, { cacheDir, onHashFile: (p) => hashed.push(p) });
  assert.equal(rebuilt.fingerprint, after.fingerprint);
  assert.equal(hashed.length, 3);
  assert.doesNotThrow(() => JSON.parse(readFileSync(join(cacheDir, 'fingerprints.json'), 'utf8')));

  // A cache "folder" that is a file cannot be written: the load still succeeds, with a warning.
  const blocked = join(freshDir(), 'file');
  writeFileSync(blocked, '');
  const warnings: string[] = [];
  const loaded = await loadCheckpoint(tiny.dir, { cacheDir: blocked, onWarning: (m) => warnings.push(m) });
  assert.equal(loaded.fingerprint, after.fingerprint);
  assert.match(warnings.join('\n'), /cannot write the fingerprint cache/);
});

// ---- The test helper ---------------------------------------------------------------------------

test('writeTinyCheckpoint is deterministic per seed and refuses inconsistent options', () => {
  const a = writeTinyCheckpoint(freshDir(), { family: 'llama', seed: 11, dtype: 'BF16' });
  const b = writeTinyCheckpoint(freshDir(), { family: 'llama', seed: 11, dtype: 'BF16' });
  const c = writeTinyCheckpoint(freshDir(), { family: 'llama', seed: 12, dtype: 'BF16' });
  assert.deepEqual(readFileSync(join(a.dir, 'model.safetensors')), readFileSync(join(b.dir, 'model.safetensors')));
  assert.notDeepEqual(a.tensors['model.embed_tokens.weight'], c.tensors['model.embed_tokens.weight']);
  // Values are small and centred: std about 0.02 for matrices, about 1 for norm scales.
  const embed = a.tensors['model.embed_tokens.weight']!;
  const std = Math.sqrt(embed.reduce((s, v) => s + v * v, 0) / embed.length);
  assert.ok(std > 0.015 && std < 0.025, `std ${std}`);
  const norm = a.tensors['model.norm.weight']!;
  assert.ok(Math.abs(norm.reduce((s, v) => s + v, 0) / norm.length - 1) < 0.1);
  assert.throws(() => writeTinyCheckpoint(freshDir(), { family: 'llama', modelType: 'llama', attentionBias: true }), /q\/k\/v biases come with model_type qwen2/);
  assert.throws(() => writeTinyCheckpoint(freshDir(), { family: 'gpt2', modelType: 'llama' }), /family gpt2 has model_type gpt2/);
  assert.throws(() => writeTinyCheckpoint(freshDir(), { family: 'llama', vocab: 100, tokenizer: true }), /the tokenizer needs vocab ≥ 263/);
});
