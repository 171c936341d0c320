// Linear probe of a frozen backbone (issue 4, "Quality check"): logistic regression on the
// mean-pooled hidden states of every layer, for the WordNet level-1 labels, against bag-of-words
// (and TF-IDF) + logistic regression trained on the same examples.
//   node out/tools/probe/linearProbe.js [--model models/hdlm-tiny] [--data out/data/wordnet]
//        [--train-size 8000] [--dev-size 0] [--test-size 0] [--seed 1] [--batch 32] [--threads 2]
//        [--max-tokens 128] [--cache out/probe/cache] [--out tools/probe/results/probe.json]
//        [--grid ...] [--text-grid ...] [--max-iterations 500] [--patience 2] [--no-full-bow]
//        [--layers all | e.g. middle,last,0] [--frame-task models/hdlm-tiny/tasks/wordnet.hdlm.json]
// Sizes of 0 mean the whole split. Hidden states are cached per model fingerprint and texts.
// --frame-task puts each gloss where that task's prompt puts it (system turn, then the user turn)
// instead of after BOS alone, and still pools over the gloss's own tokens.
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Engine, type LoadedModel } from '../../engine/src/index';
import { readTaskFile } from '../../engine/src/hdlm/taskFile';
import { sequenceFormat, turn } from '../../engine/src/hdlm/sequenceFormat';
import type { ExtractOptions } from './lib/hiddenStates';
import { encodeLabels, labelIndex, readSplit, SPLITS, subsample, type LabelledTexts, type SplitName } from './lib/datasets';
import { cachedPooled } from './lib/hiddenStates';
import { applyStandardizer, denseMatrix, fitStandardizer } from './lib/matrix';
import { majorityAccuracy } from './lib/metrics';
import { formatTable, parseCount, parseGrid, pct, runRecord, writeJson } from './lib/report';
import { scoreBaseline, TEXT_L2_GRID, textFeatures, type BaselineScore, type TextFeatureKind, type TextSplits } from './lib/textBaseline';
import { tuneAndTest, type GridPoint } from './lib/tune';

interface Settings {
  model: string;
  data: string;
  sizes: Record<SplitName, number>;
  seed: number;
  batch: number;
  threads: number;
  maxTokens: number;
  cache: string;
  out: string | undefined;
  grid: number[];
  textGrid: number[];
  maxIterations: number;
  patience: number;
  fullBow: boolean;
  /** Layers to probe ('all', or numbers and the words middle/last, comma-separated). */
  layers: string;
  /** A task file whose prompt frames each text (its system turn and the user turn's opening). */
  frameTask: string | undefined;
}

interface LayerRow {
  layer: number;
  l2: number;
  devAccuracy: number;
  testAccuracy: number;
  testMacroF1: number;
  grid: GridPoint[];
  seconds: number;
}

function settings(): Settings {
  const { values } = parseArgs({
    options: {
      model: { type: 'string', default: 'models/hdlm-tiny' },
      data: { type: 'string', default: 'out/data/wordnet' },
      'train-size': { type: 'string' },
      'dev-size': { type: 'string' },
      'test-size': { type: 'string' },
      seed: { type: 'string' },
      batch: { type: 'string' },
      threads: { type: 'string' },
      'max-tokens': { type: 'string' },
      cache: { type: 'string', default: 'out/probe/cache' },
      out: { type: 'string' },
      grid: { type: 'string', default: '1e-1,3e-2,1e-2,3e-3,1e-3,3e-4,1e-4,3e-5,1e-5,3e-6,1e-6' },
      'text-grid': { type: 'string', default: TEXT_L2_GRID },
      'max-iterations': { type: 'string' },
      patience: { type: 'string' },
      layers: { type: 'string', default: 'all' },
      'no-full-bow': { type: 'boolean', default: false },
      'frame-task': { type: 'string' },
    },
  });
  return {
    model: values.model,
    data: values.data,
    sizes: {
      train: parseCount(values['train-size'], '--train-size', 8000),
      dev: parseCount(values['dev-size'], '--dev-size', 0),
      test: parseCount(values['test-size'], '--test-size', 0),
    },
    seed: parseCount(values.seed, '--seed', 1),
    batch: Math.max(1, parseCount(values.batch, '--batch', 32)),
    threads: parseCount(values.threads, '--threads', 2),
    maxTokens: Math.max(2, parseCount(values['max-tokens'], '--max-tokens', 128)),
    cache: values.cache,
    out: values.out,
    grid: parseGrid(values.grid, '--grid'),
    textGrid: parseGrid(values['text-grid'], '--text-grid'),
    maxIterations: parseCount(values['max-iterations'], '--max-iterations', 500),
    patience: Math.max(1, parseCount(values.patience, '--patience', 2)),
    fullBow: !values['no-full-bow'],
    layers: values.layers,
    frameTask: values['frame-task'],
  };
}

