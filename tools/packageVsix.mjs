// `npm run package`: a production build packed into platform-specific .vsix files with
// @vscode/vsce, then a check of what went into each: its platform's onnxruntime binaries and no
// other platform's, the extension's own files, and nothing a working copy made (a file git
// ignores, a lock or temporary file) outside the build output and the dependencies.
//
//   node tools/packageVsix.mjs                        linux-x64 (what the tests install and run)
//   node tools/packageVsix.mjs --target darwin-arm64  one of TARGETS
//   node tools/packageVsix.mjs --all                  every target onnxruntime-node has binaries for
//
// The onnxruntime-node package carries binaries for five platforms (~290 MB); a .vsix keeps only
// its target's. VS Code's marketplace and `--install-extension` pick the .vsix whose target is
// the user's platform. Only linux-x64 has been installed and run by this project's tests.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const { name, version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const BINARIES = 'node_modules/onnxruntime-node/bin/napi-v6/';
/** The shipped model folder: .vscodeignore takes it whole, this script its tracked files only. */
const MODEL = 'models/hdlm-tiny/';

/**
 * Each target's binaries folder and the files the package takes from it, no more: the binding,
 * and the native libraries it loads (read from the binaries: the binding links
 * `@rpath/libonnxruntime.1.dylib` on macOS, where the package's `libonnxruntime.1.30.0.dylib` is
 * the same 44 MB again, a symbolic link flattened by npm; on Windows `onnxruntime.dll` imports
 * DirectML.dll, and its WebGPU (Dawn) loads dxcompiler.dll and dxil.dll).
 */
const TARGETS = {
  'linux-x64': { folder: 'linux/x64', files: ['onnxruntime_binding.node', 'libonnxruntime.so.1'] },
  'linux-arm64': { folder: 'linux/arm64', files: ['onnxruntime_binding.node', 'libonnxruntime.so.1'] },
  'darwin-arm64': { folder: 'darwin/arm64', files: ['onnxruntime_binding.node', 'libonnxruntime.1.dylib'] },
  'win32-x64': { folder: 'win32/x64', files: ['onnxruntime_binding.node', 'onnxruntime.dll', 'DirectML.dll', 'dxcompiler.dll', 'dxil.dll'] },
  'win32-arm64': { folder: 'win32/arm64', files: ['onnxruntime_binding.node', 'onnxruntime.dll', 'DirectML.dll', 'dxcompiler.dll', 'dxil.dll'] },
};

const REQUIRED = [
  'extension/dist/client.js',
  'extension/dist/server.js',
  'extension/dist/hdlm.js',
  'extension/dist/webview/layerView.js',
  'extension/dist/webview/taskPanel.js',
  'extension/package.json',
  'extension/models/hdlm-tiny/tokenizer.json',
  'extension/models/hdlm-tiny/tasks/wordnet.hdlm.json',
];

function run(command, args) {
  const r = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${r.status ?? r.signal})`);
}

function targetsAsked(argv) {
  if (argv.includes('--all')) return Object.keys(TARGETS);
  const at = argv.indexOf('--target');
  if (at < 0) return ['linux-x64'];
  const target = argv[at + 1];
  if (!(target in TARGETS)) throw new Error(`--target ${target ?? '(missing)'}: not one of ${Object.keys(TARGETS).join(', ')}`);
  return [target];
}

/**
 * The target's ignore file: .vscodeignore, whose one binaries line takes linux-x64's folder (so
 * that a bare `vsce package` makes a working linux-x64 package), with that line replaced by one
 * line per file the target takes, and its one model line (`!models/hdlm-tiny/**`) by one line per
 * file git tracks there (`modelFiles`). Files, not folders: vsce lets a `!` line win over any
 * exclusion, so a file inside a taken folder cannot be left out — an evaluation's predictions,
 * the evaluation it replaced, a running training's `.train.lock` would all ship.
 */
export function ignoreFileFor(template, target, modelFiles) {
  const { folder, files } = TARGETS[target];
  const swaps = new Map([
    [`!${BINARIES}linux/x64/**`, files.map((f) => `!${BINARIES}${folder}/${f}`)],
    [`!${MODEL}**`, modelFiles.map((f) => `!${f}`)],
  ]);
  const lines = template.split('\n');
  for (const line of swaps.keys()) {
    if (lines.filter((l) => l.trim() === line).length !== 1) throw new Error(`.vscodeignore: expected exactly one line "${line}" to replace`);
  }
  return lines.flatMap((l) => swaps.get(l.trim()) ?? [l]).join('\n');
}

