"""Expert demonstrations recorded by ``act-record``: the expert drives the real app, the recorder watches.

``record_expert("Login", seed=3, out="data/recordings/desktop")`` starts the env (its own Xvfb with
the RECORD extension), resets it, starts ``act-record`` as a child process on that display over the
app's window, runs the expert (each action real input events through xdotool, which the recorder
sees like a user's), then stops the recorder with SIGINT. The episode is what the recorder wrote,
format v1; afterwards its meta.json gets the app's verdict (``success``) and ``extra["desktop"]``
(task, seed, steps, error), and the app's element snapshots of the episode become its
``elements.jsonl`` (format 1.2), in the recording's time and pixels.

The recorder runs as a process (the CLI), not imported: ``act.envs`` does not depend on
``act.recorder``, and the recorder process is exactly what a person recording a demonstration runs.
If the display or the app goes away mid-episode, everything the recorder wrote stays on disk and
meta.json says ``extra["desktop"]["error"]``.
"""

from __future__ import annotations

import json
import os
import queue
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from act.envs.desktop import TASKS
from act.envs.desktop.env import DesktopEnv, DesktopError, look_args, x_env
from act.recording.io import ELEMENT_BOXES, ELEMENTS, EVENTS, SET_ASIDE
from act.recording.schema import ElementSnapshot


@dataclass
class RecordedEpisode:
    """One recorded expert episode: where it is, the app's verdict, and what went wrong if anything."""

    path: Path | None
    success: bool
    steps: int
    error: str | None = None
    recorder: dict[str, Any] = field(default_factory=dict)  # act-record's summary line


def _task_name(task: str) -> str:
    """'Login', 'login' or 'desktop/Login-v0' -> the gymnasium task name 'Login'."""
    name = task.removeprefix("desktop/").removesuffix("-v0")
    for gym_name, app_task in TASKS.items():
        if name in (gym_name, app_task):
            return gym_name
    raise ValueError(f"unknown desktop task {task!r}; known tasks: {', '.join(TASKS)}")


class _Stream:
    """A child's text stream read in a thread, so lines can be waited for with a timeout."""

    def __init__(self, stream: Any):
        self.q: queue.Queue[str | None] = queue.Queue()
        self.lines: list[str] = []
        threading.Thread(target=self._pump, args=(stream,), daemon=True).start()

    def _pump(self, stream: Any) -> None:
        for line in stream:
            self.q.put(line)
        self.q.put(None)

    def wait_for(self, text: str, timeout: float) -> bool:
        end = time.monotonic() + timeout
        while (left := end - time.monotonic()) > 0:
            try:
                line = self.q.get(timeout=left)
            except queue.Empty:
                return False
            if line is None:
                return False
            self.lines.append(line)
            if text in line:
                return True
        return False

    def rest(self, timeout: float = 2.0) -> str:
        end = time.monotonic() + timeout
        while (left := end - time.monotonic()) > 0:
            try:
                line = self.q.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                break
            self.lines.append(line)
        return "".join(self.lines)


def record_expert(
    task: str | DesktopEnv,
    seed: int,
    out: str | Path,
    *,
    expert: Any = None,
    fps: float = 5.0,
    pause: float = 0.1,
    settle: float = 0.4,
    timeout: float = 60.0,
    env_kwargs: dict[str, Any] | None = None,
) -> RecordedEpisode:
    """Record one expert episode of ``task`` (a name or a ``DesktopEnv``) into ``out/ep_NNNNNN``.

    ``pause``: seconds between an action's input and the next, so the recorder's frames show each
    state; ``settle``: seconds recorded after the last action (the final screen).
    An env passed in is reset here and left open; one made here is closed.
    """
    own = not isinstance(task, DesktopEnv)
    env = DesktopEnv(TASKS[_task_name(task)], pause=pause, **(env_kwargs or {})) if own else task
    try:
        return _record(env, seed, Path(out), expert, fps, settle, timeout)
    finally:
        if own:
            env.close()


