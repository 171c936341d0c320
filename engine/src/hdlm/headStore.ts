// HdLM heads on disk: `<name>.json`, a manifest naming the layer, the task, the label taxonomy,
// the training record, the fingerprint of the model the head was trained for, and the weights
// file `<name>.<save id>.safetensors` it goes with. Each save writes a new weights file, then
// replaces the manifest atomically, then deletes the head's other weights files: an interrupted
// save leaves the previous manifest pointing at the previous weights, so the last good head
// always loads, and the next save sweeps what it left.
// A head is stored whole ('full': norm + W, as the paper copies it), as the rows that training
// changed ('rows': a head trained on its labels' tokens only changes those rows of W, so the rest
// is the model's own head and need not be stored: ~K·H floats instead of V·H), or as a low-rank
// delta from the model's own head ('lowRank': W = W0 + A·B).
import { existsSync, lstatSync, readdirSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import { basename, join } from 'node:path';
import { realPath } from '../realPath';
import { pathKey } from '../samePath';
import type { HeadWeights } from '../arch/head';
import { architectureFor } from '../arch/registry';
import { SafetensorsFile, TensorToWrite, writeAtomically, writeSafetensors } from '../checkpoint/safetensors';
import type { Checkpoint } from '../checkpoint/types';
import { parseJsonText } from '../jsonFile';
import type { TaxonomyJson } from './taxonomy';

export const HEAD_FORMAT = 'hdlm-head/1';

export interface HeadManifest {
  format: typeof HEAD_FORMAT;
  name: string;
  /** Layer whose hidden state the head reads (after that many decoder layers). */
  layer: number;
  task: string;
  modelFingerprint: string;
  /** 'full': norm + W [V,H]; 'rows': norm + the vocabSubset rows of W [K,H]; 'lowRank': W = W0 + A·B. */
  kind: 'full' | 'rows' | 'lowRank';
  rank?: number;
  /** 'none': the head reads the raw residual stream (no norm); absent: the model's final norm (or its trained copy). */
  norm?: 'none';
  taxonomy?: TaxonomyJson;
  /** Token ids the head chooses among (its labels' tokens); scoring normalises over these. */
  vocabSubset?: number[];
  /**
   * 'choices': trained only where a label's next token is a choice among its siblings', and
   * scored so (labelScorer.ts); absent: trained on every label token, scored as a sequence.
   */
  labelScoring?: 'choices';
  /** Free-form training record: data, epochs, metrics, timings. */
  training?: Record<string, unknown>;
  createdAt: string;
  /** File name of the weights, beside the manifest. */
  weightsFile: string;
  vocabSize: number;
  hiddenSize: number;
}

/** Trainable parameters of a head, as the trainer holds them. */
export interface HeadParams {
  normWeight?: Float32Array; // [H]
  weight?: Float32Array; // [V, H] (full)
  bias?: Float32Array; // [V]
  lowRankA?: Float32Array; // [V, r]
  lowRankB?: Float32Array; // [r, H]
}

/** The model's own head (final norm + unembedding), copied: every HdLM head starts here. */
export function ownHeadCopy(checkpoint: Checkpoint): HeadWeights {
  const own = architectureFor(checkpoint.config).ownHead(checkpoint.config, checkpoint.weights);
  return { ...own, weight: Float32Array.from(own.weight) };
}

/** Writes a head; `manifest.weightsFile` is chosen here. Returns the manifest as written. */
export function saveHead(dir: string, manifest: Omit<HeadManifest, 'weightsFile'>, params: HeadParams): HeadManifest {
  const { vocabSize: V, hiddenSize: H } = manifest;
  const tensors: Record<string, TensorToWrite> = {};
  const put = (name: string, data: Float32Array | undefined, shape: number[]): void => {
    if (!data) return;
    const size = shape.reduce((a, b) => a * b, 1);
    if (data.length !== size) throw new Error(`head ${manifest.name}: ${name} has ${data.length} values, [${shape.join(',')}] needs ${size}`);
    tensors[name] = { dtype: 'F32', shape, data };
  };
  put('norm.weight', params.normWeight, [H]);
  if (manifest.kind === 'rows') {
    const rows = manifest.vocabSubset ?? [];
    if (!params.weight) throw new Error(`head ${manifest.name}: a rows head needs the weight matrix to take its rows from`);
    put('weight.rows', pickRows(params.weight, rows, H), [rows.length, H]);
  } else {
    put('weight', params.weight, [V, H]);
  }
  put('bias', params.bias, [V]);
  if (manifest.kind === 'lowRank') {
    const r = manifest.rank ?? 0;
    put('lowrank.a', params.lowRankA, [V, r]);
    put('lowrank.b', params.lowRankB, [r, H]);
  }
  return replaceHead(dir, manifest, (path) => writeSafetensors(path, tensors, { format: HEAD_FORMAT }));
}

/**
 * Saves head `from`'s weights again as head `to`, with `from`'s manifest under the new name and
 * the given training record: for a head that would train to the very same weights (trainHeads.ts copyTwin).
 */
export function copyHead(dir: string, from: string, to: string, training: Record<string, unknown>): HeadManifest {
  const source = readManifest(dir, from);
  const bytes = readFileSync(join(dir, source.weightsFile));
  // replaceHead names the copy's own weights file.
  return replaceHead(dir, { ...source, name: to, training, createdAt: new Date().toISOString() }, (path) => writeAtomically(path, [bytes]));
}

/**
 * Replaces head `name`'s stored taxonomy, atomically, keeping its weights and the rest of its
 * manifest: for a head whose rows a retrain found unchanged while the labels below them changed
 * (trainHeads.ts keepTaxonomyCurrent). Returns the manifest as written.
 */
export function rewriteTaxonomy(dir: string, name: string, taxonomy: TaxonomyJson): HeadManifest {
  const written: HeadManifest = { ...readManifest(dir, name), taxonomy };
  writeAtomically(join(dir, `${name}.json`), [Buffer.from(`${JSON.stringify(written, null, 1)}\n`)]);
  return written;
}

/**
 * The save protocol (file header): new weights file, then the manifest atomically, then the
 * head's other weights files go: the previous save's (the manifest named it), and any a save
 * interrupted before its manifest left behind, or whose manifest was deleted by hand. Only files
 * named as a save names them, and only plain files: the heads folder is the user's to choose, and
 * a file of theirs beside the heads (`level1.backup.safetensors`) is not ours to delete.
 */
function replaceHead(dir: string, manifest: Omit<HeadManifest, 'weightsFile'>, writeWeights: (path: string) => void): HeadManifest {
  const previous = previousWeightsFile(dir, manifest.name);
  const weightsFile = `${manifest.name}.${Date.now().toString(36)}${process.pid.toString(36)}.safetensors`;
  writeWeights(join(dir, weightsFile));
  const written: HeadManifest = { ...manifest, weightsFile };
  writeAtomically(join(dir, `${manifest.name}.json`), [Buffer.from(`${JSON.stringify(written, null, 1)}\n`)]);
  for (const file of readdirSync(dir)) {
    if (file === weightsFile || (file !== previous && !isWeightsFileOf(manifest.name, file))) continue;
    const path = join(dir, file);
    if (lstatSync(path, { throwIfNoEntry: false })?.isFile()) unlinkSync(path);
  }
  return written;
}

/** The weights file the head's manifest names before a save replaces it, when it is one of the head's. */
function previousWeightsFile(dir: string, name: string): string | undefined {
  try {
    const file = readManifest(dir, name).weightsFile;
    return file.startsWith(`${name}.`) && file.endsWith('.safetensors') ? file : undefined;
  } catch {
    return undefined; // no head yet, or a manifest that cannot be read: nothing named
  }
}

/** Save ids are later than this (2024-01-01): with the length below, a word is not taken for one. */
const SAVES_SINCE = Date.UTC(2024, 0, 1);

/**
 * `<name>.<save id>.safetensors`, as replaceHead names them: the id is the save's time, 8 base-36
 * digits between 2024 and now, then its pid's 1 to 5 (a head named `level1` never claims `level10`'s).
 */
function isWeightsFileOf(name: string, file: string): boolean {
  if (!file.startsWith(`${name}.`) || !file.endsWith('.safetensors')) return false;
  const id = file.slice(name.length + 1, -'.safetensors'.length);
  if (!/^[0-9a-z]{9,13}$/.test(id)) return false;
  const time = parseInt(id.slice(0, 8), 36);
  return time >= SAVES_SINCE && time <= Date.now() + 24 * 3600_000;
}

/**
 * A stamp of the heads saved in `dir`: the names of their weights files, which every save makes
 * new (replaceHead), and the name, size and time of each one's manifest, which a hand edit or a
 * restored file changes without a save (a manifest fixed after damage loads again). It changes
 * when a head is saved, removed or its manifest touched, and not when an evaluation or a scan
 * writes its reports beside them; '' when there is no such folder.
 */
export function headsStamp(dir: string): string {
  try {
    const weights = readdirSync(dir)
      .filter((f) => f.endsWith('.safetensors'))
      .sort();
    const heads = new Set(weights.map((f) => f.slice(0, f.slice(0, -'.safetensors'.length).lastIndexOf('.'))).filter((n) => n !== ''));
    const manifests = [...heads].sort().map((name) => {
      const file = `${name}.json`;
      try {
        const stat = statSync(join(dir, file));
        return `${file}:${stat.size}:${stat.mtimeMs}`;
      } catch {
        return `${file}:none`;
      }
    });
    return [...weights, ...manifests].join(',');
  } catch {
    return '';
  }
}

/** When the newest of these heads was saved (ISO time), or undefined when none is. */
export function newestHeadTime(dir: string, names: readonly string[]): string | undefined {
  const times = names.flatMap((n) => {
    try {
      return existsSync(join(dir, `${n}.json`)) ? [readManifest(dir, n).createdAt] : [];
    } catch {
      return []; // a damaged manifest is reported where heads are loaded, not here
    }
  });
  return times.length === 0 ? undefined : times.reduce((a, b) => (a > b ? a : b));
}

export function readManifest(dir: string, name: string): HeadManifest {
  const path = join(dir, `${name}.json`);
  if (!existsSync(path)) throw new Error(`${path}: no such head manifest`);
  // A syntax error in the words of every JSON file (jsonFile.ts): by line and column.
  const manifest = parseJsonText(readFileSync(path, 'utf8'), path) as HeadManifest;
  if (manifest.format !== HEAD_FORMAT) throw new Error(`${path}: format is ${JSON.stringify(manifest.format)}, expected "${HEAD_FORMAT}"`);
  if (typeof manifest.weightsFile !== 'string' || basename(manifest.weightsFile) !== manifest.weightsFile) {
    throw new Error(`${path}: field "weightsFile" must name a file beside the manifest`);
  }
  if (typeof manifest.task !== 'string') throw new Error(`${path}: field "task" must be the name of the task the head was trained for`);
  if (!Number.isInteger(manifest.layer) || manifest.layer < 0) throw new Error(`${path}: field "layer" must be a whole number ≥ 0`);
  if (manifest.norm !== undefined && manifest.norm !== 'none') throw new Error(`${path}: field "norm" must be "none" or absent, got ${JSON.stringify(manifest.norm)}`);
  if (manifest.labelScoring !== undefined && manifest.labelScoring !== 'choices') {
    throw new Error(`${path}: field "labelScoring" must be "choices" or absent, got ${JSON.stringify(manifest.labelScoring)}`);
  }
  return manifest;
}

/** The task a head is loaded or trained for: its "name" (a manifest records it as `task`) and its file, to name in errors. */
export interface HeadOwner {
  name: string;
  path: string;
}

/**
 * Loads head `name` for `checkpoint`. Refuses a head trained for another model (fingerprints
 * differ), for another task than `owner` (two tasks sharing a heads folder: the head would
 * answer with the other task's labels), one whose shapes do not fit, or one whose weights hold
 * NaN or ±Infinity (every score would be NaN), naming the file. `owner` is left out only by tools
 * that load heads of several tasks on purpose.
 */
export function loadHead(dir: string, name: string, checkpoint: Checkpoint, owner?: HeadOwner): { manifest: HeadManifest; weights: HeadWeights } {
  const manifest = readManifest(dir, name);
  if (owner && manifest.task !== owner.name) throw new OtherTaskHeadsError({ dir, task: manifest.task, manifest: `${name}.json` }, owner);
  const file = join(dir, manifest.weightsFile);
  if (manifest.modelFingerprint !== checkpoint.fingerprint) {
    throw new Error(`${file}: this head was trained for another model (fingerprint ${manifest.modelFingerprint.slice(0, 12)}…, this model is ${checkpoint.fingerprint.slice(0, 12)}…)`);
  }
  const { hiddenSize: H, vocabSize: V, numLayers } = checkpoint.config;
  if (manifest.layer > numLayers) throw new Error(`${join(dir, `${name}.json`)}: layer ${manifest.layer} is beyond the model's ${numLayers} layers`);
  const st = SafetensorsFile.open(file);
  const read = (tensor: string, shape: number[]): Float32Array => {
    const entry = st.entry(tensor);
    if (!entry) throw new Error(`${file}: tensor ${tensor} is missing`);
    if (entry.shape.join(',') !== shape.join(',')) throw new Error(`${file}: ${tensor} has shape [${entry.shape.join(',')}], expected [${shape.join(',')}]`);
    return checkFinite(file, tensor, st.read(tensor));
  };
  const own = ownHeadCopy(checkpoint);
  const norm = manifest.norm === 'none' ? undefined : st.entry('norm.weight') && own.norm ? { ...own.norm, weight: read('norm.weight', [H]) } : own.norm;
  const bias = st.entry('bias') ? read('bias', [V]) : undefined;
  let weight: Float32Array;
  if (manifest.kind === 'lowRank') {
    const r = manifest.rank ?? 0;
    weight = addLowRank(own.weight, read('lowrank.a', [V, r]), read('lowrank.b', [r, H]), V, H, r);
  } else if (manifest.kind === 'rows') {
    const rows = manifest.vocabSubset ?? [];
    weight = own.weight; // a copy already: ownHeadCopy
    const stored = read('weight.rows', [rows.length, H]);
    rows.forEach((id, i) => weight.set(stored.subarray(i * H, (i + 1) * H), id * H));
  } else {
    weight = read('weight', [V, H]);
  }
  const vocabSubset = manifest.vocabSubset ? Int32Array.from(manifest.vocabSubset) : undefined;
  if (vocabSubset?.some((id) => !Number.isInteger(id) || id < 0 || id >= V)) throw new Error(`${join(dir, `${name}.json`)}: vocabSubset has ids outside 0..${V - 1}`);
  return { manifest, weights: { norm, weight, bias, vocabSize: V, hiddenSize: H, vocabSubset } };
}

/**
 * Whose heads a heads folder holds, as headsFolderOwner reads it: a task's heads folder belongs to
 * that task alone, since every head's manifest records the task's "name" and loading refuses a
 * head of another task (loadHead). 'other' names one manifest of another task, with the folder.
 */
type HeadsFolderOwner =
  | { holds: 'nothing' }
  | { holds: 'own' }
  | ({ holds: 'other' } & OtherTaskHeads)
  | { holds: 'file' }
  | { holds: 'unreadable'; reason: string };

/** Another task's heads in a heads folder: the folder, that task, and one of its heads' manifests (a file name in `dir`). */
export interface OtherTaskHeads {
  dir: string;
  task: string;
  manifest: string;
}

/**
 * The one rule (training, the layer scan, the head loader's words, the server's hovers, task panel and status
 * use it) for whose heads folder `dir` is, for task `taskName`:
 * - 'nothing': no such folder, or no head manifest in it;
 * - 'other': a head manifest (a `*.json` of format hdlm-head/1) records another task, whatever the
 *   head's name (another kind of task names its heads otherwise) and whether or not its weights
 *   file is there (training would still replace it). Own heads beside it do not make it this
 *   task's: training would replace the other's, and loading refuses them;
 * - 'own': only this task's heads;
 * - 'file': the path is a file (saving there would fail on mkdir, naming neither field nor file);
 * - 'unreadable': it cannot be listed (permissions, a file on the way to it), with the reason.
 * A manifest that cannot be read names no owner (damaged, or written before heads recorded their
 * task: readManifest refuses it), so it neither blocks nor claims the folder: loading reports it.
 * `read`: how manifests are read (the server passes its cache, read again when a file changes).
 */
export function headsFolderOwner(dir: string, taskName: string, read: (dir: string, name: string) => HeadManifest | undefined = readManifestOrNone): HeadsFolderOwner {
  let files: string[];
  try {
    if (!statSync(dir).isDirectory()) return { holds: 'file' };
    files = readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { holds: 'nothing' };
    return { holds: 'unreadable', reason: (err as Error).message };
  }
  let own = false;
  // Hidden files (a run's resume points, .level1.resume.json) are no heads; sorted, so the manifest named is always the same.
  for (const file of files.filter((f) => f.endsWith('.json') && !f.startsWith('.')).sort()) {
    const task = read(dir, file.slice(0, -'.json'.length))?.task;
    if (task === undefined) continue;
    if (task !== taskName) return { holds: 'other', dir, task, manifest: file };
    own = true;
  }
  return own ? { holds: 'own' } : { holds: 'nothing' };
}

function readManifestOrNone(dir: string, name: string): HeadManifest | undefined {
  try {
    return readManifest(dir, name);
  } catch {
    return undefined; // not a head (an evaluation record), or a damaged one: loading reports those
  }
}

/** What refuses another task's heads, for the message: fine-tuning and the layer scan write there; anything else reads them. */
type HeadsFolderUse = 'train' | 'scan' | 'use';

/** What `use` does about another task's heads (task `other`, quoted). */
function refusal(use: HeadsFolderUse, other: string): string {
  switch (use) {
    case 'train':
      return "fine-tuning it would replace them with this task's";
    case 'scan':
      // The scan writes no head, but its record (layer-scan.json) would be taken for the other task's.
      return `scanning its layers would keep the scan's record there, as if it were task ${other}'s`;
    case 'use':
      return 'classifying, evaluating, fine-tuning and scanning its layers refuse them';
  }
}

/**
 * The one wording of what is wrong with task `taskName`'s heads folder (headsFolderOwner), or
 * undefined when nothing is: whose heads they are, what `use` does about it, and the ways out.
 */
export function headsFolderProblem(owner: HeadsFolderOwner, dir: string, taskName: string, use: HeadsFolderUse): string | undefined {
  switch (owner.holds) {
    case 'nothing':
    case 'own':
      return undefined;
    case 'file':
      return `the heads folder ${dir} is a file; set "heads" to a folder (heads and evaluations are saved as files in it)`;
    case 'unreadable':
      return `the heads folder ${dir} cannot be read (${owner.reason}); set "heads" to a folder this task can write`;
    case 'other':
      return otherTaskHeadsMessage(owner, taskName, use);
  }
}

/** Another task's heads (a copied task file keeps "heads"; a renamed task keeps its folder), the refusal, and the ways out. */
export function otherTaskHeadsMessage(heads: OtherTaskHeads, taskName: string, use: HeadsFolderUse): string {
  const other = JSON.stringify(heads.task);
  return (
    `the heads folder ${heads.dir} holds the heads of task ${other} (${heads.manifest}), not of task ${JSON.stringify(taskName)}: ${refusal(use, other)}; ` +
    `set "heads" to a folder of its own, or delete those heads if they are no longer wanted (or set "name" back to ${other}, if this task was renamed)`
  );
}

/** A head of another task, refused when loaded (loadHead): typed, so a front end can say whose heads they are (the status). */
export class OtherTaskHeadsError extends Error {
  constructor(
    readonly heads: OtherTaskHeads,
    owner: HeadOwner,
  ) {
    super(`${owner.path}: ${otherTaskHeadsMessage(heads, owner.name, 'use')}`);
    this.name = 'OtherTaskHeadsError';
  }
}

/**
 * Refuses heads folder `dir` for `use` by `owner` (a training run, a layer scan) before anything
 * is written there: a file, an unreadable folder, or one holding another task's heads (two task
 * files naming one "heads" folder, as a copied task file does: a run would replace the other
 * task's heads, which would then answer with this task's labels), by headsFolderOwner's rule.
 */
export function checkHeadsFolder(dir: string, owner: HeadOwner, use: Exclude<HeadsFolderUse, 'use'>, modelDir: string): void {
  const problem = headsInModelProblem(dir, modelDir) ?? headsFolderProblem(headsFolderOwner(dir, owner.name), dir, owner.name, use);
  if (problem !== undefined) throw new Error(`${owner.path}: ${problem}`);
}

/**
 * Why heads folder `dir` must not be used with model folder `modelDir`, or undefined: it is that
 * very folder. A run writes heads (`<head>.json`, `<head>.<digest>.safetensors`) and records
 * there, among the model's own files, and a model folder is the model's (a download, shared by
 * every task that names it), not one task's. A folder inside it passes: the shipped model keeps
 * its tasks' heads in `heads/<task>` within its folder, and a subfolder holds nothing of the
 * model's that a run could write over. Compared as real paths: a link to the model folder, or
 * "heads": "." in a task file kept in it, is the same place.
 */
export function headsInModelProblem(dir: string, modelDir: string): string | undefined {
  if (pathKey(realPath(dir)) !== pathKey(realPath(modelDir))) return undefined;
  return `the heads folder ${dir} is the model folder ${modelDir}: runs keep heads and records there, among the model's own files; set "heads" to a folder of its own (a subfolder such as "heads/<task>" will do)`;
}

/** `checkHeadsFolder`'s model-folder part alone, for the runs that only read heads and write records there (evaluation). */
export function checkHeadsOutsideModel(dir: string, owner: HeadOwner, modelDir: string): void {
  const problem = headsInModelProblem(dir, modelDir);
  if (problem !== undefined) throw new Error(`${owner.path}: ${problem}`);
}

/**
 * Refuses a heads folder `dir` that is a file or cannot be read, naming the task file whose
 * "heads" (or a --heads option) names it: writing there would fail with a bare EEXIST from mkdir.
 * Returns whether the folder exists (a run makes it when it does not).
 */
export function checkIsFolder(dir: string, owner: HeadOwner): boolean {
  let stats;
  try {
    stats = statSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
  if (!stats.isDirectory()) throw new Error(`${owner.path}: ${headsFolderProblem({ holds: 'file' }, dir, owner.name, 'use')!}`);
  return true;
}

/** `values`, refused if any is NaN or ±Infinity: a head with one gives NaN for every score (the model's weights are checked so too: checkpoint.ts). */
function checkFinite(file: string, tensor: string, values: Float32Array): Float32Array {
  const index = values.findIndex((v) => !Number.isFinite(v));
  if (index >= 0) throw new Error(`${file}: ${tensor} contains ${values[index]} at index ${index}; the head is corrupt; fine-tune again`);
  return values;
}

/** Rows `ids` of a [V, H] matrix, as [K, H]. */
function pickRows(w: Float32Array, ids: readonly number[], H: number): Float32Array {
  const out = new Float32Array(ids.length * H);
  ids.forEach((id, i) => out.set(w.subarray(id * H, (id + 1) * H), i * H));
  return out;
}

/** W0 + A·B, with W0 [V,H], A [V,r], B [r,H]. */
function addLowRank(w0: Float32Array, a: Float32Array, b: Float32Array, V: number, H: number, r: number): Float32Array {
  const w = Float32Array.from(w0);
  for (let v = 0; v < V; v++) {
    for (let k = 0; k < r; k++) {
      const coef = a[v * r + k]!;
      if (coef === 0) continue;
      const row = v * H;
      const bRow = k * H;
      for (let h = 0; h < H; h++) w[row + h]! += coef * b[bRow + h]!;
    }
  }
  return w;
}
