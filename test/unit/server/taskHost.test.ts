// TaskHost keeps one session while nothing it was opened from changes, and opens another when
// the task file's bytes change (an edit of the same size within the same clock tick too) or a
// head is saved: but not for each head a job of this server saves (its end releases the
// session once), and not for the reports an evaluation writes beside the heads.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { Engine } from '../../../engine/src/index';
import type { TaskSession } from '../../../engine/src/hdlm/taskSession';
import { DEFAULT_SETTINGS } from '../../../server/src/settings';
import { TaskHost } from '../../../server/src/taskHost';
import { writeTinyModel } from '../../support/tinyCheckpoint';

const root = resolve(__dirname, '..', '..', '..', '..');
let workspace: string;

before(() => {
  workspace = mkdtempSync(join(tmpdir(), 'hdlm-host-'));
  process.env['XDG_CACHE_HOME'] = join(workspace, '.cache');
  writeTinyModel(join(workspace, 'model'), root, { std: 0.15, seed: 5 });
  writeFileSync(join(workspace, 'animals.jsonl'), ['{"text":"barks","labels":["animal","dog"]}', '{"text":"oak","labels":["plant","tree"]}'].join('\n'));
  mkdirSync(join(workspace, 'heads'));
});

after(() => rmSync(workspace, { recursive: true, force: true }));

test('the session follows the task file and its heads, but not each head a job of the server saves', async () => {
  const file = join(workspace, 'animals.hdlm.json');
  const task = (layer: number): string => JSON.stringify({ name: 'animals', model: 'model', dataset: 'animals.jsonl', heads: 'heads', levels: [{ layer }, { layer: 'last' }] });
  writeFileSync(file, task(2));
  let jobWriting = false;
  const host = new TaskHost({ modelDir: '/nonexistent', taskFile: '/nonexistent.hdlm.json', cli: '' }, () => undefined, () => jobWriting);
  const engine = await Engine.create({ providers: ['cpu'], threads: 1 });
  const settings = { ...DEFAULT_SETTINGS, task: file };
  const session = (): Promise<TaskSession> => host.use(engine, settings, workspace, (s) => Promise.resolve(s));
  try {
    const first = await session();
    assert.equal(await session(), first, 'nothing changed');
    // A head saved by a job of this server: the session stays until the job ends.
    jobWriting = true;
    writeFileSync(join(workspace, 'heads', 'level1.a1.safetensors'), '');
    assert.equal(await session(), first);
    jobWriting = false;
    const saved = await session();
    assert.notEqual(saved, first, 'the job ended: the saved heads are read');
    // Reports beside the heads are not heads.
    writeFileSync(join(workspace, 'heads', 'evaluation.json'), '{}');
    assert.equal(await session(), saved);
    // The same number of bytes, written at once: told apart by the bytes.
    writeFileSync(file, task(3));
    const edited = await session();
    assert.notEqual(edited, saved);
    assert.deepEqual(edited.layers, [3, 4]);
  } finally {
    await host.release();
  }
});
