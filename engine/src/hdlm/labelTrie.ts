// The candidates of one classification decision as a trie of token ids. Shared by scoring and
// head training so both see the same choices: at a trie node with several children the label's
// next token is a choice among siblings; at a node with one child it is forced by the tokens
// before it, so it tells nothing about which label is meant.
export interface Candidate {
  label: string;
  /** Token ids of the label as it appears in the sequence (with its closing tokens, for choice scoring). */
  ids: readonly number[];
}

export interface TrieNode {
  children: Map<number, TrieNode>;
  /** Candidates that end at this node. */
  ends: string[];
}

export class LabelTrie {
  private constructor(
    readonly root: TrieNode,
    readonly candidates: readonly Candidate[],
  ) {}

  static build(candidates: readonly Candidate[]): LabelTrie {
    const root: TrieNode = { children: new Map(), ends: [] };
    for (const c of candidates) {
      if (c.ids.length === 0) throw new Error(`label "${c.label}" has no tokens`);
      let node = root;
      for (const t of c.ids) {
        let next = node.children.get(t);
        if (!next) node.children.set(t, (next = { children: new Map(), ends: [] }));
        node = next;
      }
      node.ends.push(c.label);
    }
    return new LabelTrie(root, candidates);
  }

  /**
   * For each token of `ids` (a path from the root), the tokens the trie allows at that point:
   * the children of the node before it. One entry means the token is forced.
   */
  choicesAlong(ids: readonly number[]): number[][] {
    const out: number[][] = [];
    let node = this.root;
    for (const t of ids) {
      out.push([...node.children.keys()]);
      const next = node.children.get(t);
      if (!next) throw new Error(`token ${t} leaves the label trie`);
      node = next;
    }
    return out;
  }

  /** Every token that is ever one of several choices (what a head trained on choices must rank). */
  choiceTokens(): number[] {
    const out = new Set<number>();
    const visit = (node: TrieNode): void => {
      if (node.children.size > 1) for (const t of node.children.keys()) out.add(t);
      for (const child of node.children.values()) visit(child);
    };
    visit(this.root);
    return [...out];
  }
}
