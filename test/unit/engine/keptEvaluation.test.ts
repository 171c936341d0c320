// A fresh clone has the shipped evaluation records but not their per-example predictions (git
// ignores them): Show Mistakes and the per-label report then say what is missing and the exact
// command that writes it, with no date that reads as if the record were new enough.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { readMistakes } from '../../../engine/src/hdlm/evaluationMistakes';
import { readLabelReport } from '../../../engine/src/hdlm/labelReport';
import { readTaskFile } from '../../../engine/src/hdlm/taskFile';

const root = resolve(__dirname, '..', '..', '..', '..');
const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

test('the shipped record without its predictions: both readers name the missing file and the eval command to run', () => {
  const clone = mkdtempSync(join(tmpdir(), 'hdlm-fresh-clone-'));
  try {
    const model = join(clone, 'models', 'hdlm-tiny');
    mkdirSync(join(model, 'tasks'), { recursive: true });
    mkdirSync(join(model, 'heads', 'wordnet'), { recursive: true });
    copyFileSync(join(root, 'models', 'hdlm-tiny', 'tasks', 'wordnet.hdlm.json'), join(model, 'tasks', 'wordnet.hdlm.json'));
    copyFileSync(join(root, 'models', 'hdlm-tiny', 'heads', 'wordnet', 'evaluation.json'), join(model, 'heads', 'wordnet', 'evaluation.json'));
    const task = readTaskFile(join(model, 'tasks', 'wordnet.hdlm.json'));
    const predictions = join(model, 'heads', 'wordnet', 'evaluation.predictions.jsonl');
    for (const read of [() => readMistakes(task), () => readLabelReport(task)]) {
      assert.throws(read, (err: Error) => {
        assert.match(err.message, new RegExp(`${escape(predictions)} is missing \\(they are not tracked in git`));
        // The task's own test file was evaluated: the command needs no --file.
        assert.match(err.message, new RegExp(`hdlm eval --task ${escape(task.path)} \\(in the editor: Evaluate Task\\)$`));
        assert.doesNotMatch(err.message, /since 2026/);
        return true;
      });
    }
    // A record of another file (`eval --file`): the command names it, quoted where a shell needs it.
    const other = join(clone, 'hard cases.jsonl');
    writeFileSync(join(model, 'heads', 'wordnet', 'evaluation.json'), JSON.stringify({ task: 'wordnet', file: other, examples: 3, tooLong: 0, variants: [], level1ComputeRatio: 1, finishedAt: '2026-12-08T10:00:00.000Z' }));
    assert.throws(() => readMistakes(task), new RegExp(`hdlm eval --task ${escape(task.path)} --file ${escape(JSON.stringify(other))} \\(in the editor`));
  } finally {
    rmSync(clone, { recursive: true, force: true });
  }
});
