"""Desktop recorder: screen (mss), mouse and keyboard (pynput) into recording format v1."""

from act.recorder.keys import REDACTED, Hotkey, key_token, redact
from act.recorder.recorder import Recorder, RecorderError, Region, ScreenSource
from act.recorder.session import RecordConfig, RecordResult, banner, next_episode_dir, parse_region, record

__all__ = [
    "REDACTED",
    "Hotkey",
    "RecordConfig",
    "RecordResult",
    "Recorder",
    "RecorderError",
    "Region",
    "ScreenSource",
    "banner",
    "key_token",
    "next_episode_dir",
    "parse_region",
    "record",
    "redact",
]
