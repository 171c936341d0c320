// Thought-then-answer generation: an intermediate head drafts a short thought at its layer, then
// the last layer writes the answer conditioned on it. The answer continues the same decode
// state: the thought's positions, which stopped at the thought layer, go through the deeper
// layers once, in one batched pass, when the first answer token is needed. No re-prefill.
import type { GenerationConfig } from '../generate/config';
import { generate, GeneratedRow, type GenerateRequest, TokenEvent } from '../generate/generator';
import type { LanguageHead } from '../model/languageHead';
import { ContextOverflowError } from '../model/contextOverflow';
import type { SegmentedModel } from '../model/segmentedModel';
import type { Tokenizer } from '../tokenizer';
import { sequenceFormat, systemPrefix, userTurn } from './sequenceFormat';

export interface ThoughtThenAnswerRequest {
  input: string;
  system: string;
  /** Exit layer and head of the thought. */
  thoughtLayer: number;
  thoughtHead?: LanguageHead;
  /** Head of the answer at the last layer (a trained `answer` head); the model's own by default. */
  answerHead?: LanguageHead;
  thought?: Partial<GenerationConfig>;
  answer?: Partial<GenerationConfig>;
  /** Every token of both parts, with its layer's probability of it. */
  onToken?: (part: 'thought' | 'answer', event: TokenEvent & { probability: number }) => void;
  signal?: AbortSignal;
}

export interface ThoughtThenAnswer {
  thought: GeneratedRow;
  answer: GeneratedRow;
  /**
   * Positions of the thought's decode state that the answer's first step took through the deeper
   * layers (the prompt's and the thought's, which had stopped at the thought layer): those pending
   * there before the answer, less those still pending when its first token came. 0 when no answer
   * token was decoded, or had the answer not continued that state.
   */
  caughtUp: number;
  /**
   * How sure the thought layer was of its whole thought: the product of its tokens'
   * probabilities, closing token included (0 when cancelled before any token).
   */
  thoughtProbability: number;
  ms: { thought: number; answer: number };
}

export async function thoughtThenAnswer(model: SegmentedModel, tokenizer: Tokenizer, request: ThoughtThenAnswerRequest): Promise<ThoughtThenAnswer> {
  const f = sequenceFormat(tokenizer);
  const { decode, stops } = turnDecoding(tokenizer);
  const endIds = f.close();
  const opening = f.open('assistant');
  const prefix = thoughtPrompt(tokenizer, request.system, request.input);
  const thoughtConfig = { maxNewTokens: 24, ...stops, ...request.thought };
  thoughtConfig.maxNewTokens = Math.min(thoughtConfig.maxNewTokens, thoughtRoom(model, prefix.length, endIds.length + opening.length));

  /** One turn's decode: the turn's text, scored tokens streamed as that part, cancellable; `first` is told of its first token before the caller. */
  const turnOf = (part: 'thought' | 'answer', turn: Pick<GenerateRequest, 'prompts' | 'layer' | 'head' | 'state' | 'config'>, first?: () => void): ReturnType<typeof generate> => {
    let firstToken = first;
    const onToken = (e: TokenEvent): void => {
      firstToken?.();
      firstToken = undefined;
      request.onToken?.(part, scored(e));
    };
    return generate(model, { ...turn, decode, onToken, scoreTokens: true, signal: request.signal });
  };

  const t0 = performance.now();
  const thought = await turnOf('thought', { prompts: [prefix], layer: request.thoughtLayer, head: request.thoughtHead, config: thoughtConfig });
  const t1 = performance.now();
  const row = thought.rows[0]!;
  const thoughtProbability = Math.exp(row.logProbability ?? Number.NEGATIVE_INFINITY);
  try {
    if (row.stop === 'cancelled') {
      return { thought: row, answer: { tokens: [], text: '', stop: 'cancelled' }, caughtUp: 0, thoughtProbability, ms: { thought: t1 - t0, answer: 0 } };
    }
    const bridge = answerBridge(row, endIds, opening, (ids) => tokenizer.decode(ids));
    // Positions waiting at the deeper layers of the thought's state: its prompt's and thought's.
    const pendingDeeper = (): number => thought.state.segments.reduce((a, s, i) => (i > 0 ? Math.max(a, s.pendingCount) : a), 0);
    const pendingBefore = pendingDeeper();
    // Measured, not assumed: what the answer's first step actually took through on this state.
    let caughtUp = 0;
    const answer = await turnOf('answer', { prompts: [bridge], state: thought.state, head: request.answerHead, config: { maxNewTokens: 48, ...stops, ...request.answer } }, () => {
      caughtUp = pendingBefore - pendingDeeper();
    });
    return { thought: row, answer: answer.rows[0]!, caughtUp, thoughtProbability, ms: { thought: t1 - t0, answer: performance.now() - t1 } };
  } finally {
    thought.state.release(); // the answer continued it; nothing goes on from it
  }
}

