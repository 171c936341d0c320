// Deterministic dev splits and subsamples: a record's fate depends only on its id and the seed,
// never on file order or Math.random, so reruns and resumes see the same examples.
import { createHash } from 'node:crypto';

/** A number in [0, 1) from a record id and a seed. */
export function idFraction(id: string, seed: number): number {
  return createHash('sha256').update(`${seed}\n${id}`).digest().readUInt32BE(0) / 2 ** 32;
}

/** Splits records into train and dev by id hash; `fraction` goes to dev. */
export function splitByHash<T extends { id: string }>(records: readonly T[], fraction: number, seed: number): { train: T[]; dev: T[] } {
  const train: T[] = [];
  const dev: T[] = [];
  for (const r of records) (idFraction(r.id, seed) < fraction ? dev : train).push(r);
  return { train, dev };
}

/** At most `max` records (0 = all), chosen by id hash, kept in file order. */
export function subsample<T extends { id: string }>(records: readonly T[], max: number, seed: number): T[] {
  if (max <= 0 || records.length <= max) return [...records];
  const ranked = records.map((r, i) => ({ i, f: idFraction(r.id, seed + 1) })).sort((a, b) => a.f - b.f);
  const keep = new Set(ranked.slice(0, max).map((x) => x.i));
  return records.filter((_, i) => keep.has(i));
}
