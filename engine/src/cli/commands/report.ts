// `hdlm report --task FILE`: the per-label report of the task's last evaluation, as the editor's
// "Show Per-Label Report" shows it: per level, each label's precision, recall and F1 (flat's F1
// beside), the worst first, and the most frequent confusions; Markdown on stdout or whole in
// `--out`. No model runs: it reads the predictions kept beside the evaluation record.
import { writeAtomically } from '../../checkpoint/safetensors';
import { readLabelReport } from '../../hdlm/labelReport';
import { labelReportMarkdown, labelReportSummary } from '../../hdlm/labelReportMarkdown';
import { readTaskFile } from '../../hdlm/taskFile';
import { defaultTaskFile, outFile, type Values } from '../args';

export function reportCommand(values: Values): void {
  const out = outFile(values);
  const report = readLabelReport(readTaskFile(typeof values['task'] === 'string' ? values['task'] : defaultTaskFile()));
  if (values['json']) {
    console.log(JSON.stringify(report, null, 2));
    return;
  }
  const markdown = labelReportMarkdown(report);
  if (!out) {
    process.stdout.write(markdown);
    return;
  }
  writeAtomically(out, [Buffer.from(markdown)]);
  console.log(`${report.task} (evaluated ${report.finishedAt}): ${labelReportSummary(report)}; written to ${out}`);
}
