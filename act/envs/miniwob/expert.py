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
    ADJUST,
    CLICK_BUTTON,
    CLICK_LINK,
    CLOSE_DIALOG,
    DISMISS,
    DRAG,
    ERASE,
    EXPAND,
    FOCUS,
    NEXT_FIELD,
    OPEN_TAB,
    PICK,
    SUBMIT,
    TICK,
    TYPE,
    WAIT,
)
from act.recording.schema import Action

Element = dict[str, Any]
DOM_QUERY = """
var out = [], names = arguments[1];
document.querySelectorAll(arguments[0]).forEach(function (el) {
  var r = el.getBoundingClientRect(), s = window.getComputedStyle(el), a = {};
  names.forEach(function (n) { a[n] = el.getAttribute(n); });
  var cls = el.className && el.className.baseVal !== undefined ? el.className.baseVal : el.className;
  out.push({bbox: [r.left, r.top, r.right, r.bottom], text: (el.textContent || '').trim(),
            tag: el.tagName.toLowerCase(), classes: String(cls || ''), attrs: a,
            shown: r.width > 0 && r.height > 0 && s.visibility !== 'hidden'});
});
return out;
"""
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

    def click_clear(self, el: Element | dict, over: list, intent: str) -> Action:
        """A click inside ``el`` outside the boxes of ``over`` (elements that may lie on top of it)."""

        def clear(p: tuple[float, float]) -> bool:
            return not any(
                o["bbox"][0] <= p[0] <= o["bbox"][2] and o["bbox"][1] <= p[1] <= o["bbox"][3] for o in over
            )

        for _ in range(20):
            p = self.point_in(el["bbox"])
            if clear(p):
                return Action("click", *p, intent=intent)
        x0, y0, x1, y1 = el["bbox"]
        for gy in np.linspace(y0 + 1, y1 - 1, 8):
            for gx in np.linspace(x0 + 1, x1 - 1, 8):
                if clear((gx, gy)):
                    return Action("click", round(float(gx), 1), round(float(gy), 1), intent=intent)
        return self.click(el, intent)

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

    def drag(self, src: Element | dict, x2: float, y2: float, intent: str) -> Action:
        """Press inside ``src``'s box, move to (x2, y2) and release there."""
        x, y = self.point_in(src["bbox"])
        return Action("drag", x, y, x2=round(float(x2), 1), y2=round(float(y2), 1), intent=intent)

    def dom(self, selector: str, attrs: tuple[str, ...] = ()) -> list[dict[str, Any]]:
        """Elements matching a CSS selector, read from the page: bbox (task-area pixels), text, tag,
        class, ``shown`` (has a box and is not hidden) and the named attributes. For what
        ``info["elements"]`` leaves out: boxes without text (colour swatches, SVG shapes, handles)."""
        return self.expert.env.browser.script(DOM_QUERY, selector, list(attrs), what="query the DOM")

    def js(self, expression: str) -> Any:
        """The value of a JavaScript expression in the task page (a widget's state, e.g. a slider's value)."""
        return self.expert.env.browser.script(f"return ({expression});", what="read the page")

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


def click_test(ctx: Ctx) -> Action:
    return ctx.click(ctx.need(lambda e: e["elem_id"] == "subbtn", "button"), CLICK_BUTTON)


def _click_button_uncovered(ctx: Ctx, label: str) -> Action:
    """The two buttons are placed at random and may overlap: click where no later (upper) one lies."""
    buttons = ctx.find(lambda e: e["role"] == "button")
    target = ctx.need(lambda e: e["role"] == "button" and e["text"] == label, f"button {label!r}")
    above = buttons[buttons.index(target) + 1 :] if target in buttons else []
    return ctx.click_clear(target, above, CLICK_BUTTON)


def click_test_2(ctx: Ctx) -> Action:
    (label,) = ctx.parse(r"Click button (ONE|TWO)\.")
    return _click_button_uncovered(ctx, label)


def click_button_sequence(ctx: Ctx) -> Action:
    first, second = ctx.parse(r"Click button (\w+), then click button (\w+)\.")
    label = second if ctx.expert.memo.get("clicked") else first
    ctx.expert.memo["clicked"] = True
    return _click_button_uncovered(ctx, label)


