// The decode loop: prompts → tokens, from any exit layer, streaming each token, stopping on stop
// tokens/strings/budget, cancellable between tokens (and, inside the model, between segments).
import type { DecodeState } from '../model/decodeState';
import type { LanguageHead } from '../model/languageHead';
import { CancelledError, SegmentedModel } from '../model/segmentedModel';
import { DEFAULTS, GenerationConfig, validateGenerationConfig } from './config';
import { Sampler } from './sampler';
import { StoppingCriteria, StopReason } from './stopping';
import { RowStream } from './streamer';

export interface TokenEvent {
  row: number;
  token: number;
  /**
   * Text this token added to the row's output (needs `decode`): the pieces of a row add up to its
   * GeneratedRow.text. '' while that text may still change: a character is incomplete, its end may
   * start a stop string, or the decoder may still clean up a space (RowStream); the last token of
   * the row brings what was held back.
   */
  text: string;
  layer: number;
  /**
   * The exit layer's own probability of this token (softmax of the head's logits, before
   * temperature, top-k/p and repetition controls): how sure that layer was of it. Only with
   * `scoreTokens`.
   */
  probability?: number;
}

export interface GenerateRequest {
  /** Token ids per row; rows of different lengths are left-padded. */
  prompts: number[][];
  config?: Partial<GenerationConfig>;
  /** Exit layer to decode from (one of the model's exit layers); the last layer by default. */
  layer?: number;
  /** Head applied at that layer; the model's own head by default. */
  head?: LanguageHead;
  /** Turns token ids into text, for stop strings and streamed text. */
  decode?: (ids: number[]) => string;
  onToken?: (event: TokenEvent) => void;
  /**
   * Score each token: its probability under its layer (TokenEvent.probability) and the row's
   * sum of their logs. One pass over the vocabulary per token: about 3 ms for 152k entries on
   * this project's CPU, 5 % of a 0.5B model's step, so only callers that show or use it ask.
   */
  scoreTokens?: boolean;
  signal?: AbortSignal;
  /** Continue an existing state (its batch must match); a new one is made otherwise. */
  state?: DecodeState;
}

export interface GeneratedRow {
  tokens: number[];
  /**
   * Decoded output, cut before a stop string; undefined without `decode`. A cancelled row's is what
   * was streamed: text held back for lack of a next token is left out.
   */
  text: string | undefined;
  stop: StopReason;
  /**
   * Sum of the natural logs of the generated tokens' probabilities (TokenEvent.probability): exp
   * of it is the output's probability. Only with `scoreTokens`.
   */
  logProbability?: number;
}

export interface GenerateResult {
  rows: GeneratedRow[];
  /**
   * Holds prompt and generated tokens (the last ones appended but not yet run), except when the
   * context filled up: then the last sampled tokens could not be appended. The caller releases
   * it when done (DecodeState.release): on WebGPU its caches hold device memory until then, or
   * until the garbage collector gets to it.
   */
  state: DecodeState;
}

interface RowProgress {
  tokens: number[];
  logProbability: number;
  /** The row's text and what of it is streamed; undefined without `decode`. */
  stream: RowStream | undefined;
  stop: StopReason | undefined;
}

