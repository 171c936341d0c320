// Heads on disk: a copy of the model's own head round-trips, a low-rank delta rebuilds W0 + A·B,
// a head for another model is refused, and an interrupted save leaves the last good head. A
// training run locks its heads folder, and sweeps what killed runs left there.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { loadCheckpoint } from '../../../engine/src/checkpoint/checkpoint';
import type { Checkpoint } from '../../../engine/src/checkpoint/types';
import { HEADS_LOCK, lockHeads } from '../../../engine/src/hdlm/headsLock';
import { checkHeadsFolder, checkHeadsOutsideModel, HeadManifest, headsFolderOwner, loadHead, OtherTaskHeadsError, ownHeadCopy, readManifest, saveHead } from '../../../engine/src/hdlm/headStore';
import { LanguageHead } from '../../../engine/src/model/languageHead';
import { processStart } from '../../../engine/src/processAlive';
import { writeTinyCheckpoint } from '../../support/tinyCheckpoint';

let dir: string;
let ckpt: Checkpoint;
const V = 40;
const H = 16;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hdlm-heads-'));
  writeTinyCheckpoint(join(dir, 'model'), { family: 'llama', layers: 2, hidden: H, heads: 2, intermediate: 24, vocab: V, seed: 3 });
  ckpt = await loadCheckpoint(join(dir, 'model'), { cacheDir: join(dir, 'cache') });
});

after(() => rmSync(dir, { recursive: true, force: true }));

function manifest(name: string, extra: Partial<HeadManifest> = {}): Omit<HeadManifest, 'weightsFile'> {
  return { format: 'hdlm-head/1', name, layer: 1, task: 'test', modelFingerprint: ckpt.fingerprint, kind: 'full', createdAt: '2026-11-23T00:00:00Z', vocabSize: V, hiddenSize: H, ...extra };
}

test('a full head round-trips and starts as the model\'s own head', () => {
  const own = ownHeadCopy(ckpt);
  assert.equal(own.norm?.kind, 'rms');
  saveHead(dir, manifest('copy'), { normWeight: own.norm!.weight, weight: own.weight });
  const { weights, manifest: m } = loadHead(dir, 'copy', ckpt);
  assert.deepEqual(weights.weight, own.weight);
  assert.deepEqual(weights.norm?.weight, own.norm!.weight);
  assert.equal(m.layer, 1);
});

test('a low-rank head is the own head plus A·B', () => {
  const r = 2;
  const a = Float32Array.from({ length: V * r }, (_, i) => (i % 3) - 1);
  const b = Float32Array.from({ length: r * H }, (_, i) => (i % 5) / 10);
  saveHead(dir, manifest('delta', { kind: 'lowRank', rank: r }), { lowRankA: a, lowRankB: b });
  const { weights } = loadHead(dir, 'delta', ckpt);
  const own = ownHeadCopy(ckpt);
  const v = 7;
  const h = 3;
  const expected = own.weight[v * H + h]! + a[v * r]! * b[h]! + a[v * r + 1]! * b[H + h]!;
  assert.ok(Math.abs(weights.weight[v * H + h]! - expected) < 1e-6);
});

test('a rows head stores only the trained rows and rebuilds the rest from the own head', () => {
  const own = ownHeadCopy(ckpt);
  const trained = Float32Array.from(own.weight);
  for (const id of [3, 17]) trained.fill(0.75, id * H, (id + 1) * H);
  const written = saveHead(dir, manifest('rows', { kind: 'rows', vocabSubset: [3, 17] }), { weight: trained });
  const { weights } = loadHead(dir, 'rows', ckpt);
  assert.deepEqual(weights.weight, trained);
  assert.deepEqual(Array.from(weights.vocabSubset!), [3, 17]);
  assert.match(written.weightsFile, /^rows\./);
});

