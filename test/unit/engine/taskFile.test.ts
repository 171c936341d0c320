// Task files: a complete one parses with paths resolved beside it; every bad field is reported
// at once with its JSON path.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { readTaskFile, TaskFileError } from '../../../engine/src/hdlm/taskFile';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'hdlm-task-'));
  writeFileSync(join(dir, 'train.jsonl'), '{"text":"a dog","labels":["animal","dog"]}\n');
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('a task file with comments parses, with paths resolved against its folder', () => {
  const path = join(dir, 'animals.hdlm.json');
  writeFileSync(
    path,
    `{
  // Two levels: the coarse one from layer 4, the fine one from the last layer.
  "name": "animals",
  "dataset": "train.jsonl",
  "levels": [{ "layer": 4 }, { "layer": "last" }],
  "train": { "epochs": 2, "headKind": "lowRank", "rank": 8 } /* quick */
}`,
  );
  const task = readTaskFile(path);
  assert.equal(task.name, 'animals');
  assert.equal(task.kind, 'classify');
  assert.equal(task.model, 'default');
  assert.equal(task.dataset.train, join(dir, 'train.jsonl'));
  assert.deepEqual(task.levels, [4, 'last']);
  assert.equal(task.headsDir, join(dir, 'heads', 'animals'));
  assert.equal(task.train.epochs, 2);
  assert.equal(task.train.headKind, 'lowRank');
  assert.equal(task.train.batchSize, 128, 'unset settings keep their defaults');
});

test('every problem is reported with its field', () => {
  const path = join(dir, 'bad.hdlm.json');
  writeFileSync(path, JSON.stringify({ name: 'x', kind: 'sort', dataset: { train: 'missing.jsonl' }, levels: [{ layer: 6 }, { layer: 2 }, { layer: 0 }], train: { epochs: 0, learningRate: 2, lr: 1, lastLevelHead: 'shared' }, colour: 'red' }));
  assert.throws(
    () => readTaskFile(path),
    (err: unknown) => {
      assert.ok(err instanceof TaskFileError);
      const text = err.problems.join('\n');
      assert.match(text, /kind must be "classify" or "thoughtThenAnswer", got "sort"/);
      assert.match(text, /levels\[2\]\.layer must be a whole number ≥ 1 or "last", got 0/);
      assert.match(text, /levels must use increasing layers/);
      assert.match(text, /train\.epochs must be a whole number ≥ 1, got 0/);
      assert.match(text, /train\.learningRate must be in \(0, 1\), got 2/);
      assert.match(text, /train\.lastLevelHead must be "allLevels" or "ownLevel", got "shared"/);
      assert.match(text, /unknown field train\.lr/);
      assert.match(text, /unknown field colour/);
      assert.ok(err.message.startsWith(path));
      return true;
    },
  );
  writeFileSync(path, '{ "name": ');
  assert.throws(() => readTaskFile(path), /line 1, column 11: not valid JSON: value expected/);
  // A syntax error is named by its line and column.
  writeFileSync(path, '{\n  "name": "x"\n  "dataset": "train.jsonl"\n}');
  assert.throws(() => readTaskFile(path), /line 3, column 3: not valid JSON: comma expected/);
  assert.throws(() => readTaskFile(join(dir, 'none.hdlm.json')), /none\.hdlm\.json:\n {2}cannot read: ENOENT/);
});

test('a name that is a path (a separator, "." or "..") is refused: it would put the default heads folder elsewhere', () => {
  const names = mkdtempSync(join(dir, 'names-'));
  try {
    for (const name of ['../../elsewhere', 'a/b', 'a\\b', '..', '.']) {
      const path = join(names, 't.hdlm.json');
      writeFileSync(path, JSON.stringify({ name, dataset: 'd.jsonl', levels: [{ layer: 1 }] }));
      assert.throws(
        () => readTaskFile(path),
        (err: unknown) => err instanceof TaskFileError && err.problems.length === 1 && err.problems[0]!.startsWith(`name must not contain "/" or "\\" nor be "." or "..", got ${JSON.stringify(name)}`),
        name,
      );
    }
    writeFileSync(join(names, 'ok.hdlm.json'), JSON.stringify({ name: 'wordnet..v2', dataset: 'd.jsonl', levels: [{ layer: 1 }] }));
    assert.equal(readTaskFile(join(names, 'ok.hdlm.json')).headsDir, join(names, 'heads', 'wordnet..v2'));
  } finally {
    rmSync(names, { recursive: true });
  }
});

test('a task file reads as the editor reads it: comments and trailing commas are fine', () => {
  const path = join(dir, 'commas.hdlm.json');
  // The editor's diagnostics accept this file (server/src/diagnostics.ts), so the engine must too.
  writeFileSync(path, '{\n  // the task\n  "name": "x", /* inline */\n  "dataset": "train.jsonl",\n  "levels": [{ "layer": 4, }, { "layer": "last" },],\n}\n');
  const task = readTaskFile(path);
  assert.deepEqual([task.name, task.levels], ['x', [4, 'last']]);
});

