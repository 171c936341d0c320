// The status bar menu's jobs: a job of another window on this workspace is running too (and can be
// cancelled from here, through its server); the menu must not say "none running" while it runs.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cancellable, runningText } from '../../../client/src/jobCounts';
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
