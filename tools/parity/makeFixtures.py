#!/usr/bin/env python3
"""Parity fixtures for the TypeScript engine, made with Hugging Face transformers.

For each supported architecture this writes a tiny random-weight checkpoint in the layout
`save_pretrained` writes, plus what transformers computes for a few prompts:

  <out>/<name>/config.json, model.safetensors (or shards + index), generation_config.json
  <out>/<name>/reference.safetensors   prompt<i>.hidden [L+1, S, H]  residual stream after k layers
                                                        (k = 0: embeddings; raw, before the final norm)
                                       prompt<i>.logits [S, V]       last-layer logits
  <out>/<name>/reference.json          prompts, 32 greedy token ids per prompt, the same with
                                       transformers' repetition penalty and n-gram ban
                                       (greedy_controlled), versions, writer

Run where torch + transformers exist (CPU is enough):
    python3 tools/parity/makeFixtures.py --out test/fixtures/parity
The weights are written by `save_pretrained` when the `safetensors` package is installed, and
otherwise by this script in the same layout (`--own-writer` forces that, to compare the two).
The engine's unit tests (test/unit/engine/parity.test.ts) compare against these on the CPU.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import struct
from pathlib import Path

import torch
import transformers
from transformers import AutoModelForCausalLM, GPT2Config, LlamaConfig, MistralConfig, Qwen2Config
try:  # transformers 4.51 and later
    from transformers import Qwen3Config
except ImportError:  # pragma: no cover - depends on the installed transformers
    Qwen3Config = None
try:  # both are exported at the top level in transformers 4.x; the controlled reference is optional
    from transformers import NoRepeatNGramLogitsProcessor, RepetitionPenaltyLogitsProcessor
except ImportError:  # pragma: no cover - depends on the installed transformers
    NoRepeatNGramLogitsProcessor = RepetitionPenaltyLogitsProcessor = None

PROMPTS = [[1, 5, 9, 23, 42, 7, 88, 3], [1, 100, 2, 64, 17], [1, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21]]
GREEDY_TOKENS = 32
# generation_config.json's repetition controls, as transformers' own logits processors apply them.
CONTROLS = {"repetition_penalty": 1.3, "no_repeat_ngram_size": 3}
VOCAB = 128
# Small enough that all six fixtures stay well under 2 MB; 4 heads of 8 keep GQA and RoPE real.
HIDDEN, HEADS, LAYERS = 32, 4, 3
SAFETENSORS_DTYPES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16"}


def llama_like(config_cls, **extra):
    return config_cls(
        vocab_size=VOCAB, hidden_size=HIDDEN, intermediate_size=80, num_hidden_layers=LAYERS,
        num_attention_heads=HEADS, max_position_embeddings=128, rms_norm_eps=1e-5,
        bos_token_id=1, eos_token_id=2, pad_token_id=0, **extra,
    )


def fixtures():
    """(name, config, weight dtype, shard size in bytes) for every fixture; each name is a folder."""
    return [
        ("llama", llama_like(LlamaConfig, num_key_value_heads=4, rope_theta=10000.0, tie_word_embeddings=False), torch.float32, None),
        ("llama-gqa-fp16", llama_like(LlamaConfig, num_key_value_heads=2, rope_theta=500000.0, tie_word_embeddings=False), torch.float16, None),
        ("llama-bf16-sharded", llama_like(LlamaConfig, num_key_value_heads=1, tie_word_embeddings=True), torch.bfloat16, 20_000),
        ("qwen2", llama_like(Qwen2Config, num_key_value_heads=2, rope_theta=1000000.0, tie_word_embeddings=True, use_sliding_window=False), torch.float32, None),
        ("mistral", llama_like(MistralConfig, num_key_value_heads=2, sliding_window=None, tie_word_embeddings=False), torch.float32, None),
        ("gpt2", GPT2Config(vocab_size=VOCAB, n_embd=HIDDEN, n_layer=LAYERS, n_head=HEADS, n_positions=128, bos_token_id=1, eos_token_id=2), torch.float32, None),
        # Llama 3.1+'s scaled RoPE with an original context this small, so that at head_dim 8 one
        # frequency is blended and three are divided (last, so the other fixtures keep their seeds).
        ("llama3-rope", llama_like(LlamaConfig, num_key_value_heads=2, rope_theta=500000.0, tie_word_embeddings=True,
                                   rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                                 "high_freq_factor": 4.0, "original_max_position_embeddings": 16}), torch.float32, None),
    ] + ([
        # Qwen3: per-head q/k RMS norms, and a head_dim that is not hidden_size / heads.
        ("qwen3", llama_like(Qwen3Config, num_key_value_heads=2, head_dim=16, rope_theta=1000000.0, tie_word_embeddings=True,
                             use_sliding_window=False), torch.float32, None),
    ] if Qwen3Config is not None else [])


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


def controlled_greedy(model, ids: list[int]) -> list[int]:
    """greedy() with transformers' RepetitionPenalty and NoRepeatNGram processors on each step's
    logits, in generate()'s order, over the prompt and the output so far."""
    processors = [RepetitionPenaltyLogitsProcessor(CONTROLS["repetition_penalty"]),
                  NoRepeatNGramLogitsProcessor(CONTROLS["no_repeat_ngram_size"])]
    seq = list(ids)
    for _ in range(GREEDY_TOKENS):
        scores = model(torch.tensor([seq])).logits[:, -1].float()
        for process in processors:
            scores = process(torch.tensor([seq]), scores)
        seq.append(int(scores[0].argmax()))
    return seq[len(ids):]


