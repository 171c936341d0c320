#!/usr/bin/env python3
"""Prints the Markdown tables of the model card from two runs' logs and the baselines.

  python3 tools/pretrain/summarize.py --hier runs/hier --plain runs/plain --baselines runs/baselines.json

Every number printed comes from the files pretrain.py and baselines.py wrote.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def final_table(hier: dict, plain: dict, base: dict) -> str:
    h, p = hier["final_eval"], plain["final_eval"]
    rows = ["| layer | plain run ppl | hierarchical run ppl | hier / plain |", "|---:|---:|---:|---:|"]
    exits = set(hier["loss_layers"])
    for i, (pp, hp) in enumerate(zip(p["ppl"], h["ppl"]), start=1):
        mark = " (trained exit)" if i in exits else ""
        rows.append(f"| {i}{mark} | {pp:.2f} | {hp:.2f} | {hp / pp:.3f} |")
    same = base["same_targets_as_model_eval"]
    rows.append(f"| unigram (add-one, {base['train_tokens']:,} train tokens) | {same['unigram_ppl']:.2f} | | |")
    rows.append(f"| bigram (interpolated Kneser-Ney) | {same['bigram_kn_ppl']:.2f} | | |")
    return "\n".join(rows) + f"\n\nHeld-out targets: {h['tokens']:,} tokens ({h['windows']} windows of {hier['shape']['max_position_embeddings']})."


def curve_table(hier_dir: Path, plain_dir: Path, every: int) -> str:
    h = {r["step"]: r for r in read_jsonl(hier_dir / "train.jsonl")}
    p = {r["step"]: r for r in read_jsonl(plain_dir / "train.jsonl")}
    layers = sorted(int(k) for k in next(iter(h.values()))["loss_by_layer"])
    head = "| step | tokens | plain: loss L8 | plain: s | " + " | ".join(f"hier: loss L{k}" for k in layers) + " | hier: s | lr |"
    rows = [head, "|" + "---:|" * (head.count("|") - 1)]
    for step in sorted(set(h) & set(p)):
        if step != 1 and step % every and step != max(h):
            continue
        hr, pr = h[step], p[step]
        losses = " | ".join(f"{hr['loss_by_layer'][str(k)]:.3f}" for k in layers)
        rows.append(f"| {step} | {hr['tokens']:,} | {pr['loss_by_layer'][str(layers[-1])]:.3f} | {pr['elapsed']:.0f} | "
                    f"{losses} | {hr['elapsed']:.0f} | {hr['lr']:.2e} |")
    return "\n".join(rows)


def eval_table(hier_dir: Path, plain_dir: Path) -> str:
    h = {r["step"]: r for r in read_jsonl(hier_dir / "eval.jsonl")}
    p = {r["step"]: r for r in read_jsonl(plain_dir / "eval.jsonl")}
    n = len(next(iter(h.values()))["ppl"])
    head = "| step | run | " + " | ".join(f"L{i}" for i in range(1, n + 1)) + " |"
    rows = [head, "|" + "---:|" * (n + 2)]
    for step in sorted(set(h) & set(p)):
        for name, r in (("plain", p[step]), ("hier", h[step])):
            rows.append(f"| {step} | {name} | " + " | ".join(f"{v:.1f}" for v in r["ppl"]) + " |")
    return "\n".join(rows)


def samples_block(run_dir: Path) -> str:
    out = []
    for s in json.loads((run_dir / "samples.json").read_text(encoding="utf-8"))["samples"]:
        out.append(f"- {s['source']}, read out at layer {s['layer']}:\n  prompt {json.dumps(s['prompt'])}\n"
                   f"  → {json.dumps(s['output'], ensure_ascii=False)}")
    return "\n".join(out)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--hier", type=Path, required=True)
    p.add_argument("--plain", type=Path, required=True)
    p.add_argument("--baselines", type=Path, required=True)
    p.add_argument("--every", type=int, default=50)
    args = p.parse_args()
    hier = json.loads((args.hier / "summary.json").read_text())
    plain = json.loads((args.plain / "summary.json").read_text())
    base = json.loads(args.baselines.read_text())
    for name, s in (("plain", plain), ("hier", hier)):
        print(f"{name}: {s['steps']} steps, {s['tokens']:,} tokens, {s['train_seconds']:.0f} s training "
              f"({s['tokens_per_second']:.0f} tok/s), final eval {s['final_eval']['seconds']:.0f} s, finished {s['finished']}, "
              f"last-layer nll {s['final_eval']['nll'][-1]:.4f}")
    print()
    print(final_table(hier, plain, base))
    print()
    print(eval_table(args.hier, args.plain))
    print()
    print(curve_table(args.hier, args.plain, args.every))
    print()
    print(samples_block(args.hier))
    print()
    print(f"params {hier['params']}, files {hier['model_files_bytes']}, folder {hier['model_folder_bytes']:,} bytes "
          f"= {hier['model_folder_bytes'] / 2**20:.2f} MiB; bigram nll {base['same_targets_as_model_eval']['bigram_kn_nll']}, "
          f"exp {math.exp(base['same_targets_as_model_eval']['bigram_kn_nll']):.2f}")


if __name__ == "__main__":
    main()
