// The built task panel page (dist/webview/taskPanel.js) in headless chromium, driven by the
// host's state messages: what a keyboard and a screen-reader user meet (focus across updates,
// tab order, names, states, live regions, tables).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { openWebview, type AxNode, type WebviewPage } from '../../support/webviewPage';

// A Windows workspace: the task's URI as VS Code writes it, the job's task as the server's path.
const A = 'file:///c%3A/ws/a.hdlm.json';
const B = 'file:///c%3A/ws/b.hdlm.json';
const DATASET = 'file:///c%3A/ws/a.jsonl';

function state(fraction: number, line = 'epoch 1/3'): unknown {
  const task = (uri: string, path: string, name: string, active: boolean): unknown => ({ uri, path, name, kind: 'classify', dataset: 'a.jsonl', levels: [3, 'last'], active, heads: [] });
  return {
    model: 'hdlm-tiny',
    device: 'cpu',
    layers: 8,
    tasks: [task(A, 'a.hdlm.json', 'A', false), task(B, 'b.hdlm.json', 'B', true)],
    datasets: [{ path: 'a.jsonl', uri: DATASET }],
    job: {
      jobId: 'job-1',
      kind: 'train',
      task: 'c:\\ws\\a.hdlm.json',
      taskUri: A,
      state: 'running',
      fraction,
      line,
      heads: [
        { name: 'L1', layer: 3, losses: [3, 2, 1.5], devAccuracy: [0.5] },
        { name: 'flat', losses: [3, 2.5, 2], devAccuracy: [0.4] },
      ],
    },
    recentJobs: [],
  };
}

let view: WebviewPage;
before(async () => {
  view = await openWebview('taskPanel');
  await view.send({ type: 'state', state: state(0.3) });
});
after(async () => view?.close());

const buttons = async (): Promise<AxNode[]> => (await view.axTree()).filter((n) => n.role === 'button');

test('the focused control keeps the focus when a job progress update rebuilds the panel', async () => {
  for (const key of ['job-1#cancel', `${B}#scanLayers`, `${A}#level1`, `${DATASET}#open`]) {
    await view.page.focus(`[data-key="${key}"]`);
    const focused = await view.focused();
    assert.match(focused, new RegExp(`:${key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`));
    await view.send({ type: 'state', state: state(0.35) });
    assert.equal(await view.focused(), focused, `focus on ${key} after an update`);
  }
});

test("a job button pressed moves the focus to its job's Cancel once the job runs and disables it", async () => {
  const idle = state(0.5) as { job: { state: string } };
  idle.job.state = 'done';
  await view.send({ type: 'state', state: idle });
  await view.page.focus(`[data-key="${A}#evaluate"]`);
  await view.send({ type: 'state', state: state(0) });
  assert.equal(await view.focused(), 'vscode-button:job-1#cancel');
});

test('task and dataset names are buttons reached by Tab, not links to "#"', async () => {
  assert.equal(await view.page.locator('a[href="#"], a:not([href])').count(), 0);
  await view.page.focus('body');
  const order: string[] = [];
  for (let i = 0; i < 30; i++) {
    await view.page.keyboard.press('Tab');
    order.push(await view.focused());
  }
  assert.ok(order.includes(`button:${A}#open`), order.join(' | '));
  assert.ok(order.includes(`button:${DATASET}#open`), order.join(' | '));
  await view.page.click(`[data-key="${DATASET}#open"]`);
  assert.deepEqual((await view.sent()).at(-1), { type: 'open', uri: DATASET });
});

test("a card's job buttons are disabled while its job runs (the job's task compared as a URI), the other card's not", async () => {
  const all = await buttons();
  const disabled = (name: string): unknown => all.find((b) => b.name === name)?.properties['disabled'];
  for (const name of ['Fine-tune a.hdlm.json', 'Evaluate a.hdlm.json', 'Suggest layers for a.hdlm.json']) assert.equal(disabled(name), true, name);
  for (const name of ['Fine-tune b.hdlm.json', 'Evaluate b.hdlm.json']) assert.notEqual(disabled(name), true, name);
  assert.ok(all.some((b) => b.name === 'Fine-tune a.hdlm.json' && (b as AxNode).properties['disabled'] === true));
  assert.equal(await view.page.locator(`[data-key="${A}#train"]`).textContent(), 'Training…');
});

