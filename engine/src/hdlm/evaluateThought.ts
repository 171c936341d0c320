// Evaluating a thought-then-answer task on held-out examples, greedy: HdLM drafts the thought at
// layer k through the trained `thought` head, then the last layer answers through the `answer`
// head on the same decode state; the flat baseline answers straight from the last layer through
// the `flat` head, with no thought. Exact match (trimmed, case-folded) of thought and answer,
// and the time and decoder work (layer·positions) each spent per example. Exact match is coarse
// for a small model (both variants can sit at 0 %), so each variant also gets the gold answer's
// teacher-forced likelihood: after HdLM's own thought, after the gold thought, and with none.
import type { Engine } from '../engine';
import type { LanguageHead } from '../model/languageHead';
import { CancelledError, type SegmentedModel } from '../model/segmentedModel';
import type { DecodeState } from '../model/decodeState';
import type { Tokenizer } from '../tokenizer';
import type { GuidedRecord } from './dataset/formats';
import { readGuidedDataset } from './dataset/readDataset';
import { evaluationRecords, NOTHING_EVALUATED, openFlatHead, sampled, skippedLinesNotice, type EvaluationOptions } from './evaluationCommon';
import type { ThoughtPrediction } from './evaluationPredictions';
import { contextRoom, namedTooLong, noExampleFitsError } from './contextFit';
import type { SincePrevious } from './evaluationHistory';
import { checkHeadsOutsideModel, checkIsFolder } from './headStore';
import { EVALUATION_KEPT_FILES, setAsideForeignKeptFiles } from './keptFile';
import { pairedDifference, pairedMeanDifference, type PairedDifference, type PairedMeanDifference, type TokenSum } from './metrics';
import { sequenceFormat, systemPrefix, thoughtThenAnswerSequence, type SpannedSequence } from './sequenceFormat';
import { subsample } from './splits';
import type { TaskDefinition } from './taskFile';
import { openTask, taskModelFolder, type TaskSession } from './taskSession';
import { answerDirectly, thoughtPrompt, thoughtThenAnswer } from './thoughtThenAnswer';

interface ThoughtVariantEvaluation {
  name: 'hdlm' | 'flat';
  /** Exact-match accuracy of the thought (HdLM only: the flat baseline has none). */
  thoughtAccuracy?: number;
  answerAccuracy: number;
  /**
   * Mean negative log-likelihood of the gold answer's tokens and its closing token (nats per
   * token, pooled over the record's `likelihoodExamples`), teacher-forced at the last layer
   * through the variant's answer head: after the variant's own greedy thought (HdLM) or with no
   * thought (flat). Absent when no example could be scored.
   */
  answerNll?: number;
  /** HdLM only: the same after the gold thought, what a right thought would do for the answer. */
  answerNllGoldThought?: number;
  /** Mean per example. */
  msPerExample: number;
  layerPositionsPerExample: number;
  /** Layer of the thought (HdLM) and of the answer. */
  layers: number[];
  trainedHeads: boolean;
}

/**
 * Kept as `evaluation.json` beside the heads; `kind` tells it from a classification record. The
 * language server passes it on unchanged as its `ThoughtEvaluationSummary`.
 */
