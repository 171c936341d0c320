// Everything a batch of sequences has accumulated: the token mask, positions, each segment's KV
// cache, and the hidden states that stopped early and wait to enter a deeper segment.
import type { ModelConfig } from '../checkpoint/types';
import type { Tensor } from '../runtime/ort';
import type { DeviceTensors } from './deviceTensors';
import { ContextOverflowError } from './contextOverflow';

export interface SegmentCache {
  /** Per layer of the segment: [B, kvH, cached, D]. */
  keys: Tensor[];
  values: Tensor[];
  /** Positions whose keys/values this segment holds. */
  cached: number;
  /** Hidden states waiting to enter this segment, oldest first: chunks of [B, n, H]. */
  pending: Float32Array[];
  /** Positions in `pending` (sum of the chunks' n). */
  pendingCount: number;
}

/** What a state holds in device memory, and the model's count of it. */
interface Holdings {
  segments: readonly SegmentCache[];
  owner: DeviceTensors;
}

function letGoAll({ segments, owner }: Holdings): void {
  for (const cache of segments) {
    for (const tensor of [...cache.keys, ...cache.values]) owner.letGo(tensor);
    cache.keys = [];
    cache.values = [];
  }
}

/** A state dropped without release() lets go of its device tensors when it is collected. */
const collected = new FinalizationRegistry<Holdings>(letGoAll);

export class DecodeState {
  /** Per row, 1 for a real token and 0 for padding, over every position so far. */
  readonly mask: Uint8Array[];
  /** Per row, the position id of every position so far (padding gets 0). */
  readonly positions: Int32Array[];
  /** Positions appended so far (the same for every row). */
  length = 0;
  /**
   * Tree-shaped positions (batch 1 only): for each position from `tree.start` on, the index of
   * the position it continues (its parent), or -1 when it continues the sequence before the
   * tree. A tree position sees the sequence before the tree and its own ancestors, not its
   * siblings: many candidate continuations go through the layers in one pass.
   */
  tree: { start: number; parents: number[] } | undefined;
  /** Set by a run that keeps no cache (SegmentedModel.runTo with rows): nothing more can be done with it. */
  private ended = false;
  /** Set by release(): the caches are gone. */
  private released = false;

  constructor(
    readonly batch: number,
    readonly segments: SegmentCache[],
    /** The model's count of device tensors, which this state's caches hold a share of. */
    private readonly deviceTensors: DeviceTensors,
    private capacity = 64,
  ) {
    this.mask = Array.from({ length: batch }, () => new Uint8Array(capacity));
    this.positions = Array.from({ length: batch }, () => new Int32Array(capacity));
    collected.register(this, { segments, owner: deviceTensors }, this);
  }

  /**
   * An independent copy that shares the immutable parts: cached key/value tensors are never
   * written in place (each run returns new ones), so forking costs a few array copies. Used to
   * try several continuations of one prefix (label candidates, beams).
   */
  fork(): DecodeState {
    this.assertOpen();
    const segments = this.segments.map((c) => ({ ...c, keys: [...c.keys], values: [...c.values], pending: [...c.pending] }));
    for (const c of segments) for (const tensor of [...c.keys, ...c.values]) this.deviceTensors.hold(tensor);
    const copy = new DecodeState(this.batch, segments, this.deviceTensors, this.capacity);
    this.mask.forEach((row, b) => copy.mask[b]!.set(row));
    this.positions.forEach((row, b) => copy.positions[b]!.set(row));
    copy.length = this.length;
    copy.tree = this.tree ? { start: this.tree.start, parents: [...this.tree.parents] } : undefined;
    return copy;
  }

  /** Marks the state as ended: its caches are no longer kept. */
  end(): void {
    this.ended = true;
  }

  /**
   * Frees this state's share of its caches now rather than when it is collected: what a caller
   * that is done with a state does, so device memory does not wait for the garbage collector.
   * The state cannot be used afterwards; forks of it are not affected. Safe to call twice.
   */
  release(): void {
    if (this.released) return;
    this.released = true;
    collected.unregister(this);
    letGoAll({ segments: this.segments, owner: this.deviceTensors });
  }

