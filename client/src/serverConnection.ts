// Starts the language server over IPC and keeps it alive a bounded number of times. Knows
// nothing about individual commands: they go through `request`, which waits for the server to
// be ready and fails with a clear message when it is not running.
import * as vscode from 'vscode';
import {
  CancellationToken,
  CloseAction,
  CloseHandlerResult,
  DidChangeConfigurationNotification,
  ErrorAction,
  ErrorHandler,
  ErrorHandlerResult,
  LanguageClient,
  LanguageClientOptions,
  Message,
  RequestParam,
  RequestType,
  ServerOptions,
  State,
  TransportKind,
} from 'vscode-languageclient/node';
import { withHugePageMalloc } from '../../engine/src/runtime/hugePages';
import * as proto from '../../server/src/protocol';
import { restartDecision } from './restartBudget';
import { clientSettings } from './settings';
import { StatusBar } from './statusBar';
import { TeeOutputChannel } from './teeOutputChannel';
import type { ThoughtDecorations } from './thoughtDecorations';
import { errorMessage } from '../../engine/src/errorMessage';

/** Whether two lists of languages differ as sets. */
function languagesChanged(a: readonly string[], b: readonly string[]): boolean {
  return [...new Set(a)].sort().join('\n') !== [...new Set(b)].sort().join('\n');
}

export class ServerConnection implements vscode.Disposable {
  private client: LanguageClient;
  /** The inline languages `client`'s document selector was built with. */
  private clientLanguages: readonly string[] = [];
  private readonly serverOptions: ServerOptions;
  /** When the server died within the restart window (restartBudget.ts), oldest first. */
  private restarts: number[] = [];
  private starting: Promise<void> | undefined;
  private readonly jobProgressEmitter = new vscode.EventEmitter<proto.JobProgressParams>();
  /** Progress of fine-tuning and evaluation jobs (hdlm/jobProgress). */
  readonly onJobProgress = this.jobProgressEmitter.event;
  private readonly generationEmitter = new vscode.EventEmitter<proto.GenerationStepParams>();
  /** Tokens of thought-then-answer generations as they are decoded (hdlm/generationStep). */
  readonly onGenerationStep = this.generationEmitter.event;
  private readonly stopEmitter = new vscode.EventEmitter<void>();
  /** The server process stopped (it may be restarted): requests and jobs in flight are lost. */
  readonly onDidStop = this.stopEmitter.event;
  /** Set when the server died too often and was not restarted; cleared by `restart`. */
  private gaveUp = false;
  /** A restart is under way (after a crash, or asked for): the Stopped state on the way is not an end. */
  private restarting = false;

  constructor(
    serverModule: string,
    private readonly output: TeeOutputChannel,
    private readonly statusBar: StatusBar,
    private readonly thoughts: ThoughtDecorations,
  ) {
    // Started with huge-page malloc where glibc has it (engine/src/runtime/hugePages.ts): loads and steps are faster.
    const env = withHugePageMalloc(process.env);
    this.serverOptions = {
      run: { module: serverModule, transport: TransportKind.ipc, options: { env } },
      debug: { module: serverModule, transport: TransportKind.ipc, options: { env, execArgv: ['--nolazy', '--inspect=6019'] } },
    };
    this.client = this.createClient();
  }

  /**
   * A LanguageClient for the current settings, with this connection's notifications and state
   * handler wired to it. The library fixes its document selector when the client is built (a
   * restart reuses it), so a change of the inline languages needs a new client (`restart`).
   */
  private createClient(): LanguageClient {
    this.clientLanguages = clientSettings().inlineLanguages;
    const clientOptions: LanguageClientOptions = {
      // Task files and datasets for their language features, and the languages inline completions are offered in.
      documentSelector: [{ language: 'hdlm-task' }, { language: 'jsonl' }, ...this.clientLanguages.map((language) => ({ language }))],
      outputChannel: this.output,
      synchronize: { configurationSection: 'hdlm' },
      errorHandler: this.errorHandler(),
    };
    const client = new LanguageClient('hdlm', 'HdLM Language Server', this.serverOptions, clientOptions);
    client.onNotification(proto.status, (params) => this.statusBar.update(params));
    client.onNotification(proto.thought, (params) => this.thoughts.show(params));
    client.onNotification(proto.jobProgress, (params) => this.jobProgressEmitter.fire(params));
    client.onNotification(proto.generationStep, (params) => this.generationEmitter.fire(params));
    client.onDidChangeState((e) => {
      if (e.newState === State.Running) this.restarting = false;
      if (e.newState !== State.Stopped) return;
      this.output.warn('the HdLM server stopped');
      this.stopEmitter.fire();
      // Stopped for good (not on the way to a restart, not given up, which says so itself): the
      // status bar must not keep showing what the dead server last said.
      if (!this.restarting && !this.gaveUp) this.statusBar.update({ health: 'error', busy: false, message: 'the HdLM server stopped; run "HdLM: Restart Server"', device: '' });
    });
    return client;
  }

