"""ExpertStream: fresh synthui demonstrations in ChunkDataset's format, and act-train on them."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
import torch
from hydra import compose, initialize_config_dir
from torch.utils.data import DataLoader

from act.data import ChunkDataset, DatasetInfo, build_dataset
from act.data.reading import READ_TARGETS
from act.spaces.action_space import KIND_ID
from act.training import ExpertStream, train
from tests.test_training import CONFIGS, compose_cfg

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("built") / "sample"
    build_dataset(SAMPLE, out)
    return out


def test_samples_match_chunk_dataset_keys_shapes_and_dtypes(built):
    info = DatasetInfo.load(built)
    recorded = ChunkDataset(built, chunk_size=6)[0]
    fresh = next(iter(ExpertStream(info, ["ClickButton", "MenuItem"], chunk_size=6, buffer=4)))
    assert set(fresh) == set(recorded)
    for key, value in recorded.items():
        assert fresh[key].shape == value.shape and fresh[key].dtype == value.dtype, key


def test_first_click_lands_in_its_target_and_padding_is_masked(built):
    info = DatasetInfo.load(built)
    stream = ExpertStream(info, ["ClickButton"], chunk_size=4)
    samples = stream.episode("ClickButton", "", seed=123)
    first = samples[0]
    assert first["kind"][0] == KIND_ID["click"] and not first["is_pad"][0]
    x, y = first["point"][0]
    x0, y0, x1, y1 = first["target"][0]
    assert x0 <= x <= x1 and y0 <= y <= y1
    last = samples[-1]  # the episode ends at its last action: the rest of the window is padding
    assert last["is_pad"][1:].all() and (last["kind"][1:] == 0).all() and (last["target"][1:] == -1).all()
    words = [info.instruction_vocab[i] for i in first["instruction"] if i > 0]
    assert "button" in words or "click" in words or "press" in words or "hit" in words


def test_seeds_are_reproducible_and_distinct_per_worker(built):
    info = DatasetInfo.load(built)

    def first(seed: int, rank: int = 0) -> torch.Tensor:
        stream = ExpertStream(info, ["ClickButton"], chunk_size=3, seed=seed, buffer=8, rank=rank)
        return torch.stack([s["image"] for s in itertools.islice(iter(stream), 16)])

    assert torch.equal(first(0), first(0))
    assert not torch.equal(first(0), first(1))
    assert not torch.equal(first(0), first(0, rank=1))
    stream = ExpertStream(info, ["ClickButton"], chunk_size=3, buffer=8)
    batches = DataLoader(stream, batch_size=16, num_workers=2)
    a, b = itertools.islice(iter(batches), 2)  # batch i comes from worker i % 2
    assert not set(a["episode_index"].tolist()) & set(b["episode_index"].tolist())


def test_act_train_online_trains_on_the_stream_and_validates_on_the_built_split(tmp_path):
    with initialize_config_dir(config_dir=CONFIGS, version_base="1.3"):
        cfg = compose(
            "train",
            overrides=[
                "data=synthui",
                "data.generate.tasks=[ClickButton,MenuItem]",
                "data.generate.episodes=3",
                "data.generate.num_workers=1",
                "data.online=true",
                "data.batch_size=4",
                "policy=tiny",
                "debug=limit",
                "callbacks.closed_loop.episodes=0",
                f"paths.data_dir={tmp_path / 'data'}",
                f"paths.output_dir={tmp_path / 'out'}",
            ],
        )
    metrics, objects = train(cfg)
    assert isinstance(objects["datamodule"].train_dataloader().dataset, ExpertStream)
    assert objects["summary"]["global_step"] == 20
    # the stream computes the one reading target the policy learns from
    assert objects["datamodule"].train_stream.read_targets == ("cell_words",)
    assert objects["datamodule"].read_targets == ("cell_words",)  # and so do the recorded val samples
    assert torch.isfinite(torch.tensor(metrics["val/loss"]))


def test_online_without_a_synthui_generate_section_is_refused(tmp_path):
    with pytest.raises(ValueError, match="data.online"):
        train(compose_cfg(SAMPLE, tmp_path, "debug=limit", "data.online=true"))


@pytest.mark.parametrize("shift", [0.0, 0.1])
def test_cells_read_the_label_of_the_button_to_click(built, shift):
    import dataclasses

    from act.envs.synthui import SynthUIEnv

    env = SynthUIEnv("ClickButton")
    seeds = [1000 + i for i in range(5)]
    buttons = [{e["bbox"]: e["name"].lower() for e in env.reset(seed=s)[1]["elements"]} for s in seeds]
    base = DatasetInfo.load(built)
    names = [n for b in buttons for n in b.values()]
    info = dataclasses.replace(base, instruction_vocab=[*base.instruction_vocab, *names])
    rows, cols, stride = 8, 10, 16  # the demo policy's grid on 120 x 160 screens
    plain = ExpertStream(info, ["ClickButton"], chunk_size=2, cells=(rows, cols, stride))
    stream = ExpertStream(info, ["ClickButton"], chunk_size=2, cells=(rows, cols, stride), shift=shift)
    scale = torch.tensor([160, 120, 160, 120])
    for seed, boxes in zip(seeds, buttons, strict=True):
        unmoved = plain.episode("ClickButton", "", seed=seed)[0]
        label = boxes[tuple((unmoved["target"][0] * scale).round().int().tolist())]  # the clicked button
        first = stream.episode("ClickButton", "", seed=seed)[0]
        words = first["cell_words"].view(rows, cols)
        x0, y0, x1, y1 = (first["target"][0] * scale).round().int().tolist()
        x0, y0 = max(x0, 0), max(y0, 0)  # a shifted button may stick out past the left or top edge
        under = words[y0 // stride : (y1 - 1) // stride + 1, x0 // stride : (x1 - 1) // stride + 1]
        assert stream.words.id(label) > 1 and stream.words.id(label) in under.flatten().tolist(), (
            seed,
            label,
        )
        assert (words == 0).float().mean() > 0.3  # most of the screen shows no word


def test_a_stream_computes_only_the_reading_targets_it_is_asked_for(built):
    info = DatasetInfo.load(built)
    cells = (8, 10, 16)
    both = ExpertStream(info, ["ClickButton"], chunk_size=2, cells=cells).episode("ClickButton", "", 3)
    for which in (("cell_words",), ("cell_spans",)):
        stream = ExpertStream(info, ["ClickButton"], chunk_size=2, cells=cells, read_targets=which)
        for full, sample in zip(both, stream.episode("ClickButton", "", 3), strict=True):
            assert set(READ_TARGETS) & set(sample) == set(which)
            assert torch.equal(sample[which[0]], full[which[0]]) and full[which[0]].any()
    with pytest.raises(ValueError, match="cell_letters"):
        ExpertStream(info, ["ClickButton"], cells=cells, read_targets=("cell_letters",))


def test_an_element_half_off_screen_labels_its_visible_cells(built):
    info = DatasetInfo.load(built)
    stream = ExpertStream(info, ["ClickButton"], cells=(8, 10, 16))
    i, word = next((i, w) for i, w in enumerate(info.instruction_vocab) if i >= 2 and w.isalnum())
    cells = stream.cell_words([{"role": "button", "name": word, "bbox": (-20, 0, 24, 16)}], 160, 120)
    assert cells.reshape(8, 10)[0, 0] == i and (cells.reshape(8, 10)[:, 2:] == 0).all()


def test_an_element_wholly_off_screen_labels_no_cell(built):
    info = DatasetInfo.load(built)
    stream = ExpertStream(info, ["ClickButton"], cells=(8, 10, 16))
    word = next(w for i, w in enumerate(info.instruction_vocab) if i >= 2 and w.isalnum())
    for bbox in [(-40, 0, -10, 16), (0, -30, 40, -4)]:  # a negative end once painted from the far side
        cells = stream.cell_words([{"role": "button", "name": word, "bbox": bbox}], 160, 120)
        assert (cells == 0).all(), bbox


def test_shift_moves_screen_clicks_boxes_and_elements_by_one_offset_and_keeps_clicks_on_screen():
    from act.recording.schema import Action
    from act.training.online import _translate_episode

    h, w = 60, 80
    screen = np.random.default_rng(0).integers(0, 256, (h, w, 3), dtype=np.uint8)
    click = Action("click", x=40, y=30, target=(35, 25, 45, 35))
    edge = Action("click", x=3, y=57, target=(0, 54, 6, 60))  # 3 px from the left, 2 from the bottom
    drag = Action("drag", x=30, y=20, x2=50, y2=20)
    key = Action("key", key="a")
    elements = [{"role": "button", "name": "ok", "bbox": (35, 25, 45, 35)}]
    offsets = set()
    for seed in range(40):
        moved, (c, e, d, k), (es, _, _, _) = _translate_episode(
            [screen] * 4,
            [click, edge, drag, key],
            [elements, None, None, None],
            0.2,
            np.random.default_rng(seed),
            w,
            h,
        )
        dx, dy = c.x - 40, c.y - 30
        offsets.add((dx, dy))
        assert -3 <= dx <= 16 and -12 <= dy <= 2
        assert (e.x, e.y) == (3 + dx, 57 + dy) and 0 <= e.x < w and 0 <= e.y < h
        assert (d.x, d.y, d.x2, d.y2) == (30 + dx, 20 + dy, 50 + dx, 20 + dy)  # a drag's end moves too
        assert (c.x2, c.y2) == (0, 0)  # a click has no end point to move
        assert c.target == (35 + dx, 25 + dy, 45 + dx, 35 + dy) and es[0]["bbox"] == c.target
        assert k == key  # a key press has no position
        assert (moved[0][int(c.y), int(c.x)] == screen[30, 40]).all()  # the content moved with the click
        assert moved[0].shape == screen.shape and moved[0].dtype == np.uint8
    assert len(offsets) > 10


def test_shift_of_a_hidpi_screen_moves_its_pixels_twice_as_far():
    from act.recording.schema import Action
    from act.training.online import _translate_episode

    screen = np.random.default_rng(1).integers(0, 256, (120, 160, 4), dtype=np.uint8)  # RGBA, 2x of 80 x 60
    click = Action("click", x=40, y=30)
    for seed in range(10):
        (moved,), (c,), _ = _translate_episode(
            [screen], [click], [None], 0.2, np.random.default_rng(seed), 80, 60
        )
        dx, dy = int(c.x - 40), int(c.y - 30)
        assert moved.shape == (120, 160, 3)
        assert (moved[60 + 2 * dy, 80 + 2 * dx] == screen[60, 80, :3]).all()


def test_shift_leaves_an_episode_alone_when_its_clicks_leave_no_whole_pixel_of_room():
    from act.recording.schema import Action
    from act.training.online import _translate_episode

    # clicks at x = 0.7 and 79.3 on an 80 px screen: offsets in [-0.7, -0.3] hold no whole pixel
    actions = [Action("click", x=0.7, y=10), Action("click", x=79.3, y=10)]
    _, moved, _ = _translate_episode(
        [np.zeros((60, 80, 3), np.uint8)], actions, [None, None], 0.2, np.random.default_rng(0), 80, 60
    )
    assert (moved[0].x, moved[1].x) == (0.7, 79.3)


def test_shift_without_the_online_stream_or_out_of_range_is_refused(tmp_path):
    with pytest.raises(ValueError, match="data.shift"):
        train(compose_cfg(SAMPLE, tmp_path, "debug=limit", "data.shift=0.1"))
    with pytest.raises(ValueError, match=r"data.shift: 0.7 is not a fraction"):
        train(compose_cfg(SAMPLE, tmp_path, "debug=limit", "data.online=true", "data.shift=0.7"))
    with pytest.raises(ValueError, match=r"data.shift_share: 0.5 shares out no shift"):
        train(compose_cfg(SAMPLE, tmp_path, "debug=limit", "data.online=true", "data.shift_share=0.5"))
    with pytest.raises(ValueError, match=r"data.text_random: draws the online stream"):
        train(compose_cfg(SAMPLE, tmp_path, "debug=limit", "data.text_random=0.5"))
    with pytest.raises(ValueError, match=r"data.text_random: 1.5 is not a share"):
        train(compose_cfg(SAMPLE, tmp_path, "debug=limit", "data.online=true", "data.text_random=1.5"))
    with pytest.raises(
        ValueError, match=r"data.text_random_tasks: 'typed' is not one of \('all', 'typing'\)"
    ):
        train(
            compose_cfg(SAMPLE, tmp_path, "debug=limit", "data.online=true", "data.text_random_tasks=typed")
        )
    with pytest.raises(ValueError, match=r"data.shift_share: 1.5 is not a share"):
        train(
            compose_cfg(
                SAMPLE, tmp_path, "debug=limit", "data.online=true", "data.shift=0.1", "data.shift_share=1.5"
            )
        )


def test_shift_share_moves_that_share_of_episodes(built):
    info = DatasetInfo.load(built)
    plain = ExpertStream(info, ["ClickButton"], chunk_size=2)
    moved = {
        share: ExpertStream(info, ["ClickButton"], chunk_size=2, shift=0.1, shift_share=share)
        for share in (0, 0.5)
    }
    seeds = range(2000, 2016)
    first = {s: plain.episode("ClickButton", "", s)[0]["point"][0] for s in seeds}
    same = {
        share: [torch.equal(st.episode("ClickButton", "", s)[0]["point"][0], first[s]) for s in seeds]
        for share, st in moved.items()
    }
    assert all(same[0])  # share 0: nothing moves
    assert 3 <= sum(same[0.5]) <= 13  # about half stay (a moved one keeps its point only by a 0 offset)


def test_task_weights_set_how_often_each_task_is_drawn(built, monkeypatch):
    info = DatasetInfo.load(built)
    stream = ExpertStream(info, ["ClickButton", "MenuItem"], chunk_size=2, buffer=0, task_weights=[0, 1])
    drawn = []
    template = stream.episode("ClickButton", "", 0)[:1]
    monkeypatch.setattr(stream, "episode", lambda task, perturbation, seed: drawn.append(task) or template)
    list(itertools.islice(iter(stream), 20))
    assert drawn and set(drawn) == {"MenuItem"}
    with pytest.raises(ValueError, match="task_weights"):
        ExpertStream(info, ["ClickButton", "MenuItem"], task_weights=[1.0])


def test_task_balance_evens_out_samples_not_episodes(built, monkeypatch):
    info = DatasetInfo.load(built)
    tasks = ["ClickButton", "Login"]  # 1 step an episode against about 18

    def login_share(balance: float) -> float:
        stream = ExpertStream(info, tasks, chunk_size=2, buffer=0, task_balance=balance)
        real = stream.episode
        monkeypatch.setattr(stream, "episode", lambda t, p, s: [{**x, "task": t} for x in real(t, p, s)])
        drawn = [s["task"] for s in itertools.islice(iter(stream), 400)]
        return drawn.count("Login") / len(drawn)

    steps = ExpertStream(info, tasks, task_balance=1).steps_per_task()
    assert steps["ClickButton"] == 1 and steps["Login"] > 10
    assert login_share(0) > 0.85  # an even draw of episodes: Login's long episodes fill the batches
    assert 0.3 < login_share(1) < 0.7  # an even draw of samples
    with pytest.raises(ValueError, match="task_balance"):
        ExpertStream(info, tasks, task_balance=2)


def test_task_balance_is_refused_without_the_online_stream(tmp_path):
    with pytest.raises(ValueError, match="data.task_balance: weighs the online stream"):
        train(compose_cfg(SAMPLE, tmp_path, "debug=limit", "data.task_balance=1"))
    with pytest.raises(ValueError, match=r"data.task_balance.*\[0, 1\]"):
        train(compose_cfg(SAMPLE, tmp_path, "debug=limit", "data.task_balance=1.5"))


def test_task_weights_are_checked_against_the_resolved_tasks_before_any_data_work(tmp_path):
    with pytest.raises(ValueError, match="data.task_weights: weighs the online stream's tasks"):
        train(compose_cfg(SAMPLE, tmp_path, "debug=limit", "data.task_weights=[1,2]"))
    for weights, message in (
        ("[1,2,3]", r"\(2: \['ClickButton', 'MenuItem'\]\)"),
        ("[0,0]", "not all 0"),
        ("[1,nan]", "finite"),
    ):
        with initialize_config_dir(config_dir=CONFIGS, version_base="1.3"):
            cfg = compose(
                "train",
                overrides=[
                    "data=synthui",
                    "data.generate.tasks=[ClickButton,MenuItem,ClickButton]",
                    "data.online=true",
                    f"data.task_weights={weights}",
                    "policy=tiny",
                    f"paths.data_dir={tmp_path / 'data'}",
                    f"paths.output_dir={tmp_path / 'out'}",
                ],
            )
        with pytest.raises(ValueError, match="data.task_weights: .*" + message):
            train(cfg)
    assert not (tmp_path / "data").exists()  # refused before any generation


def test_text_random_draws_a_share_of_episodes_with_random_strings(built):
    from act.envs.synthui.tasks.search_submit import NOUNS
    from act.spaces.vocab import decode_bytes

    info = DatasetInfo.load(built)
    half = ExpertStream(info, ["SearchSubmit"], chunk_size=3, text_random=0.5)
    splits = [half.text_split("SearchSubmit", s) for s in range(200)]
    # a function of the seed (resume)
    assert splits == [half.text_split("SearchSubmit", s) for s in range(200)]
    assert 60 < splits.count("random") < 140 and set(splits) == {"train", "random"}
    none = ExpertStream(info, ["SearchSubmit"], chunk_size=3)
    assert {none.text_split("SearchSubmit", s) for s in range(50)} == {"train"}
    # "typing": the typing tasks draw the share, the labels of the click tasks stay train-list words
    typing = ExpertStream(
        info, ["SearchSubmit", "ClickButton"], chunk_size=3, text_random=0.5, text_random_tasks="typing"
    )
    assert [typing.text_split("SearchSubmit", s) for s in range(200)] == splits
    assert {typing.text_split(t, s) for t in ("ClickButton", "ScrollOpen") for s in range(200)} == {"train"}
    assert {half.text_split("ClickButton", s) for s in range(200)} == {"train", "random"}
    for seed in range(5):
        random_query = decode_bytes(
            ExpertStream(info, ["SearchSubmit"], chunk_size=3, text_random=1.0)
            .episode("SearchSubmit", "", seed)[0]["instruction_bytes"]
            .tolist()
        )
        assert not any(noun in random_query for noun in NOUNS), random_query
    with pytest.raises(ValueError, match="text_random"):
        ExpertStream(info, ["SearchSubmit"], text_random=1.5)
    with pytest.raises(ValueError, match="text_random_tasks 'typed'"):
        ExpertStream(info, ["SearchSubmit"], text_random=0.5, text_random_tasks="typed")


# ------------------------------------------------------------------------- DAgger in the stream


class _ClicksNowhere:
    """A policy that clicks the window's top-left corner, where no element is: the UI never changes."""

    def reset(self) -> None:
        pass

    def select_action(self, obs):
        return {
            "kind": KIND_ID["click"],
            "point": np.array([0.002, 0.002], np.float32),
            "point2": np.zeros(2, np.float32),
            "key": 0,
            "scroll": np.zeros(2, np.float32),
        }


