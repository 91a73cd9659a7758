"""Demonstrations from the scripted experts, written as format-v1 recordings; `act-generate`'s work.

``generate(tasks, episodes, ...)`` writes ``episodes`` successful expert episodes of each task to
``out_dir/<task>/ep_<seed>`` (see ``act.envs.generation``, which does it for every backend: this
module is synthui's backend, and hands ``env='miniwob'`` over to ``act.envs.miniwob.generate``).
``run_generate`` adds the contact sheet and the summary `act-generate` prints.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from act.envs import generation
from act.envs.generation import ACTION_OFFSET, STEP_SECONDS, Backend, action_event
from act.envs.perturbations import format_spec, parse_spec


def resolve_tasks(tasks: str | Sequence[str] | None) -> list[str]:
    """'synthui' / 'all' / None -> every task; 'synthui/ClickButton-v0' or 'ClickButton' -> that task."""
    from act.envs.synthui import TASKS

    if tasks is None or isinstance(tasks, str):
        tasks = [tasks or "all"]
    out: list[str] = []
    for t in tasks:
        t = str(t)
        if t in ("synthui", "all"):
            out += list(TASKS)
            continue
        name = t.split("/")[-1].rsplit("-v", 1)[0]
        if name not in TASKS:
            raise ValueError(f"unknown synthui task {t!r}; known tasks: {', '.join(TASKS)}")
        out.append(name)
    return list(dict.fromkeys(out))


def check_spec(perturbation: Any) -> str:
    """The perturbation as a canonical spec string (ValueError naming an unknown family or bad severity)."""
    return format_spec(parse_spec(perturbation))


def make_env(task: str, spec: str, width: int = 160, height: int = 120, variety: float = 0.0) -> Any:
    from act.envs.synthui import SynthUIEnv

    return SynthUIEnv(task, perturbation=spec or None, width=width, height=height, expert_variety=variety)


BACKEND = Backend("synthui", __name__, "synthui", "scripted", options={"width": 160, "height": 120})


def record_episode(env: Any, seed: int, path: str | Path, episode_id: str | None = None) -> dict[str, Any]:
    """Run the scripted expert for one episode of synthui ``env`` and write it to ``path``."""
    return generation.record_episode(BACKEND, env, seed, path, episode_id)


def generate(
    tasks: str | Sequence[str] | None = "synthui",
    episodes: int = 10,
    perturbation: Any = None,
    seed: int = 0,
    out_dir: str | Path = "data/recordings/synthui",
    num_workers: int | None = 1,
    env: str = "synthui",
    progress: bool = True,
    width: int = 160,
    height: int = 120,
    variety: float = 0.0,
) -> list[Path]:
    """Write ``episodes`` successful expert demonstrations of each task; return their directories.

    ``tasks``: task names, env ids, or 'synthui' for all. Episode k of a task uses seed ``seed + k``;
    a seed whose episode fails is skipped for the next one (at most ``2 * episodes + 10`` tries).
    Per-task counts go to ``out_dir/generate.json``; resuming into ``out_dir`` needs the parameters
    it records (``act.envs.generation.check_resume``). ``env='miniwob'`` runs MiniWoB++'s backend.
    ``variety`` (synthui, 0 to 1): how varied the expert's demonstrations are (act.envs.synthui.expert).
    """
    if env in ("miniwob", "act-miniwob"):
        from act.envs.miniwob.generate import BACKEND as MINIWOB

        tasks = None if tasks == "synthui" else tasks  # the default: every task of the backend
        if variety:
            raise ValueError("variety: MiniWoB++'s DOM experts have no variety setting (synthui only)")
        return generation.run(MINIWOB, tasks, episodes, perturbation, seed, out_dir, num_workers, progress)[0]
    if env != "synthui":
        raise ValueError(f"unknown env {env!r}; expected synthui or miniwob")
    if not 0.0 <= variety <= 1.0:
        raise ValueError(f"variety: {variety} must be in [0, 1]")
    # recorded in generate.json only when set, so directories written before the setting still resume
    varied = {"variety": float(variety)} if variety else {}
    return generation.run(
        BACKEND,
        tasks,
        episodes,
        perturbation,
        seed,
        out_dir,
        num_workers,
        progress,
        width=width,
        height=height,
        **varied,
    )[0]


def run_generate(
    env: str = "synthui",
    tasks: str | Sequence[str] | None = "synthui",
    episodes: int = 10,
    perturbation: Any = None,
    seed: int = 0,
    out_dir: str | Path = "data/recordings/synthui",
    num_workers: int | None = 1,
    contact_sheet: bool = True,
    progress: bool = True,
    variety: float = 0.0,
) -> dict[str, Any]:
    """What `act-generate` does: ``generate`` + a contact sheet; returns (and writes) the summary JSON."""
    if env == "desktop":  # the real Tk app: the expert drives it while act-record records
        if variety:
            raise ValueError("variety: the desktop expert has no variety setting (synthui only)")
        from act.envs.desktop import record_experts

        specs = (
            [perturbation] if isinstance(perturbation, str) or perturbation is None else list(perturbation)
        )
        names = None if tasks == "synthui" else (list(tasks) if not isinstance(tasks, str) else [tasks])
        return record_experts(names, episodes, seed, out_dir, perturbations=specs, progress=progress)
    start = time.perf_counter()
    out = Path(out_dir)
    paths = generate(
        tasks, episodes, perturbation, seed, out, num_workers, env=env, progress=progress, variety=variety
    )
    report_file = out / "generate.json"
    report = json.loads(report_file.read_text()) if report_file.is_file() else {"env": env, "tasks": {}}
    report.update(out_dir=str(out), num_episodes=len(paths), seconds=round(time.perf_counter() - start, 2))
    if contact_sheet and env == "synthui":
        from act.envs.contact_sheet import contact_sheet as make_sheet

        report["contact_sheet"] = str(make_sheet(out / "contact_sheet.png", resolve_tasks(tasks), seed=seed))
    report_file.write_text(json.dumps(report, indent=2) + "\n")
    report["summary_file"] = str(report_file)
    return report


def format_summary(report: dict[str, Any]) -> str:
    """The one-screen summary `act-generate` prints."""
    lines = [
        f"act-generate: {report.get('num_episodes', 0)} episodes of {report.get('env')} in "
        f"{report.get('seconds', 0):.1f}s -> {report.get('out_dir')}"
    ]
    if report.get("perturbation"):
        lines.append(f"  perturbation: {report['perturbation']}")
    if any(report.get("perturbations") or []):  # desktop: specs cycled over the seeds
        specs = ", ".join(p or "nominal" for p in report["perturbations"])
        lines.append(f"  perturbations (cycled over seeds): {specs}")
    for task, s in report.get("tasks", {}).items():
        mean = s.get("steps", 0) / max(s.get("recorded", s.get("episodes", 0)), 1)  # this run's episodes
        resumed = f", {s['resumed']} already there" if s.get("resumed") else ""
        failed = f", {len(s['failed'])} set aside" if s.get("failed") else ""
        lines.append(
            f"  {task:16s} {s.get('episodes', 0):5d} episodes"
            f"  expert success {s.get('expert_success', 0):.1%}  {mean:5.1f} steps/episode{resumed}{failed}"
        )
    if report.get("contact_sheet"):
        lines.append(f"  contact sheet: {report['contact_sheet']}")
    if report.get("summary_file"):
        lines.append(f"  summary: {report['summary_file']}")
    return "\n".join(lines)


__all__ = [
    "ACTION_OFFSET",
    "BACKEND",
    "STEP_SECONDS",
    "action_event",
    "format_summary",
    "generate",
    "record_episode",
    "resolve_tasks",
    "run_generate",
]
