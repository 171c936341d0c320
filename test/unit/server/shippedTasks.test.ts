// `hdlm.task: "shipped:NAME"` names a task shipped beside the default model: the real shipped
// model with its thought task and trained heads thinks as `hdlm think` does; a name the
// extension does not ship is refused with the names it does, and the server keeps working.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { ResponseError } from 'vscode-languageserver';
import { Engine } from '../../../engine/src/index';
import { HdlmServer } from '../../../server/src/hdlmServer';
import { ErrorCodes } from '../../../server/src/protocol';
import { FakeClient } from '../../support/fakeClient';

const root = resolve(__dirname, '..', '..', '..', '..');
const shipped = join(root, 'models', 'hdlm-tiny');
let workspace: string;

before(() => {
  workspace = mkdtempSync(join(tmpdir(), 'hdlm-shipped-'));
  process.env['XDG_CACHE_HOME'] = join(workspace, '.cache');
});

after(() => rmSync(workspace, { recursive: true, force: true }));

async function startServer(task: string): Promise<{ server: HdlmServer; client: FakeClient }> {
  const client = new FakeClient({ executionProviders: ['cpu'], threads: 1, task, maxTokens: 6 });
  const server = new HdlmServer(client, (o) => Engine.create(o), { modelDir: shipped, taskFile: join(shipped, 'tasks', 'wordnet.hdlm.json'), cli: join(root, 'dist', 'hdlm.js') });
  server.initialize({ processId: null, rootUri: pathToFileURL(workspace).href, capabilities: {} });
  await server.start();
  return { server, client };
}

test('shipped:thought thinks with the shipped thought task and its trained heads', async () => {
  const { server } = await startServer('shipped:thought');
  const result = await server.thinkThenAnswer({ text: 'a domesticated carnivorous mammal that barks' });
  assert.equal(result.task, 'thought');
  assert.deepEqual([result.thoughtLayer, result.answerLayer], [4, 8]);
  assert.ok(result.thought.length > 0 && result.caughtUp > 0, JSON.stringify(result));
  // A thought task does not classify, and says so.
  await assert.rejects(server.classify({ text: 'a dog' }), /thoughtThenAnswer task: it thinks then answers, it does not classify/);
  server.dispose();
});

test('a task name the extension does not ship is refused with the shipped ones named, the model still serves, and the next setting works', async () => {
  const { server, client } = await startServer('shipped:nope');
  const why = /setting hdlm\.task: no task shipped:nope is shipped with the extension \(shipped: shipped:thought, shipped:wordnet\)/;
  await assert.rejects(server.classify({ text: 'a dog' }), (e: unknown) => e instanceof ResponseError && e.code === ErrorCodes.modelUnavailable && why.test(e.message));
  // The shipped model still serves the layer view, which says why nothing was decided.
  const view = await server.layers({ text: 'a dog' });
  assert.equal(view.readouts.length, 9);
  assert.match(view.unfitTask ?? '', why);
  client.settings = { ...(client.settings as object), task: '' };
  await server.reconfigure();
  assert.equal((await server.classify({ text: 'a large wild cat with a mane' })).task, 'wordnet', 'no setting: the shipped WordNet task');
  server.dispose();
});
