// Streamed text is the final text, piece by piece: a stop string (or its start) is never streamed,
// a decoder that cleans up spaces rewrites nothing already streamed, and what was held back comes
// with the row's last token, whatever ends the row. The model is a scripted stand-in, so each case
// chooses its tokens.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { GenerationConfig } from '../../../engine/src/generate/config';
import { generate, type GeneratedRow } from '../../../engine/src/generate/generator';
import { specialTokenStops } from '../../../engine/src/generate/stopping';
import { heldBack } from '../../../engine/src/generate/streamer';
import { Tokenizer } from '../../../engine/src/tokenizer';
import { scriptedModel, shippedTokenizerVariant } from '../../support/scriptedModel';

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
