#!/usr/bin/env python3
"""Checks a saved model folder against Hugging Face transformers (run where transformers exists,
e.g. the GPU machine; this machine has no transformers package).

1. ``LlamaForCausalLM.from_pretrained(folder)`` loads with no missing or unexpected weights.
2. Its logits equal ours (tools/pretrain/llama.py over the same safetensors) on held-out windows
   (without --heldout: on seeded random token windows of the full context).
3. Every intermediate layer read out through the final norm and the head equals ours.
4. ``generate(do_sample=False)`` reproduces the last-layer greedy samples in samples.json token
   for token (the same reference the TypeScript engine is checked against).

  python3 tools/pretrain/checkHf.py --model models/hdlm-tiny --heldout heldout.bin \
      --samples tools/pretrain/runs/hier/samples.json
Exits non-zero on any mismatch.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

import safetensors_io  # noqa: E402
from llama import LlamaForCausalLM as OurLlama, LlamaShape  # noqa: E402
from tokens import gather_windows, heldout_window_starts, load_tokens  # noqa: E402


def our_model(folder: Path) -> OurLlama:
    cfg = json.loads((folder / "config.json").read_text())
    shape = LlamaShape(
        vocab_size=cfg["vocab_size"], hidden_size=cfg["hidden_size"], intermediate_size=cfg["intermediate_size"],
        num_hidden_layers=cfg["num_hidden_layers"], num_attention_heads=cfg["num_attention_heads"],
        num_key_value_heads=cfg["num_key_value_heads"], max_position_embeddings=cfg["max_position_embeddings"],
        rms_norm_eps=cfg["rms_norm_eps"], rope_theta=cfg.get("rope_theta", 10000.0),
        tie_word_embeddings=cfg["tie_word_embeddings"],
    )
    model = OurLlama(shape)
    state = {k: v.float() for k, v in safetensors_io.load(folder / "model.safetensors").items()}
    model.load_state_dict(state, strict=False)
    return model.eval()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", type=Path, required=True)
    p.add_argument("--heldout", type=Path, help="uint16 token file; without it, random token windows")
    p.add_argument("--samples", type=Path, help="samples.json written by pretrain.py")
    p.add_argument("--windows", type=int, default=8)
    p.add_argument("--tol", type=float, default=2e-4, help="max abs logit difference allowed")
    args = p.parse_args()

    from transformers import LlamaForCausalLM  # imported here: only this script needs it

    import transformers
    from packaging.version import Version

    # float32 compute from the fp16 weights; the argument was `torch_dtype` before 4.56.
    dtype_arg = "dtype" if Version(transformers.__version__) >= Version("4.56") else "torch_dtype"
    hf, info = LlamaForCausalLM.from_pretrained(str(args.model), output_loading_info=True, **{dtype_arg: torch.float32})
    hf.eval()
    bad_keys = {k: v for k, v in info.items() if v and k in ("missing_keys", "unexpected_keys", "mismatched_keys")}
    ours = our_model(args.model)
    ctx = ours.shape.max_position_embeddings
    if args.heldout:
        heldout = load_tokens(args.heldout)
        windows = torch.from_numpy(gather_windows(heldout, heldout_window_starts(len(heldout), ctx, args.windows), ctx))
    else:
        windows = torch.randint(0, ours.shape.vocab_size, (args.windows, ctx), generator=torch.Generator().manual_seed(0))
    print(f"transformers {transformers.__version__}, torch {torch.__version__}, {len(windows)} windows of {ctx} tokens")
    failures: list[str] = []
    if bad_keys:
        failures.append(f"loading info: {bad_keys}")

    with torch.no_grad():
        out = hf(windows, output_hidden_states=True)
        ours_hidden = ours.hidden_states(windows)
        diff = (out.logits - ours.readout(ours_hidden[-1])).abs().max().item()
        print(f"last-layer logits: max abs diff {diff:.2e}")
        if diff > args.tol:
            failures.append(f"last-layer logits differ by {diff:.2e}")
        for layer in range(1, ours.shape.num_hidden_layers):
            theirs = hf.lm_head(hf.model.norm(out.hidden_states[layer]))
            d = (theirs - ours.readout(ours_hidden[layer - 1])).abs().max().item()
            print(f"layer {layer} readout: max abs diff {d:.2e}")
            if d > args.tol:
                failures.append(f"layer {layer} readout differs by {d:.2e}")

    if args.samples:
        cfg = json.loads((args.model / "config.json").read_text())
        for s in json.loads(args.samples.read_text())["samples"]:
            if s["layer"] != cfg["num_hidden_layers"]:
                continue
            prompt = torch.tensor([s["prompt_ids"]])
            gen = hf.generate(prompt, max_new_tokens=len(s["output_ids"]), do_sample=False,
                              eos_token_id=cfg["eos_token_id"], pad_token_id=cfg["pad_token_id"])
            got = gen[0, prompt.shape[1]:].tolist()
            same = got == s["output_ids"]
            print(f"greedy {s['source']}: {'same' if same else 'DIFFERENT'} ({len(got)} tokens)")
            if not same:
                failures.append(f"greedy output differs for {s['source']}: {got} vs {s['output_ids']}")

    if failures:
        print("FAILED:\n  " + "\n  ".join(failures))
        sys.exit(1)
    print("transformers agrees with tools/pretrain/llama.py")


if __name__ == "__main__":
    main()
