// Paths compare as the platform's file names do: case counts on Linux only, and a path is resolved
// before it is compared, so a task file named in a setting and the same file from a VS Code URI
// (lower-case drive letter) are one file on Windows.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pathKey, samePath } from '../../../engine/src/samePath';

test('Windows and macOS ignore case, Linux does not; every path is resolved first', () => {
  assert.ok(samePath('C:\\work\\My.hdlm.json', 'c:\\work\\my.hdlm.json', 'win32'), 'a drive letter and a name in another case');
  assert.ok(samePath('C:\\work\\tasks\\..\\a.hdlm.json', 'c:/work/a.hdlm.json', 'win32'), 'separators and .. resolved');
  assert.ok(!samePath('C:\\work\\a.hdlm.json', 'D:\\work\\a.hdlm.json', 'win32'));
  assert.ok(samePath('/Users/me/Tasks/a.hdlm.json', '/Users/me/tasks/a.hdlm.json', 'darwin'));
  assert.ok(!samePath('/home/me/Tasks/a.hdlm.json', '/home/me/tasks/a.hdlm.json', 'linux'), 'two files on Linux');
  assert.ok(samePath('/home/me/tasks/./a.hdlm.json', '/home/me/tasks/a.hdlm.json', 'linux'));
  assert.equal(pathKey('/home/Me/x', 'linux'), '/home/Me/x');
  assert.equal(pathKey('relative/x', 'linux'), `${process.cwd()}/relative/x`.replace(/\/+/g, '/'));
});
