// Steps 3 and 4 of training, for every task kind: each planned head trained with early stopping
// (or copied from its twin, or skipped when already trained), its best epoch saved, and the run's
// report written. The layer scan builds its trainers here too (createHeadTrainer).
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeAtomically } from '../checkpoint/safetensors';
import { CancelledError } from '../model/segmentedModel';
import { MIN_STEPS_PER_EPOCH, stoppingSchedule } from '../train/stoppingSchedule';
import { HeadTrainer, type EpochResult, type FeatureSet, type HeadTrainerState, type TrainProgress } from '../train/headTrainer';
import { HEAD_FORMAT, copyHead, readManifest, rewriteTaxonomy, saveHead, type HeadManifest } from './headStore';
import { dataDigest, readResume, resumeKey, resumePath, writeResume } from './headResume';
import { headNorm } from './headRows';
import { Taxonomy } from './taxonomy';
import type { HeadContext, HeadPlan, HeadReport, TrainReport } from './trainTypes';

/** What a run measured before training its heads, for its report. */
interface TrainFacts {
  examples: { train: number; dev: number };
  skippedLines: number;
  skippedTooLong: number;
  featureSeconds: number;
}

/** A head ready to train: its plan and its training and dev rows. */
interface PreparedHead {
  plan: HeadPlan;
  train: FeatureSet;
  dev: FeatureSet;
}

/**
 * Steps 3 and 4 of every task kind: trains the planned heads one after another into the task's
 * heads folder, then writes the report beside them. Each head's rows are prepared just before it
 * trains, so only one head's copy of the features is held at a time. A plan that learns from the
 * very rows of an earlier one at its layer (the last level's head under lastLevelHead
 * "allLevels" and the flat head) would train to the same weights, training being seeded and
 * deterministic: it gets a copy of the earlier head instead of a second training.
 */
export async function trainHeads<P>(plans: readonly P[], ctx: HeadContext, facts: TrainFacts, prepare: (plan: P) => PreparedHead): Promise<TrainReport> {
  mkdirSync(ctx.task.headsDir, { recursive: true });
  const trainingStart = performance.now();
  const reused: string[] = [];
  const done: TrainedHead[] = [];
  if (facts.examples.dev === 0) {
    ctx.emit({ kind: 'stage', message: `no dev examples (the dev split is empty, or all of it too long for the context): no epoch can be chosen on dev, so each head keeps its last epoch; name a dev file (dataset.dev) or raise train.devFraction to choose on dev` });
  }
  for (const p of plans) {
    const { plan, train, dev } = prepare(p);
    if (facts.examples.dev > 0 && dev.targets.length === 0) ctx.emit({ kind: 'stage', message: `${plan.name}: no dev rows at its levels; it keeps its last epoch` });
    const data = dataDigest(plan, train, dev);
    const twin = done.find((d) => d.data === data && d.plan.layer === plan.layer && sameLevels(d.plan, plan) && d.plan.choices === plan.choices);
    const head = twin ? copyTwin(twin, plan, data, ctx) : await trainHead(plan, train, dev, ctx, data);
    done.push({ plan, data, report: head.report });
    if (head.reused) reused.push(plan.name);
  }
  const heads = done.map((d) => d.report);
  const reportFile = join(ctx.task.headsDir, 'train-report.json');
  // A rerun that retrained nothing leaves the folder as it was (shipped heads stay unmodified in
  // git): the earlier run's report, with its timings, remains the record of how they were made.
  const earlier = reused.length === plans.length ? readEarlierReport(reportFile, ctx.fingerprint, heads) : undefined;
  if (earlier) return { ...earlier, reused };
  const report: TrainReport = {
    task: ctx.task.name,
    modelFingerprint: ctx.fingerprint,
    examples: facts.examples,
    skippedLines: facts.skippedLines,
    skippedTooLong: facts.skippedTooLong,
    heads,
    seconds: { features: facts.featureSeconds, training: (performance.now() - trainingStart) / 1000 },
    ...(reused.length > 0 ? { reused } : {}),
  };
  writeAtomically(reportFile, [Buffer.from(`${JSON.stringify(report, null, 1)}\n`)]);
  return report;
}

/** A head this run trained or found trained, and the digest of its rows (dataDigest). */
interface TrainedHead {
  plan: HeadPlan;
  data: string;
  report: HeadReport;
}

function sameLevels(a: HeadPlan, b: HeadPlan): boolean {
  return a.levels.length === b.levels.length && a.levels.every((l, i) => l === b.levels[i]);
}

/**
 * Head `plan` as a copy of `twin`, which learned from the same rows at the same layer: its
 * weights saved again under the plan's name, and a finished resume point, so a rerun skips it
 * as it skips a trained head.
 */
