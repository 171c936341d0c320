// Scores label candidates as whole token sequences at one exit layer through one head. The
// candidates form a trie: the first tokens of all of them come from one readout of the prefix,
// and each deeper trie node costs one forked one-token step. A label's score is the sum of its
// tokens' log-probabilities; probabilities are that score normalised over the candidates, i.e.
// the model's probability of each label given that the output is one of them.
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

/** log-softmax of one row. */
function logSoftmax(logits: Float32Array): Float64Array {
  let max = -Infinity;
  for (const v of logits) if (v > max) max = v;
  let sum = 0;
  for (const v of logits) sum += Math.exp(v - max);
  const lse = max + Math.log(sum);
  return Float64Array.from(logits, (v) => v - lse);
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
  const last = reached.count > 0 ? reached.hidden.subarray(reached.hidden.length - H) : undefined;
  if (!last) throw new Error('scoreCandidates: the prefix has no new position to read out');
  const scores = new Map<string, number>();
  const visit = async (node: TrieNode, at: DecodeState, logp: Float64Array, acc: number): Promise<void> => {
    for (const [token, child] of node.children) {
      const score = acc + logp[token]!;
      for (const label of child.ends) scores.set(label, score);
      if (child.children.size === 0) continue;
      const next = at.fork();
      model.append(next, [[token]]);
      const r = await model.runTo(next, layer, { signal });
      await visit(child, next, logSoftmax(await head.logits(r.hidden)), score);
    }
  };
  await visit(buildTrie(candidates), state, logSoftmax(await head.logits(last)), 0);
  const max = Math.max(...scores.values());
  const total = [...scores.values()].reduce((a, s) => a + Math.exp(s - max), 0);
  return candidates
    .map((c) => ({ label: c.label, logScore: scores.get(c.label)!, probability: Math.exp(scores.get(c.label)! - max) / total }))
    .sort((a, b) => b.probability - a.probability);
}
