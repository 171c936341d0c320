// What a task has produced so far, for the task panel: the trained heads (from their manifests)
// and the last evaluation record kept beside them. Only small JSON files are read, so this is
// cheap enough to answer whenever the panel refreshes.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EVALUATION_FILE } from '../../engine/src/hdlm/evaluateTask';
import { readManifest } from '../../engine/src/hdlm/headStore';
import { readTaskFile } from '../../engine/src/hdlm/taskFile';
import { taskHeadNames } from '../../engine/src/hdlm/taskSession';
import { FLAT_HEAD } from '../../engine/src/hdlm/trainTask';
import type { EvaluationSummary, HeadSummary, TaskSummaryResult } from './protocol';

function headSummary(headsDir: string, name: string, log: (m: string) => void): HeadSummary | undefined {
  if (!existsSync(join(headsDir, `${name}.json`))) return undefined;
  try {
    const m = readManifest(headsDir, name);
    const training = m.training ?? {};
    const number = (key: string): number | undefined => (typeof training[key] === 'number' ? training[key] : undefined);
    return { name, layer: m.layer, kind: m.kind, bestDevAccuracy: number('bestDevAccuracy'), bestEpoch: number('bestEpoch'), trainedAt: m.createdAt };
  } catch (err) {
    // A damaged manifest is reported where the user looks for it, and the others still show.
    log(`head ${name} in ${headsDir}: ${err instanceof Error ? err.message : String(err)}`);
    return undefined;
  }
}

function readEvaluation(headsDir: string): EvaluationSummary | undefined {
  const file = join(headsDir, EVALUATION_FILE);
  if (!existsSync(file)) return undefined;
  try {
    const record = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    return isClassificationRecord(record) ? record : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Only a classification record fits the panel's per-level table; a record of another kind (a
 * thought-then-answer evaluation has `kind` and no per-level metrics) or of an unknown shape is
 * ignored, never shown half-read.
 */
function isClassificationRecord(value: unknown): value is EvaluationSummary {
  if (typeof value !== 'object' || value === null || 'kind' in value) return false;
  const variants = (value as { variants?: unknown }).variants;
  return Array.isArray(variants) && variants.every((v) => typeof v === 'object' && v !== null && Array.isArray((v as { levels?: unknown }).levels));
}

/** Throws the task file's own error (with every problem named) when it is invalid. */
export function summarizeTask(taskFile: string, log: (m: string) => void = () => undefined): TaskSummaryResult {
  const task = readTaskFile(taskFile);
  const names = [...taskHeadNames(task), FLAT_HEAD];
  const heads = names.map((n) => headSummary(task.headsDir, n, log)).filter((h): h is HeadSummary => h !== undefined);
  return { task: task.path, name: task.name, headsDir: task.headsDir, levels: task.levels, heads, evaluation: readEvaluation(task.headsDir) };
}
