"""What every synthui task provides: an app spec and instruction sampled from a seed, a judge of
commands, and one step of its scripted expert."""

from __future__ import annotations

import string
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from act.envs.synthui.spec import AppSpec
from act.envs.synthui.ui import UI, Command

if TYPE_CHECKING:
    from act.envs.synthui.expert import Ctx
    from act.recording.schema import Action

SUCCESS, FAILURE = "success", "failure"
# Where a task's strings (queries, names, passwords, labels, file names) come from: "train", the
# lists the demonstrations use; "test", disjoint lists, so an evaluation sees strings no policy
# was trained on; "random", random letters.
TEXT_SPLITS = ("train", "test", "random")


class Task:
    """One episode's task: ``spec`` (the app), ``instruction``, and the targets the judge checks."""

    name: ClassVar[str] = ""
    max_steps: ClassVar[int] = 60
    intents: ClassVar[tuple[str, ...]] = ()
    # Whether the task types a string the instruction names (``text_targets`` is not empty): what
    # a stream drawing random strings for the typing tasks only (data.text_random_tasks) asks.
    types_text: ClassVar[bool] = False
    # The string lists the task draws from, by name: (train list, test list), disjoint.
    text_lists: ClassVar[dict[str, tuple[Sequence[str], Sequence[str]]]] = {}

    def __init__(self, rng: np.random.Generator, text_split: str = "train"):
        if text_split not in TEXT_SPLITS:
            raise ValueError(f"text_split: {text_split!r} is not one of {TEXT_SPLITS}")
        self.rng = rng
        self.text_split = text_split
        self.spec, self.instruction = self.build(rng)

    def strings(self, name: str) -> Sequence[str]:
        """List ``name`` of ``text_lists`` for this episode's split (the train list for "random",
        where the task draws random strings itself)."""
        train, test = self.text_lists[name]
        return test if self.text_split == "test" else train

    def build(self, rng: np.random.Generator) -> tuple[AppSpec, str]:
        raise NotImplementedError

    def text_targets(self) -> dict[str, str]:
        """Text field key -> the string the instruction asks to type there (none for click-only tasks):
        what the typed-string metric compares the fields with."""
        return {}

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


def random_word(
    rng: np.random.Generator, low: int = 3, high: int = 8, letters: str = string.ascii_lowercase
) -> str:
    """A random string of ``low`` to ``high`` letters (the "random" text split)."""
    return "".join(letters[int(i)] for i in rng.integers(len(letters), size=int(rng.integers(low, high + 1))))


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
