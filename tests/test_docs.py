"""The docs stay true: marked code blocks of README.md and docs/*.md run as written, every shell block
in docs/ says whether it runs, the worked examples of docs/extending.md behave as described, and the
SLURM launcher config the docs describe composes."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from act.spaces import KIND_ID

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SHELL = {"bash", "sh", "shell"}
MARKER = re.compile(r"^<!--\s*(.*?)\s*-->$")


@dataclass
class Block:
    path: Path
    line: int  # 1-based line of the opening fence
    lang: str
    # the comment on the line before the fence ("runnable", "not runnable: why", "example: task"), or ""
    marker: str
    code: str

    def __str__(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def blocks(path: Path) -> list[Block]:
    """Fenced code blocks of a markdown file, with the HTML comment just above each."""
    lines = path.read_text().splitlines()
    out, i = [], 0
    while i < len(lines):
        if lines[i].startswith("```"):
            lang = (lines[i][3:].split() or [""])[0]
            m = MARKER.match(lines[i - 1].strip()) if i else None
            end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
            out.append(
                Block(path, i + 1, lang, m.group(1) if m else "", "\n".join(lines[i + 1 : end]) + "\n")
            )
            i = end
        i += 1
    return out


def runnable(path: Path) -> list[Block]:
    return [b for b in blocks(path) if b.marker == "runnable"]


def example(name: str) -> Block:
    (block,) = [b for b in blocks(ROOT / "docs" / "extending.md") if b.marker == f"example: {name}"]
    return block


# ------------------------------------------------------------------------------------ structure


def test_parser_finds_blocks_markers_and_languages(tmp_path):
    md = tmp_path / "x.md"
    md.write_text("text\n<!-- runnable -->\n```bash\necho hi\n```\n\n```python\nx = 1\n```\n")
    found = blocks(md)
    assert [(b.lang, b.marker, b.code, b.line) for b in found] == [
        ("bash", "runnable", "echo hi\n", 3),
        ("python", "", "x = 1\n", 7),
    ]


def test_every_shell_block_in_docs_says_whether_it_runs():
    unmarked = [
        str(b)
        for p in DOCS[1:]
        for b in blocks(p)
        if b.lang in SHELL and b.marker != "runnable" and not b.marker.startswith("not runnable:")
    ]
    assert not unmarked, f"mark these `<!-- runnable -->` or `<!-- not runnable: why -->`: {unmarked}"


def test_each_guide_has_runnable_commands_and_the_index_links_every_page():
    for name in ("getting-started", "configs-and-experiments", "environments", "evaluating", "scaling-out"):
        assert runnable(ROOT / "docs" / f"{name}.md"), f"docs/{name}.md has no runnable block"
    index = (ROOT / "docs" / "index.md").read_text()
    for page in (ROOT / "docs").glob("*.md"):
        assert page.name == "index.md" or f"({page.name})" in index, (
            f"docs/index.md does not link {page.name}"
        )
    assert "(docs/index.md)" in (ROOT / "README.md").read_text()


# ------------------------------------------------------------------------------------ runnable blocks


def _scratch(tmp_path: Path) -> dict[str, str]:
    """A working directory like a fresh checkout's (the sample data, .venv/bin) and its environment."""
    shutil.copytree(ROOT / "data" / "sample", tmp_path / "data" / "sample")
    bindir = Path(sys.executable).parent
    (tmp_path / ".venv").mkdir()
    (tmp_path / ".venv" / "bin").symlink_to(bindir)
    if shutil.which("act-train", path=str(bindir)) is None:
        pytest.skip(f"the act console scripts are not installed in {bindir}")
    # One thread per process: several processes share 2 cores here, and oversubscribed torch crawls.
    return {
        **os.environ,
        "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}",
        "OMP_NUM_THREADS": "1",
        "MPLBACKEND": "Agg",
        "HYDRA_FULL_ERROR": "1",
    }


@pytest.mark.slow
@pytest.mark.parametrize("doc", [p for p in DOCS if runnable(p)], ids=lambda p: p.name)
def test_runnable_blocks_run_as_written(doc, tmp_path):
    """Every block marked runnable, in page order, in one scratch directory (later blocks may use
    what earlier ones wrote)."""
    env = _scratch(tmp_path)
    for block in runnable(doc):
        if block.lang in SHELL:
            cmd = ["bash", "-euo", "pipefail", "-c", block.code]
        elif block.lang == "python":  # as a file, the way a reader runs it (spawned workers re-import it)
            script = tmp_path / f"block_{block.line}.py"
            script.write_text(block.code)
            cmd = [sys.executable, script.name]
        else:
            raise AssertionError(f"{block}: cannot run a {block.lang!r} block")
        p = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
        assert p.returncode == 0, (
            f"{block} failed ({p.returncode}):\n{block.code}\n{(p.stdout + p.stderr)[-4000:]}"
        )


