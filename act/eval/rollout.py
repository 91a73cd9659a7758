"""Closed-loop episodes: one at a time in-process, or many across worker processes.

An episode whose env or policy raises is recorded with ``error`` set and ``success=False`` — never
skipped, never a success — and the evaluation goes on.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from act.eval.intents import IntentChecker
from act.eval.metrics import wilson_interval
from act.eval.policies import PolicySpec, load_policy
from act.eval.protocol import Policy, as_policy, select_action, start_episode

# The simulated UI's response time to one action, in seconds: an assumed figure, not a measured one.
# An episode's ui_time is its steps times this, so a policy that waits out a late screen (the latency
# perturbation delays an action's effect by whole steps) pays for every step it waits.
UI_STEP_S = 0.1


@dataclass
class EpisodeResult:
    policy: str
    env_id: str
    seed: int
    perturbation: str = ""
    condition: str = "nominal"
    success: bool = False
    error: str | None = None
    steps: int = 0
    wall_time: float = 0.0  # measured: the env and the policy, start to end
    policy_calls: int | None = None  # chunks the policy planned (None: it plans none, a baseline)
    policy_time: float = 0.0  # measured: seconds inside select_action
    ui_time: float = 0.0  # simulated: steps * UI_STEP_S, what the UI's responses would add to wall_time
    off_target: int = 0
    typed_exact: bool | None = None  # every text field holds the instruction's string (None: types nothing)
    # per judged step: [stated intent, the careful expert's intent, whether the action did it]
    # (act.eval.intents; synthui and policies that state intents only)
    intent_checks: list[list[Any]] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)
    explanations: list[str] = field(default_factory=list)
    gif: str | None = None

    @property
    def task(self) -> str:
        return self.env_id.split("/")[-1].rsplit("-v", 1)[0]

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "task": self.task}


@dataclass
class RolloutResult:
    episodes: list[EpisodeResult]

    @property
    def n(self) -> int:
        return len(self.episodes)

    @property
    def successes(self) -> int:
        return sum(e.success for e in self.episodes)

    @property
    def success_rate(self) -> float:
        return self.successes / self.n if self.n else 0.0

    @property
    def interval(self) -> tuple[float, float]:
        return wilson_interval(self.successes, self.n)

    @property
    def errors(self) -> int:
        return sum(e.error is not None for e in self.episodes)


@dataclass(frozen=True)
class Job:
    spec: PolicySpec
    env_id: str
    seed: int
    perturbation: str = ""
    condition: str = "nominal"
    max_steps: int | None = None
    gif_dir: str | None = None
    explain: bool = False
    text_split: str | None = None  # synthui's strings (Suite.text_split); None: the env's default


def run_episode(
    policy: Policy | Any,
    env_id: str,
    seed: int,
    perturbation: str = "",
    *,
    max_steps: int | None = None,
    name: str = "policy",
    condition: str = "nominal",
    gif_dir: str | Path | None = None,
    explain: bool = False,
    ui_step_s: float = UI_STEP_S,
    text_split: str | None = None,
) -> EpisodeResult:
    """One closed-loop episode of ``policy`` (see ``act.eval.protocol.Policy``). ``gif_dir``: write a GIF
    there if the episode fails. Records the policy's ``policy_calls``, the time inside select_action
    and ``ui_time`` = steps * ``ui_step_s`` (the simulated UI's response to each action)."""
    from act.envs import make

    policy = as_policy(policy)
    result = EpisodeResult(name, env_id, int(seed), perturbation or "", condition)
    frames: list[Any] = []
    env = None
    started = False  # reset() ran: policy_calls counts this episode's calls
    start = time.perf_counter()
    try:
        kwargs: dict[str, Any] = {"max_steps": max_steps} if max_steps else {}
        if text_split and env_id.startswith("synthui/"):
            kwargs["text_split"] = text_split
        env = make(env_id, perturbation=perturbation or None, **kwargs)
        obs, info = start_episode(policy, env, env_id, seed, perturbation)
        started = True
        checker = IntentChecker.of(env, policy)
        while True:
            if explain and result.steps == 0:
                explanation = policy.explain(obs)
                if explanation is not None:
                    result.explanations.append(str(explanation))
            t0 = time.perf_counter()
            action = select_action(policy, obs, info)
            result.policy_time += time.perf_counter() - t0
            if checker is not None:
                checker.check(obs, info, action, policy.stated_intent)
            if gif_dir is not None:
                frames.append((obs["screen"], action))
            obs, _, terminated, truncated, info = env.step(action)
            result.steps += 1
            result.actions.append(_describe(action, obs["screen"].shape))
            if terminated or truncated:
                break
        result.success = bool(info.get("success"))
        if info.get("typed"):  # the task types text: did every field end up holding its target?
            result.typed_exact = all(f["text"] == f["target"] for f in info["typed"].values())
        result.off_target = int(info.get("off_target", 0))
        if checker is not None:
            result.intent_checks = checker.checks
    except Exception as e:  # noqa: BLE001 - any failure is recorded as this episode's error
        result.error = f"{type(e).__name__}: {e}"
        result.success = False
    finally:
        if env is not None:
            with contextlib.suppress(Exception):
                env.close()
    result.wall_time = time.perf_counter() - start
    result.ui_time = result.steps * ui_step_s
    if started:
        result.policy_calls = policy.policy_calls
    if gif_dir is not None and not result.success and frames:
        result.gif = str(
            _write_gif(
                frames, Path(gif_dir) / f"{name}_{result.task}_{condition}_{seed}.gif".replace(":", "")
            )
        )
    return result


def _describe(action: dict[str, Any], shape: tuple[int, ...]) -> str:
    from act.spaces.action_space import ActionSpace

    try:
        h, w = shape[:2]
        return ActionSpace().from_env(action, w, h).describe()
    except Exception:  # noqa: BLE001 - describing is best effort; the env already judged the action
        return f"kind {action.get('kind')}"


def _write_gif(frames: list[tuple[Any, dict[str, Any]]], path: Path) -> Path:
    from act.spaces.action_space import ActionSpace
    from act.viz import draw_actions

    space = ActionSpace()
    images = []
    for screen, action in frames:
        h, w = screen.shape[:2]
        try:
            acts = [space.from_env(action, w, h)]
        except Exception:  # noqa: BLE001
            acts = []
        images.append(draw_actions(screen, acts))
    path.parent.mkdir(parents=True, exist_ok=True)
    images[0].save(path, save_all=True, append_images=images[1:], duration=400, loop=0)
    return path


_POLICIES: dict[PolicySpec, Any] = {}


def _init_worker() -> None:
    import torch

    torch.set_num_threads(1)


def _run_job(job: Job) -> EpisodeResult:
    try:
        policy = _POLICIES.get(job.spec)
        if policy is None:
            policy = _POLICIES[job.spec] = load_policy(job.spec)
    except Exception as e:  # noqa: BLE001 - a policy that fails to load fails its episodes, visibly
        return EpisodeResult(
            job.spec.name,
            job.env_id,
            job.seed,
            job.perturbation,
            job.condition,
            error=f"loading policy: {type(e).__name__}: {e}",
        )
    return run_episode(
        policy,
        job.env_id,
        job.seed,
        job.perturbation,
        max_steps=job.max_steps,
        name=job.spec.name,
        condition=job.condition,
        gif_dir=job.gif_dir,
        explain=job.explain,
        text_split=job.text_split,
    )


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))


