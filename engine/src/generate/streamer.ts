// What a row streams as it generates: the growth of its decoded text, held back while it may
// still change, so that the streamed pieces always add up to the row's final text. The text is
// always the decode of all the row's tokens (the same decode that gives the final text): a decoder
// need not be a concatenation of per-token pieces.

/**
 * Endings that transformers' clean_up_tokenization_spaces rewrites (Llama 3's tokenizer sets it;
 * @huggingface/tokenizers follows it): "Hello ," decodes to "Hello," once the comma comes. A text
 * that ends in the start of one (a space, " n'", " 'v") may lose that space with the next token.
 */
const CLEANUP_ENDINGS = [' .', ' ?', ' !', ' ,', " ' ", " n't", " 'm", " 's", " 've", " 're"];

export class RowStream {
  /** The decode of the row's tokens so far, up to its last complete character. */
  private decoded = '';
  /** The part of it streamed so far. */
  private sent = '';
  /** Set when the row ended: its final text. */
  private final: string | undefined;
  private readonly endings: readonly string[];

  /** `stopStrings`: text that ends the row, never streamed; a text ending in its start waits. */
  constructor(stopStrings: readonly string[]) {
    this.endings = [...CLEANUP_ENDINGS, ...stopStrings];
  }

  /**
   * Takes the decode of all the row's tokens after its newest one and returns it up to its last
   * complete character (byte-level tokens can end inside one): the text to look for stop strings in.
   */
  update(decoded: string): string {
    this.decoded = decoded.replace(/\uFFFD+$/, '');
    return this.decoded;
  }

  /**
   * The text to stream now. While the row goes on, only what can no longer change: not the start
   * of a stop string or of a clean-up ending at its end. When it `ends`, the rest of its final
   * text: cut before a stop string at `cut`.
   */
  piece(ends: { cut?: number } | false): string {
    const settled = ends ? this.decoded.slice(0, ends.cut) : this.decoded.slice(0, this.decoded.length - heldBack(this.decoded, this.endings));
    if (ends) this.final = settled;
    // Text already streamed is never taken back: a decode that rewrote it (no known decoder
    // does, past what is held back) streams nothing more until it agrees again.
    if (!settled.startsWith(this.sent)) return '';
    const piece = settled.slice(this.sent.length);
    this.sent = settled;
    return piece;
  }

  /**
   * The row's text: its final text once it ended, else (cancelled between tokens, with no token
   * to carry the rest) what was streamed, so the streamed pieces still add up to it.
   */
  get text(): string {
    return this.final ?? this.sent;
  }
}

/** How many characters at the end of `text` are a proper start of one of `endings`: the most that can still change. */
export function heldBack(text: string, endings: readonly string[]): number {
  const longest = Math.max(0, ...endings.map((e) => e.length));
  for (let k = Math.min(text.length, longest - 1); k > 0; k--) {
    const tail = text.slice(text.length - k);
    if (endings.some((e) => e.length > k && e.startsWith(tail))) return k;
  }
  return 0;
}
