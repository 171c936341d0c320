#!/usr/bin/env python3
"""Pretrains the project's small Llama model, optionally as a hierarchical (early-exit) decoder.

Hierarchical pretraining adds a weighted next-token loss read out at a few intermediate layers
through the model's own final norm and the shared (tied) head -- the logit-lens readout the
engine uses for early exit -- so that those layers learn to decode as well (LayerSkip-style
early-exit loss). ``--plain`` trains with the last-layer loss only, for comparison.

Outputs, under --out:
  train.jsonl     one line per logged step: step, tokens, loss per exit, lr, elapsed
  eval.jsonl      periodic held-out loss/perplexity at every layer 1..L
  summary.json    shape, parameter count, bytes, timings, final per-layer held-out perplexity
  samples.json    unedited greedy samples (ids and text) from the saved fp16 weights
  model/          Hugging Face folder: config.json, model.safetensors, generation_config.json,
                  tokenizer files
  ckpt.pt         resumable training state (model, optimizer, step), written atomically

Runs on CPU (Debian's torch 1.13, fp32) and on CUDA (torch 2.x, bf16 autocast).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import math
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional

import numpy as np

# Sleep instead of spinning at OpenMP barriers: on a small shared CPU a spinning thread that has
# lost its core stalls every parallel region (measured here: 327 vs 1765 tokens/s, 2 threads,
# with one other busy process). Must be set before torch starts its thread pool.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

import safetensors_io  # noqa: E402
from bpe_decode import ByteLevelDecoder  # noqa: E402
from llama import LlamaForCausalLM, LlamaShape, count_parameters  # noqa: E402
from tokens import (  # noqa: E402
    document_starts,
    gather_windows,
    heldout_window_starts,
    load_tokens,
    mix_batch_starts,
    training_batch_starts,
)

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")
MODEL_FILES = ("config.json", "model.safetensors", "generation_config.json")


# ----------------------------------------------------------------------------- arguments


def parse_args(argv: Optional[list[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    io_ = p.add_argument_group("data and output")
    io_.add_argument("--train", type=Path, required=True, help="uint16 training token file")
    io_.add_argument("--heldout", type=Path, required=True, help="uint16 held-out token file")
    io_.add_argument("--tokenizer-dir", type=Path, required=True, help="folder with tokenizer.json (+ config)")
    io_.add_argument("--out", type=Path, required=True, help="run folder (logs, checkpoint, model/)")
    io_.add_argument("--export-dir", type=Path, help="also copy config/weights/generation_config here "
                     "(refused if a tokenizer.json there differs from the one trained with)")
    io_.add_argument("--resume", action="store_true", help="continue from <out>/ckpt.pt")
    io_.add_argument("--mix", type=Path, help="a second uint16 token file (tools/pretrain/taskSequences.ts: task "
                     "examples in the HdLM sequence format) that --mix-fraction of every batch's rows come from")
    io_.add_argument("--mix-fraction", type=float, default=0.0, help="share of each batch's rows taken from --mix")
    io_.add_argument("--mix-exit-weights",
                     help="exit-loss weights (one per --exit-layers entry) for the --mix rows, computed on "
                          "all their positions (not an --exit-fraction subset); 0 skips that exit. "
                          "Without it the mix rows are weighted like corpus rows")
    io_.add_argument("--mix-exit-turns",
                     help="with --mix-exit-weights: per --exit-layers entry, which thought turn of each task "
                          "sequence that exit's task loss reads (n: only the targets inside the n-th "
                          "<|thought|> turn, its content and closing <|end|>, the tokens an HdLM head at that "
                          "layer decodes; 0: every position, as without this option)")
    io_.add_argument("--mix-answer-weight", type=float, default=0.0,
                     help="with --mix-exit-weights: an extra last-layer loss on the task rows' answer turn "
                          "(<|assistant|> content and closing <|end|>: the last level's label, or the answer "
                          "after a thought), weighted like an exit's task loss (weight * task share of the "
                          "batch); 0: none")
    io_.add_argument("--init-from", type=Path, help="start from the weights of another run's ckpt.pt, or of "
                     "an exported Hugging Face folder (its model.safetensors; its config.json must match the "
                     "shape and its tokenizer.json --tokenizer-dir's); fresh optimizer and schedule: a "
                     "continuation with its own warmup and decay (give it another --seed for a new data order)")

    shape = p.add_argument_group("architecture")
    shape.add_argument("--hidden", type=int, default=256)
    shape.add_argument("--layers", type=int, default=8)
    shape.add_argument("--heads", type=int, default=4)
    shape.add_argument("--kv-heads", type=int, default=2)
    shape.add_argument("--intermediate", type=int, default=688)
    shape.add_argument("--ctx", type=int, default=256, help="training context = max_position_embeddings")
    shape.add_argument("--rope-theta", type=float, default=10000.0)
    shape.add_argument("--eps", type=float, default=1e-5)

    hier = p.add_argument_group("hierarchical (early-exit) loss")
    hier.add_argument("--exit-layers", default="2,4,6", help="1-based layers read out during training")
    hier.add_argument("--exit-weights", default="0.2,0.3,0.5", help="loss weight of each exit layer")
    hier.add_argument("--last-weight", type=float, default=1.0, help="loss weight of the last layer")
    hier.add_argument("--exit-fraction", type=float, default=1.0,
                      help="fraction of positions the exit losses are computed on (a random subset "
                           "each step; <1 saves the head's compute, which dominates on CPU)")
    hier.add_argument("--plain", action="store_true", help="last-layer loss only (the comparison run)")

    opt = p.add_argument_group("optimisation")
    opt.add_argument("--batch", type=int, default=16, help="sequences per step")
    opt.add_argument("--lr", type=float, default=2e-3)
    opt.add_argument("--min-lr-ratio", type=float, default=0.1, help="final lr as a fraction of --lr")
    opt.add_argument("--warmup", type=int, default=100, help="warmup steps")
    opt.add_argument("--weight-decay", type=float, default=0.1)
    opt.add_argument("--beta2", type=float, default=0.95)
    opt.add_argument("--clip", type=float, default=1.0)
    opt.add_argument("--steps", type=int, help="optimizer steps (the schedule's length)")
    opt.add_argument("--minutes", type=float, help="training wall-clock budget (evaluation excluded)")
    opt.add_argument("--seed", type=int, default=1234)

    run = p.add_argument_group("runtime and logging")
    run.add_argument("--device", default="auto", help="auto, cpu, cuda")
    run.add_argument("--threads", type=int, default=2, help="CPU threads (torch.set_num_threads)")
    run.add_argument("--compile", action="store_true", help="torch.compile the model (torch 2.x, GPU)")
    run.add_argument("--log-every", type=int, default=10)
    run.add_argument("--eval-every", type=int, default=200, help="steps between held-out evaluations")
    run.add_argument("--eval-minutes", type=float,
                     help="also evaluate whenever this much training time has passed since the last "
                          "evaluation (for runs whose speed depends on the machine's load)")
    run.add_argument("--eval-windows", type=int, default=32, help="held-out windows in periodic evals")
    run.add_argument("--final-eval-windows", type=int, default=0,
                     help="held-out windows in the final eval (0 = the whole held-out split)")
    run.add_argument("--ckpt-minutes", type=float, default=10.0)
    run.add_argument("--pause-after-minutes", type=float,
                     help="stop this invocation after this much wall time, save ckpt.pt and exit 3 "
                          "without finishing; rerun with --resume (for per-command time limits)")
    run.add_argument("--samples", type=int, default=4, help="greedy samples from held-out document starts")
    run.add_argument("--sample-tokens", type=int, default=48)
    run.add_argument("--prompt", action="append", default=[], help="extra text prompt for greedy samples")
    run.add_argument("--save-dtype", choices=("float16", "bfloat16", "float32"), default="float16")
    args = p.parse_args(argv)
    if args.steps is None and args.minutes is None:
        p.error("give --steps and/or --minutes")
    return args


@dataclass
class LossPlan:
    """Which layers carry a loss and with what weight (1-based layers; the last is always in)."""

    layers: list[int]
    weights: list[float]
    exit_fraction: float
    # Exit weights for mixed-in task rows (same order as `layers`, last layer excluded), or None.
    mix_weights: Optional[list[float]] = None
    # Per exit, the thought turn whose targets its task loss reads (0: all positions), or None.
    mix_turns: Optional[list[int]] = None
    # <|bos|>, <|thought|> and <|end|> ids, to find the turns (set with mix_turns).
    turn_ids: Optional[tuple[int, int, int]] = None
    # Extra last-layer weight on the task rows' answer turn, and <|bos|>, <|assistant|>, <|end|>.
    answer_weight: float = 0.0
    answer_ids: Optional[tuple[int, int, int]] = None

    @staticmethod
    def from_args(
        args: argparse.Namespace,
        turn_ids: Optional[tuple[int, int, int]] = None,
        answer_ids: Optional[tuple[int, int, int]] = None,
    ) -> "LossPlan":
        if args.plain:
            if args.mix_exit_weights or args.mix_answer_weight:
                raise SystemExit("--mix-exit-weights and --mix-answer-weight need exit layers (not --plain)")
            return LossPlan([args.layers], [1.0], 1.0)
        layers = [int(x) for x in args.exit_layers.split(",") if x.strip()]
        weights = [float(x) for x in args.exit_weights.split(",") if x.strip()]
        if len(layers) != len(weights):
            raise SystemExit("--exit-layers and --exit-weights need the same number of entries")
        if any(not 1 <= k < args.layers for k in layers) or layers != sorted(set(layers)):
            raise SystemExit(f"--exit-layers must be increasing layers in 1..{args.layers - 1}")
        if not 0 < args.exit_fraction <= 1:
            raise SystemExit("--exit-fraction must be in (0, 1]")
        mix_weights = None
        if args.mix_exit_weights:
            if args.mix is None:
                raise SystemExit("--mix-exit-weights needs --mix")
            mix_weights = [float(x) for x in args.mix_exit_weights.split(",") if x.strip()]
            if len(mix_weights) != len(layers) or any(w < 0 for w in mix_weights):
                raise SystemExit("--mix-exit-weights needs one weight >= 0 per --exit-layers entry")
        mix_turns = None
        if args.mix_exit_turns:
            if mix_weights is None:
                raise SystemExit("--mix-exit-turns needs --mix-exit-weights")
            mix_turns = [int(x) for x in args.mix_exit_turns.split(",") if x.strip()]
            if len(mix_turns) != len(layers) or any(t < 0 for t in mix_turns):
                raise SystemExit("--mix-exit-turns needs one turn number >= 0 per --exit-layers entry")
            if turn_ids is None:
                raise SystemExit("--mix-exit-turns needs the tokenizer's <|bos|>, <|thought|> and <|end|> ids")
        if args.mix_answer_weight:
            if mix_weights is None or args.mix_answer_weight < 0:
                raise SystemExit("--mix-answer-weight needs --mix-exit-weights and a weight >= 0")
            if answer_ids is None:
                raise SystemExit("--mix-answer-weight needs the tokenizer's <|bos|>, <|assistant|> and <|end|> ids")
        return LossPlan(layers + [args.layers], weights + [args.last_weight], args.exit_fraction, mix_weights,
                        mix_turns, turn_ids if mix_turns else None, args.mix_answer_weight,
                        answer_ids if args.mix_answer_weight else None)


# ----------------------------------------------------------------------------- setup


@dataclass
class MixPlan:
    """Which rows of a batch come from the mix file (none without --mix)."""

    tokens: Optional[np.ndarray]
    sequence_starts: Optional[np.ndarray]
    fraction: float
    path: Optional[Path]

    @staticmethod
    def from_args(args: argparse.Namespace, bos_id: int) -> "MixPlan":
        if args.mix is None:
            if args.mix_fraction:
                raise SystemExit("--mix-fraction needs --mix")
            return MixPlan(None, None, 0.0, None)
        if not 0.0 < args.mix_fraction < 1.0:
            raise SystemExit(f"--mix-fraction must be in (0, 1), got {args.mix_fraction}")
        tokens = load_tokens(args.mix)
        return MixPlan(tokens, document_starts(tokens, bos_id), args.mix_fraction, args.mix)

    def rows(self, batch: int) -> int:
        return round(batch * self.fraction)

    def describe(self, batch: int) -> Optional[dict]:
        if self.tokens is None:
            return None
        return {"file": str(self.path), "tokens": int(len(self.tokens)), "sequences": int(len(self.sequence_starts)),
                "fraction": self.fraction, "rows_per_batch": self.rows(batch)}

    def batch(self, train_tokens: np.ndarray, seed: int, step: int, window: int, batch: int) -> np.ndarray:
        """The step's windows: the corpus rows, then the mixed-in rows."""
        m = self.rows(batch) if self.tokens is not None else 0
        main = gather_windows(train_tokens, training_batch_starts(seed, step, len(train_tokens), window, batch - m), window)
        if m == 0:
            return main
        starts = mix_batch_starts(seed, step, self.sequence_starts, len(self.tokens), window, m)
        return np.concatenate([main, gather_windows(self.tokens, starts, window)])


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def autocast_dtype(device: torch.device) -> Optional[torch.dtype]:
    """bf16 where the GPU supports it, fp16 on older GPUs, none (fp32) on CPU."""
    if device.type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def special_ids(tokenizer_dir: Path) -> dict[str, int]:
    """bos/eos/pad/end ids read from tokenizer.json's added tokens."""
    spec = json.loads((tokenizer_dir / "tokenizer.json").read_text(encoding="utf-8"))
    by_name = {t["content"]: t["id"] for t in spec.get("added_tokens", [])}
    out = {}
    for role, token in (("bos", "<|bos|>"), ("eos", "<|eos|>"), ("pad", "<|pad|>"), ("end", "<|end|>")):
        if token not in by_name:
            raise SystemExit(f"{tokenizer_dir}/tokenizer.json has no {token} token")
        out[role] = by_name[token]
    return out


