// reStructuredText (the Linux kernel's Documentation/ and CPython's docs) to plain text. A small
// line-oriented reader, not a full docutils: it knows titles, paragraphs, lists, literal blocks,
// tables, comments and directives well enough to keep the prose and the code of these two
// document sets and to drop what only drives Sphinx (toctrees, labels, kernel-doc includes).
import { Block, code, expandTabs, prose, renderBlocks } from './text';

/** Directives whose whole block is build machinery, not text. */
const DROPPED_DIRECTIVES = new Set([
  'toctree', 'image', 'figure', 'include', 'literalinclude', 'kernel-doc', 'kernel-include', 'kernel-feat',
  'kernel-abi', 'kernel-render', 'raw', 'index', 'highlight', 'contents', 'sectnum', 'default-role', 'role',
  'meta', 'sectionauthor', 'moduleauthor', 'codeauthor', 'currentmodule', 'module', 'testsetup',
  'testcleanup', 'audit-event', 'audit-event-table', 'tabularcolumns', 'graphviz', 'cssclass', 'title',
  'footer', 'header', 'miscnews', 'program', 'c:namespace', 'c:namespace-push', 'c:namespace-pop',
]);

/** Directives whose body is code or literal text, kept line for line. */
const CODE_DIRECTIVES = new Set([
  'code-block', 'code', 'sourcecode', 'testcode', 'testoutput', 'doctest', 'productionlist', 'parsed-literal',
  'literal', 'csv-table',
]);

/** Directives that describe an API object: the signature is kept as code, the body as text. */
const DESCRIBE_DIRECTIVES = new Set([
  'function', 'method', 'class', 'attribute', 'data', 'exception', 'decorator', 'decoratormethod', 'classmethod',
  'staticmethod', 'abstractmethod', 'coroutinefunction', 'coroutinemethod', 'envvar', 'option', 'cmdoption',
  'describe', 'object', 'opcode', 'pdbcommand', 'property', 'macro', 'type', 'member', 'var',
]);

/** Admonitions keep their body, introduced by a label the reader would see in the rendered page. */
const ADMONITION_LABELS: Record<string, string> = {
  note: 'Note:', warning: 'Warning:', attention: 'Attention:', caution: 'Caution:', danger: 'Danger:',
  error: 'Error:', hint: 'Hint:', important: 'Important:', tip: 'Tip:', seealso: 'See also:', todo: 'To do:',
};

