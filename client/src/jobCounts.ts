// What the status bar menu says of the jobs, without `vscode` (unit-tested). A job of another
// window on the same workspace is listed by Show Jobs and can be cancelled from here (its server is
// asked to, through the journal folder); the menu must not call the jobs "none running" while it
// runs, and says where it runs.
import type { JobView } from '../../server/src/protocol';

/** A running job, this window's or another's (whose server this window's asks to cancel it). */
export function cancellable(job: JobView): boolean {
  return job.state === 'running';
}

/** The Show Jobs entry's description: how many run here and in other windows ("none running" only when none does anywhere). */
export function runningText(jobs: readonly JobView[]): string {
  const here = jobs.filter((j) => j.state === 'running' && !j.elsewhere).length;
  const elsewhere = jobs.filter((j) => j.state === 'running' && j.elsewhere).length;
  const parts = [...(here > 0 ? [`${here} running`] : []), ...(elsewhere > 0 ? [`${elsewhere} running in another window`] : [])];
  return parts.length > 0 ? parts.join(', ') : 'none running';
}
