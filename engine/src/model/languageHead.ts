// A language head as a session: hidden [N, H] → logits [N, V]. The model's own head (final norm
// + unembedding) is one; HdLM heads at intermediate layers are others of the same form.
import { buildHeadGraph, HeadIO, HeadWeights, type HeadPrecision } from '../arch/head';
import type { OpOptions } from '../arch/ops';
import { encodeModel } from '../onnx/graph';
import type { GraphSource } from './graphCache';
import { ExecutionProvider, float32Tensor, Session } from '../runtime/ort';

/**
 * Log-probabilities of N rows over the tokens a head ranks (its subset, or all V), kept compact:
 * [N, K] logits and one log-normaliser per row, so a scorer reading a few tokens per row never
 * builds V-long rows (152k for Qwen-sized vocabularies).
 */
interface LogProbs {
  readonly rows: number;
  /** log p(token | row), normalised over the ranked tokens; -Infinity for a token the head does not rank. */
  at(row: number, token: number): number;
}

export class LanguageHead {
  /** token id → column of the compact output (-1: not ranked); only for a subset head. */
  private readonly columnOf?: Int32Array;
  /** Who holds this head (share adds one): its session is freed when the last lets go. */
  private holders = 1;

  private constructor(
    private readonly session: Session,
    readonly hiddenSize: number,
    readonly vocabSize: number,
    /** The only tokens this head ranks (a head trained on label tokens); all when undefined. */
    readonly vocabSubset?: Int32Array,
  ) {
    if (vocabSubset) {
      this.columnOf = new Int32Array(vocabSize).fill(-1);
      vocabSubset.forEach((id, col) => (this.columnOf![id] = col));
    }
  }

  static create(weights: HeadWeights, options: OpOptions & { provider: ExecutionProvider; threads: number; precision?: HeadPrecision }): Promise<LanguageHead> {
    return LanguageHead.fromGraph(encodeModel(buildHeadGraph(weights, options)), weights.hiddenSize, weights.vocabSize, options, weights.vocabSubset);
  }

  /** A head from an already built (or cached) head graph. */
  static async fromGraph(graph: GraphSource, hiddenSize: number, vocabSize: number, options: { provider: ExecutionProvider; threads: number; disableCpuFallback?: boolean }, vocabSubset?: Int32Array): Promise<LanguageHead> {
    const session = await Session.create(graph, { provider: options.provider, threads: options.threads, disableCpuFallback: options.disableCpuFallback === true });
    return new LanguageHead(session, hiddenSize, vocabSize, vocabSubset);
  }

  /**
   * Logits [N, V] for hidden states [N, H]. A head with a vocabulary subset computes only its K
   * rows; every other token gets -Infinity, so sampling, ranking and softmax stay within the
   * subset without each caller masking.
   */
  async logits(hidden: Float32Array): Promise<Float32Array> {
    const logits = await this.compactLogits(hidden);
    return this.vocabSubset ? scatterRows(logits, this.vocabSubset, this.vocabSize) : logits;
  }

  /** Log-softmax of every row over the ranked tokens (see LogProbs), without widening to V. */
  async logProbs(hidden: Float32Array): Promise<LogProbs> {
    const logits = await this.compactLogits(hidden);
    const K = this.vocabSubset?.length ?? this.vocabSize;
    const rows = logits.length / K;
    const lse = new Float64Array(rows);
    for (let r = 0; r < rows; r++) lse[r] = logSumExp(logits, r * K, (r + 1) * K);
    const columnOf = this.columnOf;
    return {
      rows,
      at(row, token) {
        const col = columnOf ? columnOf[token] ?? -1 : token;
        if (row < 0 || row >= rows || col < 0 || col >= K) return -Infinity;
        return logits[row * K + col]! - lse[row]!;
      },
    };
  }

  /** The graph's output: [N, K] for a subset head, [N, V] otherwise. */
  private async compactLogits(hidden: Float32Array): Promise<Float32Array> {
    const n = hidden.length / this.hiddenSize;
    if (!Number.isInteger(n)) throw new Error(`head: ${hidden.length} values are not a whole number of rows of ${this.hiddenSize}`);
    if (n === 0) return new Float32Array(0);
    const out = await this.session.run({ [HeadIO.hidden]: float32Tensor(hidden, [n, this.hiddenSize]) });
    return out[HeadIO.logits]!.data as Float32Array;
  }

  /**
   * One more holder: a model of the same checkpoint cut at other layers takes over the model's own
   * head instead of opening it again (SegmentedModel.shareParts). Each holder releases once.
   */
  share(): this {
    if (this.holders === 0) throw new Error('this head was already released');
    this.holders++;
    return this;
  }

  /** Lets go of this holder's share; the last one frees the session. */
  async release(): Promise<void> {
    if (this.holders === 0) return;
    if (--this.holders === 0) await this.session.release();
  }
}

/** log Σ exp(values[from..to)), in float64 (a label score sums many of these). */
function logSumExp(values: Float32Array, from: number, to: number): number {
  let max = -Infinity;
  for (let i = from; i < to; i++) if (values[i]! > max) max = values[i]!;
  if (max === -Infinity) return -Infinity;
  let sum = 0;
  for (let i = from; i < to; i++) sum += Math.exp(values[i]! - max);
  return max + Math.log(sum);
}

/** [N, K] logits of the subset's tokens → [N, V], -Infinity outside the subset. */
function scatterRows(compact: Float32Array, ids: Int32Array, V: number): Float32Array {
  const K = ids.length;
  const n = compact.length / K;
  const full = new Float32Array(n * V).fill(-Infinity);
  for (let r = 0; r < n; r++) for (let i = 0; i < K; i++) full[r * V + ids[i]!] = compact[r * K + i]!;
  return full;
}
