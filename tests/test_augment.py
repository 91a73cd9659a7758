"""Training on randomised UIs: image augmentation that moves its targets with the pixels
(act.data.augment), perturbations drawn at random per episode (act.training.online.Randomise), and
the shift that no longer slides what a demonstration depends on off the screen."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
import torch

from act.data import DatasetInfo, build_dataset
from act.data.augment import Augment, AugmentedDataset, Warp, augment_sample, draw_warp, jitter_colours
from act.spaces.action_space import KIND_ID
from act.training.config import DataConfig, TrainConfigError
from act.training.online import ExpertStream, Randomise, _translate_episode

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"
H, W = 60, 80
SQUARE = (30, 20, 40, 30)  # x0, y0, x1, y1 in pixels: the one black square of the hand-made frame


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("built") / "sample"
    build_dataset(SAMPLE, out)
    return out


def frame_sample() -> dict[str, torch.Tensor]:
    """A white frame with one black square, a click on it, a drag from it and a key press."""
    image = np.full((3, H, W), 255, np.uint8)
    x0, y0, x1, y1 = SQUARE
    image[:, y0:y1, x0:x1] = 0
    box = [x0 / W, y0 / H, x1 / W, y1 / H]
    centre = [(x0 + x1) / 2 / W, (y0 + y1) / 2 / H]
    return {
        "image": torch.from_numpy(image),
        "kind": torch.tensor([KIND_ID["click"], KIND_ID["drag"], KIND_ID["key"], 0]),
        "is_pad": torch.tensor([False, False, False, True]),
        "point": torch.tensor([centre, centre, [0.0, 0.0], [0.0, 0.0]]),
        "point2": torch.tensor([[0.0, 0.0], centre, [0.0, 0.0], [0.0, 0.0]]),
        "target": torch.tensor([box, box, [-1.0] * 4, [-1.0] * 4]),
    }


def black_box(image: torch.Tensor) -> tuple[int, int, int, int]:
    """The pixel box (x0, y0, x1, y1) holding every dark pixel of a (3, H, W) image (darker than
    halfway between its darkest and its brightest)."""
    grey = image.numpy().astype(float).mean(0)
    ys, xs = np.nonzero(grey < (grey.min() + grey.max()) / 2)
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


@pytest.mark.parametrize(
    "aug", [Augment(shift=0.2), Augment(scale=0.3), Augment(shift=0.15, scale=0.25)], ids=str
)
def test_a_warp_moves_points_and_boxes_onto_the_moved_square(aug):
    sample, moved_any = frame_sample(), False
    for seed in range(20):
        out, warp = augment_sample(sample, np.random.default_rng(seed), aug)
        moved_any |= not warp.identity
        bx0, by0, bx1, by1 = black_box(out["image"])
        for k in (0, 1):  # the click's and the drag's box: the square, moved (within a pixel)
            x0, y0, x1, y1 = (out["target"][k] * torch.tensor([W, H, W, H])).tolist()
            assert abs(x0 - bx0) <= 1 and abs(y0 - by0) <= 1 and abs(x1 - bx1) <= 1 and abs(y1 - by1) <= 1
        for point in (out["point"][0], out["point"][1], out["point2"][1]):  # on the square
            x, y = int(point[0] * W), int(point[1] * H)
            assert (out["image"][:, y, x] == 0).all(), (seed, warp)
        assert torch.equal(out["point"][2:], sample["point"][2:])  # a key press and padding stay put
        assert torch.equal(out["point2"][0], sample["point2"][0])  # a click has no end point to move
        assert torch.equal(out["target"][2:], sample["target"][2:])  # "no box" stays -1
    assert moved_any
    assert (sample["image"][:, 20:30, 30:40] == 0).all()  # the input sample is left as it was


def test_colour_jitter_changes_the_pixels_and_no_target():
    sample = frame_sample()
    sample["image"][0][sample["image"][0] == 255] = 200  # some colour for saturation to act on
    out, warp = augment_sample(sample, np.random.default_rng(3), Augment(jitter=0.5))
    assert warp.identity and not torch.equal(out["image"], sample["image"])
    assert out["image"].dtype == torch.uint8 and out["image"].shape == sample["image"].shape
    for key in ("point", "point2", "target", "kind", "is_pad"):
        assert torch.equal(out[key], sample[key]), key
    assert black_box(out["image"]) == SQUARE  # the square stays the darkest thing where it was


def test_jitter_at_factor_one_is_the_identity():
    image = np.random.default_rng(0).integers(0, 256, (3, 8, 8), dtype=np.uint8)
    assert np.array_equal(jitter_colours(image, np.random.default_rng(0), 0.0), image)


def test_a_warp_keeps_the_given_boxes_and_the_pointer_targets_on_screen():
    edge = np.array([[0.0, 0.3, 0.05, 0.4], [0.9, 0.9, 1.0, 1.0]])  # one box at each edge
    for seed in range(50):
        warp = draw_warp(np.random.default_rng(seed), 0.3, 0.3, (H, W), edge)
        b = warp.boxes(edge)
        assert (b >= -1e-6).all() and (b <= 1 + 1e-6).all(), (seed, warp)
    sample = frame_sample()
    sample["point"][0] = torch.tensor([1 / W, 0.5])  # a click one pixel from the left edge
    for seed in range(30):
        out, _ = augment_sample(sample, np.random.default_rng(seed), Augment(shift=0.3))
        assert 0 <= out["point"][0, 0] < 1


def test_cell_words_move_with_a_shift_of_one_cell():
    rows, cols = 3, 4
    words = np.zeros(rows * cols, np.int64)
    words[1 * cols + 1] = 7  # the word sits in cell (1, 1)
    moved = Warp(1.0, 1 / cols, 1 / rows).cells(words, rows, cols).reshape(rows, cols)
    assert moved[2, 2] == 7 and moved.sum() == 7
    gone = Warp(1.0, -2 / cols, 0.0).cells(words, rows, cols)
    assert (gone == 0).all()  # pushed past the left edge, the word shows nowhere


def test_augmented_dataset_is_reproducible_under_a_seed_and_draws_anew_per_read():
    base = [frame_sample() for _ in range(4)]
    data = AugmentedDataset(base, Augment(shift=0.2, jitter=0.3))
    torch.manual_seed(1)
    first = [data[i]["image"] for i in range(4)]
    again = [data[i]["image"] for i in range(4)]  # the next epoch's reads
    torch.manual_seed(1)
    assert all(torch.equal(a, b) for a, b in zip(first, [data[i]["image"] for i in range(4)]))
    assert any(not torch.equal(a, b) for a, b in zip(first, again))
    assert any(not torch.equal(a, b["image"]) for a, b in zip(first, base))
    with pytest.raises(ValueError, match=r"augment\.shift"):
        Augment(shift=0.7)


def test_stream_augmentation_keeps_clicks_in_their_boxes_and_relabels_cells(built):
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
    aug = Augment(shift=0.1, scale=0.1, jitter=0.3)
    stream = ExpertStream(info, ["ClickButton"], chunk_size=2, cells=(rows, cols, stride), augment=aug)
    scale = torch.tensor([160, 120, 160, 120])
    changed = 0
    for seed, boxes in zip(seeds, buttons, strict=True):
        unmoved = plain.episode("ClickButton", "", seed)[0]
        label = boxes[tuple((unmoved["target"][0] * scale).round().int().tolist())]  # the clicked button
        first = stream.episode("ClickButton", "", seed)[0]
        assert torch.equal(first["instruction"], unmoved["instruction"])
        changed += not torch.equal(first["target"], unmoved["target"])
        x, y = first["point"][0]
        x0, y0, x1, y1 = first["target"][0]
        assert x0 <= x <= x1 and y0 <= y <= y1 and 0 <= x < 1 and 0 <= y < 1
        bx0, by0, bx1, by1 = (first["target"][0] * scale).round().int().tolist()
        under = first["cell_words"].view(rows, cols)[
            max(by0, 0) // stride : (by1 - 1) // stride + 1, max(bx0, 0) // stride : (bx1 - 1) // stride + 1
        ]
        assert stream.words.id(label) > 1 and stream.words.id(label) in under.flatten().tolist(), (
            seed,
            label,
        )
    assert changed >= 2


def test_augmentation_off_leaves_the_stream_as_it_was(built):
    from act.training.config import AugmentConfig, RandomiseConfig

    info = DatasetInfo.load(built)
    plain = ExpertStream(info, ["ClickButton"], chunk_size=2, buffer=4)
    off = ExpertStream(
        info, ["ClickButton"], chunk_size=2, buffer=4, augment=AugmentConfig(), randomise=RandomiseConfig()
    )
    assert off.augment is None and off.randomise is None
    for a, b in zip(itertools.islice(iter(plain), 8), itertools.islice(iter(off), 8)):
        assert all(torch.equal(a[k], b[k]) for k in a)


FAMILIES = ("theme", "layout_shift", "scale")


def test_randomised_draws_use_the_listed_families_at_severities_in_range():
    from act.envs.perturbations import parse_spec

    r = Randomise(FAMILIES, severity=(0.3, 0.6), nominal=0.2, compose=0.5)
    specs = [r.draw(np.random.default_rng([seed, 1])) for seed in range(400)]
    parsed = [parse_spec(s) for s in specs]
    assert 40 <= sum(not p for p in parsed) <= 130  # about a fifth nominal
    sizes = [len(p) for p in parsed if p]
    assert set(sizes) == {1, 2} and 0.35 <= sizes.count(2) / len(sizes) <= 0.65
    for p in parsed:
        names = [n for n, _ in p]
        assert set(names) <= set(FAMILIES) and len(set(names)) == len(names)  # two distinct families
        assert all(0.3 <= s <= 0.6 for _, s in p)
    assert {n for p in parsed for n, _ in p} == set(FAMILIES)
    assert len({s for p in parsed for _, s in p}) > 10  # severities spread over the range
    again = [r.draw(np.random.default_rng([seed, 1])) for seed in range(400)]
    assert again == specs  # deterministic per seed


def test_randomised_stream_draws_per_episode_seed_and_resumes(built, monkeypatch):
    info = DatasetInfo.load(built)
    r = Randomise(FAMILIES, severity=(0.25, 1.0), nominal=0.0, compose=0.5)

    def drawn(seed: int) -> list[tuple[str, int]]:
        stream = ExpertStream(info, ["ClickButton"], chunk_size=2, buffer=0, seed=seed, randomise=r)
        got: list[tuple[str, int]] = []
        template = stream.episode("ClickButton", "", 0)[:1]
        monkeypatch.setattr(stream, "episode", lambda t, p, s: got.append((p, s)) or template)
        list(itertools.islice(iter(stream), 30))
        return got

    first = drawn(0)
    assert first == drawn(0) and first != drawn(1)
    assert all(spec == r.draw(np.random.default_rng([0, s, 0x4A9D])) for spec, s in first)  # per seed
    assert len({spec for spec, _ in first}) > 10 and all(spec for spec, _ in first)
    # the stream's own draws (task, order) are those of an unrandomised stream
    plain = ExpertStream(info, ["ClickButton"], chunk_size=2, buffer=0, perturbations=["", "theme:0.5"])
    got: list[int] = []
    template = plain.episode("ClickButton", "", 0)[:1]
    monkeypatch.setattr(plain, "episode", lambda t, p, s: got.append(s) or template)
    list(itertools.islice(iter(plain), 30))
    assert got == [s for _, s in first]


def test_randomise_refuses_what_it_cannot_draw_naming_the_field():
    with pytest.raises(ValueError, match=r"randomise\.families: .*distinct families"):
        Randomise(("theme", "no_such_family"))
    with pytest.raises(ValueError, match=r"randomise\.severity"):
        Randomise(FAMILIES, severity=(0.8, 0.2))
    with pytest.raises(ValueError, match=r"randomise\.compose"):
        Randomise(("theme",), compose=0.5)
    with pytest.raises(TrainConfigError, match=r"data\.randomise\.families"):
        _randomise(["themes"])
    with pytest.raises(TrainConfigError, match=r"data\.randomise\.families: draws the online stream"):
        DataConfig(randomise=_randomise(["theme"], compose=0.0))
    assert DataConfig(augment=_augment(shift=0.1)).augment.shift == 0.1  # recorded episodes augment too
    with pytest.raises(TrainConfigError, match=r"data\.augment\.jitter"):
        _augment(jitter=1.5)


def test_recorded_train_samples_are_augmented_and_validation_samples_are_not(built):
    """An offline run (recordings, no stream) augments its train split, its clicks moving with the pixels."""
    from act.data import ActDataModule, ChunkDataset

    cells = (15, 20, 8)
    plain = ActDataModule(built, chunk_size=3, val_fraction=0.25, cells=cells)
    moved = ActDataModule(built, chunk_size=3, val_fraction=0.25, cells=cells, augment=Augment(shift=0.1))
    plain.setup(), moved.setup()
    assert isinstance(moved.train_set, AugmentedDataset) and isinstance(moved.val_set, ChunkDataset)
    assert all(
        torch.equal(plain.val_set[i]["image"], moved.val_set[i]["image"]) for i in range(len(plain.val_set))
    )
    torch.manual_seed(0)
    changed = clicks = 0
    for i in range(len(plain.train_set)):
        a, b = plain.train_set[i], moved.train_set[i]
        same_image = torch.equal(a["image"], b["image"])
        changed += not same_image
        live = ~b["is_pad"] & (b["kind"] == KIND_ID["click"])
        if live.any():  # a whole-pixel shift moves the click by as much; no shift, no move
            clicks += 1
            assert torch.equal(a["point"][live], b["point"][live]) == same_image, i
            assert ((b["point"][live] >= 0) & (b["point"][live] <= 1)).all()
    assert changed > len(plain.train_set) // 2 and clicks > 0
    assert ActDataModule(built, chunk_size=3, augment=Augment()).train_set is None  # nothing to do: plain
    plain_again = ActDataModule(built, chunk_size=3, augment=Augment())
    plain_again.setup()
    assert isinstance(plain_again.train_set, ChunkDataset)


def _randomise(families, **kw):
    from act.training.config import RandomiseConfig

    return RandomiseConfig(families=list(families), **kw)


def _augment(**kw):
    from act.training.config import AugmentConfig

    return AugmentConfig(**kw)


def test_act_train_hands_the_randomise_and_augment_sections_to_the_stream(built):
    from act.policy import ACTConfig
    from act.training.config import GenerateConfig
    from act.training.train import _train_stream

    data = DataConfig(
        generate=GenerateConfig(tasks=["ClickButton"]),
        online=True,
        randomise=_randomise(["theme", "scale"], severity=(0.5, 0.5)),
        augment=_augment(shift=0.05, jitter=0.1),
    )
    stream = _train_stream(data, DatasetInfo.load(built), ACTConfig(), seed=0)
    assert stream.randomise == Randomise(("theme", "scale"), (0.5, 0.5), 0.2, 0.25)
    assert stream.augment == Augment(0.05, 0.0, 0.1, 1.0)


# ---- the shift fix: what a demonstration depends on stays on screen (docs/experiments.md#shift)


def test_shift_keeps_every_element_on_screen_not_only_the_clicks():
    from act.recording.schema import Action

    # The expert ticks a checkbox by clicking its label (x = 18); its tick mark sits at x = 4..12.
    # Keeping only the click on screen let the mark slide off the left edge.
    click = Action("click", x=18, y=30, target=(4, 24, 53, 36))
    boxes = [
        {"role": "window", "name": "Settings", "bbox": (0, 0, 160, 120)},
        {"role": "checkbox", "name": "Sync", "bbox": (4, 24, 53, 36)},
        {"role": "checkbox", "name": "Dark", "bbox": (64, 24, 100, 36)},
        {"role": "banner", "name": "Sync paused", "bbox": (0, 12, 160, 22)},  # a bar: may be cut
    ]
    screen = np.zeros((120, 160, 3), np.uint8)
    offsets = set()
    for seed in range(60):
        _, (moved,), (es,) = _translate_episode(
            [screen], [click], [boxes], 0.2, np.random.default_rng(seed), 160, 120
        )
        dx, dy = moved.x - 18, moved.y - 30
        offsets.add((dx, dy))
        assert dx >= -4, dx  # the tick mark of the leftmost box stays on screen
        assert dx <= 160 - 100 and dy >= -24, (dx, dy)  # so do the rightmost box and the top
        for e in es[1:3]:
            x0, y0, x1, y1 = e["bbox"]
            assert x0 >= 0 and x1 <= 160 and y0 >= 0 and y1 <= 120
    assert len(offsets) > 20  # still a shift: up to 32 px right, 24 up or down


def test_shifted_tick_checkboxes_episodes_keep_every_checkbox_whole_on_screen():
    from act.envs.expert_loop import ExpertSteps
    from act.envs.synthui import SynthUIEnv, expert_for

    env = SynthUIEnv("TickCheckboxes")
    cut = 0
    for seed in range(10_000_000, 10_000_030):  # the stream's seeds
        screens, actions, elements = [], [], []
        for obs, action, info in ExpertSteps(env, seed, expert_for(env)):
            screens.append(obs["screen"])
            actions.append(action)
            elements.append(info["elements"])
        rng = np.random.default_rng([seed, 0x5417])
        _, _, moved = _translate_episode(screens, actions, elements, 0.1, rng, env.width, env.height)
        for es in moved:
            for e in es:
                x0, y0, x1, y1 = e["bbox"]
                if e["role"] in ("checkbox", "tab", "button"):
                    cut += not (x0 >= 0 and y0 >= 0 and x1 <= env.width and y1 <= env.height)
    assert cut == 0


def test_randomised_experiment_is_the_demo_with_its_seen_families_drawn_and_augmentation_on():
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from act.envs.perturbations import parse_spec
    from tests.test_training import CONFIGS

    with initialize_config_dir(config_dir=CONFIGS, version_base="1.3"):
        demo = compose("train", overrides=["experiment=demo"])
        randomised = compose("train", overrides=["experiment=randomised"])
    data = OmegaConf.to_object(randomised.data)
    seen = {name for spec in demo.data.generate.perturbations for name, _ in parse_spec(spec)}
    assert set(data.randomise.families) == seen and data.online and data.augment.enabled
    assert randomised.policy == demo.policy and randomised.optim == demo.optim
    assert randomised.data.generate == demo.data.generate  # the same recorded vocabulary and validation


def test_act_train_augments_recorded_episodes_when_asked(tmp_path):
    from act.training.train import train
    from tests.test_data_safety import compose_cfg

    metrics, objects = train(
        compose_cfg(SAMPLE, tmp_path, "data.augment.shift=0.05", "data.augment.jitter=0.2")
    )
    data = objects["datamodule"]
    assert isinstance(data.train_set, AugmentedDataset) and data.train_set.aug == Augment(0.05, 0.0, 0.2)
    assert np.isfinite(metrics["train/loss"])
