// The one refusal of an input that is too long for the model: a type of its own, so that the
// language server answers it as the client's bad input (its message is for people, not parsing).
import type { ModelConfig } from '../checkpoint/types';

/**
 * Fewest positions a task's fixed prompt should leave for the input: its text, the end of the user
 * turn and the opening of the first answer turn take three or more, and the labels follow. With
 * less room than this a one-word input already overflows, and the task, not the input, is what
 * needs shortening: the CLI and the server's answers say so, and the editor warns on the task file
 * itself (fixedPartMessage, from the language server's diagnostics).
 */
export const MIN_INPUT_ROOM = 8;

/** The part of a prompt that does not depend on the input, and what it is made of, for people. */
export interface FixedPart {
  positions: number;
  /** "the system prompt and turn markers", with any candidate lists. */
  what: string;
  /** Positions of the input itself (its text and turn markers), when known: the rest of `needed` is what follows it (labels). */
  input?: number;
  /** What to shorten when the task's own part leaves less than MIN_INPUT_ROOM: "the task's \"system\" prompt". */
  shorten: string;
}

/** An input (prompt, thought or tree) needs more positions than the model's context holds. */
export class ContextOverflowError extends Error {
  /** The model's context in positions. */
  readonly context: number;

  constructor(
    /** Positions the input needs. */
    readonly needed: number,
    /** The context, and what sets it (max_position_embeddings, a sliding window, the engine's rotary limit). */
    context: Pick<ModelConfig, 'maxPositions' | 'maxPositionsFrom'>,
    /** The task's fixed prompt within `needed`, when a task laid the prompt out: said apart, so that the input is not blamed for it. */
    readonly fixed?: FixedPart,
    /** `needed` is a bound, known without tokenizing the input (Tokenizer.fewestTokens), not the count. */
    { atLeast = false }: { atLeast?: boolean } = {},
  ) {
    super(overflowMessage(needed, context, fixed, atLeast));
    this.name = 'ContextOverflowError';
    this.context = context.maxPositions;
  }
}

function overflowMessage(needed: number, context: Pick<ModelConfig, 'maxPositions' | 'maxPositionsFrom'>, fixed: FixedPart | undefined, atLeast: boolean): string {
  const limit = contextLimit(context);
  if (!fixed) return `the input needs ${atLeast ? 'at least ' : ''}${needed} positions but ${limit}; shorten it`;
  if (needed <= fixed.positions) return aloneNeeds(context, fixed);
  const after = fixed.input === undefined ? `${needed - fixed.positions} the input and the labels after it` : `${fixed.input} the input with its turn markers, ${needed - fixed.positions - fixed.input} the labels after it`;
  // What the task itself takes: all but the input, when its size is known.
  const task = needed - (fixed.input ?? needed - fixed.positions);
  const room = context.maxPositions - task;
  const advice = room < MIN_INPUT_ROOM ? leavesForInput(room, fixed.shorten) : 'shorten the input';
  return `the input needs ${needed} positions but ${limit}: ${fixed.positions} of them the task's fixed prompt (${fixed.what}), ${after}; ${advice}`;
}

/**
 * Why every input overflows when a task's fixed prompt leaves fewer than MIN_INPUT_ROOM positions
 * of the context, undefined when it leaves that many: an input's refusal says it so (overflowMessage),
 * and the editor warns so on the task file before any input is tried (server/src/diagnostics.ts).
 */
export function fixedPartMessage(context: Pick<ModelConfig, 'maxPositions' | 'maxPositionsFrom'>, fixed: FixedPart): string | undefined {
  const room = context.maxPositions - fixed.positions;
  if (room >= MIN_INPUT_ROOM) return undefined;
  if (room < 0) return aloneNeeds(context, fixed);
  return `the task's fixed prompt (${fixed.what}) needs ${fixed.positions} positions but ${contextLimit(context)}; ${leavesForInput(room, fixed.shorten)}`;
}

/** The fixed prompt is longer than the context by itself. */
function aloneNeeds(context: Pick<ModelConfig, 'maxPositions' | 'maxPositionsFrom'>, fixed: FixedPart): string {
  return `the task's fixed prompt (${fixed.what}) alone needs ${fixed.positions} positions but ${contextLimit(context)}; shorten ${fixed.shorten}`;
}

/** "the model's context is 64 (n_positions)": the length, and what sets it. */
function contextLimit(context: Pick<ModelConfig, 'maxPositions' | 'maxPositionsFrom'>): string {
  return `the model's context is ${context.maxPositions} (${context.maxPositionsFrom ?? 'max_position_embeddings'})`;
}

/** The advice when the task, not the input, takes the room: "the task alone leaves 3 positions for the input: shorten …". */
function leavesForInput(room: number, shorten: string): string {
  return `the task alone leaves ${Math.max(0, room)} position${room === 1 ? '' : 's'} for the input: shorten ${shorten}`;
}
