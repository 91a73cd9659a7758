"""LeRobot's continuous action vector for our action space: layout, flatten, decode."""

from __future__ import annotations

import numpy as np
import torch


def flat_layout(num_kinds: int, num_keys: int) -> dict[str, slice]:
    """Where each field sits in LeRobot's continuous action vector (one step).

    [kind one-hot (num_kinds) | point x, y | point2 x, y | key one-hot (num_keys) | scroll dx, dy]:
    points normalised to [0, 1], scroll in wheel ticks; key id 0 (none) is its own slot.
    """
    sizes = {"kind": num_kinds, "point": 2, "point2": 2, "key": num_keys, "scroll": 2}
    out, start = {}, 0
    for name, n in sizes.items():
        out[name] = slice(start, start + n)
        start += n
    return out


def flat_dim(num_kinds: int, num_keys: int) -> int:
    return num_kinds + 4 + num_keys + 2


def flatten_actions(batch: dict[str, torch.Tensor], num_kinds: int, num_keys: int) -> torch.Tensor:
    """ChunkDataset actions -> (B, K, A) float vectors (zeros under ``is_pad``)."""
    layout = flat_layout(num_kinds, num_keys)
    kind, key = batch["kind"].long(), batch["key"].long()  # (B, K)
    out = torch.zeros(*kind.shape, flat_dim(num_kinds, num_keys))  # (B, K, A)
    out[..., layout["kind"]] = torch.nn.functional.one_hot(kind, num_kinds).float()
    out[..., layout["point"]] = batch["point"].float()
    out[..., layout["point2"]] = batch["point2"].float()
    out[..., layout["key"]] = torch.nn.functional.one_hot(key, num_keys).float()
    out[..., layout["scroll"]] = batch["scroll"].float()
    return out * (~batch["is_pad"].bool())[..., None]


def decode_flat(vec: np.ndarray, num_kinds: int, num_keys: int) -> dict[str, np.ndarray]:
    """(..., A) vectors -> kind, key (...) by argmax over their slots; point, point2 clipped to [0, 1];
    scroll as it is."""
    layout = flat_layout(num_kinds, num_keys)
    v = np.asarray(vec, np.float32)
    return {
        "kind": v[..., layout["kind"]].argmax(-1),
        "point": np.clip(v[..., layout["point"]], 0, 1),
        "point2": np.clip(v[..., layout["point2"]], 0, 1),
        "key": v[..., layout["key"]].argmax(-1),
        "scroll": v[..., layout["scroll"]],
    }
