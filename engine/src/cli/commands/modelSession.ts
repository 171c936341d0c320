// Opening the model a command runs on: the engine on the chosen device, then the folder.
import { Engine } from '../../engine';
import type { LoadedModel } from '../../loadedModel';
import { headPrecision, integer, integerList, modelDir, providers, Values } from '../args';

/**
 * The engine a command runs on. What a model's load warns of (tensors no graph uses, and the
 * like) goes to stderr always; its other notes only with HDLM_VERBOSE set.
 */
export function createEngine(values: Values): Promise<Engine> {
  return Engine.create({ providers: providers(values), threads: integer(values, 'threads', 0), onWarning: (m) => console.error(`hdlm: warning: ${m}`) });
}

export async function openModel(values: Values, cuts?: number[]): Promise<LoadedModel> {
  const engine = await createEngine(values);
  for (const f of engine.info().fallbacks) console.error(`hdlm: ${f.provider} skipped: ${f.reason.split('\n')[0]}`);
  return engine.loadModel(modelDir(values), {
    cuts: cuts ?? integerList(values, 'exits') ?? [],
    headPrecision: headPrecision(values),
    onNote: (m) => {
      if (process.env['HDLM_VERBOSE']) console.error(`hdlm: ${m}`);
    },
  });
}

/** The prompt as token ids: `--ids 1,2,3`, or the positional text through the tokenizer. */
export function promptIds(model: LoadedModel, values: Values, positionals: string[]): number[] {
  const ids = integerList(values, 'ids');
  if (ids) return ids;
  const text = positionals.join(' ');
  if (!text) throw new Error('give a prompt (text) or --ids 1,2,3');
  return model.requireTokenizer().encode(text);
}
