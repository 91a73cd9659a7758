"""act-train: Hydra composition, train(cfg), the CLI, DDP on CPU, loggers, guards (resume: test_resume.py)."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import lightning as L
import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.errors import ConfigCompositionException
from omegaconf.errors import ConfigKeyError, ValidationError

import act
from act.policy import ACTPolicy
from act.training import ActLightningModule, NonFiniteLossError, fold_grad_clip, register_configs, train
from act.training.module import logs_this_step
from tests.conftest import write_episode

CONFIGS = str(Path(act.__file__).parent / "configs")
ACT_TRAIN = [sys.executable, "-m", "act.cli.train"]
register_configs()


@pytest.fixture(scope="module")
def recs(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("recs")
    for i in range(6):
        write_episode(root / f"ep_{i:03d}", steps=5, seed=i)
    return root


def overrides(recs: Path, tmp: Path, *extra: str) -> list[str]:
    return [
        "data=sample",
        f"data.recordings={recs}",
        f"paths.data_dir={tmp / 'data'}",
        "policy=tiny",
        "data.batch_size=4",
        *extra,
    ]


def compose_cfg(recs: Path, tmp: Path, *extra: str):
    with initialize_config_dir(config_dir=CONFIGS, version_base="1.3"):
        return compose("train", overrides=[*overrides(recs, tmp, *extra), f"paths.output_dir={tmp / 'out'}"])


def test_fast_dev_run_on_sample_data(recs, tmp_path):
    metrics, objects = train(compose_cfg(recs, tmp_path, "debug=fdr"))
    assert torch.isfinite(torch.tensor(metrics["train/loss"]))
    assert {"train/loss_kind", "train/kl", "train/acc_kind"} <= set(metrics)
    assert objects["policy"].config.chunk_size == 4
    assert objects["summary"]["global_step"] == 1


def test_limit_run_writes_checkpoints_policies_and_csv(recs, tmp_path):
    metrics, objects = train(compose_cfg(recs, tmp_path, "debug=limit", "callbacks.closed_loop.episodes=0"))
    out = tmp_path / "out"
    assert (out / "checkpoints" / "last.ckpt").is_file()
    for name in ("last", "best"):
        policy = ACTPolicy.from_pretrained(out / "policies" / name)
        assert policy.config.instruction_vocab == objects["policy"].config.instruction_vocab
    rows = list(csv.DictReader(open(out / "csv" / "metrics.csv")))
    assert any(r.get("train/loss") for r in rows) and any(r.get("val/loss") for r in rows)
    assert objects["summary"]["global_step"] == 20


def test_training_terms_are_logged_on_exactly_the_steps_the_loggers_write(recs, tmp_path):
    """Per-step terms are logged only where Lightning writes them (logs_this_step); every written
    row still has all of them, and the progress bar's loss is there on every step."""

    class Seen(L.Callback):
        def __init__(self):
            self.written, self.loss = [], []

        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
            if logs_this_step(trainer):
                self.written.append(trainer.global_step - 1)  # the step just taken, as the CSV names it
            self.loss.append(float(trainer.callback_metrics["train/loss"]) == float(outputs["loss"]))

    seen = Seen()
    cfg = compose_cfg(
        recs, tmp_path, "debug=limit", "trainer.log_every_n_steps=3", "callbacks.closed_loop.episodes=0"
    )
    metrics, _ = train(cfg, callbacks=[seen])
    rows = list(csv.DictReader(open(tmp_path / "out" / "csv" / "metrics.csv")))
    steps = sorted({int(r["step"]) for r in rows if r.get("train/acc_kind")})
    assert steps == seen.written == [2, 5, 8, 11, 14, 17]
    for r in rows:
        if r.get("train/acc_kind"):
            assert r["train/loss"] and r["train/loss_kind"] and r["train/samples_per_s"]
    assert len(seen.loss) == 20 and all(seen.loss)  # the progress bar's loss: every step's own
    assert {"train/loss_kind", "train/acc_kind"} <= set(metrics)  # the summary has every term


@pytest.mark.parametrize(
    "bad, key",
    [("policy.chunk_sise=3", "chunk_sise"), ("optim.lr=fast", "lr"), ("data.batch_sise=2", "batch_sise")],
)
def test_unknown_or_mistyped_keys_fail_at_composition(recs, tmp_path, bad, key):
    with pytest.raises((ConfigCompositionException, ConfigKeyError, ValidationError)) as e:
        compose_cfg(recs, tmp_path, bad)
    assert key in str(e.value) + str(e.value.__cause__)


def run_cli(recs: Path, tmp: Path, *extra: str, check: bool = True, **kw) -> subprocess.CompletedProcess:
    cmd = [*ACT_TRAIN, *overrides(recs, tmp, *extra), f"hydra.run.dir={tmp / 'run'}"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600, **kw)
    if check:
        assert p.returncode == 0, p.stderr[-3000:]
    return p


def test_cli_unknown_key_fails_before_any_work(recs, tmp_path):
    p = run_cli(recs, tmp_path, "policy.chunk_sise=3", check=False)
    assert p.returncode != 0 and "chunk_sise" in p.stderr
    assert not (tmp_path / "data").exists()


def test_cli_fast_dev_run(recs, tmp_path):
    p = run_cli(recs, tmp_path, "debug=fdr")
    assert "trained 1 steps" in p.stdout


