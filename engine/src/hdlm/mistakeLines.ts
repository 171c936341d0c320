// How the mistakes of an evaluation are shown: one JSON line per mistake and a one-line summary.
// Type imports only (and node:url), so that the editor's client bundle can use it without the engine.
import { pathToFileURL } from 'node:url';
import type { ClassifyMistake, EvaluationMistakes, ThoughtMistake } from './evaluationMistakes';

/** Where the example is: a file URI with its line (`#L123`), which editors open at that line. */
function sourceLink(file: string, line: number): string {
  return `${pathToFileURL(file).href}#L${line}`;
}

/** A probability as written in a mistakes line: three significant digits (a whole thought's can be tiny). */
const rounded = (p: number): number => Number(p.toPrecision(3));

/**
 * One JSON Lines row per mistake, shaped like the task's own dataset lines (`text` and `labels`,
 * or `input`, `thought` and `answer`, holding the gold values) so that an editor treats the
 * document as a dataset (label hover, Classify lenses), followed by what each variant said.
 */
export function mistakeLines(result: EvaluationMistakes): object[] {
  if (result.kind === 'thoughtThenAnswer') {
    return (result.mistakes as ThoughtMistake[]).map((m) => ({
      input: m.input,
      thought: m.gold.thought,
      answer: m.gold.answer,
      hdlmThought: m.hdlm.thought,
      thoughtProbability: rounded(m.hdlm.thoughtProbability),
      hdlmAnswer: m.hdlm.answer,
      flatAnswer: m.flat.answer,
      id: m.id,
      source: sourceLink(result.dataset, m.line),
    }));
  }
  return (result.mistakes as ClassifyMistake[]).map((m) => ({
    text: m.text,
    labels: m.gold,
    hdlm: m.hdlm.labels,
    hdlmProbabilities: m.hdlm.probabilities.map(rounded),
    // Exiting when sure: the layer that decided each level (an early exit's mistake shows here).
    ...(m.hdlm.layers ? { hdlmLayers: m.hdlm.layers } : {}),
    wrongAt: m.wrongAt,
    flat: m.flat.labels,
    flatRight: m.flatRight,
    id: m.id,
    source: sourceLink(result.dataset, m.line),
  }));
}

/** "HdLM wrong on 3 of 12 examples (first at level 1: 1, level 2: 2); flat right on 1 of them". */
export function mistakesSummary(result: EvaluationMistakes): string {
  const n = result.mistakes.length;
  const head = `HdLM wrong on ${n.toLocaleString('en')} of ${result.examples.toLocaleString('en')} examples`;
  if (n === 0) return head;
  if (result.kind === 'thoughtThenAnswer') {
    const rows = result.mistakes as ThoughtMistake[];
    const thought = rows.filter((m) => !m.hdlm.thoughtRight);
    const both = thought.filter((m) => !m.hdlm.answerRight).length;
    return `${head} (thought wrong on ${thought.length}, the answer too on ${both}; answer alone wrong on ${n - thought.length}); wrong thoughts first, the surest first`;
  }
  const rows = result.mistakes as ClassifyMistake[];
  // reduce, not Math.max(...): a spread of a very large evaluation's rows would overflow the stack.
  const depth = rows.reduce((deepest, m) => Math.max(deepest, m.gold.length), 0);
  const byLevel = Array.from({ length: depth }, (_, d) => rows.filter((m) => m.wrongAt === d + 1).length);
  const levels = byLevel.map((count, d) => `level ${d + 1}: ${count.toLocaleString('en')}`).join(', ');
  const flatRight = rows.filter((m) => m.flatRight).length;
  return `${head} (first at ${levels}); flat right on ${flatRight.toLocaleString('en')} of them; by level, the surest mistakes first`;
}
