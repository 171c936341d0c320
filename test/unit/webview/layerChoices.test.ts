// A task card's layer picker offers the task's own model's layers and always the level's current
// layer, so that a level is never shown as "layer 1" because its layer was not among the options.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { layerChoices } from '../../../webview/src/layerChoices';

test("the picker offers the task's model's layers and last", () => {
  assert.deepEqual(layerChoices(16, 24), [...Array.from({ length: 24 }, (_, i) => i + 1), 'last']);
  assert.deepEqual(layerChoices('last', 4), [1, 2, 3, 4, 'last']);
});

test('a current layer past the known count is still an option, in order', () => {
  assert.deepEqual(layerChoices(16, 8), [1, 2, 3, 4, 5, 6, 7, 8, 16, 'last']);
  assert.deepEqual(layerChoices(3, undefined), [1, 2, 3, 'last']);
});
