"""Which part of ``act`` may import which (docs/extending.md, "Layers"), read from every import statement.

Function-level imports count too: a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import act

PACKAGE = Path(act.__file__).parent
FRAMEWORKS = ("lightning", "pytorch_lightning", "hydra", "omegaconf")

# The entry points sit on top: no part of the library imports them.
TOP = {"cli", "demo", "miniwob_benchmark"}
# part -> what it must never import (act.<part> names, or third-party top-level names)
FORBIDDEN: dict[str, set[str]] = {
    # the recording format stands alone: a user's reader needs nothing else of act
    "recording": {"spaces", "data", "envs", "policy", "training", "eval", "recorder", "viz", *TOP},
    # the shared contract sits on the format only
    "spaces": {"data", "envs", "policy", "training", "eval", "recorder", "viz", *TOP},
    # a checkpoint loads in a notebook with torch and safetensors alone
    "policy": {"data", "envs", "training", "eval", "recorder", *TOP, *FRAMEWORKS},
    "envs": {"data", "policy", "training", "eval", "recorder", *TOP},
    "data": {"envs", "policy", "training", "eval", "recorder", *TOP},
    "recorder": {"data", "envs", "policy", "training", "eval", *TOP},
    "eval": {"training", *TOP},
    "training": TOP,
    "demo": {"cli", "miniwob_benchmark"},
    "miniwob_benchmark": {"cli"},  # it runs the pipeline through act.demo's stages
    "viz": {"data", "envs", "policy", "training", "eval", *TOP},
}


def imported_names(source: str) -> set[str]:
    """Top-level names an import reaches: ``act.<part>`` for the package's own, else the distribution."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            modules = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules = [node.module]
        else:
            continue
        for m in modules:
            parts = m.split(".")
            out.add(f"act.{parts[1]}" if parts[0] == "act" and len(parts) > 1 else parts[0])
    return out


def violations(root: Path) -> list[str]:
    """``file: imports X`` for every forbidden import under ``root`` (a tree shaped like ``act/``)."""
    found = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root)
        part = rel.parts[0].removesuffix(".py")
        banned = FORBIDDEN.get(part, set())
        for name in sorted(imported_names(path.read_text())):
            target = name.removeprefix("act.")
            if (name.startswith("act.") and target in banned and target != part) or name in banned:
                found.append(f"act/{rel}: imports {name}")
    return found


def test_the_package_keeps_its_layers():
    assert violations(PACKAGE) == []


def test_every_part_has_a_rule():
    parts = {p.name.removesuffix(".py") for p in PACKAGE.iterdir() if p.suffix == ".py" or p.is_dir()}
    parts -= {"__init__", "__pycache__", "configs", "cli"}
    assert parts <= set(FORBIDDEN), f"add a rule for {sorted(parts - set(FORBIDDEN))}"


@pytest.mark.parametrize(
    ("file", "line"),
    [
        ("recording/io.py", "from act.spaces import ActionSpace"),
        ("policy/modeling_act.py", "import lightning as L"),
        ("policy/modeling_act.py", "from act.training import train"),
        ("envs/synthui/env.py", "from act.policy import ACTPolicy"),
        ("data/build.py", "from act.envs.synthui import SynthUIEnv"),
        ("eval/rollout.py", "from act.cli.bench import main"),
        ("spaces/vocab.py", "    from act.data import build_dataset  # inside a function"),
    ],
)
def test_a_forbidden_import_is_caught(tmp_path, file, line):
    """The checker itself: copy the package, add one forbidden import, and it must be reported."""
    target = tmp_path / file
    target.parent.mkdir(parents=True)
    original = (PACKAGE / file).read_text()
    body = f"def _f():\n{line}\n" if line.startswith(" ") else f"{line}\n"
    target.write_text(original + "\n" + body)
    found = violations(tmp_path)
    assert len(found) == 1, found
    assert found[0].startswith(f"act/{file}: imports ")
