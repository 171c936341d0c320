// `hdlm train`: fine-tune a task's heads and the flat baseline; `hdlm eval`: compare them.
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { Engine } from '../../engine';
import { evaluateTask, evaluationRecord, saveEvaluationRecord, savePredictions, type KeptRecord } from '../../hdlm/evaluateTask';
import type { EvaluationOptions } from '../../hdlm/evaluationCommon';
import { evaluateThoughtTask, type ThoughtEvaluationRecord } from '../../hdlm/evaluateThought';
import { describeDifference, describeMeanDifference, leftOutClause } from '../../hdlm/metrics';
import { readTaskFile, setStoppingField, TRAIN_NUMBER_RULES, type TaskDefinition } from '../../hdlm/taskFile';
import { retrainedNothing } from '../../hdlm/trainOutcome';
import { trainTask } from '../../hdlm/trainTask';
import { newestHeadTime } from '../../hdlm/headStore';
import { FLAT_HEAD, taskHeadNames } from '../../hdlm/taskSession';
import { taskDatasets, withResolvedFiles } from '../../hdlm/recordFile';
import { defaultTaskFile, hierarchyBeam, integer, number, taskModelDir, UsageError, Values } from '../args';
import { outputFile } from '../outputs';
import { createEngine } from './modelSession';
import { formatSeconds, ProgressBar, ProgressRate } from '../progress';

/**
 * The task file, with `--heads DIR` in place of its heads folder: a sweep trains and evaluates
 * variants side by side without editing the task file or touching the heads it names.
 */
function taskOf(values: Values): TaskDefinition {
  const task = readTaskFile(typeof values['task'] === 'string' ? values['task'] : defaultTaskFile());
  if (typeof values['heads'] === 'string') task.headsDir = resolve(values['heads']);
  return task;
}

