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
    assert set(summary["summary"]) == {"act", "act_chunk", "bc", "macro"}
    assert summary["summary"]["macro"]["conditions"]["nominal"]["success"] == 1.0
    assert (tmp_path / "out" / "eval" / "report.md").is_file()
    bc = json.loads((tmp_path / "out" / "bc" / "policies" / "best" / "config.json").read_text())
    assert bc["chunk_size"] == 1 and bc["use_vae"] is False
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
