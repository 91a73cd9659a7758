"""The head-to-head with LeRobot's ACT behind scripts/bench_lerobot.py (see its docstring), in parts:

``actions`` LeRobot's flat action vector; ``standin`` the torchvision stand-in; ``venv`` the bench venv
and LeRobot's import; ``data`` datasets and batches; ``runners`` one policy each with its optimiser;
``worker`` the worker process and the driver's client; ``measure`` a and b; ``same_budget`` c; ``cli``
the arguments and the run.

No module here imports ``act`` at the top: the LeRobot worker runs in a venv without it.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
ENTRY = ROOT / "scripts" / "bench_lerobot.py"  # what the worker processes run
