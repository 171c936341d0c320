// Opening the model a command runs on: the engine on the chosen device, then the folder.
import { Engine } from '../../engine';
import type { LoadedModel } from '../../loadedModel';
import { ContextOverflowError } from '../../model/contextOverflow';
import { headPrecision, integerList, modelDir, providers, threadsOption, UsageError, Values } from '../args';

/**
 * The engine a command runs on. What a model's load warns of (tensors no graph uses, and the
 * like) goes to stderr always; its other notes only with HDLM_VERBOSE set.
 */
export function createEngine(values: Values): Promise<Engine> {
  return Engine.create({ providers: providers(values), threads: threadsOption(values), onWarning: (m) => console.error(`hdlm: warning: ${m}`) });
}

/** The model of `--model` on `--device`, with segment boundaries at `cuts` (the early exits asked for). */
export async function openModel(values: Values, cuts: number[]): Promise<LoadedModel> {
  const engine = await createEngine(values);
  for (const f of engine.info().fallbacks) console.error(`hdlm: ${f.provider} skipped: ${f.reason.split('\n')[0]}`);
  return engine.loadModel(modelDir(values), {
    cuts,
    headPrecision: headPrecision(values),
    onNote: (m) => {
      if (process.env['HDLM_VERBOSE']) console.error(`hdlm: ${m}`);
    },
  });
}

/** What to run on: token ids (`--ids 1,2,3`) or a text for the tokenizer. */
export type PromptInput = { ids: number[] } | { text: string };

/**
 * The prompt, checked before the model loads: `--ids` or the positional text, not both (the
 * text would be ignored) and not neither; a blank text is refused, as think and classify do.
 */
export function promptInput(values: Values, positionals: string[]): PromptInput {
  const ids = integerList(values, 'ids');
  const text = positionals.join(' ');
  if (ids && positionals.length > 0) throw new UsageError(`give a prompt (text) or --ids, not both (got --ids and ${JSON.stringify(text)})`);
  if (ids) return { ids };
  if (text.trim() === '') throw new UsageError('give a prompt (text) or --ids 1,2,3');
  return { text };
}

/**
 * The prompt as token ids: the ids given, or the text through the tokenizer. A text known to need
 * more positions than the context without tokenizing it (Tokenizer.fewestTokens) is refused as
 * the model would refuse it, at once: a long --prompt-file is not tokenized whole only to be refused.
 */
export function promptIds(model: LoadedModel, input: PromptInput): number[] {
  if ('ids' in input) return input.ids;
  const tokenizer = model.requireTokenizer();
  const fewest = tokenizer.fewestTokens(input.text);
  const { config } = model.checkpoint;
  if (fewest > config.maxPositions) throw new ContextOverflowError(fewest, config, undefined, { atLeast: true });
  return tokenizer.encode(input.text);
}
