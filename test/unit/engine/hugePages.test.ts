// Huge-page malloc for the engine's processes: the variable is added on Linux only and never
// overrides a user's own setting, and a process started with it really gets huge pages for a
// large allocation where the kernel offers them (THP not "never"), where one without it does not
// (THP "madvise").
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { hugePageMalloc, withHugePageMalloc } from '../../../engine/src/runtime/hugePages';

test('GLIBC_TUNABLES gains glibc.malloc.hugetlb=1 on Linux, beside other tunables, unless it is set already', () => {
  assert.equal(withHugePageMalloc({ PATH: '/bin' }, 'linux')['GLIBC_TUNABLES'], 'glibc.malloc.hugetlb=1');
  assert.equal(withHugePageMalloc({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' }, 'linux')['GLIBC_TUNABLES'], 'glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1');
  assert.equal(withHugePageMalloc({ GLIBC_TUNABLES: 'glibc.malloc.hugetlb=0' }, 'linux')['GLIBC_TUNABLES'], 'glibc.malloc.hugetlb=0', "the user's choice stands");
  assert.equal(withHugePageMalloc({}, 'darwin')['GLIBC_TUNABLES'], undefined);
  assert.equal(withHugePageMalloc({}, 'win32')['GLIBC_TUNABLES'], undefined);
  const env = { PATH: '/bin' };
  withHugePageMalloc(env, 'linux');
  assert.deepEqual(env, { PATH: '/bin' }, 'the given environment is left as it was');
  const mac = { PATH: '/bin' };
  assert.equal(withHugePageMalloc(mac, 'darwin'), mac, 'adding nothing, the same object (the bench reruns itself only when it differs)');
  assert.equal(hugePageMalloc({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1' }, 'linux'), true);
  assert.equal(hugePageMalloc({ GLIBC_TUNABLES: 'glibc.malloc.hugetlb=0' }, 'linux'), false);
  assert.equal(hugePageMalloc({ GLIBC_TUNABLES: 'glibc.malloc.hugetlb=1' }, 'darwin'), false);
});

/** The kernel's transparent huge page mode: always, madvise or never; undefined off Linux. */
function thpMode(): string | undefined {
  const path = '/sys/kernel/mm/transparent_hugepage/enabled';
  return existsSync(path) ? /\[(\w+)\]/.exec(readFileSync(path, 'utf8'))?.[1] : undefined;
}

/** AnonHugePages (kB) of a child process that fills a 64 MiB buffer, started with `env`. */
function hugePagesOfAChild(env: NodeJS.ProcessEnv): number {
  const script = 'const b = Buffer.alloc(64 << 20); for (let i = 0; i < b.length; i += 4096) b[i] = 1; process.stdout.write(/AnonHugePages:\\s+(\\d+)/.exec(require("fs").readFileSync("/proc/self/smaps_rollup", "utf8"))[1]);';
  const run = spawnSync(process.execPath, ['-e', script], { env, encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  return Number(run.stdout);
}

test('a process started with it gets huge pages for a large allocation', (t) => {
  const mode = thpMode();
  if (process.platform !== 'linux' || mode === undefined || mode === 'never') {
    t.skip(`transparent huge pages: ${mode ?? 'none here'}`);
    return;
  }
  const { GLIBC_TUNABLES: _, ...plain } = process.env;
  const huge = hugePagesOfAChild(withHugePageMalloc(plain));
  assert.ok(huge >= 32 * 1024, `with the tunable: ${huge} kB in huge pages`);
  if (mode === 'madvise') assert.ok(hugePagesOfAChild(plain) < huge / 4, 'without it, next to none (the kernel gives them only when asked)');
});

test('hdlm info says whether its process asked for huge pages (Linux)', (t) => {
  if (process.platform !== 'linux') {
    t.skip('the tunable means nothing here');
    return;
  }
  const root = resolve(__dirname, '..', '..', '..', '..');
  const { GLIBC_TUNABLES: _, ...plain } = process.env;
  const info = (env: NodeJS.ProcessEnv): { hugePageMalloc?: boolean } => {
    const run = spawnSync(process.execPath, [join(root, 'dist', 'hdlm.js'), 'info', '--json'], { env, encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    return JSON.parse(run.stdout) as { hugePageMalloc?: boolean };
  };
  assert.equal(info(plain).hugePageMalloc, false);
  assert.equal(info(withHugePageMalloc(plain)).hugePageMalloc, true);
});
