// `hdlm train` and `hdlm eval` with the sweep options: `--heads DIR` trains into and evaluates
// another folder than the task's (which stays untouched), `--learning-rate R` reaches the heads'
// training record; a rate out of range is a usage error naming the option. `eval --predictions`
// writes every example's decisions, consistent with the record's accuracies. `scan-layers` keeps
// its record beside the heads and writes its report. A task command's one argument is its task.
// `--stop-on-stdin-end` (how the language server runs jobs) cancels at the end of stdin.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { runHdlm, type CliRun } from '../../support/hdlmCli';
import { writeTinyModel } from '../../support/tinyCheckpoint';

const root = resolve(__dirname, '..', '..', '..', '..');
const fixture = join(root, 'data', 'fixtures', 'wordnet.sample.jsonl');
let dir: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'hdlm-cli-train-'));
  writeTinyModel(join(dir, 'model'), root, { std: 0.2, seed: 7 });
  writeFileSync(
    join(dir, 'wn.hdlm.json'),
    JSON.stringify({ name: 'wn', model: 'model', dataset: fixture, heads: 'task-heads', levels: [{ layer: 1 }, { layer: 2 }, { layer: 'last' }], train: { maxExamples: 60, batchSize: 32 } }),
  );
});

after(() => rmSync(dir, { recursive: true, force: true }));

function hdlm(args: string[]): CliRun {
  return runHdlm(root, args, { cacheDir: join(dir, 'cache') });
}

test('--heads and --learning-rate train a variant beside the task\'s heads, and eval reads it', () => {
  const sweep = join(dir, 'sweep', 'lr0.01');
  const train = hdlm(['train', '--task', join(dir, 'wn.hdlm.json'), '--heads', sweep, '--learning-rate', '0.01', '--epochs', '1', '--no-feature-cache', '--json']);
  assert.equal(train.status, 0, train.stderr);
  const report = JSON.parse(train.stdout) as { heads: { name: string }[] };
  assert.deepEqual(report.heads.map((h) => h.name).sort(), ['flat', 'level1', 'level2', 'level3']);
  for (const name of ['level1', 'flat']) {
    const manifest = JSON.parse(readFileSync(join(sweep, `${name}.json`), 'utf8')) as { training: { settings: { learningRate: number; epochs: number } } };
    assert.equal(manifest.training.settings.learningRate, 0.01);
    assert.equal(manifest.training.settings.epochs, 1);
  }
  assert.equal(existsSync(join(dir, 'task-heads')), false, 'the task file\'s own heads folder must not be written');

  const predictionsFile = join(dir, 'predictions.jsonl');
  const evaluated = hdlm(['eval', '--task', join(dir, 'wn.hdlm.json'), '--heads', sweep, '--file', fixture, '--max-examples', '4', '--predictions', predictionsFile, '--json']);
  assert.equal(evaluated.status, 0, evaluated.stderr);
  const record = JSON.parse(readFileSync(join(sweep, 'evaluation.json'), 'utf8')) as { examples: number; variants: { name: string; levels: { accuracy: number }[] }[] };
  assert.equal(record.examples, 4);
  assert.deepEqual(record.variants.map((v) => v.name), ['hdlm', 'flat']);
  assert.equal(existsSync(join(dir, 'task-heads')), false);

  // --predictions: one line per evaluated example, from which the record's accuracies follow.
  type Row = { id: string; gold: string[]; hdlm: { labels: string[]; probabilities: number[] }; flat: { labels: string[]; probabilities: number[] } };
  const rows = readFileSync(predictionsFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Row);
  assert.equal(rows.length, 4);
  const ids = new Set(readFileSync(fixture, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { id: string }).id));
  for (const row of rows) {
    assert.ok(ids.has(row.id), row.id);
    for (const v of [row.hdlm, row.flat]) {
      assert.equal(v.labels.length, row.gold.length);
      for (const p of v.probabilities) assert.ok(p > 0 && p <= 1, String(p));
    }
  }
  for (const [i, name] of (['hdlm', 'flat'] as const).entries()) {
    for (const [d, level] of record.variants[i]!.levels.entries()) {
      assert.equal(rows.filter((r) => r[name].labels[d] === r.gold[d]).length / rows.length, level.accuracy, `${name} level ${d + 1}`);
    }
  }
});

