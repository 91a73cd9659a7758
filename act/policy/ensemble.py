"""Temporal ensembling of overlapping action chunks (ACT, Zhao et al. 2023), online and offline.

At time t the chunks predicted at times t - K + 1 ... t all plan a step for t. The executed step
is their weighted mean with w_i = exp(-m * i), i = 0 for the oldest chunk. Continuous fields
(points, scroll) are averaged directly; discrete fields are averaged as probability vectors and
the caller takes the argmax. Every field is a float tensor (B, K, ...) per chunk.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

Chunk = dict[str, torch.Tensor]


def ensemble_weights(coeff: float, chunk_size: int) -> torch.Tensor:
    """w_i = exp(-coeff * i) for i = 0 (oldest chunk) ... chunk_size - 1: (K,) float64."""
    return torch.exp(-coeff * torch.arange(chunk_size, dtype=torch.float64))


def _bcast(v: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """A (K,) weight vector shaped to broadcast over (B, K, ...)."""
    return v.to(like.device, like.dtype).reshape(1, -1, *([1] * (like.dim() - 2)))


class TemporalEnsembler:
    """Online ensembler: ``update(chunk)`` once per env step returns that step's ensembled fields.

    Keeps a running weighted mean of the K - 1 future steps (as LeRobot does), so each update is
    O(K) whatever the episode length. ``reset()`` at every episode start.
    """

    def __init__(self, coeff: float, chunk_size: int):
        self.coeff, self.chunk_size = coeff, chunk_size
        w = ensemble_weights(coeff, chunk_size)  # (K,) float64, summed before the cast
        self.weights, self.cum_weights = w.float(), torch.cumsum(w, 0).float()  # float32: MPS has no float64
        self.reset()

    def reset(self) -> None:
        self._avg: Chunk | None = None  # field -> (B, K - 1, ...) planned future steps
        self._count: torch.Tensor | None = None  # (K - 1,) chunks that planned each future step

    def update(self, chunk: Chunk) -> dict[str, torch.Tensor]:
        """Add the chunk planned now (fields (B, K, ...)); return the ensembled step for now (B, ...)."""
        k = next(iter(chunk.values())).shape[1]
        if k != self.chunk_size:
            raise ValueError(f"TemporalEnsembler: chunk has {k} steps, expected {self.chunk_size}")
        if self._avg is None or self._count is None:
            avg = {name: v.clone() for name, v in chunk.items()}
            count = torch.ones(k, dtype=torch.long)
        else:
            n = self._count  # (K - 1,) the new chunk is number n (0-based) to plan each of these steps
            w_old, w_new, w_sum = self.cum_weights[n - 1], self.weights[n], self.cum_weights[n]
            avg = {}
            for name, v in chunk.items():
                old = self._avg[name]  # (B, K - 1, ...)
                mean = (old * _bcast(w_old, old) + v[:, :-1] * _bcast(w_new, old)) / _bcast(w_sum, old)
                avg[name] = torch.cat((mean, v[:, -1:]), dim=1)  # (B, K, ...)
            count = torch.cat((n + 1, torch.ones(1, dtype=torch.long)))
        self._avg = {name: v[:, 1:] for name, v in avg.items()}
        self._count = count[1:]
        return {name: v[:, 0] for name, v in avg.items()}


def ensemble_offline(chunks: Sequence[Chunk], coeff: float) -> list[dict[str, torch.Tensor]]:
    """The direct computation: chunks[t] planned at step t -> ensembled step t for every t.

    Step t averages chunks[s][:, t - s] for max(0, t - K + 1) <= s <= t, oldest with weight 1.
    """
    if not chunks:
        return []
    k = next(iter(chunks[0].values())).shape[1]
    weights = ensemble_weights(coeff, k)
    out = []
    for t in range(len(chunks)):
        sources = range(max(0, t - k + 1), t + 1)  # oldest first
        w = weights[: len(sources)]
        step = {}
        for name in chunks[t]:
            planned = torch.stack([chunks[s][name][:, t - s] for s in sources], dim=0)  # (N, B, ...)
            wb = w.to(planned.device, planned.dtype).reshape(-1, *([1] * (planned.dim() - 1)))
            step[name] = (planned * wb).sum(0) / float(w.sum())
        out.append(step)
    return out
