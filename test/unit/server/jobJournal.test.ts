// The job journal: events rebuild a job's view, the journal survives a restart of the server,
// a job whose server died shows as interrupted, a damaged journal file never stops a server, and
// the shared file of earlier versions is still read. (Two servers writing at once:
// jobJournalWriters.test.ts; cancelling another window's job: jobs.test.ts.)
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { JobJournal, journalFile } from '../../../server/src/jobJournal';
import { applyJobEvent, newJobView } from '../../../server/src/jobView';
import { processStart } from '../../../engine/src/processAlive';
import type { JobView } from '../../../server/src/protocol';

type StoredEntry = JobView & { serverPid: number; serverStart?: string };

const dir = mkdtempSync(join(tmpdir(), 'hdlm-journal-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** The servers' own files of the journal `file` (journalFile): the folder beside it. */
function serverFiles(file: string): string[] {
  const folder = file.replace(/\.json$/, '');
  return existsSync(folder) ? readdirSync(folder).filter((n) => n.endsWith('.json')).map((n) => join(folder, n)) : [];
}

/** The jobs a journal file stores, as stored. */
function stored(file: string): { jobId: string; state: string; serverPid: number; serverStart?: string }[] {
  return (JSON.parse(readFileSync(file, 'utf8')) as { jobs: { jobId: string; state: string; serverPid: number; serverStart?: string }[] }).jobs;
}

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
  const [own] = serverFiles(file);
  assert.ok(own && serverFiles(file).length === 1, 'the server wrote its own file');
  writeFileSync(own, JSON.stringify({ jobs: stored(own).map((j) => ({ ...j, serverPid: deadPid })) }));
  const diedAt = new Date('2026-12-01T10:00:00Z');
  utimesSync(own, diedAt, diedAt);
  const restarted = new JobJournal(file);
  const jobs = restarted.list();
  assert.deepEqual(jobs.map((j) => [j.jobId, j.state]), [[running, 'interrupted'], [done, 'cancelled']]);
  assert.match(jobs[0]!.line, /resume from the last saved epoch/);
  assert.equal(jobs[0]!.endedAt, diedAt.toISOString(), 'interrupted when its server last wrote');
  assert.equal(statSync(own).mtimeMs, diedAt.getTime(), 'another server\'s file is never written');
  assert.ok(!('serverPid' in jobs[0]!), 'bookkeeping stays out of the wire type');
  assert.notEqual(restarted.create('train', '/ws/t.hdlm.json'), running, 'job ids are not reused');
});

test('a damaged journal file leaves its jobs out, saying so once, until its server writes it afresh', () => {
  const file = journalFile(dir, '/damaged');
  const first = new JobJournal(file);
  const job = first.create('train', '/ws/t.hdlm.json');
  const [own] = serverFiles(file);
  writeFileSync(own!, '{"jobs": [ {"jobId": ');
  const lines: string[] = [];
  const journal = new JobJournal(file, (m) => lines.push(m));
  assert.deepEqual(journal.list(), []);
  assert.deepEqual(journal.list(), []);
  assert.equal(lines.filter((l) => /unreadable and its jobs are left out/.test(l)).length, 1, lines.join('\n'));
  const second = journal.create('train', '/ws/t.hdlm.json');
  first.apply(job, { kind: 'cancelled' });
  assert.deepEqual(journal.list().map((j) => `${j.jobId}:${j.state}`).sort(), [`${job}:cancelled`, `${second}:running`].sort(), 'rewritten whole by its server');
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
  // Both number their next job from the same folder, as if B read it just before A wrote.
  const [fileA] = serverFiles(file);
  const before = readFileSync(fileA!);
  const evaluateA = a.create('evaluate', '/ws/t.hdlm.json');
  const after = readFileSync(fileA!);
  writeFileSync(fileA!, before);
  const trainB = b.create('train', '/ws/t.hdlm.json');
  writeFileSync(fileA!, after);
  assert.equal(/-(\d+)-/.exec(trainB)?.[1], /-(\d+)-/.exec(evaluateA)?.[1], 'the same number…');
  assert.notEqual(trainB, evaluateA, '…but not the same id: each server tags its own');
  assert.equal(serverFiles(file).length, 2, 'each server writes its own file');
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
    assert.equal(new JobJournal(file).list()[0]?.endedAt, journal.list()[0]?.endedAt, 'at the same time for every reader: when its file was last written');
    // The server that wrote it, alive: the job runs on.
    writeFileSync(file, JSON.stringify({ jobs: [{ ...job, serverStart: processStart(stranger.pid!) }] }));
    assert.deepEqual(new JobJournal(file).list().map((j) => j.state), ['running']);
  } finally {
    stranger.kill();
  }
});

