"""The desktop envs on a real X server: a Tk app per task under its own Xvfb, driven by xdotool.

The expert solves every task (the app judges), the element snapshot names the widgets with boxes in
the window, an expert episode recorded by act-record reads back with its clicks, typed keys and
element snapshots, a display that vanishes mid-episode keeps what was recorded, and an app that
cannot start says why. The elements.jsonl tests (format 1.1) need no X server.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
import time
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import act
import act.envs  # noqa: F401 - registers desktop/<Task>-v0
from act.envs.desktop import ENV_IDS, TASKS, expert_for
from act.envs.desktop.env import DesktopEnv, DesktopError, Xvfb
from act.envs.desktop.record import record_expert
from act.recording import Action, EpisodeMeta, EpisodeWriter, Event, Screen, read_episode, validate
from act.recording.schema import ElementSnapshot
from tests.conftest import train_tiny

MISSING = [tool for tool in ("Xvfb", "xdotool") if shutil.which(tool) is None]
NO_X = f"{' and '.join(MISSING)} not found (apt-get install xvfb xdotool)" if MISSING else None
if not NO_X and not all(importlib.util.find_spec(m) for m in ("tkinter", "mss")):
    NO_X = "tkinter or mss is missing (pip install 'act[record]')"


def needs_x(test):
    """An X server test: marked xvfb and slow, skipped without Xvfb, xdotool, tkinter or mss."""
    return pytest.mark.xvfb(pytest.mark.slow(pytest.mark.skipif(NO_X is not None, reason=str(NO_X))(test)))


# widgets each task shows at the start: id -> role
START_WIDGETS = {
    "login": {"username": "textbox", "password": "textbox", "sign_in": "button"},
    "settings": {"tab:general": "tab", "tab:privacy": "tab", "check:tips": "checkbox", "apply": "button"},
    "search": {"query": "textbox", "search": "button", "submit": "button"},
    "export": {"menu:file": "menu", "menu:edit": "menu"},
}


def inside(box, window) -> bool:
    return window[0] <= box[0] < box[2] <= window[2] and window[1] <= box[1] < box[3] <= window[3]


def run_expert(env, seed: int):
    expert = expert_for(env)
    obs, info = env.reset(seed=seed)
    seen = [info]
    done = False
    while not done:
        obs, reward, terminated, truncated, info = env.step(env.to_env_action(expert.act(obs, info)))
        seen.append(info)
        done = terminated or truncated
    return obs, reward, info, seen


def test_the_tasks_are_registered():
    assert set(ENV_IDS) <= set(gym.registry)
    assert gym.spec("desktop/Login-v0").entry_point == "act.envs.desktop.env:DesktopEnv"


@needs_x
@pytest.mark.parametrize("task", list(TASKS.values()))
def test_the_expert_solves_each_task_in_the_real_app(task):
    env = DesktopEnv(task)  # its own Xvfb
    try:
        obs, reward, info, seen = run_expert(env, seed=5)
        start = seen[0]
        assert info["error"] is None, info["error"]
        assert info["success"] and reward == 1.0, (info["reason"], info["state"])
        assert info["instruction"] == start["instruction"] and len(info["instruction"]) > 10
        assert obs["screen"].shape == (480, 640, 3) and obs["screen"].dtype == np.uint8
        # the snapshot names the widgets, with boxes inside the window, at every step
        roles = {e["id"]: e["role"] for e in start["elements"]}
        assert {k: roles.get(k) for k in START_WIDGETS[task]} == START_WIDGETS[task]
        for snap in seen:
            for e in snap["elements"]:
                assert inside(e["box"], snap["window"]), (e, snap["window"])
        # the widgets are on the screen the env observes: no element box is a flat patch
        for e in start["elements"]:
            if e["role"] in ("button", "textbox"):
                x0, y0, x1, y1 = e["box"]
                assert obs["screen"][y0:y1, x0:x1].std() > 0, e
    finally:
        env.close()


def ink_columns(screen, box):
    """x of the columns inside ``box`` (less a 3 px frame) where text is drawn: dark pixels."""
    x0, y0, x1, y1 = (int(v) for v in box)
    dark = (screen[y0 + 3 : y1 - 3, x0 + 3 : x1 - 3].mean(-1) < 90).any(0)
    return np.nonzero(dark)[0] + x0 + 3


@needs_x
@pytest.mark.parametrize("task", ["login", "settings", "search", "export"])
def test_the_snapshot_says_where_each_label_is_drawn(task):
    """Reading targets paint a label where ``text_box`` says: ink there, and a centred label's ink
    nowhere else in its widget; a text field's label is the caption left of it."""
    env = DesktopEnv(task)
    try:
        obs, info = env.reset(seed=3)
        screen, checked = obs["screen"], 0
        for e in info["elements"]:
            box, tb = e["box"], e.get("text_box")
            if e["role"] == "window":
                continue
            assert tb is not None and len(
                ink_columns(screen, [tb[0] - 3, tb[1] - 3, tb[2] + 3, tb[3] + 3])
            ), e
            checked += 1
            if e["role"] == "textbox":  # the caption beside the field, on its line
                assert tb[2] <= box[0] and box[1] <= (tb[1] + tb[3]) / 2 <= box[3], e
                continue
            assert inside(tb, box), e
            ink = ink_columns(screen, box)
            if e["role"] in ("checkbox", "radio"):  # the indicator is drawn left of the label
                ink = ink[ink >= tb[0] - 2]
            assert tb[0] - 2 <= ink.min() and ink.max() <= tb[2] + 2, (e, ink.min(), ink.max())
        assert checked >= 2  # each task starts with two labelled widgets or more
    finally:
        env.close()


