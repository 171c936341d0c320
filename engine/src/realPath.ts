// Where a path really leads, and whether it lies within a folder: for the checks that must not be
// fooled by a symbolic link (a CLI output that is one of its inputs, a heads folder that is the
// model folder, a job writing outside the workspace). Names compare as the platform compares them.
import { readlinkSync, realpathSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { pathKey } from './samePath';

/** Whether `path` is `folder` or anything below it (both real paths), as the platform compares names. */
export function isInside(path: string, folder: string): boolean {
  const rel = relative(pathKey(folder), pathKey(path));
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

/**
 * The path with symbolic links resolved as far as it exists: a folder or file not made yet can sit
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