def click_dialog_2(ctx: Ctx) -> Action:
    (label,) = ctx.parse(r'Click the button in the dialog box labeled "(.+)"\.')
    if label == "x":
        return click_dialog(ctx)
    button = ctx.need(
        lambda e: (
            e["role"] == "button" and e["text"] == label and "ui-dialog-titlebar-close" not in e["classes"]
        ),
        f"button {label!r}",
    )
    return ctx.click(button, CLICK_BUTTON)


def click_option(ctx: Ctx) -> Action:
    (name,) = ctx.parse(r"Select (.*) and click Submit\.")
    radio = ctx.need(lambda e: e["role"] == "radio" and e["label"] == name, f"option {name!r}")
    if not radio["checked"]:
        return ctx.click(radio, TICK)
    return ctx.click(ctx.need(lambda e: e["elem_id"] == "subbtn", "Submit button"), SUBMIT)


# click-widget's widget types -> how the DOM reader sees them
_WIDGETS: dict[str, Callable[[Element], bool]] = {
    "radio": lambda e: e["role"] == "radio",
    "checkbox": lambda e: e["role"] == "checkbox",
    "text": lambda e: e["tag"] == "input" and e["role"] in ("input", "textbox"),
    "textarea": lambda e: e["tag"] == "textarea",
    "button": lambda e: e["tag"] == "button",
}


def click_widget(ctx: Ctx) -> Action:
    (kind,) = ctx.parse(r'Click on a "(\w+)" widget\.')
    if kind not in _WIDGETS:
        raise ExpertStuck(f"click-widget: unknown widget type {kind!r}")
    is_kind = _WIDGETS[kind]
    return ctx.click(ctx.need(lambda e: is_kind(e) and not e["decoy"], f"{kind} widget"), PICK)


def _find_link_behind(ctx: Ctx, label: str, headers: list[Element], intent: str) -> Action:
    """Click the shown link ``label``; else open the next header (tab, section) not yet opened."""
    link = ctx.first(lambda e: e["role"] == "link" and "alink" in e["classes"] and e["text"] == label)
    if link is not None and link["visible"]:
        return ctx.click(link, CLICK_LINK)
    opened = ctx.expert.memo.setdefault("opened", [])
    rest = [h for h in headers if h["text"] not in opened]
    if not rest:
        raise ExpertStuck(f"{ctx.expert.task}: no link {label!r} behind any of {len(headers)} headers")
    opened.append(rest[0]["text"])
    return ctx.click(rest[0], intent)


def click_tab_2(ctx: Ctx) -> Action:
    (label,) = ctx.parse(r'Switch between the tabs to find and click on the link "(.+)"\.')
    tabs = ctx.find(lambda e: e["role"] == "tab")
    active = ctx.dom(".ui-tabs-nav li.ui-tabs-active a")
    opened = ctx.expert.memo.setdefault("opened", [])
    if active and active[0]["text"] not in opened:
        opened.append(active[0]["text"])
    # click-tab-2-medium empties Tab #2; when that removed every copy of the link, Tab #2 is the answer.
    medium = ctx.expert.task == "click-tab-2-medium"
    if medium and not any(d["text"] == label for d in ctx.dom(".alink")):
        tab2 = ctx.need(lambda e: e["role"] == "tab" and e["text"] == "Tab #2", "Tab #2")
        return ctx.click(tab2, OPEN_TAB)
    return _find_link_behind(ctx, label, tabs, OPEN_TAB)


def click_collapsible(ctx: Ctx) -> Action:
    submit = ctx.need(lambda e: e["elem_id"] == "subbtn", "Submit button")
    if ctx.dom(".ui-accordion-content-active"):
        return ctx.click(submit, SUBMIT)
    header = ctx.need(lambda e: "ui-accordion-header" in e["classes"], "section header")
    return ctx.click(header, EXPAND)


def click_collapsible_2(ctx: Ctx) -> Action:
    (label,) = ctx.parse(r'Expand the sections below, to find and click on the link "(.+)"\.')
    headers = ctx.find(lambda e: "ui-accordion-header" in e["classes"])
    return _find_link_behind(ctx, label, headers, EXPAND)


