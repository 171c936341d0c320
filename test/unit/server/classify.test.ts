// hdlm/classify through the server's handler class with a fake client: a small model and task
// in a temporary workspace, the busy status around the job, clear errors for bad requests and a
// missing task, and a cancelled request answered as cancelled.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { CancellationTokenSource, LSPErrorCodes, ResponseError } from 'vscode-languageserver';
import { FakeClient } from '../../support/fakeClient';
import { startWorkspaceServer } from '../../support/workspaceServer';
import { ErrorCodes, type GenerationStepParams, type JobEvent } from '../../../server/src/protocol';
import { Tokenizer } from '../../../engine/src/tokenizer';
import { writeTinyModel } from '../../support/tinyCheckpoint';
import { headsFolderNotice } from '../../../server/src/taskFacts';

const root = resolve(__dirname, '..', '..', '..', '..');
let workspace: string;

before(() => {
  workspace = mkdtempSync(join(tmpdir(), 'hdlm-ws-'));
  process.env['XDG_CACHE_HOME'] = join(workspace, '.cache');
  writeTinyModel(join(workspace, 'model'), root, { std: 0.15, seed: 2 });
  writeFileSync(join(workspace, 'animals.jsonl'), ['{"text":"barks","labels":["animal","dog"]}', '{"text":"purrs","labels":["animal","cat"]}', '{"text":"oak","labels":["plant","tree"]}'].join('\n'));
  writeFileSync(join(workspace, 'animals.hdlm.json'), JSON.stringify({ name: 'animals', model: 'model', dataset: 'animals.jsonl', levels: [{ layer: 2 }, { layer: 'last' }] }));
});

after(() => rmSync(workspace, { recursive: true, force: true }));

function startServer(settings: Record<string, unknown>, stateDir?: string): ReturnType<typeof startWorkspaceServer> {
  return startWorkspaceServer(root, workspace, settings, stateDir);
}

test('classify answers a valid path, level by level from the task\'s layers, with busy status around it', async () => {
  const { server, client } = await startServer({ task: 'animals.hdlm.json' });
  const before = client.statuses.length;
  const result = await server.classify({ text: 'it barks at the postman' });
  assert.equal(result.task, 'animals');
  assert.deepEqual(result.path.map((d) => d.layer), [2, 4]);
  assert.ok(['animal', 'plant'].includes(result.path[0]!.label));
  assert.deepEqual(result.trainedHeads, [false, false]);
  const during = client.statuses.slice(before);
  assert.equal(during[0]!.busy, true);
  assert.equal(during.at(-1)!.busy, false);
  // While the session opens the status says so, not "classifying" (a large model loads for seconds).
  assert.deepEqual([...new Set(during.filter((s) => s.busy).map((s) => s.message))], ['classifying', 'opening task animals on model']);
  assert.equal(during.filter((s) => s.busy).at(-1)!.message, 'classifying', 'and the request\'s own once it has opened');
  assert.ok(client.lines.some((l) => /task animals ready/.test(l)));
  // The session is reused: a second request does not load again.
  await server.classify({ text: 'meows' });
  assert.equal(client.lines.filter((l) => /task animals ready/.test(l)).length, 1);
  // Engine info names the model loaded, its task and segments, and how long it took to open.
  const { model } = await server.engineInfo();
  assert.deepEqual([model?.dir, model?.task, model?.unfit, model?.exitLayers, model?.device], [join(workspace, 'model'), 'animals', undefined, [2, 4], 'cpu']);
  assert.ok(model!.openedInSeconds > 0 && model!.openedInSeconds < 60, `${model!.openedInSeconds} s`);
});

test('bad requests and a missing task get clear errors, and the server keeps working', async () => {
  const { server, client } = await startServer({ task: 'missing.hdlm.json' });
  await assert.rejects(server.classify({ text: '   ' }), (e: unknown) => e instanceof ResponseError && e.code === ErrorCodes.badRequest && /nothing to classify/.test(e.message));
  await assert.rejects(server.classify({ text: 'x', beam: 0 }), /beam must be a whole number from 1 to 16/);
  await assert.rejects(server.classify({ text: 'x', margin: 1.5 }), /margin must be a number from 0 to 1, got 1.5/);
  await assert.rejects(server.classify({ text: 'x' }), (e: unknown) => e instanceof ResponseError && e.code === ErrorCodes.modelUnavailable && /missing\.hdlm\.json does not exist/.test(e.message));
  client.settings = { ...(client.settings as object), task: 'animals.hdlm.json' };
  await server.reconfigure();
  const result = await server.classify({ text: 'barks' });
  assert.equal(result.path.length, 2);
});

test('a layer view topK outside 1..20 and a requestId that is no string are bad requests', async () => {
  const { server } = await startServer({ task: 'animals.hdlm.json' });
  for (const topK of ['abc', 2.5, -3, 0, 21, 1e9]) {
    await assert.rejects(server.layers({ text: 'barks', topK: topK as number }), (e: unknown) => e instanceof ResponseError && e.code === ErrorCodes.badRequest && e.message === `topK must be a whole number from 1 to 20, got ${JSON.stringify(topK)}`);
  }
  assert.equal((await server.layers({ text: 'barks', topK: 20 })).readouts[0]!.top.length, 20);
  for (const requestId of [5, { id: 'r' }]) {
    await assert.rejects(server.thinkThenAnswer({ text: 'barks', requestId: requestId as unknown as string }), (e: unknown) => e instanceof ResponseError && e.code === ErrorCodes.badRequest && e.message === `requestId must be a string, got ${JSON.stringify(requestId)}`);
  }
});

