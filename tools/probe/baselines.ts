// Text-classification baselines for the HdLM heads (issue 5: "both beat a TF-IDF + logistic-
// regression baseline per level") and for the linear probe (issue 4: bag-of-words on level 1):
//   node out/tools/probe/baselines.js [--data out/data] [--out tools/probe/results/baselines.json]
//        [--only wordnet,debian] [--grid 1e-3,3e-4,...,1e-7] [--max-iterations 500]
//        [--patience 2] [--min-documents 2] [--ngrams 1] [--predictions FILE]
// WordNet: TF-IDF + LR for each level on its own, and bag-of-words + LR for level 1. Debian: the
// section from the long description, both feature kinds. L2 tuned on dev, scored once on test.
// --predictions writes each test item's gold labels and every baseline's label (JSON lines), which
// pairedBaselines.ts sets against `hdlm eval --predictions` example by example.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { encodeLabels, labelIndex, readSplit, SPLITS, type LabelledTexts } from './lib/datasets';
import type { SparseMatrix } from './lib/matrix';
import { formatTable, parseCount, parseGrid, pct, runRecord, writeJson } from './lib/report';
import { scoreBaseline, TEXT_L2_GRID, textFeatures, type BaselinePrediction, type BaselineScore, type TextFeatureKind, type TextSplits } from './lib/textBaseline';

interface Settings {
  data: string;
  out: string | undefined;
  only: string[];
  grid: number[];
  maxIterations: number;
  /** 0: every grid point; else TuneOptions.patience. */
  patience: number;
  minDocuments: number;
  ngramMax: number;
  predictions: string | undefined;
}

interface Row extends BaselineScore {
  dataset: string;
  featureKind: TextFeatureKind;
  level: number;
}

function settings(): Settings {
  const { values } = parseArgs({
    options: {
      data: { type: 'string', default: 'out/data' },
      out: { type: 'string' },
      only: { type: 'string', default: 'wordnet,debian' },
      grid: { type: 'string', default: TEXT_L2_GRID },
      'max-iterations': { type: 'string' },
      patience: { type: 'string' },
      'min-documents': { type: 'string' },
      ngrams: { type: 'string' },
      predictions: { type: 'string' },
    },
  });
  const only = values.only.split(',').map((s) => s.trim());
  for (const name of only) if (name !== 'wordnet' && name !== 'debian') throw new Error(`--only: unknown dataset ${name} (wordnet, debian)`);
  return {
    data: values.data,
    out: values.out,
    only,
    grid: parseGrid(values.grid, '--grid'),
    maxIterations: parseCount(values['max-iterations'], '--max-iterations', 500),
    patience: parseCount(values.patience, '--patience', 2),
    minDocuments: parseCount(values['min-documents'], '--min-documents', 2),
    ngramMax: parseCount(values.ngrams, '--ngrams', 1),
    predictions: values.predictions,
  };
}

function readAll(dir: string): TextSplits<LabelledTexts> {
  const [train, dev, test] = SPLITS.map((s) => readSplit(dir, s)) as [LabelledTexts, LabelledTexts, LabelledTexts];
  return { train, dev, test };
}

/** One level's baseline on already computed features, and its label for each test item. */
function runLevel(dataset: string, kind: TextFeatureKind, level: number, data: TextSplits<LabelledTexts>, x: TextSplits<SparseMatrix>, s: Settings): { row: Row; predicted: string[] } {
  const index = labelIndex(data.train.labels[level]!, data.dev.labels[level]!, data.test.labels[level]!);
  const y = {
    train: encodeLabels(data.train.labels[level]!, index),
    dev: encodeLabels(data.dev.labels[level]!, index),
    test: encodeLabels(data.test.labels[level]!, index),
  };
  const tag = `${dataset} ${kind} level ${level + 1} (${index.names.length} classes)`;
  const { testPredicted, ...score } = scoreBaseline(x, y, index.names.length, {
    grid: s.grid,
    maxIterations: s.maxIterations,
    patience: s.patience === 0 ? undefined : s.patience,
    onPoint: (p) => console.log(`  ${tag}: l2 ${p.l2.toExponential(0)} dev acc ${pct(p.devAccuracy)} F1 ${pct(p.devMacroF1)} (${p.iterations} it, ${p.stop}, ${p.seconds.toFixed(1)} s)`),
  });
  return { row: { dataset, featureKind: kind, level: level + 1, ...score }, predicted: Array.from(testPredicted, (c) => index.names[c]!) };
}

/** Feature kinds and levels to run per dataset: TF-IDF on every level, bag-of-words on level 1. */
function runDataset(name: string, s: Settings): { rows: Row[]; predictions: BaselinePrediction[] } {
  const data = readAll(join(s.data, name));
  const texts = { train: data.train.texts, dev: data.dev.texts, test: data.test.texts };
  const rows: Row[] = [];
  const predictions: BaselinePrediction[] = data.test.ids.map((id, i) => ({ dataset: name, id, gold: data.test.labels.map((level) => level[i]!), tfidf: [], bow: [] }));
  for (const kind of ['tfidf', 'bow'] as const) {
    const started = performance.now();
    const x = textFeatures(texts, { kind, minDocuments: s.minDocuments, ngramMax: s.ngramMax });
    console.log(`${name} ${kind}: ${x.vocabulary} features, ${x.train.rows}/${x.dev.rows}/${x.test.rows} items, ${((performance.now() - started) / 1000).toFixed(1)} s`);
    const levels = kind === 'tfidf' ? data.train.labels.length : 1;
    for (let level = 0; level < levels; level++) {
      const { row, predicted } = runLevel(name, kind, level, data, x, s);
      rows.push(row);
      predicted.forEach((label, i) => predictions[i]![kind].push(label));
    }
  }
  return { rows, predictions };
}

function printTable(rows: readonly Row[]): void {
  const header = ['dataset', 'features', 'level', 'classes', 'majority acc', 'dev-tuned L2', 'test acc', 'test macro-F1', 'train s'];
  const cells = rows.map((r) => [r.dataset, r.featureKind, String(r.level), String(r.classes), pct(r.majorityAccuracy), r.l2.toExponential(0), pct(r.testAccuracy), pct(r.testMacroF1), r.seconds.toFixed(0)]);
  console.log(`\n${formatTable(header, cells)}\n(accuracies and F1 in %; "train s" covers the whole L2 grid)`);
}

function main(): void {
  const s = settings();
  const run = runRecord();
  const started = performance.now();
  const runs = s.only.map((name) => runDataset(name, s));
  const rows = runs.flatMap((r) => r.rows);
  printTable(rows);
  if (s.predictions) {
    writeFileSync(s.predictions, runs.flatMap((r) => r.predictions.map((p) => `${JSON.stringify(p)}\n`)).join(''));
    console.log(`wrote each test item's labels to ${s.predictions}`);
  }
  const seconds = Number(((performance.now() - started) / 1000).toFixed(1));
  if (s.out) {
    const { out: _out, predictions: _predictions, ...recorded } = s;
    writeJson(s.out, { run, seconds, settings: recorded, method: 'multinomial logistic regression, L2, full-batch L-BFGS (tools/probe/lib)', rows });
    console.log(`wrote ${s.out}`);
  }
}

try {
  main();
} catch (err) {
  console.error(`baselines: ${(err as Error).message}`);
  process.exit(1);
}
