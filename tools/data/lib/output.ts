// Writing a build's files. Every file is written under a temporary name first and renamed into
// place only once all of them are written, so a failed or interrupted build (an error, ENOSPC,
// Ctrl-C while writing) leaves the previous outputs as they were instead of new WordNet splits
// beside old thought splits, or a truncated train.jsonl.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { syncFolder, writeDurably } from '../../../engine/src/atomicFile';
import { errorMessage } from '../../../engine/src/errorMessage';

const PARTIAL = '.partial';

/** Writes every file (path → contents) through `<path>.partial` and renames them all at the end. */
export function writeFilesAtomically(files: ReadonlyMap<string, string>): void {
  const written: string[] = [];
  try {
    for (const [path, contents] of files) {
      mkdirSync(dirname(path), { recursive: true });
      written.push(path + PARTIAL);
      // Flushed before any rename: a power cut must not leave a renamed, empty train.jsonl.
      writeDurably(path + PARTIAL, [Buffer.from(contents)]);
    }
  } catch (err) {
    for (const partial of written) rmSync(partial, { force: true });
    throw err;
  }
  for (const path of files.keys()) renameSync(path + PARTIAL, path);
  for (const dir of new Set([...files.keys()].map((p) => dirname(p)))) syncFolder(dir);
}

// ---------------------------------------------------------------------------------------------
// stats.json of a partial build (--only)

export const DATASETS = ['wordnet', 'debian'] as const;
export type DatasetName = (typeof DATASETS)[number];

/** The keys of stats.json each build owns: the thought task is made with the WordNet one. */
const OWNED_KEYS: Record<DatasetName, readonly string[]> = { wordnet: ['wordnet', 'thought'], debian: ['debian'] };

export interface SourceEntry {
  file: string;
  /** Size after decompression; the hash is of the decompressed bytes too. */
  bytes: number;
  sha256: string;
  /** The dataset the file was read for, so that a partial build keeps the other's entries. */
  dataset: DatasetName;
}

export type StatsFile = Record<string, unknown> & { sources: SourceEntry[] };

/** Entries written before `dataset` was recorded belong by their file name. */
function datasetOfSource(entry: Partial<SourceEntry>): DatasetName {
  if (entry.dataset !== undefined && (DATASETS as readonly string[]).includes(entry.dataset)) return entry.dataset;
  return /Packages|Translation-en/.test(entry.file ?? '') ? 'debian' : 'wordnet';
}

/**
 * The stats of a build of `rebuilt` only, with the parts of the other datasets taken from the
 * previous stats.json in the same folder: stats.json and summary.md then describe every dataset
 * in the folder, as data/README.md promises, not just the last one built.
 */
export function mergeStats(previous: Record<string, unknown> | undefined, fresh: StatsFile, rebuilt: readonly DatasetName[]): StatsFile {
  if (previous === undefined) return ordered(fresh, fresh.sources);
  const kept = DATASETS.filter((d) => !rebuilt.includes(d));
  const merged: Record<string, unknown> = { ...fresh };
  for (const dataset of kept) {
    for (const key of OWNED_KEYS[dataset]) if (previous[key] !== undefined) merged[key] = previous[key];
  }
  const previousSources = Array.isArray(previous['sources']) ? (previous['sources'] as Partial<SourceEntry>[]) : [];
  const keptSources = previousSources
    .filter((e) => typeof e.file === 'string' && kept.includes(datasetOfSource(e)))
    .map((e) => ({ ...e, dataset: datasetOfSource(e) }) as SourceEntry);
  const sources = [...fresh.sources, ...keptSources].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  return ordered(merged, sources);
}

/** One key order, sources last, so that a merge and a full build give the same bytes. */
function ordered(parts: Record<string, unknown>, sources: SourceEntry[]): StatsFile {
  const result: Record<string, unknown> = {};
  for (const key of ['seed', 'ratios', 'wordnet', 'thought', 'debian']) if (parts[key] !== undefined) result[key] = parts[key];
  return { ...result, sources };
}

/** The stats.json already in the folder, or undefined when there is none or it cannot be read. */
export function readPreviousStats(file: string, warn: (message: string) => void): Record<string, unknown> | undefined {
  if (!existsSync(file)) return undefined;
  try {
    const value: unknown = JSON.parse(readFileSync(file, 'utf8'));
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
    warn(`${file} is not a JSON object; the datasets not rebuilt now are left out of the new one`);
  } catch (err) {
    warn(`${file} cannot be read (${errorMessage(err)}); the datasets not rebuilt now are left out of the new one`);
  }
  return undefined;
}
