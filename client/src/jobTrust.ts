// Whether a job (fine-tune, evaluate, scan layers) may start, decided without `vscode` (unit-tested).
// A job loads the model its task file names, from any path, and writes into the task's heads
// folder (heads, evaluation records, the layer scan), which the file may also put anywhere. In
// Restricted Mode a click on a code lens of a file from an untrusted folder would run both, so
// jobs are refused there. In a trusted workspace a heads folder whose real path lies outside
// every workspace folder (a "../" path, or a committed symbolic link pointing out) is asked
// about once, naming where the files will go.
import { isInside } from '../../engine/src/realPath';

export type JobGate =
  /** Restricted Mode: the job is not started. */
  | { decision: 'refuse' }
  /** Trusted, but the heads folder is outside every workspace folder: ask before writing there. */
  | { decision: 'ask'; headsDir: string }
  | { decision: 'start' };

/**
 * The decision for a job whose heads folder is `realHeadsDir` (a real path: realPath), in a
 * workspace with these folders (real paths too). A window without a folder has nothing to be
 * outside of, and no workspace trust to lack: the user opened the task file themselves.
 */
export function jobGate(trusted: boolean, folders: readonly string[], realHeadsDir: string): JobGate {
  if (refusesJobs(trusted, folders.length)) return { decision: 'refuse' };
  if (folders.length === 0 || folders.some((folder) => isInside(realHeadsDir, folder))) return { decision: 'start' };
  return { decision: 'ask', headsDir: realHeadsDir };
}

/** Whether no job runs at all: Restricted Mode, which only a window with a folder can be in. */
export function refusesJobs(trusted: boolean, folderCount: number): boolean {
  return !trusted && folderCount > 0;
}
