"""Image backbones written here (torchvision is not a dependency) and 2D sine position embeddings.

Both backbones map a normalised float image (B, 3, H, W) to a feature map (B, C, h, w) with
h = ceil(H / stride), w = ceil(W / stride); every stride-s layer uses padding so that it computes
ceil(n / s). ``feature_size`` gives (h, w) without running the net.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from act.policy.configuration_act import ACTConfig


def _ceil_div(n: int, s: int) -> int:
    return -(-n // s)


def _channels_last(x: torch.Tensor) -> torch.Tensor:
    """The ConvNet's input in channels-last memory (same shape): oneDNN's convolutions then skip their
    layout reorders, which speeds up CPU training; ResNet-18 at 96x96 gets slower, so it stays
    contiguous (docs/experiments.md#policy-timings)."""
    return x.contiguous(memory_format=torch.channels_last)


class ConvNet(nn.Module):
    """A small CPU-friendly conv net: conv3x3-BN-ReLU stages, strides as configured."""

    def __init__(
        self, channels: tuple[int, ...] = (32, 64, 128, 128), strides: tuple[int, ...] = (2, 2, 2, 1)
    ):
        super().__init__()
        layers: list[nn.Module] = []
        c_in = 3
        for c, s in zip(channels, strides, strict=True):
            layers += [nn.Conv2d(c_in, c, 3, s, 1, bias=False), nn.BatchNorm2d(c), nn.ReLU(inplace=True)]
            c_in = c
        self.body = nn.Sequential(*layers)
        self.strides = tuple(strides)
        self.out_channels = c_in
        self.stride = math.prod(strides)

    def feature_size(self, h: int, w: int) -> tuple[int, int]:
        for s in self.strides:
            h, w = _ceil_div(h, s), _ceil_div(w, s)
        return h, w

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, 3, H, W) -> (B, C, h, w)
        return self.body(_channels_last(x))

    def forward_levels(self, x: torch.Tensor, level: int) -> tuple[torch.Tensor, torch.Tensor]:
        """-> the output of stage ``level`` (B, C_level, h_level, w_level) and the final map (B, C, h, w)."""
        fine, x = None, _channels_last(x)
        for i, layer in enumerate(self.body):  # three layers per stage: conv, BN, ReLU
            x = layer(x)
            if i == 3 * level + 2:
                fine = x
        assert fine is not None, f"level {level} >= {len(self.strides)} stages"
        return fine, x


