// Pre-tokenization: the regex that cuts text into pieces before BPE, so merges never cross a
// word boundary. It is Llama 3's split with one change: digits are split one by one (as in
// Llama 2 and Mistral) instead of in groups of up to three, so a small vocabulary spends no
// entries on number chunks and every number is spelled the same way.
//   '(?:s|d|m|t|ll|ve|re)      English contractions, either case ("'s", "'LL")
//   [^\r\n\p{L}\p{N}]?\p{L}+   a word, with one leading space or punctuation mark
//   \p{N}                      one digit
//    ?[^\s\p{L}\p{N}]+[\r\n]*  a run of punctuation, with a leading space and trailing newlines
//   \s*[\r\n]+                 whitespace that ends in line breaks
//   \s+(?!\S)|\s+              other whitespace; the last space before a word is left to the word
// The contractions are spelled with character classes rather than (?i:...), which JavaScript
// before Node 23 does not parse.

/** The pattern as tokenizer.json stores it (Oniguruma syntax, read by Rust tokenizers and by tokenizers.js). */
export const SPLIT_PATTERN =
  "'(?:[sSdDmMtT]|[lL][lL]|[vV][eE]|[rR][eE])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/**
 * The same pattern for JavaScript. Oniguruma's \s is Unicode White_Space, while JavaScript's
 * also matches U+FEFF; tokenizers.js rewrites \s to \p{White_Space} for that reason, and so do we,
 * so the trainer cuts text exactly where the runtime will.
 */
export const SPLIT_REGEX = new RegExp(
  SPLIT_PATTERN.replace(/\\s/g, '\\p{White_Space}').replace(/\\S/g, '\\P{White_Space}'),
  'gu',
);

/** The pieces of a text, in order; together they spell the text exactly. */
export function preTokenize(text: string): string[] {
  return text.match(SPLIT_REGEX) ?? [];
}
