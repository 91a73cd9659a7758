"""DOM experts for MiniWoB++ tasks: closed loop, one semantic action per step, each with its intent.

An expert reads the instruction and ``info["elements"]`` (the DOM: boxes, roles, text, values),
never the pixels, so it copes with what perturbations do: it dismisses pop-ups, finds moved or
zoomed controls, and skips decoys because it matches controls by their text. Its pointer lands
at a random point inside the middle of the target and some choices (field order, Tab or click
to reach the next field) vary with the seed, so demonstrations are not all alike.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np

from act.envs.miniwob.tasks import (
    CLICK_BUTTON,
    CLICK_LINK,
    CLOSE_DIALOG,
    DISMISS,
    ERASE,
    FOCUS,
    NEXT_FIELD,
    OPEN_TAB,
    SUBMIT,
    TICK,
    TYPE,
    WAIT,
)
from act.recording.schema import Action

Element = dict[str, Any]
FOCUSABLE = ("button", "textbox", "checkbox", "radio", "link", "select", "input")


class ExpertStuck(RuntimeError):
    """The expert cannot find what its task needs on the page (a changed task page, or a bug)."""


class Expert:
    """The DOM expert of a MiniWoB++ env: ``act(obs, info) -> Action`` in task-area pixels."""

    def __init__(self, env: Any, tab_p: float = 0.3, escape_p: float = 0.2):
        self.env = env.unwrapped
        self.task = self.env.task_name
        self.policy: Callable[[Ctx], Action] = EXPERTS[self.task]
        self.tab_p = tab_p
        self.escape_p = escape_p
        self.rng: np.random.Generator | None = None
        self.memo: dict[str, Any] = {}

    def reset(self, seed: int) -> None:
        """Start a new episode; behaviour is a function of the episode seed."""
        self.rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, 0xE7])
        self.memo = {}

    def act(self, obs: dict[str, Any], info: dict[str, Any]) -> Action:
        if info["step"] == 0 or self.rng is None:
            self.reset(info["seed"])
        ctx = Ctx(self, info)
        popup = [e for e in ctx.els if e["popup"] and e["role"] == "button"]
        if popup:
            if ctx.choose("popup_key", (True, False), (self.escape_p, 1 - self.escape_p)):
                return ctx.key("escape", DISMISS)
            return ctx.click(popup[int(ctx.rng.integers(len(popup)))], DISMISS)
        cancel = ctx.first(lambda e: e["elem_id"] == "popup-cancel")  # login-user-popup's own pop-up
        if cancel is not None:
            return ctx.click(cancel, DISMISS)
        return self.policy(ctx)


class Ctx:
    """What one expert step sees, with helpers that turn targets into actions."""

    def __init__(self, expert: Expert, info: dict[str, Any]):
        self.expert = expert
        self.info = info
        self.rng: np.random.Generator = expert.rng  # type: ignore[assignment]
        self.els: list[Element] = info["elements"]
        self.instruction: str = info["instruction"]

    # ------------------------------------------------------------------ reading
    def parse(self, pattern: str) -> tuple[str, ...]:
        m = re.fullmatch(pattern, self.instruction)
        if m is None:
            raise ExpertStuck(
                f"{self.expert.task}: instruction {self.instruction!r} does not match {pattern!r}"
            )
        return m.groups()

    def find(self, pred: Callable[[Element], bool]) -> list[Element]:
        return [e for e in self.els if not e["popup"] and pred(e)]

    def first(self, pred: Callable[[Element], bool]) -> Element | None:
        found = self.find(pred)
        return found[0] if found else None

    def need(self, pred: Callable[[Element], bool], what: str) -> Element:
        found = self.find(pred)
        if not found:
            raise ExpertStuck(f"{self.expert.task}: no {what} on the page")
        visible = [e for e in found if e["visible"]]
        return (visible or found)[0]

    def choose(self, name: str, options: Any, p: Any = None) -> Any:
        """A choice made once per episode (an order, a route) and kept."""
        memo = self.expert.memo
        if name not in memo:
            memo[name] = options[int(self.rng.choice(len(options), p=p))]
        return memo[name]

    # ------------------------------------------------------------------ acting
    def point_in(self, bbox: list[float]) -> tuple[float, float]:
        """A point well inside a box (middle 60%, clipped to the task area); the centre of tiny boxes."""
        x0, y0 = max(bbox[0], 0.0), max(bbox[1], 0.0)
        x1, y1 = min(bbox[2], 159.0), min(bbox[3], 209.0)
        w, h = x1 - x0, y1 - y0
        x = x0 + w * self.rng.uniform(0.2, 0.8) if w > 6 else (x0 + x1) / 2
        y = y0 + h * self.rng.uniform(0.3, 0.7) if h > 6 else (y0 + y1) / 2
        return round(float(x), 1), round(float(y), 1)

    def click(self, el: Element, intent: str) -> Action:
        return Action("click", *self.point_in(el["bbox"]), intent=intent)

    def key(self, token: str, intent: str) -> Action:
        return Action("key", key=token, intent=intent)

    def wait(self) -> Action:
        return Action("wait", duration=0.5, intent=WAIT)

    def fill(self, el: Element, target: str, previous: Element | None = None) -> Action | None:
        """The next step of getting ``target`` into text field ``el``; None once it is there.

        Focuses it (a click, or Tab from ``previous`` when that is the field just before it),
        moves the caret to the end, erases wrong text, then types one character per step.
        """
        value = el.get("value") or ""
        if value == target:
            return None
        if self.info["focus"] != el["id"]:
            tab_reaches = (
                previous is not None
                and self.info["focus"] == previous["id"]
                and self._next_focusable(previous) is el
            )
            tab_p = self.expert.tab_p
            if tab_reaches and self.choose(f"tab:{el['id']}", (True, False), (tab_p, 1 - tab_p)):
                return self.key("tab", NEXT_FIELD)
            return self.click(el, FOCUS)
        if el.get("caret") is not None and el["caret"] != len(value):
            return self.key("end", FOCUS)
        if target.startswith(value):
            return self.key(target[len(value)], TYPE)
        return self.key("backspace", ERASE)

    def _next_focusable(self, el: Element) -> Element | None:
        ids = [e["id"] for e in self.els]
        i = ids.index(el["id"]) if el["id"] in ids else -1
        for e in self.els[i + 1 :]:
            if e["role"] in FOCUSABLE and not e["disabled"]:
                return e
        return None


# ---------------------------------------------------------------------- tasks
def click_button(ctx: Ctx) -> Action:
    (label,) = ctx.parse(r'Click on the "(.+)" button\.')
    return ctx.click(
        ctx.need(lambda e: e["role"] == "button" and e["text"] == label, f"button {label!r}"), CLICK_BUTTON
    )


def click_link(ctx: Ctx) -> Action:
    (label,) = ctx.parse(r'Click on the link "(.+)"\.')
    link = ctx.need(
        lambda e: e["role"] == "link" and "alink" in e["classes"] and e["text"] == label, f"link {label!r}"
    )
    return ctx.click(link, CLICK_LINK)


def click_dialog(ctx: Ctx) -> Action:
    close = ctx.need(
        lambda e: e["role"] == "button" and "ui-dialog-titlebar-close" in e["classes"], "close button"
    )
    return ctx.click(close, CLOSE_DIALOG)


def click_tab(ctx: Ctx) -> Action:
    (n,) = ctx.parse(r"Click on Tab #(\d+)\.")
    return ctx.click(
        ctx.need(lambda e: e["role"] == "tab" and e["text"] == f"Tab #{n}", f"tab {n}"), OPEN_TAB
    )


def focus_text(ctx: Ctx) -> Action:
    return ctx.click(ctx.need(lambda e: e["role"] == "textbox" and e["elem_id"] == "tt", "text field"), FOCUS)


def enter_text(ctx: Ctx) -> Action:
    (text,) = ctx.parse(r'Enter "(.+)" into the text field and press Submit\.')
    field = ctx.need(lambda e: e["role"] == "textbox" and e["elem_id"] == "tt", "text field")
    step = ctx.fill(field, text)
    if step is not None:
        return step
    return ctx.click(ctx.need(lambda e: e["elem_id"] == "subbtn", "Submit button"), SUBMIT)


def login_user(ctx: Ctx) -> Action:
    user, password = ctx.parse(
        r'Enter the username "(.+)" and the password "(.+)" into the text fields and press login\.'
    )
    u = ctx.need(lambda e: e["elem_id"] == "username", "username field")
    p = ctx.need(lambda e: e["elem_id"] == "password", "password field")
    step = ctx.fill(u, user) or ctx.fill(p, password, previous=u)
    if step is not None:
        return step
    return ctx.click(ctx.need(lambda e: e["elem_id"] == "subbtn", "login button"), SUBMIT)


def click_checkboxes(ctx: Ctx) -> Action:
    (names,) = ctx.parse(r"Select (.*) and click Submit\.")
    want = set() if names == "nothing" else set(names.split(", "))
    boxes = ctx.find(lambda e: e["role"] == "checkbox")
    wrong = [b for b in boxes if b["checked"] != (b["label"] in want)]
    if wrong:
        order = ctx.choose("order", ("top", "random"), (0.7, 0.3))
        return ctx.click(wrong[0] if order == "top" else wrong[int(ctx.rng.integers(len(wrong)))], TICK)
    return ctx.click(ctx.need(lambda e: e["elem_id"] == "subbtn", "Submit button"), SUBMIT)


_FIELD_WORDS = {"genre": ("genre",), "director": ("director",), "year": ("year", "date")}


def multi_layouts(ctx: Ctx) -> Action:
    genre, director, year = ctx.parse(r"Search for (.+) movies directed by (.+) from year (\d+)\.")
    target = {"genre": genre, "director": director, "year": year}
    fields: dict[str, Element] = {}
    for e in ctx.find(lambda e: e["role"] == "textbox"):
        label = e.get("label", "").lower()
        for name, words in _FIELD_WORDS.items():
            if name not in fields and any(w in label for w in words):
                fields[name] = e
    if len(fields) < 3:
        raise ExpertStuck(f"{ctx.expert.task}: found fields {sorted(fields)} of genre, director, year")
    top_down = sorted(fields, key=lambda n: (fields[n]["bbox"][1], fields[n]["bbox"][0]))
    order = ctx.choose("order", (tuple(top_down), tuple(ctx.rng.permutation(top_down).tolist())), (0.7, 0.3))
    previous = None
    for name in order:
        step = ctx.fill(fields[name], target[name], previous=previous)
        if step is not None:
            return step
        previous = fields[name]
    submit = ctx.need(
        lambda e: e["role"] == "button" and e["text"] in ("Submit", "Search", "Go!"), "search button"
    )
    return ctx.click(submit, SUBMIT)


EXPERTS: dict[str, Callable[[Ctx], Action]] = {
    "click-button": click_button,
    "click-link": click_link,
    "click-dialog": click_dialog,
    "click-tab": click_tab,
    "focus-text": focus_text,
    "enter-text": enter_text,
    "login-user": login_user,
    "click-checkboxes": click_checkboxes,
    "click-checkboxes-transfer": click_checkboxes,
    "login-user-popup": login_user,
    "multi-layouts": multi_layouts,
    "multi-orderings": multi_layouts,
}


def expert_for(env: Any, **kwargs: Any) -> Expert:
    """The DOM expert for a MiniWoB++ env (wrapped or not)."""
    return Expert(env, **kwargs)
