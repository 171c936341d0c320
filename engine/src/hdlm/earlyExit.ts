// An early-exit baseline for hierarchical classification. Reviewers of the HdLM paper noted it
// compares with no early-exit method (ARCHITECTURE §1); this is the usual one, run on the same
// engine: the whole path is decided at an exit layer by heads trained there, and an input stops
// at the first exit whose path probability reaches a threshold τ, else goes on to the next exit
// (the last exit is the flat baseline at the last layer). HdLM instead fixes which layer decides
// which level, for every input.
//
// The input runs once: before each exit the shared input state is brought that deep, and the
// exit classifies on a fork of it, so going on to the next exit costs the layers between the two
// (the segmented model's catch-up) and that exit's label scoring, not a new pass from layer 1.
//
// Measured beside it: exiting per level (ClassifyTask.exitWhenSure in classifier.ts). Each level
// is scored at the shallowest exit first and goes deeper only while its best label's probability
// is below τ, so the layer deciding a level adapts to the input instead of being fixed as in HdLM.
import type { LoadedModel } from '../loadedModel';
import type { LanguageHead } from '../model/languageHead';
import type { SegmentedModel } from '../model/segmentedModel';
import { HierarchicalClassifier, type HierarchyBeam } from './classifier';
import type { LayoutTask } from './classificationLayout';
import type { LabelScoring } from './labelScorer';
import { loadSavedHead } from './taskSession';

/** One exit of the cascade: its layer and a classifier whose every level is decided there. */
interface CascadeExit {
  layer: number;
  classifier: HierarchicalClassifier;
}

/** What an input would get by stopping at one exit. */
export interface ExitAttempt {
  labels: string[];
  /** The path's probability, product of its levels' (what τ is compared with). */
  probability: number;
  /** Decoder work from the input's first position to this exit's decision, all exits before it included. */
  layerPositions: number;
  /** Wall time to this exit's decision, all exits before it included. */
  ms: number;
}

/**
 * Runs `text` through every exit in order and returns what stopping at each would give, with the
 * cumulative cost of getting there; a threshold then picks the exit offline (exitIndex), so one
 * run measures every τ. The exits' classifiers must share `model` and their prompt layout (the
 * same taxonomy, system prompt and candidate listing); layers ascending.
 */
export async function runExitCascade(
  model: SegmentedModel,
  exits: readonly CascadeExit[],
  text: string,
  options: Partial<HierarchyBeam> & { signal?: AbortSignal } = {},
): Promise<ExitAttempt[]> {
  if (exits.length === 0) throw new Error('runExitCascade: no exits');
  if (exits.some((e, i) => i > 0 && e.layer <= exits[i - 1]!.layer)) throw new Error(`runExitCascade: exit layers must increase, got ${exits.map((e) => e.layer).join(', ')}`);
  const L = model.config.numLayers;
  const ids = exits[0]!.classifier.layout.inputPart(text);
  // The newest input position is held back and appended to each fork: a classifier reads the
  // newest position's hidden state at its layer, and only a run that computes it returns it.
  const shared = ids.slice(0, -1);
  const newest = ids.slice(-1);
  const before = model.compute.layerPositions;
  const t0 = performance.now();
  const input = await exits[0]!.classifier.prefixFork();
  const attempts: ExitAttempt[] = [];
  try {
    if (shared.length > 0) model.append(input, [shared]);
    for (const { layer, classifier } of exits) {
      // Below the last layer the shared input is run to the exit's depth once for this and every
      // later exit; at the last layer the fork runs it, only its newest position in full there.
      if (layer < L && shared.length > 0) await model.runTo(input, layer, { signal: options.signal });
      const fork = input.fork();
      try {
        model.append(fork, [newest]);
      } catch (err) {
        fork.release(); // classifyFrom owns the fork only once it has it
        throw err;
      }
      const result = await classifier.classifyFrom(fork, options);
      attempts.push({ labels: result.path.map((d) => d.label), probability: result.pathProbability, layerPositions: model.compute.layerPositions - before, ms: performance.now() - t0 });
    }
  } finally {
    input.release();
  }
  return attempts;
}

/** The exit an input with these attempts stops at under threshold τ: the first sure enough, else the last. */
export function exitIndex(attempts: readonly ExitAttempt[], threshold: number): number {
  const i = attempts.findIndex((a) => a.probability >= threshold);
  return i < 0 ? attempts.length - 1 : i;
}

