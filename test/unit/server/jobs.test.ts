// Job processes: a job runs as its own process below the editor's priority, so a fine-tuning run
// that keeps every core busy does not make hovers and completions wait; another window's server
// on the same journal can cancel it.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { getPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { JobJournal, journalFile } from '../../../server/src/jobJournal';
import { Jobs } from '../../../server/src/jobs';

const dir = mkdtempSync(join(tmpdir(), 'hdlm-jobs-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('a job process runs at a lower priority than the server, and its failure is reported', async () => {
  // A stand-in for the CLI that only reports its own niceness once the server has set it, then fails.
  const cli = join(dir, 'cli.js');
  writeFileSync(cli, `setTimeout(() => { process.stderr.write('hdlm: niceness ' + require('os').getPriority() + '\\n'); process.exit(1); }, 300);`);
  const ended = new Promise<string>((resolve) => {
    const jobs = new Jobs(
      cli,
      new JobJournal(undefined),
      (p) => {
        if (p.event.kind === 'failed') resolve(p.event.message);
      },
      () => undefined,
    );
    jobs.start('train', join(dir, 't.hdlm.json'), { providers: ['cpu'], threads: 1 });
  });
  const message = await ended;
  const niceness = Number(/niceness (-?\d+)/.exec(message)?.[1]);
  assert.ok(niceness > getPriority(), `the job ran at niceness ${niceness}, the server at ${getPriority()}`);
});

/** The message of the `failed` event of a job run by the stand-in CLI `source`, and the job's line in the journal. */
async function failureOf(name: string, source: string): Promise<{ message: string; line: string | undefined }> {
  const cli = join(dir, `${name}.js`);
  writeFileSync(cli, source);
  const journal = new JobJournal(undefined);
  const message = await new Promise<string>((resolve) => {
    const jobs = new Jobs(cli, journal, (p) => p.event.kind === 'failed' && resolve(p.event.message), () => undefined);
    jobs.start('train', join(dir, 't.hdlm.json'), { providers: ['cpu'], threads: 1 });
  });
  return { message, line: journal.list()[0]?.line };
}

test('a job killed by a signal, or ending without a word, says how it ended (never an empty reason)', async () => {
  // The out-of-memory killer's SIGKILL: nothing is written, whatever came to stderr before.
  const killed = await failureOf('oom', `process.stderr.write('hdlm: note: an earlier warning\\n'); process.kill(process.pid, 'SIGKILL');`);
  assert.match(killed.message, /killed by SIGKILL \(out of memory\?/);
  assert.equal(killed.line, killed.message, 'the job view shows it too');
  const terminated = await failureOf('term', `process.kill(process.pid, 'SIGTERM'); setTimeout(() => undefined, 5000);`);
  assert.match(terminated.message, /killed by SIGTERM/);
  const silent = await failureOf('silent', `process.exit(3);`);
  assert.match(silent.message, /exited with code 3/);
  // The CLI's own error stays the reason.
  const failed = await failureOf('error', `process.stderr.write('hdlm: the dataset is empty\\n'); process.exit(1);`);
  assert.equal(failed.message, 'the dataset is empty');
});

test('another window cancels a job: its server is asked through the journal folder and cancels it as its own', { timeout: 60_000 }, async () => {
  // A stand-in for the CLI that says it started and then runs until its stdin ends (a cancel), as `--stop-on-stdin-end` does.
  const cli = join(dir, 'until-cancelled.js');
  writeFileSync(cli, `console.log(JSON.stringify({ kind: 'stage', message: 'training' })); process.stdin.resume(); process.stdin.on('end', () => process.exit(130));`);
  const file = journalFile(dir, '/two-windows');
  const events: string[] = [];
  const logged: string[] = [];
  let started!: () => void;
  const running = new Promise<void>((resolve) => (started = resolve));
  let ended!: (kind: string) => void;
  const end = new Promise<string>((resolve) => (ended = resolve));
  // Window A's server runs the job; window B's has the same workspace, so the same journal.
  const a = new Jobs(cli, new JobJournal(file), (p) => {
    events.push(p.event.kind);
    if (p.event.kind === 'stage') started();
    if (p.event.kind === 'cancelled' || p.event.kind === 'failed') ended(p.event.kind);
  }, (m) => logged.push(m));
  const b = new Jobs(cli, new JobJournal(file), () => undefined, () => undefined);
  try {
    const jobId = a.start('train', join(dir, 't.hdlm.json'), { providers: ['cpu'], threads: 1 });
    await running;
    assert.deepEqual(b.journal.list().map((j) => [j.jobId, j.state, j.elsewhere]), [[jobId, 'running', true]], 'B lists A\'s job as another window\'s');
    assert.deepEqual(b.cancelAnywhere(jobId), { cancelled: true, elsewhere: true });
    assert.equal(await end, 'cancelled', `A cancelled it as its own: ${events.join(', ')}`);
    assert.ok(logged.some((l) => l === `${jobId}: cancelling, as another window asked`), logged.join('\n'));
    assert.equal(b.journal.get(jobId)?.state, 'cancelled', 'and B sees how it ended');
    assert.deepEqual(readdirSync(file.replace(/\.json$/, '')).filter((n) => n.endsWith('.cancel')), [], 'the request was taken away');
    assert.deepEqual(b.cancelAnywhere(jobId), { cancelled: false }, 'an ended job is not running anywhere');
  } finally {
    // Ends the stand-in's stdin, should the test have failed before it was cancelled.
    a.dispose();
  }
});
