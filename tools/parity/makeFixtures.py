#!/usr/bin/env python3
"""Parity fixtures for the TypeScript engine, made with Hugging Face transformers.

For each supported architecture this writes a tiny random-weight checkpoint exactly as
`save_pretrained` writes it, plus what transformers computes for a few prompts:

  <out>/<name>/config.json, model.safetensors (or shards + index), generation_config.json
  <out>/<name>/reference.safetensors   prompt<i>.hidden [L+1, S, H]  residual stream after k layers
                                                        (k = 0: embeddings; raw, before the final norm)
                                       prompt<i>.logits [S, V]       last-layer logits
  <out>/<name>/reference.json          prompts, 32 greedy token ids per prompt, versions

Run where torch + transformers exist (the GPU machine has them; CPU is enough):
    python3 tools/parity/makeFixtures.py --out test/fixtures/parity
The engine's unit tests (test/unit/engine/parity.test.ts) compare against these on the CPU.
"""
from __future__ import annotations

import argparse
import json
import shutil
import struct
from pathlib import Path

import torch
import transformers
from transformers import AutoModelForCausalLM, GPT2Config, LlamaConfig, MistralConfig, Qwen2Config

PROMPTS = [[1, 5, 9, 23, 42, 7, 88, 3], [1, 100, 2, 64, 17], [1, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21]]
GREEDY_TOKENS = 32
VOCAB = 128


def llama_like(config_cls, **extra):
    return config_cls(
        vocab_size=VOCAB, hidden_size=64, intermediate_size=160, num_hidden_layers=3,
        num_attention_heads=4, max_position_embeddings=128, rms_norm_eps=1e-5,
        bos_token_id=1, eos_token_id=2, pad_token_id=0, **extra,
    )


def fixtures():
    """(name, config, weight dtype, shard size) for every fixture; each name is a folder."""
    return [
        ("llama", llama_like(LlamaConfig, num_key_value_heads=4, rope_theta=10000.0, tie_word_embeddings=False), torch.float32, None),
        ("llama-gqa-fp16", llama_like(LlamaConfig, num_key_value_heads=2, rope_theta=500000.0, tie_word_embeddings=False), torch.float16, None),
        ("llama-bf16-sharded", llama_like(LlamaConfig, num_key_value_heads=1, tie_word_embeddings=True), torch.bfloat16, "60KB"),
        ("qwen2", llama_like(Qwen2Config, num_key_value_heads=2, rope_theta=1000000.0, tie_word_embeddings=True, use_sliding_window=False), torch.float32, None),
        ("mistral", llama_like(MistralConfig, num_key_value_heads=2, sliding_window=None, tie_word_embeddings=False), torch.float32, None),
        ("gpt2", GPT2Config(vocab_size=VOCAB, n_embd=64, n_layer=3, n_head=4, n_positions=128, bos_token_id=1, eos_token_id=2), torch.float32, None),
    ]


def widen(model: torch.nn.Module, seed: int) -> None:
    """Random weights with a spread large enough that mistakes show (0.02 init makes every layer
    nearly the identity), norm weights near 1 so normalisation is exercised."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 1 and ("norm" in name or "ln_" in name) and name.endswith("weight"):
                p.copy_(1 + 0.1 * (torch.rand(p.shape, generator=gen) - 0.5))
            else:
                p.copy_(0.15 * torch.randn(p.shape, generator=gen))


def decoder_layers(model: torch.nn.Module):
    return model.transformer.h if hasattr(model, "transformer") else model.model.layers


def hidden_states(model, ids: list[int]) -> torch.Tensor:
    """[L+1, S, H]: the embeddings and every layer's raw output (hooks, because transformers
    applies the final norm to the last entry of output_hidden_states)."""
    captured: list[torch.Tensor] = []
    hooks = [layer.register_forward_hook(lambda _m, _i, out: captured.append((out[0] if isinstance(out, tuple) else out).detach()))
             for layer in decoder_layers(model)]
    try:
        out = model(torch.tensor([ids]), output_hidden_states=True)
    finally:
        for h in hooks:
            h.remove()
    return torch.stack([out.hidden_states[0][0]] + [c[0] for c in captured]), out.logits[0]


def greedy(model, ids: list[int]) -> list[int]:
    """Argmax decoding by full recomputation: no cache, no generation config in the way."""
    seq = list(ids)
    for _ in range(GREEDY_TOKENS):
        seq.append(int(model(torch.tensor([seq])).logits[0, -1].argmax()))
    return seq[len(ids):]


def write_safetensors(path: Path, tensors: dict[str, torch.Tensor]) -> None:
    """A minimal float32 safetensors writer, so this needs no safetensors API beyond transformers'."""
    header, offset, blobs = {}, 0, []
    for name in sorted(tensors):
        data = tensors[name].detach().to(torch.float32).contiguous().numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensors[name].shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + b"".join(blobs))


def make(out: Path, name: str, config, dtype: torch.dtype, shard: str | None, seed: int) -> None:
    torch.manual_seed(seed)
    # Eager attention: the plain softmax(QKᵀ)V that the engine's reference is, no fused kernels.
    model = AutoModelForCausalLM.from_config(config, attn_implementation="eager")
    widen(model, seed)
    # Round the weights to the stored dtype first, then compute the references in float32 from
    # exactly those values: the engine also widens stored weights to float32.
    model = model.to(dtype).to(torch.float32).eval()
    folder = out / name
    shutil.rmtree(folder, ignore_errors=True)
    kwargs = {"max_shard_size": shard} if shard else {}
    model.to(dtype).save_pretrained(folder, **kwargs)
    model.to(torch.float32)
    refs, greedy_ids = {}, []
    with torch.no_grad():
        for i, ids in enumerate(PROMPTS):
            hidden, logits = hidden_states(model, ids)
            refs[f"prompt{i}.hidden"] = hidden
            refs[f"prompt{i}.logits"] = logits
            greedy_ids.append(greedy(model, ids))
    write_safetensors(folder / "reference.safetensors", refs)
    (folder / "reference.json").write_text(json.dumps({
        "prompts": PROMPTS, "greedy": greedy_ids, "dtype": str(dtype).removeprefix("torch."),
        "torch": torch.__version__, "transformers": transformers.__version__, "seed": seed,
    }, indent=1) + "\n")
    size = sum(f.stat().st_size for f in folder.iterdir())
    print(f"{name}: {size / 1024:.0f} KiB, layers {len(decoder_layers(model))}, greedy[0][:8] {greedy_ids[0][:8]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("test/fixtures/parity"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    torch.set_grad_enabled(False)
    for seed, (name, config, dtype, shard) in enumerate(fixtures(), start=1):
        make(args.out, name, config, dtype, shard, seed)


if __name__ == "__main__":
    main()
