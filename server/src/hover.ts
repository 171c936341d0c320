// Hover help in task files: what the field under the cursor means, inside a level what its
// trained head is (layer, kind, best dev accuracy, when it was trained) and what the last layer
// scan measured for it (layer-scan.json), on `heads` how many
// levels are trained and the last evaluation kept there, and on `exitWhenSure` whether the heads
// its exits need are trained and where the last evaluation decided each level. Fast: a parse of the
// document's text and manifest reads cached by mtime, so it stays responsive while a
// fine-tuning job runs.
import { getLocation, type Node } from 'jsonc-parser';
import type { Hover } from 'vscode-languageserver';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { DEFAULT_TRAIN, taskNodeAt, taskTree } from '../../engine/src/hdlm/taskFile';
import { MIN_STEPS_PER_EPOCH } from '../../engine/src/train/stoppingSchedule';
import { exitHeads, headName } from '../../engine/src/hdlm/taskSession';
import { readLayerScan } from '../../engine/src/hdlm/layerScan';
import { basename, resolve } from 'node:path';
import { formatPValue, signedPoints } from '../../engine/src/hdlm/metrics';
import { factsOf, headsFolderNotice, modelLayers, percent, taskBaseDir, taskFolders, trainedBaseline, trainedHead, trainingSummary, type DatasetFacts, type FeatureContext } from './taskFacts';
import { readEvaluation } from './taskSummary';
import { errorMessage } from '../../engine/src/errorMessage';
import { inlineCode, markdownText } from '../../engine/src/markdownText';

/** One sentence per task-file field; completion shows these too. */
export const FIELD_HELP: Record<string, string> = {
  name: 'Name of the task (no `/`, `\\`, `.` or `..`); its heads are saved under `heads/<name>` unless `heads` says otherwise, and each head records it: a head of another name is not loaded.',
  kind: '`classify` (coarse-to-fine labels) or `thoughtThenAnswer` (a thought at an intermediate layer, then the answer).',
  model: 'A Hugging Face model folder (relative to this file), or `default` for the shipped model.',
  dataset: 'JSON Lines: `{"text", "labels": [coarse, …, fine]}` per line; a path, or `{ "train", "dev", "test" }`.',
  system: 'The system turn of the HdLM sequence format.',
  levels: 'One entry per taxonomy level, coarse to fine: `{ "layer": k }` — the layer whose head decides that level; `"last"` for the last layer.',
  layer: 'The layer whose head decides this level: the input runs only this deep for it (early exit).',
  exitWhenSure: 'Classify tasks, optional: `{ "threshold": 0.6, "layers": [4, 6, "last"] }`. Each level is scored at these layers in turn and decided at the first where its best label\'s probability reaches `threshold`, else at the last, so an easy input stops shallower than the level\'s own layer and a hard one goes deeper. Fine-tuning adds a head for every level at every one of these layers (README, "Exit when sure").',
  layers: 'Exit when sure: the layers each level is scored at, in turn (increasing; `"last"` for the last layer).',
  threshold: 'Exit when sure: the probability a level\'s best label needs for the level to be decided at that layer, in (0, 1].',
  listCandidates: 'List each level\'s candidate labels in the prompt, as the paper does, in the order they first appear in the training file (a trained head keeps the order it was trained with).',
  heads: 'Folder for the trained heads (relative to this file).',
  train: 'Fine-tuning settings: epochs, learningRate, batchSize, weightDecay, headKind (`full` or `lowRank`), headNorm (`copy` or `none`), lastLevelHead (`allLevels` or `ownLevel`), rank, seed, devFraction, patience, maxExamples.',
  learningRate: 'AdamW step size, in (0, 1).',
  batchSize: 'Examples per optimisation step.',
  weightDecay: 'AdamW weight decay, in [0, 1).',
  rank: 'Rank of the low-rank delta when `headKind` is `lowRank`.',
  seed: 'Seed of the shuffling and of the dev split, so that runs repeat.',
  devFraction: 'Share of the training file held out as dev when the dataset names no dev file, in (0, 0.5).',
  epochs: `Most passes over the training examples (default ${DEFAULT_TRAIN.epochs}; early stopping usually ends sooner). Left unset, it counts epochs of at least ${MIN_STEPS_PER_EPOCH} optimizer steps: a small dataset trains for more epochs.`,
  headKind: '`full`: train norm + unembedding as the paper does; `lowRank`: train a delta A·B of rank `rank` from the model\'s own head.',
  headNorm: '`copy` (default): the head applies a copy of the model\'s final norm before its linear map (trained for an RMS norm, frozen for GPT-2\'s layer norm), as a logit lens does; `none`: the raw residual stream, as the official HdLM code does.',
  lastLevelHead: '`allLevels` (default): the last level\'s head, when it reads the last layer, learns from every level\'s label tokens there, as the flat baseline\'s head does (so flat\'s head is saved as its copy, not trained twice); `ownLevel`: from its own level\'s only, one loss per span as in the paper. Classification tasks.',
  patience: `Stop after this many epochs without a better dev accuracy (default ${DEFAULT_TRAIN.patience}; left unset, it counts epochs of at least ${MIN_STEPS_PER_EPOCH} optimizer steps, as epochs does).`,
  maxExamples: 'Train on at most this many examples (0 = all), chosen by id hash.',
};

