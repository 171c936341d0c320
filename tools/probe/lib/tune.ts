// Choosing the L2 strength on the dev split, then scoring the chosen model once on test.
import type { Features } from './matrix';
import { predict, trainLogistic, type LogisticModel } from './logisticRegression';
import { accuracy, macroF1 } from './metrics';

export interface SplitData {
  x: Features;
  y: Int32Array;
}

export interface GridPoint {
  l2: number;
  devAccuracy: number;
  devMacroF1: number;
  iterations: number;
  stop: string;
  seconds: number;
}

export interface TunedResult {
  l2: number;
  grid: GridPoint[];
  testAccuracy: number;
  testMacroF1: number;
  /** The chosen model's class for each test item (for paired comparisons). */
  testPredicted: Int32Array;
  model: LogisticModel;
  /** Training time over the whole grid. */
  seconds: number;
}

export interface TuneOptions {
  /** L2 strengths to try; they are visited from the strongest down. */
  grid: readonly number[];
  maxIterations: number;
  /**
   * Stop going down the grid once this many consecutive points have scored below the best dev
   * accuracy so far (default: try every point). The weakest penalties cost the most iterations,
   * and past the optimum dev accuracy rarely comes back.
   */
  patience?: number;
  /** Called after each grid point (progress lines). */
  onPoint?: (point: GridPoint) => void;
}

/**
 * Trains one model per L2 strength and keeps the one with the best dev accuracy (ties: the
 * stronger penalty). The strengths are visited from strong to weak, each warm-started from the
 * previous optimum: the strongly regularised problems converge in few iterations and their
 * solutions are close to the next ones, so the whole path costs little more than its weakest point.
 */
export function tuneAndTest(train: SplitData, dev: SplitData, test: SplitData, classes: number, options: TuneOptions): TunedResult {
  const grid: GridPoint[] = [];
  let best: { point: GridPoint; model: LogisticModel } | undefined;
  let previous: LogisticModel | undefined;
  let worse = 0;
  for (const l2 of [...options.grid].sort((a, b) => b - a)) {
    if (worse >= (options.patience ?? Infinity)) break;
    const fit = trainLogistic(train.x, train.y, classes, { l2, init: previous, maxIterations: options.maxIterations });
    previous = fit.model;
    const predicted = predict(fit.model, dev.x);
    const point = {
      l2,
      devAccuracy: accuracy(dev.y, predicted),
      devMacroF1: macroF1(dev.y, predicted, classes),
      iterations: fit.iterations,
      stop: fit.stop,
      seconds: fit.seconds,
    };
    grid.push(point);
    options.onPoint?.(point);
    if (!best || point.devAccuracy > best.point.devAccuracy) {
      best = { point, model: fit.model };
      worse = 0;
    } else if (point.devAccuracy < best.point.devAccuracy) worse++;
  }
  if (!best) throw new Error('tuneAndTest: the L2 grid is empty');
  const predicted = predict(best.model, test.x);
  return {
    l2: best.point.l2,
    grid,
    testAccuracy: accuracy(test.y, predicted),
    testMacroF1: macroF1(test.y, predicted, classes),
    testPredicted: predicted,
    model: best.model,
    seconds: grid.reduce((s, p) => s + p.seconds, 0),
  };
}
