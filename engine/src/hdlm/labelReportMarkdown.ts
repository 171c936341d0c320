// How the per-label report reads: Markdown, the change since the previous evaluation, one table
// per level (or per thought), then the evaluation history (the editor opens it with a preview;
// `hdlm report` prints it). Type imports only, and the import-free metrics and markdownText modules, so that the
// editor's client bundle can use it without the engine.
import type { HistoryEntry } from './evaluationHistory';
import type { ClassifyLabelReport, Confusion, LabelReport, LevelReport, ReportSincePrevious, ThoughtLabelReport } from './labelReport';
import { formatPValue, signedFigure, signedPoints } from './metrics';
import { markdownText } from '../markdownText';

/** A label, a file or a task name as a table cell or in a sentence: markdownText, the one escaping of user strings. */
const cell = markdownText;

const count = (n: number): string => n.toLocaleString('en');
const percent = (x: number): string => `${(x * 100).toFixed(1)} %`;
const fraction = (x: number): string => x.toFixed(3);
/** A share over no examples has no meaning: a dash, not 0. */
const over = (x: number, n: number, show: (x: number) => string): string => (n === 0 ? '—' : show(x));

/** A table whose first `text` columns are text (aligned left) and the rest figures (right). */
export function table(header: string[], rows: string[][], text = 1): string[] {
  return [`| ${header.join(' | ')} |`, `|${header.map((_, i) => (i < text ? ':--' : '--:')).join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)];
}

function confusionTable(rows: readonly Confusion[], said: string, ofGold: string): string[] {
  if (rows.length === 0) return ['None: every example was right.'];
  return table(['gold', said, 'examples', ofGold], rows.map((c) => [cell(c.gold), cell(c.predicted), count(c.count), percent(c.share)]), 2);
}

/** A record's time as read: escaped, since a hand-edited record can hold any string there. */
function when(finishedAt: string): string {
  return `${markdownText(finishedAt.slice(0, 16).replace('T', ' '))} UTC`;
}

/** What changed since the evaluation this one replaced: HdLM's measures, paired, then the labels that moved most. */
function sinceSection(since: ReportSincePrevious | undefined): string[] {
  if (!since) return [];
  const measures = table(
    ['measure', 'previous', 'now', 'difference', '95 % CI', 'McNemar', 'fixed', 'broken'],
    since.changes.map((c) => {
      const d = c.difference;
      return [c.measure, percent(c.previous), percent(c.now), `${signedPoints(d.difference)} points`, `${signedPoints(d.ci95[0])} to ${signedPoints(d.ci95[1])}`, formatPValue(d.pValue), count(d.aOnly), count(d.bOnly)];
    }),
  );
  const thoughts = since.labels.some((l) => l.level === undefined);
  const labels =
    since.labels.length === 0
      ? []
      : [
          '',
          `The ${thoughts ? 'thoughts' : 'labels'} whose F1 moved most on those examples:`,
          '',
          ...table(
            [...(thoughts ? [] : ['level']), thoughts ? 'thought' : 'label', 'examples', 'previous F1', 'F1', 'change'],
            since.labels.map((l) => [...(l.level === undefined ? [] : [String(l.level)]), cell(l.label), count(l.examples), fraction(l.previousF1), fraction(l.f1), signedFigure(l.f1 - l.previousF1, 3)]),
            thoughts ? 1 : 2,
          ),
        ];
  return [
    '## Since the previous evaluation',
    '',
    `HdLM now against the evaluation this one replaced (${when(since.finishedAt)}, on ${cell(since.file)}), paired on the ${count(since.examples)} examples both measured: only the examples one got right and the other wrong count (*fixed*, *broken*), so the interval and the exact McNemar p say whether a change is more than chance.`,
    '',
    ...measures,
    ...labels,
    '',
  ];
}

/** Every kept evaluation, newest first: what it measured, with which layers and heads, and HdLM's and flat's figures. */
function historySection(history: readonly HistoryEntry[]): string[] {
  if (history.length < 2) return [];
  const newest = history.at(-1)!;
  const measures = Object.keys(newest.hdlm);
  const flat = Object.keys(newest.flat);
  const rows = [...history].reverse().map((h) => [
    when(h.finishedAt),
    cell(h.file.split(/[\\/]/).pop() ?? h.file),
    h.sampledFrom === undefined ? count(h.examples) : `${count(h.examples)} of ${count(h.sampledFrom)}`,
    h.layers.join(', '),
    h.headsTrainedAt ? when(h.headsTrainedAt) : '—',
    ...measures.map((m) => (h.hdlm[m] === undefined ? '—' : percent(h.hdlm[m]))),
    ...flat.map((m) => (h.flat[m] === undefined ? '—' : percent(h.flat[m]))),
  ]);
  return ['## Evaluation history', '', `The task's kept evaluations, newest first (${history.length}; the last 50 are kept). *Heads*: when the newest head was trained, so evaluations of the same heads read apart from retrained ones.`, '', ...table(['evaluated', 'file', 'examples', 'layers', 'heads', ...measures.map((m) => `HdLM ${m}`), ...flat.map((m) => `flat ${m}`)], rows, 2), ''];
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
    ...sinceSection(report.sincePrevious),
    ...report.levels.flatMap((level) => levelSection(level, report.examples)),
    ...historySection(report.history),
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
    ...sinceSection(report.sincePrevious),
    ...table(['thought', 'examples', 'HdLM thought it', 'precision', 'recall', 'F1', 'HdLM answers right', 'flat answers right'], rows),
    '',
    '## Most confused thoughts',
    '',
    ...confusionTable(report.confusions, 'HdLM thought', "of the gold thought's"),
    '',
    ...historySection(report.history),
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
