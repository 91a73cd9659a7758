"""act-miniwob: the benchmark's task list, its report's arithmetic, and the whole pipeline (--quick:
two tasks, a tiny policy) in Chromium, asserting on the report it writes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import act
from act.cli.miniwob import main
from act.envs import miniwob
from act.miniwob_benchmark import PUBLISHED, format_report, summarise

REASON = miniwob.available()
needs_browser = pytest.mark.skipif(REASON is not None, reason=f"MiniWoB++ cannot run here: {REASON}")
CONFIGS = str(Path(act.__file__).parent / "configs")


def test_the_experiment_trains_on_every_pix2act_task_with_an_expert():
    from hydra import compose, initialize_config_dir

    from act.training import register_configs

    register_configs()
    with initialize_config_dir(config_dir=CONFIGS, version_base="1.3"):
        cfg = compose("train", overrides=["experiment=miniwob"])
    assert list(cfg.data.generate.tasks) == miniwob.benchmark_tasks()
    assert len(miniwob.benchmark_tasks()) >= 30  # issue 25: at least 30 tasks with experts
    assert set(miniwob.benchmark_tasks()) <= set(miniwob.PIX2ACT_TASKS)
    assert cfg.data.generate.env == "miniwob" and tuple(cfg.policy.image_size) == (210, 160)


def _episode(task, condition, success, error=None):
    return {"task": task, "condition": condition, "success": success, "error": error}


def test_the_report_gives_wilson_intervals_means_and_the_published_figures_beside_them():
    episodes = [_episode("a", "nominal", k < 3) for k in range(4)]  # 3 / 4
    episodes += [_episode("b", "nominal", k < 1) for k in range(4)]  # 1 / 4
    episodes += [_episode("a", "theme:0.5", True), _episode("a", "theme:0.5", False)]  # 1 / 2
    episodes += [_episode("b", "theme:0.5", False, error="browser lost"), _episode("b", "theme:0.5", False)]
    results = {"episodes": episodes, "protocol": {"split": "test", "seeds": {"start": 1000, "stop": 1004}}}
    bench = summarise(results, ["a", "b"])
    assert bench["tasks"]["a"]["nominal"] == 0.75 and bench["tasks"]["a"]["n"] == 4
    lo, hi = bench["tasks"]["a"]["ci95"]
    assert 0.30 < lo < 0.31 and 0.95 < hi < 0.96  # Wilson 3/4: [0.301, 0.954]
    assert bench["mean_nominal"] == pytest.approx(0.5) and bench["mean_families"] == pytest.approx(0.25)
    assert bench["per_family"] == {"theme:0.5": pytest.approx(0.25)} and bench["errors"] == 1
    bench["training"] = {"policy": "p", "demos_per_task": 200, "steps": 10, "train_seconds": 1.0}
    report = format_report(bench)
    assert "| a | 75.0% (4) | [30-95%] | 50.0% |" in report
    assert "| **mean over the 2 tasks** | **50.0%** | | **25.0%** |" in report
    assert "[1000, 1004)" in report and "errored (a browser lost): 1" in report
    for p in PUBLISHED:  # each with its own task set and demonstrations stated
        assert f"| {p.method} | {100 * p.success:.1f}% | {p.tasks} | {p.demos} |" in report
    assert "| this run | 50.0% | the 2 tasks above | 200 per task |" in report


def test_an_unknown_task_is_refused_before_any_work(tmp_path, capsys):
    if REASON is not None:
        pytest.skip(f"MiniWoB++ cannot run here: {REASON}")
    assert main(["--tasks", "click-test,no-such-task", "--out", str(tmp_path / "o")]) == 2
    assert "no-such-task" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
    assert main(["--families", "theme,no-such-family", "--out", str(tmp_path / "o")]) == 2
    assert "no-such-family" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


@needs_browser
@pytest.mark.miniwob
def test_quick_benchmark_generates_trains_evaluates_and_reports(tmp_path, capsys):
    out, data = tmp_path / "out", tmp_path / "data"
    assert main(["--quick", "--out", str(out), "--data", str(data), "--num-workers", "1"]) == 0
    bench = json.loads((out / "benchmark.json").read_text())
    assert list(bench["tasks"]) == ["click-test", "enter-text-2"]
    for row in bench["tasks"].values():
        assert row["n"] == 2 and 0.0 <= row["nominal"] <= 1.0 and list(row["families"]) == ["theme:0.5"]
    assert bench["training"]["steps"] == 10 and bench["training"]["demos_per_task"] == 4
    assert bench["errors"] == 0 and bench["seeds"] == {"start": 1000, "count": 2, "stop": 1002}
    report = (out / "report.md").read_text()
    assert "| click-test |" in report and "| enter-text-2 |" in report and "mean over the 2 tasks" in report
    assert "Pix2Act, behaviour cloning" in report and "not comparable to it one to one" in report
    assert report in capsys.readouterr().out
    # run again: every stage is done, nothing is trained or evaluated twice
    before = (out / "eval" / "results.json").stat().st_mtime_ns
    assert main(["--quick", "--out", str(out), "--data", str(data), "--num-workers", "1"]) == 0
    assert "trained already" in capsys.readouterr().out
    assert (out / "eval" / "results.json").stat().st_mtime_ns == before
    # the full benchmark into the quick run's folder: refused, not the tiny policy reported as the full one
    assert main(["--out", str(out), "--data", str(data), "--tasks", "click-test"]) == 2
    assert "holds a benchmark run with other settings" in capsys.readouterr().err
    assert (out / "eval" / "results.json").stat().st_mtime_ns == before and (out / "policy").is_dir()
