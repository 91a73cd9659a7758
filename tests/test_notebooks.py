"""The notebooks are committed without outputs and run top to bottom (nbclient) on tiny settings."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
KERNEL = "act-notebook-test"
# What a notebook may keep in its metadata; nbstripout removes the rest (widget state, timings, ...).
NOTEBOOK_METADATA = {"kernelspec", "language_info"}
CELL_METADATA = {"tags"}


def test_the_three_notebooks_are_here():
    assert [p.name for p in NOTEBOOKS] == [
        "01_quickstart.ipynb",
        "02_robustness.ipynb",
        "03_inside_the_policy.ipynb",
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert set(nb.metadata) <= NOTEBOOK_METADATA, (
        f"{path.name}: strip notebook metadata {set(nb.metadata) - NOTEBOOK_METADATA}"
    )
    for i, cell in enumerate(nb.cells):
        where = f"{path.name} cell {i}"
        assert set(cell.metadata) <= CELL_METADATA, (
            f"{where}: strip cell metadata {set(cell.metadata) - CELL_METADATA}"
        )
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{where} has outputs: clear them before committing"
            assert cell.execution_count is None, f"{where} has an execution count: clear it before committing"


def test_stripped_check_catches_an_executed_notebook(tmp_path):
    nb = nbformat.read(NOTEBOOKS[0], as_version=4)
    code = next(c for c in nb.cells if c.cell_type == "code")
    code.outputs = [nbformat.v4.new_output("stream", name="stdout", text="hi\n")]
    code.execution_count = 1
    path = tmp_path / "executed.ipynb"
    nbformat.write(nb, path)
    with pytest.raises(AssertionError, match="has outputs"):
        test_notebook_is_committed_without_outputs(path)


@pytest.fixture(scope="module")
def kernel(tmp_path_factory) -> str:
    """A kernel spec for this interpreter in a private Jupyter path: works on a fresh machine, and a
    user's own 'python3' kernel (another Python) cannot shadow it."""
    pytest.importorskip("ipykernel")
    root = tmp_path_factory.mktemp("jupyter")
    spec_dir = root / "kernels" / KERNEL
    spec_dir.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "act tests",
        "language": "python",
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec))
    return str(root)


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_top_to_bottom(path, kernel, tmp_path, monkeypatch):
    from nbclient import NotebookClient

    monkeypatch.setenv("JUPYTER_PATH", kernel)
    monkeypatch.setenv("ACT_NOTEBOOK_TINY", "1")
    monkeypatch.setenv("ACT_NOTEBOOK_OUT", str(tmp_path))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # 2 shared cores: oversubscribed torch threads crawl
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, kernel_name=KERNEL, timeout=600, resources={"metadata": {"path": str(path.parent)}}
    )
    client.execute()  # raises CellExecutionError naming the cell on any error
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code), "every code cell ran"
    images = sum("image/png" in o.get("data", {}) for c in code for o in c.outputs)
    assert images >= 2, f"{path.name} drew {images} figures"
    assert any(tmp_path.iterdir()), "the notebook wrote its outputs under ACT_NOTEBOOK_OUT"
