"""Action space, dataset builder and chunk loader: write -> read -> build -> chunk recovers every action."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from act.data import ActDataModule, ChunkDataset, build_dataset, split_episodes
from act.recording import Action, RecordingError, find_episodes, read_episode
from act.spaces import ActionError, ActionSpace
from tests.conftest import write_episode


def test_action_space_round_trip_within_a_pixel():
    space = ActionSpace.from_actions([Action("key", key="ctrl+shift+p")])
    actions = [
        Action("click", 12.3, 99.9),
        Action("double_click", 0, 120),
        Action("right_click", 159.5, 0.5),
        Action("drag", 10, 20, 150, 110),
        Action("scroll", 80, 60, dx=0, dy=-3),
        Action("key", key="ctrl+shift+p"),
        Action("key", key="Z"),
        Action("wait"),
        Action("noop"),
    ]
    decoded = space.decode(space.encode(actions, 160, 120), 160, 120)
    for a, b in zip(actions, decoded):
        assert a.kind == b.kind
        assert max(abs(a.x - b.x), abs(a.y - b.y), abs(a.x2 - b.x2), abs(a.y2 - b.y2)) <= 1.0
        assert (a.dx, a.dy) == (b.dx, b.dy)
        assert a.key == b.key


def test_action_space_rejects_bad_actions():
    space = ActionSpace()
    with pytest.raises(ActionError, match="kind"):
        space.encode([Action("teleport")], 10, 10)
    with pytest.raises(ActionError, match="vocabulary"):
        space.encode([Action("key", key="hyper+q")], 10, 10)
    with pytest.raises(ActionError, match="'point'.*finite"):
        space.check({"kind": 2, "point": [float("nan"), 0.5]})
    with pytest.raises(ActionError, match="outside"):
        space.check({"kind": 2, "point": [1.5, 0.5]})
    with pytest.raises(ActionError, match="kind"):
        space.check({"kind": 99})
    ok = space.check({"kind": 7, "key": space.keys.id("a")})
    assert space.from_env(ok, 10, 10).key == "a"


def test_build_then_chunk_recovers_every_action(recordings, tmp_path):
    info = build_dataset(recordings, tmp_path / "ds", image_size=(60, 80))
    episodes = [read_episode(p) for p in find_episodes(recordings)]
    expected = [ep.actions() for ep in episodes]
    assert info.num_episodes == 4 and info.num_steps == sum(map(len, expected))
    space = info.space
    k = 4
    ds = ChunkDataset(tmp_path / "ds", chunk_size=k)
    assert len(ds) == info.num_steps
    row = 0
    for e, actions in enumerate(expected):
        width, height = episodes[e].meta.screen.width, episodes[e].meta.screen.height
        for step in range(len(actions)):
            s = ds[row]
            assert s["episode_index"] == e and s["step_index"] == step
            n_real = min(k, len(actions) - step)
            assert s["is_pad"].tolist() == [False] * n_real + [True] * (k - n_real)  # never crosses episodes
            got = space.decode(
                {f: s[f][:n_real].numpy() for f in ("kind", "point", "point2", "key", "scroll")},
                width,
                height,
            )
            for a, b in zip(actions[step : step + n_real], got):
                assert (a.kind, a.key) == (b.kind, b.key) and abs(a.x - b.x) <= 1 and abs(a.y - b.y) <= 1
            assert (s["kind"][n_real:] == 0).all()
            assert s["image"].shape == (3, 60, 80) and s["image"].dtype == torch.uint8
            row += 1


def test_frames_are_resized_once_and_stored_uint8(tmp_path):
    path = write_episode(tmp_path / "rec" / "ep", steps=2, typed="")
    build_dataset(tmp_path / "rec", tmp_path / "ds", image_size=(120, 160))
    ds = ChunkDataset(tmp_path / "ds", chunk_size=2)
    frame0 = read_episode(path).frame(0)
    assert np.array_equal(ds[0]["image"].permute(1, 2, 0).numpy(), frame0)  # same size: exact pixels


def test_instruction_tokens_and_intents(recordings, tmp_path):
    info = build_dataset(recordings, tmp_path / "ds", image_size=(30, 40))
    ds = ChunkDataset(tmp_path / "ds", chunk_size=2)
    words = [info.instruction_vocab[i] for i in ds[0]["instruction"].tolist() if i]
    assert words == ["click", "the", "ok", "button"]
    assert info.intent_vocab[int(ds[0]["intent"])] == "press ok"
    assert info.intent_vocab[int(ds[len(ds) - 1]["intent"])] == "type the name"


def test_bad_recording_stops_the_build_before_writing(recordings, tmp_path):
    (recordings / "ep_002" / "frames" / "000000.png").unlink()
    with pytest.raises(RecordingError, match="000000.png"):
        build_dataset(recordings, tmp_path / "ds", image_size=(30, 40))
    assert not (tmp_path / "ds").exists()


def test_parallel_build_matches_serial(recordings, tmp_path):
    build_dataset(recordings, tmp_path / "a", image_size=(30, 40))
    build_dataset(recordings, tmp_path / "b", image_size=(30, 40), num_proc=2)
    a, b = ChunkDataset(tmp_path / "a", 3), ChunkDataset(tmp_path / "b", 3)
    assert len(a) == len(b)
    for i in range(len(a)):
        assert all(torch.equal(a[i][k], b[i][k]) for k in a[i])


def test_datamodule_splits_by_episode(recordings, tmp_path):
    build_dataset(recordings, tmp_path / "ds", image_size=(30, 40))
    dm = ActDataModule(tmp_path / "ds", chunk_size=3, batch_size=2, val_fraction=0.25)
    dm.setup()
    train_eps = set(dm.train_set.episode[dm.train_set.rows].tolist())
    val_eps = set(dm.val_set.episode[dm.val_set.rows].tolist())
    assert train_eps and val_eps and not train_eps & val_eps
    assert train_eps | val_eps == {0, 1, 2, 3}
    batch = next(iter(dm.train_dataloader()))
    assert batch["image"].shape == (2, 3, 30, 40) and batch["is_pad"].shape == (2, 3)


def test_split_episodes_is_seeded_and_disjoint():
    assert split_episodes(10, 0.2, seed=1) == split_episodes(10, 0.2, seed=1)
    train, val = split_episodes(10, 0.2)
    assert len(val) == 2 and not set(train) & set(val)
    assert split_episodes(1, 0.5) == ([0], [])


def test_recorded_hidpi_episode_trains_in_logical_pixels(tmp_path):
    from act.recording import Screen

    write_episode(tmp_path / "rec" / "ep", steps=2, typed="", screen=Screen(160, 120, scale=2.0))
    info = build_dataset(tmp_path / "rec", tmp_path / "ds", image_size=(60, 80))
    s = ChunkDataset(tmp_path / "ds", 1)[1]
    assert info.screens == {"160x120@2": 1}
    assert s["point"][0].tolist() == pytest.approx([17 / 160, 21 / 120])
