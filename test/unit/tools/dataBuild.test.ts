// The dataset builder as a whole: which apt lists it reads, how it decodes them, and what it
// writes (atomically, merging stats.json on --only) or refuses to write. The command-line tests
// run out/tools/data/buildDatasets.js on small synthetic apt lists in a temporary folder.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, test } from 'node:test';
import { decodeAptList, isDefaultDebianList } from '../../../tools/data/lib/aptLists';
import { buildDebian } from '../../../tools/data/lib/debianDataset';
import { mergeStats, StatsFile, writeFilesAtomically } from '../../../tools/data/lib/output';
import { summaryMarkdown } from '../../../tools/data/lib/summary';

const root = resolve(__dirname, '..', '..', '..', '..');
const builder = join(root, 'out', 'tools', 'data', 'buildDatasets.js');
const scratch = mkdtempSync(join(tmpdir(), 'hdlm-databuild-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

describe('which apt lists are read', () => {
  const read = [
    'deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages.lz4',
    'deb.debian.org_debian_dists_bookworm_main_i18n_Translation-en.lz4',
    'deb.debian.org_debian_dists_bookworm-updates_main_binary-amd64_Packages.lz4',
    'deb.debian.org_debian-security_dists_bookworm-security_main_i18n_Translation-en.lz4',
    'security.debian.org_debian-security_dists_bookworm-security_main_binary-amd64_Packages',
    'ftp.de.debian.org_debian_dists_stable_contrib_binary-i386_Packages.xz',
    'ftp.debian.org_debian_dists_trixie_main_i18n_Translation-en',
  ];
  const notRead = [
    // NotAutomatic suites: apt installs from them only when told to.
    'deb.debian.org_debian_dists_bookworm-backports_main_binary-amd64_Packages.lz4',
    'deb.debian.org_debian_dists_bookworm-backports_main_i18n_Translation-en.lz4',
    'deb.debian.org_debian_dists_experimental_main_binary-amd64_Packages',
    'deb.debian.org_debian_dists_bookworm-proposed-updates_main_binary-amd64_Packages',
    // Third-party repositories, with and without "debian" in their names.
    'download.docker.com_linux_debian_dists_bookworm_stable_binary-amd64_Packages',
    'packages.microsoft.com_debian_12_prod_dists_bookworm_main_binary-amd64_Packages',
    'deb.nodesource.com_node%5f20.x_dists_nodistro_main_binary-amd64_Packages',
    'debian.example.org_debian_dists_bookworm_main_binary-amd64_Packages',
    // Not an index of packages.
    'deb.debian.org_debian_dists_bookworm_InRelease',
    'deb.debian.org_debian_dists_bookworm_main_i18n_Translation-de.lz4',
  ];
  for (const name of read) test(`reads ${name}`, () => assert.ok(isDefaultDebianList(name)));
  for (const name of notRead) test(`leaves out ${name}`, () => assert.ok(!isDefaultDebianList(name)));
});

const STANZA_OK = 'Package: good\nDescription-md5: 1\nDescription-en: fine\n a fine tool\n';
const STANZA_LATIN1 = Buffer.concat([Buffer.from('Package: bad\nDescription-md5: 2\nDescription-en: caf'), Buffer.from([0xe9]), Buffer.from('\n a r\xe9sum\xe9 tool\n', 'latin1')]);
const STANZA_LAST = 'Package: last\nVersion: 1\n:broken line\n';

describe('strict UTF-8 in apt lists', () => {
  test('a valid list decodes unchanged', () => {
    assert.deepEqual(decodeAptList(Buffer.from(`${STANZA_OK}\n${STANZA_OK}`), 'T'), { text: `${STANZA_OK}\n${STANZA_OK}`, invalid: [] });
  });

  test('a stanza with invalid bytes is left out and named; the others keep their line numbers', () => {
    const bytes = Buffer.concat([Buffer.from(`${STANZA_OK}\n`), STANZA_LATIN1, Buffer.from(`\n${STANZA_LAST}`)]);
    const { text, invalid } = decodeAptList(bytes, 'x_Translation-en');
    assert.deepEqual(invalid, [{ file: 'x_Translation-en', line: 6, package: 'bad' }]);
    assert.ok(!text.includes('\uFFFD') && !text.includes('bad'));
    // The stanza after it still starts on line 11, so later errors point at the right line.
    assert.equal(text.split('\n').indexOf('Package: last') + 1, 11);
  });

  test('the Debian build counts and names the stanzas it left out', () => {
    const packages = 'Package: good\nVersion: 1\nDescription-md5: 1\nSection: utils\n\nPackage: bad\nVersion: 1\nDescription-md5: 2\nSection: utils\n';
    const translation = decodeAptList(Buffer.concat([Buffer.from(`${STANZA_OK}\n`), STANZA_LATIN1]), 'T');
    const build = buildDebian([{ file: 'P', text: packages }], [{ file: 'T', ...translation }], { minTrain: 0 });
    assert.deepEqual(build.stats.invalidUtf8, { stanzas: 1, first: [{ file: 'T', line: 6, package: 'bad' }] });
    assert.deepEqual(build.records.map((r) => r.record.id), ['deb:good']);
    assert.match(summaryMarkdown({ debian: build.stats }), /1 stanzas that are not valid UTF-8: `bad` \(T:6\)/);
  });
});

describe('writing the outputs', () => {
  test('all files are renamed into place together; a failure leaves the previous ones intact', () => {
    const dir = join(scratch, 'atomic');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'a.txt'), 'old a');
    writeFileSync(join(dir, 'blocker'), 'a file where a folder is wanted');
    const files = new Map([
      [join(dir, 'a.txt'), 'new a'],
      [join(dir, 'blocker', 'b.txt'), 'new b'],
    ]);
    assert.throws(() => writeFilesAtomically(files));
    assert.equal(readFileSync(join(dir, 'a.txt'), 'utf8'), 'old a');
    assert.deepEqual(readdirSync(dir).sort(), ['a.txt', 'blocker'], 'no .partial file is left behind');
    writeFilesAtomically(new Map([[join(dir, 'a.txt'), 'new a'], [join(dir, 'sub', 'c.txt'), 'c']]));
    assert.equal(readFileSync(join(dir, 'a.txt'), 'utf8'), 'new a');
    assert.equal(readFileSync(join(dir, 'sub', 'c.txt'), 'utf8'), 'c');
  });

  test('a partial build keeps the other datasets’ stats and sources, in a full build’s key order', () => {
    const previous = {
      seed: 's', ratios: {}, wordnet: { w: 1 }, thought: { t: 1 }, debian: { old: true },
      sources: [
        { file: '/usr/share/wordnet/data.noun', bytes: 1, sha256: 'a' },
        { file: '/l/x_Packages', bytes: 2, sha256: 'b', dataset: 'debian' },
      ],
    };
    const fresh: StatsFile = { seed: 's', ratios: {}, debian: { new: true }, sources: [{ file: '/m/y_Packages', bytes: 3, sha256: 'c', dataset: 'debian' }] };
    const merged = mergeStats(previous, fresh, ['debian']);
    assert.deepEqual(Object.keys(merged), ['seed', 'ratios', 'wordnet', 'thought', 'debian', 'sources']);
    assert.deepEqual(merged['debian'], { new: true });
    assert.deepEqual(merged['wordnet'], { w: 1 });
    assert.deepEqual(Object.keys(mergeStats(undefined, fresh, ['debian'])), ['seed', 'ratios', 'debian', 'sources']);
    assert.deepEqual(merged.sources.map((s) => [s.file, s.dataset]), [
      ['/m/y_Packages', 'debian'],
      ['/usr/share/wordnet/data.noun', 'wordnet'],
    ]);
  });
});

