// A task file's levels as the task panel and the layer scan read and write them: a level written
// as a bare layer (`4`, `"last"`) reads as its layer and is rewritten in place, comments kept.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parse } from 'jsonc-parser';
import { levelLayers, withLevelLayers, type LevelLayer } from '../../../client/src/taskLevels';

test('levels read as their layers, written as objects or bare', () => {
  assert.deepEqual(levelLayers({ levels: [{ layer: 4 }, { layer: 'last' }] }), [4, 'last']);
  assert.deepEqual(levelLayers({ levels: [4, 'last'] }), [4, 'last']);
  assert.deepEqual(levelLayers({ levels: [{ layer: 2 }, 6] }), [2, 6]);
  assert.deepEqual(levelLayers({ levels: [{}, 'x'] }), [NaN, NaN]);
  assert.deepEqual(levelLayers({}), []);
});

test('setting a bare level rewrites the bare layer, keeping the rest of the file and its comments', () => {
  const text = '{\n  // where each level reads\n  "levels": [4, "last"], /* kept */\n  "name": "t"\n}\n';
  const edited = withLevelLayers(text, new Map([[1, 3], [2, 6]]));
  assert.deepEqual((parse(edited) as { levels: unknown[] }).levels, [3, 6]);
  assert.match(edited, /\/\/ where each level reads/);
  assert.match(edited, /\/\* kept \*\//);
  assert.match(edited, /"name": "t"/);
});

test('setting an object level rewrites its layer key; mixed levels each keep their form', () => {
  const text = '{ "levels": [{ "layer": 2, "note": "coarse" }, 5] }';
  const edited = withLevelLayers(text, new Map<number, LevelLayer>([[1, 'last'], [2, 7]]));
  assert.deepEqual((parse(edited) as { levels: unknown[] }).levels, [{ layer: 'last', note: 'coarse' }, 7]);
});
