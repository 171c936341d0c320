// The safetensors format: an 8-byte little-endian header length, a JSON header giving each
// tensor's dtype, shape and byte range, then one flat byte buffer. Files of real checkpoints are
// gigabytes, so opening a file parses its header only; a tensor's bytes are read when it is asked
// for, in bounded chunks, straight into the Float32Array that is returned.
import { closeSync, existsSync, fstatSync, openSync, readdirSync, readSync } from 'node:fs';
import { endianness } from 'node:os';
import { basename, join } from 'node:path';
import { parseJsonText, readJsonObject } from '../jsonFile';
import { danglingLink } from './modelFolder';
import type { DTypeName, HalfTensor, WeightStore } from './types';
import { writeAtomically } from '../atomicFile';

// Its importers found it here before it had a module of its own (atomicFile.ts).
export { writeAtomically };

/** Every dtype the safetensors format defines, with its size in bytes. */
export const FORMAT_DTYPE_BYTES: Readonly<Record<string, number>> = {
  BOOL: 1, U8: 1, I8: 1, F8_E5M2: 1, F8_E4M3: 1, F8_E8M0: 1,
  I16: 2, U16: 2, F16: 2, BF16: 2,
  I32: 4, U32: 4, F32: 4,
  I64: 8, U64: 8, F64: 8,
};

/** The dtypes the engine converts to float32. */
export const READABLE_DTYPES: readonly DTypeName[] = ['F32', 'F16', 'BF16'];

/** The reference implementation refuses headers above 100 MB; a larger one is a corrupt length. */
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

/** Bytes read per readSync call: bounded so that no single read nears the 2 GiB syscall limit. */
const READ_CHUNK_BYTES = 16 * 1024 * 1024;

export interface NonFinite {
  /** Flat (row-major) index of the element. */
  index: number;
  /** NaN, Infinity or -Infinity. */
  value: number;
}

export interface TensorEntry {
  name: string;
  /** A format dtype; only READABLE_DTYPES can be read as float32. */
  dtype: string;
  shape: number[];
  /** Absolute byte range in the file (header included), [begin, end). */
  begin: number;
  end: number;
}

/**
 * One open safetensors file: its header is parsed and validated, its data is not read. No file
 * descriptor is held between calls, so an unused SafetensorsFile needs no closing.
 */
export class SafetensorsFile {
  private constructor(
    readonly path: string,
    readonly size: number,
    readonly metadata: Readonly<Record<string, string>>,
    private readonly entries: ReadonlyMap<string, TensorEntry>,
  ) {}

  static open(path: string): SafetensorsFile {
    assertLittleEndianHost();
    const fd = openFile(path);
    try {
      const size = fstatSync(fd).size;
      const header = readHeader(fd, path, size);
      const { entries, metadata } = parseHeader(header.json, path, header.dataStart, size);
      return new SafetensorsFile(path, size, metadata, entries);
    } finally {
      closeSync(fd);
    }
  }

  get fileName(): string {
    return basename(this.path);
  }

  names(): string[] {
    return [...this.entries.keys()];
  }

  entry(name: string): TensorEntry | undefined {
    return this.entries.get(name);
  }

  /** The tensor converted to float32; throws naming file and tensor for an unreadable dtype. */
  read(name: string): Float32Array {
    const entry = this.requireReadable(name);
    const out = this.allocate(entry);
    if (out.length === 0) return out;
    const fd = this.openUnchanged();
    try {
      if (entry.dtype === 'F32') readRange(fd, this.path, entry.begin, new Uint8Array(out.buffer));
      else readHalves(fd, this.path, entry, out);
    } finally {
      closeSync(fd);
    }
    return out;
  }

  /** A 16-bit tensor's stored bits, unconverted; undefined for a float32 one. */
  readHalves(name: string): HalfTensor | undefined {
    const entry = this.requireReadable(name);
    if (entry.dtype !== 'F16' && entry.dtype !== 'BF16') return undefined;
    const bits = new Uint16Array(elementCount(entry.shape));
    if (bits.length === 0) return { dtype: entry.dtype, bits };
    const fd = this.openUnchanged();
    try {
      readRange(fd, this.path, entry.begin, new Uint8Array(bits.buffer));
    } finally {
      closeSync(fd);
    }
    return { dtype: entry.dtype, bits };
  }

