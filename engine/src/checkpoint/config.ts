// Hugging Face config.json → ModelConfig. Each supported model_type maps its own field names onto
// the one normalised shape the graph builders read. A field transformers would default is
// defaulted to the same value here (so a config that loads there loads here); a field that
// changes the computation in a way the graph builders do not implement is refused with its name,
// never ignored.
import { readJsonObject } from '../jsonFile';
import type { ModelConfig, RopeScaling } from './types';

export const SUPPORTED_MODEL_TYPES = ['llama', 'qwen2', 'qwen3', 'mistral', 'gpt2'] as const;

/** Reads and parses a config.json; errors name the file. */
export function readModelConfig(path: string): ModelConfig {
  return parseModelConfig(readJsonObject(path), path);
}

/** `source` names the file in errors. */
export function parseModelConfig(json: Record<string, unknown>, source: string): ModelConfig {
  const f = new Fields(json, source);
  const modelType = f.string('model_type');
  switch (modelType) {
    case 'llama':
    case 'qwen2':
    case 'qwen3':
    case 'mistral':
      return parseLlamaFamily(f, modelType);
    case 'gpt2':
      return parseGpt2(f);
    default:
      throw new Error(`${source}: model_type "${modelType}" is not supported (supported: ${SUPPORTED_MODEL_TYPES.join(', ')})`);
  }
}

/** transformers' class defaults for fields a config may leave out. */
const LLAMA_FAMILY_DEFAULTS = {
  llama: { maxPositions: 2048, tie: false },
  qwen2: { maxPositions: 32768, tie: false },
  qwen3: { maxPositions: 32768, tie: false },
  mistral: { maxPositions: 4096 * 32, tie: false },
} as const;

function parseLlamaFamily(f: Fields, modelType: 'llama' | 'qwen2' | 'qwen3' | 'mistral'): ModelConfig {
  refuseUnsupportedLlamaFeatures(f, modelType);
  const hiddenSize = f.positiveInt('hidden_size');
  const numHeads = f.positiveInt('num_attention_heads');
  const numKvHeads = f.optionalPositiveInt('num_key_value_heads') ?? numHeads;
  if (numHeads % numKvHeads !== 0) {
    f.fail('num_key_value_heads', `${numKvHeads} does not divide num_attention_heads=${numHeads}`);
  }
  const defaults = LLAMA_FAMILY_DEFAULTS[modelType];
  const vocabSize = f.positiveInt('vocab_size');
  return {
    modelType,
    family: 'llama',
    vocabSize,
    hiddenSize,
    numLayers: f.positiveInt('num_hidden_layers'),
    numHeads,
    numKvHeads,
    headDim: f.optionalPositiveInt('head_dim') ?? divideExactly(f, 'hidden_size', hiddenSize, 'num_attention_heads', numHeads),
    intermediateSize: f.positiveInt('intermediate_size'),
    normEps: f.optionalPositiveNumber('rms_norm_eps') ?? 1e-6,
    ropeTheta: ropeTheta(f),
    ...ropeScaling(f),
    ...contextLength(f, modelType, f.optionalPositiveInt('max_position_embeddings') ?? defaults.maxPositions),
    // Qwen2's attention always has q/k/v biases; llama's and qwen3's optional ones are refused above.
    attentionBias: modelType === 'qwen2',
    // Qwen3 normalises each head's queries and keys (q_norm, k_norm) before the rotary embedding.
    ...(modelType === 'qwen3' ? { qkNorm: true } : {}),
    tieWordEmbeddings: f.optionalBoolean('tie_word_embeddings') ?? defaults.tie,
    activation: 'silu',
    ...specialTokens(f, vocabSize),
  };
}

