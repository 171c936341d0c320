// docs/protocol.md documents every custom message that server/src/protocol.ts declares, and
// nothing else, so the page cannot drift from the code.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';

const root = resolve(__dirname, '..', '..', '..', '..');

test('every declared hdlm/ message has a section in docs/protocol.md, and vice versa', () => {
  const source = readFileSync(join(root, 'server', 'src', 'protocol.ts'), 'utf8');
  const doc = readFileSync(join(root, 'docs', 'protocol.md'), 'utf8');
  const declared = [...source.matchAll(/new (?:Request|Notification)Type\d?<[^>]*>\('([^']+)'\)/g)].map((m) => m[1]!).sort();
  const documented = [...doc.matchAll(/^## (hdlm\/\w+)$/gm)].map((m) => m[1]!).sort();
  assert.ok(declared.length >= 2, `found the declarations (${declared.join(', ')})`);
  assert.deepEqual(documented, declared);
  for (const method of declared) {
    assert.match(method, /^hdlm\/[a-z][A-Za-z]*$/, `${method} is named hdlm/<camelCase>`);
  }
});

test('the manifest names files that exist and a grammar that parses', () => {
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    main: string;
    contributes: { grammars: { path: string; scopeName: string }[]; languages: { configuration: string }[]; commands: { command: string; category: string }[] };
  };
  for (const g of manifest.contributes.grammars) {
    const grammar = JSON.parse(readFileSync(join(root, g.path), 'utf8')) as { scopeName: string };
    assert.equal(grammar.scopeName, g.scopeName);
  }
  for (const l of manifest.contributes.languages) JSON.parse(readFileSync(join(root, l.configuration), 'utf8'));
  for (const c of manifest.contributes.commands) {
    assert.equal(c.category, 'HdLM', `${c.command} is in the HdLM category`);
  }
});
