// The language server's handler class driven with a fake client and the real engine.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ResponseError } from 'vscode-languageserver';
import { Engine } from '../../../engine/src/index';
import { HdlmServer, type EngineFactory } from '../../../server/src/hdlmServer';
import { FakeClient } from '../../support/fakeClient';
import { ErrorCodes } from '../../../server/src/protocol';
import { parseSettings } from '../../../server/src/settings';
import { REPO_ROOT } from '../../support/taskWorkspace';
import { writeTinyModel } from '../../support/tinyCheckpoint';

// No model ships in a fresh checkout's unit tests: classification tests make their own.
const DEFAULTS = { modelDir: '/nonexistent/model', taskFile: '/nonexistent/task.hdlm.json', cli: '/nonexistent/hdlm.js' };

const initParams = { processId: null, rootUri: null, capabilities: {}, clientInfo: { name: 'unit test' } };

test('start reports busy, then ready on the CPU, and engineInfo answers', async () => {
  const client = new FakeClient({ executionProviders: ['cpu'], threads: 1 });
  const server = new HdlmServer(client, (o) => Engine.create(o), DEFAULTS);
  const init = server.initialize(initParams);
  assert.equal(init.serverInfo?.name, 'hdlm');
  await server.start();
  assert.deepEqual(
    client.statuses.map((s) => [s.health, s.busy, s.device]),
    [
      ['ok', true, ''],
      ['ok', false, 'cpu'],
    ],
  );
  const info = await server.engineInfo();
  assert.equal(info.device, 'cpu');
  assert.equal(info.pid, process.pid);
  assert.match(info.runtimeVersion, /^\d+\.\d+\.\d+$/);
  assert.equal(info.model, undefined, 'no request has loaded a model');
  assert.ok(info.rssMiB > 10 && info.rssMiB < 64 * 1024, `${info.rssMiB} MiB`);
  assert.ok(client.lines.some((l) => l.includes('engine ready on cpu')));
});

test('a fallback is a warning that names the skipped device', async () => {
  const client = new FakeClient({ executionProviders: ['cuda', 'cpu'] });
  const server = new HdlmServer(client, (o) => Engine.create(o), DEFAULTS);
  await server.start();
  const last = client.statuses.at(-1)!;
  assert.equal(last.health, 'warning');
  assert.equal(last.device, 'cpu');
  assert.match(last.message, /fell back: cuda/);
  assert.ok(client.lines.some((l) => l.startsWith('device cuda skipped:')));
});

test('an engine that fails to start gives an error status and a clear request error', async () => {
  const client = new FakeClient();
  const server = new HdlmServer(client, () => Promise.reject(new Error('no weights in models/x')), DEFAULTS);
  await server.start();
  assert.equal(server.status.health, 'error');
  assert.match(server.status.message, /no weights in models\/x/);
  await assert.rejects(server.engineInfo(), (err: unknown) => {
    assert.ok(err instanceof ResponseError);
    assert.equal(err.code, ErrorCodes.engineUnavailable);
    assert.match(err.message, /unavailable: no weights in models\/x/);
    return true;
  });
});

test('a request before initialized fails with a message saying so', async () => {
  const server = new HdlmServer(new FakeClient(), (o) => Engine.create(o), DEFAULTS);
  await assert.rejects(server.engineInfo(), /has not been started yet/);
});

test('a request sent while the engine starts waits for it', async () => {
  let release: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const server = new HdlmServer(new FakeClient(), async (o) => {
    await gate;
    return Engine.create(o);
  }, DEFAULTS);
  const started = server.start();
  const pending = server.engineInfo();
  release();
  await started;
  assert.equal((await pending).device, 'cpu');
});

