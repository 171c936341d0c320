// Which apt lists the builders read, and how their bytes become text. Both the dataset builder
// and the corpus builder read /var/lib/apt/lists, which holds whatever the machine's sources
// name: backports (tools/setup.sh adds it for Mesa), third-party repositories (Docker,
// Microsoft, nodesource, …). The datasets must describe what a plain Debian gives, so only
// Debian's own archive is read, for the suites apt installs from by default.

/**
 * Debian's archive hosts as apt names them in a list's file name (the URI with '/' turned into
 * '_'): deb.debian.org, security.debian.org and the ftp.debian.org / ftp.<country>.debian.org
 * mirrors, each with the archive folder 'debian' or 'debian-security'.
 */
const DEBIAN_ARCHIVE = /^(?:deb|security|ftp(?:\.[a-z]{2})?)\.debian\.org_debian(?:-security)?_dists_/;

/**
 * A release's base suite (bookworm, or stable), its -updates and its -security suite. Backports
 * and experimental are NotAutomatic (apt takes nothing from them unless told), and
 * proposed-updates is not yet released, so they are left out.
 */
const DEFAULT_SUITE = /^[a-z]+(?:-updates|-security)?$/;
const NOT_AUTOMATIC = new Set(['experimental', 'rc-buggy']);

/** The index part of the name: '<component>_binary-<arch>_Packages' or '<component>_i18n_Translation-en', maybe compressed. */
const INDEX = /^[a-z-]+_(?:binary-[a-z0-9-]+_Packages|i18n_Translation-en)(?:\.[a-z0-9]+)?$/;

export interface AptListName {
  suite: string;
  kind: 'Packages' | 'Translation-en';
}

/** The suite and kind of a list from Debian's archive, or null for any other file. */
export function parseAptListName(fileName: string): AptListName | null {
  const archive = DEBIAN_ARCHIVE.exec(fileName);
  if (archive === null) return null;
  const rest = fileName.slice(archive[0].length);
  const cut = rest.indexOf('_');
  if (cut <= 0) return null;
  const suite = rest.slice(0, cut);
  const index = rest.slice(cut + 1);
  if (!INDEX.test(index)) return null;
  return { suite, kind: /_Packages(\.|$)/.test(index) ? 'Packages' : 'Translation-en' };
}

/** True for a Packages or Translation-en list of Debian's archive in a suite apt installs from by default. */
export function isDefaultDebianList(fileName: string): boolean {
  const parsed = parseAptListName(fileName);
  return parsed !== null && DEFAULT_SUITE.test(parsed.suite) && !NOT_AUTOMATIC.has(parsed.suite);
}

/** Words for messages and READMEs: which lists are read. */
export const DEFAULT_LISTS_DESCRIPTION =
  "Debian's own archive (deb.debian.org, security.debian.org, ftp[.<cc>].debian.org), base suite, -updates and -security; " +
  'not backports, not third-party repositories';

// ---------------------------------------------------------------------------------------------
// Strict UTF-8, one stanza at a time

/** A stanza left out because its bytes are not UTF-8. */
export interface InvalidStanza {
  file: string;
  /** 1-based line where the stanza starts. */
  line: number;
  /** Its Package field, read as ASCII; '?' when it has none. */
  package: string;
}

export interface DecodedList {
  /** The list's text; every stanza that is not valid UTF-8 is replaced by as many empty lines, so line numbers stay right. */
  text: string;
  invalid: InvalidStanza[];
}

const strict = new TextDecoder('utf-8', { fatal: true });

function isBlank(bytes: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const b = bytes[i] as number;
    if (b !== 0x20 && b !== 0x09 && b !== 0x0d) return false;
  }
  return true;
}

function packageOf(stanza: Buffer): string {
  return /^Package:[ \t]*(\S+)/m.exec(stanza.toString('latin1'))?.[1] ?? '?';
}

/**
 * Decodes an apt list (deb822 stanzas separated by blank lines) as strict UTF-8. Lists are UTF-8
 * by Debian Policy; a stanza that is not (a Latin-1 description, a corrupted download) is left
 * out and reported, never decoded with U+FFFD in place of its bytes. A newline byte cannot occur
 * inside a UTF-8 sequence, so cutting at lines is safe.
 */
export function decodeAptList(bytes: Buffer, file: string): DecodedList {
  try {
    return { text: strict.decode(bytes), invalid: [] };
  } catch {
    // Some stanza is not UTF-8: decode stanza by stanza to find which.
  }
  const parts: string[] = [];
  const invalid: InvalidStanza[] = [];
  let chunkStart = 0;
  let chunkLine = 1;
  let lineNo = 1;
  // A chunk is a stanza with the blank line that ends it.
  const flush = (end: number): void => {
    if (end === chunkStart) return;
    const chunk = bytes.subarray(chunkStart, end);
    try {
      parts.push(strict.decode(chunk));
    } catch {
      invalid.push({ file, line: chunkLine, package: packageOf(chunk) });
      parts.push('\n'.repeat(newlines(chunk)));
    }
    chunkStart = end;
    chunkLine = lineNo;
  };
  let pos = 0;
  while (pos < bytes.length) {
    const nl = bytes.indexOf(0x0a, pos);
    const lineEnd = nl < 0 ? bytes.length : nl;
    const blank = isBlank(bytes, pos, lineEnd);
    pos = nl < 0 ? bytes.length : nl + 1;
    lineNo += 1;
    if (blank) flush(pos);
  }
  flush(bytes.length);
  return { text: parts.join(''), invalid };
}

function newlines(bytes: Uint8Array): number {
  let n = 0;
  for (const b of bytes) if (b === 0x0a) n += 1;
  return n;
}
