// errorMessage is the one copy of "an Error's message, else the value as a string" that the
// engine, the server, the client and the tools report failures with.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { errorMessage } from '../../../engine/src/errorMessage';
import { REPO_ROOT } from '../../support/taskWorkspace';

test('errorMessage: an Error gives its message, anything else the value as a string', () => {
  assert.equal(errorMessage(new TypeError('bad field')), 'bad field');
  assert.equal(errorMessage('plain text'), 'plain text');
  assert.equal(errorMessage(42), '42');
  assert.equal(errorMessage(undefined), 'undefined');
  assert.equal(errorMessage({ code: 1 }), '[object Object]');
});

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return ['node_modules', 'out', 'dist'].includes(e.name) ? [] : sources(path);
    return e.name.endsWith('.ts') ? [path] : [];
  });
}

test('no source outside errorMessage.ts spells the idiom out again (engine, server, client, tools)', () => {
  const idiom = /\b(\w+) instanceof Error \? \1\.message : String\(\1\)/;
  const copies = ['engine', 'server', 'client', 'tools']
    .flatMap((folder) => sources(join(REPO_ROOT, folder)))
    .filter((file) => idiom.test(readFileSync(file, 'utf8')))
    .map((file) => relative(REPO_ROOT, file));
  assert.deepEqual(copies, ['engine/src/errorMessage.ts']);
});