@needs_x
def test_in_the_export_dialog_the_title_is_drawn_nowhere_and_the_field_has_its_caption():
    env = DesktopEnv("export")
    try:
        expert = expert_for(env)
        obs, info = env.reset(seed=3)
        for _ in range(6):  # File, Export...: the dialog opens within a few steps
            if any(e["role"] == "dialog" for e in info["elements"]):
                break
            obs, *_, info = env.step(env.to_env_action(expert.act(obs, info)))
        els = {e["id"]: e for e in info["elements"]}
        assert els["dialog:export"]["text_box"] is None
        field, caption = els["filename"]["box"], els["filename"]["text_box"]
        assert caption[2] <= field[0] and inside(caption, els["dialog:export"]["box"])
        assert len(ink_columns(obs["screen"], caption)) > 10  # "File name" is drawn there
        # the pre-filled "untitled.txt" is drawn where value_box says, and nowhere else in the field
        value = els["filename"]["value_box"]
        assert els["filename"]["value"] == "untitled.txt" and inside(value, field)
        ink = ink_columns(obs["screen"], field)
        assert value[0] - 2 <= ink.min() and ink.max() <= value[2] + 2, (value, ink.min(), ink.max())
        assert ink.max() - ink.min() > 0.8 * (value[2] - value[0])
    finally:
        env.close()


@needs_x
def test_snapshot_focus_values_and_a_wrong_submit():
    env = gym.make("desktop/Login-v0").unwrapped  # through the registry
    try:
        obs, info = env.reset(seed=2)
        els = {e["id"]: e for e in info["elements"]}
        assert els["username"]["label"] == "Username" and els["sign_in"]["label"] == "Sign in"
        assert info["focus"] is None and not els["username"]["focused"]
        x0, y0, x1, y1 = els["username"]["box"]
        click = {"kind": 2, "point": np.array([(x0 + x1) / 2 / 640, (y0 + y1) / 2 / 480])}
        obs, *_, info = env.step(click)
        assert info["focus"] == "username" and {e["id"]: e for e in info["elements"]}["username"]["focused"]
        key = env.to_env_action(Action("key", key="Q"))
        obs, *_, info = env.step(key)
        assert info["state"]["values"]["username"] == "Q"
        env.step(env.to_env_action(expert_for(env).act(obs, info)))  # backspace: Q is wrong
        assert env.info()["state"]["values"]["username"] == ""
        # pressing Sign in with wrong credentials: the app says failure, the episode ends
        x0, y0, x1, y1 = els["sign_in"]["box"]
        obs, reward, terminated, _, info = env.step(
            {"kind": 2, "point": np.array([(x0 + x1) / 2 / 640, (y0 + y1) / 2 / 480])}
        )
        assert terminated and reward == 0.0 and info["failure"] and "wrong" in info["reason"]
        with pytest.raises(RuntimeError, match="episode is over"):
            env.step(key)
        # a new episode is a new app: fresh fields, the same seed gives the same instruction
        _, again = env.reset(seed=2)
        assert again["state"]["values"] == {"username": "", "password": ""}
        assert again["instruction"] == info["instruction"]
    finally:
        env.close()


