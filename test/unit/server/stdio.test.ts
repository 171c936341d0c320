// The built server over stdio, as any editor runs it: what the wiring in server.ts decides before
// a handler runs (the connection's lifecycle, parameters that are no object) and how it answers
// what a handler refuses, as JSON-RPC errors on a connection that stays up.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, test } from 'node:test';
import { createMessageConnection, StreamMessageReader, StreamMessageWriter, type MessageConnection } from 'vscode-jsonrpc/node';

const root = resolve(__dirname, '..', '..', '..', '..');
let workspace: string;
let child: ChildProcess;
let connection: MessageConnection;

before(async () => {
  workspace = mkdtempSync(join(tmpdir(), 'hdlm-stdio-'));
  child = spawn(process.execPath, [join(root, 'dist', 'server.js'), '--stdio'], { env: { ...process.env, XDG_CACHE_HOME: join(workspace, '.cache') }, stdio: ['pipe', 'pipe', 'inherit'] });
  connection = createMessageConnection(new StreamMessageReader(child.stdout!), new StreamMessageWriter(child.stdin!));
  connection.listen();
  await connection.sendRequest('initialize', { processId: null, rootUri: pathToFileURL(workspace).href, capabilities: {} });
  await connection.sendNotification('initialized', {});
});

after(() => {
  connection.dispose();
  child.kill();
  rmSync(workspace, { recursive: true, force: true });
});

/** The error a request is answered with: its code and message. */
async function refusal(method: string, params: unknown): Promise<{ code: number; message: string }> {
  try {
    await connection.sendRequest(method, params);
  } catch (err) {
    const { code, message } = err as { code: number; message: string };
    return { code, message };
  }
  assert.fail(`${method} was answered, not refused`);
}

const TAKING_PARAMS = ['classify', 'classifyMany', 'layers', 'thinkThenAnswer', 'train', 'evaluate', 'scanLayers', 'taskSummary', 'createTask', 'mistakes', 'labelReport', 'cancelJob'];

test('parameters that are no object are bad requests, named, for every hdlm request that takes some', async () => {
  for (const name of TAKING_PARAMS) {
    assert.deepEqual(await refusal(`hdlm/${name}`, null), { code: 1003, message: `hdlm/${name} takes its parameters as an object, got null` });
  }
  assert.equal((await refusal('hdlm/classify', 'a dog')).code, 1003);
});

test('a file: URI that names no local file is a bad request that says so', async () => {
  const named = /names no file on this machine: give a path, or a file: URI without a host and without encoded slashes/;
  for (const [method, params] of [
    ['hdlm/taskSummary', { task: 'file://host/x.hdlm.json' }],
    ['hdlm/train', { task: 'file:///tmp/%2Fx' }],
    ['hdlm/evaluate', { task: 'x.hdlm.json', file: 'file://host/x.jsonl' }],
    ['hdlm/createTask', { dataset: 'file:///tmp/%2Fx.jsonl' }],
  ] as const) {
    const { code, message } = await refusal(method, params);
    assert.equal(code, 1003, method);
    assert.match(message, named, method);
  }
});

test('a task file nested too deep to parse gets one diagnostic, and its features answer empty, without stack traces', async () => {
  const logged: string[] = [];
  connection.onNotification('window/logMessage', (p: { message: string }) => void logged.push(p.message));
  const uri = pathToFileURL(join(workspace, 'deep.hdlm.json')).href;
  const published = new Promise<{ message: string }[]>((resolve) => connection.onNotification('textDocument/publishDiagnostics', (p: { uri: string; diagnostics: { message: string }[] }) => void (p.uri === uri && resolve(p.diagnostics))));
  await connection.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'hdlm-task', version: 1, text: `{ "levels": ${'['.repeat(100_000)}` } });
  assert.deepEqual((await published).map((d) => d.message), ['too deeply nested: more than 256 levels of brackets and braces (a task file nests a few)']);
  const at = { textDocument: { uri }, position: { line: 0, character: 20 } };
  assert.equal(await connection.sendRequest('textDocument/hover', at), null);
  assert.deepEqual(await connection.sendRequest('textDocument/documentSymbol', { textDocument: { uri } }), []);
  assert.deepEqual(await connection.sendRequest('textDocument/completion', at), []);
  assert.deepEqual(await connection.sendRequest('textDocument/formatting', { textDocument: { uri }, options: { tabSize: 2, insertSpaces: true } }), []);
  assert.deepEqual(logged.filter((l) => /RangeError|call stack/.test(l)), []);
});

test('an inline completion without a position is answered with none, as the other editor features answer, not with an internal error', async () => {
  const uri = pathToFileURL(join(workspace, 'notes.txt')).href;
  await connection.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'plaintext', version: 1, text: 'hello there' } });
  assert.deepEqual(await connection.sendRequest('textDocument/inlineCompletion', { textDocument: { uri }, position: null, context: { triggerKind: 1 } }), []);
  assert.equal(await connection.sendRequest('textDocument/hover', { textDocument: { uri }, position: null }), null);
});

// Last: it shuts the server down.
test('a second initialize is refused, and after shutdown every request is (LSP 3.17 InvalidRequest)', async () => {
  assert.deepEqual(await refusal('initialize', { processId: null, rootUri: null, capabilities: {} }), { code: -32600, message: 'the server is already initialized: initialize is sent once per connection' });
  assert.deepEqual((await connection.sendRequest('hdlm/jobs', {})) as unknown, { jobs: [] }, 'the first initialize stands');
  await connection.sendRequest('shutdown');
  assert.deepEqual(await refusal('hdlm/train', { task: join(workspace, 'x.hdlm.json') }), { code: -32600, message: 'hdlm/train: the server is shutting down (shutdown was received); only exit is accepted now' });
  assert.equal((await refusal('hdlm/engineInfo', {})).code, -32600);
  assert.equal((await refusal('textDocument/hover', { textDocument: { uri: 'file:///x.jsonl' }, position: { line: 0, character: 0 } })).code, -32600);
});