test('eval --predictions into a folder that is not there, or onto a folder, is refused before anything runs', () => {
  const out = hdlm(['eval', '--task', join(dir, 'wn.hdlm.json'), '--max-examples', '2', '--predictions', join(dir, 'no-such-folder', 'p.jsonl')]);
  assert.equal(out.status, 2, out.stderr);
  assert.match(out.stderr, /--predictions .*p\.jsonl: folder .*no-such-folder does not exist/);
  const folder = hdlm(['eval', '--task', join(dir, 'wn.hdlm.json'), '--max-examples', '2', '--predictions', dir]);
  assert.equal(folder.status, 2, folder.stderr);
  assert.match(folder.stderr, /--predictions .*: is a folder; name a file in it/);
});

test('eval --heads with a folder that is not there is refused, not scored as untrained heads', () => {
  const missing = join(dir, 'no-such-heads');
  const out = hdlm(['eval', '--task', join(dir, 'wn.hdlm.json'), '--heads', missing, '--max-examples', '2']);
  assert.equal(out.status, 2, out.stderr);
  assert.match(out.stderr, /--heads .*no-such-heads: no such folder/);
  assert.equal(existsSync(missing), false, 'nothing is written there');
});

test('two tasks naming one heads folder: the second is refused before it trains, and the first\'s heads are refused for the second', () => {
  const shared = join(dir, 'shared-heads');
  const first = hdlm(['train', '--task', join(dir, 'wn.hdlm.json'), '--heads', shared, '--epochs', '1', '--no-feature-cache']);
  assert.equal(first.status, 0, first.stderr);
  // A copy of the task file with only its name changed, as a copied task keeps its "heads".
  const copy = join(dir, 'copy.hdlm.json');
  writeFileSync(copy, JSON.stringify({ name: 'copy', model: 'model', dataset: fixture, heads: 'shared-heads', levels: [{ layer: 1 }, { layer: 2 }, { layer: 'last' }], train: { maxExamples: 60, batchSize: 32 } }));
  const before = readdirSync(shared).map((f) => `${f}:${readFileSync(join(shared, f), 'utf8').length}`);
  const second = hdlm(['train', '--task', copy, '--epochs', '1', '--no-feature-cache']);
  assert.equal(second.status, 1, second.stderr);
  assert.match(second.stderr, /copy\.hdlm\.json: the heads folder .*shared-heads holds the heads of task "wn" \([a-z0-9]+\.json\), not of task "copy": fine-tuning it would replace them with this task's; set "heads" to a folder of its own, or delete those heads/);
  assert.deepEqual(readdirSync(shared).map((f) => `${f}:${readFileSync(join(shared, f), 'utf8').length}`), before, 'nothing in the folder changed');
  const classify = hdlm(['classify', 'a small bird', '--task', copy]);
  assert.equal(classify.status, 1, classify.stderr);
  assert.match(classify.stderr, /copy\.hdlm\.json: the heads folder .*shared-heads holds the heads of task "wn" \(level1\.json\), not of task "copy": classifying, evaluating, fine-tuning and scanning its layers refuse them/);
  const again = join(dir, 'wn-shared.hdlm.json'); // the first task, naming the folder it trained into
  writeFileSync(again, JSON.stringify({ name: 'wn', model: 'model', dataset: fixture, heads: 'shared-heads', levels: [{ layer: 1 }, { layer: 2 }, { layer: 'last' }] }));
  const own = hdlm(['classify', 'a small bird', '--task', again]);
  assert.equal(own.status, 0, own.stderr);
});

test('a "heads" that names a file is refused naming the task file, by train and eval alike', () => {
  const task = join(dir, 'file-heads.hdlm.json');
  writeFileSync(task, JSON.stringify({ name: 'fh', model: 'model', dataset: fixture, heads: 'wn.hdlm.json', levels: [{ layer: 1 }, { layer: 2 }, { layer: 'last' }] }));
  for (const args of [['train', '--task', task, '--epochs', '1'], ['eval', '--task', task, '--max-examples', '2']]) {
    const out = hdlm(args);
    assert.notEqual(out.status, 0, args[0]);
    assert.match(out.stderr, /file-heads\.hdlm\.json: the heads folder .*wn\.hdlm\.json is a file; set "heads" to a folder/, args[0]);
    assert.doesNotMatch(out.stderr, /EEXIST/);
  }
});

test('a learning rate outside (0, 1) is refused by option name, before anything loads', () => {
  for (const bad of ['0', '1.5', 'fast']) {
    const out = hdlm(['train', '--task', join(dir, 'wn.hdlm.json'), '--learning-rate', bad]);
    assert.equal(out.status, 2, out.stderr);
    assert.match(out.stderr, /--learning-rate must be/);
  }
});

test('a sample (--max-examples) does not replace a whole evaluation made since the heads were trained; after retraining it does', () => {
  const heads = join(dir, 'sample-heads');
  const wn = join(dir, 'wn.hdlm.json');
  assert.equal(hdlm(['train', '--task', wn, '--heads', heads, '--epochs', '1', '--no-feature-cache']).status, 0);
  const record = (): { examples: number; sampledFrom?: number } => JSON.parse(readFileSync(join(heads, 'evaluation.json'), 'utf8')) as { examples: number; sampledFrom?: number };
  const whole = hdlm(['eval', '--task', wn, '--heads', heads, '--file', fixture]);
  assert.equal(whole.status, 0, whole.stderr);
  assert.match(whole.stdout, /record kept in .*evaluation\.json/);
  const all = record().examples;
  assert.ok(all > 100 && record().sampledFrom === undefined, JSON.stringify(record()));
  const sample = hdlm(['eval', '--task', wn, '--heads', heads, '--file', fixture, '--max-examples', '4']);
  assert.equal(sample.status, 0, sample.stderr);
  assert.match(sample.stdout, new RegExp(`a sample \\(4 of ${all} examples\\), so not kept: .*evaluation\\.json keeps the whole evaluation of \\S+ \\(${all} examples`));
  assert.equal(record().examples, all, 'the whole evaluation stays');
  // Heads saved after that evaluation make it stale: then the sample is the better record.
  const manifest = join(heads, 'level1.json');
  const m = JSON.parse(readFileSync(manifest, 'utf8')) as { createdAt: string };
  writeFileSync(manifest, JSON.stringify({ ...m, createdAt: new Date(Date.now() + 60_000).toISOString() }));
  assert.equal(hdlm(['eval', '--task', wn, '--heads', heads, '--file', fixture, '--max-examples', '4']).status, 0);
  assert.deepEqual([record().examples, record().sampledFrom], [4, all]);
});

test('new-task writes a task file beside a dataset that train then trains, and refuses what training would', () => {
  const dataset = join(dir, 'glosses.jsonl');
  writeFileSync(dataset, readFileSync(fixture, 'utf8').split('\n').slice(0, 60).join('\n'));
  const created = hdlm(['new-task', dataset, '--model', join(dir, 'model'), '--json']);
  assert.equal(created.status, 0, created.stderr);
  const task = JSON.parse(created.stdout) as { task: string; levels: unknown[]; examples: number; modelLayers: number };
  assert.equal(task.task, join(dir, 'glosses.hdlm.json'));
  // Three WordNet levels on the 4-layer test model: each level on its own layer, the last at the last.
  assert.deepEqual([task.levels, task.examples, task.modelLayers], [[2, 3, 'last'], 60, 4]);
  assert.match(readFileSync(task.task, 'utf8'), /"model": "model",/);
  const train = hdlm(['train', '--task', task.task, '--epochs', '1', '--no-feature-cache', '--json']);
  assert.equal(train.status, 0, train.stderr);
  assert.deepEqual((JSON.parse(train.stdout) as { heads: { name: string }[] }).heads.map((h) => h.name).sort(), ['flat', 'level1', 'level2', 'level3']);
  assert.ok(existsSync(join(dir, 'heads', 'glosses', 'level1.json')), 'the heads folder beside the task file');
  const second = hdlm(['new-task', dataset, '--model', join(dir, 'model')]);
  assert.equal(second.status, 0, second.stderr);
  assert.match(second.stdout, /created .*glosses-2\.hdlm\.json: 3 levels at layers 2, 3, last of 4, 60 examples\nnext: hdlm train --task /);
  // 'y' under two parents: not a tree, which training refuses, so no task is written for it.
  writeFileSync(join(dir, 'broken.jsonl'), '{"text": "a", "labels": ["x", "y"]}\n{"text": "b", "labels": ["z", "y"]}\n');
  const broken = hdlm(['new-task', join(dir, 'broken.jsonl'), '--model', join(dir, 'model')]);
  assert.equal(broken.status, 1);
  assert.match(broken.stderr, /broken\.jsonl: the label paths do not form a tree[\s\S]*broken\.jsonl:2:/);
  assert.equal(existsSync(join(dir, 'broken.hdlm.json')), false);
  const usage = hdlm(['new-task']);
  assert.equal(usage.status, 2);
  assert.match(usage.stderr, /new-task: name one dataset/);
});

test('scan-layers keeps its record beside the heads and prints the report; bad options are refused by name', () => {
  const task = join(dir, 'wn.hdlm.json');
  for (const [args, message] of [
    [['--tolerance', '100'], /--tolerance is in accuracy points/],
    [['--layers', '1,x'], /--layers must be comma-separated whole numbers/],
    [['--dev-examples', '0'], /--dev-examples must be a whole number ≥ 1/],
  ] as const) {
    const refused = hdlm(['scan-layers', '--task', task, ...args]);
    assert.equal(refused.status, 2, refused.stderr);
    assert.match(refused.stderr, message);
  }
  const beyond = hdlm(['scan-layers', '--task', task, '--layers', '1,2,7']);
  assert.equal(beyond.status, 1);
  assert.match(beyond.stderr, /layer 7 cannot be scanned: the layers to scan are 1 to 4/);

  const out = join(dir, 'scan.md');
  const scan = hdlm(['scan-layers', '--task', task, '--layers', '1,2,3,4', '--train-examples', '40', '--dev-examples', '30', '--epochs', '1', '--tolerance', '2', '--out', out]);
  assert.equal(scan.status, 0, scan.stderr);
  const record = JSON.parse(readFileSync(join(dir, 'task-heads', 'layer-scan.json'), 'utf8')) as { examples: { train: number; dev: number }; tolerance: number; suggested: (number | 'last')[]; levels: { cells: { epochs: number }[] }[] };
  assert.equal(record.examples.train, 40);
  assert.ok(record.examples.dev > 0 && record.examples.dev <= 30);
  assert.equal(record.tolerance, 0.02);
  assert.ok(record.levels.every((l) => l.cells.length === 4 && l.cells.every((c) => c.epochs === 1)));
  const markdown = readFileSync(out, 'utf8');
  assert.ok(markdown.startsWith('# Layer scan of wn\n'));
  assert.ok(markdown.includes(`**Suggested layers: ${record.suggested.join(', ')}**`));
  assert.match(scan.stderr, new RegExp(`wn: suggested layers ${record.suggested.join(', ')}.*; record kept in .*layer-scan\\.json`));
  // The heads folder holds the record only: the scan trains no head there.
  assert.equal(existsSync(join(dir, 'task-heads', 'level1.json')), false);
  // --json with --out: the record's JSON goes to the file whole; --events (a stream on stdout) does not go with --out.
  const jsonOut = join(dir, 'scan.json');
  const asJson = hdlm(['scan-layers', '--task', task, '--layers', '1,2,3,4', '--train-examples', '20', '--dev-examples', '10', '--epochs', '1', '--json', '--out', jsonOut]);
  assert.equal(asJson.status, 0, asJson.stderr);
  assert.equal(asJson.stdout, '');
  assert.deepEqual((JSON.parse(readFileSync(jsonOut, 'utf8')) as { levels: unknown[] }).levels.length, record.levels.length);
  const events = hdlm(['scan-layers', '--task', task, '--events', '--out', jsonOut]);
  assert.equal(events.status, 2, events.stderr);
  assert.match(events.stderr, /--out does not go with --events/);
});

test('a task command takes its task as its one argument; an argument it would ignore is refused', () => {
  const task = join(dir, 'wn.hdlm.json');
  // `hdlm report FILE` reads that task's heads, as --task FILE does (not the shipped task's).
  for (const args of [['report', task], ['report', '--task', task]]) {
    const run = hdlm(args);
    assert.equal(run.status, 1, run.stderr);
    assert.match(run.stderr, /wn has no evaluation yet \(.*task-heads.evaluation\.json\)/);
  }
  for (const [args, message] of [
    [['train', task, 'extra'], /train: one task file, got 2 arguments/],
    [['eval', '--task', task, task], /eval: the task is given twice/],
    [['info', 'now'], /info takes no argument, got "now"/],
    [['bench', 'fast'], /bench takes no argument/],
  ] as const) {
    const refused = hdlm([...args]);
    assert.equal(refused.status, 2, refused.stderr);
    assert.match(refused.stderr, message);
  }
});

/** Runs `hdlm` with stdin a pipe this test holds; `close` ends it when `when(stdout so far)` holds. */
function runWithStdin(args: string[], when: (stdout: string) => boolean): Promise<{ code: number | null; stderr: string; closedStdin: boolean }> {
  const child = spawn(process.execPath, [join(root, 'dist', 'hdlm.js'), ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, XDG_CACHE_HOME: join(dir, 'cache') } });
  let stdout = '';
  let stderr = '';
  let closedStdin = false;
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    if (!closedStdin && when(stdout)) {
      closedStdin = true;
      child.stdin.end();
    }
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  // Held open otherwise: a command that is done must exit with its stdin still open.
  const guard = setTimeout(() => child.kill('SIGKILL'), 120_000);
  return new Promise((done) =>
    child.on('close', (code) => {
      clearTimeout(guard);
      done({ code, stderr, closedStdin });
    }),
  );
}

