// Turning per-item ancestor paths into a label tree fit for training: repair the places where
// the source is not a tree, fold rare labels into one "other" label per parent, and give every
// node a short unique name. Works on opaque node keys so it serves WordNet (synset offsets) and
// Debian (sections) alike; names are attached last, once the surviving nodes are known.
import { Split } from './split';

export interface TaxonomyItem {
  id: string;
  split: Split;
  /** Node keys from the coarsest level down. Keys must be unique across levels. */
  path: readonly string[];
}

/** The parent key of top-level nodes. */
export const ROOT = '';
const OTHER_PREFIX = 'other:';

export function otherKey(parentKey: string): string {
  return OTHER_PREFIX + parentKey;
}

export function isOtherKey(key: string): boolean {
  return key.startsWith(OTHER_PREFIX);
}

function depthOf(items: readonly TaxonomyItem[]): number {
  const depth = items[0]?.path.length ?? 0;
  for (const item of items) {
    if (item.path.length !== depth) throw new Error(`item ${item.id} has ${item.path.length} levels, expected ${depth}`);
  }
  return depth;
}

/** Throws when a key is used at two levels: the caller must make keys level-unique. */
function checkLevelUnique(items: readonly TaxonomyItem[]): void {
  const levelOf = new Map<string, number>();
  for (const item of items) {
    item.path.forEach((key, level) => {
      const seen = levelOf.get(key);
      if (seen === undefined) levelOf.set(key, level);
      else if (seen !== level) throw new Error(`node key '${key}' is used at levels ${seen + 1} and ${level + 1}`);
    });
  }
}

function increment<K>(map: Map<K, number>, key: K, by = 1): void {
  map.set(key, (map.get(key) ?? 0) + by);
}

/** The most frequent value; ties go to the smallest key so the result never depends on order. */
function argmax(counts: ReadonlyMap<string, number>): string {
  let best: string | undefined;
  let bestCount = -1;
  for (const [key, count] of counts) {
    if (count > bestCount || (count === bestCount && best !== undefined && key < best)) {
      best = key;
      bestCount = count;
    }
  }
  if (best === undefined) throw new Error('argmax of an empty map');
  return best;
}

export interface RepairResult<T> {
  items: T[];
  /** Items dropped at each level because their parent there was not the node's majority parent. */
  droppedPerLevel: number[];
  /** The parent each node was given, for every node below level 1. */
  parentOf: Map<string, string>;
}

/**
 * Makes the paths a tree, top level first: a node's parent is the parent most of its items
 * give it (ties: the smallest key), and items that give it another parent are dropped rather
 * than relabelled, because their path is what the source says and a remapped path would be
 * wrong. Repairing top-down matters: dropping at level d changes the counts at level d+1.
 */
export function repairTree<T extends TaxonomyItem>(items: readonly T[]): RepairResult<T> {
  const depth = depthOf(items);
  checkLevelUnique(items);
  let kept = [...items];
  const droppedPerLevel = new Array<number>(depth).fill(0);
  const parentOf = new Map<string, string>();
  for (let level = 1; level < depth; level++) {
    const votes = new Map<string, Map<string, number>>();
    for (const item of kept) {
      const key = item.path[level] as string;
      const perParent = votes.get(key) ?? new Map<string, number>();
      increment(perParent, item.path[level - 1] as string);
      votes.set(key, perParent);
    }
    for (const [key, perParent] of votes) parentOf.set(key, argmax(perParent));
    const before = kept.length;
    kept = kept.filter((item) => parentOf.get(item.path[level] as string) === item.path[level - 1]);
    droppedPerLevel[level] = before - kept.length;
  }
  return { items: kept, droppedPerLevel, parentOf };
}

export interface FoldOptions {
  /**
   * Minimum number of training items a node needs at each level, top level first. Must not
   * increase with depth: then a parent that met its own threshold can always hold its "other"
   * child, since that child has at most all of the parent's items.
   */
  minTrain: readonly number[];
  /** Rare top-level nodes: 'fold' into one top-level "other", or 'drop' their items. */
  topLevel: 'fold' | 'drop';
}

