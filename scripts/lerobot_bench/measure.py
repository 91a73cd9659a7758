"""a and b: interleaved rounds of train steps and batch-1 chunk predictions, and the ratio table."""

from __future__ import annotations

import argparse
import os
import statistics
from typing import Any

import numpy as np

from lerobot_bench.worker import Client


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
        f"{'policy':22s} {'step ms':>8s} {'fwd':>6s} {'bwd':>6s} {'opt':>6s} {'cpu ms':>7s} "
        f"{'samples/s':>9s} "
        f"{'speed vs LR':>11s} {'cpu vs LR':>9s} {'infer ms':>8s} {'infer/LR':>8s}",
    ]
    for n in names:
        r = res[n]
        lines.append(
            f"{n:22s} {r['train_step_ms']:8.0f} {r['forward_ms']:6.0f} {r['backward_ms']:6.0f} "
            f"{r['clip_optimizer_ms']:6.0f} {r['cpu_ms_per_step']:7.0f} {r['samples_per_s']:9.2f} "
            f"{base['train_step_ms'] / r['train_step_ms']:10.2f}x "
            f"{base['cpu_ms_per_step'] / r['cpu_ms_per_step']:8.2f}x {r['infer_ms']:8.1f} "
            f"{r['infer_ms'] / base['infer_ms']:8.2f}"
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
            f"{o['samples_per_s'] / base['samples_per_s']:.2f}; "
            f"target >= 1.3: {'met' if speed >= 1.3 else 'MISSED'}), "
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
                "; vs LeRobot's weights cast to bf16 "
                f"{res[n]['infer_ms'] / res['lerobot+bf16']['infer_ms']:.2f}"
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
