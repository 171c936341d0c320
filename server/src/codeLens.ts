// Code lenses: on a task file, "Fine-tune" and "Evaluate" on its "name" line (or the first line),
// and "Mistakes" and "Per label" once an evaluation has kept its predictions; "Suggest layers"
// (the layer scan) on the "levels" line;
// on a hierarchical dataset, "Classify this example" on each line, with the labels it carries in
// the title so that the classifier's answer can be compared at a glance. The commands are the
// client's; the lenses only name them with their argument.
import { taskNodeAt, taskTree } from '../../engine/src/hdlm/taskFile';
import type { CodeLens, Range } from 'vscode-languageserver';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PREDICTIONS_FILE } from '../../engine/src/hdlm/evaluateTask';
import { datasetIndex } from './datasetIndex';
import { taskHeadsDir } from './taskFacts';
import { datasetKind } from './datasetKind';

/** Lenses on at most this many dataset lines: more only slows the editor down. */
export const MAX_DATASET_LENSES = 2000;

export function codeLenses(doc: TextDocument): CodeLens[] {
  if (doc.languageId === 'hdlm-task') return taskFileLenses(doc);
  if (doc.languageId === 'jsonl') return datasetLenses(doc);
  return [];
}

export function taskFileLenses(doc: TextDocument): CodeLens[] {
  const root = taskTree(doc.getText());
  const name = root && taskNodeAt(root, ['name']);
  const line = name ? doc.positionAt(name.offset).line : 0;
  const range: Range = { start: { line, character: 0 }, end: { line, character: 0 } };
  const lenses: CodeLens[] = [
    { range, command: { title: 'Fine-tune', command: 'hdlm.fineTune', arguments: [doc.uri] } },
    { range, command: { title: 'Evaluate', command: 'hdlm.evaluate', arguments: [doc.uri] } },
  ];
  // The layer scan, on the levels' line.
  const levels = root && taskNodeAt(root, ['levels']);
  if (levels) {
    const at = doc.positionAt(levels.offset).line;
    lenses.push({ range: { start: { line: at, character: 0 }, end: { line: at, character: 0 } }, command: { title: 'Suggest layers', command: 'hdlm.scanLayers', arguments: [doc.uri] } });
  }
  const headsDir = taskHeadsDir(root, doc.uri);
  if (headsDir !== undefined && existsSync(join(headsDir, PREDICTIONS_FILE))) {
    lenses.push({ range, command: { title: 'Mistakes', command: 'hdlm.showMistakes', arguments: [doc.uri] } });
    lenses.push({ range, command: { title: 'Per label', command: 'hdlm.showLabelReport', arguments: [doc.uri] } });
  }
  return lenses;
}

export function datasetLenses(doc: TextDocument): CodeLens[] {
  if (datasetKind(doc.getText()) !== 'hierarchical') return [];
  const lenses: CodeLens[] = [];
  const { records } = datasetIndex(doc);
  for (let line = 0; line < Math.min(records.length, MAX_DATASET_LENSES); line++) {
    const record = records[line];
    if (!record || record.text.trim() === '') continue;
    const title = record.labels ? `Classify this example (labelled: ${record.labels.join(' › ')})` : 'Classify this example';
    lenses.push({ range: { start: { line, character: 0 }, end: { line, character: 0 } }, command: { title, command: 'hdlm.classify', arguments: [record.text] } });
  }
  return lenses;
}
