// Picks the next token from logits. Owns the seeded random generator, so the same seed and the
// same logits give the same tokens; temperature 0 is argmax and uses no randomness.
import type { GenerationConfig } from './config';
import { rankByProbability, softmax, topK, topP } from './logitsProcessors';

export class Sampler {
  private state: number;

  constructor(private readonly config: Pick<GenerationConfig, 'temperature' | 'topK' | 'topP' | 'seed'>) {
    this.state = config.seed >>> 0;
  }

  /** Next token of one row of logits [V]. */
  next(logits: Float32Array): number {
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
