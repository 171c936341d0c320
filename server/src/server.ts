// Entry point of the language server, and its wiring: it binds the HdLM requests, the lifecycle
// and the settings to HdlmServer (models, jobs, status), and routes the editor's language
// features on task files and datasets (diagnostics, hover, completion, code lenses, quick fixes,
// links, outline, formatting, references, rename) itself, to their modules, over the open
// documents it keeps; HdlmServer only admits them (refused after shutdown). The transport (IPC
// from VS Code, --stdio from other editors) is picked by vscode-languageserver from the command line.
import { createConnection, ProposedFeatures, TextDocuments, type CancellationToken, type HandlerResult, type RequestType, type WorkDoneProgressReporter } from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { DocumentValidator } from './documentValidator';
import { tooDeepAt } from '../../engine/src/jsonFile';
import { taskFileHover } from './hover';
import { completions } from './completion';
import { codeLenses } from './codeLens';
import { datasetHover } from './datasetHover';
import { codeActions } from './codeActions';
import { labelReferences, prepareLabelRename, renameLabel, type ReadIndex } from './labelEdits';
import { documentIndex, fileIndex, forgetDocumentIndex, onFileIndexed } from './labelUses';
import { taskFileLinks } from './taskLinks';
import { taskFileSymbols } from './taskOutline';
import { formatTaskFile } from './taskFormat';
import { fileURLToPath } from 'node:url';
import { ResponseError } from 'vscode-languageserver/node';
import { forgetDataset } from './datasetIndex';
import { onTokenizerRead, type FeatureContext } from './taskFacts';
import { defaultModelDir, defaultTaskFile } from '../../engine/src/defaults';
import { Engine } from '../../engine/src/index';
import { HdlmServer } from './hdlmServer';
import type { OutboundClient, ProgressHandle } from './outboundClient';
import { Jobs } from './jobs';
import { defaultCacheDir } from '../../engine/src/cacheDir';
import * as proto from './protocol';

const connection = createConnection(ProposedFeatures.all);
let supportsConfiguration = false;
let initializationOptions: unknown;

/**
 * Work-done progress created on the client; reports made before the client has answered the
 * create request are kept and the last one is sent once it has.
 */
function startProgress(title: string, onCancel: () => void): ProgressHandle {
  let latest: { message: string; percentage: number } | undefined;
  let ended = false;
  let reporter: WorkDoneProgressReporter | undefined;
  connection.window.createWorkDoneProgress().then(
    (created) => {
      if (ended) return;
      reporter = created;
      created.token.onCancellationRequested(onCancel);
      created.begin(title, latest?.percentage ?? 0, latest?.message, true);
    },
    logFailure,
  );
  return {
    report(message, percentage) {
      latest = { message, percentage };
      reporter?.report(percentage, message);
    },
    done() {
      ended = true;
      reporter?.done();
    },
  };
}

const outbound: OutboundClient = {
  startProgress,
  sendStatus: (params) => void connection.sendNotification(proto.status, params).catch(logFailure),
  sendThought: (params) => void connection.sendNotification(proto.thought, params).catch(logFailure),
  sendJobProgress: (params) => void connection.sendNotification(proto.jobProgress, params).catch(logFailure),
  sendGenerationStep: (params) => void connection.sendNotification(proto.generationStep, params).catch(logFailure),
  log: (message) => connection.console.log(message),
  fetchSettings: async () => (supportsConfiguration ? connection.workspace.getConfiguration('hdlm') : undefined),
};

const server = new HdlmServer(outbound, (options) => Engine.create(options), { modelDir: defaultModelDir(), taskFile: defaultTaskFile(), cli: Jobs.defaultCli(), stateDir: defaultCacheDir() });