test('a head with a vocabulary subset computes only its rows: the full head\'s logits there, -Infinity elsewhere', async () => {
  const own = ownHeadCopy(ckpt);
  const bias = Float32Array.from({ length: V }, (_, i) => i / 10);
  const ids = Int32Array.from([17, 3, 29]); // not sorted: the graph keeps the subset's order
  const options = { provider: 'cpu' as const, threads: 1, fused: true };
  const full = await LanguageHead.create({ ...own, bias }, options);
  const subset = await LanguageHead.create({ ...own, bias, vocabSubset: ids }, options);
  try {
    const hidden = Float32Array.from({ length: 2 * H }, (_, i) => Math.sin(i));
    const [a, b] = [await full.logits(hidden), await subset.logits(hidden)];
    assert.equal(b.length, 2 * V);
    for (let at = 0; at < 2 * V; at++) {
      if (ids.includes(at % V)) assert.ok(Math.abs(a[at]! - b[at]!) < 1e-5, `row ${Math.floor(at / V)}, token ${at % V}: ${a[at]} vs ${b[at]}`);
      else assert.equal(b[at], -Infinity, `token ${at % V} is outside the subset`);
    }
  } finally {
    await Promise.all([full.release(), subset.release()]);
  }
});

test('logProbs is the log-softmax over the ranked tokens: all V for a full head, the subset for a subset head', async () => {
  const own = ownHeadCopy(ckpt);
  const ids = Int32Array.from([17, 3, 29]);
  const options = { provider: 'cpu' as const, threads: 1, fused: true };
  const full = await LanguageHead.create(own, options);
  const subset = await LanguageHead.create({ ...own, vocabSubset: ids }, options);
  try {
    const hidden = Float32Array.from({ length: 2 * H }, (_, i) => Math.cos(i / 3));
    const logits = await full.logits(hidden);
    const [lpFull, lpSubset] = [await full.logProbs(hidden), await subset.logProbs(hidden)];
    assert.equal(lpFull.rows, 2);
    assert.equal(lpSubset.rows, 2);
    for (let r = 0; r < 2; r++) {
      const row = Array.from(logits.subarray(r * V, (r + 1) * V));
      const lse = (values: number[]): number => Math.log(values.reduce((s, v) => s + Math.exp(v), 0));
      const all = lse(row);
      const within = lse(Array.from(ids, (id) => row[id]!));
      for (let t = 0; t < V; t++) {
        assert.ok(Math.abs(lpFull.at(r, t) - (row[t]! - all)) < 1e-5, `full row ${r}, token ${t}`);
        if (ids.includes(t)) assert.ok(Math.abs(lpSubset.at(r, t) - (row[t]! - within)) < 1e-5, `subset row ${r}, token ${t}`);
        else assert.equal(lpSubset.at(r, t), -Infinity, `token ${t} is outside the subset`);
      }
      const mass = Array.from(ids, (id) => Math.exp(lpSubset.at(r, id))).reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(mass - 1) < 1e-6, `the subset's probabilities sum to ${mass}`);
    }
    assert.equal(lpFull.at(2, 0), -Infinity, 'a row past the end has no probability');
  } finally {
    await Promise.all([full.release(), subset.release()]);
  }
});

test('a head trained for another model is refused, naming the file', () => {
  saveHead(dir, manifest('foreign', { modelFingerprint: 'f'.repeat(64) }), { weight: new Float32Array(V * H) });
  assert.throws(() => loadHead(dir, 'foreign', ckpt), /foreign\.[a-z0-9]+\.safetensors: this head was trained for another model/);
});

test('a head another task trained is refused when loaded for this one, naming the task file, the folder, the manifest, both tasks and the way out', () => {
  saveHead(dir, manifest('theirs', { task: 'other' }), { weight: new Float32Array(V * H) });
  const owner = { name: 'mine', path: '/tasks/mine.hdlm.json' };
  assert.throws(
    () => loadHead(dir, 'theirs', ckpt, owner),
    (err: unknown) =>
      err instanceof OtherTaskHeadsError &&
      err.heads.task === 'other' &&
      /^\/tasks\/mine\.hdlm\.json: the heads folder .* holds the heads of task "other" \(theirs\.json\), not of task "mine": classifying, evaluating, fine-tuning and scanning its layers refuse them; set "heads" to a folder of its own, .*set "name" back to "other"/.test(err.message),
  );
  assert.equal(loadHead(dir, 'theirs', ckpt, { name: 'other', path: '/tasks/other.hdlm.json' }).manifest.task, 'other');
});

