// The HdLM sequence format, as token ids (ARCHITECTURE §1):
//   system · user(input + level-1 candidates) · thought(level-1 label)   ← head at layer k1
//   · subtask(children of that label) · thought(level-2 label)           ← head at layer k2
//   · … · assistant(last-level label or the answer)                      ← last layer
// With the default model's tokenizer each role is one special token (<|system|> … <|end|>, see
// tools/corpus/README.md); any other tokenizer gets the same layout with plain-text role names,
// so ordinary checkpoints work too. Pieces are tokenised separately and concatenated, the same
// way for training and for inference, so a label's tokens never merge with their neighbours.
// Content is encoded as plain text (Tokenizer.encode): an input or a dataset line that spells a
// marker ("<|end|>") gets its characters, so only the format itself opens and closes turns.
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
  /** The fewest tokens `content(text)` can be, known without encoding (Tokenizer.fewestTokens). */
  fewestContentTokens(text: string): number;
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
      fewestContentTokens: (text) => tokenizer.fewestTokens(text),
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
    fewestContentTokens: (text) => tokenizer.fewestTokens(text),
  };
}

/**
 * An input text as every sequence holds it: training, evaluation, `hdlm classify` (a text or a
 * file), the server's requests and thought-then-answer all write inputs through here (userTurn,
 * ClassificationLayout.inputPart), so one text gives the same tokens, hence the same features,
 * everywhere. Surrounding white space is trimmed: a selection or an editor line carries it by
 * accident, and a dataset scraped with a trailing newline would otherwise train on tokens that
 * no request has. Front ends call it too, to tell an empty input the same way.
 */
export function inputText(text: string): string {
  return text.trim();
}

/** A whole turn: open · content · close. */
export function turn(format: SequenceFormat, role: Role, text: string): number[] {
  return [...format.open(role), ...format.content(text), ...format.close()];
}

/** The user turn of an input (inputText). */
export function userTurn(format: SequenceFormat, input: string): number[] {
  return turn(format, 'user', inputText(input));
}

/** "Candidates: a, b, c" — how a level's options are listed in the user or subtask turn. */
export function candidateList(labels: readonly string[]): string {
  return `Candidates: ${labels.join(', ')}`;
}

/** start · system turn: what every example of a task shares (run once and forked when training). */
export function systemPrefix(format: SequenceFormat, system: string): number[] {
  return [...format.start(), ...turn(format, 'system', system)];
}

/** A sequence after the shared prefix, with the positions of the tokens each span supervises. */
export interface SpannedSequence {
  ids: number[];
  /** Per span, indices into ids of the tokens its head must predict (each from the position before it). */
  spans: number[][];
}

/**
 * The thought-then-answer layout after the system turn, exactly as thoughtThenAnswer.ts decodes
 * it: user(input) · <|thought|> thought <|end|> · <|assistant|> answer <|end|>. Span 0 is the
 * thought's tokens and the token that closes it (the thought layer decides when it ends), span 1
 * the answer's and its closing token. Without a thought (the flat baseline), the assistant turn
 * follows the user turn directly and span 0 is empty. With plain-text roles (no closing token)
 * the thought is closed by the first token of the answer turn's opening (it starts a new line,
 * where decoding stops), and the answer has no closing token.
 */
export function thoughtThenAnswerSequence(format: SequenceFormat, input: string, thought: string | undefined, answer: string): SpannedSequence {
  const ids = userTurn(format, input);
  const span = (tokens: number[]): number[] => {
    const at = ids.length;
    ids.push(...tokens);
    return tokens.map((_, i) => at + i);
  };
  const thoughtSpan: number[] = [];
  if (thought !== undefined) {
    ids.push(...format.open('thought'));
    thoughtSpan.push(...span(format.content(thought)));
    if (format.close().length > 0) thoughtSpan.push(...span(format.close()));
    else thoughtSpan.push(ids.length); // the first token of the assistant turn's opening, pushed next
  }
  ids.push(...format.open('assistant'));
  const answerSpan = span([...format.content(answer), ...format.close()]);
  return { ids, spans: [thoughtSpan, answerSpan] };
}
