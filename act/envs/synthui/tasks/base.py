"""What every synthui task provides: an app spec and instruction sampled from a seed, a judge of
commands, and one step of its scripted expert."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from act.envs.synthui.spec import AppSpec
from act.envs.synthui.ui import UI, Command

if TYPE_CHECKING:
    from act.envs.synthui.expert import Ctx
    from act.recording.schema import Action

SUCCESS, FAILURE = "success", "failure"


class Task:
    """One episode's task: ``spec`` (the app), ``instruction``, and the targets the judge checks."""

    name: ClassVar[str] = ""
    max_steps: ClassVar[int] = 60
    intents: ClassVar[tuple[str, ...]] = ()

    def __init__(self, rng: np.random.Generator):
        self.rng = rng
        self.spec, self.instruction = self.build(rng)

    def build(self, rng: np.random.Generator) -> tuple[AppSpec, str]:
        raise NotImplementedError

    def is_commit(self, cmd: Command) -> bool:
        """Whether ``cmd`` completes the task (the step extra_step asks to confirm)."""
        return False

    def on_command(self, cmd: Command, ui: UI) -> str | None:
        """React to a command; return SUCCESS or FAILURE when the episode is decided."""
        return None

    def expert_step(self, ctx: Ctx) -> Action:
        raise NotImplementedError


def pick(rng: np.random.Generator, options: Sequence[Any]) -> Any:
    return options[int(rng.integers(len(options)))]


def sample(rng: np.random.Generator, options: Sequence[Any], k: int) -> list[Any]:
    """``k`` distinct options, in random order."""
    return [options[int(i)] for i in rng.choice(len(options), size=k, replace=False)]


def join(names: Sequence[str]) -> str:
    """'A', 'A and B', 'A, B and C'."""
    names = list(names)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def close_menu(ctx: Ctx) -> Action | None:
    """Escape out of a menu the task does not need (one left open by a slip)."""
    if ctx.info["menu"]:
        return ctx.key("escape", "close the menu")
    return None