@needs_x
def test_an_expert_episode_recorded_by_act_record(tmp_path):
    rec = record_expert("Login", seed=4, out=tmp_path)
    assert rec.error is None and rec.success and rec.path is not None
    assert validate(rec.path) == []
    ep = read_episode(rec.path)
    assert ep.meta.complete and ep.meta.success is True and ep.meta.source == "desktop"
    assert ep.meta.task == "desktop/Login" and ep.meta.instruction.startswith("Sign in as ")
    assert ep.meta.extra["desktop"]["seed"] == 4 and ep.meta.extra["recorder"]["fps"] == 5.0
    actions = [a for a in ep.actions() if a.kind != "wait"]
    user, password = ep.meta.instruction.removeprefix("Sign in as ").split(" with the password ")
    assert [a.kind for a in actions] == [
        "click",
        *["key"] * len(user),
        "click",
        *["key"] * len(password),
        "click",
    ]
    assert "".join(a.key for a in actions if a.kind == "key") == user + password
    # the app's element snapshots came along (format 1.1): in window pixels and recording seconds;
    # every recorded click landed on the widget aimed at, per the snapshot in force at the click,
    # and the snapshot after a click has that widget focused
    assert len(ep.elements) >= 3 and ep.elements[0].t == 0.0 and ep.elements[0].window == (0, 0, 640, 480)
    clicks = [a for a in actions if a.kind == "click"]
    for a, target in zip(clicks, ["username", "password", "sign_in"]):
        boxes = {e["id"]: e["box"] for e in ep.elements_at(a.t).elements}
        assert inside((a.x, a.y, a.x + 1, a.y + 1), boxes[target])
    for a, target in zip(clicks[:2], ["username", "password"]):
        after = next(s for s in ep.elements if s.t > a.t)
        assert after.focus == target
    assert ep.elements_at(clicks[0].t).focus is None  # the snapshot before the first click: no focus
    # where labels are drawn, moved to window pixels with the boxes: a field's caption left of it
    first = {e["id"]: e for e in ep.elements[0].elements}
    assert first["username"]["text_box"][2] <= first["username"]["box"][0]
    assert inside(first["sign_in"]["text_box"], first["sign_in"]["box"])
    assert ep.frame(actions[0].frame_index).shape == (480, 640, 3)


class Sabotaging:
    """The env's expert, which runs ``sabotage()`` before choosing its ``step``-th action."""

    def __init__(self, env, step: int, sabotage):
        self.inner, self.step, self.sabotage, self.steps = expert_for(env), step, sabotage, 0

    def act(self, obs, info):
        self.steps += 1
        if self.steps == self.step:
            self.sabotage()
        return self.inner.act(obs, info)


@needs_x
def test_a_display_that_vanishes_mid_episode_keeps_the_recording(tmp_path):
    env = DesktopEnv("login")

    def kill_the_display():
        env.xvfb.proc.kill()
        env.xvfb.proc.wait()

    try:  # at the 4th step: after a click and two keys
        rec = record_expert(env, seed=1, out=tmp_path, expert=Sabotaging(env, 4, kill_the_display))
    finally:
        env.close()
    assert not rec.success and rec.steps == 4
    assert "xdotool" in rec.error and "act-record exited" in rec.error
    assert validate(rec.path) == []
    ep = read_episode(rec.path)
    assert not ep.meta.complete and ep.meta.success is None
    assert ep.meta.extra["desktop"]["error"] == rec.error
    assert [a.kind for a in ep.actions() if a.kind != "wait"] == ["click", "key", "key"]


