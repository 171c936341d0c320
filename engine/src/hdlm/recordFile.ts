// The file an evaluation record names (`file`, and `sincePrevious.file`). A record is kept beside
// the heads it measured, and the heads folder travels with its project: a clone, a copy, a moved
// checkout. An absolute path would tie the record to the folder it was made in, and there every
// check that asks "the same file as before?" (a sample must not replace a whole evaluation,
// "since previous" pairs only evaluations of one file, Show Mistakes rereads the examples) would
// fail. So the file is written relative to the heads folder, with forward slashes, as task files
// name their datasets relative to themselves, and resolved against the heads folder when read.
import { existsSync } from 'node:fs';
import { isAbsolute, posix, relative, resolve, sep, win32 } from 'node:path';

/** "train.jsonl (dev split, 30%)": the record of an evaluation on the dev split training held out. */
const DEV_SPLIT = / \(dev split, \d+%\)$/;

/** The path and the dev-split suffix of a record's `file`, apart. */
function splitSuffix(recordFile: string): { path: string; suffix: string } {
  const suffix = DEV_SPLIT.exec(recordFile)?.[0] ?? '';
  return { path: recordFile.slice(0, recordFile.length - suffix.length), suffix };
}

/** Whether a record measured the dev split training held out ("train.jsonl (dev split, 30%)"), not a file of its own. */
export function isDevSplitRecord(recordFile: string): boolean {
  return DEV_SPLIT.test(recordFile);
}

/** The file a record's `file` names: itself, or for "train.jsonl (dev split, 30%)" the file the split was drawn from. */
export function evaluatedPath(recordFile: string): string {
  return splitSuffix(recordFile).path;
}

/** Absolute on any platform: a record may have been written on another (`C:\…` read on Linux). */
const anyAbsolute = (path: string): boolean => posix.isAbsolute(path) || win32.isAbsolute(path);

/** The path's folders and name, whichever separator it was written with. */
const segments = (path: string): string[] => path.split(/[\\/]/).filter((s) => s !== '');

/**
 * How a record written in `headsDir` names the evaluated `file` (absolute, possibly with the
 * dev-split suffix): relative to the heads folder, forward slashes. A file with nothing but the
 * file system's root in common with the heads folder (`/data/x.jsonl` for heads under `/home`),
 * or on another drive, stays absolute: it lies outside the project and does not move with it.
 */
export function portableRecordFile(headsDir: string, file: string): string {
  const { path, suffix } = splitSuffix(file);
  if (!anyAbsolute(path)) return file; // already relative: written by this function
  const heads = resolve(headsDir);
  const rel = relative(heads, path);
  if (isAbsolute(rel) || segments(heads)[0] !== segments(path)[0]) return file;
  return `${rel.split(sep).join('/')}${suffix}`;
}

/**
 * The absolute path a record's `file` names, read in `headsDir` (the dev-split suffix kept). A
 * relative path is resolved against the heads folder. An absolute one is a record from before
 * 2026-12-08, or a file outside the project: it stands while it exists; when it does not, the
 * project has most likely moved since (a clone of a checkout elsewhere), and the task's dataset
 * file (`datasets`, absolute) that ends in the same folder and name (`wordnet/test.jsonl`) is
 * taken for it: the task's datasets are the files its evaluations measure unless `--file` says
 * otherwise, and two segments tell one task's train, dev and test apart and one task's data from
 * another's. Failing that it is returned as written, and readers say the file is not there.
 */
export function resolveRecordFile(headsDir: string, recordFile: string, datasets: readonly string[] = []): string {
  const { path, suffix } = splitSuffix(recordFile);
  if (!anyAbsolute(path)) return `${resolve(headsDir, path)}${suffix}`;
  if (existsSync(path)) return recordFile;
  const tail = segments(path).slice(-2).join('/');
  const moved = datasets.find((d) => segments(d).length >= 2 && segments(d).slice(-2).join('/') === tail);
  return moved === undefined ? recordFile : `${moved}${suffix}`;
}

/** A record with its `file` (and `sincePrevious.file`) resolved to absolute paths, for readers that open or show them. */
export function withResolvedFiles<R extends { file: string; sincePrevious?: { file: string } }>(headsDir: string, record: R, datasets: readonly string[] = []): R {
  // A damaged record (no file, not an object) is left as it is, for its reader's own checks to name.
  if (typeof record !== 'object' || record === null || typeof record.file !== 'string') return record;
  const since = record.sincePrevious;
  return {
    ...record,
    file: resolveRecordFile(headsDir, record.file, datasets),
    ...(since && typeof since.file === 'string' ? { sincePrevious: { ...since, file: resolveRecordFile(headsDir, since.file, datasets) } } : {}),
  };
}

/** The dataset files a task names (absolute): what an older record's absolute path is matched against. */
export function taskDatasets(task: { dataset: { train: string; dev?: string; test?: string } }): string[] {
  return [task.dataset.train, task.dataset.dev, task.dataset.test].filter((f): f is string => typeof f === 'string' && f !== '');
}
