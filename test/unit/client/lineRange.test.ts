// Classify Each Line: a selection that ends at column 0 of a later line (a drag over the gutter,
// a click on a line number, Shift+Down) does not include that line.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { selectedLines } from '../../../client/src/lineRange';

const sel = (sl: number, sc: number, el: number, ec: number) => ({ start: { line: sl, character: sc }, end: { line: el, character: ec } });

test('a selection ending at the start of a later line stops at the line before', () => {
  assert.deepEqual(selectedLines(sel(2, 0, 5, 0)), [2, 4]);
  assert.deepEqual(selectedLines(sel(2, 0, 3, 0)), [2, 2]);
});

test('a selection ending inside a line includes it', () => {
  assert.deepEqual(selectedLines(sel(2, 0, 5, 1)), [2, 5]);
  assert.deepEqual(selectedLines(sel(2, 3, 2, 7)), [2, 2]);
});
