"""Scripted experts: closed-loop, one semantic action per step, each labelled with its intent.

An expert reads the element tree in ``info`` (never the pixels), so it recovers from whatever the
perturbations do: it dismisses pop-ups, confirms, waits out latency and clicks again when a click
landed off target. Its behaviour varies from seed to seed: free orders, pointer positions inside
targets, and occasional slips (a click beside the target, a typo, a slider dragged one step off)
that it then corrects. It acts from any state, not only those of its own episodes (DAgger labels
the states a policy reaches): a wrong menu or tab open, a box ticked or a slider moved wrongly, a
wrong commit waiting for confirmation (it answers No). ``Expert(env, slip=0, typo=0)`` makes no
deliberate slips, typos or detours at all.

``variety`` (0 to 1; default the env's ``expert_variety``, 0) makes the demonstrations as varied as
people's: more slips and typos, pauses (a ``wait`` labelled "pause"), a pointer that wanders (a
click on empty background labelled "wander", which changes nothing), and every once-per-episode
choice (orders of sub-goals, routes, Enter or the button) drawn closer to uniform. At 0 the expert
draws exactly the random numbers it drew before the setting existed.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from act.envs.synthui.tasks.base import SUCCESS
from act.recording.schema import Action

if TYPE_CHECKING:
    from act.envs.synthui.env import SynthUIEnv

COMMON_INTENTS = (
    "dismiss the pop-up",
    "confirm the action",
    "wait for the screen to update",
    "close the menu",
    "cancel the wrong action",
)
WAIT = "wait for the screen to update"
# What a varied expert (``variety`` > 0) adds: a pause and a pointer that wanders off (no effect).
PAUSE = "pause"
WANDER = "wander"
VARIED_INTENTS = (PAUSE, WANDER)
# At variety 1: the chance, per step, of a pause and of a wander, and at most this many of each.
PAUSE_P, WANDER_P, MAX_DETOURS = 0.15, 0.15, 3
NEXT_FIELD = "move to the next field"
CANCEL = "cancel the wrong action"
MAX_SLIPS = 2


class Expert:
    """The scripted expert of a synthui env: ``act(obs, info) -> Action`` in logical pixels.

    ``slip``, ``typo``: chances of a click beside the target and of a wrong letter (default
    0.06 + 0.14 variety and 0.03 + 0.07 variety); with ``slip`` 0 the tasks' own detours (a wrong
    menu first, a slider one step off, scrolling past) are off too. ``variety``: see the module.
    """

    def __init__(
        self, env: Any, slip: float | None = None, typo: float | None = None, variety: float | None = None
    ):
        self.env: SynthUIEnv = env.unwrapped
        v = float(getattr(self.env, "expert_variety", 0.0) if variety is None else variety)
        if not 0.0 <= v <= 1.0:
            raise ValueError(f"expert variety {v} must be in [0, 1]")
        self.variety = v
        self.slip = 0.06 + 0.14 * v if slip is None else slip
        self.typo = 0.03 + 0.07 * v if typo is None else typo
        self.rng: np.random.Generator | None = None
        self.memo: dict[str, Any] = {}
        self.slips = 0
        self.detours = {PAUSE: 0, WANDER: 0}

    def reset(self, seed: int) -> None:
        """Start a new episode; behaviour is a function of the episode seed."""
        self.rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, 0xE7])
        self.memo = {}
        self.slips = 0
        self.detours = {PAUSE: 0, WANDER: 0}

    def act(self, obs: dict[str, Any], info: dict[str, Any]) -> Action:
        if info["step"] == 0 or self.rng is None:
            self.reset(info["seed"])
        ctx = Ctx(self, info)
        if info["pending"]:
            return ctx.wait()
        if info["modals"]:
            top = info["modals"][-1]
            if top["kind"] == "popup":
                if ctx.choose("popup_key", (True, False), (0.2, 0.8)):
                    return ctx.key("escape", "dismiss the pop-up")
                buttons = [
                    e["id"]
                    for e in info["elements"]
                    if e["id"].startswith("popup:") and e["role"] == "button"
                ]
                return ctx.click(buttons[int(ctx.rng.integers(len(buttons)))], "dismiss the pop-up")
            if top["kind"] == "confirm":
                if not self._commit_succeeds():
                    return ctx.click("confirm:no", CANCEL)
                return ctx.click("confirm:yes", "confirm the action")
        if self.variety > 0 and (a := self._detour(ctx)) is not None:
            return a
        return self.env.task.expert_step(ctx)

    def _detour(self, ctx: Ctx) -> Action | None:
        """A varied expert's pause or wandering pointer, drawn per step (never inside a menu)."""
        if ctx.info["menu"] is not None:
            return None
        v, n = self.variety, self.detours
        if n[PAUSE] < MAX_DETOURS and ctx.chance(PAUSE_P * v):
            n[PAUSE] += 1
            return ctx.wait(PAUSE)
        if n[WANDER] < MAX_DETOURS and ctx.chance(WANDER_P * v):
            p = ctx.blank()
            if p is not None:
                n[WANDER] += 1
                return Action("click", *p, intent=WANDER)
        return None

    def _commit_succeeds(self) -> bool:
        """Whether the commit waiting for confirmation is the right one (a policy's may not be).

        Asked of copies: a task's ``on_command`` may change its own or the app's state.
        """
        pending = getattr(self.env, "_pending_commit", None)
        if pending is None:
            return True
        task, ui = copy.deepcopy((self.env.task, self.env.ui))
        return task.on_command(pending, ui) == SUCCESS


