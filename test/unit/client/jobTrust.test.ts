// Jobs and workspace trust: Restricted Mode refuses every job; a trusted workspace starts one at
// once when its heads folder is really inside a workspace folder, and asks, naming the real
// folder, when a "../" path or a committed symbolic link puts it outside.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isInside, realPath } from '../../../engine/src/realPath';
import { jobGate } from '../../../client/src/jobTrust';

const proj = join('/work', 'proj');
const other = join('/work', 'other');

test('Restricted Mode refuses a job wherever its heads folder is', () => {
  assert.deepEqual(jobGate(false, [proj], join(proj, 'heads', 't')), { decision: 'refuse' });
  assert.deepEqual(jobGate(false, [proj, other], join('/home', 'x', 'heads')), { decision: 'refuse' });
});

test('a trusted workspace starts a job whose heads folder is in any of its folders, and asks about one outside all of them', () => {
  assert.deepEqual(jobGate(true, [proj], join(proj, 'heads', 't')), { decision: 'start' });
  assert.deepEqual(jobGate(true, [proj, other], join(other, 'heads')), { decision: 'start' });
  assert.deepEqual(jobGate(true, [proj], proj), { decision: 'start' });
  assert.deepEqual(jobGate(true, [proj], join('/home', 'x', 'heads')), { decision: 'ask', headsDir: join('/home', 'x', 'heads') });
  // A sibling folder whose name starts like the workspace's is outside it.
  assert.deepEqual(jobGate(true, [proj], join('/work', 'proj2', 'heads')), { decision: 'ask', headsDir: join('/work', 'proj2', 'heads') });
});

test('a window without a folder starts jobs: no trust to lack, no workspace to be outside of', () => {
  assert.deepEqual(jobGate(true, [], join('/home', 'x', 'heads')), { decision: 'start' });
  assert.deepEqual(jobGate(false, [], join('/home', 'x', 'heads')), { decision: 'start' });
});

test('isInside takes a folder and what is below it, not its parent nor a sibling', () => {
  assert.equal(isInside(join(proj, 'a', 'b'), proj), true);
  assert.equal(isInside(join(proj, '..', 'other'), proj), false);
  assert.equal(isInside('/work', proj), false);
});

test('the real heads folder follows a committed symbolic link out of the workspace, also to a folder not made yet, and a loop ends', () => {
  const root = realpathSync(mkdtempSync(join(tmpdir(), 'hdlm-jobtrust-')));
  try {
    const workspace = join(root, 'ws');
    const outside = join(root, 'outside');
    mkdirSync(workspace);
    mkdirSync(outside);
    // heads -> ../outside: the default heads/<name> folder (not made yet) lands outside.
    symlinkSync(outside, join(workspace, 'heads'));
    assert.equal(realPath(join(workspace, 'heads', 'animals')), join(outside, 'animals'));
    assert.deepEqual(jobGate(true, [workspace], realPath(join(workspace, 'heads', 'animals'))), { decision: 'ask', headsDir: join(outside, 'animals') });
    // A link whose target does not exist yet: mkdir -p through it would make the target.
    symlinkSync(join(root, 'later', 'x'), join(workspace, 'dangling'));
    assert.equal(realPath(join(workspace, 'dangling', 'animals')), join(root, 'later', 'x', 'animals'));
    // A plain folder not made yet stays where it is named.
    assert.equal(realPath(join(workspace, 'fresh', 'animals')), join(workspace, 'fresh', 'animals'));
    assert.deepEqual(jobGate(true, [workspace], realPath(join(workspace, 'fresh', 'animals'))), { decision: 'start' });
    // Links in a loop do not hang the check.
    symlinkSync(join(workspace, 'b'), join(workspace, 'a'));
    symlinkSync(join(workspace, 'a'), join(workspace, 'b'));
    assert.equal(typeof realPath(join(workspace, 'a', 'heads')), 'string');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
