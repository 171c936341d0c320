// Where the labels of a hierarchical classification go in the HdLM sequence format (ARCHITECTURE
// §1): start · system · user(level-1 candidates, input) · thought(level-1 label) · subtask
// (children of that label) · thought(level-2 label) · … · assistant(last-level label). Only
// tokens, no model: the classifier decodes through it, head training teacher-forces it, and the
// pretraining tools write the same sequences (tools/pretrain/taskSequences.ts), so all three see
// one layout.
import { LabelTrie, type Candidate } from './labelTrie';
import type { LabelScoring } from './labelScorer';
import type { FixedPart } from '../model/contextOverflow';
import { candidateList, inputText, Role, SequenceFormat, turn } from './sequenceFormat';
import type { Taxonomy } from './taxonomy';

export interface LayoutTask {
  taxonomy: Taxonomy;
  system: string;
  /** List each level's candidates in the sequence (as the paper does). */
  listCandidates: boolean;
}

/** A gold path written into the sequence, with where its labels' tokens are and which of them are choices. */
export interface TeacherForced {
  ids: number[];
  /** Per level, the indices (into ids) of its label's tokens. */
  labelSpans: number[][];
  /**
   * Per level, the indices of the tokens (the label's, then its closing ones) where the label is
   * one choice among its siblings' continuations (choiceTrie); forced tokens are left out.
   */
  choiceSpans: number[][];
  /** Per level, for each choiceSpans index, the token ids allowed there (the gold one among them). */
  choices: number[][][];
}

export class ClassificationLayout {
  /** Tries by scoring, level and parent, built on first use (head training asks once per example, classification once per beam and level). */
  private readonly tries = new Map<string, LabelTrie>();
  /** Each label's tokens, encoded once: head training teacher-forces tens of thousands of paths over a few hundred labels. */
  private readonly labelIds = new Map<string, readonly number[]>();
  /** longestPathTail, once computed. */
  private longestTail: number | undefined;

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

  /**
   * The shared prefix as a context overflow tells it apart from the input (ContextOverflowError,
   * fixedPartMessage): its positions, what it is made of, and what to shorten when it leaves too
   * little room. The classifier's refusals and the editor's warning on a task file both say this.
   */
  fixedPart(): Omit<FixedPart, 'input'> {
    const lists = this.task.listCandidates;
    return {
      positions: this.sharedPrefix().length,
      what: `the system prompt and turn markers${lists ? ', and the level-1 candidates' : ''}`,
      shorten: `the task's "system" prompt${lists ? ' or set "listCandidates": false' : ''}`,
    };
  }

  /** The fewest tokens inputPart(text) can be, known without encoding the text (a long one takes seconds). */
  fewestInputTokens(text: string): number {
    return this.format.fewestContentTokens(inputText(text));
  }

  /** The input's own tokens: the text (inputText), the end of the user turn, and the level-1 turn's opening. */
  inputPart(text: string): number[] {
    const f = this.format;
    return [...f.content(inputText(text)), ...f.close(), ...f.open(this.roleOf(1))];
  }

  /** Token ids of the prompt up to where the level-1 label starts. */
  prefix(text: string): number[] {
    return [...this.sharedPrefix(), ...this.inputPart(text)];
  }

  /**
   * Tokens that follow the level-d label: close its turn and open the next level's. With
   * plain-text roles they start with the label's end (labelEnd), the next turn's first token.
   */
  continuation(level: number, label: string): number[] {
    const f = this.format;
    const next = level + 1;
    const children = this.task.taxonomy.childrenOf(next, label);
    const subtask = this.task.listCandidates ? turn(f, 'subtask', candidateList(children)) : [];
    return [...f.close(), ...subtask, ...f.open(this.roleOf(next))];
  }

  /**
   * The tokens that end a level-`level` label, which tell a label from a sibling it is the start
   * of ("bird", "bird of prey"): the turn's closing token. Plain-text roles have none, so there
   * it is the first token of what follows the label, the next turn's opening (a new line), as
   * thoughtThenAnswerSequence ends a thought; after the last level, where nothing follows, the
   * opening of the user turn that a conversation would go on with.
   */
  labelEnd(level: number): number[] {
    const f = this.format;
    if (f.close().length > 0) return f.close();
    const next = level === this.task.taxonomy.depth ? f.open('user') : this.task.listCandidates ? f.open('subtask') : f.open(this.roleOf(level + 1));
    return next.slice(0, 1);
  }

