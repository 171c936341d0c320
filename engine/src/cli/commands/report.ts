// `hdlm report --task FILE`: the per-label report of the task's last evaluation, as the editor's
// "Show Per-Label Report" shows it: per level, each label's precision, recall and F1 (flat's F1
// beside), the worst first, and the most frequent confusions; Markdown (or with `--json`, JSON)
// on stdout or whole in `--out`. No model runs: it reads the predictions kept beside the
// evaluation record.
import { readLabelReport } from '../../hdlm/labelReport';
import { labelReportMarkdown, labelReportSummary } from '../../hdlm/labelReportMarkdown';
import { readTaskFile } from '../../hdlm/taskFile';
import { defaultTaskFile, type Values } from '../args';
import { outputFile, writeOutput } from '../outputs';

export function reportCommand(values: Values): void {
  const task = readTaskFile(typeof values['task'] === 'string' ? values['task'] : defaultTaskFile());
  const out = outputFile(values, 'out', { task });
  const report = readLabelReport(task);
  // --json with --out: the JSON goes to the file, as the Markdown would.
  const text = values['json'] ? `${JSON.stringify(report, null, 2)}\n` : labelReportMarkdown(report);
  if (!out) {
    process.stdout.write(text);
    return;
  }
  writeOutput(out, text);
  console.log(`${report.task} (evaluated ${report.finishedAt}): ${labelReportSummary(report)}; written to ${out}`);
}
