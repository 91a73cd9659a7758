"""Built datasets never destroy what the library did not write, and are reused only for the same inputs."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

import act
from act.data import ActDataModule, ChunkDataset, DatasetError, DatasetInfo, build_dataset
from act.data import build as build_module
from act.training import DataConfig, prepare_dataset, register_configs, train
from tests.conftest import write_episode

CONFIGS = str(Path(act.__file__).parent / "configs")
register_configs()


def snapshot(root: Path) -> dict[str, tuple[int, str]]:
    """Every file under ``root``: relative path -> (size, sha256)."""
    return {
        p.relative_to(root).as_posix(): (p.stat().st_size, hashlib.sha256(p.read_bytes()).hexdigest())
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def two_folders_named_recs(tmp_path: Path) -> tuple[Path, Path]:
    """A/recs (2 episodes, "click ok") and B/recs (3 episodes, another instruction): same basename."""
    a, b = tmp_path / "A" / "recs", tmp_path / "B" / "recs"
    for i in range(2):
        write_episode(a / f"ep_{i:03d}", steps=3, seed=i)
    for i in range(3):
        write_episode(b / f"ep_{i:03d}", steps=4, seed=10 + i, instruction="Press the submit link")
    return a, b


def compose_cfg(recs: Path, tmp: Path, *extra: str, out: str = "out"):
    overrides = [
        "data=sample",
        f"data.recordings={recs}",
        f"paths.data_dir={tmp / 'data'}",
        f"paths.output_dir={tmp / out}",
        "policy=tiny",
        "data.batch_size=4",
        "debug=fdr",
        *extra,
    ]
    with initialize_config_dir(config_dir=CONFIGS, version_base="1.3"):
        return compose("train", overrides=overrides)


def test_act_train_with_dataset_dir_on_the_recordings_parent_refuses_and_deletes_nothing(
    recordings, tmp_path_factory
):
    parent = recordings.parent  # holds the user's recordings, as in the issue
    (parent / "notes.txt").write_text("mine\n")
    before = snapshot(parent)
    cfg = compose_cfg(recordings, tmp_path_factory.mktemp("run"), f"data.dataset_dir={parent}")
    with pytest.raises(DatasetError, match=r"data\.dataset_dir.*not a dataset built by") as e:
        train(cfg)
    assert str(parent) in str(e.value) and "delete" in str(e.value)
    assert snapshot(parent) == before  # every recording file still there, byte for byte
    # build_dataset itself refuses too, even when asked to overwrite
    with pytest.raises(DatasetError, match="no act_dataset.json"):
        build_dataset(recordings, parent, image_size=(30, 40), overwrite=True)
    with pytest.raises(DatasetError, match="is a file"):
        build_dataset(recordings, parent / "notes.txt", image_size=(30, 40), overwrite=True)
    assert snapshot(parent) == before


def test_overwrite_replaces_only_a_folder_holding_nothing_but_a_dataset(recordings, tmp_path):
    out = tmp_path / "ds"
    build_dataset(recordings, out, image_size=(30, 40))
    (out / "my_results.csv").write_text("keep me\n")
    before = snapshot(out)
    with pytest.raises(DatasetError, match="my_results.csv"):
        build_dataset(recordings, out, image_size=(20, 20), overwrite=True)
    assert snapshot(out) == before


def test_same_named_recordings_in_two_folders_train_on_their_own_episodes(tmp_path):
    a, b = two_folders_named_recs(tmp_path)
    _, on_a = train(compose_cfg(a, tmp_path, out="out_a"))
    _, on_b = train(compose_cfg(b, tmp_path, out="out_b"))  # same data_dir, basename and image size
    assert on_a["summary"]["episodes"] == 2 and on_b["summary"]["episodes"] == 3
    assert on_a["summary"]["dataset"] != on_b["summary"]["dataset"]
    info = on_b["datamodule"].info
    assert all(Path(e["path"]).parent == b for e in info.episodes)
    assert {"press", "submit", "link"} <= set(info.instruction_vocab)
    assert "ok" not in info.instruction_vocab  # none of A's instruction words


def test_a_dataset_dir_built_from_other_inputs_is_refused_and_kept(tmp_path):
    a, b = two_folders_named_recs(tmp_path)
    out = tmp_path / "ds"
    prepare_dataset(DataConfig(recordings=str(a), dataset_dir=str(out)), (30, 40), tmp_path / "data")
    before = snapshot(out)
    with pytest.raises(DatasetError, match=r"data\.dataset_dir.*other inputs.*recordings' content differs"):
        prepare_dataset(DataConfig(recordings=str(b), dataset_dir=str(out)), (30, 40), tmp_path / "data")
    with pytest.raises(DatasetError, match=r"image_size \[30, 40\] then, \[60, 80\] now"):
        prepare_dataset(DataConfig(recordings=str(a), dataset_dir=str(out)), (60, 80), tmp_path / "data")
    with pytest.raises(DatasetError, match="overwrite=True"):
        build_dataset(b, out, image_size=(30, 40))
    assert snapshot(out) == before
    # the same inputs reuse it untouched; overwrite=True replaces it with B's dataset
    assert prepare_dataset(DataConfig(recordings=str(a), dataset_dir=str(out)), (30, 40), tmp_path) == out
    assert snapshot(out) == before
    info = build_dataset(b, out, image_size=(30, 40), overwrite=True)
    assert DatasetInfo.load(out).num_episodes == info.num_episodes == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["A", "B", "ds"]  # no debris


def test_changed_recordings_are_refused_until_the_cache_is_deleted(recordings, tmp_path):
    data = DataConfig(recordings=str(recordings))
    out = prepare_dataset(data, (30, 40), tmp_path / "data")
    write_episode(recordings / "ep_new", steps=2, seed=9)
    with pytest.raises(DatasetError, match=r"dataset cache.*recordings' content differs") as e:
        prepare_dataset(data, (30, 40), tmp_path / "data")
    assert f"delete {out}" in str(e.value)
    assert "modification time" in str(e.value)  # frames are compared by size and time: it says so
    shutil.rmtree(out)
    assert prepare_dataset(data, (30, 40), tmp_path / "data") == out
    assert DatasetInfo.load(out).num_episodes == 5


def test_fingerprint_follows_content_not_location(recordings, tmp_path):
    from act.recording import find_episodes

    fp = build_module.recordings_fingerprint
    episodes = find_episodes(recordings)
    copy = tmp_path / "elsewhere" / "recs"
    shutil.copytree(recordings, copy)  # copy2: same bytes and modification times
    assert fp(find_episodes(copy)) == fp(episodes)
    shutil.copytree(recordings, tmp_path / "second")
    frame = tmp_path / "second" / "ep_001" / "frames" / "000000.png"
    st = frame.stat()
    os.utime(frame, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))  # a rewritten frame
    assert fp(find_episodes(tmp_path / "second")) != fp(episodes)
    shutil.copytree(recordings, tmp_path / "third")
    events = tmp_path / "third" / "ep_002" / "events.jsonl"
    text = events.read_text()
    assert '"x": 12.0' in text
    events.write_text(text.replace('"x": 12.0', '"x": 13.0'))  # same size, new content
    assert fp(find_episodes(tmp_path / "third")) != fp(episodes)
    # a same-content copy reuses the dataset built from the original
    out = tmp_path / "ds"
    first = build_dataset(recordings, out, image_size=(30, 40))
    assert build_dataset(find_episodes(tmp_path / "elsewhere"), out, image_size=(30, 40)) == first


class Interrupted(RuntimeError):
    pass


def _fail_in_rows(monkeypatch):
    rows = build_module._rows

    def some_rows_then_fail(*args, **kwargs):
        for n, row in enumerate(rows(*args, **kwargs)):
            if n == 3:
                raise Interrupted("killed while decoding frames")
            yield row

    monkeypatch.setattr(build_module, "_rows", some_rows_then_fail)


def _fail_after_the_arrow_files(monkeypatch):
    def fail(self, out_dir):
        raise Interrupted("killed after the Arrow files were written")

    monkeypatch.setattr(DatasetInfo, "save", fail)


@pytest.mark.parametrize("fail", [_fail_in_rows, _fail_after_the_arrow_files])
def test_a_build_that_dies_midway_leaves_no_half_dataset_and_no_debris(
    recordings, tmp_path, monkeypatch, fail
):
    work = tmp_path / "work"
    work.mkdir()
    kept = work / "kept"
    build_dataset(recordings, kept, image_size=(30, 40))
    before = snapshot(work)
    fail(monkeypatch)
    for out, overwrite in ((work / "ds", False), (kept, True)):  # a new dataset; replacing one
        with pytest.raises(Exception) as e:
            build_dataset(recordings, out, image_size=(30, 40), overwrite=overwrite)
        assert isinstance(e.value, Interrupted) or isinstance(
            e.value.__cause__, Interrupted
        )  # datasets wraps
    assert not (work / "ds").exists()
    assert snapshot(work) == before  # nothing new next to it either (the temporary folder went)
    assert sorted(p.name for p in work.iterdir()) == ["kept"]


def test_what_a_killed_build_left_is_removed_by_the_next_one(recordings, tmp_path):
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True)
    dead_pid = int(done.stdout)
    prefix = build_module._staging_prefix(tmp_path / "ds")
    dead = tmp_path / f"{prefix}{dead_pid}-0000"
    live = tmp_path / f"{prefix}{os.getpid()}-1111"  # a build still running here
    for d in (dead, live):
        (d / "dataset").mkdir(parents=True)
    build_dataset(recordings, tmp_path / "ds", image_size=(30, 40))
    assert not dead.exists() and live.exists()
    assert (tmp_path / "ds" / "act_dataset.json").is_file()


def test_chunk_dataset_and_datamodule_take_what_build_dataset_returns(recordings, tmp_path):
    info = build_dataset(recordings, tmp_path / "ds", image_size=(30, 40))
    assert info.path == tmp_path / "ds" and DatasetInfo.load(tmp_path / "ds") == info
    ds = ChunkDataset(info, chunk_size=4)
    by_path = ChunkDataset(tmp_path / "ds", chunk_size=4)
    assert len(ds) == info.num_steps == len(by_path)
    assert all((ds[5][k] == by_path[5][k]).all() for k in by_path[5])
    dm = ActDataModule(build_dataset(recordings, tmp_path / "ds", image_size=(30, 40)), chunk_size=2)
    dm.setup()
    assert len(dm.train_set) + len(dm.val_set) == info.num_steps
    lost = DatasetInfo(**{**vars(info), "path": None})
    with pytest.raises(DatasetError, match="does not know its directory"):
        ChunkDataset(lost, chunk_size=4)


@pytest.mark.parametrize("text", ["{not json", "[]", '{"image_size": 3}', '{"num_episodes": 1}'])
def test_a_damaged_dataset_description_names_its_file(recordings, tmp_path, capsys, text):
    """act_dataset.json that is not JSON, or not this library's: DatasetError naming the file, and
    act-inspect exits 1 with that message instead of a traceback."""
    from act.cli.inspection import main as inspect_main

    out = tmp_path / "built"
    build_dataset(recordings, out, image_size=(30, 40))
    (out / "act_dataset.json").write_text(text)
    with pytest.raises(DatasetError, match="act_dataset.json: not a dataset description"):
        DatasetInfo.load(out)
    assert inspect_main([str(out), "--out", str(tmp_path / "inspect")]) == 1
    assert "act_dataset.json" in capsys.readouterr().err


def test_concurrent_runs_on_one_data_dir_wait_for_each_other(recordings, tmp_path, monkeypatch):
    """A second act-train on one folder waits for the first to finish building it, not writes beside it."""
    import importlib
    import threading

    train_module = importlib.import_module(
        "act.training.train"
    )  # the module (act.training.train is the function)
    started = threading.Event()

    def build(*args, **kwargs):
        started.set()
        return build_dataset(*args, **kwargs)

    monkeypatch.setattr(train_module, "build_dataset", build)
    data = DataConfig(recordings=str(recordings))
    out = train_module._dataset_dir(data, (30, 40), tmp_path / "data")
    built: list[Path] = []
    with train_module._exclusive(out):  # another run is building this dataset
        t = threading.Thread(target=lambda: built.append(prepare_dataset(data, (30, 40), tmp_path / "data")))
        t.start()
        assert not started.wait(timeout=3.0)  # it waits for the lock, building nothing
    assert started.wait(timeout=60)
    t.join(timeout=120)
    assert built == [out] and DatasetInfo.load(out).num_episodes == 4
