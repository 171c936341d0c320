// Corpus assembly: deduplication, the size cap, the held-out split and the output format.
// Everything that chooses is a hash of the document's normalised text, so a document's fate
// does not depend on the order of the others, and two runs over the same packages give the
// same bytes.
import { createHash } from 'node:crypto';

/**
 * Documents in train.txt and heldout.txt end with this line. The tokenizer's end-of-text token
 * is spelled the same, and the cleaners break that spelling apart inside documents, so
 * splitting on it is exact.
 */
export const DOC_SEPARATOR = '\n<|eos|>\n';

export function joinDocuments(texts: readonly string[]): string {
  return texts.map((t) => t + DOC_SEPARATOR).join('');
}

export function splitDocuments(file: string): string[] {
  const parts = file.split(DOC_SEPARATOR);
  if (parts[parts.length - 1] === '') parts.pop();
  return parts;
}

/**
 * The text two near-identical documents share: lower case, letters and digits only. Copies
 * that differ in whitespace, punctuation, markup residue or letter case collapse to one key.
 */
export function nearDuplicateKey(text: string): string {
  return text.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, '');
}

export interface DocumentHashes {
  exact: string;
  near: string;
  /** Uniform in [0, 1): below the held-out fraction means held out. */
  split: number;
  /** Uniform in [0, 1), independent of split: the order of selection under the cap and of output. */
  rank: number;
}

export function documentHashes(text: string, seed: string): DocumentHashes {
  const exact = createHash('sha256').update(text).digest('hex');
  const digest = createHash('sha256').update(seed).update('\0').update(nearDuplicateKey(text)).digest();
  return {
    exact,
    near: digest.toString('hex'),
    split: digest.readUIntBE(0, 6) / 2 ** 48,
    rank: digest.readUIntBE(6, 6) / 2 ** 48,
  };
}

export type Verdict = 'new' | 'exact-duplicate' | 'near-duplicate';

/** Remembers what was seen; the first copy of a text wins. */
export class Deduplicator {
  private readonly exact = new Set<string>();
  private readonly near = new Set<string>();

  check(hashes: DocumentHashes): Verdict {
    if (this.exact.has(hashes.exact)) return 'exact-duplicate';
    if (this.near.has(hashes.near)) {
      this.exact.add(hashes.exact);
      return 'near-duplicate';
    }
    this.exact.add(hashes.exact);
    this.near.add(hashes.near);
    return 'new';
  }
}

/**
 * Shares a byte budget among sources fairly ("water filling"): every source gets an equal
 * share, a source smaller than its share keeps all it has, and what it leaves is shared among
 * the rest. So no single large source (the dictionary) crowds out the others under a cap.
 */
export function waterFill(sizes: readonly number[], budget: number): number[] {
  const quotas = sizes.map(() => 0);
  let open = sizes.map((_, i) => i);
  let left = budget;
  while (open.length > 0 && left > 0) {
    const share = left / open.length;
    const small = open.filter((i) => sizes[i]! <= share);
    if (small.length === 0) {
      for (const i of open) quotas[i] = share;
      break;
    }
    for (const i of small) {
      quotas[i] = sizes[i]!;
      left -= sizes[i]!;
    }
    open = open.filter((i) => sizes[i]! > share);
  }
  return quotas.map(Math.floor);
}

export interface Candidate {
  source: string;
  text: string;
  bytes: number;
  hashes: DocumentHashes;
}

/** The candidates a source keeps under its quota: lowest rank first, skipping any that overflow. */
export function selectUnderQuota(candidates: readonly Candidate[], quota: number): Candidate[] {
  const ordered = [...candidates].sort((a, b) => a.hashes.rank - b.hashes.rank);
  const kept: Candidate[] = [];
  let used = 0;
  for (const c of ordered) {
    if (used + c.bytes > quota) continue;
    kept.push(c);
    used += c.bytes;
  }
  return kept;
}

export interface Tally {
  documents: number;
  bytes: number;
  words: number;
}

export function tally(docs: readonly { text: string; bytes: number }[]): Tally {
  let bytes = 0;
  let words = 0;
  for (const d of docs) {
    bytes += d.bytes;
    words += (d.text.match(/\S+/g) ?? []).length;
  }
  return { documents: docs.length, bytes, words };
}
