"""Rolling out the scripted expert, and replaying recorded actions blind (the macro baseline)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from act.envs.expert_loop import ExpertSteps
from act.envs.synthui.expert import Expert
from act.recording.schema import Action, Episode


@dataclass
class Rollout:
    success: bool
    steps: int
    actions: list[Action] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)


def run_expert(
    env: Any,
    seed: int,
    expert: Expert | None = None,
    on_step: Callable[[dict[str, Any], dict[str, Any], Action], None] | None = None,
) -> Rollout:
    """One episode of the env's expert; ``on_step(obs, info, action)`` sees each step before it runs."""
    run = ExpertSteps(env, seed, expert)  # default: the env's own expert (synthui's or MiniWoB++'s)
    actions: list[Action] = []
    for obs, action, info in run:
        if on_step is not None:
            on_step(obs, info, action)
        actions.append(action)
    return Rollout(run.success, len(actions), actions, run.info)


def replay_macro(
    env: Any, actions: Sequence[Action] | Episode | str | Path, seed: int | None = None
) -> Rollout:
    """Replay actions by their recorded coordinates and keys, one per step, never looking at the screen.

    ``actions``: Actions, an Episode or an episode directory (its seed is read from meta.json's
    ``extra.seed`` when ``seed`` is not given). Succeeds only if the env reports success before the
    actions run out.
    """
    if isinstance(actions, (str, Path)):
        from act.recording.io import read_episode

        actions = read_episode(actions)
    if isinstance(actions, Episode):
        if seed is None:
            seed = actions.meta.extra.get("seed")
        actions = actions.actions()
    if seed is None:
        raise ValueError("replay_macro needs the seed of the recorded episode")
    base = env.unwrapped
    _, info = env.reset(seed=int(seed))
    done: list[Action] = []
    for a in actions:
        _, _, terminated, truncated, info = env.step(base.to_env_action(a))
        done.append(a)
        if terminated or truncated:
            break
    return Rollout(bool(info["success"]), len(done), done, info)