test('malformed settings fall back to defaults and are reported', async () => {
  const { settings, problems } = parseSettings({ executionProviders: ['tpu'], threads: -2, inline: { languages: 'python' } });
  assert.deepEqual(settings, { executionProviders: ['cpu'], threads: 0, model: 'default', task: '', inlineEnabled: false, inlineLanguages: ['plaintext', 'markdown'], maxTokens: 24, headPrecision: 'fp32' });
  assert.equal(problems.length, 3);
  assert.match(problems[2]!, /hdlm\.inline\.languages must be a list of language ids/);
  // A whole section of the wrong type is logged too, not read as an empty section.
  for (const inline of ['yes', true, null, ['plaintext']]) {
    assert.deepEqual(parseSettings({ inline }), { settings: parseSettings({}).settings, problems: [`hdlm.inline must be an object like { "enabled": true, "languages": ["plaintext"] }; got ${JSON.stringify(inline)}`] });
  }
  assert.equal(parseSettings({ headPrecision: 'int8' }).settings.headPrecision, 'int8');
  assert.match(parseSettings({ headPrecision: 'int4' }).problems[0]!, /hdlm\.headPrecision must be "fp32" or "int8"; got "int4"/);
  const client = new FakeClient({ executionProviders: 'gpu' });
  await new HdlmServer(client, (o) => Engine.create(o), DEFAULTS).start();
  assert.ok(client.lines.some((l) => l.includes('hdlm.executionProviders must be')));
});

test('hdlm.threads beyond the machine\'s cores is capped at them, and the log says so', () => {
  const cores = availableParallelism();
  const { settings, problems } = parseSettings({ threads: 100000 });
  assert.equal(settings.threads, cores);
  assert.deepEqual(problems, [`hdlm.threads 100000 is more than this machine's ${cores} cores; using ${cores}`]);
  assert.deepEqual(parseSettings({ threads: cores }), { settings: { ...parseSettings({}).settings, threads: cores }, problems: [] });
});

test('a configuration notification restarts the engine only when its settings changed', async () => {
  const client = new FakeClient({ executionProviders: ['cpu'], threads: 1 });
  let created = 0;
  const server = new HdlmServer(client, (o) => {
    created++;
    return Engine.create(o);
  }, DEFAULTS);
  await server.start();
  await server.reconfigure();
  assert.equal(created, 1, 'unchanged settings keep the engine');
  client.settings = { executionProviders: ['cpu'], threads: 2 };
  await server.reconfigure();
  assert.equal(created, 2, 'changed settings restart it');
  assert.ok(client.lines.includes('settings changed: restarting the engine'));
  assert.equal(server.status.busy, false);
});

test('an evaluation on a file that is not there is refused before any job starts, naming the file', async () => {
  const client = new FakeClient();
  const server = new HdlmServer(client, (o) => Engine.create(o), DEFAULTS);
  server.initialize(initParams);
  await assert.rejects(server.evaluate({ task: '/nonexistent/t.hdlm.json', file: '/nonexistent/extra.jsonl' }), (err: unknown) => {
    assert.ok(err instanceof ResponseError);
    assert.equal(err.code, ErrorCodes.badRequest);
    assert.equal(err.message, '/nonexistent/extra.jsonl: no such file to evaluate on');
    return true;
  });
  await assert.rejects(server.evaluate({ task: '/nonexistent/t.hdlm.json', file: '' }), /which file to evaluate on\?/);
  // A folder is named as one, not as a file that is not there.
  const folder = mkdtempSync(join(tmpdir(), 'hdlm-evalfolder-'));
  try {
    await assert.rejects(server.evaluate({ task: '/nonexistent/t.hdlm.json', file: folder }), (err: unknown) => err instanceof ResponseError && err.message === `${folder}: is a folder; give the path of a *.jsonl file to evaluate on`);
  } finally {
    rmSync(folder, { recursive: true });
  }
  assert.deepEqual(server.listJobs().jobs, [], 'no job was started');
});

