// Eviction removes the least recently used entries first, a crashed write's leftover before
// them, and never an entry another process is still writing (no manifest yet, and recent).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { evictLeastRecent, UNFINISHED_ENTRY_MS } from '../../../engine/src/diskBudget';

test('eviction takes a stale unfinished entry and the least recently used, and leaves one being written', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hdlm-budget-'));
  try {
    const now = Date.now();
    const entry = (name: string, manifestAgeMs: number | undefined, folderAgeMs = 0): void => {
      mkdirSync(join(dir, name));
      writeFileSync(join(dir, name, 'weights.bin'), Buffer.alloc(1000));
      if (manifestAgeMs !== undefined) {
        writeFileSync(join(dir, name, 'manifest.json'), '{}');
        const at = (now - manifestAgeMs) / 1000;
        utimesSync(join(dir, name, 'manifest.json'), at, at);
      }
      const at = (now - folderAgeMs) / 1000;
      utimesSync(join(dir, name), at, at);
    };
    entry('old', 10 * 3600_000);
    entry('recent', 3600_000);
    entry('writing', undefined, 60_000);
    entry('stale', undefined, UNFINISHED_ENTRY_MS + 60_000);
    const evicted: number[] = [];
    evictLeastRecent(dir, 'manifest.json', 2100, new Set(), (bytes) => evicted.push(bytes), now);
    assert.deepEqual(readdirSync(dir).sort(), ['recent', 'writing']);
    assert.equal(evicted.length, 2, 'the stale leftover, then the oldest entry');
    // With every finished entry gone, what is still being written stays even over the budget.
    evictLeastRecent(dir, 'manifest.json', 0, new Set(), (bytes) => evicted.push(bytes), now);
    assert.deepEqual(readdirSync(dir), ['writing']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
