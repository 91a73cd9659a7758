"""Image-level augmentation of training samples, as RL from pixels uses it (DrQ, RAD).

Pure functions of a sample dict (``ChunkDataset``'s format) and a random generator: the screen is
zoomed and shifted by whole pixels (``Warp``, edges replicated into the strip it leaves) and its
colours jittered, and every action target that names a place on the screen moves with the pixels:
``point`` of pointer steps, ``point2`` of drags, ``target`` boxes and, where the sample has them,
``cell_words`` (the word each feature cell shows). Colour jitter changes no target.

A warp never pushes a pointer target, or any box passed as ``keep`` (the elements on screen), past
the image's edge: a target off screen cannot be pointed at, and a state pushed off screen (a tick
mark, a tab) cannot be seen, so the demonstration would contradict itself (docs/experiments.md#shift).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from act.recording.schema import POINTER_KINDS
from act.spaces.action_space import KIND_ID

POINTER_IDS = sorted(KIND_ID[k] for k in POINTER_KINDS)
DRAG_ID = KIND_ID["drag"]


@dataclass(frozen=True)
class Augment:
    """What to draw per sample: ``shift`` (a fraction of the image per axis), ``scale`` (zoom in
    [1 - scale, 1 + scale] about the centre), ``jitter`` (brightness, contrast and saturation
    factors in [1 - jitter, 1 + jitter]), each applied to a share ``p`` of the samples."""

    shift: float = 0.0
    scale: float = 0.0
    jitter: float = 0.0
    p: float = 1.0

    def __post_init__(self) -> None:
        for name, hi in (("shift", 0.5), ("scale", 0.5), ("jitter", 1.0)):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and 0.0 <= v < hi):
                raise ValueError(f"augment.{name}: {v!r} must be a number in [0, {hi})")
        if not (isinstance(self.p, (int, float)) and 0.0 <= self.p <= 1.0):
            raise ValueError(f"augment.p: {self.p!r} is not a share of samples in [0, 1]")

    @property
    def enabled(self) -> bool:
        return self.p > 0 and bool(self.shift or self.scale or self.jitter)


@dataclass(frozen=True)
class Warp:
    """out = scale * (src - 0.5) + 0.5 + (dx, dy), in normalised image coordinates ([0, 1] per axis)."""

    scale: float = 1.0
    dx: float = 0.0
    dy: float = 0.0

    @property
    def identity(self) -> bool:
        return self.scale == 1.0 and self.dx == 0.0 and self.dy == 0.0

    def points(self, p: np.ndarray) -> np.ndarray:
        """(..., 2) normalised (x, y) -> where they show after the warp."""
        p = np.asarray(p, np.float64)
        return (self.scale * (p - 0.5) + 0.5 + np.array([self.dx, self.dy])).astype(np.float32)

    def boxes(self, b: np.ndarray) -> np.ndarray:
        """(..., 4) normalised (x0, y0, x1, y1) -> after the warp; rows of -1 (no box) stay -1."""
        b = np.asarray(b, np.float32)
        out = self.points(b.reshape(*b.shape[:-1], 2, 2)).reshape(b.shape)
        return np.where((b == -1).all(-1, keepdims=True), b, out)

    def image(self, image: np.ndarray) -> np.ndarray:
        """uint8 (3, H, W) -> the warped image: nearest source pixel, edges replicated."""
        _, h, w = image.shape
        if self.identity:
            return image.copy()
        cols = _source_index(w, self.scale, self.dx)
        rows = _source_index(h, self.scale, self.dy)
        return image.take(rows, axis=1).take(cols, axis=2)

    def cells(self, cell_words: np.ndarray, rows: int, cols: int) -> np.ndarray:
        """(rows * cols,) word per feature cell -> the word at each cell's centre after the warp
        (0 where the centre shows what lay outside the image)."""
        grid = np.asarray(cell_words).reshape(rows, cols)
        cx = (np.arange(cols) + 0.5) / cols
        cy = (np.arange(rows) + 0.5) / rows
        sx = (cx - 0.5 - self.dx) / self.scale + 0.5  # where each cell centre comes from
        sy = (cy - 0.5 - self.dy) / self.scale + 0.5
        ix, iy = np.floor(sx * cols).astype(int), np.floor(sy * rows).astype(int)
        ok = ((ix >= 0) & (ix < cols))[None, :] & ((iy >= 0) & (iy < rows))[:, None]
        out = grid[iy.clip(0, rows - 1)[:, None], ix.clip(0, cols - 1)[None, :]]
        return np.where(ok, out, 0).reshape(-1)


def _source_index(n: int, scale: float, shift: float) -> np.ndarray:
    """For each of n output pixels along an axis, the source pixel it shows (clipped: replicate)."""
    centre = (np.arange(n) + 0.5) / n
    src = (centre - 0.5 - shift) / scale + 0.5
    return np.clip(np.floor(src * n + 1e-9), 0, n - 1).astype(np.int64)


def draw_warp(
    rng: np.random.Generator,
    shift: float,
    scale: float,
    size: tuple[int, int],
    keep: np.ndarray | None = None,
) -> Warp:
    """A random zoom in [1 - scale, 1 + scale] and a whole-pixel shift of up to ``shift`` per axis
    that keeps every box of ``keep`` ((N, 4) normalised; points as zero-size boxes) inside the
    image; a zoom that leaves no such shift falls back to none, a shift with no room to 0."""
    h, w = size
    s = float(rng.uniform(1.0 - scale, 1.0 + scale)) if scale > 0 else 1.0
    tx, ty = rng.random(2)  # drawn whatever the room, so one sample's draws never shift the next's
    boxes = np.zeros((0, 4)) if keep is None else np.asarray(keep, np.float64).reshape(-1, 4)
    for zoom in (s, 1.0):
        offsets = []
        for axis, n, u in ((0, w, tx), (1, h, ty)):
            lo, hi = -shift, shift
            if len(boxes):  # zoom * (b - 0.5) + 0.5 + t must stay in [0, 1]
                a = zoom * (boxes[:, [axis, axis + 2]] - 0.5) + 0.5
                lo, hi = max(lo, -a.min()), min(hi, 1.0 - a.max())
            first, last = math.ceil(lo * n - 1e-9), math.floor(hi * n + 1e-9)  # whole pixels
            offsets.append(
                None if first > last else (first + min(int(u * (last - first + 1)), last - first)) / n
            )
        if None not in offsets:
            return Warp(zoom, offsets[0], offsets[1])
    return Warp()


def jitter_colours(image: np.ndarray, rng: np.random.Generator, strength: float) -> np.ndarray:
    """uint8 (3, H, W) with brightness, contrast (about the mean grey) and saturation (about each
    pixel's grey), in that order, each scaled by a factor in [1 - strength, 1 + strength]; positions
    are untouched. The three are linear, so they fold into one pass: A x + B grey(x) + C."""
    fb, fc, fs = (float(f) for f in rng.uniform(1.0 - strength, 1.0 + strength, 3))
    x = image.astype(np.float32)
    grey = 0.299 * x[0] + 0.587 * x[1] + 0.114 * x[2]  # (H, W)
    mean = float(grey.mean())
    out = (fs * fc * fb) * x + ((1.0 - fs) * fc * fb) * grey + (1.0 - fc) * fb * mean
    return np.rint(out.clip(0, 255)).astype(np.uint8)


def augment_sample(
    sample: dict[str, torch.Tensor],
    rng: np.random.Generator,
    aug: Augment,
    cells: tuple[int, int] | None = None,
    keep: np.ndarray | None = None,
) -> tuple[dict[str, torch.Tensor], Warp]:
    """A sample (``ChunkDataset``'s keys) augmented by ``aug``, and the warp its pixels took.

    Pointer steps' ``point`` (drags' ``point2`` too) and every ``target`` box move with the pixels;
    padded steps and keys do not. ``cell_words`` (with ``cells`` = (rows, cols)) are resampled at the
    warped cell centres; a caller with the element boxes can instead relabel them exactly from
    ``warp``. ``keep``: (N, 4) normalised boxes that must stay on screen (the visible elements), on
    top of the sample's own pointer targets. The input sample is not changed."""
    out = dict(sample)
    draws = rng.random(2)  # (augmented at all?, jitter this one?) drawn for every sample alike
    if not aug.enabled or draws[0] >= aug.p:
        return out, Warp()
    kind = sample["kind"].numpy()
    live = ~sample["is_pad"].numpy()
    pointer = live & np.isin(kind, POINTER_IDS)
    drag = live & (kind == DRAG_ID)
    point, point2 = sample["point"].numpy(), sample["point2"].numpy()
    must = [np.tile(point[pointer], (1, 2)), np.tile(point2[drag], (1, 2))]  # points as (x, y, x, y)
    if keep is not None:
        must.append(np.asarray(keep, np.float64).reshape(-1, 4))
    warp = Warp()
    if aug.shift or aug.scale:
        h, w = sample["image"].shape[1:]
        warp = draw_warp(rng, aug.shift, aug.scale, (h, w), np.concatenate(must, 0))
    image = sample["image"].numpy()
    if not warp.identity:
        image = warp.image(image)
        out["point"] = torch.from_numpy(np.where(pointer[:, None], warp.points(point), point))
        out["point2"] = torch.from_numpy(np.where(drag[:, None], warp.points(point2), point2))
        out["target"] = torch.from_numpy(warp.boxes(sample["target"].numpy()))
        for key in ("cell_words", "cell_spans"):  # reading targets move with the cells
            if key in sample and cells is not None:
                out[key] = torch.from_numpy(warp.cells(sample[key].numpy(), *cells))
    if aug.jitter:
        image = jitter_colours(image, rng, aug.jitter)
    out["image"] = torch.from_numpy(np.ascontiguousarray(image))
    return out, warp


def augment_of(value: Any) -> Augment | None:
    """An ``Augment`` from one or from anything with its fields (a config); None when it would change
    nothing."""
    if value is None:
        return None
    aug = value if isinstance(value, Augment) else Augment(value.shift, value.scale, value.jitter, value.p)
    return aug if aug.enabled else None


class AugmentedDataset(torch.utils.data.Dataset):
    """A map-style dataset (e.g. ``ChunkDataset``) whose samples come out augmented: every read of a
    sample draws a new augmentation from the torch RNG (one 63-bit seed per read), which Lightning's
    ``seed_everything`` seeds in the main process and in each DataLoader worker, so a run is
    reproducible and each epoch sees other shifts. ``cells`` = (rows, cols): ``cell_words`` move too."""

    def __init__(self, dataset, aug: Augment, cells: tuple[int, int] | None = None):
        self.dataset, self.aug, self.cells = dataset, aug, cells

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        rng = np.random.default_rng(int(torch.randint(0, 2**63 - 1, ())))
        return augment_sample(self.dataset[i], rng, self.aug, self.cells)[0]
