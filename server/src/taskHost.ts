// Owns the task session the server classifies with: the configured model loaded with the
// configured task's heads, or the model alone when the task does not fit it or its file cannot
// be read (then the layer view and generation still run, and classifying says why it cannot).
// Opened on first use, reused while the engine, the settings, the task file, its heads (an
// untrained task's training file, where its labels come from) and the model's files stay the
// same, released when one changes. A request uses the session through `use`, which counts
// it: a replaced session is released only after the requests still running on it end, so a
// settings change, an edit or a finished training job never pulls the model out from under a
// generation half done. Sessions share their model through a ModelPool: a session opened again
// after an edit or new heads loads only its heads unless the edit moved a segment's cut.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import type { Engine } from '../../engine/src/index';
import { samePath } from '../../engine/src/samePath';
import { headsTrainer } from '../../engine/src/hdlm/headsLock';
import { headsStamp } from '../../engine/src/hdlm/headStore';
import { modelStamp, ModelPool, type ModelLoader } from '../../engine/src/modelPool';
import { MAX_TASK_FILE_BYTES, readTaskFile, TaskFileError, type TaskDefinition } from '../../engine/src/hdlm/taskFile';
import { openModelOnly, openTask, taskModelFolder, unreadTask, type TaskSession } from '../../engine/src/hdlm/taskSession';
import { SHIPPED_TASK } from './protocol';
import type { HdlmSettings } from './settings';
import { errorMessage } from '../../engine/src/errorMessage';

export interface Defaults {
  /** The shipped model folder. */
  modelDir: string;
  /** The shipped task file (the other shipped tasks are its siblings, named by `shipped:NAME`). */
  taskFile: string;
  /** The `hdlm` CLI that training jobs run. */
  cli: string;
  /** Where the job journal lives (per workspace); undefined keeps it in memory only. */
  stateDir?: string;
}

/** One opened (or opening) session and the requests using it now. */
class Entry {
  private users = 0;
  private readonly onIdle: (() => void)[] = [];
  /** The session once it opened. */
  opened: TaskSession | undefined;
  /** How long it took to open, in seconds (the model shared or loaded, the heads). */
  openedInSeconds: number | undefined;

  constructor(
    readonly key: string,
    readonly taskFile: string,
    /** The task file's stamp (stampOf) when the session opened. */
    readonly fileStamp: string,
    /** The heads' stamp (headsStamp) when the session opened. */
    readonly heads: string,
    readonly engine: Engine,
    readonly session: Promise<TaskSession>,
  ) {
    const started = performance.now();
    session.then(
      (s) => {
        this.opened = s;
        this.openedInSeconds = (performance.now() - started) / 1000;
      },
      () => undefined,
    );
  }

  enter(): void {
    this.users++;
  }

  leave(): void {
    if (--this.users === 0) for (const resolve of this.onIdle.splice(0)) resolve();
  }

  /** Resolves when no request uses the session. */
  idle(): Promise<void> {
    return this.users === 0 ? Promise.resolve() : new Promise((resolve) => this.onIdle.push(resolve));
  }
}

/** A task file as read: the task, or the problem that stops it being read. */
type TaskFileRead = { task: TaskDefinition; problem?: undefined } | { task?: undefined; problem: string };
type TaskRead = TaskFileRead & { stamp: string };

export class TaskHost {
  private current: Entry | undefined;
  private readonly models = new ModelPool();
  private lastRead: { file: string; fileStamp: string | undefined; read: TaskFileRead } | undefined;

  /**
   * `headsBeingWritten`: whether a job of this server is writing into a heads folder now. Its
   * heads are saved one by one, and the session is not reopened for each: the first request
   * after the job has sent its result finds the heads' stamp changed and opens the finished
   * heads, once (a job that saved nothing changes nothing).
   */
  constructor(
    private readonly defaults: Defaults,
    private readonly log: (message: string) => void,
    private readonly headsBeingWritten: (headsDir: string) => boolean = () => false,
    /**
     * Told when a session starts opening, and (undefined) when it has opened or failed: the status
     * says so meanwhile, since a large model takes a while to load.
     */
    private readonly opening: (what: string | undefined) => void = () => undefined,
  ) {}

