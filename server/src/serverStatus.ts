// The one owner of hdlm/status: what the server is busy with (requests, the hold between the
// batches of one classifyMany run, this window's jobs, other windows' jobs) and its standing
// health (an engine or session that failed, a device fallback, a task that does not fit). The
// server tells it what happened; it decides what the status says and when it is sent.
import { basename } from 'node:path';
import { otherTaskHeadsMessage } from '../../engine/src/hdlm/headStore';
import type { TaskSession } from '../../engine/src/hdlm/taskSession';
import type { StatusParams } from './protocol';

export class ServerStatus {
  /** Requests running now; the status shows busy while there are any (or any job runs). */
  private activeRequests = 0;
  /** Set between the batches of one hdlm/classifyMany run (`more`): the status stays busy. */
  private busyHold: ReturnType<typeof setTimeout> | undefined;
  private lastStatus: StatusParams = { health: 'ok', busy: true, message: 'starting', device: '' };
  /** Other windows' running jobs on this workspace, for people (StatusParams.elsewhere); undefined when none runs. */
  private elsewhere: string | undefined;
  /** What the idle status says instead of "ready" (idleHealth): the engine fell back to another device… */
  private engineWarning: string | undefined;
  /** …or the session's model did (or serves without its task); set with the model (sessionOpened). */
  private sessionWarning: string | undefined;
  /** Why the engine failed to start: the status is an error until an engine starts. */
  private engineError: string | undefined;
  /**
   * Why the last session failed to open (a model that cannot load): the status is an error
   * until a session opens, since every model request fails meanwhile (sessionFailed).
   */
  private sessionError: string | undefined;
  /** What the latest request said it was doing: the status again once a session it waited for has opened. */
  private busyWith = '';

  /**
   * @param send delivers a status to the client.
   * @param runningJobMessage what the newest running job of this server does, or undefined when none runs.
   */
  constructor(
    private readonly send: (status: StatusParams) => void,
    private readonly runningJobMessage: () => string | undefined,
  ) {}

  /** The status last sent. */
  get current(): StatusParams {
    return this.lastStatus;
  }

  /** Whether a request runs now. */
  get requestsRunning(): boolean {
    return this.activeRequests > 0;
  }

  /** What the latest request said it was doing. */
  get doing(): string {
    return this.busyWith;
  }

  /** Whether the last session failed to open (and none has opened since). */
  get sessionBroken(): boolean {
    return this.sessionError !== undefined;
  }

  /** A request began: the status is busy with `what`, and a batched run's hold ends. */
  requestStarted(what: string): void {
    this.releaseHold();
    this.activeRequests++;
    this.busyWith = what;
    this.publish({ ...this.lastStatus, busy: true, message: what });
  }

  /**
   * A request ended. With `holdMs` (given for a request that succeeded and whose run has more
   * to send), the status stays busy that long for the next one (holdBusy); then it settles.
   */
  requestEnded(holdMs?: number): void {
    if (holdMs !== undefined) this.holdBusy(holdMs);
    this.activeRequests--;
    this.settle();
  }

  /**
   * A session opens inside a request's busy period: while the model loads, the status says
   * `what` instead of "classifying" (and the request's own words where `what` is absent).
   */
  loading(what?: string): void {
    if (this.activeRequests > 0) this.publish({ ...this.lastStatus, busy: true, message: what ?? this.busyWith });
  }

  /** A job of this server started: the status is busy with `message` ("fine-tuning /ws/t.hdlm.json"). */
  jobStarted(message: string): void {
    this.publish({ ...this.lastStatus, busy: true, message });
  }

  /** An engine starts: busy, on no device yet. The model shown stays: a session in use reopens on it, on the new engine. */
  engineStarting(): void {
    this.engineError = undefined;
    this.publish({ ...this.lastStatus, health: 'ok', busy: true, message: 'starting engine', device: '' });
  }

  /** The engine started on `device`; `warning` says what the idle status says instead of "ready" (a fallback). */
  engineStarted(device: string, warning?: string): void {
    this.engineWarning = warning;
    // Ready only when idle: the jobs and requests begun on the old engine run on (a settings change).
    this.publish({ ...this.statusNow(), device });
  }

  /** The engine failed to start: the status is an error with `message` until one starts. */
  engineFailed(message: string): void {
    this.engineError = message;
    // No engine, no model: the status names none (the jobs run on, in their own processes).
    const { model: _model, layers: _layers, ...status } = this.statusNow();
    this.publish({ ...status, device: '' });
  }

  /**
   * A session's model in the status, when it is not the one shown, with what the user should
   * know while it serves: it fell back to the CPU, or the task does not fit it.
   */
  sessionOpened(session: TaskSession): void {
    const model = basename(session.loaded.checkpoint.dir);
    const fallback = session.loaded.deviceFallback;
    // A model the device could not hold runs on the CPU: the status says so, as for the engine's own fallback.
    const warnings = [
      ...(fallback ? [`${model} runs on the CPU: ${fallback.provider} could not hold it (${fallback.reason.split('\n')[0]})`] : []),
      ...(session.unfit ? [unfitWarning(model, session)] : []),
    ];
    const warning = warnings.length > 0 ? warnings.join('; ') : undefined;
    this.sessionError = undefined;
    if (this.lastStatus.model === model && this.lastStatus.device === session.loaded.model.provider && this.sessionWarning === warning) return;
    this.sessionWarning = warning;
    // Mid-request: the health changes now, the message when the server is idle again.
    // The device is the session's: the CPU after a fallback, the engine's again for a model that fits.
    this.publish({ ...this.lastStatus, model, layers: session.loaded.checkpoint.config.numLayers, device: session.loaded.model.provider, health: this.idleHealth().health });
  }

