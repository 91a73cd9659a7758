"""Evaluation: metrics against known values, rollouts that record errors, suites, baselines, reports."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from act.eval import (
    EpisodeResult,
    PolicySpec,
    RandomPolicy,
    Suite,
    evaluate,
    load_policy,
    robustness_auc,
    rollout,
    summarize,
    wilson_interval,
)


@pytest.mark.parametrize(
    "k, n, lo, hi",
    [
        (0, 10, 0.0, 0.2775),
        (5, 10, 0.2366, 0.7634),
        (10, 10, 0.7225, 1.0),
        (81, 263, 0.2553, 0.3662),
        (1, 2, 0.0945, 0.9055),
    ],
)
def test_wilson_interval_known_values(k, n, lo, hi):
    assert wilson_interval(k, n) == pytest.approx((lo, hi), abs=1e-4)


def test_wilson_interval_no_data():
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_robustness_auc():
    assert robustness_auc([0.25, 0.5, 0.75, 1.0], [1, 1, 1, 1], nominal=1.0) == pytest.approx(1.0)
    assert robustness_auc([0.5, 1.0], [0.0, 0.0], nominal=1.0) == pytest.approx(0.25)  # falls to 0 by 0.5
    assert robustness_auc([0.5], [0.5], nominal=1.0) == pytest.approx(0.75 * 0.5 + 0.5 * 0.5)


class BrokenPolicy:
    """Returns an action the env must refuse on some seeds."""

    def reset(self):
        pass

    def select_action(self, obs):
        return {"kind": 99}


def test_an_episode_whose_env_raises_is_an_error_and_the_rest_go_on():
    class Flaky(RandomPolicy):
        def begin_episode(self, env_id, seed, perturbation):
            super().begin_episode(env_id, seed, perturbation)
            self.broken = seed % 2 == 1

        def select_action(self, obs):
            return {"kind": 99} if self.broken else super().select_action(obs)

    result = rollout(Flaky(), "synthui/ClickButton-v0", seeds=range(4), max_steps=5)
    assert result.n == 4 and result.errors == 2
    errors = [e for e in result.episodes if e.error]
    assert all("kind" in e.error and not e.success for e in errors)
    assert [e.seed for e in errors] == [1, 3]


def test_unknown_env_is_recorded_as_an_error():
    result = rollout(RandomPolicy(), "synthui/NoSuchTask-v0", seeds=[0])
    assert result.errors == 1 and result.success_rate == 0


def test_macro_replays_nominally_and_breaks_under_layout_shift():
    macro = load_policy(PolicySpec("macro", "macro"))
    nominal = rollout(macro, "synthui/ClickButton-v0", seeds=range(10))
    shifted = rollout(macro, "synthui/ClickButton-v0", seeds=range(10), perturbation="layout_shift:1")
    assert nominal.success_rate == 1.0
    assert shifted.success_rate <= 0.3


def test_suite_conditions_and_validation():
    suite = Suite(families=["theme", "popup"], severities=[0.5, 1.0], compositions=["theme:0.5,popup:1"])
    names = [c.name for c in suite.conditions()]
    assert names[0] == "nominal" and "theme:0.5" in names and "popup:1" in names and len(names) == 6
    with pytest.raises(ValueError, match="unknown perturbation families"):
        Suite(families=["earthquake"])
    with pytest.raises(ValueError, match="severity"):
        Suite(families=["theme"], severities=[1.5])


def test_summarize_counts_errors_as_failures_and_recovery():
    suite = Suite(tasks=["ClickButton"], families=["action_noise"], severities=[0.5])
    eps = [EpisodeResult("p", "synthui/ClickButton-v0", s, "", "nominal", success=s < 3) for s in range(4)]
    eps += [
        EpisodeResult(
            "p",
            "synthui/ClickButton-v0",
            s,
            "action_noise:0.5",
            "action_noise:0.5",
            success=s == 0,
            off_target=1 if s < 2 else 0,
            error="boom" if s == 3 else None,
        )
        for s in range(4)
    ]
    s = summarize(eps, suite)["p"]
    assert s["conditions"]["nominal"]["success"] == 0.75
    assert s["conditions"]["action_noise:0.5"]["errors"] == 1
    assert s["families"]["action_noise"]["drop_at_0.5"] == pytest.approx(0.5)
    assert s["error_recovery"] == 0.5 and s["error_recovery_n"] == 2


@pytest.fixture(scope="module")
def tiny_policy_dir(tmp_path_factory):
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
        intent_vocab=["press it"],
    )
    path = tmp_path_factory.mktemp("policy") / "tiny"
    ACTPolicy(cfg).save_pretrained(path)
    return path


def test_evaluate_writes_report_json_and_plot_with_workers(tiny_policy_dir, tmp_path):
    suite = Suite(
        name="t", tasks=["ClickButton"], episodes=3, families=["layout_shift"], severities=[0.5, 1.0]
    )
    specs = [
        PolicySpec("act", "act", str(tiny_policy_dir)),
        PolicySpec("act+ens", "act", str(tiny_policy_dir), ensemble=0.01),
        PolicySpec("macro", "macro"),
    ]
    results = evaluate(specs, suite, num_workers=2, out_dir=tmp_path, gif_failures=1, progress=False)
    assert len(results["episodes"]) == 3 * 3 * 3
    assert not [e for e in results["episodes"] if e["error"]]
    assert results["summary"]["macro"]["conditions"]["nominal"]["success"] == 1.0
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["summary"].keys() == {"act", "act+ens", "macro"}
    report = (tmp_path / "report.md").read_text()
    assert "| macro | 100% |" in report and "layout_shift" in report
    assert (tmp_path / "success_vs_severity.png").stat().st_size > 1000
    assert list((tmp_path / "failures").glob("macro_ClickButton_layout_shift*.gif"))
    assert any(e["explanations"] for e in results["episodes"] if e["policy"] == "act")


def test_act_eval_cli(tiny_policy_dir, tmp_path):
    cmd = [
        sys.executable,
        "-m",
        "act.cli.eval",
        f"policy={tiny_policy_dir}",
        "suite=nominal",
        "suite.tasks=[ClickButton]",
        "suite.episodes=2",
        "baselines=[macro,random]",
        "num_workers=1",
        f"hydra.run.dir={tmp_path}",
    ]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    assert "macro" in p.stdout and "random" in p.stdout and "act" in p.stdout
    assert (tmp_path / "report.md").is_file() and (tmp_path / "results.json").is_file()


def test_random_policy_actions_are_valid():
    from act.spaces import ActionSpace

    p = RandomPolicy(seed=3)
    for _ in range(50):
        ActionSpace().check(p.select_action({"screen": np.zeros((4, 4, 3), np.uint8), "instruction": ""}))


def test_offline_metrics_by_chunk_position(tiny_policy_dir, tmp_path):
    from act.data import build_dataset
    from act.envs.generate import generate
    from act.eval import offline_metrics
    from act.policy import ACTPolicy

    generate(["ClickButton", "Login"], 3, None, 0, tmp_path / "rec", 1, progress=False)
    build_dataset(tmp_path / "rec", tmp_path / "ds", image_size=(60, 80))
    policy = ACTPolicy.from_pretrained(tiny_policy_dir)
    result = offline_metrics(policy, tmp_path / "ds", val_fraction=None)
    assert result["episodes"] == 6 and result["samples"] > 6
    assert result["click_in_target_n"] >= 3  # every ClickButton demonstration has a target box
    assert len(result["by_position"]["kind_accuracy"]) == policy.config.chunk_size
    assert 0 <= result["kind_accuracy"] <= 1
    assert set(result["tasks"]) == {"ClickButton", "Login"}
    login, click = result["tasks"]["Login"], result["tasks"]["ClickButton"]
    assert login["typed_n"] >= 3  # every Login demonstration types (a user name, tab, a password)
    assert click["typed_n"] == 0 and click["typed_exact"] is None
    assert login["key_accuracy_n"] + click["key_accuracy_n"] == result["key_accuracy_n"]
    assert result["intent_accuracy"] is not None and 0 <= result["intent_accuracy"] <= 1
    build_dataset(tmp_path / "rec", tmp_path / "big", image_size=(120, 160))
    with pytest.raises(ValueError, match="image size"):
        offline_metrics(policy, tmp_path / "big")


def test_click_in_target_counts_a_perfect_pointer(tmp_path):
    """A stand-in policy that predicts the centre of each demonstrated target scores 100%."""
    import torch

    from act.data import ChunkDataset, build_dataset
    from act.envs.generate import generate
    from act.eval import offline_metrics
    from act.policy import ACTConfig, ACTPolicy

    generate(["ClickButton"], 3, None, 0, tmp_path / "rec", 1, progress=False)
    info = build_dataset(tmp_path / "rec", tmp_path / "ds", image_size=(60, 80))
    ds = ChunkDataset(tmp_path / "ds", 1)
    policy = ACTPolicy(
        ACTConfig(
            image_size=(60, 80),
            chunk_size=1,
            n_action_steps=1,
            dim_model=32,
            n_heads=2,
            instruction_vocab=info.instruction_vocab,
            action_space=info.action_space,
        )
    )
    targets = {ds[i]["image"].numpy().tobytes(): ds[i]["target"][0] for i in range(len(ds))}

    def perfect(image, instruction, typed=None, prev_kind=None):
        box = torch.stack([targets[im.numpy().tobytes()] for im in image])  # (B, 4)
        centre = torch.stack([(box[:, 0] + box[:, 2]) / 2, (box[:, 1] + box[:, 3]) / 2], -1)[:, None]
        n = policy.action_space.num_kinds
        return {
            "kind_probs": torch.nn.functional.one_hot(torch.full((len(box), 1), 2), n).float(),
            "key_probs": torch.zeros(len(box), 1, policy.action_space.num_keys),
            "point": centre,
            "intent_probs": torch.zeros(len(box), len(policy.intent_vocab)),
        }

    policy.predict_chunk_batch = perfect
    result = offline_metrics(policy, tmp_path / "ds", val_fraction=None)
    assert result["click_in_target"] == 1.0 and result["kind_accuracy"] == 1.0


def test_cpu_inference_spec_routes_the_policy_and_bad_values_are_refused(tiny_policy_dir):
    from omegaconf import OmegaConf

    from act.eval import policy_specs_from_config
    from act.policy import cpu_inference

    plain = load_policy(PolicySpec("act", "act", str(tiny_policy_dir)))
    assert not any(hasattr(m, "_act_packed") for m in plain.modules())
    for precision in ("fp32", "bf16"):
        policy = load_policy(PolicySpec("act", "act", str(tiny_policy_dir), cpu_inference=precision))
        if cpu_inference.available(bf16=precision == "bf16"):
            assert cpu_inference.precision(policy) == precision
        else:  # bf16 without bf16 instructions: packed fp32 (with a warning)
            assert cpu_inference.precision(policy) == ("fp32" if cpu_inference.available() else None)
    with pytest.raises(ValueError, match="cpu_inference 'int8'"):
        PolicySpec("act", "act", str(tiny_policy_dir), cpu_inference="int8")
    cfg = OmegaConf.create(
        {
            "policy": str(tiny_policy_dir),
            "name": "act",
            "ensemble": 0.01,
            "bc": None,
            "policies": {},
            "baselines": [],
            "cpu_inference": "bf16",
        }
    )
    assert [s.cpu_inference for s in policy_specs_from_config(cfg)] == ["bf16", "bf16"]
    with pytest.raises(ValueError, match="cpu_inference: 'fp16'"):
        policy_specs_from_config(OmegaConf.merge(cfg, {"cpu_inference": "fp16"}))


def test_a_families_only_report_lists_each_condition_per_task(tmp_path):
    """suite.nominal=false: the per-task table shows the families run, not an empty nominal table."""
    suite = Suite(
        name="t",
        tasks=["ClickButton", "MenuItem"],
        episodes=2,
        nominal=False,
        families=["theme"],
        severities=[0.5],
    )
    results = evaluate([PolicySpec("macro", "macro")], suite, num_workers=1, out_dir=tmp_path, progress=False)
    per_task = (tmp_path / "report.md").read_text().split("## Per task\n")[1].split("##")[0]
    assert "| macro | theme:0.5 | 100% | 100% |" in per_task, per_task
    assert {e["condition"] for e in results["episodes"]} == {"theme:0.5"}
