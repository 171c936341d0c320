// A job's view, rebuilt from its events: what the server's journal keeps and lists, and what
// the client's progress notification says. Pure (no I/O), so both sides and the unit tests use
// the same reading of every event.
import { layerScanSummary } from '../../engine/src/hdlm/layerScanMarkdown';
import type { TaskDefinition } from '../../engine/src/hdlm/taskFile';
import { basename } from 'node:path';
import { JOB_VERBS, describeDifference, describeMeanDifference, leftOutClause, signedFigure, retrainedNothing, type EvaluationSummary, type JobEvent, type JobKind, type JobPlan, type JobView, type SincePrevious, type ThoughtEvaluationSummary } from './protocol';

/** Loss points kept per head for the curve; older points are thinned out, not dropped. */
const MAX_LOSS_POINTS = 400;

export function newJobView(jobId: string, kind: JobKind, task: string, now = new Date(), plan?: JobPlan): JobView {
  return { jobId, kind, task, state: 'running', line: 'starting', fraction: 0, overall: 0, ...(plan ? { plan } : {}), heads: [], startedAt: now.toISOString() };
}

/**
 * The plan of a job on a task, as known from its file: fine-tuning trains a head per level and
 * the flat baseline's (a task that exits when sure has more, which the scale absorbs as they
 * come), each for up to `train.epochs`; an evaluation runs HdLM, then flat.
 */
export function jobPlan(kind: JobKind, task: Pick<TaskDefinition, 'levels' | 'train'>): JobPlan {
  if (kind === 'train') return { heads: task.levels.length + 1, epochs: task.train.epochs };
  if (kind === 'evaluate') return { variants: 2 };
  return {};
}

/** Share of a training or scan job's whole that its backbone pass takes; the heads share the rest. */
export const BACKBONE_SHARE = 0.3;

/**
 * Where the whole job stands after an event, 0..1, on one scale for all its stages: the backbone
 * pass its share, then each head × epoch (training) or each layer-scan head an equal part of the
 * rest; an evaluation's variants each an equal part. Stages run in order, so a later stage's
 * progress is further along than all of an earlier one's. A head that needs no training (already
 * trained with these settings and data, or a copy of its twin) is done at once (`headSkipped`):
 * it takes its place among the stages, so the heads after it fill their own parts of the scale,
 * not the skipped ones', and the bar does not stand still over it to jump when the job ends. A
 * head cut short (early stopping) leaves epochs of its part unused: the heads after it share
 * what is left of the bar from where it stopped (`job.headsFrom`), so the bar neither leaps over
 * the unused epochs at the next head nor goes back. Undefined for events that say nothing of it.
 * `job.stages` gains the head or variant the event names.
 */
export function overallAfter(job: JobView, event: JobEvent): number | undefined {
  const stageIndex = (name: string): number => {
    const stages = (job.stages ??= []);
    if (!stages.includes(name)) stages.push(name);
    return stages.indexOf(name);
  };
  switch (event.kind) {
    case 'features':
      // The training pass and then the dev pass each count from 0: the first is most of the work.
      return job.kind === 'evaluate' ? undefined : BACKBONE_SHARE * (event.done / Math.max(1, event.total));
    case 'progress': {
      const index = headStage(job, event.head);
      const epochs = Math.max(job.plan?.epochs ?? 1, event.epoch);
      return headsShare(job, index, (event.epoch - 1) + Math.min(1, event.examples / Math.max(1, event.epochExamples)), epochs);
    }
    case 'headSkipped': {
      const epochs = job.plan?.epochs ?? 1;
      return headsShare(job, headStage(job, event.head), epochs, epochs);
    }
    case 'scanCell':
      return BACKBONE_SHARE + (1 - BACKBONE_SHARE) * Math.min(1, event.done / Math.max(1, event.total));
    case 'evalProgress': {
      const index = stageIndex(event.variant);
      const variants = Math.max(job.plan?.variants ?? 1, job.stages!.length);
      return (index + Math.min(1, event.done / Math.max(1, event.total))) / variants;
    }
    default:
      return undefined;
  }
}

/**
 * The index of a training job's head among its stages. A head seen for the first time after
 * others starts the scale afresh from where the bar stands (`headsFrom`): an earlier head that
 * stopped early left its unused epochs behind, and they are shared out among the heads still to
 * come instead of being skipped over in one leap.
 */
function headStage(job: JobView, head: string): number {
  const stages = (job.stages ??= []);
  const known = stages.indexOf(head);
  if (known >= 0) return known;
  stages.push(head);
  const index = stages.length - 1;
  if (index > 0) job.headsFrom = { stage: index, at: Math.max(BACKBONE_SHARE, job.overall ?? 0) };
  return index;
}

