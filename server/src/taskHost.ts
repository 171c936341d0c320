// Owns the task session the server classifies with: the configured model loaded with the
// configured task's heads. Opened on first use, reused while the engine and the settings stay
// the same, released when either changes.
import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import type { Engine } from '../../engine/src/index';
import { readTaskFile } from '../../engine/src/hdlm/taskFile';
import { openTask, type TaskSession } from '../../engine/src/hdlm/taskSession';
import type { HdlmSettings } from './settings';

export interface Defaults {
  /** The shipped model folder. */
  modelDir: string;
  /** The shipped task file. */
  taskFile: string;
  /** The `hdlm` CLI that training jobs run. */
  cli: string;
  /** Where the job journal lives (per workspace); undefined keeps it in memory only. */
  stateDir?: string;
}

export class TaskHost {
  private current: { key: string; engine: Engine; session: Promise<TaskSession> } | undefined;

  constructor(
    private readonly defaults: Defaults,
    private readonly log: (message: string) => void,
  ) {}

  /** The session for these settings, opening it (and releasing an outdated one) as needed. */
  session(engine: Engine, settings: HdlmSettings, workspaceRoot: string | undefined): Promise<TaskSession> {
    const taskFile = settings.task ? this.resolvePath(settings.task, workspaceRoot) : this.defaults.taskFile;
    const model = settings.model === 'default' ? 'default' : this.resolvePath(settings.model, workspaceRoot);
    const { headPrecision } = settings;
    const key = JSON.stringify({ taskFile, model, headPrecision });
    if (this.current && this.current.key === key && this.current.engine === engine) return this.current.session;
    void this.release();
    const session = (async () => {
      if (!existsSync(taskFile)) throw new Error(`task file ${taskFile} does not exist (setting hdlm.task)`);
      const task = readTaskFile(taskFile);
      if (model !== 'default') task.model = model;
      this.log(`loading ${task.model === 'default' ? this.defaults.modelDir : task.model} for task ${task.name} (${taskFile})`);
      const started = performance.now();
      const opened = await openTask(engine, task, this.defaults.modelDir, (m) => this.log(m), { headPrecision });
      this.log(`task ${task.name} ready in ${((performance.now() - started) / 1000).toFixed(1)} s: layers ${opened.layers.join(', ')}, ${opened.manifests.filter(Boolean).length}/${opened.layers.length} trained heads`);
      return opened;
    })();
    this.current = { key, engine, session };
    // A failed load is not cached: the next request tries again (the user may have fixed it).
    session.catch(() => {
      if (this.current?.session === session) this.current = undefined;
    });
    return session;
  }

  async release(): Promise<void> {
    const old = this.current;
    this.current = undefined;
    if (!old) return;
    try {
      await (await old.session).release();
    } catch {
      // It never opened; nothing to release.
    }
  }

  resolvePath(path: string, workspaceRoot: string | undefined): string {
    return isAbsolute(path) || !workspaceRoot ? resolve(path) : resolve(workspaceRoot, path);
  }
}
