// Streamed text is the final text, piece by piece: a stop string (or its start) is never streamed,
// a decoder that cleans up spaces rewrites nothing already streamed, and what was held back comes
// with the row's last token, whatever ends the row. The text is decoded from a window of the
// newest tokens, yet at every length it is the decode of all the row's tokens, with byte-level and
// SentencePiece-style tokenizers, characters split across tokens, and skipped special tokens. The
// model is a scripted stand-in, so each case chooses its tokens.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { GenerationConfig } from '../../../engine/src/generate/config';
import { generate, type GeneratedRow } from '../../../engine/src/generate/generator';
import { specialTokenStops } from '../../../engine/src/generate/stopping';
import { heldBack } from '../../../engine/src/generate/streamer';
import { thoughtThenAnswer } from '../../../engine/src/hdlm/thoughtThenAnswer';
import { Tokenizer } from '../../../engine/src/tokenizer';
import { scriptedModel, shippedTokenizerVariant } from '../../support/scriptedModel';
import { seededRandom } from '../../support/memoryCheckpoint';
import { sentencePieceTokenizerJson } from '../../support/tinyCheckpoint';

// Token t decodes to WORDS[t]; the decode is the concatenation, as a plain byte-level decoder's.
const WORDS = ['<s>', ' the', ' cat', ' ma', 'le', ' is', ' here', '\n', ' x', ' a', ' b'];
const toyDecode = (ids: number[]): string => ids.map((t) => WORDS[t]).join('');

async function run(script: number[], config: Partial<GenerationConfig>, options: { decode?: (ids: number[]) => string; maxPositions?: number } = {}): Promise<{ row: GeneratedRow; pieces: string[] }> {
  const { model } = scriptedModel(script, { maxPositions: options.maxPositions });
  const pieces: string[] = [];
  const result = await generate(model, { prompts: [[0]], config, decode: options.decode ?? toyDecode, onToken: (e) => pieces.push(e.text) });
  return { row: result.rows[0]!, pieces };
}

test('a stop string is never streamed, neither the one completed across tokens nor one inside a token', async () => {
  // " ma" + "le": the stop string "male" starts inside one token and ends in the next.
  const across = await run([1, 2, 3, 4, 5, 6], { maxNewTokens: 6, stopStrings: ['male'] });
  assert.equal(across.row.stop, 'stopString');
  assert.equal(across.row.text, ' the cat ');
  assert.equal(across.pieces.join(''), across.row.text);
  // The whole stop string and what follows it in one token (" here" for "her").
  const inside = await run([1, 2, 5, 6, 8], { maxNewTokens: 5, stopStrings: ['her'] });
  assert.equal(inside.row.text, ' the cat is ');
  assert.equal(inside.pieces.join(''), inside.row.text);
});

test('a start of a stop string that never completes is streamed with the last token', async () => {
  // " ma" could start "male"; the budget ends the row there, so it is flushed then.
  const budget = await run([1, 2, 3], { maxNewTokens: 3, stopStrings: ['male'] });
  assert.equal(budget.row.stop, 'maxTokens');
  assert.deepEqual(budget.pieces, [' the', ' cat', ' ma']);
  const full = await run([1, 2, 3, 5], { maxNewTokens: 10, stopStrings: ['male'] }, { maxPositions: 3 });
  assert.equal(full.row.stop, 'contextFull');
  assert.equal(full.pieces.join(''), full.row.text);
  assert.equal(full.row.text, ' the cat ma');
  // Streaming agrees with the final text at every stop (token, string, budget) for every prefix.
  for (let n = 1; n <= 6; n++) {
    for (const stop of [['male'], ['cat m'], ['\n'], ['e']]) {
      const r = await run([1, 2, 3, 4, 7, 6], { maxNewTokens: n, stopStrings: stop });
      assert.equal(r.pieces.join(''), r.row.text, `${n} tokens, stop ${JSON.stringify(stop)}`);
    }
  }
});

test('a decoder that cleans up spaces: the pieces add up to the cleaned final text', async () => {
  const tokenizer = await shippedTokenizerVariant({ config: { clean_up_tokenization_spaces: true } });
  const decode = (ids: number[]): string => tokenizer.decode(ids);
  for (const text of ['Hello , world . Yes', "I do n't know , he 's here !", 'a , b , c .']) {
    const script = tokenizer.encode(text, { addSpecialTokens: false });
    const { row, pieces } = await run(script, { maxNewTokens: script.length }, { decode });
    assert.equal(row.text, tokenizer.decode(script), text);
    assert.equal(pieces.join(''), row.text, text);
  }
});

