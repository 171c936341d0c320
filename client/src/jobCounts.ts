// What the status bar menu says of the jobs, without `vscode` (unit-tested). A job of another
// window on the same workspace is listed by Show Jobs and can be cancelled from here (its server is
// asked to, through the journal folder); the menu must not call the jobs "none running" while it
// runs, and says where it runs; and how far a running job is, another window's too (its server
// writes its progress into the journal).
import type { JobView, StatusParams } from '../../server/src/protocol';

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

/** A job's state in the jobs list: a running one with how far it is ("running 42 %"), another window's saying so. */
export function stateText(job: JobView): string {
  const percent = job.state === 'running' && job.overall !== undefined ? ` ${Math.floor(job.overall * 100)} %` : '';
  return `${job.state}${percent}${job.elsewhere ? ' in another window' : ''}`;
}

/** What the server says it does, and another window's jobs on the workspace ("ready · fine-tuning wn.hdlm.json 42 % in another window"): the status item's tooltip and menu title. */
export function statusLine(status: Pick<StatusParams, 'message' | 'elsewhere'>): string {
  return status.elsewhere ? `${status.message} · ${status.elsewhere}` : status.message;
}
