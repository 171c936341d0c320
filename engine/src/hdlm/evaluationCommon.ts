// What both kinds of evaluation share (evaluateTask.ts for a classification, evaluateThought.ts
// for thought-then-answer): their options, which records to evaluate on, the notices for skipped
// lines and for nothing evaluated, the sample mark and the flat baseline's head. Below both, so
// neither evaluation imports the other for them.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { LanguageHead } from '../model/languageHead';
import { NAMED } from './contextFit';
import { formatIssues, type JsonlIssue } from './dataset/jsonl';
import type { DatasetIssues } from './dataset/readDataset';
import type { LabelScoring } from './labelScorer';
import { splitByHash } from './splits';
import type { TaskDefinition } from './taskFile';
import { FLAT_HEAD, loadSavedHead, type TaskSession } from './taskSession';

/** What either kind of evaluation takes (evaluateTask, evaluateThoughtTask). */
export interface EvaluationOptions {
  defaultModelDir: string;
  file?: string;
  maxExamples?: number;
  keepPredictions?: boolean;
  signal?: AbortSignal;
  onProgress?: (variant: string, done: number, total: number) => void;
  /** What the user should know: lines skipped, examples left out, the task session's notices (e.g. an exitWhenSure it cannot follow yet). */
  onNotice?: (message: string) => void;
}

/**
 * What to evaluate on: the file asked for, else the task's test file, else its dev file, else
 * the dev split that training held out of the training file (same fraction and seed), so a task
 * with a single dataset file is still measured on examples its heads did not train on.
 * `file` names it in the record; `source` is the file read (where its lines are); `skipped`, the
 * lines of an evaluated file that the reader skipped (none for a dev split: training reports the
 * training file's).
 */
export function evaluationRecords<R extends { id: string }>(
  task: TaskDefinition,
  asked: string | undefined,
  read: (file: string) => { records: R[]; issues?: DatasetIssues },
): { file: string; source: string; records: R[]; skipped: JsonlIssue[] } {
  const file = asked ?? task.dataset.test ?? task.dataset.dev;
  if (file) {
    const { records, issues } = read(file);
    return { file, source: file, records, skipped: issues?.skipped ?? [] };
  }
  const { dev } = splitByHash(read(task.dataset.train).records, task.train.devFraction, task.train.seed);
  if (dev.length === 0) throw new Error(`${task.path}: nothing to evaluate on: no dataset.test or dataset.dev, and the dev split of ${task.dataset.train} is empty (raise train.devFraction)`);
  return { file: `${task.dataset.train} (dev split, ${Math.round(task.train.devFraction * 100)}%)`, source: task.dataset.train, records: dev, skipped: [] };
}

/** What an evaluation refused for want of examples left as it was. */
export const NOTHING_EVALUATED = 'nothing was evaluated, and the kept evaluation stays as it was';

/** The lines of an evaluated file that were skipped, the first few named with why. */
export function skippedLinesNotice(source: string, skipped: readonly JsonlIssue[]): string {
  const more = skipped.length > NAMED ? `\n… and ${skipped.length - NAMED} more` : '';
  return `${skipped.length} ${skipped.length === 1 ? 'line' : 'lines'} of ${source} skipped, not evaluated:\n${formatIssues(source, skipped.slice(0, NAMED))}${more}`;
}

/** `{ sampledFrom }` when a sample was taken of the file's records, else nothing. */
export function sampled(records: readonly unknown[], all: readonly unknown[]): { sampledFrom?: number } {
  return records.length < all.length ? { sampledFrom: all.length } : {};
}

/** The task's trained flat head (the flat baseline's), if it has one, with its label scoring; the caller releases it. */
export async function openFlatHead(session: Pick<TaskSession, 'task' | 'loaded'>): Promise<{ head: LanguageHead; scoring: LabelScoring } | undefined> {
  const { task } = session;
  return existsSync(join(task.headsDir, `${FLAT_HEAD}.json`)) ? loadSavedHead(session.loaded, task.headsDir, FLAT_HEAD, task) : undefined;
}