function refuseUnsupportedLlamaFeatures(f: Fields, modelType: string): void {
  const act = f.optionalString('hidden_act') ?? 'silu';
  if (act !== 'silu') f.fail('hidden_act', `"${act}" is not supported (the llama family runs silu)`);
  // Llama's and Qwen3's attention_bias put biases on o_proj as well as q/k/v, which the graph does not build.
  if ((modelType === 'llama' || modelType === 'qwen3') && f.optionalBoolean('attention_bias') === true) {
    f.fail('attention_bias', `true (biases on q/k/v and o_proj) is not supported for ${modelType}; qwen2-style q/k/v biases are`);
  }
  if (f.optionalBoolean('mlp_bias') === true) f.fail('mlp_bias', 'true (biases on the MLP projections) is not supported');
  if (f.has('quantization_config')) f.fail('quantization_config', 'quantized checkpoints are not supported; use F32, F16 or BF16 weights');
}

/**
 * The rotary base. Newer transformers write `rope_parameters` in place of `rope_theta` and
 * `rope_scaling`; both forms are read (ropeScaling reads the scaling).
 */
function ropeTheta(f: Fields): number {
  const fromParams = f.optionalObject('rope_parameters')?.['rope_theta'];
  if (fromParams === undefined || fromParams === null) return f.optionalPositiveNumber('rope_theta') ?? 10000;
  if (typeof fromParams !== 'number' || !(fromParams > 0)) {
    f.fail('rope_parameters', `has rope_theta ${JSON.stringify(fromParams)}, not a positive number`);
  }
  return fromParams;
}

/** Scalings whose frequencies depend on the sequence length or that also scale attention: refused. */
const SUPPORTED_ROPE_TYPES = ['default', 'linear', 'llama3'];

/**
 * The rotary scaling of `rope_scaling` or `rope_parameters`: `linear` and `llama3` change the
 * frequencies once and are built into the rotary tables; dynamic, yarn and longrope depend on the
 * sequence length or scale attention as well, and are refused naming the field.
 */
function ropeScaling(f: Fields): { ropeScaling?: RopeScaling } {
  for (const field of ['rope_scaling', 'rope_parameters']) {
    const spec = f.optionalObject(field);
    if (!spec) continue;
    const kind = spec['rope_type'] ?? spec['type'] ?? 'default';
    if (typeof kind !== 'string' || !SUPPORTED_ROPE_TYPES.includes(kind)) {
      f.fail(field, `has rope type ${JSON.stringify(kind)}, which is not supported (plain RoPE, linear and llama3 scaling are)`);
    }
    if (kind === 'default') continue;
    const number = (name: string, min: number): number => {
      const v = spec[name];
      if (typeof v !== 'number' || !Number.isFinite(v) || v < min) f.fail(field, `needs ${name} as a number ≥ ${min} for rope type "${kind}", found ${JSON.stringify(v)}`);
      return v as number;
    };
    const factor = number('factor', 1);
    if (kind === 'linear') return { ropeScaling: { type: 'linear', factor } };
    const lowFreqFactor = number('low_freq_factor', 0);
    const highFreqFactor = number('high_freq_factor', 0);
    if (!(highFreqFactor > lowFreqFactor)) f.fail(field, `needs high_freq_factor > low_freq_factor, found ${highFreqFactor} and ${lowFreqFactor}`);
    return { ropeScaling: { type: 'llama3', factor, lowFreqFactor, highFreqFactor, originalMaxPositions: number('original_max_position_embeddings', 1) } };
  }
  return {};
}

/**
 * The most positions the engine gives a llama-family model: its rotary tables are built whole
 * when a graph is (arch/llama.ts, [positions, head_dim / 2] of cos and of sin), so a config's
 * max_position_embeddings of 1e9 would ask for gigabytes. 131072 is Llama 3.1's whole context,
 * 64 MiB of tables at head_dim 128; longer contexts (Qwen2.5-1M's 1010000) are capped here, and
 * a longer input is refused naming this limit.
 */
export const ROTARY_POSITION_LIMIT = 131_072;

/**
 * The context the engine allows, and what sets it. A sliding attention window only changes
 * anything for sequences longer than the window, so when one is active the context is capped at
 * the window: every sequence the engine accepts is then computed exactly as transformers computes
 * it, and a longer prompt meets the ordinary context-length handling instead of silently
 * different attention.
 */
