"""MiniWoB++ in headless Chromium: the same observation, action space and recordings as synthui.

Importing this package registers ``act-miniwob/<task>-v0`` with gymnasium for every task with a
DOM expert (``TASKS``); Selenium and Chromium are needed only when an env is made::

    import gymnasium, act.envs
    env = gymnasium.make("act-miniwob/click-button-v0", perturbation="theme:0.5")

Needs the ``miniwob`` extra (``pip install -e ".[miniwob]"``) and Debian's ``chromium`` and
``chromium-driver`` (``scripts/setup.sh`` installs them).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym

from act.envs.miniwob.tasks import INTENTS, PIX2ACT_TASKS, ROBUSTNESS_TASKS, TASKS, benchmark_tasks, env_id

ENV_IDS = tuple(env_id(t) for t in TASKS)
SUPPORTED_FAMILIES = ("layout_shift", "scale", "theme", "reorder", "popup", "distractors")


def register() -> None:
    """Register ``act-miniwob/<task>-v0`` for every task in ``TASKS`` (idempotent, imports nothing heavy)."""
    for task in TASKS:
        if env_id(task) not in gym.registry:
            gym.register(
                id=env_id(task), entry_point="act.envs.miniwob.env:MiniWoBEnv", kwargs={"task": task}
            )


def resolve(name: str) -> str | None:
    """'click-button' or 'miniwob/click-button-v0' -> 'act-miniwob/click-button-v0'; None if not ours.

    (MiniWoB++'s own ids, ``miniwob/<task>-v1``, stay the package's raw envs.)
    """
    task = name.removeprefix("miniwob/").removesuffix("-v0") if name.startswith("miniwob/") else name
    if task in TASKS and (name == task or name.endswith("-v0")):
        return env_id(task)
    return None


def available() -> str | None:
    """None when MiniWoB++ envs can run here, else the reason they cannot (for skips and messages)."""
    try:
        import miniwob  # noqa: F401
        import selenium  # noqa: F401
    except ImportError as e:
        return f"the miniwob extra is not installed ({e.name}): pip install -e '.[miniwob]'"
    from act.envs.miniwob.browser import find_chromium

    if find_chromium() is None:
        return (
            "Chromium or chromedriver not found "
            "(apt-get install chromium chromium-driver, or scripts/setup.sh)"
        )
    return None


def __getattr__(name: str) -> Any:  # lazy: the env, browser and expert modules import Selenium's world
    if name in ("MiniWoBEnv", "shutdown_browsers"):
        from act.envs.miniwob import env

        return getattr(env, name)
    if name in ("Browser", "BrowserConfig", "BrowserError", "ChromiumNotFound", "find_chromium"):
        from act.envs.miniwob import browser

        return getattr(browser, name)
    if name in ("Expert", "ExpertStuck", "expert_for"):
        from act.envs.miniwob import expert

        return getattr(expert, name)
    if name == "generate":
        from act.envs.miniwob.generate import generate

        return generate
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


register()

__all__ = [
    "ENV_IDS",
    "INTENTS",
    "PIX2ACT_TASKS",
    "ROBUSTNESS_TASKS",
    "SUPPORTED_FAMILIES",
    "TASKS",
    "Browser",
    "BrowserConfig",
    "BrowserError",
    "ChromiumNotFound",
    "Expert",
    "ExpertStuck",
    "MiniWoBEnv",
    "available",
    "benchmark_tasks",
    "env_id",
    "expert_for",
    "find_chromium",
    "generate",
    "register",
    "resolve",
    "shutdown_browsers",
]
