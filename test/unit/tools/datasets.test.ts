// Unit tests of the dataset builders (tools/data). Everything runs on inline text or on the
// committed fixtures in data/fixtures: wordnet-base and the apt lists need not be installed.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parseFlags, UsageError } from '../../../tools/data/lib/args';
import { compareDebianVersions, parseControl, parseDescription } from '../../../tools/data/lib/debian';
import { buildDebian, SourceText } from '../../../tools/data/lib/debianDataset';
import { findTreeViolations, validateGuided, validateHierarchical } from '../../../engine/src/hdlm/dataset/formats';
import { sampleByGroup } from '../../../tools/data/lib/items';
import { toJsonl } from '../../../engine/src/hdlm/dataset/jsonl';
import { SourceError } from '../../../tools/data/lib/sources';
import { Split, splitOf } from '../../../tools/data/lib/split';
import { foldRare, nameKeys, otherKey, repairTree, TaxonomyItem } from '../../../tools/data/lib/taxonomy';
import { firstHypernymPath, maskWords, parseDataLine, parseNounData, Synset } from '../../../tools/data/lib/wordnet';
import { buildWordNet, lexFileSegment } from '../../../tools/data/lib/wordnetDataset';

/** The bundle lives in out/test/unit/tools; the fixtures in data/fixtures at the repository root. */
const FIXTURES = join(__dirname, '..', '..', '..', '..', 'data', 'fixtures');

function fixture(name: string): string {
  return readFileSync(join(FIXTURES, name), 'utf8');
}

// ---------------------------------------------------------------------------------------------
// WordNet data.noun parsing

const LICENCE = '  1 This software and database is being provided to you, the LICENSEE, by  ';
const ENTITY = '00001740 03 n 01 entity 0 003 ~ 00001930 n 0000 ~ 00002137 n 0000 ~ 04424418 n 0000 | that which is perceived or known or inferred to have its own distinct existence (living or nonliving)  ';
const DOG =
  '02084071 05 n 03 dog 0 domestic_dog 0 Canis_familiaris 0 004 @ 02083346 n 0000 @ 01317541 n 0000 #m 02083863 n 0000 + 01678140 v 0102 | a member of the genus Canis; "the dog barked all night"  ';
const EINSTEIN = '11103856 18 n 02 Einstein 0 Albert_Einstein 0 002 @i 10503452 n 0000 @i 10447622 n 0000 | physicist born in Germany  ';