function contextLength(f: Fields, modelType: string, maxPositions: number): Pick<ModelConfig, 'maxPositions' | 'maxPositionsFrom'> {
  const window = slidingWindow(f, modelType);
  if (window !== undefined && window < Math.min(maxPositions, ROTARY_POSITION_LIMIT)) {
    return { maxPositions: window, maxPositionsFrom: `sliding_window ${window}` };
  }
  if (maxPositions > ROTARY_POSITION_LIMIT) {
    return { maxPositions: ROTARY_POSITION_LIMIT, maxPositionsFrom: `the engine's limit of ${ROTARY_POSITION_LIMIT} rotary positions; max_position_embeddings is ${maxPositions}` };
  }
  return { maxPositions, maxPositionsFrom: 'max_position_embeddings' };
}

function slidingWindow(f: Fields, modelType: string): number | undefined {
  if (modelType === 'mistral') {
    // MistralConfig defaults sliding_window to 4096; later Mistral releases write null.
    return f.isAbsent('sliding_window') ? 4096 : f.optionalPositiveInt('sliding_window');
  }
  if ((modelType === 'qwen2' || modelType === 'qwen3') && f.optionalBoolean('use_sliding_window') === true) {
    return f.optionalPositiveInt('sliding_window') ?? 4096;
  }
  return undefined;
}

function parseGpt2(f: Fields): ModelConfig {
  const act = f.optionalString('activation_function') ?? 'gelu_new';
  // gelu_pytorch_tanh is the same tanh approximation as gelu_new; the exact erf gelu is not.
  if (act !== 'gelu_new' && act !== 'gelu_pytorch_tanh') f.fail('activation_function', `"${act}" is not supported (gelu_new only)`);
  if (f.optionalBoolean('tie_word_embeddings') === false) f.fail('tie_word_embeddings', 'false is not supported for gpt2 (the head is the token embedding)');
  if (f.optionalBoolean('scale_attn_weights') === false) f.fail('scale_attn_weights', 'false is not supported');
  if (f.optionalBoolean('scale_attn_by_inverse_layer_idx') === true) f.fail('scale_attn_by_inverse_layer_idx', 'true is not supported');
  if (f.optionalBoolean('add_cross_attention') === true) f.fail('add_cross_attention', 'true is not supported (decoder-only models)');
  const hiddenSize = f.positiveInt('n_embd');
  const numHeads = f.positiveInt('n_head');
  const vocabSize = f.positiveInt('vocab_size');
  return {
    modelType: 'gpt2',
    family: 'gpt2',
    vocabSize,
    hiddenSize,
    numLayers: f.positiveInt('n_layer'),
    numHeads,
    numKvHeads: numHeads,
    headDim: divideExactly(f, 'n_embd', hiddenSize, 'n_head', numHeads),
    intermediateSize: f.optionalPositiveInt('n_inner') ?? 4 * hiddenSize,
    normEps: f.optionalPositiveNumber('layer_norm_epsilon') ?? 1e-5,
    ropeTheta: 0,
    maxPositions: f.optionalPositiveInt('n_positions') ?? 1024,
    maxPositionsFrom: 'n_positions',
    attentionBias: true,
    tieWordEmbeddings: true,
    activation: 'gelu_new',
    ...specialTokens(f, vocabSize),
  };
}

function divideExactly(f: Fields, name: string, value: number, byName: string, by: number): number {
  if (value % by !== 0) f.fail(name, `${value} is not divisible by ${byName}=${by}`);
  return value / by;
}

export interface SpecialTokens {
  bosTokenId: number | undefined;
  eosTokenIds: number[];
  padTokenId: number | undefined;
}

/**
 * bos/eos/pad ids as config.json and generation_config.json both write them, each below the
 * model's vocab_size: an id outside the vocabulary is never sampled, so an EOS there would never
 * end a generation.
 */
export function specialTokens(f: Fields, vocabSize: number): SpecialTokens {
  return {
    bosTokenId: f.optionalTokenId('bos_token_id', vocabSize),
    eosTokenIds: f.tokenIdList('eos_token_id', vocabSize),
    padTokenId: f.optionalTokenId('pad_token_id', vocabSize),
  };
}

