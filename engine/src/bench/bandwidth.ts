// Measures the memory bandwidth onnxruntime actually gets on this machine: a vector-matrix
// product over a matrix far larger than the caches, with the same provider and threads as the
// model. The decode floor is then weight bytes per token / this bandwidth.
import { DType, GraphBuilder } from '../onnx/graph';
import { ExecutionProvider, float32Tensor, Session } from '../runtime/ort';

export async function measureBandwidth(provider: ExecutionProvider, threads: number, mebibytes = 512, repeats = 5): Promise<number> {
  // A vector times a matrix, the decode step's own access pattern: every weight read once per
  // token, the rows split over the threads. (A ReduceSum to one scalar, used before, runs on one
  // thread and read 29–35 GB/s where two-thread decode streams 37.)
  const cols = 4096;
  const rows = (mebibytes * 1048576) / 4 / cols;
  const g = new GraphBuilder('bandwidth');
  const x = g.input({ name: 'x', type: DType.float32, dims: [rows, cols] });
  const v = g.initializer('v', new Float32Array(rows).fill(1), [1, rows]);
  g.op('MatMul', [v, x], {}, { outputs: ['sum'] });
  g.output({ name: 'sum', type: DType.float32, dims: [1, cols] });
  const session = await Session.create(g.build(), { provider, threads });
  try {
    const data = new Float32Array(rows * cols).fill(1);
    const feed = { x: float32Tensor(data, [rows, cols]) };
    await session.run(feed); // Warm-up: page faults and thread-pool start-up.
    let best = Infinity;
    for (let i = 0; i < repeats; i++) {
      const start = performance.now();
      await session.run(feed);
      best = Math.min(best, performance.now() - start);
    }
    return data.byteLength / (best / 1000); // bytes per second
  } finally {
    await session.release();
  }
}
