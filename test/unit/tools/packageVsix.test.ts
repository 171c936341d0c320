// What goes into a .vsix from the model folder: the files git tracks there, one ignore-file line
// each (vsce lets a `!` line win over every exclusion, so taking the folder would take whatever a
// working copy made in it), and the check after packing refuses a git-ignored file (outside the
// build output and the dependencies) or a lock or temporary file.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';

const root = resolve(__dirname, '..', '..', '..', '..');

interface PackageChecks {
  ignoreFileFor(template: string, target: string, modelFiles: string[]): string;
  trackedFiles(folder: string): string[];
  strayFiles(zipPaths: string[]): string[];
}

/** The script's checks (imported, it runs nothing). */
async function checks(): Promise<PackageChecks> {
  return (await import(pathToFileURL(join(root, 'tools', 'packageVsix.mjs')).href)) as PackageChecks;
}

test('the model folder ships its tracked files, each named, never the folder whole', async () => {
  const { ignoreFileFor, trackedFiles } = await checks();
  const tracked = trackedFiles('models/hdlm-tiny/');
  assert.ok(tracked.includes('models/hdlm-tiny/heads/wordnet/evaluation.json'));
  assert.ok(!tracked.some((f) => f.endsWith('evaluation.predictions.jsonl')), 'the predictions are not tracked');
  const lines = ignoreFileFor(readFileSync(join(root, '.vscodeignore'), 'utf8'), 'darwin-arm64', tracked).split('\n');
  assert.ok(!lines.includes('!models/hdlm-tiny/**'), 'the folder line is replaced');
  assert.deepEqual(lines.filter((l) => l.startsWith('!models/')), tracked.map((f) => `!${f}`));
  assert.ok(lines.includes('!node_modules/onnxruntime-node/bin/napi-v6/darwin/arm64/libonnxruntime.1.dylib'), 'the target\'s binaries swapped in as before');
  assert.throws(() => ignoreFileFor('**\n!package.json', 'linux-x64', tracked), /expected exactly one line "!node_modules\/onnxruntime-node\/bin\/napi-v6\/linux\/x64\/\*\*"/);
});

test('a package holding a git-ignored file or a lock is refused, naming them; the build and the dependencies pass', async () => {
  const { strayFiles } = await checks();
  const heads = 'extension/models/hdlm-tiny/heads/wordnet/';
  const packaged = [
    'extension.vsixmanifest',
    'extension/readme.md',
    'extension/LICENSE.txt',
    'extension/dist/hdlm.js',
    'extension/node_modules/onnxruntime-node/package.json',
    `${heads}evaluation.json`,
    `${heads}level1.json`,
  ];
  assert.deepEqual(strayFiles(packaged), []);
  const stray = [`${heads}evaluation.predictions.jsonl`, `${heads}evaluation.previous.json`, `${heads}evaluation.history.jsonl`, `${heads}.train.lock`, `${heads}.level1.json.123.abc.tmp`];
  assert.deepEqual(new Set(strayFiles([...packaged, ...stray])), new Set(stray.map((f) => f.slice('extension/'.length))));
});
