// Entry point that VS Code loads from --extensionTestsPath: runs the mocha suites inside the
// extension host and writes a summary to test-results/integration.json for the test driver.
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Mocha from 'mocha';

export function run(): Promise<void> {
  const mocha = new Mocha({ ui: 'bdd', timeout: 120_000, color: false, reporter: 'spec' });
  for (const file of readdirSync(__dirname).filter((f) => f.endsWith('.test.js')).sort()) {
    mocha.addFile(join(__dirname, file));
  }
  return new Promise((resolve, reject) => {
    const runner = mocha.run((failures) => {
      const resultsDir = process.env['HDLM_TEST_RESULTS'];
      if (resultsDir) {
        mkdirSync(resultsDir, { recursive: true });
        const { passes = 0, failures: failed = 0, pending = 0 } = runner.stats ?? {};
        writeFileSync(join(resultsDir, 'integration.json'), JSON.stringify({ passes, failures: failed, pending }, null, 2));
      }
      if (failures > 0) reject(new Error(`${failures} integration test(s) failed`));
      else resolve();
    });
  });
}
