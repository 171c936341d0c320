// The language server's handler class over a temporary workspace, for unit tests: the real
// engine on one CPU thread, a FakeClient answering settings, no shipped model or task (tests
// make their own), and the built CLI for jobs.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Engine } from '../../engine/src/index';
import { HdlmServer } from '../../server/src/hdlmServer';
import { FakeClient } from './fakeClient';

/**
 * Starts a server for `workspace`; `root` is the repository (for dist/hdlm.js), `settings` the
 * client's hdlm.* on top of the CPU defaults. `onEngine` sees each engine the server starts (a
 * test may count the models it loads).
 */
export async function startWorkspaceServer(root: string, workspace: string, settings: Record<string, unknown>, stateDir?: string, onEngine?: (engine: Engine) => void): Promise<{ server: HdlmServer; client: FakeClient }> {
  const client = new FakeClient({ executionProviders: ['cpu'], threads: 1, ...settings });
  const server = new HdlmServer(client, async (o) => {
    const engine = await Engine.create(o);
    onEngine?.(engine);
    return engine;
  }, { modelDir: '/nonexistent', taskFile: '/nonexistent.hdlm.json', cli: join(root, 'dist', 'hdlm.js'), stateDir });
  server.initialize({ processId: null, rootUri: pathToFileURL(workspace).href, capabilities: {} });
  await server.start();
  return { server, client };
}
