"""Offline metrics on held-out recordings: how well a policy's planned chunk matches the demonstration,
by position in the chunk (no env needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader

from act.data import ChunkDataset, DatasetInfo, split_episodes
from act.policy.modeling_act import point_in_box
from act.recording.schema import POINTER_KINDS
from act.spaces.action_space import ActionSpace


def offline_metrics(
    policy: Any,
    dataset_dir: str | Path,
    episodes: list[int] | None = None,
    *,
    val_fraction: float | None = 0.1,
    seed: int = 0,
    batch_size: int = 64,
    max_samples: int | None = None,
) -> dict[str, Any]:
    """Action-kind accuracy, click-in-target rate (predicted pointer inside the demonstrated action's
    target box) and key accuracy, overall and by position in the chunk.

    ``episodes``: which episodes of the dataset; default: the validation split that ``ActDataModule``
    makes with the same ``val_fraction`` and ``seed`` (all episodes when ``val_fraction`` is None).
    """
    info = DatasetInfo.load(dataset_dir)
    if episodes is None:
        episodes = (
            list(range(info.num_episodes))
            if val_fraction is None
            else split_episodes(info.num_episodes, val_fraction, seed)[1]
        )
    c = policy.config
    if tuple(info.image_size) != tuple(c.image_size):
        raise ValueError(
            f"{dataset_dir} holds {tuple(info.image_size)} frames, the policy sees {tuple(c.image_size)}: "
            "build the held-out dataset at the policy's image size"
        )
    ds = ChunkDataset(
        dataset_dir,
        c.chunk_size,
        episodes,
        instruction_vocab=c.instruction_vocab,
        instruction_max_len=c.instruction_max_len,
    )
    space = policy.action_space
    data_space = ActionSpace.from_json(info.action_space)
    key_map = torch.tensor(
        [space.keys.id(t) for t in data_space.keys.tokens]
    )  # dataset key id -> policy key id
    pointer = torch.tensor([k in POINTER_KINDS for k in space.kinds])
    key_kind = space.kinds.index("key")
    k = c.chunk_size
    sums = {name: torch.zeros(k) for name in ("kind", "kind_n", "in_target", "target_n", "key", "key_n")}
    seen = 0
    for batch in DataLoader(ds, batch_size=batch_size):
        out = policy.predict_chunk_batch(batch["image"], batch["instruction"])
        valid = ~batch["is_pad"]  # (B, K)
        kind = batch["kind"]
        sums["kind"] += ((out["kind_probs"].argmax(-1).cpu() == kind) & valid).sum(0)
        sums["kind_n"] += valid.sum(0)
        box = batch["target"]  # (B, K, 4)
        has = valid & pointer[kind] & (box[..., 0] >= 0)
        inside = point_in_box(out["point"].cpu(), box)  # (B, K)
        sums["in_target"] += (inside & has).sum(0)
        sums["target_n"] += has.sum(0)
        is_key = valid & (kind == key_kind)
        sums["key"] += ((out["key_probs"].argmax(-1).cpu() == key_map[batch["key"]]) & is_key).sum(0)
        sums["key_n"] += is_key.sum(0)
        seen += len(kind)
        if max_samples and seen >= max_samples:
            break

    def rate(num: torch.Tensor, den: torch.Tensor) -> tuple[float | None, list[float | None]]:
        total = float(num.sum() / den.sum()) if den.sum() > 0 else None
        return total, [float(a / b) if b > 0 else None for a, b in zip(num, den)]

    result: dict[str, Any] = {"samples": seen, "episodes": len(episodes), "by_position": {}}
    for name, num, den in [
        ("kind_accuracy", "kind", "kind_n"),
        ("click_in_target", "in_target", "target_n"),
        ("key_accuracy", "key", "key_n"),
    ]:
        result[name], result["by_position"][name] = rate(sums[num], sums[den])
        result[f"{name}_n"] = int(sums[den].sum())
    return result


def format_offline(result: dict[str, Any]) -> str:
    def pct(v: float | None) -> str:
        return "–" if v is None else f"{100 * v:.0f}%"

    lines = [f"offline metrics on {result['samples']} samples of {result['episodes']} held-out episodes"]
    for name in ("kind_accuracy", "click_in_target", "key_accuracy"):
        by = " ".join(pct(v) for v in result["by_position"][name])
        lines.append(f"  {name:16s} {pct(result[name]):>5s}  by chunk position: {by}")
    return "\n".join(lines)


__all__ = ["format_offline", "offline_metrics"]