@pytest.mark.slow
def test_ddp_on_two_cpu_processes_writes_the_same_layout(recs, tmp_path):
    run_cli(
        recs,
        tmp_path,
        "trainer=ddp_cpu",
        "trainer.devices=2",
        "debug=limit",
        "callbacks.closed_loop.episodes=0",
    )
    run = tmp_path / "run"
    assert (run / "checkpoints" / "last.ckpt").is_file()
    assert (run / "policies" / "last" / "model.safetensors").is_file()
    ckpt = torch.load(run / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    assert ckpt["global_step"] == 20


@pytest.mark.slow
def test_wandb_logger_works_offline_without_an_account(recs, tmp_path):
    env = {**os.environ, "WANDB_API_KEY": "", "WANDB_MODE": "", "HOME": str(tmp_path)}
    run_cli(
        recs,
        tmp_path,
        "logger=many",
        "debug=limit",
        "trainer.max_steps=4",
        "callbacks.closed_loop.episodes=0",
        env=env,
    )
    assert list((tmp_path / "run" / "wandb").glob("offline-run-*"))
    assert (tmp_path / "run" / "csv" / "metrics.csv").is_file()
    assert list((tmp_path / "run" / "tensorboard").rglob("events.out.tfevents*"))


@pytest.mark.parametrize("scale", [100.0, 1e-3])  # the clip bites / does not
def test_fold_grad_clip_matches_clip_grad_norm_then_step(scale):
    torch.manual_seed(0)
    ours = [torch.nn.Parameter(torch.randn(40, 30)), torch.nn.Parameter(torch.randn(30))]
    ref = [torch.nn.Parameter(p.detach().clone()) for p in ours]
    opt_ours = torch.optim.AdamW(ours, lr=1e-2, weight_decay=1e-4, fused=True)
    opt_ref = torch.optim.AdamW(ref, lr=1e-2, weight_decay=1e-4, fused=True)
    for _ in range(4):
        grads = [torch.randn_like(p) * scale for p in ours]
        for p, q, g in zip(ours, ref, grads):
            p.grad, q.grad = g.clone(), g.clone()
        expected = torch.nn.utils.clip_grad_norm_(ref, 1.0)
        assert (expected > 1.0) == (scale > 1)
        opt_ref.step()
        assert torch.allclose(fold_grad_clip(opt_ours, 1.0), expected)
        opt_ours.step()
        for p, q in zip(ours, ref):
            torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6)


def test_trainer_folds_the_clip_into_its_fused_optimizer(recs, tmp_path):
    _, objects = train(compose_cfg(recs, tmp_path, "debug=fdr", "trainer.gradient_clip_val=0.01"))
    optimizer = objects["module"].trainer.optimizers[0]
    assert optimizer.defaults["fused"]
    assert float(optimizer.grad_scale) > 1.0  # gradients were far above 0.01: the fused step scaled them


def test_non_finite_loss_stops_with_a_message_naming_the_device(recs, tmp_path):
    cfg = compose_cfg(recs, tmp_path, "debug=fdr")
    _, objects = train(cfg)
    module: ActLightningModule = objects["module"]
    batch = next(iter(objects["datamodule"].train_dataloader()))
    with torch.no_grad():
        next(module.policy.parameters()).fill_(float("nan"))
    with pytest.raises(NonFiniteLossError, match="device cpu"):
        module.training_step(batch, 0)


def test_non_zero_ranks_wait_for_rank_zero_to_build_the_dataset(recs, tmp_path, monkeypatch):
    from act.training import DataConfig, prepare_dataset

    data = DataConfig(recordings=str(recs))
    monkeypatch.setenv("RANK", "1")
    with pytest.raises(TimeoutError, match="rank 1"):
        prepare_dataset(data, (30, 40), tmp_path, wait_seconds=0.5)
    assert not (tmp_path / "built").exists()  # rank 1 wrote nothing
    monkeypatch.setenv("RANK", "0")
    out = prepare_dataset(data, (30, 40), tmp_path)
    monkeypatch.setenv("RANK", "1")
    assert prepare_dataset(data, (30, 40), tmp_path, wait_seconds=0.5) == out


@pytest.mark.slow
def test_multirun_sweep_with_the_basic_launcher(recs, tmp_path):
    cmd = [
        *ACT_TRAIN,
        "-m",
        *overrides(recs, tmp_path, "debug=fdr", "policy.chunk_size=1,2"),
        f"hydra.sweep.dir={tmp_path / 'sweep'}",
    ]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    chunk_sizes = sorted(
        json.loads((d / "policies" / "last" / "config.json").read_text())["chunk_size"]
        for d in (tmp_path / "sweep").iterdir()
        if (d / "policies").exists()
    )
    assert chunk_sizes == [1, 2]


def test_closed_loop_validation_draws_strings_the_policy_can_read():
    """Word-vocabulary policies read random letters as <unk>: they are validated on the train lists;
    character policies type random letters and read train-list labels (their reading names words)."""
    from types import SimpleNamespace

    from act.training.callbacks import ClosedLoopValidation

    words = SimpleNamespace(config=SimpleNamespace(instruction_encoding="words"))
    chars = SimpleNamespace(config=SimpleNamespace(instruction_encoding="chars"))
    assert ClosedLoopValidation.split_for(words, "SearchSubmit") == "train"
    assert ClosedLoopValidation.split_for(chars, "SearchSubmit") == "random"
    assert ClosedLoopValidation.split_for(chars, "Login") == "random"
    assert ClosedLoopValidation.split_for(chars, "ClickButton") == "train"
    assert ClosedLoopValidation.split_for(chars, "ScrollOpen") == "train"
    assert ClosedLoopValidation().text_split is None  # the default follows the policy
    with initialize_config_dir(config_dir=CONFIGS, version_base="1.3"):
        cfg = compose("train", overrides=["callbacks=default"])
    assert cfg.callbacks.closed_loop.text_split is None
