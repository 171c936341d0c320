// Stands in for the VS Code executable that @vscode/test-electron launches. It takes the same
// arguments (--extensionDevelopmentPath, --extensionTestsPath, --user-data-dir, a folder), starts
// the VS Code server from code-server with Node 24, opens the workbench in Debian's chromium
// through playwright-core with the smoke-test driver's hooks, saves screenshots of the
// workbench, and exits with the code the extension tests report.
import { ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { format } from 'node:util';
import { chromium, type Browser, type Page } from 'playwright-core';
import { node24, resultsDir as defaultResultsDir, vscodeServerMain } from '../support/vscodeHost';

// 15 minutes: the suite takes 5–7 on a quiet 2-core machine, and over 10 on one shared with other work.
const TIMEOUT_MS = Number(process.env['HDLM_INTEGRATION_TIMEOUT_MS'] ?? 15 * 60 * 1000);
const CHROMIUM = process.env['HDLM_CHROMIUM'] ?? '/usr/bin/chromium';
/** Logs and screenshots go here; the installed-.vsix check points it at a folder of its own. */
const resultsDir = process.env['HDLM_WRAPPER_RESULTS'] ?? defaultResultsDir;
/** Workbench log lines that say nothing about the tests. */
const NOISE = /^\[(AgentHost|Extension Host|ExtensionService)\]|No signed-in session/;

interface LaunchArgs {
  developmentPath: string;
  testsPath: string;
  userDataDir: string;
  extensionsDir: string;
  folder: string | undefined;
}

function parseArgs(argv: string[]): LaunchArgs {
  const value = (name: string): string | undefined => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const required = (name: string): string => {
    const v = value(name);
    if (!v) throw new Error(`--${name}=... is required`);
    return v;
  };
  const tmp = join(resultsDir, 'vscode-profile');
  return {
    developmentPath: required('extensionDevelopmentPath'),
    testsPath: required('extensionTestsPath'),
    userDataDir: value('user-data-dir') ?? join(tmp, 'user-data'),
    extensionsDir: value('extensions-dir') ?? join(tmp, 'extensions'),
    folder: argv.find((a) => !a.startsWith('--')),
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Starts the VS Code server in its own process group so that all its children can be killed. */
function startServer(port: number, args: LaunchArgs): ChildProcess {
  const log = createWriteStream(join(resultsDir, 'vscode-server.log'));
  const child = spawn(
    node24,
    [
      vscodeServerMain,
      '--host', '127.0.0.1',
      '--port', String(port),
      '--without-connection-token',
      '--accept-server-license-terms',
      '--enable-smoke-test-driver',
      '--disable-telemetry',
      // Trust is off (every folder trusted) unless a check asks for Restricted Mode (runVsixCheck.ts).
      ...(process.env['HDLM_WORKSPACE_TRUST'] === 'on' ? [] : ['--disable-workspace-trust']),
      '--user-data-dir', join(args.userDataDir, 'server'),
      '--server-data-dir', join(args.userDataDir, 'server-data'),
      '--extensions-dir', args.extensionsDir,
    ],
    { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: process.env },
  );
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  return child;
}

async function waitForServer(port: number, server: ChildProcess): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (server.exitCode !== null) throw new Error(`the VS Code server exited with ${server.exitCode}; see test-results/vscode-server.log`);
    try {
      const response = await fetch(`http://127.0.0.1:${port}/version`);
      if (response.ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error('the VS Code server did not answer within 60 s; see test-results/vscode-server.log');
}

function workbenchUrl(port: number, args: LaunchArgs): string {
  const remote = (path: string): string => `vscode-remote://127.0.0.1:${port}${path}`;
  const payload = JSON.stringify([
    ['extensionDevelopmentPath', remote(args.developmentPath)],
    ['extensionTestsPath', remote(args.testsPath)],
    ['skipWelcome', 'true'],
  ]);
  const folder = args.folder ? `folder=${encodeURIComponent(args.folder)}&` : '';
  return `http://127.0.0.1:${port}/?${folder}payload=${encodeURIComponent(payload)}`;
}

async function screenshot(page: Page, name: string): Promise<void> {
  try {
    await page.screenshot({ path: join(resultsDir, name) });
    console.log(`[wrapper] screenshot saved to test-results/${name}`);
  } catch (err) {
    console.log(`[wrapper] screenshot ${name} failed: ${String(err)}`);
  }
}

function killGroup(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  mkdirSync(resultsDir, { recursive: true });
  const port = await freePort();
  const server = startServer(port, args);
  let browser: Browser | undefined;
  const cleanup = (): void => killGroup(server);
  process.on('exit', cleanup);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(130));
  try {
    await waitForServer(port, server);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const pageLog = createWriteStream(join(resultsDir, 'workbench-console.log'));
    page.on('console', (m) => pageLog.write(`[${m.type()}] ${m.text()}\n`));
    const automationLog = createWriteStream(join(resultsDir, 'workbench-automation.log'));
    const exitCode = new Promise<number>((resolve) => {
      void page.exposeFunction('codeAutomationLog', (type: string, args: unknown[]) => {
        const text = format(...args);
        automationLog.write(`[${type}] ${text}\n`);
        // The workbench's own chatter (agent host, extension scanning) stays in the log file.
        if (!NOISE.test(text)) console.log(`[vscode ${type}] ${text}`);
        // A test asks for a picture of the workbench by logging this marker (see suite/screenshots.ts).
        const asked = /HDLM_SCREENSHOT:([\w.-]+\.png)/.exec(text);
        if (asked) void screenshot(page, asked[1]!);
      });
      void page.exposeFunction('codeAutomationExit', (code: number) => resolve(code));
    });
    await page.goto(workbenchUrl(port, args));
    const timeout = new Promise<number>((resolve) => setTimeout(() => resolve(-1), TIMEOUT_MS).unref());
    const code = await Promise.race([exitCode, timeout]);
    if (code === -1) console.log(`[wrapper] the extension tests did not finish within ${TIMEOUT_MS / 1000} s`);
    await screenshot(page, 'workbench.png');
    return code === -1 ? 1 : code;
  } finally {
    await browser?.close().catch(() => undefined);
    cleanup();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`[wrapper] ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
    process.exit(1);
  },
);
