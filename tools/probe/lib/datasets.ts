// Reading the task datasets (data/README.md) as texts plus one label per level.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const SPLITS = ['train', 'dev', 'test'] as const;
export type SplitName = (typeof SPLITS)[number];

export interface LabelledTexts {
  ids: string[];
  texts: string[];
  /** labels[level][item]: the label name at each level. */
  labels: string[][];
}

/**
 * Reads `<dir>/<split>.jsonl`. Hierarchical files (`text`, `labels`) give one level per label;
 * guided files (`input`, `thought`, `answer`) give one level, the thought (the Debian section).
 */
export function readSplit(dir: string, split: SplitName): LabelledTexts {
  const file = join(dir, `${split}.jsonl`);
  if (!existsSync(file)) {
    throw new Error(`${file} not found; build the datasets first: node esbuild.mjs && node out/tools/data/buildDatasets.js --out out/data`);
  }
  const out: LabelledTexts = { ids: [], texts: [], labels: [] };
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((line, n) => {
      if (line.trim() === '') return;
      const { id, text, labels } = parseLine(line, `${file}:${n + 1}`);
      if (out.labels.length === 0) out.labels = labels.map(() => []);
      if (labels.length !== out.labels.length) throw new Error(`${file}:${n + 1}: ${labels.length} levels, earlier lines have ${out.labels.length}`);
      out.ids.push(id);
      out.texts.push(text);
      labels.forEach((label, level) => out.labels[level]!.push(label));
    });
  return out;
}

function parseLine(line: string, where: string): { id: string; text: string; labels: string[] } {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(line) as Record<string, unknown>;
  } catch (err) {
    throw new Error(`${where}: not JSON: ${(err as Error).message}`, { cause: err });
  }
  const id = String(record['id'] ?? where);
  if (typeof record['text'] === 'string' && Array.isArray(record['labels'])) {
    return { id, text: record['text'], labels: record['labels'].map(String) };
  }
  if (typeof record['input'] === 'string' && typeof record['thought'] === 'string') {
    return { id, text: record['input'], labels: [record['thought']] };
  }
  throw new Error(`${where}: expected "text" and "labels", or "input" and "thought"`);
}

/** Class ids for one level: names sorted, so the same data always gives the same ids. */
export interface LabelIndex {
  names: string[];
  ids: Map<string, number>;
}

export function labelIndex(...splits: readonly (readonly string[])[]): LabelIndex {
  const names = [...new Set(splits.flat())].sort();
  return { names, ids: new Map(names.map((n, i) => [n, i])) };
}

export function encodeLabels(labels: readonly string[], index: LabelIndex): Int32Array {
  return Int32Array.from(labels, (l) => {
    const id = index.ids.get(l);
    if (id === undefined) throw new Error(`label ${JSON.stringify(l)} is not in the label index`);
    return id;
  });
}

/**
 * A deterministic subsample of `count` item positions (all when count ≥ n): a seeded
 * Fisher–Yates shuffle, then sorted back into file order.
 */
export function subsample(n: number, count: number, seed: number): number[] {
  const all = Array.from({ length: n }, (_, i) => i);
  if (count >= n) return all;
  let state = seed >>> 0 || 1;
  const next = (): number => {
    // xorshift32: tiny, seedable, and good enough to pick a sample.
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 4294967296;
  };
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [all[i], all[j]] = [all[j]!, all[i]!];
  }
  return all.slice(0, count).sort((a, b) => a - b);
}
