#!/usr/bin/env python3
"""Self-checks for the pretraining tools (run: /usr/bin/python3 tools/pretrain/test_pretrain.py).

The model is checked against a second, deliberately naive derivation of Hugging Face's Llama
formulas (explicit loops over heads and positions, rotary written pair by pair), so that an
error in the vectorised code cannot hide behind itself. transformers itself is not available
here; tools/pretrain/checkHf.py does that comparison where it is.
"""

from __future__ import annotations

import json
import math
import struct
import sys
import tempfile
import unittest
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))

import safetensors_io  # noqa: E402
from baselines import Bigram  # noqa: E402
from bpe_decode import byte_level_table  # noqa: E402
from llama import LlamaForCausalLM, LlamaShape  # noqa: E402
from tokens import document_starts, heldout_window_starts, mix_batch_starts, training_batch_starts  # noqa: E402

SHAPE = LlamaShape(vocab_size=50, hidden_size=16, intermediate_size=24, num_hidden_layers=3,
                   num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=32)


def naive_rms(x: torch.Tensor, w: torch.Tensor, eps: float) -> torch.Tensor:
    return w * (x / torch.sqrt((x * x).mean(-1, keepdim=True) + eps))


def naive_rotate(v: torch.Tensor, pos: int, theta: float) -> torch.Tensor:
    """HF's rotate_half convention: element i pairs with element i + d/2."""
    d = v.shape[-1]
    out = v.clone()
    for i in range(d // 2):
        angle = pos / theta ** (2 * i / d)
        a, b = v[i], v[i + d // 2]
        out[i] = a * math.cos(angle) - b * math.sin(angle)
        out[i + d // 2] = b * math.cos(angle) + a * math.sin(angle)
    return out


def naive_logits(model: LlamaForCausalLM, ids: list[int]) -> torch.Tensor:
    s, p = model.shape, dict(model.named_parameters())
    hd, groups = s.head_dim, s.num_attention_heads // s.num_key_value_heads
    x = p["model.embed_tokens.weight"][ids]
    for layer in range(s.num_hidden_layers):
        pre = f"model.layers.{layer}."
        h = naive_rms(x, p[pre + "input_layernorm.weight"], s.rms_norm_eps)
        q = h @ p[pre + "self_attn.q_proj.weight"].T
        k = h @ p[pre + "self_attn.k_proj.weight"].T
        v = h @ p[pre + "self_attn.v_proj.weight"].T
        heads = []
        for head in range(s.num_attention_heads):
            kv = head // groups  # query head -> the kv head it shares
            rows = []
            for t in range(len(ids)):
                qt = naive_rotate(q[t, head * hd:(head + 1) * hd], t, s.rope_theta)
                scores = torch.stack([naive_rotate(k[u, kv * hd:(kv + 1) * hd], u, s.rope_theta) @ qt / math.sqrt(hd)
                                      for u in range(t + 1)])
                weights = torch.softmax(scores, 0)
                rows.append(sum(weights[u] * v[u, kv * hd:(kv + 1) * hd] for u in range(t + 1)))
            heads.append(torch.stack(rows))
        x = x + torch.cat(heads, -1) @ p[pre + "self_attn.o_proj.weight"].T
        h = naive_rms(x, p[pre + "post_attention_layernorm.weight"], s.rms_norm_eps)
        gate = h @ p[pre + "mlp.gate_proj.weight"].T
        x = x + (gate * torch.sigmoid(gate) * (h @ p[pre + "mlp.up_proj.weight"].T)) @ p[pre + "mlp.down_proj.weight"].T
    x = naive_rms(x, p["model.norm.weight"], s.rms_norm_eps)
    return x @ p["model.embed_tokens.weight"].T


class ModelTest(unittest.TestCase):
    def setUp(self) -> None:
        torch.manual_seed(0)
        self.model = LlamaForCausalLM(SHAPE).double().eval()
        with torch.no_grad():  # non-trivial norm gains so a misplaced weight would show
            for name, p in self.model.named_parameters():
                if name.endswith("norm.weight"):
                    p.uniform_(0.5, 1.5)

    def test_matches_naive_derivation(self) -> None:
        ids = [3, 17, 5, 42, 0, 9, 9]
        with torch.no_grad():
            ours = self.model(torch.tensor([ids]))[0]
            ref = naive_logits(self.model, ids)
        # Not exact: like HF, the norms and rotary tables run in float32 even in a float64 model.
        self.assertLess((ours - ref).abs().max().item(), 1e-6)

    def test_causal(self) -> None:
        with torch.no_grad():
            a = self.model(torch.tensor([[1, 2, 3, 4, 5]]))
            b = self.model(torch.tensor([[1, 2, 3, 7, 8]]))
        self.assertLess((a[0, :3] - b[0, :3]).abs().max().item(), 1e-12)

    def test_hidden_states_readout(self) -> None:
        x = torch.tensor([[4, 5, 6]])
        with torch.no_grad():
            hs = self.model.hidden_states(x)
            self.assertEqual(len(hs), SHAPE.num_hidden_layers)
            self.assertTrue(torch.equal(self.model.readout(hs[-1]), self.model(x)))
            self.assertTrue(torch.equal(self.model.hidden_states(x, upto=2)[-1], hs[1]))

    def test_tied_head_not_saved(self) -> None:
        names = set(self.model.hf_state_dict())
        self.assertNotIn("lm_head.weight", names)
        self.assertIn("model.layers.2.self_attn.k_proj.weight", names)
        self.assertEqual(tuple(self.model.model.layers[0].self_attn.k_proj.weight.shape), (8, 16))


class LossTest(unittest.TestCase):
    """The task-row exit weighting (`--mix-exit-weights`) against the plain objective (the CE runs
    in float32, hence 5 places)."""

    def setUp(self) -> None:
        from pretrain import LossPlan, training_loss
        torch.manual_seed(0)
        self.model = LlamaForCausalLM(SHAPE).double()
        self.batch = torch.randint(0, SHAPE.vocab_size, (4, 9))
        self.plan, self.loss = LossPlan, training_loss

    def _ce(self, layer: int, rows: slice) -> torch.Tensor:
        h = self.model.hidden_states(self.batch[rows, :-1])[layer - 1]
        return F.cross_entropy(self.model.readout(h).reshape(-1, SHAPE.vocab_size), self.batch[rows, 1:].reshape(-1))

    def test_equal_weights_give_the_plain_objective(self) -> None:
        plain = self.plan([1, 2, 3], [0.2, 0.5, 1.0], 1.0)
        split = self.plan([1, 2, 3], [0.2, 0.5, 1.0], 1.0, [0.2, 0.5])
        gen = torch.Generator().manual_seed(0)
        a, parts_a = self.loss(self.model, self.batch, plain, gen, 2)
        b, parts_b = self.loss(self.model, self.batch, split, gen, 2)
        self.assertAlmostEqual(a.item(), b.item(), places=5)
        for x, y in zip(parts_a, parts_b):
            self.assertAlmostEqual(x, y, places=5)

    def test_mix_weights_apply_to_the_task_rows_only(self) -> None:
        # Task rows (the last one) read out at layer 2 with weight 3 and not at layer 1.
        split = self.plan([1, 2, 3], [0.2, 0.5, 1.0], 1.0, [0.0, 3.0])
        total, _ = self.loss(self.model, self.batch, split, torch.Generator().manual_seed(0), 1)
        corpus, task, f = slice(0, 3), slice(3, 4), 0.25
        expected = (0.2 * (1 - f) * self._ce(1, corpus) + 0.5 * (1 - f) * self._ce(2, corpus)
                    + 3.0 * f * self._ce(2, task) + self._ce(3, slice(0, 4)))
        self.assertAlmostEqual(total.item(), expected.item(), places=5)


    def test_answer_weight_reads_the_answer_turn_of_task_rows(self) -> None:
        # Ids 1, 2, 3 stand for <|bos|>, <|assistant|>, <|end|>: the task row's answer turn is
        # its positions 5..7 (content 7, 8 and the closing 3), so targets 4..6 (from positions 4..6).
        from pretrain import answer_loss
        self.batch[3] = torch.tensor([1, 10, 11, 12, 2, 7, 8, 3, 9])
        without = self.plan([1, 2, 3], [0.2, 0.5, 1.0], 1.0, [0.0, 3.0])
        with_answer = self.plan([1, 2, 3], [0.2, 0.5, 1.0], 1.0, [0.0, 3.0], answer_weight=2.0, answer_ids=(1, 2, 3))
        gen = lambda: torch.Generator().manual_seed(0)
        a, _ = self.loss(self.model, self.batch, without, gen(), 1)
        b, _ = self.loss(self.model, self.batch, with_answer, gen(), 1)
        h = self.model.hidden_states(self.batch[3:, :-1])[2][0, 4:7]
        ce = F.cross_entropy(self.model.readout(h), self.batch[3, 5:8])
        self.assertAlmostEqual(b.item() - a.item(), 2.0 * 0.25 * ce.item(), places=5)
        # A row with no answer turn adds nothing.
        row = torch.tensor([[1, 10, 11, 12, 13, 14, 3, 15, 16]])
        hidden = self.model.hidden_states(row[:, :-1])[2]
        self.assertEqual(answer_loss(self.model, hidden, row, with_answer).item(), 0.0)


class SafetensorsTest(unittest.TestCase):
    def test_round_trip_and_layout(self) -> None:
        tensors = {"b": torch.randn(3, 5).half(), "a": torch.randn(7).bfloat16(), "c": torch.randn(2, 2)}
        with tempfile.TemporaryDirectory() as d:
            path = Path(d) / "m.safetensors"
            safetensors_io.save(path, tensors, {"format": "pt"})
            blob = path.read_bytes()
            (n,) = struct.unpack("<Q", blob[:8])
            self.assertEqual((8 + n) % 8, 0)
            header = json.loads(blob[8:8 + n])
            self.assertEqual(list(header), sorted(header))
            self.assertEqual(header["a"]["data_offsets"], [0, 14])
            self.assertEqual(len(blob), 8 + n + 14 + 30 + 16)
            back = safetensors_io.load(path)
            for k, v in tensors.items():
                self.assertEqual(back[k].dtype, v.dtype)
                self.assertTrue(torch.equal(back[k], v))
            self.assertEqual([p.name for p in Path(d).iterdir()], ["m.safetensors"])  # no temp left


class InitFromTest(unittest.TestCase):
    def test_init_from_exported_folder(self) -> None:
        from pretrain import init_weights, save_hf_folder

        torch.manual_seed(1)
        src = LlamaForCausalLM(SHAPE)
        with tempfile.TemporaryDirectory() as d:
            folder, tok = Path(d) / "model", Path(d) / "tok"
            tok.mkdir()
            (tok / "tokenizer.json").write_text('{"a": 1}')
            save_hf_folder(folder, src, {"bos": 1, "eos": 2, "pad": 0}, "float16", tok)
            self.assertTrue((folder / "tokenizer.json").exists())
            dst = LlamaForCausalLM(SHAPE)
            init_weights(dst, folder, SHAPE, tok, torch.device("cpu"))
            for name, v in src.state_dict().items():  # the fp16 weights, widened back to fp32
                self.assertTrue(torch.equal(dst.state_dict()[name], v.half().float()), name)
            self.assertTrue(torch.equal(dst.head_weight, dst.model.embed_tokens.weight))
            other = LlamaShape(**{**SHAPE.to_dict(), "intermediate_size": 32})
            with self.assertRaises(SystemExit):
                init_weights(LlamaForCausalLM(other), folder, other, tok, torch.device("cpu"))
            (folder / "tokenizer.json").write_text('{"a": 2}')
            with self.assertRaises(SystemExit):
                init_weights(LlamaForCausalLM(SHAPE), folder, SHAPE, tok, torch.device("cpu"))


class DataTest(unittest.TestCase):
    def test_batches_depend_on_seed_and_step_only(self) -> None:
        a = training_batch_starts(1, 5, 10_000, 65, 4)
        self.assertTrue(np.array_equal(a, training_batch_starts(1, 5, 10_000, 65, 4)))
        self.assertFalse(np.array_equal(a, training_batch_starts(1, 6, 10_000, 65, 4)))

    def test_mixed_windows_start_at_a_sequence_and_fit(self) -> None:
        # bos = 1: sequences of 3..12 tokens; the last ones leave no whole window of 20.
        rng = np.random.default_rng(0)
        tokens = np.concatenate([np.r_[1, rng.integers(5, 9, size=n)] for n in rng.integers(2, 12, size=40)])
        starts = mix_batch_starts(7, 3, document_starts(tokens, 1), len(tokens), 20, 16)
        self.assertTrue(np.all(tokens[starts] == 1))
        self.assertTrue(np.all(starts <= len(tokens) - 20))
        self.assertTrue(np.array_equal(starts, mix_batch_starts(7, 3, document_starts(tokens, 1), len(tokens), 20, 16)))
        self.assertFalse(np.array_equal(starts, mix_batch_starts(7, 4, document_starts(tokens, 1), len(tokens), 20, 16)))
        with self.assertRaises(ValueError):
            mix_batch_starts(7, 3, document_starts(tokens, 1), len(tokens), len(tokens) + 1, 1)

    def test_heldout_windows_cover_each_target_once(self) -> None:
        starts = heldout_window_starts(1000, 64)
        targets = (starts[:, None] + np.arange(1, 65)).reshape(-1)
        self.assertEqual(len(targets), len(set(targets.tolist())))
        self.assertEqual(len(heldout_window_starts(1000, 64, 5)), 5)

    def test_byte_level_table_is_a_bijection(self) -> None:
        table = byte_level_table()
        self.assertEqual(sorted(table.values()), list(range(256)))
        self.assertEqual(table["Ġ"], 32)
        self.assertEqual(table["Ċ"], 10)

    def test_bigram_probabilities_sum_to_one(self) -> None:
        rng = np.random.default_rng(0)
        model = Bigram(rng.integers(0, 12, size=500), 12)
        for prev in (0, 5):
            total = np.exp(model.bigram_logprob(np.full(12, prev), np.arange(12))).sum()
            self.assertAlmostEqual(total, 1.0, places=9)
        unseen = Bigram(np.array([0, 1, 0, 1]), 4)
        self.assertAlmostEqual(np.exp(unseen.bigram_logprob(np.full(4, 3), np.arange(4))).sum(), 1.0, places=9)


if __name__ == "__main__":
    unittest.main()
