// The Hugging Face tokenizer files for a trained byte-level BPE: tokenizer.json (read by
// tokenizers.js in the engine and by Rust/Python tokenizers), tokenizer_config.json (read by
// transformers: special tokens, chat template) and special_tokens_map.json. The field layout
// follows what tokenizers' own serializer writes, so both libraries load the files unchanged.
import { BpeResult } from './bpeTrainer';
import { SPLIT_PATTERN } from './preTokenizer';

/**
 * The special tokens, in id order (ids 0-15, before the 256 byte tokens, so they keep their ids
 * whatever the vocabulary size). Roles follow HdLM's sequence format: system, user (input and
 * level-1 candidates), thought (the level-1 label, read out at an intermediate layer), subtask
 * (the chosen label's children: given, not learnt) and assistant (the answer, at the last layer).
 * Every turn ends with <|end|>; <|eos|> ends a pretraining document. The reserved tokens let a
 * later task add markers without resizing the embedding.
 */
export const SPECIAL_TOKENS = [
  '<|pad|>',
  '<|bos|>',
  '<|eos|>',
  '<|end|>',
  '<|system|>',
  '<|user|>',
  '<|thought|>',
  '<|subtask|>',
  '<|assistant|>',
  ...Array.from({ length: 7 }, (_, i) => `<|reserved_${i}|>`),
] as const;

export const PAD_TOKEN = '<|pad|>';
export const BOS_TOKEN = '<|bos|>';
export const EOS_TOKEN = '<|eos|>';
export const END_OF_TURN_TOKEN = '<|end|>';

export const ROLES = ['system', 'user', 'thought', 'subtask', 'assistant'] as const;
export type Role = (typeof ROLES)[number];

export interface ChatMessage {
  role: Role;
  content: string;
}

/**
 * The chat template in Jinja, for transformers' apply_chat_template. It must render exactly
 * what renderChat below renders; README.md shows the layout token by token. A turn is its role
 * token, one space, the content and <|end|>. The space is there because the vocabulary holds
 * words with their leading space (" animal" is one token, "animal" at the start of a text is
 * two), so a label right after its role token costs as few tokens as anywhere else; a
 * generated turn therefore starts with a space, which the reader strips. A generation prompt
 * opens an assistant turn unless the caller passes generation_role (for HdLM, 'thought' after
 * the user turn: the intermediate head speaks first).
 */
export const CHAT_TEMPLATE =
  "{{- bos_token -}}" +
  "{%- for message in messages -%}" +
  "{%- if message['role'] not in ['system', 'user', 'thought', 'subtask', 'assistant'] -%}" +
  "{{- raise_exception('HdLM roles are system, user, thought, subtask and assistant, not ' ~ message['role']) -}}" +
  '{%- endif -%}' +
  "{{- '<|' ~ message['role'] ~ '|> ' ~ message['content'] ~ '<|end|>' -}}" +
  '{%- endfor -%}' +
  '{%- if add_generation_prompt -%}' +
  "{{- '<|' ~ (generation_role if generation_role is defined else 'assistant') ~ '|>' -}}" +
  '{%- endif -%}';

/** The chat template in TypeScript: the text to encode (with add_special_tokens false). */
export function renderChat(messages: readonly ChatMessage[], options: { addGenerationPrompt?: boolean; generationRole?: Role } = {}): string {
  let out = BOS_TOKEN;
  for (const m of messages) {
    if (!ROLES.includes(m.role)) throw new Error(`HdLM roles are ${ROLES.join(', ')}, not ${String(m.role)}`);
    out += `<|${m.role}|> ${m.content}${END_OF_TURN_TOKEN}`;
  }
  if (options.addGenerationPrompt) out += `<|${options.generationRole ?? 'assistant'}|>`;
  return out;
}

/** How a special token matches: whole, never normalized, spaces around it left alone. */
export function specialTokenFields(content: string): Record<string, unknown> {
  return { content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true };
}

