"""Dataset builder (recordings -> Hugging Face dataset on disk) and the chunk loader."""

from act.data.build import DatasetError, DatasetInfo, build_dataset

__all__ = ["ActDataModule", "ChunkDataset", "DatasetError", "DatasetInfo", "build_dataset", "split_episodes"]


def __getattr__(name: str):
    """Load act.data.chunks (which imports Lightning) on first use, so act.policy stays Lightning-free."""
    if name in ("ActDataModule", "ChunkDataset", "split_episodes"):
        from act.data import chunks

        return getattr(chunks, name)
    raise AttributeError(f"module 'act.data' has no attribute {name!r}")
