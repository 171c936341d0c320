// A decoder cut into segments at chosen layers, one onnxruntime session and one KV cache per
// segment. A position can stop after any segment ("exit early"); its hidden state then waits as
// *pending* at the next segment, and the next time a deeper layer is needed all pending
// positions go through that segment in one batched pass. Nothing is re-tokenised or re-run.
import type { Checkpoint, ModelConfig } from '../checkpoint/types';
import { architectureFor } from '../arch/registry';
import { SegmentIO } from '../arch/segmentIO';
import { ExecutionProvider, float32Tensor, freeDeviceTensor, int64Tensor, isOnDevice, keepsOutputsOnDevice, Session, Tensor } from '../runtime/ort';
import { DType, GraphBuilder } from '../onnx/graph';
import { attentionBias, rotaryTables, treeAttentionBias } from './positions';
import { buildHeadGraph, type HeadPrecision } from '../arch/head';
import { DecodeState, SegmentCache } from './decodeState';
import { ContextOverflowError } from './contextOverflow';
import { DeviceTensors } from './deviceTensors';
import { GraphCache } from './graphCache';
import { LanguageHead } from './languageHead';
import type { TokenTable } from './tokenTable';

export interface SegmentedModelOptions {
  /** Layers after which a segment ends, ascending, each in 1..L-1; the last segment ends at L. */
  cuts: readonly number[];
  provider: ExecutionProvider;
  threads: number;
  /** Use onnxruntime's fused operators where the graphs have them. */
  fused: boolean;
  /** Where converted graphs are kept between loads; none means convert every time. */
  cache?: GraphCache | undefined;
  /** Fail instead of letting onnxruntime place any node on the CPU (proves a graph runs wholly on the device). */
  strictDevice?: boolean | undefined;
  /** How the model's own head multiplies (arch/head.ts); default 'fp32'. */
  headPrecision?: HeadPrecision | undefined;
  /**
   * Keep each segment's keys and values in device memory between runs, and hand a segment's
   * hidden states to the next segment there, where the provider can (runtime/ort.ts
   * keepsOutputsOnDevice; default: wherever it can). Otherwise every run copies the whole cache
   * back to the host and the next one copies it up again, and every segment's output makes the
   * round trip too.
   */
  deviceCache?: boolean | undefined;
  /**
   * The parts of a model of the same checkpoint loaded with other cuts (shareParts): used instead
   * of opening them again when they fit (the same checkpoint, device, threads, operators and
   * head precision). The caller keeps its own share, and releases it.
   */
  shared?: SharedParts | undefined;
}

/**
 * What a model's cuts do not change: its own head and its token (and position) tables. A level
 * moved to another layer cuts the segments elsewhere, and only they need opening again: at
 * Qwen2.5-0.5B's shapes the head took 2.7–2.9 s of a cached load and the token table 1.3–1.5 s
 * (2026-12-07, on a busy machine).
 */
export interface SharedParts {
  /** What the parts depend on: checkpoint fingerprint, device, threads, operators, head precision. */
  key: string;
  /** One share of the head (LanguageHead.share), released by whoever holds these parts. */
  head: LanguageHead;
  tokens: TokenTable;
  positions: Float32Array | undefined;
}

interface Segment {
  first: number; // first layer (inclusive)
  end: number; // last layer (exclusive)
  session: Session;
  /** Whether `session` itself takes SegmentIO.rows (the last segment's does; see create). */
  takesRows: boolean;
  /** A graph of this segment that takes SegmentIO.rows: `session` when it does, else opened the first time a run asks for rows. */
  rowsSession?: Promise<Session>;
}

/** What a rows run feeds a segment: its rows graph's session and SegmentIO.rows, R rows per batch row. */
interface PickedRows {
  session: Session;
  index: Tensor;
  count: number;
}

export class CancelledError extends Error {
  constructor() {
    super('cancelled');
    this.name = 'CancelledError';
  }
}

/** Hidden states of the positions that reached a layer in one call. */
interface Reached {
  /** [B, count, H]. */
  hidden: Float32Array;
  /** Absolute index of the first of those positions. */
  start: number;
  count: number;
}

