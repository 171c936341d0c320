// A task card's layer picker offers the task's own model's layers and always the level's current
// layer, so that a level is never shown as "layer 1" because its layer was not among the options.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { choiceLabel, layerChoices, NO_LAYER } from '../../../webview/src/layerChoices';

test("the picker offers the task's model's layers and last", () => {
  assert.deepEqual(layerChoices(16, 24), [...Array.from({ length: 24 }, (_, i) => i + 1), 'last']);
  assert.deepEqual(layerChoices('last', 4), [1, 2, 3, 4, 'last']);
});

test('a current layer past the known count is still an option, in order', () => {
  assert.deepEqual(layerChoices(16, 8), [1, 2, 3, 4, 5, 6, 7, 8, 16, 'last']);
  assert.deepEqual(layerChoices(3, undefined), [1, 2, 3, 'last']);
});

test('a level whose file names no layer is offered the layers, and reads "no layer set", not NaN', () => {
  assert.deepEqual(layerChoices(null, 4), [1, 2, 3, 4, 'last']);
  assert.deepEqual(layerChoices(null, undefined), [1, 'last']);
  assert.equal(choiceLabel(null), NO_LAYER);
  assert.equal(NO_LAYER, 'no layer set');
  assert.deepEqual([3, 'last'].map((c) => choiceLabel(c as 3 | 'last')), ['layer 3', 'last']);
});
