// Early exit against HdLM on a classification task (engine/src/hdlm/earlyExit.ts):
//   node out/tools/heads/earlyExitBaseline.js [--task models/hdlm-tiny/tasks/wordnet.hdlm.json]
//        [--model models/hdlm-tiny] [--exits 4,6,last] [--work out/early-exit]
//        [--dev-examples 0] [--test-examples 0] [--per-level-dev-examples 0]
//        [--per-level-thresholds 0.3,0.5,0.6,0.7,0.8,0.9,0.95] [--out tools/heads/results/earlyExit-<task>.json]
// 1. For each exit layer below the last, heads that decide every level there are trained with the
//    task's own data and settings (a copy of the task with every level at that layer, heads in
//    <work>/<task>/layer-<k>, level heads only: the backbone stops at that layer; a rerun keeps
//    them, as `hdlm train` does). At the last exit the task's flat head decides, so the task must
//    have been trained.
// 2. Every dev and test input runs through HdLM (the task's heads at their layers; the default
//    hierarchy beam, and greedy) and through the cascade of exits, the usual early-exit baseline
//    (the whole path at an exit, the first exit whose path probability reaches τ); one run
//    measures every τ of the cascade.
// 3. Exiting per level (each level at its first exit whose label probability reaches τ, greedy)
//    is measured at each τ on a dev sample; it changes the path, so each τ is its own run.
// 4. τ is chosen on dev against HdLM twice (the most accurate τ costing no more, the cheapest τ
//    at least as accurate), then measured on test, paired with HdLM on the same examples.
// Sizes of 0 mean the whole split (a sample otherwise, by id, as `hdlm eval --max-examples`).
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Engine } from '../../engine/src/engine';
import { readModelConfig } from '../../engine/src/checkpoint/config';
import { HierarchicalClassifier, type ClassifierLevel } from '../../engine/src/hdlm/classifier';
import { readHierarchicalDataset } from '../../engine/src/hdlm/dataset/readDataset';
import type { HierarchicalRecord } from '../../engine/src/hdlm/dataset/formats';
import {
  exitCurve,
  matchReference,
  runExitCascade,
  savedHeadsClassifier,
  type ExitAttempt,
  type ExitPoint,
} from '../../engine/src/hdlm/earlyExit';
import { fitToContext } from '../../engine/src/hdlm/features';
import { readManifest } from '../../engine/src/hdlm/headStore';
import { pairedDifference, type PairedDifference } from '../../engine/src/hdlm/metrics';
import { subsample } from '../../engine/src/hdlm/splits';
import { readTaskFile, type TaskDefinition } from '../../engine/src/hdlm/taskFile';
import { FLAT_HEAD, levelHeadName, loadSavedHead, segmentCuts } from '../../engine/src/hdlm/taskSession';
import { Taxonomy } from '../../engine/src/hdlm/taxonomy';
import { trainTask } from '../../engine/src/hdlm/trainTask';
import type { LoadedModel } from '../../engine/src/loadedModel';
import { formatTable, parseCount, pct, runRecord, writeJson } from '../probe/lib/report';
import { commandLineOr } from '../corpus/lib/args';

/** τ of the cascade, from "always the first exit" to "always the last" (no path is surer than 1). */
const THRESHOLDS = [0, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 0.98, 0.99, 2];

/** One variant measured on a set of inputs. */
interface Measured {
  name: string;
  threshold?: number;
  jointAccuracy: number;
  layerPositions: number;
  ms: number;
  /** Per input, whether the whole path is right. */
  right: boolean[];
  /** Exiting per level: per level, the share decided at each exit. */
  levelExitShare?: number[][];
}

interface Split {
  file: string;
  examples: number;
  hdlm: Measured;
  hdlmGreedy: Measured;
  cascade: ExitPoint[];
}

interface Setup {
  loaded: LoadedModel;
  hdlm: HierarchicalClassifier;
  cascade: { layer: number; classifier: HierarchicalClassifier }[];
  /** Per level, its heads at every exit (exiting per level). */
  perLevel: ClassifierLevel[][];
  exits: number[];
}