test('a task setting that names a folder says so, rather than that it does not exist', async () => {
  const { server } = await startServer({ task: workspace });
  await assert.rejects(server.classify({ text: 'barks' }), (e: unknown) => e instanceof ResponseError && e.code === ErrorCodes.modelUnavailable && e.message.includes(`${workspace}: is a folder, not a task file`));
});

test('a model that cannot load is an error in the status, naming no model, until one loads', async () => {
  const { server, client } = await startServer({ task: 'animals.hdlm.json' });
  await server.classify({ text: 'barks' });
  assert.deepEqual([server.status.health, server.status.model], ['ok', 'model']);
  client.settings = { ...(client.settings as object), task: 'animals.hdlm.json', model: 'no/such/folder' };
  await server.reconfigure();
  assert.equal(server.status.health, 'error', 'the reopen after the change failed, and the status says so');
  assert.match(server.status.message, /could not load the model or task: .*no\/such\/folder/);
  assert.equal(server.status.model, undefined, 'the old model is no longer loaded');
  await assert.rejects(server.classify({ text: 'barks' }), (e: unknown) => e instanceof ResponseError && e.code === ErrorCodes.modelUnavailable);
  assert.deepEqual([server.status.health, server.status.busy], ['error', false], 'still an error after a request meets it');
  client.settings = { ...(client.settings as object), task: 'animals.hdlm.json', model: 'model/config.json' };
  await server.reconfigure();
  assert.match(server.status.message, /model\/config\.json is a file, not a model folder/, 'a file picked for the folder is named so');
  client.settings = { ...(client.settings as object), task: 'animals.hdlm.json', model: 'model' };
  await server.reconfigure();
  assert.deepEqual([server.status.health, server.status.message, server.status.model], ['ok', 'ready', 'model'], 'the fix is tried at once and the status tells');
});

