"""synthui: env contract, widgets, judges, experts (a few seeds), determinism and legibility."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import warnings

import gymnasium as gym
import numpy as np
import pytest

import act.envs
from act.envs.synthui import ENV_IDS, TASKS, SynthUIEnv, expert_for, intent_labels, run_expert
from act.envs.synthui.spec import AppSpec, Item, Menu, Panel, Row
from act.envs.synthui.style import BASE_FONT_PX, text_mask
from act.envs.synthui.ui import UI
from act.recording.schema import Action
from act.spaces.action_space import KIND_ID, ActionError, ActionSpace


def _centre(ui: UI, key: str) -> tuple[float, float]:
    r = ui.widget(key).rect
    return (r[0] + r[2]) / 2, (r[1] + r[3]) / 2


def _env_action(env, **kw) -> dict:
    a = {
        "kind": 0,
        "point": np.zeros(2, np.float32),
        "point2": np.zeros(2, np.float32),
        "key": 0,
        "scroll": np.zeros(2, np.float32),
    }
    a.update(kw)
    return a


# ------------------------------------------------------------------------ env contract
def test_registered_ids_and_make():
    assert len(TASKS) >= 8
    for env_id in ENV_IDS:
        assert env_id in gym.registry
    env = gym.make("synthui/ClickButton-v0", perturbation="theme:0.5")
    assert env.unwrapped.perturbation == [("theme", 0.5)]
    env2 = act.envs.make("Login", perturbation="layout_shift:0.8,theme:0.5")
    assert env2.unwrapped.task_name == "Login"
    with pytest.raises(ValueError, match="unknown perturbation family 'nope'"):
        act.envs.make("Login", perturbation="nope:0.5")
    with pytest.raises(ValueError, match="unknown synthui task"):
        SynthUIEnv("NoSuchTask")


def test_spaces_observation_and_info():
    env = SynthUIEnv("ExportReport")
    assert env.action_space["key"].n == ActionSpace().num_keys
    assert env.action_space["kind"].n == 8
    obs, info = env.reset(seed=3)
    assert set(obs) == {"screen", "instruction"}
    assert obs["screen"].shape == (120, 160, 3) and obs["screen"].dtype == np.uint8
    assert obs in env.observation_space
    assert info["task"] == "ExportReport" and info["success"] is False
    for e in info["elements"]:
        assert set(e) == {"id", "role", "name", "bbox", "text_bbox", "state"}
        x0, y0, x1, y1 = e["bbox"]
        assert 0 <= x0 < x1 <= 160 and 0 <= y0 < y1 <= 120
    roles = {e["role"] for e in info["elements"]}
    assert {"window", "menu", "icon", "label"} <= roles


@pytest.mark.parametrize("task", ["ScrollOpen", "TickCheckboxes", "ExportReport", "Login"])
def test_an_elements_text_box_is_where_its_name_is_drawn(task):
    """Reading targets paint a name over ``text_bbox``: there must be ink inside it, and a list row or
    a checkbox shows nothing right of it (a row's name fills a fifth of the row)."""
    env = SynthUIEnv(task)
    for seed in range(4):
        _, info = env.reset(seed=seed)
        frame = env.renderer.frame().astype(int)
        checked = 0
        for e in info["elements"]:
            box = e["text_bbox"]
            if box is None or e["role"] in ("window", "icon"):
                continue
            x0, y0, x1, y1 = (int(round(v)) for v in box)
            bx0, by0, bx1, by1 = e["bbox"]
            assert bx0 <= x0 < x1 <= bx1 and by0 <= y0 < y1 <= by1, (task, seed, e)
            inside = frame[y0:y1, x0:x1].reshape(-1, 3)
            assert len(np.unique(inside, axis=0)) > 2, (task, seed, e["role"], e["name"])  # text, not a fill
            if e["role"] in ("listitem", "checkbox", "radio"):
                right = frame[y0:y1, x1 + 1 : int(bx1)].reshape(-1, 3)
                assert len(np.unique(right, axis=0)) <= 1, (task, seed, e["role"], e["name"])
            checked += 1
        assert checked >= 3


@pytest.mark.parametrize("task", list(TASKS))
def test_check_env(task):
    from gymnasium.utils.env_checker import check_env

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the advice that Box(-10, 10) scroll is not normalised
        check_env(SynthUIEnv(task, render_mode="rgb_array"))
        check_env(SynthUIEnv(task, perturbation="reorder:1,popup:1"))


@pytest.mark.parametrize(
    "bad, field",
    [
        ({"kind": 99}, "kind"),
        ({"kind": KIND_ID["click"], "point": np.array([np.nan, 0.5])}, "point"),
        ({"kind": KIND_ID["click"], "point": np.array([1.5, 0.5])}, "point"),
        ({"kind": KIND_ID["drag"], "point": np.array([0.5, 0.5]), "point2": np.array([0.5, -0.2])}, "point2"),
        ({"kind": KIND_ID["key"], "key": 10_000}, "key"),
        (
            {"kind": KIND_ID["scroll"], "point": np.array([0.5, 0.5]), "scroll": np.array([0.0, np.inf])},
            "scroll",
        ),
    ],
)
def test_bad_action_raises_and_leaves_env_unchanged(bad, field):
    env = SynthUIEnv("SearchSubmit")
    obs, info = env.reset(seed=1)
    before = (obs["screen"].copy(), env.ui.version, env.steps, repr(info["elements"]))
    with pytest.raises(ActionError, match=field):
        env.step(_env_action(env, **bad))
    assert env.steps == before[2] and env.ui.version == before[1]
    assert np.array_equal(env._obs()["screen"], before[0]) and repr(env._info()["elements"]) == before[3]
    # still usable: the expert finishes the episode
    rollout = run_expert(env, 1)
    assert rollout.success


def test_step_after_end_and_before_reset():
    env = SynthUIEnv("ClickButton")
    with pytest.raises(RuntimeError, match="reset"):
        env.step(_env_action(env, kind=KIND_ID["wait"]))
    run_expert(env, 0)
    with pytest.raises(RuntimeError, match="over"):
        env.step(_env_action(env, kind=KIND_ID["wait"]))


def test_step_limit_truncates():
    env = SynthUIEnv("Login", max_steps=3)
    env.reset(seed=0)
    for _ in range(3):
        _, reward, terminated, truncated, info = env.step(_env_action(env, kind=KIND_ID["wait"]))
    assert truncated and not terminated and reward == 0.0 and not info["success"]


# --------------------------------------------------------------------------- widgets
def _form_ui() -> UI:
    spec = AppSpec(
        "Test",
        Panel(
            [
                Row([Item("textbox", "a", props={"text": "old"}), Item("textbox", "b")]),
                Row(
                    [
                        Item("checkbox", "cb", "Tick"),
                        Item("radio", "r1", "One", props={"group": "g", "checked": True}),
                        Item("radio", "r2", "Two", props={"group": "g"}),
                    ]
                ),
                Row([Item("slider", "sl", props={"value": 0, "min": 0, "max": 10, "step": 1})], wide=True),
                Row(
                    [Item("list", "ls", props={"items": [f"item{i}" for i in range(10)], "rows": 3})],
                    wide=True,
                ),
            ]
        ),
        menus=[
            Menu(
                "menu:File",
                "File",
                [Item("menuitem", "menu:File/New", "New"), Item("menuitem", "menu:File/Quit", "Quit")],
            )
        ],
        dialogs={
            "d": Panel([Row([Item("button", "d:ok", "OK")])], title="Dialog", default="d:ok", cancel="d:ok")
        },
    )
    return UI(spec, (160, 120))


def test_textbox_focus_typing_select_all_and_tab():
    ui = _form_ui()
    ui.key("x")
    assert ui.widget("a").state["text"] == "old"  # nothing focused: keys go nowhere
    ui.click(*_centre(ui, "a"))
    assert ui.focus == "a"
    for k in ("backspace", "s", "space", "!"):
        ui.key(k)
    assert ui.widget("a").state["text"] == "ols !"
    ui.key("ctrl+a")
    ui.key("z")
    assert ui.widget("a").state["text"] == "z"
    ui.key("tab")
    assert ui.focus == "b"
    ui.key("shift+tab")
    assert ui.focus == "a" and ui.widget("a").state["select_all"]  # tabbing in selects the text
    ui.key("backspace")
    assert ui.widget("a").state["text"] == ""
    ui.key("enter")
    assert [(c.kind, c.key) for c in ui.commands][-1] == ("submit", "a")


def test_checkbox_radio_slider_list():
    ui = _form_ui()
    ui.click(*_centre(ui, "cb"))
    assert ui.widget("cb").state["checked"]
    ui.click(*_centre(ui, "cb"))
    assert not ui.widget("cb").state["checked"]
    ui.click(*_centre(ui, "r2"))
    assert ui.widget("r2").state["checked"] and not ui.widget("r1").state["checked"]
    sl = ui.widget("sl")
    tx0, tx1, yc = ui.track(sl)
    thumb = ui.thumb_rect(sl)
    ui.drag((thumb[0] + thumb[2]) / 2, yc, tx0 + 0.7 * (tx1 - tx0), yc)
    assert sl.state["value"] == 7
    ui.drag(tx0 - 30, yc, tx1, yc)  # a drag that does not start on the slider does nothing
    assert sl.state["value"] == 7
    ui.click(tx1 - 0.1, yc)  # a click on the track jumps there
    assert sl.state["value"] == 10
    ls = ui.widget("ls")
    x, y = _centre(ui, "ls")
    ui.scroll(x, y, 0, -4)  # wheel down: later items
    assert ls.state["top"] == 4
    ui.scroll(x, y, 0, -40)
    assert ls.state["top"] == 7  # clamped at the end
    ui.scroll(x, y, 0, 2)
    assert ls.state["top"] == 5
    rows = [e for e in ui.elements() if e["role"] == "listitem"]
    assert [e["name"] for e in rows] == ["item5", "item6", "item7"]
    ui.commands.clear()
    r = rows[1]["bbox"]
    ui.click((r[0] + r[2]) / 2, (r[1] + r[3]) / 2, double=True)
    assert ls.state["selected"] == 6
    assert ("open", "ls", 6) in [(c.kind, c.key, c.value) for c in ui.commands]


def test_a_slider_prints_its_range_so_a_value_has_one_place_to_go():
    from act.envs.synthui.render import Renderer

    def slider(value: int, hi: int):
        props = {"value": value, "min": 0, "max": hi, "step": 1}
        spec = AppSpec("Test", Panel([Row([Item("slider", "sl", props=props)], wide=True)]))
        ui = UI(spec, (160, 120))
        return ui, ui.widget("sl"), Renderer(ui).frame()

    ui10, sl10, frame10 = slider(5, 10)
    ui100, sl100, frame100 = slider(50, 100)
    (tx0, tx1, yc), x1 = ui10.track(sl10), sl10.rect[2]
    # left of the track: "0" on both; right of it: "10" against "100" (the value readout differs too)
    left = slice(sl10.rect[0], tx0 - 3)
    rows = slice(yc - 5, yc + 5)
    assert (frame10[rows, left] < 200).any() and np.array_equal(frame10[rows, left], frame100[rows, left])
    lo, hi = frame10[rows, tx1 + 4 : x1], frame100[rows, ui100.track(sl100)[1] + 4 : x1]
    assert (lo < 200).any() and (hi < 200).sum() > (lo < 200).sum()  # "100" and "50" over "10" and "5"


def test_menus_and_modal_dialogs():
    ui = _form_ui()
    ui.click(*_centre(ui, "menu:File"))
    assert ui.open_menu == "menu:File"
    assert any(e["id"] == "menu:File/New" for e in ui.elements())
    ui.click(2, 118)  # anywhere else closes the menu and does nothing more
    assert ui.open_menu is None
    ui.click(*_centre(ui, "menu:File"))
    ui.commands.clear()
    ui.click(*_centre(ui, "menu:File/Quit"))
    assert [(c.kind, c.key) for c in ui.commands] == [("menu", "menu:File/Quit")] and ui.open_menu is None
    ui.click(*_centre(ui, "a"))
    ui.open_dialog("d")
    assert ui.focus is None
    ui.click(*_centre(ui, "cb"))  # a modal dialog takes all input
    assert not ui.widget("cb").state["checked"]
    ui.commands.clear()
    ui.key("escape")
    assert [(c.kind, c.key) for c in ui.commands] == [("button", "d:ok")]
    ui.close_dialog("d")
    assert ui.focus == "a"  # focus comes back


# ---------------------------------------------------------------------------- judges
def test_wrong_button_ends_the_episode():
    env = SynthUIEnv("ClickButton")
    _, info = env.reset(seed=4)
    wrong = next(e for e in info["elements"] if e["role"] == "button" and e["id"] != env.task.target)
    x0, y0, x1, y1 = wrong["bbox"]
    _, reward, terminated, _, info = env.step(
        env.to_env_action(Action("click", (x0 + x1) / 2, (y0 + y1) / 2))
    )
    assert terminated and reward == 0.0 and info["failure"] and not info["success"]


def test_submitting_wrong_query_fails_and_right_query_succeeds():
    env = SynthUIEnv("SearchSubmit")
    for seed, text, ok in ((0, None, True), (0, "zzz", False)):
        _, info = env.reset(seed=seed)
        field = env.ui.widget("search")
        x0, y0, x1, y1 = field.rect
        env.step(env.to_env_action(Action("click", (x0 + x1) / 2, (y0 + y1) / 2)))
        env.step(env.to_env_action(Action("key", key="ctrl+a")))
        for ch in text or env.task.query:
            env.step(env.to_env_action(Action("key", key=ch)))
        _, reward, terminated, _, info = env.step(env.to_env_action(Action("key", key="enter")))
        assert terminated and info["success"] is ok and reward == float(ok)


# ---------------------------------------------------------------------------- experts
@pytest.mark.parametrize("task", list(TASKS))
def test_expert_succeeds_and_labels_intents(task):
    env = act.envs.make(task)
    labels = set(intent_labels())
    trajectories = set()
    for seed in range(8):
        rollout = run_expert(env, seed)
        assert rollout.success, (task, seed)
        assert all(a.intent in labels for a in rollout.actions)
        trajectories.add(tuple((a.kind, a.intent) for a in rollout.actions))
    assert len(trajectories) > (1 if task == "ClickButton" else 3)  # not one trajectory repeated


def test_intent_label_set_is_small():
    labels = intent_labels()
    assert 10 < len(labels) < 200 and len(labels) == len(set(labels))


def test_expert_varies_points_and_instructions():
    env = SynthUIEnv("ClickButton", headless=True)
    instructions, points = set(), set()
    for seed in range(40):
        rollout = run_expert(env, seed)
        instructions.add(rollout.info["instruction"].split()[0])
        points.add((round(rollout.actions[0].x), round(rollout.actions[0].y)))
    assert len(instructions) >= 4 and len(points) >= 30
    slips = sum(run_expert(env, s).info["off_target"] > 0 for s in range(200))
    assert 1 <= slips <= 40  # occasional slips (a click beside the target), then corrected


def test_expert_for_wrapped_env_and_generic_dispatch():
    env = gym.make("synthui/TickCheckboxes-v0")
    assert isinstance(act.envs.expert_for(env), type(expert_for(env)))
    assert run_expert(env, 2).success


# ---------------------------------------------------------------------- determinism
def _frames(task: str, seed: int, perturbation: str | None = None) -> list[np.ndarray]:
    env = SynthUIEnv(task, perturbation=perturbation)
    frames: list[np.ndarray] = []
    rollout = run_expert(env, seed, on_step=lambda obs, info, a: frames.append(obs["screen"]))
    frames.append(env._obs()["screen"])
    assert rollout.success
    return frames


@pytest.mark.parametrize("task", ["MenuItem", "ExportReport", "TickCheckboxes"])
def test_same_seed_same_frames(task):
    for pert in (None, "theme:0.7,layout_shift:0.5,popup:1,action_noise:1"):
        a, b = _frames(task, 5, pert), _frames(task, 5, pert)
        assert len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not np.array_equal(_frames(task, 5)[0], _frames(task, 6)[0])


def _digest(task: str, seed: int) -> str:
    h = hashlib.sha256()
    for f in _frames(task, seed, "reorder:0.5,relabel:1"):
        h.update(f.tobytes())
    return h.hexdigest()


@pytest.mark.slow
def test_frames_do_not_depend_on_the_process():
    code = "from tests.test_synthui import _digest; print(_digest('ExportReport', 11))"
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        cwd=os.path.dirname(os.path.dirname(__file__)),
    )
    assert out.stdout.strip() == _digest("ExportReport", 11)