const USAGE = `usage: node out/tools/heads/earlyExitBaseline.js [options]

Early exit against HdLM on a classification task: heads at each exit layer below the last, the
cascade of exits and per-level exiting measured on dev and test, τ chosen on dev (the comment at
the top of tools/heads/earlyExitBaseline.ts says how).

options:
  --task FILE                     the task (default: models/hdlm-tiny/tasks/wordnet.hdlm.json); needs dataset.dev and dataset.test
  --model DIR                     the model its "model": "default" stands for (default: models/hdlm-tiny)
  --exits a,b,…                   increasing exit layers ending with the last (a number or "last"; default: the task's layers below the last, then the last)
  --work DIR                      where the exit heads are trained and kept (default: out/early-exit)
  --dev-examples N                a sample of dev by id (default: 0, the whole split)
  --test-examples N               a sample of test by id (default: 0, the whole split)
  --per-level-dev-examples N      the dev sample per-level exiting is measured on (default: 0, the whole split)
  --per-level-thresholds a,b,…    the τ values per-level exiting tries (default: 0.3,0.5,0.6,0.7,0.8,0.9,0.95)
  --out FILE                      the JSON record (default: tools/heads/results/earlyExit-<task>.json)
  --help                          show this help`;

function parseOptions() {
  return parseArgs({
    options: {
      task: { type: 'string', default: 'models/hdlm-tiny/tasks/wordnet.hdlm.json' },
      model: { type: 'string', default: 'models/hdlm-tiny' },
      exits: { type: 'string' },
      work: { type: 'string', default: 'out/early-exit' },
      'dev-examples': { type: 'string' },
      'test-examples': { type: 'string' },
      'per-level-dev-examples': { type: 'string' },
      'per-level-thresholds': { type: 'string', default: '0.3,0.5,0.6,0.7,0.8,0.9,0.95' },
      out: { type: 'string' },
    },
  });
}

