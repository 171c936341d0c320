// Trains the byte-level BPE tokenizer on the corpus that buildCorpus.ts wrote and saves it as
// Hugging Face files (tokenizer.json, tokenizer_config.json, special_tokens_map.json). It then
// loads the saved tokenizer.json with @huggingface/tokenizers, the library the engine uses,
// checks that every held-out document round-trips exactly, and reports the compression there.
// The files are checked in a scratch folder and replace those in --out only when they pass.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { writeAtomically } from '../../engine/src/atomicFile';
import { FlagSpec, parseFlags, usage, UsageError } from './lib/args';
import { PieceCounter, trainBpe } from './lib/bpeTrainer';
import { installChecked } from './lib/checkedInstall';
import { splitDocuments } from './lib/corpus';
import { loadHfTokenizer } from './lib/hfTokenizer';
import { SPECIAL_TOKENS, specialTokensMap, tokenizerConfig, tokenizerJson } from './lib/tokenizerFiles';

const FLAGS: Record<string, FlagSpec> = {
  corpus: { kind: 'string', default: '.cache/corpus', help: 'folder with train.txt and heldout.txt from buildCorpus' },
  out: { kind: 'string', default: 'models/hdlm-tiny', help: 'folder for the tokenizer files' },
  'vocab-size': { kind: 'number', default: 4096, help: 'whole vocabulary: 16 special tokens, 256 bytes, merges (README: why 4096)' },
  'sample-mb': { kind: 'number', default: 0, help: 'train on this many MB from the start of train.txt (0: all of it)' },
  'min-pair-count': { kind: 'number', default: 2, help: 'stop early when the best pair is rarer than this' },
  'model-max-length': { kind: 'number', default: 1024, help: 'model_max_length in tokenizer_config.json' },
  stats: { kind: 'string', default: '', help: 'where to write the measurements as JSON (default: <corpus>/tokenizer_stats_<vocab>.json)' },
};

function seconds(since: number): number {
  return Math.round((Date.now() - since) / 100) / 10;
}

function writeAtomic(path: string, data: string): void {
  writeAtomically(path, [Buffer.from(data)]);
}

function readCorpusFile(dir: string, name: string): string {
  const path = join(dir, name);
  try {
    return readFileSync(path, 'utf8');
  } catch {
    throw new UsageError(`cannot read ${path}; build the corpus first (node out/tools/corpus/buildCorpus.js --out ${dir})`);
  }
}

/** The documents from the start of train.txt up to the sample size; train.txt is in hash order, so any prefix is a fair sample. */
function sampleDocuments(train: string, sampleBytes: number): string[] {
  const docs = splitDocuments(train);
  if (sampleBytes <= 0) return docs;
  const out: string[] = [];
  let used = 0;
  for (const doc of docs) {
    if (used >= sampleBytes) break;
    out.push(doc);
    used += Buffer.byteLength(doc);
  }
  return out;
}

interface Evaluation {
  documents: number;
  bytes: number;
  words: number;
  tokens: number;
  bytesPerToken: number;
  tokensPerWord: number;
  roundTripFailures: number;
  seconds: number;
}

/** Encodes every held-out document with the saved file through tokenizers.js and decodes it back. */
async function evaluate(outDir: string, heldout: readonly string[]): Promise<Evaluation> {
  const started = Date.now();
  const json = JSON.parse(readFileSync(join(outDir, 'tokenizer.json'), 'utf8')) as object;
  const config = JSON.parse(readFileSync(join(outDir, 'tokenizer_config.json'), 'utf8')) as object;
  const tokenizer = await loadHfTokenizer(json, config);
  const result: Evaluation = { documents: 0, bytes: 0, words: 0, tokens: 0, bytesPerToken: 0, tokensPerWord: 0, roundTripFailures: 0, seconds: 0 };
  for (const doc of heldout) {
    const ids = tokenizer.encode(doc, { add_special_tokens: false }).ids;
    if (tokenizer.decode(ids) !== doc) result.roundTripFailures++;
    result.documents++;
    result.bytes += Buffer.byteLength(doc);
    result.words += (doc.match(/\S+/g) ?? []).length;
    result.tokens += ids.length;
  }
  result.bytesPerToken = Math.round((result.bytes / result.tokens) * 1000) / 1000;
  result.tokensPerWord = Math.round((result.tokens / result.words) * 1000) / 1000;
  result.seconds = seconds(started);
  return result;
}

