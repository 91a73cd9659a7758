"""Callbacks: policy export beside checkpoints, throughput, closed-loop task success."""

from __future__ import annotations

import copy
import time
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.utilities import rank_zero_only


class ExportPolicy(L.Callback):
    """Writes ``dirpath/last`` (every checkpoint and at the end) and ``dirpath/best`` (lowest ``monitor``)
    with ``save_pretrained``: what users and ``act-eval`` load, no Lightning needed."""

    def __init__(self, dirpath: str, monitor: str = "val/loss"):
        self.dirpath = Path(dirpath)
        self.monitor = monitor
        self.best: float | None = None

    @rank_zero_only
    def _export(self, pl_module: L.LightningModule, name: str) -> None:
        pl_module.policy.save_pretrained(self.dirpath / name)

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.sanity_checking or trainer.fast_dev_run:
            return
        value = trainer.callback_metrics.get(self.monitor)
        if value is not None and (self.best is None or float(value) < self.best):
            self.best = float(value)
            self._export(pl_module, "best")

    def on_save_checkpoint(self, trainer, pl_module, checkpoint: dict[str, Any]) -> None:
        self._export(pl_module, "last")
        checkpoint["export_policy_best"] = self.best

    def on_load_checkpoint(self, trainer, pl_module, checkpoint: dict[str, Any]) -> None:
        self.best = checkpoint.get("export_policy_best", self.best)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not trainer.fast_dev_run:
            self._export(pl_module, "last")
            if not (self.dirpath / "best").exists():
                self._export(pl_module, "best")


class Throughput(L.Callback):
    """Logs train/samples_per_s (and GPU memory where there is a GPU)."""

    def __init__(self) -> None:
        self._t0: float | None = None

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        self._t0 = time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if self._t0 is None:
            return
        dt = time.perf_counter() - self._t0
        n = batch["image"].shape[0] * trainer.world_size
        pl_module.log("train/samples_per_s", n / max(dt, 1e-9), on_step=True, batch_size=n)
        if pl_module.device.type == "cuda":
            pl_module.log("train/gpu_mem_gb", torch.cuda.max_memory_allocated() / 2**30, on_step=True)


class ClosedLoopValidation(L.Callback):
    """At every validation, run ``episodes`` closed-loop episodes split over ``tasks`` and log
    val/success (and val/success/<task>): a training curve of task success, not only loss."""

    def __init__(
        self,
        env: str = "synthui",
        tasks: list[str] | None = None,
        episodes: int = 16,
        perturbation: str = "",
        seed: int = 100_000,
        max_steps: int = 40,
    ):
        self.env, self.tasks = env, list(tasks or ["ClickButton"])
        self.episodes, self.perturbation, self.seed, self.max_steps = episodes, perturbation, seed, max_steps
        self.history: list[tuple[int, float]] = []

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.episodes <= 0 or trainer.sanity_checking or trainer.fast_dev_run or trainer.global_rank != 0:
            return
        from act.eval.rollout import rollout

        policy = copy.deepcopy(pl_module.policy).cpu().eval()
        per_task = max(1, self.episodes // len(self.tasks))
        rates = {}
        for task in self.tasks:
            env_id = f"{self.env}/{task}-v0"
            result = rollout(
                policy,
                env_id,
                seeds=range(self.seed, self.seed + per_task),
                perturbation=self.perturbation,
                max_steps=self.max_steps,
                num_workers=1,
            )
            rates[task] = result.success_rate
        success = sum(rates.values()) / len(rates)
        self.history.append((trainer.global_step, success))
        metrics = {"val/success": success, **{f"val/success/{t}": r for t, r in rates.items()}}
        for logger in trainer.loggers:
            logger.log_metrics(metrics, step=trainer.global_step)
        trainer.callback_metrics.update({k: torch.tensor(v) for k, v in metrics.items()})