export interface RunOptions {
  signal?: AbortSignal | undefined;
  /**
   * Also return the hidden states after every layer passed in this call (layer 0 = the
   * embeddings), for the positions that went through it: layer → [B, n, H]. A list collects
   * only those layers (each copied out of the runtime costs time and memory).
   */
  collectLayers?: boolean | readonly number[];
  /** Told after each segment run: its layers, how many positions went through, and how long it took. */
  onSegment?: ((run: { first: number; end: number; positions: number; ms: number }) => void) | undefined;
  /**
   * Of the positions this call brings to `layer`, only these get their hidden state after it, so
   * that layer runs queries, attention and MLP for them alone: per row, indices among those
   * positions, or 'newest' (each row's newest position). The result's `hidden`, and the
   * collected entry for `layer`, are [B, R, H]: R is the longest list, shorter ones repeat their
   * last index (an empty one, index 0). Without `keep` no cache is kept on the way, so the state
   * is ended: it cannot be appended to, run or forked (the run that reads head-training features).
   */
  rows?: readonly (readonly number[])[] | 'newest' | undefined;
  /**
   * With `rows` at the last layer: keep the caches, so the state goes on. Only there, because no
   * deeper layer will ask for the positions that were not picked.
   */
  keep?: boolean | undefined;
}

/** What one segment run gives: its output (in device memory, or on the host), [B, count, H]. */
interface SegmentOutput {
  output: Tensor;
  start: number;
  count: number;
}

/** Work done so far, for compute accounting (reset by the caller as it likes). */
interface ComputeCounter {
  /** Σ over segment runs of rows × positions × layers: the decoder work. */
  layerPositions: number;
  /** Segment runs (each one a session call). */
  runs: number;
}

export class SegmentedModel {
  readonly compute: ComputeCounter = { layerPositions: 0, runs: 0 };
  /** Keys and values the segments left in device memory, counted by the states that hold them. */
  readonly deviceTensors = new DeviceTensors();
  /** Segment outputs copied from device memory to the host by an extra run (an early exit, a layer read), for tests and diagnostics. */
  hostCopies = 0;
  /** Runs and head calls under way: release() waits for them (see there). */
  private readonly inFlight = new Set<Promise<unknown>>();
  private released = false;

  private constructor(
    readonly config: ModelConfig,
    private readonly segments: Segment[],
    /** The model's own head: final norm + unembedding. */
    readonly ownHead: LanguageHead,
    private readonly tokenEmbeddings: TokenTable, // [V, H]
    private readonly positionEmbeddings: Float32Array | undefined, // [P, H]
    readonly provider: ExecutionProvider,
    private readonly openRowsSession: (first: number, end: number) => Promise<Session>,
    /** Copies an output left on the device to the host (deviceCache). */
    private readonly toHost: Session | undefined,
    /** SharedParts.key of this model's head and tables. */
    private readonly partsKey: string,
  ) {}

