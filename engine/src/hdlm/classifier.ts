// Hierarchical classification, coarse to fine (ARCHITECTURE §1, §3). Level d is decided by its
// head at its layer, and the input runs only that deep: a level-1 decision costs about k1/L of
// a full pass. The chosen label is written into the sequence (thought turn), the next level's
// candidates are that label's children (subtask turn), and so on; the last level is the
// assistant turn at the last layer. A hierarchy beam keeps the best `beam` partial paths, so a
// deeper level can overturn an unsure coarse decision.
import { ContextOverflowError } from '../model/contextOverflow';
import type { DecodeState } from '../model/decodeState';
import type { LanguageHead } from '../model/languageHead';
import type { SegmentedModel } from '../model/segmentedModel';
import type { Tokenizer } from '../tokenizer';
import { type LabelScoring, scoreCandidates, ScoredCandidate, scoringRuns } from './labelScorer';
import { ClassificationLayout, type LayoutTask } from './classificationLayout';
import { sequenceFormat } from './sequenceFormat';

export interface ClassifierLevel {
  /** Exit layer that decides this level. */
  layer: number;
  /** Head read out at that layer (the model's own head when untrained). */
  head: LanguageHead;
  /** How its labels are scored: as the head was trained (its manifest); 'sequence' when absent. */
  scoring?: LabelScoring;
}

/** The layout's fields (taxonomy, system, listCandidates) and the layer and head of each level. */
export interface ClassifyTask extends LayoutTask {
  /** One per taxonomy level, layers ascending; the last is usually the model's last layer. */
  levels: ClassifierLevel[];
  /**
   * Exiting when sure: level d is scored at each of `exits[d]` in turn (layers ascending, each
   * with its own head) and decided at the first where its best label's probability reaches
   * `threshold`, else at the last; going deeper runs only the layers between two tries. Without
   * it each level is decided at its `levels[d]` layer. See earlyExit.ts for what it is measured against.
   */
  exitWhenSure?: ExitWhenSure;
}

export interface ExitWhenSure {
  threshold: number;
  exits: readonly (readonly ClassifierLevel[])[];
}

export interface LevelDecision {
  level: number;
  label: string;
  /** Probability of the label among its siblings, given the labels above it. */
  probability: number;
  runnersUp: { label: string; probability: number }[];
  /** Layer whose head decided this level. */
  layer: number;
  /** Wall time of this level, over every beam. */
  ms: number;
  /** Decoder work spent deciding this level, over every beam: rows × positions × layers run (not sent to editors). */
  layerPositions: number;
}

export interface Classification {
  path: LevelDecision[];
  /** Product of the per-level probabilities of the chosen path. */
  pathProbability: number;
  /** Other complete paths the beam kept, best first. */
  alternatives: { labels: string[]; probability: number }[];
}

interface Beam {
  labels: string[];
  logp: number;
  decisions: LevelDecision[];
  state: DecodeState;
}

/**
 * A partial path chosen at one level, not yet given its own state: its parent's state and the
 * tokens its label adds. Siblings share the parent, so what the parent still has to run (the
 * input, at the deeper layers) runs once for all of them, not once per beam.
 */
interface Child extends Omit<Beam, 'state'> {
  parent: DecodeState;
  tokens: number[];
}

/** How many partial paths a level hands on, and how close to the best one each must be. */
export interface HierarchyBeam {
  /** Most partial paths kept per level (1: greedy). */
  beam: number;
  /** A kept path's probability is at least this fraction of the best one's at that level (0: any). */
  margin: number;
}

/**
 * The default for every front end. Measured on every 4th WordNet dev line (1,885 glosses, HdLM
 * heads, 2026-12-03): joint path greedy 49.9 % at 302 layer·positions per example; beam 2
 * without a margin 51.0 % at 461; beam 2 with margin 0.5 51.1 % at 340. Nearly all that a beam
 * gains comes from near-ties, so it widens only for them.
 */
export const DEFAULT_BEAM: HierarchyBeam = { beam: 2, margin: 0.5 };

/**
 * The beam asked for, DEFAULT_BEAM where a field is absent: the one rule every front end applies
 * (they turn the RangeError, which names the field, into their own kind of error).
 */
export function resolveBeam(asked: Partial<HierarchyBeam> = {}): HierarchyBeam {
  const { beam = DEFAULT_BEAM.beam, margin = DEFAULT_BEAM.margin } = asked;
  if (!Number.isInteger(beam) || beam < 1) throw new RangeError(`beam must be a whole number of at least 1, got ${JSON.stringify(asked.beam)}`);
  if (typeof margin !== 'number' || !(margin >= 0 && margin <= 1)) throw new RangeError(`margin must be a number from 0 to 1, got ${JSON.stringify(asked.margin)}`);
  return { beam, margin };
}

