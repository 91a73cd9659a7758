"""Faster batch-1 inference on x86 CPUs with the same fp32 arithmetic: ``ACTPolicy.optimize_for_cpu()``.

At batch 1 every matrix product of the policy has a handful of rows: the encoder's tokens (~11-40),
the decoder's queries (chunk + 1), a late ResNet stage's output pixels (9 or 36). MKL's default sgemm
is slow at such shapes and about twice as fast with the weight pre-packed for that row count
(11 x 512 @ 512 x 3200: 1.03 -> 0.50 ms on this project's 2-core CPU); torch.compile's CPU freezing
pass packs weights the same way, but needs a C++ toolchain and ~20 s of compiling per input shape.

Each ``nn.Linear`` keeps its weight packed per row count (rounded up to ``ROW_BUCKET``) and each
``nn.Conv2d`` its weight in oneDNN's blocked layout per input shape (20-25% faster than the im2col
path PyTorch picks for small maps at batch 1); both are used only when no gradient is recorded;
training, autograd, other dtypes and devices take the plain path. A weight changed in place (an
optimizer step, ``load_state_dict``) is re-packed on its next use. The state dict is untouched.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

MAX_SHAPES = 4  # packed copies kept per layer (input shapes seen); the oldest is dropped first
# A Linear's rows are padded to a multiple of this: instructions of 5 to 20 words then need 2-3 packed
# copies, not one per length (packing at M=16 for 11 rows costs 9% over packing at 11).
ROW_BUCKET = 8


def available() -> bool:
    """MKL's packed sgemm and oneDNN's packed convolution are in this torch build (x86; not Apple Silicon)."""
    return (torch.backends.mkl.is_available() and torch.backends.mkldnn.is_available()
            and hasattr(torch.ops.mkl, "_mkl_reorder_linear_weight")
            and hasattr(torch.ops.mkldnn, "_reorder_convolution_weight"))  # fmt: skip


def _plain(x: torch.Tensor, weight: torch.Tensor) -> bool:
    return (torch.is_grad_enabled() or x.device.type != "cpu" or x.dtype != torch.float32
            or weight.dtype != torch.float32)  # fmt: skip


def _packed(module: nn.Module, key: Any, pack: Callable[[], torch.Tensor]) -> torch.Tensor:
    """``module``'s packed weight for ``key`` (a row count or an input shape): cached, re-made by
    ``pack()`` when the weight changed in place since, the oldest dropped beyond MAX_SHAPES."""
    cache: dict[Any, tuple[int, torch.Tensor]] = module._act_packed
    version = module.weight._version
    hit = cache.get(key)
    if hit is None or hit[0] != version:
        if len(cache) >= MAX_SHAPES and key not in cache:
            cache.pop(next(iter(cache)))
        hit = cache[key] = (version, pack())
    return hit[1]


def _linear_forward(self: nn.Linear, x: torch.Tensor) -> torch.Tensor:
    if _plain(x, self.weight) or x.numel() == 0:
        return F.linear(x, self.weight, self.bias)
    rows = x.reshape(-1, x.shape[-1])  # (M, K)
    m = rows.shape[0]
    bucket = -(-m // ROW_BUCKET) * ROW_BUCKET  # zero rows up to it: one packed copy serves 8 row counts
    rows = F.pad(rows, (0, 0, 0, bucket - m)) if bucket != m else rows.contiguous()
    weight = self.weight.detach()
    packed = _packed(self, bucket, lambda: torch.ops.mkl._mkl_reorder_linear_weight(weight, bucket))
    out = torch.ops.mkl._mkl_linear(rows, packed, weight, self.bias, bucket)[:m]  # (M, N)
    return out.view(*x.shape[:-1], out.shape[-1])


def _conv_forward(self: nn.Conv2d, x: torch.Tensor) -> torch.Tensor:
    if (
        _plain(x, self.weight)
        or x.dim() != 4
        or self.padding_mode != "zeros"
        or isinstance(self.padding, str)
    ):
        return self._conv_forward(x, self.weight, self.bias)
    shape = list(x.shape)
    packed = _packed(self, tuple(shape), lambda: torch.ops.mkldnn._reorder_convolution_weight(
        self.weight.detach(), list(self.padding), list(self.stride), list(self.dilation), self.groups, shape))  # fmt: skip
    return torch.ops.mkldnn._convolution_pointwise(
        x,
        packed,
        self.bias,
        list(self.padding),
        list(self.stride),
        list(self.dilation),
        self.groups,
        "none",
        [],
        "",
    )


def optimize_for_cpu(module: nn.Module) -> int:
    """Route ``module``'s Linear and Conv2d layers through packed weights (see the module docstring);
    returns how many layers were routed, 0 where MKL packing is not available. Idempotent."""
    if not available():
        return 0
    n = 0
    for layer in module.modules():
        if isinstance(layer, nn.Linear | nn.Conv2d) and not hasattr(layer, "_act_packed"):
            layer._act_packed = {}
            forward = _linear_forward if isinstance(layer, nn.Linear) else _conv_forward
            layer.forward = types.MethodType(forward, layer)
            n += 1
    return n
