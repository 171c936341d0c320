// Converted graphs on disk, so a second load of the same checkpoint skips the conversion.
//
// One folder per checkpoint, keyed by its content fingerprint and GRAPH_FORMAT_VERSION:
//   checkpoint.json      marks the folder; its time is the checkpoint's last use (eviction)
//   <recipe>.onnx        a graph's structure (which layers, which operators), small tensors inline
//   <recipe>.json        its manifest: the recipe, the structure's digest, the weights it names
//   weights/<key>.bin    one large weight, at offset 0 (onnxruntime maps it), shared by every
//   weights/<key>.json   graph of the checkpoint that uses it; beside it, its digest
// A weight's key is its derivation where the builder deferred it ("transposed float32
// model.layers.3.mlp.up_proj.weight": onnx/graph.ts DeferredWeight), else its content's sha256.
// So a level moved to another layer, a layer scan's cuts or a segment's rows graph find their
// weights stored and converted already: only the structure is new. Before, each graph had its own
// copy, and a moved level of a Qwen2.5-0.5B-shaped model converted and wrote 1.4 GB again.
//
// Every file is written atomically (a temporary file, then rename; a graph's manifest last) and
// checked against its digest whenever it may have changed since it was last found whole (its
// stamp differs), so a partial or corrupted file is rebuilt, never trusted. onnxruntime opens a
// graph by path and maps its weights from their files instead of parsing them out of a protobuf:
// for a model of Qwen2.5-0.5B's shapes on the 2-core CPU a session took about 6 s to create from
// the bytes and 2 s from the path. Least recently used checkpoints are removed beyond a size
// budget (diskBudget.ts), never the one being loaded; nothing is stored when the disk is nearly full.
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs';
import { writeAtomically } from '../atomicFile';
import { join } from 'node:path';
import { onnx } from 'onnx-proto';
import { CACHE_FOLDERS, defaultCacheDir } from '../cacheDir';
import { deferredBytes, encodeModel, materialize, type BuiltGraph, type DeferredWeight } from '../onnx/graph';
import { evictLeastRecent, formatBytes, markUsed, refusal, removeQuietly, UNFINISHED_ENTRY_MS } from '../diskBudget';
import { errorMessage } from '../errorMessage';

/** Bump whenever a graph builder changes what it writes for the same checkpoint. */
export const GRAPH_FORMAT_VERSION = 5; // 5: one folder per checkpoint, its weights shared by its graphs; 4: the fp32 head is a Gemm on the untransposed weight; 3: weights apart from the structure; 2: fused rows graphs take their rows' position ids

/**
 * Default size budget of the graph cache: a model of Qwen2.5-0.5B's shapes takes 1.85 GiB, its
 * weights converted once whatever its cuts, and nothing else bounds how many models pile up.
 */
const DEFAULT_GRAPH_CACHE_BYTES = 16 * 1024 ** 3;

/** Graphs live beside the fingerprint memo, under the engine's one cache folder. */
export function defaultGraphCacheDir(): string {
  return join(defaultCacheDir(), CACHE_FOLDERS.graphs);
}

/** A graph as onnxruntime opens it: its bytes, or the path of a stored graph whose weights lie beside it. */
export type GraphSource = Uint8Array | string;

/** Smaller initializers (norm weights, biases, constants) stay in the structure: not worth a file each. */
const EXTERNAL_MIN_BYTES = 65536;
/** The file that marks a checkpoint's folder; its modification time is the folder's last use. */
export const GRAPH_FOLDER_MARKER = 'checkpoint.json';
const WEIGHTS = 'weights';

/** A stored file's digest, and its stamp when it was last found whole (fileStamp). */
interface FileRecord {
  sha256: string;
  size: number;
  stamp?: string;
}

/** A graph's manifest: its structure's record, and the weights (name → key) the structure names. */
interface GraphManifest extends FileRecord {
  version: number;
  recipe: string;
  weights: { name: string; key: string }[];
}

export interface CacheEvent {
  /** `evicted`: an older checkpoint's graphs were removed to stay within the budget (`detail` says how much). */
  kind: 'hit' | 'miss' | 'corrupt' | 'evicted';
  recipe: string;
  detail?: string;
}

/** A large initializer: where it is stored, and how to get its bytes when it is not. */
interface ExternalWeight {
  name: string;
  key: string;
  bytes: number;
  data: () => Uint8Array;
  /** Known already for a weight keyed by its content: writing it need not hash it again. */
  sha256?: string;
}

export class GraphCache {
  private sweptOldFormats = false;
  /** Checkpoint folders this cache read or wrote: the model being loaded, which eviction must leave. */
  private readonly used = new Set<string>();

