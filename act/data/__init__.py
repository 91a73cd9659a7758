"""Action space, vocabularies, dataset builder and chunk loader."""

from act.data.action_space import FIELDS, KIND_ID, POINTER_KIND_IDS, ActionError, ActionSpace
from act.data.build import DatasetInfo, build_dataset
from act.data.image import resize_frame
from act.data.vocab import PAD, UNK, Vocabulary, tokenize

__all__ = [
    "FIELDS",
    "KIND_ID",
    "PAD",
    "POINTER_KIND_IDS",
    "UNK",
    "ActDataModule",
    "ActionError",
    "ActionSpace",
    "ChunkDataset",
    "DatasetInfo",
    "ExpertStream",
    "build_dataset",
    "split_episodes",
    "Vocabulary",
    "resize_frame",
    "tokenize",
]


def __getattr__(name: str):
    """Load act.data.chunks (which imports Lightning) on first use, so act.policy stays Lightning-free."""
    if name in ("ActDataModule", "ChunkDataset", "split_episodes"):
        from act.data import chunks

        return getattr(chunks, name)
    if name == "ExpertStream":
        from act.data.online import ExpertStream

        return ExpertStream
    raise AttributeError(f"module 'act.data' has no attribute {name!r}")
