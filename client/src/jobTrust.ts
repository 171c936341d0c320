// Whether a job (fine-tune, evaluate, scan layers) may start, decided without `vscode` (unit-tested).
// A job loads the model its task file names, from any path, and writes into the task's heads
// folder (heads, evaluation records, the layer scan), which the file may also put anywhere. In
// Restricted Mode a click on a code lens of a file from an untrusted folder would run both, so
// jobs are refused there. In a trusted workspace a heads folder whose real path lies outside
// every workspace folder (a "../" path, or a committed symbolic link pointing out) is asked
// about once, naming where the files will go.
import { readlinkSync, realpathSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { pathKey } from '../../engine/src/samePath';

export type JobGate =
  /** Restricted Mode: the job is not started. */
  | { decision: 'refuse' }
  /** Trusted, but the heads folder is outside every workspace folder: ask before writing there. */
  | { decision: 'ask'; headsDir: string }
  | { decision: 'start' };

/**
 * The decision for a job whose heads folder is `realHeadsDir` (a real path: realPath), in a
 * workspace with these folders (real paths too). A window without a folder has nothing to be
 * outside of, and no workspace trust to lack: the user opened the task file themselves.
 */
export function jobGate(trusted: boolean, folders: readonly string[], realHeadsDir: string): JobGate {
  if (refusesJobs(trusted, folders.length)) return { decision: 'refuse' };
  if (folders.length === 0 || folders.some((folder) => isInside(realHeadsDir, folder))) return { decision: 'start' };
  return { decision: 'ask', headsDir: realHeadsDir };
}

/** Whether no job runs at all: Restricted Mode, which only a window with a folder can be in. */
export function refusesJobs(trusted: boolean, folderCount: number): boolean {
  return !trusted && folderCount > 0;
}

/** Whether `path` is `folder` or anything below it (both real paths), as the platform compares names. */
export function isInside(path: string, folder: string): boolean {
  const rel = relative(pathKey(folder), pathKey(path));
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

/**
 * The path with symbolic links resolved as far as it exists: a heads folder not made yet can sit
 * under a linked folder, and a link anywhere above it, even one whose target does not exist yet,
 * decides where the files would go. `hops` bounds a loop of links.
 */
export function realPath(path: string, hops = 40): string {
  const absolute = resolve(path);
  try {
    return realpathSync(absolute);
  } catch {
    // Missing, or a link that leads nowhere (yet) or round in a loop: followed by hand below.
  }
  const target = linkTarget(absolute);
  if (target !== undefined && hops > 0) return realPath(resolve(dirname(absolute), target), hops - 1);
  const parent = dirname(absolute);
  return parent === absolute ? absolute : join(realPath(parent, hops), basename(absolute));
}

function linkTarget(path: string): string | undefined {
  try {
    return readlinkSync(path);
  } catch {
    return undefined; // not a link (or not there)
  }
}
