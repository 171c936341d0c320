// The pretraining mix (tools/pretrain/lib/taskSequences.ts) on the committed dataset samples:
// every sequence is exactly what the classifier or the thought trainer builds for that record.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ClassificationLayout } from '../../../engine/src/hdlm/classificationLayout';
import { sequenceFormat, systemPrefix, thoughtThenAnswerSequence } from '../../../engine/src/hdlm/sequenceFormat';
import { splitByHash } from '../../../engine/src/hdlm/splits';
import { readTaskFile, type TaskDefinition } from '../../../engine/src/hdlm/taskFile';
import { Taxonomy } from '../../../engine/src/hdlm/taxonomy';
import { Tokenizer } from '../../../engine/src/tokenizer';
import { buildTaskStream, writesThought } from '../../../tools/pretrain/lib/taskSequences';

const root = join(__dirname, '..', '..', '..', '..');
const fixture = (name: string): string => join(root, 'data', 'fixtures', name);
const lines = (name: string): Record<string, unknown>[] => readFileSync(fixture(name), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
let dir: string;
let tokenizer: Tokenizer;
let tasks: TaskDefinition[];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hdlm-mix-'));
  const write = (name: string, task: object): TaskDefinition => {
    writeFileSync(join(dir, name), JSON.stringify(task));
    return readTaskFile(join(dir, name));
  };
  tasks = [
    write('wn.hdlm.json', { name: 'wn', dataset: fixture('wordnet.sample.jsonl'), system: 'Classify.', levels: [{ layer: 4 }, { layer: 6 }, { layer: 'last' }], listCandidates: true }),
    write('th.hdlm.json', { name: 'th', kind: 'thoughtThenAnswer', dataset: fixture('thought.sample.jsonl'), system: 'Think, then name it.', levels: [{ layer: 4 }, { layer: 'last' }] }),
  ];
  tokenizer = await Tokenizer.load(join(root, 'models', 'hdlm-tiny'));
});

after(() => rmSync(dir, { recursive: true, force: true }));

const key = (ids: readonly number[]): string => ids.join(',');

test('the training examples are written exactly as the heads read them, each once; the dev set carved from the file is not', () => {
  // A context no sequence exceeds (with candidate lists, some WordNet ones pass 256 tokens).
  const { sequences, counts } = buildTaskStream(tasks, tokenizer, 100_000);
  const format = sequenceFormat(tokenizer);
  const bos = tokenizer.tokenId('<|bos|>')!;
  const eos = tokenizer.tokenId('<|eos|>')!;
  // Neither task names a dev file: head training holds out a share of each, and so does the mix.
  const carve = <R extends { id: string }>(records: R[], task: TaskDefinition): { train: R[]; dev: R[] } => splitByHash(records, task.train.devFraction, task.train.seed);
  const wn = carve(lines('wordnet.sample.jsonl') as { id: string; text: string; labels: string[] }[], tasks[0]!);
  const th = carve(lines('thought.sample.jsonl') as { id: string; input: string; thought: string; answer: string }[], tasks[1]!);
  assert.ok(wn.dev.length > 0 && th.dev.length > 0, 'the fixtures leave a dev share');
  const wordnet = wn.train;
  const thought = th.train;
  // Built as head training builds it (train, then dev): the order of each candidate list follows it.
  const taxonomy = Taxonomy.fromPaths([...wn.train, ...wn.dev].map((r) => ({ labels: r.labels, source: r.id })));
  const layout = new ClassificationLayout(format, { taxonomy, system: 'Classify.', listCandidates: true });
  const expected = [
    ...wordnet.map((r) => [...layout.sharedPrefix(), ...layout.teacherForced(r.text, r.labels).ids, eos]),
    ...thought.map((r) => [...systemPrefix(format, 'Think, then name it.'), ...thoughtThenAnswerSequence(format, r.input, writesThought(r.id) ? r.thought : undefined, r.answer).ids, eos]),
  ];
  assert.deepEqual(sequences.map(key).sort(), expected.map(key).sort());
  assert.ok(sequences.every((s) => s[0] === bos && s.at(-1) === eos && s.indexOf(eos) === s.length - 1));
  const withThought = thought.filter((r) => writesThought(r.id)).length;
  assert.deepEqual(counts.map((c) => [c.task, c.written, c.tooLong, c.withThought]), [['wn', wordnet.length, 0, undefined], ['th', thought.length, 0, withThought]]);
  assert.ok(withThought > thought.length * 0.3 && withThought < thought.length * 0.7, `${withThought} of ${thought.length} with their thought`);
  assert.equal(counts.reduce((n, c) => n + c.tokens, 0), sequences.flat().length);
  // The subtask turn lists the children of the gold label: the candidates reach the backbone too.
  assert.ok(sequences.some((s) => s.includes(tokenizer.tokenId('<|subtask|>')!)));
});

test('the tasks interleave, the order is fixed, and sequences longer than the context are left out', () => {
  const first = buildTaskStream(tasks, tokenizer, 100_000);
  assert.deepEqual(buildTaskStream(tasks, tokenizer, 100_000).sequences, first.sequences);
  const systemOf = (s: number[]): string => tokenizer.decode(s.slice(0, 8));
  const head = new Set(first.sequences.slice(0, 30).map(systemOf));
  assert.equal(head.size, 2, 'both tasks appear among the first 30 sequences');
  const short = buildTaskStream(tasks, tokenizer, 60);
  assert.ok(short.sequences.every((s) => s.length <= 60));
  const dropped = short.counts.reduce((n, c) => n + c.tooLong, 0);
  assert.equal(dropped, first.sequences.length - short.sequences.length);
  assert.ok(dropped > 0);
});
