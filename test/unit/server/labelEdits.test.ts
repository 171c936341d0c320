// Find References and Rename on dataset labels (and thought-then-answer thoughts): every use at the label's level, in the file and
// its sibling splits, past the lines live features index; merges only where the tree survives.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ResponseError, type Position, type WorkspaceEdit } from 'vscode-languageserver';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { datasetDiagnostics, MAX_LINES_CHECKED } from '../../../server/src/diagnostics';
import { labelFiles, labelReferences, prepareLabelRename, renameLabel, type ReadIndex } from '../../../server/src/labelEdits';
import { documentIndex, fileIndex } from '../../../server/src/labelUses';

const work = mkdtempSync(join(tmpdir(), 'hdlm-labels-'));
after(() => rmSync(work, { recursive: true, force: true }));

type ReadText = (uri: string) => string;
const textOnDisk: ReadText = (uri) => readFileSync(fileURLToPath(uri), 'utf8');
/** Label indexes as the server reads them: the `open` documents' from their text, other files' from disk. */
const reader =
  (...open: TextDocument[]): ReadIndex =>
  (uri) => {
    const doc = open.find((d) => d.uri === uri);
    return doc ? documentIndex(doc) : fileIndex(fileURLToPath(uri));
  };
const readDisk = reader();

const TRAIN = [
  '{"text":"barks at the dog next door","labels":["animal","dog"]}',
  '{"text":"purrs","labels":["animal","cat"]}',
  '{"text":"a dog rose","labels":["plant","rose"]}',
  '{"text":"wags its tail", "labels": [ "animal" , "dog" ], "id": "x"}',
].join('\n');
const DEV = '{"text":"howls","labels":["animal","dog"]}\n{"text":"an oak","labels":["plant","tree"]}\n';
const TEST = '{"text":"fetches","labels":["animal","dog"]}\n';

function splitFolder(name: string): { train: TextDocument; dev: string; test: string } {
  const dir = join(work, name);
  mkdirSync(dir);
  const [train, dev, test] = ['pets.train.jsonl', 'pets.dev.jsonl', 'pets.test.jsonl'].map((f) => join(dir, f));
  writeFileSync(train!, TRAIN);
  writeFileSync(dev!, DEV);
  writeFileSync(test!, TEST);
  return { train: TextDocument.create(pathToFileURL(train!).href, 'jsonl', 1, TRAIN), dev: pathToFileURL(dev!).href, test: pathToFileURL(test!).href };
}

/** The cursor inside the `n`th occurrence (0-based) of `"label"` on `line`. */
function on(doc: TextDocument, line: number, label: string, n = 0): Position {
  const text = doc.getText({ start: { line, character: 0 }, end: { line: line + 1, character: 0 } });
  let at = -1;
  for (let i = 0; i <= n; i++) at = text.indexOf(`"${label}"`, at + 1);
  assert.ok(at >= 0, `"${label}" on line ${line}`);
  return { line, character: at + 2 };
}

/** The files' texts after a WorkspaceEdit. */
function applied(edit: WorkspaceEdit, read: ReadText): Map<string, string> {
  const out = new Map<string, string>();
  for (const [uri, edits] of Object.entries(edit.changes ?? {})) out.set(uri, TextDocument.applyEdits(TextDocument.create(uri, 'jsonl', 1, read(uri)), edits));
  return out;
}

test('references find a label at its level in the file and its sibling splits, not in texts or at other levels', async () => {
  const { train, dev, test: testFile } = splitFolder('refs');
  const found = await labelReferences(train, on(train, 0, 'dog'), readDisk);
  assert.deepEqual(
    found.map((l) => [l.uri === train.uri ? 'train' : l.uri === dev ? 'dev' : l.uri === testFile ? 'test' : l.uri, l.range.start.line]),
    [['train', 0], ['train', 3], ['dev', 0], ['test', 0]],
  );
  // Each range is the label's JSON string, quotes included.
  assert.ok(found.filter((l) => l.uri === train.uri).every((l) => train.getText(l.range) === '"dog"'));
  assert.equal((await labelReferences(train, on(train, 1, 'animal'), readDisk)).length, 5, 'level 1: three train lines and two dev/test ones');
  assert.deepEqual(await labelReferences(train, { line: 0, character: 12 }, readDisk), [], 'the cursor in the text is not on a label');
});

test('rename changes every use at that level in every split, and nothing else on the lines', async () => {
  const { train, dev, test: testFile } = splitFolder('rename');
  const dog = train.getText().split('\n')[3]!.indexOf('"dog"');
  assert.deepEqual(prepareLabelRename(train, on(train, 3, 'dog')), { range: { start: { line: 3, character: dog }, end: { line: 3, character: dog + 5 } }, placeholder: 'dog' });
  const edit = await renameLabel(train, on(train, 3, 'dog'), 'canine', readDisk);
  const after = applied(edit, (uri) => (uri === train.uri ? train.getText() : textOnDisk(uri)));
  assert.deepEqual(after.get(train.uri)!.split('\n'), [
    '{"text":"barks at the dog next door","labels":["animal","canine"]}',
    '{"text":"purrs","labels":["animal","cat"]}',
    '{"text":"a dog rose","labels":["plant","rose"]}',
    '{"text":"wags its tail", "labels": [ "animal" , "canine" ], "id": "x"}',
  ]);
  assert.equal(after.get(dev), DEV.replace('"dog"', '"canine"'));
  assert.equal(after.get(testFile), TEST.replace('"dog"', '"canine"'));
  // A label JSON must escape is written escaped.
  const quoted = applied(await renameLabel(train, on(train, 1, 'cat'), 'the "cat"', readDisk), (uri) => (uri === train.uri ? train.getText() : textOnDisk(uri)));
  assert.equal(JSON.parse(quoted.get(train.uri)!.split('\n')[1]!).labels[1], 'the "cat"');
});

