// `hdlm new-task` and `hdlm train` on the shipped model (context 256) with small datasets that
// go wrong the ways small datasets do: candidate lists that would push examples past the context
// (new-task leaves them out and says so; train counts the examples it used), an empty dev split
// (the last epoch is kept, said once), a level with one label (refused up front, naming it), an
// odd line's depth (the common depth wins), skipped lines (named with file and line), a first
// line over 64 KiB, levels beyond the model (refused as eval refuses them), and repeated texts
// (said, not refused).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { shellWord } from '../../../engine/src/cli/commands/newTask';
import { idFraction } from '../../../engine/src/hdlm/splits';
import { readTaskFile } from '../../../engine/src/hdlm/taskFile';
import { runHdlm, type CliRun } from '../../support/hdlmCli';
import { REPO_ROOT as root, WORDNET_FIXTURE as fixture } from '../../support/taskWorkspace';

let dir: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'hdlm-new-task-'));
});

after(() => rmSync(dir, { recursive: true, force: true }));

function hdlm(args: string[]): CliRun {
  return runHdlm(root, args, { cacheDir: join(dir, 'cache') });
}

function writeLines(name: string, records: readonly object[]): string {
  const path = join(dir, name);
  writeFileSync(path, `${records.map((r) => JSON.stringify(r)).join('\n')}\n`);
  return path;
}

function writeTask(name: string, task: Record<string, unknown>): string {
  const path = join(dir, `${name}.hdlm.json`);
  writeFileSync(path, JSON.stringify({ name, model: 'default', ...task }));
  return path;
}

test('new-task leaves the candidate lists out when they would push examples past the context, and train counts the examples it used', () => {
  const dataset = join(dir, 'glosses.jsonl');
  writeFileSync(dataset, readFileSync(fixture));
  const created = hdlm(['new-task', dataset]);
  assert.equal(created.status, 0, created.stderr);
  assert.match(created.stdout, /"listCandidates": false: listing each level's candidates would make \d+ of the 189 training examples longer than the model's context of 256 positions \(1 without the lists\)/);
  assert.equal(readTaskFile(join(dir, 'glosses.hdlm.json')).listCandidates, false);
  // With the lists (the task file's default), most examples are too long: the summary counts those trained on.
  const listed = writeTask('listed', { dataset, levels: [{ layer: 4 }, { layer: 6 }, { layer: 'last' }] });
  const train = hdlm(['train', '--task', listed, '--epochs', '1', '--no-feature-cache']);
  assert.equal(train.status, 0, train.stderr);
  const [, used, dev, tooLong] = /trained 4 heads on (\d+) examples \(dev (\d+), (\d+) too long for the context, 0 lines skipped\)/.exec(train.stdout) ?? [];
  assert.ok(used, train.stdout);
  assert.equal(Number(used) + Number(dev) + Number(tooLong), 189, 'every example is either used or too long');
  assert.ok(Number(tooLong) > 50);
});

test('an empty dev split keeps each head\'s last epoch, said once; skipped lines are named with file and line', () => {
  const paths = [['animal', 'dog'], ['animal', 'cat'], ['plant', 'tree'], ['plant', 'rose'], ['animal', 'bird'], ['plant', 'moss']];
  // Ids the 10 % hash split never puts in dev.
  const ids = Array.from({ length: 100 }, (_, i) => `x${i}`).filter((id) => idFraction(id, 0) >= 0.1);
  const records: object[] = paths.map((labels, i) => ({ id: ids[i], text: `the ${labels[1]} one`, labels }));
  records.splice(2, 0, { id: ids[6], labels: ['animal', 'dog'] });
  const dataset = writeLines('nodev.jsonl', records);
  const task = writeTask('nodev', { dataset, listCandidates: false, levels: [{ layer: 4 }, { layer: 'last' }], train: { epochs: 3, patience: 1 } });
  const run = hdlm(['train', '--task', task, '--no-feature-cache']);
  assert.equal(run.status, 0, run.stderr);
  const out = run.stdout + run.stderr;
  assert.match(out, new RegExp(`1 line of ${dataset.replace(/[.]/g, '\\.')} skipped:\\n\\s+${dataset.replace(/[.]/g, '\\.')}:3: missing field 'text'`));
  assert.equal(out.match(/no dev examples/g)?.length, 1, 'said once');
  assert.match(out, /level1 +layer {2}4 {2}no dev rows: its last epoch, 3, kept/);
  assert.match(out, /\(dev 0, 1 line skipped\)/);
  const report = JSON.parse(readFileSync(join(dir, 'heads', 'nodev', 'train-report.json'), 'utf8')) as { heads: { bestEpoch: number; noDev?: boolean }[] };
  assert.ok(report.heads.every((h) => h.bestEpoch === 3 && h.noDev));
});

test('a level with one label is refused by new-task and train, naming the level and its label', () => {
  const dataset = writeLines('one.jsonl', ['dog', 'cat', 'bird'].map((b) => ({ text: `a ${b}`, labels: ['animal', b] })));
  const created = hdlm(['new-task', dataset]);
  assert.equal(created.status, 1);
  assert.match(created.stderr, /one\.jsonl: level 1 has one label 'animal': nothing to learn/);
  const task = writeTask('one', { dataset, levels: [{ layer: 4 }, { layer: 'last' }] });
  const train = hdlm(['train', '--task', task]);
  assert.equal(train.status, 1);
  assert.match(train.stderr, /level 1 has one label 'animal': nothing to learn/);
  // Every parent with one child: level 2 offers no choice either.
  const only = writeLines('onlychild.jsonl', [{ text: 'a dog', labels: ['animal', 'dog'] }, { text: 'an oak', labels: ['plant', 'oak'] }]);
  assert.match(hdlm(['new-task', only]).stderr, /level 2 has one label under each parent \('dog' under 'animal', 'oak' under 'plant'\): nothing to learn/);
});

