// What the GPU machine can tell us about the engine on WebGPU, in one run that never stops at the
// first failure (device time is scarce, so every answer counts): which providers start, whether
// an output can stay in device memory between runs (what KV caches between segments need),
// whether every graph of the shipped model runs wholly on the GPU (no node placed on the CPU),
// and how far its hidden states at every layer, logits and greedy tokens are from the CPU's.
//   node out/tools/gpu/webgpuCheck.js [--model models/hdlm-tiny] [--device webgpu] [--out report.json]
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { readModelConfig } from '../../engine/src/checkpoint/config';
import { generate } from '../../engine/src/generate/generator';
import { isExecutionProvider, LoadedModel } from '../../engine/src/index';
import { chooseDevice } from '../../engine/src/runtime/devices';
import { listBackends, type ExecutionProvider } from '../../engine/src/runtime/ort';
import { probeResidency } from '../../engine/src/runtime/probe';

const PROMPT = 'The kernel schedules every task on a processor, and the scheduler decides which one runs next when a task sleeps.';
const GREEDY_TOKENS = 32;

type Step = { ok: true; value: unknown; seconds: number } | { ok: false; error: string; seconds: number };

/** Runs one check; a failure is recorded with its message and the next check still runs. */
async function step(report: Record<string, Step>, name: string, body: () => Promise<unknown>): Promise<void> {
  const start = performance.now();
  try {
    const value = await body();
    report[name] = { ok: true, value, seconds: (performance.now() - start) / 1000 };
  } catch (err) {
    report[name] = { ok: false, error: err instanceof Error ? err.message.slice(0, 2000) : String(err), seconds: (performance.now() - start) / 1000 };
  }
  console.log(`${name}: ${JSON.stringify(report[name])}`);
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

interface Run {
  layers: Map<number, Float32Array>;
  logits: Float32Array;
  greedy: number[];
}

/** Hidden states after every layer, last-layer logits and greedy tokens of one prompt on one provider. */
async function runEverything(dir: string, provider: ExecutionProvider, cacheDir: string): Promise<Run> {
  const L = readModelConfig(join(dir, 'config.json')).numLayers;
  // Cut after every layer, so one run returns every layer's hidden state; generation runs all
  // segments in turn and gives the same tokens as an uncut model.
  const every = await LoadedModel.load(dir, provider, 0, { cacheDir, cuts: Array.from({ length: L - 1 }, (_, i) => i + 1) });
  try {
    if (every.deviceFallback) throw new Error(`${provider} fell back to the CPU: ${every.deviceFallback.reason}`);
    const ids = every.requireTokenizer().encode(PROMPT);
    const state = every.model.newState();
    every.model.append(state, [ids]);
    const { layers } = await every.model.runTo(state, L, { collectLayers: true });
    const logits = await every.model.ownHead.logits(layers!.get(L)!);
    const greedy = await generate(every.model, { prompts: [ids], config: { maxNewTokens: GREEDY_TOKENS, ignoreEos: true } });
    return { layers: layers!, logits, greedy: greedy.rows[0]!.tokens };
  } finally {
    await every.release();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { model: { type: 'string', default: 'models/hdlm-tiny' }, device: { type: 'string', default: 'webgpu' }, out: { type: 'string' } } });
  const device = values.device;
  if (!isExecutionProvider(device)) throw new Error(`--device ${device}: use webgpu, cuda or cpu`);
  const dir = values.model;
  const cacheDir = mkdtempSync(join(tmpdir(), 'hdlm-gpucheck-'));
  const report: Record<string, Step> = {};
  const save = (): void => {
    if (values.out) writeFileSync(values.out, JSON.stringify({ date: new Date().toISOString(), model: dir, device, report }, null, 1) + '\n');
  };
  await step(report, 'backends', () => Promise.resolve(listBackends()));
  await step(report, 'chooseDevice', () => chooseDevice([device], 0));
  for (const fused of [true, false]) {
    await step(report, `strict ${fused ? 'fused' : 'plain'} graphs`, async () => {
      const loaded = await LoadedModel.load(dir, device, 0, { cacheDir, cuts: [2, 4, 6], fused, strictDevice: true });
      await loaded.release();
      return 'every node of every segment and of the head runs on the device';
    });
  }
  await step(report, `${device} vs cpu`, async () => {
    const cpu = await runEverything(dir, 'cpu', cacheDir);
    const gpu = await runEverything(dir, device, cacheDir);
    const perLayer = [...cpu.layers.keys()].sort((a, b) => a - b).map((k) => maxDiff(cpu.layers.get(k)!, gpu.layers.get(k)!));
    return {
      hiddenMaxDiffPerLayer: perLayer,
      logitsMaxDiff: maxDiff(cpu.logits, gpu.logits),
      greedyIdentical: cpu.greedy.every((t, i) => t === gpu.greedy[i]) && cpu.greedy.length === gpu.greedy.length,
      greedyTokens: GREEDY_TOKENS,
    };
  });
  save();
  // Last, and after the report is on disk: until 2026-12-06 this probe downloaded a device tensor
  // with getData(), which aborts the process natively (onnxruntime-node 1.30 on Mesa's software
  // Vulkan). It no longer does (runtime/probe.ts), but a native abort is not something to lose a
  // report to.
  await step(report, 'residency', () => probeResidency(device, 0));
  save();
  rmSync(cacheDir, { recursive: true, force: true });
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack : err);
  process.exit(1);
});