def _record(
    env: DesktopEnv, seed: int, out: Path, expert: Any, fps: float, settle: float, timeout: float
) -> RecordedEpisode:
    from act.envs.desktop import expert_for

    expert = expert or expert_for(env)
    obs, info = env.reset(seed=seed)
    out.mkdir(parents=True, exist_ok=True)
    before = set(out.iterdir())
    x0, y0, x1, y1 = info["window"]
    gym_task = next(name for name, t in TASKS.items() if t == env.task_name)
    cmd = [sys.executable, "-m", "act.cli.record", "--out", str(out), "--task", f"desktop/{gym_task}"]
    cmd += [
        "--instruction",
        info["instruction"],
        "--fps",
        f"{fps:g}",
        "--region",
        f"{x0},{y0},{x1 - x0},{y1 - y0}",
    ]
    proc = subprocess.Popen(
        cmd, env=x_env(env.display), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    err, stdout = _Stream(proc.stderr), _Stream(proc.stdout)
    try:
        if not err.wait_for("act-record: recording started.", timeout):
            proc.kill()
            proc.wait()
            raise DesktopError(
                f"act-record did not start: `{shlex.join(cmd)}` (status {proc.returncode}): "
                f"{err.rest().strip()[-800:]}"
            )
        first_input: float | None = None  # monotonic time just before the first action's input
        steps = 0
        while not env.done:
            action = expert.act(obs, info)
            first_input = first_input or time.monotonic()
            obs, _, terminated, truncated, info = env.step(env.to_env_action(action))
            steps += 1
            if terminated or truncated:
                break
        if info["error"] is None:
            time.sleep(settle)
        proc.send_signal(signal.SIGINT)  # act-record stops cleanly on SIGINT
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    summary: dict[str, Any] = {}
    lines = [line for line in stdout.rest(0.5).splitlines() if line.startswith("{")]
    if proc.returncode == 0 and lines:
        summary = json.loads(lines[-1])
    error = info["error"]
    if proc.returncode != 0:
        said = [line for line in err.rest().splitlines() if line.startswith("act-record: error")]
        recorder_error = f"act-record exited with status {proc.returncode}: " + (
            " ".join(said) or err.rest().strip()[-500:]  # its own message, else the end of its stderr
        )
        error = f"{error}; {recorder_error}" if error else recorder_error
    made = sorted(set(out.iterdir()) - before)
    path = Path(summary["episode"]) if "episode" in summary else (made[-1] if made else None)
    success = bool(info["success"]) and error is None
    if path is not None and (path / "meta.json").exists():
        _annotate(path, env, seed, steps, success, error, first_input)
    return RecordedEpisode(path, success, steps, error, summary)


def _annotate(
    path: Path,
    env: DesktopEnv,
    seed: int,
    steps: int,
    success: bool,
    error: str | None,
    first_input: float | None,
) -> None:
    """Write the app's verdict into meta.json (atomically) and its snapshots as elements.jsonl."""
    meta_file = path / "meta.json"
    meta = json.loads(meta_file.read_text(encoding="utf-8"))
    meta["success"] = None if error else success
    if env.perturbation:  # what the look was, as synthui's episodes say it (training_data.json reads it)
        meta["perturbation"] = {"spec": str(env.perturbation)}
    meta.setdefault("extra", {})["desktop"] = {
        "task": env.task_name,
        "seed": seed,
        "steps": steps,
        "error": error,
        "display": env.display,
    }
    tmp = path / "meta.json.tmp"
    tmp.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, meta_file)
    if first_input is not None and env.state_path.exists():
        _write_elements(path, env.state_path, first_input)


def _in_window(element: dict[str, Any], x0: float, y0: float) -> dict[str, Any]:
    """An element of the app's snapshot with its boxes moved from screen to window pixels."""
    out = dict(element)
    for key in ELEMENT_BOXES:
        if out.get(key) is not None:  # a null text_box or value_box: nothing drawn there
            b = out[key]
            out[key] = [b[0] - x0, b[1] - y0, b[2] - x0, b[3] - y0]
    return out


