// `hdlm classify`: coarse-to-fine classification of a text with a task's heads, each level from
// its own layer; prints the path with probabilities, runners-up, layers and times. With `--file`,
// every input of a file, one JSON line each (to `--out`, written only when all are done).
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { writeAtomically } from '../../checkpoint/safetensors';
import type { Classification, HierarchyBeam } from '../../hdlm/classifier';
import { goldIssues, readClassifyInputs } from '../../hdlm/classifyInputs';
import { CancelledError } from '../../model/segmentedModel';
import { formatIssues, type JsonlIssue } from '../../hdlm/dataset/jsonl';
import { describeAgainstGold } from '../../hdlm/metrics';
import { inputText } from '../../hdlm/sequenceFormat';
import { readTaskFile } from '../../hdlm/taskFile';
import { openTask, TaskUnfitError, type TaskSession } from '../../hdlm/taskSession';
import { defaultTaskFile, hierarchyBeam, modelDir, taskModelDir, UsageError, Values } from '../args';
import { outputFile } from '../outputs';
import { createEngine } from './modelSession';
import { ProgressBar } from '../progress';
import { errorMessage } from '../../errorMessage';

export async function classifyCommand(values: Values, positionals: string[], signal: AbortSignal): Promise<void> {
  const file = typeof values['file'] === 'string' ? resolve(values['file']) : undefined;
  const text = inputText(positionals.join(' '));
  if (file && text) throw new UsageError('give the text to classify or --file, not both');
  if (!file && !text) throw new UsageError('give the text to classify (or --file FILE)');
  if (!file && values['out'] !== undefined) throw new UsageError('--out goes with --file');
  if (file && !existsSync(file)) throw new UsageError(`--file ${file}: no such file`);
  // Resolved once, before the model loads: a bad --beam is a usage error, not a failure per input.
  const beam = hierarchyBeam(values);
  const shipped = typeof values['task'] !== 'string';
  const task = readTaskFile(shipped ? defaultTaskFile() : (values['task'] as string));
  const out = outputFile(values, 'out', { task, files: [['--file', file]] });
  const engine = await createEngine(values);
  const session = await openTask(engine, task, taskModelDir(values, task)).catch((err: unknown) => {
    // The shipped task's heads and levels are the shipped model's: on another model there is nothing to classify with.
    if (shipped && err instanceof TaskUnfitError) throw new UsageError(`the shipped WordNet task does not fit ${modelDir(values)} (${err.message.split('\n')[0]}); pass --task; make one with \`hdlm new-task DATASET --model DIR\``);
    throw err;
  });
  for (const notice of session.notices) console.error(`hdlm: ${notice}`);
  try {
    if (file) return await classifyFile(session, file, out, beam, signal);
    const started = performance.now();
    const compute0 = session.loaded.model.compute.layerPositions;
    const result = await session.classifier.classify(text, { ...beam, signal });
    const ms = performance.now() - started;
    const trained = session.manifests.map((m) => (m ? 'trained head' : "model's own head"));
    if (values['json']) {
      console.log(JSON.stringify({ task: task.name, text, ...result, ms, layerPositions: session.loaded.model.compute.layerPositions - compute0, heads: trained }, null, 2));
      return;
    }
    console.log(`${task.name}: ${result.path.map((d) => d.label).join(' › ')}  (path probability ${(result.pathProbability * 100).toFixed(1)}%, ${ms.toFixed(0)} ms on ${session.loaded.model.provider})`);
    for (const d of result.path) {
      const others = d.runnersUp.map((r) => `${r.label} ${(r.probability * 100).toFixed(1)}%`).join(', ');
      console.log(`  level ${d.level} @ layer ${d.layer}/${session.loaded.checkpoint.config.numLayers} (${trained[d.level - 1]}): ${d.label} ${(d.probability * 100).toFixed(1)}%  ${d.ms.toFixed(0)} ms${others ? `   next: ${others}` : '   (the only child of its parent: nothing to decide)'}`);
    }
    for (const alt of result.alternatives) console.log(`  beam alternative: ${alt.labels.join(' › ')} ${(alt.probability * 100).toFixed(1)}%`);
  } finally {
    await session.release();
  }
}

/** One classified input, as `--file` writes it. */
interface ClassifiedLine {
  id: string;
  text: string;
  labels: string[];
  /** Per level, the label's probability among its siblings. */
  probabilities: number[];
  pathProbability: number;
  layers: number[];
  /** The input's own labels, when it carried them. */
  gold?: string[];
}

function againstGold(rows: readonly ClassifiedLine[]): string {
  const described = describeAgainstGold(rows);
  return described ? `; against their labels: ${described}` : '';
}

/** The first 20 issues by file and line, then how many more. */
function cappedIssues(file: string, issues: readonly JsonlIssue[]): string {
  return `${formatIssues(file, issues.slice(0, 20))}${issues.length > 20 ? `\n… and ${issues.length - 20} more` : ''}`;
}

async function classifyFile(session: TaskSession, file: string, out: string | undefined, beam: HierarchyBeam, signal: AbortSignal): Promise<void> {
  const { inputs, skipped } = readClassifyInputs(file);
  if (skipped.length > 0) console.error(`${cappedIssues(file, skipped)}\n(${skipped.length} lines skipped)`);
  if (inputs.length === 0) throw new Error(`${file}: nothing to classify`);
  // Gold labels the accuracy cannot use as they are: said before classifying, by line.
  const gold = goldIssues(inputs, session.taxonomy);
  if (gold.length > 0) console.error(`${cappedIssues(file, gold)}\n(${gold.length} ${gold.length === 1 ? 'input' : 'inputs'} with labels the task cannot predict as given)`);
  const bar = new ProgressBar();
  const rows: ClassifiedLine[] = [];
  const started = performance.now();
  let failed = 0;
  for (const input of inputs) {
    let result: Classification;
    try {
      result = await session.classifier.classify(input.text, { ...beam, signal });
    } catch (err) {
      // One input the model cannot take (longer than its context) does not stop the others.
      if (err instanceof CancelledError || signal.aborted) throw err;
      bar.line(`${file}:${input.line}: skipped: ${errorMessage(err)}`);
      failed++;
      continue;
    }
    const row: ClassifiedLine = {
      id: input.id,
      text: input.text,
      labels: result.path.map((d) => d.label),
      probabilities: result.path.map((d) => d.probability),
      pathProbability: result.pathProbability,
      layers: result.path.map((d) => d.layer),
      ...(input.labels ? { gold: input.labels } : {}),
    };
    rows.push(row);
    // Without --out the lines stream as they come; with it, the file appears whole or not at all.
    if (!out) console.log(JSON.stringify(row));
    bar.update('classify', rows.length + failed, inputs.length);
  }
  if (rows.length === 0) throw new Error(`${file}: no input could be classified`);
  if (out) writeAtomically(out, rows.map((r) => Buffer.from(`${JSON.stringify(r)}\n`)));
  const ms = (performance.now() - started) / rows.length;
  const notDone = failed > 0 ? ` (${failed} skipped)` : '';
  bar.line(`${session.task.name}: ${rows.length} inputs classified${notDone}, ${ms.toFixed(1)} ms each on ${session.loaded.model.provider}${out ? ` → ${out}` : ''}${againstGold(rows)}`);
}