describe('WordNet data lines', () => {
  test('parses offset, lexicographer file, lemmas, hypernyms and gloss', () => {
    const dog = parseDataLine(DOG);
    assert.equal(dog.offset, '02084071');
    assert.equal(dog.lexFile, 'noun.animal');
    assert.deepEqual(dog.words, ['dog', 'domestic dog', 'Canis familiaris']);
    // Only '@' pointers to nouns count: '#m' (member holonym) and '+' (to a verb) are not hypernyms.
    assert.deepEqual(dog.hypernyms, ['02083346', '01317541']);
    assert.equal(dog.gloss, 'a member of the genus Canis; "the dog barked all night"');
  });

  test('follows instance hypernyms and reads the word count as hex', () => {
    assert.deepEqual(parseDataLine(EINSTEIN).hypernyms, ['10503452', '10447622']);
    const twelveWords = `00000000 06 n 0c ${Array.from({ length: 12 }, (_, i) => `w${i} 0`).join(' ')} 000 | twelve lemmas`;
    assert.equal(parseDataLine(twelveWords).words.length, 12);
  });

  test('a malformed line fails with the file, the line number and the field', () => {
    const broken = DOG.replace(' 004 @', ' 4 @');
    assert.throws(
      () => parseNounData([LICENCE, ENTITY, broken].join('\n'), 'data.noun', { checkOffsets: false }),
      (err: unknown) => err instanceof SourceError && /data\.noun:3: .*pointer count/.test(err.message) && /wordnet-base/.test(err.message),
    );
  });

  test('a verb line or an unknown lexicographer file is rejected', () => {
    assert.throws(() => parseDataLine(ENTITY.replace(' 03 n ', ' 03 v ')), /synset type/);
    assert.throws(() => parseDataLine(ENTITY.replace(' 03 n ', ' 31 n ')), /not a noun file/);
  });

  test('offsets must be byte positions when checked', () => {
    const line = (offset: number): string => `${String(offset).padStart(8, '0')} 03 n 01 entity 0 000 | the root`;
    const good = `${LICENCE}\n${line(LICENCE.length + 1)}\n`;
    assert.equal(parseNounData(good, 'data.noun', { checkOffsets: true }).size, 1);
    const shifted = `${LICENCE}\n${line(LICENCE.length + 2)}\n`;
    assert.throws(() => parseNounData(shifted, 'data.noun', { checkOffsets: true }), /not the line's byte position/);
  });

  test('a pointer to a synset missing from the file is a layout error', () => {
    assert.throws(() => parseNounData(DOG, 'data.noun', { checkOffsets: false }), /points to hypernym 02083346, which is not in the file/);
  });

  test('an empty file says which package provides the real one', () => {
    assert.throws(() => parseNounData(`${LICENCE}\n`, 'data.noun', { checkOffsets: false }), /wordnet-base/);
  });
});

describe('masking the defined word', () => {
  test('masks lemmas with plural and possessive endings, whole words only', () => {
    const masked = maskWords('a dog; "the dogs barked"; "the Dog\'s bone"; "a doge and a hotdog"', ['dog']);
    assert.equal(masked, 'a ___; "the ___ barked"; "the ___ bone"; "a doge and a hotdog"');
  });

  test('masks multi-word lemmas before their parts and leaves very short lemmas alone', () => {
    assert.equal(maskWords('"a domestic dog sleeps"', ['dog', 'domestic dog']), '"a ___ sleeps"');
    assert.equal(maskWords('"an ox in the field"', ['ox']), '"an ox in the field"');
  });
});

// ---------------------------------------------------------------------------------------------
// A miniature WordNet for the dataset builder: two lexicographer files below noun.Tops.

function synset(offset: string, lexFile: string, words: string[], hypernyms: string[], gloss: string): Synset {
  return { offset, lexFile, words, hypernyms, gloss };
}

function miniWordNet(): Map<string, Synset> {
  const list: Synset[] = [
    synset('00000001', 'noun.Tops', ['entity'], [], 'the root'),
    synset('00000002', 'noun.Tops', ['organism'], ['00000001'], 'a living thing'),
    synset('00000003', 'noun.animal', ['chordate'], ['00000002'], 'an animal with a notochord'),
    synset('00000004', 'noun.animal', ['vertebrate'], ['00000003'], 'an animal with a backbone'),
    synset('00000005', 'noun.animal', ['mammal'], ['00000004'], 'a warm-blooded vertebrate'),
    synset('00000006', 'noun.artifact', ['instrumentality'], ['00000001'], 'an artifact used for a purpose'),
    synset('00000007', 'noun.artifact', ['device'], ['00000006'], 'an instrumentality invented for a task'),
  ];
  // Many leaves under mammal and device so that splits and thresholds have something to count.
  for (let i = 0; i < 40; i++) {
    list.push(synset(String(100 + i).padStart(8, '0'), 'noun.animal', [`beast${i}`], ['00000005'], `a mammal of kind ${i}; "the beast${i} grazed"`));
    list.push(synset(String(200 + i).padStart(8, '0'), 'noun.artifact', [`gadget${i}`], ['00000007'], `a device of kind ${i}`));
  }
  // Multiple inheritance: the first hypernym decides the path.
  list.push(synset('00000300', 'noun.animal', ['robodog'], ['00000005', '00000007'], 'a mammal-like machine'));
  // Two synsets with one gloss cannot be told apart: both are dropped.
  list.push(synset('00000301', 'noun.animal', ['titan1'], ['00000005'], 'one of the Titans'));
  list.push(synset('00000302', 'noun.animal', ['titan2'], ['00000005'], 'one of the Titans'));
  return new Map(list.map((s) => [s.offset, s]));
}

describe('WordNet hierarchy', () => {
  test('the first hypernym path runs from the root to the synset', () => {
    const synsets = miniWordNet();
    assert.deepEqual(firstHypernymPath(synsets, '00000300'), ['00000001', '00000002', '00000003', '00000004', '00000005', '00000300']);
  });

  test('a hypernym cycle is reported instead of looping', () => {
    const synsets = new Map([
      ['00000001', synset('00000001', 'noun.act', ['a'], ['00000002'], 'x')],
      ['00000002', synset('00000002', 'noun.act', ['b'], ['00000001'], 'y')],
    ]);
    assert.throws(() => firstHypernymPath(synsets, '00000001'), /cycle/);
  });

  test('the lexicographer-file segment is the tail of the path inside the file', () => {
    const synsets = miniWordNet();
    assert.deepEqual(lexFileSegment(synsets, firstHypernymPath(synsets, '00000100'), 'noun.animal'), ['00000003', '00000004', '00000005', '00000100']);
    // A path that leaves the file and comes back: only the last run counts.
    synsets.set('00000400', synset('00000400', 'noun.animal', ['cyborg'], ['00000007'], 'part machine'));
    assert.deepEqual(lexFileSegment(synsets, firstHypernymPath(synsets, '00000400'), 'noun.animal'), ['00000400']);
  });

  test('labels are [lexicographer file, entry synset, next synset] and form a tree', () => {
    const build = buildWordNet(miniWordNet(), { minTrain: [0, 0, 0] });
    const byId = new Map(build.classification.map((c) => [c.record.id, c.record]));
    assert.deepEqual(byId.get('wn:00000100')?.labels, ['noun.animal', 'chordate', 'vertebrate']);
    assert.deepEqual(byId.get('wn:00000200')?.labels, ['noun.artifact', 'instrumentality', 'device']);
    assert.deepEqual(byId.get('wn:00000300')?.labels, ['noun.animal', 'chordate', 'vertebrate']);
    assert.deepEqual(findTreeViolations(build.classification.map((c) => c.record.labels)), []);
    assert.deepEqual(build.tree.parent['vertebrate'], 'chordate');
  });

  test('entry synsets and duplicate glosses are left out, and counted', () => {
    const build = buildWordNet(miniWordNet(), { minTrain: [0, 0, 0] });
    const ids = new Set(build.classification.map((c) => c.record.id));
    for (const skipped of ['wn:00000001', 'wn:00000003', 'wn:00000006', 'wn:00000301', 'wn:00000302']) assert.ok(!ids.has(skipped), skipped);
    assert.equal(build.stats.skipped.duplicateText, 2);
    // entity, chordate and instrumentality are where their paths enter their files: no level 3.
    assert.equal(build.stats.skipped.entryPoint, 3);
  });

  test('lexicographer files with too few training items are dropped', () => {
    // noun.Tops holds one item here (organism); any threshold above one removes the file.
    assert.ok(buildWordNet(miniWordNet(), { minTrain: [0, 0, 0] }).classification.some((c) => c.record.labels[0] === 'noun.Tops'));
    const build = buildWordNet(miniWordNet(), { minTrain: [2, 2, 2] });
    assert.ok(!build.classification.some((c) => c.record.labels[0] === 'noun.Tops'));
    assert.deepEqual(build.stats.droppedLexFiles, ['noun.Tops']);
  });

  test('the thought task asks for the headword, with the word masked from the input', () => {
    const build = buildWordNet(miniWordNet(), { minTrain: [0, 0, 0] });
    const beast = build.thought.find((t) => t.record.id === 'wn:00000107')?.record;
    assert.deepEqual(beast, { id: 'wn:00000107', input: 'a mammal of kind 7; "the ___ grazed"', thought: 'chordate', answer: 'beast7' });
    for (const { record } of build.thought) assert.ok(!record.input.includes(record.answer), record.id);
  });

  test('the same input gives byte-identical output', () => {
    const a = buildWordNet(miniWordNet(), { minTrain: [5, 5, 2] });
    const b = buildWordNet(miniWordNet(), { minTrain: [5, 5, 2] });
    assert.equal(toJsonl(a.classification.map((c) => c.record)), toJsonl(b.classification.map((c) => c.record)));
    assert.equal(JSON.stringify(a.stats), JSON.stringify(b.stats));
  });
});

// ---------------------------------------------------------------------------------------------
// Tree repair, folding and naming on hand-made paths

function item(id: string, path: string[], split: Split = 'train'): TaxonomyItem {
  return { id, split, path };
}

function many(prefix: string, n: number, path: string[]): TaxonomyItem[] {
  return Array.from({ length: n }, (_, i) => item(`${prefix}${i}`, path));
}

describe('tree repair', () => {
  test('a node under two parents keeps its majority parent and loses the other items', () => {
    const items = [...many('x', 3, ['A', 'c']), item('y', ['B', 'c']), item('z', ['B', 'd'])];
    const repaired = repairTree(items);
    assert.deepEqual(
      repaired.items.map((i) => i.id),
      ['x0', 'x1', 'x2', 'z'],
    );
    assert.deepEqual(repaired.droppedPerLevel, [0, 1]);
    assert.equal(repaired.parentOf.get('c'), 'A');
  });

  test('a tie goes to the smallest parent key, whatever the input order', () => {
    const forward = repairTree([item('1', ['B', 'c']), item('2', ['A', 'c'])]);
    const backward = repairTree([item('2', ['A', 'c']), item('1', ['B', 'c'])]);
    assert.deepEqual(forward.items.map((i) => i.id), ['2']);
    assert.deepEqual(backward.items.map((i) => i.id), ['2']);
  });

  test('repair runs top-down, so a drop at level 2 is seen by level 3', () => {
    // 'c' goes to A (2 votes to 1); the B item is dropped, so 'e' is left with its A parent only.
    const items = [item('1', ['A', 'c', 'e']), item('2', ['A', 'c', 'f']), item('3', ['B', 'c', 'e']), item('4', ['B', 'c', 'e'])];
    const repaired = repairTree(items);
    assert.deepEqual(repaired.droppedPerLevel, [0, 2, 0]);
    assert.deepEqual(findTreeViolations(repaired.items.map((i) => i.path)), []);
  });

  test('a key used at two levels is refused', () => {
    assert.throws(() => repairTree([item('1', ['A', 'b']), item('2', ['b', 'c'])]), /used at levels/);
  });
});

describe('folding rare labels', () => {
  test('rare children fold into other:<parent>; well-populated ones stay', () => {
    const items = [...many('a', 5, ['P', 'big']), ...many('b', 2, ['P', 'small1']), ...many('c', 2, ['P', 'small2'])];
    const folded = foldRare(items, { minTrain: [3, 3], topLevel: 'drop' });
    const keys = folded.items.map((i) => i.path[1]);
    assert.equal(keys.filter((k) => k === 'big').length, 5);
    assert.equal(keys.filter((k) => k === otherKey('P')).length, 4);
    assert.deepEqual(folded.foldedPerLevel, [0, 2]);
  });

  test('an "other" bucket still too small is dropped, not merged into a big sibling', () => {
    // Like chordate: one big child (vertebrate) and two tiny ones.
    const items = [...many('v', 10, ['P', 'vertebrate']), item('t', ['P', 'tunicate']), item('l', ['P', 'lancelet'])];
    const folded = foldRare(items, { minTrain: [3, 3], topLevel: 'drop' });
    assert.deepEqual([...new Set(folded.items.map((i) => i.path[1]))], ['vertebrate']);
    assert.deepEqual(folded.droppedPerLevel, [0, 2]);
  });

  test('after folding, every label has at least its level minimum of training items', () => {
    // Dropping at level 2 takes Q below the level-1 minimum; the fold is redone so Q goes too.
    const items = [...many('p', 6, ['P', 'p1']), ...many('q', 4, ['Q', 'q1']), item('r', ['Q', 'q2'])];
    const minTrain = [5, 2];
    const folded = foldRare(items, { minTrain, topLevel: 'drop' });
    for (let level = 0; level < 2; level++) {
      const counts = new Map<string, number>();
      for (const i of folded.items) counts.set(i.path[level] as string, (counts.get(i.path[level] as string) ?? 0) + 1);
      for (const [label, n] of counts) assert.ok(n >= (minTrain[level] as number), `${label} has ${n}`);
    }
    assert.deepEqual(folded.droppedTopKeys, ['Q']);
  });

  test('only training items count towards the threshold', () => {
    const items = [...many('t', 2, ['P', 'c']), item('d1', ['P', 'c'], 'dev'), item('d2', ['P', 'c'], 'test'), ...many('u', 3, ['P', 'e'])];
    const folded = foldRare(items, { minTrain: [3, 3], topLevel: 'drop' });
    // 'c' has 4 items but only 2 in train: it is rare, alone in its bucket, and dropped.
    assert.ok(folded.items.every((i) => i.path[1] === 'e'));
  });

  test('top-level rare nodes fold into one "other" when asked to', () => {
    const items = [...many('a', 5, ['main']), ...many('b', 2, ['rare1']), ...many('c', 2, ['rare2'])];
    const folded = foldRare(items, { minTrain: [3], topLevel: 'fold' });
    assert.deepEqual([...new Set(folded.items.map((i) => i.path[0]))].sort(), ['main', otherKey('')]);
  });

  test('thresholds that grow with depth are refused', () => {
    assert.throws(() => foldRare([item('1', ['A', 'b'])], { minTrain: [1, 2], topLevel: 'drop' }), /must not increase/);
  });
});

describe('label names', () => {
  test('clashing names all move to their next candidate; others keep the first', () => {
    const candidates: Record<string, string[]> = { k1: ['bank', 'bank (slope)'], k2: ['bank', 'bank (institution)'], k3: ['river'] };
    const names = nameKeys(['k1', 'k2', 'k3'], (k) => candidates[k] ?? [k]);
    assert.deepEqual([names.get('k1'), names.get('k2'), names.get('k3')], ['bank (slope)', 'bank (institution)', 'river']);
  });

  test('exhausted candidates fall back to the key, which is unique', () => {
    const names = nameKeys(['k1', 'k2'], () => ['same']);
    assert.notEqual(names.get('k1'), names.get('k2'));
  });

  test('"other" keys are named after their parent, nested ones too', () => {
    const names = nameKeys(['wn:1', otherKey('wn:1'), otherKey(otherKey('noun.act')), otherKey(''), 'noun.act'], (k) => (k === 'wn:1' ? ['mammal'] : [k]));
    assert.equal(names.get(otherKey('wn:1')), 'other.mammal');
    assert.equal(names.get(otherKey(otherKey('noun.act'))), 'other.other.noun.act');
    assert.equal(names.get(otherKey('')), 'other');
  });
});

// ---------------------------------------------------------------------------------------------
// Splits

describe('splits', () => {
  test('a record keeps its split: pinned assignments', () => {
    // If these change, every published split changes: bump DEFAULT_SEED and the README together.
    assert.equal(splitOf('wn:02084071'), 'train');
    assert.equal(splitOf('deb:bash'), 'dev');
    assert.equal(splitOf('deb:coreutils'), 'test');
    assert.equal(splitOf('j'), 'dev');
    assert.equal(splitOf('d'), 'test');
  });

  test('about 80/10/10 over many ids, and another seed reshuffles', () => {
    const ids = Array.from({ length: 20000 }, (_, i) => `id:${i}`);
    const counts = { train: 0, dev: 0, test: 0 };
    for (const id of ids) counts[splitOf(id)] += 1;
    assert.ok(Math.abs(counts.train / ids.length - 0.8) < 0.015, JSON.stringify(counts));
    assert.ok(Math.abs(counts.dev / ids.length - 0.1) < 0.01, JSON.stringify(counts));
    const moved = ids.filter((id) => splitOf(id) !== splitOf(id, 'another seed')).length;
    assert.ok(moved > ids.length * 0.2, `${moved} moved`);
  });

  test('invalid ratios are refused', () => {
    assert.throws(() => splitOf('x', 'seed', { train: 0.9, dev: 0.2 }), /ratios/);
  });
});

// ---------------------------------------------------------------------------------------------
// Debian indexes

const PACKAGES = `Package: hello
Version: 2.10-3
Architecture: amd64
Description: example package based on GNU hello
Description-md5: aaaa
Tag: role::program
Section: devel

Package: hello
Version: 2.10-3+deb12u1
Architecture: amd64
Description: example package based on GNU hello
Description-md5: bbbb
Section: contrib/devel

Package: hello-doc
Version: 2.10-3
Description: documentation for hello
Description-md5: cccc
Section: doc

Package: trans-a
Version: 1
Description: transitional package
Description-md5: dddd
Section: oldlibs

Package: trans-b
Version: 1
Description: another transitional package
Description-md5: eeee
Section: oldlibs
`;

const TRANSLATION = `Package: hello
Description-md5: aaaa
Description-en: example package based on GNU hello
 The GNU hello program produces a familiar, friendly greeting.
 It allows non-programmers to use a classic computer science tool.

Package: hello
Description-md5: bbbb
Description-en: example package based on GNU hello
 The GNU hello program produces a familiar, friendly greeting. It allows
 non-programmers to use a classic computer science tool which would
 otherwise be unavailable to them.
 .
 Seriously, though: this is an example of how to do a Debian package.

Package: hello-doc
Description-md5: cccc
Description-en: documentation for hello
 This package holds the manual of hello:
   hello --help
   hello --version

Package: trans-a
Description-md5: dddd
Description-en: transitional package
 This is a transitional package. It can safely be removed.

Package: trans-b
Description-md5: eeee
Description-en: another transitional package
 This is a transitional package. It can safely be removed.
`;

describe('Debian control files', () => {
  test('stanzas keep continuation lines and their start line', () => {
    const stanzas = parseControl(TRANSLATION);
    assert.equal(stanzas.length, 5);
    assert.equal(stanzas[1]?.line, 7);
    assert.equal(stanzas[1]?.fields.get('Description-md5'), 'bbbb');
    assert.match(stanzas[1]?.fields.get('Description-en') ?? '', /^example package based on GNU hello\n The GNU/);
  });

  test('descriptions: wrapped lines join, " ." splits paragraphs, indented lines stay verbatim', () => {
    const value = parseControl(TRANSLATION)[1]?.fields.get('Description-en') ?? '';
    assert.deepEqual(parseDescription(value), {
      synopsis: 'example package based on GNU hello',
      long:
        'The GNU hello program produces a familiar, friendly greeting. It allows non-programmers to use a classic computer science tool which would otherwise be unavailable to them.\n\n' +
        'Seriously, though: this is an example of how to do a Debian package.',
    });
    const doc = parseDescription(parseControl(TRANSLATION)[2]?.fields.get('Description-en') ?? '');
    assert.equal(doc.long, 'This package holds the manual of hello:\n\n  hello --help\n  hello --version');
  });

  test('a line that is neither a field nor a continuation is a format error', () => {
    assert.throws(() => parseControl('Package: x\nnot a field\n'), /expected 'Field: value'/);
  });

  test('Debian version order', () => {
    const ascending = ['1.0~rc1', '1.0', '1.0-1', '1.0-1+deb12u1', '1.0a', '1.9', '1.10', '2.0', '1:0.1'];
    for (let i = 1; i < ascending.length; i++) {
      assert.ok(compareDebianVersions(ascending[i - 1] as string, ascending[i] as string) < 0, `${ascending[i - 1]} < ${ascending[i]}`);
      assert.ok(compareDebianVersions(ascending[i] as string, ascending[i - 1] as string) > 0, `${ascending[i]} > ${ascending[i - 1]}`);
    }
    assert.equal(compareDebianVersions('1.0-1', '1.0-1'), 0);
  });
});

describe('Debian dataset', () => {
  const packages: SourceText[] = [{ file: 'Packages', text: PACKAGES }];
  const translations: SourceText[] = [{ file: 'Translation-en', text: TRANSLATION }];

  test('joins on the description md5 of the newest version and strips the component from the section', () => {
    const build = buildDebian(packages, translations, { minTrain: 0 });
    const hello = build.records.find((r) => r.record.id === 'deb:hello')?.record;
    assert.equal(hello?.thought, 'devel');
    assert.equal(hello?.answer, 'example package based on GNU hello');
    assert.match(hello?.input ?? '', /Seriously, though/);
  });

  test('shared long descriptions are dropped in all their copies', () => {
    const build = buildDebian(packages, translations, { minTrain: 0 });
    assert.deepEqual(build.records.map((r) => r.record.id), ['deb:hello', 'deb:hello-doc']);
    assert.equal(build.stats.skipped.duplicateDescription, 2);
  });

  test('sections with too few training items fold into "other" or are dropped when "other" stays too small', () => {
    const many = Array.from({ length: 60 }, (_, i) => i);
    const pkgs = many.map((i) => `Package: p${i}\nVersion: 1\nDescription-md5: m${i}\nSection: ${i < 50 ? 'utils' : i < 55 ? 'games' : 'sound'}\n`).join('\n');
    const trans = many.map((i) => `Package: p${i}\nDescription-md5: m${i}\nDescription-en: tool ${i}\n a tool numbered ${i}\n`).join('\n');
    const build = buildDebian([{ file: 'P', text: pkgs }], [{ file: 'T', text: trans }], { minTrain: 5 });
    const train = (section: string): number => build.records.filter((r) => r.split === 'train' && r.record.thought === section).length;
    assert.ok(build.sections.includes('utils'));
    assert.ok(!build.sections.includes('games') && !build.sections.includes('sound'));
    for (const section of build.sections) assert.ok(train(section) >= 5, `${section}: ${train(section)}`);
  });

  test('missing files and changed layouts fail with the apt command to run', () => {
    assert.throws(() => buildDebian(packages, []), (e: unknown) => e instanceof SourceError && /Acquire::Languages=en/.test(e.message));
    assert.throws(() => buildDebian([], translations), (e: unknown) => e instanceof SourceError && /apt-get update/.test(e.message));
    const noMd5 = TRANSLATION.replace('Description-md5: aaaa\n', '');
    assert.throws(() => buildDebian(packages, [{ file: 'T', text: noMd5 }]), /T:1: expected 'Package', 'Description-md5' and 'Description-en'/);
    const noSections = PACKAGES.replace(/^Section: .*\n/gm, '');
    assert.throws(() => buildDebian([{ file: 'P', text: noSections }], translations), /P: no stanza has a 'Section' field/);
  });
});

// ---------------------------------------------------------------------------------------------
// Formats, fixtures and the command line

describe('committed fixtures', () => {
  test('the WordNet sample is a valid three-level tree covering many labels', () => {
    const text = fixture('wordnet.sample.jsonl');
    const { records, issues } = validateHierarchical(text);
    assert.deepEqual(issues, []);
    assert.ok(records.length > 100 && records.length <= 200, `${records.length} lines`);
    assert.ok(records.every((r) => r.labels.length === 3));
    assert.ok(new Set(records.map((r) => r.labels[0])).size >= 20);
    assert.ok(new Set(records.map((r) => r.labels[2])).size >= 100);
    assert.ok(records.every((r) => r.id.startsWith('wn:')));
  });

  test('the Debian and thought samples are valid and cover several thoughts', () => {
    for (const name of ['debian.sample.jsonl', 'thought.sample.jsonl']) {
      const { records, issues } = validateGuided(fixture(name));
      assert.deepEqual(issues, [], name);
      assert.ok(records.length > 100 && records.length <= 200, `${name}: ${records.length} lines`);
      assert.ok(new Set(records.map((r) => r.thought)).size >= 20, name);
    }
  });

  test('each bad fixture fails on the line and for the reason it was made for', () => {
    const cases: [string, number, RegExp][] = [
      ['bad/notJson.jsonl', 2, /not valid JSON/],
      ['bad/missingField.jsonl', 2, /missing field 'labels'/],
      ['bad/twoParents.jsonl', 3, /label 'vertebrate' has parent 'invertebrate' here but 'chordate' on line 2/],
      ['bad/emptyText.jsonl', 2, /field 'text' is empty/],
    ];
    for (const [name, line, message] of cases) {
      const { issues } = validateHierarchical(fixture(name));
      assert.equal(issues.length, 1, `${name}: ${JSON.stringify(issues)}`);
      assert.equal(issues[0]?.line, line, name);
      assert.match(issues[0]?.message ?? '', message, name);
    }
    const guided = validateGuided(fixture('bad/guidedMissingAnswer.jsonl'));
    assert.deepEqual(guided.issues, [{ line: 2, message: "missing field 'answer'" }]);
  });
});

describe('validators', () => {
  test('records of different depths and duplicate ids are reported', () => {
    const text = toJsonl([
      { id: 'a', text: 't', labels: ['x', 'y'] },
      { id: 'b', text: 't', labels: ['x'] },
      { id: 'a', text: 't', labels: ['x', 'y'] },
    ]);
    const messages = validateHierarchical(text).issues.map((i) => `${i.line}: ${i.message}`);
    assert.deepEqual(messages, ['2: 1 label, but most lines have 2', "3: duplicate id 'a' (first on line 1)"]);
  });

  test('a label at two levels is not a tree', () => {
    const violations = findTreeViolations([
      ['a', 'b'],
      ['b', 'c'],
    ]);
    assert.equal(violations.length, 1);
    assert.match(violations[0]?.message ?? '', /label 'b' is at level 1 here but at level 2/);
  });
});

describe('fixture sampling', () => {
  test('covers every group, stays under the limit and is deterministic', () => {
    const items = Array.from({ length: 500 }, (_, i) => ({ id: `i${i}`, group: `g${i % 37}` }));
    const a = sampleByGroup(items, (x) => x.id, (x) => x.group, 100);
    const b = sampleByGroup([...items].reverse(), (x) => x.id, (x) => x.group, 100);
    assert.ok(a.length <= 100);
    assert.equal(new Set(a.map((x) => x.group)).size, 37);
    assert.deepEqual(new Set(a.map((x) => x.id)), new Set(b.map((x) => x.id)));
  });
});

describe('command line', () => {
  test('--packages takes every value up to the next flag', () => {
    const flags = parseFlags(['--out', '/tmp/x', '--packages', 'a_Packages', 'b_Translation-en', '--only', 'debian'], ['out', 'packages', 'only']);
    assert.deepEqual(flags.get('packages'), ['a_Packages', 'b_Translation-en']);
    assert.deepEqual(flags.get('only'), ['debian']);
  });

  test('unknown options and stray values are usage errors', () => {
    assert.throws(() => parseFlags(['--outt', 'x'], ['out']), UsageError);
    assert.throws(() => parseFlags(['x'], ['out']), UsageError);
  });
});