test('a head whose weights hold NaN or Infinity is refused when loaded, naming the file, tensor and index', () => {
  const weight = new Float32Array(V * H).fill(0.1);
  weight[37] = Number.NaN;
  saveHead(dir, manifest('nan'), { weight });
  assert.throws(() => loadHead(dir, 'nan', ckpt), /nan\.[a-z0-9]+\.safetensors: weight contains NaN at index 37; the head is corrupt; fine-tune again/);
  const own = ownHeadCopy(ckpt);
  const rows = Float32Array.from(own.weight);
  rows[17 * H + 2] = Number.POSITIVE_INFINITY;
  saveHead(dir, manifest('inf', { kind: 'rows', vocabSubset: [3, 17] }), { weight: rows });
  assert.throws(() => loadHead(dir, 'inf', ckpt), /inf\.[a-z0-9]+\.safetensors: weight\.rows contains Infinity at index 18; the head is corrupt/);
});

test('training refuses a heads folder that holds another task\'s heads, or that is a file; its own, an empty or a missing folder pass', () => {
  const shared = join(dir, 'shared');
  mkdirSync(shared);
  const owner = { name: 'b', path: '/tasks/b.hdlm.json' };
  checkHeadsFolder(shared, owner, 'train', join(dir, 'model'));
  checkHeadsFolder(join(dir, 'not-there'), owner, 'train', join(dir, 'model'));
  saveHead(shared, manifest('level1', { task: 'a' }), { weight: new Float32Array(V * H) });
  writeFileSync(join(shared, 'evaluation.json'), '{"task": "z"}'); // not a head: no hdlm-head/1 format
  assert.throws(
    () => checkHeadsFolder(shared, owner, 'train', join(dir, 'model')),
    /\/tasks\/b\.hdlm\.json: the heads folder .*shared holds the heads of task "a" \(level1\.json\), not of task "b": fine-tuning it would replace them with this task's; set "heads" to a folder of its own, or delete those heads/,
  );
  checkHeadsFolder(shared, { name: 'a', path: '/tasks/a.hdlm.json' }, 'train', join(dir, 'model'));
  assert.throws(() => checkHeadsFolder(join(shared, 'evaluation.json'), owner, 'train', join(dir, 'model')), /\/tasks\/b\.hdlm\.json: the heads folder .*evaluation\.json is a file; set "heads" to a folder/);
});

test('training, scanning and evaluating refuse a heads folder that is the model folder, by its real path; a subfolder of it or a sibling passes', () => {
  const owner = { name: 'b', path: '/tasks/b.hdlm.json' };
  const model = join(dir, 'model');
  const refused = /\/tasks\/b\.hdlm\.json: the heads folder .* is the model folder .*model(-link)?: runs keep heads and records there, among the model's own files; set "heads" to a folder of its own/;
  assert.throws(() => checkHeadsFolder(model, owner, 'train', model), refused);
  assert.throws(() => checkHeadsFolder(join(model, 'sub', '..'), owner, 'scan', model), refused);
  assert.throws(() => checkHeadsOutsideModel(join(model, '.'), owner, model), refused);
  // A link to the model folder is the model folder, either way round.
  symlinkSync(model, join(dir, 'model-link'));
  assert.throws(() => checkHeadsFolder(join(dir, 'model-link'), owner, 'train', model), refused);
  assert.throws(() => checkHeadsOutsideModel(model, owner, join(dir, 'model-link')), refused);
  // The shipped layout: heads/<task> inside the model's folder.
  checkHeadsFolder(join(model, 'heads', 'b'), owner, 'train', model);
  checkHeadsOutsideModel(join(dir, 'model-link', 'heads', 'b'), owner, model);
  checkHeadsFolder(join(dir, 'heads'), owner, 'train', model);
});

