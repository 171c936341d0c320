// Another window's job on the same workspace: this window's server follows it through the shared
// journal (JobJournal.watch), sees its progress as its server writes it, and says in its status
// that it runs and how far it is, until it ends. (Cancelling it: jobs.test.ts.)
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { JobJournal, journalFile } from '../../../server/src/jobJournal';
import { jobPlan } from '../../../server/src/jobView';
import type { TrainSettings } from '../../../engine/src/hdlm/taskFile';
import type { JobEvent, JobView, StatusParams } from '../../../server/src/protocol';
import { startWorkspaceServer } from '../../support/workspaceServer';

const root = resolve(__dirname, '..', '..', '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'hdlm-elsewhere-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const plan = jobPlan('train', { levels: [2, 'last'], train: { epochs: 2 } as TrainSettings });
const features = (done: number, total: number): JobEvent => ({ kind: 'features', done, total, examplesPerS: 100, etaS: 1 });
const progress = (head: string, epoch: number, examples: number): JobEvent => ({ kind: 'progress', head, epoch, examples, epochExamples: 100, loss: 1, examplesPerS: 100, etaS: 1 });

/** Resolves with the first value `read` gives that `ok` accepts, looking every 50 ms for up to `ms`. */
async function eventually<T>(read: () => T, ok: (value: T) => boolean, ms: number, what: string): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = read();
    if (ok(value)) return value;
    if (Date.now() > until) throw new Error(`${what}: still ${JSON.stringify(value)} after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test("a watch of the journal passes on another server's running job as its progress is written, and its end", async () => {
  const file = journalFile(dir, '/ws-journal');
  const other = new JobJournal(file);
  const here = new JobJournal(file);
  let seen: JobView[] = [];
  const calls: number[] = [];
  const watch = here.watch({ cancel: () => assert.fail('no request was left'), othersChanged: (running) => ((seen = running), calls.push(running.length)) });
  try {
    assert.equal(seen.length, 0, 'none runs at first');
    const jobId = other.create('train', '/ws/t.hdlm.json', plan);
    await eventually(() => seen.map((j) => `${j.jobId}:${j.state}`), (s) => s.length === 1, 5000, 'the job started elsewhere');
    assert.equal(seen[0]!.jobId, jobId);
    assert.equal(seen[0]!.elsewhere, true);
    // Its server writes progress at most once a second: it comes, throttled, not per event.
    for (const event of [features(100, 100), progress('level1', 1, 50), progress('level1', 2, 100)]) other.apply(jobId, event);
    const moved = await eventually(() => seen[0]?.overall ?? 0, (o) => o > 0.5, 5000, 'its progress');
    assert.equal(Math.round(moved * 100), Math.round((0.3 + 0.7 * 2 / 6) * 100));
    assert.match(seen[0]!.line, /level1 epoch 2/);
    other.apply(jobId, { kind: 'cancelled' });
    await eventually(() => seen.length, (n) => n === 0, 5000, 'its end');
    // Nothing changes from now on: no more calls (a look with nothing new reads no file).
    const before = calls.length;
    await new Promise((r) => setTimeout(r, 2500));
    assert.equal(calls.length, before, `called ${calls.length - before} times more with nothing changed`);
  } finally {
    watch.dispose();
  }
});

test("the status says another window's job runs on the workspace, how far it is, and no more once it ends", async () => {
  const workspace = mkdtempSync(join(dir, 'ws-'));
  const stateDir = join(dir, 'state');
  const { server, client } = await startWorkspaceServer(root, workspace, {}, stateDir);
  try {
    const other = new JobJournal(journalFile(stateDir, workspace));
    const jobId = other.create('train', join(workspace, 'wn.hdlm.json'), plan);
    const last = (): StatusParams => client.statuses.at(-1)!;
    await eventually(() => last().elsewhere, (e) => e === 'fine-tuning wn.hdlm.json 0 % in another window', 5000, 'the status');
    assert.equal(server.status.elsewhere, last().elsewhere);
    other.apply(jobId, features(100, 100));
    other.apply(jobId, progress('level1', 1, 100));
    // 30 % for the backbone, then one epoch of six (3 heads × 2) of the rest: 41 %.
    await eventually(() => last().elsewhere, (e) => e === 'fine-tuning wn.hdlm.json 41 % in another window', 5000, 'its progress');
    other.apply(jobId, { kind: 'failed', message: 'no dataset' });
    await eventually(() => 'elsewhere' in last(), (has) => !has, 5000, 'its end');
  } finally {
    server.dispose();
  }
});
