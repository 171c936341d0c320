// Clearing the engine's caches on request (the editor's Clear Engine Cache): converted graphs and
// cached features go, but for the graphs of the models in use and anything a process is still
// writing; everything removed is rebuilt when next needed. The checkpoint fingerprint memo and the
// jobs' journal stay: the one is a few bytes, the other is history, not cache.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CACHE_FOLDERS } from './cacheDir';
import { cacheBytes, evictLeastRecent } from './diskBudget';
import { FEATURE_MANIFEST } from './hdlm/featureCache';
import { GRAPH_FOLDER_MARKER, graphFolderName } from './model/graphCache';

export interface ClearedCache {
  /** Bytes removed. */
  removedBytes: number;
  /** Bytes the cache folder holds afterwards: the models in use, entries being written, the memo and journal. */
  bytesLeft: number;
}

/**
 * Clears the caches under `cacheDir` (the engine's cache folder), keeping the graphs of the
 * checkpoints whose fingerprints are `inUse`. An entry that cannot be removed (mapped by another
 * process on Windows) stays, as eviction leaves it.
 */
export function clearEngineCache(cacheDir: string, inUse: readonly string[]): ClearedCache {
  let removedBytes = 0;
  const removed = (bytes: number): void => void (removedBytes += bytes);
  const graphs = join(cacheDir, CACHE_FOLDERS.graphs);
  if (existsSync(graphs)) evictLeastRecent(graphs, GRAPH_FOLDER_MARKER, 0, new Set(inUse.map(graphFolderName)), removed);
  const features = join(cacheDir, CACHE_FOLDERS.features);
  if (existsSync(features)) evictLeastRecent(features, FEATURE_MANIFEST, 0, new Set(), removed);
  return { removedBytes, bytesLeft: cacheBytes(cacheDir) };
}
