"""Minimal safetensors writer and reader (no dependency on the ``safetensors`` package).

Format: 8-byte little-endian header length N, then N bytes of JSON
``{"name": {"dtype": "F16", "shape": [...], "data_offsets": [begin, end]}, ..., "__metadata__": {...}}``,
then the raw little-endian tensor bytes; offsets are relative to the end of the header.
The header is padded with spaces to a multiple of 8 bytes so that tensor data stays aligned.
"""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path
from typing import Optional

import numpy as np
import torch

# torch dtype -> (safetensors name, numpy dtype used to get the raw bytes)
_DTYPES: dict[torch.dtype, str] = {
    torch.float32: "F32",
    torch.float16: "F16",
    torch.bfloat16: "BF16",
    torch.int64: "I64",
    torch.int32: "I32",
}
_NAMES = {v: k for k, v in _DTYPES.items()}


def _tensor_bytes(t: torch.Tensor) -> bytes:
    """Raw little-endian bytes; bfloat16 goes through int16 because numpy has no bfloat16."""
    t = t.detach().contiguous().cpu()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().astype("<i2").tobytes()
    return t.numpy().astype(t.numpy().dtype.newbyteorder("<")).tobytes()


def encode(tensors: dict[str, torch.Tensor], metadata: Optional[dict[str, str]] = None) -> bytes:
    """Serialises tensors (sorted by name) into one safetensors byte string."""
    header: dict[str, object] = {}
    blobs: list[bytes] = []
    offset = 0
    for name in sorted(tensors):
        t = tensors[name]
        if t.dtype not in _DTYPES:
            raise ValueError(f"{name}: dtype {t.dtype} is not supported")
        data = _tensor_bytes(t)
        header[name] = {"dtype": _DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    raw = json.dumps(header, sort_keys=True, separators=(",", ":")).encode("utf-8")
    raw += b" " * ((8 - (8 + len(raw)) % 8) % 8)
    return struct.pack("<Q", len(raw)) + raw + b"".join(blobs)


def write_atomic(path: Path, data: bytes) -> None:
    """Writes to a temporary file beside `path`, fsyncs, then renames over it, so a crash
    leaves either the old file or the new one, never half of one."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def save(path: Path, tensors: dict[str, torch.Tensor], metadata: Optional[dict[str, str]] = None) -> None:
    write_atomic(path, encode(tensors, metadata))


def load(path: Path) -> dict[str, torch.Tensor]:
    """Reads a safetensors file written by anyone (used to check our own files round-trip)."""
    blob = Path(path).read_bytes()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8 : 8 + n])
    header.pop("__metadata__", None)
    base = 8 + n
    out: dict[str, torch.Tensor] = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        dtype = _NAMES[info["dtype"]]
        raw = blob[base + begin : base + end]
        if dtype == torch.bfloat16:
            t = torch.from_numpy(np.frombuffer(raw, dtype="<i2").copy()).view(torch.bfloat16)
        else:
            np_dtype = torch.empty(0, dtype=dtype).numpy().dtype.newbyteorder("<")
            t = torch.from_numpy(np.frombuffer(raw, dtype=np_dtype).astype(np_dtype.newbyteorder("=")))
        out[name] = t.reshape(info["shape"])
    return out