class FrozenBatchNorm2d(nn.Module):
    """Batch norm with fixed statistics and affine (buffers, not parameters), as DETR, ACT and LeRobot
    use around ImageNet weights; from scratch (weight 1, bias 0, mean 0, var 1) it is the identity.
    One ``addcmul`` forward and one multiply back, where a trained norm reduces over the batch both
    ways. (Folding it into the convolution's weight instead was slower for ResNet-18 at 96x96 and batch
    8: its weights outweigh its activations.) Same state-dict names as ``nn.BatchNorm2d``; a trained
    norm's ``num_batches_tracked`` is ignored on loading, so such weights load as they are."""

    def __init__(self, channels: int, eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        for name, value in (("weight", 1.0), ("bias", 0.0), ("running_mean", 0.0), ("running_var", 1.0)):
            self.register_buffer(name, torch.full((channels,), value))

    def _load_from_state_dict(self, state_dict, prefix, *args: Any, **kwargs: Any) -> None:
        state_dict.pop(prefix + "num_batches_tracked", None)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def scale_shift(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(C,) scale and shift with norm(x) = x * scale + shift per channel."""
        scale = self.weight * (self.running_var + self.eps).rsqrt()
        return scale, self.bias - self.running_mean * scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, H, W)
        scale, shift = self.scale_shift()
        return torch.addcmul(shift[:, None, None], x, scale[:, None, None])


class BasicBlock(nn.Module):
    """ResNet basic block: two conv3x3 with BN, identity (or 1x1 projection) shortcut."""

    def __init__(self, c_in: int, c_out: int, stride: int, norm: type[nn.Module] = nn.BatchNorm2d):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = norm(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = norm(c_out)
        if isinstance(self.bn2, nn.BatchNorm2d):
            nn.init.zeros_(self.bn2.weight)  # each block starts as the identity: trains well from scratch
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), norm(c_out))
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return self.relu(y + self.shortcut(x))


class ResNet18(nn.Module):
    """ResNet-18 (He et al. 2016) up to layer4: (B, 3, H, W) -> (B, 512, H/32, W/32).

    ``frozen_norm``: FrozenBatchNorm2d instead of trained batch norm (for ImageNet weights loaded
    into it, and to match LeRobot's ACT layer for layer)."""

    def __init__(self, frozen_norm: bool = False) -> None:
        super().__init__()
        norm = FrozenBatchNorm2d if frozen_norm else nn.BatchNorm2d
        self.stem = nn.Sequential(
            nn.Conv2d(3, 64, 7, 2, 3, bias=False),
            norm(64),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(3, 2, 1),
        )
        layers, c_in = [], 64
        for c, s in ((64, 1), (128, 2), (256, 2), (512, 2)):
            layers.append(nn.Sequential(BasicBlock(c_in, c, s, norm), BasicBlock(c, c, 1, norm)))
            c_in = c
        self.layer1, self.layer2, self.layer3, self.layer4 = layers
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        self.out_channels = 512
        self.stride = 32

    def feature_size(self, h: int, w: int) -> tuple[int, int]:
        for _ in range(5):  # conv1, maxpool, layer2, layer3, layer4 each halve (rounding up)
            h, w = _ceil_div(h, 2), _ceil_div(w, 2)
        return h, w

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, 3, H, W) -> (B, 512, h, w)
        return self.layer4(self.layer3(self.layer2(self.layer1(self.stem(x)))))


def build_backbone(config: ACTConfig) -> ConvNet | ResNet18:
    """The backbone the config names."""
    if config.backbone == "resnet18":
        return ResNet18(frozen_norm=config.backbone_norm == "frozen")
    return ConvNet(config.convnet_channels, config.convnet_strides)


def sine_position_2d(h: int, w: int, dim: int, temperature: float = 10000.0) -> torch.Tensor:
    """DETR's 2D sine embedding of an (h, w) grid, row-major: (h * w, dim); half the dims for y, half x."""
    if dim % 4:
        raise ValueError(f"sine_position_2d: dim {dim} must be divisible by 4")
    n = dim // 2
    freqs = temperature ** (2 * (torch.arange(n) // 2) / n)  # (n,)
    y = (torch.arange(h, dtype=torch.float32) + 1) / h * 2 * math.pi  # (h,) normalised as in DETR
    x = (torch.arange(w, dtype=torch.float32) + 1) / w * 2 * math.pi  # (w,)
    py, px = y[:, None] / freqs, x[:, None] / freqs  # (h, n), (w, n)
    py = torch.stack((py[:, 0::2].sin(), py[:, 1::2].cos()), dim=2).flatten(1)  # (h, n)
    px = torch.stack((px[:, 0::2].sin(), px[:, 1::2].cos()), dim=2).flatten(1)  # (w, n)
    pos = torch.cat((py[:, None, :].expand(h, w, n), px[None, :, :].expand(h, w, n)), dim=2)  # (h, w, dim)
    return pos.reshape(h * w, dim)


def sine_position_1d(n: int, dim: int, temperature: float = 10000.0) -> torch.Tensor:
    """The transformer's 1D sine table: (n, dim)."""
    pos = torch.arange(n, dtype=torch.float32)[:, None]  # (n, 1)
    freqs = temperature ** (torch.arange(0, dim, 2, dtype=torch.float32) / dim)  # (dim/2,)
    table = torch.zeros(n, dim)
    table[:, 0::2] = (pos / freqs).sin()
    table[:, 1::2] = (pos / freqs[: dim // 2]).cos()
    return table