def run_jobs(
    jobs: Sequence[Job], num_workers: int | None = None, progress: bool = True
) -> list[EpisodeResult]:
    """Run episodes, in ``num_workers`` spawned processes (default: every core), in job order."""
    from tqdm.auto import tqdm

    num_workers = default_workers() if num_workers is None else num_workers
    bar = tqdm(total=len(jobs), desc="episodes", unit="ep", disable=not progress, leave=False)
    results: list[EpisodeResult] = []
    try:
        if num_workers <= 1 or len(jobs) <= 1:
            for job in jobs:
                results.append(_run_job(job))
                bar.update()
            return results
        with ProcessPoolExecutor(
            num_workers, mp_context=get_context("spawn"), initializer=_init_worker
        ) as pool:
            for r in pool.map(_run_job, jobs, chunksize=1):
                results.append(r)
                bar.update()
        return results
    finally:
        bar.close()
        _POLICIES.clear()


def rollout(
    policy: Policy | PolicySpec | Any,
    env_id: str,
    seeds: Iterable[int],
    perturbation: str = "",
    *,
    max_steps: int | None = None,
    num_workers: int = 1,
    gif_dir: str | Path | None = None,
    explain: bool = False,
    name: str | None = None,
    condition: str = "nominal",
    text_split: str | None = None,
) -> RolloutResult:
    """Closed-loop episodes of ``policy`` (an object, or a PolicySpec for parallel workers) in ``env_id``."""
    seeds = [int(s) for s in seeds]
    if isinstance(policy, PolicySpec):
        jobs = [
            Job(
                policy,
                env_id,
                s,
                perturbation,
                condition,
                max_steps,
                str(gif_dir) if gif_dir else None,
                explain,
                text_split,
            )
            for s in seeds
        ]
        return RolloutResult(run_jobs(jobs, num_workers, progress=False))
    name = name or type(policy).__name__
    return RolloutResult(
        [
            run_episode(
                policy,
                env_id,
                s,
                perturbation,
                max_steps=max_steps,
                name=name,
                condition=condition,
                gif_dir=gif_dir,
                explain=explain,
                text_split=text_split,
            )
            for s in seeds
        ]
    )
