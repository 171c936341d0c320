#!/usr/bin/env python3
"""Unigram and bigram perplexity baselines on the same token split the model is evaluated on.

Both baselines use the model's tokenizer (the same uint16 token files), so their per-token
perplexities are directly comparable with the model's.

- unigram: add-one (Laplace) smoothed token frequencies;
- bigram: interpolated Kneser-Ney with one absolute discount D = n1 / (n1 + 2 n2):
  P(w | v) = max(c(v,w) - D, 0) / c(v) + D * N1+(v .) / c(v) * Pcont(w),
  Pcont(w) = (N1+(. w) + 1) / (N1+(. .) + V)   (continuation counts, add-one so no token is 0),
  and P(w | v) = Pcont(w) for a context v never seen in training.

Evaluated on exactly the targets of pretrain.py's final evaluation (non-overlapping held-out
windows of ctx+1 tokens; every token after a window's first is a target, its predecessor is
its bigram context), and also on every transition of the held-out stream.

  python3 tools/pretrain/baselines.py --train train.bin --heldout heldout.bin --vocab 8192 \
      --ctx 256 [--max-train-tokens N] --out baselines.json
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from tokens import heldout_window_starts, load_tokens  # noqa: E402


class Bigram:
    """Counts from one token stream and the smoothed probabilities derived from them."""

    def __init__(self, tokens: np.ndarray, vocab: int) -> None:
        t = np.asarray(tokens, dtype=np.int64)
        self.vocab = vocab
        self.unigram = np.bincount(t, minlength=vocab).astype(np.float64)
        keys = t[:-1] * vocab + t[1:]
        self.keys, counts = np.unique(keys, return_counts=True)
        self.counts = counts.astype(np.float64)
        prev, nxt = self.keys // vocab, self.keys % vocab
        self.context_total = np.bincount(prev, weights=self.counts, minlength=vocab)
        self.context_types = np.bincount(prev, minlength=vocab).astype(np.float64)  # N1+(v .)
        continuation = np.bincount(nxt, minlength=vocab).astype(np.float64)  # N1+(. w)
        self.p_cont = (continuation + 1) / (len(self.keys) + vocab)
        n1, n2 = float((counts == 1).sum()), float((counts == 2).sum())
        self.discount = n1 / (n1 + 2 * n2) if n1 + n2 else 0.75

    def unigram_logprob(self, targets: np.ndarray) -> np.ndarray:
        p = (self.unigram + 1) / (self.unigram.sum() + self.vocab)
        return np.log(p[targets])

    def bigram_logprob(self, prev: np.ndarray, targets: np.ndarray) -> np.ndarray:
        keys = prev * self.vocab + targets
        idx = np.searchsorted(self.keys, keys)
        idx_clipped = np.minimum(idx, len(self.keys) - 1)
        pair = np.where(self.keys[idx_clipped] == keys, self.counts[idx_clipped], 0.0)
        total = self.context_total[prev]
        seen = total > 0
        safe_total = np.where(seen, total, 1.0)
        backoff_mass = self.discount * self.context_types[prev] / safe_total
        p = np.maximum(pair - self.discount, 0) / safe_total + backoff_mass * self.p_cont[targets]
        p = np.where(seen, p, self.p_cont[targets])
        return np.log(p)


def window_targets(n_tokens: int, ctx: int) -> np.ndarray:
    """Positions that pretrain.py's final evaluation predicts."""
    starts = heldout_window_starts(n_tokens, ctx)
    return (starts[:, None] + np.arange(1, ctx + 1)[None, :]).reshape(-1)


def perplexities(model: Bigram, heldout: np.ndarray, positions: np.ndarray) -> dict:
    h = np.asarray(heldout, dtype=np.int64)
    targets, prev = h[positions], h[positions - 1]
    uni = -model.unigram_logprob(targets).mean()
    bi = -model.bigram_logprob(prev, targets).mean()
    return {"tokens": int(len(positions)), "unigram_ppl": round(math.exp(uni), 3), "bigram_kn_ppl": round(math.exp(bi), 3),
            "unigram_nll": round(float(uni), 5), "bigram_kn_nll": round(float(bi), 5)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--train", type=Path, required=True)
    p.add_argument("--heldout", type=Path, required=True)
    p.add_argument("--vocab", type=int, required=True)
    p.add_argument("--ctx", type=int, default=256, help="the model's eval window (pretrain.py --ctx)")
    p.add_argument("--max-train-tokens", type=int, help="count only the first N training tokens")
    p.add_argument("--out", type=Path)
    args = p.parse_args()

    t0 = time.time()
    train = load_tokens(args.train)
    if args.max_train_tokens:
        train = train[: args.max_train_tokens]
    heldout = load_tokens(args.heldout)
    model = Bigram(train, args.vocab)
    result = {
        "train_file": str(args.train),
        "train_tokens": int(len(train)),
        "heldout_file": str(args.heldout),
        "vocab": args.vocab,
        "kn_discount": round(model.discount, 4),
        "distinct_bigrams": int(len(model.keys)),
        "same_targets_as_model_eval": perplexities(model, heldout, window_targets(len(heldout), args.ctx)),
        "all_heldout_transitions": perplexities(model, heldout, np.arange(1, len(heldout))),
        "seconds": round(time.time() - t0, 1),
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
