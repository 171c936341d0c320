// The job journal: events rebuild a job's view, the journal survives a restart of the server,
// a job whose server died shows as interrupted, and a damaged journal file never stops a server.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { JobJournal, journalFile } from '../../../server/src/jobJournal';
import { applyJobEvent, newJobView } from '../../../server/src/jobView';

const dir = mkdtempSync(join(tmpdir(), 'hdlm-journal-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('events rebuild a training job: progress, loss curve per head, dev accuracy per epoch, the end', () => {
  const job = newJobView('train-1', 'train', '/ws/t.hdlm.json');
  applyJobEvent(job, { kind: 'features', done: 5, total: 10, examplesPerS: 100, etaS: 0.05 });
  assert.equal(job.fraction, 0.5);
  assert.match(job.line, /backbone pass 5\/10/);
  applyJobEvent(job, { kind: 'progress', head: 'level1', epoch: 1, examples: 64, epochExamples: 128, loss: 2.5, examplesPerS: 1000, etaS: 1 });
  applyJobEvent(job, { kind: 'epoch', head: 'level1', epoch: 1, loss: 2.0, accuracy: 0.4, devLoss: 2.1, devAccuracy: 0.35, improved: true, seconds: 1 });
  applyJobEvent(job, { kind: 'report', report: { task: 't', examples: { train: 128, dev: 16 }, heads: [{ name: 'level1', layer: 2, bestEpoch: 1, bestDevAccuracy: 0.35 }], seconds: { features: 1, training: 2 } } });
  assert.equal(job.state, 'done');
  assert.deepEqual(job.heads, [{ name: 'level1', layer: 2, losses: [2.5, 2.0], devAccuracy: [0.35] }]);
  assert.match(job.line, /done in 3 s on 128 examples/);
  assert.ok(job.endedAt);
});

test('a long run keeps a bounded loss curve', () => {
  const job = newJobView('train-2', 'train', '/ws/t.hdlm.json');
  for (let i = 0; i < 5000; i++) applyJobEvent(job, { kind: 'progress', head: 'flat', epoch: 1, examples: i, epochExamples: 5000, loss: 5000 - i, examplesPerS: 1, etaS: 1 });
  const losses = job.heads[0]!.losses;
  assert.ok(losses.length <= 400, `${losses.length} points`);
  assert.equal(losses.at(-1), 1, 'the newest point is kept');
});

test('the journal survives a restart; a job whose server died is interrupted, one of a live server runs on', () => {
  const file = journalFile(dir, '/ws');
  assert.notEqual(file, journalFile(dir, '/other'), 'one journal per workspace');
  const journal = new JobJournal(file);
  const done = journal.create('evaluate', '/ws/t.hdlm.json');
  journal.apply(done, { kind: 'cancelled' });
  const running = journal.create('train', '/ws/t.hdlm.json');
  journal.apply(running, { kind: 'stage', message: 'running the backbone' });
  journal.flush();
  // The same journal seen by a later server while this (the "old" server) process still lives.
  assert.equal(new JobJournal(file).get(running)?.state, 'running');
  // Now as if the server that ran it had died: rewrite its pid with one that has exited.
  const deadPid = spawnSync(process.execPath, ['-e', '0']).pid!;
  const stored = JSON.parse(readFileSync(file, 'utf8')) as { jobs: { jobId: string; serverPid: number }[] };
  for (const j of stored.jobs) j.serverPid = deadPid;
  writeFileSync(file, JSON.stringify(stored));
  const restarted = new JobJournal(file);
  const jobs = restarted.list();
  assert.deepEqual(jobs.map((j) => [j.jobId, j.state]), [[running, 'interrupted'], [done, 'cancelled']]);
  assert.match(jobs[0]!.line, /resume from the last saved epoch/);
  assert.ok(!('serverPid' in jobs[0]!), 'bookkeeping stays out of the wire type');
  assert.notEqual(restarted.create('train', '/ws/t.hdlm.json'), running, 'job ids are not reused');
});

test('a damaged journal starts afresh, saying so', () => {
  const file = journalFile(dir, '/damaged');
  const first = new JobJournal(file);
  first.create('train', '/ws/t.hdlm.json');
  writeFileSync(file, '{"jobs": [ {"jobId": ');
  const lines: string[] = [];
  const journal = new JobJournal(file, (m) => lines.push(m));
  assert.deepEqual(journal.list(), []);
  assert.match(lines.join('\n'), /unreadable and starts afresh/);
  journal.create('train', '/ws/t.hdlm.json');
  assert.equal((JSON.parse(readFileSync(file, 'utf8')) as { jobs: unknown[] }).jobs.length, 1, 'rewritten whole');
});
