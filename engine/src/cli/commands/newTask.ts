// `hdlm new-task DATASET.jsonl`: a task file beside a dataset, as "HdLM: New Task from Dataset"
// writes it in the editor (engine/src/hdlm/taskCreation.ts), so the command line has the same
// first step as the sidebar: new-task, then train, then eval.
import { resolve } from 'node:path';
import { createTaskFile } from '../../hdlm/taskCreation';
import { modelDir, UsageError, type Values } from '../args';

export async function newTaskCommand(values: Values, positionals: string[]): Promise<void> {
  if (positionals.length !== 1) throw new UsageError('new-task: name one dataset, e.g. hdlm new-task data/animals.jsonl');
  // Without --model the task says "default": the shipped model, wherever it is installed.
  const model = typeof values['model'] === 'string' ? { field: modelDir(values), dir: modelDir(values), source: '--model' } : { field: 'default', dir: modelDir(values), source: 'the shipped model' };
  const created = await createTaskFile(resolve(positionals[0]!), model);
  if (values['json']) {
    console.log(JSON.stringify(created, null, 2));
    return;
  }
  const levels = created.levels.length;
  const kind = created.kind === 'thoughtThenAnswer' ? 'thought then answer' : `${levels} level${levels === 1 ? '' : 's'}`;
  const skipped = created.skipped > 0 ? `; training will skip ${created.skipped} line${created.skipped === 1 ? '' : 's'}` : '';
  console.log(`created ${created.task}: ${kind} at layers ${created.levels.join(', ')} of ${created.modelLayers}, ${created.examples} examples${created.firstLines === undefined ? '' : ` in its first ${created.firstLines} lines`}${skipped}`);
  for (const notice of created.notices) console.log(notice);
  console.log(`next: hdlm train --task ${shellWord(created.task)}`);
}

/**
 * A path as one word of the shell, so that the printed command can be pasted: quoted when it
 * holds anything but plain path characters (a space, a quote, a `$`); in a POSIX shell with single
 * quotes (a `'` written as `'\''`), on Windows with double quotes (a name there holds no `"`).
 */
export function shellWord(path: string, platform: NodeJS.Platform = process.platform): string {
  if (platform === 'win32') return /^[\w@%+=:,./\\-]+$/.test(path) ? path : `"${path}"`;
  return /^[\w@%+=:,./-]+$/.test(path) ? path : `'${path.replace(/'/g, `'\\''`)}'`;
}