// ---------------------------------------------------------------------------------------------
// The command line on synthetic apt lists

/** `n` packages in one section, enough for it to pass the 100-training-item threshold when n ≥ 150. */
function aptLists(dir: string, n: number, md5Prefix = 'm'): { packages: string; translation: string } {
  mkdirSync(dir, { recursive: true });
  const ids = Array.from({ length: n }, (_, i) => i);
  const packages = join(dir, 'x_Packages');
  const translation = join(dir, 'x_Translation-en');
  writeFileSync(packages, ids.map((i) => `Package: pkg${i}\nVersion: 1\nDescription-md5: ${md5Prefix}${i}\nSection: utils\n`).join('\n'));
  writeFileSync(translation, ids.map((i) => `Package: pkg${i}\nDescription-md5: m${i}\nDescription-en: tool ${i}\n a tool for job number ${i}\n`).join('\n'));
  return { packages, translation };
}

function build(out: string, ...args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, [builder, '--out', out, '--only', 'debian', ...args], { encoding: 'utf8', timeout: 60_000 });
}

describe('buildDatasets on bad apt lists', () => {
  test('when no record survives it fails, names the lists and their counts, and writes nothing', () => {
    // Translation-en of "another suite": no Packages stanza finds its description.
    const lists = aptLists(join(scratch, 'mismatch'), 150, 'other');
    const out = join(scratch, 'mismatch-out');
    const r = build(out, '--packages', lists.packages, lists.translation);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /no Debian record survived: no package has a section and a usable English description/);
    assert.match(r.stderr, /x_Packages: 150 package stanzas/);
    assert.match(r.stderr, /x_Translation-en: 150 description stanzas/);
    assert.match(r.stderr, /150 without an English description/);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    assert.ok(!existsSync(out), 'no output folder');
  });

  test('too few records for any section is the same clear failure', () => {
    const lists = aptLists(join(scratch, 'small'), 20);
    const r = build(join(scratch, 'small-out'), '--packages', lists.packages, lists.translation);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /20 packages had a description, but no section, nor `other` with them all, reached 100 training items/);
  });

  for (const kind of ['Packages', 'Translation-en']) {
    test(`an empty ${kind} file is named in a clear error`, () => {
      const lists = aptLists(join(scratch, `empty-${kind}`), 150);
      const empty = kind === 'Packages' ? lists.packages : lists.translation;
      writeFileSync(empty, '');
      const r = build(join(scratch, `empty-${kind}-out`), '--packages', lists.packages, lists.translation);
      assert.equal(r.status, 1, r.stderr);
      assert.ok(r.stderr.includes(`${empty}: no stanzas (the file is empty); expected an apt ${kind} index`), r.stderr);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    });
  }

  test('a stanza that is not UTF-8 is left out and named in the summary, never decoded as U+FFFD', () => {
    const lists = aptLists(join(scratch, 'latin1'), 150);
    const stanza = Buffer.from('Package: pkg7\nDescription-md5: m7\nDescription-en: caf\xe9 tool\n r\xe9sum\xe9 handling\n', 'latin1');
    const text = readFileSync(lists.translation, 'utf8').replace(/Package: pkg7\n[^]*?\n\n/, '');
    writeFileSync(lists.translation, Buffer.concat([Buffer.from(text + '\n'), stanza]));
    const out = join(scratch, 'latin1-out');
    const r = build(out, '--packages', lists.packages, lists.translation);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /left out 1 stanzas that are not valid UTF-8: pkg7 \(.*x_Translation-en:\d+\)/);
    const train = ['train', 'dev', 'test'].map((s) => readFileSync(join(out, 'debian', `${s}.jsonl`), 'utf8')).join('');
    assert.ok(!train.includes('\uFFFD') && !train.includes('"deb:pkg7"'));
    assert.match(readFileSync(join(out, 'summary.md'), 'utf8'), /1 stanzas that are not valid UTF-8: `pkg7`/);
  });
});

