// A fine-tuning job that writes the heads of the task in use: once it has ended, the status says
// what the new heads change, without waiting for the next request. Here the heads were trained
// for the model's earlier weights (the task serves without them, and the status warns); the job
// trains them for the weights now in the folder, and the warning goes when the job ends.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { JobEvent } from '../../../server/src/protocol';
import type { FakeClient } from '../../support/fakeClient';
import { REPO_ROOT } from '../../support/taskWorkspace';
import { writeTinyModel } from '../../support/tinyCheckpoint';
import { startWorkspaceServer } from '../../support/workspaceServer';

let workspace: string;

before(() => {
  workspace = mkdtempSync(join(tmpdir(), 'hdlm-jobheads-'));
  process.env['XDG_CACHE_HOME'] = join(workspace, '.cache');
  writeTinyModel(join(workspace, 'model'), REPO_ROOT, { std: 0.15, seed: 5 });
  writeFileSync(join(workspace, 'animals.jsonl'), ['{"text":"barks","labels":["animal","dog"]}', '{"text":"purrs","labels":["animal","cat"]}', '{"text":"oak","labels":["plant","tree"]}'].join('\n'));
  writeFileSync(join(workspace, 'pets.hdlm.json'), JSON.stringify({ name: 'pets', model: 'model', dataset: 'animals.jsonl', levels: [{ layer: 2 }, { layer: 'last' }], train: { epochs: 1, devFraction: 0.34 } }));
});

after(() => rmSync(workspace, { recursive: true, force: true }));

async function until(condition: () => boolean, what: string, ms = 60_000): Promise<void> {
  for (const end = Date.now() + ms; !condition() && Date.now() < end; ) await new Promise((r) => setTimeout(r, 50));
  assert.ok(condition(), what);
}

/** Fine-tunes the task and resolves once its process has exited and the status is idle again. */
async function fineTune(server: Awaited<ReturnType<typeof startWorkspaceServer>>['server'], client: FakeClient): Promise<JobEvent> {
  const { jobId } = await server.train({ task: 'pets.hdlm.json' });
  const end = (): JobEvent | undefined => client.progress.find((p) => p.jobId === jobId && ['report', 'failed', 'cancelled'].includes(p.event.kind))?.event;
  await until(() => end() !== undefined, `${jobId} ended`);
  await until(() => !server.status.busy, 'the status is idle again');
  return end()!;
}

test('fine-tuning the task in use replaces heads trained for other weights: the status stops warning when the job ends', async () => {
  const { server, client } = await startWorkspaceServer(REPO_ROOT, workspace, { task: 'pets.hdlm.json' });
  assert.equal((await fineTune(server, client)).kind, 'report');
  // New weights in the same folder: the heads were trained for the old ones.
  writeTinyModel(join(workspace, 'model'), REPO_ROOT, { std: 0.15, seed: 6 });
  await server.layers({ text: 'barks' });
  assert.equal(server.status.health, 'warning', JSON.stringify(server.status));
  assert.match(server.status.message, /model serves without task pets, which does not fit it/);
  // Fine-tuning again trains heads for the weights now there.
  const from = client.statuses.length;
  assert.equal((await fineTune(server, client)).kind, 'report');
  assert.deepEqual([server.status.health, server.status.busy, server.status.message], ['ok', false, 'ready'], JSON.stringify(client.statuses.slice(from)));
  assert.ok(client.lines.some((l) => /^train-\d+-\w+ wrote new heads: opening the task again$/.test(l)), client.lines.slice(-5).join('\n'));
  // The next request finds the session already open on the new heads.
  const opened = client.lines.filter((l) => /task pets ready/.test(l)).length;
  assert.deepEqual((await server.classify({ text: 'barks' })).trainedHeads, [true, true]);
  assert.equal(client.lines.filter((l) => /task pets ready/.test(l)).length, opened, 'not opened again');
});
