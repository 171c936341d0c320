// Job processes: a job runs as its own process below the editor's priority, so a fine-tuning run
// that keeps every core busy does not make hovers and completions wait.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { getPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { JobJournal } from '../../../server/src/jobJournal';
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
