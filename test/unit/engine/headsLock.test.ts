// The heads lock against real processes: several runs that find the same stale lock at the same
// moment (a killed run's) must not all take it over. Run with HEADS_LOCK_RACER set, this file is
// one of those runs (spawned below), not a test.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { HEADS_LOCK, lockHeads } from '../../../engine/src/hdlm/headsLock';
import { processStart } from '../../../engine/src/processAlive';

/** What a racer is told: the heads folders, one per trial, when each trial starts, and where to write what happened. */
interface Race {
  dirs: string[];
  holders: string;
  log: string;
  holdMs: number;
}

const now = (): number => performance.timeOrigin + performance.now();

function sleepUntil(t: number): void {
  const ms = t - now() - 10;
  if (ms > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
  while (now() < t) {
    // The last milliseconds spun, so that the racers start as nearly together as the system lets them.
  }
}

/**
 * One racer: says it is ready, reads when the first trial starts, then in each trial tries to take
 * the trial's heads folder at the same moment as the others. A winner leaves a mark in the
 * holders folder while it holds the lock and notes any other mark it sees there: another run
 * holding the same folder at the same time.
 */
function race(race: Race): void {
  process.stdout.write('ready\n');
  const first = Number(readFileSync(0, 'utf8'));
  race.dirs.forEach((dir, trial) => {
    sleepUntil(first + trial * (race.holdMs + 300));
    const marks = join(race.holders, String(trial));
    try {
      const release = lockHeads(dir);
      const mine = join(marks, String(process.pid));
      writeFileSync(mine, '');
      const seen = new Set(readdirSync(marks));
      sleepUntil(now() + race.holdMs);
      readdirSync(marks).forEach((f) => seen.add(f));
      rmSync(mine);
      release();
      seen.delete(String(process.pid));
      appendFileSync(race.log, `${JSON.stringify({ trial, pid: process.pid, held: true, alongside: [...seen] })}\n`);
    } catch (err) {
      appendFileSync(race.log, `${JSON.stringify({ trial, pid: process.pid, held: false, message: (err as Error).message })}\n`);
    }
  });
}

const racer = process.env['HEADS_LOCK_RACER'];
if (racer !== undefined) {
  race(JSON.parse(racer) as Race);
} else {
  const dir = mkdtempSync(join(tmpdir(), 'hdlm-lock-'));
  test.after(() => rmSync(dir, { recursive: true, force: true }));

  /** A pid whose process has ended: its lock is stale. */
  const deadPid = (): number => spawnSync(process.execPath, ['-e', '']).pid!;

  /** The racers' outcomes: a JSON line each per trial. */
  type Outcome = { trial: number; pid: number; held: true; alongside: string[] } | { trial: number; pid: number; held: false; message: string };

  async function runRacers(racers: number, race: Race): Promise<Outcome[]> {
    const children = Array.from({ length: racers }, () => spawn(process.execPath, [__filename], { env: { ...process.env, HEADS_LOCK_RACER: JSON.stringify(race) }, stdio: ['pipe', 'pipe', 'inherit'] }));
    // Every racer loaded before the first trial's moment is chosen (starting node takes a while on a busy machine).
    await Promise.all(children.map((c) => new Promise<void>((resolve) => c.stdout.once('data', () => resolve()))));
    const first = now() + 200;
    children.forEach((c) => c.stdin.end(String(first)));
    await Promise.all(children.map((c) => new Promise((resolve) => c.on('exit', resolve))));
    return readFileSync(race.log, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Outcome);
  }

  test('runs that find the same stale lock at the same moment: one takes it over, the others refuse naming it and the folder', async () => {
    const trials = 12;
    const racers = 4;
    const base = join(dir, 'race');
    const race: Race = { dirs: [], holders: join(base, 'holders'), log: join(base, 'log.jsonl'), holdMs: 150 };
    for (let t = 0; t < trials; t++) {
      const heads = join(base, `heads${t}`);
      mkdirSync(heads, { recursive: true });
      mkdirSync(join(race.holders, String(t)), { recursive: true });
      writeFileSync(join(heads, HEADS_LOCK), `${deadPid()}\n`); // as a killed run leaves it
      race.dirs.push(heads);
    }
    const outcomes = await runRacers(racers, race);
    assert.equal(outcomes.length, trials * racers, 'every racer tells how each trial went');
    for (let t = 0; t < trials; t++) {
      const trial = outcomes.filter((o) => o.trial === t);
      const holders = trial.flatMap((o) => (o.held ? [o] : []));
      assert.ok(holders.length >= 1, `trial ${t}: someone took the stale lock over`);
      const together = holders.filter((h) => h.alongside.length > 0);
      assert.deepEqual(together, [], `trial ${t}: two runs held ${race.dirs[t]} at once`);
      for (const o of trial) {
        if (o.held) continue;
        // The one that refused names the folder and a run that held it in this trial.
        const named = new RegExp(`^${race.dirs[t]}: heads are being trained by process (\\d+) `).exec(o.message);
        assert.ok(named, `trial ${t}: a clear refusal, got ${o.message}`);
        assert.ok(holders.some((h) => h.pid === Number(named[1])), `trial ${t}: the refusal names a run that held the lock (${o.message})`);
      }
      assert.deepEqual(readdirSync(race.dirs[t]!), [], `trial ${t}: no lock or key is left behind`);
    }
  });

  test('a key left by a run killed while it took a lock over is taken in turn; a live run\'s key is waited for, then named', { skip: processStart(process.pid) === undefined && 'no process start times here (not Linux)' }, () => {
    const heads = join(dir, 'keys');
    mkdirSync(heads);
    const lock = join(heads, HEADS_LOCK);
    // A stale lock with the key of a taker that died before removing it: a second name of the same file.
    writeFileSync(lock, `${deadPid()}\n`);
    const [boot] = processStart(process.pid)!.split(':');
    linkSync(lock, join(heads, `${HEADS_LOCK}.key.${deadPid()}.${boot}_1.00000000a0b0`));
    // Litter: a dead taker's key to a lock that is long gone.
    writeFileSync(join(heads, `${HEADS_LOCK}.key.${deadPid()}.${boot}_1.00000000c0d0`), `${deadPid()}\n`);
    const release = lockHeads(heads);
    assert.equal(readFileSync(lock, 'utf8'), `${process.pid} ${processStart(process.pid)}\n`);
    assert.deepEqual(readdirSync(heads), [HEADS_LOCK], 'the dead keys are gone');
    release();
    // A live process halfway through taking the stale lock over: this run waits, then names it.
    writeFileSync(lock, `${deadPid()}\n`);
    const taker = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      linkSync(lock, join(heads, `${HEADS_LOCK}.key.${taker.pid}.${processStart(taker.pid!)!.replace(':', '_')}.00000000e0f0`));
      const started = Date.now();
      assert.throws(() => lockHeads(heads, { patienceMs: 300 }), new RegExp(`${heads}: cannot take over the stale lock ${lock} \\(left by process \\d+, which is gone\\): process ${taker.pid} is taking it over`));
      assert.ok(Date.now() - started >= 300, 'it waited for the other run first');
      assert.ok(existsSync(lock), 'the lock the other run is taking over stays');
    } finally {
      taker.kill();
    }
  });
}
