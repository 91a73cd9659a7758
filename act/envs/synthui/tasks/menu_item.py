"""MenuItem: choose the named item from the named drop-down menu. Any other item ends the episode."""

from __future__ import annotations

from act.envs.synthui.spec import AppSpec, Item, Menu, Panel, Row
from act.envs.synthui.tasks.base import FAILURE, SUCCESS, Task, pick, sample

MENUS = {
    "File": ("New", "Open...", "Save", "Save as...", "Export...", "Print...", "Close"),
    "Edit": ("Undo", "Redo", "Cut", "Copy", "Paste", "Find...", "Select all"),
    "View": ("Zoom in", "Zoom out", "Full screen", "Show grid", "Sidebar"),
    "Tools": ("Spelling", "Word count", "Macros...", "Options..."),
    "Help": ("Contents", "Shortcuts", "Updates...", "About"),
}
SYNONYMS = {
    "New": ("New file", "Create"),
    "Open...": ("Open file...", "Load..."),
    "Save": ("Store",),
    "Save as...": ("Save copy...",),
    "Export...": ("Export as...", "Save as...", "Export file..."),
    "Print...": ("Print file...",),
    "Close": ("Close file", "Quit"),
    "Undo": ("Revert",),
    "Redo": ("Repeat",),
    "Cut": ("Cut out",),
    "Copy": ("Duplicate",),
    "Paste": ("Insert",),
    "Find...": ("Search...",),
    "Select all": ("Mark all",),
    "Zoom in": ("Enlarge", "Bigger"),
    "Zoom out": ("Shrink", "Smaller"),
    "Full screen": ("Maximize",),
    "Show grid": ("Grid lines",),
    "Sidebar": ("Side panel",),
    "Spelling": ("Spell check",),
    "Word count": ("Count words",),
    "Macros...": ("Scripts...",),
    "Options...": ("Settings...", "Preferences..."),
    "Contents": ("Manual",),
    "Shortcuts": ("Hotkeys",),
    "Updates...": ("Upgrade...",),
    "About": ("Info", "Version"),
}
EXTRA = ("Recent", "Properties", "Share...", "Templates")
TOOLBAR = (("new", "New"), ("open", "Open"), ("save", "Save"), ("print", "Print"), ("copy", "Copy"))
DOCS = ("Quarterly report", "Meeting notes", "Project plan", "Shopping list", "Travel diary")
LINES = ("The numbers look good.", "Sales rose in May.", "Next review: Friday.", "Draft, not final.")
TEMPLATES = (
    "Choose {m} > {i}",
    "Open the {m} menu and click {i}",
    'Select "{i}" from the {m} menu.',
    "Use {m} > {i}",
    "In the {m} menu, choose {i}",
    "Click {i} in the {m} menu.",
)
CHOOSE = "choose the menu item"
INTENTS = tuple(f"open the {m} menu" for m in MENUS) + (CHOOSE,)


def menus(rng, must: tuple[str, str] | None = None) -> list[Menu]:
    """Four of the five menus, each with four or five of its items (``must`` = (menu, item) kept)."""
    names = ["File", "Edit", *sample(rng, ("View", "Tools", "Help"), 2)]
    if must and must[0] not in names:
        names[-1] = must[0]
    out = []
    for name in [n for n in MENUS if n in names]:
        pool = MENUS[name]
        keep = set(sample(rng, pool, min(len(pool), int(rng.integers(4, 6)))))
        if must and must[0] == name and must[1] not in keep:
            keep.discard(next(iter(sorted(keep))))
            keep.add(must[1])
        items = [
            Item("menuitem", f"menu:{name}/{x}", x, synonyms=SYNONYMS.get(x, ())) for x in pool if x in keep
        ]
        extra = [Item("menuitem", f"menu:{name}/{x}", x) for x in EXTRA]
        out.append(Menu(f"menu:{name}", name, items, pool=extra))
    return out


def document(rng, title: str) -> AppSpec:
    """A document window: a bold title and a few muted lines, with a toolbar."""
    rows = [Row([Item("label", "doc:title", title, props={"bold": True})], movable=False)]
    for k, line in enumerate(sample(rng, LINES, int(rng.integers(1, 4)))):
        rows.append(
            Row([Item("label", f"doc:line{k}", line, props={"muted": True})], movable=False, decoy=True)
        )
    tools = [Item("icon", f"tool:{g}", name, props={"glyph": g}) for g, name in TOOLBAR]
    return AppSpec(
        title,
        Panel(rows),
        toolbar=tools[: int(rng.integers(3, 6))],
        toolbar_pool=[
            Item("icon", "tool:trash", "Delete", props={"glyph": "trash"}),
            Item("icon", "tool:undo", "Undo", props={"glyph": "undo"}),
        ],
    )


class MenuItem(Task):
    name = "MenuItem"
    max_steps = 30
    intents = INTENTS

    def build(self, rng):
        menu = pick(rng, list(MENUS))
        item = pick(rng, MENUS[menu])
        self.menu, self.target = f"menu:{menu}", f"menu:{menu}/{item}"
        self.menu_name = menu
        spec = document(rng, pick(rng, DOCS))
        spec.menus = menus(rng, (menu, item))
        return spec, pick(rng, TEMPLATES).format(m=menu, i=item)

    def is_commit(self, cmd):
        return cmd.kind == "menu"

    def on_command(self, cmd, ui):
        if cmd.kind == "menu":
            return SUCCESS if cmd.key == self.target else FAILURE
        return None

    def expert_step(self, ctx):
        if ctx.info["menu"] == self.menu:
            return ctx.click(self.target, CHOOSE)
        detour = ctx.expert.slip > 0  # a careful expert (slip 0) opens no wrong menu first
        if detour and ctx.info["menu"] is None and ctx.choose("wrong_menu_first", (True, False), (0.1, 0.9)):
            others = [m for m in ctx.els if m.startswith("menu:") and "/" not in m and m != self.menu]
            if others and not ctx.expert.memo.get("wrong_done"):
                ctx.expert.memo["wrong_done"] = True
                return ctx.click(
                    others[int(ctx.rng.integers(len(others)))], f"open the {self.menu_name} menu"
                )
        return ctx.click(self.menu, f"open the {self.menu_name} menu")
