// The setup shared by the tests that train heads on a tiny random model: a temporary folder with
// the model in `model/`, the feature cache inside it (so a test never reads another run's
// hidden states), and a one-thread CPU engine (deterministic, and fair to a 2-core CI machine).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Engine } from '../../engine/src/index';
import { writeTinyModel } from './tinyCheckpoint';

/** The repository root, from a test bundle in out/test/<tier>/<dir>/. */
export const REPO_ROOT = resolve(__dirname, '..', '..', '..', '..');
/** The committed WordNet sample (200 glosses, three levels). */
export const WORDNET_FIXTURE = join(REPO_ROOT, 'data', 'fixtures', 'wordnet.sample.jsonl');

export interface TaskWorkspace {
  dir: string;
  /** The tiny model's folder: name it `"model": "model"` in a task file in `dir`. */
  modelDir: string;
  engine: Engine;
}

/** A fresh workspace named `hdlm-<prefix>-…` under the system's temporary folder. */
export async function taskWorkspace(prefix: string): Promise<TaskWorkspace> {
  const dir = mkdtempSync(join(tmpdir(), `hdlm-${prefix}-`));
  process.env['XDG_CACHE_HOME'] = join(dir, 'cache');
  const modelDir = join(dir, 'model');
  writeTinyModel(modelDir, REPO_ROOT);
  return { dir, modelDir, engine: await Engine.create({ providers: ['cpu'], threads: 1 }) };
}