test('a cancelled row keeps the text streamed', async () => {
  const { model } = scriptedModel([1, 2, 3, 4]);
  const controller = new AbortController();
  const pieces: string[] = [];
  const result = await generate(model, {
    prompts: [[0]],
    config: { maxNewTokens: 10, stopStrings: ['male'] },
    decode: toyDecode,
    signal: controller.signal,
    onToken: (e) => {
      pieces.push(e.text);
      if (pieces.length === 3) controller.abort(); // after " ma", whose "ma" may start "male"
    },
  });
  assert.equal(result.rows[0]!.stop, 'cancelled');
  assert.equal(result.rows[0]!.text, ' the cat ');
  assert.equal(pieces.join(''), ' the cat ');
});

test('what is held back: a start of a stop string or of a clean-up ending, nothing else', () => {
  assert.equal(heldBack('the ma', ['male']), 2);
  assert.equal(heldBack('the cat', ['male']), 0);
  assert.equal(heldBack('do n', [" n't"]), 2);
  assert.equal(heldBack('x ', [' .']), 1);
  assert.equal(heldBack('', ['male']), 0);
});

test('streaming uses the shipped tokenizer\'s decode unchanged where nothing is held back', async () => {
  const tokenizer = await Tokenizer.load(`${__dirname}/../../../../models/hdlm-tiny`);
  const script = tokenizer.encode('The cat sat on the mat', { addSpecialTokens: false });
  const { row, pieces } = await run(script, { maxNewTokens: script.length }, { decode: (ids) => tokenizer.decode(ids) });
  assert.equal(row.text, 'The cat sat on the mat');
  assert.deepEqual(pieces, script.map((t) => tokenizer.decode([t])));
});

test('a stop string that is a special token\'s text stops at that token', async () => {
  const tokenizer = await Tokenizer.load(`${__dirname}/../../../../models/hdlm-tiny`);
  const end = tokenizer.specialTokenId('<|end|>')!;
  const config = specialTokenStops({ maxNewTokens: 12, stopStrings: ['<|end|>', 'purr'], stopTokenIds: [] }, (s) => tokenizer.specialTokenId(s));
  assert.deepEqual(config, { maxNewTokens: 12, stopStrings: ['purr'], stopTokenIds: [end] });
  // " chordate" <|end|> <|assistant|> …: decoding skips <|end|>, the row ends on it all the same.
  const script = [...tokenizer.encode(' chordate', { addSpecialTokens: false }), end, tokenizer.specialTokenId('<|assistant|>')!, ...tokenizer.encode(' mammal', { addSpecialTokens: false })];
  const { row, pieces } = await run(script, config, { decode: (ids) => tokenizer.decode(ids, { skipSpecialTokens: true }) });
  assert.equal(row.stop, 'stopToken');
  assert.equal(row.tokens.at(-1), end);
  assert.equal(row.text, ' chordate');
  assert.equal(pieces.join(''), ' chordate');
});

const shipped = (): Promise<Tokenizer> => Tokenizer.load(`${__dirname}/../../../../models/hdlm-tiny`);