test('text too long for the model is bad input (1003): refused before tokenizing when far too long', async () => {
  const { server } = await startServer({ task: 'animals.hdlm.json' });
  const badRequest = (pattern: RegExp) => (e: unknown) => e instanceof ResponseError && e.code === ErrorCodes.badRequest && pattern.test(e.message);
  // A megabyte took seconds to tokenize, deaf to cancels; the model's context (1024) times its longest token (32 characters) bounds what can fit.
  const huge = 'the dog barks '.repeat(80_000);
  // Every text the tokenizer is given meanwhile, by length (the real tokenizer still encodes them).
  const encoded: number[] = [];
  const encode = Object.getOwnPropertyDescriptor(Tokenizer.prototype, 'encode')!;
  Tokenizer.prototype.encode = function (this: Tokenizer, text: string, ...rest: unknown[]): number[] {
    encoded.push(text.length);
    return (encode.value as (...a: unknown[]) => number[]).call(this, text, ...rest);
  };
  try {
    await assert.rejects(server.classify({ text: huge }), badRequest(/the text has 1119999 characters, more than model's context of 1024 tokens can hold \(at most 32768 characters/));
    await assert.rejects(server.layers({ text: huge }), badRequest(/select less/));
    await assert.rejects(server.thinkThenAnswer({ text: huge }), badRequest(/select less/));
    const many = await server.classifyMany({ texts: [huge, 'barks'] });
    const [first, second] = many.results;
    assert.ok(first && 'error' in first && /select less/.test(first.error), JSON.stringify(first));
    assert.ok(second && 'path' in second, 'the other text is classified');
  } finally {
    Object.defineProperty(Tokenizer.prototype, 'encode', encode);
  }
  // Refused before tokenizing: the only texts encoded are short ones ('barks', the task's prompt
  // parts), none near the bound of 32768 characters.
  assert.ok(encoded.length > 0, 'the text that fits was encoded');
  assert.ok(Math.max(...encoded) < 32_768, `a text of ${Math.max(...encoded)} characters was tokenized`);
  // Within the bound but past the context: the model's refusal, answered as bad input too.
  const long = 'the dog barks '.repeat(400);
  await assert.rejects(server.classify({ text: long }), badRequest(/positions but the model's context is 1024/));
  await assert.rejects(server.layers({ text: long }), badRequest(/positions but the model's context is 1024/));
  await assert.rejects(server.thinkThenAnswer({ text: long }), badRequest(/positions but the model's context is 1024/));
});

test('a head manifest damaged, then written back, is read again at the next request', async () => {
  const dir = join(workspace, 'wordnet');
  cpSync(join(root, 'models', 'hdlm-tiny', 'heads', 'wordnet'), join(dir, 'heads'), { recursive: true });
  writeFileSync(join(dir, 'wordnet.hdlm.json'), JSON.stringify({ name: 'wordnet', model: join(root, 'models', 'hdlm-tiny'), dataset: 'none.jsonl', levels: [{ layer: 4 }, { layer: 6 }, { layer: 'last' }], heads: 'heads' }));
  const { server } = await startServer({ task: join(dir, 'wordnet.hdlm.json') });
  assert.equal((await server.classify({ text: 'a small dog that barks' })).path.length, 3);
  const manifest = join(dir, 'heads', 'level1.json');
  const good = readFileSync(manifest);
  writeFileSync(manifest, good.subarray(0, 40));
  await assert.rejects(server.classify({ text: 'a small dog that barks' }), /level1\.json/);
  writeFileSync(manifest, good);
  assert.equal((await server.classify({ text: 'a small dog that barks' })).path.length, 3, 'the good file is read again, the task file untouched');
});

test('an untrained task reads its labels from its training file as it is now: a label added there is a candidate at the next request, as for the CLI', async () => {
  const dataset = join(workspace, 'minerals.jsonl');
  writeFileSync(dataset, ['{"text":"barks","labels":["animal","dog"]}', '{"text":"oak","labels":["plant","tree"]}'].join('\n'));
  writeFileSync(join(workspace, 'minerals.hdlm.json'), JSON.stringify({ name: 'minerals', model: 'model', dataset: 'minerals.jsonl', levels: [{ layer: 2 }, { layer: 'last' }] }));
  const { server, client } = await startServer({ task: 'minerals.hdlm.json' });
  const levelOne = async (): Promise<string[]> => {
    const [first] = (await server.classify({ text: 'a grey stone' })).path;
    return [first!.label, ...first!.runnersUp.map((r) => r.label)].sort();
  };
  assert.deepEqual(await levelOne(), ['animal', 'plant']);
  writeFileSync(dataset, ['{"text":"granite","labels":["mineral","rock"]}', '{"text":"barks","labels":["animal","dog"]}', '{"text":"oak","labels":["plant","tree"]}'].join('\n'));
  assert.deepEqual(await levelOne(), ['animal', 'mineral', 'plant'], 'the label added to the training file');
  // Unchanged, the file keeps the session.
  await levelOne();
  assert.equal(client.lines.filter((l) => /task minerals ready/.test(l)).length, 2);
});

test('a cancelled classify answers RequestCancelled', async () => {
  const { server } = await startServer({ task: 'animals.hdlm.json' });
  const source = new CancellationTokenSource();
  source.cancel();
  await assert.rejects(server.classify({ text: 'a cat' }, source.token), (e: unknown) => e instanceof ResponseError && e.code === LSPErrorCodes.RequestCancelled);
  assert.equal(server.status.busy, false);
});

test('an inline completion drafts a thought, sends it, and offers the answer as ghost text', async () => {
  const { server, client } = await startServer({ task: 'animals.hdlm.json', inline: { enabled: true }, maxTokens: 6 });
  const items = await server.inlineCompletion({ uri: 'file:///ws/notes.txt', languageId: 'plaintext', prefix: 'The dog barked at the', position: { line: 0, character: 21 } });
  assert.equal(items.length, 1, 'the seeded model answers something');
  assert.equal(client.thoughts.length, 1, 'one thought per offered completion');
  const [item] = items;
  assert.match(item!.insertText as string, /^ \S/, 'a space joins the answer to the word before the cursor');
  assert.equal(client.thoughts[0]!.answer, item!.insertText);
  assert.equal(client.thoughts[0]!.thoughtLayer, 2);
  assert.equal(client.thoughts[0]!.answerLayer, 4);
  const sure = client.thoughts[0]!.thoughtProbability;
  assert.ok(sure > 0 && sure <= 1, `the thought's probability ${sure}`);
  assert.deepEqual(item!.range, { start: { line: 0, character: 21 }, end: { line: 0, character: 21 } });
  const off = await startServer({ task: 'animals.hdlm.json' });
  assert.deepEqual(await off.server.inlineCompletion({ uri: 'file:///ws/notes.txt', languageId: 'plaintext', prefix: 'The dog barked at the', position: { line: 0, character: 21 } }), [], 'disabled by default');
  assert.deepEqual(await server.inlineCompletion({ uri: 'file:///ws/a.py', languageId: 'python', prefix: 'def dog_barks():', position: { line: 0, character: 16 } }), [], 'not a language of hdlm.inline.languages');
  const python = await startServer({ task: 'animals.hdlm.json', inline: { enabled: true, languages: ['python'] }, maxTokens: 4 });
  assert.equal((await python.server.inlineCompletion({ uri: 'file:///ws/a.py', languageId: 'python', prefix: 'def dog_barks():', position: { line: 0, character: 16 } })).length, 1, 'offered where the setting says');
  const source = new CancellationTokenSource();
  const pending = server.inlineCompletion({ uri: 'file:///ws/notes.txt', languageId: 'plaintext', prefix: 'A cat sat on the', position: { line: 0, character: 16 } }, source.token);
  source.cancel();
  assert.deepEqual(await pending, [], 'typing on cancels it');
});

test('think then answer streams the thought from the first level\'s layer and the answer from the last, then says what was caught up', async () => {
  const { server, client } = await startServer({ task: 'animals.hdlm.json', maxTokens: 5 });
  const result = await server.thinkThenAnswer({ text: 'The dog barked at the', requestId: 'r1' });
  assert.equal(result.thoughtLayer, 2);
  assert.equal(result.answerLayer, 4);
  const steps = client.steps.filter((s) => s.id === 'r1');
  type TokenStep = Extract<GenerationStepParams, { part: 'thought' | 'answer' }>;
  const thought = steps.filter((s): s is TokenStep => s.part === 'thought');
  const answer = steps.filter((s): s is TokenStep => s.part === 'answer');
  assert.ok(thought.length > 0 && answer.length > 0, `${thought.length} thought and ${answer.length} answer steps`);
  assert.ok(thought.every((s) => s.layer === 2), 'thought tokens come from layer 2: the deeper layers are skipped for them');
  assert.ok(answer.every((s) => s.layer === 4));
  assert.ok(answer.length <= 5, 'maxTokens bounds the answer');
  const done = steps.at(-1)!;
  assert.equal(done.part, 'done');
  if (done.part !== 'done') return;
  assert.equal(done.answer, result.answer);
  // The thought's positions (and the turn markers around them) went through layers 3-4 in one pass.
  assert.ok(done.caughtUp >= thought.length, `caught up ${done.caughtUp} positions for ${thought.length} thought tokens`);
  assert.equal(answer.at(-1)!.text.trim(), result.answer, 'the streamed pieces add up to the answer');
  // Each token says how sure its layer was; the thought's probability is the product over its tokens.
  assert.ok([...thought, ...answer].every((s) => s.probability > 0 && s.probability <= 1));
  const product = thought.reduce((p, s) => p * s.probability, 1);
  assert.ok(product > 0 && Math.abs(result.thoughtProbability / product - 1) < 1e-9, `${result.thoughtProbability} against ${product}`);
  assert.equal(done.thoughtProbability, result.thoughtProbability);
  await assert.rejects(server.thinkThenAnswer({ text: '  ' }), (e: unknown) => e instanceof ResponseError && e.code === ErrorCodes.badRequest);
  await assert.rejects(server.thinkThenAnswer({ text: 'x', maxTokens: 0 }), /maxTokens/);
  assert.equal(done.cancelled, undefined, 'it finished');
  const source = new CancellationTokenSource();
  source.cancel();
  await assert.rejects(server.thinkThenAnswer({ text: 'A cat' }, source.token), (e: unknown) => e instanceof ResponseError && e.code === LSPErrorCodes.RequestCancelled);
  // Cancelled at its first token: its end says so, and a view does not show it as finished.
  const midway = new CancellationTokenSource();
  const send = client.sendGenerationStep.bind(client);
  client.sendGenerationStep = (step) => {
    send(step);
    if (step.id === 'r2' && step.part === 'thought') midway.cancel();
  };
  await assert.rejects(server.thinkThenAnswer({ text: 'The cat sat on the', requestId: 'r2' }, midway.token), (e: unknown) => e instanceof ResponseError && e.code === LSPErrorCodes.RequestCancelled);
  const end = client.steps.filter((s) => s.id === 'r2').at(-1)!;
  assert.deepEqual([end.part, end.part === 'done' && end.cancelled], ['done', true]);
});

function waitForEnd(client: FakeClient, jobId: string, timeoutMs: number): Promise<JobEvent> {
  return new Promise((resolveEnd, reject) => {
    const deadline = Date.now() + timeoutMs;
    const poll = (): void => {
      const end = client.progress.find((p) => p.jobId === jobId && ['report', 'evaluation', 'failed', 'cancelled'].includes(p.event.kind));
      if (end) resolveEnd(end.event);
      else if (Date.now() > deadline) reject(new Error(`job ${jobId} did not end; events: ${client.progress.map((p) => p.event.kind).join(',')}`));
      else setTimeout(poll, 50);
    };
    poll();
  });
}

test('fine-tuning runs in its own process: the server keeps answering, progress streams, heads are saved', async () => {
  writeFileSync(join(workspace, 'quick.hdlm.json'), JSON.stringify({ name: 'quick', model: 'model', dataset: 'animals.jsonl', levels: [{ layer: 2 }, { layer: 'last' }], train: { epochs: 2, devFraction: 0.34 } }));
  const stateDir = join(workspace, 'state');
  const { server, client } = await startServer({ task: 'quick.hdlm.json' }, stateDir);
  const { jobId } = await server.train({ task: 'quick.hdlm.json' });
  assert.equal(server.status.busy, true);
  // While it trains, a classification still answers (the job is another process).
  const during = await server.classify({ text: 'barks' });
  assert.equal(during.path.length, 2);
  const end = await waitForEnd(client, jobId, 60_000);
  assert.equal(end.kind, 'report', JSON.stringify(end));
  const kinds = new Set(client.progress.map((p) => p.event.kind));
  assert.ok(kinds.has('stage') && kinds.has('epoch') && kinds.has('saved'), [...kinds].join(','));
  // The same progress as LSP work-done progress, for any editor: reports, then done.
  const workDone = client.workDone.find((w) => w.title === 'HdLM: fine-tuning quick.hdlm.json')!;
  assert.ok(workDone.reports.length > 0 && workDone.done, JSON.stringify(workDone.reports.slice(-2)));
  assert.match(workDone.reports.at(-1)!.message, /done in \d+ s/);
  assert.equal(workDone.reports.at(-1)!.percentage, 100);
  // The status goes back to idle once the job's process has exited.
  for (let i = 0; i < 100 && server.status.busy; i++) await new Promise((r) => setTimeout(r, 50));
  assert.equal(server.status.busy, false);
  // The next classification uses the trained heads.
  const after = await server.classify({ text: 'barks' });
  assert.deepEqual(after.trainedHeads, [true, true]);
  await assert.rejects(server.train({ task: 'nope.hdlm.json' }), /nope\.hdlm\.json/);

  // Evaluation is a job too: HdLM heads vs the flat baseline, kept beside the heads.
  const evaluation = await server.evaluate({ task: 'quick.hdlm.json', maxExamples: 3 });
  const evalEnd = await waitForEnd(client, evaluation.jobId, 60_000);
  assert.equal(evalEnd.kind, 'evaluation', JSON.stringify(evalEnd));
  if (evalEnd.kind !== 'evaluation') return;
  assert.deepEqual(evalEnd.evaluation.variants.map((v) => v.name), ['hdlm', 'flat']);
  assert.deepEqual(evalEnd.evaluation.variants.map((v) => v.layers), [[2, 4], [4, 4]]);
  assert.ok(evalEnd.evaluation.variants.every((v) => v.trainedHeads && v.levels.length === 2));
  assert.ok(existsSync(join(workspace, 'heads', 'quick', 'evaluation.json')));
  const summary = server.taskSummary({ task: 'quick.hdlm.json' });
  assert.deepEqual(summary.heads.map((h) => [h.name, h.layer]), [['level1', 2], ['level2', 4], ['flat', 4]]);
  assert.equal(summary.modelLayers, 4, "the task's own model's layers, which the panel's layer picker offers");
  assert.equal(server.listJobs().jobs[0]?.overall, 1, 'the whole evaluation done');
  assert.ok(summary.heads.every((h) => h.bestDevAccuracy !== undefined && h.bestDevAccuracy >= 0 && h.bestDevAccuracy <= 1));
  assert.equal(summary.evaluation?.examples, evalEnd.evaluation.examples);
  await assert.rejects(server.evaluate({ task: 'quick.hdlm.json', maxExamples: 0 }), /maxExamples/);

  // Both jobs are in the journal, newest first, and a new server on the same workspace sees them.
  assert.deepEqual(server.listJobs().jobs.map((j) => [j.kind, j.state]), [['evaluate', 'done'], ['train', 'done']]);
  server.dispose();
  const again = await startServer({ task: 'quick.hdlm.json' }, stateDir);
  const listed = again.server.listJobs().jobs;
  assert.deepEqual(listed.map((j) => j.jobId), [evaluation.jobId, jobId]);
  assert.equal(listed[1]!.heads.length, 3, 'the training curve per head survives');
  assert.ok(listed[0]!.evaluation, 'the evaluation survives');
});

test('heads trained for another model are refused with the file named, and the server keeps working', async () => {
  // Runs after the fine-tuning test: heads/quick were trained for the workspace's `model`.
  writeTinyModel(join(workspace, 'other-model'), root, { std: 0.15, seed: 3 });
  // Named as the task that trained them (quick), so that only the model differs.
  writeFileSync(join(workspace, 'foreign.hdlm.json'), JSON.stringify({ name: 'quick', model: 'other-model', dataset: 'animals.jsonl', levels: [{ layer: 2 }, { layer: 'last' }], heads: 'heads/quick' }));
  const loads: string[] = [];
  const { server } = await startWorkspaceServer(root, workspace, { task: 'foreign.hdlm.json' }, undefined, (engine) => {
    const load = engine.loadModel.bind(engine);
    engine.loadModel = (dir, options) => (loads.push(dir), load(dir, options));
  });
  await assert.rejects(server.classify({ text: 'barks' }), (e: unknown) => e instanceof ResponseError && e.code === ErrorCodes.modelUnavailable && /level1\.\w+\.safetensors: this head was trained for another model/.test(e.message));
  // The heads failed once the model had loaded: it serves as loaded, not loaded again.
  assert.deepEqual(loads, [join(workspace, 'other-model')]);
  // The model itself is fine: the layer view still reads it out, and says why nothing was decided.
  const view = await server.layers({ text: 'barks' });
  assert.equal(view.classification, undefined);
  assert.match(view.unfitTask ?? '', /task quick cannot classify on other-model: .*this head was trained for another model/);
  const { server: same } = await startServer({ task: 'animals.hdlm.json' });
  assert.equal((await same.classify({ text: 'barks' })).path.length, 2, 'other tasks still classify');
});

test('heads another task trained (a copied task file keeps "heads") are refused naming both tasks; the status says whose they are and what to do, in the hover\'s words, and the server keeps working', async () => {
  // Runs after the fine-tuning test: heads/quick were trained for task quick, on the workspace's model.
  writeFileSync(join(workspace, 'copy.hdlm.json'), JSON.stringify({ name: 'copy', model: 'model', dataset: 'animals.jsonl', levels: [{ layer: 2 }, { layer: 'last' }], heads: 'heads/quick' }));
  const { server, client } = await startServer({ task: 'copy.hdlm.json' });
  const whose = 'holds the heads of task "quick" \\(level1\\.json\\), not of task "copy": classifying, evaluating, fine-tuning and scanning its layers refuse them; set "heads" to a folder of its own';
  const why = new RegExp(`copy\\.hdlm\\.json: the heads folder .*heads/quick ${whose}`);
  await assert.rejects(server.classify({ text: 'barks' }), (e: unknown) => e instanceof ResponseError && e.code === ErrorCodes.modelUnavailable && why.test(e.message));
  assert.match((await server.layers({ text: 'barks' })).unfitTask ?? '', why);
  const warned = client.statuses.at(-1)!;
  assert.deepEqual([warned.health, warned.busy], ['warning', false]);
  assert.match(warned.message, new RegExp(`^model serves without task copy, no classification: the heads folder .*heads/quick ${whose}`));
  // The hover on the task's "heads" says the same, in the same words (headsFolderNotice).
  const notice = headsFolderNotice({ headsDir: join(workspace, 'heads', 'quick'), kind: 'classify', taskName: 'copy' }) ?? '';
  assert.equal(notice.replace(/\(\w+\.json\)/, '(level1.json)'), warned.message.replace(/^model serves without task copy, no classification: /, ''));
});

test('a task that does not fit the selected model leaves the model serving: layer view and thinking run, classifying says why, the status warns until a fitting task is set', async () => {
  writeTinyModel(join(workspace, 'shallow-model'), root, { std: 0.15, seed: 4, layers: 2 });
  writeFileSync(join(workspace, 'deep.hdlm.json'), JSON.stringify({ name: 'deep', model: 'model', dataset: 'animals.jsonl', levels: [{ layer: 3 }, { layer: 'last' }] }));
  const { server, client } = await startServer({ task: 'deep.hdlm.json', model: 'shallow-model', maxTokens: 4 });
  const why = /task deep cannot classify on shallow-model: .*deep\.hdlm\.json: level layer 3 is beyond the model's 2 layers\. The layer view and Think Then Answer still run on shallow-model; .*New Task from Dataset/;
  await assert.rejects(server.classify({ text: 'barks' }), (e: unknown) => e instanceof ResponseError && e.code === ErrorCodes.modelUnavailable && why.test(e.message) && JSON.stringify(e.data) === JSON.stringify({ taskFile: join(workspace, 'deep.hdlm.json'), unreadable: false, exists: true }));
  await assert.rejects(server.classifyMany({ texts: ['barks'] }), (e: unknown) => e instanceof ResponseError && why.test(e.message));
  const view = await server.layers({ text: 'it barks' });
  assert.deepEqual(view.readouts.map((r) => r.layer), [0, 1, 2], 'the selected model is read out, every layer');
  assert.equal(view.classification, undefined);
  assert.match(view.unfitTask ?? '', why);
  // The task panel's card of the task says so too (only while the session runs it so).
  assert.ok(server.taskSummary({ task: 'deep.hdlm.json' }).notices?.some((n) => why.test(n)));
  assert.ok(!server.taskSummary({ task: 'animals.hdlm.json' }).notices?.some((n) => /cannot classify/.test(n)));
  const thought = await server.thinkThenAnswer({ text: 'The dog barked at the' });
  assert.deepEqual([thought.thoughtLayer, thought.answerLayer], [1, 2], 'thinking at half the depth, with the model\'s own head');
  const warned = client.statuses.at(-1)!;
  assert.deepEqual([warned.health, warned.busy, warned.model], ['warning', false, 'shallow-model']);
  assert.match(warned.message, /shallow-model serves without task deep, which does not fit it: no classification/);
  // Selecting the model the task was made for lifts the warning.
  client.settings = { ...(client.settings as object), model: 'default', task: 'animals.hdlm.json' };
  await server.reconfigure();
  assert.deepEqual([client.statuses.at(-1)!.health, client.statuses.at(-1)!.message], ['ok', 'ready'], 'the warning spoke of the session a settings change replaces');
  assert.equal((await server.classify({ text: 'barks' })).path.length, 2);
  const fixed = client.statuses.at(-1)!;
  assert.deepEqual([fixed.health, fixed.message, fixed.model], ['ok', 'ready', 'model']);
  // A model that cannot load at all is still refused outright, the layer view too.
  client.settings = { ...(client.settings as object), model: 'nowhere' };
  await server.reconfigure();
  await assert.rejects(server.layers({ text: 'barks' }), (e: unknown) => e instanceof ResponseError && e.code === ErrorCodes.modelUnavailable && /could not load the model or task: .*nowhere/.test(e.message));
});

test('a task file missing or half edited leaves the model serving, and the session follows the file as it is written and edited', async () => {
  const file = join(workspace, 'growing.hdlm.json');
  const quick = { epochs: 2, devFraction: 0.34 };
  const { server, client } = await startServer({ task: 'growing.hdlm.json', model: 'model' });
  // Missing: the configured model is read out, and classifying says which file is missing.
  const missing = /task growing cannot classify on model: task file .*growing\.hdlm\.json does not exist \(setting hdlm\.task\)\. .*fix the task file/;
  const view = await server.layers({ text: 'it barks' });
  assert.deepEqual(view.readouts.map((r) => r.layer), [0, 1, 2, 3, 4]);
  assert.match(view.unfitTask ?? '', missing);
  // The error names the task file for the client's buttons (open it, pick another).
  await assert.rejects(server.classify({ text: 'barks' }), (e: unknown) => e instanceof ResponseError && e.code === ErrorCodes.modelUnavailable && missing.test(e.message) && JSON.stringify(e.data) === JSON.stringify({ taskFile: file, unreadable: true, exists: false }));
  assert.match(client.statuses.at(-1)!.message, /model serves without task growing, whose file cannot be read: no classification/);
  // Written: the next request opens the task, with no settings change.
  writeFileSync(file, JSON.stringify({ name: 'growing', model: 'model', dataset: 'animals.jsonl', levels: [{ layer: 2 }, { layer: 'last' }], train: quick }));
  assert.deepEqual((await server.classify({ text: 'barks' })).path.map((d) => d.layer), [2, 4]);
  assert.deepEqual([client.statuses.at(-1)!.health, client.statuses.at(-1)!.message], ['ok', 'ready']);
  // Edited (level 1 moved, as the task panel's layer picker does): the edit is what runs.
  writeFileSync(file, JSON.stringify({ name: 'growing', model: 'model', dataset: 'animals.jsonl', levels: [{ layer: 1 }, { layer: 'last' }], train: quick }));
  assert.deepEqual((await server.classify({ text: 'barks' })).path.map((d) => d.layer), [1, 4]);
  // Heads trained from a terminal are used at the next request.
  execFileSync(process.execPath, [join(root, 'dist', 'hdlm.js'), 'train', '--task', file], { stdio: 'pipe' });
  assert.deepEqual((await server.classify({ text: 'barks' })).trainedHeads, [true, true]);
  // Half edited: the problem, with the file, until it parses again.
  writeFileSync(file, '{ "name": "growing", "levels": [');
  const broken = await server.layers({ text: 'it barks' });
  assert.equal(broken.readouts.length, 5);
  assert.match(broken.unfitTask ?? '', /growing\.hdlm\.json: line \d+, column \d+: not valid JSON/);
  // A file far larger than a task (a dataset put in its place) is refused without being parsed.
  writeFileSync(file, '{"text":"barks","labels":["animal","dog"]}\n'.repeat(30_000));
  assert.match((await server.layers({ text: 'it barks' })).unfitTask ?? '', /growing\.hdlm\.json: 1\.\d MiB is not a task file/);
  writeFileSync(file, JSON.stringify({ name: 'growing', model: 'model', dataset: 'animals.jsonl', levels: [{ layer: 1 }, { layer: 'last' }], system: 'Sort it.', train: quick }));
  assert.deepEqual((await server.classify({ text: 'barks' })).path.map((d) => d.layer), [1, 4]);
  // An unchanged file keeps its session, an evaluation writing its report beside the heads too:
  // written, edited, trained and fixed loaded the task; missing, half edited and too large the model alone.
  execFileSync(process.execPath, [join(root, 'dist', 'hdlm.js'), 'eval', '--task', file], { stdio: 'pipe' });
  await server.classify({ text: 'purrs' });
  assert.equal(client.lines.filter((l) => /task growing ready/.test(l)).length, 4);
  assert.equal(client.lines.filter((l) => /serves without a task/.test(l)).length, 3);
});

test('a saved task file that the open session runs opens it again at once, so the status and the task card tell what the save did', async () => {
  const file = join(workspace, 'saved.hdlm.json');
  const task = (layer: number): string => JSON.stringify({ name: 'saved', model: 'model', dataset: 'animals.jsonl', levels: [{ layer }, { layer: 'last' }] });
  writeFileSync(file, task(2));
  const { server, client } = await startServer({ task: 'saved.hdlm.json' });
  const opened = (): number => client.lines.filter((l) => l.startsWith('opening task saved')).length;
  // No session yet: a save loads nothing (a model loads when a request first asks for one).
  await server.taskFileSaved(file);
  assert.equal(opened(), 0);
  await server.classify({ text: 'barks' });
  assert.equal(opened(), 1);
  // Saved with a level beyond the model: until the session opens again, the card says nothing of it.
  writeFileSync(file, task(7));
  assert.ok(!server.taskSummary({ task: file }).notices?.some((n) => /cannot classify/.test(n)), 'what the outdated session found is no longer news');
  await server.taskFileSaved(file);
  assert.equal(opened(), 2);
  assert.ok(client.lines.includes('saved.hdlm.json saved: opening the task again'));
  const warned = client.statuses.at(-1)!;
  assert.deepEqual([warned.health, warned.busy], ['warning', false]);
  assert.match(warned.message, /model serves without task saved, which does not fit it/);
  assert.ok(server.taskSummary({ task: file }).notices?.some((n) => /task saved cannot classify on model: .*level layer 7 is beyond the model's 4 layers/.test(n)));
  // Saved again unchanged, or another task file saved: nothing opens.
  await server.taskFileSaved(file);
  await server.taskFileSaved(join(workspace, 'animals.hdlm.json'));
  assert.equal(opened(), 2);
  // Fixed: the warning goes as the file is saved, before any request.
  writeFileSync(file, task(3));
  await server.taskFileSaved(file);
  assert.deepEqual([client.statuses.at(-1)!.health, client.statuses.at(-1)!.message], ['ok', 'ready']);
  assert.ok(!server.taskSummary({ task: file }).notices?.some((n) => /cannot classify/.test(n)));
  assert.deepEqual((await server.classify({ text: 'barks' })).path.map((d) => d.layer), [3, 4]);
  assert.equal(opened(), 3, 'the request found the session the save opened');
  // A settings change while a session is in use opens the new one at once as well; a setting
  // that does not choose the session opens nothing.
  client.settings = { ...(client.settings as object), task: 'animals.hdlm.json' };
  await server.reconfigure();
  assert.ok(client.lines.some((l) => l.startsWith('opening task animals')));
  const reopens = (): number => client.lines.filter((l) => l === 'settings changed: opening the task again').length;
  assert.equal(reopens(), 1);
  client.settings = { ...(client.settings as object), maxTokens: 8 };
  await server.reconfigure();
  assert.equal(reopens(), 1);
});

test('a training job can be cancelled, also from its work-done progress', async () => {
  const { server, client } = await startServer({ task: 'animals.hdlm.json' });
  const { jobId } = await server.train({ task: 'animals.hdlm.json' });
  assert.deepEqual(server.cancelJob(jobId), { cancelled: true });
  const end = await waitForEnd(client, jobId, 30_000);
  assert.equal(end.kind, 'cancelled');
  assert.deepEqual(server.cancelJob(jobId), { cancelled: false });
  // The editor's cancel button on the work-done progress stops the job too.
  const second = await server.train({ task: 'animals.hdlm.json' });
  const progress = client.workDone.at(-1)!;
  assert.equal(progress.title, 'HdLM: fine-tuning animals.hdlm.json');
  progress.cancel();
  assert.equal((await waitForEnd(client, second.jobId, 30_000)).kind, 'cancelled');
  assert.equal(progress.done, true);
});

test('a training job can be cancelled from another window on the same workspace', async () => {
  // Two windows: two servers on one workspace, so on one job journal.
  const stateDir = join(workspace, 'state-two-windows');
  const a = await startServer({ task: 'animals.hdlm.json' }, stateDir);
  const b = await startServer({ task: 'animals.hdlm.json' }, stateDir);
  const { jobId } = await a.server.train({ task: 'animals.hdlm.json' });
  assert.deepEqual(b.server.listJobs().jobs.map((j) => [j.jobId, j.state, j.elsewhere]), [[jobId, 'running', true]]);
  assert.deepEqual(b.server.cancelJob(jobId), { cancelled: true, elsewhere: true });
  assert.equal((await waitForEnd(a.client, jobId, 30_000)).kind, 'cancelled', 'the window that runs it cancels it');
  assert.equal(a.client.workDone.at(-1)?.done, true, 'and its progress ends there');
  assert.equal(b.server.listJobs().jobs[0]?.state, 'cancelled', 'the other window sees how it ended');
  assert.deepEqual(b.server.cancelJob(jobId), { cancelled: false });
  a.server.shutdown();
  b.server.shutdown();
});

test('hdlm.headPrecision int8 reloads the model and the layer view reads out through the 8-bit head', async () => {
  const { server, client } = await startServer({ task: 'animals.hdlm.json' });
  const exact = await server.layers({ text: 'it barks at the postman' });
  client.settings = { ...(client.settings as object), headPrecision: 'int8' };
  await server.reconfigure();
  const int8 = await server.layers({ text: 'it barks at the postman' });
  assert.equal(client.lines.filter((l) => /task animals ready/.test(l)).length, 2, 'the model was loaded again');
  assert.deepEqual(int8.readouts.map((r) => r.layer), exact.readouts.map((r) => r.layer));
  const top = (r: typeof exact) => r.readouts.map((l) => l.top[0]!.probability);
  const [a, b] = [top(exact), top(int8)];
  assert.notDeepEqual(b, a, 'the 8-bit head reads out slightly differently');
  a.forEach((p, i) => assert.ok(Math.abs(p - b[i]!) < 0.05, `layer ${i}: top probability ${p} against ${b[i]}`));
});

test('a request under way finishes on its model when a settings change replaces the session or restarts the engine', async () => {
  const { server, client } = await startServer({ task: 'animals.hdlm.json', maxTokens: 12 });
  await server.classify({ text: 'barks' });
  // Mid-generation (the first thought token), the head precision changes and a classify arrives:
  // it needs a new session, and the old one must outlive the generation still running on it.
  // (A finished training job lets go of the session the same way: TaskHost.release.)
  let switched: Promise<unknown> | undefined;
  const send = client.sendGenerationStep.bind(client);
  client.sendGenerationStep = (params) => {
    send(params);
    if (switched) return;
    client.settings = { ...(client.settings as object), headPrecision: 'int8' };
    switched = server.classify({ text: 'purrs' });
  };
  const result = await server.thinkThenAnswer({ text: 'The dog barked at the', requestId: 'switch' });
  assert.ok(switched, 'the switch happened during the generation');
  assert.equal((await switched as { path: unknown[] }).path.length, 2, 'the new request ran on the new session');
  assert.ok(result.answer.length > 0 || result.thought.length > 0);
  assert.equal(client.lines.filter((l) => /task animals ready/.test(l)).length, 2, 'the model was loaded again for the new setting');
  // An engine restart waits for a request under way on the old engine's session, too.
  client.sendGenerationStep = send;
  const pending = server.thinkThenAnswer({ text: 'A cat sat on the', requestId: 'restart' });
  await new Promise<void>((r) => {
    const poll = (): void => (client.steps.some((s) => s.id === 'restart') ? r() : void setTimeout(poll, 5));
    poll();
  });
  client.settings = { ...(client.settings as object), threads: 2 };
  const restarted = server.reconfigure();
  const done = await pending;
  await restarted;
  const last = client.steps.filter((s) => s.id === 'restart').at(-1)!;
  assert.ok(last.part === 'done' && last.answer === done.answer, 'the generation ran to its end on the old engine');
  assert.ok(client.lines.includes('settings changed: restarting the engine'));
  assert.equal((await server.classify({ text: 'oak' })).path.length, 2, 'the restarted engine answers');
});

test('classifyMany answers each text as classify does, an error for one it cannot take, and refuses bad lists', async () => {
  const { server, client } = await startServer({ task: 'animals.hdlm.json' });
  const long = 'a dog that barks '.repeat(3000);
  const before = client.statuses.length;
  const many = await server.classifyMany({ texts: ['it barks', '  ', long, 'an oak in the park'] });
  const during = client.statuses.slice(before);
  assert.equal(during.filter((s, i) => s.busy && !(during[i - 1]?.busy ?? false)).length, 1, 'one busy period for the batch');
  assert.equal(many.results.length, 4);
  assert.deepEqual(many.results[1], { error: 'empty' });
  assert.ok('error' in many.results[2]! && /context|longer/.test(many.results[2].error), JSON.stringify(many.results[2]));
  for (const [i, text] of [[0, 'it barks'], [3, 'an oak in the park']] as const) {
    const single = await server.classify({ text });
    const r = many.results[i]!;
    assert.ok('path' in r);
    assert.deepEqual(r.path.map((d) => [d.label, d.layer]), single.path.map((d) => [d.label, d.layer]));
    assert.ok(Math.abs(r.pathProbability - single.pathProbability) < 1e-9);
  }
  await assert.rejects(server.classifyMany({ texts: [] }), (e: unknown) => e instanceof ResponseError && e.code === ErrorCodes.badRequest && /texts must be a list of 1 to 500 strings/.test(e.message));
  await assert.rejects(server.classifyMany({ texts: Array.from({ length: 501 }, () => 'x') }), /1 to 500/);
  await assert.rejects(server.classifyMany({ texts: ['x', 3 as unknown as string] }), /strings/);
  const source = new CancellationTokenSource();
  source.cancel();
  await assert.rejects(server.classifyMany({ texts: ['it barks'] }, source.token), (e: unknown) => e instanceof ResponseError && e.code === LSPErrorCodes.RequestCancelled);
});

test('a run of classifyMany batches stays busy between them (`more`), and says ready after its last, or when it stops sending', async () => {
  const { server, client } = await startServer({ task: 'animals.hdlm.json' });
  const before = client.statuses.length;
  await server.classifyMany({ texts: ['it barks'], more: true });
  await server.classifyMany({ texts: ['an oak'], more: true });
  assert.ok(client.statuses.slice(before).every((s) => s.busy), `busy throughout: ${client.statuses.slice(before).map((s) => s.message).join(' | ')}`);
  await server.classifyMany({ texts: ['it purrs'] });
  assert.equal(client.statuses.at(-1)!.busy, false, 'ready after the last batch');
  assert.equal(client.statuses.slice(before).filter((s) => !s.busy).length, 1, 'and only then');
  // A run that stops sending (cancelled between batches) does not leave the status busy.
  await server.classifyMany({ texts: ['it barks'], more: true });
  const held = client.statuses.length;
  assert.equal(client.statuses.at(-1)!.busy, true);
  // Waited for on the status itself, not slept for: the hold runs out of its own accord (no request
  // ends it), and the status then says ready, once. The bound only ends a test that would hang.
  for (let waited = 0; client.statuses.at(-1)!.busy && waited < 30_000; waited += 50) await new Promise((r) => setTimeout(r, 50));
  assert.equal(client.statuses.at(-1)!.busy, false, 'ready once the hold ran out');
  assert.deepEqual(client.statuses.slice(held).map((s) => s.busy), [false], 'one status after the hold: ready');
});
