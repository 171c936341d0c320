// The head-training step's speed: a full head, a label subset and a low-rank delta.
//   node out/tools/bench/headTrainBench.js [--threads N] [--vocab V] [--hidden H]
import { parseArgs } from 'node:util';
import { benchHeadTraining } from '../../engine/src/train/headTrainBench';
import { errorMessage } from '../../engine/src/errorMessage';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { threads: { type: 'string' }, vocab: { type: 'string' }, hidden: { type: 'string' } } });
  await benchHeadTraining({
    hiddenSize: Number(values.hidden ?? 256),
    vocabSize: Number(values.vocab ?? 4096),
    batch: 256,
    subset: 128,
    rank: 16,
    steps: 20,
    provider: 'cpu',
    threads: Number(values.threads ?? 0),
    log: (line) => console.log(line),
  });
}

main().catch((err: unknown) => {
  console.error(`bench: ${errorMessage(err)}`);
  process.exitCode = 1;
});
