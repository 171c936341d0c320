// The graph cache shared by processes, as the language server and a job it starts share it: two
// `hdlm` processes that load the shipped model at once into one empty cache both succeed with the
// same answer and leave the cache whole, and a later process finds every graph there; one with
// other cuts builds only its structures, converting no weight.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';

const root = resolve(__dirname, '..', '..', '..', '..');
let dir: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'hdlm-cli-cache-'));
});

after(() => rmSync(dir, { recursive: true, force: true }));

/** `hdlm` on the shipped model with the cache's notes on stderr (HDLM_VERBOSE). */
function hdlm(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [join(root, 'dist', 'hdlm.js'), ...args, 'a small wild cat'], { env: { ...process.env, XDG_CACHE_HOME: join(dir, 'cache'), HDLM_VERBOSE: '1' } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((done) => child.on('close', (code) => done({ code, stdout, stderr })));
}

const cacheNotes = (stderr: string): string[] => stderr.split('\n').filter((l) => l.includes('graph cache'));

test('two processes filling one graph cache at once both load the model, and leave the cache whole for the next', async () => {
  const [a, b] = await Promise.all([hdlm(['layers', '--json']), hdlm(['layers', '--json'])]);
  assert.equal(a.code, 0, a.stderr);
  assert.equal(b.code, 0, b.stderr);
  assert.equal(a.stdout, b.stdout, 'the same readout');
  const graphs = join(dir, 'cache', 'hdlm', 'graphs');
  const folders = readdirSync(graphs);
  assert.equal(folders.length, 1, `one checkpoint folder: ${folders.join(', ')}`);
  assert.deepEqual(readdirSync(join(graphs, folders[0]!, 'weights')).filter((f) => f.endsWith('.tmp')), [], 'no temporary file left');

  const again = await hdlm(['layers', '--json']);
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual(cacheNotes(again.stderr), [], 'every graph read from the cache');
  assert.equal(again.stdout, a.stdout);

  // An exit at layer 3 cuts the model there: two new segment graphs.
  const cut = await hdlm(['generate', '--layer', '3', '--max-tokens', '2']);
  assert.equal(cut.code, 0, cut.stderr);
  const notes = cacheNotes(cut.stderr);
  assert.equal(notes.length, 2, notes.join('\n'));
  for (const note of notes) assert.match(note, /graph cache miss: segment \d-\d fused( rows)? \((\d+) of its \2 large weights were stored already\)/);
});