function copyTwin(twin: TrainedHead, plan: HeadPlan, data: string, ctx: HeadContext): { report: HeadReport; reused: boolean } {
  const key = resumeKey(ctx, data);
  const resume = readResume(ctx, plan.name, key);
  if (resume?.finished) return skipFinished(plan, resume.report, ctx);
  const report: HeadReport = { ...twin.report, name: plan.name, copyOf: twin.plan.name };
  const written = copyHead(ctx.task.headsDir, twin.plan.name, plan.name, { ...report, settings: ctx.task.train });
  ctx.emit({ kind: 'stage', message: `${plan.name}: the same rows at the same layer as ${twin.plan.name}, so the same weights; copied instead of trained again` });
  ctx.emit({ kind: 'saved', head: plan.name, file: join(ctx.task.headsDir, written.weightsFile) });
  writeResume(resumePath(ctx, plan.name), { ...key, finished: true }, report);
  ctx.emit({ kind: 'headSkipped', head: plan.name, reason: 'copied' });
  return { report, reused: false };
}

/**
 * A head a rerun finds finished with these settings and data (and still on disk): reported, not
 * trained again, its stored taxonomy made the run's (keepTaxonomyCurrent).
 */
function skipFinished(plan: HeadPlan, report: HeadReport, ctx: HeadContext): { report: HeadReport; reused: true } {
  const epochs = report.copyOf ? '' : ` (${report.epochs.length} epochs)`;
  ctx.emit({ kind: 'stage', message: `${plan.name}: already trained with these settings and data${epochs}; skipping` });
  keepTaxonomyCurrent(plan.name, ctx);
  ctx.emit({ kind: 'headSkipped', head: plan.name, reason: 'alreadyTrained' });
  return { report, reused: true };
}

/**
 * Rewrites a skipped head's stored taxonomy when it is not the run's. Its rows can stay the same
 * while the taxonomy changes: a level-1 head's hidden states come before any deeper label
 * (causal attention), so renaming, splitting or merging a level-2 label leaves its rows, and its
 * weights, exactly as a fresh training would make them. Sessions read the taxonomy from the first
 * head that stores one, so a stale one there would offer the old labels. Rewriting the manifest
 * keeps the head (putting the taxonomy into the resume key instead would retrain it to the same
 * weights, and make every resume point written before it unusable); a run whose taxonomy did not
 * change rewrites nothing. It also moves a manifest written as an object (TaxonomyJson.parents)
 * with integer-like labels to the training order.
 */
function keepTaxonomyCurrent(name: string, ctx: HeadContext): void {
  if (!ctx.taxonomy) return;
  const stored = readManifest(ctx.task.headsDir, name).taxonomy;
  if (stored && Taxonomy.fromJSON(stored).equals(ctx.taxonomy)) return;
  rewriteTaxonomy(ctx.task.headsDir, name, ctx.taxonomy.toJSON());
  ctx.emit({ kind: 'stage', message: `${name}: its stored labels updated to this run's taxonomy (the head itself is unchanged)` });
}

/** The report already in the heads folder when it describes exactly these heads for this model; else undefined. */
function readEarlierReport(file: string, fingerprint: string, heads: readonly HeadReport[]): TrainReport | undefined {
  try {
    const report = JSON.parse(readFileSync(file, 'utf8')) as TrainReport;
    if (report.modelFingerprint !== fingerprint || JSON.stringify(report.heads) !== JSON.stringify(heads)) return undefined;
    return report;
  } catch {
    return undefined; // missing or unreadable: the rerun writes a fresh one
  }
}

