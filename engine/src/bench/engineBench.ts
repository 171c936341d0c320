// The engine benchmark: prefill and decode speed, time to first token, the cost of exiting at
// each exit layer, the bandwidth floor, and what continuing after an early-exit span costs
// against re-prefilling (what the official HdLM code does). Prints figures; asserts nothing.
import { hugePageMalloc } from '../runtime/hugePages';
import { INT8_BLOCK } from '../arch/head';
import { architectureFor } from '../arch/registry';
import type { Checkpoint } from '../checkpoint/types';
import { argmax } from '../generate/sampler';
import { LanguageHead } from '../model/languageHead';
import { SegmentedModel } from '../model/segmentedModel';
import type { ExecutionProvider } from '../runtime/ort';
import { measureBandwidth, probeMebibytes } from './bandwidth';

export interface BenchOptions {
  provider: ExecutionProvider;
  threads: number;
  /** Exit layers to measure (segment cuts); the last layer is always measured. */
  cuts: number[];
  promptTokens: number;
  thoughtTokens: number;
  decodeSteps: number;
  /** Rows of the task head that exits are also measured through (HdLM heads rank label tokens only). */
  taskHeadRows: number;
  fused: boolean;
  /** Keep keys, values and segment outputs in device memory where the provider can (SegmentedModelOptions.deviceCache). */
  deviceCache: boolean;
  log: (line: string) => void;
}

export interface BenchResult {
  model: string;
  provider: ExecutionProvider;
  /** Whether keys, values and segment outputs stayed in device memory. */
  deviceCache: boolean;
  params: { layers: number; head: number };
  bandwidthGBs: number;
  /** The size of the matrix the bandwidth was measured on (probeMebibytes). */
  bandwidthProbeMiB: number;
  prefillTokensPerS: number;
  ttftMs: number;
  decodeMsFull: number;
  decodeTokensPerS: number;
  floorMs: number;
  /** A full-depth step through an int8 copy of the own head (arch/head.ts HeadPrecision). */
  int8Head: { decodeMsFull: number; floorMs: number };
  /**
   * Each exit through the model's own head, through a task head of `taskHeadRows` rows, and
   * through the int8 own head (its ratio against the full-depth step through that same head).
   */
  exits: {
    layer: number;
    ms: number;
    ratio: number;
    target: number;
    floorMs: number;
    taskHead: { rows: number; ms: number; ratio: number; floorMs: number };
    int8Head: { ms: number; ratio: number; floorMs: number };
  }[];
  continuation: { catchUpMs: number; reprefillMs: number; ratio: number };
}

/** Median of a few timings: robust to one slow outlier (a GC, a page fault). */
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

function promptIds(n: number, vocab: number, salt: number): number[] {
  return Array.from({ length: n }, (_, i) => (i * 7919 + salt * 104729) % vocab);
}

/** Parameters in the decoder layers and in the head (norm + unembedding), for the floor. */
function paramCounts(c: Checkpoint['config']): { layers: number; head: number } {
  const { hiddenSize: H, numHeads: nH, numKvHeads: kvH, headDim: D, intermediateSize: I, vocabSize: V } = c;
  const attn = H * nH * D * 2 + H * kvH * D * 2;
  const mlp = c.family === 'gpt2' ? 2 * H * I : 3 * H * I;
  return { layers: c.numLayers * (attn + mlp + 2 * H), head: V * H + H };
}

