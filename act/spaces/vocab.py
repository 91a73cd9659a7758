"""Vocabularies: key tokens, instruction words and intent labels, saved beside datasets and policies."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

PAD, UNK = "<pad>", "<unk>"

NAMED_KEYS = (
    "enter",
    "tab",
    "backspace",
    "escape",
    "delete",
    "space",
    "up",
    "down",
    "left",
    "right",
    "home",
    "end",
    "page_up",
    "page_down",
)
COMMON_CHORDS = tuple(f"ctrl+{c}" for c in "acfsvxyz") + ("ctrl+enter", "shift+tab", "alt+f4")
DEFAULT_KEYS = tuple(chr(c) for c in range(32, 127)) + NAMED_KEYS + COMMON_CHORDS

_WORD = re.compile(r"[a-z0-9]+|[^\sa-z0-9]")

# The instruction encoder's two vocabularies: "words" fits a Vocabulary of the words a dataset uses
# (an unseen word is <unk>); "chars" is fixed, one id per UTF-8 byte, so any string has ids.
INSTRUCTION_ENCODINGS = ("words", "chars")
BYTE_OFFSET = 2  # byte b has id b + 2; ids 0 (padding) and 1 (unknown) mean what they do in a Vocabulary
NUM_BYTE_IDS = 256 + BYTE_OFFSET
MAX_INSTRUCTION_BYTES = 192  # chars: instructions are cut to this many bytes (synthui's are under 100)


def tokenize(text: str) -> list[str]:
    """Lower-case words, numbers and single punctuation marks: ``'Click "OK".'`` -> click " ok " ."""
    return _WORD.findall(text.lower())


def encode_bytes(text: str, max_len: int = MAX_INSTRUCTION_BYTES) -> list[int]:
    """The byte-level ids of ``text`` (UTF-8, case kept), padded (or cut) to ``max_len``."""
    ids = [b + BYTE_OFFSET for b in text.encode("utf-8")][:max_len]
    return ids + [0] * (max_len - len(ids))


def decode_bytes(ids: Iterable[int]) -> str:
    """``encode_bytes`` undone: padding and the unknown id are dropped, a cut character is replaced."""
    data = bytes(int(i) - BYTE_OFFSET for i in ids if BYTE_OFFSET <= int(i) < NUM_BYTE_IDS)
    return data.decode("utf-8", "replace")


def byte_words(ids: Sequence[int], vocab: Vocabulary) -> list[int]:
    """Per byte id of an instruction (``encode_bytes``), the ``vocab`` id of the word it belongs to:
    0 for padding, spaces and punctuation, 1 (unknown) inside a word ``vocab`` lacks. Lets a
    byte-level policy copy instruction words, as the seek head does under the "words" encoding."""
    ids = [int(i) for i in ids]
    n = next((j for j in range(len(ids) - 1, -1, -1) if ids[j]), -1) + 1  # bytes before the padding
    text = bytes(i - BYTE_OFFSET for i in ids[:n] if BYTE_OFFSET <= i < NUM_BYTE_IDS).decode(
        "utf-8", "replace"
    )
    # Lower-casing can change a character's length ("K" Kelvin: 3 bytes -> "k": 1; "İ" -> 2 chars), so
    # words are found in the lower-cased text and placed by the bytes of the characters they came from.
    lower, source, offsets = "", [], [0]  # per lower-cased char its original char; byte offsets
    for i, ch in enumerate(text):
        lower += ch.lower()
        source += [i] * len(ch.lower())
        offsets.append(offsets[-1] + len(ch.encode("utf-8")))
    out = [0] * len(ids)
    for m in _WORD.finditer(lower):
        if not m.group().isalnum():
            continue
        start, end = offsets[source[m.start()]], min(offsets[source[m.end() - 1] + 1], n)
        out[start:end] = [vocab.id(m.group())] * (end - start)
    return out


@dataclass
class Vocabulary:
    """Token <-> id. Id 0 is padding, id 1 is unknown; unknown tokens map to 1."""

    tokens: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        tokens = [t for t in self.tokens if t not in (PAD, UNK)]
        self.tokens = [PAD, UNK, *dict.fromkeys(tokens)]
        self._ids = {t: i for i, t in enumerate(self.tokens)}

    @classmethod
    def build(cls, items: Iterable[str], base: Iterable[str] = ()) -> Vocabulary:
        """``base`` tokens first (stable ids), then unseen ``items`` sorted, so builds are repeatable."""
        base = list(base)
        seen = set(base)
        return cls(base + sorted({t for t in items if t not in seen}))

    def __len__(self) -> int:
        return len(self.tokens)

    def __contains__(self, token: str) -> bool:
        return token in self._ids

    def id(self, token: str | None) -> int:
        if token is None:
            return 0
        return self._ids.get(token, 1)

    def token(self, index: int) -> str:
        return self.tokens[index] if 0 <= index < len(self.tokens) else UNK

    def encode(self, tokens: Iterable[str], max_len: int) -> list[int]:
        """Ids padded (or cut) to ``max_len``."""
        ids = [self.id(t) for t in tokens][:max_len]
        return ids + [0] * (max_len - len(ids))

    def to_json(self) -> list[str]:
        return list(self.tokens)
