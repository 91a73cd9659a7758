"""One policy with its optimiser per worker: ours (ACTPolicy) and LeRobot's, with optional tweaks."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import torch

from lerobot_bench.venv import import_lerobot_act

IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
IMAGE_KEY = "observation.images.screen"

TWEAKS = (
    "fused",
    "packed",
    "bf16",
    "cl",
    "pooled",
)  # variants of a runner, applied in the bench worker


class Runner:
    """One policy with its optimizer; ``tweaks`` try changes without editing the library:

    fused: AdamW(fused=True) (a single CPU kernel instead of ~10 ops per parameter tensor); ours also
    folds the gradient clip into it (act.training.fold_grad_clip), as act's trainer does;
    packed: (ours) ``ACTPolicy.optimize_for_cpu()`` for inference (packed fp32 weights; with bf16,
    ``optimize_for_cpu(bf16=True)``: packed bf16 copies);
    bf16: bf16 autocast for the training forward, and (without packed) a bf16 copy of the weights for
    inference;
    cl: channels-last memory format for the backbone;
    pooled: (ours) ``instruction_tokens="pooled"``: the instruction as one encoder token, so the encoder
    sees as many tokens as LeRobot's (image cells + latent + one state token), not one per word.
    """

    name = "runner"
    policy: torch.nn.Module

    def setup(self, groups: list[dict[str, Any]], lr: float, tweaks: set[str]) -> None:
        self.tweaks = tweaks
        self.opt = torch.optim.AdamW(
            groups, lr=lr, weight_decay=1e-4, fused=True if "fused" in tweaks else None
        )
        if "cl" in tweaks:
            backbone = self.policy.model.backbone
            backbone.to(memory_format=torch.channels_last)
            backbone.register_forward_pre_hook(
                lambda m, args: (args[0].contiguous(memory_format=torch.channels_last),)
            )
        self._infer_policy: torch.nn.Module | None = None

    def params(self) -> int:
        return sum(p.numel() for p in self.policy.parameters())

    def clip_and_step(self, clip: float) -> None:
        """Gradient-norm clip, then the optimizer step (LeRobot's training loop does exactly this)."""
        torch.nn.utils.clip_grad_norm_(self.policy.parameters(), clip)
        self.opt.step()

    def loss(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        raise NotImplementedError

    def forward_loss(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        self.policy.train()
        if "bf16" in self.tweaks:
            with torch.autocast("cpu", dtype=torch.bfloat16):
                loss = self.loss(batch)
        else:
            loss = self.loss(batch)
        if not torch.isfinite(loss):
            raise FloatingPointError("non-finite loss")
        return loss

    def infer_policy(self) -> torch.nn.Module:
        """The policy inference runs: itself, or (bf16) a bf16 copy whose layers cast their inputs."""
        if "bf16" not in self.tweaks:
            return self.policy
        if self._infer_policy is None:
            import copy

            p = copy.deepcopy(self.policy).to(torch.bfloat16)
            kinds = (torch.nn.Linear, torch.nn.Conv2d, torch.nn.LayerNorm, torch.nn.MultiheadAttention)
            for m in p.modules():
                if isinstance(m, kinds):
                    m.register_forward_pre_hook(
                        lambda m, args: tuple(
                            a.to(torch.bfloat16) if torch.is_tensor(a) and a.is_floating_point() else a
                            for a in args
                        )
                    )
            self._infer_policy = p
        return self._infer_policy


class OursRunner(Runner):
    """Our ACTPolicy at ACTConfig.lerobot_equivalent(), stepped the way our trainer steps it."""

    name = "ours"

    def __init__(self, data: dict[str, Any], tweaks: set[str] = frozenset(), lr: float = 1e-5):
        from act.policy import ACTConfig, ACTPolicy

        pooled = "pooled" in tweaks
        if data.get("ours_policy"):  # c at our demo's CPU config
            self.config = ACTConfig.from_dict(data["ours_policy"], source="demo policy")
        else:
            self.config = ACTConfig.lerobot_equivalent(instruction_tokens="pooled" if pooled else "words")
        # The bench's dataset sets the image size here (96x96 for a-b, the stream's 120x160 for c).
        size = tuple(data["info"]["image_size"])
        self.config = dataclasses.replace(self.config, image_size=size).with_dataset_info(data["info"])
        self.policy = ACTPolicy(self.config)
        if "packed" in tweaks:  # inference only: training steps record gradients and take the plain path
            from act.policy.cpu_inference import precision

            self.policy.optimize_for_cpu(bf16="bf16" in tweaks)
            self.inference_precision = precision(
                self.policy
            )  # bf16 falls back to fp32 without bf16 instructions
        backbone = [p for n, p in self.policy.named_parameters() if ".backbone." in f".{n}"]
        ids = {id(p) for p in backbone}
        rest = [p for p in self.policy.parameters() if id(p) not in ids]
        self.setup(
            [{"params": rest}, {"params": backbone}], lr, set(tweaks)
        )  # backbone_lr = lr, as LeRobot's

    def loss(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.policy(batch)[0]

    def clip_and_step(self, clip: float) -> None:
        """With the fused AdamW, the clip folded into the optimizer's kernel, as act's trainer does it."""
        if "fused" not in self.tweaks:
            return super().clip_and_step(clip)
        from act.training import fold_grad_clip

        fold_grad_clip(self.opt, clip)
        self.opt.step()

    def infer_policy(self) -> torch.nn.Module:
        """packed+bf16: the policy itself, its layers routed through packed bf16 weights (the library's
        way)."""
        return self.policy if "packed" in self.tweaks else super().infer_policy()

    def predict(self, batch: dict[str, torch.Tensor]) -> Any:
        return self.infer_policy().predict_chunk_batch(batch["image"][:1], batch["instruction"][:1])

    def save(self, directory: str) -> None:
        self.policy.save_pretrained(directory)


class LeRobotRunner(Runner):
    """LeRobot's ACTPolicy (same shape), with its preprocessor's normalisation done as the same tensor ops."""

    name = "lerobot"

    def __init__(self, data: dict[str, Any], tweaks: set[str] = frozenset(), lr: float = 1e-5):
        import lerobot

        ACTConfig, ACTPolicy = import_lerobot_act()
        from lerobot.configs.types import FeatureType, PolicyFeature

        h, w = data["info"]["image_size"]
        dim = int(data["action_mean"].numel())
        self.config = ACTConfig(
            input_features={IMAGE_KEY: PolicyFeature(type=FeatureType.VISUAL, shape=(3, h, w))},
            output_features={"action": PolicyFeature(type=FeatureType.ACTION, shape=(dim,))},
            device="cpu",
            chunk_size=20,
            n_action_steps=20,
            vision_backbone="resnet18",
            pretrained_backbone_weights=None,
            dim_model=512,
            n_heads=8,
            dim_feedforward=3200,
            n_encoder_layers=4,
            n_decoder_layers=1,
            use_vae=True,
            latent_dim=32,
            n_vae_encoder_layers=4,
            dropout=0.1,
            kl_weight=10.0,
            pre_norm=False,
            push_to_hub=False,
            optimizer_lr=lr,
            optimizer_lr_backbone=lr,
        )
        self.policy = ACTPolicy(self.config)
        self.version = lerobot.__version__
        self.image_mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
        self.image_std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
        self.action_mean, self.action_std = data["action_mean"], data["action_std"]
        self.setup(self.policy.get_optim_params(), lr, set(tweaks))

    def _inputs(self, batch: dict[str, torch.Tensor], n: int | None = None) -> dict[str, torch.Tensor]:
        """What LeRobot's preprocessor hands the model: float images and actions, MEAN_STD normalised."""
        image = batch["image"][:n].float() / 255  # (B, 3, H, W) in [0, 1], as a LeRobotDataset gives it
        out = {
            IMAGE_KEY: (image - self.image_mean) / self.image_std,
            "observation.state": torch.zeros(len(image), 1),
        }  # ACT reads only its device
        if n is None:
            out["action"] = (batch["action"] - self.action_mean) / (self.action_std + 1e-8)  # (B, K, A)
            out["action_is_pad"] = batch["is_pad"].bool()
        return out

    def loss(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.policy(self._inputs(batch))[0]

    def predict(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        policy = self.infer_policy()
        inputs = self._inputs(batch, 1)
        if policy is not self.policy:  # the bf16 copy
            inputs = {k: v.to(torch.bfloat16) if v.is_floating_point() else v for k, v in inputs.items()}
        actions = policy.predict_action_chunk(inputs).float()  # (1, K, A) normalised
        return actions * (self.action_std + 1e-8) + self.action_mean  # the postprocessor's unnormalise

    def save(self, directory: str) -> None:
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        torch.save(self.policy.state_dict(), d / "lerobot_act_state.pt")
