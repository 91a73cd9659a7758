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
from act.spaces.vocab import Vocabulary


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
    target box) and key accuracy, overall and by position in the chunk; intent accuracy (the chunk's
    intent against the demonstration's segment label) and typed-string exact match (every key of a
    demonstrated string predicted right at its own frame, re-planning each step); all of them overall
    and per task (``tasks``).

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
    intents = Vocabulary(c.intent_vocab)
    data_intents = Vocabulary(info.intent_vocab).tokens
    intent_map = torch.tensor([intents.id(t) for t in data_intents])  # dataset intent id -> policy's
    pointer = torch.tensor([k in POINTER_KINDS for k in space.kinds])
    key_kind = space.kinds.index("key")
    k = c.chunk_size
    sums: dict[str, dict[str, torch.Tensor]] = {}  # task -> counter -> (K,) sums by chunk position
    typed: dict[
        tuple[int, int], bool
    ] = {}  # (episode, step) of each demonstrated key step -> predicted right
    seen = 0
    for batch in DataLoader(ds, batch_size=batch_size):
        out = policy.predict_chunk_batch(
            batch["image"], policy.instruction_input(batch), batch["typed"][:, 0], batch["prev_kind"][:, 0]
        )
        valid = ~batch["is_pad"]  # (B, K)
        kind = batch["kind"]
        box = batch["target"]  # (B, K, 4)
        kind_ok = out["kind_probs"].argmax(-1).cpu() == kind  # (B, K)
        key_ok = out["key_probs"].argmax(-1).cpu() == key_map[batch["key"]]  # (B, K)
        intent_ok = out["intent_probs"].argmax(-1).cpu() == intent_map[batch["intent"]]  # (B,)
        labelled = batch["intent"] > 1  # a segment label (0: none, 1: unknown)
        has = valid & pointer[kind] & (box[..., 0] >= 0)
        is_key = valid & (kind == key_kind)
        counts = {
            "kind": kind_ok & valid,
            "kind_n": valid,
            "in_target": point_in_box(out["point"].cpu(), box) & has,
            "target_n": has,
            "key": key_ok & is_key,
            "key_n": is_key,
        }
        tasks = [info.episodes[int(e)]["task"] if info.episodes else "" for e in batch["episode_index"]]
        for i, task in enumerate(tasks):
            for t in (task, ALL):
                acc = sums.setdefault(t, {name: torch.zeros(k) for name in (*counts, "intent", "intent_n")})
                for name, v in counts.items():
                    acc[name] += v[i]
                acc["intent"][0] += float(intent_ok[i] & labelled[i])
                acc["intent_n"][0] += float(labelled[i])
            if is_key[i, 0]:  # the step executed now types: re-planning every step, is its key right?
                typed[(int(batch["episode_index"][i]), int(batch["step_index"][i]))] = bool(
                    kind_ok[i, 0] & key_ok[i, 0]
                )
        seen += len(kind)
        if max_samples and seen >= max_samples:
            break

    def rate(num: torch.Tensor, den: torch.Tensor) -> tuple[float | None, list[float | None]]:
        total = float(num.sum() / den.sum()) if den.sum() > 0 else None
        return total, [float(a / b) if b > 0 else None for a, b in zip(num, den)]

    def metrics(acc: dict[str, torch.Tensor], runs: list[bool]) -> dict[str, Any]:
        out: dict[str, Any] = {"by_position": {}}
        for name, num, den in [
            ("kind_accuracy", "kind", "kind_n"),
            ("click_in_target", "in_target", "target_n"),
            ("key_accuracy", "key", "key_n"),
        ]:
            out[name], out["by_position"][name] = rate(acc[num], acc[den])
            out[f"{name}_n"] = int(acc[den].sum())
        out["intent_accuracy"] = rate(acc["intent"], acc["intent_n"])[0]
        out["typed_exact"] = sum(runs) / len(runs) if runs else None
        out["typed_n"] = len(runs)
        return out

    runs = typed_runs(typed)  # (episode, all keys right) per string typed
    task_of = {i: e["task"] for i, e in enumerate(info.episodes)}
    result: dict[str, Any] = {
        "samples": seen,
        "episodes": len(episodes),
        **metrics(sums.get(ALL) or {n: torch.zeros(k) for n in _COUNTERS}, [ok for _, ok in runs]),
        "tasks": {
            t: metrics(acc, [ok for e, ok in runs if task_of.get(e) == t])
            for t, acc in sorted(sums.items())
            if t != ALL
        },
    }
    return result


ALL = "*"  # the counters over every task
_COUNTERS = ("kind", "kind_n", "in_target", "target_n", "key", "key_n", "intent", "intent_n")


def typed_runs(typed: dict[tuple[int, int], bool]) -> list[tuple[int, bool]]:
    """Demonstrated key steps (episode, step) -> whether each predicted right, grouped into runs of
    consecutive steps of one episode (a string typed, with its enter or tab): (episode, every key right)
    per run. Typed-string exact match is the share of runs whose every key is right."""
    runs: list[tuple[int, bool]] = []
    last: tuple[int, int] | None = None
    for (episode, step), ok in sorted(typed.items()):
        if last is not None and episode == last[0] and step == last[1] + 1:
            runs[-1] = (episode, runs[-1][1] and ok)
        else:
            runs.append((episode, ok))
        last = (episode, step)
    return runs


def format_offline(result: dict[str, Any]) -> str:
    def pct(v: float | None) -> str:
        return "–" if v is None else f"{100 * v:.0f}%"

    lines = [f"offline metrics on {result['samples']} samples of {result['episodes']} held-out episodes"]
    for name in ("kind_accuracy", "click_in_target", "key_accuracy"):
        by = " ".join(pct(v) for v in result["by_position"][name])
        lines.append(f"  {name:16s} {pct(result[name]):>5s}  by chunk position: {by}")
    lines.append(f"  {'intent_accuracy':16s} {pct(result['intent_accuracy']):>5s}")
    lines.append(
        f"  {'typed_exact':16s} {pct(result['typed_exact']):>5s}  over {result['typed_n']} typed strings"
    )
    names = ("kind_accuracy", "click_in_target", "key_accuracy", "typed_exact", "intent_accuracy")
    rows = [["task", *names]] + [[t, *(pct(m[n]) for n in names)] for t, m in result.get("tasks", {}).items()]
    widths = [max(len(r[i]) for r in rows) for i in range(len(names) + 1)]
    lines += ["  " + "  ".join(v.ljust(w) for v, w in zip(r, widths)) for r in rows]
    return "\n".join(lines)


__all__ = ["format_offline", "offline_metrics"]