  static async create(checkpoint: Checkpoint, options: SegmentedModelOptions): Promise<SegmentedModel> {
    const { config, weights } = checkpoint;
    const bounds = segmentBounds(config.numLayers, options.cuts);
    const arch = architectureFor(config);
    const sessionOptions = { provider: options.provider, threads: options.threads, disableCpuFallback: options.strictDevice === true };
    const deviceCache = keepsOutputsOnDevice(options.provider) && options.deviceCache !== false;
    // Every output stays where its session computed it, except the last segment's own (only the
    // host reads it). A session with device outputs returns all its outputs each run (ort.ts), so
    // the other layers' states, seldom read, stay there too and are freed unread.
    const segmentOptions = (first: number, end: number): typeof sessionOptions & { outputsOnDevice?: string[] } =>
      deviceCache ? { ...sessionOptions, outputsOnDevice: deviceOutputs(first, end, config.numLayers) } : sessionOptions;
    const segments: Segment[] = [];
    const cache = options.cache ?? new GraphCache(undefined);
    // Everything opened so far is released if a later step fails (a GPU out of memory on a later
    // segment): the CPU fallback then loads the model again, and nothing else would free these.
    const opened: { release(): Promise<void> }[] = [];
    const open = async <T extends { release(): Promise<void> }>(making: Promise<T>): Promise<T> => {
      const made = await making;
      opened.push(made);
      return made;
    };
    const ops = options.fused ? 'fused' : 'plain';
    // Rows graphs of the other segments serve head training only, so they are built the first
    // time one is asked for.
    const openRowsSession = async (first: number, end: number): Promise<Session> => {
      const graph = cache.get(checkpoint.fingerprint, `segment ${first}-${end} ${ops} rows`, () => arch.buildSegment(config, weights, first, end, { fused: options.fused, rows: true }));
      return Session.create(graph, segmentOptions(first, end));
    };
    const precision = options.headPrecision ?? 'fp32';
    const recipe = precision === 'fp32' ? `own head ${ops}` : `own head ${ops} ${precision}`;
    const partsKey = JSON.stringify({ fingerprint: checkpoint.fingerprint, provider: options.provider, threads: options.threads, recipe, strict: options.strictDevice === true });
    const shared = options.shared?.key === partsKey ? options.shared : undefined;
    try {
      for (const [first, end] of bounds) {
        // The last segment's graph takes the rows its last layer computes: nothing is deeper, so a
        // run that reads only each row's newest position (a prompt, a label's last level) skips
        // the others' queries, attention and MLP there. A run reading every position names them all.
        const takesRows = end === config.numLayers;
        const session = takesRows
          ? await open(openRowsSession(first, end))
          : await open(Session.create(cache.get(checkpoint.fingerprint, `segment ${first}-${end} ${ops}`, () => arch.buildSegment(config, weights, first, end, { fused: options.fused })), segmentOptions(first, end)));
        segments.push({ first, end, session, takesRows, ...(takesRows ? { rowsSession: Promise.resolve(session) } : {}) });
      }
      // A shared head is one more share of it, released like an own one.
      const head = await open(
        shared
          ? Promise.resolve(shared.head.share())
          : LanguageHead.fromGraph(
              cache.get(checkpoint.fingerprint, recipe, () => ({ model: buildHeadGraph(arch.ownHead(config, weights), { fused: options.fused, precision }) })),
              config.hiddenSize,
              config.vocabSize,
              sessionOptions,
            ),
      );
      const { tokens, positions } = shared ?? arch.embeddings(config, weights);
      const toHost = deviceCache ? await open(Session.create(buildToHostGraph(config.hiddenSize), sessionOptions)) : undefined;
      // Generation stops where the folder's generation_config.json says, else config.json (the
      // checkpoint's reading of both), as transformers' generate() does: a chat model's config.json
      // often names only the document's end, its generation_config.json the turn's end as well.
      const modelConfig = { ...config, eosTokenIds: checkpoint.generation.eosTokenIds };
      return new SegmentedModel(modelConfig, segments, head, tokens, positions, options.provider, openRowsSession, toHost, partsKey);
    } catch (err) {
      await Promise.allSettled(opened.map((o) => o.release()));
      throw err;
    }
  }

  /** This model's head (one more share of it) and tables, for a model of the same checkpoint with other cuts (SegmentedModelOptions.shared). */
  shareParts(): SharedParts {
    if (this.released) throw new Error('this model was released; its parts cannot be shared');
    return { key: this.partsKey, head: this.ownHead.share(), tokens: this.tokenEmbeddings, positions: this.positionEmbeddings };
  }

  /** Whether caches and segment outputs stay in device memory (SegmentedModelOptions.deviceCache, where the provider can). */
  get deviceCache(): boolean {
    return this.toHost !== undefined;
  }

  /** Layers at which a position can stop: every cut and the last layer. */
  get exitLayers(): number[] {
    return this.segments.map((s) => s.end);
  }

