// What the engine's two disk caches (converted graphs, cached features) share: entries are
// folders with a manifest whose time is the entry's last use, the least recently used go first
// beyond a size budget, and nothing is stored when the disk is nearly full.
import { existsSync, readdirSync, rmSync, statfsSync, statSync, utimesSync, type Dirent } from 'node:fs';
import { join } from 'node:path';

/** Marks an entry used now: the last to be evicted. */
export function markUsed(manifest: string): void {
  const now = new Date();
  utimesSync(manifest, now, now);
}

/**
 * An entry folder without its manifest younger than this is taken to be still being written (the
 * manifest comes last) by another process, and is left; an older one is a crashed write's
 * leftover, and goes first.
 */
export const UNFINISHED_ENTRY_MS = 60 * 60 * 1000;

/**
 * Removes the least recently used entry folders of `dir` (by their manifest's time; never those
 * in `keep`, never a hidden temporary one, never one still being written) until the entries fit
 * `maxBytes`. Tells each removal.
 */
export function evictLeastRecent(dir: string, manifestName: string, maxBytes: number, keep: ReadonlySet<string>, onEvicted: (bytes: number) => void, now = Date.now()): void {
  const entries = readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && !d.name.startsWith('.'))
    .flatMap((d) => {
      const path = join(dir, d.name);
      const manifest = join(path, manifestName);
      try {
        const finished = existsSync(manifest);
        const used = finished ? statSync(manifest).mtimeMs : 0;
        const writing = !finished && now - statSync(path).mtimeMs < UNFINISHED_ENTRY_MS;
        return [{ name: d.name, path, used, writing, bytes: cacheBytes(path) }];
      } catch {
        return []; // removed meanwhile (another process's eviction, or a rebuild): nothing to count
      }
    })
    .sort((a, b) => a.used - b.used);
  let total = entries.reduce((a, e) => a + e.bytes, 0);
  for (const e of entries) {
    if (total <= maxBytes) break;
    if (keep.has(e.name) || e.writing || !removeQuietly(e.path)) continue;
    total -= e.bytes;
    onEvicted(e.bytes);
  }
}

/**
 * Removes a cache entry if it can; whether it is gone. A cache's clean-up never fails its caller:
 * an entry can be in use (Windows refuses to delete a file that onnxruntime has mapped) or on a
 * read-only disk, and then it stays, costing room, not correctness (no manifest, never read).
 */
export function removeQuietly(path: string): boolean {
  try {
    rmSync(path, { recursive: true, force: true });
    return true;
  } catch {
    return false;
  }
}

/**
 * Why `size` bytes should not be stored in `dir`, if they should not: over the budget, or less
 * than twice that free on the disk (never fill the user's disk for a speed-up).
 */
export function refusal(dir: string, size: number, maxBytes: number): string | undefined {
  if (size > maxBytes) return `${formatBytes(size)} is over the cache's budget of ${formatBytes(maxBytes)}`;
  const free = freeBytes(dir);
  return free !== undefined && free < 2 * size ? `${formatBytes(free)} free on the disk, ${formatBytes(size)} needed twice over` : undefined;
}

function freeBytes(dir: string): number | undefined {
  try {
    const s = statfsSync(dir);
    return s.bavail * s.bsize;
  } catch {
    return undefined;
  }
}

/**
 * The bytes of every file under `dir`, however deep; 0 when there is none. An entry's size for
 * eviction, and the whole cache's for Engine Info and `hdlm info` (a large model's graphs take
 * gigabytes, and the user should see where).
 */
export function cacheBytes(dir: string): number {
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  return entries.reduce((total, e) => total + (e.isDirectory() ? cacheBytes(join(dir, e.name)) : e.isFile() ? sizeOf(join(dir, e.name)) : 0), 0);
}

function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0; // removed meanwhile (an eviction, a rebuild)
  }
}

export function formatBytes(bytes: number): string {
  return bytes >= 1024 ** 3 ? `${(bytes / 1024 ** 3).toFixed(1)} GiB` : `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
}
