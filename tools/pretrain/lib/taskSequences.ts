// Task examples as pretraining sequences, in the exact HdLM sequence format the heads read (see
// ../taskSequences.ts for why and how they are used).
import { createHash } from 'node:crypto';
import { ClassificationLayout } from '../../../engine/src/hdlm/classificationLayout';
import { readGuidedDataset, readHierarchicalDataset } from '../../../engine/src/hdlm/dataset/readDataset';
import { sequenceFormat, systemPrefix, thoughtThenAnswerSequence, type SequenceFormat } from '../../../engine/src/hdlm/sequenceFormat';
import type { TaskDefinition } from '../../../engine/src/hdlm/taskFile';
import { readTrainingData, trainingTaxonomy } from '../../../engine/src/hdlm/trainingData';
import type { Tokenizer } from '../../../engine/src/tokenizer';

export interface TaskCount {
  task: string;
  kind: string;
  file: string;
  written: number;
  /** Thought-then-answer examples written with their thought (the others have none). */
  withThought?: number;
  tooLong: number;
  tokens: number;
}

export interface TaskStream {
  /** Every sequence, <|bos|> … <|eos|>, in the stream's order. */
  sequences: number[][];
  counts: TaskCount[];
}

interface Built {
  id: string;
  ids: number[];
  withThought?: boolean;
}

const hash = (...parts: string[]): string => createHash('sha256').update(parts.join('\0')).digest('hex');

/** Whether a thought-then-answer example is written with its thought: half of them, by id. */
export function writesThought(id: string): boolean {
  return parseInt(hash('thought-variant', id).slice(0, 8), 16) % 2 === 0;
}

/**
 * A classification example as the classifier decodes it: shared prefix, input, every gold label
 * in its turn. The records and the taxonomy are head training's own (readTrainingData): a dev
 * set carved from the training file when the task names none is left out here too.
 */
function classificationSequences(task: TaskDefinition, format: SequenceFormat): Built[] {
  const { split } = readTrainingData(task, readHierarchicalDataset, () => undefined);
  const taxonomy = trainingTaxonomy(split);
  const layout = new ClassificationLayout(format, { taxonomy, system: task.system, listCandidates: task.listCandidates });
  const prefix = layout.sharedPrefix();
  return split.train.map((r) => ({ id: r.id, ids: [...prefix, ...layout.teacherForced(r.text, r.labels).ids] }));
}

/** A thought-then-answer example with its thought, or without (the flat baseline's layout). */
function thoughtSequences(task: TaskDefinition, format: SequenceFormat): Built[] {
  const { split } = readTrainingData(task, readGuidedDataset, () => undefined);
  const prefix = systemPrefix(format, task.system);
  return split.train.map((r) => {
    const withThought = writesThought(r.id);
    return { id: r.id, withThought, ids: [...prefix, ...thoughtThenAnswerSequence(format, r.input, withThought ? r.thought : undefined, r.answer).ids] };
  });
}

/**
 * The training files of `tasks` as one stream: sequences longer than `ctx` (with their <|eos|>)
 * are left out and counted; the order is a hash of (task name, id), so the tasks interleave.
 */
export function buildTaskStream(tasks: readonly TaskDefinition[], tokenizer: Tokenizer, ctx: number): TaskStream {
  const format = sequenceFormat(tokenizer);
  if (!format.special) throw new Error(`${tokenizer.path}: no HdLM role tokens; the pretraining mix is for the project's own tokenizer`);
  const eos = tokenizer.tokenId('<|eos|>');
  if (eos === undefined) throw new Error(`${tokenizer.path}: no <|eos|> token`);
  const ordered: { order: string; ids: number[] }[] = [];
  const counts: TaskCount[] = [];
  for (const task of tasks) {
    const thought = task.kind === 'thoughtThenAnswer';
    const built = thought ? thoughtSequences(task, format) : classificationSequences(task, format);
    const fits = built.filter((s) => s.ids.length + 1 <= ctx);
    for (const s of fits) ordered.push({ order: hash(task.name, s.id), ids: [...s.ids, eos] });
    counts.push({
      task: task.name,
      kind: task.kind,
      file: task.dataset.train,
      written: fits.length,
      ...(thought ? { withThought: fits.filter((s) => s.withThought).length } : {}),
      tooLong: built.length - fits.length,
      tokens: fits.reduce((n, s) => n + s.ids.length + 1, 0),
    });
  }
  ordered.sort((a, b) => (a.order < b.order ? -1 : a.order > b.order ? 1 : 0));
  return { sequences: ordered.map((s) => s.ids), counts };
}
