// How many epochs a head trains for and how patient its early stopping is, on a small dataset
// too. Apart from headTrainer.ts, which loads onnxruntime, so that what only quotes these numbers
// (the server's hover, the layer-scan report that the client bundles too) does not pull the
// runtime into its bundle.
/**
 * The fewest optimiser steps an epoch counts as for early stopping and the epoch cap
 * (stoppingSchedule). Measured on a 240-example, 3×3-label dataset with the tiny model
 * (2026-12-07, README "Small datasets"): with 2 steps an epoch, epochs and patience 8 times the
 * defaults stopped level 1 at 27.5 % test accuracy, 25 times (50 steps an epoch) reached 52.5 %.
 */
export const MIN_STEPS_PER_EPOCH = 50;

/**
 * The epoch cap and patience a head trains with. Counted in epochs alone, a small dataset stops
 * after a handful of optimiser steps while its dev loss still falls (240 examples, batch 128:
 * 2 steps an epoch, the default patience of 3 stopped a head after 8 steps, below chance). So
 * when an epoch of `rows` rows takes fewer than MIN_STEPS_PER_EPOCH steps, the fields the task
 * file left to their defaults (`defaulted`) are multiplied by the factor that makes them cover as
 * many steps as epochs of that many steps would; a number the task gives is kept as given. A no-op
 * for large datasets: an epoch of MIN_STEPS_PER_EPOCH steps or more keeps both (the shipped
 * WordNet and thought heads take 234 steps an epoch or more, 58,016 rows or more at batch 256 by
 * their train-report.json, and their task files set both fields besides).
 */
export function stoppingSchedule(rows: number, batchSize: number, settings: { epochs: number; patience: number; defaulted?: readonly ('epochs' | 'patience')[] }): { epochs: number; patience: number; factor: number } {
  const steps = Math.max(1, Math.ceil(rows / batchSize));
  const factor = Math.ceil(MIN_STEPS_PER_EPOCH / steps);
  const scaled = (field: 'epochs' | 'patience'): number => (factor > 1 && settings.defaulted?.includes(field) ? settings[field] * factor : settings[field]);
  const out = { epochs: scaled('epochs'), patience: scaled('patience') };
  return { ...out, factor: out.epochs === settings.epochs && out.patience === settings.patience ? 1 : factor };
}