/** The cascade at one threshold, over a set of inputs. */
export interface ExitPoint {
  threshold: number;
  /** Share of inputs whose whole path is right. */
  jointAccuracy: number;
  /** Per level, share right. */
  levelAccuracy: number[];
  /** Mean decoder work per input. */
  layerPositions: number;
  ms: number;
  /** Share of inputs stopping at each exit. */
  exitShare: number[];
  /** Per input, whether its whole path is right (for paired comparisons). */
  right: boolean[];
}

/** The cascade's figures at each threshold, from the attempts of every input and their gold paths. */
export function exitCurve(gold: readonly (readonly string[])[], attempts: readonly (readonly ExitAttempt[])[], thresholds: readonly number[]): ExitPoint[] {
  if (gold.length !== attempts.length) throw new Error(`exitCurve: ${gold.length} gold paths but ${attempts.length} inputs`);
  const n = Math.max(1, gold.length);
  const depth = gold[0]?.length ?? 0;
  const exits = attempts[0]?.length ?? 0;
  return thresholds.map((threshold) => {
    const exitCount = new Array<number>(exits).fill(0);
    const levelRight = new Array<number>(depth).fill(0);
    const right: boolean[] = [];
    let layerPositions = 0;
    let ms = 0;
    attempts.forEach((a, i) => {
      const k = exitIndex(a, threshold);
      const chosen = a[k]!;
      exitCount[k]!++;
      layerPositions += chosen.layerPositions;
      ms += chosen.ms;
      const g = gold[i]!;
      g.forEach((label, d) => (levelRight[d]! += chosen.labels[d] === label ? 1 : 0));
      right.push(g.every((label, d) => chosen.labels[d] === label));
    });
    return {
      threshold,
      jointAccuracy: right.filter(Boolean).length / n,
      levelAccuracy: levelRight.map((r) => r / n),
      layerPositions: layerPositions / n,
      ms: ms / n,
      exitShare: exitCount.map((c) => c / n),
      right,
    };
  });
}

/**
 * Thresholds chosen on dev against a reference (HdLM's dev figures): `sameCompute` is the most
 * accurate point costing no more than the reference, `sameAccuracy` the cheapest point at least as
 * accurate (undefined when none is).
 */
export function matchReference<P extends { jointAccuracy: number; layerPositions: number }>(curve: readonly P[], reference: { jointAccuracy: number; layerPositions: number }): { sameCompute?: P; sameAccuracy?: P } {
  const cheap = curve.filter((p) => p.layerPositions <= reference.layerPositions).sort((a, b) => b.jointAccuracy - a.jointAccuracy || a.layerPositions - b.layerPositions);
  const good = curve.filter((p) => p.jointAccuracy >= reference.jointAccuracy).sort((a, b) => a.layerPositions - b.layerPositions || b.jointAccuracy - a.jointAccuracy);
  return { sameCompute: cheap[0], sameAccuracy: good[0] };
}

/**
 * A classifier on `loaded` whose level d is decided at `levels[d].layer` by the head saved as
 * `levels[d].head` in `levels[d].dir` (a head may serve several levels: it is loaded once). The
 * model must be cut at each layer below the last. `release` frees the heads, not the model.
 */
export async function savedHeadsClassifier(
  loaded: LoadedModel,
  layout: LayoutTask,
  levels: readonly { layer: number; dir: string; head: string }[],
): Promise<{ classifier: HierarchicalClassifier; release: () => Promise<void> }> {
  const heads = new Map<string, { head: LanguageHead; scoring: LabelScoring }>();
  const key = (dir: string, head: string): string => `${dir}\u0000${head}`;
  const release = async (): Promise<void> => {
    await Promise.all([...heads.values()].map((h) => h.head.release()));
  };
  try {
    for (const { dir, head } of levels) if (!heads.has(key(dir, head))) heads.set(key(dir, head), await loadSavedHead(loaded, dir, head));
    const classifier = new HierarchicalClassifier(loaded.model, loaded.requireTokenizer(), {
      ...layout,
      levels: levels.map(({ layer, dir, head }) => ({ layer, ...heads.get(key(dir, head))! })),
    });
    return { classifier, release };
  } catch (err) {
    await release();
    throw err;
  }
}
