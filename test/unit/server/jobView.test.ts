// The one-line summaries of a finished evaluation (the job list, the client's notification and
// its log): what they say of the paired comparison, and that records from before it still read;
// and how a layer scan's job reads as it goes and when it ends.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyJobEvent, elsewhereSummary, evaluationLine, jobPlan, newJobView, progressIncrement, thoughtEvaluationLine } from '../../../server/src/jobView';
import type { TrainSettings } from '../../../engine/src/hdlm/taskFile';
import type { EvaluationSummary, JobEvent, LayerScan, ThoughtEvaluationSummary, TrainReportSummary } from '../../../server/src/protocol';

const variant = (name: 'hdlm' | 'flat', joint: number, layers: number[]): EvaluationSummary['variants'][number] => ({
  name,
  layers,
  levels: [{ level: 1, accuracy: joint, macroF1: joint }],
  jointAccuracy: joint,
  msPerExample: 1,
  layerPositionsPerExample: 10,
  trainedHeads: true,
});

const classification: EvaluationSummary = {
  task: 'wordnet',
  file: 'test.jsonl',
  examples: 1000,
  tooLong: 0,
  variants: [variant('hdlm', 0.541, [4, 8]), variant('flat', 0.545, [8, 8])],
  level1ComputeRatio: 0.56,
  finishedAt: '2026-12-05T14:42:48.000Z',
};

test('a classification evaluation line gives the joint gap with its interval and p-value', () => {
  const joint = { aOnly: 30, bOnly: 34, difference: -0.004, ci95: [-0.012, 0.003] as [number, number], pValue: 0.708 };
  const line = evaluationLine({ ...classification, comparison: { levels: [joint], joint } });
  assert.equal(
    line,
    'wordnet on 1000 examples: joint accuracy 54.1% (HdLM, layers 4,8) vs 54.5% (flat, layers 8,8); level-1 compute 56% of flat; joint HdLM minus flat −0.4 points (95 % CI −1.2 to +0.3, McNemar p 0.71; 30 against 34 examples)',
  );
  // A record kept before the comparison existed reads as it did.
  assert.equal(evaluationLine(classification), 'wordnet on 1000 examples: joint accuracy 54.1% (HdLM, layers 4,8) vs 54.5% (flat, layers 8,8); level-1 compute 56% of flat');
  // What the evaluation left out, or counted wrong for want of the labels, follows the count (the job's notices named them as it ran).
  assert.match(
    evaluationLine({ ...classification, tooLong: 2, skippedLines: 1, unknownLabels: 3 }),
    /^wordnet on 1000 examples \(2 too long, left out; 1 line skipped; 3 with gold labels never seen in training, counted wrong\): joint accuracy 54\.1% /,
  );
  assert.match(evaluationLine({ ...classification, skippedLines: 0, unknownLabels: 0 }), /^wordnet on 1000 examples: joint/);
  // HdLM exiting when sure names its exits and threshold instead of the layers of its first decisions.
  const exitWhenSure = { threshold: 0.9, layers: [4, 6, 8], decidedAt: [[0.8, 0.1, 0.1], [0.6, 0.3, 0.1]] };
  const [hdlm, flat] = classification.variants;
  assert.match(evaluationLine({ ...classification, variants: [{ ...hdlm!, exitWhenSure }, flat!] }), /joint accuracy 54\.1% \(HdLM, sure at 4\/6\/8, τ 0\.9\) vs 54\.5% \(flat, layers 8,8\);/);
});