test('--stop-on-stdin-end: the end of stdin cancels a fine-tuning between steps; a command that is done exits with stdin still open', async () => {
  const long = join(dir, 'long.hdlm.json');
  writeFileSync(long, JSON.stringify({ name: 'long', model: 'model', dataset: fixture, heads: 'long-heads', levels: [{ layer: 1 }, { layer: 2 }, { layer: 'last' }], train: { epochs: 400, patience: 400, batchSize: 16 } }));
  const cancelled = await runWithStdin(['train', long, '--events', '--stop-on-stdin-end', '--no-feature-cache'], (out) => out.includes('"kind":"epoch"'));
  assert.equal(cancelled.closedStdin, true, `an epoch ran before stdin was closed: ${cancelled.stderr}`);
  assert.equal(cancelled.code, 130, cancelled.stderr);
  assert.match(cancelled.stderr, /hdlm: cancelled/);
  const left = existsSync(join(dir, 'long-heads')) ? readdirSync(join(dir, 'long-heads')) : [];
  assert.deepEqual(left.filter((f) => f.includes('.tmp')), [], 'no half-written file left behind');

  const done = await runWithStdin(['eval', join(dir, 'wn.hdlm.json'), '--max-examples', '2', '--events', '--stop-on-stdin-end'], () => false);
  assert.equal(done.closedStdin, false);
  assert.equal(done.code, 0, done.stderr);
});