  newState(batch = 1): DecodeState {
    const caches: SegmentCache[] = this.segments.map((s) => ({
      keys: this.emptyKv(batch, s),
      values: this.emptyKv(batch, s),
      cached: 0,
      pending: [],
      pendingCount: 0,
    }));
    return new DecodeState(batch, caches, this.deviceTensors);
  }

  /**
   * Appends tokens to every row. Rows may differ in length: shorter ones are left-padded
   * (masked out) so all rows stay aligned. Returns the number of positions added.
   */
  append(state: DecodeState, rows: readonly (readonly number[])[]): number {
    state.assertOpen();
    if (rows.length !== state.batch) throw new Error(`append: ${rows.length} rows for a batch of ${state.batch}`);
    const width = Math.max(...rows.map((r) => r.length));
    if (width === 0) throw new Error('append: no tokens to add');
    // Refused rather than truncated: silently dropping the start of a prompt changes its meaning.
    if (state.length + width > this.config.maxPositions) {
      throw new ContextOverflowError(state.length + width, this.config);
    }
    // Checked before the state grows: a refused append leaves it as it was.
    rows.forEach((r) => this.checkIds(r));
    const real = rows.map((r) => Array.from({ length: width }, (_, i) => i >= width - r.length));
    const start = state.length;
    state.extend(real);
    const H = this.config.hiddenSize;
    const hidden = new Float32Array(state.batch * width * H); // [B, width, H]
    rows.forEach((r, b) => {
      r.forEach((id, i) => {
        const at = (b * width + (width - r.length + i)) * H;
        this.embed(id, state.positions[b]![start + width - r.length + i]!, hidden, at);
      });
    });
    const first = state.segments[0]!;
    first.pending.push(hidden);
    first.pendingCount += width;
    return width;
  }

  /**
   * Appends a tree of tokens (batch 1): `parents[i]` is the index of the token that token i
   * continues, or -1 for the end of the sequence. After runTo, row i of the result is token i's
   * hidden state as if it alone continued its branch. Used to score many candidates at once.
   */
  appendTree(state: DecodeState, tokens: readonly number[], parents: readonly number[]): void {
    state.assertOpen();
    if (tokens.length !== parents.length || tokens.length === 0) throw new Error('appendTree: one parent per token, at least one token');
    this.checkIds(tokens);
    const start = state.length;
    state.extendTree(parents, this.config);
    const H = this.config.hiddenSize;
    const hidden = new Float32Array(tokens.length * H);
    tokens.forEach((id, i) => this.embed(id, state.positions[0]![start + i]!, hidden, i * H));
    const first = state.segments[0]!;
    first.pending.push(hidden);
    first.pendingCount += tokens.length;
  }

  /**
   * Brings every appended position through layer `layer` (an exit layer) and returns the hidden
   * states of the positions that reached it in this call. Pending positions at shallower
   * segments go through in one pass per segment. Checks `signal` between segments.
   */
  runTo(state: DecodeState, layer: number, options: RunOptions | AbortSignal = {}): Promise<Reached & { layers?: Map<number, Float32Array> }> {
    return this.track(() => this.runToNow(state, layer, options));
  }

  private async runToNow(state: DecodeState, layer: number, options: RunOptions | AbortSignal): Promise<Reached & { layers?: Map<number, Float32Array> }> {
    const { signal, collectLayers = false, onSegment, rows, keep = false } = options instanceof AbortSignal ? { signal: options } : options;
    state.assertOpen();
    const last = this.segments.findIndex((s) => s.end === layer);
    if (last < 0) throw new Error(`layer ${layer} is not an exit layer (exits: ${this.exitLayers.join(', ')})`);
    if (keep && (!rows || layer !== this.config.numLayers)) throw new Error(`runTo: keep goes with rows at the last layer (${this.config.numLayers}), not ${rows ? `at layer ${layer}` : 'without rows'}`);
    if (rows && rows !== 'newest' && rows.length !== state.batch) throw new Error(`runTo: ${rows.length} row lists for a batch of ${state.batch}`);
    const keepCache = !rows || keep;
    if (!keepCache) state.end(); // from here on its caches are not kept
    try {
      return await this.runSegmentsTo(state, last, { signal, collectLayers, onSegment, rows, keepCache });
    } finally {
      // An ended state's caches are read by this run only: free them now.
      if (!keepCache) state.release();
    }
  }

