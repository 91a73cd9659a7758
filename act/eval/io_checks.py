"""Checks a command makes before its work starts, so a bad output path fails in a second, not at the end.

(In act.eval rather than a top-level module because the layer rules of tests/test_import_rules.py name
every part; training and the CLIs may import act.eval.)
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


class NotWritableError(OSError):
    """An output directory that cannot be created or written to; the message names what and where."""


def ensure_writable(path: str | os.PathLike[str], what: str) -> Path:
    """Create directory ``path`` (and parents) if missing and prove a file can be written there.

    ``what`` names the setting in the message (e.g. ``"out_dir"``). The proof is a probe file, written
    and removed: permission bits alone would pass as root, and a read-only mount, a full disk or a
    path under a regular file only show on a real write.
    """
    p = Path(path)
    try:
        if p.exists() and not p.is_dir():
            raise NotADirectoryError(f"{p} exists and is not a directory")
        p.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=p, prefix=".write_probe_"):
            pass
    except OSError as e:
        raise NotWritableError(f"{what}: cannot write to {p} ({type(e).__name__}: {e})") from e
    return p