test('a thought evaluation line gives the answer likelihood gap when the record has one', () => {
  const thought: ThoughtEvaluationSummary = {
    kind: 'thoughtThenAnswer',
    task: 'thought',
    file: 'test.jsonl',
    examples: 200,
    tooLong: 0,
    likelihoodExamples: 194,
    variants: [
      { name: 'hdlm', thoughtAccuracy: 0.605, answerAccuracy: 0.015, answerNll: 3.149, answerNllGoldThought: 3.142, msPerExample: 1, layerPositionsPerExample: 10, layers: [4, 8], trainedHeads: true },
      { name: 'flat', answerAccuracy: 0.005, answerNll: 3.175, msPerExample: 1, layerPositionsPerExample: 10, layers: [8], trainedHeads: true },
    ],
    samples: [],
    finishedAt: '2026-12-05T15:00:00.000Z',
  };
  const before = 'thought on 200 examples: answer 1.5% (HdLM, thought 60.5%, NLL 3.15) vs 0.5% (flat, NLL 3.17)';
  assert.equal(thoughtEvaluationLine(thought), before);
  const answerNll = { difference: -0.026, ci95: [-0.061, 0.009] as [number, number], pValue: 0.146, examples: 194 };
  const answer = { aOnly: 3, bOnly: 1, difference: 0.01, ci95: [-0.01, 0.03] as [number, number], pValue: 0.625 };
  assert.equal(thoughtEvaluationLine({ ...thought, comparison: { answer, answerNll } }), `${before}; answer NLL HdLM minus flat −0.026 nats/token (95 % CI −0.061 to +0.009, p 0.15; 194 examples)`);
  const right = { ...answerNll, difference: -0.004, examples: 120 };
  const wrong = { ...answerNll, difference: 0.019, examples: 74 };
  assert.equal(
    thoughtEvaluationLine({ ...thought, comparison: { answer, answerNll, answerNllByThought: { right, wrong } } }),
    `${before}; answer NLL HdLM minus flat −0.026 nats/token (95 % CI −0.061 to +0.009, p 0.15; 194 examples); −0.004 where HdLM's thought was right, +0.019 where wrong`,
  );
});

test('an evaluation that replaced an earlier one ends its line with the change since, paired', () => {
  const joint = { aOnly: 12, bOnly: 4, difference: 0.008, ci95: [-0.001, 0.017] as [number, number], pValue: 0.077 };
  const sincePrevious = { finishedAt: '2026-12-05T10:00:00.000Z', file: 'test.jsonl', examples: 1000, changes: [{ measure: 'level 1', previous: 0.6, now: 0.6, difference: { ...joint, aOnly: 0, bOnly: 0, difference: 0, pValue: 1 } }, { measure: 'joint', previous: 0.533, now: 0.541, difference: joint }] };
  assert.equal(
    evaluationLine({ ...classification, sincePrevious }),
    'wordnet on 1000 examples: joint accuracy 54.1% (HdLM, layers 4,8) vs 54.5% (flat, layers 8,8); level-1 compute 56% of flat; joint HdLM minus the previous evaluation (1000 paired) +0.8 points (95 % CI −0.1 to +1.7, McNemar p 0.08; 12 against 4 examples)',
  );
});

test('a layer scan\'s job moves by heads trained and ends with the suggested layers', () => {
  const job = newJobView('job-7', 'scan', '/ws/wn.hdlm.json');
  applyJobEvent(job, { kind: 'scanCell', level: 1, layer: 3, accuracy: 0.512, done: 3, total: 12, seconds: 0.4 });
  assert.equal(job.fraction, 0.25);
  assert.equal(job.line, 'head 3/12: level 1 at layer 3, 51.2% of dev labels right');
  const cells = (accuracies: number[]) => accuracies.map((accuracy, i) => ({ layer: i + 1, accuracy, tokenAccuracy: accuracy, bestEpoch: 1, epochs: 2, trainRows: 10 }));
  const even = { aOnly: 0, bOnly: 0, difference: 0, ci95: [0, 0] as [number, number], pValue: 1 };
  const scan: LayerScan = {
    format: 'hdlm-layer-scan/1', task: 'wn', modelFingerprint: 'f', numLayers: 4, current: [2, 'last'], suggested: [1, 3], tolerance: 0.01,
    examples: { train: 80, dev: 200 }, layers: [1, 2, 3, 4],
    levels: [
      { level: 1, cells: cells([0.8, 0.8, 0.7, 0.7]), best: 1, suggested: 1, suggestedVsBest: even },
      { level: 2, cells: cells([0.1, 0.2, 0.595, 0.6]), best: 4, suggested: 3, suggestedVsBest: { ...even, bOnly: 1, difference: -0.005 } },
    ],
    settings: { epochs: 2, patience: 2, learningRate: 0.001, batchSize: 32, seed: 0 }, seconds: { features: 1, training: 1 }, finishedAt: '2026-12-06T19:00:00.000Z',
  };
  applyJobEvent(job, { kind: 'layerScan', scan });
  assert.equal(job.state, 'done');
  assert.equal(job.layerScan, scan);
  assert.equal(job.line, 'wn: suggested layers 1, 3 (the task has 2, last); level 1 80.0 % at layer 1 (best 80.0 % at 1); level 2 59.5 % at layer 3 (best 60.0 % at 4); on 200 dev examples');
  const cancelled = newJobView('job-8', 'scan', '/ws/wn.hdlm.json');
  applyJobEvent(cancelled, { kind: 'cancelled' });
  assert.equal(cancelled.line, 'cancelled');
});

