"""The Colab notebooks run top to bottom (small parameters) from their own folder, where Jupyter
starts a local kernel, and are committed without outputs."""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "experiments" / "notebooks"
sys.path.insert(0, str(NOTEBOOKS))

from run import CI_PARAMS, run  # noqa: E402

NAMES = sorted(p.name for p in NOTEBOOKS.glob("*.ipynb"))


def test_three_notebooks_without_outputs():
    assert NAMES == ["01_attention_quickstart.ipynb", "02_train_on_synthetic.ipynb", "03_joint_tracking.ipynb"]
    for name in NAMES:
        nb = nbformat.read(NOTEBOOKS / name, as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert all(not c.outputs and c.execution_count is None for c in code), name
        assert '["git", "clone"' in code[0].source, name  # the first cell installs the project (Colab)
        assert "find_repository_root" in code[0].source, name  # or finds it, from any working directory
        assert "What to set" in nb.cells[0].source, name
        assert "parameters" in code[1].metadata.get("tags", []), name  # then the one parameters cell


@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs(name, tmp_path):
    params = dict(CI_PARAMS[name])
    params.update({"WORKDIR": str(tmp_path / "work"), "OUT": str(tmp_path / "out")})
    executed = nbformat.read(run(NOTEBOOKS / name, params, tmp_path, cwd=NOTEBOOKS), as_version=4)
    images = sum("image/png" in o.get("data", {}) for c in executed.cells if c.cell_type == "code" for o in c.outputs)
    assert images >= 1, "a notebook should show pictures"