  /** runTo's work: every segment up to `last` with pending positions, in order. */
  private async runSegmentsTo(
    state: DecodeState,
    last: number,
    options: Pick<RunOptions, 'signal' | 'collectLayers' | 'onSegment' | 'rows'> & { keepCache: boolean },
  ): Promise<Reached & { layers?: Map<number, Float32Array> }> {
    const { signal, collectLayers = false, onSegment, rows, keepCache } = options;
    let reached: Reached = { hidden: new Float32Array(0), start: state.segments[last]!.cached + state.segments[last]!.pendingCount, count: 0 };
    const layers = collectLayers ? new Map<number, Float32Array>() : undefined;
    const wanted = (l: number): boolean => collectLayers === true || (Array.isArray(collectLayers) && collectLayers.includes(l));
    // A segment output handed to segment `to` in device memory: its only pending positions,
    // freed once that segment's run has read them.
    let carried: { output: Tensor; to: number } | undefined;
    try {
      for (let s = 0; s <= last; s++) {
        if (signal?.aborted) throw new CancelledError();
        const cache = state.segments[s]!;
        if (cache.pendingCount === 0) continue;
        if (layers && s === 0 && wanted(0)) layers.set(0, concatAlongSeq(cache.pending, state.batch, this.config.hiddenSize, cache.pendingCount));
        const started = performance.now();
        const picked = rows && s === last ? await this.pickedRows(s, rows, state.batch, cache.pendingCount) : undefined;
        const out = await this.runSegment(state, s, layers && { into: layers, wanted }, { picked, keepCache, input: carried?.output });
        if (carried) freeDeviceTensor(carried.output);
        carried = undefined;
        onSegment?.({ first: this.segments[s]!.first, end: this.segments[s]!.end, positions: out.count, ms: performance.now() - started });
        const end = this.segments[s]!.end;
        const next = state.segments[s + 1];
        // Straight on in device memory when the next segment runs now, on these positions alone,
        // and nothing reads them here; otherwise to the host, where positions wait and are read.
        if (next && s < last && next.pendingCount === 0 && isOnDevice(out.output) && !(layers && wanted(end))) {
          carried = { output: out.output, to: s + 1 };
          next.pendingCount = out.count;
          continue;
        }
        const hidden = await this.hostCopy(out.output);
        if (layers && wanted(end)) layers.set(end, hidden);
        if (next) {
          next.pending.push(hidden);
          next.pendingCount += out.count;
        }
        if (s === last) reached = { hidden, start: out.start, count: out.count };
      }
    } finally {
      // A run stopped between segments (cancelled, or failed) leaves its carried positions waiting
      // on the host, so the state goes on as if they had stopped there.
      if (carried) state.segments[carried.to]!.pending.push(await this.hostCopy(carried.output));
    }
    return layers ? { ...reached, layers } : reached;
  }

  /** A segment output's values on the host: itself, or a copy through `toHost` (then freed). */
  private async hostCopy(output: Tensor): Promise<Float32Array> {
    if (!isOnDevice(output)) return output.data as Float32Array;
    this.hostCopies++;
    try {
      return (await this.toHost!.run({ [TO_HOST_IO]: output }))[TO_HOST_IO_OUT]!.data as Float32Array;
    } finally {
      freeDeviceTensor(output);
    }
  }

  /**
   * Brings every appended position through `layer` and returns each row's newest position there,
   * [B, H] (undefined when none was pending). At the last layer only those positions run its
   * queries, attention and MLP, since nothing reads the others there; the state stays open.
   */
  async runToNewest(state: DecodeState, layer: number, signal?: AbortSignal): Promise<Float32Array | undefined> {
    const atLast = layer === this.config.numLayers;
    const reached = await this.runTo(state, layer, atLast ? { signal, rows: 'newest', keep: true } : { signal });
    if (reached.count === 0) return undefined;
    return atLast ? reached.hidden : newestPositions(reached.hidden, state.batch, reached.count, this.config.hiddenSize);
  }

