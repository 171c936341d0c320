// A thin wrapper over @huggingface/tokenizers: it reads a model folder's tokenizer.json (and
// tokenizer_config.json beside it), names the file in every error, and gives the engine
// camelCase calls with the same defaults as transformers (special tokens added on encode, kept on
// decode).
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { readJsonObject } from './jsonFile';
// The package is ESM-only in its types; the engine is CommonJS, so the class is loaded with a
// dynamic import (esbuild bundles it) and only its type is imported statically.
import type { Tokenizer as HfTokenizer } from '@huggingface/tokenizers' with { 'resolution-mode': 'import' };

export interface EncodeOptions {
  /** Add the tokenizer's special tokens (BOS and the like) as its post-processor says; default true. */
  addSpecialTokens?: boolean;
}

export interface DecodeOptions {
  /** Drop special tokens from the text; default false. */
  skipSpecialTokens?: boolean;
}

export class Tokenizer {
  /** Ids of the special added tokens (<|end|>, <|eos|>, …): never the encoding of text (encode). */
  private readonly addedIds: Set<number>;
  /** The same tokenizer with no special added tokens, built the first time a text spells one. */
  private textOnly: HfTokenizer | undefined;
  /** What the post-processor puts around a text's ids when special tokens are added. */
  private frame: { before: number[]; after: number[] } | undefined;
  /** longestTokenChars, once computed. */
  private longestToken: number | undefined;

  private constructor(
    private readonly inner: HfTokenizer,
    /** Builds `textOnly`. */
    private readonly withoutAddedTokens: () => HfTokenizer,
    /** Absolute path of the tokenizer.json this was read from. */
    readonly path: string,
    /** One past the largest token id, added tokens included: the rows an embedding needs. */
    readonly vocabSize: number,
  ) {
    this.addedIds = new Set([...inner.get_added_tokens_decoder()].filter(([, token]) => token.special).map(([id]) => id));
  }

  /** `path` is a tokenizer.json file or the folder that holds one. */
  static load(path: string): Promise<Tokenizer> {
    return Tokenizer.fromFile(isDirectory(path) ? join(path, 'tokenizer.json') : path);
  }

  /** A tokenizer.json file, with the tokenizer_config.json beside it when there is one. */
  static async fromFile(file: string): Promise<Tokenizer> {
    const json = readJsonObject(file);
    const configFile = join(dirname(file), 'tokenizer_config.json');
    const config = existsSync(configFile) ? readJsonObject(configFile) : {};
    const { Tokenizer: Impl } = await import('@huggingface/tokenizers');
    let inner: HfTokenizer;
    try {
      inner = new Impl(json, config);
    } catch (err) {
      throw new Error(`${file}: cannot build a tokenizer: ${(err as Error).message}`, { cause: err });
    }
    // The same files with the special tokens left out of the added-token list: their text is then
    // ordinary text. Added tokens that are not special (words a model's authors added) still
    // match, as they do in transformers with split_special_tokens.
    const addedTokens = Array.isArray(json.added_tokens) ? (json.added_tokens as { special?: unknown }[]) : [];
    const withoutAddedTokens = (): HfTokenizer => new Impl({ ...json, added_tokens: addedTokens.filter((t) => t.special !== true) }, config);
    return new Tokenizer(inner, withoutAddedTokens, file, largestId(inner) + 1);
  }

  /**
   * The ids of a text, always as plain text: what a user or a dataset writes never becomes a
   * special token, even when it spells one ("<|end|>", "<|assistant|>", "<|eos|>" …), or a typed
   * input could close its own turn, open the answer, or end the sequence. This is transformers'
   * `split_special_tokens=True`. Special tokens come only from
   * `addSpecialTokens` (the post-processor's BOS and the like) or as ids (SequenceFormat's roles).
   *
   * @huggingface/tokenizers has no such option: its encode always matches added tokens. So a text
   * whose ids hold a special one is encoded again by the same tokenizer built without its special
   * tokens (made once, on the first such text: most texts never spell one, and it holds a second
   * copy of the vocabulary). That gives the tokens the text itself gives, merges across the
   * marker included; encoding the pieces around each marker apart would split words at every cut
   * and, with a normalizer that prepends "▁" (SentencePiece), add a space to each piece.
   */
  encode(text: string, options: EncodeOptions = {}): number[] {
    const ids = this.textIds(text);
    if (!(options.addSpecialTokens ?? true)) return ids;
    const { before, after } = (this.frame ??= this.postProcessorFrame());
    return [...before, ...ids, ...after];
  }

  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    return this.inner.decode([...ids], { skip_special_tokens: options.skipSpecialTokens ?? false });
  }

  /** The id of a special token (added, and skipped by decode's skipSpecialTokens) whose text is `content`, or undefined. */
  specialTokenId(content: string): number | undefined {
    const id = this.inner.token_to_id(content);
    return id !== undefined && this.inner.get_added_tokens_decoder().get(id)?.special === true ? id : undefined;
  }

  /** A text's ids with no special token among them (encode). */
  private textIds(text: string): number[] {
    const ids: number[] = this.inner.encode(text, { add_special_tokens: false }).ids;
    if (!ids.some((id: number) => this.addedIds.has(id))) return ids;
    this.textOnly ??= this.withoutAddedTokens();
    return this.textOnly.encode(text, { add_special_tokens: false }).ids;
  }

  /**
   * The ids the post-processor adds before and after a text (BOS, or CLS … SEP): found once by
   * post-processing a one-token stand-in, since a text's own ids come from `textIds`.
   */
  private postProcessorFrame(): { before: number[]; after: number[] } {
    const standIn = '\u0000text';
    const tokens = this.inner.post_processor ? this.inner.post_processor([standIn], null, true).tokens : [standIn];
    const at = tokens.indexOf(standIn);
    const ids = (list: string[]): number[] => list.map((t) => this.inner.token_to_id(t) ?? fail(`${this.path}: the post-processor adds ${JSON.stringify(t)}, which is no token`));
    return { before: ids(tokens.slice(0, at)), after: ids(tokens.slice(at + 1)) };
  }

  /** The id of a token string (a vocabulary entry or an added token), or undefined. */
  tokenId(token: string): number | undefined {
    return this.inner.token_to_id(token);
  }

  /** The token string of an id, or undefined. */
  token(id: number): string | undefined {
    return this.inner.id_to_token(id);
  }

  /**
   * The longest vocabulary entry, in characters (at least 1), found once. No token covers more
   * characters of a text than this: a byte-level entry has a character per byte, and a character
   * takes at least one byte (at most two UTF-16 units for four bytes); a SentencePiece entry spells
   * its text with ▁ for the space. So a text of more than n × this characters needs more than n
   * tokens, which is known without tokenizing it (a 20 MB line takes 18 s and 1 GB to tokenize).
   */
  longestTokenChars(): number {
    if (this.longestToken === undefined) {
      let longest = 1;
      for (let id = 0; id < this.vocabSize; id++) longest = Math.max(longest, this.token(id)?.length ?? 0);
      this.longestToken = longest;
    }
    return this.longestToken;
  }

  /** The fewest tokens `text` can encode to (longestTokenChars), without encoding it. */
  fewestTokens(text: string): number {
    return Math.ceil(text.length / this.longestTokenChars());
  }
}

function fail(message: string): never {
  throw new Error(message);
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function largestId(inner: HfTokenizer): number {
  let max = -1;
  for (const id of inner.get_vocab(true).values()) if (id > max) max = id;
  return max;
}
