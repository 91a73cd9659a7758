"""Reading by sight (``reading: rendered``): screen cells matched against the instruction's spans
drawn in the UI font, so the pointer can find a label no training episode showed.

The closed-vocabulary reading head names each cell's word among instruction_vocab; a word outside it
is <unk>. Here the instruction itself says what to look for: each span ("OK", "memo_26.png") is
rendered (``act.spaces.spans.render_span``) and encoded by a small convnet, every image cell scores
itself against each span and against "none", and the seek head picks the span a step looks for.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import torch
from torch import nn

from act.spaces.spans import SPAN_IMAGE, instruction_spans, render_span
from act.spaces.vocab import decode_bytes


class SpanEncoder(nn.Module):
    """Rendered spans (N, H, W), ink in [0, 1] -> (N, D). Strided convs keep where each glyph is
    (a flatten, not a pool), so "save" and "vase" differ."""

    def __init__(self, dim: int):
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(1, 32, 3, padding=1), nn.ReLU()]
        for cin, cout in ((32, 64), (64, 64), (64, 64)):
            layers += [nn.Conv2d(cin, cout, 3, stride=2, padding=1), nn.ReLU()]
        self.convs = nn.Sequential(*layers)
        h, w = SPAN_IMAGE
        self.out = nn.Linear(64 * math.ceil(h / 8) * math.ceil(w / 8), dim)

    def forward(self, spans: torch.Tensor) -> torch.Tensor:
        return self.out(self.convs(spans[:, None]).flatten(1))  # (N, D)


class SpanSeek(nn.Module):
    """Which span a step looks for: log P over [none, spans 1..J], (B, K, 1 + J); "none" and padding
    spans get log 0, so the pointer's sum over spans of P(seek) P(cell shows) is over real ones."""

    def __init__(self, dim: int):
        super().__init__()
        self.query, self.key = nn.Linear(dim, dim), nn.Linear(dim, dim)

    def forward(self, h: torch.Tensor, real: torch.Tensor, memory: torch.Tensor) -> torch.Tensor:
        scores = self.query(h) @ self.key(memory).transpose(1, 2) / math.sqrt(h.shape[-1])  # (B, K, J)
        logp = scores.masked_fill(~real.bool()[:, None, :], -1e9).log_softmax(-1)
        return torch.cat((torch.full_like(logp[..., :1], -1e9), logp), -1)  # (B, K, 1 + J)


@lru_cache(maxsize=4096)
def _spans(real: tuple[int, ...]) -> tuple[tuple[int, int, str], ...]:
    return tuple(instruction_spans(decode_bytes(real), len(real)))


def row_spans(ids: list[int]) -> tuple[tuple[int, int, str], ...]:
    """The spans of one row of instruction byte ids (padding dropped), as ``span_batch`` numbers them
    1..J: (first byte, end byte, word) each."""
    return _spans(tuple(i for i in ids if i))


def span_words_of(ids: list[int]) -> list[str]:
    """The words of ``row_spans``."""
    return [w for _, _, w in row_spans(ids)]


def span_batch(ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Instruction byte ids (B, L') -> the distinct spans' images (U, H, W), which of them each row's
    spans are (B, J) long, real (B, J) long (1 a span, 0 padding) and pool (B, J, L') (the mean over
    each span's bytes), J >= 1. A word in many rows ("Click", "OK") is drawn and encoded once."""
    rows = [row_spans(row) for row in ids.tolist()]
    b, length, j = ids.shape[0], ids.shape[1], max(1, max(len(s) for s in rows))
    which = np.zeros((b, j), np.int64)
    real = np.zeros((b, j), np.int64)
    pool = np.zeros((b, j, length), np.float32)
    distinct: dict[str, int] = {}
    for r, spans in enumerate(rows):
        real[r, : len(spans)] = 1
        for k, (start, end, word) in enumerate(spans):
            which[r, k] = distinct.setdefault(word, len(distinct))
            pool[r, k, start:end] = 1.0 / (end - start)
    images = (
        np.stack([render_span(w) for w in distinct]) if distinct else np.zeros((1, *SPAN_IMAGE), np.float32)
    )
    dev = ids.device
    return tuple(torch.from_numpy(a).to(dev) for a in (images, which, real, pool))  # type: ignore[return-value]
