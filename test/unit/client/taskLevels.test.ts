// A task file's levels as the task panel and the layer scan read and write them: a level written
// as a bare layer (`4`, `"last"`) reads as its layer and is rewritten in place, comments kept.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parse } from 'jsonc-parser';
import { layerProblem, levelLayers, withLevelLayers, type LevelLayer } from '../../../client/src/taskLevels';

test('levels read as their layers, written as objects or bare', () => {
  assert.deepEqual(levelLayers({ levels: [{ layer: 4 }, { layer: 'last' }] }), [4, 'last']);
  assert.deepEqual(levelLayers({ levels: [4, 'last'] }), [4, 'last']);
  assert.deepEqual(levelLayers({ levels: [{ layer: 2 }, 6] }), [2, 6]);
  assert.deepEqual(levelLayers({}), []);
});

test('a level that names no layer reads as null ("no layer set"), never NaN', () => {
  assert.deepEqual(levelLayers({ levels: [{}, 'x', { layer: null }, { layer: '4' }, { layer: 'last' }] }), [null, null, null, null, 'last']);
  // What the engine refuses as a number is still shown as written: the diagnostics say why.
  assert.deepEqual(levelLayers({ levels: [{ layer: 0 }, 2.5] }), [0, 2.5]);
  // The state goes to the page as JSON, where null stays null (NaN would arrive as null too, unexplained).
  assert.equal(JSON.stringify(levelLayers({ levels: [{}] })), '[null]');
});

test('only a whole layer ≥ 1 or "last", for a whole level ≥ 1, may be written; the problem names the field', () => {
  assert.equal(layerProblem(1, 4), '');
  assert.equal(layerProblem(2, 'last'), '');
  assert.equal(layerProblem(1, NaN), 'levels[0].layer must be a whole number ≥ 1 or "last", got NaN');
  assert.equal(layerProblem(2, null), 'levels[1].layer must be a whole number ≥ 1 or "last", got null');
  assert.equal(layerProblem(1, 2.5), 'levels[0].layer must be a whole number ≥ 1 or "last", got 2.5');
  assert.equal(layerProblem(1, undefined), 'levels[0].layer must be a whole number ≥ 1 or "last", got none');
  assert.equal(layerProblem(0, 3), 'the level must be a whole number ≥ 1 (1 is the first), got 0');
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

test('a file that gives "levels" twice is written where the engine reads: the last copy, the first left as it was', () => {
  const text = '{\n  "levels": [{ "layer": 1 }, { "layer": 2 }], // old\n  "levels": [{ "layer": 3 }, 7]\n}\n';
  const edited = withLevelLayers(text, new Map<number, LevelLayer>([[1, 5], [2, 'last']]));
  assert.equal(edited, '{\n  "levels": [{ "layer": 1 }, { "layer": 2 }], // old\n  "levels": [{ "layer": 5 }, "last"]\n}\n');
  // A level object that gives "layer" twice: its last one is set.
  const inner = withLevelLayers('{ "levels": [{ "layer": 1, "layer": 2 }] }', new Map([[1, 6]]));
  assert.equal(inner, '{ "levels": [{ "layer": 1, "layer": 6 }] }');
  // A level object with no layer in the read copy gets one there, not in the ignored copy.
  const added = withLevelLayers('{ "levels": [{ "layer": 1 }], "levels": [{}] }', new Map([[1, 4]]));
  assert.deepEqual(parse(added), { levels: [{ layer: 4 }] });
  assert.match(added, /^\{ "levels": \[\{ "layer": 1 \}\], /);
});

test('a file that starts with a byte order mark keeps it, its comments and its trailing comma', () => {
  const text = '\uFEFF{\n  // levels\n  "levels": [{ "layer": 2 }, { "layer": "last" },],\n}\n';
  const edited = withLevelLayers(text, new Map([[1, 3]]));
  assert.equal(edited, '\uFEFF{\n  // levels\n  "levels": [{ "layer": 3 }, { "layer": "last" },],\n}\n');
});
