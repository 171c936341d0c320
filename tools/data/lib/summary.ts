// The Markdown tables that data/README.md quotes, written by the builder next to stats.json so
// that the README's numbers are copied from a run, never typed by hand.
import { DebianStats } from './debianDataset';
import { SplitCounts, LevelStats } from './stats';
import { WordNetStats } from './wordnetDataset';

export interface GuidedSummary {
  splits: SplitCounts;
  distinctThoughts: number;
  distinctAnswers: number;
}

export interface SummaryInput {
  wordnet?: WordNetStats;
  /** taxonomy.json's parent map, to list the level-2 labels under their parents. */
  wordnetParent?: Readonly<Record<string, string>>;
  thought?: GuidedSummary;
  debian?: DebianStats;
}

function row(cells: readonly (string | number)[]): string {
  return `| ${cells.join(' | ')} |`;
}

function table(header: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  return [row(header), row(header.map(() => '---')), ...rows.map(row)].join('\n');
}

function total(c: SplitCounts): number {
  return c.train + c.dev + c.test;
}

function percent(share: number): string {
  return `${(share * 100).toFixed(1)}%`;
}

function perLabelTable(level: LevelStats, name: string): string {
  return table(
    [name, 'train', 'dev', 'test'],
    Object.entries(level.perLabel).map(([label, c]) => [`\`${label}\``, c.train, c.dev, c.test]),
  );
}

function splitRows(input: SummaryInput): (string | number)[][] {
  const rows: (string | number)[][] = [];
  if (input.wordnet !== undefined) rows.push(['wordnet', input.wordnet.splits.train, input.wordnet.splits.dev, input.wordnet.splits.test, total(input.wordnet.splits)]);
  if (input.thought !== undefined) rows.push(['thought', input.thought.splits.train, input.thought.splits.dev, input.thought.splits.test, total(input.thought.splits)]);
  if (input.debian !== undefined) rows.push(['debian', input.debian.splits.train, input.debian.splits.dev, input.debian.splits.test, total(input.debian.splits)]);
  return rows;
}

/** "parent: child, child" lines, from the parent map of taxonomy.json. */
function childrenLines(parent: Readonly<Record<string, string>>, children: readonly string[]): string[] {
  const byParent = new Map<string, string[]>();
  for (const child of children) {
    const p = parent[child] ?? '?';
    byParent.set(p, [...(byParent.get(p) ?? []), child]);
  }
  return [...byParent.keys()].sort().map((p) => `- \`${p}\`: ${(byParent.get(p) ?? []).join(', ')}`);
}

function wordnetSection(w: WordNetStats, parent: Readonly<Record<string, string>> | undefined): string[] {
  const levels = table(
    ['level', 'labels', 'of which "other"', 'items under "other"', 'fewest train items per label', 'threshold'],
    w.levels.map((l, i) => [i + 1, l.labels, l.otherLabels, percent(l.otherShare), l.minTrain, w.minTrain[i] ?? '']),
  );
  const level1 = w.levels[0];
  return [
    `### WordNet (${w.synsets} noun synsets read)`,
    '',
    levels,
    '',
    `Left out: ${w.skipped.entryPoint} synsets where the path enters their lexicographer file (no level 3), ` +
      `${w.skipped.duplicateText} with a gloss shared by another synset, ${w.skipped.emptyGloss} with an empty gloss; ` +
      `tree repair dropped ${w.repairDropped.reduce((a, b) => a + b, 0)}; folding dropped ${w.foldDropped.join(' / ')} items at levels 1 / 2 / 3 ` +
      `(lexicographer files dropped: ${w.droppedLexFiles.map((f) => `\`${f}\``).join(', ') || 'none'}).`,
    `Had level 2 been the ancestor at absolute depth 3 or 5 instead, the majority-parent repair would have dropped ` +
      `${percent(w.absoluteDepthConflicts['depth3'] ?? 0)} or ${percent(w.absoluteDepthConflicts['depth5'] ?? 0)} of the nouns.`,
    '',
    ...(level1 === undefined ? [] : ['Level 1:', '', perLabelTable(level1, 'lexicographer file'), '']),
    ...(parent === undefined || w.levels[1] === undefined ? [] : ['Level 2, by parent:', '', ...childrenLines(parent, Object.keys(w.levels[1].perLabel)), '']),
  ];
}

/** Named only when there are any, so a clean build's summary reads as before. (Stats from before the count have none.) */
function invalidNote(d: DebianStats): string {
  const invalid = d.invalidUtf8;
  if (invalid === undefined || invalid.stanzas === 0) return '';
  const named = invalid.first.map((s) => `\`${s.package}\` (${s.file}:${s.line})`).join(', ');
  return ` Also left out: ${invalid.stanzas} stanzas that are not valid UTF-8: ${named}${invalid.stanzas > invalid.first.length ? ', …' : ''}.`;
}

export function summaryMarkdown(input: SummaryInput): string {
  const lines: string[] = ['### Records per split', '', table(['dataset', 'train', 'dev', 'test', 'total'], splitRows(input)), ''];
  if (input.wordnet !== undefined) lines.push(...wordnetSection(input.wordnet, input.wordnetParent));
  if (input.thought !== undefined) {
    lines.push('### Thought-then-answer', '', `${input.thought.distinctThoughts} distinct thoughts (the level-2 labels), ${input.thought.distinctAnswers} distinct answers.`, '');
  }
  if (input.debian !== undefined) {
    const d = input.debian;
    const level = d.levels[0];
    lines.push(
      `### Debian (${d.packageStanzas} Packages stanzas, ${d.packages} distinct packages)`,
      '',
      `${level?.labels ?? 0} sections after folding ${d.sectionsBeforeFolding - ((level?.labels ?? 1) - (level?.otherLabels ?? 0))} of ${d.sectionsBeforeFolding} ` +
        `with fewer than ${d.minTrain} training items into \`other\` (${d.foldedSections.map((s) => `\`${s}\``).join(', ')}); ` +
        `\`other\` holds ${percent(level?.otherShare ?? 0)} of the items. ` +
        `Left out: ${d.skipped.duplicateDescription} packages whose long description is shared with another package, ` +
        `${d.skipped.emptyDescription} with no long description, ${d.skipped.noDescription} with no English description, ${d.skipped.noSection} with no section.` +
        invalidNote(d),
      '',
      ...(level === undefined ? [] : [perLabelTable(level, 'section'), '']),
    );
  }
  return lines.join('\n');
}
