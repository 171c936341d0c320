// Fine-tuning a thought-then-answer task (levels [{ layer: k }, { layer: "last" }]): 1. the
// {"input", "thought", "answer"} data, read and split by trainTask before it takes the heads
// folder, 2. run the frozen backbone once over the
// teacher-forced sequences in the format thoughtThenAnswer.ts decodes, caching the hidden states
// of the thought's tokens (and its closing token) at layer k and of the answer's tokens (and its
// closing token) at the last layer, and once more over the same examples without the thought
// turn for the flat baseline, 3. train the `thought`, `answer` and `flat` heads with the same
// trainer, settings, early stopping, saves and resume points as classification heads, 4. write
// the report.
import { join } from 'node:path';
import type { Engine } from '../engine';
import { readModelConfig } from '../checkpoint/config';
import type { FeatureSet } from '../train/headTrainer';
import type { GuidedRecord } from './dataset/formats';
import { extractSpanFeatures } from './features';
import type { LayerFeatures } from './layerFeatures';
import { ownHeadCopy } from './headStore';
import { sequenceFormat, systemPrefix, thoughtThenAnswerSequence, type SpannedSequence } from './sequenceFormat';
import type { TaskDefinition } from './taskFile';
import { ANSWER_HEAD, FLAT_HEAD, taskModelFolder, THOUGHT_HEAD } from './taskSession';
import { contextRoom, noExampleFitsError } from './contextFit';
import { backboneRuns, labelTokenSubset, rowsAt } from './headRows';
import { NOTHING_TRAINED, reportTooLong, type TrainingData } from './trainingData';
import { trainHeads } from './trainHeads';
import type { TrainReport, TrainTaskOptions } from './trainTypes';

/** A record's teacher-forced sequences: with the thought (HdLM) and without it (flat). */
interface Example {
  record: GuidedRecord;
  withThought: SpannedSequence;
  flat: SpannedSequence;
}

/** Steps 2 on of a thought-then-answer task; step 1, `data`, is read by trainTask before it takes the heads folder. */
export async function trainThoughtTask(engine: Engine, task: TaskDefinition, options: TrainTaskOptions, data: TrainingData<GuidedRecord>): Promise<TrainReport> {
  const emit = options.onEvent ?? (() => undefined);
  const { train: trainRecords, dev: devRecords, skippedLines } = data;

  // 2. Model and features.
  const modelDir = taskModelFolder(task, options.defaultModelDir);
  const L0 = readModelConfig(join(modelDir, 'config.json')).numLayers;
  const k = task.levels[0];
  if (typeof k !== 'number' || k >= L0) throw new Error(`${task.path}: levels[0].layer (the thought's layer) must be below the model's last layer ${L0}, got ${JSON.stringify(k)}`);
  const loaded = await engine.loadModel(modelDir, { cuts: [k] });
  try {
    const L = loaded.checkpoint.config.numLayers;
    const H = loaded.checkpoint.config.hiddenSize;
    const own = ownHeadCopy(loaded.checkpoint);
    const format = sequenceFormat(loaded.requireTokenizer());
    const prefix = systemPrefix(format, task.system);
    let skippedTooLong = 0;
    const examples = (records: GuidedRecord[], what: string): Example[] => {
      // An input that alone needs more positions than the context is skipped without tokenizing it (Tokenizer.fewestTokens).
      const fewest = (r: GuidedRecord): number => prefix.length + format.fewestContentTokens(r.input);
      const surely = records.filter((r) => fewest(r) > loaded.checkpoint.config.maxPositions);
      const all = records.filter((r) => fewest(r) <= loaded.checkpoint.config.maxPositions).map((record) => ({
        record,
        withThought: thoughtThenAnswerSequence(format, record.input, record.thought, record.answer),
        flat: thoughtThenAnswerSequence(format, record.input, undefined, record.answer),
      }));
      // Too long is skipped and reported, never truncated (a cut answer would teach something else).
      const tokens = (e: Example): number => prefix.length + e.withThought.ids.length;
      const fits = all.filter((e) => tokens(e) <= loaded.checkpoint.config.maxPositions);
      const tooLong = all.filter((e) => tokens(e) > loaded.checkpoint.config.maxPositions);
      const named = [...surely.map((r) => ({ id: r.id, tokens: fewest(r), atLeast: true as const })), ...tooLong.map((e) => ({ id: e.record.id, tokens: tokens(e) }))];
      if (what === 'training' && fits.length === 0) throw noExampleFitsError(task.dataset.train, contextRoom(loaded.checkpoint.config), named.map(({ id, ...t }) => ({ record: { id }, ...t })), NOTHING_TRAINED);
      skippedTooLong += reportTooLong(emit, what, named, loaded.checkpoint.config.maxPositions);
      return fits;
    };
    const train = examples(trainRecords, 'training');
    const dev = examples(devRecords, 'dev');
    const featuresStart = performance.now();
    const extract = async (sequences: SpannedSequence[], reads: { level: number; layer: number }[], what: string): Promise<LayerFeatures[]> => {
      emit({ kind: 'stage', message: `running the backbone over ${sequences.length} ${what} sequences` });
      return extractSpanFeatures(loaded.model, prefix, sequences, { reads, ...backboneRuns(emit, options, loaded.checkpoint.fingerprint) });
    };
    // Span 1 is the thought (read at layer k), span 2 the answer (read at the last layer).
    const hdlmReads = [{ level: 1, layer: k }, { level: 2, layer: L }];
    const flatReads = [{ level: 2, layer: L }];
    const trainHdlm = await extract(train.map((e) => e.withThought), hdlmReads, 'training');
    const devHdlm = await extract(dev.map((e) => e.withThought), hdlmReads, 'dev');
    const trainFlat = await extract(train.map((e) => e.flat), flatReads, 'training (flat, no thought)');
    const devFlat = await extract(dev.map((e) => e.flat), flatReads, 'dev (flat, no thought)');
    const featureSeconds = (performance.now() - featuresStart) / 1000;

    // 3. The thought head at layer k, the answer head and the flat head at the last layer, each
    // choosing among the tokens its targets use in the training and dev data.
    const targetTokens = (level: number): number[][] => [...train, ...dev].map((e) => (e.withThought.spans[level - 1] ?? []).map((i) => e.withThought.ids[i]!));
    const plans = [
      { name: THOUGHT_HEAD, layer: k, level: 1, features: [trainHdlm, devHdlm] },
      { name: ANSWER_HEAD, layer: L, level: 2, features: [trainHdlm, devHdlm] },
      { name: FLAT_HEAD, layer: L, level: 2, features: [trainFlat, devFlat] },
    ] as const;
    const ctx = { task, own, fingerprint: loaded.checkpoint.fingerprint, config: loaded.checkpoint.config, emit, signal: options.signal, provider: loaded.model.provider };
    const facts = { examples: { train: train.length, dev: dev.length }, skippedLines, skippedTooLong, featureSeconds };
    // Awaited here, so that the model is released only after its heads are trained.
    return await trainHeads(plans, ctx, facts, (plan) => {
      const subset = labelTokenSubset(targetTokens(plan.level));
      const pick = (features: LayerFeatures[]): FeatureSet => rowsAt(features, { layer: plan.layer, levels: [plan.level] }, subset, { hiddenSize: H, own, settings: task.train });
      return { plan: { name: plan.name, layer: plan.layer, levels: [plan.level], subset: subset.ids }, train: pick(plan.features[0]), dev: pick(plan.features[1]) };
    });
  } finally {
    await loaded.release();
  }
}
