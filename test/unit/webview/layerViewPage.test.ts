// The built layer view page (dist/webview/layerView.js) in headless chromium, driven by the
// host's messages: focus while tokens stream in, its error screen's ways on, what a screen
// reader is told, confidence not shown by fading alone, table semantics.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { openWebview, type WebviewPage } from '../../support/webviewPage';

const data = {
  text: 'a big cat',
  model: 'models/hdlm-tiny',
  device: 'cpu',
  layers: 4,
  tokens: ['a', ' big', ' cat'],
  readouts: [0, 1, 2, 3, 4].map((layer) => ({ layer, top: [{ text: `x${layer}`, probability: 0.6 }, { text: 'y', probability: 0.1 }] })),
  segments: [{ first: 0, end: 2, positions: 3, ms: 1.2 }],
  decisions: [
    { level: 1, label: 'animal', probability: 0.9, layer: 2, trained: true },
    { level: 2, label: 'cat', probability: 0.7, layer: 4, trained: false },
  ],
  task: 't',
  ms: 12,
};
const generation = (tokens: { part: 'thought' | 'answer'; text: string; layer: number; probability: number }[]): unknown => ({ type: 'generation', generation: { id: 'g', source: 'command', layers: 4, tokens } });

let view: WebviewPage;
before(async () => {
  view = await openWebview('layerView');
  await view.send({ type: 'layers', data });
});
after(async () => view?.close());

test('Refresh keeps the focus while generated tokens stream in', async () => {
  await view.page.focus('[data-key=refresh]');
  await view.send(generation([{ part: 'thought', text: 'hm', layer: 2, probability: 0.1 }]));
  await view.send(generation([{ part: 'thought', text: 'hm', layer: 2, probability: 0.1 }, { part: 'answer', text: 'ok', layer: 4, probability: 0.95 }]));
  assert.equal(await view.focused(), 'vscode-button:refresh');
});

test("a token's confidence is told in text and by a dotted mark, its text kept opaque", async () => {
  const chips = await view.evaluate("[...document.querySelectorAll('.generation .chip')].map((c) => ({ text: c.textContent, opacity: getComputedStyle(c).opacity, unsure: c.classList.contains('unsure') }))");
  assert.deepEqual(chips, [
    { text: 'hm (10.0 % sure)', opacity: '1', unsure: true },
    { text: 'ok (95.0 % sure)', opacity: '1', unsure: false },
  ]);
  assert.equal(await view.evaluate("getComputedStyle(document.querySelector('.exits .skipped')).opacity"), '1');
});

test('the layers table has a caption, column headers and a row header per layer', async () => {
  const facts = await view.evaluate(`(() => {
    const t = document.querySelector('table');
    return { caption: t.querySelector('caption')?.textContent ?? '', columns: t.querySelectorAll('th[scope=col]').length, rows: t.querySelectorAll('th[scope=row]').length };
  })()`);
  assert.deepEqual(facts, { caption: 'Every layer read out, deepest first', columns: 4, rows: 5 });
});

test('the busy ring is named for what it waits on, not "Loading"', async () => {
  await view.send({ type: 'busy', text: 'a big cat' });
  // The toolkit makes the ring an alert (said once, at once).
  const ring = (await view.axTree()).find((n) => n.role === 'alert');
  assert.equal(ring?.name, 'Reading out every layer');
});

test('an error is an alert with the ways on: Refresh and Select Task…', async () => {
  await view.send({ type: 'error', message: 'the server stopped' });
  const tree = await view.axTree();
  assert.ok(tree.some((n) => n.role === 'alert'), 'an alert');
  assert.equal(await view.page.locator('[role=alert]').textContent(), 'the server stopped');
  const names = tree.filter((n) => n.role === 'button').map((n) => n.name);
  assert.deepEqual(names, ['Refresh', 'Select Task…']);
  await view.page.click('[data-key=refresh]');
  await view.page.click('[data-key=selectTask]');
  assert.deepEqual((await view.sent()).slice(-2), [{ type: 'refresh' }, { type: 'selectTask' }]);
});
