// Opening a Hugging Face model folder: config.json → ModelConfig, the safetensors weights
// (checked against what the architecture needs, all problems reported at once, and scanned for
// NaN/inf), generation_config.json, tokenizer.json, and a content fingerprint that keys caches.
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { defaultCacheDir } from '../cacheDir';
import { readJsonObject } from '../jsonFile';
import { Fields, readModelConfig, specialTokens } from './config';
import { danglingLink, missingConfigReason } from './modelFolder';
import { expectedTensors, layerCountField, layerOf, layerPrefix, type ExpectedTensor } from './expectedTensors';
import { openSafetensorsStore, sameShape, SafetensorsStore, summarise, writeAtomically } from './safetensors';
import type { Checkpoint, GenerationDefaults, ModelConfig } from './types';

export interface LoadOptions {
  /** Scan every needed weight for NaN/inf at load (default true); a clean result is memoised. */
  checkFinite?: boolean;
  /** Folder of fingerprints.json; default the platform's cache folder (cacheDir.ts). */
  cacheDir?: string;
  /** Receives notes that do not stop the load (unused tensors, a cache that cannot be written). */
  onWarning?: (message: string) => void;
  /** Called before a weight file is hashed; tests count calls to prove the memo works. */
  onHashFile?: (path: string) => void;
}

/** A checkpoint that does not match its config: every problem, one per line. */
export class CheckpointError extends Error {
  constructor(
    readonly dir: string,
    readonly problems: readonly string[],
    summary: string,
  ) {
    super(`${summary}:\n  ${problems.slice(0, 40).join('\n  ')}${problems.length > 40 ? `\n  ... and ${problems.length - 40} more` : ''}`);
    this.name = 'CheckpointError';
  }
}

export async function loadCheckpoint(dir: string, options: LoadOptions = {}): Promise<Checkpoint> {
  const root = resolve(dir);
  if (!existsSync(root) || !statSync(root).isDirectory()) throw new Error(`${root}: not a model folder (no such directory)`);
  const configPath = join(root, 'config.json');
  if (!existsSync(configPath)) throw new Error(`${root}: ${missingConfigReason(root) ?? 'no config.json'}; a Hugging Face model folder has one`);
  const config = readModelConfig(configPath);
  // An unfinished download leaves these as links to missing blobs: refused, not taken for absent,
  // which would run the model without its tokenizer or its own generation settings.
  for (const optional of ['tokenizer.json', 'tokenizer_config.json', 'generation_config.json']) {
    const dangling = danglingLink(join(root, optional));
    if (dangling) throw new Error(dangling);
  }
  const weights = openSafetensorsStore(root, { optionalPrefix: config.family === 'gpt2' ? 'transformer.' : undefined });
  const expected = expectedTensors(config);
  checkTensors(root, config, weights, expected);
  refuseDroppedLayers(configPath, config, weights);
  warnUnused(weights, expected, options.onWarning);
  const memo = new FingerprintMemo(options.cacheDir ?? defaultCacheDir(), options.onWarning);
  const fingerprint = await fingerprintCheckpoint(configPath, weights, memo, options.onHashFile);
  if ((options.checkFinite ?? true) && !memo.isFinite(fingerprint)) {
    checkFinite(weights, expected);
    memo.markFinite(fingerprint);
  }
  memo.save();
  return {
    dir: root,
    config,
    weights,
    tokenizerPath: existsSync(join(root, 'tokenizer.json')) ? join(root, 'tokenizer.json') : undefined,
    generation: readGenerationDefaults(join(root, 'generation_config.json'), config),
    fingerprint,
  };
}

// ---- Tensor checks ----------------------------------------------------------------------------

function checkTensors(dir: string, config: ModelConfig, weights: SafetensorsStore, expected: readonly ExpectedTensor[]): void {
  const problems = expected.map((t) => tensorProblem(weights, t)).filter((p): p is string => p !== undefined);
  if (problems.length === 0) return;
  throw new CheckpointError(
    dir,
    problems,
    `${dir}: the weights do not match config.json (model_type ${config.modelType}, ${config.numLayers} layers): ${problems.length} problem(s)`,
  );
}

function tensorProblem(weights: SafetensorsStore, t: ExpectedTensor): string | undefined {
  const why = `(${t.dims.join(', ')})`;
  const stored = weights.unreadableDtype(t.name);
  if (stored) return `${weights.fileOf(t.name)}: ${t.name} is stored as ${stored}; the engine reads F32, F16 or BF16`;
  const shape = weights.shape(t.name);
  if (!shape) return `${weights.label}: missing ${t.name}, expected shape [${t.shape.join(',')}] ${why}`;
  if (sameShape(shape, t.shape)) return undefined;
  return `${weights.fileOf(t.name)}: ${t.name} has shape [${shape.join(',')}], expected [${t.shape.join(',')}] ${why}`;
}

