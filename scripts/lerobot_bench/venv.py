"""The bench venv (torch pin, lerobot --no-deps, its imports, the stand-in) and LeRobot's ACT import."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from lerobot_bench import ENTRY
from lerobot_bench.standin import SHIM_VERSION, write_shim

LEROBOT_VERSION = "0.4.4"  # the newest lerobot on PyPI for Python 3.11 (0.5+ needs 3.12)
TORCH_PIN = "torch==2.13.0"
# What `lerobot.policies.act.modeling_act` imports in lerobot 0.4.4, directly or through lerobot.configs,
# lerobot.datasets, lerobot.processor and lerobot.robots (pretrained.py -> configs.train -> envs -> robots ->
# processor -> datasets -> video_utils), found by trying the import; each installed with --no-deps.
LEROBOT_IMPORTS = (
    "accelerate==1.15.0",
    "av==18.1.0",
    "cachebox==6.2.10",
    "datasets==5.2.0",
    "deepdiff==9.1.0",
    "dill==0.4.1",
    "draccus==0.11.6",
    "einops==0.8.2",
    "h11==0.16.0",
    "httpcore2==2.16.2",
    "httpx2==2.16.2",
    "huggingface_hub==2.4.0",
    "idna==3.20",
    "imageio==2.38.1",
    "mergedeep==1.3.4",
    "multiprocess==0.70.19",
    "mypy_extensions==1.2.0",
    "numpy==2.4.6",
    "orderly-set==5.5.0",
    "packaging==26.4",
    "pandas==3.1.1",
    "pillow==13.0.0",
    "pyarrow==26.0.1",
    "pyserial==3.5",
    "python-dateutil==4.0.0",
    "pyyaml==6.0.4",
    "safetensors==0.8.0",
    "tqdm==4.70.1",
    "truststore==0.10.5",
    "typing-inspect==0.9.0",
    "xxhash==4.1.0",
)
# c draws both policies' batches from act's synthui expert stream; in the bench venv (where act is

# imported from the checkout, not installed) that needs gymnasium, installed --no-deps like the rest.
STREAM_IMPORTS = ("gymnasium==1.4.0", "cloudpickle==3.1.3", "Farama-Notifications==0.0.6")


def import_lerobot_act() -> tuple[Any, Any]:
    """LeRobot's (ACTConfig, ACTPolicy), imported without ``lerobot/policies/__init__.py``.

    That __init__ eagerly imports every policy (groot -> diffusers, transformers, ...); ACT needs none of
    them, so ``lerobot.policies`` is registered as a bare namespace over the same directory first.
    """
    import importlib.util
    import types

    if "lerobot.policies" not in sys.modules:
        spec = importlib.util.find_spec("lerobot")
        ns = types.ModuleType("lerobot.policies")
        ns.__path__ = [str(Path(next(iter(spec.submodule_search_locations))) / "policies")]
        sys.modules["lerobot.policies"] = ns
    from lerobot.policies.act.configuration_act import ACTConfig
    from lerobot.policies.act.modeling_act import ACTPolicy

    return ACTConfig, ACTPolicy


def _run(cmd: list[str], **kwargs: Any) -> subprocess.CompletedProcess:
    print("[bench] $ " + " ".join(cmd), flush=True)
    return subprocess.run(cmd, check=True, **kwargs)


def ensure_lerobot_venv(venv: Path, python: str) -> Path:
    """Create (once) the bench venv with torch 2.13.0, lerobot --no-deps, its imports and the stand-in."""
    py = venv / "bin" / "python"
    marker = venv / ".act-bench-ready"
    want = json.dumps([TORCH_PIN, LEROBOT_VERSION, *LEROBOT_IMPORTS, *STREAM_IMPORTS, SHIM_VERSION])
    if py.exists() and marker.is_file() and marker.read_text() == want:
        return py
    if not py.exists():
        _run([python, "-m", "venv", str(venv)])
    pip = [str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    _run([*pip, TORCH_PIN])
    _run([*pip, "--no-deps", f"lerobot=={LEROBOT_VERSION}", *LEROBOT_IMPORTS, *STREAM_IMPORTS])
    site = subprocess.run(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    shim = write_shim(Path(site))
    print(f"[bench] wrote the torchvision STAND-IN to {shim}", flush=True)
    _run([str(py), str(ENTRY), "--check-lerobot"])
    marker.write_text(want)
    return py
