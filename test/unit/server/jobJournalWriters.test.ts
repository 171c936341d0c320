// Two real server processes writing one workspace's job journal at the same moments, many times:
// no write may lose the other's change, not even for a moment. Run as a test, this file starts
// two copies of itself as the writers (HDLM_TEST_JOURNAL set); each creates jobs in a loop and,
// after each, reads the journal afresh as a third window would and counts the times one of its
// jobs was missing.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { JobJournal, journalFile } from '../../../server/src/jobJournal';

/** Jobs each writer creates (each a write of the journal). */
const WRITES = 150;

interface WriterResult {
  jobs: string[];
  /** Times a fresh read, just after one of this writer's writes, lacked one of its jobs. */
  misses: number;
}

/** The writer: waits for "go" on stdin, writes, prints its WriterResult, and stays alive (its jobs running) until stdin ends. */
function writer(file: string): void {
  const lines = createInterface({ input: process.stdin });
  process.stdout.write('ready\n');
  lines.once('line', () => {
    const journal = new JobJournal(file, (m) => process.stderr.write(`${m}\n`));
    const jobs: string[] = [];
    let misses = 0;
    for (let i = 0; i < WRITES; i++) {
      jobs.push(journal.create('train', `/ws/t${i}.hdlm.json`));
      const seen = new Set(new JobJournal(file).list().map((j) => j.jobId));
      if (jobs.some((id) => !seen.has(id))) misses++;
    }
    process.stdout.write(`${JSON.stringify({ jobs, misses } satisfies WriterResult)}\n`);
    lines.on('close', () => process.exit(0));
  });
}

/** The lines a child prints, one at a time. */
function linesOf(child: ChildProcess): () => Promise<string> {
  const queue: string[] = [];
  const waiting: ((line: string) => void)[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const next = waiting.shift();
    if (next) next(line);
    else queue.push(line);
  });
  return () => (queue.length > 0 ? Promise.resolve(queue.shift()!) : new Promise((resolve) => waiting.push(resolve)));
}

const role = process.env['HDLM_TEST_JOURNAL'];
if (role) {
  writer(role);
} else {
  test('two servers writing the journal at the same moments lose nothing, not even until their next write', { timeout: 120_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hdlm-journal-writers-'));
    const file = journalFile(dir, '/ws');
    const children = [0, 1].map(() => spawn(process.execPath, [__filename], { env: { ...process.env, HDLM_TEST_JOURNAL: file }, stdio: ['pipe', 'pipe', 'inherit'] }));
    try {
      const next = children.map(linesOf);
      for (const line of next) assert.equal(await line(), 'ready');
      // Both start together, so that their writes overlap from the first.
      for (const child of children) child.stdin!.write('go\n');
      const results = (await Promise.all(next.map((line) => line()))).map((line) => JSON.parse(line) as WriterResult);
      assert.deepEqual(results.map((r) => r.misses), [0, 0], 'a fresh read after a write always found all of that writer\'s jobs');
      // Both writers alive, neither flushed: every job of both is in the journal, running.
      const listed = new JobJournal(file).list();
      const all = results.flatMap((r) => r.jobs);
      assert.equal(new Set(all).size, 2 * WRITES, 'no id given twice');
      assert.deepEqual(listed.map((j) => j.jobId).sort(), [...all].sort());
      assert.ok(listed.every((j) => j.state === 'running'));
    } finally {
      for (const child of children) child.stdin!.end();
      await Promise.all(children.map((child) => new Promise((resolve) => (child.exitCode !== null ? resolve(undefined) : child.once('exit', resolve)))));
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
