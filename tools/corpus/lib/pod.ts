// Perl's POD (perl-doc's /usr/share/perl/<version>/pod/*.pod) to plain text, following
// perlpodspec: paragraphs are commands (=head1, =item, ...), verbatim (indented: code) or
// ordinary (prose with formatting codes such as C<...>, L<...>, E<...>).
import { Block, code, prose, renderBlocks } from './text';

/** E<...> names that occur in the Perl documentation; unknown names are dropped. */
const ENTITIES: Record<string, string> = {
  lt: '<', gt: '>', verbar: '|', sol: '/', quot: '"', amp: '&', apos: "'", nbsp: ' ', copy: '©', reg: '®',
  eacute: 'é', egrave: 'è', ecirc: 'ê', euml: 'ë', aacute: 'á', agrave: 'à', acirc: 'â', auml: 'ä', aring: 'å',
  oacute: 'ó', ocirc: 'ô', ouml: 'ö', oslash: 'ø', uacute: 'ú', uuml: 'ü', iacute: 'í', iuml: 'ï', ntilde: 'ñ',
  ccedil: 'ç', szlig: 'ß', Eacute: 'É', Ouml: 'Ö', Uuml: 'Ü', Auml: 'Ä', laquo: '«', raquo: '»', mdash: '—',
  ndash: '–', hellip: '…', times: '×', micro: 'µ', deg: '°', pi: 'π', ae: 'æ', AElig: 'Æ', thorn: 'þ', eth: 'ð',
};

function entity(name: string): string {
  const trimmed = name.trim();
  if (/^0x[0-9a-f]+$/i.test(trimmed)) return String.fromCodePoint(parseInt(trimmed.slice(2), 16));
  if (/^0[0-7]+$/.test(trimmed)) return String.fromCodePoint(parseInt(trimmed, 8));
  if (/^\d+$/.test(trimmed)) return String.fromCodePoint(Number(trimmed));
  return ENTITIES[trimmed] ?? '';
}

/** L<...> shows its text part, or a readable form of its target. */
function linkText(content: string): string {
  const bar = content.indexOf('|');
  if (bar >= 0) return content.slice(0, bar);
  if (/^\w+:[^:\s]\S*$/.test(content)) return content; // A URL.
  const section = /^(.*?)\/"?(.*?)"?$/s.exec(content);
  if (section) return section[1] !== '' ? `"${section[2]}" in ${section[1]}` : `"${section[2]}"`;
  return content.replace(/^"(.*)"$/s, '$1');
}

function applyCode(letter: string, content: string): string {
  switch (letter) {
    case 'X':
    case 'Z':
      return '';
    case 'E':
      return entity(content);
    case 'L':
      return linkText(content);
    default:
      return content; // B, I, C, F, S and the rare M<> show their content.
  }
}

/** Where the content of a formatting code opened at `open` ends, and where the code ends. */
function findClose(text: string, open: number, brackets: number): { contentEnd: number; end: number } | null {
  if (brackets > 1) {
    const closer = new RegExp(`\\s${'>'.repeat(brackets)}`, 'g');
    closer.lastIndex = open;
    const m = closer.exec(text);
    return m ? { contentEnd: m.index, end: m.index + m[0].length } : null;
  }
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    if (/[A-Z]/.test(text[i]!) && text[i + 1] === '<') {
      depth++;
      i++;
    } else if (text[i] === '>') {
      if (depth === 0) return { contentEnd: i, end: i + 1 };
      depth--;
    }
  }
  return null;
}

/** Formatting codes to plain text, nested codes included; an unclosed code stays literal. */
export function cleanPodInline(text: string): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const m = /[A-Z]<+/g;
    m.lastIndex = i;
    const found = m.exec(text);
    if (!found) break;
    const brackets = found[0].length - 1;
    const open = found.index + found[0].length;
    if (brackets > 1 && !/\s/.test(text[open] ?? '')) {
      out += text.slice(i, open);
      i = open;
      continue;
    }
    const close = findClose(text, open, brackets);
    out += text.slice(i, found.index);
    if (!close) {
      out += found[0];
      i = open;
      continue;
    }
    const inner = cleanPodInline(brackets > 1 ? text.slice(open, close.contentEnd).trim() : text.slice(open, close.contentEnd));
    out += applyCode(found[0][0]!, inner);
    i = close.end;
  }
  return out + text.slice(i);
}

/** Splits POD into paragraphs; a line holding only whitespace ends a paragraph too. */
function podParagraphs(src: string): string[] {
  return src
    .replace(/\r\n?/g, '\n')
    .split(/\n[ \t]*\n/)
    .map((p) => p.replace(/^\n+|\n+$/g, ''))
    .filter((p) => p.trim() !== '');
}

/** =item's marker: a bullet or a number introduces the next paragraph; other text is a term. */
function itemText(arg: string): { marker: string; term: string } {
  const trimmed = arg.trim();
  if (trimmed === '' || trimmed === '*' || trimmed === 'o') return { marker: '- ', term: '' };
  const bullet = /^\*\s+(.*)$/s.exec(trimmed);
  if (bullet) return { marker: '', term: `- ${bullet[1]}` };
  const number = /^(\d+)\.?$/.exec(trimmed);
  if (number) return { marker: `${number[1]}. `, term: '' };
  return { marker: '', term: trimmed };
}

/** POD source to plain text. Only POD regions are read; code outside =pod ... =cut is skipped. */
export function cleanPod(src: string): string {
  const blocks: Block[] = [];
  let inPod = false;
  let skipUntil: string | null = null; // The =end that closes a skipped =begin region.
  let pendingMarker = '';
  for (const para of podParagraphs(src)) {
    const command = /^=(\w+)\s*([\s\S]*)$/.exec(para);
    if (skipUntil !== null) {
      if (command && command[1] === 'end' && command[2]!.trim() === skipUntil) skipUntil = null;
      continue;
    }
    if (command) {
      const name = command[1]!;
      const arg = command[2]!;
      inPod = name !== 'cut';
      if (/^head\d$/.test(name)) blocks.push(prose(cleanPodInline(arg)));
      else if (name === 'item') {
        const { marker, term } = itemText(arg);
        pendingMarker = marker;
        if (term !== '') blocks.push(prose(cleanPodInline(term)));
      } else if (name === 'begin' && !/^text\b/.test(arg.trim())) skipUntil = arg.trim().split(/\s+/)[0] ?? '';
      // =over, =back, =pod, =cut, =encoding and =for carry no text.
      continue;
    }
    if (!inPod) continue;
    if (/^[ \t]/.test(para)) {
      blocks.push(code(para));
    } else {
      blocks.push(prose(pendingMarker + cleanPodInline(para)));
      pendingMarker = '';
    }
  }
  return renderBlocks(blocks);
}
