// Thought-then-answer continues one decode state: the answer equals what a full-depth run over
// prompt + thought produces, the thought's positions are caught up once, and a cancel during the
// thought ends both parts. With plain-text roles the state is the trained sequence and nothing
// past a turn's newline is streamed; near the context limit the thought leaves room for the
// answer, or the input is refused before anything is decoded.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { generate } from '../../../engine/src/generate/generator';
import { sequenceFormat, systemPrefix, thoughtThenAnswerSequence, turn } from '../../../engine/src/hdlm/sequenceFormat';
import { thoughtPrompt, thoughtThenAnswer } from '../../../engine/src/hdlm/thoughtThenAnswer';
import { Engine, LoadedModel } from '../../../engine/src/index';
import { ContextOverflowError } from '../../../engine/src/model/contextOverflow';
import { scriptedModel, shippedTokenizerVariant } from '../../support/scriptedModel';
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
  // The model's compute counter when the thought's last token came and when the answer's first
  // did: between them runs exactly the answer's first step.
  const counted: number[] = [];
  const result = await thoughtThenAnswer(loaded.model, tokenizer, {
    input: 'a word for a young dog',
    system: 'Think, then answer.',
    thoughtLayer: 2,
    thought: { maxNewTokens: 6, ignoreEos: true },
    answer: { maxNewTokens: 5, ignoreEos: true },
    onToken: (part) => {
      if (part === 'answer' && parts.at(-1) === 'thought') counted.push(loaded.model.compute.layerPositions);
      parts.push(part);
      if (parts.length === 6) counted.push(loaded.model.compute.layerPositions);
    },
  });
  assert.equal(result.thought.tokens.length, 6);
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

  // The prompt and every thought token but the last (sampled from the step before, never run)
  // ran through the thought's 2 layers; the answer's first step takes them through layers 3–6
  // and runs only the rest (the last thought token, the turn change) from layer 1. So it costs
  // what a re-prefill of the whole sequence costs, less those positions' 2 layers: a re-prefill
  // (the answer started on a fresh state) would cost it all.
  const ranAtThoughtLayer = thoughtPrompt(tokenizer, 'Think, then answer.', 'a word for a young dog').length + result.thought.tokens.length - 1;
  const fresh = loaded.model.newState();
  let reprefill: number;
  try {
    loaded.model.append(fresh, [replayPrompt]);
    const before = loaded.model.compute.layerPositions;
    await loaded.model.runToNewest(fresh, 6);
    reprefill = loaded.model.compute.layerPositions - before;
  } finally {
    fresh.release();
  }
  assert.equal(counted.length, 2);
  assert.equal(counted[1]! - counted[0]!, reprefill - ranAtThoughtLayer * 2, `the answer's first step, against ${reprefill} layer·positions for a re-prefill`);
  assert.equal(result.caughtUp, ranAtThoughtLayer, 'caughtUp counts the positions taken from the thought layer on');
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

test('plain-text roles: the thought ends on its newline, the answer follows the trained sequence, nothing past a newline streams', async () => {
  // The shipped tokenizer without its role tokens: "\nThought:", "\nAnswer:" as text, as for Qwen, Llama, GPT-2.
  const tokenizer = await shippedTokenizerVariant({ keepAdded: (t) => ['<|pad|>', '<|bos|>', '<|eos|>'].includes(t) });
  const f = sequenceFormat(tokenizer);
  assert.equal(f.special, false);
  const enc = (text: string): number[] => tokenizer.encode(text, { addSpecialTokens: false });
  const [newline] = enc('\n');
  const { model, appended } = scriptedModel([...enc(' feline'), newline!, ...enc(' cat purrs.'), newline!, ...enc(' The end')]);
  const streamed = { thought: '', answer: '' };
  const result = await thoughtThenAnswer(model, tokenizer, { input: 'a small cat', system: 'Think.', thoughtLayer: 4, onToken: (part, e) => (streamed[part] += e.text) });
  assert.equal(result.thought.text, 'feline');
  assert.equal(result.answer.text, 'cat purrs.');
  assert.deepEqual(streamed, { thought: 'feline', answer: 'cat purrs.' });
  // The state: exactly the training sequence, then the answer's closing newline.
  const trained = [...systemPrefix(f, 'Think.'), ...thoughtThenAnswerSequence(f, 'a small cat', 'feline', 'cat purrs.').ids, newline!];
  assert.equal(tokenizer.decode(appended), tokenizer.decode(trained));
  assert.deepEqual(appended, trained);
});

