// `hdlm eval --file` on files that are not all usable examples: what it left out is counted on
// its first line and named by file and line on stderr (or as `stage` events under the language
// server), and a file it cannot evaluate is refused with a non-zero exit, leaving the kept
// evaluation as it was. A tiny random model with the model's own heads.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { readHierarchicalDataset } from '../../../engine/src/hdlm/dataset/readDataset';
import type { EvaluationRecord } from '../../../engine/src/hdlm/evaluateTask';
import { runHdlm, type CliRun } from '../../support/hdlmCli';
import { REPO_ROOT as root, WORDNET_FIXTURE as fixture } from '../../support/taskWorkspace';
import { writeTinyModel } from '../../support/tinyCheckpoint';

let dir: string;
let task: string;
let heads: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'hdlm-cli-eval-'));
  writeTinyModel(join(dir, 'model'), root);
  task = join(dir, 'wn.hdlm.json');
  heads = join(dir, 'heads');
  writeFileSync(task, JSON.stringify({ name: 'wn', model: 'model', dataset: fixture, levels: [{ layer: 2 }, { layer: 3 }, { layer: 'last' }], listCandidates: false, heads: 'heads' }));
});

after(() => rmSync(dir, { recursive: true, force: true }));

function hdlm(args: string[]): CliRun {
  return runHdlm(root, args, { cacheDir: join(dir, 'cache') });
}