async function main(): Promise<void> {
  const args = commandLineOr(USAGE, parseOptions);
  if (!args) return;
  const { values } = args;
  const run = runRecord(); // when the run started, and the machine's load then
  const task = readTaskFile(values.task!);
  if (task.kind !== 'classify') throw new Error(`${task.path}: early exit is measured on classification tasks, this is a ${task.kind} task`);
  const { dev: devFile, test: testFile } = task.dataset;
  if (!devFile || !testFile) throw new Error(`${task.path}: needs dataset.dev (to choose τ) and dataset.test (to measure it)`);
  const modelDir = resolve(task.model === 'default' ? values.model! : task.model);
  const L = readModelConfig(join(modelDir, 'config.json')).numLayers;
  const hdlmLayers = task.levels.map((l) => (l === 'last' ? L : l));
  const exits = values.exits ? values.exits.split(',').map((s) => (s.trim() === 'last' ? L : Number(s))) : [...hdlmLayers.filter((l) => l < L), L];
  if (exits.some((l, i) => !Number.isInteger(l) || l < 1 || l > L || (i > 0 && l <= exits[i - 1]!)) || exits.at(-1) !== L) {
    throw new Error(`--exits must be increasing layers from 1 to ${L} ending with the last (${L} or "last"), got ${values.exits}`);
  }
  const perLevelThresholds = values['per-level-thresholds']!.split(',').map(Number);
  if (perLevelThresholds.some((t) => !(t >= 0 && t <= 1))) throw new Error(`--per-level-thresholds must be numbers from 0 to 1, got ${values['per-level-thresholds']}`);
  const engine = await Engine.create({ providers: ['cpu'], threads: 0 });

  // 1. Heads at each exit below the last.
  const exitDir = (layer: number): string => join(resolve(values.work!, task.name), `layer-${layer}`);
  for (const layer of exits.filter((l) => l < L)) {
    // Only the level heads at the exit: the cascade's last exit uses the task's own flat head, and
    // the task's exits when sure (if any) are not this baseline's.
    const { exitWhenSure: _ownExits, ...plain } = task;
    const derived: TaskDefinition = { ...plain, name: `${task.name}-exit${layer}`, levels: task.levels.map(() => layer), headsDir: exitDir(layer) };
    console.error(`training the heads that decide every level at layer ${layer} (${derived.headsDir})`);
    const report = await trainTask(engine, derived, { defaultModelDir: modelDir, flat: false, onEvent: (e) => (e.kind === 'stage' ? console.error(`  ${e.message}`) : undefined) });
    for (const h of report.heads) console.error(`  ${h.name} layer ${h.layer}: best dev token accuracy ${pct(h.bestDevAccuracy)} %`);
  }
  /** The head that decides level d (1-based) at an exit: the exit's own, or flat's at the last layer. */
  const exitHead = (layer: number, d: number): { layer: number; dir: string; head: string } => (layer < L ? { layer, dir: exitDir(layer), head: levelHeadName(d) } : { layer, dir: task.headsDir, head: FLAT_HEAD });

  // 2–4. One model cut at every layer used; every variant on it.
  const loaded = await engine.loadModel(modelDir, { cuts: segmentCuts([...hdlmLayers, ...exits], L) });
  const layout = { taxonomy: Taxonomy.fromJSON(readManifest(task.headsDir, levelHeadName(1)).taxonomy!), system: task.system, listCandidates: task.listCandidates };
  const releases: (() => Promise<void>)[] = [];
  const classifier = async (levels: { layer: number; dir: string; head: string }[]): Promise<HierarchicalClassifier> => {
    const c = await savedHeadsClassifier(loaded, layout, levels);
    releases.push(c.release);
    return c.classifier;
  };
  try {
    const levels = hdlmLayers.map((_, d) => d + 1);
    const perLevel: ClassifierLevel[][] = [];
    for (const d of levels) {
      const row: ClassifierLevel[] = [];
      for (const layer of exits) {
        const { dir, head } = exitHead(layer, d);
        const saved = await loadSavedHead(loaded, dir, head);
        releases.push(() => saved.head.release());
        row.push({ layer, ...saved });
      }
      perLevel.push(row);
    }
    const setup: Setup = {
      loaded,
      exits,
      perLevel,
      hdlm: await classifier(hdlmLayers.map((layer, d) => ({ layer, dir: task.headsDir, head: levelHeadName(d + 1) }))),
      cascade: await Promise.all(exits.map(async (layer) => ({ layer, classifier: await classifier(levels.map((d) => exitHead(layer, d))) }))),
    };
    const records = (file: string, max: number): HierarchicalRecord[] => fitToContext(loaded.model, setup.hdlm.layout, subsample(readHierarchicalDataset(file).records, max, task.train.seed)).fits;
    console.error('measuring on dev');
    const devRecords = records(devFile, parseCount(values['dev-examples'], '--dev-examples', 0));
    const dev = await measureSplit(setup, devFile, devRecords);
    console.error('measuring on test');
    const testRecords = records(testFile, parseCount(values['test-examples'], '--test-examples', 0));
    const test = await measureSplit(setup, testFile, testRecords);
    const perLevelDev = records(devFile, parseCount(values['per-level-dev-examples'], '--per-level-dev-examples', 0));
    const hdlmOnSample = await measure(setup, 'HdLM', perLevelDev, (text) => setup.hdlm.classify(text).then((r) => ({ labels: r.path.map((d) => d.label) })));
    const perLevelCurve: Measured[] = [];
    for (const threshold of perLevelThresholds) {
      console.error(`exiting per level at τ ${threshold} on ${perLevelDev.length} dev examples`);
      perLevelCurve.push(await measurePerLevel(setup, perLevelDev, threshold));
    }
    const chosen = matchReference(perLevelCurve, hdlmOnSample);
    const perLevelTest: Measured[] = [];
    for (const t of new Set([chosen.sameCompute?.threshold, chosen.sameAccuracy?.threshold].filter((t) => t !== undefined))) {
      console.error(`exiting per level at τ ${t} on test`);
      perLevelTest.push(await measurePerLevel(setup, testRecords, t));
    }
    report(task, exits, { dev, test, perLevel: { dev: { examples: perLevelDev.length, hdlm: hdlmOnSample, curve: perLevelCurve, chosen }, test: perLevelTest } }, { run, out: values.out ?? `tools/heads/results/earlyExit-${task.name}.json` });
  } finally {
    for (const release of releases) await release();
    await loaded.release();
  }
}

