"""distractors: extra widgets the task does not need (more buttons, rows, menu items, toolbar icons,
look-alike list entries), up to what each container declares it can take."""

from __future__ import annotations

import copy

from act.envs.synthui.perturb import SynthUIPerturbation


class Family(SynthUIPerturbation):
    name = "distractors"
    order = 40

    def _take(self, pool: list, k: int) -> list:
        k = min(k, len(pool))
        if k <= 0:
            return []
        picks = self.rng.choice(len(pool), size=k, replace=False)
        out = [copy.deepcopy(pool[int(i)]) for i in picks]
        for x in out:
            x.decoy = True
        return out

    def _insert(self, xs: list, new: list) -> None:
        for x in new:
            xs.insert(int(self.rng.integers(0, len(xs) + 1)), x)

    def edit_spec(self, spec) -> None:
        s = self.severity
        added = 0
        if s <= 0:
            return
        for row in list(spec.rows()):
            new = self._take(row.pool, int(round(s * row.max_extra)))
            self._insert(row.items, new)
            added += len(new)
        for panel in [spec.main, *spec.dialogs.values()]:
            new = self._take(panel.pool, int(round(s * len(panel.pool))))
            for row in new:
                row.decoy = True
                at = len(panel.rows) - int(self.rng.integers(0, 2))  # last, or just above the last row
                panel.rows.insert(max(at, 0), row)
            added += len(new)
        for menu in spec.menus:
            new = self._take(menu.pool, int(round(s * 2)))
            self._insert(menu.items, new)
            added += len(new)
        new = self._take(spec.toolbar_pool, int(round(s * 3)))
        spec.toolbar.extend(new)
        added += len(new)
        for item in spec.items():
            pool = item.props.get("pool") if item.role == "list" else None
            if pool:
                k = min(int(round(s * 6)), len(pool))
                picks = [pool[int(i)] for i in self.rng.choice(len(pool), size=k, replace=False)]
                self._insert(item.props["items"], picks)
                added += k
        self.params = {"added": added}
