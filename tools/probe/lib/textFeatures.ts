// Bag-of-words and TF-IDF features of short texts (WordNet glosses, package descriptions), as CSR.
//
// Tokens: the lowercased text's runs of letters and digits, plus the gloss mask `___` as a token
// of its own (whether a gloss quotes an example sentence says something about its category).
// The vocabulary comes from the training split only, so dev and test words unseen in training
// are dropped as they would be for any new input.
import { sparseFromRows, type SparseMatrix } from './matrix';

const TOKEN = /___|[\p{L}\p{N}]+/gu;

export function tokenize(text: string): string[] {
  return text.toLowerCase().match(TOKEN) ?? [];
}

/** Word n-grams from 1 up to `upTo` (bigrams joined by a space). */
export function ngrams(tokens: readonly string[], upTo: number): string[] {
  const out = [...tokens];
  for (let n = 2; n <= upTo; n++) {
    for (let i = 0; i + n <= tokens.length; i++) out.push(tokens.slice(i, i + n).join(' '));
  }
  return out;
}

export interface Vocabulary {
  /** Terms in column order (sorted by code point, so the same corpus gives the same columns). */
  readonly terms: string[];
  readonly index: ReadonlyMap<string, number>;
  /** Per column: number of training documents that contain the term. */
  readonly documentFrequency: Int32Array;
  /** Training documents the frequencies were counted over. */
  readonly documents: number;
}

export interface VocabularyOptions {
  /** Keep terms that occur in at least this many training documents. */
  minDocuments: number;
}

/** Builds the vocabulary from tokenised training documents (already n-grammed if wanted). */
export function buildVocabulary(documents: readonly (readonly string[])[], options: VocabularyOptions): Vocabulary {
  const df = new Map<string, number>();
  for (const doc of documents) {
    for (const term of new Set(doc)) df.set(term, (df.get(term) ?? 0) + 1);
  }
  const terms = [...df.entries()]
    .filter(([, count]) => count >= options.minDocuments)
    .map(([term]) => term)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return {
    terms,
    index: new Map(terms.map((t, i) => [t, i])),
    documentFrequency: Int32Array.from(terms, (t) => df.get(t)!),
    documents: documents.length,
  };
}

/** Per document: column → raw count, over the vocabulary's terms only. */
function termCounts(doc: readonly string[], vocab: Vocabulary): Map<number, number> {
  const counts = new Map<number, number>();
  for (const term of doc) {
    const col = vocab.index.get(term);
    if (col !== undefined) counts.set(col, (counts.get(col) ?? 0) + 1);
  }
  return counts;
}

/** Raw term counts. */
export function bagOfWords(documents: readonly (readonly string[])[], vocab: Vocabulary): SparseMatrix {
  return sparseFromRows(
    documents.map((doc) => [...termCounts(doc, vocab)]),
    vocab.terms.length,
  );
}

/**
 * Smoothed inverse document frequency, ln((1 + N) / (1 + df)) + 1: as if one extra document
 * held every term, so no weight is infinite, and the +1 keeps terms found in every document.
 */
export function inverseDocumentFrequency(vocab: Vocabulary): Float64Array {
  return Float64Array.from(vocab.documentFrequency, (df) => Math.log((1 + vocab.documents) / (1 + df)) + 1);
}

/**
 * TF-IDF with sublinear term frequency, (1 + ln tf) · idf, each row scaled to unit L2 norm so
 * long descriptions and short glosses land on the same scale. A document with no known term
 * stays an empty row.
 */
export function tfidf(documents: readonly (readonly string[])[], vocab: Vocabulary): SparseMatrix {
  const idf = inverseDocumentFrequency(vocab);
  const rows = documents.map((doc) => {
    const row = termCounts(doc, vocab);
    let norm = 0;
    for (const [col, tf] of row) {
      const w = (1 + Math.log(tf)) * idf[col]!;
      row.set(col, w);
      norm += w * w;
    }
    norm = Math.sqrt(norm);
    if (norm > 0) for (const [col, w] of row) row.set(col, w / norm);
    return [...row];
  });
  return sparseFromRows(rows, vocab.terms.length);
}