/** What the client's notification does with a job's events: the sum of the increments it reports, after each event. */
function barAfterEach(view: ReturnType<typeof newJobView>, events: JobEvent[]): number[] {
  let reported = 0;
  return events.map((event) => {
    applyJobEvent(view, event);
    reported += progressIncrement(reported, view.overall ?? 0);
    return reported;
  });
}

const features = (done: number, total: number): JobEvent => ({ kind: 'features', done, total, examplesPerS: 100, etaS: 1 });
const progress = (head: string, epoch: number, examples: number): JobEvent => ({ kind: 'progress', head, epoch, examples, epochExamples: 100, loss: 1, examplesPerS: 100, etaS: 1 });
const epochEnd = (head: string, epoch: number): JobEvent => ({ kind: 'epoch', head, epoch, loss: 1, accuracy: 0.5, devLoss: 1, devAccuracy: 0.5, improved: true, seconds: 1 });

test('a fine-tuning job fills the progress bar once, in order: the backbone pass, then each head × epoch', () => {
  // Two levels and the flat baseline, two epochs each: the plan the server reads from the task file.
  const view = newJobView('train-1', 'train', '/t.hdlm.json', new Date(), jobPlan('train', { levels: [2, 'last'], train: { epochs: 2 } as TrainSettings }));
  const events: JobEvent[] = [
    { kind: 'stage', message: 'running the backbone over 100 training examples' },
    features(50, 100),
    features(100, 100),
    // The dev pass counts from 0 again: the bar must not move back.
    features(10, 20),
    features(20, 20),
    ...['level1', 'level2', 'flat'].flatMap((head) => [1, 2].flatMap((epoch) => [progress(head, epoch, 50), progress(head, epoch, 100), epochEnd(head, epoch)])),
    { kind: 'report', report: { task: 't', examples: { train: 100, dev: 20 }, heads: [], seconds: { features: 1, training: 1 } } as unknown as TrainReportSummary },
  ];
  const bar = barAfterEach(view, events);
  for (let i = 1; i < bar.length; i++) assert.ok(bar[i]! >= bar[i - 1]!, `the bar only grows: ${bar.join(', ')}`);
  assert.ok(bar.every((b) => b <= 100), `the increments sum to at most 100: ${bar.join(', ')}`);
  // After the backbone pass: its share. After the first head's first epoch: one sixth of the rest more.
  assert.equal(Math.round(bar[4]!), 30);
  assert.equal(Math.round(bar[7]!), Math.round(30 + 70 / 6));
  assert.equal(Math.round(bar[bar.length - 2]!), 100, 'the last head done: the whole bar');
  assert.equal(bar[bar.length - 1], 100);
});

test('an evaluation gives each variant its part of the bar, and the heads after one that stops early share what it left', () => {
  const evaluation = newJobView('evaluate-1', 'evaluate', '/t.hdlm.json', new Date(), jobPlan('evaluate', { levels: [2, 'last'], train: { epochs: 2 } as TrainSettings }));
  const evalProgress = (variant: string, done: number): JobEvent => ({ kind: 'evalProgress', variant, done, total: 10, examplesPerS: 10, etaS: 1 });
  const bar = barAfterEach(evaluation, [evalProgress('hdlm', 5), evalProgress('hdlm', 10), evalProgress('flat', 5), evalProgress('flat', 10)]);
  assert.deepEqual(bar.map(Math.round), [25, 50, 75, 100]);
  // Early stopping: level1 stops after its first epoch of two; level2 goes on from there, over the rest of the bar.
  const train = newJobView('train-2', 'train', '/t.hdlm.json', new Date(), { heads: 2, epochs: 2 });
  const steps = barAfterEach(train, [features(1, 1), progress('level1', 1, 100), progress('level2', 1, 50)]);
  const afterLevel1 = 30 + 70 / 4;
  assert.deepEqual(steps.map(Math.round), [30, Math.round(afterLevel1), Math.round(afterLevel1 + (100 - afterLevel1) * 0.5 / 2)]);
});

