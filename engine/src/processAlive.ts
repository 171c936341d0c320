// Whether another process still runs: the job journal asks it of a job's server, the heads lock of
// the run that holds it, the temp-file sweep of the writer of a leftover file.
//
// A pid alone can mislead: once its process has ended, the system gives the number to a new
// process sooner or later (surely after a reboot), and a lock or a journal entry of the dead one
// would then look alive for as long as the stranger runs. So who records a pid records when its
// process started too (processStart), where the system tells: on Linux the boot's id and the
// start time in /proc/<pid>/stat (field 22, clock ticks since boot). A process with that pid but
// another start is another process. Elsewhere (macOS, Windows) no start is recorded, and the pid
// alone decides, as it always did. A record from before starts were recorded holds a time the
// process surely ran at instead (a job journal entry: when the job started): a process that
// started after it is another (processAliveSince).
import { readFileSync } from 'node:fs';

/**
 * Whether process `pid` exists (one of another user's counts: it cannot be signalled, but it is
 * there), and, when `start` is given (processStart when it was recorded), is still the process
 * that started then. A start that cannot be read now leaves the pid alone to decide.
 */
export function processAlive(pid: number, start?: string): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (start === undefined) return true;
  const now = processStart(pid);
  return now === undefined || now === start;
}

/**
 * When process `pid` started, as a string that no later process with the same pid shares
 * (`<boot id>:<start ticks>`), or undefined where the system does not tell (not Linux) or the
 * process is gone.
 */
export function processStart(pid: number): string | undefined {
  const boot = bootId();
  if (boot === undefined) return undefined;
  const ticks = startTicks(pid);
  return ticks === undefined ? undefined : `${boot}:${ticks}`;
}

/** When process `pid` started, in clock ticks since the boot (/proc/<pid>/stat field 22), or undefined. */
function startTicks(pid: number): number | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // Field 2, the command name, is in parentheses and may itself hold spaces and parentheses:
  // the fields after the last ')' start at field 3, so field 22 is the 20th of them.
  const ticks = stat
    .slice(stat.lastIndexOf(')') + 2)
    .split(' ')[19];
  return ticks !== undefined && /^\d+$/.test(ticks) ? Number(ticks) : undefined;
}

/**
 * How far the clocks behind processStartedAt and a recorded time may disagree: the boot time the
 * kernel gives is in whole seconds (and moves when the clock is set).
 */
const CLOCK_SLACK_MS = 2000;

/**
 * Whether process `pid` runs and may be the one that did something at `time` (ms since the epoch),
 * for records of a pid without its start (processStart). Where the system tells when the process
 * started (Linux), one that started after `time` cannot have done it: its pid was reused (or the
 * machine rebooted since). Elsewhere, the pid alone decides.
 */
export function processAliveSince(pid: number, time: number): boolean {
  if (!processAlive(pid)) return false;
  const started = processStartedAt(pid);
  return started === undefined || started <= time + CLOCK_SLACK_MS;
}

/**
 * When process `pid` started, in ms since the epoch (Linux: the boot time in /proc/stat plus its
 * start ticks, at USER_HZ, which the kernel fixes at 100 for /proc on every architecture Node runs
 * on), or undefined where the system does not tell or the process is gone.
 */
export function processStartedAt(pid: number): number | undefined {
  const ticks = startTicks(pid);
  const bootSeconds = bootTime();
  return ticks === undefined || bootSeconds === undefined ? undefined : bootSeconds * 1000 + ticks * 10;
}

/** The boot time in seconds since the epoch (/proc/stat `btime`), or undefined where there is none. */
function bootTime(): number | undefined {
  try {
    const line = /^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'));
    return line ? Number(line[1]) : undefined;
  } catch {
    return undefined;
  }
}

let boot: string | null | undefined;

/** This boot's id (Linux), read once: start ticks count from the boot, so they repeat after another one. */
function bootId(): string | undefined {
  if (boot === undefined) {
    try {
      boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || null;
    } catch {
      boot = null;
    }
  }
  return boot ?? undefined;
}
