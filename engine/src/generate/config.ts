// What a generation call may ask for. Defaults come from the checkpoint's generation_config.json
// where it has them (see resolveGenerationConfig), else from DEFAULTS.

export interface GenerationConfig {
  maxNewTokens: number;
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
  /** Text that ends a row; the returned text stops before it. */
  stopStrings: string[];
  ignoreEos: boolean;
}

export const DEFAULTS: GenerationConfig = {
  maxNewTokens: 64,
  temperature: 0,
  topK: 0,
  topP: 1,
  seed: 0,
  stopTokenIds: [],
  stopStrings: [],
  ignoreEos: false,
};

/** Checks a config; returns it or throws an error naming the first bad field. */
export function validateGenerationConfig(c: GenerationConfig): GenerationConfig {
  const fail = (field: string, rule: string, value: unknown): never => {
    throw new Error(`generation: ${field} must be ${rule}, got ${JSON.stringify(value)}`);
  };
  if (!Number.isInteger(c.maxNewTokens) || c.maxNewTokens < 0) fail('maxNewTokens', 'a whole number ≥ 0', c.maxNewTokens);
  if (!(c.temperature >= 0) || !Number.isFinite(c.temperature)) fail('temperature', 'a finite number ≥ 0', c.temperature);
  if (!Number.isInteger(c.topK) || c.topK < 0) fail('topK', 'a whole number ≥ 0', c.topK);
  if (!(c.topP > 0 && c.topP <= 1)) fail('topP', 'in (0, 1]', c.topP);
  if (!Number.isInteger(c.seed)) fail('seed', 'a whole number', c.seed);
  if (c.stopStrings.some((s) => s.length === 0)) fail('stopStrings', 'non-empty strings', c.stopStrings);
  return c;
}
