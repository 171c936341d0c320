// `hdlm mistakes --task FILE`: what the task's last evaluation got wrong, as the editor's
// "Show Mistakes of the Last Evaluation" shows it: one JSON line per mistake (the dataset's
// fields with the gold values, then what HdLM and flat said) on stdout or whole in `--out`, and
// a summary line. No model runs: it reads the predictions kept beside the evaluation record.
import { writeAtomically } from '../../checkpoint/safetensors';
import { mistakesOf, readMistakes } from '../../hdlm/evaluationMistakes';
import { mistakeLines, mistakesSummary } from '../../hdlm/mistakeLines';
import { readTaskFile } from '../../hdlm/taskFile';
import { defaultTaskFile, integer, outFile, UsageError, type Values } from '../args';

export function mistakesCommand(values: Values): void {
  const out = outFile(values);
  const label = typeof values['label'] === 'string' ? values['label'] : undefined;
  if (label === '') throw new UsageError('--label: name a label');
  if (values['level'] !== undefined && label === undefined) throw new UsageError('--level goes with --label');
  const level = values['level'] === undefined ? undefined : integer(values, 'level', 1, 1);
  const all = readMistakes(readTaskFile(typeof values['task'] === 'string' ? values['task'] : defaultTaskFile()));
  const result = label === undefined ? all : mistakesOf(all, { label, ...(level === undefined ? {} : { level }) });
  if (values['json']) {
    console.log(JSON.stringify(result, null, 2));
    return;
  }
  const lines = mistakeLines(result).map((row) => `${JSON.stringify(row)}\n`);
  const of = label === undefined ? '' : ` (gold ${label}${level === undefined ? '' : ` at level ${level}`} only)`;
  const summary = `${result.task} on ${result.file} (evaluated ${result.finishedAt})${of}: ${mistakesSummary(result)}`;
  if (out) {
    writeAtomically(out, lines.map((l) => Buffer.from(l)));
    console.log(`${summary}; written to ${out}`);
    return;
  }
  process.stdout.write(lines.join(''));
  // The summary goes to stderr, so that stdout stays JSON Lines for a pipe.
  console.error(summary);
}
