"""ACT for computer UIs: a CVAE transformer over image + instruction tokens with hybrid action heads.

Read top to bottom: transformer layers; the pointer head; ``ACT``, the network (tensors in,
tensors out); ``ACTPolicy``, what users hold: losses (``forward``), inference (``predict_chunk``
never ensembles, ``select_action`` does when ``temporal_ensemble_coeff`` is set), ``explain``,
and ``save_pretrained`` / ``from_pretrained`` (torch + safetensors + json only).

Shapes: B batch, K chunk size, L instruction tokens, C image cells (h * w), S encoder tokens, D dim_model.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from act.policy.backbones import build_backbone, sine_position_1d, sine_position_2d
from act.policy.configuration_act import CONFIG_NAME, WEIGHTS_NAME, ACTConfig
from act.policy.errors import PolicyLoadError, PolicyNotFoundError
from act.policy.execution import build_executor, from_config
from act.policy.explain import Explanation
from act.policy.rendered_reading import SpanEncoder, SpanSeek, span_batch, span_words_of
from act.recording.schema import POINTER_KINDS
from act.spaces.action_space import ActionSpace
from act.spaces.copy import ERASES, RESET, TYPES, key_effect, next_typed_count
from act.spaces.image import resize_frame
from act.spaces.spans import OTHER_TEXT
from act.spaces.vocab import (
    BYTE_OFFSET,
    MAX_INSTRUCTION_BYTES,
    NUM_BYTE_IDS,
    UNK,
    Vocabulary,
    byte_words,
    encode_bytes,
    tokenize,
)

PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle")
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


class WeightsFormatError(PolicyLoadError):
    """A weights file that is not safetensors (pickles are refused: they can run code on load)."""


# --------------------------------------------------------------------------------------------- layers


class Attention(nn.Module):
    """Multi-head attention on F.scaled_dot_product_attention (fast on CPU, CUDA and MPS).

    No dropout on the attention weights: on CPU it forces the slow math path (a (B, h, T, S) random
    mask per layer); the layers drop out the attention output instead.
    """

    def __init__(self, dim: int, n_heads: int):
        super().__init__()
        self.n_heads = n_heads
        self.q, self.k, self.v, self.out = (nn.Linear(dim, dim) for _ in range(4))

    def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None = None):
        """q (B, T, D); k, v (B, S, D); mask (B, 1, 1, S) bool, True = attend -> (B, T, D)."""
        b, t, d = q.shape
        h = self.n_heads
        q = self.q(q).view(b, t, h, d // h).transpose(1, 2)  # (B, h, T, D/h)
        k = self.k(k).view(b, -1, h, d // h).transpose(1, 2)  # (B, h, S, D/h)
        v = self.v(v).view(b, -1, h, d // h).transpose(1, 2)  # (B, h, S, D/h)
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)  # (B, h, T, D/h)
        return self.out(y.transpose(1, 2).reshape(b, t, d))


class Dropout(nn.Dropout):
    """nn.Dropout with the mask drawn by ``uniform_`` on the CPU: same distribution, and a faster forward
    plus backward than bernoulli_'s (docs/experiments.md#policy-timings). Elsewhere (CUDA's fused
    kernel) it is nn.Dropout."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0 or x.device.type != "cpu" or self.p >= 1:
            return super().forward(x)
        keep = torch.empty_like(x).uniform_().ge_(self.p).mul_(1 / (1 - self.p))  # 0 or 1 / (1 - p)
        return x * keep


class FeedForward(nn.Sequential):
    def __init__(self, dim: int, hidden: int, dropout: float):
        super().__init__(nn.Linear(dim, hidden), nn.ReLU(), Dropout(dropout), nn.Linear(hidden, dim))


class EncoderLayer(nn.Module):
    """DETR/ACT encoder layer: position embeddings are added to queries and keys, not values."""

    def __init__(self, c: ACTConfig):
        super().__init__()
        self.pre_norm = c.pre_norm
        self.attn = Attention(c.dim_model, c.n_heads)
        self.mlp = FeedForward(c.dim_model, c.dim_feedforward, c.dropout)
        self.norm1, self.norm2 = nn.LayerNorm(c.dim_model), nn.LayerNorm(c.dim_model)
        self.drop = Dropout(c.dropout)

    def forward(self, x: torch.Tensor, pos: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        if self.pre_norm:
            h = self.norm1(x)
            x = x + self.drop(self.attn(h + pos, h + pos, h, mask))
            return x + self.drop(self.mlp(self.norm2(x)))
        x = self.norm1(x + self.drop(self.attn(x + pos, x + pos, x, mask)))
        return self.norm2(x + self.drop(self.mlp(x)))


class DecoderLayer(nn.Module):
    """DETR/ACT decoder layer: self-attention over the queries, cross-attention to the encoder memory."""

    def __init__(self, c: ACTConfig):
        super().__init__()
        self.pre_norm = c.pre_norm
        self.self_attn = Attention(c.dim_model, c.n_heads)
        self.cross_attn = Attention(c.dim_model, c.n_heads)
        self.mlp = FeedForward(c.dim_model, c.dim_feedforward, c.dropout)
        self.norm1, self.norm2, self.norm3 = (nn.LayerNorm(c.dim_model) for _ in range(3))
        self.drop = Dropout(c.dropout)

    def forward(self, x, query_pos, memory, memory_pos, mask):  # x (B, T, D), memory (B, S, D)
        if self.pre_norm:
            h = self.norm1(x)
            x = x + self.drop(self.self_attn(h + query_pos, h + query_pos, h))
            h = self.norm2(x)
            x = x + self.drop(self.cross_attn(h + query_pos, memory + memory_pos, memory, mask))
            return x + self.drop(self.mlp(self.norm3(x)))
        x = self.norm1(x + self.drop(self.self_attn(x + query_pos, x + query_pos, x)))
        x = self.norm2(x + self.drop(self.cross_attn(x + query_pos, memory + memory_pos, memory, mask)))
        return self.norm3(x + self.drop(self.mlp(x)))


class Encoder(nn.Module):
    def __init__(self, c: ACTConfig, n_layers: int):
        super().__init__()
        self.layers = nn.ModuleList(EncoderLayer(c) for _ in range(n_layers))
        self.norm = nn.LayerNorm(c.dim_model) if c.pre_norm else nn.Identity()

    def forward(self, x: torch.Tensor, pos: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x, pos, mask)
        return self.norm(x)  # (B, S, D)


class Decoder(nn.Module):
    def __init__(self, c: ACTConfig):
        super().__init__()
        self.layers = nn.ModuleList(DecoderLayer(c) for _ in range(c.n_decoder_layers))
        self.norm = nn.LayerNorm(c.dim_model)

    def forward(self, x, query_pos, memory, memory_pos, mask) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x, query_pos, memory, memory_pos, mask)
        return self.norm(x)  # (B, T, D)


POINT_OCTAVES = 8  # drag_from_start: sines and cosines of a point at this many octaves


def point_features(point: torch.Tensor) -> torch.Tensor:
    """Points (..., 2) in [0, 1] -> (..., 4 * POINT_OCTAVES) sines and cosines of x and y at octaves
    1, 2, 4, ... of a half turn: a smooth code a linear layer can turn into "this row, that column"."""
    freqs = 2.0 ** torch.arange(POINT_OCTAVES, device=point.device, dtype=point.dtype) * math.pi
    angles = point[..., None] * freqs  # (..., 2, n)
    return torch.cat((angles.sin(), angles.cos()), -1).flatten(-2)  # (..., 4n)


def _mlp(dim: int, out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(dim, dim), nn.ReLU(), nn.Linear(dim, out))


class Reading(NamedTuple):
    """What the pointer needs to find a word: the reading head's logits per image cell (B, C, words),
    and the instruction's token ids (B, L) with their encoder states (B, L, D) (None when pooled)."""

    logits: torch.Tensor
    words: torch.Tensor | None = None
    word_memory: torch.Tensor | None = None


class CellSide(NamedTuple):
    """``PointerHead.cell_side``: each cell's key (B, C, D) and, with a reading, the reading head's
    P(cell shows word) (B, C, words), else None."""

    keys: torch.Tensor
    shows: torch.Tensor | None


class Seek(nn.Module):
    """Which word a step looks for: log P(w | step) over the instruction vocabulary, (B, K, words).

    A gated mixture of a classifier over the vocabulary and a *copy* of one of the instruction's own
    words (attention from the step over the encoded instruction tokens): "click Send" -> seek "send"
    needs only to learn which instruction word names the target, not a table of every label.
    """

    def __init__(self, dim: int, num_words: int):
        super().__init__()
        self.vocab = nn.Linear(dim, num_words)
        self.query, self.key = nn.Linear(dim, dim), nn.Linear(dim, dim)
        self.gate = nn.Linear(dim, 1)

    def forward(
        self, h: torch.Tensor, words: torch.Tensor | None = None, word_memory: torch.Tensor | None = None
    ) -> torch.Tensor:
        logp = self.vocab(h).log_softmax(-1)  # (B, K, words)
        if words is None or words.shape[1] == 0:
            return logp
        scores = self.query(h) @ self.key(word_memory).transpose(1, 2) / math.sqrt(h.shape[-1])  # (B, K, L)
        real = (words != 0)[:, None, :]  # (B, 1, L)
        att = scores.masked_fill(~real, -1e9).softmax(-1) * real  # (B, K, L); all-padding rows -> 0
        copy = torch.zeros_like(logp).scatter_add(-1, words[:, None, :].expand_as(att), att)  # (B, K, words)
        g = torch.sigmoid(self.gate(h))  # (B, K, 1): share of the copy
        return torch.log(g * copy + (1 - g) * logp.exp() + 1e-9)