  /**
   * The first NaN or infinity in a tensor (flat index and value), or undefined. Works on the
   * stored bits in chunks, so scanning a checkpoint costs one pass over its bytes and no float32
   * copy of it.
   */
  findNonFinite(name: string): NonFinite | undefined {
    const entry = this.requireReadable(name);
    const dtype = entry.dtype as DTypeName;
    const fd = this.openUnchanged();
    try {
      // One buffer serves every chunk: fresh memory per chunk would cost a page fault per page.
      const buffer = new ArrayBuffer(Math.min(READ_CHUNK_BYTES, entry.end - entry.begin));
      let base = 0;
      for (let offset = entry.begin; offset < entry.end; ) {
        const bytes = Math.min(READ_CHUNK_BYTES, entry.end - offset);
        const chunk = dtype === 'F32' ? new Uint32Array(buffer, 0, bytes / 4) : new Uint16Array(buffer, 0, bytes / 2);
        readRange(fd, this.path, offset, new Uint8Array(buffer, 0, bytes));
        const hit = firstNonFinite(dtype, chunk);
        if (hit >= 0) return { index: base + hit, value: bitsToNumber(dtype, chunk[hit]!) };
        offset += bytes;
        base += chunk.length;
      }
      return undefined;
    } finally {
      closeSync(fd);
    }
  }

  /** Opens the file for a read, refusing one whose size changed since its header was parsed. */
  private openUnchanged(): number {
    const fd = openFile(this.path);
    const size = fstatSync(fd).size;
    if (size !== this.size) {
      closeSync(fd);
      throw new Error(`${this.path}: the file changed since it was opened (${this.size} → ${size} bytes); reload the checkpoint`);
    }
    return fd;
  }

  private allocate(entry: TensorEntry): Float32Array {
    try {
      return new Float32Array(elementCount(entry.shape));
    } catch (err) {
      throw new Error(`${this.path}: tensor ${entry.name} [${entry.shape.join(',')}] is too large for one Float32Array`, { cause: err });
    }
  }

  private requireReadable(name: string): TensorEntry {
    const entry = this.entries.get(name);
    if (!entry) throw new Error(`${this.path}: no tensor named ${name}`);
    if (!(READABLE_DTYPES as readonly string[]).includes(entry.dtype)) {
      throw new Error(
        `${this.path}: tensor ${name} is stored as ${entry.dtype}; the engine reads ${READABLE_DTYPES.join(', ')}`,
      );
    }
    return entry;
  }
}

function assertLittleEndianHost(): void {
  // Tensor bytes are read straight into typed arrays, which use the host's byte order.
  // onnxruntime-node ships no big-endian binaries, so such a host is refused rather than handled.
  if (endianness() !== 'LE') throw new Error('safetensors: a big-endian host is not supported');
}

function openFile(path: string): number {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    throw new Error(`${path}: cannot open it: ${(err as Error).message}`, { cause: err });
  }
  // A folder opens on Linux, and only its first read fails, with an EISDIR that names no path.
  if (fstatSync(fd).isDirectory()) {
    closeSync(fd);
    throw new Error(`${path}: is a folder, not a weights file`);
  }
  return fd;
}

interface RawHeader {
  json: string;
  /** Absolute offset of the byte buffer. */
  dataStart: number;
}

