// GPT-2's byte-level alphabet: every byte gets a printable Unicode character, so any UTF-8
// text is a string over 256 symbols and a tokenizer never meets an unknown character. Bytes
// that are already printable and unambiguous (! to ~, ¡ to ¬, ® to ÿ) stand for themselves; the
// other 68 (controls, space, DEL, NBSP, soft hyphen) are shifted to U+0100 onwards, in byte order.
// Hugging Face's ByteLevel pre-tokenizer and decoder use exactly this table.

function buildTable(): string[] {
  const table: string[] = new Array<string>(256);
  const printable = (b: number): boolean => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  let shifted = 0;
  for (let b = 0; b < 256; b++) table[b] = String.fromCharCode(printable(b) ? b : 256 + shifted++);
  return table;
}

/** BYTE_TO_CHAR[b] is the character that stands for byte b. */
export const BYTE_TO_CHAR: readonly string[] = buildTable();

const CHAR_TO_BYTE = new Map<string, number>(BYTE_TO_CHAR.map((ch, b) => [ch, b]));

const encoder = new TextEncoder();

/** A text's UTF-8 bytes spelled in the byte-level alphabet. */
export function toByteLevel(text: string): string {
  let out = '';
  for (const b of encoder.encode(text)) out += BYTE_TO_CHAR[b];
  return out;
}

/** The bytes a byte-level string stands for; throws on a character outside the alphabet. */
export function fromByteLevel(symbols: string): Uint8Array {
  const bytes = new Uint8Array(symbols.length);
  for (let i = 0; i < symbols.length; i++) {
    const b = CHAR_TO_BYTE.get(symbols[i]!);
    if (b === undefined) throw new Error(`'${symbols[i]}' is not a byte-level character`);
    bytes[i] = b;
  }
  return bytes;
}
