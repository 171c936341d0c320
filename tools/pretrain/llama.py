"""A Llama decoder in plain PyTorch whose math matches Hugging Face ``LlamaForCausalLM``.

Parameter names follow the Hugging Face checkpoint layout (``model.embed_tokens.weight``,
``model.layers.{i}.self_attn.q_proj.weight``, ``model.norm.weight`` ...), so ``state_dict()`` can
be written to ``model.safetensors`` unchanged and loaded by ``transformers`` and by the project's
TypeScript engine.

Beyond the usual forward pass the model exposes the residual stream after every layer, so that
any layer can be read out through the final norm and the (tied) head -- the "logit lens" readout
that hierarchical pretraining trains and that the engine uses for early exit.

Written for torch 1.13 (Debian's python3-torch) and torch 2.x alike.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class LlamaShape:
    """The architecture hyperparameters, named as in ``LlamaConfig``."""

    vocab_size: int
    hidden_size: int = 256
    intermediate_size: int = 688
    num_hidden_layers: int = 8
    num_attention_heads: int = 4
    num_key_value_heads: int = 2
    max_position_embeddings: int = 256
    rms_norm_eps: float = 1e-5
    rope_theta: float = 10000.0
    tie_word_embeddings: bool = True

    @property
    def head_dim(self) -> int:
        return self.hidden_size // self.num_attention_heads

    def validate(self) -> None:
        """Refuses shapes that transformers would reject or compute differently."""
        if self.hidden_size % self.num_attention_heads:
            raise ValueError("hidden_size must be a multiple of num_attention_heads")
        if self.num_attention_heads % self.num_key_value_heads:
            raise ValueError("num_key_value_heads must divide num_attention_heads")
        if self.head_dim % 2:
            raise ValueError("head_dim must be even for rotary embeddings")

    def to_dict(self) -> dict:
        return asdict(self)


class RMSNorm(nn.Module):
    """Root-mean-square norm, computed in float32 and cast back as ``LlamaRMSNorm`` does."""

    def __init__(self, size: int, eps: float) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(size))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        input_dtype = x.dtype
        x32 = x.float()
        x32 = x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + self.eps)
        # HF casts the normalised value back before multiplying by the weight.
        return self.weight * x32.to(input_dtype)


def rotary_tables(shape: LlamaShape, seq_len: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """cos/sin tables of shape (seq_len, head_dim) in float32, in HF's half-split layout."""
    dim = shape.head_dim
    inv_freq = 1.0 / (shape.rope_theta ** (torch.arange(0, dim, 2, dtype=torch.int64, device=device).float() / dim))
    positions = torch.arange(seq_len, device=device, dtype=torch.float32)
    freqs = torch.outer(positions, inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos(), emb.sin()


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    """(x1, x2) -> (-x2, x1) over the two halves of the last dimension (HF convention)."""
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def apply_rotary(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotates q or k of shape (batch, heads, seq, head_dim)."""
    cos = cos.to(x.dtype)
    sin = sin.to(x.dtype)
    return x * cos + rotate_half(x) * sin


class Attention(nn.Module):
    """Causal grouped-query self-attention without biases."""

    def __init__(self, shape: LlamaShape) -> None:
        super().__init__()
        self.n_heads = shape.num_attention_heads
        self.n_kv = shape.num_key_value_heads
        self.head_dim = shape.head_dim
        h = shape.hidden_size
        self.q_proj = nn.Linear(h, self.n_heads * self.head_dim, bias=False)
        self.k_proj = nn.Linear(h, self.n_kv * self.head_dim, bias=False)
        self.v_proj = nn.Linear(h, self.n_kv * self.head_dim, bias=False)
        self.o_proj = nn.Linear(self.n_heads * self.head_dim, h, bias=False)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        b, s, _ = x.shape
        q = self.q_proj(x).view(b, s, self.n_heads, self.head_dim).transpose(1, 2)
        k = self.k_proj(x).view(b, s, self.n_kv, self.head_dim).transpose(1, 2)
        v = self.v_proj(x).view(b, s, self.n_kv, self.head_dim).transpose(1, 2)
        q = apply_rotary(q, cos, sin)
        k = apply_rotary(k, cos, sin)
        groups = self.n_heads // self.n_kv
        if groups > 1:
            # Each kv head serves `groups` consecutive query heads, as HF's repeat_kv does.
            k = k.repeat_interleave(groups, dim=1)
            v = v.repeat_interleave(groups, dim=1)
        out = causal_attention(q, k, v)
        return self.o_proj(out.transpose(1, 2).reshape(b, s, self.n_heads * self.head_dim))


def causal_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """softmax(q k^T / sqrt(d) + causal mask) v, using the fused kernel when torch has one."""
    fused = getattr(F, "scaled_dot_product_attention", None)
    if fused is not None:
        return fused(q, k, v, is_causal=True)
    s = q.shape[-2]
    scores = torch.matmul(q, k.transpose(-1, -2)) * (q.shape[-1] ** -0.5)
    mask = torch.ones(s, s, dtype=torch.bool, device=q.device).triu(1)
    scores = scores.masked_fill(mask, float("-inf"))
    # HF runs the softmax in float32 whatever the activation dtype.
    probs = torch.softmax(scores.float(), dim=-1).to(q.dtype)
    return torch.matmul(probs, v)


class MLP(nn.Module):
    """down(silu(gate(x)) * up(x)), no biases."""

    def __init__(self, shape: LlamaShape) -> None:
        super().__init__()
        h, m = shape.hidden_size, shape.intermediate_size
        self.gate_proj = nn.Linear(h, m, bias=False)
        self.up_proj = nn.Linear(h, m, bias=False)
        self.down_proj = nn.Linear(m, h, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class DecoderLayer(nn.Module):
    """Pre-norm residual block: x + attn(norm(x)), then x + mlp(norm(x))."""

    def __init__(self, shape: LlamaShape) -> None:
        super().__init__()
        self.input_layernorm = RMSNorm(shape.hidden_size, shape.rms_norm_eps)
        self.self_attn = Attention(shape)
        self.post_attention_layernorm = RMSNorm(shape.hidden_size, shape.rms_norm_eps)
        self.mlp = MLP(shape)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        x = x + self.self_attn(self.input_layernorm(x), cos, sin)
        return x + self.mlp(self.post_attention_layernorm(x))


class Backbone(nn.Module):
    """``LlamaModel``: embeddings, decoder layers, final norm."""

    def __init__(self, shape: LlamaShape) -> None:
        super().__init__()
        self.embed_tokens = nn.Embedding(shape.vocab_size, shape.hidden_size)
        self.layers = nn.ModuleList(DecoderLayer(shape) for _ in range(shape.num_hidden_layers))
        self.norm = RMSNorm(shape.hidden_size, shape.rms_norm_eps)


class LlamaForCausalLM(nn.Module):
    """The causal LM. With tied embeddings the head *is* ``model.embed_tokens.weight``."""

    def __init__(self, shape: LlamaShape) -> None:
        super().__init__()
        shape.validate()
        self.shape = shape
        self.model = Backbone(shape)
        self.lm_head: Optional[nn.Linear] = None
        if not shape.tie_word_embeddings:
            self.lm_head = nn.Linear(shape.hidden_size, shape.vocab_size, bias=False)
        self._rope_cache: dict[tuple[int, str], tuple[torch.Tensor, torch.Tensor]] = {}
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """N(0, 0.02) everywhere (HF's initializer_range), with the residual-branch output
        projections scaled by 1/sqrt(2L) so the residual stream's variance does not grow with
        depth (GPT-2's rule; it makes the early layers' readouts trainable from step one)."""
        std = 0.02
        out_std = std / math.sqrt(2 * self.shape.num_hidden_layers)
        for name, p in self.named_parameters():
            if name.endswith("norm.weight"):
                nn.init.ones_(p)
            elif name.endswith("o_proj.weight") or name.endswith("down_proj.weight"):
                nn.init.normal_(p, mean=0.0, std=out_std)
            else:
                nn.init.normal_(p, mean=0.0, std=std)

    @property
    def head_weight(self) -> torch.Tensor:
        return self.model.embed_tokens.weight if self.lm_head is None else self.lm_head.weight

    def rope(self, seq_len: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        key = (seq_len, str(device))
        if key not in self._rope_cache:
            self._rope_cache[key] = rotary_tables(self.shape, seq_len, device)
        return self._rope_cache[key]

    def hidden_states(self, input_ids: torch.Tensor, upto: Optional[int] = None) -> list[torch.Tensor]:
        """Residual stream after layers 1..upto (default all), before any final norm.

        Element i-1 is the output of layer i, the tensor HF returns as ``hidden_states[i]``
        (except for the last layer, where HF already applies the final norm).
        """
        n = self.shape.num_hidden_layers if upto is None else upto
        cos, sin = self.rope(input_ids.shape[1], input_ids.device)
        x = self.model.embed_tokens(input_ids)
        outs = []
        for layer in self.model.layers[:n]:
            x = layer(x, cos, sin)
            outs.append(x)
        return outs

    def readout(self, hidden: torch.Tensor) -> torch.Tensor:
        """Logits of any layer's residual stream through the final norm and the shared head."""
        return F.linear(self.model.norm(hidden), self.head_weight)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        """Last-layer logits, exactly ``LlamaForCausalLM(input_ids).logits``."""
        return self.readout(self.hidden_states(input_ids)[-1])

    def hf_state_dict(self) -> dict[str, torch.Tensor]:
        """Tensors under their HF names; the tied head is left out as HF does when saving."""
        return {k: v for k, v in self.state_dict().items() if not (k == "lm_head.weight" and self.lm_head is None)}


def count_parameters(model: LlamaForCausalLM) -> dict[str, int]:
    """Unique parameter counts (a tied head is counted once, as part of the embedding)."""
    total = sum(p.numel() for p in model.parameters())
    embed = model.model.embed_tokens.weight.numel()
    head = 0 if model.lm_head is None else model.lm_head.weight.numel()
    return {"total": total, "embedding": embed, "untied_head": head, "non_embedding": total - embed - head}