export async function runEngineBench(name: string, checkpoint: Checkpoint, options: BenchOptions): Promise<BenchResult> {
  const { log } = options;
  const c = checkpoint.config;
  const L = c.numLayers;
  const params = paramCounts(c);
  const probeMiB = probeMebibytes(4 * (params.layers + params.head));
  const bandwidth = await measureBandwidth(options.provider, options.threads, probeMiB);
  log(`${name}: ${L} layers, ${(params.layers / 1e6).toFixed(1)} M layer + ${(params.head / 1e6).toFixed(1)} M head parameters (fp32); bandwidth ${(bandwidth / 1e9).toFixed(1)} GB/s (a ${probeMiB} MiB matrix)`);
  const loadStart = performance.now();
  const model = await SegmentedModel.create(checkpoint, { cuts: options.cuts, provider: options.provider, threads: options.threads, fused: options.fused, deviceCache: options.deviceCache });
  log(`${name}: sessions ready in ${((performance.now() - loadStart) / 1000).toFixed(1)} s`);
  try {
    // 1. Prefill and time to first token.
    const prompt = promptIds(options.promptTokens, c.vocabSize, 1);
    const prefillState = model.newState();
    model.append(prefillState, [prompt]);
    const t0 = performance.now();
    const newest = (await model.runToNewest(prefillState, L))!;
    const tPrefill = performance.now() - t0;
    argmax(await model.logits(newest));
    const ttft = performance.now() - t0;
    prefillState.release();

    // 2. Decode steps at every exit layer, head readout included: a step's cost as a user sees it.
    const stepMs = async (layer: number, head: LanguageHead = model.ownHead): Promise<number> => {
      const state = model.newState();
      model.append(state, [prompt.slice(0, 32)]);
      await model.runToNewest(state, layer);
      const times: number[] = [];
      for (let i = 0; i < options.decodeSteps; i++) {
        model.append(state, [[(i * 31) % c.vocabSize]]);
        const t = performance.now();
        argmax(await head.logits((await model.runToNewest(state, layer))!));
        times.push(performance.now() - t);
      }
      state.release();
      return median(times);
    };
    const full = await stepMs(L);
    const bytesPerToken = (p: number): number => 4 * p;
    const floorMs = (bytesPerToken(params.layers + params.head) / bandwidth) * 1000;
    // An int8 head reads 1 byte per weight plus a 4-byte scale per block of INT8_BLOCK.
    const int8HeadBytes = c.vocabSize * c.hiddenSize * (1 + 4 / INT8_BLOCK) + 4 * c.hiddenSize;
    const floorWith = (layer: number, headBytes: number): number => ((bytesPerToken((params.layers * layer) / L) + headBytes) / bandwidth) * 1000;
    const exits: BenchResult['exits'] = [];
    const taskHead = await subsetHead(checkpoint, options);
    const int8Head = await LanguageHead.create(architectureFor(c).ownHead(c, checkpoint.weights), { provider: options.provider, threads: options.threads, fused: options.fused, precision: 'int8' });
    let fullInt8: number;
    try {
      fullInt8 = await stepMs(L, int8Head);
      for (const layer of model.exitLayers.filter((l) => l < L)) {
        const ms = await stepMs(layer);
        const floorAt = (headParams: number): number => floorWith(layer, bytesPerToken(headParams));
        const taskMs = await stepMs(layer, taskHead);
        const rows = taskHead.vocabSubset!.length;
        const int8Ms = await stepMs(layer, int8Head);
        exits.push({
          layer,
          ms,
          ratio: ms / full,
          target: layer / L + 0.15,
          floorMs: floorAt(params.head),
          taskHead: { rows, ms: taskMs, ratio: taskMs / full, floorMs: floorAt(rows * c.hiddenSize + c.hiddenSize) },
          int8Head: { ms: int8Ms, ratio: int8Ms / fullInt8, floorMs: floorWith(layer, int8HeadBytes) },
        });
      }
    } finally {
      await Promise.all([taskHead.release(), int8Head.release()]);
    }

    // 3. Thought-then-answer: the thought runs to the first exit; the answer needs the last layer.
    const continuation = await continuationCost(model, c.vocabSize, options);
    const result: BenchResult = {
      model: name,
      provider: options.provider,
      deviceCache: model.deviceCache,
      params,
      bandwidthGBs: bandwidth / 1e9,
      bandwidthProbeMiB: probeMiB,
      prefillTokensPerS: options.promptTokens / (tPrefill / 1000),
      ttftMs: ttft,
      decodeMsFull: full,
      decodeTokensPerS: 1000 / full,
      floorMs,
      int8Head: { decodeMsFull: fullInt8, floorMs: floorWith(L, int8HeadBytes) },
      exits,
      continuation,
    };
    printResult(result, options);
    return result;
  } finally {
    await model.release();
  }
}

/**
 * A head of the model's own norm and `taskHeadRows` of its unembedding rows, spread over the
 * vocabulary: the shape of a trained HdLM head, whose vocabulary subset is its label tokens.
 */
function subsetHead(checkpoint: Checkpoint, options: BenchOptions): Promise<LanguageHead> {
  const { config, weights } = checkpoint;
  const K = Math.min(options.taskHeadRows, config.vocabSize);
  const vocabSubset = Int32Array.from({ length: K }, (_, i) => Math.floor((i * config.vocabSize) / K));
  const own = architectureFor(config).ownHead(config, weights);
  return LanguageHead.create({ ...own, vocabSubset }, { provider: options.provider, threads: options.threads, fused: options.fused });
}

