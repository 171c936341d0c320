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
    /** Rows that scoring normalises over (a head trained on label tokens); all when undefined. */
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

  /** Logits [N, V] for hidden states [N, H]. */
  async logits(hidden: Float32Array): Promise<Float32Array> {
    const n = hidden.length / this.hiddenSize;
    if (!Number.isInteger(n)) throw new Error(`head: ${hidden.length} values are not a whole number of rows of ${this.hiddenSize}`);
    if (n === 0) return new Float32Array(0);
    const out = await this.session.run({ [HeadIO.hidden]: float32Tensor(hidden, [n, this.hiddenSize]) });
    return out[HeadIO.logits]!.data as Float32Array;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
