// `npm run bench`: the engine benchmark on (a) the shipped default model (or a tiny random one
// when it is not there yet) and (b) a random checkpoint with Qwen2.5-0.5B's shapes, made under
// .cache/bench on first use. Prints figures and writes them to test-results/bench-engine.json.
// On Linux it runs with huge-page malloc, as the language server does (rerunWithHugePages).
// Options: USAGE below.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { BenchResult, runEngineBench } from '../../engine/src/bench/engineBench';
import { loadCheckpoint } from '../../engine/src/checkpoint/checkpoint';
import { COMMON_OPTIONS, integer, parse, providers, USAGE_EXIT_CODE, UsageError } from '../../engine/src/cli/args';
import { chooseDevice } from '../../engine/src/runtime/devices';
import { withHugePageMalloc } from '../../engine/src/runtime/hugePages';
import { makeShapedCheckpoint } from './lib/shapedCheckpoint';

const USAGE = 'usage: node out/tools/bench/engineBench.js [--device cpu|webgpu|cuda] [--threads N] [--only tiny|qwen] [--task-head-rows K] [--host-cache]';
const root = resolve(__dirname, '..', '..', '..');

async function main(): Promise<void> {
  // Of the shared options only these: it benches fixed checkpoints (no --model) and prints figures (no --json).
  const shared = { device: COMMON_OPTIONS.device, threads: COMMON_OPTIONS.threads, help: COMMON_OPTIONS.help };
  const { values, positionals } = parse(process.argv.slice(2), { only: { type: 'string' }, 'task-head-rows': { type: 'string' }, 'host-cache': { type: 'boolean' } }, shared);
  if (values['help'] === true) return void console.log(USAGE);
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${positionals[0]}`);
  const only = values['only'];
  if (only !== undefined && only !== 'tiny' && only !== 'qwen') throw new UsageError(`--only must be tiny or qwen, got ${String(only)}`);
  const order = providers(values);
  const threads = integer(values, 'threads', 0);
  const device = await chooseDevice(order, threads);
  for (const f of device.fallbacks) console.log(`bench: ${f.provider} skipped: ${f.reason.split('\n')[0]}`);
  const results: BenchResult[] = [];
  // Exits are measured through the model's own head and through a head of this many rows (the
  // shipped WordNet and thought heads rank 52–2,317 label tokens).
  const taskHeadRows = integer(values, 'task-head-rows', 1024, 1);
  // --host-cache copies every run's keys, values and segment output back to the host, as before
  // 2026-12-06: to compare with keeping them on the device (no difference on the CPU).
  const deviceCache = values['host-cache'] !== true;
  const common = { provider: device.provider, threads, fused: true, taskHeadRows, deviceCache, log: (l: string) => console.log(l) };

  if (only !== 'qwen') {
    const tiny = join(root, 'models', 'hdlm-tiny');
    const ckpt = existsSync(join(tiny, 'model.safetensors')) ? await loadCheckpoint(tiny) : undefined;
    if (ckpt) {
      const L = ckpt.config.numLayers;
      // The prompt, a 32-token thought and the answer's first token must fit the model's context.
      const promptTokens = Math.min(256, ckpt.config.maxPositions - 40);
      results.push(await runEngineBench('hdlm-tiny', ckpt, { ...common, cuts: [L / 4, L / 2].filter((k) => Number.isInteger(k) && k > 0), promptTokens, thoughtTokens: 32, decodeSteps: 20 }));
    } else {
      console.log('bench: models/hdlm-tiny has no weights yet; skipping the tiny model');
    }
  }
  if (only !== 'tiny') {
    const dir = join(root, '.cache', 'bench', 'qwen2.5-0.5b-shape');
    if (!existsSync(join(dir, 'model.safetensors'))) {
      console.log(`bench: writing a random checkpoint with Qwen2.5-0.5B's shapes to ${dir} (once, ~1 GB)`);
      makeShapedCheckpoint(dir);
    }
    const ckpt = await loadCheckpoint(dir, { cacheDir: mkdtempSync(join(tmpdir(), 'hdlm-bench-')) });
    results.push(await runEngineBench('qwen2.5-0.5b-shape', ckpt, { ...common, cuts: [6, 12, 18], promptTokens: 256, thoughtTokens: 32, decodeSteps: 8 }));
  }
  mkdirSync(join(root, 'test-results'), { recursive: true });
  const out = join(root, 'test-results', 'bench-engine.json');
  writeFileSync(out, `${JSON.stringify({ date: new Date().toISOString(), results }, null, 2)}\n`);
  console.log(`bench: figures written to ${out}`);
}

/**
 * Runs this benchmark again in a child started with huge-page malloc, as the language server runs
 * the engine (engine/src/runtime/hugePages.ts), when this process was started without the tunable:
 * the figures are then the editor's. Whether it did: a process given GLIBC_TUNABLES with the
 * tunable set either way (hugetlb=0 measures 4 KiB pages) runs as it is.
 */
function rerunWithHugePages(): boolean {
  const env = withHugePageMalloc(process.env);
  if (env === process.env) return false;
  const child = spawnSync(process.execPath, [...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit', env });
  process.exitCode = child.status ?? 1;
  return true;
}

if (!rerunWithHugePages()) main().catch((err: unknown) => {
  // A usage error is the user's to fix (its message says how), with hdlm's exit status for misuse;
  // anything else is ours, with a stack, and exits 1.
  if (err instanceof UsageError) {
    console.error(`bench: ${err.message}\n${USAGE}`);
    process.exitCode = USAGE_EXIT_CODE;
  } else {
    console.error(`bench: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
    process.exitCode = 1;
  }
});
