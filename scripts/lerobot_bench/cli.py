"""The bench's command line and the run: set-up, a, b, profiles, results.json and (``--eval``) c."""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import torch

from lerobot_bench import ROOT
from lerobot_bench.actions import flat_layout
from lerobot_bench.data import ensure_dataset, make_batches, make_stream_data
from lerobot_bench.measure import _load, measure, print_table
from lerobot_bench.runners import TWEAKS
from lerobot_bench.same_budget import evaluate_same_budget
from lerobot_bench.standin import SHIM_VERSION
from lerobot_bench.venv import ensure_lerobot_venv, import_lerobot_act
from lerobot_bench.worker import Client, Worker


def main(description: str = "") -> None:
    p = argparse.ArgumentParser(
        description=description or __doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
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
        f"[bench] dataset {dataset}: {data['info']['num_episodes']} episodes, "
        f"{data['info']['num_steps']} steps; action vector {data['action_mean'].numel()} dims "
        f"(kind one-hot {data['num_kinds']}, point 2, point2 2, "
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
            + f"; torch threads per worker {args.threads}; "
            + f"load average before/after {res['load_before_after']}",
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
            "torchvision": f"STAND-IN {SHIM_VERSION} (plain-torch resnet18 / FrozenBatchNorm2d written "
            "by this script "
            "into .bench/lerobot-venv; torchvision is not installable beside torch 2.13.0 here)",
            "config": "ResNet-18 (random init), dim 512, 8 heads, ff 3200, 4 enc / 1 dec, VAE 4 layers, "
            "latent 32, "
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
