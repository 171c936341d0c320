// What a row streams as it generates: the growth of its decoded text, held back while it may
// still change, so that the streamed pieces always add up to the row's final text: the decode of
// all the row's tokens (decoded whole once, when the row ends; a decoder need not be a
// concatenation of per-token pieces).
//
// Between tokens the text is decoded from a window of the newest tokens only, so that a token
// costs the same at the 4,000th as at the first (decoding the whole row at every token cost
// the square of the output's length). The window starts with a few tokens already streamed, as
// context, and their own decode is subtracted from its decode: what a decoder does to the first
// token of what it decodes (Metaspace drops its space) is the same in both, and the bytes of a
// character split between tokens meet in the window. The window moves on once its newest text
// is streamed; it grows only over text held back, a character's bytes, or tokens of spaces only.

/**
 * Endings that transformers' clean_up_tokenization_spaces rewrites (Llama 3's tokenizer sets it;
 * @huggingface/tokenizers follows it): "Hello ," decodes to "Hello," once the comma comes. A text
 * that ends in the start of one (a space, " n'", " 'v") may lose that space with the next token.
 * One gets a space back: "it ' " is cleaned to "it'", but "it ' ," to "it '," (the comma is
 * cleaned first and takes the space " ' " needed), so a text ending in a quote waits too ("' ,").
 */
const CLEANUP_ENDINGS = [' .', ' ?', ' !', ' ,', " ' ", " n't", " 'm", " 's", " 've", " 're", "' ,"];

export class RowStream {
  /**
   * The window: the context's tokens, then the newer tokens that added text. The text of the
   * tokens before the newer ones is all streamed and can no longer change.
   */
  private contextIds: number[] = [];
  private newerIds: number[] = [];
  /** The decode of the context on its own (what the window's decode starts with), and of the window. */
  private context = '';
  private windowText = '';
  /** The text the newer tokens add, up to its last complete character. */
  private tail = '';
  /** Whether `tail` ends where the window's text does: not inside a character. */
  private complete = true;
  /** The row's tokens at the last update, and how many they were then. */
  private tokens: readonly number[] = [];
  private seen = 0;
  /** All the text streamed so far, and its part that the newer tokens add. */
  private sent = '';
  private sentTail = '';
  /** Set when the row ended: its final text. */
  private final: string | undefined;
  private readonly endings: readonly string[];

  /**
   * `decode`: the row's tokens to text. `stopStrings`: text that ends the row, never streamed; a
   * text ending in its start waits.
   */
  constructor(
    private readonly decode: (ids: number[]) => string,
    stopStrings: readonly string[],
  ) {
    this.endings = [...CLEANUP_ENDINGS, ...stopStrings];
  }

  /**
   * Takes all the row's tokens after its newest one and returns its text not streamed yet, up to
   * its last complete character (byte-level tokens can end inside one): the text to look for stop
   * strings in. Streamed text never holds a stop string or its start (they are held back), so
   * none can begin before it.
   */
  update(tokens: readonly number[]): string {
    if (this.complete && this.tail === this.sentTail) this.moveWindow();
    const added = tokens.slice(this.seen);
    [this.tokens, this.seen] = [tokens, tokens.length];
    let window = this.decode([...this.contextIds, ...this.newerIds, ...added]);
    // Tokens that add nothing to a window with text in it (special tokens skipped) add nothing
    // wherever they are: they stay out of it, so that a run of them does not grow it. Not so in
    // an empty window (a decoder drops the first token's space: "" now, " " later), nor after
    // part of a character (its next byte may leave the text one "\uFFFD" still).
    if (window === this.windowText && /[\S\n]/.test(window) && !window.endsWith('\uFFFD')) return this.unsent();
    if (window.startsWith(this.context)) this.newerIds.push(...added);
    else {
      // The context's text changed with what followed it: no known decoder does that past what
      // is held back. The whole row is decoded this once, and the window moves on from there.
      [this.contextIds, this.newerIds, this.context, this.sentTail] = [[], [...tokens], '', this.sent];
      window = this.decode([...tokens]);
    }
    this.windowText = window;
    const text = window.slice(this.context.length);
    this.tail = text.replace(/\uFFFD+$/, '');
    this.complete = this.tail.length === text.length;
    return this.unsent();
  }

  /**
   * The text to stream now. While the row goes on, only what can no longer change: not the start
   * of a stop string or of a clean-up ending at its end. When it `ends`, the rest of its final
   * text: cut before a stop string at `cut` (in the text the last update returned).
   */
  piece(ends: { cut?: number } | false): string {
    if (ends) return this.finish(ends.cut);
    // Text already streamed is never taken back: a decode that rewrote it (no known decoder
    // does, past what is held back) streams nothing more until it agrees again.
    if (!this.tail.startsWith(this.sentTail)) return '';
    const unsent = this.unsent();
    const piece = unsent.slice(0, unsent.length - heldBack(unsent, this.endings));
    this.sent += piece;
    this.sentTail += piece;
    return piece;
  }

  /**
   * The row's text: its final text once it ended, else (cancelled between tokens, with no token
   * to carry the rest) what was streamed, so the streamed pieces still add up to it.
   */
  get text(): string {
    return this.final ?? this.sent;
  }

  /** Ends the row: its final text is the decode of all its tokens, cut at `cut` past what was streamed. */
  private finish(cut: number | undefined): string {
    const whole = this.decode([...this.tokens]).replace(/\uFFFD+$/, '');
    this.final = cut === undefined ? whole : whole.slice(0, this.sent.length + cut);
    return this.final.startsWith(this.sent) ? this.final.slice(this.sent.length) : '';
  }

  /** The text the newer tokens add that is not streamed yet. */
  private unsent(): string {
    return this.tail.slice(this.sentTail.length);
  }

  /**
   * Once the newer tokens' text is all streamed and ends in a whole character, nothing can
   * change it any more (what a clean-up could rewrite or a stop string cut is held back): those
   * tokens become the next window's context, and the context before them leaves the window.
   */
  private moveWindow(): void {
    if (this.newerIds.length === 0) return;
    const context = this.decode(this.newerIds);
    // A decoder may drop the leading space of what it decodes (Metaspace, Strip), a caller all
    // leading spaces (a turn's text): a context of only spaces, or of nothing, would let that
    // reach past it into the new text. Such tokens stay in the window until text follows them.
    if (!/[\S\n]/.test(context)) return;
    [this.contextIds, this.newerIds, this.context, this.windowText, this.tail, this.sentTail] = [this.newerIds, [], context, context, '', ''];
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
