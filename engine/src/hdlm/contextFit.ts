// The one refusal of a dataset none of whose examples fits the model's context, shared by
// evaluation, fine-tuning, the layer scan and task creation: with nothing to learn from or
// measure, each would otherwise go on and write a record or heads of zero examples.
import type { ModelConfig } from '../checkpoint/types';

/** How many examples a message names before it only counts the rest. */
export const NAMED = 5;

/** "file:12" for a record read from a file without ids ("line 12"), else "file (id wn-3)". */
export function recordPlace(source: string, id: string): string {
  const line = /^line (\d+)$/.exec(id)?.[1];
  return line ? `${source}:${line}` : `${source} (id ${id})`;
}

/** The first few examples too long for the context, each with the positions it needs: "test.jsonl:4 needs 301, …". */
export function namedTooLong(source: string, tooLong: readonly { record: { id: string }; tokens: number; atLeast?: true }[]): string {
  const more = tooLong.length > NAMED ? `, and ${tooLong.length - NAMED} more` : '';
  return `${tooLong.slice(0, NAMED).map((t) => `${recordPlace(source, t.record.id)} needs ${t.atLeast ? 'at least ' : ''}${t.tokens}`).join(', ')}${more}`;
}

/** "the model's context of 64 positions (n_positions in its config.json)": the length, and what sets it. */
export function contextRoom(config: Pick<ModelConfig, 'maxPositions' | 'maxPositionsFrom'>): string {
  const from = config.maxPositionsFrom ?? 'max_position_embeddings';
  // A sliding window or the engine's rotary limit is said as it is; a config field is named as one.
  return `the model's context of ${config.maxPositions} positions (${/^[a-z_]+$/.test(from) ? `${from} in its config.json` : from})`;
}

/**
 * The refusal when no example of `source` fits: how many were too long, the first few named,
 * and what was left as it was (`outcome`). `detail` follows the count ("on the taxonomy's
 * longest path"), `extra` the named examples (what else takes the room).
 */
export function noExampleFitsError(source: string, room: string, tooLong: readonly { record: { id: string }; tokens: number; atLeast?: true }[], outcome: string, { detail = '', extra = '' }: { detail?: string; extra?: string } = {}): Error {
  return new Error(`${source}: no example fits ${room}: ${tooLong.length} too long${detail} (${namedTooLong(source, tooLong)})${extra}; ${outcome}`);
}