test('plain-text roles: a thought that is only its newline ends there, and a token joining text to the newline opens the answer once', async () => {
  const tokenizer = await shippedTokenizerVariant({ keepAdded: (t) => ['<|pad|>', '<|bos|>', '<|eos|>'].includes(t) });
  const enc = (text: string): number[] => tokenizer.encode(text, { addSpecialTokens: false });
  const [newline] = enc('\n');
  const empty = scriptedModel([newline!, ...enc(' cat purrs.'), newline!]);
  const result = await thoughtThenAnswer(empty.model, tokenizer, { input: 'a small cat', system: 'Think.', thoughtLayer: 4 });
  assert.deepEqual([result.thought.text, result.thought.stop, result.thought.tokens.length], ['', 'stopString', 1]);
  assert.equal(result.answer.text, 'cat purrs.');
  // A token for text and a newline together (". \n" is one in this vocabulary, or the test names the one it lacks).
  const joined = [' feline.\n', '.\n', ':\n'].map(enc).find((ids) => ids.length > 0 && tokenizer.decode(ids.slice(-1)).length > 1 && tokenizer.decode(ids.slice(-1)).endsWith('\n'));
  assert.ok(joined, 'the shipped vocabulary has a token joining text to a newline');
  const merged = scriptedModel([...joined, ...enc(' cat purrs.'), newline!]);
  const after = await thoughtThenAnswer(merged.model, tokenizer, { input: 'a small cat', system: 'Think.', thoughtLayer: 4 });
  assert.equal(after.answer.text, 'cat purrs.');
  const text = tokenizer.decode(merged.appended);
  assert.doesNotMatch(text, /\n\nAnswer:/, `one newline before the answer's opening: ${JSON.stringify(text)}`);
});

test('near the context limit the thought leaves room for the bridge and an answer; an input with no room is refused first', async () => {
  const tokenizer = loaded.requireTokenizer();
  const prefix = thoughtPrompt(tokenizer, 'Think.', 'a small cat');
  const [thoughtToken] = tokenizer.encode(' feline', { addSpecialTokens: false });
  const [answerToken] = tokenizer.encode(' cat', { addSpecialTokens: false });
  // The thought would go on; the bridge (<|end|> <|assistant|>) needs 2 positions.
  for (const spare of [3, 4, 8]) {
    const script = [...Array<number>(spare).fill(thoughtToken!), answerToken!];
    const { model } = scriptedModel(script, { maxPositions: prefix.length + spare });
    let events = 0;
    const result = await thoughtThenAnswer(model, tokenizer, { input: 'a small cat', system: 'Think.', thoughtLayer: 4, thought: { maxNewTokens: 24 }, onToken: () => events++ });
    assert.equal(result.thought.tokens.length, spare - 2, `${spare} spare positions`);
    assert.equal(result.thought.stop, 'maxTokens');
    assert.ok(result.answer.tokens.length >= 1);
    assert.equal(result.answer.stop, 'contextFull');
    assert.equal(events, result.thought.tokens.length + result.answer.tokens.length);
  }
  for (const spare of [0, 2]) {
    const { model } = scriptedModel([thoughtToken!], { maxPositions: prefix.length + spare });
    let events = 0;
    const attempt = thoughtThenAnswer(model, tokenizer, { input: 'a small cat', system: 'Think.', thoughtLayer: 4, onToken: () => events++ });
    await assert.rejects(attempt, (err: Error) => err instanceof ContextOverflowError && err.message.includes(`needs ${prefix.length + 3} positions`));
    assert.equal(events, 0);
  }
});