  /** Logits [N, V] of hidden states [N, H] through the model's own head (final norm + unembedding). */
  logits(hidden: Float32Array): Promise<Float32Array> {
    return this.headCall(() => this.ownHead.logits(hidden));
  }

  /**
   * Runs a head on this model's hidden states as one of the model's calls: release() waits for it
   * (the head may be the model's own, which release() frees), and once released it fails with the
   * engine's message rather than onnxruntime's "Session already disposed.".
   */
  headCall<T>(work: () => Promise<T>): Promise<T> {
    return this.track(work);
  }

  /**
   * Releases every session. Runs under way finish first: the language server releases a model
   * when settings change, maybe in the middle of a request, and on WebGPU freeing the caches a
   * run is reading crashes the process (checked 2026-12-06). A run asked for afterwards fails
   * with a message instead.
   */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await Promise.allSettled([...this.inFlight]);
    // One still opening is waited for; one that failed to open has nothing to free.
    const opening = await Promise.allSettled(this.segments.flatMap((s) => (s.rowsSession && !s.takesRows ? [s.rowsSession] : [])));
    const rowsSessions = opening.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
    // Before the sessions go: a device tensor freed after its session crashes the process.
    this.deviceTensors.freeAll();
    await Promise.all([...this.segments.map((s) => s.session.release()), ...rowsSessions.map((r) => r.release()), this.ownHead.release(), this.toHost?.release()]);
  }

  /** Runs `work` unless the model was released, and lets release() wait for it. */
  private track<T>(work: () => Promise<T>): Promise<T> {
    if (this.released) return Promise.reject(new Error('this model was released (closed, or replaced after a settings change); load it again'));
    // Counted before `work` starts: a release it sets off at once (synchronously) waits for it too.
    let finished!: () => void;
    const call = new Promise<void>((resolve) => (finished = resolve));
    this.inFlight.add(call);
    void call.then(() => this.inFlight.delete(call));
    try {
      const running = work();
      running.then(finished, finished);
      return running;
    } catch (err) {
      finished();
      throw err;
    }
  }

  /** The rows session of segment s and its SegmentIO.rows feed: flat indices b·n + i, padded to the longest list. */
  private async pickedRows(s: number, picks: NonNullable<RunOptions['rows']>, batch: number, n: number): Promise<PickedRows> {
    const seg = this.segments[s]!;
    // A rows session that fails to open (out of device memory) is not kept: the next call tries
    // again, and release() has nothing of it to free.
    seg.rowsSession ??= this.openRowsSession(seg.first, seg.end).catch((err: unknown) => {
      seg.rowsSession = undefined;
      throw err;
    });
    const rows = picks === 'newest' ? Array.from({ length: batch }, () => [n - 1]) : picks;
    const R = Math.max(1, ...rows.map((r) => r.length));
    const index = new BigInt64Array(batch * R);
    rows.forEach((list, b) => {
      for (let r = 0; r < R; r++) {
        const i = list.length === 0 ? 0 : list[Math.min(r, list.length - 1)]!;
        if (!Number.isInteger(i) || i < 0 || i >= n) throw new Error(`runTo: row ${b} asks for position ${i} of the ${n} this run brings to the layer`);
        index[b * R + r] = BigInt(b * n + i);
      }
    });
    return { session: await seg.rowsSession, index: int64Tensor(index, [batch, R]), count: R };
  }

  /**
   * Runs segment s over all its pending positions: in its rows graph when `run.picked` is given
   * (its last layer computes only those rows), updating its cache unless `run.keepCache` is false.
   */
  private async runSegment(
    state: DecodeState,
    s: number,
    collect: { into: Map<number, Float32Array>; wanted: (layer: number) => boolean } | false | undefined,
    run: { picked: PickedRows | undefined; keepCache: boolean; input: Tensor | undefined },
  ): Promise<SegmentOutput> {
    const seg = this.segments[s]!;
    const { picked, keepCache, input } = run;
    const session = picked?.session ?? seg.session;
    const cache = state.segments[s]!;
    const { batch } = state;
    const n = cache.pendingCount;
    const H = this.config.hiddenSize;
    const start = cache.cached;
    const feeds: Record<string, Tensor> = {
      [SegmentIO.hidden]: input ?? float32Tensor(concatAlongSeq(cache.pending, batch, H, n), [batch, n, H]),
      [SegmentIO.attnBias]: float32Tensor(
        state.tree ? treeAttentionBias(state.maskUpTo(start + n)[0]!, start, n, state.tree) : attentionBias(state.maskUpTo(start + n), start, n),
        [batch, 1, n, start + n],
      ),
    };
    // A graph that takes rows and is asked for none computes them all.
    if (picked) feeds[SegmentIO.rows] = picked.index;
    else if (seg.takesRows) feeds[SegmentIO.rows] = int64Tensor(BigInt64Array.from({ length: batch * n }, (_, i) => BigInt(i)), [batch, n]);
    // Rotary graphs take either position ids (fused operator) or cos/sin tables (plain operators).
    if (session.inputNames.includes(SegmentIO.positionIds)) {
      const positions = state.positionSlice(start, n); // [B, S], row-major like the flat row indices
      feeds[SegmentIO.positionIds] = int64Tensor(BigInt64Array.from(positions, BigInt), [batch, n]);
      if (session.inputNames.includes(SegmentIO.rowPositionIds)) feeds[SegmentIO.rowPositionIds] = rowPositions(positions, feeds[SegmentIO.rows]!);
    } else if (session.inputNames.includes(SegmentIO.cos)) {
      const D = this.config.headDim;
      const { cos, sin } = rotaryTables(state.positionSlice(start, n), batch, this.config);
      feeds[SegmentIO.cos] = float32Tensor(cos, [batch, 1, n, D]);
      feeds[SegmentIO.sin] = float32Tensor(sin, [batch, 1, n, D]);
    }
    for (let l = seg.first; l < seg.end; l++) {
      feeds[SegmentIO.pastKey(l)] = cache.keys[l - seg.first]!;
      feeds[SegmentIO.pastValue(l)] = cache.values[l - seg.first]!;
    }
    const fetches: string[] = [SegmentIO.hiddenOut];
    // A run that keeps no cache does not copy its keys and values out of the runtime.
    for (let l = seg.first; keepCache && l < seg.end; l++) fetches.push(SegmentIO.presentKey(l), SegmentIO.presentValue(l));
    // Layer l's output is the hidden state after l + 1 layers.
    for (let l = seg.first; collect && l < seg.end - 1; l++) if (collect.wanted(l + 1)) fetches.push(SegmentIO.layerHidden(l));
    const out = await session.run(feeds, fetches);
    for (let l = seg.first; l < seg.end; l++) {
      if (keepCache) state.replaceKv(s, l - seg.first, out[SegmentIO.presentKey(l)]!, out[SegmentIO.presentValue(l)]!);
      // The segment's own output (layer seg.end) is collected by the caller, which brings it to the host.
      if (collect && l < seg.end - 1 && collect.wanted(l + 1)) collect.into.set(l + 1, await this.hostCopy(out[SegmentIO.layerHidden(l)]!));
    }
    // A rows graph's last layer runs only its picked rows.
    const R = picked?.count;
    this.compute.layerPositions += R === undefined ? batch * n * (seg.end - seg.first) : batch * (n * (seg.end - seg.first - 1) + R);
    this.compute.runs++;
    cache.cached += n;
    cache.pending = [];
    cache.pendingCount = 0;
    return { output: out[SegmentIO.hiddenOut]!, start, count: R ?? n };
  }

  private emptyKv(batch: number, s: Segment): Tensor[] {
    const { numKvHeads, headDim } = this.config;
    return Array.from({ length: s.end - s.first }, () => float32Tensor(new Float32Array(0), [batch, numKvHeads, 0, headDim]));
  }

  /** Writes the embedding of token `id` at `position` into out[at..at+H). */
  /** Refuses an id outside the vocabulary. */
  private checkIds(ids: readonly number[]): void {
    const V = this.config.vocabSize;
    for (const id of ids) if (!Number.isInteger(id) || id < 0 || id >= V) throw new Error(`token id ${id} is outside the vocabulary (0..${V - 1})`);
  }

  /** Writes token `id` (checked by checkIds) at `position` into out[at…]. */
  private embed(id: number, position: number, out: Float32Array, at: number): void {
    const { hiddenSize: H } = this.config;
    this.tokenEmbeddings.copyRow(id, out, at);
    if (this.positionEmbeddings) {
      const row = this.positionEmbeddings.subarray(position * H, (position + 1) * H);
      for (let i = 0; i < H; i++) out[at + i]! += row[i]!;
    }
  }
}

