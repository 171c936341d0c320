// Converted graphs on disk, so a second load of the same checkpoint skips the conversion. An
// entry is keyed by the checkpoint's content fingerprint, the graph's recipe (which layers,
// which operators) and GRAPH_FORMAT_VERSION; it is written atomically (temporary files, then
// rename, manifest last) and checked against the manifest's sha256 whenever a file may have
// changed since it was last found whole (checkFiles), so a partial or corrupted entry is rebuilt,
// never trusted.
//
// An entry keeps the graph's structure (`graph.onnx`) apart from its weights (`weights.bin`,
// each tensor at an offset aligned for mapping), and onnxruntime opens it by path. It then maps
// the weights from the file instead of parsing them out of a protobuf and copying them: for a
// model of Qwen2.5-0.5B's shapes on the 2-core CPU a session took about 6 s to create from the
// bytes and 2 s from the path, and the bytes had to be read and hashed in memory first.
// Least recently used entries are removed beyond a size budget (diskBudget.ts), never those of
// the model being loaded; nothing is stored when the disk is nearly full.
import { createHash, type Hash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { onnx } from 'onnx-proto';
import { defaultCacheDir } from '../cacheDir';
import { encodeModel } from '../onnx/graph';
import { evictLeastRecent, formatBytes, markUsed, refusal, removeQuietly } from '../diskBudget';

/** Bump whenever a graph builder changes what it writes for the same checkpoint. */
export const GRAPH_FORMAT_VERSION = 4; // 4: the fp32 head is a Gemm on the untransposed weight; 3: weights apart from the structure; 2: fused rows graphs take their rows' position ids

/**
 * Default size budget of the graph cache: a model of Qwen2.5-0.5B's shapes takes 3.3 GB per set
 * of cuts (a level moved, a layer scan's cuts), and nothing else bounds how many sets pile up.
 */
export const DEFAULT_GRAPH_CACHE_BYTES = 16 * 1024 ** 3;

/** Graphs live beside the fingerprint memo, under the engine's one cache folder. */
export function defaultGraphCacheDir(): string {
  return join(defaultCacheDir(), 'graphs');
}

/** A graph as onnxruntime opens it: its bytes, or the path of a stored graph whose weights lie beside it. */
export type GraphSource = Uint8Array | string;

/** Where a weight goes into `weights.bin`: onnxruntime maps tensors whose offset is aligned (64 KiB is every platform's granularity). */
const WEIGHT_ALIGNMENT = 65536;
/** Smaller initializers (norm weights, biases, constants) stay in the structure: not worth a page each. */
const EXTERNAL_MIN_BYTES = 65536;

interface FileDigest {
  sha256: string;
  size: number;
}

interface Manifest {
  version: number;
  recipe: string;
  graph: FileDigest;
  weights: FileDigest;
}

export interface CacheEvent {
  /** `evicted`: an older entry was removed to stay within the budget (`detail` says how much). */
  kind: 'hit' | 'miss' | 'corrupt' | 'evicted';
  recipe: string;
  detail?: string;
}

export class GraphCache {
  private sweptOldFormats = false;
  /** Entries this cache read or wrote: the model being loaded, which eviction must leave. */
  private readonly used = new Set<string>();

  constructor(
    private readonly dir: string | undefined,
    private readonly onEvent: (e: CacheEvent) => void = () => undefined,
    private readonly maxBytes = DEFAULT_GRAPH_CACHE_BYTES,
  ) {}

  /**
   * The graph for `recipe` of checkpoint `fingerprint`: from disk when a valid entry exists,
   * else built by `build` and stored. Without a directory, or when the entry cannot be written,
   * it is the built bytes.
   */
  get(fingerprint: string, recipe: string, build: () => onnx.IModelProto): GraphSource {
    if (!this.dir) return encodeModel(build());
    const key = createHash('sha256').update(`${GRAPH_FORMAT_VERSION}\n${fingerprint}\n${recipe}`).digest('hex').slice(0, 32);
    const entry = join(this.dir, key);
    this.used.add(key);
    if (this.read(entry, recipe)) return join(entry, 'graph.onnx');
    const model = build();
    return this.write(this.dir, entry, recipe, model) ? join(entry, 'graph.onnx') : encodeModel(model);
  }

  /**
   * Whether `entry` holds `recipe`, whole: its two files as the manifest describes them. A file
   * is hashed again only when its stamp (inode, size, modification and change times) differs from
   * the one recorded when it was last found whole: any write, rename or copy changes it (the
   * change time cannot be set back), and hashing the 1.9 GB of a Qwen2.5-0.5B-shaped model at
   * every load cost about 1.5 s of a 4.5 s load (0.27 s measured per 349 MiB segment). What no
   * stamp shows is bit rot, which the checkpoint's own fingerprint memo does not see either.
   */
  private read(entry: string, recipe: string): boolean {
    const manifestPath = join(entry, 'manifest.json');
    if (!existsSync(manifestPath)) {
      this.onEvent({ kind: 'miss', recipe });
      return false;
    }
    try {
      const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as Manifest;
      const { problem, hashed } = manifest.version !== GRAPH_FORMAT_VERSION || manifest.recipe !== recipe ? { problem: 'recipe or version differs', hashed: false } : checkFiles(entry, manifest);
      if (!problem) {
        // Recency for eviction: a used entry is the last to go.
        markUsed(manifestPath);
        this.onEvent({ kind: 'hit', recipe, ...(hashed ? { detail: 'hashed' } : {}) });
        return true;
      }
      this.onEvent({ kind: 'corrupt', recipe, detail: problem });
    } catch (err) {
      this.onEvent({ kind: 'corrupt', recipe, detail: err instanceof Error ? err.message : String(err) });
    }
    removeQuietly(entry);
    return false;
  }

  /** Stores the graph as structure and weights; whether it was stored. */
  private write(dir: string, entry: string, recipe: string, model: onnx.IModelProto): boolean {
    try {
      this.removeOldFormats(dir);
      mkdirSync(dir, { recursive: true });
      const refused = refusal(dir, weightBytes(model), this.maxBytes);
      if (refused) throw new Error(refused);
      mkdirSync(entry, { recursive: true });
      const { structure, weights } = splitWeights(model, join(entry, 'weights.bin'));
      atomicWrite(join(entry, 'graph.onnx'), structure);
      const manifest: Manifest = { version: GRAPH_FORMAT_VERSION, recipe, graph: { sha256: sha256(structure), size: structure.length }, weights };
      atomicWrite(join(entry, 'manifest.json'), Buffer.from(JSON.stringify(manifest, null, 1)));
      // Hashed as they were written: the next read need not hash them again.
      writeStamps(entry, { 'graph.onnx': fileStamp(join(entry, 'graph.onnx')), 'weights.bin': fileStamp(join(entry, 'weights.bin')) });
      evictLeastRecent(dir, 'manifest.json', this.maxBytes, this.used, (bytes) => this.onEvent({ kind: 'evicted', recipe, detail: `${formatBytes(bytes)} removed to stay within ${formatBytes(this.maxBytes)}` }));
      return true;
    } catch (err) {
      // A cache that cannot be written (read-only disk, full disk) costs speed, not correctness:
      // the built bytes serve, and what was written of the entry goes if it can.
      removeQuietly(entry);
      this.onEvent({ kind: 'miss', recipe, detail: `not stored: ${err instanceof Error ? err.message : String(err)}` });
      return false;
    }
  }

  /** Entries an older engine wrote are never read again (the format is in the key): their room goes back, once per cache. */
  private removeOldFormats(dir: string): void {
    if (this.sweptOldFormats) return;
    this.sweptOldFormats = true;
    for (const name of existsSync(dir) ? readdirSync(dir) : []) {
      try {
        const manifest = JSON.parse(readFileSync(join(dir, name, 'manifest.json'), 'utf8')) as Partial<Manifest>;
        if (typeof manifest.version === 'number' && manifest.version < GRAPH_FORMAT_VERSION) removeQuietly(join(dir, name));
      } catch {
        // Not an entry, or one being written: leave it.
      }
    }
  }
}

/** The bytes of the model's weights: what storing it takes on the disk, near enough. */
function weightBytes(model: onnx.IModelProto): number {
  return (model.graph?.initializer ?? []).reduce((a, t) => a + (t.rawData?.length ?? 0), 0);
}

/**
 * Writes the model's large initializers into `weightsPath` (each at an aligned offset, through a
 * temporary file) and returns the rest serialised, naming that file for each of them. The model
 * itself is left as it was: if storing fails, it is serialised whole instead.
 */
function splitWeights(model: onnx.IModelProto, weightsPath: string): { structure: Uint8Array; weights: FileDigest } {
  const tmp = `${weightsPath}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w');
  const hash = createHash('sha256');
  let size = 0;
  let initializer: onnx.ITensorProto[];
  try {
    initializer = (model.graph?.initializer ?? []).map((tensor) => {
      const raw = tensor.rawData;
      if (!raw || raw.length < EXTERNAL_MIN_BYTES) return tensor;
      const offset = Math.ceil(size / WEIGHT_ALIGNMENT) * WEIGHT_ALIGNMENT;
      const padding = new Uint8Array(offset - size);
      writeAll(fd, padding, hash);
      writeAll(fd, raw, hash);
      size = offset + raw.length;
      const external = [
        { key: 'location', value: 'weights.bin' },
        { key: 'offset', value: String(offset) },
        { key: 'length', value: String(raw.length) },
      ];
      return { ...tensor, rawData: new Uint8Array(0), dataLocation: onnx.TensorProto.DataLocation.EXTERNAL, externalData: external };
    });
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, weightsPath);
  const structure = encodeModel({ ...model, graph: { ...model.graph, initializer } });
  return { structure, weights: { sha256: hash.digest('hex'), size } };
}

/** A file's sha256 and size, read in pieces (a model's weights are gigabytes: no buffer that large is needed). */
function digestOf(path: string): FileDigest {
  const hash = createHash('sha256');
  const piece = Buffer.allocUnsafe(8 << 20);
  const fd = openSync(path, 'r');
  let size = 0;
  try {
    for (let n = readSync(fd, piece); n > 0; n = readSync(fd, piece)) {
      hash.update(piece.subarray(0, n));
      size += n;
    }
  } finally {
    closeSync(fd);
  }
  return { sha256: hash.digest('hex'), size };
}

/** What is wrong with the entry's files, if anything, and whether any had to be hashed to know. */
function checkFiles(entry: string, manifest: Manifest): { problem?: string; hashed: boolean } {
  const known = readStamps(entry);
  const stamps: Record<string, string> = {};
  let hashed = false;
  for (const [name, expected] of [['graph.onnx', manifest.graph], ['weights.bin', manifest.weights]] as const) {
    const path = join(entry, name);
    // Taken before hashing: a file changed meanwhile differs from it next time.
    stamps[name] = fileStamp(path);
    if (known[name] === stamps[name]) continue;
    const problem = differs(name, digestOf(path), expected);
    if (problem) return { problem, hashed: true };
    hashed = true;
  }
  if (hashed) writeStamps(entry, stamps);
  return { hashed };
}

/** What changes whenever a file's bytes may have: its inode, size, and modification and change times (to the nanosecond). */
function fileStamp(path: string): string {
  const s = statSync(path, { bigint: true });
  return `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
}

/** The stamps of an entry's files when they were last found whole (`stamps.json`); none when unreadable. */
function readStamps(entry: string): Record<string, string> {
  try {
    const stamps = JSON.parse(readFileSync(join(entry, 'stamps.json'), 'utf8')) as unknown;
    return stamps && typeof stamps === 'object' ? (stamps as Record<string, string>) : {};
  } catch {
    return {};
  }
}

/** Records the stamps; a cache that cannot write them hashes again next time, nothing worse. */
function writeStamps(entry: string, stamps: Record<string, string>): void {
  try {
    atomicWrite(join(entry, 'stamps.json'), Buffer.from(JSON.stringify(stamps)));
  } catch {
    // Only speed is lost.
  }
}

/** What is wrong with a stored file, if anything. */
function differs(name: string, found: FileDigest, expected: FileDigest | undefined): string | undefined {
  if (!expected) return `${name}: not in the manifest`;
  if (found.size !== expected.size) return `${name}: size ${found.size} ≠ ${expected.size}`;
  return found.sha256 === expected.sha256 ? undefined : `${name}: checksum differs`;
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Writes all of `bytes` and adds them to `hash`, in pieces: one write() stops short at 2 GiB on
 * Linux, Node's hash refuses more than 2 GiB at once, and a large model's head is more than that
 * (Llama-3-8B's in float32: 2.1 GB).
 */
function writeAll(fd: number, bytes: Uint8Array, hash: Hash): void {
  for (let at = 0; at < bytes.length; ) {
    const written = writeSync(fd, bytes, at, Math.min(bytes.length - at, WRITE_PIECE));
    hash.update(bytes.subarray(at, at + written));
    at += written;
  }
}

const WRITE_PIECE = 1 << 30;

function atomicWrite(path: string, bytes: Uint8Array): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, path);
}
