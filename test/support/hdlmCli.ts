// The `hdlm` command line as tests run it: the built dist/hdlm.js of the repository at `root`, in
// a child process with its own cache folder (graphs, features), so that a test never reads
// another run's. (The root is passed in: this file is bundled into each test, so its own
// __dirname is the test's.)
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

export interface CliRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function runHdlm(root: string, args: readonly string[], options: { cacheDir: string; cwd?: string }): CliRun {
  const r = spawnSync(process.execPath, [join(root, 'dist', 'hdlm.js'), ...args], { encoding: 'utf8', cwd: options.cwd, env: { ...process.env, XDG_CACHE_HOME: options.cacheDir } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
