// WordNet noun glosses → a three-level label path, and the thought-then-answer task built on
// the same items. The levels are
//   1. the lexicographer file (noun.animal, noun.artifact, …),
//   2. the synset where the item's first hypernym path (last) enters its lexicographer file,
//   3. the next synset down that path.
// Depths are counted from that entry point, not from the root 'entity': the shallow absolute
// levels (whole, living thing, abstraction) cut across lexicographer files, so a tree with
// lexicographer files on top would have to drop a large share of the nouns (stats.json
// records the share for absolute depths 3 and 5); counted from the entry point, every level-2
// node lies in its item's lexicographer file and the tree holds by construction.
import { GuidedRecord, HierarchicalRecord } from '../../../engine/src/hdlm/dataset/formats';
import { dropDuplicateTexts, SplitRecord } from './items';
import { DEFAULT_SEED, splitOf } from './split';
import { countSplits, levelStats, LevelStats, SplitCounts } from './stats';
import { foldRare, labelTree, LabelTree, nameKeys, repairTree, TaxonomyItem } from './taxonomy';
import { firstHypernymPath, maskWords, Synset } from './wordnet';

/**
 * Training items a label needs, per level. Chosen from the label counts they give (see
 * data/README.md): about two dozen lexicographer files, tens of level-2 labels and one to two
 * hundred level-3 labels, with every label learnable from at least this many examples.
 */
export const WORDNET_MIN_TRAIN: readonly number[] = [200, 200, 80];

/** Depths below the lexicographer-file entry point that give levels 2 and 3. */
export const ENTRY_DEPTHS: readonly number[] = [0, 1];

export interface WordNetItem extends TaxonomyItem {
  offset: string;
  text: string;
  /** The synset's headword: the answer of the thought-then-answer task. */
  answer: string;
}

export interface WordNetStats {
  synsets: number;
  skipped: { entryPoint: number; emptyGloss: number; duplicateText: number };
  repairDropped: number[];
  foldedLabels: number[];
  foldDropped: number[];
  droppedLexFiles: string[];
  minTrain: readonly number[];
  splits: SplitCounts;
  levels: LevelStats[];
  /** For the record: the share of nouns a tree would lose with absolute depths instead. */
  absoluteDepthConflicts: Record<string, number>;
}

export interface WordNetBuild {
  classification: SplitRecord<HierarchicalRecord>[];
  thought: SplitRecord<GuidedRecord>[];
  tree: LabelTree;
  stats: WordNetStats;
}

function wnKey(offset: string): string {
  return `wn:${offset}`;
}

/**
 * The tail of the first hypernym path that lies in the synset's own lexicographer file, walking
 * up from the synset: the path's last entry into the file. (A few dozen paths leave a file and
 * come back; taking the last entry gives every synset one relative depth, so a node can never
 * be a level-2 label for some items and a level-3 label for others.)
 */
export function lexFileSegment(synsets: ReadonlyMap<string, Synset>, path: readonly string[], lexFile: string): string[] {
  let start = path.length;
  while (start > 0 && synsets.get(path[start - 1] as string)?.lexFile === lexFile) start--;
  return path.slice(start);
}

interface Candidates {
  items: WordNetItem[];
  entryPoint: number;
  emptyGloss: number;
}

function collectItems(synsets: ReadonlyMap<string, Synset>, seed: string): Candidates {
  const cache = new Map<string, string[]>();
  const items: WordNetItem[] = [];
  let entryPoint = 0;
  let emptyGloss = 0;
  const deepest = Math.max(...ENTRY_DEPTHS);
  for (const synset of synsets.values()) {
    const segment = lexFileSegment(synsets, firstHypernymPath(synsets, synset.offset, cache), synset.lexFile);
    if (segment.length <= deepest) {
      entryPoint += 1;
      continue;
    }
    const text = maskWords(synset.gloss, synset.words).trim();
    if (text === '') {
      emptyGloss += 1;
      continue;
    }
    const id = wnKey(synset.offset);
    const path = [synset.lexFile, ...ENTRY_DEPTHS.map((d) => wnKey(segment[d] as string))];
    items.push({ id, split: splitOf(id, seed), path, offset: synset.offset, text, answer: synset.words[0] ?? '' });
  }
  return { items, entryPoint, emptyGloss };
}

