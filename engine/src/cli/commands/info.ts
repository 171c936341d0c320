// `hdlm info`: start the engine and print runtime, providers and the device it chose, and where
// the engine's cache is and how much it holds, and (on Linux) whether malloc uses huge pages.
// With --model, also that model's shape, loaded as every command loads it (the same errors).
import { loadCheckpoint } from '../../checkpoint/checkpoint';
import { FORMAT_DTYPE_BYTES } from '../../checkpoint/safetensors';
import type { Checkpoint } from '../../checkpoint/types';
import { defaultCacheDir } from '../../cacheDir';
import { cacheBytes, formatBytes } from '../../diskBudget';
import { Engine } from '../../engine';
import { hugePageMalloc } from '../../runtime/hugePages';
import { modelDir, providers, threadsOption, Values } from '../args';
import { printTable } from '../table';

export async function info(values: Values): Promise<void> {
  const engine = await Engine.create({ providers: providers(values), threads: threadsOption(values) });
  const result = engine.info();
  const dir = defaultCacheDir();
  const cache = { dir, bytes: cacheBytes(dir) };
  // Checked and read as generate would read it: an argument given is used, never ignored.
  const model = values['model'] !== undefined ? describeModel(await loadCheckpoint(modelDir(values), { onWarning: (m) => console.error(`hdlm: warning: ${m}`) })) : undefined;
  if (values['json']) {
    console.log(JSON.stringify({ ...result, cache, ...(model ? { model } : {}), ...(process.platform === 'linux' ? { hugePageMalloc: hugePageMalloc() } : {}) }, null, 2));
    return;
  }
  printTable([
    ['onnxruntime-node', result.runtimeVersion],
    ['backends', result.backends.map((b) => `${b.name}${b.bundled ? '' : ' (not bundled)'}`).join(', ')],
    ['device', result.device],
    ['probe', `${result.probeMs.toFixed(3)} ms`],
    ['threads', result.threads === 0 ? 'auto' : String(result.threads)],
    ['cache', `${cache.dir} (${formatBytes(cache.bytes)}: converted graphs, cached features, jobs)`],
    // Only on Linux, where the tunable means something (runtime/hugePages.ts): a terminal's hdlm is started without it.
    ...(process.platform === 'linux' ? [['malloc', hugePageMalloc() ? 'huge pages (GLIBC_TUNABLES)' : '4 KiB pages (set GLIBC_TUNABLES=glibc.malloc.hugetlb=1 to load and run models faster)']] as [string, string][] : []),
    ...result.fallbacks.map((f): [string, string] => [`skipped ${f.provider}`, f.reason.split('\n')[0]!]),
    ...(model
      ? ([
          ['model', model.dir],
          ['architecture', `${model.architecture}, ${model.layers} layers, width ${model.width}`],
          ['context', `${model.context} tokens`],
          ['vocabulary', `${model.vocab} tokens`],
          ['weights', `${Object.entries(model.dtypes).map(([d, n]) => `${d} ${n} tensors`).join(', ')}; ${(model.parameters / 1e6).toFixed(2)} M parameters, ${formatBytes(model.bytes)}`],
        ] as [string, string][])
      : []),
  ]);
}

/** What `info --model` says of a model: its shape from config.json, and its weights as stored. */
interface ModelDescription {
  dir: string;
  architecture: string;
  layers: number;
  width: number;
  context: number;
  vocab: number;
  /** Tensors per stored dtype. */
  dtypes: Record<string, number>;
  parameters: number;
  bytes: number;
}

function describeModel(checkpoint: Checkpoint): ModelDescription {
  const { config, weights } = checkpoint;
  const dtypes: Record<string, number> = {};
  let parameters = 0;
  let bytes = 0;
  for (const name of weights.names()) {
    const dtype = weights.dtype(name)!;
    const count = weights.shape(name)!.reduce((a, b) => a * b, 1);
    dtypes[dtype] = (dtypes[dtype] ?? 0) + 1;
    parameters += count;
    bytes += count * FORMAT_DTYPE_BYTES[dtype]!;
  }
  return { dir: checkpoint.dir, architecture: config.modelType, layers: config.numLayers, width: config.hiddenSize, context: config.maxPositions, vocab: config.vocabSize, dtypes, parameters, bytes };
}
