"""Demonstrations from scripted experts, written as format-v1 recordings: one generator for every backend.

A backend (``Backend``: synthui in ``act.envs.generate``, MiniWoB++ in ``act.envs.miniwob.generate``)
says how to name its tasks, check a perturbation spec and make an env; everything else is here and
the same for all: the expert loop (``act.envs.expert_loop.ExpertSteps``), the action-to-event
mapping, the episode writer, the worker processes, the retry loop and ``generate.json``.

``run(backend, tasks, episodes, ...)`` writes ``episodes`` successful expert episodes of each task to
``out_dir/<task>/ep_<seed>``: one frame before each action (and the final screen), one merged event
per action carrying its intent (and target box, drag path), intent segments, and meta.json with the
outcome, the perturbation (spec and drawn parameters) and the seed in ``extra``. Work is spread over
processes (spawn-safe); finished episodes are kept, so an interrupted run resumes, but only with the
parameters ``generate.json`` records for the directory (``check_resume``).

Timing, for every backend: frame k is at ``k * STEP_SECONDS``; the action chosen from it follows at
``+ ACTION_OFFSET``; an intent segment runs from the time of its first action to that of its last
(a one-action intent is ``[t, t]``). Steps are far enough apart that event merging never fuses two
of them (a double-click needs < 0.4 s) and close enough that no idle waits are inserted (> 1 s).
"""

from __future__ import annotations

import importlib
import itertools
import json
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from multiprocessing import get_context
from multiprocessing.util import Finalize
from pathlib import Path
from types import ModuleType
from typing import Any

from act.envs.expert_loop import ExpertSteps
from act.recording.io import EpisodeWriter
from act.recording.schema import Action, ElementSnapshot, EpisodeMeta, Event, Intent, Screen

STEP_SECONDS = 0.5
ACTION_OFFSET = 0.05  # an action comes this long after the frame it was chosen from
REPORT = "generate.json"


@dataclass(frozen=True)
class Backend:
    """What generation needs to know of one env family.

    ``module`` defines the backend (as ``BACKEND``) and its hooks, which worker processes import:
    ``resolve_tasks(tasks) -> [task]`` and ``check_spec(perturbation) -> spec string`` (both raise
    ValueError for what the backend lacks), ``make_env(task, spec, **options)`` and optionally
    ``annotate(action, info) -> Action``, which fills in what the expert leaves out of a recorded
    action (the env executes the expert's action as it was). Env ids are ``<env_prefix>/<task>-v0``;
    ``expert`` is meta.json's ``extra.expert``; ``final_info``: keys of the last info copied into
    ``extra``; ``close_envs``: close cached envs when a run ends (they hold browsers); ``options``:
    ``make_env``'s keyword defaults, recorded in generate.json. A backend whose module defines
    ``snapshot(info) -> [element]`` also writes element snapshots (elements.jsonl, format 1.1) from each
    frame's info, when they change: reading supervision for training, never a policy's input.
    """

    name: str
    module: str
    env_prefix: str
    expert: str
    final_info: tuple[str, ...] = ()
    close_envs: bool = False
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def hooks(self) -> ModuleType:
        return importlib.import_module(self.module)


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


def episode_id(backend: Backend, task: str, spec: str, seed: int) -> str:
    slug = f"-{spec.replace(':', '').replace(',', '_')}" if spec else ""
    return f"{backend.name}-{task}{slug}-{seed:06d}"


def record_episode(
    backend: Backend,
    env: Any,
    seed: int,
    path: str | Path,
    episode_id: str | None = None,
    expert: Any = None,
) -> dict[str, Any]:
    """Run the expert (default: the env's own) for one episode of ``env`` and write it to ``path``."""
    base = env.unwrapped
    annotate = getattr(backend.hooks, "annotate", None)
    snapshot = getattr(backend.hooks, "snapshot", None)
    run = ExpertSteps(env, seed, expert)
    steps = iter(run)
    first = next(steps)  # resets the env: the instruction and the perturbation are known from here
    segments: list[list[Any]] = []  # [t0, t1, label]
    with EpisodeWriter(path, _meta(backend, base, first[0], seed, episode_id)) as w:
        shown: list[Any] = [None]  # the elements of the last snapshot written

        def add_frame(screen, t: float, info: dict[str, Any]) -> None:
            w.add_frame(screen, t)
            if snapshot is not None and (items := snapshot(info)) != shown[0]:
                w.add_elements(ElementSnapshot(t, tuple(items)))
                shown[0] = items

        for obs, action, info in itertools.chain([first], steps):
            t = run.steps * STEP_SECONDS
            add_frame(obs["screen"], t, info)
            at = round(t + ACTION_OFFSET, 3)
            w.add_event(action_event(annotate(action, info) if annotate else action, at))
            if segments and segments[-1][2] == action.intent:
                segments[-1][1] = at
            elif action.intent:
                segments.append([at, at, action.intent])
        add_frame(run.obs["screen"], run.steps * STEP_SECONDS, run.info)
        for t0, t1, label in segments:
            w.add_intent(Intent(t0, t1, label))
        extra = {k: run.info[k] for k in backend.final_info}
        w.finish(success=run.success, steps=run.steps, off_target=int(run.info["off_target"]), **extra)
    return {"success": run.success, "steps": run.steps}


