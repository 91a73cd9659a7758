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

``bf16=True`` packs a bf16 copy of each weight instead (oneDNN; AVX512-BF16 or AMX CPUs): a layer casts
its input to bf16 and its output back to fp32, so norms, softmax and attention stay fp32. At batch 1
the policy's time goes into reading its weights from memory (a LeRobot-sized ACT streams 137 MB per
chunk), and bf16 halves those bytes; outputs then differ from fp32 in the third significant digit.
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


def available(bf16: bool = False) -> bool:
    """MKL's packed sgemm and oneDNN's packed convolution are in this torch build (x86; not Apple
    Silicon); with ``bf16``, also oneDNN's packed bf16 matmul and a CPU that runs it natively."""
    fp32 = (torch.backends.mkl.is_available() and torch.backends.mkldnn.is_available()
            and hasattr(torch.ops.mkl, "_mkl_reorder_linear_weight")
            and hasattr(torch.ops.mkldnn, "_reorder_convolution_weight"))  # fmt: skip
    if not fp32 or not bf16:
        return fp32
    return (
        hasattr(torch.ops.mkldnn, "_reorder_linear_weight") and torch.ops.mkldnn._is_mkldnn_bf16_supported()
    )


def _plain(x: torch.Tensor, weight: torch.Tensor) -> bool:
    return (torch.is_grad_enabled() or x.device.type != "cpu" or x.dtype != torch.float32
            or weight.dtype != torch.float32)  # fmt: skip


def _packed(module: nn.Module, key: Any, pack: Callable[[], Any]) -> Any:
    """``module``'s packed weight (and bias) for ``key`` (a row count or an input shape): cached,
    re-made by ``pack()`` when the weight or bias changed in place since, the oldest dropped beyond
    MAX_SHAPES."""
    cache: dict[Any, tuple[tuple[int, int], Any]] = module._act_packed
    version = (module.weight._version, -1 if module.bias is None else module.bias._version)
    hit = cache.get(key)
    if hit is None or hit[0] != version:
        if len(cache) >= MAX_SHAPES and key not in cache:
            cache.pop(next(iter(cache)))
        hit = cache[key] = (version, pack())
    return hit[1]


def _bf16(t: torch.Tensor | None) -> torch.Tensor | None:
    return None if t is None else t.detach().to(torch.bfloat16)


def _linear_forward(self: nn.Linear, x: torch.Tensor) -> torch.Tensor:
    if _plain(x, self.weight) or x.numel() == 0:
        return F.linear(x, self.weight, self.bias)
    rows = x.reshape(-1, x.shape[-1])  # (M, K)
    m = rows.shape[0]
    bucket = -(-m // ROW_BUCKET) * ROW_BUCKET  # zero rows up to it: one packed copy serves 8 row counts
    rows = F.pad(rows, (0, 0, 0, bucket - m)) if bucket != m else rows.contiguous()
    weight = self.weight.detach()
    if self._act_bf16:
        w, b = _packed(self, bucket, lambda: (torch.ops.mkldnn._reorder_linear_weight(_bf16(weight), bucket),
                                              _bf16(self.bias)))  # fmt: skip
        out = torch.ops.mkldnn._linear_pointwise(rows.to(torch.bfloat16), w, b, "none", [], "")[:m].float()
    else:
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
    cast = _bf16 if self._act_bf16 else (lambda t: None if t is None else t.detach())
    packed, bias = _packed(self, tuple(shape), lambda: (torch.ops.mkldnn._reorder_convolution_weight(
        cast(self.weight), list(self.padding), list(self.stride), list(self.dilation), self.groups, shape),
        cast(self.bias)))  # fmt: skip
    out = torch.ops.mkldnn._convolution_pointwise(
        x.to(packed.dtype),
        packed,
        bias,
        list(self.padding),
        list(self.stride),
        list(self.dilation),
        self.groups,
        "none",
        [],
        "",
    )
    return out.float()


def optimize_for_cpu(module: nn.Module, bf16: bool = False) -> int:
    """Route ``module``'s Linear and Conv2d layers through packed weights (see the module docstring),
    fp32 or (``bf16``) bf16 copies; returns how many layers changed path (newly routed, or switched
    precision), 0 where the packing is not available (bf16: a CPU without native bf16). Idempotent;
    calling it again with the other ``bf16`` switches the routed layers (their packed copies dropped)."""
    if not available(bf16):
        return 0
    n = 0
    for layer in module.modules():
        if not isinstance(layer, nn.Linear | nn.Conv2d):
            continue
        if not hasattr(layer, "_act_packed"):
            forward = _linear_forward if isinstance(layer, nn.Linear) else _conv_forward
            layer.forward = types.MethodType(forward, layer)
            n += 1
        elif layer._act_bf16 == bf16:
            continue
        else:
            n += 1
        layer._act_packed, layer._act_bf16 = {}, bf16
    return n