@needs_x
def test_a_recorder_killed_mid_episode_is_an_error_set_aside_with_what_it_wrote(tmp_path, monkeypatch):
    """kill -9 of act-record while act-generate env=desktop records: that episode is marked with the
    error and moved aside (readable, incomplete), the next seed is recorded, earlier ones stay."""
    import subprocess as sp

    from act.envs.desktop import record as record_module

    out = tmp_path / "recs"
    real = record_module.record_expert
    calls = {"n": 0}

    def record_and_kill_the_second(env, seed, task_dir, **kwargs):
        calls["n"] += 1
        if calls["n"] != 2:
            return real(env, seed, task_dir, **kwargs)

        def kill_the_recorder():
            sp.run(["pkill", "-9", "-f", f"act.cli.record --out {task_dir}"], check=False)
            time.sleep(0.5)

        # at the 3rd step: after a click and a key
        return real(env, seed, task_dir, expert=Sabotaging(env, 3, kill_the_recorder), **kwargs)

    monkeypatch.setattr(record_module, "record_expert", record_and_kill_the_second)
    report = record_module.record_experts(["Login"], episodes=2, out_dir=out, progress=False)
    login = report["tasks"]["Login"]
    assert login["episodes"] == 2 and len(login["failed"]) == 1 and login["expert_success"] == 2 / 3
    failed = login["failed"][0]
    assert failed["seed"] == 1 and "act-record exited with status -9" in failed["error"]
    aside = Path(failed["path"])
    assert aside.parent == tmp_path / "recs.failed" / "Login"
    assert validate(aside) == []  # everything written before the kill reads back
    ep = read_episode(aside)
    assert not ep.meta.complete and ep.meta.success is None
    assert [a.kind for a in ep.actions() if a.kind != "wait"][:2] == ["click", "key"]
    kept = sorted(p.name for p in (out / "Login").iterdir())
    assert len(kept) == 2
    assert sorted(read_episode(out / "Login" / k).meta.extra["desktop"]["seed"] for k in kept) == [0, 2]


@needs_x
def test_an_app_that_cannot_start_says_which_command_and_why():
    env = DesktopEnv("login", command=[sys.executable, "-c", "import sys; sys.exit('tk is broken here')"])
    try:
        with pytest.raises(DesktopError, match="did not start") as e:
            env.reset(seed=0)
        assert "tk is broken here" in str(e.value) and "--task login --seed 0" in str(e.value)
        assert "exited with status 1" in str(e.value)
    finally:
        env.close()
    with pytest.raises(ValueError, match="unknown desktop task 'paint'"):
        DesktopEnv("paint")


@needs_x
def test_an_existing_display_and_a_window_away_from_the_corner():
    """``display=`` uses a running X server; boxes are screen pixels, actions relative to the window."""
    xvfb = Xvfb(900, 700)
    env = DesktopEnv("settings", display=xvfb.display, position=(120, 90))
    try:
        assert env.xvfb is None and env.display == xvfb.display
        obs, reward, info, seen = run_expert(env, seed=8)
        assert info["success"] and reward == 1.0, (info["reason"], info["error"])
        assert seen[0]["window"] == [120, 90, 760, 570]
        assert all(e["box"][0] >= 120 and e["box"][1] >= 90 for e in seen[0]["elements"])
        tab = next(e for e in info["elements"] if e["id"] == "tab:general")
        x0, y0, x1, y1 = (v - o for v, o in zip(tab["box"], (120, 90, 120, 90)))
        assert obs["screen"][y0:y1, x0:x1].std() > 0  # the grab is of the window, not the corner
    finally:
        env.close()
        xvfb.stop()


# ---------------------------------------------------------------------- elements.jsonl (format 1.1)


def write_episode(path, snapshots=()):
    w = EpisodeWriter(path, EpisodeMeta("e1", "desktop", "T", "do it", Screen(64, 48)))
    w.add_frame(np.zeros((48, 64, 3), np.uint8), 0.0)
    w.add_event(Event(t=0.1, type="mouse_down", x=5, y=5, button="left"))
    w.add_event(Event(t=0.2, type="mouse_up", x=5, y=5, button="left"))
    button = {"id": "ok", "role": "button", "label": "OK", "box": [1, 2, 30, 20]}
    for t, focus in snapshots:
        w.add_elements(ElementSnapshot(t, (button,), focus))
    w.finish(success=True)
    return path