/** The files git tracks under `folder` (repository paths); refused outside a git checkout, where "tracked" means nothing. */
export function trackedFiles(folder) {
  const r = spawnSync('git', ['ls-files', '-z', '--', folder], { cwd: root, encoding: 'utf8' });
  if (r.error || r.status !== 0) throw new Error(`git ls-files ${folder} failed (${r.error?.message ?? r.stderr.trim()}): the package takes the model's tracked files only, so it is made from a git checkout`);
  const files = r.stdout.split('\0').filter(Boolean);
  if (files.length === 0) throw new Error(`git tracks no file under ${folder}: nothing to ship as the model`);
  // An ignore-file line is a pattern: a name with pattern characters would take other files.
  const odd = files.filter((f) => /[*?[\]{}!#\\]/.test(f));
  if (odd.length > 0) throw new Error(`${odd.join(', ')}: a name with pattern characters cannot be listed in the ignore file; rename it`);
  return files;
}

/**
 * The packaged files (zip paths) that a working copy made rather than the repository holds: any
 * lock or temporary file, and outside the build output (dist/) and the dependencies
 * (node_modules/), which git ignores on purpose, any file git ignores.
 */
export function strayFiles(zipPaths) {
  const ours = zipPaths.filter((f) => f.startsWith('extension/')).map((f) => f.slice('extension/'.length));
  const locks = ours.filter((f) => /(^|\/)[^/]*\.(lock|tmp)$/.test(f));
  const checked = ours.filter((f) => !f.startsWith('dist/') && !f.startsWith('node_modules/'));
  if (checked.length === 0) return locks;
  const r = spawnSync('git', ['check-ignore', '--stdin'], { cwd: root, encoding: 'utf8', input: checked.join('\n') });
  // 0: some are ignored, 1: none; anything else is git failing, which must not pass as "none".
  if (r.error || (r.status !== 0 && r.status !== 1)) throw new Error(`git check-ignore failed (${r.error?.message ?? r.stderr.trim()})`);
  const ignored = r.stdout.split('\n').filter(Boolean);
  return [...new Set([...locks, ...ignored])];
}

/** What is wrong with the package's file list for `target`, if anything. */
function problemsOf(files, manifest, target) {
  const { folder, files: needed } = TARGETS[target];
  const binaries = files.filter((f) => f.includes('onnxruntime-node/bin/'));
  const problems = [];
  for (const f of needed) if (!binaries.includes(`extension/${BINARIES}${folder}/${f}`)) problems.push(`${folder}/${f} is missing`);
  const extra = binaries.filter((f) => !needed.some((n) => f === `extension/${BINARIES}${folder}/${n}`));
  if (extra.length > 0) problems.push(`binaries the target does not take slipped in: ${extra.join(', ')}`);
  for (const required of REQUIRED) if (!files.includes(required)) problems.push(`${required} is missing`);
  // The target in the manifest is what makes VS Code refuse the package on another platform.
  if (!manifest.includes(`TargetPlatform="${target}"`)) problems.push(`extension.vsixmanifest does not name the target ${target}`);
  const stray = strayFiles(files);
  if (stray.length > 0) problems.push(`files a working copy made (git-ignored, lock or temporary) slipped in: ${stray.join(', ')}`);
  return problems;
}

function unzip(args) {
  const r = spawnSync('unzip', args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  // A missing program gives no status and no stderr, only an error (ENOENT).
  if (r.error?.code === 'ENOENT') throw new Error('unzip is not installed; it lists the .vsix contents (apt-get install unzip, or run tools/setup.sh)');
  if (r.error) throw new Error(`unzip ${args.join(' ')} failed: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`unzip ${args.join(' ')} failed (exit ${r.status ?? r.signal}): ${r.stderr.trim()}`);
  return r.stdout;
}

function packageFor(target, scratch, modelFiles) {
  const vsix = join(root, `${name}-${version}-${target}.vsix`);
  const ignoreFile = join(scratch, `${target}.vscodeignore`);
  writeFileSync(ignoreFile, ignoreFileFor(readFileSync(join(root, '.vscodeignore'), 'utf8'), target, modelFiles));
  run(join(root, 'node_modules', '.bin', 'vsce'), ['package', '--target', target, '--ignoreFile', ignoreFile, '--out', vsix, '--allow-missing-repository', '--no-rewrite-relative-links']);
  const files = unzip(['-Z1', vsix]).split('\n').filter(Boolean);
  const problems = problemsOf(files, unzip(['-p', vsix, 'extension.vsixmanifest']), target);
  const binaries = files.filter((f) => f.includes('onnxruntime-node/bin/')).map((f) => f.split('/').pop());
  console.log(`package: ${vsix} — ${(statSync(vsix).size / 1048576).toFixed(1)} MiB, ${files.length} files, onnxruntime binaries: ${binaries.join(', ')}`);
  return problems.map((p) => `${target}: ${p}`);
}

/** Before the build, so a machine without unzip learns it at once (setup.sh installs it). */
function requireUnzip() {
  if (spawnSync('unzip', ['-v'], { stdio: 'ignore' }).error?.code === 'ENOENT') {
    throw new Error('unzip is not installed; it lists the .vsix contents (apt-get install unzip, or run tools/setup.sh)');
  }
}

function main() {
  requireUnzip();
  const targets = targetsAsked(process.argv.slice(2));
  const modelFiles = trackedFiles(MODEL);
  const scratch = mkdtempSync(join(tmpdir(), 'hdlm-package-'));
  const problems = [];
  try {
    run(process.execPath, ['esbuild.mjs', '--production']);
    for (const target of targets) problems.push(...packageFor(target, scratch, modelFiles));
  } finally {
    rmSync(scratch, { recursive: true, force: true });
    // Leave a development build behind, as `npm run build` would.
    run(process.execPath, ['esbuild.mjs']);
  }
  if (problems.length > 0) {
    console.error(`package: ${problems.join('; ')}`);
    process.exitCode = 1;
  }
}

// Run as a script; imported (the unit tests), it only lends its checks.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    main();
  } catch (err) {
    console.error(`package: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  }
}
