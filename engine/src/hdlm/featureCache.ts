// Hidden states of a training run kept on disk (ARCHITECTURE §4: "on disk if large"), so that a
// second run over the same data — other learning rates or epochs, a resumed crash, a retrained
// flat baseline — skips the backbone, which is most of a run's time. An entry is keyed by
// everything the backbone saw and read: the checkpoint's fingerprint, the provider, the shared
// prefix, every sequence's token ids and supervised spans, and the (level, layer) reads, so any
// change to the data, the template, the taxonomy's wording or the model misses. An entry is a
// folder written under a temporary name and renamed into place, its manifest holding each file's
// size and sha256, checked on every read: a partial or damaged entry is rebuilt, never trusted.
// Least recently used entries are removed beyond a size budget; nothing is stored when the disk
// is nearly full. Features are stored as float32, so a cached run trains exactly as a fresh one.
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { evictLeastRecent, markUsed, refusal, removeQuietly } from '../diskBudget';
import type { LayerFeatures } from './layerFeatures';
import type { SpannedSequence } from './sequenceFormat';
import { errorMessage } from '../errorMessage';

/** Bump whenever extraction changes what it collects for the same inputs. */
const FEATURE_FORMAT_VERSION = 1;

/** Default size budget of the feature cache: a few WordNet-sized runs (about 2.3 GB each). */
export const DEFAULT_FEATURE_CACHE_BYTES = 8 * 1024 ** 3;

export interface FeatureCacheEvent {
  kind: 'hit' | 'miss' | 'corrupt' | 'stored' | 'not stored' | 'evicted';
  bytes?: number;
  detail?: string;
}

/** What one extraction depends on: two requests with equal keys collect identical features. */
interface FeatureKeyParts {
  fingerprint: string;
  provider: string;
  prefix: readonly number[];
  sequences: readonly SpannedSequence[];
  reads: readonly { level: number; layer: number }[];
}

interface StoredRead {
  level: number;
  layer: number;
  rows: number;
}

interface FileRecord {
  name: string;
  size: number;
  sha256: string;
}

interface Manifest {
  version: number;
  hiddenSize: number;
  reads: StoredRead[];
  files: FileRecord[];
}

/** Each entry's manifest, written last; its time is the entry's last use (diskBudget.ts). */
export const FEATURE_MANIFEST = 'manifest.json';

export class FeatureCache {
  constructor(
    readonly dir: string,
    private readonly maxBytes: number = DEFAULT_FEATURE_CACHE_BYTES,
    private readonly onEvent: (e: FeatureCacheEvent) => void = () => undefined,
  ) {}

  /** A digest of everything the extraction depends on (the sequences are hashed, not stored). */
  static key(parts: FeatureKeyParts): string {
    const hash = createHash('sha256');
    hash.update(JSON.stringify({ version: FEATURE_FORMAT_VERSION, fingerprint: parts.fingerprint, provider: parts.provider, prefix: parts.prefix, reads: parts.reads }));
    for (const s of parts.sequences) {
      hash.update(`\n${s.ids.join(',')}|${s.spans.map((span) => span.join(',')).join(';')}`);
    }
    return hash.digest('hex').slice(0, 32);
  }

  /** The entry's features, in the order they were stored; undefined on a miss or a damaged entry. */
  load(key: string, hiddenSize: number): LayerFeatures[] | undefined {
    const entry = join(this.dir, key);
    if (!existsSync(join(entry, FEATURE_MANIFEST))) {
      this.onEvent({ kind: 'miss' });
      return undefined;
    }
    try {
      const manifest = JSON.parse(readFileSync(join(entry, FEATURE_MANIFEST), 'utf8')) as Manifest;
      if (manifest.version !== FEATURE_FORMAT_VERSION || manifest.hiddenSize !== hiddenSize) throw new Error('format or hidden size differs');
      const records = new Map(manifest.files.map((f) => [f.name, f]));
      const read = <T extends Float32Array | Int32Array>(name: string, array: T): T => {
        const record = records.get(name);
        if (!record) throw new Error(`${name}: not in the manifest`);
        readFileInto(join(entry, name), record, new Uint8Array(array.buffer));
        return array;
      };
      const features = manifest.reads.map((r, i) => ({
        level: r.level,
        layer: r.layer,
        hidden: read(fileName(i, 'hidden'), new Float32Array(r.rows * hiddenSize)),
        targets: read(fileName(i, 'targets'), new Int32Array(r.rows)),
        example: read(fileName(i, 'example'), new Int32Array(r.rows)),
      }));
      // Recency for eviction: a used entry is the last to go.
      markUsed(join(entry, FEATURE_MANIFEST));
      this.onEvent({ kind: 'hit', bytes: manifest.files.reduce((a, f) => a + f.size, 0) });
      return features;
    } catch (err) {
      this.onEvent({ kind: 'corrupt', detail: errorMessage(err) });
      removeQuietly(entry);
      return undefined;
    }
  }