def _write_elements(path: Path, state: Path, first_input: float) -> None:
    """The app's snapshots -> elements.jsonl, in the recording's seconds and the window's pixels.

    The app stamps snapshots with the system's monotonic clock, the recorder its events with seconds
    since it started: the recording's first event is the first action's input, sent at
    ``first_input``, which ties the two clocks. The tie errs by the input's latency, towards later
    snapshot times, so a snapshot never precedes the input that caused it.
    """
    with open(path / EVENTS, encoding="utf-8") as f:
        first_event = next((json.loads(line) for line in f if line.strip()), None)
    if first_event is None:
        return
    start = first_input - float(first_event["t"])  # the recording's t = 0 on the monotonic clock
    rows, last, t_last = [], None, 0.0
    for line in state.read_text(encoding="utf-8").splitlines():
        snap = json.loads(line)
        x0, y0 = snap["window"][:2]
        elements = tuple(_in_window(e, x0, y0) for e in snap["elements"])
        key = (elements, snap["focus"])
        if key == last:
            continue  # the app re-sent an unchanged snapshot (a sync)
        last = key
        t_last = max(t_last, round(snap["t"] - start, 6))  # the state before the recording: at 0
        w, h = snap["window"][2] - x0, snap["window"][3] - y0
        rows.append(ElementSnapshot(t_last, elements, snap["focus"], (0, 0, w, h)).to_json())
    with open(path / ELEMENTS, "w", encoding="utf-8") as f:
        f.writelines(json.dumps(row) + "\n" for row in rows)


def _recorded_seeds(task_dir: Path, out: Path, task: str) -> tuple[set[int], list[dict[str, Any]]]:
    """Seeds of the successful expert episodes already in ``task_dir`` (what a resumed run skips),
    and what was set aside: an expert episode of this task that failed, or that an interrupted run
    left without the app's verdict (kept, not trained on). Other episodes are left where they are."""
    seeds, aside = set(), []
    for meta_file in sorted(task_dir.glob("*/meta.json")):
        meta = _read_meta(meta_file)
        if meta is None:
            continue  # unreadable: act-inspect names it; it is not ours to move
        desktop = meta["extra"].get("desktop")
        if meta.get("task") != f"desktop/{task}":
            continue  # not an expert episode of this task: left alone
        if desktop and meta.get("success") is True and "seed" in desktop:
            seeds.add(int(desktop["seed"]))
            continue
        reason = (
            desktop.get("error") or "the app judged it a failure"
            if desktop
            else "no verdict (interrupted run)"
        )
        seed = desktop.get("seed") if desktop else None
        aside.append({"seed": seed, "error": reason, "path": _set_aside(meta_file.parent, out, task)})
    return seeds, aside


