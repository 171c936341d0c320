// The extension's commands. Each one goes through ServerConnection; none runs a model here.
import * as vscode from 'vscode';
import { formatBytes } from '../../engine/src/diskBudget';
import * as proto from '../../server/src/protocol';
import { classifyCommand, copyClassification, insertClassificationComment } from './classifyCommand';
import { classifyLinesCommand } from './classifyLinesCommand';
import { createTaskCommand } from './createTaskCommand';
import { showLabelMistakesCommand, showLabelReportCommand, showMistakesCommand } from './evaluationViews';
import { evaluateOnFileCommand, runJobCommand } from './jobCommands';
import { cancelJobCommand, showJobsCommand } from './jobsMenu';
import { scanLayersCommand } from './layerScanCommand';
import { thinkCommand } from './thinkCommand';
import { selectDevice, selectModel, selectTask } from './selectCommands';
import type { ServerConnection } from './serverConnection';
import type { TeeOutputChannel } from './teeOutputChannel';
import { errorMessage } from '../../engine/src/errorMessage';

/** `extensionPath`: where the extension is installed (its shipped model and tasks). */
export function registerCommands(extensionPath: string, server: ServerConnection, output: TeeOutputChannel): vscode.Disposable[] {
  return [
    vscode.commands.registerCommand('hdlm.showEngineInfo', () => showEngineInfo(server, output)),
    vscode.commands.registerCommand('hdlm.clearCache', (options?: { confirmed?: boolean }) => clearCacheCommand(server, output, options)),
    vscode.commands.registerCommand('hdlm.fineTune', (arg?: unknown) => runJobCommand('train', server, output, arg)),
    vscode.commands.registerCommand('hdlm.evaluate', (arg?: unknown) => runJobCommand('evaluate', server, output, arg)),
    vscode.commands.registerCommand('hdlm.evaluateOnFile', (arg?: unknown, task?: unknown) => evaluateOnFileCommand(server, output, arg, task)),
    vscode.commands.registerCommand('hdlm.scanLayers', (arg?: unknown, options?: { apply?: boolean }) => scanLayersCommand(server, output, arg, options)),
    vscode.commands.registerCommand('hdlm.cancelJob', (jobId?: unknown) => cancelJobCommand(server, output, jobId)),
    vscode.commands.registerCommand('hdlm.showJobs', () => showJobsCommand(server, output)),
    vscode.commands.registerCommand('hdlm.createTask', (arg?: unknown) => createTaskCommand(server, output, arg)),
    vscode.commands.registerCommand('hdlm.showMistakes', (arg?: unknown) => showMistakesCommand(server, output, arg)),
    vscode.commands.registerCommand('hdlm.showLabelReport', (arg?: unknown) => showLabelReportCommand(server, output, arg)),
    vscode.commands.registerCommand('hdlm.showLabelMistakes', (arg?: unknown, label?: unknown) => showLabelMistakesCommand(server, output, arg, label)),
    vscode.commands.registerCommand('hdlm.classify', (text?: unknown) => classifyCommand(server, output, typeof text === 'string' ? text : undefined)),
    vscode.commands.registerCommand('hdlm.classifyLines', () => classifyLinesCommand(server, output)),
    vscode.commands.registerCommand('hdlm.thinkThenAnswer', (text?: unknown) => thinkCommand(server, output, typeof text === 'string' ? text : undefined)),
    vscode.commands.registerCommand('hdlm.copyClassification', (result: proto.ClassifyResult) => copyClassification(result)),
    vscode.commands.registerCommand('hdlm.insertClassificationComment', (result: proto.ClassifyResult, target: { uri: string; line: number }) => insertClassificationComment(result, target)),
    vscode.commands.registerCommand('hdlm.showLog', () => output.show(true)),
    vscode.commands.registerCommand('hdlm.selectModel', (arg?: unknown) => selectModel(arg)),
    vscode.commands.registerCommand('hdlm.selectDevice', (arg?: unknown) => selectDevice(arg)),
    vscode.commands.registerCommand('hdlm.selectTask', (arg?: unknown) => selectTask(extensionPath, arg)),
    vscode.commands.registerCommand('hdlm.restartServer', () => server.restart()),
  ];
}

/** The loaded model in a line: which, for which task, where it can stop, how long it took to open. */
function modelLine(model: proto.LoadedModelInfo | undefined): string {
  if (!model) return 'No model loaded yet (the first request that needs one loads it)';
  const task = model.unfit ? `serving without task ${model.task}` : `task ${model.task}`;
  return `Model ${model.dir} (${task}; stops at layers ${model.exitLayers.join(', ')}; on ${model.device}; opened in ${model.openedInSeconds.toFixed(1)} s)`;
}

/** Round-trips `hdlm/engineInfo` and shows the answer; returns it so scripts can use it too. */
async function showEngineInfo(server: ServerConnection, output: TeeOutputChannel): Promise<proto.EngineInfoResult | undefined> {
  try {
    const info = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: 'HdLM: asking the engine…', cancellable: true },
      (_progress, token) => server.request(proto.engineInfo, {}, token),
    );
    const fallbacks = info.fallbacks.map((f) => `${f.provider} (${f.reason})`).join('; ');
    const summary =
      `HdLM engine: onnxruntime-node ${info.runtimeVersion} on ${info.device}, probe ${info.probeMs.toFixed(2)} ms, ` +
      `backends ${info.backends.map((b) => b.name).join('/')}` +
      (fallbacks ? `; skipped ${fallbacks}` : '') +
      `. ${modelLine(info.model)}; server ${info.rssMiB} MiB; cache ${info.cache.dir} (${formatBytes(info.cache.bytes)})`;
    output.info(summary);
    void vscode.window.showInformationMessage(summary);
    return info;
  } catch (err) {
    return showFailure(output, 'could not get engine info', err);
  }
}

/**
 * Clears the engine's cache once the user agrees, shown its size and folder; `confirmed` skips the
 * question (scripts, tests). Returns the server's answer; undefined when declined or refused.
 */
async function clearCacheCommand(server: ServerConnection, output: TeeOutputChannel, options?: { confirmed?: boolean }): Promise<proto.ClearCacheResult | undefined> {
  try {
    if (options?.confirmed !== true) {
      const { cache } = await server.request(proto.engineInfo, {});
      const choice = await vscode.window.showWarningMessage(
        `HdLM: clear the engine's cache (${formatBytes(cache.bytes)} in ${cache.dir})?`,
        { modal: true, detail: "Converted graphs and cached hidden states are removed and rebuilt when next needed: a large model's next load and a task's next fine-tuning take longer. The loaded model keeps its graphs; the job history stays." },
        'Clear Cache',
      );
      if (choice !== 'Clear Cache') return undefined;
    }
    const result = await server.request(proto.clearCache, {});
    const kept = result.keptModel ? ` (the graphs of ${result.keptModel}, which is loaded, stay)` : '';
    const message = `HdLM: removed ${formatBytes(result.removedBytes)} from the engine's cache; ${formatBytes(result.bytesLeft)} left in ${result.dir}${kept}.`;
    output.info(message);
    void vscode.window.showInformationMessage(message);
    return result;
  } catch (err) {
    return showFailure(output, 'could not clear the cache', err);
  }
}

/** Logs a command's failure and shows it, with a way to the log; the command's result is then undefined. */
function showFailure(output: TeeOutputChannel, what: string, err: unknown): undefined {
  const message = `HdLM: ${what}: ${errorMessage(err)}`;
  output.error(message);
  void vscode.window.showErrorMessage(message, 'Show Log').then((choice) => {
    if (choice) output.show(true);
  });
  return undefined;
}
