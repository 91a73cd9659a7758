"""act.envs.generate and act-generate: format-v1 recordings from the scripted experts, one generator
(act.envs.generation) and one expert loop (act.envs.expert_loop) for synthui and MiniWoB++."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from act.envs import generation
from act.envs.expert_loop import ExpertSteps
from act.envs.generate import generate, resolve_tasks, run_generate
from act.envs.synthui import SynthUIEnv, intent_labels, replay_macro, run_expert
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
    # the same out_dir with another perturbation: refused in one line, exit 2, nothing touched
    before = _tree(tmp_path / "rec")
    out = subprocess.run([*cmd, "env.perturbation=theme:0.5"], capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 2, out.stderr
    assert out.stderr.strip().splitlines()[-1].startswith("act-generate: ")
    assert "perturbation" in out.stderr and "Traceback" not in out.stderr
    assert _tree(tmp_path / "rec") == before


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_resuming_needs_the_parameters_generate_json_records(tmp_path):
    generate("ClickButton", episodes=2, seed=0, out_dir=tmp_path, progress=False)
    before = _tree(tmp_path)
    changes = {
        "perturbation": {"perturbation": "theme:0.5"},
        "seed": {"seed": 1},
        "tasks": {"tasks": ["ClickButton", "Login"]},
        "env": {"env": "miniwob", "tasks": ["click-button"]},
        "options": {"width": 200},
    }
    for field, change in changes.items():
        args = {"tasks": "ClickButton", "episodes": 2, "seed": 0, "out_dir": tmp_path, "progress": False}
        with pytest.raises(ValueError, match=rf"generate\.json: out_dir was generated with {field}=") as err:
            generate(**{**args, **change})
        assert "new out_dir" in str(err.value) and "nothing was deleted" in str(err.value)
        assert _tree(tmp_path) == before  # nothing written, nothing deleted
    # the same parameters resume (more episodes, or the same tasks in another order)
    assert len(generate("ClickButton", episodes=3, seed=0, out_dir=tmp_path, progress=False)) == 3


def test_episodes_without_generate_json_are_not_resumed(tmp_path):
    generate("ClickButton", episodes=1, out_dir=tmp_path, progress=False)
    (tmp_path / "generate.json").unlink()
    with pytest.raises(ValueError, match="no generate.json, so nothing says what made them"):
        generate("ClickButton", episodes=1, perturbation="theme:1", out_dir=tmp_path, progress=False)
    assert (tmp_path / "ClickButton" / "ep_000000" / "meta.json").is_file()


def test_interrupted_generation_resumes_byte_exactly(tmp_path, monkeypatch):
    args = {"tasks": ["Login", "SetSlider"], "episodes": 3, "perturbation": "theme:0.5", "progress": False}
    generate(**args, out_dir=tmp_path / "clean")
    real, calls = generation._star_job, []

    def killed_after_three(job):
        calls.append(job)
        if len(calls) > 3:
            raise KeyboardInterrupt
        return real(job)

    monkeypatch.setattr(generation, "_star_job", killed_after_three)
    with pytest.raises(KeyboardInterrupt):
        generate(**args, out_dir=tmp_path / "resumed")
    assert json.loads((tmp_path / "resumed" / "generate.json").read_text())["complete"] is False
    monkeypatch.setattr(generation, "_star_job", real)
    generate(**args, out_dir=tmp_path / "resumed")
    clean, resumed = _tree(tmp_path / "clean"), _tree(tmp_path / "resumed")
    assert clean.keys() == resumed.keys()
    assert all(clean[k] == resumed[k] for k in clean if k != "generate.json")


def test_expert_steps_is_the_loop_of_run_expert():
    env = SynthUIEnv("Login", perturbation="popup:1")
    run = ExpertSteps(env, 4)
    seen = [(obs["screen"].shape, action, info["step"]) for obs, action, info in run]
    assert [step for *_, step in seen] == list(range(len(seen))) and run.steps == len(seen)
    assert run.success and run.info["success"] and run.obs["screen"].shape == seen[0][0]
    rollout = run_expert(env, 4)
    assert rollout.actions == [a for _, a, _ in seen] and rollout.success


def _fields(path: Path) -> dict[str, object]:
    """The field names of each file of an episode (of events, per event type)."""

    def rows(name: str) -> list[dict]:
        return [json.loads(x) for x in (path / name).read_text().splitlines()]

    meta = json.loads((path / "meta.json").read_text())
    events: dict[str, set[str]] = {}
    for e in rows("events.jsonl"):
        events.setdefault(e["type"], set()).update(e)
    return {
        "meta": set(meta),
        "extra": set(meta["extra"]),
        "perturbation": set(meta["perturbation"]),
        "events": events,
        "intents": {k for x in rows("intents.jsonl") for k in x},
        "frames": {k for x in rows("frames.jsonl") for k in x},
    }


def _timing(path: Path) -> None:
    """The shared convention: action at its frame + ACTION_OFFSET, intents from first to last action."""
    ep = read_episode(path)
    frames = [json.loads(x)["t"] for x in (path / "frames.jsonl").read_text().splitlines()]
    events = [json.loads(x) for x in (path / "events.jsonl").read_text().splitlines()]
    assert frames == [k * generation.STEP_SECONDS for k in range(len(frames))]
    assert [e["t"] for e in events] == [round(t + generation.ACTION_OFFSET, 3) for t in frames[:-1]]
    times = {e["t"] for e in events}
    assert ep.intents and all(i.t0 in times and i.t1 in times and i.t0 <= i.t1 for i in ep.intents)
    assert ep.meta.extra["step_seconds"] == generation.STEP_SECONDS


@pytest.mark.miniwob
def test_both_backends_record_the_same_fields(tmp_path):
    from act.envs import miniwob
    from act.envs.miniwob.generate import BACKEND
    from act.envs.miniwob.generate import generate as miniwob_generate

    if (reason := miniwob.available()) is not None:
        pytest.skip(f"MiniWoB++ cannot run here: {reason}")
    [synthui] = generate("ClickButton", episodes=1, seed=1, out_dir=tmp_path / "s", progress=False)
    miniwob_generate(["click-tab"], 1, seed=1, out_dir=tmp_path / "m", progress=False)
    web = tmp_path / "m" / "click-tab" / "ep_000001"
    a, b = _fields(synthui), _fields(web)
    assert b["extra"] - a["extra"] == set(BACKEND.final_info) and a["extra"] <= b["extra"]
    assert all(a[k] == b[k] for k in ("meta", "perturbation", "intents", "frames"))
    both = a["events"].keys() & b["events"].keys()
    assert "click" in both and all(a["events"][t] == b["events"][t] for t in both)
    assert "target" in b["events"]["click"]  # target boxes on both
    for path in (synthui, web):
        _timing(path)
    sa, sb = (json.loads((tmp_path / d / "generate.json").read_text()) for d in ("s", "m"))
    assert set(sa) == set(sb) and set(sa["tasks"]["ClickButton"]) == set(sb["tasks"]["click-tab"])
