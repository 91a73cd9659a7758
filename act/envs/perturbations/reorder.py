"""reorder: items move within their containers (button rows, form rows, menus, the menu bar, the
toolbar, list entries, tabs, dialog buttons). From severity 0.5 up every item of a container moves."""

from __future__ import annotations

import numpy as np

from act.envs.perturbations.common import displace
from act.envs.synthui.perturb import SynthUIPerturbation


def _permute(xs: list, severity: float, rng: np.random.Generator) -> int:
    perm = displace(len(xs), severity, rng)
    xs[:] = [xs[i] for i in perm]
    return sum(i != j for j, i in enumerate(perm))


def _pinned(item) -> bool:
    return bool(item.props.get("pin") or (item.role == "label" and item.props.get("form")))


def _permute_row(items: list, severity: float, rng: np.random.Generator) -> int:
    """Permute a row's items, leaving pinned ones (form labels) where they are."""
    slots = [i for i, it in enumerate(items) if not _pinned(it)]
    free = [items[i] for i in slots]
    moved = _permute(free, severity, rng)
    for i, it in zip(slots, free):
        items[i] = it
    return moved


class Family(SynthUIPerturbation):
    name = "reorder"
    order = 20

    def edit_spec(self, spec) -> None:
        s, rng = self.severity, self.rng
        moved = 0
        for row in spec.rows():
            if row.shuffle:
                moved += _permute_row(row.items, s, rng)
        for rows in [spec.main.rows, *(p.rows for p in spec.pages), *(d.rows for d in spec.dialogs.values())]:
            slots = [i for i, r in enumerate(rows) if r.movable]
            movable = [rows[i] for i in slots]
            moved += _permute(movable, s, rng)
            for i, r in zip(slots, movable):
                rows[i] = r
        for menu in spec.menus:
            moved += _permute(menu.items, s, rng)
        moved += _permute(spec.menus, s, rng)
        moved += _permute(spec.toolbar, s, rng)
        moved += _permute(spec.pages, s, rng)
        for item in spec.items():
            if item.role == "list" and item.props.get("reorder", True):
                moved += _permute(item.props["items"], s, rng)
        self.params = {"moved": moved}
