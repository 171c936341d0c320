// `hdlm generate`: stream a completion from any exit layer.
import { generate } from '../../generate/generator';
import { join } from 'node:path';
import { readModelConfig } from '../../checkpoint/config';
import type { GenerationDefaults } from '../../checkpoint/types';
import { resolveGenerationConfig, type GenerationConfig, type ResolvedGeneration } from '../../generate/config';
import { integer, integerList, modelDir, number, UsageError, Values } from '../args';
import { openModel, promptIds, promptInput } from './modelSession';
import { MAX_SEED } from '../../generate/sampler';
import { specialTokenStops } from '../../generate/stopping';

export async function generateCommand(values: Values, positionals: string[], signal: AbortSignal): Promise<void> {
  const layer = values['layer'] === undefined ? undefined : integer(values, 'layer', 0, 1);
  // An early exit needs a segment boundary there; the last layer is always one.
  const L = readModelConfig(join(modelDir(values), 'config.json')).numLayers;
  if (layer !== undefined && layer > L) throw new UsageError(`--layer ${layer}: the model has ${L} layers`);
  const input = promptInput(values, positionals);
  const loaded = await openModel(values, layer !== undefined && layer < L ? [layer] : []);
  try {
    const resolved = generationSettings(values, loaded.checkpoint.generation);
    const { sources, notes } = resolved;
    const prompt = promptIds(loaded, input);
    const tokenizer = loaded.tokenizer;
    const config = tokenizer ? specialTokenStops(resolved.config, (s) => tokenizer.specialTokenId(s)) : resolved.config;
    for (const note of notes) console.error(`hdlm: ${note}`);
    const started = performance.now();
    let firstAt = 0;
    const result = await generate(loaded.model, {
      prompts: [prompt],
      layer: layer !== undefined && layer < L ? layer : L,
      config,
      decode: tokenizer ? (ids) => tokenizer.decode(ids, { skipSpecialTokens: true }) : undefined,
      onToken: (e) => {
        firstAt ||= performance.now();
        if (!values['json']) process.stdout.write(tokenizer ? e.text : `${e.token} `);
      },
      signal,
    });
    const row = result.rows[0]!;
    const seconds = (performance.now() - started) / 1000;
    if (values['json']) {
      console.log(JSON.stringify({ tokens: row.tokens, text: row.text, stop: row.stop, seconds, decoding: decodingSummary(config, sources) }, null, 2));
      return;
    }
    process.stdout.write('\n');
    console.error(`hdlm: ${row.tokens.length} tokens from layer ${layer ?? L} on ${loaded.model.provider}, stop: ${row.stop}${timing(row.tokens.length, started, firstAt)}`);
    console.error(`hdlm: ${describeDecoding(decodingSummary(config, sources))}`);
  } finally {
    await loaded.release();
  }
}

/** ", first token 0.12 s, 40.1 tokens/s after", or nothing when no token came (firstAt 0: none to time). */
function timing(tokens: number, started: number, firstAt: number): string {
  if (tokens === 0 || firstAt === 0) return '';
  const rate = tokens > 1 ? ((tokens - 1) / ((performance.now() - firstAt) / 1000)).toFixed(1) : '-';
  return `, first token ${((firstAt - started) / 1000).toFixed(2)} s, ${rate} tokens/s after`;
}

/**
 * The flags given, over the checkpoint's generation_config.json, over the engine's defaults: a
 * flag left out does not override what the model's authors chose (as transformers' generate()).
 */
function generationSettings(values: Values, checkpoint: GenerationDefaults): ResolvedGeneration {
  const optional = <T>(name: string, read: () => T): T | undefined => (values[name] === undefined ? undefined : read());
  const asked: Partial<GenerationConfig> = {
    maxNewTokens: optional('max-tokens', () => integer(values, 'max-tokens', 0)),
    temperature: optional('temperature', () => number(values, 'temperature', 0)),
    topK: optional('top-k', () => integer(values, 'top-k', 0)),
    topP: optional('top-p', () => number(values, 'top-p', 1)),
    seed: optional('seed', () => integer(values, 'seed', 0, 0, MAX_SEED)),
    stopStrings: values['stop'] as string[] | undefined,
    stopTokenIds: integerList(values, 'stop-ids'),
    repetitionPenalty: optional('repetition-penalty', () => number(values, 'repetition-penalty', 1)),
    noRepeatNgramSize: optional('no-repeat-ngram', () => integer(values, 'no-repeat-ngram', 0)),
    ...(values['ignore-eos'] ? { ignoreEos: true } : {}),
  };
  try {
    return resolveGenerationConfig(checkpoint, asked);
  } catch (err) {
    // The config's checks name its fields; name the flag instead.
    throw new UsageError((err as Error).message.replace(/^generation: (\w+)/, (_, field: string) => `--${FLAGS[field] ?? field}`));
  }
}

/** The flag of each GenerationConfig field that `generate` takes. */
const FLAGS: Record<string, string> = {
  maxNewTokens: 'max-tokens',
  temperature: 'temperature',
  topK: 'top-k',
  topP: 'top-p',
  seed: 'seed',
  stopStrings: 'stop',
  repetitionPenalty: 'repetition-penalty',
  noRepeatNgramSize: 'no-repeat-ngram',
};

/** The decoding settings that shape the output, each with where it came from when not the engine's default. */
interface DecodingSummary {
  mode: 'greedy' | 'sampling';
  settings: { name: string; value: number; source: 'asked' | 'generation_config.json' | 'default' }[];
}

function decodingSummary(config: GenerationConfig, sources: ResolvedGeneration['sources']): DecodingSummary {
  const greedy = config.temperature === 0;
  const shown: (keyof GenerationConfig)[] = greedy ? ['repetitionPenalty', 'noRepeatNgramSize'] : ['temperature', 'topK', 'topP', 'seed', 'repetitionPenalty', 'noRepeatNgramSize'];
  // The file's max_length bounds prompt and output together: say so, or a short output puzzles.
  if (config.maxLength > 0) shown.push('maxLength');
  return {
    mode: greedy ? 'greedy' : 'sampling',
    settings: shown.map((name) => ({ name, value: config[name] as number, source: sources[name] ?? 'default' })),
  };
}

/** "sampling: temperature 0.7 (generation_config.json), top-k 20 (…), …" for people: the flags' names. */
function describeDecoding(d: DecodingSummary): string {
  const always = new Set(d.mode === 'sampling' ? ['temperature', 'topK', 'topP', 'seed'] : []);
  const parts = d.settings
    .filter((s) => always.has(s.name) || s.source !== 'default')
    .map((s) => `${LABELS[s.name] ?? s.name} ${s.value}${s.source === 'default' ? '' : ` (${s.source === 'asked' ? 'flag' : s.source})`}`);
  return parts.length > 0 ? `${d.mode}: ${parts.join(', ')}` : d.mode;
}

const LABELS: Record<string, string> = { temperature: 'temperature', topK: 'top-k', topP: 'top-p', seed: 'seed', repetitionPenalty: 'repetition penalty', noRepeatNgramSize: 'no-repeat n-gram', maxLength: 'max length (prompt + output)' };
