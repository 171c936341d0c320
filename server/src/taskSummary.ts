// What a task has produced so far, for the task panel: the trained heads (from their manifests),
// the last evaluation record kept beside them, the history of evaluations, and what the task
// cannot follow yet (notices). Only small JSON files are read, so this is cheap enough to answer
// whenever the panel refreshes.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { EVALUATION_FILE } from '../../engine/src/hdlm/evaluateTask';
import { readHistoryResolved } from '../../engine/src/hdlm/evaluationHistory';
import { readEvaluationRecord } from '../../engine/src/hdlm/evaluationRecordShape';
import { taskDatasets, withResolvedFiles } from '../../engine/src/hdlm/recordFile';
import { headsFolderOwner, headsFolderProblem, readManifest } from '../../engine/src/hdlm/headStore';
import { readLayerScan, type LayerScanRecord } from '../../engine/src/hdlm/layerScan';
import { readTaskFile, type TaskDefinition } from '../../engine/src/hdlm/taskFile';
import { exitHeads, exitLayers, exitsWaitNotice, FLAT_HEAD, headLayers, taskHeadNames, taskModelFolder } from '../../engine/src/hdlm/taskSession';
import type { HeadSummary, TaskSummaryResult } from './protocol';
import { modelLayers } from './taskFacts';
import { errorMessage } from '../../engine/src/errorMessage';

/** A head's manifest as the panel shows it; nothing when another task trained it (not this task's: loading refuses it; the folder's notice says whose). */
function headSummary(headsDir: string, name: string, taskName: string, log: (m: string) => void): HeadSummary | undefined {
  if (!existsSync(join(headsDir, `${name}.json`))) return undefined;
  try {
    const m = readManifest(headsDir, name);
    if (m.task !== taskName) return undefined;
    const training = m.training ?? {};
    const number = (key: string): number | undefined => (typeof training[key] === 'number' ? training[key] : undefined);
    return { name, layer: m.layer, kind: m.kind, bestDevAccuracy: number('bestDevAccuracy'), bestEpoch: number('bestEpoch'), ...(m.labelScoring ? { labelScoring: m.labelScoring } : {}), trainedAt: m.createdAt };
  } catch (err) {
    // A damaged manifest is reported where the user looks for it, and the others still show.
    log(`head ${name} in ${headsDir}: ${errorMessage(err)}`);
    return undefined;
  }
}

type KeptEvaluation = Pick<TaskSummaryResult, 'evaluation' | 'thoughtEvaluation'>;

/**
 * The evaluation record kept in a heads folder, of either kind; nothing when there is none or it
 * cannot be shown. Its files are resolved against the heads folder (the record names them relative
 * to it; `datasets`, the task's, place an older record's absolute path after a move: recordFile.ts).
 */
export function readEvaluation(headsDir: string, log: (m: string) => void = () => undefined, datasets: readonly string[] = []): KeptEvaluation {
  const file = join(headsDir, EVALUATION_FILE);
  if (!existsSync(file)) return {};
  // One check for every reader (evaluationRecordShape.ts): a damaged record, or one another
  // version wrote, is left out and logged naming the file and field, never shown half-read.
  let kept;
  try {
    kept = readEvaluationRecord(file);
  } catch (err) {
    log(errorMessage(err));
    return {};
  }
  return kept.kind === 'thoughtThenAnswer' ? { thoughtEvaluation: withResolvedFiles(headsDir, kept.record, datasets) } : { evaluation: withResolvedFiles(headsDir, kept.record, datasets) };
}

/**
 * Throws the task file's own error (with every problem named) when it is invalid.
 * `defaultModelDir`: the model a task's `"model": "default"` stands for, read (its config only)
 * to resolve "last" and name the heads of a task that exits when sure.
 */
export function summarizeTask(taskFile: string, log: (m: string) => void, defaultModelDir: string): TaskSummaryResult {
  const task = readTaskFile(taskFile);
  const L = layerCount(task, defaultModelDir);
  const exits = exitSummary(task, L);
  const names = [...new Set([...taskHeadNames(task), FLAT_HEAD, ...exits.names])];
  const heads = names.map((n) => headSummary(task.headsDir, n, task.name, log)).filter((h) => h !== undefined);
  // Another task's heads in the folder (a copied task file keeps "heads"; a renamed task), or a
  // folder that is a file: the evaluation there is not shown as this task's, since classifying
  // and training refuse it (headsFolderOwner, the one rule); the notice says why and what to do.
  const problem = headsFolderProblem(headsFolderOwner(task.headsDir, task.name), task.headsDir, task.name, 'use');
  // The same notices a session gives (openTask): levels whose heads learned at another layer, untrained exits.
  const { moved, notices: movedNotices } = L === undefined ? { moved: [], notices: [] } : headLayers(task, task.levels.map((l) => (l === 'last' ? L : l)), taskHeadNames(task).map((n) => heads.find((h) => h.name === n)), L);
  const wait = exits.names.length > 0 ? exitsWaitNotice(task, exits.missing, moved) : undefined;
  const notices = [...(problem === undefined ? [] : [problem]), ...movedNotices, ...(wait ? [wait] : [])];
  return {
    task: task.path,
    name: task.name,
    headsDir: task.headsDir,
    levels: task.levels,
    ...(L !== undefined ? { modelLayers: L } : {}),
    heads,
    ...(problem === undefined ? { ...readEvaluation(task.headsDir, log, taskDatasets(task)), history: readHistoryResolved(task.headsDir, taskDatasets(task)) } : { history: [] }),
    // The scan record kept there is no more this task's than the evaluation.
    ...(problem === undefined ? keptScan(task.headsDir, log) : {}),
    notices,
  };
}

/** The task's model's layer count (its config, cached by mtime); undefined when it cannot be read (its diagnostics say why). */
function layerCount(task: TaskDefinition, defaultModelDir: string): number | undefined {
  const model = modelLayers(taskModelFolder(task, defaultModelDir));
  return 'layers' in model ? model.layers : undefined;
}

/**
 * The exit heads of a classify task that exits when sure, and the untrained ones. Nothing without
 * the model's layer count, or when an exit is beyond it: the task file's diagnostics say so where
 * the value is written.
 */
function exitSummary(task: TaskDefinition, L: number | undefined): { names: string[]; missing: string[] } {
  const none = { names: [], missing: [] };
  if (task.kind !== 'classify' || !task.exitWhenSure || L === undefined) return none;
  try {
    const { names, missing } = exitHeads(task, exitLayers(task, L), L);
    return { names: names.flat(), missing };
  } catch {
    return none;
  }
}

/** The layer scan kept beside the heads; a damaged one is logged and left out. */
function keptScan(headsDir: string, log: (m: string) => void): { layerScan?: LayerScanRecord } {
  try {
    const layerScan = readLayerScan(headsDir);
    return layerScan ? { layerScan } : {};
  } catch (err) {
    log(errorMessage(err));
    return {};
  }
}
