"""Recording format v1: schema, reader, streaming writer, validator, raw events -> semantic actions."""

from act.recording.errors import Problem, RecordingError
from act.recording.events import MergeConfig, merge_events, pair_frames
from act.recording.io import (
    EpisodeWriter,
    ValidationReport,
    duplicate_episode_ids,
    find_episodes,
    read_episode,
    validate,
    validation_report,
)
from act.recording.schema import (
    ACTION_KINDS,
    EVENT_TYPES,
    FORMAT_VERSION,
    POINTER_KINDS,
    Action,
    Episode,
    EpisodeMeta,
    Event,
    Frame,
    Intent,
    Screen,
)

__all__ = [
    "ACTION_KINDS",
    "EVENT_TYPES",
    "FORMAT_VERSION",
    "POINTER_KINDS",
    "Action",
    "Episode",
    "EpisodeMeta",
    "EpisodeWriter",
    "Event",
    "Frame",
    "Intent",
    "MergeConfig",
    "Problem",
    "RecordingError",
    "Screen",
    "ValidationReport",
    "duplicate_episode_ids",
    "find_episodes",
    "merge_events",
    "pair_frames",
    "read_episode",
    "validate",
    "validation_report",
]
