// The one build script. tsc only type-checks (`tsc -b`); esbuild writes every bundle:
//   dist/client.js   extension host (node, cjs)        dist/server.js  language server (node, cjs)
//   dist/hdlm.js     command-line front end (node)     dist/webview/   browser code for webviews
//   out/tools/**     data and corpus builders (tools/<group>/<name>.ts; helpers in tools/<group>/lib/)
//   out/test/**      test bundles (unit, nvim smoke, integration suite and its runner)
// Flags: --production (minify, no source maps), --watch (rebuild on change).
import * as esbuild from 'esbuild';
import { readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');

/** Native or host-provided modules stay outside the bundles. */
const external = ['vscode', 'onnxruntime-node', 'mocha', 'playwright-core', '@vscode/test-electron'];

const node = {
  bundle: true,
  platform: 'node',
  // jsonc-parser's default (UMD) build loads its parts with a require esbuild cannot follow.
  alias: { 'jsonc-parser': './node_modules/jsonc-parser/lib/esm/main.js' },
  format: 'cjs',
  target: 'node20',
  external,
  sourcemap: !production,
  minify: production,
  logLevel: 'warning',
};

function testEntries(dir) {
  const found = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) found.push(...testEntries(path));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) found.push(path);
  }
  return found;
}

/** Every tools/<group>/<name>.ts is a runnable script; tools/<group>/lib/ holds their shared code. */
function toolEntries() {
  return readdirSync('tools', { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .flatMap((d) => readdirSync(join('tools', d.name)).filter((n) => n.endsWith('.ts')).map((n) => join('tools', d.name, n)));
}

const builds = [
  { ...node, entryPoints: { client: 'client/src/extension.ts', server: 'server/src/server.ts' }, outdir: 'dist' },
  { ...node, entryPoints: { hdlm: 'engine/src/cli/main.ts' }, outdir: 'dist', banner: { js: '#!/usr/bin/env node' } },
  {
    bundle: true,
    platform: 'browser',
    format: 'iife',
    target: 'es2022',
    entryPoints: { layerView: 'webview/src/layerView.ts', taskPanel: 'webview/src/taskPanel.ts' },
    outdir: 'dist/webview',
    sourcemap: !production,
    minify: production,
    logLevel: 'warning',
  },
  { ...node, entryPoints: toolEntries(), outbase: 'tools', outdir: 'out/tools' },
  // Tests are bundled one file each so node's test runner and the VS Code test host load plain JS.
  // The protocol-doc test reads protocol.ts with the TypeScript compiler, loaded from node_modules.
  { ...node, external: [...external, 'typescript'], entryPoints: testEntries('test').filter((p) => !p.includes('/support/')), outbase: 'test', outdir: 'out/test' },
];

if (watch) {
  const contexts = await Promise.all(builds.map((b) => esbuild.context(b)));
  await Promise.all(contexts.map((c) => c.watch()));
  console.log('esbuild: watching for changes');
} else {
  const start = Date.now();
  // Start from empty folders so that nothing stale (old source maps, removed entries) ships.
  rmSync('dist', { recursive: true, force: true });
  rmSync('out/test', { recursive: true, force: true });
  rmSync('out/tools', { recursive: true, force: true });
  await Promise.all(builds.map((b) => esbuild.build(b)));
  console.log(`esbuild: built ${builds.length} targets in ${Date.now() - start} ms${production ? ' (production)' : ''}`);
}