/** A variant's accuracy and cost per input, the cost counted from the input's first position (the shared prefix is computed once beforehand). */
async function measure(setup: Setup, name: string, records: readonly HierarchicalRecord[], classify: (text: string) => Promise<{ labels: string[]; layers?: number[] }>): Promise<Measured> {
  await classify(records[0]!.text); // the classifier's shared prefix, computed on first use, is no input's cost
  const { model } = setup.loaded;
  const right: boolean[] = [];
  const cost = { layerPositions: 0, ms: 0 };
  const decidedAt = setup.perLevel.map(() => setup.exits.map(() => 0));
  for (const r of records) {
    const before = model.compute.layerPositions;
    const t0 = performance.now();
    const got = await classify(r.text);
    cost.ms += performance.now() - t0;
    cost.layerPositions += model.compute.layerPositions - before;
    right.push(r.labels.every((label, d) => got.labels[d] === label));
    got.layers?.forEach((layer, d) => decidedAt[d]![setup.exits.indexOf(layer)]!++);
  }
  const n = Math.max(1, records.length);
  const perLevel = records.length > 0 && decidedAt.some((row) => row.some((c) => c > 0)); // the variant said which layer decided each level
  return { name, jointAccuracy: right.filter(Boolean).length / n, layerPositions: cost.layerPositions / n, ms: cost.ms / n, right, ...(perLevel ? { levelExitShare: decidedAt.map((row) => row.map((c) => c / n)) } : {}) };
}

/** HdLM exiting per level at τ (ClassifyTask.exitWhenSure), greedy as early exit usually is. */
async function measurePerLevel(setup: Setup, records: readonly HierarchicalRecord[], threshold: number): Promise<Measured> {
  const { loaded, hdlm } = setup;
  const classifier = new HierarchicalClassifier(loaded.model, loaded.requireTokenizer(), { ...hdlm.task, exitWhenSure: { threshold, exits: setup.perLevel } });
  const m = await measure(setup, `exit per level, τ ${threshold}`, records, (text) => classifier.classify(text, { beam: 1 }).then((r) => ({ labels: r.path.map((d) => d.label), layers: r.path.map((d) => d.layer) })));
  return { ...m, threshold };
}

async function measureSplit(setup: Setup, file: string, records: readonly HierarchicalRecord[]): Promise<Split> {
  // The cascade's classifiers compute their shared prefixes before any input is measured.
  for (const c of setup.cascade.map((e) => e.classifier)) await c.classify(records[0]!.text);
  const hdlm = await measure(setup, 'HdLM', records, (text) => setup.hdlm.classify(text).then((r) => ({ labels: r.path.map((d) => d.label) })));
  const hdlmGreedy = await measure(setup, 'HdLM, greedy', records, (text) => setup.hdlm.classify(text, { beam: 1 }).then((r) => ({ labels: r.path.map((d) => d.label) })));
  const attempts: ExitAttempt[][] = [];
  for (const [i, r] of records.entries()) {
    attempts.push(await runExitCascade(setup.loaded.model, setup.cascade, r.text));
    if ((i + 1) % 1000 === 0) console.error(`  cascade: ${i + 1} of ${records.length}`);
  }
  return { file, examples: records.length, hdlm, hdlmGreedy, cascade: exitCurve(records.map((r) => r.labels), attempts, THRESHOLDS) };
}

interface Results {
  dev: Split;
  test: Split;
  perLevel: { dev: { examples: number; hdlm: Measured; curve: Measured[]; chosen: { sameCompute?: Measured; sameAccuracy?: Measured } }; test: Measured[] };
}

