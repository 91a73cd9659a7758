"""What the families of every backend share: the texts they show and the way they permute lists.

Not a family (the registry skips it): synthui's families and MiniWoB++'s draw the same banners,
pop-ups and permutations from here, so a family means the same on either backend.
"""

from __future__ import annotations

import numpy as np

BANNERS = ("Update available", "You are offline", "New version ready", "Sync paused", "Trial: 3 days left")
# pop-ups: their titles, messages and rows of buttons
TITLES = ("Tip of the day", "Update", "Notice", "Cookies", "Survey", "Reminder")
MESSAGES = ("A new version is out.", "We use cookies.", "Rate this app?", "Backup finished.", "Did you know?")
BUTTONS = (("OK",), ("Close",), ("Later", "OK"), ("Not now",), ("Dismiss",), ("Got it",))


def displace(n: int, severity: float, rng: np.random.Generator) -> list[int]:
    """A permutation of range(n) that moves a fraction min(1, 2 * severity) of the positions
    (at least two when severity > 0): the chosen positions are rotated along one random cycle."""
    order = list(range(n))
    if n < 2 or severity <= 0:
        return order
    m = max(2, int(round(min(1.0, 2.0 * severity) * n)))
    chosen = sorted(rng.choice(n, size=m, replace=False).tolist())
    cycle = rng.permutation(chosen).tolist()
    for a, b in zip(cycle, cycle[1:] + cycle[:1]):
        order[b] = a
    return order