test('the most common depth wins: an odd first line is the one skipped, named', () => {
  const lines = readFileSync(fixture, 'utf8').trim().split('\n').slice(0, 80).map((l) => {
    const r = JSON.parse(l) as { labels: string[] };
    return { ...r, labels: r.labels.slice(0, 2) };
  });
  const dataset = writeLines('odd.jsonl', [{ text: 'odd', labels: ['a', 'b', 'c'] }, ...lines]);
  const created = hdlm(['new-task', dataset]);
  assert.equal(created.status, 0, created.stderr);
  assert.match(created.stdout, /2 levels at layers 4, last of 8, 80 examples; training will skip 1 line\n/);
  assert.match(created.stdout, /odd\.jsonl:1: 3 labels, but most lines have 2/);
});

test('new-task on a folder named like a dataset names it as a folder', () => {
  const folder = join(dir, 'folder.jsonl');
  mkdirSync(folder);
  const out = hdlm(['new-task', folder]);
  assert.equal(out.status, 1, out.stderr);
  assert.match(out.stderr, /folder\.jsonl: is a folder, not a dataset; a dataset is a JSON Lines file \(\*\.jsonl\)/);
  assert.doesNotMatch(out.stderr, /EISDIR/);
});

test('a first line over 64 KiB is read whole', () => {
  const dataset = writeLines('long.jsonl', [{ text: 'x '.repeat(40000), labels: ['a', 'b'] }, { text: 'y', labels: ['a', 'c'] }, { text: 'z', labels: ['d', 'e'] }]);
  const created = hdlm(['new-task', dataset, '--json']);
  assert.equal(created.status, 0, created.stderr);
  assert.equal((JSON.parse(created.stdout) as { examples: number }).examples, 3);
});

test('train refuses a level beyond the model, or at its last layer before "last", as eval does', () => {
  const dataset = writeLines('levels.jsonl', [{ text: 'a dog', labels: ['animal', 'dog'] }, { text: 'an oak', labels: ['plant', 'oak'] }, { text: 'a cat', labels: ['animal', 'cat'] }]);
  for (const [levels, message] of [
    [[4, 12], /levels\.hdlm\.json: level layer 12 is beyond the model's 8 layers/],
    [[9, 'last'], /level layer 9 is beyond the model's 8 layers/],
    [[8, 'last'], /level 1 is at layer 8, the model's last, and so is level 2 \("last"\)/],
  ] as const) {
    const task = writeTask('levels', { dataset, levels: levels.map((layer) => ({ layer })) });
    const run = hdlm(['train', '--task', task]);
    assert.equal(run.status, 1, run.stdout);
    assert.match(run.stderr, message);
    assert.doesNotMatch(run.stderr, /undefined/);
  }
});

test('new-task and train say which texts come twice with different labels, and which test texts training has', () => {
  const paths = [['animal', 'dog'], ['animal', 'cat'], ['plant', 'oak'], ['plant', 'elm']];
  const train = writeLines('twice.train.jsonl', [...paths.map((labels, i) => ({ text: `text ${i}`, labels })), { text: 'text 0', labels: ['animal', 'cat'] }]);
  const test = writeLines('twice.test.jsonl', [{ text: 'new', labels: ['plant', 'oak'] }, { text: 'text 3', labels: ['plant', 'elm'] }]);
  const conflict = `1 text of ${train} appears more than once with different labels:\n  ${train}:5: the text of line 1 with other labels ('text 0' → animal/dog there, animal/cat here)`;
  const overlap = `1 test example has the same text as a training example: the test accuracy overstates what the heads do on new text\n  ${test}:2: the text of ${train}:4 ('text 3')`;
  const created = hdlm(['new-task', train]);
  assert.equal(created.status, 0, created.stderr);
  assert.ok(created.stdout.includes(`${conflict}\n${overlap}\n`), created.stdout);
  const trained = hdlm(['train', '--task', join(dir, 'twice.hdlm.json'), '--epochs', '1', '--no-feature-cache']);
  assert.equal(trained.status, 0, trained.stderr);
  for (const notice of [conflict, overlap]) assert.ok(trained.stderr.includes(notice.replace(/^/, 'hdlm: ')), trained.stderr);
});

test('new-task prints the next command with the task path quoted for the shell when it needs it', () => {
  const folder = join(dir, "with spaces ü it's");
  mkdirSync(folder);
  const dataset = join(folder, 'd-t-set.jsonl');
  writeFileSync(dataset, readFileSync(fixture, 'utf8').split('\n').slice(0, 200).join('\n'));
  const run = hdlm(['new-task', dataset]);
  assert.equal(run.status, 0, run.stderr);
  const next = /^next: hdlm train --task (.+)$/m.exec(run.stdout)?.[1];
  assert.ok(next, run.stdout);
  // The word a shell reads back is the task's path, whole.
  const read = spawnSync('sh', ['-c', `printf %s ${next}`], { encoding: 'utf8' });
  assert.equal(read.stdout, join(folder, 'd-t-set.hdlm.json'));
  assert.equal(shellWord('/plain/path/t.hdlm.json'), '/plain/path/t.hdlm.json');
  assert.equal(shellWord('C:\\my tasks\\t.hdlm.json', 'win32'), '"C:\\my tasks\\t.hdlm.json"');
});