# click-checkboxes-soft's word groups: a box is wanted when its word shares a group with a named word
_SYNONYMS = (
    ("big", "large", "huge", "enormous", "gigantic"),
    ("small", "tiny", "little", "mini", "petite"),
    ("red", "scarlet", "crimson", "vermillion"),
    ("happy", "cheerful", "joyful", "gleeful", "delighted"),
    ("sad", "unhappy", "sorrowful", "miserable", "tragic"),
    ("angry", "mad", "furious", "irritated"),
    ("evil", "wicked", "immoral", "sinful", "corrupt", "depraved"),
    ("wrong", "incorrect", "mistaken", "erroneous"),
    ("real", "genuine", "actual"),
    ("strange", "odd", "peculiar", "unusual", "weird"),
    ("stop", "cease", "halt", "end", "finish"),
    ("scared", "terrified", "panicked", "fearful", "frightened", "afraid"),
    ("quiet", "calm", "peaceful", "serene", "mild"),
    ("old", "aged", "archaic"),
    ("love", "like", "adore", "favor"),
    ("kill", "murder", "assassinate"),
    ("keep", "retain", "preserve", "sustain", "maintain"),
    ("hide", "conceal", "camouflage"),
    ("hate", "despise", "loathe", "detest", "dislike"),
    ("funny", "humorous", "amusing", "comical", "laughable"),
    ("fat", "fleshy", "plump", "chubby"),
    ("stupid", "dumb", "dull", "unwise"),
    ("delicious", "savory", "delectable", "appetizing"),
    ("cut", "slice", "carve", "chop"),
    ("brave", "courageous", "fearless"),
    ("begin", "start", "initiate", "launch"),
    ("answer", "reply", "response"),
    ("television", "televisions", "TV", "TVs"),
    ("house", "home", "houses", "homes"),
    ("fire", "flame", "fires", "flames"),
    ("pig", "pork", "swine"),
    ("rabbit", "rabbits", "bunny", "bunnies"),
    ("car", "cars", "automobile", "automobiles", "vehicle", "vehicles"),
    ("water",),
)


def _tick_then_submit(ctx: Ctx, wanted: Callable[[Element], bool]) -> Action:
    boxes = ctx.find(lambda e: e["role"] == "checkbox")
    wrong = [b for b in boxes if b["checked"] != wanted(b)]
    if wrong:
        order = ctx.choose("order", ("top", "random"), (0.7, 0.3))
        return ctx.click(wrong[0] if order == "top" else wrong[int(ctx.rng.integers(len(wrong)))], TICK)
    return ctx.click(ctx.need(lambda e: e["elem_id"] == "subbtn", "Submit button"), SUBMIT)


def click_checkboxes_soft(ctx: Ctx) -> Action:
    (names,) = ctx.parse(r"Select words similar to (.*) and click Submit\.")
    named = set() if names == "nothing" else set(names.split(", "))
    groups = [set(g) for g in _SYNONYMS if named & set(g)]
    return _tick_then_submit(ctx, lambda b: any(b["label"] in g for g in groups))


def click_color(ctx: Ctx) -> Action:
    (color,) = ctx.parse(r"Click on the (.+) colored box\.")
    boxes = [d for d in ctx.dom("#area .color", ("data-color",)) if d["shown"]]
    match = [d for d in boxes if d["attrs"]["data-color"] == color]
    if not match:
        raise ExpertStuck(f"click-color: no {color} box among {[d['attrs']['data-color'] for d in boxes]}")
    return ctx.click(match[0], PICK)


def click_shades(ctx: Ctx) -> Action:
    (color,) = ctx.parse(r"Select all the shades of (\w+) and press Submit\.")
    spans = [d for d in ctx.dom("#area span", ("data-color",)) if d["shown"]]
    wrong = [d for d in spans if ("selected" in d["classes"].split()) != (d["attrs"]["data-color"] == color)]
    if wrong:
        order = ctx.choose("order", ("top", "random"), (0.7, 0.3))
        return ctx.click(wrong[0] if order == "top" else wrong[int(ctx.rng.integers(len(wrong)))], PICK)
    return ctx.click(ctx.need(lambda e: e["elem_id"] == "submit", "Submit button"), SUBMIT)