/**
 * Typed access to one JSON object's fields, failing with the file and field name. A field set to
 * null counts as absent, as transformers treats None.
 */
export class Fields {
  constructor(
    private readonly json: Record<string, unknown>,
    readonly source: string,
  ) {}

  has(name: string): boolean {
    return this.json[name] !== undefined && this.json[name] !== null;
  }

  /** Not written at all, as opposed to written as null (which some fields distinguish). */
  isAbsent(name: string): boolean {
    return !(name in this.json);
  }

  fail(name: string, problem: string): never {
    throw new Error(`${this.source}: field "${name}" ${problem}`);
  }

  private value(name: string): unknown {
    if (!this.has(name)) this.fail(name, 'is missing');
    return this.json[name];
  }

  private expected(name: string, kind: string): never {
    return this.fail(name, `must be ${kind}, found ${JSON.stringify(this.json[name])}`);
  }

  string(name: string): string {
    const v = this.value(name);
    return typeof v === 'string' ? v : this.expected(name, 'a string');
  }

  optionalString(name: string): string | undefined {
    return this.has(name) ? this.string(name) : undefined;
  }

  positiveInt(name: string): number {
    const v = this.value(name);
    return Number.isSafeInteger(v) && (v as number) > 0 ? (v as number) : this.expected(name, 'a positive integer');
  }

  optionalPositiveInt(name: string): number | undefined {
    return this.has(name) ? this.positiveInt(name) : undefined;
  }

  optionalPositiveNumber(name: string): number | undefined {
    if (!this.has(name)) return undefined;
    const v = this.json[name];
    return typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : this.expected(name, 'a positive number');
  }

  optionalNumber(name: string): number | undefined {
    if (!this.has(name)) return undefined;
    const v = this.json[name];
    return typeof v === 'number' && Number.isFinite(v) ? v : this.expected(name, 'a number');
  }

  optionalBoolean(name: string): boolean | undefined {
    if (!this.has(name)) return undefined;
    const v = this.json[name];
    return typeof v === 'boolean' ? v : this.expected(name, 'true or false');
  }

  optionalObject(name: string): Record<string, unknown> | undefined {
    if (!this.has(name)) return undefined;
    const v = this.json[name];
    return typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : this.expected(name, 'an object');
  }

  /** A token id below `vocabSize`; some configs write -1 for "no such token", read as absent. */
  optionalTokenId(name: string, vocabSize: number): number | undefined {
    if (!this.has(name)) return undefined;
    const v = this.json[name];
    if (!isTokenIdOrNone(v)) this.expected(name, 'a token id (integer)');
    return this.inVocabulary(name, [v], vocabSize)[0];
  }

  /** A token id or a list of them (eos_token_id is either), each below `vocabSize`; absent gives []. */
  tokenIdList(name: string, vocabSize: number): number[] {
    if (!this.has(name)) return [];
    const v = this.json[name];
    const list = Array.isArray(v) ? v : [v];
    if (!list.every(isTokenIdOrNone)) this.expected(name, 'a token id or a list of token ids');
    return this.inVocabulary(name, list as number[], vocabSize);
  }

  /** The ids without the -1s that mean none; any other id outside [0, vocabSize) fails. */
  private inVocabulary(name: string, ids: readonly number[], vocabSize: number): number[] {
    const outside = ids.find((id) => id < NO_TOKEN || id >= vocabSize);
    if (outside !== undefined) {
      this.fail(name, `has ${outside}, which is not a token of the model's vocabulary (ids 0 to ${vocabSize - 1}, vocab_size ${vocabSize}; -1 means none)`);
    }
    return ids.filter((id) => id !== NO_TOKEN);
  }
}

/** What some exports write for "no such token" (a pad id of -1, as in early Llama conversions). */
const NO_TOKEN = -1;

function isTokenIdOrNone(v: unknown): v is number {
  return Number.isSafeInteger(v);
}
