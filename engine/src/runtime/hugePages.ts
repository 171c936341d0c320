// Huge pages for onnxruntime's allocations on Linux. Creating a session packs every weight matrix
// into fresh memory, and every step reads all of them: with 4 KiB pages each first touch of that
// memory faults, and each read walks the page tables. glibc (2.35 and later) backs malloc's large
// blocks with transparent huge pages when GLIBC_TUNABLES holds glibc.malloc.hugetlb=1, and reads
// it only when a process starts. So the processes that run the engine are started with it: the
// language server (client/src/serverConnection.ts) and its jobs (server/src/jobs.ts). Measured on
// the Qwen2.5-0.5B-shaped checkpoint, 2-core CPU VM (THP "madvise"), 2026-12-07 12:47–12:53:
// `engineBench --only qwen` sessions ready in 7.2 / 10.3 s against 25.3 / 31.9 s, prefill 252 /
// 254 against 221 / 197 tokens/s, decode 91.2 / 89.3 against 94.1 / 110.5 ms/token. Elsewhere
// (macOS, Windows, musl, an older glibc) the variable means nothing and nothing changes.

const TUNABLE = 'glibc.malloc.hugetlb';

/** The value GLIBC_TUNABLES gives glibc.malloc.hugetlb in `env`, if it gives one. */
function hugetlbSetting(env: NodeJS.ProcessEnv): string | undefined {
  const prefix = `${TUNABLE}=`;
  return (env['GLIBC_TUNABLES'] ?? '').split(':').find((t) => t.startsWith(prefix))?.slice(prefix.length);
}

/**
 * `env` with glibc.malloc.hugetlb=1 added to GLIBC_TUNABLES, on Linux, unless that tunable is
 * set already: a user who sets it (to 0, say) keeps their choice. Adding nothing, it returns
 * `env` itself.
 */
export function withHugePageMalloc(env: NodeJS.ProcessEnv, platform: NodeJS.Platform = process.platform): NodeJS.ProcessEnv {
  if (platform !== 'linux' || hugetlbSetting(env) !== undefined) return env;
  const tunables = env['GLIBC_TUNABLES'];
  return { ...env, GLIBC_TUNABLES: tunables ? `${tunables}:${TUNABLE}=1` : `${TUNABLE}=1` };
}

/** Whether a process with `env` asks glibc for huge pages (1: transparent, 2: reserved ones), for the log. */
export function hugePageMalloc(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): boolean {
  const setting = hugetlbSetting(env);
  return platform === 'linux' && (setting === '1' || setting === '2');
}
