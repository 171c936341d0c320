// Every evaluation keeps its per-example predictions beside its record; `hdlm mistakes`
// (the editor's Show Mistakes) joins them with the evaluated texts: exactly the examples HdLM got
// wrong, ordered by the level where it first went wrong and then by how sure it was; a changed
// dataset or a task never evaluated is refused with the reason. `hdlm report` (the editor's
// Per-Label Report) reads the same predictions alone: per label, with the record's own figures.
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { ResponseError } from 'vscode-languageserver';
import { Engine } from '../../../engine/src/index';
import { HdlmServer } from '../../../server/src/hdlmServer';
import { ErrorCodes } from '../../../server/src/protocol';
import { FakeClient } from '../../support/fakeClient';
import { runHdlm, type CliRun } from '../../support/hdlmCli';
import { writeTinyModel } from '../../support/tinyCheckpoint';

const root = resolve(__dirname, '..', '..', '..', '..');
let dir: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'hdlm-cli-mistakes-'));
  writeTinyModel(join(dir, 'model'), root, { std: 0.2, seed: 7 });
  writeFileSync(join(dir, 'wn.jsonl'), syntheticDataset().join('\n'));
  // One dataset file: the evaluation runs on the dev split training held out.
  writeFileSync(join(dir, 'wn.hdlm.json'), JSON.stringify({ name: 'wn', model: 'model', dataset: 'wn.jsonl', levels: [{ layer: 2 }, { layer: 'last' }], train: { epochs: 8, batchSize: 16, devFraction: 0.3 } }));
  const thoughts = readFileSync(join(root, 'data', 'fixtures', 'thought.sample.jsonl'), 'utf8').split('\n').slice(0, 6).join('\n');
  writeFileSync(join(dir, 'words.jsonl'), thoughts);
  writeFileSync(join(dir, 'words.hdlm.json'), JSON.stringify({ name: 'words', kind: 'thoughtThenAnswer', model: 'model', dataset: { train: 'words.jsonl', test: 'words.jsonl' }, levels: [{ layer: 2 }, { layer: 'last' }] }));
});

after(() => rmSync(dir, { recursive: true, force: true }));

/** Two levels a word of the text gives away, so that trained heads get some examples right and some wrong. */
function syntheticDataset(): string[] {
  const kinds = [['animal', 'dog', 'barks'], ['animal', 'cat', 'purrs'], ['plant', 'tree', 'grows tall'], ['plant', 'flower', 'blooms']];
  const places = ['in the yard', 'at night', 'by the river', 'near the house', 'all day', 'in spring', 'on the hill', 'after rain', 'in the city', 'at dawn'];
  return places.flatMap((place, i) => kinds.map(([coarse, fine, verb], k) => JSON.stringify({ id: `s${i * 4 + k}`, text: `the ${fine} ${verb} ${place}`, labels: [coarse, fine] })));
}

function hdlm(args: string[], cwd?: string): CliRun {
  return runHdlm(root, args, { cacheDir: join(dir, 'cache'), cwd });
}

type Prediction = { id: string; gold: string[]; hdlm: { labels: string[]; probabilities: number[] } };
type Line = { text: string; labels: string[]; hdlm: string[]; hdlmProbabilities: number[]; wrongAt: number; flat: string[]; flatRight: boolean; id: string; source: string };

