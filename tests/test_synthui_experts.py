"""The guarantees the robustness study rests on (slow: thousands of episodes).

- the scripted expert succeeds on >= 99% of 200 seeds of every task, nominal and under every family
  at severity 1.0;
- the macro (the nominal expert's recorded coordinates and keys, replayed blind) succeeds on every
  nominal seed and on < 30% under layout_shift, reorder, scale and popup at severity >= 0.5.
"""

from __future__ import annotations

import pytest

from act.envs.perturbations import FAMILIES
from act.envs.synthui import TASKS, SynthUIEnv, replay_macro, run_expert

CONDITIONS = [None] + [f"{f}:1.0" for f in FAMILIES]
MACRO_BREAKERS = ("layout_shift", "reorder", "scale", "popup")


@pytest.mark.slow
@pytest.mark.parametrize("task", list(TASKS))
def test_expert_succeeds_on_200_seeds_nominal_and_under_every_family(task):
    rates = {}
    for cond in CONDITIONS:
        env = SynthUIEnv(task, perturbation=cond, headless=True)  # the expert reads the element tree only
        rates[cond or "nominal"] = sum(run_expert(env, seed).success for seed in range(200)) / 200
    low = {c: r for c, r in rates.items() if r < 0.99}
    assert not low, f"{task}: expert success below 99%: {low}"


@pytest.mark.slow
@pytest.mark.parametrize("task", list(TASKS))
def test_expert_renders_under_every_family(task):
    """The same episodes with rendering on: every family draws without error."""
    for cond in CONDITIONS:
        env = SynthUIEnv(task, perturbation=cond)
        for seed in range(3):
            assert run_expert(env, seed).success


@pytest.mark.slow
@pytest.mark.parametrize("task", list(TASKS))
def test_macro_succeeds_nominal_and_breaks_under_perturbation(task):
    seeds = range(50)
    nominal = SynthUIEnv(task, headless=True)
    demos = {s: run_expert(nominal, s).actions for s in seeds}
    assert all(replay_macro(nominal, demos[s], s).success for s in seeds)
    rates = {}
    for fam in MACRO_BREAKERS:
        for sev in (0.5, 1.0):
            env = SynthUIEnv(task, perturbation=f"{fam}:{sev}", headless=True)
            rates[f"{fam}:{sev}"] = sum(replay_macro(env, demos[s], s).success for s in seeds) / len(seeds)
    high = {c: r for c, r in rates.items() if r >= 0.3}
    assert not high, f"{task}: the macro still succeeds too often: {high}"
