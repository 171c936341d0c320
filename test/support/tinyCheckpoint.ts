// Tiny Hugging Face model folders for tests: a config.json with the field names transformers
// writes, random weights (deterministic from a seed) in safetensors, and optionally a sharded
// layout, a generation_config.json and a byte-level BPE tokenizer.json (or, by writeTinyModel,
// the shipped tiny model's tokenizer). The returned tensors hold
// exactly the values a reader gets back (already rounded through the chosen dtype), so tests can
// compute references in JavaScript.
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bf16ToF32, f16ToF32, f32ToBf16Bits, f32ToF16Bits, writeSafetensors, type TensorToWrite } from '../../engine/src/checkpoint/safetensors';
import type { DTypeName } from '../../engine/src/checkpoint/types';
// The same tokenizer.json sections the corpus tools write for the real tokenizer.
import { bpeModelSection, specialTokenFields } from '../../tools/corpus/lib/tokenizerFiles';

export interface TinyCheckpointOptions {
  family: 'llama' | 'gpt2';
  /** llama, qwen2, qwen3 or mistral for the llama family; gpt2 for gpt2. Default: the family's name. */
  modelType?: string;
  layers?: number;
  hidden?: number;
  heads?: number;
  /** Key/value heads (llama family); default heads. */
  kvHeads?: number;
  /** Written as head_dim in config.json when given; otherwise hidden / heads. */
  headDim?: number;
  intermediate?: number;
  vocab?: number;
  maxPositions?: number;
  /** Tied embeddings (llama family); gpt2 is always tied. Default false. */
  tied?: boolean;
  /** q/k/v biases: only qwen2 has them, and always; default modelType === 'qwen2'. */
  attentionBias?: boolean;
  dtype?: DTypeName;
  seed?: number;
  /** Standard deviation of the random matrices; default 0.02. */
  std?: number;
  ropeTheta?: number;
  normEps?: number;
  /** More than 1 writes model-0000i-of-0000n.safetensors files and model.safetensors.index.json. */
  shards?: number;
  /** GPT-2 only: write names with this prefix, as some exports do ('transformer.'). */
  namePrefix?: string;
  /** Fields merged over the generated config.json (null deletes a field). */
  configOverrides?: Record<string, unknown>;
  /** Written as generation_config.json when given. */
  generationConfig?: Record<string, unknown>;
  /** Also write the tiny byte-level BPE tokenizer.json; vocab must then be ≥ TINY_TOKENIZER_SIZE. */
  tokenizer?: boolean;
}

export interface TinyCheckpoint {
  dir: string;
  /** The config.json object as written. */
  config: Record<string, unknown>;
  /** Every tensor by its unprefixed name, holding the values as read back: [prod(shape)]. */
  tensors: Record<string, Float32Array>;
  shapes: Record<string, number[]>;
  /** The weight files written, relative to dir. */
  files: string[];
}

interface Resolved {
  family: 'llama' | 'gpt2';
  modelType: string;
  layers: number;
  hidden: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  intermediate: number;
  vocab: number;
  maxPositions: number;
  tied: boolean;
  attentionBias: boolean;
  dtype: DTypeName;
  seed: number;
  std: number;
}

export function writeTinyCheckpoint(dir: string, options: TinyCheckpointOptions): TinyCheckpoint {
  const o = resolveOptions(options);
  mkdirSync(dir, { recursive: true });
  const config = applyOverrides(o.family === 'llama' ? llamaConfig(o, options) : gpt2Config(o, options), options.configOverrides);
  writeJson(join(dir, 'config.json'), config);
  const specs = o.family === 'llama' ? llamaTensorSpecs(o) : gpt2TensorSpecs(o);
  const tensors: Record<string, Float32Array> = {};
  const shapes: Record<string, number[]> = {};
  for (const spec of specs) {
    tensors[spec.name] = storedValues(randomTensor(spec, o), o.dtype);
    shapes[spec.name] = spec.shape;
  }
  const prefix = o.family === 'gpt2' ? (options.namePrefix ?? '') : '';
  const files = writeWeights(dir, tensors, shapes, o.dtype, prefix, options.shards ?? 1);
  if (options.generationConfig) writeJson(join(dir, 'generation_config.json'), options.generationConfig);
  if (options.tokenizer) {
    if (o.vocab < TINY_TOKENIZER_SIZE) throw new Error(`tinyCheckpoint: the tokenizer needs vocab ≥ ${TINY_TOKENIZER_SIZE}, got ${o.vocab}`);
    writeJson(join(dir, 'tokenizer.json'), tinyTokenizerJson());
  }
  return { dir, config, tensors, shapes, files };
}

