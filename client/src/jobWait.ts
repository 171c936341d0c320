// Following a job this window's server does not run (another window's, asked to cancel it): no
// progress of it comes here, so the job list is read until the job is no longer running.
import type { JobView } from '../../server/src/protocol';

/**
 * Reads `list` every `intervalMs` until job `jobId` is no longer running, for up to `timeoutMs`.
 * Resolves with the job as last listed (still `running` when the time ran out), or undefined
 * when it is listed no more. A failure of `list` rejects.
 */
export async function waitForJobEnd(list: () => Promise<readonly JobView[]>, jobId: string, options: { intervalMs: number; timeoutMs: number }): Promise<JobView | undefined> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    const job = (await list()).find((j) => j.jobId === jobId);
    if (job?.state !== 'running' || Date.now() >= deadline) return job;
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs));
  }
}
