// Scores label candidates as whole token sequences at one exit layer through one head. The
// candidates form a trie (labelTrie.ts); the trie nodes the score needs are appended to a fork of
// the state as one tree of positions (each sees the prefix and its own ancestors only), so all
// candidates go through the layers in a single pass and the head reads every node in one call.
// Two scorings (a head's manifest says which it was trained for):
// - 'sequence': a label's score is the sum of its tokens' log-probabilities over the head's
//   tokens, normalised over the candidates at the end. Every node with children is read.
// - 'choices': each token's probability is normalised over the tokens the trie allows at that
//   point (its siblings' continuations), so a forced token counts 1 and its node need not be
//   read, nor run through the layers unless a choice lies below it. With the labels' closing
//   tokens in the trie, the candidates' probabilities sum to 1 without further normalising.
import type { DecodeState } from '../model/decodeState';
import type { LanguageHead } from '../model/languageHead';
import type { SegmentedModel } from '../model/segmentedModel';
import type { LabelTrie, TrieNode } from './labelTrie';

export type LabelScoring = 'sequence' | 'choices';

export interface ScoredCandidate {
  label: string;
  logScore: number;
  probability: number;
}

/**
 * Scores the candidates of `trie` as continuations of `state` (whose newest position must already
 * have been appended; it is run to `layer` here when any token is to be read). `state` itself is
 * left as it was, except that its pending positions may have been brought to `layer`.
 */
export async function scoreCandidates(
  model: SegmentedModel,
  state: DecodeState,
  layer: number,
  head: LanguageHead,
  trie: LabelTrie,
  options: { scoring?: LabelScoring; signal?: AbortSignal } = {},
): Promise<ScoredCandidate[]> {
  if (trie.candidates.length === 0) throw new Error('no candidates to score');
  const { signal } = options;
  const scoring = options.scoring ?? 'sequence';
  const H = model.config.hiddenSize;
  const root = trie.root;
  const reads = (node: TrieNode): boolean => nodeReads(node, scoring);
  // 1. Nodes below the root that are read or lead to one that is, breadth first: tree positions.
  const leads = memo((node: TrieNode, self: (n: TrieNode) => boolean): boolean => reads(node) || [...node.children.values()].some(self));
  const inner: { node: TrieNode; token: number; parent: number }[] = [];
  const queue: { node: TrieNode; index: number }[] = [{ node: root, index: -1 }];
  while (queue.length > 0) {
    const { node, index } = queue.shift()!;
    for (const [token, child] of node.children) {
      if (!leads(child)) continue;
      inner.push({ node: child, token, parent: index });
      queue.push({ node: child, index: inner.length - 1 });
    }
  }
  // 2. One pass for all of them, one head call for the nodes that are read.
  const rowOf = new Map<TrieNode, number>();
  let logp: { at(row: number, token: number): number } | undefined;
  if (reads(root) || inner.length > 0) {
    const newest = await model.runToNewest(state, layer, signal);
    if (!newest) throw new Error('scoreCandidates: the prefix has no new position to read out');
    const read = [...(reads(root) ? [{ node: root, at: -1 }] : []), ...inner.map((n, i) => ({ node: n.node, at: i })).filter((n) => reads(n.node))];
    const rows = new Float32Array(read.length * H);
    let tree: Float32Array | undefined;
    if (inner.length > 0) {
      const fork = state.fork();
      try {
        model.appendTree(fork, inner.map((n) => n.token), inner.map((n) => n.parent));
        const out = await model.runTo(fork, layer, { signal });
        tree = out.hidden.subarray(out.hidden.length - inner.length * H);
      } finally {
        fork.release(); // the candidates' tree is read once
      }
    }
    read.forEach(({ node, at }, row) => {
      rows.set(at < 0 ? newest : tree!.subarray(at * H, (at + 1) * H), row * H);
      rowOf.set(node, row);
    });
    logp = await model.headCall(() => head.logProbs(rows));
  }
  // 3. Walk the trie adding each token's log-probability at its parent's row.
  const scores = new Map<string, number>();
  const walk = (node: TrieNode, acc: number): void => {
    const row = rowOf.get(node);
    const tokens = [...node.children.keys()];
    const norm = row !== undefined && scoring === 'choices' ? logSumExp(tokens.map((t) => logp!.at(row, t))) : 0;
    for (const [token, child] of node.children) {
      const score = row === undefined ? acc : acc + tokenScore(logp!.at(row, token), norm, tokens.length);
      for (const label of child.ends) scores.set(label, score);
      if (child.children.size > 0) walk(child, score);
    }
  };
  walk(root, 0);
  // Labels sharing one token sequence, or (scored as sequences, without their ends) ending where
  // another goes on, make the scores not sum to 1: normalising over the candidates keeps it a distribution.
  const max = Math.max(...scores.values());
  const total = [...scores.values()].reduce((a, v) => a + Math.exp(v - max), 0);
  return trie.candidates
    .map((c) => ({ label: c.label, logScore: scores.get(c.label)!, probability: Math.exp(scores.get(c.label)! - max) / total }))
    .sort((a, b) => b.probability - a.probability);
}

/**
 * Whether a node's hidden state is read: it has a next token to score. With 'choices' a node
 * with one child is forced (that token counts 1), so it is neither read nor run.
 */
function nodeReads(node: TrieNode, scoring: LabelScoring): boolean {
  return node.children.size > (scoring === 'sequence' ? 0 : 1);
}

/** Whether scoreCandidates runs the model for `trie`: some node of it is read. */
export function scoringRuns(trie: LabelTrie, scoring: LabelScoring = 'sequence'): boolean {
  const any = (node: TrieNode): boolean => nodeReads(node, scoring) || [...node.children.values()].some(any);
  return any(trie.root);
}

/** A token's log-probability over its node's choices; uniform when the head gives none of them any mass. */
function tokenScore(logp: number, norm: number, choices: number): number {
  return norm === -Infinity ? -Math.log(choices) : logp - norm;
}

function logSumExp(values: readonly number[]): number {
  const max = Math.max(...values);
  if (max === -Infinity) return -Infinity;
  return max + Math.log(values.reduce((a, v) => a + Math.exp(v - max), 0));
}

/** A recursive predicate over trie nodes, each node computed once. */
function memo(f: (node: TrieNode, self: (n: TrieNode) => boolean) => boolean): (node: TrieNode) => boolean {
  const seen = new Map<TrieNode, boolean>();
  const self = (node: TrieNode): boolean => {
    let v = seen.get(node);
    if (v === undefined) seen.set(node, (v = f(node, self)));
    return v;
  };
  return self;
}