/** [first, end) layer ranges for the given cuts; validates them. */
export function segmentBounds(numLayers: number, cuts: readonly number[]): [number, number][] {
  const sorted = [...new Set(cuts)].sort((a, b) => a - b);
  for (const c of sorted) {
    if (!Number.isInteger(c) || c < 1 || c >= numLayers) throw new Error(`segment cut ${c} must be a layer in 1..${numLayers - 1}`);
  }
  const edges = [0, ...sorted, numLayers];
  return edges.slice(1).map((end, i) => [edges[i]!, end]);
}

const TO_HOST_IO = 'x';
const TO_HOST_IO_OUT = 'y';

/** Identity over [B, S, H]: its output comes back to the host (the engine never downloads a device tensor itself: runtime/ort.ts). */
function buildToHostGraph(H: number): Uint8Array {
  const g = new GraphBuilder('to_host');
  const x = g.input({ name: TO_HOST_IO, type: DType.float32, dims: ['batch', 'seq', H] });
  g.op('Identity', [x], {}, { outputs: [TO_HOST_IO_OUT] });
  g.output({ name: TO_HOST_IO_OUT, type: DType.float32, dims: ['batch', 'seq', H] });
  return g.build();
}

/** The outputs of the segment of layers first..end-1 to leave in device memory: all but the model's last layer's. */
function deviceOutputs(first: number, end: number, numLayers: number): string[] {
  const perLayer = Array.from({ length: end - first }, (_, i) => [SegmentIO.presentKey(first + i), SegmentIO.presentValue(first + i), ...(first + i < end - 1 ? [SegmentIO.layerHidden(first + i)] : [])]);
  return [...perLayer.flat(), ...(end < numLayers ? [SegmentIO.hiddenOut] : [])];
}

