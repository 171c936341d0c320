// A model folder made ready to run: checkpoint, tokenizer and segmented sessions together, as
// front ends (CLI, language server) hold it.
import { join } from 'node:path';
import type { HeadPrecision } from './arch/head';
import { CACHE_FOLDERS } from './cacheDir';
import { loadCheckpoint } from './checkpoint/checkpoint';
import type { Checkpoint } from './checkpoint/types';
import { GraphCache, defaultGraphCacheDir, CacheEvent } from './model/graphCache';
import { SegmentedModel, type SharedParts } from './model/segmentedModel';
import type { ExecutionProvider } from './runtime/ort';
import { Tokenizer } from './tokenizer';
import { errorMessage } from './errorMessage';

export interface LoadModelOptions {
  /** Layers after which a segment ends (exit layers besides the last); default none. */
  cuts?: readonly number[];
  /** Use onnxruntime's fused operators (default true; every bundled provider has them). */
  fused?: boolean;
  /** The engine's cache folder (fingerprints, converted graphs); default the platform's (cacheDir.ts). */
  cacheDir?: string;
  /** Notes that do not stop the load: cache misses and rebuilds, and warnings unless onWarning is given. */
  onNote?: (message: string) => void;
  /**
   * What the user should see even when notes are hidden: tensors no graph uses, a fingerprint
   * memo that cannot be written, the model run on the CPU because the device could not hold it.
   * Default: onNote.
   */
  onWarning?: (message: string) => void;
  /** Refuse to place any node on the CPU: the load fails (no CPU fallback) unless every graph runs on the device. */
  strictDevice?: boolean;
  /** How the model's own head multiplies: 'fp32' (default, exact) or 'int8' (a quarter of the bytes; arch/head.ts). */
  headPrecision?: HeadPrecision;
  /**
   * The head and tables of this folder's model loaded with other cuts (LoadedModel.shareParts;
   * ModelPool passes them when a level moved): taken over where they fit, not opened again.
   */
  shared?: SharedParts;
}

export class LoadedModel {
  /** Who holds this model (retain adds one): its sessions are freed when the last lets go. */
  private holders = 1;

  private constructor(
    readonly checkpoint: Checkpoint,
    readonly model: SegmentedModel,
    readonly tokenizer: Tokenizer | undefined,
    /** Set when the engine's device could not hold this model and it runs on the CPU instead. */
    readonly deviceFallback?: { provider: ExecutionProvider; reason: string },
  ) {}

  static async load(dir: string, provider: ExecutionProvider, threads: number, options: LoadModelOptions = {}): Promise<LoadedModel> {
    const note = options.onNote ?? (() => undefined);
    const warn = options.onWarning ?? note;
    const checkpoint = await loadCheckpoint(dir, { cacheDir: options.cacheDir, onWarning: warn });
    const tokenizer = checkpoint.tokenizerPath ? await Tokenizer.fromFile(checkpoint.tokenizerPath) : undefined;
    if (tokenizer && tokenizer.vocabSize > checkpoint.config.vocabSize) {
      throw new Error(`${checkpoint.tokenizerPath}: the tokenizer has ${tokenizer.vocabSize} tokens but the model's vocab_size is ${checkpoint.config.vocabSize}`);
    }
    const graphDir = options.cacheDir ? join(options.cacheDir, CACHE_FOLDERS.graphs) : defaultGraphCacheDir();
    const cache = new GraphCache(graphDir, (e: CacheEvent) => {
      if (e.kind === 'evicted') note(`graph cache: an older entry went (${e.detail ?? ''})`);
      else if (e.kind !== 'hit') note(`graph cache ${e.kind}: ${e.recipe}${e.detail ? ` (${e.detail})` : ''}`);
    });
    const create = (on: ExecutionProvider): Promise<SegmentedModel> => SegmentedModel.create(checkpoint, { cuts: options.cuts ?? [], provider: on, threads, fused: options.fused ?? true, cache, strictDevice: options.strictDevice, headPrecision: options.headPrecision, shared: options.shared });
    try {
      const model = await create(provider);
      if (options.shared && model.ownHead === options.shared.head) note('took over the head and token table of this model loaded with other cuts');
      return new LoadedModel(checkpoint, model, tokenizer);
    } catch (err) {
      // The probe proved the device works, but this model may still not fit it (out of GPU
      // memory, an operator it cannot place): run the model on the CPU and say why, never silently.
      // A strict load asks whether every graph runs on this device: its answer is the error.
      if (provider === 'cpu' || options.strictDevice) throw err;
      const reason = errorMessage(err);
      warn(`${provider} could not hold ${dir} (${reason.split('\n')[0]}); running it on the CPU`);
      return new LoadedModel(checkpoint, await create('cpu'), tokenizer, { provider, reason });
    }
  }

  /** The tokenizer, or an error saying the folder has none. */
  requireTokenizer(): Tokenizer {
    if (!this.tokenizer) throw new Error(`${this.checkpoint.dir} has no tokenizer.json; text needs one (token ids work without)`);
    return this.tokenizer;
  }

  /**
   * One more holder (ModelPool: a task session opened again after an edit shares the model
   * instead of loading it again); each holder calls release once.
   */
  retain(): this {
    if (this.holders === 0) throw new Error(`${this.checkpoint.dir} was already released`);
    this.holders++;
    return this;
  }

  /** Its head and tables for a load of the same folder with other cuts (LoadModelOptions.shared); none once released. */
  shareParts(): SharedParts | undefined {
    return this.holders === 0 ? undefined : this.model.shareParts();
  }

  /** Lets go of this holder's share; the last one frees the sessions. */
  release(): Promise<void> {
    if (this.holders === 0) return Promise.resolve();
    return --this.holders === 0 ? this.model.release() : Promise.resolve();
  }
}
