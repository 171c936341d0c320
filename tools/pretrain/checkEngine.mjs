#!/usr/bin/env node
// Checks that the project's engine (the built CLI, dist/hdlm.js) reproduces pretrain.py's greedy
// samples token for token, at the last layer and at the early-exit layer they were read out at.
//
//   node tools/pretrain/checkEngine.mjs --model models/hdlm-tiny --samples tools/pretrain/runs/hier/samples.json
//
// samples.json holds greedy continuations computed by tools/pretrain/llama.py from the saved
// fp16 weights (in fp32 arithmetic). Exits 1 on any difference.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const args = Object.fromEntries(
  process.argv.slice(2).reduce((pairs, value, i, all) => (i % 2 === 0 ? [...pairs, [value.replace(/^--/, ''), all[i + 1]]] : pairs), []),
);
if (!args.model || !args.samples) {
  console.error('usage: node checkEngine.mjs --model DIR --samples samples.json [--cli dist/hdlm.js]');
  process.exit(2);
}
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const cli = resolve(args.cli ?? join(root, 'dist', 'hdlm.js'));
const config = JSON.parse(readFileSync(join(args.model, 'config.json'), 'utf8'));
const { samples } = JSON.parse(readFileSync(args.samples, 'utf8'));

let failures = 0;
for (const s of samples) {
  // Our greedy loop stops after emitting <|eos|>; ask the engine for the same number of tokens.
  const want = s.output_ids;
  // The CLI takes --layer only for an early exit (1..L-1); the last layer is its default.
  const layer = s.layer === config.num_hidden_layers ? [] : ['--layer', String(s.layer)];
  const out = execFileSync(process.execPath, [cli, 'generate', '--model', args.model, '--ids', s.prompt_ids.join(','),
    // Only <|eos|> ends a sample (the greedy loop's rule), not the folder's other end tokens (<|end|>).
    '--max-tokens', String(want.length), ...layer, '--ignore-eos', '--stop-ids', String(config.eos_token_id),
    // Plain greedy whatever the folder's generation_config.json says: the samples are plain argmax.
    '--temperature', '0', '--repetition-penalty', '1', '--no-repeat-ngram', '0',
    '--threads', '1', '--json'], { encoding: 'utf8', maxBuffer: 1 << 24 });
  const got = JSON.parse(out).tokens;
  // The engine may or may not report the stop token itself; compare without a trailing <|eos|>.
  const strip = (ids) => (ids.length && ids[ids.length - 1] === config.eos_token_id ? ids.slice(0, -1) : ids);
  const same = JSON.stringify(strip(got)) === JSON.stringify(strip(want));
  if (!same) failures++;
  console.log(`${same ? 'same' : 'DIFFERENT'}  layer ${s.layer}  ${s.source}  (${want.length} tokens)`);
  if (!same) console.log(`  ours:   ${want.join(',')}\n  engine: ${got.join(',')}`);
}
console.log(failures ? `${failures} of ${samples.length} samples differ` : `all ${samples.length} samples match token for token`);
process.exit(failures ? 1 : 0);
