// Entry point that VS Code loads from --extensionTestsPath: runs the mocha suites inside the
// extension host and writes a summary to test-results/integration.json for the test driver.
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Mocha from 'mocha';

export function run(): Promise<void> {
  const grep = process.env['HDLM_TEST_GREP'];
  const mocha = new Mocha({ ui: 'bdd', timeout: 120_000, color: false, reporter: 'spec', ...(grep ? { grep: new RegExp(grep) } : {}) });
  for (const file of readdirSync(__dirname).filter((f) => f.endsWith('.test.js')).sort()) {
    mocha.addFile(join(__dirname, file));
  }
  return new Promise((resolve, reject) => {
    // Failed tests' titles and first lines go into the summary too, so the last lines of a CI
    // log (often all that is kept) say which test failed and why.
    const failed: string[] = [];
    const runner = mocha.run((failures) => {
      const resultsDir = process.env['HDLM_TEST_RESULTS'];
      if (resultsDir) {
        mkdirSync(resultsDir, { recursive: true });
        const { passes = 0, failures: failedCount = 0, pending = 0 } = runner.stats ?? {};
        writeFileSync(join(resultsDir, 'integration.json'), JSON.stringify({ passes, failures: failedCount, pending, failed }, null, 2));
      }
      if (failures > 0) reject(new Error(`${failures} integration test(s) failed`));
      else resolve();
    });
    runner.on('fail', (test, err: unknown) => {
      const message = err instanceof Error ? err.message : String(err);
      failed.push(`${test.fullTitle()}: ${message.split('\n').slice(0, 3).join(' | ').slice(0, 400)}`);
    });
  });
}
