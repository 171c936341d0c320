// Debian package descriptions from apt's Translation-en indexes (deb822 stanzas). In a long
// description a line " ." is a blank line, lines with one leading space are wrapped text and
// lines with two or more are shown verbatim (Debian Policy 5.6.13).
import { Block, code, prose, renderBlocks } from './text';

export interface PackageDescription {
  name: string;
  synopsis: string;
  /** The long description as plain text; empty when the package has none. */
  body: string;
}

function bodyText(lines: readonly string[]): string {
  const blocks: Block[] = [];
  let current: string[] = [];
  let verbatim = false;
  const flush = (): void => {
    if (current.length > 0) blocks.push(verbatim ? code(current.join('\n')) : prose(current.join('\n')));
    current = [];
  };
  for (const line of lines) {
    if (line.trim() === '.') {
      flush();
      continue;
    }
    const isVerbatim = line.startsWith('  ');
    if (isVerbatim !== verbatim) flush();
    verbatim = isVerbatim;
    current.push(line.slice(1));
  }
  flush();
  return renderBlocks(blocks);
}

/** Every stanza with a Description-en field, in file order. */
export function parseTranslations(text: string): PackageDescription[] {
  const out: PackageDescription[] = [];
  for (const stanza of text.replace(/\r\n?/g, '\n').split(/\n\s*\n/)) {
    const name = /^Package:\s*(\S+)/m.exec(stanza)?.[1];
    const description = /^Description-en:[ \t]*(.*)\n?((?:[ \t].*\n?)*)/m.exec(stanza);
    if (name === undefined || description === null) continue;
    const body = description[2]!.split('\n').filter((line) => line !== '');
    out.push({ name, synopsis: description[1]!.trim(), body: bodyText(body) });
  }
  return out;
}

/** A description as a document: the name and synopsis as a first line, then the long text. */
export function descriptionDocument(d: PackageDescription): string {
  return d.body !== '' ? `${d.name}: ${d.synopsis}\n\n${d.body}` : `${d.name}: ${d.synopsis}`;
}
