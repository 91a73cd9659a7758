"""Draw a UI into an RGB image with PIL: native resolution, cached text masks, no anti-aliased shapes."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from act.envs.synthui.layout import Rect, Widget
from act.envs.synthui.style import Palette, text_mask
from act.envs.synthui.ui import UI


class Renderer:
    """Renders ``UI`` states; reuses one PIL image and redraws only when the UI's version changed."""

    def __init__(self, ui: UI):
        self.ui = ui
        self.pal: Palette = ui.spec.look.palette
        self.m = ui.metrics
        self.image = Image.new("RGB", ui.size, self.pal.desktop)
        self.draw = ImageDraw.Draw(self.image)
        self._drawn: int | None = None
        self._array: np.ndarray | None = None

    def frame(self) -> np.ndarray:
        """The current screen as a new uint8 (H, W, 3) array."""
        if self._drawn != self.ui.version or self._array is None:
            self._render()
            self._array = np.asarray(self.image)
            self._drawn = self.ui.version
        return self._array.copy()

    # ------------------------------------------------------------------ helpers
    def text(
        self, x: float, yc: float, text: str, color, bold: bool = False, clip: float | None = None
    ) -> None:
        """Draw ``text`` with its left edge at x, vertically centred on yc; keep the tail if clipped."""
        if not text:
            return
        mask = text_mask(text, self.m.font, bold)
        if clip is not None and mask.width > clip:
            mask = mask.crop((mask.width - int(clip), 0, mask.width, mask.height))
        self.draw.bitmap((int(x), int(yc - mask.height / 2 + 0.5)), mask, fill=color)

    def rect(self, r: Rect, fill=None, outline=None) -> None:
        if r[2] <= r[0] or r[3] <= r[1]:
            return
        self.draw.rectangle((r[0], r[1], r[2] - 1, r[3] - 1), fill=fill, outline=outline)

    # -------------------------------------------------------------------- frame
    def _render(self) -> None:
        ui, pal, fr = self.ui, self.pal, self.ui.frame
        if fr.window != (0, 0, *ui.size):
            self.rect((0, 0, *ui.size), fill=pal.desktop)
        self.rect(fr.window, fill=pal.window, outline=pal.border)
        self._title_bar(fr.title, ui.spec.title, active=not ui.modals)
        if fr.banner:
            self.rect(fr.banner, fill=pal.banner)
            self.text(
                fr.banner[0] + self.m.pad,
                (fr.banner[1] + fr.banner[3]) / 2,
                ui.spec.look.banner_text,
                pal.banner_text,
            )
        if fr.menubar:
            self.rect(fr.menubar, fill=pal.bar)
            lead = fr.lead
            if lead:
                x0, y0, _, y1 = fr.menubar
                s = min(lead - 2, y1 - y0 - 4)
                self.rect((x0 + 2, y0 + 2, x0 + 2 + s, y0 + 2 + s), fill=pal.accent)
        if fr.toolbar:
            self.rect(fr.toolbar, fill=pal.bar)
            self.draw.line(
                (fr.toolbar[0], fr.toolbar[3] - 1, fr.toolbar[2] - 1, fr.toolbar[3] - 1), fill=pal.border
            )
        if fr.sidebar:
            x0, y0, x1, y1 = fr.sidebar
            self.rect(fr.sidebar, fill=pal.sidebar)
            for k in range(3):
                y = y0 + self.m.px(6 + 10 * k)
                self.draw.line((x0 + 4, y, x1 - 6, y), fill=pal.muted)
        if ui.spec.pages:
            tabs = [w for w in ui.layout.widgets if w.layer == "tabs"]
            if tabs:
                y = tabs[0].rect[3]
                self.draw.line((fr.content[0], y, fr.content[2], y), fill=pal.border)
        for w in ui.visible():
            if w.layer.startswith(("menu:", "dialog:")):
                continue
            self._widget(w)
        if ui.open_menu:
            self.rect(ui.layout.dropdowns[ui.open_menu], fill=pal.field, outline=pal.border)
            for w in ui.layout.menus[ui.open_menu]:
                self.text(
                    w.rect[0] + self.m.pad + self.m.px(3), (w.rect[1] + w.rect[3]) / 2, w.name, pal.text
                )
        for name in ui.modals:
            self._dialog(name)

    def _title_bar(self, r: Rect, title: str, active: bool = True) -> None:
        pal = self.pal
        self.rect(r, fill=pal.title if active else pal.muted)
        yc = (r[1] + r[3]) / 2
        self.text(r[0] + self.m.pad, yc, title, pal.title_text, bold=True, clip=r[2] - r[0] - self.m.px(20))
        s = max(2, (r[3] - r[1]) // 4)
        cx = r[2] - self.m.px(7)
        self.draw.line((cx - s, yc - s, cx + s, yc + s), fill=pal.title_text)
        self.draw.line((cx - s, yc + s, cx + s, yc - s), fill=pal.title_text)

    def _dialog(self, name: str) -> None:
        d = self.ui.dialog(name)
        pal = self.pal
        x0, y0, x1, y1 = d.rect
        self.rect((x0 + 2, y0 + 2, x1 + 2, y1 + 2), fill=pal.shadow)
        self.rect(d.rect, fill=pal.window, outline=pal.border)
        self._title_bar(self.ui.title_bar(d.rect), d.panel.title, active=name == self.ui.top_modal)
        for w in d.widgets:
            self._widget(w)

    # ------------------------------------------------------------------ widgets
    def _widget(self, w: Widget) -> None:
        pal, m = self.pal, self.m
        x0, y0, x1, y1 = w.rect
        yc = (y0 + y1) / 2
        role = w.role
        if role == "label":
            color = pal.muted if w.state.get("muted") else pal.text
            self.text(x0, yc, w.name, color, bold=w.state.get("bold", False), clip=x1 - x0 + 1)
        elif role == "button":
            self.rect(w.rect, fill=pal.button, outline=pal.accent if w.state.get("default") else pal.border)
            mask_w = text_mask(w.name, m.font).width
            self.text((x0 + x1 - mask_w) / 2, yc, w.name, pal.text)
        elif role == "tab":
            sel = w.state.get("selected")
            self.rect(
                (x0, y0, x1, y1 + (1 if sel else 0)),
                fill=pal.window if sel else pal.button,
                outline=pal.border,
            )
            if sel:
                self.draw.line((x0 + 1, y1, x1 - 2, y1), fill=pal.window)
            mask_w = text_mask(w.name, m.font).width
            self.text((x0 + x1 - mask_w) / 2, yc, w.name, pal.text, bold=False)
        elif role == "textbox":
            self._textbox(w)
        elif role in ("checkbox", "radio"):
            b = m.box
            by = int(yc - b / 2)
            box = (x0, by, x0 + b, by + b)
            checked = w.state["checked"]
            if role == "checkbox":
                self.rect(box, fill=pal.accent if checked else pal.field, outline=pal.border)
                if checked:
                    self.draw.line(
                        (x0 + 2, by + b // 2, x0 + b // 2 - 1, by + b - 3, x0 + b - 3, by + 2),
                        fill=pal.accent_text,
                        width=max(1, m.px(1.4)),
                    )
            else:
                self.draw.ellipse((x0, by, x0 + b - 1, by + b - 1), fill=pal.field, outline=pal.border)
                if checked:
                    k = max(2, b // 4)
                    self.draw.ellipse((x0 + k, by + k, x0 + b - 1 - k, by + b - 1 - k), fill=pal.accent)
            self.text(x0 + b + m.px(3), yc, w.name, pal.text)
        elif role == "slider":
            self._slider(w)
        elif role == "list":
            self._list(w)
        elif role == "icon":
            self._icon(w)
        elif role == "menu":
            if w.state.get("expanded"):
                self.rect(w.rect, fill=pal.accent)
            self.text(
                (x0 + x1 - text_mask(w.name, m.font).width) / 2,
                yc,
                w.name,
                pal.accent_text if w.state.get("expanded") else pal.text,
            )

    def _textbox(self, w: Widget) -> None:
        pal, m, s = self.pal, self.m, w.state
        x0, y0, x1, y1 = w.rect
        yc = (y0 + y1) / 2
        focused = self.ui.focus == w.key
        self.rect(w.rect, fill=pal.field, outline=pal.accent if focused else pal.border)
        inner = x1 - x0 - 2 * m.pad + 1
        text = "\u2022" * len(s["text"]) if s["password"] else s["text"]
        if not text:
            if s["placeholder"] and not focused:
                self.text(x0 + m.pad - 1, yc, s["placeholder"], pal.muted, clip=inner)
        elif s["select_all"]:
            tw = min(text_mask(text, m.font).width, inner)
            self.rect((x0 + m.pad - 1, y0 + 2, x0 + m.pad - 1 + tw, y1 - 2), fill=pal.accent)
            self.text(x0 + m.pad - 1, yc, text, pal.accent_text, clip=inner)
        else:
            self.text(x0 + m.pad - 1, yc, text, pal.text, clip=inner)
        if focused and not s["select_all"]:
            tw = min(text_mask(text, m.font).width, inner) if text else 0
            cx = x0 + m.pad - 1 + tw
            self.draw.line((cx, y0 + 3, cx, y1 - 4), fill=pal.text)

    def _slider(self, w: Widget) -> None:
        pal, m, s = self.pal, self.m, w.state
        tx0, tx1, yc = self.ui.track(w)
        th = self.ui.thumb_rect(w)
        t = max(1, m.px(1.5))
        self.rect((tx0, yc - t, tx1 + 1, yc + t), fill=pal.border)
        self.rect((tx0, yc - t, (th[0] + th[2]) // 2, yc + t), fill=pal.accent)
        self.rect(th, fill=pal.button, outline=pal.text)
        x0, x1 = w.rect[0], w.rect[2]
        self.text(x0, yc, str(s["min"]), pal.muted)  # the range's ends, beside the track
        self.text(tx1 + m.px(5), yc, str(s["max"]), pal.muted)
        self.text(x1 - self.ui.readout_w(w) + m.px(3), yc, str(s["value"]), pal.text)

    def _list(self, w: Widget) -> None:
        pal, m, s = self.pal, self.m, w.state
        self.rect(w.rect, fill=pal.field, outline=pal.border)
        for k in range(s["rows"]):
            i = s["top"] + k
            if i >= len(s["items"]):
                break
            r = self.ui.list_row_rect(w, k)
            sel = s["selected"] == i
            if sel:
                self.rect(r, fill=pal.accent)
            self.text(
                r[0] + m.px(3),
                (r[1] + r[3]) / 2,
                s["items"][i],
                pal.accent_text if sel else pal.text,
                clip=r[2] - r[0] - m.px(3),
            )
        sb = self.ui.scrollbar_w(w)
        if sb:
            x0, y0, x1, y1 = w.rect
            n, rows = len(s["items"]), s["rows"]
            self.rect((x1 - 1 - sb, y0 + 1, x1 - 1, y1 - 1), fill=pal.button)
            h = y1 - y0 - 2
            ty0 = y0 + 1 + round(h * s["top"] / n)
            ty1 = y0 + 1 + round(h * (s["top"] + rows) / n)
            self.rect((x1 - sb, ty0, x1 - 1, ty1), fill=pal.muted)

    def _icon(self, w: Widget) -> None:
        pal, d = self.pal, self.draw
        x0, y0, x1, y1 = w.rect
        self.rect(w.rect, fill=pal.button, outline=pal.border)
        k = max(2, (x1 - x0) // 5)
        a, b, c, e = x0 + k, y0 + k, x1 - 1 - k, y1 - 1 - k
        mx, my = (a + c) // 2, (b + e) // 2
        col = pal.text
        g = w.state.get("glyph", "new")
        if g == "new":
            d.polygon(((a, b), (c - 2, b), (c, b + 2), (c, e), (a, e)), outline=col)
        elif g == "open":
            d.polygon(((a, b + 1), (mx - 1, b + 1), (mx, b + 2), (c, b + 2), (c, e), (a, e)), outline=col)
        elif g == "save":
            d.rectangle((a, b, c, e), outline=col)
            d.rectangle((a + 2, b, c - 2, my - 1), fill=col)
        elif g == "print":
            d.rectangle((a, my - 1, c, e - 1), outline=col)
            d.rectangle((a + 2, b, c - 2, my - 1), outline=col)
        elif g == "export":
            d.rectangle((a, my, c - 2, e), outline=col)
            d.line((mx, my + 1, c, b), fill=col)
            d.line((c - 3, b, c, b, c, b + 3), fill=col)
        elif g == "search":
            d.ellipse((a, b, mx + 1, my + 1), outline=col)
            d.line((mx + 1, my + 1, c, e), fill=col, width=2)
        elif g == "trash":
            d.rectangle((a + 1, b + 2, c - 1, e), outline=col)
            d.line((a, b + 1, c, b + 1), fill=col)
        elif g == "undo":
            d.arc((a, b + 1, c, e + 2), 180, 360, fill=col)
            d.line((a, my + 1, a - 1, my - 2), fill=col)
        elif g == "copy":
            d.rectangle((a, b, c - 3, e - 3), outline=col)
            d.rectangle((a + 3, b + 3, c, e), outline=col, fill=pal.button)
        else:  # a gear-ish dot
            d.ellipse((a + 1, b + 1, c - 1, e - 1), outline=col)
            d.ellipse((mx - 1, my - 1, mx + 1, my + 1), fill=col)
