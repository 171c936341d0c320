// Classification metrics: per-level accuracy and macro-F1, joint-path accuracy.

interface LevelMetrics {
  level: number;
  accuracy: number;
  macroF1: number;
  /** Labels seen in gold or predictions. */
  classes: number;
}

export interface PathMetrics {
  levels: LevelMetrics[];
  /** Share of examples whose whole predicted path is right. */
  jointAccuracy: number;
  examples: number;
}

/** One label's counts at one level: right, predicted but wrong, and missed. */
interface LabelCounts {
  tp: number;
  fp: number;
  fn: number;
}

/** Every label that occurs as gold or as prediction, with its counts. */
export function labelCounts(gold: readonly string[], predicted: readonly string[]): Map<string, LabelCounts> {
  const counts = new Map<string, LabelCounts>();
  const of = (label: string): LabelCounts => {
    let c = counts.get(label);
    if (!c) counts.set(label, (c = { tp: 0, fp: 0, fn: 0 }));
    return c;
  };
  gold.forEach((g, i) => {
    const p = predicted[i]!;
    if (g === p) of(g).tp++;
    else {
      of(p).fp++;
      of(g).fn++;
    }
  });
  return counts;
}

/** Precision, recall and F1 of one label; 0 where a share has nothing to divide by. */
export function labelScores({ tp, fp, fn }: LabelCounts): { precision: number; recall: number; f1: number } {
  const precision = tp + fp === 0 ? 0 : tp / (tp + fp);
  const recall = tp + fn === 0 ? 0 : tp / (tp + fn);
  return { precision, recall, f1: precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall) };
}

/** Macro-F1 over every label that occurs as gold or as prediction. */
export function macroF1(gold: readonly string[], predicted: readonly string[]): { f1: number; classes: number } {
  const counts = labelCounts(gold, predicted);
  let sum = 0;
  for (const c of counts.values()) sum += labelScores(c).f1;
  return { f1: counts.size === 0 ? 0 : sum / counts.size, classes: counts.size };
}

export function pathMetrics(gold: readonly (readonly string[])[], predicted: readonly (readonly string[])[]): PathMetrics {
  if (gold.length !== predicted.length) throw new Error(`metrics: ${gold.length} gold paths but ${predicted.length} predictions`);
  const depth = gold[0]?.length ?? 0;
  const levels = Array.from({ length: depth }, (_, d) => {
    const g = gold.map((p) => p[d]!);
    const p = predicted.map((q) => q[d] ?? '');
    const { f1, classes } = macroF1(g, p);
    return { level: d + 1, accuracy: g.filter((label, i) => label === p[i]).length / Math.max(1, g.length), macroF1: f1, classes };
  });
  const joint = gold.filter((g, i) => g.every((label, d) => label === predicted[i]![d])).length;
  return { levels, jointAccuracy: joint / Math.max(1, gold.length), examples: gold.length };
}

/**
 * "81.3 / 61.3 / 49.7 % per level, 49.7 % joint": predicted paths against the inputs' own labels,
 * over the inputs whose labels are as deep as their prediction; when some inputs are left out
 * (no labels, or labels of another depth) it says how many: "… joint, over 4 of 6 inputs (1
 * without labels, 1 with labels of another depth)". Undefined when no input can be scored.
 * For classifying a file (`hdlm classify --file`, Classify Each Line).
 */
export function describeAgainstGold(rows: readonly { labels: readonly string[]; gold?: readonly string[] }[]): string | undefined {
  const scored = rows.filter((r) => r.gold !== undefined && r.gold.length === r.labels.length);
  if (scored.length === 0) return undefined;
  const m = pathMetrics(scored.map((r) => r.gold!), scored.map((r) => r.labels));
  const unlabelled = rows.filter((r) => r.gold === undefined).length;
  const otherDepth = rows.length - scored.length - unlabelled;
  const why = [unlabelled > 0 ? `${unlabelled} without labels` : '', otherDepth > 0 ? `${otherDepth} with labels of another depth` : ''].filter((w) => w !== '').join(', ');
  const over = why ? `, over ${scored.length} of ${rows.length} inputs (${why})` : '';
  return `${m.levels.map((l) => (l.accuracy * 100).toFixed(1)).join(' / ')} % per level, ${(m.jointAccuracy * 100).toFixed(1)} % joint${over}`;
}

