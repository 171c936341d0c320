// Converted graphs on disk, so a second load of the same checkpoint skips the conversion. An
// entry is keyed by the checkpoint's content fingerprint, the graph's recipe (which layers,
// which operators) and GRAPH_FORMAT_VERSION; it is written atomically (temporary file, then
// rename, manifest last) and checked against the manifest's sha256 on every read, so a partial
// or corrupted entry is rebuilt, never trusted.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultCacheDir } from '../checkpoint/checkpoint';

/** Bump whenever a graph builder changes what it writes for the same checkpoint. */
export const GRAPH_FORMAT_VERSION = 2; // 2: fused rows graphs take their rows' position ids

/** Graphs live beside the fingerprint memo, under the engine's one cache folder. */
export function defaultGraphCacheDir(): string {
  return join(defaultCacheDir(), 'graphs');
}

interface Manifest {
  version: number;
  recipe: string;
  sha256: string;
  size: number;
}

export interface CacheEvent {
  kind: 'hit' | 'miss' | 'corrupt';
  recipe: string;
  detail?: string;
}

export class GraphCache {
  constructor(
    private readonly dir: string | undefined,
    private readonly onEvent: (e: CacheEvent) => void = () => undefined,
  ) {}

  /**
   * The graph for `recipe` of checkpoint `fingerprint`: from disk when a valid entry exists,
   * else built by `build` and stored. Without a directory it always builds.
   */
  get(fingerprint: string, recipe: string, build: () => Uint8Array): Uint8Array {
    if (!this.dir) return build();
    const key = createHash('sha256').update(`${GRAPH_FORMAT_VERSION}\n${fingerprint}\n${recipe}`).digest('hex').slice(0, 32);
    const entry = join(this.dir, key);
    const cached = this.read(entry, recipe);
    if (cached) return cached;
    const bytes = build();
    this.write(entry, recipe, bytes);
    return bytes;
  }

  private read(entry: string, recipe: string): Uint8Array | undefined {
    const manifestPath = join(entry, 'manifest.json');
    if (!existsSync(manifestPath)) {
      this.onEvent({ kind: 'miss', recipe });
      return undefined;
    }
    try {
      const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as Manifest;
      const bytes = readFileSync(join(entry, 'graph.onnx'));
      const problem =
        manifest.version !== GRAPH_FORMAT_VERSION || manifest.recipe !== recipe
          ? 'recipe or version differs'
          : bytes.length !== manifest.size
            ? `size ${bytes.length} ≠ ${manifest.size}`
            : sha256(bytes) !== manifest.sha256
              ? 'checksum differs'
              : undefined;
      if (!problem) {
        this.onEvent({ kind: 'hit', recipe });
        return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      }
      this.onEvent({ kind: 'corrupt', recipe, detail: problem });
    } catch (err) {
      this.onEvent({ kind: 'corrupt', recipe, detail: err instanceof Error ? err.message : String(err) });
    }
    rmSync(entry, { recursive: true, force: true });
    return undefined;
  }

  private write(entry: string, recipe: string, bytes: Uint8Array): void {
    try {
      mkdirSync(entry, { recursive: true });
      atomicWrite(join(entry, 'graph.onnx'), bytes);
      const manifest: Manifest = { version: GRAPH_FORMAT_VERSION, recipe, sha256: sha256(bytes), size: bytes.length };
      atomicWrite(join(entry, 'manifest.json'), Buffer.from(JSON.stringify(manifest, null, 1)));
    } catch (err) {
      // A cache that cannot be written (read-only disk, full disk) costs speed, not correctness.
      this.onEvent({ kind: 'miss', recipe, detail: `not stored: ${err instanceof Error ? err.message : String(err)}` });
    }
  }
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function atomicWrite(path: string, bytes: Uint8Array): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, path);
}
