"""The abstract description of an app's UI, before layout.

A task samples an ``AppSpec`` from the episode seed; perturbation families then edit it (reorder rows
and items, relabel, add decoys, add dialogs) and the look (scale, theme, geometry) before
``layout`` turns it into widgets with pixel boxes. Keys are canonical and never change; labels are
what the screen shows.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from act.envs.synthui.style import Palette

ROLES = (
    "label",
    "button",
    "textbox",
    "checkbox",
    "radio",
    "slider",
    "list",
    "icon",
    "tab",
    "menu",
    "menuitem",
    "listitem",
    "dialog",
    "window",
    "banner",
)
INTERACTIVE = (
    "button",
    "textbox",
    "checkbox",
    "radio",
    "slider",
    "list",
    "icon",
    "tab",
    "menu",
    "menuitem",
    "listitem",
)


@dataclass
class Item:
    """One widget to place. ``width`` in nominal pixels; None sizes it from its label (text boxes,
    sliders and lists with no width fill the rest of their row)."""

    role: str
    key: str
    label: str = ""
    width: float | None = None
    props: dict[str, Any] = field(default_factory=dict)
    synonyms: tuple[str, ...] = ()
    decoy: bool = False


@dataclass
class Row:
    """A line of items; wraps when they do not fit. ``columns`` > 0 lays them out on a grid."""

    items: list[Item]
    align: str = "left"
    indent: float = 0.0
    columns: int = 0
    movable: bool = True  # reorder may move the row among its panel's rows
    shuffle: bool = True  # reorder may permute its items
    pool: list[Item] = field(default_factory=list)  # decoys the distractors family may add
    max_extra: int = 0
    decoy: bool = False
    space_before: float = 0.0
    wide: bool = False  # may use the window's full width, not just the content column


@dataclass
class Panel:
    """Rows of a window's content or of a dialog. ``kind``: task, popup or confirm (env-handled)."""

    rows: list[Row]
    title: str = ""
    width: float = 116
    default: str | None = None  # the button Enter presses (dialogs)
    cancel: str | None = None  # the button Escape presses (dialogs)
    kind: str = "task"
    pool: list[Row] = field(default_factory=list)  # decoy rows
    offset: tuple[float, float] = (0.0, 0.0)  # dialogs: shift from the centre, in nominal pixels


@dataclass
class Menu:
    key: str
    label: str
    items: list[Item]
    synonyms: tuple[str, ...] = ()
    pool: list[Item] = field(default_factory=list)
    decoy: bool = False


@dataclass
class Page:
    """One tab of a tabbed window: the tab header item and its rows."""

    tab: Item
    rows: list[Row]


@dataclass
class Look:
    """Everything about appearance and geometry that perturbations change, besides content."""

    palette: Palette = field(default_factory=Palette)
    scale: float = 1.0
    window_size: tuple[float, float] = (1.0, 1.0)  # fraction of the screen
    window_pos: tuple[float, float] = (0.0, 0.0)  # where the slack goes (0 = left/top, 1 = right/bottom)
    banner: int = 0  # px of an info banner between the title bar and the menu bar
    banner_text: str = ""
    sidebar: int = 0  # px of a side panel left of the content
    menubar_lead: int = 0  # px of an app icon before the first menu
    content_align: tuple[float, float] = (0.0, 0.0)  # where the content block sits in its free space


@dataclass
class AppSpec:
    title: str
    main: Panel
    menus: list[Menu] = field(default_factory=list)
    toolbar: list[Item] = field(default_factory=list)
    toolbar_pool: list[Item] = field(default_factory=list)
    pages: list[Page] = field(default_factory=list)
    dialogs: dict[str, Panel] = field(default_factory=dict)
    look: Look = field(default_factory=Look)

    def panels(self) -> Iterator[Panel]:
        yield self.main
        yield from self.dialogs.values()

    def rows(self) -> Iterator[Row]:
        """Every row: main content, tab pages and dialogs."""
        for page in self.pages:
            yield from page.rows
        for panel in self.panels():
            yield from panel.rows

    def items(self) -> Iterator[Item]:
        """Every item, menus and toolbar included."""
        for row in self.rows():
            yield from row.items
        for page in self.pages:
            yield page.tab
        for menu in self.menus:
            yield from menu.items
        yield from self.toolbar

    def labels(self) -> set[str]:
        out = {i.label for i in self.items() if i.label}
        return out | {m.label for m in self.menus}
