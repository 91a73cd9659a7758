"""TickCheckboxes: tick the named boxes (some on another tab), leave the others as they were, then
press the commit button. Committing any other state ends the episode."""

from __future__ import annotations

from act.envs.synthui.spec import AppSpec, Item, Page, Panel, Row
from act.envs.synthui.tasks.base import FAILURE, SUCCESS, Task, close_menu, join, pick, sample

OPTIONS = (
    "Wi-Fi",
    "Sync",
    "Sounds",
    "Alerts",
    "Backup",
    "Updates",
    "Hints",
    "Location",
    "Cookies",
    "Tracking",
    "Camera",
    "Emails",
    "Offline",
    "History",
    "Dark",
)
SYNONYMS = {
    "Wi-Fi": ("WLAN",),
    "Sounds": ("Audio",),
    "Alerts": ("Notices",),
    "Backup": ("Backups",),
    "Updates": ("Upgrades",),
    "Hints": ("Tips",),
    "Location": ("GPS",),
    "Emails": ("Mail",),
    "History": ("Log",),
    "Dark": ("Night",),
    "Camera": ("Webcam",),
}
TABS = ("General", "Privacy", "Display", "Network")
COMMITS = ("OK", "Apply", "Save")
TEMPLATES = (
    "Tick {x}, then click {c}.",
    "Enable {x} and press {c}.",
    "Check {x} and confirm with {c}.",
    "Turn on {x}. Then click {c}.",
    "Make sure {x} is ticked, then press {c}.",
)
TICK, UNTICK, APPLY = "tick a named box", "untick a wrong box", "apply the settings"


class TickCheckboxes(Task):
    name = "TickCheckboxes"
    max_steps = 60
    intents = (TICK, UNTICK, APPLY, *(f"switch to the {t} tab" for t in TABS))

    def build(self, rng):
        tabbed = rng.random() < 0.5
        n = 8 if tabbed else int(rng.integers(4, 7))
        names = sample(rng, OPTIONS, n)
        self.targets = [f"cb:{x}" for x in sample(rng, names, int(rng.integers(1, 4)))]
        self.initial = {}
        boxes = []
        for x in names:
            key = f"cb:{x}"
            checked = bool(rng.random() < (0.15 if key in self.targets else 0.35))
            self.initial[key] = checked
            boxes.append(Item("checkbox", key, x, props={"checked": checked}, synonyms=SYNONYMS.get(x, ())))
        pool = [Item("checkbox", f"cb:{x}", x) for x in ("Beta", "Debug", "Logs")]
        self.tab_of: dict[str, str] = {}
        commit = pick(rng, COMMITS)
        buttons = Row(
            [Item("button", "commit", commit, props={"default": True}), Item("button", "cancel", "Cancel")],
            align=pick(rng, ("left", "right")),
        )
        spec = AppSpec(pick(rng, ("Settings", "Preferences", "Options")), Panel([buttons]))
        if tabbed:
            for t, name in enumerate(sample(rng, TABS, 2)):
                page_boxes = boxes[4 * t : 4 * t + 4]
                for b in page_boxes:
                    self.tab_of[b.key] = f"tab:{name}"
                spec.pages.append(
                    Page(
                        Item("tab", f"tab:{name}", name), [Row(page_boxes, columns=2, pool=pool, max_extra=2)]
                    )
                )
        else:
            spec.main.rows.insert(0, Row(boxes, columns=2, pool=pool, max_extra=2))
        shown = [b.label for b in boxes if b.key in self.targets]
        return spec, pick(rng, TEMPLATES).format(x=join(shown), c=commit)

    def is_commit(self, cmd):
        return cmd.kind == "button" and cmd.key == "commit"

    def on_command(self, cmd, ui):
        if self.is_commit(cmd):
            ok = all(
                ui.widget(k).state["checked"] == (v or k in self.targets) for k, v in self.initial.items()
            )
            return SUCCESS if ok else FAILURE
        if cmd.kind == "button" and cmd.key == "cancel":
            for k, v in self.initial.items():
                ui.widget(k).state["checked"] = v
            ui.changed()
        return None

    def expert_step(self, ctx):
        if (a := close_menu(ctx)) is not None:
            return a
        memo = ctx.expert.memo
        if "order" not in memo:
            memo["order"] = ctx.rng.permutation(sorted(self.initial)).tolist()
        order = memo["order"]
        page = ctx.info["page"]
        todo = []
        for k in order:
            want = self.initial[k] or k in self.targets
            if ctx.ui.widget(k).state["checked"] != want:
                todo.append((k, TICK if want else UNTICK))
        # boxes on the open tab first, then switch tabs
        todo.sort(key=lambda t: self.tab_of.get(t[0], page) != page)
        if todo:
            key, intent = todo[0]
            tab = self.tab_of.get(key)
            if tab and tab != page:
                return ctx.click(tab, f"switch to the {tab[4:]} tab")
            return ctx.click(key, intent)
        return ctx.click("commit", APPLY)
