"""The guarantees the robustness study (slow: thousands of episodes) and DAgger rest on.

- the scripted expert succeeds on >= 99% of 200 seeds of every task, nominal and under every family
  at severity 1.0;
- the macro (the nominal expert's recorded coordinates and keys, replayed blind) succeeds on every
  nominal seed and on < 30% under layout_shift, reorder, scale and popup at severity >= 0.5;
- the expert acts from any state: after random wrong actions that leave the episode running, it
  completes the task (DAgger labels the states a policy reaches with it);
- the careful expert (slip 0, typo 0: DAgger's labeller) makes no slips, typos or detours.
"""

from __future__ import annotations

import numpy as np
import pytest

from act.envs.perturbations import FAMILIES
from act.envs.synthui import TASKS, Expert, SynthUIEnv, replay_macro, run_expert
from act.recording.schema import Action

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


TAKES_INPUT = {
    "button",
    "menu",
    "menuitem",
    "checkbox",
    "radio",
    "tab",
    "textbox",
    "slider",
    "listitem",
    "icon",
}
KEYS = ("escape", "tab", "enter", "backspace", "a", "z", "ctrl+a", "1")


def wrong_action(rng: np.random.Generator, info: dict) -> Action:
    """A random action a poor policy might take: on an element that takes input, a key, or anywhere."""
    elements = [e for e in info["elements"] if e["role"] in TAKES_INPUT | {"list"}]
    r = rng.random()
    if r < 0.6 and elements:
        e = elements[int(rng.integers(len(elements)))]
        x0, y0, x1, y1 = e["bbox"]
        x, y = float(rng.uniform(x0, x1)), float(rng.uniform(y0, y1))
        if e["role"] == "slider":
            return Action("drag", x, y, float(rng.uniform(x0, x1)), y)
        if e["role"] == "list":
            return Action("scroll", x, y, dy=float(rng.choice([-2, 2])))
        return Action("double_click" if rng.random() < 0.1 else "click", x, y)
    if r < 0.9:
        return Action("key", key=str(rng.choice(KEYS)))
    return Action("click", float(rng.uniform(0, 160)), float(rng.uniform(0, 120)))


@pytest.mark.parametrize("spec", [None, "extra_step:1.0"])  # extra_step: wrong commits await a No
@pytest.mark.parametrize("task", list(TASKS))
def test_expert_completes_the_task_from_states_wrong_actions_leave(task, spec):
    env = SynthUIEnv(task, perturbation=spec, headless=True)
    tried = 0
    for seed in range(60):
        rng = np.random.default_rng([seed, 1])
        _, info = env.reset(seed=seed)
        ended = False
        for _ in range(int(rng.integers(1, 6))):
            _, _, terminated, truncated, info = env.step(env.to_env_action(wrong_action(rng, info)))
            if terminated or truncated:
                ended = True
                break
        if ended:
            continue  # a wrong commit ended it: nothing left to recover
        state = {e["id"]: e["state"] for e in info["elements"]}
        for expert in (Expert(env), Expert(env, slip=0.0, typo=0.0)):
            _, info = env.reset(seed=seed)  # the same wrong actions again, for each expert
            rng = np.random.default_rng([seed, 1])
            for _ in range(int(rng.integers(1, 6))):
                _, _, _, _, info = env.step(env.to_env_action(wrong_action(rng, info)))
            assert {e["id"]: e["state"] for e in info["elements"]} == state
            while True:
                _, _, terminated, truncated, info = env.step(env.to_env_action(expert.act({}, info)))
                if terminated or truncated:
                    break
            assert info["success"], (task, spec, seed, expert.slip)
        tried += 1
    assert tried >= 3, f"{task}: the wrong actions ended too many episodes to test recovery"


FIELDS = {  # task -> its text fields' targets
    "Login": lambda t: {"user": t.user, "pass": t.password},
    "SearchSubmit": lambda t: {"search": t.query},
    "ExportReport": lambda t: {"export:name": t.file},
}


@pytest.mark.parametrize("task", list(TASKS))
def test_the_careful_expert_makes_no_slips_typos_or_detours(task):
    env = SynthUIEnv(task, headless=True)
    for seed in range(30):
        _, info = env.reset(seed=seed)
        expert = Expert(env, slip=0.0, typo=0.0)
        intents = []
        while True:
            action = expert.act({}, info)
            intents.append(action.intent)
            focus = info["focus"]
            _, _, terminated, truncated, info = env.step(env.to_env_action(action))
            if action.intent and action.intent.startswith("type ") and task in FIELDS:
                text = env.ui.widget(focus).state["text"]  # every letter typed is the right one
                assert FIELDS[task](env.task)[focus].startswith(text), (task, seed, text)
            if terminated or truncated:
                break
        assert info["success"] and info["off_target"] == 0, (task, seed)
        assert "correct the slider" not in intents, (task, seed)  # no slider dragged a step off
        assert "scroll up the list" not in intents, (task, seed)  # never scrolls past the item
        if task == "MenuItem":
            assert intents == [f"open the {env.task.menu_name} menu", "choose the menu item"], seed


def test_scroll_open_scrolls_a_page_at_a_time_wherever_the_item_hides():
    """How far ScrollOpen's expert scrolls depends on what the screen shows (the rows shown, the rows
    left), never on where the hidden item is: a policy cannot see that, and learnt an average."""
    from act.envs.expert_loop import ExpertSteps

    env = SynthUIEnv("ScrollOpen", headless=True)
    scrolls = pages_to_find = 0
    for seed in range(60):
        for _, action, _ in ExpertSteps(env, seed):
            if action.kind != "scroll":
                continue
            s = env.ui.widget("files").state
            rows, top, room = s["rows"], s["top"], len(s["items"]) - s["rows"] - s["top"]
            allowed = {-min(rows, room), -min(2 * rows, room), min(rows, top)}  # down, two pages (a slip), up
            assert action.dy in allowed, (seed, action.dy, rows, top, room)
            scrolls += 1
        pages_to_find += env.ui.widget("files").state["top"] > 0
    assert scrolls > 60 and pages_to_find == 60  # every item starts below the rows shown


def test_the_expert_clicks_a_list_row_on_its_name():
    """A row's name fills its left part; the expert aims there (as a person does), so the pointer's
    target is where the row's reading targets are. The click still counts for the whole row."""
    env = SynthUIEnv("ScrollOpen", headless=True)
    clicks = 0
    for seed in range(20):
        _, info = env.reset(seed=seed)
        expert = Expert(env, slip=0.0, typo=0.0)
        while True:
            rows = {tuple(e["bbox"]): e["text_bbox"] for e in info["elements"] if e["role"] == "listitem"}
            action = expert.act({}, info)
            if action.kind in ("click", "double_click") and action.target in rows:
                x0, y0, x1, y1 = rows[action.target]
                assert x0 <= action.x <= x1 and y0 <= action.y <= y1, (seed, action)
                clicks += 1
            _, _, terminated, truncated, info = env.step(env.to_env_action(action))
            if terminated or truncated:
                assert info["success"], seed
                break
    assert clicks >= 20
