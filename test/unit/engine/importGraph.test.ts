// The shape of the source's import graph: no module imports itself back through others (type-only
// imports included: a cycle of types still ties the modules together, and a value import added
// later turns it into an evaluation-order bug), and the extension host's bundle does not load
// onnxruntime, which only the language server and the CLI run (it came in once through the
// layer-scan report's import of one constant from the head trainer).
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT } from '../../support/taskWorkspace';

const FOLDERS = ['engine', 'server', 'client', 'webview', 'tools', 'test'];
const SKIPPED = new Set(['node_modules', 'out', 'dist']);
/** `import … from './x'`, `export … from './x'`, `import './x'`, `import('./x')`, `require('./x')`. */
const RELATIVE_IMPORT = /(?:(?:import|export)\s[^;]*?from\s+|import\s+|import\(\s*|require\(\s*)['"](\.[^'"]+)['"]/g;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return SKIPPED.has(entry.name) ? [] : sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** Each source file with the source files it imports by relative path. */
function importGraph(): Map<string, string[]> {
  const files = new Set(FOLDERS.flatMap((f) => sourceFiles(join(REPO_ROOT, f))));
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const targets = [...readFileSync(file, 'utf8').matchAll(RELATIVE_IMPORT)].map((m) => resolve(dirname(file), m[1]!.replace(/\.js$/, '')));
    graph.set(file, targets.flatMap((t) => [`${t}.ts`, join(t, 'index.ts'), t].find((c) => files.has(c)) ?? []));
  }
  return graph;
}

/** The strongly connected components of more than one module (Tarjan), each sorted. */
function cycles(graph: Map<string, string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v)!) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    for (let w = stack.pop()!; ; w = stack.pop()!) {
      onStack.delete(w);
      component.push(w);
      if (w === v) break;
    }
    if (component.length > 1) found.push(component.sort());
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

test('no import cycles among the source modules (relative imports, type-only ones included)', () => {
  const graph = importGraph();
  assert.ok(graph.size > 300, `read ${graph.size} source files: the scan missed the source tree`);
  const named = cycles(graph).map((c) => c.map((f) => relative(REPO_ROOT, f)).join(' <-> '));
  assert.deepEqual(named, []);
});

test('the scan finds a cycle where there is one', () => {
  const a = join(REPO_ROOT, 'a.ts');
  const b = join(REPO_ROOT, 'b.ts');
  const c = join(REPO_ROOT, 'c.ts');
  assert.deepEqual(cycles(new Map([[a, [b]], [b, [a, c]], [c, []]])), [[a, b]]);
  assert.deepEqual(cycles(new Map([[a, [b]], [b, [c]], [c, []]])), []);
});

test('the extension host bundle does not load onnxruntime', () => {
  const bundle = join(REPO_ROOT, 'dist', 'client.js');
  assert.ok(existsSync(bundle), `${bundle} is missing: run node esbuild.mjs first`);
  assert.doesNotMatch(readFileSync(bundle, 'utf8'), /require\("onnxruntime-node"\)/);
});
