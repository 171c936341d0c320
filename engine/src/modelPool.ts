// Keeps the model last loaded, so that loading the same model with the same segments again shares
// it. The language server opens a new task session whenever the task file or its heads change (a
// prompt edited, heads trained); each session used to load its model afresh, which for a
// 0.5B-parameter model on a 2-core CPU is about 20 s even with every graph cached, for a change
// that touched no weight. Through the pool, such a session loads only its heads; one whose level
// moved to another layer loads only the segments, taking over the model's head and tables.
import { pathKey } from './samePath';
import type { Engine } from './engine';
import type { LoadedModel, LoadModelOptions } from './loadedModel';

/** What opening a task needs of an engine: the Engine itself, or a pool over one. */
export interface ModelLoader extends Pick<Engine, 'loadModel'> {
  /**
   * The model kept loaded from `dir` with these options, whatever its segments, or undefined.
   * A session that needs no particular cut (a model serving while its task file is half edited)
   * takes it rather than loading the model again, twice: once broken, once fixed.
   */
  loadedModel?(dir: string, options?: LoadModelOptions): Promise<LoadedModel | undefined>;
}

interface Kept {
  engine: Engine;
  key: string;
  /** The key without the segments (keyOf). */
  folder: string;
  /** The pool's own share of the model (LoadedModel.retain): it keeps the model between sessions. */
  model: Promise<LoadedModel>;
}

export class ModelPool {
  private kept: Kept | undefined;

  /** A loader over `engine` that shares the model kept when the folder and every option that shapes it agree. */
  on(engine: Engine): ModelLoader {
    return {
      loadModel: (dir, options) => this.load(engine, dir, options),
      loadedModel: async (dir, options = {}) => {
        const kept = this.kept;
        if (kept?.engine !== engine || kept.folder !== keyOf(dir, { ...options, cuts: [] })) return undefined;
        return kept.model.then(
          (m) => m.retain(),
          () => undefined,
        );
      },
    };
  }

  private async load(engine: Engine, dir: string, options: LoadModelOptions = {}): Promise<LoadedModel> {
    const key = keyOf(dir, options);
    let kept = this.kept;
    if (kept?.engine !== engine || kept.key !== key) {
      const folder = keyOf(dir, { ...options, cuts: [] });
      // The same model cut elsewhere (a level moved): its head and tables are taken over.
      const donor = kept?.engine === engine && kept.folder === folder ? kept.model : undefined;
      kept = this.keep(engine, key, folder, loadSharing(engine, dir, options, donor));
    }
    // Each caller holds its own share, released with its session; the pool's stays until forget().
    return (await kept.model).retain();
  }

  private keep(engine: Engine, key: string, folder: string, model: Promise<LoadedModel>): Kept {
    this.forget();
    const kept: Kept = { engine, key, folder, model };
    this.kept = kept;
    // A load that failed is not kept: the next caller tries again (the folder may have been fixed).
    model.catch(() => {
      if (this.kept === kept) this.kept = undefined;
    });
    return kept;
  }

  /**
   * Lets go of the pool's share of the kept model: it is freed once the sessions holding it are
   * released (at once if none is). Another model loaded, an engine restarted, a session that
   * could not open on it: nothing should keep it in memory for later.
   */
  forget(): void {
    const old = this.kept;
    this.kept = undefined;
    old?.model.then(
      (m) => m.release(),
      () => undefined,
    );
  }
}

/**
 * Loads the model, taking over the head and tables of `donor` (this folder's model with other
 * cuts) where they fit. The parts are taken before the pool lets go of the donor: keep() releases
 * it just after this starts, and callbacks on one promise run in the order they were added. So
 * the donor's segments are freed while the new ones load, and only the head lives on.
 */
async function loadSharing(engine: Engine, dir: string, options: LoadModelOptions, donor: Promise<LoadedModel> | undefined): Promise<LoadedModel> {
  // A donor that failed to load, or cannot share, leaves the load as it was.
  const shared = await donor?.then((m) => m.shareParts()).catch(() => undefined);
  try {
    return await engine.loadModel(dir, shared ? { ...options, shared } : options);
  } finally {
    await shared?.head.release();
  }
}

/**
 * What makes two loads the same model: the folder, the segments, the head's precision, the
 * operators and the device rules. (Notes and the cache folder do not change what loads.)
 */
function keyOf(dir: string, { cuts = [], fused = true, headPrecision = 'fp32', strictDevice = false, cacheDir }: LoadModelOptions): string {
  return JSON.stringify({ dir: pathKey(dir), cuts, fused, headPrecision, strictDevice, cacheDir: cacheDir ?? '' });
}
