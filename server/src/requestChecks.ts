// What the request handlers of HdlmServer check and write out, free of the server's state: the
// limits on a request's parameters, the refusals of a text or a session that cannot serve it, and
// the fields every model result repeats. Kept apart so that the handlers read as what they do.
import { CancellationToken, ResponseError } from 'vscode-languageserver';
import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TaskSession } from '../../engine/src/hdlm/taskSession';
import { resolveBeam, type HierarchyBeam } from '../../engine/src/hdlm/classifier';
import { ErrorCodes, type ClassifyParams, type LevelDecision, type UnfitTaskData } from './protocol';

/** Widest hierarchy beam a request may ask for: each kept path runs the deeper levels again. */
export const MAX_BEAM = 16;
/** Most tokens per layer that hdlm/layers reads out. */
export const MAX_TOP_K = 20;
/** Texts per hdlm/classifyMany: a batch answers within seconds, so cancelling and progress stay prompt. */
export const MAX_BATCH = 500;

/** A classify request's beam, DEFAULT_BEAM where absent (or null); a bad one is the client's error, named. */
export function validBeam(params: Pick<ClassifyParams, 'beam' | 'margin'>): HierarchyBeam {
  const beam = params.beam ?? undefined;
  if (beam !== undefined && !(Number.isInteger(beam) && beam >= 1 && beam <= MAX_BEAM)) throw new ResponseError(ErrorCodes.badRequest, `beam must be a whole number from 1 to ${MAX_BEAM}, got ${JSON.stringify(params.beam)}`);
  try {
    return resolveBeam({ beam, margin: params.margin ?? undefined });
  } catch (err) {
    throw new ResponseError(ErrorCodes.badRequest, (err as Error).message);
  }
}

/** Waits `ms`; true when the token was cancelled meanwhile. */
export function cancelledDuring(ms: number, token?: CancellationToken): Promise<boolean> {
  return new Promise((resolve) => {
    if (token?.isCancellationRequested) return resolve(true);
    const timer = setTimeout(() => {
      listener?.dispose();
      resolve(token?.isCancellationRequested ?? false);
    }, ms);
    const listener = token?.onCancellationRequested(() => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** The model a result was computed on, as every model request's result names it. */
export function sessionFacts(session: TaskSession): { model: string; device: string; layers: number } {
  const { loaded } = session;
  return { model: loaded.checkpoint.dir, device: loaded.model.provider, layers: loaded.checkpoint.config.numLayers };
}

/** Which of the task's levels have trained heads (the others decide with untrained ones), as classification results say it. */
export function trainedHeads(session: TaskSession): boolean[] {
  return session.manifests.map((m) => m !== undefined);
}

/** A classification's levels as the protocol sends them: the compute count stays in the server. */
export function wireDecisions(path: readonly LevelDecision[]): LevelDecision[] {
  return path.map(({ level, label, probability, runnersUp, layer, ms }) => ({ level, label, probability, runnersUp, layer, ms }));
}

/**
 * Why `text` cannot fit the session's model whatever its tokens, or undefined. No token spans
 * more characters than the longest vocabulary entry (Tokenizer.longestTokenChars), so a text
 * longer than the context times that needs more positions than the context has. Checked before
 * tokenizing: a megabyte takes seconds to tokenize, and a cancel cannot stop it meanwhile. A text
 * within the bound that still needs too many positions is refused by the model
 * (ContextOverflowError, answered as badRequest in HdlmServer.job()).
 */
export function farTooLong(session: TaskSession, text: string): string | undefined {
  const context = session.loaded.checkpoint.config.maxPositions;
  const bound = context * session.loaded.requireTokenizer().longestTokenChars();
  if (text.length <= bound) return undefined;
  return `the text has ${text.length} characters, more than ${basename(session.loaded.checkpoint.dir)}'s context of ${context} tokens can hold (at most ${bound} characters, far fewer for most text); select less`;
}

export function refuseFarTooLong(session: TaskSession, text: string): void {
  const why = farTooLong(session, text);
  if (why !== undefined) throw new ResponseError(ErrorCodes.badRequest, why);
}

/**
 * The session's classifier, or a clear refusal when only its model is open (the task does not
 * fit it, or its file cannot be read), with the task file as the error's data (UnfitTaskData).
 */
export function classifierOf(session: TaskSession): TaskSession['classifier'] {
  if (session.unfit) throw new ResponseError(ErrorCodes.modelUnavailable, unfitMessage(session), unfitData(session));
  return session.classifier;
}

/** The task a session serves without (TaskSession.unfit), for a client's buttons. */
export function unfitData(session: TaskSession): UnfitTaskData {
  return { taskFile: session.task.path, unreadable: session.unreadable ?? false, exists: existsSync(session.task.path) };
}

/** Why a session cannot classify, and what the user can do about it. */
export function unfitMessage(session: TaskSession): string {
  const model = basename(session.loaded.checkpoint.dir);
  const remedy = session.unreadable
    ? 'to classify, fix the task file (its problems show in the editor) or pick another task (HdLM: Select Task)'
    : 'to classify, pick a task made for it (HdLM: Select Task; HdLM: New Task from Dataset makes one) or select the model the task was trained for';
  return `task ${session.task.name} cannot classify on ${model}: ${session.unfit}. The layer view and Think Then Answer still run on ${model}; ${remedy}`;
}

/** The local path of a file: URI, or undefined for one that names none here (a host, an encoded slash). */
export function localPath(uri: string): string | undefined {
  try {
    return fileURLToPath(uri);
  } catch {
    return undefined;
  }
}
