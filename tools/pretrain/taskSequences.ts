// Writes the training split of HdLM tasks as token sequences in the exact format the heads read
// (ARCHITECTURE §1), for pretraining to mix into its batches (pretrain.py --mix): the backbone
// then learns to read a gloss and write labels and thoughts in their turns, which a backbone
// trained on documentation alone never saw (with it frozen, the thought did not help: data/README).
//
//   node out/tools/pretrain/taskSequences.js --model models/hdlm-tiny \
//        --task models/hdlm-tiny/tasks/wordnet.hdlm.json --task models/hdlm-tiny/tasks/thought.hdlm.json \
//        --out tools/pretrain/data/tasks.bin
//
// Only each task's *training* file is read: dev and test never reach the backbone. The WordNet
// and thought datasets share ids and hence splits (data/README "Splits"), so no test gloss of
// one is a training gloss of the other. A classification example is written as the classifier
// decodes it; a thought-then-answer example half of the time with its thought and half without
// (the flat baseline's layout), chosen by a hash of its id, so neither variant is favoured.
// Every sequence starts with <|bos|> (as the engine's prompts do) and ends with <|eos|>.
// Output: a flat little-endian uint16 file like tokenizeCorpus.mjs writes, and <out>.json with
// the counts; both written atomically.
import { parseArgs } from 'node:util';
import { writeAtomically } from '../../engine/src/checkpoint/safetensors';
import { readTaskFile } from '../../engine/src/hdlm/taskFile';
import { Tokenizer } from '../../engine/src/tokenizer';
import { buildTaskStream } from './lib/taskSequences';
import { commandLineOr } from '../corpus/lib/args';
import { errorMessage } from '../../engine/src/errorMessage';

const USAGE = `usage: node out/tools/pretrain/taskSequences.js --task FILE [--task FILE …] --out FILE [options]

Writes the training split of HdLM tasks as token sequences in the format the heads read, for
pretraining to mix into its batches (pretrain.py --mix): uint16 little-endian tokens in FILE,
the counts in FILE.json.

options:
  --task FILE     a task file whose training file is written (repeat for several; required)
  --out FILE      the token file (required); FILE.json gets the counts
  --model DIR     the tokenizer's model folder (default: models/hdlm-tiny)
  --ctx N         the context: longer sequences (with their <|eos|>) are left out and counted (default: 256)
  --help          show this help`;

function parseOptions() {
  return parseArgs({
    options: {
      model: { type: 'string', default: 'models/hdlm-tiny' },
      task: { type: 'string', multiple: true },
      out: { type: 'string' },
      ctx: { type: 'string', default: '256' },
    },
  });
}

async function main(): Promise<void> {
  const args = commandLineOr(USAGE, parseOptions);
  if (!args) return;
  const { values } = args;
  if (!values.task?.length || !values.out) {
    console.error(`--task and --out are required\n\n${USAGE}`);
    process.exit(2);
  }
  const ctx = Number(values.ctx);
  if (!Number.isInteger(ctx) || ctx < 2) throw new Error(`--ctx must be an integer ≥ 2, got ${values.ctx}`);
  const tokenizer = await Tokenizer.load(values.model!);
  if (tokenizer.vocabSize > 65536) throw new Error(`${tokenizer.path}: ${tokenizer.vocabSize} tokens do not fit in uint16`);
  const { sequences, counts } = buildTaskStream(values.task.map(readTaskFile), tokenizer, ctx);
  const tokens = Uint16Array.from(sequences.flat());
  writeAtomically(values.out, [new Uint8Array(tokens.buffer)]);
  const summary = { model: values.model, ctx, sequences: sequences.length, tokens: tokens.length, layout: '<|bos|> task sequence <|eos|> per example, uint16 little-endian', tasks: counts };
  writeAtomically(`${values.out}.json`, [Buffer.from(`${JSON.stringify(summary, null, 1)}\n`)]);
  console.log(JSON.stringify(summary, null, 1));
}

main().catch((err: unknown) => {
  console.error(`taskSequences: ${errorMessage(err)}`);
  process.exitCode = 1;
});
