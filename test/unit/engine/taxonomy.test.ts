// Taxonomy: the order of each level's labels is the order of every candidate list training
// writes, so it must survive a head's manifest (JSON) unchanged.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Taxonomy, type TaxonomyJson } from '../../../engine/src/hdlm/taxonomy';

const paths = [
  ['30', 'b'],
  ['5', 'a'],
  ['neg', 'x'],
  ['120', '7'],
  ['120', '2'],
].map((labels, i) => ({ labels, source: `line ${i + 1}` }));

/** Through JSON text, as a manifest is written and read. */
function roundTrip(taxonomy: Taxonomy): Taxonomy {
  return Taxonomy.fromJSON(JSON.parse(JSON.stringify(taxonomy.toJSON())) as TaxonomyJson);
}

test('integer-like labels keep their first-seen order through a manifest', () => {
  const taxonomy = Taxonomy.fromPaths(paths);
  assert.deepEqual(taxonomy.childrenOf(1), ['30', '5', 'neg', '120']);
  const read = roundTrip(taxonomy);
  assert.deepEqual(read.childrenOf(1), ['30', '5', 'neg', '120']);
  assert.deepEqual(read.childrenOf(2, '120'), ['7', '2']);
  assert.deepEqual(read.labels(2), ['b', 'a', 'x', '7', '2']);
  assert.ok(read.equals(taxonomy) && read.isPath(['120', '2']));
});

test('a manifest written before the ordered levels is still read, in the order its file has', () => {
  // What toJSON used to write: one object per level, integer-like keys first and ascending.
  const old: TaxonomyJson = { depth: 2, parents: [{ '5': '', '30': '', '120': '', neg: '' }, { b: '30', a: '5', x: 'neg', '7': '120', '2': '120' }] };
  const read = Taxonomy.fromJSON(JSON.parse(JSON.stringify(old)) as TaxonomyJson);
  assert.deepEqual(read.childrenOf(1), ['5', '30', '120', 'neg']);
  assert.deepEqual(read.childrenOf(2, '120'), ['2', '7']);
  assert.equal(read.parentOf(2, 'x'), 'neg');
  assert.ok(!read.equals(Taxonomy.fromPaths(paths)), 'another order is another taxonomy');
});
