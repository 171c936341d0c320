// TaskHost keeps one session while nothing it was opened from changes, and opens another when
// the task file's bytes change (an edit of the same size within the same clock tick too) or a
// head is saved: but not for each head a run saves, a job of this server or a terminal's holding
// the folder's lock (the first request after its end opens the finished heads), and not for the reports an evaluation writes beside the heads.
// A session opened again shares the model with the one before unless its segments moved, and
// then still its head.
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
  const host = new TaskHost({ modelDir: join(workspace, 'model'), taskFile: '/nonexistent.hdlm.json', cli: '' }, () => undefined, () => jobWriting);
  const engine = await Engine.create({ providers: ['cpu'], threads: 1 });
  const load = engine.loadModel.bind(engine);
  let loads = 0;
  engine.loadModel = (dir, options) => (loads++, load(dir, options));
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
    // The same for another process's run (a terminal's `hdlm train`): its lock, while it lives.
    writeFileSync(join(workspace, 'heads', '.train.lock'), `${process.pid}\n`);
    writeFileSync(join(workspace, 'heads', 'level2.a1.safetensors'), '');
    assert.equal(await session(), first, 'a live run holds the heads folder');
    rmSync(join(workspace, 'heads', '.train.lock'));
    const saved = await session();
    assert.notEqual(saved, first, 'the job ended: the saved heads are read');
    assert.equal(saved.loaded, first.loaded, 'new heads on the same model: it is shared, not loaded again');
    assert.equal(loads, 1);
    // Reports beside the heads are not heads.
    writeFileSync(join(workspace, 'heads', 'evaluation.json'), '{}');
    assert.equal(await session(), saved);
    // The same number of bytes, written at once: told apart by the bytes.
    writeFileSync(file, task(3));
    const edited = await session();
    assert.notEqual(edited, saved);
    assert.deepEqual(edited.layers, [3, 4]);
    assert.equal(loads, 2, 'a level moved: the segments are cut elsewhere, so the model is loaded again');
    assert.equal(edited.loaded.model.ownHead, saved.loaded.model.ownHead, 'but its head is taken over, not opened again');
    await until(() => released(saved), 'the model with the old cuts is freed once no session holds it');
    const state = edited.loaded.model.newState();
    edited.loaded.model.append(state, [[1, 2, 3]]);
    const logits = await edited.loaded.model.logits((await edited.loaded.model.runTo(state, 4)).hidden);
    assert.ok(logits.every(Number.isFinite), 'the head taken over outlives the model it came from');
    // A new prompt moves no cut: the model is shared.
    writeFileSync(file, JSON.stringify({ ...(JSON.parse(task(3)) as object), system: 'Sort it.' }));
    const prompted = await session();
    assert.equal(prompted.task.system, 'Sort it.');
    assert.equal(prompted.loaded, edited.loaded);
    assert.equal(loads, 2);
    // Saved half edited, then with a level beyond the model: the model serves alone, still the
    // same one, thinking at its cut; fixed, the task is back on it. Not one load in between.
    writeFileSync(file, '{ "name": "animals", "levels": [');
    const broken = await session();
    assert.equal(broken.unreadable, true);
    assert.deepEqual([broken.loaded, broken.layers], [edited.loaded, [3]]);
    writeFileSync(file, task(9));
    const beyond = await session();
    assert.match(beyond.unfit ?? '', /level layer 9 is beyond the model's 4 layers/);
    assert.equal(beyond.loaded, edited.loaded);
    writeFileSync(file, JSON.stringify({ ...(JSON.parse(task(3)) as object), system: 'Sort it.' }));
    const fixed = await session();
    assert.equal(fixed.unfit, undefined);
    assert.equal(fixed.loaded, edited.loaded);
    assert.equal(loads, 2);
    await host.release();
    await until(() => released(fixed), 'released with the host: nothing keeps the model');
    assert.equal(fixed.loaded.model.ownHead['holders'], 0, 'nor its head');
  } finally {
    await host.release();
  }
});

/** Whether a session's model has freed its onnxruntime sessions (the last holder let go). */
function released(session: TaskSession): boolean {
  return session.loaded.model['released'];
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 100 && !condition(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(condition(), what);
}
