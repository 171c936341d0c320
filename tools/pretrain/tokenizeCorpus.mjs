#!/usr/bin/env node
// Tokenizes a corpus text file (documents separated by a line holding only <|eos|>, the format
// tools/corpus writes) into a flat little-endian uint16 token file for pretrain.py.
//
// Each document is encoded with the tokenizer's own special-token template (so it starts with
// <|bos|>, exactly as a prompt encoded by the engine does) and followed by <|eos|>:
//   <|bos|> doc1 <|eos|> <|bos|> doc2 <|eos|> ...
// The input is streamed line by line and each document is encoded on its own, so memory stays
// bounded by the largest document and the output is written in chunks.
//
//   node tools/pretrain/tokenizeCorpus.mjs --tokenizer models/hdlm-tiny/tokenizer.json \
//        --in train.txt --out train.bin [--max-docs N]
//
// A JSON summary (documents, tokens, bytes, bytes per token) is printed and written to <out>.json.

import { createReadStream, openSync, writeSync, closeSync, renameSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join, basename } from 'node:path';
import { createInterface } from 'node:readline';
import { Tokenizer } from '@huggingface/tokenizers';

const SEPARATOR_LINE = '<|eos|>';
const FLUSH_TOKENS = 1 << 20;

function parseArgs(argv) {
  const args = { tokenizer: null, in: null, out: null, maxDocs: Infinity };
  for (let i = 0; i < argv.length; i++) {
    const key = argv[i];
    const value = argv[i + 1];
    if (key === '--tokenizer') args.tokenizer = value;
    else if (key === '--in') args.in = value;
    else if (key === '--out') args.out = value;
    else if (key === '--max-docs') args.maxDocs = Number(value);
    else throw new Error(`unknown argument ${key}`);
    i++;
  }
  for (const k of ['tokenizer', 'in', 'out']) if (!args[k]) throw new Error(`--${k} is required`);
  return args;
}

/** Loads tokenizer.json and the tokenizer_config.json beside it (empty config if absent). */
function loadTokenizer(path) {
  const json = JSON.parse(readFileSync(path, 'utf8'));
  const configPath = join(dirname(path), 'tokenizer_config.json');
  const config = existsSync(configPath) ? JSON.parse(readFileSync(configPath, 'utf8')) : {};
  return new Tokenizer(json, config);
}

function requireId(tokenizer, token) {
  const id = tokenizer.token_to_id(token);
  if (id === undefined) throw new Error(`the tokenizer has no ${token} token`);
  return id;
}

/** Buffers uint16 ids and appends them to a file descriptor in large chunks. */
class TokenWriter {
  constructor(fd) {
    this.fd = fd;
    this.buf = new Uint16Array(FLUSH_TOKENS + 65536);
    this.len = 0;
    this.total = 0;
  }

  push(ids) {
    for (const id of ids) {
      if (id > 0xffff) throw new Error(`token id ${id} does not fit in uint16`);
      if (this.len === this.buf.length) this.flush();
      this.buf[this.len++] = id;
    }
    this.total += ids.length;
    if (this.len >= FLUSH_TOKENS) this.flush();
  }

  flush() {
    if (this.len === 0) return;
    // Uint16Array is host-endian; every platform Node runs on here is little-endian.
    writeSync(this.fd, new Uint8Array(this.buf.buffer, 0, this.len * 2));
    this.len = 0;
  }
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const tokenizer = loadTokenizer(args.tokenizer);
  const eos = requireId(tokenizer, '<|eos|>');
  const bos = requireId(tokenizer, '<|bos|>');
  const tmp = join(dirname(args.out), `.${basename(args.out)}.tmp-${process.pid}`);
  const fd = openSync(tmp, 'w');
  const writer = new TokenWriter(fd);
  const started = Date.now();
  let docs = 0;
  let bytes = 0;
  let lines = [];

  const encodeDocument = () => {
    const text = lines.join('\n');
    lines = [];
    if (text.length === 0) return;
    const ids = tokenizer.encode(text).ids;
    // The template should have put <|bos|> first; refuse silently different tokenizers.
    if (ids[0] !== bos) throw new Error('the tokenizer did not start the document with <|bos|>');
    writer.push(ids);
    writer.push([eos]);
    docs++;
    bytes += Buffer.byteLength(text, 'utf8');
    if (docs % 10000 === 0) {
      const s = (Date.now() - started) / 1000;
      process.stderr.write(`${docs} documents, ${writer.total} tokens, ${(bytes / 1e6 / s).toFixed(2)} MB/s\n`);
    }
  };

  const rl = createInterface({ input: createReadStream(args.in, { encoding: 'utf8' }), crlfDelay: Infinity });
  for await (const line of rl) {
    if (line === SEPARATOR_LINE) {
      encodeDocument();
      if (docs >= args.maxDocs) break;
    } else {
      lines.push(line);
    }
  }
  if (docs < args.maxDocs) encodeDocument(); // a last document without a separator
  writer.flush();
  closeSync(fd);
  renameSync(tmp, args.out);

  const summary = {
    input: args.in,
    tokenizer: args.tokenizer,
    documents: docs,
    tokens: writer.total,
    textBytes: bytes,
    bytesPerToken: Number((bytes / Math.max(1, writer.total)).toFixed(4)),
    layout: '<|bos|> document <|eos|> per document, uint16 little-endian',
    bosId: bos,
    eosId: eos,
    seconds: (Date.now() - started) / 1000,
  };
  writeFileSync(`${args.out}.json`, JSON.stringify(summary, null, 2) + '\n');
  console.log(JSON.stringify(summary));
}

main().catch((err) => {
  console.error(`tokenizeCorpus: ${err.message}`);
  process.exit(1);
});
