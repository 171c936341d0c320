// Streaming probe: what decoding and streaming a row's text costs as its output grows. It replays
// a long text's tokens through generate() (engine/src/generate/generator.ts), one per step, from a
// stand-in model that says them, so the timing is the streaming path's own (decode, stop-string
// search, what is held back), with no model run in it.
//
//   node out/tools/bench/streamProbe.js [--text FILE] [--model DIR] [N...]
//
// For each output length N (default 256 1024 4096) it prints the median and the fastest of five
// runs with the decode (the CLI's: special tokens skipped, one stop string that never occurs) and
// without any, the difference of the medians per token, and, of the runs with the decode, the
// median time inside the decode calls and how many token ids they were given (which no other
// load on the machine changes). One run of each, untimed, warms up. DIR is the model folder whose tokenizer decodes (default
// models/hdlm-tiny); FILE is the text (default DIR/README.md, the model card), repeated when it has
// fewer than N tokens.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { generate } from '../../engine/src/generate/generator';
import type { SegmentedModel } from '../../engine/src/model/segmentedModel';
import { Tokenizer } from '../../engine/src/tokenizer';
import { errorMessage } from '../../engine/src/errorMessage';

const root = resolve(__dirname, '..', '..', '..');
const RUNS = 5;
const USAGE = 'usage: node out/tools/bench/streamProbe.js [--text FILE] [--model DIR] [N...]';

/** A model that says `script[i]` at step i: generate() runs its own sampling, stopping and streaming around it. */
function replayModel(script: readonly number[], vocab: number): SegmentedModel {
  let step = 0;
  const head = {
    vocabSize: vocab,
    logits: (): Promise<Float32Array> => {
      const logits = new Float32Array(vocab);
      logits[script[step++]!] = 1;
      return Promise.resolve(logits);
    },
  };
  const model = {
    config: { numLayers: 1, maxPositions: script.length + 2, eosTokenIds: [] as number[] },
    ownHead: head,
    headCall: <T>(work: () => Promise<T>): Promise<T> => work(),
    newState: () => ({ batch: 1, length: 0, segments: [], release: () => undefined }),
    append: (state: { length: number }, rows: number[][]) => (state.length += rows[0]!.length),
    runToNewest: () => Promise.resolve(new Float32Array(1)),
  };
  return model as unknown as SegmentedModel;
}

interface Replay {
  ms: number;
  /** Time inside the decode calls, and the token ids they were given. */
  decodeMs: number;
  decoded: number;
}

/** generate() replaying `script`, decoding and streaming its text when `decode` is given. */
async function replay(script: readonly number[], vocab: number, decode: ((ids: number[]) => string) | undefined): Promise<Replay> {
  let streamed = 0;
  let [decodeMs, decoded] = [0, 0];
  const timed = (ids: number[]): string => {
    const started = performance.now();
    const text = decode!(ids);
    decodeMs += performance.now() - started;
    decoded += ids.length;
    return text;
  };
  const started = performance.now();
  const result = await generate(replayModel(script, vocab), {
    prompts: [[script[0]!]],
    config: { maxNewTokens: script.length, stopStrings: ['\n<|user|>'], ignoreEos: true },
    decode: decode && timed,
    onToken: (e) => (streamed += e.text.length),
  });
  const ms = performance.now() - started;
  const row = result.rows[0]!;
  if (row.tokens.length !== script.length || row.stop !== 'maxTokens') throw new Error(`replay: ${row.tokens.length} tokens, stop ${row.stop}`);
  if (decode && streamed !== row.text!.length) throw new Error(`replay: streamed ${streamed} characters of ${row.text!.length}`);
  return { ms, decodeMs, decoded };
}

function median(values: number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
}

async function main(args: string[]): Promise<void> {
  let textFile: string | undefined;
  let modelDir = join(root, 'models', 'hdlm-tiny');
  const lengths: number[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--text' && args[i + 1]) textFile = args[++i]!;
    else if (arg === '--model' && args[i + 1]) modelDir = args[++i]!;
    else if (/^\d+$/.test(arg) && Number(arg) > 0) lengths.push(Number(arg));
    else throw new Error(USAGE);
  }
  const tokenizer = await Tokenizer.load(modelDir);
  textFile ??= join(modelDir, 'README.md');
  const ids = tokenizer.encode(readFileSync(textFile, 'utf8'), { addSpecialTokens: false });
  const decode = (tokens: number[]): string => tokenizer.decode(tokens, { skipSpecialTokens: true });
  console.log(`text ${textFile}: ${ids.length} tokens; tokenizer ${tokenizer.path}`);
  await replay(ids.slice(0, 256), tokenizer.vocabSize, decode);
  await replay(ids.slice(0, 256), tokenizer.vocabSize, undefined);
  for (const n of lengths.length > 0 ? lengths : [256, 1024, 4096]) {
    const script = Array.from({ length: n }, (_, i) => ids[i % ids.length]!);
    const streaming: Replay[] = [];
    const bare: Replay[] = [];
    for (let run = 0; run < RUNS; run++) {
      streaming.push(await replay(script, tokenizer.vocabSize, decode));
      bare.push(await replay(script, tokenizer.vocabSize, undefined));
    }
    const [withDecode, without] = [median(streaming.map((r) => r.ms)), median(bare.map((r) => r.ms))];
    const fastest = (runs: Replay[]): string => Math.min(...runs.map((r) => r.ms)).toFixed(1);
    const inDecode = median(streaming.map((r) => r.decodeMs));
    console.log(
      `N ${n}: ${withDecode.toFixed(1)} ms streaming (fastest ${fastest(streaming)}), ${without.toFixed(1)} ms without decode (fastest ${fastest(bare)}); ` +
        `${(((withDecode - without) / n) * 1000).toFixed(1)} µs per token for the text; in decode ${inDecode.toFixed(1)} ms, ${streaming[0]!.decoded} ids decoded`,
    );
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  console.error(errorMessage(err));
  process.exit(2);
});
