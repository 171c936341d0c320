// Scores label candidates as whole token sequences at one exit layer through one head. The
// candidates form a trie; every trie node that has children is appended to a fork of the state
// as one tree of positions (each sees the prefix and its own ancestors only), so all candidates
// go through the layers in a single pass and the head reads every node in a single call. A
// label's score is the sum of its tokens' log-probabilities; probabilities are that score
// normalised over the candidates: the model's probability of each label given that the output
// is one of them.
import type { DecodeState } from '../model/decodeState';
import type { LanguageHead } from '../model/languageHead';
import type { SegmentedModel } from '../model/segmentedModel';

export interface Candidate {
  label: string;
  /** Token ids of the label as it appears in the sequence. */
  ids: readonly number[];
}

export interface ScoredCandidate {
  label: string;
  logScore: number;
  probability: number;
}

interface TrieNode {
  children: Map<number, TrieNode>;
  /** Candidates that end at this node. */
  ends: string[];
}

function buildTrie(candidates: readonly Candidate[]): TrieNode {
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
  return root;
}

/**
 * Scores `candidates` as continuations of `state` (whose newest position must already have been
 * appended; it is run to `layer` here). `state` itself is left as it was, except that its
 * pending positions have been brought to `layer`.
 */
export async function scoreCandidates(
  model: SegmentedModel,
  state: DecodeState,
  layer: number,
  head: LanguageHead,
  candidates: readonly Candidate[],
  signal?: AbortSignal,
): Promise<ScoredCandidate[]> {
  if (candidates.length === 0) throw new Error('no candidates to score');
  const H = model.config.hiddenSize;
  const reached = await model.runTo(state, layer, { signal });
  if (reached.count === 0) throw new Error('scoreCandidates: the prefix has no new position to read out');
  const root = buildTrie(candidates);
  // 1. Trie nodes with children, in breadth-first order: each becomes a tree position.
  const inner: { node: TrieNode; token: number; parent: number }[] = [];
  const queue: { node: TrieNode; index: number }[] = [{ node: root, index: -1 }];
  while (queue.length > 0) {
    const { node, index } = queue.shift()!;
    for (const [token, child] of node.children) {
      if (child.children.size === 0) continue;
      inner.push({ node: child, token, parent: index });
      queue.push({ node: child, index: inner.length - 1 });
    }
  }
  // 2. One pass for all of them, one head call for the prefix and every inner node.
  const rows = new Float32Array((1 + inner.length) * H);
  rows.set(reached.hidden.subarray(reached.hidden.length - H), 0);
  if (inner.length > 0) {
    const tree = state.fork();
    model.appendTree(tree, inner.map((n) => n.token), inner.map((n) => n.parent));
    const out = await model.runTo(tree, layer, { signal });
    rows.set(out.hidden.subarray(out.hidden.length - inner.length * H), H);
  }
  const logp = await head.logProbs(rows);
  const rowOf = new Map<TrieNode, number>([[root, 0], ...inner.map((n, i): [TrieNode, number] => [n.node, i + 1])]);
  // 3. Walk the trie adding each token's log-probability at its parent's row.
  const scores = new Map<string, number>();
  const walk = (node: TrieNode, acc: number): void => {
    const row = rowOf.get(node)!;
    for (const [token, child] of node.children) {
      const score = acc + logp.at(row, token);
      for (const label of child.ends) scores.set(label, score);
      if (child.children.size > 0) walk(child, score);
    }
  };
  walk(root, 0);
  const max = Math.max(...scores.values());
  const total = [...scores.values()].reduce((a, v) => a + Math.exp(v - max), 0);
  return candidates
    .map((c) => ({ label: c.label, logScore: scores.get(c.label)!, probability: Math.exp(scores.get(c.label)! - max) / total }))
    .sort((a, b) => b.probability - a.probability);
}