/** Concatenates chunks [B, n_i, H] along the sequence axis into [B, n, H]. */
function concatAlongSeq(chunks: Float32Array[], batch: number, H: number, n: number): Float32Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Float32Array(batch * n * H);
  let offset = 0;
  for (const chunk of chunks) {
    const len = chunk.length / (batch * H);
    for (let b = 0; b < batch; b++) out.set(chunk.subarray(b * len * H, (b + 1) * len * H), (b * n + offset) * H);
    offset += len;
  }
  return out;
}

/** Hidden states [B, H] of each row's newest position out of [B, count, H]. */
function newestPositions(hidden: Float32Array, batch: number, count: number, H: number): Float32Array {
  if (count === 1) return hidden;
  const out = new Float32Array(batch * H);
  for (let b = 0; b < batch; b++) out.set(hidden.subarray(((b + 1) * count - 1) * H, (b + 1) * count * H), b * H);
  return out;
}

/** The position ids [B, R] of the rows `rows` (flat indices b·S + i) picks out of `positions` [B, S]. */
function rowPositions(positions: Int32Array, rows: Tensor): Tensor {
  const index = rows.data as BigInt64Array;
  return int64Tensor(BigInt64Array.from(index, (i) => BigInt(positions[Number(i)]!)), rows.dims);
}
