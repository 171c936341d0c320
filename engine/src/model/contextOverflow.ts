// The one refusal of an input that is too long for the model: a type of its own, so that the
// language server answers it as the client's bad input (its message is for people, not parsing).

/** An input (prompt, thought or tree) needs more positions than the model's context holds. */
export class ContextOverflowError extends Error {
  constructor(
    /** Positions the input needs. */
    readonly needed: number,
    /** The model's context (max_position_embeddings). */
    readonly context: number,
  ) {
    super(`the input needs ${needed} positions but the model's context is ${context} (max_position_embeddings); shorten it`);
    this.name = 'ContextOverflowError';
  }
}
