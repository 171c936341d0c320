// Manual pages (roff with the man macros, as written by the Linux man-pages project) to plain
// text. We read the macros ourselves rather than run groff, because groff's output is laid out
// for a terminal (hyphenation, justification, fixed width) and we want paragraphs.
import { Block, code, expandTabs, prose, renderBlocks } from './text';

/** Special characters by their roff names (\[xx] or \(xx); unknown names are dropped. */
const GLYPHS: Record<string, string> = {
  aq: "'", dq: '"', bu: '•', em: '—', en: '–', ha: '^', ti: '~', lq: '“', rq: '”', oq: '‘', cq: '’', ga: '`',
  dg: '†', sd: '″', fm: '′', ra: '→', la: '←', de: '°', mi: '−', mu: '×', co: '©', rg: '®', tm: '™', pl: '+',
  '>=': '≥', '<=': '≤', '!=': '≠', '+-': '±', sc: '§', '`a': 'à', "'a": 'á', '^a': 'â', ':a': 'ä', "'e": 'é',
  '`e': 'è', ':o': 'ö', ':u': 'ü', mc: 'µ', Fo: '«', Fc: '»', hy: '-', rs: '\\', ba: '|', or: '|', sl: '/',
  lB: '[', rB: ']', lC: '{', rC: '}', la2: '<', ra2: '>', eq: '=', ul: '_', rn: '‾', ss: 'ß', '*p': 'π',
};

/** Predefined strings (\*(xx) that the man macros and these pages use. */
const STRINGS: Record<string, string> = { lq: '“', rq: '”', R: '®', Tm: '™', S: '', '-': '-', q: '"', '': '' };

function glyph(name: string): string {
  const unicode = /^u([0-9A-Fa-f]{4,6})$/.exec(name);
  if (unicode) return String.fromCodePoint(parseInt(unicode[1]!, 16));
  return GLYPHS[name] ?? '';
}

const ESCAPE =
  /\\(?:\[([^\]]*)\]|\((..)|f(?:\[[^\]]*\]|\(..|.)|s(?:[+-]?\d+|\[[^\]]*\]|'[^']*')|\*(?:\[([^\]]*)\]|\((..)|(.))|N'(\d+)'|[nmgk](?:\[[^\]]*\]|\(..|.)|[hvwlLxbDoXZ]'[^']*'|".*$|(.))/g;

/** Replaces roff escapes in one line of text by the characters they print. */
export function roffEscapes(text: string): string {
  return text.replace(
    ESCAPE,
    (
      match: string,
      bracketGlyph?: string,
      parenGlyph?: string,
      stringLong?: string,
      stringParen?: string,
      stringShort?: string,
      numbered?: string,
      single?: string,
    ) => {
      if (bracketGlyph !== undefined) return glyph(bracketGlyph);
      if (parenGlyph !== undefined) return glyph(parenGlyph);
      const str = stringLong ?? stringParen ?? stringShort;
      if (str !== undefined) return STRINGS[str] ?? '';
      if (numbered !== undefined) return String.fromCodePoint(Number(numbered));
      if (single === undefined) return ''; // Fonts, sizes, registers, motions, comments.
      if (single === '-' || single === 'e' || single === '\\') return single === '-' ? '-' : '\\';
      if (single === '~' || single === ' ' || single === '0') return ' ';
      if (single === "'") return '´';
      if (single === '`') return '`';
      if (single === '.') return '.';
      return match.length === 2 && /[&|^c%:{}!/,)]/.test(single) ? '' : single;
    },
  );
}

/** Splits a macro line's arguments, honouring "double quoted" arguments with spaces. */
export function macroArgs(rest: string): string[] {
  const args: string[] = [];
  const re = /"((?:[^"]|"")*)"?|(\S+)/g;
  for (let m = re.exec(rest); m !== null; m = re.exec(rest)) args.push(m[1] !== undefined ? m[1].replace(/""/g, '"') : m[2]!);
  return args;
}

/** Requests that change only layout (indentation, adjustment, fonts, spacing) and carry no text. */
const LAYOUT = new Set([
  'TH', 'RS', 'RE', 'in', 'ti', 'ta', 'ad', 'na', 'hy', 'nh', 'ft', 'PD', 'ne', 'll', 'UC', 'INDENT', 'UNINDENT',
  'nr', 'ds', 'so', 'UR', 'UE', 'MT', 'ME', 'YS', 'fam', 'ps', 'vs', 'cs', 'bp', 'pc', 'ss', 'rm', 'tr', 'ev', 'ns',
  'rs', 'DT', 'AT', 'ce', 'ul', 'cu', 'lf', 'mso', 'ec', 'eo', 'cc', 'c2', 'LINKSTYLE', 'ME', 'OP', 'HP', 'TQ',
]);

/** Alternating-font macros print their arguments with no space between them. */
const ALTERNATING = new Set(['BR', 'RB', 'IR', 'RI', 'BI', 'IB']);
const SINGLE_FONT = new Set(['B', 'I', 'SM', 'SB', 'SY']);

class ManReader {
  private readonly blocks: Block[] = [];
  private para: string[] = [];
  private literal: string[] | null = null;
  /** A font macro with no arguments applies to the next text line. */
  private pendingTag = false;

  constructor(private readonly lines: readonly string[]) {}

  read(): Block[] {
    for (let i = 0; i < this.lines.length; i++) i = this.line(i);
    this.flush();
    this.endLiteral();
    return this.blocks;
  }