test('an evaluation keeps its predictions; mistakes lists exactly the wrong ones, by level and sureness, with their texts', () => {
  const task = join(dir, 'wn.hdlm.json');
  assert.equal(hdlm(['mistakes', '--task', task]).status, 1);
  assert.match(hdlm(['mistakes', '--task', task]).stderr, /wn has no evaluation yet .*: evaluate it first/);
  const trained = hdlm(['train', '--task', task, '--no-feature-cache']);
  assert.equal(trained.status, 0, trained.stderr);
  const evaluated = hdlm(['eval', '--task', task]);
  assert.equal(evaluated.status, 0, evaluated.stderr);
  const heads = join(dir, 'heads', 'wn');
  const record = JSON.parse(readFileSync(join(heads, 'evaluation.json'), 'utf8')) as { examples: number; file: string };
  assert.match(record.file, /\(dev split, 30%\)$/);
  const predictions = readFileSync(join(heads, 'evaluation.predictions.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Prediction);
  assert.equal(predictions.length, record.examples, 'one prediction per evaluated example');
  const wrong = predictions.filter((p) => p.hdlm.labels.join('\u0000') !== p.gold.join('\u0000'));
  assert.ok(wrong.length > 0 && wrong.length < predictions.length, `a tiny random model gets some right and some wrong: ${wrong.length} of ${predictions.length}`);

  const listed = hdlm(['mistakes', '--task', task]);
  assert.equal(listed.status, 0, listed.stderr);
  const lines = listed.stdout.trim().split('\n').map((l) => JSON.parse(l) as Line);
  assert.deepEqual(new Set(lines.map((l) => l.id)), new Set(wrong.map((p) => p.id)));
  const texts = new Map(readFileSync(join(dir, 'wn.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { id: string; text: string }).map((r) => [r.id, r.text]));
  const fileLines = readFileSync(join(dir, 'wn.jsonl'), 'utf8').split('\n');
  for (const [i, line] of lines.entries()) {
    assert.equal(line.text, texts.get(line.id));
    // `source` opens the dataset at the example's line (the training file: the dev split came from it).
    const [uri, at] = line.source.split('#L');
    assert.equal(uri, pathToFileURL(join(dir, 'wn.jsonl')).href);
    assert.equal((JSON.parse(fileLines[Number(at) - 1]!) as { id: string }).id, line.id);
    assert.equal(line.wrongAt, line.labels.findIndex((label, d) => line.hdlm[d] !== label) + 1);
    const previous = lines[i - 1];
    if (!previous) continue;
    assert.ok(previous.wrongAt < line.wrongAt || (previous.wrongAt === line.wrongAt && previous.hdlmProbabilities[line.wrongAt - 1]! >= line.hdlmProbabilities[line.wrongAt - 1]!), `line ${i + 1} is in order`);
  }
  assert.match(listed.stderr, new RegExp(`HdLM wrong on ${wrong.length} of ${record.examples} examples \\(first at level 1: \\d+, level 2: \\d+\\); flat right on \\d+ of them`));
  // --out: the same lines, whole.
  const out = join(dir, 'mistakes.jsonl');
  assert.equal(hdlm(['mistakes', '--task', task, '--out', out]).status, 0);
  assert.equal(readFileSync(out, 'utf8'), listed.stdout);
  // --label [--level]: one gold label's mistakes, in the same order.
  for (const [label, level] of [['dog', '2'], ['animal', '1'], ['animal', undefined]] as const) {
    const one = hdlm(['mistakes', '--task', task, '--label', label, ...(level ? ['--level', level] : [])]);
    assert.equal(one.status, 0, one.stderr);
    const kept = one.stdout.trim() === '' ? [] : one.stdout.trim().split('\n').map((l) => (JSON.parse(l) as Line).id);
    assert.deepEqual(kept, lines.filter((l) => (level ? l.labels[Number(level) - 1] === label : l.labels.includes(label))).map((l) => l.id), `${label} ${level ?? 'any level'}`);
    assert.match(one.stderr, new RegExp(`\\(gold ${label}${level ? ` at level ${level}` : ''} only\\): HdLM wrong on ${kept.length} of ${record.examples} examples`));
  }
  const lone = hdlm(['mistakes', '--task', task, '--level', '2']);
  assert.equal(lone.status, 2);
  assert.match(lone.stderr, /--level goes with --label/);

  // A mistaken example gone from the dataset: the predictions no longer match it, and it says so.
  const gone = lines[0]!.id;
  const kept = readFileSync(join(dir, 'wn.jsonl'), 'utf8').split('\n').filter((l) => !l.includes(`"${gone}"`));
  writeFileSync(join(dir, 'wn.jsonl'), kept.join('\n'));
  const stale = hdlm(['mistakes', '--task', task]);
  assert.equal(stale.status, 1);
  assert.match(stale.stderr, /wn\.jsonl changed since the evaluation of .*: its examples no longer match the kept predictions; run eval again/);
});

test('thought-then-answer mistakes: the input and the gold thought and answer, then what HdLM and flat wrote; wrong thoughts first', () => {
  const task = join(dir, 'words.hdlm.json');
  const evaluated = hdlm(['eval', '--task', task]);
  assert.equal(evaluated.status, 0, evaluated.stderr);
  const listed = hdlm(['mistakes', '--task', task]);
  assert.equal(listed.status, 0, listed.stderr);
  type ThoughtLine = { input: string; thought: string; answer: string; hdlmThought: string; thoughtProbability: number; hdlmAnswer: string; flatAnswer: string; id: string };
  const lines = listed.stdout.trim().split('\n').map((l) => JSON.parse(l) as ThoughtLine);
  // Untrained heads on a random model: no thought is right, so every example is a mistake.
  assert.equal(lines.length, 6);
  const inputs = new Map(readFileSync(join(dir, 'words.jsonl'), 'utf8').split('\n').map((l) => JSON.parse(l) as { id: string; input: string; thought: string }).map((r) => [r.id, r]));
  for (const line of lines) {
    assert.equal(line.input, inputs.get(line.id)?.input);
    assert.equal(line.thought, inputs.get(line.id)?.thought);
    assert.ok(line.thoughtProbability > 0 && line.thoughtProbability <= 1);
  }
  assert.deepEqual(lines.map((l) => l.thoughtProbability), [...lines.map((l) => l.thoughtProbability)].sort((a, b) => b - a), 'the surest wrong thought first');
  assert.match(listed.stderr, /HdLM wrong on 6 of 6 examples \(thought wrong on 6, the answer too on \d; answer alone wrong on 0\)/);
  // A thought is matched as the evaluation matches thoughts (trimmed, case-folded).
  const activity = hdlm(['mistakes', '--task', task, '--label', ' Activity']);
  assert.deepEqual(activity.stdout.trim().split('\n').map((l) => (JSON.parse(l) as ThoughtLine).thought), ['activity', 'activity']);
  // `eval --file` with a relative path: the record names the file relative to the heads folder
  // (not to where eval ran), so Show Mistakes finds it from anywhere; once it is gone, it says so.
  copyFileSync(join(dir, 'words.jsonl'), join(dir, 'words-copy.jsonl'));
  assert.equal(hdlm(['eval', '--task', task, '--file', 'words-copy.jsonl'], dir).status, 0);
  assert.equal(hdlm(['mistakes', '--task', task]).status, 0);
  rmSync(join(dir, 'words-copy.jsonl'));
  const gone = hdlm(['mistakes', '--task', task]);
  assert.equal(gone.status, 1);
  assert.match(gone.stderr, new RegExp(`the evaluated file ${join(dir, 'words-copy.jsonl').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is not there any more; evaluate the task again`));
});

test('report: per label from the kept predictions alone (the file changed since), the record\'s figures, Markdown or JSON', () => {
  const task = join(dir, 'wn.hdlm.json');
  // The first test removed an example from wn.jsonl after evaluating: the report does not read it.
  const json = hdlm(['report', '--task', task, '--json']);
  assert.equal(json.status, 0, json.stderr);
  type Level = { level: number; accuracy: number; macroF1: number; labels: { label: string; examples: number; missed: number; missedAbove: number }[] };
  const report = JSON.parse(json.stdout) as { kind: string; examples: number; levels: Level[] };
  const record = JSON.parse(readFileSync(join(dir, 'heads', 'wn', 'evaluation.json'), 'utf8')) as { examples: number; variants: { name: string; levels: { accuracy: number; macroF1: number }[] }[] };
  const hdlmLevels = record.variants.find((v) => v.name === 'hdlm')!.levels;
  assert.equal(report.kind, 'classify');
  assert.equal(report.levels.length, 2);
  report.levels.forEach((level, d) => {
    assert.ok(Math.abs(level.accuracy - hdlmLevels[d]!.accuracy) < 1e-12 && Math.abs(level.macroF1 - hdlmLevels[d]!.macroF1) < 1e-12, `level ${d + 1} as the record says`);
    assert.equal(level.labels.reduce((n, l) => n + l.examples, 0), record.examples, 'every example under one gold label');
    assert.equal(level.labels.reduce((n, l) => n + l.missed, 0), Math.round((1 - level.accuracy) * record.examples));
  });
  assert.ok(report.levels[0]!.labels.every((l) => l.missedAbove === 0));
  // Markdown on stdout, and the same whole in --out.
  const markdown = hdlm(['report', '--task', task]);
  assert.equal(markdown.status, 0, markdown.stderr);
  assert.match(markdown.stdout, /^# Per-label report: wn\n[\s\S]*## Level 1: \d+ labels[\s\S]*## Level 2: \d+ labels/);
  for (const label of ['animal', 'plant', 'dog', 'cat', 'tree', 'flower']) assert.match(markdown.stdout, new RegExp(`^\\| ${label} \\| \\d+ \\|`, 'm'), label);
  const out = join(dir, 'report.md');
  const written = hdlm(['report', '--task', task, '--out', out]);
  assert.equal(written.status, 0, written.stderr);
  assert.match(written.stdout, /wn \(evaluated .*\): level 1: \d+ labels, macro-F1 [\d.]+; level 2: .*; written to /);
  assert.equal(readFileSync(out, 'utf8'), markdown.stdout);

  const thoughts = hdlm(['report', '--task', join(dir, 'words.hdlm.json')]);
  assert.equal(thoughts.status, 0, thoughts.stderr);
  assert.match(thoughts.stdout, /^# Per-thought report: words\n[\s\S]*Thought accuracy [\d.]+ %/);
  // Its last evaluation ran on a copy of its file: another file, so no change since is measured.
  assert.doesNotMatch(thoughts.stdout, /Since the previous evaluation/);
  // Evaluated on its own file again, twice: the second says what changed since the first, paired
  // on all 6; with the previous predictions damaged (they only add the thoughts that moved), the
  // report still opens with it.
  assert.equal(hdlm(['eval', '--task', join(dir, 'words.hdlm.json')]).status, 0);
  const evalJson = JSON.parse(hdlm(['eval', '--task', join(dir, 'words.hdlm.json'), '--json']).stdout) as { sincePrevious?: { examples: number; changes: { measure: string }[] } };
  assert.equal(evalJson.sincePrevious?.examples, 6, '--json carries the change since');
  assert.deepEqual(evalJson.sincePrevious.changes.map((c) => c.measure), ['thought', 'answer']);
  const again = hdlm(['report', '--task', join(dir, 'words.hdlm.json')]);
  assert.match(again.stdout, /## Since the previous evaluation\n\n.* paired on the 6 examples both measured[\s\S]*^\| thought \| [\d.]+ % \| [\d.]+ % \|/m);
  writeFileSync(join(dir, 'heads', 'words', 'evaluation.previous.predictions.jsonl'), '{ damaged');
  const damaged = hdlm(['report', '--task', join(dir, 'words.hdlm.json')]);
  assert.equal(damaged.status, 0, damaged.stderr);
  assert.match(damaged.stdout, /## Since the previous evaluation/);

  // A task never evaluated says what to do; so does a folder given as --out.
  writeFileSync(join(dir, 'fresh.hdlm.json'), JSON.stringify({ name: 'fresh', model: 'model', dataset: 'wn.jsonl', levels: [{ layer: 2 }, { layer: 'last' }] }));
  const fresh = hdlm(['report', '--task', join(dir, 'fresh.hdlm.json')]);
  assert.equal(fresh.status, 1);
  assert.match(fresh.stderr, /fresh has no evaluation yet .*: evaluate it first/);
  const folder = hdlm(['report', '--task', task, '--out', dir]);
  assert.equal(folder.status, 2);
  assert.match(folder.stderr, /--out .*: is a folder; name a file in it/);
});

/** A task whose test file names its examples by line ("line 3"), evaluated with untrained heads (nothing to train). */
function evaluatedPlainTask(): { task: string; test: string; heads: string } {
  const rows = syntheticDataset().map((l) => JSON.parse(l) as { text: string; labels: string[] }).map(({ text, labels }) => JSON.stringify({ text, labels }));
  writeFileSync(join(dir, 'plain-train.jsonl'), rows.join('\n'));
  writeFileSync(join(dir, 'plain-test.jsonl'), rows.slice(0, 12).join('\n'));
  writeFileSync(join(dir, 'plain.hdlm.json'), JSON.stringify({ name: 'plain', model: 'model', dataset: { train: 'plain-train.jsonl', test: 'plain-test.jsonl' }, levels: [{ layer: 2 }, { layer: 'last' }] }));
  const evaluated = hdlm(['eval', '--task', join(dir, 'plain.hdlm.json')]);
  assert.equal(evaluated.status, 0, evaluated.stderr);
  return { task: join(dir, 'plain.hdlm.json'), test: join(dir, 'plain-test.jsonl'), heads: join(dir, 'heads', 'plain') };
}

test('no output replaces a file the command reads: the task file, the evaluated file, the kept predictions, --file (through links too)', () => {
  const { task, test: testFile, heads } = evaluatedPlainTask();
  const predictions = join(heads, 'evaluation.predictions.jsonl');
  symlinkSync(task, join(dir, 'plain-link.hdlm.json'));
  const before = [task, testFile, predictions, join(heads, 'evaluation.json')].map((f) => readFileSync(f, 'utf8'));
  for (const args of [
    ['report', task, '--out', task],
    ['report', task, '--out', join(dir, 'plain-link.hdlm.json')],
    ['mistakes', task, '--out', predictions],
    ['mistakes', task, '--out', testFile],
    ['mistakes', task, '--json', '--out', join(heads, 'evaluation.json')],
    ['eval', task, '--file', testFile, '--predictions', testFile],
    ['eval', task, '--predictions', join(heads, 'evaluation.json')],
    ['classify', '--task', task, '--file', testFile, '--out', testFile],
    ['scan-layers', task, '--out', join(dir, 'plain-train.jsonl')],
  ]) {
    const run = hdlm(args);
    assert.equal(run.status, 2, `${args.join(' ')}: ${run.stderr}`);
    assert.match(run.stderr, /: that is (the task file|the task's dataset\.\w+|--file|a file kept in the heads folder .*), which this command reads; writing there would replace it/, args.join(' '));
  }
  assert.deepEqual([task, testFile, predictions, join(heads, 'evaluation.json')].map((f) => readFileSync(f, 'utf8')), before, 'nothing was written');
  assert.equal(hdlm(['mistakes', task]).status, 0);
});

test('--json with --out writes the JSON whole to the file (mistakes, report)', () => {
  const task = join(dir, 'plain.hdlm.json');
  const mistakes = join(dir, 'plain-mistakes.json');
  const run = hdlm(['mistakes', task, '--json', '--out', mistakes]);
  assert.equal(run.status, 0, run.stderr);
  assert.equal(readFileSync(mistakes, 'utf8'), hdlm(['mistakes', task, '--json']).stdout);
  assert.equal((JSON.parse(readFileSync(mistakes, 'utf8')) as { task: string }).task, 'plain');
  assert.match(run.stdout, /written to .*plain-mistakes\.json/);
  const report = join(dir, 'plain-report.json');
  assert.equal(hdlm(['report', task, '--json', '--out', report]).status, 0);
  assert.equal(readFileSync(report, 'utf8'), hdlm(['report', task, '--json']).stdout);
});

test('a label or level that matches no evaluated example is refused, naming what there is; a thought has no level', () => {
  const task = join(dir, 'plain.hdlm.json');
  const nope = hdlm(['mistakes', task, '--label', 'nope']);
  assert.equal(nope.status, 2, nope.stderr);
  assert.match(nope.stderr, /--label nope: no evaluated example has the gold label "nope"; there are animal, cat, dog, flower, plant, tree/);
  const level = hdlm(['mistakes', task, '--label', 'dog', '--level', '9']);
  assert.equal(level.status, 2, level.stderr);
  assert.match(level.stderr, /--label dog --level 9: level 9: plain has levels 1 to 2/);
  const wrongLevel = hdlm(['mistakes', task, '--label', 'dog', '--level', '1']);
  assert.equal(wrongLevel.status, 2, wrongLevel.stderr);
  assert.match(wrongLevel.stderr, /no evaluated example has the gold label "dog" at level 1; that level has animal, plant/);
  const thought = hdlm(['mistakes', join(dir, 'words.hdlm.json'), '--label', 'activity', '--level', '1']);
  assert.equal(thought.status, 2, thought.stderr);
  assert.match(thought.stderr, /words is a thought-then-answer task: a thought has no level/);
  const unknownThought = hdlm(['mistakes', join(dir, 'words.hdlm.json'), '--label', 'nothing']);
  assert.equal(unknownThought.status, 2, unknownThought.stderr);
  assert.match(unknownThought.stderr, /no evaluated example has the gold thought "nothing"; there are .*activity/);
  // The language server's hdlm/mistakes refuses the same, as the request's bad input.
  const server = new HdlmServer(new FakeClient(), (o) => Engine.create(o), { modelDir: join(dir, 'model'), taskFile: task, cli: '/nonexistent/hdlm.js' });
  server.initialize({ processId: null, rootUri: null, capabilities: {}, clientInfo: { name: 'unit test' } });
  assert.throws(() => server.mistakes({ task, label: 'nope' }), (err: unknown) => err instanceof ResponseError && err.code === ErrorCodes.badRequest && /no evaluated example has the gold label "nope"/.test(err.message));
  assert.ok(server.mistakes({ task, label: 'dog', level: 2 }).mistakes.every((m) => 'gold' in m && (m.gold as string[])[1] === 'dog'));
});

test('a damaged line of the kept predictions is refused by file, line (blank lines counted) and field, by mistakes and report alike', () => {
  const task = join(dir, 'plain.hdlm.json');
  const file = join(dir, 'heads', 'plain', 'evaluation.predictions.jsonl');
  const kept = readFileSync(file, 'utf8');
  const lines = kept.split('\n');
  const broken = JSON.parse(lines[4]!) as Record<string, unknown>;
  delete broken['hdlm'];
  // A blank line first: the damaged prediction, the fifth, is line 6 of the file.
  writeFileSync(file, ['', ...lines.slice(0, 4), JSON.stringify(broken), ...lines.slice(5)].join('\n'));
  try {
    for (const command of ['mistakes', 'report']) {
      const run = hdlm([command, task]);
      assert.equal(run.status, 1, run.stderr);
      assert.match(run.stderr, /evaluation\.predictions\.jsonl:6: not a kept prediction \(field "hdlm\.labels" missing\); evaluate the task again to rewrite it/, command);
      assert.doesNotMatch(run.stderr, /Cannot read properties/);
    }
  } finally {
    writeFileSync(file, kept);
  }
});

test('a damaged evaluation record is refused by file and field, by mistakes and report, the CLI and the server alike', () => {
  const task = join(dir, 'plain.hdlm.json');
  const file = join(dir, 'heads', 'plain', 'evaluation.json');
  const kept = readFileSync(file, 'utf8');
  const good = JSON.parse(kept) as Record<string, unknown>;
  const damaged: [string, RegExp][] = [
    ['null', /the record must be a JSON object, got null/],
    ['[]', /the record must be a JSON object, got \[\]/],
    [JSON.stringify({ ...good, examples: 'many' }), /field "examples" must be a whole number ≥ 0, got "many"/],
    [JSON.stringify({ ...good, kind: 'other' }), /field "kind" must be "thoughtThenAnswer" or absent, got "other"/],
    [JSON.stringify({ ...good, variants: [{ name: 'hdlm' }] }), /field "variants\[0\]\.levels" must be a list of per-level metrics/],
  ];
  const server = new HdlmServer(new FakeClient(), (o) => Engine.create(o), { modelDir: join(dir, 'model'), taskFile: task, cli: '/nonexistent/hdlm.js' });
  server.initialize({ processId: null, rootUri: null, capabilities: {}, clientInfo: { name: 'unit test' } });
  const refusedByServer = (field: RegExp) => (err: unknown) => err instanceof ResponseError && err.code === ErrorCodes.badRequest && field.test(err.message) && err.message.includes(file);
  try {
    for (const [text, field] of damaged) {
      writeFileSync(file, text);
      for (const command of ['mistakes', 'report']) {
        const run = hdlm([command, task]);
        assert.equal(run.status, 1, `${command} on ${text.slice(0, 30)}: ${run.stderr}`);
        assert.ok(run.stderr.includes(`${file}: not an evaluation record this version can read`), run.stderr);
        assert.match(run.stderr, field, command);
        assert.doesNotMatch(run.stderr, /Cannot read properties|of many examples/);
      }
      assert.throws(() => server.labelReport({ task }), refusedByServer(field));
      assert.throws(() => server.mistakes({ task }), refusedByServer(field));
      // The task panel leaves the record out, with the same reason in the log.
      assert.equal(server.taskSummary({ task }).evaluation, undefined);
    }
  } finally {
    writeFileSync(file, kept);
  }
  assert.equal(hdlm(['report', task]).status, 0, 'the restored record reads again');
});

test('mistakes refuses to pair predictions with a file changed since the evaluation, with or without the record\'s digest', () => {
  const { task, test: testFile, heads } = { task: join(dir, 'plain.hdlm.json'), test: join(dir, 'plain-test.jsonl'), heads: join(dir, 'heads', 'plain') };
  const original = readFileSync(testFile, 'utf8');
  const record = JSON.parse(readFileSync(join(heads, 'evaluation.json'), 'utf8')) as { fileDigest?: string };
  assert.match(record.fileDigest ?? '', /^[0-9a-f]{64}$/, 'the record keeps a digest of the evaluated file');
  // A line inserted at the top: every "line N" now names the example after it.
  writeFileSync(testFile, `${JSON.stringify({ text: 'the flower blooms at noon', labels: ['plant', 'flower'] })}\n${original}`);
  const changed = hdlm(['mistakes', task]);
  assert.equal(changed.status, 1, changed.stderr);
  assert.match(changed.stderr, /plain-test\.jsonl changed since the evaluation of .*; run eval again/);
  // A record from before the digest: the gold labels no longer match, and that is refused too.
  delete record.fileDigest;
  writeFileSync(join(heads, 'evaluation.json'), JSON.stringify(record));
  const older = hdlm(['mistakes', task]);
  assert.equal(older.status, 1, older.stderr);
  assert.match(older.stderr, /plain-test\.jsonl changed since the evaluation of .*; run eval again/);
  writeFileSync(testFile, original);
  assert.equal(hdlm(['mistakes', task]).status, 0, 'the file as evaluated pairs again');
});

test('examples with whole-number ids are found on their lines; an id used again is its first line\'s', () => {
  const task = join(dir, 'words.hdlm.json');
  // Numbered ids, a blank line first: an id is not its line, and a lookup by `line N` would miss.
  const records = readFileSync(join(dir, 'words.jsonl'), 'utf8').split('\n').map((l, i) => ({ ...(JSON.parse(l) as object), id: 100 + i }));
  const file = join(dir, 'words-numbered.jsonl');
  // Every line again at the end: the readers skip a repeated id, so the example is the first line.
  const numbered = records.map((r) => JSON.stringify(r)).join('\n');
  writeFileSync(file, `\n${numbered}\n${numbered}\n`);
  assert.equal(hdlm(['eval', '--task', task, '--file', file]).status, 0);
  const listed = hdlm(['mistakes', '--task', task]);
  assert.equal(listed.status, 0, listed.stderr);
  const lines = listed.stdout.trim().split('\n').map((l) => JSON.parse(l) as { id: string; source: string });
  assert.equal(lines.length, 6);
  for (const line of lines) assert.equal(line.source, `${pathToFileURL(file).href}#L${Number(line.id) - 98}`, line.id);
});

test('the whole project folder moved: mistakes and report read its record, and a sample still does not replace it', () => {
  const { heads } = evaluatedPlainTask();
  const recorded = (JSON.parse(readFileSync(join(heads, 'evaluation.json'), 'utf8')) as { file: string }).file;
  assert.equal(recorded, '../../plain-test.jsonl', 'named relative to the heads folder');
  const moved = `${dir}-moved`;
  renameSync(dir, moved);
  try {
    const run = (args: string[]): CliRun => runHdlm(root, args, { cacheDir: join(moved, 'cache') });
    const task = join(moved, 'plain.hdlm.json');
    const listed = run(['mistakes', '--task', task]);
    assert.equal(listed.status, 0, listed.stderr);
    assert.match(listed.stderr, new RegExp(`plain on ${join(moved, 'plain-test.jsonl').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} `), 'the file where the project is now');
    assert.equal(run(['report', '--task', task]).status, 0);
    const sample = run(['eval', '--task', task, '--max-examples', '4']);
    assert.equal(sample.status, 0, sample.stderr);
    assert.match(sample.stdout, /a sample \(4 of 12 examples\), so not kept/);
  } finally {
    renameSync(moved, dir);
  }
});
