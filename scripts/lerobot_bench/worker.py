"""A worker process per policy, serving JSON-line commands, and the driver's ``Client`` for it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from lerobot_bench import ENTRY, ROOT
from lerobot_bench.actions import flatten_actions
from lerobot_bench.runners import LeRobotRunner, OursRunner


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
                str(ENTRY),
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
