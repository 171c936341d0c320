// Whether another process still runs: the job journal asks it of a job's server, the heads lock of
// the run that holds it, the temp-file sweep of the writer of a leftover file.

/** Whether process `pid` exists (one of another user's counts: it cannot be signalled, but it is there). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
