// What an evaluation measured, in words for the task panel: how many examples of which file, and
// what it left out or counted wrong without a chance (too long, lines skipped, unseen labels).
// Import-free and DOM-free, so that unit tests run it under Node.

/** The counts an evaluation record has; the last two are absent in records before 2026-12-07. */
export interface EvaluatedScope {
  examples: number;
  sampledFrom?: number;
  file: string;
  tooLong: number;
  skippedLines?: number;
  unknownLabels?: number;
}

const count = (n: number): string => n.toLocaleString('en-US');
/** A path's last part, whichever separator it uses. */
export const fileName = (path: string): string => path.split(/[\\/]/).pop() ?? path;

/** "a sample of 200 of the 7,561 examples of test.jsonl", or "7,561 examples of test.jsonl". */
export function scopeText(e: EvaluatedScope): string {
  const examples = e.sampledFrom === undefined ? count(e.examples) : `a sample of ${count(e.examples)} of the ${count(e.sampledFrom)}`;
  return `${examples} examples of ${fileName(e.file)}`;
}

/**
 * "12 too long, 3 lines skipped, 2 with unseen labels" (the non-zero ones) and what each means,
 * for a hover; undefined when the evaluation left nothing out.
 */
export function leftOut(e: EvaluatedScope): { text: string; title: string } | undefined {
  const parts = [
    { n: e.tooLong, text: 'too long', title: 'too long: examples beyond the model\'s context (on the taxonomy\'s longest path), left out' },
    { n: e.skippedLines ?? 0, text: 'lines skipped', one: 'line skipped', title: 'lines skipped: lines of the file that are not examples (not JSON, no text, labels of another depth…)' },
    { n: e.unknownLabels ?? 0, text: 'with unseen labels', title: 'with unseen labels: examples whose gold labels the heads never saw in training; evaluated, and counted wrong at that level and on the joint path' },
  ].filter((p) => p.n > 0);
  if (parts.length === 0) return undefined;
  return { text: parts.map((p) => `${count(p.n)} ${p.n === 1 && p.one ? p.one : p.text}`).join(', '), title: parts.map((p) => p.title).join('\n') };
}