class PointerHead(nn.Module):
    """Where a step points, as (x, y) in [0, 1] of the image.

    ``heatmap``: score every image cell against the step's hidden state (cross-entropy over cells),
    then regress the offset inside the cell (L1); this does not average between two buttons.
    ``regression``: (x, y) straight from the hidden state with L1, as ACT does for joints.
    Cell (i, j) covers image pixels [i * stride, (i + 1) * stride) x [j * stride, (j + 1) * stride).
    """

    def __init__(
        self,
        dim: int,
        mode: str,
        grid: tuple[int, int],
        stride: int,
        image_size: tuple[int, int],
        num_words: int = 0,
        rendered: bool = False,
    ):
        super().__init__()
        self.mode, self.grid = mode, grid
        if mode == "heatmap":
            self.query, self.key = nn.Linear(dim, dim), nn.Linear(dim, dim)
            self.offset_mlp = _mlp(dim, 2)
            # the word (rendered: the instruction span) a step looks for
            self.seek = SpanSeek(dim) if rendered else Seek(dim, num_words) if num_words else None
        else:
            self.mlp = _mlp(dim, 2)
            self.seek = None
        cells = torch.tensor([image_size[1] / stride, image_size[0] / stride])  # cells per unit of (x, y)
        self.register_buffer("cells_per_unit", cells, persistent=False)
        image_wh = torch.tensor([image_size[1], image_size[0]], dtype=torch.float32)
        self.register_buffer("image_wh", image_wh, persistent=False)

    def to_cell(self, point: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """point (..., 2) in [0, 1] -> cell index (...) long, offset (..., 2) in [0, 1] inside it."""
        u = point * self.cells_per_unit  # (..., 2) in cell units
        cx = u[..., 0].floor().clamp(0, self.grid[1] - 1)
        cy = u[..., 1].floor().clamp(0, self.grid[0] - 1)
        offset = (u - torch.stack((cx, cy), -1)).clamp(0, 1)
        return (cy * self.grid[1] + cx).long(), offset

    def from_cell(self, cell: torch.Tensor, offset: torch.Tensor) -> torch.Tensor:
        """cell (...) long, offset (..., 2) -> point (..., 2) in [0, 1]."""
        xy = torch.stack((cell % self.grid[1], cell // self.grid[1]), -1).to(offset.dtype)
        return ((xy + offset) / self.cells_per_unit).clamp(0, 1)

    def logits(
        self, h: torch.Tensor, memory: torch.Tensor, memory_pos: torch.Tensor, read: Reading | None = None
    ) -> torch.Tensor:
        """h (B, K, D), image memory (B, C, D) -> cell scores (B, K, C).

        With ``read`` (the reading head's output) and a ``seek`` module, each step's scores also get
        log sum_w P(step seeks w) P(cell shows w): a cell showing the sought word wins.
        """
        return self.score(h, self.cell_side(memory, memory_pos, read), read)

    def cell_side(self, memory: torch.Tensor, memory_pos: torch.Tensor, read: Reading | None) -> CellSide:
        """What ``logits`` computes per cell, whatever the step: its key, and what it shows."""
        shows = None if read is None or self.seek is None else read.logits.softmax(-1)  # (B, C, words)
        return CellSide(self.key(memory + memory_pos), shows)  # keys (B, C, D)

    def score(self, h: torch.Tensor, cells: CellSide, read: Reading | None) -> torch.Tensor:
        """``logits`` from step states (B, K, D) and a ``cell_side`` -> (B, K, C)."""
        q = self.query(h)
        scores = q @ cells.keys.transpose(1, 2) / math.sqrt(q.shape[-1])  # (B, K, C)
        if cells.shows is None:
            return scores
        seek = self.seek(h, read.words, read.word_memory).exp()  # (B, K, words)
        # sum_w P(seek w) P(shows w) as one batched matmul, not a (B, K, C, words) logsumexp (a large
        # share of a CPU step: docs/experiments.md#policy-timings). log 1e-9 bounds "matches nothing".
        return scores + torch.log(seek @ cells.shows.transpose(1, 2) + 1e-9)  # (B, K, C)

    def offset(self, h: torch.Tensor, memory: torch.Tensor, cell: torch.Tensor) -> torch.Tensor:
        """The in-cell offset (B, K, 2) in [0, 1], read from the step state and the chosen cell's token."""
        m = memory.gather(1, cell[..., None].expand(-1, -1, memory.shape[-1]))  # (B, K, D)
        return torch.sigmoid(self.offset_mlp(h + m))

    def predict(self, h, memory, memory_pos, read=None) -> tuple[torch.Tensor, torch.Tensor]:
        """-> point (B, K, 2), probability of the chosen cell (B, K) (1 for regression)."""
        if self.mode == "regression":
            point = torch.sigmoid(self.mlp(h))
            return point, torch.ones(point.shape[:-1], device=point.device)
        prob, cell = self.logits(h, memory, memory_pos, read).softmax(-1).max(-1)  # (B, K), (B, K)
        return self.from_cell(cell, self.offset(h, memory, cell)), prob

    def losses(
        self,
        h,
        memory,
        memory_pos,
        target,
        mask,
        prefix: str,
        box=None,
        read=None,
        weight=None,
        later_grad=None,
    ) -> tuple[dict, dict]:
        """Masked losses and metrics against target (B, K, 2); mask (B, K) bool marks the steps that point;
        ``weight`` (K,) weighs the loss by chunk position (metrics stay plain means). ``later_grad``:
        the share of steps 1..'s gradient that reaches what is computed per cell, whatever the step
        (the memory, the reading, the cells' keys): ``chunk_encoder_grad``; None = all of it.

        ``box`` (B, K, 4): the aimed-at element (x0, y0, x1, y1) normalised, -1 where unknown; adds
        ``hit_{prefix}_now``, how often the step executed now (chunk position 0) lands inside it.
        """
        cell_t, offset_t = self.to_cell(target)
        lmask = mask if weight is None else mask * weight  # (B, K)
        if self.mode == "regression":
            pred = torch.sigmoid(self.mlp(h))  # (B, K, 2)
            losses = {prefix: _masked_mean((pred - target).abs().sum(-1), lmask)}
            pred = pred.detach()
        else:
            if later_grad is None:
                logits = self.logits(h, memory, memory_pos, read)  # (B, K, C)
                offset = self.offset(h, memory, cell_t)  # (B, K, 2) in the teacher-forced cell
            else:  # the cell side once; steps 1.. score against a copy whose gradient is scaled
                cells = self.cell_side(memory, memory_pos, read)
                later = _scale_grad((cells, read, memory), later_grad)
                logits = torch.cat([self.score(h[:, :1], cells, read), self.score(h[:, 1:], *later[:2])], 1)
                offset = torch.cat(
                    [
                        self.offset(h[:, :1], memory, cell_t[:, :1]),
                        self.offset(h[:, 1:], later[2], cell_t[:, 1:]),
                    ],
                    1,
                )
            l1 = (offset - offset_t).abs().sum(-1)  # (B, K)
            losses = {
                prefix: _cross_entropy(logits, cell_t, lmask),
                f"{prefix}_offset": _masked_mean(l1, lmask),
            }
            with torch.no_grad():
                cell = logits.argmax(-1)  # (B, K)
                pred = self.from_cell(cell, self.offset(h, memory, cell))
        err = ((pred - target) * self.image_wh).norm(dim=-1)  # (B, K) in image pixels
        metrics = {
            f"acc_{prefix}_cell": _masked_mean((self.to_cell(pred)[0] == cell_t).float(), mask),
            f"{prefix}_err_px": _masked_mean(err, mask),
        }
        if box is not None:
            inside = point_in_box(pred[:, 0], box[:, 0])  # (B,) the step executed now
            metrics[f"hit_{prefix}_now"] = _masked_mean(inside.float(), mask[:, 0] & (box[:, 0, 0] >= 0))
        return losses, metrics


class CopyHead(nn.Module):
    """Which instruction character a step types when its key is COPY: scores over the instruction's
    byte positions, from the step state against each byte's encoder state plus its position."""

    def __init__(self, dim: int):
        super().__init__()
        self.query, self.key = nn.Linear(dim, dim), nn.Linear(dim, dim)

    def forward(self, h: torch.Tensor, memory: torch.Tensor, pos: torch.Tensor, ids: torch.Tensor):
        """h (B, K, D); instruction memory (B, L, D), its positions (1, L, D), ids (B, L) -> (B, K, L),
        padding scored -1e9."""
        scores = self.query(h) @ self.key(memory + pos).transpose(1, 2) / math.sqrt(h.shape[-1])  # (B, K, L)
        return scores.masked_fill((ids == 0)[:, None, :], -1e9)


MAX_TYPED = 63  # typed counts the policy embeds (longer spans share the last embedding)
LOOKAHEAD = 6  # characters from the COPY pointer on that the key head sees


def advance_copies(start: torch.Tensor, typed: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    """The COPY pointer as "the next character of the span": start logits (B, K, L) say where the span
    being typed starts; step k copies the byte ``typed[b, k]`` characters after it -> (B, K, L) logits
    over the byte each step copies; positions before the shift, and padding, score -1e9."""
    j = torch.arange(start.shape[-1], device=start.device)  # (L,)
    source = j - typed[..., None]  # (B, K, L): the start position that points at byte j
    shifted = start.gather(-1, source.clamp(min=0)).masked_fill(source < 0, -1e9)
    return shifted.masked_fill((ids == 0)[:, None, :], -1e9)


def point_in_box(point: torch.Tensor, box: torch.Tensor) -> torch.Tensor:
    """point (..., 2), box (..., 4) as (x0, y0, x1, y1), same units -> bool (...): inside, edges included."""
    x, y = point[..., 0], point[..., 1]
    return (x >= box[..., 0]) & (x <= box[..., 2]) & (y >= box[..., 1]) & (y <= box[..., 3])


IGNORE_INDEX = -100  # cross_entropy's default ignore_index: a cell with no reading target


def _masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of x over mask (0 where the mask is empty, so a batch without key steps is fine)."""
    m = mask.to(x.dtype)
    return (x * m).sum() / m.sum().clamp(min=1)


def _cross_entropy(logits: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Masked mean cross-entropy: logits (..., n), target and mask (...)."""
    ce = F.cross_entropy(logits.flatten(0, -2), target.flatten(), reduction="none")
    return _masked_mean(ce.view_as(target), mask)


def _accuracy(logits: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return _masked_mean((logits.argmax(-1) == target).float(), mask)


def _copied(copy: torch.Tensor, copy_logits: torch.Tensor, typed: torch.Tensor) -> torch.Tensor:
    """(B, K) bool: steps with a copy target inside the instruction the model saw (it may be cut) that
    continue a span ``typed`` characters long (its start is at or after the instruction's first byte)."""
    return (copy >= 0) & (copy < copy_logits.shape[-1]) & (copy - typed >= 0)


def _byte_keys(keys: Vocabulary) -> torch.Tensor:
    """(NUM_BYTE_IDS,) long: the key id that types each byte id's character (ASCII; others <unk>)."""
    table = [0] * BYTE_OFFSET + [keys.id(chr(b)) if b < 128 else keys.id(UNK) for b in range(256)]
    return torch.tensor(table, dtype=torch.long)


@lru_cache(maxsize=4096)  # an episode plans with one instruction many times; outside the model
def _byte_words(ids: tuple[int, ...], vocab: tuple[str, ...]) -> list[int]:
    """``byte_words`` of an instruction's byte ids (no padding) under the vocabulary ``vocab``."""
    return byte_words(ids, _vocabulary(vocab))


@lru_cache(maxsize=8)
def _vocabulary(tokens: tuple[str, ...]) -> Vocabulary:
    return Vocabulary(list(tokens))


def _key_effects(keys: Vocabulary) -> torch.Tensor:
    """(keys + 1,) long: TYPES, ERASES or RESET for each key id and for COPY (the last: it types)."""
    return torch.tensor([*(key_effect(t) for t in keys.tokens), TYPES], dtype=torch.long)


def named_intent(intent_probs: np.ndarray) -> int:
    """The most probable intent id that names one (ids 0 and 1 are padding and UNK); 0 when the
    vocabulary names none. intent_probs: (n,)."""
    return 2 + int(np.argmax(intent_probs[2:])) if len(intent_probs) > 2 else 0


def _kl_divergence(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, 1)), summed over the latent and averaged over the batch."""
    return (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp())).sum(-1).mean()


class LossTerm(NamedTuple):
    """One named term of the training loss: it adds ``weight * value`` (weight: an ACTConfig field)."""

    value: torch.Tensor
    weight: float


class Targets(NamedTuple):
    """A batch's targets as the losses take them: padded steps zeroed, masks (B, K) bool per head."""

    valid: torch.Tensor  # not padding
    actions: dict[str, torch.Tensor]  # kind, key (B, K); point, point2, scroll (B, K, 2)
    chunk_weight: torch.Tensor  # (K,) exp(-chunk_decay * i)
    is_key: torch.Tensor
    is_pointer: torch.Tensor
    is_drag: torch.Tensor
    is_scroll: torch.Tensor
    copy: torch.Tensor | None = None  # (B, K) instruction byte each key step copies, -1 none (key_copy)
    typed: torch.Tensor | None = None  # (B, K) characters of the span typed before each step (key_copy)
    prev_kind: torch.Tensor | None = None  # (B,) 1 + the kind of the step before, 0 first (prev_action)


# --------------------------------------------------------------------------------------------- network


class Encoded(NamedTuple):
    """What ``ACT.encode_observation`` gives the decoder and heads."""

    memory: torch.Tensor  # (B, S, D) encoder output over [latent, instruction tokens, image cells]
    pos: torch.Tensor  # (1, S, D) its position embeddings
    mask: torch.Tensor | None  # (B, 1, 1, S) attention mask, None when no token is padding
    cells: torch.Tensor  # (B, C, D) the image cell tokens before the encoder
    fine: torch.Tensor | None  # (B, C', D) the finer backbone stage's tokens (pointer_stride), else None
    ids: torch.Tensor | None  # (B, L') instruction ids behind the instruction tokens (None when pooled)
    # (B, L') under "chars" with seek_byte_words or byte_word_embed: each byte's instruction_vocab
    # word (act.spaces.vocab.byte_words), found once per call for both; else None
    byte_words: torch.Tensor | None
    spans: SpanReading | None = None  # reading="rendered": the cells matched against the spans


class SpanReading(NamedTuple):
    """reading="rendered", before the encoder: read logits (B, C', 1 + J) of each pointer cell over
    [none, spans], which spans are real (B, J), their pictures' embeddings (B, J, D) and the mean
    over each span's bytes (B, J, L')."""

    read_logits: torch.Tensor
    real: torch.Tensor
    pictures: torch.Tensor
    pool: torch.Tensor


class ACT(nn.Module):
    """The network: image uint8 (B, 3, H, W) + instruction ids (B, L) [+ action chunk] -> step states.

    Encoder tokens: [latent z, instruction words (or bytes), image cells]. During training a CVAE encoder over
    [CLS, action steps] (padding masked) gives mu, log-var and z; at inference z = 0. The decoder
    has K step queries plus one intent query (with later_steps_decoder: step 0's and the intent's,
    and a second decoder the K - 1 later steps').
    """

    def __init__(self, config: ACTConfig, num_kinds: int, num_keys: int, num_words: int, num_intents: int):
        super().__init__()
        c, d = config, config.dim_model
        self.config = c
        # Observation encoder.
        self.backbone = build_backbone(c)
        self.grid = self.backbone.feature_size(*c.image_size)  # (h, w) encoder image cells
        self.image_proj = nn.Conv2d(self.backbone.out_channels, d, 1)
        # The pointer's (and reading head's) grid: the encoder's cells, or a finer backbone stage.
        self.fine_level = c.pointer_level()
        self.point_grid, point_stride = self.grid, self.backbone.stride  # any backbone, registered ones too
        if self.fine_level is not None:
            rows, cols, point_stride = c.pointer_cells()
            self.point_grid = (rows, cols)  # (h', w')
            self.fine_proj = nn.Conv2d(c.convnet_channels[self.fine_level], d, 1)
            r = c.feature_stride() // point_stride  # fine cells per coarse cell side
            rows, cols = torch.arange(self.point_grid[0]) // r, torch.arange(self.point_grid[1]) // r
            parent = (rows[:, None] * self.grid[1] + cols[None, :]).flatten()  # (C',) coarse cell of each
            self.register_buffer("fine_parent", parent, persistent=False)
        mean, std = torch.tensor(IMAGENET_MEAN) * 255, torch.tensor(IMAGENET_STD) * 255
        self.register_buffer("image_mean", mean.view(1, 3, 1, 1), persistent=False)
        self.register_buffer("image_std", std.view(1, 3, 1, 1), persistent=False)
        self.register_buffer(
            "image_pos", sine_position_2d(*self.grid, d)[None], persistent=False
        )  # (1, C, D)
        self.register_buffer(
            "point_pos", sine_position_2d(*self.point_grid, d)[None], persistent=False
        )  # (1, C', D): positions of the pointer's cells
        if c.instruction_encoding == "chars":  # one token per UTF-8 byte, at fixed sine positions
            self.word_embed = nn.Embedding(NUM_BYTE_IDS, d, padding_idx=0)
            pos = sine_position_1d(MAX_INSTRUCTION_BYTES, d)[None]
            self.register_buffer("word_pos", pos, persistent=False)  # (1, L, D)
            # byte_word_embed: the known word each byte belongs to (0: none, 1: unknown)
            self.byte_word_embed = nn.Embedding(num_words, d, padding_idx=0) if c.byte_word_embed else None
        else:  # one token per instruction word
            self.word_embed = nn.Embedding(num_words, d, padding_idx=0)
            self.byte_word_embed = None
            self.word_pos = nn.Parameter(torch.randn(1, c.instruction_max_len, d) * 0.02)  # (1, L, D)
        self.latent_proj = nn.Linear(c.latent_dim, d)
        self.latent_pos = nn.Parameter(torch.randn(1, 1, d) * 0.02)
        self.encoder = Encoder(c, c.n_encoder_layers)
        # CVAE encoder over the action chunk (training only).
        if c.use_vae:
            self.vae_cls = nn.Parameter(torch.randn(1, 1, d) * 0.02)
            self.vae_kind_embed = nn.Embedding(num_kinds, d)
            self.vae_key_embed = nn.Embedding(num_keys, d)
            self.vae_value_proj = nn.Linear(6, d)  # point, point2, scroll
            self.register_buffer("vae_pos", sine_position_1d(c.chunk_size + 1, d)[None], persistent=False)
            self.vae_encoder = Encoder(c, c.n_vae_encoder_layers)
            self.vae_out = nn.Linear(d, 2 * c.latent_dim)
        # Decoder: K step queries + 1 intent query; the target starts at zero as in DETR. With
        # later_steps_decoder: step 0's and the intent's queries here, steps 1.. from a decoder and
        # queries of their own (the heads shared).
        later = c.later_steps_decoder and c.chunk_size > 1
        self.queries = nn.Parameter(torch.randn(1, 2 if later else c.chunk_size + 1, d) * 0.02)  # (1, Q, D)
        self.decoder = Decoder(c)
        self.later_queries = self.later_decoder = None
        if later:
            self.later_queries = nn.Parameter(torch.randn(1, c.chunk_size - 1, d) * 0.02)  # (1, K - 1, D)
            self.later_decoder = Decoder(c)
        # Heads.
        self.kind_head = nn.Linear(d, num_kinds)
        self.key_head = nn.Linear(d, num_keys + int(c.key_copy))  # key_copy: the last class is COPY
        self.scroll_head = nn.Linear(d, 2)
        self.intent_head = nn.Linear(d, num_intents)
        rendered = c.reading == "rendered"
        if rendered:  # each cell against the instruction's spans drawn in the UI font, or "none"
            self.read_head = None
            self.span_encoder = SpanEncoder(d)
            self.span_cell, self.span_word, self.span_none = nn.Linear(d, d), nn.Linear(d, d), nn.Linear(d, 1)
            # what a cell was read to show, into the encoder: the span's picture on the cell's token
            # and on the span's bytes, so attention can tie "this cell shows memo_26.png" to the words
            # and the decoder can tell whether the item sought is on screen at all
            self.span_to_cell, self.span_to_text = nn.Linear(d, d), nn.Linear(d, d)
        else:
            self.read_head = nn.Linear(d, num_words)  # which instruction word each image cell shows
            self.span_encoder = None
        seek = num_words if c.pointer_reads else 0
        grid = (d, c.pointer_head, self.point_grid, point_stride, c.image_size, seek, rendered)
        self.point_head, self.point2_head = PointerHead(*grid), PointerHead(*grid)
        # drag_from_start: the start point, added to the drag-end head's query
        self.drag_start = nn.Linear(4 * POINT_OCTAVES, d) if c.drag_from_start else None
        self.copy_head = CopyHead(d) if c.key_copy else None
        if c.key_copy:  # how many characters of the span are typed: the agent knows from its own actions
            self.typed_embed = nn.Embedding(MAX_TYPED + 1, d)
            # The key head also sees the LOOKAHEAD characters from the one the COPY pointer points
            # at, so where the span ends ('"', or " using the..." after an unquoted query) is a local
            # decision at any string length.
            self.pointed_proj = nn.Linear(LOOKAHEAD * d, d)
        # kind_copy: the same characters for the kind head (whether to type on or click elsewhere)
        self.kind_pointed_proj = nn.Linear(LOOKAHEAD * d, d) if c.kind_copy else None
        self.instruction_vocab = tuple(c.instruction_vocab)  # seek_byte_words: bytes -> word ids
        # prev_action: 0 = the episode's first step, 1 + kind id after a step of that kind
        self.prev_embed = nn.Embedding(num_kinds + 1, d) if c.prev_action else None
        for module in (self.encoder, self.decoder, *([self.vae_encoder] if c.use_vae else [])):
            for p in module.parameters():
                if p.dim() > 1:
                    nn.init.xavier_uniform_(p)

    def encode_actions(self, actions: dict[str, torch.Tensor], is_pad: torch.Tensor):
        """CVAE posterior over the chunk: -> mu, log-var (B, latent). Padded steps are masked in attention."""
        values = torch.cat((actions["point"], actions["point2"], actions["scroll"]), -1)  # (B, K, 6)
        kind, key = self.vae_kind_embed(actions["kind"]), self.vae_key_embed(actions["key"])
        steps = kind + key + self.vae_value_proj(values)  # (B, K, D)
        x = torch.cat((self.vae_cls.expand(len(steps), -1, -1), steps), 1)  # (B, 1 + K, D)
        attend = torch.cat((torch.ones_like(is_pad[:, :1]), ~is_pad), 1)  # (B, 1 + K)
        cls = self.vae_encoder(x, self.vae_pos, attend[:, None, None, :])[:, 0]  # (B, D)
        mu, logvar = self.vae_out(cls).chunk(2, -1)
        return mu, logvar

    def encode_observation(
        self,
        image: torch.Tensor,
        instruction: torch.Tensor,
        z: torch.Tensor,
        typed: torch.Tensor | None = None,
        prev_kind: torch.Tensor | None = None,
    ):
        """The encoder over [latent, instruction tokens, image cells]: see ``Encoded``. ``typed`` (B,):
        characters of the span typed so far (key_copy), and ``prev_kind`` (B,): 1 + the kind of the
        previous action, 0 at the first step (prev_action; default 0), added to the latent token."""
        if tuple(image.shape[-2:]) != self.config.image_size:
            raise ValueError(
                f"image is {tuple(image.shape[-2:])} (H, W); "
                f"this policy takes image_size={self.config.image_size}"
            )
        chars = self.config.instruction_encoding == "chars"
        max_len = MAX_INSTRUCTION_BYTES if chars else self.config.instruction_max_len
        if instruction.shape[1] > max_len:
            raise ValueError(f"instruction has {instruction.shape[1]} tokens > {max_len}")
        x = (image.float() - self.image_mean) / self.image_std  # (B, 3, H, W)
        fine = None
        if self.fine_level is None:
            features = self.backbone(x)  # (B, C_feat, h, w)
        else:
            fine, features = self.backbone.forward_levels(x, self.fine_level)
            fine = self.fine_proj(fine).flatten(2).transpose(1, 2)  # (B, C', D)
        cells = self.image_proj(features).flatten(2).transpose(1, 2)  # (B, C, D)
        # Drop padding columns no row uses; then a mask is needed only when rows differ in length.
        used = (instruction != 0).any(0).nonzero()
        words = instruction[:, : int(used[-1]) + 1 if len(used) else 0]  # (B, L')
        if words.numel() and int(words.max()) >= self.word_embed.num_embeddings:
            how = (
                "byte ids come from encode_bytes"
                if chars
                else "was it tokenised with this policy's instruction_vocab?"
            )
            raise ValueError(
                f"instruction token id {int(words.max())} >= "
                f"vocabulary size {self.word_embed.num_embeddings}: {how}"
            )
        text = self.word_embed(words)  # (B, L', D); padding rows are zero (padding_idx)
        wanted = chars and (self.config.seek_byte_words or self.byte_word_embed is not None)
        byte_words = self.byte_word_ids(words) if wanted else None  # (B, L') or None
        if self.byte_word_embed is not None:
            text = text + self.byte_word_embed(byte_words)  # (B, L', D)
        spans, encoder_cells = None, cells
        if self.span_encoder is not None:  # read by sight, and tell the encoder what was read
            spans = self.read_spans(cells if fine is None else fine + cells[:, self.fine_parent], words)
            shows = spans.read_logits.softmax(-1)[..., 1:]  # (B, C', J)
            seen = shows @ self.span_to_cell(spans.pictures)  # (B, C', D)
            if fine is not None:  # fine cells -> the coarse cell the encoder sees
                seen = torch.zeros_like(cells).index_add(1, self.fine_parent, seen)
            encoder_cells = cells + seen
            text = text + (spans.pool > 0).to(text.dtype).transpose(1, 2) @ self.span_to_text(spans.pictures)
        ids: torch.Tensor | None = words
        if self.config.instruction_tokens == "pooled":
            ids = None
            n = (words != 0).sum(1, keepdim=True).clamp(min=1)  # (B, 1)
            text, words = (
                text.sum(1, keepdim=True) / n[..., None],
                torch.ones_like(instruction[:, :1]),
            )  # (B, 1, D)
        latent = self.latent_proj(z)  # (B, D)
        if self.copy_head is not None:
            done = torch.zeros(len(z), dtype=torch.long, device=z.device) if typed is None else typed.long()
            latent = latent + self.typed_embed(done.clamp(0, MAX_TYPED))
        if self.prev_embed is not None:
            last = torch.zeros(len(z), dtype=torch.long, device=z.device) if prev_kind is None else prev_kind
            latent = latent + self.prev_embed(last.long())
        tokens = torch.cat((latent[:, None], text, encoder_cells), 1)  # (B, S, D)
        pos = torch.cat((self.latent_pos, self.word_pos[:, : words.shape[1]], self.image_pos), 1)  # (1, S, D)
        mask = None
        if not bool((words != 0).all()):
            ones = torch.ones_like(words[:, :1], dtype=torch.bool)
            mask = torch.cat((ones, words != 0, ones.expand(-1, cells.shape[1])), 1)[:, None, None, :]
        return Encoded(self.encoder(tokens, pos, mask), pos, mask, cells, fine, ids, byte_words, spans)

    def copy_heads(
        self, steps: torch.Tensor, copy_logits: torch.Tensor, ids: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """key_copy: key logits (B, K, keys + 1) and kind logits (B, K, kinds) from step states (B, K, D)
        plus the embeddings of the LOOKAHEAD bytes from the one each step's COPY pointer (B, K, L)
        points at (ids (B, L)); the kind head sees those bytes only with kind_copy."""
        p, emb = copy_logits.softmax(-1), self.word_embed(ids)  # (B, K, L), (B, L, D)
        ahead = [p @ F.pad(emb[:, w:], (0, 0, 0, w)) for w in range(LOOKAHEAD)]  # (B, K, D) each: byte j + w
        ahead = torch.cat(ahead, -1)  # (B, K, LOOKAHEAD * D)
        kind_in = steps if self.kind_pointed_proj is None else steps + self.kind_pointed_proj(ahead)
        return self.key_head(steps + self.pointed_proj(ahead)), self.kind_head(kind_in)

    def seek_words(self, enc: Encoded) -> torch.Tensor | None:
        """The word id of each instruction token for the seek head's copy, (B, L'): the tokens
        themselves under "words"; under "chars" with seek_byte_words each byte's word (0 outside
        words), else None (the seek head then only classifies)."""
        if enc.ids is None or self.config.instruction_encoding == "words":
            return enc.ids
        return enc.byte_words if self.config.seek_byte_words else None

    def byte_word_ids(self, ids: torch.Tensor) -> torch.Tensor:
        """(B, L') byte ids -> (B, L') the instruction_vocab id of the word each byte belongs to
        (0 outside words, 1 inside an unknown one; ``act.spaces.vocab.byte_words``)."""
        rows = [_byte_words(tuple(r for r in row if r), self.instruction_vocab) for row in ids.tolist()]
        width = ids.shape[1]  # rows are their instruction's bytes: pad back to the batch's width
        return torch.tensor([r + [0] * (width - len(r)) for r in rows], dtype=torch.long, device=ids.device)

    def read_spans(self, tokens: torch.Tensor, ids: torch.Tensor) -> SpanReading:
        """reading="rendered": image tokens on the pointer's grid (B, C', D) and byte ids (B, L') ->
        each cell scored against the instruction's spans drawn in the UI font, and "none"."""
        images, which, real, pool = span_batch(ids)  # (U, H, W), (B, J), (B, J), (B, J, L')
        pictures = self.span_encoder(images)[which]  # (B, J, D): each distinct span encoded once
        match = self.span_cell(tokens) @ self.span_word(pictures).transpose(1, 2)  # (B, C', J)
        match = (match / math.sqrt(tokens.shape[-1])).masked_fill(~real.bool()[:, None, :], -1e9)
        read_logits = torch.cat((self.span_none(tokens), match), -1)  # (B, C', 1 + J)
        return SpanReading(read_logits, real, pictures, pool)

    def drag_steps(self, steps: torch.Tensor, start: torch.Tensor) -> torch.Tensor:
        """The drag-end head's step states: ``steps`` (B, K, D) plus the embedded start point ``start``
        (B, K, 2) in [0, 1] with drag_from_start; ``steps`` itself without."""
        if self.drag_start is None:
            return steps
        return steps + self.drag_start(point_features(start.to(steps.dtype)))

    @staticmethod
    def reading(out: dict[str, Any]) -> Reading:
        """The reading part of ``forward``'s output, as the pointer heads take it."""
        return Reading(out["read_logits"], out["word_ids"], out["instruction_memory"])

    def forward(
        self, image, instruction, actions=None, is_pad=None, typed=None, prev_kind=None
    ) -> dict[str, torch.Tensor]:
        """Step states and head outputs. With ``actions`` (and use_vae) also mu, log-var; z is sampled
        only in training mode, else z = 0 (inference behaviour, KL still reported). key_copy: ``typed``
        (B, K) is each step's count of span characters typed before it (``typed_counts``; step 0's is
        the observation's), giving ``copy_logits``; without it only ``copy_start_logits``. prev_action:
        ``prev_kind`` (B,) 1 + the kind of the action before this observation, 0 at the first step.
        With ``chunk_encoder_grad`` < 1 in training, steps 1.. read a copy of the encoder output whose
        gradient is scaled; the pointer heads' losses do the same (``PointerHead.losses``)."""
        b, c = image.shape[0], self.config
        z = torch.zeros(b, c.latent_dim, device=image.device)
        out: dict[str, Any] = {}
        if c.use_vae and actions is not None:
            mu, logvar = self.encode_actions(actions, is_pad)
            out["mu"], out["logvar"] = mu, logvar
            if self.training:
                z = mu + (0.5 * logvar).exp() * torch.randn_like(mu)
        enc = self.encode_observation(
            image, instruction, z, None if typed is None else typed[:, 0], prev_kind
        )
        alpha = self.later_grad()
        # steps 1.. read an encoder output whose gradient is scaled (same values)
        later_enc = enc if alpha is None else _scale_grad(enc, alpha)
        h = self.decode_states(enc, later_enc)  # (B, K + 1, D): K steps, then the intent
        steps, views = h[:, :-1], self.memory_views(enc)
        if alpha is not None:  # step 0's heads read the memory as is, steps 1..'s heads its scaled copy
            later = _scale_grad(views, alpha)
            first_out = self.step_heads(steps[:, :1], views, None if typed is None else typed[:, :1])
            later_out = self.step_heads(steps[:, 1:], later, None if typed is None else typed[:, 1:])
            out.update({k: torch.cat([v, later_out[k]], 1) for k, v in first_out.items()})
        else:
            out.update(self.step_heads(steps, views, typed))
        out.update(views._asdict())
        out.update(steps=steps, intent_logits=self.intent_head(h[:, -1]))  # (B, K, D), (B, intents)
        return out

    def later_grad(self) -> float | None:
        """chunk_encoder_grad where it applies (training, below 1, chunks longer than one step)."""
        c = self.config
        return (
            c.chunk_encoder_grad if self.training and c.chunk_encoder_grad < 1 and c.chunk_size > 1 else None
        )

    def decode_states(self, enc: Encoded, later_enc: Encoded) -> torch.Tensor:
        """Decoder states (B, K + 1, D): K steps, then the intent. Steps 1.. (and, without
        later_steps_decoder, only they) read ``later_enc``, a gradient-scaled copy of ``enc`` under
        chunk_encoder_grad < 1 and ``enc`` itself otherwise."""
        b, d = enc.memory.shape[0], self.config.dim_model

        def run(decoder, queries, e):
            tgt = torch.zeros(b, queries.shape[1], d, device=e.memory.device)  # DETR: targets start at 0
            return decoder(tgt, queries, e.memory, e.pos, e.mask)

        if self.later_decoder is not None:  # step 0 and the intent, then steps 1.. on their own
            now = run(self.decoder, self.queries, enc)  # (B, 2, D)
            rest = run(self.later_decoder, self.later_queries, later_enc)  # (B, K - 1, D)
            return torch.cat([now[:, :1], rest, now[:, 1:]], 1)
        h = run(self.decoder, self.queries, enc)  # (B, K + 1, D)
        if later_enc is not enc:  # the shared decoder once more for the later steps' gradient
            h = torch.cat([h[:, :1], run(self.decoder, self.queries, later_enc)[:, 1:-1], h[:, -1:]], 1)
        return h

    def memory_views(self, enc: Encoded) -> MemoryViews:
        """What the heads read from an encoder output (see ``MemoryViews``)."""
        memory, ids, n_cells = enc.memory, enc.ids, self.image_pos.shape[1]
        image_memory, tokens = memory[:, -n_cells:], enc.cells  # (B, C, D) each
        if enc.fine is not None:  # the finer grid: each fine cell adds its coarse cell (top-down merge)
            image_memory = enc.fine + image_memory[:, self.fine_parent]  # (B, C', D)
            tokens = enc.fine + tokens[:, self.fine_parent]  # (B, C', D)
        text_memory = None if ids is None else memory[:, 1 : 1 + ids.shape[1]]  # (B, L', D)
        if enc.spans is not None:  # the seek head attends to each span's bytes and picture
            sp = enc.spans
            read_logits, word_ids, seek_memory = sp.read_logits, sp.real, sp.pool @ text_memory + sp.pictures
        else:
            read_logits, word_ids, seek_memory = self.read_head(tokens), self.seek_words(enc), text_memory
        text_pos = None if ids is None else enc.pos[:, 1 : 1 + ids.shape[1]]
        return MemoryViews(image_memory, read_logits, ids, word_ids, seek_memory, text_memory, text_pos)

    def step_heads(
        self, steps: torch.Tensor, views: MemoryViews, typed: torch.Tensor | None
    ) -> dict[str, torch.Tensor]:
        """The per-step heads on step states (B, K', D), ``typed`` (B, K') as in ``forward``."""
        out = {}
        ids = views.instruction_ids
        if self.copy_head is not None:
            start = self.copy_head(steps, views.text_memory, views.text_pos, ids)  # (B, K', L')
            out["copy_start_logits"] = start  # where the span being typed starts
            if typed is not None:
                out["copy_logits"] = advance_copies(start, typed.long(), ids)  # (B, K', L'): the byte copied
        if "copy_logits" in out:
            key_logits, kind_logits = self.copy_heads(steps, out["copy_logits"], ids)
        else:
            key_logits, kind_logits = self.key_head(steps), self.kind_head(steps)
        out.update(
            kind_logits=kind_logits,  # (B, K', kinds)
            key_logits=key_logits,  # (B, K', keys [+ COPY])
            scroll=self.scroll_head(steps),  # (B, K', 2)
        )
        return out


class MemoryViews(NamedTuple):
    """The parts of the encoder output that the heads read (``ACT.memory_views``)."""

    image_memory: torch.Tensor  # (B, C', D) on the pointer's grid (C' = C without pointer_stride)
    read_logits: torch.Tensor  # (B, C', words) the word each cell shows; rendered: (B, C', 1 + J)
    instruction_ids: torch.Tensor | None  # (B, L') or None (pooled): word or byte ids
    word_ids: torch.Tensor | None  # (B, L') or None: what the seek head copies; rendered: (B, J) spans
    instruction_memory: torch.Tensor | None  # (B, L', D) or None; rendered: (B, J, D) per span
    text_memory: torch.Tensor | None  # (B, L', D) the instruction tokens' encoder states
    text_pos: torch.Tensor | None  # (1, L', D) their positions


def _scale_grad(x, alpha: float):
    """A tensor or a tuple of them (NamedTuples such as ``Encoded``, nested ones too), with the same
    values and alpha times the gradient flowing back through its floating-point tensors."""
    if isinstance(x, tuple):
        parts = (_scale_grad(v, alpha) for v in x)
        return type(x)(*parts) if hasattr(x, "_fields") else tuple(parts)
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        return x
    return x.detach() if alpha == 0 else x * alpha + x.detach() * (1 - alpha)


# --------------------------------------------------------------------------------------------- policy


@contextmanager
def _eval_mode(module: nn.Module) -> Iterator[None]:
    """Inference always runs the net in eval mode (no dropout, BN running stats), then restores."""
    was_training = module.training
    if was_training:  # train(False) walks every submodule: skip it when already in eval mode
        module.train(False)
    try:
        yield
    finally:
        if was_training:
            module.train(True)


class ACTPolicy(nn.Module):
    """An ACT policy for UIs: losses for training, and a stateful controller for envs.

    ``forward(batch)`` -> (loss, terms); ``predict_chunk(obs)`` plans K steps and never ensembles;
    ``select_action(obs)`` returns one env action, executing chunks as ``config.execution`` says
    (``act.policy.execution``; by default from the action queue or, when
    ``config.temporal_ensemble_coeff`` is set, by temporal ensembling); call ``reset()`` per episode.
    """

    def __init__(self, config: ACTConfig):
        super().__init__()
        self.config = config
        self.action_space = ActionSpace.from_json(config.action_space)
        self.instruction_vocab = Vocabulary(config.instruction_vocab)
        self.intent_vocab = Vocabulary(config.intent_vocab)
        kinds = self.action_space.kinds
        n_keys, n_words, n_intents = (
            self.action_space.num_keys,
            len(self.instruction_vocab),
            len(self.intent_vocab),
        )
        self.model = ACT(config, len(kinds), n_keys, n_words, n_intents)
        pointer_kinds = torch.tensor([k in POINTER_KINDS for k in kinds])
        self.register_buffer("pointer_kinds", pointer_kinds, persistent=False)  # (kinds,) bool
        self.key_kind, self.drag_kind, self.scroll_kind = (
            kinds.index(k) if k in kinds else -1 for k in ("key", "drag", "scroll")
        )
        self.copy_key = n_keys  # the key head's COPY class (key_copy)
        self.key_effects = [key_effect(t) for t in self.action_space.keys.tokens]  # per key id
        if config.key_copy:
            self.register_buffer("byte_keys", _byte_keys(self.action_space.keys), persistent=False)
            self.register_buffer("key_effect", _key_effects(self.action_space.keys), persistent=False)
        self._token_cache: dict[str, torch.Tensor] = {}
        self.reset()

    @property
    def device(self) -> torch.device:
        return self.model.queries.device

    # ---- training

    def forward(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Batch (the ChunkDataset contract) -> (total loss, detached terms and per-head metrics).

        The total is sum(weight * value) over the named ``LossTerm``s of ``loss_terms``, plus
        ``kl_weight * KL`` with the CVAE. Every term is masked by ``is_pad``; values under padding never
        reach the loss or the CVAE. A non-finite total is returned as is: check ``torch.isfinite(loss)``.
        """
        loss, terms, metrics = self.loss_terms(batch)
        logged = {"loss": loss.detach()}
        logged.update({(k if k == "kl" else f"loss_{k}"): t.value.detach() for k, t in terms.items()})
        return loss, {**logged, **metrics}

    def loss_terms(
        self, batch: dict[str, torch.Tensor]
    ) -> tuple[torch.Tensor, dict[str, LossTerm], dict[str, torch.Tensor]]:
        """-> (total loss, the named weighted terms, metrics). One family per head, in a fixed order:
        the total adds the terms in that order, so refactors keep the floats bitwise."""
        t = self._targets(batch)
        out = self.model(
            batch["image"], self.instruction_input(batch), t.actions, ~t.valid, t.typed, t.prev_kind
        )
        terms: dict[str, LossTerm] = {}
        metrics: dict[str, torch.Tensor] = {}
        families = (self._action_losses, self._pointer_losses, self._reading_losses, self._intent_loss)
        for family in (*families, self._copy_loss):
            family_terms, family_metrics = family(batch, out, t)
            terms.update(family_terms)
            metrics.update(family_metrics)
        loss = sum(term.weight * term.value for term in terms.values())
        if "mu" in out:  # the CVAE's KL joins last, after the head terms
            kl = _kl_divergence(out["mu"], out["logvar"])
            loss = loss + self.config.kl_weight * kl
            terms["kl"] = LossTerm(kl, self.config.kl_weight)
        return loss, terms, metrics

    def instruction_input(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """The batch's instruction ids in this policy's encoding: ``instruction`` (words, (B, L)) or
        ``instruction_bytes`` (chars, (B, MAX_INSTRUCTION_BYTES)); both are in every sample."""
        name = "instruction_bytes" if self.config.instruction_encoding == "chars" else "instruction"
        if name not in batch:
            raise ValueError(
                f"batch has no {name!r}: a policy with instruction_encoding="
                f"{self.config.instruction_encoding!r} reads it (ChunkDataset and ExpertStream give it)"
            )
        return batch[name]

    def _targets(self, batch: dict[str, torch.Tensor]) -> Targets:
        """The batch's actions with padded steps zeroed, the per-head step masks and chunk weights."""
        valid = ~batch["is_pad"].bool()  # (B, K)
        v2 = valid[..., None]
        kind = torch.where(valid, batch["kind"], 0)  # (B, K)
        actions = {
            "kind": kind,
            "key": torch.where(valid, batch["key"], 0),  # (B, K)
            "point": torch.where(v2, batch["point"].float(), 0.0),  # (B, K, 2)
            "point2": torch.where(v2, batch["point2"].float(), 0.0),  # (B, K, 2)
            "scroll": torch.where(v2, batch["scroll"].float(), 0.0),  # (B, K, 2)
        }
        c = self.config
        # Loss weight per chunk position: exp(-chunk_decay * i) (1 everywhere by default).
        w = torch.exp(-c.chunk_decay * torch.arange(c.chunk_size, device=valid.device, dtype=torch.float32))
        is_key = valid & (kind == self.key_kind)
        copy = typed = None
        if c.key_copy:
            for name in ("copy", "typed"):
                if name not in batch:
                    raise ValueError(
                        f"batch has no {name!r}: a policy with key_copy learns COPY from it "
                        "(ChunkDataset and ExpertStream give it)"
                    )
            copy = torch.where(is_key, batch["copy"].long(), -1)  # (B, K)
            typed = torch.where(valid, batch["typed"].long(), 0)  # (B, K)
        prev_kind = None
        if c.prev_action:
            if "prev_kind" not in batch:
                raise ValueError(
                    "batch has no 'prev_kind': a policy with prev_action is told its previous action "
                    "(ChunkDataset and ExpertStream give it)"
                )
            prev_kind = batch["prev_kind"][:, 0].long()  # (B,) the observation's: before step 0
        return Targets(
            valid=valid,
            actions=actions,
            chunk_weight=w,
            is_key=is_key,
            is_pointer=valid & self.pointer_kinds[kind],
            is_drag=valid & (kind == self.drag_kind),
            is_scroll=valid & (kind == self.scroll_kind),
            copy=copy,
            typed=typed,
            prev_kind=prev_kind,
        )

    def _action_losses(self, batch, out, t: Targets) -> tuple[dict[str, LossTerm], dict[str, torch.Tensor]]:
        """Which kind of action each step is, its key and its scroll (weights kind/key/scroll_weight)."""
        c, a, w = self.config, t.actions, t.chunk_weight
        key = a["key"]
        if t.copy is not None:  # a copied character's key target is COPY; the pointer says which
            key = torch.where(_copied(t.copy, out["copy_logits"], t.typed), self.copy_key, key)  # (B, K)
        terms = {
            "kind": LossTerm(_cross_entropy(out["kind_logits"], a["kind"], t.valid * w), c.kind_weight),
            "key": LossTerm(_cross_entropy(out["key_logits"], key, t.is_key * w), c.key_weight),
            "scroll": LossTerm(
                _masked_mean((out["scroll"] - a["scroll"]).abs().sum(-1), t.is_scroll * w), c.scroll_weight
            ),
        }
        metrics = {
            "acc_kind": _accuracy(out["kind_logits"], a["kind"], t.valid),
            "acc_key": _accuracy(out["key_logits"], key, t.is_key),
        }
        return terms, metrics

    def _copy_loss(self, batch, out, t: Targets) -> tuple[dict[str, LossTerm], dict[str, torch.Tensor]]:
        """key_copy: which instruction byte each copied character comes from (copy_weight)."""
        if t.copy is None:
            return {}, {}
        logits = out["copy_logits"]  # (B, K, L')
        copied = _copied(t.copy, logits, t.typed)  # (B, K)
        if logits.shape[-1] == 0:  # no row has an instruction: nothing to point at
            zero = out["key_logits"].sum() * 0
            return {"copy": LossTerm(zero, self.config.copy_weight)}, {"acc_copy": zero.detach()}
        target = t.copy.clamp(0, logits.shape[-1] - 1)
        loss = _cross_entropy(logits, target, copied * t.chunk_weight)
        return {"copy": LossTerm(loss, self.config.copy_weight)}, {
            "acc_copy": _accuracy(logits, target, copied)
        }

    def _pointer_losses(self, batch, out, t: Targets) -> tuple[dict[str, LossTerm], dict[str, torch.Tensor]]:
        """Where pointer steps point and where drags end: ``PointerHead.losses`` for each head
        (point/point2_weight; the heatmap's in-cell offsets weigh point_offset_weight)."""
        c, m = self.config, self.model
        terms: dict[str, LossTerm] = {}
        metrics: dict[str, torch.Tensor] = {}
        later_grad = m.later_grad()  # steps 1..'s share of gradient into the cell side
        for head, mask, name, weight, box in (
            (m.point_head, t.is_pointer, "point", c.point_weight, batch.get("target")),
            (m.point2_head, t.is_drag, "point2", c.point2_weight, None),
        ):
            memory, target, read = out["image_memory"], t.actions[name], m.reading(out)
            steps = out["steps"]  # (B, K, D)
            if name == "point2":  # teacher-forced: the drag starts where the expert's did
                steps = m.drag_steps(steps, t.actions["point"])
            head_losses, head_metrics = head.losses(
                steps, memory, m.point_pos, target, mask, name, box, read, t.chunk_weight, later_grad
            )
            for key, value in head_losses.items():
                terms[key] = LossTerm(value, c.point_offset_weight if key.endswith("_offset") else weight)
            metrics.update(head_metrics)
        return terms, metrics

    def _reading_losses(self, batch, out, t: Targets) -> tuple[dict[str, LossTerm], dict[str, torch.Tensor]]:
        """Where a batch labels its cells (``cell_words``): the word each cell shows (read_weight) and
        the word the step executed now seeks (seek_weight); nothing when either weight is 0."""
        c = self.config
        rendered = c.reading == "rendered"
        name = c.read_target()
        if name not in batch or c.read_weight <= 0:
            return {}, {}
        read_logits = out["read_logits"]  # (B, C, words); rendered: (B, C, 1 + J) over [none, spans]
        # (B, C): word id per image cell, 0 = no text; rendered: 1 + the span shown, 0 = none
        words = batch[name].long()
        other = words == OTHER_TEXT  # rendered: a label that is not one of the spans ("none" too)
        if rendered:  # a span past the ones the model encodes (an instruction cut short): not a target
            words = words.masked_fill(words >= read_logits.shape[-1], IGNORE_INDEX).masked_fill(other, 0)
        known = 0 if rendered else 1  # ids above this name something to find (1 is <unk> in a vocabulary)
        # Text and blank cells weigh the same in total: a few label cells among hundreds of blank
        # ones would otherwise teach "blank" first and the labels last. Rendered: the other labels
        # weigh as much again, apart from blank, or the matcher learns "text" instead of "this text"
        # (docs/experiments.md#rendered-reading: it read 54% of the other buttons' cells as the span).
        ce = F.cross_entropy(read_logits.flatten(0, 1), words.flatten(), reduction="none").view_as(words)
        if rendered:
            read = (
                _masked_mean(ce, words > 0)
                + _masked_mean(ce, other)
                + _masked_mean(ce, (words == 0) & ~other)
            )
        else:
            read = _masked_mean(ce, words > 0) + _masked_mean(ce, words == 0)  # (B, C') once
        terms = {"read": LossTerm(read, c.read_weight)}
        metrics = {"acc_read": _accuracy(read_logits, words, words > known)}  # cells showing a known word
        seek = self.model.point_head.seek
        if seek is not None and c.seek_weight > 0:
            # The step executed now points at a cell of this frame: the word written there is
            # the word it seeks (later steps may point at what is not on screen yet).
            cell = self.model.point_head.to_cell(t.actions["point"][:, 0])[0]  # (B,)
            sought = words.gather(1, cell[:, None])[:, 0]  # (B,)
            now = seek(out["steps"][:, :1], out["word_ids"], out["instruction_memory"])
            seek_logits = now[:, 0]  # (B, words)
            labelled = t.is_pointer[:, 0] & (sought > known)
            terms["seek"] = LossTerm(_cross_entropy(seek_logits, sought, labelled), c.seek_weight)
            metrics["acc_seek"] = _accuracy(seek_logits, sought, labelled)
        return terms, metrics

    def _intent_loss(self, batch, out, t: Targets) -> tuple[dict[str, LossTerm], dict[str, torch.Tensor]]:
        """The episode's intent, where the batch labels it (intent_weight)."""
        if "intent" not in batch:
            return {}, {}
        intent = batch["intent"].long()  # (B,) 0 = no label
        loss = _cross_entropy(out["intent_logits"], intent, intent > 0)
        return {"intent": LossTerm(loss, self.config.intent_weight)}, {
            "acc_intent": _accuracy(out["intent_logits"], intent, intent > 0)
        }

    # ---- inference (no ensembling here)

    @torch.inference_mode()
    def predict_chunk_batch(
        self,
        image: torch.Tensor,
        instruction: torch.Tensor,
        typed: torch.Tensor | None = None,
        prev_kind: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        """Batched plan, never ensembled: image uint8 (B, 3, H, W), ids (B, L) -> tensors per step;
        key_copy: ``typed`` (B,) characters of the span typed before this observation (default 0);
        prev_action: ``prev_kind`` (B,) 1 + the kind of the action before it (default 0: none).

        Keys: kind_probs (B, K, kinds), key_probs (B, K, keys), point, point2, scroll (B, K, 2),
        point_prob (B, K) (chosen cell's probability), intent_probs (B, intents), with a reading
        pointer seek_probs (B, K, words) (the instruction word each step looks for), and with key_copy
        copy_probs (B, K, L') (P(COPY) times the pointer over instruction bytes; ``key_probs`` already
        holds these copies as the keys of the characters they point at).
        """
        with _eval_mode(self):
            m = self.model
            image, instruction = image.to(self.device), instruction.to(self.device)
            last = None if prev_kind is None else prev_kind.to(self.device)
            if m.copy_head is not None:
                typed = torch.zeros(len(image), dtype=torch.long) if typed is None else typed.long()
                out = m(
                    image,
                    instruction,
                    typed=typed.to(self.device)[:, None].expand(-1, self.config.chunk_size),
                    prev_kind=last,
                )
            else:
                out = m(image, instruction, prev_kind=last)
            steps, memory = out["steps"], out["image_memory"]
            point, point_prob = m.point_head.predict(steps, memory, m.point_pos, m.reading(out))
            point2, _ = m.point2_head.predict(m.drag_steps(steps, point), memory, m.point_pos, m.reading(out))
            key_probs, kind_logits, copies = out["key_logits"].softmax(-1), out["kind_logits"], {}
            if m.copy_head is not None:  # each step's typed count follows the keys planned before it
                key_logits, kind_logits, logits = self._plan_copies(out, typed.to(self.device))
                key_probs, copies["copy_probs"] = self._resolve_copies(
                    key_logits.softmax(-1), logits, out["instruction_ids"]
                )
            return {
                "kind_probs": kind_logits.softmax(-1),
                "key_probs": key_probs,
                **copies,
                "point": point,
                "point_prob": point_prob,
                "point2": point2,
                "scroll": out["scroll"],
                "intent_probs": out["intent_logits"].softmax(-1),
                **(
                    {"seek_probs": m.point_head.seek(steps, out["word_ids"], out["instruction_memory"]).exp()}
                    if m.point_head.seek is not None
                    else {}
                ),  # (B, K, words): the word each step looks for on screen
            }

    def _plan_copies(self, out: dict[str, torch.Tensor], typed: torch.Tensor):
        """key_copy at inference: step by step, the typed count before each step (``next_typed_count``
        over the earlier steps' most likely kind and key; COPY types a character), its COPY pointer and
        its key (and kind) logits -> key logits (B, K, keys + 1), kind logits (B, K, kinds), copy
        logits (B, K, L')."""
        m, ids, steps = self.model, out["instruction_ids"], out["steps"]
        keys, kinds, copies, count = [], [], [], typed  # count: (B,)
        for k in range(steps.shape[1]):
            copy = advance_copies(out["copy_start_logits"][:, k : k + 1], count[:, None], ids)  # (B, 1, L')
            key, kind = m.copy_heads(steps[:, k : k + 1], copy, ids)  # (B, 1, keys + 1), (B, 1, kinds)
            if m.kind_pointed_proj is None:  # the kind does not depend on the pointer: the plan's own
                kind = out["kind_logits"][:, k : k + 1]
            keys.append(key)
            kinds.append(kind)
            copies.append(copy)
            is_key = kind[:, 0].argmax(-1) == self.key_kind
            effect = torch.where(is_key, self.key_effect[key[:, 0].argmax(-1)], RESET)
            count = torch.where(effect == TYPES, count + 1, count)
            count = torch.where(effect == ERASES, (count - 1).clamp(min=0), count)
            count = torch.where(effect == RESET, torch.zeros_like(count), count)
        return torch.cat(keys, 1), torch.cat(kinds, 1), torch.cat(copies, 1)

    def _resolve_copies(
        self, key_probs: torch.Tensor, copy_logits: torch.Tensor, ids: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Pointer-generator decoding: key_probs (B, K, keys + 1), COPY last -> (B, K, keys), COPY's
        share added to the key of the character at each instruction byte its pointer picks; and that
        share per byte (B, K, L'). A byte no key types (non-ASCII, or not in the key vocabulary)
        gives its share to <unk>."""
        named, copy = key_probs[..., :-1], key_probs[..., -1:]  # (B, K, keys), (B, K, 1)
        pointed = copy_logits.softmax(-1) * copy  # (B, K, L')
        typed = self.byte_keys[ids][:, None, :].expand_as(pointed)  # (B, K, L') key id of each byte
        return named.scatter_add(-1, typed, pointed), pointed

    def instruction_ids(self, text: str) -> torch.Tensor:
        """An instruction as this policy reads it: (1, L) token ids, its UTF-8 bytes
        (instruction_encoding "chars") or instruction_vocab words, padded."""
        ids = self._token_cache.get(text)
        if ids is None:
            if len(self._token_cache) > 1024:
                self._token_cache.clear()
            if self.config.instruction_encoding == "chars":
                encoded = encode_bytes(text)
            else:
                encoded = self.instruction_vocab.encode(tokenize(text), self.config.instruction_max_len)
            ids = self._token_cache[text] = torch.tensor([encoded], dtype=torch.long)  # (1, L)
        return ids

    def _observation(self, obs: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
        """Env observation -> image uint8 (1, 3, H, W) at image_size, instruction ids (1, L)."""
        screen = np.asarray(obs["screen"])
        if screen.ndim != 3 or screen.shape[2] < 3:
            raise ValueError(f"obs['screen'] must be uint8 (H, W, 3), got shape {screen.shape}")
        frame = resize_frame(screen, self.config.image_size)
        frame = frame if frame.flags.writeable else frame.copy()  # torch wants writable memory
        image = torch.from_numpy(frame).permute(2, 0, 1)[None]  # (1, 3, H, W)
        return image, self.instruction_ids(str(obs.get("instruction", "")))

    def predict_chunk(self, obs: dict[str, Any]) -> dict[str, np.ndarray]:
        """The K steps planned from this observation, never ensembled and without touching the queue.

        Returns numpy arrays: kind, key (K,); point, point2, scroll (K, 2) normalised; kind_probs,
        key_probs (K, n); point_prob (K,); intent () id (0 = none named), intent_probs (n,).
        """
        planned = self.predict_chunk_batch(*self._observation(obs), *self._own_actions())
        p = {k: v[0].cpu().numpy() for k, v in planned.items()}
        p["kind"], p["key"] = p["kind_probs"].argmax(-1), p["key_probs"].argmax(-1)
        p["intent"] = np.asarray(named_intent(p["intent_probs"]))
        return p

    def _env_action(self, step: dict[str, np.ndarray]) -> dict[str, Any]:
        kind = int(step["kind_probs"].argmax())
        return {
            "kind": kind,
            "point": np.clip(step["point"], 0, 1).astype(np.float32),
            "point2": np.clip(step["point2"], 0, 1).astype(np.float32),
            "key": int(step["key_probs"].argmax()) if kind == self.key_kind else 0,
            "scroll": step["scroll"].astype(np.float32),
        }

    # The rollout hooks (act.eval.protocol.Policy) this policy does not need: it sees only observations.
    needs_info = False

    def begin_episode(self, env_id: str, seed: int, perturbation: str) -> None:
        """Nothing to do: ``reset`` starts an episode."""

    def bind(self, env: Any) -> None:
        """Nothing to do: the policy never reads the env, only its observations."""

    def reset(self) -> None:
        """Start an episode: a fresh executor for ``config.execution`` (its queue, ensembler or
        reference screen forgotten) and ``policy_calls`` back to 0. Call at every episode start."""
        self._executor = build_executor(
            from_config(self.config),
            self.config.chunk_size,
            self.pointer_kinds.tolist(),
            self.key_kind,
            self.key_effects,
        )
        self.typed = 0  # characters of the span typed so far, from this policy's own key actions
        self.prev_kind = 0  # 1 + the kind of this policy's last action, 0 before the first
        self._before = (0, 0)  # both, before the last select_action (``executed`` goes back to them)
        self.stated_intent: str | None = None  # the intent of the chunk planned last (None: none named)

    def _own_actions(self) -> tuple[torch.Tensor, torch.Tensor]:
        """What this policy knows from its own actions: the typed count and 1 + its last kind, (1,) each."""
        return torch.tensor([self.typed]), torch.tensor([self.prev_kind])

    @property
    def policy_calls(self) -> int:
        """Chunks planned by ``select_action`` (model calls) since ``reset()`` (act.eval.protocol.Policy)."""
        return self._executor.calls

    def select_action(self, obs: dict[str, Any]) -> dict[str, Any]:
        """One env action, from the chunks planned so far or a new one, as ``config.execution`` says:
        a queue of n_action_steps planned steps by default, a model call per step when
        ``temporal_ensemble_coeff`` is set (act.policy.execution)."""
        action = self._executor.act(obs, lambda: self._plan(obs), self._env_action)
        self._before = (self.typed, self.prev_kind)
        self._remember(action)
        return action

    def executed(self, action: dict[str, Any]) -> None:
        """The env ran ``action`` instead of the one ``select_action`` just gave (DAgger's expert acting
        for the policy): the typed count and the last action follow what ran."""
        self.typed, self.prev_kind = self._before
        self._remember(action)

    def _remember(self, action: dict[str, Any]) -> None:
        kind = int(action["kind"])
        key = self.action_space.keys.token(int(action["key"])) if kind == self.key_kind else None
        self.typed = next_typed_count(self.typed, key)
        self.prev_kind = kind + 1

    def _plan(self, obs: dict[str, Any]) -> dict[str, torch.Tensor]:
        """One model call: the chunk's executed fields, (1, K, ...) each."""
        p = self.predict_chunk_batch(*self._observation(obs), *self._own_actions())
        i = named_intent(p["intent_probs"][0].float().cpu().numpy())
        self.stated_intent = self.intent_vocab.token(i) if i else None
        fields = ("kind_probs", "key_probs", "point", "point2", "scroll", "copy_probs")
        return {k: p[k] for k in fields if k in p}  # copy_probs: key_copy (adaptive reads the spans)

    def explain(self, obs: dict[str, Any], steps: int | None = None) -> Explanation:
        """The intent and the first ``steps`` (default n_action_steps) planned steps, in logical pixels
        of ``obs['screen']``. Stateless: uses ``predict_chunk``, leaves the queue alone."""
        p = self.predict_chunk(obs)
        height, width = np.asarray(obs["screen"]).shape[:2]
        n = self.config.n_action_steps if steps is None else steps
        arrays = {k: p[k][:n] for k in ("kind", "point", "point2", "key", "scroll")}
        intent = int(p["intent"])
        seeks: list[str] = []
        if "seek_probs" in p:  # the words the planned clicks look for, as the reading pointer says
            rendered = self.config.reading == "rendered"
            spans = span_words_of(self.instruction_ids(obs["instruction"])[0].tolist()) if rendered else []
            for i, k in enumerate(arrays["kind"]):
                w = int(p["seek_probs"][i].argmax())
                if (
                    self.pointer_kinds[int(k)]
                    and w >= (1 if rendered else 2)
                    and p["seek_probs"][i, w] >= 0.3
                ):
                    seeks.append(spans[w - 1] if rendered else self.instruction_vocab.token(w))
        return Explanation(
            intent=self.intent_vocab.token(intent) if intent >= 2 else None,
            intent_prob=float(p["intent_probs"][intent]) if intent >= 2 else 0.0,
            steps=self.action_space.decode(arrays, width, height),
            step_probs=[float(p["kind_probs"][i, k]) for i, k in enumerate(arrays["kind"])],
            seeks=[w for i, w in enumerate(seeks) if i == 0 or w != seeks[i - 1]],
        )

    def optimize_for_cpu(self, bf16: bool = False) -> ACTPolicy:
        """Faster batch-1 inference on an x86 CPU: weights pre-packed per matrix shape
        (``act.policy.cpu_inference``), with the same fp32 results, or (``bf16``) as bf16 copies that
        halve the bytes each chunk reads (results differ in the third significant digit; a no-op on a
        CPU without native bf16). Training and autograd are unaffected. Returns self."""
        from act.policy.cpu_inference import optimize_for_cpu

        optimize_for_cpu(self, bf16=bf16)
        return self

    # ---- save / load (torch + safetensors + json only)

    def save_pretrained(self, directory: str | Path) -> Path:
        """Write config.json (with vocabularies and action space) and model.safetensors."""
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        (d / CONFIG_NAME).write_text(json.dumps(self.config.to_dict(), indent=2) + "\n")
        state = {k: v.detach().cpu().contiguous() for k, v in self.state_dict().items()}
        save_file(state, str(d / WEIGHTS_NAME), metadata={"format": "pt", "policy": "act"})
        return d

    @classmethod
    def from_pretrained(cls, directory: str | Path, device: str | torch.device = "cpu") -> ACTPolicy:
        """Load a saved policy in eval mode on ``device``; refuses pickled or non-safetensors weights.

        Every failure is a ``PolicyLoadError`` (``ConfigError`` for config.json, ``WeightsFormatError``
        for a file that is not safetensors, ``PolicyNotFoundError`` for a missing file) naming the file.
        """
        d = Path(directory)
        config_path, weights = d / CONFIG_NAME, d / WEIGHTS_NAME
        if not config_path.is_file():
            raise PolicyNotFoundError(
                f"{config_path}: no policy config here (expected save_pretrained's output)"
            )
        if not weights.is_file():
            pickles = sorted(p for p in d.iterdir() if p.suffix in PICKLE_SUFFIXES)
            if pickles:
                raise WeightsFormatError(
                    f"{pickles[0]}: refusing to load pickled weights (they can run code); "
                    f"ACTPolicy loads only {WEIGHTS_NAME}"
                )
            raise PolicyNotFoundError(f"{weights}: missing; ACTPolicy loads only {WEIGHTS_NAME}")
        config = ACTConfig.from_json(config_path)
        with weights.open("rb") as f:
            head = f.read(9)
        # safetensors: an 8-byte little-endian header length, then the JSON header ('{'). A pickle
        # starts with 0x80 and a torch.save zip with 'PK' — but so may a header length, so the
        # JSON brace decides.
        is_safetensors = len(head) == 9 and head[8:9] == b"{"
        if not is_safetensors and (head[:1] == b"\x80" or head[:2] == b"PK"):
            raise WeightsFormatError(
                f"{weights}: this is a pickle / torch.save file, not safetensors; refusing it"
            )
        try:
            state = load_file(str(weights), device="cpu")
        except (SafetensorError, OSError, ValueError) as e:
            raise WeightsFormatError(f"{weights}: not a valid safetensors file ({e})") from e
        try:
            policy = cls(config)
        except (RuntimeError, ValueError) as e:
            raise PolicyLoadError(f"{config_path}: cannot build the policy it describes ({e})") from e
        expected = policy.state_dict()
        # strict loading forgives a missing BatchNorm num_batches_tracked: demand every tensor
        missing, unexpected = sorted(set(expected) - set(state)), sorted(set(state) - set(expected))
        if missing or unexpected:
            raise PolicyLoadError(
                f"{weights}: does not fit the policy in {config_path}: "
                f"missing tensors {missing}, unexpected tensors {unexpected}"
            )
        for name, tensor in state.items():
            # load_state_dict would convert dtypes silently (float64 -> float32 loses precision)
            if name in expected and tensor.dtype != expected[name].dtype:
                raise PolicyLoadError(
                    f"{weights}: tensor {name!r} is {tensor.dtype}, the policy in {config_path} "
                    f"expects {expected[name].dtype}"
                )
        try:
            policy.load_state_dict(state, strict=True)
        except RuntimeError as e:  # missing, unexpected or differently shaped tensors
            raise PolicyLoadError(f"{weights}: does not fit the policy in {config_path}: {e}") from e
        return policy.to(device).eval()
