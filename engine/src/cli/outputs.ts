// The output files of the `hdlm` commands (`--out`, `--predictions`), checked before any work: a
// file in a folder that exists, and never a file the command reads. Written over, the task file,
// a dataset or a kept evaluation would be lost whole (outputs are written atomically), and the
// next command would read the output in its place: so every command that writes a file asks here.
// Nothing is written inside the task's model folder either: a file there is the model's.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { defaultModelDir } from '../defaults';
import { writeAtomically } from '../checkpoint/safetensors';
import { EVALUATION_FILE, PREDICTIONS_FILE } from '../hdlm/evaluateTask';
import { HISTORY_FILE, PREVIOUS_EVALUATION_FILE, PREVIOUS_PREDICTIONS_FILE } from '../hdlm/evaluationHistory';
import { LAYER_SCAN_FILE } from '../hdlm/layerScan';
import type { TaskDefinition } from '../hdlm/taskFile';
import { isInside, realPath } from '../realPath';
import { samePath } from '../samePath';
import { UsageError, type Values } from './args';

/** What a command reads: its task (the task file, its datasets, the heads folder's files) and other files (`--file`). */
export interface CommandReads {
  task?: Pick<TaskDefinition, 'path' | 'dataset' | 'headsDir' | 'model'>;
  /** Each file with the option or role that names it, e.g. `['--file', path]`. */
  files?: [role: string, file: string | undefined][];
}

/** The files the engine keeps beside a task's heads and reads back, whether or not they exist yet. */
const KEPT_FILES = [EVALUATION_FILE, PREDICTIONS_FILE, PREVIOUS_EVALUATION_FILE, PREVIOUS_PREDICTIONS_FILE, HISTORY_FILE, LAYER_SCAN_FILE];

/**
 * `--<option> FILE` as an absolute path, or undefined when not given; refused (a usage error,
 * before any model loads) when it is blank, a folder, in a folder that does not exist, any
 * file in `reads`, or inside the task's model folder, symbolic links followed.
 */
export function outputFile(values: Values, option: string, reads: CommandReads): string | undefined {
  const raw = values[option];
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string' || raw.trim() === '') throw new UsageError(`--${option}: name a file`);
  const file = resolve(raw);
  if (!existsSync(dirname(file))) throw new UsageError(`--${option} ${file}: folder ${dirname(file)} does not exist`);
  if (existsSync(file) && statSync(file).isDirectory()) throw new UsageError(`--${option} ${file}: is a folder; name a file in it`);
  const real = realPath(file);
  const clash = readFiles(reads).find(([, input]) => samePath(realPath(input), real));
  if (clash) throw new UsageError(`--${option} ${file}: that is ${clash[0]}, which this command reads; writing there would replace it: name another file`);
  const model = reads.task && taskModel(values, reads.task);
  if (model !== undefined && isInside(real, realPath(model))) {
    throw new UsageError(`--${option} ${file}: that is in the model folder ${model}, which this command reads; writing there could replace one of the model's files: name a file elsewhere`);
  }
  return file;
}

/** Writes a command's output whole (atomically: the old file or the new one, never half of one). */
export function writeOutput(file: string, text: string): void {
  writeAtomically(file, [Buffer.from(text)]);
}

function readFiles(reads: CommandReads): [string, string][] {
  const { task } = reads;
  const given = (reads.files ?? []).filter((entry): entry is [string, string] => entry[1] !== undefined);
  if (!task) return given;
  const datasets = Object.entries(task.dataset).flatMap(([split, file]): [string, string][] => (typeof file === 'string' ? [[`the task's dataset.${split}`, file]] : []));
  const kept = [...new Set([...KEPT_FILES, ...filesIn(task.headsDir)])].map((name): [string, string] => [`a file kept in the heads folder ${task.headsDir}`, join(task.headsDir, name)]);
  return [['the task file', task.path], ...datasets, ...given, ...kept];
}

/**
 * The model folder a task runs on (as taskModelDir and taskModelFolder pick it, without their
 * refusals, which come when the model opens). Every file in it is the model's, or may become one
 * (a sharded index, a tokenizer file), so nothing is written anywhere inside it.
 */
function taskModel(values: Values, task: Pick<TaskDefinition, 'model'>): string {
  if (task.model !== 'default') return task.model;
  return typeof values['model'] === 'string' ? resolve(values['model']) : defaultModelDir();
}

function filesIn(dir: string): string[] {
  return existsSync(dir) && statSync(dir).isDirectory() ? readdirSync(dir) : [];
}
