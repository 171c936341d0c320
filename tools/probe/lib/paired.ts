// Setting the HdLM heads' per-example decisions (`hdlm eval --predictions`) against the text
// baselines' (`baselines.js --predictions`): pairing by id, and per-level paired differences.
import { readFileSync } from 'node:fs';
import type { ExamplePrediction } from '../../../engine/src/hdlm/evaluationPredictions';
import { pairedDifference, type PairedDifference } from '../../../engine/src/hdlm/metrics';
import type { BaselinePrediction } from './textBaseline';

export interface Comparison {
  variant: 'hdlm' | 'flat';
  baseline: 'tfidf' | 'bow';
  level: number;
  accuracy: { variant: number; baseline: number };
  difference: PairedDifference;
}

/** JSON lines of `file`, each checked by `check`; a bad line names the file and line. */
export function readLines<T>(file: string, check: (value: unknown) => value is T): T[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .flatMap((line, n) => {
      if (line.trim() === '') return [];
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch (err) {
        throw new Error(`${file}:${n + 1}: not JSON: ${(err as Error).message}`, { cause: err });
      }
      if (!check(value)) throw new Error(`${file}:${n + 1}: not a prediction line of the expected kind`);
      return [value];
    });
}

export const isBaseline = (v: unknown): v is BaselinePrediction => typeof v === 'object' && v !== null && 'id' in v && 'tfidf' in v && 'gold' in v;
export const isHeads = (v: unknown): v is ExamplePrediction => typeof v === 'object' && v !== null && 'id' in v && 'hdlm' in v && 'flat' in v;

/** Both files' lines for the same examples, in the heads file's order; refuses any mismatch. */
export function pairPredictions(baselines: BaselinePrediction[], heads: ExamplePrediction[], files: { baselines: string; heads: string }): [BaselinePrediction, ExamplePrediction][] {
  const byId = new Map(baselines.map((b) => [b.id, b]));
  if (byId.size !== heads.length) throw new Error(`${files.baselines} has ${byId.size} test items, ${files.heads} ${heads.length}: not the same test file`);
  return heads.map((h) => {
    const b = byId.get(h.id);
    if (!b) throw new Error(`${files.heads}: example ${h.id} is not in ${files.baselines}`);
    if (b.gold.join('\u0000') !== h.gold.join('\u0000')) throw new Error(`example ${h.id}: gold ${b.gold.join(' / ')} in ${files.baselines}, ${h.gold.join(' / ')} in ${files.heads}`);
    return [b, h];
  });
}

/** Per baseline, level and variant: accuracies and the paired difference, variant minus baseline. */
export function comparePredictions(pairs: [BaselinePrediction, ExamplePrediction][]): Comparison[] {
  const out: Comparison[] = [];
  const depth = pairs[0]![1].gold.length;
  for (const baseline of ['tfidf', 'bow'] as const) {
    const levels = Math.min(depth, pairs[0]![0][baseline].length);
    for (let level = 0; level < levels; level++) {
      for (const variant of ['hdlm', 'flat'] as const) {
        const right = pairs.map(([, h]) => h[variant].labels[level] === h.gold[level]);
        const baselineRight = pairs.map(([b, h]) => b[baseline][level] === h.gold[level]);
        const mean = (xs: boolean[]): number => xs.filter(Boolean).length / xs.length;
        out.push({ variant, baseline, level: level + 1, accuracy: { variant: mean(right), baseline: mean(baselineRight) }, difference: pairedDifference(right, baselineRight) });
      }
    }
  }
  return out;
}