  constructor(
    private readonly dir: string | undefined,
    private readonly onEvent: (e: CacheEvent) => void = () => undefined,
    private readonly maxBytes = DEFAULT_GRAPH_CACHE_BYTES,
  ) {}

  /**
   * The graph for `recipe` of checkpoint `fingerprint`: from disk when a valid one is stored,
   * else built by `build` and stored, computing only the deferred weights the checkpoint's folder
   * lacks. Without a directory, or when the graph cannot be stored, it is the built bytes.
   */
  get(fingerprint: string, recipe: string, build: () => BuiltGraph): GraphSource {
    if (!this.dir) return encodeModel(materialize(build()));
    const name = graphFolderName(fingerprint);
    const folder = join(this.dir, name);
    this.used.add(name);
    const base = join(folder, shortKey(recipe));
    if (this.read(folder, base, recipe)) return `${base}.onnx`;
    const built = build();
    const stored = this.write(fingerprint, folder, base, recipe, built);
    this.onEvent({ kind: 'miss', recipe, ...(stored.detail ? { detail: stored.detail } : {}) });
    return stored.ok ? `${base}.onnx` : encodeModel(materialize(built));
  }

  /**
   * Whether `folder` holds `recipe` (its files at `base`), whole: its structure and every weight
   * it names as their records describe them. A file is hashed again only when its stamp (inode,
   * size, modification and change times) differs from the one recorded when it was last found
   * whole: any write, rename or copy changes it (the change time cannot be set back), and hashing
   * the 1.9 GB of a Qwen2.5-0.5B-shaped model at every load cost about 1.5 s of a 4.5 s load
   * (0.27 s measured per 349 MiB segment). What no stamp shows is bit rot, which the checkpoint's
   * own fingerprint memo does not see either. A damaged weight is removed, so the rebuild writes
   * it again.
   */
  private read(folder: string, base: string, recipe: string): boolean {
    const manifestPath = `${base}.json`;
    if (!existsSync(manifestPath)) return false;
    try {
      const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as GraphManifest;
      const { problem, hashed } = manifest.version !== GRAPH_FORMAT_VERSION || manifest.recipe !== recipe ? { problem: 'recipe or version differs', hashed: false } : checkGraph(folder, base, manifest);
      if (!problem) {
        // Recency for eviction: a used checkpoint is the last to go.
        markUsed(join(folder, GRAPH_FOLDER_MARKER));
        this.onEvent({ kind: 'hit', recipe, ...(hashed ? { detail: 'hashed' } : {}) });
        return true;
      }
      this.onEvent({ kind: 'corrupt', recipe, detail: problem });
    } catch (err) {
      this.onEvent({ kind: 'corrupt', recipe, detail: errorMessage(err) });
    }
    removeQuietly(manifestPath);
    return false;
  }

  /**
   * Stores the graph: the weights the folder lacks, its structure, its manifest last. Whether it
   * was stored, and what to say of it: how many of its weights were there already, or why it was not.
   */
  private write(fingerprint: string, folder: string, base: string, recipe: string, built: BuiltGraph): { ok: boolean; detail?: string } {
    try {
      this.removeOldFormats(this.dir!);
      openFolder(folder, fingerprint);
      const external = externalWeights(built);
      const missing = external.filter((w) => !weightStored(folder, w.key));
      const refused = refusal(folder, missing.reduce((a, w) => a + w.bytes, 0), this.maxBytes);
      if (refused) throw new Error(refused);
      for (const w of missing) storeWeight(folder, w);
      const structure = encodeModel(withExternalWeights(built, external));
      writeAtomically(`${base}.onnx`, [structure]);
      const manifest: GraphManifest = { version: GRAPH_FORMAT_VERSION, recipe, sha256: sha256(structure), size: structure.length, stamp: fileStamp(`${base}.onnx`), weights: external.map(({ name, key }) => ({ name, key })) };
      writeAtomically(`${base}.json`, [Buffer.from(JSON.stringify(manifest, null, 1))]);
      markUsed(join(folder, GRAPH_FOLDER_MARKER));
      evictLeastRecent(this.dir!, GRAPH_FOLDER_MARKER, this.maxBytes, this.used, (bytes) => this.onEvent({ kind: 'evicted', recipe, detail: `${formatBytes(bytes)} removed to stay within ${formatBytes(this.maxBytes)}` }));
      const reused = external.length - missing.length;
      return { ok: true, ...(reused > 0 ? { detail: `${reused} of its ${external.length} large weights were stored already` } : {}) };
    } catch (err) {
      // A cache that cannot be written (read-only disk, full disk) costs speed, not correctness:
      // the built bytes serve. Weights stored whole stay for the next try; the graph is not listed.
      removeQuietly(`${base}.json`);
      return { ok: false, detail: `not stored: ${errorMessage(err)}` };
    }
  }

