// Measures the memory bandwidth onnxruntime actually gets on this machine: a ReduceSum over a
// buffer far larger than the caches, with the same provider and threads as the model. The
// decode floor is then weight bytes per token / this bandwidth.
import { DType, GraphBuilder } from '../onnx/graph';
import { ExecutionProvider, float32Tensor, Session } from '../runtime/ort';

export async function measureBandwidth(provider: ExecutionProvider, threads: number, mebibytes = 512, repeats = 5): Promise<number> {
  const g = new GraphBuilder('bandwidth');
  const x = g.input({ name: 'x', type: DType.float32, dims: ['n'] });
  g.op('ReduceSum', [x], { keepdims: 0 }, { outputs: ['sum'] });
  g.output({ name: 'sum', type: DType.float32, dims: [] });
  const session = await Session.create(g.build(), { provider, threads });
  try {
    const data = new Float32Array((mebibytes * 1048576) / 4).fill(1);
    const feed = { x: float32Tensor(data, [data.length]) };
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