/**
 * Most thought tokens that leave room, after `prompt` positions, for the `bridge` (closing the
 * thought, opening the answer) and the answer's first token (sampled from the bridge's last
 * position, so it needs no position of its own). Refuses an input that leaves no room for even one
 * thought token, before anything is decoded or streamed.
 */
function thoughtRoom(model: SegmentedModel, prompt: number, bridge: number): number {
  const room = model.config.maxPositions - prompt - bridge;
  if (room < 1) throw new ContextOverflowError(prompt + 1 + bridge, model.config);
  return room;
}

/**
 * What goes between the thought and the answer, so the answer is decoded after exactly the
 * trained sequence (thoughtThenAnswerSequence): close the thought turn unless the model already
 * did, then open the answer turn. With plain-text roles nothing closes a turn: the thought ends on
 * the first token of the answer's opening (a newline), already in the state, so only the rest of
 * the opening follows; so too when the model's token joined the newline to text before it (".\n"):
 * the state then spells the trained text, if not its tokens, and a second newline would not.
 */
function answerBridge(thought: GeneratedRow, endIds: number[], opening: number[], decode: (ids: number[]) => string): number[] {
  const last = thought.tokens.at(-1);
  if (endIds.length > 0) return [...(thought.stop === 'stopToken' && endIds.includes(last!) ? [] : endIds), ...opening];
  const newlineOpens = opening.length > 0 && decode(opening.slice(0, 1)) === '\n';
  const endedOnNewline = thought.stop === 'stopString' && last !== undefined && (last === opening[0] || (newlineOpens && decode([last]).endsWith('\n')));
  return endedOnNewline ? opening.slice(1) : opening;
}

/** A token event of a generation asked to score its tokens: its probability is there. */
function scored(e: TokenEvent): TokenEvent & { probability: number } {
  if (e.probability === undefined) throw new Error('thoughtThenAnswer: a token came without its probability');
  return e as TokenEvent & { probability: number };
}

/**
 * Tokens a thought-then-answer decode starts from: start · system · user(input) · <|thought|>.
 * Training builds the same tokens (thoughtThenAnswerSequence after systemPrefix).
 */
export function thoughtPrompt(tokenizer: Tokenizer, system: string, input: string): number[] {
  const f = sequenceFormat(tokenizer);
  return [...systemPrefix(f, system), ...userTurn(f, input), ...f.open('thought')];
}

/** The flat baseline's prompt: start · system · user(input) · <|assistant|>, no thought. */
export function answerPrompt(tokenizer: Tokenizer, system: string, input: string): number[] {
  const f = sequenceFormat(tokenizer);
  return [...systemPrefix(f, system), ...userTurn(f, input), ...f.open('assistant')];
}

/**
 * Text of a turn's tokens, and where a turn ends: <|end|> with the special-token format, else a
 * newline. Only the start is trimmed (the content's leading space): the end must keep a newline
 * for the stop string to see it on the token that makes it, as training ends the turn there.
 */
function turnDecoding(tokenizer: Tokenizer): { decode: (ids: number[]) => string; stops: Partial<GenerationConfig> } {
  const endIds = sequenceFormat(tokenizer).close();
  return {
    // The space after a role's opening is not the turn's text; a newline is (an empty turn ends
    // on it: the plain format's stop string must still find it).
    decode: (ids) => tokenizer.decode(ids, { skipSpecialTokens: true }).replace(/^[^\S\n]+/, ''),
    stops: endIds.length > 0 ? { stopTokenIds: endIds } : { stopStrings: ['\n'] },
  };
}

/** The flat baseline of thought-then-answer: the answer straight from the last layer, no thought. */
export async function answerDirectly(
  model: SegmentedModel,
  tokenizer: Tokenizer,
  request: { input: string; system: string; head?: LanguageHead; answer?: Partial<GenerationConfig>; signal?: AbortSignal },
): Promise<GeneratedRow> {
  const { decode, stops } = turnDecoding(tokenizer);
  const result = await generate(model, {
    prompts: [answerPrompt(tokenizer, request.system, request.input)],
    head: request.head,
    config: { maxNewTokens: 48, ...stops, ...request.answer },
    decode,
    signal: request.signal,
  });
  result.state.release();
  return result.rows[0]!;
}