  /**
   * Runs `work` on the session for these settings (opening it, and releasing an outdated one, as
   * needed). The session stays open until `work` settles, even if it is replaced meanwhile.
   */
  async use<T>(engine: Engine, settings: HdlmSettings, workspaceRoot: string | undefined, work: (session: TaskSession) => Promise<T>): Promise<T> {
    const entry = this.entry(engine, settings, workspaceRoot);
    entry.enter();
    try {
      return await work(await entry.session);
    } finally {
      entry.leave();
    }
  }

  private entry(engine: Engine, settings: HdlmSettings, workspaceRoot: string | undefined): Entry {
    const taskFile = this.taskFileOf(settings.task, workspaceRoot);
    const model = settings.model === 'default' ? 'default' : this.resolvePath(settings.model, workspaceRoot);
    const { headPrecision } = settings;
    const read = this.readTask(taskFile, settings.task);
    // The stamps reopen the session when the task file is edited (a level moved, a new prompt)
    // or its heads change (trained from a terminal): both are read only when it opens.
    const heads = this.headsStampOf(read.task, taskFile);
    // An untrained classify task reads its labels from its training file when it opens (no head
    // stores them yet), so an edit there (a label added, lines reordered: the candidate lists
    // follow the order labels first appear in) opens it again, as the CLI reads the file at each
    // run. Not while heads are written: `heads` stays as it was opened then.
    const labels = heads === '' && read.task?.kind === 'classify' ? statStamp(read.task.dataset.train) : '';
    // And when the model's files are written again (a new checkpoint in the same folder): its
    // heads, trained on the new weights, would not fit the model kept in memory.
    const modelFiles = modelStamp(this.modelFolderOf(read.task, model));
    const key = JSON.stringify({ taskFile, model, headPrecision, file: read.stamp, heads, labels, modelFiles });
    if (this.current && this.current.key === key && this.current.engine === engine) return this.current;
    void this.releaseSession();
    const loader = this.models.on(engine);
    const session = read.task ? this.open(loader, { ...read.task, model: model === 'default' ? read.task.model : model }, taskFile, headPrecision) : this.openUnread(loader, taskFile, model, read.problem, headPrecision);
    const entry = new Entry(key, taskFile, read.stamp, heads, engine, session);
    this.current = entry;
    // A failed load is not cached: the next request tries again (the user may have fixed it),
    // and a model loaded for it (one without a tokenizer) is not kept for later.
    const opened = (): void => this.opening(undefined);
    session.then(opened, opened);
    session.catch(() => {
      if (this.current !== entry) return;
      this.current = undefined;
      this.models.forget();
    });
    return entry;
  }

  /** The model folder a session opens: the setting's, else the task's (or, unread, the shipped one). */
  private modelFolderOf(task: TaskDefinition | undefined, model: string): string {
    if (model !== 'default') return model;
    return task ? taskModelFolder(task, this.defaults.modelDir) : this.defaults.modelDir;
  }

  /** The task with its heads on its model, or its model alone when the task does not fit it. */
  private async open(engine: ModelLoader, task: TaskDefinition, taskFile: string, headPrecision: HdlmSettings['headPrecision']): Promise<TaskSession> {
    const modelDir = taskModelFolder(task, this.defaults.modelDir);
    this.log(`opening task ${task.name} (${taskFile}) on ${modelDir}`);
    this.opening(`opening task ${task.name} on ${basename(modelDir)}`);
    const started = performance.now();
    const seconds = (): string => ((performance.now() - started) / 1000).toFixed(1);
    requireFolder(modelDir);
    // The layer view and generation need only the model: they go on while the task waits for a fix.
    const opened = await openTask(engine, task, this.defaults.modelDir, (m) => this.log(m), { headPrecision, modelIfUnfit: true });
    if (opened.unfit) this.log(`task ${task.name} does not fit ${modelDir}, which serves without it (${seconds()} s): ${opened.unfit}`);
    else this.log(`task ${task.name} ready in ${seconds()} s: layers ${opened.layers.join(', ')}, ${opened.manifests.filter(Boolean).length}/${opened.layers.length} trained heads`);
    return opened;
  }