def record_experts(
    tasks: list[str] | None = None,
    episodes: int = 10,
    seed: int = 0,
    out_dir: str | Path = "data/recordings/desktop",
    *,
    perturbations: list[str] | tuple[str, ...] = ("",),
    progress: bool = True,
    pause: float = 0.1,
    **kwargs: Any,
) -> dict[str, Any]:
    """Record ``episodes`` successful expert episodes of each task with ``act-record``, into
    ``out_dir/<Task>/ep_NNNNNN``; what ``act-generate env=desktop`` runs.

    Episode k of a task uses seed ``seed + k`` and the perturbation spec ``perturbations[k % n]``
    ("" = nominal; act.envs.desktop.env.FAMILIES); a seed already recorded there (successfully) is
    skipped, so an interrupted run resumes. An episode the app judges a failure, or that ends in an
    error, moves to ``<out_dir>.failed/<Task>/`` (kept, out of the training data; so does one an
    interrupted run left without the app's verdict, when the run resumes) and the next seed is
    tried, at most ``2 * episodes + 10`` seeds per task. One env per task (its Xvfb lives across the
    task's episodes; the app restarts each episode). ``pause``: seconds between actions; ``kwargs``
    go to ``record_expert`` (fps, settle, timeout). Returns the summary, also written to
    ``out_dir/generate.json``.
    """
    from tqdm.auto import tqdm

    names = [_task_name(t) for t in (tasks or list(TASKS))]
    specs = [str(p or "") for p in perturbations] or [""]
    for spec in specs:
        look_args(spec, 0)  # an unknown family or a bad severity fails before any episode
    out = Path(out_dir)
    start = time.perf_counter()
    summary: dict[str, Any] = {}
    for name in names:
        task_dir = out / name
        done, aside = _recorded_seeds(task_dir, out, name) if task_dir.is_dir() else (set(), [])
        stats = {
            "episodes": 0,
            "recorded": 0,
            "expert_success": 0.0,
            "steps": 0,
            "failed": aside,
            "resumed": 0,
        }
        tried = ok = 0
        bar = tqdm(total=episodes, desc=f"desktop/{name}", unit="ep", disable=not progress)
        env = DesktopEnv(TASKS[name], pause=pause)  # one Xvfb for the task; the look is set per episode
        try:
            for s in range(seed, seed + 2 * episodes + 10):
                if stats["episodes"] >= episodes:
                    break
                if s in done:
                    stats["episodes"] += 1
                    stats["resumed"] += 1
                    bar.update(1)
                    continue
                env.perturbation = specs[(s - seed) % len(specs)]
                try:
                    rec = record_expert(env, s, task_dir, **kwargs)
                except DesktopError as e:  # the app or the recorder did not start: this seed fails
                    rec = RecordedEpisode(_newest_unjudged(task_dir), False, 0, str(e))
                tried += 1
                if rec.success and rec.path is not None:
                    ok += 1
                    stats["episodes"] += 1
                    stats["recorded"] += 1
                    stats["steps"] += rec.steps
                    bar.update(1)
                    continue
                stats["failed"].append(
                    {"seed": s, "error": rec.error, "path": _set_aside(rec.path, out, name)}
                )
        finally:
            env.close()
            bar.close()
        stats["expert_success"] = ok / tried if tried else 1.0
        summary[name] = stats
    report = {
        "env": "desktop",
        "seed": seed,
        "episodes": episodes,
        "perturbations": specs,
        "out_dir": str(out),
        "num_episodes": sum(s["episodes"] for s in summary.values()),
        "seconds": round(time.perf_counter() - start, 2),
        "tasks": summary,
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "generate.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    report["summary_file"] = str(out / "generate.json")
    return report


def _newest_unjudged(task_dir: Path) -> Path | None:
    """The episode a recorder that failed mid-start may have begun (no verdict in its meta.json)."""
    newest = max(task_dir.glob("*/meta.json"), default=None)
    if newest is None:
        return None
    meta = _read_meta(newest)
    return None if meta is not None and meta["extra"].get("desktop") else newest.parent


def _read_meta(meta_file: Path) -> dict[str, Any] | None:
    """An episode's meta.json as a dict whose ``extra`` is a dict; None when it cannot be read as one
    (act-inspect reports it, naming the file)."""
    try:
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    if not isinstance(meta, dict) or not isinstance(meta.get("extra") or {}, dict):
        return None
    return {**meta, "extra": meta.get("extra") or {}}


def _set_aside(path: Path | None, out: Path, task: str) -> str | None:
    """Move a failed episode to ``<out>.failed/<task>/``: kept, but out of the training data."""
    if path is None or not path.exists():
        return None
    out = out.resolve()
    aside = out.parent / f"{out.name}{SET_ASIDE}" / task  # find_episodes skips it
    aside.mkdir(parents=True, exist_ok=True)
    target = aside / path.name
    n = 1
    while target.exists():  # a resumed run may set aside an episode of the same name again
        target = aside / f"{path.name}-{n}"
        n += 1
    shutil.move(path, target)  # a rename on one file system, a copy across them
    return str(target)
