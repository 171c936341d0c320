// Architectures keyed by family. Each says how to build its segment graphs, how to embed tokens
// (in JavaScript, so every segment graph starts from hidden states), and what its own head is.
import type { BuiltGraph } from '../onnx/graph';
import type { ArchFamily, ModelConfig, WeightStore } from '../checkpoint/types';
import { tokenTable, type TokenTable } from '../model/tokenTable';
import type { HeadWeights } from './head';
import { buildGpt2Segment } from './gpt2';
import { buildLlamaSegment } from './llama';
import type { SegmentOptions } from './ops';

export interface Architecture {
  family: ArchFamily;
  /** Layers [first, end) as a graph, its large weights deferred (computed only where a cache lacks them). */
  buildSegment(config: ModelConfig, weights: WeightStore, first: number, end: number, options: SegmentOptions): BuiltGraph;
  /** Token embedding rows [V, H] (and learned positions [P, H] where the architecture has them). */
  embeddings(config: ModelConfig, weights: WeightStore): { tokens: TokenTable; positions?: Float32Array };
  ownHead(config: ModelConfig, weights: WeightStore): HeadWeights;
}

const llama: Architecture = {
  family: 'llama',
  buildSegment: buildLlamaSegment,
  embeddings: (c, w) => ({ tokens: tokenTable(w, 'model.embed_tokens.weight', c.vocabSize, c.hiddenSize) }),
  ownHead: (c, w) => ({
    norm: { kind: 'rms', weight: w.get('model.norm.weight', [c.hiddenSize]), eps: c.normEps },
    weight: c.tieWordEmbeddings ? w.get('model.embed_tokens.weight', [c.vocabSize, c.hiddenSize]) : w.get('lm_head.weight', [c.vocabSize, c.hiddenSize]),
    vocabSize: c.vocabSize,
    hiddenSize: c.hiddenSize,
  }),
};

const gpt2: Architecture = {
  family: 'gpt2',
  buildSegment: buildGpt2Segment,
  embeddings: (c, w) => ({
    tokens: tokenTable(w, 'wte.weight', c.vocabSize, c.hiddenSize),
    positions: w.get('wpe.weight', [c.maxPositions, c.hiddenSize]),
  }),
  ownHead: (c, w) => ({
    norm: { kind: 'layer', weight: w.get('ln_f.weight', [c.hiddenSize]), bias: w.get('ln_f.bias', [c.hiddenSize]), eps: c.normEps },
    weight: w.get('wte.weight', [c.vocabSize, c.hiddenSize]),
    vocabSize: c.vocabSize,
    hiddenSize: c.hiddenSize,
  }),
};

const registry = new Map<ArchFamily, Architecture>([
  ['llama', llama],
  ['gpt2', gpt2],
]);

export function architectureFor(config: ModelConfig): Architecture {
  const arch = registry.get(config.family);
  if (!arch) throw new Error(`no graph builder for the ${config.family} family (model_type ${config.modelType})`);
  return arch;
}
