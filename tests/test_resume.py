"""Resume after a kill: the same weights and the same metrics.csv rows as a run never interrupted."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir
from safetensors.torch import load_file

from act.training import train
from tests.conftest import write_episode
from tests.test_training import ACT_TRAIN, CONFIGS, overrides

ROOT = Path(__file__).resolve().parents[1]
STEPS = 60
COMMON = [
    f"trainer.max_steps={STEPS}",
    "trainer.limit_val_batches=1",
    "trainer.log_every_n_steps=1",
    "callbacks.closed_loop.episodes=0",
    "logger.csv.flush_logs_every_n_steps=1",  # rows past the checkpoint reach the disk before the kill
]
ONLINE = [
    "data=synthui",
    "data.generate.tasks=[ClickButton,MenuItem]",
    "data.generate.episodes=3",
    "data.generate.num_workers=1",
    "data.online=true",
    "data.batch_size=4",
    "policy=tiny",
]


@pytest.fixture(scope="module")
def recs(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("recs")
    for i in range(6):
        write_episode(root / f"ep_{i:03d}", steps=5, seed=i)
    return root


def _args(kind: str, recs: Path, tmp: Path, val_every: int = 7, ckpt_every: int = 10) -> list[str]:
    base = overrides(recs, tmp) if kind == "map" else [*ONLINE, f"paths.data_dir={tmp / 'data'}"]
    schedule = [
        f"trainer.val_check_interval={val_every}",
        f"callbacks.step_checkpoint.every_n_train_steps={ckpt_every}",
    ]
    return [*base, *COMMON, *schedule]


def _cmd(args: list[str], run: Path, *extra: str) -> list[str]:
    return [*ACT_TRAIN, *args, f"hydra.run.dir={run}", *extra]


def _env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1"}  # one thread: the same float sums in every run


def _rows(run: Path) -> list[tuple[int, tuple[str, ...]]]:
    """(step, the columns it filled) of every metrics.csv row, in order."""
    with open(run / "csv" / "metrics.csv", newline="") as f:
        return [
            (int(r["step"]), tuple(sorted(k for k, v in r.items() if v and k != "step")))
            for r in csv.DictReader(f)
        ]


def _losses(run: Path) -> dict[int, str]:
    with open(run / "csv" / "metrics.csv", newline="") as f:
        return {int(r["step"]): r["train/loss"] for r in csv.DictReader(f) if r.get("train/loss")}


def _weights(run: Path) -> dict[str, torch.Tensor]:
    return load_file(run / "policies" / "last" / "model.safetensors")


@pytest.mark.slow
@pytest.mark.parametrize(
    "kind, val_every, ckpt_every",
    [
        ("map", 7, 10),  # the checkpoint mid-epoch (8 batches an epoch), no validation at its step
        ("map", 4, 8),  # the checkpoint at an epoch's end, a validation (monitored) at its step
        ("online", 5, 10),  # the stream, a validation at the checkpoint's step
    ],
)
def test_resume_after_sigkill_matches_an_uninterrupted_run(kind, val_every, ckpt_every, recs, tmp_path):
    args, run = _args(kind, recs, tmp_path, val_every, ckpt_every), tmp_path / "run"
    reference = tmp_path / "reference"
    p = subprocess.run(
        _cmd(args, reference), capture_output=True, text=True, env=_env(), cwd=ROOT, timeout=600
    )
    assert p.returncode == 0, p.stderr[-3000:]
    log = open(tmp_path / "killed.log", "w")  # noqa: SIM115 - the child writes to it until killed
    proc = subprocess.Popen(_cmd(args, run), stdout=log, stderr=log, env=_env(), cwd=ROOT)
    last = run / "checkpoints" / "last.ckpt"
    deadline = time.time() + 300
    while not last.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert last.exists(), (tmp_path / "killed.log").read_text()[-3000:]
    first = torch.load(last, map_location="cpu", weights_only=False)["global_step"]
    # Kill a few steps past the first checkpoint, once rows after it are on disk (to be cut back).
    while proc.poll() is None and time.time() < deadline and max(s for s, _ in _rows(run)) < first + 3:
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL, "the run ended before it could be killed"
    log.close()
    saved = torch.load(last, map_location="cpu", weights_only=False)["global_step"]
    assert saved % ckpt_every == 0 and ckpt_every <= saved < STEPS
    killed_rows = _rows(run)
    assert max(s for s, _ in killed_rows) > saved  # the killed run had logged past its checkpoint

    p = subprocess.run(
        _cmd(args, run, "ckpt_path=last"), capture_output=True, text=True, env=_env(), cwd=ROOT, timeout=600
    )
    assert p.returncode == 0, p.stderr[-3000:]
    assert f"Restored all states from the checkpoint at {last}" in p.stdout + p.stderr

    ours, theirs = _weights(run), _weights(reference)
    assert ours.keys() == theirs.keys()
    diff = max(float((ours[k] - theirs[k]).abs().max()) for k in ours)
    assert diff == 0.0, f"resumed from step {saved}: weights differ by up to {diff}"
    assert _rows(run) == _rows(reference)  # every logged row once, in order
    assert _losses(run) == _losses(reference)
    assert _rows(run)[: len(killed_rows)] == killed_rows
    assert torch.load(last, map_location="cpu", weights_only=False)["global_step"] == STEPS


@pytest.mark.slow
def test_ddp_resume_after_sigkill_matches_an_uninterrupted_run(recs, tmp_path):
    # 2 ranks: 3 batches per rank and epoch, so the checkpoints at 10 and 20 fall mid-epoch.
    args = [
        *overrides(recs, tmp_path),
        *COMMON,
        "trainer.val_check_interval=7",
        "callbacks.step_checkpoint.every_n_train_steps=10",
        "trainer=ddp_cpu",
        "trainer.devices=2",
        "trainer.max_steps=30",
    ]
    reference = tmp_path / "reference"
    p = subprocess.run(
        _cmd(args, reference), capture_output=True, text=True, env=_env(), cwd=ROOT, timeout=600
    )
    assert p.returncode == 0, p.stderr[-3000:]
    run = tmp_path / "run"
    last = run / "checkpoints" / "last.ckpt"
    proc = subprocess.Popen(
        _cmd(args, run),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=_env(),
        cwd=ROOT,
        start_new_session=True,  # its own process group: both ranks get the SIGKILL
    )
    deadline = time.time() + 300
    while not last.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL, "the run ended before it could be killed"
    saved = torch.load(last, map_location="cpu", weights_only=False)["global_step"]
    assert saved in (10, 20)
    p = subprocess.run(
        _cmd(args, run, "ckpt_path=last"), capture_output=True, text=True, env=_env(), cwd=ROOT, timeout=600
    )
    assert p.returncode == 0, p.stderr[-3000:]
    ours, theirs = _weights(run), _weights(reference)
    diff = max(float((ours[k] - theirs[k]).abs().max()) for k in ours)
    assert diff == 0.0, f"resumed from step {saved}: weights differ by up to {diff}"
    assert _rows(run) == _rows(reference) and _losses(run) == _losses(reference)


def _cfg(recs: Path, tmp: Path, *extra: str):
    with initialize_config_dir(config_dir=CONFIGS, version_base="1.3"):
        return compose("train", overrides=[*overrides(recs, tmp), f"paths.output_dir={tmp / 'out'}", *extra])


def test_step_checkpoints_land_on_their_interval_whatever_the_validation_schedule(recs, tmp_path):
    # An epoch of this data is 8 batches and validation (monitored by the best checkpoint) comes
    # every 7 steps: neither lines up with the interval of 5.
    _, objects = train(
        _cfg(
            recs,
            tmp_path,
            "trainer.max_steps=23",
            "trainer.val_check_interval=7",
            "trainer.limit_val_batches=1",
            "callbacks.step_checkpoint.every_n_train_steps=5",
            "callbacks.step_checkpoint.keep=100",
            "callbacks.closed_loop.episodes=0",
        )
    )
    assert objects["trainer"].num_training_batches % 5 != 0
    ckpts = tmp_path / "out" / "checkpoints"
    steps = {
        p.name: torch.load(p, map_location="cpu", weights_only=False)["global_step"]
        for p in ckpts.glob("step_*.ckpt")
    }
    assert steps == {f"step_{s:06d}.ckpt": s for s in (5, 10, 15, 20, 23)}  # 23: the end of training
    assert torch.load(ckpts / "last.ckpt", map_location="cpu", weights_only=False)["global_step"] == 23
    assert len(list(ckpts.glob("best_step_*.ckpt"))) == 1  # the monitored one, apart


def test_ckpt_path_last_with_nothing_to_resume_is_a_clear_error(recs, tmp_path):
    with pytest.raises(FileNotFoundError) as e:
        train(_cfg(recs, tmp_path, "ckpt_path=last", "trainer.max_steps=2"))
    message = str(e.value)
    assert str(tmp_path / "out") in message and "drop ckpt_path" in message and "ckpt_path=auto" in message
    assert not (tmp_path / "out" / "checkpoints").exists()  # nothing trained


def test_ckpt_path_auto_starts_fresh_when_there_is_nothing_to_resume(recs, tmp_path):
    _, objects = train(
        _cfg(recs, tmp_path, "ckpt_path=auto", "trainer.max_steps=2", "callbacks.closed_loop.episodes=0")
    )
    assert objects["summary"]["global_step"] == 2
    assert (tmp_path / "out" / "checkpoints" / "last.ckpt").is_file()


def test_the_sampler_draws_as_random_sampler_and_replays_an_epoch_from_mid_way():
    from torch.utils.data import RandomSampler

    from act.data.chunks import ResumableRandomSampler

    data = list(range(23))
    torch.manual_seed(3)
    expected = [list(RandomSampler(data)) for _ in range(2)]
    after = torch.get_rng_state()
    torch.manual_seed(3)
    ours = ResumableRandomSampler(data)
    assert [list(ours) for _ in range(2)] == expected  # a fresh run's numbers are unchanged
    assert torch.equal(torch.get_rng_state(), after)
    seed = ours.epoch_seed
    ours.resume(seed, skip=8)
    assert list(ours) == expected[1][8:] and torch.equal(torch.get_rng_state(), after)  # drew nothing


def test_the_stream_continues_from_a_saved_state_as_if_never_stopped(tmp_path):
    import itertools

    from act.data import build_dataset
    from act.training import ExpertStream

    info = build_dataset(ROOT / "data" / "sample", tmp_path / "built")

    def stream() -> ExpertStream:
        s = ExpertStream(info, ["ClickButton", "MenuItem"], chunk_size=3, buffer=6, seed=1)
        s.snapshot_every = 4
        return s

    whole = [s["image"] for s in itertools.islice(iter(stream()), 40)]
    first = stream()
    list(itertools.islice(iter(first), 20))
    state = first.state_at(16)  # the DataLoader ran a batch ahead of what training had seen
    assert state is not None and first.state_at(3) is None
    resumed = stream()
    resumed.load_state_dict(state)
    rest = [s["image"] for s in itertools.islice(iter(resumed), 24)]
    assert all(torch.equal(a, b) for a, b in zip(rest, whole[16:], strict=True))
