"""Gymnasium environments (synthui built in), perturbation families, scripted experts and their loop.

Importing this package registers the synthui envs with gymnasium as ``synthui/<Task>-v0``.
``gymnasium.make("act.envs:synthui/ClickButton-v0")`` imports it for you.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym

from act.envs import desktop as _desktop  # desktop/<Task>-v0: a real Tk app under X11, started on make
from act.envs import miniwob as _miniwob  # registers act-miniwob/<task>-v0; Selenium loads only on make
from act.envs.expert_loop import ExpertSteps
from act.envs.perturbations import FAMILIES, format_spec, parse_spec
from act.envs.synthui import ENV_IDS, TASKS


def _register() -> None:
    for name in TASKS:
        env_id = f"synthui/{name}-v0"
        if env_id not in gym.registry:
            gym.register(id=env_id, entry_point="act.envs.synthui.env:SynthUIEnv", kwargs={"task": name})


_register()
_desktop.register()


def env_id(name: str) -> str:
    """'ClickButton' or 'synthui/ClickButton-v0' -> 'synthui/ClickButton-v0'."""
    if miniwob_id := _miniwob.resolve(name):  # 'click-button', 'miniwob/click-button-v0'
        return miniwob_id
    if "/" in name or name.endswith("-v0"):
        return name
    if name in TASKS:
        return f"synthui/{name}-v0"
    raise ValueError(f"unknown env or task {name!r}; synthui tasks: {', '.join(TASKS)}")


def make(name: str, perturbation: Any = None, **kwargs: Any) -> gym.Env:
    """``gymnasium.make`` for an env id or a bare synthui task name, with a perturbation spec."""
    return gym.make(env_id(name), perturbation=perturbation, **kwargs)


def expert_for(env: gym.Env, **kwargs: Any) -> Any:
    """The scripted expert of any env of this package (an object with ``act(obs, info) -> Action``);
    ``ExpertSteps(env, seed)`` runs an episode with it."""
    base = env.unwrapped
    if getattr(base, "source", None) == "synthui":
        from act.envs.synthui import expert_for as synthui_expert

        return synthui_expert(env, **kwargs)
    if hasattr(base, "make_expert"):
        return base.make_expert(**kwargs)
    raise TypeError(f"no scripted expert for {type(base).__name__}")


__all__ = [
    "ENV_IDS",
    "FAMILIES",
    "TASKS",
    "ExpertSteps",
    "env_id",
    "expert_for",
    "format_spec",
    "make",
    "parse_spec",
]
