// The corpus tools without Debian packages: the byte-level BPE trainer and the tokenizer files
// it writes, loaded by @huggingface/tokenizers (the engine's tokenizer), and the markup cleaners
// and corpus rules of the corpus builder, each on small inline samples.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { installChecked } from '../../../tools/corpus/lib/checkedInstall';
import { BpeResult, PieceCounter, trainBpe } from '../../../tools/corpus/lib/bpeTrainer';
import { BYTE_TO_CHAR, fromByteLevel, toByteLevel } from '../../../tools/corpus/lib/byteLevel';
import {
  Deduplicator,
  documentHashes,
  joinDocuments,
  nearDuplicateKey,
  selectUnderQuota,
  splitDocuments,
  waterFill,
} from '../../../tools/corpus/lib/corpus';
import { descriptionDocument, parseTranslations } from '../../../tools/corpus/lib/descriptions';
import { HfTokenizer, loadHfTokenizer } from '../../../tools/corpus/lib/hfTokenizer';
import { cleanGcideEntry, gcideBlocks } from '../../../tools/corpus/lib/gcide';
import { cleanPod, cleanPodInline } from '../../../tools/corpus/lib/pod';
import { preTokenize } from '../../../tools/corpus/lib/preTokenizer';
import { cleanRoff, roffEscapes } from '../../../tools/corpus/lib/roff';
import { cleanRst, cleanRstInline } from '../../../tools/corpus/lib/rst';
import { normalizeText, plainTextBlocks, renderBlocks } from '../../../tools/corpus/lib/text';
import {
  CHAT_TEMPLATE,
  renderChat,
  SPECIAL_TOKENS,
  specialTokensMap,
  tokenizerConfig,
  tokenizerJson,
} from '../../../tools/corpus/lib/tokenizerFiles';


/** Byte b's token id: the 16 special tokens come first, then the bytes in byte order. */
const byteId = (ch: string): number => SPECIAL_TOKENS.length + ch.charCodeAt(0);