def test_stream_dagger_labels_the_states_the_policy_reached(built):
    from act.envs.synthui import SynthUIEnv
    from act.training.config import StreamDaggerConfig

    info = DatasetInfo.load(built)
    stream = ExpertStream(info, ["ClickButton"], chunk_size=2, dagger=StreamDaggerConfig(share=1.0, beta=0.0))
    plain = stream.episode("ClickButton", "", 7)
    assert len(plain) == 1  # no snapshot yet: the expert's own episode (one click)
    stream.rollout_policy = _ClicksNowhere()
    rolled = stream.episode("ClickButton", "", 7)
    env = SynthUIEnv("ClickButton")
    env.reset(seed=7)
    assert len(rolled) == env.max_steps  # the policy acted at every step and never finished
    assert (stream.dagger_episodes, stream.dagger_labels) == (1, env.max_steps)
    for s in rolled:  # every state is the first one, so every label clicks the expert's first target
        assert s["kind"][0] == KIND_ID["click"] and torch.equal(s["target"][0], plain[0]["target"][0])
        x0, y0, x1, y1 = s["target"][0].tolist()
        assert x0 <= s["point"][0, 0] <= x1 and y0 <= s["point"][0, 1] <= y1
    stream.dagger_share = 0.0  # the share is drawn per episode: none rolled out
    assert len(stream.episode("ClickButton", "", 7)) == 1


