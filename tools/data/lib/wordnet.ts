// A reader for the WordNet 3.0 noun data file (data.noun, format wndb(5WN)) as Debian's
// wordnet-base installs it in /usr/share/wordnet. Only what the datasets need is kept: the
// lemmas, the lexicographer file, the hypernym pointers and the gloss.
import { SourceError } from './sources';

export interface Synset {
  /** Eight-digit byte offset of the line in data.noun: WordNet 3.0's id for the synset. */
  offset: string;
  /** Lexicographer file name, e.g. 'noun.animal'. */
  lexFile: string;
  /** Lemmas in file order, underscores turned into spaces. The first is the headword. */
  words: string[];
  /** Offsets of the hypernyms ('@') and instance hypernyms ('@i'), in file order. */
  hypernyms: string[];
  gloss: string;
}

/**
 * Noun lexicographer files by number, from lexnames(5WN). Debian's wordnet-base does not ship
 * the lexnames file, and the numbering is fixed for WordNet 3.0, so the table lives here.
 */
export const NOUN_LEXFILES: Readonly<Record<number, string>> = {
  3: 'noun.Tops', 4: 'noun.act', 5: 'noun.animal', 6: 'noun.artifact', 7: 'noun.attribute',
  8: 'noun.body', 9: 'noun.cognition', 10: 'noun.communication', 11: 'noun.event', 12: 'noun.feeling',
  13: 'noun.food', 14: 'noun.group', 15: 'noun.location', 16: 'noun.motive', 17: 'noun.object',
  18: 'noun.person', 19: 'noun.phenomenon', 20: 'noun.plant', 21: 'noun.possession', 22: 'noun.process',
  23: 'noun.quantity', 24: 'noun.relation', 25: 'noun.shape', 26: 'noun.state', 27: 'noun.substance',
  28: 'noun.time',
};

/** A data line that does not follow wndb(5WN); the caller adds the file and line number. */
export class WordNetFormatError extends Error {}

/** Reads tokens left to right, naming the expected field when one is malformed. */
class Tokens {
  private index = 0;
  constructor(private readonly tokens: readonly string[]) {}

  next(field: string, pattern: RegExp): string {
    const token = this.tokens[this.index++];
    if (token === undefined) throw new WordNetFormatError(`line ends before the ${field}`);
    if (!pattern.test(token)) throw new WordNetFormatError(`expected the ${field} (${pattern.source}), found '${token}'`);
    return token;
  }

  get done(): boolean {
    return this.index >= this.tokens.length;
  }
}

