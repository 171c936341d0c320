// Entry point of the language server. Only wiring: it binds LSP messages to HdlmServer. The
// transport (IPC from VS Code, --stdio from other editors) is picked by vscode-languageserver
// from the command line.
import { createConnection, ProposedFeatures, TextDocuments } from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { DocumentValidator } from './documentValidator';
import { taskFileHover } from './hover';
import { defaultModelDir, defaultTaskFile } from '../../engine/src/defaults';
import { Engine } from '../../engine/src/index';
import { HdlmServer, OutboundClient } from './hdlmServer';
import { TrainingJobs } from './trainingJobs';
import * as proto from './protocol';

const connection = createConnection(ProposedFeatures.all);
let supportsConfiguration = false;
let initializationOptions: unknown;

const outbound: OutboundClient = {
  sendStatus: (params) => void connection.sendNotification(proto.status, params).catch(logFailure),
  sendThought: (params) => void connection.sendNotification(proto.thought, params).catch(logFailure),
  sendTrainProgress: (params) => void connection.sendNotification(proto.trainProgress, params).catch(logFailure),
  log: (message) => connection.console.log(message),
  fetchSettings: async () => (supportsConfiguration ? connection.workspace.getConfiguration('hdlm') : undefined),
};

const server = new HdlmServer(outbound, (options) => Engine.create(options), { modelDir: defaultModelDir(), taskFile: defaultTaskFile(), cli: TrainingJobs.defaultCli() });

function logFailure(err: unknown): void {
  connection.console.error(`HdLM server: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
}

connection.onInitialize((params) => {
  supportsConfiguration = params.capabilities.workspace?.configuration === true;
  initializationOptions = params.initializationOptions;
  return server.initialize(params);
});
connection.onInitialized(() => void server.start(initializationOptions).catch(logFailure));
connection.onDidChangeConfiguration((params) => {
  const settings = (params.settings as { hdlm?: unknown } | null | undefined)?.hdlm;
  void server.reconfigure(settings).catch(logFailure);
});
connection.onRequest(proto.engineInfo, () => server.engineInfo());
connection.onRequest(proto.classify, (params, token) => server.classify(params, token));
connection.onRequest(proto.layers, (params, token) => server.layers(params, token));
connection.onRequest(proto.train, (params) => server.train(params));
connection.onRequest(proto.cancelJob, (params) => server.cancelJob(params.jobId));
connection.onShutdown(() => server.dispose());

// Task files and datasets are validated as they change; see diagnostics.ts.
const documents = new TextDocuments(TextDocument);
const validator = new DocumentValidator((uri, diagnostics) => void connection.sendDiagnostics({ uri, diagnostics }).catch(logFailure), logFailure);
documents.onDidChangeContent((e) => validator.schedule(e.document));
documents.onDidClose((e) => validator.clear(e.document.uri));
documents.listen(connection);
connection.onHover((params) => {
  const doc = documents.get(params.textDocument.uri);
  return doc?.languageId === 'hdlm-task' ? taskFileHover(doc, params.position.line, params.position.character) : null;
});
connection.languages.inlineCompletion.on((params, token) => {
  const doc = documents.get(params.textDocument.uri);
  if (!doc) return [];
  const prefix = doc.getText({ start: { line: Math.max(0, params.position.line - 3), character: 0 }, end: params.position });
  return server.inlineCompletion(params.textDocument.uri, prefix, params.position, token);
});

process.on('unhandledRejection', logFailure);
process.on('uncaughtException', logFailure);

connection.listen();