export interface ThoughtEvaluationRecord {
  kind: 'thoughtThenAnswer';
  task: string;
  file: string;
  examples: number;
  /** Examples left out because they exceed the model's context. */
  tooLong: number;
  /** When `--max-examples` took a sample: how many examples the file had (absent: all of them). */
  sampledFrom?: number;
  variants: ThoughtVariantEvaluation[];
  /**
   * Examples the answer likelihoods are measured on: those whose answer tokens every variant's
   * answer head can produce (a trained head ranks only its training targets' tokens; an answer
   * with another token has likelihood 0 under it, and would make every mean infinite).
   */
  likelihoodExamples: number;
  /**
   * HdLM minus flat on the same examples (absent in records from before 2026-12-05): the answer's
   * exact match, and the answer likelihoods (nats per token, on the likelihood examples) after
   * HdLM's own thought and after the gold thought, each against flat's with no thought. A
   * negative NLL difference means the thought made the right answer more likely.
   */
  comparison?: {
    answer: PairedDifference;
    answerNll?: PairedMeanDifference;
    answerNllGoldThought?: PairedMeanDifference;
    /**
     * The answer NLL after HdLM's own thought minus flat's, apart on the likelihood examples where
     * that thought was right and where it was wrong (absent in records from before 2026-12-06, and
     * for a side with fewer than two examples): what a right thought gains, what a wrong one costs.
     */
    answerNllByThought?: { right?: PairedMeanDifference; wrong?: PairedMeanDifference };
  };
  /** A few examples with what each variant produced, for a reader to see what the numbers mean. */
  samples: { input: string; thought: string; answer: string; hdlm: { thought: string; answer: string }; flat: { answer: string } }[];
  /** HdLM's thought and answer now against the evaluation this one replaced (absent for the first, and before 2026-12-06). */
  sincePrevious?: SincePrevious;
  finishedAt: string;
}

/** What `evaluateThoughtTask` returns: the record kept beside the heads, and per-example rows when asked for. */
interface ThoughtEvaluation {
  record: ThoughtEvaluationRecord;
  /** Per example, in file order (only with `keepPredictions`). */
  predictions?: ThoughtPrediction[];
}

/** Exact match after trimming and case folding. */
export function sameText(a: string, b: string): boolean {
  return a.trim().toLowerCase() === b.trim().toLowerCase();
}

export async function evaluateThoughtTask(engine: Engine, task: TaskDefinition, options: EvaluationOptions & { maxTokens?: number }): Promise<ThoughtEvaluation> {
  checkIsFolder(task.headsDir, task); // as evaluateTask does
  checkHeadsOutsideModel(task.headsDir, task, taskModelFolder(task, options.defaultModelDir));
  // Files of the user's where the evaluation keeps its records are moved aside, not replaced (keptFile.ts).
  for (const message of setAsideForeignKeptFiles(task.headsDir, EVALUATION_KEPT_FILES)) options.onNotice?.(message);
  const { file, source, records: all, skipped } = evaluationRecords(task, options.file, readGuidedDataset);
  if (skipped.length > 0) options.onNotice?.(skippedLinesNotice(source, skipped));
  const records = subsample(all, options.maxExamples ?? 0, task.train.seed);
  const session = await openTask(engine, task, options.defaultModelDir);
  try {
    const maxNewTokens = options.maxTokens ?? 32;
    const fitting = fitThoughtRecords(session, records, source, maxNewTokens, options.onNotice);
    const hdlm = await decodeHdlm(session, fitting, maxNewTokens, options);
    const flat = await decodeFlat(session, fitting, maxNewTokens, options);
    // Likelihoods after the timed decoding, so they add nothing to its time or work figures.
    const likelihood = await withFlatHead(session, (flatHead) =>
      answerLikelihoods(session.loaded.model, session.loaded.requireTokenizer(), session.task.system, fitting, hdlm.out.map((o) => o.thought), { answer: session.answerHead, flat: flatHead }, options.signal),
    );
    const right = exactMatches(fitting, hdlm, flat);
    const record = thoughtRecord(session, { file, records, all, fitting }, { hdlm, flat, likelihood, right });
    if (!options.keepPredictions) return { record };
    return { record, predictions: thoughtPredictions(fitting, { hdlm, flat, likelihood, right }) };
  } finally {
    await session.release();
  }
}

/** What one variant decoded over the examples, with the time and decoder work it spent in all. */
interface Decoded<T> {
  out: T[];
  ms: number;
  layerPositions: number;
}

/** HdLM's greedy thoughts and answers, with the thought layer's probability of each thought. */
type HdlmDecoded = Decoded<{ thought: string; answer: string }> & { thoughtProbability: number[] };

type AnswerLikelihoods = Awaited<ReturnType<typeof answerLikelihoods>>;

