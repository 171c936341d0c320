// `hdlm info`: start the engine and print runtime, providers and the device it chose, and where
// the engine's cache is and how much it holds.
import { defaultCacheDir } from '../../cacheDir';
import { cacheBytes, formatBytes } from '../../diskBudget';
import { Engine } from '../../engine';
import { integer, providers, Values } from '../args';
import { printTable } from '../table';

export async function info(values: Values): Promise<void> {
  const engine = await Engine.create({ providers: providers(values), threads: integer(values, 'threads', 0) });
  const result = engine.info();
  const dir = defaultCacheDir();
  const cache = { dir, bytes: cacheBytes(dir) };
  if (values['json']) {
    console.log(JSON.stringify({ ...result, cache }, null, 2));
    return;
  }
  printTable([
    ['onnxruntime-node', result.runtimeVersion],
    ['backends', result.backends.map((b) => `${b.name}${b.bundled ? '' : ' (not bundled)'}`).join(', ')],
    ['device', result.device],
    ['probe', `${result.probeMs.toFixed(3)} ms`],
    ['threads', result.threads === 0 ? 'auto' : String(result.threads)],
    ['cache', `${cache.dir} (${formatBytes(cache.bytes)}: converted graphs, cached features, jobs)`],
    ...result.fallbacks.map((f): [string, string] => [`skipped ${f.provider}`, f.reason.split('\n')[0]!]),
  ]);
}
