"""Head-to-head with LeRobot's ACT on the same data, same machine, same run (issue 11).

    python scripts/bench_lerobot.py                 # (or bash scripts/bench_lerobot.sh) set-up + a, b, profile
    python scripts/bench_lerobot.py --eval          # + c: both trained for the same wall-clock budget, evaluated

In one invocation:

1. ``.bench/lerobot-venv`` (git-ignored) gets torch==2.13.0, ``lerobot`` with ``--no-deps`` and only the
   packages that ``lerobot.policies.act.modeling_act`` imports (``LEROBOT_IMPORTS``, found by trying the
   import). torchvision cannot be installed beside torch 2.13.0 here, so a STAND-IN ``torchvision``
   (resnet18, IntermediateLayerGetter, FrozenBatchNorm2d, written in plain torch below) is generated into
   that venv only; LeRobot runs with ``pretrained_backbone_weights=None`` (no download), i.e. from scratch
   like ours. No LeRobot code is copied into this repository; ``act`` never imports the stand-in. The
   import skips ``lerobot/policies/__init__.py``, which eagerly imports every policy (groot -> diffusers).
2. synthui demonstrations -> a 96x96 dataset (``.bench/data``); fixed batches from ``ChunkDataset``; their
   actions flattened into LeRobot's continuous action vector (``flat_layout``).
3. One worker process per policy (ours in .venv, LeRobot's in the bench venv), run alternately (never
   together) round by round: a. train steps (forward, backward, grad-clip 10, AdamW) on the same batches,
   b. chunk prediction at batch 1. Warm-up is excluded; figures are medians over rounds, with the load
   average and CPU/wall time reported. 1 torch thread per worker by default (see ``--threads``).
   ``--variants`` adds workers with tweaks (``TWEAKS``: fused AdamW with the clip folded in, as act's
   trainer runs it; packed-weight CPU inference, fp32 or bf16; bf16; channels-last), to
   measure changes before/after under the same load.
4. torch.profiler over our train step (and LeRobot's, for contrast): top ops to ``--out``.
5. ``--eval``: both trained for the same wall-clock budget (``--budget``) on the same synthui stream
   (act's ExpertStream over act-demo's tasks and perturbation specs, same seeds, 120x160), each with
   its own batch size and learning rate and our trainer's warm-up + cosine schedule on the clock;
   ours at act-demo's CPU config (``--eval-ours demo``) or the LeRobot-equivalent one. Then rolled out
   with ``act.eval`` on the same suite, nominal and each family at 0.5; LeRobot's vector is decoded by
   argmax over the kind and key slots, executed as whole chunks and re-planning every step.

Writes ``--out``/results.json and prints the ratios ours / LeRobot.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import statistics
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
LEROBOT_VERSION = "0.4.4"  # the newest lerobot on PyPI for Python 3.11 (0.5+ needs 3.12)
TORCH_PIN = "torch==2.13.0"
# What `lerobot.policies.act.modeling_act` imports in lerobot 0.4.4, directly or through lerobot.configs,
# lerobot.datasets, lerobot.processor and lerobot.robots (pretrained.py -> configs.train -> envs -> robots ->
# processor -> datasets -> video_utils), found by trying the import; each installed with --no-deps.
LEROBOT_IMPORTS = (
    "accelerate==1.15.0",
    "av==18.1.0",
    "cachebox==6.2.10",
    "datasets==5.2.0",
    "deepdiff==9.1.0",
    "dill==0.4.1",
    "draccus==0.11.6",
    "einops==0.8.2",
    "h11==0.16.0",
    "httpcore2==2.16.2",
    "httpx2==2.16.2",
    "huggingface_hub==2.4.0",
    "idna==3.20",
    "imageio==2.38.1",
    "mergedeep==1.3.4",
    "multiprocess==0.70.19",
    "mypy_extensions==1.2.0",
    "numpy==2.4.6",
    "orderly-set==5.5.0",
    "packaging==26.4",
    "pandas==3.1.1",
    "pillow==13.0.0",
    "pyarrow==26.0.1",
    "pyserial==3.5",
    "python-dateutil==4.0.0",
    "pyyaml==6.0.4",
    "safetensors==0.8.0",
    "tqdm==4.70.1",
    "truststore==0.10.5",
    "typing-inspect==0.9.0",
    "xxhash==4.1.0",
)
# c draws both policies' batches from act's synthui expert stream; in the bench venv (where act is
# imported from the checkout, not installed) that needs gymnasium, installed --no-deps like the rest.
STREAM_IMPORTS = ("gymnasium==1.4.0", "cloudpickle==3.1.3", "Farama-Notifications==0.0.6")
SHIM_VERSION = "0.0.0+act.bench.standin.1"
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
IMAGE_KEY = "observation.images.screen"


# ------------------------------------------------------------------------------------ action vector


def flat_layout(num_kinds: int, num_keys: int) -> dict[str, slice]:
    """Where each field sits in LeRobot's continuous action vector (one step).

    [kind one-hot (num_kinds) | point x, y | point2 x, y | key one-hot (num_keys) | scroll dx, dy]:
    points normalised to [0, 1], scroll in wheel ticks; key id 0 (none) is its own slot.
    """
    sizes = {"kind": num_kinds, "point": 2, "point2": 2, "key": num_keys, "scroll": 2}
    out, start = {}, 0
    for name, n in sizes.items():
        out[name] = slice(start, start + n)
        start += n
    return out


def flat_dim(num_kinds: int, num_keys: int) -> int:
    return num_kinds + 4 + num_keys + 2


def flatten_actions(batch: dict[str, torch.Tensor], num_kinds: int, num_keys: int) -> torch.Tensor:
    """ChunkDataset actions -> (B, K, A) float vectors (zeros under ``is_pad``)."""
    layout = flat_layout(num_kinds, num_keys)
    kind, key = batch["kind"].long(), batch["key"].long()  # (B, K)
    out = torch.zeros(*kind.shape, flat_dim(num_kinds, num_keys))  # (B, K, A)
    out[..., layout["kind"]] = torch.nn.functional.one_hot(kind, num_kinds).float()
    out[..., layout["point"]] = batch["point"].float()
    out[..., layout["point2"]] = batch["point2"].float()
    out[..., layout["key"]] = torch.nn.functional.one_hot(key, num_keys).float()
    out[..., layout["scroll"]] = batch["scroll"].float()
    return out * (~batch["is_pad"].bool())[..., None]


def decode_flat(vec: np.ndarray, num_kinds: int, num_keys: int) -> dict[str, np.ndarray]:
    """(..., A) vectors -> kind, key (...) by argmax over their slots; point, point2 clipped to [0, 1]; scroll."""
    layout = flat_layout(num_kinds, num_keys)
    v = np.asarray(vec, np.float32)
    return {
        "kind": v[..., layout["kind"]].argmax(-1),
        "point": np.clip(v[..., layout["point"]], 0, 1),
        "point2": np.clip(v[..., layout["point2"]], 0, 1),
        "key": v[..., layout["key"]].argmax(-1),
        "scroll": v[..., layout["scroll"]],
    }


# ------------------------------------------------------------------------------------ torchvision stand-in

# Only what lerobot's ACT (and the modules it imports) touch: models.resnet18 (+ _utils.IntermediateLayerGetter),
# ops.misc.FrozenBatchNorm2d, transforms.ToTensor, transforms.v2.Transform / Identity (subclassed or built by
# lerobot.datasets at import or config time). Written here in plain torch; no pretrained weights.
_UNUSED = '''
    """Present only because lerobot modules outside ACT import it; anything used from it is an error."""


    def __getattr__(name):
        raise AttributeError(f"the torchvision stand-in does not implement {__name__}.{name}")
    '''
SHIM_FILES = {
    "__init__.py": f'''
        """STAND-IN for torchvision, generated by act's scripts/bench_lerobot.py into the bench venv only."""
        from torchvision import models, ops, transforms

        __version__ = "{SHIM_VERSION}"
        ''',
    "ops/__init__.py": "from torchvision.ops import misc\n",
    "ops/misc.py": '''
        import torch
        from torch import nn


        class FrozenBatchNorm2d(nn.Module):
            """BatchNorm2d with fixed statistics and affine parameters (buffers, not trained)."""

            def __init__(self, num_features: int, eps: float = 1e-5):
                super().__init__()
                self.eps = eps
                self.register_buffer("weight", torch.ones(num_features))
                self.register_buffer("bias", torch.zeros(num_features))
                self.register_buffer("running_mean", torch.zeros(num_features))
                self.register_buffer("running_var", torch.ones(num_features))

            def forward(self, x):
                scale = self.weight * (self.running_var + self.eps).rsqrt()
                shift = self.bias - self.running_mean * scale
                return x * scale[None, :, None, None] + shift[None, :, None, None]
        ''',
    "models/__init__.py": """
        from torch import nn

        from torchvision.models import _utils


        class BasicBlock(nn.Module):
            def __init__(self, c_in, c_out, stride, norm):
                super().__init__()
                self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
                self.bn1 = norm(c_out)
                self.relu = nn.ReLU(inplace=True)
                self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
                self.bn2 = norm(c_out)
                self.downsample = None
                if stride != 1 or c_in != c_out:
                    self.downsample = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), norm(c_out))

            def forward(self, x):
                y = self.relu(self.bn1(self.conv1(x)))
                y = self.bn2(self.conv2(y))
                return self.relu(y + (x if self.downsample is None else self.downsample(x)))


        class ResNet(nn.Module):
            def __init__(self, norm_layer=None, num_classes=1000):
                super().__init__()
                norm = norm_layer or nn.BatchNorm2d
                self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
                self.bn1 = norm(64)
                self.relu = nn.ReLU(inplace=True)
                self.maxpool = nn.MaxPool2d(3, 2, 1)
                c_in = 64
                for i, (c, s) in enumerate(((64, 1), (128, 2), (256, 2), (512, 2)), 1):
                    setattr(self, f"layer{i}", nn.Sequential(BasicBlock(c_in, c, s, norm), BasicBlock(c, c, 1, norm)))
                    c_in = c
                self.avgpool = nn.AdaptiveAvgPool2d(1)
                self.fc = nn.Linear(512, num_classes)
                for m in self.modules():
                    if isinstance(m, nn.Conv2d):
                        nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

            def forward(self, x):
                x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
                x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
                return self.fc(self.avgpool(x).flatten(1))


        def resnet18(*, weights=None, replace_stride_with_dilation=None, norm_layer=None, **kwargs):
            if weights is not None:
                raise ValueError("the torchvision stand-in has no pretrained weights (use weights=None)")
            if replace_stride_with_dilation and any(replace_stride_with_dilation):
                raise ValueError("the torchvision stand-in does not implement dilation")
            return ResNet(norm_layer=norm_layer, **kwargs)
        """,
    "models/_utils.py": '''
        from collections import OrderedDict

        from torch import nn


        class IntermediateLayerGetter(nn.ModuleDict):
            """Runs a model's children in order up to the last of ``return_layers``; returns those outputs."""

            def __init__(self, model, return_layers):
                wanted, layers = dict(return_layers), OrderedDict()
                remaining = set(wanted)
                for name, module in model.named_children():
                    layers[name] = module
                    remaining.discard(name)
                    if not remaining:
                        break
                super().__init__(layers)
                self.return_layers = wanted

            def forward(self, x):
                out = OrderedDict()
                for name, module in self.items():
                    x = module(x)
                    if name in self.return_layers:
                        out[self.return_layers[name]] = x
                return out
        ''',
    "transforms/__init__.py": '''
        import numpy as np
        import torch

        from torchvision.transforms import functional, v2


        class ToTensor:
            """PIL image or uint8 (H, W, C) array -> float (C, H, W) in [0, 1]."""

            def __call__(self, pic):
                a = np.asarray(pic)
                a = a[:, :, None] if a.ndim == 2 else a
                return torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1))).float().div(255)
        ''',
    "transforms/functional.py": _UNUSED,
    "transforms/v2/__init__.py": '''
        from torch import nn

        from torchvision.transforms.v2 import functional


        class Transform(nn.Module):
            """Base class only: lerobot.datasets.transforms subclasses it at import time."""


        class Identity(Transform):
            def forward(self, *inputs):
                return inputs[0] if len(inputs) == 1 else inputs
        ''',
    "transforms/v2/functional.py": _UNUSED,
}


def write_shim(site_packages: Path) -> Path:
    """Write the torchvision stand-in package into a venv's site-packages."""
    root = site_packages / "torchvision"
    for rel, text in SHIM_FILES.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
    return root


# ------------------------------------------------------------------------------------ set-up


def import_lerobot_act() -> tuple[Any, Any]:
    """LeRobot's (ACTConfig, ACTPolicy), imported without ``lerobot/policies/__init__.py``.

    That __init__ eagerly imports every policy (groot -> diffusers, transformers, ...); ACT needs none of
    them, so ``lerobot.policies`` is registered as a bare namespace over the same directory first.
    """
    import importlib.util
    import types

    if "lerobot.policies" not in sys.modules:
        spec = importlib.util.find_spec("lerobot")
        ns = types.ModuleType("lerobot.policies")
        ns.__path__ = [str(Path(next(iter(spec.submodule_search_locations))) / "policies")]
        sys.modules["lerobot.policies"] = ns
    from lerobot.policies.act.configuration_act import ACTConfig
    from lerobot.policies.act.modeling_act import ACTPolicy

    return ACTConfig, ACTPolicy


def _run(cmd: list[str], **kwargs: Any) -> subprocess.CompletedProcess:
    print("[bench] $ " + " ".join(cmd), flush=True)
    return subprocess.run(cmd, check=True, **kwargs)


def ensure_lerobot_venv(venv: Path, python: str) -> Path:
    """Create (once) the bench venv with torch 2.13.0, lerobot --no-deps, its imports and the stand-in."""
    py = venv / "bin" / "python"
    marker = venv / ".act-bench-ready"
    want = json.dumps([TORCH_PIN, LEROBOT_VERSION, *LEROBOT_IMPORTS, *STREAM_IMPORTS, SHIM_VERSION])
    if py.exists() and marker.is_file() and marker.read_text() == want:
        return py
    if not py.exists():
        _run([python, "-m", "venv", str(venv)])
    pip = [str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    _run([*pip, TORCH_PIN])
    _run([*pip, "--no-deps", f"lerobot=={LEROBOT_VERSION}", *LEROBOT_IMPORTS, *STREAM_IMPORTS])
    site = subprocess.run(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    shim = write_shim(Path(site))
    print(f"[bench] wrote the torchvision STAND-IN to {shim}", flush=True)
    _run([str(py), str(Path(__file__).resolve()), "--check-lerobot"])
    marker.write_text(want)
    return py


def ensure_dataset(root: Path, episodes: int, seed: int) -> Path:
    """synthui expert demonstrations of every task -> a 96x96 dataset (cached by its parameters)."""
    out = root / f"synthui96_{episodes}ep_s{seed}"
    if (out / "act_dataset.json").is_file():
        return out
    from act.data import build_dataset
    from act.envs.generate import generate

    recordings = root / f"recordings_{episodes}ep_s{seed}"
    generate("synthui", episodes, seed=seed, out_dir=recordings, num_workers=1, progress=False)
    build_dataset(recordings, out, image_size=(96, 96), overwrite=True)
    return out


def make_batches(dataset: Path, chunk: int, batch: int, n: int, seed: int, path: Path) -> dict[str, Any]:
    """Draw ``n`` shuffled batches from ChunkDataset, add the flat LeRobot actions, save them for both workers."""
    from torch.utils.data import DataLoader

    from act.data import ChunkDataset

    ds = ChunkDataset(dataset, chunk)
    n_kinds, n_keys = len(ds.info.action_space["kinds"]), len(ds.info.action_space["keys"])
    loader = DataLoader(
        ds, batch_size=batch, shuffle=True, drop_last=True, generator=torch.Generator().manual_seed(seed)
    )
    batches = []
    while len(batches) < n:
        for b in loader:
            b["action"] = flatten_actions(b, n_kinds, n_keys)  # (B, K, A)
            batches.append(b)
            if len(batches) == n:
                break
    data = {"batches": batches, **dataset_facts(ds)}
    torch.save(data, path)
    return data


def dataset_facts(ds: Any) -> dict[str, Any]:
    """What both workers need of a ChunkDataset: its info, and per-dimension statistics of the flat
    action vector over every step (LeRobot's MEAN_STD normalisation)."""
    info = ds.info
    n_kinds, n_keys = len(info.action_space["kinds"]), len(info.action_space["keys"])
    rows = {
        "kind": torch.as_tensor(ds.actions["kind"]).long()[:, None],
        "key": torch.as_tensor(ds.actions["key"]).long()[:, None],
        "is_pad": torch.zeros(len(ds.episode), 1, dtype=torch.bool),
        **{k: torch.as_tensor(ds.actions[k]).float()[:, None] for k in ("point", "point2", "scroll")},
    }
    flat = flatten_actions(rows, n_kinds, n_keys)[:, 0]  # (N, A)
    return {
        "info": {
            k: getattr(info, k)
            for k in (
                "image_size",
                "action_space",
                "instruction_vocab",
                "intent_vocab",
                "instruction_max_len",
                "num_episodes",
                "num_steps",
            )
        },
        "action_mean": flat.mean(0),
        "action_std": flat.std(0),
        "num_kinds": n_kinds,
        "num_keys": n_keys,
    }


def demo_setup() -> tuple[dict[str, Any], list[str], list[str]]:
    """Our demo's policy config (act/configs/experiment/demo.yaml) and its tasks and perturbation specs."""
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from act.training import register_configs

    register_configs()
    with initialize_config_dir(config_dir=str(ROOT / "act" / "configs"), version_base="1.3"):
        cfg = compose("train", overrides=["experiment=demo"])
    policy = OmegaConf.to_container(cfg.policy, resolve=True)
    return policy, list(cfg.data.generate.tasks), list(cfg.data.generate.perturbations)


def make_stream_data(root: Path, args: argparse.Namespace, path: Path) -> dict[str, Any]:
    """c's data: both workers draw batches from the same ExpertStream (same tasks, perturbation specs and
    seeds) over the demo's tasks at synthui's native 120x160; a small recorded dataset gives the
    vocabularies and the action statistics. Ours trains at the demo's policy config (``--eval-ours demo``)
    or at the LeRobot-equivalent one (``equal``)."""
    from act.data import ChunkDataset, build_dataset
    from act.envs.generate import generate

    policy, tasks, perturbations = demo_setup()
    out = root / f"stream_{'+'.join(tasks)}_{args.eval_vocab_episodes}ep_s{args.seed}"
    if not (out / "act_dataset.json").is_file():
        recordings = root / f"recordings_{out.name}"
        generate(
            tasks, args.eval_vocab_episodes, seed=args.seed, out_dir=recordings, num_workers=1, progress=False
        )
        build_dataset(recordings, out, image_size=(120, 160), overwrite=True)
    data = {
        "batches": [],
        **dataset_facts(ChunkDataset(out, 20)),
        "stream": {
            "dataset": str(out),
            "tasks": tasks,
            "perturbations": perturbations,
            "seed": args.seed,
            "batch": {"ours": args.eval_batch_ours, "lerobot": args.batch},
        },
        "ours_policy": policy if args.eval_ours == "demo" else None,
    }
    torch.save(data, path)
    return data


# ------------------------------------------------------------------------------------ workers


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
    bf16: bf16 autocast for the training forward, and (without packed) a bf16 copy of the weights for inference;
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
        """packed+bf16: the policy itself, its layers routed through packed bf16 weights (the library's way)."""
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


class Worker:
    """Serves JSON-line commands on stdin for one runner; replies on the original stdout."""

    def __init__(self, variant: str, batches_path: str, threads: int, seed: int):
        self.reply = os.fdopen(os.dup(1), "w", buffering=1)
        os.dup2(2, 1)  # anything the libraries print goes to stderr, not into the protocol
        torch.set_num_threads(threads)
        torch.manual_seed(seed)
        self.data = torch.load(batches_path, weights_only=False)
        self.batches = self.data["batches"]
        t0 = time.perf_counter()
        base, *tweaks = variant.split("+")
        self.runner = (OursRunner if base == "ours" else LeRobotRunner)(self.data, set(tweaks))
        self.build_s = time.perf_counter() - t0
        self.i = 0
        self.stream = self._stream(base) if self.data.get("stream") else None

    def _stream(self, base: str) -> Any:
        """c: batches from act's ExpertStream, the same episodes for both workers (same seed); ours also
        gets the reading labels of its pointer grid. act is imported from the checkout (the bench venv
        does not install it)."""
        sys.path.insert(0, str(ROOT))
        from torch.utils.data import DataLoader

        from act.data import DatasetInfo
        from act.training.online import ExpertStream

        spec = self.data["stream"]
        cells = self.runner.config.pointer_cells() if base == "ours" else None
        chunk = self.runner.config.chunk_size
        stream = ExpertStream(
            DatasetInfo.load(spec["dataset"]),
            spec["tasks"],
            spec["perturbations"],
            chunk,
            seed=spec["seed"],
            cells=cells,
        )
        return iter(DataLoader(stream, batch_size=spec["batch"][base]))

    def next_batch(self) -> dict[str, torch.Tensor]:
        if self.stream is not None:
            b = next(self.stream)
            b["action"] = flatten_actions(b, self.data["num_kinds"], self.data["num_keys"])  # (B, K, A)
            return b
        b = self.batches[self.i % len(self.batches)]
        self.i += 1
        return b

    def train_step(self, clip: float = 10.0) -> dict[str, float]:
        r, batch = self.runner, self.next_batch()
        t0, c0 = time.perf_counter(), time.process_time()
        loss = r.forward_loss(batch)
        t1 = time.perf_counter()
        r.opt.zero_grad(set_to_none=True)
        loss.backward()
        t2 = time.perf_counter()
        r.clip_and_step(clip)
        t3 = time.perf_counter()
        return {
            "step": t3 - t0,
            "fwd": t1 - t0,
            "bwd": t2 - t1,
            "opt": t3 - t2,
            "cpu": time.process_time() - c0,
            "loss": float(loss),
        }

    def handle(self, msg: dict[str, Any]) -> dict[str, Any]:
        cmd = msg["cmd"]
        if cmd == "hello":
            extra = {
                "lerobot": getattr(self.runner, "version", None),
                "inference_precision": getattr(self.runner, "inference_precision", None),
            }
            return {
                "params": self.runner.params(),
                "build_s": self.build_s,
                "torch": torch.__version__,
                "threads": torch.get_num_threads(),
                **extra,
            }
        if cmd == "train":
            if msg.get("reset_index") is not None:
                self.i = int(msg["reset_index"])
            return {"steps": [self.train_step() for _ in range(int(msg["steps"]))]}
        if cmd == "train_for":  # the same-budget run of c
            # Our trainer's schedule, on the clock: linear warm-up over 100 steps, then cosine decay to
            # 5% of ``lr`` as the budget runs out (the step count a budget buys is not known upfront).
            peak, budget = float(msg["lr"]), float(msg["seconds"])
            self.i, start, n, losses = 0, time.perf_counter(), 0, []
            while (elapsed := time.perf_counter() - start) < budget:
                cosine = 0.05 + 0.95 * 0.5 * (1 + np.cos(np.pi * elapsed / budget))
                for group in self.runner.opt.param_groups:
                    group["lr"] = peak * min(1.0, (n + 1) / 100) * cosine
                losses.append(self.train_step()["loss"])
                n += 1
            self.runner.save(msg["save_to"])
            return {
                "steps": n,
                "seconds": time.perf_counter() - start,
                "loss_first": losses[:5],
                "loss_last": losses[-5:],
            }
        if cmd == "infer":
            times = []
            with torch.inference_mode():
                for _ in range(int(msg["n"])):
                    batch = self.next_batch()
                    t0 = time.perf_counter()
                    self.runner.predict(batch)
                    times.append(time.perf_counter() - t0)
            return {"times": times}
        if cmd == "act":  # one chunk for a rollout: image uint8 (3, H, W) as a list, instruction ids
            image = torch.tensor(msg["image"], dtype=torch.uint8)[None]
            instr = torch.tensor([msg["instruction"]], dtype=torch.long)
            with torch.inference_mode():
                out = self.runner.predict({"image": image, "instruction": instr})
            return {"chunk": out[0].tolist()}
        if cmd == "profile":
            return self.profile(int(msg["steps"]), msg["path"])
        raise ValueError(f"unknown command {cmd!r}")

    def profile(self, steps: int, path: str) -> dict[str, Any]:
        from torch.profiler import ProfilerActivity, profile, record_function

        with profile(activities=[ProfilerActivity.CPU]) as prof:
            for _ in range(steps):
                r, batch = self.runner, self.next_batch()
                with record_function("## forward+loss"):
                    loss = r.forward_loss(batch)
                r.opt.zero_grad(set_to_none=True)
                with record_function("## backward"):
                    loss.backward()
                with record_function("## clip+optimizer"):
                    r.clip_and_step(10.0)
        events = prof.key_averages()
        Path(path).write_text(
            events.table(sort_by="self_cpu_time_total", row_limit=40)
            + "\n"
            + events.table(sort_by="cpu_time_total", row_limit=25)
            + "\n"
        )
        total = sum(e.self_cpu_time_total for e in events)
        top = sorted(events, key=lambda e: e.self_cpu_time_total, reverse=True)[:15]
        phases = {e.key: e.cpu_time_total / steps / 1e3 for e in events if e.key.startswith("## ")}
        return {
            "self_cpu_ms_per_step": total / steps / 1e3,
            "phases_ms": phases,
            "top": [
                {
                    "op": e.key,
                    "self_ms": e.self_cpu_time_total / steps / 1e3,
                    "pct": 100 * e.self_cpu_time_total / total,
                    "calls": e.count // steps,
                }
                for e in top
            ],
        }

    def serve(self) -> None:
        self.send({"ready": True})
        for line in sys.stdin:
            msg = json.loads(line)
            if msg["cmd"] == "quit":
                break
            try:
                self.send({"ok": True, **self.handle(msg)})
            except Exception as e:  # noqa: BLE001 - reported to the driver, which stops
                import traceback

                traceback.print_exc()
                self.send({"ok": False, "error": f"{type(e).__name__}: {e}"})

    def send(self, obj: dict[str, Any]) -> None:
        self.reply.write(json.dumps(obj) + "\n")


class Client:
    """The driver's handle on one worker process."""

    def __init__(
        self,
        name: str,
        python: str,
        batches: Path,
        threads: int,
        seed: int,
        log: Path,
        env: dict[str, str] | None = None,
    ):
        self.name = name
        self.log = log.open("w")
        env = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "OMP_NUM_THREADS": str(threads),
            "TOKENIZERS_PARALLELISM": "false",
            "HF_HUB_OFFLINE": "1",
            **(env or {}),
        }
        self.proc = subprocess.Popen(
            [
                python,
                str(Path(__file__).resolve()),
                "--worker",
                name,
                "--batches",
                str(batches),
                "--threads",
                str(threads),
                "--seed",
                str(seed),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
            cwd=str(ROOT),
            env=env,
        )
        self.ready = self._read()

    def _read(self) -> dict[str, Any]:
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"{self.name} worker died; see {self.log.name}")
        return json.loads(line)

    def call(self, cmd: str, **kwargs: Any) -> dict[str, Any]:
        self.proc.stdin.write(json.dumps({"cmd": cmd, **kwargs}) + "\n")
        self.proc.stdin.flush()
        out = self._read()
        if not out.get("ok"):
            raise RuntimeError(f"{self.name} worker: {out.get('error')} (log: {self.log.name})")
        return out

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write('{"cmd": "quit"}\n')
                self.proc.stdin.flush()
                self.proc.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
        self.log.close()


# ------------------------------------------------------------------------------------ driver


def _median(xs: list[float]) -> float:
    return float(statistics.median(xs)) if xs else float("nan")


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def measure(clients: dict[str, Client], args: argparse.Namespace) -> dict[str, Any]:
    """a and b: interleaved rounds (the order flips every round); warm-up steps first, never timed."""
    out: dict[str, Any] = {name: {"train": [], "infer": []} for name in clients}
    loads = [_load()]
    for c in clients.values():  # warm-up: allocator, kernels, optimizer state
        c.call("train", steps=args.warmup)
        c.call("infer", n=args.warmup)
    names = list(clients)
    for r in range(args.rounds):
        order = names if r % 2 == 0 else names[::-1]
        for name in order:  # both train on the same batch sequence
            out[name]["train"] += clients[name].call("train", steps=args.steps, reset_index=r * args.steps)[
                "steps"
            ]
        for name in order:
            out[name]["infer"] += clients[name].call("infer", n=args.infer)["times"]
        loads.append(_load())
        s = {n: _median([x["step"] for x in out[n]["train"]]) * 1e3 for n in names}
        print(
            f"[bench] round {r + 1}/{args.rounds}: median train step "
            + ", ".join(f"{n} {v:.0f} ms" for n, v in s.items())
            + f"; load {loads[-1]}",
            flush=True,
        )
    summary: dict[str, Any] = {"load_avg_1_5_15": loads}
    for name in names:
        steps, infer = out[name]["train"], out[name]["infer"]
        med = {k: _median([x[k] for x in steps]) * 1e3 for k in ("step", "fwd", "bwd", "opt", "cpu")}
        summary[name] = {
            "train_step_ms": med["step"],
            "train_step_ms_p10_p90": [
                float(np.percentile([x["step"] for x in steps], q)) * 1e3 for q in (10, 90)
            ],
            "forward_ms": med["fwd"],
            "backward_ms": med["bwd"],
            "clip_optimizer_ms": med["opt"],
            "cpu_ms_per_step": med["cpu"],
            "samples_per_s": args.batch / (med["step"] / 1e3),
            "n_steps": len(steps),
            "infer_ms": _median(infer) * 1e3,
            "infer_ms_p90": float(np.percentile(infer, 90)) * 1e3,
            "n_infer": len(infer),
        }
    return summary


def print_table(res: dict[str, Any], names: list[str]) -> str:
    """The ratio table: every worker against LeRobot's baseline (wall-clock medians; CPU time beside)."""
    base = res["lerobot"]
    lines = [
        f"{'policy':22s} {'step ms':>8s} {'fwd':>6s} {'bwd':>6s} {'opt':>6s} {'cpu ms':>7s} {'samples/s':>9s} "
        f"{'speed vs LR':>11s} {'cpu vs LR':>9s} {'infer ms':>8s} {'infer/LR':>8s}",
    ]
    for n in names:
        r = res[n]
        lines.append(
            f"{n:22s} {r['train_step_ms']:8.0f} {r['forward_ms']:6.0f} {r['backward_ms']:6.0f} {r['clip_optimizer_ms']:6.0f} "
            f"{r['cpu_ms_per_step']:7.0f} {r['samples_per_s']:9.2f} {base['train_step_ms'] / r['train_step_ms']:10.2f}x "
            f"{base['cpu_ms_per_step'] / r['cpu_ms_per_step']:8.2f}x {r['infer_ms']:8.1f} {r['infer_ms'] / base['infer_ms']:8.2f}"
        )
    shipped = [
        ("ours+fused+packed", "fp32 as act trains and evaluates it, one token per instruction word"),
        ("ours+fused+pooled+packed", "the same, pooled instruction (LeRobot's token count)"),
    ]
    for n, what in [(n, w) for n, w in shipped if n in res] or [("ours", "fp32")]:
        o = res[n]
        speed, lat = base["train_step_ms"] / o["train_step_ms"], o["infer_ms"] / base["infer_ms"]
        lines.append(
            f"=> {n} vs LeRobot, {what}: training {speed:.2f}x as fast (samples/s ratio "
            f"{o['samples_per_s'] / base['samples_per_s']:.2f}; target >= 1.3: {'met' if speed >= 1.3 else 'MISSED'}), "
            f"inference latency ratio {lat:.2f} (target <= 0.7: {'met' if lat <= 0.7 else 'MISSED'})"
        )
    for n, what in (
        ("ours+fused+packed+bf16", "one token per instruction word"),
        ("ours+fused+pooled+packed+bf16", "pooled"),
    ):
        if n in res:  # inference only: these workers also train under bf16 autocast, which act does not ship
            if res[n].get("inference_precision") != "bf16":  # no bf16 instructions: it packed fp32
                lines.append(f"=> {n}: this CPU has no bf16 instructions; it ran packed fp32 (see above)")
                continue
            lat = res[n]["infer_ms"] / base["infer_ms"]
            vs_bf16 = (
                f"; vs LeRobot's weights cast to bf16 {res[n]['infer_ms'] / res['lerobot+bf16']['infer_ms']:.2f}"
                if "lerobot+bf16" in res
                else ""
            )
            lines.append(
                f"=> {n}, optimize_for_cpu(bf16=True), {what}: inference latency ratio {lat:.2f} vs LeRobot "
                f"fp32 (target <= 0.7: {'met' if lat <= 0.7 else 'MISSED'}){vs_bf16}"
            )
    text = "\n".join(lines)
    print(text, flush=True)
    return text


def evaluate_same_budget(
    clients: dict[str, Client], data: dict[str, Any], args: argparse.Namespace, out: Path
) -> dict[str, Any]:
    """c: both trained for ``--budget`` seconds on the same stream, then rolled out on the same suite.

    Ours re-plans at every step (what act-demo evaluates); LeRobot is rolled out as it executes a chunk
    (all ``chunk_size`` steps open loop) and re-planning at every step, whichever does better."""
    from act.eval import EpisodeResult, Suite, run_episode, summarize
    from act.policy import ACTPolicy

    suite = Suite(
        name="bench_lerobot",
        tasks=data["stream"]["tasks"],
        episodes=args.eval_episodes,
        families=args.eval_families,
        severities=[0.5],
    )
    lrs = {"ours": args.eval_lr_ours, "lerobot": args.eval_lr}
    trained = {}
    for name, c in clients.items():
        print(f"[bench] c: training {name} for {args.budget:.0f} s at lr {lrs[name]:g}", flush=True)
        trained[name] = c.call(
            "train_for", seconds=args.budget, lr=lrs[name], save_to=str(out / f"policy_c_{name}")
        )
        print(
            f"[bench] c: {name}: {trained[name]['steps']} steps, loss {trained[name]['loss_first'][0]:.3f} -> "
            f"{trained[name]['loss_last'][-1]:.3f}",
            flush=True,
        )
    ours = ACTPolicy.from_pretrained(out / "policy_c_ours")
    ours.config.temporal_ensemble_coeff, ours.config.n_action_steps = None, 1
    policies = {
        "ours": ours,
        "lerobot": LeRobotBridge(clients["lerobot"], data, ours),
        "lerobot_replan": LeRobotBridge(clients["lerobot"], data, ours, n_action_steps=1),
    }
    episodes: list[EpisodeResult] = []
    for name, policy in policies.items():
        t0 = time.perf_counter()
        for cond in suite.conditions():
            for env_id in suite.env_ids():
                for seed in suite.seeds():
                    episodes.append(
                        run_episode(
                            policy,
                            env_id,
                            seed,
                            cond.perturbation,
                            name=name,
                            condition=cond.name,
                            max_steps=args.eval_max_steps,
                        )
                    )
        print(f"[bench] c: rolled out {name} in {time.perf_counter() - t0:.0f} s", flush=True)
    summary = summarize(episodes, suite)
    table = {
        name: {cond: s["conditions"][cond]["success"] for cond in s["conditions"]}
        for name, s in summary.items()
    }
    families = {
        name: float(np.mean([v for c, v in t.items() if c != "nominal"])) for name, t in table.items()
    }
    errors = {name: sum(e.error is not None for e in episodes if e.policy == name) for name in summary}
    lines = [f"{'condition':20s} " + " ".join(f"{n:>15s}" for n in table)]
    for cond in table["ours"]:
        lines.append(f"{cond:20s} " + " ".join(f"{table[n][cond]:15.0%}" for n in table))
    lines.append(f"{'mean perturbed':20s} " + " ".join(f"{families[n]:15.0%}" for n in table))
    best = max(families["lerobot"], families["lerobot_replan"])
    lines.append(
        f"=> same budget ({args.budget:.0f} s each, same stream): ours {families['ours']:.0%} vs LeRobot "
        f"{best:.0%} averaged over the perturbed conditions (target: higher: "
        f"{'met' if families['ours'] > best else 'MISSED'})"
    )
    print("[bench] c: success per condition\n" + "\n".join(lines), flush=True)
    return {
        "train": trained,
        "lr": lrs,
        "success": table,
        "mean_over_families": families,
        "errors": errors,
        "suite": vars(suite),
        "summary": summary,
        "table": "\n".join(lines),
    }


class LeRobotBridge:
    """An act.eval policy (reset / select_action) whose chunks come from the LeRobot worker.

    Observations go through our policy's own preprocessing (resize to its image size, tokenise);
    LeRobot's continuous vector is decoded by argmax over the kind (and key) slots; ``n_action_steps``
    of each chunk are executed (None: all of it, as LeRobot's n_action_steps = chunk_size).
    """

    def __init__(self, client: Client, data: dict[str, Any], ours: Any, n_action_steps: int | None = None):
        self.client, self.ours, self.n_action_steps = client, ours, n_action_steps
        self.n_kinds, self.n_keys = data["num_kinds"], data["num_keys"]
        self.queue: list[dict[str, Any]] = []

    def reset(self) -> None:
        self.queue = []

    def select_action(self, obs: dict[str, Any]) -> dict[str, Any]:
        if not self.queue:
            image, instruction = self.ours._observation(obs)
            chunk = np.asarray(
                self.client.call("act", image=image[0].tolist(), instruction=instruction[0].tolist())["chunk"]
            )
            d = decode_flat(chunk, self.n_kinds, self.n_keys)  # (K, ...) each
            self.queue = [
                {
                    "kind": int(d["kind"][i]),
                    "point": d["point"][i],
                    "point2": d["point2"][i],
                    "key": int(d["key"][i]),
                    "scroll": d["scroll"][i],
                }
                for i in range(len(chunk))
            ]
            self.queue = self.queue[: self.n_action_steps or len(self.queue)]
        return self.queue.pop(0)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--batches", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--bench-dir", type=Path, default=ROOT / ".bench")
    p.add_argument("--out", type=Path, default=ROOT / "outputs" / "bench_lerobot")
    p.add_argument(
        "--python",
        default=sys.executable if sys.version_info[:2] == (3, 11) else "python3.11",
        help="interpreter that creates the LeRobot venv (3.11)",
    )
    p.add_argument("--episodes", type=int, default=4, help="synthui demonstrations per task for the dataset")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument(
        "--n-batches",
        type=int,
        default=32,
        help="distinct batches, cycled (32 x 8 ~ the whole default dataset)",
    )
    p.add_argument("--rounds", type=int, default=7, help="interleaved rounds")
    p.add_argument("--steps", type=int, default=4, help="train steps per worker per round")
    p.add_argument("--infer", type=int, default=10, help="batch-1 chunk predictions per worker per round")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--profile-steps", type=int, default=3)
    p.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads per worker (1: on this shared 2-core machine 2 threads made steps 3-10x slower "
        "and far noisier, from OpenMP threads waiting on descheduled peers)",
    )
    p.add_argument(
        "--variants",
        nargs="*",
        default=[
            "ours+fused+packed",
            "ours+fused+pooled+packed",
            "ours+fused+packed+bf16",
            "ours+fused+pooled+packed+bf16",
            "lerobot+bf16",
        ],
        help=f"extra workers, BASE+TWEAK+...: BASE ours|lerobot, TWEAK in {TWEAKS}",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--eval", action="store_true", help="also c: same wall-clock budget, then act.eval rollouts"
    )
    p.add_argument(
        "--budget",
        type=float,
        default=420.0,
        help="seconds of training per policy for --eval (act-demo trains ACT for about this long)",
    )
    p.add_argument(
        "--eval-lr",
        type=float,
        default=1e-4,
        help="LeRobot's peak learning rate for --eval (its default, 1e-5, barely moves in minutes)",
    )
    p.add_argument(
        "--eval-lr-ours", type=float, default=1e-3, help="ours for --eval (act's OptimConfig default)"
    )
    p.add_argument(
        "--eval-ours",
        choices=["demo", "equal"],
        default="demo",
        help="our policy config for --eval: act-demo's CPU config, or the LeRobot-equivalent one",
    )
    p.add_argument(
        "--eval-batch-ours", type=int, default=32, help="ours for --eval (act's default; LeRobot: --batch)"
    )
    p.add_argument(
        "--eval-vocab-episodes",
        type=int,
        default=60,
        help="recorded demonstrations per task for --eval's vocabularies and action statistics",
    )
    p.add_argument(
        "--eval-threads",
        type=int,
        default=2,
        help="torch threads per worker for --eval (one trains at a time: every core)",
    )
    p.add_argument("--eval-episodes", type=int, default=6, help="seeds per task and condition for --eval")
    p.add_argument(
        "--eval-families",
        nargs="*",
        default=[
            "layout_shift",
            "reorder",
            "scale",
            "theme",
            "relabel",
            "distractors",
            "popup",
            "window_size",
        ],
    )
    p.add_argument("--eval-max-steps", type=int, default=None)
    p.add_argument("--check-lerobot", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.check_lerobot:  # run by the bench venv's python after set-up
        import torchvision

        import_lerobot_act()
        assert torch.__version__.startswith("2.13.0"), torch.__version__
        print(
            f"[bench] lerobot ACT imports (torch {torch.__version__}, torchvision {torchvision.__version__})"
        )
        return
    if args.worker:
        Worker(args.worker, str(args.batches), args.threads, args.seed).serve()
        return

    args.out.mkdir(parents=True, exist_ok=True)
    args.bench_dir.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()
    lerobot_py = ensure_lerobot_venv(args.bench_dir / "lerobot-venv", args.python)
    dataset = ensure_dataset(args.bench_dir / "data", args.episodes, args.seed)
    batches_path = args.bench_dir / "batches.pt"
    data = make_batches(dataset, 20, args.batch, args.n_batches, args.seed, batches_path)
    print(
        f"[bench] dataset {dataset}: {data['info']['num_episodes']} episodes, {data['info']['num_steps']} steps; "
        f"action vector {data['action_mean'].numel()} dims (kind one-hot {data['num_kinds']}, point 2, point2 2, "
        f"key one-hot {data['num_keys']}, scroll 2)",
        flush=True,
    )
    clients: dict[str, Client] = {}
    try:
        clients["ours"] = Client(
            "ours", sys.executable, batches_path, args.threads, args.seed, args.out / "worker_ours.log"
        )
        clients["lerobot"] = Client(
            "lerobot", str(lerobot_py), batches_path, args.threads, args.seed, args.out / "worker_lerobot.log"
        )
        for v in args.variants:
            base, *tweaks = v.split("+")
            if base not in ("ours", "lerobot") or not set(tweaks) <= set(TWEAKS):
                raise SystemExit(f"--variants: {v!r} is not ours|lerobot followed by +tweaks from {TWEAKS}")
            py = sys.executable if base == "ours" else str(lerobot_py)
            clients[v] = Client(v, py, batches_path, args.threads, args.seed, args.out / f"worker_{v}.log")
        hello = {n: c.call("hello") for n, c in clients.items()}
        load0 = _load()
        res = measure(clients, args)
        for n in clients:
            res[n].update(
                params=hello[n]["params"],
                torch=hello[n]["torch"],
                threads=hello[n]["threads"],
                inference_precision=hello[n]["inference_precision"],
            )
        res["load_before_after"] = [load0, _load()]
        table = print_table(res, list(clients))
        print(
            "[bench] parameters: "
            + ", ".join(f"{n} {res[n]['params'] / 1e6:.1f}M" for n in ("ours", "lerobot"))
            + f"; torch threads per worker {args.threads}; load average before/after {res['load_before_after']}",
            flush=True,
        )
        profiles = {
            n: clients[n].call("profile", steps=args.profile_steps, path=str(args.out / f"profile_{n}.txt"))
            for n in ("ours", "lerobot", *[v for v in args.variants if v == "ours+fused+packed"])
        }
        for n, prof in profiles.items():
            top = ", ".join(f"{t['op']} {t['pct']:.0f}%" for t in prof["top"][:6])
            print(
                f"[bench] profile {n}: {prof['self_cpu_ms_per_step']:.0f} ms/step; top self-CPU: {top}",
                flush=True,
            )
        results: dict[str, Any] = {
            "issue": 11,
            "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "threads": args.threads},
            "lerobot_version": hello["lerobot"]["lerobot"],
            "torch": {n: h["torch"] for n, h in hello.items()},
            "torchvision": f"STAND-IN {SHIM_VERSION} (plain-torch resnet18 / FrozenBatchNorm2d written by this script "
            "into .bench/lerobot-venv; torchvision is not installable beside torch 2.13.0 here)",
            "config": "ResNet-18 (random init), dim 512, 8 heads, ff 3200, 4 enc / 1 dec, VAE 4 layers, latent 32, "
            f"96x96, chunk 20, batch {args.batch}, AdamW, grad-clip 10",
            "action_layout": {
                k: [s.start, s.stop] for k, s in flat_layout(data["num_kinds"], data["num_keys"]).items()
            },
            "dataset": {"path": str(dataset), **{k: data["info"][k] for k in ("num_episodes", "num_steps")}},
            "protocol": {
                k: getattr(args, k) for k in ("rounds", "steps", "infer", "warmup", "batch", "n_batches")
            },
            "results": res,
            "ratios_over_lerobot": {
                n: {
                    "train_step_time": res[n]["train_step_ms"] / res["lerobot"]["train_step_ms"],
                    "train_samples_per_s": res[n]["samples_per_s"] / res["lerobot"]["samples_per_s"],
                    "train_cpu_time": res[n]["cpu_ms_per_step"] / res["lerobot"]["cpu_ms_per_step"],
                    "inference_latency": res[n]["infer_ms"] / res["lerobot"]["infer_ms"],
                }
                for n in clients
            },
            "targets": {"train_speedup_min": 1.3, "inference_latency_ratio_max": 0.7},
            "table": table,
            "profiles": profiles,
        }
        results["wall_s"] = time.perf_counter() - t_start
        (args.out / "results.json").write_text(
            json.dumps(results, indent=2, default=str) + "\n"
        )  # a, b, profile
        if args.eval:
            stream_path = args.bench_dir / "stream.pt"
            stream = make_stream_data(args.bench_dir / "data", args, stream_path)
            for c in clients.values():
                c.close()
            from act.envs.synthui.style import font_dir

            fonts = {"ACT_FONT_DIR": str(font_dir())}  # synthui's fonts, from our venv's matplotlib
            clients = {
                "ours": Client(
                    "ours",
                    sys.executable,
                    stream_path,
                    args.eval_threads,
                    args.seed,
                    args.out / "worker_c_ours.log",
                ),
                "lerobot": Client(
                    "lerobot",
                    str(lerobot_py),
                    stream_path,
                    args.eval_threads,
                    args.seed,
                    args.out / "worker_c_lerobot.log",
                    env=fonts,
                ),
            }
            results["same_budget"] = evaluate_same_budget(clients, stream, args, args.out)
            results["wall_s"] = time.perf_counter() - t_start
            (args.out / "results.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
        print(f"[bench] wrote {args.out / 'results.json'} ({results['wall_s']:.0f} s)", flush=True)
    finally:
        for c in clients.values():
            c.close()


if __name__ == "__main__":
    main()
