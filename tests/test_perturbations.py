"""Perturbation families: spec parsing, the registry, determinism, composition, and each family's effect."""

from __future__ import annotations

import json

import numpy as np
import pytest

from act.envs.perturbations import FAMILIES, Perturbation, build, family, format_spec, parse_spec
from act.envs.perturbations.reorder import displace
from act.envs.synthui import TASKS, SynthUIEnv, run_expert
from act.recording.schema import Action
from act.spaces.action_space import KIND_ID

ALL = list(FAMILIES)


def _boxes(env: SynthUIEnv) -> dict[str, tuple]:
    return {e["id"]: tuple(e["bbox"]) for e in env._info()["elements"]}


# ------------------------------------------------------------------------------ spec
def test_registry_holds_every_family():
    expected = {
        "layout_shift",
        "reorder",
        "scale",
        "theme",
        "relabel",
        "distractors",
        "popup",
        "extra_step",
        "latency",
        "action_noise",
        "window_size",
    }
    assert set(FAMILIES) == expected
    for name in FAMILIES:
        cls = family(name)
        assert issubclass(cls, Perturbation) and cls.name == name
        assert cls.__module__ == FAMILIES[name]


def test_the_base_knows_no_backend_and_each_backend_binds_its_hooks():
    import ast
    import inspect

    from act.envs.miniwob.perturb import FAMILIES as PAGE_FAMILIES
    from act.envs.miniwob.perturb import PagePerturbation
    from act.envs.perturbations import base
    from act.envs.synthui.perturb import SynthUIPerturbation

    tree = ast.parse(inspect.getsource(base))
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert not [m for m in imported if m and m.startswith("act")]
    assert {n for n, v in vars(Perturbation).items() if callable(v) and not n.startswith("_")} == {
        "describe",
        "on_reset",
        "on_step",
    }
    assert {"edit_spec", "delay", "perturb_action"} <= set(vars(SynthUIPerturbation))
    assert all(issubclass(family(n), SynthUIPerturbation) for n in FAMILIES)
    assert all(
        issubclass(c, PagePerturbation) and not issubclass(c, SynthUIPerturbation)
        for c in PAGE_FAMILIES.values()
    )
    assert set(PAGE_FAMILIES) < set(FAMILIES)  # the same names, meaning the same


def test_parse_spec():
    assert parse_spec("theme:0.5,layout_shift:0.8") == [("theme", 0.5), ("layout_shift", 0.8)]
    assert parse_spec(" theme : 1 , scale") == [("theme", 1.0), ("scale", 1.0)]
    assert parse_spec(None) == parse_spec("") == parse_spec("nominal") == []
    assert parse_spec({"theme": 0.25}) == [("theme", 0.25)]
    assert parse_spec([("popup", 1), {"name": "reorder", "severity": 0.5}]) == [
        ("popup", 1.0),
        ("reorder", 0.5),
    ]
    assert format_spec(parse_spec("theme:0.5,layout_shift:0.8")) == "theme:0.5,layout_shift:0.8"


@pytest.mark.parametrize(
    "spec, message",
    [
        ("themes:0.5", "unknown perturbation family 'themes'"),
        ("theme:high", "severity 'high' is not a number"),
        ("theme:1.5", "outside \\[0, 1\\]"),
        ("theme:-0.1", "outside \\[0, 1\\]"),
        ("theme:nan", "outside \\[0, 1\\]"),
        ("theme:0.5,theme:0.2", "given twice"),
    ],
)
def test_parse_spec_errors(spec, message):
    with pytest.raises(ValueError, match=message):
        parse_spec(spec)


def test_families_apply_in_a_fixed_order_with_independent_draws():
    a = build("theme:0.5,layout_shift:0.8", seed=3)
    b = build("layout_shift:0.8,theme:0.5", seed=3)
    assert [p.name for p in a] == [p.name for p in b]
    env_a = SynthUIEnv("Login", perturbation="theme:0.5,layout_shift:0.8")
    env_b = SynthUIEnv("Login", perturbation="layout_shift:0.8,theme:0.5")
    env_c = SynthUIEnv("Login", perturbation="layout_shift:0.8")
    oa, _ = env_a.reset(seed=3)
    ob, _ = env_b.reset(seed=3)
    env_c.reset(seed=3)
    assert np.array_equal(oa["screen"], ob["screen"])
    shift = {p["name"]: p["params"] for p in env_a.perturbation_meta()["families"]}["layout_shift"]
    assert (
        shift == env_c.perturbation_meta()["families"][0]["params"]
    )  # composing does not change a family's draws


