// A text far too long for the model's context is known to be so from its length, before it is
// tokenized: no token covers more characters than the vocabulary's longest entry. Training and
// evaluation skip such an example at once instead of encoding megabytes (a 20 MB line took 18 s
// and 1.1 GB) only to skip it. The shipped tokenizer, real dataset lines.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { test } from 'node:test';
import { readModelConfig } from '../../../engine/src/checkpoint/config';
import { ClassificationLayout } from '../../../engine/src/hdlm/classificationLayout';
import { fitToContext, fitToContextOnAnyPath } from '../../../engine/src/hdlm/features';
import { sequenceFormat } from '../../../engine/src/hdlm/sequenceFormat';
import { Taxonomy } from '../../../engine/src/hdlm/taxonomy';
import { Tokenizer } from '../../../engine/src/tokenizer';
import { WORDNET_FIXTURE as fixture } from '../../support/taskWorkspace';

const root = resolve(__dirname, '..', '..', '..', '..');

test('fewestTokens never exceeds the tokens a text encodes to', async () => {
  const tokenizer = await Tokenizer.load(resolve(root, 'models', 'hdlm-tiny'));
  assert.ok(tokenizer.longestTokenChars() > 1);
  const texts = readFileSync(fixture, 'utf8').trim().split('\n').slice(0, 300).map((l) => (JSON.parse(l) as { text: string }).text);
  for (const text of [...texts, 'ü€𝄞 mixed scripts 中文', '   ', 'a'.repeat(5000)]) {
    assert.ok(tokenizer.fewestTokens(text) <= tokenizer.encode(text, { addSpecialTokens: false }).length, text);
  }
});

test('an example far longer than the context is set aside without tokenizing it, with the fewest positions it needs', async () => {
  const tokenizer = await Tokenizer.load(resolve(root, 'models', 'hdlm-tiny'));
  const taxonomy = Taxonomy.fromPaths([{ labels: ['animal', 'dog'], source: '1' }, { labels: ['plant', 'oak'], source: '2' }]);
  const layout = new ClassificationLayout(sequenceFormat(tokenizer), { taxonomy, system: 'Classify.', listCandidates: true });
  const model = { config: readModelConfig(resolve(root, 'models', 'hdlm-tiny', 'config.json')) };
  const context = model.config.maxPositions;
  const huge = { id: '2', text: 'word '.repeat(2_000_000), labels: ['animal', 'dog'] }; // 10 MB
  const records = [{ id: '1', text: 'a small dog', labels: ['animal', 'dog'] }, huge];
  const started = performance.now();
  for (const split of [fitToContext(model, layout, records), fitToContextOnAnyPath(model, layout, records)]) {
    assert.deepEqual(split.fits.map((r) => r.id), ['1']);
    assert.equal(split.tooLong.length, 1);
    const [only] = split.tooLong;
    assert.equal(only!.record, huge);
    assert.equal(only!.atLeast, true);
    assert.ok(only!.tokens > context && only!.tokens <= huge.text.length, String(only!.tokens));
  }
  // Tokenizing the 10 MB text takes seconds; measuring it by its length, milliseconds.
  assert.ok(performance.now() - started < 2000, `${performance.now() - started} ms`);
});