  /**
   * The input part followed by the gold labels in the sequence format (teacher forcing), and for
   * each level the indices (into that list) of its label tokens.
   */
  teacherForced(text: string, path: readonly string[]): TeacherForced {
    // A label the taxonomy does not have there has no place in the label trie: say which it is
    // (evaluation never teacher-forces gold paths, so this is a caller's mistake).
    if (path.length > this.task.taxonomy.depth) throw new Error(`${path.length} labels, but the taxonomy has ${this.task.taxonomy.depth} levels`);
    const away = this.task.taxonomy.departure(path);
    if (away) throw new Error(`level ${away.level} label '${away.label}' is not ${away.level === 1 ? 'a level-1 label' : `a child of '${path[away.level - 2]!}'`} in the taxonomy`);
    const ids = this.inputPart(text);
    const out: TeacherForced = { ids, labelSpans: [], choiceSpans: [], choices: [] };
    path.forEach((label, d) => {
      const labelIds = this.candidateIds(label);
      const start = ids.length;
      out.labelSpans.push(labelIds.map((_, i) => start + i));
      const along = this.choiceTrie(d + 1, d === 0 ? '' : path[d - 1]!).choicesAlong([...labelIds, ...this.labelEnd(d + 1)]);
      const open = along.map((c, i) => ({ c, i })).filter(({ c }) => c.length > 1);
      out.choiceSpans.push(open.map(({ i }) => start + i));
      out.choices.push(open.map(({ c }) => c));
      ids.push(...labelIds, ...(d + 1 < path.length ? this.continuation(d + 1, label) : this.labelEnd(d + 1)));
    });
    return out;
  }

  /**
   * The most positions the labels of any path of the taxonomy take after the input: for each
   * level its label and what follows it (with listCandidates, the next level's candidate list,
   * the longest under any parent), as teacherForced writes them. The classifier never goes
   * further on any path its beam explores (scoring a level appends at most its candidates'
   * tokens and closing ones, which the continuation starts with), so an input that fits with
   * this many positions more can be classified whatever the beam visits. Computed once.
   */
  longestPathTail(): number {
    if (this.longestTail === undefined) {
      const taxonomy = this.task.taxonomy;
      const depth = taxonomy.depth;
      const closing = this.labelEnd(depth).length;
      const tail = (level: number, label: string): number => {
        const own = this.candidateIds(label).length;
        if (level === depth) return own + closing;
        const below = Math.max(0, ...taxonomy.childrenOf(level + 1, label).map((child) => tail(level + 1, child)));
        return own + this.continuation(level, label).length + below;
      };
      this.longestTail = Math.max(0, ...taxonomy.childrenOf(1).map((label) => tail(1, label)));
    }
    return this.longestTail;
  }

  /** Positions the longest path of the taxonomy needs for `text`, the shared prefix included (longestPathTail). */
  longestPrompt(text: string, sharedPrefix = this.sharedPrefix().length): number {
    return sharedPrefix + this.inputPart(text).length + this.longestPathTail();
  }

  candidateIds(label: string): readonly number[] {
    let ids = this.labelIds.get(label);
    if (!ids) this.labelIds.set(label, (ids = this.format.content(label)));
    return ids;
  }

  /** Level `level`'s candidates under `parent` ('' for level 1), as the sequence writes each label. */
  candidates(level: number, parent: string): Candidate[] {
    return this.task.taxonomy.childrenOf(level, parent).map((label) => ({ label, ids: this.candidateIds(label) }));
  }

  /**
   * The same candidates each followed by the tokens that end it (labelEnd), as a trie: choice
   * scoring and head training read it, so a label that is the start of a sibling's is told
   * apart by whether it ends there.
   */
  choiceTrie(level: number, parent: string): LabelTrie {
    return this.trie(level, parent, 'choices');
  }

  /** The trie a head scores `parent`'s children at `level` on: choiceTrie, or the bare labels for 'sequence' scoring. */
  trie(level: number, parent: string, scoring: LabelScoring): LabelTrie {
    const key = `${scoring}\u0000${level}\u0000${parent}`;
    let trie = this.tries.get(key);
    if (!trie) {
      const close = scoring === 'choices' ? this.labelEnd(level) : [];
      trie = LabelTrie.build(this.candidates(level, parent).map((c) => ({ label: c.label, ids: [...c.ids, ...close] })));
      this.tries.set(key, trie);
    }
    return trie;
  }

  /** Every token that is one of several choices at some level (what heads trained on choices rank). */
  choiceTokens(levels: readonly number[]): number[] {
    const out = new Set<number>();
    for (const level of levels) {
      for (const parent of level === 1 ? [''] : this.task.taxonomy.labels(level - 1)) {
        for (const t of this.choiceTrie(level, parent).choiceTokens()) out.add(t);
      }
    }
    return [...out];
  }

  private roleOf(level: number): Role {
    return level === this.task.taxonomy.depth ? 'assistant' : 'thought';
  }
}
