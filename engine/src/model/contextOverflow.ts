// The one refusal of an input that is too long for the model: a type of its own, so that the
// language server answers it as the client's bad input (its message is for people, not parsing).
import type { ModelConfig } from '../checkpoint/types';

/** An input (prompt, thought or tree) needs more positions than the model's context holds. */
export class ContextOverflowError extends Error {
  /** The model's context in positions. */
  readonly context: number;

  constructor(
    /** Positions the input needs. */
    readonly needed: number,
    /** The context, and what sets it (max_position_embeddings, a sliding window, the engine's rotary limit). */
    context: Pick<ModelConfig, 'maxPositions' | 'maxPositionsFrom'>,
    /** `needed` is a bound, known without tokenizing the input (Tokenizer.fewestTokens), not the count. */
    { atLeast = false }: { atLeast?: boolean } = {},
  ) {
    super(`the input needs ${atLeast ? 'at least ' : ''}${needed} positions but the model's context is ${context.maxPositions} (${context.maxPositionsFrom ?? 'max_position_embeddings'}); shorten it`);
    this.name = 'ContextOverflowError';
    this.context = context.maxPositions;
  }
}
