// What the status bar menu says of the jobs, without `vscode` (unit-tested). A job of another
// window on the same workspace is listed by Show Jobs but cannot be cancelled here; the menu must
// still not call the jobs "none running" while it runs.
import type { JobView } from '../../server/src/protocol';

/** A running job of this window's server: another window's is cancelled in that window, whose server alone runs it. */
export function cancellable(job: JobView): boolean {
  return job.state === 'running' && !job.elsewhere;
}

/** The Show Jobs entry's description: how many run here and in other windows ("none running" only when none does anywhere). */
export function runningText(jobs: readonly JobView[]): string {
  const here = jobs.filter(cancellable).length;
  const elsewhere = jobs.filter((j) => j.state === 'running' && j.elsewhere).length;
  const parts = [...(here > 0 ? [`${here} running`] : []), ...(elsewhere > 0 ? [`${elsewhere} running in another window`] : [])];
  return parts.length > 0 ? parts.join(', ') : 'none running';
}
