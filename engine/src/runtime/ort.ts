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
    /** Outputs this session leaves in device memory (SessionOptions.outputsOnDevice). */
    private readonly deviceOutputs: ReadonlySet<string>,
  ) {}

  /** `model`: the graph's bytes, or the path of a graph file (its external weights beside it, GraphCache). */
  static async create(model: Uint8Array | string, options: SessionOptions): Promise<Session> {
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
    const deviceOutputs = new Set(options.outputsOnDevice ?? []);
    if (deviceOutputs.size > 0) {
      sessionOptions.preferredOutputLocation = Object.fromEntries([...deviceOutputs].map((name) => [name, 'gpu-buffer' as const]));
    }
    // Two calls, one per overload of create (a path, or bytes): TypeScript takes no union here.
    const inner = typeof model === 'string' ? await ort.InferenceSession.create(model, sessionOptions) : await ort.InferenceSession.create(model, sessionOptions);
    const unknown = [...deviceOutputs].filter((name) => !inner.outputNames.includes(name));
    if (unknown.length > 0) {
      await inner.release();
      throw new Error(`outputsOnDevice names outputs the graph does not have: ${unknown.join(', ')}`);
    }
    return new Session(inner, options.provider, deviceOutputs);
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
      if (this.deviceOutputs.size === 0) return this.inner.run(feeds, [...fetches]);
      return this.runFetchingAll(feeds, fetches);
    }
    return this.inner.run(feeds);
  }

  /**
   * onnxruntime-node 1.30 applies preferred output locations by position in the list of fetched
   * outputs, not by name: asked for a subset, it puts outputs in the wrong memory or fails with
   * "Output count mismatch" (checked 2026-12-06 on WebGPU). So a session with device outputs
   * fetches them all; the device ones not asked for are freed at once, the host ones dropped.
   */
  private async runFetchingAll(feeds: Record<string, Tensor>, fetches: readonly string[]): Promise<Record<string, Tensor>> {
    const all = await this.inner.run(feeds);
    const wanted = new Set(fetches);
    const out: Record<string, Tensor> = {};
    for (const [name, tensor] of Object.entries(all)) {
      if (wanted.has(name)) out[name] = tensor;
      else if (isOnDevice(tensor)) freeDeviceTensor(tensor);
    }
    return out;
  }

  async release(): Promise<void> {
    await this.inner.release();
  }
}

/**
 * Whether a provider can leave session outputs in its own memory for the next run to take as
 * inputs. onnxruntime-node does so for WebGPU ('gpu-buffer'); its CUDA provider is not known to
 * here (no GPU was ever lent to check it), so CUDA outputs come back to the host as before.
 */
export function keepsOutputsOnDevice(provider: ExecutionProvider): boolean {
  return provider === 'webgpu';
}

/** Whether a tensor lives in device memory (an output kept there by `outputsOnDevice`). */
export function isOnDevice(tensor: Tensor): boolean {
  return tensor.location === 'gpu-buffer';
}

/**
 * Frees a tensor kept in device memory. onnxruntime frees such outputs only when told: garbage
 * collection does not (measured 2026-12-06 on WebGPU over Mesa's lavapipe: 1,200 runs with a
 * 4 MiB output kept on the device grew the process by 4.7 GiB, with dispose() by 14 MiB). Its
 * download path (`getData()`) aborts the process in onnxruntime-node 1.30 on that adapter, so the
 * engine never reads such a tensor on the host: it only feeds it to the next run.
 */
export function freeDeviceTensor(tensor: Tensor): void {
  tensor.dispose();
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
