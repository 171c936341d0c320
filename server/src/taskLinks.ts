// Document links in task files: the dataset paths open their files, and the model opens its
// model card (README.md) or, without one, its config.json, so the files a task is made of are one
// click away. Only files that exist are linked: a missing one has its own diagnostic.
import type { Node } from 'jsonc-parser';
import { taskNodeAt, taskTree } from '../../engine/src/hdlm/taskFile';
import type { DocumentLink } from 'vscode-languageserver';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { taskBaseDir, taskFolders, type FeatureContext } from './taskFacts';

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** A link over a JSON string's contents (not its quotes), as VS Code's own JSON links are drawn. */
function linkOver(doc: TextDocument, node: Node, target: string, tooltip: string): DocumentLink {
  return { range: { start: doc.positionAt(node.offset + 1), end: doc.positionAt(node.offset + node.length - 1) }, target: pathToFileURL(target).href, tooltip };
}

export function taskFileLinks(doc: TextDocument, context: FeatureContext): DocumentLink[] {
  const base = taskBaseDir(doc.uri);
  const root = taskTree(doc.getText());
  if (base === undefined || !root) return [];
  const links: DocumentLink[] = [];
  const dataset = taskNodeAt(root, ['dataset']);
  const splits = dataset?.type === 'string' ? [{ split: 'training', node: dataset }] : (['train', 'dev', 'test'] as const).map((split) => ({ split: split === 'train' ? 'training' : split, node: dataset && taskNodeAt(dataset, [split]) }));
  for (const { split, node } of splits) {
    if (node?.type !== 'string' || typeof node.value !== 'string' || node.length < 3) continue;
    const path = resolve(base, node.value);
    if (isFile(path)) links.push(linkOver(doc, node, path, `Open the ${split} dataset`));
  }
  const folders = taskFolders(root, doc.uri, context);
  const model = folders.modelNode;
  if (model?.type === 'string' && model.length >= 3 && folders.modelDir !== undefined) {
    const card = join(folders.modelDir, 'README.md');
    const config = join(folders.modelDir, 'config.json');
    if (isFile(card)) links.push(linkOver(doc, model, card, 'Open the model card'));
    else if (isFile(config)) links.push(linkOver(doc, model, config, "Open the model's config.json"));
  }
  return links;
}