/**
 * Weights of layers beyond the config's count: transformers loads such a folder with a warning
 * and runs the layers the config names, but a model with its last layers silently left out gives
 * outputs that only look plausible, and a cut-down config is almost always a mistake (early exit
 * needs no edit here: task levels pick their layers). So it is refused, naming both counts.
 */
function refuseDroppedLayers(configPath: string, config: ModelConfig, weights: SafetensorsStore): void {
  let highest = -1;
  for (const name of weights.names()) highest = Math.max(highest, layerOf(config, name) ?? -1);
  if (highest < config.numLayers) return;
  const field = layerCountField(config);
  // The config's path already names the folder: the weights file by its name reads better after it.
  throw new Error(
    `${configPath}: field "${field}" is ${config.numLayers}, but ${basename(weights.label)} holds ${highest + 1} layers (up to ${layerPrefix(config, highest)}); ` +
      `the model would run without its last ${highest + 1 - config.numLayers}. Set "${field}" to ${highest + 1} ` +
      '(an earlier layer is read out through an exit or a task level, not a shorter config)',
  );
}

/**
 * Buffers some exports save beside the weights (causal masks, rotary tables, a tied head's copy):
 * not weights, so not worth a warning.
 */
const KNOWN_EXTRAS = [/\.attn\.(masked_)?bias$/, /rotary_emb\.inv_freq$/, /^lm_head\.weight$/];

/** Tensors nobody asked for, outside the layers (refused above): another head, a vision tower, a stale buffer. */
function warnUnused(weights: SafetensorsStore, expected: readonly ExpectedTensor[], onWarning: LoadOptions['onWarning']): void {
  if (!onWarning) return;
  const wanted = new Set(expected.map((t) => t.name));
  const unused = weights.names().filter((n) => !wanted.has(n) && !KNOWN_EXTRAS.some((re) => re.test(n)));
  if (unused.length > 0) onWarning(`${weights.label}: ${unused.length} tensor(s) are not used by the model: ${summarise(unused)}`);
}

function checkFinite(weights: SafetensorsStore, expected: readonly ExpectedTensor[]): void {
  for (const t of expected) {
    const hit = weights.findNonFinite(t.name);
    if (hit) {
      throw new Error(
        `${weights.fileOf(t.name)}: ${t.name} [${t.shape.join(',')}] contains ${hit.value} at flat index ${hit.index}; ` +
          'the weights are corrupt (or were saved from a diverged run) and would give NaN outputs',
      );
    }
  }
}

// ---- Generation defaults ----------------------------------------------------------------------

/** The generation settings of a folder without generation_config.json: none set. */
export const UNSET_GENERATION = {
  maxNewTokens: undefined,
  maxLength: undefined,
  temperature: undefined,
  topK: undefined,
  topP: undefined,
  doSample: undefined,
  repetitionPenalty: undefined,
  noRepeatNgramSize: undefined,
  numBeams: undefined,
} as const satisfies Partial<GenerationDefaults>;

/** generation_config.json when present, its token ids taking precedence over config.json's. */
function readGenerationDefaults(path: string, config: ModelConfig): GenerationDefaults {
  const fromConfig = { bosTokenId: config.bosTokenId, eosTokenIds: config.eosTokenIds, padTokenId: config.padTokenId };
  if (!existsSync(path)) {
    return { ...fromConfig, ...UNSET_GENERATION };
  }
  const f = new Fields(readJsonObject(path), path);
  const tokens = specialTokens(f, config.vocabSize);
  const topP = f.optionalNumber('top_p');
  if (topP !== undefined && !(topP > 0 && topP <= 1)) f.fail('top_p', `must lie in (0, 1], found ${topP}`);
  const temperature = f.optionalNumber('temperature');
  if (temperature !== undefined && temperature < 0) f.fail('temperature', `must not be negative, found ${temperature}`);
  const topK = f.optionalNumber('top_k');
  if (topK !== undefined && !(Number.isSafeInteger(topK) && topK >= 0)) f.fail('top_k', `must be a non-negative integer, found ${topK}`);
  const repetitionPenalty = f.optionalNumber('repetition_penalty');
  if (repetitionPenalty !== undefined && !(repetitionPenalty > 0)) f.fail('repetition_penalty', `must be greater than 0, found ${repetitionPenalty}`);
  const noRepeatNgramSize = f.optionalNumber('no_repeat_ngram_size');
  if (noRepeatNgramSize !== undefined && !(Number.isSafeInteger(noRepeatNgramSize) && noRepeatNgramSize >= 0)) f.fail('no_repeat_ngram_size', `must be a non-negative integer, found ${noRepeatNgramSize}`);
  return {
    bosTokenId: tokens.bosTokenId ?? fromConfig.bosTokenId,
    eosTokenIds: tokens.eosTokenIds.length > 0 ? tokens.eosTokenIds : fromConfig.eosTokenIds,
    padTokenId: tokens.padTokenId ?? fromConfig.padTokenId,
    maxNewTokens: f.optionalPositiveInt('max_new_tokens'),
    maxLength: f.optionalPositiveInt('max_length'),
    temperature,
    topK,
    topP,
    doSample: f.optionalBoolean('do_sample'),
    repetitionPenalty,
    noRepeatNgramSize,
    numBeams: f.optionalPositiveInt('num_beams'),
  };
}

