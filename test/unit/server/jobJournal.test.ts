// The job journal: events rebuild a job's view, the journal survives a restart of the server,
// a job whose server died shows as interrupted, and a damaged journal file never stops a server.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { JobJournal, journalFile } from '../../../server/src/jobJournal';
import { applyJobEvent, newJobView } from '../../../server/src/jobView';
import { processStart } from '../../../engine/src/processAlive';

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

test('two servers on one journal: neither overwrites the other\'s jobs, each sees the other\'s move on, and ids never repeat', () => {
  const file = journalFile(dir, '/shared');
  const a = new JobJournal(file);
  const b = new JobJournal(file);
  const states = (journal: JobJournal): string[] => journal.list().map((j) => `${j.jobId}:${j.state}`);
  const trainA = a.create('train', '/ws/t.hdlm.json');
  assert.deepEqual(states(b), [`${trainA}:running`], 'B sees the job A started');
  assert.deepEqual([b.list()[0]!.elsewhere, a.list()[0]!.elsewhere], [true, undefined], 'as another window\'s, which only A cancels');
  a.apply(trainA, { kind: 'cancelled' });
  assert.deepEqual(states(b), [`${trainA}:cancelled`], 'and how it ended');
  // Both number their next job from the same file, as if B read it just before A wrote.
  const before = readFileSync(file);
  const evaluateA = a.create('evaluate', '/ws/t.hdlm.json');
  writeFileSync(file, before);
  const trainB = b.create('train', '/ws/t.hdlm.json');
  assert.equal(/-(\d+)-/.exec(trainB)?.[1], /-(\d+)-/.exec(evaluateA)?.[1], 'the same number…');
  assert.notEqual(trainB, evaluateA, '…but not the same id: each server tags its own');
  // B's write, made from the file as it was, lost A's newest job until A writes again.
  b.apply(trainB, { kind: 'failed', message: 'no dataset' });
  a.apply(evaluateA, { kind: 'cancelled' });
  const expected = [`${evaluateA}:cancelled`, `${trainB}:failed`, `${trainA}:cancelled`].sort();
  assert.deepEqual(states(a).sort(), expected);
  assert.deepEqual(states(b).sort(), expected);
  // A new window (or either after a reload) finds every job in the file.
  assert.deepEqual(states(new JobJournal(file)).sort(), expected);
});

test('a running job whose server\'s pid now belongs to another process is interrupted, where the system tells when a process started', { skip: processStart(process.pid) === undefined && 'no process start times here (not Linux)' }, () => {
  const file = journalFile(dir, '/reused');
  const stranger = spawn('sleep', ['30'], { stdio: 'ignore' });
  try {
    const [boot] = processStart(stranger.pid!)!.split(':');
    const job = { ...newJobView('train-1', 'train', '/ws/t.hdlm.json', new Date('2026-12-01T10:00:00Z')), serverPid: stranger.pid, serverStart: `${boot}:1` };
    writeFileSync(file, JSON.stringify({ jobs: [job] }));
    const journal = new JobJournal(file);
    assert.deepEqual(journal.list().map((j) => j.state), ['interrupted']);
    assert.equal((JSON.parse(readFileSync(file, 'utf8')) as { jobs: { state: string }[] }).jobs[0]?.state, 'interrupted', 'stored so, at the time it was found');
    // The server that wrote it, alive: the job runs on.
    writeFileSync(file, JSON.stringify({ jobs: [{ ...job, serverStart: processStart(stranger.pid!) }] }));
    assert.deepEqual(new JobJournal(file).list().map((j) => j.state), ['running']);
  } finally {
    stranger.kill();
  }
});