/**
 * " (3 too long, left out; 2 lines skipped; 1 with gold labels never seen in training, counted
 * wrong)", or '' when the file had none of these (the evaluation's notices named them). The
 * CLI's table and the editor's job line say it alike.
 */
export function leftOutClause(result: { tooLong: number; skippedLines?: number; unknownLabels?: number }): string {
  const parts = [
    result.tooLong > 0 ? `${result.tooLong} too long, left out` : '',
    (result.skippedLines ?? 0) > 0 ? `${result.skippedLines} ${result.skippedLines === 1 ? 'line' : 'lines'} skipped` : '',
    (result.unknownLabels ?? 0) > 0 ? `${result.unknownLabels} with gold labels never seen in training, counted wrong` : '',
  ].filter((p) => p !== '');
  return parts.length > 0 ? ` (${parts.join('; ')})` : '';
}

/**
 * Two variants on the same examples, told apart only by the examples one gets right and the other
 * wrong (the discordant pairs): a difference of a few tenths of a point on a few thousand
 * examples is often no difference at all, and this says which.
 */
export interface PairedDifference {
  /** Examples the first variant gets right and the second wrong, and the reverse. */
  aOnly: number;
  bOnly: number;
  /** Accuracy of the first minus accuracy of the second. */
  difference: number;
  /** 95 % confidence interval of that difference (Wald interval for paired proportions). */
  ci95: [number, number];
  /**
   * Two-sided exact McNemar p-value: how likely a split of the discordant pairs at least this
   * uneven would be if neither variant were better (1 when there are none).
   */
  pValue: number;
}

/** The first variant against the second, per level and for the whole path. */
export interface PairedComparison {
  levels: PairedDifference[];
  joint: PairedDifference;
}

/** Below this p-value a paired difference counts as real (the layer scan's test of a layer against the best). */
export const SIGNIFICANT = 0.05;

/** `right[i]` of each variant: whether it got example i right. */
export function pairedDifference(a: readonly boolean[], b: readonly boolean[]): PairedDifference {
  if (a.length !== b.length) throw new Error(`paired comparison: ${a.length} outcomes against ${b.length}`);
  const n = Math.max(1, a.length);
  let aOnly = 0;
  let bOnly = 0;
  a.forEach((right, i) => {
    if (right && !b[i]) aOnly++;
    else if (!right && b[i]) bOnly++;
  });
  const difference = (aOnly - bOnly) / n;
  // Variance of the mean of the per-example differences (each −1, 0 or +1).
  const se = Math.sqrt(Math.max(0, aOnly + bOnly - (aOnly - bOnly) ** 2 / n)) / n;
  return { aOnly, bOnly, difference, ci95: [difference - 1.96 * se, difference + 1.96 * se], pValue: mcNemarExact(aOnly, bOnly) };
}

/** Two-sided exact binomial test of `x` against `y` successes at p = 1/2. */
export function mcNemarExact(x: number, y: number): number {
  const m = x + y;
  if (m === 0) return 1;
  const k = Math.min(x, y);
  // Terms in log space: C(m, i) / 2^m underflows long before the tail it belongs to matters.
  let logC = 0; // log C(m, 0)
  let tail = 0;
  for (let i = 0; i <= k; i++) {
    if (i > 0) logC += Math.log((m - i + 1) / i);
    tail += Math.exp(logC - m * Math.LN2);
  }
  return Math.min(1, 2 * tail);
}

/** Variant a against variant b on the same gold paths: per level, then the whole path. */
export function pairedComparison(gold: readonly (readonly string[])[], a: readonly (readonly string[])[], b: readonly (readonly string[])[]): PairedComparison {
  if (gold.length !== a.length || gold.length !== b.length) throw new Error(`paired comparison: ${gold.length} gold paths, ${a.length} and ${b.length} predictions`);
  const depth = gold[0]?.length ?? 0;
  const rightAt = (predicted: readonly (readonly string[])[], d: number): boolean[] => gold.map((g, i) => g[d] === predicted[i]![d]);
  const rightPath = (predicted: readonly (readonly string[])[]): boolean[] => gold.map((g, i) => g.every((label, d) => label === predicted[i]![d]));
  return {
    levels: Array.from({ length: depth }, (_, d) => pairedDifference(rightAt(a, d), rightAt(b, d))),
    joint: pairedDifference(rightPath(a), rightPath(b)),
  };
}

