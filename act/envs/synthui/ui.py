"""The live UI: widget state, focus, menus, modal dialogs, and what clicks, drags, scrolls and keys do.

Input never raises: a click on nothing does nothing. Everything a task cares about comes out as a
``Command`` (a button pressed, a menu item chosen, a field submitted, a list item opened); the env
hands commands to the task, which judges success from the app state.

Scroll convention (as pynput and X11 report wheels): ``dy > 0`` scrolls up (towards the start of a
list), ``dy < 0`` scrolls down. One tick moves a list by one row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from act.envs.synthui.layout import Dialog, Layout, Rect, Widget, layout
from act.envs.synthui.spec import INTERACTIVE, AppSpec

MAX_TEXT = 40


@dataclass(frozen=True)
class Command:
    """Something the user did that the task may care about."""

    kind: str  # button, menu, icon, toggle, radio, slider, submit, select, open
    key: str
    value: Any = None


def inside(rect: Rect, x: float, y: float) -> bool:
    return rect[0] <= x < rect[2] and rect[1] <= y < rect[3]


class UI:
    """State of one app window on a screen of ``size`` = (width, height)."""

    def __init__(self, spec: AppSpec, size: tuple[int, int]):
        self.spec = spec
        self.size = size
        self.layout: Layout = layout(spec, size)
        self.metrics = self.layout.metrics
        self.frame = self.layout.frame
        self.by_key: dict[str, Widget] = {w.key: w for w in self.layout.widgets}
        for items in self.layout.menus.values():
            self.by_key.update({w.key: w for w in items})
        for d in self.layout.dialogs.values():
            self.by_key.update({w.key: w for w in d.widgets})
        self.page: str | None = spec.pages[0].tab.key if spec.pages else None
        if self.page:
            self.by_key[self.page].state["selected"] = True
        self.focus: str | None = None
        self.open_menu: str | None = None
        self.modals: list[str] = []
        self._saved_focus: list[str | None] = []
        self.commands: list[Command] = []
        self.version = 0
        self._elements: tuple[int, list[dict]] | None = None

    # ----------------------------------------------------------------- queries
    def widget(self, key: str) -> Widget:
        return self.by_key[key]

    def dialog(self, name: str) -> Dialog:
        return self.layout.dialogs[name]

    @property
    def top_modal(self) -> str | None:
        return self.modals[-1] if self.modals else None

    def layers(self) -> list[str]:
        """Layers drawn (and hit-testable, for the last ones) in z-order."""
        out = ["menubar", "toolbar", "tabs", "main"]
        if self.page:
            out.append(f"page:{self.page}")
        if self.open_menu:
            out.append(f"menu:{self.open_menu}")
        out += [f"dialog:{d}" for d in self.modals]
        return out

    def visible(self) -> list[Widget]:
        """Widgets on screen, bottom first."""
        base = [
            w
            for w in self.layout.widgets
            if w.layer in ("menubar", "toolbar", "tabs", "main") or w.layer == f"page:{self.page}"
        ]
        if self.open_menu:
            base += self.layout.menus[self.open_menu]
        for d in self.modals:
            base += self.layout.dialogs[d].widgets
        return base

    def active(self) -> list[Widget]:
        """Widgets that take input now, top first: the top dialog's, or the window's."""
        if self.modals:
            return list(reversed(self.layout.dialogs[self.modals[-1]].widgets))
        ws = self.visible()
        return list(reversed(ws))

    def hit(self, x: float, y: float) -> Widget | None:
        """The interactive widget at (x, y) that would take a click now, if any."""
        if self.open_menu:
            for w in self.layout.menus[self.open_menu]:
                if inside(w.rect, x, y):
                    return w
        for w in self.active():
            if w.role in INTERACTIVE and inside(w.rect, x, y):
                return w
        return None

    def elements(self) -> list[dict[str, Any]]:
        """The element tree for experts and metrics: visible widgets in z-order, list rows included."""
        if self._elements and self._elements[0] == self.version:
            return self._elements[1]
        fr = self.frame
        out: list[dict[str, Any]] = [
            {
                "id": "window",
                "role": "window",
                "name": self.spec.title,
                "bbox": fr.window,
                "text_bbox": self.text_box("title", fr.title, self.spec.title),
                "state": {},
            }
        ]
        if fr.banner:
            out.append(
                {
                    "id": "banner",
                    "role": "banner",
                    "name": self.spec.look.banner_text,
                    "bbox": fr.banner,
                    "state": {},
                }
            )
        for d in [None, *self.modals]:
            if d is not None:
                dlg = self.layout.dialogs[d]
                out.append(
                    {
                        "id": f"dialog:{d}",
                        "role": "dialog",
                        "name": dlg.panel.title,
                        "bbox": dlg.rect,
                        "text_bbox": self.text_box("title", self.title_bar(dlg.rect), dlg.panel.title),
                        "state": {"kind": dlg.panel.kind},
                    }
                )
                ws = dlg.widgets
            else:
                ws = [w for w in self.visible() if not w.layer.startswith("dialog:")]
            for w in ws:
                out.append(self._element(w))
                if w.role == "list":
                    out += self._list_rows(w)
        self._elements = (self.version, out)
        return out

    def _element(self, w: Widget) -> dict[str, Any]:
        state = dict(w.state)
        if w.role == "textbox":
            state["focused"] = self.focus == w.key
        elif w.role == "slider":
            state["thumb"] = self.thumb_rect(w)
            state["track"] = self.track(w)
        text_bbox = self.text_box(w.role, w.rect, w.name, bold=w.state.get("bold", False))
        return {
            "id": w.key,
            "role": w.role,
            "name": w.name,
            "bbox": w.rect,
            "text_bbox": text_bbox,
            "state": state,
        }

    def _list_rows(self, w: Widget) -> list[dict[str, Any]]:
        s = w.state
        out = []
        for k in range(s["rows"]):
            i = s["top"] + k
            if i >= len(s["items"]):
                break
            row = self.list_row_rect(w, k)
            out.append(
                {
                    "id": f"{w.key}#{i}",
                    "role": "listitem",
                    "name": s["items"][i],
                    "bbox": row,
                    "text_bbox": self.text_box("listitem", row, s["items"][i]),
                    "state": {"selected": s["selected"] == i, "index": i},
                }
            )
        return out

    # ----------------------------------------------------------- geometry helpers
    def text_box(self, role: str, rect: Rect, name: str, bold: bool = False) -> Rect | None:
        """Where an element's ``name`` is drawn inside its ``rect`` (the renderer draws it there), for
        reading targets: a list row's or a checkbox's label fills only part of its element. The
        element's own box for an icon (its glyph stands for the name); None where the name is not
        drawn at all (a text field shows its text, a slider its numbers, a list its rows). ``role``
        "title": ``rect`` is a title bar."""
        from act.envs.synthui.style import text_width

        m = self.metrics
        x0, y0, x1, y1 = rect
        if role in ("textbox", "slider", "list") or not name:
            return None
        if role == "icon":
            return rect
        if role == "title":  # a window's or a dialog's, in its title bar ``rect``
            left, room, bold = x0 + m.pad, x1 - x0 - m.px(20), True
        elif role in ("button", "tab", "menu"):  # centred
            tw = text_width(name, m.font)
            left, room = (x0 + x1 - tw) / 2, tw
        elif role in ("checkbox", "radio"):  # right of the marker
            left, room = x0 + m.box + m.px(3), x1 - x0
        elif role == "listitem":
            left, room = x0 + m.px(3), x1 - x0 - m.px(3)
        elif role in ("menuitem",):  # a dropdown's entry
            left, room = x0 + m.pad + m.px(3), x1 - x0
        else:  # label, banner: from the left edge (a banner's after its padding)
            left, room = x0 + (m.pad if role == "banner" else 0), x1 - x0 + 1
        width = min(text_width(name, m.font, bold), room)
        return (left, y0, min(left + width, x1), y1)

    def title_bar(self, dialog_rect: Rect) -> Rect:
        x0, y0, x1, _ = dialog_rect
        return (x0, y0, x1, y0 + self.metrics.dialog_title_h)

    def list_row_rect(self, w: Widget, k: int) -> Rect:
        x0, y0, x1, _ = w.rect
        h = self.metrics.item_h
        return (x0 + 1, y0 + 1 + k * h, x1 - 1 - self.scrollbar_w(w), y0 + 1 + (k + 1) * h)

    def scrollbar_w(self, w: Widget) -> int:
        return self.metrics.px(5) if len(w.state["items"]) > w.state["rows"] else 0

    def readout_w(self, w: Widget) -> int:
        from act.envs.synthui.style import text_width

        return text_width(str(w.state["max"]), self.metrics.font) + self.metrics.px(4)

    def end_label_w(self, w: Widget, end: str) -> int:
        """Width a slider's ``end`` ("min" or "max") label takes beside its track, gap included."""
        from act.envs.synthui.style import text_width

        return text_width(str(w.state[end]), self.metrics.font) + self.metrics.px(2 if end == "min" else 4)

    def track(self, w: Widget) -> tuple[int, int, int]:
        """Slider track: (x of the minimum, x of the maximum, y of the centre line). The range's ends
        are printed left and right of it (a value's place on the track is not readable without them:
        "Set Speed to 10" is the right end of a 0-10 slider and a tenth of a 0-100 one)."""
        half = self.metrics.px(3)
        x0, y0, x1, y1 = w.rect
        lo, hi = self.end_label_w(w, "min"), self.end_label_w(w, "max")
        return x0 + lo + half, x1 - half - hi - self.readout_w(w), (y0 + y1) // 2

    def thumb_rect(self, w: Widget) -> Rect:
        tx0, tx1, yc = self.track(w)
        s = w.state
        frac = (s["value"] - s["min"]) / (s["max"] - s["min"])
        x = round(tx0 + frac * (tx1 - tx0))
        half, hh = self.metrics.px(3), self.metrics.px(6)
        return (x - half, yc - hh, x + half + 1, yc + hh)

    def slider_value_at(self, w: Widget, x: float) -> int:
        tx0, tx1, _ = self.track(w)
        s = w.state
        frac = min(max((x - tx0) / max(tx1 - tx0, 1), 0.0), 1.0)
        steps = round(frac * (s["max"] - s["min"]) / s["step"])
        return int(s["min"] + steps * s["step"])

    # ------------------------------------------------------------------ changes
    def changed(self) -> None:
        self.version += 1

    def open_dialog(self, name: str, focus: str | None = None) -> None:
        if name in self.modals:
            return
        self.close_menu()
        self._saved_focus.append(self.focus)
        self.modals.append(name)
        self.focus = focus
        self.changed()

    def close_dialog(self, name: str) -> None:
        if name not in self.modals:
            return
        i = self.modals.index(name)
        self.modals.pop(i)
        focus = self._saved_focus.pop(i)
        if i == len(self.modals):  # the top one closed: give focus back
            self.focus = focus
        self.changed()

    def close_menu(self) -> None:
        if self.open_menu:
            self.by_key[self.open_menu].state["expanded"] = False
            self.open_menu = None
            self.changed()

    def set_focus(self, key: str | None) -> None:
        if self.focus != key:
            self.focus = key
            self.changed()

    def emit(self, kind: str, key: str, value: Any = None) -> None:
        self.commands.append(Command(kind, key, value))

    # -------------------------------------------------------------------- input
    def click(self, x: float, y: float, double: bool = False) -> None:
        if self.open_menu:
            w = self.hit(x, y)
            if w is not None and w.role == "menuitem":
                self.close_menu()
                self.emit("menu", w.key)
            elif w is not None and w.role == "menu" and w.key != self.open_menu:
                self._open_menu(w)
            else:  # a click anywhere else closes the menu and goes no further
                self.close_menu()
            return
        w = self.hit(x, y)
        if w is None:
            return
        role = w.role
        if role != "textbox":
            self.set_focus(None)
        if role == "menu":
            self._open_menu(w)
        elif role == "button":
            self.emit("button", w.key)
        elif role == "icon":
            self.emit("icon", w.key)
        elif role == "textbox":
            if self.focus != w.key or w.state["select_all"]:
                w.state["select_all"] = False
                self.focus = w.key
                self.changed()
        elif role == "checkbox":
            w.state["checked"] = not w.state["checked"]
            self.changed()
            self.emit("toggle", w.key, w.state["checked"])
        elif role == "radio":
            if not w.state["checked"]:
                for o in self.by_key.values():
                    if o.role == "radio" and o.state.get("group") == w.state.get("group"):
                        o.state["checked"] = False
                w.state["checked"] = True
                self.changed()
                self.emit("radio", w.key)
        elif role == "tab":
            if self.page != w.key:
                self.by_key[self.page].state["selected"] = False
                w.state["selected"] = True
                self.page = w.key
                self.changed()
        elif role == "slider":
            if not inside(self.thumb_rect(w), x, y):
                self._set_slider(w, self.slider_value_at(w, x))
        elif role == "list":
            self._click_list(w, x, y, double)

    def _open_menu(self, w: Widget) -> None:
        if self.open_menu == w.key:
            self.close_menu()
            return
        self.close_menu()
        self.open_menu = w.key
        w.state["expanded"] = True
        self.changed()

    def _set_slider(self, w: Widget, value: int) -> None:
        if value != w.state["value"]:
            w.state["value"] = value
            self.changed()
            self.emit("slider", w.key, value)

    def _click_list(self, w: Widget, x: float, y: float, double: bool) -> None:
        s = w.state
        for k in range(s["rows"]):
            i = s["top"] + k
            if i < len(s["items"]) and inside(self.list_row_rect(w, k), x, y):
                if s["selected"] != i:
                    s["selected"] = i
                    self.changed()
                self.emit("select", w.key, i)
                if double:
                    self.emit("open", w.key, i)
                return

    def drag(self, x0: float, y0: float, x1: float, y1: float) -> None:
        if self.open_menu:
            self.close_menu()
            return
        w = self.hit(x0, y0)
        if w is not None and w.role == "slider":
            self.set_focus(None)
            self._set_slider(w, self.slider_value_at(w, x1))

    def scroll(self, x: float, y: float, dx: float, dy: float) -> None:
        if self.open_menu:
            self.close_menu()
            return
        for w in self.active():
            if w.role == "list" and inside(w.rect, x, y):
                s = w.state
                top = min(max(s["top"] - int(round(dy)), 0), max(len(s["items"]) - s["rows"], 0))
                if top != s["top"]:
                    s["top"] = top
                    self.changed()
                return

    def _textboxes(self) -> list[Widget]:
        ws = [w for w in reversed(self.active()) if w.role == "textbox"]
        return sorted(ws, key=lambda w: (w.rect[1], w.rect[0]))

    def key(self, token: str) -> None:
        if self.open_menu:
            if token == "escape":
                self.close_menu()
            return
        dialog = self.layout.dialogs[self.modals[-1]] if self.modals else None
        if token == "escape":
            if dialog is not None and dialog.panel.cancel:
                self.emit("button", dialog.panel.cancel)
            return
        if token in ("enter", "ctrl+enter"):
            if dialog is not None:
                if dialog.panel.default:
                    self.emit("button", dialog.panel.default)
            elif self.focus:
                self.emit("submit", self.focus)
            return
        if token in ("tab", "shift+tab"):
            boxes = self._textboxes()
            if boxes:
                keys = [b.key for b in boxes]
                i = keys.index(self.focus) if self.focus in keys else -1
                step = 1 if token == "tab" else -1
                nxt = boxes[(i + step) % len(boxes)] if i >= 0 else boxes[0 if step > 0 else -1]
                nxt.state["select_all"] = bool(nxt.state["text"])  # tabbing into a field selects its text
                self.focus = nxt.key
                self.changed()
            return
        w = self.by_key.get(self.focus) if self.focus else None
        if w is None or w.role != "textbox" or w not in self.active():
            return
        s = w.state
        if token == "space":
            token = " "
        if len(token) == 1:
            text = "" if s["select_all"] else s["text"]
            if len(text) < MAX_TEXT:
                s["text"] = text + token
            s["select_all"] = False
        elif token in ("backspace", "delete"):
            if s["select_all"]:
                s["text"] = ""
                s["select_all"] = False
            elif token == "backspace":
                s["text"] = s["text"][:-1]
        elif token == "ctrl+a":
            s["select_all"] = bool(s["text"])
        else:
            return
        self.changed()
