// A random-weight Llama-family checkpoint held in memory (no files), for graph tests that do not
// need the checkpoint reader. Deterministic for a seed.
import { UNSET_GENERATION } from '../../engine/src/checkpoint/checkpoint';
import type { Checkpoint, ModelConfig, RopeScaling, WeightStore } from '../../engine/src/checkpoint/types';

export interface TinyLlamaShape {
  layers: number;
  hidden: number;
  heads: number;
  kvHeads: number;
  intermediate: number;
  vocab: number;
  attentionBias?: boolean;
  tied?: boolean;
  seed?: number;
  ropeScaling?: RopeScaling;
  /** Qwen3's per-head query/key RMS norms (the config says model_type qwen3). */
  qkNorm?: boolean;
}

/** Mulberry32: a small seeded generator, good enough for test weights. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function tinyLlamaConfig(shape: TinyLlamaShape): ModelConfig {
  return {
    modelType: shape.qkNorm ? 'qwen3' : 'llama',
    family: 'llama',
    vocabSize: shape.vocab,
    hiddenSize: shape.hidden,
    numLayers: shape.layers,
    numHeads: shape.heads,
    numKvHeads: shape.kvHeads,
    headDim: shape.hidden / shape.heads,
    intermediateSize: shape.intermediate,
    normEps: 1e-5,
    ropeTheta: 10000,
    ...(shape.ropeScaling ? { ropeScaling: shape.ropeScaling } : {}),
    ...(shape.qkNorm ? { qkNorm: true } : {}),
    maxPositions: 512,
    attentionBias: shape.attentionBias ?? false,
    tieWordEmbeddings: shape.tied ?? false,
    activation: 'silu',
    bosTokenId: 1,
    eosTokenIds: [2],
    padTokenId: 0,
  };
}

export class MemoryWeights implements WeightStore {
  constructor(readonly tensors: Map<string, { shape: number[]; data: Float32Array }>) {}
  names(): string[] {
    return [...this.tensors.keys()];
  }
  has(name: string): boolean {
    return this.tensors.has(name);
  }
  shape(name: string): number[] | undefined {
    return this.tensors.get(name)?.shape;
  }
  dtype(name: string): 'F32' | undefined {
    return this.tensors.has(name) ? 'F32' : undefined;
  }
  get(name: string, expectedShape: readonly number[]): Float32Array {
    const t = this.tensors.get(name);
    if (!t) throw new Error(`memory: ${name} is missing`);
    if (t.shape.join(',') !== expectedShape.join(',')) throw new Error(`memory: ${name} has shape [${t.shape}], expected [${expectedShape}]`);
    return t.data;
  }
}

export function tinyLlamaCheckpoint(shape: TinyLlamaShape): Checkpoint {
  const config = tinyLlamaConfig(shape);
  const rand = seededRandom(shape.seed ?? 1);
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  const add = (name: string, dims: number[], kind: 'normal' | 'norm' = 'normal'): void => {
    const size = dims.reduce((a, b) => a * b, 1);
    // Norm weights near 1, others with a std that keeps activations O(1) through a few layers.
    const data = Float32Array.from({ length: size }, () => (kind === 'norm' ? 1 + 0.1 * (rand() - 0.5) : 0.35 * (rand() * 2 - 1)));
    tensors.set(name, { shape: dims, data });
  };
  const { hiddenSize: H, numHeads: nH, numKvHeads: kvH, headDim: D, intermediateSize: I, vocabSize: V } = config;
  add('model.embed_tokens.weight', [V, H]);
  for (let l = 0; l < config.numLayers; l++) {
    const p = `model.layers.${l}`;
    add(`${p}.input_layernorm.weight`, [H], 'norm');
    add(`${p}.self_attn.q_proj.weight`, [nH * D, H]);
    add(`${p}.self_attn.k_proj.weight`, [kvH * D, H]);
    add(`${p}.self_attn.v_proj.weight`, [kvH * D, H]);
    if (config.attentionBias) {
      add(`${p}.self_attn.q_proj.bias`, [nH * D]);
      add(`${p}.self_attn.k_proj.bias`, [kvH * D]);
      add(`${p}.self_attn.v_proj.bias`, [kvH * D]);
    }
    if (config.qkNorm) {
      add(`${p}.self_attn.q_norm.weight`, [D], 'norm');
      add(`${p}.self_attn.k_norm.weight`, [D], 'norm');
    }
    add(`${p}.self_attn.o_proj.weight`, [H, nH * D]);
    add(`${p}.post_attention_layernorm.weight`, [H], 'norm');
    add(`${p}.mlp.gate_proj.weight`, [I, H]);
    add(`${p}.mlp.up_proj.weight`, [I, H]);
    add(`${p}.mlp.down_proj.weight`, [H, I]);
  }
  add('model.norm.weight', [H], 'norm');
  if (!config.tieWordEmbeddings) add('lm_head.weight', [V, H]);
  return {
    dir: '(memory)',
    config,
    weights: new MemoryWeights(tensors),
    tokenizerPath: undefined,
    generation: { eosTokenIds: [2], bosTokenId: 1, padTokenId: 0, ...UNSET_GENERATION },
    fingerprint: `memory-${shape.seed ?? 1}`,
  };
}

export function tinyGpt2Checkpoint(shape: { layers: number; hidden: number; heads: number; vocab: number; positions: number; seed?: number }): Checkpoint {
  const config: ModelConfig = {
    ...tinyLlamaConfig({ ...shape, kvHeads: shape.heads, intermediate: 4 * shape.hidden }),
    modelType: 'gpt2',
    family: 'gpt2',
    ropeTheta: 0,
    maxPositions: shape.positions,
    attentionBias: true,
    tieWordEmbeddings: true,
    activation: 'gelu_new',
  };
  const rand = seededRandom(shape.seed ?? 3);
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  const add = (name: string, dims: number[], kind: 'normal' | 'norm' = 'normal'): void => {
    const size = dims.reduce((a, b) => a * b, 1);
    tensors.set(name, { shape: dims, data: Float32Array.from({ length: size }, () => (kind === 'norm' ? 1 + 0.1 * (rand() - 0.5) : 0.3 * (rand() * 2 - 1))) });
  };
  const { hiddenSize: H, intermediateSize: I, vocabSize: V } = config;
  add('wte.weight', [V, H]);
  add('wpe.weight', [shape.positions, H]);
  for (let l = 0; l < shape.layers; l++) {
    const p = `h.${l}`;
    add(`${p}.ln_1.weight`, [H], 'norm');
    add(`${p}.ln_1.bias`, [H]);
    add(`${p}.attn.c_attn.weight`, [H, 3 * H]);
    add(`${p}.attn.c_attn.bias`, [3 * H]);
    add(`${p}.attn.c_proj.weight`, [H, H]);
    add(`${p}.attn.c_proj.bias`, [H]);
    add(`${p}.ln_2.weight`, [H], 'norm');
    add(`${p}.ln_2.bias`, [H]);
    add(`${p}.mlp.c_fc.weight`, [H, I]);
    add(`${p}.mlp.c_fc.bias`, [I]);
    add(`${p}.mlp.c_proj.weight`, [I, H]);
    add(`${p}.mlp.c_proj.bias`, [H]);
  }
  add('ln_f.weight', [H], 'norm');
  add('ln_f.bias', [H]);
  return { ...tinyLlamaCheckpoint({ layers: 1, hidden: 2, heads: 1, kvHeads: 1, intermediate: 2, vocab: 2 }), config, weights: new MemoryWeights(tensors), fingerprint: 'memory-gpt2' };
}
