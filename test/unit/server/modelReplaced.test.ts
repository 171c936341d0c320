// A checkpoint written again into the configured model folder (save_pretrained, or
// exportModel.py --dest) under a running server: the next request loads the new weights, as a
// fresh server would, instead of serving the model kept in memory (whose fingerprint the heads
// trained on the new weights would not match). A request with nothing changed loads nothing.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { LayersResult } from '../../../server/src/protocol';
import { REPO_ROOT } from '../../support/taskWorkspace';
import { writeTinyModel } from '../../support/tinyCheckpoint';
import { startWorkspaceServer } from '../../support/workspaceServer';

let workspace: string;

before(() => {
  workspace = mkdtempSync(join(tmpdir(), 'hdlm-replaced-'));
  process.env['XDG_CACHE_HOME'] = join(workspace, '.cache');
  writeTinyModel(join(workspace, 'model'), REPO_ROOT, { std: 0.15, seed: 5 });
  writeFileSync(join(workspace, 'animals.jsonl'), ['{"text":"barks","labels":["animal","dog"]}', '{"text":"oak","labels":["plant","tree"]}'].join('\n'));
  writeFileSync(join(workspace, 'animals.hdlm.json'), JSON.stringify({ name: 'animals', model: 'model', dataset: 'animals.jsonl', levels: [{ layer: 2 }, { layer: 'last' }] }));
});

after(() => rmSync(workspace, { recursive: true, force: true }));

/** What a layers request read out: each layer's top tokens and their probabilities. */
function readout(result: LayersResult): string {
  return JSON.stringify(result.readouts.map((r) => r.top.map((t) => [t.id, t.probability.toFixed(6)])));
}

test('a model folder whose weights are written again under a running server: the next request uses the new weights', async () => {
  let loads = 0;
  const { server } = await startWorkspaceServer(REPO_ROOT, workspace, { task: 'animals.hdlm.json' }, undefined, (engine) => {
    const load = engine.loadModel.bind(engine);
    engine.loadModel = (dir, options) => (loads++, load(dir, options));
  });
  const before = readout(await server.layers({ text: 'a dog barks' }));
  assert.equal(readout(await server.layers({ text: 'a dog barks' })), before, 'nothing changed');
  assert.equal(loads, 1, 'nothing changed: nothing loads again');
  // The same shapes, so the same sizes: only the files' times (and inodes) tell the weights apart.
  writeTinyModel(join(workspace, 'model'), REPO_ROOT, { std: 0.15, seed: 6 });
  const after = readout(await server.layers({ text: 'a dog barks' }));
  assert.equal(loads, 2, 'the new checkpoint is loaded');
  assert.notEqual(after, before);
  const fresh = await startWorkspaceServer(REPO_ROOT, workspace, { task: 'animals.hdlm.json' });
  assert.equal(readout(await fresh.server.layers({ text: 'a dog barks' })), after, 'as a fresh server reads it');
  assert.equal(readout(await server.layers({ text: 'a dog barks' })), after);
  assert.equal(loads, 2);
});
