// The one module that imports onnxruntime-node. Everything else in the engine talks to the
// runtime through these functions, so the binding's quirks (missing providers, the shape of its
// errors, how feeds are checked) are handled in one place.
import * as ort from 'onnxruntime-node';

export type Tensor = ort.Tensor;
export type ExecutionProvider = 'cpu' | 'webgpu' | 'cuda';

export interface BackendInfo {
  name: string;
  /** True when the provider's binaries ship inside the npm package (cpu, webgpu on Linux x64). */
  bundled: boolean;
}

export interface SessionOptions {
  provider: ExecutionProvider;
  /** Intra-op threads; 0 lets onnxruntime decide. */
  threads: number;
  /** When true, a node that would land on the CPU makes session creation fail (proves a graph runs wholly on the device). */
  disableCpuFallback?: boolean;
  /**
   * Outputs to leave in device memory ('gpu-buffer') instead of copying them back, so the next
   * session call can take them as inputs. Only the webgpu provider honours it; the native
   * binding of onnxruntime-node parses the option although its typings call it web-only.
   */
  outputsOnDevice?: readonly string[];
}

/**
 * Whether onnxruntime's intra-op (CPU) threads may spin while waiting for work (its default). Off
 * here, for every provider (a device session keeps a pool for its CPU nodes too):
 * the engine keeps one session per segment and per head, each with its own thread pool, and on a
 * small CPU the spinning pools of idle sessions take the cores from the one that runs. Measured
 * 2026-12-01 on the 2-core machine (`hdlm bench --task …wordnet… --inputs 40`, four runs each,
 * interleaved): classification p90 47.7–61.5 ms spinning vs 22.3–30.9 ms not, median 24.9–35.9
 * vs 20.1–26.1; with `--threads 2`, median 96.5 vs 25.1 ms; Qwen2.5-0.5B-shaped decode 53.6 vs
 * 103.3 ms/token. The cost: the 8-layer default model decodes at 1.5 instead of 1.1 ms/token (its
 * ops are too small for the wake-up to pay). HDLM_ORT_SPINNING=1 restores onnxruntime's default
 * (for comparing).
 */
function threadsMaySpin(): boolean {
  return process.env['HDLM_ORT_SPINNING'] === '1';
}

/** A loaded ONNX graph with its declared input and output names. */
export class Session {
  private constructor(
    private readonly inner: ort.InferenceSession,
    readonly provider: ExecutionProvider,
  ) {}

  static async create(model: Uint8Array, options: SessionOptions): Promise<Session> {
    const sessionOptions: ort.InferenceSession.SessionOptions = {
      executionProviders: [options.provider],
      graphOptimizationLevel: 'all',
    };
    if (options.threads > 0) sessionOptions.intraOpNumThreads = options.threads;
    const config: Record<string, unknown> = {};
    // On the CPU provider every node is on the device already, and onnxruntime would refuse them all.
    if (options.disableCpuFallback && options.provider !== 'cpu') config['disable_cpu_ep_fallback'] = '1';
    if (!threadsMaySpin()) config['intra_op'] = { allow_spinning: '0' };
    if (Object.keys(config).length > 0) sessionOptions.extra = { session: config };
    if (options.outputsOnDevice && options.outputsOnDevice.length > 0) {
      sessionOptions.preferredOutputLocation = Object.fromEntries(options.outputsOnDevice.map((name) => [name, 'gpu-buffer' as const]));
    }
    return new Session(await ort.InferenceSession.create(model, sessionOptions), options.provider);
  }

  get inputNames(): readonly string[] {
    return this.inner.inputNames;
  }

  get outputNames(): readonly string[] {
    return this.inner.outputNames;
  }

  /**
   * Runs the graph; feeds are checked against the graph's inputs first so a mismatch names the
   * culprit. `fetches` limits which outputs are copied back (all by default).
   */
  async run(feeds: Record<string, Tensor>, fetches?: readonly string[]): Promise<Record<string, Tensor>> {
    const missing = this.inputNames.filter((name) => !(name in feeds));
    const extra = Object.keys(feeds).filter((name) => !this.inputNames.includes(name));
    if (missing.length > 0 || extra.length > 0) {
      const given = Object.entries(feeds).map(([k, t]) => `${k}[${t.dims.join(',')}]`).join(', ');
      throw new Error(
        `session inputs do not match: missing [${missing.join(', ')}], unexpected [${extra.join(', ')}]; given ${given}`,
      );
    }
    if (fetches) {
      const unknown = fetches.filter((name) => !this.outputNames.includes(name));
      if (unknown.length > 0) throw new Error(`session has no outputs [${unknown.join(', ')}]`);
      return this.inner.run(feeds, [...fetches]);
    }
    return this.inner.run(feeds);
  }

  async release(): Promise<void> {
    await this.inner.release();
  }
}

export function float32Tensor(data: Float32Array, dims: readonly number[]): Tensor {
  return new ort.Tensor('float32', data, dims);
}

export function int64Tensor(data: BigInt64Array, dims: readonly number[]): Tensor {
  return new ort.Tensor('int64', data, dims);
}

export function runtimeVersion(): string {
  return ort.env.versions.node ?? ort.env.versions.common;
}

export function listBackends(): BackendInfo[] {
  return ort.listSupportedBackends().map((b) => ({ name: b.name, bundled: b.bundled }));
}