test('a task named in a request that is no regular file, or too large for one, is refused by name without reading it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hdlm-notask-'));
  try {
    const server = new HdlmServer(new FakeClient(), (o) => Engine.create(o), DEFAULTS);
    server.initialize(initParams);
    execFileSync('mkfifo', [join(dir, 'fifo.hdlm.json')]);
    writeFileSync(join(dir, 'huge.train.jsonl'), Buffer.alloc(2 ** 21, 'x'));
    const refused = (task: string, why: RegExp) => assert.throws(() => server.taskSummary({ task }), (err: unknown) => err instanceof ResponseError && err.code === ErrorCodes.badRequest && why.test(err.message));
    refused(join(dir, 'fifo.hdlm.json'), /fifo\.hdlm\.json:\n {2}is not a regular file \(a FIFO \(named pipe\)\), not a task file/);
    refused('/dev/zero', /\/dev\/zero:\n {2}is not a regular file/);
    refused(dir, /is a folder, not a task file/);
    refused(join(dir, 'huge.train.jsonl'), /huge\.train\.jsonl:\n {2}2\.0 MiB is too large for a task file \(at most 1 MiB\): is it a dataset\?/);
    await assert.rejects(server.train({ task: join(dir, 'fifo.hdlm.json') }), /is not a regular file/);
    assert.throws(() => server.mistakes({ task: '/dev/zero' }), /is not a regular file/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/**
 * Runs `body` with a server whose jobs run `script`, a stand-in for the CLI that stays until it
 * is stopped (after whatever `script` writes first; cancelled, it ends), in a temporary folder that holds task
 * files made by `task`; the server is disposed and the folder removed afterwards.
 */
async function withStandInCli(
  script: string,
  body: (server: HdlmServer, client: FakeClient, task: (name: string, heads?: string) => string, dir: string) => Promise<void>,
  createEngine: EngineFactory = (o) => Engine.create(o),
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'hdlm-standin-'));
  try {
    const cli = join(dir, 'cli.js');
    // It ends as the CLI does when its stdin closes (a cancel, or the server disposed).
    writeFileSync(cli, `${script} setTimeout(() => undefined, 60_000); process.on("SIGINT", () => process.exit(130)); process.stdin.on("end", () => process.exit(130)).resume();`);
    const task = (name: string, heads?: string): string => {
      const file = join(dir, `${name}.hdlm.json`);
      writeFileSync(file, JSON.stringify({ name, model: 'model', dataset: 'd.jsonl', levels: [{ layer: 1 }, { layer: 'last' }], ...(heads ? { heads } : {}) }));
      return file;
    };
    const client = new FakeClient();
    const server = new HdlmServer(client, createEngine, { ...DEFAULTS, cli });
    server.initialize(initParams);
    try {
      await body(server, client, task, dir);
    } finally {
      server.dispose();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('a second job on heads a running job works in is refused, naming that job; other heads are free', async () => {
  // The stand-in runs until it is stopped.
  await withStandInCli('', async (server, _client, task, dir) => {
    const { jobId } = await server.train({ task: task('a') });
    // Another task file whose heads folder is the same one: refused.
    await assert.rejects(server.evaluate({ task: task('b', 'heads/a') }), (err: unknown) => {
      assert.ok(err instanceof ResponseError);
      assert.equal(err.code, ErrorCodes.badRequest);
      assert.equal(err.message, `b.hdlm.json: its heads (${join(dir, 'heads', 'a')}) are in use by ${jobId} (fine-tuning a.hdlm.json); wait for it to end or cancel it`);
      return true;
    });
    await assert.rejects(server.train({ task: task('a') }), /are in use by/);
    // Other heads: free.
    const other = await server.evaluate({ task: task('c') });
    assert.notEqual(other.jobId, jobId);
  });
});

test('heads are free once their job has sent its result, while its process is still exiting', async () => {
  // The stand-in sends its report, then takes its time to exit.
  const report = { task: 'a', modelFingerprint: 'x', examples: { train: 1, dev: 1 }, skippedLines: 0, skippedTooLong: 0, heads: [], seconds: { features: 0, training: 0 } };
  await withStandInCli(`process.stdout.write(${JSON.stringify(JSON.stringify({ kind: 'report', report }))} + "\\n");`, async (server, client, task) => {
    const file = task('a');
    const { jobId } = await server.train({ task: file });
    for (let i = 0; i < 200 && !client.progress.some((p) => p.jobId === jobId && p.event.kind === 'report'); i++) await new Promise((r) => setTimeout(r, 25));
    assert.ok(client.progress.some((p) => p.jobId === jobId && p.event.kind === 'report'), 'the stand-in sent its report');
    assert.equal(server.status.busy, true, 'its process still runs');
    const next = await server.evaluate({ task: file });
    assert.notEqual(next.jobId, jobId);
  });
});

test('a layer scan with a bad sample size or task file is refused before any job starts', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hdlm-scan-refused-'));
  try {
    const thought = join(dir, 't.hdlm.json');
    writeFileSync(thought, JSON.stringify({ name: 't', kind: 'thoughtThenAnswer', model: 'model', dataset: 'd.jsonl', levels: [{ layer: 1 }, { layer: 'last' }] }));
    const server = new HdlmServer(new FakeClient(), (o) => Engine.create(o), DEFAULTS);
    server.initialize(initParams);
    const refused = (message: RegExp) => (err: unknown) => err instanceof ResponseError && err.code === ErrorCodes.badRequest && message.test(err.message);
    await assert.rejects(server.scanLayers({ task: thought, devExamples: 0 }), refused(/^devExamples must be a whole number ≥ 1, got 0$/));
    await assert.rejects(server.scanLayers({ task: join(dir, 'missing.hdlm.json') }), refused(/missing\.hdlm\.json/));
    assert.deepEqual(server.listJobs().jobs, [], 'no job was started');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('mistakes of one label: a bad label or level is the request\'s error, named', () => {
  const server = new HdlmServer(new FakeClient(), (o) => Engine.create(o), DEFAULTS);
  server.initialize(initParams);
  assert.throws(() => server.mistakes({ task: '/nonexistent/t.hdlm.json', label: '' }), (err: unknown) => err instanceof ResponseError && err.code === ErrorCodes.badRequest && err.message === 'label must be a non-empty string, got ""');
  assert.throws(() => server.mistakes({ task: '/nonexistent/t.hdlm.json', label: 'dog', level: 0 }), /level must be a whole number ≥ 1, got 0/);
  // A good filter on a task that is not there: the task's own error.
  assert.throws(() => server.mistakes({ task: '/nonexistent/t.hdlm.json', label: 'dog', level: 2 }), (err: unknown) => err instanceof ResponseError && err.code === ErrorCodes.badRequest && /t\.hdlm\.json/.test(err.message));
});

/** Engines whose model loads wait until the test calls `stopLoad`, which fails them: a request stays under way meanwhile. */
function gatedLoads(): { gated: EngineFactory; stopLoad: () => void } {
  let stopLoad: () => void = () => undefined;
  const load = new Promise<never>((_, reject) => (stopLoad = () => reject(new Error('load stopped by the test'))));
  load.catch(() => undefined);
  const gated: EngineFactory = async (o) => {
    const engine = await Engine.create(o);
    engine.loadModel = () => load;
    return engine;
  };
  return { gated, stopLoad: () => stopLoad() };
}

test('an engine restarted by a settings change while a job and a request run: the status stays busy with them until they end', async () => {
  // The model loads of the request wait for the test: the request runs across the restart.
  const { gated, stopLoad } = gatedLoads();
  await withStandInCli(
    '',
    async (server, client, task, dir) => {
      writeTinyModel(join(dir, 'model'), REPO_ROOT);
      const file = task('a');
      const settings = { executionProviders: ['cpu'], threads: 1, task: file };
      client.settings = settings;
      await server.start();
      const { jobId } = await server.train({ task: file });
      const from = client.statuses.length;
      const busyWithJob = (): void => assert.deepEqual([server.status.busy, server.status.message], [true, `fine-tuning ${file}`]);
      busyWithJob();
      // A job alone across the restart.
      client.settings = { ...settings, threads: 2 };
      await server.reconfigure();
      assert.equal(server.status.device, 'cpu', 'the new engine started');
      busyWithJob();
      // A request too: it still runs when the next engine has started.
      const request = server.classify({ text: 'a dog' });
      request.catch(() => undefined);
      await until(() => /^opening task a/.test(server.status.message), 'the request opens its session');
      client.settings = settings;
      const reconfigured = server.reconfigure();
      const restarted = client.statuses.length;
      await until(() => client.statuses.slice(restarted).some((s) => s.message === 'starting engine') && server.status.device === 'cpu', 'the engine restarted');
      assert.deepEqual([server.status.busy, server.status.message], [true, 'classifying']);
      stopLoad();
      await assert.rejects(request, /load stopped by the test/);
      await reconfigured;
      // The request has ended: the job again, not the request's message.
      busyWithJob();
      assert.deepEqual(
        client.statuses.slice(from).filter((s) => !s.busy),
        [],
        'never idle while work runs',
      );
      server.cancelJob(jobId);
      await until(() => !server.status.busy, 'the job ended');
      assert.equal(server.status.health, 'error', 'the model that failed to load is the standing error');
    },
    gated,
  );
});

test('Clear Engine Cache is refused while a job runs and while a request is on the model, and the cache stays as it was', async () => {
  // The request's model load waits for the test, so the request is under way while the cache is asked to clear.
  const { gated, stopLoad } = gatedLoads();
  const xdg = process.env['XDG_CACHE_HOME'];
  await withStandInCli(
    '',
    async (server, client, task, dir) => {
      // The engine's cache folder for this test: a finished features entry, which a clear removes.
      process.env['XDG_CACHE_HOME'] = join(dir, 'cache');
      const entry = join(dir, 'cache', 'hdlm', 'features', 'done');
      mkdirSync(entry, { recursive: true });
      writeFileSync(join(entry, 'level1.bin'), Buffer.alloc(4096));
      writeFileSync(join(entry, 'manifest.json'), '{}');
      const kept = (): void => assert.deepEqual(readdirSync(entry).sort(), ['level1.bin', 'manifest.json'], 'the cache was not touched');
      const refused = (message: string) => (err: unknown): boolean => err instanceof ResponseError && err.code === ErrorCodes.badRequest && err.message === message;
      writeTinyModel(join(dir, 'model'), REPO_ROOT);
      const file = task('a');
      client.settings = { executionProviders: ['cpu'], threads: 1, task: file };
      await server.start();

      // A job (the stand-in CLI, running until cancelled) may be reading and writing the cache.
      const { jobId } = await server.train({ task: file });
      await assert.rejects(server.clearCache(), refused('a job is running and may be using the cache: clear it when the job has ended (or cancel it first)'));
      kept();
      server.cancelJob(jobId);
      await until(() => server.listJobs().jobs.every((j) => j.state !== 'running'), 'the job ended');

      // A request loading the model may be storing its graphs.
      const request = server.classify({ text: 'a dog' });
      request.catch(() => undefined);
      await until(() => /^opening task a/.test(server.status.message), 'the request opens its session');
      await assert.rejects(server.clearCache(), refused('the engine is busy (classifying): clear the cache when it is done'));
      kept();
      stopLoad();
      await assert.rejects(request, /load stopped by the test/);

      // Nothing runs now: the same clear goes through, and removes the entry kept above.
      const cleared = await server.clearCache();
      assert.ok(cleared.removedBytes >= 4096, JSON.stringify(cleared));
      assert.equal(readdirSync(join(dir, 'cache', 'hdlm', 'features')).length, 0);
    },
    gated,
  ).finally(() => {
    if (xdg === undefined) delete process.env['XDG_CACHE_HOME'];
    else process.env['XDG_CACHE_HOME'] = xdg;
  });
});

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 400 && !condition(); i++) await new Promise((r) => setTimeout(r, 25));
  assert.ok(condition(), what);
}