/**
 * The prompt is prefilled at full depth, then a thought is generated at the first exit layer.
 * Ours: the first answer token needs the last layer, so the pending thought positions go through
 * the deeper segments once. Theirs (official HdLM code): re-tokenise and re-prefill prompt +
 * thought through every layer.
 */
/**
 * Positions the bench's longest state holds: the continuation's prompt + thought + one token, or
 * the decode steps after their 32-token (at most) prompt. More than the model's context cannot run.
 */
export function benchPositions(options: Pick<BenchOptions, 'promptTokens' | 'thoughtTokens' | 'decodeSteps'>): number {
  return Math.max(options.promptTokens + options.thoughtTokens + 1, Math.min(32, options.promptTokens) + options.decodeSteps);
}

async function continuationCost(model: SegmentedModel, vocab: number, options: BenchOptions): Promise<BenchResult['continuation']> {
  const L = model.config.numLayers;
  const exit = model.exitLayers[0]!;
  const prompt = promptIds(options.promptTokens, vocab, 2);
  const thought = promptIds(options.thoughtTokens, vocab, 3);
  const catchUps: number[] = [];
  const reprefills: number[] = [];
  for (let round = 0; round < 3; round++) {
    const state = model.newState();
    model.append(state, [prompt]);
    await model.runToNewest(state, L);
    for (const t of thought) {
      model.append(state, [[t]]);
      await model.runTo(state, exit);
    }
    model.append(state, [[1]]);
    let start = performance.now();
    argmax(await model.logits((await model.runToNewest(state, L))!));
    catchUps.push(performance.now() - start);

    const fresh = model.newState();
    model.append(fresh, [[...prompt, ...thought, 1]]);
    start = performance.now();
    argmax(await model.logits((await model.runToNewest(fresh, L))!));
    reprefills.push(performance.now() - start);
    state.release();
    fresh.release();
  }
  const catchUpMs = median(catchUps);
  const reprefillMs = median(reprefills);
  return { catchUpMs, reprefillMs, ratio: catchUpMs / reprefillMs };
}

function printResult(r: BenchResult, options: BenchOptions): void {
  const { log } = options;
  log(`${r.model} on ${r.provider} (${options.threads || 'auto'} threads, ${options.fused ? 'fused' : 'plain'} ops, caches and segment outputs kept ${r.deviceCache ? 'on the device' : 'on the host'}${hugePageMalloc() ? ', malloc on huge pages' : ''})`);
  log(`  prefill           ${r.prefillTokensPerS.toFixed(0)} tokens/s (${options.promptTokens}-token prompt)`);
  log(`  time to 1st token ${r.ttftMs.toFixed(1)} ms`);
  log(`  decode (batch 1)  ${r.decodeTokensPerS.toFixed(1)} tokens/s = ${r.decodeMsFull.toFixed(1)} ms/token; floor ${r.floorMs.toFixed(1)} ms (${(r.decodeMsFull / r.floorMs).toFixed(2)}× floor)`);
  for (const e of r.exits) {
    log(`  exit at layer ${String(e.layer).padStart(2)}  ${e.ms.toFixed(1)} ms/token = ${e.ratio.toFixed(2)} of full (target ≤ ${e.target.toFixed(2)}); floor ${e.floorMs.toFixed(1)} ms`);
    const t = e.taskHead;
    log(`    through a ${t.rows}-row task head  ${t.ms.toFixed(1)} ms/token = ${t.ratio.toFixed(2)} of full; floor ${t.floorMs.toFixed(1)} ms`);
    const q = e.int8Head;
    log(`    through the int8 own head  ${q.ms.toFixed(1)} ms/token = ${q.ratio.toFixed(2)} of a full step through it; floor ${q.floorMs.toFixed(1)} ms`);
  }
  log(`  full step through the int8 own head  ${r.int8Head.decodeMsFull.toFixed(1)} ms/token; floor ${r.int8Head.floorMs.toFixed(1)} ms`);
  const c = r.continuation;
  log(`  continue after a ${options.thoughtTokens}-token early-exit thought: catch-up ${c.catchUpMs.toFixed(1)} ms vs re-prefill ${c.reprefillMs.toFixed(1)} ms = ${c.ratio.toFixed(2)} (target < 0.5)`);
}
