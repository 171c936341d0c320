// Loading a tokenizer with @huggingface/tokenizers (tokenizers.js), the library the engine uses.
// The package is an ES module whose .d.ts files import each other without file extensions, so
// under our "module": "Node16" setting TypeScript resolves its exports to `any`. This interface
// names the part of its API we call, so our code stays type-checked.

export interface HfTokenizer {
  encode(text: string, options?: { add_special_tokens?: boolean }): { ids: number[]; tokens: string[] };
  decode(ids: number[], options?: { skip_special_tokens?: boolean }): string;
  token_to_id(token: string): number | undefined;
  pre_tokenizer: { pre_tokenize(text: string): string[] } | null;
}

/** A tokenizer from parsed tokenizer.json and tokenizer_config.json contents. */
export async function loadHfTokenizer(tokenizerJson: object, tokenizerConfig: object): Promise<HfTokenizer> {
  // import() rather than import: the package is ESM and these scripts are CommonJS bundles.
  const { Tokenizer } = await import('@huggingface/tokenizers');
  return new Tokenizer(tokenizerJson, tokenizerConfig) as HfTokenizer;
}
