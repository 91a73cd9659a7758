"""Demonstrations from the MiniWoB++ DOM experts, written as format-v1 recordings.

MiniWoB++'s generation backend: task names, perturbation checks and envs (each with its own
Chromium, reused across a process's episodes). Everything else (the expert loop, events, intent
segments, timing, retries, ``generate.json``) is ``act.envs.generation``'s, shared with synthui, so
both backends record the same fields. The DOM expert does not set target boxes; ``annotate`` takes
them from the element under the pointer (what it clicked) as the episode is recorded, and
``snapshot`` writes the DOM's visible text elements beside the frames (elements.jsonl), from which
training learns to read; the policy never sees them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from act.envs import generation
from act.envs.generation import Backend
from act.recording.schema import Action

POINTED = ("click", "double_click", "right_click", "scroll")  # the kinds whose event carries a target


def resolve_tasks(tasks: str | Sequence[str] | None) -> list[str]:
    """'miniwob' / 'all' / None -> every task with a DOM expert; 'click-tab' or an env id -> that task."""
    from act.envs.miniwob import TASKS

    if tasks is None or isinstance(tasks, str):
        tasks = [tasks or "all"]
    out: list[str] = []
    unknown = []
    for t in map(str, tasks):
        if t in ("miniwob", "act-miniwob", "all"):
            out += list(TASKS)
            continue
        name = t.removeprefix("act-miniwob/").removeprefix("miniwob/").removesuffix("-v0")
        (out if name in TASKS else unknown).append(name if name in TASKS else t)
    if unknown:
        raise ValueError(
            f"no DOM expert for MiniWoB++ tasks {unknown}; tasks with experts: {', '.join(TASKS)}"
        )
    return list(dict.fromkeys(out))


def check_spec(perturbation: Any) -> str:
    """The perturbation as a canonical spec string (ValueError for a family MiniWoB++ lacks)."""
    from act.envs.miniwob.perturb import check_spec, format_spec

    return format_spec(check_spec(perturbation or None))


def make_env(task: str, spec: str) -> Any:
    from act.envs import make

    return make(task, perturbation=spec or None)


def annotate(action: Action, info: dict[str, Any]) -> Action:
    """``action`` with the box of the innermost element under its pointer as its target, if it has none."""
    if action.kind not in POINTED or action.target is not None:
        return action
    under = [
        e["bbox"]
        for e in info.get("elements", [])
        if e["bbox"][0] <= action.x <= e["bbox"][2] and e["bbox"][1] <= action.y <= e["bbox"][3]
    ]
    if not under:
        return action
    box = min(under, key=lambda b: (b[2] - b[0]) * (b[3] - b[1]))
    return replace(action, target=tuple(box))


def snapshot(info: dict[str, Any]) -> list[dict[str, Any]]:
    """The visible DOM elements that show text, as a recording's element snapshot takes them (role,
    label, box in screen pixels): what each image cell shows, for reading supervision in training."""
    out = []
    for e in info.get("elements", []):
        box = [round(float(v), 1) for v in e["bbox"]]
        if e.get("visible") and e.get("text") and box[0] < box[2] and box[1] < box[3]:
            el = {"role": e["role"], "label": e["text"], "box": box}
            if e.get("text_bbox"):  # a paragraph's text fills part of its block
                el["text_box"] = [round(float(v), 1) for v in e["text_bbox"]]
            out.append(el)
    return out


BACKEND = Backend("miniwob", __name__, "act-miniwob", "dom", final_info=("raw_reward",), close_envs=True)


def record_episode(env: Any, seed: int, path: str | Path, expert: Any = None) -> dict[str, Any]:
    """One expert episode of MiniWoB++ ``env`` at ``seed`` written to ``path``."""
    return generation.record_episode(BACKEND, env, seed, path, expert=expert)


def generate(
    tasks: str | Sequence[str] | None,
    episodes: int,
    perturbation: str = "",
    seed: int = 0,
    out_dir: str | Path = "data/recordings/miniwob",
    num_workers: int | None = None,
    env: str = "miniwob",
    progress: bool = True,
) -> dict[str, Any]:
    """Write ``episodes`` successful expert demonstrations of each MiniWoB++ task under ``out_dir``.

    ``num_workers`` processes (default 1: each runs its own Chromium) share the seeds. Returns (and
    writes to ``out_dir/generate.json``) per-task counts: demonstrations, attempts, failures, errors.
    """
    if env not in ("miniwob", "act-miniwob"):
        raise ValueError(f"act.envs.miniwob.generate makes MiniWoB++ demonstrations; got env={env!r}")
    return generation.run(BACKEND, tasks, episodes, perturbation, seed, out_dir, num_workers, progress)[1]