/** Writes the three files to a fresh folder and loads them the way the engine will: from disk. */
async function saveAndLoad(bpe: BpeResult): Promise<{ tokenizer: HfTokenizer; json: Record<string, unknown> }> {
  const dir = mkdtempSync(join(tmpdir(), 'hdlm-tokenizer-'));
  try {
    writeFileSync(join(dir, 'tokenizer.json'), tokenizerJson(bpe));
    writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(tokenizerConfig(bpe, 256)));
    writeFileSync(join(dir, 'special_tokens_map.json'), JSON.stringify(specialTokensMap()));
    const json = JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8')) as Record<string, unknown>;
    const config = JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8')) as object;
    return { tokenizer: await loadHfTokenizer(json, config), json };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const TRAINING_TEXT = [
  'The tokenizer learns merges from the most frequent pairs of bytes in the training text.',
  'def tokenize(text):\n    return [piece for piece in text.split()]\n',
  'int main(void) {\n\tprintf("hello, world\\n");\n\treturn 0;\n}\n',
  "It's the reader's job; they'll see what we've done. Don't panic!",
  'Numbers like 1234567 and 3.14159 are split into digits.',
].join('\n\n');

function trainSmall(vocabSize = 400): BpeResult {
  const counter = new PieceCounter();
  for (let i = 0; i < 3; i++) counter.add(TRAINING_TEXT);
  return trainBpe(counter.counts, { vocabSize, specialTokens: SPECIAL_TOKENS, minPairCount: 2 });
}

describe('byte-level alphabet', () => {
  test('maps the 256 bytes to 256 distinct printable characters, as GPT-2 does', () => {
    assert.equal(new Set(BYTE_TO_CHAR).size, 256);
    assert.equal(BYTE_TO_CHAR[0x20], 'Ġ'); // Space, the famous one.
    assert.equal(BYTE_TO_CHAR[0x0a], 'Ċ');
    assert.equal(BYTE_TO_CHAR[0x41], 'A');
    const text = 'naïve 日本 🎉\t\r\n';
    assert.equal(new TextDecoder().decode(fromByteLevel(toByteLevel(text))), text);
  });
});

describe('pre-tokenizer', () => {
  test('pieces spell the text exactly and split as designed', () => {
    const text = "He's 42 years old;  it's   time.\n\n\tdone";
    const pieces = preTokenize(text);
    assert.equal(pieces.join(''), text);
    assert.deepEqual(pieces, ['He', "'s", ' ', '4', '2', ' years', ' old', ';', ' ', ' it', "'s", '  ', ' time', '.\n\n', '\tdone']);
  });

  test('cuts exactly where tokenizers.js cuts, on text the trainer never saw', async () => {
    const { tokenizer } = await saveAndLoad(trainSmall());
    const samples = [
      "We'LL see: x=1_000; y = 'a'\u00a0b\ufeffc\u2028d\r\n  \n\t\tz",
      'über-naïve façade — 日本語のテキスト, ١٢٣ and ½ ²',
      '    if (a && b) {\n        return **kwargs;\n    }\n',
      '🎉👩‍💻 emoji   and\u3000ideographic space',
    ];
    for (const text of samples) {
      const ours = preTokenize(text).map(toByteLevel);
      assert.deepEqual(tokenizer.pre_tokenizer!.pre_tokenize(text), ours, JSON.stringify(text));
    }
  });
});

describe('BPE trainer', () => {
  test('learns the merges derived by hand, with ties going to the smaller pair', async () => {
    // Pieces: "ab" once, " ab" three times, " cd" twice. Counts: (a,b) 4, (Ġ,a) 3, (Ġ,c) 2, (c,d) 2.
    // 1. a+b (4). 2. Ġ+ab (3). 3. Ġ+c and c+d tie at 2: Ġ (id 48) < c (id 115), so Ġ+c. 4. Ġc+d (2).
    const counter = new PieceCounter();
    counter.add('ab ab ab ab cd cd');
    const bpe = trainBpe(counter.counts, { vocabSize: 300, specialTokens: SPECIAL_TOKENS });
    assert.deepEqual(bpe.merges, [['a', 'b'], ['Ġ', 'ab'], ['Ġ', 'c'], ['Ġc', 'd']]);
    assert.deepEqual(bpe.tokens.slice(272), ['ab', 'Ġab', 'Ġc', 'Ġcd']);

    const { tokenizer } = await saveAndLoad(bpe);
    assert.deepEqual(tokenizer.encode(' ab cd ab', { add_special_tokens: false }).ids, [273, 275, 273]);
    // "abcd" is one piece with no leading space: only a+b applies; there is no c+d merge.
    assert.deepEqual(tokenizer.encode('abcd', { add_special_tokens: false }).ids, [272, byteId('c'), byteId('d')]);
  });

  test('the runtime applies merges by rank, not left to right', async () => {
    const tokens = [...SPECIAL_TOKENS, ...BYTE_TO_CHAR, 'bc', 'ab', 'abc', 'aa'];
    const merges: [string, string][] = [['b', 'c'], ['a', 'b'], ['a', 'bc'], ['a', 'a']];
    const { tokenizer } = await saveAndLoad({ tokens, merges });
    const ids = (text: string): number[] => tokenizer.encode(text, { add_special_tokens: false }).ids;
    // In "abc", b+c (rank 0) beats a+b (rank 1); then a+bc (rank 2) gives one token. Merging
    // left to right would have made "ab" + "c", for which there is no merge.
    assert.deepEqual(ids('abc'), [274]);
    // In "abd" only a+b applies.
    assert.deepEqual(ids('abd'), [273, byteId('d')]);
    // Equal ranks go left first: "aaa" is "aa" + "a", not "a" + "aa".
    assert.deepEqual(ids('aaa'), [275, byteId('a')]);
  });

  test('vocabulary is specials, bytes, then merges, and stops at the requested size', () => {
    const bpe = trainSmall(300);
    assert.equal(bpe.tokens.length, 300);
    assert.deepEqual(bpe.tokens.slice(0, 16), [...SPECIAL_TOKENS]);
    assert.equal(bpe.tokens[16 + 0x20], 'Ġ');
    // Every merged token is the concatenation of its merge pair.
    bpe.merges.forEach(([a, b], i) => assert.equal(bpe.tokens[272 + i], a + b));
  });

  test('training is deterministic', () => {
    assert.deepEqual(trainSmall(), trainSmall());
  });
});

describe('tokenizer files loaded by @huggingface/tokenizers', () => {
  test('round-trips varied text exactly, including bytes never seen in training', async () => {
    const { tokenizer } = await saveAndLoad(trainSmall());
    const samples = [
      TRAINING_TEXT,
      'Unicode: naïve café, Ελληνικά, русский, 日本語, 한국어, עברית, emoji 🎉👩‍💻 and \u0000 control',
      'Whitespace:  two,   three,\ttab,\r\nCRLF, trailing   \n\n\n   ',
      'Code: for (let i = 0; i < n; i++) { sum += a[i] ** 2; } // done\n\tconst s = `${x}`;',
      'Specials spelled partially: <| and |> and <|nope and end|>',
      ' leading space, "quotes", \'single\', (parens) [brackets] {braces} . , ? !',
    ];
    for (const text of samples) {
      const ids = tokenizer.encode(text, { add_special_tokens: false }).ids;
      assert.equal(tokenizer.decode(ids), text, JSON.stringify(text));
    }
  });

  test('special tokens are single ids that text never splits, and encode() starts with <|bos|>', async () => {
    const { tokenizer } = await saveAndLoad(trainSmall());
    SPECIAL_TOKENS.forEach((t, id) => assert.equal(tokenizer.token_to_id(t), id));
    const ids = tokenizer.encode('<|user|>hello<|end|><|assistant|>', { add_special_tokens: false }).ids;
    assert.equal(ids[0], 5);
    assert.equal(ids[ids.length - 2], 3);
    assert.equal(ids[ids.length - 1], 8);
    assert.equal(ids.filter((id) => id < 16).length, 3);
    assert.deepEqual(tokenizer.encode('hi').ids.slice(0, 1), [1]);
    assert.equal(tokenizer.decode([1, ...tokenizer.encode('hi', { add_special_tokens: false }).ids], { skip_special_tokens: true }), 'hi');
  });

  test('tokenizer.json follows the Hugging Face schema', async () => {
    const { json } = await saveAndLoad(trainSmall());
    assert.equal(json['version'], '1.0');
    for (const key of ['truncation', 'padding', 'normalizer']) assert.equal(json[key], null);
    const model = json['model'] as { type: string; vocab: Record<string, number>; merges: string[]; byte_fallback: boolean };
    assert.equal(model.type, 'BPE');
    assert.equal(model.byte_fallback, false);
    assert.equal(Object.keys(model.vocab).length, 400);
    assert.ok(model.merges.every((m) => /^\S+ \S+$/.test(m)));
    // The special tokens are in the model's vocabulary under their own ids, which Rust tokenizers requires.
    const added = json['added_tokens'] as { id: number; content: string; special: boolean }[];
    for (const t of added) {
      assert.equal(model.vocab[t.content], t.id);
      assert.equal(t.special, true);
    }
  });

  test('vocab is written in id order, digit tokens included', () => {
    // A JavaScript object would list integer-like keys such as "0" first; the file must not.
    const text = tokenizerJson(trainSmall());
    const vocab = text.slice(text.indexOf('"vocab": {'), text.indexOf('"merges": ['));
    const ids = [...vocab.matchAll(/^ {6}".*": (\d+),?$/gm)].map((m) => Number(m[1]));
    assert.equal(ids.length, 400);
    assert.deepEqual(ids, ids.map((_, i) => i));
    assert.ok(vocab.includes(`"0": ${byteId('0')},`));
  });
});

describe('chat template', () => {
  const messages = [
    { role: 'system', content: 'Classify the gloss.' },
    { role: 'user', content: 'a small domesticated carnivore. Candidates: animal, artifact' },
    { role: 'thought', content: 'animal' },
    { role: 'subtask', content: 'Candidates: mammal, bird' },
    { role: 'assistant', content: 'mammal' },
  ] as const;

  test('lays out a depth-2 HdLM example turn by turn', () => {
    assert.equal(
      renderChat(messages),
      '<|bos|><|system|> Classify the gloss.<|end|><|user|> a small domesticated carnivore. Candidates: animal, artifact<|end|>' +
        '<|thought|> animal<|end|><|subtask|> Candidates: mammal, bird<|end|><|assistant|> mammal<|end|>',
    );
    assert.equal(renderChat(messages.slice(0, 2), { addGenerationPrompt: true, generationRole: 'thought' }).slice(-11), '<|thought|>');
    assert.throws(() => renderChat([{ role: 'tool' as never, content: 'x' }]));
  });

  test('the Jinja template names the same tokens and roles', () => {
    for (const piece of ['bos_token', "'<|' ~ message['role'] ~ '|> '", "'<|end|>'", 'generation_role', "'thought', 'subtask'"]) {
      assert.ok(CHAT_TEMPLATE.includes(piece), piece);
    }
  });

  test('role markers encode to one id each, in sequence order', async () => {
    const { tokenizer } = await saveAndLoad(trainSmall());
    const ids = tokenizer.encode(renderChat(messages), { add_special_tokens: false }).ids;
    assert.deepEqual(
      ids.filter((id) => id < 16),
      [1, 4, 3, 5, 3, 6, 3, 7, 3, 8, 3],
    );
  });
});

describe('reST cleaner', () => {
  test('keeps titles and prose, unwraps paragraphs, drops Sphinx machinery', () => {
    const src = [
      '.. SPDX-License-Identifier: GPL-2.0',
      '',
      '.. _kref:',
      '',
      '=======================',
      'Adding reference counts',
      '=======================',
      '',
      ':Author: A. Hacker',
      '',
      'Use :c:func:`kref_get` and ``kref_put()`` as the',
      '**rules** say; see `the docs <https://kernel.org>`_ and :ref:`Title <label>`.',
      '',
      '.. toctree::',
      '   :maxdepth: 2',
      '',
      '   intro',
      '',
      '.. note::',
      '   Keep the count in the object.',
      '',
      'Example::',
      '',
      '    kref_init(&data->refcount);',
      '        nested();',
      '',
      'Section',
      '-------',
      '',
      '- first item',
      '  continues here',
      '- second item',
    ].join('\n');
    assert.equal(
      cleanRst(src),
      [
        'Adding reference counts',
        'Author: A. Hacker',
        'Use kref_get and kref_put() as the rules say; see the docs and Title.',
        'Note: Keep the count in the object.',
        'Example:',
        'kref_init(&data->refcount);\n    nested();',
        'Section',
        '- first item continues here\n- second item',
      ].join('\n\n'),
    );
  });

  test('inline markup leaves identifiers in literals alone', () => {
    assert.equal(cleanRstInline('``__init__`` and *args* and :meth:`~os.path.join` and :pep:`8`'), '__init__ and args and join and PEP 8');
    assert.equal(cleanRstInline('see foo_ and [#note]_ here'), 'see foo and here');
  });

  test('describes API objects by signature and version notes by their label', () => {
    const src = [
      '.. function:: dumps(obj, *, \\',
      '              indent=None)',
      '   :noindex:',
      '',
      '   Serialize *obj*.',
      '',
      '   .. versionchanged:: 3.6',
      '      All parameters are keyword-only.',
    ].join('\n');
    assert.equal(cleanRst(src), 'dumps(obj, *, indent=None)\n\nSerialize obj.\n\nChanged in version 3.6: All parameters are keyword-only.');
  });
});

describe('POD cleaner', () => {
  test('formatting codes, nested and with multiple brackets', () => {
    assert.equal(cleanPodInline('Use C<< $a <=> $b >> and B<I<bold italic>>.'), 'Use $a <=> $b and bold italic.');
    assert.equal(cleanPodInline('See L<perlfunc/"open">, L<the manual|perlintro> and E<lt>tagE<gt>X<index>.'), 'See "open" in perlfunc, the manual and <tag>.');
    assert.equal(cleanPodInline('A lone < or 1 > 0 stays.'), 'A lone < or 1 > 0 stays.');
  });

  test('commands, items, verbatim blocks and skipped regions', () => {
    const src = [
      '=head1 NAME',
      '',
      'perlfoo - a C<foo>',
      'for you',
      '',
      '=begin html',
      '',
      '<p>not text</p>',
      '',
      '=end html',
      '',
      '=over 4',
      '',
      '=item *',
      '',
      'First.',
      '',
      '=back',
      '',
      '    my $x = 1;',
      '    print $x;',
      '',
      '=cut',
      '',
      'sub code_after_cut { }',
    ].join('\n');
    assert.equal(cleanPod(src), 'NAME\n\nperlfoo - a foo for you\n\n- First.\n\nmy $x = 1;\nprint $x;');
  });
});

describe('man page cleaner', () => {
  test('macros, fonts, escapes, tags and literal blocks', () => {
    const src = [
      '.\\" Copyright notice',
      '.TH OPEN 2 2023-02-05 "Linux man-pages 6.03"',
      '.SH NAME',
      'open \\- open a file',
      '.SH SYNOPSIS',
      '.nf',
      '.B #include <fcntl.h>',
      '.BI "int open(const char *" pathname );',
      '.fi',
      '.SH DESCRIPTION',
      'The call opens',
      '.IR pathname .',
      'See',
      '.BR close (2)',
      'and \\fBread\\fP(2) \\[em] it\\[aq]s \\(lqeasy\\(rq.',
      '.TP',
      '.B O_APPEND',
      'Append mode.',
    ].join('\n');
    assert.equal(
      cleanRoff(src),
      [
        'NAME',
        'open - open a file',
        'SYNOPSIS',
        '#include <fcntl.h>\nint open(const char *pathname);',
        'DESCRIPTION',
        'The call opens pathname. See close(2) and read(2) — it\'s “easy”.',
        'O_APPEND',
        'Append mode.',
      ].join('\n\n'),
    );
  });

  test('a .so page is only a link, and tbl tables become rows', () => {
    assert.equal(cleanRoff('.so man2/open.2\n'), null);
    const table = ['.TS', 'allbox;', 'l l.', 'Name\tValue', '_', 'EPERM\t1', '.TE'].join('\n');
    assert.equal(cleanRoff(table), 'Name  Value\nEPERM  1');
    assert.equal(roffEscapes('a\\-b \\e \\&. \\f(CWmono\\fR \\N\'65\''), 'a-b \\ . mono A');
  });
});

describe('GCIDE cleaner', () => {
  const dict = [
    '00-database-short',
    '   The Collaborative International Dictionary of English v.0.48',
    '',
    'Caf[\'e] \\Caf`[\'e]\\, n. [F., coffee.]',
    '   A coffee house; a {res"tau*rant}.',
    '   [1913 Webster]',
    '',
    '   2. a small restaurant serving drinks',
    '      [WordNet 1.5]',
    '',
    'Dichotomy \\Di*chot"o*my\\, n. [Gr. ? in two, asunder + ? See',
    '   {Dichotomous}.]',
    '   1. A cutting in two; a division.',
    '      [1913 Webster]',
  ].join('\n');

  test('drops pronunciations, etymologies, tags and WordNet senses; keeps accents and senses', () => {
    const entries = gcideBlocks(dict).map(cleanGcideEntry);
    assert.equal(entries[0], null); // The database header is not an entry.
    assert.equal(entries[1], 'Café, n. A coffee house; a restaurant.');
    assert.equal(entries[2], 'Dichotomy, n.\n1. A cutting in two; a division.');
  });

  test('an entry whose first sense comes from WordNet is dropped whole', () => {
    assert.equal(cleanGcideEntry('achromatise \\achromatise\\ v.\n   1. remove color from.\n      [WordNet 1.5]'), null);
  });
});

describe('plain text, descriptions and normal form', () => {
  test('plain text: prose unwrapped, tables and rules kept or dropped', () => {
    const src = 'TITLE\n=====\n\nThis is wrapped\nprose text.\n\nName     Value\nfoo      1\n';
    assert.equal(renderBlocks(plainTextBlocks(src)), 'TITLE\n\nThis is wrapped prose text.\n\nName     Value\nfoo      1');
  });

  test('package descriptions: synopsis, paragraphs and verbatim lines', () => {
    const stanza = 'Package: hello\nDescription-md5: 0\nDescription-en: example package\n The GNU hello\n program.\n .\n  verbatim  line\n';
    const [d] = parseTranslations(stanza);
    assert.deepEqual(d && descriptionDocument(d), 'hello: example package\n\nThe GNU hello program.\n\nverbatim  line');
  });

  test('normal form: NFC, LF, no trailing spaces, defused special tokens', () => {
    assert.equal(normalizeText('  cafe\u0301\u00a0ok  \r\n\r\n\r\n\r\nend <|eos|> <|x\n'), 'café ok\n\nend < |eos|> <|x');
  });
});

describe('corpus rules', () => {
  test('near duplicates differ only in case, spacing and punctuation', () => {
    assert.equal(nearDuplicateKey('Hello,  World!\n'), nearDuplicateKey('hello world'));
    assert.notEqual(nearDuplicateKey('hello world 1'), nearDuplicateKey('hello world 2'));
    const dedup = new Deduplicator();
    const seed = 's';
    assert.equal(dedup.check(documentHashes('Hello, world.', seed)), 'new');
    assert.equal(dedup.check(documentHashes('Hello, world.', seed)), 'exact-duplicate');
    assert.equal(dedup.check(documentHashes('hello world', seed)), 'near-duplicate');
  });

  test('hashes depend on the text and seed only, and are uniform enough to split 1%', () => {
    assert.deepEqual(documentHashes('doc', 'a'), documentHashes('doc', 'a'));
    assert.notEqual(documentHashes('doc', 'a').split, documentHashes('doc', 'b').split);
    let held = 0;
    for (let i = 0; i < 20000; i++) if (documentHashes(`document ${i}`, 'seed').split < 0.01) held++;
    assert.ok(held > 150 && held < 250, `held out ${held} of 20000`);
  });

  test('water filling shares the cap fairly and never exceeds it', () => {
    assert.deepEqual(waterFill([10, 100, 100], 110), [10, 50, 50]);
    assert.deepEqual(waterFill([10, 20], 1000), [10, 20]);
    const candidates = [30, 30, 30].map((bytes, i) => ({ source: 's', text: `${i}`, bytes, hashes: documentHashes(`${i}`, 'x') }));
    assert.equal(selectUnderQuota(candidates, 65).length, 2);
  });

  test('documents survive the file format, blank lines inside included', () => {
    const docs = ['first\n\nwith a blank line', 'second'];
    assert.deepEqual(splitDocuments(joinDocuments(docs)), docs);
  });
});

describe('installing the tokenizer only after its check', () => {
  const files = new Map([
    ['tokenizer.json', '{"new":true}\n'],
    ['tokenizer_config.json', '{}\n'],
  ]);

  test('a failed check leaves the folder as it was, and the check saw the new files', async () => {
    const out = mkdtempSync(join(tmpdir(), 'hdlm-tok-'));
    try {
      writeFileSync(join(out, 'tokenizer.json'), '{"shipped":true}\n');
      let seen = '';
      const { installed } = await installChecked(out, files, async (dir) => (seen = readFileSync(join(dir, 'tokenizer.json'), 'utf8')), () => false);
      assert.equal(installed, false);
      assert.equal(seen, '{"new":true}\n');
      assert.equal(readFileSync(join(out, 'tokenizer.json'), 'utf8'), '{"shipped":true}\n');
      assert.deepEqual(readdirSync(out), ['tokenizer.json']);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  test('a passed check installs every file', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'hdlm-tok-')), 'model');
    try {
      const { installed, result } = await installChecked(out, files, async () => 0, (failures) => failures === 0);
      assert.ok(installed);
      assert.equal(result, 0);
      assert.deepEqual(readdirSync(out).sort(), ['tokenizer.json', 'tokenizer_config.json']);
      assert.equal(readFileSync(join(out, 'tokenizer.json'), 'utf8'), '{"new":true}\n');
    } finally {
      rmSync(dirname(out), { recursive: true, force: true });
    }
  });
});