# ------------------------------------------------------------------------------------ extending.md


def _load(block: Block, tmp_path: Path, name: str):
    """The example's code as an importable module ``name`` (as if saved where the page says)."""
    path = tmp_path / f"{name}.py"
    path.write_text(block.code)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def click_in_order(tmp_path, monkeypatch):
    """The task example, listed in TASKS and registered the way importing act.envs does."""
    import act.envs
    from act.envs.synthui.tasks import TASKS

    module = _load(example("task"), tmp_path, "docs_example_click_in_order")
    monkeypatch.setitem(TASKS, "ClickInOrder", module.ClickInOrder)
    act.envs._register()
    yield module
    gym.registry.pop("synthui/ClickInOrder-v0", None)
    sys.modules.pop("docs_example_click_in_order", None)


def _press(env, key: str) -> dict:
    x0, y0, x1, y1 = next(e["bbox"] for e in env.unwrapped.ui.elements() if e["id"] == key)
    w, h = env.unwrapped.width, env.unwrapped.height
    return {
        "kind": KIND_ID["click"],
        "point": np.array([(x0 + x1) / 2 / w, (y0 + y1) / 2 / h], np.float32),
        "point2": np.zeros(2, np.float32),
        "key": 0,
        "scroll": np.zeros(2, np.float32),
    }


def test_task_example_is_solved_by_its_expert_and_judged(click_in_order, tmp_path):
    import act.envs
    from act.envs.generate import generate
    from act.envs.synthui import intent_labels, run_expert
    from act.recording import read_episode

    assert "ClickInOrder" in act.envs.env_id("ClickInOrder")
    for spec in (None, "reorder:1,theme:0.5", "extra_step:1,popup:1"):
        for seed in range(5):
            rollout = run_expert(act.envs.make("ClickInOrder", perturbation=spec), seed)
            assert rollout.success, (spec, seed, [a.describe() for a in rollout.actions])
    env = act.envs.make("ClickInOrder")
    env.reset(seed=3)
    first, second = env.unwrapped.task.order
    _, _, terminated, _, info = env.step(_press(env, second))  # the right buttons in the wrong order
    assert terminated and not info["success"]
    env.reset(seed=3)
    env.step(_press(env, first))
    _, reward, terminated, _, info = env.step(_press(env, second))
    assert terminated and info["success"] and reward == 1.0
    assert {"press the first named button", "press the second named button"} <= set(intent_labels())
    paths = generate(["ClickInOrder"], episodes=2, out_dir=tmp_path / "recs", num_workers=1, progress=False)
    actions = read_episode(paths[0]).actions()
    assert [a.kind for a in actions][-2:] == ["click", "click"]
    assert actions[-1].intent == "press the second named button"


@pytest.fixture
def washout(tmp_path, monkeypatch):
    """The family example, found by the registry as if it were a module of act/envs/perturbations."""
    from act.envs.perturbations import FAMILIES

    module = _load(example("family"), tmp_path, "docs_example_washout")
    monkeypatch.setitem(FAMILIES, "washout", "docs_example_washout")
    yield module
    sys.modules.pop("docs_example_washout", None)


def _chroma(screen: np.ndarray) -> float:
    s = screen.astype(np.int16)
    return float((s.max(-1) - s.min(-1)).mean())


def test_family_example_fades_colours_deterministically(washout):
    import act.envs
    from act.envs.synthui import run_expert
    from act.eval import Suite

    def screen(spec, seed=5):
        env = act.envs.make("ClickButton", perturbation=spec)
        obs, _ = env.reset(seed=seed)
        return env, obs["screen"]

    _, nominal = screen(None)
    assert np.array_equal(screen("washout:0")[1], nominal)  # severity 0 changes nothing
    env, faded = screen("washout:1")
    assert np.array_equal(screen("washout:1")[1], faded)  # the same seed, the same screen
    assert _chroma(faded) < 0.5 * _chroma(nominal)
    assert env.unwrapped.perturbation_meta()["families"][0]["params"]["amount"] >= 0.6
    assert act.envs.parse_spec("theme:0.5,washout:0.8") == [("theme", 0.5), ("washout", 0.8)]
    conditions = Suite(families=["washout"], severities=[1.0]).conditions()
    assert [c.name for c in conditions] == ["nominal", "washout:1"]
    assert run_expert(act.envs.make("Login", perturbation="washout:1"), 0).success