class Ctx:
    """What one expert step sees, with helpers that turn targets into actions."""

    def __init__(self, expert: Expert, info: dict[str, Any]):
        self.expert = expert
        self.info = info
        self.rng: np.random.Generator = expert.rng  # type: ignore[assignment]
        self.ui = expert.env.ui
        self.els = {e["id"]: e for e in info["elements"]}

    # ------------------------------------------------------------------ state
    def el(self, id: str) -> dict[str, Any] | None:
        return self.els.get(id)

    def state(self, id: str) -> dict[str, Any]:
        return self.els[id]["state"]

    def choose(self, name: str, options: Sequence[Any], p: Sequence[float] | None = None) -> Any:
        """A choice made once per episode (an order, a route) and kept."""
        memo = self.expert.memo
        if name not in memo:
            v = self.expert.variety
            if p is not None and v > 0:  # a varied expert: closer to uniform over the options
                p = [(1 - v) * q + v / len(options) for q in p]
            memo[name] = options[int(self.rng.choice(len(options), p=p))]
        return memo[name]

    def chance(self, p: float) -> bool:
        return bool(self.rng.random() < p)

    # ---------------------------------------------------------------- pointer
    def point_in(self, bbox: Sequence[float]) -> tuple[float, float]:
        """A point well inside a box: uniform over its middle 60% (the centre for tiny boxes)."""
        x0, y0, x1, y1 = bbox
        w, h = x1 - x0, y1 - y0
        x = x0 + w * self.rng.uniform(0.2, 0.8) if w > 6 else (x0 + x1) / 2
        y = y0 + h * self.rng.uniform(0.3, 0.7) if h > 6 else (y0 + y1) / 2
        return round(float(x), 1), round(float(y), 1)

    def beside(self, bbox: Sequence[float]) -> tuple[float, float] | None:
        """A point just outside a box that hits nothing: where a slip lands."""
        x0, y0, x1, y1 = bbox
        w, h = self.ui.size
        for _ in range(8):
            d = self.rng.uniform(2, 6)
            side = int(self.rng.integers(4))
            if side == 0:
                x, y = x0 - d, self.rng.uniform(y0, y1)
            elif side == 1:
                x, y = x1 + d, self.rng.uniform(y0, y1)
            elif side == 2:
                x, y = self.rng.uniform(x0, x1), y0 - d
            else:
                x, y = self.rng.uniform(x0, x1), y1 + d
            if 0 <= x < w and 0 <= y < h and self.ui.hit(x, y) is None:
                return round(float(x), 1), round(float(y), 1)
        return None

    def blank(self) -> tuple[float, float] | None:
        """A point on empty background (no element takes a click there): where a pointer wanders."""
        w, h = self.ui.size
        for _ in range(8):
            x, y = self.rng.uniform(2, w - 2), self.rng.uniform(2, h - 2)
            if self.ui.hit(x, y) is None:
                return round(float(x), 1), round(float(y), 1)
        return None

    def _slip(self) -> bool:
        e = self.expert
        if e.slips < MAX_SLIPS and self.chance(e.slip):
            e.slips += 1
            return True
        return False

    def click(self, id: str, intent: str, double: bool = False, slip: bool = True) -> Action:
        bbox = self.els[id]["bbox"]
        if slip and self._slip():
            p = self.beside(bbox)
            if p is not None:
                return Action("click", *p, intent=intent)
        # a list row is clicked on its name, as a person does: where the pointer sees what it reads
        el = self.els[id]
        aim = el["text_bbox"] if el["role"] == "listitem" and el.get("text_bbox") else bbox
        x, y = self.point_in(aim)
        return Action("double_click" if double else "click", x, y, intent=intent, target=tuple(bbox))

    def drag(self, start: tuple[float, float], end: tuple[float, float], intent: str) -> Action:
        return Action("drag", start[0], start[1], end[0], end[1], intent=intent)

    def scroll(self, id: str, dy: int, intent: str) -> Action:
        bbox = self.els[id]["bbox"]
        x, y = self.point_in(bbox)
        return Action("scroll", x, y, dx=0.0, dy=float(dy), intent=intent, target=tuple(bbox))

    # --------------------------------------------------------------- keyboard
    def key(self, token: str, intent: str) -> Action:
        return Action("key", key=token, intent=intent)

    def wait(self, intent: str = WAIT) -> Action:
        return Action("wait", duration=0.5, intent=intent)

    def fill(
        self, id: str, target: str, *, focus: str, type_: str, clear: str, via_tab: bool = False
    ) -> Action | None:
        """The next step of getting ``target`` into text field ``id``; None once it is there.

        Focuses the field (a click, or Tab when ``via_tab``), clears wrong text (select-all or
        backspaces), then types one character per step with the occasional typo, fixed next step.
        """
        s = self.state(id)
        if self.info["focus"] != id:
            if via_tab and self.info["focus"] is not None:
                return self.key("tab", NEXT_FIELD)
            return self.click(id, focus)
        text = s["text"]
        if text == target:
            return None
        if s["select_all"]:
            return self._type(target[0], type_)
        n = 0
        while n < min(len(text), len(target)) and text[n] == target[n]:
            n += 1
        wrong = len(text) - n
        if wrong:
            if wrong >= 3 and self.choose(f"select_all:{id}", (True, False), (0.6, 0.4)):
                return self.key("ctrl+a", clear)
            return self.key("backspace", "fix a typo" if n and wrong <= 2 else clear)
        return self._type(target[n], type_)

    def _type(self, ch: str, intent: str) -> Action:
        if ch.isalpha() and self.chance(self.expert.typo):
            letters = [c for c in "abcdefghijklmnopqrstuvwxyz" if c != ch.lower()]
            ch = letters[int(self.rng.integers(len(letters)))]
        return self.key(ch, intent)


def careful_expert(env: Any) -> Expert:
    """The expert with no slips, typos, detours or variety: the labeller of the states a policy
    reaches (DAgger, closed-loop intent checks)."""
    return Expert(env, slip=0.0, typo=0.0, variety=0.0)


def expert_for(env: Any, **kwargs: Any) -> Expert:
    """The scripted expert for a synthui env (wrapped or not)."""
    return Expert(env, **kwargs)