/** Per example, whether HdLM's thought and answer and flat's answer match the gold ones (sameText). */
interface ExactMatches {
  thought: boolean[];
  hdlm: boolean[];
  flat: boolean[];
}

/** Both variants' outputs and scores, what the record and the predictions are made of. */
interface ThoughtResults {
  hdlm: HdlmDecoded;
  flat: Decoded<string> & { trained: boolean };
  likelihood: AnswerLikelihoods;
  right: ExactMatches;
}

/**
 * The records with room in the context for their prompt, a thought and an answer of
 * `maxNewTokens` each; longer ones are counted out with a notice, and none fitting is refused,
 * so that no empty record replaces the kept one (as evaluateTask does). An input that alone
 * needs more positions than the context is measured without tokenizing it (Tokenizer.fewestTokens).
 */
function fitThoughtRecords(session: TaskSession, records: readonly GuidedRecord[], source: string, maxNewTokens: number, onNotice: ((message: string) => void) | undefined): GuidedRecord[] {
  const { model } = session.loaded;
  const tokenizer = session.loaded.requireTokenizer();
  const positions = (record: GuidedRecord): { record: GuidedRecord; tokens: number; atLeast?: true } => {
    const fewest = tokenizer.fewestTokens(record.input);
    if (fewest > model.config.maxPositions) return { record, tokens: fewest, atLeast: true };
    return { record, tokens: thoughtPrompt(tokenizer, session.task.system, record.input).length + 2 * maxNewTokens + 2 };
  };
  const measured = records.map(positions);
  const fitting = measured.filter((m) => m.tokens <= model.config.maxPositions).map((m) => m.record);
  const tooLong = measured.filter((m) => m.tokens > model.config.maxPositions);
  const room = `${contextRoom(model.config)}, with room for a thought and an answer of ${maxNewTokens} tokens each`;
  if (fitting.length === 0) throw noExampleFitsError(source, room, tooLong, NOTHING_EVALUATED);
  if (tooLong.length > 0) onNotice?.(`${tooLong.length} ${tooLong.length === 1 ? 'example' : 'examples'} left out as longer than ${room}: ${namedTooLong(source, tooLong)}`);
  return fitting;
}

/** Runs `fn`, adding its wall time and the model's decoder work (layer·positions) to `totals`. */
async function measured<T>(model: SegmentedModel, totals: { ms: number; layerPositions: number }, fn: () => Promise<T>): Promise<T> {
  const before = model.compute.layerPositions;
  const t0 = performance.now();
  const value = await fn();
  totals.ms += performance.now() - t0;
  totals.layerPositions += model.compute.layerPositions - before;
  return value;
}

/** HdLM on each record, greedy: the thought at the first level's layer through the thought head, then the answer at the last layer. */
async function decodeHdlm(session: TaskSession, fitting: readonly GuidedRecord[], maxNewTokens: number, options: EvaluationOptions): Promise<HdlmDecoded> {
  const { model } = session.loaded;
  const tokenizer = session.loaded.requireTokenizer();
  const config = { maxNewTokens };
  const decoded: HdlmDecoded = { out: [], thoughtProbability: [], ms: 0, layerPositions: 0 };
  for (const [i, r] of fitting.entries()) {
    if (options.signal?.aborted) throw new CancelledError();
    const run = await measured(model, decoded, () =>
      thoughtThenAnswer(model, tokenizer, { input: r.input, system: session.task.system, thoughtLayer: session.layers[0]!, thoughtHead: session.thoughtHead, answerHead: session.answerHead, thought: config, answer: config, signal: options.signal }),
    );
    // A turn's text keeps what the model put before its end (as streamed); the records and the
    // answer likelihoods take the words alone.
    decoded.out.push({ thought: (run.thought.text ?? '').trim(), answer: (run.answer.text ?? '').trim() });
    decoded.thoughtProbability.push(run.thoughtProbability);
    options.onProgress?.('hdlm', i + 1, fitting.length);
  }
  return decoded;
}