test('exitWhenSure: a threshold and increasing exit layers, for classify tasks only; each problem named', () => {
  const path = join(dir, 'exit.hdlm.json');
  const write = (task: Record<string, unknown>): void => writeFileSync(path, JSON.stringify({ name: 'x', dataset: 'train.jsonl', levels: [{ layer: 4 }, { layer: 'last' }], ...task }));
  write({ exitWhenSure: { threshold: 0.6, layers: [4, 6, 'last'] } });
  assert.deepEqual(readTaskFile(path).exitWhenSure, { threshold: 0.6, layers: [4, 6, 'last'] });
  write({});
  assert.equal(readTaskFile(path).exitWhenSure, undefined, 'off unless asked for');
  const problems = (task: Record<string, unknown>): string => {
    write(task);
    try {
      readTaskFile(path);
    } catch (err) {
      assert.ok(err instanceof TaskFileError);
      return err.problems.join('\n');
    }
    return assert.fail('expected the task file to be refused');
  };
  const text = problems({ exitWhenSure: { threshold: 0, layers: [6, 4, 'last', 0], after: 1 } });
  assert.match(text, /exitWhenSure\.threshold must be a probability in \(0, 1\], got 0/);
  assert.match(text, /exitWhenSure\.layers\[3\] must be a whole number ≥ 1 or "last", got 0/);
  assert.match(text, /exitWhenSure\.layers must increase, "last" only at the end/);
  assert.match(text, /unknown field exitWhenSure\.after/);
  assert.match(problems({ exitWhenSure: { threshold: 0.5, layers: [] } }), /exitWhenSure\.layers must be a non-empty list/);
  assert.match(problems({ exitWhenSure: 0.5 }), /exitWhenSure must be an object like \{ "threshold": 0\.6/);
  assert.match(problems({ kind: 'thoughtThenAnswer', exitWhenSure: { threshold: 0.5, layers: [4, 'last'] } }), /exitWhenSure applies to classify tasks only/);
});

test('an invalid layer is reported once, not also as a misplaced "last"', () => {
  const path = join(dir, 'half.hdlm.json');
  writeFileSync(path, JSON.stringify({ name: 'x', dataset: 'train.jsonl', levels: [{ layer: 4.5 }, { layer: 'last' }] }));
  assert.throws(() => readTaskFile(path), (err: unknown) => err instanceof TaskFileError && err.problems.length === 1 && /levels\[0\]\.layer must be a whole number ≥ 1 or "last", got 4\.5/.test(err.problems[0]!));
});

test('a level that names no layer is said to be not set, not "got undefined"', () => {
  const path = join(dir, 'unset.hdlm.json');
  writeFileSync(path, JSON.stringify({ name: 'x', dataset: 'train.jsonl', levels: [{}, { layer: 'last' }] }));
  assert.throws(() => readTaskFile(path), (err: unknown) => err instanceof TaskFileError && err.problems.length === 1 && err.problems[0] === 'levels[0].layer is not set: give a whole number ≥ 1 or "last", e.g. { "layer": 4 }');
});

test('a task file nested too deep to parse is refused at the bracket too deep, as the editor refuses it', () => {
  const path = join(dir, 'deep.hdlm.json');
  // The brace on line 1 is the first level: the 256th bracket on line 2 is the 257th, one past the limit.
  writeFileSync(path, `{\n  "x": ${'['.repeat(100_000)}${']'.repeat(100_000)}\n}`);
  assert.throws(
    () => readTaskFile(path),
    (err: unknown) => {
      assert.ok(err instanceof TaskFileError, String(err));
      assert.deepEqual(err.problems, ['line 2, column 263: too deeply nested: more than 256 levels of brackets and braces (a task file nests a few)']);
      assert.ok(err.message.startsWith(`${path}:`), err.message);
      return true;
    },
  );
});

test('a misspelt key inside dataset or a level is an unknown field, as at the top level and in train', () => {
  const path = join(dir, 'typo.hdlm.json');
  // "tset" for "test" must not leave evaluation silently measuring the training file's dev split.
  writeFileSync(path, JSON.stringify({ name: 'x', dataset: { train: 'train.jsonl', tset: 'test.jsonl' }, levels: [{ layer: 4, layr: 5 }, { layer: 'last' }] }));
  assert.throws(() => readTaskFile(path), (err: unknown) => {
    assert.ok(err instanceof TaskFileError, String(err));
    assert.deepEqual(err.problems, ['unknown field dataset.tset', 'unknown field levels[0].layr']);
    return true;
  });
});

test('a key given twice is refused at its second place, at any depth: JSON would keep only the last', () => {
  const path = join(dir, 'twice.hdlm.json');
  writeFileSync(path, '{ "name": "x", "dataset": "train.jsonl", "levels": [{ "layer": 4 }, { "layer": "last" }],\n  "levels": [{ "layer": 2, "layer": 3 }] }');
  assert.throws(() => readTaskFile(path), (err: unknown) => {
    assert.ok(err instanceof TaskFileError, String(err));
    assert.deepEqual(err.problems, [
      'line 2, column 3: duplicate field levels: only its last value would be read, the earlier ones ignored',
      'line 2, column 28: duplicate field levels[0].layer: only its last value would be read, the earlier ones ignored',
    ]);
    return true;
  });
});

test('a path from the home folder ("~/…") is refused by field, not read as a folder named ~ beside the task', () => {
  const path = join(dir, 'tilde.hdlm.json');
  writeFileSync(path, JSON.stringify({ name: 't', model: '~/models/tiny', dataset: { train: '~/data/train.jsonl', dev: 'train.jsonl' }, heads: '~', levels: [{ layer: 1 }] }));
  assert.throws(
    () => readTaskFile(path),
    (err: unknown) => {
      assert.ok(err instanceof TaskFileError);
      assert.deepEqual(err.problems.filter((p) => p.includes('~')), [
        'dataset.train: ~ is not expanded; use an absolute or task-relative path, got "~/data/train.jsonl"',
        'model: ~ is not expanded; use an absolute or task-relative path, got "~/models/tiny"',
        'heads: ~ is not expanded; use an absolute or task-relative path, got "~"',
      ]);
      return true;
    },
  );
  // A name that only starts with ~ is an ordinary relative path.
  writeFileSync(path, JSON.stringify({ name: 't', model: '~tiny', dataset: 'train.jsonl', levels: [{ layer: 1 }] }));
  assert.equal(readTaskFile(path).model, join(dir, '~tiny'));
});
