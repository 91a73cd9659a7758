"""MiniWoB++ backend: registration, observation, DOM experts, determinism, perturbations, browser
restarts, generation. Tests that need a browser skip (with the reason) only where Chromium or
chromedriver is missing."""

from __future__ import annotations

import time

import numpy as np
import pytest

import act.envs
from act.envs import miniwob
from act.envs.miniwob import INTENTS, SUPPORTED_FAMILIES, TASKS
from act.envs.miniwob.tasks import CORE_TASKS
from act.recording import Action
from act.spaces.action_space import ActionError

pytestmark = pytest.mark.miniwob
REASON = miniwob.available()
needs_browser = pytest.mark.skipif(REASON is not None, reason=f"MiniWoB++ cannot run here: {REASON}")


def run_expert(env, seed: int, expert=None) -> tuple[dict, list]:
    """One expert episode; (last info, actions)."""
    expert = expert or env.unwrapped.make_expert()
    obs, info = env.reset(seed=seed)
    actions = []
    while True:
        action = expert.act(obs, info)
        actions.append(action)
        obs, reward, terminated, truncated, info = env.step(env.unwrapped.to_env_action(action))
        assert reward == float(info["success"])
        if terminated or truncated:
            return info, actions


def _dead(pid: int) -> bool:
    """Gone, or a zombie (killed, waiting for a parent that may never reap it)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


# ---------------------------------------------------------------- no browser needed
def test_ids_are_registered_and_resolved():
    import gymnasium as gym

    for task in TASKS:
        assert miniwob.env_id(task) in gym.registry
        assert act.envs.env_id(task) == f"act-miniwob/{task}-v0"
        assert act.envs.env_id(f"miniwob/{task}-v0") == f"act-miniwob/{task}-v0"
    assert act.envs.env_id("miniwob/click-button-v1") == "miniwob/click-button-v1"  # the package's raw env
    assert act.envs.env_id("ClickButton") == "synthui/ClickButton-v0"
    assert len(TASKS) >= 10 and len(set(TASKS) & set(miniwob.ROBUSTNESS_TASKS)) >= 2


def test_unsupported_or_bad_perturbations_are_rejected():
    from act.envs.miniwob.perturb import check_spec

    assert [n for n, _ in check_spec(",".join(SUPPORTED_FAMILIES))] == list(SUPPORTED_FAMILIES)
    with pytest.raises(ValueError, match="relabel.*no MiniWoB"):
        check_spec("relabel:0.5")
    with pytest.raises(ValueError, match="outside"):
        check_spec("theme:1.5")
    with pytest.raises(ValueError, match="unknown perturbation family"):
        check_spec("colour:0.5")


def test_perturbation_draws_depend_only_on_seed_and_family():
    from act.envs.miniwob.perturb import build

    a = build("popup:1,theme:0.5", seed=3)
    b = build("theme:0.5,popup:1", seed=3)
    c = build("popup:1", seed=4)
    # Families apply in their order, not the spec's.
    assert [p.name for p in a] == [p.name for p in b] == ["theme", "popup"]
    assert a[1].params == b[1].params and a[1].params != c[0].params


def test_shape_descriptions_match_as_shapes_js_does():
    from act.envs.miniwob.expert import _matches

    big_red_circle = {"size": "large", "color": "red", "type": "shape", "name": "circle"}
    small_blue_q = {"size": "small", "color": "blue", "type": "letter", "name": "q"}
    assert _matches(big_red_circle, "large red circle") and _matches(big_red_circle, "shape")
    assert _matches(big_red_circle, "red item") and not _matches(big_red_circle, "small item")
    assert _matches(small_blue_q, "q") and _matches(small_blue_q, "small letter")
    assert not _matches(small_blue_q, "blue digit") and not _matches(small_blue_q, "red item")


# ---------------------------------------------------------------- with a browser
@needs_browser
def test_observation_action_and_info():
    env = act.envs.make("click-button")
    try:
        obs, info = env.reset(seed=1)
        assert obs["screen"].shape == (210, 160, 3) and obs["screen"].dtype == np.uint8
        assert obs["instruction"].startswith("Click on the") and obs["instruction"] == info["instruction"]
        assert set(obs) == {"screen", "instruction"}  # the DOM is only in info
        buttons = [e for e in info["elements"] if e["role"] == "button"]
        assert buttons and all(0 <= e["bbox"][0] < e["bbox"][2] <= 160 for e in buttons)
        assert obs["screen"][:40].mean(axis=(0, 1))[2] < 100  # MiniWoB's yellow instruction bar is drawn
        with pytest.raises(ActionError, match="point"):
            env.step({"kind": 2, "point": [1.5, 0.2]})
        # A click on empty space: nothing happens, the episode goes on, it counts as off target.
        obs, reward, terminated, truncated, info = env.step(
            env.unwrapped.to_env_action(Action("click", 150, 205))
        )
        assert (reward, terminated, info["off_target"]) == (0.0, False, 1)
    finally:
        env.close()


@needs_browser
@pytest.mark.parametrize("task", CORE_TASKS)
def test_expert_solves_task(task):
    env = act.envs.make(task)
    try:
        for seed in (0, 1):
            info, actions = run_expert(env, seed)
            assert info["success"] and info["raw_reward"] > 0, (task, seed, info["reason"])
            assert all(a.intent in INTENTS for a in actions)
    finally:
        env.close()


@needs_browser
@pytest.mark.parametrize("task", [t for t in TASKS if t not in CORE_TASKS])
def test_expert_solves_more_pix2act_tasks(task):
    """One seed each for the experts beyond the core set: the episode ends in MiniWoB's own success."""
    env = act.envs.make(task)
    try:
        info, actions = run_expert(env, 3)
        assert info["success"] and info["raw_reward"] > 0, (task, info["reason"])
        assert all(a.intent in INTENTS for a in actions)
        assert len(actions) <= TASKS[task]
    finally:
        env.close()