@pytest.fixture
def patch_backbone(tmp_path, monkeypatch):
    """The backbone example, selectable as ``backbone="patch"`` after the two edits the page names."""
    import act.policy.configuration_act as configuration
    import act.policy.modeling_act as modeling

    module = _load(example("backbone"), tmp_path, "docs_example_patch")
    original = modeling.build_backbone
    monkeypatch.setattr(configuration, "BACKBONES", (*configuration.BACKBONES, "patch"))
    monkeypatch.setattr(
        modeling, "build_backbone", lambda c: module.PatchEmbed() if c.backbone == "patch" else original(c)
    )
    yield module
    sys.modules.pop("docs_example_patch", None)


def test_backbone_example_trains_plans_and_round_trips(patch_backbone, tmp_path):
    import act.envs
    from act.policy import ACTConfig, ACTPolicy
    from act.spaces import Vocabulary, tokenize

    assert patch_backbone.PatchEmbed().feature_size(60, 80) == (8, 10)
    words = sorted({w for t in ("Click the OK button.", "Press Cancel.") for w in tokenize(t)})
    config = ACTConfig(
        backbone="patch",
        image_size=(60, 80),
        dim_model=32,
        n_heads=2,
        dim_feedforward=64,
        n_encoder_layers=1,
        n_vae_encoder_layers=1,
        latent_dim=4,
        chunk_size=3,
        n_action_steps=3,
        instruction_vocab=Vocabulary.build(words).to_json(),
    )
    torch.manual_seed(0)
    policy = ACTPolicy(config)
    assert policy.model.grid == (8, 10)
    b, k = 2, config.chunk_size
    batch = {
        "image": torch.randint(0, 255, (b, 3, 60, 80), dtype=torch.uint8),
        "instruction": torch.tensor([[2, 3, 4, 0], [5, 6, 0, 0]]),
        "kind": torch.full((b, k), 2),
        "point": torch.rand(b, k, 2),
        "point2": torch.zeros(b, k, 2),
        "key": torch.zeros(b, k, dtype=torch.long),
        "scroll": torch.zeros(b, k, 2),
        "is_pad": torch.tensor([[False] * k, [False, False, True]]),
    }
    loss, _ = policy(batch)
    loss.backward()
    assert torch.isfinite(loss) and policy.model.backbone.proj.weight.grad.abs().sum() > 0
    obs, _ = act.envs.make("ClickButton").reset(seed=0)
    plan = policy.predict_chunk(obs)
    assert plan["point"].shape == (k, 2)
    loaded = ACTPolicy.from_pretrained(policy.save_pretrained(tmp_path / "patch"))
    assert loaded.config.backbone == "patch"
    np.testing.assert_allclose(loaded.predict_chunk(obs)["point"], plan["point"], atol=1e-6)


# ------------------------------------------------------------------------------------ SLURM launcher


def test_slurm_launcher_config_composes_for_submitit():
    path = ROOT / "act" / "configs" / "hydra" / "launcher" / "slurm.yaml"
    cfg = OmegaConf.load(path)
    assert list(cfg.defaults) == ["submitit_slurm"]
    try:
        import hydra_plugins.hydra_submitit_launcher  # noqa: F401
    except ImportError:
        pytest.skip(
            "hydra-submitit-launcher is not installed (pip install -e '.[slurm]'): checked the file only"
        )
    from hydra import compose, initialize_config_dir

    import act
    from act.training import register_configs

    register_configs()
    with initialize_config_dir(config_dir=str(Path(act.__file__).parent / "configs"), version_base="1.3"):
        composed = compose(
            "train",
            overrides=["hydra/launcher=slurm", "hydra.launcher.tasks_per_node=4"],
            return_hydra_config=True,
        )
    launcher = composed.hydra.launcher
    assert launcher._target_.endswith("SlurmLauncher")
    assert (launcher.tasks_per_node, launcher.gpus_per_node, launcher.timeout_min) == (4, 1, 240)