  /** Folders an older engine wrote are never read again (the format is in the key): their room goes back, once per cache. */
  private removeOldFormats(dir: string): void {
    if (this.sweptOldFormats) return;
    this.sweptOldFormats = true;
    for (const name of existsSync(dir) ? readdirSync(dir) : []) {
      // Formats up to 4 kept one folder per graph, with a manifest.json.
      for (const file of ['manifest.json', GRAPH_FOLDER_MARKER]) {
        try {
          const { version } = JSON.parse(readFileSync(join(dir, name, file), 'utf8')) as { version?: unknown };
          if (typeof version === 'number' && version < GRAPH_FORMAT_VERSION) removeQuietly(join(dir, name));
        } catch {
          // Not a folder of this cache's, or one being written: leave it.
        }
      }
    }
  }
}

/** The folder of a checkpoint's graphs, in the graph cache's folder. */
export function graphFolderName(fingerprint: string): string {
  return shortKey(`${GRAPH_FORMAT_VERSION}\n${fingerprint}`);
}

/** A hex key short enough for a file name and long enough never to collide by chance. */
function shortKey(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 32);
}

/**
 * Makes the checkpoint's folder (marker first, so eviction sees it as in use, not as an unfinished
 * leftover) and removes temporary files a crashed write left there more than an hour ago.
 */
function openFolder(folder: string, fingerprint: string): void {
  mkdirSync(join(folder, WEIGHTS), { recursive: true });
  if (!existsSync(join(folder, GRAPH_FOLDER_MARKER))) writeAtomically(join(folder, GRAPH_FOLDER_MARKER), [Buffer.from(JSON.stringify({ version: GRAPH_FORMAT_VERSION, fingerprint }))]);
  for (const sub of [folder, join(folder, WEIGHTS)]) {
    for (const file of readdirSync(sub)) {
      const path = join(sub, file);
      try {
        if (file.endsWith('.tmp') && Date.now() - statSync(path).mtimeMs > UNFINISHED_ENTRY_MS) removeQuietly(path);
      } catch {
        // Renamed or removed meanwhile by its writer.
      }
    }
  }
}

/**
 * The graph's initializers that go to files of their own: deferred ones of that size (keyed by
 * their derivation), and others with that many bytes (keyed by their content).
 */
function externalWeights({ model, deferred }: BuiltGraph): ExternalWeight[] {
  return (model.graph?.initializer ?? []).flatMap((tensor): ExternalWeight[] => {
    const weight: DeferredWeight | undefined = tensor.name ? deferred?.get(tensor.name) : undefined;
    if (weight) {
      const bytes = 4 * (tensor.dims ?? []).reduce<number>((a, b) => a * Number(b), 1);
      const key = shortKey(`deferred\n${weight.key}\n${tensor.dataType}\n${(tensor.dims ?? []).join(',')}`);
      return bytes < EXTERNAL_MIN_BYTES ? [] : [{ name: tensor.name!, key, bytes, data: () => deferredBytes(tensor, weight) }];
    }
    const raw = tensor.rawData;
    if (!raw || raw.length < EXTERNAL_MIN_BYTES) return [];
    const digest = sha256(raw);
    return [{ name: tensor.name ?? '', key: digest.slice(0, 32), bytes: raw.length, data: () => raw, sha256: digest }];
  });
}

/**
 * The model to serialise as the structure: each external weight names its file, every other
 * deferred weight (too small for a file) gets its values. The model itself is left as it was.
 */
function withExternalWeights(built: BuiltGraph, external: readonly ExternalWeight[]): onnx.IModelProto {
  const byName = new Map(external.map((w) => [w.name, w]));
  const model = materialize({ model: built.model, deferred: new Map([...(built.deferred ?? [])].filter(([name]) => !byName.has(name))) });
  const initializer = (model.graph?.initializer ?? []).map((tensor) => {
    const w = tensor.name !== undefined && tensor.name !== null ? byName.get(tensor.name) : undefined;
    if (!w) return tensor;
    const location = [
      { key: 'location', value: `${WEIGHTS}/${w.key}.bin` },
      { key: 'offset', value: '0' },
      { key: 'length', value: String(w.bytes) },
    ];
    return { ...tensor, rawData: new Uint8Array(0), dataLocation: onnx.TensorProto.DataLocation.EXTERNAL, externalData: location };
  });
  return { ...model, graph: { ...model.graph, initializer } };
}

/** Whether the weight `key` is stored whole; a damaged one is removed (it will be written again). */
function weightStored(folder: string, key: string): boolean {
  return checkWeight(folder, key).problem === undefined;
}