export async function generate(model: SegmentedModel, request: GenerateRequest): Promise<GenerateResult> {
  const config = validateGenerationConfig({ ...DEFAULTS, ...request.config });
  const layer = request.layer ?? model.config.numLayers;
  const head = request.head ?? model.ownHead;
  const batch = request.prompts.length;
  if (batch === 0) throw new Error('generate: no prompts');
  if (request.prompts.some((p) => p.length === 0) && !request.state) throw new Error('generate: a prompt is empty (give at least one token, e.g. the BOS token)');
  const state = request.state ?? model.newState(batch);
  if (state.batch !== batch) throw new Error(`generate: ${batch} prompts for a state of batch ${state.batch}`);

  // A stop id no token has would never stop anything: a typo (--stop-ids 99999) refused, as prompt ids are.
  const unknown = config.stopTokenIds.find((id) => id >= model.config.vocabSize);
  if (unknown !== undefined) throw new Error(`stop token id ${unknown} is outside the vocabulary (0..${model.config.vocabSize - 1})`);
  const stopIds = config.ignoreEos ? config.stopTokenIds : [...config.stopTokenIds, ...model.config.eosTokenIds];
  const sampler = new Sampler(config);
  const rows: RowProgress[] = request.prompts.map(() => ({ tokens: [], logProbability: 0, stream: request.decode && new RowStream(request.decode, config.stopStrings), stop: undefined }));

  // 1. The prompt (or the continuation of a state) goes in as the first step's input.
  if (request.prompts.some((p) => p.length > 0)) model.append(state, request.prompts);
  const budget = newTokenBudget(config, state.length);
  const stopping = new StoppingCriteria(stopIds, config.stopStrings, budget);
  if (budget === 0) rows.forEach((r) => (r.stop = 'maxTokens'));
  try {
    while (rows.some((r) => r.stop === undefined)) {
      if (request.signal?.aborted) throw new CancelledError();
      // 2. Run to the exit layer and read the newest position of every row through the head.
      const newest = await model.runToNewest(state, layer, request.signal);
      if (!newest) throw new Error('generate: nothing new reached the exit layer');
      const logits = await model.headCall(() => head.logits(newest));
      // 3. Sample, check stopping, stream, and feed the new tokens (finished rows get padding).
      // A full context ends every row with this token: known now, so its event brings the rest.
      const full = state.length + 1 > model.config.maxPositions;
      const next = rows.map((row, b) => (row.stop === undefined ? step(row, b, logits, head.vocabSize, sampler, stopping, request, layer, full) : undefined));
      if (full) break;
      model.append(state, next.map((t) => (t === undefined ? [] : [t])));
    }
  } catch (err) {
    if (!(err instanceof CancelledError)) throw err;
    rows.forEach((r) => (r.stop ??= 'cancelled'));
  }
  return {
    rows: rows.map((r) => ({ tokens: r.tokens, text: r.stream?.text, stop: r.stop!, ...(request.scoreTokens ? { logProbability: r.logProbability } : {}) })),
    state,
  };
}

/** max_new_tokens, or less where max_length leaves less after `length` tokens of (padded) input. */
function newTokenBudget(config: GenerationConfig, length: number): number {
  return config.maxLength > 0 ? Math.min(config.maxNewTokens, Math.max(0, config.maxLength - length)) : config.maxNewTokens;
}

function step(row: RowProgress, b: number, logits: Float32Array, vocab: number, sampler: Sampler, stopping: StoppingCriteria, request: GenerateRequest, layer: number, contextFull: boolean): number {
  // The repetition controls look back on the row's prompt and output (with a continued state,
  // this call's prompt: the tokens appended before it are not kept as ids).
  const rowLogits = logits.subarray(b * vocab, (b + 1) * vocab);
  const token = sampler.next(rowLogits, sampler.looksBack ? [...request.prompts[b]!, ...row.tokens] : []);
  const logProbability = request.scoreTokens ? logSoftmaxAt(rowLogits, token) : undefined;
  row.tokens.push(token);
  if (logProbability !== undefined) row.logProbability += logProbability;
  const text = row.stream?.update(row.tokens);
  const stop = stopping.check(token, row.tokens.length, text) ?? (contextFull ? { reason: 'contextFull' as const } : undefined);
  row.stop = stop?.reason;
  const piece = row.stream?.piece(stop !== undefined && { cut: stop.cut }) ?? '';
  request.onToken?.({ row: b, token, text: piece, layer, ...(logProbability === undefined ? {} : { probability: Math.exp(logProbability) }) });
  return token;
}

/** log softmax(logits)[token], in float64, shifted by the maximum so no exponent overflows. */
export function logSoftmaxAt(logits: Float32Array, token: number): number {
  let max = -Infinity;
  for (const v of logits) if (v > max) max = v;
  let sum = 0;
  for (const v of logits) sum += Math.exp(v - max);
  return logits[token]! - max - Math.log(sum);
}