  /**
   * The model alone while the task file cannot be read (missing, or half edited): the configured
   * model, else the shipped one, since the file that would name another cannot be read.
   */
  private async openUnread(engine: ModelLoader, taskFile: string, model: string, problem: string, headPrecision: HdlmSettings['headPrecision']): Promise<TaskSession> {
    const modelDir = model === 'default' ? this.defaults.modelDir : model;
    this.opening(`opening ${basename(modelDir)} without a task`);
    try {
      requireFolder(modelDir);
      const opened = await openModelOnly(engine, unreadTask(taskFile, modelDir), modelDir, problem, { headPrecision, unreadable: true }, (m) => this.log(m));
      this.log(`${modelDir} serves without a task: ${problem}`);
      return opened;
    } catch (err) {
      // The task is what the user set up last: its problem comes first.
      throw new Error(`${problem}; and the model ${modelDir} could not be opened without it: ${errorMessage(err)}`, { cause: err });
    }
  }

  /**
   * The task file as it reads now, or why it cannot be read, with its stamp (stampOf). Parsed
   * again only when its bytes change: the server asks on every request.
   */
  private readTask(taskFile: string, setting: string): TaskRead {
    const stamped = stampOf(taskFile);
    const fileStamp = stamped?.stamp;
    let read = this.lastRead !== undefined && samePath(this.lastRead.file, taskFile) && this.lastRead.fileStamp === fileStamp ? this.lastRead.read : undefined;
    if (!read) {
      // Something there that is no file (a folder, a pipe): readTaskFile names what it is.
      if (!stamped) read = existsSync(taskFile) ? readable(taskFile) : { problem: this.missingTask(setting, taskFile) };
      else if (stamped.tooLarge) read = { problem: `${taskFile}: ${(stamped.tooLarge / 2 ** 20).toFixed(1)} MiB is not a task file (setting hdlm.task names a *.hdlm.json file)` };
      else read = readable(taskFile);
      this.lastRead = { file: taskFile, fileStamp, read };
    }
    return { ...read, stamp: fileStamp ?? 'none' };
  }

  /**
   * The stamp of a task's heads: as the session has them while a run writes them, a job of this
   * server or any other live run holding the folder's lock (a terminal's `hdlm train`), so that
   * no request opens one level's new head with the others' old ones.
   */
  private headsStampOf(task: TaskDefinition | undefined, taskFile: string): string {
    if (!task) return '';
    const beingWritten = (): boolean => this.headsBeingWritten(task.headsDir) || headsTrainer(task.headsDir) !== undefined;
    if (this.current !== undefined && samePath(this.current.taskFile, taskFile) && beingWritten()) return this.current.heads;
    return headsStamp(task.headsDir);
  }

  /**
   * The open session, when it runs `taskFile` as the file and its heads are now (for what a
   * task's summary should say about it): after an edit, what it found is no longer news.
   */
  openOn(taskFile: string): TaskSession | undefined {
    const entry = this.current;
    const session = entry !== undefined && samePath(entry.taskFile, taskFile) ? entry.opened : undefined;
    if (!entry || !session || this.outdatedOn(taskFile)) return undefined;
    return this.headsStampOf(session.unreadable ? undefined : session.task, taskFile) === entry.heads ? session : undefined;
  }

  /** The session open now, if any, and how long it took to open (what Show Engine Info reports). */
  get openSession(): { session: TaskSession; openedInSeconds: number } | undefined {
    const { opened, openedInSeconds } = this.current ?? {};
    return opened && openedInSeconds !== undefined ? { session: opened, openedInSeconds } : undefined;
  }

  /**
   * Whether the open session's heads are no longer the folder's (a fine-tuning job has written
   * new ones since it opened, and holds the folder no more): the next request would open them.
   */
  get headsOutdated(): boolean {
    const entry = this.current;
    const session = entry?.opened;
    if (!entry || !session || session.unreadable) return false;
    return this.headsStampOf(session.task, entry.taskFile) !== entry.heads;
  }

  /** Whether a session is open or opening: the server then keeps it following the task file and the settings. */
  get inUse(): boolean {
    return this.current !== undefined;
  }

  /** Whether the session runs `taskFile` as it read before the file's last change (a save since changed its bytes). */
  outdatedOn(taskFile: string): boolean {
    const entry = this.current;
    return entry !== undefined && samePath(entry.taskFile, taskFile) && (stampOf(taskFile)?.stamp ?? 'none') !== entry.fileStamp;
  }

