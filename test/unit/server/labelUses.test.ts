// The label index behind references, rename and the split checks: it reads every line as the
// tolerant reader does, reads a file once per stamp and in the background, and refuses a file
// too large to index by name instead of reading part of it.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ResponseError } from 'vscode-languageserver';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { datasetDiagnostics } from '../../../server/src/diagnostics';
import { labelReferences, renameLabel, type ReadIndex } from '../../../server/src/labelEdits';
import { factsOf } from '../../../server/src/taskFacts';
import { fileIndex, LabelIndex, lineLabels, lineThought, MAX_INDEXED_BYTES, onFileIndexed, type LabelField } from '../../../server/src/labelUses';

const work = mkdtempSync(join(tmpdir(), 'hdlm-uses-'));
after(() => rmSync(work, { recursive: true, force: true }));

const readDisk: ReadIndex = (uri) => fileIndex(fileURLToPath(uri));

/** Every use in `index` of every label, as `row:start-end label` lines, the way the tolerant readers see them. */
function usesByReader(lines: string[], read: typeof lineLabels): string[] {
  return lines.flatMap((line, row) => {
    const found = read(line, row);
    return (found?.labels ?? []).map((label, level) => `${level}:${row}:${found!.ranges[level]!.start.character}-${found!.ranges[level]!.end.character}:${label}`);
  });
}

test('the index finds what the tolerant reader finds, line for line, whatever the line holds', async () => {
  const lines = [
    '{"text":"plain","labels":["animal","dog"]}',
    '{"text":"says \\"labels\\": [\\"x\\"] and \\\\","labels":[ "animal" , "cat" ],"thought":"t1"}',
    '{"meta":{"labels":["nested"],"thought":"inner"},"labels":["plant"],"n":[1,{"a":"]"}],"x":true}',
    '{"labels":["first"],"labels":["second"]}',
    '{"l\\u0061bels":["escaped key"],"text":"é 😀 ünïcode","labels":["later"]}',
    '{"labels":["a \\"quoted\\" \\u00e9 label","b\\\\"]}',
    '{"labels":["mixed",3]}',
    '{"labels":[]}',
    '{"labels":"not an array","thought":"t2"}',
    '{"text":"broken, "labels":["still","read"]',
    '["labels","an array"]',
    '',
    '{"text":"crlf","labels":["animal","dog"]}\r',
    '  {  "thought" : "spaced" , "labels" : [ "x" ]  }  ',
  ];
  const path = join(work, 'tricky.jsonl');
  writeFileSync(path, lines.join('\n'));
  const index = await fileIndex(path);
  const fromIndex = (field: LabelField): string[] => {
    const found: string[] = [];
    const levels = field === 'labels' ? index.levels : [index.thoughts];
    levels.forEach((map, level) => {
      for (const label of map.keys()) for (const r of index.uses(field, level, label)) found.push(`${level}:${r.start.line}:${r.start.character}-${r.end.character}:${label}`);
    });
    return found.sort();
  };
  assert.deepEqual(fromIndex('labels'), usesByReader(lines, lineLabels).sort());
  assert.deepEqual(fromIndex('thought'), usesByReader(lines, lineThought).sort());
  assert.deepEqual([...index.placesOf('labels', 'dog')], [[1, new Set(['animal'])]]);
});

test('a file is read once per stamp, shared by concurrent callers, and again when it changes', async () => {
  const path = join(work, 'stamped.jsonl');
  writeFileSync(path, '{"text":"a","labels":["x"]}\n');
  const [first, concurrent] = await Promise.all([fileIndex(path), fileIndex(path)]);
  assert.equal(first, concurrent);
  assert.equal(await fileIndex(path), first, 'unchanged: the same index, not a second read');
  writeFileSync(path, '{"text":"a","labels":["x"]}\n{"text":"b","labels":["y"]}\n');
  const changed = await fileIndex(path);
  assert.notEqual(changed, first);
  assert.deepEqual(changed.uses('labels', 0, 'y'), [{ start: { line: 1, character: 22 }, end: { line: 1, character: 25 } }]);
});

