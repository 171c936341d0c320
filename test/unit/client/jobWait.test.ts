// Following another window's job after asking its server to cancel it: the list is read until
// the job has ended, and a job that goes on past the time allowed is returned still running.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { waitForJobEnd } from '../../../client/src/jobWait';
import { newJobView } from '../../../server/src/jobView';
import type { JobView } from '../../../server/src/protocol';

const job = (state: JobView['state']): JobView => ({ ...newJobView('train-1-abcd', 'train', '/ws/t.hdlm.json'), state, elsewhere: true });

test('reads the job list until the job ends, and says how it ended', async () => {
  const answers = [[job('running')], [job('running')], [job('cancelled')]];
  let reads = 0;
  const ended = await waitForJobEnd(() => Promise.resolve(answers[Math.min(reads++, answers.length - 1)]!), 'train-1-abcd', { intervalMs: 1, timeoutMs: 10_000 });
  assert.equal(ended?.state, 'cancelled');
  assert.equal(reads, 3);
});

test('a job still running when the time is up comes back running; one listed no more, undefined', async () => {
  assert.equal((await waitForJobEnd(() => Promise.resolve([job('running')]), 'train-1-abcd', { intervalMs: 5, timeoutMs: 30 }))?.state, 'running');
  assert.equal(await waitForJobEnd(() => Promise.resolve([]), 'train-1-abcd', { intervalMs: 5, timeoutMs: 30 }), undefined);
});