/** The model the task and server tests train on: a few seconds of CPU, the shipped tokenizer's vocabulary. */
export const TINY_TASK_MODEL: TinyCheckpointOptions = { family: 'llama', layers: 4, hidden: 32, heads: 4, kvHeads: 2, intermediate: 48, vocab: 4096, std: 0.1, seed: 5, maxPositions: 1024 };

/**
 * A tiny random model that reads text with the shipped tiny model's tokenizer (copied from
 * models/hdlm-tiny below `repoRoot`), so the engine loads it like any Hugging Face folder.
 * `overrides` change TINY_TASK_MODEL's shape or seed.
 */
export function writeTinyModel(dir: string, repoRoot: string, overrides: Partial<TinyCheckpointOptions> = {}): TinyCheckpoint {
  const written = writeTinyCheckpoint(dir, { ...TINY_TASK_MODEL, ...overrides });
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) copyFileSync(join(repoRoot, 'models', 'hdlm-tiny', f), join(dir, f));
  return written;
}

function resolveOptions(options: TinyCheckpointOptions): Resolved {
  const family = options.family;
  const modelType = options.modelType ?? family;
  if (family === 'gpt2' && modelType !== 'gpt2') throw new Error(`tinyCheckpoint: family gpt2 has model_type gpt2, not ${modelType}`);
  const attentionBias = options.attentionBias ?? (family === 'gpt2' || modelType === 'qwen2');
  if (family === 'llama' && attentionBias !== (modelType === 'qwen2')) {
    throw new Error(`tinyCheckpoint: q/k/v biases come with model_type qwen2 (and only with it), not ${modelType}`);
  }
  const hidden = options.hidden ?? 32;
  const heads = options.heads ?? 4;
  return {
    family,
    modelType,
    layers: options.layers ?? 2,
    hidden,
    heads,
    kvHeads: family === 'gpt2' ? heads : (options.kvHeads ?? heads),
    headDim: options.headDim ?? hidden / heads,
    intermediate: options.intermediate ?? (family === 'gpt2' ? 4 * hidden : 64),
    vocab: options.vocab ?? (options.tokenizer ? Math.ceil(TINY_TOKENIZER_SIZE / 8) * 8 : 64),
    maxPositions: options.maxPositions ?? 128,
    tied: family === 'gpt2' ? true : (options.tied ?? false),
    attentionBias,
    dtype: options.dtype ?? 'F32',
    seed: options.seed ?? 1,
    std: options.std ?? 0.02,
  };
}

// ---- config.json ------------------------------------------------------------------------------

