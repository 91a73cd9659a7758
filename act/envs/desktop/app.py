"""The desktop env's application: a small Tk program with four tasks, judged by itself.

    python -m act.envs.desktop.app --task login --seed 3 --state /tmp/state.jsonl [--width 640 ...]

It draws real Tk widgets on the X display in ``DISPLAY`` and publishes what an accessibility API
would give (every visible widget's role, label, box in screen pixels and focus) together with its
own task state and result, one JSON object per line appended to ``--state``:

- whenever the snapshot changes (checked every ``POLL_MS``), and
- in answer to ``sync N`` read from stdin, after processing every pending X event (``update``), with
  ``"sync": N`` in the line. The env sends it after each input, so the snapshot it reads back
  reflects that input.

End of stdin (the env went away) or ``quit`` closes the app. Only the standard library and tkinter
are imported: the app starts fast and carries no part of ``act`` into the X client.
"""

from __future__ import annotations

import argparse
import json
import queue
import random
import sys
import threading
import time
import tkinter as tk
from tkinter import font as tkfont
from typing import Any

TASKS = ("login", "settings", "search", "export")
POLL_MS = 50
SUCCESS, FAILURE = "success", "failure"

USERS = ("alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi")
SETTINGS = {
    "general": ("General", {"autosave": "Autosave documents", "tips": "Show tips", "sounds": "Play sounds"}),
    "privacy": (
        "Privacy",
        {"usage": "Send usage data", "history": "Keep history", "cookies": "Allow cookies"},
    ),
    "notifications": (
        "Notifications",
        {"email": "Email alerts", "badges": "Show badges", "digest": "Weekly digest"},
    ),
}
FRUITS = ("lemon", "apple", "cherry", "mango", "peach", "plum")
DISHES = ("tart", "juice", "cake", "jam", "pie", "sorbet")
DOC_WORDS = ("report", "budget", "notes", "invoice", "summary", "plan")
EXTENSIONS = ("csv", "pdf", "txt")