// ---- Fingerprint ------------------------------------------------------------------------------

/**
 * sha256 over config.json's bytes and each weight file's bytes. Weight files are hashed once per
 * (absolute path, size, mtimeMs) and the digest memoised; the fingerprint is the sha256 of a small
 * text listing config.json's digest and each file's name and digest, in name order.
 */
async function fingerprintCheckpoint(
  configPath: string,
  weights: SafetensorsStore,
  memo: FingerprintMemo,
  onHashFile: LoadOptions['onHashFile'],
): Promise<string> {
  const lines = ['hdlm-fingerprint/1', `config.json ${sha256(readFileSync(configPath))}`];
  const files = [...weights.files].sort((a, b) => (a.fileName < b.fileName ? -1 : 1));
  for (const file of files) {
    const digest = await memo.digest(file.path, async () => {
      onHashFile?.(file.path);
      return hashFile(file.path);
    });
    lines.push(`${file.fileName} ${digest}`);
  }
  return sha256(Buffer.from(lines.join('\n'), 'utf8'));
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

async function hashFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 4 * 1024 * 1024 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

interface FileRecord {
  size: number;
  mtimeMs: number;
  sha256: string;
  usedAt: number;
}

interface MemoData {
  version: 1;
  /** Weight file digests by absolute path. */
  files: Record<string, FileRecord>;
  /** Fingerprints whose needed weights were scanned and found finite, with when last used. */
  finite: Record<string, number>;
}

/** Entries kept in each table; the least recently used go first. */
const MEMO_LIMIT = 256;

/**
 * fingerprints.json: file digests keyed by (absolute path, size, mtimeMs), and the fingerprints
 * already scanned for NaN/inf. A missing or corrupt memo is an empty one; a memo that cannot be
 * written costs only time, so that is a warning, not a failure. Written atomically, so concurrent
 * loads can lose each other's entries but never corrupt the file.
 */
class FingerprintMemo {
  private readonly path: string;
  private readonly data: MemoData;
  private changed = false;

  constructor(
    private readonly dir: string,
    private readonly onWarning: LoadOptions['onWarning'],
  ) {
    this.path = join(dir, 'fingerprints.json');
    this.data = readMemo(this.path);
  }

  async digest(path: string, compute: () => Promise<string>): Promise<string> {
    const before = statSync(path);
    const known = this.data.files[path];
    if (known && known.size === before.size && known.mtimeMs === before.mtimeMs) {
      known.usedAt = Date.now();
      this.changed = true;
      return known.sha256;
    }
    const sha = await compute();
    const after = statSync(path);
    // A file rewritten while it was hashed has no trustworthy digest to remember.
    if (after.size === before.size && after.mtimeMs === before.mtimeMs) {
      this.data.files[path] = { size: after.size, mtimeMs: after.mtimeMs, sha256: sha, usedAt: Date.now() };
      this.changed = true;
    }
    return sha;
  }

  isFinite(fingerprint: string): boolean {
    return this.data.finite[fingerprint] !== undefined;
  }

  markFinite(fingerprint: string): void {
    this.data.finite[fingerprint] = Date.now();
    this.changed = true;
  }

  save(): void {
    if (!this.changed) return;
    pruneOldest(this.data.files, (r) => r.usedAt);
    pruneOldest(this.data.finite, (t) => t);
    try {
      mkdirSync(this.dir, { recursive: true });
      writeAtomically(this.path, [Buffer.from(JSON.stringify(this.data), 'utf8')]);
      this.changed = false;
    } catch (err) {
      this.onWarning?.(`cannot write the fingerprint cache ${this.path}: ${(err as Error).message}; the next load will hash the weights again`);
    }
  }
}

function readMemo(path: string): MemoData {
  const empty: MemoData = { version: 1, files: {}, finite: {} };
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return empty;
  }
  if (!isMemo(parsed)) return empty;
  return parsed;
}

function isMemo(value: unknown): value is MemoData {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Partial<MemoData>;
  if (v.version !== 1 || typeof v.files !== 'object' || v.files === null || typeof v.finite !== 'object' || v.finite === null) return false;
  return Object.values(v.files).every(
    (r) => typeof r?.size === 'number' && typeof r.mtimeMs === 'number' && typeof r.sha256 === 'string' && typeof r.usedAt === 'number',
  );
}

function pruneOldest<T>(table: Record<string, T>, usedAt: (entry: T) => number): void {
  const keys = Object.keys(table);
  if (keys.length <= MEMO_LIMIT) return;
  keys.sort((a, b) => usedAt(table[b]!) - usedAt(table[a]!));
  for (const key of keys.slice(MEMO_LIMIT)) delete table[key];
}