function llamaConfig(o: Resolved, options: TinyCheckpointOptions): Record<string, unknown> {
  const architectures = { llama: 'LlamaForCausalLM', qwen2: 'Qwen2ForCausalLM', qwen3: 'Qwen3ForCausalLM', mistral: 'MistralForCausalLM' }[o.modelType];
  const config: Record<string, unknown> = {
    architectures: [architectures ?? 'LlamaForCausalLM'],
    model_type: o.modelType,
    vocab_size: o.vocab,
    hidden_size: o.hidden,
    intermediate_size: o.intermediate,
    num_hidden_layers: o.layers,
    num_attention_heads: o.heads,
    num_key_value_heads: o.kvHeads,
    hidden_act: 'silu',
    max_position_embeddings: o.maxPositions,
    initializer_range: o.std,
    rms_norm_eps: options.normEps ?? 1e-6,
    rope_theta: options.ropeTheta ?? 10000,
    rope_scaling: null,
    tie_word_embeddings: o.tied,
    use_cache: true,
    ...specialIds(o, options),
    torch_dtype: { F32: 'float32', F16: 'float16', BF16: 'bfloat16' }[o.dtype],
    transformers_version: '4.46.0',
  };
  if (options.headDim !== undefined) config['head_dim'] = options.headDim;
  if (o.modelType === 'llama') Object.assign(config, { attention_bias: false, mlp_bias: false, pretraining_tp: 1 });
  if (o.modelType === 'qwen2') Object.assign(config, { use_sliding_window: false, sliding_window: null, max_window_layers: o.layers });
  if (o.modelType === 'qwen3') Object.assign(config, { attention_bias: false, use_sliding_window: false, sliding_window: null, max_window_layers: o.layers, head_dim: o.headDim });
  if (o.modelType === 'mistral') config['sliding_window'] = null;
  return config;
}

function gpt2Config(o: Resolved, options: TinyCheckpointOptions): Record<string, unknown> {
  return {
    architectures: ['GPT2LMHeadModel'],
    model_type: 'gpt2',
    vocab_size: o.vocab,
    n_embd: o.hidden,
    n_layer: o.layers,
    n_head: o.heads,
    n_positions: o.maxPositions,
    n_ctx: o.maxPositions,
    n_inner: o.intermediate === 4 * o.hidden ? null : o.intermediate,
    activation_function: 'gelu_new',
    layer_norm_epsilon: options.normEps ?? 1e-5,
    resid_pdrop: 0.1,
    embd_pdrop: 0.1,
    attn_pdrop: 0.1,
    initializer_range: o.std,
    scale_attn_weights: true,
    use_cache: true,
    ...specialIds(o, options),
    transformers_version: '4.46.0',
  };
}

/** With the tiny tokenizer, its one special token is BOS and EOS; otherwise ids like the real models'. */
function specialIds(o: Resolved, options: TinyCheckpointOptions): { bos_token_id: number; eos_token_id: number } {
  if (options.tokenizer) return { bos_token_id: TINY_TOKENIZER_SIZE - 1, eos_token_id: TINY_TOKENIZER_SIZE - 1 };
  return o.family === 'gpt2' ? { bos_token_id: o.vocab - 1, eos_token_id: o.vocab - 1 } : { bos_token_id: 1, eos_token_id: 2 };
}

function applyOverrides(config: Record<string, unknown>, overrides: Record<string, unknown> | undefined): Record<string, unknown> {
  for (const [key, value] of Object.entries(overrides ?? {})) {
    if (value === null) delete config[key];
    else config[key] = value;
  }
  return config;
}