function readHeader(fd: number, path: string, size: number): RawHeader {
  const name = path;
  if (size < 8) throw new Error(`${name}: file is ${size} bytes, too short for a safetensors header`);
  const prefix = new Uint8Array(8);
  readRange(fd, path, 0, prefix);
  const length = new DataView(prefix.buffer).getBigUint64(0, true);
  if (length > BigInt(size - 8)) {
    throw new Error(`${name}: header length ${length} exceeds the ${size - 8} bytes after the length field (truncated file?)`);
  }
  if (length > BigInt(MAX_HEADER_BYTES)) throw new Error(`${name}: header length ${length} exceeds ${MAX_HEADER_BYTES} bytes`);
  const bytes = new Uint8Array(Number(length));
  readRange(fd, path, 8, bytes);
  let json: string;
  try {
    json = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new Error(`${name}: header is not valid UTF-8`);
  }
  return { json, dataStart: 8 + Number(length) };
}

interface ParsedHeader {
  entries: Map<string, TensorEntry>;
  metadata: Record<string, string>;
}

/** Parses and validates a header; every error names the file and, where there is one, the tensor. */
export function parseHeader(json: string, path: string, dataStart: number, fileSize: number): ParsedHeader {
  const name = path;
  // A syntax error in the words of every JSON file (jsonFile.ts): "<file> header: line 1, column 57: not valid JSON: …".
  const header = parseJsonText(json, `${name} header`);
  if (!isPlainObject(header)) throw new Error(`${name}: header is not a JSON object`);
  const metadata = parseMetadata(header['__metadata__'], name);
  const entries = new Map<string, TensorEntry>();
  for (const [tensor, raw] of Object.entries(header)) {
    if (tensor === '__metadata__') continue;
    entries.set(tensor, parseEntry(raw, name, tensor, dataStart, fileSize));
  }
  checkNoOverlap([...entries.values()], name);
  return { entries, metadata };
}

function parseMetadata(raw: unknown, name: string): Record<string, string> {
  if (raw === undefined) return {};
  if (!isPlainObject(raw)) throw new Error(`${name}: __metadata__ is not an object of strings`);
  for (const [key, value] of Object.entries(raw)) {
    if (typeof value !== 'string') throw new Error(`${name}: __metadata__.${key} is not a string`);
  }
  return raw as Record<string, string>;
}

function parseEntry(raw: unknown, name: string, tensor: string, dataStart: number, fileSize: number): TensorEntry {
  const where = `${name}: tensor ${tensor}`;
  if (!isPlainObject(raw)) throw new Error(`${where}: header entry is not an object`);
  const { dtype, shape, data_offsets: offsets } = raw;
  if (typeof dtype !== 'string') throw new Error(`${where}: dtype is missing or not a string`);
  const itemBytes = FORMAT_DTYPE_BYTES[dtype];
  if (itemBytes === undefined) {
    throw new Error(`${where}: unknown dtype ${JSON.stringify(dtype)} (known: ${Object.keys(FORMAT_DTYPE_BYTES).join(', ')})`);
  }
  if (!Array.isArray(shape) || !shape.every(isNonNegativeInteger)) {
    throw new Error(`${where}: shape ${JSON.stringify(shape)} is not a list of non-negative integers`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isNonNegativeInteger)) {
    throw new Error(`${where}: data_offsets ${JSON.stringify(offsets)} is not a pair of non-negative integers`);
  }
  const [start, stop] = offsets as [number, number];
  const dataBytes = fileSize - dataStart;
  if (start > stop) throw new Error(`${where}: data_offsets [${start},${stop}] end before they begin`);
  if (stop > dataBytes) {
    throw new Error(`${where}: data_offsets [${start},${stop}] lie outside the ${dataBytes}-byte data buffer (truncated file?)`);
  }
  const expected = elementCount(shape as number[]) * itemBytes;
  if (stop - start !== expected) {
    throw new Error(
      `${where}: data_offsets [${start},${stop}] span ${stop - start} bytes but ${dtype}[${shape.join(',')}] needs ${expected}`,
    );
  }
  return { name: tensor, dtype, shape: shape as number[], begin: dataStart + start, end: dataStart + stop };
}

