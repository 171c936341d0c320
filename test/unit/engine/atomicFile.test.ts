// Files written whole or not at all (atomicFile.ts), and the sweep of what killed writers leave:
// a temporary file is removed only when its writer is gone (its pid runs nothing, or a process
// that started after the file was written), or when it has been untouched for a day; a live
// writer's stays. The heads lock sweeps its folder when it is taken, with its own lock's
// leftovers (writeNewFile's temporary files) among them.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ABANDONED_TEMP_MS, sweepDeadTemps, tempPath, writeAtomically } from '../../../engine/src/atomicFile';
import { lockHeads } from '../../../engine/src/hdlm/headsLock';
import { processStart } from '../../../engine/src/processAlive';
import { writeNewFile } from '../../../engine/src/textFile';

const root = mkdtempSync(join(tmpdir(), 'hdlm-atomic-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const freshDir = (): string => {
  const dir = join(root, String(n++));
  mkdirSync(dir);
  return dir;
};

/** A pid whose process has ended. */
const deadPid = (): number => spawnSync(process.execPath, ['-e', '']).pid!;

test('temporary files of writers that are gone are swept; a live writer\'s, and files that are not temporary, stay', () => {
  const dir = freshDir();
  const dead = deadPid();
  const leftovers = [`.evaluation.json.${dead}.r0123456789ab.tmp`, `.train.lock.${dead}.r00112233aabb.tmp`]; // tempPath's names
  const live = [`.evaluation.json.${process.pid}.r0123456789ab.tmp`, `.train.lock.${process.pid}.r0123456789ab.tmp`];
  // Not tempPath's names, whoever wrote them (earlier versions' among them): never swept.
  const others = ['evaluation.json', `notes.${dead}.tmp`, '.train.lock', `.train.lock.key.${dead}.x.0a1b`, `.history.jsonl.${dead}.k2f9x0q.tmp`, `.train.lock.${dead}.tmp`, `.a.${dead}.r0123456789a.tmp`, `.a.${dead}.r0123456789abc.tmp`, `.a.${dead}.R0123456789AB.tmp`];
  for (const f of [...leftovers, ...live, ...others]) writeFileSync(join(dir, f), 'x');
  assert.deepEqual(sweepDeadTemps(dir).sort(), [...leftovers].sort());
  assert.deepEqual(readdirSync(dir).sort(), [...live, ...others].sort());
});

test('the sweep removes only regular files named as tempPath names them: a user\'s folders, look-alike files and links stay, and no link is followed', () => {
  const dir = freshDir();
  const dead = deadPid();
  // What a heads folder a task file points anywhere ("heads": "../home") may hold.
  mkdirSync(join(dir, '.cache.77.tmp'));
  writeFileSync(join(dir, '.cache.77.tmp', 'important.txt'), 'keep');
  writeFileSync(join(dir, '.draft.31337.tmp'), 'keep');
  // Exactly tempPath's shape, but a folder, and links (to a file, to a folder, dangling): not ours.
  const folder = `.photos.${dead}.r0123456789ab.tmp`;
  mkdirSync(join(dir, folder));
  writeFileSync(join(dir, folder, 'important.txt'), 'keep');
  const elsewhere = freshDir();
  writeFileSync(join(elsewhere, 'target.txt'), 'keep');
  const links = [`.l1.${dead}.r0123456789ab.tmp`, `.l2.${dead}.r0123456789ab.tmp`, `.l3.${dead}.r0123456789ab.tmp`];
  symlinkSync(join(elsewhere, 'target.txt'), join(dir, links[0]!));
  symlinkSync(elsewhere, join(dir, links[1]!));
  symlinkSync(join(elsewhere, 'gone'), join(dir, links[2]!));
  // A real leftover of ours, named by the writer's own function, its writer dead and its file old.
  const ours = tempPath(join(dir, 'level1.json')).split('/').pop()!.replace(`.${process.pid}.`, `.${dead}.`);
  writeFileSync(join(dir, ours), '{');
  const dayAgo = new Date(Date.now() - ABANDONED_TEMP_MS - 60_000);
  for (const f of ['.draft.31337.tmp', folder, ours]) utimesSync(join(dir, f), dayAgo, dayAgo);
  assert.deepEqual(sweepDeadTemps(dir), [ours]);
  assert.deepEqual(readdirSync(dir).sort(), ['.cache.77.tmp', '.draft.31337.tmp', folder, ...links].sort());
  assert.equal(readFileSync(join(dir, '.cache.77.tmp', 'important.txt'), 'utf8'), 'keep');
  assert.equal(readFileSync(join(dir, folder, 'important.txt'), 'utf8'), 'keep');
  assert.equal(readFileSync(join(elsewhere, 'target.txt'), 'utf8'), 'keep');
});

test('a random part of digits alone is never read as the pid: tempPath\'s names start it with a letter', () => {
  const name = tempPath(join(freshDir(), 'a.json')).split('/').pop()!;
  assert.match(name, new RegExp(`^\\.a\\.json\\.${process.pid}\\.r[0-9a-f]{12}\\.tmp$`));
});

test('a temporary file whose pid now runs a process that started after it was written is swept; one untouched for a day is swept', { skip: processStart(process.pid) === undefined && 'no process start times here (not Linux)' }, () => {
  const dir = freshDir();
  const stranger = spawn('sleep', ['30'], { stdio: 'ignore' });
  try {
    const reused = `.a.json.${stranger.pid}.r000000000000.tmp`;
    const mine = `.b.json.${process.pid}.r000000000000.tmp`;
    const written = `.c.json.${stranger.pid}.r000000000000.tmp`;
    for (const f of [reused, mine, written]) writeFileSync(join(dir, f), 'x');
    // Written an hour ago: before the stranger started, so not by it.
    const hourAgo = new Date(Date.now() - 3600_000);
    utimesSync(join(dir, reused), hourAgo, hourAgo);
    // This process's, untouched for longer than any write takes: abandoned (a stopped process's).
    const longAgo = new Date(Date.now() - ABANDONED_TEMP_MS - 60_000);
    utimesSync(join(dir, mine), longAgo, longAgo);
    assert.deepEqual(sweepDeadTemps(dir).sort(), [reused, mine].sort());
    assert.deepEqual(readdirSync(dir), [written], 'the live stranger\'s own write in progress stays');
  } finally {
    stranger.kill();
  }
});

test('taking the heads lock sweeps the leftovers of killed lock takers and writers in the heads folder', () => {
  const dir = freshDir();
  const dead = deadPid();
  const lockTemp = `.train.lock.${dead}.r0123456789ab.tmp`;
  const headTemp = `.level1.json.${dead}.r0123456789ab.tmp`;
  writeFileSync(join(dir, lockTemp), `${dead}\n`);
  writeFileSync(join(dir, headTemp), '{');
  writeFileSync(join(dir, 'level1.json'), '{}');
  const release = lockHeads(dir);
  try {
    assert.deepEqual(readdirSync(dir).sort(), ['.train.lock', 'level1.json']);
  } finally {
    release();
  }
});

test('an atomic write leaves the whole file and no temporary file; a failed one leaves the old file and no temporary file', () => {
  const dir = freshDir();
  const file = join(dir, 'record.json');
  const parts = [Buffer.alloc(3 * 1024 * 1024, 'a'), Buffer.from('end\n')];
  writeAtomically(file, parts);
  assert.deepEqual(readFileSync(file), Buffer.concat(parts));
  assert.deepEqual(readdirSync(dir), ['record.json']);
  // A folder where the file belongs: the rename fails, and the temporary file goes with it.
  const blocked = join(dir, 'blocked.json');
  mkdirSync(join(blocked, 'inside'), { recursive: true });
  assert.throws(() => writeAtomically(blocked, parts));
  assert.deepEqual(readdirSync(dir).sort(), ['blocked.json', 'record.json']);
});

test('a new file is written whole, refused when the name is taken, and leaves no temporary file either way', () => {
  const dir = freshDir();
  const file = join(dir, 'new.hdlm.json');
  assert.equal(writeNewFile(file, '{"a": 1}\n'), true);
  assert.equal(writeNewFile(file, '{"b": 2}\n'), false);
  assert.equal(readFileSync(file, 'utf8'), '{"a": 1}\n');
  assert.deepEqual(readdirSync(dir), ['new.hdlm.json']);
});
