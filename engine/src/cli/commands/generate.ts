// `hdlm generate`: stream a completion from any exit layer.
import { generate } from '../../generate/generator';
import { join } from 'node:path';
import { readModelConfig } from '../../checkpoint/config';
import { integer, integerList, modelDir, number, UsageError, Values } from '../args';
import { openModel, promptIds } from './modelSession';

export async function generateCommand(values: Values, positionals: string[], signal: AbortSignal): Promise<void> {
  const layer = values['layer'] === undefined ? undefined : integer(values, 'layer', 0, 1);
  // An early exit needs a segment boundary there; the last layer is always one.
  const L = readModelConfig(join(modelDir(values), 'config.json')).numLayers;
  if (layer !== undefined && layer > L) throw new UsageError(`--layer ${layer}: the model has ${L} layers`);
  const loaded = await openModel(values, layer !== undefined && layer < L ? [layer] : []);
  try {
    const prompt = promptIds(loaded, values, positionals);
    const tokenizer = loaded.tokenizer;
    const started = performance.now();
    let firstAt = 0;
    const result = await generate(loaded.model, {
      prompts: [prompt],
      layer: layer !== undefined && layer < L ? layer : L,
      config: {
        maxNewTokens: integer(values, 'max-tokens', 64),
        temperature: number(values, 'temperature', 0),
        topK: integer(values, 'top-k', 0),
        topP: number(values, 'top-p', 1),
        seed: integer(values, 'seed', 0),
        stopStrings: (values['stop'] as string[] | undefined) ?? [],
        stopTokenIds: integerList(values, 'stop-ids') ?? [],
      },
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
      console.log(JSON.stringify({ tokens: row.tokens, text: row.text, stop: row.stop, seconds }, null, 2));
      return;
    }
    process.stdout.write('\n');
    const rate = row.tokens.length > 1 ? ((row.tokens.length - 1) / ((performance.now() - firstAt) / 1000)).toFixed(1) : '-';
    console.error(`hdlm: ${row.tokens.length} tokens from layer ${layer ?? L} on ${loaded.model.provider}, stop: ${row.stop}, first token ${((firstAt - started) / 1000).toFixed(2)} s, ${rate} tokens/s after`);
  } finally {
    await loaded.release();
  }
}