def unicode_test(ctx: Ctx) -> Action:
    (label,) = ctx.parse(r'Click on the "(.+)" button\.')
    return ctx.click(
        ctx.need(lambda e: e["role"] == "button" and e["text"] == label, f"button {label!r}"), CLICK_BUTTON
    )


def _type_then_submit(ctx: Ctx, field_id: str, text: str) -> Action:
    field = ctx.need(lambda e: e["role"] == "textbox" and e["elem_id"] == field_id, "text field")
    step = ctx.fill(field, text)
    if step is not None:
        return step
    return ctx.click(ctx.need(lambda e: e["elem_id"] == "subbtn", "Submit button"), SUBMIT)


def enter_text_2(ctx: Ctx) -> Action:
    text, case = ctx.parse(
        r'Type "(.+)" in all (upper|lower) case letters in the text input and press Submit\.'
    )
    return _type_then_submit(ctx, "tt", text.upper() if case == "upper" else text.lower())


def text_transform(ctx: Ctx) -> Action:
    if "text" not in ctx.expert.memo:  # the skewed letters of #captcha, read once
        ctx.expert.memo["text"] = "".join(d["text"] for d in ctx.dom("#captcha span"))
    if not ctx.expert.memo["text"]:
        raise ExpertStuck("text-transform: no captcha text on the page")
    return _type_then_submit(ctx, "tt", ctx.expert.memo["text"])


def _problem(ctx: Ctx) -> str:
    problem = ctx.dom("#math-problem")
    if not problem:
        raise ExpertStuck(f"{ctx.expert.task}: no #math-problem on the page")
    return problem[0]["text"]


def simple_arithmetic(ctx: Ctx) -> Action:
    m = re.fullmatch(r"(\d+) ([-+x]) (\d+) =", _problem(ctx))
    if m is None:
        raise ExpertStuck(f"simple-arithmetic: cannot read {_problem(ctx)!r}")
    a, op, b = int(m[1]), m[2], int(m[3])
    answer = a + b if op == "+" else a - b if op == "-" else a * b
    return _type_then_submit(ctx, "math-answer", str(answer))


def simple_algebra(ctx: Ctx) -> Action:
    text = _problem(ctx)
    m1 = re.fullmatch(r"x ([-+]) (\d+) = (\d+)", text)
    m2 = re.fullmatch(r"(\d+) ([-+]) x = (\d+)", text)
    if m1:
        op, d, total = m1[1], int(m1[2]), int(m1[3])
        answer = total - d if op == "+" else total + d
    elif m2:
        d, op, total = int(m2[1]), m2[2], int(m2[3])
        answer = total - d if op == "+" else d - total
    else:
        raise ExpertStuck(f"simple-algebra: cannot read {text!r}")
    return _type_then_submit(ctx, "math-answer", str(answer))


def visual_addition(ctx: Ctx) -> Action:
    if "sum" not in ctx.expert.memo:  # count the blocks either side of the plus once
        ctx.expert.memo["sum"] = len(ctx.dom("#visual-1 .addition-block")) + len(
            ctx.dom("#visual-2 .addition-block")
        )
    return _type_then_submit(ctx, "math-answer", str(ctx.expert.memo["sum"]))


# a CSS colour name -> '#rrggbb', as the browser resolves it
_COLOR_HEX = (
    "(function (n) { var c = document.createElement('canvas').getContext('2d');"
    " c.fillStyle = n; return c.fillStyle; })"
)


def use_colorwheel(ctx: Ctx) -> Action:
    """Type the named colour's hex code into the picker's field (replacing what is there), then submit."""
    (name,) = ctx.parse(r"Select (\w+) with the color picker and hit Submit\.")
    memo = ctx.expert.memo
    if "hex" not in memo:
        memo["hex"] = str(ctx.js(f"{_COLOR_HEX}({name!r})")).lstrip("#").upper()
    field = ctx.need(lambda e: e["elem_id"] == "col", "colour field")
    if (field.get("value") or "").upper() != memo["hex"]:
        return ctx.fill(field, memo["hex"]) or ctx.wait()
    submit = ctx.need(lambda e: e["elem_id"] == "subbtn", "Submit button")
    if not memo.get("blurred"):  # the picker opened under the field may cover Submit: Tab closes it
        memo["blurred"] = True
        return ctx.key("tab", NEXT_FIELD)
    return ctx.click(submit, SUBMIT)