// The cases where the three readers of a heads folder (training, the server's hovers, its task
// panel) disagreed before headsFolderOwner was their one rule.
test('whose heads a folder holds: any head name, a manifest without its weights, own and other heads mixed, a legacy manifest, a file, an unlistable path', () => {
  const folder = join(dir, 'owner-cases');
  mkdirSync(folder);
  assert.deepEqual(headsFolderOwner(folder, 'b'), { holds: 'nothing' });
  assert.deepEqual(headsFolderOwner(join(dir, 'no-such-folder'), 'b'), { holds: 'nothing' });
  // A manifest of a task from before heads recorded their task is no owner (loading reports it).
  const legacy = { ...manifest('level1'), weightsFile: 'level1.x.safetensors' } as Partial<HeadManifest>;
  delete legacy.task;
  writeFileSync(join(folder, 'level1.json'), JSON.stringify(legacy));
  assert.deepEqual(headsFolderOwner(folder, 'b'), { holds: 'nothing' });
  saveHead(folder, manifest('level2', { task: 'b' }), { weight: new Float32Array(V * H) });
  assert.deepEqual(headsFolderOwner(folder, 'b'), { holds: 'own' });
  // A thought-then-answer task's head (names no classify task uses), its weights file gone: still
  // the other task's (the hovers looked only at level1 and flat, training only at heads with weights).
  saveHead(folder, manifest('thought', { task: 'a' }), { weight: new Float32Array(V * H) });
  for (const f of readdirSync(folder).filter((f) => f.startsWith('thought.') && f.endsWith('.safetensors'))) rmSync(join(folder, f));
  assert.deepEqual(headsFolderOwner(folder, 'b'), { holds: 'other', dir: folder, task: 'a', manifest: 'thought.json' });
  assert.throws(() => checkHeadsFolder(folder, { name: 'b', path: '/tasks/b.hdlm.json' }, 'train', join(dir, 'model')), /holds the heads of task "a" \(thought\.json\), not of task "b"/);
  writeFileSync(join(dir, 'heads-is-a-file'), 'x');
  assert.deepEqual(headsFolderOwner(join(dir, 'heads-is-a-file'), 'b'), { holds: 'file' });
  const under = headsFolderOwner(join(dir, 'heads-is-a-file', 'heads'), 'b');
  assert.equal(under.holds, 'unreadable');
  assert.throws(() => checkHeadsFolder(join(dir, 'heads-is-a-file', 'heads'), { name: 'b', path: '/tasks/b.hdlm.json' }, 'train', join(dir, 'model')), /\/tasks\/b\.hdlm\.json: the heads folder .*heads-is-a-file\/heads cannot be read \(ENOTDIR/);
});

test('an interrupted save leaves the previous head loadable, and saves replace old weights', () => {
  const first = new Float32Array(V * H).fill(0.5);
  saveHead(dir, manifest('resume'), { weight: first });
  // A save that died after writing its weights but before the manifest: a stray weights file.
  // Named as a save names them (time, then pid, in base 36), by a run that died.
  const stray = `resume.${(Date.now() - 60_000).toString(36)}${(4_000_000).toString(36)}.safetensors`;
  writeFileSync(join(dir, stray), 'half a file');
  // The user's own files beside the heads, which are not ours to delete.
  const users = ['resume.backup.safetensors', 'resume.mybackup2024.safetensors', 'resume.zzzzzzzz1.safetensors'];
  for (const f of users) writeFileSync(join(dir, f), 'mine');
  mkdirSync(join(dir, `resume.${Date.now().toString(36)}1.safetensors`));
  assert.deepEqual(loadHead(dir, 'resume', ckpt).weights.weight, first);
  const second = new Float32Array(V * H).fill(0.25);
  saveHead(dir, manifest('resume'), { weight: second });
  assert.deepEqual(loadHead(dir, 'resume', ckpt).weights.weight, second);
  const files = readdirSync(dir).filter((f) => f.startsWith('resume.') && f.endsWith('.safetensors'));
  assert.ok(!files.includes(stray), 'the stray weights file was removed');
  assert.deepEqual(files.filter((f) => !users.includes(f) && statSync(join(dir, f)).isFile()), [readManifest(dir, 'resume').weightsFile], 'the previous weights file was removed');
  for (const f of users) assert.equal(readFileSync(join(dir, f), 'utf8'), 'mine', `${f} is the user's and stays`);
  assert.equal(files.length, 1 + users.length + 1, 'a folder named like a weights file stays');
  // Another head whose name extends this one's keeps its weights.
  saveHead(dir, manifest('resume2'), { weight: first });
  saveHead(dir, manifest('resume'), { weight: second });
  assert.deepEqual(loadHead(dir, 'resume2', ckpt).weights.weight, first);
  assert.throws(() => saveHead(dir, manifest('bad'), { weight: new Float32Array(3) }), /weight has 3 values, \[40,16\] needs 640/);
});

test('a save whose weights fail to write leaves the previous head loading: the manifest is replaced only after its weights are written', () => {
  const first = new Float32Array(V * H).fill(0.5);
  saveHead(dir, manifest('unwritten'), { weight: first });
  const filesBefore = readdirSync(dir).filter((f) => f.startsWith('unwritten.')).sort();
  // Weights of the right size (the save's checks pass) whose bytes cannot be read when written,
  // as a write that fails for want of space would: the failure comes after validation, inside the
  // weights write. Had the manifest been written first, it would name a weights file never written.
  const unreadable = new Float32Array(V * H).fill(0.25);
  Object.defineProperty(unreadable, 'buffer', { get: () => { throw new Error('the disk is full'); } });
  assert.throws(() => saveHead(dir, manifest('unwritten'), { weight: unreadable }), /the disk is full/);
  assert.deepEqual(loadHead(dir, 'unwritten', ckpt).weights.weight, first);
  assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('unwritten.') || f.startsWith('.unwritten.')).sort(), filesBefore, 'nothing new is left behind');
});

