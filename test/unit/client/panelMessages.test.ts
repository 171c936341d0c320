// The task panel's host acts only on messages it can vouch for: URIs it sent in its last state, of
// the file: scheme, and layers the engine reads. Anything else a page could post is ignored.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkPanelMessage, stateUris } from '../../../client/src/panelMessages';
import type { TaskPanelState } from '../../../webview/src/messages';

const task = 'file:///work/proj/animals.hdlm.json';
const dataset = 'file:///work/proj/animals.jsonl';
const jobTask = 'file:///work/proj/old.hdlm.json';

const state: TaskPanelState = {
  model: 'm',
  device: 'cpu',
  layers: 8,
  tasks: [{ uri: task, path: 'animals.hdlm.json', name: 'animals', kind: 'classify', dataset: 'animals.jsonl', levels: [2, 'last'], active: false, heads: [] }],
  datasets: [{ path: 'animals.jsonl', uri: dataset }],
  job: { jobId: 'j1', kind: 'train', task: '/work/proj/old.hdlm.json', state: 'done', line: '', taskUri: jobTask } as TaskPanelState['job'],
  recentJobs: [],
};
const known = stateUris(state);

function problem(message: unknown): string | undefined {
  const checked = checkPanelMessage(message, known);
  return 'problem' in checked ? checked.problem : undefined;
}

test('the URIs the page may name are the tasks, datasets and shown job of the last state', () => {
  assert.deepEqual([...known].sort(), [dataset, jobTask, task].sort());
  assert.equal(problem({ type: 'train', uri: task }), undefined);
  assert.equal(problem({ type: 'open', uri: dataset }), undefined);
  assert.equal(problem({ type: 'open', uri: jobTask }), undefined);
  assert.equal(problem({ type: 'ready' }), undefined);
  assert.equal(problem({ type: 'cancel', jobId: 'j1' }), undefined);
});

test('a URI the panel was not shown, or of another scheme, is ignored, naming it', () => {
  assert.match(problem({ type: 'open', uri: 'file:///etc/passwd' }) ?? '', /open: file:\/\/\/etc\/passwd is not one the panel was shown/);
  assert.match(problem({ type: 'open', uri: 'command:workbench.action.terminal.new' }) ?? '', /only file: URIs/);
  assert.match(problem({ type: 'open', uri: 'https://example.com/x' }) ?? '', /only file: URIs/);
  assert.match(problem({ type: 'train', uri: 'file:///home/x/evil.hdlm.json' }) ?? '', /not one the panel was shown/);
  assert.match(problem({ type: 'evaluate' }) ?? '', /uri must be a string, got none|uri must be a string/);
  assert.match(problem({ type: 'scanLayers', uri: 42 }) ?? '', /uri must be a string, got 42/);
  // Nothing sent yet: nothing may be named.
  assert.ok('problem' in checkPanelMessage({ type: 'train', uri: task }, new Set()));
  // A state that somehow held another scheme still offers only file: URIs.
  assert.equal(stateUris({ ...state, datasets: [{ path: 'x', uri: 'untitled:x' }] }).has('untitled:x'), false);
});

test('setLayer takes a whole level ≥ 1 and a layer ≥ 1 or "last", nothing else', () => {
  assert.equal(problem({ type: 'setLayer', uri: task, level: 1, layer: 3 }), undefined);
  assert.equal(problem({ type: 'setLayer', uri: task, level: 2, layer: 'last' }), undefined);
  assert.match(problem({ type: 'setLayer', uri: task, level: 1, layer: 0 }) ?? '', /setLayer: levels\[0\]\.layer must be a whole number ≥ 1 or "last", got 0/);
  assert.match(problem({ type: 'setLayer', uri: task, level: 1, layer: 2.5 }) ?? '', /got 2\.5/);
  assert.match(problem({ type: 'setLayer', uri: task, level: 1, layer: '3' }) ?? '', /got "3"/);
  assert.match(problem({ type: 'setLayer', uri: task, level: 0, layer: 3 }) ?? '', /the level must be a whole number ≥ 1/);
  assert.match(problem({ type: 'setLayer', uri: task, level: '1', layer: 3 }) ?? '', /the level must be/);
});

test('useScanLayers takes a non-empty list of layers ≥ 1 or "last"', () => {
  assert.equal(problem({ type: 'useScanLayers', uri: task, layers: [2, 'last'] }), undefined);
  assert.match(problem({ type: 'useScanLayers', uri: task, layers: [2, null] }) ?? '', /useScanLayers: levels\[1\]\.layer must be .*got null/);
  assert.match(problem({ type: 'useScanLayers', uri: task, layers: [] }) ?? '', /non-empty list/);
  assert.match(problem({ type: 'useScanLayers', uri: task, layers: 'all' }) ?? '', /non-empty list, got "all"/);
});

test('anything else a page could post is ignored', () => {
  assert.match(problem(null) ?? '', /not an object/);
  assert.match(problem('train') ?? '', /not an object/);
  assert.match(problem({ type: 'runShell', uri: task }) ?? '', /unknown message type "runShell"/);
  assert.match(problem({ uri: task }) ?? '', /unknown message type/);
  assert.match(problem({ type: 'cancel', jobId: 7 }) ?? '', /cancel: jobId must be a non-empty string, got 7/);
});
