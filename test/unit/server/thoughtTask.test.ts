// A thought-then-answer task in the server: Think Then Answer uses the task's trained thought and
// answer heads and its prompt (so it reproduces what they were trained on), classification is
// refused with a clear error while the layer view still reads out, the task summary lists the
// thought/answer/flat heads, an evaluation job ends with a `thoughtEvaluation` event whose record
// the summary and the job list then carry as `thoughtEvaluation`, and an unreadable record is left
// out with a log line naming it.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { Engine } from '../../../engine/src/index';
import { readTaskFile } from '../../../engine/src/hdlm/taskFile';
import { trainTask } from '../../../engine/src/hdlm/trainTask';
import type { JobEvent } from '../../../server/src/protocol';
import { startWorkspaceServer } from '../../support/workspaceServer';
import { writeTinyModel } from '../../support/tinyCheckpoint';

const root = resolve(__dirname, '..', '..', '..', '..');
let workspace: string;

before(async () => {
  workspace = mkdtempSync(join(tmpdir(), 'hdlm-ws-thought-'));
  process.env['XDG_CACHE_HOME'] = join(workspace, '.cache');
  writeTinyModel(join(workspace, 'model'), root);
  const rows = [
    ['a dog that barks at night', 'animal', 'dog'], ['a small bird with a short tail', 'animal', 'bird'],
    ['a cat that purrs on the mat', 'animal', 'cat'], ['a striped horse that runs', 'animal', 'zebra'],
    ['an oak with wide branches', 'plant', 'tree'], ['green stuff on a lawn', 'plant', 'grass'],
    ['a rose with red petals', 'plant', 'flower'], ['a tulip in the spring garden', 'plant', 'tulip'],
  ];
  writeFileSync(join(workspace, 'words.jsonl'), rows.map(([input, thought, answer]) => JSON.stringify({ input, thought, answer })).join('\n'));
  writeFileSync(
    join(workspace, 'words.hdlm.json'),
    JSON.stringify({ name: 'words', kind: 'thoughtThenAnswer', model: 'model', system: 'Name the thing.', dataset: { train: 'words.jsonl', dev: 'words.jsonl', test: 'words.jsonl' }, levels: [{ layer: 2 }, { layer: 'last' }], train: { epochs: 40, patience: 40, batchSize: 8, learningRate: 0.05, weightDecay: 0 } }),
  );
  const engine = await Engine.create({ providers: ['cpu'], threads: 1 });
  await trainTask(engine, readTaskFile(join(workspace, 'words.hdlm.json')), { defaultModelDir: join(workspace, 'model') });
});

after(() => rmSync(workspace, { recursive: true, force: true }));

function startServer(): ReturnType<typeof startWorkspaceServer> {
  return startWorkspaceServer(root, workspace, { task: 'words.hdlm.json' });
}

test('think then answer uses the task\'s trained thought and answer heads', async () => {
  const { server } = await startServer();
  const result = await server.thinkThenAnswer({ text: 'a dog that barks at night' });
  assert.equal(result.thoughtLayer, 2);
  assert.equal(result.thought, 'animal');
  assert.equal(result.answer, 'dog');
  await assert.rejects(server.classify({ text: 'a dog' }), /thoughtThenAnswer task: it thinks then answers, it does not classify/);
  const layers = await server.layers({ text: 'a dog' });
  assert.equal(layers.classification, undefined);
  assert.equal(layers.readouts.length, 5);
  server.dispose();
});

test('the summary lists the thought task\'s heads; its evaluation job ends with a thoughtEvaluation event', async () => {
  const { server, client } = await startServer();
  const summary = server.taskSummary({ task: 'words.hdlm.json' });
  assert.deepEqual(summary.heads.map((h) => [h.name, h.layer]), [['thought', 2], ['answer', 4], ['flat', 4]]);
  const { jobId } = await server.evaluate({ task: 'words.hdlm.json', maxExamples: 4 });
  const end = await new Promise<JobEvent>((resolveEnd, reject) => {
    const deadline = Date.now() + 60_000;
    const poll = (): void => {
      const found = client.progress.find((p) => p.jobId === jobId && ['thoughtEvaluation', 'evaluation', 'failed', 'cancelled'].includes(p.event.kind));
      if (found) resolveEnd(found.event);
      else if (Date.now() > deadline) reject(new Error('the evaluation job did not end'));
      else setTimeout(poll, 50);
    };
    poll();
  });
  assert.equal(end.kind, 'thoughtEvaluation', JSON.stringify(end));
  if (end.kind !== 'thoughtEvaluation') return;
  assert.equal(end.evaluation.examples, 4);
  assert.deepEqual(end.evaluation.variants.map((v) => v.name), ['hdlm', 'flat']);
  assert.equal(end.evaluation.variants[0]!.thoughtAccuracy, 1);
  assert.ok(existsSync(join(workspace, 'heads', 'words', 'evaluation.json')));
  // The kept record comes back as a thought evaluation, never as a classification one.
  const kept = server.taskSummary({ task: 'words.hdlm.json' });
  assert.equal(kept.evaluation, undefined);
  assert.equal(kept.thoughtEvaluation?.examples, 4);
  // Kept relative to the heads folder (the job's event carries it so), shown resolved.
  assert.equal(end.evaluation.file, '../../words.jsonl');
  assert.equal(kept.thoughtEvaluation?.file, join(workspace, 'words.jsonl'));
  assert.deepEqual(kept.thoughtEvaluation?.variants.map((v) => v.answerAccuracy), end.evaluation.variants.map((v) => v.answerAccuracy));
  const [job] = server.listJobs().jobs;
  assert.equal(job!.state, 'done');
  assert.equal(job!.thoughtEvaluation?.samples.length, end.evaluation.samples.length);
  assert.equal(job!.evaluation, undefined);
  server.dispose();
});

test('an evaluation.json that is not JSON, or of neither shape, is left out and named in the log', async () => {
  const { server, client } = await startServer();
  const file = join(workspace, 'heads', 'words', 'evaluation.json');
  for (const text of ['{"kind": "thoughtThenAnswer", "examples": 4, "variants": [', JSON.stringify({ kind: 'somethingElse', examples: 1, variants: [] })]) {
    writeFileSync(file, text);
    const summary = server.taskSummary({ task: 'words.hdlm.json' });
    assert.equal(summary.evaluation, undefined);
    assert.equal(summary.thoughtEvaluation, undefined);
    assert.equal(summary.heads.length, 3, 'the heads are still listed');
    assert.ok(client.lines.some((l) => l.includes(file)), client.lines.join('\n'));
    client.lines.length = 0;
  }
  server.dispose();
});