/**
 * The hover at a position of a task file. Without `context` it explains the field only; with it,
 * it also reads the model folder and the task's trained heads.
 */
export function taskFileHover(doc: TextDocument, line: number, character: number, context?: FeatureContext): Hover | null {
  const text = doc.getText();
  const location = getLocation(text, doc.offsetAt({ line, character }));
  if (location.path[0] === 'dataset') return datasetFieldHover(text, location.path[1], context ? doc.uri : undefined);
  const key = [...location.path].reverse().find((p): p is string => typeof p === 'string');
  if (key === undefined || !(key in FIELD_HELP)) return null;
  const levelIndex = location.path[0] === 'levels' && typeof location.path[1] === 'number' ? location.path[1] : undefined;
  const prefix = levelIndex !== undefined ? `**Level ${levelIndex + 1}** — ` : '';
  const parts = [`${prefix}\`${key}\`: ${FIELD_HELP[key]}`];
  if (context) {
    const root = taskTree(text);
    if (levelIndex !== undefined) parts.push(headSummary(root, doc.uri, levelIndex, context), scanSummary(root, doc.uri, levelIndex, context));
    else if (location.path.length === 1 && key === 'model') parts.push(modelSummary(root, doc.uri, context));
    else if (location.path.length === 1 && key === 'heads') parts.push(...headsFolderSummary(root, doc.uri, context));
    else if (location.path[0] === 'exitWhenSure') parts.push(...exitHeadsSummary(root, doc.uri, context));
  }
  return { contents: { kind: 'markdown', value: parts.filter((p) => p !== '').join('\n\n') } };
}

/**
 * `dataset` or one of its splits: the field's help and, for a file that exists, what it holds
 * (rows, labels per level, lines training would skip). Inside `dataset` the keys are split names,
 * so `train` here is the training file, not the training settings. Files are read only with a
 * `uri` (the caller has a FeatureContext).
 */
function datasetFieldHover(text: string, split: string | number | undefined, uri: string | undefined): Hover {
  const name = typeof split === 'string' ? `dataset.${split}` : 'dataset';
  const parts = [`\`${name}\`: ${FIELD_HELP['dataset']}`];
  const root = taskTree(text);
  const node = root && taskNodeAt(root, typeof split === 'string' ? ['dataset', split] : ['dataset']);
  const base = uri !== undefined ? taskBaseDir(uri) : undefined;
  if (node?.type === 'string' && typeof node.value === 'string' && node.value.trim() !== '' && base !== undefined) {
    const facts = factsOf(resolve(base, node.value));
    if (facts && 'why' in facts) parts.push(`(The file is ${markdownText(facts.why)}.)`);
    else if (facts) parts.push(datasetSummary(facts));
  }
  return { contents: { kind: 'markdown', value: parts.join('\n\n') } };
}

function datasetSummary(facts: DatasetFacts): string {
  const rows = `${facts.rows.toLocaleString('en')} example${facts.rows === 1 ? '' : 's'}`;
  const labels = facts.levels.length > 0 ? `; labels per level ${facts.levels.map((l) => l.size.toLocaleString('en')).join(' / ')}` : '';
  const skipped = facts.malformed > 0 ? `; ⚠ ${facts.malformed} line${facts.malformed === 1 ? '' : 's'} not a JSON object (training skips them)` : '';
  return `${rows}${labels}${skipped}.`;
}

function modelSummary(root: Node | undefined, uri: string, context: FeatureContext): string {
  const folders = taskFolders(root, uri, context);
  if (folders.modelDir === undefined) return '';
  const model = modelLayers(folders.modelDir);
  return 'problem' in model ? `⚠ ${markdownText(model.problem)}` : `${markdownText(folders.modelName)}: ${model.layers} layers.`;
}

/** "2026-11-23T13:24:56.280Z" → "2026-11-23 13:24 UTC"; other strings (a hand-edited record's) as they are, escaped. */
function when(iso: string): string {
  return /^\d{4}-\d\d-\d\dT\d\d:\d\d/.test(iso) ? `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC` : markdownText(iso);
}

