"""Callbacks: step checkpoints for exact resume, a CSV logger that resumes, policy export beside
checkpoints, throughput, closed-loop task success."""

from __future__ import annotations

import copy
import csv
import os
import time
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.loggers import CSVLogger
from lightning.pytorch.loggers.csv_logs import ExperimentWriter
from lightning.pytorch.loggers.logger import rank_zero_experiment
from lightning.pytorch.utilities import rank_zero_only, rank_zero_warn

from act.training.module import logs_this_step


class StepCheckpoint(L.Callback):
    """``dirpath/last.ckpt`` every ``every_n_train_steps`` optimizer steps, exactly on the interval
    (no monitor: unlike a monitored ``ModelCheckpoint``, it never waits for a validation), and at the
    end of training. ``keep`` > 0 also keeps the newest ``keep`` of them as ``step_NNNNNN.ckpt``.

    It saves at the start of the batch after step N, once everything of step N (its logged row, a
    validation due at N) is done, so a resumed run repeats and skips nothing; the loop counters it
    saves are adjusted so that Lightning resumes right there (see on_save_checkpoint). Loggers are
    flushed first and the checkpoint records metrics.csv's row count, which a resume cuts the file
    back to. Writes go to a temporary file renamed into place: a kill mid-write leaves the previous
    checkpoint intact. ``act-train`` puts this callback first, so no other callback logs for step
    N + 1 before it saves."""

    def __init__(self, dirpath: str, every_n_train_steps: int = 100, keep: int = 0):
        if every_n_train_steps < 1:
            raise ValueError(f"StepCheckpoint: every_n_train_steps {every_n_train_steps} must be >= 1")
        self.dirpath = Path(dirpath)
        self.every_n_train_steps, self.keep = every_n_train_steps, keep
        self.last_step = 0  # the step of the newest checkpoint (restored on resume)
        self._mid_batch = self._resumed_mid_batch = False

    @property
    def last_path(self) -> Path:
        return self.dirpath / "last.ckpt"

    @property
    def state_key(self) -> str:
        return "StepCheckpoint"

    def _save(self, trainer: L.Trainer, mid_batch: bool) -> None:
        step = trainer.global_step
        tmp = self.dirpath / f".last.ckpt.tmp{os.getpid()}"
        self._mid_batch, previous, self.last_step = mid_batch, self.last_step, step  # saved with it
        try:
            trainer.save_checkpoint(tmp, weights_only=False)  # the full state: optimiser, loops, RNG
        except BaseException:
            self.last_step = previous
            raise
        finally:
            self._mid_batch = False
        if trainer.is_global_zero:
            os.replace(tmp, self.last_path)
            if self.keep > 0:
                kept = self.dirpath / f"step_{step:06d}.ckpt"
                kept.unlink(missing_ok=True)
                try:
                    os.link(self.last_path, kept)
                except OSError:  # no hard links here (some network file systems): copy
                    import shutil

                    shutil.copyfile(self.last_path, kept)
                for old in sorted(self.dirpath.glob("step_*.ckpt"))[: -self.keep]:
                    old.unlink(missing_ok=True)
        trainer.strategy.barrier("StepCheckpoint")

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        # After a resume: on_save_checkpoint's ``started`` undone, before Lightning counts this batch
        if self._resumed_mid_batch:
            self._resumed_mid_batch = False
            progress = trainer.fit_loop.epoch_loop.batch_progress
            for counts in (progress.total, progress.current):
                counts.started = counts.ready - 1
        step = trainer.global_step
        if step > self.last_step and step % self.every_n_train_steps == 0:
            self._save(trainer, mid_batch=True)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # fast_dev_run too: a quick run still leaves last.ckpt and policies/last (sweeps read them)
        if trainer.global_step > self.last_step:
            self._save(trainer, mid_batch=False)

    def on_save_checkpoint(self, trainer, pl_module, checkpoint: dict[str, Any]) -> None:
        for logger in trainer.loggers:  # rows logged so far reach the disk before the checkpoint does
            logger.save()
        writer = next((lg.experiment for lg in trainer.loggers if isinstance(lg, ResumableCSVLogger)), None)
        rows = getattr(writer, "rows", None)  # off rank 0 the experiment is a dummy (and nothing is saved)
        checkpoint["csv_rows"] = rows if isinstance(rows, int) else None
        if self._mid_batch:
            # Saved after batch N+1 was fetched: record it as not fetched (its ``ready`` undone), so
            # the resumed run's batch count (validation schedule) is right. ``started`` stays one
            # above ``ready``, so Lightning restores this as "mid-batch" (not "after validation",
            # which would skip one); that path adds one to the logger step, so it is saved one lower.
            # The first batch after the resume puts ``started`` back (on_train_batch_start).
            fit_loop = checkpoint["loops"]["fit_loop"]
            fit_loop["epoch_loop.state_dict"]["_batches_that_stepped"] -= 1
            progress = fit_loop["epoch_loop.batch_progress"]
            for counts in (progress["total"], progress["current"]):
                counts["ready"] -= 1
                counts["started"] = counts["ready"] + 1

    def state_dict(self) -> dict[str, Any]:
        return {"last_step": self.last_step}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.last_step = int(state_dict.get("last_step", 0))

    def on_load_checkpoint(self, trainer, pl_module, checkpoint: dict[str, Any]) -> None:
        progress = checkpoint["loops"]["fit_loop"]["epoch_loop.batch_progress"]["total"]
        self._resumed_mid_batch = progress["started"] > progress["ready"]
        rows = checkpoint.get("csv_rows")
        for logger in trainer.loggers:
            if isinstance(logger, ResumableCSVLogger) and rows is not None:
                logger.experiment.truncate(rows)


