"""Faster batch-1 inference on x86 CPUs: ``ACTPolicy.optimize_for_cpu()`` (fp32 results, or bf16 weights).

At batch 1 every matrix product of the policy has a handful of rows: the encoder's tokens (~11-40),
the decoder's queries (chunk + 1), a late ResNet stage's output pixels (9 or 36). MKL's default sgemm
is slow at such shapes and about twice as fast with the weight pre-packed for that row count
(11 x 512 @ 512 x 3200: 1.03 -> 0.50 ms on this project's 2-core CPU); torch.compile's CPU freezing
pass packs weights the same way, but needs a C++ toolchain and ~20 s of compiling per input shape.

Each ``nn.Linear`` keeps its weight packed per row count (rounded up to ``ROW_BUCKET``) and each
``nn.Conv2d`` its weight in oneDNN's blocked layout per input shape (20-25% faster than the im2col
path PyTorch picks for small maps at batch 1); both are used only when no gradient is recorded;
training, autograd, other dtypes and devices take the plain path. A weight or bias changed in place
(an optimizer step, ``load_state_dict``) or replaced is re-packed on its next use. The state dict is
untouched.

``bf16=True`` packs a bf16 copy of each weight instead (oneDNN, on CPUs with AVX512-BF16 or AMX; on
others it warns and packs fp32, as emulated bf16 would be slower): a layer casts
its input to bf16 and its output back to fp32, so norms, softmax and attention stay fp32. At batch 1
the policy's time goes into reading its weights from memory (a LeRobot-sized ACT streams 137 MB per
chunk), and bf16 halves those bytes; outputs then differ from fp32 in the third significant digit.
"""

from __future__ import annotations

import types
import warnings
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

MAX_SHAPES = 4  # packed copies kept per layer (input shapes seen); the oldest is dropped first
# A Linear's rows are padded to a multiple of this: instructions of 5 to 20 words then need 2-3 packed
# copies, not one per length (docs/experiments.md#policy-timings).
ROW_BUCKET = 8


def available(bf16: bool = False) -> bool:
    """MKL's packed sgemm and oneDNN's packed convolution are in this torch build (x86; not Apple
    Silicon); with ``bf16``, also oneDNN's packed bf16 matmul and a CPU with bf16 instructions
    (AVX512-BF16 or AMX: elsewhere oneDNN emulates bf16, slower than packed fp32)."""
    fp32 = (
        torch.backends.mkl.is_available()
        and torch.backends.mkldnn.is_available()
        and hasattr(torch.ops.mkl, "_mkl_reorder_linear_weight")
        and hasattr(torch.ops.mkldnn, "_reorder_convolution_weight")
    )
    if not fp32 or not bf16:
        return fp32
    native = [getattr(torch.cpu, f, None) for f in ("_is_avx512_bf16_supported", "_is_amx_tile_supported")]
    return hasattr(torch.ops.mkldnn, "_reorder_linear_weight") and any(f is not None and f() for f in native)


def _plain(x: torch.Tensor, weight: torch.Tensor) -> bool:
    return (
        torch.is_grad_enabled()
        or x.device.type != "cpu"
        or x.dtype != torch.float32
        or weight.dtype != torch.float32
    )


class PackedCache(dict):
    """A layer's packed weights. Copies and pickles of the layer start empty (oneDNN's packed tensors
    can be neither), and are re-packed on first use."""

    def __deepcopy__(self, memo: dict) -> PackedCache:
        return PackedCache()

    def __reduce__(self) -> tuple:
        return PackedCache, ()


def _packed(module: nn.Module, key: Any, pack: Callable[[], Any]) -> Any:
    """``module``'s packed weight (and bias) for ``key`` (a row count or an input shape): cached,
    re-made by ``pack()`` when the weight or bias changed in place or was replaced since (storage and
    version counter), the oldest dropped beyond MAX_SHAPES."""
    cache: dict[Any, tuple[tuple[int, ...], Any]] = module._act_packed
    w, b = module.weight, module.bias
    version = (
        (w.data_ptr(), w._version, -1, -1)
        if b is None
        else (w.data_ptr(), w._version, b.data_ptr(), b._version)
    )
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
        w, b = _packed(
            self,
            bucket,
            lambda: (torch.ops.mkldnn._reorder_linear_weight(_bf16(weight), bucket), _bf16(self.bias)),
        )
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
    packed, bias = _packed(
        self,
        tuple(shape),
        lambda: (
            torch.ops.mkldnn._reorder_convolution_weight(
                cast(self.weight),
                list(self.padding),
                list(self.stride),
                list(self.dilation),
                self.groups,
                shape,
            ),
            cast(self.bias),
        ),
    )
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
    precision), 0 where packing is not available. ``bf16`` on a CPU without bf16 instructions warns
    and packs fp32. Idempotent; calling it again with the other ``bf16`` switches the routed layers
    (their packed copies dropped)."""
    if not available():
        return 0
    if bf16 and not available(bf16=True):
        warnings.warn(
            "optimize_for_cpu(bf16=True): this CPU has no bf16 instructions (AVX512-BF16 or AMX); "
            "packing fp32 weights instead",
            stacklevel=2,
        )
        bf16 = False
    n = 0
    for layer in module.modules():
        if not isinstance(layer, nn.Linear | nn.Conv2d):
            continue
        if not hasattr(layer, "_act_packed"):
            forward = _linear_forward if isinstance(layer, nn.Linear) else _conv_forward
            layer.forward = types.MethodType(forward, layer)
        elif layer._act_bf16 == bf16:
            continue
        layer._act_packed, layer._act_bf16 = PackedCache(), bf16
        n += 1
    return n


def precision(module: nn.Module) -> str | None:
    """How ``optimize_for_cpu`` routed ``module``: "bf16", "fp32", or None (not routed)."""
    routed = [m._act_bf16 for m in module.modules() if hasattr(m, "_act_bf16")]
    return None if not routed else "bf16" if all(routed) else "fp32"
