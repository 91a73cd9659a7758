"""desktop: gymnasium envs over a real Tk application under X11, observed by screen capture.

Registered with gymnasium as ``desktop/<Task>-v0`` when ``act.envs`` is imported (nothing heavy is
imported until an env is made)::

    import gymnasium, act.envs
    env = gymnasium.make("desktop/Login-v0")   # starts its own Xvfb; display=":0" uses yours

Needs Xvfb and xdotool (apt-get install xvfb xdotool), tkinter and mss.
"""

from __future__ import annotations

from typing import Any

# gymnasium task name -> the app's task
TASKS = {"Login": "login", "Settings": "settings", "Search": "search", "Export": "export"}
ENV_IDS = tuple(f"desktop/{name}-v0" for name in TASKS)


def register() -> None:
    """Register ``desktop/<Task>-v0`` for every task (idempotent)."""
    import gymnasium as gym

    for name, task in TASKS.items():
        env_id = f"desktop/{name}-v0"
        if env_id not in gym.registry:
            gym.register(id=env_id, entry_point="act.envs.desktop.env:DesktopEnv", kwargs={"task": task})


def expert_for(env: Any, **kwargs: Any) -> Any:
    """The scripted expert of a desktop env (``act(obs, info) -> Action``)."""
    from act.envs.desktop.expert import DesktopExpert

    return DesktopExpert(env, **kwargs)


def record_expert(*args: Any, **kwargs: Any) -> Any:
    """Run the expert while ``act-record`` records the screen and input; see ``act.envs.desktop.record``."""
    from act.envs.desktop.record import record_expert as run

    return run(*args, **kwargs)


def record_experts(*args: Any, **kwargs: Any) -> Any:
    """Record many expert episodes per task (``act-generate env=desktop``); see act.envs.desktop.record."""
    from act.envs.desktop.record import record_experts as run

    return run(*args, **kwargs)


__all__ = ["ENV_IDS", "TASKS", "expert_for", "record_expert", "record_experts", "register"]