def _meta(backend: Backend, base: Any, obs: dict[str, Any], seed: int, eid: str | None) -> EpisodeMeta:
    return EpisodeMeta(
        episode_id=eid or episode_id(backend, base.task_name, base.perturbation_meta()["spec"], int(seed)),
        source=backend.name,
        task=base.task_name,
        instruction=obs["instruction"],
        screen=Screen(base.width, base.height),
        perturbation=base.perturbation_meta(),
        extra={
            "seed": int(seed),
            "env_id": f"{backend.env_prefix}/{base.task_name}-v0",
            "expert": backend.expert,
            "step_seconds": STEP_SECONDS,
        },
    )


_ENVS: dict[tuple, Any] = {}  # envs cached per process (a MiniWoB++ env holds a browser)


def load_backend(module: str) -> Backend:
    return importlib.import_module(module).BACKEND


def _job(module: str, task: str, spec: str, seed: int, path: str, options: tuple) -> dict[str, Any]:
    """Record one episode in a worker process (or in this one)."""
    backend = load_backend(module)
    out = {"task": task, "seed": seed, "path": path, "success": False, "steps": 0, "error": None}
    try:
        key = (module, task, spec, options)
        if key not in _ENVS:
            if backend.close_envs and not any(k[0] == module for k in _ENVS):  # closed as the process exits
                Finalize(None, _close_envs, args=(module,), exitpriority=10)
            _ENVS[key] = backend.hooks.make_env(task, spec, **dict(options))
        eid = episode_id(backend, task, spec, seed)
        out.update(record_episode(backend, _ENVS[key], seed, path, episode_id=eid))
    except Exception as e:  # noqa: BLE001 - reported per episode; the run goes on
        out["error"] = f"{type(e).__name__}: {e}"
    if not out["success"]:
        shutil.rmtree(path, ignore_errors=True)
    return out


def _star_job(args: tuple) -> dict[str, Any]:
    return _job(*args)


def _close_envs(module: str) -> None:
    for key in [k for k in _ENVS if k[0] == module]:
        _ENVS.pop(key).close()


def _done(path: Path) -> int | None:
    """The step count of a finished, successful episode already on disk; None if there is none."""
    try:
        meta = json.loads((path / "meta.json").read_text())
    except (OSError, ValueError):
        return None
    if not (meta.get("complete") and meta.get("success")):
        return None
    return int(meta.get("extra", {}).get("steps", 0))


def parameters(backend: Backend, tasks: Sequence[str], spec: str, seed: int, options: dict) -> dict:
    """What makes a directory's episodes what they are: a run may resume into it only with the same."""
    return {"env": backend.name, "tasks": list(tasks), "perturbation": spec, "seed": seed, "options": options}


class OutDirError(ValueError):
    """An out_dir that holds episodes this run must not mix with its own; nothing was deleted."""


def check_resume(out: Path, params: dict[str, Any]) -> None:
    """Raise unless ``out`` is new, or was generated (or started) with ``params``.

    Episodes on disk are reused by seed, so generating into a directory made with another env,
    task list, perturbation, seed or options would mix two datasets under one ``generate.json``.
    Nothing is deleted here either way. A different ``episodes`` is fine: a run extends or reuses.
    """
    report_file = out / REPORT
    if not report_file.is_file():
        episodes = sorted(p for p in out.glob("*/ep_*") if p.is_dir())
        if episodes:
            raise OutDirError(
                f"{out} holds episodes ({episodes[0].relative_to(out)}, ...) but no {REPORT}, so nothing "
                "says what made them: generate into a new out_dir, or move them away (nothing was deleted)"
            )
        return
    try:
        old = json.loads(report_file.read_text())
    except ValueError as e:
        raise OutDirError(f"{report_file}: not valid JSON ({e}); cannot tell what made {out}") from None
    old_params = {
        "env": old.get("env"),
        "tasks": list(old.get("tasks", {})),
        "perturbation": old.get("perturbation", ""),
        "seed": old.get("seed"),
        "options": old.get("options", params["options"]),  # written since options were recorded
    }
    for key, new in params.items():
        was = old_params[key]
        same = sorted(was) == sorted(new) if key == "tasks" else was == new
        if not same:
            cli = f" (act-generate: env.{key})" if key != "options" else ""
            raise OutDirError(
                f"{report_file}: out_dir was generated with {key}={was!r}{cli}, this run asks for "
                f"{key}={new!r}; its episodes would be kept as if made with the new {key}. Generate into "
                f"a new out_dir, or rerun with {key}={was!r} to resume (nothing was deleted)"
            )


