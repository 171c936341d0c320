// Measures the memory bandwidth onnxruntime actually gets on this machine: a vector-matrix
// product over a matrix far larger than the caches, with the same provider and threads as the
// model. The decode floor is then weight bytes per token / this bandwidth.
import { DType, GraphBuilder } from '../onnx/graph';
import { ExecutionProvider, float32Tensor, Session } from '../runtime/ort';

/** The probe: the weight-like matrix as an initializer [rows, cols], the vector v [1, rows] its only input. */
export function bandwidthGraph(mebibytes: number): { graph: GraphBuilder; rows: number; cols: number } {
  // A vector times a matrix, the decode step's own access pattern: every weight read once per
  // token, the rows split over the threads. (A ReduceSum to one scalar, used before, runs on one
  // thread and read 29–35 GB/s where two-thread decode streams 37.)
  // The matrix is an initializer, as the model's weights are: it is loaded once and stays where
  // the provider keeps weights (device memory on WebGPU or CUDA), and only the small vector is
  // fed per run. Fed as an input, the matrix was copied from host memory on every run, which on
  // a GPU measures the host-to-device link instead of the memory the weights are read from.
  const cols = 4096;
  const rows = (mebibytes * 1048576) / 4 / cols;
  const graph = new GraphBuilder('bandwidth');
  const v = graph.input({ name: 'v', type: DType.float32, dims: [1, rows] });
  const w = graph.initializer('w', new Float32Array(rows * cols).fill(1), [rows, cols]);
  graph.op('MatMul', [v, w], {}, { outputs: ['sum'] });
  graph.output({ name: 'sum', type: DType.float32, dims: [1, cols] });
  return { graph, rows, cols };
}

/** The probe's largest matrix, and its smallest: both far beyond any cache. */
const MAX_PROBE_MIB = 512;
const MIN_PROBE_MIB = 64;

/**
 * The probe's size for a model of `weightBytes` (fp32): twice its weights, at least 64 MiB and at
 * most 512 MiB, in whole MiB. A model's decode reads its weights from memory only when they are
 * beyond the caches, and a probe twice their size stays there too; a tiny model's bench does not
 * build (and hold twice, while the session is made) a 512 MiB matrix it has no use for. A 0.5B
 * model's 2 GB of weights get the 512 MiB the benchmark always used, so its floors stay comparable.
 */
export function probeMebibytes(weightBytes: number): number {
  return Math.min(MAX_PROBE_MIB, Math.max(MIN_PROBE_MIB, Math.ceil((2 * weightBytes) / 1048576)));
}

/** Bytes per second read from the weight matrix: the best of `repeats` runs after a warm-up. */
export async function measureBandwidth(provider: ExecutionProvider, threads: number, mebibytes = MAX_PROBE_MIB, repeats = 5): Promise<number> {
  const { graph, rows, cols } = bandwidthGraph(mebibytes);
  const session = await Session.create(graph.build(), { provider, threads });
  try {
    const feed = { v: float32Tensor(new Float32Array(rows).fill(1), [1, rows]) };
    await session.run(feed); // Warm-up: page faults, thread-pool start-up, the weight's upload.
    let best = Infinity;
    for (let i = 0; i < repeats; i++) {
      const start = performance.now();
      await session.run(feed);
      best = Math.min(best, performance.now() - start);
    }
    return (rows * cols * 4) / (best / 1000);
  } finally {
    await session.release();
  }
}
