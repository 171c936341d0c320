// Micro-benchmark of the head training step: steps/s and examples/s for a full head, a label
// subset (compacted in JavaScript, and in the graph with either scatter method) and a low-rank
// delta. Prints figures; asserts nothing.
import type { ExecutionProvider } from '../runtime/ort';
import { FeatureSet, HeadTrainer, HeadTrainerOptions } from './headTrainer';
import { TrainRandom } from './random';

export interface HeadBenchOptions {
  hiddenSize: number; // H
  vocabSize: number; // V
  batch: number; // N
  subset: number; // K
  rank: number; // r
  /** Timed steps per configuration, after two warm-up steps. */
  steps: number;
  provider: ExecutionProvider;
  threads: number;
  log: (line: string) => void;
}

export interface HeadBenchRow {
  label: string;
  msPerStep: number;
  stepsPerS: number;
  examplesPerS: number;
}

interface Config {
  label: string;
  vocabSize: number;
  subset?: number;
  method?: HeadTrainerOptions['subsetMethod'];
  lowRank?: number;
}

export async function benchHeadTraining(o: HeadBenchOptions): Promise<HeadBenchRow[]> {
  const { vocabSize: V, subset: K, rank: r } = o;
  const configs: Config[] = [
    { label: `full V=${V}`, vocabSize: V },
    { label: `subset K=${K}, compacted`, vocabSize: V, subset: K, method: 'compact' },
    { label: `subset K=${K}, graph ScatterND`, vocabSize: V, subset: K, method: 'scatterNd' },
    { label: `subset K=${K}, graph one-hot matmul`, vocabSize: V, subset: K, method: 'oneHotMatMul' },
    { label: `low rank r=${r}, V=${V}`, vocabSize: V, lowRank: r },
    { label: `low rank r=${r} + subset K=${K}, compacted`, vocabSize: V, subset: K, lowRank: r, method: 'compact' },
    { label: `low rank r=${r} + subset K=${K}, ScatterND`, vocabSize: V, subset: K, lowRank: r, method: 'scatterNd' },
  ];
  const rows: HeadBenchRow[] = [];
  o.log(`head training step, N=${o.batch} H=${o.hiddenSize}, ${o.provider} threads=${o.threads || 'auto'}, ${o.steps} steps each`);
  for (const config of configs) {
    const row = await benchOne(o, config);
    rows.push(row);
    o.log(`${row.label.padEnd(42)} ${row.msPerStep.toFixed(2).padStart(8)} ms/step ${row.stepsPerS.toFixed(1).padStart(8)} steps/s ${Math.round(row.examplesPerS).toString().padStart(9)} examples/s`);
  }
  return rows;
}

async function benchOne(o: HeadBenchOptions, config: Config): Promise<HeadBenchRow> {
  const H = o.hiddenSize;
  const rng = new TrainRandom(1);
  const classes = config.subset ?? config.vocabSize;
  const options: HeadTrainerOptions = {
    hiddenSize: H,
    vocabSize: config.vocabSize,
    normEps: 1e-5,
    bias: true,
    lowRank: config.lowRank,
    // Every 32nd row, as label tokens spread over the vocabulary would be.
    vocabSubset: config.subset ? Array.from({ length: config.subset }, (_, i) => (i * 32) % config.vocabSize) : undefined,
    subsetMethod: config.method,
    init: { weight: Float32Array.from({ length: config.vocabSize * H }, () => rng.uniform(0.05)) },
    batchSize: o.batch,
    seed: 1,
    provider: o.provider,
    threads: o.threads,
  };
  const batch: FeatureSet = {
    x: Float32Array.from({ length: o.batch * H }, () => rng.uniform(1)),
    targets: Int32Array.from({ length: o.batch }, () => Math.floor(rng.next() * classes)),
  };
  const trainer = await HeadTrainer.create(options);
  try {
    for (let i = 0; i < 2; i++) await trainer.step(batch);
    const start = performance.now();
    for (let i = 0; i < o.steps; i++) await trainer.step(batch);
    const ms = (performance.now() - start) / o.steps;
    return { label: config.label, msPerStep: ms, stepsPerS: 1000 / ms, examplesPerS: (1000 / ms) * o.batch };
  } finally {
    await trainer.release();
  }
}