class _ResumableWriter(ExperimentWriter):
    """Lightning's CSV writer, except that an existing metrics.csv is kept until the first save
    (Lightning deletes it on creation): a resume first cuts it back to the checkpoint's rows."""

    def __init__(self, log_dir: str) -> None:
        self._kept = False
        super().__init__(log_dir)
        self.rows = 0  # data rows in metrics.csv

    def _check_log_dir_exists(self) -> None:
        pass  # no warning and no deletion here: save() or truncate() decide

    def truncate(self, rows: int) -> None:
        """Keep the first ``rows`` data rows of metrics.csv (those a checkpoint had seen) and append after."""
        path = Path(self.metrics_file_path)
        self._kept = True
        if not path.is_file():  # e.g. a checkpoint of another run dir: this dir's log starts here
            rank_zero_warn(f"{path}: missing; the resumed checkpoint had logged {rows} rows elsewhere")
            return
        with open(path, newline="") as f:
            reader = csv.DictReader(f)
            header, kept = list(reader.fieldnames or []), [r for _, r in zip(range(rows), reader)]
        if len(kept) < rows:
            rank_zero_warn(
                f"{path}: {len(kept)} rows where the resumed checkpoint had logged {rows}: all kept"
            )
        tmp = path.with_name(path.name + ".tmp")  # renamed into place: a kill now loses no row
        with open(tmp, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=header)
            writer.writeheader()
            writer.writerows(kept)
        os.replace(tmp, path)
        self.metrics_keys, self.rows = sorted(header), len(kept)

    def save(self) -> None:
        if not self._kept:  # a fresh run: the old file goes, as with Lightning's writer
            Path(self.metrics_file_path).unlink(missing_ok=True)
            self._kept = True
        rows = len(self.metrics)
        super().save()
        self.rows += rows


class ResumableCSVLogger(CSVLogger):
    """``CSVLogger`` whose metrics.csv survives a resume: rows up to the checkpoint stay, each once,
    and the resumed run appends (``StepCheckpoint`` records the row count and cuts the file back)."""

    @property
    @rank_zero_experiment
    def experiment(self) -> _ResumableWriter:
        if self._experiment is None:
            self._fs.makedirs(self.root_dir, exist_ok=True)
            self._experiment = _ResumableWriter(log_dir=self.log_dir)
        return self._experiment


class ExportPolicy(L.Callback):
    """Writes ``dirpath/last`` (every checkpoint and at the end) and ``dirpath/best`` (lowest ``monitor``)
    with ``save_pretrained``: what users and ``act-eval`` load, no Lightning needed.

    ``training_data`` (act-train sets it: tasks, perturbation specs, online, seed) goes beside each
    export as training_data.json, for act-eval's seen/unseen marks and held-out checks; loading a
    policy never needs it."""

    def __init__(self, dirpath: str, monitor: str = "val/loss", training_data: dict[str, Any] | None = None):
        self.dirpath = Path(dirpath)
        self.monitor = monitor
        self.training_data = training_data
        self.best: float | None = None

    @rank_zero_only
    def _export(self, pl_module: L.LightningModule, name: str) -> None:
        import json

        from act.eval.suites import TRAINING_DATA

        pl_module.policy.save_pretrained(self.dirpath / name)
        if self.training_data is not None:
            path = self.dirpath / name / TRAINING_DATA
            path.write_text(json.dumps(self.training_data, indent=1, default=str) + "\n")

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


class StreamDagger(L.Callback):
    """DAgger in the online stream: every ``every`` training steps, ``stream.rollout_policy`` becomes a
    frozen copy of the policy in training (eval mode), which rolls out the stream's DAgger share
    (``ExpertStream``, ``data.dagger``). The copy keeps rollouts from touching the training weights."""

    def __init__(self, stream: Any, every: int):
        self.stream, self.every = stream, int(every)
        self.snapshots = 0

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if trainer.global_step % self.every == 0:
            import copy

            policy = copy.deepcopy(pl_module.policy).eval()
            for p in policy.parameters():
                p.requires_grad_(False)
            self.stream.rollout_policy = policy
            self.snapshots += 1


class Throughput(L.Callback):
    """Logs train/samples_per_s (and GPU memory where there is a GPU)."""

    def __init__(self) -> None:
        self._t0: float | None = None

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        self._t0 = time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if self._t0 is None or not logs_this_step(trainer):
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
        text_split: str | None = None,
    ):
        # synthui strings, never a test list's; None follows the policy and the task: random letters
        # for what a policy that reads characters types, the train lists for the labels it reads and
        # for a policy that reads words of its vocabulary (random letters would all be <unk> to its
        # reading, and its ClickButton would score 0% whatever it learnt: docs/experiments.md)
        self.text_split = text_split
        self.env, self.tasks = env, list(tasks or ["ClickButton"])
        self.episodes, self.perturbation, self.seed, self.max_steps = episodes, perturbation, seed, max_steps
        self.history: list[tuple[int, float]] = []

    @staticmethod
    def split_for(policy: Any, task: str) -> str:
        """Strings a policy can handle without a test list: random letters where a policy that reads
        characters types them (``Task.types_text``), else the train lists."""
        from act.envs.synthui.tasks import TASKS

        chars = policy.config.instruction_encoding == "chars"
        return "random" if chars and task in TASKS and TASKS[task].types_text else "train"

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
                text_split=self.text_split or self.split_for(policy, task),
            )
            rates[task] = result.success_rate
        success = sum(rates.values()) / len(rates)
        self.history.append((trainer.global_step, success))
        metrics = {"val/success": success, **{f"val/success/{t}": r for t, r in rates.items()}}
        for logger in trainer.loggers:
            logger.log_metrics(metrics, step=trainer.global_step)
        trainer.callback_metrics.update({k: torch.tensor(v) for k, v in metrics.items()})