function checkNoOverlap(entries: TensorEntry[], name: string): void {
  const sorted = entries.filter((e) => e.end > e.begin).sort((a, b) => a.begin - b.begin);
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1]!;
    const cur = sorted[i]!;
    if (cur.begin < prev.end) throw new Error(`${name}: tensors ${prev.name} and ${cur.name} overlap in the data buffer`);
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isNonNegativeInteger(value: unknown): boolean {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Fills `into` from the file at `position`, looping because one read may return fewer bytes. */
function readRange(fd: number, path: string, position: number, into: Uint8Array): void {
  let done = 0;
  while (done < into.length) {
    const want = Math.min(READ_CHUNK_BYTES, into.length - done);
    const got = readSync(fd, into, done, want, position + done);
    if (got === 0) throw new Error(`${path}: unexpected end of file at byte ${position + done} (truncated file?)`);
    done += got;
  }
}

/** Reads an F16 or BF16 tensor chunk by chunk and widens it into `out`. */
function readHalves(fd: number, path: string, entry: TensorEntry, out: Float32Array): void {
  const chunkElems = READ_CHUNK_BYTES / 2;
  const chunk = new Uint16Array(Math.min(chunkElems, out.length));
  for (let first = 0; first < out.length; first += chunk.length) {
    const n = Math.min(chunk.length, out.length - first);
    const halves = chunk.subarray(0, n);
    readRange(fd, path, entry.begin + first * 2, new Uint8Array(halves.buffer, 0, n * 2));
    const target = out.subarray(first, first + n);
    if (entry.dtype === 'F16') f16ToF32(halves, target);
    else bf16ToF32(halves, target);
  }
}

function firstNonFinite(dtype: DTypeName, bits: Uint16Array | Uint32Array): number {
  // A float is NaN or infinite exactly when its exponent bits are all ones.
  const mask = dtype === 'F32' ? 0x7f800000 : dtype === 'F16' ? 0x7c00 : 0x7f80;
  for (let i = 0; i < bits.length; i++) if ((bits[i]! & mask) === mask) return i;
  return -1;
}

// ---- A checkpoint's weights: one file or a sharded set ----------------------------------------

export const SINGLE_FILE = 'model.safetensors';
export const INDEX_FILE = 'model.safetensors.index.json';

interface Located {
  file: SafetensorsFile;
  entry: TensorEntry;
}

export interface StoreOptions {
  /**
   * A prefix some exports put before every name (GPT-2's `transformer.`). Names are stored
   * without it, and every lookup accepts a name with or without it.
   */
  optionalPrefix?: string;
}

/**
 * The WeightStore over safetensors files. It lists the tensors the engine can read (F32, F16,
 * BF16); a tensor stored in another dtype (integer buffers, masks) is remembered only to explain a
 * failed lookup.
 */
export class SafetensorsStore implements WeightStore {
  private readonly tensors = new Map<string, Located>();
  private readonly unreadable = new Map<string, Located>();
  private readonly prefix: string;

  /** `label` names the weights in errors about absent tensors: the single file or the index, with its folder. */
  constructor(
    readonly files: readonly SafetensorsFile[],
    readonly label: string,
    options: StoreOptions = {},
  ) {
    this.prefix = options.optionalPrefix ?? '';
    for (const file of files) for (const name of file.names()) this.add(file, file.entry(name)!);
  }

  private add(file: SafetensorsFile, entry: TensorEntry): void {
    const key = this.canonical(entry.name);
    const previous = this.tensors.get(key) ?? this.unreadable.get(key);
    if (previous) {
      const where = previous.file === file ? file.path : `${previous.file.path} and ${file.path}`;
      throw new Error(`${where}: tensor ${key} is stored twice (as ${previous.entry.name} and ${entry.name})`);
    }
    const readable = (READABLE_DTYPES as readonly string[]).includes(entry.dtype);
    (readable ? this.tensors : this.unreadable).set(key, { file, entry });
  }

  /** The stored name without the optional prefix: the form names() lists. */
  canonical(name: string): string {
    return this.prefix !== '' && name.startsWith(this.prefix) ? name.slice(this.prefix.length) : name;
  }

  names(): string[] {
    return [...this.tensors.keys()];
  }

  has(name: string): boolean {
    return this.tensors.has(this.canonical(name));
  }

  shape(name: string): number[] | undefined {
    return this.tensors.get(this.canonical(name))?.entry.shape.slice();
  }

  dtype(name: string): DTypeName | undefined {
    return this.tensors.get(this.canonical(name))?.entry.dtype as DTypeName | undefined;
  }

  /** The file holding a tensor (its path: a message names the folder too), for messages. */
  fileOf(name: string): string | undefined {
    const key = this.canonical(name);
    return (this.tensors.get(key) ?? this.unreadable.get(key))?.file.path;
  }

  /** The stored dtype of a tensor the store cannot read (I64, BOOL, F64...), else undefined. */
  unreadableDtype(name: string): string | undefined {
    return this.unreadable.get(this.canonical(name))?.entry.dtype;
  }

  get(name: string, expectedShape: readonly number[]): Float32Array {
    const found = this.locate(name, expectedShape);
    return found.file.read(found.entry.name);
  }

  getHalves(name: string, expectedShape: readonly number[]): HalfTensor | undefined {
    const found = this.locate(name, expectedShape);
    return found.file.readHalves(found.entry.name);
  }

  /** The first NaN or infinity in the tensor, or undefined. */
  findNonFinite(name: string): NonFinite | undefined {
    const found = this.locate(name, undefined);
    return found.file.findNonFinite(found.entry.name);
  }

  private locate(name: string, expectedShape: readonly number[] | undefined): Located {
    const key = this.canonical(name);
    const found = this.tensors.get(key);
    const wanted = expectedShape ? `, expected shape [${expectedShape.join(',')}]` : '';
    if (!found) {
      const other = this.unreadable.get(key);
      if (other) {
        throw new Error(`${other.file.path}: ${key} is stored as ${other.entry.dtype}; the engine reads ${READABLE_DTYPES.join(', ')}`);
      }
      throw new Error(`${this.label}: missing tensor ${key}${wanted}`);
    }
    if (expectedShape && !sameShape(found.entry.shape, expectedShape)) {
      throw new Error(`${found.file.path}: ${key} has shape [${found.entry.shape.join(',')}]${wanted}`);
    }
    return found;
  }
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * Opens the weights of a model folder. `model.safetensors` wins when present (as in
 * transformers); otherwise `model.safetensors.index.json` names the shards.
 */
export function openSafetensorsStore(dir: string, options: StoreOptions = {}): SafetensorsStore {
  if (existsSync(join(dir, SINGLE_FILE))) {
    return new SafetensorsStore([SafetensorsFile.open(join(dir, SINGLE_FILE))], join(dir, SINGLE_FILE), options);
  }
  if (existsSync(join(dir, INDEX_FILE))) return openSharded(dir, options);
  // A name listed but not there is a link whose blob is missing: say that, not "found model.safetensors".
  const dangling = danglingLink(join(dir, SINGLE_FILE)) ?? danglingLink(join(dir, INDEX_FILE));
  if (dangling) throw new Error(dangling);
  const shards = listFolder(dir).filter((n) => SHARD_NAME.test(n)).sort();
  if (shards.length > 0) throw new Error(`${dir}: ${INDEX_FILE} is missing, which says which tensor each shard holds (copy it from where the shards came from); found the shards ${shards.join(', ')}`);
  throw new Error(`${dir}: no ${SINGLE_FILE} or ${INDEX_FILE}${describeOtherWeights(dir)}`);
}

/** The folder's names, or none when it cannot be listed (describeOtherWeights says why). */
function listFolder(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** Shard names as transformers writes them (model-00001-of-00003.safetensors). */
const SHARD_NAME = /^model-\d+-of-\d+\.safetensors$/;

function describeOtherWeights(dir: string): string {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    return ` (cannot list the folder: ${(err as Error).message})`;
  }
  const other = names.filter((n) => /\.(bin|pt|pth|gguf|safetensors|h5|msgpack)$/.test(n));
  return other.length > 0 ? `; found ${other.join(', ')}, which the engine does not read (convert to ${SINGLE_FILE})` : '';
}

function openSharded(dir: string, options: StoreOptions): SafetensorsStore {
  const weightMap = readWeightMap(join(dir, INDEX_FILE));
  const shardNames = [...new Set(Object.values(weightMap))].sort();
  const missing = shardNames.filter((n) => !existsSync(join(dir, n)));
  const dangling = missing.map((n) => danglingLink(join(dir, n))).find((m) => m !== undefined);
  if (dangling) throw new Error(dangling);
  if (missing.length > 0) throw new Error(`${INDEX_FILE}: lists ${missing.join(', ')}, which ${missing.length === 1 ? 'does' : 'do'} not exist in ${dir}`);
  const shards = new Map(shardNames.map((n) => [n, SafetensorsFile.open(join(dir, n))]));
  const absent = Object.entries(weightMap)
    .filter(([tensor, shard]) => !shards.get(shard)!.entry(tensor))
    .map(([tensor, shard]) => `${tensor} (in ${shard})`);
  if (absent.length > 0) throw new Error(`${INDEX_FILE}: ${absent.length} listed tensor(s) are not in their shard: ${summarise(absent)}`);
  return new SafetensorsStore([...shards.values()], join(dir, INDEX_FILE), options);
}

function readWeightMap(path: string): Record<string, string> {
  const map = readJsonObject(path)['weight_map'];
  if (!isPlainObject(map)) throw new Error(`${INDEX_FILE}: weight_map is missing or not an object`);
  for (const [tensor, shard] of Object.entries(map)) {
    // A shard is a plain file name in the model folder; a path could reach outside it.
    if (typeof shard !== 'string' || shard !== basename(shard) || shard === '..' || shard === '.') {
      throw new Error(`${INDEX_FILE}: weight_map[${JSON.stringify(tensor)}] is ${JSON.stringify(shard)}, not a file name in the folder`);
    }
  }
  return map as Record<string, string>;
}

/** The first few items of a long list, with a count of the rest. */
export function summarise(items: readonly string[], limit = 10): string {
  const shown = items.slice(0, limit).join('; ');
  return items.length > limit ? `${shown}; and ${items.length - limit} more` : shown;
}

// ---- Half-precision conversions -------------------------------------------------------------

function bitsToNumber(dtype: DTypeName, bits: number): number {
  if (dtype === 'F16') return f16Lookup()[bits]!;
  scratchBits[0] = dtype === 'F32' ? bits : bf16ToF32Bits(bits);
  return scratch[0]!;
}

let f16Table: Float32Array | undefined; // [65536] the float32 value of every f16 bit pattern

export function f16Lookup(): Float32Array {
  if (f16Table) return f16Table;
  const table = new Float32Array(65536);
  const bits = new Uint32Array(table.buffer);
  for (let h = 0; h < 65536; h++) bits[h] = f16BitsToF32Bits(h);
  f16Table = table;
  return table;
}

/** Exact widening of one f16 bit pattern to f32 bits (every f16 value is an f32 value). */
function f16BitsToF32Bits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >>> 10) & 0x1f;
  let mant = h & 0x3ff;
  if (exp === 0x1f) return (sign | 0x7f800000 | (mant << 13)) >>> 0;
  if (exp !== 0) return (sign | ((exp + 112) << 23) | (mant << 13)) >>> 0;
  if (mant === 0) return sign >>> 0;
  // A subnormal f16 is normal in f32: shift the mantissa up until its leading one is implicit.
  let e = 113;
  while ((mant & 0x400) === 0) {
    mant <<= 1;
    e--;
  }
  return (sign | (e << 23) | ((mant & 0x3ff) << 13)) >>> 0;
}

