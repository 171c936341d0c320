// Picks the next token from logits. Owns the seeded random generator, so the same seed and the
// same logits give the same tokens; temperature 0 is argmax and uses no randomness.
import type { GenerationConfig } from './config';
import { banRepeatedNgrams, penalizeRepetition, rankByProbability, softmax, topK, topP } from './logitsProcessors';

type SamplerConfig = Pick<GenerationConfig, 'temperature' | 'topK' | 'topP' | 'seed'> & Partial<Pick<GenerationConfig, 'repetitionPenalty' | 'noRepeatNgramSize'>>;

/** The largest seed: the generator's state is 32 bits, so a larger seed would alias a smaller one. */
export const MAX_SEED = 2 ** 32 - 1;

export class Sampler {
  private state: number;

  constructor(private readonly config: SamplerConfig) {
    this.state = config.seed >>> 0;
  }

  /** Whether `next` reads its context: a repetition control is on. */
  get looksBack(): boolean {
    return (this.config.repetitionPenalty ?? 1) !== 1 || (this.config.noRepeatNgramSize ?? 0) > 0;
  }

  /**
   * Next token of one row of logits [V] (left as they are), after `context`, the row's tokens so
   * far (prompt and output), which the repetition controls look back on.
   */
  next(rowLogits: Float32Array, context: readonly number[] = []): number {
    const logits = this.repetitionControlled(rowLogits, context);
    if (this.config.temperature === 0) return argmax(logits);
    const probs = softmax(logits, this.config.temperature);
    const ranked = rankByProbability(probs);
    const filtered = topP(topK(probs, this.config.topK, ranked), this.config.topP, ranked);
    const u = this.random();
    let acc = 0;
    for (const id of ranked) {
      acc += filtered[id]!;
      if (u < acc) return id;
    }
    return ranked[0]!; // Rounding left u above the total: take the most likely token.
  }

  /** The logits after the repetition penalty and the n-gram ban: a copy when either is on. */
  private repetitionControlled(logits: Float32Array, context: readonly number[]): Float32Array {
    const { repetitionPenalty = 1, noRepeatNgramSize = 0 } = this.config;
    if (repetitionPenalty === 1 && noRepeatNgramSize === 0) return logits;
    const out = Float32Array.from(logits);
    if (repetitionPenalty !== 1) penalizeRepetition(out, context, repetitionPenalty);
    if (noRepeatNgramSize > 0) banRepeatedNgrams(out, context, noRepeatNgramSize);
    return out;
  }

  /** Mulberry32, a small fast generator with a 32-bit state; uniform in [0, 1). */
  private random(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
}

/** Index of the largest value; the first one on ties, as torch.argmax does. */
export function argmax(values: Float32Array): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}
