// The seeded generator of head training: minibatch order and low-rank initialisation. Its whole
// state is one 32-bit number, so a training run can be saved and resumed with the same sequence.

/** Mulberry32: small, fast, and good enough to shuffle examples and draw initial weights. */
export class TrainRandom {
  constructor(private state: number) {
    this.state = state >>> 0;
  }

  /** The state to save; `new TrainRandom(saved)` continues the same sequence. */
  get position(): number {
    return this.state;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform in [-bound, bound). */
  uniform(bound: number): number {
    return (2 * this.next() - 1) * bound;
  }

  /** 0, 1, …, n−1 in a random order (Fisher–Yates). */
  permutation(n: number): Int32Array {
    const order = new Int32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      const tmp = order[i]!;
      order[i] = order[j]!;
      order[j] = tmp;
    }
    return order;
  }
}