export class HierarchicalClassifier {
  /** Where the labels go in the sequence (shared with head training and the pretraining tools). */
  readonly layout: ClassificationLayout;
  /** The shared prefix, run through every layer once; each input forks it. */
  private prefixState: Promise<DecodeState> | undefined;

  constructor(
    private readonly model: SegmentedModel,
    tokenizer: Tokenizer,
    readonly task: ClassifyTask,
  ) {
    if (task.levels.length !== task.taxonomy.depth) {
      throw new Error(`the task has ${task.levels.length} levels but its taxonomy ${task.taxonomy.depth}`);
    }
    const exits = task.exitWhenSure?.exits;
    if (exits && (exits.length !== task.levels.length || exits.some((e) => e.length === 0 || e.some((t, i) => i > 0 && t.layer <= e[i - 1]!.layer)))) {
      throw new Error(`exitWhenSure needs, for each of the ${task.levels.length} levels, one or more exits in increasing layers`);
    }
    this.layout = new ClassificationLayout(sequenceFormat(tokenizer), task);
  }

  /**
   * The most probable path, level by level: up to `beam` partial paths go on to the next level,
   * each only if its probability is at least `margin` times the best one's there, so the beam
   * widens only where a level is unsure (DEFAULT_BEAM; `{ beam: 1 }` is greedy).
   */
  async classify(text: string, options: Partial<HierarchyBeam> & { signal?: AbortSignal } = {}): Promise<Classification> {
    const input = this.layout.inputPart(text);
    try {
      const root = await this.prefixFork();
      try {
        this.model.append(root, [input]);
      } catch (err) {
        root.release();
        throw err;
      }
      return await this.classifyFrom(root, options);
    } catch (err) {
      throw this.withFixedPart(err, input.length);
    }
  }

  /**
   * A context overflow said with the task's fixed prompt apart from the input and the labels
   * (ContextOverflowError.fixed), so that a task whose own part fills the context is not blamed
   * on the input; other errors as they are. `input`: the input's positions, when known.
   */
  private withFixedPart(err: unknown, input?: number): unknown {
    if (!(err instanceof ContextOverflowError) || (err.fixed && (err.fixed.input !== undefined || input === undefined))) return err;
    return new ContextOverflowError(err.needed, this.model.config, { ...this.layout.fixedPart(), ...(input === undefined ? {} : { input }) });
  }

  /** A fork of the shared prefix's state (system turn and candidates), for a caller that appends the input itself. */
  async prefixFork(): Promise<DecodeState> {
    return (await this.sharedState()).fork();
  }

  /**
   * `classify` on a state that already holds the prefix and the input (`layout.inputPart`), with
   * at least the input's newest position not yet run: the early-exit cascade (earlyExit.ts) runs
   * the input's other positions once and tries several classifiers on forks of it. The call owns
   * `root` and releases it.
   */
  async classifyFrom(root: DecodeState, options: Partial<HierarchyBeam> & { signal?: AbortSignal } = {}): Promise<Classification> {
    // Every state this call makes is released at its end (device caches: model/deviceTensors.ts).
    const made = new Set<DecodeState>([root]);
    let chosen: Child[] = [{ labels: [], logp: 0, decisions: [], parent: root, tokens: [] }];
    try {
      const { beam: beamWidth, margin } = resolveBeam(options);
      const floor = Math.log(margin);
      for (let level = 1; level <= this.task.taxonomy.depth; level++) {
        const started = performance.now();
        const work = this.model.compute.layerPositions;
        // Each chosen path gets its state here, so that siblings run their shared input once.
        const beams = await this.materialize(chosen, level, options.signal);
        beams.forEach((b) => made.add(b.state));
        const expanded: Child[] = [];
        for (const beam of beams) expanded.push(...(await this.expand(beam, level, beamWidth, options.signal)));
        // A level's cost is every beam's expansion at it, not only the surviving path's.
        const cost = { ms: performance.now() - started, layerPositions: this.model.compute.layerPositions - work };
        expanded.sort((a, b) => b.logp - a.logp);
        const best = expanded[0]!.logp;
        chosen = expanded.filter((b, i) => i === 0 || b.logp >= best + floor).slice(0, beamWidth).map((b) => withLevelCost(b, cost));
      }
    } catch (err) {
      throw this.withFixedPart(err);
    } finally {
      for (const state of made) state.release();
    }
    const best = chosen[0]!;
    return {
      path: best.decisions,
      pathProbability: Math.exp(best.logp),
      alternatives: chosen.slice(1).map((b) => ({ labels: b.labels, probability: Math.exp(b.logp) })),
    };
  }

