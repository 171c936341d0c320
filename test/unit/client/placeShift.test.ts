// Insert answer and Insert as comment write beside the text the command ran on, wherever edits
// made while the model worked have moved it: a range followed through content changes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { shiftSpan, type Change, type Span } from '../../../client/src/placeShift';

const span = (sl: number, sc: number, el: number, ec: number): Span => ({ start: { line: sl, character: sc }, end: { line: el, character: ec } });
const change = (sl: number, sc: number, el: number, ec: number, text: string): Change => ({ range: span(sl, sc, el, ec), text });

test('lines added or removed above move the text down or up, its columns kept', () => {
  const line3 = span(3, 0, 3, 20);
  assert.deepEqual(shiftSpan(line3, [change(0, 0, 0, 0, 'one\ntwo\n')]), span(5, 0, 5, 20));
  assert.deepEqual(shiftSpan(line3, [change(1, 0, 3, 0, '')]), span(1, 0, 1, 20));
  // A line typed at the end of the line above (Enter, then text): one line more above.
  assert.deepEqual(shiftSpan(line3, [change(2, 7, 2, 7, '\nnew line')]), span(4, 0, 4, 20));
  // Several changes of one event apply in turn, each in the text the earlier ones left.
  assert.deepEqual(shiftSpan(line3, [change(2, 0, 2, 0, 'x\n'), change(0, 0, 1, 0, '')]), span(3, 0, 3, 20));
});

test('an edit below, or later on the last line, leaves the text where it was', () => {
  assert.deepEqual(shiftSpan(span(3, 0, 3, 20), [change(4, 0, 4, 0, 'more\n')]), span(3, 0, 3, 20));
  assert.deepEqual(shiftSpan(span(3, 2, 3, 8), [change(3, 10, 3, 12, 'zz')]), span(3, 2, 3, 8));
});

test('an edit before the text on its own first line shifts its columns', () => {
  assert.deepEqual(shiftSpan(span(3, 4, 3, 10), [change(3, 0, 3, 2, 'abcde')]), span(3, 7, 3, 13));
  // A line break typed before it: the text starts a new line.
  assert.deepEqual(shiftSpan(span(3, 4, 3, 10), [change(3, 1, 3, 1, '\n')]), span(4, 3, 4, 9));
});

test('text inserted exactly at either end stays outside the span', () => {
  // At the start (a line pasted above, cursor at column 0): the span moves past it.
  assert.deepEqual(shiftSpan(span(3, 0, 3, 20), [change(3, 0, 3, 0, 'pasted\n')]), span(4, 0, 4, 20));
  // At the end (typing on after the text): the span does not grow.
  assert.deepEqual(shiftSpan(span(3, 0, 3, 20), [change(3, 20, 3, 20, ' more')]), span(3, 0, 3, 20));
});

test('text replaced or deleted under the span collapses it, so it no longer reads as it did', () => {
  // The whole line deleted (Delete Line): nothing left of it.
  assert.deepEqual(shiftSpan(span(3, 0, 3, 20), [change(3, 0, 4, 0, '')]), span(3, 0, 3, 0));
  // A selection over part of it replaced: its end falls back to the replacement's start.
  assert.deepEqual(shiftSpan(span(3, 0, 3, 20), [change(3, 5, 3, 25, 'x')]), span(3, 0, 3, 5));
  // Replaced from before its start to past its end: both ends at the replacement's start.
  assert.deepEqual(shiftSpan(span(3, 4, 3, 10), [change(2, 0, 5, 0, 'gone\n')]), span(2, 0, 2, 0));
});

test('line breaks of every kind count as one line each', () => {
  assert.deepEqual(shiftSpan(span(3, 0, 3, 5), [change(0, 0, 0, 0, 'a\r\nb\rc\n')]), span(6, 0, 6, 5));
});
