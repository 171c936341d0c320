// The words of the client's failure notices, without `vscode` (unit-tested): a notice names what
// failed the way a person asked for it (the verb and the task file, not a job id or a message
// type) and offers what to do next as buttons (the log; a restart when the server is down).
// requestErrors.ts shows them and carries out the buttons.
import { basename } from 'node:path';
import { JOB_VERBS, type JobKind } from '../../server/src/protocol';
import type { TaskPanelToHost } from '../../webview/src/messages';

/** Opens the "HdLM" output channel (where the job's lines and the server's stderr are). */
export const SHOW_LOG = 'Show Log';
/** Runs "HdLM: Restart Server". */
export const RESTART_SERVER = 'Restart Server';

/** A notice to show: its text and its buttons. */
export interface Notice {
  message: string;
  actions: string[];
}

/** "Fine-tuning wordnet.hdlm.json": the job as a person started it (the id stays in the log). */
export function jobTitle(kind: JobKind, task: string): string {
  const verb = JOB_VERBS[kind];
  return `${verb.charAt(0).toUpperCase()}${verb.slice(1)} ${basename(task)}`;
}

/**
 * A job that ended failed (`serverStopped`: because the server process stopped under it, which
 * a restart answers; otherwise the job's own error, which the log explains).
 */
export function jobFailedNotice(kind: JobKind, task: string, message: string, serverStopped: boolean): Notice {
  return { message: `HdLM: ${jobTitle(kind, task)} failed: ${message}`, actions: serverStopped ? [SHOW_LOG, RESTART_SERVER] : [SHOW_LOG] };
}

/** A job the server did not start (`serverDown`: the request got no answer from a running server). */
export function jobNotStartedNotice(kind: JobKind, task: string, message: string, serverDown: boolean): Notice {
  return { message: `HdLM: ${jobTitle(kind, task)} did not start: ${message}`, actions: serverDown ? [SHOW_LOG, RESTART_SERVER] : [SHOW_LOG] };
}

/** What each task panel button asks for, in words (the message types are the code's names). */
const PANEL_ACTIONS: Record<TaskPanelToHost['type'], string> = {
  ready: 'show the task panel',
  train: 'start fine-tuning',
  evaluate: 'start the evaluation',
  showMistakes: 'show the mistakes of the last evaluation',
  showLabelReport: 'show the per-label report of the last evaluation',
  cancel: 'cancel the job',
  open: 'open the file',
  createTask: 'make a task from the dataset',
  evaluateOnFile: 'evaluate a task on the dataset',
  activate: 'use the task',
  setLayer: "change the level's layer",
  scanLayers: 'scan the layers',
  useScanLayers: 'write the suggested layers into the task file',
  rendered: 'update the task panel',
};

/** A task panel button whose action failed: what it was for, on which file, and why. */
export function panelFailedNotice(message: TaskPanelToHost, error: string): Notice {
  const uri = 'uri' in message ? message.uri : undefined;
  const file = uri ? ` (${basename(decodeURIComponent(uri))})` : '';
  return { message: `HdLM: could not ${PANEL_ACTIONS[message.type]}${file}: ${error}`, actions: [SHOW_LOG] };
}
