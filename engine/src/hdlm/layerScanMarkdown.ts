// How a layer scan reads: the suggested layers beside the task's, one table of dev accuracy per
// level (or the thought) and layer, and per level how far the suggestion is from the best layer,
// paired. Type
// imports only (and the import-free helpers), so the editor's client bundle can render it.
import type { LayerScanRecord, ScanLevel } from './layerScan';
import { table } from './labelReportMarkdown';
import { markdownText as cell } from '../markdownText';
import { describeDifference, SIGNIFICANT } from './metrics';
import { MIN_STEPS_PER_EPOCH } from '../train/stoppingSchedule';

const percent = (x: number): string => (x * 100).toFixed(1);
const layerName = (l: number | 'last', L: number): string => (l === 'last' ? `last (${L})` : String(l));

/** "3, 5, last": a task's levels as the task file writes them. */
export function layersText(layers: readonly (number | 'last')[]): string {
  return layers.join(', ');
}

const isThought = (r: LayerScanRecord): boolean => r.kind === 'thoughtThenAnswer';

/** What a scanned level is called: "level 2", or a thought-then-answer task's "thought". */
function scanLevelName(r: LayerScanRecord, level: number): string {
  return isThought(r) ? 'thought' : `level ${level}`;
}

/** One line for a notification or the log. */
export function layerScanSummary(r: LayerScanRecord): string {
  const same = layersText(r.suggested) === layersText(r.current);
  const levels = r.levels.map((l) => `${scanLevelName(r, l.level)} ${percent(cellAt(l, l.suggested).accuracy)} % at layer ${l.suggested} (best ${percent(cellAt(l, l.best).accuracy)} % at ${l.best})`).join('; ');
  return `${r.task}: suggested layers ${layersText(r.suggested)}${same ? ', as the task has them' : ` (the task has ${layersText(r.current)})`}; ${levels}; on ${r.examples.dev} dev examples`;
}

function cellAt(level: ScanLevel, layer: number): ScanLevel['cells'][number] {
  const c = level.cells.find((x) => x.layer === layer);
  if (!c) throw new Error(`layer scan: level ${level.level} has no figure at layer ${layer}`);
  return c;
}

export function layerScanMarkdown(r: LayerScanRecord): string {
  const L = r.numLayers;
  const current = r.current.map((l) => (l === 'last' ? L : l));
  const header = [isThought(r) ? '' : 'level', ...r.layers.map((l) => `layer ${l}`)];
  const rows = r.levels.map((level, d) => [
    isThought(r) ? 'thought' : `${level.level}`,
    ...level.cells.map((c) => {
      // ≈: short of the best by no more than chance (records before the per-cell comparison lack it).
      const near = c.layer !== level.best && c.vsBest !== undefined && c.vsBest.pValue >= SIGNIFICANT ? ' ≈' : '';
      const marks = [c.layer === level.suggested ? '**' : '', c.layer === level.best ? ' ▲' : near, c.layer === current[d] ? ' ●' : ''];
      return `${marks[0]}${percent(c.accuracy)}${marks[0]}${marks[1]}${marks[2]}`;
    }),
  ]);
  const perLevel = r.levels.map((level, d) => {
    const at = cellAt(level, level.suggested);
    const gap = level.suggested === level.best ? 'the best layer itself' : `${describeDifference(level.suggestedVsBest)} against layer ${level.best}'s ${percent(cellAt(level, level.best).accuracy)} %`;
    const name = scanLevelName(r, level.level);
    return `- ${name[0]!.toUpperCase()}${name.slice(1)}: layer **${level.suggested}** of ${L}, ${percent(at.accuracy)} %: ${gap}. The task has layer ${layerName(r.current[d]!, L)}.`;
  });
  const s = r.settings;
  // What a head is trained on and what counts as right, per task kind.
  const what = isThought(r)
    ? { title: 'Dev accuracy of the thought per layer', share: 'whose whole thought a head at that layer writes right (every token, greedy, after the gold input; the answer stays at the last layer)', rows: "the thought's tokens (and its closing token)", caveat: "- The thought is measured alone: the answer's accuracy after it is for fine-tuning and evaluating with the layer you choose." }
    : { title: 'Dev accuracy per level and layer', share: 'whose label at that level a head at that layer gets right, given the gold labels above it', rows: "that level's label tokens", caveat: '- Each level is measured given the right labels above it: on the whole path a wrong coarse label also costs the levels below. Fine-tune and evaluate with the layers you choose to see the joint accuracy.' };
  return [
    `# Layer scan of ${cell(r.task)}`,
    '',
    `**Suggested layers: ${layersText(r.suggested)}** (the task file has ${layersText(r.current)}).`,
    '',
    ...perLevel,
    '',
    `## ${what.title}`,
    '',
    `Share of the ${r.examples.dev.toLocaleString('en')} dev examples ${what.share}. **Bold**: suggested; ▲ best; ≈ below the best by no more than chance (paired, McNemar p ≥ ${SIGNIFICANT}); ● the task's layer now.`,
    '',
    ...table(header, rows),
    '',
    '## How it was measured',
    '',
    `- For each ${isThought(r) ? 'of' : 'level and each of'} layers ${r.layers.join(', ')} of ${L}, a head was trained on ${what.rows} at that layer, as fine-tuning trains one: from the model's own head, at most ${s.epochs} epochs, stopped after ${s.patience} without a better dev token accuracy${s.defaulted ? ` (the defaults, as the task leaves ${s.defaulted.join(' and ')}: on a small dataset counted in epochs of at least ${MIN_STEPS_PER_EPOCH} steps)` : ''}, learning rate ${s.learningRate}, batch ${s.batchSize}, seed ${s.seed}; its best dev epoch counts.`,
    `- On ${r.examples.train.toLocaleString('en')} training examples sampled from the task's training split; one backbone pass read every layer (${r.seconds.features.toFixed(1)} s${r.featuresFromCache ? ', read back from the feature cache of an earlier scan' : ''}), the ${r.levels.length * r.layers.length} heads took ${r.seconds.training.toFixed(1)} s.`,
    `- A level's suggested layer is the cheapest as good as its best: within ${(r.tolerance * 100).toFixed(1)} points of it, or below it by no more than chance (≈); of equally cheap ones the more accurate; deeper than the level above, leaving a layer for each level below. A deeper layer has to earn its cost with a gain both larger than that and real. A level decided at layer k runs the input through k layers, so a shallower layer is a cheaper early exit; but the last layer costs the last level what the layer below it does, since only the label's own positions run there.`,
    what.caveat,
    `- The best layer is picked on the same dev examples it is measured on, so its lead is optimistic; on few dev examples a close call can go either way (scan with more, \`--dev-examples\`, to settle it).`,
    `- Scanned ${cell(r.finishedAt.slice(0, 16).replace('T', ' '))} UTC.`,
    '',
  ].join('\n');
}