def write_safetensors(path: Path, tensors: dict[str, torch.Tensor], metadata: dict | None = None) -> None:
    """The safetensors format as the library writes it: 8-byte little-endian header length, JSON
    header (__metadata__ first) padded with spaces to 8 bytes, tensors in name order (the library
    orders by dtype first; every file here has one dtype), raw little-endian data."""
    header, offset, blobs = ({"__metadata__": metadata} if metadata else {}), 0, []
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous()
        data = t.view(-1).view(torch.uint8).numpy().tobytes()  # via uint8: numpy has no bfloat16
        header[name] = {"dtype": SAFETENSORS_DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + b"".join(blobs))


def save_weights(model, folder: Path, shard: int | None) -> None:
    """What save_pretrained(safe_serialization=True) writes, for when safetensors is missing:
    tied weights once (the first name, as save_pretrained keeps model.embed_tokens over lm_head),
    shards filled greedily in state_dict order, an index with total_size and weight_map."""
    state, seen = {}, set()
    for name, t in model.state_dict().items():
        if t.data_ptr() not in seen:
            seen.add(t.data_ptr())
            state[name] = t
    shards: list[dict[str, torch.Tensor]] = [{}]
    size = total = 0
    for name, t in state.items():
        nbytes = t.numel() * t.element_size()
        if shard and shards[-1] and size + nbytes > shard:
            shards.append({})
            size = 0
        shards[-1][name] = t
        size += nbytes
        total += nbytes
    if len(shards) == 1:
        write_safetensors(folder / "model.safetensors", shards[0], {"format": "pt"})
        return
    weight_map = {}
    for i, part in enumerate(shards, start=1):
        file = f"model-{i:05d}-of-{len(shards):05d}.safetensors"
        write_safetensors(folder / file, part, {"format": "pt"})
        weight_map.update(dict.fromkeys(part, file))
    index = {"metadata": {"total_size": total}, "weight_map": weight_map}
    (folder / "model.safetensors.index.json").write_text(json.dumps(index, indent=2, sort_keys=True) + "\n")


def safetensors_version() -> str | None:
    """None where the package is missing: then this script writes the weights itself."""
    if importlib.util.find_spec("safetensors") is None:
        return None
    import safetensors
    return safetensors.__version__


def make(out: Path, name: str, config, dtype: torch.dtype, shard: int | None, seed: int, own_writer: bool) -> None:
    torch.manual_seed(seed)
    # Eager attention: the plain softmax(QKᵀ)V that the engine's reference is, no fused kernels.
    model = AutoModelForCausalLM.from_config(config, attn_implementation="eager")
    widen(model, seed)
    # Round the weights to the stored dtype, keep them in float32 and compute the references from
    # exactly those values: the engine also widens stored weights to float32. Parameters only:
    # model.to(dtype) would also round the RoPE buffers (inv_freq, cos/sin caches), which are not
    # stored and which transformers computes in float32.
    model.eval()
    for p in model.parameters():
        p.copy_(p.to(dtype))
    refs, greedy_ids, controlled_ids = {}, [], []
    for i, ids in enumerate(PROMPTS):
        refs[f"prompt{i}.hidden"], refs[f"prompt{i}.logits"] = hidden_states(model, ids)
        greedy_ids.append(greedy(model, ids))
        if RepetitionPenaltyLogitsProcessor is not None:
            controlled_ids.append(controlled_greedy(model, ids))
    folder = out / name
    shutil.rmtree(folder, ignore_errors=True)
    model.to(dtype)
    if own_writer:
        # config.json and generation_config.json still come from save_pretrained.
        model.save_pretrained(folder, safe_serialization=False)
        (folder / "pytorch_model.bin").unlink()
        save_weights(model, folder, shard)
        writer = "hdlm-writer" + ("" if safetensors_version() else " (no safetensors package)")
    else:
        model.save_pretrained(folder, **({"max_shard_size": shard} if shard else {}))
        writer = "save_pretrained"
    write_safetensors(folder / "reference.safetensors", refs)
    (folder / "reference.json").write_text(json.dumps({
        "prompts": PROMPTS, "greedy": greedy_ids, **({"greedy_controlled": {**CONTROLS, "ids": controlled_ids}} if controlled_ids else {}), "dtype": str(dtype).removeprefix("torch."),
        "torch": torch.__version__, "transformers": transformers.__version__,
        "safetensors": safetensors_version(), "writer": writer, "seed": seed,
    }, indent=1) + "\n")
    size = sum(f.stat().st_size for f in folder.iterdir())
    print(f"{name}: {size / 1024:.0f} KiB, layers {len(decoder_layers(model))}, greedy[0][:8] {greedy_ids[0][:8]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("test/fixtures/parity"))
    parser.add_argument("--own-writer", action="store_true", help="write the weights with this script even if safetensors is installed")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    torch.set_grad_enabled(False)
    torch.set_num_threads(1)  # tiny models: threads buy nothing, and the results do not depend on them
    own_writer = args.own_writer or safetensors_version() is None
    for seed, (name, config, dtype, shard) in enumerate(fixtures(), start=1):
        make(args.out, name, config, dtype, shard, seed, own_writer)


if __name__ == "__main__":
    main()
