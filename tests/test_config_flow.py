"""Values both the dataset and the policy know flow one way, and an act-train override of each is honoured.

image_size: policy -> dataset (the dataset is built at the policy's size). instruction_max_len,
instruction_vocab, intent_vocab, action_space: dataset -> policy; an override that disagrees with the
dataset is an error naming policy.<key>, one that agrees trains.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

import act
from act.data import DatasetInfo
from act.policy import ACTConfig
from act.spaces.action_space import ActionSpace
from act.training import register_configs, train
from tests.conftest import write_episode

CONFIGS = str(Path(act.__file__).parent / "configs")
register_configs()


@pytest.fixture(scope="module")
def recs(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("recs")
    for i in range(4):
        write_episode(root / f"ep_{i:03d}", steps=4, seed=i)
    return root


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("data")  # shared: each image size builds its dataset once


def train_with(recs: Path, data_dir: Path, out: Path, *extra: str):
    """act-train policy=tiny debug=fdr on the recordings, with ``extra`` command-line overrides."""
    overrides = [
        "data=sample",
        f"data.recordings={recs}",
        f"paths.data_dir={data_dir}",
        f"paths.output_dir={out}",
        "policy=tiny",
        "data.batch_size=4",
        "debug=fdr",
        *extra,
    ]
    with initialize_config_dir(config_dir=CONFIGS, version_base="1.3"):
        cfg = compose("train", overrides=overrides)
    return train(cfg)[1]


def _hydra_list(items: list[str]) -> str:
    return "[" + ",".join(f"'{s}'" for s in items) + "]"  # quoted: "<pad>" is no bare Hydra string


def test_image_size_override_builds_the_dataset_at_it_and_the_policy_takes_it(recs, data_dir, tmp_path):
    objects = train_with(recs, data_dir, tmp_path / "out", "policy.image_size=[48,64]")
    assert objects["policy"].config.image_size == (48, 64)
    assert DatasetInfo.load(objects["summary"]["dataset"]).image_size == (48, 64)
    assert objects["summary"]["global_step"] == 1


def test_instruction_max_len_comes_from_the_dataset_unless_set(recs, data_dir, tmp_path):
    objects = train_with(recs, data_dir, tmp_path / "default")
    dataset_len = DatasetInfo.load(objects["summary"]["dataset"]).instruction_max_len
    assert dataset_len != ACTConfig().instruction_max_len  # else this test could not tell them apart
    assert objects["policy"].config.instruction_max_len == dataset_len
    assert objects["policy"].model.word_pos.shape[1] == dataset_len

    agreeing = train_with(recs, data_dir, tmp_path / "agree", f"policy.instruction_max_len={dataset_len}")
    assert agreeing["policy"].config.instruction_max_len == dataset_len

    with pytest.raises(ValueError, match=r"policy\.instruction_max_len: 7 disagrees with the dataset's"):
        train_with(recs, data_dir, tmp_path / "disagree", "policy.instruction_max_len=7")


@pytest.mark.parametrize("key", ["instruction_vocab", "intent_vocab"])
def test_a_vocabulary_override_must_be_the_datasets(recs, data_dir, tmp_path, key):
    objects = train_with(recs, data_dir, tmp_path / "default")
    vocab = getattr(DatasetInfo.load(objects["summary"]["dataset"]), key)
    assert getattr(objects["policy"].config, key) == vocab and len(vocab) > 2

    agreeing = train_with(recs, data_dir, tmp_path / "agree", f"policy.{key}={_hydra_list(vocab)}")
    assert getattr(agreeing["policy"].config, key) == vocab

    with pytest.raises(ValueError, match=rf"policy\.{key}: .* disagrees with the dataset's"):
        train_with(
            recs, data_dir, tmp_path / "disagree", f"policy.{key}={_hydra_list([*vocab[:2], 'zebra'])}"
        )


def test_an_action_space_override_must_be_the_datasets(recs, data_dir, tmp_path):
    space = ActionSpace().to_json()
    kinds = ",".join(space["kinds"][:-1])  # one kind fewer than the dataset's
    with pytest.raises(ValueError, match=r"policy\.action_space: .* disagrees with the dataset's"):
        train_with(recs, data_dir, tmp_path / "disagree", f"policy.action_space.kinds=[{kinds}]")


def test_with_dataset_info_directions():
    info = {
        "image_size": [60, 80],
        "instruction_max_len": 32,
        "instruction_vocab": ["<pad>", "<unk>", "ok"],
        "intent_vocab": ["<pad>", "<unk>"],
        "action_space": ActionSpace().to_json(),
    }
    config = ACTConfig(image_size=(60, 80)).with_dataset_info(info)
    assert config.instruction_max_len == 32 and config.instruction_vocab == info["instruction_vocab"]
    with pytest.raises(ValueError, match=r"policy\.image_size: \[120, 160\], but the dataset was built at"):
        ACTConfig().with_dataset_info(info)  # never silently resized to the dataset's
    with pytest.raises(ValueError, match=r"policy\.instruction_max_len: 16 disagrees"):
        ACTConfig(image_size=(60, 80), instruction_max_len=16).with_dataset_info(info)