/**
 * Where `units` epochs done of head `index` (each of `epochs`) put a training job: the heads from
 * `headsFrom` on (at first, all of them after the backbone's share) share the rest of the bar
 * equally, in order; more heads than planned widen the scale.
 */
function headsShare(job: JobView, index: number, units: number, epochs: number): number {
  const heads = Math.max(job.plan?.heads ?? 1, job.stages?.length ?? 0);
  const { stage, at } = job.headsFrom ?? { stage: 0, at: BACKBONE_SHARE };
  const done = (index - stage) * epochs + units;
  return at + (1 - at) * Math.min(1, Math.max(0, done) / (Math.max(1, heads - stage) * epochs));
}

/**
 * What to add to a progress bar that sums increments (VS Code's notification) and shows
 * `reported` percent, so that it shows `overall` (0..1) of the job: never negative, never past 100.
 */
export function progressIncrement(reported: number, overall: number): number {
  return Math.max(0, Math.min(100, overall * 100) - reported);
}

/**
 * What a window's status says of other windows' running jobs on its workspace (their views from
 * the journal): "fine-tuning wn.hdlm.json 42 % in another window" for one, "2 jobs in other
 * windows" for several; undefined for none. A job from a journal written before `overall`
 * existed has no percent.
 */
export function elsewhereSummary(running: readonly JobView[]): string | undefined {
  if (running.length === 0) return undefined;
  if (running.length > 1) return `${running.length} jobs in other windows`;
  const job = running[0]!;
  const percent = job.overall === undefined ? '' : ` ${Math.floor(job.overall * 100)} %`;
  return `${JOB_VERBS[job.kind]} ${basename(job.task)}${percent} in another window`;
}

/** Applies one event to a job's view (pure apart from the view itself; unit-tested). */
export function applyJobEvent(job: JobView, event: JobEvent, now = new Date()): void {
  const overall = overallAfter(job, event);
  if (overall !== undefined) job.overall = Math.max(job.overall ?? 0, overall);
  const head = (name: string): JobView['heads'][number] => {
    let h = job.heads.find((x) => x.name === name);
    if (!h) job.heads.push((h = { name, layer: undefined, losses: [], devAccuracy: [] }));
    return h;
  };
  const end = (state: JobView['state'], line: string): void => {
    job.state = state;
    job.line = line;
    job.endedAt = now.toISOString();
  };
  /** A job that reached its result: the whole of its last stage done. */
  const done = (line: string): void => {
    job.fraction = 1;
    job.overall = 1;
    end('done', line);
  };
  switch (event.kind) {
    case 'stage':
      job.line = event.message;
      return;
    case 'features':
      job.fraction = event.done / Math.max(1, event.total);
      job.line = `backbone pass ${event.done}/${event.total} · ${event.examplesPerS.toFixed(0)} ex/s · ETA ${event.etaS.toFixed(0)} s`;
      return;
    case 'progress':
      job.fraction = event.examples / Math.max(1, event.epochExamples);
      job.line = `${event.head} epoch ${event.epoch} · ${event.examplesPerS.toFixed(0)} rows/s · ETA ${event.etaS.toFixed(0)} s`;
      addLoss(head(event.head), event.loss);
      return;
    case 'epoch':
      head(event.head).devAccuracy.push(event.devAccuracy);
      addLoss(head(event.head), event.loss);
      job.line = `${event.head} epoch ${event.epoch}: dev accuracy ${(event.devAccuracy * 100).toFixed(1)}%${event.improved ? ' (saved)' : ''}`;
      return;
    case 'saved':
    case 'headSkipped':
      // The stage message before it told people why; it moves only the scale.
      return;
    case 'report':
      for (const h of event.report.heads) head(h.name).layer = h.layer;
      // A rerun with the same settings retrains nothing, and its report keeps the earlier timings.
      done(retrainedNothing(event.report)
        ? `nothing retrained: all ${event.report.heads.length} heads were already trained with these settings and data`
        : `done in ${(event.report.seconds.features + event.report.seconds.training).toFixed(0)} s on ${event.report.examples.train} examples`);
      return;
    case 'evalProgress':
      job.fraction = event.done / Math.max(1, event.total);
      job.line = `evaluating ${event.variant} ${event.done}/${event.total} · ${event.examplesPerS.toFixed(0)} ex/s · ETA ${event.etaS.toFixed(0)} s`;
      return;
    case 'evaluation':
      job.evaluation = event.evaluation;
      done(evaluationLine(event.evaluation));
      return;
    case 'thoughtEvaluation':
      job.thoughtEvaluation = event.evaluation;
      done(thoughtEvaluationLine(event.evaluation));
      return;
    case 'scanCell':
      job.fraction = event.done / Math.max(1, event.total);
      job.line = `head ${event.done}/${event.total}: level ${event.level} at layer ${event.layer}, ${percent(event.accuracy)} of dev labels right`;
      return;
    case 'layerScan':
      job.layerScan = event.scan;
      done(layerScanSummary(event.scan));
      return;
    case 'failed':
      end('failed', event.message);
      return;
    case 'cancelled':
      end('cancelled', job.kind === 'train' ? 'cancelled; the last saved heads are kept' : 'cancelled');
      return;
  }
}