class App:
    """One task's window, its element registry and the side channel."""

    def __init__(
        self,
        task: str,
        seed: int,
        state_path: str,
        width: int,
        height: int,
        x: int,
        y: int,
        scale: float = 1.0,
        offset: tuple[int, int] = (0, 0),
        palette: str = "",
    ):
        self.task, self.seed = task, seed
        self.rng = random.Random(f"{task}:{seed}")
        self.root = tk.Tk(className="act-desktop")
        # The look, as a user's desktop may change it: a display scale (fonts and geometry), the
        # content moved inside the window, a colour palette. 1.0, (0, 0) and "" leave it as designed.
        self.zoom, self.offset = float(scale), (int(offset[0]), int(offset[1]))
        for name in tkfont.names(self.root):
            font = tkfont.nametofont(name, root=self.root)
            font.configure(size=round(font.cget("size") * self.zoom))
        if palette:
            background, foreground = palette.split(",")
            self.root.tk_setPalette(background=background, foreground=foreground)
        self.root.title(f"act desktop: {task}")
        self.root.geometry(f"{width}x{height}+{x}+{y}")
        self.root.resizable(False, False)
        self.widgets: list[tuple[str, tk.Misc, str, str]] = []  # id, widget, role, label
        self.captions: dict[str, tk.Label] = {}  # a text field's id -> the label drawn beside it
        self.fonts: dict[str, tkfont.Font] = {}  # a widget's font option -> the font, for measuring
        self.result: str | None = None
        self.reason = ""
        self.status = tk.StringVar(master=self.root, value="")
        self.out = open(state_path, "a", encoding="utf-8")  # noqa: SIM115 - open for the app's lifetime
        self.seq = 0
        self.last = ""
        self.requests: queue.Queue[str | None] = queue.Queue()
        self.instruction = ""
        self.goal: dict[str, Any] = {}
        getattr(self, f"build_{task}")()
        tk.Label(self.root, textvariable=self.status, fg="#444").place(x=20, y=height - 30)
        threading.Thread(target=self._read_stdin, daemon=True).start()

    # ---- widgets and elements ------------------------------------------------------------------

    def at(self, x: float, y: float, inner: bool = False) -> dict[str, int]:
        """Where a widget placed at (x, y) in the designed layout goes: zoomed, and moved by the
        offset unless it sits inside another widget (``inner``)."""
        dx, dy = (0, 0) if inner else self.offset
        return {"x": round(dx + self.zoom * x), "y": round(dy + self.zoom * y)}

    def bold(self, size: int) -> tuple[str, int, str]:
        return ("TkDefaultFont", round(size * self.zoom), "bold")

    def add(self, wid: str, widget: tk.Misc, role: str, label: str = "", *, x: int, y: int) -> Any:
        widget.place(**self.at(x, y, inner=widget.master is not self.root))
        self.widgets.append((wid, widget, role, label))
        return widget

    def entry(self, wid: str, label: str, x: int, y: int, show: str = "", master: Any = None) -> tk.Entry:
        master = master or self.root
        self.captions[wid] = caption = tk.Label(master, text=label)
        caption.place(**self.at(x, y, inner=master is not self.root))
        e = tk.Entry(master, width=24, show=show)
        return self.add(wid, e, "textbox", label, x=x + 110, y=y)

    def button(self, wid: str, text: str, command: Any, x: int, y: int, master: Any = None) -> tk.Button:
        return self.add(
            wid, tk.Button(master or self.root, text=text, command=command), "button", text, x=x, y=y
        )

    def finish(self, result: str, reason: str) -> None:
        if self.result is None:
            self.result, self.reason = result, reason
            self.status.set("Done." if result == SUCCESS else f"Failed: {reason}")
        self.publish()

    @staticmethod
    def box(w: tk.Misc) -> list[int]:
        x, y = w.winfo_rootx(), w.winfo_rooty()
        return [x, y, x + w.winfo_width(), y + w.winfo_height()]

    def text_box(self, wid: str, w: tk.Misc, role: str, label: str) -> list[int] | None:
        """Where the element's ``label`` is drawn, in screen pixels (reading targets paint it there):
        a text field's in the caption beside it; a check or radio button's right of its indicator (the
        widget is as wide as its content); elsewhere centred (Tk's default anchor). None where the
        label is not drawn: a dialog's title belongs to the window manager (none under a bare Xvfb)."""
        if role == "textbox":
            w, role = self.captions.get(wid), "label"
            if w is None:
                return None
        if role not in ("button", "tab", "menu", "label", "checkbox", "radio"):
            return None
        try:
            font = self.font_of(w)
            keys = ("borderwidth", "highlightthickness", "padx")
            inset = sum(w.winfo_pixels(w.cget(k)) for k in keys) if role in ("checkbox", "radio") else 0
        except tk.TclError:  # a widget without these options (ttk): say nothing rather than fail
            return None
        width, height = font.measure(label), font.metrics("linespace")
        x0, y0, x1, y1 = self.box(w)
        top = (y0 + y1 - height) // 2
        if role in ("checkbox", "radio"):
            right = max(x0, x1 - inset)
            return [max(x0, right - width), top, right, top + height]
        left = (x0 + x1 - width) // 2
        return [max(x0, left), top, min(x1, left + width), top + height]

    def font_of(self, w: tk.Misc) -> tkfont.Font:
        """The widget's font, measured once per spec (fonts are sized before any widget)."""
        spec = str(w.cget("font"))
        if spec not in self.fonts:
            self.fonts[spec] = tkfont.Font(root=self.root, font=spec)
        return self.fonts[spec]

    def value_box(self, w: tk.Entry, shown: str) -> list[int] | None:
        """Where a text field's text is drawn, in screen pixels (reading targets paint the value
        there, so a policy can learn to tell an empty field from one holding "u"): left-aligned
        after the highlight ring, the border and Tk's one-pixel pad, clipped to the field. None
        when the field is empty."""
        if not shown:
            return None
        try:
            font = self.font_of(w)
            inset = sum(w.winfo_pixels(w.cget(k)) for k in ("borderwidth", "highlightthickness")) + 1
        except tk.TclError:
            return None
        x0, y0, x1, y1 = self.box(w)
        height = font.metrics("linespace")
        top = (y0 + y1 - height) // 2
        return [x0 + inset, top, min(x1 - inset, x0 + inset + font.measure(shown)), top + height]

    def elements(self) -> list[dict[str, Any]]:
        focus = self.root.focus_get()
        out = [{"id": "window", "role": "window", "label": self.root.title(), "box": self.box(self.root)}]
        for wid, w, role, label in self.widgets:
            if not w.winfo_viewable():
                continue
            el: dict[str, Any] = {"id": wid, "role": role, "label": label, "box": self.box(w)}
            el["text_box"] = self.text_box(wid, w, role, label)
            el["focused"] = w is focus
            if role == "textbox":
                value = w.get()
                el["value"] = "*" * len(value) if w.cget("show") else value
                el["value_box"] = self.value_box(w, el["value"])
                el["cursor"] = w.index("insert")
            elif role in ("checkbox", "radio", "tab"):
                el["checked"] = bool(getattr(w, "act_checked", lambda: False)())
            out.append(el)
            if role == "menu":
                out.extend(self.menu_items(wid, w.act_menu))
        return out

    def menu_items(self, wid: str, menu: tk.Menu) -> list[dict[str, Any]]:
        """The entries of a posted drop-down menu, with boxes from their y positions."""
        if not menu.winfo_ismapped():
            return []
        x0, y0 = menu.winfo_rootx(), menu.winfo_rooty()
        last = menu.index("end")
        ys = [menu.yposition(i) for i in range(last + 1)] + [menu.winfo_height()]
        items = []
        for i in range(last + 1):
            label = menu.entrycget(i, "label")
            items.append(
                {
                    "id": f"{wid}:{label.rstrip('.').lower()}",
                    "role": "menuitem",
                    "label": label,
                    "box": [x0, y0 + ys[i], x0 + menu.winfo_width(), y0 + ys[i + 1]],
                    "focused": False,
                }
            )
        return items

    def focused_id(self) -> str | None:
        focus = self.root.focus_get()
        return next((wid for wid, w, *_ in self.widgets if w is focus), None)

    def snapshot(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "seed": self.seed,
            "instruction": self.instruction,
            "window": self.box(self.root),
            "elements": self.elements(),
            "focus": self.focused_id(),
            "state": {"goal": self.goal, **self.state()},
            "result": self.result,
            "reason": self.reason,
        }

    def publish(self, sync: int | None = None) -> None:
        snap = self.snapshot()
        text = json.dumps(snap, sort_keys=True)
        if sync is None and text == self.last:
            return
        self.last = text
        self.seq += 1
        snap.update(seq=self.seq, t=round(time.monotonic(), 6), sync=sync)
        self.out.write(json.dumps(snap) + "\n")
        self.out.flush()

    # ---- side channel ----------------------------------------------------------------------------

    def _read_stdin(self) -> None:
        for line in sys.stdin:
            self.requests.put(line.strip())
        self.requests.put(None)  # the env closed the pipe

    def poll(self) -> None:
        try:
            while True:
                req = self.requests.get_nowait()
                if req is None or req == "quit":
                    self.root.destroy()
                    return
                if req.startswith("sync "):
                    self.root.update()  # every X event sent so far is handled before the snapshot
                    self.publish(sync=int(req.split()[1]))
        except queue.Empty:
            pass
        self.publish()
        self.root.after(POLL_MS, self.poll)

    def run(self) -> None:
        self.root.update()
        self.publish(sync=0)  # the ready line
        self.root.after(POLL_MS, self.poll)
        self.root.mainloop()

    # ---- tasks -----------------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        return getattr(self, f"state_{self.task}")()

    def build_login(self) -> None:
        user = self.rng.choice(USERS)
        pw = "".join(
            self.rng.choice("abcdefghjkmnpqrstuvwxyz23456789") for _ in range(self.rng.randint(5, 7))
        )
        self.goal = {"username": user, "password": pw}
        self.instruction = f"Sign in as {user} with the password {pw}"
        tk.Label(self.root, text="Sign in", font=self.bold(14)).place(**self.at(20, 20))
        self.user = self.entry("username", "Username", 20, 80)
        self.pw = self.entry("password", "Password", 20, 120, show="*")
        self.button("sign_in", "Sign in", self.sign_in, 130, 170)

    def sign_in(self) -> None:
        ok = (self.user.get(), self.pw.get()) == (self.goal["username"], self.goal["password"])
        self.finish(SUCCESS if ok else FAILURE, "" if ok else "wrong user name or password")

    def state_login(self) -> dict[str, Any]:
        return {"values": {"username": self.user.get(), "password": self.pw.get()}}

    def build_settings(self) -> None:
        self.checks: dict[str, tk.BooleanVar] = {}
        self.tab = tk.StringVar(master=self.root, value="general")
        self.panels: dict[str, tk.Frame] = {}
        tk.Label(self.root, text="Settings", font=self.bold(14)).place(**self.at(20, 15))
        for i, (key, (title, boxes)) in enumerate(SETTINGS.items()):
            tab = tk.Radiobutton(
                self.root,
                text=title,
                variable=self.tab,
                value=key,
                indicatoron=False,
                width=12,
                command=self.show_tab,
            )
            tab.act_checked = lambda key=key: self.tab.get() == key
            self.add(f"tab:{key}", tab, "tab", title, x=20 + 120 * i, y=55)
            panel = tk.Frame(
                self.root,
                width=round(420 * self.zoom),
                height=round(150 * self.zoom),
                relief="groove",
                borderwidth=2,
            )
            self.panels[key] = panel
            for j, (cid, label) in enumerate(boxes.items()):
                var = tk.BooleanVar(master=self.root, value=self.rng.random() < 0.5)
                self.checks[cid] = var
                cb = tk.Checkbutton(panel, text=label, variable=var)
                cb.act_checked = var.get
                self.add(f"check:{cid}", cb, "checkbox", label, x=15, y=15 + 40 * j)
        self.initial = {k: v.get() for k, v in self.checks.items()}
        key = self.rng.choice(list(SETTINGS)[1:])
        title, boxes = SETTINGS[key]
        targets = self.rng.sample(list(boxes), self.rng.randint(1, 2))
        want = {c: not self.initial[c] for c in targets}
        self.goal = {"tab": key, "checks": want}
        words = [f"turn {'on' if on else 'off'} '{boxes[c]}'" for c, on in want.items()]
        self.instruction = f"In Settings, open the {title} tab, {' and '.join(words)}, then press Apply"
        self.show_tab()
        self.button("apply", "Apply", self.apply, 20, 260)
        self.button("cancel", "Cancel", lambda: self.finish(FAILURE, "cancelled"), 110, 260)

    def show_tab(self) -> None:
        for key, panel in self.panels.items():
            if key == self.tab.get():
                panel.place(**self.at(20, 95))
            else:
                panel.place_forget()

    def apply(self) -> None:
        want = {**self.initial, **self.goal["checks"]}
        ok = {k: v.get() for k, v in self.checks.items()} == want
        self.finish(SUCCESS if ok else FAILURE, "" if ok else "the settings differ from the instruction")

    def state_settings(self) -> dict[str, Any]:
        return {"tab": self.tab.get(), "checks": {k: v.get() for k, v in self.checks.items()}}

    def build_search(self) -> None:
        fruit = self.rng.choice(FRUITS)
        self.catalogue = [f"{f.capitalize()} {d}" for f in FRUITS for d in self.rng.sample(DISHES, 4)]
        self.rng.shuffle(self.catalogue)
        item = self.rng.choice([c for c in self.catalogue if c.lower().startswith(fruit)])
        self.goal = {"query": fruit, "item": item}
        self.instruction = f"Search for '{fruit}' and submit the result '{item}'"
        self.query = self.entry("query", "Search", 20, 30)
        self.button("search", "Search", self.search, 370, 26)
        self.searched: str | None = None
        self.choice = tk.StringVar(master=self.root, value="")
        self.results: list[tk.Radiobutton] = []
        self.button("submit", "Submit", self.submit, 20, 300)

    def search(self) -> None:
        for rb in self.results:
            rb.place_forget()
        self.widgets = [w for w in self.widgets if not w[0].startswith("result:")]
        self.results.clear()
        self.choice.set("")
        self.searched = self.query.get()
        hits = [c for c in self.catalogue if self.searched.strip().lower() in c.lower()][:5]
        for i, text in enumerate(hits):
            rb = tk.Radiobutton(self.root, text=text, variable=self.choice, value=text)
            rb.act_checked = lambda text=text: self.choice.get() == text
            self.results.append(self.add(f"result:{text}", rb, "radio", text, x=40, y=80 + 35 * i))
        self.status.set(f"{len(hits)} results" if hits else "No results")

    def submit(self) -> None:
        chosen = self.choice.get()
        if not chosen:
            self.status.set("Choose a result first")
            return
        ok = chosen == self.goal["item"]
        self.finish(SUCCESS if ok else FAILURE, "" if ok else f"submitted {chosen!r}")

    def state_search(self) -> dict[str, Any]:
        return {
            "values": {"query": self.query.get()},
            "searched": self.searched,
            "selected": self.choice.get(),
        }

    def build_export(self) -> None:
        name = f"{self.rng.choice(DOC_WORDS)}_{self.rng.randint(1, 99)}.{self.rng.choice(EXTENSIONS)}"
        self.goal = {"filename": name}
        self.instruction = f"Export the document as {name} from the File menu"
        self.dialog: tk.Toplevel | None = None
        for i, (title, entries) in enumerate(
            (("File", ("New", "Open...", "Export...", "Print")), ("Edit", ("Undo", "Copy", "Paste")))
        ):
            mb = tk.Menubutton(self.root, text=title, relief="raised", padx=10)
            menu = tk.Menu(mb, tearoff=False)
            for label in entries:
                action = (
                    self.open_export if label == "Export..." else (lambda label=label: self.status.set(label))
                )
                menu.add_command(label=label, command=action)
            mb.configure(menu=menu)
            mb.act_menu = menu
            self.add(f"menu:{title.lower()}", mb, "menu", title, x=10 + 70 * i, y=5)
        text = tk.Text(self.root, width=60, height=12)
        text.insert("1.0", "Quarterly figures\n\nThe document to export.")
        text.place(**self.at(20, 50))

    def open_export(self) -> None:
        if self.dialog is not None:
            return
        self.dialog = d = tk.Toplevel(self.root)
        d.title("Export")
        d.transient(self.root)
        pos = self.at(100, 120)  # the dialog opens over the window, where the layout puts it
        size = f"{round(380 * self.zoom)}x{round(140 * self.zoom)}"
        d.geometry(f"{size}+{self.root.winfo_rootx() + pos['x']}+{self.root.winfo_rooty() + pos['y']}")
        self.widgets.append(("dialog:export", d, "dialog", "Export"))
        tk.Label(d, text="Export as", font=self.bold(12)).place(**self.at(10, 8, inner=True))
        self.filename = self.entry("filename", "File name", 10, 50, master=d)
        self.filename.insert(0, "untitled.txt")
        self.button("save", "Save", self.save, 10, 95, master=d)
        self.button("cancel", "Cancel", self.close_export, 90, 95, master=d)

    def close_export(self) -> None:
        self.widgets = [w for w in self.widgets if w[1].winfo_toplevel() is not self.dialog]
        self.dialog.destroy()
        self.dialog = None

    def save(self) -> None:
        name = self.filename.get()
        ok = name == self.goal["filename"]
        self.close_export()
        self.finish(SUCCESS if ok else FAILURE, "" if ok else f"exported as {name!r}")

    def state_export(self) -> dict[str, Any]:
        values = {"filename": self.filename.get()} if self.dialog is not None else {}
        return {"dialog": self.dialog is not None, "values": values}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m act.envs.desktop.app", description=__doc__.split("\n\n")[0])
    p.add_argument("--task", required=True, choices=TASKS)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--state", required=True, help="JSON-lines file the snapshots are appended to")
    p.add_argument("--width", type=int, default=640)
    p.add_argument("--height", type=int, default=480)
    p.add_argument("--x", type=int, default=0)
    p.add_argument("--y", type=int, default=0)
    p.add_argument(
        "--scale", type=float, default=1.0, help="display scale: fonts and layout (1 = as designed)"
    )
    p.add_argument(
        "--offset", type=int, nargs=2, default=(0, 0), metavar=("DX", "DY"), help="content moved by"
    )
    p.add_argument("--palette", default="", help="BACKGROUND,FOREGROUND colours (Tk's tk_setPalette)")
    args = p.parse_args(argv)
    try:
        app = App(
            args.task,
            args.seed,
            args.state,
            args.width,
            args.height,
            args.x,
            args.y,
            scale=args.scale,
            offset=tuple(args.offset),
            palette=args.palette,
        )
    except tk.TclError as e:  # no display, or one that refuses us
        print(f"act desktop app: cannot open a window: {e}", file=sys.stderr)
        return 2
    app.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
