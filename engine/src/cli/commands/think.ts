// `hdlm think`: thought then answer, as the editor's Think Then Answer runs it (thinkOn): the
// task's thought layer drafts a thought, exiting early, and the last layer writes the answer on
// the same decode state. Both stream to stdout as they are decoded; then how sure the thought
// layer was of its thought, the positions caught up (no re-prefill) and the times.
import { inputText } from '../../hdlm/sequenceFormat';
import { readTaskFile } from '../../hdlm/taskFile';
import { openTask, thinkOn } from '../../hdlm/taskSession';
import { defaultThoughtTaskFile, integer, taskModelDir, UsageError, Values } from '../args';
import { createEngine } from './modelSession';

/** Token budgets when not given: the editor's Think Then Answer command's (server THOUGHT_TOKENS, hdlm.maxTokens). */
const THOUGHT_TOKENS = 16;
const ANSWER_TOKENS = 24;

export async function thinkCommand(values: Values, positionals: string[], signal: AbortSignal): Promise<void> {
  const input = inputText(positionals.join(' '));
  if (!input) throw new UsageError('give the input to think about');
  const thoughtTokens = integer(values, 'thought-tokens', THOUGHT_TOKENS, 1);
  const answerTokens = integer(values, 'max-tokens', ANSWER_TOKENS, 1);
  const shipped = typeof values['task'] !== 'string';
  const task = readTaskFile(shipped ? defaultThoughtTaskFile() : (values['task'] as string));
  const engine = await createEngine(values);
  // Without --task, a model of the user's (whose layers or fingerprint the shipped thought task's
  // heads do not fit) thinks through its own head, as the editor does (openTask modelIfUnfit).
  const session = await openTask(engine, task, taskModelDir(values, task), undefined, { modelIfUnfit: shipped });
  if (session.unfit !== undefined) {
    console.error(`hdlm: the shipped thought task does not fit ${session.loaded.checkpoint.dir}: thinking at layer ${session.layers[0]!} through the model's own head (pass --task for trained heads)`);
  } else {
    for (const notice of session.notices) console.error(`hdlm: ${notice}`);
  }
  const json = values['json'] === true;
  const L = session.loaded.checkpoint.config.numLayers;
  const k = session.layers[0]!;
  const compute0 = session.loaded.model.compute.layerPositions;
  try {
    let part: 'thought' | 'answer' | undefined;
    const result = await thinkOn(session, {
      input,
      thought: { maxNewTokens: thoughtTokens },
      answer: { maxNewTokens: answerTokens },
      signal,
      // Streamed as decoded: each part's line opens with its first token.
      onToken: (p, e) => {
        if (json) return;
        if (p !== part) process.stdout.write(`${part ? '\n' : ''}${p === 'thought' ? `thought (layer ${k}/${L}): ` : `answer  (layer ${L}/${L}): `}`);
        part = p;
        process.stdout.write(e.text);
      },
    });
    const layerPositions = session.loaded.model.compute.layerPositions - compute0;
    if (json) {
      const trained = { thought: session.thoughtHead !== undefined, answer: session.answerHead !== undefined };
      console.log(JSON.stringify({ task: task.name, input, thought: result.thought.text ?? '', answer: result.answer.text ?? '', thoughtLayer: k, answerLayer: L, thoughtProbability: result.thoughtProbability, trainedHeads: trained, caughtUp: result.caughtUp, layerPositions, ms: result.ms, device: session.loaded.model.provider }, null, 2));
      return;
    }
    if (part) process.stdout.write('\n');
    console.log(
      `task ${task.name} on ${session.loaded.model.provider}: layer ${k} was ${(result.thoughtProbability * 100).toFixed(1)} % sure of its thought; ${result.caughtUp} positions caught up through layers ${k + 1}–${L} in one pass (no re-prefill); ${result.ms.thought.toFixed(0)} + ${result.ms.answer.toFixed(0)} ms`,
    );
  } finally {
    await session.release();
  }
}
