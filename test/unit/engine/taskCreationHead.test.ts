// New Task from Dataset on a large dataset reads only the whole lines of the first TASK_READ_BYTES
// of each file, and says how many lines it read; a smaller file is read whole, as before. Real
// files (one of more than 100 MB, generated) and a real tiny model.
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { createTaskFile, TASK_READ_BYTES } from '../../../engine/src/hdlm/taskCreation';
import { writeTinyModel } from '../../support/tinyCheckpoint';

const root = resolve(__dirname, '..', '..', '..', '..');
let dir: string;
let model: { field: string; dir: string; source: string };

/** A classification line: 3 coarse labels, 5 fine ones under each (a tree). */
const line = (i: number): string => `${JSON.stringify({ text: `item number ${i} of the generated set`, labels: [`c${i % 3}`, `c${i % 3}-f${i % 5}`] })}\n`;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'hdlm-task-head-'));
  writeTinyModel(join(dir, 'model'), root, { std: 0.15, seed: 2 });
  model = { field: 'model', dir: join(dir, 'model'), source: 'test' };
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('a dataset over 100 MB: only the whole lines of its first TASK_READ_BYTES are read, and the task and its notices say how many', async () => {
  const folder = join(dir, 'big');
  mkdirSync(folder);
  const file = join(folder, 'big.jsonl');
  let lines = 0;
  let bytesInHead = 0;
  let linesInHead = 0;
  while (lines === 0 || statSync(file).size < 101 * 1024 * 1024) {
    const chunk = Array.from({ length: 50_000 }, (_, k) => line(lines + k));
    for (const l of chunk) {
      if (bytesInHead + l.length <= TASK_READ_BYTES) {
        bytesInHead += l.length;
        linesInHead++;
      } else bytesInHead = Infinity;
    }
    appendFileSync(file, chunk.join(''));
    lines += chunk.length;
  }
  const created = await createTaskFile(file, model);
  assert.equal(created.firstLines, linesInHead);
  assert.equal(created.examples, linesInHead, 'every line read is an example');
  assert.ok(linesInHead < lines);
  assert.match(created.notices[0] ?? '', new RegExp(`read the first ${linesInHead.toLocaleString('en-US')} lines \\(32 MiB\\) of .*big\\.jsonl, which has 10\\d MiB`));
  assert.match(readFileSync(created.task, 'utf8'), new RegExp(`\\(${linesInHead} examples in its first ${linesInHead} lines\\)`));
});

test('a dataset under the limit is read whole, as before; one just over a small limit is cut at a line\'s end', async () => {
  const folder = join(dir, 'small');
  mkdirSync(folder);
  const file = join(folder, 'small.jsonl');
  const text = Array.from({ length: 40 }, (_, i) => line(i)).join('');
  writeFileSync(file, text);
  const whole = await createTaskFile(file, model);
  assert.equal(whole.firstLines, undefined);
  assert.equal(whole.examples, 40);
  assert.match(readFileSync(whole.task, 'utf8'), /\(40 examples\)/);
  // A limit that ends inside line 11: the first 10 lines, none cut.
  const limit = text.split('\n').slice(0, 10).join('\n').length + 1 + 5;
  const head = await createTaskFile(file, model, { maxBytes: limit });
  assert.equal(head.firstLines, 10);
  assert.equal(head.examples, 10);
  assert.deepEqual(head.levels, whole.levels);
});