function addLoss(head: JobView['heads'][number], loss: number): void {
  head.losses.push(loss);
  if (head.losses.length > MAX_LOSS_POINTS) head.losses = head.losses.filter((_, i) => i % 2 === 1);
}

const percent = (x: number | undefined): string => (x === undefined ? '?' : `${(x * 100).toFixed(1)}%`);

/** "; joint HdLM minus the previous evaluation (800 paired) +0.4 points (95 % CI …)", or '' for a first evaluation. */
function sinceClause(since: SincePrevious | undefined, measure: string): string {
  const change = since?.changes.find((c) => c.measure === measure);
  return since && change ? `; ${measure} HdLM minus the previous evaluation (${since.examples} paired) ${describeDifference(change.difference)}` : '';
}

/**
 * "wordnet on 800 examples: joint accuracy 8.3% (HdLM, layers 4,6,8) vs 7.5% (flat, layers 8,8,8);
 * level-1 compute 50% of flat; joint HdLM minus flat +0.8 points (95 % CI …)", and the joint
 * change since the previous evaluation when it replaced one. Examples left out or counted wrong
 * for want of their labels follow the count: "on 798 examples (2 too long, left out): …". HdLM exiting when sure says so:
 * "(HdLM, sure at 4/6/8, τ 0.9)".
 */
export function evaluationLine(e: EvaluationSummary): string {
  const where = (v: EvaluationSummary['variants'][number]): string => (v.exitWhenSure ? `sure at ${v.exitWhenSure.layers.join('/')}, τ ${v.exitWhenSure.threshold}` : `layers ${v.layers.join(',')}`);
  const variants = e.variants.map((v) => `${percent(v.jointAccuracy)} (${v.name === 'hdlm' ? 'HdLM' : 'flat'}, ${where(v)})`).join(' vs ');
  // Records from before the paired comparison lack it.
  const paired = e.comparison ? `; joint HdLM minus flat ${describeDifference(e.comparison.joint)}` : '';
  return `${e.task} on ${e.examples} examples${leftOutClause(e)}: joint accuracy ${variants}; level-1 compute ${(e.level1ComputeRatio * 100).toFixed(0)}% of flat${paired}${sinceClause(e.sincePrevious, 'joint')}`;
}

/**
 * "thought on 200 examples: answer 0.0% (HdLM, thought 7.0%, NLL 5.12) vs 0.0% (flat, NLL 5.30);
 * answer NLL HdLM minus flat −0.180 nats/token (95 % CI …)", and the answer's change since the
 * previous evaluation when it replaced one.
 */
export function thoughtEvaluationLine(e: ThoughtEvaluationSummary): string {
  // Records from before the likelihoods were measured lack answerNll, and older ones the comparison.
  const nll = (x: number | undefined): string => (x === undefined ? '' : `, NLL ${x.toFixed(2)}`);
  const [hdlm, flat] = e.variants;
  const paired = e.comparison?.answerNll ? `; answer NLL HdLM minus flat ${describeMeanDifference(e.comparison.answerNll, 'nats/token')}` : '';
  // Where the thought was right and where wrong (records from before 2026-12-06 lack it).
  const split = e.comparison?.answerNllByThought;
  const apart = [split?.right && `${signedFigure(split.right.difference, 3)} where HdLM's thought was right`, split?.wrong && `${signedFigure(split.wrong.difference, 3)} where wrong`].filter(Boolean);
  const byThought = apart.length > 0 ? `; ${apart.join(', ')}` : '';
  return `${e.task} on ${e.examples} examples: answer ${percent(hdlm?.answerAccuracy)} (HdLM, thought ${percent(hdlm?.thoughtAccuracy)}${nll(hdlm?.answerNll)}) vs ${percent(flat?.answerAccuracy)} (flat${nll(flat?.answerNll)})${paired}${byThought}${sinceClause(e.sincePrevious, 'answer')}`;
}
