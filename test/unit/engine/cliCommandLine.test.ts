// The command line's length and --prompt-file. onnxruntime-node crashes (SIGSEGV, no message)
// starting its first session when the process's command line is about 28,000 bytes or more: a
// longer one is refused before anything starts, naming the argument, and a long prompt comes from
// a file or standard input instead. Real processes on a small random model.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { MAX_PROMPT_FILE_BYTES } from '../../../engine/src/cli/commandLine';
import { runHdlm, type CliRun } from '../../support/hdlmCli';
import { writeTinyModel } from '../../support/tinyCheckpoint';

const root = resolve(__dirname, '..', '..', '..', '..');
let dir: string;
let model: string;
const LONG = 'word '.repeat(6000); // 30,000 characters: the crash's size

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'hdlm-cli-argv-'));
  model = join(dir, 'model');
  writeTinyModel(model, root, { std: 0.2, seed: 3 });
});

after(() => rmSync(dir, { recursive: true, force: true }));

function hdlm(args: string[], input?: Buffer | string): CliRun {
  if (input === undefined) return runHdlm(root, args, { cacheDir: join(dir, 'cache') });
  const r = spawnSync(process.execPath, [join(root, 'dist', 'hdlm.js'), ...args], { input, encoding: 'utf8', env: { ...process.env, XDG_CACHE_HOME: join(dir, 'cache') } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('a prompt too long for the command line is refused with a usage error that names it and the way round', () => {
  for (const command of ['layers', 'classify', 'generate', 'think']) {
    const out = hdlm([command, '--model', model, LONG]);
    assert.equal(out.status, 2, `${command}: ${out.stderr}`);
    assert.match(out.stderr, /the command line is \d+ bytes, more than the 16384 .*the prompt \(30000 characters\).*--prompt-file FILE/, command);
  }
});

test('an option too long for the command line is named, and so is a long command line of short arguments', () => {
  const stop = hdlm(['generate', 'hi', '--model', model, '--max-tokens', '2', '--stop', LONG]);
  assert.equal(stop.status, 2, stop.stderr);
  assert.match(stop.stderr, /the longest argument is --stop \(30000 characters\)/);
  const many = hdlm(['layers', '--model', model, ...Array.from({ length: 40 }, () => 'w'.repeat(1000))]);
  assert.equal(many.status, 2, many.stderr);
  assert.match(many.stderr, /the command line is \d+ bytes/);
});

test('--prompt-file reads the prompt from a file or standard input, as the same text given inline', () => {
  const inline = hdlm(['layers', '--model', model, '--json', 'a large cat']);
  assert.equal(inline.status, 0, inline.stderr);
  writeFileSync(join(dir, 'prompt.txt'), 'a large cat\n');
  const fromFile = hdlm(['layers', '--model', model, '--json', '--prompt-file', join(dir, 'prompt.txt')]);
  assert.equal(fromFile.status, 0, fromFile.stderr);
  assert.deepEqual(JSON.parse(fromFile.stdout), JSON.parse(inline.stdout));
  const fromStdin = hdlm(['layers', '--model', model, '--json', '--prompt-file', '-'], 'a large cat\n');
  assert.equal(fromStdin.status, 0, fromStdin.stderr);
  assert.deepEqual(JSON.parse(fromStdin.stdout), JSON.parse(inline.stdout));
});

test('a long prompt from a file reaches the model, which says it is longer than its context', () => {
  writeFileSync(join(dir, 'long.txt'), LONG);
  const out = hdlm(['layers', '--model', model, '--prompt-file', join(dir, 'long.txt')]);
  assert.equal(out.status, 1, out.stderr);
  assert.match(out.stderr, /the input needs (at least )?\d+ positions but the model's context is \d+/);
});

test('a prompt file known too long for the context is refused at once, and one larger than the limit before it is read whole, naming the file and the limit', () => {
  // 2 MB: hdlm-tiny's 256 positions hold far less, which the longest token's length tells without tokenizing.
  writeFileSync(join(dir, 'big.txt'), 'word '.repeat(400_000));
  const started = Date.now();
  const big = hdlm(['layers', '--model', model, '--prompt-file', join(dir, 'big.txt')]);
  assert.equal(big.status, 1, big.stderr);
  assert.match(big.stderr, /the input needs at least \d+ positions but the model's context is \d+/);
  assert.ok(Date.now() - started < 20_000, `refused in ${Date.now() - started} ms`);
  // Over the limit: refused before the model loads, from a file or from standard input.
  const over = Buffer.alloc(MAX_PROMPT_FILE_BYTES + 1, 'a');
  writeFileSync(join(dir, 'over.txt'), over);
  const file = hdlm(['generate', '--model', model, '--prompt-file', join(dir, 'over.txt')]);
  assert.equal(file.status, 2, file.stderr);
  assert.match(file.stderr, new RegExp(`--prompt-file .*over\\.txt: more than ${MAX_PROMPT_FILE_BYTES.toLocaleString('en-US')} bytes`));
  const stdin = hdlm(['think', '--model', model, '--prompt-file', '-'], over);
  assert.equal(stdin.status, 2, stdin.stderr);
  assert.match(stdin.stderr, /--prompt-file standard input: more than [\d,]+ bytes/);
  // Exactly at the limit: read, and refused by the context as any long prompt is.
  const at = hdlm(['layers', '--model', model, '--prompt-file', '-'], over.subarray(1));
  assert.equal(at.status, 1, at.stderr);
  assert.match(at.stderr, /the input needs at least/);
});

test('--prompt-file refuses a prompt given twice, a missing file and bytes that are not UTF-8, naming the line', () => {
  const both = hdlm(['classify', '--model', model, '--prompt-file', join(dir, 'prompt.txt'), 'more text']);
  assert.equal(both.status, 2);
  assert.match(both.stderr, /not both/);
  const missing = hdlm(['think', '--model', model, '--prompt-file', join(dir, 'absent.txt')]);
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /--prompt-file .*absent\.txt: .*no such file/);
  writeFileSync(join(dir, 'latin1.txt'), Buffer.from('first line\ncaf\xe9\n', 'latin1'));
  const latin1 = hdlm(['generate', '--model', model, '--prompt-file', join(dir, 'latin1.txt')]);
  assert.equal(latin1.status, 2);
  assert.match(latin1.stderr, /latin1\.txt:2: not valid UTF-8/);
});
