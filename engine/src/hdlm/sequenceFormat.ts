// The HdLM sequence format, as token ids (ARCHITECTURE §1):
//   system · user(input + level-1 candidates) · thought(level-1 label)   ← head at layer k1
//   · subtask(children of that label) · thought(level-2 label)           ← head at layer k2
//   · … · assistant(last-level label or the answer)                      ← last layer
// With the default model's tokenizer each role is one special token (<|system|> … <|end|>, see
// tools/corpus/README.md); any other tokenizer gets the same layout with plain-text role names,
// so ordinary checkpoints work too. Pieces are tokenised separately and concatenated, the same
// way for training and for inference, so a label's tokens never merge with their neighbours.
import type { Tokenizer } from '../tokenizer';

export type Role = 'system' | 'user' | 'thought' | 'subtask' | 'assistant';

export interface SequenceFormat {
  /** Tokens that open a turn of `role`, up to where its content starts. */
  open(role: Role): number[];
  /** Tokens that close a turn. */
  close(): number[];
  /** Content tokens of a turn; a leading space keeps words whole ("<|thought|> animal"). */
  content(text: string): number[];
  /** Tokens that start a sequence (BOS when the tokenizer has one). */
  start(): number[];
  /** True when role markers are the tokenizer's own special tokens. */
  readonly special: boolean;
}

const ROLES: Role[] = ['system', 'user', 'thought', 'subtask', 'assistant'];

export function sequenceFormat(tokenizer: Tokenizer): SequenceFormat {
  const id = (t: string): number | undefined => tokenizer.tokenId(t);
  const roleIds = new Map(ROLES.map((r) => [r, id(`<|${r}|>`)]));
  const end = id('<|end|>');
  const bos = id('<|bos|>');
  const special = end !== undefined && ROLES.every((r) => roleIds.get(r) !== undefined);
  const encode = (text: string): number[] => tokenizer.encode(text, { addSpecialTokens: false });
  if (special) {
    return {
      special,
      open: (role) => [roleIds.get(role)!],
      close: () => [end],
      content: (text) => encode(` ${text}`),
      start: () => (bos === undefined ? [] : [bos]),
    };
  }
  // Plain-text roles for tokenizers without HdLM's special tokens.
  const names: Record<Role, string> = { system: 'System:', user: 'User:', thought: 'Thought:', subtask: 'Subtask:', assistant: 'Answer:' };
  return {
    special,
    open: (role) => encode(`\n${names[role]}`),
    close: () => [],
    content: (text) => encode(` ${text}`),
    start: () => tokenizer.encode('', { addSpecialTokens: true }),
  };
}

/** A whole turn: open · content · close. */
export function turn(format: SequenceFormat, role: Role, text: string): number[] {
  return [...format.open(role), ...format.content(text), ...format.close()];
}

/** "Candidates: a, b, c" — how a level's options are listed in the user or subtask turn. */
export function candidateList(labels: readonly string[]): string {
  return `Candidates: ${labels.join(', ')}`;
}