def test_stream_dagger_snapshots_the_policy_in_training_and_checks_its_settings(tmp_path):
    from types import SimpleNamespace

    from act.policy import ACTPolicy
    from act.training.callbacks import StreamDagger
    from act.training.config import StreamDaggerConfig, TrainConfigError
    from tests.test_policy import tiny_config

    stream = SimpleNamespace(rollout_policy=None)
    callback = StreamDagger(stream, every=3)
    module = SimpleNamespace(policy=ACTPolicy(tiny_config()))
    callback.on_train_batch_end(SimpleNamespace(global_step=2), module, None, None, 0)
    assert stream.rollout_policy is None
    callback.on_train_batch_end(SimpleNamespace(global_step=3), module, None, None, 0)
    snap = stream.rollout_policy
    assert snap is not module.policy and not snap.training
    assert all(not p.requires_grad for p in snap.parameters())
    assert all(torch.equal(a, b) for a, b in zip(snap.parameters(), module.policy.parameters()))
    with pytest.raises(TrainConfigError, match=r"data.dagger.share: 1.5 is not a probability"):
        StreamDaggerConfig(share=1.5)
    with pytest.raises(ValueError, match=r"data.dagger.share: rolls the policy out in the online stream"):
        train(compose_cfg(SAMPLE, tmp_path, "debug=limit", "data.dagger.share=0.5"))
    with pytest.raises(ValueError, match=r"data.num_workers: 0 \(is 2\)"):
        train(
            compose_cfg(
                SAMPLE,
                tmp_path,
                "debug=limit",
                "data.online=true",
                "data.dagger.share=0.5",
                "data.num_workers=2",
            )
        )
