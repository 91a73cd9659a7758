"""The LightningModule around ACTPolicy: optimisation, logging, exact resume."""

from __future__ import annotations

import math
import random
from typing import Any

import lightning as L
import numpy as np
import torch

from act.policy import ACTConfig, ACTPolicy
from act.training.config import OptimConfig


class NonFiniteLossError(RuntimeError):
    """The loss became NaN or infinite: stop rather than train on garbage."""


def fold_grad_clip(optimizer: torch.optim.Optimizer, max_norm: float) -> torch.Tensor:
    """Gradient-norm clipping for a fused Adam/AdamW, folded into its kernel; returns the total norm.

    Same update as ``clip_grad_norm_(params, max_norm)`` then ``step()``: the fused kernel divides each
    gradient by ``optimizer.grad_scale`` as it reads it (the hook AMP's GradScaler uses), so clipping
    costs one pass over the gradients (the norm) instead of two (norm, then an in-place multiply).
    """
    grads = [p.grad for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
    norm = torch.nn.utils.get_total_norm(grads)
    # clip_grad_norm_ multiplies by min(max_norm / (norm + 1e-6), 1); the kernel divides by its inverse
    optimizer.grad_scale = torch.clamp((norm + 1e-6) / max_norm, min=1.0)
    return norm


def logs_this_step(trainer: L.Trainer | None) -> bool:
    """Whether Lightning writes this training step's logged values to the loggers (every
    ``log_every_n_steps``). A value logged on another step is only overwritten, yet each ``log`` call
    costs ~0.6 ms of Lightning's bookkeeping on the CPU: 22 terms were 6% of the demo's step. (A stop
    decided after the step, by ``max_time`` or a callback, writes that step's loss with the other
    terms of the last written step.)"""
    connector = getattr(trainer, "_logger_connector", None)  # Lightning's own test; None off a trainer
    return connector is None or bool(connector.should_update_logs or trainer.fast_dev_run)


class ActLightningModule(L.LightningModule):
    """Trains an ``ACTPolicy``; logs every loss term, KL and per-head accuracy under train/ and val/."""

    def __init__(
        self, policy_config: ACTConfig | dict[str, Any], optim: OptimConfig | dict[str, Any] | None = None
    ):
        super().__init__()
        if isinstance(policy_config, dict):
            policy_config = ACTConfig.from_dict(policy_config)
        if not isinstance(optim, OptimConfig):
            optim = OptimConfig(**(optim or {}))
        self.save_hyperparameters({"policy_config": policy_config.to_dict(), "optim": vars(optim)})
        self.policy = ACTPolicy(policy_config)
        self.optim = optim
        self._rng_to_restore: dict[str, Any] | None = None  # a resumed checkpoint's, until training starts

    def _step(self, batch: dict[str, torch.Tensor], stage: str) -> torch.Tensor:
        loss, terms = self.policy(batch)
        if not torch.isfinite(loss):
            detail = ", ".join(f"{k}={float(v):.4g}" for k, v in terms.items())
            raise NonFiniteLossError(
                f"non-finite {stage} loss at step {self.global_step} on device {self.device} "
                f"(precision {self.trainer.precision if self._trainer else '?'}): {detail}. "
                "On Apple MPS, try trainer=mps (full precision) or trainer=cpu; else lower optim.lr."
            )
        batch_size = batch["image"].shape[0]
        last = self._trainer is not None and 0 < self.trainer.max_steps <= self.global_step + 1
        if stage == "train" and not (logs_this_step(self._trainer) or last):  # the last: the summary's
            terms = {"loss": terms["loss"]}  # the progress bar's; the rest would not be written
        for name, value in terms.items():
            self.log(
                f"{stage}/{name}",
                value,
                batch_size=batch_size,
                prog_bar=name == "loss",
                sync_dist=stage == "val",
                on_step=stage == "train",
                on_epoch=stage == "val",
            )
        return loss

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        return self._step(batch, "train")

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self._step(batch, "val")

    def configure_gradient_clipping(
        self, optimizer, gradient_clip_val=None, gradient_clip_algorithm=None
    ) -> None:
        """Norm clipping with our fused AdamW goes into the optimizer's kernel (``fold_grad_clip``: one
        pass over the gradients fewer); anything else (value clipping, a GradScaler that owns
        ``grad_scale``, an unfused optimizer) takes Lightning's path."""
        opt = getattr(optimizer, "_optimizer", optimizer)  # a LightningOptimizer wraps the torch one
        scaler = getattr(self.trainer.precision_plugin, "scaler", None) if self._trainer else None
        if (
            gradient_clip_val
            and gradient_clip_algorithm in (None, "norm")
            and opt.defaults.get("fused")
            and scaler is None
        ):
            fold_grad_clip(opt, float(gradient_clip_val))
            return
        super().configure_gradient_clipping(optimizer, gradient_clip_val, gradient_clip_algorithm)

    def configure_optimizers(self):
        o = self.optim
        backbone = [
            p for n, p in self.policy.named_parameters() if ".backbone." in f".{n}" and p.requires_grad
        ]
        ids = {id(p) for p in backbone}
        rest = [p for p in self.policy.parameters() if id(p) not in ids and p.requires_grad]
        groups = [{"params": rest, "lr": o.lr}]
        if backbone:
            groups.append({"params": backbone, "lr": o.backbone_lr})
        # The fused kernel turns ~10 ops per parameter tensor into one (scripts/bench_lerobot.py
        # measures it). MPS has no fused AdamW.
        fused = self.device.type in ("cuda", "cpu")
        optimizer = torch.optim.AdamW(
            groups, lr=o.lr, betas=tuple(o.betas), weight_decay=o.weight_decay, fused=fused
        )
        total = max(int(self.trainer.estimated_stepping_batches), 1) if self._trainer else 10_000
        warmup = min(o.warmup_steps, total // 2)

        def schedule(step: int) -> float:
            if step < warmup:
                return (step + 1) / warmup
            progress = min((step - warmup) / max(total - warmup, 1), 1.0)
            return o.min_lr_ratio + (1 - o.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))

        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}

    # Exact resume: Lightning restores step, optimizer and scheduler; RNG states are ours to keep.
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        # Plain tensors and numbers only, so the checkpoint loads with torch.load(weights_only=True).
        # the global numpy state is what workers and users seed
        name, keys, pos, has_gauss, gauss = np.random.get_state()  # noqa: NPY002
        checkpoint["rng_states"] = {
            "torch": torch.get_rng_state(),
            "python": random.getstate(),
            "numpy": [name, torch.from_numpy(keys.astype(np.int64)), int(pos), int(has_gauss), float(gauss)],
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
        }

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        # Applied at the first batch, not now: on the way there Lightning builds the train and
        # validation DataLoaders' iterators, each drawing a base seed from the torch RNG where the
        # uninterrupted run drew nothing (its iterators already existed).
        self._rng_to_restore = checkpoint.get("rng_states")

    def on_train_batch_start(self, batch: Any, batch_idx: int) -> None:
        states, self._rng_to_restore = self._rng_to_restore, None
        if states:
            torch.set_rng_state(states["torch"])
            name, keys, pos, has_gauss, gauss = states["numpy"]
            np.random.set_state((name, keys.numpy().astype(np.uint32), pos, has_gauss, gauss))  # noqa: NPY002
            random.setstate(states["python"])
            if states.get("cuda") is not None and torch.cuda.is_available():
                torch.cuda.set_rng_state_all(states["cuda"])
