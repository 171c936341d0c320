// GCIDE, the GNU Collaborative International Dictionary of English, as dict-gcide ships it for
// dictd (/usr/share/dictd/gcide.dict.dz: dictzip, which gunzip reads). Each entry starts at a
// line with no indentation holding the headword and its pronunciation between backslashes.
// We keep headwords, senses, notes and quotations; we drop pronunciations, etymologies,
// usage labels in brackets and source tags, and every sense that GCIDE took from WordNet,
// because the project's WordNet datasets must not be learnt by heart in pretraining.
import { prose, renderBlocks } from './text';

const ACCENT_MARKS: Record<string, string> = {
  "'": '\u0301', '`': '\u0300', '^': '\u0302', '"': '\u0308', '~': '\u0303', '=': '\u0304', ',': '\u0327',
};

/** GCIDE's bracketed character codes that are not a mark plus a letter. */
const NAMED_CHARACTERS: Record<string, string> = {
  ae: 'æ', AE: 'Æ', oe: 'œ', OE: 'Œ', eth: 'ð', th: 'þ', ng: 'ŋ', deg: '°', sect: '§', root: '√', yogh: 'ȝ',
  imac: 'ī', aum: 'ä', thorn: 'þ', add: 'ȧ', udd: 'ụ', frac12: '½', frac14: '¼', frac34: '¾', frac13: '⅓', frac23: '⅔', cre: '˘', para: '¶',
  pound: '£', divide: '÷', times: '×', 'oo^': 'ŏŏ', '=oo': 'ōō', 'a^': 'ă', 'e^': 'ĕ', 'i^': 'ĭ', 'o^': 'ŏ',
  'u^': 'ŭ', 'y^': 'y̆',
};

/** Replaces the accent codes (['e], [=a], [ae], ...) by the characters they stand for. */
export function gcideCharacters(text: string): string {
  return text.replace(/\[([^\]\s]{1,6})\]/g, (match, codeText: string) => {
    const named = NAMED_CHARACTERS[codeText];
    if (named !== undefined) return named;
    const mark = ACCENT_MARKS[codeText[0]!];
    if (mark !== undefined && /^[A-Za-z]$/.test(codeText.slice(1))) return (codeText.slice(1) + mark).normalize('NFC');
    return match;
  });
}

/** A GCIDE entry block, or null when the block is not a headword entry (the file's preamble). */
export function cleanGcideEntry(block: string): string | null {
  if (!/^[^\s\\][^\n\\]*\\[^\\]{0,300}\\/.test(block)) return null;
  const paras = block.split(/\n[ \t]*\n/);
  // A sense tagged [WordNet ...] comes from WordNet; an entry whose first sense does is dropped whole.
  if (/\[WordNet[^\]]*\]/.test(paras[0]!)) return null;
  const kept = paras.filter((p) => !/\[WordNet[^\]]*\]/.test(p));
  let text = gcideCharacters(kept.join('\n\n'))
    .replace(/\\[^\\]*\\/g, '') // Pronunciations, such as \Di*chot"o*my\.
    .replace(/^([^\n(,]+?) \([^()\n]*\)(?=[,\s])/, '$1') // A respelled pronunciation after the headword.
    .replace(/\{([^{}]*)\}/g, (_m, word: string) => word.replace(/[*"`]/g, '')); // Cross-references.
  // Etymologies, usage labels and source tags, innermost first: an etymology may hold a code
  // such as [thorn] that no table knows.
  for (let before = ''; before !== text; ) {
    before = text;
    text = text.replace(/\[[^[\]]*\]/g, '');
  }
  text = text.replace(/ +([,.;:])/g, '$1');
  return renderBlocks(text.split(/\n[ \t]*\n/).map((p) => prose(p)));
}

/** Splits the uncompressed dictionary into entry blocks: a blank line, then an unindented line. */
export function gcideBlocks(dict: string): string[] {
  return dict.replace(/\r\n?/g, '\n').split(/\n[ \t]*\n(?=\S)/);
}
