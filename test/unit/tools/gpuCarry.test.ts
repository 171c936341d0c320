// The GPU machine gets the tracked tree and what tools/gpu/pack.sh packs, nothing from out/ or
// dist/ besides: every built file device call 2 (engineOnDevice.sh) runs must be in the pack.
// A test file missing there makes `node --test` run nothing at all, and that would cost a lent
// GPU's only parity run (it did once: deviceCache.test.js was run but not packed).
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';

const root = resolve(__dirname, '..', '..', '..', '..');
const read = (file: string): string => readFileSync(join(root, 'tools', 'gpu', file), 'utf8');

/** The paths pack.sh puts in build.tar.xz (its `build_files='…'` list). */
function packedBuild(): string[] {
  const line = /^build_files='([^']+)'/m.exec(read('pack.sh'));
  assert.ok(line, 'pack.sh has its build_files list');
  return line[1]!.trim().split(/\s+/);
}

/** Built paths (under out/ or dist/) that engineOnDevice.sh's steps use. */
function usedBuild(): string[] {
  const steps = read('engineOnDevice.sh').split('\n').filter((l) => /^step /.test(l));
  return [...new Set(steps.flatMap((l) => l.match(/\b(?:out|dist)\/[\w./-]+/g) ?? []))];
}

test('every built file the device steps run is packed for the device', () => {
  const packed = packedBuild();
  const used = usedBuild();
  assert.ok(used.length >= 5, `found the steps' files: ${used.join(' ')}`);
  const missing = used.filter((path) => !packed.some((p) => path === p || path.startsWith(`${p}/`)));
  assert.deepEqual(missing, [], `pack.sh packs ${packed.join(' ')}`);
});

test('every packed test bundle has a test source, so the build makes it', () => {
  const bundles = packedBuild().filter((p) => p.endsWith('.test.js'));
  assert.ok(bundles.length >= 3);
  for (const bundle of bundles) {
    const source = bundle.replace(/^out\//, '').replace(/\.js$/, '.ts');
    assert.ok(existsSync(join(root, source)), `${bundle} is built from ${source}`);
  }
});
