// The tensors each architecture family needs, under their Hugging Face names, with the shape the
// config implies. Loading checks a checkpoint against this list before any graph is built, so a
// wrong config or a truncated export fails once, with every problem listed, instead of deep in a
// graph builder.
import type { ModelConfig } from './types';

export interface ExpectedTensor {
  name: string;
  shape: number[];
  /** How each dimension follows from the config, for error messages: "hidden_size=128". */
  dims: string[];
}

export function expectedTensors(config: ModelConfig): ExpectedTensor[] {
  return config.family === 'llama' ? llamaTensors(config) : gpt2Tensors(config);
}

/** The decoder layer a tensor belongs to (`model.layers.7.…`, GPT-2's `h.7.…`), or undefined. */
export function layerOf(config: ModelConfig, name: string): number | undefined {
  const match = (config.family === 'llama' ? /^model\.layers\.(\d+)\./ : /^h\.(\d+)\./).exec(name);
  return match ? Number(match[1]) : undefined;
}

/** The name prefix of layer `i`'s tensors. */
export function layerPrefix(config: ModelConfig, i: number): string {
  return config.family === 'llama' ? `model.layers.${i}` : `h.${i}`;
}

/** The config.json field that counts the layers, for messages. */
export function layerCountField(config: ModelConfig): string {
  return config.family === 'llama' ? 'num_hidden_layers' : 'n_layer';
}

/** A dimension with its explanation. */
interface Dim {
  size: number;
  why: string;
}

function tensor(name: string, ...dims: Dim[]): ExpectedTensor {
  return { name, shape: dims.map((d) => d.size), dims: dims.map((d) => d.why) };
}

function llamaTensors(c: ModelConfig): ExpectedTensor[] {
  const V: Dim = { size: c.vocabSize, why: `vocab_size=${c.vocabSize}` };
  const H: Dim = { size: c.hiddenSize, why: `hidden_size=${c.hiddenSize}` };
  const I: Dim = { size: c.intermediateSize, why: `intermediate_size=${c.intermediateSize}` };
  const Q: Dim = { size: c.numHeads * c.headDim, why: `num_attention_heads=${c.numHeads} × head_dim=${c.headDim}` };
  const KV: Dim = { size: c.numKvHeads * c.headDim, why: `num_key_value_heads=${c.numKvHeads} × head_dim=${c.headDim}` };
  const list = [tensor('model.embed_tokens.weight', V, H)];
  for (let i = 0; i < c.numLayers; i++) {
    const p = layerPrefix(c, i);
    list.push(
      tensor(`${p}.input_layernorm.weight`, H),
      tensor(`${p}.self_attn.q_proj.weight`, Q, H),
      tensor(`${p}.self_attn.k_proj.weight`, KV, H),
      tensor(`${p}.self_attn.v_proj.weight`, KV, H),
    );
    if (c.attentionBias) {
      list.push(tensor(`${p}.self_attn.q_proj.bias`, Q), tensor(`${p}.self_attn.k_proj.bias`, KV), tensor(`${p}.self_attn.v_proj.bias`, KV));
    }
    if (c.qkNorm) {
      const D: Dim = { size: c.headDim, why: `head_dim=${c.headDim}` };
      list.push(tensor(`${p}.self_attn.q_norm.weight`, D), tensor(`${p}.self_attn.k_norm.weight`, D));
    }
    list.push(
      tensor(`${p}.self_attn.o_proj.weight`, H, Q),
      tensor(`${p}.post_attention_layernorm.weight`, H),
      tensor(`${p}.mlp.gate_proj.weight`, I, H),
      tensor(`${p}.mlp.up_proj.weight`, I, H),
      tensor(`${p}.mlp.down_proj.weight`, H, I),
    );
  }
  list.push(tensor('model.norm.weight', H));
  // A tied checkpoint may still carry lm_head.weight; it is not needed, so it is not checked.
  if (!c.tieWordEmbeddings) list.push(tensor('lm_head.weight', V, H));
  return list;
}

/**
 * GPT-2 stores its projections as Conv1D weights, [in, out] — the transpose of nn.Linear. Names
 * are given without the `transformer.` prefix some exports add; the weight store accepts both.
 */
function gpt2Tensors(c: ModelConfig): ExpectedTensor[] {
  const V: Dim = { size: c.vocabSize, why: `vocab_size=${c.vocabSize}` };
  const P: Dim = { size: c.maxPositions, why: `n_positions=${c.maxPositions}` };
  const H: Dim = { size: c.hiddenSize, why: `n_embd=${c.hiddenSize}` };
  const H3: Dim = { size: 3 * c.hiddenSize, why: `3 × n_embd=${c.hiddenSize}` };
  const I: Dim = { size: c.intermediateSize, why: `n_inner=${c.intermediateSize}` };
  const list = [tensor('wte.weight', V, H), tensor('wpe.weight', P, H)];
  for (let i = 0; i < c.numLayers; i++) {
    const p = layerPrefix(c, i);
    list.push(
      tensor(`${p}.ln_1.weight`, H),
      tensor(`${p}.ln_1.bias`, H),
      tensor(`${p}.attn.c_attn.weight`, H, H3),
      tensor(`${p}.attn.c_attn.bias`, H3),
      tensor(`${p}.attn.c_proj.weight`, H, H),
      tensor(`${p}.attn.c_proj.bias`, H),
      tensor(`${p}.ln_2.weight`, H),
      tensor(`${p}.ln_2.bias`, H),
      tensor(`${p}.mlp.c_fc.weight`, H, I),
      tensor(`${p}.mlp.c_fc.bias`, I),
      tensor(`${p}.mlp.c_proj.weight`, I, H),
      tensor(`${p}.mlp.c_proj.bias`, H),
    );
  }
  list.push(tensor('ln_f.weight', H), tensor('ln_f.bias', H));
  return list;
}