/** Label candidates: the headword, then disambiguated by its hypernym, then by its file. */
function labelCandidates(synsets: ReadonlyMap<string, Synset>): (key: string) => string[] {
  return (key) => {
    if (!key.startsWith('wn:')) return [key];
    const synset = synsets.get(key.slice(3));
    if (synset === undefined) return [key];
    const word = synset.words[0] ?? key;
    const hypernym = synset.hypernyms[0] === undefined ? undefined : synsets.get(synset.hypernyms[0])?.words[0];
    const fileShort = synset.lexFile.replace(/^noun\./, '');
    return [word, ...(hypernym === undefined ? [] : [`${word} (${hypernym})`]), `${word} (${fileShort})`];
  };
}

/**
 * For the record in stats.json: with the ancestor at an absolute depth as level 2, the share of
 * nouns whose lexicographer file differs from the one most items under that ancestor have,
 * i.e. what a majority-parent repair would drop.
 */
export function absoluteDepthConflict(synsets: ReadonlyMap<string, Synset>, depth: number): number {
  const cache = new Map<string, string[]>();
  const votes = new Map<string, Map<string, number>>();
  for (const synset of synsets.values()) {
    const ancestor = firstHypernymPath(synsets, synset.offset, cache)[depth];
    if (ancestor === undefined) continue;
    const perFile = votes.get(ancestor) ?? new Map<string, number>();
    perFile.set(synset.lexFile, (perFile.get(synset.lexFile) ?? 0) + 1);
    votes.set(ancestor, perFile);
  }
  let total = 0;
  let conflicting = 0;
  for (const perFile of votes.values()) {
    const counts = [...perFile.values()];
    const sum = counts.reduce((a, b) => a + b, 0);
    total += sum;
    conflicting += sum - Math.max(...counts);
  }
  return total === 0 ? 0 : Math.round((conflicting / total) * 1000) / 1000;
}

export function buildWordNet(synsets: ReadonlyMap<string, Synset>, options: { minTrain?: readonly number[]; seed?: string } = {}): WordNetBuild {
  const minTrain = options.minTrain ?? WORDNET_MIN_TRAIN;
  const collected = collectItems(synsets, options.seed ?? DEFAULT_SEED);
  // Glosses shared by several synsets ("one of the Titans") cannot tell them apart.
  const unique = dropDuplicateTexts(collected.items);
  const repaired = repairTree(unique.items);
  const folded = foldRare(repaired.items, { minTrain, topLevel: 'drop' });
  const names = nameKeys(folded.items.flatMap((i) => i.path), labelCandidates(synsets));
  const classification: SplitRecord<HierarchicalRecord>[] = [];
  const thought: SplitRecord<GuidedRecord>[] = [];
  for (const item of folded.items) {
    const labels = item.path.map((k) => names.get(k) ?? k);
    classification.push({ split: item.split, record: { id: item.id, text: item.text, labels } });
    thought.push({ split: item.split, record: { id: item.id, input: item.text, thought: labels[1] as string, answer: item.answer } });
  }
  const labelled = classification.map((c) => ({ split: c.split, labels: c.record.labels }));
  return {
    classification,
    thought,
    tree: labelTree(labelled.map((l) => l.labels)),
    stats: {
      synsets: synsets.size,
      skipped: { entryPoint: collected.entryPoint, emptyGloss: collected.emptyGloss, duplicateText: unique.dropped },
      repairDropped: repaired.droppedPerLevel,
      foldedLabels: folded.foldedPerLevel,
      foldDropped: folded.droppedPerLevel,
      droppedLexFiles: folded.droppedTopKeys,
      minTrain,
      splits: countSplits(classification),
      levels: levelStats(labelled),
      absoluteDepthConflicts: { depth3: absoluteDepthConflict(synsets, 3), depth5: absoluteDepthConflict(synsets, 5) },
    },
  };
}
