// Whether another process still runs: the job journal asks it of a job's server, the heads lock of
// the run that holds it, the temp-file sweep of the writer of a leftover file.
//
// A pid alone can mislead: once its process has ended, the system gives the number to a new
// process sooner or later (surely after a reboot), and a lock or a journal entry of the dead one
// would then look alive for as long as the stranger runs. So who records a pid records when its
// process started too (processStart), where the system tells: on Linux the boot's id and the
// start time in /proc/<pid>/stat (field 22, clock ticks since boot). A process with that pid but
// another start is another process. Elsewhere (macOS, Windows) no start is recorded, and the pid
// alone decides, as it always did.
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
  return ticks !== undefined && /^\d+$/.test(ticks) ? `${boot}:${ticks}` : undefined;
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
