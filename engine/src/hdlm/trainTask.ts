// Fine-tuning a task's heads on a workspace dataset (ARCHITECTURE §4), holding its heads folder
// for the whole run (lockHeads) once 1. its data is read and split (trainingData.ts), 2. run the frozen
// backbone over the training, then the dev examples that fit the context (or read their hidden
// states back from the feature cache: headRows.ts), keeping hidden states only where a label's
// next token is a choice (choiceSpans), at every level's layer, at the last layer for the flat
// head (unless `flat: false`) and at each exitWhenSure layer, 3. train one head per level, the
// flat head and the exit heads (trainHeads.ts): a head with the same rows as an earlier one at
// its layer is a copy of it, and one finished with the same settings and data is skipped
// (headResume.ts); each trains with early stopping (epochs and patience scaled up for epochs of
// few steps where the task leaves them to the defaults: stoppingSchedule.ts), keeping
// its best dev epoch (saved atomically; the last one when it has no dev rows) and a resume point
// per epoch, 4. write a report (a rerun that trained nothing keeps the earlier one). Cancellation
// is checked between batches; a cancelled run keeps its saved heads and resume points.
// Thought-then-answer tasks (trainThoughtTask.ts) read their own records and run their own
// step 2, and share the rest.
import { join } from 'node:path';
import type { Engine } from '../engine';
import { readModelConfig } from '../checkpoint/config';
import type { FeatureSet } from '../train/headTrainer';
import { readGuidedDataset, readHierarchicalDataset } from './dataset/readDataset';
import type { HierarchicalRecord } from './dataset/formats';
import { choiceSequences, extractSpanFeatures, fitToContext } from './features';
import { contextRoom, noExampleFitsError } from './contextFit';
import { lockHeads } from './headsLock';
import { checkHeadsFolder, ownHeadCopy } from './headStore';
import { KEPT_FILES, setAsideForeignKeptFiles } from './keptFile';
import { backboneRuns, labelTokenSubset, planRows, uniqueReads, type BackbonePass } from './headRows';
import type { TaskDefinition } from './taskFile';
import { exitHeadNames, exitLayers, FLAT_HEAD, levelHeadName, levelLayers, segmentCuts, taskModelFolder } from './taskSession';
import { ClassificationLayout } from './classificationLayout';
import { sequenceFormat } from './sequenceFormat';
import { checkLevelRows, checkTrainingTaxonomy, NOTHING_TRAINED, readTrainingData, reportTooLong, trainingTaxonomy, type TrainingData } from './trainingData';
import { trainHeads } from './trainHeads';
import { trainThoughtTask } from './trainThoughtTask';
import type { TrainEvent, TrainReport, TrainTaskOptions } from './trainTypes';

/** Trains a task of either kind, holding its heads folder for the whole run (lockHeads: a second run refuses). */
export async function trainTask(engine: Engine, task: TaskDefinition, options: TrainTaskOptions): Promise<TrainReport> {
  // Before the lock makes the folder: a file there, or another task's heads, is refused by name.
  checkHeadsFolder(task.headsDir, task, 'train', taskModelFolder(task, options.defaultModelDir));
  const emit = options.onEvent ?? (() => undefined);
  // 1. Data, read and checked before the lock: taking it makes the heads folder and tidies it
  // (lockHeads), which a task that cannot train (bad data, labels that do not match its levels)
  // has no business doing in whatever folder its task file names.
  if (task.kind === 'thoughtThenAnswer') {
    const data = readTrainingData(task, readGuidedDataset, emit);
    return holdingHeads(task, emit, () => trainThoughtTask(engine, task, options, data));
  }
  const data = readTrainingData(task, readHierarchicalDataset, emit);
  // Checked before the model loads: a task whose levels do not match its labels cannot train.
  checkTrainingTaxonomy(task, trainingTaxonomy(data.split));
  return holdingHeads(task, emit, () => trainClassifyTask(engine, task, options, data));
}

/** Runs `train` holding the task's heads folder (lockHeads: a second run refuses). */
async function holdingHeads(task: TaskDefinition, emit: (event: TrainEvent) => void, train: () => Promise<TrainReport>): Promise<TrainReport> {
  const release = lockHeads(task.headsDir);
  try {
    // A file of the user's where the run keeps its report is moved aside, not replaced (keptFile.ts).
    for (const message of setAsideForeignKeptFiles(task.headsDir, [KEPT_FILES.trainReport])) emit({ kind: 'stage', message });
    return await train();
  } finally {
    release();
  }
}