/** The flat baseline on each record, greedy: the answer straight from the last layer through the flat head, with no thought. */
async function decodeFlat(session: TaskSession, fitting: readonly GuidedRecord[], maxNewTokens: number, options: EvaluationOptions): Promise<Decoded<string> & { trained: boolean }> {
  const { model } = session.loaded;
  const tokenizer = session.loaded.requireTokenizer();
  const decoded: Decoded<string> & { trained: boolean } = { out: [], ms: 0, layerPositions: 0, trained: false };
  await withFlatHead(session, async (flatHead) => {
    decoded.trained = flatHead !== undefined;
    for (const [i, r] of fitting.entries()) {
      if (options.signal?.aborted) throw new CancelledError();
      const run = await measured(model, decoded, () => answerDirectly(model, tokenizer, { input: r.input, system: session.task.system, head: flatHead, answer: { maxNewTokens }, signal: options.signal }));
      decoded.out.push((run.text ?? '').trim());
      options.onProgress?.('flat', i + 1, fitting.length);
    }
  });
  return decoded;
}

/** Runs `fn` with the task's trained flat head (undefined, the model's own head, when there is none), then frees it. */
async function withFlatHead<T>(session: TaskSession, fn: (head: LanguageHead | undefined) => Promise<T>): Promise<T> {
  const flat = await openFlatHead(session);
  try {
    return await fn(flat?.head);
  } finally {
    await flat?.head.release();
  }
}

function exactMatches(fitting: readonly GuidedRecord[], hdlm: HdlmDecoded, flat: Decoded<string>): ExactMatches {
  return {
    thought: fitting.map((r, i) => sameText(hdlm.out[i]!.thought, r.thought)),
    hdlm: fitting.map((r, i) => sameText(hdlm.out[i]!.answer, r.answer)),
    flat: fitting.map((r, i) => sameText(flat.out[i]!, r.answer)),
  };
}

/** The record kept beside the heads: each variant's figures, HdLM against flat, and a few samples. */
function thoughtRecord(
  session: TaskSession,
  examples: { file: string; records: readonly GuidedRecord[]; all: readonly GuidedRecord[]; fitting: readonly GuidedRecord[] },
  { hdlm, flat, likelihood, right }: ThoughtResults,
): ThoughtEvaluationRecord {
  const { file, records, all, fitting } = examples;
  const L = session.loaded.checkpoint.config.numLayers;
  const n = Math.max(1, fitting.length);
  const share = (hits: boolean[]): number => hits.filter(Boolean).length / n;
  return {
    kind: 'thoughtThenAnswer',
    task: session.task.name,
    file,
    examples: fitting.length,
    tooLong: records.length - fitting.length,
    ...sampled(records, all),
    likelihoodExamples: likelihood.examples,
    variants: [
      {
        name: 'hdlm',
        thoughtAccuracy: share(right.thought),
        answerAccuracy: share(right.hdlm),
        answerNll: pooled(likelihood.hdlm),
        answerNllGoldThought: pooled(likelihood.gold),
        msPerExample: hdlm.ms / n,
        layerPositionsPerExample: hdlm.layerPositions / n,
        layers: [session.layers[0]!, L],
        trainedHeads: session.thoughtHead !== undefined && session.answerHead !== undefined,
      },
      {
        name: 'flat',
        answerAccuracy: share(right.flat),
        answerNll: pooled(likelihood.flat),
        msPerExample: flat.ms / n,
        layerPositionsPerExample: flat.layerPositions / n,
        layers: [L],
        trainedHeads: flat.trained,
      },
    ],
    comparison: {
      answer: pairedDifference(right.hdlm, right.flat),
      // An interval needs two examples at least.
      ...(likelihood.examples >= 2 && likelihood.hdlm && likelihood.flat ? { answerNll: pairedMeanDifference(likelihood.hdlm, likelihood.flat) } : {}),
      ...(likelihood.examples >= 2 && likelihood.gold && likelihood.flat ? { answerNllGoldThought: pairedMeanDifference(likelihood.gold, likelihood.flat) } : {}),
      ...(likelihood.hdlm && likelihood.flat ? { answerNllByThought: byThought(likelihood.indices, right.thought, likelihood.hdlm, likelihood.flat) } : {}),
    },
    samples: fitting.slice(0, 5).map((r, i) => ({ input: r.input, thought: r.thought, answer: r.answer, hdlm: hdlm.out[i]!, flat: { answer: flat.out[i]! } })),
    finishedAt: new Date().toISOString(),
  };
}

