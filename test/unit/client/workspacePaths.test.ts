// The hdlm.task / hdlm.model values the client writes, and the task panel's "in use" mark: in a
// multi-root workspace a file outside the first folder must be written so that the server (which
// resolves relative settings against the first folder) finds it, and only the file the setting
// names is in use, never one whose path merely ends the same way.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { join } from 'node:path';
import { isSettingFor, resolveSetting, settingPath } from '../../../client/src/workspacePaths';

const first = join('/work', 'proj');
const second = join('/work', 'other');

test('a file in the first folder is written relative to it; any other file as its absolute path', () => {
  assert.equal(settingPath(join(first, 'tasks', 't.hdlm.json'), first), 'tasks/t.hdlm.json');
  assert.equal(settingPath(join(second, 'tasks', 't.hdlm.json'), first), join(second, 'tasks', 't.hdlm.json'));
  // A sibling folder whose name starts like the first's is not inside it.
  assert.equal(settingPath(join('/work', 'proj2', 'a.hdlm.json'), first), join('/work', 'proj2', 'a.hdlm.json'));
  assert.equal(settingPath(join(second, 'model'), undefined), join(second, 'model'));
});

test('what is written resolves, as the server resolves it, to the picked file', () => {
  for (const file of [join(first, 'a.hdlm.json'), join(first, 'tasks', 'a.hdlm.json'), join(second, 'a.hdlm.json')]) {
    assert.equal(resolveSetting(settingPath(file, first), first), file);
  }
});

test('only the file the setting names is in use, not every path ending the same way', () => {
  const files = [join(first, 'a.hdlm.json'), join(first, 'data.hdlm.json'), join(first, 'tasks', 'a.hdlm.json'), join(second, 'a.hdlm.json')];
  assert.deepEqual(files.map((f) => isSettingFor('a.hdlm.json', f, first)), [true, false, false, false]);
  assert.deepEqual(files.map((f) => isSettingFor(join(second, 'a.hdlm.json'), f, first)), [false, false, false, true]);
  assert.deepEqual(files.map((f) => isSettingFor('', f, first)), [false, false, false, false]);
});