/** Layer indices (0..numLayers) named by --layers. */
function chooseLayers(spec: string, numLayers: number): number[] {
  if (spec === 'all') return Array.from({ length: numLayers + 1 }, (_, k) => k);
  const picked = spec.split(',').map((word) => {
    const k = word === 'middle' ? Math.floor(numLayers / 2) : word === 'last' ? numLayers : Number(word);
    if (!Number.isInteger(k) || k < 0 || k > numLayers) throw new Error(`--layers: ${JSON.stringify(word)} is not all, middle, last or a layer in 0..${numLayers}`);
    return k;
  });
  return [...new Set(picked)].sort((a, b) => a - b);
}

/** The split's items at the chosen positions (a size of 0 keeps them all). */
function take(data: LabelledTexts, size: number, seed: number): LabelledTexts {
  const pick = subsample(data.ids.length, size === 0 ? data.ids.length : size, seed);
  return { ids: pick.map((i) => data.ids[i]!), texts: pick.map((i) => data.texts[i]!), labels: data.labels.map((level) => pick.map((i) => level[i]!)) };
}

function progressLine(split: string): (done: number, total: number) => void {
  const started = performance.now();
  let shown = 0;
  return (done, total) => {
    const now = performance.now();
    if (done < total && now - shown < 10_000) return;
    shown = now;
    const rate = done / ((now - started) / 1000);
    console.log(`  ${split}: ${done}/${total} texts, ${rate.toFixed(1)} texts/s`);
  };
}

/** The classification prompt of a task around each text, as the classifier writes it (no candidate lists). */
function taskFrame(loaded: LoadedModel, taskFile: string | undefined): ExtractOptions['frame'] {
  if (!taskFile) return undefined;
  const task = readTaskFile(taskFile);
  if (task.listCandidates) throw new Error(`--frame-task ${taskFile}: a task that lists candidates puts them before the text; use one with "listCandidates": false`);
  const f = sequenceFormat(loaded.requireTokenizer());
  return { name: task.name, head: [...f.start(), ...turn(f, 'system', task.system), ...f.open('user')], content: (text) => f.content(text) };
}

interface Extracted {
  byLayer: Record<SplitName, Float32Array[]>;
  layers: number;
  hidden: number;
  seconds: Record<SplitName, number>;
}

async function extractSplits(loaded: LoadedModel, data: Record<SplitName, LabelledTexts>, s: Settings): Promise<Extracted> {
  const dir = join(s.cache, loaded.checkpoint.fingerprint.slice(0, 16));
  const pooled = [];
  const frame = taskFrame(loaded, s.frameTask);
  for (const split of SPLITS) {
    const name = `${split}-${data[split].ids.length}-seed${s.seed}`;
    const p = await cachedPooled(loaded, data[split].texts, { dir, name }, { batchSize: s.batch, maxTokens: s.maxTokens, frame, onProgress: progressLine(split) });
    console.log(`${split}: ${p.rows} texts, ${p.fromCache ? `from the cache (extracted in ${p.seconds} s)` : `${p.seconds} s`}`);
    pooled.push(p);
  }
  const [train, dev, test] = pooled as [(typeof pooled)[0], (typeof pooled)[0], (typeof pooled)[0]];
  return {
    byLayer: { train: train.byLayer, dev: dev.byLayer, test: test.byLayer },
    layers: train.layers,
    hidden: train.hidden,
    seconds: { train: train.seconds, dev: dev.seconds, test: test.seconds },
  };
}

