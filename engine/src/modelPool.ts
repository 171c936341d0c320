// Keeps the model last loaded, so that loading the same model with the same segments again shares
// it. The language server opens a new task session whenever the task file or its heads change (a
// prompt edited, heads trained); each session used to load its model afresh, which for a
// 0.5B-parameter model on a 2-core CPU is about 20 s even with every graph cached, for a change
// that touched no weight. Through the pool, such a session loads only its heads; one whose level
// moved to another layer loads only the segments, taking over the model's head and tables.
// A checkpoint written again into the same folder (save_pretrained, exportModel.py --dest) is
// another model: the key holds a stamp of the folder's files (modelStamp), so the next load
// after such a write reads the new weights, and the old model goes once its sessions end.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
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
 * What makes two loads the same model: the folder and its files as they are now (modelStamp), the
 * segments, the head's precision, the operators and the device rules. (Notes do not change what
 * loads.)
 */
function keyOf(dir: string, { cuts = [], fused = true, headPrecision = 'fp32', strictDevice = false, cacheDir }: LoadModelOptions): string {
  return JSON.stringify({ dir: pathKey(dir), files: modelStamp(dir), cuts, fused, headPrecision, strictDevice, cacheDir: cacheDir ?? '' });
}

/**
 * The files of a model folder that loading it reads: the config, the weights (`model.safetensors`,
 * or shards named as transformers names them) and their index, the tokenizer, the generation
 * defaults. Not any other safetensors file: heads saved into the model's own folder would load
 * the whole model again at each save.
 */
const MODEL_FILE = /^(config\.json|generation_config\.json|tokenizer\.json|tokenizer_config\.json|model\.safetensors\.index\.json|model(-\d+-of-\d+)?\.safetensors)$/;

/**
 * A stamp of the model in `dir` that changes when its files are written again: the name, size,
 * modification time and inode of each file that loading reads. It is taken at each request, so
 * it costs one listing and a stat per file, no hashing (the fingerprint, which hashes, is taken
 * when the model loads). A file replaced by one of the same size keeps its size, but not its time,
 * or (renamed into place, as writers that write atomically do) its inode.
 */
export function modelStamp(dir: string): string {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => MODEL_FILE.test(n)).sort();
  } catch {
    return ''; // no folder (yet): the load says why
  }
  return names.map((n) => `${n}:${fileStamp(join(dir, n))}`).join('|');
}

function fileStamp(path: string): string {
  try {
    const { size, mtimeMs, ino } = statSync(path);
    return `${size}:${mtimeMs}:${ino}`;
  } catch {
    return 'gone'; // removed between the listing and the stat: the next stamp differs anyway
  }
}