  /**
   * Probability of a given path (teacher forcing): each level's label among its siblings, given
   * the path above it. The product is what `classify` maximises.
   */
  async scorePath(text: string, path: readonly string[], signal?: AbortSignal): Promise<number[]> {
    if (!this.task.taxonomy.isPath(path)) throw new Error(`"${path.join(' / ')}" is not a path of the taxonomy`);
    const state = this.model.newState(1);
    const probabilities: number[] = [];
    try {
      this.model.append(state, [this.layout.prefix(text)]);
      for (let level = 1; level <= path.length; level++) {
        const { scored } = await this.score(level, level === 1 ? '' : path[level - 2]!, state, signal);
        probabilities.push(scored.find((s) => s.label === path[level - 1])!.probability);
        if (level < path.length) this.model.append(state, [[...this.layout.candidateIds(path[level - 1]!), ...this.layout.continuation(level, path[level - 1]!)]]);
      }
    } finally {
      state.release();
    }
    return probabilities;
  }

  /** The shared prefix's state, computed on first use and never written again (callers fork it). */
  private sharedState(): Promise<DecodeState> {
    this.prefixState ??= (async () => {
      const state = this.model.newState(1);
      this.model.append(state, [this.layout.sharedPrefix()]);
      await this.model.runToNewest(state, this.model.config.numLayers); // nothing reads it there: only its newest position runs the last layer's MLP
      return state;
    })();
    return this.prefixState;
  }

  /**
   * The states of the paths chosen at the level before `level`: each parent first runs what it
   * has pending up to this level's layer, once for all its children (unless none of them has
   * anything to score there), then each child forks it and appends its label's tokens.
   */
  private async materialize(chosen: readonly Child[], level: number, signal?: AbortSignal): Promise<Beam[]> {
    // Where the level is scored first (exiting when sure, it may go deeper for some of them).
    const { layer, scoring = 'sequence' } = this.tries(level)[0]!;
    const siblings = (parent: DecodeState): Child[] => chosen.filter((c) => c.parent === parent);
    for (const parent of new Set(chosen.map((c) => c.parent))) {
      const children = siblings(parent);
      if (children.length > 1 && children.some((c) => scoringRuns(this.layout.trie(level, c.labels[level - 2]!, scoring), scoring))) await this.model.runToNewest(parent, layer, signal);
    }
    return chosen.map(({ parent, tokens, ...rest }) => {
      // An only child takes its parent's state itself (nothing else reads it), so greedy runs as before.
      const state = siblings(parent).length === 1 ? parent : parent.fork();
      if (tokens.length > 0) this.model.append(state, [tokens]);
      return { ...rest, state };
    });
  }

  /** Scores level `level` under one beam and returns its best `width` extensions. */
  private async expand(beam: Beam, level: number, width: number, signal?: AbortSignal): Promise<Child[]> {
    const { scored, layer } = await this.score(level, level === 1 ? '' : beam.labels[level - 2]!, beam.state, signal);
    return scored.slice(0, width).map((choice) => {
      const decision = this.decision(level, choice, scored, layer);
      const tokens = level < this.task.taxonomy.depth ? [...this.layout.candidateIds(choice.label), ...this.layout.continuation(level, choice.label)] : [];
      return { labels: [...beam.labels, choice.label], logp: beam.logp + Math.log(choice.probability), decisions: [...beam.decisions, decision], parent: beam.state, tokens };
    });
  }

  /**
   * Level `level`'s children of `parent`, scored on `state` by the level's head at its layer, or
   * (exiting when sure) at its first exit whose best label is sure enough; and the layer that decided.
   */
  private async score(level: number, parent: string, state: DecodeState, signal?: AbortSignal): Promise<{ scored: ScoredCandidate[]; layer: number }> {
    const tries = this.tries(level);
    const threshold = this.task.exitWhenSure?.threshold ?? 0;
    for (const [i, { layer, head, scoring = 'sequence' }] of tries.entries()) {
      const scored = await scoreCandidates(this.model, state, layer, head, this.layout.trie(level, parent, scoring), { scoring, signal });
      if (i === tries.length - 1 || scored[0]!.probability >= threshold) return { scored, layer };
    }
    throw new Error('unreachable: a level has at least one exit');
  }

  /** Where level `level` is scored, in order: its exits when exiting when sure, else its own layer. */
  private tries(level: number): readonly ClassifierLevel[] {
    return this.task.exitWhenSure?.exits[level - 1] ?? [this.task.levels[level - 1]!];
  }

  /** A decision without its cost, which `classify` fills in once the whole level is expanded. */
  private decision(level: number, choice: ScoredCandidate, scored: ScoredCandidate[], layer: number): LevelDecision {
    const runnersUp = scored.filter((s) => s !== choice).slice(0, 3).map((s) => ({ label: s.label, probability: s.probability }));
    return { level, label: choice.label, probability: choice.probability, runnersUp, layer, ms: 0, layerPositions: 0 };
  }
}

/** The path with its newest decision's cost set to the whole level's. */
function withLevelCost<T extends { decisions: LevelDecision[] }>(beam: T, cost: { ms: number; layerPositions: number }): T {
  const last = beam.decisions.length - 1;
  return { ...beam, decisions: beam.decisions.map((d, i) => (i === last ? { ...d, ...cost } : d)) };
}
