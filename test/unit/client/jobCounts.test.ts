// The status bar menu's jobs: a job of another window on this workspace is running too (and can be
// cancelled from here, through its server); the menu must not say "none running" while it runs.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cancellable, runningText, stateText, statusLine } from '../../../client/src/jobCounts';
import { newJobView } from '../../../server/src/jobView';
import type { JobView } from '../../../server/src/protocol';

const job = (id: string, state: JobView['state'], elsewhere = false): JobView => ({ ...newJobView(id, 'train', '/ws/t.hdlm.json'), state, ...(elsewhere ? { elsewhere: true as const } : {}) });

test("another window's running job is counted as running, there, and can be cancelled", () => {
  const other = job('train-2-abcd', 'running', true);
  assert.equal(cancellable(other), true);
  assert.equal(cancellable(job('train-4-abcd', 'interrupted', true)), false);
  assert.equal(runningText([other, job('train-1-wxyz', 'done')]), '1 running in another window');
  assert.equal(runningText([job('train-3-wxyz', 'running'), other]), '1 running, 1 running in another window');
});

test('only ended jobs, or none: none running', () => {
  assert.equal(runningText([]), 'none running');
  assert.equal(runningText([job('train-1-wxyz', 'done'), job('evaluate-2-wxyz', 'interrupted', true)]), 'none running');
  assert.equal(runningText([job('train-1-wxyz', 'running'), job('train-2-wxyz', 'running')]), '2 running');
});

test("the jobs list says how far a running job is, another window's too, and the status line what other windows run", () => {
  const other = { ...job('train-2-abcd', 'running', true), overall: 0.428 };
  assert.equal(stateText(other), 'running 42 % in another window');
  assert.equal(stateText({ ...job('train-3-abcd', 'running'), overall: 1 }), 'running 100 %');
  // A job from a journal written before progress was kept there, and an ended one: no percent.
  const { overall: _none, ...older } = job('train-1-abcd', 'running', true);
  assert.equal(stateText(older), 'running in another window');
  assert.equal(stateText({ ...job('train-4-abcd', 'done'), overall: 1 }), 'done');
  assert.equal(statusLine({ message: 'ready', elsewhere: 'fine-tuning wn.hdlm.json 42 % in another window' }), 'ready · fine-tuning wn.hdlm.json 42 % in another window');
  assert.equal(statusLine({ message: 'ready' }), 'ready');
});
