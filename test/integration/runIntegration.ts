// Runs the integration suite in a real VS Code through @vscode/test-electron's runTests, with
// codeWrapper (code-server's VS Code in Debian chromium) as the executable.
import { runTests } from '@vscode/test-electron';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot, resultsDir } from '../support/vscodeHost';
import { errorMessage } from '../../engine/src/errorMessage';

async function main(): Promise<number> {
  mkdirSync(resultsDir, { recursive: true });
  rmSync(join(resultsDir, 'integration.json'), { force: true });
  const workspace = mkdtempSync(join(tmpdir(), 'hdlm-workspace-'));
  writeFileSync(join(workspace, 'README.md'), '# A workspace for the HdLM integration tests\n');
  // A cache of the run's own (graphs, features, the job journal), so that every run starts as
  // CI's fresh machine does: with an earlier run's features cached, the fine-tuning test's job
  // ended before hover could be measured during it (2 samples, both at its start).
  const cache = mkdtempSync(join(tmpdir(), 'hdlm-cache-'));
  process.env['XDG_CACHE_HOME'] = cache;
  try {
    await runTests({
      vscodeExecutablePath: join(repoRoot, 'test', 'integration', 'vscode-wrapper'),
      extensionDevelopmentPath: repoRoot,
      extensionTestsPath: join(repoRoot, 'out', 'test', 'integration', 'suite', 'index.js'),
      launchArgs: [workspace],
      // HDLM_TEST_GREP runs only the matching tests (while working on one; later tests build on earlier ones).
      extensionTestsEnv: { HDLM_TEST_RESULTS: resultsDir, ...(process.env['HDLM_TEST_GREP'] ? { HDLM_TEST_GREP: process.env['HDLM_TEST_GREP'] } : {}) },
    });
  } catch (err) {
    console.error(`integration: ${errorMessage(err)}`);
  } finally {
    rmSync(workspace, { recursive: true, force: true });
    rmSync(cache, { recursive: true, force: true });
  }
  return report();
}

/** Prints the suite's own counts; a run that wrote none failed before its tests ran. */
function report(): number {
  try {
    const { passes, failures } = JSON.parse(readFileSync(join(resultsDir, 'integration.json'), 'utf8')) as { passes: number; failures: number };
    console.log(`integration: ${passes} passed, ${failures} failed`);
    return failures === 0 && passes > 0 ? 0 : 1;
  } catch {
    console.log('integration: no results were written (the workbench or the test host did not start; see test-results/)');
    return 1;
  }
}

main().then(
  (code) => (process.exitCode = code),
  (err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  },
);
