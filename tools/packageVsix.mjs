// `npm run package`: a production build packed into a linux-x64 .vsix with @vscode/vsce, then a
// check of what went in: the linux-x64 onnxruntime binaries must be there and no other
// platform's (.vscodeignore keeps them out; that is ~240 MB of the package's 290 MB).
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const { name, version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const vsix = join(root, `${name}-${version}-linux-x64.vsix`);

function run(command, args) {
  const r = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${r.status ?? r.signal})`);
}

run(process.execPath, ['esbuild.mjs', '--production']);
run(join(root, 'node_modules', '.bin', 'vsce'), ['package', '--target', 'linux-x64', '--out', vsix, '--allow-missing-repository', '--no-rewrite-relative-links']);

const listing = spawnSync('unzip', ['-Z1', vsix], { encoding: 'utf8' });
if (listing.status !== 0) throw new Error(`unzip -Z1 ${vsix} failed: ${listing.stderr}`);
const files = listing.stdout.split('\n').filter(Boolean);
const binaries = files.filter((f) => f.includes('onnxruntime-node/bin/'));
const foreign = binaries.filter((f) => !f.includes('/linux/x64/'));
const problems = [];
if (!binaries.some((f) => f.endsWith('linux/x64/onnxruntime_binding.node'))) problems.push('the linux-x64 onnxruntime binding is missing');
if (foreign.length > 0) problems.push(`other platforms' binaries slipped in: ${foreign.join(', ')}`);
for (const required of ['extension/dist/client.js', 'extension/dist/server.js', 'extension/dist/hdlm.js', 'extension/dist/webview/layerView.js', 'extension/dist/webview/taskPanel.js', 'extension/package.json', 'extension/models/hdlm-tiny/tokenizer.json', 'extension/models/hdlm-tiny/tasks/wordnet.hdlm.json']) {
  if (!files.includes(required)) problems.push(`${required} is missing`);
}
// Leave a development build behind, as `npm run build` would.
run(process.execPath, ['esbuild.mjs']);
console.log(`package: ${vsix} — ${(statSync(vsix).size / 1048576).toFixed(1)} MiB, ${files.length} files, onnxruntime binaries: ${binaries.map((f) => f.split('/').pop()).join(', ')}`);
if (problems.length > 0) {
  console.error(`package: ${problems.join('; ')}`);
  process.exitCode = 1;
}