export function f16ToF32(src: Uint16Array, dst: Float32Array): void {
  const table = f16Lookup();
  for (let i = 0; i < src.length; i++) dst[i] = table[src[i]!]!;
}

export function bf16ToF32(src: Uint16Array, dst: Float32Array): void {
  const out = new Uint32Array(dst.buffer, dst.byteOffset, dst.length);
  for (let i = 0; i < src.length; i++) out[i] = bf16ToF32Bits(src[i]!);
}

/** The float32 bits of a bf16 value: bf16 is the top half of an f32, so widening is a shift. */
export function bf16ToF32Bits(bits: number): number {
  return bits << 16;
}

const scratch = new Float32Array(1);
const scratchBits = new Uint32Array(scratch.buffer);

/** f32 → f16 bits, rounding to nearest with ties to even; overflow gives ±inf, NaN stays NaN. */
export function f32ToF16Bits(value: number): number {
  scratch[0] = value;
  const x = scratchBits[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 | (mant >>> 13) : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) return sign | subnormalF16(mant | 0x800000, e);
  const h = (e << 10) | (mant >>> 13);
  // A carry out of the mantissa correctly bumps the exponent (and reaches inf at the top).
  return sign | roundHalfEven(h, mant & 0x1fff, 0x1000);
}

/** The f16 subnormal nearest to m·2^(e-38), where m carries the implicit leading one. */
function subnormalF16(m: number, e: number): number {
  if (e < -10) return 0; // Below half the smallest subnormal: rounds to zero.
  const shift = 14 - e;
  return roundHalfEven(m >>> shift, m & ((1 << shift) - 1), 1 << (shift - 1));
}