async function train(values: Record<string, string | number | boolean>): Promise<void> {
  const corpusDir = resolve(String(values['corpus']));
  const outDir = resolve(String(values['out']));
  const vocabSize = Number(values['vocab-size']);
  if (!Number.isInteger(vocabSize) || vocabSize < SPECIAL_TOKENS.length + 256 + 1) {
    throw new UsageError(`--vocab-size must be an integer above ${SPECIAL_TOKENS.length + 256}`);
  }
  const statsPath = String(values['stats']) || join(corpusDir, `tokenizer_stats_${vocabSize}.json`);

  let started = Date.now();
  const docs = sampleDocuments(readCorpusFile(corpusDir, 'train.txt'), Number(values['sample-mb']) * 1e6);
  const counter = new PieceCounter();
  let sampleBytes = 0;
  for (const doc of docs) {
    counter.add(doc);
    sampleBytes += Buffer.byteLength(doc);
  }
  const countSeconds = seconds(started);
  console.log(`counted ${counter.counts.size} distinct pieces in ${docs.length} documents (${(sampleBytes / 1e6).toFixed(1)} MB) in ${countSeconds} s`);

  started = Date.now();
  const bpe = trainBpe(counter.counts, {
    vocabSize,
    specialTokens: SPECIAL_TOKENS,
    minPairCount: Number(values['min-pair-count']),
    onProgress: (merges, count) => {
      if (merges % 2000 === 0) console.log(`  ${merges} merges, last pair seen ${count} times (${seconds(started)} s)`);
    },
  });
  const trainSeconds = seconds(started);
  console.log(`learnt ${bpe.merges.length} merges, vocabulary ${bpe.tokens.length}, in ${trainSeconds} s`);

  const files = new Map([
    ['tokenizer.json', tokenizerJson(bpe)],
    ['tokenizer_config.json', JSON.stringify(tokenizerConfig(bpe, Number(values['model-max-length'])), null, 2) + '\n'],
    ['special_tokens_map.json', JSON.stringify(specialTokensMap(), null, 2) + '\n'],
  ]);
  const tokenizerBytes = Buffer.byteLength(files.get('tokenizer.json') as string);
  const heldoutDocs = splitDocuments(readCorpusFile(corpusDir, 'heldout.txt'));
  const { result: heldout, installed } = await installChecked(outDir, files, (dir) => evaluate(dir, heldoutDocs), (e) => e.roundTripFailures === 0);
  console.log(
    `held-out: ${heldout.documents} documents, ${heldout.tokens} tokens, ${heldout.bytesPerToken} bytes/token, ` +
      `${heldout.tokensPerWord} tokens/word, ${heldout.roundTripFailures} round-trip failures (${heldout.seconds} s)`,
  );
  const longest = bpe.tokens.slice(SPECIAL_TOKENS.length + 256).reduce((a, b) => (b.length > a.length ? b : a), '');
  const stats = {
    vocabSize: bpe.tokens.length,
    merges: bpe.merges.length,
    sample: { documents: docs.length, bytes: sampleBytes, distinctPieces: counter.counts.size },
    tokenizerJsonBytes: tokenizerBytes,
    longestToken: longest,
    heldout,
    seconds: { count: countSeconds, train: trainSeconds },
  };
  writeAtomic(statsPath, JSON.stringify(stats, null, 2) + '\n');
  console.log(`wrote ${statsPath}`);
  if (!installed) throw new Error(`${heldout.roundTripFailures} held-out documents did not round-trip; ${outDir} is left as it was`);
  console.log(`wrote ${outDir}/tokenizer.json (${(tokenizerBytes / 1024).toFixed(0)} KiB), tokenizer_config.json, special_tokens_map.json`);
}

async function main(): Promise<number> {
  const script = 'out/tools/corpus/trainTokenizer.js';
  const summary = 'Trains the byte-level BPE tokenizer on the corpus and writes the Hugging Face tokenizer files.';
  try {
    const values = parseFlags(process.argv.slice(2), FLAGS);
    if (values === null) {
      console.log(usage(script, summary, FLAGS));
      return 0;
    }
    await train(values);
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`${err.message}\n\n${usage(script, summary, FLAGS)}`);
      return 2;
    }
    throw err;
  }
}

main().then(
  (code) => (process.exitCode = code),
  (err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  },
);
