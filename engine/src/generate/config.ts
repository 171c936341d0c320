// What a generation call may ask for, and how a checkpoint's generation_config.json fills in what
// a caller leaves unsaid (resolveGenerationConfig), as transformers' generate() reads that file.
import type { GenerationDefaults } from '../checkpoint/types';

export interface GenerationConfig {
  maxNewTokens: number;
  /**
   * Prompt and output together at most this many tokens, the longest prompt of a batch (or the
   * continued state's length) counting for every row, as transformers' max_length does with
   * padding (0 = off). Only generation_config.json sets it here, and max_new_tokens wins.
   */
  maxLength: number;
  /** 0 means greedy (argmax); otherwise logits are divided by it before sampling. */
  temperature: number;
  /** Keep only the k most likely tokens (0 = off). */
  topK: number;
  /** Keep the smallest set of tokens whose probability reaches p (1 = off). */
  topP: number;
  /** Seed of the sampler's generator: the same seed gives the same output. */
  seed: number;
  /** Token ids that end a row (the checkpoint's eos ids are added unless `ignoreEos`). */
  stopTokenIds: number[];
  /**
   * Text that ends a row; the returned text stops before it, and no part of it is streamed. Found
   * in the decoded text, so the text of a special token that decoding skips is never found: give
   * its id in stopTokenIds (specialTokenStops does so, as `hdlm generate --stop "<|end|>"`).
   */
  stopStrings: string[];
  ignoreEos: boolean;
  /**
   * Every token already in the row (prompt and output) has its logit divided by this, or
   * multiplied when negative, so it is less likely again (transformers' repetition_penalty;
   * 1 = off). Applies to greedy decoding too.
   */
  repetitionPenalty: number;
  /** No n-gram of this many tokens occurs twice in the row (no_repeat_ngram_size; 0 = off). */
  noRepeatNgramSize: number;
}

export const DEFAULTS: GenerationConfig = {
  maxNewTokens: 64,
  maxLength: 0,
  temperature: 0,
  topK: 0,
  topP: 1,
  seed: 0,
  stopTokenIds: [],
  stopStrings: [],
  ignoreEos: false,
  repetitionPenalty: 1,
  noRepeatNgramSize: 0,
};

/** Checks a config; returns it or throws an error naming the first bad field. */
export function validateGenerationConfig(c: GenerationConfig): GenerationConfig {
  const fail = (field: string, rule: string, value: unknown): never => {
    throw new Error(`generation: ${field} must be ${rule}, got ${JSON.stringify(value)}`);
  };
  if (!Number.isInteger(c.maxNewTokens) || c.maxNewTokens < 0) fail('maxNewTokens', 'a whole number ≥ 0', c.maxNewTokens);
  if (!Number.isInteger(c.maxLength) || c.maxLength < 0) fail('maxLength', 'a whole number ≥ 0', c.maxLength);
  if (!(c.temperature >= 0) || !Number.isFinite(c.temperature)) fail('temperature', 'a finite number ≥ 0', c.temperature);
  if (!Number.isInteger(c.topK) || c.topK < 0) fail('topK', 'a whole number ≥ 0', c.topK);
  if (!(c.topP > 0 && c.topP <= 1)) fail('topP', 'in (0, 1]', c.topP);
  if (!Number.isInteger(c.seed)) fail('seed', 'a whole number', c.seed);
  if (c.stopStrings.some((s) => s.length === 0)) fail('stopStrings', 'non-empty strings', c.stopStrings);
  if (!(c.repetitionPenalty > 0) || !Number.isFinite(c.repetitionPenalty)) fail('repetitionPenalty', 'a finite number > 0', c.repetitionPenalty);
  if (!Number.isInteger(c.noRepeatNgramSize) || c.noRepeatNgramSize < 0) fail('noRepeatNgramSize', 'a whole number ≥ 0', c.noRepeatNgramSize);
  return c;
}

/** transformers' GenerationConfig defaults for the sampling fields a file may leave out. */
const TRANSFORMERS_SAMPLING = { temperature: 1, topK: 50, topP: 1 };

