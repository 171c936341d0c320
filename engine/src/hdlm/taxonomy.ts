// A label hierarchy: level 1 labels at the root, each deeper label under exactly one parent.
// Built from dataset label paths, it refuses a child that appears under two parents and says
// where both were seen, because a decoder that picks the parent first could never reach it.

interface LabelPath {
  labels: readonly string[];
  /** Where the path came from, for errors: e.g. "train.jsonl:12". */
  source: string;
}

/**
 * A taxonomy as a head's manifest stores it. Each level is an array, not an object: a label's
 * place among its siblings is the order of every candidate list training wrote, and JavaScript
 * objects put integer-like keys ("5", "30") first, ascending, whatever order they were set in.
 */
export interface TaxonomyJson {
  depth: number;
  /** Per level, [label, parent label ('' at level 1)] in the taxonomy's order. */
  levels?: [string, string][][];
  /**
   * Manifests written before `levels` (2026-12-07): per level, label → parent label. They were
   * written from such objects too, so integer-like labels are already first and ascending in the
   * file, their training order lost; read as written (the order sessions of those heads always
   * used), other labels keep their order. A retrain rewrites the manifest with `levels`.
   */
  parents?: Record<string, string>[];
}

export class Taxonomy {
  private constructor(
    readonly depth: number,
    /** Per level (0-based), label → parent label ('' for level 1). */
    private readonly parents: Map<string, string>[],
    /** Per level, parent label → its children in first-seen order. */
    private readonly children: Map<string, string[]>[],
  ) {}

  static fromPaths(paths: Iterable<LabelPath>): Taxonomy {
    let depth = -1;
    const parents: Map<string, string>[] = [];
    const seenAt: Map<string, string>[] = [];
    for (const { labels, source } of paths) {
      if (depth < 0) {
        depth = labels.length;
        for (let d = 0; d < depth; d++) {
          parents.push(new Map());
          seenAt.push(new Map());
        }
      }
      if (labels.length !== depth) throw new Error(`${source}: label path has ${labels.length} levels, earlier paths have ${depth}`);
      labels.forEach((label, d) => {
        if (typeof label !== 'string' || label.trim() === '') throw new Error(`${source}: level ${d + 1} label is empty`);
        const parent = d === 0 ? '' : labels[d - 1]!;
        const known = parents[d]!.get(label);
        if (known !== undefined && known !== parent) {
          throw new Error(`${source}: level ${d + 1} label "${label}" is under "${parent}" here but under "${known}" at ${seenAt[d]!.get(label)}; each label needs exactly one parent`);
        }
        if (known === undefined) {
          parents[d]!.set(label, parent);
          seenAt[d]!.set(label, source);
        }
      });
    }
    if (depth <= 0) throw new Error('no label paths: a taxonomy needs at least one labelled example');
    return Taxonomy.build(depth, parents);
  }

  static fromJSON(json: TaxonomyJson): Taxonomy {
    const levels = json.levels ?? json.parents?.map((level) => Object.entries(level));
    if (!levels) throw new Error('a stored taxonomy needs its levels');
    return Taxonomy.build(json.depth, levels.map((level) => new Map(level)));
  }

  private static build(depth: number, parents: Map<string, string>[]): Taxonomy {
    const children = parents.map((level) => {
      const byParent = new Map<string, string[]>();
      for (const [label, parent] of level) byParent.set(parent, [...(byParent.get(parent) ?? []), label]);
      return byParent;
    });
    return new Taxonomy(depth, parents, children);
  }

  toJSON(): TaxonomyJson {
    return { depth: this.depth, levels: this.parents.map((level) => [...level]) };
  }

  /** Same labels under the same parents in the same order (however either was stored). */
  equals(other: Taxonomy): boolean {
    return JSON.stringify(this.toJSON()) === JSON.stringify(other.toJSON());
  }

  /** Labels of level `level` (1-based) under `parent` ('' or omitted for level 1). */
  childrenOf(level: number, parent = ''): readonly string[] {
    return this.children[level - 1]?.get(parent) ?? [];
  }

  labels(level: number): string[] {
    return [...(this.parents[level - 1]?.keys() ?? [])];
  }

  parentOf(level: number, label: string): string | undefined {
    return this.parents[level - 1]?.get(label);
  }

  /** True when `path` is a valid root-to-leaf path. */
  isPath(path: readonly string[]): boolean {
    return path.length === this.depth && path.every((label, d) => this.parents[d]!.get(label) === (d === 0 ? '' : path[d - 1]));
  }

  /**
   * Where `path` (as deep as the taxonomy or shallower) first leaves it: the level (1-based) and
   * label, and, when that label is one of the level's but under another parent, that parent.
   * Undefined when every label is where the path puts it. A classifier decodes only the
   * taxonomy's paths, so it can never produce `label` after the labels above it.
   */
  departure(path: readonly string[]): { level: number; label: string; knownUnder?: string } | undefined {
    for (const [d, label] of path.entries()) {
      const parent = this.parents[d]?.get(label);
      if (parent === (d === 0 ? '' : path[d - 1])) continue;
      return { level: d + 1, label, ...(parent === undefined ? {} : { knownUnder: parent }) };
    }
    return undefined;
  }
}
