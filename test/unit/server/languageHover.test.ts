// Hover on dataset labels (level, use count, parent, children) and on task-file levels with a
// trained head (layer, kind, best dev accuracy and epoch, when it was trained) and the kept
// layer scan's figures for the level, and on `exitWhenSure` (its exit heads, the shares decided).
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import type { Hover } from 'vscode-languageserver';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { datasetHover } from '../../../server/src/datasetHover';
import { taskFileHover } from '../../../server/src/hover';
import { fileIndex } from '../../../server/src/labelUses';
import { factsOf } from '../../../server/src/taskFacts';
import { saveLayerScan } from '../../../engine/src/hdlm/layerScan';
import { writeTinyCheckpoint } from '../../support/tinyCheckpoint';

const root = resolve(__dirname, '..', '..', '..', '..');
const work = mkdtempSync(join(tmpdir(), 'hdlm-hover-'));
after(() => rmSync(work, { recursive: true, force: true }));

function value(hover: Hover | null): string {
  assert.ok(hover, 'a hover');
  return (hover.contents as { value: string }).value;
}

/** The hover at the first `|` of the text (which is removed). */
function datasetHoverAt(textWithCursor: string, uri = 'file:///ws/d.jsonl'): Hover | null {
  const offset = textWithCursor.indexOf('|');
  // The label index is kept per URI and version: a test with other text uses another URI.
  const doc = TextDocument.create(uri, 'jsonl', 1, textWithCursor.replace('|', ''));
  return datasetHover(doc, doc.positionAt(offset));
}

const dataset = ['{"text":"barks","labels":["animal","dog"]}', '{"text":"purrs","labels":["animal","cat"]}', '{"text":"oak","labels":["plant","tree"]}'];

test('hovering a dataset label shows its level, use count, parent and children', () => {
  const coarse = value(datasetHoverAt([`{"text":"woofs","labels":["an|imal","dog"]}`, ...dataset].join('\n')));
  assert.match(coarse, /^\*\*`animal`\*\* · level 1 of 2/);
  assert.match(coarse, /used on 3 lines/);
  assert.match(coarse, /top level: no parent/);
  assert.match(coarse, /2 children at level 2/);
  const fine = value(datasetHoverAt([...dataset.slice(0, 2), '{"text":"oak","labels":["plant","tr|ee"]}'].join('\n')));
  assert.match(fine, /level 2 of 2/);
  assert.match(fine, /used on 1 line\n/);
  assert.match(fine, /parent: `plant`/);
  assert.match(fine, /finest level: no children/);
  assert.equal(datasetHoverAt(['{"text":"ba|rks","labels":["animal","dog"]}'].join('\n')), null, 'only labels have a hover');
});

/**
 * `markdown` with its code spans taken out, as CommonMark reads them: a run of n backticks opens
 * one, closed by the next run of exactly n; a backslash-escaped backtick opens none.
 */
function outsideCode(markdown: string): string {
  let out = '';
  for (let i = 0; i < markdown.length; ) {
    if (markdown[i] === '\\') {
      out += markdown.slice(i, i + 2);
      i += 2;
      continue;
    }
    const run = /^`+/.exec(markdown.slice(i))?.[0];
    if (!run) {
      out += markdown[i++];
      continue;
    }
    const close = new RegExp(`(?<!\`)${run}(?!\`)`, 'g');
    close.lastIndex = i + run.length;
    const end = close.exec(markdown);
    if (end) i = end.index + run.length;
    else {
      out += run;
      i += run.length;
    }
  }
  return out;
}

