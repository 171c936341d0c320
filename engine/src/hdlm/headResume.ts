// A head's resume points (`.<head>.resume.json`, and `.safetensors` while it is unfinished, in the
// heads folder): the trainer's state after every epoch, so that a cancelled run continues where it
// stopped, and a finished head's record, so that a rerun with the same settings and data (dataDigest) skips it.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { SafetensorsFile, writeAtomically, writeSafetensors } from '../checkpoint/safetensors';
import type { FeatureSet, HeadTrainer, HeadTrainerState } from '../train/headTrainer';
import { readManifest } from './headStore';
import type { HeadContext, HeadPlan, HeadReport } from './trainTypes';

interface ResumeKey {
  fingerprint: string;
  seed: number;
  /** The training settings, serialised: a resume point only continues the same run. */
  settings: string;
  /**
   * Digest of what the head learns from (dataDigest): an edited dataset, prompt or taxonomy
   * changes the rows, so a rerun trains again instead of keeping heads of the old data.
   */
  data: string;
  finished: boolean;
}

export function resumePath(ctx: HeadContext, name: string): string {
  return join(ctx.task.headsDir, `.${name}.resume`);
}

export function resumeKey(ctx: HeadContext, data: string): Omit<ResumeKey, 'finished'> {
  const s = ctx.task.train;
  return { fingerprint: ctx.fingerprint, seed: s.seed, settings: JSON.stringify(s), data };
}

/** Whether head `name`'s manifest reads and its weights file is beside it. */
function headOnDisk(dir: string, name: string): boolean {
  try {
    return existsSync(join(dir, readManifest(dir, name).weightsFile));
  } catch {
    return false;
  }
}

/** SHA-256 of a head's token subset and its training and dev rows with their targets and choices, each with its length. */
export function dataDigest(plan: HeadPlan, train: FeatureSet, dev: FeatureSet): string {
  const hash = createHash('sha256');
  const choices = (set: FeatureSet) => (set.choices ? [set.choices.offsets, set.choices.classes] : [new Int32Array(0)]);
  for (const a of [plan.subset, train.x, train.targets, ...choices(train), dev.x, dev.targets, ...choices(dev)]) {
    hash.update(`${a.length};`);
    hash.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  }
  return hash.digest('hex');
}

/**
 * Version 3 added `data`, version 4 the rows' choices to it (heads learn choices only); an older
 * resume point is not trusted, so its head trains again.
 */
const RESUME_FORMAT = 'hdlm-resume/4';

interface ResumeFile extends ResumeKey {
  format: typeof RESUME_FORMAT;
  report: HeadReport;
  /** The trainer's counters; only an unfinished head's are read. */
  step?: number;
  epoch?: number;
  rng?: number;
}

/**
 * A resume point after every epoch: the trainer's tensors (parameters and moments) in
 * `<path>.safetensors`, the rest in `<path>.json`, written in that order so the JSON only ever
 * describes tensors that are fully on disk. A finished head keeps only the JSON (and needs no trainer).
 */
export function writeResume(path: string, key: ResumeKey, report: HeadReport, trainer?: HeadTrainer): void {
  let counters = {};
  if (key.finished) {
    rmSync(`${path}.safetensors`, { force: true });
  } else {
    if (!trainer) throw new Error('head training: an unfinished resume point needs its trainer');
    const snap = trainer.snapshot();
    writeSafetensors(`${path}.safetensors`, Object.fromEntries(Object.entries(snap.tensors).map(([k, v]) => [k, { dtype: 'F32' as const, shape: [v.length], data: v }])));
    counters = { step: snap.step, epoch: snap.epoch, rng: snap.rng };
  }
  const file: ResumeFile = { format: RESUME_FORMAT, ...key, report, ...counters };
  writeAtomically(`${path}.json`, [Buffer.from(JSON.stringify(file))]);
}

/**
 * A resume point of the same run, or undefined (a damaged or foreign one is ignored: training
 * restarts). One that has saved a best epoch counts only while head `name` is still in the
 * task's heads folder: a head whose files were deleted trains again, from the start.
 */
export function readResume(ctx: HeadContext, name: string, key: Omit<ResumeKey, 'finished'>): { report: HeadReport; state?: HeadTrainerState; finished: boolean } | undefined {
  const path = resumePath(ctx, name);
  if (!existsSync(`${path}.json`)) return undefined;
  try {
    const file = JSON.parse(readFileSync(`${path}.json`, 'utf8')) as ResumeFile;
    if (file.format !== RESUME_FORMAT || file.fingerprint !== key.fingerprint || file.seed !== key.seed || file.settings !== key.settings || file.data !== key.data) return undefined;
    // The resume point describes a saved best epoch that must still be there.
    if ((file.finished || file.report.bestEpoch > 0) && !headOnDisk(ctx.task.headsDir, name)) return undefined;
    if (file.finished) return { report: file.report, finished: true };
    if (file.step === undefined || file.epoch === undefined || file.rng === undefined) return undefined;
    const st = SafetensorsFile.open(`${path}.safetensors`);
    const tensors = Object.fromEntries(st.names().map((name) => [name, st.read(name)]));
    return { report: file.report, state: { step: file.step, epoch: file.epoch, rng: file.rng, tensors }, finished: false };
  } catch {
    return undefined;
  }
}
