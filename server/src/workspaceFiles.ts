// Files a task file can point at, for completion of its paths: JSON Lines datasets and model
// folders (a folder with a config.json) under the task file's own folder. The walk is bounded
// (depth, entries) and skips folders that never hold them, so that completing a path in a large
// workspace stays quick; its result is kept for a few seconds, because completion asks again as
// the user types inside the string.
import { readdirSync, statSync, type Dirent } from 'node:fs';
import { join, relative, sep } from 'node:path';

/** How deep below the task file's folder to look, and how many entries to read at most. */
const MAX_DEPTH = 4;
const MAX_ENTRIES = 5000;
/** Folders that hold no datasets or models of the user's (or far too many files). */
const SKIPPED = new Set(['node_modules', '.git', '.vscode-test', '.cache', 'dist', '__pycache__']);
/** How long a walk's result is reused. */
const FRESH_MS = 3000;

export interface PathCandidates {
  /** `*.jsonl` files, relative to the folder, with their size in bytes. */
  datasets: { path: string; bytes: number }[];
  /** Folders with a `config.json`, relative to the folder. */
  models: string[];
}

const cache = new Map<string, { at: number; found: PathCandidates }>();

/** Relative paths with forward slashes, as task files write them on every platform. */
function portable(base: string, path: string): string {
  return relative(base, path).split(sep).join('/');
}

function entries(dir: string): Dirent[] {
  try {
    return readdirSync(dir, { withFileTypes: true });
  } catch {
    return []; // unreadable folders are simply not offered
  }
}

export function pathCandidates(base: string): PathCandidates {
  const cached = cache.get(base);
  if (cached && Date.now() - cached.at < FRESH_MS) return cached.found;
  const found: PathCandidates = { datasets: [], models: [] };
  let read = 0;
  const walk = (dir: string, depth: number): void => {
    const here = entries(dir);
    read += here.length;
    if (here.some((e) => e.isFile() && e.name === 'config.json') && dir !== base) found.models.push(portable(base, dir));
    for (const entry of here) {
      if (read > MAX_ENTRIES) return;
      const path = join(dir, entry.name);
      if (entry.isFile() && entry.name.endsWith('.jsonl')) found.datasets.push({ path: portable(base, path), bytes: sizeOf(path) });
      else if (entry.isDirectory() && depth < MAX_DEPTH && !SKIPPED.has(entry.name) && !entry.name.startsWith('.')) walk(path, depth + 1);
    }
  };
  walk(base, 0);
  found.datasets.sort((a, b) => a.path.split('/').length - b.path.split('/').length || a.path.localeCompare(b.path));
  found.models.sort();
  cache.set(base, { at: Date.now(), found });
  return found;
}

function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}
