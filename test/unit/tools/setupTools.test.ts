// What a fresh Debian needs before `npm test`: tools/setup.sh installs the Debian packages that
// setupHost (node-gyp for code-server's native modules) and packageVsix (unzip) use, and both
// name what is missing instead of failing deep inside a child process.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { BUILD_TOOLS, missingBuildTools } from '../../support/buildTools';

const root = resolve(__dirname, '..', '..', '..', '..');

function setupPackages(): string[] {
  const line = /^APT_PACKAGES=\(([^)]*)\)/m.exec(readFileSync(join(root, 'tools', 'setup.sh'), 'utf8'));
  assert.ok(line, 'tools/setup.sh has an APT_PACKAGES=(...) line');
  return (line[1] as string).trim().split(/\s+/);
}

test('setup.sh installs every Debian package the build tools and the packaging step need', () => {
  const packages = setupPackages();
  for (const { pkg } of BUILD_TOOLS) assert.ok(packages.includes(pkg), `${pkg} is not in APT_PACKAGES`);
  assert.ok(packages.includes('unzip'), 'unzip (tools/packageVsix.mjs) is not in APT_PACKAGES');
});

test('missing build tools are all named, with their Debian packages', () => {
  assert.equal(missingBuildTools(() => true), null);
  const message = missingBuildTools((tool) => !['make', 'g++', 'python3'].includes(tool));
  assert.match(message ?? '', /^make, g\+\+, python3 are missing: node-gyp compiles code-server's native modules/);
  assert.match(message ?? '', /apt-get install make g\+\+ python3,/);
  assert.match(missingBuildTools((tool) => tool !== 'krb5-config') ?? '', /^krb5-config is missing: .*apt-get install libkrb5-dev,/);
});

test('packageVsix names unzip when it is missing, before building anything', () => {
  const emptyPath = mkdtempSync(join(tmpdir(), 'hdlm-nounzip-'));
  try {
    const r = spawnSync(process.execPath, [join(root, 'tools', 'packageVsix.mjs')], { cwd: root, encoding: 'utf8', env: { ...process.env, PATH: emptyPath }, timeout: 30_000 });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /package: unzip is not installed; .*apt-get install unzip/);
    assert.doesNotMatch(r.stdout + r.stderr, /esbuild|failed: null/);
  } finally {
    rmSync(emptyPath, { recursive: true, force: true });
  }
});