  /** Starts the server once; later calls return the same promise. */
  start(): Promise<void> {
    this.starting ??= this.client.start().catch((err: unknown) => {
      this.starting = undefined;
      const message = `the HdLM server failed to start: ${errorMessage(err)}`;
      this.output.error(message);
      this.statusBar.update({ health: 'error', busy: false, message, device: '' });
      throw err;
    });
    return this.starting;
  }

  async restart(): Promise<void> {
    this.restarts = [];
    this.gaveUp = false;
    this.restarting = true;
    this.statusBar.update({ health: 'ok', busy: true, message: 'restarting the HdLM server', device: '' });
    if (languagesChanged(this.clientLanguages, clientSettings().inlineLanguages)) {
      // hdlm.inline.languages changed since the client was built: a new client with a new
      // document selector (the old one's notification handlers go with it).
      this.output.info(`inline languages now ${clientSettings().inlineLanguages.join(', ') || 'none'}: starting a new client`);
      const old = this.client;
      this.client = this.createClient();
      this.starting = undefined;
      await old.dispose().catch(() => undefined);
      await this.start();
    } else if (this.client.state === State.Stopped) {
      this.starting = undefined;
      await this.start();
    } else {
      await this.client.restart();
    }
  }

  /**
   * Makes the server read its settings again (workspace/didChangeConfiguration with no values):
   * after Restricted Mode ends, the workspace's model and task settings apply from then on.
   */
  settingsChanged(): void {
    if (this.client.state === State.Running) void this.client.sendNotification(DidChangeConfigurationNotification.type, { settings: null }).catch(() => undefined);
  }

  /** Sends a request once the server runs; fails clearly when it cannot. */
  async request<P, R>(type: RequestType<P, R, void>, params: RequestParam<P>, token?: CancellationToken): Promise<R> {
    if (this.gaveUp) {
      throw new Error('the HdLM server is not running (it stopped too often); run "HdLM: Restart Server" after checking its log');
    }
    await this.start();
    return this.client.sendRequest(type, params, token);
  }

  dispose(): void {
    this.jobProgressEmitter.dispose();
    this.generationEmitter.dispose();
    this.stopEmitter.dispose();
    void this.client.dispose().catch(() => undefined);
  }

  private errorHandler(): ErrorHandler {
    return {
      error: (error: Error, _message: Message | undefined, count: number | undefined): ErrorHandlerResult => {
        this.output.error(`connection error ${count ?? 0}: ${error.message}`);
        // A server that dies with messages in flight gives a burst of write errors. Shutting the
        // client down on them (the library's default after three) would stop it for good, without
        // the restart the close handler grants and with the dead server's last status still
        // shown; the close handler alone decides, with its own budget.
        return { action: ErrorAction.Continue, handled: true };
      },
      closed: (): CloseHandlerResult => this.onClosed(),
    };
  }

  /** The server process ended: restart it unless it has died too often recently. */
  private onClosed(): CloseHandlerResult {
    const max = clientSettings().maxRestarts;
    const { deaths, restart } = restartDecision(this.restarts, Date.now(), max);
    this.restarts = deaths;
    if (restart) {
      this.restarting = true;
      const message = `the HdLM server stopped; restarting it (${this.restarts.length} of ${max})`;
      this.statusBar.update({ health: 'warning', busy: true, message, device: '' });
      return { action: CloseAction.Restart, message, handled: true };
    }
    this.gaveUp = true;
    const message = `the HdLM server stopped ${this.restarts.length} times in 3 minutes and will not be restarted; see the "HdLM" output`;
    this.statusBar.update({ health: 'error', busy: false, message, device: '' });
    return { action: CloseAction.DoNotRestart, message, handled: false };
  }
}
