// Counts that go into stats.json and data/README.md. Plain objects with sorted keys, so the
// stats file is byte-identical between runs like the datasets themselves.
import { countSplits, Split } from './split';

export type SplitCounts = Record<Split, number>;

export interface LevelStats {
  labels: number;
  /** How many of those labels are "other" buckets. */
  otherLabels: number;
  /** Share of all items (every split) whose label at this level is an "other" bucket. */
  otherShare: number;
  /** The smallest number of training items any label at this level has. */
  minTrain: number;
  perLabel: Record<string, SplitCounts>;
}

export interface Labelled {
  split: Split;
  labels: readonly string[];
}

export function isOtherLabel(label: string): boolean {
  return label === 'other' || label.startsWith('other.');
}

function total(counts: SplitCounts): number {
  return counts.train + counts.dev + counts.test;
}

export function levelStats(items: readonly Labelled[]): LevelStats[] {
  const depth = items[0]?.labels.length ?? 0;
  const result: LevelStats[] = [];
  for (let level = 0; level < depth; level++) {
    const perLabel = new Map<string, SplitCounts>();
    for (const item of items) {
      const label = item.labels[level] as string;
      const counts = perLabel.get(label) ?? { train: 0, dev: 0, test: 0 };
      counts[item.split] += 1;
      perLabel.set(label, counts);
    }
    const labels = [...perLabel.keys()].sort();
    const inOther = labels.filter(isOtherLabel).reduce((sum, l) => sum + total(perLabel.get(l) as SplitCounts), 0);
    const sorted: Record<string, SplitCounts> = {};
    for (const label of labels) sorted[label] = perLabel.get(label) as SplitCounts;
    result.push({
      labels: labels.length,
      otherLabels: labels.filter(isOtherLabel).length,
      otherShare: items.length === 0 ? 0 : Math.round((inOther / items.length) * 1000) / 1000,
      minTrain: Math.min(...labels.map((l) => (perLabel.get(l) as SplitCounts).train)),
      perLabel: sorted,
    });
  }
  return result;
}

export { countSplits };
