"""AppSpec + screen size -> widgets with pixel boxes (flow rows, grids, menus, dialogs).

The layout is computed once per episode. When decoy widgets (added by the distractors family) make
a container overflow, decoys are dropped one by one until it fits; real widgets are never dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from act.envs.synthui.spec import AppSpec, Item, Panel, Row
from act.envs.synthui.style import Metrics, text_width

Rect = tuple[int, int, int, int]  # x0, y0, x1, y1 in screen pixels, x1/y1 exclusive


@dataclass(eq=False)
class Widget:
    """A placed widget. ``layer``: main, page:<tab>, menubar, toolbar, menu:<key>, dialog:<name>."""

    role: str
    key: str
    name: str
    rect: Rect
    layer: str
    state: dict[str, Any] = field(default_factory=dict)
    decoy: bool = False


@dataclass
class Frame:
    """The window's parts, in screen pixels."""

    screen: tuple[int, int]
    window: Rect
    title: Rect
    banner: Rect | None = None
    menubar: Rect | None = None
    toolbar: Rect | None = None
    sidebar: Rect | None = None
    content: Rect = (0, 0, 0, 0)  # where rows go (margins applied)
    lead: int = 0  # px before the first menu


@dataclass
class Dialog:
    name: str
    panel: Panel
    rect: Rect
    widgets: list[Widget]


@dataclass
class Layout:
    frame: Frame
    metrics: Metrics
    widgets: list[Widget]  # menubar, toolbar, main and page widgets, in z-order
    menus: dict[str, list[Widget]]  # dropdown items per menu key
    dropdowns: dict[str, Rect]
    dialogs: dict[str, Dialog]


def _inside(r: Rect, bounds: Rect) -> bool:
    return r[0] >= bounds[0] and r[1] >= bounds[1] and r[2] <= bounds[2] and r[3] <= bounds[3]


def _item_size(item: Item, m: Metrics, form_w: int) -> tuple[int, int, bool]:
    """(width, height, fills) of an item; fill items take the rest of their line."""
    f = m.font
    if item.role == "label":
        w = form_w if item.props.get("form") else text_width(item.label, f, item.props.get("bold", False))
        return w, m.label_h, False
    if item.role in ("button", "tab"):
        return max(text_width(item.label, f) + 2 * m.pad + 2, m.px(28)), m.row_h, False
    if item.role in ("checkbox", "radio"):
        return m.box + m.px(3) + text_width(item.label, f), m.label_h, False
    if item.role == "icon":
        return m.icon + m.px(2), m.icon + m.px(2), False
    if item.role == "list":
        h = item.props.get("rows", 4) * m.item_h + 2
        return (m.px(item.width) if item.width else m.px(40)), h, item.width is None
    if item.role == "slider":  # a 40 px track at the least, besides its range's ends and its readout
        ends = sum(text_width(str(item.props[k]), f) for k in ("min", "max")) + text_width(
            str(item.props["max"]), f
        )
        return (m.px(item.width) if item.width else m.px(40) + ends + m.px(16)), m.row_h, item.width is None
    # textbox
    return (m.px(item.width) if item.width else m.px(40)), m.row_h, item.width is None


