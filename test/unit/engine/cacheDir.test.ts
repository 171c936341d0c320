// The engine's cache goes where each platform keeps caches; XDG_CACHE_HOME, when absolute, wins
// everywhere (the tests point it at a scratch folder).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultCacheDir } from '../../../engine/src/cacheDir';

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
