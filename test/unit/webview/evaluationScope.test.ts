// The task card's evaluation line says what the evaluation left out or could not get right.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { leftOut, scopeText } from '../../../webview/src/evaluationScope';

const record = { examples: 7561, file: '/data/wordnet.test.jsonl', tooLong: 12, skippedLines: 3, unknownLabels: 2 };

test('the non-zero counts of what an evaluation left out, each explained on hover', () => {
  assert.equal(scopeText(record), '7,561 examples of wordnet.test.jsonl');
  const left = leftOut(record)!;
  assert.equal(left.text, '12 too long, 3 lines skipped, 2 with unseen labels');
  assert.deepEqual(left.title.split('\n').map((l) => l.split(':')[0]), ['too long', 'lines skipped', 'with unseen labels']);
  assert.match(left.title, /never saw in training; evaluated, and counted wrong/);
  assert.equal(leftOut({ ...record, tooLong: 0, skippedLines: 1, unknownLabels: 0 })!.text, '1 line skipped');
  assert.equal(leftOut({ ...record, tooLong: 0, skippedLines: 0, unknownLabels: 0 }), undefined);
  // Records from before 2026-12-07 have tooLong only.
  assert.equal(leftOut({ examples: 50, file: 'dev.jsonl', tooLong: 1 })!.text, '1 too long');
  assert.equal(scopeText({ ...record, examples: 200, sampledFrom: 7561 }), 'a sample of 200 of the 7,561 examples of wordnet.test.jsonl');
});