  /**
   * Replaces layer `layer`'s keys and values (index within segment `segment`) with a run's
   * present ones; the old ones are freed unless a fork still holds them.
   */
  replaceKv(segment: number, layer: number, keys: Tensor, values: Tensor): void {
    const cache = this.segments[segment]!;
    this.deviceTensors.hold(keys);
    this.deviceTensors.hold(values);
    this.deviceTensors.letGo(cache.keys[layer]!);
    this.deviceTensors.letGo(cache.values[layer]!);
    cache.keys[layer] = keys;
    cache.values[layer] = values;
  }

  assertOpen(): void {
    if (this.ended) throw new Error('this state was ended by a run with rows (its caches were not kept); fork it before that run to go on');
    if (this.released) throw new Error('this state was released; fork it before releasing to go on');
  }

  /** Records new positions for every row; `real[b][i]` says whether row b's i-th new token is real. */
  extend(real: readonly (readonly boolean[])[]): void {
    if (this.tree) throw new Error('cannot append after tree positions; fork the state before the tree');
    const added = real[0]!.length;
    this.grow(this.length + added);
    real.forEach((flags, b) => {
      let next = this.length === 0 ? 0 : this.nextPosition(b);
      flags.forEach((isReal, i) => {
        this.mask[b]![this.length + i] = isReal ? 1 : 0;
        this.positions[b]![this.length + i] = isReal ? next++ : 0;
      });
    });
    this.length += added;
  }

  /**
   * Records tree positions (batch 1): `parents[i]` is the index in this call's tokens that token
   * i continues, or -1 for the end of the sequence. Position ids follow depth, not order.
   */
  extendTree(parents: readonly number[], context: Pick<ModelConfig, 'maxPositions' | 'maxPositionsFrom'>): void {
    if (this.batch !== 1) throw new Error('tree positions need a batch of 1');
    if (this.tree) throw new Error('a state holds one tree; fork the state before the tree to try another');
    const base = this.nextPosition(0);
    // Tree positions share position ids by depth, so only the deepest one must fit the context;
    // checked before anything changes, so a refused tree leaves the state as it was.
    const depth: number[] = [];
    parents.forEach((p, i) => (depth[i] = p < 0 || p >= i ? 0 : depth[p]! + 1));
    const deepest = base + Math.max(...depth);
    if (deepest >= context.maxPositions) throw new ContextOverflowError(deepest + 1, context);
    const start = this.length;
    this.grow(start + parents.length);
    parents.forEach((parent, i) => {
      if (parent >= i || parent < -1) throw new Error(`tree token ${i} must continue an earlier token or the sequence (got ${parent})`);
      this.mask[0]![start + i] = 1;
      this.positions[0]![start + i] = parent < 0 ? base : this.positions[0]![start + parent]! + 1;
    });
    this.tree = { start, parents: parents.map((p) => (p < 0 ? -1 : start + p)) };
    this.length += parents.length;
  }

  /** Mask rows truncated to the first `total` positions. */
  maskUpTo(total: number): Uint8Array[] {
    return this.mask.map((row) => row.subarray(0, total));
  }

  /** Position ids [B, count] of the positions start..start+count-1. */
  positionSlice(start: number, count: number): Int32Array {
    const out = new Int32Array(this.batch * count);
    this.positions.forEach((row, b) => out.set(row.subarray(start, start + count), b * count));
    return out;
  }

  private nextPosition(b: number): number {
    let last = -1;
    for (let i = 0; i < this.length; i++) if (this.mask[b]![i] === 1) last = this.positions[b]![i]!;
    return last + 1;
  }

  private grow(needed: number): void {
    if (needed <= this.capacity) return;
    while (this.capacity < needed) this.capacity *= 2;
    for (let b = 0; b < this.batch; b++) {
      const mask = new Uint8Array(this.capacity);
      mask.set(this.mask[b]!);
      this.mask[b] = mask;
      const positions = new Int32Array(this.capacity);
      positions.set(this.positions[b]!);
      this.positions[b] = positions;
    }
  }
}