def test_element_snapshots_round_trip_and_older_episodes_load(tmp_path):
    old = read_episode(write_episode(tmp_path / "old"))
    assert old.elements == [] and old.elements_at(5.0) is None
    assert not (tmp_path / "old" / "elements.jsonl").exists()  # a 1.0 episode stays what it was
    ep = read_episode(write_episode(tmp_path / "new", [(0.0, None), (0.15, "ok")]))
    assert [(s.t, s.focus) for s in ep.elements] == [(0.0, None), (0.15, "ok")]
    assert ep.elements_at(0.1).focus is None and ep.elements_at(0.2).focus == "ok"
    assert ep.elements[1].elements[0] == {"id": "ok", "role": "button", "label": "OK", "box": [1, 2, 30, 20]}


def test_a_null_text_box_is_a_label_not_drawn_and_paints_no_cell(tmp_path):
    """Format 1.2: ``text_box: null`` (a dialog's title drawn by no one) validates, and reading
    targets leave its cells blank where a missing text_box would paint the whole box."""
    from act.data.reading import cell_words, snapshot_elements
    from act.spaces.vocab import Vocabulary

    path = write_episode(tmp_path / "ep")
    dialog = {"role": "dialog", "label": "Export", "box": [0, 0, 32, 16]}
    rows = [{"t": 0, "elements": [{**dialog, "text_box": None}]}, {"t": 1, "elements": [dialog]}]
    (path / "elements.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert validate(path) == []
    ep = read_episode(path)
    words = Vocabulary(["export"])
    cells = [cell_words(snapshot_elements(s), 64, 48, (3, 4, 16), (48, 64), words) for s in ep.elements]
    assert cells[0].tolist() == [0] * 12
    assert cells[1].reshape(3, 4)[0, :2].tolist() == [2, 2]


def test_a_fields_value_is_read_where_value_box_says_and_an_empty_field_reads_blank(tmp_path):
    """Format 1.3: a text field's ``value_box`` (where its value is drawn) validates, and reading
    targets paint the value there (text the instruction does not name), while an empty field's
    value_box is null and its cells stay blank: the target that tells "u" from nothing."""
    from act.data.reading import cell_spans, snapshot_elements
    from act.spaces.spans import OTHER_TEXT

    path = write_episode(tmp_path / "ep")
    field = {"role": "textbox", "label": "File name", "box": [0, 16, 64, 32], "text_box": [0, 0, 40, 14]}
    rows = [
        {"t": 0, "elements": [{**field, "value": "untitled.txt", "value_box": [2, 18, 46, 30]}]},
        {"t": 1, "elements": [{**field, "value": "", "value_box": None}]},
    ]
    (path / "elements.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert validate(path) == []
    ep = read_episode(path)
    spans = [
        cell_spans(
            snapshot_elements(s), 64, 48, (3, 4, 16), (48, 64), "Save the file as untitled.txt"
        ).reshape(3, 4)
        for s in ep.elements
    ]
    assert spans[0][0, :2].tolist() == spans[1][0, :2].tolist() != [0, 0]  # the caption, both times
    assert (spans[0][1, :3] != 0).all() and (spans[0][1, :3] != OTHER_TEXT).all()  # the instruction's words
    assert spans[0][1, 3] == 0  # right of the text: blank field
    assert (spans[1][1] == 0).all()  # the emptied field reads blank
    other = cell_spans(snapshot_elements(ep.elements[0]), 64, 48, (3, 4, 16), (48, 64), "Save it")
    assert (other.reshape(3, 4)[1, :3] == OTHER_TEXT).all()


OK_BOX = {"role": "button", "label": "OK", "box": [0, 0, 1, 1]}


@pytest.mark.parametrize(
    ("row", "field", "says"),
    [
        ({"t": -1, "elements": []}, "t", "finite number >= 0"),
        ({"t": 0, "elements": {}}, "elements", "must be a list"),
        ({"t": 0, "elements": [], "seen": 1}, "seen", "unknown field"),
        ({"t": 0, "elements": [{"role": "button", "label": "OK"}]}, "elements[0].box", "is missing"),
        ({"t": 0, "elements": [{**OK_BOX, "box": [5, 0, 1, 9]}]}, "elements[0].box", "a box"),
        ({"t": 0, "elements": [{**OK_BOX, "text_box": [0, 0, 1]}]}, "elements[0].text_box", "a box"),
        ({"t": 0, "elements": [{**OK_BOX, "value_box": "left"}]}, "elements[0].value_box", "a box"),
        ({"t": 0, "elements": [{**OK_BOX, "role": 3}]}, "elements[0].role", "type str"),
        ({"t": 0, "elements": [{**OK_BOX, "focused": 1}]}, "elements[0].focused", "type bool"),
        ({"t": 0, "elements": [], "focus": 7}, "focus", "string or null"),
    ],
)
def test_a_bad_element_snapshot_is_a_problem_naming_the_field(tmp_path, row, field, says):
    path = write_episode(tmp_path / "ep")
    (path / "elements.jsonl").write_text(json.dumps(row) + "\n")
    problems = validate(path)
    assert [(p.file.endswith("elements.jsonl"), p.line, p.field) for p in problems] == [(True, 1, field)]
    assert says in problems[0].message


def test_element_snapshots_out_of_order_are_refused(tmp_path):
    path = write_episode(tmp_path / "ep")
    rows = [json.dumps({"t": t, "elements": []}) for t in (0.5, 0.2)]
    (path / "elements.jsonl").write_text("\n".join(rows) + "\n")
    assert [(p.line, p.field) for p in validate(path)] == [(2, "t")]
    w = EpisodeWriter(tmp_path / "w", EpisodeMeta("e2", "desktop", "T", "x", Screen(64, 48)))
    w.add_elements(ElementSnapshot(1.0, ()))
    with pytest.raises(ValueError, match="earlier than the last"):
        w.add_elements(ElementSnapshot(0.5, ()))
    w.close()


@needs_x
def test_record_build_train_and_evaluate_in_the_live_app(tmp_path):
    """act-generate env=desktop records the expert with act-record, the recordings build and train a
    tiny policy, and the desktop suite runs it and the macro for one episode in the live app."""
    from act.data import DatasetInfo, build_dataset
    from act.envs.generate import run_generate
    from act.eval.evaluate import evaluate
    from act.eval.policies import PolicySpec
    from act.eval.suites import load_suite
    from act.policy import ACTPolicy

    recs, ds, out = tmp_path / "recs", tmp_path / "dataset", tmp_path / "out"
    report = run_generate(env="desktop", tasks=["Login"], episodes=2, out_dir=recs, progress=False)
    login = report["tasks"]["Login"]
    assert login["episodes"] == 2 and login["expert_success"] == 1.0 and not login["failed"]
    assert json.loads((recs / "generate.json").read_text())["tasks"]["Login"]["episodes"] == 2

    # the recordings are the recorder's: format v1 with the app's element snapshots, one per seed,
    # and the keys typed are the instruction's user name and password
    paths = sorted((recs / "Login").iterdir())
    assert len(paths) == 2
    seeds = []
    for path in paths:
        assert validate(path) == []
        ep = read_episode(path)
        assert ep.meta.source == "desktop" and ep.meta.success is True and ep.meta.complete
        seeds.append(ep.meta.extra["desktop"]["seed"])
        user, password = ep.meta.instruction.removeprefix("Sign in as ").split(" with the password ")
        typed = "".join(a.key for a in ep.actions() if a.kind == "key")
        assert typed == user + password
        assert [a.kind for a in ep.actions() if a.kind == "click"] == ["click"] * 3
        assert ep.elements and {"username", "password", "sign_in"} <= {
            e["id"] for e in ep.elements[0].elements
        }
    assert seeds == [0, 1]

    # an episode an interrupted run left without the app's verdict (copied here by hand)
    unjudged = recs / "Login" / "ep_000099"
    shutil.copytree(paths[0], unjudged)
    meta = json.loads((unjudged / "meta.json").read_text())
    del meta["extra"]["desktop"]
    (unjudged / "meta.json").write_text(json.dumps({**meta, "episode_id": "cut", "success": None}))
    # a resumed run records only what is missing (seed 2), keeps the first two as they were and
    # sets the unjudged one aside
    again = run_generate(env="desktop", tasks=["Login"], episodes=3, out_dir=recs, progress=False)
    assert again["tasks"]["Login"]["resumed"] == 2 and again["tasks"]["Login"]["episodes"] == 3
    assert len(list((recs / "Login").iterdir())) == 3 and not unjudged.exists()
    assert (tmp_path / "recs.failed" / "Login" / "ep_000099" / "meta.json").is_file()

    build_dataset(recs, ds, image_size=(60, 80))  # policy=tiny's image size
    info = DatasetInfo.load(ds)
    assert info.num_episodes == 3 and info.inputs["elements"] is True  # the set-aside one is not in it
    assert info.inputs["pairing"] == "frame-before-input"  # act-record made them
    # reading targets from the recordings' snapshots, on a policy's grid: the fields' labels on their
    # captions left of the fields ("password" is an instruction word, "Username" is not: <unk>), the
    # fields themselves (they show what was typed) and everything else blank
    from act.data.chunks import ChunkDataset
    from act.spaces.vocab import Vocabulary

    words = ChunkDataset(ds, chunk_size=1, cells=(15, 20, 4))[0]["cell_words"]  # 4 px cells: 32 on screen
    vocab = Vocabulary(info.instruction_vocab)
    grid = words.view(15, 20)
    assert {vocab.id("password"), 1} <= set(grid[2:5, :4].flatten().tolist()), grid  # the captions
    assert (grid[2:5, 5:] == 0).all(), grid  # the fields (x 130-352 on screen)
    assert vocab.id("sign") in grid[5:7, 4:7].flatten().tolist(), grid  # the button's label
    assert (grid[8:] == 0).all(), grid

    metrics, policy_dir = train_tiny(recs, ds, tmp_path, out)
    assert np.isfinite(metrics["train/loss"])
    ACTPolicy.from_pretrained(policy_dir, device="cpu")  # loads: safetensors + config.json

    suite = load_suite("desktop", ["tasks=[Login]", "episodes=1", "max_steps=20", "families=[]"])
    assert suite.env_ids() == ["desktop/Login-v0"] and suite.seeds() == [1000]
    results = evaluate(
        [PolicySpec("tiny", path=str(policy_dir)), PolicySpec("macro", kind="macro")],
        suite,
        num_workers=1,
        out_dir=tmp_path / "eval",
        progress=False,
    )
    by_policy = {e["policy"]: e for e in results["episodes"]}
    tiny, macro = by_policy["tiny"], by_policy["macro"]
    assert tiny["env_id"] == "desktop/Login-v0" and tiny["seed"] == 1000 and tiny["error"] is None
    assert 1 <= tiny["steps"] <= 20 and tiny["policy_calls"] >= 1 and len(tiny["actions"]) == tiny["steps"]
    # the macro replays the expert's recording of this seed by coordinates: nominal, it signs in
    assert macro["error"] is None and macro["success"] is True
    nominal = results["summary"]["tiny"]["conditions"]["nominal"]
    assert nominal["n"] == 1 and nominal["errors"] == 0 and nominal["tasks"].keys() == {"Login"}
    # synthui's string lists are not claimed for the desktop app's strings
    assert "lists'" not in (tmp_path / "eval" / "report.md").read_text()


def test_look_arguments_follow_the_spec_and_unknown_families_are_refused():
    from act.envs.desktop.env import MAX_SHIFT, look_args

    assert look_args("", 3) == [] and look_args(None, 3) == []
    assert look_args("scale:0.5", 3) == ["--scale", "1.2"]
    shift = look_args("layout_shift:0.5", 3)
    dx, dy = int(shift[1]), int(shift[2])
    assert shift[0] == "--offset" and 0.25 * MAX_SHIFT[0] <= dx <= 0.5 * MAX_SHIFT[0]
    assert 0.25 * MAX_SHIFT[1] <= dy <= 0.5 * MAX_SHIFT[1]
    assert look_args("layout_shift:0.5", 3) == shift != look_args("layout_shift:0.5", 4)  # per seed
    assert look_args("theme:0.5", 3)[0] == "--palette"
    with pytest.raises(ValueError, match="no perturbation family 'popup'.*layout_shift, scale, theme"):
        look_args("popup:1", 0)
    with pytest.raises(ValueError, match="scael.*the desktop envs have layout_shift, scale, theme"):
        look_args("scael:0.5", 0)
    with pytest.raises(ValueError, match="severity"):
        look_args("scale:2", 0)


@needs_x
@pytest.mark.parametrize("spec", ["scale:0.5", "layout_shift:0.5"])
def test_the_look_moves_the_widgets_and_the_expert_still_succeeds(spec):
    nominal, perturbed = DesktopEnv("login"), DesktopEnv("login", perturbation=spec)
    try:
        _, info = nominal.reset(seed=5)
        boxes = {e["id"]: e["box"] for e in info["elements"]}
        obs, reward, info, _ = run_expert(perturbed, seed=5)
        assert reward == 1.0 and info["success"]
        _, info = perturbed.reset(seed=5)
        moved = {e["id"]: e["box"] for e in info["elements"]}
    finally:
        nominal.close()
        perturbed.close()
    x0, y0, x1, y1 = boxes["sign_in"]
    a0, b0, a1, b1 = moved["sign_in"]
    if spec.startswith("scale"):  # 120%: the button is larger and further from the corner
        assert a1 - a0 > x1 - x0 and b1 - b0 > y1 - y0 and a0 > x0 and b0 > y0
    else:  # the same size, moved right and down
        assert (a1 - a0, b1 - b0) == (x1 - x0, y1 - y0) and a0 - x0 >= 40 and b0 - y0 >= 27
    # a click at the nominal centre (a macro) misses the moved button
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    assert not (a0 <= cx < a1 and b0 <= cy < b1)


def test_the_desktop_experiment_trains_offline_on_recordings_and_reads_from_snapshots():
    from hydra import compose, initialize_config_dir

    from act.eval.suites import load_suite
    from act.training import register_configs

    register_configs()
    with initialize_config_dir(config_dir=str(Path(act.__file__).parent / "configs"), version_base="1.3"):
        cfg = compose("train", overrides=["experiment=desktop", "paths.data_dir=/data"])
    assert cfg.data.recordings == "/data/recordings/desktop" and cfg.data.online is False
    p = cfg.policy
    assert list(p.image_size) == [240, 320] and p.instruction_encoding == "chars" and p.key_copy
    assert p.read_weight > 0 and p.execution == "adaptive" and cfg.callbacks.closed_loop.episodes == 0
    suite = load_suite("desktop", [])
    assert suite.env_ids() == [f"desktop/{t}-v0" for t in TASKS] and suite.episodes == 50
    assert [c.name for c in suite.conditions()] == ["nominal", "scale:0.5", "layout_shift:0.5"]


def test_recording_seeds_that_reach_the_suites_seeds_are_refused_and_set_asides_are_not_read(tmp_path):
    from act.cli.generate import desktop_seed_overlap
    from act.recording import find_episodes

    assert desktop_seed_overlap(0, 200) is None  # seeds 0-409
    said = desktop_seed_overlap(0, 600)
    assert "[1000, 1050)" in said and "test seeds" in said
    assert "validation" in desktop_seed_overlap(4_999_990, 5)
    # episodes set aside next to a recordings folder are not found under the folder above it
    write_episode(tmp_path / "recs" / "Login" / "ep_000001")
    write_episode(tmp_path / "recs.failed" / "Login" / "ep_000002")
    write_episode(tmp_path / "recs" / "sub.failed" / "ep_000003")
    assert [p.name for p in find_episodes(tmp_path)] == ["ep_000001"]
    assert [p.name for p in find_episodes(tmp_path / "recs.failed")] == ["ep_000002"]  # named: read
