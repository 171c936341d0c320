// Small helpers shared by the dataset builders.
import { Split, unitHash } from './split';

/** A finished record and the split it belongs to (the split is not part of the line format). */
export interface SplitRecord<T> {
  split: Split;
  record: T;
}

/**
 * Drops every copy of a text that occurs more than once. Identical inputs with different
 * targets make a task ill-posed, and identical inputs in different splits leak the test set.
 */
export function dropDuplicateTexts<T extends { text: string }>(items: readonly T[]): { items: T[]; dropped: number } {
  const count = new Map<string, number>();
  for (const item of items) count.set(item.text, (count.get(item.text) ?? 0) + 1);
  const kept = items.filter((item) => count.get(item.text) === 1);
  return { items: kept, dropped: items.length - kept.length };
}

/** The fixtures use their own seed so that they are not simply the first items of the test split. */
export const FIXTURE_SEED = 'hdlm-fixtures-v1';

/**
 * A deterministic sample of at most maxItems items that covers as many groups as possible:
 * the same number from each group (the lowest hashes of their ids), in the input order.
 */
export function sampleByGroup<T>(items: readonly T[], idOf: (item: T) => string, groupOf: (item: T) => string, maxItems: number): T[] {
  const groups = new Map<string, { index: number; hash: number }[]>();
  items.forEach((item, index) => {
    const group = groupOf(item);
    const members = groups.get(group) ?? [];
    members.push({ index, hash: unitHash(idOf(item), FIXTURE_SEED) });
    groups.set(group, members);
  });
  const names = [...groups.keys()].sort();
  const perGroup = Math.max(1, Math.floor(maxItems / Math.max(1, names.length)));
  const chosen: number[] = [];
  for (const name of names) {
    const members = (groups.get(name) ?? []).sort((a, b) => a.hash - b.hash || a.index - b.index);
    chosen.push(...members.slice(0, perGroup).map((m) => m.index));
  }
  // With more groups than lines, the groups first in name order are kept.
  return chosen
    .slice(0, maxItems)
    .sort((a, b) => a - b)
    .map((i) => items[i] as T);
}