  private flush(): void {
    if (this.para.length > 0) this.blocks.push(prose(this.para.join('\n')));
    this.para = [];
  }

  private endLiteral(): void {
    if (this.literal !== null) this.blocks.push(code(this.literal.join('\n')));
    this.literal = null;
  }

  private text(text: string): void {
    if (this.literal !== null) this.literal.push(text);
    else if (text.trim() === '') this.flush();
    else this.para.push(text);
  }

  /** Handles line i (and any lines a request swallows); returns the last line it used. */
  private line(i: number): number {
    const line = this.lines[i]!;
    if (!/^[.']/.test(line)) {
      this.text(roffEscapes(expandTabs(line)));
      if (this.pendingTag) this.flush();
      this.pendingTag = false;
      return i;
    }
    const m = /^[.']\s*(\S*)\s*(.*)$/.exec(line)!;
    const name = m[1]!;
    const args = macroArgs(m[2]!).map(roffEscapes);
    return this.request(name, args, i);
  }

  private request(name: string, args: string[], i: number): number {
    if (name === '' || name.startsWith('\\"') || LAYOUT.has(name)) return i;
    if (name === 'de' || name === 'ig' || name === 'am') return this.skipUntil(i, /^\.\.\s*$/);
    if (name === 'if' || name === 'ie' || name === 'el') return this.lines[i]!.includes('\\{') ? this.skipUntil(i, /\\\}/) : i;
    if (name === 'TS') return this.table(i);
    if (name === 'SH' || name === 'SS') {
      this.flush();
      this.endLiteral();
      if (args.length > 0) this.blocks.push(prose(args.join(' ')));
      else this.pendingTag = true;
    } else if (name === 'PP' || name === 'LP' || name === 'P' || name === 'sp' || name === 'br' || name === 'TP') {
      this.flush();
      this.pendingTag = name === 'TP';
    } else if (name === 'IP') {
      this.flush();
      const tag = args[0] ?? '';
      // Bullets and numbers lead their paragraph as a list marker; other tags are terms.
      if (tag === '•' || tag === '*' || tag === '-') this.para.push('- ');
      else if (/^\(?\d+[.)]?$/.test(tag)) this.para.push(/[.)]$/.test(tag) ? `${tag} ` : `${tag}. `);
      else if (tag !== '') this.blocks.push(prose(tag));
    } else if (name === 'nf' || name === 'EX') {
      this.flush();
      this.literal ??= [];
    } else if (name === 'fi' || name === 'EE') {
      this.endLiteral();
    } else if (ALTERNATING.has(name)) {
      this.tagged(args.join(''));
    } else if (SINGLE_FONT.has(name) && args.length > 0) {
      this.tagged(args.join(' '));
    } else if (name === 'q') {
      // The tz pages' quoting macro: .q text [suffix].
      this.tagged(`“${args[0] ?? ''}”${args[1] ?? ''}`);
    }
    return i;
  }

  /** Text from a font macro; after .TP it is the tag line and stands alone. */
  private tagged(text: string): void {
    this.text(text);
    if (this.pendingTag && this.literal === null) this.flush();
    this.pendingTag = false;
  }

  private skipUntil(i: number, end: RegExp): number {
    let j = i + 1;
    while (j < this.lines.length && !end.test(this.lines[j]!)) j++;
    return j;
  }

  /** A tbl table: options and format lines, then rows with tab-separated cells (T{ T} spans). */
  private table(i: number): number {
    this.flush();
    let j = i + 1;
    let tab = '\t';
    const rows: string[] = [];
    let inFormat = true;
    let cell: string[] | null = null;
    let row = '';
    for (; j < this.lines.length && !/^\.TE/.test(this.lines[j]!); j++) {
      const line = this.lines[j]!;
      if (inFormat) {
        const tabOption = /tab\s*\((.)\)/.exec(line);
        if (tabOption) tab = tabOption[1]!;
        if (/\.\s*$/.test(line)) inFormat = false;
        continue;
      }
      if (cell !== null) {
        if (line.startsWith('T}')) {
          row += cell.join(' ') + line.slice(2);
          cell = null;
          if (!row.endsWith('T{')) this.pushRow(rows, row, tab);
          row = row.endsWith('T{') ? row.slice(0, -2) : '';
        } else if (!/^[.']/.test(line)) {
          cell.push(roffEscapes(line));
        }
        continue;
      }
      if (/^[.']/.test(line) || /^[_=]\s*$/.test(line)) continue;
      if (line.endsWith('T{')) {
        row += roffEscapes(line.slice(0, -2));
        cell = [];
        continue;
      }
      this.pushRow(rows, roffEscapes(line), tab);
    }
    if (rows.length > 0) this.blocks.push(code(rows.join('\n')));
    return j;
  }

  private pushRow(rows: string[], row: string, tab: string): void {
    const cells = row.split(tab).map((c) => c.trim());
    if (cells.some((c) => c !== '' && c !== '_' && c !== '=')) rows.push(cells.join('  ').trimEnd());
  }
}

/** A manual page to plain text, or null when the page is only a `.so` link to another page. */
export function cleanRoff(src: string): string | null {
  // An escaped newline joins two input lines into one before anything else is read.
  const lines = src.replace(/\r\n?/g, '\n').replace(/\\\n/g, '').split('\n');
  const meaningful = lines.filter((line) => line.trim() !== '' && !/^[.']\s*\\"/.test(line));
  if (meaningful.length > 0 && meaningful.every((line) => /^\.so\s/.test(line))) return null;
  return renderBlocks(new ManReader(lines).read());
}
