// Hover help in task files: what the field under the cursor means. Pure and fast (a parse of the
// document's text), so it stays responsive while a fine-tuning job runs.
import { getLocation } from 'jsonc-parser';
import type { Hover } from 'vscode-languageserver';
import type { TextDocument } from 'vscode-languageserver-textdocument';

const FIELDS: Record<string, string> = {
  name: 'Name of the task; its heads are saved under `heads/<name>` unless `heads` says otherwise.',
  kind: '`classify` (coarse-to-fine labels) or `thoughtThenAnswer` (a thought at an intermediate layer, then the answer).',
  model: 'A Hugging Face model folder (relative to this file), or `default` for the shipped model.',
  dataset: 'JSON Lines: `{"text", "labels": [coarse, …, fine]}` per line; a path, or `{ "train", "dev", "test" }`.',
  system: 'The system turn of the HdLM sequence format.',
  levels: 'One entry per taxonomy level, coarse to fine: `{ "layer": k }` — the layer whose head decides that level; `"last"` for the last layer.',
  layer: 'The layer whose head decides this level: the input runs only this deep for it (early exit).',
  listCandidates: 'List each level\'s candidate labels in the prompt, as the paper does.',
  heads: 'Folder for the trained heads (relative to this file).',
  train: 'Fine-tuning settings: epochs, learningRate, batchSize, weightDecay, headKind (`full` or `lowRank`), rank, seed, devFraction, patience, maxExamples.',
  epochs: 'Passes over the training examples (early stopping may end sooner).',
  headKind: '`full`: train norm + unembedding as the paper does; `lowRank`: train a delta A·B of rank `rank` from the model\'s own head.',
  patience: 'Stop after this many epochs without a better dev accuracy.',
  maxExamples: 'Train on at most this many examples (0 = all), chosen by id hash.',
};

export function taskFileHover(doc: TextDocument, line: number, character: number): Hover | null {
  const location = getLocation(doc.getText(), doc.offsetAt({ line, character }));
  const key = [...location.path].reverse().find((p): p is string => typeof p === 'string');
  if (key === undefined || !(key in FIELDS)) return null;
  const levelIndex = location.path[0] === 'levels' && typeof location.path[1] === 'number' ? location.path[1] : undefined;
  const prefix = levelIndex !== undefined ? `**Level ${levelIndex + 1}** — ` : '';
  return { contents: { kind: 'markdown', value: `${prefix}\`${key}\`: ${FIELDS[key]}` } };
}