/** Trains one head with early stopping on dev token accuracy; saves its best epoch. `data`: dataDigest of its rows. */
async function trainHead(plan: HeadPlan, train: FeatureSet, dev: FeatureSet, ctx: HeadContext, data: string): Promise<{ report: HeadReport; reused: boolean }> {
  const path = resumePath(ctx, plan.name);
  const key = resumeKey(ctx, data);
  const resume = readResume(ctx, plan.name, key);
  if (resume?.finished) return skipFinished(plan, resume.report, ctx);
  const s = ctx.task.train;
  const trainer = await createHeadTrainer(plan, ctx, resume?.state, (p) => {
    const left = (p.epochExamples - p.examples) / Math.max(p.examplesPerS, 1e-9);
    ctx.emit({ kind: 'progress', head: plan.name, epoch: p.epoch + 1, examples: p.examples, epochExamples: p.epochExamples, loss: p.loss, examplesPerS: p.examplesPerS, etaS: left });
  });
  const report: HeadReport = resume?.report ?? { name: plan.name, layer: plan.layer, levels: plan.levels, epochs: [], bestEpoch: 0, bestDevAccuracy: -1, trainRows: train.targets.length };
  // Without dev rows no epoch is better than another (an accuracy of 0 on none would beat the
  // starting -1 once, and keep epoch 1): every epoch is saved, so the last one stays.
  const noDev = dev.targets.length === 0;
  if (noDev) report.noDev = true;
  // Small datasets count epochs of at least MIN_STEPS_PER_EPOCH steps (stoppingSchedule).
  const schedule = stoppingSchedule(train.targets.length, s.batchSize, s);
  if (schedule.factor > 1 && report.epochs.length === 0) ctx.emit({ kind: 'stage', message: `${plan.name}: ${train.targets.length} rows make ${Math.ceil(train.targets.length / s.batchSize)} steps an epoch, fewer than ${MIN_STEPS_PER_EPOCH}: at most ${schedule.epochs} epochs, patience ${schedule.patience} (what the task leaves to the defaults, ${s.defaulted?.join(' and ')}, ×${schedule.factor})` });
  try {
    let stale = report.epochs.length - report.bestEpoch;
    for (let epoch = report.epochs.length + 1; epoch <= schedule.epochs && stale < schedule.patience; epoch++) {
      if (ctx.signal?.aborted) throw new CancelledError();
      const result: EpochResult = await trainer.epoch(train, ctx.signal);
      const devResult = noDev ? { loss: 0, accuracy: 0 } : await trainer.evaluate(dev);
      const improved = noDev || devResult.accuracy > report.bestDevAccuracy;
      report.epochs.push({ epoch, loss: result.loss, accuracy: result.accuracy, devLoss: devResult.loss, devAccuracy: devResult.accuracy, seconds: result.seconds });
      ctx.emit({ kind: 'epoch', head: plan.name, epoch, loss: result.loss, accuracy: result.accuracy, devLoss: devResult.loss, devAccuracy: devResult.accuracy, improved, seconds: result.seconds, ...(noDev ? { noDev } : {}) });
      if (improved) {
        report.bestEpoch = epoch;
        report.bestDevAccuracy = devResult.accuracy;
        const file = save(plan, trainer, ctx, report);
        ctx.emit({ kind: 'saved', head: plan.name, file });
        stale = 0;
      } else {
        stale++;
      }
      writeResume(path, { ...key, finished: false }, report, trainer);
    }
    // Done: keep only the record, so a rerun with the same settings and data skips this head.
    writeResume(path, { ...key, finished: true }, report);
    return { report, reused: false };
  } finally {
    await trainer.release();
  }
}

/**
 * The trainer of one planned head, as the task's settings say: initialised from the model's own
 * head (and norm), over the plan's token subset. The layer scan (layerScan.ts) trains with the
 * same, so that its figure at a layer is what fine-tuning a head there would reach.
 */
export function createHeadTrainer(plan: HeadPlan, ctx: Pick<HeadContext, 'task' | 'own' | 'config' | 'provider'>, resume?: HeadTrainerState, onProgress?: (p: TrainProgress) => void): Promise<HeadTrainer> {
  const s = ctx.task.train;
  const trained = headNorm(ctx.own, s) === 'trained';
  return HeadTrainer.create({
    hiddenSize: ctx.config.hiddenSize,
    vocabSize: ctx.config.vocabSize,
    normEps: trained ? ctx.config.normEps : undefined,
    bias: false,
    choiceMask: plan.choices ?? false,
    lowRank: s.headKind === 'lowRank' ? s.rank : undefined,
    init: { weight: ctx.own.weight, normWeight: trained ? ctx.own.norm?.weight : undefined },
    vocabSubset: plan.subset,
    optimizer: { lr: s.learningRate, weightDecay: s.weightDecay },
    batchSize: s.batchSize,
    seed: s.seed,
    provider: ctx.provider,
    resume,
    onProgress,
  });
}

function save(plan: HeadPlan, trainer: HeadTrainer, ctx: HeadContext, report: HeadReport): string {
  const p = trainer.params();
  const lowRank = ctx.task.train.headKind === 'lowRank';
  const manifest: Omit<HeadManifest, 'weightsFile'> = {
    format: HEAD_FORMAT,
    name: plan.name,
    layer: plan.layer,
    task: ctx.task.name,
    modelFingerprint: ctx.fingerprint,
    // A full head trained on its labels' rows changed only those rows: store just them.
    kind: lowRank ? 'lowRank' : 'rows',
    ...(lowRank ? { rank: ctx.task.train.rank } : {}),
    ...(ctx.task.train.headNorm === 'none' ? { norm: 'none' as const } : {}),
    ...(ctx.taxonomy ? { taxonomy: ctx.taxonomy.toJSON() } : {}),
    vocabSubset: Array.from(plan.subset),
    ...(plan.choices ? { labelScoring: 'choices' as const } : {}),
    training: { ...report, settings: ctx.task.train },
    createdAt: new Date().toISOString(),
    vocabSize: ctx.config.vocabSize,
    hiddenSize: ctx.config.hiddenSize,
  };
  const written = saveHead(ctx.task.headsDir, manifest, { normWeight: p.norm_weight, weight: p.weight, lowRankA: p.lora_a, lowRankB: p.lora_b });
  return join(ctx.task.headsDir, written.weightsFile);
}
