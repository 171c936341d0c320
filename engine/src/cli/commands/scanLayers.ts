// `hdlm scan-layers --task FILE`: which layer should decide each level? Trains a head for every
// level at every candidate layer on a sample of the task's data, keeps the record beside the
// task's heads (layer-scan.json, which the editor reads) and prints the Markdown report with the
// suggested layers (`--json`: the record) or writes it whole to --out. The heads themselves are not touched.
import { saveLayerScan, scanLayers, SCAN_DEFAULTS } from '../../hdlm/layerScan';
import { layerScanMarkdown, layerScanSummary } from '../../hdlm/layerScanMarkdown';
import { readTaskFile, setStoppingField } from '../../hdlm/taskFile';
import { defaultTaskFile, integer, integerList, number, taskModelDir, UsageError, type Values } from '../args';
import { outputFile, writeOutput } from '../outputs';
import { createEngine } from './modelSession';
import { formatSeconds, ProgressBar } from '../progress';

export async function scanLayersCommand(values: Values, signal: AbortSignal): Promise<void> {
  const task = readTaskFile(typeof values['task'] === 'string' ? values['task'] : defaultTaskFile());
  const out = outputFile(values, 'out', { task });
  // --events is the language server's stream on stdout; a report file beside it would go unread.
  if (out && values['events'] === true) throw new UsageError('--out does not go with --events (the record comes as the last event)');
  const tolerance = number(values, 'tolerance', SCAN_DEFAULTS.tolerance * 100);
  if (!(tolerance >= 0 && tolerance < 100)) throw new UsageError(`--tolerance is in accuracy points, from 0 to below 100, got ${String(values['tolerance'])}`);
  if (values['epochs'] !== undefined) setStoppingField(task.train, 'epochs', integer(values, 'epochs', 1, 1));
  const layers = integerList(values, 'layers');
  const engine = await createEngine(values);
  const events = values['events'] === true;
  const bar = new ProgressBar();
  const record = await scanLayers(engine, task, {
    defaultModelDir: taskModelDir(values, task),
    trainExamples: integer(values, 'train-examples', SCAN_DEFAULTS.trainExamples, 1),
    devExamples: integer(values, 'dev-examples', SCAN_DEFAULTS.devExamples, 1),
    ...(layers ? { layers } : {}),
    tolerance: tolerance / 100,
    signal,
    ...(values['no-feature-cache'] === true ? { featureCache: false as const } : {}),
    onEvent: (e) => {
      if (events) return void process.stdout.write(`${JSON.stringify(e)}\n`);
      if (e.kind === 'stage') bar.line(`hdlm: ${e.message}`);
      else if (e.kind === 'features') bar.update('features', e.done, e.total, `${e.examplesPerS.toFixed(0)} ex/s · ETA ${formatSeconds(e.etaS)}`);
      else bar.update('heads', e.done, e.total, `level ${e.level} at layer ${e.layer}: ${(e.accuracy * 100).toFixed(1)} % dev`);
    },
  });
  const file = saveLayerScan(task.headsDir, record);
  if (events) {
    process.stdout.write(`${JSON.stringify({ kind: 'layerScan', scan: record })}\n`);
    return;
  }
  bar.line(`${layerScanSummary(record)}; record kept in ${file}`);
  // --json with --out: the JSON goes to the file, as the Markdown would.
  const text = values['json'] ? `${JSON.stringify(record, null, 2)}\n` : layerScanMarkdown(record);
  if (out) writeOutput(out, text);
  else process.stdout.write(text);
}