function writeJson(path: string, value: unknown): void {
  writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`);
}

// ---- Weights ----------------------------------------------------------------------------------

/** How a tensor is initialised: random around 0, or around 1 (norm scales). */
interface TensorSpec {
  name: string;
  shape: number[];
  kind: 'matrix' | 'bias' | 'scale';
}

function llamaTensorSpecs(o: Resolved): TensorSpec[] {
  const q = o.heads * o.headDim;
  const kv = o.kvHeads * o.headDim;
  const specs: TensorSpec[] = [{ name: 'model.embed_tokens.weight', shape: [o.vocab, o.hidden], kind: 'matrix' }];
  for (let i = 0; i < o.layers; i++) {
    const p = `model.layers.${i}`;
    specs.push(
      { name: `${p}.input_layernorm.weight`, shape: [o.hidden], kind: 'scale' },
      { name: `${p}.self_attn.q_proj.weight`, shape: [q, o.hidden], kind: 'matrix' },
      { name: `${p}.self_attn.k_proj.weight`, shape: [kv, o.hidden], kind: 'matrix' },
      { name: `${p}.self_attn.v_proj.weight`, shape: [kv, o.hidden], kind: 'matrix' },
      { name: `${p}.self_attn.o_proj.weight`, shape: [o.hidden, q], kind: 'matrix' },
      { name: `${p}.post_attention_layernorm.weight`, shape: [o.hidden], kind: 'scale' },
      { name: `${p}.mlp.gate_proj.weight`, shape: [o.intermediate, o.hidden], kind: 'matrix' },
      { name: `${p}.mlp.up_proj.weight`, shape: [o.intermediate, o.hidden], kind: 'matrix' },
      { name: `${p}.mlp.down_proj.weight`, shape: [o.hidden, o.intermediate], kind: 'matrix' },
    );
    if (o.modelType === 'qwen3') {
      specs.push({ name: `${p}.self_attn.q_norm.weight`, shape: [o.headDim], kind: 'scale' }, { name: `${p}.self_attn.k_norm.weight`, shape: [o.headDim], kind: 'scale' });
    }
    if (o.attentionBias) {
      specs.push(
        { name: `${p}.self_attn.q_proj.bias`, shape: [q], kind: 'bias' },
        { name: `${p}.self_attn.k_proj.bias`, shape: [kv], kind: 'bias' },
        { name: `${p}.self_attn.v_proj.bias`, shape: [kv], kind: 'bias' },
      );
    }
  }
  specs.push({ name: 'model.norm.weight', shape: [o.hidden], kind: 'scale' });
  if (!o.tied) specs.push({ name: 'lm_head.weight', shape: [o.vocab, o.hidden], kind: 'matrix' });
  return specs;
}

function gpt2TensorSpecs(o: Resolved): TensorSpec[] {
  const H = o.hidden;
  const specs: TensorSpec[] = [
    { name: 'wte.weight', shape: [o.vocab, H], kind: 'matrix' },
    { name: 'wpe.weight', shape: [o.maxPositions, H], kind: 'matrix' },
  ];
  for (let i = 0; i < o.layers; i++) {
    const p = `h.${i}`;
    specs.push(
      { name: `${p}.ln_1.weight`, shape: [H], kind: 'scale' },
      { name: `${p}.ln_1.bias`, shape: [H], kind: 'bias' },
      { name: `${p}.attn.c_attn.weight`, shape: [H, 3 * H], kind: 'matrix' },
      { name: `${p}.attn.c_attn.bias`, shape: [3 * H], kind: 'bias' },
      { name: `${p}.attn.c_proj.weight`, shape: [H, H], kind: 'matrix' },
      { name: `${p}.attn.c_proj.bias`, shape: [H], kind: 'bias' },
      { name: `${p}.ln_2.weight`, shape: [H], kind: 'scale' },
      { name: `${p}.ln_2.bias`, shape: [H], kind: 'bias' },
      { name: `${p}.mlp.c_fc.weight`, shape: [H, o.intermediate], kind: 'matrix' },
      { name: `${p}.mlp.c_fc.bias`, shape: [o.intermediate], kind: 'bias' },
      { name: `${p}.mlp.c_proj.weight`, shape: [o.intermediate, H], kind: 'matrix' },
      { name: `${p}.mlp.c_proj.bias`, shape: [H], kind: 'bias' },
    );
  }
  specs.push({ name: 'ln_f.weight', shape: [H], kind: 'scale' }, { name: 'ln_f.bias', shape: [H], kind: 'bias' });
  return specs;
}

/**
 * Each tensor draws from its own stream, seeded by the checkpoint seed and the tensor's name, so
 * its values do not depend on which other tensors exist or on the order they are written in.
 */
function randomTensor(spec: TensorSpec, o: Resolved): Float32Array {
  const normal = normalStream(o.seed ^ hashName(spec.name));
  const out = new Float32Array(spec.shape.reduce((a, b) => a * b, 1));
  // Norm scales sit around 1 (as initialised) but not at 1, so a test notices one that is skipped.
  const [centre, spread] = spec.kind === 'scale' ? [1, 0.1] : [0, o.std];
  for (let i = 0; i < out.length; i++) out[i] = centre + spread * normal();
  return out;
}

/** The values a reader gets back after the tensor is stored as `dtype`. */
function storedValues(values: Float32Array, dtype: DTypeName): Float32Array {
  if (dtype === 'F32') return values;
  const bits = new Uint16Array(values.length);
  const out = new Float32Array(values.length);
  if (dtype === 'F16') {
    for (let i = 0; i < values.length; i++) bits[i] = f32ToF16Bits(values[i]!);
    f16ToF32(bits, out);
  } else {
    for (let i = 0; i < values.length; i++) bits[i] = f32ToBf16Bits(values[i]!);
    bf16ToF32(bits, out);
  }
  return out;
}

function writeWeights(
  dir: string,
  tensors: Record<string, Float32Array>,
  shapes: Record<string, number[]>,
  dtype: DTypeName,
  prefix: string,
  shards: number,
): string[] {
  const names = Object.keys(tensors);
  const fileOf = (i: number): string =>
    shards === 1 ? 'model.safetensors' : `model-${String(i + 1).padStart(5, '0')}-of-${String(shards).padStart(5, '0')}.safetensors`;
  const groups: Record<string, Record<string, TensorToWrite>> = {};
  const weightMap: Record<string, string> = {};
  names.forEach((name, i) => {
    // Contiguous runs of tensors per shard, as transformers splits them.
    const file = fileOf(Math.floor((i * shards) / names.length));
    (groups[file] ??= {})[prefix + name] = { dtype, shape: shapes[name]!, data: tensors[name]! };
    weightMap[prefix + name] = file;
  });
  for (const [file, group] of Object.entries(groups)) writeSafetensors(join(dir, file), group, { format: 'pt' });
  if (shards > 1) {
    const totalSize = names.reduce((sum, n) => sum + tensors[n]!.length * (dtype === 'F32' ? 4 : 2), 0);
    writeJson(join(dir, 'model.safetensors.index.json'), { metadata: { total_size: totalSize }, weight_map: weightMap });
  }
  return Object.keys(groups);
}

// ---- Seeded randomness ------------------------------------------------------------------------

function hashName(name: string): number {
  // FNV-1a over the UTF-16 code units: a cheap, stable 32-bit hash.
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** Uniform numbers in [0, 1) from a 32-bit state (a SplitMix32-style mixer). */
export function uniformStream(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return ((z ^ (z >>> 16)) >>> 0) / 4294967296;
  };
}

/** Standard normal numbers by the Box-Muller transform, two per pair of uniforms. */
export function normalStream(seed: number): () => number {
  const uniform = uniformStream(seed);
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) {
      const value = spare;
      spare = undefined;
      return value;
    }
    const u1 = 1 - uniform(); // in (0, 1], so the logarithm is finite
    const u2 = uniform();
    const radius = Math.sqrt(-2 * Math.log(u1));
    spare = radius * Math.sin(2 * Math.PI * u2);
    return radius * Math.cos(2 * Math.PI * u2);
  };
}

// ---- A tiny byte-level BPE tokenizer ----------------------------------------------------------

/** Merges in rank order; each adds one token after the 256 byte tokens. */
const TINY_MERGES = ['h e', 'l l', 'Ġ t', 'Ġt he', 'll o', 'Ġ w'];
export const TINY_SPECIAL = '<|endoftext|>';
/** Byte tokens + merged tokens + the special token. */
export const TINY_TOKENIZER_SIZE = 256 + TINY_MERGES.length + 1;

/**
 * GPT-2's reversible byte → printable character map: printable Latin-1 bytes stand for
 * themselves, every other byte for a character from 256 up, in byte order.
 */
export function byteToUnicode(): string[] {
  const out: string[] = [];
  let next = 256;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
    out.push(String.fromCharCode(printable ? b : next++));
  }
  return out;
}

/**
 * A byte-level BPE tokenizer.json: byte b has id b, merges follow, and `<|endoftext|>`
 * (id TINY_TOKENIZER_SIZE-1) is prepended as BOS by its post-processor.
 */
export function tinyTokenizerJson(): Record<string, unknown> {
  const vocab: Record<string, number> = {};
  byteToUnicode().forEach((ch, b) => (vocab[ch] = b));
  TINY_MERGES.forEach((merge, i) => (vocab[merge.replace(' ', '')] = 256 + i));
  const bos = TINY_TOKENIZER_SIZE - 1;
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [{ id: bos, ...specialTokenFields(TINY_SPECIAL) }],
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: TINY_SPECIAL, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [{ SpecialToken: { id: TINY_SPECIAL, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }],
      special_tokens: { [TINY_SPECIAL]: { id: TINY_SPECIAL, ids: [bos], tokens: [TINY_SPECIAL] } },
    },
    decoder: byteLevel,
    model: bpeModelSection(vocab, TINY_MERGES),
  };
}

// ---- A tiny SentencePiece-style tokenizer -----------------------------------------------------

/** Words it keeps whole, each built from its characters by merges (in this order of rank). */
const SENTENCE_PIECE_WORDS = ['▁the', '▁cat', '▁sat', '▁on', '▁mat', '▁Hello', '▁world', '▁猫', 'の'];
const SENTENCE_PIECE_SPECIAL = ['<unk>', '<s>', '</s>'];

/**
 * A SentencePiece-style BPE tokenizer.json, laid out as transformers converts Llama 2's and
 * Mistral's: a text's spaces are "▁" (one put before its start), SENTENCE_PIECE_WORDS are merged
 * whole, other printable ASCII characters are one token each, and any other character is its
 * UTF-8 bytes (<0xF0><0x9F>…: byte fallback). <unk> 0, <s> 1 and </s> 2 are special, bytes
 * follow from 3. `decoder` 'strip' is theirs: "▁" to a space, bytes to characters, the tokens
 * joined, the text's first space dropped. 'metaspace' is the Metaspace decoder (each "▁" a space,
 * the first token's dropped) after the bytes are made characters.
 */
export function sentencePieceTokenizerJson(decoder: 'strip' | 'metaspace'): Record<string, unknown> {
  const vocab: Record<string, number> = {};
  const add = (token: string): void => void (vocab[token] ??= Object.keys(vocab).length);
  SENTENCE_PIECE_SPECIAL.forEach(add);
  for (let b = 0; b < 256; b++) add(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
  add('▁');
  for (let c = 33; c < 127; c++) add(String.fromCharCode(c));
  const merges: [string, string][] = [];
  for (const word of SENTENCE_PIECE_WORDS) {
    const [first, ...rest] = Array.from(word);
    add(first!);
    let built = first!;
    for (const ch of rest) {
      add(ch);
      merges.push([built, ch]);
      built += ch;
      add(built);
    }
  }
  const decoders = {
    strip: { type: 'Sequence', decoders: [{ type: 'Replace', pattern: { String: '▁' }, content: ' ' }, { type: 'ByteFallback' }, { type: 'Fuse' }, { type: 'Strip', content: ' ', start: 1, stop: 0 }] },
    metaspace: { type: 'Sequence', decoders: [{ type: 'ByteFallback' }, { type: 'Metaspace', replacement: '▁', prepend_scheme: 'first', split: false }] },
  };
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SENTENCE_PIECE_SPECIAL.map((content, id) => ({ id, ...specialTokenFields(content) })),
    normalizer: null,
    pre_tokenizer: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'first', split: false },
    post_processor: null,
    decoder: decoders[decoder],
    model: { ...bpeModelSection(vocab, merges), unk_token: '<unk>', fuse_unk: true, byte_fallback: true },
  };
}