def test_displace_moves_every_item_from_half_severity():
    rng = np.random.default_rng(0)
    for n in range(2, 9):
        for sev in (0.5, 0.75, 1.0):
            perm = displace(n, sev, rng)
            assert sorted(perm) == list(range(n)) and all(p != i for i, p in enumerate(perm))
        assert displace(n, 0.0, rng) == list(range(n))
        moved = sum(p != i for i, p in enumerate(displace(n, 0.1, rng)))
        assert 2 <= moved <= n


# ------------------------------------------------------------------ every family
@pytest.mark.parametrize("name", ALL)
def test_severity_zero_changes_nothing(name):
    for task in ("ExportReport", "ClickButton"):
        nominal = SynthUIEnv(task)
        pert = SynthUIEnv(task, perturbation=f"{name}:0")
        for seed in range(3):
            a, b = nominal.reset(seed=seed)[0], pert.reset(seed=seed)[0]
            assert np.array_equal(a["screen"], b["screen"]) and a["instruction"] == b["instruction"]


@pytest.mark.parametrize("name", ALL)
def test_deterministic_from_the_seed_and_recorded_in_meta(name):
    env = SynthUIEnv("TickCheckboxes", perturbation=f"{name}:0.7")
    metas = []
    for seed in (1, 1, 2):
        env.reset(seed=seed)
        metas.append(env.perturbation_meta())
    assert metas[0] == metas[1]
    assert json.loads(json.dumps(metas[2])) == metas[2]  # meta.json can hold it
    assert metas[0]["spec"] == f"{name}:0.7" and metas[0]["families"][0]["name"] == name


@pytest.mark.parametrize("name", ALL)
def test_task_instance_is_the_same_under_any_family(name):
    """A perturbation changes the UI, never the task: same instruction, same targets."""
    for task in TASKS:
        a = SynthUIEnv(task).reset(seed=9)[0]["instruction"]
        b = SynthUIEnv(task, perturbation=f"{name}:1").reset(seed=9)[0]["instruction"]
        assert a == b


def test_layout_shift_moves_widgets_and_menus():
    nominal, shifted = SynthUIEnv("MenuItem"), SynthUIEnv("MenuItem", perturbation="layout_shift:0.5")
    for seed in range(5):
        nominal.reset(seed=seed)
        shifted.reset(seed=seed)
        a, b = _boxes(nominal), _boxes(shifted)
        assert b["menu:File"][1] - a["menu:File"][1] >= 8  # the banner pushes the menu bar down
        assert b["doc:title"][0] - a["doc:title"][0] >= 10  # the side panel pushes content right
        assert any(e["role"] == "banner" for e in shifted._info()["elements"])


def test_reorder_moves_buttons():
    nominal, pert = SynthUIEnv("ClickButton"), SynthUIEnv("ClickButton", perturbation="reorder:1")
    for seed in range(10):
        nominal.reset(seed=seed)
        pert.reset(seed=seed)
        a, b = _boxes(nominal), _boxes(pert)
        buttons = [k for k in a if k.startswith("btn:")]
        assert sorted(buttons) == sorted(k for k in b if k.startswith("btn:"))
        assert all(a[k] != b[k] for k in buttons)


def test_scale_zooms_text_and_widgets():
    nominal, pert = SynthUIEnv("Login"), SynthUIEnv("Login", perturbation="scale:0.5")
    nominal.reset(seed=0)
    pert.reset(seed=0)
    a, b = _boxes(nominal), _boxes(pert)
    ha, hb = a["user"][3] - a["user"][1], b["user"][3] - b["user"][1]
    assert hb >= 1.2 * ha
    assert pert.ui.metrics.font > nominal.ui.metrics.font


def test_theme_changes_colours_not_layout():
    nominal, pert = SynthUIEnv("SetSlider"), SynthUIEnv("SetSlider", perturbation="theme:1")
    for seed in range(3):
        a, b = nominal.reset(seed=seed)[0]["screen"], pert.reset(seed=seed)[0]["screen"]
        assert _boxes(nominal) == _boxes(pert)
        assert np.abs(a.astype(int) - b.astype(int)).mean() > 20
    assert pert.perturbation_meta()["families"][0]["params"]["dark"] is True


def test_relabel_uses_synonyms_and_keeps_the_instruction():
    pert = SynthUIEnv("ExportReport", perturbation="relabel:1")
    changed = 0
    for seed in range(10):
        _, info = pert.reset(seed=seed)
        params = pert.perturbation_meta()["families"][0]["params"]["changed"]
        changed += len(params)
        labels = [
            e["name"] for e in info["elements"] if e["role"] in ("menu", "button", "label") and e["name"]
        ]
        assert len(labels) == len(set(labels))  # a synonym never duplicates another label
    assert changed >= 10
    env = SynthUIEnv("MenuItem", perturbation="relabel:1")
    exports = []
    for seed in range(20):
        env.reset(seed=seed)
        exports += [
            w.name for items in env.ui.layout.menus.values() for w in items if w.key == "menu:File/Export..."
        ]
    assert exports and all(n in ("Export as...", "Save as...", "Export file...") for n in exports)


