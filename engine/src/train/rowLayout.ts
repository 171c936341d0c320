// Where a trainer keeps vocabulary-indexed tensors (W, A, b and their moments): all V rows, or,
// when the label subset is fixed for the whole run, only its K rows. Compacting once in
// JavaScript turns the subset head into an ordinary K-row head, so a step moves K rows instead
// of V through the session (measured about 5× faster at V=4096, K=128; see headTrainBench.ts).
// Rows outside the subset are never updated in either layout (sparse Adam semantics), so the
// two give the same result and a saved state always has the full V rows.

export class RowLayout {
  private constructor(
    /** [K] vocabulary rows kept, or undefined when all V rows are. */
    private readonly rows: Int32Array | undefined,
    readonly vocabSize: number,
  ) {}

  static full(vocabSize: number): RowLayout {
    return new RowLayout(undefined, vocabSize);
  }

  static compact(rows: ArrayLike<number>, vocabSize: number): RowLayout {
    return new RowLayout(Int32Array.from(rows), vocabSize);
  }

  get compacted(): boolean {
    return this.rows !== undefined;
  }

  /** Rows the graph sees: K when compacted, else V. */
  get size(): number {
    return this.rows?.length ?? this.vocabSize;
  }

  /** The kept rows of a [V, width] tensor, as [K, width] (a copy either way). */
  gather(full: Float32Array, width: number): Float32Array {
    if (!this.rows) return full.slice();
    const out = new Float32Array(this.rows.length * width);
    this.rows.forEach((row, i) => out.set(full.subarray(row * width, (row + 1) * width), i * width));
    return out;
  }

  /** [K, width] rows written over a copy of the [V, width] backdrop (the values of all other rows). */
  scatter(kept: Float32Array, backdrop: Float32Array, width: number): Float32Array {
    if (!this.rows) return kept.slice();
    const out = backdrop.slice();
    this.rows.forEach((row, i) => out.set(kept.subarray(i * width, (i + 1) * width), row * width));
    return out;
  }
}
