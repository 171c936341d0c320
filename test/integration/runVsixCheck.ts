// `npm test`'s last tier: the packaged .vsix (from `npm run package`) installs into code-server
// with its own --install-extension, and a real VS Code with that extensions folder activates it
// and classifies with the packaged model (test/vsixProbe/suite.ts runs inside the workbench).
// A second window opens a workspace that VS Code does not trust (Restricted Mode), whose
// settings name a model and a task that do not exist: the extension must still activate, and
// serve the shipped model and task, because its manifest restricts those two settings.
import { runTests } from '@vscode/test-electron';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RESTRICTED_WORKSPACE_SETTINGS } from '../vsixProbe/restricted';
import { codeServerDir, node24, repoRoot, resultsDir } from '../support/vscodeHost';
import { errorMessage } from '../../engine/src/errorMessage';

function vsixPath(): string {
  const { name, version } = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { name: string; version: string };
  return join(repoRoot, `${name}-${version}-linux-x64.vsix`);
}

/** Installs the .vsix with code-server's CLI, as a user would; returns the extensions folder. */
function install(vsix: string, scratch: string): string {
  const extensionsDir = join(scratch, 'extensions');
  const r = spawnSync(node24, [join(codeServerDir, 'out', 'node', 'entry.js'), '--extensions-dir', extensionsDir, '--user-data-dir', join(scratch, 'user-data'), '--install-extension', vsix], {
    encoding: 'utf8',
    timeout: 180_000,
    // code-server writes a default config on first run; keep it in the scratch folder, not in ~/.config.
    env: { ...process.env, XDG_CONFIG_HOME: join(scratch, 'config'), XDG_DATA_HOME: join(scratch, 'data') },
  });
  const output = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
  console.log(`vsix: code-server --install-extension: ${output.split('\n').slice(-3).join(' | ')}`);
  if (r.status !== 0) throw new Error(`code-server --install-extension ${vsix} failed (${r.status ?? r.signal}): ${output}`);
  return extensionsDir;
}

/** The two windows the check opens: a trusted one, and one in Restricted Mode. */
type Mode = 'trusted' | 'restricted';

interface ProbeResult {
  passes: number;
  failures: number;
  lines: string[];
}

/** A workspace for `mode`; the restricted one's settings name a model and a task that do not exist. */
function workspaceFor(mode: Mode, scratch: string): string {
  const workspace = join(scratch, `workspace-${mode}`);
  mkdirSync(join(workspace, '.vscode'), { recursive: true });
  writeFileSync(join(workspace, 'notes.txt'), 'A workspace for the installed-extension check.\n');
  if (mode === 'restricted') writeFileSync(join(workspace, '.vscode', 'settings.json'), `${JSON.stringify(RESTRICTED_WORKSPACE_SETTINGS, null, 2)}\n`);
  return workspace;
}

/** Opens a window on a fresh workspace with the installed extension and runs the probe in it. */
async function probe(mode: Mode, extensionsDir: string, scratch: string, logs: string): Promise<ProbeResult> {
  const resultFile = join(logs, `vsix-${mode}.json`);
  rmSync(resultFile, { force: true });
  // Workspace trust is on only for the restricted window: a fresh profile trusts no folder.
  process.env['HDLM_WORKSPACE_TRUST'] = mode === 'restricted' ? 'on' : 'off';
  try {
    await runTests({
      vscodeExecutablePath: join(repoRoot, 'test', 'integration', 'vscode-wrapper'),
      extensionDevelopmentPath: join(repoRoot, 'test', 'vsixProbe'),
      extensionTestsPath: join(repoRoot, 'out', 'test', 'vsixProbe', 'suite.js'),
      launchArgs: [workspaceFor(mode, scratch), `--extensions-dir=${extensionsDir}`, `--user-data-dir=${join(scratch, `user-data-${mode}`)}`],
      extensionTestsEnv: { HDLM_TEST_RESULTS: logs, HDLM_VSIX_EXTENSIONS_DIR: extensionsDir, HDLM_VSIX_MODE: mode },
    });
  } catch (err) {
    console.error(`vsix (${mode}): ${errorMessage(err)}`);
  }
  return existsSync(resultFile) ? (JSON.parse(readFileSync(resultFile, 'utf8')) as ProbeResult) : { passes: 0, failures: 1, lines: [`the ${mode} window wrote no result`] };
}

async function main(): Promise<number> {
  const vsix = vsixPath();
  if (!existsSync(vsix)) {
    console.log(`vsix: ${vsix} does not exist; run npm run package first`);
    return 1;
  }
  const scratch = mkdtempSync(join(tmpdir(), 'hdlm-vsix-'));
  const logs = join(resultsDir, 'vsix');
  mkdirSync(logs, { recursive: true });
  rmSync(join(logs, 'vsix.json'), { force: true });
  const results: ProbeResult[] = [];
  try {
    const extensionsDir = install(vsix, scratch);
    // The wrapper's own logs and screenshots go beside the check's result, not over the suite's.
    process.env['HDLM_WRAPPER_RESULTS'] = logs;
    for (const mode of ['trusted', 'restricted'] as const) results.push(await probe(mode, extensionsDir, scratch, logs));
  } catch (err) {
    console.error(`vsix: ${errorMessage(err)}`);
    results.push({ passes: 0, failures: 1, lines: [String(err)] });
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  const total = { passes: results.reduce((n, r) => n + r.passes, 0), failures: results.reduce((n, r) => n + r.failures, 0) };
  writeFileSync(join(logs, 'vsix.json'), JSON.stringify({ ...total, lines: results.flatMap((r) => r.lines) }, null, 2));
  console.log(`vsix: ${total.passes} passed, ${total.failures} failed`);
  return total.failures === 0 && total.passes > 0 ? 0 : 1;
}

main().then(
  (code) => (process.exitCode = code),
  (err: unknown) => {
    console.error(`vsix: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
    process.exitCode = 1;
  },
);