  /**
   * A session failed to open: no model is loaded now, so the status names none, and its health
   * is an error with the reason until a session opens (sessionOpened).
   */
  sessionFailed(message: string): void {
    this.sessionError = message;
    this.sessionWarning = undefined;
    const { model: _gone, layers: _layers, ...rest } = this.lastStatus;
    // Mid-request (as in sessionOpened): the health changes now, the message once idle.
    this.publish({ ...rest, health: this.idleHealth().health });
  }

  /** The settings changed: the next request may open another session, so what the status said about this one goes. */
  sessionOutdated(): void {
    if (this.sessionWarning === undefined) return;
    this.sessionWarning = undefined;
    this.settle();
  }

  /**
   * Other windows' running jobs on this workspace, for people (jobView.ts elsewhereSummary), or
   * undefined when none runs: the status says them whatever it is about, so that this window does
   * not look idle while another fine-tunes the same model. Sent only when what it says changed.
   */
  elsewhereChanged(elsewhere: string | undefined): void {
    if (elsewhere === this.elsewhere) return;
    this.elsewhere = elsewhere;
    this.publish(this.lastStatus);
  }

  /**
   * The status once a request or a job has ended: "ready" (or the standing warning) once nothing
   * runs; while a job still runs, the job again, not what the last request said it was doing.
   * While a request runs, or a batched run holds the status (busyHold), it stays as it is.
   */
  settle(): void {
    if (this.activeRequests > 0 || this.busyHold !== undefined) return;
    const status = this.statusNow();
    if (status.busy && status.message === this.lastStatus.message && this.lastStatus.busy) return;
    this.publish(status);
  }

  /**
   * The status for the work in flight, whatever just changed (an engine restarted under it): busy
   * with the running request (or the batched run's hold), else with the newest running job, else
   * idle. The model and its layers stay as last shown: a session reopens on the same model.
   */
  private statusNow(): StatusParams {
    const { health, message } = this.idleHealth();
    const work = this.activeRequests > 0 || this.busyHold !== undefined ? this.busyWith : this.runningJobMessage();
    return work === undefined ? { ...this.lastStatus, busy: false, health, message } : { ...this.lastStatus, busy: true, health, message: work };
  }

  /** The health and idle message: an engine failure, else the standing warnings (engine fallback, session), else ready. */
  private idleHealth(): Pick<StatusParams, 'health' | 'message'> {
    const error = this.engineError ?? this.sessionError;
    if (error !== undefined) return { health: 'error', message: error };
    const warnings = [this.engineWarning, this.sessionWarning].filter((w) => w !== undefined);
    return warnings.length > 0 ? { health: 'warning', message: warnings.join('; ') } : { health: 'ok', message: 'ready' };
  }

  /**
   * Keeps the status busy for a moment after a batch whose run has more to send (hdlm/classifyMany
   * `more`), so that the status bar does not flash "ready" between batches. What ends the hold:
   * the next busy period (requestStarted: a model request — classify, classifyMany, layers,
   * thinkThenAnswer, an inline completion — or a session reopened, all through HdlmServer.job()),
   * or the time running out (a run that stopped sending). Other requests (a job started, hdlm/jobs,
   * hovers) leave it as it is.
   */
  private holdBusy(ms: number): void {
    this.releaseHold();
    this.busyHold = setTimeout(() => {
      this.busyHold = undefined;
      this.settle();
    }, ms);
    // Nothing to wait for at exit: a process ending does not need its status to say ready.
    this.busyHold.unref();
  }

  private releaseHold(): void {
    if (this.busyHold === undefined) return;
    clearTimeout(this.busyHold);
    this.busyHold = undefined;
  }

  /** Sends a status, with what other windows' jobs do (elsewhereChanged), whatever the status is about. */
  private publish(params: StatusParams): void {
    const { elsewhere: _was, ...status } = params;
    this.lastStatus = this.elsewhere === undefined ? status : { ...status, elsewhere: this.elsewhere };
    this.send(this.lastStatus);
  }
}

/**
 * The status's warning for a session serving without its task: whose heads its heads folder
 * holds, when loading refused another task's heads (in the words of the hovers and the task
 * panel: headsFolderProblem), else that its file cannot be read or it does not fit the model.
 */
function unfitWarning(model: string, session: TaskSession): string {
  const { task, otherTaskHeads } = session;
  if (otherTaskHeads) return `${model} serves without task ${task.name}, no classification: ${otherTaskHeadsMessage(otherTaskHeads, task.name, 'use')}`;
  return `${model} serves without task ${task.name}, ${session.unreadable ? 'whose file cannot be read' : 'which does not fit it'}: no classification`;
}
