// Readout anywhere: the hidden state after any layer, through a language head (the model's own
// final norm + unembedding by default: the "logit lens"), as top-k tokens with probabilities.
// One call reads out every layer of a prompt; this feeds the layer view.
import { rankByProbability, softmax } from '../generate/logitsProcessors';
import type { LanguageHead } from './languageHead';
import type { RunOptions, SegmentedModel } from './segmentedModel';

interface TokenProbability {
  id: number;
  probability: number;
}

export interface LayerReadout {
  /** 0 = embeddings, L = last layer. */
  layer: number;
  /** Most likely next tokens at the prompt's last position, best first. */
  top: TokenProbability[];
}

/** The k most likely tokens of one row of logits. */
export function topTokens(logits: Float32Array, k: number): TokenProbability[] {
  const probs = softmax(logits);
  return Array.from(rankByProbability(probs).subarray(0, k), (id) => ({ id, probability: probs[id]! }));
}

/**
 * Reads out every layer (0..L) at the last position of `ids`, each through `headFor(layer)` or
 * the model's own head. Runs the prompt once in a fresh state.
 */
export async function readoutAllLayers(
  model: SegmentedModel,
  ids: number[],
  options: { topK?: number; headFor?: (layer: number) => LanguageHead | undefined; signal?: AbortSignal; onSegment?: RunOptions['onSegment'] } = {},
): Promise<LayerReadout[]> {
  const H = model.config.hiddenSize;
  const state = model.newState(1);
  model.append(state, [ids]);
  let layers: Map<number, Float32Array> | undefined;
  try {
    ({ layers } = await model.runTo(state, model.config.numLayers, { signal: options.signal, collectLayers: true, onSegment: options.onSegment }));
  } finally {
    state.release(); // nothing goes on from it
  }
  const readouts: LayerReadout[] = [];
  for (let layer = 0; layer <= model.config.numLayers; layer++) {
    const hidden = layers!.get(layer)!;
    const last = hidden.subarray(hidden.length - H);
    const head = options.headFor?.(layer) ?? model.ownHead;
    readouts.push({ layer, top: topTokens(await model.headCall(() => head.logits(last)), options.topK ?? 5) });
  }
  return readouts;
}