async function trainClassifyTask(engine: Engine, task: TaskDefinition, options: TrainTaskOptions, data: TrainingData<HierarchicalRecord>): Promise<TrainReport> {
  const emit = options.onEvent ?? (() => undefined);
  const { split, train, dev, skippedLines } = data;
  const taxonomy = trainingTaxonomy(split);

  // 2. Model and features: every level at its layer, and every level at the last layer (flat).
  const modelDir = taskModelFolder(task, options.defaultModelDir);
  const L0 = readModelConfig(join(modelDir, 'config.json')).numLayers;
  const layers = levelLayers(task, L0);
  // Exiting when sure: every level is also read at every exit layer, for its heads there.
  const exits = exitLayers(task, L0);
  const loaded = await engine.loadModel(modelDir, { cuts: segmentCuts([...layers, ...exits], L0) });
  try {
    const L = loaded.checkpoint.config.numLayers;
    const own = ownHeadCopy(loaded.checkpoint);
    // Training teacher-forces the sequences the classifier will decode: the same layout.
    const layout = new ClassificationLayout(sequenceFormat(loaded.requireTokenizer()), { taxonomy, system: task.system, listCandidates: task.listCandidates });
    // Each (level, layer) once: the last level's own read is also the flat head's, and a read
    // listed twice would give both heads its rows twice.
    const flat = options.flat ?? true;
    const reads = uniqueReads([...layers.map((layer, i) => ({ level: i + 1, layer })), ...(flat ? layers.map((_, i) => ({ level: i + 1, layer: L })) : []), ...exits.flatMap((layer) => layers.map((_, i) => ({ level: i + 1, layer })))]);
    const featuresStart = performance.now();
    let skippedTooLong = 0;
    // The examples that fit the context: what the heads learn from, and what the report counts.
    const used = { training: 0, dev: 0 };
    // Heads learn only where a label's next token is a choice among its siblings' (choiceSpans):
    // a forced token says nothing about the label, and leaving it out spares most rows.
    const extract = async (all: HierarchicalRecord[], what: 'training' | 'dev'): Promise<BackbonePass> => {
      const { fits: records, forced, tooLong } = fitToContext(loaded.model, layout, all);
      if (what === 'training' && records.length === 0) throw noExampleFitsError(task.dataset.train, contextRoom(loaded.checkpoint.config), tooLong, NOTHING_TRAINED);
      used[what] = records.length;
      skippedTooLong += reportTooLong(emit, what, tooLong.map(({ record, ...t }) => ({ id: record.id, ...t })), loaded.checkpoint.config.maxPositions);
      emit({ kind: 'stage', message: `running the backbone over ${records.length} ${what} examples` });
      const { sequences, choices } = choiceSequences(forced);
      const features = await extractSpanFeatures(loaded.model, layout.sharedPrefix(), sequences, { reads, ...backboneRuns(emit, options, loaded.checkpoint.fingerprint) });
      return { features, choices };
    };
    const trainData = await extract(train, 'training');
    checkLevelRows(trainData.features, (level) => layers[level - 1]!, used.training, task.dataset.train, NOTHING_TRAINED);
    const devData = await extract(dev, 'dev');
    const featureSeconds = (performance.now() - featuresStart) / 1000;

    // 3. One head per level, and the flat head on every level's tokens at the last layer. A
    // last level read at the last layer learns from every level's tokens there too, unless the
    // task asks for its own level's only (TrainSettings.lastLevelHead): the rows are extracted anyway.
    const all = layers.map((_, i) => i + 1);
    const levelsOf = (i: number): number[] => (i === layers.length - 1 && layers[i] === L && task.train.lastLevelHead === 'allLevels' ? all : [i + 1]);
    const plans = [...layers.map((layer, i) => ({ name: levelHeadName(i + 1), layer, levels: levelsOf(i) })), ...(flat ? [{ name: FLAT_HEAD, layer: L, levels: all }] : []), ...exitPlans(task, layers, exits, L)];
    const ctx = { task, taxonomy, own, fingerprint: loaded.checkpoint.fingerprint, config: loaded.checkpoint.config, emit, signal: options.signal, provider: loaded.model.provider };
    const facts = { examples: { train: used.training, dev: used.dev }, skippedLines, skippedTooLong, featureSeconds };
    // Awaited here, so that the model is released only after its heads are trained.
    return await trainHeads(plans, ctx, facts, (plan) => {
      // The head ranks only the tokens that are ever a choice at its levels (a few dozen rows
      // instead of the whole vocabulary); training and scoring normalise each row over its own choices.
      const subset = labelTokenSubset([layout.choiceTokens(plan.levels)]);
      const pick = (data: BackbonePass): FeatureSet => planRows(data, plan, subset, { hiddenSize: loaded.checkpoint.config.hiddenSize, own, settings: task.train });
      return { plan: { ...plan, subset: subset.ids, choices: true }, train: pick(trainData), dev: pick(devData) };
    });
  } finally {
    await loaded.release();
  }
}

/**
 * The heads a task that exits when sure adds: each level at each exit layer where neither its own
 * head (its own layer) nor the flat head (the last layer) serves (exitHeadName).
 */
function exitPlans(task: TaskDefinition, layers: readonly number[], exits: readonly number[], L: number): { name: string; layer: number; levels: number[] }[] {
  const known = new Set([...layers.map((_, i) => levelHeadName(i + 1)), FLAT_HEAD]);
  return exitHeadNames(task, exits, L).flatMap((names, i) => names.map((name, e) => ({ name, layer: exits[e]!, levels: [i + 1] }))).filter((p) => !known.has(p.name));
}