def navigate_tree(ctx: Ctx) -> Action:
    (name,) = ctx.parse(
        r'Navigate through the file tree\. Find and click on the folder or file named "(.+)"\.'
    )
    spans = [d for d in ctx.dom("#tree span.folder, #tree span.file") if d["shown"]]
    hit = [d for d in spans if d["text"] == name]
    if hit:
        return ctx.click(hit[0], PICK)
    closed = [d for d in ctx.dom("#tree li.expandable > span.folder") if d["shown"]]
    if not closed:
        raise ExpertStuck(f"navigate-tree: {name!r} is not in the opened tree")
    return ctx.click(closed[0], EXPAND)


def grid_coordinate(ctx: Ctx) -> Action:
    (coords,) = ctx.parse(r"Click on the grid coordinate (\(-?\d,-?\d\))\.")
    point = [d for d in ctx.dom("circle", ("id",)) if d["attrs"]["id"] == coords]
    if not point:
        raise ExpertStuck(f"grid-coordinate: no point {coords}")
    return ctx.click(point[0], PICK)


_SHAPE_TAGS = {"rect": "rectangle", "circle": "circle", "polygon": "triangle"}


def identify_shape(ctx: Ctx) -> Action:
    shown = ctx.dom("#area_svg > *")
    if not shown:
        raise ExpertStuck("identify-shape: no figure")
    fig = shown[0]
    kind = _SHAPE_TAGS.get(fig["tag"]) or ("digit" if fig["text"].isdigit() else "letter")
    label = {"rectangle": "Rectangle", "circle": "Circle", "triangle": "Triangle", "letter": "Letter"}
    return ctx.click(
        ctx.need(lambda e: e["role"] == "button" and e["text"] == label.get(kind, "Number"), kind), PICK
    )


_SHAPE_COLORS = ("red", "green", "blue", "aqua", "black", "magenta", "yellow")


def _svg_figures(ctx: Ctx) -> list[dict[str, Any]]:
    """The figures of a shapes.js grid: box, colour, size (large/small), type and text, from the SVG."""
    out = []
    for d in ctx.dom("#area_svg > *", ("fill", "font-size", "width", "r", "points")):
        a = d["attrs"]
        if d["tag"] == "text":
            dim = float((a["font-size"] or "0").rstrip("px"))
            kind, text = ("digit" if d["text"].isdigit() else "letter"), d["text"]
        elif d["tag"] in _SHAPE_TAGS:
            kind, text = "shape", _SHAPE_TAGS[d["tag"]]
            if d["tag"] == "rect":
                dim = float(a["width"])
            elif d["tag"] == "circle":
                dim = 2 * float(a["r"])
            else:
                xs = [float(p.split(",")[0]) for p in a["points"].split()]
                dim = max(xs) - min(xs)
        else:
            continue
        # shapes.js draws size 0 at MAX_SIZE/2 and size 1 at MAX_SIZE (20 px by default)
        size = "large" if dim > 15 else "small"
        out.append({**d, "color": a["fill"], "size": size, "type": kind, "name": text})
    return out


def _matches(fig: dict[str, Any], desc: str) -> bool:
    """shapes.shapeMatchesText on the description's words ([size] [colour] thing)."""
    words = desc.split()
    size = words.pop(0) if words and words[0] in ("large", "small") else ""
    color = words.pop(0) if len(words) > 1 and words[0] in _SHAPE_COLORS else ""
    thing = " ".join(words)
    return (
        (not size or fig["size"] == size)
        and (not color or fig["color"] == color)
        and (thing == "item" or thing in (fig["name"], fig["type"]))
    )


