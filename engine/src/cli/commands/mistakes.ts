// `hdlm mistakes --task FILE`: what the task's last evaluation got wrong, as the editor's
// "Show Mistakes of the Last Evaluation" shows it: one JSON line per mistake (the dataset's
// fields with the gold values, then what HdLM and flat said) on stdout or whole in `--out`
// (`--json`: the whole result, to either), and a summary line. No model runs: it reads the
// predictions kept beside the evaluation record.
import { MistakeFilterError, readMistakes, type EvaluationMistakes, type MistakeFilter } from '../../hdlm/evaluationMistakes';
import { mistakeLines, mistakesSummary } from '../../hdlm/mistakeLines';
import { readTaskFile, type TaskDefinition } from '../../hdlm/taskFile';
import { defaultTaskFile, integer, UsageError, type Values } from '../args';
import { outputFile, writeOutput } from '../outputs';

export function mistakesCommand(values: Values): void {
  const task = readTaskFile(typeof values['task'] === 'string' ? values['task'] : defaultTaskFile());
  const out = outputFile(values, 'out', { task });
  const filter = mistakeFilter(values);
  const result = filtered(task, filter);
  const text = values['json'] ? `${JSON.stringify(result, null, 2)}\n` : mistakeLines(result).map((row) => `${JSON.stringify(row)}\n`).join('');
  const of = filter === undefined ? '' : ` (gold ${filter.label}${filter.level === undefined ? '' : ` at level ${filter.level}`} only)`;
  const summary = `${result.task} on ${result.file} (evaluated ${result.finishedAt})${of}: ${mistakesSummary(result)}`;
  if (out) {
    writeOutput(out, text);
    console.log(`${summary}; written to ${out}`);
    return;
  }
  process.stdout.write(text);
  // The summary goes to stderr, so that stdout stays JSON (Lines) for a pipe.
  console.error(summary);
}

/** The mistakes, those of the filter's label when given; a label or level that matches nothing is the option's fault: a usage error. */
function filtered(task: TaskDefinition, filter: MistakeFilter | undefined): EvaluationMistakes {
  try {
    return readMistakes(task, filter);
  } catch (err) {
    if (err instanceof MistakeFilterError && filter) throw new UsageError(`--label ${filter.label}${filter.level === undefined ? '' : ` --level ${filter.level}`}: ${err.message}`);
    throw err;
  }
}

/** `--label L [--level N]`, or undefined for every mistake. */
function mistakeFilter(values: Values): MistakeFilter | undefined {
  const label = typeof values['label'] === 'string' ? values['label'] : undefined;
  if (label !== undefined && label.trim() === '') throw new UsageError('--label: name a label');
  if (values['level'] !== undefined && label === undefined) throw new UsageError('--level goes with --label');
  if (label === undefined) return undefined;
  return values['level'] === undefined ? { label } : { label, level: integer(values, 'level', 1, 1) };
}