/** Per example, in file order, what each variant produced and the gold answer's likelihoods (`hdlm eval --predictions`). */
function thoughtPredictions(fitting: readonly GuidedRecord[], { hdlm, flat, likelihood, right }: ThoughtResults): ThoughtPrediction[] {
  const scoredAt = new Map(likelihood.indices.map((recordIndex, j) => [recordIndex, j]));
  const perToken = (t: TokenSum): number => t.sum / t.tokens;
  return fitting.map((r, i): ThoughtPrediction => {
    const j = scoredAt.get(i);
    const nll = j === undefined || !likelihood.hdlm || !likelihood.gold || !likelihood.flat || likelihood.flat[j]!.tokens === 0 ? undefined : { hdlm: perToken(likelihood.hdlm[j]!), gold: perToken(likelihood.gold[j]!), flat: perToken(likelihood.flat[j]!), tokens: likelihood.flat[j]!.tokens };
    return {
      id: r.id,
      gold: { thought: r.thought, answer: r.answer },
      hdlm: { ...hdlm.out[i]!, thoughtProbability: hdlm.thoughtProbability[i]!, thoughtRight: right.thought[i]!, answerRight: right.hdlm[i]! },
      flat: { answer: flat.out[i]!, answerRight: right.flat[i]! },
      ...(nll ? { answerNll: nll } : {}),
    };
  });
}

/**
 * The answer likelihoods of ThoughtVariantEvaluation: the gold answers after HdLM's own
 * `thoughts` and after the gold thoughts (answer head), and with no thought (flat head), on the
 * records whose answers both heads can produce.
 */
async function answerLikelihoods(
  model: SegmentedModel,
  tokenizer: Tokenizer,
  system: string,
  records: readonly GuidedRecord[],
  thoughts: readonly string[],
  heads: { answer?: LanguageHead; flat?: LanguageHead },
  signal?: AbortSignal,
): Promise<{ examples: number; indices: number[]; hdlm?: TokenSum[]; gold?: TokenSum[]; flat?: TokenSum[] }> {
  const format = sequenceFormat(tokenizer);
  const prefix = systemPrefix(format, system);
  const answerHead = heads.answer ?? model.ownHead;
  const flatHead = heads.flat ?? model.ownHead;
  const sequence = (r: GuidedRecord, thought: string | undefined): SpannedSequence => thoughtThenAnswerSequence(format, r.input, thought, r.answer);
  const byAnswerHead = producibleBy(answerHead);
  const byFlatHead = producibleBy(flatHead);
  const scored = [...records.entries()].filter(([, r]) => {
    const s = sequence(r, undefined);
    const answer = s.spans[1]!.map((at) => s.ids[at]!);
    return byAnswerHead(answer) && byFlatHead(answer);
  });
  if (scored.length === 0) return { examples: 0, indices: [] };
  const nll = (head: LanguageHead, thought: (r: GuidedRecord, i: number) => string | undefined): Promise<TokenSum[]> =>
    answerNlls(model, head, prefix, scored.map(([i, r]) => sequence(r, thought(r, i))), signal);
  return {
    examples: scored.length,
    indices: scored.map(([i]) => i),
    hdlm: await nll(answerHead, (_, i) => thoughts[i]!),
    gold: await nll(answerHead, (r) => r.thought),
    flat: await nll(flatHead, () => undefined),
  };
}

