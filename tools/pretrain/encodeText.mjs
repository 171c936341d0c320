#!/usr/bin/env node
// Encodes prompts for pretrain.py's samples where the Python tokenizers package is missing:
//   echo '["The kernel", "ls -l"]' | node tools/pretrain/encodeText.mjs models/hdlm-tiny/tokenizer.json
// prints a JSON array of id arrays (each starting with <|bos|>, as the tokenizer's template does).
import { readFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';

const path = process.argv[2];
if (!path) {
  console.error('usage: node encodeText.mjs <tokenizer.json> < prompts.json');
  process.exit(2);
}
const configPath = join(dirname(path), 'tokenizer_config.json');
const config = existsSync(configPath) ? JSON.parse(readFileSync(configPath, 'utf8')) : {};
const tokenizer = new Tokenizer(JSON.parse(readFileSync(path, 'utf8')), config);
const texts = JSON.parse(readFileSync(0, 'utf8'));
console.log(JSON.stringify(texts.map((t) => tokenizer.encode(t).ids)));