function report(task: TaskDefinition, exits: number[], r: Results, { run, out }: { run: ReturnType<typeof runRecord>; out: string }): void {
  const τ = (t: number): string => (t > 1 ? 'never (last exit)' : t === 0 ? '0 (first exit)' : String(t));
  const line = (name: string, setting: string, m: { jointAccuracy: number; layerPositions: number; ms: number }, stops = ''): string[] => [name, setting, pct(m.jointAccuracy), m.layerPositions.toFixed(1), m.ms.toFixed(2), stops];
  const header = ['variant', 'τ', 'joint %', 'layer·pos', 'ms', `stop at ${exits.join(' / ')} %`];
  const table = (s: Split): string =>
    formatTable(header, [
      line('HdLM', `levels at ${task.levels.join(', ')}`, s.hdlm),
      line('HdLM, greedy', '', s.hdlmGreedy),
      ...s.cascade.map((p) => line('exit when sure', τ(p.threshold), p, p.exitShare.map(pct).join(' / '))),
    ]);
  console.log(`\ndev (${r.dev.examples} examples, ${r.dev.file})\n${table(r.dev)}`);
  console.log(`\ntest (${r.test.examples} examples, ${r.test.file})\n${table(r.test)}`);
  const perLevelRow = (m: Measured): string[] => line(m.name, '', m, m.levelExitShare!.map((row) => row.map((x) => (100 * x).toFixed(0)).join('/')).join(' · '));
  console.log(`\nexiting per level, dev sample (${r.perLevel.dev.examples} examples; stops per level at ${exits.join('/')} %)\n${formatTable(header, [line('HdLM', '', r.perLevel.dev.hdlm), ...r.perLevel.dev.curve.map(perLevelRow)])}`);
  const paired = (right: boolean[]): PairedDifference => pairedDifference(right, r.test.hdlm.right);
  const says = (d: PairedDifference): string => `${(100 * d.difference).toFixed(2)} points (95 % CI ${(100 * d.ci95[0]).toFixed(2)} to ${(100 * d.ci95[1]).toFixed(2)}, p ${d.pValue.toPrecision(2)})`;
  const picks: Record<string, unknown> = {};
  const pick = (variant: string, rule: string, threshold: number | undefined, onTest: Measured | ExitPoint | undefined): void => {
    if (threshold === undefined || !onTest) {
      console.log(`\n${variant}, ${rule}: no τ qualifies on dev`);
      picks[`${variant}, ${rule}`] = null;
      return;
    }
    const d = paired(onTest.right);
    console.log(`\n${variant}, ${rule} (τ ${τ(threshold)}, chosen on dev): test joint ${pct(onTest.jointAccuracy)} % at ${onTest.layerPositions.toFixed(1)} layer·positions; HdLM ${pct(r.test.hdlm.jointAccuracy)} % at ${r.test.hdlm.layerPositions.toFixed(1)}; minus HdLM ${says(d)}`);
    picks[`${variant}, ${rule}`] = { threshold, jointAccuracy: onTest.jointAccuracy, layerPositions: onTest.layerPositions, ms: onTest.ms, minusHdlm: d };
  };
  const cascadeChosen = matchReference(r.dev.cascade, r.dev.hdlm);
  const cascadeOnTest = (p: ExitPoint | undefined) => (p ? r.test.cascade.find((q) => q.threshold === p.threshold) : undefined);
  pick('exit when sure', 'same compute', cascadeChosen.sameCompute?.threshold, cascadeOnTest(cascadeChosen.sameCompute));
  pick('exit when sure', 'same accuracy', cascadeChosen.sameAccuracy?.threshold, cascadeOnTest(cascadeChosen.sameAccuracy));
  const perLevelOnTest = (t: number | undefined) => r.perLevel.test.find((m) => m.threshold === t);
  pick('exit per level', 'same compute', r.perLevel.dev.chosen.sameCompute?.threshold, perLevelOnTest(r.perLevel.dev.chosen.sameCompute?.threshold));
  pick('exit per level', 'same accuracy', r.perLevel.dev.chosen.sameAccuracy?.threshold, perLevelOnTest(r.perLevel.dev.chosen.sameAccuracy?.threshold));
  console.log(`\nHdLM, greedy on test: minus HdLM ${says(paired(r.test.hdlmGreedy.right))}`);
  const strip = <T extends { right: boolean[] }>({ right: _, ...rest }: T): Omit<T, 'right'> => rest;
  const split = (s: Split) => ({ file: relative(process.cwd(), s.file), examples: s.examples, hdlm: strip(s.hdlm), hdlmGreedy: strip(s.hdlmGreedy), cascade: s.cascade.map(strip) });
  writeJson(out, {
    run,
    finishedAt: new Date().toISOString(),
    task: task.name,
    levels: task.levels,
    exits,
    dev: split(r.dev),
    test: split(r.test),
    perLevel: { dev: { examples: r.perLevel.dev.examples, hdlm: strip(r.perLevel.dev.hdlm), curve: r.perLevel.dev.curve.map(strip) }, test: r.perLevel.test.map(strip) },
    chosenOnDev: picks,
  });
  console.error(`wrote ${out}`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
