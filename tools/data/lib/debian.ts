// Readers for apt's index files: Packages (one stanza per binary package, with Section and the
// md5 of the English description) and Translation-en (Package, Description-md5, Description-en).
// Both are deb822 control files (deb822(5)): stanzas separated by blank lines, "Field: value",
// continuation lines starting with a space or tab.

export interface Stanza {
  /** 1-based line number where the stanza starts, for error messages. */
  line: number;
  fields: Map<string, string>;
}

/** Field values keep their continuation lines ("\n" + the line as written, leading space included). */
export function parseControl(text: string): Stanza[] {
  const stanzas: Stanza[] = [];
  let current: Stanza | undefined;
  let lastField: string | undefined;
  text.split('\n').forEach((raw, index) => {
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '') {
      current = undefined;
      lastField = undefined;
      return;
    }
    if (current === undefined) {
      current = { line: index + 1, fields: new Map() };
      stanzas.push(current);
    }
    if ((line.startsWith(' ') || line.startsWith('\t')) && lastField !== undefined) {
      current.fields.set(lastField, `${current.fields.get(lastField) ?? ''}\n${line}`);
      return;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) throw new ControlFormatError(index + 1, `expected 'Field: value', found '${line.slice(0, 60)}'`);
    lastField = line.slice(0, colon);
    current.fields.set(lastField, line.slice(colon + 1).trim());
  });
  return stanzas;
}

export class ControlFormatError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(message);
  }
}

export interface Description {
  synopsis: string;
  /** The extended description as plain text: paragraphs joined by blank lines. */
  long: string;
}

/**
 * Splits a Description value into synopsis and extended text. In the extended part (deb822(5)
 * and Debian Policy 5.6.13) " ." is an empty line, lines starting with two spaces are shown
 * verbatim, and the other lines are wrapped text: we join those into one line per paragraph
 * so the text reads as prose rather than as 80-column fragments.
 */
export function parseDescription(value: string): Description {
  const [first, ...rest] = value.split('\n');
  const blocks: string[] = [];
  let paragraph: string[] = [];
  const flush = (): void => {
    if (paragraph.length > 0) blocks.push(paragraph.join(' '));
    paragraph = [];
  };
  let verbatim: string[] = [];
  const flushVerbatim = (): void => {
    if (verbatim.length > 0) blocks.push(verbatim.join('\n'));
    verbatim = [];
  };
  for (const raw of rest) {
    const line = raw.replace(/^[ \t]/, '').replace(/\s+$/, '');
    if (line === '.' || line === '') {
      flush();
      flushVerbatim();
    } else if (line.startsWith(' ')) {
      flush();
      verbatim.push(line);
    } else {
      flushVerbatim();
      paragraph.push(line.replace(/\s+/g, ' '));
    }
  }
  flush();
  flushVerbatim();
  return { synopsis: (first ?? '').trim(), long: blocks.join('\n\n').trim() };
}

/** dpkg's ordering of non-digit parts: '~' before everything, even the end; letters before other characters. */
function charOrder(c: string | undefined): number {
  if (c === undefined) return 0;
  if (c === '~') return -1;
  if (/[A-Za-z]/.test(c)) return c.charCodeAt(0);
  return c.charCodeAt(0) + 256;
}

/** Compares upstream versions or revisions part by part, as dpkg's verrevcmp does. */
function compareFragment(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    while ((i < a.length && !/\d/.test(a[i] as string)) || (j < b.length && !/\d/.test(b[j] as string))) {
      const ca = i < a.length && !/\d/.test(a[i] as string) ? a[i] : undefined;
      const cb = j < b.length && !/\d/.test(b[j] as string) ? b[j] : undefined;
      const diff = charOrder(ca) - charOrder(cb);
      if (diff !== 0) return diff;
      if (ca !== undefined) i++;
      if (cb !== undefined) j++;
    }
    const da = /^\d*/.exec(a.slice(i))?.[0] ?? '';
    const db = /^\d*/.exec(b.slice(j))?.[0] ?? '';
    i += da.length;
    j += db.length;
    const na = BigInt(da === '' ? '0' : da);
    const nb = BigInt(db === '' ? '0' : db);
    if (na !== nb) return na < nb ? -1 : 1;
  }
  return 0;
}

function splitVersion(version: string): { epoch: number; upstream: string; revision: string } {
  const colon = version.indexOf(':');
  const epoch = colon >= 0 ? Number(version.slice(0, colon)) : 0;
  const rest = colon >= 0 ? version.slice(colon + 1) : version;
  const dash = rest.lastIndexOf('-');
  return dash >= 0 ? { epoch, upstream: rest.slice(0, dash), revision: rest.slice(dash + 1) } : { epoch, upstream: rest, revision: '' };
}

/**
 * Debian version order (deb-version(7)). When the same package is in several lists (bookworm
 * and bookworm-security), the newest version is the one apt would install, so it wins.
 */
export function compareDebianVersions(a: string, b: string): number {
  const va = splitVersion(a);
  const vb = splitVersion(b);
  if (va.epoch !== vb.epoch) return va.epoch < vb.epoch ? -1 : 1;
  const upstream = compareFragment(va.upstream, vb.upstream);
  if (upstream !== 0) return Math.sign(upstream);
  return Math.sign(compareFragment(va.revision, vb.revision));
}