/**
 * The heads folder at a glance: how many levels have a trained head (and the newest's time), the
 * flat baseline, and the last evaluation kept there with its change since the previous one.
 */
function headsFolderSummary(root: Node | undefined, uri: string, context: FeatureContext): string[] {
  const folders = taskFolders(root, uri, context);
  const { headsDir } = folders;
  if (headsDir === undefined) return [];
  const levels = root && taskNodeAt(root, ['levels']);
  const count = levels?.type === 'array' ? (levels.children?.length ?? 0) : 0;
  const heads = Array.from({ length: count }, (_, i) => trainedHead(folders, i + 1)).filter((m) => m !== undefined);
  const flat = trainedBaseline(folders);
  const problem = headsFolderNotice(folders);
  // Another task's heads (a copied task file keeps "heads"; a renamed task) are refused by
  // classifying and training, and a file is no folder: say so here rather than count heads.
  if (problem !== undefined) return [warning(problem)];
  if (heads.length === 0 && !flat) return [`No trained heads yet in ${inlineCode(headsDir)}: fine-tune to make them.`];
  const newest = [...heads, ...(flat ? [flat] : [])].map((m) => m.createdAt).sort().at(-1)!;
  const baseline = flat ? ', and the flat baseline' : '';
  return [`**Heads** in ${inlineCode(headsDir)}: ${heads.length} of ${count} level${count === 1 ? '' : 's'} trained${baseline} (the newest ${when(newest)}).`, evaluationSummary(headsDir)].filter((p) => p !== '');
}

/** A heads folder's problem (headsFolderNotice: the task panel's and the status's words) as a hover's warning. */
function warning(problem: string): string {
  return `⚠ ${markdownText(`${problem[0]!.toUpperCase()}${problem.slice(1)}`)}.`;
}

/** "**Last evaluation** (…): joint 63.2 % HdLM, 63.2 % flat; since the previous one, joint −0.2 points (p 0.10)." */
function evaluationSummary(headsDir: string): string {
  const { evaluation, thoughtEvaluation } = readEvaluation(headsDir);
  const record = evaluation ?? thoughtEvaluation;
  if (!record) return '';
  const pct = (x: number | undefined): string => (x === undefined ? '?' : percent(x));
  // A classification's headline is the joint path; a thought-then-answer task's, the answer.
  const measure = evaluation ? 'joint' : 'answer';
  const of = (name: 'hdlm' | 'flat'): number | undefined =>
    evaluation ? evaluation.variants.find((v) => v.name === name)?.jointAccuracy : thoughtEvaluation?.variants.find((v) => v.name === name)?.answerAccuracy;
  const figures = `${measure} ${pct(of('hdlm'))} HdLM, ${pct(of('flat'))} flat`;
  const change = record.sincePrevious?.changes.find((c) => c.measure === measure);
  const since = change ? `; since the previous one, ${measure} ${signedPoints(change.difference.difference)} points (${formatPValue(change.difference.pValue)})` : '';
  return `**Last evaluation** (${when(record.finishedAt)}, ${record.examples.toLocaleString('en')} examples of ${markdownText(basename(record.file))}): ${figures}${since}.`;
}

/**
 * `exitWhenSure`: whether every head its exits need is trained (else which are missing, and that
 * each level is decided at its own layer until a fine-tuning), and where the kept evaluation
 * decided each level when it exited so.
 */
function exitHeadsSummary(root: Node | undefined, uri: string, context: FeatureContext): string[] {
  const folders = taskFolders(root, uri, context);
  const layersNode = root && taskNodeAt(root, ['exitWhenSure', 'layers']);
  const levelsNode = root && taskNodeAt(root, ['levels']);
  if (folders.headsDir === undefined || folders.modelDir === undefined || layersNode?.type !== 'array' || levelsNode?.type !== 'array') return [];
  const model = modelLayers(folders.modelDir);
  if ('problem' in model) return [];
  const L = model.layers;
  const exits = (layersNode.children ?? []).map((n) => (n.value === 'last' ? L : n.value)).filter((l): l is number => typeof l === 'number' && l >= 1 && l <= L);
  const levels = (levelsNode.children ?? []).map((_, i) => levelLayer(root, i, folders.modelDir));
  if (exits.length === 0 || levels.some((l) => l === undefined)) return [];
  const { names, missing } = exitHeads({ levels: levels as number[], headsDir: folders.headsDir }, exits, L);
  const all = new Set(names.flat()).size;
  const heads = missing.length === 0
    ? `**Exit heads** in ${inlineCode(folders.headsDir)}: all ${all} trained.`
    : `⚠ **Not used yet**: ${all - missing.length} of the ${all} heads these exits need are trained (no ${missing.map(inlineCode).join(', ')}); each level is decided at its own layer until the task is fine-tuned again.`;
  const exiting = readEvaluation(folders.headsDir).evaluation?.variants[0]?.exitWhenSure;
  const percents = (row: (number | null)[]): string => `${row.map((x) => (x === null ? '–' : (100 * x).toFixed(0))).join(' / ')} %`;
  const shares = exiting
    ? `**Last evaluation** (τ ${exiting.threshold}) decided ${exiting.decidedAt.map((row, d) => `level ${d + 1} at layer ${exiting.layers.join(' / ')} in ${percents(row)}${exiting.accuracyAt ? ` (right ${percents(exiting.accuracyAt[d]!)})` : ''}`).join('; ')}.`
    : '';
  return [heads, shares];
}

