"""Demonstrations from the MiniWoB++ DOM experts, written as format-v1 recordings.

``generate(tasks, episodes, ...)`` writes ``episodes`` successful demonstrations of each task to
``out_dir/<task>/ep_<seed>``: every step's screen before the action, the action as a merged event
(click, key, ...) with its intent, intent segments, and meta.json with the seed and the
perturbation. Episode k of a task runs seed ``seed + k``; a seed whose episode fails (the expert
missed, the browser died) is dropped and the next one is tried, so each task gets exactly
``episodes`` recordings unless more than twice as many fail.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from act.recording import EpisodeMeta, EpisodeWriter, Event, Intent, Screen
from act.recording.schema import Action

STEP_DT = 0.5  # seconds between recorded steps (below MergeConfig.wait_gap, so no waits are invented)
ACT_DT = 0.1  # the action follows its frame by this much


def _event(a: Action, t: float) -> Event:
    if a.kind in ("click", "double_click", "right_click"):
        return Event(
            t=t,
            type=a.kind,
            x=a.x,
            y=a.y,
            button="right" if a.kind == "right_click" else "left",
            intent=a.intent,
        )
    if a.kind == "drag":
        return Event(t=t, type="drag", x=a.x, y=a.y, x2=a.x2, y2=a.y2, intent=a.intent)
    if a.kind == "scroll":
        return Event(t=t, type="scroll", x=a.x, y=a.y, dx=a.dx, dy=a.dy, intent=a.intent)
    if a.kind == "key":
        return Event(t=t, type="key", key=a.key, intent=a.intent)
    return Event(t=t, type="wait", intent=a.intent)


def record_episode(env: Any, seed: int, path: Path, expert: Any = None) -> dict[str, Any]:
    """One expert episode of ``env`` at ``seed`` written to ``path``; the directory is removed unless it succeeds."""
    from act.envs.miniwob.browser import BrowserError
    from act.envs.miniwob.expert import ExpertStuck

    base = env.unwrapped
    expert = expert or base.make_expert()
    result: dict[str, Any] = {
        "task": base.task_name,
        "seed": int(seed),
        "success": False,
        "steps": 0,
        "error": None,
    }
    try:
        obs, info = env.reset(seed=int(seed))
        meta = EpisodeMeta(
            episode_id=f"miniwob-{base.task_name}-{seed}",
            source="miniwob",
            task=base.task_name,
            instruction=obs["instruction"],
            screen=Screen(base.width, base.height),
            perturbation=base.perturbation_meta(),
            extra={"seed": int(seed), "env_id": f"act-miniwob/{base.task_name}-v0", "expert": "dom"},
        )
        with EpisodeWriter(path, meta) as w:
            segment: list[Any] = []  # [t0, t1, label] of the running intent
            step = 0
            while True:
                t = step * STEP_DT
                w.add_frame(obs["screen"], t=t)
                action = expert.act(obs, info)
                w.add_event(_event(action, t + ACT_DT))
                if segment and segment[2] == action.intent:
                    segment[1] = t + STEP_DT
                else:
                    if segment:
                        w.add_intent(Intent(*segment))
                    segment = [t, t + STEP_DT, action.intent]
                obs, _, terminated, truncated, info = env.step(base.to_env_action(action))
                step += 1
                if terminated or truncated:
                    break
            w.add_frame(obs["screen"], t=step * STEP_DT)
            if segment:
                w.add_intent(Intent(*segment))
            w.meta.extra.update(raw_reward=info["raw_reward"], steps=step, off_target=info["off_target"])
            w.finish(success=bool(info["success"]))
        result.update(success=bool(info["success"]), steps=step, raw_reward=info["raw_reward"])
    except (BrowserError, ExpertStuck) as e:
        result["error"] = f"{type(e).__name__}: {e}"
    if not result["success"]:
        shutil.rmtree(path, ignore_errors=True)
    return result


_ENVS: dict[tuple[str, str], Any] = {}  # one env per (task, perturbation) per process: browsers are reused


def _job(task: str, perturbation: str, seed: int, path: str) -> dict[str, Any]:
    from act.envs import make

    key = (task, perturbation)
    if key not in _ENVS:
        _ENVS[key] = make(task, perturbation=perturbation or None)
    return record_episode(_ENVS[key], seed, Path(path))


def _done(path: Path) -> int | None:
    """The step count of a finished, successful episode already on disk (generation resumes past it)."""
    try:
        meta = json.loads((path / "meta.json").read_text())
    except (OSError, ValueError):
        return None
    return (
        int(meta.get("extra", {}).get("steps", 0))
        if meta.get("complete", True) and meta.get("success")
        else None
    )


def generate(
    tasks: Sequence[str],
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
    from tqdm.auto import tqdm

    from act.envs.miniwob import TASKS
    from act.envs.miniwob.perturb import check_spec, format_spec

    if env not in ("miniwob", "act-miniwob"):
        raise ValueError(f"act.envs.miniwob.generate makes MiniWoB++ demonstrations; got env={env!r}")
    unknown = [t for t in tasks if t not in TASKS]
    if unknown:
        raise ValueError(
            f"no DOM expert for MiniWoB++ tasks {unknown}; tasks with experts: {', '.join(TASKS)}"
        )
    perturbation = format_spec(check_spec(perturbation or None))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    workers = max(1, int(num_workers or 1))
    start = time.perf_counter()
    summary: dict[str, Any] = {
        t: {"episodes": 0, "attempts": 0, "failures": 0, "steps": 0, "errors": []} for t in tasks
    }
    next_seed = {t: seed for t in tasks}
    bar = tqdm(total=episodes * len(tasks), desc="miniwob demos", unit="ep", disable=not progress)
    pool = ProcessPoolExecutor(workers, mp_context=get_context("spawn")) if workers > 1 else None
    try:
        while True:
            jobs = []
            for t in tasks:
                s = summary[t]
                need = episodes - s["episodes"]
                if need <= 0 or s["attempts"] >= 2 * episodes + 10:
                    continue
                for _ in range(need):
                    k = next_seed[t]
                    next_seed[t] += 1
                    path = out / t / f"ep_{k:06d}"
                    s["attempts"] += 1
                    done_steps = _done(path)
                    if done_steps is not None:
                        s["episodes"] += 1
                        s["steps"] += done_steps
                        bar.update()
                        continue
                    shutil.rmtree(path, ignore_errors=True)
                    jobs.append((t, perturbation, k, str(path)))
            if not jobs:
                if all(
                    summary[t]["episodes"] >= episodes or summary[t]["attempts"] >= 2 * episodes + 10
                    for t in tasks
                ):
                    break
                continue
            results = pool.map(_job, *zip(*jobs)) if pool else (_job(*j) for j in jobs)
            for r in results:
                s = summary[r["task"]]
                if r["success"]:
                    s["episodes"] += 1
                    s["steps"] += r["steps"]
                    bar.update()
                else:
                    s["failures"] += 1
                    if r["error"]:
                        s["errors"].append(f"seed {r['seed']}: {r['error']}")
    finally:
        bar.close()
        if pool:
            pool.shutdown()
        while _ENVS:
            _ENVS.popitem()[1].close()
    for s in summary.values():
        s["expert_success"] = round((s["attempts"] - s["failures"]) / max(s["attempts"], 1), 4)
    report = {
        "env": "miniwob",
        "perturbation": perturbation,
        "seed": seed,
        "episodes": episodes,
        "seconds": round(time.perf_counter() - start, 1),
        "tasks": summary,
    }
    (out / "generate.json").write_text(json.dumps(report, indent=2) + "\n")
    if progress:
        for t, s in summary.items():
            print(
                f"[generate] {t}: {s['episodes']} demonstrations ({s['failures']} failed of {s['attempts']})"
            )
    short = [t for t, s in summary.items() if s["episodes"] < episodes]
    if short:
        raise RuntimeError(f"too many failed episodes for {short}: see {out / 'generate.json'}")
    return report
