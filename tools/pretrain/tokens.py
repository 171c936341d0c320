"""Token files and the windows cut from them, shared by pretraining and the n-gram baselines.

A token file is a flat little-endian uint16 array written by tokenizeCorpus.mjs:
``<|bos|> doc <|eos|> <|bos|> doc <|eos|> ...``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def load_tokens(path: Path) -> np.ndarray:
    """Memory-maps a uint16 token file (read-only; nothing is loaded until used)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: token file not found (run tools/pretrain/tokenizeCorpus.mjs first)")
    if path.stat().st_size % 2:
        raise ValueError(f"{path}: odd size, not a uint16 token file")
    return np.memmap(path, dtype="<u2", mode="r")


def training_batch_starts(seed: int, step: int, n_tokens: int, window: int, batch: int) -> np.ndarray:
    """Start offsets of the `batch` random windows of step `step`.

    The generator is seeded by (seed, step), so the batch order is fixed by the seed alone and a
    resumed run sees exactly the batches an uninterrupted one would have seen.
    """
    rng = np.random.default_rng([seed, step])
    return rng.integers(0, n_tokens - window, size=batch)


def mix_batch_starts(seed: int, step: int, sequence_starts: np.ndarray, n_tokens: int, window: int, rows: int) -> np.ndarray:
    """Start offsets of the `rows` mixed-in windows of step `step`: each begins at a sequence start
    (a <|bos|>), as a prompt does, and runs on into the following sequences. Seeded by
    (seed, step, 1): independent of the main rows, and fixed by the seed as they are."""
    usable = sequence_starts[sequence_starts <= n_tokens - window]
    if rows > 0 and len(usable) == 0:
        raise ValueError(f"no sequence start leaves a whole window of {window} tokens in the mix file")
    rng = np.random.default_rng([seed, step, 1])
    return usable[rng.integers(0, len(usable), size=rows)]


def heldout_window_starts(n_tokens: int, ctx: int, count: int | None = None) -> np.ndarray:
    """Starts of non-overlapping held-out windows of ctx+1 tokens (stride ctx, so every token
    after the first is a target exactly once). With `count`, an evenly spaced fixed subset."""
    starts = np.arange(0, n_tokens - ctx - 1, ctx)
    if count is not None and count < len(starts):
        starts = starts[np.linspace(0, len(starts) - 1, count).round().astype(np.int64)]
    return starts


def gather_windows(tokens: np.ndarray, starts: np.ndarray, length: int) -> np.ndarray:
    """(len(starts), length) int64 array of token windows."""
    return np.stack([np.asarray(tokens[s : s + length], dtype=np.int64) for s in starts])


def document_starts(tokens: np.ndarray, bos_id: int) -> np.ndarray:
    """Positions of every <|bos|> (the first token of each document)."""
    return np.flatnonzero(np.asarray(tokens) == bos_id)