@needs_browser
@pytest.mark.slow
def test_expert_success_rate_at_least_95_percent():
    """The issue's bar: each expert succeeds on >= 95% of seeds (20 seeds per core task here; the other
    tasks' rates come from scripts/bench_miniwob_experts.py, recorded in docs/experiments.md)."""
    rates = {}
    for task in CORE_TASKS:
        env = act.envs.make(task)
        try:
            rates[task] = sum(run_expert(env, 100 + s)[0]["success"] for s in range(20)) / 20
        finally:
            env.close()
    print("expert success per task:", rates)
    assert all(r >= 0.95 for r in rates.values()), rates


@needs_browser
@pytest.mark.parametrize("perturbation", [None, "layout_shift:1,reorder:1,distractors:1,theme:0.5,popup:1"])
def test_same_seed_same_task(perturbation):
    env = act.envs.make("login-user", perturbation=perturbation)

    def snap(seed):
        obs, info = env.reset(seed=seed)
        boxes = [(e["role"], e["text"], e["bbox"]) for e in info["elements"]]
        return obs["screen"].copy(), obs["instruction"], boxes, env.unwrapped.perturbation_meta()

    try:
        first, other, again = snap(5), snap(6), snap(5)
    finally:
        env.close()
    assert np.array_equal(first[0], again[0]) and first[1:] == again[1:]
    assert first[1] != other[1]


@needs_browser
@pytest.mark.parametrize("family", SUPPORTED_FAMILIES)
def test_each_family_changes_the_page_and_the_expert_copes(family):
    task = "click-checkboxes"
    nominal = act.envs.make(task)
    perturbed = act.envs.make(task, perturbation=f"{family}:1")
    try:
        obs0, info0 = nominal.reset(seed=2)
        obs1, info1 = perturbed.reset(seed=2)
        meta = perturbed.unwrapped.perturbation_meta()
        assert meta["spec"] == f"{family}:1" and meta["families"][0]["params"]
        assert obs0["instruction"] == obs1["instruction"]  # same task instance, changed page
        assert np.abs(obs0["screen"].astype(int) - obs1["screen"]).sum() > 1000
        if family != "theme":  # theme changes colours only; every other family moves or adds elements
            assert [e["bbox"] for e in info0["elements"]] != [e["bbox"] for e in info1["elements"]]
        info, _ = run_expert(perturbed, 2)
        assert info["success"], (family, info["reason"])
    finally:
        nominal.close()
        perturbed.close()


