// `hdlm classify`: coarse-to-fine classification of a text with a task's heads, each level from
// its own layer; prints the path with probabilities, runners-up, layers and times.
import { Engine } from '../../engine';
import { readTaskFile } from '../../hdlm/taskFile';
import { openTask } from '../../hdlm/taskSession';
import { defaultTaskFile, hierarchyBeam, integer, providers, taskModelDir, UsageError, Values } from '../args';

export async function classifyCommand(values: Values, positionals: string[], signal: AbortSignal): Promise<void> {
  const text = positionals.join(' ').trim();
  if (!text) throw new UsageError('give the text to classify');
  const task = readTaskFile(typeof values['task'] === 'string' ? values['task'] : defaultTaskFile());
  const engine = await Engine.create({ providers: providers(values), threads: integer(values, 'threads', 0) });
  const session = await openTask(engine, task, taskModelDir(values, task));
  try {
    const started = performance.now();
    const compute0 = session.loaded.model.compute.layerPositions;
    const result = await session.classifier.classify(text, { ...hierarchyBeam(values), signal });
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
