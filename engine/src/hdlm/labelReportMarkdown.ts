// How the per-label report reads: Markdown, one table per level (the editor opens it with a
// preview; `hdlm report` prints it). Type imports only, so that the editor's client bundle can
// use it without the engine.
import type { ClassifyLabelReport, Confusion, LabelReport, LevelReport, ThoughtLabelReport } from './labelReport';

/** A label as a table cell: Markdown's own characters escaped, so a label reads as written. */
export function cell(text: string): string {
  return text.replace(/[\\`*_[\]<>|~]/g, (c) => `\\${c}`).replace(/\r?\n/g, ' ');
}

const count = (n: number): string => n.toLocaleString('en');
const percent = (x: number): string => `${(x * 100).toFixed(1)} %`;
const fraction = (x: number): string => x.toFixed(3);
/** A share over no examples has no meaning: a dash, not 0. */
const over = (x: number, n: number, show: (x: number) => string): string => (n === 0 ? '—' : show(x));

/** A table whose first `text` columns are text (aligned left) and the rest figures (right). */
function table(header: string[], rows: string[][], text = 1): string[] {
  return [`| ${header.join(' | ')} |`, `|${header.map((_, i) => (i < text ? ':--' : '--:')).join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)];
}

function confusionTable(rows: readonly Confusion[], said: string, ofGold: string): string[] {
  if (rows.length === 0) return ['None: every example was right.'];
  return table(['gold', said, 'examples', ofGold], rows.map((c) => [cell(c.gold), cell(c.predicted), count(c.count), percent(c.share)]), 2);
}

function when(finishedAt: string): string {
  return `${finishedAt.slice(0, 16).replace('T', ' ')} UTC`;
}

function levelSection(level: LevelReport, examples: number): string[] {
  const above = level.level === 1 ? '' : `; ${over(level.accuracyGivenAbove, level.examplesGivenAbove, percent)} of the ${count(level.examplesGivenAbove)} examples whose path was right above`;
  const header = ['label', 'examples', 'HdLM said it', 'precision', 'recall', 'F1', 'flat F1', 'missed'];
  if (level.level > 1) header.push('missed after a wrong level above');
  const rows = level.labels.map((l) => {
    const row = [cell(l.label), count(l.examples), count(l.predicted), over(l.precision, l.predicted, fraction), over(l.recall, l.examples, fraction), fraction(l.f1), fraction(l.flatF1), count(l.missed)];
    if (level.level > 1) row.push(count(l.missedAbove));
    return row;
  });
  return [
    `## Level ${level.level}: ${count(level.labels.length)} labels`,
    '',
    `Accuracy ${percent(level.accuracy)} of ${count(examples)}${above}. Macro-F1 ${fraction(level.macroF1)} (flat ${fraction(level.flatMacroF1)}).`,
    '',
    ...table(header, rows),
    '',
    `### Most confused at level ${level.level}`,
    '',
    ...confusionTable(level.confusions, 'HdLM said', "of the gold label's"),
    '',
  ];
}

function classifyMarkdown(report: ClassifyLabelReport): string[] {
  return [
    `# Per-label report: ${cell(report.task)}`,
    '',
    `The last evaluation (${when(report.finishedAt)}) on ${cell(report.file)}: ${count(report.examples)} examples. Per level, the worst labels by HdLM's F1 first. *Missed after a wrong level above*: examples whose path was already wrong at a coarser level, so that this level's head never had the chance.`,
    '',
    ...report.levels.flatMap((level) => levelSection(level, report.examples)),
  ];
}

function thoughtMarkdown(report: ThoughtLabelReport): string[] {
  const rows = report.thoughts.map((t) => [cell(t.thought), count(t.examples), count(t.predicted), over(t.precision, t.predicted, fraction), over(t.recall, t.examples, fraction), fraction(t.f1), over(t.answerAccuracy, t.examples, percent), over(t.flatAnswerAccuracy, t.examples, percent)]);
  return [
    `# Per-thought report: ${cell(report.task)}`,
    '',
    `The last evaluation (${when(report.finishedAt)}) on ${cell(report.file)}: ${count(report.examples)} examples. Per gold thought, the worst by HdLM's thought F1 first, with how often each variant's answer was right on that thought's examples.`,
    '',
    `Thought accuracy ${percent(report.thoughtAccuracy)}, macro-F1 ${fraction(report.thoughtMacroF1)}. Answers right: HdLM ${percent(report.answerAccuracy)}, flat ${percent(report.flatAnswerAccuracy)}.`,
    '',
    ...table(['thought', 'examples', 'HdLM thought it', 'precision', 'recall', 'F1', 'HdLM answers right', 'flat answers right'], rows),
    '',
    '## Most confused thoughts',
    '',
    ...confusionTable(report.confusions, 'HdLM thought', "of the gold thought's"),
    '',
  ];
}

/** The whole report as a Markdown document. */
export function labelReportMarkdown(report: LabelReport): string {
  return (report.kind === 'thoughtThenAnswer' ? thoughtMarkdown(report) : classifyMarkdown(report)).join('\n');
}

/** "level 1: macro-F1 0.741, level 2: …" or the thought's: a line for a log or a notification. */
export function labelReportSummary(report: LabelReport): string {
  if (report.kind === 'thoughtThenAnswer') return `${report.thoughts.length} thoughts, thought macro-F1 ${fraction(report.thoughtMacroF1)}`;
  return report.levels.map((l) => `level ${l.level}: ${l.labels.length} labels, macro-F1 ${fraction(l.macroF1)}`).join('; ');
}
