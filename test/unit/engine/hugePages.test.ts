// Huge-page malloc for the engine's processes: the variable is added on Linux only and never
// overrides a user's own setting, and a process started with it really asks the kernel for huge
// pages for a large allocation (its mapping marked MADV_HUGEPAGE), where one without it does not.
// Whether the kernel then grants them depends on its free memory, not on us: not checked here.
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

/** glibc's version here, or undefined where there is none (musl, not Linux). */
function glibcVersion(): number | undefined {
  const header = (process.report.getReport() as { header?: { glibcVersionRuntime?: string } }).header;
  return header?.glibcVersionRuntime === undefined ? undefined : Number(header.glibcVersionRuntime);
}

/**
 * For a child process started with `env` that allocates a 64 MiB buffer: whether any writable
 * mapping of at least that size carries the kernel's "hg" flag (VmFlags in /proc/self/smaps), set
 * by madvise(MADV_HUGEPAGE), which is how glibc asks for transparent huge pages.
 */
function childAdvisesHugePages(env: NodeJS.ProcessEnv): boolean {
  const script = `
    const b = Buffer.alloc(64 << 20);
    const flags = require('fs').readFileSync('/proc/self/smaps', 'utf8').split(/\\n(?=[0-9a-f]+-[0-9a-f]+ )/).flatMap((block) => {
      const [, from, to] = /^([0-9a-f]+)-([0-9a-f]+)/.exec(block);
      const vm = (/VmFlags:(.*)/.exec(block) ?? ['', ''])[1].trim().split(/\\s+/);
      return parseInt(to, 16) - parseInt(from, 16) >= b.length && vm.includes('wr') ? [vm] : [];
    });
    process.stdout.write(JSON.stringify(flags));`;
  const run = spawnSync(process.execPath, ['-e', script], { env, encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  const mappings = JSON.parse(run.stdout) as string[][];
  assert.ok(mappings.length > 0, 'the buffer has a mapping of its own');
  return mappings.some((flags) => flags.includes('hg'));
}

// Under THP "madvise" the kernel gives huge pages only to memory that asks for them, and glibc
// (2.35 on) asks only with the tunable. Under "always" every process gets them and glibc does not
// ask; under "never" none does: there the tunable changes nothing to check.
test('a process started with it asks for huge pages for a large allocation, one without it does not', (t) => {
  const mode = thpMode();
  const glibc = glibcVersion();
  if (process.platform !== 'linux' || mode !== 'madvise' || glibc === undefined || glibc < 2.35) {
    t.skip(`transparent huge pages: ${mode ?? 'none here'}, glibc ${glibc ?? 'none'} (the tunable acts under "madvise" with glibc 2.35 or later)`);
    return;
  }
  const { GLIBC_TUNABLES: _, ...plain } = process.env;
  assert.equal(childAdvisesHugePages(withHugePageMalloc(plain)), true, 'with the tunable, the allocation is advised MADV_HUGEPAGE');
  assert.equal(childAdvisesHugePages(plain), false, 'without it, not');
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
