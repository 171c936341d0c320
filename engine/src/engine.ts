// The engine's front door: what the language server and the CLI hold. It owns the choice of
// execution provider; models, heads and decoding are added behind this class.
import { LoadedModel, LoadModelOptions } from './loadedModel';
import { chooseDevice, DeviceChoice } from './runtime/devices';
import { ExecutionProvider, listBackends, runtimeVersion, BackendInfo } from './runtime/ort';

export interface EngineOptions {
  /** Providers to try, in order; the CPU is always the last resort. */
  providers: readonly ExecutionProvider[];
  /** Intra-op threads; 0 lets onnxruntime decide. */
  threads: number;
  /**
   * Where a model's load reports what does not stop it but the user should know (unused
   * tensors, a cache that cannot be written, the CPU running a model the device could not hold),
   * unless the load names its own (LoadModelOptions.onWarning); else they go with its notes.
   */
  onWarning?: (message: string) => void;
}

export interface EngineInfo {
  runtimeVersion: string;
  backends: BackendInfo[];
  device: ExecutionProvider;
  fallbacks: DeviceChoice['fallbacks'];
  probeMs: number;
  threads: number;
}

export class Engine {
  private constructor(
    private readonly options: EngineOptions,
    private readonly device: DeviceChoice,
  ) {}

  static async create(options: EngineOptions): Promise<Engine> {
    return new Engine(options, await chooseDevice(options.providers, options.threads));
  }

  /** Opens a Hugging Face model folder on the engine's device. */
  loadModel(dir: string, options: LoadModelOptions = {}): Promise<LoadedModel> {
    const onWarning = options.onWarning ?? this.options.onWarning;
    return LoadedModel.load(dir, this.device.provider, this.options.threads, onWarning ? { ...options, onWarning } : options);
  }

  info(): EngineInfo {
    return {
      runtimeVersion: runtimeVersion(),
      backends: listBackends(),
      device: this.device.provider,
      fallbacks: this.device.fallbacks,
      probeMs: this.device.probeMs,
      threads: this.options.threads,
    };
  }
}