test('a training run holds its heads folder: a second refuses naming the first\'s process; a dead process\'s lock and temporary files are taken over and swept', () => {
  const heads = join(dir, 'locked');
  const release = lockHeads(heads);
  assert.throws(() => lockHeads(heads), new RegExp(`heads are being trained by process ${process.pid} \\(.*\\.train\\.lock\\)`));
  release();
  assert.equal(existsSync(heads), false, 'the folder this run made is removed when left empty');
  // A process that is gone: its lock and its interrupted write are left behind, as after kill -9.
  const dead = spawnSync(process.execPath, ['-e', '']).pid;
  mkdirSync(heads);
  writeFileSync(join(heads, HEADS_LOCK), `${dead}\n`);
  // Named as tempPath names them (the sweep takes nothing else).
  const stale = `.level1.resume.safetensors.${dead}.r0123456789ab.tmp`;
  const live = `.level2.resume.safetensors.${process.pid}.rba9876543210.tmp`;
  writeFileSync(join(heads, stale), 'half a file');
  writeFileSync(join(heads, live), 'a write in progress');
  const again = lockHeads(heads);
  assert.match(readFileSync(join(heads, HEADS_LOCK), 'utf8'), new RegExp(`^${process.pid}( \\S+)?\n$`));
  assert.deepEqual(readdirSync(heads).sort(), [HEADS_LOCK, live].sort(), 'the dead process\'s temporary file is swept, a live one\'s kept');
  again();
  assert.deepEqual(readdirSync(heads), [live], 'the lock goes; a folder the run did not make stays');
});

test('a lock whose pid now belongs to another process (pid reuse) is taken over, where the system tells when a process started', { skip: processStart(process.pid) === undefined && 'no process start times here (not Linux)' }, () => {
  const heads = join(dir, 'reused');
  mkdirSync(heads);
  // A live process with the lock holder's pid, but started after the lock was written: a stranger.
  const stranger = spawn('sleep', ['30'], { stdio: 'ignore' });
  try {
    const [boot] = processStart(stranger.pid!)!.split(':');
    writeFileSync(join(heads, HEADS_LOCK), `${stranger.pid} ${boot}:1\n`);
    const release = lockHeads(heads);
    assert.equal(readFileSync(join(heads, HEADS_LOCK), 'utf8'), `${process.pid} ${processStart(process.pid)}\n`);
    release();
    // The same live process as the one that wrote it: still refused.
    writeFileSync(join(heads, HEADS_LOCK), `${stranger.pid} ${processStart(stranger.pid!)}\n`);
    assert.throws(() => lockHeads(heads), new RegExp(`heads are being trained by process ${stranger.pid}`));
    // A lock from before starts were written: the pid alone decides, as it did.
    writeFileSync(join(heads, HEADS_LOCK), `${stranger.pid}\n`);
    assert.throws(() => lockHeads(heads), /heads are being trained/);
  } finally {
    stranger.kill();
  }
});

test('a head manifest that is not JSON is refused in the words of every JSON file: file, line, column, reason', () => {
  const folder = join(dir, 'broken-manifest');
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, 'level0.json'), '{\n  "format": "hdlm-head-1",\n  "weightsFile" "level0.safetensors"\n}\n');
  assert.throws(() => readManifest(folder, 'level0'), (err: Error) => {
    assert.equal(err.message, `${join(folder, 'level0.json')}: line 3, column 17: not valid JSON: colon expected`);
    return true;
  });
});
