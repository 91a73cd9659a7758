"""``train(cfg) -> (metrics, objects)``: everything `act-train` does, callable from tests and notebooks."""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from act.data import ActDataModule, DatasetInfo, build_dataset
from act.data.augment import augment_of
from act.eval.io_checks import ensure_writable
from act.policy import ACTConfig
from act.training.callbacks import ExportPolicy, StepCheckpoint, StreamDagger
from act.training.config import DataConfig, GenerateConfig, OptimConfig, TrainConfigError
from act.training.module import ActLightningModule


def _slug(spec: str) -> str:
    return spec.replace(":", "").replace(",", "_") or "nominal"


def _digest(items: list[str]) -> str:
    return hashlib.sha1("|".join(items).encode()).hexdigest()[:6]


def _generated_name(g: GenerateConfig) -> str:
    """A directory name that changes whenever what would be generated changes."""
    tasks = "+".join(g.tasks) if len(g.tasks) <= 3 else f"{len(g.tasks)}tasks-{_digest(list(g.tasks))}"
    perts = (
        "-".join(map(_slug, g.perturbations))
        if len(g.perturbations) <= 2
        else f"{len(g.perturbations)}perts-{_digest(list(g.perturbations))}"
    )
    varied = f"-variety{g.variety:g}" if g.variety else ""
    return f"{g.env}-{tasks}-{g.episodes}ep-seed{g.seed}-{perts}{varied}"


def _global_rank() -> int:
    """This process's rank under torchrun / SLURM / Lightning's launcher (0 when alone)."""
    for var in ("RANK", "SLURM_PROCID", "LOCAL_RANK"):
        if os.environ.get(var, "").isdigit():
            return int(os.environ[var])
    return 0


def prepare_dataset(
    data: DataConfig, image_size: tuple[int, int], data_dir: str | Path, wait_seconds: float = 3600
) -> Path:
    """Generate demonstrations (if asked and missing) and build the dataset (if missing); return its dir.

    A dataset already there is reused only if build_dataset wrote it from the same inputs (the
    recordings' content and the image size); otherwise this raises ``DatasetError`` and changes
    nothing, also when the recordings changed since the cached build (delete it to rebuild).
    Only rank 0 writes: other ranks (torchrun starts them all at once) wait for its dataset to appear.
    """
    if _global_rank() != 0:
        out = _dataset_dir(data, image_size, Path(data_dir))
        deadline = time.monotonic() + wait_seconds
        while not (out / "act_dataset.json").is_file():
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"rank {_global_rank()}: rank 0 did not build {out} within {wait_seconds:.0f} s"
                )
            time.sleep(1.0)
        return out
    data_dir = Path(data_dir)
    if data.recordings:
        recordings = Path(data.recordings)
    elif data.generate is not None:
        from act.envs.generate import generate

        g = data.generate
        recordings = data_dir / "recordings" / _generated_name(g)
        with _exclusive(recordings):
            if not (recordings / "DONE").is_file():
                for i, spec in enumerate(g.perturbations):  # disjoint seeds per perturbation share
                    generate(
                        tasks=list(g.tasks),
                        episodes=g.episodes,
                        perturbation=spec or None,
                        seed=g.seed + 100_000 * i,
                        out_dir=recordings / _slug(spec),
                        num_workers=g.num_workers,
                        env=g.env,
                        **({"variety": g.variety} if g.variety else {}),
                    )
                (recordings / "DONE").write_text("complete\n")
    else:
        raise ValueError("data: set either data.recordings (a directory of episodes) or data.generate")
    from act.data import DatasetError

    out = _dataset_dir(data, image_size, data_dir)
    try:
        with _exclusive(out):
            build_dataset(recordings, out, image_size=tuple(image_size), num_proc=data.num_proc)
    except DatasetError as e:
        field = "data.dataset_dir" if data.dataset_dir else "the dataset cache (paths.data_dir/built)"
        raise DatasetError(
            f"{field}: {e}. act-train replaces no dataset: set data.dataset_dir to a new directory, "
            f"or delete {out} yourself to rebuild it there"
        ) from e
    return out


