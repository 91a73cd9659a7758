"""latency: the UI updates some steps late: an action's effect waits 1 to 1 + 2 * severity steps
(with probability 0.7 * severity); later actions queue behind it, in order."""

from __future__ import annotations

from act.envs.synthui.perturb import SynthUIPerturbation


class Family(SynthUIPerturbation):
    name = "latency"
    order = 60
    extra_steps = 1.5
    sheet_frame = "last"

    def __init__(self, severity, rng):
        super().__init__(severity, rng)
        self.params = {"p": round(0.7 * self.severity, 4), "max_delay": 1 + int(round(2 * self.severity))}

    def delay(self, env) -> int:
        if self.severity <= 0 or self.rng.random() >= self.params["p"]:
            return 0
        return int(self.rng.integers(1, self.params["max_delay"] + 1))