export interface ResolvedGeneration {
  config: GenerationConfig;
  /** Where each setting that differs from DEFAULTS came from. */
  sources: Partial<Record<keyof GenerationConfig, 'asked' | 'generation_config.json'>>;
  /** What the checkpoint asks for that is not followed, or settings that have no effect, in words. */
  notes: string[];
}

/**
 * The settings of one generation: what the caller asked for, else what the checkpoint's
 * generation_config.json says, else DEFAULTS. The file is read as transformers reads it: without
 * `do_sample: true` decoding is greedy and its temperature/top_k/top_p are ignored; with it, the
 * fields it leaves out take transformers' defaults (temperature 1, top_k 50, top_p 1). A caller's
 * temperature > 0 samples whatever the file says, and 0 is greedy.
 */
export function resolveGenerationConfig(checkpoint: GenerationDefaults, asked: Partial<GenerationConfig>): ResolvedGeneration {
  const fromFile = checkpointGeneration(checkpoint);
  const given = Object.fromEntries(Object.entries(asked).filter(([, v]) => v !== undefined)) as Partial<GenerationConfig>;
  // An asked max_new_tokens wins over the file's max_length, as in transformers.
  if (given.maxNewTokens !== undefined && given.maxLength === undefined) delete fromFile.config.maxLength;
  const config = validateGenerationConfig({ ...DEFAULTS, ...fromFile.config, ...given });
  const sources: ResolvedGeneration['sources'] = {};
  for (const key of Object.keys(fromFile.config) as (keyof GenerationConfig)[]) sources[key] = 'generation_config.json';
  for (const key of Object.keys(given) as (keyof GenerationConfig)[]) sources[key] = 'asked';
  const notes = [...fromFile.notes];
  if (config.temperature === 0) {
    const unused = (['topK', 'topP'] as const).filter((k) => sources[k] === 'asked' && config[k] !== DEFAULTS[k]);
    if (unused.length > 0) notes.push(`${unused.join(' and ')} ignored: decoding is greedy (temperature 0)`);
  }
  return { config, sources, notes };
}

/** The part of a GenerationConfig that generation_config.json sets, and what of it is not followed. */
function checkpointGeneration(g: GenerationDefaults): { config: Partial<GenerationConfig>; notes: string[] } {
  const config: Partial<GenerationConfig> = {};
  const notes: string[] = [];
  if (g.maxNewTokens !== undefined) config.maxNewTokens = g.maxNewTokens;
  else if (g.maxLength !== undefined) {
    // max_length alone bounds the output by what the prompt leaves of it (generator), so the
    // engine's own default of new tokens must not cut it shorter.
    config.maxLength = g.maxLength;
    config.maxNewTokens = g.maxLength;
  }
  if (g.repetitionPenalty !== undefined) config.repetitionPenalty = g.repetitionPenalty;
  if (g.noRepeatNgramSize !== undefined) config.noRepeatNgramSize = g.noRepeatNgramSize;
  if (g.doSample === true) {
    config.temperature = g.temperature ?? TRANSFORMERS_SAMPLING.temperature;
    config.topK = g.topK ?? TRANSFORMERS_SAMPLING.topK;
    config.topP = g.topP ?? TRANSFORMERS_SAMPLING.topP;
  } else {
    // Absent, do_sample is false in transformers too: greedy, which DEFAULTS already is.
    if (g.doSample === false) config.temperature = 0;
    const set = [g.temperature !== undefined ? 'temperature' : '', g.topK !== undefined ? 'top_k' : '', g.topP !== undefined ? 'top_p' : ''].filter(Boolean);
    if (set.length > 0) notes.push(`generation_config.json: ${set.join(', ')} ignored without "do_sample": true (greedy, as transformers decodes)`);
  }
  if (g.numBeams !== undefined && g.numBeams > 1) notes.push(`generation_config.json: "num_beams": ${g.numBeams} not followed: decoding here is one token at a time (greedy or sampled), not beam search`);
  return { config, notes };
}
