"""Turns token ids back into text for a byte-level BPE ``tokenizer.json``, with no tokenizers package.

Byte-level BPE spells every byte as one printable character (GPT-2's table: printable Latin-1
bytes stand for themselves, the other 68 are shifted to U+0100 onwards in byte order). Decoding
concatenates the token strings, maps the characters back to bytes and decodes UTF-8. Added
(special) tokens are literal text and are kept or dropped as asked.
"""

from __future__ import annotations

import json
from pathlib import Path


def byte_level_table() -> dict[str, int]:
    """Character -> byte, the inverse of the byte-level alphabet."""

    def printable(b: int) -> bool:
        return 0x21 <= b <= 0x7E or 0xA1 <= b <= 0xAC or 0xAE <= b <= 0xFF

    table: dict[str, int] = {}
    shifted = 0
    for b in range(256):
        if printable(b):
            table[chr(b)] = b
        else:
            table[chr(256 + shifted)] = b
            shifted += 1
    return table


class ByteLevelDecoder:
    """Decodes ids with the vocabulary of one tokenizer.json."""

    def __init__(self, tokenizer_json: Path) -> None:
        spec = json.loads(Path(tokenizer_json).read_text(encoding="utf-8"))
        decoder = spec.get("decoder") or {}
        if decoder.get("type") != "ByteLevel":
            raise ValueError(f"{tokenizer_json}: decoder is {decoder.get('type')!r}, not ByteLevel")
        self.id_to_token: dict[int, str] = {i: t for t, i in spec["model"]["vocab"].items()}
        self.special: dict[int, str] = {}
        for added in spec.get("added_tokens", []):
            self.id_to_token[added["id"]] = added["content"]
            if added.get("special"):
                self.special[added["id"]] = added["content"]
        self.to_byte = byte_level_table()

    def token_id(self, token: str) -> int:
        for i, t in self.id_to_token.items():
            if t == token:
                return i
        raise KeyError(f"no token {token!r}")

    def decode(self, ids: list[int], skip_special: bool = False) -> str:
        out: list[str] = []
        pending = bytearray()
        for i in ids:
            if i in self.special:
                # Special tokens are not byte-level spelled; flush the bytes before them.
                out.append(pending.decode("utf-8", errors="replace"))
                pending = bytearray()
                if not skip_special:
                    out.append(self.special[i])
                continue
            tok = self.id_to_token.get(i)
            if tok is None:
                raise KeyError(f"token id {i} is not in the vocabulary")
            pending.extend(self.to_byte[ch] for ch in tok)
        out.append(pending.decode("utf-8", errors="replace"))
        return "".join(out)

    @property
    def vocab_size(self) -> int:
        return max(self.id_to_token) + 1