test('a running job from before start times were recorded (no serverStart) is judged by when its pid\'s process started', { skip: processStart(process.pid) === undefined && 'no process start times here (not Linux)' }, async () => {
  const file = journalFile(dir, '/old-entries');
  const startedAt = new Date(Date.now() - 60_000);
  const old = (jobId: string, serverPid: number): object => ({ ...newJobView(jobId, 'train', '/ws/t.hdlm.json', startedAt), serverPid });
  // A process that started after the job did cannot be the server that started it: the pid was reused.
  const stranger = spawn('sleep', ['30'], { stdio: 'ignore' });
  try {
    const deadPid = spawnSync(process.execPath, ['-e', '0']).pid!;
    // Process 1 started at boot, before the job: it may be its server, as far as anyone can tell.
    writeFileSync(file, JSON.stringify({ jobs: [old('train-1', stranger.pid!), old('train-2', 1), old('train-3', deadPid)] }));
    const states = Object.fromEntries(new JobJournal(file).list().map((j) => [j.jobId, j.state]));
    assert.deepEqual(states, { 'train-1': 'interrupted', 'train-2': 'running', 'train-3': 'interrupted' }, 'a reused pid, a server that may be the one, a dead one');
  } finally {
    stranger.kill();
  }
});

test('the shared file of earlier versions is read, never written, and removed with the files of gone servers once none of their jobs is kept', () => {
  const file = journalFile(dir, '/earlier');
  const folder = file.replace(/\.json$/, '');
  const deadPid = spawnSync(process.execPath, ['-e', '0']).pid!;
  const earlier = (jobId: string, state: JobView['state'], minute: number, serverPid: number): StoredEntry => ({ ...newJobView(jobId, 'train', '/ws/t.hdlm.json', new Date(Date.UTC(2026, 11, 1, 10, minute))), state, serverPid, serverStart: processStart(serverPid) ?? 'gone' });
  // A window of an earlier version runs a job; another job of it ended.
  const entries = [earlier('train-2-old1', 'running', 2, process.pid), earlier('train-1-old2', 'done', 1, deadPid)];
  writeFileSync(file, JSON.stringify({ jobs: entries }));
  const bytes = readFileSync(file);
  const journal = new JobJournal(file);
  assert.deepEqual(journal.list().map((j) => `${j.jobId}:${j.state}:${j.elsewhere}`), ['train-2-old1:running:true', 'train-1-old2:done:true']);
  const first = journal.create('train', '/ws/t.hdlm.json');
  assert.match(first, /^train-3-/, 'numbered on from its jobs');
  const refused = journal.requestCancel('train-2-old1');
  assert.ok(!refused.requested && /earlier version of HdLM/.test(refused.reason ?? ''), 'its server takes no cancel requests: cancelled in its window');
  journal.apply(first, { kind: 'cancelled' });
  assert.deepEqual(readFileSync(file), bytes, 'never written');
  // A request left for a job that has ended goes at the next job start.
  writeFileSync(join(folder, `${first}.cancel`), '{}');
  // Another server of this version, gone with a job running.
  const gone = new JobJournal(file);
  gone.create('evaluate', '/ws/t.hdlm.json');
  const goneFile = serverFiles(file).find((f) => !stored(f).some((j) => j.jobId === first))!;
  writeFileSync(goneFile, JSON.stringify({ jobs: stored(goneFile).map((j) => ({ ...j, serverPid: deadPid })) }));
  // The earlier version's window closes too; then 20 newer jobs end: none of theirs is kept.
  writeFileSync(file, JSON.stringify({ jobs: entries.map((j) => ({ ...j, serverPid: deadPid })) }));
  for (let i = 0; i < 20; i++) {
    const id = journal.create('evaluate', '/ws/t.hdlm.json');
    journal.apply(id, { kind: 'cancelled' });
    if (i === 0) assert.ok(!existsSync(join(folder, `${first}.cancel`)), 'the request for an ended job is removed');
    if (i === 0) assert.ok(existsSync(file) && existsSync(goneFile), 'kept while a job of theirs is listed');
  }
  journal.create('evaluate', '/ws/t.hdlm.json');
  assert.ok(!existsSync(file), 'the earlier version\'s file is removed');
  assert.ok(!existsSync(goneFile), 'the gone server\'s file is removed');
  assert.equal(serverFiles(file).length, 1, 'this server\'s file stays');
  assert.equal(journal.list().length, 21, 'the running job and the 20 newest ended ones');
});

test('starting a job sweeps the temporary files of servers killed mid-write from the journal\'s folder, never a live server\'s', () => {
  const file = journalFile(dir, '/killed-writers');
  const folder = file.replace(/\.json$/, '');
  const deadPid = spawnSync(process.execPath, ['-e', '0']).pid!;
  const lines: string[] = [];
  const journal = new JobJournal(file, (line) => lines.push(line));
  journal.create('train', '/ws/t.hdlm.json');
  // A server killed between its write and the rename, and one writing now (this one).
  const killed = `.k2f9.json.${deadPid}.r0123456789ab.tmp`;
  const writing = `.abcd.json.${process.pid}.r0123456789ab.tmp`;
  writeFileSync(join(folder, killed), '{"jobs": [');
  writeFileSync(join(folder, writing), '{"jobs": [');
  journal.create('train', '/ws/t.hdlm.json');
  const left = readdirSync(folder);
  assert.ok(!left.includes(killed), left.join(', '));
  assert.ok(left.includes(writing), left.join(', '));
  assert.ok(lines.some((l) => l.includes(killed) && /killed while writing/.test(l)), lines.join('\n'));
});
