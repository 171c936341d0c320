// One training run per heads folder: the run holds `.train.lock` there while it saves heads. Two
// runs saving into one folder would mix their heads, and each save deletes the head's other
// weights files (headStore.ts), so one run could delete the other's before its manifest names them.
//
// The lock is a file created whole and exclusively (writeNewFile) holding the process's id and,
// where the system tells, when it started (processStart), so that a lock left by a killed run is
// known for one and taken over. Taking over is the delicate part. Deleting a stale lock and
// creating one's own are two steps, and two runs that find the same stale lock at once would
// both delete "it": the second deletes the first's new lock and both go on to train (seen with
// real processes: headsLock.test.ts). No call removes a file only if it is still the one judged
// stale, so a run first makes itself the only one allowed to remove that file:
//
// - It gives the lock file a second name of its own, a *key* (`.train.lock.key.<pid>.<start>.<n>`,
//   a hard link, so the same file), either by linking the lock to it or, when a key of a
//   process that is gone is already linked to the lock (a run killed halfway through a takeover),
//   by renaming that key to its own name: only one rename of a name succeeds.
// - It removes the lock only if its key and the lock are then the same file, that file has no
//   other name (two links: the lock and the key), and the process the file names is gone.
//   Otherwise it drops its key and tries again (another run holds a key too) or gives up (the
//   lock is someone else's now, alive).
//
// Two runs cannot both pass that check for the same file: whichever comes second sees the
// first's key as a third name, and a key of a live process is never renamed away. A key's name
// is never used again (pid, start and a random part), and a lock file is always new (never an
// old file linked back), so a late run cannot mistake a new lock for the stale one it judged.
import { randomBytes } from 'node:crypto';
import { linkSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmdirSync, rmSync, statSync, type BigIntStats } from 'node:fs';
import { dirname, join } from 'node:path';
import { sweepDeadTemps } from '../atomicFile';
import { processAlive, processStart } from '../processAlive';
import { writeNewFile } from '../textFile';

/**
 * The file a training run holds in its heads folder (lockHeads): the process id, where the system
 * tells it a space and when the process started (processStart), and a newline.
 */
export const HEADS_LOCK = '.train.lock';

/** Random bytes in a key's name (keyName), written as 2 hex digits each. */
const KEY_RANDOM_BYTES = 6;

/**
 * Exactly the names keyName makes: `.train.lock.key.<pid>.<start, ':' as '_'>.<random>`. Only
 * these are swept (sweepDeadKeys), in a folder a task file names: nothing else there is ours.
 */
const KEY = new RegExp(`^\\.train\\.lock\\.key\\.(\\d+)\\.([0-9a-f_-]*)\\.[0-9a-f]{${2 * KEY_RANDOM_BYTES}}$`);

/** How long a run waits for another's takeover of the same stale lock to end (it takes microseconds unless that run stalls). */
const PATIENCE_MS = 5000;

/** A process as a lock names it: its id, and when it started where the system tells. */
interface Holder {
  pid: number;
  start?: string;
}

/**
 * Takes the heads folder `dir` for one training run, or refuses naming the run that holds it. A
 * lock whose process is gone (killed) is taken over (file header); a run that finds another
 * taking over the same stale lock waits for it, then refuses naming the winner. Taking the lock
 * also sweeps the temporary files and keys dead processes left (sweepDeadTemps, sweepDeadKeys).
 * Returns the release, which also removes the folders this run made, if it left them empty.
 * `patienceMs`: how long to wait for another run's takeover (tests shorten it).
 */
export function lockHeads(dir: string, { patienceMs = PATIENCE_MS }: { patienceMs?: number } = {}): () => void {
  // The first folder this run made (undefined: none), so that the release removes only its own.
  const made = mkdirSync(dir, { recursive: true });
  const path = join(dir, HEADS_LOCK);
  const start = processStart(process.pid);
  const mine = `${process.pid}${start === undefined ? '' : ` ${start}`}\n`;
  const deadline = Date.now() + patienceMs;
  for (;;) {
    if (writeNewFile(path, mine)) {
      sweepDeadTemps(dir);
      sweepDeadKeys(dir);
      return () => {
        if (readLock(path)?.pid === process.pid) rmSync(path, { force: true });
        if (made) rmEmptyDirs(dir, made);
      };
    }
    const holder = readLock(path);
    if (holder !== undefined && processAlive(holder.pid, holder.start)) {
      throw new Error(`${dir}: heads are being trained by process ${holder.pid} (${path}); wait for it to finish, or train into another heads folder. If no training is running, delete ${path}`);
    }
    // Its process is gone, its pid reused, or the file is not a lock: take it over.
    const outcome = removeStaleLock(dir, path);
    if (outcome === 'removed' || outcome === 'changed') continue;
    if (Date.now() > deadline) {
      const whose = holder === undefined ? '' : ` (left by process ${holder.pid}, which is gone)`;
      const who = outcome.taker === undefined ? 'other runs are taking it over at the same time' : `process ${outcome.taker} is taking it over`;
      throw new Error(`${dir}: cannot take over the stale lock ${path}${whose}: ${who}; try again. If no training is running, delete ${path} and the .train.lock.key.* files beside it`);
    }
    sleep(5 + Math.random() * 20); // apart from the other takers, so that one of them passes alone
  }
}