/** `offset lex_filenum n w_cnt (word lex_id)+ p_cnt (ptr offset pos src/tgt)* | gloss` */
export function parseDataLine(line: string): Synset {
  const bar = line.indexOf(' | ');
  if (bar < 0) throw new WordNetFormatError(`no ' | ' separating the fields from the gloss`);
  const t = new Tokens(line.slice(0, bar).trim().split(/ +/));
  const offset = t.next('synset offset', /^\d{8}$/);
  const lexNumber = Number(t.next('lexicographer file number', /^\d{2}$/));
  const lexFile = NOUN_LEXFILES[lexNumber];
  if (lexFile === undefined) throw new WordNetFormatError(`lexicographer file number ${lexNumber} is not a noun file (03-28)`);
  t.next('synset type', /^n$/);
  const wordCount = parseInt(t.next('word count', /^[0-9a-f]{2}$/), 16);
  const words: string[] = [];
  for (let i = 0; i < wordCount; i++) {
    words.push(t.next('word', /^\S+$/).replace(/_/g, ' '));
    t.next('lex_id', /^[0-9a-f]$/);
  }
  const pointerCount = Number(t.next('pointer count', /^\d{3}$/));
  const hypernyms: string[] = [];
  for (let i = 0; i < pointerCount; i++) {
    const symbol = t.next('pointer symbol', /^[!@~#%+;\-=*>^$&<\\][a-z]?$/);
    const target = t.next('pointer offset', /^\d{8}$/);
    const pos = t.next('pointer part of speech', /^[nvasr]$/);
    t.next('pointer source/target', /^[0-9a-f]{4}$/);
    if ((symbol === '@' || symbol === '@i') && pos === 'n') hypernyms.push(target);
  }
  if (!t.done) throw new WordNetFormatError(`unexpected fields after ${pointerCount} pointers`);
  const gloss = line.slice(bar + 3).trim();
  return { offset, lexFile, words, hypernyms, gloss };
}

/**
 * Parses the whole file. The licence header lines start with two spaces. With checkOffsets,
 * every synset offset must equal the byte position of its line: the cheapest proof that the
 * file is an unmodified WordNet 3.0 data file, read with one byte per character ('latin1').
 */
export function parseNounData(text: string, file: string, options: { checkOffsets: boolean }): Map<string, Synset> {
  const synsets = new Map<string, Synset>();
  let position = 0;
  const lines = text.split('\n');
  lines.forEach((line, index) => {
    const start = position;
    position += line.length + 1;
    if (line === '' || line.startsWith('  ')) return;
    const where = `${file}:${index + 1}`;
    let synset: Synset;
    try {
      synset = parseDataLine(line);
    } catch (err) {
      if (!(err instanceof WordNetFormatError)) throw err;
      throw new SourceError(`${where}: ${err.message}; expected a WordNet 3.0 data.noun line (wndb(5WN)) as Debian's wordnet-base installs it`);
    }
    if (options.checkOffsets && Number(synset.offset) !== start) {
      throw new SourceError(`${where}: synset offset ${synset.offset} is not the line's byte position ${start}; the file was changed or is not WordNet 3.0's data.noun (reinstall wordnet-base)`);
    }
    synsets.set(synset.offset, synset);
  });
  if (synsets.size === 0) throw new SourceError(`${file}: no synsets found; expected WordNet 3.0's data.noun (Debian package wordnet-base)`);
  for (const s of synsets.values()) {
    const missing = s.hypernyms.find((h) => !synsets.has(h));
    if (missing !== undefined) throw new SourceError(`${file}: synset ${s.offset} points to hypernym ${missing}, which is not in the file`);
  }
  return synsets;
}

/**
 * The path root → synset that always follows the first listed hypernym. WordNet nouns have
 * multiple inheritance; taking the first pointer makes the choice deterministic and, because a
 * synset's path above it is its own first path, makes every ancestor's parent unique.
 */
export function firstHypernymPath(synsets: ReadonlyMap<string, Synset>, offset: string, cache = new Map<string, string[]>()): string[] {
  const chain: string[] = [];
  const onChain = new Set<string>();
  let current: string | undefined = offset;
  let above: string[] = [];
  while (current !== undefined) {
    const known = cache.get(current);
    if (known !== undefined) {
      above = known;
      break;
    }
    if (onChain.has(current)) throw new SourceError(`WordNet hypernym cycle through synset ${current}`);
    onChain.add(current);
    chain.push(current);
    const synset = synsets.get(current);
    if (synset === undefined) throw new SourceError(`unknown WordNet synset ${current}`);
    current = synset.hypernyms[0];
  }
  // Fill the cache from the top down so each prefix is shared by all its descendants.
  let path = above;
  for (let i = chain.length - 1; i >= 0; i--) {
    path = [...path, chain[i] as string];
    cache.set(chain[i] as string, path);
  }
  return path;
}

/** Lemmas this short ('a', 'in', 'at' are nouns too) would blank ordinary words of the gloss. */
export const MIN_MASKED_LENGTH = 3;
export const MASK = '___';

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Replaces the synset's own lemmas (and their plural or possessive forms) in its gloss with a
 * blank, so that a model asked for the word cannot copy it from the examples.
 */
export function maskWords(gloss: string, words: readonly string[]): string {
  const lower = gloss.toLowerCase();
  // Building a RegExp per synset is the slow part; most glosses never mention their own words.
  const forms = [...new Set(words.map((w) => w.toLowerCase()).filter((w) => w.length >= MIN_MASKED_LENGTH && lower.includes(w)))];
  if (forms.length === 0) return gloss;
  forms.sort((a, b) => b.length - a.length || (a < b ? -1 : 1));
  // WordNet 3.0 is ASCII, so ASCII word boundaries are exact.
  const pattern = new RegExp(`(?<![A-Za-z0-9])(?:${forms.map(escapeRegExp).join('|')})(?:s|es|'s)?(?![A-Za-z0-9])`, 'gi');
  return gloss.replace(pattern, MASK);
}
