"""ScrollOpen: scroll a long list to the named item and open it (double-click, or select and press
Open). Opening any other item ends the episode."""

from __future__ import annotations

from act.envs.synthui.spec import AppSpec, Item, Panel, Row
from act.envs.synthui.tasks.base import FAILURE, SUCCESS, Task, close_menu, pick, random_word
from act.envs.synthui.tasks.menu_item import menus

STEMS = (
    "notes",
    "budget",
    "photo",
    "report",
    "invoice",
    "draft",
    "letter",
    "slides",
    "summary",
    "backup",
    "plan",
    "data",
    "memo",
    "recipe",
    "resume",
)
TEST_STEMS = ("agenda", "thesis", "poster", "contract", "ledger", "survey", "receipt", "itinerary", "sketch")
EXTS = ("txt", "pdf", "png", "xls", "doc", "csv")
TEMPLATES = (
    "Open {x}.",
    "Find {x} in the list and open it.",
    "Scroll to {x} and open it.",
    "Open the file {x}.",
    "Locate {x} and open it.",
)
DOWN, UP, SELECT, OPEN = "scroll down the list", "scroll up the list", "select the item", "open the item"


def file_names(rng, n: int, avoid: set[str], split: str = "train") -> list[str]:
    stems = TEST_STEMS if split == "test" else STEMS
    out: list[str] = []
    while len(out) < n:
        stem = random_word(rng) if split == "random" else pick(rng, stems)
        name = f"{stem}_{int(rng.integers(1, 40)):02d}.{pick(rng, EXTS)}"
        if name not in out and name not in avoid:
            out.append(name)
    return out


class ScrollOpen(Task):
    name = "ScrollOpen"
    max_steps = 50
    intents = (DOWN, UP, SELECT, OPEN)
    text_lists = {"file names": (STEMS, TEST_STEMS)}

    def build(self, rng):
        with_menus = rng.random() < 0.5
        rows = 3 if with_menus else 4
        n = int(rng.integers(12, 21))
        names = file_names(rng, n, set(), self.text_split)
        self.target = names[int(rng.integers(rows, n))]
        pool = file_names(rng, 6, set(names), self.text_split)
        lst = Item("list", "files", props={"items": names, "rows": rows, "pool": pool})
        buttons = Row(
            [Item("button", "open", "Open", props={"default": True}), Item("button", "cancel", "Cancel")],
            align=pick(rng, ("left", "right")),
        )
        spec = AppSpec(
            pick(rng, ("Open file", "Files", "Documents", "Browse")), Panel([Row([lst], wide=True), buttons])
        )
        if with_menus:
            spec.menus = menus(rng)
        return spec, pick(rng, TEMPLATES).format(x=self.target)

    def _opened(self, ui, index: int) -> str:
        return SUCCESS if ui.widget("files").state["items"][index] == self.target else FAILURE

    def is_commit(self, cmd):
        return cmd.kind == "open" or (cmd.kind == "button" and cmd.key == "open")

    def on_command(self, cmd, ui):
        state = ui.widget("files").state
        if cmd.kind == "open":
            return self._opened(ui, cmd.value)
        if cmd.kind == "button" and cmd.key == "open" and state["selected"] is not None:
            return self._opened(ui, state["selected"])
        if cmd.kind == "button" and cmd.key == "cancel" and state["selected"] is not None:
            state["selected"] = None
            ui.changed()
        return None

    def expert_step(self, ctx):
        if (a := close_menu(ctx)) is not None:
            return a
        s = ctx.state("files")
        i = s["items"].index(self.target)
        top, rows = s["top"], s["rows"]
        if top <= i < top + rows:
            if ctx.choose("open_by", ("double", "button"), (0.6, 0.4)) == "double":
                return ctx.click(f"files#{i}", OPEN, double=True)
            if s["selected"] == i:
                return ctx.click("open", OPEN)
            return ctx.click(f"files#{i}", SELECT)
        # A page at a time: where the item hides is not on the screen, so how far to scroll must not
        # depend on it (an expert that scrolled straight to it taught policies an average distance,
        # which overshoots; docs/experiments.md#all-tasks). Overshooting is a slip, undone a page back.
        room = len(s["items"]) - rows - top  # rows left below the last shown
        if i >= top + rows:
            past = ctx.chance(0.08) and ctx.expert.slip > 0  # two pages at once (not when careful)
            return ctx.scroll("files", -min(2 * rows if past else rows, room), DOWN)
        return ctx.scroll("files", min(rows, top), UP)