function probeLayer(k: number, ex: Extracted, y: TextSplits<Int32Array>, classes: number, s: Settings): LayerRow {
  const matrix = (split: SplitName): ReturnType<typeof denseMatrix> => denseMatrix(ex.byLayer[split][k]!.length / ex.hidden, ex.hidden, ex.byLayer[split][k]!);
  const scaler = fitStandardizer(matrix('train'));
  const [train, dev, test] = SPLITS.map((split) => ({ x: applyStandardizer(matrix(split), scaler), y: y[split] }));
  const tuned = tuneAndTest(train!, dev!, test!, classes, { grid: s.grid, maxIterations: s.maxIterations, patience: s.patience });
  const best = tuned.grid.find((p) => p.l2 === tuned.l2)!;
  const row = { layer: k, l2: tuned.l2, devAccuracy: best.devAccuracy, testAccuracy: tuned.testAccuracy, testMacroF1: tuned.testMacroF1, grid: tuned.grid, seconds: Number(tuned.seconds.toFixed(1)) };
  console.log(`  layer ${k}: dev acc ${pct(row.devAccuracy)}, test acc ${pct(row.testAccuracy)}, macro-F1 ${pct(row.testMacroF1)} (l2 ${row.l2.toExponential(0)}, ${row.seconds} s)`);
  return row;
}

function textBaseline(kind: TextFeatureKind, texts: TextSplits<readonly string[]>, y: TextSplits<Int32Array>, classes: number, s: Settings): BaselineScore {
  const x = textFeatures(texts, { kind, minDocuments: 2, ngramMax: 1 });
  const score = scoreBaseline(x, y, classes, { grid: s.textGrid, maxIterations: s.maxIterations, patience: s.patience });
  console.log(`  ${kind} (${score.sizes.train} train): test acc ${pct(score.testAccuracy)}, macro-F1 ${pct(score.testMacroF1)} (l2 ${score.l2.toExponential(0)}, ${score.seconds} s)`);
  return score;
}

function printTables(layers: readonly LayerRow[], numLayers: number, texts: Record<string, BaselineScore>): void {
  const middle = Math.floor(numLayers / 2);
  const tag = (k: number): string => (k === 0 ? ' (embeddings)' : k === middle ? ' (middle)' : k === numLayers ? ' (last)' : '');
  console.log(`\n${formatTable(['layer', 'dev-tuned L2', 'dev acc', 'test acc', 'test macro-F1'], layers.map((r) => [`${r.layer}${tag(r.layer)}`, r.l2.toExponential(0), pct(r.devAccuracy), pct(r.testAccuracy), pct(r.testMacroF1)]))}`);
  const rows = Object.entries(texts).map(([name, r]) => [name, String(r.sizes.train), r.l2.toExponential(0), pct(r.testAccuracy), pct(r.testMacroF1)]);
  console.log(`\n${formatTable(['text baseline', 'train items', 'dev-tuned L2', 'test acc', 'test macro-F1'], rows)}\n(accuracies and F1 in %)`);
}

interface ProbeData {
  full: Record<SplitName, LabelledTexts>;
  /** The items actually used (the training split subsampled). */
  used: Record<SplitName, LabelledTexts>;
  classes: number;
  /** Level-1 class ids of the used items. */
  y: TextSplits<Int32Array>;
  /** Level-1 class ids of the whole training split. */
  fullTrainY: Int32Array;
}