function logFailure(err: unknown): void {
  connection.console.error(`HdLM server: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
}

connection.onInitialize((params) => {
  // First, so that a second initialize, refused, changes nothing.
  const result = server.initialize(params);
  supportsConfiguration = params.capabilities.workspace?.configuration === true;
  initializationOptions = params.initializationOptions;
  return result;
});
connection.onInitialized(() => void server.start(initializationOptions).catch(logFailure));
connection.onDidChangeConfiguration((params) => {
  const settings = (params.settings as { hdlm?: unknown } | null | undefined)?.hdlm;
  void server.reconfigure(settings).catch(logFailure);
});

/**
 * Binds a custom request through HdlmServer.admit: refused after shutdown, and its parameters
 * (when it takes some) checked to be an object before the handler reads a field of them.
 */
function onHdlmRequest<P, R>(type: RequestType<P, R, void>, takesParams: boolean, handler: (params: P, token: CancellationToken) => HandlerResult<R, void>): void {
  connection.onRequest(type, (params, token) => handler(server.admit(type.method, params, takesParams), token));
}

onHdlmRequest(proto.engineInfo, false, () => server.engineInfo());
onHdlmRequest(proto.clearCache, false, () => server.clearCache());
onHdlmRequest(proto.classify, true, (params, token) => server.classify(params, token));
onHdlmRequest(proto.classifyMany, true, (params, token) => server.classifyMany(params, token));
onHdlmRequest(proto.layers, true, (params, token) => server.layers(params, token));
onHdlmRequest(proto.thinkThenAnswer, true, (params, token) => server.thinkThenAnswer(params, token));
onHdlmRequest(proto.train, true, (params) => server.train(params));
onHdlmRequest(proto.evaluate, true, (params) => server.evaluate(params));
onHdlmRequest(proto.scanLayers, true, (params) => server.scanLayers(params));
onHdlmRequest(proto.jobs, false, () => server.listJobs());
onHdlmRequest(proto.taskSummary, true, (params) => server.taskSummary(params));
onHdlmRequest(proto.createTask, true, (params) => server.createTask(params));
onHdlmRequest(proto.mistakes, true, (params) => server.mistakes(params));
onHdlmRequest(proto.labelReport, true, (params) => server.labelReport(params));
onHdlmRequest(proto.cancelJob, true, (params) => server.cancelJob(params.jobId));
connection.onShutdown(() => server.shutdown());

// Task files and datasets get diagnostics as they change (see diagnostics.ts), completion, code
// lenses, hover and quick fixes (completion.ts, codeLens.ts, hover.ts, datasetHover.ts,
// codeActions.ts); task files links, an outline and formatting (taskLinks.ts, taskOutline.ts,
// taskFormat.ts); dataset labels references and rename (labelEdits.ts).
const features: FeatureContext = { defaultModelDir: defaultModelDir() };
const documents = new TextDocuments(TextDocument);
const validator = new DocumentValidator((uri, diagnostics) => void connection.sendDiagnostics({ uri, diagnostics }).catch(logFailure), logFailure, features);
documents.onDidChangeContent((e) => validator.schedule(e.document));
documents.onDidSave((e) => {
  if (e.document.languageId === 'hdlm-task' && e.document.uri.startsWith('file:')) void server.taskFileSaved(fileURLToPath(e.document.uri)).catch(logFailure);
});
documents.onDidClose((e) => {
  validator.clear(e.document.uri);
  forgetDataset(e.document.uri);
  forgetDocumentIndex(e.document.uri);
});
// A large dataset file is indexed in the background; its open splits, and the task files naming
// it, are checked against it once it is. A model's tokenizer is read in the background too; the
// task files are checked against it (their fixed prompt's length) once it is.
const revalidate = (): void => documents.all().forEach((doc) => (doc.languageId === 'jsonl' || doc.languageId === 'hdlm-task') && validator.schedule(doc));
onFileIndexed(revalidate);
onTokenizerRead(revalidate);
documents.listen(connection);

/** The open task file or dataset a request is about; other documents get no language features. */
function projectDocument(uri: string): TextDocument | undefined {
  const doc = documents.get(uri);
  // A task file nested too deep to parse gets none either: its one diagnostic says why (tooDeepAt).
  if (doc?.languageId === 'hdlm-task') return tooDeepAt(doc.getText()) === undefined ? doc : undefined;
  return doc?.languageId === 'jsonl' ? doc : undefined;
}

/**
 * Runs a language feature; a failure is logged and answered with `fallback`, never thrown into
 * the connection. A ResponseError is an answer, not a failure (a rename refused, with its
 * reason), and goes back to the editor.
 */
function guarded<T>(feature: string, fallback: T, run: () => T): T {
  try {
    server.admit(feature, undefined, false);
    return run();
  } catch (err) {
    return failed(feature, fallback, err);
  }
}

/** `guarded` for a feature that answers later (one that reads files in the background). */
async function guardedAsync<T>(feature: string, fallback: T, run: () => Promise<T>): Promise<T> {
  try {
    server.admit(feature, undefined, false);
    return await run();
  } catch (err) {
    return failed(feature, fallback, err);
  }
}

function failed<T>(feature: string, fallback: T, err: unknown): T {
  if (err instanceof ResponseError) throw err;
  connection.console.error(`HdLM ${feature}: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
  return fallback;
}

connection.onHover((params) =>
  guarded('hover', null, () => {
    const doc = projectDocument(params.textDocument.uri);
    if (!doc) return null;
    return doc.languageId === 'hdlm-task' ? taskFileHover(doc, params.position.line, params.position.character, features) : datasetHover(doc, params.position);
  }),
);
connection.onCompletion((params) =>
  guarded('completion', [], () => {
    const doc = projectDocument(params.textDocument.uri);
    return doc ? completions(doc, params.position, features) : [];
  }),
);
connection.onCodeLens((params) =>
  guarded('code lenses', [], () => {
    const doc = projectDocument(params.textDocument.uri);
    return doc ? codeLenses(doc) : [];
  }),
);
connection.onCodeAction((params) =>
  guarded('code actions', [], () => {
    const doc = projectDocument(params.textDocument.uri);
    return doc ? codeActions(doc, params) : [];
  }),
);
connection.onDocumentLinks((params) =>
  guarded('document links', [], () => {
    const doc = projectDocument(params.textDocument.uri);
    return doc?.languageId === 'hdlm-task' ? taskFileLinks(doc, features) : [];
  }),
);
connection.onDocumentSymbol((params) =>
  guarded('outline', [], () => {
    const doc = projectDocument(params.textDocument.uri);
    return doc?.languageId === 'hdlm-task' ? taskFileSymbols(doc, features) : [];
  }),
);
connection.onDocumentFormatting((params) =>
  guarded('formatting', [], () => {
    const doc = projectDocument(params.textDocument.uri);
    return doc?.languageId === 'hdlm-task' ? formatTaskFile(doc, params.options) : [];
  }),
);
connection.onDocumentRangeFormatting((params) =>
  guarded('formatting', [], () => {
    const doc = projectDocument(params.textDocument.uri);
    return doc?.languageId === 'hdlm-task' ? formatTaskFile(doc, params.options, params.range) : [];
  }),
);

/** A dataset's label index from the editor's text when open (unsaved edits included), else from disk. */
const readIndex: ReadIndex = (uri) => {
  const doc = documents.get(uri);
  return doc ? documentIndex(doc) : fileIndex(fileURLToPath(uri));
};

connection.onReferences((params) =>
  guardedAsync('references', [], async () => {
    const doc = projectDocument(params.textDocument.uri);
    return doc?.languageId === 'jsonl' ? labelReferences(doc, params.position, readIndex) : [];
  }),
);
connection.onPrepareRename((params) =>
  guarded('rename', null, () => {
    const doc = projectDocument(params.textDocument.uri);
    return doc?.languageId === 'jsonl' ? prepareLabelRename(doc, params.position) : null;
  }),
);
connection.onRenameRequest((params) =>
  guardedAsync('rename', null, async () => {
    const doc = projectDocument(params.textDocument.uri);
    return doc?.languageId === 'jsonl' ? renameLabel(doc, params.position, params.newName, readIndex) : null;
  }),
);
// Guarded as every editor feature is: malformed parameters (no position) are logged and answered
// with no completions, not with an internal error carrying a stack trace.
connection.languages.inlineCompletion.on((params, token) =>
  guardedAsync('inline completion', [], async () => {
    const doc = documents.get(params.textDocument.uri);
    if (!doc) return [];
    const prefix = doc.getText({ start: { line: Math.max(0, params.position.line - 3), character: 0 }, end: params.position });
    return server.inlineCompletion({ uri: params.textDocument.uri, languageId: doc.languageId, prefix, position: params.position }, token);
  }),
);

process.on('unhandledRejection', logFailure);
process.on('uncaughtException', logFailure);

connection.listen();
