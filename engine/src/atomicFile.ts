// Files written whole or not at all, and what a writer killed halfway leaves behind. Every persisted
// file (records, heads, caches, the job journal, a new task file, a lock) is written to a temporary
// name in its own folder, flushed to disk, then renamed or linked into place. A writer killed
// between the write and the rename (kill -9, a power cut, a crash) leaves its temporary file, which
// nothing would ever delete: sweepDeadTemps removes those, and only those, in a folder a writer is
// about to use. The temporary names say whose they are: `.<file>.<pid>.r<random>.tmp`.
//
// The sweep runs in folders a task file names (a heads folder may be any folder, "../home"), so it
// must never remove what is not ours: it takes only names tempPath makes (TEMP_NAME, built beside
// it), and only regular files, one at a time (never a folder, never through a symbolic link).
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, lstatSync, openSync, readdirSync, renameSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { processAliveSince } from './processAlive';

/** Bytes handed to one write call (a single call cannot take 2 GiB or more). */
const WRITE_CHUNK_BYTES = 16 * 1024 * 1024;

/** Random bytes in a temporary name: written as 2 hex digits each after an `r`. */
const TEMP_RANDOM_BYTES = 6;

/**
 * A temporary file's name beside `path`, unique to this process and this write. The random part
 * starts with a letter, so that no name can be read with another number as its pid (sweepDeadTemps).
 */
export function tempPath(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.r${randomBytes(TEMP_RANDOM_BYTES).toString('hex')}.tmp`);
}

/**
 * Exactly the names tempPath makes, the pid captured: nothing else is ever swept. Names of other
 * shapes (earlier versions' temporary files among them) are left alone: a user's `.draft.31337.tmp`
 * or `.cache.77.tmp` folder looks like a temporary file too, and is not ours to remove.
 */
const TEMP_NAME = new RegExp(`^\\..+\\.(\\d+)\\.r[0-9a-f]{${2 * TEMP_RANDOM_BYTES}}\\.tmp$`);

/**
 * Writes the parts to `path` through a temporary file in the same folder and a rename, so that
 * `path` holds either its old content or all of the new, never part of it. The temporary file is
 * flushed to disk before the rename: without that, a file system that orders metadata before
 * data (ext4's delayed allocation, XFS) can commit the rename first, and a power cut then leaves
 * an empty or partial file under the final name, the old one gone. The folder is flushed after
 * the rename, so the new name itself survives a power cut. On any failure the temporary file is
 * removed and `path` is as it was.
 */
export function writeAtomically(path: string, parts: readonly Uint8Array[]): void {
  const temp = tempPath(path);
  try {
    writeDurably(temp, parts);
    renameSync(temp, path);
  } catch (err) {
    rmSync(temp, { force: true });
    throw err;
  }
  syncFolder(dirname(path));
}

/** Writes `path` (created or truncated) with the parts, flushed to disk before it returns. */
export function writeDurably(path: string, parts: readonly Uint8Array[]): void {
  const fd = openSync(path, 'w');
  try {
    for (const part of parts) writeAll(fd, part);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Flushes a folder's entries (a rename in it) to disk. Windows cannot open a folder as a file
 * (EISDIR, EPERM) and some file systems refuse to sync one (EINVAL): there the rename is as
 * durable as the platform makes it, and nothing more can be done.
 */
export function syncFolder(dir: string): void {
  let fd: number;
  try {
    fd = openSync(dir, 'r');
  } catch (err) {
    if (FOLDER_SYNC_REFUSED.has((err as NodeJS.ErrnoException).code ?? '')) return;
    throw err;
  }
  try {
    fsyncSync(fd);
  } catch (err) {
    if (!FOLDER_SYNC_REFUSED.has((err as NodeJS.ErrnoException).code ?? '')) throw err;
  } finally {
    closeSync(fd);
  }
}

const FOLDER_SYNC_REFUSED = new Set(['EISDIR', 'EPERM', 'EACCES', 'EINVAL']);

function writeAll(fd: number, part: Uint8Array): void {
  let done = 0;
  while (done < part.length) done += writeSync(fd, part, done, Math.min(WRITE_CHUNK_BYTES, part.length - done));
}

/**
 * A temporary file untouched for this long is no write in progress, whoever its pid is now: a
 * write takes seconds and touches the file as it goes. This is what frees a leftover where the
 * system does not tell when a process started (not Linux) and its pid now names another process.
 */
export const ABANDONED_TEMP_MS = 24 * 60 * 60 * 1000;

/**
 * Removes the temporary files in `dir` whose writer is gone: its pid runs no process, or the one
 * it runs started after the file was last written (the pid was reused: processAliveSince), or the
 * file has been untouched for ABANDONED_TEMP_MS. A live writer's file is its write in progress and
 * stays. Only regular files named exactly as tempPath names them are candidates (file header). Returns the names removed. Errors are the caller's to weigh (a sweep is tidying, never
 * worth a failed write: callers catch them); a file removed meanwhile by another sweep is skipped.
 */
export function sweepDeadTemps(dir: string, now = Date.now()): string[] {
  const swept: string[] = [];
  for (const file of readdirSync(dir)) {
    const pid = TEMP_NAME.exec(file)?.[1];
    if (pid === undefined) continue;
    const path = join(dir, file);
    // lstat: a link is judged as itself, and is no file of ours (writers make regular files).
    const entry = lstatSync(path, { throwIfNoEntry: false });
    if (entry === undefined || !entry.isFile()) continue;
    const written = entry.mtimeMs;
    if (now - written < ABANDONED_TEMP_MS && processAliveSince(Number(pid), written)) continue;
    try {
      unlinkSync(path); // one file, never recursive
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // another sweep took it first
      throw err;
    }
    swept.push(file);
  }
  return swept;
}
