// What the task panel's host accepts from its page, decided without `vscode` (unit-tested). The
// page is a webview: whatever runs in it can post any object, so a message is checked before the
// host acts on it. A URI must be one the host itself sent in its last state (a task file, a
// dataset, the shown job's task), of the file: scheme, so a message cannot open, fine-tune or
// edit anything else; a layer must be one the engine reads (taskLevels.ts's layerProblem).
import type { TaskPanelState, TaskPanelToHost } from '../../webview/src/messages';
import { layerProblem } from './taskLevels';

/** The URIs a state offers the page: the only ones its messages may name. */
export function stateUris(state: TaskPanelState): Set<string> {
  const uris = [...state.tasks.map((t) => t.uri), ...state.datasets.map((d) => d.uri), ...(state.job ? [state.job.taskUri] : [])];
  return new Set(uris.filter(isFileUri));
}

/** The message types that name one URI and nothing else. */
const URI_ONLY = ['train', 'evaluate', 'showMistakes', 'showLabelReport', 'open', 'createTask', 'evaluateOnFile', 'activate', 'scanLayers'] as const;

/** The message as the host may act on it, or why it is ignored. */
export function checkPanelMessage(message: unknown, known: ReadonlySet<string>): { message: TaskPanelToHost } | { problem: string } {
  if (typeof message !== 'object' || message === null) return { problem: `not an object: ${shown(message)}` };
  const m = message as Record<string, unknown>;
  const type = m['type'];
  const ok = { message: message as TaskPanelToHost };
  if (type === 'ready' || type === 'rendered') return ok;
  if (type === 'cancel') return typeof m['jobId'] === 'string' && m['jobId'] !== '' ? ok : { problem: `cancel: jobId must be a non-empty string, got ${shown(m['jobId'])}` };
  if (typeof type !== 'string' || !(URI_ONLY as readonly string[]).includes(type) && type !== 'setLayer' && type !== 'useScanLayers') return { problem: `unknown message type ${shown(type)}` };
  const uriProblem = checkUri(m['uri'], known);
  if (uriProblem) return { problem: `${type}: ${uriProblem}` };
  if (type === 'setLayer') {
    const problem = layerProblem(m['level'], m['layer']);
    return problem ? { problem: `setLayer: ${problem}` } : ok;
  }
  if (type === 'useScanLayers') {
    const layers = m['layers'];
    if (!Array.isArray(layers) || layers.length === 0) return { problem: `useScanLayers: layers must be a non-empty list, got ${shown(layers)}` };
    const problem = layers.map((layer, i) => layerProblem(i + 1, layer)).find((p) => p !== '');
    return problem ? { problem: `useScanLayers: ${problem}` } : ok;
  }
  return ok;
}

function checkUri(uri: unknown, known: ReadonlySet<string>): string | undefined {
  if (typeof uri !== 'string') return `uri must be a string, got ${shown(uri)}`;
  if (!isFileUri(uri)) return `only file: URIs are opened, got ${shown(uri)}`;
  if (!known.has(uri)) return `${uri} is not one the panel was shown`;
  return undefined;
}

function isFileUri(uri: string): boolean {
  return /^file:/i.test(uri);
}

/** A value as the log names it (cut short: a page can send anything). */
function shown(value: unknown): string {
  const text = typeof value === 'number' ? String(value) : (JSON.stringify(value) ?? String(value));
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}
