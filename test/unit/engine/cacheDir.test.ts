// The engine's cache goes where each platform keeps caches; XDG_CACHE_HOME, when absolute, wins
// everywhere (the tests point it at a scratch folder).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { defaultCacheDir } from '../../../engine/src/cacheDir';
import { cacheBytes } from '../../../engine/src/diskBudget';

test("the cache folder is the platform's, and an absolute XDG_CACHE_HOME overrides it", () => {
  assert.equal(defaultCacheDir({}, 'linux', '/home/ada'), '/home/ada/.cache/hdlm');
  assert.equal(defaultCacheDir({}, 'darwin', '/Users/ada'), '/Users/ada/Library/Caches/hdlm');
  assert.equal(defaultCacheDir({ LOCALAPPDATA: 'C:\\Users\\ada\\AppData\\Local' }, 'win32', 'C:\\Users\\ada'), 'C:\\Users\\ada\\AppData\\Local\\hdlm\\Cache');
  assert.equal(defaultCacheDir({}, 'win32', 'C:\\Users\\ada'), 'C:\\Users\\ada\\AppData\\Local\\hdlm\\Cache', 'without LOCALAPPDATA, its usual place');
  assert.equal(defaultCacheDir({ XDG_CACHE_HOME: '/scratch/cache' }, 'linux', '/home/ada'), '/scratch/cache/hdlm');
  assert.equal(defaultCacheDir({ XDG_CACHE_HOME: '/scratch/cache' }, 'darwin', '/Users/ada'), '/scratch/cache/hdlm');
  assert.equal(defaultCacheDir({ XDG_CACHE_HOME: 'D:\\cache' }, 'win32', 'C:\\Users\\ada'), 'D:\\cache\\hdlm');
  // A relative value would move with the working directory: ignored, as the XDG rules say.
  assert.equal(defaultCacheDir({ XDG_CACHE_HOME: 'cache' }, 'linux', '/home/ada'), '/home/ada/.cache/hdlm');
  assert.equal(defaultCacheDir({ XDG_CACHE_HOME: '' }, 'linux', '/home/ada'), '/home/ada/.cache/hdlm');
});

test('cacheBytes counts every file however deep, and a folder that is not there as empty', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hdlm-cache-bytes-'));
  try {
    mkdirSync(join(dir, 'graphs', 'abc'), { recursive: true });
    writeFileSync(join(dir, 'fingerprints.json'), 'x'.repeat(10));
    writeFileSync(join(dir, 'graphs', 'abc', 'weights.bin'), Buffer.alloc(70_000));
    writeFileSync(join(dir, 'graphs', 'abc', 'graph.onnx'), Buffer.alloc(300));
    assert.equal(cacheBytes(dir), 70_310);
    assert.equal(cacheBytes(join(dir, 'missing')), 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