describe('buildDatasets --only', () => {
  test('keeps the other datasets in stats.json and summary.md; a failed build leaves the folder as it was', () => {
    const out = join(scratch, 'only-out');
    mkdirSync(out, { recursive: true });
    const wordnetSource = { file: '/usr/share/wordnet/data.noun', bytes: 1, sha256: 'a', dataset: 'wordnet' };
    const thought = { splits: { train: 8, dev: 1, test: 1 }, distinctThoughts: 2, distinctAnswers: 10 };
    writeFileSync(join(out, 'stats.json'), JSON.stringify({ seed: 'x', ratios: {}, thought, sources: [wordnetSource] }));
    const lists = aptLists(join(scratch, 'only'), 150);
    const ok = build(out, '--packages', lists.packages, lists.translation);
    assert.equal(ok.status, 0, ok.stderr);
    const stats = JSON.parse(readFileSync(join(out, 'stats.json'), 'utf8')) as Record<string, unknown> & { sources: { file: string }[] };
    assert.deepEqual(stats['thought'], thought);
    assert.ok(stats['debian'] !== undefined);
    assert.deepEqual(stats.sources.map((s) => s.file), [lists.packages, lists.translation, wordnetSource.file]);
    const summary = readFileSync(join(out, 'summary.md'), 'utf8');
    assert.match(summary, /\| thought \| 8 \| 1 \| 1 \| 10 \|/);
    assert.match(summary, /\| debian \|/);

    const before = new Map(['stats.json', 'summary.md', 'debian/train.jsonl'].map((f) => [f, readFileSync(join(out, f), 'utf8')]));
    writeFileSync(lists.translation, '');
    assert.equal(build(out, '--packages', lists.packages, lists.translation).status, 1);
    for (const [file, text] of before) assert.equal(readFileSync(join(out, file), 'utf8'), text, file);
  });
});
