// Writes the training split of HdLM tasks as token sequences in the exact format the heads read
// (ARCHITECTURE §1), for pretraining to mix into its batches (pretrain.py --mix): the backbone
// then learns to read a gloss and write labels and thoughts in their turns, which a frozen
// backbone trained on documentation alone never saw (the thought did not help it: data/README).
//
//   node out/tools/pretrain/taskSequences.js --model models/hdlm-tiny \
//        --task models/hdlm-tiny/tasks/wordnet.hdlm.json --task models/hdlm-tiny/tasks/thought.hdlm.json \
//        --out tools/pretrain/data/tasks.bin
//
// Only each task's *training* file is read: dev and test never reach the backbone. The WordNet
// and thought datasets share ids and hence splits (data/README "Splits"), so no test gloss of
// one is a training gloss of the other. A classification example is written as the classifier
// decodes it (ClassificationLayout: shared prefix, input, every level's gold label in its turn);
// a thought-then-answer example half of the time with its thought and half without (the flat
// baseline's layout), chosen by a hash of its id, so neither variant is favoured. Every sequence
// starts with <|bos|> (as the engine's prompts do), ends with <|eos|>, and sequences longer than
// --ctx are left out and counted. The order is a hash of (task, id): the tasks interleave.
// Output: a flat little-endian uint16 file like tokenizeCorpus.mjs writes, and <out>.json with
// the counts; both written atomically.
import { createHash } from 'node:crypto';
import { parseArgs } from 'node:util';
import { writeAtomically } from '../../engine/src/checkpoint/safetensors';
import { ClassificationLayout } from '../../engine/src/hdlm/classificationLayout';
import { readGuidedDataset, readHierarchicalDataset } from '../../engine/src/hdlm/dataset/readDataset';
import { sequenceFormat, systemPrefix, thoughtThenAnswerSequence, type SequenceFormat } from '../../engine/src/hdlm/sequenceFormat';
import { readTaskFile, type TaskDefinition } from '../../engine/src/hdlm/taskFile';
import { Taxonomy } from '../../engine/src/hdlm/taxonomy';
import { Tokenizer } from '../../engine/src/tokenizer';

interface Sequence {
  order: string;
  ids: number[];
}

interface TaskCount {
  task: string;
  kind: string;
  file: string;
  written: number;
  withThought?: number;
  tooLong: number;
  tokens: number;
}

const hash = (...parts: string[]): string => createHash('sha256').update(parts.join('\0')).digest('hex');

function classificationSequences(task: TaskDefinition, format: SequenceFormat): { ids: number[]; id: string }[] {
  const { records } = readHierarchicalDataset(task.dataset.train);
  const taxonomy = Taxonomy.fromPaths(records.map((r) => ({ labels: r.labels, source: r.id })));
  const layout = new ClassificationLayout(format, { taxonomy, system: task.system, listCandidates: task.listCandidates });
  const prefix = layout.sharedPrefix();
  return records.map((r) => ({ id: r.id, ids: [...prefix, ...layout.teacherForced(r.text, r.labels).ids] }));
}

function thoughtSequences(task: TaskDefinition, format: SequenceFormat): { ids: number[]; id: string; withThought: boolean }[] {
  const { records } = readGuidedDataset(task.dataset.train);
  const prefix = systemPrefix(format, task.system);
  return records.map((r) => {
    const withThought = parseInt(hash('thought-variant', r.id).slice(0, 8), 16) % 2 === 0;
    return { id: r.id, withThought, ids: [...prefix, ...thoughtThenAnswerSequence(format, r.input, withThought ? r.thought : undefined, r.answer).ids] };
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      model: { type: 'string', default: 'models/hdlm-tiny' },
      task: { type: 'string', multiple: true },
      out: { type: 'string' },
      ctx: { type: 'string', default: '256' },
    },
  });
  if (!values.task?.length || !values.out) throw new Error('usage: taskSequences --task <file.hdlm.json> [--task …] --out <tasks.bin> [--model dir] [--ctx 256]');
  const ctx = Number(values.ctx);
  const tokenizer = await Tokenizer.load(values.model!);
  const format = sequenceFormat(tokenizer);
  if (!format.special) throw new Error(`${tokenizer.path}: no HdLM role tokens; the pretraining mix is for the project's own tokenizer`);
  const eos = tokenizer.tokenId('<|eos|>');
  if (eos === undefined) throw new Error(`${tokenizer.path}: no <|eos|> token`);
  const sequences: Sequence[] = [];
  const counts: TaskCount[] = [];
  for (const file of values.task) {
    const task = readTaskFile(file);
    const built = task.kind === 'thoughtThenAnswer' ? thoughtSequences(task, format) : classificationSequences(task, format);
    const fits = built.filter((s) => s.ids.length + 1 <= ctx);
    for (const s of fits) sequences.push({ order: hash(task.name, s.id), ids: [...s.ids, eos] });
    counts.push({
      task: task.name,
      kind: task.kind,
      file: task.dataset.train,
      written: fits.length,
      ...(task.kind === 'thoughtThenAnswer' ? { withThought: fits.filter((s) => 'withThought' in s && s.withThought).length } : {}),
      tooLong: built.length - fits.length,
      tokens: fits.reduce((n, s) => n + s.ids.length + 1, 0),
    });
  }
  sequences.sort((a, b) => (a.order < b.order ? -1 : a.order > b.order ? 1 : 0));
  const tokens = Uint16Array.from(sequences.flatMap((s) => s.ids));
  if (tokenizer.vocabSize > 65536) throw new Error('token ids do not fit in uint16');
  writeAtomically(values.out, [new Uint8Array(tokens.buffer)]);
  const summary = { model: values.model, ctx, sequences: sequences.length, tokens: tokens.length, layout: '<|bos|> task sequence <|eos|> per example, uint16 little-endian', tasks: counts };
  writeAtomically(`${values.out}.json`, [Buffer.from(`${JSON.stringify(summary, null, 1)}\n`)]);
  console.log(JSON.stringify(summary, null, 1));
}

main().catch((err: unknown) => {
  console.error(`taskSequences: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
