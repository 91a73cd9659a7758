"""ClickButton: press the button the instruction names. Any other named button ends the episode."""

from __future__ import annotations

from act.envs.synthui.spec import AppSpec, Item, Panel, Row
from act.envs.synthui.tasks.base import FAILURE, SUCCESS, Task, pick, random_word, sample

LABELS = (
    "OK",
    "Cancel",
    "Save",
    "Open",
    "Close",
    "Apply",
    "Delete",
    "Print",
    "Help",
    "Next",
    "Back",
    "Send",
    "Retry",
    "Skip",
    "Copy",
    "Share",
    "Reset",
    "Undo",
    "Edit",
    "Add",
    "Move",
    "Rename",
)
SYNONYMS = {
    "Delete": ("Remove", "Erase"),
    "Next": ("Forward", "Continue"),
    "Back": ("Previous", "Return"),
    "Send": ("Submit", "Post"),
    "Retry": ("Try again",),
    "Copy": ("Duplicate",),
    "Share": ("Send to",),
    "Reset": ("Restore",),
    "Undo": ("Revert",),
    "Print": ("Print...",),
    "Help": ("Support", "Info"),
    "Skip": ("Ignore", "Pass"),
    "Add": ("New", "Create"),
    "Rename": ("Rename...",),
    "Move": ("Move to...",),
    "Edit": ("Change",),
}
# The test split's labels: neither a train label nor a synonym of one.
TEST_LABELS = (
    "Accept",
    "Refresh",
    "Upload",
    "Archive",
    "Sync",
    "Export",
    "Import",
    "Pause",
    "Resume",
    "Finish",
    "Join",
    "Merge",
)
MESSAGES = ("Choose an action:", "What next?", "Unsaved changes.", "Pick one:", "File ready.", "")
TITLES = ("Dialog", "Options", "Actions", "Document", "Tasks", "Assistant")
TEMPLATES = (
    "Click the {x} button.",
    "Press {x}.",
    "Click {x}.",
    'Hit the "{x}" button.',
    "Select {x}.",
    "Please click {x}.",
    'Choose "{x}".',
    "Press the {x} button.",
)
PRESS = "press the named button"


class ClickButton(Task):
    name = "ClickButton"
    max_steps = 30
    intents = (PRESS,)
    text_lists = {"labels": (LABELS, TEST_LABELS)}

    def build(self, rng):
        every = self.strings("labels")
        if self.text_split == "random":
            every = list(dict.fromkeys(random_word(rng).capitalize() for _ in range(len(LABELS))))
        labels = sample(rng, every, int(rng.integers(3, 7)))
        self.target = f"btn:{pick(rng, labels)}"
        items = [Item("button", f"btn:{x}", x, synonyms=SYNONYMS.get(x, ())) for x in labels]
        pool = [Item("button", f"btn:{x}", x) for x in every if x not in labels]
        rows = []
        msg = pick(rng, MESSAGES)
        if msg:
            rows.append(Row([Item("label", "msg", msg)], movable=False))
        rows.append(
            Row(
                items,
                align=pick(rng, ("left", "center", "right")),
                indent=float(rng.uniform(0, 16)),
                pool=pool,
                max_extra=3,
                space_before=float(rng.uniform(0, 8)),
            )
        )
        decoy = Row(
            [Item("label", "ad", pick(rng, ("Try Pro for free!", "Tip: press F1")), props={"muted": True})]
        )
        spec = AppSpec(pick(rng, TITLES), Panel(rows, pool=[decoy]))
        return spec, pick(rng, TEMPLATES).format(x=self.target[4:])

    def is_commit(self, cmd):
        return cmd.kind == "button" and cmd.key.startswith("btn:")

    def on_command(self, cmd, ui):
        if self.is_commit(cmd):
            return SUCCESS if cmd.key == self.target else FAILURE
        return None

    def expert_step(self, ctx):
        return ctx.click(self.target, PRESS)
