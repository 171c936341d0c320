// Thought-then-answer continues one decode state: the answer equals what a full-depth run over
// prompt + thought produces, the thought's positions are caught up once, and a cancel during the
// thought ends both parts.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { generate } from '../../../engine/src/generate/generator';
import { sequenceFormat, turn } from '../../../engine/src/hdlm/sequenceFormat';
import { thoughtThenAnswer } from '../../../engine/src/hdlm/thoughtThenAnswer';
import { Engine, LoadedModel } from '../../../engine/src/index';
import { writeTinyModel } from '../../support/tinyCheckpoint';

const root = resolve(__dirname, '..', '..', '..', '..');
let dir: string;
let loaded: LoadedModel;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hdlm-tta-'));
  writeTinyModel(dir, root, { layers: 6, intermediate: 64, std: 0.25, seed: 8, maxPositions: 512 });
  const engine = await Engine.create({ providers: ['cpu'], threads: 1 });
  loaded = await engine.loadModel(dir, { cuts: [2], cacheDir: join(dir, 'cache') });
});

after(async () => {
  await loaded.release();
  rmSync(dir, { recursive: true, force: true });
});

test('the answer continues the thought without re-prefill and equals a full-depth replay', async () => {
  const tokenizer = loaded.requireTokenizer();
  const parts: string[] = [];
  const result = await thoughtThenAnswer(loaded.model, tokenizer, {
    input: 'a word for a young dog',
    system: 'Think, then answer.',
    thoughtLayer: 2,
    thought: { maxNewTokens: 6, ignoreEos: true },
    answer: { maxNewTokens: 5, ignoreEos: true },
    onToken: (part) => parts.push(part),
  });
  assert.equal(result.thought.tokens.length, 6);
  assert.ok(result.caughtUp >= 6, `caught up ${result.caughtUp}`);
  assert.deepEqual(parts, [...Array(6).fill('thought'), ...Array(result.answer.tokens.length).fill('answer')]);

  const f = sequenceFormat(tokenizer);
  const replayPrompt = [
    ...f.start(),
    ...turn(f, 'system', 'Think, then answer.'),
    ...turn(f, 'user', 'a word for a young dog'),
    ...f.open('thought'),
    ...result.thought.tokens,
    ...f.close(),
    ...f.open('assistant'),
  ];
  const replay = await generate(loaded.model, { prompts: [replayPrompt], config: { maxNewTokens: 5, ignoreEos: true } });
  assert.deepEqual(result.answer.tokens, replay.rows[0]!.tokens);
});

test('a cancel during the thought ends both parts', async () => {
  const controller = new AbortController();
  let n = 0;
  const result = await thoughtThenAnswer(loaded.model, loaded.requireTokenizer(), {
    input: 'x',
    system: 'y',
    thoughtLayer: 2,
    thought: { maxNewTokens: 20, ignoreEos: true },
    onToken: () => {
      if (++n === 2) controller.abort();
    },
    signal: controller.signal,
  });
  assert.equal(result.thought.stop, 'cancelled');
  assert.equal(result.answer.stop, 'cancelled');
  assert.equal(result.answer.tokens.length, 0);
});
