"""The evaluation protocol: disjoint validation and test seeds, several training seeds per row, and
held-out families that training data may not contain."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from act.eval import EpisodeResult, EvalSetupError, PolicySpec, Suite, evaluate, load_suite, summarize
from act.eval.bench import policy_groups, seed_stats
from act.eval.evaluate import check_evaluation
from act.eval.metrics import over_seeds, wilson_interval
from act.eval.suites import (
    SUITE_DIR,
    TRAINING_DATA,
    SeedRange,
    heldout_violations,
    trained_families,
    training_marks,
)

# ------------------------------------------------------------------------------------ seed ranges


def test_overlapping_seed_ranges_are_refused_naming_both_fields():
    with pytest.raises(ValueError, match=r"suite 'x': validation_seeds \[1000, 1005\) and test_seeds \[1002"):
        Suite(name="x", validation_seeds={"start": 1000, "count": 5}, test_seeds={"start": 1002, "count": 5})
    Suite(validation_seeds=[0, 10], test_seeds=[10, 20])  # [start, stop): adjacent ranges share no seed
    with pytest.raises(ValueError, match="overlap"):
        Suite(validation_seeds=[0, 11], test_seeds=[10, 20])
    # episodes grows the chosen split's range: into the other range is refused too
    with pytest.raises(ValueError, match="overlap"):
        Suite(
            test_seeds={"start": 1000, "count": 10}, validation_seeds={"start": 1020, "count": 5}, episodes=30
        )
    with pytest.raises(ValueError, match="test_seeds.*not a seed range"):
        Suite(test_seeds={"start": 5})
    with pytest.raises(ValueError, match="validation_seeds.*at least one seed"):
        Suite(validation_seeds={"start": 7, "count": 0})
    with pytest.raises(ValueError, match="split 'train'"):
        Suite(split="train")


def test_episodes_is_the_count_of_the_chosen_split():
    test = Suite(episodes=3)
    assert test.seeds() == [1000, 1001, 1002] and test.validation_seeds == SeedRange(5_000_000, 20)
    val = Suite(episodes=2, split="validation")
    assert val.seeds() == [5_000_000, 5_000_001] and val.episodes == 2
    assert val.test_seeds == SeedRange(1000, 20)
    assert Suite().episodes == 20 and Suite(test_seeds=(40, 45)).seeds() == [40, 41, 42, 43, 44]


def test_every_shipped_suite_has_disjoint_validation_and_test_seeds():
    names = sorted(p.stem for p in (SUITE_DIR / "suite").glob("*.yaml"))
    assert {"nominal", "demo", "heldout", "miniwob"} <= set(names)
    for name in names:
        suite = load_suite(name, [])
        assert not set(suite.validation_seeds.seeds()) & set(suite.test_seeds.seeds()), name
        # the seeds suites ran before the protocol are its test range; tables report them by default
        assert suite.split == "test" and suite.test_seeds.start == 1000 and suite.seeds()[0] == 1000, name
    assert load_suite("demo", []).episodes == 24 and load_suite("miniwob", []).episodes == 10
    assert load_suite("nominal", ["episodes=2"]).test_seeds == SeedRange(1000, 2)
    v = load_suite("nominal", ["episodes=3", "split=validation"])
    assert v.seeds() == [5_000_000, 5_000_001, 5_000_002] and v.test_seeds == SeedRange(1000, 20)


def test_results_json_carries_both_ranges_and_the_split(tmp_path):
    suite = Suite(name="p", tasks=["ClickButton"], episodes=2, split="validation")
    results = evaluate([PolicySpec("macro", "macro")], suite, num_workers=1, out_dir=tmp_path, progress=False)
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["suite"]["split"] == "validation" and saved["protocol"]["split"] == "validation"
    assert saved["protocol"]["seeds"] == {"start": 5_000_000, "count": 2, "stop": 5_000_002}
    assert saved["suite"]["test_seeds"] == {"start": 1000, "count": 20, "stop": 1020}
    assert saved["suite"]["validation_seeds"] == saved["protocol"]["validation_seeds"]
    assert sorted(e["seed"] for e in results["episodes"]) == [5_000_000, 5_000_001]
    assert "validation seeds" in (tmp_path / "report.md").read_text()


# ------------------------------------------------------------------------------------ training data


@pytest.fixture(scope="module")
def tiny_policy(tmp_path_factory):
    """A tiny untrained ACT policy saved twice (torch seeds 0 and 1), as the seeds of one config."""
    import torch

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
        n_action_steps=4,
        instruction_vocab=["click", "the", "button"],
    )
    root = tmp_path_factory.mktemp("runs")
    dirs = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        d = root / "runs" / f"s{seed}" / "policies" / "best"
        ACTPolicy(cfg).save_pretrained(d)
        dirs.append(d)
    return dirs


def _with_training_data(src: Path, dst: Path, **data) -> Path:
    import shutil

    shutil.copytree(src, dst)
    data = {"tasks": ["ClickButton"], "perturbations": [""], "online": True, "seed": 0, **data}
    (dst / TRAINING_DATA).write_text(json.dumps(data))
    return dst


def test_seen_and_unseen_marks_from_hand_made_training_data():
    suite = Suite(
        tasks=["ClickButton", "synthui/Login-v0"],
        families=["theme", "relabel", "reorder"],
        severities=[0.5, 1.0],
        compositions=["theme:0.5,relabel:0.5", "theme:1,reorder:1"],
    )
    data = {"tasks": ["ClickButton"], "perturbations": ["", "theme:0.5", "layout_shift:0.5,reorder:0.25"]}
    assert trained_families(data) == {"layout_shift": [0.5], "reorder": [0.25], "theme": [0.5]}
    marks = training_marks(data, suite)
    assert marks["families"] == {"theme": "seen", "relabel": "unseen", "reorder": "seen"}
    c = marks["conditions"]
    assert c["nominal"] == "seen" and c["theme:1"] == "seen" and c["relabel:0.5"] == "unseen"
    assert c["theme:0.5,relabel:0.5"] == "unseen" and c["theme:1,reorder:1"] == "seen"
    assert marks["tasks"] == {"ClickButton": "seen", "Login": "unseen"}
    assert (
        training_marks({**data, "perturbations": ["theme:0.5"]}, suite)["conditions"]["nominal"] == "unseen"
    )
    unknown = training_marks(None, suite)
    assert set(unknown["families"].values()) == set(unknown["tasks"].values()) == {"unknown"}


def test_randomised_and_unknown_families_count_as_trained_on():
    suite = Suite(name="h", families=["popup", "theme"], heldout_families=["popup"])
    data = {
        "tasks": ["ClickButton"],
        "perturbations": ["", "washout:0.5"],  # a family this checkout does not know
        "randomise": {"families": ["popup", "scale"], "severity": [0.25, 1.0], "nominal": 0.0},
    }
    assert trained_families(data) == {"popup": [0.25, 1.0], "scale": [0.25, 1.0], "washout": [0.5]}
    marks = training_marks(data, suite)
    assert (
        marks["families"] == {"popup": "seen", "theme": "unseen"} and marks["conditions"]["nominal"] == "seen"
    )
    assert marks["randomised_families"] == ["popup", "scale"]
    assert heldout_violations(data, suite) == ["family 'popup'"]
    assert heldout_violations({**data, "randomise": None}, suite) == []


def test_report_marks_each_family_and_task_seen_or_unseen(tiny_policy, tmp_path):
    policy = _with_training_data(tiny_policy[0], tmp_path / "p", perturbations=["", "theme:0.5"])
    suite = Suite(
        name="m", tasks=["ClickButton", "Login"], episodes=1, families=["theme", "relabel"], severities=[0.5]
    )
    specs = [PolicySpec("act", "act", str(policy)), PolicySpec("old", "act", str(tiny_policy[0]))]
    results = evaluate(specs, suite, num_workers=1, out_dir=tmp_path / "eval", progress=False)
    training = results["policies"]["act"]["training"]
    assert training["families"] == {"theme": "seen", "relabel": "unseen"}
    assert training["tasks"] == {"ClickButton": "seen", "Login": "unseen"}
    assert results["policies"]["old"]["training"]["training_data"] is None  # no training_data.json
    report = (tmp_path / "eval" / "report.md").read_text()
    assert "| theme (seen at 0.5) |" in report and "| relabel (unseen) |" in report
    assert "| theme (training data unknown) |" in report  # the old policy's table
    assert "(unseen)" in report.split("## Per task")[1]


def test_a_heldout_family_in_training_data_is_refused(tiny_policy, tmp_path):
    suite = load_suite("heldout", ["tasks=[ClickButton]", "episodes=1"])
    trained_on_it = _with_training_data(tiny_policy[0], tmp_path / "p", perturbations=["", "reorder:0.5"])
    with pytest.raises(EvalSetupError) as e:
        evaluate([PolicySpec("act", "act", str(trained_on_it))], suite, out_dir=tmp_path / "eval")
    msg = str(e.value)
    assert "'reorder'" in msg and str(trained_on_it) in msg and "suite 'heldout'" in msg
    assert not (tmp_path / "eval" / "results.json").exists()  # refused before the first episode
    fair = _with_training_data(tiny_policy[0], tmp_path / "q", perturbations=["", "theme:0.5", "relabel:0.5"])
    check_evaluation([PolicySpec("act", "act", str(fair))], suite)
    check_evaluation([PolicySpec("old", "act", str(tiny_policy[0]))], suite)  # unknown: not refused
    held_task = Suite(name="t", tasks=["ClickButton"], heldout_tasks=["ClickButton"])
    with pytest.raises(EvalSetupError, match="task 'ClickButton'"):
        check_evaluation([PolicySpec("act", "act", str(fair))], held_task)
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "act.cli.eval",
            f"policy={trained_on_it}",
            "suite=heldout",
            f"hydra.run.dir={tmp_path / 'cli'}",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert p.returncode == 2 and "'reorder'" in p.stderr and str(trained_on_it) in p.stderr, p.stderr[-2000:]


def test_export_writes_training_data_and_loading_does_not_need_it(tiny_policy, tmp_path):
    from types import SimpleNamespace

    from act.policy import ACTPolicy
    from act.training.callbacks import ExportPolicy

    policy = ACTPolicy.from_pretrained(tiny_policy[0])  # no training_data.json: loads as before
    assert not (tiny_policy[0] / TRAINING_DATA).exists()
    data = {"tasks": ["ClickButton"], "perturbations": ["", "theme:0.5"], "online": False, "seed": 3}
    ExportPolicy(str(tmp_path), training_data=data)._export(SimpleNamespace(policy=policy), "best")
    assert json.loads((tmp_path / "best" / TRAINING_DATA).read_text()) == data
    ExportPolicy(str(tmp_path / "none"))._export(SimpleNamespace(policy=policy), "best")
    assert not (tmp_path / "none" / "best" / TRAINING_DATA).exists()


def test_training_data_names_what_the_policy_learnt_from():
    from types import SimpleNamespace

    from omegaconf import OmegaConf

    from act.data import DatasetInfo
    from act.training.config import DataConfig, GenerateConfig
    from act.training.train import _training_data

    info = DatasetInfo(
        image_size=(60, 80),
        action_space={},
        instruction_vocab=[],
        intent_vocab=[],
        instruction_max_len=8,
        tasks={"Login": 1, "ClickButton": 2},
        episodes=[{"perturbation": {"spec": "theme:0.5"}}, {"perturbation": {}}, {"perturbation": None}],
    )
    cfg = OmegaConf.create({"seed": 3, "paths": {"output_dir": "/a"}, "optim": {"lr": 1e-3}})
    offline = _training_data(cfg, DataConfig(recordings="/r"), info)
    assert offline["tasks"] == ["ClickButton", "Login"] and offline["perturbations"] == ["", "theme:0.5"]
    assert offline["online"] is False and offline["seed"] == 3
    assert offline["text"] == {"train": 1.0, "random": 0.0}  # recordings: synthui's train lists
    gen = GenerateConfig(tasks=["MenuItem"], perturbations=["", "popup:1"])
    online = _training_data(cfg, DataConfig(generate=gen, online=True), info)
    assert online["tasks"] == ["MenuItem"] and online["perturbations"] == ["", "popup:1"] and online["online"]
    # a stream that draws perturbations at random: its families, and nominal episodes only if drawn
    draws = SimpleNamespace(families=["popup", "scale"], severity=(0.25, 1.0), nominal=0.0, compose=0.25)
    randomised = _training_data(cfg, SimpleNamespace(online=True, generate=gen, randomise=draws), info)
    assert randomised["perturbations"] == [] and randomised["randomise"] == {
        "families": ["popup", "scale"],
        "severity": [0.25, 1.0],
        "nominal": 0.0,
        "compose": 0.25,
    }
    assert "randomise" not in online
    typing = DataConfig(generate=gen, online=True, text_random=0.5, text_random_tasks="typing")
    assert _training_data(cfg, typing, info)["text"] == {
        "train": 0.5,
        "random": 0.5,
        "random_tasks": "typing",
    }
    other_seed = OmegaConf.merge(cfg, {"seed": 4, "paths": {"output_dir": "/b"}})
    other_lr = OmegaConf.merge(cfg, {"optim": {"lr": 1e-4}})
    digest = offline["config_digest"]
    assert _training_data(other_seed, DataConfig(recordings="/r"), info)["config_digest"] == digest
    assert _training_data(other_lr, DataConfig(recordings="/r"), info)["config_digest"] != digest


# ------------------------------------------------------------------------------------ seeds per row


def test_over_seeds_mean_spread_and_pooled_wilson():
    s = over_seeds([(8, 10), (6, 10), (10, 10)])
    assert s["seeds"] == 3 and s["per_seed"] == [0.8, 0.6, 1.0]
    assert s["mean"] == pytest.approx(0.8) and s["std"] == pytest.approx(0.2)
    assert (s["min"], s["max"]) == (0.6, 1.0) and (s["successes"], s["n"]) == (24, 30)
    assert s["ci95"] == pytest.approx(wilson_interval(24, 30))
    # pooled: the interval is over every episode, so it is narrower than one seed's
    assert s["ci95"][1] - s["ci95"][0] < wilson_interval(8, 10)[1] - wilson_interval(8, 10)[0]
    one = over_seeds([(3, 4)])
    assert one["std"] is None and one["mean"] == one["min"] == one["max"] == 0.75


def test_seed_stats_on_hand_made_episode_results():
    suite = Suite(tasks=["ClickButton"], families=["theme", "popup"], severities=[0.5, 1.0])
    eps = []
    # seed 0: nominal 2/4, theme:1 1/4, popup:1 0/4; seed 1: nominal 4/4, theme:1 3/4, popup:1 2/4
    plan = {
        "s0": {"nominal": 2, "theme:1": 1, "popup:1": 0},
        "s1": {"nominal": 4, "theme:1": 3, "popup:1": 2},
    }
    for policy, wins in plan.items():
        for cond in suite.conditions():
            k = wins.get(cond.name, 4)
            eps += [
                EpisodeResult(
                    policy, "synthui/ClickButton-v0", i, cond.perturbation, cond.name, success=i < k
                )
                for i in range(4)
            ]
    summary = summarize(eps, suite)
    stats = seed_stats([summary["s0"], summary["s1"]])
    assert stats["nominal"]["per_seed"] == [0.5, 1.0] and stats["nominal"]["mean"] == 0.75
    assert stats["nominal"]["std"] == pytest.approx(math.sqrt(0.125))
    assert stats["nominal"]["ci95"] == pytest.approx(wilson_interval(6, 8))
    # families: the mean over families at the highest severity, pooled over both
    assert stats["families"]["per_seed"] == [0.125, 0.625] and stats["families"]["n"] == 16
    assert stats["families"]["ci95"] == pytest.approx(wilson_interval(6, 16))
    assert stats["auc"]["seeds"] == 2 and stats["auc"]["mean"] == pytest.approx(
        (summary["s0"]["mean_auc"] + summary["s1"]["mean_auc"]) / 2
    )


def test_policy_groups_seeds_of_one_configuration(tmp_path):
    def policy(path: Path, **data) -> Path:
        path.mkdir(parents=True)
        (path / "config.json").write_text("{}")
        if data:
            (path / TRAINING_DATA).write_text(json.dumps({"tasks": [], "perturbations": [""], **data}))
        return path

    for s in (0, 1):
        policy(tmp_path / "sweep" / str(s) / "policies" / "best", seed=s, config_digest="abc")
        policy(tmp_path / "sweep" / str(s) / "policies" / "last", seed=s, config_digest="abc")
    specs, groups = policy_groups([f"mine={tmp_path}/sweep/*/policies/best"])
    assert groups == {"mine": ["mine/seed0", "mine/seed1"]} and [s.name for s in specs] == groups["mine"]
    # unnamed: dirs whose only difference is the seed share a row; best and last stay apart
    specs, groups = policy_groups([f"{tmp_path}/sweep/*/policies/*"])
    assert sorted(len(g) for g in groups.values()) == [2, 2] and len(specs) == 4
    assert all(
        {Path(s.path).name for s in specs if s.name in g} in ({"best"}, {"last"}) for g in groups.values()
    )
    with pytest.raises(ValueError, match="both training seed 0"):
        policy_groups([f"x={tmp_path}/sweep/0/policies/*"])
    policy(tmp_path / "sweep" / "9" / "policies" / "best", seed=2, config_digest="def")
    with pytest.raises(ValueError, match="differ in more than the seed"):
        policy_groups([f"x={tmp_path}/sweep/*/policies/best"])
    old = [policy(tmp_path / "old" / str(i) / "policies" / "best") for i in (0, 1)]
    specs, groups = policy_groups([f"{tmp_path}/old/*/policies/best"])
    assert groups == {} and [s.path for s in specs] == [str(p) for p in old]  # unknown seeds: own rows


def test_act_bench_puts_two_seeds_of_one_tiny_config_in_one_row(tiny_policy, tmp_path):
    for seed, d in enumerate(tiny_policy):
        _with_training_data(
            d, tmp_path / "runs" / f"s{seed}" / "policies" / "best", seed=seed, config_digest="t"
        )
    pattern = str(tmp_path / "runs" / "*" / "policies" / "best")
    cmd = [
        sys.executable,
        "-m",
        "act.cli.bench",
        f"tiny={pattern}",
        "--suites",
        "nominal",
        "--set",
        "episodes=2",
        "tasks=[ClickButton]",
        "--baselines",
        "macro",
        "--latency-steps",
        "2",
        "--num-workers",
        "1",
        "--out",
        str(tmp_path / "bench"),
    ]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    board = json.loads((tmp_path / "bench" / "leaderboard.json").read_text())
    rows = {r["name"]: r for r in board["policies"]}
    assert set(rows) == {"tiny", "macro"} and rows["tiny"]["seeds"] == 2 and rows["macro"]["seeds"] == 1
    assert [m["name"] for m in rows["tiny"]["members"]] == ["tiny/seed0", "tiny/seed1"]
    nominal = rows["tiny"]["spread"]["nominal/nominal"]
    results = json.loads((tmp_path / "bench" / "nominal" / "results.json").read_text())
    per_seed = [results["summary"][f"tiny/seed{s}"]["conditions"]["nominal"] for s in (0, 1)]
    assert nominal["per_seed"] == [c["success"] for c in per_seed] and nominal["n"] == 4
    assert nominal["ci95"] == pytest.approx(wilson_interval(sum(c["successes"] for c in per_seed), 4))
    assert rows["tiny"]["nominal/nominal"] == pytest.approx(sum(nominal["per_seed"]) / 2)
    assert rows["macro"]["nominal/nominal"] == 1.0 and results["protocol"]["split"] == "test"
    table = (tmp_path / "bench" / "leaderboard.md").read_text()
    assert "| policy | seeds |" in table and "| tiny | 2 |" in table and "| macro | 1 | 100% |" in table


def test_with_executions_benches_each_act_policy_once_per_strategy(tmp_path):
    from act.eval.bench import with_executions
    from act.eval.policies import PolicySpec

    specs = [
        PolicySpec("a/seed0", "act", "/p0"),
        PolicySpec("a/seed1", "act", "/p1"),
        PolicySpec("macro", "macro"),
    ]
    groups = {"a": ["a/seed0", "a/seed1"]}
    assert with_executions(specs, groups, []) == (specs, groups)
    out, by = with_executions(specs, groups, ["replan", "adaptive"])
    assert [(s.name, s.execution) for s in out] == [
        ("a/seed0@replan", "replan"),
        ("a/seed0@adaptive", "adaptive"),
        ("a/seed1@replan", "replan"),
        ("a/seed1@adaptive", "adaptive"),
        ("macro", None),
    ]
    assert by == {
        "a@replan": ["a/seed0@replan", "a/seed1@replan"],
        "a@adaptive": ["a/seed0@adaptive", "a/seed1@adaptive"],
    }
    with pytest.raises(ValueError, match="a/seed0@sideways"):
        with_executions(specs, groups, ["sideways"])


def test_with_executions_benches_a_one_step_policy_once(tmp_path):
    """BC (chunk_size 1) executes alike under every strategy, and chunk:5 would not fit it."""
    from act.eval.bench import with_executions
    from act.eval.policies import PolicySpec

    for name, k in (("bc0", 1), ("bc1", 1), ("act0", 5)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "config.json").write_text(json.dumps({"chunk_size": k}))
    specs = [PolicySpec(f"{n}", "act", str(tmp_path / n)) for n in ("bc0", "bc1", "act0")]
    out, by = with_executions(specs, {"bc": ["bc0", "bc1"]}, ["replan", "chunk:5"])
    assert [(s.name, s.execution) for s in out] == [
        ("act0@replan", "replan"),
        ("act0@chunk:5", "chunk:5"),
        ("bc0", None),
        ("bc1", None),
    ]
    assert by == {"bc": ["bc0", "bc1"]}