def _click_figure(ctx: Ctx, fig: dict[str, Any], intent: str) -> Action:
    """Click a figure on its paint: a triangle near its base's middle, others in their middle."""
    x0, y0, x1, y1 = fig["bbox"]
    w, h = x1 - x0, y1 - y0
    if fig["name"] == "triangle":
        x, y = x0 + w * ctx.rng.uniform(0.4, 0.6), y0 + h * ctx.rng.uniform(0.6, 0.8)
    else:
        x, y = x0 + w * ctx.rng.uniform(0.35, 0.65), y0 + h * ctx.rng.uniform(0.35, 0.65)
    return Action("click", round(float(x), 1), round(float(y), 1), intent=intent)


def click_shape(ctx: Ctx) -> Action:
    (desc,) = ctx.parse(r"Click on a (.+?)\.?")
    hits = [f for f in _svg_figures(ctx) if _matches(f, desc)]
    if not hits:
        raise ExpertStuck(f"click-shape: no figure matches {desc!r}")
    return _click_figure(ctx, hits[0], PICK)


def count_shape(ctx: Ctx) -> Action:
    (desc,) = ctx.parse(r"How many (.+)s are there\?")
    n = sum(_matches(f, desc) for f in _svg_figures(ctx))
    button = ctx.need(
        lambda e: e["role"] == "button" and e["text"] == str(n) and not e["decoy"], f"button {n}"
    )
    return ctx.click(button, PICK)


def click_pie(ctx: Ctx) -> Action:
    """Open the pie menu with the button at its centre, then click the labelled slice's title."""
    (label,) = ctx.parse(r'Expand the pie menu below and click on the item labeled "(.+)"\.')
    memo = ctx.expert.memo
    if not memo.get("spread"):
        spreader = [d for d in ctx.dom("#wheelnav-divWheel-spreader") if d["shown"]]
        if not spreader:
            raise ExpertStuck("click-pie: no pie menu button")
        memo["spread"] = True
        return _click_figure(ctx, {**spreader[0], "name": ""}, EXPAND)
    titles = [d for d in ctx.dom('[id^="wheelnav-divWheel-title-"]') if d["shown"] and d["text"] == label]
    if not titles:
        raise ExpertStuck(f"click-pie: no slice {label!r}")
    return _click_figure(ctx, {**titles[0], "name": ""}, PICK)


_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip


def choose_date(ctx: Ctx) -> Action:
    """Open the date picker, step Prev/Next to the month, click the day, submit."""
    mm, dd, yyyy = ctx.parse(r"Select (\d\d)/(\d\d)/(\d{4}) as the date and hit submit\.")
    field = ctx.need(lambda e: e["elem_id"] == "datepicker", "date field")
    picker = [d for d in ctx.dom("#ui-datepicker-div") if d["shown"]]
    if field.get("value") == f"{mm}/{dd}/{yyyy}" and not picker:
        return ctx.click(ctx.need(lambda e: e["elem_id"] == "subbtn", "Submit button"), SUBMIT)
    if not picker:
        return ctx.click(field, FOCUS)
    month, year = ctx.dom(".ui-datepicker-month")[0]["text"], ctx.dom(".ui-datepicker-year")[0]["text"]
    shown, want = int(year) * 12 + _MONTHS.index(month), int(yyyy) * 12 + int(mm) - 1
    if shown != want:
        step = ctx.dom(".ui-datepicker-prev" if want < shown else ".ui-datepicker-next")[0]
        return ctx.click(step, ADJUST)
    days = [d for d in ctx.dom("#ui-datepicker-div td a") if d["shown"] and d["text"] == str(int(dd))]
    if not days:
        raise ExpertStuck(f"choose-date: no day {dd} in {month} {year}")
    return ctx.click(days[0], PICK)


