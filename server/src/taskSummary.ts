// What a task has produced so far, for the task panel: the trained heads (from their manifests)
// and the last evaluation record kept beside them. Only small JSON files are read, so this is
// cheap enough to answer whenever the panel refreshes.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EVALUATION_FILE, type EvaluationRecord } from '../../engine/src/hdlm/evaluateTask';
import { readManifest } from '../../engine/src/hdlm/headStore';
import { readTaskFile } from '../../engine/src/hdlm/taskFile';
import { levelHeadName } from '../../engine/src/hdlm/taskSession';
import { FLAT_HEAD } from '../../engine/src/hdlm/trainTask';
import type { EvaluationSummary, HeadSummary, TaskSummaryResult } from './protocol';

/**
 * The wire type (protocol.ts, readable on its own for other editors' authors) mirrors the
 * engine's record, which the CLI writes: this stops compiling when the two drift apart.
 */
type SameShape<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
export const EVALUATION_SHAPES_AGREE: SameShape<EvaluationSummary, EvaluationRecord> = true;

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
    return JSON.parse(readFileSync(file, 'utf8')) as EvaluationSummary;
  } catch {
    return undefined;
  }
}

/** Throws the task file's own error (with every problem named) when it is invalid. */
export function summarizeTask(taskFile: string, log: (m: string) => void = () => undefined): TaskSummaryResult {
  const task = readTaskFile(taskFile);
  const names = [...task.levels.map((_, i) => levelHeadName(i + 1)), FLAT_HEAD];
  const heads = names.map((n) => headSummary(task.headsDir, n, log)).filter((h): h is HeadSummary => h !== undefined);
  return { task: task.path, name: task.name, headsDir: task.headsDir, levels: task.levels, heads, evaluation: readEvaluation(task.headsDir) };
}