export async function trainCommand(values: Values, signal: AbortSignal): Promise<void> {
  const task = taskOf(values);
  if (values['max-examples'] !== undefined) task.train.maxExamples = integer(values, 'max-examples', 0);
  if (values['epochs'] !== undefined) setStoppingField(task.train, 'epochs', integer(values, 'epochs', 1, 1));
  if (values['learning-rate'] !== undefined) {
    const lr = number(values, 'learning-rate', task.train.learningRate);
    const { check, rule } = TRAIN_NUMBER_RULES.learningRate;
    if (!check(lr)) throw new UsageError(`--learning-rate must be ${rule}, got ${String(values['learning-rate'])}`);
    task.train.learningRate = lr;
  }
  const engine = await createEngine(values);
  const bar = new ProgressBar();
  // --events: one JSON object per line on stdout, for the language server that runs this.
  const events = values['events'] === true;
  const report = await trainTask(engine, task, {
    defaultModelDir: taskModelDir(values, task),
    signal,
    // Default: hidden states kept in ~/.cache/hdlm/features, so a second run skips the backbone.
    ...(values['no-feature-cache'] === true ? { featureCache: false as const } : {}),
    onEvent: (e) => {
      if (events) process.stdout.write(`${JSON.stringify(e)}\n`);
      if (values['json'] || events) return;
      if (e.kind === 'stage') bar.line(`hdlm: ${e.message}`);
      else if (e.kind === 'features') bar.update('features', e.done, e.total, `${e.examplesPerS.toFixed(0)} ex/s · ETA ${formatSeconds(e.etaS)}`);
      else if (e.kind === 'progress') bar.update(`${e.head} epoch ${e.epoch}`, e.examples, e.epochExamples, `loss ${e.loss.toFixed(3)} · ${e.examplesPerS.toFixed(0)} rows/s · ETA ${formatSeconds(e.etaS)}`);
      else if (e.kind === 'epoch') bar.line(`${e.head} epoch ${e.epoch}: loss ${e.loss.toFixed(4)} acc ${(e.accuracy * 100).toFixed(1)}% · ${e.noDev ? 'no dev rows (saved: the last epoch is kept)' : `dev loss ${e.devLoss.toFixed(4)} acc ${(e.devAccuracy * 100).toFixed(1)}%${e.improved ? ' (best, saved)' : ''}`} · ${e.seconds.toFixed(1)} s`);
    },
  });
  if (events) {
    process.stdout.write(`${JSON.stringify({ kind: 'report', report })}\n`);
    return;
  }
  if (values['json']) {
    console.log(JSON.stringify(report, null, 2));
    return;
  }
  const reused = report.reused ?? [];
  const took = `${formatSeconds(report.seconds.features + report.seconds.training)} (features ${formatSeconds(report.seconds.features)})`;
  if (retrainedNothing(report)) {
    console.log(`all ${report.heads.length} heads were already trained with these settings and data; nothing retrained (their training on ${report.examples.train} examples took ${took})`);
  } else {
    const count = reused.length > 0 ? `${report.heads.length - reused.length} of ${report.heads.length}` : `${report.heads.length}`;
    const left = [`dev ${report.examples.dev}`, ...(report.skippedTooLong > 0 ? [`${report.skippedTooLong} too long for the context`] : []), `${report.skippedLines} line${report.skippedLines === 1 ? '' : 's'} skipped`];
    console.log(`trained ${count} heads on ${report.examples.train} examples (${left.join(', ')}) in ${took}${reused.length > 0 ? `; already trained: ${reused.join(', ')}` : ''}`);
  }
  for (const h of report.heads) console.log(`  ${h.name.padEnd(7)} layer ${String(h.layer).padStart(2)}  ${h.noDev ? `no dev rows: its last epoch, ${h.bestEpoch}, kept` : `best dev token accuracy ${(h.bestDevAccuracy * 100).toFixed(1)}% at epoch ${h.bestEpoch}`}${h.copyOf ? ` (${h.copyOf}'s weights: the same rows at the same layer)` : ''}`);
}

export async function evalCommand(values: Values, signal: AbortSignal): Promise<void> {
  const task = taskOf(values);
  // A task without trained heads is evaluated as untrained, on purpose; a --heads folder that is
  // not there is a mistyped path, and would quietly score the model's own head instead.
  if (typeof values['heads'] === 'string' && !existsSync(task.headsDir)) throw new UsageError(`--heads ${task.headsDir}: no such folder`);
  const file = evalFile(values);
  const predictionsFile = outputFile(values, 'predictions', { task, files: [['--file', file]] });
  const engine = await createEngine(values);
  const events = values['events'] === true;
  if (events) emit({ kind: 'stage', message: `evaluating ${task.name}` });
  if (task.kind === 'thoughtThenAnswer') return evalThought(task, engine, values, file, predictionsFile, signal);
  const bar = new ProgressBar();
  const result = await evaluateTask(engine, task, {
    defaultModelDir: taskModelDir(values, task),
    file,
    maxExamples: integer(values, 'max-examples', 0),
    ...hierarchyBeam(values),
    // Kept beside the record in any case (the editor's Show Mistakes reads them); --predictions also writes them where asked.
    keepPredictions: true,
    signal,
    ...evalCallbacks(events, bar),
  });
  const record = evaluationRecord(result);
  const saved = saveEvaluationRecord(task.headsDir, record, result.predictions ?? [], headsTrainedAt(task), taskDatasets(task));
  if (predictionsFile) savePredictions(predictionsFile, result.predictions ?? []);
  if (events) {
    emit({ kind: 'evaluation', evaluation: saved.written ?? record });
    return;
  }
  if (values['json']) {
    // The whole result, and what changed since the evaluation it replaced (the kept record's, its
    // file resolved: the record names it relative to the heads folder, scripts read it from here).
    const sincePrevious = saved.written && withResolvedFiles(task.headsDir, saved.written, taskDatasets(task)).sincePrevious;
    console.log(JSON.stringify(sincePrevious ? { ...result, sincePrevious } : result, null, 2));
    return;
  }
  bar.line(`${result.task} on ${result.file}: ${result.examples} examples${leftOutClause(result)}`);
  const depth = result.variants[0]!.metrics.levels.length;
  const head = ['variant', ...Array.from({ length: depth }, (_, d) => `L${d + 1} acc / F1`), 'joint', 'ms/ex', 'layer·pos/ex', 'L1 layer·pos'];
  const rows = result.variants.map((v) => [
    `${v.name} (${v.exitWhenSure ? `sure at ${v.exitWhenSure.layers.join('/')}` : v.layers.join(',')})${v.trainedHeads ? '' : ' untrained'}`,
    ...v.metrics.levels.map((l) => `${(l.accuracy * 100).toFixed(1)} / ${(l.macroF1 * 100).toFixed(1)}`),
    `${(v.metrics.jointAccuracy * 100).toFixed(1)}`,
    v.perExample.ms.toFixed(1),
    v.perExample.layerPositions.toFixed(0),
    v.perExample.level1LayerPositions.toFixed(0),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  for (const r of [head, ...rows]) console.log(r.map((c, i) => c.padEnd(widths[i]!)).join('  '));
  const beam = result.beam.beam === 1 ? 'greedy (hierarchy beam 1)' : `hierarchy beam ${result.beam.beam}, margin ${result.beam.margin}`;
  console.log(`level-1 compute of HdLM vs flat: ${(result.level1ComputeRatio * 100).toFixed(0)}%; ${beam}`);
  const exiting = result.variants[0]?.exitWhenSure;
  if (exiting) {
    const share = (x: number | null): string => (x === null ? '–' : `${(100 * x).toFixed(0)}%`);
    console.log(`HdLM exits when sure (τ ${exiting.threshold}): per level, the share decided at layer ${exiting.layers.join(' / ')} (and how many of those it got right):`);
    for (const [d, row] of exiting.decidedAt.entries()) console.log(`  level ${d + 1}  ${row.map(share).join(' / ')}  (right ${(exiting.accuracyAt?.[d] ?? []).map(share).join(' / ')})`);
  }
  // Whether a gap is a gap: only the examples one variant gets right and the other wrong count.
  console.log('HdLM minus flat, paired on the same examples (right by one only, HdLM against flat):');
  for (const [d, l] of result.comparison.levels.entries()) console.log(`  level ${d + 1}  ${describeDifference(l)}`);
  console.log(`  joint    ${describeDifference(result.comparison.joint)}`);
  console.log(keptLine(saved, record));
  for (const line of sincePreviousLines(saved)) console.log(line);
  if (predictionsFile) console.log(`each example's gold path and both variants' decisions in ${predictionsFile}`);
}

/** --events: one JSON object per line on stdout, for the language server that runs `hdlm eval`. */
function emit(event: object): void {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

/** What `hdlm eval` tells while it runs: notices and progress as --events lines, else notices on stderr and a progress bar. */
function evalCallbacks(events: boolean, bar: ProgressBar): Pick<EvaluationOptions, 'onNotice' | 'onProgress'> {
  const rate = new ProgressRate();
  return {
    onNotice: (message) => (events ? emit({ kind: 'stage', message }) : console.error(`hdlm: ${message}`)),
    onProgress: (variant, done, total) => {
      if (!events) return bar.update(`eval ${variant}`, done, total);
      const r = rate.update(variant, done, total);
      if (r) emit({ kind: 'evalProgress', variant, done, total, ...r });
    },
  };
}

/**
 * `--file FILE` made absolute (the record names it relative to the heads folder, recordFile.ts),
 * checked before the model loads: a mistyped path is the option's fault, not the task file's,
 * and the reader's own message would send the user to the task's dataset paths.
 */
function evalFile(values: Values): string | undefined {
  if (typeof values['file'] !== 'string') return undefined;
  const file = resolve(values['file']);
  if (!existsSync(file)) throw new UsageError(`--file ${file}: no such file`);
  if (!statSync(file).isFile()) throw new UsageError(`--file ${file}: not a file; name a JSON Lines dataset`);
  return file;
}

/** `hdlm eval` of a thought-then-answer task: HdLM (thought at layer k, then the answer) vs the flat answer. */
async function evalThought(task: TaskDefinition, engine: Engine, values: Values, file: string | undefined, predictionsFile: string | undefined, signal: AbortSignal): Promise<void> {
  const events = values['events'] === true;
  const { record, predictions } = await evaluateThoughtTask(engine, task, {
    defaultModelDir: taskModelDir(values, task),
    file,
    maxExamples: integer(values, 'max-examples', 0),
    keepPredictions: true,
    signal,
    ...evalCallbacks(events, new ProgressBar()),
  });
  const saved = saveEvaluationRecord(task.headsDir, record, predictions ?? [], headsTrainedAt(task), taskDatasets(task));
  if (predictionsFile) savePredictions(predictionsFile, predictions ?? []);
  const pct = (x: number | undefined): string => (x === undefined ? '—' : `${(x * 100).toFixed(1)}`);
  const lines = [
    `${record.task} on ${record.file}: ${record.examples} examples${record.tooLong > 0 ? ` (${record.tooLong} too long, left out)` : ''}`,
    ...record.variants.map(
      (v) =>
        `  ${`${v.name} (${v.layers.join(',')})${v.trainedHeads ? '' : ' untrained'}`.padEnd(20)} thought ${pct(v.thoughtAccuracy).padStart(5)}%  answer ${pct(v.answerAccuracy).padStart(5)}%  answer NLL ${v.answerNll?.toFixed(3) ?? '—'}${v.answerNllGoldThought === undefined ? '' : ` (${v.answerNllGoldThought.toFixed(3)} after the gold thought)`}  ${v.msPerExample.toFixed(1)} ms/ex  ${v.layerPositionsPerExample.toFixed(0)} layer·pos/ex`,
    ),
    `  answer NLL: nats per answer token, teacher-forced, on the ${record.likelihoodExamples} examples whose answers the heads can produce; lower is better`,
    ...thoughtComparisonLines(record),
    keptLine(saved, record),
    ...sincePreviousLines(saved),
    ...(predictionsFile ? [`each example's thought, answers and answer NLLs in ${predictionsFile}`] : []),
  ];
  if (events) {
    emit({ kind: 'thoughtEvaluation', evaluation: saved.written ?? record });
    return;
  }
  if (values['json']) {
    // Files resolved, as a classification's --json gives them (the kept record names them relative to the heads folder).
    console.log(JSON.stringify(withResolvedFiles(task.headsDir, saved.written ?? record, taskDatasets(task)), null, 2));
    return;
  }
  for (const l of lines) console.log(l);
}

/** When the task's newest head was saved: a kept evaluation older than that measured other heads. */
function headsTrainedAt(task: TaskDefinition): string | undefined {
  return newestHeadTime(task.headsDir, [...taskHeadNames(task), FLAT_HEAD]);
}

/** HdLM now against the evaluation this one replaced, per measure, paired on the examples both measured. */
function sincePreviousLines(saved: KeptRecord): string[] {
  const since = saved.written?.sincePrevious;
  // A record kept without the comparison says why, where the comparison would be.
  if (!since) return saved.notCompared === undefined ? [] : [`not compared with the previous evaluation: ${saved.notCompared}`];
  const width = Math.max(...since.changes.map((c) => c.measure.length));
  return [
    `HdLM now minus the previous evaluation (${since.finishedAt}), paired on the ${since.examples} examples both measured (fixed against broken):`,
    ...since.changes.map((c) => `  ${c.measure.padEnd(width)}  ${(c.previous * 100).toFixed(1)} → ${(c.now * 100).toFixed(1)} %: ${describeDifference(c.difference)}`),
  ];
}

/** Where the record went, or why the kept one stays. */
function keptLine(saved: KeptRecord, record: { examples: number; sampledFrom?: number }): string {
  if (!saved.kept) return `record kept in ${saved.file}`;
  return `a sample (${record.examples} of ${record.sampledFrom} examples), so not kept: ${saved.file} keeps the whole evaluation of ${saved.kept.finishedAt} (${saved.kept.examples} examples, made since the heads were last trained)`;
}

/** HdLM minus flat, paired on the same examples: does the thought help the answer beyond chance? */
function thoughtComparisonLines(record: ThoughtEvaluationRecord): string[] {
  const c = record.comparison;
  if (!c) return [];
  return [
    '  HdLM minus flat, paired on the same examples:',
    `    answer exact match             ${describeDifference(c.answer)}`,
    ...(c.answerNll ? [`    answer NLL after HdLM's thought ${describeMeanDifference(c.answerNll, 'nats/token')}`] : []),
    ...(c.answerNllGoldThought ? [`    answer NLL after the gold one   ${describeMeanDifference(c.answerNllGoldThought, 'nats/token')}`] : []),
    ...(c.answerNllByThought?.right ? [`      where HdLM's thought was right ${describeMeanDifference(c.answerNllByThought.right, 'nats/token')}`] : []),
    ...(c.answerNllByThought?.wrong ? [`      where it was wrong            ${describeMeanDifference(c.answerNllByThought.wrong, 'nats/token')}`] : []),
  ];
}
