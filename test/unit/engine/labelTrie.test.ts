// The label trie that choice scoring and head training share: which tokens are choices, which
// are forced, and the closing token as the only thing that tells a label from its extension.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { ClassificationLayout } from '../../../engine/src/hdlm/classificationLayout';
import { LabelTrie } from '../../../engine/src/hdlm/labelTrie';
import { sequenceFormat } from '../../../engine/src/hdlm/sequenceFormat';
import { Taxonomy } from '../../../engine/src/hdlm/taxonomy';
import { Tokenizer } from '../../../engine/src/tokenizer';
import { tinyTokenizerJson } from '../../support/tinyCheckpoint';

const root = resolve(__dirname, '..', '..', '..', '..');

test('choices along a label: siblings\' next tokens where they part, one token where it is forced', () => {
  // 9 closes a turn; "c" is the start of "d".
  const trie = LabelTrie.build([
    { label: 'a', ids: [1, 2, 9] },
    { label: 'b', ids: [1, 3, 9] },
    { label: 'c', ids: [4, 9] },
    { label: 'd', ids: [4, 5, 6, 9] },
  ]);
  assert.deepEqual(trie.choicesAlong([1, 2, 9]), [[1, 4], [2, 3], [9]]);
  assert.deepEqual(trie.choicesAlong([4, 9]), [[1, 4], [9, 5]]);
  assert.deepEqual(trie.choicesAlong([4, 5, 6, 9]), [[1, 4], [9, 5], [6], [9]]);
  assert.deepEqual(trie.choiceTokens().sort((x, y) => x - y), [1, 2, 3, 4, 5, 9]);
  assert.throws(() => trie.choicesAlong([1, 7]), /token 7 leaves the label trie/);
  assert.throws(() => LabelTrie.build([{ label: 'empty', ids: [] }]), /label "empty" has no tokens/);
});

test('teacher forcing marks each level\'s choice tokens among the gold parent\'s children, the gold token among them', async () => {
  const tokenizer = await Tokenizer.load(resolve(root, 'models', 'hdlm-tiny'));
  const format = sequenceFormat(tokenizer);
  const taxonomy = Taxonomy.fromPaths(
    [
      ['animal', 'bird'],
      ['animal', 'bird of prey'],
      ['animal', 'mammal'],
      ['plant', 'tree'],
    ].map((labels, i) => ({ labels, source: `inline:${i + 1}` })),
  );
  const layout = new ClassificationLayout(format, { taxonomy, system: 'Classify.', listCandidates: false });
  const forced = layout.teacherForced('a hawk', ['animal', 'bird']);
  forced.choiceSpans.forEach((span, d) => {
    assert.equal(span.length, forced.choices[d]!.length);
    span.forEach((index, k) => {
      const choices = forced.choices[d]![k]!;
      assert.ok(choices.length > 1, 'a forced token is not a choice');
      assert.ok(choices.includes(forced.ids[index]!), 'the gold token is one of the choices');
    });
  });
  // Level 1: "animal" and "plant" part at some token. Level 2 under "plant" would be forced
  // throughout (one child); under "animal", "bird" ends where "bird of prey" goes on, so the
  // closing token right after "bird" is a choice.
  assert.ok(forced.choiceSpans[0]!.length >= 1);
  const birdEnd = forced.labelSpans[1]!.at(-1)! + 1;
  assert.equal(forced.ids[birdEnd], format.close()[0]);
  assert.ok(forced.choiceSpans[1]!.includes(birdEnd), 'the closing token after "bird" is a choice');
  assert.deepEqual(layout.teacherForced('an oak', ['plant', 'tree']).choiceSpans[1], []);
  // What heads trained on choices rank: every token that is ever a choice, the closing one included.
  assert.ok(layout.choiceTokens([2]).includes(format.close()[0]!));
});

test('with plain-text roles a label ends on the next turn\'s first token, so "bird" and "bird of prey" part there, in training and scoring', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hdlm-plain-labels-'));
  try {
    writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(tinyTokenizerJson()));
    const format = sequenceFormat(await Tokenizer.load(dir));
    assert.equal(format.special, false, 'a tokenizer without HdLM\'s role tokens');
    const taxonomy = Taxonomy.fromPaths(
      [
        ['bird', 'hawk'],
        ['bird', 'hawk moth'],
        ['bird of prey', 'owl'],
        ['fish', 'cod'],
      ].map((labels, i) => ({ labels, source: `inline:${i + 1}` })),
    );
    for (const listCandidates of [false, true]) {
      const layout = new ClassificationLayout(format, { taxonomy, system: 'Classify.', listCandidates });
      const forced = layout.teacherForced('a raptor', ['bird', 'hawk']);
      for (const level of [1, 2]) {
        const end = forced.labelSpans[level - 1]!.at(-1)! + 1;
        // What ends the label is the token the sequence has there (the next turn's opening, or the
        // end pushed after the last level), and it is a choice against the longer sibling's next token.
        assert.equal(layout.labelEnd(level).length, 1);
        assert.equal(forced.ids[end], layout.labelEnd(level)[0], `level ${level}`);
        const k = forced.choiceSpans[level - 1]!.indexOf(end);
        assert.ok(k >= 0, `the end of level ${level}'s label is a choice`);
        assert.equal(forced.choices[level - 1]![k]!.length, 2);
      }
      assert.equal(layout.continuation(1, 'bird')[0], layout.labelEnd(1)[0], 'the continuation starts with the label\'s end');
      // Scoring reads the same trie: the two labels are different paths through it, not one the prefix of the other.
      const trie = layout.choiceTrie(1, '');
      const ids = (label: string): readonly number[] => trie.candidates.find((c) => c.label === label)!.ids;
      assert.deepEqual(ids('bird'), [...layout.candidateIds('bird'), ...layout.labelEnd(1)]);
      assert.notDeepEqual(ids('bird of prey').slice(0, ids('bird').length), ids('bird'));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
