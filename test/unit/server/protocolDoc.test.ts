// docs/protocol.md documents every custom message that server/src/protocol.ts declares, and
// nothing else, and every field of each type it spells out, so the page cannot drift from the
// code (many of those types are the engine's own records, imported type-only).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import ts from 'typescript';

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
    contributes: { grammars: { path: string; scopeName: string }[]; languages: { configuration: string }[]; commands: { command: string }[] };
  };
  for (const g of manifest.contributes.grammars) {
    const grammar = JSON.parse(readFileSync(join(root, g.path), 'utf8')) as { scopeName: string };
    assert.equal(grammar.scopeName, g.scopeName);
  }
  for (const l of manifest.contributes.languages) JSON.parse(readFileSync(join(root, l.configuration), 'utf8'));
  // Each command's category, title and the settings' texts: test/unit/client/contributions.test.ts.
  // The Get Started walkthrough: its pages exist, and its links and completion events name commands the extension has.
  const walkthroughs = (manifest.contributes as { walkthroughs?: { steps: { id: string; description: string; media: { markdown: string }; completionEvents: string[] }[] }[] }).walkthroughs ?? [];
  const commands = new Set(manifest.contributes.commands.map((c) => c.command));
  assert.ok(walkthroughs.length > 0 && walkthroughs[0]!.steps.length >= 4);
  for (const step of walkthroughs.flatMap((w) => w.steps)) {
    assert.ok(readFileSync(join(root, step.media.markdown), 'utf8').startsWith('# '), `${step.id}: ${step.media.markdown}`);
    const named = [...step.description.matchAll(/\(command:([\w.]+)\)/g), ...step.completionEvents.map((e) => e.match(/^onCommand:([\w.]+)$/))].map((m) => m?.[1]);
    assert.ok(named.length >= 2 && named.every((c) => c !== undefined && commands.has(c)), `${step.id} names ${named.join(', ')}`);
  }
});

/** `interface Name { … }` blocks of the page's code samples, by name (braces matched). */
function documentedInterfaces(doc: string): Map<string, string> {
  const blocks = new Map<string, string>();
  for (const m of doc.matchAll(/^interface (\w+) \{/gm)) {
    let depth = 0;
    let end = m.index;
    for (; end < doc.length; end++) {
      if (doc[end] === '{') depth++;
      else if (doc[end] === '}' && --depth === 0) break;
    }
    blocks.set(m[1]!, doc.slice(m.index, end + 1));
  }
  return blocks;
}

/**
 * Property names of a type and of the object types inside it (array elements, union members,
 * nested objects), as far as they are declared in this repository (not Float32Array, Map, …).
 * Types in `own` have a block of their own on the page and are checked there.
 */
function fieldNames(checker: ts.TypeChecker, type: ts.Type, own: ReadonlySet<ts.Type>, seen = new Set<ts.Type>()): Set<string> {
  const names = new Set<string>();
  if (seen.has(type) || (seen.size > 0 && own.has(type))) return names;
  seen.add(type);
  if (type.isUnion() || type.isIntersection()) {
    for (const t of type.types) for (const n of fieldNames(checker, t, own, seen)) names.add(n);
    return names;
  }
  const declaredHere = (type.aliasSymbol ?? type.getSymbol())?.getDeclarations()?.every((d) => !d.getSourceFile().fileName.includes('node_modules')) ?? false;
  if (checker.isArrayType(type)) {
    for (const t of checker.getTypeArguments(type as ts.TypeReference)) for (const n of fieldNames(checker, t, own, seen)) names.add(n);
    return names;
  }
  if (!(type.flags & ts.TypeFlags.Object) || !declaredHere) return names;
  for (const property of type.getProperties()) {
    names.add(property.name);
    const declaration = property.valueDeclaration ?? property.getDeclarations()?.[0];
    if (declaration) for (const n of fieldNames(checker, checker.getTypeOfSymbolAtLocation(property, declaration), own, seen)) names.add(n);
  }
  return names;
}

test('every field of each type docs/protocol.md spells out is in its block there', () => {
  const file = join(root, 'server', 'src', 'protocol.ts');
  const program = ts.createProgram([file], { strict: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS, moduleResolution: ts.ModuleResolutionKind.Node10, types: [], noEmit: true });
  const checker = program.getTypeChecker();
  const module = checker.getSymbolAtLocation(program.getSourceFile(file)!)!;
  const exported = new Map(checker.getExportsOfModule(module).map((s) => [s.name, s]));
  const blocks = documentedInterfaces(readFileSync(join(root, 'docs', 'protocol.md'), 'utf8'));
  assert.ok(blocks.has('ThoughtEvaluationSummary') && blocks.has('JobView'), [...blocks.keys()].join(', '));
  // Some blocks name a shape the page builds for itself (no declaration of that name).
  const declared = [...blocks].filter(([name]) => exported.has(name)).map(([name, block]) => ({ name, block, type: checker.getDeclaredTypeOfSymbol(exported.get(name)!) }));
  const own = new Set(declared.map((d) => d.type));
  const missing: string[] = [];
  for (const { name, block, type } of declared) {
    for (const field of fieldNames(checker, type, own)) {
      if (!new RegExp(`\\b${field}\\??:`).test(block)) missing.push(`${name}.${field}`);
    }
  }
  assert.ok(declared.length >= 10, `checked ${declared.length} documented types`);
  assert.deepEqual(missing, [], 'fields declared in the code but missing from their block in docs/protocol.md');
});
