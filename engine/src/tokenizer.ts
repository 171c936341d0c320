// A thin wrapper over @huggingface/tokenizers: it reads a model folder's tokenizer.json (and
// tokenizer_config.json beside it), names the file in every error, and gives the engine
// camelCase calls with the same defaults as transformers (special tokens added on encode, kept on
// decode).
import { readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { statSync } from 'node:fs';
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
  static async load(path: string): Promise<Tokenizer> {
    const file = isDirectory(path) ? join(path, 'tokenizer.json') : path;
    const json = await readJson(file, true);
    const config = (await readJson(join(dirname(file), 'tokenizer_config.json'), false)) ?? {};
    const { Tokenizer: Impl } = await import('@huggingface/tokenizers');
    let inner: HfTokenizer;
    try {
      inner = new Impl(json!, config);
    } catch (err) {
      throw new Error(`${basename(file)}: cannot build a tokenizer from ${file}: ${(err as Error).message}`, { cause: err });
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

/** A JSON object from `path`; a missing optional file gives undefined. */
async function readJson(path: string, required: boolean): Promise<Record<string, unknown> | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if (!required && (err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`${basename(path)}: cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new Error(`${basename(path)}: ${path} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${basename(path)}: ${path} is not a JSON object`);
  return value as Record<string, unknown>;
}

function largestId(inner: HfTokenizer): number {
  let max = -1;
  for (const id of inner.get_vocab(true).values()) if (id > max) max = id;
  return max;
}