/**
 * HdLM's answer NLL minus flat's, apart where HdLM's thought was right and where it was wrong;
 * `indices` are the scored examples' places among `thoughtRight`. A side needs two examples.
 */
function byThought(indices: readonly number[], thoughtRight: readonly boolean[], hdlm: readonly TokenSum[], flat: readonly TokenSum[]): { right?: PairedMeanDifference; wrong?: PairedMeanDifference } {
  const side = (right: boolean): PairedMeanDifference | undefined => {
    const at = indices.flatMap((recordIndex, j) => (thoughtRight[recordIndex] === right ? [j] : []));
    return at.length >= 2 ? pairedMeanDifference(at.map((j) => hdlm[j]!), at.map((j) => flat[j]!)) : undefined;
  };
  const [right, wrong] = [side(true), side(false)];
  return { ...(right ? { right } : {}), ...(wrong ? { wrong } : {}) };
}

/** Whether `head` ranks every one of some tokens (a head without a vocabulary subset ranks all). */
function producibleBy(head: LanguageHead): (tokens: readonly number[]) => boolean {
  if (!head.vocabSubset) return () => true;
  const subset = new Set(head.vocabSubset);
  return (tokens) => tokens.every((t) => subset.has(t));
}

/** Nats per token pooled over every sequence's answer span (NaN when there is none): Σ sum / Σ tokens. */
function pooled(rows: readonly TokenSum[] | undefined): number | undefined {
  if (!rows) return undefined;
  const tokens = rows.reduce((n, r) => n + r.tokens, 0);
  return tokens === 0 ? Number.NaN : rows.reduce((s, r) => s + r.sum, 0) / tokens;
}

/**
 * Per sequence, the negative log-likelihood (nats) of its answer tokens and how many there are,
 * teacher-forced: each sequence runs to the last layer after the shared prefix, and every answer
 * token is scored at the position before it through `head` (over its vocabulary subset, as
 * generation ranks it). Training's dev loss of the same head on the same sequences is their
 * pooled mean. Every answer token must be one the head can produce (see producibleBy).
 */
async function answerNlls(model: SegmentedModel, head: LanguageHead, prefix: readonly number[], sequences: readonly SpannedSequence[], signal?: AbortSignal): Promise<TokenSum[]> {
  const L = model.config.numLayers;
  // The shared prefix runs once; each sequence continues a fork of it.
  const shared = model.newState(1);
  model.append(shared, [[...prefix]]);
  await model.runToNewest(shared, L, signal); // nothing of the prefix is read
  try {
    return await sumAnswers(model, head, shared, sequences, signal);
  } finally {
    shared.release();
  }
}

/** answerNlls for each sequence, continuing a fork of the prefix's state. */
async function sumAnswers(model: SegmentedModel, head: LanguageHead, shared: DecodeState, sequences: readonly SpannedSequence[], signal: AbortSignal | undefined): Promise<TokenSum[]> {
  const H = model.config.hiddenSize;
  const L = model.config.numLayers;
  const sums: TokenSum[] = [];
  for (const seq of sequences) {
    if (signal?.aborted) throw new CancelledError();
    const answer = seq.spans[1] ?? [];
    if (answer.length === 0) {
      sums.push({ sum: 0, tokens: 0 });
      continue;
    }
    const state = shared.fork();
    model.append(state, [seq.ids]);
    // The fork runs seq.ids alone and only the positions read: position p predicts token p + 1
    // (an answer never starts a sequence: the user turn comes first). Nothing goes on from it.
    const { hidden } = await model.runTo(state, L, { signal, rows: [answer.map((at) => at - 1)] });
    const logProbs = await head.logProbs(hidden.subarray(0, answer.length * H));
    let sum = 0;
    answer.forEach((at, r) => {
      const logp = logProbs.at(r, seq.ids[at]!);
      if (logp === -Infinity) throw new Error(`answerNlls: token ${seq.ids[at]} is outside the head's vocabulary subset`);
      sum -= logp;
    });
    sums.push({ sum, tokens: answer.length });
  }
  return sums;
}