@contextmanager
def _exclusive(folder: Path) -> Iterator[None]:
    """Holds a lock on ``folder`` while the block runs: act-train runs started at once on one data dir
    (several seeds of an experiment) then generate and build a shared folder once, one after the
    other, instead of writing the same episodes side by side. The (empty) lock file lives in the
    temp dir, named by the folder's absolute path, so users' folders get no debris."""
    import tempfile

    from filelock import FileLock, Timeout

    key = hashlib.sha1(str(folder.resolve()).encode()).hexdigest()[:16]
    locks = Path(tempfile.gettempdir()) / "act-locks"
    locks.mkdir(exist_ok=True)
    lock = FileLock(str(locks / f"{key}.lock"))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        print(f"waiting for another process to finish writing {folder} ...", flush=True)
        lock.acquire()
    try:
        yield
    finally:
        lock.release()


def _recordings_name(data: DataConfig) -> str:
    """The cache name of the recordings: their folder's name and a digest of its absolute path.

    The digest keeps two folders of the same name (A/recs, B/recs) apart; the dataset's fingerprint
    still checks their content on reuse.
    """
    if data.recordings:
        path = Path(data.recordings).resolve()
        return f"{path.name}-{hashlib.sha1(str(path).encode()).hexdigest()[:8]}"
    if data.generate is not None:
        return _generated_name(data.generate)
    raise ValueError("data: set either data.recordings (a directory of episodes) or data.generate")


def _dataset_dir(data: DataConfig, image_size: tuple[int, int], data_dir: Path) -> Path:
    h, w = image_size
    return (
        Path(data.dataset_dir)
        if data.dataset_dir
        else data_dir / "built" / f"{_recordings_name(data)}-{h}x{w}"
    )


def _train_stream(data: DataConfig, info: DatasetInfo, policy: ACTConfig, seed: int):
    """``ExpertStream`` over the generate section's tasks and perturbations when ``data.online``."""
    if not data.online:
        return None
    g = data.generate
    if g is None or g.env != "synthui":
        raise ValueError("data.online: needs data.generate with env: synthui (the experts render the stream)")
    from act.envs.generate import resolve_tasks
    from act.training.online import ExpertStream

    return ExpertStream(
        info,
        resolve_tasks(g.tasks),
        g.perturbations,
        policy.chunk_size,
        seed=seed,
        rank=_global_rank(),
        cells=policy.pointer_cells(),
        read_targets=(policy.read_target(),),
        shift=data.shift,
        shift_share=data.shift_share,
        task_weights=None if data.task_weights is None else list(data.task_weights),
        task_balance=data.task_balance,
        randomise=data.randomise,
        augment=data.augment,
        text_random=data.text_random,
        text_random_tasks=data.text_random_tasks,
        variety=g.variety,
        dagger=data.dagger,
    )


def _episode_spec(perturbation: Any) -> str:
    """A dataset episode's perturbation (meta.json's {"spec": ...} or a spec string): "" = nominal."""
    if isinstance(perturbation, dict):
        return str(perturbation.get("spec") or "")
    return str(perturbation or "")