def use_slider(ctx: Ctx) -> Action:
    (n,) = ctx.parse(r"Select (-?\d+) with the slider and hit Submit\.")
    target = int(n)
    value = int(ctx.js("$('#slider').slider('value')"))
    if value == target:
        return ctx.click(ctx.need(lambda e: e["elem_id"] == "subbtn", "Submit button"), SUBMIT)
    vertical = ctx.js("$('#slider').slider('option', 'orientation')") == "vertical"
    if not ctx.expert.memo.get("dragged"):
        ctx.expert.memo["dragged"] = True
        lo, hi = (
            ctx.js("$('#slider').slider('option', 'min')"),
            ctx.js("$('#slider').slider('option', 'max')"),
        )
        track, handle = ctx.dom("#slider")[0], ctx.dom("#slider .ui-slider-handle")[0]
        x0, y0, x1, y1 = track["bbox"]
        frac = (target - lo) / max(hi - lo, 1)
        hx, hy = (handle["bbox"][0] + handle["bbox"][2]) / 2, (handle["bbox"][1] + handle["bbox"][3]) / 2
        if vertical:
            return Action("drag", hx, hy, x2=hx, y2=round(y1 - frac * (y1 - y0), 1), intent=DRAG)
        return Action("drag", hx, hy, x2=round(x0 + frac * (x1 - x0), 1), y2=hy, intent=DRAG)
    # the handle has focus after the drag: arrow keys move it one step
    up = target > value
    return ctx.key(("up" if up else "down") if vertical else ("right" if up else "left"), ADJUST)


def drag_box(ctx: Ctx) -> Action:
    small = ctx.need(lambda e: e["elem_id"] == "draggableSmall", "small box")
    large = ctx.need(lambda e: e["elem_id"] == "draggableLarge", "large box")
    dx, dy = small["bbox"][0] - large["bbox"][0], small["bbox"][1] - large["bbox"][1]
    big = large["bbox"][2] - large["bbox"][0] - (small["bbox"][2] - small["bbox"][0])
    if 1 < dx < big - 1 and 1 < dy < big - 1:
        return ctx.click(ctx.need(lambda e: e["elem_id"] == "subbtn", "Submit button"), SUBMIT)
    sx, sy = (small["bbox"][0] + small["bbox"][2]) / 2, (small["bbox"][1] + small["bbox"][3]) / 2
    lx, ly = (large["bbox"][0] + large["bbox"][2]) / 2, (large["bbox"][1] + large["bbox"][3]) / 2
    return Action("drag", round(sx, 1), round(sy, 1), x2=round(lx, 1), y2=round(ly, 1), intent=DRAG)


def email_inbox(ctx: Ctx) -> Action:
    """email-inbox-delete / -important: open the sender's email, then click its trash or star icon."""
    name, icon = ctx.parse(r"Find the email by (.+) and click the (trash|star) icon to .+\.")
    opened = [d for d in ctx.dom("#email .email-sender") if d["shown"]]
    if opened:
        if opened[0]["text"] != name:
            return ctx.click(ctx.dom("#close-email")[0], CLOSE_DIALOG)
        return ctx.click(ctx.dom(f"#email .email-actions span.{icon}")[0], PICK)
    senders = [d for d in ctx.dom("#main .email-thread .email-sender") if d["shown"] and d["text"] == name]
    if not senders:
        raise ExpertStuck(f"{ctx.expert.task}: no email by {name!r} in the inbox")
    return ctx.click(senders[0], PICK)


def _type_segments(ctx: Ctx, field: Element, keys: str, done: bool) -> Action:
    """A date or time input: click its first segment, type ``keys`` one per step, then submit.

    Chromium moves to the next segment by itself once one is full, so the keys are the digits
    (and the A/P of a 12-hour clock) in the field's order. Starts over if the value came out wrong.
    """
    memo = ctx.expert.memo
    typed = memo.setdefault("typed", 0)
    if typed == 0:
        memo["typed"] = 1
        x0, y0, _, y1 = field["bbox"]
        return Action("click", round(x0 + 5, 1), round((y0 + y1) / 2, 1), intent=FOCUS)
    if typed <= len(keys):
        memo["typed"] = typed + 1
        return ctx.key(keys[typed - 1], TYPE)
    if not done:
        if memo.setdefault("retries", 0) >= 2:
            raise ExpertStuck(f"{ctx.expert.task}: typed {keys!r}, field holds {field.get('value')!r}")
        memo["retries"] += 1
        memo["typed"] = 0
        return ctx.wait()
    return ctx.click(ctx.need(lambda e: e["elem_id"] == "subbtn", "Submit button"), SUBMIT)


def enter_date(ctx: Ctx) -> Action:
    mm, dd, yyyy = ctx.parse(r"Enter (\d\d)/(\d\d)/(\d{4}) as the date and hit submit\.")
    field = ctx.need(lambda e: e["elem_id"] == "tt", "date field")
    return _type_segments(ctx, field, mm + dd + yyyy, field.get("value") == f"{yyyy}-{mm}-{dd}")