def turn_ids(tokenizer_dir: Path, opener: str = "<|thought|>") -> Optional[tuple[int, int, int]]:
    """<|bos|>, `opener` and <|end|> ids (the HdLM sequence format's turn markers), if the tokenizer has them."""
    spec = json.loads((tokenizer_dir / "tokenizer.json").read_text(encoding="utf-8"))
    by_name = {t["content"]: t["id"] for t in spec.get("added_tokens", [])}
    names = ("<|bos|>", opener, "<|end|>")
    return tuple(by_name[n] for n in names) if all(n in by_name for n in names) else None  # type: ignore[return-value]


def build_shape(args: argparse.Namespace, vocab_size: int) -> LlamaShape:
    return LlamaShape(
        vocab_size=vocab_size,
        hidden_size=args.hidden,
        intermediate_size=args.intermediate,
        num_hidden_layers=args.layers,
        num_attention_heads=args.heads,
        num_key_value_heads=args.kv_heads,
        max_position_embeddings=args.ctx,
        rms_norm_eps=args.eps,
        rope_theta=args.rope_theta,
        tie_word_embeddings=True,
    )


def make_optimizer(model: LlamaForCausalLM, args: argparse.Namespace) -> torch.optim.AdamW:
    """AdamW; norms get no weight decay (decaying a gain towards 0 only fights the norm)."""
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (no_decay if name.endswith("norm.weight") else decay).append(p)
    groups = [{"params": decay, "weight_decay": args.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=args.lr, betas=(0.9, args.beta2), eps=1e-8)


def learning_rate(args: argparse.Namespace, step: int, progress: float) -> float:
    """Linear warmup over --warmup steps, then cosine from --lr down to lr * --min-lr-ratio.

    `progress` in [0, 1] is the larger of the step fraction and the time-budget fraction, so a
    run limited by --minutes still finishes its decay when the time runs out.
    """
    if step < args.warmup:
        return args.lr * (step + 1) / args.warmup
    floor = args.lr * args.min_lr_ratio
    return floor + (args.lr - floor) * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


# ----------------------------------------------------------------------------- training


def readout_ce(model: LlamaForCausalLM, hidden: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean next-token cross-entropy of [N, H] hidden states read out through the final norm and
    the tied head, in float32 whatever the autocast dtype."""
    return F.cross_entropy(model.readout(hidden).float(), targets)


def training_loss(
    model: LlamaForCausalLM, batch: torch.Tensor, plan: LossPlan, gen: torch.Generator, mix_rows: int = 0
) -> tuple[torch.Tensor, list[float]]:
    """Weighted sum of next-token cross-entropies at the plan's layers; also each one's value.

    The last `mix_rows` rows of the batch are mixed-in task examples; with `plan.mix_weights` their
    exits are read out on every position with those weights (see `_split_exit_loss`).
    """
    if plan.mix_weights is not None and mix_rows > 0:
        return _split_exit_loss(model, batch, plan, gen, mix_rows)
    x, y = batch[:, :-1], batch[:, 1:]
    hidden = model.hidden_states(x)
    targets = y.reshape(-1)
    subset = None
    if plan.exit_fraction < 1 and len(plan.layers) > 1:
        n = targets.numel()
        subset = torch.randperm(n, generator=gen)[: max(1, int(n * plan.exit_fraction))].to(batch.device)
    total = torch.zeros((), device=batch.device)
    parts = []
    last = model.shape.num_hidden_layers
    for layer, weight in zip(plan.layers, plan.weights):
        h = hidden[layer - 1].reshape(-1, model.shape.hidden_size)
        t = targets
        if subset is not None and layer != last:
            h, t = h[subset], t[subset]
        loss = readout_ce(model, h, t)
        total = total + weight * loss
        parts.append(loss.item())
    return total, parts


def _split_exit_loss(
    model: LlamaForCausalLM, batch: torch.Tensor, plan: LossPlan, gen: torch.Generator, mix_rows: int
) -> tuple[torch.Tensor, list[float]]:
    """The loss when task rows carry their own exit weights.

    Why: a task row's label tokens are what the intermediate heads will later decode from layers
    4 and 6; at the corpus rows' exit weight and position fraction those layers saw them far less
    than the last layer did, which favoured the flat (last-layer) baseline. Here an exit's loss is
    corpus weight * (1 - f) * corpus CE (on an --exit-fraction subset) + mix weight * f * task CE
    (on all task positions), f = the task share of the batch, so equal weights give the old
    objective in expectation. The last layer sees every position of every row at --last-weight.
    Logged parts are the per-layer CEs over the positions read out there (the corpus subset and,
    unless that exit's task weight is 0, the task rows).
    """
    x, y = batch[:, :-1], batch[:, 1:]
    hidden = model.hidden_states(x)
    rows = y.shape[0]
    corpus_rows = rows - mix_rows
    share = mix_rows / rows
    corpus_targets, mix_targets = y[:corpus_rows].reshape(-1), y[corpus_rows:].reshape(-1)
    n = corpus_targets.numel()
    subset = None
    if plan.exit_fraction < 1:
        subset = torch.randperm(n, generator=gen)[: max(1, int(n * plan.exit_fraction))].to(batch.device)
    total = torch.zeros((), device=batch.device)
    parts = []
    last = model.shape.num_hidden_layers
    size = model.shape.hidden_size
    for i, (layer, weight) in enumerate(zip(plan.layers, plan.weights)):
        h = hidden[layer - 1]
        if layer == last:
            loss = readout_ce(model, h.reshape(-1, size), y.reshape(-1))
            total = total + weight * loss + answer_loss(model, h[corpus_rows:], batch[corpus_rows:], plan) * share
            parts.append(loss.item())
            continue
        hc, tc = h[:corpus_rows].reshape(-1, size), corpus_targets
        if subset is not None:
            hc, tc = hc[subset], tc[subset]
        corpus_loss = readout_ce(model, hc, tc)
        total = total + weight * (1 - share) * corpus_loss
        mix_weight = plan.mix_weights[i]
        if mix_weight == 0:
            parts.append(corpus_loss.item())
            continue
        hm, tm = h[corpus_rows:].reshape(-1, size), mix_targets
        turn = plan.mix_turns[i] if plan.mix_turns else 0
        if turn > 0:
            # Only the targets an HdLM head at this exit decodes: the n-th thought turn's tokens.
            picked = torch.from_numpy(thought_turns(batch[corpus_rows:].cpu().numpy(), plan.turn_ids)[:, 1:] == turn)
            picked = picked.reshape(-1).to(batch.device)
            if not bool(picked.any()):
                parts.append(corpus_loss.item())
                continue
            hm, tm = hm[picked], tm[picked]
        mix_loss = readout_ce(model, hm, tm)
        total = total + mix_weight * share * mix_loss
        parts.append(((1 - share) * corpus_loss + share * mix_loss).item())
    return total, parts


def answer_loss(model: LlamaForCausalLM, hidden: torch.Tensor, rows: torch.Tensor, plan: LossPlan) -> torch.Tensor:
    """plan.answer_weight * the last layer's CE on the task rows' answer-turn targets (0 without).

    Why: at the last layer every position of a task row weighs the same, so the gloss's own
    tokens outweigh the few label tokens the last level is decided by; this gives that turn the
    kind of weight the exits' turns get from --mix-exit-weights. `hidden` is the last layer's
    [R, T-1, H] for `rows` [R, T].
    """
    if not plan.answer_weight or plan.answer_ids is None:
        return torch.zeros((), device=rows.device)
    picked = torch.from_numpy(thought_turns(rows.cpu().numpy(), plan.answer_ids)[:, 1:] > 0).reshape(-1).to(rows.device)
    if not bool(picked.any()):
        return torch.zeros((), device=rows.device)
    h = hidden.reshape(-1, model.shape.hidden_size)[picked]
    return plan.answer_weight * readout_ce(model, h, rows[:, 1:].reshape(-1)[picked])


def thought_turns(rows: np.ndarray, ids: tuple[int, int, int]) -> np.ndarray:
    """Per token of each row [R, T]: n when it belongs to the n-th turn opened by ids[1] (<|thought|>
    for the exits, <|assistant|> for the answer) of its task
    sequence (the turn's content and its closing <|end|>, not the opening marker), else 0. Turns
    are counted from each <|bos|>; task windows start at a sequence start."""
    bos, thought, end = ids
    out = np.zeros(rows.shape, dtype=np.int64)
    for r in range(rows.shape[0]):
        count, current = 0, 0
        for t in range(rows.shape[1]):
            token = int(rows[r, t])
            if token == bos:
                count, current = 0, 0
            elif token == thought:
                count += 1
                current = count
            elif current:
                out[r, t] = current
                if token == end:
                    current = 0
    return out


@torch.no_grad()
def evaluate(model: LlamaForCausalLM, windows: np.ndarray, device: torch.device, batch: int,
             amp: Optional[torch.dtype]) -> dict:
    """Held-out mean NLL and perplexity at every layer 1..L, read out through norm + head."""
    model.eval()
    n_layers = model.shape.num_hidden_layers
    nll = torch.zeros(n_layers, dtype=torch.float64)
    count = 0
    for i in range(0, len(windows), batch):
        w = torch.from_numpy(windows[i : i + batch]).to(device)
        x, y = w[:, :-1], w[:, 1:].reshape(-1)
        with autocast(device, amp):
            hidden = model.hidden_states(x)
            for layer, h in enumerate(hidden):
                logits = model.readout(h.reshape(-1, model.shape.hidden_size)).float()
                nll[layer] += F.cross_entropy(logits, y, reduction="sum").double().cpu()
        count += y.numel()
    model.train()
    mean = (nll / count).tolist()
    return {"tokens": count, "nll": [round(v, 5) for v in mean], "ppl": [round(math.exp(v), 3) for v in mean]}


def autocast(device: torch.device, dtype: Optional[torch.dtype]):
    """An autocast context on CUDA; a no-op context on CPU (fp32 training there)."""
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


class JsonLines:
    """Appends JSON objects to a file, one per line, flushed at once."""

    def __init__(self, path: Path, resume: bool) -> None:
        self.f = open(path, "a" if resume else "w", encoding="utf-8")

    def write(self, obj: dict) -> None:
        self.f.write(json.dumps(obj) + "\n")
        self.f.flush()


def load_average() -> Optional[list[float]]:
    """The machine's 1/5/15-minute load averages (what `uptime` prints), None where unknown."""
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return None


def init_weights(model: LlamaForCausalLM, source: Path, shape: LlamaShape, tokenizer_dir: Path,
                 device: torch.device) -> None:
    """Loads starting weights from a ckpt.pt or from an exported HF folder (model.safetensors).

    A folder's fp16/bf16 weights are widened to fp32. Its config.json must describe the shape
    being trained and its tokenizer.json (if any) must be the one in --tokenizer-dir, since the
    token ids are what the weights mean."""
    if source.is_dir():
        config = json.loads((source / "config.json").read_text(encoding="utf-8"))
        want = shape.to_dict()
        diff = {k: (config.get(k), v) for k, v in want.items() if k in config and config[k] != v}
        if diff:
            raise SystemExit(f"{source}/config.json does not match the shape being trained: {diff}")
        theirs = source / "tokenizer.json"
        if theirs.exists() and sha256(theirs) != sha256(tokenizer_dir / "tokenizer.json"):
            raise SystemExit(f"{theirs} differs from {tokenizer_dir}/tokenizer.json; not initialising from it")
        state = {k: v.float() for k, v in safetensors_io.load(source / "model.safetensors").items()}
        missing, unexpected = model.load_state_dict(state, strict=False)
        tied = {"lm_head.weight"} if shape.tie_word_embeddings else set()
        if unexpected or set(missing) - tied:
            raise SystemExit(f"{source}/model.safetensors does not fit the model: missing {missing}, "
                             f"unexpected {unexpected}")
        model.to(device)
    else:
        model.load_state_dict(torch.load(source, map_location=device)["model"])


def save_checkpoint(path: Path, model: LlamaForCausalLM, opt: torch.optim.Optimizer, step: int,
                    train_seconds: float, tokens_seen: int) -> None:
    buf = io.BytesIO()
    torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "step": step,
                "train_seconds": train_seconds, "tokens": tokens_seen}, buf)
    safetensors_io.write_atomic(path, buf.getvalue())


def train(args: argparse.Namespace) -> None:
    device = pick_device(args.device)
    if device.type == "cpu":
        torch.set_num_threads(args.threads)
    else:
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    amp = autocast_dtype(device)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)

    decoder = ByteLevelDecoder(args.tokenizer_dir / "tokenizer.json")
    ids = special_ids(args.tokenizer_dir)
    train_tokens = load_tokens(args.train)
    heldout_tokens = load_tokens(args.heldout)
    mix = MixPlan.from_args(args, ids["bos"])
    shape = build_shape(args, decoder.vocab_size)
    plan = LossPlan.from_args(args, turn_ids(args.tokenizer_dir), turn_ids(args.tokenizer_dir, "<|assistant|>"))
    model = LlamaForCausalLM(shape).to(device)
    opt = make_optimizer(model, args)
    step, train_seconds, tokens_seen = 0, 0.0, 0
    ckpt_path = args.out / "ckpt.pt"
    if args.init_from and not args.resume:
        init_weights(model, args.init_from, shape, args.tokenizer_dir, device)
        print(f"initialised from {args.init_from}", flush=True)
    if args.resume:
        state = torch.load(ckpt_path, map_location=device)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        step, train_seconds, tokens_seen = state["step"], state["train_seconds"], state["tokens"]
        print(f"resumed at step {step}", flush=True)
    if args.compile:
        # Compile each decoder layer in place (keeps the parameter names the checkpoint uses).
        for layer in model.model.layers:
            layer.compile()

    params = count_parameters(model)
    eval_windows = gather_windows(heldout_tokens, heldout_window_starts(len(heldout_tokens), args.ctx, args.eval_windows), args.ctx + 1)
    print(json.dumps({"device": str(device), "amp": str(amp), "torch": torch.__version__, "threads": torch.get_num_threads(),
                      "shape": shape.to_dict(), "params": params, "loss_layers": plan.layers, "loss_weights": plan.weights,
                      "mix_exit_weights": plan.mix_weights,
                      "mix_exit_turns": plan.mix_turns, "mix_answer_weight": plan.answer_weight,
                      "train_tokens": int(len(train_tokens)), "heldout_tokens": int(len(heldout_tokens)),
                      "mix": mix.describe(args.batch)}), flush=True)
    train_log = JsonLines(args.out / "train.jsonl", args.resume)
    eval_log = JsonLines(args.out / "eval.jsonl", args.resume)
    total_steps = args.steps if args.steps is not None else 10**12
    budget = args.minutes * 60 if args.minutes is not None else float("inf")
    window = args.ctx + 1
    last_ckpt = invocation_start = time.time()
    pause_at = invocation_start + args.pause_after_minutes * 60 if args.pause_after_minutes else float("inf")
    last_eval_seconds = train_seconds
    if args.resume and (args.out / "eval.jsonl").exists():
        # Time evaluations from the last one logged, not from this invocation's start.
        logged = [json.loads(line) for line in (args.out / "eval.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
        if logged:
            last_eval_seconds = min(train_seconds, float(logged[-1].get("elapsed", train_seconds)))

    while step < total_steps and train_seconds < budget:
        if time.time() >= pause_at:
            save_checkpoint(ckpt_path, model, opt, step, train_seconds, tokens_seen)
            print(f"paused at step {step}; rerun with --resume to continue", flush=True)
            sys.exit(3)
        t0 = time.time()
        progress = max(step / total_steps, train_seconds / budget)
        lr = learning_rate(args, step, progress)
        for group in opt.param_groups:
            group["lr"] = lr
        batch = torch.from_numpy(mix.batch(train_tokens, args.seed, step, window, args.batch)).to(device)
        gen = torch.Generator().manual_seed(args.seed * 1_000_003 + step)
        with autocast(device, amp):
            loss, parts = training_loss(model, batch, plan, gen, mix.rows(args.batch) if mix.tokens is not None else 0)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip).item()
        opt.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        step += 1
        tokens_seen += batch.numel() - batch.shape[0]
        train_seconds += time.time() - t0
        if step % args.log_every == 0 or step == 1:
            train_log.write({"step": step, "tokens": tokens_seen, "loss": round(loss.item(), 5),
                             "loss_by_layer": {str(k): round(v, 5) for k, v in zip(plan.layers, parts)},
                             "lr": round(lr, 7), "grad_norm": round(grad_norm, 4), "elapsed": round(train_seconds, 2),
                             "load": load_average()})
            print(f"step {step} tokens {tokens_seen} loss {loss.item():.4f} last {parts[-1]:.4f} lr {lr:.2e} "
                  f"{tokens_seen / max(train_seconds, 1e-9):.0f} tok/s", flush=True)
        due_by_time = args.eval_minutes is not None and train_seconds - last_eval_seconds >= args.eval_minutes * 60
        if step % args.eval_every == 0 or due_by_time:
            last_eval_seconds = train_seconds
            record = evaluate(model, eval_windows, device, args.batch, amp)
            eval_log.write({"step": step, "tokens": tokens_seen, "elapsed": round(train_seconds, 2),
                            "eval_tokens": record["tokens"], "nll": record["nll"], "ppl": record["ppl"],
                            "wall": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                            "load": load_average()})
            print(f"eval step {step}: ppl by layer {record['ppl']}", flush=True)
        if time.time() - last_ckpt > args.ckpt_minutes * 60:
            save_checkpoint(ckpt_path, model, opt, step, train_seconds, tokens_seen)
            last_ckpt = time.time()

    save_checkpoint(ckpt_path, model, opt, step, train_seconds, tokens_seen)
    finish(args, model, device, amp, shape, ids, decoder, heldout_tokens, plan, params, step, tokens_seen, train_seconds)


# ----------------------------------------------------------------------------- saving


def hf_config(shape: LlamaShape, ids: dict[str, int], save_dtype: str) -> dict:
    """config.json for LlamaForCausalLM; every field that changes the math is written out."""
    return {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "vocab_size": shape.vocab_size,
        "hidden_size": shape.hidden_size,
        "intermediate_size": shape.intermediate_size,
        "num_hidden_layers": shape.num_hidden_layers,
        "num_attention_heads": shape.num_attention_heads,
        "num_key_value_heads": shape.num_key_value_heads,
        "head_dim": shape.head_dim,
        "hidden_act": "silu",
        "max_position_embeddings": shape.max_position_embeddings,
        "rms_norm_eps": shape.rms_norm_eps,
        "rope_theta": shape.rope_theta,
        "attention_bias": False,
        "attention_dropout": 0.0,
        "mlp_bias": False,
        "pretraining_tp": 1,
        "initializer_range": 0.02,
        "tie_word_embeddings": True,
        "use_cache": True,
        "bos_token_id": ids["bos"],
        "eos_token_id": ids["eos"],
        "pad_token_id": ids["pad"],
        # transformers 5 reads "dtype"; 4.x reads "torch_dtype".
        "dtype": save_dtype,
        "torch_dtype": save_dtype,
    }


def generation_config(ids: dict[str, int]) -> dict:
    # A turn ends at <|end|> and a document at <|eos|>: generation (transformers' and the
    # engine's) stops at either, so an answer does not run on into a next turn.
    return {"bos_token_id": ids["bos"], "eos_token_id": [ids["end"], ids["eos"]], "pad_token_id": ids["pad"],
            "do_sample": False, "max_new_tokens": 64}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_json_atomic(path: Path, obj: dict) -> None:
    safetensors_io.write_atomic(path, (json.dumps(obj, indent=2) + "\n").encode("utf-8"))


def save_hf_folder(folder: Path, model: LlamaForCausalLM, ids: dict[str, int], save_dtype: str,
                   tokenizer_dir: Path) -> None:
    """Writes the HF folder; every file is written atomically, so each is complete or absent."""
    folder.mkdir(parents=True, exist_ok=True)
    dtype = getattr(torch, save_dtype)
    tensors = {k: v.to(dtype) for k, v in model.hf_state_dict().items()}
    safetensors_io.save(folder / "model.safetensors", tensors, {"format": "pt"})
    write_json_atomic(folder / "config.json", hf_config(model.shape, ids, save_dtype))
    write_json_atomic(folder / "generation_config.json", generation_config(ids))
    for name in TOKENIZER_FILES:
        src = tokenizer_dir / name
        if src.exists() and src.resolve() != (folder / name).resolve():
            shutil.copyfile(src, folder / name)


def export_model(src: Path, dest: Path, tokenizer_dir: Path) -> None:
    """Copies the model files (not the tokenizer) to `dest`, refusing a mismatched tokenizer."""
    dest.mkdir(parents=True, exist_ok=True)
    theirs = dest / "tokenizer.json"
    if theirs.exists() and sha256(theirs) != sha256(tokenizer_dir / "tokenizer.json"):
        raise SystemExit(f"{theirs} differs from the tokenizer this model was trained with; not exporting")
    for name in MODEL_FILES:
        safetensors_io.write_atomic(dest / name, (src / name).read_bytes())
    if not theirs.exists():
        for name in TOKENIZER_FILES:
            if (tokenizer_dir / name).exists():
                shutil.copyfile(tokenizer_dir / name, dest / name)


def reload_saved(folder: Path, shape: LlamaShape, device: torch.device) -> LlamaForCausalLM:
    """The saved (fp16/bf16) weights in an fp32 model: what a loader of the folder computes."""
    model = LlamaForCausalLM(shape)
    state = {k: v.float() for k, v in safetensors_io.load(folder / "model.safetensors").items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    if unexpected or any(k != "lm_head.weight" for k in missing):
        raise RuntimeError(f"saved weights do not round-trip: missing {missing}, unexpected {unexpected}")
    return model.to(device).eval()


# ----------------------------------------------------------------------------- samples


@torch.no_grad()
def greedy(model: LlamaForCausalLM, prompt: list[int], new_tokens: int, eos: int, layer: int,
           device: torch.device) -> list[int]:
    """Greedy continuation read out at `layer` (no KV cache: contexts here are short)."""
    ids = list(prompt)
    for _ in range(new_tokens):
        x = torch.tensor([ids[-model.shape.max_position_embeddings:]], device=device)
        h = model.hidden_states(x, upto=layer)[-1][:, -1]
        nxt = int(model.readout(h).argmax(-1).item())
        ids.append(nxt)
        if nxt == eos:
            break
    return ids[len(prompt):]


def encode_prompts(texts: list[str], tokenizer_dir: Path) -> list[Optional[list[int]]]:
    """Encodes text prompts with the Python tokenizers package if present, else with Node and
    @huggingface/tokenizers; None for each prompt if neither is available."""
    if not texts:
        return []
    try:
        from tokenizers import Tokenizer  # type: ignore

        tok = Tokenizer.from_file(str(tokenizer_dir / "tokenizer.json"))
        return [tok.encode(t).ids for t in texts]
    except ImportError:
        pass
    script = Path(__file__).resolve().parent / "encodeText.mjs"
    try:
        out = subprocess.run(["node", str(script), str(tokenizer_dir / "tokenizer.json")], input=json.dumps(texts),
                             capture_output=True, text=True, check=True, timeout=120)
        return json.loads(out.stdout)
    except (OSError, subprocess.SubprocessError, json.JSONDecodeError) as err:
        print(f"text prompts skipped: no tokenizer available ({err})", flush=True)
        return [None for _ in texts]


def make_samples(model: LlamaForCausalLM, args: argparse.Namespace, heldout: np.ndarray, ids: dict[str, int],
                 decoder: ByteLevelDecoder, plan: LossPlan, device: torch.device) -> list[dict]:
    """Greedy samples at the last layer and the deepest intermediate exit, from the first 8
    tokens of evenly spaced held-out documents, from <|bos|> alone, and from --prompt texts."""
    prompts: list[tuple[str, list[int]]] = [("<|bos|>", [ids["bos"]])]
    starts = document_starts(heldout, ids["bos"])
    for i in np.linspace(0, len(starts) - 1, args.samples).round().astype(int) if args.samples else []:
        s = int(starts[i])
        prompts.append((f"held-out document at token {s}", [int(t) for t in heldout[s : s + 8]]))
    for text, enc in zip(args.prompt, encode_prompts(args.prompt, args.tokenizer_dir)):
        if enc is not None:
            prompts.append((f"text {text!r}", enc))
    layers = [model.shape.num_hidden_layers]
    if len(plan.layers) > 1:
        layers.insert(0, plan.layers[-2])
    elif model.shape.num_hidden_layers >= 2:
        layers.insert(0, model.shape.num_hidden_layers // 2)
    out = []
    for source, prompt in prompts:
        for layer in layers:
            gen = greedy(model, prompt, args.sample_tokens, ids["eos"], layer, device)
            out.append({"source": source, "layer": layer, "prompt_ids": prompt, "output_ids": gen,
                        "prompt": decoder.decode(prompt), "output": decoder.decode(gen)})
    return out


# ----------------------------------------------------------------------------- the end of a run


def folder_bytes(folder: Path) -> dict[str, int]:
    return {p.name: p.stat().st_size for p in sorted(folder.iterdir()) if p.is_file()}


def finish(args: argparse.Namespace, model: LlamaForCausalLM, device: torch.device, amp: Optional[torch.dtype],
           shape: LlamaShape, ids: dict[str, int], decoder: ByteLevelDecoder, heldout: np.ndarray, plan: LossPlan,
           params: dict[str, int], step: int, tokens_seen: int, train_seconds: float) -> None:
    """Saves the HF folder, evaluates the saved weights on the held-out split at every layer,
    writes greedy samples and the run summary, and exports if asked."""
    folder = args.out / "model"
    save_hf_folder(folder, model, ids, args.save_dtype, args.tokenizer_dir)
    saved = reload_saved(folder, shape, device)
    t0 = time.time()
    count = args.final_eval_windows or None
    windows = gather_windows(heldout, heldout_window_starts(len(heldout), args.ctx, count), args.ctx + 1)
    final = evaluate(saved, windows, device, args.batch, None if device.type == "cpu" else amp)
    eval_seconds = time.time() - t0
    print(f"final held-out ppl by layer (saved {args.save_dtype} weights): {final['ppl']}", flush=True)
    samples = make_samples(saved, args, heldout, ids, decoder, plan, device)
    write_json_atomic(args.out / "samples.json", {"samples": samples})
    files = folder_bytes(folder)
    summary = {
        "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join(sys.argv),
        "device": str(device) if device.type == "cpu" else torch.cuda.get_device_name(device),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "amp": str(amp),
        "shape": shape.to_dict(),
        "params": params,
        "loss_layers": plan.layers,
        "loss_weights": plan.weights,
        "exit_fraction": plan.exit_fraction,
        "mix_exit_weights": plan.mix_weights,
        "mix_exit_turns": plan.mix_turns,
        "mix_answer_weight": plan.answer_weight,
        "steps": step,
        "tokens": tokens_seen,
        "train_seconds": round(train_seconds, 1),
        "tokens_per_second": round(tokens_seen / max(train_seconds, 1e-9), 1),
        "final_eval": {**final, "seconds": round(eval_seconds, 1), "windows": len(windows), "weights": args.save_dtype},
        "model_files_bytes": files,
        "model_folder_bytes": sum(files.values()),
        "tokenizer_sha256": sha256(args.tokenizer_dir / "tokenizer.json"),
        "train_file": str(args.train),
        "heldout_file": str(args.heldout),
        "init_from": str(args.init_from) if args.init_from else None,
        "seed": args.seed,
    }
    write_json_atomic(args.out / "summary.json", summary)
    if args.export_dir:
        export_model(folder, args.export_dir, args.tokenizer_dir)
        print(f"exported to {args.export_dir}", flush=True)


def main() -> None:
    train(parse_args())


if __name__ == "__main__":
    main()