test('every button has a name of its own', async () => {
  const names = (await buttons()).map((b) => b.name);
  assert.ok(names.includes('New task from a.jsonl') && names.includes('Evaluate a task on a.jsonl'), names.join(' | '));
  assert.deepEqual(names.filter((n, i) => names.indexOf(n) !== i), [], names.join(' | '));
});

test('the progress is a named progressbar and the job line a live status', async () => {
  await view.send({ type: 'state', state: state(0.42, 'epoch 2/3 loss 1.9') });
  const tree = await view.axTree();
  const bar = tree.find((n) => n.role === 'progressbar');
  assert.ok(bar, 'a progressbar');
  assert.equal(bar.name, 'Training of a.hdlm.json');
  assert.equal(bar.value, 42);
  assert.equal(bar.properties['valuemin'], 0);
  assert.equal(bar.properties['valuemax'], 100);
  const status = await view.page.locator('[role=status]').textContent();
  assert.match(status ?? '', /epoch 2\/3 loss 1\.9/);
});

test('the loss curve has a text alternative with the last loss per head; swatches are hidden; series differ in dashes', async () => {
  const curve = (await view.axTree()).find((n) => n.role === 'image');
  assert.equal(curve?.name, 'training loss per head, last: L1 @3 1.500; flat 2.000');
  assert.equal(await view.page.locator('.swatch:not([aria-hidden=true])').count(), 0);
  const dashes = await view.evaluate<string[]>("[...document.querySelectorAll('polyline')].map((l) => getComputedStyle(l).strokeDasharray)");
  assert.equal(new Set(dashes).size, dashes.length, dashes.join(' | '));
});

test('tables have captions, column headers and row headers; empty headers are named; hover details are reachable', async () => {
  const withTables = state(1, 'done') as { tasks: { heads: unknown[] }[]; job: { state: string } };
  withTables.job.state = 'done';
  withTables.tasks[0]!.heads = [{ name: 'L1', layer: 3, kind: 'linear', bestDevAccuracy: 0.5, trainedAt: '2026-12-01T10:00:00Z' }];
  await view.send({ type: 'state', state: withTables });
  const facts = await view.evaluate<{ caption: string; unscoped: number; rowHeaders: number; rows: number; emptyHeaders: number }[]>(`[...document.querySelectorAll('table')].map((t) => ({
    caption: t.querySelector('caption')?.textContent ?? '',
    unscoped: t.querySelectorAll('th:not([scope])').length,
    rowHeaders: t.querySelectorAll('th[scope=row]').length,
    rows: t.rows.length - 1,
    emptyHeaders: [...t.querySelectorAll('th')].filter((th) => th.textContent.trim() === '').length,
  }))`);
  assert.ok(facts.length >= 2, JSON.stringify(facts));
  for (const f of facts) {
    assert.notEqual(f.caption, '', JSON.stringify(f));
    assert.equal(f.unscoped, 0, JSON.stringify(f));
    assert.equal(f.rowHeaders, f.rows, JSON.stringify(f));
    assert.equal(f.emptyHeaders, 0, JSON.stringify(f));
  }
  // The head's training time, on hover before, is now a focusable cell's description.
  const head = view.page.locator('th[scope=row][title]', { hasText: 'L1' }).first();
  assert.equal(await head.getAttribute('tabindex'), '0');
  const described = (await view.axTree()).find((n) => n.name === 'L1' && typeof n.properties['focusable'] === 'boolean');
  assert.ok(described, 'the L1 cell is focusable');
  const id = await head.getAttribute('aria-describedby');
  assert.equal(await view.page.locator(`[id="${id}"]`).textContent(), 'trained 2026-12-01 10:00 UTC');
});