export interface FoldResult<T> {
  items: T[];
  /** Nodes folded into an "other" node, per level. */
  foldedPerLevel: number[];
  /** Items dropped per level: rare top-level nodes ('drop'), or "other" nodes still too small. */
  droppedPerLevel: number[];
  /** Top-level keys whose items were dropped ('drop' mode), sorted. */
  droppedTopKeys: string[];
}

function checkThresholds(minTrain: readonly number[], depth: number): void {
  if (minTrain.length !== depth) throw new Error(`minTrain has ${minTrain.length} thresholds for ${depth} levels`);
  for (let i = 1; i < depth; i++) {
    if ((minTrain[i] as number) > (minTrain[i - 1] as number)) throw new Error(`minTrain must not increase with depth (${minTrain.join(', ')})`);
  }
}

function trainCounts(items: readonly TaxonomyItem[], level: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) if (item.split === 'train') increment(counts, item.path[level] as string);
  return counts;
}

/**
 * Which children fold into their parent's "other" node at this level (the rare ones), and which
 * "other" nodes are still below the threshold after pooling them (their items get dropped).
 */
function chooseFolds(items: readonly TaxonomyItem[], level: number, threshold: number): { folds: Map<string, string>; tooSmall: Set<string> } {
  const counts = trainCounts(items, level);
  const folds = new Map<string, string>();
  const pooled = new Map<string, number>();
  for (const item of items) {
    const key = item.path[level] as string;
    if (folds.has(key) || (counts.get(key) ?? 0) >= threshold) continue;
    const other = otherKey(level === 0 ? ROOT : (item.path[level - 1] as string));
    folds.set(key, other);
    increment(pooled, other, counts.get(key) ?? 0);
  }
  const tooSmall = new Set([...pooled].filter(([, count]) => count < threshold).map(([key]) => key));
  return { folds, tooSmall };
}

function withKey<T extends TaxonomyItem>(item: T, level: number, key: string): T {
  const path = [...item.path];
  path[level] = key;
  return { ...item, path };
}

/**
 * Folds, level by level from the top, every node with fewer than minTrain[level] training items
 * into `other:<parent>`. Folding a parent does not fold its children: a well-populated child of
 * a rare parent stays, now under the parent's "other" node (still a tree: its parent is unique).
 * Rare top-level nodes fold into one top-level "other" or, with topLevel 'drop', are dropped.
 *
 * An "other" node still below the threshold after pooling has its items dropped: pooling them
 * into a sibling instead would rename a well-populated label (chordate's few non-vertebrates
 * would swallow "vertebrate"). Dropping lowers the counts of levels already folded, so the
 * whole fold is redone on the remaining items until nothing more is dropped; then every label
 * has at least its level's minimum of training items.
 */
export function foldRare<T extends TaxonomyItem>(items: readonly T[], options: FoldOptions): FoldResult<T> {
  const depth = depthOf(items);
  checkThresholds(options.minTrain, depth);
  const droppedPerLevel = new Array<number>(depth).fill(0);
  const droppedTopKeys = new Set<string>();
  let kept = [...items];
  for (;;) {
    const pass = foldOnce(kept, options, depth);
    pass.droppedPerLevel.forEach((n, level) => (droppedPerLevel[level] = (droppedPerLevel[level] as number) + n));
    for (const key of pass.droppedTopKeys) droppedTopKeys.add(key);
    if (pass.dropped.size === 0) {
      return { items: pass.items, foldedPerLevel: pass.foldedPerLevel, droppedPerLevel, droppedTopKeys: [...droppedTopKeys].sort() };
    }
    kept = kept.filter((item) => !pass.dropped.has(item.id));
  }
}

interface FoldPass<T> {
  items: T[];
  foldedPerLevel: number[];
  droppedPerLevel: number[];
  droppedTopKeys: string[];
  dropped: Set<string>;
}