def enter_time(ctx: Ctx) -> Action:
    h, m, half = ctx.parse(r"Enter (\d{1,2}):(\d\d) ?([AP]M)? as the time and press submit\.")
    hour = int(h)
    hour24 = hour % 12 + (12 if half == "PM" else 0) if half else hour
    field = ctx.need(lambda e: e["elem_id"] == "tt", "time field")
    keys = f"{hour:02d}{m}" + (half[0] if half else "")
    return _type_segments(ctx, field, keys, field.get("value") == f"{hour24:02d}:{m}")


def use_autocomplete(ctx: Ctx) -> Action:
    """Type the prefix, click the suggestion with the asked ending (typing more of it while it is
    below the task area), then submit."""
    start, end = ctx.parse(r'Enter an item that starts with "(.+?)"(?: and ends with "(.+)")?\.')
    end = end or ""
    memo = ctx.expert.memo
    field = ctx.need(lambda e: e["elem_id"] == "tags", "text field")
    value = field.get("value") or ""
    submit = ctx.need(lambda e: e["elem_id"] == "subbtn", "Submit button")
    menu = [d for d in ctx.dom("ul.ui-autocomplete li") if d["shown"]]
    if memo.get("picked") == value:
        return ctx.click(submit, SUBMIT) if not menu else ctx.key("escape", DISMISS)
    if not value.startswith(start):
        return ctx.fill(field, start) or ctx.wait()
    fits = [d for d in menu if d["text"].startswith(start) and d["text"].endswith(end)]
    if not fits:
        if value.endswith(end) and len(value) > len(start):
            memo["picked"] = value
            return ctx.key("escape", DISMISS) if menu else ctx.click(submit, SUBMIT)
        memo["waits"] = memo.get("waits", 0) + 1
        if memo["waits"] > 3:
            raise ExpertStuck(f"use-autocomplete: no suggestion fits {start!r}..{end!r}")
        return ctx.wait()
    if fits[0]["bbox"][3] <= 209:
        memo["picked"] = fits[0]["text"]
        return ctx.click(fits[0], PICK)
    step = ctx.fill(field, fits[0]["text"])
    if step is None:  # typed it all
        memo["picked"] = value
        return ctx.key("escape", DISMISS)
    return step


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
    "click-test": click_test,
    "click-test-2": click_test_2,
    "click-test-transfer": click_test_2,
    "click-button-sequence": click_button_sequence,
    "click-dialog-2": click_dialog_2,
    "click-option": click_option,
    "click-widget": click_widget,
    "click-tab-2": click_tab_2,
    "click-tab-2-easy": click_tab_2,
    "click-tab-2-medium": click_tab_2,
    "click-tab-2-hard": click_tab_2,
    "click-collapsible-nodelay": click_collapsible,
    "click-collapsible-2-nodelay": click_collapsible_2,
    "click-checkboxes-large": click_checkboxes,
    "click-checkboxes-soft": click_checkboxes_soft,
    "click-color": click_color,
    "click-shades": click_shades,
    "unicode-test": unicode_test,
    "enter-text-2": enter_text_2,
    "text-transform": text_transform,
    "simple-arithmetic": simple_arithmetic,
    "simple-algebra": simple_algebra,
    "navigate-tree": navigate_tree,
    "grid-coordinate": grid_coordinate,
    "identify-shape": identify_shape,
    "use-slider": use_slider,
    "drag-box": drag_box,
    "email-inbox-delete": email_inbox,
    "email-inbox-important": email_inbox,
    "enter-date": enter_date,
    "enter-time": enter_time,
    "use-autocomplete-nodelay": use_autocomplete,
    "visual-addition": visual_addition,
    "click-shape": click_shape,
    "count-shape": count_shape,
    "click-pie-nodelay": click_pie,
    "choose-date-nodelay": choose_date,
}


def expert_for(env: Any, **kwargs: Any) -> Expert:
    """The DOM expert for a MiniWoB++ env (wrapped or not)."""
    return Expert(env, **kwargs)
