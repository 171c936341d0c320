// Classification metrics: per-level accuracy and macro-F1, joint-path accuracy.

export interface LevelMetrics {
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

/** Macro-F1 over every label that occurs as gold or as prediction. */
export function macroF1(gold: readonly string[], predicted: readonly string[]): { f1: number; classes: number } {
  const tp = new Map<string, number>();
  const fp = new Map<string, number>();
  const fn = new Map<string, number>();
  const bump = (m: Map<string, number>, k: string): void => void m.set(k, (m.get(k) ?? 0) + 1);
  gold.forEach((g, i) => {
    const p = predicted[i]!;
    if (g === p) bump(tp, g);
    else {
      bump(fp, p);
      bump(fn, g);
    }
  });
  const labels = new Set([...gold, ...predicted]);
  let sum = 0;
  for (const label of labels) {
    const t = tp.get(label) ?? 0;
    const precision = t + (fp.get(label) ?? 0) === 0 ? 0 : t / (t + (fp.get(label) ?? 0));
    const recall = t + (fn.get(label) ?? 0) === 0 ? 0 : t / (t + (fn.get(label) ?? 0));
    sum += precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  }
  return { f1: labels.size === 0 ? 0 : sum / labels.size, classes: labels.size };
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