@needs_browser
def test_popup_blocks_the_task_until_dismissed():
    env = act.envs.make("click-button", perturbation="popup:0.5")  # open at the start, no second one
    try:
        obs, info = env.reset(seed=3)
        assert info["popup"]
        label = obs["instruction"].split('"')[1]
        target = next(
            e for e in info["elements"] if e["role"] == "button" and e["text"] == label and not e["popup"]
        )
        assert not target["visible"]  # under the pop-up's shade
        x0, y0, x1, y1 = target["bbox"]
        obs, reward, terminated, _, info = env.step(
            env.unwrapped.to_env_action(Action("click", (x0 + x1) / 2, (y0 + y1) / 2))
        )
        assert not terminated and info["popup"]  # the click hit the shade, not the button
        obs, _, _, _, info = env.step(env.unwrapped.to_env_action(Action("key", key="escape")))
        assert not info["popup"]
    finally:
        env.close()


@needs_browser
def test_killed_browser_is_an_error_and_reset_restarts_it():
    from act.envs.miniwob import BrowserError

    env = act.envs.make("click-button")
    try:
        obs, info = env.reset(seed=1)
        expert = env.unwrapped.make_expert()
        browser = env.unwrapped.browser
        pids = browser.pids
        assert len(pids) >= 2  # chromedriver and Chromium
        browser.kill_processes()
        with pytest.raises(BrowserError):
            env.step(env.unwrapped.to_env_action(expert.act(obs, info)))
        deadline = time.monotonic() + 5
        while not all(_dead(p) for p in pids) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert all(_dead(p) for p in pids)
        info, _ = run_expert(env, 1)  # the next reset starts a new browser; the env works again
        assert info["success"] and info["browser_restarts"] == 1
        assert not set(browser.pids) & set(pids)
    finally:
        env.close()


@needs_browser
@pytest.mark.slow
def test_hung_browser_times_out_and_reset_restarts_it():
    from act.envs.miniwob import BrowserError
    from act.envs.miniwob.env import MiniWoBEnv

    env = MiniWoBEnv("click-button", timeout=2.0)
    try:
        obs, info = env.reset(seed=1)
        expert = env.make_expert()
        with pytest.raises(BrowserError, match="hung"):  # the page loops forever: every call times out
            env.browser.script("setTimeout(function () { while (true) {} }, 20); return 1;")
            time.sleep(0.2)
            env.step(env.to_env_action(expert.act(obs, info)))
        start = time.monotonic()
        info, _ = run_expert(env, 1, expert)
        assert info["success"] and info["browser_restarts"] == 1
        assert time.monotonic() - start < 30
    finally:
        env.close()


@needs_browser
def test_generate_writes_format_v1_recordings(tmp_path):
    from act.envs.miniwob.generate import generate
    from act.recording import find_episodes, read_episode, validate

    report = generate(
        ["click-tab", "enter-text"], episodes=2, perturbation="theme:0.5", out_dir=tmp_path, progress=False
    )
    assert {t: s["episodes"] for t, s in report["tasks"].items()} == {"click-tab": 2, "enter-text": 2}
    paths = find_episodes(tmp_path)
    assert len(paths) == 4 and (tmp_path / "generate.json").is_file()
    for path in paths:
        assert validate(path) == []
        ep = read_episode(path)
        assert ep.meta.source == "miniwob" and ep.meta.success and ep.meta.complete
        assert (ep.meta.screen.width, ep.meta.screen.height) == (160, 210)
        assert ep.meta.perturbation["spec"] == "theme:0.5" and ep.meta.extra["seed"] in (0, 1)
        actions = ep.actions()
        assert len(actions) == ep.meta.extra["steps"] and len(ep.frames) == len(actions) + 1
        assert all(a.intent in INTENTS and a.frame_index == i for i, a in enumerate(actions))
        assert ep.frame(0).shape == (210, 160, 3)
        if ep.meta.task == "enter-text":
            typed = "".join(a.key for a in actions if a.kind == "key" and a.intent == "type the text")
            assert typed and typed in ep.meta.instruction
    # Replaying a recording by its coordinates solves the same seed (the recording is faithful).
    from act.envs.synthui.macro import replay_macro

    env = act.envs.make("enter-text", perturbation="theme:0.5")
    try:
        assert replay_macro(env, tmp_path / "enter-text" / "ep_000000").success
    finally:
        env.close()


@needs_browser
def test_no_browser_outlives_shutdown():
    from act.envs.miniwob import shutdown_browsers

    env = act.envs.make("focus-text")
    env.reset(seed=0)
    pids = env.unwrapped.browser.pids
    env.close()  # back to the pool, still running
    assert not any(_dead(p) for p in pids[:1])
    shutdown_browsers()
    deadline = time.monotonic() + 5
    while not all(_dead(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert all(_dead(p) for p in pids)
