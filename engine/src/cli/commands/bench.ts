// `hdlm bench`: the engine benchmark on a model folder (prefill, decode, time to first token,
// per-exit latency, bandwidth floor, catch-up vs re-prefill) and, with --task, the latency of
// classifying inputs of about 64 tokens. Prints figures; asserts nothing.
import { benchPositions, runEngineBench } from '../../bench/engineBench';
import type { ModelConfig } from '../../checkpoint/types';
import { loadCheckpoint } from '../../checkpoint/checkpoint';
import { Engine } from '../../engine';
import { readTaskFile } from '../../hdlm/taskFile';
import { openTask } from '../../hdlm/taskSession';
import type { HierarchyBeam } from '../../hdlm/classifier';
import { hierarchyBeam, integer, integerList, modelDir, taskModelDir, UsageError, Values } from '../args';
import { createEngine } from './modelSession';

export async function benchCommand(values: Values, signal: AbortSignal): Promise<void> {
  const engine = await createEngine(values);
  const device = engine.info().device;
  // As the engine runs (capped at the cores, createEngine), not as asked.
  const threads = engine.info().threads;
  if (typeof values['task'] === 'string') {
    await classifyLatency(engine, values, values['task'], integer(values, 'inputs', 30, 1), hierarchyBeam(values), signal);
    return;
  }
  const dir = modelDir(values);
  const checkpoint = await loadCheckpoint(dir);
  const L = checkpoint.config.numLayers;
  const cuts = integerList(values, 'exits') ?? [Math.max(1, Math.round(L / 4)), Math.max(1, Math.round(L / 2))].filter((k, i, a) => k < L && a.indexOf(k) === i);
  const lengths = {
    // Default: 256 prompt tokens, or fewer when the model's context is short.
    promptTokens: integer(values, 'prompt-tokens', Math.min(256, checkpoint.config.maxPositions - 40), 1),
    thoughtTokens: integer(values, 'thought-tokens', 32, 1),
    decodeSteps: integer(values, 'steps', 10, 1),
  };
  refuseTooLong(lengths, checkpoint.config);
  const result = await runEngineBench(dir, checkpoint, {
    provider: device,
    threads,
    cuts,
    ...lengths,
    taskHeadRows: integer(values, 'task-head-rows', 1024, 1),
    fused: true,
    // As the engine runs everywhere else (tools/bench/engineBench.ts --host-cache compares).
    deviceCache: true,
    log: (line) => {
      if (!values['json']) console.log(line);
    },
  });
  if (values['json']) console.log(JSON.stringify(result, null, 2));
}

/** Refuses lengths the model's context cannot hold, before any session is built, naming the flags. */
function refuseTooLong(lengths: Parameters<typeof benchPositions>[0], context: Pick<ModelConfig, 'maxPositions' | 'maxPositionsFrom'>): void {
  const needed = benchPositions(lengths);
  if (needed <= context.maxPositions) return;
  const { promptTokens, thoughtTokens, decodeSteps } = lengths;
  throw new UsageError(
    `--prompt-tokens ${promptTokens} with --thought-tokens ${thoughtTokens} and --steps ${decodeSteps} needs ${needed} positions (prompt + thought + 1, or up to 32 prompt tokens + steps) but the model's context is ${context.maxPositions} (${context.maxPositionsFrom ?? 'max_position_embeddings'}); give smaller values`,
  );
}

/** Median latency of classifying generated inputs of about 64 tokens with a task. */
async function classifyLatency(engine: Engine, values: Values, taskFile: string, inputs: number, beam: HierarchyBeam, signal: AbortSignal): Promise<void> {
  const task = readTaskFile(taskFile);
  const session = await openTask(engine, task, taskModelDir(values, task));
  try {
    const tokenizer = session.loaded.requireTokenizer();
    // Inputs on several topics, so the paths differ: a level whose parent has one child is
    // certain and runs nothing, and inputs that all took one such path would time only that.
    const topics = [
      'a small animal with soft fur that lives in the forests of the north and hunts at night for mice voles and other rodents',
      'a hand tool with a heavy steel head on a wooden handle used for driving nails into boards and breaking stone',
      'a tall evergreen tree of the mountains with needles in bundles and woody cones that hold winged seeds',
      'a person who works in a court of law and gives advice to clients about their rights and duties under the statutes',
      'the act of moving goods from one country to another by sea or by land in exchange for money or other goods',
    ].map((t) => t.split(' '));
    const text = (i: number): string => {
      const words = topics[i % topics.length]!;
      const out: string[] = [];
      while (tokenizer.encode(out.join(' ')).length < 64) out.push(words[(out.length + Math.floor(i / topics.length)) % words.length]!);
      return out.join(' ');
    };
    await session.classifier.classify(text(0), { ...beam, signal }); // warm-up: shared prefix and session start-up
    const times: number[] = [];
    const levelMs: number[][] = session.layers.map(() => []);
    const certain = session.layers.map(() => 0); // inputs whose level had one candidate: nothing run
    const paths = new Set<string>();
    for (let i = 1; i <= inputs; i++) {
      const started = performance.now();
      const result = await session.classifier.classify(text(i), { ...beam, signal });
      times.push(performance.now() - started);
      result.path.forEach((d, level) => {
        levelMs[level]!.push(d.ms);
        if (d.layerPositions === 0) certain[level]!++;
      });
      paths.add(result.path.map((d) => d.label).join(' › '));
    }
    const tokens = tokenizer.encode(text(1)).length;
    console.log(`classify (${session.task.name}, levels at layers ${session.layers.join(', ')}, ${tokens}-token inputs, beam ${beam.beam} margin ${beam.margin}, ${session.loaded.model.provider}): median ${quantile(times, 0.5).toFixed(1)} ms, p90 ${quantile(times, 0.9).toFixed(1)} ms over ${inputs} inputs`);
    // Where the time goes: a level's cost grows with the number of its candidates (the chosen parent's children).
    console.log(`  per level, median / p90 ms: ${levelMs.map((ms, i) => `${i + 1} @ layer ${session.layers[i]}: ${quantile(ms, 0.5).toFixed(1)} / ${quantile(ms, 0.9).toFixed(1)}`).join(' · ')}`);
    console.log(`  ${paths.size} distinct paths; inputs whose level had a single candidate (nothing run): ${certain.map((n, i) => `level ${i + 1}: ${n}`).join(', ')}`);
  } finally {
    await session.release();
  }
}

/** The q-quantile of xs (nearest rank, as the figures above have always been computed). */
function quantile(xs: readonly number[], q: number): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))]!;
}
