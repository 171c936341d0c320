// Load and decode probes behind README's dated figures on model loads (graph cache, level moves,
// huge pages): each prints one line per run, so two builds can be compared side by side. The
// graphs go to the cache folder XDG_CACHE_HOME names (give each "first load" run a fresh one).
//
//   node out/tools/bench/loadProbes.js loads DIR [CUTS...]   loads with each set of cuts in turn (a set
//                                                            is "12" or "4,8"; default: the level moves below)
//   node out/tools/bench/loadProbes.js decode DIR           median decode step: all layers and the head,
//                                                            batch 1, 24 steps after a 16-token prompt
//   node out/tools/bench/loadProbes.js pool DIR [--alone]   a level moved through ModelPool: the head and
//                                                            tables taken over, or not
//   node out/tools/bench/loadProbes.js parts DIR            where a load goes (checkpoint, tokenizer,
//                                                            segments, head, embeddings), twice
//
// DIR is a model folder, e.g. the Qwen2.5-0.5B-shaped one makeShapedCheckpoint writes. A level
// moves as README's figures moved one at 24 layers: cut at half the depth, then one deeper, then
// at a third, then back (12, 13, 8, 12). Two CPU threads, as on the machines the figures were taken on.
import { buildHeadGraph } from '../../engine/src/arch/head';
import { architectureFor } from '../../engine/src/arch/registry';
import { loadCheckpoint } from '../../engine/src/checkpoint/checkpoint';
import { readModelConfig } from '../../engine/src/checkpoint/config';
import { cacheBytes } from '../../engine/src/diskBudget';
import { Engine } from '../../engine/src/index';
import { defaultGraphCacheDir, GraphCache } from '../../engine/src/model/graphCache';
import { LanguageHead } from '../../engine/src/model/languageHead';
import { ModelPool } from '../../engine/src/modelPool';
import { Session } from '../../engine/src/runtime/ort';
import { Tokenizer } from '../../engine/src/tokenizer';
import { join } from 'node:path';
import { errorMessage } from '../../engine/src/errorMessage';

const THREADS = 2;
const MIB = 2 ** 20;

function memory(): string {
  return `rss ${(process.memoryUsage().rss / MIB).toFixed(0)} MiB, peak ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`;
}

/** A level's moves for a model of `layers` layers: half the depth, one deeper, a third, half again. */
function levelMoves(layers: number): number[][] {
  const half = Math.floor(layers / 2);
  return [[half], [half + 1], [Math.floor(layers / 3)], [half]];
}

function parseCuts(args: readonly string[], fallback: number[][]): number[][] {
  if (args.length === 0) return fallback;
  return args.map((arg) => {
    const cuts = arg.split(',').map(Number);
    if (!cuts.every((c) => Number.isSafeInteger(c) && c > 0)) throw new Error(`cuts "${arg}": give layer numbers such as 12 or 4,8`);
    return cuts;
  });
}

/** Loads with each set of cuts in turn, reporting time, memory and the graph cache's size. */
async function loads(dir: string, cutSets: number[][]): Promise<void> {
  const engine = await Engine.create({ providers: ['cpu'], threads: THREADS });
  for (const cuts of cutSets) {
    const started = performance.now();
    const loaded = await engine.loadModel(dir, { cuts });
    const ms = performance.now() - started;
    console.log(`cuts ${cuts.join(',')}: ${ms.toFixed(0)} ms, ${memory()}, cache ${(cacheBytes(defaultGraphCacheDir()) / 2 ** 30).toFixed(2)} GiB`);
    await loaded.release();
  }
}