function writeLines(name: string, lines: readonly (object | string)[]): string {
  const file = join(dir, name);
  writeFileSync(file, lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n') + '\n');
  return file;
}

const examples = readHierarchicalDataset(fixture).records.slice(0, 5).map(({ text, labels }) => ({ text, labels }));
const THOUGHT_FIXTURE = join(root, 'data', 'fixtures', 'thought.sample.jsonl');
/** Longer than the tiny model's 1,024 positions. */
const longText = Array.from({ length: 1100 }, () => 'word').join(' ');

test('eval counts what it left out on its first line and names each by line; a file it cannot evaluate leaves the kept record alone', () => {
  const mixed = writeLines('mixed.jsonl', [
    examples[0]!,
    examples[1]!,
    examples[2]!,
    { labels: examples[3]!.labels }, // 4: no text
    { text: longText, labels: examples[3]!.labels }, // 5: too long
    { text: examples[3]!.text, labels: ['noun.bogus', 'x', 'y'] }, // 6: never seen in training
    '{"text": "broken', // 7: not JSON
    examples[4]!,
  ]);
  const out = hdlm(['eval', task, '--file', mixed]);
  assert.equal(out.status, 0, out.stderr);
  // The headline goes where the progress bar is (stderr), above the table.
  assert.match(out.stderr, /^wn on .*mixed\.jsonl: 5 examples \(1 too long, left out; 2 lines skipped; 1 with gold labels never seen in training, counted wrong\)$/m);
  assert.match(out.stdout, /^variant +L1 acc/);
  // Where the change since the previous evaluation would be printed, why there is none.
  assert.match(out.stdout, /^not compared with the previous evaluation: no evaluation was kept here before$/m);
  assert.match(out.stderr, /mixed\.jsonl:4: missing field 'text'/);
  assert.match(out.stderr, /mixed\.jsonl:7: not valid JSON/);
  assert.match(out.stderr, /1 example left out as longer than the model's context of 1024 positions .*mixed\.jsonl:5 needs \d+/);
  assert.match(out.stderr, /1 example has a gold label never seen in training .*mixed\.jsonl:6 level 1 'noun\.bogus'/);
  const recordFile = join(heads, 'evaluation.json');
  const kept = readFileSync(recordFile, 'utf8');
  const record = JSON.parse(kept) as EvaluationRecord;
  assert.deepEqual([record.examples, record.tooLong, record.skippedLines, record.unknownLabels], [5, 1, 2, 1]);

  // Under the language server (--events) the same notices come as stage events, before the result.
  const events = hdlm(['eval', task, '--file', mixed, '--events']);
  assert.equal(events.status, 0, events.stderr);
  const lines = events.stdout.trim().split('\n').map((l) => JSON.parse(l) as { kind: string; message?: string; evaluation?: EvaluationRecord });
  const stages = lines.filter((e) => e.kind === 'stage').map((e) => e.message!);
  assert.ok(stages.some((m) => /mixed\.jsonl:4: missing field 'text'/.test(m)) && stages.some((m) => /mixed\.jsonl:6 level 1 'noun\.bogus'/.test(m)) && stages.some((m) => /mixed\.jsonl:5 needs/.test(m)), stages.join('\n'));
  assert.equal(lines.at(-1)!.evaluation!.unknownLabels, 1);
  const keptNow = readFileSync(recordFile, 'utf8');

  // Nothing fits the context: refused, and the kept record stays (nothing pushed to evaluation.previous.json).
  rmSync(join(heads, 'evaluation.previous.json'), { force: true });
  const long = writeLines('long.jsonl', [{ text: longText, labels: examples[0]!.labels }]);
  const refused = hdlm(['eval', task, '--file', long]);
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /long\.jsonl: no example fits the model's context of 1024 positions \(max_position_embeddings in its config\.json\): 1 too long on the taxonomy's longest path \(.*long\.jsonl:1 needs \d+\); nothing was evaluated, and the kept evaluation stays as it was/);
  assert.equal(readFileSync(recordFile, 'utf8'), keptNow);
  assert.ok(!existsSync(join(heads, 'evaluation.previous.json')));

  // Label paths shallower than the task's levels: refused before the model loads, the record kept.
  const two = writeLines('two.jsonl', examples.map((e) => ({ ...e, labels: e.labels.slice(0, 2) })));
  const shallow = hdlm(['eval', task, '--file', two]);
  assert.equal(shallow.status, 1);
  assert.match(shallow.stderr, /wn\.hdlm\.json: 3 levels, but the labels in .*two\.jsonl have 2/);
  assert.equal(readFileSync(recordFile, 'utf8'), keptNow);
  assert.ok(!existsSync(join(heads, 'evaluation.previous.json')));
});

test('eval in a heads folder holding files of the user\'s by the records\' names moves them aside whole and says so; heads in the model folder itself are refused', () => {
  // "heads": ".": the task's own folder, where the user keeps notes and a log of their own.
  const own = join(dir, 'own');
  mkdirSync(own);
  const ownTask = join(own, 'wn.hdlm.json');
  writeFileSync(ownTask, JSON.stringify({ name: 'wn', model: '../model', dataset: fixture, levels: [{ layer: 2 }, { layer: 3 }, { layer: 'last' }], listCandidates: false, heads: '.' }));
  const notes = Buffer.from('{"my": "notes", "not": "an evaluation"}\n');
  const log = Buffer.from('my log\nday 2: tried layer 3\n');
  writeFileSync(join(own, 'evaluation.json'), notes);
  writeFileSync(join(own, 'evaluation.history.jsonl'), log);
  const small = writeLines('small.jsonl', examples.slice(0, 3));
  const out = hdlm(['eval', ownTask, '--file', small]);
  assert.equal(out.status, 0, out.stderr);
  const aside = (name: string): string => {
    const found = readdirSync(own).filter((f) => f.startsWith(`${name}.unreadable-`));
    assert.equal(found.length, 1, readdirSync(own).join(', '));
    return join(own, found[0]!);
  };
  // Kept byte for byte under the new name, and the run said where.
  assert.deepEqual(readFileSync(aside('evaluation.json')), notes);
  assert.deepEqual(readFileSync(aside('evaluation.history.jsonl')), log);
  assert.match(out.stderr, /evaluation\.json is not what HdLM writes there: it is not a record HdLM wrote, so it was moved to .*evaluation\.json\.unreadable-\S+ \(kept as it was\)/);
  assert.match(out.stderr, /evaluation\.history\.jsonl line 1 is not JSON: .* moved to .*evaluation\.history\.jsonl\.unreadable-/);
  // The new records are HdLM's own, and the history starts afresh with this evaluation.
  assert.equal((JSON.parse(readFileSync(join(own, 'evaluation.json'), 'utf8')) as EvaluationRecord).examples, 3);
  assert.equal(readFileSync(join(own, 'evaluation.history.jsonl'), 'utf8').trim().split('\n').length, 1);

  // Heads in the model folder itself: refused before anything is written there.
  const inModel = join(dir, 'in-model.hdlm.json');
  writeFileSync(inModel, JSON.stringify({ name: 'wn', model: 'model', dataset: fixture, levels: [{ layer: 2 }, { layer: 3 }, { layer: 'last' }], listCandidates: false, heads: 'model' }));
  const refused = hdlm(['eval', inModel, '--file', small]);
  assert.notEqual(refused.status, 0);
  assert.match(refused.stderr, /in-model\.hdlm\.json: the heads folder .*model is the model folder .*model: runs keep heads and records there, among the model's own files; set "heads" to a folder of its own/);
  assert.equal(existsSync(join(dir, 'model', 'evaluation.json')), false);
});

test('a thought-then-answer eval names the lines it skipped and the examples too long, and refuses a file with none that fits, leaving the kept record alone', () => {
  const thoughtTask = join(dir, 'th.hdlm.json');
  const thoughtHeads = join(dir, 'th-heads');
  writeFileSync(thoughtTask, JSON.stringify({ name: 'th', kind: 'thoughtThenAnswer', model: 'model', dataset: THOUGHT_FIXTURE, levels: [{ layer: 2 }, { layer: 'last' }], heads: 'th-heads' }));
  const rows = readFileSync(THOUGHT_FIXTURE, 'utf8').split('\n').filter(Boolean).slice(0, 3).map((l) => JSON.parse(l) as { input: string; thought: string; answer: string });
  const mixed = writeLines('th-mixed.jsonl', [rows[0]!, { input: longText, thought: rows[1]!.thought, answer: rows[1]!.answer }, '{"input": "broken', rows[2]!]);
  const out = hdlm(['eval', thoughtTask, '--file', mixed]);
  assert.equal(out.status, 0, out.stderr);
  assert.match(out.stderr, /th-mixed\.jsonl:3: not valid JSON/);
  assert.match(out.stderr, /1 example left out as longer than the model's context of 1024 positions \(max_position_embeddings in its config\.json\), with room for a thought and an answer .*th-mixed\.jsonl:2 needs \d+/);
  const recordFile = join(thoughtHeads, 'evaluation.json');
  const kept = readFileSync(recordFile, 'utf8');
  assert.equal((JSON.parse(kept) as { examples: number; tooLong: number }).examples, 2);

  const long = writeLines('th-long.jsonl', [{ input: longText, thought: rows[0]!.thought, answer: rows[0]!.answer }]);
  const refused = hdlm(['eval', thoughtTask, '--file', long]);
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /th-long\.jsonl: no example fits the model's context of 1024 positions.*th-long\.jsonl:1 needs \d+\); nothing was evaluated, and the kept evaluation stays as it was/);
  assert.equal(readFileSync(recordFile, 'utf8'), kept);

  // --json gives the evaluated file as a path a script can open from here, as a classification's
  // --json does; the kept record names it relative to the heads folder (recordFile.ts).
  const json = hdlm(['eval', thoughtTask, '--file', mixed, '--json']);
  assert.equal(json.status, 0, json.stderr);
  assert.equal((JSON.parse(json.stdout) as { file: string }).file, mixed);
  assert.equal((JSON.parse(readFileSync(recordFile, 'utf8')) as { file: string }).file, '../th-mixed.jsonl');
});

test('--file that is not there, or is a folder, is refused as the option\'s fault before the model loads (exit 2), for either kind of task', () => {
  const thoughtTask = join(dir, 'words.hdlm.json');
  writeFileSync(thoughtTask, JSON.stringify({ name: 'words', kind: 'thoughtThenAnswer', model: 'model', dataset: THOUGHT_FIXTURE, levels: [{ layer: 2 }, { layer: 'last' }], heads: 'words-heads' }));
  for (const t of [task, thoughtTask]) {
    const missing = hdlm(['eval', t, '--file', join(dir, 'nope.jsonl')]);
    assert.equal(missing.status, 2, missing.stderr);
    assert.match(missing.stderr, new RegExp(`--file ${join(dir, 'nope.jsonl').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: no such file`));
    assert.doesNotMatch(missing.stderr, /task file|npm run data/, 'not sent to the task file\'s paths');
    const folder = hdlm(['eval', t, '--file', dir]);
    assert.equal(folder.status, 2, folder.stderr);
    assert.match(folder.stderr, /--file .*: not a file; name a JSON Lines dataset/);
  }
});