/**
 * tokenizer.json's `model` for a byte-level BPE, in the field order tokenizers writes: no unknown
 * token, no dropout, no word prefixes or suffixes, merges always applied.
 */
export function bpeModelSection(vocab: unknown, merges: unknown): Record<string, unknown> {
  return {
    type: 'BPE',
    dropout: null,
    unk_token: null,
    continuing_subword_prefix: null,
    end_of_word_suffix: null,
    fuse_unk: false,
    byte_fallback: false,
    ignore_merges: false,
    vocab,
    merges,
  };
}

/**
 * tokenizer.json as text. vocab and merges are written one entry per line, by hand: a JS object
 * would move integer-like keys ("0", "42") to the front and treat "__proto__" specially.
 */
export function tokenizerJson(bpe: BpeResult): string {
  const bosId = bpe.tokens.indexOf(BOS_TOKEN);
  if (bosId < 0) throw new Error(`${BOS_TOKEN} is not in the vocabulary`);
  const templateToken = (typeId: number): unknown => ({ SpecialToken: { id: BOS_TOKEN, type_id: typeId } });
  const sequence = (id: string, typeId: number): unknown => ({ Sequence: { id, type_id: typeId } });
  const skeleton = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIAL_TOKENS.map((t) => ({ id: bpe.tokens.indexOf(t), ...specialTokenFields(t) })),
    normalizer: null,
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: SPLIT_PATTERN }, behavior: 'Isolated', invert: false },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    },
    // Every encoded text starts with <|bos|> unless the caller asks for no special tokens.
    post_processor: {
      type: 'TemplateProcessing',
      single: [templateToken(0), sequence('A', 0)],
      pair: [templateToken(0), sequence('A', 0), templateToken(1), sequence('B', 1)],
      special_tokens: { [BOS_TOKEN]: { id: BOS_TOKEN, ids: [bosId], tokens: [BOS_TOKEN] } },
    },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: bpeModelSection('@VOCAB@', '@MERGES@'),
  };
  const vocab = bpe.tokens.map((t, id) => `      ${JSON.stringify(t)}: ${id}`).join(',\n');
  const merges = bpe.merges.map(([a, b]) => `      ${JSON.stringify(`${a} ${b}`)}`).join(',\n');
  return (
    JSON.stringify(skeleton, null, 2)
      .replace('"@VOCAB@"', () => `{\n${vocab}\n    }`)
      .replace('"@MERGES@"', () => `[\n${merges}\n    ]`) + '\n'
  );
}

const ADDITIONAL_SPECIAL_TOKENS = SPECIAL_TOKENS.filter((t) => t !== PAD_TOKEN && t !== BOS_TOKEN && t !== EOS_TOKEN);

/** tokenizer_config.json for transformers. */
export function tokenizerConfig(bpe: BpeResult, modelMaxLength: number): Record<string, unknown> {
  const decoder: Record<string, unknown> = {};
  for (const t of SPECIAL_TOKENS) decoder[String(bpe.tokens.indexOf(t))] = specialTokenFields(t);
  return {
    added_tokens_decoder: decoder,
    additional_special_tokens: ADDITIONAL_SPECIAL_TOKENS,
    bos_token: BOS_TOKEN,
    chat_template: CHAT_TEMPLATE,
    // Decoding must give back the exact text; the default clean-up would eat spaces before punctuation.
    clean_up_tokenization_spaces: false,
    eos_token: EOS_TOKEN,
    model_input_names: ['input_ids', 'attention_mask'],
    model_max_length: modelMaxLength,
    pad_token: PAD_TOKEN,
    tokenizer_class: 'PreTrainedTokenizerFast',
  };
}

export function specialTokensMap(): Record<string, unknown> {
  return { bos_token: BOS_TOKEN, eos_token: EOS_TOKEN, pad_token: PAD_TOKEN, additional_special_tokens: ADDITIONAL_SPECIAL_TOKENS };
}