test('rename merges into a sibling, and refuses a label elsewhere in the tree, an empty name or padding', async () => {
  const { train } = splitFolder('merge');
  const merged = applied(await renameLabel(train, on(train, 1, 'cat'), 'dog', readDisk), (uri) => (uri === train.uri ? train.getText() : textOnDisk(uri)));
  assert.equal(datasetDiagnostics(TextDocument.create(train.uri, 'jsonl', 2, merged.get(train.uri)!)).length, 0, 'still a tree');
  const refused = async (name: string, at: Position): Promise<string> => {
    try {
      await renameLabel(train, at, name, readDisk);
    } catch (err) {
      assert.ok(err instanceof ResponseError);
      return err.message;
    }
    assert.fail(`renaming to ${JSON.stringify(name)} was accepted`);
  };
  assert.match(await refused('rose', on(train, 1, 'cat')), /'rose' is already a label under 'plant', and 'cat' is under 'animal'/);
  assert.match(await refused('plant', on(train, 1, 'cat')), /'plant' is already a level-1 label; 'cat' is at level 2/);
  assert.match(await refused(' ', on(train, 1, 'cat')), /cannot be empty/);
  assert.equal(await refused('cat ', on(train, 1, 'cat')), '"cat " ends with a space; labels are matched exactly, so write it without');
  assert.equal(await refused('a"b\\c\n', on(train, 1, 'cat')), '"a\\"b\\\\c\\n" ends with a line break; labels are matched exactly, so write it without');
  assert.match(await refused('\tcat', on(train, 1, 'cat')), /begins with a tab/);
  assert.equal(await refused(42 as unknown as string, on(train, 1, 'cat')), 'the new name must be text, got 42');
  assert.throws(() => prepareLabelRename(train, { line: 0, character: 12 }), /only a label/);
});

test('rename reaches lines past the ones live features index, and an unsaved document stands alone', async () => {
  const lines = Array.from({ length: MAX_LINES_CHECKED + 5 }, (_, i) => `{"text":"t${i}","labels":["a","b${i % 3}"]}`);
  const doc = TextDocument.create('untitled:Untitled-1', 'jsonl', 1, lines.join('\n'));
  assert.deepEqual(labelFiles(doc.uri), [doc.uri]);
  const edit = await renameLabel(doc, on(doc, 0, 'b0', 0), 'first', reader(doc));
  const edits = edit.changes![doc.uri]!;
  assert.equal(edits.length, Math.ceil((MAX_LINES_CHECKED + 5) / 3));
  assert.equal(edits.at(-1)!.range.start.line, MAX_LINES_CHECKED + 4, 'the last b0 line, beyond the indexed lines');
});

test('a lone dataset file renames in itself only; a thought dataset has no labels to rename', async () => {
  const file = join(work, 'lone.jsonl');
  writeFileSync(file, TRAIN);
  const doc = TextDocument.create(pathToFileURL(file).href, 'jsonl', 1, TRAIN);
  assert.deepEqual(labelFiles(doc.uri), [doc.uri]);
  assert.deepEqual(Object.keys((await renameLabel(doc, on(doc, 0, 'dog'), 'hound', readDisk)).changes!), [doc.uri]);
  const guided = TextDocument.create('file:///ws/q.jsonl', 'jsonl', 1, '{"input":"q","thought":"t","answer":"a","labels":["x"]}');
  assert.deepEqual(await labelReferences(guided, on(guided, 0, 'x'), readDisk), []);
});

test('in a thought-then-answer dataset the thought is the label: references and rename across splits, answers untouched', async () => {
  const dir = join(work, 'thoughts');
  mkdirSync(dir);
  const lines = ['{"input":"a barking pet","thought":"animal","answer":"dog"}', '{"input":"a tall plant","thought":"plant","answer":"tree"}', '{"input":"the animal kingdom","thought":"animal","answer":"animal"}'];
  writeFileSync(join(dir, 'train.jsonl'), lines.join('\n'));
  writeFileSync(join(dir, 'test.jsonl'), '{"input":"purrs","thought":"animal","answer":"cat"}\n');
  const doc = TextDocument.create(pathToFileURL(join(dir, 'train.jsonl')).href, 'jsonl', 1, lines.join('\n'));
  const at = on(doc, 2, 'animal', 0);
  assert.deepEqual((await labelReferences(doc, at, readDisk)).map((l) => `${l.uri.split('/').pop()}:${l.range.start.line}`), ['train.jsonl:0', 'train.jsonl:2', 'test.jsonl:0']);
  const renamed = applied(await renameLabel(doc, at, 'creature', readDisk), (uri) => (uri === doc.uri ? doc.getText() : textOnDisk(uri)));
  assert.deepEqual(renamed.get(doc.uri)!.split('\n').map((l) => JSON.parse(l) as { thought: string; answer: string }).map((r) => `${r.thought}/${r.answer}`), ['creature/dog', 'plant/tree', 'creature/animal'], 'the answer "animal" is not the thought');
  assert.equal(JSON.parse(renamed.get(pathToFileURL(join(dir, 'test.jsonl')).href)!).thought, 'creature');
  // A flat set of categories: renaming onto another merges them, nothing to refuse.
  assert.equal(Object.values((await renameLabel(doc, at, 'plant', readDisk)).changes!).flat().length, 3);
  assert.throws(() => prepareLabelRename(doc, on(doc, 0, 'dog')), /only a label/, 'an answer is not a label');
});