function foldOnce<T extends TaxonomyItem>(items: readonly T[], options: FoldOptions, depth: number): FoldPass<T> {
  let current = [...items];
  const foldedPerLevel = new Array<number>(depth).fill(0);
  const droppedPerLevel = new Array<number>(depth).fill(0);
  const dropped = new Set<string>();
  let droppedTopKeys: string[] = [];
  for (let level = 0; level < depth; level++) {
    const threshold = options.minTrain[level] as number;
    const { folds, tooSmall } = chooseFolds(current, level, threshold);
    const dropTop = level === 0 && options.topLevel === 'drop';
    if (dropTop) droppedTopKeys = [...folds.keys()].sort();
    else foldedPerLevel[level] = folds.size;
    const next: T[] = [];
    for (const item of current) {
      const key = item.path[level] as string;
      const to = folds.get(key);
      if (to !== undefined && (dropTop || tooSmall.has(to))) dropped.add(item.id);
      else next.push(to === undefined ? item : withKey(item, level, to));
    }
    droppedPerLevel[level] = current.length - next.length;
    current = next;
  }
  return { items: current, foldedPerLevel, droppedPerLevel, droppedTopKeys, dropped };
}

/** The parent key of an "other" key, or undefined for a real key. */
function otherParent(key: string): string | undefined {
  return isOtherKey(key) ? key.slice(OTHER_PREFIX.length) : undefined;
}

/**
 * Names every key. Real keys take their first candidate; when several keys (at any level)
 * would share a name, all of them move on to their next candidate, so no key keeps a plain name
 * that means two things; exhausted keys get `<first candidate> #<key>`. "Other" keys are named
 * `other.<parent name>` (top level: `other`) and no real key may take such a name.
 */
export function nameKeys(keys: Iterable<string>, candidates: (key: string) => readonly string[]): Map<string, string> {
  const all = [...new Set(keys)].sort();
  const real = all.filter((k) => !isOtherKey(k));
  const names = new Map<string, string>();
  const choice = new Map(real.map((k) => [k, 0]));
  const nameAt = (key: string): string => {
    const list = candidates(key);
    const i = choice.get(key) ?? 0;
    return list[i] ?? `${list[0] ?? key} #${key}`;
  };
  for (let round = 0; ; round++) {
    const byName = new Map<string, string[]>();
    for (const key of real) {
      const name = nameAt(key);
      const group = byName.get(name);
      if (group === undefined) byName.set(name, [key]);
      else group.push(key);
    }
    const clashing = [...byName].filter(([name, ks]) => ks.length > 1 || name === 'other' || name.startsWith('other.'));
    if (clashing.length === 0) break;
    if (round > 64) throw new Error(`cannot give unique names to ${clashing.map(([n]) => n).join(', ')}`);
    for (const [, ks] of clashing) for (const k of ks) choice.set(k, (choice.get(k) ?? 0) + 1);
  }
  for (const key of real) names.set(key, nameAt(key));
  const otherName = (key: string): string => {
    const parent = otherParent(key) as string;
    if (parent === ROOT) return 'other';
    return `other.${isOtherKey(parent) ? otherName(parent) : (names.get(parent) ?? parent)}`;
  };
  for (const key of all) if (isOtherKey(key)) names.set(key, otherName(key));
  return names;
}

export interface LabelTree {
  /** Labels per level, sorted. */
  levels: string[][];
  /** Parent label of every label below the top level. */
  parent: Record<string, string>;
}

/** The tree spelled by a set of label paths (assumed consistent; see findTreeViolations). */
export function labelTree(paths: readonly (readonly string[])[]): LabelTree {
  const levels: Set<string>[] = [];
  const parent: Record<string, string> = {};
  for (const path of paths) {
    path.forEach((label, level) => {
      (levels[level] ??= new Set()).add(label);
      if (level > 0) parent[label] = path[level - 1] as string;
    });
  }
  const sortedParent: Record<string, string> = {};
  for (const key of Object.keys(parent).sort()) sortedParent[key] = parent[key] as string;
  return { levels: levels.map((s) => [...s].sort()), parent: sortedParent };
}