  /** Stores `features` under `key`; a cache that cannot be written costs speed, never the run. */
  store(key: string, hiddenSize: number, features: readonly LayerFeatures[]): void {
    const size = features.reduce((a, f) => a + f.hidden.byteLength + f.targets.byteLength + f.example.byteLength, 0);
    const temp = join(this.dir, `.${key}.${process.pid}.tmp`);
    try {
      mkdirSync(this.dir, { recursive: true });
      const refused = refusal(this.dir, size, this.maxBytes);
      if (refused) throw new Error(refused);
      rmSync(temp, { recursive: true, force: true });
      mkdirSync(temp);
      const files: FileRecord[] = [];
      features.forEach((f, i) => {
        for (const [part, array] of [['hidden', f.hidden], ['targets', f.targets], ['example', f.example]] as const) {
          files.push(writeFile(join(temp, fileName(i, part)), fileName(i, part), array));
        }
      });
      const manifest: Manifest = { version: FEATURE_FORMAT_VERSION, hiddenSize, reads: features.map((f) => ({ level: f.level, layer: f.layer, rows: f.targets.length })), files };
      writeFileSync(join(temp, FEATURE_MANIFEST), JSON.stringify(manifest, null, 1));
      const entry = join(this.dir, key);
      rmSync(entry, { recursive: true, force: true });
      renameSync(temp, entry);
      this.onEvent({ kind: 'stored', bytes: size });
      evictLeastRecent(this.dir, FEATURE_MANIFEST, this.maxBytes, new Set([key]), (bytes) => this.onEvent({ kind: 'evicted', bytes }));
    } catch (err) {
      removeQuietly(temp);
      this.onEvent({ kind: 'not stored', bytes: size, detail: errorMessage(err) });
    }
  }
}

function fileName(read: number, part: 'hidden' | 'targets' | 'example'): string {
  return `read${read}.${part}.${part === 'hidden' ? 'f32' : 'i32'}`;
}

/** Writes one array (in chunks: a WordNet read is hundreds of MB) and returns its record. */
function writeFile(path: string, name: string, array: Float32Array | Int32Array): FileRecord {
  const bytes = new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
  const hash = createHash('sha256');
  const fd = openSync(path, 'w');
  try {
    const chunk = 64 * 1024 * 1024;
    for (let at = 0; at < bytes.length; at += chunk) {
      const part = bytes.subarray(at, Math.min(bytes.length, at + chunk));
      hash.update(part);
      for (let written = 0; written < part.length; ) written += writeSync(fd, part, written);
    }
  } finally {
    closeSync(fd);
  }
  return { name, size: bytes.length, sha256: hash.digest('hex') };
}

/**
 * Reads a file straight into `into` (in chunks: no 2 GiB limit, no second copy), checking its
 * size against the manifest and the array, and its sha256.
 */
function readFileInto(path: string, record: FileRecord, into: Uint8Array): void {
  const size = statSync(path).size;
  if (size !== record.size) throw new Error(`${record.name}: ${size} bytes, the manifest says ${record.size}`);
  if (size !== into.length) throw new Error(`${record.name}: ${size} bytes where the manifest's row count needs ${into.length}`);
  const hash = createHash('sha256');
  const fd = openSync(path, 'r');
  try {
    const chunk = 64 * 1024 * 1024;
    for (let at = 0; at < size; ) {
      const got = readSync(fd, into, at, Math.min(chunk, size - at), at);
      if (got === 0) throw new Error(`${record.name}: ended at byte ${at} of ${size}`);
      hash.update(into.subarray(at, at + got));
      at += got;
    }
  } finally {
    closeSync(fd);
  }
  if (hash.digest('hex') !== record.sha256) throw new Error(`${record.name}: checksum differs`);
}