def test_distractors_add_widgets():
    for task in ("ClickButton", "MenuItem", "ScrollOpen"):
        nominal, pert = SynthUIEnv(task), SynthUIEnv(task, perturbation="distractors:1")
        more = 0
        for seed in range(5):
            nominal.reset(seed=seed)
            pert.reset(seed=seed)
            n_a = len(nominal.ui.by_key) + len(
                nominal.ui.widget("files").state["items"] if task == "ScrollOpen" else []
            )
            n_b = len(pert.ui.by_key) + len(
                pert.ui.widget("files").state["items"] if task == "ScrollOpen" else []
            )
            more += n_b > n_a
        assert more == 5, task


def test_popup_blocks_input_until_dismissed():
    env = SynthUIEnv("ClickButton", perturbation="popup:0.5")
    _, info = env.reset(seed=0)
    assert [m["kind"] for m in info["modals"]] == ["popup"]
    x0, y0, x1, y1 = env.ui.widget(env.task.target).rect
    target = env.to_env_action(Action("click", (x0 + x1) / 2, (y0 + y1) / 2))
    covered = env.ui.hit((x0 + x1) / 2, (y0 + y1) / 2)
    _, _, terminated, _, info = env.step(target)
    assert not terminated or covered is not None  # the click went nowhere (or onto the pop-up)
    full = SynthUIEnv("Login", perturbation="popup:1")
    later = 0
    for seed in range(10):
        full.reset(seed=seed)
        later += full.perturbation_meta()["families"][0]["params"]["later_step"] is not None
    assert later == 10


def test_extra_step_asks_to_confirm_the_commit():
    env = SynthUIEnv("ClickButton", perturbation="extra_step:1")
    _, info = env.reset(seed=0)
    x0, y0, x1, y1 = env.ui.widget(env.task.target).rect
    _, _, terminated, _, info = env.step(env.to_env_action(Action("click", (x0 + x1) / 2, (y0 + y1) / 2)))
    assert not terminated and [m["kind"] for m in info["modals"]] == ["confirm"]
    r = env.ui.widget("confirm:yes").rect
    _, reward, terminated, _, info = env.step(
        env.to_env_action(Action("click", (r[0] + r[2]) / 2, (r[1] + r[3]) / 2))
    )
    assert terminated and info["success"] and reward == 1.0


def test_latency_delays_the_effect():
    env = SynthUIEnv("Login", perturbation="latency:1")
    delayed = 0
    for seed in range(10):
        _, info = env.reset(seed=seed)
        x0, y0, x1, y1 = env.ui.widget("user").rect
        _, _, _, _, info = env.step(env.to_env_action(Action("click", (x0 + x1) / 2, (y0 + y1) / 2)))
        if info["pending"]:
            delayed += 1
            assert info["focus"] is None
            wait = {
                "kind": KIND_ID["wait"],
                "point": np.zeros(2),
                "point2": np.zeros(2),
                "key": 0,
                "scroll": np.zeros(2),
            }
            for _ in range(4):
                _, _, _, _, info = env.step(wait)
            assert info["pending"] == 0 and info["focus"] == "user"
    assert 3 <= delayed <= 10


def test_action_noise_lands_clicks_off_target_and_the_expert_recovers():
    env = SynthUIEnv("TickCheckboxes", perturbation="action_noise:1", headless=True)
    missed = 0
    for seed in range(20):
        rollout = run_expert(env, seed)
        assert rollout.success
        missed += rollout.info["off_target"]
    assert missed >= 10


def test_window_size_shrinks_and_moves_the_window():
    env = SynthUIEnv("SearchSubmit", perturbation="window_size:1")
    positions = set()
    for seed in range(5):
        env.reset(seed=seed)
        x0, y0, x1, y1 = env.ui.frame.window
        assert x1 - x0 <= 0.9 * 160 and y1 - y0 <= 0.95 * 120
        positions.add((x0, y0))
    assert len(positions) > 1


@pytest.mark.parametrize("name", ALL)
def test_every_family_changes_something_at_full_severity(name):
    """Each family, at severity 1, changes the frames or the course of the expert's episode."""
    changed = 0
    for task in ("ExportReport", "Login"):
        for seed in range(3):
            frames = []
            for spec in (None, f"{name}:1"):
                env = SynthUIEnv(task, perturbation=spec)
                seen: list[bytes] = []
                rollout = run_expert(
                    env, seed, on_step=lambda obs, info, a, seen=seen: seen.append(obs["screen"].tobytes())
                )
                assert rollout.success
                frames.append(seen)
            changed += frames[0] != frames[1]
    assert changed >= 4
