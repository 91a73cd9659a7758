"""act.envs.generate and act-generate: format-v1 recordings from the scripted experts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from act.envs.generate import generate, resolve_tasks, run_generate
from act.envs.synthui import SynthUIEnv, intent_labels, replay_macro
from act.recording import read_episode, validate

CONFIGS = str(Path(__file__).resolve().parents[1] / "act" / "configs")


def test_resolve_tasks():
    assert resolve_tasks("synthui") == resolve_tasks(None) and len(resolve_tasks("all")) >= 8
    assert resolve_tasks(["synthui/Login-v0", "ClickButton", "Login"]) == ["Login", "ClickButton"]
    with pytest.raises(ValueError, match="unknown synthui task"):
        resolve_tasks(["Nope"])


def test_generate_writes_valid_recordings(tmp_path):
    paths = generate(
        ["ExportReport", "SearchSubmit"],
        episodes=2,
        perturbation="theme:0.5",
        seed=7,
        out_dir=tmp_path,
        num_workers=1,
        progress=False,
    )
    assert [p.relative_to(tmp_path).as_posix() for p in paths] == [
        "ExportReport/ep_000007",
        "ExportReport/ep_000008",
        "SearchSubmit/ep_000007",
        "SearchSubmit/ep_000008",
    ]
    labels = set(intent_labels())
    for p in paths:
        assert validate(p) == []
        ep = read_episode(p)
        m = ep.meta
        assert m.source == "synthui" and m.success is True and m.complete
        assert m.extra["seed"] in (7, 8) and m.extra["steps"] == len(ep.actions())
        assert m.perturbation["spec"] == "theme:0.5" and m.perturbation["families"][0]["name"] == "theme"
        assert "params" in m.perturbation["families"][0]
        actions = ep.actions()
        assert len(ep.frames) == len(actions) + 1  # one frame before each action, and the final screen
        assert [a.frame_index for a in actions] == list(range(len(actions)))
        assert all(a.intent in labels for a in actions)
        assert ep.intents and {i.label for i in ep.intents} <= labels
        assert any(a.kind == "key" for a in actions) and any(a.kind == "click" for a in actions)
        with Image.open(ep.frame_path(0)) as im:
            assert im.size == (160, 120)
    report = json.loads((tmp_path / "generate.json").read_text())
    assert report["tasks"]["ExportReport"]["episodes"] == 2 and report["perturbation"] == "theme:0.5"


def test_recorded_macro_replays_from_disk(tmp_path):
    paths = generate(["MenuItem", "SetSlider", "ScrollOpen"], episodes=3, out_dir=tmp_path, progress=False)
    for p in paths:
        task = read_episode(p).meta.task
        assert replay_macro(SynthUIEnv(task, headless=True), p).success
    broken = sum(
        not replay_macro(SynthUIEnv(read_episode(p).meta.task, perturbation="reorder:1"), p).success
        for p in paths
    )
    assert broken >= 7


def test_generate_resumes_past_finished_episodes(tmp_path):
    first = generate("ClickButton", episodes=2, out_dir=tmp_path, progress=False)
    stamp = [(p / "meta.json").stat().st_mtime_ns for p in first]
    (tmp_path / "ClickButton" / "ep_000003").mkdir()  # a leftover of a killed run: redone
    again = generate("ClickButton", episodes=4, out_dir=tmp_path, progress=False)
    assert again[:2] == first and [(p / "meta.json").stat().st_mtime_ns for p in first] == stamp
    assert len(again) == 4 and read_episode(again[3]).meta.success


def test_same_seed_same_recording(tmp_path):
    a = generate("Login", episodes=1, seed=3, out_dir=tmp_path / "a", progress=False)[0]
    b = generate("Login", episodes=1, seed=3, out_dir=tmp_path / "b", progress=False)[0]
    for name in ("events.jsonl", "intents.jsonl", "frames.jsonl"):
        assert (a / name).read_bytes() == (b / name).read_bytes()
    assert [f.read_bytes() for f in sorted((a / "frames").iterdir())] == [
        f.read_bytes() for f in sorted((b / "frames").iterdir())
    ]


@pytest.mark.slow
def test_generate_in_parallel_processes(tmp_path):
    serial = generate(["Login", "TickCheckboxes"], episodes=3, out_dir=tmp_path / "s", progress=False)
    parallel = generate(
        ["Login", "TickCheckboxes"], episodes=3, out_dir=tmp_path / "p", num_workers=2, progress=False
    )
    assert [p.relative_to(tmp_path / "p") for p in parallel] == [
        p.relative_to(tmp_path / "s") for p in serial
    ]
    for s, p in zip(serial, parallel):
        assert (s / "events.jsonl").read_bytes() == (p / "events.jsonl").read_bytes()


def test_act_generate_config_and_run(tmp_path, capsys):
    from hydra import compose, initialize_config_dir, initialize_config_module

    overrides = [
        "env.tasks=[ClickButton,SetSlider]",
        "env.episodes=2",
        "env.num_workers=1",
        f"out_dir={tmp_path}",
        "progress=false",
    ]
    with initialize_config_dir(config_dir=CONFIGS, version_base="1.3"):
        cfg = compose(config_name="generate", overrides=overrides)
    with initialize_config_module(
        config_module="act.configs", version_base="1.3"
    ):  # as after a non-editable install
        assert compose(config_name="generate").env.env == "synthui"
    assert set(cfg.env) >= {"env", "tasks", "episodes", "perturbation", "seed", "num_workers"}
    e = cfg.env
    report = run_generate(
        env=e.env,
        tasks=list(e.tasks),
        episodes=e.episodes,
        perturbation=e.perturbation,
        seed=e.seed,
        out_dir=cfg.out_dir,
        num_workers=e.num_workers,
        contact_sheet=cfg.contact_sheet,
        progress=cfg.progress,
    )
    assert report["num_episodes"] == 4
    with Image.open(report["contact_sheet"]) as sheet:
        assert sheet.width > 12 * 160 and sheet.height > 2 * 120  # nominal + 11 families, 2 tasks
    saved = json.loads((tmp_path / "generate.json").read_text())
    assert (
        saved["contact_sheet"] == report["contact_sheet"]
        and saved["tasks"]["SetSlider"]["expert_success"] == 1.0
    )


@pytest.mark.slow
def test_act_generate_cli(tmp_path):
    import subprocess
    import sys

    cmd = [
        sys.executable,
        "-m",
        "act.cli.generate",
        "env.tasks=[ClickButton]",
        "env.episodes=2",
        "env.num_workers=1",
        f"out_dir={tmp_path / 'rec'}",
        f"paths.log_dir={tmp_path / 'logs'}",
        "contact_sheet=false",
        "progress=false",
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, check=True)
    assert "ClickButton" in out.stdout and "expert success 100.0%" in out.stdout
    assert len(list((tmp_path / "rec" / "ClickButton").iterdir())) == 2