function roundHalfEven(kept: number, rest: number, half: number): number {
  return rest > half || (rest === half && (kept & 1) === 1) ? kept + 1 : kept;
}

/** f32 → bf16 bits, rounding to nearest with ties to even; NaN stays a quiet NaN. */
export function f32ToBf16Bits(value: number): number {
  scratch[0] = value;
  const x = scratchBits[0]!;
  if ((x & 0x7f800000) === 0x7f800000 && (x & 0x7fffff) !== 0) return ((x >>> 16) | 0x40) & 0xffff;
  return roundHalfEven(x >>> 16, x & 0xffff, 0x8000) & 0xffff;
}

// ---- Writer ---------------------------------------------------------------------------------

export interface TensorToWrite {
  dtype: DTypeName;
  shape: readonly number[];
  data: Float32Array; // [prod(shape)]
}

/**
 * Writes a safetensors file atomically (a temporary file beside it, then a rename), so a reader
 * never sees half a file. Tensors are laid out in name order, as the reference writer does.
 */
export function writeSafetensors(
  path: string,
  tensors: Readonly<Record<string, TensorToWrite>>,
  metadata?: Readonly<Record<string, string>>,
): void {
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) header['__metadata__'] = metadata;
  let offset = 0;
  const payloads: Uint8Array[] = [];
  for (const name of names) {
    const payload = encodeTensor(name, tensors[name]!);
    header[name] = { dtype: tensors[name]!.dtype, shape: [...tensors[name]!.shape], data_offsets: [offset, offset + payload.length] };
    offset += payload.length;
    payloads.push(payload);
  }
  writeAtomically(path, [headerBytes(header), ...payloads]);
}

function encodeTensor(name: string, tensor: TensorToWrite): Uint8Array {
  const count = elementCount(tensor.shape);
  if (tensor.data.length !== count) {
    throw new Error(`writeSafetensors: ${name} has ${tensor.data.length} values but shape [${tensor.shape.join(',')}] needs ${count}`);
  }
  if (tensor.dtype === 'F32') return new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength);
  const bits = new Uint16Array(count);
  const convert = tensor.dtype === 'F16' ? f32ToF16Bits : f32ToBf16Bits;
  for (let i = 0; i < count; i++) bits[i] = convert(tensor.data[i]!);
  return new Uint8Array(bits.buffer);
}

/** Length prefix plus JSON, padded with spaces so the data buffer starts 8-byte aligned. */
function headerBytes(header: Record<string, unknown>): Uint8Array {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const padded = Math.ceil(json.length / 8) * 8;
  const out = Buffer.alloc(8 + padded, 0x20);
  out.writeBigUInt64LE(BigInt(padded), 0);
  json.copy(out, 8);
  return out;
}

