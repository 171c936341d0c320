// The task panel's summary of a task whose heads folder holds another task's heads (a copied task
// file keeps "heads"; a renamed task): loading and training refuse them (headStore.ts), so the
// panel must not list them as trained nor show their evaluation as this task's, and says why.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { summarizeTask } from '../../../server/src/taskSummary';

const root = resolve(__dirname, '..', '..', '..', '..');
const shippedHeads = join(root, 'models', 'hdlm-tiny', 'heads', 'wordnet');
const work = mkdtempSync(join(tmpdir(), 'hdlm-summary-heads-'));
after(() => rmSync(work, { recursive: true, force: true }));

function taskWithHeadsOf(name: string): string {
  const heads = join(work, 'heads');
  mkdirSync(heads, { recursive: true });
  for (const f of ['level1.json', 'level2.json', 'level3.json', 'flat.json', 'evaluation.json']) copyFileSync(join(shippedHeads, f), join(heads, f));
  const file = join(work, `${name}.hdlm.json`);
  writeFileSync(file, JSON.stringify({ name, dataset: 'train.jsonl', heads: 'heads', levels: [{ layer: 4 }, { layer: 6 }, { layer: 'last' }] }));
  return file;
}

test("another task's heads are not this task's in the panel: none listed, no evaluation, and a notice naming the task they are", () => {
  const logged: string[] = [];
  const summary = summarizeTask(taskWithHeadsOf('copy'), (m) => logged.push(m), join(root, 'models', 'hdlm-tiny'));
  assert.deepEqual(summary.heads, []);
  assert.equal(summary.evaluation, undefined);
  assert.deepEqual(summary.history, []);
  const notices = summary.notices ?? [];
  assert.equal(notices.length, 1, notices.join('\n'));
  assert.match(notices[0]!, /holds the heads of task "wordnet" \(\w+\.json\), not of task "copy": classifying, evaluating, fine-tuning and scanning its layers refuse them; set "heads" to a folder of its own/);
});

test('the same folder under the task that trained it lists its heads and evaluation', () => {
  const summary = summarizeTask(taskWithHeadsOf('wordnet'), () => undefined, join(root, 'models', 'hdlm-tiny'));
  assert.deepEqual(summary.heads.map((h) => h.name), ['level1', 'level2', 'level3', 'flat']);
  assert.equal(summary.evaluation?.task, 'wordnet');
  assert.deepEqual(summary.notices, []);
});

test("the panel reads the folder by the engine's one rule: another kind of task's heads, and a file, are said", () => {
  // A thought-then-answer task's heads carry none of a classify task's head names: the panel missed them.
  const thoughts = join(work, 'thoughts');
  mkdirSync(thoughts, { recursive: true });
  for (const f of ['thought.json', 'answer.json', 'evaluation.json']) copyFileSync(join(root, 'models', 'hdlm-tiny', 'heads', 'thought', f), join(thoughts, f));
  const file = join(work, 'kinds.hdlm.json');
  writeFileSync(file, JSON.stringify({ name: 'kinds', dataset: 'train.jsonl', heads: 'thoughts', levels: [{ layer: 4 }, { layer: 'last' }] }));
  const summary = summarizeTask(file, () => undefined, join(root, 'models', 'hdlm-tiny'));
  assert.deepEqual(summary.heads, []);
  assert.equal(summary.thoughtEvaluation, undefined, "the other task's evaluation is not this task's");
  assert.match(summary.notices?.[0] ?? '', /holds the heads of task "thought" \(answer\.json\), not of task "kinds"/);
  writeFileSync(join(work, 'a-file'), 'not a folder');
  writeFileSync(file, JSON.stringify({ name: 'kinds', dataset: 'train.jsonl', heads: 'a-file', levels: [{ layer: 4 }, { layer: 'last' }] }));
  assert.match(summarizeTask(file, () => undefined, join(root, 'models', 'hdlm-tiny')).notices?.[0] ?? '', /the heads folder .*a-file is a file; set "heads" to a folder/);
});