const ADORNMENT = /^([!-/:-@[-`{-~])\1{2,}\s*$/;
const SIMPLE_TABLE_BORDER = /^=+(?: +=+)+\s*$/;
const LIST_START = /^(?:[-*+•]|\(?(?:\d+|[a-zA-Z]|#)[.)])\s+/;
const FIELD = /^:([^:`]+):(?:\s+|$)/;

function indentOf(line: string): number {
  return line.length - line.trimStart().length;
}

function isBlank(line: string | undefined): boolean {
  return line === undefined || line.trim() === '';
}

/** Lines from `start` that belong to an indented body: blank, or indented deeper than `indent`. */
function bodyEnd(lines: readonly string[], start: number, indent: number): number {
  let end = start;
  while (end < lines.length && (isBlank(lines[end]) || indentOf(lines[end]!) > indent)) end++;
  return end;
}

function dedentLines(lines: readonly string[]): string[] {
  let common = Infinity;
  for (const line of lines) if (!isBlank(line)) common = Math.min(common, indentOf(line));
  return Number.isFinite(common) ? lines.map((line) => line.slice(Math.min(common, indentOf(line)))) : [];
}

/** The kernel's isonum.txt substitutions that its documents use for symbols. */
const SUBSTITUTIONS: Record<string, string> = { copy: '©', reg: '®', trade: '™' };

/** Sphinx shows `~a.b.c` as `c`; `!x` suppresses the link; `Title <target>` shows the title. */
function roleText(role: string, content: string): string {
  const titled = /^(.*?)\s*<[^<>]*>$/s.exec(content);
  let text = titled && titled[1]!.trim() !== '' ? titled[1]! : content;
  if (text.startsWith('!')) text = text.slice(1);
  if (text.startsWith('~')) text = text.slice(1).split('.').pop() ?? text;
  if (role === 'rfc') return `RFC ${text}`;
  if (role === 'pep') return `PEP ${text}`;
  return text;
}

/**
 * Inline markup to plain text. Literals and roles are cut out first and put back last, so the
 * emphasis and reference rules cannot touch identifiers such as `__init__` or `*args` in them.
 */
export function cleanRstInline(text: string): string {
  const kept: string[] = [];
  // Placeholders use a private-use character, which no document contains.
  const keep = (s: string): string => `\ue000${kept.push(s) - 1}\ue000`;
  let out = text
    .replace(/``(.+?)``/gs, (_m, literal: string) => keep(literal))
    .replace(/:(?:[\w-]+:)*([\w-]+):`((?:[^`\\]|\\.)+)`/gs, (_m, role: string, content: string) => keep(roleText(role, content)))
    .replace(/`([^`]+?)\s*<[^<>`]+>`__?/gs, (_m, title: string) => keep(title))
    .replace(/`([^`]+)`__?/gs, (_m, ref: string) => keep(ref))
    .replace(/`([^`]+)`/gs, (_m, ref: string) => keep(ref));
  out = out
    .replace(/\s*\[(?:#[\w-]*|\d+|\*|[A-Za-z][\w-]*)\]_/g, '')
    .replace(/\*\*(\S(?:.*?\S)?)\*\*/gs, '$1')
    .replace(/(^|[\s("'])\*(?![\s*])(.+?)(?<=\S)\*(?=$|[\s).,;:!?'"-])/gs, '$1$2')
    .replace(/(?<![\w])([A-Za-z][\w-]*[A-Za-z0-9])__?(?![\w])/g, '$1')
    .replace(/\|(copy|reg|trade)\|/g, (_m, name: string) => SUBSTITUTIONS[name]!)
    .replace(/\\(.)/g, '$1');
  return out.replace(/\ue000(\d+)\ue000/g, (_m, i: string) => kept[Number(i)]!);
}

/** What Sphinx prints for a version note. */
function versionLabel(name: string, version: string): string {
  if (name === 'versionadded') return `New in version ${version}.`;
  if (name === 'versionchanged') return `Changed in version ${version}:`;
  return `Deprecated since version ${version}:`;
}

/** `Example::` reads `Example:`; a lone or spaced `::` vanishes. */
function stripLiteralMarker(text: string): string {
  if (text.trim() === '::') return '';
  return text.replace(/\s+::\s*$/, '').replace(/::\s*$/, ':');
}

class RstReader {
  private readonly out: Block[] = [];

  constructor(private readonly lines: readonly string[]) {}

  read(): Block[] {
    let i = 0;
    while (i < this.lines.length) i = this.step(i);
    return this.out;
  }

  /** Reads one element starting at line i and returns the index after it. */
  private step(i: number): number {
    const line = this.lines[i]!;
    if (isBlank(line)) return i + 1;
    if (indentOf(line) > 0) return this.blockQuote(i);
    if (/^\.\.(\s|$)/.test(line)) return this.explicitMarkup(i);
    if (/^\+[-=]/.test(line)) return this.gridTable(i);
    if (SIMPLE_TABLE_BORDER.test(line)) return this.simpleTable(i);
    if (ADORNMENT.test(line)) return this.overlinedTitle(i);
    return this.paragraph(i);
  }

  private pushProse(text: string): void {
    const cleaned = cleanRstInline(text);
    if (cleaned.trim() !== '') this.out.push(prose(cleaned));
  }

  /** Indented content without a `::` before it (block quotes, list item bodies): read recursively. */
  private blockQuote(i: number): number {
    const end = bodyEnd(this.lines, i, 0);
    this.out.push(...new RstReader(dedentLines(this.lines.slice(i, end))).read());
    return end;
  }

  private overlinedTitle(i: number): number {
    const title = this.lines[i + 1];
    const under = this.lines[i + 2];
    if (title !== undefined && !isBlank(title) && under !== undefined && ADORNMENT.test(under)) {
      this.pushProse(title.trim());
      return i + 3;
    }
    return i + 1; // A transition (a lone rule line) carries no text.
  }

  private gridTable(i: number): number {
    let end = i;
    while (end < this.lines.length && /^[+|]/.test(this.lines[end]!)) end++;
    const rows = this.lines
      .slice(i, end)
      .filter((row) => !/^\+[-=+]*\+?\s*$/.test(row))
      .map((row) => cleanRstInline(row.replace(/^\||\|\s*$/g, '').replace(/\s*\|\s*/g, '  ').trimEnd()));
    this.out.push(code(rows.join('\n')));
    return end;
  }

  /** A simple table runs from its top border to the border that is followed by a blank line. */
  private simpleTable(i: number): number {
    let end = i + 1;
    while (end < this.lines.length) {
      const isBorder = SIMPLE_TABLE_BORDER.test(this.lines[end]!) || ADORNMENT.test(this.lines[end]!);
      end++;
      if (isBorder && isBlank(this.lines[end])) break;
    }
    const rows = this.lines.slice(i, end).filter((row) => !SIMPLE_TABLE_BORDER.test(row) && !/^[=\- ]+$/.test(row));
    this.out.push(code(rows.map((row) => cleanRstInline(row)).join('\n')));
    return end;
  }

  private explicitMarkup(i: number): number {
    const first = this.lines[i]!;
    const end = bodyEnd(this.lines, i + 1, 0);
    const directive = /^\.\.\s+([\w:-]+)::(.*)$/.exec(first);
    if (directive) {
      this.directive(directive[1]!.toLowerCase(), directive[2]!.trim(), this.lines.slice(i + 1, end));
    } else {
      const footnote = /^\.\.\s+\[[^\]]+\]\s+(.*)$/.exec(first);
      // Footnotes and citations are prose; targets, substitutions and comments are not.
      if (footnote) this.pushProse([footnote[1]!, ...this.lines.slice(i + 1, end)].join('\n'));
    }
    return end;
  }

  private directive(name: string, args: string, bodyLines: readonly string[]): void {
    const bare = name.includes(':') ? name.slice(name.lastIndexOf(':') + 1) : name;
    if (DROPPED_DIRECTIVES.has(name) || DROPPED_DIRECTIVES.has(bare)) return;
    const body = dedentLines(bodyLines);
    const describes = DESCRIBE_DIRECTIVES.has(bare) || name.includes(':');
    let k = 0;
    // A signature may go on over the lines before the first blank line or option.
    const head = [args];
    if (describes) while (k < body.length && !isBlank(body[k]) && !FIELD.test(body[k]!)) head.push(body[k++]!.trim());
    // Options (`:linenos:`, `:synopsis: ...`) come next; they only steer the renderer.
    while (k < body.length && FIELD.test(body[k]!)) k++;
    const content = body.slice(k);
    if (CODE_DIRECTIVES.has(bare)) {
      this.out.push(code(content.join('\n')));
    } else if (describes) {
      const signatures = head.join('\n').replace(/\s*\\\n\s*/g, ' ').trim();
      if (signatures !== '') this.out.push(code(signatures));
      this.out.push(...new RstReader(content).read());
    } else {
      this.labelled(bare, args, content);
    }
  }

  /** Admonitions and version notes read as their label and text; other directives as their text. */
  private labelled(name: string, args: string, content: readonly string[]): void {
    const isVersion = /^(?:versionadded|versionchanged|deprecated|deprecated-removed)$/.test(name);
    const version = isVersion ? (args.split(/\s+/)[0] ?? '') : '';
    const text = isVersion ? args.slice(version.length).trim() : args;
    const label = isVersion ? versionLabel(name, version) : (ADMONITION_LABELS[name] ?? '');
    // Admonition text may start on the directive line; other directives' arguments are titles.
    const inner = new RstReader(label !== '' && text !== '' ? [text, ...content] : content).read();
    if (label === '' && text !== '' && name !== 'only' && name !== 'ifconfig' && name !== 'class') this.pushProse(text);
    if (label !== '') {
      const first = inner[0];
      if (first && first.kind === 'prose') inner[0] = prose(`${label} ${first.text}`);
      else inner.unshift(prose(label));
    }
    this.out.push(...inner);
  }

  /** A paragraph, a section title, a definition-list item, a list, or text before a literal block. */
  private paragraph(i: number): number {
    let end = i;
    while (end < this.lines.length && !isBlank(this.lines[end]) && indentOf(this.lines[end]!) === 0) {
      if (end > i && ADORNMENT.test(this.lines[end]!)) break;
      // A list item's continuation lines are indented at least to its text (nested items too).
      end = this.listItemEnd(end);
    }
    const para = this.lines.slice(i, end);
    const next = this.lines[end];
    if (para.length === 1 && next !== undefined && ADORNMENT.test(next) && next.trim().length >= Math.min(3, para[0]!.trim().length)) {
      this.pushProse(para[0]!.trim());
      return end + 1;
    }
    if (para[0]!.startsWith('>>>')) {
      this.out.push(code(para.join('\n')));
      return end;
    }
    if (next !== undefined && !isBlank(next) && indentOf(next) > 0) {
      // Definition list: the term, then its indented definition read as its own content.
      this.pushProse(para.join('\n'));
      const defEnd = bodyEnd(this.lines, end, 0);
      this.out.push(...new RstReader(dedentLines(this.lines.slice(end, defEnd))).read());
      return defEnd;
    }
    this.emitParagraph(para);
    if (/::\s*$/.test(para[para.length - 1]!)) {
      // Inside a list item the literal block is indented past the item's text column.
      const marker = LIST_START.exec(para[0]!);
      return this.literalBlock(end, marker ? marker[0].length : 0);
    }
    return end;
  }

  private listItemEnd(i: number): number {
    const line = this.lines[i]!;
    const marker = LIST_START.exec(line);
    let end = i + 1;
    if (marker) {
      const column = marker[0].length;
      while (end < this.lines.length && !isBlank(this.lines[end]) && indentOf(this.lines[end]!) >= column) end++;
    }
    return end;
  }

  /** Field-list lines (`:Author: X`) each become a line of their own; the rest is one paragraph. */
  private emitParagraph(para: readonly string[]): void {
    let current: string[] = [];
    const flush = (): void => {
      if (current.length > 0) this.pushProse(stripLiteralMarker(current.join('\n')));
      current = [];
    };
    for (const line of para) {
      const field = FIELD.exec(line);
      if (field) {
        flush();
        current.push(`${field[1]}: ${line.slice(field[0].length)}`);
        flush();
      } else {
        current.push(line);
      }
    }
    flush();
  }

  private literalBlock(i: number, contentIndent: number): number {
    let start = i;
    while (start < this.lines.length && isBlank(this.lines[start])) start++;
    if (start >= this.lines.length || indentOf(this.lines[start]!) <= contentIndent) return start;
    let end = bodyEnd(this.lines, start, contentIndent);
    while (end > start && isBlank(this.lines[end - 1])) end--;
    this.out.push(code(this.lines.slice(start, end).join('\n')));
    return end;
  }
}

/** reST source to plain text: titles and paragraphs as prose, literal blocks as code. */
export function cleanRst(src: string): string {
  const lines = src.replace(/\r\n?/g, '\n').split('\n').map((line) => expandTabs(line));
  return renderBlocks(new RstReader(lines).read());
}
