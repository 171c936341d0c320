// "HdLM: Suggest Layers for a Task (Scan Every Layer)": runs the layer scan as a job (hdlm/scanLayers:
// a head per level at every layer, on a sample), then shows its report as Markdown and offers to
// write the suggested layers into the task file (one edit that keeps the file's comments, then a
// save) and to fine-tune with them. The heads are not touched until the user fine-tunes.
import * as vscode from 'vscode';
import { layersText, layerScanMarkdown, layerScanSummary } from '../../engine/src/hdlm/layerScanMarkdown';
import type * as proto from '../../server/src/protocol';
import { showMarkdown } from './evaluationViews';
import { chooseTask, jobKindAllowed, runJobCommand, taskUri } from './jobCommands';
import type { ServerConnection } from './serverConnection';
import { setLevelLayers } from './taskPanel';
import type { TeeOutputChannel } from './teeOutputChannel';
import { errorMessage } from '../../engine/src/errorMessage';

/** What to do with the suggestion without asking (scripts, tests): write it, or leave the file. */
export interface ScanOptions {
  apply?: boolean;
}

const APPLY = 'Use These Layers';
const APPLY_AND_TRAIN = 'Use and Fine-tune';

/** Resolves with the scan (undefined when none ended), after the report is shown and the layers are written if chosen. */
export async function scanLayersCommand(server: ServerConnection, output: TeeOutputChannel, arg?: unknown, options?: ScanOptions): Promise<proto.LayerScan | undefined> {
  if (!jobKindAllowed('scan')) return undefined; // before the task is picked
  const task = await chooseTask(arg, 'scan the layers of');
  if (!task) return undefined;
  const end = await runJobCommand('scan', server, output, task);
  if (end?.kind !== 'layerScan') return undefined;
  const scan = end.scan;
  await showMarkdown(layerScanMarkdown(scan), output, 'layer scan');
  const uri = taskUri(task);
  if (layersText(scan.suggested) === layersText(scan.current)) {
    void vscode.window.showInformationMessage(`HdLM: ${layerScanSummary(scan)}.`);
    return scan;
  }
  const choice = options?.apply !== undefined ? (options.apply ? APPLY : undefined) : await vscode.window.showInformationMessage(`HdLM: ${layerScanSummary(scan)}.`, APPLY, APPLY_AND_TRAIN);
  if (!choice) return scan;
  if (await useLayers(uri, scan, output) && choice === APPLY_AND_TRAIN) void vscode.commands.executeCommand('hdlm.fineTune', uri);
  return scan;
}

/** Writes the suggested layers into the task file; whether it was saved. */
async function useLayers(uri: vscode.Uri, scan: proto.LayerScan, output: TeeOutputChannel): Promise<boolean> {
  const changed = new Map(scan.suggested.map((layer, i) => [i + 1, layer] as const).filter(([level, layer]) => scan.current[level - 1] !== layer));
  // A file that cannot be edited (gone, not JSON any more) is said below, as an unsaved one is.
  const saved = await setLevelLayers(uri, changed).catch((err: unknown) => {
    output.error(`writing the layers: ${errorMessage(err)}`);
    return false;
  });
  const what = `layers ${layersText(scan.suggested)} (were ${layersText(scan.current)}) in ${vscode.workspace.asRelativePath(uri)}`;
  if (saved) output.info(`wrote ${what}; the heads were trained at the old layers until the task is fine-tuned again`);
  else void vscode.window.showWarningMessage(`HdLM: could not write ${what}`);
  return saved;
}