def test_observation_is_a_fresh_array():
    env = SynthUIEnv("Login")
    obs1, _ = env.reset(seed=0)
    obs2, *_ = env.step(_env_action(env, kind=KIND_ID["wait"]))
    assert np.array_equal(obs1["screen"], obs2["screen"]) and obs1["screen"] is not obs2["screen"]
    obs2["screen"][:] = 0
    assert env._obs()["screen"].any()


# ----------------------------------------------------------------------- legibility
def test_glyphs_are_at_least_seven_pixels_tall():
    mask = np.asarray(text_mask("H", BASE_FONT_PX))
    rows = np.nonzero(mask.max(axis=1) > 64)[0]
    assert rows[-1] - rows[0] + 1 >= 7


def test_text_is_drawn_where_the_element_tree_says():
    env = SynthUIEnv("ClickButton")
    obs, info = env.reset(seed=2)
    screen = obs["screen"].astype(int)
    for e in info["elements"]:
        if e["role"] == "button":
            x0, y0, x1, y1 = e["bbox"]
            inner = screen[y0 + 2 : y1 - 2, x0 + 2 : x1 - 2]
            assert (inner.sum(axis=2) < 200).sum() >= 8, e["name"]  # dark text pixels on the button


def test_font_dir_override_must_hold_the_fonts(tmp_path, monkeypatch):
    from act.envs.synthui.style import font_dir

    default = font_dir()
    monkeypatch.setenv("ACT_FONT_DIR", str(default))
    assert font_dir() == default
    monkeypatch.setenv("ACT_FONT_DIR", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="ACT_FONT_DIR"):
        font_dir()