test('a label that is Markdown (backticks, an image, a link) shows as written in a code span, never as markup', () => {
  const label = 'a` ![x](https://attacker.example/pixel.png) [click](https://attacker.example/) ``b';
  const line = JSON.stringify({ text: 'hello', labels: [label, 'child'] });
  const hover = value(datasetHoverAt(line.replace('"a`', '"a|`'), 'file:///ws/evil.jsonl'));
  const prose = outsideCode(hover);
  // Outside code, no image and no link: only the title's bold and the facts.
  assert.doesNotMatch(prose, /(?<!\\)!\[|(?<!\\)\]\(|https?:/, hover);
  assert.equal(prose.split('\n')[0], '**** · level 1 of 2', hover);
  // The code span holds the label itself, fenced by more backticks than any run in it.
  assert.ok(hover.startsWith(`**\`\`\`${label}\`\`\`** · level 1 of 2`), hover);
  const parent = value(datasetHoverAt(line.replace('"child"', '"ch|ild"'), 'file:///ws/evil.jsonl'));
  assert.doesNotMatch(outsideCode(parent), /(?<!\\)!\[|(?<!\\)\]\(|https?:/, parent);
});

test('hovering a level with a trained head shows the head from its manifest', () => {
  writeTinyCheckpoint(join(work, 'model'), { family: 'llama', layers: 8, hidden: 16, heads: 2, intermediate: 24, vocab: 64 });
  const heads = join(work, 'heads', 'wordnet');
  mkdirSync(heads, { recursive: true });
  for (const f of ['level1.json', 'level2.json']) copyFileSync(join(root, 'models', 'hdlm-tiny', 'heads', 'wordnet', f), join(heads, f));
  const text = '{\n  "name": "wordnet",\n  "model": "model",\n  "levels": [{ "layer": 4 }, { "layer": 5 }, { "layer": "last" }]\n}\n';
  const doc = TextDocument.create(pathToFileURL(join(work, 'wordnet.hdlm.json')).toString(), 'hdlm-task', 1, text);
  const context = { defaultModelDir: join(work, 'model') };
  const at = (needle: string): string => value(taskFileHover(doc, 3, text.split('\n')[3]!.indexOf(needle) + 2, context));
  const first = at('"layer": 4');
  assert.match(first, /^\*\*Level 1\*\* — `layer`/);
  // The shipped head's own record (it changes whenever the shipped heads are retrained).
  const shipped = JSON.parse(readFileSync(join(heads, 'level1.json'), 'utf8')) as { createdAt: string; labelScoring?: string; training: { bestDevAccuracy: number; bestEpoch: number } };
  const when = `${shipped.createdAt.slice(0, 10)} ${shipped.createdAt.slice(11, 16)} UTC`;
  // A head trained on label choices says its accuracy counts only those tokens.
  const over = shipped.labelScoring === 'choices' ? ' over label choices' : '';
  assert.ok(first.includes(`**Trained head** (\`level1.json\`): layer 4, kind \`rows\`, best dev accuracy${over} ${(shipped.training.bestDevAccuracy * 100).toFixed(1)}% at epoch ${shipped.training.bestEpoch}, trained ${when}.`), first);
  assert.doesNotMatch(first, /fine-tune again/);
  assert.match(at('"layer": 5'), /layer 6, .*\n\n⚠ This level now says layer 5: it is decided at layer 6, where its head was trained, until the task is fine-tuned again\./, 'a head trained at another layer is flagged');
  assert.match(at('"layer": "last"'), /No trained head yet \(`level3\.json`/);
  assert.match(value(taskFileHover(doc, 2, 5, context)), /model: 8 layers\./);
});

test('hovering a dataset path says what the file holds; inside `dataset`, `train` is the training file', () => {
  mkdirSync(join(work, 'split'), { recursive: true });
  // A line training skips (a trailing comma) does not lend the file its labels.
  writeFileSync(join(work, 'split', 'train.jsonl'), [...dataset, 'not json', '{"text": "typed", "labels": ["new", "newer"],}', ''].join('\n'));
  const text = '{ "name": "t", "dataset": { "train": "split/train.jsonl", "test": "split/none.jsonl" }, "train": { "epochs": 2 } }';
  const doc = TextDocument.create(pathToFileURL(join(work, 't.hdlm.json')).href, 'hdlm-task', 1, text);
  const at = (needle: string): string => value(taskFileHover(doc, 0, text.indexOf(needle) + 2, { defaultModelDir: join(work, 'none') }));
  const file = at('"split/train.jsonl"');
  assert.match(file, /^`dataset\.train`: JSON Lines/);
  assert.match(file, /3 examples; labels per level 2 \/ 3; ⚠ 2 lines not a JSON object \(training skips them\)\.$/);
  assert.doesNotMatch(at('"split/none.jsonl"'), /examples/, 'a missing file is the diagnostics\' business');
  assert.match(at('"epochs"'), /Most passes/, 'the training settings keep their own help');
  // Without a context the hover reads no files.
  assert.doesNotMatch(value(taskFileHover(doc, 0, text.indexOf('"split/train.jsonl"') + 2)), /examples/);
});

test('a large dataset file is read in the background: its hover says so until it has been, then what it holds', async () => {
  // Past 4 MiB a file is not read at once on a hover (it would hold the server): the label index streams it.
  const line = (i: number): string => JSON.stringify({ text: `example ${i} ${'x'.repeat(80)}`, labels: [`a${i % 3}`, `b${i % 7}`] });
  const path = join(work, 'split', 'large.jsonl');
  writeFileSync(path, Array.from({ length: 50_000 }, (_, i) => line(i)).join('\n') + '\nnot json\n');
  const text = '{ "name": "t", "dataset": { "train": "split/large.jsonl" } }';
  const doc = TextDocument.create(pathToFileURL(join(work, 'large.hdlm.json')).href, 'hdlm-task', 1, text);
  const hover = (): string => value(taskFileHover(doc, 0, text.indexOf('"split/large.jsonl"') + 2, { defaultModelDir: join(work, 'none') }));
  assert.match(hover(), /\(The file is being read\.\)$/);
  await fileIndex(path);
  assert.match(hover(), /50,000 examples; labels per level 3 \/ 7; ⚠ 1 line not a JSON object \(training skips them\)\.$/);
});

test('a large dataset file that is not UTF-8 is said to be, by line, once read in the background (as training refuses it)', async () => {
  // Past 4 MiB the label index streams the file; it decodes as strictly as readTextFile does for a
  // small one, so the editor never shows facts of text with U+FFFD in place of bad bytes.
  const line = (i: number): string => JSON.stringify({ text: `exemple ${i} é ${'z'.repeat(80)}`, labels: [`a${i % 3}`] });
  const lines = Array.from({ length: 50_000 }, (_, i) => line(i));
  const path = join(work, 'split', 'latin1.jsonl');
  const bad = Buffer.from(JSON.stringify({ text: 'caf\u00e9', labels: ['a0'] }), 'latin1');
  writeFileSync(path, Buffer.concat([Buffer.from(lines.slice(0, 30_000).join('\n') + '\n'), bad, Buffer.from('\n' + lines.slice(30_000).join('\n') + '\n')]));
  const text = '{ "name": "t", "dataset": { "train": "split/latin1.jsonl" } }';
  const doc = TextDocument.create(pathToFileURL(join(work, 'latin1.hdlm.json')).href, 'hdlm-task', 1, text);
  const hover = (): string => value(taskFileHover(doc, 0, text.indexOf('"split/latin1.jsonl"') + 2, { defaultModelDir: join(work, 'none') }));
  assert.match(hover(), /\(The file is being read\.\)$/);
  await assert.rejects(fileIndex(path), /latin1\.jsonl:30001: not valid UTF-8/);
  assert.match(hover(), /\(The file is unreadable: line 30001: not valid UTF-8; save the file as UTF-8\.\)$/);
});

test('the facts of more large datasets than the label index keeps stay known: no file is read again while it is unchanged', async () => {
  // Seven files above 4 MiB, each read in the background: the index keeps six, the facts all.
  const line = (i: number): string => JSON.stringify({ text: `example ${i} ${'y'.repeat(90)}`, labels: [`c${i % 2}`] });
  const files = Array.from({ length: 7 }, (_, k) => join(work, 'split', `many-${k}.jsonl`));
  for (const [k, path] of files.entries()) {
    writeFileSync(path, Array.from({ length: 40_000 + k }, (_, i) => line(i)).join('\n'));
    assert.ok(factsOf(path) && 'why' in factsOf(path)!, 'being read');
    await fileIndex(path);
    assert.equal((factsOf(path) as { rows: number }).rows, 40_000 + k);
  }
  // The first file's index has been evicted by now; its facts have not, so nothing reads it again.
  assert.equal((factsOf(files[0]!) as { rows: number }).rows, 40_000);
});

test('hovering a thought says how many lines use it', () => {
  const lines = ['{"input":"barks","thought":"animal","answer":"dog"}', '{"input":"purrs","thought":"ani|mal","answer":"cat"}', '{"input":"grows","thought":"plant","answer":"oak"}'];
  const hover = value(datasetHoverAt(lines.join('\n'), 'file:///ws/words.jsonl'));
  assert.equal(hover, '**`animal`** · thought\n- used on 2 lines\n- one of 2 thoughts in this file');
  assert.equal(datasetHoverAt(lines.join('\n').replace('ani|mal', 'animal').replace('"cat"', '"c|at"'), 'file:///ws/words.jsonl'), null, 'an answer has no hover');
});

test('hovering `heads` tells how many levels are trained and what the last evaluation measured, and the change since', () => {
  const shippedHeads = join(root, 'models', 'hdlm-tiny', 'heads', 'wordnet');
  const heads = join(work, 'hf', 'wn');
  const text = '{\n  "name": "wordnet",\n  "model": "model",\n  "heads": "hf/wn",\n  "levels": [{ "layer": 4 }, { "layer": 6 }, { "layer": "last" }]\n}\n';
  const doc = TextDocument.create(pathToFileURL(join(work, 'heads-hover.hdlm.json')).toString(), 'hdlm-task', 1, text);
  const context = { defaultModelDir: join(work, 'model') };
  const hover = (): string => value(taskFileHover(doc, 3, 4, context));
  assert.match(hover(), new RegExp(`^\`heads\`: Folder for the trained heads .*\\n\\nNo trained heads yet in \`${heads.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\`: fine-tune to make them\\.$`));
  mkdirSync(heads, { recursive: true });
  for (const f of ['level1.json', 'level2.json', 'flat.json', 'evaluation.json']) copyFileSync(join(shippedHeads, f), join(heads, f));
  const record = JSON.parse(readFileSync(join(heads, 'evaluation.json'), 'utf8')) as { finishedAt: string; examples: number; variants: { name: string; jointAccuracy: number }[] };
  const flat = JSON.parse(readFileSync(join(heads, 'flat.json'), 'utf8')) as { createdAt: string };
  const newest = [flat, ...['level1.json', 'level2.json'].map((f) => JSON.parse(readFileSync(join(heads, f), 'utf8')) as { createdAt: string })].map((m) => m.createdAt).sort().at(-1)!;
  const when = (iso: string): string => `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
  const joint = (name: string): string => `${(record.variants.find((v) => v.name === name)!.jointAccuracy * 100).toFixed(1)}%`;
  const shown = hover();
  assert.ok(shown.includes(`**Heads** in \`${heads}\`: 2 of 3 levels trained, and the flat baseline (the newest ${when(newest)}).`), shown);
  assert.ok(shown.includes(`**Last evaluation** (${when(record.finishedAt)}, ${record.examples.toLocaleString('en')} examples of test.jsonl): joint ${joint('hdlm')} HdLM, ${joint('flat')} flat.`), shown);
  // An evaluation that replaced an earlier one also says what changed since.
  const difference = { aOnly: 39, bOnly: 56, difference: -0.0022, ci95: [-0.005, 0.0004], pValue: 0.1 };
  writeFileSync(join(heads, 'evaluation.json'), JSON.stringify({ ...record, sincePrevious: { finishedAt: record.finishedAt, file: 'test.jsonl', examples: 7561, changes: [{ measure: 'joint', previous: 0.632, now: 0.63, difference }] } }));
  assert.match(hover(), /flat; since the previous one, joint −0\.2 points \(p 0\.10\)\.$/);
});

test('hovering a level shows what the kept layer scan measured for it; a damaged record is named', () => {
  writeTinyCheckpoint(join(work, 'scan-model'), { family: 'llama', layers: 4, hidden: 16, heads: 2, intermediate: 24, vocab: 64 });
  const heads = join(work, 'scan-heads');
  const text = '{\n  "name": "scanned",\n  "model": "scan-model",\n  "heads": "scan-heads",\n  "levels": [{ "layer": 2 }, { "layer": "last" }]\n}\n';
  const doc = TextDocument.create(pathToFileURL(join(work, 'scanned.hdlm.json')).toString(), 'hdlm-task', 1, text);
  const context = { defaultModelDir: join(work, 'scan-model') };
  const at = (needle: string): string => value(taskFileHover(doc, 4, text.split('\n')[4]!.indexOf(needle) + 2, context));
  assert.doesNotMatch(at('"layer": 2'), /Layer scan/, 'no scan yet');
  const cells = (accuracies: number[]) => accuracies.map((accuracy, i) => ({ layer: i + 1, accuracy, tokenAccuracy: accuracy, bestEpoch: 1, epochs: 1, trainRows: 5 }));
  const even = { aOnly: 0, bOnly: 0, difference: 0, ci95: [0, 0] as [number, number], pValue: 1 };
  saveLayerScan(heads, {
    format: 'hdlm-layer-scan/1', task: 'scanned', modelFingerprint: 'f', numLayers: 4, current: [2, 'last'], suggested: [1, 'last'], tolerance: 0.01,
    examples: { train: 100, dev: 1234 }, layers: [1, 2, 3, 4],
    levels: [
      { level: 1, cells: cells([0.8, 0.805, 0.7, 0.7]), best: 2, suggested: 1, suggestedVsBest: even },
      { level: 2, cells: cells([0.1, 0.2, 0.5, 0.6]), best: 4, suggested: 4, suggestedVsBest: even },
    ],
    settings: { epochs: 1, patience: 1, learningRate: 0.001, batchSize: 8, seed: 0 }, seconds: { features: 1, training: 1 }, finishedAt: '2026-12-06T19:00:00.000Z',
  });
  assert.match(at('"layer": 2'), /\*\*Layer scan\*\* \(2026-12-06 19:00 UTC, 1,234 dev examples, the label right given the ones above\): 80\.5% at layer 2 \(this level's layer now\), best 80\.5% at layer 2; suggested layer 1 \(80\.0%\)\.$/);
  // "last" is the model's last layer (4 here).
  assert.match(at('"layer": "last"'), /60\.0% at layer 4 \(this level's layer now\), best 60\.0% at layer 4; suggested layer 4 \(60\.0%\)\.$/);
  writeFileSync(join(heads, 'layer-scan.json'), '{ broken');
  assert.match(at('"layer": 2'), /⚠ .*layer-scan\.json: not JSON/);
});

test('hovering `exitWhenSure` tells which heads its exits still need, then where the last evaluation decided each level', () => {
  writeTinyCheckpoint(join(work, 'exit-model'), { family: 'llama', layers: 8, hidden: 16, heads: 2, intermediate: 24, vocab: 64 });
  const shippedHeads = join(root, 'models', 'hdlm-tiny', 'heads', 'wordnet');
  const heads = join(work, 'hf', 'exit');
  const text = '{\n  "name": "wordnet",\n  "model": "exit-model",\n  "heads": "hf/exit",\n  "levels": [{ "layer": 4 }, { "layer": 6 }, { "layer": "last" }],\n  "exitWhenSure": { "threshold": 0.9, "layers": [4, 6, "last"] }\n}\n';
  const doc = TextDocument.create(pathToFileURL(join(work, 'exit-hover.hdlm.json')).toString(), 'hdlm-task', 1, text);
  const context = { defaultModelDir: join(work, 'model') };
  const hover = (): string => value(taskFileHover(doc, 5, text.split('\n')[5]!.indexOf('threshold') + 2, context));
  mkdirSync(heads, { recursive: true });
  for (const f of ['level1.json', 'level2.json', 'level3.json', 'flat.json']) copyFileSync(join(shippedHeads, f), join(heads, f));
  // Each level at layers 4, 6 and 8: its own head at its own layer, flat's at 8, four new ones.
  assert.match(hover(), /^`threshold`: .*\n\n⚠ \*\*Not used yet\*\*: 4 of the 8 heads these exits need are trained \(no `level1-at6`, `level2-at4`, `level3-at4`, `level3-at6`\); each level is decided at its own layer until the task is fine-tuned again\.$/);
  for (const name of ['level1-at6', 'level2-at4', 'level3-at4', 'level3-at6']) copyFileSync(join(shippedHeads, 'level1.json'), join(heads, `${name}.json`));
  assert.ok(hover().endsWith(`**Exit heads** in \`${heads}\`: all 8 trained.`), hover());
  const record = JSON.parse(readFileSync(join(shippedHeads, 'evaluation.json'), 'utf8')) as { variants: Record<string, unknown>[] };
  const exitWhenSure = { threshold: 0.9, layers: [4, 6, 8], decidedAt: [[0.8, 0.2, 0], [0.5, 0.3, 0.2], [0.1, 0.2, 0.7]], accuracyAt: [[0.95, 0.6, null], [0.9, 0.7, 0.5], [0.8, 0.7, 0.6]] };
  writeFileSync(join(heads, 'evaluation.json'), JSON.stringify({ ...record, variants: [{ ...record.variants[0], exitWhenSure }, record.variants[1]] }));
  assert.ok(hover().endsWith('**Last evaluation** (τ 0.9) decided level 1 at layer 4 / 6 / 8 in 80 / 20 / 0 % (right 95 / 60 / – %); level 2 at layer 4 / 6 / 8 in 50 / 30 / 20 % (right 90 / 70 / 50 %); level 3 at layer 4 / 6 / 8 in 10 / 20 / 70 % (right 80 / 70 / 60 %).'), hover());
});

test("another task's heads in the folder are not shown as this task's: the level and heads hovers say whose they are", () => {
  // A copied task file keeps "heads" (or a task is renamed): loading and training refuse those
  // heads (headStore.ts), so the hover must not call the levels trained.
  const heads = join(work, 'heads', 'borrowed');
  mkdirSync(heads, { recursive: true });
  for (const f of ['level1.json', 'flat.json']) copyFileSync(join(root, 'models', 'hdlm-tiny', 'heads', 'wordnet', f), join(heads, f));
  const text = '{\n  "name": "copy",\n  "heads": "heads/borrowed",\n  "levels": [{ "layer": 4 }, { "layer": "last" }]\n}\n';
  const doc = TextDocument.create(pathToFileURL(join(work, 'copy.hdlm.json')).toString(), 'hdlm-task', 1, text);
  const context = { defaultModelDir: join(root, 'models', 'hdlm-tiny') };
  const level = value(taskFileHover(doc, 3, text.split('\n')[3]!.indexOf('"layer": 4') + 2, context));
  assert.doesNotMatch(level, /\*\*Trained head\*\*/);
  assert.match(level, /⚠ The heads folder .*borrowed holds the heads of task "wordnet" \(\w+\.json\), not of task "copy": classifying, evaluating, fine-tuning and scanning its layers refuse them; set "heads" to a folder of its own/);
  const folder = value(taskFileHover(doc, 2, 5, context));
  assert.match(folder, /holds the heads of task "wordnet" \(\w+\.json\), not of task "copy"/);
  assert.doesNotMatch(folder, /levels? trained/);
});

test("the hovers read a heads folder by the engine's one rule: another kind of task's heads, a file", () => {
  // A thought-then-answer task's heads (thought, answer: no level1 or flat) in a classify task's
  // folder are another task's, as training says (headsFolderOwner); the hovers looked only at level1 and flat.
  const heads = join(work, 'heads', 'thoughts');
  mkdirSync(heads, { recursive: true });
  for (const f of ['thought.json', 'answer.json']) copyFileSync(join(root, 'models', 'hdlm-tiny', 'heads', 'thought', f), join(heads, f));
  const hoverOn = (headsValue: string): { level: string; folder: string } => {
    const text = `{\n  "name": "copy",\n  "heads": "${headsValue}",\n  "levels": [{ "layer": 4 }, { "layer": "last" }]\n}\n`;
    const doc = TextDocument.create(pathToFileURL(join(work, 'kinds.hdlm.json')).toString(), 'hdlm-task', 1, text);
    const context = { defaultModelDir: join(root, 'models', 'hdlm-tiny') };
    return { level: value(taskFileHover(doc, 3, text.split('\n')[3]!.indexOf('"layer": 4') + 2, context)), folder: value(taskFileHover(doc, 2, 5, context)) };
  };
  const other = hoverOn('heads/thoughts');
  for (const hover of [other.level, other.folder]) assert.match(hover, /⚠ The heads folder .*thoughts holds the heads of task "thought" \(answer\.json\), not of task "copy"/);
  // A "heads" that is a file: saying "fine-tune to make them" would send the user into a refusal.
  writeFileSync(join(work, 'heads', 'a-file'), 'not a folder');
  const file = hoverOn('heads/a-file');
  for (const hover of [file.level, file.folder]) {
    assert.match(hover, /⚠ The heads folder .*a-file is a file; set "heads" to a folder/);
    assert.doesNotMatch(hover, /fine-tune to make them|until you fine-tune/);
  }
});