/** Level 1 only: the quality check asks whether the backbone's states carry the coarse category. */
function loadData(s: Settings): ProbeData {
  const full = { train: readSplit(s.data, 'train'), dev: readSplit(s.data, 'dev'), test: readSplit(s.data, 'test') };
  const used = { train: take(full.train, s.sizes.train, s.seed), dev: take(full.dev, s.sizes.dev, s.seed), test: take(full.test, s.sizes.test, s.seed) };
  const index = labelIndex(full.train.labels[0]!, full.dev.labels[0]!, full.test.labels[0]!);
  const level1 = (d: LabelledTexts): Int32Array => encodeLabels(d.labels[0]!, index);
  console.log(`WordNet level 1: ${index.names.length} classes; ${used.train.ids.length} train (of ${full.train.ids.length}), ${used.dev.ids.length} dev, ${used.test.ids.length} test`);
  return { full, used, classes: index.names.length, y: { train: level1(used.train), dev: level1(used.dev), test: level1(used.test) }, fullTrainY: level1(full.train) };
}

/** Bag-of-words and TF-IDF on the probe's own items, and bag-of-words on the whole training split. */
function textBaselines(d: ProbeData, s: Settings): Record<string, BaselineScore> {
  const texts = { train: d.used.train.texts, dev: d.used.dev.texts, test: d.used.test.texts };
  const out: Record<string, BaselineScore> = {
    'bow (same train items)': textBaseline('bow', texts, d.y, d.classes, s),
    'tfidf (same train items)': textBaseline('tfidf', texts, d.y, d.classes, s),
  };
  if (s.fullBow && d.used.train.ids.length < d.full.train.ids.length) {
    out['bow (full train split)'] = textBaseline('bow', { ...texts, train: d.full.train.texts }, { ...d.y, train: d.fullTrainY }, d.classes, s);
  }
  return out;
}

async function main(): Promise<void> {
  const s = settings();
  const run = runRecord();
  const d = loadData(s);
  const engine = await Engine.create({ providers: ['cpu'], threads: s.threads });
  const loaded = await engine.loadModel(s.model);
  const { config } = loaded.model;
  console.log(`model ${s.model}: ${config.numLayers} layers, hidden ${config.hiddenSize}, fingerprint ${loaded.checkpoint.fingerprint.slice(0, 16)}`);
  const ex = await extractSplits(loaded, d.used, s);
  await loaded.release();

  console.log('probe (logistic regression on standardised mean-pooled states):');
  const layers = chooseLayers(s.layers, config.numLayers).map((k) => probeLayer(k, ex, d.y, d.classes, s));
  console.log('text baselines:');
  const baselines = textBaselines(d, s);
  printTables(layers, config.numLayers, baselines);
  if (!s.out) return;
  const { out: _out, ...recorded } = s;
  const sizes = { train: d.used.train.ids.length, dev: d.used.dev.ids.length, test: d.used.test.ids.length };
  writeJson(s.out, {
    run,
    model: { dir: s.model, fingerprint: loaded.checkpoint.fingerprint, layers: config.numLayers, hidden: config.hiddenSize },
    settings: recorded,
    task: { dataset: s.data, level: 1, classes: d.classes, sizes, majorityAccuracy: majorityAccuracy(d.y.train, d.y.test, d.classes) },
    extractionSeconds: ex.seconds,
    pooling: `mean over the text tokens (${s.frameTask ? `inside the prompt of ${s.frameTask}, which is not pooled` : 'BOS excluded'}) of the hidden state after each layer (0 = embeddings; the last is before the final norm)`,
    layers,
    baselines,
  });
  console.log(`wrote ${s.out}`);
}

main().catch((err: unknown) => {
  console.error(`linearProbe: ${(err as Error).message}`);
  process.exit(1);
});