/** The SentencePiece-style test tokenizer (tinyCheckpoint), as Llama 2's and Mistral's: no clean-up of spaces. */
async function sentencePiece(decoder: 'strip' | 'metaspace'): Promise<Tokenizer> {
  const dir = mkdtempSync(join(tmpdir(), 'hdlm-sentencepiece-'));
  try {
    writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(sentencePieceTokenizerJson(decoder)));
    writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ clean_up_tokenization_spaces: false }));
    return await Tokenizer.load(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A decode to its last complete character: the final text of a row ending on these tokens. */
const whole = (decode: (ids: number[]) => string, ids: number[]): string => decode(ids).replace(/\uFFFD+$/, '');

/**
 * Streams `ids` as rows ending after each of its tokens in turn: each row's text is the decode of
 * all its tokens, and its pieces add up to it.
 */
async function streamsEveryLength(ids: number[], decode: (ids: number[]) => string, label: string): Promise<void> {
  for (let n = 1; n <= ids.length; n++) {
    const { row, pieces } = await run(ids.slice(0, n), { maxNewTokens: n }, { decode });
    assert.equal(row.text, whole(decode, ids.slice(0, n)), `${label}: ${n} tokens`);
    assert.equal(pieces.join(''), row.text, `${label}: ${n} tokens`);
  }
}

/** A stop string anywhere in the text, even one whose bytes span tokens, ends the row before it and is never streamed. */
async function stopsBefore(ids: number[], decode: (ids: number[]) => string, stop: string, label: string): Promise<void> {
  const text = decode(ids);
  assert.ok(text.includes(stop), `${label}: ${JSON.stringify(stop)} is in the text`);
  const { row, pieces } = await run(ids, { maxNewTokens: ids.length, stopStrings: [stop] }, { decode });
  assert.equal(row.stop, 'stopString', label);
  assert.equal(row.text, text.slice(0, text.indexOf(stop)), label);
  assert.equal(pieces.join(''), row.text, label);
}

// Two characters of four bytes (emoji), CJK of three, a joiner sequence, Latin accents, spaces runs.
const MIXED = 'Hello world 🐞 猫の手 — the cat sat  on the mat, 👩‍👧 naïve  café.\n\n  Done 😀!';

test('byte-level BPE: at every length the streamed text is the decode of all the tokens, characters split across tokens included', async () => {
  const tokenizer = await shipped();
  const decode = (ids: number[]): string => tokenizer.decode(ids, { skipSpecialTokens: true });
  const ids = tokenizer.encode(MIXED, { addSpecialTokens: false });
  assert.ok(ids.some((t) => tokenizer.decode([t]).includes('\uFFFD')), 'some token holds part of a character only');
  // A special token within the row: skipped, it adds no text.
  const withSpecial = [...ids.slice(0, 5), tokenizer.specialTokenId('<|bos|>')!, ...ids.slice(5)];
  await streamsEveryLength(withSpecial, decode, 'skipping special tokens');
  await streamsEveryLength(ids, (t) => tokenizer.decode(t), 'keeping them');
  for (const stop of ['猫', '🐞', '👩‍👧', 'mat,', '\n\n']) await stopsBefore(ids, decode, stop, `stop ${stop}`);
});

test('SentencePiece-style tokenizers: the first token\'s dropped space and byte tokens stream as the full decode', async () => {
  for (const kind of ['strip', 'metaspace'] as const) {
    const tokenizer = await sentencePiece(kind);
    const decode = (ids: number[]): string => tokenizer.decode(ids, { skipSpecialTokens: true });
    const [the, cat] = [tokenizer.tokenId('▁the')!, tokenizer.tokenId('▁cat')!];
    // What the window must undo: a text's first token loses its space, the same token later keeps it.
    assert.equal(decode([cat]), 'cat', kind);
    assert.equal(decode([the, cat]), 'the cat', kind);
    const ids = tokenizer.encode(MIXED, { addSpecialTokens: false });
    assert.ok(ids.some((t) => /^<0x[0-9A-F]{2}>$/.test(tokenizer.token(t)!) && decode([t]).includes('\uFFFD')), `${kind}: characters split into bytes`);
    assert.equal(decode(ids), MIXED, kind);
    // A lone "▁" (two spaces) and special tokens (skipped) where a window could start.
    const eos = tokenizer.specialTokenId('</s>')!;
    const spaced = [the, eos, tokenizer.tokenId('▁')!, cat, eos, eos, cat, ...ids];
    await streamsEveryLength(spaced, decode, kind);
    for (const stop of ['猫', '🐞', ' 猫の', 'mat,']) await stopsBefore(ids, decode, stop, `${kind} stop ${stop}`);
  }
});

test('random rows (special tokens, runs of spaces, stray bytes, stop strings) stream as the full decode with every decoder', async () => {
  const shippedTokenizer = await shipped();
  const trimmed = (t: Tokenizer) => (ids: number[]) => t.decode(ids, { skipSpecialTokens: true }).replace(/^[^\S\n]+/, ''); // a turn's text
  const cases: [string, Tokenizer, (t: Tokenizer) => (ids: number[]) => string][] = [
    ['byte-level', shippedTokenizer, (t) => (ids) => t.decode(ids, { skipSpecialTokens: true })],
    ['byte-level, special tokens kept', shippedTokenizer, (t) => (ids) => t.decode(ids)],
    ['byte-level, start trimmed', shippedTokenizer, trimmed],
    ['strip', await sentencePiece('strip'), (t) => (ids) => t.decode(ids, { skipSpecialTokens: true })],
    ['metaspace', await sentencePiece('metaspace'), (t) => (ids) => t.decode(ids, { skipSpecialTokens: true })],
    ['metaspace, start trimmed', await sentencePiece('metaspace'), trimmed],
  ];
  const random = seededRandom(7);
  const below = (n: number): number => Math.floor(random() * n);
  for (const [label, tokenizer, decoding] of cases) {
    const decode = decoding(tokenizer);
    const enc = (text: string): number[] => tokenizer.encode(text, { addSpecialTokens: false });
    const pool = [...new Set([...enc(MIXED), ...enc(' '), ...enc('  '), ...enc('\t'), ...enc('\n'), 0, 1, 2])];
    for (let trial = 0; trial < 300; trial++) {
      // Mostly the text's own tokens, spaces and special tokens; one in five any token at all.
      const ids = Array.from({ length: 1 + below(14) }, () => (below(5) === 0 ? below(tokenizer.vocabSize) : pool[below(pool.length)]!));
      const full = whole(decode, ids);
      const stop = full.slice(below(8)).slice(0, 1 + below(3));
      const { row, pieces } = await run(ids, { maxNewTokens: ids.length, stopStrings: stop ? [stop] : [] }, { decode });
      const at = stop ? full.indexOf(stop) : -1;
      const what = `${label}: ${JSON.stringify(ids)}, stop ${JSON.stringify(stop)}`;
      assert.equal(row.text, at >= 0 ? full.slice(0, at) : full, what);
      assert.equal(row.stop, at >= 0 ? 'stopString' : 'maxTokens', what);
      assert.equal(pieces.join(''), row.text, what);
    }
  }
});

test('a decoder that cleans up spaces streams its cleaned text at every length', async () => {
  const tokenizer = await shippedTokenizerVariant({ config: { clean_up_tokenization_spaces: true } });
  const decode = (ids: number[]): string => tokenizer.decode(ids);
  const ids = tokenizer.encode("I do n't know , he 's here ! You 've seen ' it ' , they 're sure . Ok ?", { addSpecialTokens: false });
  assert.notEqual(decode(ids), tokenizer.decode(ids, {}).replace(/,/g, ' ,'), 'the decode cleans up');
  await streamsEveryLength(ids, decode, 'clean-up');
});

test('a turn\'s text, trimmed at its start, streams exactly past spaces-only tokens and skipped special tokens', async () => {
  const tokenizer = await shipped();
  const enc = (text: string): number[] => tokenizer.encode(text, { addSpecialTokens: false });
  const [bos, end] = [tokenizer.specialTokenId('<|bos|>')!, tokenizer.specialTokenId('<|end|>')!];
  // A skipped special token between spaces: the trim of the turn's start must not reach past it.
  const thought = [...enc('  '), bos, ...enc(' a cat'), bos, ...enc('   '), bos, ...enc('  sat 猫'), end];
  const { model } = scriptedModel([...thought, ...enc('   🐞 yes'), end]);
  const streamed = { thought: '', answer: '' };
  const result = await thoughtThenAnswer(model, tokenizer, { input: 'a small cat', system: 'Think.', thoughtLayer: 4, onToken: (part, e) => (streamed[part] += e.text) });
  assert.equal(result.thought.text, 'a cat     sat 猫');
  assert.equal(result.answer.text, '🐞 yes');
  assert.deepEqual(streamed, { thought: result.thought.text, answer: result.answer.text });
});

test('each token decodes a window of the newest tokens: a long row costs a bounded decode per token', async () => {
  const tokenizer = await shipped();
  const text = tokenizer.encode(MIXED.repeat(40), { addSpecialTokens: false });
  // And a run of special tokens, skipped (a model told to ignore its end token may say it again
  // and again), after a whole character: within one they would stay in the window.
  const at = text.findIndex((_, k) => k >= 100 && !tokenizer.decode(text.slice(0, k)).endsWith('\uFFFD'));
  const ids = [...text.slice(0, at), ...Array<number>(500).fill(tokenizer.specialTokenId('<|eos|>')!), ...text.slice(at)];
  // Tokens decoded at each call but the whole row's, which ends it.
  const windows: number[] = [];
  const decode = (t: number[]): string => {
    if (t.length < ids.length) windows.push(t.length);
    return tokenizer.decode(t, { skipSpecialTokens: true });
  };
  const { row, pieces } = await run(ids, { maxNewTokens: ids.length, stopStrings: ['\n<|user|>'] }, { decode, maxPositions: ids.length + 2 });
  assert.equal(row.text, MIXED.repeat(40));
  assert.equal(pieces.join(''), row.text);
  // Decoding the whole row at each token would decode ids.length² / 2 tokens (about 4 million
  // here). A window spans a few tokens: the context, and a character's bytes or spaces held back
  // (9 at most in this text, for the 11 bytes of 👩‍👧); a token is decoded a few times.
  const total = windows.reduce((a, b) => a + b, 0);
  assert.ok(Math.max(...windows) <= 12, `a window of ${Math.max(...windows)} tokens`);
  assert.ok(total <= 8 * ids.length, `${total} tokens decoded for ${ids.length}`);
});

test('a decoder whose context decodes otherwise once more tokens follow: the row is decoded whole that once', async () => {
  // " cat" on its own reads "CAT": the window that starts with it no longer starts with its decode.
  const odd = (ids: number[]): string => (ids.length === 1 && ids[0] === 2 ? 'CAT' : toyDecode(ids));
  const { row, pieces } = await run([1, 2, 5, 6, 1, 2], { maxNewTokens: 6 }, { decode: odd });
  assert.equal(row.text, ' the cat is here the cat');
  assert.equal(pieces.join(''), row.text);
});
