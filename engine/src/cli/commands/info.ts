// `hdlm info`: start the engine and print runtime, providers and the device it chose, and where
// the engine's cache is and how much it holds, and (on Linux) whether malloc uses huge pages.
import { defaultCacheDir } from '../../cacheDir';
import { cacheBytes, formatBytes } from '../../diskBudget';
import { Engine } from '../../engine';
import { hugePageMalloc } from '../../runtime/hugePages';
import { providers, threadsOption, Values } from '../args';
import { printTable } from '../table';

export async function info(values: Values): Promise<void> {
  const engine = await Engine.create({ providers: providers(values), threads: threadsOption(values) });
  const result = engine.info();
  const dir = defaultCacheDir();
  const cache = { dir, bytes: cacheBytes(dir) };
  if (values['json']) {
    console.log(JSON.stringify({ ...result, cache, ...(process.platform === 'linux' ? { hugePageMalloc: hugePageMalloc() } : {}) }, null, 2));
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
  ]);
}