/**
 * One try at removing the stale lock at `path` (file header): 'removed'; 'changed' when it is
 * no longer that file (removed or replaced by another run: look again); or, when another run
 * holds a key to it too, that run's process (a live one's key is its takeover in progress;
 * undefined: both took keys at once, and both let go).
 */
function removeStaleLock(dir: string, path: string): 'removed' | 'changed' | { taker?: number } {
  const lock = fileId(path);
  if (lock === undefined) return 'changed';
  const key = join(dir, keyName());
  const keys = readdirSync(dir).filter((f) => keyOwner(f) !== undefined && sameFile(fileId(join(dir, f)), lock));
  const live = keys.map((f) => keyOwner(f)!).find((o) => o.pid !== process.pid && processAlive(o.pid, o.start));
  if (live !== undefined) return { taker: live.pid };
  // A key of a process that is gone (killed halfway through a takeover) is renamed to this one's:
  // another key beside it would be a third name, which the check below refuses for ever. When
  // another run renamed them all first, the lock is its to remove: look again.
  const taken = keys.length > 0 ? keys.some((f) => unlessGone(() => renameSync(join(dir, f), key))) : unlessGone(() => linkSync(path, key));
  if (!taken) return 'changed';
  try {
    const held = statSync(key, { bigint: true });
    const holder = readLock(key);
    const stale = holder === undefined || !processAlive(holder.pid, holder.start);
    if (sameFile(fileId(path), held) && held.nlink === 2n && stale) {
      rmSync(path, { force: true });
      return 'removed';
    }
    return sameFile(fileId(path), held) && stale ? {} : 'changed';
  } finally {
    rmSync(key, { force: true });
  }
}

/** A new key's name for this process: its pid, its start (':' written '_') and a random part. */
function keyName(): string {
  const start = processStart(process.pid)?.replace(':', '_') ?? '';
  return `${HEADS_LOCK}.key.${process.pid}.${start}.${randomBytes(KEY_RANDOM_BYTES).toString('hex')}`;
}

/** The process a key's name says made it, or undefined when `file` is not a key. */
function keyOwner(file: string): Holder | undefined {
  const match = KEY.exec(file);
  if (!match) return undefined;
  return match[2] === '' ? { pid: Number(match[1]) } : { pid: Number(match[1]), start: match[2]!.replace('_', ':') };
}

/** The file's device, inode and link count, or undefined when there is none (bigint: Windows' file ids overflow a number). */
function fileId(file: string): BigIntStats | undefined {
  try {
    return statSync(file, { bigint: true });
  } catch {
    return undefined;
  }
}

function sameFile(a: BigIntStats | undefined, b: BigIntStats | undefined): boolean {
  return a !== undefined && b !== undefined && a.dev === b.dev && a.ino === b.ino;
}

/** Runs `step` on a file another run may remove or rename first: false when it was gone (ENOENT), true when the step was done. */
function unlessGone(step: () => void): boolean {
  try {
    step();
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/** Blocks this thread for `ms` (lockHeads is synchronous, and waits only while another run takes a lock over). */
function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * The process training into heads folder `dir` now (its lock's, while that process lives), or
 * undefined: a reader that must not see a run's heads half saved (one level new, the others old)
 * waits for the lock to go.
 */
export function headsTrainer(dir: string): number | undefined {
  const holder = readLock(join(dir, HEADS_LOCK));
  return holder !== undefined && processAlive(holder.pid, holder.start) ? holder.pid : undefined;
}

/** The process in a lock file (its start where recorded: a lock from before, or not from Linux, has none), or undefined when there is none or it is not one. */
function readLock(path: string): Holder | undefined {
  try {
    const [pidText, start] = readFileSync(path, 'utf8').trim().split(' ');
    const pid = Number(pidText);
    if (!Number.isInteger(pid) || pid <= 0) return undefined;
    return start === undefined ? { pid } : { pid, start };
  } catch {
    return undefined;
  }
}

/** Removes `dir` and its parents up to `top` while they are empty. */
function rmEmptyDirs(dir: string, top: string): void {
  for (let d = dir; d.length >= top.length; d = dirname(d)) {
    try {
      rmdirSync(d);
    } catch {
      return; // not empty (heads were saved), or gone: either way nothing more to do
    }
  }
}

/**
 * Removes the keys of processes that are gone, once this run holds the lock: a run killed while
 * taking a lock over leaves its key, to the stale lock (removed since) or to a lock it found
 * alive. Nobody takes over a live lock, so no run needs them now.
 */
function sweepDeadKeys(dir: string): void {
  for (const file of readdirSync(dir)) {
    const owner = keyOwner(file);
    if (owner === undefined || processAlive(owner.pid, owner.start)) continue;
    // A key is a hard link to a lock: a regular file. Anything else of that name is not ours.
    const path = join(dir, file);
    if (lstatSync(path, { throwIfNoEntry: false })?.isFile()) rmSync(path, { force: true });
  }
}
