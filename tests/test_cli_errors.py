"""CLIs exit non-zero when what they were asked to do did not happen, and say why before any work.

act-eval: a missing or refused policy, an unknown task, an unwritable out_dir stop before the first
episode (exit 2, the message naming the path or task); a policy whose every episode errored exits 1.
act-train: a refused numeric setting prints one line naming its dotted key and exits 2.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from act.eval import EpisodeResult, NotWritableError, all_errored, ensure_writable
from tests.conftest import write_episode

ACT_EVAL = [sys.executable, "-m", "act.cli.eval"]
ACT_TRAIN = [sys.executable, "-m", "act.cli.train"]
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


@pytest.fixture(scope="module")
def policy_dir(tmp_path_factory) -> Path:
    from act.policy import ACTConfig, ACTPolicy

    cfg = ACTConfig(
        image_size=(60, 80),
        convnet_channels=(8, 16, 16, 16),
        dim_model=32,
        n_heads=2,
        dim_feedforward=64,
        n_encoder_layers=1,
        n_vae_encoder_layers=1,
        chunk_size=4,
    )
    return ACTPolicy(cfg).save_pretrained(tmp_path_factory.mktemp("policy") / "tiny")


def run_eval(tmp: Path, *extra: str) -> subprocess.CompletedProcess:
    cmd = [
        *ACT_EVAL,
        "suite=nominal",
        "suite.tasks=[ClickButton]",
        "suite.episodes=1",
        "num_workers=1",
        f"hydra.run.dir={tmp / 'run'}",
        *extra,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=ENV)


def assert_nothing_ran(p: subprocess.CompletedProcess, out: Path) -> None:
    """Exit 2, one message line, no table (format_summary's 'suite ...: N episodes') and no results."""
    assert p.returncode == 2, (p.returncode, p.stdout[-1000:], p.stderr[-2000:])
    assert "episodes in" not in p.stdout and "Traceback" not in p.stderr, p.stderr[-2000:]
    assert not (out / "results.json").exists()


def test_act_eval_missing_policy_dir_stops_before_any_episode(tmp_path):
    missing = tmp_path / "no_such_policy"
    p = run_eval(tmp_path, f"policy={missing}", "baselines=[random]")
    assert_nothing_ran(p, tmp_path / "run")
    assert str(missing) in p.stderr and "is not a directory" in p.stderr


def test_act_eval_refused_policy_config_stops_before_any_episode(tmp_path, policy_dir):
    bad = tmp_path / "bad_policy"
    bad.mkdir()
    (bad / "model.safetensors").write_bytes((policy_dir / "model.safetensors").read_bytes())
    config = json.loads((policy_dir / "config.json").read_text())
    (bad / "config.json").write_text(json.dumps({**config, "chunk_sise": 3}))  # a misspelt key
    p = run_eval(tmp_path, f"policy={bad}", "baselines=[random]")
    assert_nothing_ran(p, tmp_path / "run")
    assert f"{bad} is refused" in p.stderr and "chunk_sise" in p.stderr


def test_act_eval_unknown_task_stops_before_any_episode(tmp_path):
    p = run_eval(tmp_path, "suite.tasks=[NoSuchTask]", "baselines=[random]")
    assert_nothing_ran(p, tmp_path / "run")
    assert "unknown task 'NoSuchTask'" in p.stderr


def _read_only_dir(tmp: Path) -> Path:
    d = tmp / "read_only"
    d.mkdir()
    d.chmod(0o500)
    try:
        (d / "probe").write_text("x")
    except PermissionError:
        return d
    d.chmod(0o700)
    pytest.skip("permission bits do not stop this user (root); the under_a_file case covers the check")


@pytest.mark.parametrize("kind", ["read_only", "under_a_file"])
def test_act_eval_unwritable_out_dir_stops_before_any_episode(tmp_path, kind):
    if kind == "read_only":
        out = _read_only_dir(tmp_path) / "eval"
    else:  # cannot be created by anyone, root included
        (tmp_path / "a_file").write_text("not a directory\n")
        out = tmp_path / "a_file" / "eval"
    try:
        p = run_eval(tmp_path, "baselines=[random]", f"out_dir={out}")
    finally:
        (tmp_path / "read_only").exists() and (tmp_path / "read_only").chmod(0o700)
    assert_nothing_ran(p, tmp_path / "run")
    assert f"out_dir: cannot write to {out}" in p.stderr


def test_act_eval_exits_1_when_every_episode_of_a_policy_errored(tmp_path, monkeypatch, capsys):
    """In-process (so run_episode can be replaced): random errors every episode, macro none.

    The table and results.json still appear; the exit status is 1 and names random only."""
    import importlib

    import act.cli.eval

    rollout = importlib.import_module("act.eval.rollout")  # the module (act.eval.rollout is a function)

    def fake_episode(policy, env_id, seed, perturbation="", *, name="policy", condition="nominal", **kw):
        if name == "random":
            return EpisodeResult(name, env_id, int(seed), perturbation, condition, error="RuntimeError: boom")
        return EpisodeResult(name, env_id, int(seed), perturbation, condition, success=True, steps=1)

    monkeypatch.setattr(rollout, "run_episode", fake_episode)
    argv = ["act-eval", "suite.episodes=2", "baselines=[macro,random]", "num_workers=1"]
    monkeypatch.setattr(sys, "argv", [*argv, f"hydra.run.dir={tmp_path}"])
    with pytest.raises(SystemExit) as exit_info:
        act.cli.eval.main()
    assert exit_info.value.code == 1
    out, err = capsys.readouterr()
    assert "episodes in" in out  # the table is printed
    assert "every episode errored for random (first error: RuntimeError: boom)" in err and "macro" not in err
    results = json.loads((tmp_path / "results.json").read_text())
    assert {e["policy"] for e in results["episodes"]} == {"macro", "random"}
    assert all_errored(results) == {"random": "RuntimeError: boom"}


def test_all_errored_counts_a_policy_with_one_clean_episode_as_ran():
    eps = [
        {"policy": "a", "error": "x"},
        {"policy": "a", "error": None},
        {"policy": "b", "error": "first"},
        {"policy": "b", "error": "second"},
        {"policy": "c", "error": None},
    ]
    assert all_errored({"episodes": eps}) == {"b": "first"}


def test_ensure_writable_creates_the_dir_and_names_what_it_cannot_write(tmp_path):
    assert ensure_writable(tmp_path / "a" / "b", "out_dir").is_dir()
    assert list((tmp_path / "a" / "b").iterdir()) == []  # the probe file is gone
    (tmp_path / "f").write_text("")
    with pytest.raises(NotWritableError, match=r"--out: cannot write to .*f.*NotADirectoryError"):
        ensure_writable(tmp_path / "f", "--out")


@pytest.fixture(scope="module")
def recs(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("recs")
    for i in range(4):
        write_episode(root / f"ep_{i:03d}", steps=5, seed=i)
    return root


@pytest.mark.parametrize(
    ("override", "key", "not_key"),
    [
        ("optim.lr=-1", "optim.lr:", None),
        ("optim.lr=nan", "optim.lr:", None),
        ("policy.chunk_size=0", "policy.chunk_size:", "n_action_steps"),
        ("data.val_fraction=1.5", "data.val_fraction:", None),
    ],
)
def test_act_train_refuses_a_bad_number_naming_its_key_with_exit_2(recs, tmp_path, override, key, not_key):
    cmd = [
        *ACT_TRAIN,
        "data=sample",
        f"data.recordings={recs}",
        f"paths.data_dir={tmp_path / 'data'}",
        "policy=tiny",
        "debug=fdr",
        override,
        f"hydra.run.dir={tmp_path / 'run'}",
    ]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=ENV)
    assert p.returncode == 2, (p.returncode, p.stderr[-3000:])
    lines = p.stderr.strip().splitlines()
    assert lines[-1].startswith(f"act-train: {key}"), p.stderr[-3000:]
    assert "Traceback" not in p.stderr
    if not_key:
        assert not_key not in lines[-1]
    assert not (tmp_path / "data").exists()  # stopped before any data work


@pytest.mark.parametrize(
    ("kwargs", "cls", "key"),
    [
        ({"lr": float("nan")}, "OptimConfig", "optim.lr"),
        ({"lr": 0.0}, "OptimConfig", "optim.lr"),
        ({"betas": (0.9, 1.0)}, "OptimConfig", "optim.betas"),
        ({"warmup_steps": -1}, "OptimConfig", "optim.warmup_steps"),
        ({"min_lr_ratio": 2.0}, "OptimConfig", "optim.min_lr_ratio"),
        ({"batch_size": 0}, "DataConfig", "data.batch_size"),
        ({"val_fraction": 1.0}, "DataConfig", "data.val_fraction"),
        ({"episodes": 0}, "GenerateConfig", "data.generate.episodes"),
        ({"chunk_size": 0}, "ACTConfig", "chunk_size"),  # not n_action_steps, which follows from it
        ({"n_heads": 0}, "ACTConfig", "n_heads"),  # was a ZeroDivisionError
        ({"kl_weight": float("inf")}, "ACTConfig", "kl_weight"),
        ({"dropout": 1.0}, "ACTConfig", "dropout"),
        ({"latent_dim": 0}, "ACTConfig", "latent_dim"),
    ],
)
def test_config_constructors_refuse_bad_numbers_naming_the_key_first(kwargs, cls, key):
    import re

    import act.policy
    import act.training.config

    make = getattr(act.policy, cls, None) or getattr(act.training.config, cls)
    with pytest.raises(ValueError, match=rf"^{re.escape(key)}: "):
        make(**kwargs)