/** What is wrong with a stored weight, if anything (a damaged one is removed), and whether it was hashed to know. */
function checkWeight(folder: string, key: string): { problem?: string; hashed: boolean } {
  const path = weightPath(folder, key);
  const recordPath = weightRecordPath(folder, key);
  const record = readRecord(recordPath);
  if (!record || !existsSync(path)) return { problem: 'not stored', hashed: false };
  const checked = checkFile(path, recordPath, record);
  if (checked.problem) {
    removeQuietly(path);
    removeQuietly(recordPath);
  }
  return checked;
}

/** A stored weight's file, and beside it its record (FileRecord). */
function weightPath(folder: string, key: string): string {
  return join(folder, WEIGHTS, `${key}.bin`);
}

function weightRecordPath(folder: string, key: string): string {
  return join(folder, WEIGHTS, `${key}.json`);
}

/**
 * Writes one weight atomically and flushed to disk (writeAtomically), then its record (the
 * record's presence says the file is whole). Flushed, because the record's stamp lets a later
 * load skip hashing the weight: a file the rename committed before its data (a power cut) would
 * otherwise be trusted as whole when the stamp happens to match.
 */
function storeWeight(folder: string, w: ExternalWeight): void {
  const path = weightPath(folder, w.key);
  const bytes = w.data();
  const digest = w.sha256 ?? sha256(bytes);
  try {
    writeAtomically(path, [bytes]);
  } catch (err) {
    // Another process stored the same weight meanwhile and has it mapped (Windows refuses to
    // replace a mapped file): the same key means the same values, so its copy serves.
    if (!weightStored(folder, w.key)) throw err;
    return;
  }
  writeRecord(weightRecordPath(folder, w.key), { sha256: digest, size: w.bytes, stamp: fileStamp(path) });
}

/** What is wrong with the graph's structure or any weight it names, if anything, and whether any file was hashed to know. */
function checkGraph(folder: string, base: string, manifest: GraphManifest): { problem?: string; hashed: boolean } {
  const graph = checkFile(`${base}.onnx`, `${base}.json`, manifest);
  if (graph.problem) return { problem: `the structure: ${graph.problem}`, hashed: graph.hashed };
  let hashed = graph.hashed;
  for (const { name, key } of manifest.weights) {
    const weight = checkWeight(folder, key);
    if (weight.problem) return { problem: `weight ${name}: ${weight.problem}`, hashed: true };
    hashed ||= weight.hashed;
  }
  return { hashed };
}

/**
 * What is wrong with a stored file against its record, if anything. The file is hashed only when
 * its stamp is not the recorded one; found whole, its new stamp is recorded.
 */
function checkFile(path: string, recordPath: string, record: FileRecord): { problem?: string; hashed: boolean } {
  if (!existsSync(path)) return { problem: 'missing', hashed: false };
  // Taken before hashing: a file changed meanwhile differs from it next time.
  const stamp = fileStamp(path);
  if (record.stamp === stamp) return { hashed: false };
  const found = digestOf(path);
  if (found.size !== record.size) return { problem: `size ${found.size} ≠ ${record.size}`, hashed: true };
  if (found.sha256 !== record.sha256) return { problem: 'checksum differs', hashed: true };
  writeRecord(recordPath, { ...record, stamp });
  return { hashed: true };
}

/** A record, or undefined when it is missing or unreadable (the file it describes is then not trusted). */
function readRecord(path: string): FileRecord | undefined {
  try {
    const record = JSON.parse(readFileSync(path, 'utf8')) as Partial<FileRecord>;
    return typeof record.sha256 === 'string' && typeof record.size === 'number' ? (record as FileRecord) : undefined;
  } catch {
    return undefined;
  }
}

/** Records a file's digest and stamp; a record that cannot be written costs a hash next time, nothing worse. */
function writeRecord(path: string, record: FileRecord): void {
  try {
    writeAtomically(path, [Buffer.from(JSON.stringify(record, null, 1))]);
  } catch {
    // Only speed is lost.
  }
}

/** A file's sha256 and size, read in pieces (a model's weights are gigabytes: no buffer that large is needed). */
function digestOf(path: string): FileRecord {
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

/** What changes whenever a file's bytes may have: its inode, size, and modification and change times (to the nanosecond). */
function fileStamp(path: string): string {
  const s = statSync(path, { bigint: true });
  return `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
}

/** The sha256 of `bytes`, hashed in pieces (Node's hash refuses more than 2 GiB at once). */
function sha256(bytes: Uint8Array): string {
  const hash = createHash('sha256');
  for (let at = 0; at < bytes.length; at += HASH_PIECE) hash.update(bytes.subarray(at, at + HASH_PIECE));
  return hash.digest('hex');
}

/** Bytes hashed at once: Node's hash refuses more than 2 GiB, and a large model's head is more (Llama-3-8B's in float32: 2.1 GB). */
const HASH_PIECE = 1 << 30;