/** A signed figure with a true minus sign, as in the tables: `+0.026`, `−1.2`; zero unsigned. */
export function signedFigure(x: number, digits: number): string {
  const s = Math.abs(x).toFixed(digits);
  return Number(s) === 0 ? s : `${x < 0 ? '−' : '+'}${s}`;
}

/** A difference of two shares in points: `+0.4`, `−1.2`. */
export function signedPoints(x: number): string {
  return signedFigure(x * 100, 1);
}

/** `p 0.27`, `p 0.004`, `p < 0.001`. */
export function formatPValue(p: number): string {
  if (p < 0.001) return 'p < 0.001';
  return `p ${p < 0.01 ? p.toFixed(3) : p.toFixed(2)}`;
}

/** "−0.4 points (95 % CI −1.1 to +0.3, McNemar p 0.27; 281 against 311 examples)". */
export function describeDifference(d: PairedDifference): string {
  return `${signedPoints(d.difference)} points (95 % CI ${signedPoints(d.ci95[0])} to ${signedPoints(d.ci95[1])}, McNemar ${formatPValue(d.pValue)}; ${d.aOnly} against ${d.bOnly} examples)`;
}

/**
 * Two per-token means over the same examples (say, the answer's negative log-likelihood after
 * HdLM's thought and with none), pooled the way the means themselves are: Σ nll / Σ tokens.
 */
export interface PairedMeanDifference {
  /** First pooled mean minus the second. */
  difference: number;
  /** 95 % confidence interval of that difference (delta method for a ratio of sums). */
  ci95: [number, number];
  /** Two-sided p-value of "no difference" under the normal approximation (fine from ~30 examples). */
  pValue: number;
  examples: number;
}

/** Per example: the summed value over its tokens, and how many tokens. */
export interface TokenSum {
  sum: number;
  tokens: number;
}

/** Over two examples at least (with one, the interval is unbounded). */
export function pairedMeanDifference(a: readonly TokenSum[], b: readonly TokenSum[]): PairedMeanDifference {
  if (a.length !== b.length) throw new Error(`paired comparison: ${a.length} examples against ${b.length}`);
  const tokens = a.reduce((n, x, i) => {
    if (x.tokens !== b[i]!.tokens) throw new Error(`paired comparison: example ${i} has ${x.tokens} tokens against ${b[i]!.tokens}`);
    return n + x.tokens;
  }, 0);
  if (tokens === 0) return { difference: 0, ci95: [0, 0], pValue: 1, examples: a.length };
  const d = a.map((x, i) => x.sum - b[i]!.sum);
  const difference = d.reduce((s, x) => s + x, 0) / tokens;
  // Linearised ratio estimator: each example's residual against the pooled difference.
  const n = a.length;
  const residuals = d.reduce((s, x, i) => s + (x - difference * a[i]!.tokens) ** 2, 0);
  const se = n > 1 ? Math.sqrt((n / (n - 1)) * residuals) / tokens : Number.POSITIVE_INFINITY;
  const z = se === 0 ? (difference === 0 ? 0 : Number.POSITIVE_INFINITY) : Math.abs(difference) / se;
  return { difference, ci95: [difference - 1.96 * se, difference + 1.96 * se], pValue: Math.min(1, 2 * (1 - normalCdf(z))), examples: n };
}

/** Standard normal distribution function (Abramowitz and Stegun 7.1.26: error below 1.5e-7). */
export function normalCdf(z: number): number {
  if (!Number.isFinite(z)) return z > 0 ? 1 : 0;
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erf = 1 - poly * Math.exp(-x * x);
  return z >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}

/** "−0.026 nats/token (95 % CI −0.051 to −0.001, p 0.04; 194 examples)". */
export function describeMeanDifference(d: PairedMeanDifference, unit: string): string {
  const [low, high] = d.ci95.map((x) => signedFigure(x, 3));
  return `${signedFigure(d.difference, 3)} ${unit} (95 % CI ${low} to ${high}, ${formatPValue(d.pValue)}; ${d.examples} examples)`;
}