def _training_data(cfg: DictConfig, data: DataConfig, info: DatasetInfo) -> dict[str, Any]:
    """training_data.json, beside each exported policy: the tasks and perturbation specs it was trained
    on (the online stream's, else the built dataset's), whether online, the seed, and a digest of the
    config without seed and paths (the seeds of one configuration share it; act-bench groups by it)."""
    if data.online and data.generate is not None:
        from act.envs.generate import resolve_tasks

        tasks, specs = resolve_tasks(data.generate.tasks), list(data.generate.perturbations)
    else:
        tasks = sorted(info.tasks)
        specs = sorted({_episode_spec(e.get("perturbation")) for e in info.episodes})
    # An online stream that draws each episode's perturbation at random trains on those families
    randomise = getattr(data, "randomise", None) if data.online else None
    drawn = None
    if randomise is not None and list(getattr(randomise, "families", None) or []):
        drawn = {
            "families": list(randomise.families),
            "severity": [float(v) for v in randomise.severity],
            "nominal": float(randomise.nominal),
            "compose": float(randomise.compose),
        }
        specs = [""] if drawn["nominal"] > 0 else []
    text_random = float(getattr(data, "text_random", 0.0)) if data.online else 0.0
    config = OmegaConf.to_container(cfg, resolve=False)
    for key in ("seed", "paths", "ckpt_path", "hydra"):
        config.pop(key, None)
    digest = hashlib.sha1(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()[:12]
    out = {
        "tasks": tasks,
        "perturbations": specs,
        "online": bool(data.online),
        "seed": cfg.get("seed"),
        "dataset": str(info.path) if info.path else None,
        "config_digest": digest,
        # where its strings came from: synthui's train lists, and this share of random letters
        "text": {"train": 1.0 - text_random, "random": text_random},
    }
    balance = float(getattr(data, "task_balance", 0.0) or 0.0) if data.online else 0.0
    if balance > 0:  # the stream evened out samples, not episodes, per task (data.task_balance)
        out["task_balance"] = balance
    if text_random > 0:  # which tasks' episodes the random share was drawn from
        out["text"]["random_tasks"] = str(getattr(data, "text_random_tasks", "all"))
    if drawn is not None:
        out["randomise"] = drawn
    dagger = getattr(data, "dagger", None) if data.online else None
    if dagger is not None and float(getattr(dagger, "share", 0.0) or 0.0) > 0:
        out["dagger"] = {"share": float(dagger.share), "beta": float(dagger.beta), "every": int(dagger.every)}
    return out


def _check_task_weights(data: DataConfig) -> None:
    """data.task_weights: one finite weight >= 0 per streamed task, not all 0, online only (checked
    before any data work)."""
    if data.task_weights is None:
        return
    if not data.online:
        raise TrainConfigError(
            "data.task_weights: weighs the online stream's tasks; set data.online: true or drop it"
        )
    from act.envs.generate import resolve_tasks
    from act.training.online import task_probabilities

    tasks = resolve_tasks(data.generate.tasks) if data.generate is not None else []
    try:  # per task of generate.tasks as resolved
        task_probabilities(data.task_weights, tasks, "data.task_weights")
    except ValueError as e:
        raise TrainConfigError(str(e)) from e


def _instantiate_all(section: DictConfig | None) -> list[Any]:
    from hydra.utils import instantiate

    if not section:
        return []
    return [instantiate(c) for c in section.values() if c is not None and "_target_" in c]


def _resolve_ckpt_path(ckpt_path: str | None, callbacks: list[Any], output_dir: Path) -> str | None:
    """``ckpt_path``: "last" is this run dir's newest step checkpoint and an error when there is none;
    "auto" is the same but starts fresh when there is none; a path must exist."""
    if ckpt_path is None:
        return None
    ckpt_path = str(ckpt_path)
    if ckpt_path in ("last", "auto"):
        step = next((c for c in callbacks if isinstance(c, StepCheckpoint)), None)
        last = step.last_path if step is not None else output_dir / "checkpoints" / "last.ckpt"
        if last.is_file():
            return str(last)
        if ckpt_path == "auto":
            print(f"ckpt_path=auto: no checkpoint at {last}: training from scratch", flush=True)
            return None
        raise FileNotFoundError(
            f"ckpt_path=last: nothing to resume in the run dir {output_dir} (no {last}). "
            "To start fresh, drop ckpt_path (or pass ckpt_path=null); ckpt_path=auto resumes when "
            "there is a checkpoint and starts fresh when there is none; to resume another run, pass "
            "its hydra.run.dir or the checkpoint's path"
        )
    if ckpt_path in ("best", "hpc", "registry") or ckpt_path.startswith("registry:"):
        return ckpt_path  # Lightning's own names
    if not Path(ckpt_path).is_file():
        raise FileNotFoundError(f"ckpt_path={ckpt_path}: no such checkpoint file")
    return ckpt_path


def train(cfg: DictConfig, callbacks: list[Any] | None = None) -> tuple[dict[str, float], dict[str, Any]]:
    """Build the data, the policy and the Lightning trainer from ``cfg``; fit; export; summarise.

    ``callbacks``: Lightning callbacks to add to those the config names."""
    import lightning as L
    from hydra.utils import instantiate

    L.seed_everything(cfg.seed, workers=True)
    # Every setting is checked before any data work; TrainConfigError / NotWritableError name the key.
    try:
        policy_cfg = ACTConfig.from_dict(OmegaConf.to_container(cfg.policy, resolve=True), source="policy")
    except ValueError as e:  # "policy: chunk_size: ..." (source, field) -> "policy.chunk_size: ..."
        msg = str(e)
        msg = re.sub(r"^policy: (?=\w+:)", "policy.", msg) if msg.startswith("policy") else f"policy.{msg}"
        raise TrainConfigError(msg) from e
    optim = OptimConfig(**OmegaConf.to_container(cfg.optim, resolve=True))
    data_cfg: DataConfig = OmegaConf.to_object(cfg.data)
    _check_task_weights(data_cfg)
    output_dir = ensure_writable(cfg.paths.output_dir, "paths.output_dir")

    dataset_dir = prepare_dataset(data_cfg, policy_cfg.image_size, cfg.paths.data_dir)
    info = DatasetInfo.load(dataset_dir)
    policy_cfg = policy_cfg.with_dataset_info(vars(info))
    datamodule = ActDataModule(
        dataset_dir,
        chunk_size=policy_cfg.chunk_size,
        batch_size=data_cfg.batch_size,
        val_fraction=data_cfg.val_fraction,
        num_workers=data_cfg.num_workers,
        seed=data_cfg.split_seed,
        train_stream=_train_stream(data_cfg, info, policy_cfg, cfg.seed),
        cells=policy_cfg.pointer_cells(),  # reading supervision where recordings carry element snapshots
        read_targets=(policy_cfg.read_target(),),
        augment=None if data_cfg.online else augment_of(data_cfg.augment),  # a stream augments its own
    )
    module = ActLightningModule(policy_cfg, optim)
    callbacks = [*_instantiate_all(cfg.get("callbacks")), *(callbacks or [])]
    if datamodule.train_stream is not None and data_cfg.dagger.share:
        callbacks.append(StreamDagger(datamodule.train_stream, data_cfg.dagger.every))
    # StepCheckpoint first: it saves before any other callback logs for the next step
    callbacks.sort(key=lambda c: not isinstance(c, StepCheckpoint))
    for c in callbacks:  # what the exported policies were trained on, for act-eval's seen/unseen marks
        if isinstance(c, ExportPolicy):
            c.training_data = _training_data(cfg, data_cfg, info)
    ckpt_path = _resolve_ckpt_path(cfg.get("ckpt_path"), callbacks, output_dir)
    loggers = _instantiate_all(cfg.get("logger"))
    trainer: L.Trainer = instantiate(cfg.trainer, callbacks=callbacks, logger=loggers or False)

    start = time.perf_counter()
    with warnings.catch_warnings():
        # The datamodule holds the epoch's data position (ActDataModule.state_dict), not the
        # DataLoader Lightning checks for one.
        warnings.filterwarnings("ignore", message=r".*resuming from a checkpoint that ended before the epoch")
        trainer.fit(module, datamodule=datamodule, ckpt_path=ckpt_path)
    seconds = time.perf_counter() - start

    metrics = {
        k: float(v) for k, v in trainer.callback_metrics.items() if getattr(v, "numel", lambda: 1)() == 1
    }
    policy_dir = output_dir / "policies" / "last"
    summary = {
        "output_dir": str(output_dir),
        "dataset": str(dataset_dir),
        "episodes": info.num_episodes,
        "steps": info.num_steps,
        "global_step": trainer.global_step,
        "train_seconds": round(seconds, 1),
        "parameters": sum(p.numel() for p in module.policy.parameters()),
        "policy_dir": str(policy_dir) if policy_dir.exists() else None,
        "metrics": metrics,
    }
    stream = datamodule.train_stream
    if stream is not None and getattr(stream, "dagger_share", 0):  # DAgger in the stream: what it added
        summary["dagger"] = {"episodes": stream.dagger_episodes, "labels": stream.dagger_labels}
    if trainer.global_rank == 0:
        (output_dir / "train_summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    objects = {
        "cfg": cfg,
        "trainer": trainer,
        "module": module,
        "policy": module.policy,
        "datamodule": datamodule,
        "summary": summary,
    }
    return metrics, objects


def format_summary(summary: dict[str, Any]) -> str:
    m = summary["metrics"]
    keys = [k for k in ("train/loss", "val/loss", "val/acc_kind", "val/success") if k in m]
    lines = [
        f"trained {summary['global_step']} steps in {summary['train_seconds']} s "
        f"({summary['parameters'] / 1e6:.2f} M parameters) "
        f"on {summary['episodes']} episodes / {summary['steps']} steps",
        "  " + "   ".join(f"{k} {m[k]:.4g}" for k in keys),
        f"  policy: {summary['policy_dir']}",
        f"  summary: {summary['output_dir']}/train_summary.json",
    ]
    return "\n".join(lines)
