// `npm test`'s last tier: the packaged .vsix (from `npm run package`) installs into code-server
// with its own --install-extension, and a real VS Code with that extensions folder activates it
// and classifies with the packaged model (test/vsixProbe/suite.ts runs inside the workbench).
import { runTests } from '@vscode/test-electron';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { codeServerDir, node24, repoRoot, resultsDir } from '../support/vscodeHost';

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
  try {
    const extensionsDir = install(vsix, scratch);
    const workspace = join(scratch, 'workspace');
    mkdirSync(workspace);
    writeFileSync(join(workspace, 'notes.txt'), 'A workspace for the installed-extension check.\n');
    // The wrapper's own logs and screenshots go beside the check's result, not over the suite's.
    process.env['HDLM_WRAPPER_RESULTS'] = logs;
    await runTests({
      vscodeExecutablePath: join(repoRoot, 'test', 'integration', 'vscode-wrapper'),
      extensionDevelopmentPath: join(repoRoot, 'test', 'vsixProbe'),
      extensionTestsPath: join(repoRoot, 'out', 'test', 'vsixProbe', 'suite.js'),
      launchArgs: [workspace, `--extensions-dir=${extensionsDir}`],
      extensionTestsEnv: { HDLM_TEST_RESULTS: logs, HDLM_VSIX_EXTENSIONS_DIR: extensionsDir },
    });
  } catch (err) {
    console.error(`vsix: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  const result = existsSync(join(logs, 'vsix.json')) ? (JSON.parse(readFileSync(join(logs, 'vsix.json'), 'utf8')) as { passes: number; failures: number }) : { passes: 0, failures: 1 };
  console.log(`vsix: ${result.passes} passed, ${result.failures} failed`);
  return result.failures === 0 && result.passes > 0 ? 0 : 1;
}

main().then(
  (code) => (process.exitCode = code),
  (err: unknown) => {
    console.error(`vsix: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
    process.exitCode = 1;
  },
);
