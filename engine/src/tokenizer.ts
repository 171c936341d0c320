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
  private constructor(
    private readonly inner: HfTokenizer,
    /** Absolute path of the tokenizer.json this was read from. */
    readonly path: string,
    /** One past the largest token id, added tokens included: the rows an embedding needs. */
    readonly vocabSize: number,
  ) {}

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
    return new Tokenizer(inner, file, largestId(inner) + 1);
  }

  encode(text: string, options: EncodeOptions = {}): number[] {
    return this.inner.encode(text, { add_special_tokens: options.addSpecialTokens ?? true }).ids;
  }

  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    return this.inner.decode([...ids], { skip_special_tokens: options.skipSpecialTokens ?? false });
  }

  /** The id of a token string (a vocabulary entry or an added token), or undefined. */
  tokenId(token: string): number | undefined {
    return this.inner.token_to_id(token);
  }

  /** The token string of an id, or undefined. */
  token(id: number): string | undefined {
    return this.inner.id_to_token(id);
  }
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