/** The median of 24 decode steps through every layer (two segments) and the model's own head. */
async function decode(dir: string, cuts: number[]): Promise<void> {
  const engine = await Engine.create({ providers: ['cpu'], threads: THREADS });
  const loaded = await engine.loadModel(dir, { cuts });
  const model = loaded.model;
  const L = model.config.numLayers;
  const state = model.newState();
  model.append(state, [Array.from({ length: 16 }, (_, i) => 100 + i)]);
  await model.logits((await model.runTo(state, L)).hidden);
  const times: number[] = [];
  for (let i = 0; i < 24; i++) {
    const started = performance.now();
    model.append(state, [[200 + i]]);
    await model.logits((await model.runTo(state, L)).hidden);
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  console.log(`decode step median ${times[12]!.toFixed(1)} ms, min ${times[0]!.toFixed(1)} ms, ${memory()}`);
  await loaded.release();
}

/** A level moved through the model pool, as the server moves one: with the parts taken over, or `alone`. */
async function pool(dir: string, alone: boolean, moves: number[][]): Promise<void> {
  const engine = await Engine.create({ providers: ['cpu'], threads: THREADS });
  const models = new ModelPool();
  const loader = models.on(engine);
  for (const cuts of moves) {
    if (alone) models.forget();
    const started = performance.now();
    const loaded = await loader.loadModel(dir, { cuts });
    console.log(`${alone ? 'alone' : 'shared'} cuts ${cuts.join(',')}: ${(performance.now() - started).toFixed(0)} ms, ${memory()}`);
    await loaded.release();
  }
  models.forget();
}

/** Each part of a load timed on its own: checkpoint, tokenizer, two segments, the head, the embeddings. */
async function parts(dir: string): Promise<void> {
  for (let round = 1; round <= 2; round++) {
    let lapStart = performance.now();
    const lap = (what: string): void => {
      const now = performance.now();
      console.log(`round ${round} ${what}: ${(now - lapStart).toFixed(0)} ms`);
      lapStart = now;
    };
    const checkpoint = await loadCheckpoint(dir);
    lap('checkpoint');
    if (checkpoint.tokenizerPath) await Tokenizer.load(checkpoint.tokenizerPath);
    lap('tokenizer');
    const { config, weights, fingerprint } = checkpoint;
    const arch = architectureFor(config);
    const cache = new GraphCache(defaultGraphCacheDir());
    const half = Math.floor(config.numLayers / 2);
    const sessions: Session[] = [];
    for (const [first, end, rows] of [[0, half, false], [half, config.numLayers, true]] as const) {
      const graph = cache.get(fingerprint, `segment ${first}-${end} fused${rows ? ' rows' : ''}`, () => arch.buildSegment(config, weights, first, end, { fused: true, rows }));
      sessions.push(await Session.create(graph, { provider: 'cpu', threads: THREADS }));
      lap(`segment ${first}-${end}`);
    }
    const headGraph = cache.get(fingerprint, 'own head fused', () => ({ model: buildHeadGraph(arch.ownHead(config, weights), { fused: true }) }));
    const head = await LanguageHead.fromGraph(headGraph, config.hiddenSize, config.vocabSize, { provider: 'cpu', threads: THREADS });
    lap('head');
    arch.embeddings(config, weights);
    lap('embeddings');
    for (const session of sessions) await session.release();
    await head.release();
  }
}

const USAGE = 'usage: loadProbes (loads DIR [CUTS...] | decode DIR | pool DIR [--alone] | parts DIR)';

async function main(args: string[]): Promise<void> {
  const [mode, dir, ...rest] = args;
  if (!dir || dir.startsWith('-')) throw new Error(USAGE);
  const moves = levelMoves(readModelConfig(join(dir, 'config.json')).numLayers);
  // A first load, the same cuts again (cached), then the moves.
  if (mode === 'loads') return loads(dir, parseCuts(rest, [moves[0]!, ...moves]));
  // Cut at half the depth, as the server's levels cut a model: two segments run per step.
  if (mode === 'decode') return decode(dir, moves[0]!);
  if (mode === 'pool') return pool(dir, rest.includes('--alone'), moves);
  if (mode === 'parts') return parts(dir);
  throw new Error(USAGE);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  console.error(errorMessage(err));
  process.exit(2);
});
