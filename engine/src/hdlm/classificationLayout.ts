// Where the labels of a hierarchical classification go in the HdLM sequence format (ARCHITECTURE
// §1): start · system · user(level-1 candidates, input) · thought(level-1 label) · subtask
// (children of that label) · thought(level-2 label) · … · assistant(last-level label). Only
// tokens, no model: the classifier decodes through it, head training teacher-forces it, and the
// pretraining tools write the same sequences (tools/pretrain/taskSequences.ts), so all three see
// one layout.
import { candidateList, Role, SequenceFormat, turn } from './sequenceFormat';
import type { Taxonomy } from './taxonomy';

export interface LayoutTask {
  taxonomy: Taxonomy;
  system: string;
  /** List each level's candidates in the sequence (as the paper does). */
  listCandidates: boolean;
}

export class ClassificationLayout {
  constructor(
    private readonly format: SequenceFormat,
    private readonly task: LayoutTask,
  ) {}

  /**
   * The part of every prompt that does not depend on the input: system turn, and the user turn
   * up to the input (the level-1 candidates come first). Computed once, its cache is shared.
   */
  sharedPrefix(): number[] {
    const f = this.format;
    const candidates = this.task.listCandidates ? f.content(`${candidateList(this.task.taxonomy.childrenOf(1))}\n`) : [];
    return [...f.start(), ...turn(f, 'system', this.task.system), ...f.open('user'), ...candidates];
  }

  /** The input's own tokens: the text, the end of the user turn, and the level-1 turn's opening. */
  inputPart(text: string): number[] {
    const f = this.format;
    return [...f.content(text), ...f.close(), ...f.open(this.roleOf(1))];
  }

  /** Token ids of the prompt up to where the level-1 label starts. */
  prefix(text: string): number[] {
    return [...this.sharedPrefix(), ...this.inputPart(text)];
  }

  /** Tokens that follow the level-d label: close its turn and open the next level's. */
  continuation(level: number, label: string): number[] {
    const f = this.format;
    const next = level + 1;
    const children = this.task.taxonomy.childrenOf(next, label);
    const subtask = this.task.listCandidates ? turn(f, 'subtask', candidateList(children)) : [];
    return [...f.close(), ...subtask, ...f.open(this.roleOf(next))];
  }

  /**
   * The input part followed by the gold labels in the sequence format (teacher forcing), and for
   * each level the indices (into that list) of its label tokens.
   */
  teacherForced(text: string, path: readonly string[]): { ids: number[]; labelSpans: number[][] } {
    const ids = this.inputPart(text);
    const labelSpans: number[][] = [];
    path.forEach((label, d) => {
      const labelIds = this.candidateIds(label);
      labelSpans.push(labelIds.map((_, i) => ids.length + i));
      ids.push(...labelIds, ...(d + 1 < path.length ? this.continuation(d + 1, label) : this.format.close()));
    });
    return { ids, labelSpans };
  }

  candidateIds(label: string): number[] {
    return this.format.content(label);
  }

  private roleOf(level: number): Role {
    return level === this.task.taxonomy.depth ? 'assistant' : 'thought';
  }
}
