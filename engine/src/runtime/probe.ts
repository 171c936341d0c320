// A tiny graph (y = x·W + b, then Softmax) that proves a provider can build and run a session and
// computes what plain JavaScript computes. Used to choose a device and as the engine's self-test.
import { DType, GraphBuilder } from '../onnx/graph';
import { ExecutionProvider, float32Tensor, freeDeviceTensor, isOnDevice, keepsOutputsOnDevice, Session } from './ort';

const N = 4; // rows of x
const K = 8; // inner dimension
const M = 3; // columns of W

function probeWeights(): { w: Float32Array; b: Float32Array; x: Float32Array } {
  const w = Float32Array.from({ length: K * M }, (_, i) => ((i * 7) % 11) / 11 - 0.5); // [K, M]
  const b = Float32Array.from({ length: M }, (_, i) => i / 10); // [M]
  const x = Float32Array.from({ length: N * K }, (_, i) => ((i * 5) % 13) / 13 - 0.5); // [N, K]
  return { w, b, x };
}

export function buildProbeGraph(): Uint8Array {
  const { w, b } = probeWeights();
  const g = new GraphBuilder('probe');
  const x = g.input({ name: 'x', type: DType.float32, dims: ['n', K] });
  const xw = g.op('MatMul', [x, g.initializer('w', w, [K, M])])[0]!;
  const y = g.op('Add', [xw, g.initializer('b', b, [M])])[0]!;
  g.op('Softmax', [y], { axis: -1 }, { outputs: ['probs'] });
  g.output({ name: 'probs', type: DType.float32, dims: ['n', M] });
  return g.build();
}

/** The same computation in plain JavaScript. */
export function probeReference(): Float32Array {
  const { w, b, x } = probeWeights();
  const out = new Float32Array(N * M);
  for (let r = 0; r < N; r++) {
    const logits = Array.from({ length: M }, (_, c) => {
      let s = b[c]!;
      for (let k = 0; k < K; k++) s += x[r * K + k]! * w[k * M + c]!;
      return s;
    });
    const max = Math.max(...logits);
    const exps = logits.map((v) => Math.exp(v - max));
    const total = exps.reduce((a, v) => a + v, 0);
    exps.forEach((v, c) => (out[r * M + c] = v / total));
  }
  return out;
}

/** Runs the probe and checks it against JavaScript; returns the run's wall time in ms. */
export async function runProbe(session: Session): Promise<number> {
  const { x } = probeWeights();
  const start = performance.now();
  const result = await session.run({ x: float32Tensor(x, [N, K]) });
  const ms = performance.now() - start;
  const probs = result['probs']!.data as Float32Array;
  const expected = probeReference();
  const worst = probs.reduce((m, v, i) => Math.max(m, Math.abs(v - expected[i]!)), 0);
  if (!(worst <= 1e-5)) {
    throw new Error(`probe graph on ${session.provider} differs from JavaScript by ${worst}`);
  }
  return ms;
}

export interface ResidencyProbe {
  /** Where the first run's output stayed ('gpu-buffer' when the provider kept it on the device). */
  location: string;
  /** Largest difference of x + 2, computed by two chained runs, from JavaScript's. */
  maxError: number;
}

/**
 * Whether a provider can keep a session's output in device memory and take it back as the next
 * run's input (what the KV caches between runs need): runs y = x + 1 keeping y on the device,
 * feeds that y to a second session of the same graph, whose output comes back to the host.
 * The engine never downloads a device tensor itself (runtime/ort.ts freeDeviceTensor), and
 * neither does the probe.
 */
export async function probeResidency(provider: ExecutionProvider, threads: number): Promise<ResidencyProbe> {
  const g = new GraphBuilder('residency');
  const x = g.input({ name: 'x', type: DType.float32, dims: ['n', K] });
  g.op('Add', [x, g.initializer('one', Float32Array.of(1), [1])], {}, { outputs: ['y'] });
  g.output({ name: 'y', type: DType.float32, dims: ['n', K] });
  const graph = g.build();
  const onDevice = keepsOutputsOnDevice(provider) ? ['y'] : [];
  const [resident, host] = await Promise.all([Session.create(graph, { provider, threads, outputsOnDevice: onDevice }), Session.create(graph, { provider, threads })]);
  try {
    const { x: values } = probeWeights();
    const first = (await resident.run({ x: float32Tensor(values, [N, K]) }))['y']!;
    const location = first.location;
    try {
      const result = (await host.run({ x: first }))['y']!.data as Float32Array;
      const maxError = result.reduce((m, v, i) => Math.max(m, Math.abs(v - (values[i]! + 2))), 0);
      return { location, maxError };
    } finally {
      // Freed before its session is released (runtime/ort.ts).
      if (isOnDevice(first)) freeDeviceTensor(first);
    }
  } finally {
    await Promise.all([resident.release(), host.release()]);
  }
}
