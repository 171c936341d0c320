// A built webview page (dist/webview/<entry>.js and .css, from `node esbuild.mjs`) in headless
// chromium through playwright-core, with a stand-in acquireVsCodeApi that records what the page
// posts: the unit tests drive the pages with the host's messages and read focus, tab order and
// the accessibility tree as a keyboard or screen-reader user meets them.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

// The same chromium the integration tier drives (tools/setup.sh installs it).
const CHROMIUM = process.env['HDLM_CHROMIUM'] ?? '/usr/bin/chromium';
// Tests are bundled one file each: __dirname is the test's own folder (out/test/unit/<dir>).
const DIST = join(__dirname, '..', '..', '..', '..', 'dist', 'webview');

export interface WebviewPage {
  page: Page;
  /** Posts a host message to the page, then waits for the page's next frame. */
  send(message: unknown): Promise<void>;
  /** What the page has posted to its host so far. */
  sent(): Promise<{ type: string; [key: string]: unknown }[]>;
  /** The focused element: `tag:data-key`, or `tag:text` when it has no key. */
  focused(): Promise<string>;
  /** The value of a JavaScript expression evaluated in the page. */
  evaluate<T = unknown>(expression: string): Promise<T>;
  /** Non-ignored nodes of chromium's accessibility tree: role, name and properties. */
  axTree(): Promise<AxNode[]>;
  close(): Promise<void>;
}

export interface AxNode {
  role: string;
  name: string;
  /** A range's current value (a progressbar's aria-valuenow). */
  value: unknown;
  properties: Record<string, unknown>;
}

/** Opens `entry` (taskPanel, layerView); fails, naming what is missing, when chromium or the build is not there. */
export async function openWebview(entry: 'taskPanel' | 'layerView'): Promise<WebviewPage> {
  if (!existsSync(CHROMIUM)) throw new Error(`webview tests need chromium at ${CHROMIUM} (tools/setup.sh installs it; HDLM_CHROMIUM names another)`);
  const script = join(DIST, `${entry}.js`);
  if (!existsSync(script)) throw new Error(`${script} is missing: run \`node esbuild.mjs\` first`);
  const css = readFileSync(join(DIST, `${entry}.css`), 'utf8');
  const js = readFileSync(script, 'utf8').replace(/<\/script>/g, '<\\/script>');
  const browser: Browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
  const page = await browser.newPage();
  const stub = 'window.sent=[];window.acquireVsCodeApi=()=>({postMessage:(m)=>window.sent.push(m),getState:()=>undefined,setState:()=>{}});';
  await page.setContent(`<!DOCTYPE html><html lang="en"><head><style>${css}</style></head><body><p>Loading…</p><script>${stub}</script><script>${js}</script></body></html>`);
  const cdp = await page.context().newCDPSession(page);
  return {
    page,
    async send(message) {
      await page.evaluate(`window.postMessage(${JSON.stringify(message)}, '*')`);
      // The page renders on the message event; let it and the toolkit's components settle.
      await page.evaluate('new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)))');
    },
    sent: () => page.evaluate('window.sent'),
    // The test tier's types have no DOM: what runs in the page is written as its source.
    focused: () => page.evaluate("(() => { const a = document.activeElement; return a ? `${a.tagName.toLowerCase()}:${a.getAttribute('data-key') ?? (a.textContent ?? '').trim().slice(0, 40)}` : 'none'; })()"),
    evaluate: <T>(expression: string) => page.evaluate(expression) as Promise<T>,
    async axTree() {
      const { nodes } = (await cdp.send('Accessibility.getFullAXTree')) as { nodes: { ignored: boolean; role?: { value: string }; name?: { value: string }; value?: { value: unknown }; properties?: { name: string; value: { value: unknown } }[] }[] };
      return nodes.filter((n) => !n.ignored).map((n) => ({ role: n.role?.value ?? '', name: n.name?.value ?? '', value: n.value?.value, properties: Object.fromEntries((n.properties ?? []).map((p) => [p.name, p.value.value])) }));
    },
    close: () => browser.close(),
  };
}
