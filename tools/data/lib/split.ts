// Deterministic train/dev/test assignment. A record's split depends only on its id and the seed,
// never on the other records or on their order, so adding a package or a synset to a source
// moves no existing record between splits, and two runs give byte-identical files.
import { createHash } from 'node:crypto';

export type Split = 'train' | 'dev' | 'test';
export const SPLITS: readonly Split[] = ['train', 'dev', 'test'];

/** Changing the seed reshuffles every split; bump it only together with the data README. */
export const DEFAULT_SEED = 'hdlm-datasets-v1';

/** Fractions of train and dev; test takes the rest. */
export interface SplitRatios {
  train: number;
  dev: number;
}
export const DEFAULT_RATIOS: SplitRatios = { train: 0.8, dev: 0.1 };

/** A number in [0, 1) from the first 48 bits of sha256(seed NUL id): uniform enough, and stable. */
export function unitHash(id: string, seed: string = DEFAULT_SEED): number {
  const digest = createHash('sha256').update(seed).update('\0').update(id).digest();
  return digest.readUIntBE(0, 6) / 2 ** 48;
}

export function splitOf(id: string, seed: string = DEFAULT_SEED, ratios: SplitRatios = DEFAULT_RATIOS): Split {
  if (!(ratios.train > 0 && ratios.dev >= 0 && ratios.train + ratios.dev <= 1)) {
    throw new Error(`split ratios must satisfy 0 < train, 0 <= dev, train + dev <= 1 (got train ${ratios.train}, dev ${ratios.dev})`);
  }
  const u = unitHash(id, seed);
  if (u < ratios.train) return 'train';
  return u < ratios.train + ratios.dev ? 'dev' : 'test';
}

/** Counts per split, always with all three keys so stats files have a fixed shape. */
export function countSplits(items: readonly { split: Split }[]): Record<Split, number> {
  const counts: Record<Split, number> = { train: 0, dev: 0, test: 0 };
  for (const item of items) counts[item.split] += 1;
  return counts;
}
