"""ExportReport: File > Export... (or the toolbar), type the file name, choose the format, confirm.
Exporting with another name or format ends the episode."""

from __future__ import annotations

from act.envs.synthui.spec import Item, Panel, Row
from act.envs.synthui.tasks.base import FAILURE, SUCCESS, Task, pick, random_word
from act.envs.synthui.tasks.menu_item import DOCS, menus

FORMATS = ("PDF", "CSV", "HTML", "TXT")
STEMS = (
    "q3_sales",
    "summary",
    "draft",
    "budget",
    "notes",
    "report_jan",
    "kpi",
    "minutes",
    "forecast",
    "plan",
)
TEST_STEMS = (
    "ledger",
    "overview",
    "q4_costs",
    "roadmap",
    "audit",
    "report_feb",
    "agenda",
    "payroll",
    "memo_x",
)
PREFILLED = ("report", "untitled", "Q3 report", "export1")
TEMPLATES = (
    "Export the report as {f} named {n}.",
    "Save the report as a {f} file called {n}.",
    "Export the report to {n} in {f} format.",
    "Use File > Export... to save the report as {n} ({f}).",
    "Export this report with the file name {n} as {f}.",
)
EXPORT = "menu:File/Export..."
OPEN_MENU, CHOOSE, TOOL = (
    "open the File menu",
    "choose the menu item",
    "open the export dialog from the toolbar",
)
NAME_I = {
    "focus": "click the file name field",
    "type_": "type the file name",
    "clear": "clear the file name field",
}
FORMAT, CONFIRM = "choose the format", "confirm the export"


class ExportReport(Task):
    name = "ExportReport"
    types_text = True
    max_steps = 100
    intents = (OPEN_MENU, CHOOSE, TOOL, *NAME_I.values(), FORMAT, CONFIRM, "fix a typo")
    text_lists = {"file names": (STEMS, TEST_STEMS)}

    def build(self, rng):
        from act.envs.synthui.tasks.menu_item import document

        stem = random_word(rng) if self.text_split == "random" else pick(rng, self.strings("file names"))
        self.file = stem + (str(int(rng.integers(1, 10))) if rng.random() < 0.4 else "")
        self.format = pick(rng, FORMATS)
        self.select_on_open = bool(rng.random() < 0.5)
        spec = document(rng, pick(rng, DOCS))
        spec.menus = menus(rng, ("File", "Export..."))
        if not any(i.key == "tool:export" for i in spec.toolbar):
            spec.toolbar.append(Item("icon", "tool:export", "Export", props={"glyph": "export"}))
        initial = pick(rng, FORMATS)
        radios = [
            Item("radio", f"fmt:{f}", f, props={"group": "fmt", "checked": f == initial}) for f in FORMATS
        ]
        pool = [Item("radio", f"fmt:{f}", f, props={"group": "fmt"}) for f in ("XLSX", "JSON")]
        spec.dialogs["export"] = Panel(
            [
                Row(
                    [
                        Item("label", "lbl:name", "Name:", props={"form": True}),
                        Item("textbox", "export:name", props={"text": pick(rng, PREFILLED)}),
                    ],
                    shuffle=False,
                ),
                Row(
                    [Item("label", "lbl:fmt", "Format:", props={"form": True}), *radios],
                    pool=pool,
                    max_extra=1,
                ),
                Row(
                    [
                        Item("button", "export:ok", "Export", props={"default": True}),
                        Item("button", "export:cancel", "Cancel"),
                    ],
                    align="right",
                ),
            ],
            title=pick(rng, ("Export report", "Export", "Export as")),
            width=116,
            default="export:ok",
            cancel="export:cancel",
        )
        return spec, pick(rng, TEMPLATES).format(f=self.format, n=self.file)

    def is_commit(self, cmd):
        return cmd.kind == "button" and cmd.key == "export:ok"

    def text_targets(self):
        return {"export:name": self.file}

    def on_command(self, cmd, ui):
        if self.is_commit(cmd):
            name = ui.widget("export:name").state["text"].strip()
            fmt = ui.widget(f"fmt:{self.format}").state["checked"]
            return SUCCESS if name == self.file and fmt else FAILURE
        if (cmd.kind == "menu" and cmd.key == EXPORT) or (cmd.kind == "icon" and cmd.key == "tool:export"):
            field = ui.widget("export:name")
            if self.select_on_open:
                field.state["select_all"] = bool(field.state["text"])
            ui.open_dialog("export", focus="export:name" if self.select_on_open else None)
        elif cmd.kind == "button" and cmd.key == "export:cancel":
            ui.close_dialog("export")
        return None

    def expert_step(self, ctx):
        if not any(m["name"] == "export" for m in ctx.info["modals"]):
            if ctx.info["menu"] == "menu:File":
                return ctx.click(EXPORT, CHOOSE)
            if ctx.choose("route", ("menu", "toolbar"), (0.7, 0.3)) == "toolbar" and not ctx.info["menu"]:
                return ctx.click("tool:export", TOOL)
            return ctx.click("menu:File", OPEN_MENU)
        name_done = ctx.state("export:name")["text"] == self.file
        fmt_done = ctx.state(f"fmt:{self.format}")["checked"]
        name_first = ctx.choose("name_first", (True, False), (0.6, 0.4))
        if not fmt_done and (name_done or not name_first):
            return ctx.click(f"fmt:{self.format}", FORMAT)
        if not name_done:
            return ctx.fill("export:name", self.file, **NAME_I)
        if ctx.choose("confirm", ("enter", "button")) == "enter" and ctx.info["focus"] == "export:name":
            return ctx.key("enter", CONFIRM)
        return ctx.click("export:ok", CONFIRM)