def run(
    backend: Backend,
    tasks: Any,
    episodes: int,
    perturbation: Any = None,
    seed: int = 0,
    out_dir: str | Path = "data/recordings",
    num_workers: int | None = 1,
    progress: bool = True,
    **options: Any,
) -> tuple[list[Path], dict[str, Any]]:
    """Write ``episodes`` successful expert demonstrations of each task; return (their directories, report).

    Episode k of a task uses seed ``seed + k``; a seed whose episode fails (the expert missed, the
    browser died) is dropped and the next one tried, at most ``2 * episodes + 10`` tries a task.
    The report (parameters, per-task counts, errors) goes to ``out_dir/generate.json``: first
    before any episode (so an interrupted run is known), then complete. ``options`` go to
    the backend's ``make_env`` (synthui: width, height) and are recorded.
    """
    from tqdm.auto import tqdm

    names = backend.hooks.resolve_tasks(tasks)
    spec = backend.hooks.check_spec(perturbation)
    options = {**backend.options, **options}
    out = Path(out_dir)
    params = parameters(backend, names, spec, seed, options)
    check_resume(out, params)
    out.mkdir(parents=True, exist_ok=True)
    workers = max(1, int(num_workers or 1))
    start = time.perf_counter()
    summary = {t: {"episodes": 0, "attempts": 0, "failures": 0, "steps": 0, "errors": []} for t in names}
    report = {**_report(params, episodes, summary, 0.0), "complete": False}
    (out / REPORT).write_text(json.dumps(report, indent=2) + "\n")
    paths: dict[str, list[tuple[int, Path]]] = {t: [] for t in names}
    next_seed = dict.fromkeys(names, seed)
    cap = 2 * episodes + 10
    job_options = tuple(sorted(options.items()))
    bar = tqdm(total=episodes * len(names), desc=f"{backend.name} demos", unit="ep", disable=not progress)
    pool = get_context("spawn").Pool(workers) if workers > 1 else None
    try:
        while True:
            jobs = []
            for t in names:
                s = summary[t]
                for _ in range(episodes - s["episodes"] - sum(1 for j in jobs if j[1] == t)):
                    if s["attempts"] >= cap:
                        break
                    k = next_seed[t]
                    next_seed[t] += 1
                    s["attempts"] += 1
                    path = out / t / f"ep_{k:06d}"
                    done_steps = _done(path)
                    if done_steps is not None:
                        s["episodes"] += 1
                        s["steps"] += done_steps
                        paths[t].append((k, path))
                        bar.update()
                        continue
                    shutil.rmtree(path, ignore_errors=True)
                    jobs.append((backend.module, t, spec, k, str(path), job_options))
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
        if backend.close_envs:
            _close_envs(backend.module)
    for s in summary.values():
        s["expert_success"] = round((s["attempts"] - s["failures"]) / max(s["attempts"], 1), 4)
    report = {**_report(params, episodes, summary, time.perf_counter() - start), "complete": True}
    (out / REPORT).write_text(json.dumps(report, indent=2) + "\n")
    short = [t for t, s in summary.items() if s["episodes"] < episodes]
    if short:
        raise RuntimeError(f"too many failed expert episodes for {short}: see {out / REPORT}")
    return [p for t in names for _, p in sorted(paths[t])], report


def _report(params: dict[str, Any], episodes: int, summary: dict[str, Any], seconds: float) -> dict[str, Any]:
    return {
        "env": params["env"],
        "perturbation": params["perturbation"],
        "seed": params["seed"],
        "options": params["options"],
        "episodes": episodes,
        "seconds": round(seconds, 2),
        "tasks": summary,
    }
