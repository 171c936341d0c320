// Thought-then-answer generation: an intermediate head drafts a short thought at its layer, then
// the last layer writes the answer conditioned on it. The answer continues the same decode
// state: the thought's positions, which stopped at the thought layer, go through the deeper
// layers once, in one batched pass, when the first answer token is needed. No re-prefill.
import type { GenerationConfig } from '../generate/config';
import { generate, GeneratedRow, TokenEvent } from '../generate/generator';
import type { LanguageHead } from '../model/languageHead';
import type { SegmentedModel } from '../model/segmentedModel';
import type { Tokenizer } from '../tokenizer';
import { sequenceFormat, turn } from './sequenceFormat';

export interface ThoughtThenAnswerRequest {
  input: string;
  system: string;
  /** Exit layer and head of the thought. */
  thoughtLayer: number;
  thoughtHead?: LanguageHead;
  thought?: Partial<GenerationConfig>;
  answer?: Partial<GenerationConfig>;
  onToken?: (part: 'thought' | 'answer', event: TokenEvent) => void;
  signal?: AbortSignal;
}

export interface ThoughtThenAnswer {
  thought: GeneratedRow;
  answer: GeneratedRow;
  /** Positions the answer's first step caught up through the deeper layers. */
  caughtUp: number;
  ms: { thought: number; answer: number };
}

export async function thoughtThenAnswer(model: SegmentedModel, tokenizer: Tokenizer, request: ThoughtThenAnswerRequest): Promise<ThoughtThenAnswer> {
  const f = sequenceFormat(tokenizer);
  const decode = (ids: number[]): string => tokenizer.decode(ids, { skipSpecialTokens: true }).trim();
  // A turn ends at <|end|> with the special-token format, else at a newline.
  const endIds = f.close();
  const stops = endIds.length > 0 ? { stopTokenIds: endIds } : { stopStrings: ['\n'] };
  const prefix = [...f.start(), ...turn(f, 'system', request.system), ...turn(f, 'user', request.input), ...f.open('thought')];

  const t0 = performance.now();
  const thought = await generate(model, {
    prompts: [prefix],
    layer: request.thoughtLayer,
    head: request.thoughtHead,
    config: { maxNewTokens: 24, ...stops, ...request.thought },
    decode,
    onToken: (e) => request.onToken?.('thought', e),
    signal: request.signal,
  });
  const t1 = performance.now();
  const row = thought.rows[0]!;
  if (row.stop === 'cancelled') {
    return { thought: row, answer: { tokens: [], text: '', stop: 'cancelled' }, caughtUp: 0, ms: { thought: t1 - t0, answer: 0 } };
  }
  // Close the thought turn unless the model already did, then open the answer turn.
  const closed = row.stop === 'stopToken' && endIds.includes(row.tokens.at(-1)!);
  const bridge = [...(closed ? [] : f.close()), ...f.open('assistant')];
  const pendingBefore = thought.state.segments.reduce((a, s, i) => (i > 0 ? Math.max(a, s.pendingCount) : a), 0);
  const answer = await generate(model, {
    prompts: [bridge],
    state: thought.state,
    config: { maxNewTokens: 48, ...stops, ...request.answer },
    decode,
    onToken: (e) => request.onToken?.('answer', e),
    signal: request.signal,
  });
  return { thought: row, answer: answer.rows[0]!, caughtUp: pendingBefore, ms: { thought: t1 - t0, answer: performance.now() - t1 } };
}