test('a large training file is indexed in the background: its split is checked once it is, not while the editor waits', async () => {
  const dir = mkdtempSync(join(work, 'large-'));
  // About 6 MB: past what the split checks read at once.
  const line = (i: number): string => `{"text":"example ${i} ${'x'.repeat(100)}","labels":["animal","dog"]}`;
  writeFileSync(join(dir, 'pets.train.jsonl'), Array.from({ length: 50_000 }, (_, i) => line(i)).join('\n'));
  const devPath = join(dir, 'pets.dev.jsonl');
  const dev = '{"text":"howls","labels":["animal","wolf"]}\n';
  writeFileSync(devPath, dev);
  const doc = TextDocument.create(pathToFileURL(devPath).href, 'jsonl', 1, dev);
  const indexed = new Promise<void>((resolve) => onFileIndexed(resolve));
  assert.deepEqual(datasetDiagnostics(doc), [], 'nothing yet: the training file is being read');
  // The event loop keeps turning while it is read: at each turn, how many lines were indexed so
  // far (the real index, its lines counted on the way). Indexed in one go, every turn would see
  // none or all of them; read and indexed a chunk at a time (about 24 here), turns come between.
  let lines = 0;
  const add = Object.getOwnPropertyDescriptor(LabelIndex.prototype, 'add')!;
  LabelIndex.prototype.add = function (this: LabelIndex, ...args: Parameters<LabelIndex['add']>): void {
    lines++;
    (add.value as LabelIndex['add']).apply(this, args);
  };
  const seen = new Set<number>();
  let ticking = true;
  const tick = (): void => {
    seen.add(lines);
    if (ticking) setImmediate(tick);
  };
  tick();
  try {
    await indexed;
  } finally {
    ticking = false;
    Object.defineProperty(LabelIndex.prototype, 'add', add);
  }
  const between = [...seen].filter((n) => n > 0 && n < 50_000);
  assert.ok(between.length >= 5, `turns of the event loop saw ${between.length} points part-way through the file: ${[...seen].join(', ')}`);
  assert.deepEqual(
    datasetDiagnostics(doc).map((d) => d.message),
    ["'wolf' is not a level-2 label in pets.train.jsonl: no head can predict it"],
  );
  const refs = await labelReferences(doc, { line: 0, character: 30 }, readDisk);
  assert.equal(refs.filter((r) => r.uri.endsWith('pets.train.jsonl')).length, 50_000, 'every line of the training file');
});

test('a sibling too large to index is refused by name: no partial rename', async () => {
  const dir = mkdtempSync(join(work, 'huge-'));
  const train = join(dir, 'big.train.jsonl');
  writeFileSync(train, '{"text":"a","labels":["x"]}\n');
  // A sparse file: past the bound without writing a gigabyte.
  truncateSync(train, MAX_INDEXED_BYTES + 2 ** 20);
  const devPath = join(dir, 'big.dev.jsonl');
  writeFileSync(devPath, '{"text":"b","labels":["x"]}\n');
  const doc = TextDocument.create(pathToFileURL(devPath).href, 'jsonl', 1, '{"text":"b","labels":["x"]}\n');
  const refusal = /^big\.train\.jsonl is 1,025 MB: references and rename across splits cover files up to 1,024 MB; rename its labels outside the editor \(every split alike\)$/;
  for (const run of [() => renameLabel(doc, { line: 0, character: 22 }, 'y', readDisk), () => labelReferences(doc, { line: 0, character: 22 }, readDisk)]) {
    await assert.rejects(run, (err) => err instanceof ResponseError && refusal.test(err.message));
  }
});

test('a dataset that is a FIFO or a device says why it cannot be read, at once: never a read that blocks the server or never ends', { skip: process.platform === 'win32' && 'no FIFOs here' }, async () => {
  const fifo = join(work, 'pipe.train.jsonl');
  assert.equal(spawnSync('mkfifo', [fifo]).status, 0, 'mkfifo');
  // A reader blocked on the FIFO would block this thread for good: a writer opens it after 3 s,
  // so that the test fails on the time taken instead of hanging.
  const writer = spawn('sh', ['-c', 'sleep 3; : > "$0"', fifo], { stdio: 'ignore' });
  try {
    const start = Date.now();
    const facts = factsOf(fifo);
    assert.ok(Date.now() - start < 2000, `answered in ${Date.now() - start} ms`);
    assert.deepEqual(facts, { why: 'unreadable: not a regular file (a FIFO (named pipe))', broken: true });
    await assert.rejects(fileIndex(fifo), /pipe\.train\.jsonl: not a regular file \(a FIFO \(named pipe\)\)/);
  } finally {
    writer.kill();
  }
  assert.deepEqual(factsOf('/dev/zero'), { why: 'unreadable: not a regular file (a device)', broken: true });
});
