"""Demonstrations from the scripted experts, written as format-v1 recordings.

``generate(tasks, episodes, ...)`` writes ``episodes`` successful expert episodes of each task to
``out_dir/<task>/ep_<seed>``: one frame before each action (and the final screen), one merged event
per action carrying its intent, intent segments, and meta.json with the outcome, the perturbation
(spec and drawn parameters) and the seed in ``extra``. Work is spread over processes (spawn-safe);
finished episodes are kept, so an interrupted run resumes.

Each step is ``STEP_SECONDS`` of recording time: far enough apart that event merging never fuses two
steps (a double-click needs < 0.4 s) and close enough that no idle waits are inserted (> 1 s).
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Sequence
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from act.envs.perturbations import format_spec, parse_spec
from act.recording.io import EpisodeWriter
from act.recording.schema import Action, EpisodeMeta, Event, Intent, Screen

STEP_SECONDS = 0.5
ACTION_OFFSET = 0.05  # an action comes this long after the frame it was chosen from


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


def action_event(a: Action, t: float) -> Event:
    """One expert action as one merged event of the recording format."""
    if a.kind in ("click", "double_click", "right_click"):
        button = "right" if a.kind == "right_click" else "left"
        return Event(t, a.kind, x=a.x, y=a.y, button=button, intent=a.intent, target=a.target)
    if a.kind == "drag":
        return Event(
            t,
            "drag",
            x=a.x,
            y=a.y,
            x2=a.x2,
            y2=a.y2,
            button="left",
            path=((a.x, a.y), (a.x2, a.y2)),
            intent=a.intent,
        )
    if a.kind == "scroll":
        return Event(t, "scroll", x=a.x, y=a.y, dx=a.dx, dy=a.dy, intent=a.intent, target=a.target)
    if a.kind == "key":
        return Event(t, "key", key=a.key, intent=a.intent)
    return Event(t, "wait", intent=a.intent)


def record_episode(env: Any, seed: int, path: str | Path, episode_id: str | None = None) -> dict[str, Any]:
    """Run the scripted expert for one episode of ``env`` and write it to ``path``."""
    from act.envs.synthui import expert_for

    base = env.unwrapped
    expert = expert_for(env)
    obs, info = env.reset(seed=seed)
    screen = Screen(base.width, base.height)
    meta = EpisodeMeta(
        episode_id=episode_id or f"synthui-{base.task_name}-{seed:06d}",
        source="synthui",
        task=base.task_name,
        instruction=obs["instruction"],
        screen=screen,
        perturbation=base.perturbation_meta(),
        extra={
            "seed": int(seed),
            "env_id": f"synthui/{base.task_name}-v0",
            "expert": "scripted",
            "step_seconds": STEP_SECONDS,
        },
    )
    segments: list[list[Any]] = []  # [t0, t1, label]
    steps = 0
    with EpisodeWriter(path, meta) as w:
        while True:
            t = steps * STEP_SECONDS
            w.add_frame(obs["screen"], t)
            action = expert.act(obs, info)
            at = round(t + ACTION_OFFSET, 3)
            w.add_event(action_event(action, at))
            if segments and segments[-1][2] == action.intent:
                segments[-1][1] = at
            elif action.intent:
                segments.append([at, at, action.intent])
            obs, _, terminated, truncated, info = env.step(base.to_env_action(action))
            steps += 1
            if terminated or truncated:
                break
        w.add_frame(obs["screen"], steps * STEP_SECONDS)
        for t0, t1, label in segments:
            w.add_intent(Intent(t0, t1, label))
        w.finish(success=bool(info["success"]), steps=steps, off_target=int(info["off_target"]))
    return {"success": bool(info["success"]), "steps": steps}


_ENVS: dict[tuple, Any] = {}


def _job(task: str, perturbation: str, seed: int, path: str, width: int, height: int) -> dict[str, Any]:
    """Record one episode in a worker process (envs are cached per process)."""
    from act.envs.synthui import SynthUIEnv

    key = (task, perturbation, width, height)
    if key not in _ENVS:
        _ENVS[key] = SynthUIEnv(task, perturbation=perturbation or None, width=width, height=height)
    out = {"task": task, "seed": seed, "path": path, "success": False, "steps": 0, "error": None}
    try:
        slug = f"-{perturbation.replace(':', '').replace(',', '_')}" if perturbation else ""
        out.update(record_episode(_ENVS[key], seed, path, episode_id=f"synthui-{task}{slug}-{seed:06d}"))
    except Exception as e:  # noqa: BLE001 - reported per episode; the run goes on
        out["error"] = f"{type(e).__name__}: {e}"
    if not out["success"]:
        shutil.rmtree(path, ignore_errors=True)
    return out


def _done(path: Path) -> bool:
    """A finished, successful episode already on disk."""
    try:
        meta = json.loads((path / "meta.json").read_text())
    except (OSError, ValueError):
        return False
    return bool(meta.get("complete") and meta.get("success"))


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
) -> list[Path]:
    """Write ``episodes`` successful expert demonstrations of each task; return their directories.

    ``tasks``: task names, env ids, or 'synthui' for all. Episode k of a task uses seed ``seed + k``;
    a seed whose episode fails is skipped for the next one (at most ``2 * episodes + 10`` tries).
    Per-task counts go to ``out_dir/generate.json``. ``env='miniwob'`` hands over to
    ``act.envs.miniwob.generate``.
    """
    from tqdm.auto import tqdm

    out = Path(out_dir)
    if env != "synthui":
        if env in ("miniwob", "act-miniwob"):
            from act.envs.miniwob.generate import generate as miniwob_generate
            from act.recording import find_episodes

            miniwob_generate(
                list(tasks or []), episodes, perturbation or "", seed, out, num_workers, env, progress
            )
            return find_episodes(out)
        raise ValueError(f"unknown env {env!r}; expected synthui or miniwob")
    names = resolve_tasks(tasks)
    spec = format_spec(parse_spec(perturbation))
    out.mkdir(parents=True, exist_ok=True)
    workers = max(1, int(num_workers or 1))
    start = time.perf_counter()
    summary = {t: {"episodes": 0, "attempts": 0, "failures": 0, "steps": 0, "errors": []} for t in names}
    paths: dict[str, list[tuple[int, Path]]] = {t: [] for t in names}
    next_seed = dict.fromkeys(names, seed)
    bar = tqdm(total=episodes * len(names), desc="synthui demos", unit="ep", disable=not progress)
    pool = get_context("spawn").Pool(workers) if workers > 1 else None
    try:
        while True:
            jobs = []
            for t in names:
                s = summary[t]
                for _ in range(episodes - s["episodes"] - sum(1 for j in jobs if j[0] == t)):
                    if s["attempts"] >= 2 * episodes + 10:
                        break
                    k = next_seed[t]
                    next_seed[t] += 1
                    s["attempts"] += 1
                    path = out / t / f"ep_{k:06d}"
                    if _done(path):
                        s["episodes"] += 1
                        paths[t].append((k, path))
                        bar.update()
                        continue
                    shutil.rmtree(path, ignore_errors=True)
                    jobs.append((t, spec, k, str(path), width, height))
            if not jobs:
                break
            results = pool.imap_unordered(_star_job, jobs, chunksize=4) if pool else map(_star_job, jobs)
            for r in results:
                s = summary[r["task"]]
                if r["success"]:
                    s["episodes"] += 1
                    s["steps"] += r["steps"]
                    paths[r["task"]].append((r["seed"], Path(r["path"])))
                    bar.update()
                else:
                    s["failures"] += 1
                    if r["error"]:
                        s["errors"].append(f"seed {r['seed']}: {r['error']}")
    finally:
        bar.close()
        if pool is not None:
            pool.close()
            pool.join()
    for s in summary.values():
        s["expert_success"] = round((s["attempts"] - s["failures"]) / max(s["attempts"], 1), 4)
    report = {
        "env": "synthui",
        "perturbation": spec,
        "seed": seed,
        "episodes": episodes,
        "seconds": round(time.perf_counter() - start, 2),
        "tasks": summary,
    }
    (out / "generate.json").write_text(json.dumps(report, indent=2) + "\n")
    short = [t for t, s in summary.items() if s["episodes"] < episodes]
    if short:
        raise RuntimeError(f"too many failed expert episodes for {short}: see {out / 'generate.json'}")
    return [p for t in names for _, p in sorted(paths[t])]


def _star_job(args: tuple) -> dict[str, Any]:
    return _job(*args)


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
) -> dict[str, Any]:
    """What `act-generate` does: ``generate`` + a contact sheet; returns (and writes) the summary JSON."""
    start = time.perf_counter()
    out = Path(out_dir)
    paths = generate(tasks, episodes, perturbation, seed, out, num_workers, env=env, progress=progress)
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
    for task, s in report.get("tasks", {}).items():
        mean = s.get("steps", 0) / max(s.get("episodes", 0), 1)
        lines.append(
            f"  {task:16s} {s.get('episodes', 0):5d} episodes  expert success {s.get('expert_success', 0):.1%}"
            f"  {mean:5.1f} steps/episode"
        )
    if report.get("contact_sheet"):
        lines.append(f"  contact sheet: {report['contact_sheet']}")
    if report.get("summary_file"):
        lines.append(f"  summary: {report['summary_file']}")
    return "\n".join(lines)