  /**
   * Lets go of the current session and its model (the engine is replaced, or the server
   * closes): the next request opens a new one, and this one is released once the requests
   * running on it have ended.
   */
  async release(): Promise<void> {
    const released = this.releaseSession();
    this.models.forget();
    await released;
  }

  /** Lets go of the current session, as release(), but keeps its model for the next session to share. */
  private async releaseSession(): Promise<void> {
    const old = this.current;
    this.current = undefined;
    if (!old) return;
    await old.idle();
    try {
      await (await old.session).release();
    } catch {
      // It never opened; nothing to release.
    }
  }

  /** The task file of a `hdlm.task` value: '' the shipped default, `shipped:NAME` a shipped task, else a path. */
  private taskFileOf(setting: string, workspaceRoot: string | undefined): string {
    if (!setting) return this.defaults.taskFile;
    // A shipped task is named, not a path: a name with a path in it names none.
    if (setting.startsWith(SHIPPED_TASK)) return join(dirname(this.defaults.taskFile), `${setting.slice(SHIPPED_TASK.length).replace(/[^\w-]/g, '_')}.hdlm.json`);
    return this.resolvePath(setting, workspaceRoot);
  }

  /** Why `hdlm.task` names no task: a path that is not there, or a name no shipped task has (the names listed). */
  private missingTask(setting: string, taskFile: string): string {
    if (!setting.startsWith(SHIPPED_TASK)) return `task file ${taskFile} does not exist (setting hdlm.task)`;
    const shipped = existsSync(dirname(taskFile)) ? readdirSync(dirname(taskFile)).filter((f) => f.endsWith('.hdlm.json')).map((f) => `${SHIPPED_TASK}${basename(f, '.hdlm.json')}`) : [];
    return `setting hdlm.task: no task ${setting} is shipped with the extension (${shipped.length > 0 ? `shipped: ${shipped.sort().join(', ')}` : 'none is'})`;
  }

  resolvePath(path: string, workspaceRoot: string | undefined): string {
    return isAbsolute(path) || !workspaceRoot ? resolve(path) : resolve(workspaceRoot, path);
  }
}

/**
 * What tells one save of a task file from another: a digest of its bytes (task files are small,
 * and their bytes tell apart two saves of one size within the file system's clock tick, which a
 * timestamp may not); for a file too large to be a task, its size and time. Undefined when the
 * path is no file that can be read.
 */
function stampOf(path: string): { stamp: string; tooLarge?: number } | undefined {
  try {
    const stat = statSync(path);
    if (!stat.isFile()) return undefined;
    if (stat.size > MAX_TASK_FILE_BYTES) return { stamp: `${stat.size}:${stat.mtimeMs}`, tooLarge: stat.size };
    return { stamp: createHash('sha256').update(readFileSync(path)).digest('hex') };
  } catch {
    return undefined;
  }
}

/**
 * A file's size, time and inode ('none' when it is not there): a training file can be large and
 * the stamp is taken at each request, so it is not hashed. A file written again changes its time,
 * or (renamed into place by a writer that writes atomically) its inode.
 */
function statStamp(path: string): string {
  try {
    const { size, mtimeMs, ino } = statSync(path);
    return `${size}:${mtimeMs}:${ino}`;
  } catch {
    return 'none';
  }
}

/**
 * Refuses a model path that is a file (config.json or the weights, picked by mistake): the
 * loader would name `…/config.json/config.json` and an errno; this names the mistake.
 */
function requireFolder(modelDir: string): void {
  let folder = true;
  try {
    folder = statSync(modelDir).isDirectory();
  } catch {
    // Not there: the loader names the missing folder.
  }
  if (!folder) throw new Error(`${modelDir} is a file, not a model folder (a model is a Hugging Face folder with config.json and the weights)`);
}

/** The task in `taskFile`, or its problems on one line (they name the file and fields). */
function readable(taskFile: string): TaskFileRead {
  try {
    return { task: readTaskFile(taskFile) };
  } catch (err) {
    return { problem: err instanceof TaskFileError ? `${err.path}: ${err.problems.join('; ')}` : errorMessage(err) };
  }
}