/** What the level's trained head is, or that the model's own head stands in for it. */
function headSummary(root: Node | undefined, uri: string, levelIndex: number, context: FeatureContext): string {
  const folders = taskFolders(root, uri, context);
  if (folders.headsDir === undefined) return '';
  const file = `${headName(folders.kind, levelIndex + 1)}.json`;
  const manifest = trainedHead(folders, levelIndex + 1);
  const problem = headsFolderNotice(folders);
  if (!manifest && problem !== undefined) return warning(problem);
  if (!manifest) return `No trained head yet (${inlineCode(file)} in the heads folder): the model's own head decides this level until you fine-tune.`;
  const { bestDevAccuracy, bestEpoch } = trainingSummary(manifest);
  const over = manifest.labelScoring === 'choices' ? ' over label choices' : '';
  const accuracy = bestDevAccuracy !== undefined ? `, best dev accuracy${over} ${percent(bestDevAccuracy)}${bestEpoch !== undefined ? ` at epoch ${bestEpoch}` : ''}` : '';
  const summary = `**Trained head** (${inlineCode(file)}): layer ${manifest.layer}, kind ${inlineCode(String(manifest.kind))}${accuracy}, trained ${when(manifest.createdAt)}.`;
  const wanted = levelLayer(root, levelIndex, folders.modelDir);
  // A head reads the hidden state of the layer it was trained at: after an edit the level stays
  // there until a fine-tuning (taskSession's headLayers).
  const stale = wanted !== undefined && wanted !== manifest.layer ? `\n\n⚠ This level now says layer ${wanted}: it is decided at layer ${manifest.layer}, where its head was trained, until the task is fine-tuned again.` : '';
  return summary + stale;
}

/** What the kept layer scan measured for this level: at the layer it asks for, the best layer, the suggested one. */
function scanSummary(root: Node | undefined, uri: string, levelIndex: number, context: FeatureContext): string {
  const folders = taskFolders(root, uri, context);
  if (folders.headsDir === undefined) return '';
  let scan: ReturnType<typeof readLayerScan>;
  try {
    scan = readLayerScan(folders.headsDir);
  } catch (err) {
    return `⚠ ${markdownText(errorMessage(err))}`;
  }
  const level = scan?.levels[levelIndex];
  if (!scan || !level) return '';
  const at = (layer: number | undefined): string | undefined => {
    const cell = level.cells.find((c) => c.layer === layer);
    return cell && percent(cell.accuracy);
  };
  const wanted = levelLayer(root, levelIndex, folders.modelDir);
  const here = at(wanted) !== undefined ? `${at(wanted)} at layer ${wanted} (this level's layer now), ` : '';
  const measured = scan.kind === 'thoughtThenAnswer' ? 'the whole thought right' : 'the label right given the ones above';
  return `**Layer scan** (${when(scan.finishedAt)}, ${scan.examples.dev.toLocaleString('en')} dev examples, ${measured}): ${here}best ${at(level.best)} at layer ${level.best}; suggested layer ${level.suggested} (${at(level.suggested)}).`;
}

/** The layer a level asks for, with "last" resolved against the model when it can be read. */
function levelLayer(root: Node | undefined, levelIndex: number, modelDir: string | undefined): number | undefined {
  const level = root && taskNodeAt(root, ['levels', levelIndex]);
  const node = level?.type === 'object' ? taskNodeAt(level, ['layer']) : level;
  if (node?.type === 'number' && typeof node.value === 'number') return node.value;
  if (node?.value !== 'last' || modelDir === undefined) return undefined;
  const model = modelLayers(modelDir);
  return 'layers' in model ? model.layers : undefined;
}