def _place_rows(
    rows: list[Row], x0: int, y0: int, width: int, m: Metrics, layer: str, wide: int | None = None
) -> tuple[list[Widget], int]:
    """Place rows top-down from (x0, y0) within ``width`` (``wide`` for wide rows); returns the widgets
    and the bottom y."""
    column = width
    form_w = max(
        (
            text_width(i.label, m.font)
            for r in rows
            for i in r.items
            if i.role == "label" and i.props.get("form")
        ),
        default=0,
    )
    out: list[Widget] = []
    y = y0
    for n, row in enumerate(rows):
        if n:
            y += m.gap_y
        y += m.px(row.space_before)
        sizes = [_item_size(i, m, form_w) for i in row.items]
        width = max(wide or 0, column) if row.wide else column
        indent = m.px(row.indent)
        if row.columns:
            cols = row.columns
            cell = (width - indent - (cols - 1) * m.gap_x) // cols
            for start in range(0, len(row.items), cols):
                line = range(start, min(start + cols, len(row.items)))
                h = max(sizes[i][1] for i in line)
                for c, i in enumerate(line):
                    x = x0 + indent + c * (cell + m.gap_x)
                    w = cell if sizes[i][2] else min(sizes[i][0], cell)
                    out.append(_widget(row.items[i], (x, y, x + w, y + sizes[i][1]), layer))
                y += h + (m.gap_y if start + cols < len(row.items) else 0)
            continue
        lines: list[list[int]] = [[]]
        used = indent
        for i, (w, _, _) in enumerate(sizes):
            need = w + (m.gap_x if lines[-1] else 0)
            if lines[-1] and used + need > width:
                lines.append([])
                used = 0
                need = w
            lines[-1].append(i)
            used += need
        for k, line in enumerate(lines):
            ind = indent if k == 0 else 0
            widths = [sizes[i][0] for i in line]
            fills = [i for i in line if sizes[i][2]]
            total = sum(widths) + m.gap_x * (len(line) - 1)
            spare = width - ind - total
            if fills and spare > 0:
                for i in fills:
                    widths[line.index(i)] += spare // len(fills)
                spare = 0
            x = x0 + ind + {"left": 0, "center": max(spare, 0) // 2, "right": max(spare, 0)}[row.align]
            h = max(sizes[i][1] for i in line)
            for i, w in zip(line, widths):
                ih = sizes[i][1]
                top = y + (h - ih) // 2
                out.append(_widget(row.items[i], (x, top, x + w, top + ih), layer))
                x += w + m.gap_x
            y += h + (m.gap_y if k + 1 < len(lines) else 0)
    return out, y


def _widget(item: Item, rect: Rect, layer: str) -> Widget:
    state = {k: v for k, v in item.props.items() if k not in ("form", "pool")}
    if item.role == "list":
        state = {
            "items": list(item.props.get("items", [])),
            "top": 0,
            "selected": None,
            "rows": item.props.get("rows", 4),
        }
    elif item.role == "textbox":
        state = {"text": "", "placeholder": "", "password": False, "select_all": False, **state}
    elif item.role in ("checkbox", "radio"):
        state = {"checked": False, **state}
    return Widget(item.role, item.key, item.label, rect, layer, state, item.decoy)


def _drop_decoy(rows: list[Row]) -> bool:
    """Remove the last decoy (an item or a whole row); False when there is none."""
    for row in reversed(rows):
        if row.decoy:
            rows.remove(row)
            return True
        for item in reversed(row.items):
            if item.decoy:
                row.items.remove(item)
                return True
    return False


def _frame(spec: AppSpec, size: tuple[int, int], m: Metrics, keep: float = 1.0) -> Frame:
    """The window's parts; ``keep`` < 1 gives back part of what layout_shift and window_size took."""
    look = spec.look
    sw, sh = size
    frac = [1.0 - keep * (1.0 - f) for f in look.window_size]
    ww, wh = round(sw * frac[0]), round(sh * frac[1])
    wx, wy = round((sw - ww) * look.window_pos[0]), round((sh - wh) * look.window_pos[1])
    x1, y1 = wx + ww, wy + wh
    y = wy + m.title_h
    fr = Frame(size, (wx, wy, x1, y1), (wx, wy, x1, y), lead=round(keep * look.menubar_lead))
    banner, sidebar = round(keep * look.banner), round(keep * look.sidebar)
    if banner:
        fr.banner = (wx, y, x1, y + banner)
        y += banner
    if spec.menus:
        fr.menubar = (wx, y, x1, y + m.menubar_h)
        y += m.menubar_h
    if spec.toolbar:
        fr.toolbar = (wx, y, x1, y + m.toolbar_h)
        y += m.toolbar_h
    left = wx
    if sidebar:
        fr.sidebar = (wx, y, wx + sidebar, y1)
        left += sidebar
    cx0 = left + m.margin
    fr.content = (cx0, y + m.margin, min(cx0 + m.content_w, x1 - m.margin), y1 - m.margin)
    return fr


def _menus(spec: AppSpec, fr: Frame, m: Metrics) -> tuple[list[Widget], dict, dict]:
    bar: list[Widget] = []
    items: dict[str, list[Widget]] = {}
    drops: dict[str, Rect] = {}
    if fr.menubar is None:
        return bar, items, drops
    x = fr.menubar[0] + fr.lead + m.px(2)
    sw, sh = fr.screen
    texts = [text_width(menu.label, m.font) for menu in spec.menus]
    room = fr.menubar[2] - x - sum(texts)
    pad = max(1, min(m.pad, room // max(2 * len(texts), 1)))  # tighter menus when long labels crowd the bar
    for menu, tw in zip(spec.menus, texts):
        w = tw + 2 * pad
        title = Widget(
            "menu",
            menu.key,
            menu.label,
            (x, fr.menubar[1], x + w, fr.menubar[3]),
            "menubar",
            {"expanded": False},
            menu.decoy,
        )
        bar.append(title)
        x += w
        while True:
            dw = max([text_width(i.label, m.font) for i in menu.items] + [m.px(40)]) + 2 * m.pad + m.px(8)
            dx0 = min(title.rect[0], sw - dw)
            top = fr.menubar[3]
            rect = (dx0, top, dx0 + dw, top + len(menu.items) * m.item_h + 2)
            if rect[3] <= sh or not any(i.decoy for i in menu.items):
                break
            menu.items.remove(next(i for i in reversed(menu.items) if i.decoy))
        drops[menu.key] = rect
        items[menu.key] = [
            Widget(
                "menuitem",
                i.key,
                i.label,
                (dx0 + 1, top + 1 + k * m.item_h, dx0 + dw - 1, top + 1 + (k + 1) * m.item_h),
                f"menu:{menu.key}",
                {},
                i.decoy,
            )
            for k, i in enumerate(menu.items)
        ]
    return bar, items, drops


def _toolbar(spec: AppSpec, fr: Frame, m: Metrics) -> list[Widget]:
    if fr.toolbar is None:
        return []
    out = []
    x = fr.toolbar[0] + m.margin + (fr.sidebar[2] - fr.sidebar[0] if fr.sidebar else 0)
    size = m.icon + m.px(2)
    y = fr.toolbar[1] + (fr.toolbar[3] - fr.toolbar[1] - size) // 2
    for item in spec.toolbar:
        if x + size > fr.window[2] - m.margin and item.decoy:
            continue
        out.append(
            Widget(
                "icon",
                item.key,
                item.label,
                (x, y, x + size, y + size),
                "toolbar",
                {"glyph": item.props.get("glyph", "new")},
                item.decoy,
            )
        )
        x += size + m.px(3)
    return out


def _content(spec: AppSpec, fr: Frame, m: Metrics) -> list[Widget]:
    x0, y0, x1, y1 = fr.content
    bounds = (x0, y0, fr.window[2] - m.margin, y1)
    while True:
        out: list[Widget] = []
        y = y0
        if spec.pages:
            tabs = Row([p.tab for p in spec.pages], shuffle=False)
            tab_widgets, y = _place_rows([tabs], x0, y, x1 - x0, m, "tabs")
            for w in tab_widgets:
                w.state["selected"] = False
            out += tab_widgets
            y += m.gap_y + m.px(1)
            ends = []
            for page in spec.pages:
                ws, end = _place_rows(page.rows, x0, y, x1 - x0, m, f"page:{page.tab.key}", bounds[2] - x0)
                out += ws
                ends.append(end)
            y = max(ends) + m.gap_y
        main, _ = _place_rows(spec.main.rows, x0, y, x1 - x0, m, "main", bounds[2] - x0)
        out += main
        if all(_inside(w.rect, bounds) for w in out):
            return _align(out, bounds, spec.look.content_align)
        if not any(_drop_decoy(rows) for rows in [spec.main.rows, *(p.rows for p in spec.pages)]):
            return out


def _align(widgets: list[Widget], bounds: Rect, align: tuple[float, float]) -> list[Widget]:
    """Move the content block a fraction ``align`` of the way into its free space (0 = top left)."""
    if not widgets or align == (0.0, 0.0):
        return widgets
    dx = int(align[0] * (bounds[2] - max(w.rect[2] for w in widgets)))
    dy = int(align[1] * (bounds[3] - max(w.rect[3] for w in widgets)))
    for w in widgets:
        r = w.rect
        w.rect = (r[0] + dx, r[1] + dy, r[2] + dx, r[3] + dy)
    return widgets


def _dialog(name: str, panel: Panel, fr: Frame, m: Metrics) -> Dialog:
    sw, sh = fr.screen
    form_w = max(
        (
            text_width(i.label, m.font)
            for r in panel.rows
            for i in r.items
            if i.role == "label" and i.props.get("form")
        ),
        default=0,
    )
    while True:
        rows = [
            sum(_item_size(i, m, form_w)[0] for i in r.items) + m.gap_x * (len(r.items) - 1)
            for r in panel.rows
            if r.items and not r.columns
        ]
        natural = max(
            [w for w in rows if w <= sw - 2 - 2 * m.margin], default=0
        )  # rows meant to wrap excluded
        dw = min(max(m.px(panel.width), natural) + 2 * m.margin, sw - 2)
        inner = dw - 2 * m.margin
        ws, bottom = _place_rows(panel.rows, 0, 0, inner, m, f"dialog:{name}")
        dh = m.dialog_title_h + 2 * m.margin + bottom
        if dh <= sh - 2 or not _drop_decoy(panel.rows):
            break
    wx0, wy0, wx1, wy1 = fr.window
    cy0 = fr.title[3]
    x = (wx0 + wx1 - dw) // 2 + m.px(panel.offset[0])
    y = (cy0 + wy1 - dh) // 2 + m.px(panel.offset[1])
    x = min(max(x, 1), sw - dw - 1)
    y = min(max(y, 1), sh - dh - 1)
    ox, oy = x + m.margin, y + m.dialog_title_h + m.margin
    for w in ws:
        r = w.rect
        w.rect = (r[0] + ox, r[1] + oy, r[2] + ox, r[3] + oy)
    rect = (x, y, x + dw, y + dh)
    return Dialog(name, panel, rect, ws)


def _fits(lay: Layout) -> bool:
    """Every widget inside its window, dropdown or dialog, and those inside the screen."""
    screen = (0, 0, *lay.frame.screen)
    if not all(_inside(w.rect, lay.frame.window) for w in lay.widgets):
        return False
    if not all(_inside(r, screen) for r in lay.dropdowns.values()):
        return False
    return all(
        _inside(d.rect, screen) and all(_inside(w.rect, d.rect) for w in d.widgets)
        for d in lay.dialogs.values()
    )


def layout(spec: AppSpec, size: tuple[int, int]) -> Layout:
    """Place every widget of ``spec`` on a screen of ``size`` = (width, height).

    Like a responsive UI, the layout gives way when the content would not fit, as happens when several
    families at full severity combine: less zoom first, then less layout shift (see ``_attempts``).
    """
    for scale, keep in _attempts(spec.look.scale):
        m = Metrics(scale)
        fr = _frame(spec, size, m, keep)
        bar, menu_items, drops = _menus(spec, fr, m)
        widgets = bar + _toolbar(spec, fr, m) + _content(spec, fr, m)
        dialogs = {name: _dialog(name, panel, fr, m) for name, panel in spec.dialogs.items()}
        lay = Layout(fr, m, widgets, menu_items, drops, dialogs)
        if _fits(lay):
            break
    return lay


def _attempts(scale: float) -> list[tuple[float, float]]:
    """(scale, keep) to try in turn: the look as asked; then less zoom (not below 1); then less of the
    shift and shrink of the window; then a little below nominal size."""
    out = [(scale, 1.0)]
    while out[-1][0] * 0.95 >= 1.0:
        out.append((out[-1][0] * 0.95, 1.0))
    base = min(scale, 1.0)
    out += [(base, k) for k in (0.75, 0.5, 0.25, 0.0)]
    out += [(base * f, 0.0) for f in (0.95, 0.9, 0.85, 0.8)]
    return out
