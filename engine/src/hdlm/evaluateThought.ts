// Evaluating a thought-then-answer task on held-out examples, greedy: HdLM drafts the thought at
// layer k through the trained `thought` head, then the last layer answers through the `answer`
// head on the same decode state; the flat baseline answers straight from the last layer through
// the `flat` head, with no thought. Exact match (trimmed, case-folded) of thought and answer,
// and the time and decoder work (layer·positions) each spent per example.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Engine } from '../engine';
import { LanguageHead } from '../model/languageHead';
import { CancelledError } from '../model/segmentedModel';
import { readGuidedDataset } from './dataset/readDataset';
import { evaluationRecords } from './evaluateTask';
import { loadHead } from './headStore';
import { subsample } from './splits';
import type { TaskDefinition } from './taskFile';
import { openTask } from './taskSession';
import { answerDirectly, thoughtPrompt, thoughtThenAnswer } from './thoughtThenAnswer';
import { FLAT_HEAD } from './trainTask';

export interface ThoughtVariantEvaluation {
  name: 'hdlm' | 'flat';
  /** Exact-match accuracy of the thought (HdLM only: the flat baseline has none). */
  thoughtAccuracy?: number;
  answerAccuracy: number;
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
  variants: ThoughtVariantEvaluation[];
  /** A few examples with what each variant produced, for a reader to see what the numbers mean. */
  samples: { input: string; thought: string; answer: string; hdlm: { thought: string; answer: string }; flat: { answer: string } }[];
  finishedAt: string;
}

/** Exact match after trimming and case folding. */
export function sameText(a: string, b: string): boolean {
  return a.trim().toLowerCase() === b.trim().toLowerCase();
}

export async function evaluateThoughtTask(
  engine: Engine,
  task: TaskDefinition,
  options: { defaultModelDir: string; file?: string; maxExamples?: number; maxTokens?: number; signal?: AbortSignal; onProgress?: (variant: string, done: number, total: number) => void },
): Promise<ThoughtEvaluationRecord> {
  const { file, records: all } = evaluationRecords(task, options.file, readGuidedDataset);
  const records = subsample(all, options.maxExamples ?? 0, task.train.seed);
  const session = await openTask(engine, task, options.defaultModelDir);
  try {
    const { model } = session.loaded;
    const tokenizer = session.loaded.requireTokenizer();
    const L = session.loaded.checkpoint.config.numLayers;
    const k = session.layers[0]!;
    const maxNewTokens = options.maxTokens ?? 32;
    // Leave room for a thought and an answer of maxNewTokens each; longer inputs are counted out.
    const fitting = records.filter((r) => thoughtPrompt(tokenizer, task.system, r.input).length + 2 * maxNewTokens + 2 <= model.config.maxPositions);
    const measure = async <T>(fn: () => Promise<T>): Promise<{ value: T; ms: number; layerPositions: number }> => {
      const before = model.compute.layerPositions;
      const t0 = performance.now();
      const value = await fn();
      return { value, ms: performance.now() - t0, layerPositions: model.compute.layerPositions - before };
    };
    const config = { maxNewTokens };
    const hdlmOut: { thought: string; answer: string }[] = [];
    const hdlmTotals = { ms: 0, layerPositions: 0 };
    for (const [i, r] of fitting.entries()) {
      if (options.signal?.aborted) throw new CancelledError();
      const run = await measure(() =>
        thoughtThenAnswer(model, tokenizer, { input: r.input, system: task.system, thoughtLayer: k, thoughtHead: session.thoughtHead, answerHead: session.answerHead, thought: config, answer: config, signal: options.signal }),
      );
      hdlmOut.push({ thought: run.value.thought.text ?? '', answer: run.value.answer.text ?? '' });
      hdlmTotals.ms += run.ms;
      hdlmTotals.layerPositions += run.layerPositions;
      options.onProgress?.('hdlm', i + 1, fitting.length);
    }
    const flatTrained = existsSync(join(task.headsDir, `${FLAT_HEAD}.json`));
    const flatHead = flatTrained ? await LanguageHead.create(loadHead(task.headsDir, FLAT_HEAD, session.loaded.checkpoint).weights, { provider: model.provider, threads: 0, fused: true }) : undefined;
    const flatOut: string[] = [];
    const flatTotals = { ms: 0, layerPositions: 0 };
    try {
      for (const [i, r] of fitting.entries()) {
        if (options.signal?.aborted) throw new CancelledError();
        const run = await measure(() => answerDirectly(model, tokenizer, { input: r.input, system: task.system, head: flatHead, answer: config, signal: options.signal }));
        flatOut.push(run.value.text ?? '');
        flatTotals.ms += run.ms;
        flatTotals.layerPositions += run.layerPositions;
        options.onProgress?.('flat', i + 1, fitting.length);
      }
    } finally {
      await flatHead?.release();
    }
    const n = Math.max(1, fitting.length);
    const share = (hits: boolean[]): number => hits.filter(Boolean).length / n;
    return {
      kind: 'thoughtThenAnswer',
      task: task.name,
      file,
      examples: fitting.length,
      tooLong: records.length - fitting.length,
      variants: [
        {
          name: 'hdlm',
          thoughtAccuracy: share(fitting.map((r, i) => sameText(hdlmOut[i]!.thought, r.thought))),
          answerAccuracy: share(fitting.map((r, i) => sameText(hdlmOut[i]!.answer, r.answer))),
          msPerExample: hdlmTotals.ms / n,
          layerPositionsPerExample: hdlmTotals.layerPositions / n,
          layers: [k, L],
          trainedHeads: session.thoughtHead !== undefined && session.answerHead !== undefined,
        },
        {
          name: 'flat',
          answerAccuracy: share(fitting.map((r, i) => sameText(flatOut[i]!, r.answer))),
          msPerExample: flatTotals.ms / n,
          layerPositionsPerExample: flatTotals.layerPositions / n,
          layers: [L],
          trainedHeads: flatTrained,
        },
      ],
      samples: fitting.slice(0, 5).map((r, i) => ({ input: r.input, thought: r.thought, answer: r.answer, hdlm: hdlmOut[i]!, flat: { answer: flatOut[i]! } })),
      finishedAt: new Date().toISOString(),
    };
  } finally {
    await session.release();
  }
}
