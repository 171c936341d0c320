// A language head as a session: hidden [N, H] → logits [N, V]. The model's own head (final norm
// + unembedding) is one; HdLM heads at intermediate layers are others of the same form.
import { buildHeadGraph, HeadIO, HeadWeights } from '../arch/head';
import type { OpOptions } from '../arch/ops';
import { ExecutionProvider, float32Tensor, Session } from '../runtime/ort';

export class LanguageHead {
  private constructor(
    private readonly session: Session,
    readonly hiddenSize: number,
    readonly vocabSize: number,
    /** The only tokens this head ranks (a head trained on label tokens); all when undefined. */
    readonly vocabSubset?: Int32Array,
  ) {}

  static create(weights: HeadWeights, options: OpOptions & { provider: ExecutionProvider; threads: number }): Promise<LanguageHead> {
    return LanguageHead.fromGraph(buildHeadGraph(weights, options), weights.hiddenSize, weights.vocabSize, options, weights.vocabSubset);
  }

  /** A head from an already built (or cached) head graph. */
  static async fromGraph(graph: Uint8Array, hiddenSize: number, vocabSize: number, options: { provider: ExecutionProvider; threads: number; disableCpuFallback?: boolean }, vocabSubset?: Int32Array): Promise<LanguageHead> {
    const session = await Session.create(graph, { provider: options.provider, threads: options.threads, disableCpuFallback: options.disableCpuFallback === true });
    return new LanguageHead(session, hiddenSize, vocabSize, vocabSubset);
  }

  /**
   * Logits [N, V] for hidden states [N, H]. A head with a vocabulary subset computes only its K
   * rows; every other token gets -Infinity, so sampling, ranking and softmax stay within the
   * subset without each caller masking.
   */
  async logits(hidden: Float32Array): Promise<Float32Array> {
    const n = hidden.length / this.hiddenSize;
    if (!Number.isInteger(n)) throw new Error(`head: ${hidden.length} values are not a whole number of rows of ${this.hiddenSize}`);
    if (n === 0) return new Float32Array(0);
    const out = await this.session.run({ [HeadIO.hidden]: float32Tensor(hidden, [n, this.hiddenSize]) });
    const logits = out[HeadIO.logits]!.data as Float32Array;
    return this.vocabSubset ? scatterRows(logits, this.vocabSubset, this.vocabSize) : logits;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

/** [N, K] logits of the subset's tokens → [N, V], -Infinity outside the subset. */
function scatterRows(compact: Float32Array, ids: Int32Array, V: number): Float32Array {
  const K = ids.length;
  const n = compact.length / K;
  const full = new Float32Array(n * V).fill(-Infinity);
  for (let r = 0; r < n; r++) for (let i = 0; i < K; i++) full[r * V + ids[i]!] = compact[r * K + i]!;
  return full;
}
