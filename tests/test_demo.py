"""act-demo end to end on tiny settings, and its skipping of finished stages."""

import json
import shutil
import subprocess
import sys

import pytest
import torch


@pytest.mark.slow
def test_quick_demo_runs_end_to_end_and_skips_finished_stages(tmp_path):
    cmd = [
        sys.executable,
        "-m",
        "act.cli.demo",
        "--quick",
        "--out",
        str(tmp_path / "out"),
        "--data",
        str(tmp_path / "data"),
        "--num-workers",
        "1",
    ]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    assert p.returncode == 0, p.stderr[-3000:]
    for name in ("act", "bc", "macro"):
        assert name in p.stdout
    summary = json.loads((tmp_path / "out" / "demo_summary.json").read_text())
    assert summary["demo"]["experiment"] == "demo_typing"
    assert set(summary["summary"]) == {"act", "act_chunk", "bc", "macro"}
    assert summary["summary"]["macro"]["conditions"]["nominal"]["success"] == 1.0
    assert (tmp_path / "out" / "eval" / "report.md").is_file()
    bc = json.loads((tmp_path / "out" / "bc" / "policies" / "best" / "config.json").read_text())
    assert bc["chunk_size"] == 1 and bc["use_vae"] is False
    assert bc["instruction_encoding"] == "chars" and bc["key_copy"]  # BC types as ACT does
    assert all(summary["demo"]["stages"][name]["stage_seconds"] > 0 for name in ("act", "bc"))
    if torch.get_num_threads() >= 2:  # ACT and BC trained at once, each in its own process with its own log
        assert "at once" in p.stdout
        for name in ("act", "bc"):
            assert "max_steps=10` reached" in (tmp_path / "out" / name / "train.log").read_text()

    again = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr[-3000:]
    assert again.stdout.count("skipping") == 3
    stages = json.loads((tmp_path / "out" / "demo_summary.json").read_text())["demo"]["stages"]
    assert (
        stages["act"]["skipped"]
        and stages["act"]["stage_seconds"] == summary["demo"]["stages"]["act"]["stage_seconds"]
    )

    shutil.rmtree(tmp_path / "out" / "bc")  # one stage left: it trains in this process, on every core
    alone = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert alone.returncode == 0, alone.stderr[-3000:]
    assert "bc: training 10 steps" in alone.stdout and "at once" not in alone.stdout
    assert (tmp_path / "out" / "bc" / "policies" / "best" / "config.json").is_file()


def test_the_demo_evaluates_the_tasks_it_trains_on_the_typing_one_included():
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from act.demo import EXPERIMENT
    from act.eval import load_suite
    from act.policy import ACTConfig
    from tests.test_training import CONFIGS

    with initialize_config_dir(config_dir=CONFIGS, version_base="1.3"):
        demo = compose("train", overrides=[f"experiment={EXPERIMENT}"])
        clicks = compose("train", overrides=["experiment=demo"])
    tasks = list(demo.data.generate.tasks)
    assert load_suite("demo", []).tasks == tasks
    assert "SearchSubmit" in tasks and set(clicks.data.generate.tasks) < set(tasks)
    policy = ACTConfig.from_dict(OmegaConf.to_container(demo.policy, resolve=True), source="policy")
    assert policy.instruction_encoding == "chars" and policy.key_copy and policy.seek_byte_words
    assert demo.data.generate.perturbations == clicks.data.generate.perturbations


def test_demo_refuses_another_experiments_outputs_and_non_synthui_experiments(tmp_path, capsys):
    from act.cli.demo import main

    out = tmp_path / "out"
    out.mkdir()
    (out / "demo_summary.json").write_text(json.dumps({"demo": {"experiment": "demo", "stages": {}}}))
    args = ["--out", str(out), "--data", str(tmp_path / "data")]
    assert main([*args, "--experiment", "demo_typing"]) == 2
    err = capsys.readouterr().err
    assert "experiment=demo" in err and "--out" in err
    assert not (out / "act").exists()  # nothing trained over the other demo's outputs
    (out / "demo_summary.json").write_text(json.dumps({"demo": {"stages": {}}}))  # before --experiment
    assert main([*args]) == 2 and "experiment=demo;" in capsys.readouterr().err

    args = ["--out", str(tmp_path / "fresh"), "--data", str(tmp_path / "data")]
    assert main([*args, "--experiment", "miniwob"]) == 2
    assert "trains on miniwob" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # argparse: not an experiment config
        main([*args, "--experiment", "no_such_experiment"])