test('a head that stops early does not make the bar leap at the next head: it moves on smoothly, never back, and ends full', () => {
  // Three heads planned for ten epochs each; level1 stops after epoch 3 (patience), as trainTask's loop does.
  const view = newJobView('train-5', 'train', '/t.hdlm.json', new Date(), jobPlan('train', { levels: [2, 'last'], train: { epochs: 10 } as TrainSettings }));
  const epochOf = (head: string, epoch: number): JobEvent[] => [progress(head, epoch, 25), progress(head, epoch, 50), progress(head, epoch, 75), progress(head, epoch, 100), epochEnd(head, epoch)];
  const saved = (head: string): JobEvent => ({ kind: 'saved', head, file: `/heads/${head}.safetensors` });
  const events: JobEvent[] = [
    features(100, 100),
    ...[1, 2, 3].flatMap((epoch) => epochOf('level1', epoch)),
    saved('level1'),
    { kind: 'stage', message: 'training level2' },
    ...[1, 2, 3, 4, 5, 6, 7, 8, 9, 10].flatMap((epoch) => epochOf('level2', epoch)),
    ...[1, 2, 3, 4, 5, 6, 7, 8, 9, 10].flatMap((epoch) => epochOf('flat', epoch)),
    { kind: 'report', report: { task: 't', examples: { train: 100, dev: 20 }, heads: [], seconds: { features: 1, training: 1 } } as unknown as TrainReportSummary },
  ];
  const bar = barAfterEach(view, events);
  const steps = bar.slice(1).map((b, i) => b - bar[i]!);
  assert.ok(steps.every((d) => d >= 0), `the bar only grows: ${bar.map(Math.round).join(', ')}`);
  // A quarter of an epoch per progress event: no step may be more than one epoch of a head's part (70 % of the bar / 30 head-epochs).
  const oneEpoch = 70 / 30;
  const biggest = Math.max(...steps.slice(0, -1));
  assert.ok(biggest <= oneEpoch, `the largest step is ${biggest.toFixed(2)} points, more than one epoch's ${oneEpoch.toFixed(2)}: ${bar.map(Math.round).join(', ')}`);
  // The last head's last epoch fills the bar: nothing is left for the report to make up.
  assert.equal(Math.round(bar[bar.length - 2]!), 100);
  assert.equal(bar[bar.length - 1], 100);
});

test('without a plan (a job from an older journal) the bar still only grows and stays within 100', () => {
  const view = newJobView('train-3', 'train', '/t.hdlm.json');
  const bar = barAfterEach(view, [features(1, 1), progress('level1', 1, 100), progress('level1', 2, 100), progress('level2', 1, 50), progress('level2', 3, 100)]);
  for (let i = 1; i < bar.length; i++) assert.ok(bar[i]! >= bar[i - 1]!, bar.join(', '));
  assert.ok(bar.every((b) => b <= 100), bar.join(', '));
});

test('heads a rerun skips (already trained, or copies of a twin) count as done at once: the bar neither stands still over them nor jumps at the end', () => {
  const view = newJobView('train-4', 'train', '/t.hdlm.json', new Date(), jobPlan('train', { levels: [2, 'last'], train: { epochs: 2 } as TrainSettings }));
  const skipped = (head: string): JobEvent => ({ kind: 'headSkipped', head, reason: 'alreadyTrained' });
  const bar = barAfterEach(view, [
    features(1, 1),
    { kind: 'stage', message: 'level1: already trained with these settings and data (2 epochs); skipping' },
    skipped('level1'),
    skipped('level2'),
    progress('flat', 1, 100),
    progress('flat', 2, 50),
    progress('flat', 2, 100),
  ]);
  // Three heads of two epochs: each skipped head is a third of the rest at once, and flat fills the last third.
  assert.deepEqual(bar.map(Math.round), [30, 30, Math.round(30 + 70 / 3), Math.round(30 + 140 / 3), Math.round(30 + 70 * 5 / 6), Math.round(30 + 70 * 5.5 / 6), 100]);
});

test("other windows' running jobs in a few words for the status: one with how far it is, several counted", () => {
  const running = (id: string, overall?: number): ReturnType<typeof newJobView> => {
    const view = newJobView(id, 'train', '/ws/wn.hdlm.json');
    if (overall === undefined) delete view.overall;
    else view.overall = overall;
    return { ...view, elsewhere: true };
  };
  assert.equal(elsewhereSummary([]), undefined);
  assert.equal(elsewhereSummary([running('train-1-abcd', 0.429)]), 'fine-tuning wn.hdlm.json 42 % in another window');
  assert.equal(elsewhereSummary([running('train-1-abcd')]), 'fine-tuning wn.hdlm.json in another window', 'an entry of an older journal, without overall');
  assert.equal(elsewhereSummary([running('train-1-abcd', 0.1), { ...running('evaluate-2-abcd', 0.2), kind: 'evaluate' }]), '2 jobs in other windows');
});
