// The language server's behaviour, free of any connection: server.ts binds these handlers to a
// real LSP connection, and the unit tests drive them with a fake client.
import { CancellationToken, CodeActionKind, ErrorCodes as RpcErrorCodes, InitializeParams, InitializeResult, InlineCompletionItem, LSPErrorCodes, Position, ResponseError, TextDocumentSyncKind } from 'vscode-languageserver';
import type { ThoughtThenAnswer } from '../../engine/src/hdlm/thoughtThenAnswer';
import { existsSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { thinkOn, type TaskSession } from '../../engine/src/hdlm/taskSession';
import { inputText } from '../../engine/src/hdlm/sequenceFormat';
import { CancelledError, ContextOverflowError, readoutAllLayers, type Engine, type EngineOptions } from '../../engine/src/index';
import { JOB_VERBS, type CancelJobResult, type ClearCacheResult, ScanLayersParams, ClassifyManyParams, ClassifyManyResult, ClassifyParams, ClassifyResult, CreateTaskParams, CreateTaskResult, EngineInfoResult, ErrorCodes, type LoadedModelInfo, EvaluateParams, JobKind, type JobPlan, type JobView, JobsResult, JobStarted, LayersParams, LayersResult, LabelReportParams, LabelReportResult, MistakesParams, MistakesResult, StatusParams, TaskSummaryParams, TaskSummaryResult, ThinkThenAnswerParams, ThinkThenAnswerResult, TrainParams } from './protocol';
import { JobJournal, journalFile } from './jobJournal';
import { cancelledDuring, classifierOf, farTooLong, localPath, MAX_BATCH, MAX_TOP_K, refuseFarTooLong, sessionFacts, trainedHeads, unfitMessage, unfitData, validBeam, wireDecisions } from './requestChecks';
import { summarizeTask } from './taskSummary';
import { defaultCacheDir } from '../../engine/src/cacheDir';
import { clearEngineCache } from '../../engine/src/cacheClear';
import { hugePageMalloc } from '../../engine/src/runtime/hugePages';
import { cacheBytes, formatBytes } from '../../engine/src/diskBudget';
import { createTaskFile } from '../../engine/src/hdlm/taskCreation';
import { readMistakes } from '../../engine/src/hdlm/evaluationMistakes';
import { readLabelReport } from '../../engine/src/hdlm/labelReport';
import { JobHost } from './jobHost';
import type { OutboundClient } from './outboundClient';
import { errorMessage } from '../../engine/src/errorMessage';
import { elsewhereSummary, jobPlan } from './jobView';
import { readTaskFile, type TaskDefinition } from '../../engine/src/hdlm/taskFile';
import { engineSettings, HdlmSettings, parseSettings, sessionSettings } from './settings';
import { Defaults, TaskHost } from './taskHost';
import { ServerStatus } from './serverStatus';

export const SERVER_VERSION = '0.1.0';

/**
 * Inline completions wait this long for more typing before they start generating: long enough
 * that typing cancels them cheaply, short enough (with a short thought) that the first
 * suggestion comes within the 300 ms an inline suggestion may take.
 */
export const INLINE_DELAY_MS = 150;
/** Most tokens of an inline completion's thought (the command's thought may take 16). */
const INLINE_THOUGHT_TOKENS = 8;
/** Most tokens of a Think Then Answer thought. */
const THOUGHT_TOKENS = 16;
/** Characters before the cursor that a completion sees. */
const INLINE_CONTEXT_CHARS = 400;

/** How long the status stays busy after a batch whose run has more (the client sends the next at once). */
const BATCH_GAP_MS = 2000;

/** Where an inline completion is asked for, and the text before the cursor. */
export interface InlineRequest {
  uri: string;
  languageId: string;
  prefix: string;
  position: Position;
}

export type EngineFactory = (options: EngineOptions) => Promise<Engine>;

export class HdlmServer {
  private engine: Promise<Engine> | undefined;
  /** The settings the current engine was started with. */
  private settings: Promise<HdlmSettings | undefined> = Promise.resolve(undefined);
  private initializationOptions: unknown;
  /** The `hdlm` section of the last workspace/didChangeConfiguration, for clients that push settings. */
  private pushedSettings: unknown;
  private workspaceRoot: string | undefined;
  private readonly tasks: TaskHost;
  /** Fine-tuning, evaluation and layer-scan jobs, with the heads folder and the editor's progress of each. */
  private readonly jobs: JobHost;
  /** hdlm/status: what the server is busy with, and its health. */
  private readonly serverStatus: ServerStatus;
  /** Where the connection is: a second `initialize`, and any request after `shutdown`, are refused (LSP 3.17). */
  private lifecycle: 'new' | 'initialized' | 'shutDown' = 'new';

  constructor(
    private readonly client: OutboundClient,
    private readonly createEngine: EngineFactory,
    private readonly defaults: Defaults,
  ) {
    this.serverStatus = new ServerStatus(
      (params) => client.sendStatus(params),
      () => this.jobs.runningMessage(),
    );
    this.tasks = new TaskHost(
      defaults,
      (m) => client.log(m),
      (headsDir) => this.jobs.busyOn(headsDir) !== undefined,
      (what) => this.serverStatus.loading(what),
    );
    this.jobs = new JobHost(defaults.cli, client, (jobId) => this.jobExited(jobId));
  }

  /**
   * A job's process has exited. When it wrote the heads the open session runs (a fine-tuning of
   * the task in use), the session opens again now, with the new heads, as after a save of its
   * task file (taskFileSaved): the status's health then says what they change (heads for another
   * model replaced by ones that fit, or the reverse) instead of what the old heads said until the
   * next request. Otherwise the status is the idle one again (or the next job's).
   */
  private jobExited(jobId: string): void {
    // After the reopen too: one that failed before its own busy period (no engine) publishes nothing.
    if (this.tasks.headsOutdated) void this.reopen(`${jobId} wrote new heads`).finally(() => this.serverStatus.settle());
    else this.serverStatus.settle();
  }

  initialize(params: InitializeParams): InitializeResult {
    this.refuseAfterShutdown('initialize');
    // A second one would swap the workspace under the running jobs and open sessions.
    if (this.lifecycle === 'initialized') throw new ResponseError(RpcErrorCodes.InvalidRequest, 'the server is already initialized: initialize is sent once per connection');
    this.lifecycle = 'initialized';
    this.client.log(`HdLM server ${SERVER_VERSION} (pid ${process.pid}) initializing for ${params.clientInfo?.name ?? 'an unnamed client'}`);
    const folder = params.workspaceFolders?.[0]?.uri ?? params.rootUri ?? undefined;
    this.workspaceRoot = folder === undefined ? undefined : localPath(folder);
    if (folder !== undefined && this.workspaceRoot === undefined) this.client.log(`workspace ${folder} is not a folder on this machine: relative paths resolve against the server's folder`);
    if (this.defaults.stateDir) this.jobs.useJournal(new JobJournal(journalFile(this.defaults.stateDir, this.workspaceRoot), (m) => this.client.log(m)));
    return {
      capabilities: {
        // Saves too: a saved task file that the open session runs opens it again (taskFileSaved).
        textDocumentSync: { openClose: true, change: TextDocumentSyncKind.Incremental, save: { includeText: false } },
        inlineCompletionProvider: true,
        hoverProvider: true,
        completionProvider: { triggerCharacters: ['"', ':', '[', ','] },
        codeLensProvider: {},
        codeActionProvider: { codeActionKinds: [CodeActionKind.QuickFix] },
        documentLinkProvider: {},
        documentSymbolProvider: true,
        documentFormattingProvider: true,
        documentRangeFormattingProvider: true,
        referencesProvider: true,
        renameProvider: { prepareProvider: true },
      },
      serverInfo: { name: 'hdlm', version: SERVER_VERSION },
    };
  }

  /** Called on `initialized`: follows other windows' jobs, reads the settings and starts the engine. */
  async start(initializationOptions?: unknown): Promise<void> {
    this.initializationOptions = initializationOptions;
    // Not in initialize: nothing is sent to the client before it has the initialize result.
    this.jobs.followOthers((running) => this.othersChanged(running));
    await this.launch(this.readSettings());
  }

  /**
   * Called on `workspace/didChangeConfiguration`: restarts the engine only when a setting it
   * uses changed. (VS Code sends one such notification right after start-up, too.)
   */
  async reconfigure(pushed?: unknown): Promise<void> {
    // Clients without workspace/configuration (Neovim 0.7) push their settings here instead.
    if (pushed !== undefined && pushed !== null) this.pushedSettings = pushed;
    const [previous, next] = await Promise.all([this.settings, this.readSettings()]);
    // The next request may open another session: what the status said about this one is outdated.
    if (JSON.stringify(previous) !== JSON.stringify(next)) this.serverStatus.sessionOutdated();
    // A session that failed to open is tried again too: the status tells whether the change fixed it.
    const inUse = this.tasks.inUse || this.serverStatus.sessionBroken;
    const same = <T>(pick: (s: HdlmSettings) => T): boolean => previous !== undefined && JSON.stringify(pick(previous)) === JSON.stringify(pick(next));
    if (same(engineSettings)) {
      // Model and task settings are read at each request; only the engine needs a restart.
      this.settings = Promise.resolve(next);
    } else {
      this.client.log('settings changed: restarting the engine');
      // New requests wait for the new engine at once; the old session goes when its requests end.
      await Promise.all([this.tasks.release(), this.launch(Promise.resolve(next))]);
    }
    // Another session (or the same on a new engine): open it now, as a save of the task file does.
    if (inUse && !(same(engineSettings) && same(sessionSettings))) await this.reopen('settings changed');
  }

  /**
   * A task file was saved. When the open session runs it and the save changed it, the session
   * opens again now instead of at the next request: the status and the task panel tell at once
   * what the edit did (a task that fits again, or no longer does), and a model that a moved
   * level makes load again loads while the user is still reading the file.
   */
  async taskFileSaved(path: string): Promise<void> {
    if (this.tasks.outdatedOn(path)) await this.reopen(`${basename(path)} saved`);
  }

  /**
   * Opens the session for the settings now, as a request would, with the status busy meanwhile
   * and current after. Only for a session that was in use: nothing loads a model that no
   * request has asked for. A failure is the log's; the next request meets it too and says so.
   */
  private async reopen(why: string): Promise<void> {
    this.client.log(`${why}: opening the task again`);
    try {
      const engine = await this.requireEngine();
      const settings = await this.readSettings();
      await this.job(`opening the task (${why})`, undefined, () => this.withSession(engine, settings, () => Promise.resolve()));
    } catch (err) {
      this.client.log(`${why}: the task could not be opened again: ${errorMessage(err)}`);
    }
  }

  /**
   * `hdlm/classify`: the configured task on the configured model, cancellable. Requests read
   * the settings afresh (one workspace/configuration round trip), so a setting changed just
   * before a request is always the one used.
   */
  async classify(params: ClassifyParams, token?: CancellationToken): Promise<ClassifyResult> {
    const text = typeof params.text === 'string' ? inputText(params.text) : '';
    if (!text) throw new ResponseError(ErrorCodes.badRequest, 'nothing to classify: select some text (or put the cursor on a non-empty line)');
    const { beam, margin } = validBeam(params);
    const engine = await this.requireEngine();
    const settings = await this.readSettings();
    return this.job('classifying', token, (signal) =>
      this.withSession(engine, settings, async (session) => {
        const started = performance.now();
        const classifier = classifierOf(session);
        refuseFarTooLong(session, text);
        const result = await classifier.classify(text, { beam, margin, signal });
        return {
          task: session.task.name,
          ...sessionFacts(session),
          path: wireDecisions(result.path),
          pathProbability: result.pathProbability,
          alternatives: result.alternatives,
          trainedHeads: trainedHeads(session),
          ms: performance.now() - started,
        };
      }),
    );
  }

  /** `hdlm/classifyMany`: several texts under one settings read and one busy period. */
  async classifyMany(params: ClassifyManyParams, token?: CancellationToken): Promise<ClassifyManyResult> {
    const texts = Array.isArray(params.texts) ? params.texts : undefined;
    if (!texts || texts.length === 0 || texts.length > MAX_BATCH || texts.some((t) => typeof t !== 'string')) {
      throw new ResponseError(ErrorCodes.badRequest, `texts must be a list of 1 to ${MAX_BATCH} strings`);
    }
    const { beam, margin } = validBeam(params);
    const engine = await this.requireEngine();
    const settings = await this.readSettings();
    return this.job(
      `classifying ${texts.length} texts`,
      token,
      (signal) =>
        this.withSession(engine, settings, async (session) => {
          const classifier = classifierOf(session);
          const started = performance.now();
          const results: ClassifyManyResult['results'] = [];
          for (const raw of texts) {
            const text = inputText(raw);
            if (!text) {
              results.push({ error: 'empty' });
              continue;
            }
            const tooLong = farTooLong(session, text);
            if (tooLong !== undefined) {
              results.push({ error: tooLong });
              continue;
            }
            try {
              const r = await classifier.classify(text, { beam, margin, signal });
              results.push({ path: wireDecisions(r.path), pathProbability: r.pathProbability });
            } catch (err) {
              // One text the model cannot take does not stop the others; a cancel stops them all.
              if (err instanceof CancelledError || signal.aborted) throw err;
              results.push({ error: errorMessage(err) });
            }
          }
          return {
            task: session.task.name,
            ...sessionFacts(session),
            results,
            trainedHeads: trainedHeads(session),
            ms: performance.now() - started,
          };
        }),
      // More batches of the same run follow: no "ready" between them.
      params.more === true ? BATCH_GAP_MS : undefined,
    );
  }

  /** `hdlm/layers`: every layer's readout of the text, and the task's decision on it. */
  async layers(params: LayersParams, token?: CancellationToken): Promise<LayersResult> {
    const text = typeof params.text === 'string' ? inputText(params.text) : '';
    if (!text) throw new ResponseError(ErrorCodes.badRequest, 'nothing to read out: select some text (or put the cursor on a non-empty line)');
    const topK = params.topK ?? 5;
    if (!Number.isInteger(topK) || topK < 1 || topK > MAX_TOP_K) throw new ResponseError(ErrorCodes.badRequest, `topK must be a whole number from 1 to ${MAX_TOP_K}, got ${JSON.stringify(params.topK)}`);
    const engine = await this.requireEngine();
    const settings = await this.readSettings();
    return this.job('reading out layers', token, (signal) =>
      this.withSession(engine, settings, async (session) => {
        const started = performance.now();
        refuseFarTooLong(session, text);
        const tokenizer = session.loaded.requireTokenizer();
        const ids = tokenizer.encode(text);
        const segments: LayersResult['segments'] = [];
        const readouts = await readoutAllLayers(session.loaded.model, ids, { topK, signal, onSegment: (run) => segments.push(run) });
        // A thought-then-answer task has no levels to decide, and a task that does not fit the
        // model decides nothing: the view shows the readouts only (and, for the latter, why).
        const decided = session.task.kind === 'thoughtThenAnswer' || session.unfit ? undefined : await session.classifier.classify(text, { signal });
        return {
          ...sessionFacts(session),
          tokens: ids.map((id) => tokenizer.decode([id])),
          readouts: readouts.map((r) => ({ layer: r.layer, top: r.top.map((t) => ({ id: t.id, text: tokenizer.decode([t.id]), probability: t.probability })) })),
          segments,
          classification: decided && {
            task: session.task.name,
            path: wireDecisions(decided.path),
            trainedHeads: trainedHeads(session),
          },
          ...(session.unfit ? { unfitTask: unfitMessage(session), unfitTaskData: unfitData(session) } : {}),
          ms: performance.now() - started,
        };
      }),
    );
  }

  /**
   * `textDocument/inlineCompletion`: a thought drafted at the task's first layer, then the answer
   * from the last layer on the same decode state, offered as ghost text; the thought goes to the
   * client in `hdlm/thought`. Waits INLINE_DELAY_MS first so that typing cancels it cheaply.
   * Offered only when enabled and for the languages of `hdlm.inline.languages`.
   */
  async inlineCompletion(request: InlineRequest, token?: CancellationToken): Promise<InlineCompletionItem[]> {
    const { uri, prefix, position } = request;
    const settings = await this.readSettings();
    const input = inputText(prefix.slice(-INLINE_CONTEXT_CHARS));
    if (!settings.inlineEnabled || !settings.inlineLanguages.includes(request.languageId) || input.length < 3) return [];
    if (await cancelledDuring(INLINE_DELAY_MS, token)) return [];
    const engine = await this.requireEngine();
    try {
      return await this.job('thinking', token, (signal) =>
        this.withSession(engine, settings, async (session) => {
          const started = performance.now();
          const result = await this.think(session, { input, thoughtTokens: INLINE_THOUGHT_TOKENS, maxTokens: settings.maxTokens, signal, id: `inline:${uri}:${position.line}`, source: 'inline' });
          const answer = (result.answer.text ?? '').split('\n')[0]!.trimEnd();
          // A request cancelled after its last token (the user typed on) gets no thought: VS Code
          // has discarded its ghost text, and the thought would be drawn beside nothing.
          if (result.answer.stop === 'cancelled' || signal.aborted || !answer.trim()) return [];
          const insertText = /\s$/.test(prefix) ? answer.trimStart() : ` ${answer.trimStart()}`;
          this.client.sendThought({ uri, line: position.line, thought: result.thought.text ?? '', answer: insertText, thoughtLayer: session.layers[0]!, answerLayer: session.loaded.checkpoint.config.numLayers, thoughtProbability: result.thoughtProbability, ms: performance.now() - started });
          return [{ insertText, range: { start: position, end: position } }];
        }),
      );
    } catch (err) {
      // Ghost text is optional: a failure is logged, never shown as an error while typing.
      if (!(err instanceof ResponseError && err.code === LSPErrorCodes.RequestCancelled)) this.client.log(`inline completion: ${errorMessage(err)}`);
      return [];
    }
  }

  /** `hdlm/thinkThenAnswer`: a thought at the task's first layer, then the answer at the last, streamed. */
  async thinkThenAnswer(params: ThinkThenAnswerParams, token?: CancellationToken): Promise<ThinkThenAnswerResult> {
    const text = typeof params.text === 'string' ? inputText(params.text) : '';
    if (!text) throw new ResponseError(ErrorCodes.badRequest, 'nothing to think about: select some text (or put the cursor on a non-empty line)');
    const max = params.maxTokens;
    if (max !== undefined && (!Number.isInteger(max) || max < 1 || max > 512)) throw new ResponseError(ErrorCodes.badRequest, `maxTokens must be a whole number from 1 to 512, got ${JSON.stringify(max)}`);
    // Echoed as the id of every hdlm/generationStep, which clients match as a string.
    const { requestId } = params;
    if (requestId !== undefined && requestId !== null && typeof requestId !== 'string') throw new ResponseError(ErrorCodes.badRequest, `requestId must be a string, got ${JSON.stringify(requestId)}`);
    const engine = await this.requireEngine();
    const settings = await this.readSettings();
    return this.job('thinking', token, (signal) =>
      this.withSession(engine, settings, async (session) => {
        refuseFarTooLong(session, text);
        const id = requestId ?? `think:${Date.now()}`;
        const result = await this.think(session, { input: text, thoughtTokens: THOUGHT_TOKENS, maxTokens: max ?? settings.maxTokens, signal, id, source: 'command' });
        if (result.answer.stop === 'cancelled') throw new CancelledError();
        return {
          task: session.task.name,
          ...sessionFacts(session),
          thought: result.thought.text ?? '',
          answer: result.answer.text ?? '',
          thoughtLayer: session.layers[0]!,
          answerLayer: session.loaded.checkpoint.config.numLayers,
          caughtUp: result.caughtUp,
          thoughtProbability: result.thoughtProbability,
          ms: result.ms,
        };
      }),
    );
  }

  /** Thought then answer on one decode state, each token sent as `hdlm/generationStep`. */
  private async think(session: TaskSession, run: { input: string; thoughtTokens: number; maxTokens: number; signal: AbortSignal; id: string; source: 'command' | 'inline' }): Promise<ThoughtThenAnswer> {
    const { id, source } = run;
    const layers = session.loaded.checkpoint.config.numLayers;
    const text = { thought: '', answer: '' };
    const result = await thinkOn(session, {
      input: run.input,
      thought: { maxNewTokens: Math.min(run.maxTokens, run.thoughtTokens) },
      answer: { maxNewTokens: run.maxTokens },
      signal: run.signal,
      onToken: (part, e) => {
        text[part] += e.text;
        this.client.sendGenerationStep({ id, source, part, token: e.text, text: text[part], layer: e.layer, layers, probability: e.probability });
      },
    });
    // A cancelled generation ends too, but as cancelled: a view must not draw it as finished.
    const cancelled = result.answer.stop === 'cancelled';
    this.client.sendGenerationStep({ id, source, part: 'done', thought: result.thought.text ?? '', answer: result.answer.text ?? '', thoughtLayer: session.layers[0]!, layers, caughtUp: result.caughtUp, thoughtProbability: result.thoughtProbability, ms: result.ms, ...(cancelled ? { cancelled } : {}) });
    return result;
  }

  /** `hdlm/train`: checks the task file, then starts fine-tuning it in its own process. */
  async train(params: TrainParams): Promise<JobStarted> {
    return this.startJob('train', params.task, []);
  }

  /** `hdlm/evaluate`: checks the task file, then evaluates its heads against the flat baseline in its own process. */
  async evaluate(params: EvaluateParams): Promise<JobStarted> {
    const max = params.maxExamples;
    if (max !== undefined && (!Number.isInteger(max) || max < 1)) throw new ResponseError(ErrorCodes.badRequest, `maxExamples must be a whole number ≥ 1, got ${JSON.stringify(max)}`);
    const extra = max !== undefined ? ['--max-examples', String(max)] : [];
    if (params.file !== undefined) extra.push('--file', this.evaluationFile(params.file));
    return this.startJob('evaluate', params.task, extra);
  }

  /**
   * `hdlm/scanLayers`: checks the sample sizes, then trains a head per level (or the thought) and
   * layer on a sample in its own process (the layer scan) and suggests each level's layer.
   */
  async scanLayers(params: ScanLayersParams): Promise<JobStarted> {
    const extra: string[] = [];
    for (const [field, option] of [['trainExamples', '--train-examples'], ['devExamples', '--dev-examples']] as const) {
      const n = params[field];
      if (n === undefined) continue;
      if (!Number.isInteger(n) || n < 1) throw new ResponseError(ErrorCodes.badRequest, `${field} must be a whole number ≥ 1, got ${JSON.stringify(n)}`);
      extra.push(option, String(n));
    }
    return this.startJob('scan', params.task, extra);
  }

  /** The file an evaluation is asked to run on: it must be a file that exists (checked before a job starts). */
  private evaluationFile(file: unknown): string {
    const path = this.workspacePath(file, 'which file to evaluate on? give the path of a *.jsonl file');
    if (!existsSync(path)) throw new ResponseError(ErrorCodes.badRequest, `${path}: no such file to evaluate on`);
    const stats = statSync(path);
    if (!stats.isFile()) throw new ResponseError(ErrorCodes.badRequest, `${path}: ${stats.isDirectory() ? 'is a folder' : 'is not a file'}; give the path of a *.jsonl file to evaluate on`);
    return path;
  }

  /** `hdlm/jobs`: the running and recent jobs, newest first. */
  listJobs(): JobsResult {
    return { jobs: this.jobs.list() };
  }

  /**
   * `hdlm/taskSummary`: the task's trained heads and last evaluation, and its notices; when the
   * open session runs this task without it (it does not fit the model), that too.
   */
  taskSummary(params: TaskSummaryParams): TaskSummaryResult {
    const file = this.taskPath(params.task);
    let summary: TaskSummaryResult;
    try {
      summary = summarizeTask(file, (m) => this.client.log(m), this.defaults.modelDir);
    } catch (err) {
      throw new ResponseError(ErrorCodes.badRequest, errorMessage(err));
    }
    const session = this.tasks.openOn(file);
    return session?.unfit ? { ...summary, notices: [...(summary.notices ?? []), unfitMessage(session)] } : summary;
  }

  /** `hdlm/mistakes`: what the task's last evaluation got wrong, with the texts. */
  mistakes(params: MistakesParams): MistakesResult {
    const { label, level } = params;
    if (label !== undefined && (typeof label !== 'string' || label === '')) throw new ResponseError(ErrorCodes.badRequest, `label must be a non-empty string, got ${JSON.stringify(label)}`);
    if (level !== undefined && (!Number.isInteger(level) || level < 1)) throw new ResponseError(ErrorCodes.badRequest, `level must be a whole number ≥ 1, got ${JSON.stringify(level)}`);
    // A label no evaluated example has, or a level the task lacks, is refused as the CLI refuses it:
    // an empty list would read as "no mistakes".
    return this.fromLastEvaluation(params.task, (task) => readMistakes(task, label === undefined ? undefined : { label, ...(level === undefined ? {} : { level }) }));
  }

  /** `hdlm/labelReport`: the task's last evaluation per label. */
  labelReport(params: LabelReportParams): LabelReportResult {
    return this.fromLastEvaluation(params.task, readLabelReport);
  }

  /** What `read` makes of the task's kept evaluation; any failure is the request's (badRequest, with the reason). */
  private fromLastEvaluation<T>(task: string, read: (task: TaskDefinition) => T): T {
    const file = this.taskPath(task);
    try {
      return read(readTaskFile(file));
    } catch (err) {
      throw new ResponseError(ErrorCodes.badRequest, errorMessage(err));
    }
  }

  /** `hdlm/createTask`: a task file beside a dataset, for the configured model. */
  async createTask(params: CreateTaskParams): Promise<CreateTaskResult> {
    const dataset = this.workspacePath(params.dataset, 'which dataset? give the path of a *.jsonl file');
    const { model } = await this.readSettings();
    const modelDir = model === 'default' ? this.defaults.modelDir : this.tasks.resolvePath(model, this.workspaceRoot);
    try {
      const created = await createTaskFile(dataset, { field: model, dir: modelDir, source: 'setting hdlm.model' });
      this.client.log(`created ${created.task}: ${created.kind}, levels at layers ${created.levels.join(', ')} of ${created.modelLayers}, ${created.examples} examples`);
      for (const notice of created.notices) this.client.log(notice);
      return created;
    } catch (err) {
      throw new ResponseError(ErrorCodes.badRequest, errorMessage(err));
    }
  }

  /** A task file named in a request (path or file: URI), resolved against the workspace. */
  private taskPath(task: unknown): string {
    return this.workspacePath(task, 'which task? give the path of a *.hdlm.json file');
  }

  /** A file named in a request (path or file: URI), resolved against the workspace. */
  private workspacePath(file: unknown, missing: string): string {
    const raw = typeof file === 'string' ? file : '';
    if (!raw) throw new ResponseError(ErrorCodes.badRequest, missing);
    const path = raw.startsWith('file:') ? localPath(raw) : raw;
    if (path === undefined) throw new ResponseError(ErrorCodes.badRequest, `${raw} names no file on this machine: give a path, or a file: URI without a host and without encoded slashes`);
    return this.tasks.resolvePath(path, this.workspaceRoot);
  }

  private async startJob(kind: JobKind, task: unknown, extra: string[]): Promise<JobStarted> {
    const file = this.taskPath(task);
    let headsDir: string;
    let plan: JobPlan;
    try {
      const task = readTaskFile(file);
      ({ headsDir } = task);
      plan = jobPlan(kind, task);
    } catch (err) {
      throw new ResponseError(ErrorCodes.badRequest, errorMessage(err));
    }
    this.jobs.refuseIfHeadsBusy(file, headsDir);
    const settings = await this.readSettings();
    // Checked again after the wait: a job may have started on the same heads meanwhile.
    this.jobs.refuseIfHeadsBusy(file, headsDir);
    const jobId = this.jobs.start(kind, file, headsDir, { providers: settings.executionProviders, threads: settings.threads }, extra, plan);
    this.serverStatus.jobStarted(`${JOB_VERBS[kind]} ${file}`);
    return { jobId };
  }

  /**
   * Runs `work` on the task session for these settings, which stays open until it ends (see
   * TaskHost); the status then names its model. A session that fails to load is a modelUnavailable error.
   */
  private async withSession<T>(engine: Engine, settings: HdlmSettings, work: (session: TaskSession) => Promise<T>): Promise<T> {
    let opened = false;
    return this.tasks
      .use(engine, settings, this.workspaceRoot, (session) => {
        opened = true;
        this.serverStatus.sessionOpened(session);
        return work(session);
      })
      .catch((err: unknown) => {
        if (opened) throw err;
        const message = `could not load the model or task: ${errorMessage(err)}`;
        this.serverStatus.sessionFailed(message);
        throw new ResponseError(ErrorCodes.modelUnavailable, message);
      });
  }

  /** `hdlm/cancelJob`: this server's job, or another window's (asked of its server). */
  cancelJob(jobId: string): CancelJobResult {
    return this.jobs.cancel(jobId);
  }

  /**
   * What every request passes before its handler (server.ts binds them so): refused after
   * `shutdown`, as LSP 3.17 asks; and for a request that takes parameters, parameters that are
   * an object (null or a string is the client's error, named here, not a TypeError in a handler).
   */
  admit<P>(method: string, params: P, takesParams: boolean): P {
    this.refuseAfterShutdown(method);
    if (takesParams && (typeof params !== 'object' || params === null || Array.isArray(params))) {
      throw new ResponseError(ErrorCodes.badRequest, `${method} takes its parameters as an object, got ${params === undefined ? 'none' : JSON.stringify(params)}`);
    }
    return params;
  }

  private refuseAfterShutdown(method: string): void {
    if (this.lifecycle === 'shutDown') throw new ResponseError(RpcErrorCodes.InvalidRequest, `${method}: the server is shutting down (shutdown was received); only exit is accepted now`);
  }

  /** `shutdown`: the jobs stop, and requests from now on are refused (admit). */
  shutdown(): void {
    this.lifecycle = 'shutDown';
    this.dispose();
  }

  dispose(): void {
    this.jobs.dispose();
  }

  /**
   * Runs a job with the status showing busy, the LSP cancellation token wired to an abort
   * signal, and a cancelled job answered with the LSP's RequestCancelled error. With
   * `holdBusyMs`, a job that succeeds keeps the status busy that long for the next one (ServerStatus.requestEnded).
   */
  private async job<T>(what: string, token: CancellationToken | undefined, work: (signal: AbortSignal) => Promise<T>, holdBusyMs?: number): Promise<T> {
    const controller = new AbortController();
    if (token?.isCancellationRequested) controller.abort();
    const listener = token?.onCancellationRequested(() => controller.abort());
    this.serverStatus.requestStarted(what);
    // Set on success only: a failed or cancelled batch ends its run's hold.
    let hold: number | undefined;
    try {
      const result = await work(controller.signal);
      hold = holdBusyMs;
      return result;
    } catch (err) {
      if (err instanceof CancelledError || controller.signal.aborted) throw new ResponseError(LSPErrorCodes.RequestCancelled, `${what}: cancelled`);
      if (err instanceof ResponseError) throw err;
      // Too long for the model is the input's fault, wherever the model finds it.
      if (err instanceof ContextOverflowError) throw new ResponseError(ErrorCodes.badRequest, err.message);
      this.client.log(`${what} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      throw new ResponseError(ErrorCodes.modelUnavailable, `${what} failed: ${errorMessage(err)}`);
    } finally {
      listener?.dispose();
      this.serverStatus.requestEnded(hold);
    }
  }

  private async launch(settings: Promise<HdlmSettings>): Promise<void> {
    // Both fields are assigned before the first await, so a request arriving while settings are
    // read waits for this engine instead of finding none or an older one.
    this.settings = settings;
    this.engine = settings.then((s) => this.launchEngine(s));
    // Failure is already reported by launchEngine; requests see it when they await the engine.
    await this.engine.catch(() => undefined);
  }

  async engineInfo(): Promise<EngineInfoResult> {
    const engine = await this.requireEngine();
    const info = engine.info();
    const cacheDir = defaultCacheDir();
    return {
      runtimeVersion: info.runtimeVersion,
      backends: info.backends,
      device: info.device,
      fallbacks: info.fallbacks,
      probeMs: info.probeMs,
      serverVersion: SERVER_VERSION,
      pid: process.pid,
      rssMiB: Math.round(process.memoryUsage().rss / 2 ** 20),
      ...this.loadedModelInfo(),
      cache: { dir: cacheDir, bytes: cacheBytes(cacheDir) },
    };
  }

  /** Clears the engine's caches but what the loaded model uses (protocol.ts clearCache); refused while a job or a model request runs. */
  async clearCache(): Promise<ClearCacheResult> {
    await this.requireEngine();
    const running = this.jobs.running;
    if (running.length > 0) throw new ResponseError(ErrorCodes.badRequest, `${running.length === 1 ? 'a job is' : `${running.length} jobs are`} running and may be using the cache: clear it when the job has ended (or cancel it first)`);
    // A request may be loading a model, its graphs half stored: their files must not go under it.
    if (this.serverStatus.requestsRunning) throw new ResponseError(ErrorCodes.badRequest, `the engine is busy (${this.serverStatus.doing}): clear the cache when it is done`);
    const dir = defaultCacheDir();
    const loaded = this.tasks.openSession?.session.loaded;
    const { removedBytes, bytesLeft } = clearEngineCache(dir, loaded ? [loaded.checkpoint.fingerprint] : []);
    this.client.log(`cache cleared: ${formatBytes(removedBytes)} removed from ${dir}, ${formatBytes(bytesLeft)} left${loaded ? ` (the graphs of ${loaded.checkpoint.dir}, loaded)` : ''}`);
    return { dir, removedBytes, bytesLeft, ...(loaded ? { keptModel: loaded.checkpoint.dir } : {}) };
  }

  /** The open session's model, for engine info. */
  private loadedModelInfo(): { model?: LoadedModelInfo } {
    const open = this.tasks.openSession;
    if (!open) return {};
    const { session, openedInSeconds } = open;
    const { loaded } = session;
    return {
      model: {
        dir: loaded.checkpoint.dir,
        task: session.task.name,
        ...(session.unfit ? { unfit: session.unfit } : {}),
        exitLayers: loaded.model.exitLayers,
        device: loaded.model.provider,
        openedInSeconds: Math.round(openedInSeconds * 100) / 100,
      },
    };
  }

  /** The status last sent (hdlm/status). */
  get status(): StatusParams {
    return this.serverStatus.current;
  }

  private async readSettings(): Promise<HdlmSettings> {
    let raw: unknown;
    try {
      raw = (await this.client.fetchSettings()) ?? this.pushedSettings ?? this.initializationOptions;
    } catch (err) {
      this.client.log(`could not read settings from the client, using defaults: ${errorMessage(err)}`);
    }
    const { settings, problems } = parseSettings(raw);
    for (const problem of problems) this.client.log(`settings: ${problem}`);
    return settings;
  }

  private async launchEngine(settings: HdlmSettings): Promise<Engine> {
    this.serverStatus.engineStarting();
    try {
      const engine = await this.createEngine({ providers: settings.executionProviders, threads: settings.threads });
      const info = engine.info();
      for (const f of info.fallbacks) this.client.log(`device ${f.provider} skipped: ${f.reason}`);
      this.client.log(`engine ready on ${info.device} (onnxruntime-node ${info.runtimeVersion}, probe ${info.probeMs.toFixed(2)} ms${hugePageMalloc() ? '; malloc on huge pages' : ''})`);
      this.serverStatus.engineStarted(info.device, info.fallbacks.length > 0 ? `ready on ${info.device} (fell back: ${info.fallbacks.map((f) => f.provider).join(', ')})` : undefined);
      return engine;
    } catch (err) {
      this.client.log(`engine failed to start: ${errorMessage(err)}`);
      this.serverStatus.engineFailed(`engine failed: ${errorMessage(err)}`);
      throw err;
    }
  }

  private async requireEngine(): Promise<Engine> {
    if (!this.engine) {
      throw new ResponseError(ErrorCodes.engineUnavailable, 'the HdLM engine has not been started yet (the client has not sent `initialized`)');
    }
    try {
      return await this.engine;
    } catch (err) {
      throw new ResponseError(ErrorCodes.engineUnavailable, `the HdLM engine is unavailable: ${errorMessage(err)}`);
    }
  }

  /**
   * Other windows' running jobs on this workspace changed (Jobs.followOthers): the status says
   * them, so that this window does not look idle while another fine-tunes the same model, and
   * how far they are. Sent only when what it says changed.
   */
  private othersChanged(running: JobView[]): void {
    this.serverStatus.elsewhereChanged(elsewhereSummary(running));
  }
}
